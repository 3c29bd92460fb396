//! Target registration in target groups, as the API sees it: RegisterTargets,
//! DeregisterTargets, DescribeTargetHealth (the data plane keeps the targets' run-time states).
//!
//! What can be registered, as AWS allows it:
//! - target type `ip`: an IPv4 address inside the target group's VPC (the default VPC is
//!   172.31.0.0/16, where wharf's tasks get their addresses), or, with `AvailabilityZone=all`,
//!   a private address outside it (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10);
//!   public, loopback and link-local addresses are refused. A program on the wharf host is
//!   reachable as the Docker bridge gateway (e.g. `Id=172.17.0.1,AvailabilityZone=all`).
//! - target type `instance`: an instance id (`i-` and 8 or 17 hex digits). wharf has no EC2
//!   instances, so any well-formed id is accepted.
//! - ports 1-65535 (the target group's port when none is given).
//!
//! DeregisterTargets leaves the target `draining` until the data plane reports it drained or
//! `deregistration_delay.timeout_seconds` passes; then it is gone (removed by
//! [`crate::Elbv2::reap_drained`], and hidden from then on even before). A target group no
//! listener uses has nothing in flight, so its targets go at once.
//!
//! DescribeTargetHealth reports what the data plane says (healthy, unhealthy, ...) and, where
//! it says nothing (no plane, or not checked yet): `initial` / `Elb.RegistrationInProgress`
//! for targets of a target group a listener uses, `unused` / `Target.NotInUse` otherwise,
//! `draining` / `Target.DeregistrationInProgress` after deregistration, and `unused` /
//! `Target.NotRegistered` for a target asked about but not registered — with AWS's
//! descriptions.

use crate::errors::invalid;
use crate::generated::*;
use crate::lookup::{load_tg, usage};
use crate::records::{StoredTarget, StoredTargetGroup, TARGET_GROUPS};
use crate::snapshot::deregistration_over;
use crate::Elbv2;
use std::net::Ipv4Addr;
use wharf_core::lb_plane::TargetHealthReport;
use wharf_core::RequestContext;

/// Most targets per target group (AWS's default quota).
const MAX_TARGETS: usize = 1000;

/// `Elb.RegistrationInProgress`'s description.
pub const REGISTRATION_IN_PROGRESS: &str = "Target registration is in progress";
/// `Target.NotInUse`'s description.
pub const NOT_IN_USE: &str =
    "Target group is not configured to receive traffic from the load balancer";
/// `Target.DeregistrationInProgress`'s description.
pub const DEREGISTRATION_IN_PROGRESS: &str = "Target deregistration is in progress";
/// `Target.NotRegistered`'s description.
pub const NOT_REGISTERED: &str = "Target is not registered to the target group";

/// The private ranges AWS accepts for `ip` targets outside the VPC.
const PRIVATE_RANGES: &[(&str, u8)] = &[
    ("10.0.0.0", 8),
    ("172.16.0.0", 12),
    ("192.168.0.0", 16),
    ("100.64.0.0", 10),
];

fn in_cidr(ip: Ipv4Addr, network: Ipv4Addr, len: u8) -> bool {
    if len == 0 {
        return true;
    }
    let mask = u32::MAX << (32 - u32::from(len.min(32)));
    (u32::from(ip) & mask) == (u32::from(network) & mask)
}

fn parse_cidr(cidr: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = cidr.split_once('/')?;
    Some((addr.parse().ok()?, len.parse().ok().filter(|l| *l <= 32)?))
}

/// Checks an `ip` target against AWS's rules, `vpc_cidr` being the target group's VPC range.
pub fn check_ip_target(id: &str, zone: Option<&str>, vpc_cidr: &str) -> Result<(), Error> {
    let ip: Ipv4Addr = id
        .parse()
        .map_err(|_| invalid(format!("The IP address '{id}' is not a valid IPv4 address")))?;
    let in_vpc = parse_cidr(vpc_cidr).is_some_and(|(net, len)| in_cidr(ip, net, len));
    if in_vpc {
        if zone == Some("all") {
            return Err(invalid(format!(
                "The IP address '{id}' is within the VPC, and cannot have its Availability Zone overridden to 'all'"
            )));
        }
        return Ok(());
    }
    let private = PRIVATE_RANGES
        .iter()
        .any(|(net, len)| net.parse::<Ipv4Addr>().is_ok_and(|n| in_cidr(ip, n, *len)));
    if !private {
        return Err(invalid(format!(
            "The IP address '{id}' cannot be registered: targets must be in the VPC ({vpc_cidr}) or in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10"
        )));
    }
    if zone != Some("all") {
        return Err(invalid(format!(
            "The Availability Zone is required for IP address '{id}' because it is not in the VPC; specify AvailabilityZone=all"
        )));
    }
    Ok(())
}

/// Checks an `instance` target id.
pub fn check_instance_target(id: &str) -> Result<(), Error> {
    let ok = id.strip_prefix("i-").is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    });
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("Instance ID '{id}' is not valid")))
    }
}

fn target_port(tg: &StoredTargetGroup, t: &TargetDescription) -> Result<u16, Error> {
    match t.port {
        None => Ok(tg.port),
        Some(p) => u16::try_from(p).ok().filter(|p| *p > 0).ok_or_else(|| {
            invalid(format!(
                "The port '{p}' of target '{}' must be from 1 to 65535",
                t.id
            ))
        }),
    }
}

/// RegisterTargets.
pub fn register(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: RegisterTargetsInput,
) -> Result<RegisterTargetsOutput, Error> {
    let (_, tg) = elbv2
        .store
        .read(|tx| load_tg(tx, ctx, &input.target_group_arn))?;
    let vpc_cidr = if tg.target_type == "ip" {
        elbv2
            .network
            .vpc(&ctx.account_id, &ctx.region, &tg.vpc_id)
            .map_err(crate::errors::network_error)?
            .map(|v| v.cidr_block)
            .unwrap_or_default()
    } else {
        String::new()
    };
    let mut wanted: Vec<StoredTarget> = Vec::with_capacity(input.targets.len());
    for t in &input.targets {
        if t.quic_server_id.is_some() {
            return Err(invalid("QuicServerId is only for QUIC target groups"));
        }
        if tg.target_type == "ip" {
            check_ip_target(&t.id, t.availability_zone.as_deref(), &vpc_cidr)?;
        } else {
            check_instance_target(&t.id)?;
        }
        let port = target_port(&tg, t)?;
        wanted.push(StoredTarget {
            id: t.id.clone(),
            port,
            availability_zone: t.availability_zone.clone(),
            registered_at_ms: ctx.now.millis,
            deregistered_at_ms: None,
        });
    }
    elbv2.write(|tx| {
        let (key, mut tg) = load_tg(tx, ctx, &input.target_group_arn)?;
        let now = ctx.now.millis;
        // Targets whose deregistration finished are gone.
        let snapshot = tg.clone();
        tg.targets.retain(|t| !deregistration_over(&snapshot, t, now));
        for w in wanted.iter() {
            match tg
                .targets
                .iter_mut()
                .find(|t| t.id == w.id && t.port == w.port)
            {
                // Registering a draining target makes it a target again.
                Some(existing) if existing.deregistered_at_ms.is_some() => {
                    *existing = w.clone();
                }
                Some(_) => {}
                None => tg.targets.push(w.clone()),
            }
        }
        if tg.targets.len() > MAX_TARGETS {
            return Err(Error::TooManyTargetsException(format!(
                "You have reached the maximum number of targets ({MAX_TARGETS}) for target group '{}'",
                tg.arn
            )));
        }
        tx.put(TARGET_GROUPS, &key, &tg)?;
        Ok(())
    })?;
    Ok(RegisterTargetsOutput {})
}

/// DeregisterTargets.
pub fn deregister(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: DeregisterTargetsInput,
) -> Result<DeregisterTargetsOutput, Error> {
    elbv2.write(|tx| {
        let (key, mut tg) = load_tg(tx, ctx, &input.target_group_arn)?;
        let now = ctx.now.millis;
        let snapshot = tg.clone();
        tg.targets
            .retain(|t| !deregistration_over(&snapshot, t, now));
        let in_use = usage(tx, &ctx.account_id, &ctx.region)?.in_use(&tg.arn);
        let immediate = !in_use || crate::snapshot::deregistration_delay_ms(&tg) == 0;
        let mut missing = Vec::new();
        for t in &input.targets {
            let port = target_port(&tg, t)?;
            match tg
                .targets
                .iter()
                .position(|x| x.id == t.id && x.port == port)
            {
                Some(i) if immediate => {
                    tg.targets.remove(i);
                }
                Some(i) => {
                    let target = &mut tg.targets[i];
                    if target.deregistered_at_ms.is_none() {
                        target.deregistered_at_ms = Some(now);
                    }
                }
                None => missing.push(format!("'{}:{port}'", t.id)),
            }
        }
        if !missing.is_empty() {
            return Err(Error::InvalidTargetException(format!(
                "The following targets are not registered in target group '{}': {}",
                tg.arn,
                missing.join(", ")
            )));
        }
        tx.put(TARGET_GROUPS, &key, &tg)?;
        Ok(())
    })?;
    Ok(DeregisterTargetsOutput {})
}

fn health(state: &str, reason: Option<&str>, description: Option<&str>) -> TargetHealth {
    TargetHealth {
        state: Some(state.into()),
        reason: reason.map(str::to_string),
        description: description.map(str::to_string),
    }
}

/// What DescribeTargetHealth says about one registered target (pure).
pub fn state_of(
    target: &StoredTarget,
    in_use: bool,
    report: Option<&TargetHealthReport>,
) -> TargetHealth {
    if target.deregistered_at_ms.is_some() {
        return health(
            "draining",
            Some("Target.DeregistrationInProgress"),
            Some(DEREGISTRATION_IN_PROGRESS),
        );
    }
    if !in_use {
        return health("unused", Some("Target.NotInUse"), Some(NOT_IN_USE));
    }
    match report {
        Some(r) => TargetHealth {
            state: Some(r.state.clone()),
            reason: r.reason.clone(),
            description: r.description.clone(),
        },
        None => health(
            "initial",
            Some("Elb.RegistrationInProgress"),
            Some(REGISTRATION_IN_PROGRESS),
        ),
    }
}

/// DescribeTargetHealth.
pub fn describe_health(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: DescribeTargetHealthInput,
) -> Result<DescribeTargetHealthOutput, Error> {
    let (tg, in_use) = elbv2.store.read(|tx| {
        let (_, tg) = load_tg(tx, ctx, &input.target_group_arn)?;
        let in_use = usage(tx, &ctx.account_id, &ctx.region)?.in_use(&tg.arn);
        Ok::<_, Error>((tg, in_use))
    })?;
    let now = ctx.now.millis;
    let (reports, drained) = match elbv2.plane() {
        Some(plane) => (plane.target_health(&tg.arn), plane.drained(&tg.arn)),
        None => (Vec::new(), Vec::new()),
    };
    let current: Vec<&StoredTarget> = tg
        .targets
        .iter()
        .filter(|t| !deregistration_over(&tg, t, now))
        .filter(|t| {
            t.deregistered_at_ms.is_none()
                || !drained
                    .iter()
                    .any(|(id, port)| *id == t.id && *port == t.port)
        })
        .collect();
    let hc_port = |port: u16| {
        if tg.health_check.port == "traffic-port" {
            port.to_string()
        } else {
            tg.health_check.port.clone()
        }
    };
    let describe = |t: &StoredTarget| TargetHealthDescription {
        target: Some(TargetDescription {
            id: t.id.clone(),
            port: Some(i32::from(t.port)),
            availability_zone: t.availability_zone.clone(),
            quic_server_id: None,
        }),
        health_check_port: Some(hc_port(t.port)),
        target_health: Some(state_of(
            t,
            in_use,
            reports.iter().find(|r| r.id == t.id && r.port == t.port),
        )),
        ..TargetHealthDescription::default()
    };
    let out = match &input.targets {
        None => current.iter().map(|t| describe(t)).collect(),
        Some(asked) if asked.is_empty() => current.iter().map(|t| describe(t)).collect(),
        Some(asked) => {
            let mut out = Vec::new();
            for a in asked {
                let matching: Vec<&&StoredTarget> = current
                    .iter()
                    .filter(|t| t.id == a.id && a.port.is_none_or(|p| i32::from(t.port) == p))
                    .collect();
                if matching.is_empty() {
                    let port = a.port.unwrap_or(i32::from(tg.port));
                    out.push(TargetHealthDescription {
                        target: Some(TargetDescription {
                            id: a.id.clone(),
                            port: Some(port),
                            availability_zone: a.availability_zone.clone(),
                            quic_server_id: None,
                        }),
                        health_check_port: Some(hc_port(u16::try_from(port).unwrap_or(tg.port))),
                        target_health: Some(health(
                            "unused",
                            Some("Target.NotRegistered"),
                            Some(NOT_REGISTERED),
                        )),
                        ..TargetHealthDescription::default()
                    });
                }
                out.extend(matching.into_iter().map(|t| describe(t)));
            }
            out
        }
    };
    Ok(DescribeTargetHealthOutput {
        target_health_descriptions: Some(out),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_targets_follow_aws_rules() {
        let vpc = "172.31.0.0/16";
        assert!(check_ip_target("172.31.5.9", None, vpc).is_ok());
        assert!(check_ip_target("172.31.5.9", Some("us-east-1a"), vpc).is_ok());
        assert!(check_ip_target("172.31.5.9", Some("all"), vpc).is_err());
        assert!(check_ip_target("10.1.2.3", Some("all"), vpc).is_ok());
        assert!(check_ip_target("100.64.0.1", Some("all"), vpc).is_ok());
        assert!(check_ip_target("172.17.0.1", Some("all"), vpc).is_ok());
        let err = check_ip_target("10.1.2.3", None, vpc).unwrap_err();
        assert!(
            err.message().contains("Availability Zone is required"),
            "{err}"
        );
        for bad in [
            "8.8.8.8",
            "127.0.0.1",
            "169.254.1.1",
            "not-an-ip",
            "::1",
            "172.31.0.256",
        ] {
            assert!(check_ip_target(bad, Some("all"), vpc).is_err(), "{bad}");
        }
    }

    #[test]
    fn instance_ids() {
        assert!(check_instance_target("i-0123abcd").is_ok());
        assert!(check_instance_target("i-0123456789abcdef0").is_ok());
        for bad in ["i-", "i-xyz", "10.0.0.1", "i-0123456789"] {
            assert!(check_instance_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn states_without_and_with_a_plane() {
        let t = StoredTarget {
            id: "172.31.0.9".into(),
            port: 80,
            availability_zone: None,
            registered_at_ms: 0,
            deregistered_at_ms: None,
        };
        let s = state_of(&t, true, None);
        assert_eq!(
            (
                s.state.as_deref(),
                s.reason.as_deref(),
                s.description.as_deref()
            ),
            (
                Some("initial"),
                Some("Elb.RegistrationInProgress"),
                Some(REGISTRATION_IN_PROGRESS)
            )
        );
        let s = state_of(&t, false, None);
        assert_eq!(s.reason.as_deref(), Some("Target.NotInUse"));
        let report = TargetHealthReport {
            id: t.id.clone(),
            port: 80,
            state: "healthy".into(),
            reason: None,
            description: None,
        };
        let s = state_of(&t, true, Some(&report));
        assert_eq!((s.state.as_deref(), s.reason), (Some("healthy"), None));
        let draining = StoredTarget {
            deregistered_at_ms: Some(5),
            ..t
        };
        let s = state_of(&draining, true, Some(&report));
        assert_eq!(s.state.as_deref(), Some("draining"));
        assert_eq!(s.description.as_deref(), Some(DEREGISTRATION_IN_PROGRESS));
    }
}
