//! Amazon EC2 networking as container workloads see it: each account's default VPC with one
//! subnet per availability zone, and security groups with their rules.
//!
//! `generated` holds the botocore-derived types and the `Ec2Api` trait; `vpc` owns the default
//! network (VPC, subnets, zones), `security_groups` the groups and `rules` the pure rule logic,
//! `network_interfaces` the interfaces tasks are given, `filters` the Describe filter language,
//! `tags` resource tags. EC2 is regional: every record is keyed `<account>/<region>/<id>`. Other
//! services (ECS placing a task's network interface) use the small Rust API on [`Ec2`] and its
//! [`wharf_core::NetworkInterfaces`] implementation rather than the wire operations.

pub mod filters;
pub mod generated;
pub mod network_interfaces;
pub mod records;
pub mod rules;
pub mod security_groups;
pub mod tags;
pub mod vpc;

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
use records::{scope_prefix, scoped_key, GroupRecord, SubnetRecord, GROUPS, SUBNETS};
use std::sync::Arc;
use wharf_core::pagination::paginate;
use wharf_core::{Clock, IdGen, RequestContext, SystemClock};
use wharf_store::{Store, StoreError};

/// The EC2 service. Cloning is cheap and shares the store, so one instance can serve the API
/// gateway and, as [`wharf_core::NetworkInterfaces`], the task runtime.
#[derive(Clone)]
pub struct Ec2 {
    store: Arc<Store>,
    ids: Arc<dyn IdGen>,
    /// Stamps what the runtime records outside a request (an interface's `AttachTime`).
    clock: Arc<dyn Clock>,
}

/// A subnet as other services need it: where a task's network interface can be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetInfo {
    /// `subnet-...`
    pub id: String,
    /// The VPC the subnet belongs to.
    pub vpc_id: String,
    /// Its availability zone, e.g. `us-east-1a`.
    pub availability_zone: String,
    /// Its IPv4 range, e.g. `172.31.0.0/20`.
    pub cidr_block: String,
}

/// A security group as other services need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupInfo {
    /// `sg-...`
    pub id: String,
    /// The group's name.
    pub name: String,
    /// The VPC the group belongs to.
    pub vpc_id: String,
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
        let mut subnets: Vec<SubnetInfo> = self
            .all_subnets(account, region)?
            .into_iter()
            .filter(|s| s.default_for_az)
            .map(|s| subnet_info(&s))
            .collect();
        subnets.sort_by(|a, b| a.availability_zone.cmp(&b.availability_zone));
        Ok(subnets)
    }

    /// The subnet `subnet_id` of `account` in `region`, if it exists.
    pub fn subnet(
        &self,
        account: &str,
        region: &str,
        subnet_id: &str,
    ) -> Result<Option<SubnetInfo>, StoreError> {
        self.ensure_defaults(account, region)?;
        let found: Option<SubnetRecord> = self
            .store
            .read(|tx| tx.get(SUBNETS, &scoped_key(account, region, subnet_id)))?;
        Ok(found.as_ref().map(subnet_info))
    }

    /// The security group `group_id` of `account` in `region`, if it exists.
    pub fn security_group(
        &self,
        account: &str,
        region: &str,
        group_id: &str,
    ) -> Result<Option<SecurityGroupInfo>, StoreError> {
        self.ensure_defaults(account, region)?;
        let found: Option<GroupRecord> = self
            .store
            .read(|tx| tx.get(GROUPS, &scoped_key(account, region, group_id)))?;
        Ok(found.map(|g| SecurityGroupInfo {
            id: g.id,
            name: g.name,
            vpc_id: g.vpc_id,
        }))
    }

    /// The `default` security group of `vpc_id` (what ECS uses when a task names no group).
    pub fn default_security_group(
        &self,
        account: &str,
        region: &str,
        vpc_id: &str,
    ) -> Result<Option<SecurityGroupInfo>, StoreError> {
        self.ensure_defaults(account, region)?;
        let groups: Vec<(String, GroupRecord)> = self
            .store
            .read(|tx| tx.list(GROUPS, &scope_prefix(account, region)))?;
        Ok(groups
            .into_iter()
            .map(|(_, g)| g)
            .find(|g| g.vpc_id == vpc_id && g.name == "default")
            .map(|g| SecurityGroupInfo {
                id: g.id,
                name: g.name,
                vpc_id: g.vpc_id,
            }))
    }
}

fn subnet_info(s: &SubnetRecord) -> SubnetInfo {
    SubnetInfo {
        id: s.id.clone(),
        vpc_id: s.vpc_id.clone(),
        availability_zone: s.availability_zone.clone(),
        cidr_block: s.cidr_block.clone(),
    }
}

/// AWS's answer to `--dry-run`: the request would have worked, and nothing was done.
pub(crate) fn check_dry_run(dry_run: Option<bool>) -> Result<(), Error> {
    if dry_run == Some(true) {
        return Err(Error::DryRunOperation(
            "Request would have succeeded, but DryRun flag is set.".into(),
        ));
    }
    Ok(())
}

/// One page of `items` (sorted by `key`). Without `MaxResults` EC2 returns everything.
pub(crate) fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    next_token: Option<&str>,
    max_results: Option<i32>,
) -> Result<(Vec<T>, Option<String>), Error> {
    let max = max_results
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(usize::MAX);
    paginate(items, key, next_token, max).map_err(|_| {
        Error::InvalidParameterValue(format!(
            "The token '{}' is invalid",
            next_token.unwrap_or_default()
        ))
    })
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
        self.describe_vpcs_impl(ctx, input)
    }

    fn describe_subnets(
        &self,
        ctx: &RequestContext,
        input: DescribeSubnetsRequest,
    ) -> Result<DescribeSubnetsResult, Error> {
        self.describe_subnets_impl(ctx, input)
    }

    fn describe_availability_zones(
        &self,
        ctx: &RequestContext,
        input: DescribeAvailabilityZonesRequest,
    ) -> Result<DescribeAvailabilityZonesResult, Error> {
        self.describe_availability_zones_impl(ctx, input)
    }

    fn create_security_group(
        &self,
        ctx: &RequestContext,
        input: CreateSecurityGroupRequest,
    ) -> Result<CreateSecurityGroupResult, Error> {
        self.create_security_group_impl(ctx, input)
    }

    fn describe_security_groups(
        &self,
        ctx: &RequestContext,
        input: DescribeSecurityGroupsRequest,
    ) -> Result<DescribeSecurityGroupsResult, Error> {
        self.describe_security_groups_impl(ctx, input)
    }

    fn delete_security_group(
        &self,
        ctx: &RequestContext,
        input: DeleteSecurityGroupRequest,
    ) -> Result<DeleteSecurityGroupResult, Error> {
        self.delete_security_group_impl(ctx, input)
    }

    fn authorize_security_group_ingress(
        &self,
        ctx: &RequestContext,
        input: AuthorizeSecurityGroupIngressRequest,
    ) -> Result<AuthorizeSecurityGroupIngressResult, Error> {
        self.authorize_ingress_impl(ctx, input)
    }

    fn authorize_security_group_egress(
        &self,
        ctx: &RequestContext,
        input: AuthorizeSecurityGroupEgressRequest,
    ) -> Result<AuthorizeSecurityGroupEgressResult, Error> {
        self.authorize_egress_impl(ctx, input)
    }

    fn revoke_security_group_ingress(
        &self,
        ctx: &RequestContext,
        input: RevokeSecurityGroupIngressRequest,
    ) -> Result<RevokeSecurityGroupIngressResult, Error> {
        self.revoke_ingress_impl(ctx, input)
    }

    fn revoke_security_group_egress(
        &self,
        ctx: &RequestContext,
        input: RevokeSecurityGroupEgressRequest,
    ) -> Result<RevokeSecurityGroupEgressResult, Error> {
        self.revoke_egress_impl(ctx, input)
    }

    fn describe_network_interfaces(
        &self,
        ctx: &RequestContext,
        input: DescribeNetworkInterfacesRequest,
    ) -> Result<DescribeNetworkInterfacesResult, Error> {
        self.describe_network_interfaces_impl(ctx, input)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use wharf_core::ids::RandomIds;
    use wharf_core::Timestamp;

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
