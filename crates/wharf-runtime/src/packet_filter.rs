//! Security groups in the kernel: one nftables table per network namespace that carries task
//! interfaces (the machine's own, for the default VPC's Docker bridge and the public network;
//! each VPC's own namespace), holding every filtered interface of that namespace:
//! - two maps from an interface's address to its chains: `ingress` (what may open connections
//!   to it) and `egress` (what it may open);
//! - base chains on the forward (task to task across the bridge, seen by the IP hooks since
//!   `bridge-nf-call-iptables` is on), output (the machine, the load balancer, to a task) and
//!   input (a task to the machine) hooks, which pass packets of tracked connections first
//!   (stateful as on AWS: replies pass, and so do connections a since-revoked rule admitted),
//!   always pass the task endpoint (169.254.170.2: credentials, metadata, wharf's API), then
//!   send a packet to its source's egress chain and its destination's ingress chain; each
//!   interface chain drops what no rule admits; addresses no map names pass untouched;
//! - replaced in one `nft -f` transaction (run inside the namespace), so a ruleset is never
//!   half applied, and all interfaces of a namespace change in that one step;
//! - the table is named after the wharf instance (`wharf_sg_<instance>`), so other wharf
//!   instances and Docker's own tables are untouched (Docker's rules run at priority 0, after
//!   these: a drop here is final, an accept here still meets them); it stays in force while
//!   wharf is stopped, and connection tracking is the one the namespace already does (Docker's
//!   NAT, a VPC's uplink), so filtering adds no second pass of it.

use crate::RuntimeError;
use nix::sched::{setns, CloneFlags};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::Stdio;
use tokio::process::Command;
use wharf_core::ipv4::Ipv4Net;
use wharf_core::packet_filter::{FilterRule, NetworkFilter, Traffic};

/// The task endpoint every task may reach whatever its egress rules say.
const TASK_ENDPOINT: &str = "169.254.170.2";

/// Where `ip netns` keeps named namespaces.
const NETNS_DIR: &str = "/run/netns";

/// The table of wharf instance `instance` (its data directory's instance id).
pub fn table_name(instance: &str) -> String {
    let id: String = instance
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(32)
        .collect();
    format!("wharf_sg_{id}")
}

/// The nft script that makes table `table` hold exactly `network`, in one transaction (with no
/// members it removes the table).
pub fn script(table: &str, network: &NetworkFilter) -> String {
    let mut out = String::new();
    // Declaring the table first makes the delete succeed when it does not exist yet.
    out.push_str(&format!("table inet {table}\ndelete table inet {table}\n"));
    if network.members.is_empty() {
        return out;
    }
    out.push_str(&format!("table inet {table} {{\n"));
    // Interfaces with the same rules (a service's tasks, the members of one group) share their
    // chains: the table grows with the distinct rule sets, not with the interfaces.
    let mut ingress_chains = Chains::new("in", "saddr", "accept");
    let mut egress_chains = Chains::new("out", "daddr", "return");
    let mut ingress = Vec::new();
    let mut egress = Vec::new();
    let mut seen: HashSet<Ipv4Addr> = HashSet::new();
    for member in &network.members {
        let i = ingress_chains.chain_for(&member.ingress, &mut out);
        let e = egress_chains.chain_for(&member.egress, &mut out);
        // An address is one interface's (a repeat would make the whole transaction fail).
        for address in member.addresses.iter().filter(|a| seen.insert(**a)) {
            ingress.push(format!("{address} : jump {i}"));
            egress.push(format!("{address} : jump {e}"));
        }
    }
    for (name, elements) in [("ingress", &ingress), ("egress", &egress)] {
        out.push_str(&format!("  map {name} {{\n    type ipv4_addr : verdict\n"));
        if !elements.is_empty() {
            out.push_str(&format!("    elements = {{ {} }}\n", elements.join(", ")));
        }
        out.push_str("  }\n");
    }
    let base = |hook: &str, lines: &[&str]| {
        let mut chain = format!(
            "  chain {hook} {{\n    type filter hook {hook} priority -5; policy accept;\n    ct state established,related accept\n"
        );
        for line in lines {
            chain.push_str(&format!("    {line}\n"));
        }
        chain.push_str("  }\n");
        chain
    };
    let endpoint = format!("ip daddr {TASK_ENDPOINT} accept");
    out.push_str(&base(
        "forward",
        &[&endpoint, "ip saddr vmap @egress", "ip daddr vmap @ingress"],
    ));
    out.push_str(&base("output", &["ip daddr vmap @ingress"]));
    out.push_str(&base("input", &[&endpoint, "ip saddr vmap @egress"]));
    out.push_str("}\n");
    out
}

/// The chains of one direction, one per distinct rule list.
struct Chains<'a> {
    /// `in` or `out`.
    prefix: &'static str,
    /// The peer's field: `saddr` (ingress) or `daddr` (egress).
    peer: &'static str,
    /// What an admitted packet gets.
    verdict: &'static str,
    made: HashMap<&'a [FilterRule], String>,
}

impl<'a> Chains<'a> {
    fn new(prefix: &'static str, peer: &'static str, verdict: &'static str) -> Self {
        Self {
            prefix,
            peer,
            verdict,
            made: HashMap::new(),
        }
    }

    /// The name of the chain for `rules`, written to `out` the first time (admitted packets
    /// get the verdict, the others are dropped).
    fn chain_for(&mut self, rules: &'a [FilterRule], out: &mut String) -> String {
        let next = self.made.len();
        self.made
            .entry(rules)
            .or_insert_with(|| {
                let name = format!("{}_{next}", self.prefix);
                out.push_str(&format!("  chain {name} {{\n"));
                for rule in rules {
                    let line = rule_line(rule, self.peer, self.verdict);
                    out.push_str(&format!("    {line}\n"));
                }
                out.push_str("    drop\n  }\n");
                name
            })
            .clone()
    }
}

/// One rule: the peer addresses (`saddr` for ingress, `daddr` for egress), then the protocol
/// and ports, then `verdict` (`accept` for ingress, `return` for egress: the destination's
/// ingress chain comes next).
fn rule_line(rule: &FilterRule, direction: &str, verdict: &str) -> String {
    let peers = without_nested(&rule.peers);
    let address = if peers.iter().any(|p| p.prefix == 0) {
        "meta nfproto ipv4".to_string()
    } else {
        let list: Vec<String> = peers.iter().map(element).collect();
        format!("ip {direction} {{ {} }}", list.join(", "))
    };
    format!("{address}{} {verdict}", traffic_match(&rule.traffic))
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

/// Runs `script` with `nft -f -` in named network namespace `namespace` (the machine's own
/// when `None`).
///
/// In a namespace, `nft` runs there because it is started from a thread that entered it
/// (`setns`; a child process inherits its parent thread's namespaces). The thread is a fresh
/// one and ends with the run, so no other work ever runs in that namespace.
pub async fn apply(namespace: Option<&str>, script: String) -> Result<(), RuntimeError> {
    let path = namespace.map(|ns| std::path::Path::new(NETNS_DIR).join(ns));
    let (done, finished) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("wharf-nft".into())
        .spawn(move || {
            let _ = done.send(apply_here(path.as_deref(), &script));
        })
        .map_err(|e| RuntimeError::Network(format!("cannot start a thread for nft: {e}")))?;
    finished
        .await
        .map_err(|_| RuntimeError::Network("the nft thread ended without an answer".into()))?
}

/// Enters the namespace at `path` (if any) on this thread and runs `nft -f -` with `script`.
fn apply_here(path: Option<&std::path::Path>, script: &str) -> Result<(), RuntimeError> {
    if let Some(path) = path {
        let namespace = std::fs::File::open(path).map_err(|e| {
            RuntimeError::Network(format!(
                "cannot open network namespace {}: {e}",
                path.display()
            ))
        })?;
        setns(&namespace, CloneFlags::CLONE_NEWNET).map_err(|e| {
            RuntimeError::Network(format!(
                "cannot enter network namespace {}: {e}",
                path.display()
            ))
        })?;
    }
    let mut child = std::process::Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RuntimeError::Network(format!("cannot run nft: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| RuntimeError::Network(format!("cannot write the nft script: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| RuntimeError::Network(format!("nft did not finish: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(RuntimeError::Network(format!(
        "nft refused the security group rules: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Whether this machine lets wharf filter: root, with `nft` installed. The error
/// says what is missing.
pub async fn available() -> Result<(), String> {
    // /proc/self belongs to the process's effective user.
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if !root {
        return Err("wharf is not running as root".into());
    }
    for (tool, package) in [("nft", "nftables")] {
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
    use wharf_core::packet_filter::NetworkMember;

    fn net(text: &str) -> Ipv4Net {
        Ipv4Net::parse(text).unwrap()
    }

    fn member(id: &str, addresses: &[&str], ingress: Vec<FilterRule>) -> NetworkMember {
        NetworkMember {
            interface_id: id.into(),
            addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
            ingress,
            egress: vec![FilterRule {
                traffic: Traffic::All,
                peers: vec![net("0.0.0.0/0")],
            }],
        }
    }

    #[test]
    fn tables_are_named_after_the_instance() {
        assert_eq!(table_name("5f0c-77ab_12;drop"), "wharf_sg_5f0c77ab12drop");
    }

    #[test]
    fn no_members_removes_the_table() {
        assert_eq!(
            script("wharf_sg_a", &NetworkFilter::default()),
            "table inet wharf_sg_a\ndelete table inet wharf_sg_a\n"
        );
    }

    #[test]
    fn each_address_leads_to_its_interfaces_chains() {
        let network = NetworkFilter {
            members: vec![
                member(
                    "eni-a",
                    &["172.31.16.4", "100.64.0.3"],
                    vec![FilterRule {
                        traffic: Traffic::Tcp {
                            from: 8000,
                            to: 8000,
                        },
                        peers: vec![net("172.31.15.254/32")],
                    }],
                ),
                // A repeated address keeps its first interface.
                member("eni-b", &["172.31.16.5", "172.31.16.4"], Vec::new()),
            ],
        };
        let s = script("wharf_sg_a", &network);
        assert!(s.starts_with(
            "table inet wharf_sg_a\ndelete table inet wharf_sg_a\ntable inet wharf_sg_a {\n"
        ));
        assert!(s.contains("  chain in_0 {\n    ip saddr { 172.31.15.254 } tcp dport 8000 accept\n    drop\n  }\n"), "{s}");
        assert!(
            s.contains("  chain out_0 {\n    meta nfproto ipv4 return\n    drop\n  }\n"),
            "{s}"
        );
        assert!(s.contains("  chain in_1 {\n    drop\n  }\n"), "{s}");
        assert!(s.contains("elements = { 172.31.16.4 : jump in_0, 100.64.0.3 : jump in_0, 172.31.16.5 : jump in_1 }"), "{s}");
        // The same egress rules: one chain for both.
        assert!(s.contains("elements = { 172.31.16.4 : jump out_0, 100.64.0.3 : jump out_0, 172.31.16.5 : jump out_0 }"), "{s}");
        assert!(!s.contains("chain out_1"), "{s}");
        for hook in ["forward", "output", "input"] {
            assert!(s.contains(&format!("  chain {hook} {{\n    type filter hook {hook} priority -5; policy accept;\n    ct state established,related accept\n")), "{s}");
        }
        assert_eq!(
            s.matches("ip daddr 169.254.170.2 accept").count(),
            2,
            "forward and input"
        );
        assert!(
            s.contains("ip saddr vmap @egress\n    ip daddr vmap @ingress\n"),
            "{s}"
        );
    }

    #[test]
    fn rules_render_peers_protocols_and_ports() {
        let rules = [
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
        ];
        let lines: Vec<String> = rules
            .iter()
            .map(|r| rule_line(r, "saddr", "accept"))
            .collect();
        assert_eq!(
            lines,
            vec![
                "ip saddr { 10.0.1.10, 10.0.2.10 } tcp dport 8000 accept",
                "ip saddr { 10.0.0.0/16 } udp dport 1000-2000 accept",
                "meta nfproto ipv4 meta l4proto icmp icmp type 8 accept",
                "ip saddr { 192.168.0.0/24 } meta l4proto 47 accept",
            ]
        );
        assert_eq!(
            rule_line(&rules[0], "daddr", "return"),
            "ip daddr { 10.0.1.10, 10.0.2.10 } tcp dport 8000 return"
        );
    }

    #[test]
    fn all_ports_match_the_protocol_alone() {
        let rule = FilterRule {
            traffic: Traffic::Tcp { from: 0, to: 65535 },
            peers: vec![net("10.0.0.0/8")],
        };
        assert_eq!(
            rule_line(&rule, "saddr", "accept"),
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
