//! Target group health checks: AWS's defaults for HTTP / HTTPS target groups of type `ip` and
//! `instance` (path `/`, every 30 s, 5 s timeout, healthy after 5, unhealthy after 2, matcher
//! `200`), and the checks CreateTargetGroup / ModifyTargetGroup make (pure).
//!
//! The spec already bounds interval (5-300), timeout (2-120) and thresholds (2-10); here: the
//! timeout must be below the interval, the port is `traffic-port` or 1-65535, the path starts
//! with `/`, the matcher is a code, a list or a range within 200-499, and health checks cannot
//! be disabled (they cannot for `ip` and `instance` targets).

use crate::errors::invalid;
use crate::generated::{Error, Matcher};
use crate::records::StoredHealthCheck;

/// What the caller asked for (Create or Modify); `None` keeps the current or default value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthCheckInput {
    /// `HealthCheckEnabled`.
    pub enabled: Option<bool>,
    /// `HealthCheckProtocol`.
    pub protocol: Option<String>,
    /// `HealthCheckPort`.
    pub port: Option<String>,
    /// `HealthCheckPath`.
    pub path: Option<String>,
    /// `HealthCheckIntervalSeconds`.
    pub interval_seconds: Option<i32>,
    /// `HealthCheckTimeoutSeconds`.
    pub timeout_seconds: Option<i32>,
    /// `HealthyThresholdCount`.
    pub healthy_threshold: Option<i32>,
    /// `UnhealthyThresholdCount`.
    pub unhealthy_threshold: Option<i32>,
    /// `Matcher`.
    pub matcher: Option<Matcher>,
}

/// AWS's defaults for a target group of `protocol` (HTTP / HTTPS).
pub fn defaults(protocol: &str) -> StoredHealthCheck {
    StoredHealthCheck {
        enabled: true,
        protocol: protocol.to_string(),
        port: "traffic-port".into(),
        path: "/".into(),
        interval_seconds: 30,
        timeout_seconds: 5,
        healthy_threshold: 5,
        unhealthy_threshold: 2,
        matcher: "200".into(),
    }
}

/// Whether `text` is a code in 200-499.
fn code(text: &str) -> Option<u16> {
    let n: u16 = text.parse().ok()?;
    (200..=499).contains(&n).then_some(n)
}

/// Checks an HTTP matcher: `200`, `200,202`, `200-299`, or lists of codes and ranges.
pub fn check_matcher(matcher: &str) -> Result<(), Error> {
    let bad = || {
        invalid(format!(
            "Health check matcher HTTP code '{matcher}' must be a code, a comma-separated list of codes or a range of codes (e.g. 200-299) between 200 and 499"
        ))
    };
    if matcher.is_empty() {
        return Err(bad());
    }
    for part in matcher.split(',') {
        match part.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (code(low).ok_or_else(bad)?, code(high).ok_or_else(bad)?);
                if low > high {
                    return Err(bad());
                }
            }
            None => {
                code(part).ok_or_else(bad)?;
            }
        }
    }
    Ok(())
}

/// `current` (or the defaults) with `input` applied and checked.
pub fn apply(
    current: &StoredHealthCheck,
    input: &HealthCheckInput,
    target_type: &str,
) -> Result<StoredHealthCheck, Error> {
    let mut hc = current.clone();
    if let Some(enabled) = input.enabled {
        if !enabled {
            return Err(invalid(format!(
                "Health checks cannot be disabled for target groups with the target type '{target_type}'"
            )));
        }
        hc.enabled = true;
    }
    if let Some(protocol) = &input.protocol {
        if protocol != "HTTP" && protocol != "HTTPS" {
            return Err(invalid(format!(
                "Health check protocol '{protocol}' is not supported for application load balancer target groups; use HTTP or HTTPS"
            )));
        }
        hc.protocol = protocol.clone();
    }
    if let Some(port) = &input.port {
        let ok = port == "traffic-port"
            || port
                .parse::<u32>()
                .is_ok_and(|p| (1..=65535).contains(&p) && !port.starts_with('0'));
        if !ok {
            return Err(invalid(format!(
                "Health check port '{port}' must be 'traffic-port' or a port number from 1 to 65535"
            )));
        }
        hc.port = port.clone();
    }
    if let Some(path) = &input.path {
        if !path.starts_with('/') || path.len() > 1024 {
            return Err(invalid(format!(
                "Health check path '{path}' must begin with '/' and be at most 1024 characters"
            )));
        }
        hc.path = path.clone();
    }
    if let Some(n) = input.interval_seconds {
        hc.interval_seconds = n;
    }
    if let Some(n) = input.timeout_seconds {
        hc.timeout_seconds = n;
    }
    if let Some(n) = input.healthy_threshold {
        hc.healthy_threshold = n;
    }
    if let Some(n) = input.unhealthy_threshold {
        hc.unhealthy_threshold = n;
    }
    if let Some(matcher) = &input.matcher {
        if matcher.grpc_code.is_some() {
            return Err(invalid(
                "A gRPC code matcher can only be used with target groups of protocol version GRPC",
            ));
        }
        let http = matcher
            .http_code
            .clone()
            .ok_or_else(|| invalid("The health check matcher must specify an HttpCode"))?;
        check_matcher(&http)?;
        hc.matcher = http;
    }
    // The model bounds each number; the relation between them is checked here.
    if !(5..=300).contains(&hc.interval_seconds) {
        return Err(invalid(
            "Health check interval must be between 5 and 300 seconds",
        ));
    }
    if !(2..=120).contains(&hc.timeout_seconds) {
        return Err(invalid(
            "Health check timeout must be between 2 and 120 seconds",
        ));
    }
    if hc.timeout_seconds >= hc.interval_seconds {
        return Err(invalid(
            "Health check interval must be greater than the timeout.",
        ));
    }
    for (name, n) in [
        ("Healthy threshold count", hc.healthy_threshold),
        ("Unhealthy threshold count", hc.unhealthy_threshold),
    ] {
        if !(2..=10).contains(&n) {
            return Err(invalid(format!("{name} must be between 2 and 10")));
        }
    }
    Ok(hc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_aws_defaults() {
        let d = defaults("HTTP");
        assert_eq!(d.path, "/");
        assert_eq!(d.interval_seconds, 30);
        assert_eq!(d.timeout_seconds, 5);
        assert_eq!(d.healthy_threshold, 5);
        assert_eq!(d.unhealthy_threshold, 2);
        assert_eq!(d.matcher, "200");
        assert_eq!(d.port, "traffic-port");
    }

    #[test]
    fn the_seed_target_group_is_valid() {
        let hc = apply(
            &defaults("HTTP"),
            &HealthCheckInput {
                path: Some("/health".into()),
                healthy_threshold: Some(2),
                interval_seconds: Some(15),
                ..HealthCheckInput::default()
            },
            "ip",
        )
        .unwrap();
        assert_eq!(
            (hc.path.as_str(), hc.interval_seconds, hc.healthy_threshold),
            ("/health", 15, 2)
        );
    }

    #[test]
    fn timeout_must_be_below_interval() {
        let err = apply(
            &defaults("HTTP"),
            &HealthCheckInput {
                interval_seconds: Some(5),
                ..HealthCheckInput::default()
            },
            "ip",
        )
        .unwrap_err();
        assert_eq!(
            err.message(),
            "Health check interval must be greater than the timeout."
        );
        assert!(apply(
            &defaults("HTTP"),
            &HealthCheckInput {
                interval_seconds: Some(5),
                timeout_seconds: Some(2),
                ..HealthCheckInput::default()
            },
            "ip",
        )
        .is_ok());
    }

    #[test]
    fn matchers() {
        for ok in ["200", "200,202", "200-299", "200-299,302,404", "499"] {
            assert!(check_matcher(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "199", "500", "600", "299-200", "abc", "200,", "200--300", "2OO",
        ] {
            assert!(check_matcher(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_limits() {
        let base = defaults("HTTP");
        for input in [
            HealthCheckInput {
                enabled: Some(false),
                ..HealthCheckInput::default()
            },
            HealthCheckInput {
                path: Some("health".into()),
                ..HealthCheckInput::default()
            },
            HealthCheckInput {
                port: Some("70000".into()),
                ..HealthCheckInput::default()
            },
            HealthCheckInput {
                protocol: Some("TCP".into()),
                ..HealthCheckInput::default()
            },
            HealthCheckInput {
                healthy_threshold: Some(11),
                ..HealthCheckInput::default()
            },
            HealthCheckInput {
                interval_seconds: Some(301),
                ..HealthCheckInput::default()
            },
            HealthCheckInput {
                matcher: Some(Matcher {
                    grpc_code: Some("12".into()),
                    http_code: None,
                }),
                ..HealthCheckInput::default()
            },
        ] {
            assert!(apply(&base, &input, "ip").is_err(), "{input:?}");
        }
        let hc = apply(
            &base,
            &HealthCheckInput {
                port: Some("8080".into()),
                protocol: Some("HTTPS".into()),
                ..HealthCheckInput::default()
            },
            "instance",
        )
        .unwrap();
        assert_eq!((hc.port.as_str(), hc.protocol.as_str()), ("8080", "HTTPS"));
    }
}
