//! Route tables: Create / Delete / Describe, subnet associations (Associate, Disassociate,
//! ReplaceRouteTableAssociation, which also moves a VPC's main association), and routes
//! (CreateRoute, ReplaceRoute, DeleteRoute) to an internet gateway, a NAT gateway or a network
//! interface. Gateway VPC endpoints add and remove their prefix-list routes themselves
//! ([`crate::vpc_endpoints`]); here those routes are shown and protected from DeleteRoute.
//!
//! A route's `State` is computed when it is read ([`TargetStates`]): `blackhole` once its
//! target is gone (a detached or deleted internet gateway, a deleting / deleted / failed NAT
//! gateway, a deleted endpoint or interface). `routing_lookups::for_subnet` is the table that governs a
//! subnet, the data plane's entry point; which route carries an address is
//! [`crate::routes::route_to`].

use crate::checks::check_dry_run;
use crate::default_network;
use crate::filters::{bool_value, FilterSet};
use crate::generated::{
    AssociateRouteTableRequest, AssociateRouteTableResult, CreateRouteRequest, CreateRouteResult,
    CreateRouteTableRequest, CreateRouteTableResult, DeleteRouteRequest, DeleteRouteTableRequest,
    DescribeRouteTablesRequest, DescribeRouteTablesResult, DisassociateRouteTableRequest, Error,
    ReplaceRouteRequest, ReplaceRouteTableAssociationRequest, ReplaceRouteTableAssociationResult,
    Route, RouteTable, RouteTableAssociation, RouteTableAssociationState,
};
use crate::nat_gateways;
use crate::paging::page;
use crate::records::{
    scope_prefix, scoped_key, InterfaceRecord, InternetGatewayRecord, NatGatewayRecord,
    RouteRecord, RouteTableAssociationRecord, RouteTableRecord, RouteTarget, SubnetRecord,
    VpcEndpointRecord, VpcRecord, INTERFACES, INTERNET_GATEWAYS, NAT_GATEWAYS, ROUTE_TABLES,
    SUBNETS, VPCS, VPC_ENDPOINTS,
};
use crate::routes::{self, Destination, MAX_ROUTES_PER_TABLE};
use crate::routing_lookups::all;
use crate::tags;
use crate::Ec2;
use std::collections::{HashMap, HashSet};
use wharf_core::ipv4::Ipv4Net;
use wharf_core::{RequestContext, Timestamp};
use wharf_store::{StoreError, Tx};

/// Most route tables one VPC may have (AWS's default quota "Route tables per VPC").
pub const MAX_TABLES_PER_VPC: usize = 200;

/// `AssociationState.State` of every association wharf keeps (they are made at once).
const ASSOCIATED: &str = "associated";

/// Filter names DescribeRouteTables accepts besides the tag filters (the CLI's list).
const FILTERS: &[&str] = &[
    "association.gateway-id",
    "association.route-table-association-id",
    "association.route-table-id",
    "association.subnet-id",
    "association.main",
    "owner-id",
    "route-table-id",
    "route.destination-cidr-block",
    "route.destination-ipv6-cidr-block",
    "route.destination-prefix-list-id",
    "route.egress-only-internet-gateway-id",
    "route.gateway-id",
    "route.instance-id",
    "route.nat-gateway-id",
    "route.transit-gateway-id",
    "route.origin",
    "route.state",
    "route.vpc-peering-connection-id",
    "vpc-id",
];

/// What route targets exist and carry traffic, read once per request: a route's `State`.
#[derive(Debug, Default)]
pub struct TargetStates {
    /// Internet gateway -> the VPC it is attached to.
    gateways: HashMap<String, Option<String>>,
    /// NAT gateways that carry traffic (pending or available).
    nats: HashSet<String>,
    /// Existing VPC endpoints.
    endpoints: HashSet<String>,
    /// Existing network interfaces.
    interfaces: HashSet<String>,
}

impl TargetStates {
    /// The targets of `account` in `region` at `now` (`settle_millis`: NAT gateways'
    /// provisioning and deleting time).
    pub fn load(
        tx: &Tx<'_>,
        account: &str,
        region: &str,
        now: Timestamp,
        settle_millis: i64,
    ) -> Result<Self, StoreError> {
        let prefix = scope_prefix(account, region);
        let gateways: Vec<(String, InternetGatewayRecord)> = tx.list(INTERNET_GATEWAYS, &prefix)?;
        let nats: Vec<(String, NatGatewayRecord)> = tx.list(NAT_GATEWAYS, &prefix)?;
        let endpoints: Vec<(String, VpcEndpointRecord)> = tx.list(VPC_ENDPOINTS, &prefix)?;
        let interfaces: Vec<(String, InterfaceRecord)> = tx.list(INTERFACES, &prefix)?;
        Ok(Self {
            gateways: gateways
                .into_iter()
                .map(|(_, g)| (g.id, g.attached_vpc))
                .collect(),
            nats: nats
                .into_iter()
                .filter(|(_, n)| nat_gateways::routes_traffic(n, now, settle_millis))
                .map(|(_, n)| n.id)
                .collect(),
            endpoints: endpoints.into_iter().map(|(_, e)| e.id).collect(),
            interfaces: interfaces.into_iter().map(|(_, e)| e.id).collect(),
        })
    }

    /// `active` or `blackhole`: whether `target` of a route in a table of `vpc_id` carries
    /// traffic.
    pub fn state(&self, vpc_id: &str, target: &RouteTarget) -> &'static str {
        let active = match target {
            RouteTarget::Local => true,
            RouteTarget::InternetGateway(id) => {
                self.gateways.get(id).and_then(Option::as_deref) == Some(vpc_id)
            }
            RouteTarget::NatGateway(id) => self.nats.contains(id),
            RouteTarget::VpcEndpoint(id) => self.endpoints.contains(id),
            RouteTarget::NetworkInterface(id) => self.interfaces.contains(id),
        };
        if active {
            "active"
        } else {
            "blackhole"
        }
    }
}

fn route_to_wire(route: &RouteRecord, state: &str, owner: &str) -> Route {
    let (nat, eni) = match &route.target {
        RouteTarget::NatGateway(id) => (Some(id.clone()), None),
        RouteTarget::NetworkInterface(id) => (None, Some(id.clone())),
        _ => (None, None),
    };
    Route {
        destination_cidr_block: route.destination_cidr.clone(),
        destination_prefix_list_id: route.destination_prefix_list.clone(),
        gateway_id: routes::gateway_id(&route.target),
        instance_owner_id: eni.as_ref().map(|_| owner.to_string()),
        nat_gateway_id: nat,
        network_interface_id: eni,
        origin: Some(route.origin.clone()),
        state: Some(state.into()),
        ..Route::default()
    }
}

impl RouteTableRecord {
    fn to_wire(&self, states: &TargetStates) -> RouteTable {
        RouteTable {
            associations: Some(
                self.associations
                    .iter()
                    .map(|a| RouteTableAssociation {
                        main: Some(a.main),
                        route_table_association_id: Some(a.id.clone()),
                        route_table_id: Some(self.id.clone()),
                        subnet_id: a.subnet_id.clone(),
                        association_state: Some(associated()),
                        ..RouteTableAssociation::default()
                    })
                    .collect(),
            ),
            propagating_vgws: Some(Vec::new()),
            route_table_id: Some(self.id.clone()),
            routes: Some(
                self.routes
                    .iter()
                    .map(|r| {
                        route_to_wire(r, states.state(&self.vpc_id, &r.target), &self.owner_id)
                    })
                    .collect(),
            ),
            tags: tags::to_wire(&self.tags),
            vpc_id: Some(self.vpc_id.clone()),
            owner_id: Some(self.owner_id.clone()),
        }
    }

    fn field(&self, name: &str, states: &TargetStates) -> Vec<String> {
        let assocs = self.associations.iter();
        let routes = self.routes.iter();
        match name {
            "association.route-table-association-id" => assocs.map(|a| a.id.clone()).collect(),
            "association.route-table-id" => assocs.map(|_| self.id.clone()).collect(),
            "association.subnet-id" => assocs.filter_map(|a| a.subnet_id.clone()).collect(),
            "association.main" => assocs.flat_map(|a| bool_value(a.main)).collect(),
            "owner-id" => vec![self.owner_id.clone()],
            "route-table-id" => vec![self.id.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            "route.destination-cidr-block" => {
                routes.filter_map(|r| r.destination_cidr.clone()).collect()
            }
            "route.destination-prefix-list-id" => routes
                .filter_map(|r| r.destination_prefix_list.clone())
                .collect(),
            "route.gateway-id" => routes
                .filter_map(|r| routes::gateway_id(&r.target))
                .collect(),
            "route.nat-gateway-id" => routes
                .filter_map(|r| match &r.target {
                    RouteTarget::NatGateway(id) => Some(id.clone()),
                    _ => None,
                })
                .collect(),
            "route.origin" => routes.map(|r| r.origin.clone()).collect(),
            "route.state" => routes
                .map(|r| states.state(&self.vpc_id, &r.target).to_string())
                .collect(),
            // Gateway associations, IPv6, egress-only gateways, instances, transit gateways
            // and peering: wharf has none of them, so these match nothing.
            _ => Vec::new(),
        }
    }
}

fn associated() -> RouteTableAssociationState {
    RouteTableAssociationState {
        state: Some(ASSOCIATED.into()),
        status_message: None,
    }
}

/// AWS's answer for a route table id that does not exist.
pub fn not_found(id: &str) -> Error {
    Error::InvalidRouteTableIDNotFound(format!("The routeTable ID '{id}' does not exist"))
}

/// Refuses a route table id that is not `rtb-...`.
fn check_id(id: &str) -> Result<(), Error> {
    if id.starts_with("rtb-") {
        Ok(())
    } else {
        Err(Error::InvalidRouteTableIdMalformed(format!(
            "Invalid id: \"{id}\" (expecting \"rtb-...\")"
        )))
    }
}

/// The route table `id`, or AWS's error for a malformed or unknown id.
fn get(tx: &Tx<'_>, account: &str, region: &str, id: &str) -> Result<RouteTableRecord, Error> {
    check_id(id)?;
    tx.get(ROUTE_TABLES, &scoped_key(account, region, id))?
        .ok_or_else(|| not_found(id))
}

fn put(tx: &Tx<'_>, region: &str, table: &RouteTableRecord) -> Result<(), StoreError> {
    tx.put(
        ROUTE_TABLES,
        &scoped_key(&table.owner_id, region, &table.id),
        table,
    )
}

/// The table holding association `association_id`, and the association's index in it.
fn find_association(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    association_id: &str,
) -> Result<(RouteTableRecord, usize), Error> {
    all(tx, account, region)?
        .into_iter()
        .find_map(|t| {
            let i = t.associations.iter().position(|a| a.id == association_id)?;
            Some((t, i))
        })
        .ok_or_else(|| {
            Error::InvalidAssociationIDNotFound(format!(
                "The association ID '{association_id}' does not exist"
            ))
        })
}

fn settle_millis(ec2: &Ec2) -> i64 {
    i64::try_from(ec2.nat_provisioning.as_millis()).unwrap_or(i64::MAX)
}

/// CreateRouteTable: a table of the VPC with only the local route.
pub fn create(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: CreateRouteTableRequest,
) -> Result<CreateRouteTableResult, Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    let tags = tags::from_specifications(input.tag_specifications.as_deref(), "route-table")?;
    default_network::ensure(ec2, account, region)?;
    let vpc_id = input.vpc_id.clone();
    let table = ec2.store.write(|tx| {
        let vpc: VpcRecord = tx
            .get(VPCS, &scoped_key(account, region, &vpc_id))?
            .ok_or_else(|| {
                Error::InvalidVpcIDNotFound(format!("The vpc ID '{vpc_id}' does not exist"))
            })?;
        let in_vpc = all(tx, account, region)?
            .iter()
            .filter(|t| t.vpc_id == vpc_id)
            .count();
        if in_vpc >= MAX_TABLES_PER_VPC {
            return Err(Error::RouteTableLimitExceeded(
                "The maximum number of route tables has been reached.".into(),
            ));
        }
        let mut table = RouteTableRecord::new_for_vpc(
            ec2.ids.as_ref(),
            &vpc.id,
            &vpc.cidr_block,
            account,
            false,
        );
        table.tags = tags;
        put(tx, region, &table)?;
        Ok(table)
    })?;
    tracing::info!(rtb = %table.id, vpc = %table.vpc_id, "created route table");
    Ok(CreateRouteTableResult {
        route_table: Some(table.to_wire(&TargetStates::default())),
        client_token: input.client_token,
    })
}

/// DeleteRouteTable; refused while the table has associations (the main table always has one).
pub fn delete(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DeleteRouteTableRequest,
) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let id = &input.route_table_id;
    ec2.store.write(|tx| {
        let table = get(tx, account, region, id)?;
        if !table.associations.is_empty() {
            return Err(Error::DependencyViolation(format!(
                "The routeTable '{id}' has dependencies and cannot be deleted."
            )));
        }
        tx.delete(ROUTE_TABLES, &scoped_key(account, region, id))?;
        Ok(())
    })?;
    tracing::info!(rtb = %id, "deleted route table");
    Ok(())
}

/// DescribeRouteTables.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeRouteTablesRequest,
) -> Result<DescribeRouteTablesResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), FILTERS)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let now = ec2.clock.now();
    let settle = settle_millis(ec2);
    let (mut tables, states) = ec2.store.read(|tx| {
        Ok::<_, StoreError>((
            all(tx, account, region)?,
            TargetStates::load(tx, account, region, now, settle)?,
        ))
    })?;
    if let Some(ids) = input.route_table_ids.as_deref().filter(|i| !i.is_empty()) {
        if let Some(missing) = ids.iter().find(|id| !tables.iter().any(|t| t.id == **id)) {
            return Err(not_found(missing));
        }
        tables.retain(|t| ids.contains(&t.id));
    }
    tables.retain(|t| filters.matches(|name| t.field(name, &states), &t.tags));
    let (tables, next_token) = page(
        tables,
        |t| t.id.clone(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(DescribeRouteTablesResult {
        route_tables: Some(tables.iter().map(|t| t.to_wire(&states)).collect()),
        next_token,
    })
}

/// AssociateRouteTable: a subnet of the table's VPC, not yet explicitly associated.
pub fn associate(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: AssociateRouteTableRequest,
) -> Result<AssociateRouteTableResult, Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    let subnet_id = match (&input.subnet_id, &input.gateway_id) {
        (Some(subnet), None) => subnet.clone(),
        (None, Some(gateway)) => {
            return Err(Error::InvalidParameterValue(format!(
                "wharf does not support gateway route table associations ({gateway}): associate subnets only"
            )))
        }
        (Some(_), Some(_)) => {
            return Err(Error::InvalidParameterCombination(
                "Only one of subnetId and gatewayId may be given".into(),
            ))
        }
        (None, None) => {
            return Err(Error::MissingParameter(
                "The request must contain the parameter subnetId".into(),
            ))
        }
    };
    default_network::ensure(ec2, account, region)?;
    let association_id = format!("rtbassoc-{}", ec2.ids.hex(17));
    let rtb_id = &input.route_table_id;
    ec2.store.write(|tx| {
        let mut table = get(tx, account, region, rtb_id)?;
        let subnet: SubnetRecord = tx
            .get(SUBNETS, &scoped_key(account, region, &subnet_id))?
            .ok_or_else(|| {
                Error::InvalidSubnetIDNotFound(format!(
                    "The subnet ID '{subnet_id}' does not exist"
                ))
            })?;
        if subnet.vpc_id != table.vpc_id {
            return Err(Error::InvalidParameterValue(format!(
                "route table {rtb_id} and subnet {subnet_id} belong to different networks"
            )));
        }
        let taken = all(tx, account, region)?.iter().any(|t| {
            t.associations
                .iter()
                .any(|a| a.subnet_id.as_deref() == Some(subnet_id.as_str()))
        });
        if taken {
            return Err(Error::ResourceAlreadyAssociated(format!(
                "the specified association for route table {rtb_id} conflicts with an existing association"
            )));
        }
        table.associations.push(RouteTableAssociationRecord {
            id: association_id.clone(),
            subnet_id: Some(subnet_id.clone()),
            main: false,
        });
        put(tx, region, &table)?;
        Ok(())
    })?;
    tracing::info!(rtb = %rtb_id, subnet = %subnet_id, "associated route table");
    Ok(AssociateRouteTableResult {
        association_id: Some(association_id),
        association_state: Some(associated()),
    })
}

/// DisassociateRouteTable: the subnet falls back to its VPC's main table. The main association
/// cannot be removed (only replaced).
pub fn disassociate(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DisassociateRouteTableRequest,
) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let id = &input.association_id;
    ec2.store.write(|tx| {
        let (mut table, i) = find_association(tx, account, region, id)?;
        if table.associations[i].main {
            return Err(Error::InvalidParameterValue(format!(
                "cannot disassociate the main route table association {id}"
            )));
        }
        table.associations.remove(i);
        put(tx, region, &table)?;
        Ok(())
    })?;
    tracing::info!(association = %id, "disassociated route table");
    Ok(())
}

/// ReplaceRouteTableAssociation: the association moves to another table of the same VPC with
/// a new id; replacing the main association makes that table the VPC's main one.
pub fn replace_association(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: ReplaceRouteTableAssociationRequest,
) -> Result<ReplaceRouteTableAssociationResult, Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let new_id = format!("rtbassoc-{}", ec2.ids.hex(17));
    let (old_id, rtb_id) = (&input.association_id, &input.route_table_id);
    ec2.store.write(|tx| {
        let (mut old_table, i) = find_association(tx, account, region, old_id)?;
        let mut new_table = get(tx, account, region, rtb_id)?;
        if new_table.vpc_id != old_table.vpc_id {
            let what = old_table.associations[i]
                .subnet_id
                .clone()
                .unwrap_or_else(|| old_table.vpc_id.clone());
            return Err(Error::InvalidParameterValue(format!(
                "route table {rtb_id} and {what} belong to different networks"
            )));
        }
        let mut moved = old_table.associations.remove(i);
        moved.id = new_id.clone();
        if new_table.id == old_table.id {
            old_table.associations.insert(i, moved);
            put(tx, region, &old_table)?;
        } else {
            if moved.main {
                new_table.associations.insert(0, moved);
            } else {
                new_table.associations.push(moved);
            }
            put(tx, region, &old_table)?;
            put(tx, region, &new_table)?;
        }
        Ok(())
    })?;
    tracing::info!(old = %old_id, new = %new_id, rtb = %rtb_id, "replaced route table association");
    Ok(ReplaceRouteTableAssociationResult {
        new_association_id: Some(new_id),
        association_state: Some(associated()),
    })
}

/// The targets a CreateRoute / ReplaceRoute request may name, as (parameter, value).
fn named_targets(
    gateway: &Option<String>,
    nat: &Option<String>,
    eni: &Option<String>,
    unsupported: &[(&'static str, &Option<String>)],
) -> Result<Vec<(&'static str, String)>, Error> {
    if let Some((name, value)) = unsupported
        .iter()
        .find_map(|(name, v)| v.as_ref().map(|v| (name, v)))
    {
        return Err(Error::InvalidParameterValue(format!(
            "Value ({value}) for parameter {name} is invalid: wharf routes only to an internet gateway (gatewayId), a NAT gateway (natGatewayId) or a network interface (networkInterfaceId)"
        )));
    }
    Ok([
        ("gatewayId", gateway),
        ("natGatewayId", nat),
        ("networkInterfaceId", eni),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.clone().map(|v| (name, v)))
    .collect())
}

/// AWS's answer for a `GatewayId` that names no gateway (a NAT gateway's id included).
fn gateway_not_found(id: &str) -> Error {
    Error::InvalidGatewayIDNotFound(format!("The gateway ID '{id}' does not exist"))
}

/// Checks the one target of a route in `table` and says what it is.
fn resolve_target(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    table: &RouteTableRecord,
    targets: Vec<(&'static str, String)>,
    now: Timestamp,
    settle_millis: i64,
) -> Result<RouteTarget, Error> {
    let mut targets = targets.into_iter();
    let (Some((name, id)), None) = (targets.next(), targets.next()) else {
        return Err(Error::InvalidParameterCombination(
            "The request must contain exactly one of gatewayId, natGatewayId or networkInterfaceId"
                .into(),
        ));
    };
    let different = |what: &str| {
        Error::InvalidParameterValue(format!(
            "route table {} and {what} {id} belong to different networks",
            table.id
        ))
    };
    match name {
        "gatewayId" if id.starts_with("igw-") => {
            let gateway: InternetGatewayRecord = tx
                .get(INTERNET_GATEWAYS, &scoped_key(account, region, &id))?
                .ok_or_else(|| gateway_not_found(&id))?;
            if gateway.attached_vpc.as_deref() != Some(table.vpc_id.as_str()) {
                return Err(different("network gateway"));
            }
            Ok(RouteTarget::InternetGateway(id))
        }
        "gatewayId" if id.starts_with("vpce-") => Err(Error::InvalidParameterValue(format!(
            "Route table {} cannot take a route to {id}: a gateway endpoint's routes are managed through the endpoint's route tables (ModifyVpcEndpoint)",
            table.id
        ))),
        "gatewayId" => Err(gateway_not_found(&id)),
        "natGatewayId" => {
            let nat = nat_gateways::find(tx, account, region, &id)?
                .filter(|n| nat_gateways::routes_traffic(n, now, settle_millis))
                .ok_or_else(|| {
                    Error::NatGatewayNotFound(format!("NAT gateway {id} was not found"))
                })?;
            if nat.vpc_id != table.vpc_id {
                return Err(different("NAT gateway"));
            }
            Ok(RouteTarget::NatGateway(id))
        }
        _ => {
            crate::checks::check_interface_id(&id)?;
            let eni: InterfaceRecord = tx
                .get(INTERFACES, &scoped_key(account, region, &id))?
                .ok_or_else(|| {
                    Error::InvalidNetworkInterfaceIDNotFound(format!(
                        "The networkInterface ID '{id}' does not exist"
                    ))
                })?;
            if eni.vpc_id != table.vpc_id {
                return Err(different("interface"));
            }
            Ok(RouteTarget::NetworkInterface(id))
        }
    }
}

/// A CIDR destination of a new or replaced route; prefix-list destinations belong to gateway
/// endpoints (wharf has no customer-managed prefix lists).
fn cidr_destination(destination: &Destination, table: &RouteTableRecord) -> Result<Ipv4Net, Error> {
    match destination {
        Destination::Cidr(net) => Ok(*net),
        Destination::PrefixList(pl) => Err(Error::InvalidParameterValue(format!(
            "Route table {} cannot take a route to prefix list {pl}: wharf routes prefix lists only through gateway VPC endpoints (their RouteTableIds)",
            table.id
        ))),
    }
}

/// AWS's rule for a destination inside the VPC's range: only an interface may take it.
fn check_inside_vpc(
    table: &RouteTableRecord,
    net: &Ipv4Net,
    target: &RouteTarget,
) -> Result<(), Error> {
    let inside = table
        .routes
        .iter()
        .filter(|r| r.target == RouteTarget::Local)
        .filter_map(|r| Ipv4Net::parse(r.destination_cidr.as_deref()?))
        .any(|vpc| vpc.contains_net(net));
    if inside && !matches!(target, RouteTarget::NetworkInterface(_)) {
        return Err(Error::InvalidParameterValue(format!(
            "The destination CIDR block {net} is equal to or more specific than one of this VPC's CIDR blocks. This route can target only an interface or an instance."
        )));
    }
    Ok(())
}

/// The targets a CreateRoute or ReplaceRoute request names (the two carry the same fields).
macro_rules! requested_targets {
    ($input:expr) => {
        named_targets(
            &$input.gateway_id,
            &$input.nat_gateway_id,
            &$input.network_interface_id,
            &[
                ("vpcEndpointId", &$input.vpc_endpoint_id),
                ("instanceId", &$input.instance_id),
                ("transitGatewayId", &$input.transit_gateway_id),
                ("vpcPeeringConnectionId", &$input.vpc_peering_connection_id),
                (
                    "egressOnlyInternetGatewayId",
                    &$input.egress_only_internet_gateway_id,
                ),
                ("localGatewayId", &$input.local_gateway_id),
                ("carrierGatewayId", &$input.carrier_gateway_id),
                ("coreNetworkArn", &$input.core_network_arn),
                ("odbNetworkArn", &$input.odb_network_arn),
            ],
        )
    };
}

/// CreateRoute.
pub fn create_route(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: CreateRouteRequest,
) -> Result<CreateRouteResult, Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    let destination = Destination::from_request(
        input.destination_cidr_block.as_deref(),
        input.destination_ipv6_cidr_block.as_deref(),
        input.destination_prefix_list_id.as_deref(),
    )?;
    let targets = requested_targets!(input)?;
    default_network::ensure(ec2, account, region)?;
    let now = ec2.clock.now();
    let settle = settle_millis(ec2);
    let rtb_id = &input.route_table_id;
    ec2.store.write(|tx| {
        let mut table = get(tx, account, region, rtb_id)?;
        if routes::find(&table, &destination).is_some() {
            return Err(Error::RouteAlreadyExists(format!(
                "The route identified by {} already exists.",
                destination.label()
            )));
        }
        let net = cidr_destination(&destination, &table)?;
        let target = resolve_target(tx, account, region, &table, targets, now, settle)?;
        check_inside_vpc(&table, &net, &target)?;
        if table.routes.len() >= MAX_ROUTES_PER_TABLE {
            return Err(Error::RouteLimitExceeded(
                "The maximum number of routes has been reached.".into(),
            ));
        }
        table.routes.push(RouteRecord {
            destination_cidr: Some(net.to_string()),
            destination_prefix_list: None,
            target,
            origin: "CreateRoute".into(),
        });
        put(tx, region, &table)?;
        Ok(())
    })?;
    tracing::info!(rtb = %rtb_id, destination = %destination.label(), "created route");
    Ok(CreateRouteResult {
        r#return: Some(true),
    })
}

/// ReplaceRoute: an existing route gets another target.
pub fn replace_route(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: ReplaceRouteRequest,
) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    let destination = Destination::from_request(
        input.destination_cidr_block.as_deref(),
        input.destination_ipv6_cidr_block.as_deref(),
        input.destination_prefix_list_id.as_deref(),
    )?;
    let local_target = input.local_target == Some(true);
    let targets = requested_targets!(input)?;
    default_network::ensure(ec2, account, region)?;
    let now = ec2.clock.now();
    let settle = settle_millis(ec2);
    let rtb_id = &input.route_table_id;
    ec2.store.write(|tx| {
        let mut table = get(tx, account, region, rtb_id)?;
        let Some(i) = routes::find(&table, &destination) else {
            return Err(Error::InvalidRouteNotFound(format!(
                "There is no route defined for '{}' in the route table. Use CreateRoute instead.",
                destination.label()
            )));
        };
        let current = table.routes[i].target.clone();
        if let RouteTarget::VpcEndpoint(vpce) = &current {
            return Err(managed_by_endpoint(rtb_id, &destination, vpce));
        }
        if current == RouteTarget::Local {
            if local_target && targets.is_empty() {
                return Ok(());
            }
            return Err(Error::InvalidParameterValue(format!(
                "The local route {} of route table {rtb_id} can only target local",
                destination.label()
            )));
        }
        if local_target {
            return Err(Error::InvalidParameterValue(format!(
                "Route {} of route table {rtb_id} is not a local route: localTarget cannot be set",
                destination.label()
            )));
        }
        let net = cidr_destination(&destination, &table)?;
        let target = resolve_target(tx, account, region, &table, targets, now, settle)?;
        check_inside_vpc(&table, &net, &target)?;
        table.routes[i].target = target;
        table.routes[i].origin = "CreateRoute".into();
        put(tx, region, &table)?;
        Ok(())
    })?;
    tracing::info!(rtb = %rtb_id, destination = %destination.label(), "replaced route");
    Ok(())
}

fn managed_by_endpoint(rtb_id: &str, destination: &Destination, vpce: &str) -> Error {
    Error::InvalidParameterValue(format!(
        "The route {} of route table {rtb_id} is managed by VPC endpoint {vpce}; change the endpoint's route tables instead",
        destination.label()
    ))
}

/// DeleteRoute; the local route and gateway endpoints' routes cannot be deleted here.
pub fn delete_route(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DeleteRouteRequest,
) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    let destination = Destination::from_request(
        input.destination_cidr_block.as_deref(),
        input.destination_ipv6_cidr_block.as_deref(),
        input.destination_prefix_list_id.as_deref(),
    )?;
    default_network::ensure(ec2, account, region)?;
    let rtb_id = &input.route_table_id;
    ec2.store.write(|tx| {
        let mut table = get(tx, account, region, rtb_id)?;
        let Some(i) = routes::find(&table, &destination) else {
            return Err(Error::InvalidRouteNotFound(format!(
                "no route with {} {} in route table {rtb_id}",
                destination.parameter(),
                destination.label()
            )));
        };
        match &table.routes[i].target {
            RouteTarget::Local => {
                return Err(Error::InvalidParameterValue(format!(
                    "cannot remove local route {} in route table {rtb_id}",
                    destination.label()
                )))
            }
            RouteTarget::VpcEndpoint(vpce) => {
                return Err(managed_by_endpoint(rtb_id, &destination, vpce))
            }
            _ => {}
        }
        table.routes.remove(i);
        put(tx, region, &table)?;
        Ok(())
    })?;
    tracing::info!(rtb = %rtb_id, destination = %destination.label(), "deleted route");
    Ok(())
}

/// A VPC with subnets written straight into the store, for the unit tests of this module and
/// of the gateways (independent of CreateVpc / CreateSubnet).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{
        AttachInternetGatewayRequest, CreateInternetGatewayRequest, DetachInternetGatewayRequest,
        Ec2Api,
    };
    use crate::routing_lookups::fixtures::{subnet, vpc};
    use crate::tests::{filter, setup};

    fn describe_one(ec2: &Ec2, ctx: &RequestContext, id: &str) -> RouteTable {
        ec2.describe_route_tables(
            ctx,
            DescribeRouteTablesRequest {
                route_table_ids: Some(vec![id.into()]),
                ..Default::default()
            },
        )
        .unwrap()
        .route_tables
        .unwrap()
        .remove(0)
    }

    fn new_table(ec2: &Ec2, ctx: &RequestContext, vpc_id: &str) -> String {
        ec2.create_route_table(
            ctx,
            CreateRouteTableRequest {
                vpc_id: vpc_id.into(),
                ..Default::default()
            },
        )
        .unwrap()
        .route_table
        .unwrap()
        .route_table_id
        .unwrap()
    }

    fn associate(
        ec2: &Ec2,
        ctx: &RequestContext,
        rtb: &str,
        subnet: &str,
    ) -> Result<String, Error> {
        ec2.associate_route_table(
            ctx,
            AssociateRouteTableRequest {
                route_table_id: rtb.into(),
                subnet_id: Some(subnet.into()),
                ..Default::default()
            },
        )
        .map(|r| r.association_id.unwrap())
    }

    fn igw(ec2: &Ec2, ctx: &RequestContext, vpc_id: Option<&str>) -> String {
        let id = ec2
            .create_internet_gateway(ctx, CreateInternetGatewayRequest::default())
            .unwrap()
            .internet_gateway
            .unwrap()
            .internet_gateway_id
            .unwrap();
        if let Some(vpc_id) = vpc_id {
            ec2.attach_internet_gateway(
                ctx,
                AttachInternetGatewayRequest {
                    internet_gateway_id: id.clone(),
                    vpc_id: vpc_id.into(),
                    dry_run: None,
                },
            )
            .unwrap();
        }
        id
    }

    fn route(
        ec2: &Ec2,
        ctx: &RequestContext,
        rtb: &str,
        cidr: &str,
        gateway: &str,
    ) -> Result<(), Error> {
        ec2.create_route(
            ctx,
            CreateRouteRequest {
                route_table_id: rtb.into(),
                destination_cidr_block: Some(cidr.into()),
                gateway_id: Some(gateway.into()),
                ..Default::default()
            },
        )
        .map(|_| ())
    }

    fn governing(ec2: &Ec2, ctx: &RequestContext, subnet: &str) -> Option<String> {
        ec2.store
            .read(|tx| crate::routing_lookups::for_subnet(tx, &ctx.account_id, &ctx.region, subnet))
            .unwrap()
            .map(|t| t.id)
    }

    #[test]
    fn tables_associations_and_the_main_table() {
        let (_dir, ec2, ctx) = setup();
        let (vpc_id, main) = vpc(&ec2, &ctx, "10.0.0.0/16");
        let public = subnet(&ec2, &ctx, &vpc_id, "10.0.1.0/24");
        let private = subnet(&ec2, &ctx, &vpc_id, "10.0.2.0/24");
        let rtb = new_table(&ec2, &ctx, &vpc_id);

        let table = describe_one(&ec2, &ctx, &rtb);
        let routes = table.routes.unwrap();
        assert_eq!(routes.len(), 1);
        assert_eq!(
            routes[0].destination_cidr_block.as_deref(),
            Some("10.0.0.0/16")
        );
        assert_eq!(routes[0].gateway_id.as_deref(), Some("local"));
        assert_eq!(routes[0].origin.as_deref(), Some("CreateRouteTable"));
        assert_eq!(routes[0].state.as_deref(), Some("active"));
        assert_eq!(table.associations.unwrap(), Vec::new());

        // Subnets follow the main table until associated.
        assert_eq!(governing(&ec2, &ctx, &public), Some(main.clone()));
        let assoc = associate(&ec2, &ctx, &rtb, &public).unwrap();
        assert_eq!(governing(&ec2, &ctx, &public), Some(rtb.clone()));
        assert_eq!(governing(&ec2, &ctx, &private), Some(main.clone()));
        assert_eq!(governing(&ec2, &ctx, "subnet-nope"), None);
        assert_eq!(
            associate(&ec2, &ctx, &main, &public),
            Err(Error::ResourceAlreadyAssociated(format!(
                "the specified association for route table {main} conflicts with an existing association"
            )))
        );
        let (other_vpc, _) = vpc(&ec2, &ctx, "10.1.0.0/16");
        let elsewhere = subnet(&ec2, &ctx, &other_vpc, "10.1.0.0/24");
        assert_eq!(
            associate(&ec2, &ctx, &rtb, &elsewhere),
            Err(Error::InvalidParameterValue(format!(
                "route table {rtb} and subnet {elsewhere} belong to different networks"
            )))
        );
        assert!(matches!(
            associate(&ec2, &ctx, "rtb-nope", &private),
            Err(Error::InvalidRouteTableIDNotFound(_))
        ));
        assert!(matches!(
            associate(&ec2, &ctx, "nope", &private),
            Err(Error::InvalidRouteTableIdMalformed(_))
        ));

        // Filters.
        let find = |filters: Vec<crate::generated::Filter>| -> Vec<String> {
            ec2.describe_route_tables(
                &ctx,
                DescribeRouteTablesRequest {
                    filters: Some(filters),
                    ..Default::default()
                },
            )
            .unwrap()
            .route_tables
            .unwrap()
            .into_iter()
            .map(|t| t.route_table_id.unwrap())
            .collect()
        };
        assert_eq!(
            find(vec![
                filter("vpc-id", &[&vpc_id]),
                filter("association.main", &["true"])
            ]),
            vec![main.clone()]
        );
        assert_eq!(
            find(vec![filter("association.subnet-id", &[&public])]),
            vec![rtb.clone()]
        );
        assert_eq!(
            find(vec![filter(
                "association.route-table-association-id",
                &[&assoc]
            )]),
            vec![rtb.clone()]
        );
        assert_eq!(
            find(vec![
                filter("vpc-id", &[&vpc_id]),
                filter("route.gateway-id", &["local"])
            ])
            .len(),
            2
        );

        // The main table and an associated table cannot be deleted.
        for id in [&main, &rtb] {
            assert_eq!(
                ec2.delete_route_table(
                    &ctx,
                    DeleteRouteTableRequest {
                        route_table_id: id.to_string(),
                        dry_run: None
                    }
                ),
                Err(Error::DependencyViolation(format!(
                    "The routeTable '{id}' has dependencies and cannot be deleted."
                )))
            );
        }

        // Replacing the main association makes another table main; the old one can go.
        let main_assoc = describe_one(&ec2, &ctx, &main).associations.unwrap()[0]
            .route_table_association_id
            .clone()
            .unwrap();
        assert_eq!(
            ec2.disassociate_route_table(
                &ctx,
                DisassociateRouteTableRequest {
                    association_id: main_assoc.clone(),
                    dry_run: None
                }
            ),
            Err(Error::InvalidParameterValue(format!(
                "cannot disassociate the main route table association {main_assoc}"
            )))
        );
        let new_main = ec2
            .replace_route_table_association(
                &ctx,
                ReplaceRouteTableAssociationRequest {
                    association_id: main_assoc.clone(),
                    route_table_id: rtb.clone(),
                    dry_run: None,
                },
            )
            .unwrap()
            .new_association_id
            .unwrap();
        assert_ne!(new_main, main_assoc);
        let now_main = describe_one(&ec2, &ctx, &rtb);
        assert!(now_main
            .associations
            .unwrap()
            .iter()
            .any(|a| a.main == Some(true)));
        assert_eq!(governing(&ec2, &ctx, &private), Some(rtb.clone()));
        ec2.delete_route_table(
            &ctx,
            DeleteRouteTableRequest {
                route_table_id: main.clone(),
                dry_run: None,
            },
        )
        .unwrap();

        // A subnet association moves back with Disassociate.
        ec2.disassociate_route_table(
            &ctx,
            DisassociateRouteTableRequest {
                association_id: assoc.clone(),
                dry_run: None,
            },
        )
        .unwrap();
        assert_eq!(
            ec2.disassociate_route_table(
                &ctx,
                DisassociateRouteTableRequest {
                    association_id: assoc.clone(),
                    dry_run: None
                }
            ),
            Err(Error::InvalidAssociationIDNotFound(format!(
                "The association ID '{assoc}' does not exist"
            )))
        );
        assert_eq!(governing(&ec2, &ctx, &public), Some(rtb));
    }

    #[test]
    fn routes_to_an_internet_gateway() {
        let (_dir, ec2, ctx) = setup();
        let (vpc_id, main) = vpc(&ec2, &ctx, "10.0.0.0/16");
        let rtb = new_table(&ec2, &ctx, &vpc_id);
        let loose = igw(&ec2, &ctx, None);
        assert_eq!(
            route(&ec2, &ctx, &rtb, "0.0.0.0/0", &loose),
            Err(Error::InvalidParameterValue(format!(
                "route table {rtb} and network gateway {loose} belong to different networks"
            )))
        );
        assert_eq!(
            route(&ec2, &ctx, &rtb, "0.0.0.0/0", "igw-nope"),
            Err(Error::InvalidGatewayIDNotFound(
                "The gateway ID 'igw-nope' does not exist".into()
            ))
        );
        assert!(matches!(
            route(&ec2, &ctx, &rtb, "0.0.0.0/0", "tgw-1"),
            Err(Error::InvalidGatewayIDNotFound(_))
        ));
        let gw = igw(&ec2, &ctx, Some(&vpc_id));
        route(&ec2, &ctx, &rtb, "0.0.0.0/0", &gw).unwrap();
        assert_eq!(
            route(&ec2, &ctx, &rtb, "0.0.0.0/0", &gw),
            Err(Error::RouteAlreadyExists(
                "The route identified by 0.0.0.0/0 already exists.".into()
            ))
        );
        assert!(matches!(
            route(&ec2, &ctx, &rtb, "10.0.5.0/24", &gw),
            Err(Error::InvalidParameterValue(m)) if m.contains("more specific than one of this VPC's CIDR blocks")
        ));
        assert!(matches!(
            route(&ec2, &ctx, &rtb, "300.0.0.0/8", &gw),
            Err(Error::InvalidParameterValue(_))
        ));
        assert!(matches!(
            ec2.create_route(
                &ctx,
                CreateRouteRequest {
                    route_table_id: rtb.clone(),
                    destination_cidr_block: Some("1.0.0.0/8".into()),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidParameterCombination(_))
        ));
        let routes = describe_one(&ec2, &ctx, &rtb).routes.unwrap();
        assert_eq!(routes[1].gateway_id.as_deref(), Some(gw.as_str()));
        assert_eq!(routes[1].state.as_deref(), Some("active"));
        assert_eq!(routes[1].origin.as_deref(), Some("CreateRoute"));

        // Detached, the route is a blackhole.
        ec2.detach_internet_gateway(
            &ctx,
            DetachInternetGatewayRequest {
                internet_gateway_id: gw.clone(),
                vpc_id: vpc_id.clone(),
                dry_run: None,
            },
        )
        .unwrap();
        let routes = describe_one(&ec2, &ctx, &rtb).routes.unwrap();
        assert_eq!(routes[1].state.as_deref(), Some("blackhole"));

        // ReplaceRoute and DeleteRoute.
        let replace = |cidr: &str, gateway: &str| {
            ec2.replace_route(
                &ctx,
                ReplaceRouteRequest {
                    route_table_id: rtb.clone(),
                    destination_cidr_block: Some(cidr.into()),
                    gateway_id: Some(gateway.into()),
                    ..Default::default()
                },
            )
        };
        assert_eq!(
            replace("8.8.8.0/24", &loose),
            Err(Error::InvalidRouteNotFound(
                "There is no route defined for '8.8.8.0/24' in the route table. Use CreateRoute instead."
                    .into()
            ))
        );
        ec2.attach_internet_gateway(
            &ctx,
            AttachInternetGatewayRequest {
                internet_gateway_id: loose.clone(),
                vpc_id: vpc_id.clone(),
                dry_run: None,
            },
        )
        .unwrap();
        replace("0.0.0.0/0", &loose).unwrap();
        let routes = describe_one(&ec2, &ctx, &rtb).routes.unwrap();
        assert_eq!(routes[1].gateway_id.as_deref(), Some(loose.as_str()));
        assert_eq!(routes[1].state.as_deref(), Some("active"));
        let delete = |cidr: &str| {
            ec2.delete_route(
                &ctx,
                DeleteRouteRequest {
                    route_table_id: rtb.clone(),
                    destination_cidr_block: Some(cidr.into()),
                    ..Default::default()
                },
            )
        };
        assert_eq!(
            delete("10.0.0.0/16"),
            Err(Error::InvalidParameterValue(format!(
                "cannot remove local route 10.0.0.0/16 in route table {rtb}"
            )))
        );
        delete("0.0.0.0/0").unwrap();
        assert_eq!(
            delete("0.0.0.0/0"),
            Err(Error::InvalidRouteNotFound(format!(
                "no route with destination-cidr-block 0.0.0.0/0 in route table {rtb}"
            )))
        );
        assert_eq!(describe_one(&ec2, &ctx, &main).routes.unwrap().len(), 1);
    }

    #[test]
    fn routes_to_an_interface_and_across_networks() {
        let (_dir, ec2, ctx) = setup();
        let (vpc_id, _) = vpc(&ec2, &ctx, "10.0.0.0/16");
        let sub = subnet(&ec2, &ctx, &vpc_id, "10.0.1.0/24");
        let rtb = new_table(&ec2, &ctx, &vpc_id);
        let eni = crate::network_interfaces::create(
            &ec2,
            wharf_core::NewNetworkInterface {
                account: ctx.account_id.clone(),
                region: ctx.region.clone(),
                subnet_id: sub.clone(),
                private_ip: "10.0.1.4".into(),
                mac_address: "0e:00:00:00:00:01".into(),
                public_ip: None,
                security_groups: Vec::new(),
                description: "appliance".into(),
            },
        )
        .unwrap();
        let to_eni = |cidr: &str, rtb: &str| {
            ec2.create_route(
                &ctx,
                CreateRouteRequest {
                    route_table_id: rtb.into(),
                    destination_cidr_block: Some(cidr.into()),
                    network_interface_id: Some(eni.clone()),
                    ..Default::default()
                },
            )
        };
        // Inside the VPC's range only an interface may take traffic (a middlebox).
        to_eni("10.0.2.0/24", &rtb).unwrap();
        to_eni("192.168.0.0/16", &rtb).unwrap();
        let routes = describe_one(&ec2, &ctx, &rtb).routes.unwrap();
        assert_eq!(
            routes[1].network_interface_id.as_deref(),
            Some(eni.as_str())
        );
        assert_eq!(routes[1].gateway_id, None);
        assert_eq!(routes[1].state.as_deref(), Some("active"));
        let (other_vpc, _) = vpc(&ec2, &ctx, "10.1.0.0/16");
        let other_rtb = new_table(&ec2, &ctx, &other_vpc);
        assert_eq!(
            to_eni("0.0.0.0/0", &other_rtb),
            Err(Error::InvalidParameterValue(format!(
                "route table {other_rtb} and interface {eni} belong to different networks"
            )))
        );
        assert!(matches!(
            ec2.create_route(
                &ctx,
                CreateRouteRequest {
                    route_table_id: rtb.clone(),
                    destination_cidr_block: Some("0.0.0.0/0".into()),
                    nat_gateway_id: Some("nat-0123".into()),
                    ..Default::default()
                },
            ),
            Err(Error::NatGatewayNotFound(_))
        ));
        assert!(matches!(
            ec2.create_route(
                &ctx,
                CreateRouteRequest {
                    route_table_id: rtb.clone(),
                    destination_cidr_block: Some("0.0.0.0/0".into()),
                    transit_gateway_id: Some("tgw-0123".into()),
                    ..Default::default()
                },
            ),
            Err(Error::InvalidParameterValue(_))
        ));
        // The interface gone, its routes are blackholes.
        crate::network_interfaces::delete(&ec2, &ctx.account_id, &ctx.region, &eni).unwrap();
        let routes = describe_one(&ec2, &ctx, &rtb).routes.unwrap();
        assert_eq!(routes[1].state.as_deref(), Some("blackhole"));
        let blackholes = ec2
            .describe_route_tables(
                &ctx,
                DescribeRouteTablesRequest {
                    filters: Some(vec![filter("route.state", &["blackhole"])]),
                    ..Default::default()
                },
            )
            .unwrap()
            .route_tables
            .unwrap();
        assert_eq!(blackholes.len(), 1);
    }

    #[test]
    fn two_hundred_tables_per_vpc() {
        let (_dir, ec2, ctx) = setup();
        let (vpc_id, _) = vpc(&ec2, &ctx, "10.0.0.0/16");
        // The main table counts.
        for _ in 1..MAX_TABLES_PER_VPC {
            new_table(&ec2, &ctx, &vpc_id);
        }
        assert_eq!(
            ec2.create_route_table(
                &ctx,
                CreateRouteTableRequest {
                    vpc_id: vpc_id.clone(),
                    ..Default::default()
                }
            ),
            Err(Error::RouteTableLimitExceeded(
                "The maximum number of route tables has been reached.".into()
            ))
        );
    }

    #[test]
    fn limits_per_table() {
        let (_dir, ec2, ctx) = setup();
        let (vpc_id, _) = vpc(&ec2, &ctx, "10.0.0.0/16");
        let rtb = new_table(&ec2, &ctx, &vpc_id);
        let gw = igw(&ec2, &ctx, Some(&vpc_id));
        for i in 1..MAX_ROUTES_PER_TABLE {
            route(&ec2, &ctx, &rtb, &format!("192.168.{i}.0/24"), &gw).unwrap();
        }
        assert_eq!(
            route(&ec2, &ctx, &rtb, "172.16.0.0/12", &gw),
            Err(Error::RouteLimitExceeded(
                "The maximum number of routes has been reached.".into()
            ))
        );
        assert!(matches!(
            ec2.create_route_table(
                &ctx,
                CreateRouteTableRequest {
                    vpc_id: "vpc-nope".into(),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidVpcIDNotFound(_))
        ));
    }
}
