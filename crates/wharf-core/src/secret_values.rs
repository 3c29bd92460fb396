//! How the task agent reads the values of a container's `secrets` when a task starts, without
//! depending on Secrets Manager or SSM: the binary wires an implementation that sends a
//! Secrets Manager ARN to Secrets Manager and anything else (an SSM parameter ARN or name) to
//! Parameter Store.

/// Why a secret reference could not be read. The message is AWS's error as the task's
/// stopped reason shows it, e.g. `ResourceNotFoundException: Secrets Manager can't find the
/// specified secret.`
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SecretValueError(pub String);

/// Resolves `valueFrom` references.
pub trait SecretValues: Send + Sync + 'static {
    /// The plaintext `value_from` names, read as a task of `account` in `region`.
    ///
    /// `value_from` is a Secrets Manager secret ARN, optionally followed by
    /// `:<json-key>:<version-stage>:<version-id>` (each part may be empty), or an SSM
    /// parameter ARN, or a parameter name (`/app/db/host` or `db-host`).
    fn resolve(
        &self,
        account: &str,
        region: &str,
        value_from: &str,
    ) -> Result<String, SecretValueError>;
}

/// No secret stores: every reference fails (tests of unrelated parts).
pub struct NoSecretValues;

impl SecretValues for NoSecretValues {
    fn resolve(&self, _: &str, _: &str, value_from: &str) -> Result<String, SecretValueError> {
        Err(SecretValueError(format!(
            "ResourceNotFoundException: no secret store can read {value_from}"
        )))
    }
}
