//! Resource tags on repositories in the ECR API: TagResource, UntagResource and
//! ListTagsForResource, addressed by repository ARN (the rules are `wharf_core::tags`).

use super::checks::{check_tags, repo_from_arn, require_repo};
use crate::generated::*;
use crate::records::{self, StoredTag, REPOS};
use crate::Ecr;
use wharf_core::{tags, RequestContext};

pub(crate) fn tag_resource(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: TagResourceRequest,
) -> Result<TagResourceResponse, Error> {
    let repo = repo_from_arn(ctx, &input.resource_arn)?;
    let new: Vec<StoredTag> = input.tags.iter().map(StoredTag::from).collect();
    check_tags(&new)?;
    ecr.store.write(|tx| {
        let mut r = require_repo(tx, &repo)?;
        tags::merge(&mut r.tags, new, |t| &t.key);
        check_tags(&r.tags)?;
        tx.put(REPOS, &records::repo_key(&repo), &r)?;
        Ok(TagResourceResponse {})
    })
}

pub(crate) fn untag_resource(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: UntagResourceRequest,
) -> Result<UntagResourceResponse, Error> {
    let repo = repo_from_arn(ctx, &input.resource_arn)?;
    ecr.store.write(|tx| {
        let mut r = require_repo(tx, &repo)?;
        tags::remove(&mut r.tags, &input.tag_keys, |t| &t.key);
        tx.put(REPOS, &records::repo_key(&repo), &r)?;
        Ok(UntagResourceResponse {})
    })
}

pub(crate) fn list_tags_for_resource(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, Error> {
    let repo = repo_from_arn(ctx, &input.resource_arn)?;
    let r = ecr.store.read(|tx| require_repo(tx, &repo))?;
    Ok(ListTagsForResourceResponse {
        tags: Some(r.tags.iter().map(StoredTag::to_wire).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing::*;
    use crate::images::tests::create;

    #[test]
    fn resource_tags_on_repository_arns() {
        let (_d, ecr) = ecr();
        create(&ecr, "team/app", None);
        let arn = "arn:aws:ecr:us-east-1:123456789012:repository/team/app".to_string();
        ecr.tag_resource(
            &ctx(),
            TagResourceRequest {
                resource_arn: arn.clone(),
                tags: vec![tag("env", "dev"), tag("team", "a")],
            },
        )
        .unwrap();
        ecr.tag_resource(
            &ctx(),
            TagResourceRequest {
                resource_arn: arn.clone(),
                tags: vec![tag("env", "prod")],
            },
        )
        .unwrap();
        ecr.untag_resource(
            &ctx(),
            UntagResourceRequest {
                resource_arn: arn.clone(),
                tag_keys: vec!["team".into()],
            },
        )
        .unwrap();
        let l = ecr
            .list_tags_for_resource(&ctx(), ListTagsForResourceRequest { resource_arn: arn })
            .unwrap();
        assert_eq!(l.tags.unwrap(), vec![tag("env", "prod")]);
        let missing = ecr.list_tags_for_resource(
            &ctx(),
            ListTagsForResourceRequest {
                resource_arn: "arn:aws:ecr:us-east-1:123456789012:repository/none".into(),
            },
        );
        assert!(matches!(
            missing,
            Err(Error::RepositoryNotFoundException(_))
        ));
        let bad = ecr.list_tags_for_resource(
            &ctx(),
            ListTagsForResourceRequest {
                resource_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/x".into(),
            },
        );
        assert!(matches!(bad, Err(Error::InvalidParameterException(_))));
    }
}
