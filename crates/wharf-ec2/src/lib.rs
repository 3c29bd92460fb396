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

pub mod checks;
pub mod default_network;
pub mod filters;
pub mod generated;
pub mod network_interfaces;
pub mod paging;
pub mod records;
pub mod security_group_rules;
pub mod security_groups;
pub mod subnets;
pub mod tags;
pub mod vpcs;
pub mod zones;

pub use security_groups::SecurityGroupInfo;
pub use subnets::SubnetInfo;

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
use wharf_core::{
    Clock, IdGen, NetworkInterfaces, NewNetworkInterface, PlacementSubnet, RequestContext,
    SystemClock, VpcInfo,
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
}

impl Ec2 {
    /// EC2 over `store`, making resource ids with `ids` (and reading the system clock).
    pub fn new(store: Arc<Store>, ids: Arc<dyn IdGen>) -> Self {
        Self {
            store,
            ids,
            clock: Arc::new(SystemClock),
        }
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

    fn create_interface(&self, eni: NewNetworkInterface) -> Result<String, String> {
        network_interfaces::create(self, eni).map_err(|e| e.to_string())
    }

    fn delete_interface(&self, account: &str, region: &str, id: &str) -> Result<(), String> {
        network_interfaces::delete(self, account, region, id).map_err(|e| e.to_string())
    }

    fn vpc(&self, account: &str, region: &str, id: &str) -> Result<Option<VpcInfo>, String> {
        vpcs::info(self, account, region, id).map_err(|e| e.to_string())
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
