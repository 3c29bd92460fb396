//! ListMetrics' filters: dimension filters (name, or name and value), `RecentlyActive=PT3H`,
//! and AWS's two weeks during which a metric is listed after its last data point. Pure.

use crate::records::MetricRecord;

const HOUR: i64 = 3600 * 1000;
/// A metric is listed for two weeks after its last data point.
pub const LISTED_FOR_MILLIS: i64 = 14 * 24 * HOUR;
/// `RecentlyActive=PT3H`: a data point in the past three hours.
pub const RECENTLY_ACTIVE_MILLIS: i64 = 3 * HOUR;
/// ListMetrics' page size.
pub const PAGE_SIZE: usize = 500;

/// One dimension filter: a name, and the value if given.
#[derive(Debug, Clone, PartialEq)]
pub struct DimensionFilter {
    /// The dimension's name.
    pub name: String,
    /// Its value (any when `None`).
    pub value: Option<String>,
}

/// Whether ListMetrics shows `metric` at `now`: it has every filtered dimension (a metric with
/// more dimensions matches too), had data in the past two weeks, and in the past three hours
/// when `recently_active`.
pub fn shown(
    metric: &MetricRecord,
    filters: &[DimensionFilter],
    recently_active: bool,
    now: i64,
) -> bool {
    let window = if recently_active {
        RECENTLY_ACTIVE_MILLIS
    } else {
        LISTED_FOR_MILLIS
    };
    metric.last_put_millis >= now - window
        && filters.iter().all(|f| {
            metric
                .dimensions
                .iter()
                .any(|(n, v)| *n == f.name && f.value.as_ref().is_none_or(|want| want == v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(dims: &[(&str, &str)], last_put_millis: i64) -> MetricRecord {
        MetricRecord {
            namespace: "App".into(),
            metric_name: "M".into(),
            dimensions: dims
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            id: "x".into(),
            last_put_millis,
        }
    }

    fn filter(name: &str, value: Option<&str>) -> DimensionFilter {
        DimensionFilter {
            name: name.into(),
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn dimension_filters_by_name_or_name_and_value() {
        let now = 100 * HOUR;
        let m = metric(&[("ClusterName", "c1"), ("ServiceName", "web")], now);
        assert!(shown(&m, &[], false, now));
        assert!(shown(&m, &[filter("ClusterName", None)], false, now));
        assert!(shown(
            &m,
            &[
                filter("ClusterName", Some("c1")),
                filter("ServiceName", None)
            ],
            false,
            now
        ));
        assert!(!shown(&m, &[filter("ClusterName", Some("c2"))], false, now));
        assert!(!shown(&m, &[filter("TaskId", None)], false, now));
    }

    #[test]
    fn recently_active_and_the_two_weeks_of_listing() {
        let now = 1000 * HOUR;
        let m = metric(&[], now - 4 * HOUR);
        assert!(shown(&m, &[], false, now));
        assert!(!shown(&m, &[], true, now));
        assert!(shown(&metric(&[], now - 2 * HOUR), &[], true, now));
        assert!(!shown(
            &metric(&[], now - LISTED_FOR_MILLIS - 1),
            &[],
            false,
            now
        ));
    }
}
