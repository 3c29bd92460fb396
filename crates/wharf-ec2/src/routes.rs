//! The pure part of routing: which route of a table carries traffic to an address (longest
//! prefix wins, as in a VPC router), how a route's target reads on the wire, and the checks of a
//! route's destination. No store, no clock: the route table operations and the data plane
//! (which decides whether a subnet reaches the internet, a NAT gateway or an endpoint) share it.

use crate::generated::Error;
use crate::records::{RouteRecord, RouteTableRecord, RouteTarget};
use std::net::Ipv4Addr;
use wharf_core::ipv4::Ipv4Net;

/// Most routes one route table may hold (AWS's default quota "Routes per route table").
pub const MAX_ROUTES_PER_TABLE: usize = 50;

/// The route of `table` that carries traffic to `addr`: the CIDR route with the longest prefix
/// containing it. Prefix-list routes (gateway endpoints) are not considered here: they match
/// a service's addresses, not a range. `None` when no route matches (the traffic is dropped).
pub fn route_to(table: &RouteTableRecord, addr: Ipv4Addr) -> Option<&RouteRecord> {
    table
        .routes
        .iter()
        .filter_map(|r| {
            let net = Ipv4Net::parse(r.destination_cidr.as_deref()?)?;
            net.contains(addr).then_some((net.prefix, r))
        })
        .max_by_key(|(prefix, _)| *prefix)
        .map(|(_, r)| r)
}

/// Whether `table` has a route to an internet gateway (what makes its subnets public; whether
/// that gateway is still attached is the caller's to check).
pub fn internet_gateway_of(table: &RouteTableRecord) -> Option<&str> {
    table.routes.iter().find_map(|r| match &r.target {
        RouteTarget::InternetGateway(id) => Some(id.as_str()),
        _ => None,
    })
}

/// The index of the route of `table` whose destination is `destination` (a CIDR, compared in canonical form,
/// or a prefix list id).
pub fn find(table: &RouteTableRecord, destination: &Destination) -> Option<usize> {
    table.routes.iter().position(|r| destination.matches(r))
}

/// Where a route sends traffic: `DestinationCidrBlock` or `DestinationPrefixListId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An IPv4 range, in canonical form (host bits cleared).
    Cidr(Ipv4Net),
    /// A prefix list (`pl-...`).
    PrefixList(String),
}

impl Destination {
    /// The destination a CreateRoute / ReplaceRoute / DeleteRoute request names: exactly one of
    /// the IPv4 CIDR, the IPv6 CIDR (refused: wharf's VPCs have no IPv6 ranges) and the prefix
    /// list.
    pub fn from_request(
        cidr: Option<&str>,
        ipv6: Option<&str>,
        prefix_list: Option<&str>,
    ) -> Result<Self, Error> {
        match (cidr, ipv6, prefix_list) {
            (Some(cidr), None, None) => Ok(Destination::Cidr(parse_cidr(cidr)?)),
            (None, None, Some(pl)) => Ok(Destination::PrefixList(pl.to_string())),
            (None, Some(v6), None) => Err(Error::InvalidParameterValue(format!(
                "Value ({v6}) for parameter destinationIpv6CidrBlock is invalid. wharf's VPCs have no IPv6 CIDR blocks."
            ))),
            (None, None, None) => Err(Error::MissingParameter(
                "The request must contain the parameter destinationCidrBlock or destinationIpv6CidrBlock".into(),
            )),
            _ => Err(Error::InvalidParameterCombination(
                "Only one of destinationCidrBlock, destinationIpv6CidrBlock or destinationPrefixListId may be given".into(),
            )),
        }
    }

    /// Whether `route` has this destination.
    pub fn matches(&self, route: &RouteRecord) -> bool {
        match self {
            Destination::Cidr(net) => route
                .destination_cidr
                .as_deref()
                .and_then(Ipv4Net::parse)
                .is_some_and(|n| n == *net),
            Destination::PrefixList(pl) => route.destination_prefix_list.as_deref() == Some(pl),
        }
    }

    /// How AWS names the destination in messages: the CIDR or the prefix list id.
    pub fn label(&self) -> String {
        match self {
            Destination::Cidr(net) => net.to_string(),
            Destination::PrefixList(pl) => pl.clone(),
        }
    }

    /// The filter-name form AWS uses in DeleteRoute's not-found message.
    pub fn parameter(&self) -> &'static str {
        match self {
            Destination::Cidr(_) => "destination-cidr-block",
            Destination::PrefixList(_) => "destination-prefix-list-id",
        }
    }
}

/// An IPv4 CIDR block as a route destination (`0.0.0.0/0` included), in canonical form.
pub fn parse_cidr(text: &str) -> Result<Ipv4Net, Error> {
    let well_formed = text.split_once('/').is_some_and(|(addr, prefix)| {
        addr.parse::<Ipv4Addr>().is_ok() && prefix.parse::<u8>().is_ok_and(|p| p <= 32)
    });
    match Ipv4Net::parse(text).filter(|_| well_formed) {
        Some(net) => Ok(net),
        None => Err(Error::InvalidParameterValue(format!(
            "Value ({text}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block."
        ))),
    }
}

/// `GatewayId` of a route as AWS shows it (`local`, `igw-...`, a gateway endpoint's `vpce-...`).
pub fn gateway_id(target: &RouteTarget) -> Option<String> {
    match target {
        RouteTarget::Local => Some("local".into()),
        RouteTarget::InternetGateway(id) | RouteTarget::VpcEndpoint(id) => Some(id.clone()),
        RouteTarget::NatGateway(_) | RouteTarget::NetworkInterface(_) => None,
    }
}

/// The id of whatever `target` is (`local` for the local route).
pub fn target_id(target: &RouteTarget) -> &str {
    match target {
        RouteTarget::Local => "local",
        RouteTarget::InternetGateway(id)
        | RouteTarget::NatGateway(id)
        | RouteTarget::VpcEndpoint(id)
        | RouteTarget::NetworkInterface(id) => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::RouteTableAssociationRecord;

    fn route(cidr: &str, target: RouteTarget) -> RouteRecord {
        RouteRecord {
            destination_cidr: Some(cidr.into()),
            destination_prefix_list: None,
            target,
            origin: "CreateRoute".into(),
        }
    }

    fn table(routes: Vec<RouteRecord>) -> RouteTableRecord {
        RouteTableRecord {
            id: "rtb-1".into(),
            vpc_id: "vpc-1".into(),
            routes,
            associations: vec![RouteTableAssociationRecord {
                id: "rtbassoc-1".into(),
                subnet_id: None,
                main: true,
            }],
            owner_id: "123456789012".into(),
            tags: Vec::new(),
        }
    }

    fn addr(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    #[test]
    fn the_longest_prefix_wins() {
        let t = table(vec![
            route("10.0.0.0/16", RouteTarget::Local),
            route("0.0.0.0/0", RouteTarget::NatGateway("nat-1".into())),
            route(
                "192.168.0.0/16",
                RouteTarget::InternetGateway("igw-1".into()),
            ),
            route(
                "192.168.4.0/24",
                RouteTarget::NetworkInterface("eni-1".into()),
            ),
            RouteRecord {
                destination_cidr: None,
                destination_prefix_list: Some("pl-63a5400a".into()),
                target: RouteTarget::VpcEndpoint("vpce-1".into()),
                origin: "CreateRoute".into(),
            },
        ]);
        let target = |a: &str| route_to(&t, addr(a)).map(|r| r.target.clone());
        assert_eq!(target("10.0.3.7"), Some(RouteTarget::Local));
        assert_eq!(
            target("8.8.8.8"),
            Some(RouteTarget::NatGateway("nat-1".into()))
        );
        assert_eq!(
            target("192.168.9.1"),
            Some(RouteTarget::InternetGateway("igw-1".into()))
        );
        assert_eq!(
            target("192.168.4.200"),
            Some(RouteTarget::NetworkInterface("eni-1".into()))
        );
        // The order routes were made in does not matter.
        let mut reversed = t.clone();
        reversed.routes.reverse();
        assert_eq!(
            route_to(&reversed, addr("192.168.4.1")).map(|r| &r.target),
            Some(&RouteTarget::NetworkInterface("eni-1".into()))
        );
    }

    #[test]
    fn no_route_no_way_and_prefix_lists_are_not_ranges() {
        let t = table(vec![
            route("10.0.0.0/16", RouteTarget::Local),
            RouteRecord {
                destination_cidr: None,
                destination_prefix_list: Some("pl-1".into()),
                target: RouteTarget::VpcEndpoint("vpce-1".into()),
                origin: "CreateRoute".into(),
            },
        ]);
        assert!(route_to(&t, addr("52.216.0.1")).is_none());
        assert_eq!(internet_gateway_of(&t), None);
        let public = table(vec![route(
            "0.0.0.0/0",
            RouteTarget::InternetGateway("igw-9".into()),
        )]);
        assert_eq!(internet_gateway_of(&public), Some("igw-9"));
        assert!(route_to(&public, addr("255.255.255.255")).is_some());
    }

    #[test]
    fn destinations_are_checked_and_compared_canonically() {
        assert_eq!(
            Destination::from_request(Some("10.1.2.3/16"), None, None).unwrap(),
            Destination::Cidr(Ipv4Net::parse("10.1.0.0/16").unwrap())
        );
        for bad in ["10.0.0.0", "10.0.0.0/33", "nope/8", "10.0.0/8", ""] {
            assert!(
                matches!(parse_cidr(bad), Err(Error::InvalidParameterValue(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Destination::from_request(None, None, None),
            Err(Error::MissingParameter(_))
        ));
        assert!(matches!(
            Destination::from_request(Some("0.0.0.0/0"), None, Some("pl-1")),
            Err(Error::InvalidParameterCombination(_))
        ));
        assert!(Destination::from_request(None, Some("::/0"), None).is_err());
        let t = table(vec![route("10.1.0.0/16", RouteTarget::Local)]);
        let d = Destination::from_request(Some("10.1.9.9/16"), None, None).unwrap();
        assert_eq!(find(&t, &d), Some(0));
        assert_eq!(d.label(), "10.1.0.0/16");
        let pl = Destination::PrefixList("pl-1".into());
        assert_eq!(find(&t, &pl), None);
        assert_eq!(gateway_id(&RouteTarget::Local).as_deref(), Some("local"));
        assert_eq!(gateway_id(&RouteTarget::NatGateway("nat-1".into())), None);
        assert_eq!(target_id(&RouteTarget::NatGateway("nat-1".into())), "nat-1");
    }
}
