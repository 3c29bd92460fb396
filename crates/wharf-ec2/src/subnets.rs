//! Subnets: Create/Delete/DescribeSubnets, ModifySubnetAttribute, and the subnet lookups other
//! services use to place a task's network interface ([`SubnetInfo`]). Each default VPC has one
//! default subnet per zone (see [`crate::default_network`]); created subnets follow AWS's range
//! rules ([`crate::cidr_rules`]). `AvailableIpAddressCount` is not stored but counted: the
//! range's size less AWS's five reserved addresses less the addresses interfaces hold.

use crate::checks::{check_dry_run, refuse_unsupported};
use crate::filters::{bool_value, FilterSet};
use crate::generated::{
    AttributeBooleanValue, BlockPublicAccessStates, CreateSubnetRequest, CreateSubnetResult,
    DeleteSubnetRequest, DescribeSubnetsRequest, DescribeSubnetsResult, Error,
    ModifySubnetAttributeRequest, PrivateDnsNameOptionsOnLaunch, Subnet,
};
use crate::network_interfaces::addresses_in_use;
use crate::paging::page;
use crate::records::{
    scope_prefix, scoped_key, InterfaceRecord, NetworkAclAssociationRecord, NetworkAclRecord,
    RouteTableRecord, SubnetRecord, INTERFACES, NETWORK_ACLS, ROUTE_TABLES, SUBNETS,
};
use crate::zones::{zones, Zone};
use crate::Ec2;
use crate::{cidr_rules, default_network, single_attribute, tags, vpcs};
use wharf_core::ipv4::Ipv4Net;
use wharf_core::{IdGen, PlacementSubnet, RequestContext};
use wharf_store::{StoreError, Tx};

/// A subnet as other services need it: where a task's network interface can be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetInfo {
    /// `subnet-...`
    pub id: String,
    /// The VPC the subnet belongs to.
    pub vpc_id: String,
    /// Its availability zone, e.g. `us-east-1a`.
    pub availability_zone: String,
    /// Its IPv4 range, e.g. `172.31.0.0/20`.
    pub cidr_block: String,
}

impl From<&SubnetRecord> for SubnetInfo {
    fn from(s: &SubnetRecord) -> Self {
        Self {
            id: s.id.clone(),
            vpc_id: s.vpc_id.clone(),
            availability_zone: s.availability_zone.clone(),
            cidr_block: s.cidr_block.clone(),
        }
    }
}

impl SubnetRecord {
    fn to_wire(&self) -> Subnet {
        Subnet {
            availability_zone_id: Some(self.availability_zone_id.clone()),
            map_customer_owned_ip_on_launch: Some(false),
            owner_id: Some(self.owner_id.clone()),
            assign_ipv6_address_on_creation: Some(false),
            ipv6_cidr_block_association_set: Some(Vec::new()),
            tags: tags::to_wire(&self.tags),
            subnet_arn: Some(self.arn.clone()),
            enable_dns64: Some(false),
            ipv6_native: Some(false),
            private_dns_name_options_on_launch: Some(PrivateDnsNameOptionsOnLaunch {
                hostname_type: Some("ip-name".into()),
                enable_resource_name_dns_a_record: Some(false),
                enable_resource_name_dns_aaaa_record: Some(false),
            }),
            block_public_access_states: Some(BlockPublicAccessStates {
                internet_gateway_block_mode: Some("off".into()),
            }),
            subnet_id: Some(self.id.clone()),
            state: Some("available".into()),
            vpc_id: Some(self.vpc_id.clone()),
            cidr_block: Some(self.cidr_block.clone()),
            available_ip_address_count: Some(self.available_ip_address_count),
            availability_zone: Some(self.availability_zone.clone()),
            default_for_az: Some(self.default_for_az),
            map_public_ip_on_launch: Some(self.map_public_ip_on_launch),
            ..Subnet::default()
        }
    }

    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "subnet-id" => vec![self.id.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            "availability-zone" | "availabilityZone" => vec![self.availability_zone.clone()],
            "availability-zone-id" | "availabilityZoneId" => {
                vec![self.availability_zone_id.clone()]
            }
            "default-for-az" | "defaultForAz" => bool_value(self.default_for_az),
            "cidr" | "cidr-block" | "cidrBlock" => vec![self.cidr_block.clone()],
            "map-public-ip-on-launch" => bool_value(self.map_public_ip_on_launch),
            "available-ip-address-count" => vec![self.available_ip_address_count.to_string()],
            "owner-id" => vec![self.owner_id.clone()],
            "subnet-arn" => vec![self.arn.clone()],
            "state" => vec!["available".into()],
            "enable-dns64"
            | "ipv6-native"
            | "map-customer-owned-ip-on-launch"
            | "private-dns-name-options-on-launch.enable-resource-name-dns-a-record"
            | "private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record" => {
                bool_value(false)
            }
            "private-dns-name-options-on-launch.hostname-type" => vec!["ip-name".into()],
            _ => Vec::new(),
        }
    }
}

/// Filter names `DescribeSubnets` accepts besides the tag filters.
const SUBNET_FILTERS: &[&str] = &[
    "subnet-id",
    "vpc-id",
    "availability-zone",
    "availabilityZone",
    "availability-zone-id",
    "availabilityZoneId",
    "default-for-az",
    "defaultForAz",
    "cidr",
    "cidr-block",
    "cidrBlock",
    "map-public-ip-on-launch",
    "available-ip-address-count",
    "owner-id",
    "subnet-arn",
    "state",
    "customer-owned-ipv4-pool",
    "enable-dns64",
    "enable-lni-at-device-index",
    "ipv6-cidr-block-association.ipv6-cidr-block",
    "ipv6-cidr-block-association.association-id",
    "ipv6-cidr-block-association.state",
    "ipv6-native",
    "map-customer-owned-ip-on-launch",
    "outpost-arn",
    "private-dns-name-options-on-launch.hostname-type",
    "private-dns-name-options-on-launch.enable-resource-name-dns-a-record",
    "private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record",
];

/// Every subnet of `account` in `region`, in id order, the defaults created if needed, each
/// with its `AvailableIpAddressCount` counted from the interfaces in it.
fn all(ec2: &Ec2, account: &str, region: &str) -> Result<Vec<SubnetRecord>, StoreError> {
    default_network::ensure(ec2, account, region)?;
    let scope = scope_prefix(account, region);
    let (subnets, interfaces) = ec2.store.read(|tx| {
        let subnets: Vec<(String, SubnetRecord)> = tx.list(SUBNETS, &scope)?;
        let interfaces: Vec<(String, InterfaceRecord)> = tx.list(INTERFACES, &scope)?;
        Ok::<_, StoreError>((subnets, interfaces))
    })?;
    Ok(subnets
        .into_iter()
        .map(|(_, mut s)| {
            let in_use = interfaces
                .iter()
                .filter(|(_, e)| e.subnet_id == s.id)
                .count();
            s.available_ip_address_count = cidr_rules::available_addresses(&s.cidr_block, in_use);
            s
        })
        .collect())
}

impl From<SubnetInfo> for PlacementSubnet {
    fn from(s: SubnetInfo) -> Self {
        Self {
            id: s.id,
            vpc_id: s.vpc_id,
            availability_zone: s.availability_zone,
            cidr_block: s.cidr_block,
        }
    }
}

/// The default subnets of `account` in `region` (one per zone, in zone order), created with
/// the default VPC on first use.
pub fn defaults(ec2: &Ec2, account: &str, region: &str) -> Result<Vec<SubnetInfo>, StoreError> {
    let mut subnets: Vec<SubnetInfo> = all(ec2, account, region)?
        .iter()
        .filter(|s| s.default_for_az)
        .map(SubnetInfo::from)
        .collect();
    subnets.sort_by(|a, b| a.availability_zone.cmp(&b.availability_zone));
    Ok(subnets)
}

/// The subnet `subnet_id` of `account` in `region`, if it exists.
pub fn info(
    ec2: &Ec2,
    account: &str,
    region: &str,
    subnet_id: &str,
) -> Result<Option<SubnetInfo>, StoreError> {
    default_network::ensure(ec2, account, region)?;
    let found = ec2
        .store
        .read(|tx| tx.get(SUBNETS, &scoped_key(account, region, subnet_id)))?;
    Ok(found.as_ref().map(SubnetInfo::from))
}

/// DescribeSubnets.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeSubnetsRequest,
) -> Result<DescribeSubnetsResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), SUBNET_FILTERS)?;
    let mut subnets = all(ec2, &ctx.account_id, &ctx.region)?;
    if let Some(ids) = input.subnet_ids.as_deref().filter(|ids| !ids.is_empty()) {
        if let Some(missing) = ids.iter().find(|id| !subnets.iter().any(|s| s.id == **id)) {
            return Err(not_found(missing));
        }
        subnets.retain(|s| ids.contains(&s.id));
    }
    subnets.retain(|s| filters.matches(|name| s.field(name), &s.tags));
    let (subnets, next_token) = page(
        subnets,
        |s| s.id.clone(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(DescribeSubnetsResult {
        subnets: Some(subnets.iter().map(SubnetRecord::to_wire).collect()),
        next_token,
    })
}

/// Most subnets one VPC may have.
const MAX_SUBNETS_PER_VPC: usize = 200;

/// AWS's error for a subnet id that does not exist.
pub fn not_found(id: &str) -> Error {
    Error::InvalidSubnetIDNotFound(format!("The subnet ID '{id}' does not exist"))
}

/// The subnet `id` of `account` in `region`, or AWS's `InvalidSubnetID.NotFound`.
pub fn load(tx: &Tx<'_>, account: &str, region: &str, id: &str) -> Result<SubnetRecord, Error> {
    tx.get(SUBNETS, &scoped_key(account, region, id))?
        .ok_or_else(|| not_found(id))
}

/// Refuses what CreateSubnet takes on AWS but wharf does not serve: IPv6, IPAM pools, Outposts.
fn refuse_unserved(input: &CreateSubnetRequest) -> Result<(), Error> {
    let unserved = [
        ("Ipv6CidrBlock", input.ipv6_cidr_block.is_some()),
        ("Ipv6Native", input.ipv6_native == Some(true)),
        ("Ipv6IpamPoolId", input.ipv6_ipam_pool_id.is_some()),
        ("Ipv6NetmaskLength", input.ipv6_netmask_length.is_some()),
        ("Ipv4IpamPoolId", input.ipv4_ipam_pool_id.is_some()),
        ("Ipv4NetmaskLength", input.ipv4_netmask_length.is_some()),
        ("OutpostArn", input.outpost_arn.is_some()),
    ];
    refuse_unsupported(
        &unserved,
        "subnets have one IPv4 range, given as CidrBlock.",
    )
}

/// The zone a new subnet goes to: the one named by `AvailabilityZone` or
/// `AvailabilityZoneId` (both must agree), else the zone of `vpc_subnets` with the fewest
/// subnets (the first on a tie), so unplaced subnets spread over the zones.
fn choose_zone(
    region: &str,
    name: Option<&str>,
    id: Option<&str>,
    vpc_subnets: &[&SubnetRecord],
) -> Result<Zone, Error> {
    let all = zones(region);
    let listed = |pick: fn(&Zone) -> &str| all.iter().map(pick).collect::<Vec<&str>>().join(", ");
    let by_name = match name {
        Some(n) => Some(all.iter().find(|z| z.name == n).ok_or_else(|| {
            Error::InvalidParameterValue(format!(
                "Value ({n}) for parameter availabilityZone is invalid. Subnets can currently \
                 only be created in the following availability zones: {}.",
                listed(|z| &z.name)
            ))
        })?),
        None => None,
    };
    let by_id = match id {
        Some(i) => Some(all.iter().find(|z| z.id == i).ok_or_else(|| {
            Error::InvalidParameterValue(format!(
                "Value ({i}) for parameter availabilityZoneId is invalid. Subnets can currently \
                 only be created in the following availability zones: {}.",
                listed(|z| &z.id)
            ))
        })?),
        None => None,
    };
    match (by_name, by_id) {
        (Some(a), Some(b)) if a != b => Err(Error::InvalidParameterCombination(format!(
            "The availability zone '{}' and the availability zone id '{}' name different zones.",
            a.name, b.id
        ))),
        (Some(z), _) | (None, Some(z)) => Ok(z.clone()),
        (None, None) => all
            .iter()
            .min_by_key(|z| {
                vpc_subnets
                    .iter()
                    .filter(|s| s.availability_zone == z.name)
                    .count()
            })
            .cloned()
            .ok_or_else(|| Error::InternalError(format!("region {region} has no zones"))),
    }
}

/// CreateSubnet: a range inside its VPC that overlaps no other subnet of it, in the zone asked
/// for (or one wharf picks), associated with the VPC's default network ACL.
pub fn create(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: CreateSubnetRequest,
) -> Result<CreateSubnetResult, Error> {
    check_dry_run(input.dry_run)?;
    refuse_unserved(&input)?;
    let cidr = input.cidr_block.as_deref().ok_or_else(|| {
        Error::MissingParameter("The request must contain the parameter cidrBlock".into())
    })?;
    let tags = tags::from_specifications(input.tag_specifications.as_deref(), "subnet")?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let ids = ec2.ids.as_ref();
    let subnet = ec2.store.write(|tx| {
        let vpc = vpcs::load(tx, account, region, &input.vpc_id)?;
        let vpc_range = Ipv4Net::parse(&vpc.cidr_block).ok_or_else(|| {
            Error::InternalError(format!("vpc {} has no valid range", vpc.id))
        })?;
        let all: Vec<(String, SubnetRecord)> = tx.list(SUBNETS, &scope_prefix(account, region))?;
        let siblings: Vec<&SubnetRecord> = all
            .iter()
            .map(|(_, s)| s)
            .filter(|s| s.vpc_id == vpc.id)
            .collect();
        let range = cidr_rules::subnet_block(
            cidr,
            &vpc_range,
            siblings.iter().map(|s| s.cidr_block.as_str()),
        )?;
        if siblings.len() >= MAX_SUBNETS_PER_VPC {
            return Err(Error::SubnetLimitExceeded(format!(
                "The maximum number of subnets ({MAX_SUBNETS_PER_VPC}) for VPC '{}' has been reached.",
                vpc.id
            )));
        }
        let zone = choose_zone(
            region,
            input.availability_zone.as_deref(),
            input.availability_zone_id.as_deref(),
            &siblings,
        )?;
        let id = format!("subnet-{}", ids.hex(17));
        let cidr_block = range.to_string();
        let subnet = SubnetRecord {
            arn: format!("arn:aws:ec2:{region}:{account}:subnet/{id}"),
            id,
            vpc_id: vpc.id.clone(),
            available_ip_address_count: cidr_rules::available_addresses(&cidr_block, 0),
            cidr_block,
            availability_zone: zone.name,
            availability_zone_id: zone.id,
            default_for_az: false,
            map_public_ip_on_launch: false,
            owner_id: account.into(),
            tags: tags.clone(),
        };
        tx.put(SUBNETS, &scoped_key(account, region, &subnet.id), &subnet)?;
        associate_default_acl(ids, tx, account, region, &subnet)?;
        Ok(subnet)
    })?;
    tracing::info!(subnet = %subnet.id, vpc = %subnet.vpc_id, cidr = %subnet.cidr_block, "created subnet");
    Ok(CreateSubnetResult {
        subnet: Some(subnet.to_wire()),
    })
}

/// Associates a new `subnet` with its VPC's default network ACL, as AWS does.
fn associate_default_acl(
    ids: &dyn IdGen,
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    subnet: &SubnetRecord,
) -> Result<(), StoreError> {
    let acls: Vec<(String, NetworkAclRecord)> =
        tx.list(NETWORK_ACLS, &scope_prefix(account, region))?;
    let default = acls
        .into_iter()
        .find(|(_, a)| a.vpc_id == subnet.vpc_id && a.is_default);
    if let Some((key, mut acl)) = default {
        acl.associations.push(NetworkAclAssociationRecord {
            id: format!("aclassoc-{}", ids.hex(17)),
            subnet_id: subnet.id.clone(),
        });
        tx.put(NETWORK_ACLS, &key, &acl)?;
    }
    Ok(())
}

/// Removes every route table and network ACL association of subnet `id`.
fn forget_associations(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    id: &str,
) -> Result<(), StoreError> {
    let scope = scope_prefix(account, region);
    let tables: Vec<(String, RouteTableRecord)> = tx.list(ROUTE_TABLES, &scope)?;
    for (key, mut table) in tables {
        let before = table.associations.len();
        table
            .associations
            .retain(|a| a.subnet_id.as_deref() != Some(id));
        if table.associations.len() != before {
            tx.put(ROUTE_TABLES, &key, &table)?;
        }
    }
    let acls: Vec<(String, NetworkAclRecord)> = tx.list(NETWORK_ACLS, &scope)?;
    for (key, mut acl) in acls {
        let before = acl.associations.len();
        acl.associations.retain(|a| a.subnet_id != id);
        if acl.associations.len() != before {
            tx.put(NETWORK_ACLS, &key, &acl)?;
        }
    }
    Ok(())
}

/// DeleteSubnet: refused while any interface (a task's, a NAT gateway's, an interface
/// endpoint's) holds an address in it; its route table and ACL associations go with it.
pub fn delete(ec2: &Ec2, ctx: &RequestContext, input: DeleteSubnetRequest) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let id = input.subnet_id.as_str();
    ec2.store.write(|tx| {
        load(tx, account, region, id)?;
        if !addresses_in_use(tx, account, region, id)?.is_empty() {
            return Err(Error::DependencyViolation(format!(
                "The subnet '{id}' has dependencies and cannot be deleted."
            )));
        }
        forget_associations(tx, account, region, id)?;
        tx.delete(SUBNETS, &scoped_key(account, region, id))?;
        Ok(())
    })?;
    tracing::info!(subnet = %id, "deleted subnet");
    Ok(())
}

/// A subnet attribute wharf keeps at one value: setting it to that value is accepted, any
/// other is refused, naming the attribute.
fn accept_only<T: PartialEq + std::fmt::Debug>(
    name: &str,
    given: T,
    kept: T,
    why: &str,
) -> Result<(), Error> {
    if given == kept {
        Ok(())
    } else {
        Err(Error::InvalidParameterValue(format!(
            "wharf does not support {name} {given:?}: {why}"
        )))
    }
}

/// ModifySubnetAttribute: one attribute per call. `MapPublicIpOnLaunch` is kept; the others
/// describe IPv6, Outposts and resource-name DNS, which wharf subnets do not have: setting them
/// to what wharf shows is accepted, anything else refused.
pub fn modify_attribute(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: ModifySubnetAttributeRequest,
) -> Result<(), Error> {
    let name = single_attribute::the_one(&[
        (
            "MapPublicIpOnLaunch",
            input.map_public_ip_on_launch.is_some(),
        ),
        (
            "AssignIpv6AddressOnCreation",
            input.assign_ipv6_address_on_creation.is_some(),
        ),
        (
            "MapCustomerOwnedIpOnLaunch",
            input.map_customer_owned_ip_on_launch.is_some(),
        ),
        (
            "CustomerOwnedIpv4Pool",
            input.customer_owned_ipv4_pool.is_some(),
        ),
        ("EnableDns64", input.enable_dns64.is_some()),
        (
            "PrivateDnsHostnameTypeOnLaunch",
            input.private_dns_hostname_type_on_launch.is_some(),
        ),
        (
            "EnableResourceNameDnsARecordOnLaunch",
            input.enable_resource_name_dns_a_record_on_launch.is_some(),
        ),
        (
            "EnableResourceNameDnsAAAARecordOnLaunch",
            input
                .enable_resource_name_dns_aaaa_record_on_launch
                .is_some(),
        ),
        (
            "EnableLniAtDeviceIndex",
            input.enable_lni_at_device_index.is_some(),
        ),
        (
            "DisableLniAtDeviceIndex",
            input.disable_lni_at_device_index.is_some(),
        ),
    ])?;
    let flag = |v: Option<&AttributeBooleanValue>| single_attribute::bool_value(v, name);
    const NO_IPV6: &str = "wharf subnets have no IPv6 range.";
    const NO_OUTPOSTS: &str = "wharf has no Outposts.";
    const IP_NAMES: &str = "wharf names hosts by their IP address (ip-name).";
    let mut map_public = None;
    match name {
        "MapPublicIpOnLaunch" => map_public = Some(flag(input.map_public_ip_on_launch.as_ref())?),
        "AssignIpv6AddressOnCreation" => accept_only(
            name,
            flag(input.assign_ipv6_address_on_creation.as_ref())?,
            false,
            NO_IPV6,
        )?,
        "EnableDns64" => accept_only(name, flag(input.enable_dns64.as_ref())?, false, NO_IPV6)?,
        "EnableResourceNameDnsAAAARecordOnLaunch" => accept_only(
            name,
            flag(
                input
                    .enable_resource_name_dns_aaaa_record_on_launch
                    .as_ref(),
            )?,
            false,
            NO_IPV6,
        )?,
        "MapCustomerOwnedIpOnLaunch" => accept_only(
            name,
            flag(input.map_customer_owned_ip_on_launch.as_ref())?,
            false,
            NO_OUTPOSTS,
        )?,
        "EnableResourceNameDnsARecordOnLaunch" => accept_only(
            name,
            flag(input.enable_resource_name_dns_a_record_on_launch.as_ref())?,
            false,
            IP_NAMES,
        )?,
        "PrivateDnsHostnameTypeOnLaunch" => accept_only(
            name,
            input.private_dns_hostname_type_on_launch.as_deref(),
            Some("ip-name"),
            IP_NAMES,
        )?,
        _ => {
            return Err(Error::InvalidParameterValue(format!(
                "wharf does not support {name}: {NO_OUTPOSTS}"
            )))
        }
    }
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    ec2.store.write(|tx| {
        let mut subnet = load(tx, account, region, &input.subnet_id)?;
        if let Some(on) = map_public {
            subnet.map_public_ip_on_launch = on;
            tx.put(SUBNETS, &scoped_key(account, region, &subnet.id), &subnet)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::Ec2Api;
    use crate::tests::filter;
    use crate::tests::setup;

    #[test]
    fn default_subnets_one_per_zone() {
        let (_dir, ec2, ctx) = setup();
        let net = default_network::ensure(&ec2, &ctx.account_id, &ctx.region).unwrap();
        let subnets = ec2
            .describe_subnets(
                &ctx,
                DescribeSubnetsRequest {
                    filters: Some(vec![filter("vpc-id", &[net.vpc_id.as_str()])]),
                    ..Default::default()
                },
            )
            .unwrap()
            .subnets
            .unwrap();
        assert_eq!(subnets.len(), 3);
        let mut by_zone: Vec<(String, String, String)> = subnets
            .iter()
            .map(|s| {
                assert_eq!(s.default_for_az, Some(true));
                assert_eq!(s.map_public_ip_on_launch, Some(true));
                assert_eq!(s.available_ip_address_count, Some(4091));
                assert_eq!(s.state.as_deref(), Some("available"));
                let id = s.subnet_id.clone().unwrap();
                assert_eq!(
                    s.subnet_arn.clone().unwrap(),
                    format!("arn:aws:ec2:us-east-1:123456789012:subnet/{id}")
                );
                (
                    s.availability_zone.clone().unwrap(),
                    s.availability_zone_id.clone().unwrap(),
                    s.cidr_block.clone().unwrap(),
                )
            })
            .collect();
        by_zone.sort();
        assert_eq!(
            by_zone,
            [
                (
                    "us-east-1a".to_string(),
                    "use1-az1".to_string(),
                    "172.31.0.0/20".to_string()
                ),
                (
                    "us-east-1b".into(),
                    "use1-az2".into(),
                    "172.31.16.0/20".into()
                ),
                (
                    "us-east-1c".into(),
                    "use1-az3".into(),
                    "172.31.32.0/20".into()
                ),
            ]
        );

        let in_b = ec2
            .describe_subnets(
                &ctx,
                DescribeSubnetsRequest {
                    filters: Some(vec![
                        filter("availability-zone", &["us-east-1b"]),
                        filter("default-for-az", &["true"]),
                    ]),
                    ..Default::default()
                },
            )
            .unwrap()
            .subnets
            .unwrap();
        assert_eq!(in_b.len(), 1);
        assert_eq!(in_b[0].cidr_block.as_deref(), Some("172.31.16.0/20"));

        let one = net.subnet_ids[0].clone();
        let got = ec2
            .describe_subnets(
                &ctx,
                DescribeSubnetsRequest {
                    subnet_ids: Some(vec![one.clone()]),
                    ..Default::default()
                },
            )
            .unwrap()
            .subnets
            .unwrap();
        assert_eq!(got[0].subnet_id, Some(one));
        let err = ec2
            .describe_subnets(
                &ctx,
                DescribeSubnetsRequest {
                    subnet_ids: Some(vec!["subnet-nope".into()]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidSubnetIDNotFound("The subnet ID 'subnet-nope' does not exist".into())
        );
    }

    fn new_vpc(ec2: &Ec2, ctx: &RequestContext, cidr: &str) -> String {
        ec2.create_vpc(
            ctx,
            crate::generated::CreateVpcRequest {
                cidr_block: Some(cidr.into()),
                ..Default::default()
            },
        )
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap()
    }

    fn new_subnet(
        ec2: &Ec2,
        ctx: &RequestContext,
        vpc: &str,
        cidr: &str,
        zone: Option<&str>,
    ) -> Result<Subnet, Error> {
        ec2.create_subnet(
            ctx,
            CreateSubnetRequest {
                vpc_id: vpc.into(),
                cidr_block: Some(cidr.into()),
                availability_zone: zone.map(String::from),
                ..Default::default()
            },
        )
        .map(|r| r.subnet.unwrap())
    }

    fn interface_in(ec2: &Ec2, subnet: &str, ip: &str) -> String {
        crate::network_interfaces::create(
            ec2,
            wharf_core::NewNetworkInterface {
                account: "123456789012".into(),
                region: "us-east-1".into(),
                subnet_id: subnet.into(),
                private_ip: ip.into(),
                mac_address: "0e:00:00:00:00:01".into(),
                public_ip: None,
                security_groups: Vec::new(),
                description: "test".into(),
            },
        )
        .unwrap()
    }

    #[test]
    fn create_subnet_checks_range_overlap_and_zone() {
        let (_dir, ec2, ctx) = setup();
        let vpc = new_vpc(&ec2, &ctx, "10.0.0.0/16");
        let first = new_subnet(&ec2, &ctx, &vpc, "10.0.1.0/24", Some("us-east-1b")).unwrap();
        assert_eq!(first.availability_zone.as_deref(), Some("us-east-1b"));
        assert_eq!(first.availability_zone_id.as_deref(), Some("use1-az2"));
        assert_eq!(first.map_public_ip_on_launch, Some(false));
        assert_eq!(first.default_for_az, Some(false));
        assert_eq!(first.available_ip_address_count, Some(251));
        assert_eq!(
            new_subnet(&ec2, &ctx, &vpc, "10.1.0.0/24", None),
            Err(Error::InvalidSubnetRange(
                "The CIDR '10.1.0.0/24' is invalid.".into()
            ))
        );
        assert_eq!(
            new_subnet(&ec2, &ctx, &vpc, "10.0.1.0/24", None),
            Err(Error::InvalidSubnetConflict(
                "The CIDR '10.0.1.0/24' conflicts with another subnet".into()
            ))
        );
        assert_eq!(
            new_subnet(&ec2, &ctx, "vpc-0000", "10.0.2.0/24", None),
            Err(Error::InvalidVpcIDNotFound(
                "The vpc ID 'vpc-0000' does not exist".into()
            ))
        );
        let bad_zone = new_subnet(&ec2, &ctx, &vpc, "10.0.2.0/24", Some("us-east-1z"));
        assert!(
            matches!(&bad_zone, Err(Error::InvalidParameterValue(m)) if m.contains("us-east-1a, us-east-1b, us-east-1c")),
            "{bad_zone:?}"
        );
        let by_id = ec2
            .create_subnet(
                &ctx,
                CreateSubnetRequest {
                    vpc_id: vpc.clone(),
                    cidr_block: Some("10.0.2.0/24".into()),
                    availability_zone_id: Some("use1-az3".into()),
                    ..Default::default()
                },
            )
            .unwrap()
            .subnet
            .unwrap();
        assert_eq!(by_id.availability_zone.as_deref(), Some("us-east-1c"));
        let unplaced = new_subnet(&ec2, &ctx, &vpc, "10.0.3.0/24", None).unwrap();
        assert_eq!(
            unplaced.availability_zone.as_deref(),
            Some("us-east-1a"),
            "the zone with the fewest subnets"
        );
        // The same range in another VPC is fine.
        let other = new_vpc(&ec2, &ctx, "10.0.0.0/16");
        assert!(new_subnet(&ec2, &ctx, &other, "10.0.1.0/24", None).is_ok());
    }

    #[test]
    fn available_addresses_go_down_as_interfaces_take_them() {
        let (_dir, ec2, ctx) = setup();
        let vpc = new_vpc(&ec2, &ctx, "10.0.0.0/16");
        let subnet = new_subnet(&ec2, &ctx, &vpc, "10.0.1.0/28", None)
            .unwrap()
            .subnet_id
            .unwrap();
        let count = || {
            ec2.describe_subnets(
                &ctx,
                DescribeSubnetsRequest {
                    subnet_ids: Some(vec![subnet.clone()]),
                    ..Default::default()
                },
            )
            .unwrap()
            .subnets
            .unwrap()[0]
                .available_ip_address_count
        };
        assert_eq!(count(), Some(11));
        let eni = interface_in(&ec2, &subnet, "10.0.1.4");
        interface_in(&ec2, &subnet, "10.0.1.5");
        assert_eq!(count(), Some(9));
        let by_filter = ec2
            .describe_subnets(
                &ctx,
                DescribeSubnetsRequest {
                    filters: Some(vec![filter("available-ip-address-count", &["9"])]),
                    ..Default::default()
                },
            )
            .unwrap()
            .subnets
            .unwrap();
        assert_eq!(by_filter.len(), 1);
        assert_eq!(
            ec2.delete_subnet(
                &ctx,
                DeleteSubnetRequest {
                    subnet_id: subnet.clone(),
                    dry_run: None
                }
            ),
            Err(Error::DependencyViolation(format!(
                "The subnet '{subnet}' has dependencies and cannot be deleted."
            )))
        );
        crate::network_interfaces::delete(&ec2, "123456789012", "us-east-1", &eni).unwrap();
        assert_eq!(count(), Some(10));
    }

    #[test]
    fn subnet_attributes_and_delete() {
        let (_dir, ec2, ctx) = setup();
        let vpc = new_vpc(&ec2, &ctx, "10.0.0.0/16");
        let subnet = new_subnet(&ec2, &ctx, &vpc, "10.0.1.0/24", None)
            .unwrap()
            .subnet_id
            .unwrap();
        let on = |v: bool| Some(AttributeBooleanValue { value: Some(v) });
        ec2.modify_subnet_attribute(
            &ctx,
            ModifySubnetAttributeRequest {
                subnet_id: subnet.clone(),
                map_public_ip_on_launch: on(true),
                ..Default::default()
            },
        )
        .unwrap();
        let public = ec2
            .describe_subnets(
                &ctx,
                DescribeSubnetsRequest {
                    filters: Some(vec![
                        filter("map-public-ip-on-launch", &["true"]),
                        filter("vpc-id", &[&vpc]),
                    ]),
                    ..Default::default()
                },
            )
            .unwrap()
            .subnets
            .unwrap();
        assert_eq!(public.len(), 1);
        let modify =
            |request: ModifySubnetAttributeRequest| ec2.modify_subnet_attribute(&ctx, request);
        assert!(modify(ModifySubnetAttributeRequest {
            subnet_id: subnet.clone(),
            enable_dns64: on(false),
            ..Default::default()
        })
        .is_ok());
        assert!(matches!(
            modify(ModifySubnetAttributeRequest {
                subnet_id: subnet.clone(),
                assign_ipv6_address_on_creation: on(true),
                ..Default::default()
            }),
            Err(Error::InvalidParameterValue(m)) if m.contains("AssignIpv6AddressOnCreation")
        ));
        assert!(matches!(
            modify(ModifySubnetAttributeRequest {
                subnet_id: subnet.clone(),
                map_public_ip_on_launch: on(true),
                enable_dns64: on(false),
                ..Default::default()
            }),
            Err(Error::InvalidParameterCombination(_))
        ));
        assert!(matches!(
            modify(ModifySubnetAttributeRequest {
                subnet_id: "subnet-0000".into(),
                map_public_ip_on_launch: on(true),
                ..Default::default()
            }),
            Err(Error::InvalidSubnetIDNotFound(_))
        ));
        ec2.delete_subnet(
            &ctx,
            DeleteSubnetRequest {
                subnet_id: subnet.clone(),
                dry_run: None,
            },
        )
        .unwrap();
        assert!(matches!(
            ec2.delete_subnet(
                &ctx,
                DeleteSubnetRequest {
                    subnet_id: subnet,
                    dry_run: None
                }
            ),
            Err(Error::InvalidSubnetIDNotFound(_))
        ));
    }

    #[test]
    fn two_hundred_subnets_per_vpc() {
        let (_dir, ec2, ctx) = setup();
        let vpc = new_vpc(&ec2, &ctx, "10.0.0.0/16");
        for i in 0..200 {
            new_subnet(&ec2, &ctx, &vpc, &format!("10.0.{i}.0/24"), None).unwrap();
        }
        assert!(matches!(
            new_subnet(&ec2, &ctx, &vpc, "10.0.250.0/24", None),
            Err(Error::SubnetLimitExceeded(_))
        ));
    }

    #[test]
    fn describe_subnets_paginates() {
        let (_dir, ec2, ctx) = setup();
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = ec2
                .describe_subnets(
                    &ctx,
                    DescribeSubnetsRequest {
                        max_results: Some(2),
                        next_token: token.clone(),
                        ..Default::default()
                    },
                )
                .unwrap();
            seen.extend(
                page.subnets
                    .unwrap()
                    .into_iter()
                    .map(|s| s.subnet_id.unwrap()),
            );
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen.len(), 3);
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted);
        assert!(ec2
            .describe_subnets(
                &ctx,
                DescribeSubnetsRequest {
                    next_token: Some("!!".into()),
                    max_results: Some(5),
                    ..Default::default()
                }
            )
            .is_err());
    }
}
