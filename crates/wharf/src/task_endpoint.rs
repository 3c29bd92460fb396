//! Where tasks reach their credentials and metadata (and, through `AWS_ENDPOINT_URL`, wharf's
//! API): `169.254.170.2`, as on ECS. wharf puts that link-local address on the loopback
//! interface (needs CAP_NET_ADMIN, i.e. root, like the Docker Engine wharf drives) and listens
//! on its port 80; packets a task's container sends there arrive through the task's bridge and
//! are delivered locally. When port 80 is taken (another wharf on this machine), an ephemeral
//! port is used and tasks get full URIs that name it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;

/// The address ECS serves task credentials and metadata on.
pub const TASK_ENDPOINT_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);

/// The bound listener and the base URL containers use.
pub struct Bound {
    pub listener: tokio::net::TcpListener,
    pub base_url: String,
}

/// Binds the task endpoint on `address` (port 80, else an ephemeral one), adding the address
/// to the loopback interface first if this machine does not have it. `None` (with a warning
/// saying why) when that is not possible; tasks then run without credentials or metadata.
pub async fn bind(address: Ipv4Addr) -> Option<Bound> {
    let ip = IpAddr::V4(address);
    if !has_address(ip).await {
        if let Err(why) = add_to_loopback(address) {
            tracing::warn!(%address, "task credentials and metadata are not served: {why}");
            println!("  warning: task credentials and metadata are not served: {why}");
            return None;
        }
    }
    let listener = match tokio::net::TcpListener::bind(SocketAddr::new(ip, 80)).await {
        Ok(l) => l,
        Err(e) => {
            tracing::info!(%address, error = %e, "port 80 of the task endpoint is taken; using another port");
            match tokio::net::TcpListener::bind(SocketAddr::new(ip, 0)).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(%address, error = %e, "task credentials and metadata are not served");
                    return None;
                }
            }
        }
    };
    let port = listener.local_addr().ok()?.port();
    let base_url = if port == 80 {
        format!("http://{address}")
    } else {
        format!("http://{address}:{port}")
    };
    tracing::info!(%base_url, "task endpoint listening");
    Some(Bound { listener, base_url })
}

/// Whether an address of this machine is `ip` (a bind to port 0 succeeds).
async fn has_address(ip: IpAddr) -> bool {
    tokio::net::TcpListener::bind(SocketAddr::new(ip, 0))
        .await
        .is_ok()
}

fn add_to_loopback(address: Ipv4Addr) -> Result<(), String> {
    let out = Command::new("ip")
        .args(["address", "add", &format!("{address}/32"), "dev", "lo"])
        .output()
        .map_err(|e| format!("cannot run `ip address add {address}/32 dev lo`: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || stderr.contains("File exists") {
        Ok(())
    } else {
        Err(format!(
            "`ip address add {address}/32 dev lo` failed ({}); run wharf as root or add the address yourself",
            stderr.trim()
        ))
    }
}
