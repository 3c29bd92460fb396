//! Security groups in the kernel: an nftables table in each interface's own network namespace
//! (a task's sandbox), so the filter sits exactly where the interface is, whatever network it
//! is on (the default VPC's Docker bridge, a VPC namespace, the public network):
//! - one table `inet wharf_sg` with an input chain (ingress rules) and an output chain (egress
//!   rules), both dropping what no rule admits;
//! - stateful as on AWS: packets of tracked connections pass (replies, and connections a
//!   since-revoked rule admitted);
//! - loopback always passes, and so does the task endpoint (169.254.170.2: credentials,
//!   metadata, wharf's API), as on AWS;
//! - replaced in one `nft -f` transaction, so a ruleset is never half applied;
//! - nothing on the machine's own tables changes, so Docker's rules and other wharf instances
//!   are untouched, and the filter stays in force while wharf is stopped (it lives as long as
//!   the sandbox).

use crate::RuntimeError;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use wharf_core::ipv4::Ipv4Net;
use wharf_core::packet_filter::{FilterRule, InterfaceFilter, Traffic};

/// The table wharf owns in each filtered namespace.
pub const TABLE: &str = "wharf_sg";

/// The task endpoint every task may reach whatever its egress rules say.
const TASK_ENDPOINT: &str = "169.254.170.2";

/// The nft script that replaces the namespace's filter with `filter` in one transaction.
pub fn script(filter: &InterfaceFilter) -> String {
    let mut out = String::new();
    // Declaring the table first makes the delete succeed when it does not exist yet.
    out.push_str(&format!("table inet {TABLE}\ndelete table inet {TABLE}\n"));
    out.push_str(&format!("table inet {TABLE} {{\n"));
    out.push_str("  chain sg_ingress {\n    type filter hook input priority 0; policy drop;\n");
    out.push_str("    ct state established,related accept\n    iifname \"lo\" accept\n");
    for rule in &filter.ingress {
        out.push_str(&format!("    {}\n", rule_line(rule, "saddr")));
    }
    out.push_str("  }\n");
    out.push_str("  chain sg_egress {\n    type filter hook output priority 0; policy drop;\n");
    out.push_str("    ct state established,related accept\n    oifname \"lo\" accept\n");
    out.push_str(&format!("    ip daddr {TASK_ENDPOINT} accept\n"));
    for rule in &filter.egress {
        out.push_str(&format!("    {}\n", rule_line(rule, "daddr")));
    }
    out.push_str("  }\n}\n");
    out
}

/// One accept statement: the peer addresses (`saddr` for ingress, `daddr` for egress), then
/// the protocol and ports.
fn rule_line(rule: &FilterRule, direction: &str) -> String {
    let peers = without_nested(&rule.peers);
    let address = if peers.iter().any(|p| p.prefix == 0) {
        "meta nfproto ipv4".to_string()
    } else {
        let list: Vec<String> = peers.iter().map(element).collect();
        format!("ip {direction} {{ {} }}", list.join(", "))
    };
    format!("{address}{} accept", traffic_match(&rule.traffic))
}

/// A set element: a bare address for a /32, the range otherwise.
fn element(net: &Ipv4Net) -> String {
    if net.prefix == 32 {
        net.network().to_string()
    } else {
        net.to_string()
    }
}

/// The ranges left when those inside another are dropped (nft refuses overlapping elements in
/// one set; two CIDR ranges either nest or are disjoint).
fn without_nested(peers: &[Ipv4Net]) -> Vec<Ipv4Net> {
    let mut sorted: Vec<Ipv4Net> = peers.to_vec();
    sorted.sort_by_key(|n| (n.prefix, n.base));
    let mut kept: Vec<Ipv4Net> = Vec::new();
    for net in sorted {
        if !kept.iter().any(|k| k.contains_net(&net)) {
            kept.push(net);
        }
    }
    kept.sort_by_key(|n| (n.base, n.prefix));
    kept
}

fn traffic_match(traffic: &Traffic) -> String {
    let ports = |proto: &str, from: u16, to: u16| match (from, to) {
        (0, 65535) => format!(" meta l4proto {proto}"),
        (f, t) if f == t => format!(" {proto} dport {f}"),
        (f, t) => format!(" {proto} dport {f}-{t}"),
    };
    match traffic {
        Traffic::All => String::new(),
        Traffic::Tcp { from, to } => ports("tcp", *from, *to),
        Traffic::Udp { from, to } => ports("udp", *from, *to),
        Traffic::Icmp { icmp_type, code } => {
            let mut m = " meta l4proto icmp".to_string();
            if let Some(t) = icmp_type {
                m.push_str(&format!(" icmp type {t}"));
            }
            if let Some(c) = code {
                m.push_str(&format!(" icmp code {c}"));
            }
            m
        }
        Traffic::Protocol(n) => format!(" meta l4proto {n}"),
    }
}

/// Replaces the filter of the network namespace of process `pid` with `filter`.
pub async fn apply(pid: i64, filter: &InterfaceFilter) -> Result<(), RuntimeError> {
    let pid = pid.to_string();
    let mut child = Command::new("nsenter")
        .args(["-t", &pid, "-n", "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RuntimeError::Network(format!("cannot run nsenter/nft: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script(filter).as_bytes())
            .await
            .map_err(|e| RuntimeError::Network(format!("cannot write the nft script: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| RuntimeError::Network(format!("nft did not finish: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(RuntimeError::Network(format!(
        "nft refused the security group rules of process {pid}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Whether this machine lets wharf filter: root, with `nft` and `nsenter` installed. The error
/// says what is missing.
pub async fn available() -> Result<(), String> {
    // /proc/self belongs to the process's effective user.
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if !root {
        return Err("wharf is not running as root".into());
    }
    for (tool, package) in [("nft", "nftables"), ("nsenter", "util-linux")] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .map(|s| s.success())
            .unwrap_or(false);
        if !found {
            return Err(format!(
                "`{tool}` is not installed (Debian package {package})"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> Ipv4Net {
        Ipv4Net::parse(text).unwrap()
    }

    #[test]
    fn an_empty_filter_drops_everything_but_replies_loopback_and_the_task_endpoint() {
        let s = script(&InterfaceFilter::default());
        assert!(s.starts_with("table inet wharf_sg\ndelete table inet wharf_sg\n"));
        assert!(s.contains("type filter hook input priority 0; policy drop;"));
        assert!(s.contains("type filter hook output priority 0; policy drop;"));
        assert_eq!(s.matches("ct state established,related accept").count(), 2);
        assert!(s.contains("ip daddr 169.254.170.2 accept"));
        assert_eq!(s.matches(" accept\n").count(), 5);
    }

    #[test]
    fn rules_render_peers_protocols_and_ports() {
        let filter = InterfaceFilter {
            ingress: vec![
                FilterRule {
                    traffic: Traffic::Tcp {
                        from: 8000,
                        to: 8000,
                    },
                    peers: vec![net("10.0.1.10/32"), net("10.0.2.10/32")],
                },
                FilterRule {
                    traffic: Traffic::Udp {
                        from: 1000,
                        to: 2000,
                    },
                    peers: vec![net("10.0.0.0/16")],
                },
                FilterRule {
                    traffic: Traffic::Icmp {
                        icmp_type: Some(8),
                        code: None,
                    },
                    peers: vec![net("0.0.0.0/0")],
                },
                FilterRule {
                    traffic: Traffic::Protocol(47),
                    peers: vec![net("192.168.0.0/24")],
                },
            ],
            egress: vec![FilterRule {
                traffic: Traffic::All,
                peers: vec![net("0.0.0.0/0")],
            }],
        };
        let s = script(&filter);
        assert!(
            s.contains("ip saddr { 10.0.1.10, 10.0.2.10 } tcp dport 8000 accept"),
            "{s}"
        );
        assert!(
            s.contains("ip saddr { 10.0.0.0/16 } udp dport 1000-2000 accept"),
            "{s}"
        );
        assert!(
            s.contains("meta nfproto ipv4 meta l4proto icmp icmp type 8 accept"),
            "{s}"
        );
        assert!(
            s.contains("ip saddr { 192.168.0.0/24 } meta l4proto 47 accept"),
            "{s}"
        );
        assert!(s.contains("sg_egress"));
        assert!(s.contains("    meta nfproto ipv4 accept\n"), "{s}");
    }

    #[test]
    fn all_ports_match_the_protocol_alone() {
        let rule = FilterRule {
            traffic: Traffic::Tcp { from: 0, to: 65535 },
            peers: vec![net("10.0.0.0/8")],
        };
        assert_eq!(
            rule_line(&rule, "saddr"),
            "ip saddr { 10.0.0.0/8 } meta l4proto tcp accept"
        );
    }

    #[test]
    fn nested_ranges_collapse_into_the_wider_one() {
        let peers = vec![
            net("10.0.1.4/32"),
            net("10.0.0.0/16"),
            net("192.168.1.0/24"),
            net("10.0.0.0/16"),
        ];
        assert_eq!(
            without_nested(&peers),
            vec![net("10.0.0.0/16"), net("192.168.1.0/24")]
        );
    }
}
