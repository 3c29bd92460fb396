//! How the registry answers: the Distribution headers (`Docker-Content-Digest`,
//! `Docker-Upload-UUID`, the API version and the Basic challenge), JSON and empty answers, and
//! the `Location` / `Range` headers of blobs and upload sessions.

use crate::records::RepoRef;
use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderName, HeaderValue};
use http::StatusCode;

/// `Docker-Distribution-API-Version`, on every answer.
pub(super) const API_VERSION: HeaderName =
    HeaderName::from_static("docker-distribution-api-version");

/// `Docker-Content-Digest`.
pub(super) const CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");

/// `Docker-Upload-UUID`.
pub(super) const UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");

/// The Basic challenge `docker login` needs to send credentials.
pub(super) const CHALLENGE: &str = "Basic realm=\"wharf\"";

pub(super) fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// An answer with no body and the given headers.
pub(super) fn empty(status: StatusCode, headers: &[(HeaderName, String)]) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    let map = response.headers_mut();
    map.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            map.insert(name.clone(), value);
        }
    }
    response
}

pub(super) fn upload_location(repo: &RepoRef, id: &str) -> String {
    format!("/v2/{}/blobs/uploads/{id}", repo.name)
}

pub(super) fn blob_location(repo: &RepoRef, digest: &str) -> String {
    format!("/v2/{}/blobs/{digest}", repo.name)
}

/// The `Range` header of an upload holding `size` bytes (`0-0` when empty, as distribution
/// and Docker do).
pub(super) fn range_value(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

/// The key an upload session is bound to: uploads belong to one repository.
pub(super) fn upload_owner(repo: &RepoRef) -> String {
    format!("{}/{}/{}", repo.account, repo.region, repo.name)
}

pub(super) fn upload_accepted(repo: &RepoRef, id: &str, size: u64, status: StatusCode) -> Response {
    empty(
        status,
        &[
            (header::LOCATION, upload_location(repo, id)),
            (header::RANGE, range_value(size)),
            (UPLOAD_UUID, id.to_string()),
        ],
    )
}

pub(super) fn blob_created(repo: &RepoRef, digest: &str) -> Response {
    empty(
        StatusCode::CREATED,
        &[
            (header::LOCATION, blob_location(repo, digest)),
            (CONTENT_DIGEST, digest.to_string()),
        ],
    )
}
