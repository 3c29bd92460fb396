//! VPC endpoints: CreateVpcEndpoint, DeleteVpcEndpoints, DescribeVpcEndpoints and
//! ModifyVpcEndpoint over the services of [`crate::endpoint_services`].
//!
//! A gateway endpoint (S3, DynamoDB) is a route: each of its route tables gets
//! `DestinationPrefixListId=pl-... -> vpce-...`, the service's prefix list. An interface
//! endpoint is one network interface per subnet (at most one subnet per zone), of type
//! `vpc_endpoint`, with the endpoint's security groups and the subnet's lowest free address;
//! with private DNS (the default for AWS services, which needs the VPC's DNS support and DNS
//! hostnames) the service's usual name answers inside the VPC, so only one endpoint per
//! service and VPC may have it. Every change to the routes and interfaces happens in the same
//! transaction as the endpoint's record, so a refused request changes nothing.
//!
//! Endpoints are `available` as soon as they are created (AWS's interface endpoints spend a
//! minute in `pending`; wharf has nothing to provision). Deleting one removes its routes and
//! interfaces at once and the endpoint is gone (AWS shows `deleted` for a while).

use crate::checks::check_dry_run;
use crate::endpoint_services::{
    self, stable_chars, EndpointService, DNS_CHARS, GATEWAY, INTERFACE,
};
use crate::filters::FilterSet;
use crate::generated::{
    CreateVpcEndpointRequest, CreateVpcEndpointResult, DeleteVpcEndpointsRequest,
    DeleteVpcEndpointsResult, DescribeVpcEndpointsRequest, DescribeVpcEndpointsResult, DnsEntry,
    DnsOptions, DnsOptionsSpecification, Error, ModifyVpcEndpointRequest, ModifyVpcEndpointResult,
    SecurityGroupIdentifier, SubnetConfiguration, UnsuccessfulItem, UnsuccessfulItemError,
    VpcEndpoint,
};
use crate::network_interfaces::free_address;
use crate::paging::page;
use crate::records::{
    scope_prefix, scoped_key, GroupRecord, GroupRef, InterfaceRecord, RouteRecord,
    RouteTableRecord, RouteTarget, SubnetRecord, VpcEndpointRecord, VpcRecord, GROUPS, INTERFACES,
    ROUTE_TABLES, SUBNETS, VPCS, VPC_ENDPOINTS,
};
use crate::tags;
use crate::Ec2;
use std::collections::{BTreeMap, BTreeSet};
use wharf_core::{RequestContext, Timestamp};
use wharf_store::{StoreError, Tx};

/// AWS's quota of endpoints per VPC ("Interface and Gateway Load Balancer endpoints per VPC").
pub const MAX_ENDPOINTS_PER_VPC: usize = 50;

/// The policy an endpoint gets when none is given: full access, as AWS writes it.
pub const FULL_ACCESS_POLICY: &str = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

/// The `InterfaceType` of an endpoint's network interfaces.
pub const INTERFACE_TYPE: &str = "vpc_endpoint";

/// Most endpoints one DescribeVpcEndpoints page holds.
const MAX_PAGE: i32 = 1000;

fn not_found(id: &str) -> Error {
    Error::InvalidVpcEndpointIdNotFound(format!("The Vpc Endpoint Id '{id}' does not exist"))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameter(message.into())
}

/// The endpoints of `vpc_id` of `account` in `region`, in id order.
pub fn endpoints_of_vpc(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    vpc_id: &str,
) -> Result<Vec<VpcEndpointRecord>, StoreError> {
    Ok(all(tx, account, region)?
        .into_iter()
        .filter(|e| e.vpc_id == vpc_id)
        .collect())
}

/// Every endpoint of `account` in `region`, in id order.
fn all(tx: &Tx<'_>, account: &str, region: &str) -> Result<Vec<VpcEndpointRecord>, StoreError> {
    let rows: Vec<(String, VpcEndpointRecord)> =
        tx.list(VPC_ENDPOINTS, &scope_prefix(account, region))?;
    Ok(rows.into_iter().map(|(_, e)| e).collect())
}

/// The service of a stored endpoint (every stored endpoint names one of the table's).
fn service_of(region: &str, endpoint: &VpcEndpointRecord) -> Option<&'static EndpointService> {
    endpoint_services::find(region, &endpoint.service_name)
}

/// The random-looking, stable part of an endpoint's DNS names (`vpce-<hex>-<this>.`).
fn dns_token(endpoint_id: &str) -> String {
    stable_chars(&format!("dns/{endpoint_id}"), 8, DNS_CHARS)
}

/// A hosted zone id (`Z` + 13 characters) stable for `seed`.
fn hosted_zone_id(seed: &str) -> String {
    format!(
        "Z{}",
        stable_chars(seed, 13, b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    )
}

impl VpcEndpointRecord {
    /// `DnsEntries`: the regional name, one per zone of its subnets, then the private name.
    fn dns_entries(&self, region: &str, zones: &[String]) -> Vec<DnsEntry> {
        let Some(service) = service_of(region, self).filter(|_| self.endpoint_type == INTERFACE)
        else {
            return Vec::new();
        };
        let domain = service.endpoint_dns_domain(region);
        let base = format!("{}-{}", self.id, dns_token(&self.id));
        let public_zone = hosted_zone_id(&format!("vpce/{region}"));
        let entry = |name: String, zone: &str| DnsEntry {
            dns_name: Some(name),
            hosted_zone_id: Some(zone.to_string()),
        };
        let mut out = vec![entry(format!("{base}.{domain}"), &public_zone)];
        for zone in zones {
            out.push(entry(format!("{base}-{zone}.{domain}"), &public_zone));
        }
        if self.private_dns_enabled {
            let private_zone = hosted_zone_id(&format!("private/{}", self.id));
            out.push(entry(service.private_dns_name(region), &private_zone));
        }
        out
    }

    /// The endpoint as the API shows it; `zones` are its subnets' zones, `groups` its groups'
    /// names by id.
    fn to_wire(
        &self,
        region: &str,
        zones: &[String],
        groups: &BTreeMap<String, String>,
    ) -> VpcEndpoint {
        let interface = self.endpoint_type == INTERFACE;
        VpcEndpoint {
            vpc_endpoint_id: Some(self.id.clone()),
            vpc_endpoint_type: Some(self.endpoint_type.clone()),
            vpc_id: Some(self.vpc_id.clone()),
            service_name: Some(self.service_name.clone()),
            state: Some("available".into()),
            policy_document: Some(self.policy_document.clone()),
            route_table_ids: Some(self.route_table_ids.clone()),
            subnet_ids: Some(self.subnet_ids.clone()),
            groups: Some(
                self.security_group_ids
                    .iter()
                    .map(|id| SecurityGroupIdentifier {
                        group_id: Some(id.clone()),
                        group_name: groups.get(id).cloned(),
                    })
                    .collect(),
            ),
            ip_address_type: interface.then(|| "ipv4".into()),
            dns_options: interface.then(|| DnsOptions {
                dns_record_ip_type: Some("ipv4".into()),
                private_dns_only_for_inbound_resolver_endpoint: None,
                private_dns_preference: None,
                private_dns_specified_domains: None,
            }),
            private_dns_enabled: Some(self.private_dns_enabled),
            requester_managed: Some(false),
            network_interface_ids: Some(self.network_interface_ids.clone()),
            dns_entries: Some(self.dns_entries(region, zones)),
            creation_timestamp: Some(self.creation_timestamp),
            tags: Some(tags::to_wire(&self.tags).unwrap_or_default()),
            owner_id: Some(self.owner_id.clone()),
            ..VpcEndpoint::default()
        }
    }

    /// The endpoint's values for a DescribeVpcEndpoints filter.
    fn field(&self, name: &str, region: &str) -> Vec<String> {
        match name {
            "service-name" => vec![self.service_name.clone()],
            "service-region" => vec![region.into()],
            "vpc-id" => vec![self.vpc_id.clone()],
            "vpc-endpoint-id" => vec![self.id.clone()],
            "vpc-endpoint-state" => vec!["available".into()],
            "vpc-endpoint-type" => vec![self.endpoint_type.clone()],
            "ip-address-type" if self.endpoint_type == INTERFACE => vec!["ipv4".into()],
            _ => Vec::new(),
        }
    }
}

/// Filter names DescribeVpcEndpoints accepts besides the tag filters.
const ENDPOINT_FILTERS: &[&str] = &[
    "service-name",
    "service-region",
    "vpc-id",
    "vpc-endpoint-id",
    "vpc-endpoint-state",
    "vpc-endpoint-type",
    "ip-address-type",
];

/// What an answer about endpoints needs besides the endpoints: their subnets' zones and their
/// groups' names.
struct Lookups {
    zones: BTreeMap<String, String>,
    groups: BTreeMap<String, String>,
    /// Route tables that exist: a deleted table drops out of its endpoints' `RouteTableIds`.
    tables: BTreeSet<String>,
}

impl Lookups {
    fn read(tx: &Tx<'_>, account: &str, region: &str) -> Result<Self, StoreError> {
        let prefix = scope_prefix(account, region);
        let subnets: Vec<(String, SubnetRecord)> = tx.list(SUBNETS, &prefix)?;
        let groups: Vec<(String, GroupRecord)> = tx.list(GROUPS, &prefix)?;
        let tables: Vec<(String, RouteTableRecord)> = tx.list(ROUTE_TABLES, &prefix)?;
        Ok(Self {
            tables: tables.into_iter().map(|(_, t)| t.id).collect(),
            zones: subnets
                .into_iter()
                .map(|(_, s)| (s.id, s.availability_zone))
                .collect(),
            groups: groups.into_iter().map(|(_, g)| (g.id, g.name)).collect(),
        })
    }

    fn wire(&self, endpoint: &VpcEndpointRecord, region: &str) -> VpcEndpoint {
        let zones: Vec<String> = endpoint
            .subnet_ids
            .iter()
            .filter_map(|s| self.zones.get(s).cloned())
            .collect();
        let mut shown = endpoint.clone();
        shown.route_table_ids.retain(|t| self.tables.contains(t));
        shown.to_wire(region, &zones, &self.groups)
    }
}

/// The request's view of where it runs: account, region, time.
struct Scope<'a> {
    account: &'a str,
    region: &'a str,
    now: Timestamp,
}

impl<'a> Scope<'a> {
    fn of(ctx: &'a RequestContext) -> Self {
        Self {
            account: &ctx.account_id,
            region: &ctx.region,
            now: ctx.now,
        }
    }

    fn key(&self, id: &str) -> String {
        scoped_key(self.account, self.region, id)
    }
}

fn load_vpc(tx: &Tx<'_>, scope: &Scope<'_>, vpc_id: &str) -> Result<VpcRecord, Error> {
    tx.get(VPCS, &scope.key(vpc_id))?
        .ok_or_else(|| Error::InvalidVpcIDNotFound(format!("The vpc ID '{vpc_id}' does not exist")))
}

fn load_endpoint(tx: &Tx<'_>, scope: &Scope<'_>, id: &str) -> Result<VpcEndpointRecord, Error> {
    tx.get(VPC_ENDPOINTS, &scope.key(id))?
        .ok_or_else(|| not_found(id))
}

/// A policy document as given: it must be a JSON object.
fn check_policy(policy: &str) -> Result<String, Error> {
    match serde_json::from_str::<serde_json::Value>(policy) {
        Ok(v) if v.is_object() => Ok(policy.to_string()),
        _ => Err(invalid(
            "The policy document is malformed: PolicyDocument must be a JSON object",
        )),
    }
}

/// Adds the route `prefix list -> endpoint` to each of `table_ids` (tables of `vpc_id`).
fn add_routes(
    tx: &Tx<'_>,
    scope: &Scope<'_>,
    vpc_id: &str,
    prefix_list: &str,
    endpoint_id: &str,
    table_ids: &[String],
) -> Result<(), Error> {
    for table_id in table_ids {
        let key = scope.key(table_id);
        let mut table = tx.get(ROUTE_TABLES, &key)?.ok_or_else(|| {
            Error::InvalidRouteTableIDNotFound(format!(
                "The routeTable ID '{table_id}' does not exist"
            ))
        })?;
        if table.vpc_id != vpc_id {
            return Err(invalid(format!(
                "The route table {table_id} belongs to {}, not to the endpoint's VPC {vpc_id}",
                table.vpc_id
            )));
        }
        if table
            .routes
            .iter()
            .any(|r| r.destination_prefix_list.as_deref() == Some(prefix_list))
        {
            return Err(Error::RouteAlreadyExists(format!(
                "route table {table_id} already has a route with destination-prefix-list-id {prefix_list}"
            )));
        }
        table.routes.push(RouteRecord {
            destination_cidr: None,
            destination_prefix_list: Some(prefix_list.into()),
            target: RouteTarget::VpcEndpoint(endpoint_id.into()),
            origin: "CreateRoute".into(),
        });
        tx.put(ROUTE_TABLES, &key, &table)?;
    }
    Ok(())
}

/// Removes the endpoint's routes from `table_ids` (tables deleted since are skipped).
fn remove_routes(
    tx: &Tx<'_>,
    scope: &Scope<'_>,
    endpoint_id: &str,
    table_ids: &[String],
) -> Result<(), StoreError> {
    for table_id in table_ids {
        let key = scope.key(table_id);
        if let Some(mut table) = tx.get(ROUTE_TABLES, &key)? {
            table
                .routes
                .retain(|r| r.target != RouteTarget::VpcEndpoint(endpoint_id.into()));
            tx.put(ROUTE_TABLES, &key, &table)?;
        }
    }
    Ok(())
}

/// The subnets `ids` of `vpc_id`, checked: they exist, are in the VPC, and no two of them (nor
/// any of `existing`) share a zone.
fn load_subnets(
    tx: &Tx<'_>,
    scope: &Scope<'_>,
    vpc_id: &str,
    ids: &[String],
    existing: &[String],
) -> Result<Vec<SubnetRecord>, Error> {
    let mut zones: BTreeMap<String, String> = BTreeMap::new();
    for id in existing {
        if let Some(s) = tx.get(SUBNETS, &scope.key(id))? {
            zones.insert(s.availability_zone, s.id);
        }
    }
    let mut out: Vec<SubnetRecord> = Vec::new();
    for id in ids {
        if out.iter().any(|s| &s.id == id) || existing.contains(id) {
            continue;
        }
        let subnet = tx.get(SUBNETS, &scope.key(id))?.ok_or_else(|| {
            Error::InvalidSubnetIDNotFound(format!("The subnet ID '{id}' does not exist"))
        })?;
        if subnet.vpc_id != vpc_id {
            return Err(invalid(format!(
                "The subnet {id} belongs to {}, not to the endpoint's VPC {vpc_id}",
                subnet.vpc_id
            )));
        }
        if zones.contains_key(&subnet.availability_zone) {
            return Err(Error::DuplicateSubnetsInSameZone(format!(
                "Found another VPC endpoint subnet in the availability zone of {id}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service."
            )));
        }
        zones.insert(subnet.availability_zone.clone(), subnet.id.clone());
        out.push(subnet);
    }
    Ok(out)
}

/// The groups `ids` (each in `vpc_id`), or the VPC's default group when `ids` is empty.
fn load_groups(
    tx: &Tx<'_>,
    scope: &Scope<'_>,
    vpc_id: &str,
    ids: &[String],
) -> Result<Vec<GroupRef>, Error> {
    let mut out: Vec<GroupRef> = Vec::new();
    for id in ids {
        if out.iter().any(|g| &g.id == id) {
            continue;
        }
        let group = tx.get(GROUPS, &scope.key(id))?.ok_or_else(|| {
            Error::InvalidGroupNotFound(format!("The security group '{id}' does not exist"))
        })?;
        if group.vpc_id != vpc_id {
            return Err(invalid(format!(
                "The security group {id} belongs to {}, not to the endpoint's VPC {vpc_id}",
                group.vpc_id
            )));
        }
        out.push(GroupRef {
            id: group.id,
            name: group.name,
        });
    }
    if ids.is_empty() {
        if let Some(g) =
            crate::default_network::default_group(tx, scope.account, scope.region, vpc_id)?
        {
            out.push(GroupRef {
                id: g.id,
                name: g.name,
            });
        }
    }
    Ok(out)
}

/// Refuses private DNS for `service` in `vpc` when the VPC's DNS attributes are off or another
/// endpoint of the VPC (other than `except`) already has it for the same service.
fn check_private_dns(
    tx: &Tx<'_>,
    scope: &Scope<'_>,
    vpc: &VpcRecord,
    service: &EndpointService,
    except: Option<&str>,
) -> Result<(), Error> {
    if !(vpc.enable_dns_support && vpc.enable_dns_hostnames) {
        return Err(invalid(format!(
            "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for {}",
            vpc.id
        )));
    }
    let name = service.name(scope.region);
    let conflict = endpoints_of_vpc(tx, scope.account, scope.region, &vpc.id)?
        .into_iter()
        .any(|e| e.private_dns_enabled && e.service_name == name && Some(e.id.as_str()) != except);
    if conflict {
        return Err(invalid(format!(
            "private-dns-enabled cannot be set because there is already a conflicting DNS domain for {} in the VPC {}",
            service.private_dns_name(scope.region),
            vpc.id
        )));
    }
    Ok(())
}

/// A MAC address of the locally administered range, as EC2 gives interfaces.
fn mac_address(ec2: &Ec2) -> String {
    let hex = ec2.ids.hex(10);
    let pairs: Vec<&str> = (0..5).filter_map(|i| hex.get(i * 2..i * 2 + 2)).collect();
    format!("0e:{}", pairs.join(":"))
}

/// Records the endpoint's interface in `subnet` with `groups`; returns its id.
fn create_interface(
    ec2: &Ec2,
    tx: &Tx<'_>,
    scope: &Scope<'_>,
    endpoint_id: &str,
    subnet: &SubnetRecord,
    groups: &[GroupRef],
) -> Result<String, Error> {
    let address = free_address(tx, scope.account, scope.region, subnet)?.ok_or_else(|| {
        invalid(format!(
            "The subnet {} has no free address for the endpoint's network interface",
            subnet.id
        ))
    })?;
    let record = InterfaceRecord {
        id: format!("eni-{}", ec2.ids.hex(17)),
        subnet_id: subnet.id.clone(),
        vpc_id: subnet.vpc_id.clone(),
        availability_zone: subnet.availability_zone.clone(),
        availability_zone_id: subnet.availability_zone_id.clone(),
        description: format!("VPC Endpoint Interface {endpoint_id}"),
        mac_address: mac_address(ec2),
        private_ip: address.to_string(),
        public_ip: None,
        groups: groups.to_vec(),
        owner_id: scope.account.into(),
        attachment_id: format!("ela-attach-{}", ec2.ids.hex(17)),
        attach_time: scope.now,
        tags: Vec::new(),
        interface_type: Some(INTERFACE_TYPE.into()),
    };
    tx.put(INTERFACES, &scope.key(&record.id), &record)?;
    Ok(record.id)
}

/// Refuses what wharf's endpoints cannot be: IPv6 or dualstack, per-subnet addresses
/// (`SubnetConfigurations`), DNS records other than IPv4 ones.
fn refuse_unsupported(
    ip_address_type: Option<&str>,
    subnet_configurations: Option<&[SubnetConfiguration]>,
    dns_options: Option<&DnsOptionsSpecification>,
) -> Result<(), Error> {
    if let Some(kind) = ip_address_type.filter(|t| *t != "ipv4") {
        return Err(invalid(format!(
            "IP address type '{kind}' needs IPv6 subnets, which wharf does not offer; use ipv4"
        )));
    }
    if subnet_configurations.is_some_and(|c| !c.is_empty()) {
        return Err(invalid(
            "SubnetConfigurations is not supported by wharf: each subnet's interface takes the subnet's lowest free address",
        ));
    }
    if let Some(kind) = dns_options
        .and_then(|d| d.dns_record_ip_type.as_deref())
        .filter(|t| *t != "ipv4")
    {
        return Err(invalid(format!(
            "DNS record IP type '{kind}' is not supported by wharf; use ipv4"
        )));
    }
    Ok(())
}

/// Whether the request asks for an endpoint type wharf does not know, or the service does not
/// offer; AWS's wording.
fn check_type(service: &EndpointService, endpoint_type: &str) -> Result<(), Error> {
    if service.offers(endpoint_type) {
        return Ok(());
    }
    Err(invalid(format!(
        "Endpoint type ({endpoint_type}) does not match available service types ([{}]).",
        service.types().join(", ")
    )))
}

/// The interface-only parameters a gateway endpoint refuses.
fn refuse_for_gateway(subnets: bool, groups: bool, private_dns: Option<bool>) -> Result<(), Error> {
    if subnets {
        return Err(invalid(
            "Subnets can only be specified for Interface endpoints",
        ));
    }
    if groups {
        return Err(invalid(
            "Security groups can only be specified for Interface endpoints",
        ));
    }
    if private_dns == Some(true) {
        return Err(invalid(
            "Private DNS can only be enabled for Interface endpoints",
        ));
    }
    Ok(())
}

/// CreateVpcEndpoint.
pub fn create(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: CreateVpcEndpointRequest,
) -> Result<CreateVpcEndpointResult, Error> {
    check_dry_run(input.dry_run)?;
    if input.service_network_arn.is_some() || input.resource_configuration_arn.is_some() {
        return Err(invalid(
            "wharf offers endpoints to AWS services only: ServiceNetworkArn and ResourceConfigurationArn are not supported",
        ));
    }
    if let Some(region) = input.service_region.as_deref().filter(|r| *r != ctx.region) {
        return Err(invalid(format!(
            "The service region '{region}' is not supported: wharf offers the endpoint services of the endpoint's own region only"
        )));
    }
    refuse_unsupported(
        input.ip_address_type.as_deref(),
        input.subnet_configurations.as_deref(),
        input.dns_options.as_ref(),
    )?;
    let service_name = input.service_name.clone().ok_or_else(|| {
        Error::MissingParameter("The request must contain the parameter ServiceName".into())
    })?;
    let service = endpoint_services::find(&ctx.region, &service_name)
        .ok_or_else(|| endpoint_services::unknown_service(&service_name))?;
    let endpoint_type = input
        .vpc_endpoint_type
        .clone()
        .unwrap_or_else(|| GATEWAY.into());
    check_type(service, &endpoint_type)?;
    let route_table_ids = input.route_table_ids.clone().unwrap_or_default();
    let subnet_ids = input.subnet_ids.clone().unwrap_or_default();
    let group_ids = input.security_group_ids.clone().unwrap_or_default();
    let private_dns = if endpoint_type == GATEWAY {
        refuse_for_gateway(
            !subnet_ids.is_empty(),
            !group_ids.is_empty(),
            input.private_dns_enabled,
        )?;
        false
    } else {
        if !route_table_ids.is_empty() {
            return Err(invalid(
                "Route tables can only be specified for Gateway endpoints",
            ));
        }
        input.private_dns_enabled.unwrap_or(true)
    };
    let policy = match input.policy_document.as_deref() {
        Some(p) => check_policy(p)?,
        None => FULL_ACCESS_POLICY.to_string(),
    };
    let tags = tags::from_specifications(input.tag_specifications.as_deref(), "vpc-endpoint")?;
    crate::default_network::ensure(ec2, &ctx.account_id, &ctx.region)?;
    let scope = Scope::of(ctx);
    let id = format!("vpce-{}", ec2.ids.hex(17));
    let (record, lookups) = ec2.store.write(|tx| {
        let vpc = load_vpc(tx, &scope, &input.vpc_id)?;
        if endpoints_of_vpc(tx, scope.account, scope.region, &vpc.id)?.len()
            >= MAX_ENDPOINTS_PER_VPC
        {
            return Err(Error::VpcEndpointLimitExceeded(format!(
                "The maximum number of VPC endpoints ({MAX_ENDPOINTS_PER_VPC}) has been reached for {}",
                vpc.id
            )));
        }
        let mut record = VpcEndpointRecord {
            id: id.clone(),
            vpc_id: vpc.id.clone(),
            service_name: service.name(scope.region),
            endpoint_type: endpoint_type.clone(),
            route_table_ids: Vec::new(),
            subnet_ids: Vec::new(),
            network_interface_ids: Vec::new(),
            security_group_ids: Vec::new(),
            private_dns_enabled: private_dns,
            policy_document: policy.clone(),
            creation_timestamp: scope.now,
            owner_id: scope.account.into(),
            tags: tags.clone(),
        };
        if endpoint_type == GATEWAY {
            let prefix_list = service.prefix_list(scope.region).ok_or_else(|| {
                invalid(format!("The service {service_name} has no prefix list"))
            })?;
            let mut tables: Vec<String> = Vec::new();
            for t in &route_table_ids {
                if !tables.contains(t) {
                    tables.push(t.clone());
                }
            }
            add_routes(tx, &scope, &vpc.id, &prefix_list.id, &id, &tables)?;
            record.route_table_ids = tables;
        } else {
            if private_dns {
                check_private_dns(tx, &scope, &vpc, service, None)?;
            }
            let groups = load_groups(tx, &scope, &vpc.id, &group_ids)?;
            let subnets = load_subnets(tx, &scope, &vpc.id, &subnet_ids, &[])?;
            for subnet in &subnets {
                let eni = create_interface(ec2, tx, &scope, &id, subnet, &groups)?;
                record.subnet_ids.push(subnet.id.clone());
                record.network_interface_ids.push(eni);
            }
            record.security_group_ids = groups.into_iter().map(|g| g.id).collect();
        }
        tx.put(VPC_ENDPOINTS, &scope.key(&id), &record)?;
        let lookups = Lookups::read(tx, scope.account, scope.region)?;
        Ok((record, lookups))
    })?;
    tracing::info!(endpoint = %record.id, vpc = %record.vpc_id, service = %record.service_name, "created vpc endpoint");
    Ok(CreateVpcEndpointResult {
        vpc_endpoint: Some(lookups.wire(&record, &ctx.region)),
        client_token: input.client_token,
    })
}

/// Removes what `endpoint` made: its routes, its interfaces, and its record.
fn remove(tx: &Tx<'_>, scope: &Scope<'_>, endpoint: &VpcEndpointRecord) -> Result<(), StoreError> {
    remove_routes(tx, scope, &endpoint.id, &endpoint.route_table_ids)?;
    for eni in &endpoint.network_interface_ids {
        tx.delete(INTERFACES, &scope.key(eni))?;
    }
    tx.delete(VPC_ENDPOINTS, &scope.key(&endpoint.id))?;
    Ok(())
}

/// DeleteVpcEndpoints: ids that do not exist come back as `Unsuccessful`, the rest are deleted.
pub fn delete(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DeleteVpcEndpointsRequest,
) -> Result<DeleteVpcEndpointsResult, Error> {
    check_dry_run(input.dry_run)?;
    let scope = Scope::of(ctx);
    let unsuccessful = ec2.store.write(|tx| {
        let mut unsuccessful = Vec::new();
        for id in &input.vpc_endpoint_ids {
            match tx.get(VPC_ENDPOINTS, &scope.key(id))? {
                Some(endpoint) => remove(tx, &scope, &endpoint)?,
                None => unsuccessful.push(UnsuccessfulItem {
                    error: Some(UnsuccessfulItemError {
                        code: Some("InvalidVpcEndpoint.NotFound".into()),
                        message: Some(format!("The Vpc Endpoint Id '{id}' does not exist")),
                    }),
                    resource_id: Some(id.clone()),
                }),
            }
        }
        Ok::<_, Error>(unsuccessful)
    })?;
    Ok(DeleteVpcEndpointsResult {
        unsuccessful: Some(unsuccessful),
    })
}

/// DescribeVpcEndpoints.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeVpcEndpointsRequest,
) -> Result<DescribeVpcEndpointsResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), ENDPOINT_FILTERS)?;
    let (mut endpoints, lookups) = ec2.store.read(|tx| {
        Ok::<_, StoreError>((
            all(tx, &ctx.account_id, &ctx.region)?,
            Lookups::read(tx, &ctx.account_id, &ctx.region)?,
        ))
    })?;
    let ids = input.vpc_endpoint_ids.unwrap_or_default();
    if let Some(missing) = ids
        .iter()
        .find(|id| !endpoints.iter().any(|e| &e.id == *id))
    {
        return Err(not_found(missing));
    }
    if !ids.is_empty() {
        endpoints.retain(|e| ids.contains(&e.id));
    }
    endpoints.retain(|e| filters.matches(|name| e.field(name, &ctx.region), &e.tags));
    let max = input.max_results.map(|m| m.clamp(1, MAX_PAGE));
    let (endpoints, next_token) = page(
        endpoints,
        |e| e.id.clone(),
        input.next_token.as_deref(),
        max,
    )?;
    Ok(DescribeVpcEndpointsResult {
        vpc_endpoints: Some(
            endpoints
                .iter()
                .map(|e| lookups.wire(e, &ctx.region))
                .collect(),
        ),
        next_token,
    })
}

/// Members of `list` not in `removed`; refuses a removed id the endpoint does not have.
fn without(
    list: &[String],
    removed: &[String],
    what: &str,
    endpoint: &str,
) -> Result<Vec<String>, Error> {
    if let Some(missing) = removed.iter().find(|id| !list.contains(id)) {
        return Err(invalid(format!(
            "The {what} {missing} is not associated with {endpoint}"
        )));
    }
    Ok(list
        .iter()
        .filter(|id| !removed.contains(id))
        .cloned()
        .collect())
}

/// ModifyVpcEndpoint's gateway part: route tables added and removed.
fn modify_gateway(
    tx: &Tx<'_>,
    scope: &Scope<'_>,
    service: &EndpointService,
    endpoint: &mut VpcEndpointRecord,
    input: &ModifyVpcEndpointRequest,
) -> Result<(), Error> {
    refuse_for_gateway(
        input.add_subnet_ids.is_some() || input.remove_subnet_ids.is_some(),
        input.add_security_group_ids.is_some() || input.remove_security_group_ids.is_some(),
        input.private_dns_enabled,
    )?;
    let removed = input.remove_route_table_ids.clone().unwrap_or_default();
    let mut tables = without(
        &endpoint.route_table_ids,
        &removed,
        "route table",
        &endpoint.id,
    )?;
    remove_routes(tx, scope, &endpoint.id, &removed)?;
    let mut added: Vec<String> = Vec::new();
    for id in input.add_route_table_ids.iter().flatten() {
        if !tables.contains(id) && !added.contains(id) {
            added.push(id.clone());
        }
    }
    if !added.is_empty() {
        let prefix_list = service
            .prefix_list(scope.region)
            .ok_or_else(|| invalid("The endpoint's service has no prefix list"))?;
        add_routes(
            tx,
            scope,
            &endpoint.vpc_id,
            &prefix_list.id,
            &endpoint.id,
            &added,
        )?;
        tables.extend(added);
    }
    endpoint.route_table_ids = tables;
    Ok(())
}

/// ModifyVpcEndpoint's interface part: subnets, security groups and private DNS.
fn modify_interface(
    ec2: &Ec2,
    tx: &Tx<'_>,
    scope: &Scope<'_>,
    service: &EndpointService,
    endpoint: &mut VpcEndpointRecord,
    input: &ModifyVpcEndpointRequest,
) -> Result<(), Error> {
    if input.add_route_table_ids.is_some() || input.remove_route_table_ids.is_some() {
        return Err(invalid(
            "Route tables can only be specified for Gateway endpoints",
        ));
    }
    // Security groups first: new interfaces get the endpoint's groups as modified.
    let removed_groups = input.remove_security_group_ids.clone().unwrap_or_default();
    let mut group_ids = without(
        &endpoint.security_group_ids,
        &removed_groups,
        "security group",
        &endpoint.id,
    )?;
    let added_groups = input.add_security_group_ids.clone().unwrap_or_default();
    if !added_groups.is_empty() {
        for g in load_groups(tx, scope, &endpoint.vpc_id, &added_groups)? {
            if !group_ids.contains(&g.id) {
                group_ids.push(g.id);
            }
        }
    }
    if group_ids.is_empty() {
        return Err(invalid(format!(
            "An interface endpoint needs at least one security group: removing every group of {} is not allowed",
            endpoint.id
        )));
    }
    let groups = load_groups(tx, scope, &endpoint.vpc_id, &group_ids)?;

    // Subnets: removed ones lose their interface, added ones get one.
    let removed_subnets = input.remove_subnet_ids.clone().unwrap_or_default();
    let kept = without(
        &endpoint.subnet_ids,
        &removed_subnets,
        "subnet",
        &endpoint.id,
    )?;
    let mut subnet_ids = Vec::new();
    let mut eni_ids = Vec::new();
    for (subnet, eni) in endpoint
        .subnet_ids
        .iter()
        .zip(&endpoint.network_interface_ids)
    {
        if kept.contains(subnet) {
            subnet_ids.push(subnet.clone());
            eni_ids.push(eni.clone());
        } else {
            tx.delete(INTERFACES, &scope.key(eni))?;
        }
    }
    let new_subnets = load_subnets(
        tx,
        scope,
        &endpoint.vpc_id,
        input.add_subnet_ids.as_deref().unwrap_or_default(),
        &subnet_ids,
    )?;
    for eni in &eni_ids {
        let key = scope.key(eni);
        if let Some(mut record) = tx.get(INTERFACES, &key)? {
            record.groups = groups.clone();
            tx.put(INTERFACES, &key, &record)?;
        }
    }
    for subnet in &new_subnets {
        let eni = create_interface(ec2, tx, scope, &endpoint.id, subnet, &groups)?;
        subnet_ids.push(subnet.id.clone());
        eni_ids.push(eni);
    }
    endpoint.subnet_ids = subnet_ids;
    endpoint.network_interface_ids = eni_ids;
    endpoint.security_group_ids = group_ids;

    if let Some(enabled) = input.private_dns_enabled {
        if enabled && !endpoint.private_dns_enabled {
            let vpc = load_vpc(tx, scope, &endpoint.vpc_id)?;
            check_private_dns(tx, scope, &vpc, service, Some(&endpoint.id))?;
        }
        endpoint.private_dns_enabled = enabled;
    }
    Ok(())
}

/// ModifyVpcEndpoint.
pub fn modify(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: ModifyVpcEndpointRequest,
) -> Result<ModifyVpcEndpointResult, Error> {
    check_dry_run(input.dry_run)?;
    if input.reset_policy == Some(true) && input.policy_document.is_some() {
        return Err(Error::InvalidParameterCombination(
            "PolicyDocument and ResetPolicy cannot be specified together".into(),
        ));
    }
    refuse_unsupported(
        input.ip_address_type.as_deref(),
        input.subnet_configurations.as_deref(),
        input.dns_options.as_ref(),
    )?;
    let policy = input
        .policy_document
        .as_deref()
        .map(check_policy)
        .transpose()?;
    let scope = Scope::of(ctx);
    ec2.store.write(|tx| {
        let mut endpoint = load_endpoint(tx, &scope, &input.vpc_endpoint_id)?;
        let service = service_of(scope.region, &endpoint)
            .ok_or_else(|| endpoint_services::unknown_service(&endpoint.service_name))?;
        if endpoint.endpoint_type == GATEWAY {
            modify_gateway(tx, &scope, service, &mut endpoint, &input)?;
        } else {
            modify_interface(ec2, tx, &scope, service, &mut endpoint, &input)?;
        }
        if let Some(policy) = &policy {
            endpoint.policy_document = policy.clone();
        }
        if input.reset_policy == Some(true) {
            endpoint.policy_document = FULL_ACCESS_POLICY.into();
        }
        tx.put(VPC_ENDPOINTS, &scope.key(&endpoint.id), &endpoint)?;
        Ok::<_, Error>(())
    })?;
    Ok(ModifyVpcEndpointResult {
        r#return: Some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::companions;
    use crate::generated::{Ec2Api, Tag, TagSpecification};
    use crate::tests::{filter, setup};

    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "us-east-1";

    /// A created VPC (10.0.0.0/16, DNS hostnames `hostnames`) with its companions and two
    /// subnets in zones a and b, written directly.
    struct Net {
        vpc: String,
        subnets: Vec<String>,
        main_table: String,
        default_group: String,
    }

    fn net(ec2: &Ec2, hostnames: bool) -> Net {
        crate::default_network::ensure(ec2, ACCOUNT, REGION).unwrap();
        let ids = ec2.ids.clone();
        ec2.store
            .write(|tx| {
                let vpc = VpcRecord {
                    id: format!("vpc-{}", ids.hex(17)),
                    cidr_block: "10.0.0.0/16".into(),
                    cidr_association_id: format!("vpc-cidr-assoc-{}", ids.hex(17)),
                    dhcp_options_id: "dopt-1".into(),
                    is_default: false,
                    owner_id: ACCOUNT.into(),
                    tags: Vec::new(),
                    enable_dns_support: true,
                    enable_dns_hostnames: hostnames,
                    enable_network_address_usage_metrics: false,
                    instance_tenancy: "default".into(),
                };
                tx.put(VPCS, &scoped_key(ACCOUNT, REGION, &vpc.id), &vpc)?;
                let made = companions::create(ids.as_ref(), tx, REGION, &vpc, None)?;
                let mut subnets = Vec::new();
                for (i, zone) in ["a", "b", "a"].iter().enumerate() {
                    let id = format!("subnet-{}", ids.hex(17));
                    let subnet = SubnetRecord {
                        arn: format!("arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{id}"),
                        id: id.clone(),
                        vpc_id: vpc.id.clone(),
                        cidr_block: format!("10.0.{i}.0/24"),
                        availability_zone: format!("{REGION}{zone}"),
                        availability_zone_id: format!("use1-az{}", i + 1),
                        default_for_az: false,
                        map_public_ip_on_launch: false,
                        available_ip_address_count: 251,
                        owner_id: ACCOUNT.into(),
                        tags: Vec::new(),
                    };
                    tx.put(SUBNETS, &scoped_key(ACCOUNT, REGION, &id), &subnet)?;
                    subnets.push(id);
                }
                Ok::<_, StoreError>(Net {
                    vpc: vpc.id,
                    subnets,
                    main_table: made.main_route_table,
                    default_group: made.security_group,
                })
            })
            .unwrap()
    }

    fn extra_table(ec2: &Ec2, vpc: &str) -> String {
        let table =
            RouteTableRecord::new_for_vpc(ec2.ids.as_ref(), vpc, "10.0.0.0/16", ACCOUNT, false);
        ec2.store
            .write(|tx| {
                tx.put(
                    ROUTE_TABLES,
                    &scoped_key(ACCOUNT, REGION, &table.id),
                    &table,
                )
            })
            .unwrap();
        table.id
    }

    fn routes(ec2: &Ec2, table: &str) -> Vec<RouteRecord> {
        ec2.store
            .read(|tx| tx.get(ROUTE_TABLES, &scoped_key(ACCOUNT, REGION, table)))
            .unwrap()
            .unwrap()
            .routes
    }

    fn interface(ec2: &Ec2, id: &str) -> Option<InterfaceRecord> {
        ec2.store
            .read(|tx| tx.get(INTERFACES, &scoped_key(ACCOUNT, REGION, id)))
            .unwrap()
    }

    fn service(suffix: &str) -> String {
        format!("com.amazonaws.{REGION}.{suffix}")
    }

    fn gateway(vpc: &str, tables: &[&str]) -> CreateVpcEndpointRequest {
        CreateVpcEndpointRequest {
            vpc_id: vpc.into(),
            service_name: Some(service("s3")),
            route_table_ids: Some(tables.iter().map(|t| t.to_string()).collect()),
            ..Default::default()
        }
    }

    fn interface_req(vpc: &str, suffix: &str, subnets: &[&str]) -> CreateVpcEndpointRequest {
        CreateVpcEndpointRequest {
            vpc_id: vpc.into(),
            vpc_endpoint_type: Some(INTERFACE.into()),
            service_name: Some(service(suffix)),
            subnet_ids: Some(subnets.iter().map(|t| t.to_string()).collect()),
            ..Default::default()
        }
    }

    fn describe_one(ec2: &Ec2, ctx: &RequestContext, id: &str) -> VpcEndpoint {
        ec2.describe_vpc_endpoints(
            ctx,
            DescribeVpcEndpointsRequest {
                vpc_endpoint_ids: Some(vec![id.into()]),
                ..Default::default()
            },
        )
        .unwrap()
        .vpc_endpoints
        .unwrap()
        .remove(0)
    }

    #[test]
    fn gateway_endpoints_are_routes_to_the_prefix_list() {
        let (_dir, ec2, ctx) = setup();
        let n = net(&ec2, false);
        let created = ec2
            .create_vpc_endpoint(&ctx, gateway(&n.vpc, &[&n.main_table, &n.main_table]))
            .unwrap()
            .vpc_endpoint
            .unwrap();
        let id = created.vpc_endpoint_id.clone().unwrap();
        assert!(id.starts_with("vpce-") && id.len() == 22);
        assert_eq!(
            created.vpc_endpoint_type.as_deref(),
            Some(GATEWAY),
            "the default type"
        );
        assert_eq!(created.state.as_deref(), Some("available"));
        assert_eq!(created.route_table_ids, Some(vec![n.main_table.clone()]));
        assert_eq!(created.dns_entries, Some(Vec::new()));
        assert_eq!(created.private_dns_enabled, Some(false));
        assert_eq!(created.policy_document.as_deref(), Some(FULL_ACCESS_POLICY));
        let pl = endpoint_services::find(REGION, &service("s3"))
            .unwrap()
            .prefix_list(REGION)
            .unwrap()
            .id;
        let route = routes(&ec2, &n.main_table).pop().unwrap();
        assert_eq!(route.destination_prefix_list.as_deref(), Some(pl.as_str()));
        assert_eq!(route.destination_cidr, None);
        assert_eq!(route.target, RouteTarget::VpcEndpoint(id.clone()));

        // One route per prefix list and table.
        assert!(matches!(
            ec2.create_vpc_endpoint(&ctx, gateway(&n.vpc, &[&n.main_table])),
            Err(Error::RouteAlreadyExists(_))
        ));
        assert!(matches!(
            ec2.create_vpc_endpoint(&ctx, gateway(&n.vpc, &["rtb-0000"])),
            Err(Error::InvalidRouteTableIDNotFound(_))
        ));
        let other = net(&ec2, false);
        assert!(matches!(
            ec2.create_vpc_endpoint(&ctx, gateway(&n.vpc, &[&other.main_table])),
            Err(Error::InvalidParameter(_))
        ));
        // DynamoDB's gateway is another prefix list: the same table takes it.
        let dynamo = CreateVpcEndpointRequest {
            service_name: Some(service("dynamodb")),
            ..gateway(&n.vpc, &[&n.main_table])
        };
        ec2.create_vpc_endpoint(&ctx, dynamo).unwrap();
        assert_eq!(routes(&ec2, &n.main_table).len(), 3);

        // Modify: move the S3 route to another table.
        let second = extra_table(&ec2, &n.vpc);
        ec2.modify_vpc_endpoint(
            &ctx,
            ModifyVpcEndpointRequest {
                vpc_endpoint_id: id.clone(),
                add_route_table_ids: Some(vec![second.clone()]),
                remove_route_table_ids: Some(vec![n.main_table.clone()]),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            describe_one(&ec2, &ctx, &id).route_table_ids,
            Some(vec![second.clone()])
        );
        assert_eq!(routes(&ec2, &n.main_table).len(), 2);
        assert_eq!(routes(&ec2, &second).len(), 2);
        // A table deleted since drops out of the endpoint's RouteTableIds.
        let third = extra_table(&ec2, &n.vpc);
        ec2.modify_vpc_endpoint(
            &ctx,
            ModifyVpcEndpointRequest {
                vpc_endpoint_id: id.clone(),
                add_route_table_ids: Some(vec![third.clone()]),
                ..Default::default()
            },
        )
        .unwrap();
        ec2.store
            .write(|tx| tx.delete(ROUTE_TABLES, &scoped_key(ACCOUNT, REGION, &third)))
            .unwrap();
        assert_eq!(
            describe_one(&ec2, &ctx, &id).route_table_ids,
            Some(vec![second.clone()])
        );
        assert!(matches!(
            ec2.modify_vpc_endpoint(
                &ctx,
                ModifyVpcEndpointRequest {
                    vpc_endpoint_id: id.clone(),
                    add_subnet_ids: Some(vec![n.subnets[0].clone()]),
                    ..Default::default()
                },
            ),
            Err(Error::InvalidParameter(_))
        ));

        let deleted = ec2
            .delete_vpc_endpoints(
                &ctx,
                DeleteVpcEndpointsRequest {
                    vpc_endpoint_ids: vec![id.clone(), "vpce-0000".into()],
                    ..Default::default()
                },
            )
            .unwrap()
            .unsuccessful
            .unwrap();
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0].resource_id.as_deref(), Some("vpce-0000"));
        assert_eq!(
            deleted[0].error.as_ref().unwrap().code.as_deref(),
            Some("InvalidVpcEndpoint.NotFound")
        );
        assert_eq!(
            routes(&ec2, &second).len(),
            1,
            "the route goes with the endpoint"
        );
        assert!(matches!(
            ec2.describe_vpc_endpoints(
                &ctx,
                DescribeVpcEndpointsRequest {
                    vpc_endpoint_ids: Some(vec![id]),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidVpcEndpointIdNotFound(_))
        ));
    }

    #[test]
    fn requests_aws_refuses() {
        let (_dir, ec2, ctx) = setup();
        let n = net(&ec2, true);
        let unknown = CreateVpcEndpointRequest {
            service_name: Some(service("ecr")),
            ..gateway(&n.vpc, &[])
        };
        assert_eq!(
            ec2.create_vpc_endpoint(&ctx, unknown),
            Err(Error::InvalidServiceName(format!(
                "The Vpc Endpoint Service '{}' does not exist",
                service("ecr")
            )))
        );
        let gateway_ecr = CreateVpcEndpointRequest {
            vpc_endpoint_type: None,
            ..interface_req(&n.vpc, "ecr.api", &[])
        };
        assert_eq!(
            ec2.create_vpc_endpoint(&ctx, gateway_ecr),
            Err(Error::InvalidParameter(
                "Endpoint type (Gateway) does not match available service types ([Interface])."
                    .into()
            ))
        );
        assert!(matches!(
            ec2.create_vpc_endpoint(&ctx, gateway("vpc-0000", &[])),
            Err(Error::InvalidVpcIDNotFound(_))
        ));
        let same_zone = interface_req(&n.vpc, "logs", &[&n.subnets[0], &n.subnets[2]]);
        assert_eq!(
            ec2.create_vpc_endpoint(&ctx, same_zone),
            Err(Error::DuplicateSubnetsInSameZone(format!(
                "Found another VPC endpoint subnet in the availability zone of {}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service.",
                n.subnets[2]
            )))
        );
        let bad_group = CreateVpcEndpointRequest {
            security_group_ids: Some(vec!["sg-0000".into()]),
            ..interface_req(&n.vpc, "logs", &[&n.subnets[0]])
        };
        assert!(matches!(
            ec2.create_vpc_endpoint(&ctx, bad_group),
            Err(Error::InvalidGroupNotFound(_))
        ));
        let bad_policy = CreateVpcEndpointRequest {
            policy_document: Some("not json".into()),
            ..gateway(&n.vpc, &[])
        };
        assert!(matches!(
            ec2.create_vpc_endpoint(&ctx, bad_policy),
            Err(Error::InvalidParameter(_))
        ));
        let dualstack = CreateVpcEndpointRequest {
            ip_address_type: Some("dualstack".into()),
            ..interface_req(&n.vpc, "logs", &[&n.subnets[0]])
        };
        assert!(matches!(
            ec2.create_vpc_endpoint(&ctx, dualstack),
            Err(Error::InvalidParameter(_))
        ));
        let load_balancer_type = CreateVpcEndpointRequest {
            vpc_endpoint_type: Some("GatewayLoadBalancer".into()),
            ..interface_req(&n.vpc, "logs", &[])
        };
        assert_eq!(
            ec2.create_vpc_endpoint(&ctx, load_balancer_type),
            Err(Error::InvalidParameter(
                "Endpoint type (GatewayLoadBalancer) does not match available service types ([Interface])."
                    .into()
            ))
        );
        // Nothing was left behind by the refused requests.
        let left = ec2
            .store
            .read(|tx| endpoints_of_vpc(tx, ACCOUNT, REGION, &n.vpc))
            .unwrap();
        assert!(left.is_empty());
        let enis: Vec<(String, InterfaceRecord)> = ec2
            .store
            .read(|tx| tx.list(INTERFACES, &scope_prefix(ACCOUNT, REGION)))
            .unwrap();
        assert!(enis.is_empty());
    }

    #[test]
    fn interface_endpoints_have_an_interface_per_subnet_and_private_dns() {
        let (_dir, ec2, ctx) = setup();
        let hostless = net(&ec2, false);
        assert_eq!(
            ec2.create_vpc_endpoint(&ctx, interface_req(&hostless.vpc, "ecr.api", &[])),
            Err(Error::InvalidParameter(format!(
                "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for {}",
                hostless.vpc
            )))
        );
        let without_dns = CreateVpcEndpointRequest {
            private_dns_enabled: Some(false),
            ..interface_req(&hostless.vpc, "ecr.api", &[])
        };
        ec2.create_vpc_endpoint(&ctx, without_dns).unwrap();

        let n = net(&ec2, true);
        let req = CreateVpcEndpointRequest {
            tag_specifications: Some(vec![TagSpecification {
                resource_type: Some("vpc-endpoint".into()),
                tags: Some(vec![Tag {
                    key: Some("Name".into()),
                    value: Some("ecr-dkr".into()),
                }]),
            }]),
            ..interface_req(&n.vpc, "ecr.dkr", &[&n.subnets[0], &n.subnets[1]])
        };
        let e = ec2
            .create_vpc_endpoint(&ctx, req)
            .unwrap()
            .vpc_endpoint
            .unwrap();
        let id = e.vpc_endpoint_id.clone().unwrap();
        assert_eq!(
            e.private_dns_enabled,
            Some(true),
            "AWS's default for AWS services"
        );
        assert_eq!(e.subnet_ids.as_ref().unwrap().len(), 2);
        let groups = e.groups.clone().unwrap();
        assert_eq!(
            groups[0].group_id.as_deref(),
            Some(n.default_group.as_str())
        );
        assert_eq!(groups[0].group_name.as_deref(), Some("default"));
        let names: Vec<String> = e
            .dns_entries
            .clone()
            .unwrap()
            .into_iter()
            .map(|d| d.dns_name.unwrap())
            .collect();
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(names[0].starts_with(&format!("{id}-")));
        assert!(names[0].ends_with(".dkr.ecr.us-east-1.vpce.amazonaws.com"));
        assert!(names[1].ends_with("-us-east-1a.dkr.ecr.us-east-1.vpce.amazonaws.com"));
        assert!(names[2].ends_with("-us-east-1b.dkr.ecr.us-east-1.vpce.amazonaws.com"));
        assert_eq!(names[3], "*.dkr.ecr.us-east-1.amazonaws.com");
        assert_eq!(
            e.tags.as_ref().unwrap()[0].value.as_deref(),
            Some("ecr-dkr")
        );

        let enis = e.network_interface_ids.clone().unwrap();
        assert_eq!(enis.len(), 2);
        let first = interface(&ec2, &enis[0]).unwrap();
        assert_eq!(first.subnet_id, n.subnets[0]);
        assert_eq!(
            first.private_ip, "10.0.0.4",
            "the lowest address AWS does not reserve"
        );
        assert_eq!(first.interface_type.as_deref(), Some(INTERFACE_TYPE));
        assert_eq!(first.description, format!("VPC Endpoint Interface {id}"));
        assert_eq!(first.groups[0].id, n.default_group);

        // A second endpoint with private DNS for the same service in the VPC is refused.
        let err = ec2
            .create_vpc_endpoint(&ctx, interface_req(&n.vpc, "ecr.dkr", &[]))
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidParameter(format!(
                "private-dns-enabled cannot be set because there is already a conflicting DNS domain for *.dkr.ecr.us-east-1.amazonaws.com in the VPC {}",
                n.vpc
            ))
        );
        // Another service takes the next address of the subnet.
        let logs = ec2
            .create_vpc_endpoint(&ctx, interface_req(&n.vpc, "logs", &[&n.subnets[0]]))
            .unwrap()
            .vpc_endpoint
            .unwrap();
        let logs_eni = interface(&ec2, &logs.network_interface_ids.unwrap()[0]).unwrap();
        assert_eq!(logs_eni.private_ip, "10.0.0.5");

        let found = ec2
            .store
            .read(|tx| endpoints_of_vpc(tx, ACCOUNT, REGION, &n.vpc))
            .unwrap();
        assert_eq!(found.len(), 2);

        ec2.delete_vpc_endpoints(
            &ctx,
            DeleteVpcEndpointsRequest {
                vpc_endpoint_ids: vec![id],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(enis.iter().all(|eni| interface(&ec2, eni).is_none()));
    }

    #[test]
    fn modify_interface_endpoints() {
        let (_dir, ec2, ctx) = setup();
        let n = net(&ec2, true);
        let e = ec2
            .create_vpc_endpoint(
                &ctx,
                interface_req(&n.vpc, "secretsmanager", &[&n.subnets[0]]),
            )
            .unwrap()
            .vpc_endpoint
            .unwrap();
        let id = e.vpc_endpoint_id.unwrap();
        let group = ec2
            .store
            .write(|tx| {
                let g = GroupRecord::default_for_vpc(ec2.ids.as_ref(), &n.vpc, ACCOUNT);
                let g = GroupRecord {
                    name: "endpoints".into(),
                    ..g
                };
                tx.put(GROUPS, &scoped_key(ACCOUNT, REGION, &g.id), &g)?;
                Ok::<_, StoreError>(g.id)
            })
            .unwrap();
        let modify = |req: ModifyVpcEndpointRequest| {
            ec2.modify_vpc_endpoint(
                &ctx,
                ModifyVpcEndpointRequest {
                    vpc_endpoint_id: id.clone(),
                    ..req
                },
            )
        };
        modify(ModifyVpcEndpointRequest {
            add_subnet_ids: Some(vec![n.subnets[1].clone()]),
            remove_subnet_ids: Some(vec![n.subnets[0].clone()]),
            add_security_group_ids: Some(vec![group.clone()]),
            remove_security_group_ids: Some(vec![n.default_group.clone()]),
            policy_document: Some(r#"{"Statement":[]}"#.into()),
            private_dns_enabled: Some(false),
            ..Default::default()
        })
        .unwrap();
        let now = describe_one(&ec2, &ctx, &id);
        assert_eq!(now.subnet_ids, Some(vec![n.subnets[1].clone()]));
        assert_eq!(now.private_dns_enabled, Some(false));
        assert_eq!(now.policy_document.as_deref(), Some(r#"{"Statement":[]}"#));
        assert_eq!(
            now.dns_entries.as_ref().unwrap().len(),
            2,
            "regional and zone b"
        );
        let enis = now.network_interface_ids.unwrap();
        assert_eq!(enis.len(), 1);
        let eni = interface(&ec2, &enis[0]).unwrap();
        assert_eq!(eni.subnet_id, n.subnets[1]);
        assert_eq!(eni.groups[0].id, group);
        assert_eq!(
            ec2.describe_network_interfaces(&ctx, Default::default())
                .unwrap()
                .network_interfaces
                .unwrap()
                .len(),
            1,
            "the removed subnet's interface is gone"
        );

        assert!(modify(ModifyVpcEndpointRequest {
            remove_security_group_ids: Some(vec![group.clone()]),
            ..Default::default()
        })
        .is_err());
        assert!(
            modify(ModifyVpcEndpointRequest {
                add_subnet_ids: Some(vec![n.subnets[2].clone()]),
                ..Default::default()
            })
            .is_ok(),
            "zone a is free again"
        );
        assert!(modify(ModifyVpcEndpointRequest {
            add_route_table_ids: Some(vec![n.main_table.clone()]),
            ..Default::default()
        })
        .is_err());
        modify(ModifyVpcEndpointRequest {
            reset_policy: Some(true),
            private_dns_enabled: Some(true),
            ..Default::default()
        })
        .unwrap();
        let now = describe_one(&ec2, &ctx, &id);
        assert_eq!(now.policy_document.as_deref(), Some(FULL_ACCESS_POLICY));
        assert_eq!(now.private_dns_enabled, Some(true));
        assert!(matches!(
            ec2.modify_vpc_endpoint(
                &ctx,
                ModifyVpcEndpointRequest {
                    vpc_endpoint_id: "vpce-0000".into(),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidVpcEndpointIdNotFound(_))
        ));
    }

    #[test]
    fn describe_filters_pages_and_the_limit() {
        let (_dir, ec2, ctx) = setup();
        let n = net(&ec2, true);
        let mut ids = Vec::new();
        for _ in 0..MAX_ENDPOINTS_PER_VPC {
            let no_dns = CreateVpcEndpointRequest {
                private_dns_enabled: Some(false),
                ..interface_req(&n.vpc, "sts", &[])
            };
            let e = ec2.create_vpc_endpoint(&ctx, no_dns).unwrap();
            ids.push(e.vpc_endpoint.unwrap().vpc_endpoint_id.unwrap());
        }
        assert!(matches!(
            ec2.create_vpc_endpoint(&ctx, gateway(&n.vpc, &[])),
            Err(Error::VpcEndpointLimitExceeded(_))
        ));
        let other = net(&ec2, true);
        ec2.create_vpc_endpoint(&ctx, gateway(&other.vpc, &[]))
            .unwrap();

        let count = |filters: Vec<crate::generated::Filter>| {
            ec2.describe_vpc_endpoints(
                &ctx,
                DescribeVpcEndpointsRequest {
                    filters: Some(filters),
                    ..Default::default()
                },
            )
            .unwrap()
            .vpc_endpoints
            .unwrap()
            .len()
        };
        assert_eq!(count(vec![filter("vpc-id", &[&n.vpc])]), 50);
        assert_eq!(count(vec![filter("vpc-endpoint-type", &["Gateway"])]), 1);
        assert_eq!(count(vec![filter("service-name", &["*.s3"])]), 1);
        assert_eq!(
            count(vec![filter("vpc-endpoint-state", &["available"])]),
            51
        );
        assert_eq!(count(vec![filter("vpc-endpoint-id", &[&ids[3]])]), 1);
        assert_eq!(count(vec![filter("tag-key", &["Name"])]), 0);
        assert!(matches!(
            ec2.describe_vpc_endpoints(
                &ctx,
                DescribeVpcEndpointsRequest {
                    filters: Some(vec![filter("state", &["x"])]),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidParameterValue(_))
        ));

        let mut seen = Vec::new();
        let mut token = None;
        for _ in 0..20 {
            let got = ec2
                .describe_vpc_endpoints(
                    &ctx,
                    DescribeVpcEndpointsRequest {
                        max_results: Some(20),
                        next_token: token.clone(),
                        ..Default::default()
                    },
                )
                .unwrap();
            seen.extend(got.vpc_endpoints.unwrap());
            token = got.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen.len(), 51);
    }
}
