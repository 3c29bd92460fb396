//! A subnet's ways out, as the task agent needs them ([`wharf_core::SubnetNetwork`]): the route
//! its route table gives to the internet (an attached internet gateway, or an available NAT
//! gateway that itself sits in a public subnet), the VPC's interface endpoints with private DNS,
//! and the gateway endpoints on its route table. The decision of what that lets a task reach is
//! `wharf_core::subnet_network`'s (pure); this module only reads the records.

use crate::endpoint_services;
use crate::nat_gateways;
use crate::records::{
    scope_prefix, scoped_key, InternetGatewayRecord, RouteTableRecord, RouteTarget,
    VpcEndpointRecord, VpcRecord, INTERNET_GATEWAYS, NAT_GATEWAYS, SUBNETS, VPCS, VPC_ENDPOINTS,
};
use crate::routes::route_to;
use crate::routing_lookups;
use crate::Ec2;
use std::net::Ipv4Addr;
use wharf_core::{SubnetNetwork, Timestamp};
use wharf_store::{StoreError, Tx};

/// An address on the internet, standing for AWS's public service endpoints (TEST-NET-3): the
/// route a subnet's table gives it is the subnet's way to them.
const INTERNET: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

/// Subnet `id` of `account` in `region` with its ways out, if it exists.
pub fn subnet_network(
    ec2: &Ec2,
    account: &str,
    region: &str,
    id: &str,
) -> Result<Option<SubnetNetwork>, StoreError> {
    crate::default_network::ensure(ec2, account, region)?;
    let now = ec2.clock.now();
    ec2.store.read(|tx| {
        let Some(subnet) = tx.get(SUBNETS, &scoped_key(account, region, id))? else {
            return Ok(None);
        };
        let Some(vpc) = tx.get(VPCS, &scoped_key(account, region, &subnet.vpc_id))? else {
            return Ok(None);
        };
        let table = routing_lookups::for_subnet(tx, account, region, &subnet.id)?;
        let (internet_gateway, nat_gateway) = match &table {
            Some(t) => way_out(tx, account, region, &vpc, t, now, ec2.nat_settle_millis())?,
            None => (false, false),
        };
        let endpoints: Vec<VpcEndpointRecord> = tx
            .list(VPC_ENDPOINTS, &scope_prefix(account, region))?
            .into_iter()
            .map(|(_, e)| e)
            .filter(|e: &VpcEndpointRecord| e.vpc_id == vpc.id)
            .collect();
        let suffix = |e: &VpcEndpointRecord| {
            endpoint_services::find(region, &e.service_name).map(|s| s.suffix.to_string())
        };
        let interface_endpoints = endpoints
            .iter()
            .filter(|e| e.endpoint_type == "Interface" && e.private_dns_enabled)
            .filter_map(suffix)
            .collect();
        let gateway_endpoints = endpoints
            .iter()
            .filter(|e| {
                e.endpoint_type == "Gateway"
                    && table
                        .as_ref()
                        .is_some_and(|t| e.route_table_ids.contains(&t.id))
            })
            .filter_map(suffix)
            .collect();
        Ok(Some(SubnetNetwork {
            subnet_id: subnet.id,
            subnet_cidr: subnet.cidr_block,
            vpc_id: vpc.id,
            vpc_cidr: vpc.cidr_block,
            default_vpc: vpc.is_default,
            internet_gateway,
            nat_gateway,
            interface_endpoints,
            gateway_endpoints,
        }))
    })
}

/// Whether `table`'s route to the internet goes to an internet gateway attached to `vpc`, or to
/// a NAT gateway that is available at `now` and sits in a subnet routed to such a gateway.
fn way_out(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    vpc: &VpcRecord,
    table: &RouteTableRecord,
    now: Timestamp,
    nat_settle_millis: i64,
) -> Result<(bool, bool), StoreError> {
    match route_to(table, INTERNET).map(|r| &r.target) {
        Some(RouteTarget::InternetGateway(igw)) => {
            Ok((attached(tx, account, region, igw, &vpc.id)?, false))
        }
        Some(RouteTarget::NatGateway(nat)) => {
            let Some(nat) = tx.get(NAT_GATEWAYS, &scoped_key(account, region, nat))? else {
                return Ok((false, false));
            };
            if nat_gateways::state(&nat, now, nat_settle_millis) != "available" {
                return Ok((false, false));
            }
            // The NAT gateway's own subnet must be public.
            let Some(nat_table) = routing_lookups::for_subnet(tx, account, region, &nat.subnet_id)?
            else {
                return Ok((false, false));
            };
            let public = match route_to(&nat_table, INTERNET).map(|r| &r.target) {
                Some(RouteTarget::InternetGateway(igw)) => {
                    attached(tx, account, region, igw, &vpc.id)?
                }
                _ => false,
            };
            Ok((false, public))
        }
        _ => Ok((false, false)),
    }
}

fn attached(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    igw: &str,
    vpc_id: &str,
) -> Result<bool, StoreError> {
    let gateway: Option<InternetGatewayRecord> =
        tx.get(INTERNET_GATEWAYS, &scoped_key(account, region, igw))?;
    Ok(gateway.is_some_and(|g| g.attached_vpc.as_deref() == Some(vpc_id)))
}
