//! The default network of each account and region: the default VPC (172.31.0.0/16), one default
//! subnet per availability zone, the zones themselves, and the Describe operations over them.
//!
//! AWS gives every account a default VPC in every region; wharf creates it lazily, the first time
//! anything in that account and region touches the network, in one write transaction (so two
//! concurrent first requests cannot create two). Ids come from the injected generator and are
//! stored, so they stay the same across restarts. The zones are `<region>a`, `b` and `c`, with
//! zone ids in AWS's `use1-az1` form.

use crate::filters::{bool_value, FilterSet};
use crate::generated::{
    AvailabilityZone, BlockPublicAccessStates, DescribeAvailabilityZonesRequest,
    DescribeAvailabilityZonesResult, DescribeSubnetsRequest, DescribeSubnetsResult,
    DescribeVpcsRequest, DescribeVpcsResult, Error, PrivateDnsNameOptionsOnLaunch, Subnet, Vpc,
    VpcCidrBlockAssociation, VpcCidrBlockState,
};
use crate::records::{
    default_network_key, scope_prefix, scoped_key, DefaultNetwork, GroupRecord, SubnetRecord,
    VpcRecord, DEFAULT_NETWORKS, GROUPS, SUBNETS, VPCS,
};
use crate::security_groups;
use crate::tags;
use crate::{check_dry_run, page, Ec2};
use wharf_core::RequestContext;
use wharf_store::{StoreError, Tx};

/// The default VPC's IPv4 range, the same in every AWS region.
const DEFAULT_VPC_CIDR: &str = "172.31.0.0/16";
/// The default subnets' ranges, one per zone.
const DEFAULT_SUBNET_CIDRS: [&str; 3] = ["172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"];
/// Usable addresses in a /20: 4096 minus the 5 AWS reserves in every subnet.
const DEFAULT_SUBNET_FREE_IPS: i32 = 4091;
/// Zone letters of the zones wharf offers in every region.
const ZONE_LETTERS: [char; 3] = ['a', 'b', 'c'];

/// An availability zone: `us-east-1a` / `use1-az1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Zone {
    pub name: String,
    pub id: String,
}

/// AWS's short code of a region, the prefix of its zone ids: `us-east-1` -> `use1`,
/// `ap-southeast-2` -> `apse2`, `eu-central-1` -> `euc1`.
pub(crate) fn region_code(region: &str) -> String {
    let parts: Vec<&str> = region.split('-').collect();
    let mut code = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 || part.bytes().all(|b| b.is_ascii_digit()) {
            code.push_str(part);
            continue;
        }
        let short = match *part {
            "east" => "e",
            "west" => "w",
            "north" => "n",
            "south" => "s",
            "central" => "c",
            "northeast" => "ne",
            "northwest" => "nw",
            "southeast" => "se",
            "southwest" => "sw",
            "gov" => "g",
            other => other.get(..1).unwrap_or(""),
        };
        code.push_str(short);
    }
    code
}

/// The zones wharf offers in `region`.
pub(crate) fn zones(region: &str) -> Vec<Zone> {
    let code = region_code(region);
    ZONE_LETTERS
        .iter()
        .enumerate()
        .map(|(i, letter)| Zone {
            name: format!("{region}{letter}"),
            id: format!("{code}-az{}", i + 1),
        })
        .collect()
}

impl VpcRecord {
    fn to_wire(&self) -> Vpc {
        Vpc {
            owner_id: Some(self.owner_id.clone()),
            instance_tenancy: Some("default".into()),
            cidr_block_association_set: Some(vec![VpcCidrBlockAssociation {
                association_id: Some(self.cidr_association_id.clone()),
                cidr_block: Some(self.cidr_block.clone()),
                cidr_block_state: Some(VpcCidrBlockState {
                    state: Some("associated".into()),
                    status_message: None,
                }),
            }]),
            is_default: Some(self.is_default),
            tags: tags::to_wire(&self.tags),
            block_public_access_states: Some(BlockPublicAccessStates {
                internet_gateway_block_mode: Some("off".into()),
            }),
            vpc_id: Some(self.id.clone()),
            state: Some("available".into()),
            cidr_block: Some(self.cidr_block.clone()),
            dhcp_options_id: Some(self.dhcp_options_id.clone()),
            ..Vpc::default()
        }
    }

    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "vpc-id" => vec![self.id.clone()],
            "isDefault" | "is-default" => bool_value(self.is_default),
            "cidr" | "cidr-block" | "cidrBlock" | "cidr-block-association.cidr-block" => {
                vec![self.cidr_block.clone()]
            }
            "cidr-block-association.association-id" => vec![self.cidr_association_id.clone()],
            "cidr-block-association.state" => vec!["associated".into()],
            "dhcp-options-id" => vec![self.dhcp_options_id.clone()],
            "owner-id" => vec![self.owner_id.clone()],
            "state" => vec!["available".into()],
            _ => Vec::new(),
        }
    }
}

/// Filter names `DescribeVpcs` accepts besides the tag filters.
const VPC_FILTERS: &[&str] = &[
    "vpc-id",
    "isDefault",
    "is-default",
    "cidr",
    "cidr-block",
    "cidrBlock",
    "cidr-block-association.cidr-block",
    "cidr-block-association.association-id",
    "cidr-block-association.state",
    "dhcp-options-id",
    "owner-id",
    "state",
];

impl SubnetRecord {
    pub(crate) fn to_wire(&self) -> Subnet {
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

/// Filter names `DescribeAvailabilityZones` accepts.
const ZONE_FILTERS: &[&str] = &[
    "zone-name",
    "zone-id",
    "region-name",
    "state",
    "zone-type",
    "group-name",
    "opt-in-status",
];

impl Ec2 {
    /// The default network of `account` in `region`, created on first use.
    pub(crate) fn ensure_defaults(
        &self,
        account: &str,
        region: &str,
    ) -> Result<DefaultNetwork, StoreError> {
        let key = default_network_key(account, region);
        if let Some(existing) = self.store.read(|tx| tx.get(DEFAULT_NETWORKS, &key))? {
            return Ok(existing);
        }
        self.store.write(|tx| {
            if let Some(existing) = tx.get(DEFAULT_NETWORKS, &key)? {
                return Ok(existing);
            }
            let network = self.create_default_network(tx, account, region)?;
            tx.put(DEFAULT_NETWORKS, &key, &network)?;
            tracing::info!(account, region, vpc = %network.vpc_id, "created the default vpc");
            Ok(network)
        })
    }

    fn create_default_network(
        &self,
        tx: &Tx<'_>,
        account: &str,
        region: &str,
    ) -> Result<DefaultNetwork, StoreError> {
        let vpc = VpcRecord {
            id: format!("vpc-{}", self.ids.hex(17)),
            cidr_block: DEFAULT_VPC_CIDR.into(),
            cidr_association_id: format!("vpc-cidr-assoc-{}", self.ids.hex(17)),
            dhcp_options_id: format!("dopt-{}", self.ids.hex(17)),
            is_default: true,
            owner_id: account.into(),
            tags: Vec::new(),
        };
        tx.put(VPCS, &scoped_key(account, region, &vpc.id), &vpc)?;
        let mut subnet_ids = Vec::new();
        for (zone, cidr) in zones(region).into_iter().zip(DEFAULT_SUBNET_CIDRS) {
            let id = format!("subnet-{}", self.ids.hex(17));
            let subnet = SubnetRecord {
                arn: format!("arn:aws:ec2:{region}:{account}:subnet/{id}"),
                id,
                vpc_id: vpc.id.clone(),
                cidr_block: cidr.into(),
                availability_zone: zone.name,
                availability_zone_id: zone.id,
                default_for_az: true,
                map_public_ip_on_launch: true,
                available_ip_address_count: DEFAULT_SUBNET_FREE_IPS,
                owner_id: account.into(),
                tags: Vec::new(),
            };
            tx.put(SUBNETS, &scoped_key(account, region, &subnet.id), &subnet)?;
            subnet_ids.push(subnet.id);
        }
        let group: GroupRecord =
            security_groups::default_group(self.ids.as_ref(), &vpc.id, account);
        tx.put(GROUPS, &scoped_key(account, region, &group.id), &group)?;
        Ok(DefaultNetwork {
            vpc_id: vpc.id,
            subnet_ids,
            security_group_id: group.id,
        })
    }

    /// Every subnet of `account` in `region`, in id order, the defaults created if needed.
    pub(crate) fn all_subnets(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Vec<SubnetRecord>, StoreError> {
        self.ensure_defaults(account, region)?;
        let rows: Vec<(String, SubnetRecord)> = self
            .store
            .read(|tx| tx.list(SUBNETS, &scope_prefix(account, region)))?;
        Ok(rows.into_iter().map(|(_, s)| s).collect())
    }

    pub(crate) fn describe_vpcs_impl(
        &self,
        ctx: &RequestContext,
        input: DescribeVpcsRequest,
    ) -> Result<DescribeVpcsResult, Error> {
        check_dry_run(input.dry_run)?;
        let filters = FilterSet::parse(input.filters.as_deref(), VPC_FILTERS)?;
        self.ensure_defaults(&ctx.account_id, &ctx.region)?;
        let rows: Vec<(String, VpcRecord)> = self
            .store
            .read(|tx| tx.list(VPCS, &scope_prefix(&ctx.account_id, &ctx.region)))?;
        let mut vpcs: Vec<VpcRecord> = rows.into_iter().map(|(_, v)| v).collect();
        if let Some(ids) = input.vpc_ids.as_deref().filter(|ids| !ids.is_empty()) {
            if let Some(missing) = ids.iter().find(|id| !vpcs.iter().any(|v| v.id == **id)) {
                return Err(Error::InvalidVpcIDNotFound(format!(
                    "The vpc ID '{missing}' does not exist"
                )));
            }
            vpcs.retain(|v| ids.contains(&v.id));
        }
        vpcs.retain(|v| filters.matches(|name| v.field(name), &v.tags));
        let (vpcs, next_token) = page(
            vpcs,
            |v| v.id.clone(),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        Ok(DescribeVpcsResult {
            vpcs: Some(vpcs.iter().map(VpcRecord::to_wire).collect()),
            next_token,
        })
    }

    pub(crate) fn describe_subnets_impl(
        &self,
        ctx: &RequestContext,
        input: DescribeSubnetsRequest,
    ) -> Result<DescribeSubnetsResult, Error> {
        check_dry_run(input.dry_run)?;
        let filters = FilterSet::parse(input.filters.as_deref(), SUBNET_FILTERS)?;
        let mut subnets = self.all_subnets(&ctx.account_id, &ctx.region)?;
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

    pub(crate) fn describe_availability_zones_impl(
        &self,
        ctx: &RequestContext,
        input: DescribeAvailabilityZonesRequest,
    ) -> Result<DescribeAvailabilityZonesResult, Error> {
        check_dry_run(input.dry_run)?;
        let filters = FilterSet::parse(input.filters.as_deref(), ZONE_FILTERS)?;
        let region = ctx.region.as_str();
        let mut zones = zones(region);
        if let Some(names) = input.zone_names.as_deref().filter(|n| !n.is_empty()) {
            if let Some(bad) = names.iter().find(|n| !zones.iter().any(|z| z.name == **n)) {
                return Err(Error::InvalidParameterValue(format!(
                    "Invalid availability zone: [{bad}]"
                )));
            }
            zones.retain(|z| names.contains(&z.name));
        }
        if let Some(ids) = input.zone_ids.as_deref().filter(|n| !n.is_empty()) {
            if let Some(bad) = ids.iter().find(|n| !zones.iter().any(|z| z.id == **n)) {
                return Err(Error::InvalidParameterValue(format!(
                    "Invalid availability zone id: [{bad}]"
                )));
            }
            zones.retain(|z| ids.contains(&z.id));
        }
        let field = |zone: &Zone, name: &str| -> Vec<String> {
            match name {
                "zone-name" => vec![zone.name.clone()],
                "zone-id" => vec![zone.id.clone()],
                "region-name" | "group-name" => vec![region.to_string()],
                "state" => vec!["available".into()],
                "zone-type" => vec!["availability-zone".into()],
                "opt-in-status" => vec!["opt-in-not-required".into()],
                _ => Vec::new(),
            }
        };
        zones.retain(|z| filters.matches(|name| field(z, name), &[]));
        Ok(DescribeAvailabilityZonesResult {
            availability_zones: Some(
                zones
                    .into_iter()
                    .map(|z| AvailabilityZone {
                        opt_in_status: Some("opt-in-not-required".into()),
                        messages: Some(Vec::new()),
                        region_name: Some(region.to_string()),
                        zone_name: Some(z.name),
                        zone_id: Some(z.id),
                        group_name: Some(region.to_string()),
                        network_border_group: Some(region.to_string()),
                        zone_type: Some("availability-zone".into()),
                        state: Some("available".into()),
                        ..AvailabilityZone::default()
                    })
                    .collect(),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{Ec2Api, Filter};
    use crate::tests::setup;

    fn filter(name: &str, values: &[&str]) -> Filter {
        Filter {
            name: Some(name.into()),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn region_codes_follow_aws() {
        assert_eq!(region_code("us-east-1"), "use1");
        assert_eq!(region_code("eu-west-2"), "euw2");
        assert_eq!(region_code("ap-southeast-2"), "apse2");
        assert_eq!(region_code("eu-central-1"), "euc1");
        assert_eq!(region_code("ap-northeast-1"), "apne1");
        assert_eq!(region_code("us-gov-west-1"), "usgw1");
        let z = zones("us-east-1");
        assert_eq!(
            z[0],
            Zone {
                name: "us-east-1a".into(),
                id: "use1-az1".into()
            }
        );
        assert_eq!(z[2].name, "us-east-1c");
    }

    #[test]
    fn default_vpc_is_created_once_and_stays() {
        let (_dir, ec2, ctx) = setup();
        let by_filter = ec2
            .describe_vpcs(
                &ctx,
                DescribeVpcsRequest {
                    filters: Some(vec![filter("isDefault", &["true"])]),
                    ..Default::default()
                },
            )
            .unwrap()
            .vpcs
            .unwrap();
        assert_eq!(by_filter.len(), 1);
        let vpc = &by_filter[0];
        assert_eq!(vpc.cidr_block.as_deref(), Some("172.31.0.0/16"));
        assert_eq!(vpc.is_default, Some(true));
        assert_eq!(vpc.state.as_deref(), Some("available"));
        assert_eq!(vpc.owner_id.as_deref(), Some("123456789012"));
        let id = vpc.vpc_id.clone().unwrap();
        assert!(id.starts_with("vpc-") && id.len() == 21);
        assert!(vpc.dhcp_options_id.as_deref().unwrap().starts_with("dopt-"));
        assert_eq!(
            vpc.cidr_block_association_set.as_ref().unwrap()[0]
                .cidr_block
                .as_deref(),
            Some("172.31.0.0/16")
        );

        let again = ec2
            .describe_vpcs(&ctx, DescribeVpcsRequest::default())
            .unwrap()
            .vpcs
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].vpc_id.as_deref(), Some(id.as_str()));

        let other_region = RequestContext::for_tests("eu-west-1", "123456789012", ctx.now);
        let there = ec2
            .describe_vpcs(&other_region, DescribeVpcsRequest::default())
            .unwrap()
            .vpcs
            .unwrap();
        assert_ne!(there[0].vpc_id, Some(id));
    }

    #[test]
    fn describe_vpcs_by_id_and_filters() {
        let (_dir, ec2, ctx) = setup();
        let net = ec2.ensure_defaults(&ctx.account_id, &ctx.region).unwrap();
        let got = ec2
            .describe_vpcs(
                &ctx,
                DescribeVpcsRequest {
                    vpc_ids: Some(vec![net.vpc_id.clone()]),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(got.vpcs.unwrap().len(), 1);
        let err = ec2
            .describe_vpcs(
                &ctx,
                DescribeVpcsRequest {
                    vpc_ids: Some(vec!["vpc-0000".into()]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidVpcIDNotFound("The vpc ID 'vpc-0000' does not exist".into())
        );
        for (name, value, expected) in [
            ("isDefault", "false", 0),
            ("cidr", "172.31.0.0/16", 1),
            ("cidr-block", "172.31.*", 1),
            ("state", "available", 1),
            ("vpc-id", "vpc-*", 1),
            ("tag:Name", "*", 0),
            ("tag-key", "*", 0),
        ] {
            let vpcs = ec2
                .describe_vpcs(
                    &ctx,
                    DescribeVpcsRequest {
                        filters: Some(vec![filter(name, &[value])]),
                        ..Default::default()
                    },
                )
                .unwrap()
                .vpcs
                .unwrap();
            assert_eq!(vpcs.len(), expected, "{name}={value}");
        }
        let err = ec2
            .describe_vpcs(
                &ctx,
                DescribeVpcsRequest {
                    filters: Some(vec![filter("bogus", &["x"])]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidParameterValue("The filter 'bogus' is invalid".into())
        );
    }

    #[test]
    fn default_subnets_one_per_zone() {
        let (_dir, ec2, ctx) = setup();
        let net = ec2.ensure_defaults(&ctx.account_id, &ctx.region).unwrap();
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

    #[test]
    fn availability_zones() {
        let (_dir, ec2, ctx) = setup();
        let all = ec2
            .describe_availability_zones(&ctx, DescribeAvailabilityZonesRequest::default())
            .unwrap()
            .availability_zones
            .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].zone_name.as_deref(), Some("us-east-1a"));
        assert_eq!(all[0].zone_id.as_deref(), Some("use1-az1"));
        assert_eq!(all[0].state.as_deref(), Some("available"));
        let one = ec2
            .describe_availability_zones(
                &ctx,
                DescribeAvailabilityZonesRequest {
                    filters: Some(vec![filter("zone-id", &["use1-az2"])]),
                    ..Default::default()
                },
            )
            .unwrap()
            .availability_zones
            .unwrap();
        assert_eq!(one[0].zone_name.as_deref(), Some("us-east-1b"));
        assert!(ec2
            .describe_availability_zones(
                &ctx,
                DescribeAvailabilityZonesRequest {
                    zone_names: Some(vec!["us-east-1z".into()]),
                    ..Default::default()
                },
            )
            .is_err());
    }

    #[test]
    fn dry_run_is_refused_with_dry_run_operation() {
        let (_dir, ec2, ctx) = setup();
        let err = ec2
            .describe_vpcs(
                &ctx,
                DescribeVpcsRequest {
                    dry_run: Some(true),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(matches!(err, Error::DryRunOperation(_)));
    }
}
