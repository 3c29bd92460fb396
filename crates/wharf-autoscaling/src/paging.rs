//! The paging of the Describe operations: `MaxResults` (at most 50, 50 when not given) and
//! `NextToken` (opaque; a token this server did not make is `InvalidNextTokenException`).

use crate::generated::Error;
use wharf_core::pagination::paginate_ordered;

/// `MaxResults` when the caller gives none, and the most it may ask for.
const MAX_RESULTS: i32 = 50;

/// One page of `items` (sorted by `key`, descending when `descending`) after `next_token`, and
/// the token of the next page.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    next_token: Option<&str>,
    max_results: Option<i32>,
    descending: bool,
) -> Result<(Vec<T>, Option<String>), Error> {
    let size = page_size(max_results)?;
    paginate_ordered(items, key, next_token, size, descending)
        .map_err(|_| Error::InvalidNextTokenException("Invalid token".into()))
}

fn page_size(max_results: Option<i32>) -> Result<usize, Error> {
    match max_results {
        None => Ok(MAX_RESULTS as usize),
        Some(n) if n > MAX_RESULTS => Err(Error::ValidationException(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy \
             constraint: Member must have value less than or equal to {MAX_RESULTS}"
        ))),
        Some(n) => Ok(usize::try_from(n).unwrap_or(0).max(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_50_at_most() {
        assert_eq!(page_size(None), Ok(50));
        assert_eq!(page_size(Some(7)), Ok(7));
        assert!(
            matches!(page_size(Some(51)), Err(Error::ValidationException(m)) if m.contains("less than or equal to 50"))
        );
    }

    #[test]
    fn foreign_tokens_are_refused() {
        let items = vec!["a".to_string()];
        assert!(matches!(
            page(items, |s| s.clone(), Some("nope!"), None, false),
            Err(Error::InvalidNextTokenException(_))
        ));
    }
}
