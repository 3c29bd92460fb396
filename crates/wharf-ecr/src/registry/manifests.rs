//! Manifest endpoints: GET / HEAD by tag or digest (recording the pull), PUT through the shared
//! push flow (`push`, bodies capped at the manifest size limit), DELETE of an image by digest or
//! of a tag alone (OCI 1.1).

use super::blocking::blocking;
use super::errors::{push_error, store_error, RegistryError};
use super::request::content_length;
use super::responses::{empty, CONTENT_DIGEST};
use crate::blobs::parse_digest;
use crate::manifest::MAX_MANIFEST_BYTES;
use crate::push::is_digest_reference;
use crate::records::RepoRef;
use crate::syntax::valid_image_tag;
use crate::Ecr;
use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use std::sync::Arc;

/// Checks a manifest reference: a digest must be a valid sha256 digest, a tag a valid tag.
pub(super) fn check_reference(reference: &str) -> Result<(), RegistryError> {
    if is_digest_reference(reference) {
        parse_digest(reference).map_err(|e| RegistryError::bad_digest(reference, e))?;
    } else if !valid_image_tag(reference) {
        return Err(RegistryError::tag_invalid(reference));
    }
    Ok(())
}

pub(super) async fn get_manifest(
    ecr: &Arc<Ecr>,
    repo: RepoRef,
    reference: String,
    is_get: bool,
) -> Result<Response, RegistryError> {
    check_reference(&reference)?;
    let (digest, media_type, bytes) = blocking(ecr, move |ecr| {
        let unknown = || RegistryError::manifest_unknown(&repo, &reference);
        let (digest, media_type) = ecr
            .resolve_reference(&repo, &reference)
            .map_err(store_error)?
            .ok_or_else(unknown)?;
        let Some(bytes) = ecr
            .blobs
            .read(&digest)
            .map_err(|e| RegistryError::internal("cannot read a manifest", &e))?
        else {
            tracing::error!(%digest, repository = %repo.name, "an image's manifest is missing from the blob store");
            return Err(unknown());
        };
        if is_get {
            if let Err(e) = ecr.record_pull(&repo, &digest, ecr.clock.now()) {
                tracing::warn!(error = %e, "cannot record the pull time");
            }
        }
        Ok((digest, media_type, bytes))
    })
    .await?;
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, media_type),
        (CONTENT_DIGEST, digest.clone()),
        (header::ETAG, format!("\"{digest}\"")),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    Ok(response)
}

/// Reads a manifest body, refusing more than [`MAX_MANIFEST_BYTES`] without reading further.
pub(super) async fn read_manifest_body(
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<u8>, RegistryError> {
    let too_large = |size: String| {
        RegistryError::new(
            StatusCode::BAD_REQUEST,
            "MANIFEST_INVALID",
            format!("manifest invalid: {size} bytes, more than the {MAX_MANIFEST_BYTES} allowed"),
        )
    };
    if let Some(length) = content_length(headers) {
        if length > MAX_MANIFEST_BYTES as u64 {
            return Err(too_large(length.to_string()));
        }
    }
    let mut body = body;
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            RegistryError::new(
                StatusCode::BAD_REQUEST,
                "MANIFEST_INVALID",
                format!("the request body broke off: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > MAX_MANIFEST_BYTES {
                return Err(too_large(format!("more than {}", out.len() + data.len())));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

pub(super) async fn put_manifest(
    ecr: &Arc<Ecr>,
    repo: RepoRef,
    reference: String,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, RegistryError> {
    check_reference(&reference)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = read_manifest_body(headers, body).await?;
    let name = repo.name.clone();
    let digest = blocking(ecr, move |ecr| {
        ecr.push_manifest(
            &repo,
            Some(&reference),
            content_type.as_deref(),
            &bytes,
            ecr.clock.now(),
        )
        .map_err(|e| push_error(&repo, e))
    })
    .await?;
    tracing::info!(repository = %name, %digest, "manifest pushed");
    Ok(empty(
        StatusCode::CREATED,
        &[
            (header::LOCATION, format!("/v2/{name}/manifests/{digest}")),
            (CONTENT_DIGEST, digest),
        ],
    ))
}

pub(super) async fn delete_manifest(
    ecr: &Arc<Ecr>,
    repo: RepoRef,
    reference: String,
) -> Result<Response, RegistryError> {
    check_reference(&reference)?;
    blocking(ecr, move |ecr| {
        let deleted = if is_digest_reference(&reference) {
            ecr.delete_image(&repo, &reference).map_err(store_error)?
        } else {
            // OCI 1.1 tag deletion: the tag goes, the image stays.
            ecr.store
                .write(|tx| crate::images::untag_tx(tx, &repo, &reference))
                .map_err(store_error)?
                .is_some()
        };
        if deleted {
            tracing::info!(repository = %repo.name, %reference, "deleted through the registry");
            Ok(empty(StatusCode::ACCEPTED, &[]))
        } else {
            Err(RegistryError::manifest_unknown(&repo, &reference))
        }
    })
    .await
}
