//! The values ECS tasks read through their containers' `secrets[].valueFrom`, answered with
//! the failures the ECS agent reports (a parameter missing, in another account, or unreadable).

use crate::lookup::find;
use crate::{names, parameters, values, Ssm};
use wharf_core::SecretValueError;

/// For a task's `secrets[].valueFrom` that is an SSM parameter ARN
/// (`arn:aws:ssm:<region>:<account>:parameter/<name without leading slash>`) or a parameter
/// name (`/app/db/host`, `db-host`, optionally `:<version>` or `:<label>`): the current (or
/// selected) value, decrypted.
///
/// An ARN may name another region of the task's account; a name is looked up in the task's
/// region. Failures read as the ECS agent reports them.
pub fn value_for_task(
    ssm: &Ssm,
    account: &str,
    region: &str,
    value_from: &str,
) -> Result<String, SecretValueError> {
    let invalid = || {
        SecretValueError(format!(
            "unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm parameters: {value_from}"
        ))
    };
    let reference = names::parse_reference(value_from, account, region).map_err(|_| invalid())?;
    if reference.account != account {
        // Parameters shared across accounts are not supported.
        return Err(invalid());
    }
    let now = ssm.clock.now();
    let found = ssm
        .store
        .read(|tx| {
            find(
                tx,
                &reference.account,
                &reference.region,
                &reference.names,
                now,
            )
        })
        .map_err(|e| {
            tracing::error!(error = %e, "ssm state store failure while a task read a parameter");
            SecretValueError(
                "unable to retrieve secrets from ssm: wharf could not read its state store".into(),
            )
        })?;
    let param = found.ok_or_else(invalid)?;
    let version = parameters::select(&param, reference.selector.as_ref()).map_err(|_| invalid())?;
    values::reveal(
        ssm,
        &reference.account,
        &reference.region,
        &param.name,
        version,
        true,
    )
    .map_err(|e| {
        SecretValueError(format!(
            "unable to retrieve secrets from ssm: {}",
            e.message()
        ))
    })
}
