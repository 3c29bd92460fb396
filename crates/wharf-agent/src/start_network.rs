//! What a task must reach before its containers start (registry auth, secrets, images, log
//! streams), read from its task definition, and the wait Fargate's retries take before a task
//! that cannot reach one of them stops. The decision itself is
//! [`wharf_core::subnet_network::first_unreachable`]'s.

use std::sync::Arc;
use wharf_core::{ImageResolver, StartNeeds};
use wharf_ecs::records::TaskRecord;

/// What `rec`'s containers need to reach while the task starts. Image references are resolved
/// against wharf's registry (`images`): what it knows is ECR, the rest comes from the internet.
pub fn start_needs(rec: &TaskRecord, images: &Arc<dyn ImageResolver>) -> StartNeeds {
    let mut needs = StartNeeds::default();
    for def in rec.definition.container_definitions.iter().flatten() {
        if let Some(image) = def.image.as_deref() {
            let in_ecr = images.resolve(image).is_some();
            let slot = if in_ecr {
                &mut needs.ecr_image
            } else {
                &mut needs.public_image
            };
            if slot.is_none() {
                *slot = Some(image.to_string());
            }
        }
        for secret in def.secrets.iter().flatten() {
            if is_ssm_parameter(&secret.value_from) {
                needs.ssm = true;
            } else {
                needs.secrets_manager = true;
            }
        }
        if def
            .log_configuration
            .as_ref()
            .is_some_and(|c| c.log_driver == "awslogs")
        {
            needs.logs = true;
        }
    }
    needs
}

/// Whether a secret's `valueFrom` names an SSM parameter (an `arn:aws:ssm:` ARN or a bare
/// parameter name) rather than a Secrets Manager secret.
fn is_ssm_parameter(value_from: &str) -> bool {
    let parts: Vec<&str> = value_from.splitn(4, ':').collect();
    match parts.as_slice() {
        ["arn", _, service, _] => *service == "ssm",
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_told_apart_by_their_arn() {
        assert!(is_ssm_parameter(
            "arn:aws:ssm:us-east-1:123456789012:parameter/blog/db-host"
        ));
        assert!(is_ssm_parameter("/blog/db-host"));
        assert!(is_ssm_parameter("db-host"));
        assert!(!is_ssm_parameter(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:blog/db-AbCdEf"
        ));
    }
}
