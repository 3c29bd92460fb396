//! IAM's paging: `Marker` and `MaxItems` (100 when not given), and `IsTruncated` in the answer.

use crate::iam_generated::Error;
use wharf_core::pagination::paginate;

/// `MaxItems` when the caller gives none, as IAM does.
const DEFAULT_MAX_ITEMS: usize = 100;

/// One page of `items` (sorted by `key`) after `marker`, and the marker of the next page.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<(Vec<T>, Option<String>), Error> {
    paginate(items, key, marker, page_size(max_items))
        .map_err(|_| Error::InvalidInputException("Invalid value for parameter Marker.".into()))
}

fn page_size(max_items: Option<i32>) -> usize {
    max_items
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_ITEMS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_defaults_to_100() {
        assert_eq!(page_size(None), 100);
        assert_eq!(page_size(Some(0)), 100);
        assert_eq!(page_size(Some(-1)), 100);
        assert_eq!(page_size(Some(7)), 7);
    }
}
