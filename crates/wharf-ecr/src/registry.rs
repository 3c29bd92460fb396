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
//! OWNER: registry helper.

use crate::auth::AuthFailure;
use crate::blobs::{parse_digest, BlobError, DigestError};
use crate::images::{RecordError, RepoRef};
use crate::manifest::MAX_MANIFEST_BYTES;
use crate::push::{is_digest_reference, PushError};
use crate::syntax::{valid_image_tag, valid_repository_name};
use crate::Ecr;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use std::io;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tracing::Instrument;

/// `Docker-Distribution-API-Version`, on every answer.
const API_VERSION: HeaderName = HeaderName::from_static("docker-distribution-api-version");
/// `Docker-Content-Digest`.
const CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
/// `Docker-Upload-UUID`.
const UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
/// The Basic challenge `docker login` needs to send credentials.
const CHALLENGE: &str = "Basic realm=\"wharf\"";
/// ECR's message for an expired token (what Docker prints).
pub const EXPIRED_TOKEN_MESSAGE: &str =
    "Your authorization token has expired. Reauthenticate and try again.";
/// Chunks of a request body in flight between the socket and the upload file.
const BODY_CHANNEL_CHUNKS: usize = 16;
/// Read size when streaming a blob out.
const READ_CHUNK: usize = 256 * 1024;

/// The `/v2/` routes, for merging into the server's router (matches only `/v2` and paths
/// under `/v2/`; everything else is left to the AWS API gateway's fallback).
pub fn router(ecr: Arc<Ecr>) -> Router {
    Router::new()
        .route("/v2", any(handle))
        .route("/v2/", any(handle))
        .route("/v2/{*rest}", any(handle))
        .with_state(ecr)
}

// ----- errors -----

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
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
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

    fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
            .header(header::WWW_AUTHENTICATE, CHALLENGE)
    }

    fn name_unknown(repo: &RepoRef) -> Self {
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

    fn name_invalid(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            format!("invalid repository name '{name}': lowercase letters, digits and . _ - / separators, 2 to 256 characters"),
        )
    }

    fn tag_invalid(tag: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "TAG_INVALID",
            format!(
                "invalid tag '{tag}': letters, digits, _ . - (not first), at most 300 characters"
            ),
        )
    }

    fn digest_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", message)
    }

    fn bad_digest(digest: &str, e: DigestError) -> Self {
        match e {
            DigestError::Unsupported => Self::digest_invalid(format!(
                "unsupported digest algorithm in '{digest}': only sha256 is supported"
            )),
            DigestError::Invalid => Self::digest_invalid(format!(
                "invalid digest '{digest}': expected sha256: followed by 64 lowercase hex digits"
            )),
        }
    }

    fn manifest_unknown(repo: &RepoRef, reference: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            format!(
                "Requested image not found: no manifest '{reference}' in repository '{}'",
                repo.name
            ),
        )
    }

    fn blob_unknown(digest: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            format!("blob unknown to registry: {digest}"),
        )
        .detail(serde_json::json!({ "digest": digest }))
    }

    fn upload_unknown(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            format!("blob upload unknown to registry: {id}"),
        )
    }

    fn unsupported(message: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", message)
    }

    fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
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

fn auth_error(failure: AuthFailure) -> RegistryError {
    match failure {
        AuthFailure::Missing => RegistryError::unauthorized("authentication required"),
        AuthFailure::Invalid => RegistryError::unauthorized(
            "authentication required: the credentials are not a valid ECR authorization token (run aws ecr get-login-password and log in again)",
        ),
        AuthFailure::Expired => {
            RegistryError::new(StatusCode::UNAUTHORIZED, "DENIED", EXPIRED_TOKEN_MESSAGE)
                .header(header::WWW_AUTHENTICATE, CHALLENGE)
        }
    }
}

fn upload_error(repo: &RepoRef, id: &str, e: BlobError) -> RegistryError {
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

fn push_error(repo: &RepoRef, e: PushError) -> RegistryError {
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

fn store_error(e: wharf_store::StoreError) -> RegistryError {
    RegistryError::internal("cannot read the registry state", &e)
}

// ----- paths -----

/// What a `/v2/` path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`: the API version check (and login).
    Base,
    /// `/v2/_catalog`.
    Catalog,
    /// `/v2/<name>/tags/list`.
    Tags {
        /// Repository name.
        name: String,
    },
    /// `/v2/<name>/manifests/<reference>`.
    Manifest {
        /// Repository name.
        name: String,
        /// Tag or digest.
        reference: String,
    },
    /// `/v2/<name>/blobs/<digest>`.
    Blob {
        /// Repository name.
        name: String,
        /// Digest.
        digest: String,
    },
    /// `/v2/<name>/blobs/uploads/`.
    UploadStart {
        /// Repository name.
        name: String,
    },
    /// `/v2/<name>/blobs/uploads/<id>`.
    Upload {
        /// Repository name.
        name: String,
        /// Upload id.
        id: String,
    },
}

/// Decodes `%XX` escapes; `None` if malformed or not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses a request path, from the right: the last segments say what is addressed and
/// everything before them is the repository name (which may itself contain `manifests`,
/// `blobs` or `tags` components). `None` for a path that is no registry endpoint.
pub fn parse_path(path: &str) -> Option<Route> {
    if path == "/v2" || path == "/v2/" {
        return Some(Route::Base);
    }
    let rest = path.strip_prefix("/v2/")?;
    if rest == "_catalog" {
        return Some(Route::Catalog);
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let n = segments.len();
    let name = |end: usize| -> Option<String> {
        if end == 0 {
            return None;
        }
        percent_decode(&segments[..end].join("/"))
    };
    let last = |i: usize| percent_decode(segments[n - i]);
    if n >= 3 && segments[n - 2] == "tags" && segments[n - 1] == "list" {
        return Some(Route::Tags { name: name(n - 2)? });
    }
    if n >= 3 && segments[n - 2] == "manifests" {
        return Some(Route::Manifest {
            name: name(n - 2)?,
            reference: last(1)?,
        });
    }
    // A digest always has a ':'; an upload id never does.
    if n >= 3 && segments[n - 2] == "blobs" && last(1)?.contains(':') {
        return Some(Route::Blob {
            name: name(n - 2)?,
            digest: last(1)?,
        });
    }
    if n >= 3 && segments[n - 2] == "blobs" && segments[n - 1] == "uploads" {
        return Some(Route::UploadStart { name: name(n - 2)? });
    }
    if n >= 4 && segments[n - 3] == "blobs" && segments[n - 2] == "uploads" {
        if segments[n - 1].is_empty() {
            return Some(Route::UploadStart { name: name(n - 3)? });
        }
        return Some(Route::Upload {
            name: name(n - 3)?,
            id: last(1)?,
        });
    }
    if n >= 3 && segments[n - 2] == "blobs" {
        return Some(Route::Blob {
            name: name(n - 2)?,
            digest: last(1)?,
        });
    }
    None
}

/// The query parameters of a request, decoded.
#[derive(Debug, Default)]
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: Option<&str>) -> Self {
        let pairs = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                Some((
                    percent_decode(&k.replace('+', " "))?,
                    percent_decode(&v.replace('+', " "))?,
                ))
            })
            .collect();
        Self(pairs)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

// ----- the handler -----

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

/// Runs blocking work (store, files) off the reactor.
async fn blocking<T, F>(ecr: &Arc<Ecr>, f: F) -> Result<T, RegistryError>
where
    F: FnOnce(&Ecr) -> Result<T, RegistryError> + Send + 'static,
    T: Send + 'static,
{
    let ecr = ecr.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        f(&ecr)
    })
    .await
    .map_err(|e| RegistryError::internal("a registry task failed", &e))?
}

/// Checks the credentials and, for a repository route, the name and that the repository
/// exists (in the token's account and region).
fn authorize(
    ecr: &Ecr,
    authorization: Option<&str>,
    name: Option<&str>,
) -> Result<(crate::auth::RegistryPrincipal, Option<RepoRef>), RegistryError> {
    let principal = ecr
        .authenticate_registry(authorization, ecr.clock.now())
        .map_err(auth_error)?;
    let Some(name) = name else {
        return Ok((principal, None));
    };
    if !valid_repository_name(name) {
        return Err(RegistryError::name_invalid(name));
    }
    let repo = RepoRef::new(&principal.account, &principal.region, name);
    if !ecr.repository_exists(&repo).map_err(store_error)? {
        return Err(RegistryError::name_unknown(&repo));
    }
    Ok((principal, Some(repo)))
}

fn route_name(route: &Route) -> Option<&str> {
    match route {
        Route::Base | Route::Catalog => None,
        Route::Tags { name }
        | Route::Manifest { name, .. }
        | Route::Blob { name, .. }
        | Route::UploadStart { name }
        | Route::Upload { name, .. } => Some(name),
    }
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
        authorize(ecr, authorization.as_deref(), name.as_deref())
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
            (Route::Catalog, &Method::GET) => catalog(&ecr, principal, &query).await,
            _ => Err(method_not_allowed(&method)),
        };
    };
    match (route, method) {
        (Route::Tags { .. }, Method::GET) => tags_list(&ecr, repo, &query).await,
        (Route::Manifest { reference, .. }, Method::GET | Method::HEAD) => {
            get_manifest(&ecr, repo, reference, parts.method == Method::GET).await
        }
        (Route::Manifest { reference, .. }, Method::PUT) => {
            put_manifest(&ecr, repo, reference, &headers, body).await
        }
        (Route::Manifest { reference, .. }, Method::DELETE) => {
            delete_manifest(&ecr, repo, reference).await
        }
        (Route::Blob { digest, .. }, Method::GET | Method::HEAD) => {
            get_blob(&ecr, repo, digest, &headers, parts.method == Method::GET).await
        }
        (Route::Blob { .. }, Method::DELETE) => Err(RegistryError::unsupported(
            "deleting blobs is not supported (as in ECR): delete images with batch-delete-image and the garbage collector reclaims their layers",
        )),
        (Route::UploadStart { .. }, Method::POST) => {
            start_upload(&ecr, principal, repo, &query, body).await
        }
        (Route::Upload { id, .. }, Method::GET) => upload_status(&ecr, repo, id).await,
        (Route::Upload { id, .. }, Method::PATCH) => {
            patch_upload(&ecr, repo, id, &headers, body).await
        }
        (Route::Upload { id, .. }, Method::PUT) => {
            finish_upload(&ecr, repo, id, &query, &headers, body).await
        }
        (Route::Upload { id, .. }, Method::DELETE) => cancel_upload(&ecr, repo, id).await,
        (_, method) => Err(method_not_allowed(&method)),
    }
}

fn method_not_allowed(method: &Method) -> RegistryError {
    RegistryError::unsupported(format!(
        "the operation is unsupported: {method} is not allowed here"
    ))
}

// ----- responses -----

fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// An answer with no body and the given headers.
fn empty(status: StatusCode, headers: &[(HeaderName, String)]) -> Response {
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

fn upload_location(repo: &RepoRef, id: &str) -> String {
    format!("/v2/{}/blobs/uploads/{id}", repo.name)
}

fn blob_location(repo: &RepoRef, digest: &str) -> String {
    format!("/v2/{}/blobs/{digest}", repo.name)
}

/// The `Range` header of an upload holding `size` bytes (`0-0` when empty, as distribution
/// and Docker do).
fn range_value(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

/// The key an upload session is bound to: uploads belong to one repository.
fn upload_owner(repo: &RepoRef) -> String {
    format!("{}/{}/{}", repo.account, repo.region, repo.name)
}

fn upload_accepted(repo: &RepoRef, id: &str, size: u64, status: StatusCode) -> Response {
    empty(
        status,
        &[
            (header::LOCATION, upload_location(repo, id)),
            (header::RANGE, range_value(size)),
            (UPLOAD_UUID, id.to_string()),
        ],
    )
}

fn blob_created(repo: &RepoRef, digest: &str) -> Response {
    empty(
        StatusCode::CREATED,
        &[
            (header::LOCATION, blob_location(repo, digest)),
            (CONTENT_DIGEST, digest.to_string()),
        ],
    )
}

// ----- catalog and tags -----

/// `n` and `last` of a paginated list.
fn page<'a>(
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

fn with_next_link(
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

async fn catalog(
    ecr: &Arc<Ecr>,
    principal: crate::auth::RegistryPrincipal,
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

async fn tags_list(
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

// ----- manifests -----

/// Checks a manifest reference: a digest must be a valid sha256 digest, a tag a valid tag.
fn check_reference(reference: &str) -> Result<(), RegistryError> {
    if is_digest_reference(reference) {
        parse_digest(reference).map_err(|e| RegistryError::bad_digest(reference, e))?;
    } else if !valid_image_tag(reference) {
        return Err(RegistryError::tag_invalid(reference));
    }
    Ok(())
}

async fn get_manifest(
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
async fn read_manifest_body(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, RegistryError> {
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

async fn put_manifest(
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

async fn delete_manifest(
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

// ----- blobs -----

/// A `Range` request header against a blob of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// No usable range: send everything (also for malformed or multi-range headers, which
    /// HTTP lets a server ignore).
    Full,
    /// Bytes `start..=end`.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte (inclusive).
        end: u64,
    },
    /// A range beyond the end (416).
    Unsatisfiable,
}

/// Interprets `Range: bytes=a-b`, `bytes=a-` and `bytes=-n`.
pub fn parse_range(header: Option<&str>, size: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return ByteRange::Full;
    };
    if spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return ByteRange::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| s.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        // bytes=-n: the last n bytes.
        (true, false) => match number(last) {
            Some(0) => ByteRange::Unsatisfiable,
            Some(_) if size == 0 => ByteRange::Unsatisfiable,
            Some(n) => ByteRange::Partial {
                start: size - n.min(size),
                end: size - 1,
            },
            None => ByteRange::Full,
        },
        // bytes=a-
        (false, true) => match number(first) {
            Some(start) if start < size => ByteRange::Partial {
                start,
                end: size - 1,
            },
            Some(_) => ByteRange::Unsatisfiable,
            None => ByteRange::Full,
        },
        (false, false) => match (number(first), number(last)) {
            (Some(start), Some(end)) if start <= end => {
                if start >= size {
                    ByteRange::Unsatisfiable
                } else {
                    ByteRange::Partial {
                        start,
                        end: end.min(size - 1),
                    }
                }
            }
            _ => ByteRange::Full,
        },
        (true, true) => ByteRange::Full,
    }
}

async fn get_blob(
    ecr: &Arc<Ecr>,
    repo: RepoRef,
    digest: String,
    headers: &HeaderMap,
    is_get: bool,
) -> Result<Response, RegistryError> {
    parse_digest(&digest).map_err(|e| RegistryError::bad_digest(&digest, e))?;
    let base_headers = |size: u64| {
        vec![
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (CONTENT_DIGEST, digest.clone()),
            (header::ETAG, format!("\"{digest}\"")),
            (header::ACCEPT_RANGES, "bytes".to_string()),
            (header::CONTENT_LENGTH, size.to_string()),
        ]
    };
    if !is_get {
        // A HEAD is how a pushing client asks "do you have it?": claim the blob so the
        // garbage collector keeps it until the manifest that uses it arrives.
        let d = digest.clone();
        let size = blocking(ecr, move |ecr| {
            if !ecr.blob_linked(&repo, &d).map_err(store_error)? {
                return Err(RegistryError::blob_unknown(&d));
            }
            ecr.blobs
                .claim(&d)
                .ok_or_else(|| RegistryError::blob_unknown(&d))
        })
        .await?;
        return Ok(empty(StatusCode::OK, &base_headers(size)));
    }
    let d = digest.clone();
    let (file, size) = blocking(ecr, move |ecr| {
        if !ecr.blob_linked(&repo, &d).map_err(store_error)? {
            return Err(RegistryError::blob_unknown(&d));
        }
        ecr.blobs
            .open_blob(&d)
            .map_err(|e| RegistryError::internal("cannot open a blob", &e))?
            .ok_or_else(|| RegistryError::blob_unknown(&d))
    })
    .await?;
    let range = parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        size,
    );
    let (status, start, length) = match range {
        ByteRange::Full => (StatusCode::OK, 0, size),
        ByteRange::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        ByteRange::Unsatisfiable => {
            return Err(RegistryError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "RANGE_INVALID",
                format!("the requested range is beyond the blob's {size} bytes"),
            )
            .header(header::CONTENT_RANGE, format!("bytes */{size}")));
        }
    };
    let mut file = tokio::fs::File::from_std(file);
    if start > 0 {
        file.seek(io::SeekFrom::Start(start))
            .await
            .map_err(|e| RegistryError::internal("cannot read a blob", &e))?;
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(length), READ_CHUNK);
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let mut list = base_headers(length);
    if status == StatusCode::PARTIAL_CONTENT {
        list.push((
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", start + length - 1),
        ));
    }
    let map = response.headers_mut();
    for (name, value) in list {
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.insert(name, value);
        }
    }
    Ok(response)
}

// ----- uploads -----

/// One message from the socket side to the blocking side: a chunk, the end, or a failure.
type BodyMessage = io::Result<Option<Bytes>>;

/// A request body as the blocking side sees it: chunks until the body ends or breaks off.
/// The end must be said explicitly: if the request is dropped mid-body (the client went
/// away), the channel closes without it and the body counts as broken, not complete.
struct BodyChunks {
    receiver: tokio::sync::mpsc::Receiver<BodyMessage>,
    done: bool,
}

impl Iterator for BodyChunks {
    type Item = io::Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.receiver.blocking_recv() {
            Some(Ok(Some(chunk))) => Some(Ok(chunk)),
            Some(Ok(None)) => {
                self.done = true;
                None
            }
            Some(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            None => {
                self.done = true;
                Some(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the request was dropped before its body ended",
                )))
            }
        }
    }
}

/// Runs `f` on the blocking pool while this task feeds it `body`, chunk by chunk, through a
/// bounded channel (so the socket is read only as fast as the disk takes it). If `f` stops
/// early, the rest of the body is not read.
async fn with_streamed_body<T, F>(ecr: &Arc<Ecr>, body: Body, f: F) -> Result<T, RegistryError>
where
    F: FnOnce(&Ecr, BodyChunks) -> Result<T, RegistryError> + Send + 'static,
    T: Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel::<BodyMessage>(BODY_CHANNEL_CHUNKS);
    let ecr = ecr.clone();
    let span = tracing::Span::current();
    let task = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        f(
            &ecr,
            BodyChunks {
                receiver,
                done: false,
            },
        )
    });
    let mut body = body;
    loop {
        let message = match body.frame().await {
            None => Ok(None),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => Ok(Some(data)),
                _ => continue,
            },
            Some(Err(e)) => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                e.to_string(),
            )),
        };
        let last = !matches!(message, Ok(Some(_)));
        if sender.send(message).await.is_err() || last {
            break;
        }
    }
    drop(sender);
    task.await
        .map_err(|e| RegistryError::internal("a registry task failed", &e))?
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// `Content-Range: <start>-<end>` of a chunk (also accepting `bytes <start>-<end>/<total>`);
/// the start offset, or RANGE_INVALID for nonsense or a length that disagrees.
fn chunk_start(headers: &HeaderMap) -> Result<Option<u64>, RegistryError> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let invalid = |why: &str| {
        RegistryError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "RANGE_INVALID",
            format!("invalid Content-Range: {why}"),
        )
    };
    let text = value.to_str().map_err(|_| invalid("not text"))?.trim();
    let text = text
        .strip_prefix("bytes")
        .map(str::trim_start)
        .unwrap_or(text);
    let text = text.strip_prefix('=').unwrap_or(text).trim();
    let text = text.split('/').next().unwrap_or(text);
    let (start, end) = text
        .split_once('-')
        .ok_or_else(|| invalid("expected <start>-<end>"))?;
    let start: u64 = start.trim().parse().map_err(|_| invalid("bad start"))?;
    let end: u64 = end.trim().parse().map_err(|_| invalid("bad end"))?;
    if end < start {
        return Err(invalid("the end is before the start"));
    }
    if let Some(length) = content_length(headers) {
        if length != end - start + 1 {
            return Err(invalid("the range does not match Content-Length"));
        }
    }
    Ok(Some(start))
}

/// The upload `id` if it belongs to `repo`.
fn check_upload(ecr: &Ecr, repo: &RepoRef, id: &str) -> Result<u64, RegistryError> {
    match ecr.blobs.upload_status(id) {
        Ok(status) if status.repository == upload_owner(repo) => Ok(status.size),
        Ok(_) => Err(RegistryError::upload_unknown(id)),
        Err(e) => Err(upload_error(repo, id, e)),
    }
}

async fn start_upload(
    ecr: &Arc<Ecr>,
    principal: crate::auth::RegistryPrincipal,
    repo: RepoRef,
    query: &Query,
    body: Body,
) -> Result<Response, RegistryError> {
    // Cross-repository mount: the source repository (of the token's account and region; the
    // target itself without `from`) holds the blob and its bytes are here. Then the target
    // holds it too.
    if let Some(mount) = query.get("mount").map(str::to_string) {
        let from = query.get("from").map(str::to_string);
        let target = repo.clone();
        let mounted = blocking(ecr, move |ecr| {
            if parse_digest(&mount).is_err() {
                return Ok(None);
            }
            let source = match from {
                Some(from) => {
                    if !valid_repository_name(&from) {
                        return Ok(None);
                    }
                    let source = RepoRef::new(&principal.account, &principal.region, &from);
                    if !ecr.repository_exists(&source).map_err(store_error)? {
                        return Ok(None);
                    }
                    source
                }
                None => target.clone(),
            };
            if !ecr.blob_linked(&source, &mount).map_err(store_error)? {
                return Ok(None);
            }
            if ecr.blobs.claim(&mount).is_none() {
                return Ok(None);
            }
            ecr.link_blob(&target, &mount).map_err(store_error)?;
            Ok(Some(mount))
        })
        .await?;
        if let Some(digest) = mounted {
            tracing::debug!(repository = %repo.name, %digest, "blob mounted");
            return Ok(blob_created(&repo, &digest));
        }
        // Otherwise: an ordinary upload session, as the spec asks.
        return new_session(ecr, repo).await;
    }
    // Monolithic upload: POST ?digest= with the whole blob as the body.
    if let Some(digest) = query.get("digest").map(str::to_string) {
        parse_digest(&digest).map_err(|e| RegistryError::bad_digest(&digest, e))?;
        let id = ecr.ids.uuid();
        let target = repo.clone();
        let d = digest.clone();
        with_streamed_body(ecr, body, move |ecr, chunks| {
            ecr.blobs
                .start_upload(&id, &upload_owner(&target), ecr.clock.now())
                .map_err(|e| upload_error(&target, &id, e))?;
            match ecr.blobs.finish_chunks(&id, &d, None, chunks) {
                // Linked after the bytes are committed (the collector relies on this order).
                Ok(_) => ecr.link_blob(&target, &d).map_err(store_error),
                Err(e) => {
                    let _ = ecr.blobs.cancel(&id);
                    Err(upload_error(&target, &id, e))
                }
            }
        })
        .await?;
        return Ok(blob_created(&repo, &digest));
    }
    new_session(ecr, repo).await
}

async fn new_session(ecr: &Arc<Ecr>, repo: RepoRef) -> Result<Response, RegistryError> {
    let id = ecr.ids.uuid();
    let (repo, id) = blocking(ecr, move |ecr| {
        ecr.blobs
            .start_upload(&id, &upload_owner(&repo), ecr.clock.now())
            .map_err(|e| upload_error(&repo, &id, e))?;
        Ok((repo, id))
    })
    .await?;
    Ok(upload_accepted(&repo, &id, 0, StatusCode::ACCEPTED))
}

async fn upload_status(
    ecr: &Arc<Ecr>,
    repo: RepoRef,
    id: String,
) -> Result<Response, RegistryError> {
    blocking(ecr, move |ecr| {
        let size = check_upload(ecr, &repo, &id)?;
        Ok(upload_accepted(&repo, &id, size, StatusCode::NO_CONTENT))
    })
    .await
}

async fn patch_upload(
    ecr: &Arc<Ecr>,
    repo: RepoRef,
    id: String,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, RegistryError> {
    let start = chunk_start(headers)?;
    let (repo, id, size) = with_streamed_body(ecr, body, move |ecr, chunks| {
        check_upload(ecr, &repo, &id)?;
        let size = ecr
            .blobs
            .append_chunks(&id, start, chunks)
            .map_err(|e| upload_error(&repo, &id, e))?;
        Ok((repo, id, size))
    })
    .await?;
    Ok(upload_accepted(&repo, &id, size, StatusCode::ACCEPTED))
}

async fn finish_upload(
    ecr: &Arc<Ecr>,
    repo: RepoRef,
    id: String,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, RegistryError> {
    let Some(digest) = query.get("digest").map(str::to_string) else {
        return Err(RegistryError::digest_invalid(
            "the digest query parameter is required to finish an upload",
        ));
    };
    parse_digest(&digest).map_err(|e| RegistryError::bad_digest(&digest, e))?;
    let start = chunk_start(headers)?;
    let d = digest.clone();
    let repo = with_streamed_body(ecr, body, move |ecr, chunks| {
        check_upload(ecr, &repo, &id)?;
        ecr.blobs
            .finish_chunks(&id, &d, start, chunks)
            .map_err(|e| upload_error(&repo, &id, e))?;
        // Linked after the bytes are committed (the collector relies on this order).
        ecr.link_blob(&repo, &d).map_err(store_error)?;
        Ok(repo)
    })
    .await?;
    tracing::debug!(repository = %repo.name, %digest, "blob uploaded");
    Ok(blob_created(&repo, &digest))
}

async fn cancel_upload(
    ecr: &Arc<Ecr>,
    repo: RepoRef,
    id: String,
) -> Result<Response, RegistryError> {
    blocking(ecr, move |ecr| {
        check_upload(ecr, &repo, &id)?;
        ecr.blobs
            .cancel(&id)
            .map_err(|e| upload_error(&repo, &id, e))?;
        Ok(empty(StatusCode::NO_CONTENT, &[]))
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::blobs::sha256_digest;
    use crate::manifest::{DOCKER_MANIFEST_V2, OCI_INDEX, OCI_MANIFEST};
    use crate::push::tests::{fixture, image_manifest, Fixture, ACCOUNT, REGION};
    use tower::ServiceExt;

    struct Answer {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    }

    impl Answer {
        fn header(&self, name: &str) -> &str {
            self.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        }

        fn code(&self) -> String {
            let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
            v["errors"][0]["code"].as_str().unwrap().to_string()
        }

        fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.body).unwrap()
        }
    }

    struct Client {
        fixture: Fixture,
        router: Router,
        auth: String,
    }

    fn client() -> Client {
        let fixture = fixture();
        let token = fixture
            .ecr
            .issue_token(ACCOUNT, REGION, fixture.now())
            .unwrap();
        let router = router(fixture.ecr.clone());
        Client {
            fixture,
            router,
            auth: format!("Basic {}", token.token),
        }
    }

    impl Client {
        async fn send(
            &self,
            method: &str,
            path: &str,
            headers: &[(&str, &str)],
            body: Vec<u8>,
        ) -> Answer {
            let mut builder = http::Request::builder().method(method).uri(path);
            for (name, value) in headers {
                builder = builder.header(*name, *value);
            }
            let request = builder.body(Body::from(body)).unwrap();
            let response = self.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            Answer {
                status,
                headers,
                body,
            }
        }

        async fn call(&self, method: &str, path: &str, body: Vec<u8>) -> Answer {
            self.call_with(method, path, &[], body).await
        }

        async fn call_with(
            &self,
            method: &str,
            path: &str,
            headers: &[(&str, &str)],
            body: Vec<u8>,
        ) -> Answer {
            let mut all = vec![("authorization", self.auth.as_str())];
            all.extend_from_slice(headers);
            self.send(method, path, &all, body).await
        }

        /// Uploads `bytes` in two chunks and returns the digest.
        async fn upload(&self, name: &str, bytes: &[u8]) -> String {
            let digest = sha256_digest(bytes);
            let started = self
                .call("POST", &format!("/v2/{name}/blobs/uploads/"), vec![])
                .await;
            assert_eq!(started.status, StatusCode::ACCEPTED);
            let location = started.header("location").to_string();
            let half = bytes.len() / 2;
            let first = format!("0-{}", half.saturating_sub(1));
            let patched = self
                .call_with(
                    "PATCH",
                    &location,
                    &[("content-range", &first)],
                    bytes[..half].to_vec(),
                )
                .await;
            assert_eq!(patched.status, StatusCode::ACCEPTED, "{:?}", patched.body);
            let done = self
                .call(
                    "PUT",
                    &format!("{location}?digest={digest}"),
                    bytes[half..].to_vec(),
                )
                .await;
            assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
            digest
        }
    }

    #[test]
    fn paths_parse_from_the_right() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let cases: Vec<(String, Option<Route>)> = vec![
            ("/v2".into(), Some(Route::Base)),
            ("/v2/".into(), Some(Route::Base)),
            ("/v2/_catalog".into(), Some(Route::Catalog)),
            (
                "/v2/team/app/tags/list".into(),
                Some(Route::Tags {
                    name: "team/app".into(),
                }),
            ),
            (
                "/v2/a/b/c/manifests/v1.2".into(),
                Some(Route::Manifest {
                    name: "a/b/c".into(),
                    reference: "v1.2".into(),
                }),
            ),
            // Names whose components look like route words.
            (
                "/v2/x/manifests/manifests/latest".into(),
                Some(Route::Manifest {
                    name: "x/manifests".into(),
                    reference: "latest".into(),
                }),
            ),
            (
                "/v2/a/blobs/tags/list".into(),
                Some(Route::Tags {
                    name: "a/blobs".into(),
                }),
            ),
            (
                format!("/v2/x/blobs/blobs/{digest}"),
                Some(Route::Blob {
                    name: "x/blobs".into(),
                    digest: digest.clone(),
                }),
            ),
            (
                format!("/v2/r/blobs/uploads/blobs/{digest}"),
                Some(Route::Blob {
                    name: "r/blobs/uploads".into(),
                    digest: digest.clone(),
                }),
            ),
            (
                format!("/v2/team/app/blobs/sha256%3A{}", "a".repeat(64)),
                Some(Route::Blob {
                    name: "team/app".into(),
                    digest: digest.clone(),
                }),
            ),
            (
                "/v2/team/app/blobs/uploads/".into(),
                Some(Route::UploadStart {
                    name: "team/app".into(),
                }),
            ),
            (
                "/v2/team/app/blobs/uploads".into(),
                Some(Route::UploadStart {
                    name: "team/app".into(),
                }),
            ),
            (
                "/v2/team/app/blobs/uploads/0f9e-11".into(),
                Some(Route::Upload {
                    name: "team/app".into(),
                    id: "0f9e-11".into(),
                }),
            ),
            (
                "/v2/uploads/blobs/uploads/id".into(),
                Some(Route::Upload {
                    name: "uploads".into(),
                    id: "id".into(),
                }),
            ),
            ("/v2/manifests/latest".into(), None),
            ("/v2/app".into(), None),
            ("/v2/app/tags".into(), None),
            ("/v3/app/tags/list".into(), None),
            ("/v2/app/manifests/%zz".into(), None),
        ];
        for (path, expected) in cases {
            assert_eq!(parse_path(&path), expected, "{path}");
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), ByteRange::Full);
        assert_eq!(
            parse_range(Some("bytes=2-5"), 10),
            ByteRange::Partial { start: 2, end: 5 }
        );
        assert_eq!(
            parse_range(Some("bytes=2-50"), 10),
            ByteRange::Partial { start: 2, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=7-"), 10),
            ByteRange::Partial { start: 7, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-3"), 10),
            ByteRange::Partial { start: 7, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-30"), 10),
            ByteRange::Partial { start: 0, end: 9 }
        );
        assert_eq!(parse_range(Some("bytes=10-"), 10), ByteRange::Unsatisfiable);
        assert_eq!(
            parse_range(Some("bytes=10-12"), 10),
            ByteRange::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=-0"), 10), ByteRange::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-0"), 0), ByteRange::Unsatisfiable);
        for ignored in [
            "bytes=5-2",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=-",
        ] {
            assert_eq!(parse_range(Some(ignored), 10), ByteRange::Full, "{ignored}");
        }
    }

    #[test]
    fn content_ranges_and_queries() {
        let mut h = HeaderMap::new();
        assert_eq!(chunk_start(&h).unwrap(), None);
        h.insert(header::CONTENT_RANGE, HeaderValue::from_static("10-19"));
        assert_eq!(chunk_start(&h).unwrap(), Some(10));
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_static("bytes 10-19/*"),
        );
        assert_eq!(chunk_start(&h).unwrap(), Some(10));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        assert_eq!(chunk_start(&h).unwrap_err().code(), "RANGE_INVALID");
        h.insert(header::CONTENT_RANGE, HeaderValue::from_static("9-3"));
        assert_eq!(
            chunk_start(&h).unwrap_err().status(),
            StatusCode::RANGE_NOT_SATISFIABLE
        );
        let q = Query::parse(Some("mount=sha256%3Aab&from=team%2Fapp&n=&x"));
        assert_eq!(q.get("mount"), Some("sha256:ab"));
        assert_eq!(q.get("from"), Some("team/app"));
        assert_eq!(q.get("n"), Some(""));
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(q.get("last"), None);
    }

    #[test]
    fn a_body_without_its_end_is_broken() {
        let (tx, rx) = tokio::sync::mpsc::channel::<BodyMessage>(4);
        tx.try_send(Ok(Some(Bytes::from_static(b"abc")))).unwrap();
        drop(tx);
        let mut chunks = BodyChunks {
            receiver: rx,
            done: false,
        };
        assert_eq!(chunks.next().unwrap().unwrap().as_ref(), b"abc");
        let e = chunks.next().unwrap().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionAborted);
        assert!(chunks.next().is_none());

        let (tx, rx) = tokio::sync::mpsc::channel::<BodyMessage>(4);
        tx.try_send(Ok(Some(Bytes::from_static(b"abc")))).unwrap();
        tx.try_send(Ok(None)).unwrap();
        let chunks = BodyChunks {
            receiver: rx,
            done: false,
        };
        assert_eq!(chunks.map(|c| c.unwrap().len()).sum::<usize>(), 3);
    }

    #[tokio::test]
    async fn base_requires_credentials() {
        let c = client();
        let anonymous = c.send("GET", "/v2/", &[], vec![]).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            anonymous.header("www-authenticate"),
            "Basic realm=\"wharf\""
        );
        assert_eq!(
            anonymous.header("docker-distribution-api-version"),
            "registry/2.0"
        );
        assert_eq!(anonymous.code(), "UNAUTHORIZED");
        for bad in [
            "Basic QVdTOndyb25n", // AWS:wrong
            "Bearer abc",
            "Basic !!!",
        ] {
            let a = c
                .send("GET", "/v2/", &[("authorization", bad)], vec![])
                .await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{bad}");
            assert_eq!(a.code(), "UNAUTHORIZED");
        }
        // Unauthenticated requests learn nothing about repositories or paths.
        let a = c.send("GET", "/v2/nope/tags/list", &[], vec![]).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        let a = c.send("GET", "/v2/not/an/endpoint", &[], vec![]).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);

        let ok = c.call("GET", "/v2/", vec![]).await;
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.header("docker-distribution-api-version"), "registry/2.0");
        let ok = c.call("GET", "/v2", vec![]).await;
        assert_eq!(ok.status, StatusCode::OK);

        // 12 hours later the token has expired.
        c.fixture.clock.advance(12 * 60 * 60 * 1000 + 1);
        let expired = c.call("GET", "/v2/", vec![]).await;
        assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
        assert_eq!(expired.code(), "DENIED");
        assert!(expired.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Your authorization token has expired"));
        assert_eq!(expired.header("www-authenticate"), "Basic realm=\"wharf\"");
    }

    #[tokio::test]
    async fn push_and_pull_round_trip() {
        let c = client();
        c.fixture.create_repo("team/app", false);
        let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
        let layer: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let layer_digest = c.upload("team/app", &layer).await;
        let config_digest = c.upload("team/app", &config).await;

        // HEAD and ranged GET of the layer.
        let head = c
            .call(
                "HEAD",
                &format!("/v2/team/app/blobs/{layer_digest}"),
                vec![],
            )
            .await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.header("content-length"), layer.len().to_string());
        assert_eq!(head.header("docker-content-digest"), layer_digest);
        assert!(head.body.is_empty());
        let full = c
            .call("GET", &format!("/v2/team/app/blobs/{layer_digest}"), vec![])
            .await;
        assert_eq!(full.status, StatusCode::OK);
        assert_eq!(full.body.as_ref(), layer.as_slice());
        let part = c
            .call_with(
                "GET",
                &format!("/v2/team/app/blobs/{layer_digest}"),
                &[("range", "bytes=1000-1999")],
                vec![],
            )
            .await;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.body.as_ref(), &layer[1000..2000]);
        assert_eq!(
            part.header("content-range"),
            format!("bytes 1000-1999/{}", layer.len())
        );
        let beyond = c
            .call_with(
                "GET",
                &format!("/v2/team/app/blobs/{layer_digest}"),
                &[("range", "bytes=999999999-")],
                vec![],
            )
            .await;
        assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);

        // The manifest.
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST_V2,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": config_digest},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layer.len(), "digest": layer_digest}],
        }))
        .unwrap();
        let digest = crate::manifest::digest_of(&manifest);
        let put = c
            .call_with(
                "PUT",
                "/v2/team/app/manifests/v1",
                &[("content-type", DOCKER_MANIFEST_V2)],
                manifest.clone(),
            )
            .await;
        assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.body);
        assert_eq!(put.header("docker-content-digest"), digest);
        assert_eq!(
            put.header("location"),
            format!("/v2/team/app/manifests/{digest}")
        );

        for reference in ["v1", digest.as_str()] {
            let got = c
                .call(
                    "GET",
                    &format!("/v2/team/app/manifests/{reference}"),
                    vec![],
                )
                .await;
            assert_eq!(got.status, StatusCode::OK);
            assert_eq!(got.body.as_ref(), manifest.as_slice());
            assert_eq!(got.header("content-type"), DOCKER_MANIFEST_V2);
            assert_eq!(got.header("docker-content-digest"), digest);
            let head = c
                .call(
                    "HEAD",
                    &format!("/v2/team/app/manifests/{reference}"),
                    vec![],
                )
                .await;
            assert_eq!(head.status, StatusCode::OK);
            assert_eq!(head.header("content-length"), manifest.len().to_string());
            assert!(head.body.is_empty());
        }
        let missing = c.call("GET", "/v2/team/app/manifests/v2", vec![]).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(missing.code(), "MANIFEST_UNKNOWN");

        // By digest, then an index over it.
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": DOCKER_MANIFEST_V2, "size": manifest.len(), "digest": digest}],
        }))
        .unwrap();
        let put = c
            .call_with(
                "PUT",
                "/v2/team/app/manifests/multi",
                &[("content-type", OCI_INDEX)],
                index,
            )
            .await;
        assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.body);

        let tags = c.call("GET", "/v2/team/app/tags/list", vec![]).await;
        assert_eq!(
            tags.json(),
            serde_json::json!({"name": "team/app", "tags": ["multi", "v1"]})
        );
        let page = c.call("GET", "/v2/team/app/tags/list?n=1", vec![]).await;
        assert_eq!(page.json()["tags"], serde_json::json!(["multi"]));
        assert_eq!(
            page.header("link"),
            "</v2/team/app/tags/list?n=1&last=multi>; rel=\"next\""
        );
        let next = c
            .call("GET", "/v2/team/app/tags/list?n=1&last=multi", vec![])
            .await;
        assert_eq!(next.json()["tags"], serde_json::json!(["v1"]));
        assert_eq!(next.header("link"), "");

        // Tag deletion keeps the image; digest deletion removes it.
        let del = c
            .call("DELETE", "/v2/team/app/manifests/multi", vec![])
            .await;
        assert_eq!(del.status, StatusCode::ACCEPTED);
        let del = c
            .call(
                "DELETE",
                &format!("/v2/team/app/manifests/{digest}"),
                vec![],
            )
            .await;
        assert_eq!(del.status, StatusCode::ACCEPTED);
        let gone = c.call("GET", "/v2/team/app/manifests/v1", vec![]).await;
        assert_eq!(gone.code(), "MANIFEST_UNKNOWN");
        let del = c
            .call(
                "DELETE",
                &format!("/v2/team/app/manifests/{digest}"),
                vec![],
            )
            .await;
        assert_eq!(del.status, StatusCode::NOT_FOUND);
        let blob_delete = c
            .call(
                "DELETE",
                &format!("/v2/team/app/blobs/{layer_digest}"),
                vec![],
            )
            .await;
        assert_eq!(blob_delete.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(blob_delete.code(), "UNSUPPORTED");
    }

    #[tokio::test]
    async fn upload_state_machine() {
        let c = client();
        c.fixture.create_repo("app", false);
        let started = c.call("POST", "/v2/app/blobs/uploads/", vec![]).await;
        assert_eq!(started.status, StatusCode::ACCEPTED);
        assert_eq!(started.header("range"), "0-0");
        let id = started.header("docker-upload-uuid").to_string();
        let location = started.header("location").to_string();
        assert_eq!(location, format!("/v2/app/blobs/uploads/{id}"));

        let a = c.call("PATCH", &location, b"hello ".to_vec()).await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
        assert_eq!(a.header("range"), "0-5");
        // Out of order.
        let a = c
            .call_with(
                "PATCH",
                &location,
                &[("content-range", "2-4")],
                b"xyz".to_vec(),
            )
            .await;
        assert_eq!(a.status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(a.code(), "RANGE_INVALID");
        assert_eq!(a.header("range"), "0-5");
        let a = c
            .call_with(
                "PATCH",
                &location,
                &[("content-range", "6-10")],
                b"world".to_vec(),
            )
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
        assert_eq!(a.header("range"), "0-10");
        let status = c.call("GET", &location, vec![]).await;
        assert_eq!(status.status, StatusCode::NO_CONTENT);
        assert_eq!(status.header("range"), "0-10");

        // The upload belongs to its repository.
        c.fixture.create_repo("other", false);
        let foreign = c
            .call("GET", &format!("/v2/other/blobs/uploads/{id}"), vec![])
            .await;
        assert_eq!(foreign.code(), "BLOB_UPLOAD_UNKNOWN");

        // Finishing needs a digest; a wrong one discards everything.
        let a = c.call("PUT", &location, vec![]).await;
        assert_eq!(a.code(), "DIGEST_INVALID");
        let wrong = sha256_digest(b"something else");
        let a = c
            .call("PUT", &format!("{location}?digest={wrong}"), vec![])
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert_eq!(a.code(), "DIGEST_INVALID");
        assert_eq!(
            c.call("GET", &location, vec![]).await.code(),
            "BLOB_UPLOAD_UNKNOWN"
        );
        assert!(c.fixture.ecr.blobs.list().unwrap().is_empty());
        let right = sha256_digest(b"hello world");
        let head = c
            .call("HEAD", &format!("/v2/app/blobs/{right}"), vec![])
            .await;
        assert_eq!(head.status, StatusCode::NOT_FOUND);

        // Cancel.
        let started = c.call("POST", "/v2/app/blobs/uploads", vec![]).await;
        let location = started.header("location").to_string();
        assert_eq!(
            c.call("DELETE", &location, vec![]).await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            c.call("DELETE", &location, vec![]).await.code(),
            "BLOB_UPLOAD_UNKNOWN"
        );
        assert_eq!(
            c.call(
                "PATCH",
                "/v2/app/blobs/uploads/not-an-upload",
                b"x".to_vec()
            )
            .await
            .code(),
            "BLOB_UPLOAD_UNKNOWN"
        );

        // Monolithic, then a mount into another repository.
        let data = b"monolithic blob".to_vec();
        let digest = sha256_digest(&data);
        let a = c
            .call(
                "POST",
                &format!("/v2/app/blobs/uploads/?digest={digest}"),
                data.clone(),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED);
        assert_eq!(a.header("location"), format!("/v2/app/blobs/{digest}"));
        let wrong = c
            .call(
                "POST",
                &format!("/v2/app/blobs/uploads/?digest={right}"),
                data.clone(),
            )
            .await;
        assert_eq!(wrong.code(), "DIGEST_INVALID");
        let mounted = c
            .call(
                "POST",
                &format!("/v2/other/blobs/uploads/?mount={digest}&from=app"),
                vec![],
            )
            .await;
        assert_eq!(mounted.status, StatusCode::CREATED);
        assert_eq!(mounted.header("docker-content-digest"), digest);
        // Unknown blob or source repository: a normal upload session instead.
        for query in [
            format!("mount={right}&from=app"),
            format!("mount={digest}&from=missing"),
        ] {
            let a = c
                .call("POST", &format!("/v2/other/blobs/uploads/?{query}"), vec![])
                .await;
            assert_eq!(a.status, StatusCode::ACCEPTED, "{query}");
            assert!(!a.header("docker-upload-uuid").is_empty());
        }
    }

    #[tokio::test]
    async fn refusals_use_registry_error_codes() {
        let c = client();
        c.fixture.create_repo("app", false);
        c.fixture.create_repo("locked", true);

        let a = c.call("POST", "/v2/missing/blobs/uploads/", vec![]).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::NOT_FOUND, "NAME_UNKNOWN")
        );
        let a = c
            .call("PUT", "/v2/missing/manifests/v1", b"{}".to_vec())
            .await;
        assert_eq!(a.code(), "NAME_UNKNOWN");
        let a = c.call("GET", "/v2/Bad_Name/tags/list", vec![]).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::BAD_REQUEST, "NAME_INVALID")
        );
        let a = c
            .call("PUT", "/v2/app/manifests/-bad", b"{}".to_vec())
            .await;
        assert_eq!(a.code(), "TAG_INVALID");
        let a = c.call("GET", "/v2/app/blobs/sha256:abc", vec![]).await;
        assert_eq!(a.code(), "DIGEST_INVALID");
        let a = c
            .call(
                "GET",
                &format!("/v2/app/blobs/sha512:{}", "a".repeat(128)),
                vec![],
            )
            .await;
        assert_eq!(a.code(), "DIGEST_INVALID");
        let a = c
            .call(
                "GET",
                &format!("/v2/app/blobs/{}", sha256_digest(b"none")),
                vec![],
            )
            .await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::NOT_FOUND, "BLOB_UNKNOWN")
        );
        let a = c.call("GET", "/v2/app/not/an/endpoint", vec![]).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        let a = c.call("POST", "/v2/app/manifests/v1", vec![]).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED")
        );

        // Manifests.
        let a = c
            .call("PUT", "/v2/app/manifests/v1", b"not json".to_vec())
            .await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::BAD_REQUEST, "MANIFEST_INVALID")
        );
        let huge = vec![b' '; MAX_MANIFEST_BYTES + 1];
        let a = c.call("PUT", "/v2/app/manifests/v1", huge).await;
        assert_eq!(a.code(), "MANIFEST_INVALID");
        let missing_layer = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": sha256_digest(b"{}")},
            "layers": [],
        }))
        .unwrap();
        let a = c.call("PUT", "/v2/app/manifests/v1", missing_layer).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN")
        );
        let locked = RepoRef::new(ACCOUNT, REGION, "locked");
        let good = image_manifest(&c.fixture.ecr, &locked, b"cfg", &[b"layer"]);
        let other = format!("sha256:{}", "1".repeat(64));
        let a = c
            .call("PUT", &format!("/v2/app/manifests/{other}"), good.clone())
            .await;
        assert_eq!(a.code(), "DIGEST_INVALID");

        // Immutable tags.
        let second = image_manifest(&c.fixture.ecr, &locked, b"cfg", &[b"another layer"]);
        let a = c.call("PUT", "/v2/locked/manifests/v1", good.clone()).await;
        assert_eq!(a.status, StatusCode::CREATED);
        let a = c.call("PUT", "/v2/locked/manifests/v1", second).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::BAD_REQUEST, "TAG_INVALID")
        );
        assert_eq!(
            a.json()["errors"][0]["message"],
            "The image tag 'v1' already exists in the 'locked' repository and cannot be overwritten because the repository is immutable."
        );
        let still = c.call("GET", "/v2/locked/manifests/v1", vec![]).await;
        assert_eq!(still.body.as_ref(), good.as_slice());
    }

    #[tokio::test]
    async fn catalog_pages_and_accounts_are_separate() {
        let c = client();
        for name in ["a-repo", "b/repo", "c-repo"] {
            c.fixture.create_repo(name, false);
        }
        let all = c.call("GET", "/v2/_catalog", vec![]).await;
        assert_eq!(
            all.json(),
            serde_json::json!({"repositories": ["a-repo", "b/repo", "c-repo"]})
        );
        let page = c.call("GET", "/v2/_catalog?n=2", vec![]).await;
        assert_eq!(
            page.json()["repositories"],
            serde_json::json!(["a-repo", "b/repo"])
        );
        assert_eq!(
            page.header("link"),
            "</v2/_catalog?n=2&last=b/repo>; rel=\"next\""
        );
        let rest = c.call("GET", "/v2/_catalog?n=2&last=b/repo", vec![]).await;
        assert_eq!(rest.json()["repositories"], serde_json::json!(["c-repo"]));
        let bad = c.call("GET", "/v2/_catalog?n=x", vec![]).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);

        // A token of another account sees none of them.
        let token = c
            .fixture
            .ecr
            .issue_token("999999999999", REGION, c.fixture.now())
            .unwrap();
        let auth = format!("Basic {}", token.token);
        let other = c
            .send("GET", "/v2/_catalog", &[("authorization", &auth)], vec![])
            .await;
        assert_eq!(other.json(), serde_json::json!({"repositories": []}));
        let other = c
            .send(
                "GET",
                "/v2/a-repo/tags/list",
                &[("authorization", &auth)],
                vec![],
            )
            .await;
        assert_eq!(other.code(), "NAME_UNKNOWN");
    }

    #[tokio::test]
    async fn a_repository_serves_only_the_blobs_it_holds() {
        use crate::generated::{CreateRepositoryRequest, EcrApi};
        let c = client();
        c.fixture.create_repo("repo-a", false);
        c.fixture.create_repo("repo-b", false);
        let a = RepoRef::new(ACCOUNT, REGION, "repo-a");
        let b = RepoRef::new(ACCOUNT, REGION, "repo-b");
        let layer = b"a's private layer".to_vec();
        let digest = c.upload("repo-a", &layer).await;
        let monolithic = b"a's monolithic layer".to_vec();
        let mono = sha256_digest(&monolithic);
        let posted = c
            .call(
                "POST",
                &format!("/v2/repo-a/blobs/uploads/?digest={mono}"),
                monolithic.clone(),
            )
            .await;
        assert_eq!(posted.status, StatusCode::CREATED);
        assert!(c.fixture.ecr.blob_linked(&a, &mono).unwrap());
        for d in [&digest, &mono] {
            for method in ["GET", "HEAD"] {
                let ok = c
                    .call(method, &format!("/v2/repo-a/blobs/{d}"), vec![])
                    .await;
                assert_eq!(ok.status, StatusCode::OK);
                let refused = c
                    .call(method, &format!("/v2/repo-b/blobs/{d}"), vec![])
                    .await;
                assert_eq!(refused.status, StatusCode::NOT_FOUND, "{method} {d}");
                if method == "GET" {
                    assert_eq!(refused.code(), "BLOB_UNKNOWN");
                }
            }
        }

        // Another account's repository of the same name: the same refusal.
        let other = "999999999999";
        let ctx = wharf_core::RequestContext::for_tests(REGION, other, c.fixture.now());
        c.fixture
            .ecr
            .create_repository(
                &ctx,
                CreateRepositoryRequest {
                    repository_name: "repo-a".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let token = c
            .fixture
            .ecr
            .issue_token(other, REGION, c.fixture.now())
            .unwrap();
        let auth = format!("Basic {}", token.token);
        let foreign = c
            .send(
                "GET",
                &format!("/v2/repo-a/blobs/{digest}"),
                &[("authorization", &auth)],
                vec![],
            )
            .await;
        assert_eq!(
            (foreign.status, foreign.code().as_str()),
            (StatusCode::NOT_FOUND, "BLOB_UNKNOWN")
        );
        // Nor can that account mount it from its own repo-a (which lacks it).
        let foreign = c
            .send(
                "POST",
                &format!("/v2/repo-a/blobs/uploads/?mount={digest}&from=repo-a"),
                &[("authorization", &auth)],
                vec![],
            )
            .await;
        assert_eq!(foreign.status, StatusCode::ACCEPTED);

        // A manifest in repo-b over repo-a's blobs is refused until they are mounted.
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "size": monolithic.len(), "digest": mono},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "size": layer.len(), "digest": digest}],
        }))
        .unwrap();
        let headers = [("content-type", OCI_MANIFEST)];
        let refused = c
            .call_with("PUT", "/v2/repo-b/manifests/v1", &headers, manifest.clone())
            .await;
        assert_eq!(
            (refused.status, refused.code().as_str()),
            (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN")
        );
        // A mount from a repository without the blob falls back to an upload session...
        c.fixture.create_repo("repo-c", false);
        let fallback = c
            .call(
                "POST",
                &format!("/v2/repo-b/blobs/uploads/?mount={digest}&from=repo-c"),
                vec![],
            )
            .await;
        assert_eq!(fallback.status, StatusCode::ACCEPTED);
        assert!(fallback
            .header("location")
            .starts_with("/v2/repo-b/blobs/uploads/"));
        let no_from = c
            .call(
                "POST",
                &format!("/v2/repo-b/blobs/uploads/?mount={digest}"),
                vec![],
            )
            .await;
        assert_eq!(no_from.status, StatusCode::ACCEPTED);
        assert!(!c.fixture.ecr.blob_linked(&b, &digest).unwrap());
        // ...and one from the repository holding it links it.
        for d in [&digest, &mono] {
            let mounted = c
                .call(
                    "POST",
                    &format!("/v2/repo-b/blobs/uploads/?mount={d}&from=repo-a"),
                    vec![],
                )
                .await;
            assert_eq!(mounted.status, StatusCode::CREATED);
        }
        assert_eq!(
            c.call("GET", &format!("/v2/repo-b/blobs/{digest}"), vec![])
                .await
                .body,
            layer
        );
        let pushed = c
            .call_with("PUT", "/v2/repo-b/manifests/v1", &headers, manifest)
            .await;
        assert_eq!(pushed.status, StatusCode::CREATED, "{:?}", pushed.body);
        // repo-c still holds nothing.
        let refused = c
            .call("HEAD", &format!("/v2/repo-c/blobs/{digest}"), vec![])
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn merges_beside_a_fallback_and_claims_only_v2() {
        let c = client();
        let app = Router::new()
            .fallback(|| async { (StatusCode::IM_A_TEAPOT, "aws api") })
            .merge(c.router.clone());
        for (path, teapot) in [
            ("/", true),
            ("/v2", false),
            ("/v2/", false),
            ("/v2x", true),
            ("/v3/", true),
            ("/v2/_catalog", false),
        ] {
            let request = http::Request::builder()
                .uri(path)
                .body(Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(
                response.status() == StatusCode::IM_A_TEAPOT,
                teapot,
                "{path}"
            );
        }
    }

    /// Writes an OCI image layout with `layers` (uncompressed tar media type; skopeo does
    /// not look inside) tagged `v1` under `dir`; returns the manifest bytes.
    fn oci_layout(dir: &std::path::Path, layers: &[Vec<u8>]) -> Vec<u8> {
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        let write = |bytes: &[u8]| {
            let digest = sha256_digest(bytes);
            std::fs::write(blobs.join(&digest[7..]), bytes).unwrap();
            digest
        };
        let diff_ids: Vec<String> = layers.iter().map(|l| sha256_digest(l)).collect();
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux", "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .unwrap();
        let layer_descriptors: Vec<_> = layers
            .iter()
            .map(|l| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": l.len(), "digest": write(l)}))
            .collect();
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": config.len(), "digest": write(&config)},
            "layers": layer_descriptors,
        }))
        .unwrap();
        let manifest_digest = write(&manifest);
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        std::fs::write(
            dir.join("index.json"),
            serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2,
                "manifests": [{"mediaType": OCI_MANIFEST, "size": manifest.len(), "digest": manifest_digest,
                               "annotations": {"org.opencontainers.image.ref.name": "v1"}}],
            }))
            .unwrap(),
        )
        .unwrap();
        manifest
    }

    fn skopeo(args: &[&str]) -> std::process::Output {
        let output = std::process::Command::new("skopeo")
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "skopeo {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// skopeo copies a multi-layer image in (OCI and converted to Docker schema 2), out, and
    /// inspects it by digest, against a real HTTP server.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs skopeo; run with cargo test -p wharf-ecr -- --ignored"]
    async fn skopeo_copies_in_and_out() {
        let c = client();
        c.fixture.create_repo("team/skopeo", false);
        let token = c
            .fixture
            .ecr
            .issue_token(ACCOUNT, REGION, c.fixture.now())
            .unwrap();
        let creds = format!("AWS:{}", token.password);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, c.router.clone()).await });

        let work = tempfile::tempdir().unwrap();
        let source = work.path().join("source");
        let layers: Vec<Vec<u8>> = (0..3u32)
            .map(|n| {
                (0..(1_500_000 + n * 700_000))
                    .map(|i| ((i * (n + 7)) % 253) as u8)
                    .collect()
            })
            .collect();
        let manifest = oci_layout(&source, &layers);
        let src = format!("oci:{}:v1", source.display());
        let out = work.path().join("out");
        let outs = format!("dir:{}", out.display());
        let (host2, creds2) = (host.clone(), creds.clone());
        tokio::task::spawn_blocking(move || {
            let dest = format!("docker://{host2}/team/skopeo:v1");
            skopeo(&[
                "copy",
                "--preserve-digests",
                "--dest-tls-verify=false",
                "--dest-creds",
                &creds2,
                &src,
                &dest,
            ]);
            let v2 = format!("docker://{host2}/team/skopeo:v2s2");
            skopeo(&[
                "copy",
                "--format",
                "v2s2",
                "--dest-tls-verify=false",
                "--dest-creds",
                &creds2,
                &src,
                &v2,
            ]);
            skopeo(&[
                "copy",
                "--src-tls-verify=false",
                "--src-creds",
                &creds2,
                &dest,
                &outs,
            ]);
            let raw = skopeo(&[
                "inspect",
                "--raw",
                "--tls-verify=false",
                "--creds",
                &creds2,
                &dest,
            ])
            .stdout;
            let digest = sha256_digest(&raw);
            let by_digest = format!("docker://{host2}/team/skopeo@{digest}");
            skopeo(&[
                "inspect",
                "--tls-verify=false",
                "--creds",
                &creds2,
                &by_digest,
            ]);
            let tags = skopeo(&[
                "list-tags",
                "--tls-verify=false",
                "--creds",
                &creds2,
                &format!("docker://{host2}/team/skopeo"),
            ])
            .stdout;
            let tags: serde_json::Value = serde_json::from_slice(&tags).unwrap();
            assert_eq!(tags["Tags"], serde_json::json!(["v1", "v2s2"]));
            // Wrong credentials are refused.
            let denied = std::process::Command::new("skopeo")
                .args([
                    "inspect",
                    "--tls-verify=false",
                    "--creds",
                    "AWS:wrong",
                    &dest,
                ])
                .output()
                .unwrap();
            assert!(!denied.status.success());
            raw
        })
        .await
        .map(|raw| assert_eq!(raw, manifest))
        .unwrap();
        for layer in &layers {
            let copied = std::fs::read(out.join(&sha256_digest(layer)[7..])).unwrap();
            assert_eq!(&copied, layer);
        }
        let stored = c
            .fixture
            .ecr
            .resolve_reference(&RepoRef::new(ACCOUNT, REGION, "team/skopeo"), "v2s2")
            .unwrap()
            .unwrap();
        assert_eq!(stored.1, DOCKER_MANIFEST_V2);
    }

    fn docker_output(
        config: &std::path::Path,
        args: &[&str],
        stdin: Option<&str>,
    ) -> std::process::Output {
        use std::io::Write as _;
        let mut child = std::process::Command::new("docker")
            .env("DOCKER_CONFIG", config)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    fn docker(config: &std::path::Path, args: &[&str], stdin: Option<&str>) -> String {
        let output = docker_output(config, args, stdin);
        assert!(
            output.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Docker Engine logs in with an ECR token, pushes a two-layer image (layers shared with a
    /// second tag and a second repository), pulls it back by tag and by digest.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs a Docker Engine; run with cargo test -p wharf-ecr -- --ignored"]
    async fn docker_pushes_and_pulls() {
        let c = client();
        c.fixture.create_repo("team/docker", false);
        c.fixture.create_repo("team/copy", false);
        let token = c
            .fixture
            .ecr
            .issue_token(ACCOUNT, REGION, c.fixture.now())
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, c.router.clone()).await });

        let work = tempfile::tempdir().unwrap();
        let (config, context) = (work.path().join("config"), work.path().join("context"));
        std::fs::create_dir_all(&config).unwrap();
        std::fs::create_dir_all(&context).unwrap();
        let big: Vec<u8> = (0..3_000_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        std::fs::write(context.join("big"), &big).unwrap();
        std::fs::write(context.join("small"), b"hello from wharf").unwrap();
        std::fs::write(
            context.join("Dockerfile"),
            "FROM scratch\nCOPY big /big\nCOPY small /small\n",
        )
        .unwrap();
        let password = token.password.clone();
        tokio::task::spawn_blocking(move || {
            let image = format!("{host}/team/docker:v1");
            let again = format!("{host}/team/docker:git-abc123");
            let copy = format!("{host}/team/copy:v1");
            let bad = docker_output(
                &config,
                &["login", "--username", "AWS", "--password-stdin", &host],
                Some("wrong"),
            );
            assert!(!bad.status.success());
            docker(
                &config,
                &["login", "--username", "AWS", "--password-stdin", &host],
                Some(&password),
            );
            docker(
                &config,
                &["build", "-q", "-t", &image, &context.display().to_string()],
                None,
            );
            docker(&config, &["tag", &image, &again], None);
            docker(&config, &["tag", &image, &copy], None);
            let pushed = docker(&config, &["push", &image], None);
            docker(&config, &["push", &again], None);
            docker(&config, &["push", &copy], None);
            let digest = pushed
                .split_whitespace()
                .find(|w| w.starts_with("sha256:"))
                .unwrap()
                .to_string();
            docker(&config, &["rmi", &image, &again, &copy], None);
            docker(&config, &["pull", &image], None);
            let by_digest = format!("{host}/team/docker@{digest}");
            docker(&config, &["pull", &by_digest], None);
            // Clean-up only: removing one reference may already have removed the other.
            docker_output(&config, &["rmi", &image], None);
            docker_output(&config, &["rmi", &by_digest], None);
            docker(&config, &["logout", &host], None);
        })
        .await
        .unwrap();
    }
}
