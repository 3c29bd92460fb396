//! Builds the [`LbSnapshot`] the data plane serves from the stored records (pure: the records
//! and the current time in, the snapshot out).
//!
//! Every load balancer with its listeners (by port), each listener's rules in evaluation order
//! (ascending priority, the default rule last), and every target group with its targets.
//! Targets whose deregistration delay has passed are left out (they are gone even if the
//! periodic reaper has not removed them yet); draining ones are kept with their
//! `deregistered_at_ms`.

use crate::attributes::number;
use crate::records::{
    StoredHealthCheck, StoredListener, StoredLoadBalancer, StoredRule, StoredTarget,
    StoredTargetGroup,
};
use crate::{actions, conditions};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;
use wharf_core::lb_plane::{
    Action, Algorithm, HealthCheckSpec, LbSnapshot, ListenerProtocol, ListenerSpec,
    LoadBalancerSpec, RuleSpec, TargetGroupSpec, TargetSpec,
};
use wharf_core::packet_filter::FilterRule;

/// Everything the snapshot is made of.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// Load balancers.
    pub load_balancers: Vec<StoredLoadBalancer>,
    /// Listeners.
    pub listeners: Vec<StoredListener>,
    /// Non-default rules.
    pub rules: Vec<StoredRule>,
    /// Target groups.
    pub target_groups: Vec<StoredTargetGroup>,
    /// The clients each load balancer admits (its security groups' ingress rules, by ARN),
    /// when security groups are enforced; a load balancer left out admits all.
    pub client_filters: Option<BTreeMap<String, Vec<FilterRule>>>,
}

/// A target group's `deregistration_delay.timeout_seconds` in milliseconds.
pub fn deregistration_delay_ms(tg: &StoredTargetGroup) -> i64 {
    let seconds = number(&tg.attributes, "deregistration_delay.timeout_seconds", 300);
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Whether `target` of `tg` has finished deregistering at `now_ms` (its delay passed).
pub fn deregistration_over(tg: &StoredTargetGroup, target: &StoredTarget, now_ms: i64) -> bool {
    target
        .deregistered_at_ms
        .is_some_and(|at| now_ms >= at.saturating_add(deregistration_delay_ms(tg)))
}

fn health_check(tg: &StoredTargetGroup, hc: &StoredHealthCheck) -> HealthCheckSpec {
    let secs = |n: i32| Duration::from_secs(u64::try_from(n).unwrap_or(0));
    HealthCheckSpec {
        protocol: hc.protocol.clone(),
        port: if hc.port == "traffic-port" {
            None
        } else {
            hc.port.parse().ok().or(Some(tg.port))
        },
        path: hc.path.clone(),
        interval: secs(hc.interval_seconds),
        timeout: secs(hc.timeout_seconds),
        healthy_threshold: u32::try_from(hc.healthy_threshold).unwrap_or(2),
        unhealthy_threshold: u32::try_from(hc.unhealthy_threshold).unwrap_or(2),
        matcher: hc.matcher.clone(),
    }
}

fn target_group(
    tg: &StoredTargetGroup,
    source_address: Option<Ipv4Addr>,
    now_ms: i64,
) -> TargetGroupSpec {
    let attr = |key: &str| tg.attributes.get(key).map(String::as_str);
    let stickiness = (attr("stickiness.enabled") == Some("true")).then(|| {
        Duration::from_secs(number(
            &tg.attributes,
            "stickiness.lb_cookie.duration_seconds",
            86_400,
        ))
    });
    TargetGroupSpec {
        arn: tg.arn.clone(),
        protocol: tg.protocol.clone(),
        port: tg.port,
        health_check: health_check(tg, &tg.health_check),
        deregistration_delay: Duration::from_secs(number(
            &tg.attributes,
            "deregistration_delay.timeout_seconds",
            300,
        )),
        algorithm: match attr("load_balancing.algorithm.type") {
            Some("least_outstanding_requests") => Algorithm::LeastOutstandingRequests,
            // `weighted_random` is served as round robin.
            _ => Algorithm::RoundRobin,
        },
        slow_start: Duration::from_secs(number(&tg.attributes, "slow_start.duration_seconds", 0)),
        stickiness,
        targets: tg
            .targets
            .iter()
            .filter(|t| !deregistration_over(tg, t, now_ms))
            .map(|t| TargetSpec {
                id: t.id.clone(),
                port: t.port,
                deregistered_at_ms: t.deregistered_at_ms,
            })
            .collect(),
        network_namespace: (!tg.vpc_id.is_empty())
            .then(|| wharf_core::subnet_network::vpc_namespace(&tg.vpc_id)),
        source_address,
    }
}

/// The address each target group's connections come from: that of the first interface of
/// the load balancer that forwards to it (the first one found, in ARN order, when several do).
fn source_addresses(
    load_balancers: &[LoadBalancerSpec],
    stored: &[StoredLoadBalancer],
) -> BTreeMap<String, Ipv4Addr> {
    let mut out = BTreeMap::new();
    for lb in load_balancers {
        let address = stored
            .iter()
            .find(|s| s.arn == lb.arn)
            .and_then(|s| s.zones.iter().find_map(|z| z.address.parse().ok()));
        let Some(address) = address else { continue };
        let forwards = lb
            .listeners
            .iter()
            .flat_map(|l| &l.rules)
            .filter_map(|r| match &r.action {
                Action::Forward { target_groups, .. } => Some(target_groups),
                _ => None,
            });
        for (arn, _) in forwards.flatten() {
            out.entry(arn.clone()).or_insert(address);
        }
    }
    out
}

fn listener(l: &StoredListener, rules: &[StoredRule]) -> ListenerSpec {
    let mut own: Vec<&StoredRule> = rules.iter().filter(|r| r.listener_arn == l.arn).collect();
    own.sort_by_key(|r| r.priority);
    let mut specs: Vec<RuleSpec> = own
        .into_iter()
        .filter_map(|r| {
            Some(RuleSpec {
                arn: r.arn.clone(),
                priority: Some(r.priority),
                conditions: r
                    .conditions
                    .iter()
                    .filter_map(conditions::to_plane)
                    .collect(),
                action: actions::to_plane(&r.actions)?,
            })
        })
        .collect();
    if let Some(action) = actions::to_plane(&l.default_actions) {
        specs.push(RuleSpec {
            arn: l.default_rule_arn.clone(),
            priority: None,
            conditions: Vec::new(),
            action,
        });
    }
    let https = l.protocol == "HTTPS";
    ListenerSpec {
        arn: l.arn.clone(),
        port: l.port,
        protocol: if https {
            ListenerProtocol::Https
        } else {
            ListenerProtocol::Http
        },
        certificate_arns: l
            .default_certificate
            .iter()
            .chain(l.certificates.iter())
            .cloned()
            .collect(),
        ssl_policy: if https { l.ssl_policy.clone() } else { None },
        rules: specs,
    }
}

/// The snapshot of `records` at `now_ms`.
pub fn build(records: &Records, now_ms: i64) -> LbSnapshot {
    let mut load_balancers: Vec<LoadBalancerSpec> = records
        .load_balancers
        .iter()
        .map(|lb| {
            let mut listeners: Vec<&StoredListener> = records
                .listeners
                .iter()
                .filter(|l| l.lb_arn == lb.arn)
                .collect();
            listeners.sort_by_key(|l| l.port);
            LoadBalancerSpec {
                arn: lb.arn.clone(),
                dns_name: lb.dns_name.clone(),
                idle_timeout: Duration::from_secs(number(
                    &lb.attributes,
                    "idle_timeout.timeout_seconds",
                    60,
                )),
                availability_zones: lb.zones.iter().map(|z| z.zone_name.clone()).collect(),
                listeners: listeners
                    .into_iter()
                    .map(|l| listener(l, &records.rules))
                    .collect(),
                client_filter: records
                    .client_filters
                    .as_ref()
                    .and_then(|f| f.get(&lb.arn).cloned()),
            }
        })
        .collect();
    load_balancers.sort_by(|a, b| a.arn.cmp(&b.arn));
    let sources = source_addresses(&load_balancers, &records.load_balancers);
    let mut target_groups: Vec<TargetGroupSpec> = records
        .target_groups
        .iter()
        .map(|tg| target_group(tg, sources.get(&tg.arn).copied(), now_ms))
        .collect();
    target_groups.sort_by(|a, b| a.arn.cmp(&b.arn));
    LbSnapshot {
        load_balancers,
        target_groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::{defaults, LOAD_BALANCER_DEFAULTS, TARGET_GROUP_DEFAULTS};
    use crate::generated::{Action, RuleCondition};
    use crate::health_check;
    use crate::records::StoredZone;
    use wharf_core::lb_plane::{Action as PlaneAction, Condition};
    use wharf_core::Timestamp;

    const LB: &str = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/a/0000000000000001";
    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/0000000000000002";
    const L: &str =
        "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/a/0000000000000001/0000000000000003";

    fn forward() -> Vec<Action> {
        crate::actions::normalize(&[Action {
            r#type: "forward".into(),
            target_group_arn: Some(TG.into()),
            ..Action::default()
        }])
        .unwrap()
    }

    fn records() -> Records {
        let mut lb_attrs = defaults(LOAD_BALANCER_DEFAULTS);
        lb_attrs.insert("idle_timeout.timeout_seconds".into(), "120".into());
        let mut tg_attrs = defaults(TARGET_GROUP_DEFAULTS);
        tg_attrs.insert("deregistration_delay.timeout_seconds".into(), "10".into());
        tg_attrs.insert("stickiness.enabled".into(), "true".into());
        tg_attrs.insert(
            "load_balancing.algorithm.type".into(),
            "least_outstanding_requests".into(),
        );
        let rule = |id: &str, priority: u32, path: &str| StoredRule {
            arn: format!("{L}/{id}").replace(":listener/", ":listener-rule/"),
            id: id.into(),
            listener_arn: L.into(),
            priority,
            conditions: crate::conditions::normalize(&[RuleCondition {
                field: Some("path-pattern".into()),
                values: Some(vec![path.into()]),
                ..RuleCondition::default()
            }])
            .unwrap(),
            actions: forward(),
            tags: vec![],
        };
        Records {
            load_balancers: vec![StoredLoadBalancer {
                arn: LB.into(),
                id: "0000000000000001".into(),
                name: "a".into(),
                dns_name: "a-1234567890.us-east-1.elb.localhost".into(),
                hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
                created: Timestamp::from_millis(0),
                scheme: "internet-facing".into(),
                vpc_id: "vpc-1".into(),
                zones: vec![StoredZone {
                    zone_name: "us-east-1a".into(),
                    subnet_id: "subnet-1".into(),
                    interface_id: "eni-1".into(),
                    address: "172.31.15.254".into(),
                }],
                security_groups: vec![],
                ip_address_type: "ipv4".into(),
                attributes: lb_attrs,
                tags: vec![],
            }],
            listeners: vec![StoredListener {
                arn: L.into(),
                id: "0000000000000003".into(),
                lb_arn: LB.into(),
                port: 443,
                protocol: "HTTPS".into(),
                ssl_policy: Some("ELBSecurityPolicy-2016-08".into()),
                default_certificate: Some("arn:cert:default".into()),
                certificates: vec!["arn:cert:sni".into()],
                default_actions: forward(),
                default_rule_arn: format!("{L}/00000000000000ff")
                    .replace(":listener/", ":listener-rule/"),
                tags: vec![],
                default_rule_tags: vec![],
            }],
            rules: vec![
                rule("0000000000000020", 20, "/b/*"),
                rule("0000000000000010", 10, "/a/*"),
            ],
            target_groups: vec![StoredTargetGroup {
                arn: TG.into(),
                id: "0000000000000002".into(),
                name: "t".into(),
                protocol: "HTTP".into(),
                protocol_version: "HTTP1".into(),
                port: 8000,
                vpc_id: "vpc-1".into(),
                target_type: "ip".into(),
                ip_address_type: "ipv4".into(),
                health_check: health_check::defaults("HTTP"),
                attributes: tg_attrs,
                targets: vec![
                    StoredTarget {
                        id: "172.31.0.10".into(),
                        port: 8000,
                        availability_zone: None,
                        registered_at_ms: 0,
                        deregistered_at_ms: None,
                    },
                    StoredTarget {
                        id: "172.31.0.11".into(),
                        port: 8000,
                        availability_zone: None,
                        registered_at_ms: 0,
                        deregistered_at_ms: Some(1_000),
                    },
                    StoredTarget {
                        id: "172.31.0.12".into(),
                        port: 8000,
                        availability_zone: None,
                        registered_at_ms: 0,
                        deregistered_at_ms: Some(0),
                    },
                ],
                tags: vec![],
            }],
            client_filters: None,
        }
    }

    #[test]
    fn builds_listeners_rules_and_targets() {
        let snap = build(&records(), 10_500);
        assert_eq!(snap.load_balancers.len(), 1);
        let lb = &snap.load_balancers[0];
        assert_eq!(lb.idle_timeout, Duration::from_secs(120));
        assert_eq!(lb.dns_name, "a-1234567890.us-east-1.elb.localhost");
        let l = &lb.listeners[0];
        assert_eq!(l.protocol, ListenerProtocol::Https);
        assert_eq!(l.certificate_arns, vec!["arn:cert:default", "arn:cert:sni"]);
        assert_eq!(
            l.rules.iter().map(|r| r.priority).collect::<Vec<_>>(),
            vec![Some(10), Some(20), None]
        );
        assert_eq!(
            l.rules[0].conditions,
            vec![Condition::PathPattern(vec!["/a/*".into()])]
        );
        assert!(l.rules[2].conditions.is_empty());
        assert_eq!(
            l.rules[2].action,
            PlaneAction::Forward {
                target_groups: vec![(TG.into(), 1)],
                stickiness: None
            }
        );
        let tg = &snap.target_groups[0];
        assert_eq!(tg.algorithm, Algorithm::LeastOutstandingRequests);
        assert_eq!(tg.deregistration_delay, Duration::from_secs(10));
        assert_eq!(tg.stickiness, Some(Duration::from_secs(86_400)));
        assert_eq!(tg.health_check.port, None);
        assert_eq!(tg.health_check.interval, Duration::from_secs(30));
        // The target deregistered at 0 is past its 10 s delay; the one at 1 s still drains.
        assert_eq!(
            tg.targets
                .iter()
                .map(|t| (t.id.as_str(), t.deregistered_at_ms))
                .collect::<Vec<_>>(),
            vec![("172.31.0.10", None), ("172.31.0.11", Some(1_000))]
        );
        assert_eq!(
            tg.source_address,
            Some(std::net::Ipv4Addr::new(172, 31, 15, 254)),
            "connections to the targets come from the load balancer's interface"
        );
        assert_eq!(lb.client_filter, None, "security groups not enforced");
    }

    #[test]
    fn a_load_balancer_admits_the_clients_its_filter_names() {
        use wharf_core::ipv4::Ipv4Net;
        use wharf_core::packet_filter::Traffic;
        let rule = FilterRule {
            traffic: Traffic::Tcp { from: 443, to: 443 },
            peers: vec![Ipv4Net::parse("203.0.113.7/32").unwrap()],
        };
        let mut records = records();
        records.client_filters = Some(BTreeMap::from([(LB.to_string(), vec![rule.clone()])]));
        assert_eq!(
            build(&records, 0).load_balancers[0].client_filter,
            Some(vec![rule])
        );
        records.client_filters = Some(BTreeMap::new());
        assert_eq!(
            build(&records, 0).load_balancers[0].client_filter,
            None,
            "a load balancer EC2 does not filter admits all"
        );
    }

    #[test]
    fn a_target_group_no_load_balancer_forwards_to_has_no_source_address() {
        let mut records = records();
        records.listeners.clear();
        records.rules.clear();
        assert_eq!(build(&records, 0).target_groups[0].source_address, None);
    }

    #[test]
    fn empty_store_is_an_empty_snapshot() {
        assert_eq!(build(&Records::default(), 0), LbSnapshot::default());
    }
}
