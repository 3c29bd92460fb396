//! Blob endpoints: HEAD (claims the blob for a push in progress) and GET, streamed from the blob
//! file with single `Range` requests, only for blobs the repository holds (its links, see
//! `images`). Blobs are never deleted through the registry (UNSUPPORTED, as in ECR).

use super::blocking::blocking;
use super::errors::{store_error, RegistryError};
use super::responses::{empty, CONTENT_DIGEST};
use crate::blobs::parse_digest;
use crate::records::RepoRef;
use crate::Ecr;
use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};
use std::io;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Read size when streaming a blob out.
pub(super) const READ_CHUNK: usize = 256 * 1024;

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

pub(super) async fn get_blob(
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
}
