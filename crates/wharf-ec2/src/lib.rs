//! Amazon EC2 networking as container workloads see it: each account's default VPC with one
//! subnet per availability zone, security groups with their rules, and the network interfaces
//! tasks are given. EC2 is regional: every record is keyed `<account>/<region>/<id>`.
//!
//! Module map, bottom to top:
//! - `generated`: botocore-derived wire types and the `Ec2Api` trait (never stored)
//! - `records`: the stored VPCs, subnets, default networks, security groups (with their rules)
//!   and network interfaces, their tables and keys
//! - `checks`, `paging`, `filters`, `tags`: what every operation shares: `DryRun` and id
//!   shapes, `NextToken` / `MaxResults`, the Describe filter language, `TagSpecifications`
//! - `zones`: the availability zones and DescribeAvailabilityZones
//! - `default_network`: the default VPC, subnets and group, created on first use
//! - `security_group_rules`: the pure logic of security group rules (`IpPermissions` in, one
//!   rule per peer stored, grouped `IpPermissions` out)
//! - `vpcs`, `subnets`, `security_groups`, `network_interfaces`: one module per resource with
//!   its operations
//! - this file: the [`Ec2`] service, the one-line delegation of each `Ec2Api` operation, and the
//!   small Rust API other services use (ECS placing a task's network interface, the load
//!   balancer finding a VPC) through [`wharf_core::NetworkInterfaces`].

pub mod account_attributes;
pub mod addresses;
pub mod checks;
pub mod cidr_rules;
pub mod companions;
pub mod default_network;
pub mod endpoint_services;
pub mod filters;
pub mod generated;
pub mod interface_filters;
pub mod internet_gateways;
pub mod nat_gateways;
pub mod network_acls;
pub mod network_interfaces;
pub mod paging;
pub mod records;
pub mod resource_tags;
pub mod route_tables;
pub mod routes;
pub mod routing_lookups;
pub mod security_group_rules;
pub mod security_groups;
pub mod single_attribute;
pub mod subnet_reach;
pub mod subnets;
pub mod tags;
pub mod vpc_endpoints;
pub mod vpcs;
pub mod zones;

pub use security_groups::SecurityGroupInfo;
pub use subnets::SubnetInfo;

use generated::*;
use generated::{
    AuthorizeSecurityGroupEgressRequest, AuthorizeSecurityGroupEgressResult,
    AuthorizeSecurityGroupIngressRequest, AuthorizeSecurityGroupIngressResult,
    CreateSecurityGroupRequest, CreateSecurityGroupResult, DeleteSecurityGroupRequest,
    DeleteSecurityGroupResult, DescribeAvailabilityZonesRequest, DescribeAvailabilityZonesResult,
    DescribeNetworkInterfacesRequest, DescribeNetworkInterfacesResult,
    DescribeSecurityGroupsRequest, DescribeSecurityGroupsResult, DescribeSubnetsRequest,
    DescribeSubnetsResult, DescribeVpcsRequest, DescribeVpcsResult, Ec2Api, Error,
    RevokeSecurityGroupEgressRequest, RevokeSecurityGroupEgressResult,
    RevokeSecurityGroupIngressRequest, RevokeSecurityGroupIngressResult,
};
use std::sync::Arc;
use std::time::Duration;
use wharf_core::ipv4::Ipv4Net;
use wharf_core::packet_filter::{FilterChangeNotifier, InterfaceFilter};
use wharf_core::{
    Clock, IdGen, NetworkInterfaces, NewNetworkInterface, PlacementSubnet, RequestContext,
    SubnetNetwork, SystemClock, VpcInfo,
};
use wharf_store::{Store, StoreError};

/// The EC2 service. Cloning is cheap and shares the store, so one instance can serve the API
/// gateway and, as [`wharf_core::NetworkInterfaces`], the task runtime.
#[derive(Clone)]
pub struct Ec2 {
    pub(crate) store: Arc<Store>,
    /// Makes resource ids (`vpc-`, `subnet-`, `sg-`, `sgr-`, `eni-`...).
    pub(crate) ids: Arc<dyn IdGen>,
    /// Stamps what the runtime records outside a request (an interface's `AttachTime`).
    pub(crate) clock: Arc<dyn Clock>,
    /// Where Elastic IPs come from (AllocateAddress takes the lowest free address).
    pub(crate) elastic_ip_range: Ipv4Net,
    /// How long a NAT gateway stays `pending` before it is `available`.
    pub(crate) nat_provisioning: Duration,
    /// Told after every change that may change an interface's packet filter.
    pub(crate) filter_changes: Option<FilterChangeNotifier>,
}

/// wharf's Elastic IP range unless the server is given another.
pub const DEFAULT_ELASTIC_IP_RANGE: Ipv4Net = Ipv4Net {
    base: 0x6441_0000, // 100.65.0.0
    prefix: 16,
};

/// How long a NAT gateway is `pending` unless the server is given another time.
pub const DEFAULT_NAT_PROVISIONING: Duration = Duration::from_secs(2);

impl Ec2 {
    /// EC2 over `store`, making resource ids with `ids` (and reading the system clock).
    pub fn new(store: Arc<Store>, ids: Arc<dyn IdGen>) -> Self {
        Self {
            store,
            ids,
            clock: Arc::new(SystemClock),
            elastic_ip_range: DEFAULT_ELASTIC_IP_RANGE,
            nat_provisioning: DEFAULT_NAT_PROVISIONING,
            filter_changes: None,
        }
    }

    /// The same service telling `notifier` after every change that may change an interface's
    /// packet filter (rules authorized or revoked, interfaces made, removed or regrouped).
    pub fn with_filter_changes(mut self, notifier: FilterChangeNotifier) -> Self {
        self.filter_changes = Some(notifier);
        self
    }

    /// Tells the filter keeper that some interface's filter may have changed.
    pub(crate) fn filters_changed(&self) {
        if let Some(notify) = &self.filter_changes {
            notify();
        }
    }

    /// The same service allocating Elastic IPs from `range`.
    pub fn with_elastic_ip_range(mut self, range: Ipv4Net) -> Self {
        self.elastic_ip_range = range;
        self
    }

    /// The same service with NAT gateways `pending` for `provisioning` before `available`.
    pub fn with_nat_provisioning(mut self, provisioning: Duration) -> Self {
        self.nat_provisioning = provisioning;
        self
    }

    /// How long NAT gateways take to provision and to delete, in milliseconds.
    pub(crate) fn nat_settle_millis(&self) -> i64 {
        i64::try_from(self.nat_provisioning.as_millis()).unwrap_or(i64::MAX)
    }

    /// The same service reading time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The default subnets of `account` in `region` (one per zone, in zone order), created with
    /// the default VPC on first use.
    pub fn default_subnets(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Vec<SubnetInfo>, StoreError> {
        subnets::defaults(self, account, region)
    }

    /// The subnet `subnet_id` of `account` in `region`, if it exists.
    pub fn subnet(
        &self,
        account: &str,
        region: &str,
        subnet_id: &str,
    ) -> Result<Option<SubnetInfo>, StoreError> {
        subnets::info(self, account, region, subnet_id)
    }

    /// The security group `group_id` of `account` in `region`, if it exists.
    pub fn security_group(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
    ) -> Result<Option<SecurityGroupInfo>, StoreError> {
        security_groups::info(self, account, region, group_id)
    }

    /// The `default` security group of `vpc_id` (what ECS uses when a task names no group).
    pub fn default_security_group(
        &self,
        account: &str,
        region: &str,
        vpc_id: &str,
    ) -> Result<Option<SecurityGroupInfo>, StoreError> {
        security_groups::default_of_vpc(self, account, region, vpc_id)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "ec2 state store failure");
        Error::InternalError(
            "An internal error has occurred in the state store; the request can be retried.".into(),
        )
    }
}

impl Ec2Api for Ec2 {
    fn describe_vpcs(
        &self,
        ctx: &RequestContext,
        input: DescribeVpcsRequest,
    ) -> Result<DescribeVpcsResult, Error> {
        vpcs::describe(self, ctx, input)
    }

    fn describe_subnets(
        &self,
        ctx: &RequestContext,
        input: DescribeSubnetsRequest,
    ) -> Result<DescribeSubnetsResult, Error> {
        subnets::describe(self, ctx, input)
    }

    fn describe_availability_zones(
        &self,
        ctx: &RequestContext,
        input: DescribeAvailabilityZonesRequest,
    ) -> Result<DescribeAvailabilityZonesResult, Error> {
        zones::describe(ctx, input)
    }

    fn create_security_group(
        &self,
        ctx: &RequestContext,
        input: CreateSecurityGroupRequest,
    ) -> Result<CreateSecurityGroupResult, Error> {
        security_groups::create(self, ctx, input)
    }

    fn describe_security_groups(
        &self,
        ctx: &RequestContext,
        input: DescribeSecurityGroupsRequest,
    ) -> Result<DescribeSecurityGroupsResult, Error> {
        security_groups::describe(self, ctx, input)
    }

    fn delete_security_group(
        &self,
        ctx: &RequestContext,
        input: DeleteSecurityGroupRequest,
    ) -> Result<DeleteSecurityGroupResult, Error> {
        security_groups::delete(self, ctx, input)
    }

    fn authorize_security_group_ingress(
        &self,
        ctx: &RequestContext,
        input: AuthorizeSecurityGroupIngressRequest,
    ) -> Result<AuthorizeSecurityGroupIngressResult, Error> {
        security_groups::authorize_ingress(self, ctx, input)
    }

    fn authorize_security_group_egress(
        &self,
        ctx: &RequestContext,
        input: AuthorizeSecurityGroupEgressRequest,
    ) -> Result<AuthorizeSecurityGroupEgressResult, Error> {
        security_groups::authorize_egress(self, ctx, input)
    }

    fn revoke_security_group_ingress(
        &self,
        ctx: &RequestContext,
        input: RevokeSecurityGroupIngressRequest,
    ) -> Result<RevokeSecurityGroupIngressResult, Error> {
        security_groups::revoke_ingress(self, ctx, input)
    }

    fn revoke_security_group_egress(
        &self,
        ctx: &RequestContext,
        input: RevokeSecurityGroupEgressRequest,
    ) -> Result<RevokeSecurityGroupEgressResult, Error> {
        security_groups::revoke_egress(self, ctx, input)
    }

    fn describe_network_interfaces(
        &self,
        ctx: &RequestContext,
        input: DescribeNetworkInterfacesRequest,
    ) -> Result<DescribeNetworkInterfacesResult, Error> {
        network_interfaces::describe(self, ctx, input)
    }

    fn create_vpc(
        &self,
        ctx: &RequestContext,
        input: CreateVpcRequest,
    ) -> Result<CreateVpcResult, Error> {
        vpcs::create(self, ctx, input)
    }

    fn delete_vpc(&self, ctx: &RequestContext, input: DeleteVpcRequest) -> Result<(), Error> {
        vpcs::delete(self, ctx, input)
    }

    fn modify_vpc_attribute(
        &self,
        ctx: &RequestContext,
        input: ModifyVpcAttributeRequest,
    ) -> Result<(), Error> {
        vpcs::modify_attribute(self, ctx, input)
    }

    fn describe_vpc_attribute(
        &self,
        ctx: &RequestContext,
        input: DescribeVpcAttributeRequest,
    ) -> Result<DescribeVpcAttributeResult, Error> {
        vpcs::describe_attribute(self, ctx, input)
    }

    fn create_subnet(
        &self,
        ctx: &RequestContext,
        input: CreateSubnetRequest,
    ) -> Result<CreateSubnetResult, Error> {
        subnets::create(self, ctx, input)
    }

    fn delete_subnet(&self, ctx: &RequestContext, input: DeleteSubnetRequest) -> Result<(), Error> {
        subnets::delete(self, ctx, input)
    }

    fn modify_subnet_attribute(
        &self,
        ctx: &RequestContext,
        input: ModifySubnetAttributeRequest,
    ) -> Result<(), Error> {
        subnets::modify_attribute(self, ctx, input)
    }

    fn create_internet_gateway(
        &self,
        ctx: &RequestContext,
        input: CreateInternetGatewayRequest,
    ) -> Result<CreateInternetGatewayResult, Error> {
        internet_gateways::create(self, ctx, input)
    }

    fn delete_internet_gateway(
        &self,
        ctx: &RequestContext,
        input: DeleteInternetGatewayRequest,
    ) -> Result<(), Error> {
        internet_gateways::delete(self, ctx, input)
    }

    fn attach_internet_gateway(
        &self,
        ctx: &RequestContext,
        input: AttachInternetGatewayRequest,
    ) -> Result<(), Error> {
        internet_gateways::attach(self, ctx, input)
    }

    fn detach_internet_gateway(
        &self,
        ctx: &RequestContext,
        input: DetachInternetGatewayRequest,
    ) -> Result<(), Error> {
        internet_gateways::detach(self, ctx, input)
    }

    fn describe_internet_gateways(
        &self,
        ctx: &RequestContext,
        input: DescribeInternetGatewaysRequest,
    ) -> Result<DescribeInternetGatewaysResult, Error> {
        internet_gateways::describe(self, ctx, input)
    }

    fn create_route_table(
        &self,
        ctx: &RequestContext,
        input: CreateRouteTableRequest,
    ) -> Result<CreateRouteTableResult, Error> {
        route_tables::create(self, ctx, input)
    }

    fn delete_route_table(
        &self,
        ctx: &RequestContext,
        input: DeleteRouteTableRequest,
    ) -> Result<(), Error> {
        route_tables::delete(self, ctx, input)
    }

    fn describe_route_tables(
        &self,
        ctx: &RequestContext,
        input: DescribeRouteTablesRequest,
    ) -> Result<DescribeRouteTablesResult, Error> {
        route_tables::describe(self, ctx, input)
    }

    fn associate_route_table(
        &self,
        ctx: &RequestContext,
        input: AssociateRouteTableRequest,
    ) -> Result<AssociateRouteTableResult, Error> {
        route_tables::associate(self, ctx, input)
    }

    fn disassociate_route_table(
        &self,
        ctx: &RequestContext,
        input: DisassociateRouteTableRequest,
    ) -> Result<(), Error> {
        route_tables::disassociate(self, ctx, input)
    }

    fn replace_route_table_association(
        &self,
        ctx: &RequestContext,
        input: ReplaceRouteTableAssociationRequest,
    ) -> Result<ReplaceRouteTableAssociationResult, Error> {
        route_tables::replace_association(self, ctx, input)
    }

    fn create_route(
        &self,
        ctx: &RequestContext,
        input: CreateRouteRequest,
    ) -> Result<CreateRouteResult, Error> {
        route_tables::create_route(self, ctx, input)
    }

    fn replace_route(&self, ctx: &RequestContext, input: ReplaceRouteRequest) -> Result<(), Error> {
        route_tables::replace_route(self, ctx, input)
    }

    fn delete_route(&self, ctx: &RequestContext, input: DeleteRouteRequest) -> Result<(), Error> {
        route_tables::delete_route(self, ctx, input)
    }

    fn allocate_address(
        &self,
        ctx: &RequestContext,
        input: AllocateAddressRequest,
    ) -> Result<AllocateAddressResult, Error> {
        addresses::allocate(self, ctx, input)
    }

    fn release_address(
        &self,
        ctx: &RequestContext,
        input: ReleaseAddressRequest,
    ) -> Result<(), Error> {
        addresses::release(self, ctx, input)
    }

    fn describe_addresses(
        &self,
        ctx: &RequestContext,
        input: DescribeAddressesRequest,
    ) -> Result<DescribeAddressesResult, Error> {
        addresses::describe(self, ctx, input)
    }

    fn create_nat_gateway(
        &self,
        ctx: &RequestContext,
        input: CreateNatGatewayRequest,
    ) -> Result<CreateNatGatewayResult, Error> {
        nat_gateways::create(self, ctx, input)
    }

    fn delete_nat_gateway(
        &self,
        ctx: &RequestContext,
        input: DeleteNatGatewayRequest,
    ) -> Result<DeleteNatGatewayResult, Error> {
        nat_gateways::delete(self, ctx, input)
    }

    fn describe_nat_gateways(
        &self,
        ctx: &RequestContext,
        input: DescribeNatGatewaysRequest,
    ) -> Result<DescribeNatGatewaysResult, Error> {
        nat_gateways::describe(self, ctx, input)
    }

    fn create_vpc_endpoint(
        &self,
        ctx: &RequestContext,
        input: CreateVpcEndpointRequest,
    ) -> Result<CreateVpcEndpointResult, Error> {
        vpc_endpoints::create(self, ctx, input)
    }

    fn delete_vpc_endpoints(
        &self,
        ctx: &RequestContext,
        input: DeleteVpcEndpointsRequest,
    ) -> Result<DeleteVpcEndpointsResult, Error> {
        vpc_endpoints::delete(self, ctx, input)
    }

    fn describe_vpc_endpoints(
        &self,
        ctx: &RequestContext,
        input: DescribeVpcEndpointsRequest,
    ) -> Result<DescribeVpcEndpointsResult, Error> {
        vpc_endpoints::describe(self, ctx, input)
    }

    fn modify_vpc_endpoint(
        &self,
        ctx: &RequestContext,
        input: ModifyVpcEndpointRequest,
    ) -> Result<ModifyVpcEndpointResult, Error> {
        vpc_endpoints::modify(self, ctx, input)
    }

    fn describe_vpc_endpoint_services(
        &self,
        ctx: &RequestContext,
        input: DescribeVpcEndpointServicesRequest,
    ) -> Result<DescribeVpcEndpointServicesResult, Error> {
        endpoint_services::describe_services(self, ctx, input)
    }

    fn describe_prefix_lists(
        &self,
        ctx: &RequestContext,
        input: DescribePrefixListsRequest,
    ) -> Result<DescribePrefixListsResult, Error> {
        endpoint_services::describe_prefix_lists(self, ctx, input)
    }

    fn describe_network_acls(
        &self,
        ctx: &RequestContext,
        input: DescribeNetworkAclsRequest,
    ) -> Result<DescribeNetworkAclsResult, Error> {
        network_acls::describe(self, ctx, input)
    }

    fn describe_account_attributes(
        &self,
        ctx: &RequestContext,
        input: DescribeAccountAttributesRequest,
    ) -> Result<DescribeAccountAttributesResult, Error> {
        account_attributes::describe(self, ctx, input)
    }

    fn create_tags(&self, ctx: &RequestContext, input: CreateTagsRequest) -> Result<(), Error> {
        resource_tags::create(self, ctx, input)
    }

    fn delete_tags(&self, ctx: &RequestContext, input: DeleteTagsRequest) -> Result<(), Error> {
        resource_tags::delete(self, ctx, input)
    }

    fn describe_tags(
        &self,
        ctx: &RequestContext,
        input: DescribeTagsRequest,
    ) -> Result<DescribeTagsResult, Error> {
        resource_tags::describe(self, ctx, input)
    }
}

/// What the task runtime and the load balancer ask of EC2; errors are the store's, as text.
impl NetworkInterfaces for Ec2 {
    fn subnet(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<PlacementSubnet>, String> {
        let found = subnets::info(self, account, region, id).map_err(|e| e.to_string())?;
        Ok(found.map(PlacementSubnet::from))
    }

    fn security_group_exists(&self, account: &str, region: &str, id: &str) -> Result<bool, String> {
        let found = security_groups::info(self, account, region, id).map_err(|e| e.to_string())?;
        Ok(found.is_some())
    }

    fn security_group_in_vpc(
        &self,
        account: &str,
        region: &str,
        id: &str,
        vpc_id: &str,
    ) -> Result<bool, String> {
        let found = security_groups::info(self, account, region, id).map_err(|e| e.to_string())?;
        Ok(found.is_some_and(|g| g.vpc_id == vpc_id))
    }

    fn create_interface(&self, eni: NewNetworkInterface) -> Result<String, String> {
        network_interfaces::create(self, eni).map_err(|e| e.to_string())
    }

    fn delete_interface(&self, account: &str, region: &str, id: &str) -> Result<(), String> {
        network_interfaces::delete(self, account, region, id).map_err(|e| e.to_string())
    }

    fn sync_described_interfaces(
        &self,
        account: &str,
        region: &str,
        description: &str,
        wanted: Vec<NewNetworkInterface>,
    ) -> Result<Vec<wharf_core::RecordedInterface>, String> {
        network_interfaces::sync_described(self, account, region, description, wanted)
            .map_err(|e| e.to_string())
    }

    fn interface_filters(
        &self,
        account: &str,
        region: &str,
        ids: &[String],
    ) -> Result<std::collections::BTreeMap<String, InterfaceFilter>, String> {
        interface_filters::for_interfaces(self, account, region, ids).map_err(|e| e.to_string())
    }

    fn vpc(&self, account: &str, region: &str, id: &str) -> Result<Option<VpcInfo>, String> {
        vpcs::info(self, account, region, id).map_err(|e| e.to_string())
    }

    fn allocate_interface(&self, eni: NewNetworkInterface) -> Result<(String, String), String> {
        network_interfaces::allocate(self, eni).map_err(|e| e.to_string())
    }

    fn set_interface_link(
        &self,
        account: &str,
        region: &str,
        id: &str,
        mac_address: &str,
        public_ip: Option<&str>,
    ) -> Result<(), String> {
        network_interfaces::set_link(self, account, region, id, mac_address, public_ip)
            .map_err(|e| e.to_string())
    }

    fn subnet_network(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<SubnetNetwork>, String> {
        subnet_reach::subnet_network(self, account, region, id).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use wharf_core::ids::RandomIds;
    use wharf_core::Timestamp;

    /// A `Filters` entry, as the CLI sends `Name=..,Values=..`.
    pub(crate) fn filter(name: &str, values: &[&str]) -> crate::generated::Filter {
        crate::generated::Filter {
            name: Some(name.into()),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    /// An `Ec2` over a fresh store in a temp dir, and a fixed request context.
    pub(crate) fn setup() -> (tempfile::TempDir, Ec2, RequestContext) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("state.db")).unwrap());
        let ec2 = Ec2::new(store, Arc::new(RandomIds));
        let ctx = RequestContext::for_tests(
            "us-east-1",
            "123456789012",
            Timestamp::from_millis(1_700_000_000_000),
        );
        (dir, ec2, ctx)
    }

    #[test]
    fn rust_api_for_other_services() {
        let (_dir, ec2, ctx) = setup();
        let subnets = ec2.default_subnets("123456789012", "us-east-1").unwrap();
        assert_eq!(subnets.len(), 3);
        assert_eq!(subnets[0].availability_zone, "us-east-1a");
        assert_eq!(subnets[0].cidr_block, "172.31.0.0/20");
        assert_eq!(
            ec2.subnet("123456789012", "us-east-1", &subnets[1].id)
                .unwrap(),
            Some(subnets[1].clone())
        );
        assert_eq!(
            ec2.subnet("123456789012", "us-east-1", "subnet-nope")
                .unwrap(),
            None
        );
        assert_eq!(
            ec2.subnet("123456789012", "eu-west-1", &subnets[1].id)
                .unwrap(),
            None
        );

        let default = ec2
            .default_security_group("123456789012", "us-east-1", &subnets[0].vpc_id)
            .unwrap()
            .unwrap();
        assert_eq!(default.name, "default");
        assert_eq!(
            ec2.security_group("123456789012", "us-east-1", &default.id)
                .unwrap(),
            Some(default.clone())
        );

        // The wire view and the Rust view agree.
        let vpcs = ec2
            .describe_vpcs(&ctx, DescribeVpcsRequest::default())
            .unwrap()
            .vpcs
            .unwrap();
        assert_eq!(vpcs[0].vpc_id.as_deref(), Some(subnets[0].vpc_id.as_str()));
    }

    #[test]
    fn the_default_network_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let first = {
            let ec2 = Ec2::new(Arc::new(Store::open(&path).unwrap()), Arc::new(RandomIds));
            ec2.default_subnets("123456789012", "us-east-1").unwrap()
        };
        let ec2 = Ec2::new(Arc::new(Store::open(&path).unwrap()), Arc::new(RandomIds));
        assert_eq!(
            ec2.default_subnets("123456789012", "us-east-1").unwrap(),
            first
        );
    }

    #[test]
    fn concurrent_first_use_creates_one_default_vpc() {
        let (_dir, ec2, ctx) = setup();
        let ec2 = Arc::new(ec2);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let ec2 = ec2.clone();
                std::thread::spawn(move || {
                    ec2.default_subnets("123456789012", "us-east-1").unwrap()
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(results.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(
            ec2.describe_vpcs(&ctx, DescribeVpcsRequest::default())
                .unwrap()
                .vpcs
                .unwrap()
                .len(),
            1
        );
    }
}
