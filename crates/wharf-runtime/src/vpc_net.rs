//! VPCs other than the default one, each its own network namespace on this machine, so two VPCs
//! may use the same range (10.0.0.0/16 twice) and their tasks never reach each other.
//!
//! The Docker Engine refuses overlapping networks, so these VPCs are not Docker networks: wharf
//! builds them itself with `ip` (iproute2) and `iptables`, as CNI's bridge plugin does:
//! - the VPC's namespace `wharf-<vpc-id>` holds a bridge `br0` carrying each subnet's router
//!   address (the subnet's first address after the network address, as in a VPC);
//! - an uplink veth pair (`wu<13 hex of the vpc id>` on the machine, `up0` in the namespace)
//!   with a link-local /31 from 169.254.0.0/17, over which the namespace reaches the task
//!   endpoint 169.254.170.2 (masqueraded to its uplink address, so overlapping ranges never
//!   meet on the machine); every other destination outside the VPC is a blackhole, so a
//!   connection out of the VPC times out as it does without a route on AWS;
//! - each task's sandbox (a container with no Docker network, or with only the public one)
//!   gets a veth into the bridge with its address and the subnet router as gateway.
//!
//! The load balancer reaches targets inside by opening its sockets in the namespace (see
//! `wharf-lb`'s `netns`). A namespace is removed when its last task interface is gone.

use crate::RuntimeError;
use std::net::Ipv4Addr;
use tokio::process::Command;
use wharf_core::ipv4::Ipv4Net;

/// The namespace's bridge.
const BRIDGE: &str = "br0";
/// The namespace's end of the uplink.
const UPLINK: &str = "up0";
/// The task endpoint every task reaches (credentials, metadata).
const TASK_ENDPOINT: &str = "169.254.170.2/32";
/// Routing table of the namespace's catch-all blackhole (looked up after `main`).
const BLACKHOLE_TABLE: &str = "250";
/// Priority of the rule sending what `main` does not route to the blackhole.
const BLACKHOLE_PRIORITY: &str = "40000";

/// Which VPC namespace a task's subnet needs, and the subnet in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcNamespaceSpec {
    /// `wharf-<vpc-id>`.
    pub namespace: String,
    /// The VPC's id (names the uplink).
    pub vpc_id: String,
    /// The subnet's range: its router address goes on the bridge.
    pub subnet_cidr: String,
}

/// Runs `ip` (or another tool) with `args`; fails with its stderr.
async fn run(program: &str, args: &[&str]) -> Result<(), RuntimeError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .await
        .map_err(|e| RuntimeError::Network(format!("cannot run {program}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(RuntimeError::Network(format!(
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Like [`run`], but an error saying the thing exists already is success.
async fn run_idempotent(program: &str, args: &[&str]) -> Result<(), RuntimeError> {
    match run(program, args).await {
        Err(RuntimeError::Network(m)) if m.contains("File exists") || m.contains("exists") => {
            Ok(())
        }
        other => other,
    }
}

async fn output(program: &str, args: &[&str]) -> Result<String, RuntimeError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .await
        .map_err(|e| RuntimeError::Network(format!("cannot run {program}: {e}")))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether namespace `name` exists.
pub fn namespace_exists(name: &str) -> bool {
    std::path::Path::new("/run/netns").join(name).exists()
}

/// The machine's end of VPC `vpc_id`'s uplink: `wu` + the id's last 13 characters (interface
/// names have at most 15).
fn uplink_name(vpc_id: &str) -> String {
    let tail: String = vpc_id
        .chars()
        .rev()
        .take(13)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("wu{tail}")
}

/// The /31 pair number `i` of 169.254.0.0/17: (machine end, namespace end).
fn uplink_pair(i: u32) -> (Ipv4Addr, Ipv4Addr) {
    let base = u32::from(Ipv4Addr::new(169, 254, 0, 0)) + (i % 16384) * 2;
    (Ipv4Addr::from(base), Ipv4Addr::from(base + 1))
}

/// Makes sure the namespace of `spec` exists with its bridge, uplink and catch-all blackhole,
/// and that the subnet's router address is on the bridge.
pub async fn ensure(spec: &VpcNamespaceSpec) -> Result<(), RuntimeError> {
    let ns = spec.namespace.as_str();
    let subnet = Ipv4Net::parse(&spec.subnet_cidr).ok_or_else(|| {
        RuntimeError::Network(format!("subnet range '{}' is not IPv4", spec.subnet_cidr))
    })?;
    if !namespace_exists(ns) {
        run_idempotent("ip", &["netns", "add", ns]).await?;
        tracing::info!(namespace = ns, "created the vpc's network namespace");
    }
    run("ip", &["-n", ns, "link", "set", "lo", "up"]).await?;
    run_idempotent("ip", &["-n", ns, "link", "add", BRIDGE, "type", "bridge"]).await?;
    run("ip", &["-n", ns, "link", "set", BRIDGE, "up"]).await?;
    run(
        "ip",
        &[
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ],
    )
    .await?;
    ensure_uplink(ns, &spec.vpc_id).await?;
    let router = format!("{}/{}", subnet.gateway(), subnet.prefix);
    run("ip", &["-n", ns, "addr", "replace", &router, "dev", BRIDGE]).await?;
    Ok(())
}

async fn ensure_uplink(ns: &str, vpc_id: &str) -> Result<(), RuntimeError> {
    let host_end = uplink_name(vpc_id);
    let present = output("ip", &["-n", ns, "-o", "link", "show", UPLINK]).await?;
    if present.contains(UPLINK) {
        return Ok(());
    }
    // A free /31: start from the id's own number, skip pairs the machine already uses.
    let seed = u32::from_str_radix(&vpc_id[vpc_id.len().saturating_sub(4)..], 16).unwrap_or(0);
    // A machine end left from a namespace deleted a moment ago (the kernel tears a namespace
    // down asynchronously) would clash with the new pair.
    let _ = run("ip", &["link", "delete", &host_end]).await;
    let used = output("ip", &["-o", "-4", "addr", "show"]).await?;
    let (host_ip, ns_ip) = (0..16384)
        .map(|k| uplink_pair(seed.wrapping_add(k)))
        .find(|(h, n)| !used.contains(&format!(" {h}/")) && !used.contains(&format!(" {n}/")))
        .ok_or_else(|| RuntimeError::Network("no free uplink address in 169.254.0.0/17".into()))?;
    run(
        "ip",
        &[
            "link", "add", &host_end, "type", "veth", "peer", "name", UPLINK, "netns", ns,
        ],
    )
    .await?;
    run(
        "ip",
        &["addr", "add", &format!("{host_ip}/31"), "dev", &host_end],
    )
    .await?;
    run("ip", &["link", "set", &host_end, "up"]).await?;
    run(
        "ip",
        &[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{ns_ip}/31"),
            "dev",
            UPLINK,
        ],
    )
    .await?;
    run("ip", &["-n", ns, "link", "set", UPLINK, "up"]).await?;
    run(
        "ip",
        &[
            "-n",
            ns,
            "route",
            "replace",
            TASK_ENDPOINT,
            "via",
            &host_ip.to_string(),
            "dev",
            UPLINK,
        ],
    )
    .await?;
    run(
        "ip",
        &[
            "-n",
            ns,
            "route",
            "replace",
            "blackhole",
            "default",
            "table",
            BLACKHOLE_TABLE,
        ],
    )
    .await?;
    run_idempotent(
        "ip",
        &[
            "-n",
            ns,
            "rule",
            "add",
            "priority",
            BLACKHOLE_PRIORITY,
            "lookup",
            BLACKHOLE_TABLE,
        ],
    )
    .await?;
    run(
        "ip",
        &[
            "netns",
            "exec",
            ns,
            "iptables",
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-o",
            UPLINK,
            "-j",
            "MASQUERADE",
        ],
    )
    .await?;
    tracing::info!(namespace = ns, uplink = %host_end, %host_ip, "vpc uplink ready");
    Ok(())
}

/// Gives the sandbox whose first process is `pid` an interface `ifname` in namespace `ns`'s
/// bridge with `address` in `subnet_cidr` and MAC `mac`; `default_route` makes the subnet router
/// its default gateway, otherwise it routes only `vpc_cidr` there (a task with a public address
/// leaves through its public network). `link` names the bridge's end (unique per task).
#[allow(clippy::too_many_arguments)]
pub async fn attach(
    ns: &str,
    pid: i64,
    link: &str,
    ifname: &str,
    address: Ipv4Addr,
    subnet_cidr: &str,
    vpc_cidr: &str,
    mac: &str,
    default_route: bool,
) -> Result<(), RuntimeError> {
    let subnet = Ipv4Net::parse(subnet_cidr).ok_or_else(|| {
        RuntimeError::Network(format!("subnet range '{subnet_cidr}' is not IPv4"))
    })?;
    let pid = pid.to_string();
    run(
        "ip",
        &[
            "link", "add", link, "netns", ns, "type", "veth", "peer", "name", ifname, "netns", &pid,
        ],
    )
    .await?;
    run(
        "ip",
        &["-n", ns, "link", "set", link, "master", BRIDGE, "up"],
    )
    .await?;
    let target = ["-t", pid.as_str(), "-n", "ip"];
    let nsenter = |rest: &[&str]| {
        let mut args: Vec<String> = target.iter().map(|s| s.to_string()).collect();
        args.extend(rest.iter().map(|s| s.to_string()));
        args
    };
    let steps: Vec<Vec<String>> = vec![
        nsenter(&["link", "set", ifname, "address", mac]),
        nsenter(&[
            "addr",
            "add",
            &format!("{address}/{}", subnet.prefix),
            "dev",
            ifname,
        ]),
        nsenter(&["link", "set", ifname, "up"]),
        if default_route {
            nsenter(&[
                "route",
                "add",
                "default",
                "via",
                &subnet.gateway().to_string(),
                "dev",
                ifname,
            ])
        } else {
            nsenter(&[
                "route",
                "add",
                vpc_cidr,
                "via",
                &subnet.gateway().to_string(),
                "dev",
                ifname,
            ])
        },
    ];
    for step in steps {
        let args: Vec<&str> = step.iter().map(String::as_str).collect();
        run("nsenter", &args).await?;
    }
    Ok(())
}

/// Deletes the bridge end `link` of a task's interface (when given: the pair goes at once,
/// where a removed sandbox's namespace is torn down asynchronously), then removes namespace
/// `ns` (with its uplink) when no task interface is left on its bridge. Returns whether it was
/// removed.
pub async fn release(ns: &str, link: Option<&str>) -> Result<bool, RuntimeError> {
    if !namespace_exists(ns) {
        return Ok(false);
    }
    if let Some(link) = link {
        let _ = run("ip", &["-n", ns, "link", "delete", link]).await;
    }
    let ports = output("ip", &["-n", ns, "-o", "link", "show", "master", BRIDGE]).await?;
    if ports.lines().any(|l| !l.trim().is_empty()) {
        return Ok(false);
    }
    // The uplink first: deleting its machine end removes the pair at once, where the
    // namespace's own teardown is asynchronous.
    if let Some(vpc_id) = ns.strip_prefix("wharf-") {
        let _ = run("ip", &["link", "delete", &uplink_name(vpc_id)]).await;
    }
    run("ip", &["netns", "delete", ns]).await?;
    tracing::info!(namespace = ns, "removed the vpc's network namespace");
    Ok(true)
}

/// A MAC address for a task's interface: locally administered, from its address and a salt.
pub fn mac_for(address: Ipv4Addr, salt: &str) -> String {
    let o = address.octets();
    let s = salt
        .bytes()
        .fold(0u8, |acc, b| acc.wrapping_mul(31).wrapping_add(b));
    format!(
        "0e:{s:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        o[0], o[1], o[2], o[3]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uplink_names_fit_interface_names() {
        let name = uplink_name("vpc-0123456789abcdef0");
        assert_eq!(name, "wu456789abcdef0");
        assert!(name.len() <= 15);
    }

    #[test]
    fn uplink_pairs_stay_in_the_link_local_half_without_the_task_endpoint() {
        for i in [0, 1, 16383, 16384, u32::MAX] {
            let (h, n) = uplink_pair(i);
            assert_eq!(u32::from(n), u32::from(h) + 1);
            assert!(Ipv4Net::parse("169.254.0.0/17").unwrap().contains(h));
            assert!(Ipv4Net::parse("169.254.0.0/17").unwrap().contains(n));
        }
    }

    #[test]
    fn macs_are_locally_administered_and_differ_by_address() {
        let a = mac_for(Ipv4Addr::new(10, 0, 11, 4), "x");
        let b = mac_for(Ipv4Addr::new(10, 0, 11, 5), "x");
        assert!(a.starts_with("0e:"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 17);
    }
}
