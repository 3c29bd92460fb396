//! Blob upload endpoints: sessions (POST, GET status, PATCH chunks, PUT to finish, DELETE to
//! cancel), monolithic uploads (POST `?digest=`) and cross-repository mounts (POST `?mount=`,
//! only of a blob the source repository holds). Request bodies are streamed to the upload file
//! through a bounded channel, so a large layer never sits in memory; a finished upload links
//! the blob to its repository after the bytes are committed.

use super::blocking::blocking;
use super::errors::{store_error, upload_error, RegistryError};
use super::request::{content_length, Query};
use super::responses::{blob_created, empty, upload_accepted, upload_owner};
use crate::auth::RegistryPrincipal;
use crate::blobs::parse_digest;
use crate::records::RepoRef;
use crate::syntax::valid_repository_name;
use crate::Ecr;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use std::io;
use std::sync::Arc;

/// Chunks of a request body in flight between the socket and the upload file.
pub(super) const BODY_CHANNEL_CHUNKS: usize = 16;

/// One message from the socket side to the blocking side: a chunk, the end, or a failure.
pub(super) type BodyMessage = io::Result<Option<Bytes>>;

/// A request body as the blocking side sees it: chunks until the body ends or breaks off.
/// The end must be said explicitly: if the request is dropped mid-body (the client went
/// away), the channel closes without it and the body counts as broken, not complete.
pub(super) struct BodyChunks {
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
pub(super) async fn with_streamed_body<T, F>(
    ecr: &Arc<Ecr>,
    body: Body,
    f: F,
) -> Result<T, RegistryError>
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

/// `Content-Range: <start>-<end>` of a chunk (also accepting `bytes <start>-<end>/<total>`);
/// the start offset, or RANGE_INVALID for nonsense or a length that disagrees.
pub(super) fn chunk_start(headers: &HeaderMap) -> Result<Option<u64>, RegistryError> {
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
pub(super) fn check_upload(ecr: &Ecr, repo: &RepoRef, id: &str) -> Result<u64, RegistryError> {
    match ecr.blobs.upload_status(id) {
        Ok(status) if status.repository == upload_owner(repo) => Ok(status.size),
        Ok(_) => Err(RegistryError::upload_unknown(id)),
        Err(e) => Err(upload_error(repo, id, e)),
    }
}

pub(super) async fn start_upload(
    ecr: &Arc<Ecr>,
    principal: RegistryPrincipal,
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

pub(super) async fn new_session(ecr: &Arc<Ecr>, repo: RepoRef) -> Result<Response, RegistryError> {
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

pub(super) async fn upload_status(
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

pub(super) async fn patch_upload(
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

pub(super) async fn finish_upload(
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

pub(super) async fn cancel_upload(
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
    use http::HeaderValue;

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
}
