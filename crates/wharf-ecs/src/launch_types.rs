//! Launch types, as RunTask and CreateService choose them: an explicit `launchType`, else an
//! explicit `capacityProviderStrategy`, else the cluster's default capacity provider strategy,
//! else the EC2 launch type (AWS's order). wharf has no container instances yet, so whatever
//! needs one (EC2, EXTERNAL) gets AWS's answer for an empty cluster.

use crate::generated::Error;
use crate::records::{
    CapacityProviderStrategyItemRecord, ClusterRecord, TaskDefinitionDescription,
};

/// AWS's reason when a cluster has no container instance to place a task on.
pub const NO_CONTAINER_INSTANCES: &str = "No Container Instances were found in your cluster.";

/// How a task or service is to be placed.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// A launch type (`EC2`, `FARGATE`, `EXTERNAL`, ...).
    LaunchType(String),
    /// A capacity provider strategy (given, or the cluster's default).
    Strategy(Vec<CapacityProviderStrategyItemRecord>),
}

impl Placement {
    /// The launch type the placement runs tasks with (a strategy of FARGATE / FARGATE_SPOT
    /// runs them on Fargate).
    pub fn launch_type(&self) -> &str {
        match self {
            Placement::LaunchType(t) => t,
            Placement::Strategy(_) => "FARGATE",
        }
    }
}

/// The placement of a RunTask or CreateService call: `launch_type`, else `strategy`, else the
/// cluster's default capacity provider strategy, else EC2.
pub fn choose(
    launch_type: Option<&str>,
    strategy: Option<&[CapacityProviderStrategyItemRecord]>,
    cluster: &ClusterRecord,
) -> Placement {
    if let Some(t) = launch_type {
        return Placement::LaunchType(t.to_string());
    }
    if let Some(s) = strategy {
        return Placement::Strategy(s.to_vec());
    }
    match cluster.default_capacity_provider_strategy.as_deref() {
        Some(s) if !s.is_empty() => Placement::Strategy(s.to_vec()),
        _ => Placement::LaunchType("EC2".into()),
    }
}

/// Whether a registration's task definition meets Fargate's rules (`awsvpc`, task-level cpu
/// and memory of an offered size): ECS then lists FARGATE among its `compatibilities`.
pub fn fargate_compatible(
    network_mode: Option<&str>,
    cpu: Option<&str>,
    memory: Option<&str>,
) -> bool {
    let size = cpu
        .and_then(crate::fargate::parse_cpu)
        .zip(memory.and_then(crate::fargate::parse_memory));
    network_mode == Some("awsvpc")
        && size.is_some_and(|(c, m)| crate::fargate::valid_combination(c, m))
}

/// `compatibilities` as ECS reports them: EC2 always; FARGATE when Fargate's rules are met;
/// EXTERNAL (ECS Anywhere) for the network modes it supports (all but awsvpc), listed first
/// as AWS lists it (`["EXTERNAL", "EC2"]`).
pub fn compatibilities(
    network_mode: Option<&str>,
    cpu: Option<&str>,
    memory: Option<&str>,
) -> Vec<String> {
    if fargate_compatible(network_mode, cpu, memory) {
        vec!["EC2".into(), "FARGATE".into()]
    } else if network_mode == Some("awsvpc") {
        vec!["EC2".into()]
    } else {
        vec!["EXTERNAL".into(), "EC2".into()]
    }
}

/// Checks that `def` can run with `launch_type`, with AWS's error when it cannot. Launch
/// types that need container instances answer AWS's error for a cluster without any.
pub fn check(def: &TaskDefinitionDescription, launch_type: &str) -> Result<(), Error> {
    let supported = def
        .compatibilities
        .iter()
        .flatten()
        .any(|c| c == launch_type);
    if launch_type == "FARGATE" && !supported {
        return Err(Error::InvalidParameterException(
            "Task definition does not support launch_type FARGATE.".into(),
        ));
    }
    Ok(())
}

/// Whether `launch_type` needs container instances (wharf has none yet).
pub fn needs_container_instances(launch_type: &str) -> bool {
    matches!(launch_type, "EC2" | "EXTERNAL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibilities_follow_network_mode_and_size() {
        assert_eq!(compatibilities(None, None, None), vec!["EXTERNAL", "EC2"]);
        assert_eq!(
            compatibilities(Some("bridge"), Some("256"), Some("512")),
            vec!["EXTERNAL", "EC2"]
        );
        assert_eq!(
            compatibilities(Some("awsvpc"), Some("256"), Some("512")),
            vec!["EC2", "FARGATE"]
        );
        assert_eq!(
            compatibilities(Some("awsvpc"), Some("256"), Some("4096")),
            vec!["EC2"]
        );
        assert_eq!(compatibilities(Some("awsvpc"), None, None), vec!["EC2"]);
    }

    #[test]
    fn choice_order_is_launch_type_strategy_cluster_default_then_ec2() {
        let fargate = vec![CapacityProviderStrategyItemRecord {
            capacity_provider: "FARGATE".into(),
            weight: Some(1),
            base: None,
        }];
        let mut cluster = ClusterRecord::default();
        assert_eq!(
            choose(None, None, &cluster),
            Placement::LaunchType("EC2".into())
        );
        cluster.default_capacity_provider_strategy = Some(fargate.clone());
        assert_eq!(
            choose(None, None, &cluster),
            Placement::Strategy(fargate.clone())
        );
        assert_eq!(
            choose(Some("FARGATE"), None, &cluster),
            Placement::LaunchType("FARGATE".into())
        );
        assert_eq!(
            choose(None, Some(&fargate), &ClusterRecord::default()).launch_type(),
            "FARGATE"
        );
    }
}
