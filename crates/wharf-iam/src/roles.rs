//! IAM roles: CreateRole, GetRole, DeleteRole and ListRoles, and the lookup other services use
//! to check a role they are handed (an ECS task's execution or task role).
//!
//! IAM is a global service, so roles are keyed by account only, never by region. Role names are
//! unique per account regardless of case (AWS refuses `ProdRole` when `prodrole` exists); see
//! [`crate::records`] for the key.

use crate::checks::{check_tags, load_role};
use crate::iam_generated::{
    CreateRoleRequest, CreateRoleResponse, Error, GetRoleResponse, ListRolesRequest,
    ListRolesResponse,
};
use crate::managed_policies;
use crate::paging::page;
use crate::policy_document;
use crate::records::{role_key, RoleRecord, RoleTag, ROLES};
use crate::Iam;
use wharf_core::ids::UPPER_ALNUM;
use wharf_core::RequestContext;
use wharf_store::{Store, StoreError};

/// `MaxSessionDuration` when the caller gives none (one hour).
const DEFAULT_MAX_SESSION_SECONDS: i32 = 3600;

/// The unique id (`AROA...`) of the role `role_arn` names in `account`, if it exists (path
/// included).
pub fn role_id(store: &Store, account: &str, role_arn: &str) -> Result<Option<String>, StoreError> {
    let Some(resource) = role_arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.strip_prefix(account))
        .and_then(|rest| rest.strip_prefix(":role/"))
    else {
        return Ok(None);
    };
    let name = resource.rsplit('/').next().unwrap_or(resource);
    if name.is_empty() {
        return Ok(None);
    }
    let role = store.read(|tx| tx.get(ROLES, &role_key(account, name)))?;
    Ok(role.filter(|r| r.arn == role_arn).map(|r| r.id))
}

/// Refuses a permissions boundary that is not a known AWS-managed policy.
fn check_boundary(boundary: Option<&str>) -> Result<(), Error> {
    let Some(boundary) = boundary else {
        return Ok(());
    };
    let policy = managed_policies::parse_arn(boundary);
    if policy
        .as_ref()
        .is_some_and(managed_policies::is_known_aws_managed)
    {
        Ok(())
    } else {
        Err(Error::NoSuchEntityException(format!(
            "Scope ARN: {boundary} does not exist or is not attachable."
        )))
    }
}

/// CreateRole.
pub fn create(
    iam: &Iam,
    ctx: &RequestContext,
    input: CreateRoleRequest,
) -> Result<CreateRoleResponse, Error> {
    policy_document::validate(&input.assume_role_policy_document)?;
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    check_boundary(input.permissions_boundary.as_deref())?;
    let path = input.path.unwrap_or_else(|| "/".into());
    let record = RoleRecord {
        arn: format!(
            "arn:aws:iam::{}:role{path}{}",
            ctx.account_id, input.role_name
        ),
        id: format!("AROA{}", iam.ids.chars(17, UPPER_ALNUM)),
        name: input.role_name,
        path,
        created: ctx.now,
        assume_role_policy: input.assume_role_policy_document,
        description: input.description.filter(|d| !d.is_empty()),
        max_session_duration: input
            .max_session_duration
            .unwrap_or(DEFAULT_MAX_SESSION_SECONDS),
        permissions_boundary: input.permissions_boundary,
        tags: tags.into_iter().map(RoleTag::from).collect(),
        attached_policies: Vec::new(),
    };
    iam.store.write(|tx| {
        if !tx.insert(ROLES, &role_key(&ctx.account_id, &record.name), &record)? {
            return Err(Error::EntityAlreadyExistsException(format!(
                "Role with name {} already exists.",
                record.name
            )));
        }
        Ok(())
    })?;
    tracing::info!(role = %record.arn, "created role");
    Ok(CreateRoleResponse {
        role: record.to_created(),
    })
}

/// GetRole.
pub fn get(iam: &Iam, ctx: &RequestContext, name: &str) -> Result<GetRoleResponse, Error> {
    let role = iam.store.read(|tx| load_role(tx, &ctx.account_id, name))?;
    Ok(GetRoleResponse {
        role: role.to_full(),
    })
}

/// DeleteRole: only a role without attached policies can go.
pub fn delete(iam: &Iam, ctx: &RequestContext, name: &str) -> Result<(), Error> {
    let arn = iam.store.write(|tx| {
        let role = load_role(tx, &ctx.account_id, name)?;
        if !role.attached_policies.is_empty() {
            return Err(Error::DeleteConflictException(
                "Cannot delete entity, must detach all policies first.".into(),
            ));
        }
        tx.delete(ROLES, &role_key(&ctx.account_id, &role.name))?;
        Ok(role.arn)
    })?;
    tracing::info!(role = %arn, "deleted role");
    Ok(())
}

/// ListRoles, filtered by `PathPrefix`, in key (lower-case name) order.
pub fn list(
    iam: &Iam,
    ctx: &RequestContext,
    input: ListRolesRequest,
) -> Result<ListRolesResponse, Error> {
    let prefix = input.path_prefix.unwrap_or_else(|| "/".into());
    let roles: Vec<(String, RoleRecord)> = iam
        .store
        .read(|tx| tx.list(ROLES, &format!("{}/", ctx.account_id)))?;
    let matching: Vec<(String, RoleRecord)> = roles
        .into_iter()
        .filter(|(_, role)| role.path.starts_with(&prefix))
        .collect();
    let (page, marker) = page(
        matching,
        |(key, _)| key.clone(),
        input.marker.as_deref(),
        input.max_items,
    )?;
    Ok(ListRolesResponse {
        roles: page.iter().map(|(_, role)| role.to_listed()).collect(),
        is_truncated: Some(marker.is_some()),
        marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam_generated::{
        CreateRoleRequest, DeleteRoleRequest, GetRoleRequest, IamApi, ListRolesRequest, Tag,
    };
    use crate::tests::{create, setup, ACCOUNT, TRUST};

    #[test]
    fn create_role_fills_in_aws_defaults() {
        let (_dir, iam, ctx) = setup();
        let role = create(&iam, &ctx, "ecsTaskExecutionRole");
        assert_eq!(role.path, "/");
        assert_eq!(
            role.arn,
            "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
        );
        assert!(role.role_id.starts_with("AROA") && role.role_id.len() == 21);
        assert_eq!(role.create_date, ctx.now);
        assert_eq!(
            role.assume_role_policy_document,
            Some(policy_document::encode(TRUST))
        );

        let got = iam
            .get_role(
                &ctx,
                GetRoleRequest {
                    role_name: "ecsTaskExecutionRole".into(),
                },
            )
            .unwrap()
            .role;
        assert_eq!(got.role_id, role.role_id);
        assert_eq!(got.max_session_duration, Some(3600));
        assert!(got.role_last_used.is_some());
    }

    #[test]
    fn create_role_with_path_description_and_tags() {
        let (_dir, iam, ctx) = setup();
        let role = iam
            .create_role(
                &ctx,
                CreateRoleRequest {
                    role_name: "app".into(),
                    path: Some("/team/".into()),
                    assume_role_policy_document: TRUST.into(),
                    description: Some("runs the app".into()),
                    max_session_duration: Some(7200),
                    tags: Some(vec![Tag {
                        key: "env".into(),
                        value: "prod".into(),
                    }]),
                    ..Default::default()
                },
            )
            .unwrap()
            .role;
        assert_eq!(role.arn, "arn:aws:iam::123456789012:role/team/app");
        assert_eq!(role.description.as_deref(), Some("runs the app"));
        let got = iam
            .get_role(
                &ctx,
                GetRoleRequest {
                    role_name: "app".into(),
                },
            )
            .unwrap()
            .role;
        assert_eq!(got.max_session_duration, Some(7200));
        assert_eq!(got.tags.unwrap()[0].value, "prod");
        assert!(iam
            .role_exists(ACCOUNT, "arn:aws:iam::123456789012:role/team/app")
            .unwrap());
        assert!(!iam
            .role_exists(ACCOUNT, "arn:aws:iam::123456789012:role/app")
            .unwrap());
        assert!(!iam
            .role_exists("210987654321", "arn:aws:iam::123456789012:role/team/app")
            .unwrap());
        assert!(!iam.role_exists(ACCOUNT, "not-an-arn").unwrap());
    }

    #[test]
    fn duplicate_role_names_are_refused_whatever_the_case() {
        let (_dir, iam, ctx) = setup();
        create(&iam, &ctx, "ecsTaskExecutionRole");
        for name in ["ecsTaskExecutionRole", "ECSTASKEXECUTIONROLE"] {
            let err = iam
                .create_role(
                    &ctx,
                    CreateRoleRequest {
                        role_name: name.into(),
                        assume_role_policy_document: TRUST.into(),
                        ..Default::default()
                    },
                )
                .unwrap_err();
            assert_eq!(
                err,
                Error::EntityAlreadyExistsException(format!(
                    "Role with name {name} already exists."
                ))
            );
        }
    }

    #[test]
    fn malformed_trust_policy_and_duplicate_tags_are_refused() {
        let (_dir, iam, ctx) = setup();
        let err = iam
            .create_role(
                &ctx,
                CreateRoleRequest {
                    role_name: "r".into(),
                    assume_role_policy_document: "{not json".into(),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(matches!(err, Error::MalformedPolicyDocumentException(_)));
        let err = iam
            .create_role(
                &ctx,
                CreateRoleRequest {
                    role_name: "r".into(),
                    assume_role_policy_document: TRUST.into(),
                    tags: Some(vec![
                        Tag {
                            key: "a".into(),
                            value: "1".into(),
                        },
                        Tag {
                            key: "A".into(),
                            value: "2".into(),
                        },
                    ]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInputException(_)));
        assert!(iam
            .get_role(
                &ctx,
                GetRoleRequest {
                    role_name: "r".into()
                }
            )
            .is_err());
    }

    #[test]
    fn get_and_delete_unknown_role() {
        let (_dir, iam, ctx) = setup();
        let missing =
            Error::NoSuchEntityException("The role with name nope cannot be found.".into());
        assert_eq!(
            iam.get_role(
                &ctx,
                GetRoleRequest {
                    role_name: "nope".into()
                }
            )
            .unwrap_err(),
            missing
        );
        assert_eq!(
            iam.delete_role(
                &ctx,
                DeleteRoleRequest {
                    role_name: "nope".into()
                }
            )
            .unwrap_err(),
            missing
        );
    }

    #[test]
    fn list_roles_filters_by_path_and_paginates() {
        let (_dir, iam, ctx) = setup();
        for name in ["a", "b", "c", "d", "e"] {
            create(&iam, &ctx, name);
        }
        iam.create_role(
            &ctx,
            CreateRoleRequest {
                role_name: "svc".into(),
                path: Some("/service-role/".into()),
                assume_role_policy_document: TRUST.into(),
                ..Default::default()
            },
        )
        .unwrap();

        let mut seen = Vec::new();
        let mut marker = None;
        loop {
            let page = iam
                .list_roles(
                    &ctx,
                    ListRolesRequest {
                        marker: marker.clone(),
                        max_items: Some(2),
                        ..Default::default()
                    },
                )
                .unwrap();
            assert!(page.roles.len() <= 2);
            assert_eq!(page.is_truncated, Some(page.marker.is_some()));
            seen.extend(page.roles.into_iter().map(|r| r.role_name));
            match page.marker {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        assert_eq!(seen, ["a", "b", "c", "d", "e", "svc"]);

        let svc = iam
            .list_roles(
                &ctx,
                ListRolesRequest {
                    path_prefix: Some("/service-role/".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(svc.roles.len(), 1);
        assert!(svc.roles[0].tags.is_none() && svc.roles[0].max_session_duration == Some(3600));

        let other_account = RequestContext::for_tests("eu-west-1", "210987654321", ctx.now);
        assert!(iam
            .list_roles(&other_account, ListRolesRequest::default())
            .unwrap()
            .roles
            .is_empty());
        assert!(iam
            .list_roles(
                &ctx,
                ListRolesRequest {
                    marker: Some("bogus!".into()),
                    ..Default::default()
                }
            )
            .is_err());
    }

    #[test]
    fn iam_is_global_across_regions() {
        let (_dir, iam, ctx) = setup();
        create(&iam, &ctx, "exec");
        let elsewhere = RequestContext::for_tests("ap-southeast-2", ACCOUNT, ctx.now);
        assert!(iam
            .get_role(
                &elsewhere,
                GetRoleRequest {
                    role_name: "exec".into()
                }
            )
            .is_ok());
    }
}
