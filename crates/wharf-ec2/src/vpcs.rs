//! VPCs: CreateVpc, DeleteVpc, DescribeVpcs, Modify/DescribeVpcAttribute, and the VPC lookup
//! the load balancer uses ([`wharf_core::NetworkInterfaces::vpc`]). Each account has its
//! default VPC in every region (see [`crate::default_network`]) and up to five of its own; a
//! VPC comes with its main route table, default network ACL and `default` security group
//! ([`crate::companions`]) and goes with them once nothing else uses it.

use crate::checks::{check_dry_run, refuse_unsupported};
use crate::filters::{bool_value, FilterSet};
use crate::generated::{
    AttributeBooleanValue, BlockPublicAccessStates, CreateVpcRequest, CreateVpcResult,
    DeleteVpcRequest, DescribeVpcAttributeRequest, DescribeVpcAttributeResult, DescribeVpcsRequest,
    DescribeVpcsResult, Error, ModifyVpcAttributeRequest, Vpc, VpcCidrBlockAssociation,
    VpcCidrBlockState,
};
use crate::paging::page;
use crate::records::{
    scope_prefix, scoped_key, GroupRecord, InterfaceRecord, InternetGatewayRecord,
    NatGatewayRecord, NetworkAclRecord, RouteTableRecord, SubnetRecord, VpcEndpointRecord,
    VpcRecord, DEFAULT_GROUP_NAME, GROUPS, INTERFACES, INTERNET_GATEWAYS, NAT_GATEWAYS,
    NETWORK_ACLS, ROUTE_TABLES, SUBNETS, VPCS, VPC_ENDPOINTS,
};
use crate::Ec2;
use crate::{cidr_rules, companions, default_network, single_attribute, tags};
use wharf_core::{RequestContext, VpcInfo};
use wharf_store::{StoreError, Tx};

impl VpcRecord {
    fn to_wire(&self) -> Vpc {
        Vpc {
            owner_id: Some(self.owner_id.clone()),
            instance_tenancy: Some(self.instance_tenancy.clone()),
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
    // VPCs have no IPv6 ranges in wharf: these filters are accepted and match nothing.
    "ipv6-cidr-block-association.ipv6-cidr-block",
    "ipv6-cidr-block-association.ipv6-pool",
    "ipv6-cidr-block-association.association-id",
    "ipv6-cidr-block-association.state",
];

/// DescribeVpcs.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeVpcsRequest,
) -> Result<DescribeVpcsResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), VPC_FILTERS)?;
    default_network::ensure(ec2, &ctx.account_id, &ctx.region)?;
    let rows: Vec<(String, VpcRecord)> = ec2
        .store
        .read(|tx| tx.list(VPCS, &scope_prefix(&ctx.account_id, &ctx.region)))?;
    let mut vpcs: Vec<VpcRecord> = rows.into_iter().map(|(_, v)| v).collect();
    if let Some(ids) = input.vpc_ids.as_deref().filter(|ids| !ids.is_empty()) {
        if let Some(missing) = ids.iter().find(|id| !vpcs.iter().any(|v| v.id == **id)) {
            return Err(not_found(missing));
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

/// The VPC `id` of `account` in `region` with its default security group, if it exists.
pub fn info(
    ec2: &Ec2,
    account: &str,
    region: &str,
    id: &str,
) -> Result<Option<VpcInfo>, StoreError> {
    default_network::ensure(ec2, account, region)?;
    ec2.store.read(|tx| {
        let Some(vpc) = tx.get(VPCS, &scoped_key(account, region, id))? else {
            return Ok(None);
        };
        let default_security_group =
            default_network::default_group(tx, account, region, &vpc.id)?.map(|g| g.id);
        Ok(Some(VpcInfo {
            id: vpc.id,
            cidr_block: vpc.cidr_block,
            default_security_group,
        }))
    })
}

/// Most VPCs an account may create in a region, besides its default VPC.
const MAX_VPCS: usize = 5;

/// The tenancies CreateVpc accepts (`host` is for instances AWS places on dedicated hosts, and
/// AWS refuses it for a VPC).
const TENANCIES: &[&str] = &["default", "dedicated"];

/// AWS's error for a VPC id that does not exist.
pub fn not_found(id: &str) -> Error {
    Error::InvalidVpcIDNotFound(format!("The vpc ID '{id}' does not exist"))
}

/// The VPC `id` of `account` in `region`, or AWS's `InvalidVpcID.NotFound`.
pub fn load(tx: &Tx<'_>, account: &str, region: &str, id: &str) -> Result<VpcRecord, Error> {
    tx.get(VPCS, &scoped_key(account, region, id))?
        .ok_or_else(|| not_found(id))
}

/// Refuses what CreateVpc takes on AWS but wharf does not serve: IPv6 ranges and IPAM pools.
fn refuse_unserved(input: &CreateVpcRequest) -> Result<(), Error> {
    let unserved = [
        (
            "AmazonProvidedIpv6CidrBlock",
            input.amazon_provided_ipv6_cidr_block == Some(true),
        ),
        ("Ipv6CidrBlock", input.ipv6_cidr_block.is_some()),
        ("Ipv6Pool", input.ipv6_pool.is_some()),
        ("Ipv6IpamPoolId", input.ipv6_ipam_pool_id.is_some()),
        ("Ipv6NetmaskLength", input.ipv6_netmask_length.is_some()),
        ("Ipv4IpamPoolId", input.ipv4_ipam_pool_id.is_some()),
        ("Ipv4NetmaskLength", input.ipv4_netmask_length.is_some()),
    ];
    refuse_unsupported(&unserved, "VPCs have one IPv4 range, given as CidrBlock.")
}

/// CreateVpc: the VPC with its main route table, default network ACL and `default` security
/// group, in one transaction.
pub fn create(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: CreateVpcRequest,
) -> Result<CreateVpcResult, Error> {
    check_dry_run(input.dry_run)?;
    refuse_unserved(&input)?;
    let cidr = input.cidr_block.as_deref().ok_or_else(|| {
        Error::MissingParameter("Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.".into())
    })?;
    let range = cidr_rules::vpc_block(cidr)?;
    let tenancy = input.instance_tenancy.as_deref().unwrap_or("default");
    if !TENANCIES.contains(&tenancy) {
        return Err(Error::InvalidParameterValue(format!(
            "Value ({tenancy}) for parameter instanceTenancy is invalid. Supported values: {}.",
            TENANCIES.join(", ")
        )));
    }
    let tags = tags::from_specifications(input.tag_specifications.as_deref(), "vpc")?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let ids = ec2.ids.as_ref();
    let vpc = VpcRecord {
        id: format!("vpc-{}", ids.hex(17)),
        cidr_block: range.to_string(),
        cidr_association_id: format!("vpc-cidr-assoc-{}", ids.hex(17)),
        dhcp_options_id: format!("dopt-{}", ids.hex(17)),
        is_default: false,
        owner_id: account.into(),
        tags,
        enable_dns_support: true,
        enable_dns_hostnames: false,
        enable_network_address_usage_metrics: false,
        instance_tenancy: tenancy.into(),
    };
    ec2.store.write(|tx| {
        let existing: Vec<(String, VpcRecord)> = tx.list(VPCS, &scope_prefix(account, region))?;
        if existing.iter().filter(|(_, v)| !v.is_default).count() >= MAX_VPCS {
            return Err(Error::VpcLimitExceeded(
                "The maximum number of VPCs has been reached.".into(),
            ));
        }
        tx.put(VPCS, &scoped_key(account, region, &vpc.id), &vpc)?;
        companions::create(ids, tx, region, &vpc, None)?;
        Ok(())
    })?;
    tracing::info!(vpc = %vpc.id, cidr = %vpc.cidr_block, "created vpc");
    let mut wire = vpc.to_wire();
    wire.state = Some("pending".into());
    Ok(CreateVpcResult { vpc: Some(wire) })
}

/// What still uses VPC `id` (AWS refuses to delete it while anything does).
fn has_dependencies(tx: &Tx<'_>, account: &str, region: &str, id: &str) -> Result<bool, Error> {
    let scope = scope_prefix(account, region);
    let in_vpc = |vpc: &str| vpc == id;
    let subnets: Vec<(String, SubnetRecord)> = tx.list(SUBNETS, &scope)?;
    let gateways: Vec<(String, InternetGatewayRecord)> = tx.list(INTERNET_GATEWAYS, &scope)?;
    let tables: Vec<(String, RouteTableRecord)> = tx.list(ROUTE_TABLES, &scope)?;
    let groups: Vec<(String, GroupRecord)> = tx.list(GROUPS, &scope)?;
    let nats: Vec<(String, NatGatewayRecord)> = tx.list(NAT_GATEWAYS, &scope)?;
    let endpoints: Vec<(String, VpcEndpointRecord)> = tx.list(VPC_ENDPOINTS, &scope)?;
    let interfaces: Vec<(String, InterfaceRecord)> = tx.list(INTERFACES, &scope)?;
    Ok(subnets.iter().any(|(_, s)| in_vpc(&s.vpc_id))
        || gateways
            .iter()
            .any(|(_, g)| g.attached_vpc.as_deref() == Some(id))
        || tables
            .iter()
            .any(|(_, t)| in_vpc(&t.vpc_id) && !t.is_main())
        || groups
            .iter()
            .any(|(_, g)| in_vpc(&g.vpc_id) && g.name != DEFAULT_GROUP_NAME)
        || nats
            .iter()
            .any(|(_, n)| in_vpc(&n.vpc_id) && n.delete_time.is_none())
        || endpoints.iter().any(|(_, e)| in_vpc(&e.vpc_id))
        || interfaces.iter().any(|(_, e)| in_vpc(&e.vpc_id)))
}

/// Removes what [`companions::create`] made with VPC `id`: its main route table, its network
/// ACLs and its `default` security group.
fn delete_companions(tx: &Tx<'_>, account: &str, region: &str, id: &str) -> Result<(), Error> {
    let scope = scope_prefix(account, region);
    let tables: Vec<(String, RouteTableRecord)> = tx.list(ROUTE_TABLES, &scope)?;
    for (key, _) in tables.iter().filter(|(_, t)| t.vpc_id == id) {
        tx.delete(ROUTE_TABLES, key)?;
    }
    let acls: Vec<(String, NetworkAclRecord)> = tx.list(NETWORK_ACLS, &scope)?;
    for (key, _) in acls.iter().filter(|(_, a)| a.vpc_id == id) {
        tx.delete(NETWORK_ACLS, key)?;
    }
    let groups: Vec<(String, GroupRecord)> = tx.list(GROUPS, &scope)?;
    for (key, _) in groups.iter().filter(|(_, g)| g.vpc_id == id) {
        tx.delete(GROUPS, key)?;
    }
    Ok(())
}

/// DeleteVpc: refused while anything uses the VPC; its main route table, default ACL and
/// default group go with it. wharf keeps the default VPC (ECS places tasks in it by default).
pub fn delete(ec2: &Ec2, ctx: &RequestContext, input: DeleteVpcRequest) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let id = input.vpc_id.as_str();
    ec2.store.write(|tx| {
        let vpc = load(tx, account, region, id)?;
        if vpc.is_default {
            return Err(Error::OperationNotPermitted(format!(
                "The default VPC '{id}' cannot be deleted: wharf keeps each region's default VPC."
            )));
        }
        if has_dependencies(tx, account, region, id)? {
            return Err(Error::DependencyViolation(format!(
                "The vpc '{id}' has dependencies and cannot be deleted."
            )));
        }
        delete_companions(tx, account, region, id)?;
        tx.delete(VPCS, &scoped_key(account, region, id))?;
        Ok(())
    })?;
    tracing::info!(vpc = %id, "deleted vpc");
    Ok(())
}

/// The wire names of the attributes Modify/DescribeVpcAttribute know.
const DNS_SUPPORT: &str = "enableDnsSupport";
const DNS_HOSTNAMES: &str = "enableDnsHostnames";
const ADDRESS_USAGE_METRICS: &str = "enableNetworkAddressUsageMetrics";

/// ModifyVpcAttribute: one attribute per call, as AWS requires.
pub fn modify_attribute(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: ModifyVpcAttributeRequest,
) -> Result<(), Error> {
    let name = single_attribute::the_one(&[
        (DNS_SUPPORT, input.enable_dns_support.is_some()),
        (DNS_HOSTNAMES, input.enable_dns_hostnames.is_some()),
        (
            ADDRESS_USAGE_METRICS,
            input.enable_network_address_usage_metrics.is_some(),
        ),
    ])?;
    let given = match name {
        DNS_SUPPORT => input.enable_dns_support.as_ref(),
        DNS_HOSTNAMES => input.enable_dns_hostnames.as_ref(),
        _ => input.enable_network_address_usage_metrics.as_ref(),
    };
    let value = single_attribute::bool_value(given, name)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    ec2.store.write(|tx| {
        let mut vpc = load(tx, account, region, &input.vpc_id)?;
        match name {
            DNS_SUPPORT => vpc.enable_dns_support = value,
            DNS_HOSTNAMES => vpc.enable_dns_hostnames = value,
            _ => vpc.enable_network_address_usage_metrics = value,
        }
        tx.put(VPCS, &scoped_key(account, region, &vpc.id), &vpc)?;
        Ok(())
    })
}

/// DescribeVpcAttribute: the one attribute asked for.
pub fn describe_attribute(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeVpcAttributeRequest,
) -> Result<DescribeVpcAttributeResult, Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let vpc = ec2
        .store
        .read(|tx| load(tx, account, region, &input.vpc_id))?;
    let value = |v: bool| Some(AttributeBooleanValue { value: Some(v) });
    let mut out = DescribeVpcAttributeResult {
        vpc_id: Some(vpc.id.clone()),
        ..Default::default()
    };
    match input.attribute.as_str() {
        DNS_SUPPORT => out.enable_dns_support = value(vpc.enable_dns_support),
        DNS_HOSTNAMES => out.enable_dns_hostnames = value(vpc.enable_dns_hostnames),
        ADDRESS_USAGE_METRICS => {
            out.enable_network_address_usage_metrics =
                value(vpc.enable_network_address_usage_metrics)
        }
        other => {
            return Err(Error::InvalidParameterValue(format!(
                "Value ({other}) for parameter attribute is invalid. Unknown attribute."
            )))
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::Ec2Api;
    use crate::tests::filter;
    use crate::tests::setup;

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
        let net = default_network::ensure(&ec2, &ctx.account_id, &ctx.region).unwrap();
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

    fn create_vpc(ec2: &Ec2, ctx: &RequestContext, cidr: &str) -> Result<Vpc, Error> {
        ec2.create_vpc(
            ctx,
            CreateVpcRequest {
                cidr_block: Some(cidr.into()),
                ..Default::default()
            },
        )
        .map(|r| r.vpc.unwrap())
    }

    fn delete_vpc(ec2: &Ec2, ctx: &RequestContext, id: &str) -> Result<(), Error> {
        ec2.delete_vpc(
            ctx,
            DeleteVpcRequest {
                vpc_id: id.into(),
                dry_run: None,
            },
        )
    }

    fn count<T>(ec2: &Ec2, table: wharf_store::Table<T>, vpc: &str, vpc_of: fn(&T) -> &str) -> usize
    where
        T: serde::de::DeserializeOwned,
    {
        let rows: Vec<(String, T)> = ec2.store.read(|tx| tx.list(table, "")).unwrap();
        rows.iter().filter(|(_, r)| vpc_of(r) == vpc).count()
    }

    #[test]
    fn create_vpc_makes_its_companions_and_delete_removes_them() {
        let (_dir, ec2, ctx) = setup();
        let vpc = ec2
            .create_vpc(
                &ctx,
                CreateVpcRequest {
                    cidr_block: Some("10.0.0.0/16".into()),
                    instance_tenancy: Some("dedicated".into()),
                    tag_specifications: Some(vec![crate::generated::TagSpecification {
                        resource_type: Some("vpc".into()),
                        tags: Some(vec![crate::generated::Tag {
                            key: Some("Name".into()),
                            value: Some("lab".into()),
                        }]),
                    }]),
                    ..Default::default()
                },
            )
            .unwrap()
            .vpc
            .unwrap();
        assert_eq!(vpc.state.as_deref(), Some("pending"));
        assert_eq!(vpc.is_default, Some(false));
        let id = vpc.vpc_id.clone().unwrap();
        let shown = ec2
            .describe_vpcs(
                &ctx,
                DescribeVpcsRequest {
                    filters: Some(vec![filter("tag:Name", &["lab"])]),
                    ..Default::default()
                },
            )
            .unwrap()
            .vpcs
            .unwrap();
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].instance_tenancy.as_deref(), Some("dedicated"));
        assert_eq!(shown[0].state.as_deref(), Some("available"));
        assert_eq!(count(&ec2, ROUTE_TABLES, &id, |t| &t.vpc_id), 1);
        assert_eq!(count(&ec2, NETWORK_ACLS, &id, |a| &a.vpc_id), 1);
        assert_eq!(count(&ec2, GROUPS, &id, |g| &g.vpc_id), 1);

        delete_vpc(&ec2, &ctx, &id).unwrap();
        assert_eq!(count(&ec2, ROUTE_TABLES, &id, |t| &t.vpc_id), 0);
        assert_eq!(count(&ec2, NETWORK_ACLS, &id, |a| &a.vpc_id), 0);
        assert_eq!(count(&ec2, GROUPS, &id, |g| &g.vpc_id), 0);
        assert_eq!(
            delete_vpc(&ec2, &ctx, &id),
            Err(Error::InvalidVpcIDNotFound(format!(
                "The vpc ID '{id}' does not exist"
            )))
        );
    }

    #[test]
    fn create_vpc_refuses_bad_ranges_and_the_sixth_vpc() {
        let (_dir, ec2, ctx) = setup();
        assert_eq!(
            create_vpc(&ec2, &ctx, "10.0.0.0/8"),
            Err(Error::InvalidVpcRange(
                "The CIDR '10.0.0.0/8' is invalid.".into()
            ))
        );
        assert!(matches!(
            ec2.create_vpc(
                &ctx,
                CreateVpcRequest {
                    cidr_block: Some("10.0.0.0/16".into()),
                    amazon_provided_ipv6_cidr_block: Some(true),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidParameterValue(m)) if m.contains("AmazonProvidedIpv6CidrBlock")
        ));
        assert!(matches!(
            ec2.create_vpc(&ctx, CreateVpcRequest::default()),
            Err(Error::MissingParameter(_))
        ));
        for _ in 0..5 {
            create_vpc(&ec2, &ctx, "10.0.0.0/16").expect("the same range may be used twice");
        }
        assert_eq!(
            create_vpc(&ec2, &ctx, "10.0.0.0/16"),
            Err(Error::VpcLimitExceeded(
                "The maximum number of VPCs has been reached.".into()
            ))
        );
        let vpcs = ec2
            .describe_vpcs(&ctx, DescribeVpcsRequest::default())
            .unwrap()
            .vpcs
            .unwrap();
        assert_eq!(vpcs.len(), 6, "five and the default");
    }

    #[test]
    fn delete_vpc_refuses_the_default_vpc_and_vpcs_in_use() {
        let (_dir, ec2, ctx) = setup();
        let net = default_network::ensure(&ec2, &ctx.account_id, &ctx.region).unwrap();
        assert!(matches!(
            delete_vpc(&ec2, &ctx, &net.vpc_id),
            Err(Error::OperationNotPermitted(_))
        ));
        let id = create_vpc(&ec2, &ctx, "10.1.0.0/16")
            .unwrap()
            .vpc_id
            .unwrap();
        let subnet = ec2
            .create_subnet(
                &ctx,
                crate::generated::CreateSubnetRequest {
                    vpc_id: id.clone(),
                    cidr_block: Some("10.1.0.0/24".into()),
                    ..Default::default()
                },
            )
            .unwrap()
            .subnet
            .unwrap()
            .subnet_id
            .unwrap();
        assert_eq!(
            delete_vpc(&ec2, &ctx, &id),
            Err(Error::DependencyViolation(format!(
                "The vpc '{id}' has dependencies and cannot be deleted."
            )))
        );
        ec2.delete_subnet(
            &ctx,
            crate::generated::DeleteSubnetRequest {
                subnet_id: subnet,
                dry_run: None,
            },
        )
        .unwrap();
        let group = ec2
            .create_security_group(
                &ctx,
                crate::generated::CreateSecurityGroupRequest {
                    group_name: "web".into(),
                    description: "web".into(),
                    vpc_id: Some(id.clone()),
                    ..Default::default()
                },
            )
            .unwrap()
            .group_id
            .unwrap();
        assert!(matches!(
            delete_vpc(&ec2, &ctx, &id),
            Err(Error::DependencyViolation(_))
        ));
        ec2.delete_security_group(
            &ctx,
            crate::generated::DeleteSecurityGroupRequest {
                group_id: Some(group),
                ..Default::default()
            },
        )
        .unwrap();
        delete_vpc(&ec2, &ctx, &id).unwrap();
    }

    #[test]
    fn vpc_attributes_one_at_a_time() {
        let (_dir, ec2, ctx) = setup();
        let id = create_vpc(&ec2, &ctx, "10.2.0.0/16")
            .unwrap()
            .vpc_id
            .unwrap();
        let read = |attribute: &str| {
            ec2.describe_vpc_attribute(
                &ctx,
                DescribeVpcAttributeRequest {
                    attribute: attribute.into(),
                    vpc_id: id.clone(),
                    dry_run: None,
                },
            )
        };
        let on = |v: bool| Some(AttributeBooleanValue { value: Some(v) });
        assert_eq!(
            read("enableDnsHostnames").unwrap().enable_dns_hostnames,
            on(false)
        );
        assert_eq!(
            read("enableDnsSupport").unwrap().enable_dns_support,
            on(true)
        );
        let got = read("enableDnsSupport").unwrap();
        assert_eq!(
            got.enable_dns_hostnames, None,
            "only the attribute asked for"
        );
        ec2.modify_vpc_attribute(
            &ctx,
            ModifyVpcAttributeRequest {
                vpc_id: id.clone(),
                enable_dns_hostnames: on(true),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            read("enableDnsHostnames").unwrap().enable_dns_hostnames,
            on(true)
        );
        assert!(matches!(
            ec2.modify_vpc_attribute(
                &ctx,
                ModifyVpcAttributeRequest {
                    vpc_id: id.clone(),
                    enable_dns_hostnames: on(true),
                    enable_dns_support: on(true),
                    ..Default::default()
                },
            ),
            Err(Error::InvalidParameterCombination(_))
        ));
        assert!(matches!(
            ec2.modify_vpc_attribute(
                &ctx,
                ModifyVpcAttributeRequest {
                    vpc_id: "vpc-0000".into(),
                    enable_dns_support: on(false),
                    ..Default::default()
                },
            ),
            Err(Error::InvalidVpcIDNotFound(_))
        ));
        assert!(matches!(
            read("colour"),
            Err(Error::InvalidParameterValue(_))
        ));
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
