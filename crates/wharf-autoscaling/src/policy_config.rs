//! A scaling policy's configuration between the wire and the record, with AWS's checks of what
//! PutScalingPolicy is given (pure): the policy type (StepScaling when not given, as on AWS;
//! PredictiveScaling is not served), the configuration that type needs, the target-tracking
//! metric (one predefined or customized metric; the `Metrics` math form is refused), target
//! value and cooldowns, and the step scaling adjustments (see `steps`).

use crate::generated::{
    CustomizedMetricSpecification, Error, MetricDimension, PredefinedMetricSpecification,
    PutScalingPolicyRequest, StepAdjustment, StepScalingPolicyConfiguration,
    TargetTrackingScalingPolicyConfiguration,
};
use crate::records::{PolicyConfig, Step, StepConfig, TrackedMetric, TrackingConfig};
use crate::steps;

/// The cooldown, in seconds, of an ECS policy that names none (AWS's default for ECS).
pub const DEFAULT_COOLDOWN_SECONDS: i32 = 300;

fn invalid(message: impl Into<String>) -> Error {
    Error::ValidationException(message.into())
}

fn check_cooldown(name: &str, value: Option<i32>) -> Result<(), Error> {
    match value {
        Some(v) if v < 0 => Err(invalid(format!(
            "{name} must be greater than or equal to 0, got {v}"
        ))),
        _ => Ok(()),
    }
}

/// The configuration PutScalingPolicy asks for, checked.
pub fn from_request(input: &PutScalingPolicyRequest) -> Result<PolicyConfig, Error> {
    match input.policy_type.as_deref().unwrap_or("StepScaling") {
        "TargetTrackingScaling" => {
            let config = input
                .target_tracking_scaling_policy_configuration
                .as_ref()
                .ok_or_else(|| {
                    invalid(
                        "TargetTrackingScalingPolicyConfiguration is required when PolicyType is \
                         TargetTrackingScaling",
                    )
                })?;
            tracking_from_wire(config).map(PolicyConfig::TargetTracking)
        }
        "StepScaling" => {
            let config = input
                .step_scaling_policy_configuration
                .as_ref()
                .ok_or_else(|| {
                    invalid(
                        "StepScalingPolicyConfiguration is required when PolicyType is \
                         StepScaling",
                    )
                })?;
            step_from_wire(config).map(PolicyConfig::Step)
        }
        other => Err(invalid(format!(
            "wharf does not support {other} policies: use TargetTrackingScaling or StepScaling"
        ))),
    }
}

fn tracking_from_wire(
    config: &TargetTrackingScalingPolicyConfiguration,
) -> Result<TrackingConfig, Error> {
    if !(config.target_value.is_finite() && config.target_value > 0.0) {
        return Err(invalid(format!(
            "TargetValue must be greater than 0, got {}",
            config.target_value
        )));
    }
    check_cooldown("ScaleOutCooldown", config.scale_out_cooldown)?;
    check_cooldown("ScaleInCooldown", config.scale_in_cooldown)?;
    let metric =
        match (
            &config.predefined_metric_specification,
            &config.customized_metric_specification,
        ) {
            (Some(p), None) => TrackedMetric::Predefined {
                metric_type: p.predefined_metric_type.clone(),
                resource_label: p.resource_label.clone(),
            },
            (None, Some(c)) => customized_from_wire(c)?,
            (Some(_), Some(_)) => return Err(invalid(
                "Only one of PredefinedMetricSpecification or CustomizedMetricSpecification can \
                 be specified",
            )),
            (None, None) => return Err(invalid(
                "Either PredefinedMetricSpecification or CustomizedMetricSpecification must be \
                 specified",
            )),
        };
    Ok(TrackingConfig {
        target_value: config.target_value,
        metric,
        scale_out_cooldown: config.scale_out_cooldown,
        scale_in_cooldown: config.scale_in_cooldown,
        disable_scale_in: config.disable_scale_in,
    })
}

fn customized_from_wire(c: &CustomizedMetricSpecification) -> Result<TrackedMetric, Error> {
    if c.metrics.is_some() {
        return Err(invalid(
            "wharf does not support metric math (Metrics) in CustomizedMetricSpecification: \
             give MetricName, Namespace, Dimensions and Statistic",
        ));
    }
    let required = |name: &str, v: &Option<String>| {
        v.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
            invalid(format!(
                "{name} is required in CustomizedMetricSpecification"
            ))
        })
    };
    Ok(TrackedMetric::Customized {
        namespace: required("Namespace", &c.namespace)?,
        metric_name: required("MetricName", &c.metric_name)?,
        dimensions: c
            .dimensions
            .iter()
            .flatten()
            .map(|d| (d.name.clone(), d.value.clone()))
            .collect(),
        statistic: required("Statistic", &c.statistic)?,
        unit: c.unit.clone(),
    })
}

fn step_from_wire(config: &StepScalingPolicyConfiguration) -> Result<StepConfig, Error> {
    let adjustment_type = config
        .adjustment_type
        .clone()
        .ok_or_else(|| invalid("AdjustmentType is required for a step scaling policy"))?;
    if config.min_adjustment_magnitude.is_some() && adjustment_type != "PercentChangeInCapacity" {
        return Err(invalid(
            "MinAdjustmentMagnitude is only supported with the PercentChangeInCapacity \
             adjustment type",
        ));
    }
    if let Some(m) = config.min_adjustment_magnitude.filter(|m| *m < 1) {
        return Err(invalid(format!(
            "MinAdjustmentMagnitude must be at least 1, got {m}"
        )));
    }
    check_cooldown("Cooldown", config.cooldown)?;
    let steps: Vec<Step> = config
        .step_adjustments
        .iter()
        .flatten()
        .map(|s| Step {
            lower: s.metric_interval_lower_bound,
            upper: s.metric_interval_upper_bound,
            adjustment: s.scaling_adjustment,
        })
        .collect();
    steps::validate(&steps)?;
    Ok(StepConfig {
        adjustment_type,
        steps,
        min_adjustment_magnitude: config.min_adjustment_magnitude,
        cooldown: config.cooldown,
        metric_aggregation_type: config.metric_aggregation_type.clone(),
    })
}

/// `PolicyType` of a configuration.
pub fn policy_type(config: &PolicyConfig) -> &'static str {
    match config {
        PolicyConfig::TargetTracking(_) => "TargetTrackingScaling",
        PolicyConfig::Step(_) => "StepScaling",
    }
}

/// The tracking configuration as DescribeScalingPolicies shows it.
pub fn tracking_to_wire(c: &TrackingConfig) -> TargetTrackingScalingPolicyConfiguration {
    let (predefined, customized) = match &c.metric {
        TrackedMetric::Predefined {
            metric_type,
            resource_label,
        } => (
            Some(PredefinedMetricSpecification {
                predefined_metric_type: metric_type.clone(),
                resource_label: resource_label.clone(),
            }),
            None,
        ),
        TrackedMetric::Customized {
            namespace,
            metric_name,
            dimensions,
            statistic,
            unit,
        } => (
            None,
            Some(CustomizedMetricSpecification {
                metric_name: Some(metric_name.clone()),
                namespace: Some(namespace.clone()),
                dimensions: (!dimensions.is_empty()).then(|| {
                    dimensions
                        .iter()
                        .map(|(n, v)| MetricDimension {
                            name: n.clone(),
                            value: v.clone(),
                        })
                        .collect()
                }),
                statistic: Some(statistic.clone()),
                unit: unit.clone(),
                metrics: None,
            }),
        ),
    };
    TargetTrackingScalingPolicyConfiguration {
        target_value: c.target_value,
        predefined_metric_specification: predefined,
        customized_metric_specification: customized,
        scale_out_cooldown: c.scale_out_cooldown,
        scale_in_cooldown: c.scale_in_cooldown,
        disable_scale_in: c.disable_scale_in,
    }
}

/// The step configuration as DescribeScalingPolicies shows it.
pub fn step_to_wire(c: &StepConfig) -> StepScalingPolicyConfiguration {
    StepScalingPolicyConfiguration {
        adjustment_type: Some(c.adjustment_type.clone()),
        step_adjustments: Some(
            c.steps
                .iter()
                .map(|s| StepAdjustment {
                    metric_interval_lower_bound: s.lower,
                    metric_interval_upper_bound: s.upper,
                    scaling_adjustment: s.adjustment,
                })
                .collect(),
        ),
        min_adjustment_magnitude: c.min_adjustment_magnitude,
        cooldown: c.cooldown,
        metric_aggregation_type: c.metric_aggregation_type.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracking(json: serde_json::Value) -> PutScalingPolicyRequest {
        PutScalingPolicyRequest {
            policy_name: "p".into(),
            service_namespace: "ecs".into(),
            resource_id: "service/c/s".into(),
            scalable_dimension: "ecs:service:DesiredCount".into(),
            policy_type: Some("TargetTrackingScaling".into()),
            target_tracking_scaling_policy_configuration: serde_json::from_value(json).ok(),
            ..Default::default()
        }
    }

    #[test]
    fn seed_002_policy_is_accepted_as_given() {
        let input = tracking(serde_json::json!({
            "TargetValue": 60.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            "ScaleOutCooldown": 30,
            "ScaleInCooldown": 120
        }));
        let config = from_request(&input).unwrap_or_else(|e| panic!("{e}"));
        let PolicyConfig::TargetTracking(t) = &config else {
            panic!("{config:?}")
        };
        assert_eq!(
            (t.scale_out_cooldown, t.scale_in_cooldown),
            (Some(30), Some(120))
        );
        let wire = tracking_to_wire(t);
        assert_eq!(
            Some(wire),
            input.target_tracking_scaling_policy_configuration
        );
    }

    #[test]
    fn bad_configurations_are_refused() {
        let cases = [
            serde_json::json!({"TargetValue": 0.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}),
            serde_json::json!({"TargetValue": 50.0}),
            serde_json::json!({"TargetValue": 50.0, "ScaleInCooldown": -1, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}),
            serde_json::json!({"TargetValue": 50.0, "CustomizedMetricSpecification": {"Metrics": [{"Id": "m1", "Expression": "1"}]}}),
            serde_json::json!({"TargetValue": 50.0, "CustomizedMetricSpecification": {"MetricName": "x", "Namespace": "n"}}),
        ];
        for c in cases {
            assert!(
                matches!(
                    from_request(&tracking(c.clone())),
                    Err(Error::ValidationException(_))
                ),
                "{c}"
            );
        }
        let mut missing = tracking(serde_json::json!(null));
        missing.target_tracking_scaling_policy_configuration = None;
        assert!(from_request(&missing).is_err());
        missing.policy_type = Some("PredictiveScaling".into());
        assert!(
            matches!(from_request(&missing), Err(Error::ValidationException(m)) if m.contains("PredictiveScaling"))
        );
    }

    #[test]
    fn step_policies_default_and_check_their_steps() {
        let mut input = PutScalingPolicyRequest {
            step_scaling_policy_configuration: serde_json::from_value(serde_json::json!({
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 2}],
                "Cooldown": 60
            }))
            .ok(),
            ..Default::default()
        };
        assert!(matches!(from_request(&input), Ok(PolicyConfig::Step(_))));
        if let Some(c) = input.step_scaling_policy_configuration.as_mut() {
            c.min_adjustment_magnitude = Some(2);
        }
        assert!(
            matches!(from_request(&input), Err(Error::ValidationException(m)) if m.contains("MinAdjustmentMagnitude"))
        );
    }
}
