//! Load balancer and target group attributes: AWS's defaults for application load balancers
//! and their (HTTP / HTTPS, `ip` / `instance`) target groups, and the checks on the values
//! ModifyLoadBalancerAttributes / ModifyTargetGroupAttributes accept (pure).
//!
//! Attributes wharf stores but whose effect it does not implement (access logs, WAF, zonal
//! shift...) keep AWS's defaults and accept AWS's values, so tools that set them work.

use crate::errors::invalid;
use crate::generated::Error;
use std::collections::BTreeMap;

/// Every attribute of an application load balancer, with its default.
pub const LOAD_BALANCER_DEFAULTS: &[(&str, &str)] = &[
    ("access_logs.s3.enabled", "false"),
    ("access_logs.s3.bucket", ""),
    ("access_logs.s3.prefix", ""),
    ("client_keep_alive.seconds", "3600"),
    ("connection_logs.s3.enabled", "false"),
    ("connection_logs.s3.bucket", ""),
    ("connection_logs.s3.prefix", ""),
    ("deletion_protection.enabled", "false"),
    ("health_check_logs.s3.enabled", "false"),
    ("health_check_logs.s3.bucket", ""),
    ("health_check_logs.s3.prefix", ""),
    ("idle_timeout.timeout_seconds", "60"),
    ("load_balancing.cross_zone.enabled", "true"),
    ("routing.http.desync_mitigation_mode", "defensive"),
    ("routing.http.drop_invalid_header_fields.enabled", "false"),
    ("routing.http.preserve_host_header.enabled", "false"),
    (
        "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
        "false",
    ),
    ("routing.http.xff_client_port.enabled", "false"),
    ("routing.http.xff_header_processing.mode", "append"),
    ("routing.http2.enabled", "true"),
    ("waf.fail_open.enabled", "false"),
    ("zonal_shift.config.enabled", "false"),
];

/// Every attribute of an HTTP / HTTPS target group of type `ip` or `instance`, with its
/// default.
pub const TARGET_GROUP_DEFAULTS: &[(&str, &str)] = &[
    ("deregistration_delay.timeout_seconds", "300"),
    ("load_balancing.algorithm.anomaly_mitigation", "off"),
    ("load_balancing.algorithm.type", "round_robin"),
    (
        "load_balancing.cross_zone.enabled",
        "use_load_balancer_configuration",
    ),
    ("slow_start.duration_seconds", "0"),
    ("stickiness.app_cookie.cookie_name", ""),
    ("stickiness.app_cookie.duration_seconds", "86400"),
    ("stickiness.enabled", "false"),
    ("stickiness.lb_cookie.duration_seconds", "86400"),
    ("stickiness.type", "lb_cookie"),
    (
        "target_group_health.dns_failover.minimum_healthy_targets.count",
        "1",
    ),
    (
        "target_group_health.dns_failover.minimum_healthy_targets.percentage",
        "off",
    ),
    (
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
        "1",
    ),
    (
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
        "off",
    ),
];

/// The defaults as a map.
pub fn defaults(table: &[(&str, &str)]) -> BTreeMap<String, String> {
    table
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn bad_value(key: &str, value: &str, expected: &str) -> Error {
    invalid(format!(
        "The value '{value}' of attribute '{key}' is not valid: {expected}"
    ))
}

fn boolean(key: &str, value: &str) -> Result<(), Error> {
    match value {
        "true" | "false" => Ok(()),
        _ => Err(bad_value(key, value, "it must be 'true' or 'false'")),
    }
}

fn integer(key: &str, value: &str, min: i64, max: i64) -> Result<i64, Error> {
    match value.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(bad_value(
            key,
            value,
            &format!("it must be an integer from {min} to {max}"),
        )),
    }
}

fn one_of(key: &str, value: &str, allowed: &[&str]) -> Result<(), Error> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(bad_value(
            key,
            value,
            &format!("it must be one of {}", allowed.join(", ")),
        ))
    }
}

fn check_load_balancer_value(key: &str, value: &str) -> Result<(), Error> {
    match key {
        "access_logs.s3.enabled"
        | "connection_logs.s3.enabled"
        | "health_check_logs.s3.enabled"
        | "deletion_protection.enabled"
        | "routing.http.drop_invalid_header_fields.enabled"
        | "routing.http.preserve_host_header.enabled"
        | "routing.http.x_amzn_tls_version_and_cipher_suite.enabled"
        | "routing.http.xff_client_port.enabled"
        | "routing.http2.enabled"
        | "waf.fail_open.enabled"
        | "zonal_shift.config.enabled" => boolean(key, value),
        "access_logs.s3.bucket"
        | "access_logs.s3.prefix"
        | "connection_logs.s3.bucket"
        | "connection_logs.s3.prefix"
        | "health_check_logs.s3.bucket"
        | "health_check_logs.s3.prefix" => Ok(()),
        "client_keep_alive.seconds" => integer(key, value, 60, 604_800).map(|_| ()),
        "idle_timeout.timeout_seconds" => integer(key, value, 1, 4000).map(|_| ()),
        "load_balancing.cross_zone.enabled" => {
            // Cross-zone load balancing is always on for application load balancers.
            if value == "true" {
                Ok(())
            } else {
                Err(bad_value(
                    key,
                    value,
                    "cross-zone load balancing cannot be turned off for application load balancers",
                ))
            }
        }
        "routing.http.desync_mitigation_mode" => {
            one_of(key, value, &["monitor", "defensive", "strictest"])
        }
        "routing.http.xff_header_processing.mode" => {
            one_of(key, value, &["append", "preserve", "remove"])
        }
        _ => Err(invalid(format!(
            "Load balancer attribute key '{key}' is not recognized"
        ))),
    }
}

fn check_target_group_value(key: &str, value: &str) -> Result<(), Error> {
    match key {
        "deregistration_delay.timeout_seconds" => integer(key, value, 0, 3600).map(|_| ()),
        "load_balancing.algorithm.type" => one_of(
            key,
            value,
            &[
                "round_robin",
                "least_outstanding_requests",
                "weighted_random",
            ],
        ),
        "load_balancing.algorithm.anomaly_mitigation" => one_of(key, value, &["on", "off"]),
        "load_balancing.cross_zone.enabled" => one_of(
            key,
            value,
            &["true", "false", "use_load_balancer_configuration"],
        ),
        "slow_start.duration_seconds" => {
            let n = integer(key, value, 0, 900)?;
            if n != 0 && n < 30 {
                return Err(bad_value(
                    key,
                    value,
                    "slow start must be 0 (off) or from 30 to 900 seconds",
                ));
            }
            Ok(())
        }
        "stickiness.enabled" => boolean(key, value),
        "stickiness.type" => match value {
            "lb_cookie" => Ok(()),
            "app_cookie" => Err(bad_value(
                key,
                value,
                "wharf implements load balancer cookies ('lb_cookie') only",
            )),
            _ => Err(bad_value(
                key,
                value,
                "it must be 'lb_cookie' or 'app_cookie'",
            )),
        },
        "stickiness.lb_cookie.duration_seconds" | "stickiness.app_cookie.duration_seconds" => {
            integer(key, value, 1, 604_800).map(|_| ())
        }
        "stickiness.app_cookie.cookie_name" => Ok(()),
        "target_group_health.dns_failover.minimum_healthy_targets.count"
        | "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count" => {
            if value == "off" {
                Ok(())
            } else {
                integer(key, value, 1, 1_000_000).map(|_| ())
            }
        }
        "target_group_health.dns_failover.minimum_healthy_targets.percentage"
        | "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage" => {
            if value == "off" {
                Ok(())
            } else {
                integer(key, value, 1, 100).map(|_| ())
            }
        }
        _ => Err(invalid(format!(
            "Target group attribute key '{key}' is not recognized"
        ))),
    }
}

/// The `(key, value)` changes of a Modify*Attributes call; `what` names the resource kind in
/// the error for a change without a key.
pub(crate) fn change_list<'a>(
    pairs: impl Iterator<Item = (Option<&'a String>, Option<&'a String>)>,
    what: &str,
) -> Result<Vec<(String, String)>, Error> {
    pairs
        .map(|(key, value)| {
            let key =
                key.ok_or_else(|| invalid(format!("Each {what} attribute requires a Key")))?;
            Ok((key.clone(), value.cloned().unwrap_or_default()))
        })
        .collect()
}

/// `current` with `changes` applied, every change checked; nothing applies if one is bad.
pub fn modify_load_balancer(
    current: &BTreeMap<String, String>,
    changes: &[(String, String)],
) -> Result<BTreeMap<String, String>, Error> {
    let mut out = current.clone();
    for (key, value) in changes {
        check_load_balancer_value(key, value)?;
        out.insert(key.clone(), value.clone());
    }
    for prefix in ["access_logs", "connection_logs", "health_check_logs"] {
        let enabled = out.get(&format!("{prefix}.s3.enabled")).map(String::as_str) == Some("true");
        let bucket = out
            .get(&format!("{prefix}.s3.bucket"))
            .map(String::as_str)
            .unwrap_or_default();
        if enabled && bucket.is_empty() {
            return Err(invalid(format!(
                "The value of '{prefix}.s3.bucket' cannot be empty when '{prefix}.s3.enabled' is 'true'"
            )));
        }
    }
    Ok(out)
}

/// `current` with `changes` applied, every change checked; nothing applies if one is bad.
pub fn modify_target_group(
    current: &BTreeMap<String, String>,
    changes: &[(String, String)],
) -> Result<BTreeMap<String, String>, Error> {
    let mut out = current.clone();
    for (key, value) in changes {
        check_target_group_value(key, value)?;
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

/// An attribute as a number (its default when unset or unreadable).
pub fn number(attributes: &BTreeMap<String, String>, key: &str, default: u64) -> u64 {
    attributes
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn load_balancer_defaults_and_checks() {
        let d = defaults(LOAD_BALANCER_DEFAULTS);
        assert_eq!(d["idle_timeout.timeout_seconds"], "60");
        assert_eq!(d["routing.http2.enabled"], "true");
        assert_eq!(d["deletion_protection.enabled"], "false");
        let m = modify_load_balancer(&d, &[change("idle_timeout.timeout_seconds", "120")]).unwrap();
        assert_eq!(m["idle_timeout.timeout_seconds"], "120");
        for (k, v) in [
            ("idle_timeout.timeout_seconds", "0"),
            ("idle_timeout.timeout_seconds", "4001"),
            ("idle_timeout.timeout_seconds", "abc"),
            ("routing.http2.enabled", "yes"),
            ("routing.http.desync_mitigation_mode", "lenient"),
            ("no.such.key", "1"),
            ("access_logs.s3.enabled", "true"),
            ("load_balancing.cross_zone.enabled", "false"),
        ] {
            let err = modify_load_balancer(&d, &[change(k, v)]).unwrap_err();
            assert!(
                err.message().contains(k.split('.').next().unwrap_or(k)),
                "{err}"
            );
        }
        assert!(modify_load_balancer(
            &d,
            &[
                change("access_logs.s3.enabled", "true"),
                change("access_logs.s3.bucket", "logs")
            ]
        )
        .is_ok());
    }

    #[test]
    fn target_group_defaults_and_checks() {
        let d = defaults(TARGET_GROUP_DEFAULTS);
        assert_eq!(d["deregistration_delay.timeout_seconds"], "300");
        assert_eq!(d["load_balancing.algorithm.type"], "round_robin");
        assert_eq!(d["stickiness.type"], "lb_cookie");
        for (k, v) in [
            ("deregistration_delay.timeout_seconds", "0"),
            ("deregistration_delay.timeout_seconds", "3600"),
            ("slow_start.duration_seconds", "0"),
            ("slow_start.duration_seconds", "30"),
            ("slow_start.duration_seconds", "900"),
            (
                "load_balancing.algorithm.type",
                "least_outstanding_requests",
            ),
            ("stickiness.enabled", "true"),
            ("stickiness.lb_cookie.duration_seconds", "604800"),
        ] {
            assert!(modify_target_group(&d, &[change(k, v)]).is_ok(), "{k}={v}");
        }
        for (k, v) in [
            ("deregistration_delay.timeout_seconds", "3601"),
            ("deregistration_delay.timeout_seconds", "-1"),
            ("slow_start.duration_seconds", "29"),
            ("slow_start.duration_seconds", "901"),
            ("load_balancing.algorithm.type", "random"),
            ("stickiness.type", "app_cookie"),
            ("stickiness.lb_cookie.duration_seconds", "0"),
            ("bogus", "1"),
        ] {
            assert!(modify_target_group(&d, &[change(k, v)]).is_err(), "{k}={v}");
        }
    }
}
