//! Amazon ECR: the ECR API (repositories, images, tag mutability, lifecycle policies,
//! authorization tokens) and the OCI Distribution registry under `/v2/` that Docker and skopeo
//! push to and pull from. Blobs and manifests live content-addressed on disk (`blobs`), image
//! and tag records in the store (`records`, `images`).
//!
//! Module map, bottom to top (no module imports one above it):
//! - `generated`: the ECR wire types and the `EcrApi` trait (never stored);
//! - `records`: the tables and the records ECR stores, their keys, conversions to wire types;
//! - `syntax`: repository name, tag, digest and wildcard rules; `blobs` / `manifest`: the
//!   content-addressed blob store and manifest parsing;
//! - `images` (image, tag and blob-link records), `auth` (registry tokens), `push` (the one
//!   manifest push flow: parse, check references, store body, record image), `lifecycle`
//!   (the policy language, its evaluation and the loop applying it), `gc` (mark with
//!   `images::referenced_digests`, sweep `blobs`, with a grace period), `resolve`
//!   (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` -> this registry);
//! - two front doors over them: `api` (the `EcrApi` trait, delegating to one module per
//!   resource) and `registry` (HTTP `/v2/`: token check, manifests, blobs, uploads).

pub mod api;
pub mod auth;
pub mod blobs;
pub mod gc;
pub mod generated;
pub mod images;
pub mod lifecycle;
pub mod manifest;
pub mod push;
pub mod records;
pub mod registry;
pub mod resolve;
pub mod scanning;
pub mod syntax;

use std::path::PathBuf;
use std::sync::Arc;
use wharf_core::{Clock, IdGen};
use wharf_store::{Store, StoreError};

/// Where the registry keeps its files and how clients reach it.
#[derive(Debug, Clone)]
pub struct EcrConfig {
    /// Directory of blob and upload files (`<data-dir>/registry`).
    pub root: PathBuf,
    /// `host:port` clients use for this registry, the host part of every `repositoryUri`
    /// (e.g. `127.0.0.1:4566`; Docker allows plain HTTP to loopback).
    pub registry_host: String,
}

/// The ECR service: API and registry share this state.
pub struct Ecr {
    pub(crate) store: Arc<Store>,
    pub(crate) ids: Arc<dyn IdGen>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) blobs: blobs::BlobStore,
    pub(crate) config: EcrConfig,
}

/// Why ECR could not start.
#[derive(Debug, thiserror::Error)]
pub enum EcrInitError {
    /// The blob directory could not be created or read.
    #[error("cannot prepare the registry directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl Ecr {
    /// ECR over `store`, keeping blobs under `config.root`.
    pub fn new(
        store: Arc<Store>,
        ids: Arc<dyn IdGen>,
        clock: Arc<dyn Clock>,
        config: EcrConfig,
    ) -> Result<Self, EcrInitError> {
        let blobs = blobs::BlobStore::open(&config.root).map_err(|source| EcrInitError::Io {
            path: config.root.clone(),
            source,
        })?;
        Ok(Self {
            store,
            ids,
            clock,
            blobs,
            config,
        })
    }
}

impl From<StoreError> for generated::Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "ecr state store failure");
        generated::Error::ServerException(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}
