//! Scaling policies: PutScalingPolicy (create, or replace keeping the policy's ARN and creation
//! time), DescribeScalingPolicies and DeleteScalingPolicy.
//!
//! A target-tracking policy owns the two alarms AWS creates for it (`tracking_alarms`); putting
//! the policy creates new alarms (new names) before its record is written and deletes the
//! replaced ones after; deleting the policy deletes its alarms. A step scaling policy owns no
//! alarm: the user's own alarm names the policy ARN among its actions, and Describe lists the
//! alarms CloudWatch reports with that action (`AlarmRegistry::alarms_with_action`).

use crate::checks::{check_target_id, key_of, load_target, ChildSelection, ServiceRef};
use crate::generated::{
    Alarm, DeleteScalingPolicyRequest, DescribeScalingPoliciesRequest,
    DescribeScalingPoliciesResponse, Error, PutScalingPolicyRequest, PutScalingPolicyResponse,
    ScalingPolicy,
};
use crate::paging::page;
use crate::policy_config::{self, policy_type};
use crate::records::{
    child_key, children_prefix, AlarmRef, PolicyConfig, PolicyRecord, TrackingConfig, POLICIES,
};
use crate::targets::delete_alarms;
use crate::tracking_alarms::{self, Kind};
use crate::AutoScaling;
use wharf_core::RequestContext;

/// Most scaling policies one scalable target may have.
pub const MAX_POLICIES_PER_TARGET: usize = 50;

/// The ARN of policy `name` of `resource_id` (`service/<cluster>/<service>`).
pub fn policy_arn(ctx: &RequestContext, uuid: &str, resource_id: &str, name: &str) -> String {
    format!(
        "arn:aws:autoscaling:{}:{}:scalingPolicy:{uuid}:resource/ecs/{resource_id}:policyName/{name}",
        ctx.region, ctx.account_id
    )
}

/// Creates the alarms of a target-tracking policy in CloudWatch; returns them.
fn create_alarms(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    resource_id: &str,
    service: &ServiceRef,
    arn: &str,
    config: &TrackingConfig,
) -> Result<Vec<AlarmRef>, Error> {
    let metric = tracking_alarms::alarm_metric(&config.metric, service)?;
    let mut kinds = vec![Kind::High];
    if !config.disable_scale_in.unwrap_or(false) {
        kinds.push(Kind::Low);
    }
    let mut created: Vec<AlarmRef> = Vec::new();
    for kind in kinds {
        let alarm = tracking_alarms::alarm(
            kind,
            resource_id,
            &scaling.ids.uuid(),
            arn,
            metric.clone(),
            config.target_value,
        );
        let name = alarm.name.clone();
        match scaling
            .alarms
            .put_managed_alarm(&ctx.account_id, &ctx.region, alarm, ctx.now)
        {
            Ok(alarm_arn) => created.push(AlarmRef {
                name,
                arn: alarm_arn,
            }),
            Err(e) => {
                let names: Vec<String> = created.into_iter().map(|a| a.name).collect();
                delete_alarms(scaling, &ctx.account_id, &ctx.region, &names);
                return Err(crate::errors::from_neighbour(
                    "creating the target tracking alarms in CloudWatch",
                    e,
                ));
            }
        }
    }
    Ok(created)
}

/// PutScalingPolicy.
pub fn put(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: PutScalingPolicyRequest,
) -> Result<PutScalingPolicyResponse, Error> {
    let service = check_target_id(
        &input.service_namespace,
        &input.scalable_dimension,
        &input.resource_id,
    )?;
    let config = policy_config::from_request(&input)?;
    if let PolicyConfig::TargetTracking(t) = &config {
        tracking_alarms::alarm_metric(&t.metric, &service)?;
    }
    let target_key = key_of(
        ctx,
        &input.service_namespace,
        &input.scalable_dimension,
        &input.resource_id,
    );
    let key = child_key(&target_key, &input.policy_name);
    let (target, existing) = scaling.store.read(|tx| {
        let target = load_target(
            tx,
            ctx,
            &input.service_namespace,
            &input.scalable_dimension,
            &input.resource_id,
        )?;
        Ok::<_, Error>((target, tx.get(POLICIES, &key)?))
    })?;
    let (arn, created) = match &existing {
        Some(old) => (old.arn.clone(), old.created),
        None => (
            policy_arn(
                ctx,
                &target.resource_uuid,
                &input.resource_id,
                &input.policy_name,
            ),
            ctx.now,
        ),
    };
    let alarms = match &config {
        PolicyConfig::TargetTracking(t) => {
            create_alarms(scaling, ctx, &input.resource_id, &service, &arn, t)?
        }
        PolicyConfig::Step(_) => Vec::new(),
    };
    let record = PolicyRecord {
        name: input.policy_name.clone(),
        arn: arn.clone(),
        namespace: input.service_namespace.clone(),
        dimension: input.scalable_dimension.clone(),
        resource_id: input.resource_id.clone(),
        created,
        config,
        alarms: alarms.clone(),
    };
    let written = scaling.store.write(|tx| {
        load_target(
            tx,
            ctx,
            &input.service_namespace,
            &input.scalable_dimension,
            &input.resource_id,
        )?;
        let old = tx.get(POLICIES, &key)?;
        if old.is_none()
            && tx.list(POLICIES, &children_prefix(&target_key))?.len() >= MAX_POLICIES_PER_TARGET
        {
            return Err(Error::LimitExceededException(format!(
                "Maximum number of scaling policies ({MAX_POLICIES_PER_TARGET}) reached for \
                 scalable target {}",
                input.resource_id
            )));
        }
        tx.put(POLICIES, &key, &record)?;
        Ok(old)
    });
    let names = |refs: &[AlarmRef]| refs.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
    match written {
        Ok(old) => {
            if let Some(old) = old {
                delete_alarms(scaling, &ctx.account_id, &ctx.region, &names(&old.alarms));
            }
        }
        Err(e) => {
            delete_alarms(scaling, &ctx.account_id, &ctx.region, &names(&alarms));
            return Err(e);
        }
    }
    tracing::info!(policy = %arn, "put scaling policy");
    Ok(PutScalingPolicyResponse {
        policy_arn: arn,
        alarms: (!alarms.is_empty()).then(|| alarms.iter().map(AlarmRef::to_wire).collect()),
    })
}

impl AlarmRef {
    fn to_wire(&self) -> Alarm {
        Alarm {
            alarm_name: self.name.clone(),
            alarm_arn: self.arn.clone(),
        }
    }
}

impl PolicyRecord {
    /// The policy as DescribeScalingPolicies shows it; `alarms` are the alarms invoking it.
    fn to_wire(&self, alarms: Vec<Alarm>) -> ScalingPolicy {
        let (step, tracking) = match &self.config {
            PolicyConfig::Step(s) => (Some(policy_config::step_to_wire(s)), None),
            PolicyConfig::TargetTracking(t) => (None, Some(policy_config::tracking_to_wire(t))),
        };
        ScalingPolicy {
            policy_arn: self.arn.clone(),
            policy_name: self.name.clone(),
            service_namespace: self.namespace.clone(),
            resource_id: self.resource_id.clone(),
            scalable_dimension: self.dimension.clone(),
            policy_type: policy_type(&self.config).into(),
            step_scaling_policy_configuration: step,
            target_tracking_scaling_policy_configuration: tracking,
            predictive_scaling_policy_configuration: None,
            alarms: Some(alarms),
            creation_time: self.created,
        }
    }
}

/// The alarms of a policy: the two a target-tracking policy owns, or (step scaling) the
/// user's alarms CloudWatch knows with the policy among their actions.
fn alarms_of(scaling: &AutoScaling, ctx: &RequestContext, policy: &PolicyRecord) -> Vec<Alarm> {
    if let PolicyConfig::TargetTracking(_) = policy.config {
        return policy.alarms.iter().map(AlarmRef::to_wire).collect();
    }
    match scaling
        .alarms
        .alarms_with_action(&ctx.account_id, &ctx.region, &policy.arn)
    {
        Ok(found) => found
            .into_iter()
            .map(|(alarm_name, alarm_arn)| Alarm {
                alarm_name,
                alarm_arn,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(policy = %policy.arn, error = %e, "listing the alarms of a step policy failed");
            Vec::new()
        }
    }
}

/// DescribeScalingPolicies.
pub fn describe(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: DescribeScalingPoliciesRequest,
) -> Result<DescribeScalingPoliciesResponse, Error> {
    let names = input.policy_names.unwrap_or_default();
    let selection = ChildSelection::new(
        ctx,
        &input.service_namespace,
        input.scalable_dimension.as_deref(),
        input.resource_id.as_deref(),
        &names,
    );
    let policies: Vec<(String, PolicyRecord)> = scaling
        .store
        .read(|tx| tx.list(POLICIES, &selection.prefix))?
        .into_iter()
        .filter(|(_, x)| selection.matches(&x.name, &x.resource_id, &x.dimension))
        .collect();
    let (items, next) = page(
        policies,
        |(k, _)| k.clone(),
        input.next_token.as_deref(),
        input.max_results,
        false,
    )?;
    Ok(DescribeScalingPoliciesResponse {
        scaling_policies: Some(
            items
                .iter()
                .map(|(_, p)| p.to_wire(alarms_of(scaling, ctx, p)))
                .collect(),
        ),
        next_token: next,
    })
}

/// DeleteScalingPolicy.
pub fn delete(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: DeleteScalingPolicyRequest,
) -> Result<(), Error> {
    let key = child_key(
        &key_of(
            ctx,
            &input.service_namespace,
            &input.scalable_dimension,
            &input.resource_id,
        ),
        &input.policy_name,
    );
    let removed = scaling.store.write(|tx| {
        let policy = tx.get(POLICIES, &key)?;
        if policy.is_some() {
            tx.delete(POLICIES, &key)?;
        }
        Ok::<_, Error>(policy)
    })?;
    let Some(policy) = removed else {
        return Err(Error::ObjectNotFoundException(format!(
            "No scaling policy found for service namespace: {}, resource ID: {}, scalable \
             dimension: {}, policy name: {}",
            input.service_namespace, input.resource_id, input.scalable_dimension, input.policy_name
        )));
    };
    let names: Vec<String> = policy.alarms.into_iter().map(|a| a.name).collect();
    delete_alarms(scaling, &ctx.account_id, &ctx.region, &names);
    tracing::info!(policy = %policy.arn, "deleted scaling policy");
    Ok(())
}
