//! Amazon CloudWatch Logs: log groups (retention, tags), log streams and their events, the
//! read paths the AWS CLI uses (`get-log-events`, `filter-log-events`, `logs tail`), a
//! retention loop, and the [`wharf_core::LogSink`] the task agent writes container output to.
//!
//! Module map:
//! - `generated`: botocore-derived wire types and the `LogsApi` trait (never stored)
//! - `records`: stored records, their tables ([`records::TABLES`]) and keys (events
//!   range-scannable by group, stream, time)
//! - `checks`: the errors, validation wording and page limits every operation shares
//! - `groups`: CreateLogGroup, DescribeLogGroups, DeleteLogGroup, retention policies, tags
//! - `streams`: CreateLogStream, DescribeLogStreams, DeleteLogStream
//! - `events`: PutLogEvents (batch rules), GetLogEvents (head / tail, `f/` `b/` tokens),
//!   FilterLogEvents (merge across streams, patterns from `filter`)
//! - `filter`: the filter pattern language (pure)
//! - `insights`: the Logs Insights query language, parsed and evaluated (pure; the supported
//!   subset is listed in its module doc)
//! - `queries`: StartQuery, GetQueryResults, StopQuery, DescribeQueries over `insights`
//! - `retention`: deleting expired events and the ranges of deleted groups and streams
//! - `sink`: container output -> events (one store write per batch)
//! - `lib.rs`: the [`Logs`] service and one-line delegation of each API operation

pub mod checks;
pub mod events;
pub mod filter;
pub mod generated;
pub mod groups;
pub mod insights;
pub mod metric_filters;
pub mod queries;
pub mod records;
pub mod retention;
pub mod sink;
pub mod streams;
#[cfg(test)]
pub(crate) mod testing;

pub use retention::{run_retention_loop, RetentionReport};

use generated::*;
use std::sync::Arc;
use wharf_core::{Clock, IdGen, MetricDatum, MetricSink, NoMetrics, RequestContext};
use wharf_store::Store;

/// The CloudWatch Logs service: API operations, retention and the container log sink share
/// this state.
pub struct Logs {
    pub(crate) store: Arc<Store>,
    pub(crate) ids: Arc<dyn IdGen>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Where metric filters publish (CloudWatch; nowhere until [`Logs::with_metrics`]).
    metrics: Arc<dyn MetricSink>,
}

impl Logs {
    /// CloudWatch Logs over `store`, making group ids with `ids` and reading the time (for
    /// ingestion times, the sink and retention) from `clock`.
    pub fn new(store: Arc<Store>, ids: Arc<dyn IdGen>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            ids,
            clock,
            metrics: Arc::new(NoMetrics),
        }
    }

    /// The same service publishing its metric filters' data points to `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn MetricSink>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Hands metric filters' data points to CloudWatch (after the events are stored).
    pub(crate) fn publish(&self, account: &str, region: &str, data: Vec<MetricDatum>) {
        if !data.is_empty() {
            self.metrics.put(account, region, data);
        }
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
        groups::tag_resource(self, ctx, input)
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<(), Error> {
        groups::untag_resource(self, ctx, input)
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, Error> {
        groups::list_tags_for_resource(self, ctx, input)
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
        groups::list_tags_log_group(self, ctx, input)
    }

    fn start_query(
        &self,
        ctx: &RequestContext,
        input: StartQueryRequest,
    ) -> Result<StartQueryResponse, Error> {
        queries::start(self, ctx, input)
    }

    fn get_query_results(
        &self,
        ctx: &RequestContext,
        input: GetQueryResultsRequest,
    ) -> Result<GetQueryResultsResponse, Error> {
        queries::results(self, ctx, input)
    }

    fn stop_query(
        &self,
        ctx: &RequestContext,
        input: StopQueryRequest,
    ) -> Result<StopQueryResponse, Error> {
        queries::stop(self, ctx, input)
    }

    fn describe_queries(
        &self,
        ctx: &RequestContext,
        input: DescribeQueriesRequest,
    ) -> Result<DescribeQueriesResponse, Error> {
        queries::describe(self, ctx, input)
    }

    fn put_metric_filter(
        &self,
        ctx: &RequestContext,
        input: PutMetricFilterRequest,
    ) -> Result<(), Error> {
        metric_filters::put(self, ctx, input)
    }

    fn describe_metric_filters(
        &self,
        ctx: &RequestContext,
        input: DescribeMetricFiltersRequest,
    ) -> Result<DescribeMetricFiltersResponse, Error> {
        metric_filters::describe(self, ctx, input)
    }

    fn delete_metric_filter(
        &self,
        ctx: &RequestContext,
        input: DeleteMetricFilterRequest,
    ) -> Result<(), Error> {
        metric_filters::delete(self, ctx, input)
    }

    fn test_metric_filter(
        &self,
        _ctx: &RequestContext,
        input: TestMetricFilterRequest,
    ) -> Result<TestMetricFilterResponse, Error> {
        metric_filters::test(input)
    }
}
