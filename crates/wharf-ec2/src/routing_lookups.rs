//! The lookups the routing modules share, below all of them: which route table governs a
//! subnet (the one explicitly associated with it, else its VPC's main table) and which internet
//! gateway is attached to a VPC. Used by the route table, internet gateway and NAT gateway
//! operations (a public NAT gateway's subnet must route to an attached internet gateway) and
//! by `subnet_reach` (what a task's subnet reaches).

use crate::records::{
    scope_prefix, scoped_key, InternetGatewayRecord, RouteTableRecord, SubnetRecord,
    INTERNET_GATEWAYS, ROUTE_TABLES, SUBNETS,
};
use wharf_store::{StoreError, Tx};

/// Every route table of `account` in `region`, in id order.
pub fn all(tx: &Tx<'_>, account: &str, region: &str) -> Result<Vec<RouteTableRecord>, StoreError> {
    let rows: Vec<(String, RouteTableRecord)> =
        tx.list(ROUTE_TABLES, &scope_prefix(account, region))?;
    Ok(rows.into_iter().map(|(_, t)| t).collect())
}

/// The route table that governs subnet `subnet_id`: the one explicitly associated with it, else
/// its VPC's main table. `None` when the subnet does not exist.
pub fn for_subnet(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    subnet_id: &str,
) -> Result<Option<RouteTableRecord>, StoreError> {
    let Some(subnet) = tx.get(SUBNETS, &scoped_key(account, region, subnet_id))? else {
        return Ok(None);
    };
    let subnet: SubnetRecord = subnet;
    let tables = all(tx, account, region)?;
    let explicit = tables.iter().position(|t| {
        t.associations
            .iter()
            .any(|a| a.subnet_id.as_deref() == Some(subnet_id))
    });
    let main = || {
        tables
            .iter()
            .position(|t| t.vpc_id == subnet.vpc_id && t.is_main())
    };
    Ok(explicit
        .or_else(main)
        .and_then(|i| tables.into_iter().nth(i)))
}

/// The internet gateway attached to `vpc_id`, if any.
pub fn attached_to(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    vpc_id: &str,
) -> Result<Option<InternetGatewayRecord>, StoreError> {
    let rows: Vec<(String, InternetGatewayRecord)> =
        tx.list(INTERNET_GATEWAYS, &scope_prefix(account, region))?;
    Ok(rows
        .into_iter()
        .map(|(_, g)| g)
        .find(|g| g.attached_vpc.as_deref() == Some(vpc_id)))
}

#[cfg(test)]
pub(crate) mod fixtures {
    use crate::companions;
    use crate::records::{scoped_key, SubnetRecord, VpcRecord, SUBNETS, VPCS};
    use crate::Ec2;
    use wharf_core::RequestContext;

    /// A VPC of `cidr` with its companions; returns (vpc id, main route table id).
    pub(crate) fn vpc(ec2: &Ec2, ctx: &RequestContext, cidr: &str) -> (String, String) {
        crate::default_network::ensure(ec2, &ctx.account_id, &ctx.region).unwrap();
        let vpc = VpcRecord {
            id: format!("vpc-{}", ec2.ids.hex(17)),
            cidr_block: cidr.into(),
            cidr_association_id: format!("vpc-cidr-assoc-{}", ec2.ids.hex(17)),
            dhcp_options_id: "dopt-1".into(),
            is_default: false,
            owner_id: ctx.account_id.clone(),
            tags: Vec::new(),
            enable_dns_support: true,
            enable_dns_hostnames: false,
            enable_network_address_usage_metrics: false,
            instance_tenancy: "default".into(),
        };
        let made = ec2
            .store
            .write(|tx| {
                tx.put(
                    VPCS,
                    &scoped_key(&ctx.account_id, &ctx.region, &vpc.id),
                    &vpc,
                )?;
                companions::create(ec2.ids.as_ref(), tx, &ctx.region, &vpc, None)
            })
            .unwrap();
        (vpc.id, made.main_route_table)
    }

    /// A subnet of `vpc_id` with range `cidr` in us-east-1a.
    pub(crate) fn subnet(ec2: &Ec2, ctx: &RequestContext, vpc_id: &str, cidr: &str) -> String {
        let id = format!("subnet-{}", ec2.ids.hex(17));
        let subnet = SubnetRecord {
            arn: format!("arn:aws:ec2:{}:{}:subnet/{id}", ctx.region, ctx.account_id),
            id: id.clone(),
            vpc_id: vpc_id.into(),
            cidr_block: cidr.into(),
            availability_zone: "us-east-1a".into(),
            availability_zone_id: "use1-az1".into(),
            default_for_az: false,
            map_public_ip_on_launch: false,
            available_ip_address_count: 251,
            owner_id: ctx.account_id.clone(),
            tags: Vec::new(),
        };
        ec2.store
            .write(|tx| {
                tx.put(
                    SUBNETS,
                    &scoped_key(&ctx.account_id, &ctx.region, &id),
                    &subnet,
                )
            })
            .unwrap();
        id
    }
}
