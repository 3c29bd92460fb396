//! Elastic network interfaces: the record each awsvpc task's interface leaves in EC2, and
//! DescribeNetworkInterfaces over them.
//!
//! wharf does not create interfaces on request (there is no CreateNetworkInterface): the task
//! runtime records one through [`wharf_core::NetworkInterfaces`] when it gives a task its
//! address, and forgets it when the task is gone. The answer copies what AWS shows for a Fargate
//! task's interface: requester-managed, `in-use`, attached by AWS (`ela-attach-...`, instance
//! owner `amazon-aws`, device index 1), the ECS attachment ARN as its description, and a public
//! association (owner `amazon`) only when the task was given a public address.

use crate::checks::{check_dry_run, check_interface_id};
use crate::default_network;
use crate::filters::{bool_value, FilterSet};
use crate::generated::{
    DescribeNetworkInterfacesRequest, DescribeNetworkInterfacesResult, Error, GroupIdentifier,
    NetworkInterface, NetworkInterfaceAssociation, NetworkInterfaceAttachment,
    NetworkInterfacePrivateIpAddress,
};
use crate::paging::page;
use crate::records::{
    scope_prefix, scoped_key, GroupRecord, GroupRef, InterfaceRecord, SubnetRecord, GROUPS,
    INTERFACES, SUBNETS,
};
use crate::tags;
use crate::Ec2;
use std::collections::HashSet;
use std::net::Ipv4Addr;
use wharf_core::ipv4::Ipv4Net;
use wharf_core::network_interfaces::private_dns_name;
use wharf_core::{NewNetworkInterface, RecordedInterface, RequestContext};
use wharf_store::{StoreError, Tx};

/// The account AWS shows as `RequesterId` of the interfaces ECS creates for tasks (the ECS
/// service's own account, as seen on awsvpc task interfaces in us-east-1). AWS does not document
/// it; wharf shows the same value in every region.
pub const ECS_REQUESTER_ID: &str = "578734482556";

/// `RequesterId` of a load balancer's interfaces.
pub const ELB_REQUESTER_ID: &str = "amazon-elb";

/// How a load balancer's interfaces are described (`ELB app/<name>/<id>`), as on AWS.
pub const ELB_DESCRIPTION_PREFIX: &str = "ELB ";

/// Who owns the attachment of an interface AWS attached itself (`InstanceOwnerId`).
const AWS_ATTACHMENT_OWNER: &str = "amazon-aws";

/// `IpOwnerId` of an auto-assigned (not Elastic) public address.
const AMAZON_IP_OWNER: &str = "amazon";

/// Smallest and largest `MaxResults` DescribeNetworkInterfaces accepts.
const MAX_RESULTS_RANGE: (i32, i32) = (5, 1000);

/// `ec2-1-2-3-4.compute-1.amazonaws.com` in us-east-1,
/// `ec2-1-2-3-4.<region>.compute.amazonaws.com` elsewhere: EC2's public DNS name of an address.
pub fn public_dns_name(ip: &str, region: &str) -> String {
    let host = format!("ec2-{}", ip.replace('.', "-"));
    if region == "us-east-1" {
        format!("{host}.compute-1.amazonaws.com")
    } else {
        format!("{host}.{region}.compute.amazonaws.com")
    }
}

fn not_found(id: &str) -> Error {
    Error::InvalidNetworkInterfaceIDNotFound(format!(
        "The networkInterface ID '{id}' does not exist"
    ))
}

impl InterfaceRecord {
    fn association(&self, region: &str) -> Option<NetworkInterfaceAssociation> {
        self.public_ip
            .as_ref()
            .map(|ip| NetworkInterfaceAssociation {
                ip_owner_id: Some(AMAZON_IP_OWNER.into()),
                public_dns_name: Some(public_dns_name(ip, region)),
                public_ip: Some(ip.clone()),
                ..NetworkInterfaceAssociation::default()
            })
    }

    fn to_wire(&self, region: &str) -> NetworkInterface {
        let dns = private_dns_name(&self.private_ip, region);
        NetworkInterface {
            association: self.association(region),
            attachment: Some(NetworkInterfaceAttachment {
                attach_time: Some(self.attach_time),
                attachment_id: Some(self.attachment_id.clone()),
                delete_on_termination: Some(false),
                device_index: Some(1),
                network_card_index: Some(0),
                instance_owner_id: Some(AWS_ATTACHMENT_OWNER.into()),
                status: Some("attached".into()),
                ..NetworkInterfaceAttachment::default()
            }),
            availability_zone: Some(self.availability_zone.clone()),
            availability_zone_id: Some(self.availability_zone_id.clone()),
            description: Some(self.description.clone()),
            groups: Some(
                self.groups
                    .iter()
                    .map(|g| GroupIdentifier {
                        group_id: Some(g.id.clone()),
                        group_name: Some(g.name.clone()),
                    })
                    .collect(),
            ),
            interface_type: Some(self.kind().into()),
            ipv6_addresses: Some(Vec::new()),
            mac_address: Some(self.mac_address.clone()),
            network_interface_id: Some(self.id.clone()),
            owner_id: Some(self.owner_id.clone()),
            private_dns_name: Some(dns.clone()),
            private_ip_address: Some(self.private_ip.clone()),
            private_ip_addresses: Some(vec![NetworkInterfacePrivateIpAddress {
                association: self.association(region),
                primary: Some(true),
                private_dns_name: Some(dns),
                private_ip_address: Some(self.private_ip.clone()),
            }]),
            requester_id: self.requester_id().map(str::to_string),
            requester_managed: Some(true),
            source_dest_check: Some(true),
            status: Some("in-use".into()),
            subnet_id: Some(self.subnet_id.clone()),
            tag_set: Some(tags::to_wire(&self.tags).unwrap_or_default()),
            vpc_id: Some(self.vpc_id.clone()),
            ..NetworkInterface::default()
        }
    }

    /// `InterfaceType`: `interface` for a task's, else what made it (`nat_gateway`,
    /// `vpc_endpoint`).
    fn kind(&self) -> &str {
        self.interface_type.as_deref().unwrap_or("interface")
    }

    /// `RequesterId`: ECS's account for a task's interface, `amazon-elb` for a load
    /// balancer's; wharf does not know the account AWS's NAT gateway and endpoint services
    /// use, and shows none.
    fn requester_id(&self) -> Option<&'static str> {
        if self.interface_type.is_some() {
            None
        } else if self.belongs_to_load_balancer() {
            Some(ELB_REQUESTER_ID)
        } else {
            Some(ECS_REQUESTER_ID)
        }
    }

    /// Whether ELBv2 made this interface for a load balancer.
    fn belongs_to_load_balancer(&self) -> bool {
        self.interface_type.is_none() && self.description.starts_with(ELB_DESCRIPTION_PREFIX)
    }

    /// The interface's values for a DescribeNetworkInterfaces filter.
    fn field(&self, name: &str, region: &str) -> Vec<String> {
        let one = |v: &str| vec![v.to_string()];
        let public = || self.public_ip.iter().cloned().collect::<Vec<_>>();
        match name {
            "network-interface-id" => one(&self.id),
            "subnet-id" => one(&self.subnet_id),
            "vpc-id" => one(&self.vpc_id),
            "availability-zone" => one(&self.availability_zone),
            "availability-zone-id" => one(&self.availability_zone_id),
            "description" => one(&self.description),
            "status" => one("in-use"),
            "private-ip-address" | "addresses.private-ip-address" => one(&self.private_ip),
            "addresses.primary" => bool_value(true),
            "private-dns-name" => vec![private_dns_name(&self.private_ip, region)],
            "association.public-ip" | "addresses.association.public-ip" => public(),
            "association.ip-owner-id" | "addresses.association.owner-id" => self
                .public_ip
                .iter()
                .map(|_| AMAZON_IP_OWNER.to_string())
                .collect(),
            "association.public-dns-name" => self
                .public_ip
                .iter()
                .map(|ip| public_dns_name(ip, region))
                .collect(),
            "group-id" => self.groups.iter().map(|g| g.id.clone()).collect(),
            "group-name" => self.groups.iter().map(|g| g.name.clone()).collect(),
            "mac-address" => one(&self.mac_address),
            "interface-type" => one(self.kind()),
            "requester-managed" => bool_value(true),
            "requester-id" => self.requester_id().map(one).unwrap_or_default(),
            "source-dest-check" => bool_value(true),
            "owner-id" => one(&self.owner_id),
            "attachment.status" => one("attached"),
            "attachment.attachment-id" => one(&self.attachment_id),
            "attachment.instance-owner-id" => one(AWS_ATTACHMENT_OWNER),
            "attachment.device-index" => one("1"),
            "attachment.delete-on-termination" => bool_value(false),
            "attachment.attach-time" => vec![self.attach_time.to_iso8601()],
            _ => Vec::new(),
        }
    }
}

/// Filter names DescribeNetworkInterfaces accepts besides the tag filters.
const INTERFACE_FILTERS: &[&str] = &[
    "network-interface-id",
    "subnet-id",
    "vpc-id",
    "availability-zone",
    "availability-zone-id",
    "description",
    "status",
    "private-ip-address",
    "addresses.private-ip-address",
    "addresses.primary",
    "private-dns-name",
    "association.public-ip",
    "addresses.association.public-ip",
    "association.ip-owner-id",
    "addresses.association.owner-id",
    "association.public-dns-name",
    "group-id",
    "group-name",
    "mac-address",
    "interface-type",
    "requester-managed",
    "requester-id",
    "source-dest-check",
    "owner-id",
    "attachment.status",
    "attachment.attachment-id",
    "attachment.instance-owner-id",
    "attachment.device-index",
    "attachment.delete-on-termination",
    "attachment.attach-time",
];

/// Whether any interface of `account` in `region` is a member of security group `group_id` (a
/// group in use cannot be deleted).
pub fn group_in_use(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    group_id: &str,
) -> Result<bool, StoreError> {
    let rows: Vec<(String, InterfaceRecord)> =
        tx.list(INTERFACES, &scope_prefix(account, region))?;
    Ok(rows
        .iter()
        .any(|(_, eni)| eni.groups.iter().any(|g| g.id == group_id)))
}

/// Why [`create`] refused an interface.
#[derive(Debug)]
pub enum CreateError {
    /// The store failed.
    Store(StoreError),
    /// The subnet or a group does not exist, or they are in different VPCs.
    Invalid(String),
}

impl std::fmt::Display for CreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreateError::Store(e) => e.fmt(f),
            CreateError::Invalid(why) => f.write_str(why),
        }
    }
}

impl From<StoreError> for CreateError {
    fn from(e: StoreError) -> Self {
        CreateError::Store(e)
    }
}

/// DescribeNetworkInterfaces.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeNetworkInterfacesRequest,
) -> Result<DescribeNetworkInterfacesResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), INTERFACE_FILTERS)?;
    let ids = input.network_interface_ids.unwrap_or_default();
    if let Some(max) = input.max_results {
        let (lo, hi) = MAX_RESULTS_RANGE;
        if !(lo..=hi).contains(&max) {
            return Err(Error::InvalidParameterValue(format!(
                "Value ( {max} ) for parameter maxResults is invalid. Expecting a value between {lo} and {hi}."
            )));
        }
        if !ids.is_empty() {
            return Err(Error::InvalidParameterCombination(
                "The parameter networkInterfaceIdSet cannot be used with the parameter maxResults"
                    .into(),
            ));
        }
    }
    for id in &ids {
        check_interface_id(id)?;
    }
    let rows: Vec<(String, InterfaceRecord)> = ec2
        .store
        .read(|tx| tx.list(INTERFACES, &scope_prefix(&ctx.account_id, &ctx.region)))?;
    let mut interfaces: Vec<InterfaceRecord> = rows.into_iter().map(|(_, e)| e).collect();
    if !ids.is_empty() {
        if let Some(missing) = ids
            .iter()
            .find(|id| !interfaces.iter().any(|e| e.id == **id))
        {
            return Err(not_found(missing));
        }
        interfaces.retain(|e| ids.contains(&e.id));
    }
    interfaces.retain(|e| filters.matches(|name| e.field(name, &ctx.region), &e.tags));
    let (interfaces, next_token) = page(
        interfaces,
        |e| e.id.clone(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(DescribeNetworkInterfacesResult {
        network_interfaces: Some(interfaces.iter().map(|e| e.to_wire(&ctx.region)).collect()),
        next_token,
    })
}

/// Records `eni` as an in-use interface and returns its id; see
/// [`wharf_core::NetworkInterfaces::create_interface`].
pub fn create(ec2: &Ec2, eni: NewNetworkInterface) -> Result<String, CreateError> {
    record(ec2, eni, Address::Given).map(|r| r.id)
}

/// Records `eni` with the lowest free address of its subnet (its `private_ip` ignored), chosen
/// in the same transaction that stores it, so two tasks never get one address; see
/// [`wharf_core::NetworkInterfaces::allocate_interface`]. Returns its id and address.
pub fn allocate(ec2: &Ec2, eni: NewNetworkInterface) -> Result<(String, String), CreateError> {
    record(ec2, eni, Address::Lowest).map(|r| (r.id, r.private_ip))
}

/// Sets the MAC address and public address of interface `id` (nothing happens when it does not
/// exist).
pub fn set_link(
    ec2: &Ec2,
    account: &str,
    region: &str,
    id: &str,
    mac_address: &str,
    public_ip: Option<&str>,
) -> Result<(), StoreError> {
    ec2.store.write(|tx| {
        let key = scoped_key(account, region, id);
        if let Some(mut eni) = tx.get(INTERFACES, &key)? {
            eni.mac_address = mac_address.to_string();
            eni.public_ip = public_ip.filter(|ip| !ip.is_empty()).map(str::to_string);
            tx.put(INTERFACES, &key, &eni)?;
        }
        Ok(())
    })
}

/// Makes the interfaces of `account` / `region` described `description` exactly `wanted`: one
/// per wanted subnet (kept with its address when there is one, its groups set to the wanted
/// ones; made otherwise, at the wanted address or the subnet's highest free one), the others
/// removed; see [`wharf_core::NetworkInterfaces::sync_described_interfaces`].
pub fn sync_described(
    ec2: &Ec2,
    account: &str,
    region: &str,
    description: &str,
    wanted: Vec<NewNetworkInterface>,
) -> Result<Vec<RecordedInterface>, CreateError> {
    let existing: Vec<(String, InterfaceRecord)> = ec2
        .store
        .read(|tx| tx.list(INTERFACES, &scope_prefix(account, region)))?;
    let existing: Vec<InterfaceRecord> = existing
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.description == description)
        .collect();
    for stale in existing
        .iter()
        .filter(|e| !wanted.iter().any(|w| w.subnet_id == e.subnet_id))
    {
        delete(ec2, account, region, &stale.id)?;
    }
    let mut recorded = Vec::with_capacity(wanted.len());
    for w in wanted {
        let eni = match existing.iter().find(|e| e.subnet_id == w.subnet_id) {
            Some(e) => set_groups(ec2, (account, region), e, &w.security_groups)?,
            None if w.private_ip.is_empty() => record(ec2, w, Address::Highest)?,
            None => record(ec2, w, Address::Given)?,
        };
        recorded.push(RecordedInterface {
            id: eni.id,
            subnet_id: eni.subnet_id,
            private_ip: eni.private_ip,
        });
    }
    Ok(recorded)
}

/// Sets the groups of interface `eni` to `group_ids` (unknown ids left out; none: the VPC's
/// default group), when they differ.
fn set_groups(
    ec2: &Ec2,
    (account, region): (&str, &str),
    eni: &InterfaceRecord,
    group_ids: &[String],
) -> Result<InterfaceRecord, CreateError> {
    let same = eni
        .groups
        .iter()
        .map(|g| g.id.as_str())
        .eq(group_ids.iter().map(String::as_str));
    if same {
        return Ok(eni.clone());
    }
    let updated = ec2.store.write(|tx| {
        let key = scoped_key(account, region, &eni.id);
        let Some(mut current): Option<InterfaceRecord> = tx.get(INTERFACES, &key)? else {
            return Ok::<_, CreateError>(eni.clone());
        };
        let subnet: Option<SubnetRecord> =
            tx.get(SUBNETS, &scoped_key(account, region, &current.subnet_id))?;
        let Some(subnet) = subnet else {
            return Ok(current);
        };
        current.groups = groups_of(tx, account, region, &subnet, group_ids)?;
        tx.put(INTERFACES, &key, &current)?;
        Ok(current)
    })?;
    ec2.filters_changed();
    Ok(updated)
}

/// The groups `group_ids` as an interface in `subnet` carries them: each must exist in the
/// subnet's VPC; none named gives the VPC's default group, as EC2 does for a new interface.
fn groups_of(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    subnet: &SubnetRecord,
    group_ids: &[String],
) -> Result<Vec<GroupRef>, CreateError> {
    let mut groups = Vec::new();
    for group_id in group_ids {
        let group: GroupRecord = tx
            .get(GROUPS, &scoped_key(account, region, group_id))?
            .ok_or_else(|| {
                CreateError::Invalid(format!("The security group '{group_id}' does not exist"))
            })?;
        if group.vpc_id != subnet.vpc_id {
            return Err(CreateError::Invalid(format!(
                "security group '{group_id}' and subnet '{}' belong to different networks",
                subnet.id
            )));
        }
        if !groups.iter().any(|g: &GroupRef| g.id == group.id) {
            groups.push(GroupRef {
                id: group.id,
                name: group.name,
            });
        }
    }
    if groups.is_empty() {
        // No group named: the VPC's default group, as EC2 does for a new interface.
        if let Some(g) = default_network::default_group(tx, account, region, &subnet.vpc_id)? {
            groups.push(GroupRef {
                id: g.id,
                name: g.name,
            });
        }
    }
    Ok(groups)
}

/// Where a new interface's address comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Address {
    /// The one it names.
    Given,
    /// The lowest free address of its subnet (tasks, NAT gateways, endpoints).
    Lowest,
    /// The highest free address of its subnet (load balancers: clear of tasks, whose
    /// addresses a Docker network may hand out lowest first in the default VPC).
    Highest,
}

fn record(
    ec2: &Ec2,
    eni: NewNetworkInterface,
    address: Address,
) -> Result<InterfaceRecord, CreateError> {
    default_network::ensure(ec2, &eni.account, &eni.region)?;
    let id = format!("eni-{}", ec2.ids.hex(17));
    let attachment_id = format!("ela-attach-{}", ec2.ids.hex(17));
    let attach_time = ec2.clock.now();
    let (account, region) = (eni.account.as_str(), eni.region.as_str());
    let record = ec2.store.write(|tx| {
        let subnet: SubnetRecord = tx
            .get(SUBNETS, &scoped_key(account, region, &eni.subnet_id))?
            .ok_or_else(|| {
                CreateError::Invalid(format!("The subnet ID '{}' does not exist", eni.subnet_id))
            })?;
        let groups = groups_of(tx, account, region, &subnet, &eni.security_groups)?;
        let private_ip = if address != Address::Given {
            free_address_from(tx, account, region, &subnet, address == Address::Highest)?
                .ok_or_else(|| {
                    CreateError::Invalid(format!(
                        "subnet '{}' has no free address left ({})",
                        subnet.id, subnet.cidr_block
                    ))
                })?
                .to_string()
        } else {
            eni.private_ip.clone()
        };
        let record = InterfaceRecord {
            id: id.clone(),
            subnet_id: subnet.id,
            vpc_id: subnet.vpc_id,
            availability_zone: subnet.availability_zone,
            availability_zone_id: subnet.availability_zone_id,
            description: eni.description.clone(),
            mac_address: eni.mac_address.clone(),
            private_ip,
            public_ip: eni.public_ip.clone().filter(|ip| !ip.is_empty()),
            groups,
            owner_id: account.into(),
            attachment_id,
            attach_time,
            tags: Vec::new(),
            interface_type: None,
        };
        tx.put(INTERFACES, &scoped_key(account, region, &id), &record)?;
        Ok::<_, CreateError>(record)
    })?;
    tracing::info!(
        eni = %record.id,
        subnet = %record.subnet_id,
        ip = %record.private_ip,
        "recorded network interface"
    );
    ec2.filters_changed();
    Ok(record)
}

/// The private addresses interfaces hold in subnet `subnet_id` (tasks', NAT gateways',
/// interface endpoints').
pub fn addresses_in_use(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    subnet_id: &str,
) -> Result<Vec<Ipv4Addr>, StoreError> {
    let rows: Vec<(String, InterfaceRecord)> =
        tx.list(INTERFACES, &scope_prefix(account, region))?;
    Ok(rows
        .into_iter()
        .filter(|(_, e)| e.subnet_id == subnet_id)
        .filter_map(|(_, e)| e.private_ip.parse().ok())
        .collect())
}

/// The lowest address of `subnet` that no interface holds, AWS's five reserved addresses
/// skipped; `None` when the subnet is full.
pub fn free_address(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    subnet: &SubnetRecord,
) -> Result<Option<Ipv4Addr>, StoreError> {
    free_address_from(tx, account, region, subnet, false)
}

/// The lowest (or with `highest`, the highest) address of `subnet` that no interface holds.
fn free_address_from(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    subnet: &SubnetRecord,
    highest: bool,
) -> Result<Option<Ipv4Addr>, StoreError> {
    let Some(range) = Ipv4Net::parse(&subnet.cidr_block) else {
        return Ok(None);
    };
    let used: HashSet<Ipv4Addr> = addresses_in_use(tx, account, region, &subnet.id)?
        .into_iter()
        .collect();
    let free = |a: &Ipv4Addr| !used.contains(a);
    Ok(if highest {
        range.task_addresses().rev().find(free)
    } else {
        range.task_addresses().find(free)
    })
}

/// Forgets the interface `id` (nothing happens when it does not exist).
pub fn delete(ec2: &Ec2, account: &str, region: &str, id: &str) -> Result<(), StoreError> {
    let existed = ec2
        .store
        .write(|tx| tx.delete(INTERFACES, &scoped_key(account, region, id)))?;
    if existed {
        tracing::info!(eni = %id, "deleted network interface");
        ec2.filters_changed();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{
        CreateSecurityGroupRequest, DeleteSecurityGroupRequest, Ec2Api, Filter,
    };
    use crate::tests::filter;
    use crate::tests::setup;
    use std::sync::Arc;
    use wharf_core::NetworkInterfaces;
    use wharf_core::{FakeClock, Timestamp};

    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "us-east-1";

    fn new_eni(
        subnet: &str,
        ip: &str,
        public: Option<&str>,
        groups: &[&str],
    ) -> NewNetworkInterface {
        NewNetworkInterface {
            account: ACCOUNT.into(),
            region: REGION.into(),
            subnet_id: subnet.into(),
            private_ip: ip.into(),
            mac_address: "0e:12:34:56:78:9a".into(),
            public_ip: public.map(str::to_string),
            security_groups: groups.iter().map(|g| g.to_string()).collect(),
            description: format!("arn:aws:ecs:{REGION}:{ACCOUNT}:attachment/{ip}"),
        }
    }

    fn describe(
        ec2: &Ec2,
        ctx: &RequestContext,
        req: DescribeNetworkInterfacesRequest,
    ) -> Vec<NetworkInterface> {
        ec2.describe_network_interfaces(ctx, req)
            .unwrap()
            .network_interfaces
            .unwrap()
    }

    fn by_filters(ec2: &Ec2, ctx: &RequestContext, filters: Vec<Filter>) -> Vec<String> {
        describe(
            ec2,
            ctx,
            DescribeNetworkInterfacesRequest {
                filters: Some(filters),
                ..Default::default()
            },
        )
        .into_iter()
        .map(|e| e.network_interface_id.unwrap())
        .collect()
    }

    #[test]
    fn dns_names_follow_the_region() {
        assert_eq!(
            private_dns_name("172.31.1.4", "us-east-1"),
            "ip-172-31-1-4.ec2.internal"
        );
        assert_eq!(
            private_dns_name("172.31.1.4", "eu-west-1"),
            "ip-172-31-1-4.eu-west-1.compute.internal"
        );
        assert_eq!(
            public_dns_name("1.2.3.4", "us-east-1"),
            "ec2-1-2-3-4.compute-1.amazonaws.com"
        );
        assert_eq!(
            public_dns_name("1.2.3.4", "eu-west-1"),
            "ec2-1-2-3-4.eu-west-1.compute.amazonaws.com"
        );
    }

    #[test]
    fn a_load_balancer_gets_the_highest_free_address_and_keeps_it() {
        let (_dir, ec2, ctx) = setup();
        let subnets = ec2.default_subnets(ACCOUNT, REGION).unwrap();
        let (subnet, vpc_id) = (subnets[0].id.clone(), subnets[0].vpc_id.clone());
        let default = ec2
            .default_security_group(ACCOUNT, REGION, &vpc_id)
            .unwrap()
            .unwrap()
            .id;
        let other = ec2
            .create_security_group(
                &ctx,
                CreateSecurityGroupRequest {
                    group_name: "alb".into(),
                    description: "alb".into(),
                    vpc_id: Some(vpc_id.clone()),
                    ..Default::default()
                },
            )
            .unwrap()
            .group_id
            .unwrap();
        let description = "ELB app/a/0123456789abcdef";
        let wanted = |groups: &[&str]| {
            let mut eni = new_eni(&subnet, "", None, groups);
            eni.description = description.into();
            vec![eni]
        };
        let net: &dyn NetworkInterfaces = &ec2;
        let first = net
            .sync_described_interfaces(ACCOUNT, REGION, description, wanted(&[&default]))
            .unwrap();
        // 172.31.0.0/20: the last address is reserved, the one before is the highest free.
        assert_eq!(first[0].private_ip, "172.31.15.254");
        assert_eq!(first[0].subnet_id, subnet);
        // New groups keep the interface and its address.
        let again = net
            .sync_described_interfaces(ACCOUNT, REGION, description, wanted(&[&other]))
            .unwrap();
        assert_eq!(again, first);
        let eni = describe(
            &ec2,
            &ctx,
            DescribeNetworkInterfacesRequest {
                network_interface_ids: Some(vec![first[0].id.clone()]),
                ..Default::default()
            },
        );
        let groups: Vec<String> = eni[0]
            .groups
            .iter()
            .flatten()
            .filter_map(|g| g.group_id.clone())
            .collect();
        assert_eq!(groups, vec![other]);
        // A second load balancer in the subnet takes the next one down.
        let mut second = wanted(&[&default]);
        second[0].description = "ELB app/b/0123456789abcdef".into();
        let second = net
            .sync_described_interfaces(ACCOUNT, REGION, "ELB app/b/0123456789abcdef", second)
            .unwrap();
        assert_eq!(second[0].private_ip, "172.31.15.253");
        // Nothing wanted: gone.
        assert!(net
            .sync_described_interfaces(ACCOUNT, REGION, description, Vec::new())
            .unwrap()
            .is_empty());
        assert!(by_filters(&ec2, &ctx, vec![filter("description", &[description])]).is_empty());
    }

    #[test]
    fn vpc_lookup_for_load_balancers() {
        let (_dir, ec2, _ctx) = setup();
        let subnets = ec2.default_subnets(ACCOUNT, REGION).unwrap();
        let vpc_id = subnets[0].vpc_id.clone();
        let vpc = NetworkInterfaces::vpc(&ec2, ACCOUNT, REGION, &vpc_id)
            .unwrap()
            .unwrap();
        assert_eq!(vpc.cidr_block, "172.31.0.0/16");
        let default = ec2
            .default_security_group(ACCOUNT, REGION, &vpc_id)
            .unwrap()
            .unwrap();
        assert_eq!(vpc.default_security_group, Some(default.id));
        assert_eq!(
            NetworkInterfaces::vpc(&ec2, ACCOUNT, REGION, "vpc-nope").unwrap(),
            None
        );
        assert_eq!(
            NetworkInterfaces::vpc(&ec2, ACCOUNT, "eu-west-1", &vpc_id).unwrap(),
            None
        );
    }

    #[test]
    fn subnet_lookup_creates_the_default_network() {
        let (_dir, ec2, _ctx) = setup();
        let net: &dyn NetworkInterfaces = &ec2;
        let recorded_vpcs = || {
            ec2.store
                .read(|tx| tx.list(crate::records::VPCS, "123456789012/"))
                .unwrap()
                .len()
        };
        assert_eq!(recorded_vpcs(), 0);
        // Nothing has touched this account yet: the lookup itself creates the default VPC.
        assert_eq!(net.subnet(ACCOUNT, REGION, "subnet-0123").unwrap(), None);
        assert_eq!(recorded_vpcs(), 1);
        let subnets = ec2.default_subnets(ACCOUNT, REGION).unwrap();
        let found = net
            .subnet(ACCOUNT, REGION, &subnets[0].id)
            .unwrap()
            .unwrap();
        assert_eq!(found.id, subnets[0].id);
        assert_eq!(found.vpc_id, subnets[0].vpc_id);
        assert_eq!(found.availability_zone, "us-east-1a");
        assert_eq!(found.cidr_block, "172.31.0.0/20");
        assert_eq!(
            net.subnet(ACCOUNT, "eu-west-1", &subnets[0].id).unwrap(),
            None
        );

        let group = ec2
            .default_security_group(ACCOUNT, REGION, &subnets[0].vpc_id)
            .unwrap()
            .unwrap();
        assert!(net
            .security_group_exists(ACCOUNT, REGION, &group.id)
            .unwrap());
        assert!(!net
            .security_group_exists(ACCOUNT, REGION, "sg-0000")
            .unwrap());
        assert!(!net
            .security_group_exists(ACCOUNT, REGION, "not-a-group")
            .unwrap());
        assert!(!net
            .security_group_exists(ACCOUNT, "eu-west-1", &group.id)
            .unwrap());
    }

    #[test]
    fn create_and_describe_a_task_interface() {
        let (_dir, ec2, ctx) = setup();
        let clock = Arc::new(FakeClock::new(Timestamp::from_millis(1_700_000_123_000)));
        let ec2 = ec2.with_clock(clock);
        let subnet = ec2.default_subnets(ACCOUNT, REGION).unwrap()[1].clone();
        let sg = ec2
            .default_security_group(ACCOUNT, REGION, &subnet.vpc_id)
            .unwrap()
            .unwrap();
        let id = ec2
            .create_interface(new_eni(&subnet.id, "172.31.16.4", None, &[&sg.id]))
            .unwrap();
        assert!(id.starts_with("eni-") && id.len() == 21, "{id}");
        assert!(id[4..].bytes().all(|b| b.is_ascii_hexdigit()));

        let got = describe(
            &ec2,
            &ctx,
            DescribeNetworkInterfacesRequest {
                network_interface_ids: Some(vec![id.clone()]),
                ..Default::default()
            },
        );
        assert_eq!(got.len(), 1);
        let eni = &got[0];
        assert_eq!(eni.network_interface_id.as_deref(), Some(id.as_str()));
        assert_eq!(eni.subnet_id.as_deref(), Some(subnet.id.as_str()));
        assert_eq!(eni.vpc_id.as_deref(), Some(subnet.vpc_id.as_str()));
        assert_eq!(eni.availability_zone.as_deref(), Some("us-east-1b"));
        assert_eq!(eni.availability_zone_id.as_deref(), Some("use1-az2"));
        assert_eq!(
            eni.description.as_deref(),
            Some("arn:aws:ecs:us-east-1:123456789012:attachment/172.31.16.4")
        );
        assert_eq!(eni.interface_type.as_deref(), Some("interface"));
        assert_eq!(eni.mac_address.as_deref(), Some("0e:12:34:56:78:9a"));
        assert_eq!(eni.owner_id.as_deref(), Some(ACCOUNT));
        assert_eq!(eni.requester_id.as_deref(), Some(ECS_REQUESTER_ID));
        assert_eq!(eni.requester_managed, Some(true));
        assert_eq!(eni.source_dest_check, Some(true));
        assert_eq!(eni.status.as_deref(), Some("in-use"));
        assert_eq!(eni.private_ip_address.as_deref(), Some("172.31.16.4"));
        assert_eq!(
            eni.private_dns_name.as_deref(),
            Some("ip-172-31-16-4.ec2.internal")
        );
        assert_eq!(eni.association, None, "no public address, no association");
        assert_eq!(eni.tag_set, Some(Vec::new()));
        assert_eq!(eni.ipv6_addresses, Some(Vec::new()));
        assert_eq!(
            eni.groups,
            Some(vec![GroupIdentifier {
                group_id: Some(sg.id.clone()),
                group_name: Some("default".into()),
            }])
        );
        let addresses = eni.private_ip_addresses.as_ref().unwrap();
        assert_eq!(addresses.len(), 1);
        assert_eq!(addresses[0].primary, Some(true));
        assert_eq!(
            addresses[0].private_ip_address.as_deref(),
            Some("172.31.16.4")
        );
        assert_eq!(
            addresses[0].private_dns_name.as_deref(),
            Some("ip-172-31-16-4.ec2.internal")
        );
        assert_eq!(addresses[0].association, None);
        let attachment = eni.attachment.as_ref().unwrap();
        let attachment_id = attachment.attachment_id.clone().unwrap();
        assert!(attachment_id.starts_with("ela-attach-") && attachment_id.len() == 28);
        assert_eq!(
            attachment.attach_time,
            Some(Timestamp::from_millis(1_700_000_123_000))
        );
        assert_eq!(attachment.delete_on_termination, Some(false));
        assert_eq!(attachment.device_index, Some(1));
        assert_eq!(attachment.network_card_index, Some(0));
        assert_eq!(attachment.instance_owner_id.as_deref(), Some("amazon-aws"));
        assert_eq!(attachment.status.as_deref(), Some("attached"));
        assert_eq!(attachment.instance_id, None);
    }

    #[test]
    fn a_public_address_gets_an_association() {
        let (_dir, ec2, ctx) = setup();
        let subnet = ec2.default_subnets(ACCOUNT, REGION).unwrap()[0].clone();
        ec2.create_interface(new_eni(&subnet.id, "172.31.1.4", Some("1.2.3.4"), &[]))
            .unwrap();
        let eni = describe(&ec2, &ctx, DescribeNetworkInterfacesRequest::default()).remove(0);
        let expected = NetworkInterfaceAssociation {
            ip_owner_id: Some("amazon".into()),
            public_dns_name: Some("ec2-1-2-3-4.compute-1.amazonaws.com".into()),
            public_ip: Some("1.2.3.4".into()),
            ..Default::default()
        };
        assert_eq!(eni.association, Some(expected.clone()));
        assert_eq!(
            eni.private_ip_addresses.unwrap()[0].association,
            Some(expected)
        );
        // No group named: the VPC's default group.
        assert_eq!(
            eni.groups.unwrap()[0].group_name.as_deref(),
            Some("default")
        );

        // Elsewhere the names carry the region.
        let west = RequestContext::for_tests("eu-west-1", ACCOUNT, ctx.now);
        let subnet = ec2.default_subnets(ACCOUNT, "eu-west-1").unwrap()[0].clone();
        let mut req = new_eni(&subnet.id, "172.31.1.5", Some("5.6.7.8"), &[]);
        req.region = "eu-west-1".into();
        ec2.create_interface(req).unwrap();
        let eni = describe(&ec2, &west, DescribeNetworkInterfacesRequest::default()).remove(0);
        assert_eq!(
            eni.private_dns_name.as_deref(),
            Some("ip-172-31-1-5.eu-west-1.compute.internal")
        );
        assert_eq!(
            eni.association.unwrap().public_dns_name.as_deref(),
            Some("ec2-5-6-7-8.eu-west-1.compute.amazonaws.com")
        );
        assert_eq!(
            describe(&ec2, &ctx, DescribeNetworkInterfacesRequest::default()).len(),
            1,
            "each region sees its own interfaces"
        );
    }

    #[test]
    fn create_refuses_unknown_subnets_and_groups() {
        let (_dir, ec2, ctx) = setup();
        let subnets = ec2.default_subnets(ACCOUNT, REGION).unwrap();
        let err = ec2
            .create_interface(new_eni("subnet-0nope", "172.31.1.4", None, &[]))
            .unwrap_err();
        assert!(err.contains("subnet-0nope"), "{err}");
        let err = ec2
            .create_interface(new_eni(&subnets[0].id, "172.31.1.4", None, &["sg-0nope"]))
            .unwrap_err();
        assert!(err.contains("sg-0nope"), "{err}");
        assert!(describe(&ec2, &ctx, DescribeNetworkInterfacesRequest::default()).is_empty());
    }

    #[test]
    fn unknown_and_malformed_ids() {
        let (_dir, ec2, ctx) = setup();
        let ask = |ids: &[&str]| {
            ec2.describe_network_interfaces(
                &ctx,
                DescribeNetworkInterfacesRequest {
                    network_interface_ids: Some(ids.iter().map(|s| s.to_string()).collect()),
                    ..Default::default()
                },
            )
        };
        assert_eq!(
            ask(&["eni-x"]).unwrap_err(),
            Error::InvalidNetworkInterfaceIDNotFound(
                "The networkInterface ID 'eni-x' does not exist".into()
            )
        );
        assert_eq!(
            ask(&["eni-0123456789abcdef0"]).unwrap_err(),
            Error::InvalidNetworkInterfaceIDNotFound(
                "The networkInterface ID 'eni-0123456789abcdef0' does not exist".into()
            )
        );
        for bad in ["sg-123", "eni-", "eni-12 3", "", "ENI-1"] {
            assert!(
                matches!(
                    ask(&[bad]),
                    Err(Error::InvalidNetworkInterfaceIDMalformed(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            ask(&["nope"]).unwrap_err(),
            Error::InvalidNetworkInterfaceIDMalformed(
                "Invalid id: \"nope\" (expecting \"eni-...\")".into()
            )
        );
        // No interfaces and no ids: an empty list, not an error.
        assert_eq!(
            ec2.describe_network_interfaces(&ctx, DescribeNetworkInterfacesRequest::default())
                .unwrap(),
            DescribeNetworkInterfacesResult {
                network_interfaces: Some(Vec::new()),
                next_token: None
            }
        );
        assert!(matches!(
            ec2.describe_network_interfaces(
                &ctx,
                DescribeNetworkInterfacesRequest {
                    dry_run: Some(true),
                    ..Default::default()
                }
            ),
            Err(Error::DryRunOperation(_))
        ));
    }

    #[test]
    fn filters() {
        let (_dir, ec2, ctx) = setup();
        let subnets = ec2.default_subnets(ACCOUNT, REGION).unwrap();
        let web = ec2
            .create_security_group(
                &ctx,
                CreateSecurityGroupRequest {
                    group_name: "web".into(),
                    description: "web tasks".into(),
                    ..Default::default()
                },
            )
            .unwrap()
            .group_id
            .unwrap();
        let a = ec2
            .create_interface(new_eni(
                &subnets[0].id,
                "172.31.1.4",
                Some("1.2.3.4"),
                &[&web],
            ))
            .unwrap();
        let b = ec2
            .create_interface(new_eni(&subnets[1].id, "172.31.16.9", None, &[]))
            .unwrap();
        let mut both = vec![a.clone(), b.clone()];
        both.sort();

        for (name, values, expected) in [
            ("network-interface-id", vec![a.as_str()], vec![a.clone()]),
            ("subnet-id", vec![subnets[1].id.as_str()], vec![b.clone()]),
            ("vpc-id", vec![subnets[0].vpc_id.as_str()], both.clone()),
            ("availability-zone", vec!["us-east-1a"], vec![a.clone()]),
            ("availability-zone", vec!["us-east-1?"], both.clone()),
            (
                "description",
                vec!["arn:aws:ecs:*:attachment/172.31.16.*"],
                vec![b.clone()],
            ),
            ("status", vec!["in-use"], both.clone()),
            ("status", vec!["available"], vec![]),
            ("private-ip-address", vec!["172.31.1.4"], vec![a.clone()]),
            (
                "addresses.private-ip-address",
                vec!["172.31.16.*"],
                vec![b.clone()],
            ),
            ("association.public-ip", vec!["1.2.3.4"], vec![a.clone()]),
            ("association.public-ip", vec!["*"], vec![a.clone()]),
            ("group-id", vec![web.as_str()], vec![a.clone()]),
            ("group-name", vec!["default", "web"], both.clone()),
            ("group-name", vec!["def*"], vec![b.clone()]),
            ("mac-address", vec!["0e:12:*"], both.clone()),
            ("interface-type", vec!["interface"], both.clone()),
            ("requester-managed", vec!["true"], both.clone()),
            ("requester-managed", vec!["false"], vec![]),
            ("owner-id", vec![ACCOUNT], both.clone()),
            ("attachment.status", vec!["attached"], both.clone()),
            (
                "attachment.attachment-id",
                vec!["ela-attach-*"],
                both.clone(),
            ),
            ("tag:Name", vec!["*"], vec![]),
        ] {
            let mut got = by_filters(&ec2, &ctx, vec![filter(name, &values)]);
            got.sort();
            assert_eq!(got, expected, "{name}={values:?}");
        }
        assert_eq!(
            by_filters(
                &ec2,
                &ctx,
                vec![
                    filter("vpc-id", &["vpc-*"]),
                    filter("availability-zone", &["us-east-1b"])
                ]
            ),
            vec![b.clone()],
            "filters are ANDed"
        );
        let err = ec2
            .describe_network_interfaces(
                &ctx,
                DescribeNetworkInterfacesRequest {
                    filters: Some(vec![filter("colour", &["red"])]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidParameterValue("The filter 'colour' is invalid".into())
        );

        // Ids and filters together: both apply.
        let got = describe(
            &ec2,
            &ctx,
            DescribeNetworkInterfacesRequest {
                network_interface_ids: Some(vec![a.clone(), b.clone()]),
                filters: Some(vec![filter("association.public-ip", &["*"])]),
                ..Default::default()
            },
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].network_interface_id.as_deref(), Some(a.as_str()));
    }

    #[test]
    fn pagination() {
        let (_dir, ec2, ctx) = setup();
        let subnet = ec2.default_subnets(ACCOUNT, REGION).unwrap()[0].clone();
        let mut created: Vec<String> = (0..7)
            .map(|i| {
                ec2.create_interface(new_eni(
                    &subnet.id,
                    &format!("172.31.1.{}", 10 + i),
                    None,
                    &[],
                ))
                .unwrap()
            })
            .collect();
        created.sort();
        let mut seen = Vec::new();
        let mut token = None;
        let mut pages = 0;
        loop {
            let page = ec2
                .describe_network_interfaces(
                    &ctx,
                    DescribeNetworkInterfacesRequest {
                        max_results: Some(5),
                        next_token: token.clone(),
                        ..Default::default()
                    },
                )
                .unwrap();
            pages += 1;
            seen.extend(
                page.network_interfaces
                    .unwrap()
                    .into_iter()
                    .map(|e| e.network_interface_id.unwrap()),
            );
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(pages, 2);
        assert_eq!(seen, created);

        for bad in [4, 1001, 0, -1] {
            assert!(
                matches!(
                    ec2.describe_network_interfaces(
                        &ctx,
                        DescribeNetworkInterfacesRequest {
                            max_results: Some(bad),
                            ..Default::default()
                        }
                    ),
                    Err(Error::InvalidParameterValue(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            ec2.describe_network_interfaces(
                &ctx,
                DescribeNetworkInterfacesRequest {
                    max_results: Some(5),
                    network_interface_ids: Some(vec![created[0].clone()]),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidParameterCombination(_))
        ));
        assert!(matches!(
            ec2.describe_network_interfaces(
                &ctx,
                DescribeNetworkInterfacesRequest {
                    max_results: Some(5),
                    next_token: Some("!!".into()),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidParameterValue(_))
        ));
    }

    #[test]
    fn delete_is_idempotent_and_frees_the_group() {
        let (_dir, ec2, ctx) = setup();
        let subnet = ec2.default_subnets(ACCOUNT, REGION).unwrap()[0].clone();
        let web = ec2
            .create_security_group(
                &ctx,
                CreateSecurityGroupRequest {
                    group_name: "web".into(),
                    description: "web tasks".into(),
                    ..Default::default()
                },
            )
            .unwrap()
            .group_id
            .unwrap();
        let id = ec2
            .create_interface(new_eni(&subnet.id, "172.31.1.4", None, &[&web]))
            .unwrap();
        let delete_group = || {
            ec2.delete_security_group(
                &ctx,
                DeleteSecurityGroupRequest {
                    group_id: Some(web.clone()),
                    ..Default::default()
                },
            )
        };
        assert!(
            matches!(delete_group(), Err(Error::DependencyViolation(_))),
            "a group in use by an interface cannot be deleted"
        );

        let net: &dyn NetworkInterfaces = &ec2;
        net.delete_interface(ACCOUNT, REGION, &id).unwrap();
        net.delete_interface(ACCOUNT, REGION, &id).unwrap();
        net.delete_interface(ACCOUNT, REGION, "eni-neverexisted")
            .unwrap();
        assert!(describe(&ec2, &ctx, DescribeNetworkInterfacesRequest::default()).is_empty());
        assert!(matches!(
            ec2.describe_network_interfaces(
                &ctx,
                DescribeNetworkInterfacesRequest {
                    network_interface_ids: Some(vec![id.clone()]),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidNetworkInterfaceIDNotFound(_))
        ));
        delete_group().unwrap();
    }

    #[test]
    fn interfaces_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let open = || {
            Ec2::new(
                Arc::new(wharf_store::Store::open(&path).unwrap()),
                Arc::new(wharf_core::ids::RandomIds),
            )
        };
        let id = {
            let ec2 = open();
            let subnet = ec2.default_subnets(ACCOUNT, REGION).unwrap()[0].clone();
            ec2.create_interface(new_eni(&subnet.id, "172.31.1.4", None, &[]))
                .unwrap()
        };
        let ctx = RequestContext::for_tests(REGION, ACCOUNT, Timestamp::from_millis(0));
        let got = describe(&open(), &ctx, DescribeNetworkInterfacesRequest::default());
        assert_eq!(got[0].network_interface_id, Some(id));
    }
}
