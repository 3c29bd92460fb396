//! PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics, and wharf's own data points
//! (the [`wharf_core::MetricSink`] side). The work is in `metrics/`; this file turns the wire
//! inputs into its calls and its results into the wire outputs.
//!
//! ## Not supported
//! - Metric math functions other than `SUM`, `AVG`, `MIN`, `MAX`, `ABS` and `METRICS()`
//!   (with an optional id filter), and operators other than `+ - * /` and parentheses;
//!   Metrics Insights queries (`SELECT ...`) and `SEARCH(...)` are refused as malformed.
//! - Extended statistics other than percentiles (`pNN`, `pNN.N`): no `tm`, `wm`, `tc`, `ts`,
//!   `PR`, `IQM`.
//! - Percentiles of data published as statistic sets, unless every sample of the set had the
//!   same value (Minimum = Maximum, as on AWS); percentiles of periods whose points were
//!   rolled up by retention (older than 3 hours for high-resolution data, 15 days for
//!   1-minute data): roll-ups keep the statistic set only.
//! - Percentiles are nearest-rank over the exact samples (AWS approximates them).
//! - `LabelOptions` (time zones in dynamic labels) and dynamic labels; `EntityMetricData`'s
//!   entities are accepted and their data stored without the entity; cross-account
//!   observability (`AccountId`, `OwningAccount`): only the caller's own metrics.

pub use crate::metrics::{run_metric_retention_loop, run_queries, series};

use crate::generated::*;
use crate::metrics::list::{self, DimensionFilter};
use crate::metrics::query::{self, MetricRef, MAX_DATAPOINTS};
use crate::metrics::statistics::{parse_percentile, Stat};
use crate::metrics::store;
use crate::metrics::validate::{self, NewPoint};
use crate::CloudWatch;
use std::collections::BTreeMap;
use wharf_core::pagination::{decode_token, encode_token, paginate};
use wharf_core::{MetricDatum as OwnDatum, RequestContext, Timestamp};

/// GetMetricData's default MaxDatapoints.
const DEFAULT_MAX_DATAPOINTS: usize = 100_800;
/// The basic statistics GetMetricStatistics accepts.
const STATISTICS: &[&str] = &["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

/// Stores wharf's own data points (`AWS/` namespaces allowed); a store failure is logged.
pub(crate) fn put_own(cw: &CloudWatch, account: &str, region: &str, data: Vec<OwnDatum>) {
    let points: Vec<NewPoint> = data
        .into_iter()
        .map(|d| {
            let mut dimensions = d.dimensions;
            dimensions.sort();
            let v = d.values;
            NewPoint {
                namespace: d.namespace,
                metric_name: d.metric_name,
                dimensions,
                point: crate::records::PointRecord {
                    millis: d.timestamp.millis,
                    count: v.sample_count,
                    sum: v.sum,
                    min: v.minimum,
                    max: v.maximum,
                    unit: d.unit.to_string(),
                    resolution: 60,
                    values: None,
                },
            }
        })
        .filter(|p| p.point.count > 0.0)
        .collect();
    let now = cw.clock.now().millis;
    if let Err(e) = store::write(cw, account, region, &points, now) {
        tracing::warn!(error = %e, account, region, "cloudwatch: wharf's own metrics were not stored");
    }
}

pub(crate) fn put_metric_data(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: PutMetricDataInput,
) -> Result<(), Error> {
    let points = validate::put_metric_data(&input, ctx.now.millis)?;
    store::write(cw, &ctx.account_id, &ctx.region, &points, ctx.now.millis)
}

fn check_time_range(start: Timestamp, end: Timestamp) -> Result<(), Error> {
    if start.millis >= end.millis {
        return Err(Error::InvalidParameterValueException(
            "The parameter StartTime must be less than the parameter EndTime.".into(),
        ));
    }
    Ok(())
}

pub(crate) fn get_metric_statistics(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: GetMetricStatisticsInput,
) -> Result<GetMetricStatisticsOutput, Error> {
    let statistics = input.statistics.unwrap_or_default();
    let extended = input.extended_statistics.unwrap_or_default();
    match (statistics.is_empty(), extended.is_empty()) {
        (true, true) => {
            return Err(Error::InvalidParameterCombinationException(
                "Must specify either Statistics or ExtendedStatistics".into(),
            ))
        }
        (false, false) => {
            return Err(Error::InvalidParameterCombinationException(
                "Must specify either Statistics or ExtendedStatistics, but not both.".into(),
            ))
        }
        _ => {}
    }
    for (i, s) in statistics.iter().enumerate() {
        if !STATISTICS.contains(&s.as_str()) {
            return Err(Error::InvalidParameterValueException(format!(
                "The value {s} for parameter Statistics.member.{} is invalid.",
                i + 1
            )));
        }
    }
    for s in &extended {
        if parse_percentile(s).is_none() {
            return Err(Error::InvalidParameterValueException(format!(
                "The value {s} for parameter ExtendedStatistics is not supported."
            )));
        }
    }
    if let Some(unit) = input
        .unit
        .as_deref()
        .filter(|u| !validate::UNITS.contains(u))
    {
        return Err(Error::InvalidParameterValueException(format!(
            "The value {unit} for parameter Unit is invalid."
        )));
    }
    let period = i64::from(input.period);
    if !query::valid_period(period) {
        return Err(Error::InvalidParameterValueException(
            "The parameter Period must be 1, 5, 10, 20, 30, 60, or any multiple of 60.".into(),
        ));
    }
    check_time_range(input.start_time, input.end_time)?;
    let period_millis = period * 1000;
    let now = Some(ctx.now.millis);
    let origin = query::grid_origin(input.start_time.millis, now, period_millis);
    let requested = (input.end_time.millis - origin + period_millis - 1) / period_millis;
    if requested > MAX_DATAPOINTS {
        return Err(Error::InvalidParameterCombinationException(format!(
            "You have requested up to {requested} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )));
    }
    let dims: Vec<(String, String)> = input
        .dimensions
        .iter()
        .flatten()
        .map(|d| (d.name.clone(), d.value.clone()))
        .collect();
    let metric = MetricRef {
        namespace: &input.namespace,
        metric_name: &input.metric_name,
        dimensions: &dims,
        unit: input.unit.as_deref(),
    };
    let buckets = query::metric_buckets(
        cw,
        &ctx.account_id,
        &ctx.region,
        metric,
        input.start_time.millis,
        input.end_time.millis,
        period_millis,
        now,
    )?;
    let datapoints = buckets
        .iter()
        .map(|b| {
            let value = |name: &str| {
                statistics
                    .iter()
                    .any(|s| s == name)
                    .then(|| Stat::parse(name).and_then(|s| b.value(s)))
                    .flatten()
            };
            let ext: BTreeMap<String, f64> = extended
                .iter()
                .filter_map(|name| {
                    let p = parse_percentile(name)?;
                    b.value(Stat::Percentile(p)).map(|v| (name.clone(), v))
                })
                .collect();
            Datapoint {
                timestamp: Some(Timestamp::from_millis(b.start)),
                sample_count: value("SampleCount"),
                average: value("Average"),
                sum: value("Sum"),
                minimum: value("Minimum"),
                maximum: value("Maximum"),
                unit: Some(b.unit.clone()),
                extended_statistics: (!extended.is_empty()).then_some(ext),
            }
        })
        .collect();
    Ok(GetMetricStatisticsOutput {
        label: Some(input.metric_name),
        datapoints: Some(datapoints),
    })
}

pub(crate) fn get_metric_data(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: GetMetricDataInput,
) -> Result<GetMetricDataOutput, Error> {
    if input.start_time.millis >= input.end_time.millis {
        return Err(Error::ValidationError(
            "The parameter EndTime must be greater than StartTime.".into(),
        ));
    }
    let descending = match input.scan_by.as_deref() {
        None | Some("TimestampDescending") => true,
        Some("TimestampAscending") => false,
        Some(other) => {
            return Err(Error::ValidationError(format!(
                "The value {other} for parameter ScanBy is invalid. Valid values are TimestampDescending and TimestampAscending."
            )))
        }
    };
    let max = match input.max_datapoints {
        None => DEFAULT_MAX_DATAPOINTS,
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(DEFAULT_MAX_DATAPOINTS),
        Some(n) => {
            return Err(Error::ValidationError(format!(
                "The value {n} for parameter MaxDatapoints is invalid: it must be greater than 0."
            )))
        }
    };
    let skip: usize = match input.next_token.as_deref().filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => decode_token(t)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                Error::InvalidNextToken("The service cannot process the NextToken provided.".into())
            })?,
    };
    let mut results = run_queries(
        cw,
        &ctx.account_id,
        &ctx.region,
        &input.metric_data_queries,
        input.start_time,
        input.end_time,
        None,
    )?;
    // one page of `max` datapoints, counted across the results in order, from `skip` on
    let (mut offset, mut budget, mut more) = (0usize, max, false);
    for r in &mut results {
        let mut pairs: Vec<(Timestamp, f64)> = r
            .timestamps
            .take()
            .unwrap_or_default()
            .into_iter()
            .zip(r.values.take().unwrap_or_default())
            .collect();
        if descending {
            pairs.reverse();
        }
        let n = pairs.len();
        let from = skip.saturating_sub(offset).min(n);
        let take = (n - from).min(budget);
        let page: Vec<(Timestamp, f64)> = pairs[from..from + take].to_vec();
        budget -= take;
        offset += n;
        if from + take < n {
            more = true;
            r.status_code = Some("PartialData".into());
        }
        r.timestamps = Some(page.iter().map(|p| p.0).collect());
        r.values = Some(page.iter().map(|p| p.1).collect());
    }
    let next_token = more.then(|| encode_token(&(skip + max).to_string()));
    Ok(GetMetricDataOutput {
        metric_data_results: Some(results),
        next_token,
        messages: Some(Vec::new()),
    })
}

pub(crate) fn list_metrics(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: ListMetricsInput,
) -> Result<ListMetricsOutput, Error> {
    let recently_active = match input.recently_active.as_deref() {
        None => false,
        Some("PT3H") => true,
        Some(other) => {
            return Err(Error::InvalidParameterValueException(format!(
                "The value {other} for parameter RecentlyActive is invalid. The only valid value is PT3H."
            )))
        }
    };
    let filters: Vec<DimensionFilter> = input
        .dimensions
        .iter()
        .flatten()
        .map(|f| DimensionFilter {
            name: f.name.clone(),
            value: f.value.clone(),
        })
        .collect();
    if filters.len() > 10 {
        return Err(Error::InvalidParameterValueException(
            "The collection Dimensions must not have a size greater than 10.".into(),
        ));
    }
    let rows = cw.store.read(|tx| {
        store::list_metrics(
            tx,
            &ctx.account_id,
            &ctx.region,
            input.namespace.as_deref(),
            input.metric_name.as_deref(),
        )
    })?;
    let now = ctx.now.millis;
    let wanted = rows
        .into_iter()
        .filter(|(_, m)| {
            // without a namespace, the key prefix cannot hold the metric name: filtered here
            input
                .metric_name
                .as_ref()
                .is_none_or(|n| *n == m.metric_name)
                && list::shown(m, &filters, recently_active, now)
        })
        .collect();
    let (page, next_token) = paginate(
        wanted,
        |(k, _)| k.clone(),
        input.next_token.as_deref(),
        list::PAGE_SIZE,
    )
    .map_err(|_| {
        Error::InvalidNextToken("The service cannot process the NextToken provided.".into())
    })?;
    let include_accounts = input.include_linked_accounts.unwrap_or(false);
    let owning_accounts =
        include_accounts.then(|| page.iter().map(|_| ctx.account_id.clone()).collect());
    let metrics = page
        .into_iter()
        .map(|(_, m)| Metric {
            namespace: Some(m.namespace),
            metric_name: Some(m.metric_name),
            dimensions: Some(
                m.dimensions
                    .into_iter()
                    .map(|(name, value)| Dimension { name, value })
                    .collect(),
            ),
        })
        .collect();
    Ok(ListMetricsOutput {
        metrics: Some(metrics),
        next_token,
        owning_accounts,
    })
}
