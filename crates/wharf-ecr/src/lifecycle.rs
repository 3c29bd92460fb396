//! ECR lifecycle policies: the policy language (parse and validate, with ECR's error wording),
//! the pure evaluation of a policy over a repository's images, and the loop that applies every
//! repository's policy on a schedule (expired images disappear from both APIs; the registry's GC
//! then reclaims their blobs).
//!
//! Evaluation follows AWS's documented rules ("Lifecycle policy evaluation rules" and the
//! examples of the ECR user guide):
//! - rules run in ascending `rulePriority`; each *selects* images by `tagStatus`
//!   (`tagged` with every `tagPrefixList` prefix / `tagPatternList` pattern matching some tag,
//!   `untagged`, or `any`);
//! - `imageCountMoreThan N` keeps the newest N selected images (by push time) and marks the
//!   rest; `sinceImagePushed N days` marks selected images pushed more than N days ago;
//! - an image selected by a rule can never be expired by a later rule, but later rules still
//!   count it ("rules can never mark images that are marked by higher priority rules, but can
//!   still identify them as if they haven't been expired"), so each image is expired by at most
//!   one rule;
//! - images referenced by an index (manifest list) are left out: they go with the index.

use crate::images;
use crate::records::{StoredImage, StoredRepo, REPOS};
pub use crate::syntax::wildcard_match;
use crate::Ecr;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use wharf_core::Timestamp;
use wharf_store::StoreError;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Which images a rule looks at (`selection.tagStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagStatus {
    /// Images with at least one tag matching the rule's prefixes or patterns.
    Tagged,
    /// Images without tags.
    Untagged,
    /// Every image.
    Any,
}

/// How a rule decides what expires (`selection.countType` / `countNumber` / `countUnit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountRule {
    /// `imageCountMoreThan`: keep this many of the newest selected images.
    ImageCountMoreThan(u32),
    /// `sinceImagePushed` in `days`: expire selected images pushed longer ago than this.
    SinceImagePushedDays(u32),
}

/// One rule of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `rulePriority`: unique; lower runs first.
    pub priority: i64,
    /// `description`.
    pub description: Option<String>,
    /// `selection.tagStatus`.
    pub tag_status: TagStatus,
    /// `selection.tagPrefixList`: every prefix must start some tag of the image.
    pub tag_prefixes: Vec<String>,
    /// `selection.tagPatternList`: every pattern (`*` wildcards) must match some tag.
    pub tag_patterns: Vec<String>,
    /// The count condition.
    pub count: CountRule,
}

/// A validated lifecycle policy, rules sorted by priority. `action.type` is always `expire`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecyclePolicy {
    /// The rules, ascending `rulePriority`.
    pub rules: Vec<Rule>,
}

/// A policy ECR would refuse; the text names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: {0}'")]
pub struct PolicyError(pub String);

/// What the evaluator needs to know about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    /// The manifest digest.
    pub digest: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// `imagePushedAt`.
    pub pushed_at: Timestamp,
}

/// An image a policy expires, and the rule that does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiration {
    /// The image digest.
    pub digest: String,
    /// `appliedRulePriority`.
    pub rule_priority: i64,
}

fn fail<T>(detail: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(detail.into()))
}

/// Refuses members of `obj` outside `allowed` (JSON-schema wording, as ECR answers).
fn only(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), PolicyError> {
    let extra: Vec<&String> = obj
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    if extra.is_empty() {
        return Ok(());
    }
    fail(format!(
        "object instance has properties which are not allowed by the schema: ({})",
        serde_json::to_string(&extra).unwrap_or_default()
    ))
}

/// Refuses `obj` when it lacks any of `required`.
fn require(obj: &Map<String, Value>, required: &[&str]) -> Result<(), PolicyError> {
    let missing: Vec<&&str> = required.iter().filter(|k| !obj.contains_key(**k)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    fail(format!(
        "object has missing required properties ({})",
        serde_json::to_string(&missing).unwrap_or_default()
    ))
}

fn string_list(v: &Value, field: &str, priority: i64) -> Result<Vec<String>, PolicyError> {
    let Some(items) = v.as_array() else {
        return fail(format!(
            "{field} of rule {priority} must be a list of strings"
        ));
    };
    if items.is_empty() {
        return fail(format!("{field} of rule {priority} must not be empty"));
    }
    items
        .iter()
        .map(|i| match i.as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => fail(format!(
                "{field} of rule {priority} must contain only non-empty strings"
            )),
        })
        .collect()
}

/// Parses and validates a lifecycle policy as PutLifecyclePolicy does.
pub fn parse_policy(text: &str) -> Result<LifecyclePolicy, PolicyError> {
    let doc: Value = match serde_json::from_str(text) {
        Ok(Value::Object(o)) => Value::Object(o),
        _ => return fail("Could not map policyString into LifecyclePolicy."),
    };
    let Some(top) = doc.as_object() else {
        return fail("Could not map policyString into LifecyclePolicy.");
    };
    require(top, &["rules"])?;
    only(top, &["rules"])?;
    let Some(raw_rules) = top.get("rules").and_then(Value::as_array) else {
        return fail("rules must be a list of rule objects");
    };
    if raw_rules.is_empty() {
        return fail(
            "array is too short: must have at least 1 elements but instance has 0 elements",
        );
    }
    let mut rules = Vec::with_capacity(raw_rules.len());
    for raw in raw_rules {
        rules.push(parse_rule(raw)?);
    }
    let mut priorities = HashSet::new();
    for r in &rules {
        if !priorities.insert(r.priority) {
            return fail(format!(
                "rulePriority {} is used by more than one rule; priorities must be unique",
                r.priority
            ));
        }
    }
    rules.sort_by_key(|r| r.priority);
    if rules
        .iter()
        .filter(|r| r.tag_status == TagStatus::Untagged)
        .count()
        > 1
    {
        return fail("Only one rule can select Untagged images");
    }
    if let Some(pos) = rules.iter().position(|r| r.tag_status == TagStatus::Any) {
        if pos + 1 != rules.len() {
            return fail(format!(
                "Rule for tagStatus=ANY must have the lowest priority (the highest rulePriority), but rule {} comes after rule {}",
                rules[rules.len() - 1].priority,
                rules[pos].priority
            ));
        }
    }
    let mut prefix_sets = HashSet::new();
    for r in rules.iter().filter(|r| !r.tag_prefixes.is_empty()) {
        let set: BTreeSet<&String> = r.tag_prefixes.iter().collect();
        if !prefix_sets.insert(set) {
            return fail(format!(
                "rule {} repeats the tagPrefixList of an earlier rule; the set of rules must contain a unique set of tag prefixes",
                r.priority
            ));
        }
    }
    Ok(LifecyclePolicy { rules })
}

/// One rule of a policy, checked in ECR's order: its members, `rulePriority`, `description`,
/// `action`, then `selection` (tag status, storage class, tag filters, count).
fn parse_rule(raw: &Value) -> Result<Rule, PolicyError> {
    let Some(rule) = raw.as_object() else {
        return fail(
            "instance type does not match any allowed primitive type (allowed: [\"object\"])",
        );
    };
    require(rule, &["rulePriority", "selection", "action"])?;
    only(
        rule,
        &["rulePriority", "description", "selection", "action"],
    )?;
    let priority = rule_priority(rule)?;
    let description = rule_description(rule, priority)?;
    check_action(rule, priority)?;
    let Some(sel) = rule.get("selection").and_then(Value::as_object) else {
        return fail(format!("selection of rule {priority} must be an object"));
    };
    require(sel, &["tagStatus", "countType", "countNumber"])?;
    only(
        sel,
        &[
            "tagStatus",
            "tagPrefixList",
            "tagPatternList",
            "storageClass",
            "countType",
            "countUnit",
            "countNumber",
        ],
    )?;
    let tag_status = tag_status(sel)?;
    check_storage_class(sel, priority)?;
    let (tag_prefixes, tag_patterns) = tag_filters(sel, tag_status, priority)?;
    let count = count_rule(sel, priority)?;
    Ok(Rule {
        priority,
        description,
        tag_status,
        tag_prefixes,
        tag_patterns,
        count,
    })
}

/// `rulePriority`: an integer of at least 1.
fn rule_priority(rule: &Map<String, Value>) -> Result<i64, PolicyError> {
    match rule.get("rulePriority").and_then(Value::as_i64) {
        Some(p) if p >= 1 => Ok(p),
        _ => fail(format!(
            "rulePriority must be an integer of at least 1, found {}",
            rule.get("rulePriority").cloned().unwrap_or_default()
        )),
    }
}

/// `description`: absent, null or a string.
fn rule_description(
    rule: &Map<String, Value>,
    priority: i64,
) -> Result<Option<String>, PolicyError> {
    match rule.get("description") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => fail(format!("description of rule {priority} must be a string")),
    }
}

/// `action`: `{"type": "expire"}` (transitions to archive storage are not implemented).
fn check_action(rule: &Map<String, Value>, priority: i64) -> Result<(), PolicyError> {
    let Some(action) = rule.get("action").and_then(Value::as_object) else {
        return fail(format!("action of rule {priority} must be an object"));
    };
    require(action, &["type"])?;
    only(action, &["type", "targetStorageClass"])?;
    match action.get("type").and_then(Value::as_str) {
        Some("expire") => {}
        Some("transition") => {
            return fail(format!(
                "rule {priority}: action type transition (archive storage) is not supported by wharf; use expire"
            ))
        }
        other => {
            return fail(format!(
                "instance value ({}) not found in enum (possible values: [\"expire\"])",
                other.unwrap_or("null")
            ))
        }
    }
    if action.contains_key("targetStorageClass") {
        return fail(format!(
            "rule {priority}: targetStorageClass is only allowed with the transition action"
        ));
    }
    Ok(())
}

/// `selection.tagStatus`: tagged, untagged or any.
fn tag_status(sel: &Map<String, Value>) -> Result<TagStatus, PolicyError> {
    match sel.get("tagStatus").and_then(Value::as_str) {
        Some("tagged") => Ok(TagStatus::Tagged),
        Some("untagged") => Ok(TagStatus::Untagged),
        Some("any") => Ok(TagStatus::Any),
        other => fail(format!(
                "instance value ({}) not found in enum (possible values: [\"any\",\"tagged\",\"untagged\"])",
                other.unwrap_or("null")
            )),
    }
}

/// `selection.storageClass`: only `standard` (wharf has no archive storage).
fn check_storage_class(sel: &Map<String, Value>, priority: i64) -> Result<(), PolicyError> {
    match sel.get("storageClass").map(Value::as_str) {
        None | Some(Some("standard")) => Ok(()),
        Some(_) => fail(format!(
            "rule {priority}: only storageClass standard is supported by wharf (no archive storage)"
        )),
    }
}

/// `selection.tagPrefixList` / `tagPatternList`: one of them with `tagged`, neither otherwise,
/// at most 4 wildcards per pattern.
fn tag_filters(
    sel: &Map<String, Value>,
    tag_status: TagStatus,
    priority: i64,
) -> Result<(Vec<String>, Vec<String>), PolicyError> {
    let tag_prefixes = match sel.get("tagPrefixList") {
        Some(v) => string_list(v, "tagPrefixList", priority)?,
        None => vec![],
    };
    let tag_patterns = match sel.get("tagPatternList") {
        Some(v) => string_list(v, "tagPatternList", priority)?,
        None => vec![],
    };
    match tag_status {
        TagStatus::Tagged if tag_prefixes.is_empty() && tag_patterns.is_empty() => {
            return fail(format!(
                "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED (rule {priority})."
            ))
        }
        TagStatus::Tagged if !tag_prefixes.is_empty() && !tag_patterns.is_empty() => {
            return fail(format!(
                "rule {priority}: specify tagPrefixList or tagPatternList, not both"
            ))
        }
        TagStatus::Untagged | TagStatus::Any
            if !tag_prefixes.is_empty() || !tag_patterns.is_empty() =>
        {
            return fail(format!(
                "rule {priority}: tagPrefixList and tagPatternList are only allowed when tagStatus=TAGGED"
            ))
        }
        _ => {}
    }
    if let Some(p) = tag_patterns
        .iter()
        .find(|p| p.chars().filter(|c| *c == '*').count() > 4)
    {
        return fail(format!(
            "tagPatternList entry '{p}' of rule {priority} has more than the 4 wildcards allowed per pattern"
        ));
    }
    Ok((tag_prefixes, tag_patterns))
}

/// `selection.countNumber` with `countType` (and `countUnit` days for sinceImagePushed).
fn count_rule(sel: &Map<String, Value>, priority: i64) -> Result<CountRule, PolicyError> {
    let number = match sel.get("countNumber").and_then(Value::as_i64) {
        Some(n) if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX),
        _ => {
            return fail(format!(
                "numeric instance is lower than the required minimum (minimum: 1, found: {}) in countNumber of rule {priority}",
                sel.get("countNumber").cloned().unwrap_or_default()
            ))
        }
    };
    let unit = sel.get("countUnit");
    match sel.get("countType").and_then(Value::as_str) {
        Some("imageCountMoreThan") => {
            if unit.is_some() {
                return fail(format!(
                    "rule {priority}: countUnit must not be specified with countType imageCountMoreThan"
                ));
            }
            Ok(CountRule::ImageCountMoreThan(number))
        }
        Some("sinceImagePushed") => match unit.and_then(Value::as_str) {
            Some("days") => Ok(CountRule::SinceImagePushedDays(number)),
            Some(other) => {
                fail(format!(
                    "instance value ({other}) not found in enum (possible values: [\"days\"]) in countUnit of rule {priority}"
                ))
            }
            None => {
                fail(format!(
                    "rule {priority}: countUnit days is required with countType sinceImagePushed"
                ))
            }
        },
        Some(t @ ("sinceImagePulled" | "sinceImageTransitioned")) => {
            fail(format!(
                "rule {priority}: countType {t} needs archive storage, which wharf does not implement; use imageCountMoreThan or sinceImagePushed"
            ))
        }
        other => {
            fail(format!(
                "instance value ({}) not found in enum (possible values: [\"imageCountMoreThan\",\"sinceImagePushed\"]) in countType of rule {priority}",
                other.unwrap_or("null")
            ))
        }
    }
}

impl Rule {
    /// Whether the rule's tag selection picks `image`.
    pub fn selects(&self, image: &ImageFacts) -> bool {
        match self.tag_status {
            TagStatus::Any => true,
            TagStatus::Untagged => image.tags.is_empty(),
            TagStatus::Tagged => {
                !image.tags.is_empty()
                    && self
                        .tag_prefixes
                        .iter()
                        .all(|p| image.tags.iter().any(|t| t.starts_with(p.as_str())))
                    && self
                        .tag_patterns
                        .iter()
                        .all(|p| image.tags.iter().any(|t| wildcard_match(p, t)))
            }
        }
    }
}

/// The images `policy` expires among `images` at `now`, in rule order and, within a rule,
/// oldest first.
pub fn evaluate(
    policy: &LifecyclePolicy,
    images: &[ImageFacts],
    now: Timestamp,
) -> Vec<Expiration> {
    // Newest first; ties broken by digest so that the outcome never depends on input order.
    let mut sorted: Vec<&ImageFacts> = images.iter().collect();
    sorted.sort_by(|a, b| {
        b.pushed_at
            .cmp(&a.pushed_at)
            .then_with(|| a.digest.cmp(&b.digest))
    });
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for rule in &policy.rules {
        let selected: Vec<&ImageFacts> =
            sorted.iter().copied().filter(|i| rule.selects(i)).collect();
        let marked: Vec<&ImageFacts> = match rule.count {
            CountRule::ImageCountMoreThan(n) => selected
                .iter()
                .copied()
                .skip(usize::try_from(n).unwrap_or(usize::MAX))
                .collect(),
            CountRule::SinceImagePushedDays(days) => {
                let max_age = i64::from(days).saturating_mul(DAY_MS);
                selected
                    .iter()
                    .copied()
                    .filter(|i| now.millis.saturating_sub(i.pushed_at.millis) > max_age)
                    .collect()
            }
        };
        for image in marked.into_iter().rev() {
            if !seen.contains(image.digest.as_str()) {
                out.push(Expiration {
                    digest: image.digest.clone(),
                    rule_priority: rule.priority,
                });
            }
        }
        seen.extend(selected.iter().map(|i| i.digest.as_str()));
    }
    out
}

/// The images of a repository the lifecycle evaluator considers: all but those an index in the
/// same repository references (they are expired only with their index).
pub(crate) fn candidates(images: &[StoredImage]) -> Vec<ImageFacts> {
    let children: HashSet<&str> = images
        .iter()
        .flat_map(|i| i.children.iter().map(String::as_str))
        .collect();
    images
        .iter()
        .filter(|i| !children.contains(i.digest.as_str()))
        .map(|i| ImageFacts {
            digest: i.digest.clone(),
            tags: i.tags.clone(),
            pushed_at: i.pushed_at,
        })
        .collect()
}

impl Ecr {
    /// Applies every repository's lifecycle policy at `now`, deleting the images it expires
    /// (one store transaction per repository); returns how many images were expired. Their
    /// blobs are left for the registry's garbage collector.
    pub fn apply_lifecycle_policies(&self, now: Timestamp) -> Result<usize, StoreError> {
        let repos: Vec<(String, StoredRepo)> = self.store.read(|tx| tx.list(REPOS, ""))?;
        let mut expired = 0;
        for (key, repo) in repos {
            let Some(text) = repo.lifecycle_policy.as_deref() else {
                continue;
            };
            let policy = match parse_policy(text) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(repository = %key, error = %e, "skipping an unreadable lifecycle policy");
                    continue;
                }
            };
            let addr = repo.repo_ref();
            expired += self.store.write(|tx| {
                // Re-read inside the write: the policy or the images may have changed.
                let Some(mut current) = images::load_repo(tx, &addr)? else {
                    return Ok::<_, StoreError>(0);
                };
                if current.lifecycle_policy.as_deref() != Some(text) {
                    return Ok(0);
                }
                let all = images::list_images(tx, &addr)?;
                let plan = evaluate(&policy, &candidates(&all), now);
                for e in &plan {
                    if images::delete_image_tx(tx, &addr, &e.digest)?.is_some() {
                        tracing::info!(
                            repository = %addr.name,
                            account = %addr.account,
                            region = %addr.region,
                            digest = %e.digest,
                            rule = e.rule_priority,
                            "lifecycle policy expired an image"
                        );
                    }
                }
                current.lifecycle_evaluated_at = Some(now);
                tx.put(REPOS, &key, &current)?;
                Ok(plan.len())
            })?;
        }
        Ok(expired)
    }
}

/// ECR housekeeping task: every `every`, applies lifecycle policies and purges long-expired
/// registry tokens, until `shutdown` turns true (or its sender goes away). A step in progress
/// finishes before the loop returns. The first step runs at once.
pub async fn run_lifecycle_loop(
    ecr: Arc<Ecr>,
    every: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            break;
        }
        let e = ecr.clone();
        let step = tokio::task::spawn_blocking(move || {
            let now = e.clock.now();
            (e.apply_lifecycle_policies(now), e.purge_expired_tokens(now))
        })
        .await;
        match step {
            Ok((expired, purged)) => {
                match expired {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(expired = n, "lifecycle policies expired images"),
                    Err(e) => tracing::error!(error = %e, "lifecycle step failed"),
                }
                if let Err(e) = purged {
                    tracing::error!(error = %e, "purging expired registry tokens failed");
                }
            }
            Err(e) => tracing::error!(error = %e, "lifecycle step panicked"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn at_days_ago(days: i64) -> Timestamp {
        Timestamp::from_millis(NOW - days * DAY_MS)
    }

    fn img(name: &str, tags: &[&str], days_ago: i64) -> ImageFacts {
        ImageFacts {
            digest: name.to_string(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            pushed_at: at_days_ago(days_ago),
        }
    }

    fn expired(policy: &str, images: &[ImageFacts]) -> Vec<(String, i64)> {
        let p = parse_policy(policy).unwrap();
        let mut out: Vec<(String, i64)> = evaluate(&p, images, Timestamp::from_millis(NOW))
            .into_iter()
            .map(|e| (e.digest, e.rule_priority))
            .collect();
        out.sort();
        out
    }

    fn names(v: &[(String, i64)]) -> Vec<&str> {
        v.iter().map(|(d, _)| d.as_str()).collect()
    }

    /// The seeds' policy, verbatim.
    const KEEP_LAST_30: &str = r#"{
     "rules": [
       {
         "rulePriority": 1,
         "description": "Keep last 30 images (enough for rollbacks)",
         "selection": {
           "tagStatus": "any",
           "countType": "imageCountMoreThan",
           "countNumber": 30
         },
         "action": {
           "type": "expire"
         }
       }
     ]
   }"#;

    fn rule(priority: i64, selection: &str) -> String {
        format!(
            r#"{{"rulePriority": {priority}, "description": "Rule {priority}", "selection": {selection}, "action": {{"type": "expire"}}}}"#
        )
    }

    fn policy(rules: &[String]) -> String {
        format!(r#"{{"rules": [{}]}}"#, rules.join(","))
    }

    #[test]
    fn keep_last_30_expires_the_oldest_beyond_thirty() {
        // 35 images, one a day, mixed tagged (git SHAs and versions) and untagged.
        let images: Vec<ImageFacts> = (0..35)
            .map(|i| {
                let tags: Vec<String> = match i % 3 {
                    0 => vec![format!("v{i}")],
                    1 => vec![format!("{i:07x}"), "latest".into()],
                    _ => vec![],
                };
                ImageFacts {
                    digest: format!("img{i:02}"),
                    tags,
                    pushed_at: at_days_ago(i),
                }
            })
            .collect();
        let out = expired(KEEP_LAST_30, &images);
        assert_eq!(
            names(&out),
            vec!["img30", "img31", "img32", "img33", "img34"]
        );
        assert!(out.iter().all(|(_, p)| *p == 1));
        // Thirty or fewer: nothing expires.
        assert!(expired(KEEP_LAST_30, &images[..30]).is_empty());
    }

    #[test]
    fn aws_example_a_higher_priority_selection_protects() {
        let images = [
            img("A", &["beta-1", "prod-1"], 10),
            img("B", &["beta-2", "prod-2"], 9),
            img("C", &["beta-3"], 8),
        ];
        let p = policy(&[
            rule(
                1,
                r#"{"tagStatus": "tagged", "tagPrefixList": ["prod"], "countType": "imageCountMoreThan", "countNumber": 1}"#,
            ),
            rule(
                2,
                r#"{"tagStatus": "tagged", "tagPrefixList": ["beta"], "countType": "imageCountMoreThan", "countNumber": 1}"#,
            ),
        ]);
        assert_eq!(expired(&p, &images), vec![("A".to_string(), 1)]);
    }

    #[test]
    fn aws_example_b_reversed_priorities() {
        let images = [
            img("A", &["beta-1", "prod-1"], 10),
            img("B", &["beta-2", "prod-2"], 9),
            img("C", &["beta-3"], 8),
        ];
        let p = policy(&[
            rule(
                1,
                r#"{"tagStatus": "tagged", "tagPatternList": ["beta*"], "countType": "imageCountMoreThan", "countNumber": 1}"#,
            ),
            rule(
                2,
                r#"{"tagStatus": "tagged", "tagPatternList": ["prod*"], "countType": "imageCountMoreThan", "countNumber": 1}"#,
            ),
        ]);
        assert_eq!(
            expired(&p, &images),
            vec![("A".to_string(), 1), ("B".to_string(), 1)]
        );
    }

    #[test]
    fn multiple_patterns_in_one_rule_must_all_match() {
        let images = [
            img("A", &["alpha-1"], 12),
            img("B", &["beta-1"], 11),
            img("C", &["alpha-2", "beta-2"], 10),
            img("D", &["alpha-3"], 4),
            img("E", &["beta-3"], 3),
            img("F", &["alpha-4", "beta-4"], 2),
        ];
        let p = policy(&[rule(
            1,
            r#"{"tagStatus": "tagged", "tagPatternList": ["alpha*", "beta*"], "countType": "sinceImagePushed", "countNumber": 5, "countUnit": "days"}"#,
        )]);
        assert_eq!(names(&expired(&p, &images)), vec!["C"]);
    }

    #[test]
    fn aws_all_images_example_combines_tagged_untagged_and_any() {
        // Rule 3 still counts images earlier rules selected, but cannot expire them.
        let mut images = vec![
            img("A", &["alpha-1", "beta-1"], 4),
            img("B", &[], 3),
            img("C", &["alpha-2"], 2),
            img("D", &["git hash"], 1),
            img("E", &[], 1),
        ];
        images[4].pushed_at = images[4].pushed_at.plus_millis(1);
        let p = policy(&[
            rule(
                1,
                r#"{"tagStatus": "tagged", "tagPatternList": ["alpha*"], "countType": "imageCountMoreThan", "countNumber": 1}"#,
            ),
            rule(
                2,
                r#"{"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}"#,
            ),
            rule(
                3,
                r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}"#,
            ),
        ]);
        assert_eq!(
            expired(&p, &images),
            vec![
                ("A".to_string(), 1),
                ("B".to_string(), 2),
                ("D".to_string(), 3)
            ]
        );
    }

    #[test]
    fn untagged_rule_keeps_newest_and_tagged_images_are_untouched() {
        let images = [
            img("t1", &["v1"], 30),
            img("u1", &[], 20),
            img("u2", &[], 10),
            img("u3", &[], 5),
        ];
        let p = policy(&[rule(
            1,
            r#"{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}"#,
        )]);
        assert_eq!(names(&expired(&p, &images)), vec!["u1", "u2"]);
    }

    #[test]
    fn since_image_pushed_is_strictly_older_than_n_days() {
        let mut exactly = img("edge", &[], 14);
        exactly.pushed_at = at_days_ago(14);
        let images = [img("old", &[], 15), exactly, img("new", &[], 13)];
        let p = policy(&[rule(
            1,
            r#"{"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14}"#,
        )]);
        assert_eq!(names(&expired(&p, &images)), vec!["old"]);
    }

    #[test]
    fn prefixes_priorities_and_a_final_any_rule() {
        // prod: keep 2; untagged: expire after 7 days; everything else: keep 3 in total.
        let images = [
            img("p1", &["prod-1"], 50),
            img("p2", &["prod-2"], 40),
            img("p3", &["prod-3"], 30),
            img("u-old", &[], 20),
            img("u-new", &[], 1),
            img("d1", &["dev-1"], 15),
            img("d2", &["dev-2"], 3),
            img("d3", &["dev-3"], 2),
        ];
        let p = policy(&[
            rule(
                10,
                r#"{"tagStatus": "tagged", "tagPrefixList": ["prod"], "countType": "imageCountMoreThan", "countNumber": 2}"#,
            ),
            rule(
                20,
                r#"{"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7}"#,
            ),
            rule(
                30,
                r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 3}"#,
            ),
        ]);
        // The any rule keeps u-new, d3, d2 (newest three of all eight) and may expire only d1.
        assert_eq!(
            expired(&p, &images),
            vec![
                ("d1".to_string(), 30),
                ("p1".to_string(), 10),
                ("u-old".to_string(), 20)
            ]
        );
    }

    #[test]
    fn rule_order_comes_from_priority_not_position() {
        let images = [
            img("a", &["x-1"], 3),
            img("b", &["x-2"], 2),
            img("c", &[], 1),
        ];
        let p = policy(&[
            rule(
                9,
                r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}"#,
            ),
            rule(
                2,
                r#"{"tagStatus": "tagged", "tagPrefixList": ["x"], "countType": "imageCountMoreThan", "countNumber": 5}"#,
            ),
        ]);
        assert!(expired(&p, &images).is_empty());
        assert_eq!(parse_policy(&p).unwrap().rules[0].priority, 2);
    }

    fn refused(text: &str) -> String {
        match parse_policy(text) {
            Ok(p) => panic!("accepted {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn invalid_policies_are_refused_naming_the_problem() {
        let sel = |s: &str| policy(&[rule(1, s)]);
        let cases: Vec<(String, &str)> = vec![
            ("not json".into(), "Could not map policyString"),
            ("[]".into(), "Could not map policyString"),
            ("{}".into(), "missing required properties ([\"rules\"])"),
            (r#"{"rules": []}"#.into(), "at least 1"),
            (r#"{"rules": [], "x": 1}"#.into(), "not allowed by the schema: ([\"x\"])"),
            (r#"{"rules": [{"rulePriority": 1}]}"#.into(), "missing required properties ([\"selection\",\"action\"])"),
            (
                sel(r#"{"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1}"#),
                "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED",
            ),
            (
                sel(r#"{"tagStatus": "untagged", "tagPrefixList": ["a"], "countType": "imageCountMoreThan", "countNumber": 1}"#),
                "only allowed when tagStatus=TAGGED",
            ),
            (
                sel(r#"{"tagStatus": "tagged", "tagPrefixList": ["a"], "tagPatternList": ["b*"], "countType": "imageCountMoreThan", "countNumber": 1}"#),
                "not both",
            ),
            (
                sel(r#"{"tagStatus": "tagged", "tagPatternList": ["*a*b*c*d*e"], "countType": "imageCountMoreThan", "countNumber": 1}"#),
                "4 wildcards",
            ),
            (
                sel(r#"{"tagStatus": "sometimes", "countType": "imageCountMoreThan", "countNumber": 1}"#),
                "instance value (sometimes) not found in enum",
            ),
            (
                sel(r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 0}"#),
                "minimum: 1, found: 0",
            ),
            (
                sel(r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countUnit": "days", "countNumber": 3}"#),
                "countUnit must not be specified",
            ),
            (
                sel(r#"{"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 3}"#),
                "countUnit days is required",
            ),
            (
                sel(r#"{"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "hours", "countNumber": 3}"#),
                "instance value (hours)",
            ),
            (
                sel(r#"{"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 3}"#),
                "archive storage",
            ),
            (
                sel(r#"{"tagStatus": "any", "countType": "sometime", "countNumber": 3}"#),
                "instance value (sometime)",
            ),
            (
                sel(r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 3, "extra": true}"#),
                "not allowed by the schema: ([\"extra\"])",
            ),
            (
                policy(&[
                    rule(1, r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 3}"#),
                    rule(2, r#"{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 3}"#),
                ]),
                "Rule for tagStatus=ANY must have the lowest priority",
            ),
            (
                policy(&[
                    rule(1, r#"{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 3}"#),
                    rule(2, r#"{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5}"#),
                ]),
                "Only one rule can select Untagged images",
            ),
            (
                policy(&[
                    rule(3, r#"{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 3}"#),
                    rule(3, r#"{"tagStatus": "tagged", "tagPrefixList": ["a"], "countType": "imageCountMoreThan", "countNumber": 5}"#),
                ]),
                "rulePriority 3 is used by more than one rule",
            ),
            (
                policy(&[
                    rule(1, r#"{"tagStatus": "tagged", "tagPrefixList": ["a", "b"], "countType": "imageCountMoreThan", "countNumber": 3}"#),
                    rule(2, r#"{"tagStatus": "tagged", "tagPrefixList": ["b", "a"], "countType": "imageCountMoreThan", "countNumber": 5}"#),
                ]),
                "unique set of tag prefixes",
            ),
            (
                r#"{"rules": [{"rulePriority": 0, "selection": {}, "action": {"type": "expire"}}]}"#.into(),
                "rulePriority must be an integer of at least 1",
            ),
            (
                r#"{"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "delete"}}]}"#.into(),
                "instance value (delete) not found in enum",
            ),
        ];
        for (text, expected) in cases {
            let msg = refused(&text);
            assert!(
                msg.starts_with("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: "),
                "{msg}"
            );
            assert!(
                msg.contains(expected),
                "{text}\n=> {msg}\nwanted {expected}"
            );
        }
    }

    #[test]
    fn index_children_are_not_candidates() {
        let child = StoredImage {
            digest: "child".into(),
            media_type: "m".into(),
            manifest_size: 1,
            config_media_type: None,
            blobs: vec![],
            children: vec![],
            pushed_at: at_days_ago(5),
            tags: vec![],
            last_pull: None,
            scan: None,
        };
        let index = StoredImage {
            digest: "index".into(),
            children: vec!["child".into()],
            tags: vec!["v1".into()],
            ..child.clone()
        };
        let c = candidates(&[child, index]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].digest, "index");
    }
}
