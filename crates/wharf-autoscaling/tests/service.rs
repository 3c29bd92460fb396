//! Application Auto Scaling end to end in one process, over a temp-dir store, a fake clock and
//! fakes of its two neighbours: ECS services' desired counts (`ServiceCapacity`) and
//! CloudWatch's managed alarms (`AlarmRegistry`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use wharf_autoscaling::generated::*;
use wharf_autoscaling::{scaling_loop, AutoScaling};
use wharf_core::ids::RandomIds;
use wharf_core::{
    AlarmActionHandler, AlarmInvocation, AlarmRegistry, Clock, FakeClock, ManagedAlarm, MetricTime,
    RequestContext, ServiceCapacity, ServiceError, ServiceSize, Timestamp,
};
use wharf_store::Store;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const RESOURCE: &str = "service/blog-cluster/blog-api";
const DIM: &str = "ecs:service:DesiredCount";

/// ECS services by `cluster/service`: their desired counts.
#[derive(Default)]
struct FakeEcs {
    services: Mutex<BTreeMap<String, u32>>,
}

impl FakeEcs {
    fn desired(&self, name: &str) -> Option<u32> {
        self.services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .copied()
    }
    fn set(&self, name: &str, desired: Option<u32>) {
        let mut s = self.services.lock().unwrap_or_else(|e| e.into_inner());
        match desired {
            Some(d) => s.insert(name.to_string(), d),
            None => s.remove(name),
        };
    }
}

impl ServiceCapacity for FakeEcs {
    fn size(
        &self,
        _account: &str,
        _region: &str,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceSize>, ServiceError> {
        Ok(self
            .desired(&format!("{cluster}/{service}"))
            .map(|d| ServiceSize {
                desired: d,
                running: d,
            }))
    }

    fn set_desired(
        &self,
        _account: &str,
        _region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
        _now: Timestamp,
    ) -> Result<(), ServiceError> {
        self.set(&format!("{cluster}/{service}"), Some(desired));
        Ok(())
    }
}

/// CloudWatch's managed alarms by name.
#[derive(Default)]
struct FakeAlarms {
    alarms: Mutex<BTreeMap<String, ManagedAlarm>>,
}

impl FakeAlarms {
    fn get(&self) -> BTreeMap<String, ManagedAlarm> {
        self.alarms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl AlarmRegistry for FakeAlarms {
    fn put_managed_alarm(
        &self,
        account: &str,
        region: &str,
        alarm: ManagedAlarm,
        _now: Timestamp,
    ) -> Result<String, ServiceError> {
        let arn = format!("arn:aws:cloudwatch:{region}:{account}:alarm:{}", alarm.name);
        self.alarms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(alarm.name.clone(), alarm);
        Ok(arn)
    }

    fn alarms_with_action(
        &self,
        account: &str,
        region: &str,
        action_arn: &str,
    ) -> Result<Vec<(String, String)>, ServiceError> {
        Ok(self
            .get()
            .into_values()
            .filter(|a| a.alarm_actions.iter().any(|x| x == action_arn))
            .map(|a| {
                let arn = format!("arn:aws:cloudwatch:{region}:{account}:alarm:{}", a.name);
                (a.name, arn)
            })
            .collect())
    }

    fn delete_managed_alarms(
        &self,
        _account: &str,
        _region: &str,
        names: &[String],
    ) -> Result<(), ServiceError> {
        let mut a = self.alarms.lock().unwrap_or_else(|e| e.into_inner());
        for n in names {
            a.remove(n);
        }
        Ok(())
    }
}

struct World {
    _dir: tempfile::TempDir,
    clock: Arc<FakeClock>,
    ecs: Arc<FakeEcs>,
    alarms: Arc<FakeAlarms>,
    scaling: Arc<AutoScaling>,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Arc::new(Store::open(&dir.path().join("wharf.db")).unwrap_or_else(|e| panic!("{e}")));
        let clock = Arc::new(FakeClock::new(
            Timestamp::parse("2026-12-07T10:00:00Z").unwrap_or_default(),
        ));
        let ecs = Arc::new(FakeEcs::default());
        ecs.set("blog-cluster/blog-api", Some(2));
        let alarms = Arc::new(FakeAlarms::default());
        let scaling = Arc::new(AutoScaling::new(
            store,
            Arc::new(RandomIds),
            clock.clone(),
            MetricTime::default(),
            alarms.clone(),
            ecs.clone(),
        ));
        Self {
            _dir: dir,
            clock,
            ecs,
            alarms,
            scaling,
        }
    }

    fn ctx(&self) -> RequestContext {
        RequestContext::for_tests(REGION, ACCOUNT, self.clock.now())
    }

    fn register(&self, min: i32, max: i32) -> Result<RegisterScalableTargetResponse, Error> {
        self.scaling.register_scalable_target(
            &self.ctx(),
            RegisterScalableTargetRequest {
                service_namespace: "ecs".into(),
                resource_id: RESOURCE.into(),
                scalable_dimension: DIM.into(),
                min_capacity: Some(min),
                max_capacity: Some(max),
                ..Default::default()
            },
        )
    }

    fn put_cpu_policy(&self) -> PutScalingPolicyResponse {
        self.scaling
            .put_scaling_policy(
                &self.ctx(),
                PutScalingPolicyRequest {
                    policy_name: "cpu-target".into(),
                    service_namespace: "ecs".into(),
                    resource_id: RESOURCE.into(),
                    scalable_dimension: DIM.into(),
                    policy_type: Some("TargetTrackingScaling".into()),
                    target_tracking_scaling_policy_configuration: serde_json::from_value(
                        serde_json::json!({
                            "TargetValue": 60.0,
                            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
                            "ScaleOutCooldown": 30,
                            "ScaleInCooldown": 120
                        }),
                    )
                    .ok(),
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn invoke(&self, policy_arn: &str, alarm: &str, value: Option<f64>) -> Result<(), String> {
        self.scaling.invoke(
            policy_arn,
            &AlarmInvocation {
                account: ACCOUNT.into(),
                region: REGION.into(),
                alarm_name: alarm.into(),
                alarm_arn: format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}"),
                state: "ALARM".into(),
                threshold: 60.0,
                value,
                now: self.clock.now(),
            },
        )
    }

    fn activities(&self) -> Vec<ScalingActivity> {
        self.scaling
            .describe_scaling_activities(
                &self.ctx(),
                DescribeScalingActivitiesRequest {
                    service_namespace: "ecs".into(),
                    resource_id: Some(RESOURCE.into()),
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .scaling_activities
            .unwrap_or_default()
    }
}

#[test]
fn registering_a_target_of_a_missing_service_or_with_min_above_max_is_refused() {
    let w = World::new();
    w.ecs.set("blog-cluster/blog-api", None);
    assert_eq!(
        w.register(2, 10),
        Err(Error::ValidationException(format!(
            "ECS service doesn't exist: {RESOURCE}"
        )))
    );
    w.ecs.set("blog-cluster/blog-api", Some(2));
    assert!(
        matches!(w.register(5, 3), Err(Error::ValidationException(m)) if m.starts_with("Minimum capacity cannot be greater than maximum capacity"))
    );
    assert!(
        matches!(w.register(2, 10), Ok(r) if r.scalable_target_arn.as_deref().is_some_and(|a| a.starts_with("arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/")))
    );
}

#[test]
fn registering_brings_the_desired_count_within_bounds() {
    let w = World::new();
    w.register(3, 10).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.ecs.desired("blog-cluster/blog-api"), Some(3));
    let acts = w.activities();
    assert_eq!(acts.len(), 1);
    assert_eq!(acts[0].description, "Setting desired count to 3.");
    assert_eq!(acts[0].cause, "minimum capacity was set to 3");
    assert_eq!(acts[0].status_code, "Successful");
}

#[test]
fn target_tracking_alarms_scale_the_service_and_go_with_the_policy() {
    let w = World::new();
    w.register(2, 10).unwrap_or_else(|e| panic!("{e}"));
    let policy = w.put_cpu_policy();
    let names: Vec<String> = policy
        .alarms
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.alarm_name)
        .collect();
    assert_eq!(names.len(), 2);
    assert_eq!(w.alarms.get().len(), 2);
    let high = names
        .iter()
        .find(|n| n.contains("-AlarmHigh-"))
        .cloned()
        .unwrap_or_default();
    let low = names
        .iter()
        .find(|n| n.contains("-AlarmLow-"))
        .cloned()
        .unwrap_or_default();

    // CPU at 90 % of 2 tasks with a target of 60: 3 tasks.
    w.invoke(&policy.policy_arn, &high, Some(90.0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.ecs.desired("blog-cluster/blog-api"), Some(3));
    let out = &w.activities()[0];
    assert_eq!(out.description, "Setting desired count to 3.");
    assert_eq!(
        out.cause,
        format!("monitor alarm {high} in state ALARM triggered policy cpu-target")
    );
    assert_eq!(
        out.status_message.as_deref(),
        Some("Successfully set desired count to 3. Change successfully fulfilled by ecs.")
    );

    // AlarmLow during the scale-out cooldown (30 s): nothing; after it, back towards min.
    w.clock.advance(10_000);
    w.invoke(&policy.policy_arn, &low, Some(10.0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.ecs.desired("blog-cluster/blog-api"), Some(3));
    w.clock.advance(30_000);
    w.invoke(&policy.policy_arn, &low, Some(10.0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.ecs.desired("blog-cluster/blog-api"), Some(2));

    // At min: a not scaled activity, shown only with IncludeNotScaledActivities, once.
    w.clock.advance(200_000);
    for _ in 0..3 {
        w.invoke(&policy.policy_arn, &low, Some(10.0))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(w.activities().len(), 2);
    let all = w
        .scaling
        .describe_scaling_activities(
            &w.ctx(),
            DescribeScalingActivitiesRequest {
                service_namespace: "ecs".into(),
                include_not_scaled_activities: Some(true),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .scaling_activities
        .unwrap_or_default();
    assert_eq!(all.len(), 3);
    let reasons = all[0].not_scaled_reasons.clone().unwrap_or_default();
    assert_eq!(reasons[0].code, "AlreadyAtMinCapacity");
    assert_eq!(
        (reasons[0].min_capacity, reasons[0].current_capacity),
        (Some(2), Some(2))
    );

    w.scaling
        .delete_scaling_policy(
            &w.ctx(),
            DeleteScalingPolicyRequest {
                policy_name: "cpu-target".into(),
                service_namespace: "ecs".into(),
                resource_id: RESOURCE.into(),
                scalable_dimension: DIM.into(),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(w.alarms.get().is_empty());
    assert!(w.invoke(&policy.policy_arn, &high, Some(90.0)).is_err());
}

#[test]
fn replacing_a_policy_keeps_its_arn_and_replaces_its_alarms() {
    let w = World::new();
    w.register(2, 10).unwrap_or_else(|e| panic!("{e}"));
    let first = w.put_cpu_policy();
    let second = w.put_cpu_policy();
    assert_eq!(first.policy_arn, second.policy_arn);
    let now: Vec<String> = w.alarms.get().into_keys().collect();
    let second_names: Vec<String> = second
        .alarms
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.alarm_name)
        .collect();
    assert_eq!(now.len(), 2);
    assert!(second_names.iter().all(|n| now.contains(n)));
}

#[test]
fn deleting_the_service_deregisters_its_target_with_policies_and_alarms() {
    let w = World::new();
    w.register(2, 10).unwrap_or_else(|e| panic!("{e}"));
    w.put_cpu_policy();
    scaling_loop::pass(&w.scaling, true);
    assert_eq!(w.alarms.get().len(), 2);
    w.ecs.set("blog-cluster/blog-api", None);
    scaling_loop::pass(&w.scaling, true);
    assert!(w.alarms.get().is_empty());
    let targets = w
        .scaling
        .describe_scalable_targets(
            &w.ctx(),
            DescribeScalableTargetsRequest {
                service_namespace: "ecs".into(),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(targets.scalable_targets, Some(vec![]));
}

#[test]
fn a_scheduled_action_sets_min_and_max_then_the_desired_count() {
    let w = World::new();
    w.register(2, 10).unwrap_or_else(|e| panic!("{e}"));
    w.scaling
        .put_scheduled_action(
            &w.ctx(),
            PutScheduledActionRequest {
                service_namespace: "ecs".into(),
                schedule: Some("at(2026-12-07T10:05:00)".into()),
                scheduled_action_name: "morning".into(),
                resource_id: RESOURCE.into(),
                scalable_dimension: DIM.into(),
                scalable_target_action: Some(ScalableTargetAction {
                    min_capacity: Some(4),
                    max_capacity: Some(8),
                }),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    scaling_loop::pass(&w.scaling, false);
    assert_eq!(w.ecs.desired("blog-cluster/blog-api"), Some(2));
    w.clock.advance(5 * 60_000 + 1_000);
    scaling_loop::pass(&w.scaling, false);
    scaling_loop::pass(&w.scaling, false);
    assert_eq!(w.ecs.desired("blog-cluster/blog-api"), Some(4));
    let acts = w.activities();
    assert_eq!(acts.len(), 2, "{acts:?}");
    let set = acts
        .iter()
        .find(|a| a.cause == "scheduled action name morning was triggered");
    assert_eq!(
        set.map(|a| (a.description.as_str(), a.status_message.as_deref())),
        Some((
            "Setting min capacity to 4 and max capacity to 8",
            Some("Successfully set min capacity to 4 and max capacity to 8")
        ))
    );
    assert!(acts
        .iter()
        .any(|a| a.description == "Setting desired count to 4."
            && a.cause == "minimum capacity was set to 4"));
}

#[test]
fn tags_on_the_target_arn() {
    let w = World::new();
    let arn = w
        .register(2, 10)
        .unwrap_or_else(|e| panic!("{e}"))
        .scalable_target_arn
        .unwrap_or_default();
    let tags = BTreeMap::from([("env".to_string(), "prod".to_string())]);
    w.scaling
        .tag_resource(
            &w.ctx(),
            TagResourceRequest {
                resource_arn: arn.clone(),
                tags,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let listed = w
        .scaling
        .list_tags_for_resource(
            &w.ctx(),
            ListTagsForResourceRequest {
                resource_arn: arn.clone(),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        listed
            .tags
            .unwrap_or_default()
            .get("env")
            .map(String::as_str),
        Some("prod")
    );
    let missing = format!("{}0", &arn[..arn.len() - 1]);
    assert!(matches!(
        w.scaling.list_tags_for_resource(
            &w.ctx(),
            ListTagsForResourceRequest {
                resource_arn: missing
            }
        ),
        Err(Error::ResourceNotFoundException(_))
    ));
}

#[test]
fn a_step_policy_lists_the_alarms_that_invoke_it_and_scales_by_its_steps() {
    let w = World::new();
    w.register(1, 10).unwrap_or_else(|e| panic!("{e}"));
    let arn = w
        .scaling
        .put_scaling_policy(
            &w.ctx(),
            PutScalingPolicyRequest {
                policy_name: "steps".into(),
                service_namespace: "ecs".into(),
                resource_id: RESOURCE.into(),
                scalable_dimension: DIM.into(),
                policy_type: Some("StepScaling".into()),
                step_scaling_policy_configuration: serde_json::from_value(serde_json::json!({
                    "AdjustmentType": "PercentChangeInCapacity",
                    "MinAdjustmentMagnitude": 2,
                    "StepAdjustments": [
                        {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 20.0, "ScalingAdjustment": 10},
                        {"MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 100}
                    ],
                    "Cooldown": 60
                }))
                .ok(),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .policy_arn;
    assert!(w.alarms.get().is_empty(), "a step policy creates no alarm");
    let mut user_alarm = wharf_core::ManagedAlarm {
        name: "queue-high".into(),
        description: String::new(),
        metric: wharf_core::AlarmMetric {
            namespace: "Blog".into(),
            metric_name: "Queue".into(),
            dimensions: vec![],
            statistic: "Average".into(),
            unit: None,
        },
        period_seconds: 60,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        threshold: 60.0,
        comparison_operator: "GreaterThanThreshold".into(),
        treat_missing_data: "missing".into(),
        alarm_actions: vec![arn.clone()],
    };
    w.alarms
        .put_managed_alarm(ACCOUNT, REGION, user_alarm.clone(), w.clock.now())
        .unwrap_or_else(|e| panic!("{e}"));
    user_alarm.name = "unrelated".into();
    user_alarm.alarm_actions = vec![];
    w.alarms
        .put_managed_alarm(ACCOUNT, REGION, user_alarm, w.clock.now())
        .unwrap_or_else(|e| panic!("{e}"));
    let described = w
        .scaling
        .describe_scaling_policies(
            &w.ctx(),
            DescribeScalingPoliciesRequest {
                service_namespace: "ecs".into(),
                policy_names: Some(vec!["steps".into()]),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .scaling_policies
        .unwrap_or_default();
    let names: Vec<String> = described[0]
        .alarms
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.alarm_name)
        .collect();
    assert_eq!(names, vec!["queue-high".to_string()]);

    // 65 is 5 over the threshold: +10 % of 2 is under the magnitude of 2, so +2.
    w.invoke(&arn, "queue-high", Some(65.0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.ecs.desired("blog-cluster/blog-api"), Some(4));
    // 95 is 35 over: +100 %, after the 60 s cooldown.
    w.clock.advance(61_000);
    w.invoke(&arn, "queue-high", Some(95.0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.ecs.desired("blog-cluster/blog-api"), Some(8));
}

#[test]
fn suspended_scheduled_scaling_skips_the_instant_and_a_rate_runs_each_period() {
    let w = World::new();
    w.scaling
        .register_scalable_target(
            &w.ctx(),
            RegisterScalableTargetRequest {
                service_namespace: "ecs".into(),
                resource_id: RESOURCE.into(),
                scalable_dimension: DIM.into(),
                min_capacity: Some(1),
                max_capacity: Some(10),
                suspended_state: Some(SuspendedState {
                    scheduled_scaling_suspended: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    w.scaling
        .put_scheduled_action(
            &w.ctx(),
            PutScheduledActionRequest {
                service_namespace: "ecs".into(),
                schedule: Some("rate(5 minutes)".into()),
                scheduled_action_name: "every-5".into(),
                resource_id: RESOURCE.into(),
                scalable_dimension: DIM.into(),
                scalable_target_action: Some(ScalableTargetAction {
                    min_capacity: Some(3),
                    max_capacity: None,
                }),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    w.clock.advance(5 * 60_000 + 500);
    scaling_loop::pass(&w.scaling, false);
    assert_eq!(w.ecs.desired("blog-cluster/blog-api"), Some(2), "suspended");
    assert!(w.activities().is_empty());
    // Resumed: the next instant (10 minutes) runs; the skipped one does not run late.
    w.scaling
        .register_scalable_target(
            &w.ctx(),
            RegisterScalableTargetRequest {
                service_namespace: "ecs".into(),
                resource_id: RESOURCE.into(),
                scalable_dimension: DIM.into(),
                suspended_state: Some(SuspendedState {
                    scheduled_scaling_suspended: Some(false),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    scaling_loop::pass(&w.scaling, false);
    assert_eq!(w.ecs.desired("blog-cluster/blog-api"), Some(2));
    w.clock.advance(5 * 60_000);
    scaling_loop::pass(&w.scaling, false);
    assert_eq!(w.ecs.desired("blog-cluster/blog-api"), Some(3));
    let acts = w.activities();
    assert!(acts
        .iter()
        .any(|a| a.description == "Setting min capacity to 3"
            && a.cause == "scheduled action name every-5 was triggered"));
}
