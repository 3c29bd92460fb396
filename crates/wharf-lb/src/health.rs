//! Active health checks: one task per target of a used target group sends
//! `GET <path>` (HTTP, or HTTPS without certificate verification) to the target's address on the
//! traffic port or the configured port every `interval`, with `timeout`, and feeds the result to
//! the target's state machine (`healthy_threshold` / `unhealthy_threshold` consecutive results).
//! A state change recomputes the group's routable targets at once.
//!
//! Draining targets and targets of unused groups are not checked (as ALB); a group that becomes
//! used starts its targets over in `initial`.

use crate::health_settings::{CheckResult, Failure, HealthSettings};
use crate::target_states::{Target, TargetGroup};
use crate::upstream::{ConnectError, Connector, EmptyBody};
use http::uri::Authority;
use http::{header, Request};
use std::sync::Arc;
use std::time::Instant;

/// Runs one health check of `target` on a new connection (so every check proves the target
/// still accepts connections).
pub(crate) async fn check(
    connector: &Connector,
    target: &Target,
    hc: &HealthSettings,
) -> CheckResult {
    let port = hc.port.unwrap_or(target.port);
    let Ok(authority) = format!("{}:{port}", target.host()).parse::<Authority>() else {
        return CheckResult::Fail(Failure::Failed);
    };
    let attempt = async {
        let mut sender = connector
            .connect::<EmptyBody>(&authority, &target.from, hc.https, false)
            .await
            .map_err(|e| match e {
                ConnectError::Timeout => Failure::Timeout,
                ConnectError::Failed(why) => {
                    tracing::debug!(target = %authority, "health check: {why}");
                    Failure::Failed
                }
            })?;
        let request = Request::get(hc.path.as_str())
            .header(header::HOST, authority.as_str())
            .header(header::USER_AGENT, "ELB-HealthChecker/2.0")
            .body(EmptyBody::new())
            .map_err(|_| Failure::Failed)?;
        let response = sender.send_request(request).await.map_err(|e| {
            tracing::debug!(target = %authority, "health check: {e}");
            Failure::Failed
        })?;
        Ok::<u16, Failure>(response.status().as_u16())
    };
    match tokio::time::timeout(hc.timeout, attempt).await {
        Err(_) => CheckResult::Fail(Failure::Timeout),
        Ok(Err(f)) => CheckResult::Fail(f),
        Ok(Ok(code)) if hc.matcher.matches(code) => CheckResult::Pass,
        Ok(Ok(code)) => CheckResult::Fail(Failure::Code(code)),
    }
}

/// The health checker of one target: runs until the target leaves the snapshot.
pub(crate) async fn run(connector: Connector, group: Arc<TargetGroup>, target: Arc<Target>) {
    loop {
        let settings = group.settings();
        let interval = settings.health.interval;
        if !group.is_used() || target.is_draining() {
            tokio::select! {
                _ = target.checks.cancelled() => return,
                _ = target.wake.notified() => {}
                _ = tokio::time::sleep(interval) => {}
            }
            continue;
        }
        let started = Instant::now();
        let result = tokio::select! {
            _ = target.checks.cancelled() => return,
            r = check(&connector, &target, &settings.health) => r,
        };
        if target.record(result, &settings.health) {
            tracing::info!(
                target_group = %group.arn,
                target = %target.authority,
                state = ?target.health_state(),
                "target health changed"
            );
            group.recompute();
        }
        let wait = interval.saturating_sub(started.elapsed());
        tokio::select! {
            _ = target.checks.cancelled() => return,
            _ = target.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
