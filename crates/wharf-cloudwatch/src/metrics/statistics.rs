//! The statistics of data points: merging points into period buckets, the five statistics,
//! and percentiles (`pNN`, `pNN.N`) from raw values. Pure: no store, no clock.

use crate::records::PointRecord;

/// A statistic GetMetricStatistics, GetMetricData and alarms can ask for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// SampleCount.
    SampleCount,
    /// Average (Sum / SampleCount).
    Average,
    /// Sum.
    Sum,
    /// Minimum.
    Minimum,
    /// Maximum.
    Maximum,
    /// `pNN`: the NN-th percentile (0..=100) of the raw values.
    Percentile(f64),
}

impl Stat {
    /// Parses `Average`, `Sum`, `SampleCount`, `Minimum`, `Maximum` or `pNN(.NN)`.
    pub fn parse(name: &str) -> Option<Stat> {
        match name {
            "SampleCount" => Some(Stat::SampleCount),
            "Average" => Some(Stat::Average),
            "Sum" => Some(Stat::Sum),
            "Minimum" => Some(Stat::Minimum),
            "Maximum" => Some(Stat::Maximum),
            other => parse_percentile(other).map(Stat::Percentile),
        }
    }
}

/// `p99`, `p99.9`, `p0`, `p100` -> the percentile; anything else -> `None`.
pub fn parse_percentile(name: &str) -> Option<f64> {
    let digits = name.strip_prefix('p')?;
    let ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
        && !digits.starts_with('.')
        && !digits.ends_with('.');
    if !ok {
        return None;
    }
    let p: f64 = digits.parse().ok()?;
    (0.0..=100.0).contains(&p).then_some(p)
}

/// The merged data of one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// Start of the period (epoch millis).
    pub start: i64,
    /// SampleCount.
    pub count: f64,
    /// Sum.
    pub sum: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// The unit of its points (the first point's when they differ).
    pub unit: String,
    /// Every sample as `(value, count)`, or `None` when a point of the period has no raw
    /// values (a statistic set, or a rolled-up point): no percentiles then.
    pub values: Option<Vec<(f64, f64)>>,
}

impl Bucket {
    /// The value of `stat` for this period (`None`: a percentile without raw values).
    pub fn value(&self, stat: Stat) -> Option<f64> {
        match stat {
            Stat::SampleCount => Some(self.count),
            Stat::Average => (self.count > 0.0).then(|| self.sum / self.count),
            Stat::Sum => Some(self.sum),
            Stat::Minimum => Some(self.min),
            Stat::Maximum => Some(self.max),
            // AWS: no percentiles when any value of the metric is negative
            Stat::Percentile(p) => self
                .values
                .as_deref()
                .filter(|v| v.iter().all(|s| s.0 >= 0.0))
                .and_then(|v| percentile(v, p)),
        }
    }
}

/// The raw samples a point stands for: its values, or, for a statistic set whose minimum equals
/// its maximum (and sum is minimum × count: every sample had the same value), that value
/// `count` times (AWS's rule for percentiles of statistic sets).
pub fn samples_of(point: &PointRecord) -> Option<Vec<(f64, f64)>> {
    if let Some(values) = &point.values {
        return Some(values.clone());
    }
    let uniform = point.min == point.max
        && (point.sum - point.min * point.count).abs() <= 1e-9 * point.sum.abs().max(1.0);
    (uniform && point.count > 0.0).then(|| vec![(point.min, point.count)])
}

/// Merges `points` into periods of `period_millis` starting at `origin` (points before
/// `origin` are ignored), ascending by time; only periods with data are returned.
pub fn buckets(points: &[PointRecord], origin: i64, period_millis: i64) -> Vec<Bucket> {
    let period = period_millis.max(1);
    let mut out: Vec<Bucket> = Vec::new();
    let mut sorted: Vec<&PointRecord> = points.iter().filter(|p| p.millis >= origin).collect();
    sorted.sort_by_key(|p| p.millis);
    for point in sorted {
        let start = origin + (point.millis - origin) / period * period;
        let samples = samples_of(point);
        match out.last_mut() {
            Some(b) if b.start == start => {
                b.count += point.count;
                b.sum += point.sum;
                b.min = b.min.min(point.min);
                b.max = b.max.max(point.max);
                b.values = match (b.values.take(), samples) {
                    (Some(mut a), Some(more)) => {
                        a.extend(more);
                        Some(a)
                    }
                    _ => None,
                };
            }
            _ => out.push(Bucket {
                start,
                count: point.count,
                sum: point.sum,
                min: point.min,
                max: point.max,
                unit: point.unit.clone(),
                values: samples,
            }),
        }
    }
    out
}

/// The `p`-th percentile (nearest rank) of weighted samples `(value, count)`: the smallest
/// value at or below which at least `p`% of the samples lie.
pub fn percentile(samples: &[(f64, f64)], p: f64) -> Option<f64> {
    let mut sorted: Vec<(f64, f64)> = samples.iter().copied().filter(|s| s.1 > 0.0).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = sorted.iter().map(|s| s.1).sum();
    let rank = (p / 100.0 * total).max(f64::MIN_POSITIVE);
    let mut seen = 0.0;
    for (value, count) in &sorted {
        seen += count;
        if seen >= rank - 1e-9 {
            return Some(*value);
        }
    }
    sorted.last().map(|s| s.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(millis: i64, values: &[f64]) -> PointRecord {
        let samples: Vec<(f64, f64)> = values.iter().map(|v| (*v, 1.0)).collect();
        PointRecord {
            millis,
            count: values.len() as f64,
            sum: values.iter().sum(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            unit: "Count".into(),
            resolution: 60,
            values: Some(samples),
        }
    }

    fn set(millis: i64, count: f64, sum: f64, min: f64, max: f64) -> PointRecord {
        PointRecord {
            millis,
            count,
            sum,
            min,
            max,
            unit: "None".into(),
            resolution: 60,
            values: None,
        }
    }

    #[test]
    fn parses_statistics_and_percentiles() {
        assert_eq!(Stat::parse("Average"), Some(Stat::Average));
        assert_eq!(Stat::parse("p99"), Some(Stat::Percentile(99.0)));
        assert_eq!(Stat::parse("p99.9"), Some(Stat::Percentile(99.9)));
        assert_eq!(Stat::parse("p100"), Some(Stat::Percentile(100.0)));
        for bad in [
            "p101", "p", "p9.", "p.9", "P50", "avg", "p-1", "p1.2.3", "tm99",
        ] {
            assert_eq!(Stat::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn merges_points_into_period_buckets() {
        let pts = vec![
            point(125_000, &[4.0]),
            point(61_000, &[1.0, 3.0]),
            point(119_999, &[10.0]),
            point(59_999, &[99.0]), // before the origin
        ];
        let b = buckets(&pts, 60_000, 60_000);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].start, 60_000);
        assert_eq!(b[0].count, 3.0);
        assert_eq!(b[0].sum, 14.0);
        assert_eq!(b[0].min, 1.0);
        assert_eq!(b[0].max, 10.0);
        assert_eq!(b[0].value(Stat::Average), Some(14.0 / 3.0));
        assert_eq!(b[1].start, 120_000);
        assert_eq!(b[1].value(Stat::Sum), Some(4.0));
    }

    #[test]
    fn percentiles_are_nearest_rank_over_weighted_samples() {
        let values: Vec<(f64, f64)> = (1..=100).map(|v| (f64::from(v), 1.0)).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 90.0), Some(90.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&values, 99.9), Some(100.0));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
        assert_eq!(percentile(&values, 100.0), Some(100.0));
        // 10 with count 9, 1000 with count 1: p90 is 10, p91 is 1000
        let weighted = [(1000.0, 1.0), (10.0, 9.0)];
        assert_eq!(percentile(&weighted, 90.0), Some(10.0));
        assert_eq!(percentile(&weighted, 91.0), Some(1000.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn statistic_sets_have_percentiles_only_when_uniform() {
        let b = buckets(&[set(0, 4.0, 20.0, 5.0, 5.0)], 0, 60_000);
        assert_eq!(b[0].value(Stat::Percentile(99.0)), Some(5.0));
        let b = buckets(&[set(0, 4.0, 20.0, 1.0, 9.0)], 0, 60_000);
        assert_eq!(b[0].value(Stat::Percentile(99.0)), None);
        assert_eq!(b[0].value(Stat::Maximum), Some(9.0));
        // a period mixing raw values and a non-uniform set has no percentile either
        let b = buckets(&[point(0, &[1.0]), set(1, 2.0, 3.0, 1.0, 2.0)], 0, 60_000);
        assert_eq!(b[0].value(Stat::Percentile(50.0)), None);
        assert_eq!(b[0].value(Stat::SampleCount), Some(3.0));
        // nor one with a negative value
        let b = buckets(&[point(0, &[-1.0, 2.0])], 0, 60_000);
        assert_eq!(b[0].value(Stat::Percentile(50.0)), None);
    }
}
