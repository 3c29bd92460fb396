//! Retention as AWS's, with a bounded store: high-resolution points are kept 3 hours, then
//! rolled up into 1-minute points; 1-minute points are kept 15 days, then rolled up into
//! 5-minute points; those are kept 63 days, then rolled up into 1-hour points, which are
//! deleted after 455 days. Statistic sets merge exactly (SampleCount and Sum add, Minimum and
//! Maximum keep the extremes); raw values are dropped by a roll-up, so percentiles of rolled-up
//! periods are not available. The plan ([`roll_up`]) is pure; [`run_metric_retention_loop`]
//! applies it to every metric, one transaction per metric.

use super::store::MAX_POINTS_PER_READ;
use crate::records::{point_bound, point_key, MetricRecord, PointRecord, METRICS, POINTS};
use crate::CloudWatch;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use wharf_store::StoreError;

const HOUR: i64 = 3600 * 1000;
const DAY: i64 = 24 * HOUR;

/// `(resolution in seconds, age after which finer points are rolled into it)`.
pub const TIERS: [(u32, i64); 3] = [(60, 3 * HOUR), (300, 15 * DAY), (3600, 63 * DAY)];
/// Points older than this are deleted.
pub const MAX_AGE_MILLIS: i64 = 455 * DAY;

/// A point with its key (`None`: made by this pass, not stored yet).
type Keyed = (Option<String>, PointRecord);

/// What one retention pass does to one metric's points.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Keys of the points to delete (rolled up, or expired).
    pub delete: Vec<String>,
    /// The rolled-up points to write.
    pub write: Vec<PointRecord>,
}

/// The plan for `points` (key, point) of one metric at `now`: every point older than 455 days
/// is deleted; for each tier, points finer than its resolution whose whole period ended before
/// the tier's age are merged (per period and unit) into one point of the tier's resolution.
pub fn roll_up(points: &[(String, PointRecord)], now: i64) -> Plan {
    let mut plan = Plan::default();
    let mut current: Vec<Keyed> = Vec::new();
    for (key, p) in points {
        if p.millis < now - MAX_AGE_MILLIS {
            plan.delete.push(key.clone());
        } else {
            current.push((Some(key.clone()), p.clone()));
        }
    }
    for (resolution, age) in TIERS {
        let period = i64::from(resolution) * 1000;
        let cutoff = now - age;
        let mut groups: BTreeMap<(i64, String), Vec<Keyed>> = BTreeMap::new();
        let mut kept = Vec::new();
        for (key, p) in current {
            let start = p.millis - p.millis.rem_euclid(period);
            if p.resolution < resolution && start + period <= cutoff {
                groups
                    .entry((start, p.unit.clone()))
                    .or_default()
                    .push((key, p));
            } else {
                kept.push((key, p));
            }
        }
        for ((start, unit), members) in groups {
            let mut merged = PointRecord {
                millis: start,
                count: 0.0,
                sum: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                unit,
                resolution,
                values: None,
            };
            for (key, p) in members {
                merged.count += p.count;
                merged.sum += p.sum;
                merged.min = merged.min.min(p.min);
                merged.max = merged.max.max(p.max);
                // points of an earlier tier of this pass were never written: nothing to delete
                if let Some(k) = key {
                    plan.delete.push(k);
                }
            }
            kept.push((None, merged));
        }
        current = kept;
    }
    plan.write = current
        .into_iter()
        .filter(|(key, _)| key.is_none())
        .map(|(_, p)| p)
        .collect();
    plan
}

/// One retention pass over every metric of every account and region at `now`; returns how many
/// points were deleted and written.
pub fn retain_once(cw: &CloudWatch, now: i64) -> Result<(usize, usize), StoreError> {
    let metrics: Vec<(String, MetricRecord)> = cw.store.read(|tx| tx.list(METRICS, ""))?;
    let (mut deleted, mut written) = (0, 0);
    for (key, metric) in metrics {
        let mut parts = key.splitn(3, '/');
        let (Some(account), Some(region)) = (parts.next(), parts.next()) else {
            continue;
        };
        // only points older than the youngest roll-up age can change
        let horizon = now - TIERS[0].1;
        let old = cw.store.read(|tx| {
            tx.range(
                POINTS,
                &point_bound(account, region, &metric.id, 0),
                &point_bound(account, region, &metric.id, horizon),
                MAX_POINTS_PER_READ,
                false,
            )
        })?;
        let plan = roll_up(&old, now);
        // a metric without data for 455 days is forgotten
        let forget = metric.last_put_millis < now - MAX_AGE_MILLIS;
        if plan == Plan::default() && !forget {
            continue;
        }
        // points published meanwhile are not in the plan: they are rolled up next time
        let (d, w) = cw.store.write(|tx| -> Result<(usize, usize), StoreError> {
            for k in &plan.delete {
                tx.delete(POINTS, k)?;
            }
            for p in &plan.write {
                let k = point_key(account, region, &metric.id, p.millis, &cw.ids.hex(8));
                tx.put(POINTS, &k, p)?;
            }
            if forget {
                tx.delete(METRICS, &key)?;
            }
            Ok((plan.delete.len(), plan.write.len()))
        })?;
        deleted += d;
        written += w;
    }
    Ok((deleted, written))
}

/// Applies retention every `interval` until `stop` turns true.
pub async fn run_metric_retention_loop(
    cw: Arc<CloudWatch>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        let cw2 = cw.clone();
        let now = cw.clock.now().millis;
        match tokio::task::spawn_blocking(move || retain_once(&cw2, now)).await {
            Ok(Ok((0, 0))) => {}
            Ok(Ok((deleted, written))) => {
                tracing::debug!(deleted, written, "cloudwatch metric retention pass")
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cloudwatch metric retention failed"),
            Err(e) => tracing::warn!(error = %e, "cloudwatch metric retention task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_core::{Clock, FakeClock, Timestamp};

    fn p(millis: i64, v: f64, resolution: u32) -> PointRecord {
        PointRecord {
            millis,
            count: 1.0,
            sum: v,
            min: v,
            max: v,
            unit: "Count".into(),
            resolution,
            values: Some(vec![(v, 1.0)]),
        }
    }

    fn keyed(points: Vec<PointRecord>) -> Vec<(String, PointRecord)> {
        points
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("k{i}"), p))
            .collect()
    }

    #[test]
    fn high_resolution_points_become_minutes_after_three_hours() {
        let clock = FakeClock::new(Timestamp::from_millis(100 * DAY));
        let now = clock.now().millis;
        let minute = now - 4 * HOUR; // a whole minute, 4 hours old
        let pts = keyed(vec![
            p(minute + 1_000, 2.0, 1),
            p(minute + 30_000, 8.0, 1),
            p(minute + 59_999, 5.0, 1),
            p(now - HOUR, 7.0, 1), // young: kept as it is
        ]);
        let plan = roll_up(&pts, now);
        assert_eq!(plan.delete, vec!["k0", "k1", "k2"]);
        assert_eq!(plan.write.len(), 1);
        let m = &plan.write[0];
        assert_eq!((m.millis, m.resolution), (minute, 60));
        assert_eq!((m.count, m.sum, m.min, m.max), (3.0, 15.0, 2.0, 8.0));
        assert_eq!(m.values, None);

        // three hours later the young point rolls up too
        clock.advance(3 * HOUR);
        let plan = roll_up(&pts[3..], clock.now().millis);
        assert_eq!(plan.delete, vec!["k3"]);
        assert_eq!(plan.write[0].resolution, 60);
    }

    #[test]
    fn a_minute_still_open_at_the_cutoff_is_not_rolled_up() {
        let now = 100 * DAY + 30_000; // the cutoff falls in the middle of a minute
        let cutoff = now - 3 * HOUR;
        let minute = cutoff - cutoff.rem_euclid(60_000);
        assert!(minute < cutoff && minute + 60_000 > cutoff);
        let pts = keyed(vec![p(minute, 1.0, 1), p(minute + 59_000, 1.0, 1)]);
        assert_eq!(roll_up(&pts, now), Plan::default());
        // the minute before it is rolled up
        let plan = roll_up(&keyed(vec![p(minute - 1_000, 1.0, 1)]), now);
        assert_eq!(plan.write[0].millis, minute - 60_000);
        // standard-resolution points are already minutes: untouched until 15 days
        let plan = roll_up(&keyed(vec![p(now - 10 * DAY, 1.0, 60)]), now);
        assert_eq!(plan, Plan::default());
    }

    #[test]
    fn older_points_go_through_every_tier_and_expire() {
        let now = 1000 * DAY;
        let hour = now - 100 * DAY - (now - 100 * DAY).rem_euclid(HOUR);
        let pts = keyed(vec![
            p(hour + 1_000, 1.0, 1),        // second -> minute -> 5 min -> hour
            p(hour + 10 * 60_000, 3.0, 60), // minute -> 5 min -> hour
            p(hour + 59 * 60_000, 5.0, 300),
            p(now - 456 * DAY, 9.0, 3600), // expired
        ]);
        let plan = roll_up(&pts, now);
        assert_eq!(plan.delete.len(), 4);
        assert_eq!(plan.write.len(), 1);
        let h = &plan.write[0];
        assert_eq!((h.millis, h.resolution), (hour, 3600));
        assert_eq!((h.count, h.sum, h.min, h.max), (3.0, 9.0, 1.0, 5.0));
    }

    #[test]
    fn units_are_rolled_up_separately() {
        let now = 100 * DAY;
        let minute = now - 4 * HOUR;
        let mut other = p(minute + 2_000, 4.0, 1);
        other.unit = "Seconds".into();
        let plan = roll_up(&keyed(vec![p(minute + 1_000, 1.0, 1), other]), now);
        assert_eq!(plan.write.len(), 2);
        let units: Vec<&str> = plan.write.iter().map(|p| p.unit.as_str()).collect();
        assert_eq!(units, vec!["Count", "Seconds"]);
    }
}
