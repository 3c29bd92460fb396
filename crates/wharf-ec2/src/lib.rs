//! Amazon EC2 networking.
pub mod generated;
