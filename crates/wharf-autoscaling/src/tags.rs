//! TagResource, UntagResource and ListTagsForResource on scalable target ARNs
//! (`arn:aws:application-autoscaling:<region>:<account>:scalable-target/<id>`), the only
//! taggable resource of Application Auto Scaling.

use crate::generated::{
    Error, ListTagsForResourceResponse, TagResourceRequest, UntagResourceRequest,
};
use crate::records::{scope_prefix, TargetRecord, TARGETS};
use crate::tag_rules;
use crate::AutoScaling;
use wharf_core::RequestContext;
use wharf_store::Tx;

/// The key and record of the target `arn` in the caller's account and region, or AWS's
/// errors (a malformed ARN is a ValidationException, an unknown one ResourceNotFoundException).
fn find(tx: &Tx<'_>, ctx: &RequestContext, arn: &str) -> Result<(String, TargetRecord), Error> {
    let prefix = format!(
        "arn:aws:application-autoscaling:{}:{}:scalable-target/",
        ctx.region, ctx.account_id
    );
    if !arn.starts_with("arn:aws:application-autoscaling:") || !arn.contains(":scalable-target/") {
        return Err(Error::ValidationException(format!(
            "{arn} is not a valid scalable target ARN"
        )));
    }
    let found = if arn.starts_with(&prefix) {
        tx.list(TARGETS, &scope_prefix(&ctx.account_id, &ctx.region))?
            .into_iter()
            .find(|(_, t)| t.arn == arn)
    } else {
        None
    };
    found.ok_or_else(|| {
        Error::ResourceNotFoundException(format!("No scalable target found for ARN {arn}"))
    })
}

/// TagResource.
pub fn tag(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: TagResourceRequest,
) -> Result<(), Error> {
    scaling.store.write(|tx| {
        let (key, mut target) = find(tx, ctx, &input.resource_arn)?;
        tag_rules::check(&target.arn, &target.tags, &input.tags)?;
        target.tags.extend(input.tags.clone());
        tx.put(TARGETS, &key, &target)?;
        Ok(())
    })
}

/// UntagResource.
pub fn untag(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    input: UntagResourceRequest,
) -> Result<(), Error> {
    scaling.store.write(|tx| {
        let (key, mut target) = find(tx, ctx, &input.resource_arn)?;
        for k in &input.tag_keys {
            target.tags.remove(k);
        }
        tx.put(TARGETS, &key, &target)?;
        Ok(())
    })
}

/// ListTagsForResource.
pub fn list(
    scaling: &AutoScaling,
    ctx: &RequestContext,
    arn: &str,
) -> Result<ListTagsForResourceResponse, Error> {
    let (_, target) = scaling.store.read(|tx| find(tx, ctx, arn))?;
    Ok(ListTagsForResourceResponse {
        tags: Some(target.tags),
    })
}
