//! Listener and rule actions: checking what CreateListener / ModifyListener / CreateRule /
//! ModifyRule are given, normalising it to what DescribeListeners / DescribeRules show, and
//! turning it into the data plane's [`wharf_core::lb_plane::Action`] (pure; whether the target
//! groups exist is checked by the caller, which has the store).
//!
//! wharf implements `forward` (one target group, or weighted target groups with group-level
//! stickiness), `redirect` and `fixed-response`; the authentication and JWT actions need an
//! identity provider and are refused by name. As AWS shows them:
//! - a forward to one target group carries both `TargetGroupArn` and a `ForwardConfig` with
//!   weight 1 and stickiness disabled; a weighted forward only the `ForwardConfig`;
//! - a redirect has every component filled in, `#{protocol}`, `#{host}`, `#{port}`,
//!   `/#{path}` and `#{query}` standing for the request's own.

use crate::errors::invalid;
use crate::generated::{
    Action, Error, FixedResponseActionConfig, ForwardActionConfig, RedirectActionConfig,
    TargetGroupStickinessConfig, TargetGroupTuple,
};
use crate::Error as E;
use std::time::Duration;
use wharf_core::lb_plane::Action as PlaneAction;

/// Most target groups in one forward action.
const MAX_FORWARD_TARGET_GROUPS: usize = 5;
/// Largest target group weight.
const MAX_WEIGHT: i32 = 999;
/// Longest group-level stickiness (seven days).
const MAX_STICKINESS_SECONDS: i32 = 604_800;
/// Content types a fixed response can have.
const CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];

fn action_error(message: impl Into<String>) -> Error {
    E::InvalidLoadBalancerActionException(message.into())
}

fn forward(action: &Action) -> Result<Action, Error> {
    let mut groups: Vec<TargetGroupTuple> = Vec::new();
    if let Some(config) = &action.forward_config {
        for tuple in config.target_groups.iter().flatten() {
            let arn = tuple.target_group_arn.clone().ok_or_else(|| {
                invalid("Each target group of a forward configuration requires a TargetGroupArn")
            })?;
            let weight = tuple.weight.unwrap_or(1);
            if !(0..=MAX_WEIGHT).contains(&weight) {
                return Err(invalid(format!(
                    "The weight '{weight}' of target group '{arn}' must be from 0 to {MAX_WEIGHT}"
                )));
            }
            if groups
                .iter()
                .any(|g| g.target_group_arn.as_deref() == Some(arn.as_str()))
            {
                return Err(invalid(format!(
                    "Target group '{arn}' is specified more than once in the forward configuration"
                )));
            }
            groups.push(TargetGroupTuple {
                target_group_arn: Some(arn),
                weight: Some(weight),
            });
        }
    }
    match (&action.target_group_arn, groups.len()) {
        (None, 0) => {
            return Err(invalid(
                "A forward action requires a TargetGroupArn or a ForwardConfig with at least one target group",
            ))
        }
        (Some(arn), 0) => groups.push(TargetGroupTuple {
            target_group_arn: Some(arn.clone()),
            weight: Some(1),
        }),
        (Some(arn), 1) if groups[0].target_group_arn.as_deref() == Some(arn.as_str()) => {}
        (Some(_), _) => {
            return Err(invalid(
                "You cannot specify a TargetGroupArn together with a ForwardConfig that names other target groups",
            ))
        }
        (None, _) => {}
    }
    if groups.len() > MAX_FORWARD_TARGET_GROUPS {
        return Err(action_error(format!(
            "A forward action can have at most {MAX_FORWARD_TARGET_GROUPS} target groups"
        )));
    }
    if groups.iter().all(|g| g.weight == Some(0)) {
        return Err(invalid(
            "At least one target group of a forward action must have a weight greater than 0",
        ));
    }
    let stickiness = action
        .forward_config
        .as_ref()
        .and_then(|c| c.target_group_stickiness_config.clone());
    let stickiness = match stickiness {
        Some(TargetGroupStickinessConfig {
            enabled: Some(true),
            duration_seconds,
        }) => {
            let seconds = duration_seconds.ok_or_else(|| {
                invalid("DurationSeconds must be specified when target group stickiness is enabled")
            })?;
            if !(1..=MAX_STICKINESS_SECONDS).contains(&seconds) {
                return Err(invalid(format!(
                    "The target group stickiness duration '{seconds}' must be from 1 to {MAX_STICKINESS_SECONDS} seconds"
                )));
            }
            TargetGroupStickinessConfig {
                enabled: Some(true),
                duration_seconds: Some(seconds),
            }
        }
        _ => TargetGroupStickinessConfig {
            enabled: Some(false),
            duration_seconds: None,
        },
    };
    let single = (groups.len() == 1)
        .then(|| groups[0].target_group_arn.clone())
        .flatten();
    Ok(Action {
        r#type: "forward".into(),
        target_group_arn: single,
        order: action.order,
        forward_config: Some(ForwardActionConfig {
            target_groups: Some(groups),
            target_group_stickiness_config: Some(stickiness),
        }),
        ..Action::default()
    })
}

fn redirect(action: &Action) -> Result<Action, Error> {
    let config = action
        .redirect_config
        .clone()
        .ok_or_else(|| invalid("A redirect action requires a RedirectConfig"))?;
    let protocol = config.protocol.unwrap_or_else(|| "#{protocol}".into());
    let port = config.port.unwrap_or_else(|| "#{port}".into());
    let host = config.host.unwrap_or_else(|| "#{host}".into());
    let path = config.path.unwrap_or_else(|| "/#{path}".into());
    let query = config.query.unwrap_or_else(|| "#{query}".into());
    if port != "#{port}" && !port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p)) {
        return Err(invalid(format!(
            "The redirect port '{port}' must be '#{{port}}' or a port number from 1 to 65535"
        )));
    }
    if !path.starts_with('/') {
        return Err(invalid(format!(
            "The redirect path '{path}' must begin with '/'"
        )));
    }
    if protocol == "#{protocol}"
        && port == "#{port}"
        && host == "#{host}"
        && path == "/#{path}"
        && query == "#{query}"
    {
        return Err(action_error(
            "A redirect must change at least one of the protocol, port, host, path or query, or it would redirect to itself",
        ));
    }
    Ok(Action {
        r#type: "redirect".into(),
        order: action.order,
        redirect_config: Some(RedirectActionConfig {
            protocol: Some(protocol),
            port: Some(port),
            host: Some(host),
            path: Some(path),
            query: Some(query),
            status_code: config.status_code,
        }),
        ..Action::default()
    })
}

fn fixed_response(action: &Action) -> Result<Action, Error> {
    let config = action
        .fixed_response_config
        .clone()
        .ok_or_else(|| invalid("A fixed-response action requires a FixedResponseConfig"))?;
    let code_ok = config.status_code.len() == 3
        && config.status_code.bytes().all(|b| b.is_ascii_digit())
        && matches!(config.status_code.as_bytes()[0], b'2' | b'4' | b'5');
    if !code_ok {
        return Err(invalid(format!(
            "The fixed-response status code '{}' must be a 2XX, 4XX or 5XX code",
            config.status_code
        )));
    }
    if let Some(ct) = &config.content_type {
        if !CONTENT_TYPES.contains(&ct.as_str()) {
            return Err(invalid(format!(
                "The fixed-response content type '{ct}' must be one of {}",
                CONTENT_TYPES.join(", ")
            )));
        }
    }
    if config.message_body.as_ref().is_some_and(|b| b.len() > 1024) {
        return Err(invalid(
            "The fixed-response message body can be at most 1024 characters",
        ));
    }
    Ok(Action {
        r#type: "fixed-response".into(),
        order: action.order,
        fixed_response_config: Some(FixedResponseActionConfig {
            message_body: config.message_body,
            status_code: config.status_code,
            content_type: config.content_type,
        }),
        ..Action::default()
    })
}

/// The configuration member that belongs to action type `kind`.
fn stray_config(action: &Action) -> Option<&'static str> {
    let kind = action.r#type.as_str();
    if kind != "redirect" && action.redirect_config.is_some() {
        return Some("RedirectConfig");
    }
    if kind != "fixed-response" && action.fixed_response_config.is_some() {
        return Some("FixedResponseConfig");
    }
    if kind != "forward" && (action.forward_config.is_some() || action.target_group_arn.is_some()) {
        return Some("a target group");
    }
    None
}

/// Checks and normalises a listener's default actions or a rule's actions.
pub fn normalize(actions: &[Action]) -> Result<Vec<Action>, Error> {
    if actions.is_empty() {
        return Err(invalid("At least one action must be specified"));
    }
    for action in actions {
        match action.r#type.as_str() {
            "forward" | "redirect" | "fixed-response" => {}
            other => {
                return Err(action_error(format!(
                "wharf does not support '{other}' actions; use forward, redirect or fixed-response"
            )))
            }
        }
    }
    if actions.len() > 1 {
        return Err(E::TooManyActionsException(
            "Only one forward, redirect or fixed-response action can be specified".into(),
        ));
    }
    let action = &actions[0];
    if let Some(stray) = stray_config(action) {
        return Err(invalid(format!(
            "A '{}' action cannot have {stray}",
            action.r#type
        )));
    }
    let normalized = match action.r#type.as_str() {
        "forward" => forward(action)?,
        "redirect" => redirect(action)?,
        _ => fixed_response(action)?,
    };
    Ok(vec![normalized])
}

/// The target groups `actions` forward to, in order.
pub fn target_groups(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| a.forward_config.as_ref())
        .flat_map(|c| c.target_groups.iter().flatten())
        .filter_map(|t| t.target_group_arn.clone())
        .collect()
}

/// The data plane's form of normalised actions (the last, terminal one).
pub fn to_plane(actions: &[Action]) -> Option<PlaneAction> {
    let action = actions.last()?;
    match action.r#type.as_str() {
        "forward" => {
            let config = action.forward_config.as_ref()?;
            let stickiness = config
                .target_group_stickiness_config
                .as_ref()
                .filter(|s| s.enabled == Some(true))
                .and_then(|s| s.duration_seconds)
                .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0)));
            Some(PlaneAction::Forward {
                target_groups: config
                    .target_groups
                    .iter()
                    .flatten()
                    .filter_map(|t| {
                        Some((
                            t.target_group_arn.clone()?,
                            u32::try_from(t.weight.unwrap_or(1)).unwrap_or(0),
                        ))
                    })
                    .collect(),
                stickiness,
            })
        }
        "redirect" => {
            let c = action.redirect_config.as_ref()?;
            Some(PlaneAction::Redirect {
                protocol: c.protocol.clone().unwrap_or_else(|| "#{protocol}".into()),
                host: c.host.clone().unwrap_or_else(|| "#{host}".into()),
                port: c.port.clone().unwrap_or_else(|| "#{port}".into()),
                path: c.path.clone().unwrap_or_else(|| "/#{path}".into()),
                query: c.query.clone().unwrap_or_else(|| "#{query}".into()),
                status_code: if c.status_code == "HTTP_302" {
                    302
                } else {
                    301
                },
            })
        }
        "fixed-response" => {
            let c = action.fixed_response_config.as_ref()?;
            Some(PlaneAction::FixedResponse {
                status_code: c.status_code.parse().ok()?,
                content_type: c.content_type.clone(),
                body: c.message_body.clone(),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TG: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/0123456789abcdef";
    const TG2: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b/0123456789abcdee";

    fn fwd(arn: &str) -> Action {
        Action {
            r#type: "forward".into(),
            target_group_arn: Some(arn.into()),
            ..Action::default()
        }
    }

    #[test]
    fn single_forward_shows_both_forms() {
        let out = normalize(&[fwd(TG)]).unwrap();
        assert_eq!(out[0].target_group_arn.as_deref(), Some(TG));
        let config = out[0].forward_config.as_ref().unwrap();
        assert_eq!(
            config.target_groups,
            Some(vec![TargetGroupTuple {
                target_group_arn: Some(TG.into()),
                weight: Some(1)
            }])
        );
        assert_eq!(
            config.target_group_stickiness_config,
            Some(TargetGroupStickinessConfig {
                enabled: Some(false),
                duration_seconds: None
            })
        );
        assert_eq!(target_groups(&out), vec![TG.to_string()]);
    }

    #[test]
    fn weighted_forward() {
        let action = Action {
            r#type: "forward".into(),
            forward_config: Some(ForwardActionConfig {
                target_groups: Some(vec![
                    TargetGroupTuple {
                        target_group_arn: Some(TG.into()),
                        weight: Some(80),
                    },
                    TargetGroupTuple {
                        target_group_arn: Some(TG2.into()),
                        weight: Some(20),
                    },
                ]),
                target_group_stickiness_config: Some(TargetGroupStickinessConfig {
                    enabled: Some(true),
                    duration_seconds: Some(3600),
                }),
            }),
            ..Action::default()
        };
        let out = normalize(&[action]).unwrap();
        assert_eq!(out[0].target_group_arn, None);
        assert_eq!(
            to_plane(&out),
            Some(PlaneAction::Forward {
                target_groups: vec![(TG.into(), 80), (TG2.into(), 20)],
                stickiness: Some(Duration::from_secs(3600)),
            })
        );
    }

    #[test]
    fn redirect_fills_in_placeholders() {
        let action = Action {
            r#type: "redirect".into(),
            redirect_config: Some(RedirectActionConfig {
                protocol: Some("HTTPS".into()),
                port: Some("443".into()),
                status_code: "HTTP_301".into(),
                ..RedirectActionConfig::default()
            }),
            ..Action::default()
        };
        let out = normalize(&[action]).unwrap();
        let c = out[0].redirect_config.clone().unwrap();
        assert_eq!(c.host.as_deref(), Some("#{host}"));
        assert_eq!(c.path.as_deref(), Some("/#{path}"));
        assert_eq!(c.query.as_deref(), Some("#{query}"));
        assert_eq!(
            to_plane(&out),
            Some(PlaneAction::Redirect {
                protocol: "HTTPS".into(),
                host: "#{host}".into(),
                port: "443".into(),
                path: "/#{path}".into(),
                query: "#{query}".into(),
                status_code: 301,
            })
        );
    }

    #[test]
    fn fixed_response() {
        let action = Action {
            r#type: "fixed-response".into(),
            fixed_response_config: Some(FixedResponseActionConfig {
                message_body: Some("not here".into()),
                status_code: "404".into(),
                content_type: Some("text/plain".into()),
            }),
            ..Action::default()
        };
        let out = normalize(&[action]).unwrap();
        assert_eq!(
            to_plane(&out),
            Some(PlaneAction::FixedResponse {
                status_code: 404,
                content_type: Some("text/plain".into()),
                body: Some("not here".into()),
            })
        );
    }

    #[test]
    fn bad_actions_are_refused() {
        let self_redirect = Action {
            r#type: "redirect".into(),
            redirect_config: Some(RedirectActionConfig {
                status_code: "HTTP_302".into(),
                ..RedirectActionConfig::default()
            }),
            ..Action::default()
        };
        let bad_port = Action {
            r#type: "redirect".into(),
            redirect_config: Some(RedirectActionConfig {
                port: Some("99999".into()),
                status_code: "HTTP_302".into(),
                ..RedirectActionConfig::default()
            }),
            ..Action::default()
        };
        let both = Action {
            forward_config: Some(ForwardActionConfig {
                target_groups: Some(vec![TargetGroupTuple {
                    target_group_arn: Some(TG2.into()),
                    weight: None,
                }]),
                target_group_stickiness_config: None,
            }),
            ..fwd(TG)
        };
        let weight = Action {
            r#type: "forward".into(),
            forward_config: Some(ForwardActionConfig {
                target_groups: Some(vec![TargetGroupTuple {
                    target_group_arn: Some(TG.into()),
                    weight: Some(1000),
                }]),
                target_group_stickiness_config: None,
            }),
            ..Action::default()
        };
        let content = Action {
            r#type: "fixed-response".into(),
            fixed_response_config: Some(FixedResponseActionConfig {
                message_body: None,
                status_code: "200".into(),
                content_type: Some("image/png".into()),
            }),
            ..Action::default()
        };
        let oidc = Action {
            r#type: "authenticate-oidc".into(),
            ..Action::default()
        };
        let empty_forward = Action {
            r#type: "forward".into(),
            ..Action::default()
        };
        for case in [
            vec![],
            vec![self_redirect],
            vec![bad_port],
            vec![both],
            vec![weight],
            vec![content],
            vec![oidc],
            vec![empty_forward],
            vec![fwd(TG), fwd(TG2)],
        ] {
            assert!(normalize(&case).is_err(), "{case:?}");
        }
    }
}
