//! PutMetricAlarm's rules, as CloudWatch checks them, and the record an alarm's configuration
//! becomes (from PutMetricAlarm or from a service that owns the alarm). Anomaly-detection
//! alarms (band operators, `ThresholdMetricId`) and PromQL alarms are refused with a clear
//! error: wharf does not model anomaly bands.

use super::evaluation::{Comparison, MissingData};
use crate::generated::{Dimension, Error, MetricDataQuery, PutMetricAlarmInput};
use crate::records::{AlarmMetricRecord, AlarmQueryRecord, AlarmRecord, AlarmStatRecord};
use wharf_core::{ManagedAlarm, Timestamp};

/// Most actions of each kind (AlarmActions, OKActions, InsufficientDataActions).
pub const MAX_ACTIONS: usize = 5;
/// Most elements of a metric-math alarm's `Metrics`.
pub const MAX_METRICS: usize = 10;
/// Most dimensions of a metric.
pub const MAX_DIMENSIONS: usize = 30;
/// Most alarms per account and region (CloudWatch's quota).
pub const MAX_ALARMS: usize = 10_000;
/// The state of a new alarm's reason.
pub const INITIAL_REASON: &str = "Unchecked: Initial alarm creation";

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameterValueException(message.into())
}

fn combination(message: impl Into<String>) -> Error {
    Error::InvalidParameterCombinationException(message.into())
}

fn missing(field: &str) -> Error {
    Error::MissingRequiredParameterException(format!("The parameter {field} is required."))
}

/// Whether `stat` is an extended statistic CloudWatch accepts for alarms: `pNN` or `pNN.NN`
/// with 0 <= NN <= 100.
pub fn is_percentile(stat: &str) -> bool {
    let Some(number) = stat.strip_prefix('p') else {
        return false;
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str, max: usize| s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    !whole.is_empty()
        && digits(whole, 3)
        && digits(fraction, 10)
        && !(number.ends_with('.'))
        && number
            .parse::<f64>()
            .is_ok_and(|v| (0.0..=100.0).contains(&v))
}

/// Whether `period` (seconds) is one CloudWatch accepts: 10, 20, 30 or a multiple of 60.
pub fn period_ok(period: i32) -> bool {
    matches!(period, 10 | 20 | 30) || (period > 0 && period % 60 == 0)
}

fn dimensions_of(
    given: Option<&Vec<Dimension>>,
    field: &str,
) -> Result<Vec<(String, String)>, Error> {
    let dims = given.cloned().unwrap_or_default();
    if dims.len() > MAX_DIMENSIONS {
        return Err(invalid(format!(
            "The collection {field} must not have a size greater than {MAX_DIMENSIONS}."
        )));
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(dims.len());
    for d in dims {
        if out.iter().any(|(n, _)| *n == d.name) {
            return Err(combination(format!(
                "No metric may have duplicate dimension names: {} is given twice in {field}.",
                d.name
            )));
        }
        out.push((d.name, d.value));
    }
    Ok(out)
}

fn actions(list: Option<&Vec<String>>, field: &str, region: &str) -> Result<Vec<String>, Error> {
    let list = list.cloned().unwrap_or_default();
    if list.len() > MAX_ACTIONS {
        return Err(Error::LimitExceededFault(format!(
            "The maximum number of {field} is {MAX_ACTIONS}."
        )));
    }
    for arn in &list {
        let Some(parsed) = wharf_core::Arn::parse(arn) else {
            return Err(Error::ValidationError(format!("Invalid arn syntax: {arn}")));
        };
        if !parsed.region.is_empty() && parsed.region != region {
            return Err(Error::ValidationError(format!(
                "Invalid region {} specified. Only {region} is supported.",
                parsed.region
            )));
        }
    }
    Ok(list)
}

fn query_of(q: &MetricDataQuery, index: usize) -> Result<AlarmQueryRecord, Error> {
    let at = format!("Metrics.member.{index}");
    if q.id.is_empty()
        || !q.id.starts_with(|c: char| c.is_ascii_lowercase())
        || !q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(Error::ValidationError(format!(
            "The value {} for {at}.Id is not valid: an Id starts with a lowercase letter and holds only letters, numbers and underscores.",
            q.id
        )));
    }
    let metric_stat = match (&q.metric_stat, &q.expression) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(Error::ValidationError(format!(
                "Exactly one of MetricStat and Expression must be specified in {at}."
            )))
        }
        (Some(stat), None) => {
            let metric = &stat.metric;
            let (Some(namespace), Some(metric_name)) = (&metric.namespace, &metric.metric_name)
            else {
                return Err(missing(&format!("{at}.MetricStat.Metric.MetricName")));
            };
            if !period_ok(stat.period) {
                return Err(Error::ValidationError(format!(
                    "The value {} for {at}.MetricStat.Period is not valid: the period must be 10, 20, 30 or a multiple of 60.",
                    stat.period
                )));
            }
            Some(AlarmStatRecord {
                metric: AlarmMetricRecord {
                    namespace: namespace.clone(),
                    metric_name: metric_name.clone(),
                    dimensions: dimensions_of(
                        metric.dimensions.as_ref(),
                        &format!("{at}.MetricStat.Metric.Dimensions"),
                    )?,
                },
                period: stat.period,
                stat: stat.stat.clone(),
                unit: stat.unit.clone(),
            })
        }
        (None, Some(text)) => {
            crate::metrics::math::parse(text).map_err(|e| {
                Error::ValidationError(format!("Error in expression {}: {}", q.id, e.0))
            })?;
            None
        }
    };
    Ok(AlarmQueryRecord {
        id: q.id.clone(),
        metric_stat,
        expression: q.expression.clone(),
        label: q.label.clone(),
        return_data: q.return_data,
        period: q.period,
        account_id: q.account_id.clone(),
    })
}

/// The alarm's period in AWS seconds: `Period`, or for metric math the period of the query
/// that returns data (its `Period`, else the first `MetricStat`'s).
pub fn period_of(record: &AlarmRecord) -> i32 {
    if let Some(p) = record.period {
        return p;
    }
    let returning = record
        .queries
        .iter()
        .find(|q| q.return_data.unwrap_or(true));
    returning
        .and_then(|q| q.period.or(q.metric_stat.as_ref().map(|s| s.period)))
        .or_else(|| {
            record
                .queries
                .iter()
                .find_map(|q| q.metric_stat.as_ref().map(|s| s.period))
        })
        .unwrap_or(60)
}

fn check_metric_math(input: &PutMetricAlarmInput) -> Result<Vec<AlarmQueryRecord>, Error> {
    let Some(metrics) = &input.metrics else {
        return Ok(Vec::new());
    };
    let single = [
        ("MetricName", input.metric_name.is_some()),
        ("Namespace", input.namespace.is_some()),
        ("Statistic", input.statistic.is_some()),
        ("ExtendedStatistic", input.extended_statistic.is_some()),
        ("Dimensions", input.dimensions.is_some()),
        ("Period", input.period.is_some()),
        ("Unit", input.unit.is_some()),
    ];
    if let Some((field, _)) = single.iter().find(|(_, given)| *given) {
        return Err(combination(format!(
            "The parameters Metrics and {field} are mutually exclusive: a metric math alarm gives its metrics in Metrics only."
        )));
    }
    if metrics.is_empty() || metrics.len() > MAX_METRICS {
        return Err(Error::ValidationError(format!(
            "The collection Metrics must have between 1 and {MAX_METRICS} elements."
        )));
    }
    if metrics
        .iter()
        .filter(|q| q.return_data.unwrap_or(true))
        .count()
        != 1
    {
        return Err(Error::ValidationError(
            "Exactly one element of the metrics list should return data.".into(),
        ));
    }
    let mut out: Vec<AlarmQueryRecord> = Vec::with_capacity(metrics.len());
    for (i, q) in metrics.iter().enumerate() {
        let record = query_of(q, i + 1)?;
        if out.iter().any(|o| o.id == record.id) {
            return Err(Error::ValidationError(format!(
                "The value {} for Metrics.member.{}.Id is not unique.",
                record.id,
                i + 1
            )));
        }
        out.push(record);
    }
    for q in &out {
        let Some(text) = &q.expression else { continue };
        let Ok(expr) = crate::metrics::math::parse(text) else {
            continue;
        };
        if let Some(unknown) = crate::metrics::math::references(&expr)
            .0
            .into_iter()
            .find(|id| !out.iter().any(|o| o.id == *id))
        {
            return Err(Error::ValidationError(format!(
                "Error in expression {}: Unrecognized metric or expression id {unknown}.",
                q.id
            )));
        }
    }
    Ok(out)
}

/// The metric of a single-metric alarm: `(metric, Statistic, ExtendedStatistic, Period)`.
type SingleMetric = (AlarmMetricRecord, Option<String>, Option<String>, i32);

/// Checks the metric of a single-metric alarm (no `Metrics`).
fn single_metric(input: &PutMetricAlarmInput) -> Result<SingleMetric, Error> {
    let metric_name = input
        .metric_name
        .clone()
        .ok_or_else(|| missing("MetricName"))?;
    let namespace = input
        .namespace
        .clone()
        .ok_or_else(|| missing("Namespace"))?;
    let period = input.period.ok_or_else(|| missing("Period"))?;
    if !period_ok(period) {
        return Err(invalid(format!(
            "The value {period} for parameter Period is not valid: the period must be 10, 20, 30 or a multiple of 60."
        )));
    }
    match (&input.statistic, &input.extended_statistic) {
        (Some(_), Some(_)) => {
            return Err(combination(
                "Statistic and ExtendedStatistic are mutually exclusive: give exactly one.",
            ))
        }
        (None, None) => return Err(missing("Statistic or ExtendedStatistic")),
        (None, Some(p)) if !is_percentile(p) => {
            return Err(invalid(format!(
                "The value {p} for parameter ExtendedStatistic is not supported: use a percentile such as p99 or p99.9."
            )))
        }
        _ => {}
    }
    let metric = AlarmMetricRecord {
        namespace,
        metric_name,
        dimensions: dimensions_of(input.dimensions.as_ref(), "Dimensions")?,
    };
    Ok((
        metric,
        input.statistic.clone(),
        input.extended_statistic.clone(),
        period,
    ))
}

/// Checks EvaluationPeriods, DatapointsToAlarm, ComparisonOperator, Threshold and the span
/// they cover with `period` (seconds); returns `(EvaluationPeriods, ComparisonOperator,
/// Threshold)`.
fn evaluation(input: &PutMetricAlarmInput, period: i32) -> Result<(i32, String, f64), Error> {
    let evaluation_periods = input
        .evaluation_periods
        .ok_or_else(|| missing("EvaluationPeriods"))?;
    if evaluation_periods < 1 {
        return Err(invalid(format!(
            "The value {evaluation_periods} for parameter EvaluationPeriods is not valid: it must be at least 1."
        )));
    }
    if let Some(m) = input.datapoints_to_alarm {
        if m < 1 {
            return Err(invalid(format!(
                "The value {m} for parameter DatapointsToAlarm is not valid: it must be at least 1."
            )));
        }
        if m > evaluation_periods {
            return Err(Error::ValidationError(
                "DatapointsToAlarm must be less than or equal to EvaluationPeriods".into(),
            ));
        }
    }
    let comparison_operator = input
        .comparison_operator
        .clone()
        .ok_or_else(|| missing("ComparisonOperator"))?;
    if input.threshold_metric_id.is_some() || Comparison::parse(&comparison_operator).is_none() {
        return Err(Error::ValidationError(format!(
            "wharf does not evaluate anomaly detection alarms: ComparisonOperator {comparison_operator}{} is not supported; use a static Threshold with GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold.",
            if input.threshold_metric_id.is_some() { " with ThresholdMetricId" } else { "" }
        )));
    }
    let threshold = input.threshold.ok_or_else(|| missing("Threshold"))?;
    if !threshold.is_finite() {
        return Err(invalid(
            "The value for parameter Threshold must be a finite number.",
        ));
    }
    let limit = if period >= 3600 { 7 * 86_400 } else { 86_400 };
    if i64::from(period) * i64::from(evaluation_periods) > limit {
        return Err(Error::ValidationError(format!(
            "Metrics cannot be checked across more than {} (EvaluationPeriods * Period must be <= {limit})",
            if limit == 86_400 { "a day" } else { "a week" }
        )));
    }
    Ok((evaluation_periods, comparison_operator, threshold))
}

/// Checks TreatMissingData and EvaluateLowSampleCountPercentile.
fn options(input: &PutMetricAlarmInput, percentile: bool) -> Result<(), Error> {
    if let Some(t) = &input.treat_missing_data {
        if MissingData::parse(t).is_none() {
            return Err(invalid(format!(
                "The value {t} for parameter TreatMissingData is not valid. Valid values: breaching, notBreaching, ignore, missing."
            )));
        }
    }
    if let Some(e) = &input.evaluate_low_sample_count_percentile {
        if e != "evaluate" && e != "ignore" {
            return Err(invalid(format!(
                "The value {e} for parameter EvaluateLowSampleCountPercentile is not valid. Valid values: evaluate, ignore."
            )));
        }
        if !percentile {
            return Err(combination(
                "EvaluateLowSampleCountPercentile can only be used with a percentile ExtendedStatistic.",
            ));
        }
    }
    Ok(())
}

/// PutMetricAlarm's input as an alarm record (state: a new alarm's), or AWS's error.
pub fn from_input(
    input: &PutMetricAlarmInput,
    account: &str,
    region: &str,
    now: Timestamp,
) -> Result<AlarmRecord, Error> {
    if input.alarm_name.chars().count() > 255 {
        return Err(invalid(
            "The value for AlarmName must have length less than or equal to 255.",
        ));
    }
    if input.evaluation_criteria.is_some() || input.evaluation_interval.is_some() {
        return Err(invalid(
            "wharf does not evaluate PromQL alarms (EvaluationCriteria, EvaluationInterval).",
        ));
    }
    let queries = check_metric_math(input)?;
    let (metric, statistic, extended_statistic, period) = if queries.is_empty() {
        let (metric, statistic, extended, period) = single_metric(input)?;
        (Some(metric), statistic, extended, Some(period))
    } else {
        (None, None, None, None)
    };
    let math_period = || {
        queries
            .iter()
            .find_map(|q| q.metric_stat.as_ref().map(|s| s.period))
            .unwrap_or(60)
    };
    let (evaluation_periods, comparison_operator, threshold) =
        evaluation(input, period.unwrap_or_else(math_period))?;
    options(input, extended_statistic.is_some())?;
    let alarm_actions = actions(input.alarm_actions.as_ref(), "AlarmActions", region)?;
    let ok_actions = actions(input.ok_actions.as_ref(), "OKActions", region)?;
    let insufficient_data_actions = actions(
        input.insufficient_data_actions.as_ref(),
        "InsufficientDataActions",
        region,
    )?;
    Ok(AlarmRecord {
        name: input.alarm_name.clone(),
        arn: super::alarm_arn(account, region, &input.alarm_name),
        description: input.alarm_description.clone(),
        actions_enabled: input.actions_enabled.unwrap_or(true),
        ok_actions,
        alarm_actions,
        insufficient_data_actions,
        metric,
        statistic,
        extended_statistic,
        period,
        unit: input.unit.clone(),
        queries,
        evaluation_periods,
        datapoints_to_alarm: input.datapoints_to_alarm,
        threshold,
        comparison_operator,
        treat_missing_data: input.treat_missing_data.clone(),
        evaluate_low_sample_count_percentile: input.evaluate_low_sample_count_percentile.clone(),
        state_value: "INSUFFICIENT_DATA".into(),
        state_reason: INITIAL_REASON.into(),
        state_reason_data: None,
        state_updated: now,
        state_transitioned: now,
        configuration_updated: now,
        tags: input
            .tags
            .iter()
            .flatten()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
        last_value: None,
    })
}

/// A managed alarm (a target-tracking policy's) as PutMetricAlarm input: the same rules apply.
pub fn managed_input(alarm: &ManagedAlarm) -> PutMetricAlarmInput {
    let as_i32 = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    PutMetricAlarmInput {
        alarm_name: alarm.name.clone(),
        alarm_description: Some(alarm.description.clone()),
        actions_enabled: Some(true),
        alarm_actions: Some(alarm.alarm_actions.clone()),
        metric_name: Some(alarm.metric.metric_name.clone()),
        namespace: Some(alarm.metric.namespace.clone()),
        statistic: Some(alarm.metric.statistic.clone()).filter(|s| !is_percentile(s)),
        extended_statistic: Some(alarm.metric.statistic.clone()).filter(|s| is_percentile(s)),
        dimensions: Some(
            alarm
                .metric
                .dimensions
                .iter()
                .map(|(name, value)| Dimension {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
        ),
        period: Some(as_i32(alarm.period_seconds)),
        unit: alarm.metric.unit.clone(),
        evaluation_periods: Some(as_i32(alarm.evaluation_periods)),
        datapoints_to_alarm: Some(as_i32(alarm.datapoints_to_alarm)),
        threshold: Some(alarm.threshold),
        comparison_operator: Some(alarm.comparison_operator.clone()),
        treat_missing_data: Some(alarm.treat_missing_data.clone()),
        ..Default::default()
    }
}

/// `record` with the configuration of `new` and the state (and tags) it had.
pub fn replace_configuration(old: &AlarmRecord, mut new: AlarmRecord) -> AlarmRecord {
    new.state_value = old.state_value.clone();
    new.state_reason = old.state_reason.clone();
    new.state_reason_data = old.state_reason_data.clone();
    new.state_updated = old.state_updated;
    new.state_transitioned = old.state_transitioned;
    new.tags = old.tags.clone();
    new.last_value = old.last_value;
    new
}
