//! Subnets: DescribeSubnets, and the subnet lookups other services use to place a task's
//! network interface ([`SubnetInfo`]). wharf has only the default subnets, one per zone (see
//! [`crate::default_network`]).

use crate::checks::check_dry_run;
use crate::default_network;
use crate::filters::{bool_value, FilterSet};
use crate::generated::{
    BlockPublicAccessStates, DescribeSubnetsRequest, DescribeSubnetsResult, Error,
    PrivateDnsNameOptionsOnLaunch, Subnet,
};
use crate::generated::{
    CreateSubnetRequest, CreateSubnetResult, DeleteSubnetRequest, ModifySubnetAttributeRequest,
};
use crate::paging::page;
use crate::records::{scope_prefix, scoped_key, SubnetRecord, SUBNETS};
use crate::tags;
use crate::Ec2;
use wharf_core::{PlacementSubnet, RequestContext};
use wharf_store::StoreError;

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
];

/// Every subnet of `account` in `region`, in id order, the defaults created if needed.
fn all(ec2: &Ec2, account: &str, region: &str) -> Result<Vec<SubnetRecord>, StoreError> {
    default_network::ensure(ec2, account, region)?;
    let rows: Vec<(String, SubnetRecord)> = ec2
        .store
        .read(|tx| tx.list(SUBNETS, &scope_prefix(account, region)))?;
    Ok(rows.into_iter().map(|(_, s)| s).collect())
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
            return Err(Error::InvalidSubnetIDNotFound(format!(
                "The subnet ID '{missing}' does not exist"
            )));
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

// ---- being built (issue 14) ----

/// Being built.
pub fn create(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: CreateSubnetRequest,
) -> Result<CreateSubnetResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn delete(_ec2: &Ec2, _ctx: &RequestContext, _input: DeleteSubnetRequest) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn modify_attribute(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: ModifySubnetAttributeRequest,
) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}
