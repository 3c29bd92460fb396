//! The metric store: metric identities and their data points in `cloudwatch.metrics` and
//! `cloudwatch.points` (see `records`), written one PutMetricData per transaction and read one
//! metric's time range per index range scan.

use super::validate::NewPoint;
use crate::generated::Error;
use crate::records::{
    metric_key, metric_prefix, point_bound, point_key, MetricRecord, PointRecord, METRICS, POINTS,
};
use crate::CloudWatch;
use std::collections::BTreeMap;
use wharf_store::{StoreError, Tx};

/// At most this many points are read for one metric in one query (a bound on memory; the
/// largest valid query, 1440 one-second buckets of dense high-resolution data, stays well
/// below it).
pub const MAX_POINTS_PER_READ: usize = 500_000;

/// How stale an identity's `last_put_millis` may get before a put rewrites it.
const IDENTITY_REFRESH_MILLIS: i64 = 60_000;

/// The id of a metric in point keys: 32 hex digits hashing its identity (two FNV-1a 64-bit
/// hashes with different offsets).
pub fn metric_id(namespace: &str, metric_name: &str, dimensions: &[(String, String)]) -> String {
    let mut canonical = format!("{namespace}\u{1}{metric_name}");
    for (k, v) in dimensions {
        canonical.push('\u{1}');
        canonical.push_str(k);
        canonical.push('\u{2}');
        canonical.push_str(v);
    }
    let fnv = |offset: u64| {
        canonical.bytes().fold(offset, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x6c62_272e_07bb_0142)
    )
}

/// Stores `points` (already checked) in one transaction.
pub fn write(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    points: &[NewPoint],
    now: i64,
) -> Result<(), Error> {
    if points.is_empty() {
        return Ok(());
    }
    // one identity write per metric of the batch
    let mut metrics: BTreeMap<String, MetricRecord> = BTreeMap::new();
    let mut rows = Vec::with_capacity(points.len());
    for p in points {
        let id = metric_id(&p.namespace, &p.metric_name, &p.dimensions);
        let key = point_key(account, region, &id, p.point.millis, &cw.ids.hex(8));
        rows.push((key, &p.point));
        metrics.entry(id.clone()).or_insert_with(|| MetricRecord {
            namespace: p.namespace.clone(),
            metric_name: p.metric_name.clone(),
            dimensions: p.dimensions.clone(),
            id,
            last_put_millis: now,
        });
    }
    cw.store.write(|tx| -> Result<(), StoreError> {
        for metric in metrics.values() {
            let key = metric_key(account, region, metric);
            // the identity's last put time is refreshed at most once a minute (it only serves
            // RecentlyActive's three hours and ListMetrics' two weeks)
            let fresh = tx
                .get(METRICS, &key)?
                .is_some_and(|m| now - m.last_put_millis < IDENTITY_REFRESH_MILLIS);
            if !fresh {
                tx.put(METRICS, &key, metric)?;
            }
        }
        for (key, point) in &rows {
            tx.put(POINTS, key, *point)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The points of one metric with `start <= time < end`, ascending by time.
pub fn read_points(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    id: &str,
    start: i64,
    end: i64,
) -> Result<Vec<PointRecord>, StoreError> {
    let rows = tx.range(
        POINTS,
        &point_bound(account, region, id, start),
        &point_bound(account, region, id, end),
        MAX_POINTS_PER_READ,
        false,
    )?;
    Ok(rows.into_iter().map(|(_, p)| p).collect())
}

/// Every metric of a namespace (and metric name) in one account and region, by key.
pub fn list_metrics(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    namespace: Option<&str>,
    metric_name: Option<&str>,
) -> Result<Vec<(String, MetricRecord)>, StoreError> {
    tx.list(
        METRICS,
        &metric_prefix(account, region, namespace, metric_name),
    )
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::InternalServiceFault(e.to_string())
    }
}
