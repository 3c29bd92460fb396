//! IPv4 ranges: parsing `a.b.c.d/n`, containment and overlap, the gateway of a network and the
//! addresses a task may get in a subnet (AWS reserves the first four and the last one). Pure
//! functions, shared by EC2 (VPC and subnet ranges, address allocation) and the task runtime
//! (its Docker backend and fake) so all allocate the same way.

use std::net::Ipv4Addr;

/// An IPv4 network in CIDR form, normalised to its first address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    /// The first address (host bits cleared).
    pub base: u32,
    /// Prefix length, 0..=32.
    pub prefix: u8,
}

impl Ipv4Net {
    /// Parses `a.b.c.d/n`; host bits are cleared (`10.0.0.7/24` is `10.0.0.0/24`).
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = text.trim().split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        if prefix > 32 {
            return None;
        }
        Some(Self {
            base: u32::from(addr) & mask(prefix),
            prefix,
        })
    }

    /// The single address `addr` (`a.b.c.d/32`).
    pub fn host(addr: Ipv4Addr) -> Self {
        Self {
            base: u32::from(addr),
            prefix: 32,
        }
    }

    /// The last address (the broadcast address of the range).
    pub fn last(&self) -> u32 {
        self.base | !mask(self.prefix)
    }

    /// Whether `other` lies entirely inside this network.
    pub fn contains_net(&self, other: &Ipv4Net) -> bool {
        other.prefix >= self.prefix && (other.base & mask(self.prefix)) == self.base
    }

    /// Whether the two ranges share any address.
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.contains_net(other) || other.contains_net(self)
    }

    /// Whether `addr` lies in this network.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        (u32::from(addr) & mask(self.prefix)) == self.base
    }

    /// How many addresses the range has (`2^(32 - prefix)`).
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// The first address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base)
    }

    /// The gateway Docker (and a VPC router) uses: the first address after the network address.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base.saturating_add(1))
    }

    /// The addresses a task may get, lowest first: all but the first four and the last one
    /// (AWS reserves the network address, the VPC router, DNS, a future address, and the
    /// broadcast address). Empty for ranges smaller than /29.
    pub fn task_addresses(&self) -> impl DoubleEndedIterator<Item = Ipv4Addr> {
        let first = u64::from(self.base) + 4;
        let end = u64::from(self.last()); // exclusive: the last address is reserved
        (first..end).filter_map(|a| u32::try_from(a).ok().map(Ipv4Addr::from))
    }
}

impl std::fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

/// The address part of `a.b.c.d` or `a.b.c.d/n` (how the engine reports endpoint addresses).
pub fn parse_addr(text: &str) -> Option<Ipv4Addr> {
    text.split('/').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let n = Ipv4Net::parse("10.0.0.7/24").expect("valid");
        assert_eq!(n.to_string(), "10.0.0.0/24");
        assert_eq!(Ipv4Addr::from(n.last()), Ipv4Addr::new(10, 0, 0, 255));
        assert_eq!(n.gateway(), Ipv4Addr::new(10, 0, 0, 1));
        assert!(Ipv4Net::parse("10.0.0.0").is_none());
        assert!(Ipv4Net::parse("10.0.0.0/33").is_none());
        assert!(Ipv4Net::parse("10.0.0/8").is_none());
        assert_eq!(
            Ipv4Net::parse("0.0.0.0/0").map(|n| n.last()),
            Some(u32::MAX)
        );
    }

    #[test]
    fn task_addresses_skip_aws_reserved() {
        let n = Ipv4Net::parse("172.31.16.0/28").expect("valid");
        let all: Vec<_> = n.task_addresses().collect();
        assert_eq!(all.first(), Some(&Ipv4Addr::new(172, 31, 16, 4)));
        assert_eq!(all.last(), Some(&Ipv4Addr::new(172, 31, 16, 14)));
        assert_eq!(all.len(), 11);
        assert_eq!(
            Ipv4Net::parse("10.0.0.0/30").map(|n| n.task_addresses().count()),
            Some(0)
        );
        assert_eq!(
            Ipv4Net::parse("255.255.255.0/24").map(|n| n.task_addresses().count()),
            Some(251)
        );
    }

    #[test]
    fn containment() {
        let vpc = Ipv4Net::parse("172.31.0.0/16").expect("valid");
        let subnet = Ipv4Net::parse("172.31.32.0/20").expect("valid");
        assert!(vpc.contains_net(&subnet));
        assert!(!subnet.contains_net(&vpc));
        assert_eq!(parse_addr("10.1.2.3/24"), Some(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(parse_addr("10.1.2.3"), Some(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(parse_addr(""), None);
    }
}
