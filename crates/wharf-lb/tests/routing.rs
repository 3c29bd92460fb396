//! Listener rules, actions, forwarding headers, error answers and live configuration changes,
//! through real sockets.

// Helpers outside #[test] functions unwrap too: this is test code.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wharf_core::lb_plane::*;

#[tokio::test]
async fn rules_route_by_path_and_host_then_default() {
    let api = Backend::start("api").await;
    let web = Backend::start("web").await;
    let admin = Backend::start("admin").await;
    let (plane, _) = plane();
    let port = free_port();
    let snapshot = LbSnapshot {
        load_balancers: vec![lb(
            "a",
            "a.elb.localhost",
            vec![http_listener(
                port,
                vec![
                    rule(
                        10,
                        vec![Condition::PathPattern(vec!["/api/*".into()])],
                        forward("tg-api"),
                    ),
                    rule(
                        20,
                        vec![Condition::HostHeader(vec!["admin.*".into()])],
                        forward("tg-admin"),
                    ),
                    rule(
                        30,
                        vec![Condition::HttpRequestMethod(vec!["DELETE".into()])],
                        Action::FixedResponse {
                            status_code: 405,
                            content_type: Some("application/json".into()),
                            body: Some("{\"error\":\"no deletes\"}".into()),
                        },
                    ),
                    rule(
                        40,
                        vec![Condition::PathPattern(vec!["/old/*".into()])],
                        Action::Redirect {
                            protocol: "#{protocol}".into(),
                            host: "new.example.com".into(),
                            port: "#{port}".into(),
                            path: "/new/#{path}".into(),
                            query: "#{query}&moved=1".into(),
                            status_code: 301,
                        },
                    ),
                    default_rule(forward("tg-web")),
                ],
            )],
        )],
        target_groups: vec![
            tg("tg-api", &[api.port()]),
            tg("tg-web", &[web.port()]),
            tg("tg-admin", &[admin.port()]),
        ],
    };
    apply_settled(&plane, snapshot).await;
    let c = client();
    assert_eq!(get(&c, port, "/api/users?x=1", None).await.body, "api");
    assert_eq!(
        get(&c, port, "/api", None).await.body,
        "web",
        "/api/* needs the slash"
    );
    assert_eq!(
        get(&c, port, "/API/users", None).await.body,
        "web",
        "paths are case-sensitive"
    );
    assert_eq!(get(&c, port, "/", None).await.body, "web");
    assert_eq!(
        get(&c, port, "/x", Some("ADMIN.example.com:8080"))
            .await
            .body,
        "admin"
    );
    let a = get(&c, port, "/index.html", None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["x-backend"], "web");

    let del = send(
        &c,
        http::Request::delete(format!("http://127.0.0.1:{port}/thing"))
            .body(Default::default())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(del.status, 405);
    assert_eq!(del.headers["content-type"], "application/json");
    assert_eq!(del.body, "{\"error\":\"no deletes\"}");

    let moved = get(&c, port, "/old/page?a=b", None).await;
    assert_eq!(moved.status, 301);
    assert_eq!(
        moved.headers["location"],
        format!("http://new.example.com:{port}/new/old/page?a=b&moved=1")
    );
    assert_eq!(api.hits(), 1);
}

#[tokio::test]
async fn two_load_balancers_share_a_port_by_host() {
    let one = Backend::start("one").await;
    let two = Backend::start("two").await;
    let (plane, _) = plane();
    let port = free_port();
    apply_settled(
        &plane,
        LbSnapshot {
            load_balancers: vec![
                lb(
                    "one",
                    "one-123.us-east-1.elb.localhost",
                    vec![http_listener(port, vec![default_rule(forward("tg-one"))])],
                ),
                lb(
                    "two",
                    "two-456.us-east-1.elb.localhost",
                    vec![http_listener(port, vec![default_rule(forward("tg-two"))])],
                ),
            ],
            target_groups: vec![tg("tg-one", &[one.port()]), tg("tg-two", &[two.port()])],
        },
    )
    .await;
    assert_eq!(plane.ports(), vec![port]);
    let c = client();
    let host_two = format!("TWO-456.us-east-1.elb.localhost:{port}");
    assert_eq!(get(&c, port, "/", Some(&host_two)).await.body, "two");
    assert_eq!(
        get(&c, port, "/", Some("one-123.us-east-1.elb.localhost"))
            .await
            .body,
        "one"
    );
    assert_eq!(
        get(&c, port, "/", Some("unknown.example")).await.body,
        "one",
        "first is the fallback"
    );
}

#[tokio::test]
async fn forwarded_headers_and_trace_id_reach_the_target() {
    let b = Backend::start("b").await;
    let (plane, _) = plane();
    let port = free_port();
    apply_settled(&plane, simple(port, tg("tg", &[b.port()]))).await;
    let c = client();
    let req = http::Request::get(format!("http://127.0.0.1:{port}/headers"))
        .header("x-forwarded-for", "203.0.113.7")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "secret")
        .body(Default::default())
        .unwrap();
    let a = send(&c, req).await.unwrap();
    assert_eq!(a.status, 200);
    let h = b.last_headers.lock().unwrap().clone().unwrap();
    assert_eq!(h["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-port"], port.to_string());
    assert_eq!(
        h["host"],
        format!("127.0.0.1:{port}"),
        "the client's Host is kept"
    );
    assert!(
        !h.contains_key("x-hop"),
        "headers named by Connection are hop-by-hop"
    );
    let trace = h["x-amzn-trace-id"].to_str().unwrap().to_string();
    let parts: Vec<&str> = trace.trim_start_matches("Root=").split('-').collect();
    assert_eq!(parts.len(), 3, "{trace}");
    assert_eq!(parts[0], "1");
    assert_eq!(parts[1].len(), 8);
    assert_eq!(parts[2].len(), 24);
    let epoch = u64::from_str_radix(parts[1], 16).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(epoch) < 120);

    let req = http::Request::get(format!("http://127.0.0.1:{port}/headers"))
        .header(
            "x-amzn-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
        )
        .body(Default::default())
        .unwrap();
    send(&c, req).await.unwrap();
    let h = b.last_headers.lock().unwrap().clone().unwrap();
    assert_eq!(
        h["x-amzn-trace-id"],
        "Root=1-5759e988-bd862e3fe1be46a994272793"
    );
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
}

#[tokio::test]
async fn weighted_forward_is_roughly_proportional() {
    let light = Backend::start("light").await;
    let heavy = Backend::start("heavy").await;
    let (plane, _) = plane();
    let port = free_port();
    apply_settled(
        &plane,
        LbSnapshot {
            load_balancers: vec![lb(
                "a",
                "a.elb.localhost",
                vec![http_listener(
                    port,
                    vec![default_rule(Action::Forward {
                        target_groups: vec![("tg-light".into(), 1), ("tg-heavy".into(), 3)],
                        stickiness: None,
                    })],
                )],
            )],
            target_groups: vec![
                tg("tg-light", &[light.port()]),
                tg("tg-heavy", &[heavy.port()]),
            ],
        },
    )
    .await;
    let c = client();
    for _ in 0..400 {
        assert_eq!(get(&c, port, "/", None).await.status, 200);
    }
    let (l, h) = (light.hits(), heavy.hits());
    assert_eq!(l + h, 400);
    // Expected 100 / 300; binomial sd ~ 8.7: allow a wide margin.
    assert!((50..=150).contains(&l), "light {l}, heavy {h}");
}

#[tokio::test]
async fn group_stickiness_keeps_a_client_on_one_group() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let (plane, _) = plane();
    let port = free_port();
    apply_settled(
        &plane,
        LbSnapshot {
            load_balancers: vec![lb(
                "a",
                "a.elb.localhost",
                vec![http_listener(
                    port,
                    vec![default_rule(Action::Forward {
                        target_groups: vec![("tg-a".into(), 1), ("tg-b".into(), 1)],
                        stickiness: Some(Duration::from_secs(3600)),
                    })],
                )],
            )],
            target_groups: vec![tg("tg-a", &[a.port()]), tg("tg-b", &[b.port()])],
        },
    )
    .await;
    let c = client();
    let first = get(&c, port, "/", None).await;
    let cookie = first.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("AWSALBTG="), "{cookie}");
    assert!(cookie.contains("Expires=") && cookie.contains("Path=/"));
    let pair = cookie.split(';').next().unwrap().to_string();
    for _ in 0..20 {
        let req = http::Request::get(format!("http://127.0.0.1:{port}/"))
            .header("cookie", &pair)
            .body(Default::default())
            .unwrap();
        assert_eq!(send(&c, req).await.unwrap().body, first.body);
    }
}

#[tokio::test]
async fn errors_503_502_504_with_alb_bodies() {
    let slow = Backend::start("slow").await;
    let gone = Backend::start("gone").await;
    let gone_port = gone.port();
    gone.stop();
    drop(gone);
    let (plane, _) = plane();
    let port = free_port();
    let mut snapshot = LbSnapshot {
        load_balancers: vec![lb(
            "a",
            "a.elb.localhost",
            vec![http_listener(
                port,
                vec![
                    rule(
                        1,
                        vec![Condition::PathPattern(vec!["/empty*".into()])],
                        forward("tg-empty"),
                    ),
                    rule(
                        2,
                        vec![Condition::PathPattern(vec!["/gone*".into()])],
                        forward("tg-gone"),
                    ),
                    default_rule(forward("tg-slow")),
                ],
            )],
        )],
        target_groups: vec![
            tg("tg-empty", &[]),
            tg("tg-gone", &[gone_port]),
            tg("tg-slow", &[slow.port()]),
        ],
    };
    snapshot.load_balancers[0].idle_timeout = Duration::from_millis(1500);
    apply_settled(&plane, snapshot).await;
    let c = client();

    let a = get(&c, port, "/empty", None).await;
    assert_eq!(a.status, 503);
    assert_eq!(
        a.body,
        "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
    );
    assert_eq!(a.headers["server"], "awselb/2.0");

    let a = get(&c, port, "/gone", None).await;
    assert_eq!(a.status, 502);
    assert_eq!(
        a.body,
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"
    );

    let started = Instant::now();
    let a = get(&c, port, "/slow/5000", None).await;
    assert_eq!(a.status, 504);
    assert!(
        a.body.contains("<h1>504 Gateway Time-out</h1>"),
        "{}",
        a.body
    );
    assert!(started.elapsed() < Duration::from_millis(4500));
    // A fast request on the same target still works.
    assert_eq!(get(&c, port, "/fast", None).await.body, "slow");
}

#[tokio::test]
async fn a_port_in_use_fails_apply_and_changes_nothing() {
    let b = Backend::start("b").await;
    let (plane, _) = plane();
    let port = free_port();
    apply_settled(&plane, simple(port, tg("tg", &[b.port()]))).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let mut bad = simple(port, tg("tg", &[b.port()]));
    bad.load_balancers[0].listeners.push(http_listener(
        taken_port,
        vec![default_rule(Action::FixedResponse {
            status_code: 200,
            content_type: None,
            body: Some("new".into()),
        })],
    ));
    bad.load_balancers[0].listeners[0].rules = vec![default_rule(Action::FixedResponse {
        status_code: 200,
        content_type: None,
        body: Some("changed".into()),
    })];
    let err = plane.apply(bad).unwrap_err();
    assert!(err.contains(&taken_port.to_string()), "{err}");
    assert_eq!(plane.ports(), vec![port]);
    assert_eq!(
        get(&client(), port, "/", None).await.body,
        "b",
        "the old routing stays"
    );

    // Closing a port frees it; opening it again works at once.
    let other = free_port();
    plane.apply(simple(other, tg("tg", &[b.port()]))).unwrap();
    assert_eq!(plane.ports(), vec![other]);
    wait_until("old port closed", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    })
    .await;
    plane.apply(simple(port, tg("tg", &[b.port()]))).unwrap();
    assert_eq!(get(&client(), port, "/", None).await.body, "b");
}

#[tokio::test]
async fn config_changes_under_load_drop_no_request() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let (plane, _) = plane();
    let port = free_port();
    let other_port = free_port();
    let c_backend = Backend::start("c").await;
    // Every variant keeps a and b registered (and healthy); what changes: which group the rules
    // name, a second port opening and closing, a third target registered, deregistered and
    // removed (it never passes its checks, so it never gets traffic), weights and timeouts.
    let snapshot = |variant: usize| {
        let (api, default) = if variant.is_multiple_of(2) {
            ("tg-x", "tg-y")
        } else {
            ("tg-y", "tg-x")
        };
        let mut x = tg("tg-x", &[a.port()]);
        let y = tg("tg-y", &[b.port()]);
        match variant % 3 {
            0 => x.targets.push(target(c_backend.port())),
            1 => x.targets.push(TargetSpec {
                deregistered_at_ms: Some(1),
                ..target(c_backend.port())
            }),
            _ => {}
        }
        let mut s = LbSnapshot {
            load_balancers: vec![lb(
                "a",
                "a.elb.localhost",
                vec![http_listener(
                    port,
                    vec![
                        rule(
                            1,
                            vec![Condition::PathPattern(vec!["/api/*".into()])],
                            forward(api),
                        ),
                        default_rule(Action::Forward {
                            target_groups: vec![(default.into(), 1 + variant as u32 % 4)],
                            stickiness: None,
                        }),
                    ],
                )],
            )],
            target_groups: vec![x, y],
        };
        s.load_balancers[0].idle_timeout = Duration::from_secs(30 + variant as u64);
        if variant.is_multiple_of(2) {
            s.load_balancers[0].listeners.push(http_listener(
                other_port,
                vec![default_rule(forward("tg-x"))],
            ));
        }
        s
    };
    c_backend.set_health(500);
    plane.apply(snapshot(2)).unwrap();
    wait_healthy(&plane, "tg-x").await;
    wait_healthy(&plane, "tg-y").await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (stop, ok, failed) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
        workers.push(tokio::spawn(async move {
            let c = client();
            let deadline = Instant::now() + Duration::from_secs(30);
            for i in 0..5_000 {
                if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                    break;
                }
                let path = if (i + w) % 2 == 0 { "/api/x" } else { "/" };
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
    for i in 0..24 {
        plane.apply(snapshot(i)).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::SeqCst), 0);
    assert!(ok.load(Ordering::SeqCst) > 20, "the load ran");
    assert_eq!(
        c_backend.hits(),
        0,
        "a target never healthy never gets traffic"
    );
}

#[tokio::test]
async fn https_targets_health_check_ports_and_target_stickiness() {
    let secure = Backend::start_tls("secure").await;
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let health_only = Backend::start("health").await;
    let (plane, _) = plane();
    let port = free_port();
    // An HTTPS target group (no certificate verification, as ALB).
    let mut tls_group = tg("tg-tls", &[secure.port()]);
    tls_group.protocol = "HTTPS".into();
    tls_group.health_check.protocol = "HTTPS".into();
    // Health checks on a fixed port: `a` and `b` are judged by `health_only`'s /health.
    let mut sticky = tg("tg-sticky", &[a.port(), b.port()]);
    sticky.health_check.port = Some(health_only.port());
    sticky.stickiness = Some(Duration::from_secs(600));
    apply_settled(
        &plane,
        LbSnapshot {
            load_balancers: vec![lb(
                "a",
                "a.elb.localhost",
                vec![http_listener(
                    port,
                    vec![
                        rule(
                            1,
                            vec![Condition::PathPattern(vec!["/secure/*".into()])],
                            forward("tg-tls"),
                        ),
                        default_rule(forward("tg-sticky")),
                    ],
                )],
            )],
            target_groups: vec![tls_group, sticky],
        },
    )
    .await;
    assert_eq!(
        states(&plane, "tg-tls"),
        vec![(secure.port(), "healthy".to_string())]
    );
    let c = client();
    assert_eq!(get(&c, port, "/secure/x", None).await.body, "secure");

    let first = get(&c, port, "/", None).await;
    let cookie = first.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("AWSALB="), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    for _ in 0..10 {
        let req = http::Request::get(format!("http://127.0.0.1:{port}/"))
            .header("cookie", &pair)
            .body(Default::default())
            .unwrap();
        assert_eq!(
            send(&c, req).await.unwrap().body,
            first.body,
            "sticky target"
        );
    }
    // Failing the shared health check port makes both unhealthy (fail open keeps serving).
    health_only.set_health(500);
    wait_until("both unhealthy", Duration::from_secs(20), || {
        plane
            .target_health("tg-sticky")
            .iter()
            .all(|r| r.state == "unhealthy")
    })
    .await;
    assert_eq!(get(&c, port, "/", None).await.status, 200);
    assert_eq!(
        health_only.hits(),
        0,
        "health checks are not counted as hits"
    );
}
