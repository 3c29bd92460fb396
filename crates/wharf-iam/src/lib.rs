//! IAM and STS.
pub mod iam_generated;
pub mod sts_generated;
