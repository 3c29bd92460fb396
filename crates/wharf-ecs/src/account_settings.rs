//! ECS account settings: PutAccountSetting, PutAccountSettingDefault, ListAccountSettings,
//! DeleteAccountSetting. A setting is set for one principal (a user or role), or for the root
//! user, which is the account's default; the effective value for a principal is its own, else
//! the account default, else AWS's. The long ARN formats can no longer be disabled (as on AWS,
//! wharf has only the long format); `containerInsights` is what a new cluster gets when it names
//! no setting of its own.

use crate::errors::invalid;
use crate::generated::*;
use crate::records::{AccountSettingRecord, ACCOUNT_SETTINGS};
use crate::Ecs;
use wharf_core::pagination::paginate;
use wharf_core::RequestContext;
use wharf_store::{StoreError, Tx};

/// One setting ECS knows: its values and AWS's default.
struct Known {
    name: &'static str,
    values: &'static [&'static str],
    default: &'static str,
}

/// Every account setting, in the order ListAccountSettings shows them.
const KNOWN: &[Known] = &[
    Known {
        name: "serviceLongArnFormat",
        values: &["enabled"],
        default: "enabled",
    },
    Known {
        name: "taskLongArnFormat",
        values: &["enabled"],
        default: "enabled",
    },
    Known {
        name: "containerInstanceLongArnFormat",
        values: &["enabled"],
        default: "enabled",
    },
    Known {
        name: "awsvpcTrunking",
        values: &["enabled", "disabled"],
        default: "disabled",
    },
    Known {
        name: "containerInsights",
        values: &["enabled", "disabled", "enhanced"],
        default: "disabled",
    },
    Known {
        name: "fargateFIPSMode",
        values: &["enabled", "disabled"],
        default: "disabled",
    },
    Known {
        name: "tagResourceAuthorization",
        values: &["on", "off"],
        default: "on",
    },
    Known {
        name: "fargateTaskRetirementWaitPeriod",
        values: &["0", "7", "14"],
        default: "7",
    },
    Known {
        name: "guardDutyActivate",
        values: &[],
        default: "off",
    },
    Known {
        name: "defaultLogDriverMode",
        values: &["blocking", "non-blocking"],
        default: "non-blocking",
    },
    Known {
        name: "fargateEventWindows",
        values: &["enabled", "disabled"],
        default: "disabled",
    },
];

fn known(name: &str) -> Result<&'static Known, Error> {
    KNOWN
        .iter()
        .find(|k| k.name == name)
        .ok_or_else(|| invalid(format!("Invalid account setting name '{name}'.")))
}

/// The root user of the caller's account: whose settings are the account's defaults.
fn root(ctx: &RequestContext) -> String {
    format!("arn:aws:iam::{}:root", ctx.account_id)
}

/// The principal a call is about: the one it names, else the caller.
fn principal(ctx: &RequestContext, named: Option<&str>) -> Result<String, Error> {
    let arn = named.unwrap_or(&ctx.principal_arn);
    let ours = format!("arn:aws:iam::{}:", ctx.account_id);
    // An assumed-role session acts as its role.
    let sessions = format!("arn:aws:sts::{}:assumed-role/", ctx.account_id);
    if let Some(session) = arn.strip_prefix(&sessions) {
        let role = session.split('/').next().unwrap_or_default();
        return Ok(format!("{ours}role/{role}"));
    }
    let rest = arn.strip_prefix(&ours).ok_or_else(|| {
        invalid(format!(
            "Invalid principalArn '{arn}': it must be a user, role or the root user of account {}.",
            ctx.account_id
        ))
    })?;
    if rest == "root" || rest.starts_with("user/") || rest.starts_with("role/") {
        return Ok(arn.to_string());
    }
    Err(invalid(format!(
        "Invalid principalArn '{arn}': it must be a user, role or the root user of account {}.",
        ctx.account_id
    )))
}

fn key(ctx: &RequestContext, principal: &str, name: &str) -> String {
    format!("{}/{}/{principal}|{name}", ctx.account_id, ctx.region)
}

fn check_value(k: &Known, value: &str) -> Result<(), Error> {
    if k.values.contains(&value) {
        return Ok(());
    }
    Err(invalid(match k.name {
        "serviceLongArnFormat" | "taskLongArnFormat" | "containerInstanceLongArnFormat" => {
            "You can no longer disable Long Arn settings.".to_string()
        }
        "guardDutyActivate" => {
            "guardDutyActivate is read-only: it shows whether Runtime Monitoring is on.".to_string()
        }
        name => format!(
            "Invalid value '{value}' for {name}: one of {} is expected.",
            k.values.join(", ")
        ),
    }))
}

fn setting(name: &str, value: &str, principal: &str) -> Setting {
    Setting {
        name: Some(name.to_string()),
        value: Some(value.to_string()),
        principal_arn: Some(principal.to_string()),
        r#type: Some(
            if name == "guardDutyActivate" {
                "aws_managed"
            } else {
                "user"
            }
            .into(),
        ),
    }
}

fn put_for(
    ecs: &Ecs,
    ctx: &RequestContext,
    principal: String,
    name: &str,
    value: &str,
) -> Result<Setting, Error> {
    let k = known(name)?;
    check_value(k, value)?;
    let record = AccountSettingRecord {
        name: k.name.to_string(),
        value: value.to_string(),
        principal_arn: principal.clone(),
    };
    ecs.store
        .write(|tx| tx.put(ACCOUNT_SETTINGS, &key(ctx, &principal, k.name), &record))?;
    Ok(setting(k.name, value, &principal))
}

/// `PutAccountSetting`: for the principal named, else the caller.
pub fn put(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: PutAccountSettingRequest,
) -> Result<PutAccountSettingResponse, Error> {
    let principal = principal(ctx, input.principal_arn.as_deref())?;
    Ok(PutAccountSettingResponse {
        setting: Some(put_for(ecs, ctx, principal, &input.name, &input.value)?),
    })
}

/// `PutAccountSettingDefault`: for the root user, so for every principal without its own.
pub fn put_default(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: PutAccountSettingDefaultRequest,
) -> Result<PutAccountSettingDefaultResponse, Error> {
    Ok(PutAccountSettingDefaultResponse {
        setting: Some(put_for(ecs, ctx, root(ctx), &input.name, &input.value)?),
    })
}

/// `DeleteAccountSetting`: the principal's own value goes; it gets the default again.
pub fn delete(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: DeleteAccountSettingRequest,
) -> Result<DeleteAccountSettingResponse, Error> {
    let k = known(&input.name)?;
    let principal = principal(ctx, input.principal_arn.as_deref())?;
    let gone = ecs.store.write(|tx| {
        let key = key(ctx, &principal, k.name);
        let found: Option<AccountSettingRecord> = tx.get(ACCOUNT_SETTINGS, &key)?;
        if found.is_some() {
            tx.delete(ACCOUNT_SETTINGS, &key)?;
        }
        Ok::<_, Error>(found)
    })?;
    let gone = gone.ok_or_else(|| {
        invalid(format!(
            "No account setting {} is set for principal {principal}.",
            k.name
        ))
    })?;
    Ok(DeleteAccountSettingResponse {
        setting: Some(setting(k.name, &gone.value, &principal)),
    })
}

/// The value of setting `name` in force for `principal`: its own, else the account default,
/// else AWS's.
pub fn effective(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    principal: &str,
    name: &str,
) -> Result<String, StoreError> {
    for who in [principal.to_string(), root(ctx)] {
        if let Some(s) = tx.get::<AccountSettingRecord>(ACCOUNT_SETTINGS, &key(ctx, &who, name))? {
            return Ok(s.value);
        }
    }
    Ok(KNOWN
        .iter()
        .find(|k| k.name == name)
        .map_or_else(String::new, |k| k.default.to_string()))
}

/// The value of setting `name` in force for the caller of `ctx` (see [`effective`]).
pub fn effective_for_caller(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    name: &str,
) -> Result<String, StoreError> {
    let caller = principal(ctx, None).unwrap_or_else(|_| root(ctx));
    effective(tx, ctx, &caller, name)
}

/// `ListAccountSettings`: the principal's own settings, or with `effectiveSettings` every
/// setting's value in force for it.
pub fn list(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: ListAccountSettingsRequest,
) -> Result<ListAccountSettingsResponse, Error> {
    let max = match input.max_results {
        None => 10,
        Some(n) if (1..=10).contains(&n) => usize::try_from(n).unwrap_or(10),
        Some(n) => {
            return Err(invalid(format!(
                "maxResults must be between 1 and 10, got {n}."
            )))
        }
    };
    if input.value.is_some() && input.name.is_none() {
        return Err(invalid("value can only be given with name."));
    }
    let names: Vec<&'static Known> = match input.name.as_deref() {
        Some(name) => vec![known(name)?],
        None => KNOWN.iter().collect(),
    };
    let principal = principal(ctx, input.principal_arn.as_deref())?;
    let effective_too = input.effective_settings.unwrap_or(false);
    let settings: Vec<(String, Setting)> = ecs.store.read(|tx| {
        let mut out = Vec::new();
        for (i, k) in names.iter().enumerate() {
            let own: Option<AccountSettingRecord> =
                tx.get(ACCOUNT_SETTINGS, &key(ctx, &principal, k.name))?;
            let value = match own {
                Some(s) => s.value,
                None if effective_too => effective(tx, ctx, &principal, k.name)?,
                None => continue,
            };
            if input.value.as_deref().is_some_and(|v| v != value) {
                continue;
            }
            out.push((format!("{i:02}"), setting(k.name, &value, &principal)));
        }
        Ok::<_, StoreError>(out)
    })?;
    let (page, next) = paginate(
        settings,
        |(k, _)| k.clone(),
        input.next_token.as_deref(),
        max,
    )
    .map_err(|_| crate::paging::invalid_token())?;
    Ok(ListAccountSettingsResponse {
        settings: Some(page.into_iter().map(|(_, s)| s).collect()),
        next_token: next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_core::Timestamp;

    fn ctx(principal: &str) -> RequestContext {
        let mut ctx =
            RequestContext::for_tests("us-east-1", "123456789012", Timestamp::from_millis(0));
        ctx.principal_arn = principal.into();
        ctx
    }

    #[test]
    fn principals_are_users_roles_or_root_of_the_account() {
        let c = ctx("arn:aws:iam::123456789012:user/ci");
        assert_eq!(
            principal(&c, None).unwrap(),
            "arn:aws:iam::123456789012:user/ci"
        );
        let session = ctx("arn:aws:sts::123456789012:assumed-role/deploy/s1");
        assert_eq!(
            principal(&session, None).unwrap(),
            "arn:aws:iam::123456789012:role/deploy"
        );
        assert!(principal(&c, Some("arn:aws:iam::999999999999:root")).is_err());
        assert!(principal(&c, Some("arn:aws:iam::123456789012:group/x")).is_err());
    }

    #[test]
    fn values_are_checked_as_aws_does() {
        let long = known("taskLongArnFormat").unwrap();
        assert_eq!(
            check_value(long, "disabled").unwrap_err(),
            invalid("You can no longer disable Long Arn settings.")
        );
        assert!(check_value(long, "enabled").is_ok());
        let insights = known("containerInsights").unwrap();
        assert!(check_value(insights, "enhanced").is_ok());
        assert!(check_value(insights, "maybe").is_err());
        assert!(check_value(known("guardDutyActivate").unwrap(), "on").is_err());
        assert!(known("noSuchSetting").is_err());
    }
}
