//! IAM roles and their attached managed policies: the `IamApi` operations and the small Rust API
//! other services use to check a role they are handed (an ECS task's execution role).
//!
//! IAM is a global service, so records are keyed by account only, never by region. Role names are
//! unique per account regardless of case (AWS refuses `ProdRole` when `prodrole` exists), so the
//! key is the lower-cased name and the record keeps the name as written. The attached policy ARNs
//! live inside the role record, which makes attach, detach and the "detach before delete" rule
//! single-record updates.

use crate::iam_generated::{
    AttachRolePolicyRequest, AttachedPolicy, CreateRoleRequest, CreateRoleResponse,
    DeleteRoleRequest, DetachRolePolicyRequest, Error, GetRoleRequest, GetRoleResponse, IamApi,
    ListAttachedRolePoliciesRequest, ListAttachedRolePoliciesResponse, ListRolesRequest,
    ListRolesResponse, Tag,
};
use crate::managed_policies::{self, PolicyRef};
use crate::policy_document;
use crate::records::{role_key, RoleRecord, RoleTag, ROLES};
use std::sync::Arc;
use wharf_core::ids::UPPER_ALNUM;
use wharf_core::pagination::paginate;
use wharf_core::{IdGen, RequestContext};
use wharf_store::{Store, StoreError, Tx};

/// `MaxSessionDuration` when the caller gives none (one hour).
const DEFAULT_MAX_SESSION_SECONDS: i32 = 3600;
/// `MaxItems` when the caller gives none, as IAM does.
const DEFAULT_MAX_ITEMS: usize = 100;

/// The IAM service: roles and managed-policy attachments.
pub struct Iam {
    store: Arc<Store>,
    ids: Arc<dyn IdGen>,
}

fn no_such_role(name: &str) -> Error {
    Error::NoSuchEntityException(format!("The role with name {name} cannot be found."))
}

fn load_role(tx: &Tx<'_>, account: &str, name: &str) -> Result<RoleRecord, Error> {
    tx.get::<RoleRecord>(ROLES, &role_key(account, name))?
        .ok_or_else(|| no_such_role(name))
}

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

fn check_tags(tags: &[Tag]) -> Result<(), Error> {
    let mut keys: Vec<String> = tags.iter().map(|t| t.key.to_lowercase()).collect();
    keys.sort();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::InvalidInputException(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
        ));
    }
    if tags
        .iter()
        .any(|t| t.key.to_lowercase().starts_with("aws:"))
    {
        return Err(Error::InvalidInputException(
            "User-defined tag keys can't start with 'aws:'. This prefix is reserved for AWS tags."
                .into(),
        ));
    }
    Ok(())
}

fn page_size(max_items: Option<i32>) -> usize {
    max_items
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_ITEMS)
}

fn invalid_marker() -> Error {
    Error::InvalidInputException("Invalid value for parameter Marker.".into())
}

impl Iam {
    /// IAM over `store`, making role ids with `ids`.
    pub fn new(store: Arc<Store>, ids: Arc<dyn IdGen>) -> Self {
        Self { store, ids }
    }

    /// Whether `role_arn` names a role that exists in `account` (path included).
    pub fn role_exists(&self, account: &str, role_arn: &str) -> Result<bool, StoreError> {
        Ok(self.role_id(account, role_arn)?.is_some())
    }

    /// The unique id (`AROA...`) of the role `role_arn` names in `account`, if it exists.
    pub fn role_id(&self, account: &str, role_arn: &str) -> Result<Option<String>, StoreError> {
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
        let role: Option<RoleRecord> = self
            .store
            .read(|tx| tx.get(ROLES, &role_key(account, name)))?;
        Ok(role.filter(|r| r.arn == role_arn).map(|r| r.id))
    }
}

impl IamApi for Iam {
    fn create_role(
        &self,
        ctx: &RequestContext,
        input: CreateRoleRequest,
    ) -> Result<CreateRoleResponse, Error> {
        policy_document::validate(&input.assume_role_policy_document)?;
        let tags = input.tags.unwrap_or_default();
        check_tags(&tags)?;
        if let Some(boundary) = &input.permissions_boundary {
            let policy = managed_policies::parse_arn(boundary);
            if !policy
                .as_ref()
                .is_some_and(managed_policies::is_known_aws_managed)
            {
                return Err(Error::NoSuchEntityException(format!(
                    "Scope ARN: {boundary} does not exist or is not attachable."
                )));
            }
        }
        let path = input.path.unwrap_or_else(|| "/".into());
        let record = RoleRecord {
            arn: format!(
                "arn:aws:iam::{}:role{path}{}",
                ctx.account_id, input.role_name
            ),
            id: format!("AROA{}", self.ids.chars(17, UPPER_ALNUM)),
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
        self.store.write(|tx| {
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

    fn get_role(
        &self,
        ctx: &RequestContext,
        input: GetRoleRequest,
    ) -> Result<GetRoleResponse, Error> {
        let role = self
            .store
            .read(|tx| load_role(tx, &ctx.account_id, &input.role_name))?;
        Ok(GetRoleResponse {
            role: role.to_full(),
        })
    }

    fn delete_role(&self, ctx: &RequestContext, input: DeleteRoleRequest) -> Result<(), Error> {
        let arn = self.store.write(|tx| {
            let role = load_role(tx, &ctx.account_id, &input.role_name)?;
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

    fn list_roles(
        &self,
        ctx: &RequestContext,
        input: ListRolesRequest,
    ) -> Result<ListRolesResponse, Error> {
        let prefix = input.path_prefix.unwrap_or_else(|| "/".into());
        let roles: Vec<(String, RoleRecord)> = self
            .store
            .read(|tx| tx.list(ROLES, &format!("{}/", ctx.account_id)))?;
        let matching: Vec<(String, RoleRecord)> = roles
            .into_iter()
            .filter(|(_, role)| role.path.starts_with(&prefix))
            .collect();
        let (page, marker) = paginate(
            matching,
            |(key, _)| key.clone(),
            input.marker.as_deref(),
            page_size(input.max_items),
        )
        .map_err(|_| invalid_marker())?;
        Ok(ListRolesResponse {
            roles: page.iter().map(|(_, role)| role.to_listed()).collect(),
            is_truncated: Some(marker.is_some()),
            marker,
        })
    }

    fn attach_role_policy(
        &self,
        ctx: &RequestContext,
        input: AttachRolePolicyRequest,
    ) -> Result<(), Error> {
        self.store.write(|tx| {
            let mut role = load_role(tx, &ctx.account_id, &input.role_name)?;
            attachable_policy(&input.policy_arn)?;
            if role.attached_policies.contains(&input.policy_arn) {
                return Ok(());
            }
            role.attached_policies.push(input.policy_arn.clone());
            tx.put(ROLES, &role_key(&ctx.account_id, &role.name), &role)?;
            Ok(())
        })
    }

    fn detach_role_policy(
        &self,
        ctx: &RequestContext,
        input: DetachRolePolicyRequest,
    ) -> Result<(), Error> {
        self.store.write(|tx| {
            let mut role = load_role(tx, &ctx.account_id, &input.role_name)?;
            let before = role.attached_policies.len();
            role.attached_policies
                .retain(|arn| *arn != input.policy_arn);
            if role.attached_policies.len() == before {
                return Err(Error::NoSuchEntityException(format!(
                    "Policy {} was not found.",
                    input.policy_arn
                )));
            }
            tx.put(ROLES, &role_key(&ctx.account_id, &role.name), &role)?;
            Ok(())
        })
    }

    fn list_attached_role_policies(
        &self,
        ctx: &RequestContext,
        input: ListAttachedRolePoliciesRequest,
    ) -> Result<ListAttachedRolePoliciesResponse, Error> {
        let role = self
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
        let (page, marker) = paginate(
            attached,
            |(arn, _)| arn.clone(),
            input.marker.as_deref(),
            page_size(input.max_items),
        )
        .map_err(|_| invalid_marker())?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam_generated::Role;
    use wharf_core::ids::RandomIds;
    use wharf_core::Timestamp;

    const ACCOUNT: &str = "123456789012";
    const TRUST: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
  ]
}"#;
    const EXEC_POLICY: &str =
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

    fn setup() -> (tempfile::TempDir, Iam, RequestContext) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("state.db")).unwrap());
        let iam = Iam::new(store, Arc::new(RandomIds));
        let ctx = RequestContext::for_tests(
            "us-east-1",
            ACCOUNT,
            Timestamp::from_millis(1_700_000_000_000),
        );
        (dir, iam, ctx)
    }

    fn create(iam: &Iam, ctx: &RequestContext, name: &str) -> Role {
        iam.create_role(
            ctx,
            CreateRoleRequest {
                role_name: name.into(),
                assume_role_policy_document: TRUST.into(),
                ..Default::default()
            },
        )
        .unwrap()
        .role
    }

    fn attach(iam: &Iam, ctx: &RequestContext, role: &str, arn: &str) -> Result<(), Error> {
        iam.attach_role_policy(
            ctx,
            AttachRolePolicyRequest {
                role_name: role.into(),
                policy_arn: arn.into(),
            },
        )
    }

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
