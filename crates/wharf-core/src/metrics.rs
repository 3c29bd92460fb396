//! The boundary between the services that produce metrics and CloudWatch: the task agent
//! (`AWS/ECS` CPU and memory of running tasks) and the load balancers' data plane
//! (`AWS/ApplicationELB`) hand their data points to a [`MetricSink`]; `wharf-cloudwatch`
//! implements it over its metric store. [`MetricTime`] is the one place AWS's metric periods
//! are turned into real time (`--metric-time-scale` makes them faster for tests and demos).

use crate::Timestamp;
use std::time::Duration;

/// The statistics of the samples one data point stands for (a single value is one sample).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatisticValues {
    /// How many samples.
    pub sample_count: f64,
    /// Their sum.
    pub sum: f64,
    /// The smallest.
    pub minimum: f64,
    /// The largest.
    pub maximum: f64,
}

impl StatisticValues {
    /// One sample of `value`.
    pub fn single(value: f64) -> Self {
        Self {
            sample_count: 1.0,
            sum: value,
            minimum: value,
            maximum: value,
        }
    }

    /// The statistics of `values`, or `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Self> {
        let (first, rest) = values.split_first()?;
        let mut s = Self::single(*first);
        for v in rest {
            s.sample_count += 1.0;
            s.sum += v;
            s.minimum = s.minimum.min(*v);
            s.maximum = s.maximum.max(*v);
        }
        Some(s)
    }
}

/// One data point a wharf service produces itself.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDatum {
    /// `AWS/ECS`, `AWS/ApplicationELB`.
    pub namespace: String,
    /// `CPUUtilization`, `RequestCount`, ...
    pub metric_name: String,
    /// `(Name, Value)` pairs, in the order AWS lists them.
    pub dimensions: Vec<(String, String)>,
    /// When the samples were taken (the start of the minute they describe).
    pub timestamp: Timestamp,
    /// The samples.
    pub values: StatisticValues,
    /// CloudWatch's unit name: `Percent`, `Count`, `Seconds`, `Bytes`.
    pub unit: &'static str,
}

/// CloudWatch's standard units (`StandardUnit`).
pub const STANDARD_UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// The standard unit named `name`, if it is one.
pub fn standard_unit(name: &str) -> Option<&'static str> {
    STANDARD_UNITS.iter().copied().find(|u| *u == name)
}

/// Where wharf's own metrics go.
pub trait MetricSink: Send + Sync {
    /// Stores `data` as metrics of `account_id` in `region` (one durable write for the batch).
    /// Errors are logged by the sink; a producer never stops for them.
    fn put(&self, account_id: &str, region: &str, data: Vec<MetricDatum>);
}

/// A sink that drops everything (metrics off, and tests that do not look at them).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl MetricSink for NoMetrics {
    fn put(&self, _account_id: &str, _region: &str, _data: Vec<MetricDatum>) {}
}

/// AWS's metric periods in real time: every interval derived from the one-minute metric period
/// (how often wharf publishes its own metrics, alarm periods, scaling cooldowns, scheduled
/// actions' evaluation) goes through [`MetricTime::real`]. The default scale is 1 (AWS's
/// clock); `--metric-time-scale 0.05` makes a 60 s period last 3 s, the same semantics faster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricTime {
    scale: f64,
}

impl Default for MetricTime {
    fn default() -> Self {
        Self { scale: 1.0 }
    }
}

impl MetricTime {
    /// A clock `scale` times AWS's (clamped to 0.001..=1).
    pub fn scaled(scale: f64) -> Self {
        let scale = if scale.is_finite() { scale } else { 1.0 };
        Self {
            scale: scale.clamp(0.001, 1.0),
        }
    }

    /// The scale (1 = AWS's clock).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The real duration of `aws_seconds` of metric time.
    pub fn real(&self, aws_seconds: f64) -> Duration {
        Duration::from_secs_f64((aws_seconds * self.scale).max(0.001))
    }

    /// The real length, in milliseconds, of `aws_seconds` of metric time (at least 1).
    pub fn real_millis(&self, aws_seconds: f64) -> i64 {
        ((aws_seconds * self.scale * 1000.0).round() as i64).max(1)
    }

    /// How often wharf publishes its own metrics: AWS's one minute.
    pub fn publish_interval(&self) -> Duration {
        self.real(60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_samples() {
        let s = StatisticValues::of(&[2.0, 8.0, 5.0]).unwrap();
        assert_eq!(s.sample_count, 3.0);
        assert_eq!(s.sum, 15.0);
        assert_eq!(s.minimum, 2.0);
        assert_eq!(s.maximum, 8.0);
        assert!(StatisticValues::of(&[]).is_none());
    }

    #[test]
    fn metric_time_scales_aws_periods() {
        assert_eq!(MetricTime::default().real(60.0), Duration::from_secs(60));
        let fast = MetricTime::scaled(0.05);
        assert_eq!(fast.real(60.0), Duration::from_secs(3));
        assert_eq!(fast.real_millis(300.0), 15_000);
        assert_eq!(MetricTime::scaled(5.0).scale(), 1.0);
        assert_eq!(MetricTime::scaled(f64::NAN).scale(), 1.0);
    }
}
