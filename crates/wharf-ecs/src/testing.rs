//! A fresh ECS over a temp-dir store, and a fixed request context, for unit tests.

use crate::Ecs;
use std::sync::Arc;
use wharf_core::ids::RandomIds;
use wharf_core::RequestContext;
use wharf_core::Timestamp;
use wharf_store::Store;

/// ECS over a store in a fresh temp dir (kept alive by the returned guard).
pub fn ecs() -> (tempfile::TempDir, Ecs) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    (dir, Ecs::new(store, Arc::new(RandomIds)))
}

/// A request in us-east-1 for account 123456789012 at a fixed time.
pub fn ctx() -> RequestContext {
    RequestContext::for_tests(
        "us-east-1",
        "123456789012",
        Timestamp::from_millis(1_700_000_000_000),
    )
}
