//! A role's attached managed policies: AttachRolePolicy, DetachRolePolicy and
//! ListAttachedRolePolicies.
//!
//! The attached policy ARNs live inside the role's record, in attach order, so each operation is
//! one record read or update. Only the AWS-managed catalogue of [`crate::managed_policies`] can
//! be attached until wharf implements CreatePolicy.

use crate::checks::load_role;
use crate::iam_generated::{
    AttachedPolicy, Error, ListAttachedRolePoliciesRequest, ListAttachedRolePoliciesResponse,
};
use crate::managed_policies::{self, PolicyRef};
use crate::paging::page;
use crate::records::{role_key, ROLES};
use crate::Iam;
use wharf_core::RequestContext;

/// Resolves a managed policy ARN the caller wants to attach, as IAM does: a malformed ARN is
/// invalid input, an unknown policy does not exist.
fn attachable_policy(arn: &str) -> Result<PolicyRef, Error> {
    let policy = managed_policies::parse_arn(arn)
        .ok_or_else(|| Error::InvalidInputException(format!("ARN {arn} is not valid.")))?;
    // Customer-managed policies need CreatePolicy, which wharf does not implement yet, so only
    // the AWS-managed catalogue can be attached.
    if managed_policies::is_known_aws_managed(&policy) {
        Ok(policy)
    } else {
        Err(Error::NoSuchEntityException(format!(
            "Policy {arn} does not exist or is not attachable."
        )))
    }
}

/// AttachRolePolicy; attaching a policy again changes nothing.
pub fn attach(
    iam: &Iam,
    ctx: &RequestContext,
    role_name: &str,
    policy_arn: &str,
) -> Result<(), Error> {
    iam.store.write(|tx| {
        let mut role = load_role(tx, &ctx.account_id, role_name)?;
        attachable_policy(policy_arn)?;
        if role.attached_policies.iter().any(|arn| arn == policy_arn) {
            return Ok(());
        }
        role.attached_policies.push(policy_arn.to_string());
        tx.put(ROLES, &role_key(&ctx.account_id, &role.name), &role)?;
        Ok(())
    })
}

/// DetachRolePolicy.
pub fn detach(
    iam: &Iam,
    ctx: &RequestContext,
    role_name: &str,
    policy_arn: &str,
) -> Result<(), Error> {
    iam.store.write(|tx| {
        let mut role = load_role(tx, &ctx.account_id, role_name)?;
        let before = role.attached_policies.len();
        role.attached_policies.retain(|arn| arn != policy_arn);
        if role.attached_policies.len() == before {
            return Err(Error::NoSuchEntityException(format!(
                "Policy {policy_arn} was not found."
            )));
        }
        tx.put(ROLES, &role_key(&ctx.account_id, &role.name), &role)?;
        Ok(())
    })
}

/// ListAttachedRolePolicies, filtered by `PathPrefix`, in ARN order.
pub fn list(
    iam: &Iam,
    ctx: &RequestContext,
    input: ListAttachedRolePoliciesRequest,
) -> Result<ListAttachedRolePoliciesResponse, Error> {
    let role = iam
        .store
        .read(|tx| load_role(tx, &ctx.account_id, &input.role_name))?;
    let prefix = input.path_prefix.unwrap_or_else(|| "/".into());
    let mut attached: Vec<(String, PolicyRef)> = role
        .attached_policies
        .into_iter()
        .filter_map(|arn| managed_policies::parse_arn(&arn).map(|p| (arn, p)))
        .filter(|(_, policy)| policy.path.starts_with(&prefix))
        .collect();
    attached.sort_by(|a, b| a.0.cmp(&b.0));
    let (page, marker) = page(
        attached,
        |(arn, _)| arn.clone(),
        input.marker.as_deref(),
        input.max_items,
    )?;
    Ok(ListAttachedRolePoliciesResponse {
        attached_policies: Some(
            page.into_iter()
                .map(|(arn, policy)| AttachedPolicy {
                    policy_name: Some(policy.name),
                    policy_arn: Some(arn),
                })
                .collect(),
        ),
        is_truncated: Some(marker.is_some()),
        marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam_generated::{
        AttachRolePolicyRequest, DeleteRoleRequest, DetachRolePolicyRequest, GetRoleRequest, IamApi,
    };
    use crate::tests::{create, setup};

    const EXEC_POLICY: &str =
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

    fn attach(iam: &crate::Iam, ctx: &RequestContext, role: &str, arn: &str) -> Result<(), Error> {
        iam.attach_role_policy(
            ctx,
            AttachRolePolicyRequest {
                role_name: role.into(),
                policy_arn: arn.into(),
            },
        )
    }

    #[test]
    fn attach_detach_and_delete_lifecycle() {
        let (_dir, iam, ctx) = setup();
        create(&iam, &ctx, "exec");
        attach(&iam, &ctx, "exec", EXEC_POLICY).unwrap();
        attach(&iam, &ctx, "exec", EXEC_POLICY).unwrap(); // idempotent
        attach(
            &iam,
            &ctx,
            "exec",
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        )
        .unwrap();

        let listed = iam
            .list_attached_role_policies(
                &ctx,
                ListAttachedRolePoliciesRequest {
                    role_name: "exec".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let names: Vec<_> = listed
            .attached_policies
            .unwrap()
            .into_iter()
            .map(|p| p.policy_name.unwrap())
            .collect();
        assert_eq!(
            names,
            ["AmazonS3ReadOnlyAccess", "AmazonECSTaskExecutionRolePolicy"]
        );
        assert_eq!(listed.is_truncated, Some(false));

        let only_service_role = iam
            .list_attached_role_policies(
                &ctx,
                ListAttachedRolePoliciesRequest {
                    role_name: "exec".into(),
                    path_prefix: Some("/service-role/".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(only_service_role.attached_policies.unwrap().len(), 1);

        let err = iam
            .delete_role(
                &ctx,
                DeleteRoleRequest {
                    role_name: "exec".into(),
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::DeleteConflictException(
                "Cannot delete entity, must detach all policies first.".into()
            )
        );

        for arn in [
            EXEC_POLICY,
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        ] {
            iam.detach_role_policy(
                &ctx,
                DetachRolePolicyRequest {
                    role_name: "exec".into(),
                    policy_arn: arn.into(),
                },
            )
            .unwrap();
        }
        let err = iam
            .detach_role_policy(
                &ctx,
                DetachRolePolicyRequest {
                    role_name: "exec".into(),
                    policy_arn: EXEC_POLICY.into(),
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::NoSuchEntityException(format!("Policy {EXEC_POLICY} was not found."))
        );

        iam.delete_role(
            &ctx,
            DeleteRoleRequest {
                role_name: "exec".into(),
            },
        )
        .unwrap();
        assert!(iam
            .get_role(
                &ctx,
                GetRoleRequest {
                    role_name: "exec".into()
                }
            )
            .is_err());
    }

    #[test]
    fn unknown_or_malformed_policies_cannot_be_attached() {
        let (_dir, iam, ctx) = setup();
        create(&iam, &ctx, "exec");
        let unknown = "arn:aws:iam::aws:policy/NoSuchPolicy";
        assert_eq!(
            attach(&iam, &ctx, "exec", unknown).unwrap_err(),
            Error::NoSuchEntityException(format!(
                "Policy {unknown} does not exist or is not attachable."
            ))
        );
        let customer = "arn:aws:iam::123456789012:policy/Mine";
        assert!(matches!(
            attach(&iam, &ctx, "exec", customer),
            Err(Error::NoSuchEntityException(_))
        ));
        assert!(matches!(
            attach(&iam, &ctx, "exec", "AmazonS3ReadOnlyAccess"),
            Err(Error::InvalidInputException(_))
        ));
        assert!(matches!(
            attach(&iam, &ctx, "ghost", EXEC_POLICY),
            Err(Error::NoSuchEntityException(_))
        ));
    }
}
