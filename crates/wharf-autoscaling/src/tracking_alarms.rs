//! The two CloudWatch alarms a target-tracking policy creates and owns, as AWS creates them,
//! pure (the caller hands them to CloudWatch through `AlarmRegistry`).
//!
//! Sources: the AWS CLI's `put-scaling-policy` examples (names
//! `TargetTracking-<resource id>-AlarmHigh-<uuid>` / `-AlarmLow-<uuid>`, no AlarmLow with
//! `DisableScaleIn`), and real alarms of ECS target-tracking policies exported from AWS by
//! terraformer in public repositories (searched for "DO NOT EDIT OR DELETE. For
//! TargetTrackingScaling"): description `DO NOT EDIT OR DELETE. For TargetTrackingScaling policy
//! <policy ARN>.`, Period 60, AlarmHigh `GreaterThanThreshold` the target over 3 of 3
//! datapoints, AlarmLow `LessThanThreshold` 90 % of the target over 15 of 15, TreatMissingData
//! `missing`, statistic Average (`Sum` for `ALBRequestCountPerTarget`), unit `Percent` for the
//! ECS utilization metrics, dimensions `ClusterName` + `ServiceName` (ECS) or `LoadBalancer` +
//! `TargetGroup` (`ALBRequestCountPerTarget`, both taken from the ResourceLabel). AWS adds a
//! `:createdBy/<uuid>` suffix to the action ARN on newer policies; wharf's action is the policy
//! ARN itself.

use crate::checks::ServiceRef;
use crate::generated::Error;
use crate::records::TrackedMetric;
use wharf_core::{AlarmMetric, ManagedAlarm};

/// The predefined metric types of ECS services.
pub const ECS_PREDEFINED: &[&str] = &[
    "ECSServiceAverageCPUUtilization",
    "ECSServiceAverageMemoryUtilization",
    "ALBRequestCountPerTarget",
];

/// `Period` of both alarms, in seconds.
pub const PERIOD_SECONDS: u32 = 60;
/// AlarmHigh's evaluation periods (and datapoints to alarm).
pub const HIGH_PERIODS: u32 = 3;
/// AlarmLow's evaluation periods (and datapoints to alarm).
pub const LOW_PERIODS: u32 = 15;
/// AlarmLow's threshold, as a fraction of the target value.
pub const LOW_FRACTION: f64 = 0.9;

/// The load balancer (`app/<name>/<id>`) and target group (`targetgroup/<name>/<id>`) of an
/// `ALBRequestCountPerTarget` resource label, `app/<lb>/<id>/targetgroup/<tg>/<id>`.
pub fn parse_resource_label(label: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = label.split('/').collect();
    match parts.as_slice() {
        ["app", lb, lb_id, "targetgroup", tg, tg_id]
            if [lb, lb_id, tg, tg_id].iter().all(|p| !p.is_empty()) =>
        {
            Some((
                format!("app/{lb}/{lb_id}"),
                format!("targetgroup/{tg}/{tg_id}"),
            ))
        }
        _ => None,
    }
}

/// The CloudWatch metric `metric` stands for on `service`, or AWS's `ValidationException`.
pub fn alarm_metric(metric: &TrackedMetric, service: &ServiceRef) -> Result<AlarmMetric, Error> {
    let ecs = |name: &str| AlarmMetric {
        namespace: "AWS/ECS".into(),
        metric_name: name.into(),
        dimensions: vec![
            ("ClusterName".into(), service.cluster.clone()),
            ("ServiceName".into(), service.service.clone()),
        ],
        statistic: "Average".into(),
        unit: Some("Percent".into()),
    };
    match metric {
        TrackedMetric::Predefined {
            metric_type,
            resource_label,
        } => match metric_type.as_str() {
            "ECSServiceAverageCPUUtilization" => Ok(ecs("CPUUtilization")),
            "ECSServiceAverageMemoryUtilization" => Ok(ecs("MemoryUtilization")),
            "ALBRequestCountPerTarget" => {
                let label = resource_label.as_deref().unwrap_or_default();
                if label.is_empty() {
                    return Err(Error::ValidationException(
                        "ResourceLabel is required for the predefined metric type \
                         ALBRequestCountPerTarget (app/<load-balancer-name>/<id>/targetgroup/\
                         <target-group-name>/<id>)"
                            .into(),
                    ));
                }
                let (lb, tg) = parse_resource_label(label).ok_or_else(|| {
                    Error::ValidationException(format!(
                        "Invalid ResourceLabel {label} for ALBRequestCountPerTarget: expected \
                         app/<load-balancer-name>/<load-balancer-id>/targetgroup/\
                         <target-group-name>/<target-group-id>"
                    ))
                })?;
                Ok(AlarmMetric {
                    namespace: "AWS/ApplicationELB".into(),
                    metric_name: "RequestCountPerTarget".into(),
                    dimensions: vec![("LoadBalancer".into(), lb), ("TargetGroup".into(), tg)],
                    statistic: "Sum".into(),
                    unit: None,
                })
            }
            other => Err(Error::ValidationException(format!(
                "Unsupported predefined metric type {other} for service namespace ecs; ECS \
                 services support {}",
                ECS_PREDEFINED.join(", ")
            ))),
        },
        TrackedMetric::Customized {
            namespace,
            metric_name,
            dimensions,
            statistic,
            unit,
        } => Ok(AlarmMetric {
            namespace: namespace.clone(),
            metric_name: metric_name.clone(),
            dimensions: dimensions.clone(),
            statistic: statistic.clone(),
            unit: unit.clone(),
        }),
    }
}

/// `value` without float noise (0.9 * 70 is 63, not 62.99999999999999).
fn tidy(value: f64) -> f64 {
    let scaled = (value * 1e9).round() / 1e9;
    if scaled.is_finite() {
        scaled
    } else {
        value
    }
}

/// Which of a policy's two alarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Above the target: scale out.
    High,
    /// Under 90 % of the target: scale in.
    Low,
}

impl Kind {
    /// `AlarmHigh` / `AlarmLow`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::High => "AlarmHigh",
            Kind::Low => "AlarmLow",
        }
    }
}

/// The alarm of `kind` for a policy (`policy_arn`) keeping `metric` at `target_value` on
/// `resource_id`, named with `uuid`.
pub fn alarm(
    kind: Kind,
    resource_id: &str,
    uuid: &str,
    policy_arn: &str,
    metric: AlarmMetric,
    target_value: f64,
) -> ManagedAlarm {
    let (periods, threshold, operator) = match kind {
        Kind::High => (HIGH_PERIODS, target_value, "GreaterThanThreshold"),
        Kind::Low => (
            LOW_PERIODS,
            target_value * LOW_FRACTION,
            "LessThanThreshold",
        ),
    };
    ManagedAlarm {
        name: format!("TargetTracking-{resource_id}-{}-{uuid}", kind.label()),
        description: format!(
            "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy_arn}."
        ),
        metric,
        period_seconds: PERIOD_SECONDS,
        evaluation_periods: periods,
        datapoints_to_alarm: periods,
        threshold: tidy(threshold),
        comparison_operator: operator.into(),
        treat_missing_data: "missing".into(),
        alarm_actions: vec![policy_arn.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> ServiceRef {
        ServiceRef {
            cluster: "blog-cluster".into(),
            service: "blog-api".into(),
        }
    }

    fn predefined(t: &str, label: Option<&str>) -> TrackedMetric {
        TrackedMetric::Predefined {
            metric_type: t.into(),
            resource_label: label.map(str::to_string),
        }
    }

    #[test]
    fn cpu_alarms_are_named_and_set_as_aws_does() {
        let metric = alarm_metric(
            &predefined("ECSServiceAverageCPUUtilization", None),
            &service(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(metric.namespace, "AWS/ECS");
        assert_eq!(metric.metric_name, "CPUUtilization");
        assert_eq!(metric.statistic, "Average");
        let high = alarm(
            Kind::High,
            "service/blog-cluster/blog-api",
            "u1",
            "arn:p",
            metric.clone(),
            70.0,
        );
        assert_eq!(
            high.name,
            "TargetTracking-service/blog-cluster/blog-api-AlarmHigh-u1"
        );
        assert_eq!(
            high.description,
            "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy arn:p."
        );
        assert_eq!(
            (
                high.period_seconds,
                high.evaluation_periods,
                high.datapoints_to_alarm
            ),
            (60, 3, 3)
        );
        assert_eq!(
            (high.threshold, high.comparison_operator.as_str()),
            (70.0, "GreaterThanThreshold")
        );
        assert_eq!(high.alarm_actions, vec!["arn:p".to_string()]);
        let low = alarm(
            Kind::Low,
            "service/blog-cluster/blog-api",
            "u2",
            "arn:p",
            metric,
            70.0,
        );
        assert_eq!(
            low.name,
            "TargetTracking-service/blog-cluster/blog-api-AlarmLow-u2"
        );
        assert_eq!((low.evaluation_periods, low.datapoints_to_alarm), (15, 15));
        assert_eq!(
            (low.threshold, low.comparison_operator.as_str()),
            (63.0, "LessThanThreshold")
        );
        assert_eq!(low.treat_missing_data, "missing");
    }

    #[test]
    fn alb_request_count_takes_its_dimensions_from_the_resource_label() {
        let label = "app/EC2Co-EcsEl-1TKLTMITMM0EO/f37c06a68c1748aa/targetgroup/EC2Co-Defau-LDNM7Q3ZH1ZN/6d4ea56ca2d6a18d";
        let metric = alarm_metric(
            &predefined("ALBRequestCountPerTarget", Some(label)),
            &service(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(metric.metric_name, "RequestCountPerTarget");
        assert_eq!(metric.statistic, "Sum");
        assert_eq!(
            metric.dimensions,
            vec![
                (
                    "LoadBalancer".to_string(),
                    "app/EC2Co-EcsEl-1TKLTMITMM0EO/f37c06a68c1748aa".to_string()
                ),
                (
                    "TargetGroup".to_string(),
                    "targetgroup/EC2Co-Defau-LDNM7Q3ZH1ZN/6d4ea56ca2d6a18d".to_string()
                ),
            ]
        );
        for bad in [
            None,
            Some(""),
            Some("app/lb/1/tg/x/2"),
            Some("targetgroup/x/2"),
        ] {
            assert!(
                matches!(
                    alarm_metric(&predefined("ALBRequestCountPerTarget", bad), &service()),
                    Err(Error::ValidationException(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            alarm_metric(&predefined("DynamoDBReadCapacityUtilization", None), &service()),
            Err(Error::ValidationException(m)) if m.contains("ECSServiceAverageCPUUtilization")
        ));
    }
}
