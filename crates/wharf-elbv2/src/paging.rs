//! Paging of the Describe* operations: `Marker` and `PageSize` (400 when none is given) over
//! a sorted list, through [`wharf_core::pagination`].

use crate::errors::invalid;
use crate::generated::Error;
use wharf_core::pagination::paginate;

/// `PageSize` when the caller gives none.
const DEFAULT_PAGE_SIZE: usize = 400;

/// One page of `items` (sorted by `key`) after `marker`, at most `page_size` long.
pub(crate) fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    page_size: Option<i32>,
) -> Result<(Vec<T>, Option<String>), Error> {
    let max = page_size
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PAGE_SIZE);
    paginate(items, key, marker, max).map_err(|_| invalid("Invalid value for parameter Marker"))
}
