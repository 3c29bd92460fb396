//! Metric filters: PutMetricFilter / DescribeMetricFilters / DeleteMetricFilter /
//! TestMetricFilter, and their effect. Every event a log group takes in (PutLogEvents, and
//! container output through the `awslogs` sink) is matched against the group's filters; a
//! matching event counts its `metricValue` (a number, a `$.json.selector` of the message or a
//! `$field` of a space-delimited pattern), an event that does not match counts the
//! `defaultValue` when there is one. The counts are published to CloudWatch
//! ([`wharf_core::MetricSink`]) after the events are stored, one data point per metric,
//! dimensions and minute, at the events' own time.

use crate::checks::{invalid, invalid_field, page_limit};
use crate::filter::{is_json_selector, select_json, FilterPattern};
use crate::generated::*;
use crate::groups::{self, check_group_name, group_not_found};
use crate::records::{group_key, StoredGroup, StoredMetricFilter, StoredTransformation, GROUPS};
use crate::Logs;
use serde_json::Value;
use std::collections::BTreeMap;
use wharf_core::metrics::standard_unit;
use wharf_core::pagination::paginate;
use wharf_core::{MetricDatum, RequestContext, StatisticValues, Timestamp};

/// Metric filters per log group (AWS's quota).
pub const MAX_FILTERS_PER_GROUP: usize = 100;

/// Dimensions per metric transformation.
const MAX_DIMENSIONS: usize = 3;

/// `PutMetricFilter`: creates or replaces filter `filterName` of the group.
pub fn put(logs: &Logs, ctx: &RequestContext, input: PutMetricFilterRequest) -> Result<(), Error> {
    check_group_name(&input.log_group_name, "logGroupName")?;
    check_filter_name(&input.filter_name, "filterName")?;
    let pattern =
        FilterPattern::parse(Some(&input.filter_pattern)).map_err(|e| invalid(e.to_string()))?;
    let [transformation] = input.metric_transformations.as_slice() else {
        return Err(invalid_field(
            input.metric_transformations.len(),
            "metricTransformations",
            "Member must have length less than or equal to 1",
        ));
    };
    let transformation = check_transformation(transformation, &pattern)?;
    let key = group_key(&ctx.account_id, &ctx.region, &input.log_group_name);
    logs.store.write(|tx| {
        let mut group: StoredGroup = tx.get(GROUPS, &key)?.ok_or_else(group_not_found)?;
        let created = match group.metric_filters.get(&input.filter_name) {
            Some(existing) => existing.created,
            None if group.metric_filters.len() >= MAX_FILTERS_PER_GROUP => {
                return Err(Error::LimitExceededException(format!(
                    "The log group {} already has {MAX_FILTERS_PER_GROUP} metric filters, the most it can have",
                    input.log_group_name
                )));
            }
            None => ctx.now.millis,
        };
        group.metric_filters.insert(
            input.filter_name.clone(),
            StoredMetricFilter {
                pattern: input.filter_pattern.clone(),
                created,
                transformation,
            },
        );
        tx.put(GROUPS, &key, &group)?;
        Ok(())
    })
}

/// `DeleteMetricFilter`.
pub fn delete(
    logs: &Logs,
    ctx: &RequestContext,
    input: DeleteMetricFilterRequest,
) -> Result<(), Error> {
    check_group_name(&input.log_group_name, "logGroupName")?;
    check_filter_name(&input.filter_name, "filterName")?;
    let key = group_key(&ctx.account_id, &ctx.region, &input.log_group_name);
    logs.store.write(|tx| {
        let mut group: StoredGroup = tx.get(GROUPS, &key)?.ok_or_else(group_not_found)?;
        if group.metric_filters.remove(&input.filter_name).is_none() {
            return Err(Error::ResourceNotFoundException(
                "The specified metric filter does not exist.".into(),
            ));
        }
        tx.put(GROUPS, &key, &group)?;
        Ok(())
    })
}

/// `DescribeMetricFilters`: by group (and name prefix), or across the account by metric.
pub fn describe(
    logs: &Logs,
    ctx: &RequestContext,
    input: DescribeMetricFiltersRequest,
) -> Result<DescribeMetricFiltersResponse, Error> {
    let limit = page_limit(input.limit, 50, 50)?;
    if input.filter_name_prefix.is_some() && input.log_group_name.is_none() {
        return Err(invalid(
            "If you specify filterNamePrefix, you must also specify logGroupName.",
        ));
    }
    if input.metric_name.is_some() != input.metric_namespace.is_some() {
        return Err(invalid(
            "metricName and metricNamespace must be specified together.",
        ));
    }
    if let Some(name) = &input.log_group_name {
        check_group_name(name, "logGroupName")?;
    }
    let groups: Vec<StoredGroup> = logs.store.read(|tx| match &input.log_group_name {
        Some(name) => Ok::<_, Error>(vec![groups::require(tx, ctx, name)?]),
        None => {
            let prefix = group_key(&ctx.account_id, &ctx.region, "");
            Ok(tx
                .list(GROUPS, &prefix)?
                .into_iter()
                .map(|(_, g)| g)
                .collect())
        }
    })?;
    let prefix = input.filter_name_prefix.as_deref().unwrap_or("");
    let mut selected: Vec<(String, MetricFilter)> = Vec::new();
    for group in &groups {
        for (name, filter) in group.metric_filters.range(prefix.to_string()..) {
            if !name.starts_with(prefix) {
                break;
            }
            let t = &filter.transformation;
            let wanted = input
                .metric_name
                .as_deref()
                .is_none_or(|m| m == t.metric_name)
                && input
                    .metric_namespace
                    .as_deref()
                    .is_none_or(|n| n == t.namespace);
            if wanted {
                selected.push((
                    format!("{}\u{0}{name}", group.name),
                    present(&group.name, name, filter),
                ));
            }
        }
    }
    let (page, next) = paginate(
        selected,
        |(key, _)| key.clone(),
        input.next_token.as_deref(),
        limit,
    )
    .map_err(|_| invalid("The specified nextToken is invalid."))?;
    Ok(DescribeMetricFiltersResponse {
        metric_filters: Some(page.into_iter().map(|(_, f)| f).collect()),
        next_token: next,
    })
}

/// `TestMetricFilter`: which of the messages match, with the values a space-delimited pattern
/// extracts.
pub fn test(input: TestMetricFilterRequest) -> Result<TestMetricFilterResponse, Error> {
    let pattern =
        FilterPattern::parse(Some(&input.filter_pattern)).map_err(|e| invalid(e.to_string()))?;
    if input.log_event_messages.is_empty() || input.log_event_messages.len() > 50 {
        return Err(invalid_field(
            input.log_event_messages.len(),
            "logEventMessages",
            "Member must have length between 1 and 50",
        ));
    }
    let matches = input
        .log_event_messages
        .iter()
        .enumerate()
        .filter_map(|(i, message)| {
            let extracted = pattern.extract(message)?;
            Some(MetricFilterMatchRecord {
                event_number: Some(i64::try_from(i).unwrap_or(i64::MAX).saturating_add(1)),
                event_message: Some(message.clone()),
                extracted_values: Some(extracted.into_iter().collect()),
            })
        })
        .collect();
    Ok(TestMetricFilterResponse {
        matches: Some(matches),
    })
}

/// The data points `events` (timestamp, message) of `group` make through its metric filters:
/// one per metric, dimensions and minute.
pub fn data_points<'a>(
    group: &StoredGroup,
    events: impl IntoIterator<Item = (i64, &'a str)> + Clone,
) -> Vec<MetricDatum> {
    type Key = (String, String, Vec<(String, String)>, i64, Option<String>);
    let mut samples: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    for filter in group.metric_filters.values() {
        let Ok(pattern) = FilterPattern::parse(Some(&filter.pattern)) else {
            continue;
        };
        let t = &filter.transformation;
        for (timestamp, message) in events.clone() {
            let sample = match pattern.extract(message) {
                Some(fields) => event_sample(t, message, &fields),
                None => t.default_value.map(|v| (v, Vec::new())),
            };
            let Some((value, dimensions)) = sample else {
                continue;
            };
            let minute = timestamp - timestamp.rem_euclid(60_000);
            samples
                .entry((
                    t.namespace.clone(),
                    t.metric_name.clone(),
                    dimensions,
                    minute,
                    t.unit.clone(),
                ))
                .or_default()
                .push(value);
        }
    }
    samples
        .into_iter()
        .filter_map(
            |((namespace, metric_name, dimensions, minute, unit), values)| {
                Some(MetricDatum {
                    namespace,
                    metric_name,
                    dimensions,
                    timestamp: Timestamp::from_millis(minute),
                    values: StatisticValues::of(&values)?,
                    unit: unit.as_deref().and_then(standard_unit).unwrap_or("None"),
                })
            },
        )
        .collect()
}

/// The value and dimensions one matching event counts; `None` when the value or a dimension
/// it names is missing from the event (AWS skips such events).
fn event_sample(
    t: &StoredTransformation,
    message: &str,
    fields: &BTreeMap<String, String>,
) -> Option<(f64, Vec<(String, String)>)> {
    let doc = std::cell::OnceCell::new();
    let lookup = |reference: &str| -> Option<String> {
        if reference.starts_with("$.") {
            let doc: &Option<Value> = doc.get_or_init(|| serde_json::from_str(message).ok());
            return match select_json(doc.as_ref()?, reference)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
        }
        fields.get(reference).cloned()
    };
    let value = match t.value.parse::<f64>() {
        Ok(v) => v,
        Err(_) => lookup(&t.value)?.parse::<f64>().ok()?,
    };
    if !value.is_finite() {
        return None;
    }
    let mut dimensions = Vec::with_capacity(t.dimensions.len());
    for (name, reference) in &t.dimensions {
        dimensions.push((name.clone(), lookup(reference)?));
    }
    Some((value, dimensions))
}

/// The transformation as stored, or AWS's error for what is wrong with it.
fn check_transformation(
    t: &MetricTransformation,
    pattern: &FilterPattern,
) -> Result<StoredTransformation, Error> {
    for (value, field) in [
        (&t.metric_name, "metricTransformations.1.member.metricName"),
        (
            &t.metric_namespace,
            "metricTransformations.1.member.metricNamespace",
        ),
    ] {
        if value.is_empty() || value.len() > 255 || value.contains([':', '*', '$']) {
            return Err(invalid_field(
                value,
                field,
                "Member must have length between 1 and 255 and satisfy regular expression pattern: [^:*$]*",
            ));
        }
    }
    let reference_ok = |r: &str| is_json_selector(r) || pattern.names_field(r);
    let value = t.metric_value.trim();
    if value.parse::<f64>().is_err() && !reference_ok(value) {
        return Err(invalid(format!(
            "Invalid metric value '{}': it must be a number, a JSON selector such as $.latency, or a $field of the filter pattern",
            t.metric_value
        )));
    }
    let dimensions = t.dimensions.clone().unwrap_or_default();
    if dimensions.len() > MAX_DIMENSIONS {
        return Err(invalid(format!(
            "A metric transformation can have at most {MAX_DIMENSIONS} dimensions"
        )));
    }
    if !dimensions.is_empty() && t.default_value.is_some() {
        return Err(invalid(
            "A metric transformation cannot have both a defaultValue and dimensions",
        ));
    }
    if let Some((name, bad)) = dimensions.iter().find(|(_, r)| !reference_ok(r)) {
        return Err(invalid(format!(
            "Invalid dimension '{name}': its value '{bad}' must be a JSON selector or a $field of the filter pattern"
        )));
    }
    if let Some(unit) = t.unit.as_deref().filter(|u| standard_unit(u).is_none()) {
        return Err(invalid_field(
            unit,
            "metricTransformations.1.member.unit",
            "Member must satisfy enum value set of StandardUnit",
        ));
    }
    Ok(StoredTransformation {
        metric_name: t.metric_name.clone(),
        namespace: t.metric_namespace.clone(),
        value: value.to_string(),
        default_value: t.default_value,
        dimensions,
        unit: t.unit.clone(),
    })
}

fn check_filter_name(name: &str, field: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > 512 || name.contains([':', '*']) {
        return Err(invalid_field(
            name,
            field,
            "Member must have length between 1 and 512 and satisfy regular expression pattern: [^:*]*",
        ));
    }
    Ok(())
}

fn present(group: &str, name: &str, f: &StoredMetricFilter) -> MetricFilter {
    let t = &f.transformation;
    MetricFilter {
        filter_name: Some(name.to_string()),
        filter_pattern: Some(f.pattern.clone()),
        metric_transformations: Some(vec![MetricTransformation {
            metric_name: t.metric_name.clone(),
            metric_namespace: t.namespace.clone(),
            metric_value: t.value.clone(),
            default_value: t.default_value,
            dimensions: (!t.dimensions.is_empty()).then(|| t.dimensions.clone()),
            unit: t.unit.clone(),
        }]),
        creation_time: Some(f.created),
        log_group_name: Some(group.to_string()),
        apply_on_transformed_logs: Some(false),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group_with(pattern: &str, t: StoredTransformation) -> StoredGroup {
        StoredGroup {
            name: "/app".into(),
            created: 0,
            retention_days: None,
            kms_key_id: None,
            tags: BTreeMap::new(),
            class: "STANDARD".into(),
            deletion_protection: false,
            gid: "g".into(),
            next_sid: 1,
            metric_filters: BTreeMap::from([(
                "f".to_string(),
                StoredMetricFilter {
                    pattern: pattern.into(),
                    created: 0,
                    transformation: t,
                },
            )]),
        }
    }

    fn transformation(value: &str) -> StoredTransformation {
        StoredTransformation {
            metric_name: "Errors".into(),
            namespace: "App".into(),
            value: value.into(),
            default_value: None,
            dimensions: BTreeMap::new(),
            unit: None,
        }
    }

    #[test]
    fn matching_events_count_per_minute_at_their_own_time() {
        let group = group_with("ERROR", transformation("1"));
        let points = data_points(
            &group,
            [
                (60_000, "ERROR one"),
                (61_000, "INFO fine"),
                (119_999, "ERROR two"),
                (120_000, "ERROR three"),
            ],
        );
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].timestamp, Timestamp::from_millis(60_000));
        assert_eq!(points[0].values.sum, 2.0);
        assert_eq!(points[1].values.sum, 1.0);
        assert_eq!(points[0].unit, "None");
        assert_eq!(
            (points[0].namespace.as_str(), points[0].metric_name.as_str()),
            ("App", "Errors")
        );
    }

    #[test]
    fn values_and_dimensions_come_from_json_and_delimited_fields() {
        let mut t = transformation("$.latency");
        t.dimensions = BTreeMap::from([("Route".to_string(), "$.route".to_string())]);
        t.unit = Some("Milliseconds".into());
        let group = group_with("{ $.latency > 0 }", t);
        let points = data_points(
            &group,
            [
                (0, r#"{"latency": 12.5, "route": "/a"}"#),
                (1, r#"{"latency": 7.5, "route": "/a"}"#),
                (2, r#"{"latency": 3, "route": "/b"}"#),
                // No route: skipped, as AWS skips it.
                (3, r#"{"latency": 4}"#),
            ],
        );
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].dimensions, vec![("Route".into(), "/a".into())]);
        assert_eq!(points[0].values.sum, 20.0);
        assert_eq!(points[0].values.sample_count, 2.0);
        assert_eq!(points[0].unit, "Milliseconds");
        assert_eq!(points[1].values.sum, 3.0);

        let group = group_with("[ip, user, status = 5*, bytes]", transformation("$bytes"));
        let points = data_points(
            &group,
            [(0, "10.0.0.1 bob 500 1024"), (0, "10.0.0.1 bob 200 99")],
        );
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].values.sum, 1024.0);
    }

    #[test]
    fn the_default_value_counts_events_that_do_not_match() {
        let mut t = transformation("1");
        t.default_value = Some(0.0);
        let group = group_with("ERROR", t);
        let points = data_points(&group, [(0, "INFO a"), (1, "ERROR b"), (2, "INFO c")]);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].values.sample_count, 3.0);
        assert_eq!(points[0].values.sum, 1.0);
    }

    #[test]
    fn transformations_are_checked_against_the_pattern() {
        let pattern = FilterPattern::parse(Some("[ip, status]")).unwrap();
        let wire = |value: &str| MetricTransformation {
            metric_name: "M".into(),
            metric_namespace: "N".into(),
            metric_value: value.into(),
            ..Default::default()
        };
        assert!(check_transformation(&wire("1"), &pattern).is_ok());
        assert!(check_transformation(&wire("$status"), &pattern).is_ok());
        assert!(check_transformation(&wire("$.a.b"), &pattern).is_ok());
        assert!(check_transformation(&wire("$nope"), &pattern).is_err());
        assert!(check_transformation(&wire("many"), &pattern).is_err());
        let mut both = wire("1");
        both.default_value = Some(0.0);
        both.dimensions = Some(BTreeMap::from([("A".into(), "$ip".into())]));
        assert!(check_transformation(&both, &pattern).is_err());
        let mut unit = wire("1");
        unit.unit = Some("Furlongs".into());
        assert!(check_transformation(&unit, &pattern).is_err());
        let mut name = wire("1");
        name.metric_name = "a:b".into();
        assert!(check_transformation(&name, &pattern).is_err());
    }

    #[test]
    fn test_metric_filter_numbers_matches_and_extracts_fields() {
        let out = test(TestMetricFilterRequest {
            filter_pattern: "[ip, user, status]".into(),
            log_event_messages: vec!["1.2.3.4 bob 200".into(), "only two".into()],
        })
        .unwrap();
        let matches = out.matches.unwrap();
        assert_eq!(matches.len(), 1);
        assert_eq!(matches[0].event_number, Some(1));
        let values = matches[0].extracted_values.clone().unwrap();
        assert_eq!(values.get("$status").map(String::as_str), Some("200"));
        assert_eq!(values.get("$ip").map(String::as_str), Some("1.2.3.4"));
    }
}
