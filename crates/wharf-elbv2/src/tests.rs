//! Behaviour of the operations together, over a temp-dir store, fake EC2 / ACM and a
//! recording data plane.

use crate::generated::*;
use crate::testing::*;
use crate::ListenerCertificates;
use std::sync::Arc;
use wharf_core::lb_plane::{ListenerProtocol, TargetHealthReport};
use wharf_core::CertificateUsers;

const CERT: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555";

fn https_listener(s: &Setup, lb: &str, tg: &str) -> Result<String, Error> {
    Ok(s.elb
        .create_listener(
            &s.ctx,
            CreateListenerInput {
                load_balancer_arn: lb.into(),
                protocol: Some("HTTPS".into()),
                port: Some(443),
                certificates: Some(vec![Certificate {
                    certificate_arn: Some(CERT.into()),
                    is_default: None,
                }]),
                default_actions: vec![forward(tg)],
                ..CreateListenerInput::default()
            },
        )?
        .listeners
        .unwrap()[0]
        .listener_arn
        .clone()
        .unwrap())
}

fn rule(
    s: &Setup,
    listener: &str,
    priority: i32,
    conditions: Vec<RuleCondition>,
    tg: &str,
) -> Result<String, Error> {
    Ok(s.elb
        .create_rule(
            &s.ctx,
            CreateRuleInput {
                listener_arn: listener.into(),
                conditions,
                priority,
                actions: vec![forward(tg)],
                ..CreateRuleInput::default()
            },
        )?
        .rules
        .unwrap()[0]
        .rule_arn
        .clone()
        .unwrap())
}

#[test]
fn load_balancer_as_aws_shows_it() {
    let s = setup();
    let out = s
        .elb
        .create_load_balancer(
            &s.ctx,
            CreateLoadBalancerInput {
                name: "blog-alb".into(),
                subnets: Some(vec![SUBNETS[1].into(), SUBNETS[0].into()]),
                tags: Some(vec![Tag {
                    key: "app".into(),
                    value: Some("blog".into()),
                }]),
                ..CreateLoadBalancerInput::default()
            },
        )
        .unwrap()
        .load_balancers
        .unwrap()
        .remove(0);
    let dns = out.dns_name.clone().unwrap();
    assert!(dns.starts_with("blog-alb-"), "{dns}");
    assert!(dns.ends_with(".us-east-1.elb.localhost"), "{dns}");
    assert_eq!(
        dns.len(),
        "blog-alb-".len() + 10 + ".us-east-1.elb.localhost".len()
    );
    assert_eq!(out.scheme.as_deref(), Some("internet-facing"));
    assert_eq!(out.vpc_id.as_deref(), Some(VPC));
    assert_eq!(out.security_groups, Some(vec![DEFAULT_SG.to_string()]));
    assert_eq!(out.state.unwrap().code.as_deref(), Some("provisioning"));
    assert_eq!(
        out.canonical_hosted_zone_id.as_deref(),
        Some("Z35SXDOTRQ7X7K")
    );
    let zones: Vec<String> = out
        .availability_zones
        .unwrap()
        .into_iter()
        .filter_map(|z| z.zone_name)
        .collect();
    assert_eq!(zones, vec!["us-east-1a", "us-east-1b"]);

    // Idempotent with the same settings; the same name otherwise is a duplicate.
    let again = s.lb("blog-alb");
    assert_eq!(Some(again), out.load_balancer_arn);
    let err = s
        .elb
        .create_load_balancer(
            &s.ctx,
            CreateLoadBalancerInput {
                name: "blog-alb".into(),
                subnets: Some(vec![SUBNETS[0].into(), SUBNETS[2].into()]),
                ..CreateLoadBalancerInput::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::DuplicateLoadBalancerNameException(_)),
        "{err}"
    );

    let described = s
        .elb
        .describe_load_balancers(
            &s.ctx,
            DescribeLoadBalancersInput {
                names: Some(vec!["blog-alb".into()]),
                ..DescribeLoadBalancersInput::default()
            },
        )
        .unwrap()
        .load_balancers
        .unwrap();
    assert_eq!(described[0].dns_name.as_deref(), Some(dns.as_str()));
    assert_eq!(
        described[0].state.as_ref().unwrap().code.as_deref(),
        Some("active")
    );
    assert!(matches!(
        s.elb.describe_load_balancers(
            &s.ctx,
            DescribeLoadBalancersInput {
                names: Some(vec!["nope".into()]),
                ..DescribeLoadBalancersInput::default()
            }
        ),
        Err(Error::LoadBalancerNotFoundException(_))
    ));
}

#[test]
fn load_balancer_placement_errors() {
    let s = setup();
    let create = |subnets: &[&str], groups: Option<Vec<&str>>| {
        s.elb.create_load_balancer(
            &s.ctx,
            CreateLoadBalancerInput {
                name: "x".into(),
                subnets: Some(subnets.iter().map(|x| x.to_string()).collect()),
                security_groups: groups.map(|g| g.iter().map(|x| x.to_string()).collect()),
                ..CreateLoadBalancerInput::default()
            },
        )
    };
    assert!(matches!(
        create(&[SUBNETS[0]], None),
        Err(Error::ValidationError(_))
    ));
    assert!(matches!(
        create(&[SUBNETS[0], SUBNET_A2], None),
        Err(Error::InvalidConfigurationRequestException(_))
    ));
    assert!(matches!(
        create(&[SUBNETS[0], "subnet-nope"], None),
        Err(Error::SubnetNotFoundException(_))
    ));
    assert!(matches!(
        create(&[SUBNETS[0], "subnet-other"], None),
        Err(Error::InvalidConfigurationRequestException(_))
    ));
    assert!(matches!(
        create(&[SUBNETS[0], SUBNETS[1]], Some(vec!["sg-nope"])),
        Err(Error::InvalidSecurityGroupException(_))
    ));
    match create(
        &[SUBNETS[0], SUBNETS[1]],
        Some(vec!["sg-web", OTHER_VPC_SG]),
    ) {
        Err(Error::InvalidSecurityGroupException(m)) => assert!(m.contains(OTHER_VPC_SG), "{m}"),
        other => panic!("a group of another VPC was accepted: {other:?}"),
    }
    let ok = create(&[SUBNETS[0], SUBNETS[1]], Some(vec!["sg-web"])).unwrap();
    assert_eq!(
        ok.load_balancers.unwrap()[0].security_groups,
        Some(vec!["sg-web".to_string()])
    );
    for bad in ["internal-x", "-x", "x_y"] {
        assert!(matches!(
            s.elb.create_load_balancer(
                &s.ctx,
                CreateLoadBalancerInput {
                    name: bad.into(),
                    subnets: Some(vec![SUBNETS[0].into(), SUBNETS[1].into()]),
                    ..CreateLoadBalancerInput::default()
                }
            ),
            Err(Error::ValidationError(_))
        ));
    }
}

#[test]
fn attributes_round_trip_and_deletion_protection() {
    let s = setup();
    let lb = s.lb("attrs");
    let attrs = s
        .elb
        .modify_load_balancer_attributes(
            &s.ctx,
            ModifyLoadBalancerAttributesInput {
                load_balancer_arn: lb.clone(),
                attributes: vec![LoadBalancerAttribute {
                    key: Some("deletion_protection.enabled".into()),
                    value: Some("true".into()),
                }],
            },
        )
        .unwrap()
        .attributes
        .unwrap();
    let get = |k: &str| {
        attrs
            .iter()
            .find(|a| a.key.as_deref() == Some(k))
            .and_then(|a| a.value.clone())
    };
    assert_eq!(get("deletion_protection.enabled").as_deref(), Some("true"));
    assert_eq!(get("idle_timeout.timeout_seconds").as_deref(), Some("60"));
    assert!(matches!(
        s.elb.delete_load_balancer(
            &s.ctx,
            DeleteLoadBalancerInput {
                load_balancer_arn: lb.clone()
            }
        ),
        Err(Error::OperationNotPermittedException(_))
    ));
    let err = s
        .elb
        .modify_load_balancer_attributes(
            &s.ctx,
            ModifyLoadBalancerAttributesInput {
                load_balancer_arn: lb,
                attributes: vec![LoadBalancerAttribute {
                    key: Some("idle_timeout.timeout_seconds".into()),
                    value: Some("0".into()),
                }],
            },
        )
        .unwrap_err();
    assert!(
        err.message().contains("idle_timeout.timeout_seconds"),
        "{err}"
    );
}

#[test]
fn the_seed_target_group() {
    let s = setup();
    let tg = s
        .elb
        .create_target_group(
            &s.ctx,
            CreateTargetGroupInput {
                name: "tg-blog-api".into(),
                protocol: Some("HTTP".into()),
                port: Some(8000),
                vpc_id: Some(VPC.into()),
                target_type: Some("ip".into()),
                health_check_path: Some("/health".into()),
                healthy_threshold_count: Some(2),
                health_check_interval_seconds: Some(15),
                ..CreateTargetGroupInput::default()
            },
        )
        .unwrap()
        .target_groups
        .unwrap()
        .remove(0);
    assert_eq!(tg.health_check_path.as_deref(), Some("/health"));
    assert_eq!(tg.health_check_interval_seconds, Some(15));
    assert_eq!(tg.healthy_threshold_count, Some(2));
    assert_eq!(tg.unhealthy_threshold_count, Some(2));
    assert_eq!(tg.health_check_timeout_seconds, Some(5));
    assert_eq!(tg.health_check_port.as_deref(), Some("traffic-port"));
    assert_eq!(tg.matcher.unwrap().http_code.as_deref(), Some("200"));
    assert_eq!(tg.load_balancer_arns, Some(vec![]));
    assert_eq!(tg.target_type.as_deref(), Some("ip"));

    let err = s
        .elb
        .create_target_group(
            &s.ctx,
            CreateTargetGroupInput {
                name: "tg-blog-api".into(),
                protocol: Some("HTTP".into()),
                port: Some(9000),
                vpc_id: Some(VPC.into()),
                ..CreateTargetGroupInput::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateTargetGroupNameException(_)));
    let err = s
        .elb
        .create_target_group(
            &s.ctx,
            CreateTargetGroupInput {
                name: "other".into(),
                protocol: Some("HTTP".into()),
                port: Some(9000),
                vpc_id: Some("vpc-nope".into()),
                ..CreateTargetGroupInput::default()
            },
        )
        .unwrap_err();
    assert!(err.message().contains("vpc-nope"), "{err}");
}

#[test]
fn listeners_redirect_https_and_errors() {
    let s = setup();
    let lb = s.lb("web");
    let tg = s.tg("api");
    // HTTP 80 redirects to HTTPS 443.
    let redirect = Action {
        r#type: "redirect".into(),
        redirect_config: Some(RedirectActionConfig {
            protocol: Some("HTTPS".into()),
            port: Some("443".into()),
            status_code: "HTTP_301".into(),
            ..RedirectActionConfig::default()
        }),
        ..Action::default()
    };
    let http = s
        .elb
        .create_listener(
            &s.ctx,
            CreateListenerInput {
                load_balancer_arn: lb.clone(),
                protocol: Some("HTTP".into()),
                port: Some(80),
                default_actions: vec![redirect],
                ..CreateListenerInput::default()
            },
        )
        .unwrap()
        .listeners
        .unwrap()
        .remove(0);
    assert_eq!(
        http.default_actions.unwrap()[0]
            .redirect_config
            .as_ref()
            .unwrap()
            .host
            .as_deref(),
        Some("#{host}")
    );
    // HTTPS needs a certificate that exists.
    assert!(matches!(
        https_listener(&s, &lb, &tg),
        Err(Error::CertificateNotFoundException(_))
    ));
    s.certs.0.lock().unwrap().insert(CERT.into());
    let https = https_listener(&s, &lb, &tg).unwrap();
    let described = s
        .elb
        .describe_listeners(
            &s.ctx,
            DescribeListenersInput {
                load_balancer_arn: Some(lb.clone()),
                ..DescribeListenersInput::default()
            },
        )
        .unwrap()
        .listeners
        .unwrap();
    assert_eq!(described.len(), 2);
    assert_eq!(described[1].listener_arn.as_deref(), Some(https.as_str()));
    assert_eq!(
        described[1].ssl_policy.as_deref(),
        Some("ELBSecurityPolicy-2016-08")
    );
    // The plane got both listeners.
    let snap = s.plane.last();
    let ports: Vec<(u16, ListenerProtocol)> = snap.load_balancers[0]
        .listeners
        .iter()
        .map(|l| (l.port, l.protocol))
        .collect();
    assert_eq!(
        ports,
        vec![(80, ListenerProtocol::Http), (443, ListenerProtocol::Https)]
    );
    // One listener per port.
    assert!(matches!(
        s.http_listener(&lb, 80, &tg),
        Err(Error::DuplicateListenerException(_))
    ));
    // The certificate is now in use by the load balancer (ACM's `InUseBy`).
    let users = ListenerCertificates::new(s.elb.store.clone())
        .users(CERT)
        .unwrap();
    assert_eq!(users, vec![lb.clone()]);
    // A certificate of another region is not found.
    let elsewhere = CERT.replace("us-east-1", "eu-west-1");
    s.certs.0.lock().unwrap().insert(elsewhere.clone());
    let err = s
        .elb
        .add_listener_certificates(
            &s.ctx,
            AddListenerCertificatesInput {
                listener_arn: https.clone(),
                certificates: vec![Certificate {
                    certificate_arn: Some(elsewhere),
                    is_default: None,
                }],
            },
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::CertificateNotFoundException(_)),
        "{err}"
    );
    // A target group serves one load balancer.
    let other = s.lb("other");
    assert!(matches!(
        s.http_listener(&other, 80, &tg),
        Err(Error::TargetGroupAssociationLimitException(_))
    ));
    assert!(matches!(
        s.http_listener(
            &lb,
            8080,
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0123456789abcdef"
        ),
        Err(Error::TargetGroupNotFoundException(_))
    ));
    let tgs = s
        .elb
        .describe_target_groups(&s.ctx, DescribeTargetGroupsInput::default())
        .unwrap()
        .target_groups
        .unwrap();
    assert_eq!(tgs[0].load_balancer_arns, Some(vec![lb.clone()]));
}

#[test]
fn a_port_the_plane_cannot_open_changes_nothing() {
    let s = setup();
    let lb = s.lb("busy");
    let tg = s.tg("busy-tg");
    s.plane.busy.lock().unwrap().insert(8081);
    let err = s.http_listener(&lb, 8081, &tg).unwrap_err();
    assert!(
        matches!(err, Error::InvalidConfigurationRequestException(_)),
        "{err}"
    );
    assert!(err.message().contains("8081"), "{err}");
    let listeners = s
        .elb
        .describe_listeners(
            &s.ctx,
            DescribeListenersInput {
                load_balancer_arn: Some(lb.clone()),
                ..DescribeListenersInput::default()
            },
        )
        .unwrap()
        .listeners
        .unwrap();
    assert!(listeners.is_empty());
    s.plane.busy.lock().unwrap().clear();
    s.http_listener(&lb, 8081, &tg).unwrap();
}

#[test]
fn rules_priorities_and_default_rule() {
    let s = setup();
    let lb = s.lb("rules");
    let api = s.tg("api");
    let web = s.tg("web");
    let listener = s.http_listener(&lb, 80, &web).unwrap();
    let r10 = rule(&s, &listener, 10, vec![path(&["/api/*"])], &api).unwrap();
    let r20 = rule(&s, &listener, 20, vec![path(&["/health"])], &api).unwrap();
    assert!(matches!(
        rule(&s, &listener, 10, vec![path(&["/x"])], &api),
        Err(Error::PriorityInUseException(_))
    ));
    assert!(matches!(
        rule(&s, &listener, 30, vec![path(&["/a b"])], &api),
        Err(Error::ValidationError(_))
    ));
    let rules = s
        .elb
        .describe_rules(
            &s.ctx,
            DescribeRulesInput {
                listener_arn: Some(listener.clone()),
                ..DescribeRulesInput::default()
            },
        )
        .unwrap()
        .rules
        .unwrap();
    let priorities: Vec<String> = rules.iter().filter_map(|r| r.priority.clone()).collect();
    assert_eq!(priorities, vec!["10", "20", "default"]);
    let default_arn = rules[2].rule_arn.clone().unwrap();
    assert_eq!(rules[2].is_default, Some(true));
    assert_eq!(rules[2].conditions, Some(vec![]));
    swap_priorities_and_guard_the_default_rule(&s, &r10, &r20, &default_arn);
    default_rule_actions_are_the_listeners(&s, &listener, &default_arn, &r20);
    deleting_the_load_balancer_takes_its_rules(&s, lb, api, &r10);
}

/// SetRulePriorities swaps two priorities at once, refuses a clash and the default rule; the
/// default rule cannot be deleted.
fn swap_priorities_and_guard_the_default_rule(s: &Setup, r10: &str, r20: &str, default_arn: &str) {
    let swapped = s
        .elb
        .set_rule_priorities(
            &s.ctx,
            SetRulePrioritiesInput {
                rule_priorities: vec![
                    RulePriorityPair {
                        rule_arn: Some(r10.to_string()),
                        priority: Some(20),
                    },
                    RulePriorityPair {
                        rule_arn: Some(r20.to_string()),
                        priority: Some(10),
                    },
                ],
            },
        )
        .unwrap()
        .rules
        .unwrap();
    assert_eq!(swapped.len(), 2);
    let clash = s.elb.set_rule_priorities(
        &s.ctx,
        SetRulePrioritiesInput {
            rule_priorities: vec![RulePriorityPair {
                rule_arn: Some(r10.to_string()),
                priority: Some(10),
            }],
        },
    );
    assert!(matches!(clash, Err(Error::PriorityInUseException(_))));
    assert!(matches!(
        s.elb.set_rule_priorities(
            &s.ctx,
            SetRulePrioritiesInput {
                rule_priorities: vec![RulePriorityPair {
                    rule_arn: Some(default_arn.to_string()),
                    priority: Some(5),
                }],
            },
        ),
        Err(Error::OperationNotPermittedException(_))
    ));
    assert!(matches!(
        s.elb.delete_rule(
            &s.ctx,
            DeleteRuleInput {
                rule_arn: default_arn.to_string()
            }
        ),
        Err(Error::OperationNotPermittedException(_))
    ));
}

/// The default rule's actions are the listener's default actions; the snapshot evaluates rules
/// by priority, the default last.
fn default_rule_actions_are_the_listeners(s: &Setup, listener: &str, default_arn: &str, r20: &str) {
    s.elb
        .modify_rule(
            &s.ctx,
            ModifyRuleInput {
                rule_arn: default_arn.to_string(),
                actions: Some(vec![Action {
                    r#type: "fixed-response".into(),
                    fixed_response_config: Some(FixedResponseActionConfig {
                        message_body: Some("no".into()),
                        status_code: "404".into(),
                        content_type: Some("text/plain".into()),
                    }),
                    ..Action::default()
                }]),
                ..ModifyRuleInput::default()
            },
        )
        .unwrap();
    let l = s
        .elb
        .describe_listeners(
            &s.ctx,
            DescribeListenersInput {
                listener_arns: Some(vec![listener.to_string()]),
                ..DescribeListenersInput::default()
            },
        )
        .unwrap()
        .listeners
        .unwrap()
        .remove(0);
    assert_eq!(l.default_actions.unwrap()[0].r#type, "fixed-response");
    // The snapshot evaluates rules by priority, the default last.
    let snap = s.plane.last();
    let rules = &snap.load_balancers[0].listeners[0].rules;
    assert_eq!(
        rules.iter().map(|r| r.priority).collect::<Vec<_>>(),
        vec![Some(10), Some(20), None]
    );
    assert_eq!(rules[0].arn, r20);
}

/// A target group in use cannot go; the load balancer takes its listeners and rules along;
/// deleting it again is not an error.
fn deleting_the_load_balancer_takes_its_rules(s: &Setup, lb: String, api: String, r10: &str) {
    assert!(matches!(
        s.elb.delete_target_group(
            &s.ctx,
            DeleteTargetGroupInput {
                target_group_arn: api.clone()
            }
        ),
        Err(Error::ResourceInUseException(_))
    ));
    s.elb
        .delete_load_balancer(
            &s.ctx,
            DeleteLoadBalancerInput {
                load_balancer_arn: lb.clone(),
            },
        )
        .unwrap();
    assert!(matches!(
        s.elb.describe_rules(
            &s.ctx,
            DescribeRulesInput {
                rule_arns: Some(vec![r10.to_string()]),
                ..DescribeRulesInput::default()
            }
        ),
        Err(Error::RuleNotFoundException(_))
    ));
    s.elb
        .delete_target_group(
            &s.ctx,
            DeleteTargetGroupInput {
                target_group_arn: api,
            },
        )
        .unwrap();
    // Deleting again is not an error, as in AWS.
    s.elb
        .delete_load_balancer(
            &s.ctx,
            DeleteLoadBalancerInput {
                load_balancer_arn: lb,
            },
        )
        .unwrap();
    assert!(s.plane.last().load_balancers.is_empty());
}

#[test]
fn target_health_states_and_draining() {
    let s = setup();
    let tg = s.tg("health");
    let target = |id: &str| TargetDescription {
        id: id.into(),
        ..TargetDescription::default()
    };
    s.elb
        .register_targets(
            &s.ctx,
            RegisterTargetsInput {
                target_group_arn: tg.clone(),
                targets: vec![target("172.31.0.10"), target("172.31.0.11")],
            },
        )
        .unwrap();
    let health = |s: &Setup| {
        s.elb
            .describe_target_health(
                &s.ctx,
                DescribeTargetHealthInput {
                    target_group_arn: tg.clone(),
                    ..DescribeTargetHealthInput::default()
                },
            )
            .unwrap()
            .target_health_descriptions
            .unwrap()
            .into_iter()
            .map(|d| {
                let h = d.target_health.unwrap();
                (
                    d.target.unwrap().id,
                    h.state.unwrap(),
                    h.reason.unwrap_or_default(),
                    d.health_check_port.unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        health(&s)[0],
        (
            "172.31.0.10".to_string(),
            "unused".to_string(),
            "Target.NotInUse".to_string(),
            "8000".to_string()
        )
    );
    let lb = s.lb("health-lb");
    s.http_listener(&lb, 80, &tg).unwrap();
    assert_eq!(health(&s)[0].1, "initial");
    assert_eq!(health(&s)[0].2, "Elb.RegistrationInProgress");
    s.plane.health.lock().unwrap().push(TargetHealthReport {
        id: "172.31.0.10".into(),
        port: 8000,
        state: "healthy".into(),
        reason: None,
        description: None,
    });
    assert_eq!(health(&s)[0].1, "healthy");

    s.elb
        .deregister_targets(
            &s.ctx,
            DeregisterTargetsInput {
                target_group_arn: tg.clone(),
                targets: vec![target("172.31.0.11")],
            },
        )
        .unwrap();
    assert_eq!(health(&s)[1].1, "draining");
    assert_eq!(health(&s)[1].2, "Target.DeregistrationInProgress");
    let snap = s.plane.last();
    assert_eq!(
        snap.target_groups[0].targets[1].deregistered_at_ms,
        Some(NOW)
    );
    // Deregistering what is not registered.
    assert!(matches!(
        s.elb.deregister_targets(
            &s.ctx,
            DeregisterTargetsInput {
                target_group_arn: tg.clone(),
                targets: vec![target("172.31.0.99")],
            },
        ),
        Err(Error::InvalidTargetException(_))
    ));
    // Asking about an unregistered target.
    let asked = s
        .elb
        .describe_target_health(
            &s.ctx,
            DescribeTargetHealthInput {
                target_group_arn: tg.clone(),
                targets: Some(vec![target("172.31.0.99")]),
                ..DescribeTargetHealthInput::default()
            },
        )
        .unwrap()
        .target_health_descriptions
        .unwrap();
    assert_eq!(
        asked[0].target_health.as_ref().unwrap().reason.as_deref(),
        Some("Target.NotRegistered")
    );
    // The plane says it drained: it goes.
    assert_eq!(s.elb.reap_drained(), 0);
    s.plane
        .drained
        .lock()
        .unwrap()
        .push(("172.31.0.11".into(), 8000));
    assert_eq!(s.elb.reap_drained(), 1);
    assert_eq!(health(&s).len(), 1);
    // Without a report, the deregistration delay ends it.
    s.plane.drained.lock().unwrap().clear();
    s.elb
        .deregister_targets(
            &s.ctx,
            DeregisterTargetsInput {
                target_group_arn: tg.clone(),
                targets: vec![target("172.31.0.10")],
            },
        )
        .unwrap();
    s.clock.advance(299_000);
    assert_eq!(s.elb.reap_drained(), 0);
    s.clock.advance(1_000);
    assert_eq!(s.elb.reap_drained(), 1);
}

#[test]
fn register_targets_checks_addresses_and_ports() {
    let s = setup();
    let tg = s.tg("reg");
    let register = |id: &str, port: Option<i32>, zone: Option<&str>| {
        s.elb.register_targets(
            &s.ctx,
            RegisterTargetsInput {
                target_group_arn: tg.clone(),
                targets: vec![TargetDescription {
                    id: id.into(),
                    port,
                    availability_zone: zone.map(str::to_string),
                    quic_server_id: None,
                }],
            },
        )
    };
    register("172.31.3.4", Some(9000), None).unwrap();
    register("172.17.0.1", None, Some("all")).unwrap();
    assert!(register("8.8.8.8", None, Some("all")).is_err());
    assert!(register("10.0.0.5", None, None).is_err());
    assert!(register("i-0123abcd", None, None).is_err());
    assert!(register("172.31.3.4", Some(0), None).is_err());
    assert!(register("172.31.3.4", Some(70_000), None).is_err());
    // An unused target group lets targets go at once.
    s.elb
        .deregister_targets(
            &s.ctx,
            DeregisterTargetsInput {
                target_group_arn: tg.clone(),
                targets: vec![TargetDescription {
                    id: "172.31.3.4".into(),
                    port: Some(9000),
                    ..TargetDescription::default()
                }],
            },
        )
        .unwrap();
    let left = s
        .elb
        .describe_target_health(
            &s.ctx,
            DescribeTargetHealthInput {
                target_group_arn: tg,
                ..DescribeTargetHealthInput::default()
            },
        )
        .unwrap()
        .target_health_descriptions
        .unwrap();
    assert_eq!(left.len(), 1);
}

#[test]
fn tags_on_every_kind() {
    let s = setup();
    let lb = s.lb("tagged");
    let tg = s.tg("tagged");
    let listener = s.http_listener(&lb, 80, &tg).unwrap();
    let rule_arn = rule(&s, &listener, 1, vec![path(&["/t"])], &tg).unwrap();
    let arns = vec![lb.clone(), tg.clone(), listener.clone(), rule_arn.clone()];
    s.elb
        .add_tags(
            &s.ctx,
            AddTagsInput {
                resource_arns: arns.clone(),
                tags: vec![
                    Tag {
                        key: "env".into(),
                        value: Some("dev".into()),
                    },
                    Tag {
                        key: "team".into(),
                        value: Some("blog".into()),
                    },
                ],
            },
        )
        .unwrap();
    s.elb
        .remove_tags(
            &s.ctx,
            RemoveTagsInput {
                resource_arns: vec![rule_arn.clone()],
                tag_keys: vec!["team".into()],
            },
        )
        .unwrap();
    let described = s
        .elb
        .describe_tags(
            &s.ctx,
            DescribeTagsInput {
                resource_arns: arns,
            },
        )
        .unwrap()
        .tag_descriptions
        .unwrap();
    let counts: Vec<usize> = described
        .iter()
        .map(|d| d.tags.as_ref().map_or(0, Vec::len))
        .collect();
    assert_eq!(counts, vec![2, 2, 2, 1]);
    assert!(matches!(
        s.elb.add_tags(
            &s.ctx,
            AddTagsInput {
                resource_arns: vec![lb],
                tags: vec![
                    Tag {
                        key: "a".into(),
                        value: None
                    },
                    Tag {
                        key: "a".into(),
                        value: None
                    }
                ],
            }
        ),
        Err(Error::DuplicateTagKeysException(_))
    ));
}

#[test]
fn restart_gives_the_same_snapshot() {
    let s = setup();
    let lb = s.lb("persist");
    let tg = s.tg("persist");
    s.http_listener(&lb, 80, &tg).unwrap();
    let snapshot = s.elb.snapshot();
    assert_eq!(snapshot, s.plane.last());
    let again = crate::Elbv2::new(
        s.elb.store.clone(),
        Arc::new(wharf_core::ids::RandomIds),
        s.clock.clone(),
        Arc::new(FakeNetwork),
        s.certs.clone(),
    );
    assert_eq!(again.snapshot(), snapshot);
}

#[test]
fn malformed_and_foreign_arns() {
    let s = setup();
    let err = s
        .elb
        .describe_load_balancer_attributes(
            &s.ctx,
            DescribeLoadBalancerAttributesInput {
                load_balancer_arn: "nope".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::ValidationError(_)), "{err}");
    let lb = s.lb("mine");
    let other = wharf_core::RequestContext::for_tests("eu-west-1", ACCOUNT, s.ctx.now);
    assert!(matches!(
        s.elb.describe_load_balancer_attributes(
            &other,
            DescribeLoadBalancerAttributesInput {
                load_balancer_arn: lb
            }
        ),
        Err(Error::LoadBalancerNotFoundException(_))
    ));
}
