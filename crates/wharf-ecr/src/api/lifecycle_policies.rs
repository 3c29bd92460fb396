//! Lifecycle policies in the ECR API: PutLifecyclePolicy, GetLifecyclePolicy,
//! DeleteLifecyclePolicy, and previews (StartLifecyclePolicyPreview computes at once what the
//! policy would expire and keeps it on the repository; GetLifecyclePolicyPreview pages through
//! it). The policy language and its evaluation are `lifecycle`.

use super::checks::{invalid, repo_ref, require_repo};
use super::paging::{page, page_size};
use crate::generated::*;
use crate::images::list_images;
use crate::lifecycle::{self, parse_policy};
use crate::records::{
    self, RepoRef, StoredImage, StoredPreview, StoredPreviewResult, StoredRuleAction, REPOS,
};
use crate::Ecr;
use wharf_core::{RequestContext, Timestamp};

/// LifecyclePolicyNotFoundException for `repo`.
fn policy_not_found(repo: &RepoRef) -> Error {
    Error::LifecyclePolicyNotFoundException(format!(
        "Lifecycle policy does not exist for the repository with name '{}' in the registry with id '{}'",
        repo.name, repo.account
    ))
}

/// The lifecycle preview of `policy` over `images` at `now`: one result per image it
/// expires, sorted by digest.
pub(crate) fn preview(
    policy: &lifecycle::LifecyclePolicy,
    images: &[StoredImage],
    now: Timestamp,
) -> Vec<StoredPreviewResult> {
    let plan = lifecycle::evaluate(policy, &lifecycle::candidates(images), now);
    let mut results: Vec<StoredPreviewResult> = plan
        .into_iter()
        .filter_map(|e| {
            let image = images.iter().find(|i| i.digest == e.digest)?;
            Some(StoredPreviewResult {
                image_tags: Some(image.tags.clone()),
                image_digest: Some(image.digest.clone()),
                image_pushed_at: Some(image.pushed_at),
                action: Some(StoredRuleAction {
                    r#type: Some("EXPIRE".into()),
                    target_storage_class: None,
                }),
                applied_rule_priority: Some(i32::try_from(e.rule_priority).unwrap_or(i32::MAX)),
                storage_class: None,
            })
        })
        .collect();
    results.sort_by(|a, b| a.image_digest.cmp(&b.image_digest));
    results
}

pub(crate) fn put_lifecycle_policy(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: PutLifecyclePolicyRequest,
) -> Result<PutLifecyclePolicyResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    parse_policy(&input.lifecycle_policy_text).map_err(|e| invalid(e.to_string()))?;
    ecr.store.write(|tx| {
        let mut r = require_repo(tx, &repo)?;
        r.lifecycle_policy = Some(input.lifecycle_policy_text.clone());
        tx.put(REPOS, &records::repo_key(&repo), &r)?;
        Ok::<_, Error>(())
    })?;
    Ok(PutLifecyclePolicyResponse {
        registry_id: Some(repo.account),
        repository_name: Some(repo.name),
        lifecycle_policy_text: Some(input.lifecycle_policy_text),
    })
}

pub(crate) fn get_lifecycle_policy(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: GetLifecyclePolicyRequest,
) -> Result<GetLifecyclePolicyResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    let r = ecr.store.read(|tx| require_repo(tx, &repo))?;
    let text = r.lifecycle_policy.ok_or_else(|| policy_not_found(&repo))?;
    Ok(GetLifecyclePolicyResponse {
        registry_id: Some(repo.account),
        repository_name: Some(repo.name),
        lifecycle_policy_text: Some(text),
        last_evaluated_at: r.lifecycle_evaluated_at,
    })
}

pub(crate) fn delete_lifecycle_policy(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: DeleteLifecyclePolicyRequest,
) -> Result<DeleteLifecyclePolicyResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    let (text, evaluated) = ecr.store.write(|tx| {
        let mut r = require_repo(tx, &repo)?;
        let text = r
            .lifecycle_policy
            .take()
            .ok_or_else(|| policy_not_found(&repo))?;
        let evaluated = r.lifecycle_evaluated_at.take();
        tx.put(REPOS, &records::repo_key(&repo), &r)?;
        Ok::<_, Error>((text, evaluated))
    })?;
    Ok(DeleteLifecyclePolicyResponse {
        registry_id: Some(repo.account),
        repository_name: Some(repo.name),
        lifecycle_policy_text: Some(text),
        last_evaluated_at: evaluated,
    })
}

pub(crate) fn start_lifecycle_policy_preview(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: StartLifecyclePolicyPreviewRequest,
) -> Result<StartLifecyclePolicyPreviewResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    let text = ecr.store.write(|tx| {
        let mut r = require_repo(tx, &repo)?;
        let text = match input.lifecycle_policy_text.clone() {
            Some(t) => t,
            None => r
                .lifecycle_policy
                .clone()
                .ok_or_else(|| policy_not_found(&repo))?,
        };
        let policy = parse_policy(&text).map_err(|e| invalid(e.to_string()))?;
        let all = list_images(tx, &repo)?;
        r.preview = Some(StoredPreview {
            policy_text: text.clone(),
            results: preview(&policy, &all, ctx.now),
        });
        tx.put(REPOS, &records::repo_key(&repo), &r)?;
        Ok::<_, Error>(text)
    })?;
    Ok(StartLifecyclePolicyPreviewResponse {
        registry_id: Some(repo.account),
        repository_name: Some(repo.name),
        lifecycle_policy_text: Some(text),
        status: Some("COMPLETE".into()),
    })
}

pub(crate) fn get_lifecycle_policy_preview(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: GetLifecyclePolicyPreviewRequest,
) -> Result<GetLifecyclePolicyPreviewResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    let ids = input.image_ids.unwrap_or_default();
    if !ids.is_empty() && (input.max_results.is_some() || input.next_token.is_some()) {
        return Err(invalid(
            "maxResults and nextToken cannot be used together with imageIds",
        ));
    }
    let max = page_size(input.max_results, 100, 100)?;
    let r = ecr.store.read(|tx| require_repo(tx, &repo))?;
    let preview = r.preview.ok_or_else(|| {
        Error::LifecyclePolicyPreviewNotFoundException(format!(
            "Lifecycle policy preview does not exist for the repository with name '{}' in the registry with id '{}'",
            repo.name, repo.account
        ))
    })?;
    let total = preview.results.len();
    let status = input.filter.and_then(|f| f.tag_status);
    let tags_of = |p: &StoredPreviewResult| p.image_tags.clone().unwrap_or_default();
    let selected: Vec<StoredPreviewResult> = preview
        .results
        .into_iter()
        .filter(|p| match status.as_deref() {
            Some("TAGGED") => !tags_of(p).is_empty(),
            Some("UNTAGGED") => tags_of(p).is_empty(),
            _ => true,
        })
        .filter(|p| {
            ids.is_empty()
                || ids.iter().any(|id| {
                    id.image_digest
                        .as_ref()
                        .is_none_or(|d| p.image_digest.as_ref() == Some(d))
                        && id.image_tag.as_ref().is_none_or(|t| tags_of(p).contains(t))
                        && (id.image_digest.is_some() || id.image_tag.is_some())
                })
        })
        .collect();
    let (page, next) = page(
        selected,
        |p| p.image_digest.clone().unwrap_or_default(),
        input.next_token.as_deref(),
        max,
    )?;
    Ok(GetLifecyclePolicyPreviewResponse {
        registry_id: Some(repo.account),
        repository_name: Some(repo.name),
        lifecycle_policy_text: Some(preview.policy_text),
        status: Some("COMPLETE".into()),
        next_token: next,
        preview_results: Some(page.iter().map(StoredPreviewResult::to_wire).collect()),
        summary: Some(LifecyclePolicyPreviewSummary {
            expiring_image_total_count: Some(i32::try_from(total).unwrap_or(i32::MAX)),
            transitioning_image_total_counts: None,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing::*;
    use crate::images::tests::{create, new_image};
    use std::sync::Arc;
    use wharf_core::Clock;

    const KEEP_TWO: &str = r#"{"rules": [{"rulePriority": 1, "description": "keep two", "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 2}, "action": {"type": "expire"}}]}"#;

    #[test]
    fn lifecycle_policy_crud_preview_and_expiry() {
        let (_d, ecr) = ecr();
        let repo = create(&ecr, "app", None);
        let get = || {
            ecr.get_lifecycle_policy(
                &ctx(),
                GetLifecyclePolicyRequest {
                    repository_name: "app".into(),
                    ..Default::default()
                },
            )
        };
        assert_eq!(
            get().unwrap_err(),
            Error::LifecyclePolicyNotFoundException(
                "Lifecycle policy does not exist for the repository with name 'app' in the registry with id '123456789012'".into()
            )
        );
        let bad = ecr.put_lifecycle_policy(
            &ctx(),
            PutLifecyclePolicyRequest {
                repository_name: "app".into(),
                lifecycle_policy_text: KEEP_TWO.replace("\"any\"", "\"tagged\""),
                ..Default::default()
            },
        );
        assert!(
            matches!(bad, Err(Error::InvalidParameterException(m)) if m.contains("tagPrefixList or tagPatternList"))
        );
        ecr.put_lifecycle_policy(
            &ctx(),
            PutLifecyclePolicyRequest {
                repository_name: "app".into(),
                lifecycle_policy_text: KEEP_TWO.into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            get().unwrap().lifecycle_policy_text.as_deref(),
            Some(KEEP_TWO)
        );
        for n in 1..=4u32 {
            let tag = format!("v{n}");
            ecr.record_image(
                &repo,
                Some(&tag),
                new_image(n),
                ctx_at(i64::from(n) * 1_000).now,
            )
            .unwrap();
        }
        let get_preview = |filter: Option<&str>| {
            ecr.get_lifecycle_policy_preview(
                &ctx(),
                GetLifecyclePolicyPreviewRequest {
                    repository_name: "app".into(),
                    filter: filter.map(|f| LifecyclePolicyPreviewFilter {
                        tag_status: Some(f.into()),
                    }),
                    ..Default::default()
                },
            )
        };
        assert!(matches!(
            get_preview(None),
            Err(Error::LifecyclePolicyPreviewNotFoundException(_))
        ));
        let started = ecr
            .start_lifecycle_policy_preview(
                &ctx(),
                StartLifecyclePolicyPreviewRequest {
                    repository_name: "app".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(started.status.as_deref(), Some("COMPLETE"));
        let p = get_preview(None).unwrap();
        assert_eq!(p.status.as_deref(), Some("COMPLETE"));
        assert_eq!(p.summary.unwrap().expiring_image_total_count, Some(2));
        let results = p.preview_results.unwrap();
        let digests: Vec<String> = results
            .iter()
            .map(|r| r.image_digest.clone().unwrap())
            .collect();
        assert_eq!(digests, vec![new_image(1).digest, new_image(2).digest]);
        assert_eq!(results[0].image_tags, Some(vec!["v1".to_string()]));
        assert_eq!(results[0].applied_rule_priority, Some(1));
        assert_eq!(
            results[0].action.as_ref().unwrap().r#type.as_deref(),
            Some("EXPIRE")
        );
        assert!(get_preview(Some("UNTAGGED"))
            .unwrap()
            .preview_results
            .unwrap()
            .is_empty());
        // The preview changed nothing; applying the policy does.
        assert_eq!(ecr.tags(&repo).unwrap().len(), 4);
        let later = Timestamp::from_millis(NOW + 5_000);
        assert_eq!(ecr.apply_lifecycle_policies(later).unwrap(), 2);
        assert_eq!(ecr.tags(&repo).unwrap(), vec!["v3", "v4"]);
        assert_eq!(get().unwrap().last_evaluated_at, Some(later));
        assert_eq!(ecr.apply_lifecycle_policies(later).unwrap(), 0);
        let d = ecr
            .delete_lifecycle_policy(
                &ctx(),
                DeleteLifecyclePolicyRequest {
                    repository_name: "app".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(d.lifecycle_policy_text.as_deref(), Some(KEEP_TWO));
        assert!(matches!(
            get(),
            Err(Error::LifecyclePolicyNotFoundException(_))
        ));
        // A preview of an explicit policy text works without a stored policy.
        let s = ecr
            .start_lifecycle_policy_preview(
                &ctx(),
                StartLifecyclePolicyPreviewRequest {
                    repository_name: "app".into(),
                    lifecycle_policy_text: Some(
                        KEEP_TWO.replace("\"countNumber\": 2", "\"countNumber\": 1"),
                    ),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(s.status.as_deref(), Some("COMPLETE"));
        assert_eq!(get_preview(None).unwrap().preview_results.unwrap().len(), 1);
        assert!(matches!(
            ecr.start_lifecycle_policy_preview(
                &ctx(),
                StartLifecyclePolicyPreviewRequest {
                    repository_name: "app".into(),
                    ..Default::default()
                },
            ),
            Err(Error::LifecyclePolicyNotFoundException(_))
        ));
    }

    #[test]
    fn lifecycle_loop_expires_images_as_the_fake_clock_moves() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(wharf_core::FakeClock::new(Timestamp::from_millis(NOW)));
        let ecr = crate::api::testing::ecr_with_clock(dir.path(), clock.clone());
        let repo = create(&ecr, "app", None);
        let policy = r#"{"rules": [{"rulePriority": 1, "description": "untagged after a day", "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}, "action": {"type": "expire"}}]}"#;
        ecr.put_lifecycle_policy(
            &ctx(),
            PutLifecyclePolicyRequest {
                repository_name: "app".into(),
                lifecycle_policy_text: policy.into(),
                ..Default::default()
            },
        )
        .unwrap();
        ecr.record_image(&repo, None, new_image(1), clock.now())
            .unwrap();
        ecr.record_image(&repo, Some("v1"), new_image(2), clock.now())
            .unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        rt.block_on(async {
            let task = tokio::spawn(crate::lifecycle::run_lifecycle_loop(
                ecr.clone(),
                std::time::Duration::from_millis(10),
                stopped,
            ));
            let exists = |n: u32| {
                ecr.resolve_reference(&repo, &new_image(n).digest)
                    .unwrap()
                    .is_some()
            };
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert!(exists(1), "nothing is a day old yet");
            clock.advance(24 * 60 * 60 * 1000 + 1);
            let mut waited = 0;
            while exists(1) && waited < 200 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                waited += 1;
            }
            assert!(!exists(1), "the untagged image expired");
            assert!(exists(2), "the tagged image stays");
            stop.send(true).unwrap();
            tokio::time::timeout(std::time::Duration::from_secs(5), task)
                .await
                .expect("the loop stops on shutdown")
                .unwrap();
        });
        let gc_roots = ecr.referenced_digests().unwrap();
        assert!(!gc_roots.contains(&new_image(1).blobs[0].digest));
    }
}
