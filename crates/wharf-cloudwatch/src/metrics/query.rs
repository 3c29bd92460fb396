//! Reading metrics back: the period rules and bucket grid of GetMetricStatistics, the
//! statistics of one metric over a time range ([`series`]), and GetMetricData's evaluation of
//! MetricStat and math queries ([`run_queries`]).

use super::math::{self, Series, Value};
use super::statistics::{buckets, Bucket, Stat};
use super::store::{metric_id, read_points};
use crate::generated::{Error, MessageData, MetricDataQuery, MetricDataResult};
use crate::CloudWatch;
use std::collections::{BTreeMap, BTreeSet};
use wharf_core::Timestamp;

/// GetMetricStatistics answers at most this many datapoints.
pub const MAX_DATAPOINTS: i64 = 1440;
/// GetMetricData takes at most this many queries.
pub const MAX_QUERIES: usize = 500;

/// Whether `period` (seconds) is one AWS accepts: 1, 5, 10, 20, 30 or a multiple of 60.
pub fn valid_period(period: i64) -> bool {
    matches!(period, 1 | 5 | 10 | 20 | 30) || (period > 0 && period % 60 == 0)
}

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// The granularity retention leaves data starting at `start` with when asked at `now`: any
/// (1 ms) up to 3 hours old, then 1 minute, 5 minutes after 15 days, 1 hour after 63 days.
pub fn stored_granularity(start: i64, now: i64) -> i64 {
    match now - start {
        age if age > 63 * DAY => HOUR,
        age if age > 15 * DAY => 300_000,
        age if age > 3 * HOUR => 60_000,
        _ => 1,
    }
}

/// AWS's rule for old data: a query starting more than 3 hours (15 days, 63 days) before `now`
/// returns no datapoints unless its period is a multiple of 60 (300, 3600) seconds. `now` is
/// `None` for the alarms, whose short windows always end now.
pub fn period_serves(start: i64, now: Option<i64>, period_millis: i64) -> bool {
    now.is_none_or(|now| period_millis % stored_granularity(start, now) == 0)
}

/// Where the buckets of a query of `period_millis` starting at `start` begin: AWS rounds the
/// start down to the minute (to the period for periods under a minute); starts more than 15
/// (63) days before `now` to 5 minutes (an hour).
pub fn grid_origin(start: i64, now: Option<i64>, period_millis: i64) -> i64 {
    let coarse = now.map_or(1, |now| stored_granularity(start, now));
    let align = if coarse >= 300_000 {
        coarse
    } else {
        period_millis.clamp(1, 60_000)
    };
    start - start.rem_euclid(align)
}

/// The data of one metric: namespace, name, dimensions (any order) and an optional unit.
#[derive(Debug, Clone, Copy)]
pub struct MetricRef<'a> {
    /// Namespace.
    pub namespace: &'a str,
    /// Metric name.
    pub metric_name: &'a str,
    /// Dimensions.
    pub dimensions: &'a [(String, String)],
    /// Only points published with this unit.
    pub unit: Option<&'a str>,
}

/// The period buckets (with data) of one metric over `[start, end)`, ascending; with `now`,
/// AWS's rules for old data apply ([`period_serves`], [`grid_origin`]).
#[allow(clippy::too_many_arguments)]
pub fn metric_buckets(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    metric: MetricRef<'_>,
    start: i64,
    end: i64,
    period_millis: i64,
    now: Option<i64>,
) -> Result<Vec<Bucket>, Error> {
    if !period_serves(start, now, period_millis) {
        return Ok(Vec::new());
    }
    let mut dims = metric.dimensions.to_vec();
    dims.sort();
    let id = metric_id(metric.namespace, metric.metric_name, &dims);
    let origin = grid_origin(start, now, period_millis);
    let mut points = cw
        .store
        .read(|tx| read_points(tx, account, region, &id, origin, end))?;
    if let Some(unit) = metric.unit {
        points.retain(|p| p.unit == unit);
    }
    Ok(buckets(&points, origin, period_millis))
}

/// One value per period bucket that has data, ascending by time; stat is
/// "Average" | "Sum" | "SampleCount" | "Minimum" | "Maximum" | "pNN(.N)".
#[allow(clippy::too_many_arguments)]
pub fn series(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    namespace: &str,
    metric_name: &str,
    dimensions: &[(String, String)],
    stat: &str,
    unit: Option<&str>,
    start: Timestamp,
    end: Timestamp,
    period_millis: i64,
) -> Result<Vec<(Timestamp, f64)>, Error> {
    let parsed = Stat::parse(stat).ok_or_else(|| {
        Error::InvalidParameterValueException(format!(
            "The value {stat} for parameter Statistic is not a valid statistic."
        ))
    })?;
    let metric = MetricRef {
        namespace,
        metric_name,
        dimensions,
        unit,
    };
    let found = metric_buckets(
        cw,
        account,
        region,
        metric,
        start.millis,
        end.millis,
        period_millis,
        None,
    )?;
    Ok(found
        .iter()
        .filter_map(|b| {
            b.value(parsed)
                .map(|v| (Timestamp::from_millis(b.start), v))
        })
        .collect())
}

/// A checked GetMetricData query.
enum Checked<'a> {
    Stat {
        metric: MetricRef<'a>,
        stat: Stat,
        period_millis: i64,
    },
    Math(math::Expr),
}

fn validation(m: String) -> Error {
    Error::ValidationError(m)
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check<'a>(
    i: usize,
    q: &'a MetricDataQuery,
    dims: &'a [(String, String)],
    period_override_millis: Option<i64>,
) -> Result<Checked<'a>, Error> {
    let field = format!("MetricDataQueries.member.{}", i + 1);
    if !valid_id(&q.id) {
        return Err(validation(format!(
            "The value {} for parameter {field}.Id is invalid. The first character must be a lowercase letter; the others letters, numbers or underscores.",
            q.id
        )));
    }
    match (&q.metric_stat, &q.expression) {
        (Some(_), Some(_)) => Err(validation(format!(
            "The parameters {field}.MetricStat and {field}.Expression are mutually exclusive and you have specified both."
        ))),
        (None, None) => Err(validation(format!(
            "The parameter {field}.MetricStat is required.\n"
        ))),
        (None, Some(text)) => math::parse(text)
            .map(Checked::Math)
            .map_err(|e| validation(format!("Error in expression {}: {}", q.id, e.0))),
        (Some(ms), None) => {
            let stat = Stat::parse(&ms.stat).ok_or_else(|| {
                validation(format!(
                    "The value for parameter {field}.MetricStat.Stat is not a valid statistic."
                ))
            })?;
            let (Some(namespace), Some(metric_name)) =
                (ms.metric.namespace.as_deref(), ms.metric.metric_name.as_deref())
            else {
                let missing = if ms.metric.namespace.is_none() { "Namespace" } else { "MetricName" };
                return Err(validation(format!(
                    "The parameter {field}.MetricStat.Metric.{missing} is required."
                )));
            };
            let period = i64::from(ms.period);
            if !valid_period(period) {
                return Err(validation(format!(
                    "The parameter {field}.MetricStat.Period must be 1, 5, 10, 20, 30, 60, or any multiple of 60."
                )));
            }
            Ok(Checked::Stat {
                metric: MetricRef {
                    namespace,
                    metric_name,
                    dimensions: dims,
                    unit: ms.unit.as_deref(),
                },
                stat,
                period_millis: period_override_millis.unwrap_or(period * 1000),
            })
        }
    }
}

/// GetMetricData's evaluation of `queries` (MetricStat + math) over [start, end), for
/// metric-math alarms; results in query order, values ascending by time.
pub fn run_queries(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    queries: &[MetricDataQuery],
    start: Timestamp,
    end: Timestamp,
    period_override_millis: Option<i64>,
) -> Result<Vec<MetricDataResult>, Error> {
    if queries.is_empty() {
        return Err(Error::MissingRequiredParameterException(
            "The parameter MetricDataQueries is required.".into(),
        ));
    }
    if queries.len() > MAX_QUERIES {
        return Err(validation(format!(
            "The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )));
    }
    let dims: Vec<Vec<(String, String)>> = queries
        .iter()
        .map(|q| {
            q.metric_stat
                .iter()
                .flat_map(|ms| ms.metric.dimensions.iter().flatten())
                .map(|d| (d.name.clone(), d.value.clone()))
                .collect()
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut checked = Vec::with_capacity(queries.len());
    for (i, (q, dims)) in queries.iter().zip(&dims).enumerate() {
        if !seen.insert(q.id.as_str()) {
            return Err(validation(format!(
                "The value {} for parameter MetricDataQueries.member.{}.Id is not unique.",
                q.id,
                i + 1
            )));
        }
        checked.push(check(i, q, dims, period_override_millis)?);
    }
    if !queries.iter().any(|q| q.return_data.unwrap_or(true)) {
        return Err(validation(
            "At least one MetricDataQuery must have ReturnData set to true.".into(),
        ));
    }
    // the MetricStat queries first, then the expressions in dependency order
    let mut env: BTreeMap<String, Series> = BTreeMap::new();
    let mut metric_ids = Vec::new();
    let mut grid: BTreeSet<i64> = BTreeSet::new();
    for (q, c) in queries.iter().zip(&checked) {
        if let Checked::Stat {
            metric,
            stat,
            period_millis,
        } = c
        {
            let metric = *metric;
            // GetMetricData (no period override) follows AWS's rules for old data
            let now = period_override_millis
                .is_none()
                .then(|| cw.clock.now().millis);
            let found = metric_buckets(
                cw,
                account,
                region,
                metric,
                start.millis,
                end.millis,
                *period_millis,
                now,
            )?;
            let points: Vec<(i64, f64)> = found
                .iter()
                .filter_map(|b| b.value(*stat).map(|v| (b.start, v)))
                .collect();
            grid.extend(points.iter().map(|p| p.0));
            let label = q
                .label
                .clone()
                .unwrap_or_else(|| metric.metric_name.to_string());
            env.insert(q.id.clone(), Series { label, points });
            metric_ids.push(q.id.clone());
        }
    }
    let exprs: BTreeMap<&str, &math::Expr> = queries
        .iter()
        .zip(&checked)
        .filter_map(|(q, c)| match c {
            Checked::Math(e) => Some((q.id.as_str(), e)),
            Checked::Stat { .. } => None,
        })
        .collect();
    let mut arrays: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for id in exprs.keys() {
        evaluate(
            id,
            &exprs,
            &mut env,
            &mut arrays,
            &metric_ids,
            &grid,
            &mut Vec::new(),
        )?;
    }
    let mut results = Vec::new();
    for q in queries.iter().filter(|q| q.return_data.unwrap_or(true)) {
        let list: Vec<Series> = match arrays.get(&q.id) {
            Some(list) => list.clone(),
            None => env.get(&q.id).cloned().into_iter().collect(),
        };
        for s in list {
            let label = match (&q.label, q.expression.is_some()) {
                (Some(l), _) => l.clone(),
                (None, true) if s.label.is_empty() => q.id.clone(),
                _ => s.label.clone(),
            };
            results.push(MetricDataResult {
                id: Some(q.id.clone()),
                label: Some(label),
                timestamps: Some(
                    s.points
                        .iter()
                        .map(|p| Timestamp::from_millis(p.0))
                        .collect(),
                ),
                values: Some(s.points.iter().map(|p| p.1).collect()),
                status_code: Some("Complete".into()),
                messages: Some(Vec::<MessageData>::new()),
            });
        }
    }
    Ok(results)
}

/// Evaluates expression `id` (after the expressions it refers to), storing its series in `env`
/// (or its array of series in `arrays`).
fn evaluate(
    id: &str,
    exprs: &BTreeMap<&str, &math::Expr>,
    env: &mut BTreeMap<String, Series>,
    arrays: &mut BTreeMap<String, Vec<Series>>,
    metric_ids: &[String],
    grid: &BTreeSet<i64>,
    visiting: &mut Vec<String>,
) -> Result<(), Error> {
    if env.contains_key(id) || arrays.contains_key(id) {
        return Ok(());
    }
    let Some(expr) = exprs.get(id) else {
        return Ok(());
    };
    if visiting.iter().any(|v| v == id) {
        return Err(validation(format!(
            "Error in expression {id}: circular reference through {}.",
            visiting.join(", ")
        )));
    }
    visiting.push(id.to_string());
    for dep in math::references(expr).0 {
        evaluate(&dep, exprs, env, arrays, metric_ids, grid, visiting)?;
        if arrays.contains_key(&dep) {
            return Err(validation(format!(
                "Error in expression {id}: {dep} is an array of time series and cannot be used in another expression."
            )));
        }
    }
    visiting.pop();
    let value = math::eval(
        expr,
        &math::Env {
            series: env,
            metric_ids,
        },
    )
    .map_err(|e| validation(format!("Error in expression {id}: {}", e.0)))?;
    match value {
        // a scalar is shown at every timestamp the request's metrics have
        Value::Scalar(x) => {
            let points = if x.is_finite() {
                grid.iter().map(|t| (*t, x)).collect()
            } else {
                Vec::new()
            };
            env.insert(
                id.to_string(),
                Series {
                    label: String::new(),
                    points,
                },
            );
        }
        Value::Series(s) => {
            env.insert(id.to_string(), s);
        }
        Value::Array(list) => {
            arrays.insert(id.to_string(), list);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_aws_accepts() {
        for ok in [1, 5, 10, 20, 30, 60, 120, 300, 3600, 86400] {
            assert!(valid_period(ok), "{ok}");
        }
        for bad in [0, -60, 2, 15, 45, 61, 90] {
            assert!(!valid_period(bad), "{bad}");
        }
    }

    #[test]
    fn the_grid_starts_at_the_minute_or_the_short_period() {
        assert_eq!(grid_origin(754_000, None, 300_000), 720_000);
        assert_eq!(grid_origin(754_000, None, 60_000), 720_000);
        assert_eq!(grid_origin(754_000, None, 10_000), 750_000);
        assert_eq!(grid_origin(754_321, None, 1_000), 754_000);
        assert_eq!(grid_origin(754_321, None, 3_000), 753_000);
        // old starts: 12:32:34 is rounded to 12:30 after 15 days, to 12:00 after 63 days
        let start = 100 * DAY + 12 * HOUR + 32 * 60_000 + 34_000;
        assert_eq!(
            grid_origin(start, Some(start + 4 * HOUR), 60_000),
            start - 34_000
        );
        assert_eq!(
            grid_origin(start, Some(start + 20 * DAY), 300_000),
            start - 2 * 60_000 - 34_000
        );
        assert_eq!(
            grid_origin(start, Some(start + 70 * DAY), 3_600_000),
            start - 32 * 60_000 - 34_000
        );
    }

    #[test]
    fn old_data_needs_coarser_periods() {
        let start = 100 * DAY;
        assert!(period_serves(start, None, 1_000));
        assert!(period_serves(start, Some(start + 2 * HOUR), 1_000));
        assert!(!period_serves(start, Some(start + 4 * HOUR), 10_000));
        assert!(period_serves(start, Some(start + 4 * HOUR), 120_000));
        assert!(!period_serves(start, Some(start + 16 * DAY), 60_000));
        assert!(period_serves(start, Some(start + 16 * DAY), 600_000));
        assert!(!period_serves(start, Some(start + 64 * DAY), 300_000));
        assert!(period_serves(start, Some(start + 64 * DAY), 86_400_000));
    }

    #[test]
    fn query_ids_start_with_a_lowercase_letter() {
        assert!(valid_id("m1"));
        assert!(valid_id("cpu_High2"));
        for bad in ["", "M1", "1m", "m-1", "_m", "m 1"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
