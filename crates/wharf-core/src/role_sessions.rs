//! Temporary credentials of a role, as the code in a task gets them from the task's credentials
//! endpoint (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`). IAM issues and remembers them (so the
//! API gateway accepts requests signed with them as the role); the task agent only asks.

use crate::Timestamp;

/// One set of temporary credentials for a role session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCredentials {
    /// The role they act as.
    pub role_arn: String,
    /// `ASIA...`
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token requests must carry (`X-Amz-Security-Token`).
    pub session_token: String,
    /// When they stop being accepted.
    pub expiration: Timestamp,
}

/// Issues role session credentials.
pub trait RoleSessions: Send + Sync + 'static {
    /// Credentials for session `session_name` of `role_arn` in `account`: the current set, or a
    /// new one when none was issued yet or the current one is due for rotation. The error says
    /// why the role cannot be assumed (e.g. it does not exist).
    fn credentials_for(
        &self,
        account: &str,
        role_arn: &str,
        session_name: &str,
    ) -> Result<RoleCredentials, String>;
}
