//! Runs the ECS service controller ([`wharf_ecs::service_controller::ServiceController`]) until
//! wharf stops: a pass whenever a service is created, updated or deleted, and otherwise on a tick —
//! short while a service is still converging (tasks starting, draining, a deployment rolling),
//! longer when everything is steady — or at the time a service asked to be woken (the end of a
//! back-off or of a health check grace period).

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use wharf_core::Clock;
use wharf_ecs::service_controller::ServiceController;

/// Tick while some service is converging.
const BUSY_INTERVAL: Duration = Duration::from_millis(250);
/// Tick while every service is steady (a crashed task is noticed within this).
const IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// Runs passes until `stop` turns true.
pub async fn run(
    controller: Arc<ServiceController>,
    wake: Arc<Notify>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let r = controller.clone();
        let delay = match tokio::task::spawn_blocking(move || r.pass()).await {
            Ok(Ok(report)) => {
                if report.committed > 0 {
                    tracing::debug!(?report, "service controller pass");
                }
                let tick = if report.unsettled > 0 {
                    BUSY_INTERVAL
                } else {
                    IDLE_INTERVAL
                };
                let until_wake = report.wake_at.map(|w| {
                    Duration::from_millis(u64::try_from(w - clock.now().millis).unwrap_or(0))
                });
                until_wake.map_or(tick, |u| u.min(tick))
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the service controller cannot read its state");
                IDLE_INTERVAL
            }
            Err(e) => {
                tracing::error!(error = %e, "a service controller pass panicked");
                IDLE_INTERVAL
            }
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => {}
        }
    }
}
