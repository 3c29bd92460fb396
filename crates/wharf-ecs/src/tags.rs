//! Tags on clusters, services and task definitions, addressed by ARN.

use crate::generated::*;
use crate::names;
use crate::records::{
    self, task_key, TagRecord, Wire, CLUSTERS, SERVICES, TASKS, TASK_DEFINITIONS,
};
use crate::Ecs;
use wharf_core::tags::{self, TagViolation};
use wharf_core::{Arn, RequestContext};
use wharf_store::Tx;

/// Checks tags given in a request as ECS does (`wharf_core::tags`): at most 50, keys 1-128
/// characters, no `aws:` prefix, values up to 256 characters.
pub fn check(tags: &[Tag]) -> Result<(), Error> {
    check_pairs(
        tags.len(),
        tags.iter().map(|t| (t.key.as_deref(), t.value.as_deref())),
    )
}

/// [`check`] for tags already in record form (a task's, before its record is written).
pub fn check_records(tags: &[TagRecord]) -> Result<(), Error> {
    check_pairs(
        tags.len(),
        tags.iter().map(|t| (t.key.as_deref(), t.value.as_deref())),
    )
}

fn check_pairs<'a>(
    count: usize,
    tags: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> Result<(), Error> {
    if !tags::count_ok(count) {
        return Err(too_many());
    }
    let pairs = tags.map(|(k, v)| (k.unwrap_or_default(), v.unwrap_or_default()));
    let Some(violation) = tags::check(pairs, tags::Checks::default()) else {
        return Ok(());
    };
    Err(Error::InvalidParameterException(match violation {
        TagViolation::KeyLength(key) => {
            format!("Tag key '{key}' must be 1 to 128 characters long.")
        }
        TagViolation::ReservedKey(key) => {
            format!("Tag key '{key}' uses the reserved prefix 'aws:'.")
        }
        TagViolation::ValueLength(key) => {
            format!("The value of tag '{key}' is longer than 256 characters.")
        }
        // Not checked for ECS (`Checks::default()`), but named should they ever be.
        TagViolation::InvalidCharacters(key) => format!("Tag key '{key}' has invalid characters."),
        TagViolation::DuplicateKey(key) => format!("Tag key '{key}' is given twice."),
        TagViolation::TooMany(_) => return Err(too_many()),
    }))
}

fn too_many() -> Error {
    Error::InvalidParameterException("A resource can have at most 50 tags.".into())
}

/// A tag's key, for `wharf_core::tags::merge` / `remove`.
fn key_of(t: &TagRecord) -> &str {
    t.key.as_deref().unwrap_or_default()
}

/// Applies `f` to the tags of the resource `arn` names, inside one write.
fn with_tags<T>(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    arn: &str,
    f: impl FnOnce(&mut Vec<TagRecord>) -> T,
    write: bool,
) -> Result<T, Error> {
    let not_found =
        || Error::ResourceNotFoundException(format!("The specified resource {arn} is not found."));
    let a = Arn::parse(arn)
        .filter(|a| a.service == "ecs" && a.region == ctx.region && a.account == ctx.account_id)
        .ok_or_else(|| {
            Error::InvalidParameterException(format!("Invalid resource ARN '{arn}'."))
        })?;
    let (kind, id) = a.resource_type_and_id();
    match kind {
        "cluster" => {
            let key = records::cluster_key(ctx, id);
            let mut c = tx
                .get(CLUSTERS, &key)?
                .filter(|c| c.status.as_deref() == Some("ACTIVE"))
                .ok_or_else(not_found)?;
            let out = f(c.tags.get_or_insert_with(Vec::new));
            if write {
                tx.put(CLUSTERS, &key, &c)?;
            }
            Ok(out)
        }
        "service" => {
            let (cluster, name) = id.split_once('/').unwrap_or(("default", id));
            let key = records::service_key(ctx, cluster, name);
            let mut s = tx.get(SERVICES, &key)?.ok_or_else(not_found)?;
            let out = f(s.tags.get_or_insert_with(Vec::new));
            if write {
                tx.put(SERVICES, &key, &s)?;
            }
            Ok(out)
        }
        "task-definition" => {
            let r = names::task_def_ref(id)
                .filter(|r| r.revision.is_some())
                .ok_or_else(not_found)?;
            let key = records::task_def_key(ctx, &r.family, r.revision.unwrap_or(0));
            let mut d = tx.get(TASK_DEFINITIONS, &key)?.ok_or_else(not_found)?;
            let out = f(&mut d.tags);
            if write {
                tx.put(TASK_DEFINITIONS, &key, &d)?;
            }
            Ok(out)
        }
        "task" => {
            let (cluster, task_id) = id.split_once('/').unwrap_or(("default", id));
            let key = task_key(&ctx.account_id, &ctx.region, cluster, task_id);
            let mut t = tx.get(TASKS, &key)?.ok_or_else(not_found)?;
            let out = f(t.task.tags.get_or_insert_with(Vec::new));
            if write {
                tx.put(TASKS, &key, &t)?;
            }
            Ok(out)
        }
        _ => Err(Error::InvalidParameterException(format!(
            "Tagging is not supported for the resource type '{kind}' in wharf."
        ))),
    }
}

/// `TagResource`: adds or overwrites tags.
pub fn tag(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: TagResourceRequest,
) -> Result<TagResourceResponse, Error> {
    check(&input.tags)?;
    ecs.store.write(|tx| {
        let over_limit = with_tags(
            tx,
            ctx,
            &input.resource_arn,
            |tags| {
                tags::merge(
                    tags,
                    input.tags.iter().cloned().map(TagRecord::from),
                    key_of,
                );
                !tags::count_ok(tags.len())
            },
            true,
        )?;
        if over_limit {
            return Err(too_many());
        }
        Ok(TagResourceResponse {})
    })
}

/// `UntagResource`.
pub fn untag(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: UntagResourceRequest,
) -> Result<UntagResourceResponse, Error> {
    ecs.store.write(|tx| {
        with_tags(
            tx,
            ctx,
            &input.resource_arn,
            |tags| tags::remove(tags, &input.tag_keys, key_of),
            true,
        )?;
        Ok(UntagResourceResponse {})
    })
}

/// `ListTagsForResource`.
pub fn list(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, Error> {
    let tags = ecs
        .store
        .read(|tx| with_tags(tx, ctx, &input.resource_arn, |tags| tags.clone(), false))?;
    Ok(ListTagsForResourceResponse {
        tags: Some(Wire::into_wire(tags)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ctx, ecs};

    #[test]
    fn tags_round_trip_on_a_cluster() {
        let (_d, ecs) = ecs();
        let c = crate::clusters::create(
            &ecs,
            &ctx(),
            CreateClusterRequest {
                cluster_name: Some("c".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .cluster
        .unwrap();
        let arn = c.cluster_arn.unwrap();
        let t = |k: &str, v: &str| Tag {
            key: Some(k.into()),
            value: Some(v.into()),
        };
        tag(
            &ecs,
            &ctx(),
            TagResourceRequest {
                resource_arn: arn.clone(),
                tags: vec![t("env", "dev"), t("team", "a")],
            },
        )
        .unwrap();
        tag(
            &ecs,
            &ctx(),
            TagResourceRequest {
                resource_arn: arn.clone(),
                tags: vec![t("env", "prod")],
            },
        )
        .unwrap();
        untag(
            &ecs,
            &ctx(),
            UntagResourceRequest {
                resource_arn: arn.clone(),
                tag_keys: vec!["team".into()],
            },
        )
        .unwrap();
        let l = list(
            &ecs,
            &ctx(),
            ListTagsForResourceRequest { resource_arn: arn },
        )
        .unwrap();
        assert_eq!(l.tags.unwrap(), vec![t("env", "prod")]);
        assert!(check(&[t("aws:x", "y")]).is_err());
        let missing = list(
            &ecs,
            &ctx(),
            ListTagsForResourceRequest {
                resource_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/none".into(),
            },
        );
        assert!(matches!(missing, Err(Error::ResourceNotFoundException(_))));
    }
}
