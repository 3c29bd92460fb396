//! The address connections to targets come from: the private address of the load balancer's
//! network interface (EC2 records it), so the targets' security groups admit the load balancer
//! by it and nothing else on the machine.
//!
//! The address is a local address of the VPC's bridge: the Docker bridge of the default VPC on
//! the machine, the bridge of a VPC's own namespace. It is added (as a /32 beside the bridge's
//! own range) the first time a connection cannot bind it, so it is there whenever a VPC's
//! namespace is (re)made, and removed when no target group uses it any more (an address whose
//! load balancer was deleted while wharf was stopped stays until the VPC's namespace goes, or,
//! in the default VPC, until the machine restarts). The target's replies find it because the
//! machine answers ARP for its own addresses on the bridge.

use nix::sys::socket::{setsockopt, sockopt};
use socket2::{SockAddr, SockRef};
use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use tokio::process::Command;
use wharf_core::ipv4::Ipv4Net;

/// One addition at a time (concurrent first connections all find the address missing).
static ADDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Binds `socket` to `source` (any port, chosen at connect time so the 4-tuple alone must be
/// unique), adding the address first when it is missing, in `namespace`, to the bridge that
/// reaches `target`.
pub(crate) async fn bind(
    socket: &std::net::TcpStream,
    source: Ipv4Addr,
    target: Ipv4Addr,
    namespace: Option<&str>,
) -> io::Result<()> {
    let sock = SockRef::from(socket);
    setsockopt(socket, sockopt::IpBindAddressNoPort, &true).map_err(io::Error::from)?;
    let local = SockAddr::from(SocketAddr::V4(SocketAddrV4::new(source, 0)));
    match sock.bind(&local) {
        Err(e) if e.raw_os_error() == Some(nix::libc::EADDRNOTAVAIL) => {
            let _one = ADDING.lock().await;
            if sock.bind(&local).is_ok() {
                return Ok(());
            }
            add(namespace, source, target).await?;
            sock.bind(&local)
        }
        other => other,
    }
}

/// Makes `in_use` (`address -> the namespace it is in, None: the machine's`) the addresses
/// target groups use `now`, and removes (on `runtime`) those no target group uses any more.
pub(crate) fn retain(
    in_use: &mut BTreeMap<Ipv4Addr, Option<String>>,
    now: BTreeMap<Ipv4Addr, Option<String>>,
    runtime: &tokio::runtime::Handle,
) {
    let before = std::mem::replace(in_use, now);
    let gone: Vec<(Ipv4Addr, Option<String>)> = before
        .into_iter()
        .filter(|(address, _)| !in_use.contains_key(address))
        .collect();
    if gone.is_empty() {
        return;
    }
    runtime.spawn(async move {
        for (address, namespace) in gone {
            if let Err(e) = remove(namespace.as_deref(), address).await {
                tracing::warn!(%address, error = %e, "cannot remove a load balancer address");
            }
        }
    });
}

/// Adds `address` to the interface of `namespace` whose range holds `target` (the bridge the
/// target is on; in a VPC's namespace the load balancer's subnet may have no task, and so no
/// router address, on it).
async fn add(namespace: Option<&str>, address: Ipv4Addr, target: Ipv4Addr) -> io::Result<()> {
    let listing = ip(namespace, &["-4", "-o", "addr", "show"]).await?;
    let device = bridge_for(&listing, target).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("no interface reaches {target} (is the VPC's network up?)"),
        )
    })?;
    let with_prefix = format!("{address}/32");
    match ip(namespace, &["addr", "add", &with_prefix, "dev", &device]).await {
        Ok(_) => {}
        Err(e) if e.to_string().contains("File exists") => {}
        Err(e) => return Err(e),
    }
    tracing::info!(%address, %device, namespace = namespace.unwrap_or("-"), "load balancer address added");
    Ok(())
}

/// Removes `address` from the interface of `namespace` that has it (if any).
async fn remove(namespace: Option<&str>, address: Ipv4Addr) -> io::Result<()> {
    let listing = ip(namespace, &["-4", "-o", "addr", "show"]).await?;
    let Some(device) = device_holding(&listing, address) else {
        return Ok(());
    };
    ip(
        namespace,
        &["addr", "del", &format!("{address}/32"), "dev", &device],
    )
    .await?;
    tracing::info!(%address, %device, namespace = namespace.unwrap_or("-"), "load balancer address removed");
    Ok(())
}

/// Runs `ip` (in named namespace `namespace` when given) and answers its output.
async fn ip(namespace: Option<&str>, args: &[&str]) -> io::Result<String> {
    let mut command = Command::new("ip");
    if let Some(ns) = namespace {
        command.args(["-n", ns]);
    }
    let out = command.args(args).output().await?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `(device, address/prefix)` of each line of `ip -4 -o addr show`.
fn addresses(listing: &str) -> impl Iterator<Item = (&str, &str)> {
    listing.lines().filter_map(|line| {
        let mut words = line.split_whitespace();
        let device = words.nth(1)?;
        let _inet = words.find(|w| *w == "inet")?;
        Some((device, words.next()?))
    })
}

/// The interface with a range (not a single address) that holds `address`.
fn bridge_for(listing: &str, address: Ipv4Addr) -> Option<String> {
    addresses(listing)
        .find(|(_, cidr)| {
            Ipv4Net::parse(cidr).is_some_and(|net| net.prefix < 32 && net.contains(address))
        })
        .map(|(device, _)| device.to_string())
}

/// The interface that has `address` itself.
fn device_holding(listing: &str, address: Ipv4Addr) -> Option<String> {
    addresses(listing)
        .find(|(_, cidr)| cidr.split('/').next() == Some(address.to_string().as_str()))
        .map(|(device, _)| device.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
3: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\\       valid_lft forever preferred_lft forever
7: br-5e0f3a1c2b4d    inet 172.31.0.1/16 brd 172.31.255.255 scope global br-5e0f3a1c2b4d\\       valid_lft forever preferred_lft forever
7: br-5e0f3a1c2b4d    inet 172.31.15.254/32 scope global br-5e0f3a1c2b4d\\       valid_lft forever preferred_lft forever
";

    #[test]
    fn the_bridge_whose_range_holds_the_target_gets_the_address() {
        assert_eq!(
            bridge_for(LISTING, Ipv4Addr::new(172, 31, 31, 254)).as_deref(),
            Some("br-5e0f3a1c2b4d")
        );
        assert_eq!(bridge_for(LISTING, Ipv4Addr::new(10, 0, 0, 9)), None);
    }

    #[test]
    fn the_device_holding_an_address_is_found() {
        assert_eq!(
            device_holding(LISTING, Ipv4Addr::new(172, 31, 15, 254)).as_deref(),
            Some("br-5e0f3a1c2b4d")
        );
        assert_eq!(
            device_holding(LISTING, Ipv4Addr::new(172, 31, 15, 253)),
            None
        );
    }
}
