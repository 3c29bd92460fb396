//! Amazon CloudWatch Logs: log groups (retention, tags), log streams and their events, the
//! read paths the AWS CLI uses (`get-log-events`, `filter-log-events`, `logs tail`), a
//! retention loop, and the [`wharf_core::LogSink`] the task agent writes container output to.
//!
//! Module map:
//! - `records`: stored records and their keys (events range-scannable by group, stream, time)
//! - `groups`: CreateLogGroup, DescribeLogGroups, DeleteLogGroup, retention policies, tags
//! - `streams`: CreateLogStream, DescribeLogStreams, DeleteLogStream
//! - `events`: PutLogEvents (batch rules), GetLogEvents (head / tail, `f/` `b/` tokens),
//!   FilterLogEvents (merge across streams, patterns from `filter`)
//! - `filter`: the filter pattern language (pure)
//! - `retention`: deleting expired events and the ranges of deleted groups and streams
//! - `sink`: container output -> events (one store write per batch)

pub mod events;
pub mod filter;
pub mod generated;
pub mod groups;
pub mod records;
pub mod retention;
pub mod sink;
pub mod streams;

pub use retention::{run_retention_loop, RetentionReport};

use generated::*;
use std::sync::Arc;
use wharf_core::{Clock, IdGen, RequestContext};
use wharf_store::{Store, StoreError};

/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The CloudWatch Logs service: API operations, retention and the container log sink share
/// this state.
pub struct Logs {
    pub(crate) store: Arc<Store>,
    pub(crate) ids: Arc<dyn IdGen>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Logs {
    /// CloudWatch Logs over `store`, making group ids with `ids` and reading the time (for
    /// ingestion times, the sink and retention) from `clock`.
    pub fn new(store: Arc<Store>, ids: Arc<dyn IdGen>, clock: Arc<dyn Clock>) -> Self {
        Self { store, ids, clock }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "logs state store failure");
        Error::ServiceUnavailableException(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}

/// An `InvalidParameterException` with `message`.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameterException(message.into())
}

/// AWS's validation wording for a field that is out of its bounds.
pub(crate) fn invalid_field(value: impl std::fmt::Display, field: &str, constraint: &str) -> Error {
    invalid(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

/// `limit` within `1..=max` (`default` when absent).
pub(crate) fn page_limit(limit: Option<i32>, max: i32, default: usize) -> Result<usize, Error> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(usize::try_from(n).unwrap_or(default)),
        Some(n) => Err(invalid_field(
            n,
            "limit",
            &format!("Member must have value between 1 and {max}"),
        )),
    }
}

impl LogsApi for Arc<Logs> {
    fn create_log_group(
        &self,
        ctx: &RequestContext,
        input: CreateLogGroupRequest,
    ) -> Result<(), Error> {
        groups::create(self, ctx, input)
    }

    fn describe_log_groups(
        &self,
        ctx: &RequestContext,
        input: DescribeLogGroupsRequest,
    ) -> Result<DescribeLogGroupsResponse, Error> {
        groups::describe(self, ctx, input)
    }

    fn delete_log_group(
        &self,
        ctx: &RequestContext,
        input: DeleteLogGroupRequest,
    ) -> Result<(), Error> {
        groups::delete(self, ctx, &input.log_group_name)
    }

    fn put_retention_policy(
        &self,
        ctx: &RequestContext,
        input: PutRetentionPolicyRequest,
    ) -> Result<(), Error> {
        groups::put_retention(self, ctx, &input.log_group_name, input.retention_in_days)
    }

    fn delete_retention_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteRetentionPolicyRequest,
    ) -> Result<(), Error> {
        groups::delete_retention(self, ctx, &input.log_group_name)
    }

    fn create_log_stream(
        &self,
        ctx: &RequestContext,
        input: CreateLogStreamRequest,
    ) -> Result<(), Error> {
        streams::create(self, ctx, &input.log_group_name, &input.log_stream_name)
    }

    fn describe_log_streams(
        &self,
        ctx: &RequestContext,
        input: DescribeLogStreamsRequest,
    ) -> Result<DescribeLogStreamsResponse, Error> {
        streams::describe(self, ctx, input)
    }

    fn delete_log_stream(
        &self,
        ctx: &RequestContext,
        input: DeleteLogStreamRequest,
    ) -> Result<(), Error> {
        streams::delete(self, ctx, &input.log_group_name, &input.log_stream_name)
    }

    fn put_log_events(
        &self,
        ctx: &RequestContext,
        input: PutLogEventsRequest,
    ) -> Result<PutLogEventsResponse, Error> {
        events::put(self, ctx, input)
    }

    fn get_log_events(
        &self,
        ctx: &RequestContext,
        input: GetLogEventsRequest,
    ) -> Result<GetLogEventsResponse, Error> {
        events::get(self, ctx, input)
    }

    fn filter_log_events(
        &self,
        ctx: &RequestContext,
        input: FilterLogEventsRequest,
    ) -> Result<FilterLogEventsResponse, Error> {
        events::filter(self, ctx, input)
    }

    fn tag_resource(&self, ctx: &RequestContext, input: TagResourceRequest) -> Result<(), Error> {
        let name = groups::name_from_resource_arn(ctx, &input.resource_arn)?;
        groups::tag(self, ctx, &name, &input.tags)
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<(), Error> {
        let name = groups::name_from_resource_arn(ctx, &input.resource_arn)?;
        groups::untag(self, ctx, &name, &input.tag_keys)
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, Error> {
        let name = groups::name_from_resource_arn(ctx, &input.resource_arn)?;
        Ok(ListTagsForResourceResponse {
            tags: Some(groups::tags(self, ctx, &name)?),
        })
    }

    fn tag_log_group(&self, ctx: &RequestContext, input: TagLogGroupRequest) -> Result<(), Error> {
        groups::tag(self, ctx, &input.log_group_name, &input.tags)
    }

    fn untag_log_group(
        &self,
        ctx: &RequestContext,
        input: UntagLogGroupRequest,
    ) -> Result<(), Error> {
        groups::untag(self, ctx, &input.log_group_name, &input.tags)
    }

    fn list_tags_log_group(
        &self,
        ctx: &RequestContext,
        input: ListTagsLogGroupRequest,
    ) -> Result<ListTagsLogGroupResponse, Error> {
        Ok(ListTagsLogGroupResponse {
            tags: Some(groups::tags(self, ctx, &input.log_group_name)?),
        })
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A `Logs` over a temporary store with a fake clock, for the unit tests of every module.

    use super::*;
    use wharf_core::{FakeClock, Timestamp};

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
}
