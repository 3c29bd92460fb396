//! What a target group's health check is and what one check can say: the settings parsed from
//! the snapshot (protocol, port, path, interval, timeout, thresholds), the `HttpCode` matcher,
//! and a check's result with the failure that becomes a reason code. Pure: the checker task
//! (`health.rs`) runs the checks, the targets' state machine (`target_states.rs`) records them.

use std::time::Duration;
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

/// Why a health check failed, for the reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The target answered with a status outside the matcher (`Target.ResponseCodeMismatch`).
    Code(u16),
    /// No answer within the health check timeout (`Target.Timeout`).
    Timeout,
    /// The connection failed or broke (`Target.FailedHealthChecks`).
    Failed,
}

/// The outcome of one health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckResult {
    /// The matcher accepted the status.
    Pass,
    /// It failed.
    Fail(Failure),
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
