//! AddTagsToResource, RemoveTagsFromResource and ListTagsForResource for resource type
//! `Parameter` (the resource id is the parameter's name), as AWS's tagging of Systems Manager
//! resources defines them: at most 50 tags, keys not starting with `aws:` (the rules of
//! [`wharf_core::tags`], answered with Parameter Store's error codes and wording). PutParameter
//! checks and merges its tags here too.

use crate::generated::*;
use crate::lookup::load;
use crate::records::{self, StoredParameter, StoredTag, PARAMETERS};
use crate::{names, Ssm};
use wharf_core::tags as tag_rules;
use wharf_core::RequestContext;

/// The only resource type wharf's Systems Manager has.
const PARAMETER: &str = "Parameter";

fn invalid_id(id: &str) -> Error {
    Error::InvalidResourceId(format!(
        "The resource ID \"{id}\" is not valid. Verify that you entered the correct ID (for a Parameter, its name) and try again."
    ))
}

/// Checks a parameter's tags (all of them, after merging): no key under `aws:`
/// (`ValidationException`), at most 50 (`TooManyTagsError`).
pub(crate) fn check_tags(tags: &[StoredTag]) -> Result<(), Error> {
    if let Some(t) = tags.iter().find(|t| tag_rules::is_reserved_key(&t.key)) {
        return Err(Error::ValidationException(format!(
            "Tag key {} uses the prefix aws:, which is reserved for AWS use.",
            t.key
        )));
    }
    if !tag_rules::count_ok(tags.len()) {
        return Err(Error::TooManyTagsError(format!(
            "A parameter can have at most {} tags; this request would give it {}.",
            tag_rules::MAX_TAGS,
            tags.len()
        )));
    }
    Ok(())
}

/// `existing` with `new` added (a key already present takes the new value).
pub(crate) fn merge_tags(existing: &[StoredTag], new: &[Tag]) -> Vec<StoredTag> {
    let mut out = existing.to_vec();
    let new = new.iter().map(|t| StoredTag {
        key: t.key.clone(),
        value: t.value.clone(),
    });
    tag_rules::merge(&mut out, new, |t| &t.key);
    out
}

/// The parameter `resource_type` / `resource_id` name, loaded in `tx`.
fn resolve(
    tx: &wharf_store::Tx<'_>,
    ctx: &RequestContext,
    resource_type: &str,
    resource_id: &str,
) -> Result<StoredParameter, Error> {
    if resource_type != PARAMETER {
        return Err(Error::InvalidResourceType(format!(
            "wharf's Systems Manager tags resources of type Parameter only, not {resource_type}."
        )));
    }
    if names::check_format(resource_id).is_err() {
        return Err(invalid_id(resource_id));
    }
    load(tx, &ctx.account_id, &ctx.region, resource_id, ctx.now)?
        .ok_or_else(|| invalid_id(resource_id))
}

/// AddTagsToResource: adds tags, or changes the value of a key already there.
pub fn add(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: AddTagsToResourceRequest,
) -> Result<AddTagsToResourceResult, Error> {
    ssm.store.write(|tx| {
        let mut param = resolve(tx, ctx, &input.resource_type, &input.resource_id)?;
        let tags = merge_tags(&param.tags, &input.tags);
        check_tags(&tags)?;
        param.tags = tags;
        tx.put(
            PARAMETERS,
            &records::key(&ctx.account_id, &ctx.region, &param.name),
            &param,
        )?;
        Ok(AddTagsToResourceResult {})
    })
}

/// RemoveTagsFromResource: keys not present are ignored.
pub fn remove(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: RemoveTagsFromResourceRequest,
) -> Result<RemoveTagsFromResourceResult, Error> {
    ssm.store.write(|tx| {
        let mut param = resolve(tx, ctx, &input.resource_type, &input.resource_id)?;
        tag_rules::remove(&mut param.tags, &input.tag_keys, |t| &t.key);
        tx.put(
            PARAMETERS,
            &records::key(&ctx.account_id, &ctx.region, &param.name),
            &param,
        )?;
        Ok(RemoveTagsFromResourceResult {})
    })
}

/// ListTagsForResource.
pub fn list(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResult, Error> {
    let param = ssm
        .store
        .read(|tx| resolve(tx, ctx, &input.resource_type, &input.resource_id))?;
    Ok(ListTagsForResourceResult {
        tag_list: Some(
            param
                .tags
                .iter()
                .map(|t| Tag {
                    key: t.key.clone(),
                    value: t.value.clone(),
                })
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parameters::{put, tests::*};

    fn tags(ssm: &Ssm, ctx: &RequestContext, id: &str) -> Result<Vec<(String, String)>, Error> {
        list(
            ssm,
            ctx,
            ListTagsForResourceRequest {
                resource_type: "Parameter".into(),
                resource_id: id.into(),
            },
        )
        .map(|r| {
            r.tag_list
                .unwrap()
                .into_iter()
                .map(|t| (t.key, t.value))
                .collect()
        })
    }

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn add_change_remove_and_limits() {
        let (_d, ssm, _c, ctx) = setup();
        put(
            &ssm,
            &ctx,
            PutParameterRequest {
                tags: Some(vec![tag("env", "dev")]),
                ..put_req("/t", "v", Some("String"))
            },
        )
        .unwrap();
        assert_eq!(
            tags(&ssm, &ctx, "/t").unwrap(),
            vec![("env".into(), "dev".into())]
        );
        add(
            &ssm,
            &ctx,
            AddTagsToResourceRequest {
                resource_type: "Parameter".into(),
                resource_id: "/t".into(),
                tags: vec![tag("env", "prod"), tag("team", "a")],
            },
        )
        .unwrap();
        assert_eq!(
            tags(&ssm, &ctx, "/t").unwrap(),
            vec![("env".into(), "prod".into()), ("team".into(), "a".into())]
        );
        remove(
            &ssm,
            &ctx,
            RemoveTagsFromResourceRequest {
                resource_type: "Parameter".into(),
                resource_id: "/t".into(),
                tag_keys: vec!["env".into(), "absent".into()],
            },
        )
        .unwrap();
        assert_eq!(
            tags(&ssm, &ctx, "/t").unwrap(),
            vec![("team".into(), "a".into())]
        );
        assert_eq!(
            tags(&ssm, &ctx, "/none").unwrap_err().shape(),
            "InvalidResourceId"
        );
        let wrong_type = list(
            &ssm,
            &ctx,
            ListTagsForResourceRequest {
                resource_type: "Document".into(),
                resource_id: "/t".into(),
            },
        );
        assert_eq!(wrong_type.unwrap_err().shape(), "InvalidResourceType");
        let too_many: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
        let err = add(
            &ssm,
            &ctx,
            AddTagsToResourceRequest {
                resource_type: "Parameter".into(),
                resource_id: "/t".into(),
                tags: too_many,
            },
        )
        .unwrap_err();
        assert_eq!(err.shape(), "TooManyTagsError");
        let reserved = add(
            &ssm,
            &ctx,
            AddTagsToResourceRequest {
                resource_type: "Parameter".into(),
                resource_id: "/t".into(),
                tags: vec![tag("aws:x", "v")],
            },
        );
        assert_eq!(reserved.unwrap_err().shape(), "ValidationException");
        assert_eq!(tags(&ssm, &ctx, "/t").unwrap().len(), 1);
    }
}
