//! What CloudWatch keeps in the store: its tables, keys and record types (owned types, never
//! the generated wire types).

use serde::{Deserialize, Serialize};
use wharf_store::{Table, TableFormat};

/// Every table of CloudWatch, with the format this wharf writes (checked by the server at
/// start).
pub const TABLES: &[TableFormat] = &[
    METRICS.format(),
    POINTS.format(),
    ALARMS.format(),
    ALARM_HISTORY.format(),
];

// ---- Metrics (PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics) ----

/// Metric identities, keyed `<account>/<region>/<namespace>\u{1}<metric name>\u{1}<metric id>`
/// (see [`metric_key`]): ListMetrics scans one namespace (and metric name) as a key prefix.
pub const METRICS: Table<MetricRecord> = Table::new("cloudwatch.metrics", 1);

/// Data points, keyed `<account>/<region>/<metric id>/<epoch millis, 15 digits>/<seq>` (see
/// [`point_key`]): a time range of one metric is one index range scan.
pub const POINTS: Table<PointRecord> = Table::new("cloudwatch.points", 1);

/// Separates the namespace and metric name in [`METRICS`] keys (neither can hold it usefully,
/// and a namespace may contain `/`).
pub const KEY_SEP: char = '\u{1}';

/// One metric: its namespace, name and dimensions (the identity AWS keys a metric by).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRecord {
    /// `AWS/ECS`, `MyApp`.
    pub namespace: String,
    /// `CPUUtilization`.
    pub metric_name: String,
    /// `(Name, Value)` pairs sorted by name (AWS treats the dimension set as unordered).
    pub dimensions: Vec<(String, String)>,
    /// The metric's id in [`POINTS`] keys (a hash of the identity, 32 hex digits).
    pub id: String,
    /// When a data point was last published (epoch millis), for `RecentlyActive` and the two
    /// weeks ListMetrics shows a metric after its last data point.
    pub last_put_millis: i64,
}

/// One stored data point: a value, a statistic set, or values with counts, or a roll-up of
/// several of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointRecord {
    /// When (epoch millis); a rolled-up point carries the start of its period.
    pub millis: i64,
    /// SampleCount.
    pub count: f64,
    /// Sum.
    pub sum: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// The unit it was published with (`None` when none was given).
    pub unit: String,
    /// Seconds this point stands for: the storage resolution it was published with (1 or 60),
    /// or the period it was rolled up into (60, 300, 3600).
    pub resolution: u32,
    /// The raw `(value, count)` samples when published as `Value` or `Values`/`Counts` (for
    /// percentiles); dropped by roll-ups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<(f64, f64)>>,
}

/// The [`METRICS`] key prefix of a namespace (and metric name) in one account and region.
pub fn metric_prefix(
    account: &str,
    region: &str,
    namespace: Option<&str>,
    metric_name: Option<&str>,
) -> String {
    match (namespace, metric_name) {
        (Some(ns), Some(name)) => format!("{account}/{region}/{ns}{KEY_SEP}{name}{KEY_SEP}"),
        (Some(ns), None) => format!("{account}/{region}/{ns}{KEY_SEP}"),
        _ => format!("{account}/{region}/"),
    }
}

/// The [`METRICS`] key of `metric`.
pub fn metric_key(account: &str, region: &str, metric: &MetricRecord) -> String {
    format!(
        "{}{}",
        metric_prefix(
            account,
            region,
            Some(&metric.namespace),
            Some(&metric.metric_name)
        ),
        metric.id
    )
}

/// The [`POINTS`] key prefix of metric `id` up to `millis` (the bound of a time range scan).
pub fn point_bound(account: &str, region: &str, id: &str, millis: i64) -> String {
    format!("{account}/{region}/{id}/{:015}", millis.max(0))
}

/// The [`POINTS`] key of a point of metric `id` at `millis`, made unique by `seq`.
pub fn point_key(account: &str, region: &str, id: &str, millis: i64, seq: &str) -> String {
    format!("{}/{seq}", point_bound(account, region, id, millis))
}

// ---- Alarms (alarms/, alarms_api.rs) ----

/// Metric alarms, keyed by [`alarm_key`].
pub const ALARMS: wharf_store::Table<AlarmRecord> = wharf_store::Table::new("cloudwatch.alarms", 1);

/// Alarm history items, keyed by [`history_key`] (time-ordered within an account and region).
pub const ALARM_HISTORY: wharf_store::Table<AlarmHistoryRecord> =
    wharf_store::Table::new("cloudwatch.alarm_history", 1);

/// `<account>/<region>/`: the prefix of one account's alarms (and history) in a region.
pub fn alarm_prefix(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

/// The key of alarm `name`.
pub fn alarm_key(account: &str, region: &str, name: &str) -> String {
    format!("{account}/{region}/{name}")
}

/// The key of a history item at `at` (`id` orders items of the same millisecond).
pub fn history_key(account: &str, region: &str, at: wharf_core::Timestamp, id: &str) -> String {
    format!("{account}/{region}/{:015}/{id}", at.millis.max(0))
}

/// The metric of a single-metric alarm, or of one `MetricStat` of a metric-math alarm.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlarmMetricRecord {
    /// `Namespace`.
    pub namespace: String,
    /// `MetricName`.
    pub metric_name: String,
    /// `(Name, Value)` dimensions, in the order given.
    pub dimensions: Vec<(String, String)>,
}

/// One `MetricStat` of a metric-math alarm's query.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlarmStatRecord {
    /// The metric.
    pub metric: AlarmMetricRecord,
    /// `Period`, in AWS seconds.
    pub period: i32,
    /// `Stat`.
    pub stat: String,
    /// `Unit`.
    pub unit: Option<String>,
}

/// One element of a metric-math alarm's `Metrics`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlarmQueryRecord {
    /// `Id`.
    pub id: String,
    /// `MetricStat` (exclusive with `expression`).
    pub metric_stat: Option<AlarmStatRecord>,
    /// `Expression`.
    pub expression: Option<String>,
    /// `Label`.
    pub label: Option<String>,
    /// `ReturnData` as given.
    pub return_data: Option<bool>,
    /// `Period` as given.
    pub period: Option<i32>,
    /// `AccountId` as given.
    pub account_id: Option<String>,
}

/// A metric alarm: its configuration as PutMetricAlarm gave it, and its state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlarmRecord {
    /// `AlarmName`.
    pub name: String,
    /// `AlarmArn`.
    pub arn: String,
    /// `AlarmDescription`.
    pub description: Option<String>,
    /// `ActionsEnabled` (default true).
    pub actions_enabled: bool,
    /// `OKActions`.
    pub ok_actions: Vec<String>,
    /// `AlarmActions`.
    pub alarm_actions: Vec<String>,
    /// `InsufficientDataActions`.
    pub insufficient_data_actions: Vec<String>,
    /// The metric of a single-metric alarm.
    pub metric: Option<AlarmMetricRecord>,
    /// `Statistic`.
    pub statistic: Option<String>,
    /// `ExtendedStatistic`.
    pub extended_statistic: Option<String>,
    /// `Period` of a single-metric alarm, in AWS seconds.
    pub period: Option<i32>,
    /// `Unit`.
    pub unit: Option<String>,
    /// `Metrics` of a metric-math alarm (empty for a single-metric alarm).
    pub queries: Vec<AlarmQueryRecord>,
    /// `EvaluationPeriods`.
    pub evaluation_periods: i32,
    /// `DatapointsToAlarm` as given (the evaluation uses `evaluation_periods` when absent).
    pub datapoints_to_alarm: Option<i32>,
    /// `Threshold`.
    pub threshold: f64,
    /// `ComparisonOperator`.
    pub comparison_operator: String,
    /// `TreatMissingData` as given (`missing` when absent).
    pub treat_missing_data: Option<String>,
    /// `EvaluateLowSampleCountPercentile` as given.
    pub evaluate_low_sample_count_percentile: Option<String>,
    /// `StateValue`: `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state_value: String,
    /// `StateReason`.
    pub state_reason: String,
    /// `StateReasonData` (JSON text).
    pub state_reason_data: Option<String>,
    /// `StateUpdatedTimestamp`: the last time the state or its reason changed.
    pub state_updated: wharf_core::Timestamp,
    /// `StateTransitionedTimestamp`: the last time the state value changed.
    pub state_transitioned: wharf_core::Timestamp,
    /// `AlarmConfigurationUpdatedTimestamp`.
    pub configuration_updated: wharf_core::Timestamp,
    /// Tags, in the order given.
    pub tags: Vec<(String, String)>,
    /// The newest value the last state change saw (the step a step-scaling policy takes).
    pub last_value: Option<f64>,
}

/// One item of an alarm's history (`DescribeAlarmHistory`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlarmHistoryRecord {
    /// `AlarmName`.
    pub alarm_name: String,
    /// `Timestamp`.
    pub timestamp: wharf_core::Timestamp,
    /// `HistoryItemType`: `ConfigurationUpdate`, `StateUpdate` or `Action`.
    pub item_type: String,
    /// `HistorySummary`.
    pub summary: String,
    /// `HistoryData` (JSON text).
    pub data: String,
}
