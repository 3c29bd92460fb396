//! [`TargetRegistry`] over ELBv2: how ECS services register their tasks in target groups and
//! read their health. The same code paths as RegisterTargets / DeregisterTargets /
//! DescribeTargetHealth, called with an internal request context.

use crate::generated::*;
use crate::{target_registration, Elbv2};
use std::sync::Arc;
use wharf_core::{RegisteredTarget, RequestContext, TargetGroupInfo, TargetRegistry, TargetState};

/// ECS's view of ELBv2's target groups.
pub struct ServiceTargets(pub Arc<Elbv2>);

impl ServiceTargets {
    fn ctx(&self, account: &str, region: &str) -> RequestContext {
        RequestContext::for_tests(region, account, self.0.clock.now())
    }
}

fn target(ip: &str, port: u16) -> TargetDescription {
    TargetDescription {
        id: ip.into(),
        port: Some(i32::from(port)),
        availability_zone: None,
        quic_server_id: None,
    }
}

fn state(name: &str) -> TargetState {
    match name {
        "healthy" => TargetState::Healthy,
        "unhealthy" | "unavailable" => TargetState::Unhealthy,
        "draining" => TargetState::Draining,
        "unused" => TargetState::Unused,
        _ => TargetState::Initial,
    }
}

impl TargetRegistry for ServiceTargets {
    fn target_group(
        &self,
        account: &str,
        region: &str,
        arn: &str,
    ) -> Result<Option<TargetGroupInfo>, String> {
        let ctx = self.ctx(account, region);
        let found = self.0.store.read(|tx| {
            let tg = match crate::lookup::load_tg(tx, &ctx, arn) {
                Ok((_, tg)) => tg,
                Err(Error::TargetGroupNotFoundException(_)) | Err(Error::ValidationError(_)) => {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            };
            let usage = crate::lookup::usage(tx, account, region)?;
            Ok(Some(TargetGroupInfo {
                target_type: tg.target_type.clone(),
                has_load_balancer: !usage.lbs_of(&tg.arn).is_empty(),
            }))
        });
        found.map_err(|e: Error| e.to_string())
    }

    fn register(
        &self,
        account: &str,
        region: &str,
        arn: &str,
        ip: &str,
        port: u16,
    ) -> Result<(), String> {
        let input = RegisterTargetsInput {
            target_group_arn: arn.into(),
            targets: vec![target(ip, port)],
        };
        target_registration::register(&self.0, &self.ctx(account, region), input)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn deregister(
        &self,
        account: &str,
        region: &str,
        arn: &str,
        ip: &str,
        port: u16,
    ) -> Result<(), String> {
        let input = DeregisterTargetsInput {
            target_group_arn: arn.into(),
            targets: vec![target(ip, port)],
        };
        match target_registration::deregister(&self.0, &self.ctx(account, region), input) {
            Ok(_)
            | Err(Error::InvalidTargetException(_))
            | Err(Error::TargetGroupNotFoundException(_)) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn targets(
        &self,
        account: &str,
        region: &str,
        arn: &str,
    ) -> Result<Vec<RegisteredTarget>, String> {
        let input = DescribeTargetHealthInput {
            target_group_arn: arn.into(),
            ..Default::default()
        };
        let out = match target_registration::describe_health(
            &self.0,
            &self.ctx(account, region),
            input,
        ) {
            Ok(out) => out,
            Err(Error::TargetGroupNotFoundException(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.to_string()),
        };
        Ok(out
            .target_health_descriptions
            .unwrap_or_default()
            .into_iter()
            .filter_map(|d| {
                let t = d.target?;
                let s = d.target_health.and_then(|h| h.state).unwrap_or_default();
                Some(RegisteredTarget {
                    id: t.id,
                    port: u16::try_from(t.port.unwrap_or(0)).unwrap_or(0),
                    state: state(&s),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use wharf_core::lb_plane::TargetHealthReport;

    #[test]
    fn services_register_read_health_and_deregister() {
        let s = setup();
        let registry = ServiceTargets(s.elb.clone());
        let tg = s.tg("web");
        let info = registry
            .target_group(ACCOUNT, REGION, &tg)
            .unwrap()
            .unwrap();
        assert_eq!(info.target_type, "ip");
        assert!(!info.has_load_balancer);
        let missing = tg.replace("/web/", "/nope/");
        assert_eq!(
            registry.target_group(ACCOUNT, REGION, &missing).unwrap(),
            None
        );
        assert_eq!(
            registry
                .target_group(ACCOUNT, REGION, "not-an-arn")
                .unwrap(),
            None
        );

        let lb = s.lb("alb");
        s.http_listener(&lb, 8080, &tg).unwrap();
        assert!(
            registry
                .target_group(ACCOUNT, REGION, &tg)
                .unwrap()
                .unwrap()
                .has_load_balancer
        );

        registry
            .register(ACCOUNT, REGION, &tg, "172.31.0.5", 8000)
            .unwrap();
        registry
            .register(ACCOUNT, REGION, &tg, "172.31.0.5", 8000)
            .unwrap();
        let states = |r: &ServiceTargets| -> Vec<(String, u16, TargetState)> {
            r.targets(ACCOUNT, REGION, &tg)
                .unwrap()
                .into_iter()
                .map(|t| (t.id, t.port, t.state))
                .collect()
        };
        assert_eq!(
            states(&registry),
            [("172.31.0.5".into(), 8000, TargetState::Initial)]
        );
        s.plane.health.lock().unwrap().push(TargetHealthReport {
            id: "172.31.0.5".into(),
            port: 8000,
            state: "healthy".into(),
            reason: None,
            description: None,
        });
        assert_eq!(
            states(&registry),
            [("172.31.0.5".into(), 8000, TargetState::Healthy)]
        );
        assert!(
            registry
                .register(ACCOUNT, REGION, &tg, "8.8.8.8", 8000)
                .is_err(),
            "ELBv2's address rules apply"
        );

        registry
            .deregister(ACCOUNT, REGION, &tg, "172.31.0.5", 8000)
            .unwrap();
        assert_eq!(
            states(&registry),
            [("172.31.0.5".into(), 8000, TargetState::Draining)]
        );
        registry
            .deregister(ACCOUNT, REGION, &tg, "172.31.0.9", 8000)
            .unwrap();
        registry
            .deregister(ACCOUNT, REGION, &missing, "172.31.0.5", 8000)
            .unwrap();
        assert!(registry
            .targets(ACCOUNT, REGION, &missing)
            .unwrap()
            .is_empty());
    }
}
