//! A `Logs` over a temporary store with a fake clock, for the unit tests of every module.

use crate::generated::*;
use crate::Logs;
use std::sync::Arc;
use wharf_core::{Clock, IdGen, RequestContext};
use wharf_core::{FakeClock, Timestamp};
use wharf_store::Store;

/// 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000;

/// Deterministic ids: a counter in hex.
pub struct CountingIds(pub std::sync::atomic::AtomicU64);

impl IdGen for CountingIds {
    fn hex(&self, n: usize) -> String {
        let v = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!("{v:0n$x}")
    }

    fn chars(&self, n: usize, alphabet: &[u8]) -> String {
        let first = alphabet.first().copied().unwrap_or(b'A');
        String::from_utf8(vec![first; n]).unwrap_or_default()
    }
}

/// A service, its clock and the temp dir holding its store.
pub struct Fixture {
    pub logs: Arc<Logs>,
    pub clock: Arc<FakeClock>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(Store::open(&dir.path().join("wharf.db")).expect("store"));
        let clock = Arc::new(FakeClock::new(Timestamp::from_millis(T0)));
        let logs = Arc::new(Logs::new(
            store,
            Arc::new(CountingIds(std::sync::atomic::AtomicU64::new(1))),
            clock.clone(),
        ));
        Self {
            logs,
            clock,
            _dir: dir,
        }
    }

    /// A request context at the clock's current time.
    pub fn ctx(&self) -> RequestContext {
        RequestContext::for_tests("us-east-1", "123456789012", self.clock.now())
    }

    /// Creates group `g` and its stream `s`.
    pub fn group_and_stream(&self, g: &str, s: &str) {
        let ctx = self.ctx();
        self.logs
            .create_log_group(
                &ctx,
                CreateLogGroupRequest {
                    log_group_name: g.into(),
                    ..Default::default()
                },
            )
            .expect("create group");
        self.logs
            .create_log_stream(
                &ctx,
                CreateLogStreamRequest {
                    log_group_name: g.into(),
                    log_stream_name: s.into(),
                },
            )
            .expect("create stream");
    }

    /// PutLogEvents of `(timestamp, message)` pairs.
    pub fn put(&self, g: &str, s: &str, events: &[(i64, &str)]) -> PutLogEventsResponse {
        self.logs
            .put_log_events(
                &self.ctx(),
                PutLogEventsRequest {
                    log_group_name: g.into(),
                    log_stream_name: s.into(),
                    log_events: events
                        .iter()
                        .map(|(t, m)| InputLogEvent {
                            timestamp: *t,
                            message: (*m).into(),
                        })
                        .collect(),
                    ..Default::default()
                },
            )
            .expect("put log events")
    }
}
