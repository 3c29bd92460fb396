//! Health checks (states, reasons, fail open, unused) and draining, with real backends.

// Helpers outside #[test] functions unwrap too: this is test code.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wharf_core::lb_plane::*;

fn report(plane: &wharf_lb::LoadBalancerPlane, arn: &str, port: u16) -> TargetHealthReport {
    plane
        .target_health(arn)
        .into_iter()
        .find(|r| r.port == port)
        .expect("target reported")
}

#[tokio::test]
async fn health_transitions_route_only_to_healthy_targets() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let (plane, _) = plane();
    let port = free_port();
    plane
        .apply(simple(port, tg("tg", &[a.port(), b.port()])))
        .unwrap();
    let first = report(&plane, "tg", a.port());
    assert_eq!(first.state, "initial");
    assert_eq!(first.reason.as_deref(), Some("Elb.RegistrationInProgress"));
    assert_eq!(
        first.description.as_deref(),
        Some("Target registration is in progress")
    );
    wait_healthy(&plane, "tg").await;
    let healthy = report(&plane, "tg", a.port());
    assert_eq!((healthy.reason, healthy.description), (None, None));

    a.set_health(500);
    wait_until("a unhealthy", Duration::from_secs(20), || {
        report(&plane, "tg", a.port()).state == "unhealthy"
    })
    .await;
    let r = report(&plane, "tg", a.port());
    assert_eq!(r.reason.as_deref(), Some("Target.ResponseCodeMismatch"));
    assert_eq!(
        r.description.as_deref(),
        Some("Health checks failed with these codes: [500]")
    );
    let c = client();
    let before = a.hits();
    for _ in 0..20 {
        assert_eq!(get(&c, port, "/", None).await.body, "b");
    }
    assert_eq!(a.hits(), before, "an unhealthy target gets no traffic");

    a.set_health(200);
    wait_healthy(&plane, "tg").await;
    let mut seen_a = false;
    for _ in 0..20 {
        seen_a |= get(&c, port, "/", None).await.body == "a";
    }
    assert!(seen_a, "a recovered target gets traffic again");
}

#[tokio::test]
async fn timeout_and_connection_failures_have_their_reasons() {
    let slow = Backend::start("slow").await;
    let gone = Backend::start("gone").await;
    let gone_port = gone.port();
    drop(gone);
    let (plane, _) = plane();
    let port = free_port();
    let mut group = tg("tg", &[slow.port(), gone_port]);
    group.health_check.path = "/slow/3000".into();
    group.health_check.timeout = Duration::from_millis(300);
    plane.apply(simple(port, group)).unwrap();
    wait_until("both unhealthy", Duration::from_secs(20), || {
        plane
            .target_health("tg")
            .iter()
            .all(|r| r.state == "unhealthy")
    })
    .await;
    let r = report(&plane, "tg", slow.port());
    assert_eq!(r.reason.as_deref(), Some("Target.Timeout"));
    assert_eq!(r.description.as_deref(), Some("Request timed out"));
    let r = report(&plane, "tg", gone_port);
    assert_eq!(r.reason.as_deref(), Some("Target.FailedHealthChecks"));
    assert_eq!(r.description.as_deref(), Some("Health checks failed"));
}

#[tokio::test]
async fn every_target_unhealthy_fails_open() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    a.set_health(503);
    b.set_health(503);
    let (plane, _) = plane();
    let port = free_port();
    plane
        .apply(simple(port, tg("tg", &[a.port(), b.port()])))
        .unwrap();
    wait_until("both unhealthy", Duration::from_secs(20), || {
        let s = plane.target_health("tg");
        s.len() == 2 && s.iter().all(|r| r.state == "unhealthy")
    })
    .await;
    let c = client();
    for _ in 0..20 {
        assert_eq!(get(&c, port, "/", None).await.status, 200);
    }
    assert!(a.hits() > 0 && b.hits() > 0, "fail open uses every target");
}

#[tokio::test]
async fn a_new_target_waits_for_its_checks_and_unused_groups_say_so() {
    let a = Backend::start("a").await;
    let late = Backend::start("late").await;
    let (plane, _) = plane();
    let port = free_port();
    let mut snapshot = simple(port, tg("tg", &[a.port()]));
    snapshot.target_groups.push(tg("tg-spare", &[a.port()]));
    apply_settled(&plane, snapshot.clone()).await;
    let spare = report(&plane, "tg-spare", a.port());
    assert_eq!(spare.state, "unused");
    assert_eq!(spare.reason.as_deref(), Some("Target.NotInUse"));
    assert_eq!(
        spare.description.as_deref(),
        Some("Target group is not configured to receive traffic from the load balancer")
    );

    // Register `late` with slow checks (it stays `initial` for a while) while `a` deregisters.
    let mut next = snapshot.clone();
    next.target_groups[0].health_check.interval = Duration::from_millis(1500);
    next.target_groups[0].health_check.healthy_threshold = 3;
    next.target_groups[0].targets = vec![
        TargetSpec {
            deregistered_at_ms: Some(now_ms()),
            ..target(a.port())
        },
        target(late.port()),
    ];
    plane.apply(next).unwrap();
    assert_eq!(report(&plane, "tg", late.port()).state, "initial");
    assert_eq!(report(&plane, "tg", a.port()).state, "draining");
    let c = client();
    let answer = get(&c, port, "/", None).await;
    assert_eq!(
        answer.status, 503,
        "no traffic to a target before it is healthy"
    );
    assert_eq!(late.hits(), 0);
    wait_healthy_port(&plane, "tg", late.port()).await;
    assert_eq!(get(&c, port, "/", None).await.body, "late");
}

async fn wait_healthy_port(plane: &wharf_lb::LoadBalancerPlane, arn: &str, port: u16) {
    wait_until("target healthy", Duration::from_secs(30), || {
        report(plane, arn, port).state == "healthy"
    })
    .await;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn draining_lets_a_long_request_finish_and_sends_nothing_new() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let (plane, _) = plane();
    let port = free_port();
    let group = tg("tg", &[a.port(), b.port()]);
    apply_settled(&plane, simple(port, group.clone())).await;

    // Two long requests: round robin puts one on each target.
    let c = client();
    let long = {
        let c = c.clone();
        tokio::spawn(async move {
            let (x, y) = tokio::join!(
                get(&c, port, "/slow/1500", None),
                get(&c, port, "/slow/1500", None)
            );
            (x, y)
        })
    };
    wait_until(
        "both long requests started",
        Duration::from_secs(10),
        || a.hits() == 1 && b.hits() == 1,
    )
    .await;
    let mut next = group.clone();
    next.targets[0].deregistered_at_ms = Some(now_ms());
    plane.apply(simple(port, next)).unwrap();
    assert_eq!(report(&plane, "tg", a.port()).state, "draining");
    assert!(
        plane.drained("tg").is_empty(),
        "a request is still in flight on the draining target"
    );
    for _ in 0..10 {
        assert_eq!(get(&c, port, "/", None).await.body, "b");
    }
    assert_eq!(a.hits(), 1, "no new request to a draining target");
    let (x, y) = long.await.unwrap();
    assert_eq!((x.status.as_u16(), y.status.as_u16()), (200, 200));
    let mut bodies = vec![x.body, y.body];
    bodies.sort();
    assert_eq!(
        bodies,
        vec!["a", "b"],
        "the in-flight request on `a` finished"
    );
    wait_until("a drained", Duration::from_secs(10), || {
        plane.drained("tg") == vec![("127.0.0.1".to_string(), a.port())]
    })
    .await;
}

#[tokio::test]
async fn the_deregistration_delay_cuts_what_is_still_in_flight() {
    let a = Backend::start("a").await;
    let (plane, _) = plane();
    let port = free_port();
    let mut group = tg("tg", &[a.port()]);
    group.deregistration_delay = Duration::from_millis(500);
    apply_settled(&plane, simple(port, group.clone())).await;
    let c = client();
    let long = {
        let c = c.clone();
        tokio::spawn(async move { get(&c, port, "/slow/8000", None).await })
    };
    wait_until("long request started", Duration::from_secs(10), || {
        a.hits() == 1
    })
    .await;
    let started = Instant::now();
    group.targets[0].deregistered_at_ms = Some(now_ms());
    plane.apply(simple(port, group)).unwrap();
    let answer = long.await.unwrap();
    assert_eq!(answer.status, 502);
    assert!(started.elapsed() < Duration::from_secs(6));
    assert_eq!(
        plane.drained("tg"),
        vec![("127.0.0.1".to_string(), a.port())]
    );
}

#[tokio::test]
async fn deregistering_a_target_under_load_fails_no_request() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let (plane, _) = plane();
    let port = free_port();
    let group = tg("tg", &[a.port(), b.port()]);
    apply_settled(&plane, simple(port, group.clone())).await;

    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (ok, failed, stop) = (Arc::clone(&ok), Arc::clone(&failed), Arc::clone(&stop));
        workers.push(tokio::spawn(async move {
            let c = client();
            let deadline = Instant::now() + Duration::from_secs(30);
            for i in 0..5_000 {
                if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                    break;
                }
                let path = if i % 10 == 0 { "/slow/100" } else { "/" };
                let req = http::Request::get(format!("http://127.0.0.1:{port}{path}"))
                    .body(Default::default())
                    .unwrap();
                match send(&c, req).await {
                    Ok(a) if a.status == 200 => ok.fetch_add(1, Ordering::SeqCst),
                    other => {
                        eprintln!("failed: {other:?}");
                        failed.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut next = group.clone();
    next.targets[0].deregistered_at_ms = Some(now_ms());
    plane.apply(simple(port, next.clone())).unwrap();
    wait_until("a drained", Duration::from_secs(10), || {
        !plane.drained("tg").is_empty()
    })
    .await;
    // The control plane forgets it; then `a` goes away for good.
    next.targets.remove(0);
    plane.apply(simple(port, next)).unwrap();
    a.stop();
    let hits_after = a.hits();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::SeqCst), 0);
    assert!(ok.load(Ordering::SeqCst) > 20);
    assert_eq!(a.hits(), hits_after);
}
