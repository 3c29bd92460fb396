//! Amazon ECS control plane.
pub mod generated;
