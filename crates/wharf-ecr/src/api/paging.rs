//! The paging rules the ECR API's list and describe calls share: the `maxResults` bounds and
//! the error for a `nextToken` no earlier answer gave (the tokens themselves are
//! `wharf_core::pagination`).

use super::checks::invalid;
use crate::generated::Error;
use wharf_core::pagination::paginate;

/// `maxResults` within `1..=limit`, `default` when absent.
pub(crate) fn page_size(
    max_results: Option<i32>,
    default: usize,
    limit: i32,
) -> Result<usize, Error> {
    match max_results {
        None => Ok(default),
        Some(n) if (1..=limit).contains(&n) => Ok(usize::try_from(n).unwrap_or(default)),
        Some(n) => Err(invalid(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {limit}"
        ))),
    }
}

pub(crate) fn invalid_token() -> Error {
    invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: 'pass back the nextToken of a previous answer'")
}

/// One page of `items` (sorted by `key`) after `next_token`, at most `max` long, and the token
/// of the next page; an unknown token is ECR's InvalidParameterException.
pub(crate) fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    next_token: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), Error> {
    paginate(items, key, next_token, max).map_err(|_| invalid_token())
}
