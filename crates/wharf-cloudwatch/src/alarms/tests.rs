//! The alarm operations over a real store on a fake clock: validation, listing, history,
//! state changes and their actions, tags, managed alarms, and the loop's evaluation step.

use super::runner::{evaluate_due, Due};
use crate::alarms_api as api;
use crate::generated::*;
use crate::CloudWatch;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wharf_core::ids::RandomIds;
use wharf_core::{
    AlarmActionHandler, AlarmInvocation, AlarmMetric, Clock, FakeClock, ManagedAlarm, MetricTime,
    RequestContext, Timestamp,
};
use wharf_store::Store;

/// 2026-12-07T16:40:00Z.
const T0: i64 = 1_796_661_600_000;
const POLICY: &str = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1b2c:resource/ecs/service/c/s:policyName/p";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ops";

/// Records the invocations it gets; fails for ARNs ending in `fail`.
#[derive(Default)]
struct Policies(Mutex<Vec<(String, AlarmInvocation)>>);

impl AlarmActionHandler for Policies {
    fn handles(&self, arn: &str) -> bool {
        arn.starts_with("arn:aws:autoscaling:")
    }

    fn invoke(&self, arn: &str, invocation: &AlarmInvocation) -> Result<(), String> {
        self.0
            .lock()
            .unwrap()
            .push((arn.to_string(), invocation.clone()));
        if arn.ends_with("fail") {
            return Err("no such policy".into());
        }
        Ok(())
    }
}

struct Env {
    cw: Arc<CloudWatch>,
    clock: Arc<FakeClock>,
    policies: Arc<Policies>,
    _dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("s.db")).unwrap());
        let clock = Arc::new(FakeClock::new(Timestamp::from_millis(T0)));
        let cw = Arc::new(CloudWatch::new(
            store,
            Arc::new(RandomIds),
            clock.clone(),
            MetricTime::default(),
        ));
        let policies = Arc::new(Policies::default());
        cw.add_action_handler(policies.clone());
        Env {
            cw,
            clock,
            policies,
            _dir: dir,
        }
    }

    fn ctx(&self) -> RequestContext {
        RequestContext::for_tests("us-east-1", "123456789012", self.clock.now())
    }

    fn put(&self, input: PutMetricAlarmInput) -> Result<(), Error> {
        api::put_metric_alarm(&self.cw, &self.ctx(), input)
    }

    fn describe(&self, input: DescribeAlarmsInput) -> Vec<MetricAlarm> {
        api::describe_alarms(&self.cw, &self.ctx(), input)
            .unwrap()
            .metric_alarms
            .unwrap()
    }

    fn alarm(&self, name: &str) -> MetricAlarm {
        let found = self.describe(DescribeAlarmsInput {
            alarm_names: Some(vec![name.into()]),
            ..Default::default()
        });
        assert_eq!(found.len(), 1, "alarm {name}");
        found.into_iter().next().unwrap()
    }

    fn history(&self, input: DescribeAlarmHistoryInput) -> Vec<AlarmHistoryItem> {
        api::describe_alarm_history(&self.cw, &self.ctx(), input)
            .unwrap()
            .alarm_history_items
            .unwrap()
    }

    fn history_of(&self, name: &str, kind: &str) -> Vec<AlarmHistoryItem> {
        self.history(DescribeAlarmHistoryInput {
            alarm_name: Some(name.into()),
            history_item_type: Some(kind.into()),
            ..Default::default()
        })
    }
}

fn cpu_alarm(name: &str) -> PutMetricAlarmInput {
    PutMetricAlarmInput {
        alarm_name: name.into(),
        metric_name: Some("CPUUtilization".into()),
        namespace: Some("App".into()),
        statistic: Some("Average".into()),
        dimensions: Some(vec![Dimension {
            name: "Service".into(),
            value: "web".into(),
        }]),
        period: Some(60),
        evaluation_periods: Some(3),
        threshold: Some(75.0),
        comparison_operator: Some("GreaterThanThreshold".into()),
        ..Default::default()
    }
}

fn code(e: &Error) -> &'static str {
    e.shape()
}

#[test]
fn a_new_alarm_is_insufficient_data_and_its_creation_is_in_the_history() {
    let env = Env::new();
    env.put(PutMetricAlarmInput {
        alarm_description: Some("cpu high".into()),
        alarm_actions: Some(vec![POLICY.into()]),
        tags: Some(vec![Tag {
            key: "team".into(),
            value: "ops".into(),
        }]),
        ..cpu_alarm("cpu-high")
    })
    .unwrap();
    let a = env.alarm("cpu-high");
    assert_eq!(
        a.alarm_arn.as_deref(),
        Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high")
    );
    assert_eq!(a.state_value.as_deref(), Some("INSUFFICIENT_DATA"));
    assert_eq!(
        a.state_reason.as_deref(),
        Some("Unchecked: Initial alarm creation")
    );
    assert_eq!(a.actions_enabled, Some(true));
    assert_eq!(a.alarm_actions, Some(vec![POLICY.to_string()]));
    assert_eq!(a.ok_actions, Some(vec![]));
    assert_eq!(a.datapoints_to_alarm, None);
    assert_eq!(a.treat_missing_data, None);
    assert_eq!(a.state_updated_timestamp, Some(Timestamp::from_millis(T0)));
    let created = env.history_of("cpu-high", "ConfigurationUpdate");
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0].history_summary.as_deref(),
        Some("Alarm \"cpu-high\" created")
    );
    let data: serde_json::Value =
        serde_json::from_str(created[0].history_data.as_deref().unwrap()).unwrap();
    assert_eq!(data["type"], "Create");
    assert_eq!(data["createdAlarm"]["alarmName"], "cpu-high");
    assert_eq!(data["createdAlarm"]["threshold"], 75.0);

    // Replacing keeps the state and the tags (tags on update are ignored, as on AWS).
    env.clock.advance(1_000);
    env.put(PutMetricAlarmInput {
        threshold: Some(80.0),
        tags: Some(vec![Tag {
            key: "other".into(),
            value: "x".into(),
        }]),
        ..cpu_alarm("cpu-high")
    })
    .unwrap();
    let a = env.alarm("cpu-high");
    assert_eq!(a.threshold, Some(80.0));
    assert_eq!(
        a.alarm_configuration_updated_timestamp,
        Some(Timestamp::from_millis(T0 + 1_000))
    );
    let tags = api::list_tags_for_resource(
        &env.cw,
        &env.ctx(),
        ListTagsForResourceInput {
            resource_arn: a.alarm_arn.unwrap(),
        },
    )
    .unwrap()
    .tags
    .unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].key, "team");
    let updates = env.history_of("cpu-high", "ConfigurationUpdate");
    assert_eq!(
        updates[0].history_summary.as_deref(),
        Some("Alarm \"cpu-high\" updated")
    );
}

#[test]
fn put_metric_alarm_refuses_what_aws_refuses() {
    let env = Env::new();
    let refused = |input: PutMetricAlarmInput| env.put(input).unwrap_err();
    let e = refused(PutMetricAlarmInput {
        datapoints_to_alarm: Some(4),
        ..cpu_alarm("a")
    });
    assert_eq!(code(&e), "ValidationError");
    assert_eq!(
        e.message(),
        "DatapointsToAlarm must be less than or equal to EvaluationPeriods"
    );
    let e = refused(PutMetricAlarmInput {
        period: Some(45),
        ..cpu_alarm("a")
    });
    assert_eq!(code(&e), "InvalidParameterValueException");
    assert!(e.message().contains("Period"), "{e}");
    let e = refused(PutMetricAlarmInput {
        extended_statistic: Some("p99".into()),
        ..cpu_alarm("a")
    });
    assert_eq!(code(&e), "InvalidParameterCombinationException");
    let e = refused(PutMetricAlarmInput {
        statistic: None,
        ..cpu_alarm("a")
    });
    assert_eq!(code(&e), "MissingRequiredParameterException");
    let e = refused(PutMetricAlarmInput {
        statistic: None,
        extended_statistic: Some("median".into()),
        ..cpu_alarm("a")
    });
    assert_eq!(code(&e), "InvalidParameterValueException");
    let e = refused(PutMetricAlarmInput {
        evaluation_periods: None,
        ..cpu_alarm("a")
    });
    assert_eq!(e.message(), "The parameter EvaluationPeriods is required.");
    let e = refused(PutMetricAlarmInput {
        threshold: None,
        ..cpu_alarm("a")
    });
    assert_eq!(code(&e), "MissingRequiredParameterException");
    let e = refused(PutMetricAlarmInput {
        comparison_operator: Some("LessThanLowerOrGreaterThanUpperThreshold".into()),
        ..cpu_alarm("a")
    });
    assert!(e.message().contains("anomaly detection"), "{e}");
    let e = refused(PutMetricAlarmInput {
        treat_missing_data: Some("sometimes".into()),
        ..cpu_alarm("a")
    });
    assert_eq!(code(&e), "InvalidParameterValueException");
    let e = refused(PutMetricAlarmInput {
        period: Some(3600),
        evaluation_periods: Some(200),
        ..cpu_alarm("a")
    });
    assert!(
        e.message()
            .starts_with("Metrics cannot be checked across more than a week"),
        "{e}"
    );
    let e = refused(PutMetricAlarmInput {
        alarm_actions: Some(vec![TOPIC.to_string(); 6]),
        ..cpu_alarm("a")
    });
    assert_eq!(code(&e), "LimitExceededFault");
    let e = refused(PutMetricAlarmInput {
        ok_actions: Some(vec!["not-an-arn".into()]),
        ..cpu_alarm("a")
    });
    assert_eq!(code(&e), "ValidationError");
    let e = refused(PutMetricAlarmInput {
        tags: Some(vec![Tag {
            key: "aws:owner".into(),
            value: "x".into(),
        }]),
        ..cpu_alarm("a")
    });
    assert_eq!(code(&e), "InvalidParameterValueException");
    // Nothing was created.
    assert!(env.describe(DescribeAlarmsInput::default()).is_empty());
}

fn math_alarm(name: &str, queries: Vec<MetricDataQuery>) -> PutMetricAlarmInput {
    PutMetricAlarmInput {
        alarm_name: name.into(),
        metrics: Some(queries),
        evaluation_periods: Some(2),
        threshold: Some(10.0),
        comparison_operator: Some("GreaterThanOrEqualToThreshold".into()),
        ..Default::default()
    }
}

fn stat_query(id: &str, metric: &str) -> MetricDataQuery {
    MetricDataQuery {
        id: id.into(),
        metric_stat: Some(MetricStat {
            metric: Metric {
                namespace: Some("App".into()),
                metric_name: Some(metric.into()),
                dimensions: None,
            },
            period: 60,
            stat: "Sum".into(),
            unit: None,
        }),
        return_data: Some(false),
        ..Default::default()
    }
}

#[test]
fn metric_math_alarms_need_exactly_one_returning_expression() {
    let env = Env::new();
    let expression = MetricDataQuery {
        id: "e1".into(),
        expression: Some("m1 + m2".into()),
        ..Default::default()
    };
    env.put(math_alarm(
        "math",
        vec![
            stat_query("m1", "Errors"),
            stat_query("m2", "Faults"),
            expression.clone(),
        ],
    ))
    .unwrap();
    let a = env.alarm("math");
    assert_eq!(a.metric_name, None);
    assert_eq!(a.metrics.as_ref().map(Vec::len), Some(3));
    assert_eq!(a.metrics.unwrap()[2].expression.as_deref(), Some("m1 + m2"));

    let mut both = stat_query("m1", "Errors");
    both.return_data = None; // defaults to true
    let e = env
        .put(math_alarm("m", vec![both, expression.clone()]))
        .unwrap_err();
    assert_eq!(
        e.message(),
        "Exactly one element of the metrics list should return data."
    );
    let e = env
        .put(PutMetricAlarmInput {
            metric_name: Some("Errors".into()),
            ..math_alarm("m", vec![stat_query("m1", "Errors"), expression.clone()])
        })
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterCombinationException");
    let e = env
        .put(math_alarm(
            "m",
            vec![stat_query("M1", "Errors"), expression.clone()],
        ))
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");
}

#[test]
fn describe_alarms_filters_and_pages() {
    let env = Env::new();
    for name in ["web-cpu", "web-mem", "db-cpu"] {
        env.put(PutMetricAlarmInput {
            alarm_actions: Some(if name == "db-cpu" {
                vec![TOPIC.into()]
            } else {
                vec![]
            }),
            ..cpu_alarm(name)
        })
        .unwrap();
    }
    let names = |alarms: Vec<MetricAlarm>| -> Vec<String> {
        alarms.into_iter().filter_map(|a| a.alarm_name).collect()
    };
    assert_eq!(
        names(env.describe(DescribeAlarmsInput::default())),
        ["db-cpu", "web-cpu", "web-mem"]
    );
    assert_eq!(
        names(env.describe(DescribeAlarmsInput {
            alarm_name_prefix: Some("web-".into()),
            ..Default::default()
        })),
        ["web-cpu", "web-mem"]
    );
    assert_eq!(
        names(env.describe(DescribeAlarmsInput {
            action_prefix: Some("arn:aws:sns:".into()),
            ..Default::default()
        })),
        ["db-cpu"]
    );
    assert!(env
        .describe(DescribeAlarmsInput {
            state_value: Some("ALARM".into()),
            ..Default::default()
        })
        .is_empty());
    assert!(env
        .describe(DescribeAlarmsInput {
            alarm_types: Some(vec!["CompositeAlarm".into()]),
            ..Default::default()
        })
        .is_empty());
    assert!(env
        .describe(DescribeAlarmsInput {
            children_of_alarm_name: Some("web-cpu".into()),
            ..Default::default()
        })
        .is_empty());
    let e = api::describe_alarms(
        &env.cw,
        &env.ctx(),
        DescribeAlarmsInput {
            alarm_names: Some(vec!["a".into()]),
            alarm_name_prefix: Some("a".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterCombinationException");

    let first = api::describe_alarms(
        &env.cw,
        &env.ctx(),
        DescribeAlarmsInput {
            max_records: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(names(first.metric_alarms.unwrap()), ["db-cpu", "web-cpu"]);
    let second = api::describe_alarms(
        &env.cw,
        &env.ctx(),
        DescribeAlarmsInput {
            max_records: Some(2),
            next_token: first.next_token,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(names(second.metric_alarms.unwrap()), ["web-mem"]);
    assert_eq!(second.next_token, None);

    let for_metric = api::describe_alarms_for_metric(
        &env.cw,
        &env.ctx(),
        DescribeAlarmsForMetricInput {
            namespace: "App".into(),
            metric_name: "CPUUtilization".into(),
            dimensions: Some(vec![Dimension {
                name: "Service".into(),
                value: "web".into(),
            }]),
            statistic: Some("Average".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(for_metric.metric_alarms.map(|a| a.len()), Some(3));
    let other = api::describe_alarms_for_metric(
        &env.cw,
        &env.ctx(),
        DescribeAlarmsForMetricInput {
            namespace: "App".into(),
            metric_name: "CPUUtilization".into(),
            dimensions: Some(vec![]),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(other.metric_alarms.map(|a| a.len()), Some(0));
}

#[test]
fn delete_alarms_deletes_nothing_when_one_is_missing() {
    let env = Env::new();
    env.put(cpu_alarm("a")).unwrap();
    let e = api::delete_alarms(
        &env.cw,
        &env.ctx(),
        DeleteAlarmsInput {
            alarm_names: vec!["a".into(), "nope".into()],
        },
    )
    .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFound");
    assert!(e.message().contains("nope"));
    assert_eq!(env.describe(DescribeAlarmsInput::default()).len(), 1);
    api::delete_alarms(
        &env.cw,
        &env.ctx(),
        DeleteAlarmsInput {
            alarm_names: vec!["a".into()],
        },
    )
    .unwrap();
    assert!(env.describe(DescribeAlarmsInput::default()).is_empty());
    // The history outlives the alarm.
    assert_eq!(
        env.history_of("a", "ConfigurationUpdate")[0]
            .history_summary
            .as_deref(),
        Some("Alarm \"a\" deleted")
    );
}

#[test]
fn set_alarm_state_records_the_change_and_runs_the_actions() {
    let env = Env::new();
    env.put(PutMetricAlarmInput {
        alarm_actions: Some(vec![POLICY.into(), TOPIC.into()]),
        ..cpu_alarm("a")
    })
    .unwrap();
    let set = |state: &str, data: Option<&str>| {
        api::set_alarm_state(
            &env.cw,
            &env.ctx(),
            SetAlarmStateInput {
                alarm_name: "a".into(),
                state_value: state.into(),
                state_reason: "testing".into(),
                state_reason_data: data.map(str::to_string),
            },
        )
    };
    assert_eq!(
        code(&set("ALARM", Some("{not json")).unwrap_err()),
        "InvalidFormatFault"
    );
    let e = api::set_alarm_state(
        &env.cw,
        &env.ctx(),
        SetAlarmStateInput {
            alarm_name: "nope".into(),
            state_value: "OK".into(),
            state_reason: "x".into(),
            state_reason_data: None,
        },
    )
    .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFound");

    env.clock.advance(2_000);
    set("ALARM", Some("{\"why\": 1}")).unwrap();
    let a = env.alarm("a");
    assert_eq!(a.state_value.as_deref(), Some("ALARM"));
    assert_eq!(a.state_reason.as_deref(), Some("testing"));
    assert_eq!(a.state_reason_data.as_deref(), Some("{\"why\": 1}"));
    assert_eq!(
        a.state_transitioned_timestamp,
        Some(Timestamp::from_millis(T0 + 2_000))
    );
    let invoked = env.policies.0.lock().unwrap().clone();
    assert_eq!(invoked.len(), 1);
    assert_eq!(invoked[0].0, POLICY);
    assert_eq!(invoked[0].1.state, "ALARM");
    assert_eq!(invoked[0].1.threshold, 75.0);

    let updates = env.history_of("a", "StateUpdate");
    assert_eq!(
        updates[0].history_summary.as_deref(),
        Some("Alarm updated from INSUFFICIENT_DATA to ALARM")
    );
    let data: serde_json::Value =
        serde_json::from_str(updates[0].history_data.as_deref().unwrap()).unwrap();
    assert_eq!(data["oldState"]["stateValue"], "INSUFFICIENT_DATA");
    assert_eq!(data["newState"]["stateReason"], "testing");
    assert_eq!(data["newState"]["stateReasonData"]["why"], 1);
    let mut actions: Vec<String> = env
        .history_of("a", "Action")
        .into_iter()
        .filter_map(|h| h.history_summary)
        .collect();
    actions.sort();
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0], format!("Failed to execute action {TOPIC}: wharf does not deliver this kind of action (it is kept and listed)"));
    assert_eq!(actions[1], format!("Successfully executed action {POLICY}"));

    // Disabled actions do not run.
    api::disable_alarm_actions(
        &env.cw,
        &env.ctx(),
        DisableAlarmActionsInput {
            alarm_names: vec!["a".into(), "unknown".into()],
        },
    )
    .unwrap();
    assert_eq!(env.alarm("a").actions_enabled, Some(false));
    set("OK", None).unwrap();
    set("ALARM", None).unwrap();
    assert_eq!(env.policies.0.lock().unwrap().len(), 1);
    api::enable_alarm_actions(
        &env.cw,
        &env.ctx(),
        EnableAlarmActionsInput {
            alarm_names: vec!["a".into()],
        },
    )
    .unwrap();
    assert_eq!(env.alarm("a").actions_enabled, Some(true));
}

#[test]
fn a_failing_action_is_recorded_not_raised() {
    let env = Env::new();
    let failing = format!("{POLICY}fail");
    env.put(PutMetricAlarmInput {
        alarm_actions: Some(vec![failing.clone()]),
        ..cpu_alarm("a")
    })
    .unwrap();
    api::set_alarm_state(
        &env.cw,
        &env.ctx(),
        SetAlarmStateInput {
            alarm_name: "a".into(),
            state_value: "ALARM".into(),
            state_reason: "r".into(),
            state_reason_data: None,
        },
    )
    .unwrap();
    let action = &env.history_of("a", "Action")[0];
    assert_eq!(
        action.history_summary.as_deref(),
        Some(
            format!("Failed to execute action {failing}. Received error: \"no such policy\"")
                .as_str()
        )
    );
}

#[test]
fn tags_on_alarm_arns() {
    let env = Env::new();
    env.put(cpu_alarm("a")).unwrap();
    let arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a".to_string();
    let tag = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    api::tag_resource(
        &env.cw,
        &env.ctx(),
        TagResourceInput {
            resource_arn: arn.clone(),
            tags: vec![tag("a", "1"), tag("b", "2")],
        },
    )
    .unwrap();
    api::tag_resource(
        &env.cw,
        &env.ctx(),
        TagResourceInput {
            resource_arn: arn.clone(),
            tags: vec![tag("a", "3")],
        },
    )
    .unwrap();
    api::untag_resource(
        &env.cw,
        &env.ctx(),
        UntagResourceInput {
            resource_arn: arn.clone(),
            tag_keys: vec!["b".into()],
        },
    )
    .unwrap();
    let tags = api::list_tags_for_resource(
        &env.cw,
        &env.ctx(),
        ListTagsForResourceInput {
            resource_arn: arn.clone(),
        },
    )
    .unwrap()
    .tags
    .unwrap();
    assert_eq!(tags, vec![tag("a", "3")]);
    for missing in [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:nope",
        "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a",
        "not an arn",
    ] {
        let e = api::list_tags_for_resource(
            &env.cw,
            &env.ctx(),
            ListTagsForResourceInput {
                resource_arn: missing.into(),
            },
        )
        .unwrap_err();
        assert_eq!(code(&e), "ResourceNotFoundException", "{missing}");
    }
    let e = api::tag_resource(
        &env.cw,
        &env.ctx(),
        TagResourceInput {
            resource_arn: arn,
            tags: (0..51).map(|i| tag(&format!("k{i}"), "v")).collect(),
        },
    )
    .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterValueException");
}

fn target_tracking_high() -> ManagedAlarm {
    ManagedAlarm {
        name: "TargetTracking-service/c/s-AlarmHigh-0f1e".into(),
        description: "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy p.".into(),
        metric: AlarmMetric {
            namespace: "AWS/ECS".into(),
            metric_name: "CPUUtilization".into(),
            dimensions: vec![
                ("ClusterName".into(), "c".into()),
                ("ServiceName".into(), "s".into()),
            ],
            statistic: "Average".into(),
            unit: None,
        },
        period_seconds: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: 3,
        threshold: 50.0,
        comparison_operator: "GreaterThanThreshold".into(),
        treat_missing_data: "missing".into(),
        alarm_actions: vec![POLICY.into()],
    }
}

#[test]
fn managed_alarms_are_listed_like_any_alarm() {
    let env = Env::new();
    let arn = api::put_managed(
        &env.cw,
        "123456789012",
        "us-east-1",
        target_tracking_high(),
        env.clock.now(),
    )
    .unwrap();
    assert_eq!(
        arn,
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:TargetTracking-service/c/s-AlarmHigh-0f1e"
    );
    let a = env.alarm("TargetTracking-service/c/s-AlarmHigh-0f1e");
    assert_eq!(
        a.alarm_description.as_deref(),
        Some("DO NOT EDIT OR DELETE. For TargetTrackingScaling policy p.")
    );
    assert_eq!(a.alarm_actions, Some(vec![POLICY.to_string()]));
    assert_eq!(a.namespace.as_deref(), Some("AWS/ECS"));
    assert_eq!(a.datapoints_to_alarm, Some(3));
    api::delete_managed(
        &env.cw,
        "123456789012",
        "us-east-1",
        &[
            "TargetTracking-service/c/s-AlarmHigh-0f1e".into(),
            "gone".into(),
        ],
    )
    .unwrap();
    assert!(env.describe(DescribeAlarmsInput::default()).is_empty());
}

#[test]
fn the_loop_changes_state_and_repeats_auto_scaling_actions_each_period() {
    let env = Env::new();
    env.put(PutMetricAlarmInput {
        treat_missing_data: Some("breaching".into()),
        evaluation_periods: Some(2),
        alarm_actions: Some(vec![POLICY.into(), TOPIC.into()]),
        ..cpu_alarm("a")
    })
    .unwrap();
    let mut schedule: HashMap<String, Due> = HashMap::new();
    env.clock.advance(1_000);
    evaluate_due(&env.cw, &mut schedule);
    let a = env.alarm("a");
    assert_eq!(a.state_value.as_deref(), Some("ALARM"));
    assert_eq!(
        a.state_reason.as_deref(),
        Some("Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching].")
    );
    assert_eq!(env.policies.0.lock().unwrap().len(), 1);
    assert_eq!(env.history_of("a", "Action").len(), 2);

    // Not due again within the minute.
    env.clock.advance(10_000);
    evaluate_due(&env.cw, &mut schedule);
    assert_eq!(env.policies.0.lock().unwrap().len(), 1);

    // A period later, still in ALARM: the scaling policy runs again, SNS does not.
    env.clock.advance(60_000);
    evaluate_due(&env.cw, &mut schedule);
    assert_eq!(env.policies.0.lock().unwrap().len(), 2);
    assert_eq!(env.history_of("a", "Action").len(), 3);
    assert_eq!(env.history_of("a", "StateUpdate").len(), 1);
}

#[test]
fn history_is_filtered_ordered_and_paged() {
    let env = Env::new();
    env.put(cpu_alarm("a")).unwrap();
    env.clock.advance(1_000);
    env.put(cpu_alarm("b")).unwrap();
    env.clock.advance(1_000);
    for state in ["ALARM", "OK"] {
        api::set_alarm_state(
            &env.cw,
            &env.ctx(),
            SetAlarmStateInput {
                alarm_name: "a".into(),
                state_value: state.into(),
                state_reason: "r".into(),
                state_reason_data: None,
            },
        )
        .unwrap();
        env.clock.advance(1_000);
    }
    let all = env.history(DescribeAlarmHistoryInput::default());
    let summaries: Vec<&str> = all
        .iter()
        .filter_map(|h| h.history_summary.as_deref())
        .collect();
    assert_eq!(
        summaries,
        [
            "Alarm updated from ALARM to OK",
            "Alarm updated from INSUFFICIENT_DATA to ALARM",
            "Alarm \"b\" created",
            "Alarm \"a\" created"
        ]
    );
    let ascending = env.history(DescribeAlarmHistoryInput {
        scan_by: Some("TimestampAscending".into()),
        alarm_name: Some("a".into()),
        ..Default::default()
    });
    assert_eq!(
        ascending[0].history_summary.as_deref(),
        Some("Alarm \"a\" created")
    );
    assert_eq!(ascending.len(), 3);
    let window = env.history(DescribeAlarmHistoryInput {
        start_date: Some(Timestamp::from_millis(T0 + 1_000)),
        end_date: Some(Timestamp::from_millis(T0 + 2_000)),
        ..Default::default()
    });
    assert_eq!(window.len(), 2);
    let page = api::describe_alarm_history(
        &env.cw,
        &env.ctx(),
        DescribeAlarmHistoryInput {
            max_records: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(page.alarm_history_items.map(|i| i.len()), Some(3));
    let rest = api::describe_alarm_history(
        &env.cw,
        &env.ctx(),
        DescribeAlarmHistoryInput {
            max_records: Some(3),
            next_token: page.next_token,
            ..Default::default()
        },
    )
    .unwrap();
    let rest = rest.alarm_history_items.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(
        rest[0].history_summary.as_deref(),
        Some("Alarm \"a\" created")
    );
    let e = api::describe_alarm_history(
        &env.cw,
        &env.ctx(),
        DescribeAlarmHistoryInput {
            next_token: Some("bogus!".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(code(&e), "InvalidNextToken");
}

/// Publishes `value` of `App`/`metric` (dimension Service=web) at `at`.
fn publish(env: &Env, metric: &str, at: i64, value: f64) {
    crate::metrics_api::put_metric_data(
        &env.cw,
        &env.ctx(),
        PutMetricDataInput {
            namespace: "App".into(),
            metric_data: Some(vec![MetricDatum {
                metric_name: metric.into(),
                dimensions: Some(vec![Dimension {
                    name: "Service".into(),
                    value: "web".into(),
                }]),
                timestamp: Some(Timestamp::from_millis(at)),
                value: Some(value),
                ..Default::default()
            }]),
            ..Default::default()
        },
    )
    .unwrap();
}

#[test]
fn a_metric_math_alarm_is_evaluated_on_its_expression() {
    let env = Env::new();
    let mut errors = stat_query("m1", "Errors");
    let mut requests = stat_query("m2", "Requests");
    for q in [&mut errors, &mut requests] {
        if let Some(s) = q.metric_stat.as_mut() {
            s.metric.dimensions = Some(vec![Dimension {
                name: "Service".into(),
                value: "web".into(),
            }]);
        }
    }
    let rate = MetricDataQuery {
        id: "e1".into(),
        expression: Some("m1 / m2 * 100".into()),
        label: Some("error rate".into()),
        ..Default::default()
    };
    env.put(PutMetricAlarmInput {
        evaluation_periods: Some(1),
        threshold: Some(5.0),
        ..math_alarm("rate", vec![errors, requests, rate])
    })
    .unwrap();
    publish(&env, "Errors", T0 - 60_000, 10.0);
    publish(&env, "Requests", T0 - 60_000, 100.0);
    env.clock.advance(1_000);
    evaluate_due(&env.cw, &mut HashMap::new());
    let a = env.alarm("rate");
    assert_eq!(
        a.state_value.as_deref(),
        Some("ALARM"),
        "{:?}",
        a.state_reason
    );
    assert_eq!(
        a.state_reason.as_deref(),
        Some("Threshold Crossed: 1 datapoint [10.0 (07/12/26 16:39:00)] was greater than or equal to the threshold (5.0).")
    );
    let data: serde_json::Value =
        serde_json::from_str(a.state_reason_data.as_deref().unwrap()).unwrap();
    assert_eq!(data["period"], 60);
    assert!(data.get("statistic").is_none());
}

#[test]
fn malformed_metric_math_is_refused() {
    let env = Env::new();
    let e = env
        .put(math_alarm(
            "m",
            vec![
                stat_query("m1", "Errors"),
                MetricDataQuery {
                    id: "e1".into(),
                    expression: Some("m1 +".into()),
                    ..Default::default()
                },
            ],
        ))
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");
    assert!(e.message().starts_with("Error in expression e1"), "{e}");
    let e = env
        .put(math_alarm(
            "m",
            vec![
                stat_query("m1", "Errors"),
                MetricDataQuery {
                    id: "e1".into(),
                    expression: Some("m1 + m9".into()),
                    ..Default::default()
                },
            ],
        ))
        .unwrap_err();
    assert_eq!(
        e.message(),
        "Error in expression e1: Unrecognized metric or expression id m9."
    );
}

#[test]
fn the_loop_follows_published_data_to_alarm_and_back_to_ok() {
    let env = Env::new();
    env.put(cpu_alarm("a")).unwrap();
    let publish = |at: i64, value: f64| publish(&env, "CPUUtilization", at, value);
    // Three breaching minutes before T0 + 1 min.
    for (i, v) in [81.2, 80.0, 90.0].iter().enumerate() {
        publish(T0 - 120_000 + i as i64 * 60_000, *v);
    }
    env.clock.advance(61_000);
    let mut schedule: HashMap<String, Due> = HashMap::new();
    evaluate_due(&env.cw, &mut schedule);
    let a = env.alarm("a");
    assert_eq!(
        a.state_value.as_deref(),
        Some("ALARM"),
        "{:?}",
        a.state_reason
    );
    assert_eq!(
        a.state_reason.as_deref(),
        Some("Threshold Crossed: 3 out of the last 3 datapoints [90.0 (07/12/26 16:40:00), 80.0 (07/12/26 16:39:00), 81.2 (07/12/26 16:38:00)] were greater than the threshold (75.0) (minimum 3 datapoints for OK -> ALARM transition).")
    );
    // The next minute is calm: one point that does not breach is enough for OK.
    publish(T0 + 60_000, 20.0);
    env.clock.advance(63_000);
    evaluate_due(&env.cw, &mut schedule);
    let a = env.alarm("a");
    assert_eq!(a.state_value.as_deref(), Some("OK"));
    assert_eq!(
        a.state_reason.as_deref(),
        Some("Threshold Crossed: 1 out of the last 3 datapoints [20.0 (07/12/26 16:41:00)] was not greater than the threshold (75.0) (minimum 1 datapoint for ALARM -> OK transition).")
    );
    let summaries: Vec<String> = env
        .history_of("a", "StateUpdate")
        .into_iter()
        .filter_map(|h| h.history_summary)
        .collect();
    assert_eq!(
        summaries,
        [
            "Alarm updated from ALARM to OK",
            "Alarm updated from INSUFFICIENT_DATA to ALARM"
        ]
    );
}

#[test]
fn history_older_than_thirty_days_is_removed_as_new_items_come() {
    let env = Env::new();
    env.put(cpu_alarm("old")).unwrap();
    env.clock.advance(super::history::RETENTION_MILLIS + 1_000);
    env.put(cpu_alarm("new")).unwrap();
    let all = env.history(DescribeAlarmHistoryInput::default());
    let summaries: Vec<&str> = all
        .iter()
        .filter_map(|h| h.history_summary.as_deref())
        .collect();
    assert_eq!(summaries, ["Alarm \"new\" created"]);
}
