//! The data plane's `AWS/ApplicationELB` metrics end to end in the crate: requests through a
//! real listener to real backends are published, per period, to a recording sink with AWS's
//! names and dimensions, and every request is counted exactly once.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wharf_core::lb_plane::*;
use wharf_core::{MetricDatum, MetricSink, MetricTime};
use wharf_lb::PlaneConfig;

const LB_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";
const TG_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/73e2d6bc24d8a067";
const EMPTY_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/empty/0000000000000001";
const LB: &str = "app/web/50dc6c495c0c9188";
const TG: &str = "targetgroup/api/73e2d6bc24d8a067";

#[derive(Default)]
struct Recorded(Mutex<Vec<(String, String, MetricDatum)>>);

impl MetricSink for Recorded {
    fn put(&self, account: &str, region: &str, data: Vec<MetricDatum>) {
        let mut all = self.0.lock().unwrap();
        for d in data {
            all.push((account.into(), region.into(), d));
        }
    }
}

impl Recorded {
    /// The sum of `metric`'s values (field `f`) over every period, for exactly `dims`.
    fn total(&self, metric: &str, dims: &[(&str, &str)], f: fn(&MetricDatum) -> f64) -> f64 {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, _, d)| d.metric_name == metric && same_dims(d, dims))
            .map(|(_, _, d)| f(d))
            .sum()
    }

    fn latest(&self, metric: &str, dims: &[(&str, &str)]) -> Option<f64> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(_, _, d)| d.metric_name == metric && same_dims(d, dims))
            .map(|(_, _, d)| d.values.sum)
    }
}

fn same_dims(d: &MetricDatum, dims: &[(&str, &str)]) -> bool {
    d.dimensions.len() == dims.len()
        && dims
            .iter()
            .all(|(k, v)| d.dimensions.iter().any(|(dk, dv)| dk == k && dv == v))
}

fn sum(d: &MetricDatum) -> f64 {
    d.values.sum
}

fn samples(d: &MetricDatum) -> f64 {
    d.values.sample_count
}

/// One load balancer: `/gone` forwards to a group without targets, the rest to `ports`.
fn snapshot(port: u16, ports: &[u16]) -> LbSnapshot {
    let mut lb = lb(
        "web",
        "web.elb.localhost",
        vec![http_listener(
            port,
            vec![
                rule(
                    1,
                    vec![Condition::PathPattern(vec!["/gone".into()])],
                    forward(EMPTY_ARN),
                ),
                default_rule(forward(TG_ARN)),
            ],
        )],
    );
    lb.arn = LB_ARN.into();
    LbSnapshot {
        load_balancers: vec![lb],
        target_groups: vec![tg(TG_ARN, ports), tg(EMPTY_ARN, &[])],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_request_is_published_once_with_aws_names_and_dimensions() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let (plane, _) = plane();
    let sink = Arc::new(Recorded::default());
    // 300 ms metric periods: the requests below span several.
    plane.publish_metrics(sink.clone(), MetricTime::scaled(0.005));
    let port = free_port();
    apply_settled(&plane, snapshot(port, &[a.port(), b.port()])).await;
    wait_healthy(&plane, TG_ARN).await;
    let client = client();
    let (ok, failed, gone) = (40, 6, 3);
    for i in 0..ok {
        assert_eq!(get(&client, port, "/", None).await.status, 200);
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    for _ in 0..failed {
        assert_eq!(get(&client, port, "/status/500", None).await.status, 500);
    }
    for _ in 0..gone {
        assert_eq!(get(&client, port, "/gone", None).await.status, 503);
    }
    let total = (ok + failed + gone) as f64;
    let by_lb = [("LoadBalancer", LB)];
    wait_until("every request published", Duration::from_secs(10), || {
        sink.total("RequestCount", &by_lb, sum) >= total
    })
    .await;
    // A few more periods: nothing is counted twice.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(sink.total("RequestCount", &by_lb, sum), total);
    let by_zone = [("LoadBalancer", LB), ("AvailabilityZone", "us-east-1a")];
    assert_eq!(sink.total("RequestCount", &by_zone, sum), total);
    let by_group = [("TargetGroup", TG), ("LoadBalancer", LB)];
    assert_eq!(
        sink.total("RequestCount", &by_group, sum),
        f64::from(ok + failed)
    );
    assert_eq!(
        sink.total("HTTPCode_Target_2XX_Count", &by_lb, sum),
        f64::from(ok)
    );
    assert_eq!(
        sink.total("HTTPCode_Target_5XX_Count", &by_group, sum),
        f64::from(failed)
    );
    assert_eq!(
        sink.total("HTTPCode_ELB_5XX_Count", &by_lb, sum),
        f64::from(gone)
    );
    assert_eq!(
        sink.total("HTTPCode_ELB_503_Count", &by_lb, sum),
        f64::from(gone)
    );
    assert_eq!(sink.total("HTTPCode_Target_4XX_Count", &by_lb, sum), 0.0);
    assert_eq!(
        sink.total("TargetResponseTime", &by_group, samples),
        f64::from(ok + failed),
        "one response time per target answer"
    );
    assert!(sink.total("TargetResponseTime", &by_lb, sum) > 0.0);
    assert_eq!(
        sink.total("RequestCountPerTarget", &[("TargetGroup", TG)], sum),
        f64::from(ok + failed) / 2.0,
        "over the two healthy targets"
    );
    assert!(sink.total("ProcessedBytes", &by_lb, sum) > 0.0);
    assert!(sink.total("NewConnectionCount", &by_lb, sum) >= 1.0);
    assert_eq!(sink.latest("HealthyHostCount", &by_group), Some(2.0));
    assert_eq!(sink.latest("UnHealthyHostCount", &by_group), Some(0.0));
    let recorded = sink.0.lock().unwrap();
    assert!(recorded
        .iter()
        .all(|(acct, region, d)| acct == "123456789012"
            && region == "eu-west-1"
            && d.namespace == "AWS/ApplicationELB"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_counts_are_published_without_traffic_and_nothing_with_metrics_off() {
    let a = Backend::start("a").await;
    let sink = Arc::new(Recorded::default());
    let (plane, _) = plane();
    plane.publish_metrics(sink.clone(), MetricTime::scaled(0.005));
    let port = free_port();
    apply_settled(&plane, snapshot(port, &[a.port()])).await;
    wait_healthy(&plane, TG_ARN).await;
    let by_group = [("TargetGroup", TG), ("LoadBalancer", LB)];
    wait_until("host counts", Duration::from_secs(10), || {
        sink.latest("HealthyHostCount", &by_group) == Some(1.0)
    })
    .await;
    assert_eq!(
        sink.total("RequestCount", &[("LoadBalancer", LB)], sum),
        0.0,
        "no traffic, no RequestCount"
    );
    plane.shutdown();

    let off_sink = Arc::new(Recorded::default());
    let (off, _) = plane_with(PlaneConfig {
        metrics: false,
        ..config()
    });
    off.publish_metrics(off_sink.clone(), MetricTime::scaled(0.005));
    let port = free_port();
    apply_settled(&off, snapshot(port, &[a.port()])).await;
    wait_healthy(&off, TG_ARN).await;
    let client = client();
    for _ in 0..5 {
        assert_eq!(get(&client, port, "/", None).await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(off_sink.0.lock().unwrap().is_empty());
}
