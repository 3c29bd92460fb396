//! The paging rules ECS's list calls share: the `maxResults` bounds and the error for a
//! `nextToken` that no earlier answer gave (the tokens themselves are `wharf_core::pagination`).

use crate::generated::Error;

/// `maxResults` for list calls: 1..=100, default 100.
pub fn page_size(max_results: Option<i32>) -> Result<usize, Error> {
    match max_results {
        None => Ok(100),
        Some(n) if (1..=100).contains(&n) => Ok(usize::try_from(n).unwrap_or(100)),
        Some(n) => Err(Error::InvalidParameterException(format!(
            "maxResults must be between 1 and 100, got {n}."
        ))),
    }
}

pub fn invalid_token() -> Error {
    Error::InvalidParameterException(
        "Invalid nextToken: pass back the token from a previous answer.".into(),
    )
}
