//! Test doubles: a network with the default VPC's three subnets, a certificate source with a
//! settable set of certificates, and a data plane that records what it is given.

use crate::generated::*;
use crate::Elbv2;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use wharf_core::ids::RandomIds;
use wharf_core::lb_plane::{
    CertificateMaterial, CertificateSource, LbPlane, LbSnapshot, TargetHealthReport,
};
use wharf_core::{
    FakeClock, NetworkInterfaces, NewNetworkInterface, PlacementSubnet, RequestContext, Timestamp,
    VpcInfo,
};
use wharf_store::Store;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const VPC: &str = "vpc-0a1b2c3d";
pub const OTHER_VPC: &str = "vpc-99999999";
pub const DEFAULT_SG: &str = "sg-default0";
/// A security group of [`OTHER_VPC`].
pub const OTHER_VPC_SG: &str = "sg-othervpc";
pub const SUBNETS: [&str; 3] = ["subnet-aaaa", "subnet-bbbb", "subnet-cccc"];
pub const SUBNET_A2: &str = "subnet-aaa2";
pub const NOW: i64 = 1_700_000_000_000;

/// The default VPC of one account and region, plus one more subnet in zone a and a second VPC.
pub struct FakeNetwork;

impl NetworkInterfaces for FakeNetwork {
    fn subnet(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<PlacementSubnet>, String> {
        if account != ACCOUNT || region != REGION {
            return Ok(None);
        }
        let (zone, cidr) = match id {
            "subnet-aaaa" => ("us-east-1a", "172.31.0.0/20"),
            "subnet-bbbb" => ("us-east-1b", "172.31.16.0/20"),
            "subnet-cccc" => ("us-east-1c", "172.31.32.0/20"),
            "subnet-aaa2" => ("us-east-1a", "172.31.48.0/20"),
            "subnet-other" => {
                return Ok(Some(PlacementSubnet {
                    id: id.into(),
                    vpc_id: OTHER_VPC.into(),
                    availability_zone: "us-east-1b".into(),
                    cidr_block: "10.0.0.0/24".into(),
                }))
            }
            _ => return Ok(None),
        };
        Ok(Some(PlacementSubnet {
            id: id.into(),
            vpc_id: VPC.into(),
            availability_zone: zone.into(),
            cidr_block: cidr.into(),
        }))
    }

    fn security_group_exists(
        &self,
        _account: &str,
        _region: &str,
        id: &str,
    ) -> Result<bool, String> {
        Ok(id == DEFAULT_SG || id == "sg-web" || id == OTHER_VPC_SG)
    }

    fn security_group_in_vpc(
        &self,
        account: &str,
        region: &str,
        id: &str,
        vpc_id: &str,
    ) -> Result<bool, String> {
        let home = if id == OTHER_VPC_SG { OTHER_VPC } else { VPC };
        Ok(vpc_id == home && self.security_group_exists(account, region, id)?)
    }

    fn create_interface(&self, _eni: NewNetworkInterface) -> Result<String, String> {
        Err("not used".into())
    }

    fn delete_interface(&self, _account: &str, _region: &str, _id: &str) -> Result<(), String> {
        Ok(())
    }

    fn vpc(&self, account: &str, region: &str, id: &str) -> Result<Option<VpcInfo>, String> {
        if account != ACCOUNT || region != REGION {
            return Ok(None);
        }
        Ok(match id {
            VPC => Some(VpcInfo {
                id: VPC.into(),
                cidr_block: "172.31.0.0/16".into(),
                default_security_group: Some(DEFAULT_SG.into()),
            }),
            OTHER_VPC => Some(VpcInfo {
                id: OTHER_VPC.into(),
                cidr_block: "10.0.0.0/16".into(),
                default_security_group: None,
            }),
            _ => None,
        })
    }
}

/// Certificates that exist.
#[derive(Default)]
pub struct FakeCertificates(pub Mutex<BTreeSet<String>>);

impl CertificateSource for FakeCertificates {
    fn certificate(&self, arn: &str) -> Option<CertificateMaterial> {
        self.0
            .lock()
            .unwrap()
            .contains(arn)
            .then(|| CertificateMaterial {
                chain_pem: "chain".into(),
                key_pem: "key".into(),
            })
    }
}

/// A data plane that records snapshots; it refuses ports listed in `busy`.
#[derive(Default)]
pub struct FakePlane {
    pub applied: Mutex<Vec<LbSnapshot>>,
    pub busy: Mutex<BTreeSet<u16>>,
    pub health: Mutex<Vec<TargetHealthReport>>,
    pub drained: Mutex<Vec<(String, u16)>>,
}

impl FakePlane {
    pub fn last(&self) -> LbSnapshot {
        self.applied
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

impl LbPlane for FakePlane {
    fn apply(&self, snapshot: LbSnapshot) -> Result<(), String> {
        let busy = self.busy.lock().unwrap();
        for lb in &snapshot.load_balancers {
            for l in &lb.listeners {
                if busy.contains(&l.port) {
                    return Err(format!("port {} is in use by another program", l.port));
                }
            }
        }
        self.applied.lock().unwrap().push(snapshot);
        Ok(())
    }

    fn target_health(&self, _arn: &str) -> Vec<TargetHealthReport> {
        self.health.lock().unwrap().clone()
    }

    fn drained(&self, _arn: &str) -> Vec<(String, u16)> {
        self.drained.lock().unwrap().clone()
    }
}

pub struct Setup {
    pub _dir: tempfile::TempDir,
    pub elb: Arc<Elbv2>,
    pub certs: Arc<FakeCertificates>,
    pub plane: Arc<FakePlane>,
    pub clock: Arc<FakeClock>,
    pub ctx: RequestContext,
}

pub fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("state.db")).unwrap());
    let certs = Arc::new(FakeCertificates::default());
    let plane = Arc::new(FakePlane::default());
    let clock = Arc::new(FakeClock::new(Timestamp::from_millis(NOW)));
    let elb = Arc::new(
        Elbv2::new(
            store,
            Arc::new(RandomIds),
            clock.clone(),
            Arc::new(FakeNetwork),
            certs.clone(),
        )
        .with_plane(plane.clone()),
    );
    Setup {
        _dir: dir,
        elb,
        certs,
        plane,
        clock,
        ctx: RequestContext::for_tests(REGION, ACCOUNT, Timestamp::from_millis(NOW)),
    }
}

impl Setup {
    pub fn lb(&self, name: &str) -> String {
        use crate::generated::Elbv2Api;
        self.elb
            .create_load_balancer(
                &self.ctx,
                CreateLoadBalancerInput {
                    name: name.into(),
                    subnets: Some(vec![SUBNETS[0].into(), SUBNETS[1].into()]),
                    ..CreateLoadBalancerInput::default()
                },
            )
            .unwrap()
            .load_balancers
            .unwrap()[0]
            .load_balancer_arn
            .clone()
            .unwrap()
    }

    pub fn tg(&self, name: &str) -> String {
        use crate::generated::Elbv2Api;
        self.elb
            .create_target_group(
                &self.ctx,
                CreateTargetGroupInput {
                    name: name.into(),
                    protocol: Some("HTTP".into()),
                    port: Some(8000),
                    vpc_id: Some(VPC.into()),
                    target_type: Some("ip".into()),
                    ..CreateTargetGroupInput::default()
                },
            )
            .unwrap()
            .target_groups
            .unwrap()[0]
            .target_group_arn
            .clone()
            .unwrap()
    }

    pub fn http_listener(&self, lb: &str, port: i32, tg: &str) -> Result<String, Error> {
        use crate::generated::Elbv2Api;
        Ok(self
            .elb
            .create_listener(
                &self.ctx,
                CreateListenerInput {
                    load_balancer_arn: lb.into(),
                    protocol: Some("HTTP".into()),
                    port: Some(port),
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
}

pub fn forward(tg: &str) -> Action {
    Action {
        r#type: "forward".into(),
        target_group_arn: Some(tg.into()),
        ..Action::default()
    }
}

pub fn path(values: &[&str]) -> RuleCondition {
    RuleCondition {
        field: Some("path-pattern".into()),
        values: Some(values.iter().map(|s| s.to_string()).collect()),
        ..RuleCondition::default()
    }
}
