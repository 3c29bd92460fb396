//! Server-side AWS Signature Version 4 verification. Every request the AWS CLI, boto3 or an SDK
//! sends is signed with SigV4; this module decides whether such a request was signed with the
//! secret of the access key it names, the way AWS itself decides. It owns parsing the
//! `Authorization` header (or the presigned `X-Amz-*` query parameters), rebuilding the canonical
//! request from the client's `SignedHeaders` list, deriving the signing key (with a small
//! bounded cache), the constant-time signature comparison and AWS's clock-skew and expiry rules.
//! It is pure: no I/O and no clock reads — the caller passes the secret and the current time —
//! and it never panics on any input. Looking the secret up and mapping [`SigV4Error`] to an AWS
//! error code and HTTP status are the caller's job.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The only signing algorithm SigV4 defines.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Last element of every credential scope.
const TERMINATOR: &str = "aws4_request";
/// AWS refuses requests whose date is further than this from the server's clock.
const MAX_SKEW_MILLIS: i64 = 5 * 60 * 1000;
/// AWS's upper bound for `X-Amz-Expires` (one week).
const MAX_PRESIGN_EXPIRES_SECS: u64 = 604_800;
/// Payload hash S3 presigned URLs sign instead of a body digest.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `X-Amz-Date` layout: ISO 8601 basic format in UTC.
const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// The signing-key cache is cleared when it would grow past this many entries.
const CACHE_LIMIT: usize = 1024;
/// Longest excerpt of client-supplied text quoted back in an error message.
const MAX_ECHO_CHARS: usize = 100;

/// What the request carries, borrowed from the HTTP request.
#[derive(Clone, Copy)]
pub struct RequestParts<'a> {
    /// HTTP method as received, e.g. `POST`.
    pub method: &'a str,
    /// Raw path as received, e.g. `/` or `/v2/foo%2Fbar/`.
    pub path: &'a str,
    /// Raw query string without `?`; may be empty.
    pub query: &'a str,
    /// All request headers; HTTP/2 callers must insert `host` from `:authority`.
    pub headers: &'a http::HeaderMap,
    /// The complete request body (S3 chunked `STREAMING-*` payloads are not verified here).
    pub body: &'a [u8],
}

/// The parsed `Credential=` scope and signature of a SigV4 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuth {
    /// Access key id named in the credential scope; the caller looks its secret up.
    pub access_key_id: String,
    /// Scope date, `YYYYMMDD`.
    pub date: String,
    /// Signing region; whatever the client's `--region` said.
    pub region: String,
    /// Signing service name (`ecs`, `iam`, `s3`, ...); route on this, not on `Action`.
    pub service: String,
    /// Lower-cased header names from `SignedHeaders`, in the client's order.
    pub signed_headers: Vec<String>,
    /// Hex signature the client sent.
    pub signature: String,
    /// Request time, `YYYYMMDDTHHMMSSZ` (from `X-Amz-Date`, or converted from `Date`).
    pub amz_date: String,
    /// True when the signature came from query parameters (a presigned URL).
    pub presigned: bool,
    /// `X-Amz-Expires` of a presigned URL, in seconds.
    pub expires_secs: Option<u64>,
}

/// Why a request's SigV4 authentication was refused; the messages are AWS's wording.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigV4Error {
    /// AWS `MissingAuthenticationToken`: neither an `Authorization` header nor presigned
    /// query parameters.
    #[error("Missing Authentication Token")]
    MissingAuthentication,
    /// AWS `IncompleteSignature`: the authorization data is malformed; the message names what.
    #[error("{0}")]
    IncompleteSignature(String),
    /// AWS `SignatureDoesNotMatch`: well-formed, but not signed with this secret.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureDoesNotMatch,
    /// AWS `RequestExpired`: the request date is outside the allowed clock skew, or a presigned
    /// URL has expired.
    #[error("{0}")]
    RequestExpired(String),
    /// The request date could not be parsed.
    #[error("{0}")]
    InvalidDate(String),
}

/// Parses the SigV4 authorization data of a request: the `Authorization` header if present,
/// else the presigned `X-Amz-*` query parameters. The request date comes from the `X-Amz-Date`
/// header, else the `Date` header (RFC 1123), else the `X-Amz-Date` query parameter; a
/// presigned URL always uses its `X-Amz-Date` parameter.
pub fn parse(req: &RequestParts) -> Result<ParsedAuth, SigV4Error> {
    let mut authorization = req.headers.get_all(http::header::AUTHORIZATION).iter();
    if let Some(value) = authorization.next() {
        if authorization.next().is_some() {
            return Err(incomplete("Only one Authorization header may be sent."));
        }
        let text = value.to_str().map_err(|_| {
            incomplete("Authorization header contains characters that are not visible ASCII.")
        })?;
        return parse_header(text, req);
    }
    let params = decoded_query(req.query);
    let is_presigned = params.iter().any(|(name, _)| {
        matches!(
            name.as_str(),
            "X-Amz-Algorithm" | "X-Amz-Credential" | "X-Amz-Signature"
        )
    });
    if !is_presigned {
        return Err(SigV4Error::MissingAuthentication);
    }
    parse_presigned(&params)
}

/// Verifies a request parsed by [`parse`] against `secret_access_key`: the clock-skew or
/// presigned-expiry rule at `now_epoch_millis`, then the signature (compared in constant time).
pub fn verify(
    req: &RequestParts,
    auth: &ParsedAuth,
    secret_access_key: &str,
    now_epoch_millis: i64,
) -> Result<(), SigV4Error> {
    check_scope_date(&auth.date, &auth.amz_date)?;
    check_time(auth, now_epoch_millis)?;
    let key = signing_key(secret_access_key, &auth.date, &auth.region, &auth.service)
        .ok_or(SigV4Error::SignatureDoesNotMatch)?;
    check_signature(req, auth, &key)
}

/// Derived signing keys keyed by (secret, date, region, service), so a busy client costs one
/// HMAC per request instead of five. Thread-safe; cleared whenever it would exceed 1024 entries.
pub struct SigningKeyCache {
    keys: Mutex<KeyMap>,
}

/// (secret, scope date, region, service) -> `kSigning`.
type KeyMap = HashMap<(String, String, String, String), [u8; 32]>;

impl SigningKeyCache {
    /// An empty cache.
    pub fn new() -> Self {
        SigningKeyCache {
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Same as [`verify`], but reuses signing keys derived for earlier requests.
    pub fn verify(
        &self,
        req: &RequestParts,
        auth: &ParsedAuth,
        secret_access_key: &str,
        now_epoch_millis: i64,
    ) -> Result<(), SigV4Error> {
        check_scope_date(&auth.date, &auth.amz_date)?;
        check_time(auth, now_epoch_millis)?;
        let key = self
            .key_for(secret_access_key, &auth.date, &auth.region, &auth.service)
            .ok_or(SigV4Error::SignatureDoesNotMatch)?;
        check_signature(req, auth, &key)
    }

    fn key_for(&self, secret: &str, date: &str, region: &str, service: &str) -> Option<[u8; 32]> {
        let id = (
            secret.to_string(),
            date.to_string(),
            region.to_string(),
            service.to_string(),
        );
        if let Some(key) = self.lock().get(&id) {
            return Some(*key);
        }
        let key = signing_key(secret, date, region, service)?;
        let mut keys = self.lock();
        if keys.len() >= CACHE_LIMIT {
            keys.clear();
        }
        keys.insert(id, key);
        Some(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeyMap> {
        // The map holds only pure derived values, so a panic elsewhere cannot leave it torn.
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SigningKeyCache {
    // Never print the secrets the keys are indexed by.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("entries", &self.lock().len())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

fn incomplete(message: impl Into<String>) -> SigV4Error {
    SigV4Error::IncompleteSignature(message.into())
}

/// At most [`MAX_ECHO_CHARS`] characters of client input, for quoting in messages.
fn echo(text: &str) -> String {
    text.chars().take(MAX_ECHO_CHARS).collect()
}

fn parse_header(text: &str, req: &RequestParts) -> Result<ParsedAuth, SigV4Error> {
    let text = text.trim();
    let (algorithm, rest) = text
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((text, ""));
    if algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{}'; only '{ALGORITHM}' is accepted.",
            echo(algorithm)
        )));
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((name, value)) = part.split_once('=') else {
            return Err(incomplete(format!(
                "'{}' not a valid key=value pair (missing equal-sign) in Authorization header.",
                echo(part)
            )));
        };
        let slot = match name.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value.trim());
        }
    }

    let amz_date = header_date(req)?;
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_none() {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if signed_headers.is_none() {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    if amz_date.is_none() {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        );
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some(amz_date)) =
        (credential, signed_headers, signature, amz_date)
    else {
        return Err(incomplete(missing.join(" ")));
    };

    finish(credential, signed_headers, signature, amz_date, false, None)
}

/// The request date from the `X-Amz-Date` header, the `Date` header or the `X-Amz-Date` query
/// parameter, in that order, as `YYYYMMDDTHHMMSSZ`; `None` when there is none.
fn header_date(req: &RequestParts) -> Result<Option<String>, SigV4Error> {
    if let Some(value) = req.headers.get("x-amz-date") {
        let text = value.to_str().unwrap_or("");
        return amz_date(text, "X-Amz-Date header").map(Some);
    }
    if let Some(value) = req.headers.get(http::header::DATE) {
        let text = value.to_str().unwrap_or("");
        return match DateTime::parse_from_rfc2822(text.trim()) {
            Ok(date) => Ok(Some(
                date.with_timezone(&Utc).format(AMZ_DATE_FORMAT).to_string(),
            )),
            Err(_) => Err(SigV4Error::InvalidDate(format!(
                "Date header must be an RFC 1123 date such as 'Fri, 17 May 2024 09:30:00 GMT', got '{}'.",
                echo(text)
            ))),
        };
    }
    let query_date = decoded_query(req.query)
        .into_iter()
        .find(|(name, _)| name == "X-Amz-Date");
    match query_date {
        Some((_, value)) => amz_date(&value, "X-Amz-Date parameter").map(Some),
        None => Ok(None),
    }
}

/// Checks that `text` is an `X-Amz-Date` value and returns it.
fn amz_date(text: &str, what: &str) -> Result<String, SigV4Error> {
    if parse_amz_date(text).is_some() {
        Ok(text.to_string())
    } else {
        Err(SigV4Error::InvalidDate(format!(
            "{what} must be in ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z', got '{}'.",
            echo(text)
        )))
    }
}

/// Parses `YYYYMMDDTHHMMSSZ` strictly (exact length and layout).
fn parse_amz_date(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 16
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 => *b == b'T',
            15 => *b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    NaiveDateTime::parse_from_str(text, AMZ_DATE_FORMAT)
        .ok()
        .map(|naive| naive.and_utc())
}

fn parse_presigned(params: &[(String, String)]) -> Result<ParsedAuth, SigV4Error> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let required = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ];
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|name| get(name).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(incomplete(format!(
            "Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, \
             X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature parameters; missing {}.",
            missing.join(", ")
        )));
    }
    let algorithm = get("X-Amz-Algorithm").unwrap_or("");
    if algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{}'; only '{ALGORITHM}' is accepted.",
            echo(algorithm)
        )));
    }
    let date = amz_date(get("X-Amz-Date").unwrap_or(""), "X-Amz-Date parameter")?;
    let expires = match get("X-Amz-Expires") {
        None => None,
        Some(text) => match text.parse::<u64>() {
            Ok(secs) if secs <= MAX_PRESIGN_EXPIRES_SECS => Some(secs),
            Ok(_) => {
                return Err(incomplete(format!(
                    "X-Amz-Expires must be less than a week (in seconds) that is \
                     {MAX_PRESIGN_EXPIRES_SECS}, got '{}'.",
                    echo(text)
                )))
            }
            Err(_) => {
                return Err(incomplete(format!(
                    "X-Amz-Expires should be a number of seconds, got '{}'.",
                    echo(text)
                )))
            }
        },
    };
    finish(
        get("X-Amz-Credential").unwrap_or(""),
        get("X-Amz-SignedHeaders").unwrap_or(""),
        get("X-Amz-Signature").unwrap_or(""),
        date,
        true,
        expires,
    )
}

/// Validates the credential scope and signed-header list shared by both forms.
fn finish(
    credential: &str,
    signed_headers: &str,
    signature: &str,
    amz_date: String,
    presigned: bool,
    expires_secs: Option<u64>,
) -> Result<ParsedAuth, SigV4Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got '{}'.",
            echo(credential)
        )));
    };
    if *terminator != TERMINATOR {
        return Err(incomplete(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'.",
            echo(terminator)
        )));
    }
    if access_key_id.is_empty() {
        return Err(incomplete("Credential must name an access key id."));
    }
    if region.is_empty() {
        return Err(incomplete(
            "Credential should be scoped to a valid region, not ''.",
        ));
    }
    if service.is_empty() {
        return Err(incomplete(
            "Credential should be scoped to a valid service, not ''.",
        ));
    }
    check_scope_date(date, &amz_date)?;

    let signed_headers: Vec<String> = signed_headers
        .split(';')
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    if !signed_headers.iter().any(|name| name == "host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }

    Ok(ParsedAuth {
        access_key_id: access_key_id.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers,
        signature: signature.to_string(),
        amz_date,
        presigned,
        expires_secs,
    })
}

/// The scope date must be the day of the request date.
fn check_scope_date(date: &str, amz_date: &str) -> Result<(), SigV4Error> {
    if amz_date.get(..8) == Some(date) {
        return Ok(());
    }
    Err(incomplete(format!(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
         HTTP: '{}' != '{}', from '{}'.",
        echo(date),
        echo(amz_date.get(..8).unwrap_or(amz_date)),
        echo(amz_date)
    )))
}

// ---------------------------------------------------------------------------------------------
// Time

/// `YYYYMMDDTHHMMSSZ` for an epoch-millisecond instant (the raw number if out of range).
fn format_millis(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .map(|date| date.format(AMZ_DATE_FORMAT).to_string())
        .unwrap_or_else(|| millis.to_string())
}

/// AWS's rules: a header-signed request must be dated within 5 minutes of `now`; a presigned URL
/// may not be dated more than 5 minutes ahead and expires `X-Amz-Expires` seconds after its date.
fn check_time(auth: &ParsedAuth, now: i64) -> Result<(), SigV4Error> {
    let Some(date) = parse_amz_date(&auth.amz_date) else {
        return Err(SigV4Error::InvalidDate(format!(
            "X-Amz-Date must be in ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z', got '{}'.",
            echo(&auth.amz_date)
        )));
    };
    let signed_at = date.timestamp_millis();
    let latest = now.saturating_add(MAX_SKEW_MILLIS);
    if signed_at > latest {
        return Err(SigV4Error::RequestExpired(format!(
            "Signature not yet current: {} is still later than {} ({} + 5 min.)",
            auth.amz_date,
            format_millis(latest),
            format_millis(now)
        )));
    }
    match (auth.presigned, auth.expires_secs) {
        (true, Some(expires)) => {
            let valid_until = i64::try_from(expires)
                .ok()
                .and_then(|secs| secs.checked_mul(1000))
                .and_then(|millis| signed_at.checked_add(millis))
                .unwrap_or(i64::MAX);
            if now > valid_until {
                return Err(SigV4Error::RequestExpired(format!(
                    "Request has expired: {} + {expires} s (X-Amz-Expires) is {}, earlier than {}.",
                    auth.amz_date,
                    format_millis(valid_until),
                    format_millis(now)
                )));
            }
        }
        _ => {
            let earliest = now.saturating_sub(MAX_SKEW_MILLIS);
            if signed_at < earliest {
                return Err(SigV4Error::RequestExpired(format!(
                    "Signature expired: {} is now earlier than {} ({} - 5 min.)",
                    auth.amz_date,
                    format_millis(earliest),
                    format_millis(now)
                )));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Signing

fn hmac_sha256(key: &[u8], data: &[u8]) -> Option<[u8; 32]> {
    // HMAC accepts keys of any length, so this never fails in practice.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(data);
    Some(mac.finalize().into_bytes().into())
}

/// `kSigning`: HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request".
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Option<[u8; 32]> {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes())?;
    let k_region = hmac_sha256(&k_date, region.as_bytes())?;
    let k_service = hmac_sha256(&k_region, service.as_bytes())?;
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

fn check_signature(
    req: &RequestParts,
    auth: &ParsedAuth,
    key: &[u8; 32],
) -> Result<(), SigV4Error> {
    let canonical = canonical_request(req, auth);
    let string_to_sign = string_to_sign(auth, &canonical);
    let expected = hmac_sha256(key, string_to_sign.as_bytes())
        .map(hex::encode)
        .ok_or(SigV4Error::SignatureDoesNotMatch)?;
    if !bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        return Err(SigV4Error::SignatureDoesNotMatch);
    }
    // A signed `x-amz-content-sha256` digest only protects the body if the body matches it.
    if let Some(claimed) = req.headers.get("x-amz-content-sha256") {
        let claimed = claimed.as_bytes();
        let is_digest = claimed.len() == 64 && claimed.iter().all(u8::is_ascii_hexdigit);
        if is_digest
            && !claimed.eq_ignore_ascii_case(hex::encode(Sha256::digest(req.body)).as_bytes())
        {
            return Err(SigV4Error::SignatureDoesNotMatch);
        }
    }
    Ok(())
}

fn string_to_sign(auth: &ParsedAuth, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}/{}/{}/{TERMINATOR}\n{}",
        auth.amz_date,
        auth.date,
        auth.region,
        auth.service,
        hex::encode(Sha256::digest(canonical_request))
    )
}

/// METHOD \n URI \n query \n headers \n signed headers \n payload hash, as bytes (header values
/// need not be UTF-8).
fn canonical_request(req: &RequestParts, auth: &ParsedAuth) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + req.path.len() + req.query.len());
    out.extend_from_slice(req.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(req.path, &auth.service).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(req.query, auth.presigned).as_bytes());
    out.push(b'\n');
    for name in &auth.signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, value) in req.headers.get_all(name.as_str()).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_trimmed(&mut out, value.as_bytes());
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(auth.signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&payload_hash(req, auth));
    out
}

/// The `x-amz-content-sha256` header if sent; else `UNSIGNED-PAYLOAD` for an S3 presigned URL;
/// else the body's hex SHA-256 (botocore and the Go SDK hash the body of other services'
/// presigned requests too).
fn payload_hash(req: &RequestParts, auth: &ParsedAuth) -> Vec<u8> {
    if let Some(value) = req.headers.get("x-amz-content-sha256") {
        return value.as_bytes().to_vec();
    }
    if auth.presigned && auth.service == "s3" {
        return UNSIGNED_PAYLOAD.as_bytes().to_vec();
    }
    hex::encode(Sha256::digest(req.body)).into_bytes()
}

/// Appends a header value trimmed, with each inner run of spaces and tabs folded to one space.
fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let mut words = value
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|word| !word.is_empty());
    if let Some(first) = words.next() {
        out.extend_from_slice(first);
    }
    for word in words {
        out.push(b' ');
        out.extend_from_slice(word);
    }
}

/// S3 signs the path as sent; every other service signs each segment encoded once more.
fn canonical_uri(path: &str, service: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    if service == "s3" {
        return path.to_string();
    }
    path.split('/')
        .map(|segment| uri_encode(segment.as_bytes()))
        .collect::<Vec<_>>()
        .join("/")
}

/// Pairs decoded then re-encoded with the RFC 3986 unreserved set and sorted by name, then
/// value; a presigned URL's own `X-Amz-Signature` is left out.
fn canonical_query(query: &str, presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_pieces(query)
        .map(|(name, value)| {
            (
                uri_encode(&percent_decode(name)),
                uri_encode(&percent_decode(value)),
            )
        })
        .filter(|(name, _)| !(presigned && name == "X-Amz-Signature"))
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len() + 8);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Raw `name=value` pieces of a query string; empty pieces are skipped, a bare name has an empty
/// value.
fn query_pieces(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| piece.split_once('=').unwrap_or((piece, "")))
}

/// Query parameters decoded to text (invalid UTF-8 replaced), for reading `X-Amz-*` values.
fn decoded_query(query: &str) -> Vec<(String, String)> {
    query_pieces(query)
        .map(|(name, value)| {
            (
                String::from_utf8_lossy(&percent_decode(name)).into_owned(),
                String::from_utf8_lossy(&percent_decode(value)).into_owned(),
            )
        })
        .collect()
}

/// Decodes `%XX` escapes and, as form and URL parsers do, `+` as a space. A `%` not followed
/// by two hex digits is kept literally.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let high = bytes.get(i + 1).and_then(|h| hex_value(*h));
                let low = bytes.get(i + 2).and_then(|l| hex_value(*l));
                if let (Some(high), Some(low)) = (high, low) {
                    out.push((high << 4) | low);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// SigV4's URI encoding: `A-Za-z0-9-_.~` kept, every other byte as `%XX` (upper-case hex).
fn uri_encode(bytes: &[u8]) -> String {
    wharf_core::text::percent_encode(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::header::{HeaderName, HeaderValue};
    use http::HeaderMap;

    /// The aws-sig-v4-test-suite's credentials and time (2015-08-30T12:36:00Z).
    const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SUITE_NOW: i64 = 1_440_938_160_000;
    /// Credentials and time of the botocore-signed vectors (2024-05-17T09:30:00Z).
    const BOTO_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const BOTO_NOW: i64 = 1_715_938_200_000;
    /// Credentials and time used with the test-only signer.
    const AK: &str = "AKIAWHARFTEST";
    const SECRET: &str = "test/secret+key";
    const DATE: &str = "20240101T000000Z";
    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// An owned request, so tests can tamper with any part.
    #[derive(Clone)]
    struct Req {
        method: String,
        path: String,
        query: String,
        headers: HeaderMap,
        body: Vec<u8>,
    }

    impl Req {
        fn new(
            method: &str,
            path: &str,
            query: &str,
            headers: &[(&str, &str)],
            body: &[u8],
        ) -> Req {
            let mut map = HeaderMap::new();
            for (name, value) in headers {
                map.append(
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                );
            }
            Req {
                method: method.into(),
                path: path.into(),
                query: query.into(),
                headers: map,
                body: body.to_vec(),
            }
        }

        fn parts(&self) -> RequestParts<'_> {
            RequestParts {
                method: &self.method,
                path: &self.path,
                query: &self.query,
                headers: &self.headers,
                body: &self.body,
            }
        }

        fn set(&mut self, name: &str, value: &str) {
            self.headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
    }

    /// Parses and verifies `req` with both [`verify`] and a fresh and a warm
    /// [`SigningKeyCache`], asserting all three agree.
    fn check(req: &Req, secret: &str, now: i64) -> Result<(), SigV4Error> {
        let parts = req.parts();
        let auth = parse(&parts)?;
        let plain = verify(&parts, &auth, secret, now);
        let cache = SigningKeyCache::new();
        assert_eq!(
            cache.verify(&parts, &auth, secret, now),
            plain,
            "cold cache"
        );
        assert_eq!(
            cache.verify(&parts, &auth, secret, now),
            plain,
            "warm cache"
        );
        plain
    }

    fn millis(amz_date: &str) -> i64 {
        NaiveDateTime::parse_from_str(amz_date, AMZ_DATE_FORMAT)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    fn mac(key: &[u8], data: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A test-only SigV4 signer written independently of the verifier: it signs every header
    /// present, takes the payload hash from `x-amz-content-sha256` when set, assumes the path holds only unreserved characters and `%XX` escapes, and the
    /// query is already in canonical encoding (only its order is canonicalised).
    fn sign(req: &mut Req, region: &str, service: &str, amz_date: &str, secret: &str) {
        req.headers.remove("authorization");
        req.set("x-amz-date", amz_date);
        let mut names: Vec<String> = req.headers.keys().map(|k| k.to_string()).collect();
        names.sort();
        let mut canonical_headers = String::new();
        for name in &names {
            let values: Vec<String> = req
                .headers
                .get_all(name)
                .iter()
                .map(|v| {
                    v.to_str()
                        .unwrap()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            canonical_headers += &format!("{name}:{}\n", values.join(","));
        }
        let signed_headers = names.join(";");
        let uri = if service == "s3" {
            req.path.clone()
        } else {
            req.path.replace('%', "%25")
        };
        let mut query: Vec<(&str, &str)> = req
            .query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect();
        query.sort();
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let payload = match req.headers.get("x-amz-content-sha256") {
            Some(value) => value.to_str().unwrap().to_string(),
            None => hex::encode(Sha256::digest(&req.body)),
        };
        let canonical = format!(
            "{}\n{uri}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
            req.method,
            query.join("&"),
            payload
        );
        let day = &amz_date[..8];
        let scope = format!("{day}/{region}/{service}/aws4_request");
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let key = mac(format!("AWS4{secret}").as_bytes(), day);
        let key = mac(&key, region);
        let key = mac(&key, service);
        let key = mac(&key, "aws4_request");
        let signature = hex::encode(mac(&key, &string_to_sign));
        req.set(
            "authorization",
            &format!(
                "AWS4-HMAC-SHA256 Credential={AK}/{scope}, SignedHeaders={signed_headers}, \
                 Signature={signature}"
            ),
        );
    }

    /// A JSON 1.1 request to ECS signed by the test signer at [`DATE`].
    fn ecs_request() -> Req {
        let mut req = Req::new(
            "POST",
            "/",
            "",
            &[
                ("host", "wharf.local:4566"),
                ("content-type", "application/x-amz-json-1.1"),
                (
                    "x-amz-target",
                    "AmazonEC2ContainerServiceV20141113.ListClusters",
                ),
            ],
            br#"{"maxResults":10}"#,
        );
        sign(&mut req, "us-east-1", "ecs", DATE, SECRET);
        req
    }

    fn suite_request(
        method: &str,
        query: &str,
        extra: &[(&str, &str)],
        body: &[u8],
        sig: &str,
    ) -> Req {
        let signed = if extra.is_empty() {
            "host;x-amz-date"
        } else {
            "content-type;host;x-amz-date"
        };
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders={signed}, Signature={sig}"
        );
        let mut headers = vec![
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
            ("authorization", auth.as_str()),
        ];
        headers.extend_from_slice(extra);
        Req::new(method, "/", query, &headers, body)
    }

    // --- AWS's published aws-sig-v4-test-suite vectors -----------------------------------------

    #[test]
    fn aws_suite_get_vanilla() {
        let req = suite_request(
            "GET",
            "",
            &[],
            b"",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        );
        let auth = parse(&req.parts()).unwrap();
        assert_eq!(
            auth,
            ParsedAuth {
                access_key_id: "AKIDEXAMPLE".into(),
                date: "20150830".into(),
                region: "us-east-1".into(),
                service: "service".into(),
                signed_headers: vec!["host".into(), "x-amz-date".into()],
                signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
                    .into(),
                amz_date: "20150830T123600Z".into(),
                presigned: false,
                expires_secs: None,
            }
        );
        let canonical = canonical_request(&req.parts(), &auth);
        assert_eq!(
            String::from_utf8(canonical.clone()).unwrap(),
            format!(
                "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
                 host;x-amz-date\n{EMPTY_SHA256}"
            )
        );
        assert!(string_to_sign(&auth, &canonical)
            .ends_with("\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"));
        assert_eq!(check(&req, SUITE_SECRET, SUITE_NOW), Ok(()));
        assert_eq!(
            check(&req, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEX", SUITE_NOW),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
    }

    #[test]
    fn aws_suite_get_vanilla_query_order_key_case() {
        let req = suite_request(
            "GET",
            "Param2=value2&Param1=value1",
            &[],
            b"",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        );
        assert_eq!(
            canonical_query(&req.query, false),
            "Param1=value1&Param2=value2"
        );
        assert_eq!(check(&req, SUITE_SECRET, SUITE_NOW), Ok(()));
    }

    #[test]
    fn aws_suite_post_x_www_form_urlencoded() {
        let req = suite_request(
            "POST",
            "",
            &[("content-type", "application/x-www-form-urlencoded")],
            b"Param1=value1",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        );
        let auth = parse(&req.parts()).unwrap();
        assert_eq!(
            String::from_utf8(canonical_request(&req.parts(), &auth)).unwrap(),
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n\
             host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             content-type;host;x-amz-date\n\
             9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        );
        assert_eq!(check(&req, SUITE_SECRET, SUITE_NOW), Ok(()));
    }

    // --- Requests signed by botocore 1.43.11 (SigV4Auth / SigV4QueryAuth / S3SigV4QueryAuth),
    // access key AKIAIOSFODNN7EXAMPLE, clock pinned to 2024-05-17T09:30:00Z -------------------

    #[test]
    fn botocore_ecs_json() {
        let req = Req::new(
            "POST",
            "/",
            "",
            &[
                ("host", "localhost:4566"),
                ("x-amz-target", "AmazonEC2ContainerServiceV20141113.ListClusters"),
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-date", "20240517T093000Z"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240517/us-east-1/ecs/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
                     Signature=37547bcc27df628211b68f19edae8450794bd54611ece548822f776e2e5e7b3a",
                ),
                ("content-length", "18"),
            ],
            br#"{"maxResults": 10}"#,
        );
        let auth = parse(&req.parts()).unwrap();
        assert_eq!(
            (auth.service.as_str(), auth.region.as_str()),
            ("ecs", "us-east-1")
        );
        assert_eq!(auth.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(check(&req, BOTO_SECRET, BOTO_NOW), Ok(()));
        let mut tampered = req.clone();
        tampered.body = br#"{"maxResults": 11}"#.to_vec();
        assert_eq!(
            check(&tampered, BOTO_SECRET, BOTO_NOW),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
    }

    #[test]
    fn botocore_iam_form() {
        let req = Req::new(
            "POST",
            "/",
            "",
            &[
                ("host", "localhost:4566"),
                ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
                ("x-amz-date", "20240517T093000Z"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240517/us-east-1/iam/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-date, \
                     Signature=6eb05c44fba911de43b2a0ed60b98e01fcfdf3571ddd691ef0f5b22762948456",
                ),
                ("content-length", "56"),
            ],
            b"Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fdev%2F",
        );
        assert_eq!(check(&req, BOTO_SECRET, BOTO_NOW), Ok(()));
    }

    #[test]
    fn botocore_double_encoded_path() {
        // botocore's canonical URI here is /v2/foo%252Fbar/blobs/uploads/.
        let req = Req::new(
            "GET",
            "/v2/foo%2Fbar/blobs/uploads/",
            "n=1&last=a%20b&list-type=2",
            &[
                ("host", "localhost:4566"),
                ("x-amz-date", "20240517T093000Z"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240517/us-east-1/ecr/aws4_request, \
                     SignedHeaders=host;x-amz-date, \
                     Signature=a22396e729acc93d9b9cf6b8795c83dc6ed56e2d2a20d31ca738c77f5b71703c",
                ),
            ],
            b"",
        );
        assert_eq!(check(&req, BOTO_SECRET, BOTO_NOW), Ok(()));
    }

    #[test]
    fn botocore_date_header_instead_of_x_amz_date() {
        let req = Req::new(
            "POST",
            "/",
            "",
            &[
                ("host", "localhost:4566"),
                ("x-amz-target", "Logs_20140328.DescribeLogGroups"),
                ("content-type", "application/x-amz-json-1.1"),
                ("date", "Fri, 17 May 2024 09:30:00 -0000"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240517/eu-west-1/logs/aws4_request, \
                     SignedHeaders=content-type;date;host;x-amz-target, \
                     Signature=8733c35a54a331af87df0f5b1452e9cc64647332807050505190ddd19ccf81e3",
                ),
            ],
            b"{}",
        );
        assert_eq!(parse(&req.parts()).unwrap().amz_date, "20240517T093000Z");
        assert_eq!(check(&req, BOTO_SECRET, BOTO_NOW), Ok(()));
    }

    #[test]
    fn botocore_presigned_sts_hashes_the_empty_body() {
        let req = Req::new(
            "GET",
            "/",
            "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240517%2Fus-east-1%2Fsts%2Faws4_request\
             &X-Amz-Date=20240517T093000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=7619142c39587f4ccf9f5b621a1e618f4c1d54622f12da8db9fd5630b48afac8",
            &[("host", "localhost:4566")],
            b"",
        );
        let auth = parse(&req.parts()).unwrap();
        assert!(auth.presigned);
        assert_eq!(auth.expires_secs, Some(900));
        assert_eq!(auth.signed_headers, vec!["host".to_string()]);
        assert_eq!(check(&req, BOTO_SECRET, BOTO_NOW + 899_000), Ok(()));
        assert_eq!(check(&req, BOTO_SECRET, BOTO_NOW + 900_000), Ok(()));
        assert_eq!(
            check(&req, BOTO_SECRET, BOTO_NOW + 901_000),
            Err(SigV4Error::RequestExpired(
                "Request has expired: 20240517T093000Z + 900 s (X-Amz-Expires) is \
                 20240517T094500Z, earlier than 20240517T094501Z."
                    .into()
            ))
        );
        assert!(matches!(
            check(&req, BOTO_SECRET, BOTO_NOW - 301_000),
            Err(SigV4Error::RequestExpired(m)) if m.starts_with("Signature not yet current")
        ));
        let mut tampered = req.clone();
        tampered.query = tampered
            .query
            .replace("GetCallerIdentity", "GetSessionToken");
        assert_eq!(
            check(&tampered, BOTO_SECRET, BOTO_NOW),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
    }

    #[test]
    fn botocore_presigned_s3_signs_unsigned_payload_and_the_raw_path() {
        let req = Req::new(
            "GET",
            "/my-bucket/my%20key.txt",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240517%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20240517T093000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=8b4828c67aa7a7c50ba7f418708df144ca108c808583959276842ce408169712",
            &[("host", "localhost:4566")],
            b"",
        );
        assert_eq!(check(&req, BOTO_SECRET, BOTO_NOW + 3_000_000), Ok(()));
        assert!(matches!(
            check(&req, BOTO_SECRET, BOTO_NOW + 3_601_000),
            Err(SigV4Error::RequestExpired(_))
        ));
    }

    // --- The test-only signer against the verifier ---------------------------------------------

    #[test]
    fn good_request_verifies() {
        assert_eq!(check(&ecs_request(), SECRET, millis(DATE)), Ok(()));
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let now = millis(DATE);
        let good = ecs_request();
        let mut tampers: Vec<(&str, Req)> = Vec::new();

        let mut req = good.clone();
        req.body = br#"{"maxResults":11}"#.to_vec();
        tampers.push(("body", req));

        let mut req = good.clone();
        req.set(
            "x-amz-target",
            "AmazonEC2ContainerServiceV20141113.DeleteCluster",
        );
        tampers.push(("signed header", req));

        let mut req = good.clone();
        req.headers
            .append("x-amz-target", HeaderValue::from_static("extra"));
        tampers.push(("repeated signed header", req));

        let mut req = good.clone();
        req.path = "/other".into();
        tampers.push(("path", req));

        let mut req = good.clone();
        req.query = "a=1".into();
        tampers.push(("query", req));

        let mut req = good.clone();
        req.method = "PUT".into();
        tampers.push(("method", req));

        for (what, req) in &tampers {
            assert_eq!(
                check(req, SECRET, now),
                Err(SigV4Error::SignatureDoesNotMatch),
                "{what}"
            );
        }
        assert_eq!(
            check(&good, "test/secret+kez", now),
            Err(SigV4Error::SignatureDoesNotMatch)
        );

        // Headers outside SignedHeaders may change freely.
        let mut req = good.clone();
        req.set("user-agent", "aws-cli/2.9.19");
        assert_eq!(check(&req, SECRET, now), Ok(()));
    }

    #[test]
    fn changed_signature_fails() {
        let mut req = ecs_request();
        let auth = req.headers["authorization"].to_str().unwrap().to_string();
        let (head, sig) = auth.rsplit_once('=').unwrap();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        req.set("authorization", &format!("{head}={flipped}{}", &sig[1..]));
        assert_eq!(
            check(&req, SECRET, millis(DATE)),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
        req.set("authorization", &format!("{head}={}", sig.to_uppercase()));
        assert_eq!(
            check(&req, SECRET, millis(DATE)),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
        req.set("authorization", &format!("{head}="));
        assert_eq!(
            check(&req, SECRET, millis(DATE)),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
    }

    #[test]
    fn clock_skew_of_five_minutes_is_allowed_and_no_more() {
        let req = ecs_request();
        let at = millis(DATE);
        for offset_secs in [-300, -240, 0, 240, 300] {
            assert_eq!(
                check(&req, SECRET, at + offset_secs * 1000),
                Ok(()),
                "{offset_secs}"
            );
        }
        assert_eq!(
            check(&req, SECRET, millis("20240101T001100Z")),
            Err(SigV4Error::RequestExpired(
                "Signature expired: 20240101T000000Z is now earlier than 20240101T000600Z \
                 (20240101T001100Z - 5 min.)"
                    .into()
            ))
        );
        assert_eq!(
            check(&req, SECRET, at + 360_000),
            Err(SigV4Error::RequestExpired(
                "Signature expired: 20240101T000000Z is now earlier than 20240101T000100Z \
                 (20240101T000600Z - 5 min.)"
                    .into()
            ))
        );
        assert_eq!(
            check(&req, SECRET, at - 360_000),
            Err(SigV4Error::RequestExpired(
                "Signature not yet current: 20240101T000000Z is still later than \
                 20231231T235900Z (20231231T235400Z + 5 min.)"
                    .into()
            ))
        );
        assert!(matches!(
            check(&req, SECRET, at + 300_001),
            Err(SigV4Error::RequestExpired(_))
        ));
        // Absurd clocks are reported, not panicked on.
        assert!(matches!(
            check(&req, SECRET, i64::MAX),
            Err(SigV4Error::RequestExpired(_))
        ));
        assert!(matches!(
            check(&req, SECRET, i64::MIN),
            Err(SigV4Error::RequestExpired(_))
        ));
    }

    #[test]
    fn header_values_are_trimmed_folded_and_joined() {
        let mut req = Req::new(
            "POST",
            "/",
            "",
            &[
                ("host", "wharf.local"),
                ("x-note", "  one   two \t three  "),
                ("x-multi", "a  b"),
                ("x-multi", " c "),
            ],
            b"",
        );
        sign(&mut req, "us-east-1", "ecs", DATE, SECRET);
        let auth = parse(&req.parts()).unwrap();
        let canonical = String::from_utf8(canonical_request(&req.parts(), &auth)).unwrap();
        assert!(
            canonical.contains("\nx-multi:a b,c\nx-note:one two three\n"),
            "{canonical}"
        );
        assert_eq!(check(&req, SECRET, millis(DATE)), Ok(()));
        // Folding whitespace differently is not a change to the signed content.
        req.set("x-note", "one two three");
        assert_eq!(check(&req, SECRET, millis(DATE)), Ok(()));
        req.set("x-note", "one two  three!");
        assert_eq!(
            check(&req, SECRET, millis(DATE)),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
    }

    #[test]
    fn non_s3_paths_are_encoded_again_and_s3_paths_are_not() {
        assert_eq!(canonical_uri("/v2/foo%2Fbar/", "ecr"), "/v2/foo%252Fbar/");
        assert_eq!(canonical_uri("", "ecs"), "/");
        assert_eq!(canonical_uri("", "s3"), "/");
        assert_eq!(canonical_uri("/a b/é", "ecs"), "/a%20b/%C3%A9");
        assert_eq!(canonical_uri("/bucket/my%20key", "s3"), "/bucket/my%20key");
        assert_eq!(canonical_uri("//a/./b/../", "ecs"), "//a/./b/../");

        let mut req = Req::new(
            "GET",
            "/v2/foo%2Fbar/manifests/latest",
            "",
            &[("host", "h")],
            b"",
        );
        sign(&mut req, "us-east-1", "ecr", DATE, SECRET);
        assert_eq!(check(&req, SECRET, millis(DATE)), Ok(()));
        req.path = "/v2/foo/bar/manifests/latest".into();
        assert_eq!(
            check(&req, SECRET, millis(DATE)),
            Err(SigV4Error::SignatureDoesNotMatch)
        );

        let mut req = Req::new("GET", "/bucket/a%2Fb", "", &[("host", "h")], b"");
        sign(&mut req, "us-east-1", "s3", DATE, SECRET);
        assert_eq!(check(&req, SECRET, millis(DATE)), Ok(()));
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        assert_eq!(canonical_query("", false), "");
        assert_eq!(
            canonical_query(
                "b=2&a=z&a=1&c&d=%7e&e=a+b&f=%zz&&g=%2f%2F&h=é&i=a%20b",
                false
            ),
            "a=1&a=z&b=2&c=&d=~&e=a%20b&f=%25zz&g=%2F%2F&h=%C3%A9&i=a%20b"
        );
        assert_eq!(
            canonical_query("X-Amz-Signature=abc&X-Amz-Date=1", true),
            "X-Amz-Date=1"
        );
        assert_eq!(
            canonical_query("X-Amz-Signature=abc&X-Amz-Date=1", false),
            "X-Amz-Date=1&X-Amz-Signature=abc"
        );

        let mut req = Req::new(
            "GET",
            "/",
            "z=1&list-type=2&prefix=a%2Fb",
            &[("host", "h")],
            b"",
        );
        sign(&mut req, "us-east-1", "ecs", DATE, SECRET);
        assert_eq!(check(&req, SECRET, millis(DATE)), Ok(()));
        // The same parameters in another order and another (equivalent) encoding still verify.
        req.query = "prefix=a%2fb&z=1&list-type=2".into();
        assert_eq!(check(&req, SECRET, millis(DATE)), Ok(()));
        req.query = "prefix=a%2Fc&z=1&list-type=2".into();
        assert_eq!(
            check(&req, SECRET, millis(DATE)),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
    }

    #[test]
    fn content_sha256_header_is_the_payload_hash() {
        let now = millis(DATE);
        let mut req = Req::new(
            "PUT",
            "/bucket/key",
            "",
            &[("host", "h"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")],
            b"anything",
        );
        sign(&mut req, "us-east-1", "s3", DATE, SECRET);
        let auth = parse(&req.parts()).unwrap();
        let canonical = String::from_utf8(canonical_request(&req.parts(), &auth)).unwrap();
        assert!(canonical.ends_with("\nUNSIGNED-PAYLOAD"), "{canonical}");
        assert_eq!(check(&req, SECRET, now), Ok(()));
        // UNSIGNED-PAYLOAD leaves the body out of the signature.
        req.body = b"something else".to_vec();
        assert_eq!(check(&req, SECRET, now), Ok(()));

        // A digest header that matches the body verifies; a body that differs from it does not.
        req.body = b"anything".to_vec();
        let digest = hex::encode(Sha256::digest(b"anything"));
        req.set("x-amz-content-sha256", &digest);
        sign(&mut req, "us-east-1", "s3", DATE, SECRET);
        assert_eq!(check(&req, SECRET, now), Ok(()));
        req.body = b"something else".to_vec();
        assert_eq!(
            check(&req, SECRET, now),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
    }

    #[test]
    fn key_cache_matches_plain_verify_and_stays_bounded() {
        let cache = SigningKeyCache::new();
        let good = ecs_request();
        let mut bad = good.clone();
        bad.body = b"{}".to_vec();
        let now = millis(DATE);
        for req in [&good, &bad, &good] {
            let parts = req.parts();
            let auth = parse(&parts).unwrap();
            for secret in [SECRET, "other"] {
                assert_eq!(
                    cache.verify(&parts, &auth, secret, now),
                    verify(&parts, &auth, secret, now)
                );
            }
        }
        assert_eq!(cache.keys.lock().unwrap().len(), 2);
        for i in 0..3000 {
            cache.key_for(&format!("secret-{i}"), "20240101", "us-east-1", "ecs");
            assert!(cache.keys.lock().unwrap().len() <= CACHE_LIMIT);
        }
        let parts = good.parts();
        let auth = parse(&parts).unwrap();
        assert_eq!(cache.verify(&parts, &auth, SECRET, now), Ok(()));
        assert!(!format!("{cache:?}").contains("secret"));
    }

    #[test]
    fn cache_is_shared_across_threads() {
        let cache = SigningKeyCache::default();
        let req = ecs_request();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let parts = req.parts();
                    let auth = parse(&parts).unwrap();
                    for _ in 0..50 {
                        assert_eq!(cache.verify(&parts, &auth, SECRET, millis(DATE)), Ok(()));
                    }
                });
            }
        });
    }

    // --- Malformed and missing authentication --------------------------------------------------

    fn with_authorization(value: &str) -> Req {
        Req::new(
            "GET",
            "/",
            "",
            &[
                ("host", "h"),
                ("x-amz-date", DATE),
                ("authorization", value),
            ],
            b"",
        )
    }

    fn incomplete_message(req: &Req) -> String {
        match parse(&req.parts()) {
            Err(SigV4Error::IncompleteSignature(message)) => message,
            other => panic!("expected IncompleteSignature, got {other:?}"),
        }
    }

    const GOOD_CREDENTIAL: &str = "Credential=AK/20240101/us-east-1/ecs/aws4_request";

    #[test]
    fn missing_authentication() {
        let req = Req::new("GET", "/", "", &[("host", "h")], b"");
        assert_eq!(parse(&req.parts()), Err(SigV4Error::MissingAuthentication));
        let req = Req::new(
            "GET",
            "/",
            "Action=ListUsers&X-Amz-Date=x",
            &[("host", "h")],
            b"",
        );
        assert_eq!(parse(&req.parts()), Err(SigV4Error::MissingAuthentication));
    }

    #[test]
    fn malformed_authorization_headers_are_incomplete() {
        let message = incomplete_message(&with_authorization(
            "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abc",
        ));
        assert_eq!(
            message,
            "Authorization header requires 'Credential' parameter."
        );

        let message = incomplete_message(&with_authorization(&format!(
            "AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}"
        )));
        assert_eq!(
            message,
            "Authorization header requires 'Signature' parameter. \
             Authorization header requires 'SignedHeaders' parameter."
        );

        let message = incomplete_message(&with_authorization("AWS4-HMAC-SHA256"));
        assert!(message.contains("'Credential'") && message.contains("'Signature'"));
        assert!(message.contains("'SignedHeaders'"));

        let message = incomplete_message(&with_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/aws4_request, SignedHeaders=host, Signature=a",
        ));
        assert!(message.starts_with("Credential must have exactly 5 slash-delimited elements"));

        let message = incomplete_message(&with_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/ecs/aws5_request, SignedHeaders=host, Signature=a",
        ));
        assert_eq!(
            message,
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."
        );

        let message = incomplete_message(&with_authorization(
            "AWS4-HMAC-SHA512 Credential=AK/20240101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=a",
        ));
        assert!(message.starts_with("Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'"));

        let message = incomplete_message(&with_authorization("Basic QUtJRDpzZWNyZXQ="));
        assert!(message.starts_with("Unsupported AWS 'algorithm': 'Basic'"));
        assert!(
            !message.contains("QUtJRDpzZWNyZXQ"),
            "credentials must not be echoed"
        );

        let message = incomplete_message(&with_authorization(&format!(
            "AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders, Signature=a"
        )));
        assert!(message.contains("missing equal-sign"), "{message}");

        let message = incomplete_message(&with_authorization(&format!(
            "AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=x-amz-date, Signature=a"
        )));
        assert!(message.contains("'Host'"), "{message}");

        let message = incomplete_message(&with_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=a",
        ));
        assert_eq!(
            message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '20240102' != '20240101', from '20240101T000000Z'."
        );

        let mut req = with_authorization("AWS4-HMAC-SHA256 Credential=x");
        req.headers.append(
            "authorization",
            HeaderValue::from_static("AWS4-HMAC-SHA256 y"),
        );
        assert!(incomplete_message(&req).contains("Only one Authorization header"));
    }

    #[test]
    fn compact_authorization_header_without_spaces_parses() {
        let mut req = ecs_request();
        let compact = req.headers["authorization"]
            .to_str()
            .unwrap()
            .replace(", ", ",");
        req.set("authorization", &compact);
        assert_eq!(check(&req, SECRET, millis(DATE)), Ok(()));
    }

    #[test]
    fn missing_or_bad_dates() {
        let value = format!("AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host, Signature=a");
        let req = Req::new(
            "GET",
            "/",
            "",
            &[("host", "h"), ("authorization", &value)],
            b"",
        );
        assert_eq!(
            incomplete_message(&req),
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        );
        for bad in [
            "2024-01-01T00:00:00Z",
            "20240101T000000",
            "20241301T000000Z",
            "20240101T000000Zé",
        ] {
            let req = Req::new(
                "GET",
                "/",
                "",
                &[
                    ("host", "h"),
                    ("x-amz-date", bad),
                    ("authorization", &value),
                ],
                b"",
            );
            assert!(
                matches!(parse(&req.parts()), Err(SigV4Error::InvalidDate(_))),
                "{bad}"
            );
        }
        let req = Req::new(
            "GET",
            "/",
            "",
            &[
                ("host", "h"),
                ("date", "yesterday"),
                ("authorization", &value),
            ],
            b"",
        );
        assert!(matches!(
            parse(&req.parts()),
            Err(SigV4Error::InvalidDate(_))
        ));
        // RFC 1123 with GMT is converted to the X-Amz-Date form.
        let req = Req::new(
            "GET",
            "/",
            "",
            &[
                ("host", "h"),
                ("date", "Mon, 01 Jan 2024 00:00:00 GMT"),
                ("authorization", &value),
            ],
            b"",
        );
        assert_eq!(parse(&req.parts()).unwrap().amz_date, DATE);
        // A ParsedAuth built by hand with a bad date is refused by verify, not panicked on.
        let mut auth = parse(&req.parts()).unwrap();
        auth.amz_date = "garbage".into();
        assert!(matches!(
            verify(&req.parts(), &auth, SECRET, 0),
            Err(SigV4Error::IncompleteSignature(_))
        ));
        auth.amz_date = "20240101Tgarbage".into();
        assert!(matches!(
            verify(&req.parts(), &auth, SECRET, 0),
            Err(SigV4Error::InvalidDate(_))
        ));
    }

    #[test]
    fn malformed_presigned_parameters() {
        let base = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
                    &X-Amz-Credential=AK%2F20240101%2Fus-east-1%2Fs3%2Faws4_request\
                    &X-Amz-Date=20240101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=ab";
        let presigned = |query: &str| Req::new("GET", "/b/k", query, &[("host", "h")], b"");

        let auth = parse(&presigned(base).parts()).unwrap();
        assert_eq!(auth.expires_secs, None);
        assert_eq!(auth.service, "s3");

        let message = incomplete_message(&presigned(
            "X-Amz-Signature=ab&X-Amz-Algorithm=AWS4-HMAC-SHA256",
        ));
        assert!(
            message.contains("missing X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders"),
            "{message}"
        );

        let message = incomplete_message(&presigned(&format!("{base}&X-Amz-Expires=604801")));
        assert!(message.starts_with("X-Amz-Expires must be less than a week"));
        let message = incomplete_message(&presigned(&format!("{base}&X-Amz-Expires=-1")));
        assert!(message.starts_with("X-Amz-Expires should be a number"));
        let message = incomplete_message(&presigned(&base.replace("HMAC-SHA256", "HMAC-SHA1")));
        assert!(message.starts_with("Unsupported AWS 'algorithm'"));
        assert!(matches!(
            parse(&presigned(&base.replace("20240101T000000Z", "20240101")).parts()),
            Err(SigV4Error::InvalidDate(_))
        ));
    }

    #[test]
    fn presigned_url_signed_by_the_test_signer() {
        // The test signer signs the query as given, so build the auth parameters by hand.
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
                     &X-Amz-Credential=AKIAWHARFTEST%2F20240101%2Fus-east-1%2Fs3%2Faws4_request\
                     &X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host";
        let mut req = Req::new("GET", "/bucket/key", query, &[("host", "h")], b"");
        let auth = ParsedAuth {
            access_key_id: AK.into(),
            date: "20240101".into(),
            region: "us-east-1".into(),
            service: "s3".into(),
            signed_headers: vec!["host".into()],
            signature: String::new(),
            amz_date: DATE.into(),
            presigned: true,
            expires_secs: Some(60),
        };
        let canonical = canonical_request(&req.parts(), &auth);
        let string_to_sign = string_to_sign(&auth, &canonical);
        let key = signing_key(SECRET, "20240101", "us-east-1", "s3").unwrap();
        let signature = hex::encode(mac(&key, &string_to_sign));
        req.query = format!("{query}&X-Amz-Signature={signature}");
        assert_eq!(check(&req, SECRET, millis(DATE) + 60_000), Ok(()));
        assert!(matches!(
            check(&req, SECRET, millis(DATE) + 61_000),
            Err(SigV4Error::RequestExpired(_))
        ));
        req.query = req.query.replace("X-Amz-Expires=60", "X-Amz-Expires=600");
        assert_eq!(
            check(&req, SECRET, millis(DATE)),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
    }

    #[test]
    fn signing_key_matches_the_documented_derivation() {
        // AWS's "Examples of how to derive a signing key" (secret wJalr.../EXAMPLEKEY,
        // 20120215, us-east-1, iam).
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        )
        .unwrap();
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn never_panics_on_arbitrary_input() {
        const PIECES: &[&str] = &[
            "AWS4-HMAC-SHA256",
            " ",
            ",",
            "=",
            "/",
            ";",
            "%",
            "%2",
            "%2F",
            "%zz",
            "+",
            "&",
            "é",
            "€",
            "Credential",
            "SignedHeaders",
            "Signature",
            "host",
            "aws4_request",
            "20240101",
            "20240101T000000Z",
            "X-Amz-",
            "Algorithm",
            "Credential",
            "Date",
            "Expires",
            "99999999999999999999",
            "\t",
            "a",
            "Z",
            "T",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let cache = SigningKeyCache::new();
        for _ in 0..4000 {
            let mut text = |len: u64| {
                let mut s = String::new();
                for _ in 0..(next() % len) {
                    s.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
                }
                s
            };
            let authorization = text(24);
            let path = text(8);
            let query = text(24);
            let date = text(4);
            let mut headers = vec![("host", "h".to_string())];
            headers.push(("x-amz-date", date));
            if !authorization.is_empty() {
                headers.push(("authorization", authorization));
            }
            let header_refs: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let req = Req::new("GET", &path, &query, &header_refs, b"");
            let parts = req.parts();
            if let Ok(auth) = parse(&parts) {
                let _ = verify(&parts, &auth, SECRET, 0);
                let _ = cache.verify(&parts, &auth, SECRET, i64::MAX);
            }
            let _ = canonical_query(&query, true);
            let _ = canonical_uri(&path, "ecs");
            let _ = parse_amz_date(&path);
        }
    }
}
