//! Alarm records as the API shows them: `MetricAlarm` (DescribeAlarms,
//! DescribeAlarmsForMetric), the camel-case alarm JSON of history items, and the filters
//! DescribeAlarms applies.

use super::evaluation::reason_data_time;
use crate::generated::{Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat, Tag};
use crate::records::{AlarmMetricRecord, AlarmQueryRecord, AlarmRecord};
use serde_json::{json, Map, Value};

fn dimensions(dims: &[(String, String)]) -> Vec<Dimension> {
    dims.iter()
        .map(|(name, value)| Dimension {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

fn metric(m: &AlarmMetricRecord) -> Metric {
    Metric {
        namespace: Some(m.namespace.clone()),
        metric_name: Some(m.metric_name.clone()),
        dimensions: Some(dimensions(&m.dimensions)),
    }
}

/// A metric-math alarm's query as GetMetricData takes it.
pub fn query(q: &AlarmQueryRecord) -> MetricDataQuery {
    MetricDataQuery {
        id: q.id.clone(),
        metric_stat: q.metric_stat.as_ref().map(|s| MetricStat {
            metric: metric(&s.metric),
            period: s.period,
            stat: s.stat.clone(),
            unit: s.unit.clone(),
        }),
        expression: q.expression.clone(),
        label: q.label.clone(),
        return_data: q.return_data,
        period: q.period,
        account_id: q.account_id.clone(),
    }
}

/// The alarm as DescribeAlarms lists it.
pub fn metric_alarm(r: &AlarmRecord) -> MetricAlarm {
    MetricAlarm {
        alarm_name: Some(r.name.clone()),
        alarm_arn: Some(r.arn.clone()),
        alarm_description: r.description.clone(),
        alarm_configuration_updated_timestamp: Some(r.configuration_updated),
        actions_enabled: Some(r.actions_enabled),
        ok_actions: Some(r.ok_actions.clone()),
        alarm_actions: Some(r.alarm_actions.clone()),
        insufficient_data_actions: Some(r.insufficient_data_actions.clone()),
        state_value: Some(r.state_value.clone()),
        state_reason: Some(r.state_reason.clone()),
        state_reason_data: r.state_reason_data.clone(),
        state_updated_timestamp: Some(r.state_updated),
        metric_name: r.metric.as_ref().map(|m| m.metric_name.clone()),
        namespace: r.metric.as_ref().map(|m| m.namespace.clone()),
        statistic: r.statistic.clone(),
        extended_statistic: r.extended_statistic.clone(),
        dimensions: Some(
            r.metric
                .as_ref()
                .map(|m| dimensions(&m.dimensions))
                .unwrap_or_default(),
        ),
        period: r.period,
        unit: r.unit.clone(),
        evaluation_periods: Some(r.evaluation_periods),
        datapoints_to_alarm: r.datapoints_to_alarm,
        threshold: Some(r.threshold),
        comparison_operator: Some(r.comparison_operator.clone()),
        treat_missing_data: r.treat_missing_data.clone(),
        evaluate_low_sample_count_percentile: r.evaluate_low_sample_count_percentile.clone(),
        metrics: (!r.queries.is_empty()).then(|| r.queries.iter().map(query).collect()),
        threshold_metric_id: None,
        evaluation_state: None,
        state_transitioned_timestamp: Some(r.state_transitioned),
        evaluation_criteria: None,
        evaluation_interval: None,
    }
}

/// The alarm's tags on the wire.
pub fn tags(r: &AlarmRecord) -> Vec<Tag> {
    r.tags
        .iter()
        .map(|(key, value)| Tag {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

/// The alarm as history items embed it: AWS's camel-case alarm JSON, times in ISO 8601.
pub fn history_json(r: &AlarmRecord) -> Value {
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() {
            out.insert(k.into(), v);
        }
    };
    put("alarmName", json!(r.name));
    put("alarmArn", json!(r.arn));
    put("alarmDescription", json!(r.description));
    put(
        "alarmConfigurationUpdatedTimestamp",
        json!(reason_data_time(r.configuration_updated)),
    );
    put("actionsEnabled", json!(r.actions_enabled));
    put("okactions", json!(r.ok_actions));
    put("alarmActions", json!(r.alarm_actions));
    put(
        "insufficientDataActions",
        json!(r.insufficient_data_actions),
    );
    if let Some(m) = &r.metric {
        put("metricName", json!(m.metric_name));
        put("namespace", json!(m.namespace));
        put(
            "dimensions",
            Value::Array(
                m.dimensions
                    .iter()
                    .map(|(n, v)| json!({"name": n, "value": v}))
                    .collect(),
            ),
        );
    }
    put("statistic", json!(r.statistic));
    put("extendedStatistic", json!(r.extended_statistic));
    put("period", json!(r.period));
    put("unit", json!(r.unit));
    put("evaluationPeriods", json!(r.evaluation_periods));
    put("datapointsToAlarm", json!(r.datapoints_to_alarm));
    put("threshold", json!(r.threshold));
    put("comparisonOperator", json!(r.comparison_operator));
    put("treatMissingData", json!(r.treat_missing_data));
    put(
        "evaluateLowSampleCountPercentile",
        json!(r.evaluate_low_sample_count_percentile),
    );
    if !r.queries.is_empty() {
        put(
            "metrics",
            Value::Array(
                r.queries
                    .iter()
                    .map(|q| {
                        let mut m = Map::new();
                        m.insert("id".into(), json!(q.id));
                        if let Some(s) = &q.metric_stat {
                            m.insert(
                                "metricStat".into(),
                                json!({
                                    "metric": {
                                        "namespace": s.metric.namespace,
                                        "metricName": s.metric.metric_name,
                                        "dimensions": s.metric.dimensions.iter()
                                            .map(|(n, v)| json!({"name": n, "value": v}))
                                            .collect::<Vec<_>>(),
                                    },
                                    "period": s.period,
                                    "stat": s.stat,
                                }),
                            );
                        }
                        if let Some(e) = &q.expression {
                            m.insert("expression".into(), json!(e));
                        }
                        if let Some(l) = &q.label {
                            m.insert("label".into(), json!(l));
                        }
                        m.insert("returnData".into(), json!(q.return_data.unwrap_or(true)));
                        Value::Object(m)
                    })
                    .collect(),
            ),
        );
    }
    Value::Object(out)
}

/// DescribeAlarms' filters on metric alarms.
#[derive(Debug, Default)]
pub struct AlarmFilter<'a> {
    /// `AlarmNames`.
    pub names: Option<&'a [String]>,
    /// `AlarmNamePrefix`.
    pub name_prefix: Option<&'a str>,
    /// `StateValue`.
    pub state: Option<&'a str>,
    /// `ActionPrefix`.
    pub action_prefix: Option<&'a str>,
}

impl AlarmFilter<'_> {
    /// Whether `r` passes every filter given.
    pub fn matches(&self, r: &AlarmRecord) -> bool {
        self.names.is_none_or(|names| names.contains(&r.name))
            && self.name_prefix.is_none_or(|p| r.name.starts_with(p))
            && self.state.is_none_or(|s| r.state_value == s)
            && self.action_prefix.is_none_or(|p| {
                r.alarm_actions
                    .iter()
                    .chain(&r.ok_actions)
                    .chain(&r.insufficient_data_actions)
                    .any(|a| a.starts_with(p))
            })
    }
}

/// DescribeAlarmsForMetric's match: the metric (namespace, name, exactly these dimensions),
/// and each optional field given.
pub struct MetricFilter<'a> {
    /// `Namespace`.
    pub namespace: &'a str,
    /// `MetricName`.
    pub metric_name: &'a str,
    /// `Dimensions` (order does not matter).
    pub dimensions: Option<&'a [Dimension]>,
    /// `Statistic`.
    pub statistic: Option<&'a str>,
    /// `ExtendedStatistic`.
    pub extended_statistic: Option<&'a str>,
    /// `Period`.
    pub period: Option<i32>,
    /// `Unit`.
    pub unit: Option<&'a str>,
}

impl MetricFilter<'_> {
    /// Whether `r` watches this metric.
    pub fn matches(&self, r: &AlarmRecord) -> bool {
        let Some(m) = &r.metric else {
            return false;
        };
        let dims_match = self.dimensions.is_none_or(|given| {
            given.len() == m.dimensions.len()
                && given.iter().all(|d| {
                    m.dimensions
                        .iter()
                        .any(|(n, v)| *n == d.name && *v == d.value)
                })
        });
        m.namespace == self.namespace
            && m.metric_name == self.metric_name
            && dims_match
            && self
                .statistic
                .is_none_or(|s| r.statistic.as_deref() == Some(s))
            && self
                .extended_statistic
                .is_none_or(|s| r.extended_statistic.as_deref() == Some(s))
            && self.period.is_none_or(|p| r.period == Some(p))
            && self.unit.is_none_or(|u| r.unit.as_deref() == Some(u))
    }
}
