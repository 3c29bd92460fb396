//! What CloudWatch keeps in the store: its tables, keys and record types (owned types, never
//! the generated wire types).

use serde::{Deserialize, Serialize};
use wharf_store::{Table, TableFormat};

/// Every table of CloudWatch, with the format this wharf writes (checked by the server at
/// start).
pub const TABLES: &[TableFormat] = &[METRICS.format(), POINTS.format()];

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
