//! Connections to targets inside a VPC's network namespace.
//!
//! Every VPC but the default one is its own network namespace on this machine (wharf-runtime's
//! `vpc_net`), so two VPCs may use the same addresses. A socket belongs to the namespace it was
//! created in, wherever it is used afterwards: the load balancer creates the socket of a
//! connection to such a target on a short-lived thread that entered the namespace (`setns`),
//! then connects it from its own runtime. A namespace that does not exist (the default VPC,
//! whose tasks sit on a Docker bridge the machine reaches) means a connection from here.
//! Either way the socket is bound to the load balancer's own address when it has one
//! (`source_address`).

use nix::sched::{setns, CloneFlags};
use socket2::{Domain, Protocol, Socket, Type};
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::{TcpSocket, TcpStream};

/// Where `ip netns` keeps named namespaces.
const NETNS_DIR: &str = "/run/netns";

/// Where connections to a target group's targets are made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConnectFrom {
    /// The network namespace of the targets' VPC (used when it exists).
    pub(crate) namespace: Option<Arc<str>>,
    /// The load balancer's own address in that VPC.
    pub(crate) source: Option<Ipv4Addr>,
}

/// Whether named namespace `name` exists.
pub(crate) fn exists(name: &str) -> bool {
    Path::new(NETNS_DIR).join(name).exists()
}

/// A TCP connection to `authority` (`ip:port`), from inside the namespace `from` names when it
/// exists, from `from`'s source address when it has one.
pub(crate) async fn connect(from: &ConnectFrom, authority: &str) -> io::Result<TcpStream> {
    let namespace = from.namespace.as_deref().filter(|ns| exists(ns));
    if namespace.is_none() && from.source.is_none() {
        return TcpStream::connect(authority).await;
    }
    let addr: SocketAddr = authority.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("target {authority} is not an address"),
        )
    })?;
    let socket = match namespace {
        Some(ns) => socket_in(Path::new(NETNS_DIR).join(ns), addr).await?,
        None => new_socket(addr)?,
    };
    if let (Some(source), SocketAddr::V4(target)) = (from.source, addr) {
        crate::source_address::bind(&socket, source, *target.ip(), namespace).await?;
    }
    TcpSocket::from_std_stream(socket).connect(addr).await
}

/// A non-blocking, unconnected TCP socket for `addr` created inside the namespace at `path`.
async fn socket_in(path: PathBuf, addr: SocketAddr) -> io::Result<std::net::TcpStream> {
    let (done, made) = tokio::sync::oneshot::channel();
    // A thread of its own: it ends in the namespace it entered, so no other work ever runs there.
    std::thread::Builder::new()
        .name("wharf-lb-netns".into())
        .spawn(move || {
            let _ = done.send(create_in(&path, addr));
        })?;
    made.await
        .map_err(|_| io::Error::other("the namespace thread ended without a socket"))?
}

fn create_in(path: &Path, addr: SocketAddr) -> io::Result<std::net::TcpStream> {
    let namespace = File::open(path)?;
    setns(&namespace, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    new_socket(addr)
}

/// A non-blocking, unconnected TCP socket for `addr` in the calling thread's namespace.
fn new_socket(addr: SocketAddr) -> io::Result<std::net::TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}
