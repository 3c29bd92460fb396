//! The alarm operations (PutMetricAlarm, DescribeAlarms, DescribeAlarmsForMetric,
//! DescribeAlarmHistory, DeleteAlarms, SetAlarmState, Enable/DisableAlarmActions), the tag
//! operations on alarm ARNs, and the alarms other services own (`put_managed` /
//! `delete_managed`, Application Auto Scaling's target-tracking alarms). The pieces they share
//! live in `crate::alarms`.

use crate::alarms::config::{self, MAX_ALARMS};
use crate::alarms::evaluation::AlarmState;
use crate::alarms::history::{self, Query};
use crate::alarms::state::{self, NewState};
use crate::alarms::wire::{self, AlarmFilter, MetricFilter};
use crate::alarms::{actions, alarm_arn, find, store_failure, Refused};
use crate::generated::*;
use crate::records::{alarm_key, alarm_prefix, AlarmRecord, ALARMS};
use crate::CloudWatch;
use wharf_core::pagination::{decode_token, encode_token, paginate};
use wharf_core::tags::{self, TagViolation};
use wharf_core::{ManagedAlarm, RequestContext, ServiceError, Timestamp};

pub use crate::alarms::runner::run_alarm_loop;

/// Creates or replaces `record` (keeping an existing alarm's state and tags, as AWS does) and
/// records its ConfigurationUpdate.
fn store_alarm(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    record: AlarmRecord,
    now: Timestamp,
) -> Result<(), Refused> {
    cw.store.write(|tx| {
        let key = alarm_key(account, region, &record.name);
        let item = match find(tx, account, region, &record.name)? {
            Some(old) => {
                let new = config::replace_configuration(&old, record);
                let item = history::updated(&old, &new);
                tx.put(ALARMS, &key, &new)?;
                (new.name.clone(), item)
            }
            None => {
                let prefix = alarm_prefix(account, region);
                let end = format!("{prefix}\u{10FFFF}");
                if tx.range_keys(ALARMS, &prefix, &end, MAX_ALARMS)?.len() >= MAX_ALARMS {
                    return Err(Error::LimitExceededFault(
                        "The maximum number of alarms for this account and region has been reached."
                            .into(),
                    )
                    .into());
                }
                let item = history::created(&record);
                tx.put(ALARMS, &key, &record)?;
                (record.name.clone(), item)
            }
        };
        history::record(tx, cw.ids.as_ref(), account, region, &item.0, now, item.1)?;
        Ok(())
    })
}

fn check_tags(given: &[(String, String)], existing: usize) -> Result<(), Error> {
    let violation = tags::check(
        given.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        tags::Checks {
            characters: true,
            duplicates: false,
        },
    );
    let message = match violation {
        Some(TagViolation::KeyLength(k)) => format!(
            "The value '{k}' for Tags.Key is not valid: a tag key has 1 to {} characters.",
            tags::MAX_KEY_CHARS
        ),
        Some(TagViolation::ReservedKey(k)) => {
            format!("The value '{k}' for Tags.Key is not valid: the aws: prefix is reserved for AWS.")
        }
        Some(TagViolation::ValueLength(k)) => format!(
            "The value of tag '{k}' is not valid: a tag value has at most {} characters.",
            tags::MAX_VALUE_CHARS
        ),
        Some(TagViolation::InvalidCharacters(k)) => format!(
            "The tag '{k}' is not valid: tags hold letters, numbers, spaces and _ . : / = + - @ only."
        ),
        Some(TagViolation::DuplicateKey(k)) => format!("The tag key '{k}' is given twice."),
        Some(TagViolation::TooMany(n)) => format!("A resource can have at most {} tags, not {n}.", tags::MAX_TAGS),
        None if !tags::count_ok(existing) => format!(
            "A resource can have at most {} tags, not {existing}.",
            tags::MAX_TAGS
        ),
        None => return Ok(()),
    };
    Err(Error::InvalidParameterValueException(message))
}

pub(crate) fn put_managed(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    alarm: ManagedAlarm,
    now: Timestamp,
) -> Result<String, ServiceError> {
    let record = config::from_input(&config::managed_input(&alarm), account, region, now)?;
    let arn = record.arn.clone();
    store_alarm(cw, account, region, record, now).map_err(Error::from)?;
    Ok(arn)
}

pub(crate) fn delete_managed(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    names: &[String],
) -> Result<(), ServiceError> {
    let now = cw.clock.now();
    delete(cw, account, region, names, now, false).map_err(|e| Error::from(e).into())
}

/// The `(AlarmName, AlarmArn)` of every alarm of `account` / `region` with `action_arn` among
/// its actions (of any state), in name order.
pub(crate) fn with_action(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    action_arn: &str,
) -> Result<Vec<(String, String)>, ServiceError> {
    let alarms = cw
        .store
        .read(|tx| tx.list(ALARMS, &alarm_prefix(account, region)))
        .map_err(Error::from)?;
    Ok(alarms
        .into_iter()
        .map(|(_, alarm)| alarm)
        .filter(|a| {
            [
                &a.alarm_actions,
                &a.ok_actions,
                &a.insufficient_data_actions,
            ]
            .iter()
            .any(|actions| actions.iter().any(|x| x == action_arn))
        })
        .map(|a| (a.name, a.arn))
        .collect())
}

/// Deletes the alarms `names` in one transaction; with `all_must_exist`, a missing one refuses
/// the whole call (DeleteAlarms' ResourceNotFound).
fn delete(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    names: &[String],
    now: Timestamp,
    all_must_exist: bool,
) -> Result<(), Refused> {
    cw.store.write(|tx| {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for name in names {
            match find(tx, account, region, name)? {
                Some(r) => found.push(r),
                None => missing.push(name.as_str()),
            }
        }
        if all_must_exist && !missing.is_empty() {
            return Err(Error::ResourceNotFound(format!(
                "{} {} not found: {}",
                if missing.len() == 1 {
                    "Alarm"
                } else {
                    "Alarms"
                },
                if missing.len() == 1 { "was" } else { "were" },
                missing.join(", ")
            ))
            .into());
        }
        for r in found {
            tx.delete(ALARMS, &alarm_key(account, region, &r.name))?;
            history::record(
                tx,
                cw.ids.as_ref(),
                account,
                region,
                &r.name,
                now,
                history::deleted(&r),
            )?;
        }
        Ok(())
    })
}

pub(crate) fn put_metric_alarm(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: PutMetricAlarmInput,
) -> Result<(), Error> {
    let record = config::from_input(&input, &ctx.account_id, &ctx.region, ctx.now)?;
    check_tags(&record.tags, record.tags.len())?;
    Ok(store_alarm(
        cw,
        &ctx.account_id,
        &ctx.region,
        record,
        ctx.now,
    )?)
}

fn max_records(given: Option<i32>, default: usize) -> Result<usize, Error> {
    match given {
        None => Ok(default),
        Some(n) if (1..=100).contains(&n) => Ok(usize::try_from(n).unwrap_or(default)),
        Some(n) => Err(Error::InvalidParameterValueException(format!(
            "The value {n} for parameter MaxRecords is not valid: it must be between 1 and 100."
        ))),
    }
}

fn list_alarms(cw: &CloudWatch, ctx: &RequestContext) -> Result<Vec<AlarmRecord>, Error> {
    cw.store
        .read(|tx| tx.list(ALARMS, &alarm_prefix(&ctx.account_id, &ctx.region)))
        .map(|rows| rows.into_iter().map(|(_, r)| r).collect())
        .map_err(store_failure)
}

pub(crate) fn describe_alarms(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: DescribeAlarmsInput,
) -> Result<DescribeAlarmsOutput, Error> {
    if input.alarm_names.is_some() && input.alarm_name_prefix.is_some() {
        return Err(Error::InvalidParameterCombinationException(
            "AlarmNames and AlarmNamePrefix are mutually exclusive.".into(),
        ));
    }
    let related = input.children_of_alarm_name.is_some() || input.parents_of_alarm_name.is_some();
    if related
        && (input.alarm_names.is_some()
            || input.alarm_name_prefix.is_some()
            || input.state_value.is_some()
            || input.action_prefix.is_some())
    {
        return Err(Error::InvalidParameterCombinationException(
            "ChildrenOfAlarmName and ParentsOfAlarmName cannot be combined with AlarmNames, AlarmNamePrefix, StateValue or ActionPrefix.".into(),
        ));
    }
    if input.alarm_names.as_ref().is_some_and(|n| n.len() > 100) {
        return Err(Error::InvalidParameterValueException(
            "The collection AlarmNames must not have a size greater than 100.".into(),
        ));
    }
    let max = max_records(input.max_records, 50)?;
    let types = input.alarm_types.clone().unwrap_or_default();
    if let Some(bad) = types
        .iter()
        .find(|t| *t != "MetricAlarm" && *t != "CompositeAlarm")
    {
        return Err(Error::InvalidParameterValueException(format!(
            "The value {bad} for parameter AlarmTypes is not valid. Valid values: CompositeAlarm, MetricAlarm."
        )));
    }
    let wants_metric = types.is_empty() || types.iter().any(|t| t == "MetricAlarm");
    // wharf has no composite alarms: a metric alarm has no children and no composite parents.
    let alarms: Vec<AlarmRecord> = if wants_metric && !related {
        let filter = AlarmFilter {
            names: input.alarm_names.as_deref(),
            name_prefix: input.alarm_name_prefix.as_deref(),
            state: input.state_value.as_deref(),
            action_prefix: input.action_prefix.as_deref(),
        };
        let mut all = list_alarms(cw, ctx)?;
        all.retain(|r| filter.matches(r));
        all
    } else {
        Vec::new()
    };
    let (page, next) = paginate(alarms, |r| r.name.clone(), input.next_token.as_deref(), max)
        .map_err(|_| Error::InvalidNextToken("The specified NextToken is not valid.".into()))?;
    Ok(DescribeAlarmsOutput {
        composite_alarms: Some(Vec::new()),
        metric_alarms: Some(page.iter().map(wire::metric_alarm).collect()),
        next_token: next,
    })
}

pub(crate) fn describe_alarms_for_metric(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: DescribeAlarmsForMetricInput,
) -> Result<DescribeAlarmsForMetricOutput, Error> {
    let filter = MetricFilter {
        namespace: &input.namespace,
        metric_name: &input.metric_name,
        dimensions: input.dimensions.as_deref(),
        statistic: input.statistic.as_deref(),
        extended_statistic: input.extended_statistic.as_deref(),
        period: input.period,
        unit: input.unit.as_deref(),
    };
    let alarms = list_alarms(cw, ctx)?;
    Ok(DescribeAlarmsForMetricOutput {
        metric_alarms: Some(
            alarms
                .iter()
                .filter(|r| filter.matches(r))
                .map(wire::metric_alarm)
                .collect(),
        ),
    })
}

pub(crate) fn describe_alarm_history(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: DescribeAlarmHistoryInput,
) -> Result<DescribeAlarmHistoryOutput, Error> {
    let max = max_records(input.max_records, 100)?;
    let descending = match input.scan_by.as_deref() {
        None | Some("TimestampDescending") => true,
        Some("TimestampAscending") => false,
        Some(other) => {
            return Err(Error::InvalidParameterValueException(format!(
                "The value {other} for parameter ScanBy is not valid. Valid values: TimestampDescending, TimestampAscending."
            )))
        }
    };
    if let (Some(s), Some(e)) = (input.start_date, input.end_date) {
        if s > e {
            return Err(Error::InvalidParameterValueException(
                "The parameter StartDate must be before EndDate.".into(),
            ));
        }
    }
    let types = input.alarm_types.clone().unwrap_or_default();
    if !types.is_empty() && !types.iter().any(|t| t == "MetricAlarm") {
        return Ok(DescribeAlarmHistoryOutput {
            alarm_history_items: Some(Vec::new()),
            next_token: None,
        });
    }
    let query = Query {
        alarm_name: input.alarm_name.clone(),
        item_type: input.history_item_type.clone(),
        start: input.start_date,
        end: input.end_date,
        descending,
    };
    let items = cw
        .store
        .read(|tx| history::find(tx, &ctx.account_id, &ctx.region, &query))
        .map_err(store_failure)?;
    let after = match input.next_token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => Some(decode_token(t).ok_or_else(|| {
            Error::InvalidNextToken("The specified NextToken is not valid.".into())
        })?),
        None => None,
    };
    let mut page: Vec<(String, crate::records::AlarmHistoryRecord)> = items
        .into_iter()
        .filter(|(k, _)| {
            after
                .as_ref()
                .is_none_or(|a| if descending { k < a } else { k > a })
        })
        .take(max + 1)
        .collect();
    let next = if page.len() > max {
        page.truncate(max);
        page.last().map(|(k, _)| encode_token(k))
    } else {
        None
    };
    Ok(DescribeAlarmHistoryOutput {
        alarm_history_items: Some(
            page.into_iter()
                .map(|(_, h)| AlarmHistoryItem {
                    alarm_name: Some(h.alarm_name),
                    alarm_contributor_id: None,
                    alarm_type: Some("MetricAlarm".into()),
                    timestamp: Some(h.timestamp),
                    history_item_type: Some(h.item_type),
                    history_summary: Some(h.summary),
                    history_data: Some(h.data),
                    alarm_contributor_attributes: None,
                })
                .collect(),
        ),
        next_token: next,
    })
}

pub(crate) fn delete_alarms(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: DeleteAlarmsInput,
) -> Result<(), Error> {
    if input.alarm_names.len() > 100 {
        return Err(Error::InvalidParameterValueException(
            "The collection AlarmNames must not have a size greater than 100.".into(),
        ));
    }
    Ok(delete(
        cw,
        &ctx.account_id,
        &ctx.region,
        &input.alarm_names,
        ctx.now,
        true,
    )?)
}

fn not_found(name: &str) -> Error {
    Error::ResourceNotFound(format!("Alarm {name} not found"))
}

pub(crate) fn set_alarm_state(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: SetAlarmStateInput,
) -> Result<(), Error> {
    if AlarmState::parse(&input.state_value).is_none() {
        return Err(Error::InvalidParameterValueException(format!(
            "The value {} for parameter StateValue is not valid. Valid values: OK, ALARM, INSUFFICIENT_DATA.",
            input.state_value
        )));
    }
    if let Some(data) = &input.state_reason_data {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(data) {
            return Err(Error::InvalidFormatFault(format!(
                "The value for parameter StateReasonData is not valid JSON: {e}"
            )));
        }
    }
    let new = NewState {
        value: input.state_value,
        reason: input.state_reason,
        reason_data: input.state_reason_data,
        newest_value: None,
    };
    let applied = state::set(
        cw,
        &ctx.account_id,
        &ctx.region,
        &input.alarm_name,
        new,
        ctx.now,
        None,
    )?
    .ok_or_else(|| not_found(&input.alarm_name))?;
    if applied.transitioned {
        actions::run(
            cw,
            &ctx.account_id,
            &ctx.region,
            &applied.alarm,
            None,
            ctx.now,
            false,
        );
    }
    Ok(())
}

fn set_actions_enabled(
    cw: &CloudWatch,
    ctx: &RequestContext,
    names: &[String],
    enabled: bool,
) -> Result<(), Error> {
    if names.len() > 100 {
        return Err(Error::InvalidParameterValueException(
            "The collection AlarmNames must not have a size greater than 100.".into(),
        ));
    }
    let (account, region) = (&ctx.account_id, &ctx.region);
    cw.store
        .write(|tx| {
            for name in names {
                let Some(before) = find(tx, account, region, name)? else {
                    continue;
                };
                if before.actions_enabled == enabled {
                    continue;
                }
                let mut after = before.clone();
                after.actions_enabled = enabled;
                after.configuration_updated = ctx.now;
                tx.put(ALARMS, &alarm_key(account, region, name), &after)?;
                history::record(
                    tx,
                    cw.ids.as_ref(),
                    account,
                    region,
                    name,
                    ctx.now,
                    history::updated(&before, &after),
                )?;
            }
            Ok::<(), Refused>(())
        })
        .map_err(Error::from)
}

pub(crate) fn enable_alarm_actions(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: EnableAlarmActionsInput,
) -> Result<(), Error> {
    set_actions_enabled(cw, ctx, &input.alarm_names, true)
}

pub(crate) fn disable_alarm_actions(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: DisableAlarmActionsInput,
) -> Result<(), Error> {
    set_actions_enabled(cw, ctx, &input.alarm_names, false)
}

/// The name of the alarm `arn` designates in the caller's account and region, or AWS's
/// ResourceNotFoundException.
fn alarm_of_arn(ctx: &RequestContext, arn: &str) -> Result<String, Error> {
    let prefix = alarm_arn(&ctx.account_id, &ctx.region, "");
    match arn.strip_prefix(&prefix) {
        Some(name) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(Error::ResourceNotFoundException(format!(
            "The specified resource {arn} does not exist."
        ))),
    }
}

/// Applies `change` to the tags of the alarm `arn`, in one transaction.
fn change_tags(
    cw: &CloudWatch,
    ctx: &RequestContext,
    arn: &str,
    change: impl FnOnce(&mut Vec<(String, String)>) -> Result<(), Error>,
) -> Result<(), Error> {
    let name = alarm_of_arn(ctx, arn)?;
    let (account, region) = (&ctx.account_id, &ctx.region);
    cw.store
        .write(|tx| {
            let Some(mut alarm) = find(tx, account, region, &name)? else {
                return Err(Error::ResourceNotFoundException(format!(
                    "The specified resource {arn} does not exist."
                ))
                .into());
            };
            change(&mut alarm.tags)?;
            tx.put(ALARMS, &alarm_key(account, region, &name), &alarm)?;
            Ok::<(), Refused>(())
        })
        .map_err(Error::from)
}

pub(crate) fn tag_resource(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: TagResourceInput,
) -> Result<TagResourceOutput, Error> {
    let given: Vec<(String, String)> = input
        .tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    change_tags(cw, ctx, &input.resource_arn, |existing| {
        let mut merged = existing.clone();
        tags::merge(&mut merged, given.iter().cloned(), |t| t.0.as_str());
        check_tags(&given, merged.len())?;
        *existing = merged;
        Ok(())
    })?;
    Ok(TagResourceOutput {})
}

pub(crate) fn untag_resource(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: UntagResourceInput,
) -> Result<UntagResourceOutput, Error> {
    change_tags(cw, ctx, &input.resource_arn, |existing| {
        tags::remove(existing, &input.tag_keys, |t| t.0.as_str());
        Ok(())
    })?;
    Ok(UntagResourceOutput {})
}

pub(crate) fn list_tags_for_resource(
    cw: &CloudWatch,
    ctx: &RequestContext,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, Error> {
    let name = alarm_of_arn(ctx, &input.resource_arn)?;
    let alarm = cw
        .store
        .read(|tx| find(tx, &ctx.account_id, &ctx.region, &name))
        .map_err(store_failure)?
        .ok_or_else(|| {
            Error::ResourceNotFoundException(format!(
                "The specified resource {} does not exist.",
                input.resource_arn
            ))
        })?;
    Ok(ListTagsForResourceOutput {
        tags: Some(wire::tags(&alarm)),
    })
}
