//! Security groups as packet filters: what the kernel must admit to and from each network
//! interface, from the rules of the groups it carries.
//!
//! An interface admits a connection when a rule of any of its groups admits it (groups only
//! allow; there is no deny). A rule's peer is an IPv4 range or a security group; a group stands
//! for the private addresses of the interfaces that carry it (tasks, load balancers, endpoints)
//! in the same VPC, as on AWS. IPv6 ranges, prefix lists and `icmpv6` match nothing here (wharf's
//! interfaces have no IPv6 address, and prefix lists name AWS's public ranges).
//!
//! A load balancer is a member of its groups by its interfaces' addresses: wharf's load
//! balancer connects to its targets from the address of its interface (a local address it adds
//! to the VPC's bridge, see wharf-lb's `source_address`), so a rule naming its group admits it
//! and nothing else on the machine.

use crate::records::{
    scope_prefix, GroupRecord, InterfaceRecord, Peer, Rule, VpcRecord, GROUPS, INTERFACES, VPCS,
};
use crate::Ec2;
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use wharf_core::ipv4::Ipv4Net;
use wharf_core::packet_filter::{FilterRule, InterfaceAddress, InterfaceFilter, Traffic};
use wharf_core::subnet_network::vpc_namespace;
use wharf_store::StoreError;

/// The filters of interfaces `ids` of `account` in `region` (unknown ids left out).
pub fn for_interfaces(
    ec2: &Ec2,
    account: &str,
    region: &str,
    ids: &[String],
) -> Result<BTreeMap<String, InterfaceFilter>, StoreError> {
    let prefix = scope_prefix(account, region);
    type Rows<T> = Vec<(String, T)>;
    let (groups, interfaces, vpcs): (Rows<GroupRecord>, Rows<InterfaceRecord>, Rows<VpcRecord>) =
        ec2.store.read(|tx| {
            Ok::<_, StoreError>((
                tx.list(GROUPS, &prefix)?,
                tx.list(INTERFACES, &prefix)?,
                tx.list(VPCS, &prefix)?,
            ))
        })?;
    let groups: HashMap<&str, &GroupRecord> =
        groups.iter().map(|(_, g)| (g.id.as_str(), g)).collect();
    let default_vpcs: Vec<&str> = vpcs
        .iter()
        .filter(|(_, v)| v.is_default)
        .map(|(_, v)| v.id.as_str())
        .collect();
    let interfaces: Vec<&InterfaceRecord> = interfaces.iter().map(|(_, i)| i).collect();
    let members = Members::of(&interfaces);
    Ok(interfaces
        .iter()
        .filter(|eni| ids.contains(&eni.id))
        .map(|eni| {
            let mut filter = filter_of(eni, &groups, &members);
            filter.addresses = addresses_of(eni, default_vpcs.contains(&eni.vpc_id.as_str()));
            (eni.id.clone(), filter)
        })
        .collect())
}

/// Where the kernel finds `eni`'s addresses: the private one on its VPC's bridge (the
/// machine's Docker bridge for the default VPC, the VPC's own namespace otherwise), the public
/// one on the machine's public network.
fn addresses_of(eni: &InterfaceRecord, default_vpc: bool) -> Vec<InterfaceAddress> {
    let private_namespace = (!default_vpc).then(|| vpc_namespace(&eni.vpc_id));
    let private = eni.private_ip.parse().ok().map(|address| InterfaceAddress {
        namespace: private_namespace,
        address,
    });
    let public = eni
        .public_ip
        .as_deref()
        .and_then(|ip| ip.parse().ok())
        .map(|address| InterfaceAddress {
            namespace: None,
            address,
        });
    private.into_iter().chain(public).collect()
}

/// Which private addresses carry each group, per VPC: `vpc id -> group id -> addresses`.
struct Members {
    by_group: HashMap<String, HashMap<String, Vec<Ipv4Addr>>>,
}

impl Members {
    fn of(interfaces: &[&InterfaceRecord]) -> Self {
        let mut by_group: HashMap<String, HashMap<String, Vec<Ipv4Addr>>> = HashMap::new();
        for eni in interfaces {
            let Ok(address) = eni.private_ip.parse::<Ipv4Addr>() else {
                continue;
            };
            for group in &eni.groups {
                by_group
                    .entry(eni.vpc_id.clone())
                    .or_default()
                    .entry(group.id.clone())
                    .or_default()
                    .push(address);
            }
        }
        for addresses in by_group.values_mut().flat_map(|g| g.values_mut()) {
            addresses.sort();
            addresses.dedup();
        }
        Self { by_group }
    }

    fn of_group(&self, vpc_id: &str, group_id: &str) -> &[Ipv4Addr] {
        self.by_group
            .get(vpc_id)
            .and_then(|groups| groups.get(group_id))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// The filter of one interface: the union of its groups' rules.
fn filter_of(
    eni: &InterfaceRecord,
    groups: &HashMap<&str, &GroupRecord>,
    members: &Members,
) -> InterfaceFilter {
    let mut filter = InterfaceFilter::default();
    let rules = eni
        .groups
        .iter()
        .filter_map(|g| groups.get(g.id.as_str()))
        .flat_map(|g| g.rules.iter());
    for rule in rules {
        let Some(traffic) = traffic_of(rule) else {
            continue;
        };
        let peers = peers_of(&rule.peer, &eni.vpc_id, members);
        if peers.is_empty() {
            continue;
        }
        let resolved = FilterRule { traffic, peers };
        let list = if rule.egress {
            &mut filter.egress
        } else {
            &mut filter.ingress
        };
        if !list.contains(&resolved) {
            list.push(resolved);
        }
    }
    filter
}

/// The addresses a rule's peer stands for.
fn peers_of(peer: &Peer, vpc_id: &str, members: &Members) -> Vec<Ipv4Net> {
    match peer {
        Peer::Ipv4(cidr) => Ipv4Net::parse(cidr).into_iter().collect(),
        Peer::Group { group_id, .. } => members
            .of_group(vpc_id, group_id)
            .iter()
            .map(|a| Ipv4Net::host(*a))
            .collect(),
        Peer::Ipv6(_) | Peer::PrefixList(_) => Vec::new(),
    }
}

/// The packets a stored rule is about; `None` for what no IPv4 packet matches (`icmpv6`).
pub(crate) fn traffic_of(rule: &Rule) -> Option<Traffic> {
    let ports = || {
        let from = rule.from_port.unwrap_or(0).clamp(0, 65535);
        let to = rule.to_port.unwrap_or(65535).clamp(0, 65535);
        // A range of -1 (what some clients send for "all") is every port.
        let (from, to) = if rule.from_port == Some(-1) {
            (0, 65535)
        } else {
            (from, to)
        };
        (from as u16, to as u16)
    };
    let icmp_part = |v: Option<i32>| v.filter(|v| (0..=255).contains(v)).map(|v| v as u8);
    Some(match rule.protocol.as_str() {
        "-1" => Traffic::All,
        "tcp" | "6" => {
            let (from, to) = ports();
            Traffic::Tcp { from, to }
        }
        "udp" | "17" => {
            let (from, to) = ports();
            Traffic::Udp { from, to }
        }
        "icmp" | "1" => Traffic::Icmp {
            icmp_type: icmp_part(rule.from_port),
            code: icmp_part(rule.to_port),
        },
        "icmpv6" | "58" => return None,
        other => Traffic::Protocol(other.parse().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::GroupRef;
    use wharf_core::Timestamp;

    fn rule(egress: bool, protocol: &str, from: Option<i32>, to: Option<i32>, peer: Peer) -> Rule {
        Rule {
            id: "sgr-1".into(),
            egress,
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            peer,
            description: None,
            tags: Vec::new(),
        }
    }

    fn group(id: &str, rules: Vec<Rule>) -> GroupRecord {
        GroupRecord {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            vpc_id: "vpc-1".into(),
            owner_id: "123456789012".into(),
            tags: Vec::new(),
            rules,
        }
    }

    fn eni(id: &str, vpc: &str, ip: &str, groups: &[&str]) -> InterfaceRecord {
        InterfaceRecord {
            id: id.into(),
            subnet_id: "subnet-1".into(),
            vpc_id: vpc.into(),
            availability_zone: "us-east-1a".into(),
            availability_zone_id: "use1-az1".into(),
            description: String::new(),
            mac_address: String::new(),
            private_ip: ip.into(),
            public_ip: None,
            groups: groups
                .iter()
                .map(|g| GroupRef {
                    id: g.to_string(),
                    name: g.to_string(),
                })
                .collect(),
            owner_id: "123456789012".into(),
            attachment_id: String::new(),
            attach_time: Timestamp::from_millis(0),
            tags: Vec::new(),
            interface_type: None,
        }
    }

    fn group_peer(id: &str) -> Peer {
        Peer::Group {
            group_id: id.into(),
            user_id: "123456789012".into(),
        }
    }

    fn net(text: &str) -> Ipv4Net {
        Ipv4Net::parse(text).unwrap()
    }

    /// Seed 002's three tiers: the ALB from anywhere, tasks from the ALB, the database from
    /// the tasks.
    fn tiers() -> (Vec<GroupRecord>, Vec<InterfaceRecord>) {
        let groups = vec![
            group(
                "sg-alb",
                vec![
                    rule(
                        false,
                        "tcp",
                        Some(80),
                        Some(80),
                        Peer::Ipv4("0.0.0.0/0".into()),
                    ),
                    rule(true, "-1", None, None, Peer::Ipv4("0.0.0.0/0".into())),
                ],
            ),
            group(
                "sg-tasks",
                vec![
                    rule(false, "tcp", Some(8000), Some(8000), group_peer("sg-alb")),
                    rule(true, "-1", None, None, Peer::Ipv4("0.0.0.0/0".into())),
                ],
            ),
            group(
                "sg-db",
                vec![rule(
                    false,
                    "tcp",
                    Some(5432),
                    Some(5432),
                    group_peer("sg-tasks"),
                )],
            ),
        ];
        let interfaces = vec![
            eni("eni-alb-a", "vpc-1", "10.0.1.10", &["sg-alb"]),
            eni("eni-alb-b", "vpc-1", "10.0.2.10", &["sg-alb"]),
            eni("eni-task-1", "vpc-1", "10.0.11.4", &["sg-tasks"]),
            eni("eni-task-2", "vpc-1", "10.0.12.4", &["sg-tasks"]),
            eni("eni-db", "vpc-1", "10.0.21.4", &["sg-db"]),
            // Same group id in another VPC: never a member of vpc-1's rules.
            eni("eni-other", "vpc-2", "10.0.11.9", &["sg-tasks"]),
        ];
        (groups, interfaces)
    }

    fn filters(
        groups: &[GroupRecord],
        interfaces: &[InterfaceRecord],
    ) -> HashMap<String, InterfaceFilter> {
        let groups: HashMap<&str, &GroupRecord> =
            groups.iter().map(|g| (g.id.as_str(), g)).collect();
        let refs: Vec<&InterfaceRecord> = interfaces.iter().collect();
        let members = Members::of(&refs);
        interfaces
            .iter()
            .map(|e| (e.id.clone(), filter_of(e, &groups, &members)))
            .collect()
    }

    #[test]
    fn source_groups_resolve_to_their_members_in_the_same_vpc() {
        let (groups, interfaces) = tiers();
        let f = filters(&groups, &interfaces);
        assert_eq!(
            f["eni-task-1"].ingress,
            vec![FilterRule {
                traffic: Traffic::Tcp {
                    from: 8000,
                    to: 8000
                },
                peers: vec![net("10.0.1.10/32"), net("10.0.2.10/32")],
            }]
        );
        assert_eq!(
            f["eni-db"].ingress,
            vec![FilterRule {
                traffic: Traffic::Tcp {
                    from: 5432,
                    to: 5432
                },
                peers: vec![net("10.0.11.4/32"), net("10.0.12.4/32")],
            }]
        );
        assert_eq!(
            f["eni-alb-a"].ingress[0].peers,
            vec![net("0.0.0.0/0")],
            "a CIDR peer is kept as it is"
        );
    }

    #[test]
    fn a_load_balancer_is_a_member_by_its_interfaces_addresses() {
        let (groups, mut interfaces) = tiers();
        for eni in interfaces
            .iter_mut()
            .filter(|e| e.id.starts_with("eni-alb"))
        {
            eni.description = "ELB app/blog-alb/50dc6c495c0c9188".into();
        }
        let f = filters(&groups, &interfaces);
        assert_eq!(
            f["eni-task-1"].ingress[0].peers,
            vec![net("10.0.1.10/32"), net("10.0.2.10/32")],
            "the load balancer's own addresses, no router of the VPC"
        );
    }

    #[test]
    fn a_group_without_egress_rules_admits_nothing_outbound() {
        let (groups, interfaces) = tiers();
        let f = filters(&groups, &interfaces);
        assert!(f["eni-db"].egress.is_empty());
        assert_eq!(f["eni-task-1"].egress[0].traffic, Traffic::All);
    }

    #[test]
    fn a_source_group_without_members_admits_nobody() {
        let groups = vec![group(
            "sg-x",
            vec![rule(
                false,
                "tcp",
                Some(22),
                Some(22),
                group_peer("sg-empty"),
            )],
        )];
        let interfaces = vec![eni("eni-x", "vpc-1", "10.0.0.4", &["sg-x"])];
        assert!(filters(&groups, &interfaces)["eni-x"].ingress.is_empty());
    }

    #[test]
    fn rules_of_several_groups_are_united_without_repeats() {
        let groups = vec![
            group(
                "sg-a",
                vec![rule(
                    false,
                    "tcp",
                    Some(80),
                    Some(80),
                    Peer::Ipv4("10.0.0.0/16".into()),
                )],
            ),
            group(
                "sg-b",
                vec![
                    rule(
                        false,
                        "tcp",
                        Some(80),
                        Some(80),
                        Peer::Ipv4("10.0.0.0/16".into()),
                    ),
                    rule(
                        false,
                        "udp",
                        Some(53),
                        Some(53),
                        Peer::Ipv4("10.0.0.0/16".into()),
                    ),
                ],
            ),
        ];
        let interfaces = vec![eni("eni-x", "vpc-1", "10.0.0.4", &["sg-a", "sg-b"])];
        let f = filters(&groups, &interfaces);
        assert_eq!(f["eni-x"].ingress.len(), 2);
    }

    #[test]
    fn protocols_ports_and_icmp_translate_as_aws_defines_them() {
        let t = |p: &str, from, to| {
            traffic_of(&rule(false, p, from, to, Peer::Ipv4("0.0.0.0/0".into())))
        };
        assert_eq!(t("-1", None, None), Some(Traffic::All));
        assert_eq!(
            t("tcp", Some(0), Some(65535)),
            Some(Traffic::Tcp { from: 0, to: 65535 })
        );
        assert_eq!(
            t("udp", Some(1000), Some(2000)),
            Some(Traffic::Udp {
                from: 1000,
                to: 2000
            })
        );
        assert_eq!(
            t("tcp", Some(-1), Some(-1)),
            Some(Traffic::Tcp { from: 0, to: 65535 })
        );
        assert_eq!(
            t("icmp", Some(8), Some(-1)),
            Some(Traffic::Icmp {
                icmp_type: Some(8),
                code: None
            })
        );
        assert_eq!(
            t("icmp", Some(-1), Some(-1)),
            Some(Traffic::Icmp {
                icmp_type: None,
                code: None
            })
        );
        assert_eq!(t("47", None, None), Some(Traffic::Protocol(47)));
        assert_eq!(t("icmpv6", Some(-1), Some(-1)), None);
    }

    #[test]
    fn ipv6_and_prefix_list_peers_match_nothing() {
        let groups = vec![group(
            "sg-a",
            vec![
                rule(false, "tcp", Some(80), Some(80), Peer::Ipv6("::/0".into())),
                rule(
                    false,
                    "tcp",
                    Some(80),
                    Some(80),
                    Peer::PrefixList("pl-63a5400a".into()),
                ),
            ],
        )];
        let interfaces = vec![eni("eni-x", "vpc-1", "10.0.0.4", &["sg-a"])];
        assert!(filters(&groups, &interfaces)["eni-x"].ingress.is_empty());
    }
}
