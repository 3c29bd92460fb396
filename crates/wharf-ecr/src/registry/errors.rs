//! The registry's error answers: the Distribution spec's `{"errors":[{"code","message",
//! "detail"}]}` with its status and headers, and the mapping of upload, push and store failures
//! onto them (codes and wording clients and the e2e tests rely on).

use super::responses::{range_value, upload_location, CHALLENGE, UPLOAD_UUID};
use crate::blobs::{BlobError, DigestError};
use crate::images::RecordError;
use crate::manifest::MAX_MANIFEST_BYTES;
use crate::push::PushError;
use crate::records::RepoRef;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderName, HeaderValue};
use http::StatusCode;
use std::io;

/// A registry error answer: the spec's `{"errors":[{"code","message","detail"}]}`.
#[derive(Debug)]
pub struct RegistryError {
    status: StatusCode,
    code: &'static str,
    message: String,
    detail: Option<serde_json::Value>,
    headers: Vec<(HeaderName, String)>,
}

impl RegistryError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    pub(super) fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub(super) fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The wire code (`NAME_UNKNOWN`, ...).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub(super) fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
            .header(header::WWW_AUTHENTICATE, CHALLENGE)
    }

    pub(super) fn name_unknown(repo: &RepoRef) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            format!(
                "The repository with name '{}' does not exist in the registry with id '{}'",
                repo.name, repo.account
            ),
        )
        .detail(serde_json::json!({ "name": repo.name }))
    }

    pub(super) fn name_invalid(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            format!("invalid repository name '{name}': lowercase letters, digits and . _ - / separators, 2 to 256 characters"),
        )
    }

    pub(super) fn tag_invalid(tag: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "TAG_INVALID",
            format!(
                "invalid tag '{tag}': letters, digits, _ . - (not first), at most 300 characters"
            ),
        )
    }

    pub(super) fn digest_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", message)
    }

    pub(super) fn bad_digest(digest: &str, e: DigestError) -> Self {
        match e {
            DigestError::Unsupported => Self::digest_invalid(format!(
                "unsupported digest algorithm in '{digest}': only sha256 is supported"
            )),
            DigestError::Invalid => Self::digest_invalid(format!(
                "invalid digest '{digest}': expected sha256: followed by 64 lowercase hex digits"
            )),
        }
    }

    pub(super) fn manifest_unknown(repo: &RepoRef, reference: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            format!(
                "Requested image not found: no manifest '{reference}' in repository '{}'",
                repo.name
            ),
        )
    }

    pub(super) fn blob_unknown(digest: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            format!("blob unknown to registry: {digest}"),
        )
        .detail(serde_json::json!({ "digest": digest }))
    }

    pub(super) fn upload_unknown(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            format!("blob upload unknown to registry: {id}"),
        )
    }

    pub(super) fn unsupported(message: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", message)
    }

    pub(super) fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            format!("{context}; see the wharf server log"),
        )
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({ "code": self.code, "message": self.message });
        if let Some(detail) = self.detail {
            error["detail"] = detail;
        }
        let body = serde_json::json!({ "errors": [error] }).to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

pub(super) fn upload_error(repo: &RepoRef, id: &str, e: BlobError) -> RegistryError {
    match e {
        BlobError::InvalidDigest(d) => RegistryError::bad_digest(&d, DigestError::Invalid),
        BlobError::UnsupportedDigest(d) => RegistryError::bad_digest(&d, DigestError::Unsupported),
        BlobError::DigestMismatch { expected, actual } => RegistryError::digest_invalid(format!(
            "provided digest did not match uploaded content: the content has digest {actual}, not {expected}; the upload was discarded"
        ))
        .detail(serde_json::json!({ "expected": expected, "actual": actual })),
        BlobError::UploadUnknown(_) => RegistryError::upload_unknown(id),
        BlobError::RangeInvalid { size, offset, .. } => RegistryError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "RANGE_INVALID",
            format!("invalid content range: the upload holds {size} bytes, the chunk starts at {offset}"),
        )
        .header(header::LOCATION, upload_location(repo, id))
        .header(header::RANGE, range_value(size))
        .header(UPLOAD_UUID, id),
        BlobError::UploadBusy(_) => RegistryError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "RANGE_INVALID",
            format!("blob upload {id} is being written by another request"),
        ),
        BlobError::Io(e) if e.kind() == io::ErrorKind::ConnectionAborted => RegistryError::new(
            StatusCode::BAD_REQUEST,
            "BLOB_UPLOAD_INVALID",
            format!("the request body broke off: {e}; nothing of it was kept"),
        ),
        BlobError::Io(e) => RegistryError::internal("cannot write the blob upload", &e),
    }
}

pub(super) fn push_error(repo: &RepoRef, e: PushError) -> RegistryError {
    match e {
        PushError::TooLarge(size) => RegistryError::new(
            StatusCode::BAD_REQUEST,
            "MANIFEST_INVALID",
            format!("manifest invalid: {size} bytes, more than the {MAX_MANIFEST_BYTES} allowed"),
        ),
        PushError::Invalid(reason) => RegistryError::new(
            StatusCode::BAD_REQUEST,
            "MANIFEST_INVALID",
            format!("manifest invalid: {reason}"),
        ),
        PushError::DigestMismatch { expected, actual } => RegistryError::digest_invalid(format!(
            "the manifest has digest {actual}, not {expected} as the request says"
        ))
        .detail(serde_json::json!({ "expected": expected, "actual": actual })),
        PushError::BlobUnknown(digest) => RegistryError::new(
            StatusCode::BAD_REQUEST,
            "MANIFEST_BLOB_UNKNOWN",
            format!("blob unknown to registry: the manifest references {digest}, which was not uploaded"),
        )
        .detail(serde_json::json!({ "digest": digest })),
        PushError::ChildUnknown(digest) => RegistryError::new(
            StatusCode::BAD_REQUEST,
            "MANIFEST_BLOB_UNKNOWN",
            format!(
                "manifest references a manifest unknown to the registry: {digest} is not an image in repository '{}'",
                repo.name
            ),
        )
        .detail(serde_json::json!({ "digest": digest })),
        PushError::Record(RecordError::RepositoryNotFound(_)) => RegistryError::name_unknown(repo),
        PushError::Record(RecordError::TagImmutable { tag, repository }) => RegistryError::new(
            StatusCode::BAD_REQUEST,
            "TAG_INVALID",
            format!(
                "The image tag '{tag}' already exists in the '{repository}' repository and cannot be overwritten because the repository is immutable."
            ),
        ),
        PushError::Record(RecordError::Store(e)) => {
            RegistryError::internal("cannot record the image in the state store", &e)
        }
        PushError::Io(e) => RegistryError::internal("cannot store the manifest", &e),
    }
}

pub(super) fn store_error(e: wharf_store::StoreError) -> RegistryError {
    RegistryError::internal("cannot read the registry state", &e)
}
