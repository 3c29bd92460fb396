//! AddTagsToResource, RemoveTagsFromResource and ListTagsForResource for resource type
//! `Parameter` (the resource id is the parameter's name), as AWS's tagging of Systems Manager
//! resources defines them: at most 50 tags, keys not starting with `aws:`.

use crate::generated::*;
use crate::parameters::{check_tags, merge_tags};
use crate::records::{self, StoredParameter, PARAMETERS};
use crate::{load, names, Ssm};
use wharf_core::RequestContext;

/// The only resource type wharf's Systems Manager has.
const PARAMETER: &str = "Parameter";

fn invalid_id(id: &str) -> Error {
    Error::InvalidResourceId(format!(
        "The resource ID \"{id}\" is not valid. Verify that you entered the correct ID (for a Parameter, its name) and try again."
    ))
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
        param.tags.retain(|t| !input.tag_keys.contains(&t.key));
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
