//! Scheduled actions: PutScheduledAction (create, or update what the request names),
//! DescribeScheduledActions, DeleteScheduledAction, and [`run`], which the scaling loop calls
//! for an action that is due: it sets the target's min / max capacity, then moves the desired
//! count inside them (activities worded as AWS's: `Setting min capacity to 1 and max capacity
//! to 5`, caused by `scheduled action name <name> was triggered`; then `Setting desired count
//! to N.` caused by `minimum capacity was set to N`).

use crate::activities;
use crate::checks::{check_target_id, key_of, load_target, parse_service_resource, ChildSelection};
use crate::generated::{
    DeleteScheduledActionRequest, DescribeScheduledActionsRequest,
    DescribeScheduledActionsResponse, Error, PutScheduledActionRequest, ScalableTargetAction,
    ScheduledAction,
};
use crate::paging::page;
use crate::records::{
    child_key, children_prefix, ScheduledActionRecord, TargetRecord, SCHEDULED_ACTIONS, TARGETS,
};
use crate::schedule::{self, Window};
use crate::targets::bring_within_bounds;
use crate::AutoScaling;
use wharf_core::{RequestContext, Timestamp};

/// Most scheduled actions one scalable target may have (AWS's quota).
pub const MAX_ACTIONS_PER_TARGET: usize = 200;

fn invalid(message: impl Into<String>) -> Error {
    Error::ValidationException(message.into())
}

/// Refuses an action whose schedule, zone, window or capacities are wrong.
fn check(action: &ScheduledActionRecord) -> Result<(), Error> {
    schedule::parse(&action.schedule).map_err(invalid)?;
    schedule::parse_zone(action.timezone.as_deref()).map_err(invalid)?;
    if let (Some(start), Some(end)) = (action.start, action.end) {
        if start > end {
            return Err(invalid("StartTime must be before EndTime"));
        }
    }
    if let (Some(min), Some(max)) = (action.min_capacity, action.max_capacity) {
        if min > max {
            return Err(invalid(format!(
                "Minimum capacity cannot be greater than maximum capacity (MinCapacity {min}, \
                 MaxCapacity {max})"
            )));
        }
    }
    if action.min_capacity.is_some_and(|m| m < 0) || action.max_capacity.is_some_and(|m| m < 0) {
        return Err(invalid(
            "ScalableTargetAction capacities must be at least 0",
        ));
    }
    Ok(())
}

/// The action a put request makes of `existing` (or a new one).
fn merged(
    ctx: &RequestContext,
    input: &PutScheduledActionRequest,
    target: &TargetRecord,
    existing: Option<ScheduledActionRecord>,
) -> Result<ScheduledActionRecord, Error> {
    let action = input.scalable_target_action.clone().unwrap_or_default();
    let record = match existing {
        Some(old) => ScheduledActionRecord {
            schedule: input.schedule.clone().unwrap_or(old.schedule.clone()),
            timezone: input.timezone.clone().or(old.timezone.clone()),
            start: input.start_time.or(old.start),
            end: input.end_time.or(old.end),
            min_capacity: action.min_capacity.or(old.min_capacity),
            max_capacity: action.max_capacity.or(old.max_capacity),
            // A changed schedule starts counting again.
            last_run: if input.schedule.is_some() || input.timezone.is_some() {
                None
            } else {
                old.last_run
            },
            created: if input.schedule.is_some() { ctx.now } else { old.created },
            ..old
        },
        None => ScheduledActionRecord {
            name: input.scheduled_action_name.clone(),
            arn: format!(
                "arn:aws:autoscaling:{}:{}:scheduledAction:{}:resource/ecs/{}:scheduledActionName/{}",
                ctx.region,
                ctx.account_id,
                target.resource_uuid,
                input.resource_id,
                input.scheduled_action_name
            ),
            namespace: input.service_namespace.clone(),
            dimension: input.scalable_dimension.clone(),
            resource_id: input.resource_id.clone(),
            schedule: input
                .schedule
                .clone()
                .ok_or_else(|| invalid("Schedule is required when creating a scheduled action"))?,
            timezone: input.timezone.clone(),
            start: input.start_time,
            end: input.end_time,
            min_capacity: action.min_capacity,
            max_capacity: action.max_capacity,
            created: ctx.now,
            last_run: None,
        },
    };
    check(&record)?;
    Ok(record)
}

/// PutScheduledAction.
pub fn put(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: PutScheduledActionRequest,
) -> Result<(), Error> {
    check_target_id(
        &input.service_namespace,
        &input.scalable_dimension,
        &input.resource_id,
    )?;
    let target_key = key_of(
        ctx,
        &input.service_namespace,
        &input.scalable_dimension,
        &input.resource_id,
    );
    let key = child_key(&target_key, &input.scheduled_action_name);
    scaling.store.write(|tx| {
        let target = load_target(
            tx,
            ctx,
            &input.service_namespace,
            &input.scalable_dimension,
            &input.resource_id,
        )?;
        let existing = tx.get(SCHEDULED_ACTIONS, &key)?;
        if existing.is_none()
            && tx
                .list(SCHEDULED_ACTIONS, &children_prefix(&target_key))?
                .len()
                >= MAX_ACTIONS_PER_TARGET
        {
            return Err(Error::LimitExceededException(format!(
                "Maximum number of scheduled actions ({MAX_ACTIONS_PER_TARGET}) reached for \
                 scalable target {}",
                input.resource_id
            )));
        }
        let record = merged(ctx, &input, &target, existing)?;
        tx.put(SCHEDULED_ACTIONS, &key, &record)?;
        Ok(())
    })
}

impl ScheduledActionRecord {
    fn to_wire(&self) -> ScheduledAction {
        ScheduledAction {
            scheduled_action_name: self.name.clone(),
            scheduled_action_arn: self.arn.clone(),
            service_namespace: self.namespace.clone(),
            schedule: self.schedule.clone(),
            timezone: self.timezone.clone(),
            resource_id: self.resource_id.clone(),
            scalable_dimension: Some(self.dimension.clone()),
            start_time: self.start,
            end_time: self.end,
            scalable_target_action: Some(ScalableTargetAction {
                min_capacity: self.min_capacity,
                max_capacity: self.max_capacity,
            }),
            creation_time: self.created,
        }
    }
}

/// DescribeScheduledActions.
pub fn describe(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: DescribeScheduledActionsRequest,
) -> Result<DescribeScheduledActionsResponse, Error> {
    let names = input.scheduled_action_names.unwrap_or_default();
    let selection = ChildSelection::new(
        ctx,
        &input.service_namespace,
        input.scalable_dimension.as_deref(),
        input.resource_id.as_deref(),
        &names,
    );
    let actions: Vec<(String, ScheduledActionRecord)> = scaling
        .store
        .read(|tx| tx.list(SCHEDULED_ACTIONS, &selection.prefix))?
        .into_iter()
        .filter(|(_, x)| selection.matches(&x.name, &x.resource_id, &x.dimension))
        .collect();
    let (items, next) = page(
        actions,
        |(k, _)| k.clone(),
        input.next_token.as_deref(),
        input.max_results,
        false,
    )?;
    Ok(DescribeScheduledActionsResponse {
        scheduled_actions: Some(items.iter().map(|(_, a)| a.to_wire()).collect()),
        next_token: next,
    })
}

/// DeleteScheduledAction.
pub fn delete(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: DeleteScheduledActionRequest,
) -> Result<(), Error> {
    let key = child_key(
        &key_of(
            ctx,
            &input.service_namespace,
            &input.scalable_dimension,
            &input.resource_id,
        ),
        &input.scheduled_action_name,
    );
    if scaling
        .store
        .write(|tx| tx.delete(SCHEDULED_ACTIONS, &key))?
    {
        Ok(())
    } else {
        Err(Error::ObjectNotFoundException(format!(
            "No scheduled action found for service namespace: {}, resource ID: {}, scalable \
             dimension: {}, scheduled action name: {}",
            input.service_namespace,
            input.resource_id,
            input.scalable_dimension,
            input.scheduled_action_name
        )))
    }
}

/// The scheduled instant of `action` due at `now`, if any.
pub fn due_at(action: &ScheduledActionRecord, now: Timestamp) -> Option<Timestamp> {
    let schedule = schedule::parse(&action.schedule).ok()?;
    let zone = schedule::parse_zone(action.timezone.as_deref()).ok()?;
    let window = Window {
        start: action.start,
        end: action.end,
        created: action.created,
    };
    schedule::due(&schedule, zone, window, action.last_run, now)
}

/// `Setting min capacity to 1 and max capacity to 5`, or the half the action names.
fn capacity_words(min: Option<i32>, max: Option<i32>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("min capacity to {min} and max capacity to {max}"),
        (Some(min), None) => format!("min capacity to {min}"),
        (None, Some(max)) => format!("max capacity to {max}"),
        (None, None) => "no capacity".into(),
    }
}

/// Runs the scheduled action `key` for its instant `instant` at `now` (in `account` /
/// `region`): marks it run, applies its capacities unless scheduled scaling is suspended, then
/// moves the desired count inside them.
pub fn run(
    scaling: &AutoScaling,
    (account, region): (&str, &str),
    target_key: &str,
    key: &str,
    instant: Timestamp,
    now: Timestamp,
) -> Result<(), Error> {
    let applied = scaling.store.write(|tx| {
        let (Some(mut action), Some(mut target)) = (
            tx.get(SCHEDULED_ACTIONS, key)?,
            tx.get(TARGETS, target_key)?,
        ) else {
            return Ok::<Option<TargetRecord>, Error>(None);
        };
        action.last_run = Some(instant);
        tx.put(SCHEDULED_ACTIONS, key, &action)?;
        if target.suspended.scheduled {
            return Ok(None);
        }
        let min = action.min_capacity.unwrap_or(target.min_capacity);
        let max = action.max_capacity.unwrap_or(target.max_capacity);
        let words = capacity_words(action.min_capacity, action.max_capacity);
        let mut activity = activities::new_activity(
            scaling,
            &target,
            format!("Setting {words}"),
            format!("scheduled action name {} was triggered", action.name),
            now,
        );
        activity.end = Some(now);
        if min > max {
            activity.status_code = "Failed".into();
            activity.status_message = Some(format!(
                "Failed to set {words}: minimum capacity {min} cannot be greater than maximum \
                 capacity {max}"
            ));
            activities::store(tx, target_key, &activity)?;
            return Ok(None);
        }
        target.min_capacity = min;
        target.max_capacity = max;
        tx.put(TARGETS, target_key, &target)?;
        activity.status_code = "Successful".into();
        activity.status_message = Some(format!("Successfully set {words}"));
        activities::store(tx, target_key, &activity)?;
        Ok(Some(target))
    })?;
    let Some(target) = applied else {
        return Ok(());
    };
    tracing::info!(resource = %target.resource_id, action = key, "ran scheduled action");
    let Some(service) = parse_service_resource(&target.resource_id) else {
        return Ok(());
    };
    let Some(size) = scaling
        .capacity
        .size(account, region, &service.cluster, &service.service)
        .map_err(|e| crate::errors::from_neighbour("reading the ECS service", e))?
    else {
        return Ok(());
    };
    bring_within_bounds(
        scaling,
        (account, region, now),
        target_key,
        &target,
        &service,
        size.desired,
    )
}
