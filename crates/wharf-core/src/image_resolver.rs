//! How the runtime finds an image: a name that points at wharf's own registry (an ECR-style
//! `<account>.dkr.ecr.<region>.amazonaws.com/repo:tag` or the registry's `host:port/repo`) is
//! pulled from wharf's registry with credentials wharf issues itself; any other name is left to
//! the container engine. Implemented by ECR, so the runtime does not depend on it.

/// Where and how to pull an image that lives in wharf's registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    /// The reference the engine pulls, e.g. `127.0.0.1:4566/app:1`.
    pub pull_reference: String,
    /// Registry user name (`AWS`).
    pub username: String,
    /// Registry password (an ECR authorization token's password).
    pub password: String,
    /// The registry's `host:port`, for the engine's auth config.
    pub server_address: String,
}

/// Resolves task-definition image names.
pub trait ImageResolver: Send + Sync + 'static {
    /// `Some` when `image` names an image in wharf's registry; `None` for anything else.
    fn resolve(&self, image: &str) -> Option<ResolvedImage>;
}
