//! AWS Systems Manager Parameter Store: String, StringList and SecureString parameters (sealed at rest), versions, labels, paths

pub mod generated;
