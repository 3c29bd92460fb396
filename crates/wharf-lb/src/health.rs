//! Active health checks: one task per target of a used target group sends
//! `GET <path>` (HTTP, or HTTPS without certificate verification) to the target's address on the
//! traffic port or the configured port every `interval`, with `timeout`, and feeds the result to
//! the target's state machine (`healthy_threshold` / `unhealthy_threshold` consecutive results).
//! A state change recomputes the group's routable targets at once.
//!
//! Draining targets and targets of unused groups are not checked (as ALB); a group that becomes
//! used starts its targets over in `initial`.

use crate::targets::{CheckResult, Failure, Target, TargetGroup};
use crate::upstream::{ConnectError, Connector, EmptyBody};
use http::uri::Authority;
use http::{header, Request};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wharf_core::lb_plane::HealthCheckSpec;

/// A target group's health check, parsed.
#[derive(Debug, Clone)]
pub(crate) struct HealthSettings {
    /// HTTPS (no certificate verification, as ALB).
    pub(crate) https: bool,
    /// `None`: the target's traffic port.
    pub(crate) port: Option<u16>,
    /// Path (and query) requested.
    pub(crate) path: String,
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) healthy_threshold: u32,
    pub(crate) unhealthy_threshold: u32,
    pub(crate) matcher: Matcher,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            https: false,
            port: None,
            path: "/".to_string(),
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: Matcher(vec![(200, 200)]),
        }
    }
}

impl HealthSettings {
    /// Parses the snapshot's health check (no API limits enforced: tests use short intervals).
    pub(crate) fn from_spec(spec: &HealthCheckSpec) -> Result<Self, String> {
        let path = if spec.path.starts_with('/') {
            spec.path.clone()
        } else {
            format!("/{}", spec.path)
        };
        path.parse::<http::uri::PathAndQuery>()
            .map_err(|_| format!("health check path {:?} is not a valid path", spec.path))?;
        Ok(Self {
            https: spec.protocol.eq_ignore_ascii_case("HTTPS"),
            port: spec.port,
            path,
            interval: spec.interval.max(Duration::from_millis(10)),
            timeout: spec.timeout.max(Duration::from_millis(10)),
            healthy_threshold: spec.healthy_threshold.max(1),
            unhealthy_threshold: spec.unhealthy_threshold.max(1),
            matcher: Matcher::parse(&spec.matcher)?,
        })
    }
}

/// A health check matcher: `200`, `200,202`, `200-299`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matcher(Vec<(u16, u16)>);

impl Matcher {
    /// Parses AWS's `HttpCode` syntax.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("health check matcher {text:?} is not a list of codes or ranges");
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => (lo.trim(), hi.trim()),
                None => (part, part),
            };
            let lo: u16 = lo.parse().map_err(|_| bad())?;
            let hi: u16 = hi.parse().map_err(|_| bad())?;
            if lo > hi {
                return Err(bad());
            }
            ranges.push((lo, hi));
        }
        if ranges.is_empty() {
            ranges.push((200, 200));
        }
        Ok(Self(ranges))
    }

    /// Whether `code` is accepted.
    pub(crate) fn matches(&self, code: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

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
            .connect::<EmptyBody>(&authority, hc.https, false)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_syntax() {
        let m = Matcher::parse("200").unwrap();
        assert!(m.matches(200) && !m.matches(201));
        let m = Matcher::parse("200,202").unwrap();
        assert!(m.matches(202) && !m.matches(201));
        let m = Matcher::parse("200-299").unwrap();
        assert!(m.matches(204) && !m.matches(300));
        assert!(Matcher::parse("abc").is_err());
        assert!(Matcher::parse("300-200").is_err());
        assert!(Matcher::parse("").unwrap().matches(200));
    }
}
