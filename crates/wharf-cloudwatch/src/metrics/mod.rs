//! CloudWatch's metric store and its queries: what PutMetricData keeps, how GetMetricData,
//! GetMetricStatistics and the alarms read it back.

use crate::generated::{Error, MetricDataQuery, MetricDataResult};
use crate::CloudWatch;
use wharf_core::Timestamp;

/// One value per period bucket that has data, ascending by time; stat is
/// "Average" | "Sum" | "SampleCount" | "Minimum" | "Maximum" | "pNN(.N)".
#[allow(clippy::too_many_arguments)]
pub fn series(
    _cw: &CloudWatch,
    _account: &str,
    _region: &str,
    _namespace: &str,
    _metric_name: &str,
    _dimensions: &[(String, String)],
    _stat: &str,
    _unit: Option<&str>,
    _start: Timestamp,
    _end: Timestamp,
    _period_millis: i64,
) -> Result<Vec<(Timestamp, f64)>, Error> {
    Err(Error::InternalFailure("not implemented yet".into()))
}

/// GetMetricData's evaluation of `queries` (MetricStat + math) over [start, end), for
/// metric-math alarms; results in query order, values ascending by time.
pub fn run_queries(
    _cw: &CloudWatch,
    _account: &str,
    _region: &str,
    _queries: &[MetricDataQuery],
    _start: Timestamp,
    _end: Timestamp,
    _period_override_millis: Option<i64>,
) -> Result<Vec<MetricDataResult>, Error> {
    Err(Error::InternalFailure("not implemented yet".into()))
}
