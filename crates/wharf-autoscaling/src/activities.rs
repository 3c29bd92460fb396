//! Scaling activities: the record of every change Application Auto Scaling makes to a target's
//! capacity (and of the ones it decided not to make), in AWS's words, and
//! DescribeScalingActivities (newest first; not scaled activities only with
//! `IncludeNotScaledActivities`). Activities are kept six weeks, as on AWS (pruned by the
//! scaling loop).
//!
//! Wording (the AWS CLI's `describe-scaling-activities` examples): Description
//! `Setting desired count to 4.`, StatusMessage `Successfully set desired count to 4. Change
//! successfully fulfilled by ecs.`; causes `monitor alarm <name> in state ALARM triggered policy
//! <policy>`, `minimum capacity was set to 2`, `maximum capacity was set to 10`,
//! `scheduled action name <name> was triggered` (with Description / StatusMessage
//! `Setting min capacity to 1 and max capacity to 5` / `Successfully set min capacity to 1 and
//! max capacity to 5`).

use crate::checks::ServiceRef;
use crate::generated::{
    DescribeScalingActivitiesRequest, DescribeScalingActivitiesResponse, Error, NotScaledReason,
    ScalingActivity,
};
use crate::paging::page;
use crate::records::{
    activity_key, scope_prefix, target_key, ActivityRecord, NotScaled, TargetRecord, ACTIVITIES,
};
use crate::AutoScaling;
use wharf_core::{RequestContext, Timestamp};
use wharf_store::{StoreError, Tx};

/// How long activities are kept: six weeks.
pub const RETENTION_MILLIS: i64 = 42 * 24 * 3600 * 1000;

/// A new activity of `target`.
pub fn new_activity(
    scaling: &AutoScaling,
    target: &TargetRecord,
    description: String,
    cause: String,
    now: Timestamp,
) -> ActivityRecord {
    ActivityRecord {
        id: scaling.ids.uuid(),
        namespace: target.namespace.clone(),
        dimension: target.dimension.clone(),
        resource_id: target.resource_id.clone(),
        description,
        cause,
        start: now,
        end: None,
        status_code: "InProgress".into(),
        status_message: None,
        not_scaled: Vec::new(),
    }
}

/// Sets the desired count of `service` to `to` through ECS and returns the activity that says
/// so (Successful, or Failed with ECS's reason).
pub fn change_desired(
    scaling: &AutoScaling,
    target: &TargetRecord,
    service: &ServiceRef,
    account: &str,
    region: &str,
    to: u32,
    cause: String,
    now: Timestamp,
) -> ActivityRecord {
    let mut activity = new_activity(
        scaling,
        target,
        format!("Setting desired count to {to}."),
        cause,
        now,
    );
    let result =
        scaling
            .capacity
            .set_desired(account, region, &service.cluster, &service.service, to, now);
    activity.end = Some(scaling.clock.now().max(now));
    match result {
        Ok(()) => {
            activity.status_code = "Successful".into();
            activity.status_message = Some(format!(
                "Successfully set desired count to {to}. Change successfully fulfilled by ecs."
            ));
        }
        Err(e) => {
            tracing::warn!(resource = %target.resource_id, error = %e, "setting the desired count failed");
            activity.status_code = "Failed".into();
            activity.status_message = Some(format!(
                "Failed to set desired count to {to}. Reason: {}",
                e.message
            ));
        }
    }
    activity
}

/// A not scaled activity: the policy wanted `wanted` but the target is already at a bound.
pub fn not_scaled(
    scaling: &AutoScaling,
    target: &TargetRecord,
    wanted: u32,
    reason: NotScaled,
    cause: String,
    now: Timestamp,
) -> ActivityRecord {
    let mut activity = new_activity(
        scaling,
        target,
        format!("Failed to set desired count to {wanted}"),
        cause,
        now,
    );
    activity.end = Some(now);
    activity.status_code = "Failed".into();
    activity.status_message = Some(format!("Failed to set desired count to {wanted}"));
    activity.not_scaled = vec![reason];
    activity
}

/// Stores `activity` of the target `target_key`.
pub fn store(tx: &Tx<'_>, target_key: &str, activity: &ActivityRecord) -> Result<(), StoreError> {
    tx.put(
        ACTIVITIES,
        &activity_key(target_key, activity.start, &activity.id),
        activity,
    )
}

/// Removes the activities of `account` / `region` older than six weeks at `now`.
pub fn prune(tx: &Tx<'_>, prefix: &str, now: Timestamp) -> Result<usize, StoreError> {
    let cutoff = now.millis - RETENTION_MILLIS;
    let mut removed = 0;
    for (key, activity) in tx.list(ACTIVITIES, prefix)? {
        if activity.start.millis < cutoff && tx.delete(ACTIVITIES, &key)? {
            removed += 1;
        }
    }
    Ok(removed)
}

impl ActivityRecord {
    fn to_wire(&self) -> ScalingActivity {
        ScalingActivity {
            activity_id: self.id.clone(),
            service_namespace: self.namespace.clone(),
            resource_id: self.resource_id.clone(),
            scalable_dimension: self.dimension.clone(),
            description: self.description.clone(),
            cause: self.cause.clone(),
            start_time: self.start,
            end_time: self.end,
            status_code: self.status_code.clone(),
            status_message: self.status_message.clone(),
            details: None,
            not_scaled_reasons: (!self.not_scaled.is_empty()).then(|| {
                self.not_scaled
                    .iter()
                    .map(|r| NotScaledReason {
                        code: r.code.clone(),
                        max_capacity: r.max_capacity,
                        min_capacity: r.min_capacity,
                        current_capacity: r.current_capacity,
                    })
                    .collect()
            }),
        }
    }

    /// The order of activities: by start time, then id.
    fn order_key(&self) -> String {
        format!("{:016}|{}", self.start.millis.max(0), self.id)
    }
}

/// DescribeScalingActivities.
pub fn describe(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: DescribeScalingActivitiesRequest,
) -> Result<DescribeScalingActivitiesResponse, Error> {
    let prefix = match (&input.scalable_dimension, &input.resource_id) {
        (Some(dim), Some(rid)) => format!(
            "{}|",
            target_key(
                &ctx.account_id,
                &ctx.region,
                &input.service_namespace,
                dim,
                rid
            )
        ),
        _ => format!(
            "{}{}/",
            scope_prefix(&ctx.account_id, &ctx.region),
            input.service_namespace
        ),
    };
    let include_not_scaled = input.include_not_scaled_activities.unwrap_or(false);
    let mut activities: Vec<ActivityRecord> = scaling
        .store
        .read(|tx| tx.list(ACTIVITIES, &prefix))?
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| a.namespace == input.service_namespace)
        .filter(|a| {
            input
                .resource_id
                .as_ref()
                .is_none_or(|r| *r == a.resource_id)
        })
        .filter(|a| {
            input
                .scalable_dimension
                .as_ref()
                .is_none_or(|d| *d == a.dimension)
        })
        .filter(|a| include_not_scaled || a.not_scaled.is_empty())
        .collect();
    activities.sort_by_key(|a| std::cmp::Reverse(a.order_key()));
    let (items, next) = page(
        activities,
        ActivityRecord::order_key,
        input.next_token.as_deref(),
        input.max_results,
        true,
    )?;
    Ok(DescribeScalingActivitiesResponse {
        scaling_activities: Some(items.iter().map(ActivityRecord::to_wire).collect()),
        next_token: next,
    })
}
