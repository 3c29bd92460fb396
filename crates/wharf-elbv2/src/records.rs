//! What Elastic Load Balancing keeps in the store, and the keys it keeps it under.
//!
//! - `elbv2.load_balancers`: `<account>/<region>/<lb id>` -> [`StoredLoadBalancer`]
//! - `elbv2.listeners`: `<account>/<region>/<lb id>/<listener id>` -> [`StoredListener`], so a
//!   load balancer's listeners are the keys under its own key
//! - `elbv2.rules`: `<account>/<region>/<lb id>/<listener id>/<rule id>` -> [`StoredRule`] (the
//!   non-default rules; each listener's default rule lives in the listener record)
//! - `elbv2.target_groups`: `<account>/<region>/<tg id>` -> [`StoredTargetGroup`], targets
//!   included
//!
//! The ids are the 16 hex digits at the end of each ARN, so an ARN leads straight to its key.
//! Actions and rule conditions are kept in their wire shape (the generated types), already
//! normalised as DescribeListeners / DescribeRules show them.

use crate::generated::{Action, RuleCondition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use wharf_core::Timestamp;
use wharf_store::{Table, TableFormat};

/// Table of load balancers.
pub const LOAD_BALANCERS: Table<StoredLoadBalancer> = Table::new("elbv2.load_balancers", 1);
/// Table of listeners.
pub const LISTENERS: Table<StoredListener> = Table::new("elbv2.listeners", 1);
/// Table of (non-default) rules.
pub const RULES: Table<StoredRule> = Table::new("elbv2.rules", 1);
/// Table of target groups.
pub const TARGET_GROUPS: Table<StoredTargetGroup> = Table::new("elbv2.target_groups", 1);

/// Every table of the crate with the format this wharf writes (the server checks them at start).
pub const TABLES: &[TableFormat] = &[
    LOAD_BALANCERS.format(),
    LISTENERS.format(),
    RULES.format(),
    TARGET_GROUPS.format(),
];

/// A resource tag (ELBv2 tags may have no value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: Option<String>,
}

/// An application load balancer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredLoadBalancer {
    /// `LoadBalancerArn`.
    pub arn: String,
    /// The id at the end of the ARN.
    pub id: String,
    /// `LoadBalancerName`.
    pub name: String,
    /// `DNSName`: `<name>-<digits>.<region>.elb.localhost` (`internal-` first when internal).
    pub dns_name: String,
    /// `CanonicalHostedZoneId`.
    pub hosted_zone_id: String,
    /// `CreatedTime`.
    pub created: Timestamp,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// `VpcId` (the subnets').
    pub vpc_id: String,
    /// `AvailabilityZones`: one subnet per zone, in zone order.
    pub zones: Vec<StoredZone>,
    /// `SecurityGroups`.
    pub security_groups: Vec<String>,
    /// `IpAddressType`.
    pub ip_address_type: String,
    /// Every attribute with its current value (the defaults filled in).
    pub attributes: BTreeMap<String, String>,
    /// Tags.
    pub tags: Vec<StoredTag>,
}

/// A zone the load balancer is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredZone {
    /// `ZoneName`.
    pub zone_name: String,
    /// `SubnetId`.
    pub subnet_id: String,
    /// The load balancer's network interface in the subnet (EC2's `eni-...`; empty until it
    /// is recorded).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface_id: String,
    /// That interface's private address: where the load balancer's connections to targets
    /// come from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
}

/// A listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredListener {
    /// `ListenerArn`.
    pub arn: String,
    /// The id at the end of the ARN.
    pub id: String,
    /// `LoadBalancerArn`.
    pub lb_arn: String,
    /// `Port`.
    pub port: u16,
    /// `HTTP` or `HTTPS`.
    pub protocol: String,
    /// `SslPolicy` (HTTPS).
    pub ssl_policy: Option<String>,
    /// The default certificate's ARN (HTTPS).
    pub default_certificate: Option<String>,
    /// Extra certificates chosen by SNI (AddListenerCertificates), in the order added.
    pub certificates: Vec<String>,
    /// `DefaultActions`, normalised.
    pub default_actions: Vec<Action>,
    /// The ARN of the listener's default rule (DescribeRules shows it with `IsDefault`).
    pub default_rule_arn: String,
    /// Tags of the listener.
    pub tags: Vec<StoredTag>,
    /// Tags of its default rule.
    pub default_rule_tags: Vec<StoredTag>,
}

/// A listener rule other than the default one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRule {
    /// `RuleArn`.
    pub arn: String,
    /// The id at the end of the ARN.
    pub id: String,
    /// The listener it belongs to.
    pub listener_arn: String,
    /// `Priority`, 1-50000, unique per listener.
    pub priority: u32,
    /// `Conditions`, normalised.
    pub conditions: Vec<RuleCondition>,
    /// `Actions`, normalised.
    pub actions: Vec<Action>,
    /// Tags.
    pub tags: Vec<StoredTag>,
}

/// A target group's health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredHealthCheck {
    /// `HealthCheckEnabled`.
    pub enabled: bool,
    /// `HealthCheckProtocol`.
    pub protocol: String,
    /// `HealthCheckPort`: `traffic-port` or a port number.
    pub port: String,
    /// `HealthCheckPath`.
    pub path: String,
    /// `HealthCheckIntervalSeconds`.
    pub interval_seconds: i32,
    /// `HealthCheckTimeoutSeconds`.
    pub timeout_seconds: i32,
    /// `HealthyThresholdCount`.
    pub healthy_threshold: i32,
    /// `UnhealthyThresholdCount`.
    pub unhealthy_threshold: i32,
    /// `Matcher.HttpCode`.
    pub matcher: String,
}

/// A target group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTargetGroup {
    /// `TargetGroupArn`.
    pub arn: String,
    /// The id at the end of the ARN.
    pub id: String,
    /// `TargetGroupName`.
    pub name: String,
    /// `Protocol` (`HTTP` or `HTTPS`).
    pub protocol: String,
    /// `ProtocolVersion` (`HTTP1`).
    pub protocol_version: String,
    /// `Port`.
    pub port: u16,
    /// `VpcId`.
    pub vpc_id: String,
    /// `TargetType` (`ip` or `instance`).
    pub target_type: String,
    /// `IpAddressType` (`ipv4`).
    pub ip_address_type: String,
    /// Its health check.
    pub health_check: StoredHealthCheck,
    /// Every attribute with its current value (the defaults filled in).
    pub attributes: BTreeMap<String, String>,
    /// Registered and draining targets, in registration order.
    pub targets: Vec<StoredTarget>,
    /// Tags.
    pub tags: Vec<StoredTag>,
}

/// A registered (or deregistering) target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTarget {
    /// The IP address or instance id.
    pub id: String,
    /// Its port.
    pub port: u16,
    /// `AvailabilityZone` as registered (`all` for addresses outside the VPC).
    pub availability_zone: Option<String>,
    /// When it was (last) registered, milliseconds since the epoch.
    pub registered_at_ms: i64,
    /// When DeregisterTargets was called: draining until the data plane says it drained or
    /// the deregistration delay passes.
    pub deregistered_at_ms: Option<i64>,
}

/// `<account>/<region>/`: the prefix of every key of one account and region.
pub fn scope(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_keep_their_names_at_format_1() {
        let names: Vec<(&str, u32)> = TABLES.iter().map(|t| (t.name, t.version)).collect();
        assert_eq!(
            names,
            vec![
                ("elbv2.load_balancers", 1),
                ("elbv2.listeners", 1),
                ("elbv2.rules", 1),
                ("elbv2.target_groups", 1),
            ]
        );
    }
}
