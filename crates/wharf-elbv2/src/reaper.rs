//! The reaper of drained targets: deregistered targets are forgotten once the data plane
//! reports them drained or their deregistration delay has passed ([`Elbv2::reap_drained`]),
//! periodically ([`run_reap_loop`]).

use crate::records::{self, StoredTargetGroup, TARGET_GROUPS};
use crate::snapshot;
use crate::Elbv2;
use std::sync::Arc;
use std::time::Duration;
use wharf_store::StoreError;

impl Elbv2 {
    /// Forgets deregistered targets that finished draining: those the plane reports drained
    /// and those whose deregistration delay has passed. Returns how many were removed.
    pub fn reap_drained(&self) -> usize {
        match self.try_reap() {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "cannot remove drained targets");
                0
            }
        }
    }

    fn try_reap(&self) -> Result<usize, StoreError> {
        let now = self.clock.now().millis;
        let groups: Vec<(String, StoredTargetGroup)> =
            self.store.read(|tx| tx.list(TARGET_GROUPS, ""))?;
        let mut removed = 0;
        for (key, tg) in groups {
            if tg.targets.iter().all(|t| t.deregistered_at_ms.is_none()) {
                continue;
            }
            let drained: Vec<(String, u16)> = self
                .plane
                .as_ref()
                .map(|p| p.drained(&tg.arn))
                .unwrap_or_default();
            let gone = |t: &records::StoredTarget, tg: &StoredTargetGroup| {
                t.deregistered_at_ms.is_some()
                    && (snapshot::deregistration_over(tg, t, now)
                        || drained
                            .iter()
                            .any(|(id, port)| *id == t.id && *port == t.port))
            };
            if !tg.targets.iter().any(|t| gone(t, &tg)) {
                continue;
            }
            removed += self.store.write(|tx| -> Result<usize, StoreError> {
                let Some(mut current) = tx.get::<StoredTargetGroup>(TARGET_GROUPS, &key)? else {
                    return Ok(0);
                };
                let before = current.targets.len();
                let snapshot = current.clone();
                current.targets.retain(|t| !gone(t, &snapshot));
                let n = before - current.targets.len();
                if n > 0 {
                    tx.put(TARGET_GROUPS, &key, &current)?;
                }
                Ok(n)
            })?;
        }
        if removed > 0 {
            tracing::info!(removed, "deregistered targets finished draining");
            self.sync_plane();
        }
        Ok(removed)
    }
}

/// Calls [`Elbv2::reap_drained`] every `interval` until `stop` turns true.
pub async fn run_reap_loop(
    elbv2: Arc<Elbv2>,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        let elbv2 = elbv2.clone();
        let _ = tokio::task::spawn_blocking(move || elbv2.reap_drained()).await;
    }
}
