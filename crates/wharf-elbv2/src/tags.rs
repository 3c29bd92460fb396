//! Tags of load balancers, target groups, listeners and rules: AddTags, RemoveTags,
//! DescribeTags, and the checks Create* operations make on the tags they are given.
//!
//! The rules are AWS's for every service ([`wharf_core::tags`]: at most 50 tags per resource,
//! keys of 1 to 128 characters, values of at most 256, no `aws:` keys) plus ELBv2's own: no key
//! twice in one request; AddTags on a key already present replaces its value. The resources are found by ARN (a listener's
//! default rule keeps its tags in the listener record).

use crate::errors::invalid;
use crate::generated::{
    AddTagsInput, AddTagsOutput, DescribeTagsInput, DescribeTagsOutput, Error, RemoveTagsInput,
    RemoveTagsOutput, Tag, TagDescription,
};
use crate::lookup::{load_lb, load_listener, load_rule, load_tg, FoundRule};
use crate::names::{parse_arn, Resource};
use crate::records::{StoredTag, LISTENERS, LOAD_BALANCERS, RULES, TARGET_GROUPS};
use crate::Elbv2;
use wharf_core::tags::{self as tag_rules, TagViolation};
use wharf_core::RequestContext;
use wharf_store::Tx;

/// Most resources DescribeTags takes.
const MAX_DESCRIBE: usize = 20;

/// Checks the tags of one request against the rules of [`wharf_core::tags`] (key and value
/// lengths, no reserved key, no key twice), answering ELBv2's errors.
pub fn check(tags: &[Tag]) -> Result<(), Error> {
    let pairs = tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_deref().unwrap_or_default()));
    let checks = tag_rules::Checks {
        characters: false,
        duplicates: true,
    };
    match tag_rules::check(pairs, checks) {
        None => Ok(()),
        Some(TagViolation::DuplicateKey(key)) => Err(Error::DuplicateTagKeysException(format!(
            "Tag key '{key}' was specified more than once"
        ))),
        Some(TagViolation::ReservedKey(key)) => Err(invalid(format!(
            "Tag key '{key}' cannot start with 'aws:': the prefix is reserved for AWS"
        ))),
        Some(TagViolation::KeyLength(key)) => Err(invalid(format!(
            "Tag key '{key}' must be 1 to {} characters long",
            tag_rules::MAX_KEY_CHARS
        ))),
        Some(TagViolation::ValueLength(key)) => Err(invalid(format!(
            "The value of tag '{key}' must be at most {} characters long",
            tag_rules::MAX_VALUE_CHARS
        ))),
        Some(TagViolation::InvalidCharacters(key)) => Err(invalid(format!(
            "Tag '{key}' has characters AWS does not allow"
        ))),
        Some(TagViolation::TooMany(_)) => Err(too_many()),
    }
}

fn too_many() -> Error {
    Error::TooManyTagsException(format!(
        "The quota for the number of tags that can be assigned to a resource ({}) has been reached",
        tag_rules::MAX_TAGS
    ))
}

/// `existing` with `tags` added or replaced.
pub fn merge(existing: &[StoredTag], tags: &[Tag]) -> Result<Vec<StoredTag>, Error> {
    check(tags)?;
    let mut out = existing.to_vec();
    let new = tags.iter().map(|tag| StoredTag {
        key: tag.key.clone(),
        value: tag.value.clone(),
    });
    tag_rules::merge(&mut out, new, |t| &t.key);
    if !tag_rules::count_ok(out.len()) {
        return Err(too_many());
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
                let mut kept = existing.to_vec();
                tag_rules::remove(&mut kept, &input.tag_keys, |t| &t.key);
                Ok(kept)
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
        assert!(matches!(
            merge(&[], &[tag("", "1")]),
            Err(Error::ValidationError(_))
        ));
        let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(matches!(
            merge(&[], &many),
            Err(Error::TooManyTagsException(_))
        ));
    }
}
