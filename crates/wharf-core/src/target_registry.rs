//! The boundary between ECS services and Elastic Load Balancing target groups: the service
//! controller (`wharf-ecs`) registers its tasks' addresses, reads their health and deregisters
//! them through [`TargetRegistry`]; `wharf-elbv2` implements it over its records and the data
//! plane's health checks. Neither crate knows the other.

/// A target group as ECS checks it when a service names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupInfo {
    /// `TargetType`: `ip` or `instance`.
    pub target_type: String,
    /// Whether a load balancer's listener or rule forwards to it.
    pub has_load_balancer: bool,
}

/// A target's `TargetHealth.State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    /// Registered, first health checks pending.
    Initial,
    /// Passing health checks.
    Healthy,
    /// Failing health checks.
    Unhealthy,
    /// Deregistered, connections draining.
    Draining,
    /// Registered in a target group no load balancer uses (nothing routes to it, nothing checks
    /// it).
    Unused,
}

/// One registered (or draining) target of a target group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredTarget {
    /// The IP address (or instance id).
    pub id: String,
    /// Its port.
    pub port: u16,
    /// Its state.
    pub state: TargetState,
}

/// Target groups as the service controller uses them. Errors are messages for events and logs.
pub trait TargetRegistry: Send + Sync {
    /// The target group `arn` of `account` / `region`, or `None` if it does not exist.
    fn target_group(
        &self,
        account: &str,
        region: &str,
        arn: &str,
    ) -> Result<Option<TargetGroupInfo>, String>;

    /// Registers `ip:port` (idempotent; a draining target becomes a target again).
    fn register(
        &self,
        account: &str,
        region: &str,
        arn: &str,
        ip: &str,
        port: u16,
    ) -> Result<(), String>;

    /// Deregisters `ip:port`: it drains, then is gone (idempotent; unknown targets are fine).
    fn deregister(
        &self,
        account: &str,
        region: &str,
        arn: &str,
        ip: &str,
        port: u16,
    ) -> Result<(), String>;

    /// Every registered and draining target of `arn` with its state (empty if the target group
    /// is gone).
    fn targets(
        &self,
        account: &str,
        region: &str,
        arn: &str,
    ) -> Result<Vec<RegisteredTarget>, String>;
}
