//! Listing endpoints: `/v2/_catalog` (the token's repositories) and `/v2/<name>/tags/list`, with
//! the spec's `n` / `last` paging and `Link` header.

use super::blocking::blocking;
use super::errors::{store_error, RegistryError};
use super::request::Query;
use super::responses::json_response;
use crate::auth::RegistryPrincipal;
use crate::records::RepoRef;
use crate::Ecr;
use axum::response::Response;
use http::header::{self, HeaderValue};
use http::StatusCode;
use std::sync::Arc;

/// `n` and `last` of a paginated list.
pub(super) fn page<'a>(
    items: &'a [String],
    query: &Query,
) -> Result<(&'a [String], Option<usize>), RegistryError> {
    let n = match query.get("n") {
        None | Some("") => None,
        Some(text) => Some(text.parse::<usize>().map_err(|_| {
            RegistryError::new(
                StatusCode::BAD_REQUEST,
                "PAGINATION_NUMBER_INVALID",
                format!("invalid number of results requested: '{text}'"),
            )
        })?),
    };
    let start = match query.get("last") {
        Some(last) if !last.is_empty() => items.partition_point(|item| item.as_str() <= last),
        _ => 0,
    };
    let rest = &items[start..];
    Ok(match n {
        Some(n) if n < rest.len() => (&rest[..n], Some(n)),
        _ => (rest, None),
    })
}

pub(super) fn with_next_link(
    mut response: Response,
    base: &str,
    n: Option<usize>,
    last: Option<&String>,
) -> Response {
    if let (Some(n), Some(last)) = (n, last) {
        let link = format!("<{base}?n={n}&last={last}>; rel=\"next\"");
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

pub(super) async fn catalog(
    ecr: &Arc<Ecr>,
    principal: RegistryPrincipal,
    query: &Query,
) -> Result<Response, RegistryError> {
    let names = blocking(ecr, move |ecr| {
        ecr.repository_names(&principal.account, &principal.region)
            .map_err(store_error)
    })
    .await?;
    let (items, more) = page(&names, query)?;
    let body = serde_json::json!({ "repositories": items }).to_string();
    Ok(with_next_link(
        json_response(StatusCode::OK, body),
        "/v2/_catalog",
        more,
        items.last(),
    ))
}

pub(super) async fn tags_list(
    ecr: &Arc<Ecr>,
    repo: RepoRef,
    query: &Query,
) -> Result<Response, RegistryError> {
    let name = repo.name.clone();
    let tags = blocking(ecr, move |ecr| ecr.tags(&repo).map_err(store_error)).await?;
    let (items, more) = page(&tags, query)?;
    let body = serde_json::json!({ "name": name, "tags": items }).to_string();
    Ok(with_next_link(
        json_response(StatusCode::OK, body),
        &format!("/v2/{name}/tags/list"),
        more,
        items.last(),
    ))
}
