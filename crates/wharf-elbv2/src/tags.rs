//! Tags of load balancers, target groups, listeners and rules: AddTags, RemoveTags,
//! DescribeTags, and the checks Create* operations make on the tags they are given.
//!
//! At most 50 tags per resource, no key twice in one request, no `aws:` keys; AddTags on a
//! key already present replaces its value. The resources are found by ARN (a listener's
//! default rule keeps its tags in the listener record).

use crate::generated::{
    AddTagsInput, AddTagsOutput, DescribeTagsInput, DescribeTagsOutput, Error, RemoveTagsInput,
    RemoveTagsOutput, Tag, TagDescription,
};
use crate::names::{parse_arn, Resource};
use crate::records::{StoredTag, LISTENERS, LOAD_BALANCERS, RULES, TARGET_GROUPS};
use crate::{invalid, load_lb, load_listener, load_rule, load_tg, Elbv2, FoundRule};
use wharf_core::RequestContext;
use wharf_store::Tx;

/// Most tags one resource can have.
const MAX_TAGS: usize = 50;
/// Most resources DescribeTags takes.
const MAX_DESCRIBE: usize = 20;

/// Checks the tags of one request: no key twice, no reserved key.
pub fn check(tags: &[Tag]) -> Result<(), Error> {
    for (i, tag) in tags.iter().enumerate() {
        if tags[..i].iter().any(|t| t.key == tag.key) {
            return Err(Error::DuplicateTagKeysException(format!(
                "Tag key '{}' was specified more than once",
                tag.key
            )));
        }
        if tag.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid(format!(
                "Tag key '{}' cannot start with 'aws:': the prefix is reserved for AWS",
                tag.key
            )));
        }
    }
    Ok(())
}

/// `existing` with `tags` added or replaced.
pub fn merge(existing: &[StoredTag], tags: &[Tag]) -> Result<Vec<StoredTag>, Error> {
    check(tags)?;
    let mut out = existing.to_vec();
    for tag in tags {
        match out.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value.clone(),
            None => out.push(StoredTag {
                key: tag.key.clone(),
                value: tag.value.clone(),
            }),
        }
    }
    if out.len() > MAX_TAGS {
        return Err(Error::TooManyTagsException(format!(
            "The quota for the number of tags that can be assigned to a resource ({MAX_TAGS}) has been reached"
        )));
    }
    Ok(out)
}

/// The wire form of stored tags.
pub fn to_wire(tags: &[StoredTag]) -> Vec<Tag> {
    tags.iter()
        .map(|t| Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

/// A change to a resource's tags.
type TagChange<'a> = &'a dyn Fn(&[StoredTag]) -> Result<Vec<StoredTag>, Error>;

/// Reads and rewrites the tags of the resource `arn` names.
fn update(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    arn: &str,
    change: TagChange<'_>,
) -> Result<(), Error> {
    match parse_arn(arn).map(|p| p.resource) {
        Some(Resource::LoadBalancer { .. }) => {
            let (key, mut lb) = load_lb(tx, ctx, arn)?;
            lb.tags = change(&lb.tags)?;
            tx.put(LOAD_BALANCERS, &key, &lb)?;
        }
        Some(Resource::TargetGroup { .. }) => {
            let (key, mut tg) = load_tg(tx, ctx, arn)?;
            tg.tags = change(&tg.tags)?;
            tx.put(TARGET_GROUPS, &key, &tg)?;
        }
        Some(Resource::Listener { .. }) => {
            let (key, mut l) = load_listener(tx, ctx, arn)?;
            l.tags = change(&l.tags)?;
            tx.put(LISTENERS, &key, &l)?;
        }
        Some(Resource::Rule { .. }) => match load_rule(tx, ctx, arn)? {
            FoundRule::Rule(key, mut r) => {
                r.tags = change(&r.tags)?;
                tx.put(RULES, &key, &r)?;
            }
            FoundRule::Default(key, mut l) => {
                l.default_rule_tags = change(&l.default_rule_tags)?;
                tx.put(LISTENERS, &key, &l)?;
            }
        },
        None => return Err(invalid(format!("'{arn}' is not a valid resource ARN"))),
    }
    Ok(())
}

fn tags_of(tx: &Tx<'_>, ctx: &RequestContext, arn: &str) -> Result<Vec<StoredTag>, Error> {
    Ok(match parse_arn(arn).map(|p| p.resource) {
        Some(Resource::LoadBalancer { .. }) => load_lb(tx, ctx, arn)?.1.tags,
        Some(Resource::TargetGroup { .. }) => load_tg(tx, ctx, arn)?.1.tags,
        Some(Resource::Listener { .. }) => load_listener(tx, ctx, arn)?.1.tags,
        Some(Resource::Rule { .. }) => match load_rule(tx, ctx, arn)? {
            FoundRule::Rule(_, r) => r.tags,
            FoundRule::Default(_, l) => l.default_rule_tags,
        },
        None => return Err(invalid(format!("'{arn}' is not a valid resource ARN"))),
    })
}

/// AddTags.
pub fn add(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: AddTagsInput,
) -> Result<AddTagsOutput, Error> {
    check(&input.tags)?;
    elbv2.store.write(|tx| {
        for arn in &input.resource_arns {
            update(tx, ctx, arn, &|existing| merge(existing, &input.tags))?;
        }
        Ok(AddTagsOutput {})
    })
}

/// RemoveTags.
pub fn remove(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: RemoveTagsInput,
) -> Result<RemoveTagsOutput, Error> {
    elbv2.store.write(|tx| {
        for arn in &input.resource_arns {
            update(tx, ctx, arn, &|existing| {
                Ok(existing
                    .iter()
                    .filter(|t| !input.tag_keys.contains(&t.key))
                    .cloned()
                    .collect())
            })?;
        }
        Ok(RemoveTagsOutput {})
    })
}

/// DescribeTags.
pub fn describe(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: DescribeTagsInput,
) -> Result<DescribeTagsOutput, Error> {
    if input.resource_arns.len() > MAX_DESCRIBE {
        return Err(invalid(format!(
            "DescribeTags takes at most {MAX_DESCRIBE} resource ARNs"
        )));
    }
    elbv2.store.read(|tx| {
        let mut out = Vec::with_capacity(input.resource_arns.len());
        for arn in &input.resource_arns {
            let tags = tags_of(tx, ctx, arn)?;
            out.push(TagDescription {
                resource_arn: Some(arn.clone()),
                tags: Some(to_wire(&tags)),
            });
        }
        Ok(DescribeTagsOutput {
            tag_descriptions: Some(out),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: Some(v.into()),
        }
    }

    #[test]
    fn merge_replaces_and_limits() {
        let merged = merge(&[], &[tag("a", "1"), tag("b", "2")]).unwrap();
        let merged = merge(&merged, &[tag("a", "3")]).unwrap();
        assert_eq!(to_wire(&merged), vec![tag("a", "3"), tag("b", "2")]);
        assert!(matches!(
            merge(&[], &[tag("a", "1"), tag("a", "2")]),
            Err(Error::DuplicateTagKeysException(_))
        ));
        assert!(matches!(
            merge(&[], &[tag("aws:x", "1")]),
            Err(Error::ValidationError(_))
        ));
        let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(matches!(
            merge(&[], &many),
            Err(Error::TooManyTagsException(_))
        ));
    }
}
