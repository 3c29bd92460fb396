//! Elastic Load Balancing v2, the control plane: application load balancers, their listeners
//! and rules, target groups and their targets, as the AWS CLI and SDKs drive them.
//!
//! Module map:
//! - `generated`: botocore-derived types and the `Elbv2Api` trait
//! - `records`: stored records and their keys; `names`: names, ARNs, DNS names (pure)
//! - `load_balancers`: Create/Describe/DeleteLoadBalancer and their attributes
//! - `target_groups`: Create/Modify/Describe/DeleteTargetGroup and their attributes;
//!   `target_registration`: RegisterTargets, DeregisterTargets, DescribeTargetHealth
//! - `listeners`: listeners, their certificates and TLS policies (`ssl_policies`)
//! - `listener_rules`: listener rules and priorities; `conditions` and `actions`: what rules and
//!   listeners match and do (pure)
//! - `attributes`, `health_check`: defaults and limits (pure)
//! - `tags`: AddTags, RemoveTags, DescribeTags
//! - `snapshot`: records -> [`LbSnapshot`] for the data plane (pure)
//! - `certificate_users`: which listeners use an ACM certificate, for ACM
//! - `service_targets`: target groups as ECS services use them ([`wharf_core::TargetRegistry`])
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
pub mod generated;
pub mod health_check;
pub mod listener_rules;
pub mod listeners;
pub mod load_balancers;
pub mod names;
pub mod records;
pub mod service_targets;
pub mod snapshot;
pub mod ssl_policies;
pub mod tags;
pub mod target_groups;
pub mod target_registration;

pub use certificate_users::ListenerCertificates;
pub use service_targets::ServiceTargets;

use generated::*;
use names::{parse_arn, ParsedArn, Resource};
use records::{
    StoredListener, StoredLoadBalancer, StoredRule, StoredTargetGroup, LISTENERS, LOAD_BALANCERS,
    RULES, TARGET_GROUPS,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wharf_core::lb_plane::{CertificateSource, LbPlane, LbSnapshot};
use wharf_core::pagination::paginate;
use wharf_core::{Clock, IdGen, NetworkInterfaces, RequestContext};
use wharf_store::{Store, StoreError, Tx};

/// `PageSize` when the caller gives none.
const DEFAULT_PAGE_SIZE: usize = 400;

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
}

/// A `ValidationError` with `message`.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::ValidationError(message.into())
}

/// A failed subnet / VPC / security group lookup through EC2.
pub(crate) fn network_error(e: String) -> Error {
    tracing::error!(error = %e, "network lookup failed");
    Error::InternalFailure(format!("wharf could not look up the network: {e}"))
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "elbv2 state store failure");
        Error::InternalFailure(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}

/// The kind of resource an ARN argument must name, for the error about a malformed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    LoadBalancer,
    TargetGroup,
    Listener,
    Rule,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::LoadBalancer => "load balancer",
            Kind::TargetGroup => "target group",
            Kind::Listener => "listener",
            Kind::Rule => "listener rule",
        }
    }
}

/// Parses `arn`, which must name a resource of `kind`.
pub(crate) fn parse_kind(arn: &str, kind: Kind) -> Result<ParsedArn, Error> {
    let parsed = parse_arn(arn)
        .filter(|p| {
            matches!(
                (&p.resource, kind),
                (Resource::LoadBalancer { .. }, Kind::LoadBalancer)
                    | (Resource::TargetGroup { .. }, Kind::TargetGroup)
                    | (Resource::Listener { .. }, Kind::Listener)
                    | (Resource::Rule { .. }, Kind::Rule)
            )
        })
        .ok_or_else(|| invalid(format!("'{arn}' is not a valid {} ARN", kind.noun())))?;
    Ok(parsed)
}

/// The store key of `arn` when it names a resource of `kind` in the caller's account and
/// region; `None` when it is well-formed but elsewhere (so: not found).
pub(crate) fn key_in_scope(
    ctx: &RequestContext,
    arn: &str,
    kind: Kind,
) -> Result<Option<String>, Error> {
    let parsed = parse_kind(arn, kind)?;
    Ok((parsed.account == ctx.account_id && parsed.region == ctx.region).then(|| parsed.key()))
}

pub(crate) fn lb_not_found(arn: &str) -> Error {
    Error::LoadBalancerNotFoundException(format!("Load balancer '{arn}' not found"))
}

pub(crate) fn tg_not_found(arn: &str) -> Error {
    Error::TargetGroupNotFoundException(format!("Target group '{arn}' not found"))
}

pub(crate) fn listener_not_found(arn: &str) -> Error {
    Error::ListenerNotFoundException(format!("Listener '{arn}' not found"))
}

pub(crate) fn rule_not_found(arn: &str) -> Error {
    Error::RuleNotFoundException(format!("Rule '{arn}' not found"))
}

/// Load balancer `arn`, or `LoadBalancerNotFound`.
pub(crate) fn load_lb(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    arn: &str,
) -> Result<(String, StoredLoadBalancer), Error> {
    let key = key_in_scope(ctx, arn, Kind::LoadBalancer)?.ok_or_else(|| lb_not_found(arn))?;
    let lb: StoredLoadBalancer = tx
        .get(LOAD_BALANCERS, &key)?
        .filter(|lb: &StoredLoadBalancer| lb.arn == arn)
        .ok_or_else(|| lb_not_found(arn))?;
    Ok((key, lb))
}

/// Target group `arn`, or `TargetGroupNotFound`.
pub(crate) fn load_tg(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    arn: &str,
) -> Result<(String, StoredTargetGroup), Error> {
    let key = key_in_scope(ctx, arn, Kind::TargetGroup)?.ok_or_else(|| tg_not_found(arn))?;
    let tg: StoredTargetGroup = tx
        .get(TARGET_GROUPS, &key)?
        .filter(|tg: &StoredTargetGroup| tg.arn == arn)
        .ok_or_else(|| tg_not_found(arn))?;
    Ok((key, tg))
}

/// Listener `arn`, or `ListenerNotFound`.
pub(crate) fn load_listener(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    arn: &str,
) -> Result<(String, StoredListener), Error> {
    let key = key_in_scope(ctx, arn, Kind::Listener)?.ok_or_else(|| listener_not_found(arn))?;
    let listener: StoredListener = tx
        .get(LISTENERS, &key)?
        .filter(|l: &StoredListener| l.arn == arn)
        .ok_or_else(|| listener_not_found(arn))?;
    Ok((key, listener))
}

/// A rule as an ARN finds it: a stored rule, or a listener's default rule.
#[derive(Debug, Clone)]
pub(crate) enum FoundRule {
    /// A rule with a priority.
    Rule(String, StoredRule),
    /// The default rule of this listener.
    Default(String, StoredListener),
}

/// Rule `arn` (a listener's default rule included), or `RuleNotFound`.
pub(crate) fn load_rule(tx: &Tx<'_>, ctx: &RequestContext, arn: &str) -> Result<FoundRule, Error> {
    let key = key_in_scope(ctx, arn, Kind::Rule)?.ok_or_else(|| rule_not_found(arn))?;
    if let Some(rule) = tx.get::<StoredRule>(RULES, &key)?.filter(|r| r.arn == arn) {
        return Ok(FoundRule::Rule(key, rule));
    }
    // `<scope>/<lb>/<listener>/<rule>`: the listener's key is the rule key without its id.
    let listener_key = key.rsplit_once('/').map(|(k, _)| k).unwrap_or_default();
    match tx.get::<StoredListener>(LISTENERS, listener_key)? {
        Some(l) if l.default_rule_arn == arn => Ok(FoundRule::Default(listener_key.to_string(), l)),
        _ => Err(rule_not_found(arn)),
    }
}

/// Which load balancers forward to each target group, and through which listeners and rules.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    /// Target group ARN -> load balancer ARNs.
    pub load_balancers: BTreeMap<String, BTreeSet<String>>,
    /// Target group ARN -> listener and rule ARNs that forward to it.
    pub users: BTreeMap<String, BTreeSet<String>>,
}

impl Usage {
    /// Whether a listener or rule forwards to target group `arn`.
    pub fn in_use(&self, tg_arn: &str) -> bool {
        self.users.get(tg_arn).is_some_and(|u| !u.is_empty())
    }

    /// The load balancers that forward to target group `arn`.
    pub fn lbs_of(&self, tg_arn: &str) -> Vec<String> {
        self.load_balancers
            .get(tg_arn)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Who uses which target group in `account` / `region`.
pub(crate) fn usage(tx: &Tx<'_>, account: &str, region: &str) -> Result<Usage, StoreError> {
    let scope = records::scope(account, region);
    let listeners: Vec<(String, StoredListener)> = tx.list(LISTENERS, &scope)?;
    let rules: Vec<(String, StoredRule)> = tx.list(RULES, &scope)?;
    let lb_of: BTreeMap<&str, &str> = listeners
        .iter()
        .map(|(_, l)| (l.arn.as_str(), l.lb_arn.as_str()))
        .collect();
    let mut out = Usage::default();
    let mut add = |tg: String, lb: &str, user: &str| {
        out.load_balancers
            .entry(tg.clone())
            .or_default()
            .insert(lb.to_string());
        out.users.entry(tg).or_default().insert(user.to_string());
    };
    for (_, l) in &listeners {
        for tg in actions::target_groups(&l.default_actions) {
            add(tg, &l.lb_arn, &l.arn);
        }
    }
    for (_, r) in &rules {
        if let Some(lb) = lb_of.get(r.listener_arn.as_str()) {
            for tg in actions::target_groups(&r.actions) {
                add(tg, lb, &r.arn);
            }
        }
    }
    Ok(out)
}

/// One page of `items` (sorted by `key`) after `marker`, at most `page_size` long.
pub(crate) fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    page_size: Option<i32>,
) -> Result<(Vec<T>, Option<String>), Error> {
    let max = page_size
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PAGE_SIZE);
    paginate(items, key, marker, max).map_err(|_| invalid("Invalid value for parameter Marker"))
}

/// Reads every record the snapshot is made of.
fn read_records(tx: &Tx<'_>) -> Result<snapshot::Records, StoreError> {
    fn values<T>(v: Vec<(String, T)>) -> Vec<T> {
        v.into_iter().map(|(_, r)| r).collect()
    }
    Ok(snapshot::Records {
        load_balancers: values(tx.list(LOAD_BALANCERS, "")?),
        listeners: values(tx.list(LISTENERS, "")?),
        rules: values(tx.list(RULES, "")?),
        target_groups: values(tx.list(TARGET_GROUPS, "")?),
    })
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
        }
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

    /// What the data plane should serve now (listeners come back from this after a restart).
    pub fn try_snapshot(&self) -> Result<LbSnapshot, StoreError> {
        let records = self.store.read(read_records)?;
        Ok(snapshot::build(&records, self.clock.now().millis))
    }

    /// [`Elbv2::try_snapshot`]; a store failure is logged and gives an empty snapshot.
    pub fn snapshot(&self) -> LbSnapshot {
        self.try_snapshot().unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read the load balancer snapshot");
            LbSnapshot::default()
        })
    }

    /// Applies the current snapshot to the plane (if any); failures are logged.
    pub fn sync_plane(&self) {
        let Some(plane) = &self.plane else { return };
        let _serial = self.apply_lock.lock().unwrap_or_else(|p| p.into_inner());
        match self.try_snapshot() {
            Ok(snapshot) => {
                if let Err(e) = plane.apply(snapshot) {
                    tracing::warn!(error = %e, "the load balancer data plane could not apply the configuration");
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read the load balancer snapshot"),
        }
    }

    /// Runs one write transaction, then brings the data plane up to date.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, Error>) -> Result<T, Error> {
        let out = self.store.write(f)?;
        self.sync_plane();
        Ok(out)
    }

    /// Runs one write transaction that changes listeners and applies its result to the data
    /// plane before committing: if the plane refuses it (e.g. the port is in use by another
    /// program), the transaction rolls back and the plane gets the previous state back.
    pub(crate) fn write_listeners<T>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let Some(plane) = self.plane.clone() else {
            return self.write(f);
        };
        let now = self.clock.now().millis;
        let result = self.store.write(|tx| {
            let out = f(tx)?;
            let records = read_records(tx)?;
            let _serial = self.apply_lock.lock().unwrap_or_else(|p| p.into_inner());
            plane.apply(snapshot::build(&records, now)).map_err(|e| {
                Error::InvalidConfigurationRequestException(format!(
                    "The listener cannot be served: {e}"
                ))
            })?;
            Ok(out)
        });
        if result.is_err() {
            // Roll the plane back to what is committed.
            self.sync_plane();
        }
        result
    }

    /// Forgets deregistered targets that finished draining: those the plane reports drained
    /// and those whose deregistration delay has passed. Returns how many were removed.
    pub fn reap_drained(&self) -> usize {
        match self.try_reap() {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "cannot remove drained targets");
                0
            }
        }
    }

    fn try_reap(&self) -> Result<usize, StoreError> {
        let now = self.clock.now().millis;
        let groups: Vec<(String, StoredTargetGroup)> =
            self.store.read(|tx| tx.list(TARGET_GROUPS, ""))?;
        let mut removed = 0;
        for (key, tg) in groups {
            if tg.targets.iter().all(|t| t.deregistered_at_ms.is_none()) {
                continue;
            }
            let drained: Vec<(String, u16)> = self
                .plane
                .as_ref()
                .map(|p| p.drained(&tg.arn))
                .unwrap_or_default();
            let gone = |t: &records::StoredTarget, tg: &StoredTargetGroup| {
                t.deregistered_at_ms.is_some()
                    && (snapshot::deregistration_over(tg, t, now)
                        || drained
                            .iter()
                            .any(|(id, port)| *id == t.id && *port == t.port))
            };
            if !tg.targets.iter().any(|t| gone(t, &tg)) {
                continue;
            }
            removed += self.store.write(|tx| -> Result<usize, StoreError> {
                let Some(mut current) = tx.get::<StoredTargetGroup>(TARGET_GROUPS, &key)? else {
                    return Ok(0);
                };
                let before = current.targets.len();
                let snapshot = current.clone();
                current.targets.retain(|t| !gone(t, &snapshot));
                let n = before - current.targets.len();
                if n > 0 {
                    tx.put(TARGET_GROUPS, &key, &current)?;
                }
                Ok(n)
            })?;
        }
        if removed > 0 {
            tracing::info!(removed, "deregistered targets finished draining");
            self.sync_plane();
        }
        Ok(removed)
    }
}

/// Calls [`Elbv2::reap_drained`] every `interval` until `stop` turns true.
pub async fn run_reap_loop(
    elbv2: Arc<Elbv2>,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        let elbv2 = elbv2.clone();
        let _ = tokio::task::spawn_blocking(move || elbv2.reap_drained()).await;
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
