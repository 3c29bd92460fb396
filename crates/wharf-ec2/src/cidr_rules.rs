//! AWS's rules for the IPv4 ranges of VPCs and subnets, as pure functions: a block is a
//! `/16` to `/28`, a subnet lies inside its VPC and overlaps no other subnet of it, and every
//! subnet gives up five addresses (network, VPC router, DNS, reserved, broadcast), so its
//! `AvailableIpAddressCount` is its size minus five minus the addresses interfaces hold.

use crate::generated::Error;
use wharf_core::ipv4::Ipv4Net;

/// The largest block a VPC or subnet may have (`/16`).
const SHORTEST_PREFIX: u8 = 16;
/// The smallest block a VPC or subnet may have (`/28`).
const LONGEST_PREFIX: u8 = 28;
/// Addresses AWS keeps in every subnet.
pub const RESERVED_PER_SUBNET: u64 = 5;

/// Parses `text` as a CIDR block in canonical form (host bits clear); AWS's answer for text
/// that is not one names the parameter.
fn parse_block(text: &str, parameter: &str) -> Result<Ipv4Net, Error> {
    let invalid = || {
        Error::InvalidParameterValue(format!(
            "Value ({text}) for parameter {parameter} is invalid. This is not a valid CIDR block."
        ))
    };
    let net = Ipv4Net::parse(text).ok_or_else(invalid)?;
    // `Ipv4Net::parse` clears host bits; AWS refuses a block written with them set.
    if net.to_string() != text.trim() {
        return Err(invalid());
    }
    Ok(net)
}

fn size_allowed(net: &Ipv4Net) -> bool {
    (SHORTEST_PREFIX..=LONGEST_PREFIX).contains(&net.prefix)
}

/// A VPC's `CidrBlock`: a `/16` to `/28`, else `InvalidVpcRange`.
pub fn vpc_block(text: &str) -> Result<Ipv4Net, Error> {
    let net = parse_block(text, "cidrBlock")?;
    if !size_allowed(&net) {
        return Err(Error::InvalidVpcRange(format!(
            "The CIDR '{text}' is invalid."
        )));
    }
    Ok(net)
}

/// A subnet's `CidrBlock` in a VPC of range `vpc`: a `/16` to `/28` inside it, else
/// `InvalidSubnet.Range`; overlapping one of `siblings` (the VPC's other subnets) is
/// `InvalidSubnet.Conflict`.
pub fn subnet_block<'a>(
    text: &str,
    vpc: &Ipv4Net,
    siblings: impl IntoIterator<Item = &'a str>,
) -> Result<Ipv4Net, Error> {
    let net = parse_block(text, "cidrBlock")?;
    if !size_allowed(&net) || !vpc.contains_net(&net) {
        return Err(Error::InvalidSubnetRange(format!(
            "The CIDR '{text}' is invalid."
        )));
    }
    let conflicts = siblings
        .into_iter()
        .filter_map(Ipv4Net::parse)
        .any(|other| other.overlaps(&net));
    if conflicts {
        return Err(Error::InvalidSubnetConflict(format!(
            "The CIDR '{text}' conflicts with another subnet"
        )));
    }
    Ok(net)
}

/// `AvailableIpAddressCount` of a subnet of range `cidr` whose interfaces hold `in_use`
/// addresses (0 for a range that does not parse).
pub fn available_addresses(cidr: &str, in_use: usize) -> i32 {
    let Some(net) = Ipv4Net::parse(cidr) else {
        return 0;
    };
    let free = net
        .size()
        .saturating_sub(RESERVED_PER_SUBNET)
        .saturating_sub(u64::try_from(in_use).unwrap_or(u64::MAX));
    i32::try_from(free).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpc_blocks_are_16_to_28() {
        assert_eq!(vpc_block("10.0.0.0/16").unwrap().to_string(), "10.0.0.0/16");
        assert!(vpc_block("10.0.0.0/28").is_ok());
        assert_eq!(
            vpc_block("10.0.0.0/8"),
            Err(Error::InvalidVpcRange(
                "The CIDR '10.0.0.0/8' is invalid.".into()
            ))
        );
        assert!(matches!(
            vpc_block("10.0.0.0/29"),
            Err(Error::InvalidVpcRange(_))
        ));
        for bad in [
            "10.0.0.1/16",
            "10.0.0/16",
            "ten/16",
            "10.0.0.0",
            "10.0.0.0/33",
        ] {
            assert_eq!(
                vpc_block(bad),
                Err(Error::InvalidParameterValue(format!(
                    "Value ({bad}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
                ))),
                "{bad}"
            );
        }
    }

    #[test]
    fn subnets_lie_inside_their_vpc_without_overlap() {
        let vpc = vpc_block("10.0.0.0/16").unwrap();
        let siblings = ["10.0.1.0/24", "10.0.2.0/24"];
        assert!(subnet_block("10.0.3.0/24", &vpc, siblings).is_ok());
        assert!(
            subnet_block("10.0.0.0/16", &vpc, []).is_ok(),
            "the whole VPC"
        );
        assert!(subnet_block("10.0.3.0/28", &vpc, siblings).is_ok());
        assert_eq!(
            subnet_block("10.1.0.0/24", &vpc, siblings),
            Err(Error::InvalidSubnetRange(
                "The CIDR '10.1.0.0/24' is invalid.".into()
            ))
        );
        assert!(matches!(
            subnet_block("10.0.3.0/29", &vpc, siblings),
            Err(Error::InvalidSubnetRange(_))
        ));
        assert!(matches!(
            subnet_block("10.0.0.0/15", &vpc, siblings),
            Err(Error::InvalidSubnetRange(_))
        ));
        assert_eq!(
            subnet_block("10.0.1.0/24", &vpc, siblings),
            Err(Error::InvalidSubnetConflict(
                "The CIDR '10.0.1.0/24' conflicts with another subnet".into()
            ))
        );
        assert!(
            matches!(
                subnet_block("10.0.0.0/22", &vpc, siblings),
                Err(Error::InvalidSubnetConflict(_))
            ),
            "a larger block containing a sibling conflicts"
        );
        assert!(
            matches!(
                subnet_block("10.0.1.128/25", &vpc, siblings),
                Err(Error::InvalidSubnetConflict(_))
            ),
            "a smaller block inside a sibling conflicts"
        );
    }

    #[test]
    fn five_addresses_are_reserved_in_every_subnet() {
        assert_eq!(available_addresses("10.0.1.0/24", 0), 251);
        assert_eq!(available_addresses("10.0.1.0/24", 3), 248);
        assert_eq!(available_addresses("172.31.0.0/20", 0), 4091);
        assert_eq!(available_addresses("10.0.0.0/28", 0), 11);
        assert_eq!(available_addresses("10.0.0.0/28", 20), 0);
        assert_eq!(available_addresses("nonsense", 0), 0);
    }
}
