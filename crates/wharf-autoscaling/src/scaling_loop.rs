//! The scaling loop: once per (scaled) minute, at most every 5 s, it runs the scheduled actions
//! that are due and deregisters the scalable targets whose ECS service no longer exists (with
//! their policies and those policies' alarms: "Deleting a service deregisters its scalable
//! target"); once an hour it prunes activities older than six weeks. Each pass is one step; a stop signal
//! is honoured between passes.

use crate::checks::parse_service_resource;
use crate::records::{children_prefix, SCHEDULED_ACTIONS};
use crate::{activities, scheduled_actions, targets, AutoScaling};
use std::sync::Arc;
use std::time::Duration;
use wharf_core::Timestamp;
use wharf_store::StoreError;

/// The longest pause between passes (real time).
const MAX_INTERVAL: Duration = Duration::from_secs(5);
/// How often old activities are pruned (real time).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Runs passes until `stop` turns true.
pub async fn run(scaling: Arc<AutoScaling>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let interval = scaling.time.publish_interval().min(MAX_INTERVAL);
    let mut last_prune: Option<tokio::time::Instant> = None;
    loop {
        let s = scaling.clone();
        let prune = last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY);
        if prune {
            last_prune = Some(tokio::time::Instant::now());
        }
        if let Err(e) = tokio::task::spawn_blocking(move || pass(&s, prune)).await {
            tracing::warn!(error = %e, "the scaling loop's pass failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

/// The account and region of a record key (`<account>/<region>/...`).
fn scope_of(key: &str) -> Option<(&str, &str)> {
    let mut parts = key.splitn(3, '/');
    Some((parts.next()?, parts.next()?))
}

/// One pass over every target (and over the activities when `prune`).
pub fn pass(scaling: &AutoScaling, prune: bool) {
    let now = scaling.clock.now();
    let all = match targets::all(scaling) {
        Ok(all) => all,
        Err(e) => {
            tracing::warn!(error = %e, "the scaling loop cannot read the scalable targets");
            return;
        }
    };
    for (key, target) in all {
        let Some((account, region)) = scope_of(&key) else {
            continue;
        };
        let Some(service) = parse_service_resource(&target.resource_id) else {
            continue;
        };
        match scaling
            .capacity
            .size(account, region, &service.cluster, &service.service)
        {
            Ok(None) => {
                if let Err(e) = targets::deregister(scaling, account, region, &key) {
                    tracing::warn!(target = %key, error = %e, "deregistering the target of a deleted service failed");
                }
                continue;
            }
            Ok(Some(_)) => {}
            Err(e) => {
                tracing::warn!(target = %key, error = %e, "reading the ECS service failed");
                continue;
            }
        }
        if let Err(e) = run_due_actions(scaling, (account, region), &key, now) {
            tracing::warn!(target = %key, error = %e, "running scheduled actions failed");
        }
    }
    if !prune {
        return;
    }
    if let Err(e) = scaling.store.write(|tx| activities::prune(tx, "", now)) {
        tracing::warn!(error = %e, "pruning old scaling activities failed");
    }
}

fn run_due_actions(
    scaling: &AutoScaling,
    scope: (&str, &str),
    target_key: &str,
    now: Timestamp,
) -> Result<(), String> {
    let actions = scaling
        .store
        .read(|tx| tx.list(SCHEDULED_ACTIONS, &children_prefix(target_key)))
        .map_err(|e: StoreError| e.to_string())?;
    for (key, action) in actions {
        if let Some(instant) = scheduled_actions::due_at(&action, now) {
            scheduled_actions::run(scaling, scope, target_key, &key, instant, now)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
