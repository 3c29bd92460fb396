//! The default network of each account and region: the default VPC (172.31.0.0/16), one default
//! subnet per availability zone and the VPC's `default` security group.
//!
//! AWS gives every account a default VPC in every region; wharf creates it lazily, the first time
//! anything in that account and region touches the network, in one write transaction (so two
//! concurrent first requests cannot create two). Ids come from the injected generator and are
//! stored, so they stay the same across restarts. Every operation calls [`ensure`] before it
//! reads or writes the network.

use crate::records::{
    default_network_key, scope_prefix, scoped_key, DefaultNetwork, GroupRecord, SubnetRecord,
    VpcRecord, DEFAULT_GROUP_NAME, DEFAULT_NETWORKS, GROUPS, SUBNETS, VPCS,
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
        return Ok(existing);
    }
    ec2.store.write(|tx| {
        if let Some(existing) = tx.get(DEFAULT_NETWORKS, &key)? {
            return Ok(existing);
        }
        let network = create(ec2.ids.as_ref(), tx, account, region)?;
        tx.put(DEFAULT_NETWORKS, &key, &network)?;
        tracing::info!(account, region, vpc = %network.vpc_id, "created the default vpc");
        Ok(network)
    })
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
    let group = GroupRecord::default_for_vpc(ids, &vpc.id, account);
    tx.put(GROUPS, &scoped_key(account, region, &group.id), &group)?;
    Ok(DefaultNetwork {
        vpc_id: vpc.id,
        subnet_ids,
        security_group_id: group.id,
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
