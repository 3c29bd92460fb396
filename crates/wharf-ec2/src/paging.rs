//! EC2's paging: `NextToken` and `MaxResults`; without `MaxResults` EC2 returns everything.

use crate::generated::Error;
use wharf_core::pagination::paginate;

/// One page of `items` (sorted by `key`) after `next_token`, and the token of the next page.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    next_token: Option<&str>,
    max_results: Option<i32>,
) -> Result<(Vec<T>, Option<String>), Error> {
    let max = max_results
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(usize::MAX);
    paginate(items, key, next_token, max).map_err(|_| {
        Error::InvalidParameterValue(format!(
            "The token '{}' is invalid",
            next_token.unwrap_or_default()
        ))
    })
}
