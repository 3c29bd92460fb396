//! The OCI Distribution Spec 1.1 registry under `/v2/`, as ECR serves it: what `docker push`,
//! `docker pull` and `skopeo copy` talk to. It owns the HTTP side only: routing (repository
//! names contain `/`, so paths are parsed from the right), ECR-token Basic auth on every
//! request, the registry's JSON errors and headers, and streaming of blob bodies between the
//! socket and the blob store. Pushing manifests goes through `push`, image and tag records
//! through `images`, bytes through `blobs`.
//!
//! Every answer carries `Docker-Distribution-API-Version: registry/2.0`; a request without
//! valid credentials gets 401 with `WWW-Authenticate: Basic realm="wharf"` (never a 200:
//! `docker login` takes a 200 to `GET /v2/` as "this registry checks no credentials").
//! Like ECR, a push to a repository that does not exist fails with NAME_UNKNOWN (repositories
//! are created with the API), and blobs cannot be deleted directly (UNSUPPORTED).
//!
//! Blocking work (store reads and writes, file I/O, hashing) runs on the blocking pool; request
//! bodies of blob uploads are streamed to the upload file through a bounded channel, so a
//! 200 MB layer never sits in memory, and blobs are streamed back from their files.
//!
//! Blob bytes are stored once for every repository and account (content addressing), but a
//! repository only serves the blobs it holds: uploaded into it, mounted into it, or used by one
//! of its images (the `ecr.bloblink` links of `images`, checked with [`Ecr::blob_linked`]).
//! A blob GET or HEAD of a blob the repository does not hold is BLOB_UNKNOWN even when the bytes
//! exist (another repository's, account's or region's); finishing an upload (monolithic or
//! chunked) links the blob to the repository; a cross-repository mount succeeds only when the
//! source repository holds the blob, and otherwise starts an ordinary upload session, as in
//! distribution; a manifest may only reference blobs its repository holds (`push`).
//!
//! Modules: `request` (paths, query), `access` (credentials and the repository), `errors` and
//! `responses` (the wire form of answers), `blocking` (work off the reactor), and one module per
//! kind of endpoint: `catalog`, `manifests`, `blobs`, `uploads`. This module routes.

mod access;
mod blobs;
mod blocking;
mod catalog;
mod errors;
mod manifests;
mod request;
mod responses;
mod uploads;

pub use access::EXPIRED_TOKEN_MESSAGE;
pub use blobs::{parse_range, ByteRange};
pub use errors::RegistryError;
pub use request::{parse_path, Route};

use crate::Ecr;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use blocking::blocking;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use request::{route_name, Query};
use responses::{json_response, API_VERSION};
use std::sync::Arc;
use tracing::Instrument;

/// The `/v2/` routes, for merging into the server's router (matches only `/v2` and paths
/// under `/v2/`; everything else is left to the AWS API gateway's fallback).
pub fn router(ecr: Arc<Ecr>) -> Router {
    Router::new()
        .route("/v2", any(handle))
        .route("/v2/", any(handle))
        .route("/v2/{*rest}", any(handle))
        .with_state(ecr)
}

async fn handle(State(ecr): State<Arc<Ecr>>, request: Request) -> Response {
    let span = tracing::debug_span!(
        "registry",
        method = %request.method(),
        path = %request.uri().path()
    );
    async move {
        let mut response = match dispatch(ecr, request).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        response
            .headers_mut()
            .insert(API_VERSION, HeaderValue::from_static("registry/2.0"));
        tracing::debug!(status = response.status().as_u16(), "registry answer");
        response
    }
    .instrument(span)
    .await
}

async fn dispatch(ecr: Arc<Ecr>, request: Request) -> Result<Response, RegistryError> {
    let (parts, body) = request.into_parts();
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let route = parse_path(parts.uri.path());
    let name = route.as_ref().and_then(route_name).map(str::to_string);
    // Credentials first: an unauthenticated client learns nothing, not even a 404.
    let (principal, repo) = blocking(&ecr, move |ecr| {
        access::authorize(ecr, authorization.as_deref(), name.as_deref())
    })
    .await?;
    let Some(route) = route else {
        return Err(RegistryError::new(
            StatusCode::NOT_FOUND,
            "UNSUPPORTED",
            format!("no registry endpoint at {}", parts.uri.path()),
        ));
    };
    let query = Query::parse(parts.uri.query());
    let method = parts.method.clone();
    let headers = parts.headers;
    let Some(repo) = repo else {
        return match (route, &method) {
            (Route::Base, &Method::GET | &Method::HEAD) => Ok(json_response(StatusCode::OK, "{}")),
            (Route::Catalog, &Method::GET) => catalog::catalog(&ecr, principal, &query).await,
            _ => Err(method_not_allowed(&method)),
        };
    };
    match (route, method) {
        (Route::Tags { .. }, Method::GET) => catalog::tags_list(&ecr, repo, &query).await,
        (Route::Manifest { reference, .. }, Method::GET | Method::HEAD) => {
            manifests::get_manifest(&ecr, repo, reference, parts.method == Method::GET).await
        }
        (Route::Manifest { reference, .. }, Method::PUT) => {
            manifests::put_manifest(&ecr, repo, reference, &headers, body).await
        }
        (Route::Manifest { reference, .. }, Method::DELETE) => {
            manifests::delete_manifest(&ecr, repo, reference).await
        }
        (Route::Blob { digest, .. }, Method::GET | Method::HEAD) => {
            blobs::get_blob(&ecr, repo, digest, &headers, parts.method == Method::GET).await
        }
        (Route::Blob { .. }, Method::DELETE) => Err(RegistryError::unsupported(
            "deleting blobs is not supported (as in ECR): delete images with batch-delete-image and the garbage collector reclaims their layers",
        )),
        (Route::UploadStart { .. }, Method::POST) => {
            uploads::start_upload(&ecr, principal, repo, &query, body).await
        }
        (Route::Upload { id, .. }, Method::GET) => uploads::upload_status(&ecr, repo, id).await,
        (Route::Upload { id, .. }, Method::PATCH) => {
            uploads::patch_upload(&ecr, repo, id, &headers, body).await
        }
        (Route::Upload { id, .. }, Method::PUT) => {
            uploads::finish_upload(&ecr, repo, id, &query, &headers, body).await
        }
        (Route::Upload { id, .. }, Method::DELETE) => uploads::cancel_upload(&ecr, repo, id).await,
        (_, method) => Err(method_not_allowed(&method)),
    }
}

fn method_not_allowed(method: &Method) -> RegistryError {
    RegistryError::unsupported(format!(
        "the operation is unsupported: {method} is not allowed here"
    ))
}

#[cfg(test)]
mod tests;
