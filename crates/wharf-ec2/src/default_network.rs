//! The default network of each account and region: the default VPC (172.31.0.0/16), one default
//! subnet per availability zone, the VPC's `default` security group, main route table and
//! default network ACL, and an internet gateway attached to it with the main table's
//! `0.0.0.0/0` route to it (so the default subnets are public, as on AWS).
//!
//! AWS gives every account a default VPC in every region; wharf creates it lazily, the first time
//! anything in that account and region touches the network, in one write transaction (so two
//! concurrent first requests cannot create two). Ids come from the injected generator and are
//! stored, so they stay the same across restarts. Every operation calls [`ensure`] before it
//! reads or writes the network.

use crate::companions;
use crate::records::{
    default_network_key, scope_prefix, scoped_key, DefaultNetwork, GroupRecord,
    InternetGatewayRecord, RouteRecord, RouteTableRecord, RouteTarget, SubnetRecord, VpcRecord,
    DEFAULT_GROUP_NAME, DEFAULT_NETWORKS, GROUPS, INTERNET_GATEWAYS, ROUTE_TABLES, SUBNETS, VPCS,
};
use crate::zones::zones;
use crate::Ec2;
use wharf_core::IdGen;
use wharf_store::{StoreError, Tx};

/// The default VPC's IPv4 range, the same in every AWS region.
const DEFAULT_VPC_CIDR: &str = "172.31.0.0/16";
/// The default subnets' ranges, one per zone.
const DEFAULT_SUBNET_CIDRS: [&str; 3] = ["172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"];
/// Usable addresses in a /20: 4096 minus the 5 AWS reserves in every subnet.
const DEFAULT_SUBNET_FREE_IPS: i32 = 4091;

/// The default network of `account` in `region`, created on first use.
pub fn ensure(ec2: &Ec2, account: &str, region: &str) -> Result<DefaultNetwork, StoreError> {
    let key = default_network_key(account, region);
    if let Some(existing) = ec2.store.read(|tx| tx.get(DEFAULT_NETWORKS, &key))? {
        if existing.routing_created {
            return Ok(existing);
        }
    }
    ec2.store.write(|tx| {
        match tx.get(DEFAULT_NETWORKS, &key)? {
            Some(existing) if existing.routing_created => Ok(existing),
            Some(mut existing) => {
                // Made before route tables were modelled: give it what AWS's default VPC has.
                let vpc = tx.get(VPCS, &scoped_key(account, region, &existing.vpc_id))?;
                if let Some(vpc) = vpc {
                    let ids = ec2.ids.as_ref();
                    companions::create(ids, tx, region, &vpc, Some(&existing.security_group_id))?;
                    attach_internet_gateway(ids, tx, region, &vpc)?;
                }
                existing.routing_created = true;
                tx.put(DEFAULT_NETWORKS, &key, &existing)?;
                Ok(existing)
            }
            None => {
                let network = create(ec2.ids.as_ref(), tx, account, region)?;
                tx.put(DEFAULT_NETWORKS, &key, &network)?;
                tracing::info!(account, region, vpc = %network.vpc_id, "created the default vpc");
                Ok(network)
            }
        }
    })
}

/// An internet gateway attached to `vpc`, and the `0.0.0.0/0` route to it in the VPC's main
/// route table.
fn attach_internet_gateway(
    ids: &dyn IdGen,
    tx: &Tx<'_>,
    region: &str,
    vpc: &VpcRecord,
) -> Result<(), StoreError> {
    let account = vpc.owner_id.as_str();
    let gateway = InternetGatewayRecord {
        id: format!("igw-{}", ids.hex(17)),
        attached_vpc: Some(vpc.id.clone()),
        owner_id: account.into(),
        tags: Vec::new(),
    };
    tx.put(
        INTERNET_GATEWAYS,
        &scoped_key(account, region, &gateway.id),
        &gateway,
    )?;
    let tables: Vec<(String, RouteTableRecord)> =
        tx.list(ROUTE_TABLES, &scope_prefix(account, region))?;
    for (key, mut table) in tables {
        if table.vpc_id == vpc.id && table.is_main() {
            table.routes.push(RouteRecord {
                destination_cidr: Some("0.0.0.0/0".into()),
                destination_prefix_list: None,
                target: RouteTarget::InternetGateway(gateway.id.clone()),
                origin: "CreateRoute".into(),
            });
            tx.put(ROUTE_TABLES, &key, &table)?;
        }
    }
    Ok(())
}

fn create(
    ids: &dyn IdGen,
    tx: &Tx<'_>,
    account: &str,
    region: &str,
) -> Result<DefaultNetwork, StoreError> {
    let vpc = VpcRecord {
        id: format!("vpc-{}", ids.hex(17)),
        cidr_block: DEFAULT_VPC_CIDR.into(),
        cidr_association_id: format!("vpc-cidr-assoc-{}", ids.hex(17)),
        dhcp_options_id: format!("dopt-{}", ids.hex(17)),
        is_default: true,
        owner_id: account.into(),
        tags: Vec::new(),
        enable_dns_support: true,
        enable_dns_hostnames: true,
        enable_network_address_usage_metrics: false,
        instance_tenancy: "default".into(),
    };
    tx.put(VPCS, &scoped_key(account, region, &vpc.id), &vpc)?;
    let mut subnet_ids = Vec::new();
    for (zone, cidr) in zones(region).into_iter().zip(DEFAULT_SUBNET_CIDRS) {
        let id = format!("subnet-{}", ids.hex(17));
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
    let made = companions::create(ids, tx, region, &vpc, None)?;
    attach_internet_gateway(ids, tx, region, &vpc)?;
    Ok(DefaultNetwork {
        vpc_id: vpc.id,
        subnet_ids,
        security_group_id: made.security_group,
        routing_created: true,
    })
}

/// The `default` security group of `vpc_id` (what a new interface gets when it names no group).
pub fn default_group(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    vpc_id: &str,
) -> Result<Option<GroupRecord>, StoreError> {
    let rows: Vec<(String, GroupRecord)> = tx.list(GROUPS, &scope_prefix(account, region))?;
    Ok(rows
        .into_iter()
        .map(|(_, g)| g)
        .find(|g| g.vpc_id == vpc_id && g.name == DEFAULT_GROUP_NAME))
}

/// The default VPC's id, read inside a transaction (the default network must already exist).
pub fn default_vpc_id(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
) -> Result<Option<String>, StoreError> {
    let vpcs: Vec<(String, VpcRecord)> = tx.list(VPCS, &scope_prefix(account, region))?;
    Ok(vpcs
        .into_iter()
        .map(|(_, v)| v)
        .find(|v| v.is_default)
        .map(|v| v.id))
}
