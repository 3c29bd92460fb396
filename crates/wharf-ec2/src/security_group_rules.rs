//! Security group rules: turning `IpPermissions` (or the flat `IpProtocol`/`FromPort`/`CidrIp`
//! parameters) into one stored rule per peer, normalising protocols and ports, recognising
//! duplicates, and merging stored rules back into AWS's grouped `IpPermissions` form.
//!
//! AWS stores a rule per (protocol, port range, peer) and gives each an `sgr-` id, but
//! DescribeSecurityGroups groups the rules that share protocol and ports into one
//! `IpPermission` with several `IpRanges` / `UserIdGroupPairs`. Protocols are answered by name
//! for tcp, udp, icmp and icmpv6 (`6` becomes `tcp`), `-1` means every protocol and carries no
//! ports, and tcp/udp need both ports. Everything here is pure, so it is tested without a store.

use crate::generated::{
    Error, IpPermission, IpRange, Ipv6Range, PrefixListId, ReferencedSecurityGroup,
    RevokedSecurityGroupRule, SecurityGroupRule, UserIdGroupPair,
};
use crate::records::{Peer, Rule};
use crate::tags;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A peer as a request names it, before a group name is resolved to an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedPeer {
    /// A resolved peer (CIDR, prefix list or group id).
    Resolved(Peer),
    /// A group id with an optional owner account.
    GroupId {
        group_id: String,
        user_id: Option<String>,
    },
    /// A group name (looked up in the target group's VPC).
    GroupName {
        name: String,
        user_id: Option<String>,
    },
}

/// One rule a request asks to add or remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedRule {
    /// Normalised protocol: `tcp`, `udp`, `icmp`, `icmpv6`, `-1` or a number.
    pub protocol: String,
    /// First port (ICMP type); `None` when the protocol has no ports.
    pub from_port: Option<i32>,
    /// Last port (ICMP code); `None` when the protocol has no ports.
    pub to_port: Option<i32>,
    /// The peer.
    pub peer: RequestedPeer,
    /// The rule's description.
    pub description: Option<String>,
}

/// Normalises an `IpProtocol` value: names are case-insensitive, the numbers of tcp (6),
/// udp (17), icmp (1) and icmpv6 (58) become names, `all` becomes `-1`.
pub fn normalise_protocol(raw: &str) -> Result<String, Error> {
    let lower = raw.trim().to_ascii_lowercase();
    let unknown = || {
        Error::InvalidParameterValue(format!(
            "Invalid value '{raw}' for IP protocol. Unknown protocol."
        ))
    };
    if let Ok(n) = lower.parse::<i32>() {
        return Ok(match n {
            -1 => "-1".into(),
            1 => "icmp".into(),
            6 => "tcp".into(),
            17 => "udp".into(),
            58 => "icmpv6".into(),
            0..=255 => n.to_string(),
            _ => return Err(unknown()),
        });
    }
    match lower.as_str() {
        "tcp" | "udp" | "icmp" | "icmpv6" => Ok(lower),
        "all" => Ok("-1".into()),
        _ => Err(unknown()),
    }
}

/// The port range a rule of `protocol` keeps from the requested ports.
pub fn port_range(
    protocol: &str,
    from: Option<i32>,
    to: Option<i32>,
) -> Result<(Option<i32>, Option<i32>), Error> {
    match protocol {
        "tcp" | "udp" => {
            let (Some(from), Some(to)) = (from, to) else {
                return Err(Error::InvalidParameterValue(
                    "Invalid value for portRange. Must specify both from and to ports with TCP/UDP.".into(),
                ));
            };
            // `--port all` (and -1) means the whole range.
            if from == -1 && to == -1 {
                return Ok((Some(0), Some(65535)));
            }
            if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) || from > to {
                return Err(Error::InvalidParameterValue(format!(
                    "Invalid value for portRange. The from port ({from}) must not exceed the to port ({to}) and both must be between 0 and 65535."
                )));
            }
            Ok((Some(from), Some(to)))
        }
        "icmp" | "icmpv6" => {
            let (ty, code) = (from.unwrap_or(-1), to.unwrap_or(-1));
            if !(-1..=255).contains(&ty) || !(-1..=255).contains(&code) {
                return Err(Error::InvalidParameterValue(format!(
                    "Invalid value for ICMP type ({ty}) or code ({code}): both must be between -1 and 255."
                )));
            }
            Ok((Some(ty), Some(code)))
        }
        // Every other protocol, `-1` included, covers all ports whatever was sent.
        _ => Ok((None, None)),
    }
}

fn valid_cidr<A: std::str::FromStr>(cidr: &str, max_prefix: u8) -> bool {
    let Some((addr, len)) = cidr.split_once('/') else {
        return false;
    };
    addr.parse::<A>().is_ok()
        && len.parse::<u8>().is_ok_and(|l| l <= max_prefix)
        && !len.starts_with('+')
}

fn malformed_cidr(cidr: &str) -> Error {
    Error::InvalidParameterValue(format!("CIDR block {cidr} is malformed"))
}

/// Expands `IpPermissions` into one requested rule per peer.
pub fn expand(permissions: &[IpPermission]) -> Result<Vec<RequestedRule>, Error> {
    let mut out = Vec::new();
    for perm in permissions {
        let raw_protocol = perm.ip_protocol.as_deref().ok_or_else(|| {
            Error::MissingParameter(
                "The request must contain the parameter ipPermissions.ipProtocol".into(),
            )
        })?;
        let protocol = normalise_protocol(raw_protocol)?;
        let (from_port, to_port) = port_range(&protocol, perm.from_port, perm.to_port)?;
        let rule = |peer: RequestedPeer, description: &Option<String>| RequestedRule {
            protocol: protocol.clone(),
            from_port,
            to_port,
            peer,
            description: description.clone().filter(|d| !d.is_empty()),
        };
        let before = out.len();
        for range in perm.ip_ranges.as_deref().unwrap_or_default() {
            let cidr = range.cidr_ip.clone().unwrap_or_default();
            if !valid_cidr::<Ipv4Addr>(&cidr, 32) {
                return Err(malformed_cidr(&cidr));
            }
            out.push(rule(
                RequestedPeer::Resolved(Peer::Ipv4(cidr)),
                &range.description,
            ));
        }
        for range in perm.ipv6_ranges.as_deref().unwrap_or_default() {
            let cidr = range.cidr_ipv6.clone().unwrap_or_default();
            if !valid_cidr::<Ipv6Addr>(&cidr, 128) {
                return Err(malformed_cidr(&cidr));
            }
            out.push(rule(
                RequestedPeer::Resolved(Peer::Ipv6(cidr.to_ascii_lowercase())),
                &range.description,
            ));
        }
        for list in perm.prefix_list_ids.as_deref().unwrap_or_default() {
            let id = list.prefix_list_id.clone().unwrap_or_default();
            if !id.starts_with("pl-") {
                return Err(Error::InvalidParameterValue(format!(
                    "Invalid prefix list id: \"{id}\" (expecting \"pl-...\")"
                )));
            }
            out.push(rule(
                RequestedPeer::Resolved(Peer::PrefixList(id)),
                &list.description,
            ));
        }
        for pair in perm.user_id_group_pairs.as_deref().unwrap_or_default() {
            let user_id = pair.user_id.clone().filter(|u| !u.is_empty());
            let peer = match (&pair.group_id, &pair.group_name) {
                (Some(id), _) if !id.is_empty() => RequestedPeer::GroupId { group_id: id.clone(), user_id },
                (_, Some(name)) if !name.is_empty() => RequestedPeer::GroupName { name: name.clone(), user_id },
                _ => {
                    return Err(Error::MissingParameter(
                        "The request must contain the parameter groupId or groupName of each UserIdGroupPair".into(),
                    ))
                }
            };
            out.push(rule(peer, &pair.description));
        }
        if out.len() == before {
            return Err(Error::MissingParameter(
                "The request must name at least one peer for each permission: ipRanges, ipv6Ranges, prefixListIds or groups (--cidr or --source-group)".into(),
            ));
        }
    }
    Ok(out)
}

/// The flat parameters of Authorize/Revoke (`IpProtocol`, `FromPort`, `ToPort`, `CidrIp`,
/// `SourceSecurityGroupName`, `SourceSecurityGroupOwnerId`) as one `IpPermission`; `None` when
/// none of them is set.
pub fn flat_permission(
    ip_protocol: Option<String>,
    from_port: Option<i32>,
    to_port: Option<i32>,
    cidr_ip: Option<String>,
    source_group_name: Option<String>,
    source_group_owner: Option<String>,
) -> Result<Option<IpPermission>, Error> {
    if ip_protocol.is_none()
        && from_port.is_none()
        && to_port.is_none()
        && cidr_ip.is_none()
        && source_group_name.is_none()
    {
        return Ok(None);
    }
    let ip_protocol = match ip_protocol {
        Some(p) => p,
        // A bare source group grants everything from that group.
        None if source_group_name.is_some() && cidr_ip.is_none() => "-1".into(),
        None => {
            return Err(Error::MissingParameter(
                "The request must contain the parameter ipProtocol".into(),
            ));
        }
    };
    Ok(Some(IpPermission {
        ip_protocol: Some(ip_protocol),
        from_port,
        to_port,
        ip_ranges: cidr_ip.map(|c| {
            vec![IpRange {
                cidr_ip: Some(c),
                description: None,
            }]
        }),
        user_id_group_pairs: source_group_name.map(|name| {
            vec![UserIdGroupPair {
                group_name: Some(name),
                user_id: source_group_owner,
                ..UserIdGroupPair::default()
            }]
        }),
        ..IpPermission::default()
    }))
}

/// How AWS describes a rule in its error messages:
/// `peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW` or `peer: 0.0.0.0/0, ALL, ALLOW`.
pub fn describe_rule(protocol: &str, from: Option<i32>, to: Option<i32>, peer: &Peer) -> String {
    let peer = peer.label();
    match (protocol, from, to) {
        ("-1", _, _) => format!("peer: {peer}, ALL, ALLOW"),
        ("icmp" | "icmpv6", Some(ty), Some(code)) => format!(
            "peer: {peer}, {}, type: {ty}, code: {code}, ALLOW",
            protocol.to_ascii_uppercase()
        ),
        (_, Some(from), Some(to)) => format!(
            "peer: {peer}, {}, from port: {from}, to port: {to}, ALLOW",
            protocol.to_ascii_uppercase()
        ),
        _ => format!("peer: {peer}, {}, ALLOW", protocol.to_ascii_uppercase()),
    }
}

/// The `InvalidPermission.Duplicate` error for a rule that already exists.
pub fn duplicate_error(protocol: &str, from: Option<i32>, to: Option<i32>, peer: &Peer) -> Error {
    Error::InvalidPermissionDuplicate(format!(
        "the specified rule \"{}\" already exists",
        describe_rule(protocol, from, to, peer)
    ))
}

/// Groups `rules` (of one direction) into `IpPermission`s the way DescribeSecurityGroups does:
/// one per (protocol, ports) in first-seen order, every peer list present even when empty.
pub fn merge<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> Vec<IpPermission> {
    let mut out: Vec<IpPermission> = Vec::new();
    for rule in rules {
        let pos = out.iter().position(|p| {
            p.ip_protocol.as_deref() == Some(rule.protocol.as_str())
                && p.from_port == rule.from_port
                && p.to_port == rule.to_port
        });
        let index = match pos {
            Some(i) => i,
            None => {
                out.push(IpPermission {
                    ip_protocol: Some(rule.protocol.clone()),
                    from_port: rule.from_port,
                    to_port: rule.to_port,
                    user_id_group_pairs: Some(Vec::new()),
                    ip_ranges: Some(Vec::new()),
                    ipv6_ranges: Some(Vec::new()),
                    prefix_list_ids: Some(Vec::new()),
                });
                out.len() - 1
            }
        };
        let perm = &mut out[index];
        let description = rule.description.clone();
        match &rule.peer {
            Peer::Ipv4(cidr) => perm.ip_ranges.get_or_insert_with(Vec::new).push(IpRange {
                cidr_ip: Some(cidr.clone()),
                description,
            }),
            Peer::Ipv6(cidr) => perm
                .ipv6_ranges
                .get_or_insert_with(Vec::new)
                .push(Ipv6Range {
                    cidr_ipv6: Some(cidr.clone()),
                    description,
                }),
            Peer::PrefixList(id) => {
                perm.prefix_list_ids
                    .get_or_insert_with(Vec::new)
                    .push(PrefixListId {
                        prefix_list_id: Some(id.clone()),
                        description,
                    })
            }
            Peer::Group { group_id, user_id } => perm
                .user_id_group_pairs
                .get_or_insert_with(Vec::new)
                .push(UserIdGroupPair {
                    group_id: Some(group_id.clone()),
                    user_id: Some(user_id.clone()),
                    description,
                    ..UserIdGroupPair::default()
                }),
        }
    }
    out
}

/// A stored rule as Authorize answers it (`SecurityGroupRules`); all-protocol and other
/// portless rules report ports `-1`, as AWS does.
pub fn to_security_group_rule(
    rule: &Rule,
    group_id: &str,
    owner: &str,
    region: &str,
) -> SecurityGroupRule {
    let (cidr_ipv4, cidr_ipv6, prefix_list_id, referenced_group_info) = peer_columns(&rule.peer);
    SecurityGroupRule {
        security_group_rule_id: Some(rule.id.clone()),
        group_id: Some(group_id.to_string()),
        group_owner_id: Some(owner.to_string()),
        is_egress: Some(rule.egress),
        ip_protocol: Some(rule.protocol.clone()),
        from_port: Some(rule.from_port.unwrap_or(-1)),
        to_port: Some(rule.to_port.unwrap_or(-1)),
        cidr_ipv4,
        cidr_ipv6,
        prefix_list_id,
        referenced_group_info,
        description: rule.description.clone(),
        tags: tags::to_wire(&rule.tags),
        security_group_rule_arn: Some(format!(
            "arn:aws:ec2:{region}:{owner}:security-group-rule/{}",
            rule.id
        )),
    }
}

/// A stored rule as Revoke answers it (`RevokedSecurityGroupRules`).
pub fn to_revoked_rule(rule: &Rule, group_id: &str) -> RevokedSecurityGroupRule {
    let (cidr_ipv4, cidr_ipv6, prefix_list_id, referenced) = peer_columns(&rule.peer);
    RevokedSecurityGroupRule {
        security_group_rule_id: Some(rule.id.clone()),
        group_id: Some(group_id.to_string()),
        is_egress: Some(rule.egress),
        ip_protocol: Some(rule.protocol.clone()),
        from_port: Some(rule.from_port.unwrap_or(-1)),
        to_port: Some(rule.to_port.unwrap_or(-1)),
        cidr_ipv4,
        cidr_ipv6,
        prefix_list_id,
        referenced_group_id: referenced.and_then(|r| r.group_id),
        description: rule.description.clone(),
    }
}

type PeerColumns = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<ReferencedSecurityGroup>,
);

fn peer_columns(peer: &Peer) -> PeerColumns {
    match peer {
        Peer::Ipv4(c) => (Some(c.clone()), None, None, None),
        Peer::Ipv6(c) => (None, Some(c.clone()), None, None),
        Peer::PrefixList(id) => (None, None, Some(id.clone()), None),
        Peer::Group { group_id, user_id } => (
            None,
            None,
            None,
            Some(ReferencedSecurityGroup {
                group_id: Some(group_id.clone()),
                user_id: Some(user_id.clone()),
                ..ReferencedSecurityGroup::default()
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(protocol: &str, from: Option<i32>, to: Option<i32>, cidrs: &[&str]) -> IpPermission {
        IpPermission {
            ip_protocol: Some(protocol.into()),
            from_port: from,
            to_port: to,
            ip_ranges: Some(
                cidrs
                    .iter()
                    .map(|c| IpRange {
                        cidr_ip: Some(c.to_string()),
                        description: None,
                    })
                    .collect(),
            ),
            ..IpPermission::default()
        }
    }

    fn stored(id: &str, protocol: &str, from: Option<i32>, to: Option<i32>, peer: Peer) -> Rule {
        Rule {
            id: id.into(),
            egress: false,
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            peer,
            description: None,
            tags: Vec::new(),
        }
    }

    #[test]
    fn protocols_are_normalised() {
        for (raw, want) in [
            ("tcp", "tcp"),
            ("TCP", "tcp"),
            ("6", "tcp"),
            ("17", "udp"),
            ("udp", "udp"),
            ("1", "icmp"),
            ("icmp", "icmp"),
            ("58", "icmpv6"),
            ("-1", "-1"),
            ("all", "-1"),
            ("50", "50"),
            ("0", "0"),
        ] {
            assert_eq!(normalise_protocol(raw).unwrap(), want, "{raw}");
        }
        for bad in ["256", "-2", "tcpx", ""] {
            assert!(
                matches!(
                    normalise_protocol(bad),
                    Err(Error::InvalidParameterValue(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn ports_depend_on_the_protocol() {
        assert_eq!(
            port_range("tcp", Some(5432), Some(5432)).unwrap(),
            (Some(5432), Some(5432))
        );
        assert_eq!(
            port_range("tcp", Some(-1), Some(-1)).unwrap(),
            (Some(0), Some(65535))
        );
        assert!(port_range("tcp", None, None).is_err());
        assert!(port_range("udp", Some(10), None).is_err());
        assert!(port_range("tcp", Some(20), Some(10)).is_err());
        assert!(port_range("tcp", Some(0), Some(70000)).is_err());
        assert_eq!(port_range("-1", Some(22), Some(22)).unwrap(), (None, None));
        assert_eq!(port_range("50", None, None).unwrap(), (None, None));
        assert_eq!(
            port_range("icmp", None, None).unwrap(),
            (Some(-1), Some(-1))
        );
        assert_eq!(
            port_range("icmp", Some(8), Some(0)).unwrap(),
            (Some(8), Some(0))
        );
        assert!(port_range("icmp", Some(300), Some(0)).is_err());
    }

    #[test]
    fn cidrs_are_checked() {
        assert!(valid_cidr::<Ipv4Addr>("0.0.0.0/0", 32));
        assert!(valid_cidr::<Ipv4Addr>("203.0.113.7/32", 32));
        assert!(!valid_cidr::<Ipv4Addr>("203.0.113.7", 32));
        assert!(!valid_cidr::<Ipv4Addr>("203.0.113.7/33", 32));
        assert!(!valid_cidr::<Ipv4Addr>("300.0.0.0/8", 32));
        assert!(valid_cidr::<Ipv6Addr>("::/0", 128));
        assert!(valid_cidr::<Ipv6Addr>("2001:db8::/32", 128));
        assert!(!valid_cidr::<Ipv6Addr>("2001:db8::/129", 128));
        assert_eq!(
            expand(&[perm("tcp", Some(22), Some(22), &["10.0.0.0"])]).unwrap_err(),
            Error::InvalidParameterValue("CIDR block 10.0.0.0 is malformed".into())
        );
    }

    #[test]
    fn expand_gives_one_rule_per_peer() {
        let mut p = perm("6", Some(443), Some(443), &["10.0.0.0/8", "192.168.0.0/16"]);
        p.user_id_group_pairs = Some(vec![UserIdGroupPair {
            group_id: Some("sg-1".into()),
            ..Default::default()
        }]);
        p.ipv6_ranges = Some(vec![Ipv6Range {
            cidr_ipv6: Some("::/0".into()),
            description: Some("v6".into()),
        }]);
        let rules = expand(&[p]).unwrap();
        assert_eq!(rules.len(), 4);
        assert!(rules
            .iter()
            .all(|r| r.protocol == "tcp" && r.from_port == Some(443)));
        assert_eq!(
            rules[0].peer,
            RequestedPeer::Resolved(Peer::Ipv4("10.0.0.0/8".into()))
        );
        assert_eq!(rules[2].description.as_deref(), Some("v6"));
        assert_eq!(
            rules[3].peer,
            RequestedPeer::GroupId {
                group_id: "sg-1".into(),
                user_id: None
            }
        );

        let no_peer = expand(&[perm("tcp", Some(22), Some(22), &[])]).unwrap_err();
        assert!(matches!(no_peer, Error::MissingParameter(_)));
    }

    #[test]
    fn cli_shorthand_becomes_the_same_permission() {
        // `--protocol tcp --port 5432 --cidr 10.0.0.0/16` as the CLI customisation sends it ...
        let cli = IpPermission {
            ip_protocol: Some("tcp".into()),
            from_port: Some(5432),
            to_port: Some(5432),
            ip_ranges: Some(vec![IpRange {
                cidr_ip: Some("10.0.0.0/16".into()),
                description: None,
            }]),
            ..IpPermission::default()
        };
        // ... and the flat parameters boto3 users send.
        let flat = flat_permission(
            Some("tcp".into()),
            Some(5432),
            Some(5432),
            Some("10.0.0.0/16".into()),
            None,
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(expand(&[cli]).unwrap(), expand(&[flat]).unwrap());

        let source = flat_permission(None, None, None, None, Some("web".into()), None)
            .unwrap()
            .unwrap();
        let rules = expand(&[source]).unwrap();
        assert_eq!(rules[0].protocol, "-1");
        assert_eq!(
            rules[0].peer,
            RequestedPeer::GroupName {
                name: "web".into(),
                user_id: None
            }
        );
        assert_eq!(
            flat_permission(None, None, None, None, None, None).unwrap(),
            None
        );
        assert!(
            flat_permission(None, Some(1), Some(2), Some("0.0.0.0/0".into()), None, None).is_err()
        );
    }

    #[test]
    fn rule_text_matches_aws_wording() {
        let any = Peer::Ipv4("0.0.0.0/0".into());
        assert_eq!(
            describe_rule("-1", None, None, &any),
            "peer: 0.0.0.0/0, ALL, ALLOW"
        );
        assert_eq!(
            describe_rule("tcp", Some(22), Some(22), &any),
            "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW"
        );
        let group = Peer::Group {
            group_id: "sg-1".into(),
            user_id: "1".into(),
        };
        assert_eq!(
            duplicate_error("udp", Some(0), Some(65535), &group),
            Error::InvalidPermissionDuplicate(
                "the specified rule \"peer: sg-1, UDP, from port: 0, to port: 65535, ALLOW\" already exists".into()
            )
        );
    }

    #[test]
    fn merge_groups_rules_by_protocol_and_ports() {
        let rules = vec![
            stored(
                "sgr-1",
                "tcp",
                Some(5432),
                Some(5432),
                Peer::Ipv4("10.0.0.0/16".into()),
            ),
            stored("sgr-2", "-1", None, None, Peer::Ipv4("0.0.0.0/0".into())),
            stored(
                "sgr-3",
                "tcp",
                Some(5432),
                Some(5432),
                Peer::Group {
                    group_id: "sg-a".into(),
                    user_id: "123".into(),
                },
            ),
            stored(
                "sgr-4",
                "tcp",
                Some(5432),
                Some(5432),
                Peer::Ipv4("10.1.0.0/16".into()),
            ),
            stored(
                "sgr-5",
                "tcp",
                Some(8000),
                Some(8000),
                Peer::Ipv4("1.2.3.4/32".into()),
            ),
        ];
        let merged = merge(&rules);
        assert_eq!(merged.len(), 3);
        let pg = &merged[0];
        assert_eq!(
            (pg.ip_protocol.as_deref(), pg.from_port, pg.to_port),
            (Some("tcp"), Some(5432), Some(5432))
        );
        let cidrs: Vec<_> = pg
            .ip_ranges
            .as_ref()
            .unwrap()
            .iter()
            .map(|r| r.cidr_ip.clone().unwrap())
            .collect();
        assert_eq!(cidrs, ["10.0.0.0/16", "10.1.0.0/16"]);
        let pair = &pg.user_id_group_pairs.as_ref().unwrap()[0];
        assert_eq!(
            (pair.group_id.as_deref(), pair.user_id.as_deref()),
            (Some("sg-a"), Some("123"))
        );
        assert_eq!(merged[1].ip_protocol.as_deref(), Some("-1"));
        assert_eq!((merged[1].from_port, merged[1].to_port), (None, None));
        assert_eq!(merged[1].user_id_group_pairs, Some(vec![]));
        assert_eq!(merged[2].from_port, Some(8000));
        assert!(merge(&[]).is_empty());
    }

    #[test]
    fn wire_rules_report_ports_and_peers() {
        let rule = stored(
            "sgr-9",
            "-1",
            None,
            None,
            Peer::Group {
                group_id: "sg-b".into(),
                user_id: "123".into(),
            },
        );
        let wire = to_security_group_rule(&rule, "sg-a", "123", "us-east-1");
        assert_eq!((wire.from_port, wire.to_port), (Some(-1), Some(-1)));
        assert_eq!(
            wire.referenced_group_info.unwrap().group_id.as_deref(),
            Some("sg-b")
        );
        assert_eq!(
            wire.security_group_rule_arn.as_deref(),
            Some("arn:aws:ec2:us-east-1:123:security-group-rule/sgr-9")
        );
        let revoked = to_revoked_rule(&rule, "sg-a");
        assert_eq!(revoked.referenced_group_id.as_deref(), Some("sg-b"));
        assert!(rule.same_as(
            false,
            "-1",
            None,
            None,
            &Peer::Group {
                group_id: "sg-b".into(),
                user_id: "123".into()
            }
        ));
        assert!(!rule.same_as(
            true,
            "-1",
            None,
            None,
            &Peer::Group {
                group_id: "sg-b".into(),
                user_id: "123".into()
            }
        ));
    }
}
