//! Log groups: CreateLogGroup, DescribeLogGroups, DeleteLogGroup, PutRetentionPolicy /
//! DeleteRetentionPolicy, and resource tags (TagResource & co. by ARN, TagLogGroup & co. by
//! name). Also the shared checks: group and stream name rules, `logGroupIdentifier` and ARN
//! resolution.

use crate::checks::{invalid, invalid_field, page_limit, DAY_MS};
use crate::generated::*;
use crate::records::{
    group_events_prefix, group_key, groups_prefix, streams_prefix, StoredGroup, StoredPurge,
    StoredStream, GROUPS, PURGES, STREAMS,
};
use crate::Logs;
use std::collections::BTreeMap;
use wharf_core::pagination::paginate;
use wharf_core::tags as tag_rules;
use wharf_core::{Arn, RequestContext};
use wharf_store::Tx;

/// The retention periods AWS accepts for `retentionInDays`.
pub const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// DescribeLogGroups' page size limit (and default).
const MAX_GROUPS_PAGE: i32 = 50;

// ---------------------------------------------------------------------------------------------
// Messages and shared checks.

/// ResourceNotFoundException for a missing group, in AWS's words.
pub(crate) fn group_not_found() -> Error {
    Error::ResourceNotFoundException("The specified log group does not exist.".into())
}

/// Whether `name` is a valid log group name (`[\.\-_/#A-Za-z0-9]+`, 1 to 512 characters).
pub fn valid_group_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'#'))
}

/// Whether `name` is a valid log stream name (`[^:*]*`, 1 to 512 characters).
pub fn valid_stream_name(name: &str) -> bool {
    (1..=512).contains(&name.chars().count()) && !name.contains([':', '*'])
}

/// Checks a log group name as CreateLogGroup does.
pub(crate) fn check_group_name(name: &str, field: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > 512 {
        return Err(invalid_field(
            name,
            field,
            "Member must have length less than or equal to 512 and greater than or equal to 1",
        ));
    }
    if !valid_group_name(name) {
        return Err(invalid_field(
            name,
            field,
            "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
        ));
    }
    Ok(())
}

/// Checks a log stream name.
pub(crate) fn check_stream_name(name: &str, field: &str) -> Result<(), Error> {
    if !valid_stream_name(name) {
        return Err(invalid_field(
            name,
            field,
            "Member must satisfy regular expression pattern: [^:*]* and have length between 1 and 512",
        ));
    }
    Ok(())
}

/// `arn:aws:logs:<region>:<account>:log-group:<name>` (with `:*` for the `arn` field).
pub fn group_arn(account: &str, region: &str, name: &str) -> String {
    Arn::new("logs", region, account, &format!("log-group:{name}")).to_string()
}

/// The log group a `logGroupName` / `logGroupIdentifier` pair names (exactly one of them).
pub(crate) fn resolve_group_name(
    ctx: &RequestContext,
    name: Option<&str>,
    identifier: Option<&str>,
) -> Result<String, Error> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(invalid(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (None, None) => Err(invalid(
            "Should provide either name or ARN of the log group (logGroupName or logGroupIdentifier).",
        )),
        (Some(n), None) => {
            check_group_name(n, "logGroupName")?;
            Ok(n.to_string())
        }
        (None, Some(id)) if id.starts_with("arn:") => name_from_group_arn(ctx, id),
        (None, Some(id)) => {
            check_group_name(id, "logGroupIdentifier")?;
            Ok(id.to_string())
        }
    }
}

/// The group name in a log group ARN (with or without the trailing `:*`) of the caller's
/// account and region; other accounts' and regions' groups are not found.
fn name_from_group_arn(ctx: &RequestContext, text: &str) -> Result<String, Error> {
    let arn = Arn::parse(text)
        .filter(|a| a.service == "logs")
        .ok_or_else(|| invalid(format!("Invalid ARN '{text}': not a CloudWatch Logs ARN")))?;
    let Some(rest) = arn.resource.strip_prefix("log-group:") else {
        return Err(invalid(format!(
            "Invalid ARN '{text}': not a log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>)"
        )));
    };
    let name = rest.strip_suffix(":*").unwrap_or(rest);
    check_group_name(name, "resourceArn")?;
    if arn.account != ctx.account_id || arn.region != ctx.region {
        return Err(group_not_found());
    }
    Ok(name.to_string())
}

/// The log group named by a tagging `resourceArn`.
pub(crate) fn name_from_resource_arn(ctx: &RequestContext, arn: &str) -> Result<String, Error> {
    if let Some(a) = Arn::parse(arn).filter(|a| a.service == "logs") {
        if a.resource.starts_with("destination:") {
            return Err(Error::ResourceNotFoundException(
                "The specified destination does not exist.".into(),
            ));
        }
    }
    name_from_group_arn(ctx, arn)
}

/// Loads group `name` of the caller's account and region.
pub(crate) fn load(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    name: &str,
) -> Result<Option<StoredGroup>, Error> {
    Ok(tx.get(GROUPS, &group_key(&ctx.account_id, &ctx.region, name))?)
}

/// Loads group `name`, or ResourceNotFoundException.
pub(crate) fn require(tx: &Tx<'_>, ctx: &RequestContext, name: &str) -> Result<StoredGroup, Error> {
    load(tx, ctx, name)?.ok_or_else(group_not_found)
}

/// The oldest event timestamp the group still shows at `now` (its retention floor).
pub(crate) fn retention_floor(group: &StoredGroup, now: i64) -> i64 {
    match group.retention_days {
        Some(days) => now.saturating_sub(i64::from(days).saturating_mul(DAY_MS)),
        None => i64::MIN,
    }
}

/// A new, empty group record.
pub(crate) fn new_group(logs: &Logs, name: &str, created: i64) -> StoredGroup {
    StoredGroup {
        name: name.to_string(),
        created,
        retention_days: None,
        kms_key_id: None,
        tags: BTreeMap::new(),
        class: "STANDARD".into(),
        deletion_protection: false,
        gid: logs.ids.hex(16),
        next_sid: 1,
        metric_filters: BTreeMap::new(),
    }
}

/// Checks each tag with the rules of [`tag_rules`], in the order CloudWatch Logs reports them:
/// key length, value length (both `InvalidParameterException` naming the member), the `aws:`
/// prefix, the characters.
fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), Error> {
    for (k, v) in tags {
        if !tag_rules::key_length_ok(k) {
            return Err(invalid_field(
                k,
                "tags",
                "Member must have length less than or equal to 128 and greater than or equal to 1 (tag key)",
            ));
        }
        if !tag_rules::value_length_ok(v) {
            return Err(invalid_field(
                v,
                "tags",
                "Member must have length less than or equal to 256 (tag value)",
            ));
        }
        if tag_rules::is_reserved_key(k) {
            return Err(invalid(format!(
                "Tag key '{k}' uses the reserved prefix 'aws:'"
            )));
        }
        if !(tag_rules::allowed_characters(k) && tag_rules::allowed_characters(v)) {
            return Err(invalid(format!(
                "Invalid tag '{k}': keys and values may contain letters, digits, spaces and _ . : / = + - @"
            )));
        }
    }
    Ok(())
}

/// At most 50 tags on a group (`TooManyTagsException`).
fn check_tag_count(name: &str, tags: &BTreeMap<String, String>) -> Result<(), Error> {
    if tag_rules::count_ok(tags.len()) {
        return Ok(());
    }
    Err(Error::TooManyTagsException(format!(
        "A resource can have no more than {} tags (log group {name})",
        tag_rules::MAX_TAGS
    )))
}

// ---------------------------------------------------------------------------------------------
// Operations.

/// `CreateLogGroup`.
pub fn create(
    logs: &Logs,
    ctx: &RequestContext,
    input: CreateLogGroupRequest,
) -> Result<(), Error> {
    let name = input.log_group_name;
    check_group_name(&name, "logGroupName")?;
    if name.starts_with("aws/") {
        return Err(invalid(format!(
            "Invalid log group name '{name}': log group names can't start with 'aws/'"
        )));
    }
    if let Some(k) = &input.kms_key_id {
        if k.len() > 256 {
            return Err(invalid_field(
                k,
                "kmsKeyId",
                "Member must have length less than or equal to 256",
            ));
        }
    }
    let class = input.log_group_class.unwrap_or_else(|| "STANDARD".into());
    if !matches!(
        class.as_str(),
        "STANDARD" | "INFREQUENT_ACCESS" | "DELIVERY"
    ) {
        return Err(invalid_field(
            &class,
            "logGroupClass",
            "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]",
        ));
    }
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    check_tag_count(&name, &tags)?;
    let mut group = new_group(logs, &name, ctx.now.millis);
    group.kms_key_id = input.kms_key_id;
    group.tags = tags;
    group.class = class;
    group.deletion_protection = input.deletion_protection_enabled.unwrap_or(false);
    let key = group_key(&ctx.account_id, &ctx.region, &name);
    logs.store.write(|tx| {
        if !tx.insert(GROUPS, &key, &group)? {
            return Err(Error::ResourceAlreadyExistsException(
                "The specified log group already exists".into(),
            ));
        }
        Ok(())
    })
}

/// Sum of the stored bytes of the group's streams.
fn stored_bytes(tx: &Tx<'_>, key: &str) -> Result<i64, Error> {
    let streams: Vec<(String, StoredStream)> = tx.list(STREAMS, &streams_prefix(key))?;
    Ok(streams.iter().map(|(_, s)| s.stored_bytes.max(0)).sum())
}

/// The group as DescribeLogGroups shows it.
fn present(ctx: &RequestContext, g: &StoredGroup, stored: i64) -> LogGroup {
    let arn = group_arn(&ctx.account_id, &ctx.region, &g.name);
    LogGroup {
        log_group_name: Some(g.name.clone()),
        creation_time: Some(g.created),
        retention_in_days: g.retention_days,
        metric_filter_count: Some(0),
        arn: Some(format!("{arn}:*")),
        stored_bytes: Some(stored),
        kms_key_id: g.kms_key_id.clone(),
        log_group_class: Some(g.class.clone()),
        log_group_arn: Some(arn),
        deletion_protection_enabled: Some(g.deletion_protection),
        ..Default::default()
    }
}

/// `DescribeLogGroups`: ASCII order by name, filtered by prefix, substring pattern, class or
/// identifiers.
pub fn describe(
    logs: &Logs,
    ctx: &RequestContext,
    input: DescribeLogGroupsRequest,
) -> Result<DescribeLogGroupsResponse, Error> {
    let limit = page_limit(input.limit, MAX_GROUPS_PAGE, 50)?;
    let prefix = input.log_group_name_prefix.as_deref();
    let pattern = input.log_group_name_pattern.as_deref();
    if prefix.is_some() && pattern.is_some() {
        return Err(invalid(
            "LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive.",
        ));
    }
    if let Some(p) = prefix {
        check_group_name(p, "logGroupNamePrefix")?;
    }
    if let Some(p) = pattern {
        if p.len() > 512
            || !p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'#'))
        {
            return Err(invalid_field(
                p,
                "logGroupNamePattern",
                "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]*",
            ));
        }
    }
    let identifiers: Option<Vec<String>> = match &input.log_group_identifiers {
        None => None,
        Some(ids) => {
            if prefix.is_some() || pattern.is_some() {
                return Err(invalid(
                    "logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern.",
                ));
            }
            let mut names = Vec::with_capacity(ids.len());
            for id in ids {
                match resolve_group_name(ctx, None, Some(id)) {
                    Ok(n) => names.push(n),
                    Err(Error::ResourceNotFoundException(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Some(names)
        }
    };
    let scope = groups_prefix(&ctx.account_id, &ctx.region);
    let (page, next) = logs.store.read(|tx| {
        let listed: Vec<(String, StoredGroup)> =
            tx.list(GROUPS, &format!("{scope}{}", prefix.unwrap_or("")))?;
        let selected: Vec<(String, StoredGroup)> = listed
            .into_iter()
            .filter(|(_, g)| pattern.is_none_or(|p| g.name.contains(p)))
            .filter(|(_, g)| {
                input
                    .log_group_class
                    .as_deref()
                    .is_none_or(|c| g.class == c)
            })
            .filter(|(_, g)| identifiers.as_ref().is_none_or(|ids| ids.contains(&g.name)))
            .collect();
        let (page, next) = paginate(
            selected,
            |(_, g)| g.name.clone(),
            input.next_token.as_deref(),
            limit,
        )
        .map_err(|_| invalid("The specified nextToken is invalid."))?;
        let mut out = Vec::with_capacity(page.len());
        for (key, g) in page {
            if pattern.is_some() {
                // AWS: with logGroupNamePattern only arn, creationTime and logGroupName.
                let arn = group_arn(&ctx.account_id, &ctx.region, &g.name);
                out.push(LogGroup {
                    log_group_name: Some(g.name.clone()),
                    creation_time: Some(g.created),
                    arn: Some(format!("{arn}:*")),
                    ..Default::default()
                });
            } else {
                let bytes = stored_bytes(tx, &key)?;
                out.push(present(ctx, &g, bytes));
            }
        }
        Ok::<_, Error>((out, next))
    })?;
    Ok(DescribeLogGroupsResponse {
        log_groups: Some(page),
        next_token: next,
    })
}

/// `DeleteLogGroup`: the group and its streams go at once; their events are deleted by the
/// retention loop (they are unreachable from now on: a re-created group gets a new id).
pub fn delete(logs: &Logs, ctx: &RequestContext, name: &str) -> Result<(), Error> {
    check_group_name(name, "logGroupName")?;
    let key = group_key(&ctx.account_id, &ctx.region, name);
    logs.store.write(|tx| {
        let group: StoredGroup = tx.get(GROUPS, &key)?.ok_or_else(group_not_found)?;
        if group.deletion_protection {
            return Err(Error::ValidationException(format!(
                "Log group {name} has deletion protection enabled; disable it before deleting the log group"
            )));
        }
        let streams: Vec<(String, StoredStream)> =
            tx.list(STREAMS, &streams_prefix(&key))?;
        for (stream_key, _) in &streams {
            tx.delete(STREAMS, stream_key)?;
        }
        tx.delete(GROUPS, &key)?;
        tx.put(
            PURGES,
            &group_events_prefix(&group.gid),
            &StoredPurge {
                what: format!("log group {name} ({}/{})", ctx.account_id, ctx.region),
            },
        )?;
        Ok(())
    })
}

/// `PutRetentionPolicy`: one of AWS's allowed periods.
pub fn put_retention(
    logs: &Logs,
    ctx: &RequestContext,
    name: &str,
    days: i32,
) -> Result<(), Error> {
    check_group_name(name, "logGroupName")?;
    if !RETENTION_DAYS.contains(&days) {
        let allowed: Vec<String> = RETENTION_DAYS.iter().map(i32::to_string).collect();
        return Err(invalid_field(
            days,
            "retentionInDays",
            &format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        ));
    }
    update(logs, ctx, name, |g| {
        g.retention_days = Some(days);
        Ok(())
    })
}

/// `DeleteRetentionPolicy`: events are kept forever again.
pub fn delete_retention(logs: &Logs, ctx: &RequestContext, name: &str) -> Result<(), Error> {
    check_group_name(name, "logGroupName")?;
    update(logs, ctx, name, |g| {
        g.retention_days = None;
        Ok(())
    })
}

fn update(
    logs: &Logs,
    ctx: &RequestContext,
    name: &str,
    change: impl FnOnce(&mut StoredGroup) -> Result<(), Error>,
) -> Result<(), Error> {
    let key = group_key(&ctx.account_id, &ctx.region, name);
    logs.store.write(|tx| {
        let mut group: StoredGroup = tx.get(GROUPS, &key)?.ok_or_else(group_not_found)?;
        change(&mut group)?;
        tx.put(GROUPS, &key, &group)?;
        Ok(())
    })
}

/// Adds or overwrites tags (`TagResource`, `TagLogGroup`).
pub fn tag(
    logs: &Logs,
    ctx: &RequestContext,
    name: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), Error> {
    check_group_name(name, "logGroupName")?;
    if tags.is_empty() {
        return Err(invalid_field(
            "{}",
            "tags",
            "Member must have length greater than or equal to 1",
        ));
    }
    check_tags(tags)?;
    update(logs, ctx, name, |g| {
        let mut merged = g.tags.clone();
        merged.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        check_tag_count(name, &merged)?;
        g.tags = merged;
        Ok(())
    })
}

/// Removes tags by key (`UntagResource`, `UntagLogGroup`); unknown keys are ignored.
pub fn untag(logs: &Logs, ctx: &RequestContext, name: &str, keys: &[String]) -> Result<(), Error> {
    check_group_name(name, "logGroupName")?;
    update(logs, ctx, name, |g| {
        for k in keys {
            g.tags.remove(k);
        }
        Ok(())
    })
}

/// The group's tags (`ListTagsForResource`, `ListTagsLogGroup`).
pub fn tags(
    logs: &Logs,
    ctx: &RequestContext,
    name: &str,
) -> Result<BTreeMap<String, String>, Error> {
    check_group_name(name, "logGroupName")?;
    logs.store.read(|tx| Ok(require(tx, ctx, name)?.tags))
}

/// `TagResource`: [`tag`] of the group named by `resourceArn`.
pub fn tag_resource(
    logs: &Logs,
    ctx: &RequestContext,
    input: TagResourceRequest,
) -> Result<(), Error> {
    let name = name_from_resource_arn(ctx, &input.resource_arn)?;
    tag(logs, ctx, &name, &input.tags)
}

/// `UntagResource`: [`untag`] of the group named by `resourceArn`.
pub fn untag_resource(
    logs: &Logs,
    ctx: &RequestContext,
    input: UntagResourceRequest,
) -> Result<(), Error> {
    let name = name_from_resource_arn(ctx, &input.resource_arn)?;
    untag(logs, ctx, &name, &input.tag_keys)
}

/// `ListTagsForResource`: the [`tags`] of the group named by `resourceArn`.
pub fn list_tags_for_resource(
    logs: &Logs,
    ctx: &RequestContext,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, Error> {
    let name = name_from_resource_arn(ctx, &input.resource_arn)?;
    Ok(ListTagsForResourceResponse {
        tags: Some(tags(logs, ctx, &name)?),
    })
}

/// `ListTagsLogGroup`: the [`tags`] of the group named `logGroupName`.
pub fn list_tags_log_group(
    logs: &Logs,
    ctx: &RequestContext,
    input: ListTagsLogGroupRequest,
) -> Result<ListTagsLogGroupResponse, Error> {
    Ok(ListTagsLogGroupResponse {
        tags: Some(tags(logs, ctx, &input.log_group_name)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fixture;

    fn create_req(name: &str) -> CreateLogGroupRequest {
        CreateLogGroupRequest {
            log_group_name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn create_validates_names_and_refuses_duplicates() {
        let f = Fixture::new();
        let ctx = f.ctx();
        assert!(create(&f.logs, &ctx, create_req("/ecs/app-1_x.y#z")).is_ok());
        assert!(matches!(
            create(&f.logs, &ctx, create_req("/ecs/app-1_x.y#z")),
            Err(Error::ResourceAlreadyExistsException(_))
        ));
        for bad in ["", "has space", "colon:", "aws/reserved", &"x".repeat(513)] {
            assert!(
                matches!(
                    create(&f.logs, &ctx, create_req(bad)),
                    Err(Error::InvalidParameterException(_))
                ),
                "{bad:?}"
            );
        }
        // Another region is another namespace.
        let mut other = ctx.clone();
        other.region = "eu-west-1".into();
        assert!(create(&f.logs, &other, create_req("/ecs/app-1_x.y#z")).is_ok());
    }

    #[test]
    fn describe_pages_prefix_and_pattern() {
        let f = Fixture::new();
        let ctx = f.ctx();
        for n in ["/a/one", "/a/two", "/b/one", "/a/three", "other"] {
            create(&f.logs, &ctx, create_req(n)).unwrap();
        }
        let all = describe(&f.logs, &ctx, DescribeLogGroupsRequest::default()).unwrap();
        let names: Vec<_> = all
            .log_groups
            .unwrap()
            .into_iter()
            .map(|g| g.log_group_name.unwrap())
            .collect();
        assert_eq!(names, ["/a/one", "/a/three", "/a/two", "/b/one", "other"]);

        let mut seen = vec![];
        let mut token = None;
        loop {
            let page = describe(
                &f.logs,
                &ctx,
                DescribeLogGroupsRequest {
                    log_group_name_prefix: Some("/a/".into()),
                    limit: Some(2),
                    next_token: token.clone(),
                    ..Default::default()
                },
            )
            .unwrap();
            let groups = page.log_groups.unwrap();
            assert!(groups.len() <= 2);
            seen.extend(groups.into_iter().map(|g| g.log_group_name.unwrap()));
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen, ["/a/one", "/a/three", "/a/two"]);

        let by_pattern = describe(
            &f.logs,
            &ctx,
            DescribeLogGroupsRequest {
                log_group_name_pattern: Some("one".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .log_groups
        .unwrap();
        assert_eq!(by_pattern.len(), 2);
        assert!(by_pattern[0].stored_bytes.is_none());

        assert!(describe(
            &f.logs,
            &ctx,
            DescribeLogGroupsRequest {
                limit: Some(51),
                ..Default::default()
            }
        )
        .is_err());
        assert!(describe(
            &f.logs,
            &ctx,
            DescribeLogGroupsRequest {
                next_token: Some("bogus!".into()),
                ..Default::default()
            }
        )
        .is_err());
    }

    #[test]
    fn describe_shows_arns_and_defaults() {
        let f = Fixture::new();
        let ctx = f.ctx();
        create(&f.logs, &ctx, create_req("/ecs/web")).unwrap();
        let g = describe(&f.logs, &ctx, DescribeLogGroupsRequest::default())
            .unwrap()
            .log_groups
            .unwrap()
            .remove(0);
        assert_eq!(
            g.arn.as_deref(),
            Some("arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:*")
        );
        assert_eq!(
            g.log_group_arn.as_deref(),
            Some("arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web")
        );
        assert_eq!(g.creation_time, Some(crate::testing::T0));
        assert_eq!(g.metric_filter_count, Some(0));
        assert_eq!(g.stored_bytes, Some(0));
        assert_eq!(g.log_group_class.as_deref(), Some("STANDARD"));
        assert_eq!(g.retention_in_days, None);
    }

    #[test]
    fn retention_accepts_only_aws_values() {
        let f = Fixture::new();
        let ctx = f.ctx();
        create(&f.logs, &ctx, create_req("g")).unwrap();
        for ok in RETENTION_DAYS {
            put_retention(&f.logs, &ctx, "g", ok).unwrap();
        }
        for bad in [0, 2, 4, 31, 366, 3654, -1] {
            let e = put_retention(&f.logs, &ctx, "g", bad).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidParameterException(m) if m.contains("retentionInDays")),
                "{e}"
            );
        }
        put_retention(&f.logs, &ctx, "g", 7).unwrap();
        let g = f.logs.store.read(|tx| require(tx, &ctx, "g")).unwrap();
        assert_eq!(g.retention_days, Some(7));
        delete_retention(&f.logs, &ctx, "g").unwrap();
        let g = f.logs.store.read(|tx| require(tx, &ctx, "g")).unwrap();
        assert_eq!(g.retention_days, None);
        assert!(matches!(
            put_retention(&f.logs, &ctx, "missing", 7),
            Err(Error::ResourceNotFoundException(_))
        ));
    }

    #[test]
    fn tags_by_name_and_arn() {
        let f = Fixture::new();
        let ctx = f.ctx();
        let mut req = create_req("/t");
        req.tags = Some(BTreeMap::from([("team".into(), "a".into())]));
        create(&f.logs, &ctx, req).unwrap();
        let arn = group_arn(&ctx.account_id, &ctx.region, "/t");
        let name = name_from_resource_arn(&ctx, &arn).unwrap();
        assert_eq!(name, "/t");
        assert_eq!(
            name_from_resource_arn(&ctx, &format!("{arn}:*")).unwrap(),
            "/t"
        );
        tag(
            &f.logs,
            &ctx,
            "/t",
            &BTreeMap::from([("env".into(), "prod".into()), ("team".into(), "b".into())]),
        )
        .unwrap();
        assert_eq!(
            tags(&f.logs, &ctx, "/t").unwrap(),
            BTreeMap::from([("env".into(), "prod".into()), ("team".into(), "b".into())])
        );
        untag(&f.logs, &ctx, "/t", &["team".into(), "nope".into()]).unwrap();
        assert_eq!(tags(&f.logs, &ctx, "/t").unwrap().len(), 1);
        let many: BTreeMap<String, String> =
            (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(matches!(
            tag(&f.logs, &ctx, "/t", &many),
            Err(Error::TooManyTagsException(_))
        ));
        assert!(matches!(
            tag(
                &f.logs,
                &ctx,
                "/t",
                &BTreeMap::from([("aws:x".into(), "v".into())])
            ),
            Err(Error::InvalidParameterException(_))
        ));
        let other_account = arn.replace("123456789012", "999999999999");
        assert!(matches!(
            name_from_resource_arn(&ctx, &other_account),
            Err(Error::ResourceNotFoundException(_))
        ));
        assert!(matches!(
            name_from_resource_arn(&ctx, "arn:aws:ecs:us-east-1:123456789012:cluster/x"),
            Err(Error::InvalidParameterException(_))
        ));
        assert!(matches!(
            tags(&f.logs, &ctx, "/missing"),
            Err(Error::ResourceNotFoundException(_))
        ));
    }

    #[test]
    fn delete_removes_group_and_queues_its_events() {
        let f = Fixture::new();
        let ctx = f.ctx();
        f.group_and_stream("/d", "s");
        f.put("/d", "s", &[(crate::testing::T0, "hello")]);
        delete(&f.logs, &ctx, "/d").unwrap();
        assert!(matches!(
            delete(&f.logs, &ctx, "/d"),
            Err(Error::ResourceNotFoundException(m)) if m == "The specified log group does not exist."
        ));
        let purges: Vec<(String, StoredPurge)> =
            f.logs.store.read(|tx| tx.list(PURGES, "")).unwrap();
        assert_eq!(purges.len(), 1);
        // Re-created, it is empty.
        f.group_and_stream("/d", "s");
        let got = f
            .logs
            .get_log_events(
                &ctx,
                GetLogEventsRequest {
                    log_group_name: Some("/d".into()),
                    log_stream_name: "s".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(got.events.unwrap().is_empty());
    }

    #[test]
    fn deletion_protection_blocks_delete() {
        let f = Fixture::new();
        let ctx = f.ctx();
        let mut req = create_req("/p");
        req.deletion_protection_enabled = Some(true);
        create(&f.logs, &ctx, req).unwrap();
        assert!(matches!(
            delete(&f.logs, &ctx, "/p"),
            Err(Error::ValidationException(_))
        ));
    }

    #[test]
    fn identifiers_resolve_names_and_arns() {
        let f = Fixture::new();
        let ctx = f.ctx();
        assert_eq!(resolve_group_name(&ctx, Some("/x"), None).unwrap(), "/x");
        assert_eq!(resolve_group_name(&ctx, None, Some("/x")).unwrap(), "/x");
        let arn = group_arn(&ctx.account_id, &ctx.region, "/x");
        assert_eq!(resolve_group_name(&ctx, None, Some(&arn)).unwrap(), "/x");
        assert!(resolve_group_name(&ctx, Some("/x"), Some("/x")).is_err());
        assert!(resolve_group_name(&ctx, None, None).is_err());
    }
}
