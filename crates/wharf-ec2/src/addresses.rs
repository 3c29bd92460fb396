//! Elastic IP addresses: AllocateAddress, ReleaseAddress and DescribeAddresses.
//!
//! The addresses come from wharf's Elastic IP range ([`crate::Ec2::with_elastic_ip_range`],
//! `100.65.0.0/16` unless the server says otherwise), lowest free first, shared by every
//! account and region of this wharf (they are addresses on this machine). A NAT gateway holds
//! its address through an association ([`AddressAssociation`]) made by
//! [`crate::nat_gateways`]; an address in use cannot be released.

use crate::checks::check_dry_run;
use crate::default_network;
use crate::filters::FilterSet;
use crate::generated::{
    Address, AllocateAddressRequest, AllocateAddressResult, DescribeAddressesRequest,
    DescribeAddressesResult, Error, ReleaseAddressRequest,
};
use crate::records::{scope_prefix, scoped_key, AddressAssociation, AddressRecord, ADDRESSES};
use crate::tags;
use crate::Ec2;
use std::collections::HashSet;
use std::net::Ipv4Addr;
use wharf_core::ipv4::Ipv4Net;
use wharf_core::RequestContext;
use wharf_store::Tx;

/// Elastic IPs one account may hold in one region (AWS's default quota "EC2-VPC Elastic IPs").
pub const MAX_ADDRESSES_PER_REGION: usize = 5;

/// `Domain` of every address: wharf has no EC2-Classic.
const DOMAIN: &str = "vpc";

/// `PublicIpv4Pool` of an address from Amazon's pool.
const AMAZON_POOL: &str = "amazon";

/// Filter names DescribeAddresses accepts besides the tag filters.
const FILTERS: &[&str] = &[
    "allocation-id",
    "association-id",
    "domain",
    "instance-id",
    "network-border-group",
    "network-interface-id",
    "network-interface-owner-id",
    "private-ip-address",
    "public-ip",
];

impl AddressRecord {
    fn to_wire(&self, region: &str) -> Address {
        let assoc = self.association.as_ref();
        Address {
            allocation_id: Some(self.allocation_id.clone()),
            association_id: assoc.map(|a| a.id.clone()),
            domain: Some(DOMAIN.into()),
            network_interface_id: assoc.map(|a| a.network_interface_id.clone()),
            network_interface_owner_id: assoc.map(|_| self.owner_id.clone()),
            private_ip_address: assoc.map(|a| a.private_ip.clone()),
            tags: tags::to_wire(&self.tags),
            public_ipv4_pool: Some(AMAZON_POOL.into()),
            network_border_group: Some(region.into()),
            public_ip: Some(self.public_ip.clone()),
            ..Address::default()
        }
    }

    fn field(&self, name: &str, region: &str) -> Vec<String> {
        let assoc = self.association.as_ref();
        match name {
            "allocation-id" => vec![self.allocation_id.clone()],
            "association-id" => assoc.map(|a| a.id.clone()).into_iter().collect(),
            "domain" => vec![DOMAIN.into()],
            "network-border-group" => vec![region.into()],
            "network-interface-id" => assoc
                .map(|a| a.network_interface_id.clone())
                .into_iter()
                .collect(),
            "network-interface-owner-id" => {
                assoc.map(|_| self.owner_id.clone()).into_iter().collect()
            }
            "private-ip-address" => assoc.map(|a| a.private_ip.clone()).into_iter().collect(),
            "public-ip" => vec![self.public_ip.clone()],
            _ => Vec::new(),
        }
    }
}

/// AWS's answer for an allocation id that does not exist.
pub fn not_found(allocation_id: &str) -> Error {
    Error::InvalidAllocationIDNotFound(format!(
        "The allocation ID '{allocation_id}' does not exist"
    ))
}

/// The Elastic IP `allocation_id`, or AWS's not-found error.
pub fn get(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    allocation_id: &str,
) -> Result<AddressRecord, Error> {
    tx.get(ADDRESSES, &scoped_key(account, region, allocation_id))?
        .ok_or_else(|| not_found(allocation_id))
}

/// Associates (`Some`) or disassociates (`None`) the Elastic IP `allocation_id`.
pub fn set_association(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    allocation_id: &str,
    association: Option<AddressAssociation>,
) -> Result<(), Error> {
    let mut address = get(tx, account, region, allocation_id)?;
    address.association = association;
    tx.put(
        ADDRESSES,
        &scoped_key(account, region, allocation_id),
        &address,
    )?;
    Ok(())
}

/// The lowest address of `range` that is not in `used`, the range's first (network) and last
/// (broadcast) addresses skipped.
pub fn lowest_free(range: &Ipv4Net, used: &HashSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    let first = u64::from(range.base) + 1;
    let end = u64::from(range.last());
    (first..end)
        .filter_map(|a| u32::try_from(a).ok().map(Ipv4Addr::from))
        .find(|a| !used.contains(a))
}

/// AllocateAddress: the lowest free address of wharf's range, for `Domain` vpc.
pub fn allocate(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: AllocateAddressRequest,
) -> Result<AllocateAddressResult, Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    if let Some(domain) = input.domain.as_deref().filter(|d| *d != DOMAIN) {
        return Err(Error::InvalidParameterValue(format!(
            "Invalid value '{domain}' for domain. wharf allocates addresses for use in a VPC only (vpc)."
        )));
    }
    if let Some(group) = input
        .network_border_group
        .as_deref()
        .filter(|g| *g != region)
    {
        return Err(Error::InvalidParameterValue(format!(
            "Invalid network border group '{group}': the network border group of {region} is {region}"
        )));
    }
    if let Some(address) = &input.address {
        return Err(Error::InvalidParameterValue(format!(
            "Address {address} cannot be allocated: wharf has no bring-your-own IP pools"
        )));
    }
    if let Some(pool) = input
        .public_ipv4_pool
        .as_deref()
        .filter(|p| *p != AMAZON_POOL)
    {
        return Err(Error::InvalidParameterValue(format!(
            "The public IPv4 pool '{pool}' does not exist"
        )));
    }
    if input.customer_owned_ipv4_pool.is_some() || input.ipam_pool_id.is_some() {
        return Err(Error::InvalidParameterValue(
            "wharf allocates addresses from Amazon's pool only".into(),
        ));
    }
    let tags = tags::from_specifications(input.tag_specifications.as_deref(), "elastic-ip")?;
    default_network::ensure(ec2, account, region)?;
    let allocation_id = format!("eipalloc-{}", ec2.ids.hex(17));
    let range = ec2.elastic_ip_range;
    let address = ec2.store.write(|tx| {
        let all: Vec<(String, AddressRecord)> = tx.list(ADDRESSES, "")?;
        let prefix = scope_prefix(account, region);
        let held = all.iter().filter(|(k, _)| k.starts_with(&prefix)).count();
        if held >= MAX_ADDRESSES_PER_REGION {
            return Err(Error::AddressLimitExceeded(
                "The maximum number of addresses has been reached.".into(),
            ));
        }
        let used: HashSet<Ipv4Addr> = all
            .iter()
            .filter_map(|(_, a)| a.public_ip.parse().ok())
            .collect();
        let ip = lowest_free(&range, &used).ok_or_else(|| {
            Error::AddressLimitExceeded(format!(
                "The maximum number of addresses has been reached: wharf's Elastic IP range {range} is used up."
            ))
        })?;
        let address = AddressRecord {
            allocation_id: allocation_id.clone(),
            public_ip: ip.to_string(),
            association: None,
            owner_id: account.into(),
            tags,
        };
        tx.put(
            ADDRESSES,
            &scoped_key(account, region, &allocation_id),
            &address,
        )?;
        Ok(address)
    })?;
    tracing::info!(allocation = %address.allocation_id, ip = %address.public_ip, "allocated elastic ip");
    Ok(AllocateAddressResult {
        allocation_id: Some(address.allocation_id),
        public_ipv4_pool: Some(AMAZON_POOL.into()),
        network_border_group: Some(region.into()),
        domain: Some(DOMAIN.into()),
        public_ip: Some(address.public_ip),
        ..AllocateAddressResult::default()
    })
}

/// ReleaseAddress, by `AllocationId` (a VPC address cannot be released by `PublicIp`); refused
/// while the address is in use.
pub fn release(ec2: &Ec2, ctx: &RequestContext, input: ReleaseAddressRequest) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let released = ec2.store.write(|tx| {
        let address = match (&input.allocation_id, &input.public_ip) {
            (Some(id), _) => get(tx, account, region, id)?,
            (None, Some(ip)) => {
                // Every wharf address is a VPC address, which AWS releases by allocation id.
                let rows: Vec<(String, AddressRecord)> =
                    tx.list(ADDRESSES, &scope_prefix(account, region))?;
                if !rows.iter().any(|(_, a)| a.public_ip == *ip) {
                    return Err(address_not_found(ip));
                }
                return Err(Error::InvalidParameterValue(
                    "You must specify an allocation id when releasing a VPC elastic IP address"
                        .into(),
                ));
            }
            (None, None) => {
                return Err(Error::MissingParameter(
                    "Either public IP or allocation id must be specified".into(),
                ))
            }
        };
        if address.association.is_some() {
            return Err(Error::InvalidIPAddressInUse(format!(
                "Address {} is in use.",
                address.public_ip
            )));
        }
        tx.delete(
            ADDRESSES,
            &scoped_key(account, region, &address.allocation_id),
        )?;
        Ok(address)
    })?;
    tracing::info!(allocation = %released.allocation_id, ip = %released.public_ip, "released elastic ip");
    Ok(())
}

fn address_not_found(ip: &str) -> Error {
    Error::InvalidAddressNotFound(format!("Address '{ip}' not found."))
}

/// DescribeAddresses.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeAddressesRequest,
) -> Result<DescribeAddressesResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), FILTERS)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    let rows: Vec<(String, AddressRecord)> = ec2
        .store
        .read(|tx| tx.list(ADDRESSES, &scope_prefix(account, region)))?;
    let mut addresses: Vec<AddressRecord> = rows.into_iter().map(|(_, a)| a).collect();
    if let Some(ids) = input.allocation_ids.as_deref().filter(|i| !i.is_empty()) {
        if let Some(missing) = ids
            .iter()
            .find(|id| !addresses.iter().any(|a| a.allocation_id == **id))
        {
            return Err(not_found(missing));
        }
        addresses.retain(|a| ids.contains(&a.allocation_id));
    }
    if let Some(ips) = input.public_ips.as_deref().filter(|i| !i.is_empty()) {
        if let Some(missing) = ips
            .iter()
            .find(|ip| !addresses.iter().any(|a| a.public_ip == **ip))
        {
            return Err(address_not_found(missing));
        }
        addresses.retain(|a| ips.contains(&a.public_ip));
    }
    addresses.retain(|a| filters.matches(|name| a.field(name, region), &a.tags));
    Ok(DescribeAddressesResult {
        addresses: Some(addresses.iter().map(|a| a.to_wire(region)).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{Ec2Api, Tag, TagSpecification};
    use crate::tests::{filter, setup};

    fn allocate_one(ec2: &Ec2, ctx: &RequestContext) -> AllocateAddressResult {
        ec2.allocate_address(
            ctx,
            AllocateAddressRequest {
                domain: Some("vpc".into()),
                ..Default::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn lowest_free_skips_network_broadcast_and_used() {
        let range = Ipv4Net::parse("100.65.0.0/30").unwrap();
        let mut used = HashSet::new();
        assert_eq!(
            lowest_free(&range, &used),
            Some(Ipv4Addr::new(100, 65, 0, 1))
        );
        used.insert(Ipv4Addr::new(100, 65, 0, 1));
        assert_eq!(
            lowest_free(&range, &used),
            Some(Ipv4Addr::new(100, 65, 0, 2))
        );
        used.insert(Ipv4Addr::new(100, 65, 0, 2));
        assert_eq!(lowest_free(&range, &used), None);
    }

    #[test]
    fn allocate_describe_release() {
        let (_dir, ec2, ctx) = setup();
        let ec2 = ec2.with_elastic_ip_range(Ipv4Net::parse("198.51.100.0/24").unwrap());
        let first = ec2
            .allocate_address(
                &ctx,
                AllocateAddressRequest {
                    tag_specifications: Some(vec![TagSpecification {
                        resource_type: Some("elastic-ip".into()),
                        tags: Some(vec![Tag {
                            key: Some("Name".into()),
                            value: Some("nat".into()),
                        }]),
                    }]),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(first.public_ip.as_deref(), Some("198.51.100.1"));
        assert_eq!(first.domain.as_deref(), Some("vpc"));
        assert_eq!(first.network_border_group.as_deref(), Some("us-east-1"));
        let second = allocate_one(&ec2, &ctx);
        assert_eq!(second.public_ip.as_deref(), Some("198.51.100.2"));

        let all = ec2
            .describe_addresses(&ctx, DescribeAddressesRequest::default())
            .unwrap()
            .addresses
            .unwrap();
        assert_eq!(all.len(), 2);
        let tagged = ec2
            .describe_addresses(
                &ctx,
                DescribeAddressesRequest {
                    filters: Some(vec![
                        filter("tag:Name", &["nat"]),
                        filter("domain", &["vpc"]),
                    ]),
                    ..Default::default()
                },
            )
            .unwrap()
            .addresses
            .unwrap();
        assert_eq!(tagged.len(), 1);
        assert_eq!(tagged[0].allocation_id, first.allocation_id);
        let by_ip = ec2
            .describe_addresses(
                &ctx,
                DescribeAddressesRequest {
                    public_ips: Some(vec!["198.51.100.2".into()]),
                    ..Default::default()
                },
            )
            .unwrap()
            .addresses
            .unwrap();
        assert_eq!(by_ip[0].allocation_id, second.allocation_id);
        assert_eq!(
            ec2.describe_addresses(
                &ctx,
                DescribeAddressesRequest {
                    public_ips: Some(vec!["198.51.100.9".into()]),
                    ..Default::default()
                },
            ),
            Err(Error::InvalidAddressNotFound(
                "Address '198.51.100.9' not found.".into()
            ))
        );

        ec2.release_address(
            &ctx,
            ReleaseAddressRequest {
                allocation_id: first.allocation_id.clone(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            ec2.release_address(
                &ctx,
                ReleaseAddressRequest {
                    allocation_id: first.allocation_id.clone(),
                    ..Default::default()
                },
            ),
            Err(not_found(first.allocation_id.as_deref().unwrap()))
        );
        assert_eq!(
            ec2.release_address(
                &ctx,
                ReleaseAddressRequest {
                    public_ip: Some("198.51.100.2".into()),
                    ..Default::default()
                },
            ),
            Err(Error::InvalidParameterValue(
                "You must specify an allocation id when releasing a VPC elastic IP address".into()
            ))
        );
        // The lowest free address is given again.
        assert_eq!(
            allocate_one(&ec2, &ctx).public_ip.as_deref(),
            Some("198.51.100.1")
        );
    }

    #[test]
    fn five_per_region_and_addresses_unique_across_accounts() {
        let (_dir, ec2, ctx) = setup();
        for _ in 0..MAX_ADDRESSES_PER_REGION {
            allocate_one(&ec2, &ctx);
        }
        assert_eq!(
            ec2.allocate_address(&ctx, AllocateAddressRequest::default()),
            Err(Error::AddressLimitExceeded(
                "The maximum number of addresses has been reached.".into()
            ))
        );
        let mut other = ctx.clone();
        other.region = "eu-west-1".into();
        let ip = allocate_one(&ec2, &other).public_ip.unwrap();
        assert_eq!(
            ip, "100.65.0.6",
            "the range is shared: 100.65.0.1-5 are taken"
        );
        assert!(matches!(
            ec2.allocate_address(
                &ctx,
                AllocateAddressRequest {
                    domain: Some("standard".into()),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidParameterValue(_))
        ));
    }
}
