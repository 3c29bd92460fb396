//! The numbers and words of the ECS service scheduler: rolling-update bounds, the deployment
//! circuit breaker's threshold, the launch throttle's back-off, and AWS's wording for stop
//! reasons, deployment reasons and service events. Pure functions of plain values.

/// First delay of the launch throttle, after one task failed to reach RUNNING.
pub const BACKOFF_BASE_MS: i64 = 5_000;
/// Longest delay of the launch throttle (AWS's "service throttle logic" caps it at 15 minutes).
pub const BACKOFF_CAP_MS: i64 = 15 * 60 * 1000;
/// Consecutive launch failures after which the service reports it "is unable to consistently
/// start tasks successfully".
pub const UNSTABLE_EVENT_AFTER: u32 = 3;
/// Smallest circuit-breaker failure threshold (AWS: 3).
pub const BREAKER_MIN_THRESHOLD: u32 = 3;
/// Largest circuit-breaker failure threshold (AWS: 200).
pub const BREAKER_MAX_THRESHOLD: u32 = 200;

/// maximumPercent as a task count: `floor(desired × maximumPercent / 100)` (AWS rounds down).
pub fn max_tasks(desired: u32, maximum_percent: u32) -> u32 {
    (u64::from(desired) * u64::from(maximum_percent) / 100) as u32
}

/// minimumHealthyPercent as a task count: `ceil(desired × minimumHealthyPercent / 100)` (AWS
/// rounds up).
pub fn min_healthy_tasks(desired: u32, minimum_healthy_percent: u32) -> u32 {
    (u64::from(desired) * u64::from(minimum_healthy_percent)).div_ceil(100) as u32
}

/// The deployment circuit breaker's failure threshold: `ceil(0.5 × desiredCount)`, at least 3
/// and at most 200.
pub fn breaker_threshold(desired: u32) -> u32 {
    desired
        .div_ceil(2)
        .clamp(BREAKER_MIN_THRESHOLD, BREAKER_MAX_THRESHOLD)
}

/// How long the throttle holds launches after `failures` consecutive tasks failed to reach
/// RUNNING: nothing after none, then 5 s doubling each failure up to 15 minutes.
pub fn backoff_delay_ms(failures: u32) -> i64 {
    if failures == 0 {
        return 0;
    }
    let shift = (failures - 1).min(20);
    (BACKOFF_BASE_MS << shift).min(BACKOFF_CAP_MS)
}

/// Stop reason of a task the scheduler stops while scaling a deployment in.
pub fn scaling_reason(deployment_id: &str) -> String {
    format!("Scaling activity initiated by (deployment {deployment_id})")
}

/// Prefix of the stop reason of a task that failed its target group's health checks.
pub const ELB_REASON_PREFIX: &str = "Task failed ELB health checks in";

/// Stop reason of a task that failed the health checks of `target_group`.
pub fn elb_reason(target_group: &str) -> String {
    format!("{ELB_REASON_PREFIX} (target-group {target_group})")
}

/// Stop reason of a task whose essential container failed its container health check.
pub const CONTAINER_HEALTH_REASON: &str = "Task failed container health checks";

/// Whether `reason` is one of the scheduler's health-check stop reasons.
pub fn is_health_reason(reason: &str) -> bool {
    reason.starts_with(ELB_REASON_PREFIX) || reason.starts_with(CONTAINER_HEALTH_REASON)
}

/// rolloutStateReason of a deployment in progress.
pub fn in_progress_reason(id: &str) -> String {
    format!("ECS deployment {id} in progress.")
}

/// rolloutStateReason of a completed deployment.
pub fn completed_reason(id: &str) -> String {
    format!("ECS deployment {id} completed.")
}

/// rolloutStateReason of a deployment the circuit breaker failed.
pub const BREAKER_FAILED_REASON: &str = "ECS deployment circuit breaker: tasks failed to start.";

/// rolloutStateReason of the deployment the circuit breaker starts to roll back to `to`.
pub fn rollback_reason(to: &str) -> String {
    format!("ECS deployment circuit breaker: rolling back to deploymentId {to}.")
}

fn task_list(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("(task {id})"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Service events, in AWS's wording.
pub mod events {
    use super::task_list;

    /// `(service s) has started 2 tasks: (task a) (task b).` — emitted by the caller once it
    /// knows the new tasks' ids.
    pub fn started(service: &str, task_ids: &[String]) -> String {
        format!(
            "(service {service}) has started {} tasks: {}.",
            task_ids.len(),
            task_list(task_ids)
        )
    }

    /// `(service s) has stopped 1 running tasks: (task a).`
    pub fn stopped(service: &str, task_ids: &[String]) -> String {
        format!(
            "(service {service}) has stopped {} running tasks: {}.",
            task_ids.len(),
            task_list(task_ids)
        )
    }

    /// `(service s) has begun draining connections on 1 tasks.`
    pub fn draining(service: &str, count: usize) -> String {
        format!("(service {service}) has begun draining connections on {count} tasks.")
    }

    /// `(service s) deregistered 1 targets in (target-group arn)`
    pub fn deregistered(service: &str, count: usize, target_group: &str) -> String {
        format!("(service {service}) deregistered {count} targets in (target-group {target_group})")
    }

    /// `(service s) registered 1 targets in (target-group arn)`
    pub fn registered(service: &str, count: usize, target_group: &str) -> String {
        format!("(service {service}) registered {count} targets in (target-group {target_group})")
    }

    /// `(service s) (task t) is unhealthy in (target-group arn) due to (reason Health checks failed).`
    pub fn unhealthy(service: &str, task: &str, target_group: &str) -> String {
        format!("(service {service}) (task {task}) is unhealthy in (target-group {target_group}) due to (reason Health checks failed).")
    }

    /// `(service s) (task t) failed container health checks.`
    pub fn container_unhealthy(service: &str, task: &str) -> String {
        format!("(service {service}) (task {task}) failed container health checks.")
    }

    /// `(service s) has reached a steady state.`
    pub fn steady(service: &str) -> String {
        format!("(service {service}) has reached a steady state.")
    }

    /// `(service s) (deployment d) deployment completed.`
    pub fn completed(service: &str, deployment: &str) -> String {
        format!("(service {service}) (deployment {deployment}) deployment completed.")
    }

    /// `(service s) (deployment d) deployment failed: tasks failed to start.`
    pub fn failed(service: &str, deployment: &str) -> String {
        format!("(service {service}) (deployment {deployment}) deployment failed: tasks failed to start.")
    }

    /// `(service s) rolling back to deployment d.`
    pub fn rolling_back(service: &str, deployment: &str) -> String {
        format!("(service {service}) rolling back to deployment {deployment}.")
    }

    /// `(service s) was unable to place a task. Reason: ...` — a launch refused before any
    /// task existed (a subnet or task definition gone).
    pub fn unable_to_place(service: &str, reason: &str) -> String {
        format!("(service {service}) was unable to place a task. Reason: {reason}")
    }

    /// `service s was unable to place a task because no container instance met all of its
    /// requirements. Reason: ...` (AWS writes this one without parentheses).
    pub fn no_container_instance(service: &str, reason: &str) -> String {
        format!(
            "service {service} was unable to place a task because no container instance met all of its requirements. Reason: {reason} For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
        )
    }

    /// `(service s) is unable to consistently start tasks successfully.`
    pub fn unstable(service: &str) -> String {
        format!("(service {service}) is unable to consistently start tasks successfully.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_round_max_down_and_min_up() {
        assert_eq!(max_tasks(3, 150), 4); // 4.5
        assert_eq!(max_tasks(1, 150), 1); // 1.5
        assert_eq!(max_tasks(10, 200), 20);
        assert_eq!(min_healthy_tasks(3, 50), 2); // 1.5
        assert_eq!(min_healthy_tasks(1, 50), 1); // 0.5
        assert_eq!(min_healthy_tasks(10, 0), 0);
        assert_eq!(min_healthy_tasks(10, 100), 10);
        assert_eq!(min_healthy_tasks(0, 100), 0);
    }

    #[test]
    fn breaker_threshold_is_half_the_desired_count_between_3_and_200() {
        assert_eq!(breaker_threshold(0), 3);
        assert_eq!(breaker_threshold(1), 3);
        assert_eq!(breaker_threshold(2), 3);
        assert_eq!(breaker_threshold(3), 3);
        assert_eq!(breaker_threshold(7), 4);
        assert_eq!(breaker_threshold(10), 5);
        assert_eq!(breaker_threshold(399), 200);
        assert_eq!(breaker_threshold(1000), 200);
    }

    #[test]
    fn backoff_doubles_from_5_seconds_to_15_minutes() {
        assert_eq!(backoff_delay_ms(0), 0);
        assert_eq!(backoff_delay_ms(1), 5_000);
        assert_eq!(backoff_delay_ms(2), 10_000);
        assert_eq!(backoff_delay_ms(3), 20_000);
        assert_eq!(backoff_delay_ms(8), 640_000);
        assert_eq!(backoff_delay_ms(9), BACKOFF_CAP_MS);
        assert_eq!(backoff_delay_ms(u32::MAX), BACKOFF_CAP_MS);
    }

    #[test]
    fn wording_matches_aws() {
        let ids = ["1a2b".to_string(), "3c4d".to_string()];
        assert_eq!(
            events::started("blog-api", &ids),
            "(service blog-api) has started 2 tasks: (task 1a2b) (task 3c4d)."
        );
        assert_eq!(
            events::stopped("blog-api", &ids[..1]),
            "(service blog-api) has stopped 1 running tasks: (task 1a2b)."
        );
        assert_eq!(
            scaling_reason("ecs-svc/123"),
            "Scaling activity initiated by (deployment ecs-svc/123)"
        );
        assert!(is_health_reason(&elb_reason("arn:tg")));
        assert!(is_health_reason(CONTAINER_HEALTH_REASON));
        assert!(!is_health_reason(&scaling_reason("x")));
    }
}
