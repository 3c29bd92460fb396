//! AWS Secrets Manager: secrets with versions and staging labels, values sealed at rest, recovery windows

pub mod generated;
