//! What the kernel must let in and out of one network interface: its security groups' rules
//! with every source group resolved to its members' addresses, and where its addresses live.
//! EC2 computes it from its records ([`crate::NetworkInterfaces::interface_filters`]); the
//! agent gathers the interfaces of each network namespace into a [`NetworkFilter`], which the
//! runtime turns into one table of the kernel there. Traffic no rule admits is dropped; replies
//! to admitted connections always pass (security groups are stateful).

use crate::ipv4::Ipv4Net;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// The rules of one interface, ingress and egress, each an allow list, and its addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct InterfaceFilter {
    /// Connections other hosts may open to the interface.
    pub ingress: Vec<FilterRule>,
    /// Connections the interface may open.
    pub egress: Vec<FilterRule>,
    /// Its addresses and the network namespace each is reached in.
    pub addresses: Vec<InterfaceAddress>,
}

/// One address of an interface and the network namespace whose bridge carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InterfaceAddress {
    /// `None`: the machine's own (the default VPC's Docker bridge, the public network);
    /// otherwise the VPC's namespace ([`crate::subnet_network::vpc_namespace`]).
    pub namespace: Option<String>,
    /// The address.
    pub address: Ipv4Addr,
}

/// The filtered interfaces whose addresses one network namespace carries: what one table of
/// the kernel there holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkFilter {
    /// The interfaces, in a stable order.
    pub members: Vec<NetworkMember>,
}

/// One interface in a [`NetworkFilter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkMember {
    /// `eni-...`
    pub interface_id: String,
    /// Its addresses in this namespace.
    pub addresses: Vec<Ipv4Addr>,
    /// Connections other hosts may open to it.
    pub ingress: Vec<FilterRule>,
    /// Connections it may open.
    pub egress: Vec<FilterRule>,
}

/// One allow rule: which traffic, from (ingress) or to (egress) which addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FilterRule {
    /// Protocol and ports (or ICMP type and code).
    pub traffic: Traffic,
    /// The peer addresses; never empty (a rule whose source group has no members admits
    /// nobody and is left out).
    pub peers: Vec<Ipv4Net>,
}

/// Which packets a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Traffic {
    /// Every protocol (`-1`).
    All,
    /// TCP to destination ports `from..=to`.
    Tcp {
        /// First port.
        from: u16,
        /// Last port.
        to: u16,
    },
    /// UDP to destination ports `from..=to`.
    Udp {
        /// First port.
        from: u16,
        /// Last port.
        to: u16,
    },
    /// ICMP of one type (any when `None`) and code (any when `None`).
    Icmp {
        /// ICMP type.
        icmp_type: Option<u8>,
        /// ICMP code.
        code: Option<u8>,
    },
    /// Any other IP protocol, by number (all of its traffic).
    Protocol(u8),
}

impl Traffic {
    /// Whether this admits TCP connections to `port`.
    pub fn admits_tcp(&self, port: u16) -> bool {
        match *self {
            Traffic::All => true,
            Traffic::Tcp { from, to } => (from..=to).contains(&port),
            Traffic::Protocol(p) => p == 6,
            Traffic::Udp { .. } | Traffic::Icmp { .. } => false,
        }
    }
}

/// Called after every change that may change some interface's filter (a rule authorized or
/// revoked, an interface made or removed).
pub type FilterChangeNotifier = Arc<dyn Fn() + Send + Sync>;
