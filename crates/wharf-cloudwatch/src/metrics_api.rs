//! PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics, and wharf's own data points.
//! (Skeleton: being written.)

use crate::generated::*;
use crate::CloudWatch;
use wharf_core::{MetricDatum, RequestContext};

pub use crate::metrics::{run_queries, series};

fn not_yet() -> Error {
    Error::InternalFailure("not implemented yet".into())
}

pub(crate) fn put_own(_cw: &CloudWatch, _account: &str, _region: &str, _data: Vec<MetricDatum>) {}

pub(crate) fn put_metric_data(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: PutMetricDataInput,
) -> Result<(), Error> {
    Err(not_yet())
}

pub(crate) fn get_metric_data(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: GetMetricDataInput,
) -> Result<GetMetricDataOutput, Error> {
    Err(not_yet())
}

pub(crate) fn get_metric_statistics(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: GetMetricStatisticsInput,
) -> Result<GetMetricStatisticsOutput, Error> {
    Err(not_yet())
}

pub(crate) fn list_metrics(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: ListMetricsInput,
) -> Result<ListMetricsOutput, Error> {
    Err(not_yet())
}
