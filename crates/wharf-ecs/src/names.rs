//! ECS names and ARNs, and the parsing of the ways users refer to resources (`name`, full
//! ARN, `family`, `family:revision`). Store keys are in `records`.

use wharf_core::{Arn, RequestContext};

/// `arn:aws:ecs:<region>:<account>:<resource>`.
pub fn arn(ctx: &RequestContext, resource: &str) -> String {
    Arn::new("ecs", &ctx.region, &ctx.account_id, resource).to_string()
}

/// The cluster name in `name` or a cluster ARN; `default` when absent.
pub fn cluster_name(reference: Option<&str>) -> String {
    match reference.map(str::trim).filter(|r| !r.is_empty()) {
        None => "default".to_string(),
        Some(r) => match Arn::parse(r) {
            Some(a) => a.resource_type_and_id().1.to_string(),
            None => r.to_string(),
        },
    }
}

/// The service name in `name` or a service ARN (`service/cluster/name` or the old
/// `service/name`).
pub fn service_name(reference: &str) -> String {
    last_segment(reference)
}

/// The id in a bare id or in an ARN whose resource ends with it (`task/cluster/id`,
/// `service/cluster/name`).
pub fn last_segment(reference: &str) -> String {
    match Arn::parse(reference) {
        Some(a) => a
            .resource
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        None => reference.to_string(),
    }
}

/// A task definition reference: a family (latest ACTIVE revision) or a family and revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDefRef {
    /// The family.
    pub family: String,
    /// The revision, when one was named.
    pub revision: Option<i32>,
}

/// Parses `family`, `family:rev` or a task definition ARN.
pub fn task_def_ref(reference: &str) -> Option<TaskDefRef> {
    let body = match Arn::parse(reference) {
        Some(a) => {
            let (kind, rest) = a.resource_type_and_id();
            if kind != "task-definition" || a.service != "ecs" {
                return None;
            }
            rest.to_string()
        }
        None => reference.to_string(),
    };
    let (family, revision) = match body.rsplit_once(':') {
        Some((f, r)) => (
            f.to_string(),
            Some(r.parse::<i32>().ok().filter(|n| *n > 0)?),
        ),
        None => (body, None),
    };
    if family.is_empty() {
        return None;
    }
    Some(TaskDefRef { family, revision })
}

/// `arn:...:task-definition/family:rev`.
pub fn task_def_arn(ctx: &RequestContext, family: &str, revision: i32) -> String {
    arn(ctx, &format!("task-definition/{family}:{revision}"))
}

/// Whether `name` is a valid cluster, service or family name: up to 255 letters, numbers,
/// hyphens and underscores.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_task_definition_references() {
        assert_eq!(
            task_def_ref("web"),
            Some(TaskDefRef {
                family: "web".into(),
                revision: None
            })
        );
        assert_eq!(
            task_def_ref("web:3"),
            Some(TaskDefRef {
                family: "web".into(),
                revision: Some(3)
            })
        );
        assert_eq!(
            task_def_ref("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"),
            Some(TaskDefRef {
                family: "web".into(),
                revision: Some(7)
            })
        );
        assert_eq!(task_def_ref("web:x"), None);
        assert_eq!(task_def_ref("web:0"), None);
        assert_eq!(task_def_ref("arn:aws:ecs:us-east-1:1:cluster/web"), None);
    }

    #[test]
    fn resolves_cluster_and_service_names() {
        assert_eq!(cluster_name(None), "default");
        assert_eq!(
            cluster_name(Some("arn:aws:ecs:us-east-1:1:cluster/prod")),
            "prod"
        );
        assert_eq!(
            service_name("arn:aws:ecs:us-east-1:1:service/prod/api"),
            "api"
        );
        assert_eq!(service_name("api"), "api");
        assert!(valid_name("blog-api_2"));
        assert!(!valid_name("blog api"));
    }
}
