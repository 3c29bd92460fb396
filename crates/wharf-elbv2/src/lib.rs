//! Elastic Load Balancing v2, the control plane: application load balancers, their listeners
//! and rules, target groups and their targets, as the AWS CLI and SDKs drive them.
//!
//! Modules, bottom to top:
//! - `generated`: botocore-derived wire types and the `Elbv2Api` trait (never stored)
//! - `records`: stored records, their tables ([`records::TABLES`]) and keys; `names`: names,
//!   ARNs, DNS names (pure); `errors`: the errors every module answers with
//! - `attributes`, `health_check`: defaults and limits; `conditions` and `actions`: what rules
//!   and listeners match and do (all pure); `paging`: Marker / PageSize
//! - `lookup`: resources found by ARN, and who uses which target group
//! - `snapshot`: records -> [`LbSnapshot`](wharf_core::lb_plane::LbSnapshot) for the data plane
//!   (pure); `data_plane`: the snapshot applied after (or, for listeners, inside) each write;
//!   `reaper`: drained targets forgotten
//! - one module per resource: `load_balancers` (and their attributes), `target_groups` (and
//!   theirs), `target_registration` (RegisterTargets, DeregisterTargets,
//!   DescribeTargetHealth), `listeners` (their certificates; TLS policies in `ssl_policies`),
//!   `listener_rules` (rules and priorities), `tags` (AddTags, RemoveTags, DescribeTags)
//! - for the other services: `certificate_users` (which listeners use an ACM certificate, for
//!   ACM), `service_targets` (target groups as ECS services use them,
//!   [`wharf_core::TargetRegistry`])
//! - `lib.rs`: the [`Elbv2`] service and one-line delegation of each API operation
//!
//! The data plane is reached only through [`LbPlane`]: after every committed change the
//! current snapshot is applied (serialised, always the latest state). A change that adds or
//! alters a listener is applied inside its store transaction: if the plane cannot serve it
//! (the port is taken by another program), the transaction rolls back and the caller gets
//! `InvalidConfigurationRequest` — nothing changed. Certificates are checked through
//! [`CertificateSource`], subnets, VPCs and security groups through [`NetworkInterfaces`].

pub mod actions;
pub mod attributes;
pub mod certificate_users;
pub mod conditions;
pub mod data_plane;
pub mod errors;
pub mod generated;
pub mod health_check;
pub mod interfaces;
pub mod listener_rules;
pub mod listeners;
pub mod load_balancers;
pub mod lookup;
pub mod names;
pub mod paging;
pub mod reaper;
pub mod records;
pub mod service_targets;
pub mod snapshot;
pub mod ssl_policies;
pub mod tags;
pub mod target_groups;
pub mod target_registration;

pub use certificate_users::ListenerCertificates;
pub use reaper::run_reap_loop;
pub use service_targets::ServiceTargets;

use generated::*;
use std::sync::{Arc, Mutex};
use wharf_core::lb_plane::{CertificateSource, LbPlane};
use wharf_core::{Clock, IdGen, NetworkInterfaces, RequestContext};
use wharf_store::Store;

/// The Elastic Load Balancing service.
pub struct Elbv2 {
    pub(crate) store: Arc<Store>,
    pub(crate) ids: Arc<dyn IdGen>,
    /// Time outside requests (the reaper).
    pub(crate) clock: Arc<dyn Clock>,
    /// Subnets, VPCs and security groups (EC2).
    pub(crate) network: Arc<dyn NetworkInterfaces>,
    /// Which certificates exist (ACM).
    pub(crate) certificates: Arc<dyn CertificateSource>,
    /// The data plane, when one is wired.
    plane: Option<Arc<dyn LbPlane>>,
    /// Serialises snapshot applications, so the plane always ends with the latest state.
    apply_lock: Mutex<()>,
    /// Whether listeners serve only the clients their load balancer's security groups admit
    /// ([`Elbv2::with_client_filtering`]).
    filter_clients: bool,
    /// The client filters last read from EC2, by load balancer ARN.
    client_filters:
        Mutex<std::collections::BTreeMap<String, Vec<wharf_core::packet_filter::FilterRule>>>,
}

impl Elbv2 {
    /// ELBv2 over `store`, making ids with `ids`, reading time outside requests from `clock`,
    /// checking subnets, VPCs and security groups with `network` and HTTPS certificates with
    /// `certificates`. No data plane until [`Elbv2::with_plane`].
    pub fn new(
        store: Arc<Store>,
        ids: Arc<dyn IdGen>,
        clock: Arc<dyn Clock>,
        network: Arc<dyn NetworkInterfaces>,
        certificates: Arc<dyn CertificateSource>,
    ) -> Self {
        Self {
            store,
            ids,
            clock,
            network,
            certificates,
            plane: None,
            apply_lock: Mutex::new(()),
            filter_clients: false,
            client_filters: Mutex::default(),
        }
    }

    /// The same service with listeners serving only the clients their load balancer's
    /// security groups admit (`wharf server --security-groups enforce`).
    pub fn with_client_filtering(mut self, on: bool) -> Self {
        self.filter_clients = on;
        self
    }

    /// The same service applying every change to `plane`.
    pub fn with_plane(mut self, plane: Arc<dyn LbPlane>) -> Self {
        self.plane = Some(plane);
        self
    }

    /// The data plane, if one is wired.
    pub(crate) fn plane(&self) -> Option<&Arc<dyn LbPlane>> {
        self.plane.as_ref()
    }
}

impl Elbv2Api for Arc<Elbv2> {
    fn create_load_balancer(
        &self,
        ctx: &RequestContext,
        input: CreateLoadBalancerInput,
    ) -> Result<CreateLoadBalancerOutput, Error> {
        load_balancers::create(self, ctx, input)
    }

    fn describe_load_balancers(
        &self,
        ctx: &RequestContext,
        input: DescribeLoadBalancersInput,
    ) -> Result<DescribeLoadBalancersOutput, Error> {
        load_balancers::describe(self, ctx, input)
    }

    fn delete_load_balancer(
        &self,
        ctx: &RequestContext,
        input: DeleteLoadBalancerInput,
    ) -> Result<DeleteLoadBalancerOutput, Error> {
        load_balancers::delete(self, ctx, &input.load_balancer_arn)
    }

    fn describe_load_balancer_attributes(
        &self,
        ctx: &RequestContext,
        input: DescribeLoadBalancerAttributesInput,
    ) -> Result<DescribeLoadBalancerAttributesOutput, Error> {
        load_balancers::describe_attributes(self, ctx, &input.load_balancer_arn)
    }

    fn modify_load_balancer_attributes(
        &self,
        ctx: &RequestContext,
        input: ModifyLoadBalancerAttributesInput,
    ) -> Result<ModifyLoadBalancerAttributesOutput, Error> {
        load_balancers::modify_attributes(self, ctx, input)
    }

    fn create_target_group(
        &self,
        ctx: &RequestContext,
        input: CreateTargetGroupInput,
    ) -> Result<CreateTargetGroupOutput, Error> {
        target_groups::create(self, ctx, input)
    }

    fn modify_target_group(
        &self,
        ctx: &RequestContext,
        input: ModifyTargetGroupInput,
    ) -> Result<ModifyTargetGroupOutput, Error> {
        target_groups::modify(self, ctx, input)
    }

    fn describe_target_groups(
        &self,
        ctx: &RequestContext,
        input: DescribeTargetGroupsInput,
    ) -> Result<DescribeTargetGroupsOutput, Error> {
        target_groups::describe(self, ctx, input)
    }

    fn delete_target_group(
        &self,
        ctx: &RequestContext,
        input: DeleteTargetGroupInput,
    ) -> Result<DeleteTargetGroupOutput, Error> {
        target_groups::delete(self, ctx, &input.target_group_arn)
    }

    fn describe_target_group_attributes(
        &self,
        ctx: &RequestContext,
        input: DescribeTargetGroupAttributesInput,
    ) -> Result<DescribeTargetGroupAttributesOutput, Error> {
        target_groups::describe_attributes(self, ctx, &input.target_group_arn)
    }

    fn modify_target_group_attributes(
        &self,
        ctx: &RequestContext,
        input: ModifyTargetGroupAttributesInput,
    ) -> Result<ModifyTargetGroupAttributesOutput, Error> {
        target_groups::modify_attributes(self, ctx, input)
    }

    fn register_targets(
        &self,
        ctx: &RequestContext,
        input: RegisterTargetsInput,
    ) -> Result<RegisterTargetsOutput, Error> {
        target_registration::register(self, ctx, input)
    }

    fn deregister_targets(
        &self,
        ctx: &RequestContext,
        input: DeregisterTargetsInput,
    ) -> Result<DeregisterTargetsOutput, Error> {
        target_registration::deregister(self, ctx, input)
    }

    fn describe_target_health(
        &self,
        ctx: &RequestContext,
        input: DescribeTargetHealthInput,
    ) -> Result<DescribeTargetHealthOutput, Error> {
        target_registration::describe_health(self, ctx, input)
    }

    fn create_listener(
        &self,
        ctx: &RequestContext,
        input: CreateListenerInput,
    ) -> Result<CreateListenerOutput, Error> {
        listeners::create(self, ctx, input)
    }

    fn modify_listener(
        &self,
        ctx: &RequestContext,
        input: ModifyListenerInput,
    ) -> Result<ModifyListenerOutput, Error> {
        listeners::modify(self, ctx, input)
    }

    fn delete_listener(
        &self,
        ctx: &RequestContext,
        input: DeleteListenerInput,
    ) -> Result<DeleteListenerOutput, Error> {
        listeners::delete(self, ctx, &input.listener_arn)
    }

    fn describe_listeners(
        &self,
        ctx: &RequestContext,
        input: DescribeListenersInput,
    ) -> Result<DescribeListenersOutput, Error> {
        listeners::describe(self, ctx, input)
    }

    fn create_rule(
        &self,
        ctx: &RequestContext,
        input: CreateRuleInput,
    ) -> Result<CreateRuleOutput, Error> {
        listener_rules::create(self, ctx, input)
    }

    fn modify_rule(
        &self,
        ctx: &RequestContext,
        input: ModifyRuleInput,
    ) -> Result<ModifyRuleOutput, Error> {
        listener_rules::modify(self, ctx, input)
    }

    fn delete_rule(
        &self,
        ctx: &RequestContext,
        input: DeleteRuleInput,
    ) -> Result<DeleteRuleOutput, Error> {
        listener_rules::delete(self, ctx, &input.rule_arn)
    }

    fn describe_rules(
        &self,
        ctx: &RequestContext,
        input: DescribeRulesInput,
    ) -> Result<DescribeRulesOutput, Error> {
        listener_rules::describe(self, ctx, input)
    }

    fn set_rule_priorities(
        &self,
        ctx: &RequestContext,
        input: SetRulePrioritiesInput,
    ) -> Result<SetRulePrioritiesOutput, Error> {
        listener_rules::set_priorities(self, ctx, input)
    }

    fn add_listener_certificates(
        &self,
        ctx: &RequestContext,
        input: AddListenerCertificatesInput,
    ) -> Result<AddListenerCertificatesOutput, Error> {
        listeners::add_certificates(self, ctx, input)
    }

    fn remove_listener_certificates(
        &self,
        ctx: &RequestContext,
        input: RemoveListenerCertificatesInput,
    ) -> Result<RemoveListenerCertificatesOutput, Error> {
        listeners::remove_certificates(self, ctx, input)
    }

    fn describe_listener_certificates(
        &self,
        ctx: &RequestContext,
        input: DescribeListenerCertificatesInput,
    ) -> Result<DescribeListenerCertificatesOutput, Error> {
        listeners::describe_certificates(self, ctx, input)
    }

    fn describe_ssl_policies(
        &self,
        _ctx: &RequestContext,
        input: DescribeSSLPoliciesInput,
    ) -> Result<DescribeSSLPoliciesOutput, Error> {
        ssl_policies::describe(input)
    }

    fn add_tags(&self, ctx: &RequestContext, input: AddTagsInput) -> Result<AddTagsOutput, Error> {
        tags::add(self, ctx, input)
    }

    fn remove_tags(
        &self,
        ctx: &RequestContext,
        input: RemoveTagsInput,
    ) -> Result<RemoveTagsOutput, Error> {
        tags::remove(self, ctx, input)
    }

    fn describe_tags(
        &self,
        ctx: &RequestContext,
        input: DescribeTagsInput,
    ) -> Result<DescribeTagsOutput, Error> {
        tags::describe(self, ctx, input)
    }
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
