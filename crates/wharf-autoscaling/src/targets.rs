//! Scalable targets: RegisterScalableTarget (create or update), DescribeScalableTargets and
//! DeregisterScalableTarget, and [`deregister`], which the scaling loop also uses when a
//! service is deleted ("Deleting a service deregisters its scalable target").
//!
//! As on AWS: a new target needs MinCapacity and MaxCapacity; an update changes only what it
//! names (tags only through TagResource); RoleARN defaults to the ECS service-linked role; when
//! the service's desiredCount lies outside [min, max], registering moves it inside (an activity
//! caused by "minimum capacity was set to N" / "maximum capacity was set to N").

use crate::activities;
use crate::checks::{bounds_of, check_target_id, key_of, service_size, ServiceRef};
use crate::generated::{
    DeregisterScalableTargetRequest, DescribeScalableTargetsRequest,
    DescribeScalableTargetsResponse, Error, RegisterScalableTargetRequest,
    RegisterScalableTargetResponse, ScalableTarget, SuspendedState,
};
use crate::paging::page;
use crate::records::{
    children_prefix, scope_prefix, CooldownState, Suspension, TargetRecord, POLICIES,
    SCHEDULED_ACTIONS, TARGETS,
};
use crate::tag_rules;
use crate::AutoScaling;
use wharf_core::{RequestContext, Timestamp};
use wharf_store::{StoreError, Tx};

/// The role Application Auto Scaling uses for ECS services when the caller names none.
pub fn default_role_arn(account: &str) -> String {
    format!(
        "arn:aws:iam::{account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"
    )
}

/// Refuses a minimum above the maximum.
fn check_range(min: i32, max: i32) -> Result<(), Error> {
    if min > max {
        return Err(Error::ValidationException(format!(
            "Minimum capacity cannot be greater than maximum capacity (MinCapacity {min}, \
             MaxCapacity {max})"
        )));
    }
    Ok(())
}

/// `suspended` with the flags `given` names changed.
fn merge_suspension(suspended: Suspension, given: Option<&SuspendedState>) -> Suspension {
    let Some(given) = given else {
        return suspended;
    };
    Suspension {
        dynamic_in: given
            .dynamic_scaling_in_suspended
            .unwrap_or(suspended.dynamic_in),
        dynamic_out: given
            .dynamic_scaling_out_suspended
            .unwrap_or(suspended.dynamic_out),
        scheduled: given
            .scheduled_scaling_suspended
            .unwrap_or(suspended.scheduled),
    }
}

/// The target a register request makes of `existing` (or a new one).
fn registered(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: &RegisterScalableTargetRequest,
    existing: Option<TargetRecord>,
) -> Result<TargetRecord, Error> {
    let target = match existing {
        Some(old) => {
            if input.tags.is_some() {
                return Err(Error::ValidationException(
                    "The scalable target that you tried to tag already exists. To update tags \
                     on an existing scalable target, use the TagResource API."
                        .into(),
                ));
            }
            TargetRecord {
                min_capacity: input.min_capacity.unwrap_or(old.min_capacity),
                max_capacity: input.max_capacity.unwrap_or(old.max_capacity),
                role_arn: input.role_arn.clone().unwrap_or(old.role_arn.clone()),
                suspended: merge_suspension(old.suspended, input.suspended_state.as_ref()),
                ..old
            }
        }
        None => {
            let (Some(min), Some(max)) = (input.min_capacity, input.max_capacity) else {
                return Err(Error::ValidationException(
                    "MinCapacity and MaxCapacity are required when registering a new scalable \
                     target"
                        .into(),
                ));
            };
            let arn = format!(
                "arn:aws:application-autoscaling:{}:{}:scalable-target/{}",
                ctx.region,
                ctx.account_id,
                scaling.ids.hex(36)
            );
            let tags = input.tags.clone().unwrap_or_default();
            tag_rules::check(&arn, &Default::default(), &tags)?;
            TargetRecord {
                namespace: input.service_namespace.clone(),
                dimension: input.scalable_dimension.clone(),
                resource_id: input.resource_id.clone(),
                min_capacity: min,
                max_capacity: max,
                role_arn: input
                    .role_arn
                    .clone()
                    .unwrap_or_else(|| default_role_arn(&ctx.account_id)),
                arn,
                resource_uuid: scaling.ids.uuid(),
                created: ctx.now,
                suspended: merge_suspension(Suspension::default(), input.suspended_state.as_ref()),
                tags,
                cooldown: CooldownState::default(),
            }
        }
    };
    if target.min_capacity < 0 {
        return Err(Error::ValidationException(format!(
            "MinCapacity {} is below the minimum of 0",
            target.min_capacity
        )));
    }
    check_range(target.min_capacity, target.max_capacity)?;
    Ok(target)
}

/// RegisterScalableTarget.
pub fn register(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: RegisterScalableTargetRequest,
) -> Result<RegisterScalableTargetResponse, Error> {
    let service = check_target_id(
        &input.service_namespace,
        &input.scalable_dimension,
        &input.resource_id,
    )?;
    if let (Some(min), Some(max)) = (input.min_capacity, input.max_capacity) {
        check_range(min, max)?;
    }
    let size = service_size(
        scaling,
        &ctx.account_id,
        &ctx.region,
        &input.resource_id,
        &service,
    )?;
    let key = key_of(
        ctx,
        &input.service_namespace,
        &input.scalable_dimension,
        &input.resource_id,
    );
    let target = scaling.store.write(|tx| {
        let target = registered(scaling, ctx, &input, tx.get(TARGETS, &key)?)?;
        tx.put(TARGETS, &key, &target)?;
        Ok::<_, Error>(target)
    })?;
    tracing::info!(target = %target.arn, resource = %target.resource_id, "registered scalable target");
    let scope = (ctx.account_id.as_str(), ctx.region.as_str(), ctx.now);
    bring_within_bounds(scaling, scope, &key, &target, &service, size.desired)?;
    Ok(RegisterScalableTargetResponse {
        scalable_target_arn: Some(target.arn),
    })
}

/// Moves a desired count outside the target's range to its nearest bound, as AWS does when a
/// target is registered or its range changes; records the activity.
pub fn bring_within_bounds(
    scaling: &AutoScaling,
    (account, region, now): (&str, &str, Timestamp),
    key: &str,
    target: &TargetRecord,
    service: &ServiceRef,
    desired: u32,
) -> Result<(), Error> {
    let (min, max) = bounds_of(target);
    let (to, cause) = if desired < min {
        (min, format!("minimum capacity was set to {min}"))
    } else if desired > max {
        (max, format!("maximum capacity was set to {max}"))
    } else {
        return Ok(());
    };
    let activity =
        activities::change_desired(scaling, target, service, account, region, to, cause, now);
    scaling
        .store
        .write(|tx| activities::store(tx, key, &activity))?;
    Ok(())
}

impl TargetRecord {
    fn to_wire(&self) -> ScalableTarget {
        ScalableTarget {
            service_namespace: self.namespace.clone(),
            resource_id: self.resource_id.clone(),
            scalable_dimension: self.dimension.clone(),
            min_capacity: self.min_capacity,
            max_capacity: self.max_capacity,
            predicted_capacity: None,
            role_arn: self.role_arn.clone(),
            creation_time: self.created,
            suspended_state: Some(SuspendedState {
                dynamic_scaling_in_suspended: Some(self.suspended.dynamic_in),
                dynamic_scaling_out_suspended: Some(self.suspended.dynamic_out),
                scheduled_scaling_suspended: Some(self.suspended.scheduled),
            }),
            scalable_target_arn: Some(self.arn.clone()),
        }
    }
}

/// DescribeScalableTargets.
pub fn describe(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: DescribeScalableTargetsRequest,
) -> Result<DescribeScalableTargetsResponse, Error> {
    let prefix = format!(
        "{}{}/",
        scope_prefix(&ctx.account_id, &ctx.region),
        input.service_namespace
    );
    let ids = input.resource_ids.unwrap_or_default();
    let targets: Vec<(String, TargetRecord)> = scaling
        .store
        .read(|tx| tx.list(TARGETS, &prefix))?
        .into_iter()
        .filter(|(_, t)| ids.is_empty() || ids.contains(&t.resource_id))
        .filter(|(_, t)| {
            input
                .scalable_dimension
                .as_ref()
                .is_none_or(|d| *d == t.dimension)
        })
        .collect();
    let (items, next) = page(
        targets,
        |(k, _)| k.clone(),
        input.next_token.as_deref(),
        input.max_results,
        false,
    )?;
    Ok(DescribeScalableTargetsResponse {
        scalable_targets: Some(items.iter().map(|(_, t)| t.to_wire()).collect()),
        next_token: next,
    })
}

/// Removes the target `key` with its policies and scheduled actions; returns the names of the
/// alarms its policies owned (to delete in CloudWatch after the commit), or `None` when there
/// is no such target.
pub fn remove(tx: &Tx<'_>, key: &str) -> Result<Option<Vec<String>>, StoreError> {
    if !tx.delete(TARGETS, key)? {
        return Ok(None);
    }
    let prefix = children_prefix(key);
    let mut alarms = Vec::new();
    for (policy_key, policy) in tx.list(POLICIES, &prefix)? {
        alarms.extend(policy.alarms.into_iter().map(|a| a.name));
        tx.delete(POLICIES, &policy_key)?;
    }
    for (action_key, _) in tx.list(SCHEDULED_ACTIONS, &prefix)? {
        tx.delete(SCHEDULED_ACTIONS, &action_key)?;
    }
    Ok(Some(alarms))
}

/// Deletes the managed alarms `names` of `account` / `region` (a failure is logged: the
/// policies that owned them are gone already).
pub fn delete_alarms(scaling: &AutoScaling, account: &str, region: &str, names: &[String]) {
    if names.is_empty() {
        return;
    }
    if let Err(e) = scaling.alarms.delete_managed_alarms(account, region, names) {
        tracing::warn!(error = %e, alarms = ?names, "deleting target tracking alarms failed");
    }
}

/// Deregisters the target `key` of `account` / `region`; false when it was not registered.
pub fn deregister(
    scaling: &AutoScaling,
    account: &str,
    region: &str,
    key: &str,
) -> Result<bool, Error> {
    let Some(alarms) = scaling.store.write(|tx| remove(tx, key))? else {
        return Ok(false);
    };
    delete_alarms(scaling, account, region, &alarms);
    tracing::info!(target = key, "deregistered scalable target");
    Ok(true)
}

/// DeregisterScalableTarget.
pub fn deregister_request(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: DeregisterScalableTargetRequest,
) -> Result<(), Error> {
    let key = key_of(
        ctx,
        &input.service_namespace,
        &input.scalable_dimension,
        &input.resource_id,
    );
    if deregister(scaling, &ctx.account_id, &ctx.region, &key)? {
        Ok(())
    } else {
        Err(Error::ObjectNotFoundException(format!(
            "No scalable target found for service namespace: {}, resource ID: {}, scalable \
             dimension: {}",
            input.service_namespace, input.resource_id, input.scalable_dimension
        )))
    }
}

/// Every target of every account and region (for the scaling loop).
pub fn all(scaling: &AutoScaling) -> Result<Vec<(String, TargetRecord)>, StoreError> {
    scaling.store.read(|tx| tx.list(TARGETS, ""))
}
