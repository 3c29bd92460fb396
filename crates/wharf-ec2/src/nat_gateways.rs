//! NAT gateways: CreateNatGateway, DeleteNatGateway and DescribeNatGateways.
//!
//! A NAT gateway gets its own network interface in its subnet (`InterfaceType` `nat_gateway`,
//! the subnet's lowest free address) and, when public, an Elastic IP associated with that
//! interface. Its state follows the clock: `pending` until the provisioning time
//! ([`crate::Ec2::with_nat_provisioning`]) has passed, then `available` (or `failed`, for a
//! public gateway in a VPC without an attached internet gateway or in a full subnet, with
//! AWS's failure code);
//! after DeleteNatGateway `deleting` for the same time, then `deleted`. Deleted and failed
//! gateways stay visible for an hour, as on AWS. Routes to a gateway that is not pending or
//! available show `blackhole`.

use crate::addresses;
use crate::checks::check_dry_run;
use crate::default_network;
use crate::filters::FilterSet;
use crate::generated::{
    CreateNatGatewayRequest, CreateNatGatewayResult, DeleteNatGatewayRequest,
    DeleteNatGatewayResult, DescribeNatGatewaysRequest, DescribeNatGatewaysResult, Error,
    NatGateway, NatGatewayAddress,
};
use crate::network_interfaces::{addresses_in_use, free_address};
use crate::paging::page;
use crate::records::{
    scope_prefix, scoped_key, AddressAssociation, AddressRecord, InterfaceRecord, NatGatewayRecord,
    SubnetRecord, ADDRESSES, INTERFACES, NAT_GATEWAYS, SUBNETS,
};
use crate::routes;
use crate::routing_lookups;
use crate::tags;
use crate::Ec2;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use wharf_core::ipv4::Ipv4Net;
use wharf_core::{RequestContext, Timestamp};
use wharf_store::{StoreError, Tx};

/// How long a deleted or failed NAT gateway stays visible (AWS: "about an hour").
const VISIBLE_AFTER_END_MILLIS: i64 = 60 * 60 * 1000;

/// Filter names DescribeNatGateways accepts besides the tag filters.
const FILTERS: &[&str] = &["nat-gateway-id", "state", "subnet-id", "vpc-id"];

/// A NAT gateway's `State` at `now`; `settle_millis` is how long provisioning and deleting take.
pub fn state(nat: &NatGatewayRecord, now: Timestamp, settle_millis: i64) -> &'static str {
    if let Some(deleted) = nat.delete_time {
        if now < deleted.plus_millis(settle_millis) {
            "deleting"
        } else {
            "deleted"
        }
    } else if now < nat.available_at {
        "pending"
    } else if nat.failure.is_some() {
        "failed"
    } else {
        "available"
    }
}

/// Whether a route to `nat` carries traffic at `now` (else the route is a `blackhole`).
pub fn routes_traffic(nat: &NatGatewayRecord, now: Timestamp, settle_millis: i64) -> bool {
    matches!(state(nat, now, settle_millis), "pending" | "available")
}

/// Whether DescribeNatGateways still shows `nat` at `now`.
fn visible(nat: &NatGatewayRecord, now: Timestamp) -> bool {
    let ended = match (nat.delete_time, &nat.failure) {
        (Some(deleted), _) => Some(deleted),
        (None, Some(_)) => Some(nat.available_at),
        (None, None) => None,
    };
    ended.is_none_or(|t| now < t.plus_millis(VISIBLE_AFTER_END_MILLIS))
}

/// The NAT gateway `id` (deleted ones included), if it exists.
pub fn find(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    id: &str,
) -> Result<Option<NatGatewayRecord>, StoreError> {
    tx.get(NAT_GATEWAYS, &scoped_key(account, region, id))
}

/// Whether a NAT gateway of `vpc_id` holds an Elastic IP (what keeps its internet gateway from
/// being detached).
pub fn maps_public_addresses(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    vpc_id: &str,
) -> Result<bool, StoreError> {
    Ok(all(tx, account, region)?.iter().any(|n| {
        n.vpc_id == vpc_id
            && n.allocation_id.is_some()
            && n.delete_time.is_none()
            && n.failure.is_none()
    }))
}

fn all(tx: &Tx<'_>, account: &str, region: &str) -> Result<Vec<NatGatewayRecord>, StoreError> {
    let rows: Vec<(String, NatGatewayRecord)> =
        tx.list(NAT_GATEWAYS, &scope_prefix(account, region))?;
    Ok(rows.into_iter().map(|(_, n)| n).collect())
}

fn not_found(id: &str) -> Error {
    Error::NatGatewayNotFound(format!("NAT gateway {id} was not found"))
}

fn settle_millis(ec2: &Ec2) -> i64 {
    i64::try_from(ec2.nat_provisioning.as_millis()).unwrap_or(i64::MAX)
}

impl NatGatewayRecord {
    fn to_wire(&self, now: Timestamp, settle: i64, association: Option<&str>) -> NatGateway {
        let state = state(self, now, settle);
        let status = match state {
            "pending" => "associating",
            "deleting" => "disassociating",
            "failed" => "failed",
            _ => "succeeded",
        };
        let address = NatGatewayAddress {
            allocation_id: self.allocation_id.clone(),
            network_interface_id: Some(self.network_interface_id.clone()).filter(|e| !e.is_empty()),
            private_ip: Some(self.private_ip.clone()).filter(|ip| !ip.is_empty()),
            public_ip: self.public_ip.clone(),
            association_id: association.map(str::to_string),
            is_primary: Some(true),
            status: Some(status.into()),
            failure_message: self.failure.as_ref().map(|(_, m)| m.clone()),
            ..NatGatewayAddress::default()
        };
        NatGateway {
            create_time: Some(self.create_time),
            delete_time: self.delete_time,
            failure_code: self.failure.as_ref().map(|(c, _)| c.clone()),
            failure_message: self.failure.as_ref().map(|(_, m)| m.clone()),
            nat_gateway_addresses: Some(vec![address]),
            nat_gateway_id: Some(self.id.clone()),
            state: Some(state.into()),
            subnet_id: Some(self.subnet_id.clone()),
            vpc_id: Some(self.vpc_id.clone()),
            tags: tags::to_wire(&self.tags),
            connectivity_type: Some(self.connectivity_type.clone()),
            ..NatGateway::default()
        }
    }

    fn field(&self, name: &str, state: &str) -> Vec<String> {
        match name {
            "nat-gateway-id" => vec![self.id.clone()],
            "state" => vec![state.into()],
            "subnet-id" => vec![self.subnet_id.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            _ => Vec::new(),
        }
    }
}

/// The private address the gateway's interface takes: the one asked for (inside the subnet and
/// free) or the subnet's lowest free one (`None` when the subnet is full).
fn private_address(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    subnet: &SubnetRecord,
    asked: Option<&str>,
) -> Result<Option<Ipv4Addr>, Error> {
    let Some(asked) = asked else {
        return Ok(free_address(tx, account, region, subnet)?);
    };
    let invalid = || {
        Error::InvalidParameterValue(format!(
            "The private IP address {asked} is not a free address of subnet {}",
            subnet.id
        ))
    };
    let ip: Ipv4Addr = asked.parse().map_err(|_| invalid())?;
    let range = Ipv4Net::parse(&subnet.cidr_block).ok_or_else(invalid)?;
    let usable = range.task_addresses().any(|a| a == ip);
    if !usable || addresses_in_use(tx, account, region, &subnet.id)?.contains(&ip) {
        return Err(invalid());
    }
    Ok(Some(ip))
}

/// A locally administered MAC address for a gateway's interface.
fn mac_address(ec2: &Ec2) -> String {
    let hex = ec2.ids.hex(10);
    let pairs: Vec<&str> = (0..5).filter_map(|i| hex.get(i * 2..i * 2 + 2)).collect();
    format!("0e:{}", pairs.join(":"))
}

/// CreateNatGateway.
///
/// A public NAT gateway in a VPC without an attached internet gateway is created and then
/// `failed` (`Gateway.NotAttached`), as on AWS. A public NAT gateway in a subnet whose route
/// table has no route to the VPC's internet gateway is refused up front with
/// `InvalidParameterValue` naming the subnet, and nothing is stored: that is wharf's choice
/// (AWS creates it, and it never reaches the internet), made because a private NAT subnet is
/// the mistake seed 002 warns about.
pub fn create(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: CreateNatGatewayRequest,
) -> Result<CreateNatGatewayResult, Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    let connectivity = input.connectivity_type.as_deref().unwrap_or("public");
    if !matches!(connectivity, "public" | "private") {
        return Err(Error::InvalidParameterValue(format!(
            "Value ({connectivity}) for parameter connectivityType is invalid. Valid values are: public, private"
        )));
    }
    let Some(subnet_id) = input.subnet_id.clone() else {
        return Err(Error::MissingParameter(
            "The request must contain the parameter SubnetId".into(),
        ));
    };
    if input
        .availability_mode
        .as_deref()
        .is_some_and(|m| m != "zonal")
    {
        return Err(Error::InvalidParameterValue(
            "wharf's NAT gateways are zonal: AvailabilityMode must be zonal".into(),
        ));
    }
    if input
        .secondary_allocation_ids
        .as_ref()
        .is_some_and(|s| !s.is_empty())
        || input
            .secondary_private_ip_addresses
            .as_ref()
            .is_some_and(|s| !s.is_empty())
        || input
            .secondary_private_ip_address_count
            .is_some_and(|c| c > 0)
    {
        return Err(Error::InvalidParameterValue(
            "wharf's NAT gateways have one address: secondary addresses are not supported".into(),
        ));
    }
    let allocation_id = match (connectivity, input.allocation_id.clone()) {
        ("public", None) => {
            return Err(Error::MissingParameter(
                "The request must contain the parameter AllocationId".into(),
            ))
        }
        ("private", Some(_)) => {
            return Err(Error::InvalidParameterCombination(
                "An Elastic IP address cannot be associated with a private NAT gateway".into(),
            ))
        }
        (_, allocation) => allocation,
    };
    let tags = tags::from_specifications(input.tag_specifications.as_deref(), "natgateway")?;
    default_network::ensure(ec2, account, region)?;
    let now = ec2.clock.now();
    let provisioning = settle_millis(ec2);
    let id = format!("nat-{}", ec2.ids.hex(17));
    let eni_id = format!("eni-{}", ec2.ids.hex(17));
    let attachment_id = format!("ela-attach-{}", ec2.ids.hex(17));
    let association_id = format!("eipassoc-{}", ec2.ids.hex(17));
    let mac = mac_address(ec2);
    let nat = ec2.store.write(|tx| {
        let subnet: SubnetRecord = tx
            .get(SUBNETS, &scoped_key(account, region, &subnet_id))?
            .ok_or_else(|| {
                Error::InvalidSubnetIDNotFound(format!(
                    "The subnet ID '{subnet_id}' does not exist"
                ))
            })?;
        let address: Option<AddressRecord> = match &allocation_id {
            Some(allocation) => {
                let address = addresses::get(tx, account, region, allocation)?;
                if address.association.is_some() {
                    return Err(Error::ResourceAlreadyAssociated(format!(
                        "Elastic IP address {allocation} is already associated"
                    )));
                }
                Some(address)
            }
            None => None,
        };
        let mut nat = NatGatewayRecord {
            id: id.clone(),
            vpc_id: subnet.vpc_id.clone(),
            subnet_id: subnet.id.clone(),
            connectivity_type: connectivity.into(),
            allocation_id: allocation_id.clone(),
            public_ip: address.as_ref().map(|a| a.public_ip.clone()),
            network_interface_id: String::new(),
            private_ip: String::new(),
            create_time: now,
            available_at: now.plus_millis(provisioning),
            delete_time: None,
            failure: None,
            owner_id: account.into(),
            tags: tags.clone(),
        };
        if connectivity == "public" {
            let gateway = routing_lookups::attached_to(tx, account, region, &subnet.vpc_id)?;
            let Some(gateway) = gateway else {
                nat.failure = Some((
                    "Gateway.NotAttached".into(),
                    format!("Network {} has no Internet gateway attached", subnet.vpc_id),
                ));
                tx.put(NAT_GATEWAYS, &scoped_key(account, region, &id), &nat)?;
                return Ok(nat);
            };
            let table = routing_lookups::for_subnet(tx, account, region, &subnet.id)?;
            let public = table
                .as_ref()
                .and_then(routes::internet_gateway_of)
                .is_some_and(|igw| igw == gateway.id);
            if !public {
                return Err(Error::InvalidParameterValue(format!(
                    "Subnet {} is not a public subnet: its route table has no route to internet gateway {}. A public NAT gateway must be created in a public subnet.",
                    subnet.id, gateway.id
                )));
            }
        }
        let private_ip = private_address(
            tx,
            account,
            region,
            &subnet,
            input.private_ip_address.as_deref(),
        )?;
        let Some(private_ip) = private_ip else {
            nat.failure = Some((
                "InsufficientFreeAddressesInSubnet".into(),
                "Subnet has insufficient free addresses to create this NAT gateway".into(),
            ));
            tx.put(NAT_GATEWAYS, &scoped_key(account, region, &id), &nat)?;
            return Ok(nat);
        };
        nat.network_interface_id = eni_id.clone();
        nat.private_ip = private_ip.to_string();
        let interface = InterfaceRecord {
            id: eni_id.clone(),
            subnet_id: subnet.id.clone(),
            vpc_id: subnet.vpc_id.clone(),
            availability_zone: subnet.availability_zone.clone(),
            availability_zone_id: subnet.availability_zone_id.clone(),
            description: format!("Interface for NAT Gateway {id}"),
            mac_address: mac.clone(),
            private_ip: nat.private_ip.clone(),
            public_ip: nat.public_ip.clone(),
            groups: Vec::new(),
            owner_id: account.into(),
            attachment_id: attachment_id.clone(),
            attach_time: now,
            tags: Vec::new(),
            interface_type: Some("nat_gateway".into()),
        };
        tx.put(INTERFACES, &scoped_key(account, region, &eni_id), &interface)?;
        if let Some(allocation) = &allocation_id {
            addresses::set_association(
                tx,
                account,
                region,
                allocation,
                Some(AddressAssociation {
                    id: association_id.clone(),
                    network_interface_id: eni_id.clone(),
                    private_ip: nat.private_ip.clone(),
                    nat_gateway_id: Some(id.clone()),
                }),
            )?;
        }
        tx.put(NAT_GATEWAYS, &scoped_key(account, region, &id), &nat)?;
        Ok(nat)
    })?;
    tracing::info!(nat = %nat.id, subnet = %nat.subnet_id, failed = nat.failure.is_some(), "created nat gateway");
    let association = nat
        .allocation_id
        .as_ref()
        .and_then(|_| (!nat.network_interface_id.is_empty()).then_some(association_id.as_str()));
    Ok(CreateNatGatewayResult {
        client_token: input.client_token,
        nat_gateway: Some(nat.to_wire(now, provisioning, association)),
    })
}

/// DeleteNatGateway: `deleting`, then `deleted`; its interface goes and its Elastic IP is
/// disassociated at once.
pub fn delete(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DeleteNatGatewayRequest,
) -> Result<DeleteNatGatewayResult, Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    let now = ec2.clock.now();
    let id = input.nat_gateway_id.clone();
    ec2.store.write(|tx| {
        let mut nat = find(tx, account, region, &id)?
            .filter(|n| n.delete_time.is_none() && visible(n, now))
            .ok_or_else(|| not_found(&id))?;
        if !nat.network_interface_id.is_empty() {
            tx.delete(
                INTERFACES,
                &scoped_key(account, region, &nat.network_interface_id),
            )?;
        }
        if let Some(allocation) = &nat.allocation_id {
            // The address may have been released already if the gateway never held it.
            let held = tx
                .get(ADDRESSES, &scoped_key(account, region, allocation))?
                .and_then(|a| a.association)
                .is_some_and(|a| a.nat_gateway_id.as_deref() == Some(id.as_str()));
            if held {
                addresses::set_association(tx, account, region, allocation, None)?;
            }
        }
        nat.delete_time = Some(now);
        tx.put(NAT_GATEWAYS, &scoped_key(account, region, &id), &nat)?;
        // Forget gateways nobody can see any more.
        for old in all(tx, account, region)? {
            if !visible(&old, now) {
                tx.delete(NAT_GATEWAYS, &scoped_key(account, region, &old.id))?;
            }
        }
        Ok::<_, Error>(())
    })?;
    tracing::info!(nat = %id, "deleting nat gateway");
    Ok(DeleteNatGatewayResult {
        nat_gateway_id: Some(id),
    })
}

/// DescribeNatGateways.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeNatGatewaysRequest,
) -> Result<DescribeNatGatewaysResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filter.as_deref(), FILTERS)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    let now = ec2.clock.now();
    let settle = settle_millis(ec2);
    let (mut nats, associations) = ec2.store.read(|tx| {
        let nats = all(tx, account, region)?;
        let rows: Vec<(String, AddressRecord)> =
            tx.list(ADDRESSES, &scope_prefix(account, region))?;
        let associations: HashMap<String, String> = rows
            .into_iter()
            .filter_map(|(_, a)| {
                let assoc = a.association?;
                Some((assoc.nat_gateway_id?, assoc.id))
            })
            .collect();
        Ok::<_, StoreError>((nats, associations))
    })?;
    nats.retain(|n| visible(n, now));
    if let Some(ids) = input.nat_gateway_ids.as_deref().filter(|i| !i.is_empty()) {
        if let Some(missing) = ids.iter().find(|id| !nats.iter().any(|n| n.id == **id)) {
            return Err(not_found(missing));
        }
        nats.retain(|n| ids.contains(&n.id));
    }
    nats.retain(|n| filters.matches(|name| n.field(name, state(n, now, settle)), &n.tags));
    let (nats, next_token) = page(
        nats,
        |n| n.id.clone(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(DescribeNatGatewaysResult {
        nat_gateways: Some(
            nats.iter()
                .map(|n| n.to_wire(now, settle, associations.get(&n.id).map(String::as_str)))
                .collect(),
        ),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{
        AllocateAddressRequest, AttachInternetGatewayRequest, CreateInternetGatewayRequest,
        CreateRouteRequest, DeleteInternetGatewayRequest, DescribeAddressesRequest,
        DescribeNetworkInterfacesRequest, DescribeRouteTablesRequest, DetachInternetGatewayRequest,
        Ec2Api, ReleaseAddressRequest,
    };
    use crate::routing_lookups::fixtures::{subnet, vpc};
    use crate::tests::{filter, setup};
    use std::sync::Arc;
    use wharf_core::FakeClock;

    struct Lab {
        _dir: tempfile::TempDir,
        ec2: Ec2,
        ctx: RequestContext,
        clock: Arc<FakeClock>,
        vpc: String,
        main: String,
        public: String,
        private: String,
        igw: String,
        eip: String,
    }

    /// A VPC whose main table routes to an attached internet gateway (so `public` is public),
    /// a private subnet on a table of its own, and an Elastic IP.
    fn lab() -> Lab {
        let (dir, ec2, ctx) = setup();
        let clock = Arc::new(FakeClock::new(ctx.now));
        let ec2 = ec2.with_clock(clock.clone());
        let (vpc_id, main) = vpc(&ec2, &ctx, "10.0.0.0/16");
        let public = subnet(&ec2, &ctx, &vpc_id, "10.0.1.0/24");
        let private = subnet(&ec2, &ctx, &vpc_id, "10.0.2.0/24");
        let rtb = ec2
            .create_route_table(
                &ctx,
                crate::generated::CreateRouteTableRequest {
                    vpc_id: vpc_id.clone(),
                    ..Default::default()
                },
            )
            .unwrap()
            .route_table
            .unwrap()
            .route_table_id
            .unwrap();
        ec2.associate_route_table(
            &ctx,
            crate::generated::AssociateRouteTableRequest {
                route_table_id: rtb,
                subnet_id: Some(private.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        let igw = ec2
            .create_internet_gateway(&ctx, CreateInternetGatewayRequest::default())
            .unwrap()
            .internet_gateway
            .unwrap()
            .internet_gateway_id
            .unwrap();
        let eip = ec2
            .allocate_address(&ctx, AllocateAddressRequest::default())
            .unwrap()
            .allocation_id
            .unwrap();
        Lab {
            _dir: dir,
            ec2,
            ctx,
            clock,
            vpc: vpc_id,
            main,
            public,
            private,
            igw,
            eip,
        }
    }

    impl Lab {
        fn attach(&self) {
            self.ec2
                .attach_internet_gateway(
                    &self.ctx,
                    AttachInternetGatewayRequest {
                        internet_gateway_id: self.igw.clone(),
                        vpc_id: self.vpc.clone(),
                        dry_run: None,
                    },
                )
                .unwrap();
        }

        fn detach(&self) -> Result<(), Error> {
            self.ec2.detach_internet_gateway(
                &self.ctx,
                DetachInternetGatewayRequest {
                    internet_gateway_id: self.igw.clone(),
                    vpc_id: self.vpc.clone(),
                    dry_run: None,
                },
            )
        }

        fn route(&self, rtb: &str, gateway: Option<&str>, nat: Option<&str>) -> Result<(), Error> {
            self.ec2
                .create_route(
                    &self.ctx,
                    CreateRouteRequest {
                        route_table_id: rtb.into(),
                        destination_cidr_block: Some("0.0.0.0/0".into()),
                        gateway_id: gateway.map(str::to_string),
                        nat_gateway_id: nat.map(str::to_string),
                        ..Default::default()
                    },
                )
                .map(|_| ())
        }

        fn create(&self, subnet: &str) -> Result<NatGateway, Error> {
            self.ec2
                .create_nat_gateway(
                    &self.ctx,
                    CreateNatGatewayRequest {
                        subnet_id: Some(subnet.into()),
                        allocation_id: Some(self.eip.clone()),
                        ..Default::default()
                    },
                )
                .map(|r| r.nat_gateway.unwrap())
        }

        fn describe(&self, filters: Vec<crate::generated::Filter>) -> Vec<NatGateway> {
            self.ec2
                .describe_nat_gateways(
                    &self.ctx,
                    DescribeNatGatewaysRequest {
                        filter: Some(filters),
                        ..Default::default()
                    },
                )
                .unwrap()
                .nat_gateways
                .unwrap()
        }

        fn state(&self, id: &str) -> Option<String> {
            self.describe(vec![filter("nat-gateway-id", &[id])])
                .first()
                .and_then(|n| n.state.clone())
        }

        fn private_route_state(&self) -> Option<String> {
            let tables = self
                .ec2
                .describe_route_tables(
                    &self.ctx,
                    DescribeRouteTablesRequest {
                        filters: Some(vec![filter("association.subnet-id", &[&self.private])]),
                        ..Default::default()
                    },
                )
                .unwrap()
                .route_tables
                .unwrap();
            tables[0].routes.as_ref().unwrap()[1].state.clone()
        }

        fn eip_association(&self) -> Option<String> {
            self.ec2
                .describe_addresses(&self.ctx, DescribeAddressesRequest::default())
                .unwrap()
                .addresses
                .unwrap()[0]
                .association_id
                .clone()
        }
    }

    #[test]
    fn a_public_nat_gateway_from_pending_to_deleted() {
        let lab = lab();
        lab.attach();
        // Not yet a public subnet: refused, nothing stored.
        let err = lab.create(&lab.public).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParameterValue(m) if m.contains(&lab.public)),
            "{err:?}"
        );
        assert!(lab.describe(vec![]).is_empty());
        lab.route(&lab.main, Some(&lab.igw), None).unwrap();

        let nat = lab.create(&lab.public).unwrap();
        let id = nat.nat_gateway_id.clone().unwrap();
        assert_eq!(nat.state.as_deref(), Some("pending"));
        assert_eq!(nat.vpc_id.as_deref(), Some(lab.vpc.as_str()));
        let address = &nat.nat_gateway_addresses.as_ref().unwrap()[0];
        assert_eq!(address.private_ip.as_deref(), Some("10.0.1.4"));
        assert_eq!(address.public_ip.as_deref(), Some("100.65.0.1"));
        assert_eq!(address.allocation_id.as_deref(), Some(lab.eip.as_str()));
        let eni = address.network_interface_id.clone().unwrap();
        let interfaces = lab
            .ec2
            .describe_network_interfaces(
                &lab.ctx,
                DescribeNetworkInterfacesRequest {
                    network_interface_ids: Some(vec![eni.clone()]),
                    ..Default::default()
                },
            )
            .unwrap()
            .network_interfaces
            .unwrap();
        assert_eq!(
            interfaces[0].description.as_deref(),
            Some(format!("Interface for NAT Gateway {id}").as_str())
        );
        assert!(lab.eip_association().is_some());

        // The Elastic IP is taken: not releasable, not usable twice; the gateway cannot be
        // detached while the gateway maps it.
        assert_eq!(
            lab.ec2.release_address(
                &lab.ctx,
                ReleaseAddressRequest {
                    allocation_id: Some(lab.eip.clone()),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidIPAddressInUse(
                "Address 100.65.0.1 is in use.".into()
            ))
        );
        assert!(matches!(
            lab.create(&lab.public),
            Err(Error::ResourceAlreadyAssociated(_))
        ));
        assert_eq!(
            lab.detach(),
            Err(Error::DependencyViolation(format!(
                "Network {} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.",
                lab.vpc
            )))
        );

        lab.clock.advance(1_999);
        assert_eq!(lab.state(&id).as_deref(), Some("pending"));
        lab.clock.advance(1);
        assert_eq!(lab.state(&id).as_deref(), Some("available"));
        assert_eq!(
            lab.describe(vec![
                filter("state", &["available"]),
                filter("subnet-id", &[&lab.public])
            ])
            .len(),
            1
        );
        lab.route(&lab.main, None, Some("nat-nope")).unwrap_err();
        let private_rtb_route = |nat: &str| {
            let tables = lab
                .ec2
                .describe_route_tables(
                    &lab.ctx,
                    DescribeRouteTablesRequest {
                        filters: Some(vec![filter("association.subnet-id", &[&lab.private])]),
                        ..Default::default()
                    },
                )
                .unwrap()
                .route_tables
                .unwrap();
            let rtb = tables[0].route_table_id.clone().unwrap();
            lab.route(&rtb, None, Some(nat))
        };
        private_rtb_route(&id).unwrap();
        assert_eq!(lab.private_route_state().as_deref(), Some("active"));

        lab.ec2
            .delete_nat_gateway(
                &lab.ctx,
                DeleteNatGatewayRequest {
                    nat_gateway_id: id.clone(),
                    dry_run: None,
                },
            )
            .unwrap();
        assert_eq!(lab.state(&id).as_deref(), Some("deleting"));
        assert_eq!(lab.private_route_state().as_deref(), Some("blackhole"));
        assert_eq!(lab.eip_association(), None);
        assert_eq!(
            lab.ec2.delete_nat_gateway(
                &lab.ctx,
                DeleteNatGatewayRequest {
                    nat_gateway_id: id.clone(),
                    dry_run: None
                }
            ),
            Err(Error::NatGatewayNotFound(format!(
                "NAT gateway {id} was not found"
            )))
        );
        lab.clock.advance(2_000);
        assert_eq!(lab.state(&id).as_deref(), Some("deleted"));
        // Deleted gateways stay visible for an hour.
        lab.clock.advance(VISIBLE_AFTER_END_MILLIS - 2_001);
        assert_eq!(lab.state(&id).as_deref(), Some("deleted"));
        lab.clock.advance(1);
        assert_eq!(lab.state(&id), None);

        // Now the gateway detaches, the address is released and the gateway deleted.
        lab.detach().unwrap();
        lab.ec2
            .release_address(
                &lab.ctx,
                ReleaseAddressRequest {
                    allocation_id: Some(lab.eip.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
        lab.ec2
            .delete_internet_gateway(
                &lab.ctx,
                DeleteInternetGatewayRequest {
                    internet_gateway_id: lab.igw.clone(),
                    dry_run: None,
                },
            )
            .unwrap();
    }

    #[test]
    fn without_an_internet_gateway_a_public_nat_gateway_fails() {
        let lab = lab();
        let nat = lab.create(&lab.public).unwrap();
        let id = nat.nat_gateway_id.unwrap();
        assert_eq!(nat.state.as_deref(), Some("pending"));
        lab.clock.advance(2_000);
        let failed = &lab.describe(vec![filter("nat-gateway-id", &[&id])])[0];
        assert_eq!(failed.state.as_deref(), Some("failed"));
        assert_eq!(failed.failure_code.as_deref(), Some("Gateway.NotAttached"));
        assert_eq!(
            failed.failure_message.clone(),
            Some(format!(
                "Network {} has no Internet gateway attached",
                lab.vpc
            ))
        );
        // It holds nothing: the address is free, no interface was made.
        assert_eq!(lab.eip_association(), None);
    }

    #[test]
    fn a_full_subnet_fails_the_gateway() {
        let lab = lab();
        let tiny = subnet(&lab.ec2, &lab.ctx, &lab.vpc, "10.0.3.0/28");
        let create = || {
            lab.ec2
                .create_nat_gateway(
                    &lab.ctx,
                    CreateNatGatewayRequest {
                        subnet_id: Some(tiny.clone()),
                        connectivity_type: Some("private".into()),
                        ..Default::default()
                    },
                )
                .unwrap()
                .nat_gateway
                .unwrap()
        };
        // A /28 has 16 - 5 reserved = 11 addresses.
        let ips: Vec<String> = (0..11)
            .map(|_| {
                create().nat_gateway_addresses.unwrap()[0]
                    .private_ip
                    .clone()
                    .unwrap()
            })
            .collect();
        assert_eq!(ips.first().map(String::as_str), Some("10.0.3.4"));
        assert_eq!(ips.last().map(String::as_str), Some("10.0.3.14"));
        let full = create();
        lab.clock.advance(2_000);
        let full = &lab.describe(vec![filter(
            "nat-gateway-id",
            &[full.nat_gateway_id.as_deref().unwrap()],
        )])[0];
        assert_eq!(full.state.as_deref(), Some("failed"));
        assert_eq!(
            full.failure_code.as_deref(),
            Some("InsufficientFreeAddressesInSubnet")
        );
    }

    #[test]
    fn private_nat_gateways_and_bad_requests() {
        let lab = lab();
        let private = lab
            .ec2
            .create_nat_gateway(
                &lab.ctx,
                CreateNatGatewayRequest {
                    subnet_id: Some(lab.private.clone()),
                    connectivity_type: Some("private".into()),
                    private_ip_address: Some("10.0.2.10".into()),
                    ..Default::default()
                },
            )
            .unwrap()
            .nat_gateway
            .unwrap();
        let address = &private.nat_gateway_addresses.unwrap()[0];
        assert_eq!(address.private_ip.as_deref(), Some("10.0.2.10"));
        assert_eq!(address.public_ip, None);
        let bad =
            |req: CreateNatGatewayRequest| lab.ec2.create_nat_gateway(&lab.ctx, req).unwrap_err();
        assert!(matches!(
            bad(CreateNatGatewayRequest {
                subnet_id: Some(lab.public.clone()),
                ..Default::default()
            }),
            Error::MissingParameter(_)
        ));
        assert!(matches!(
            bad(CreateNatGatewayRequest {
                subnet_id: Some("subnet-nope".into()),
                allocation_id: Some(lab.eip.clone()),
                ..Default::default()
            }),
            Error::InvalidSubnetIDNotFound(_)
        ));
        assert!(matches!(
            bad(CreateNatGatewayRequest {
                subnet_id: Some(lab.public.clone()),
                allocation_id: Some("eipalloc-nope".into()),
                ..Default::default()
            }),
            Error::InvalidAllocationIDNotFound(_)
        ));
        assert!(matches!(
            bad(CreateNatGatewayRequest {
                subnet_id: Some(lab.private.clone()),
                connectivity_type: Some("private".into()),
                private_ip_address: Some("10.0.2.10".into()),
                ..Default::default()
            }),
            Error::InvalidParameterValue(_)
        ));
        assert!(matches!(
            bad(CreateNatGatewayRequest {
                subnet_id: Some(lab.private.clone()),
                connectivity_type: Some("sideways".into()),
                ..Default::default()
            }),
            Error::InvalidParameterValue(_)
        ));
        assert!(matches!(
            lab.ec2.describe_nat_gateways(
                &lab.ctx,
                DescribeNatGatewaysRequest {
                    nat_gateway_ids: Some(vec!["nat-nope".into()]),
                    ..Default::default()
                }
            ),
            Err(Error::NatGatewayNotFound(_))
        ));
    }
}
