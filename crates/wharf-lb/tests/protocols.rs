//! WebSocket, HTTPS (SNI, ALPN h2, TLS policies), h2c, idle timeout and hostile clients.

// Helpers outside #[test] functions unwrap too: this is test code.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::*;
use futures_util::{SinkExt, StreamExt};
use http::{Request, StatusCode, Version};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::tungstenite::Message;
use wharf_core::lb_plane::*;

#[tokio::test]
async fn websocket_echo_through_the_proxy() {
    let b = Backend::start("ws").await;
    let (plane, _) = plane();
    let port = free_port();
    apply_settled(&plane, simple(port, tg("tg", &[b.port()]))).await;
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut ws, resp) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::client_async(format!("ws://127.0.0.1:{port}/ws"), stream),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    for i in 0..5 {
        let text = format!("hello {i}");
        ws.send(Message::text(text.clone())).await.unwrap();
        let echoed = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), text);
    }
    let h = b.last_headers.lock().unwrap().clone().unwrap();
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["upgrade"], "websocket");
    ws.close(None).await.unwrap();
}

fn tls_client(roots: &[&[u8]], alpn: &[&[u8]], tls12_only: bool) -> tokio_rustls::TlsConnector {
    let mut store = rustls::RootCertStore::empty();
    for der in roots {
        store.add(CertificateDer::from(der.to_vec())).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider);
    let builder = if tls12_only {
        builder.with_protocol_versions(&[&rustls::version::TLS12])
    } else {
        builder.with_safe_default_protocol_versions()
    }
    .unwrap();
    let mut config = builder.with_root_certificates(store).with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn tls_connect(
    connector: &tokio_rustls::TlsConnector,
    port: u16,
    sni: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    tokio::time::timeout(
        Duration::from_secs(10),
        connector.connect(ServerName::try_from(sni.to_string()).unwrap(), tcp),
    )
    .await
    .map_err(|_| std::io::Error::other("tls handshake timed out"))?
}

async fn h1_get(tls: TlsStream<TcpStream>, host: &str, path: &str) -> (StatusCode, String) {
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get(path)
        .header("host", host)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn https_listener(
    port: u16,
    certs: &[&str],
    policy: Option<&str>,
    rules: Vec<RuleSpec>,
) -> ListenerSpec {
    ListenerSpec {
        arn: format!("arn:listener/https/{port}/{}", certs.join(",")),
        port,
        protocol: ListenerProtocol::Https,
        certificate_arns: certs.iter().map(|c| c.to_string()).collect(),
        ssl_policy: policy.map(str::to_string),
        rules,
    }
}

#[tokio::test]
async fn https_picks_certificates_by_sni_and_speaks_h2() {
    let b = Backend::start("secure").await;
    let (plane, certs) = plane();
    let app_der = certs.generate("arn:cert/app", &["app.example.com"]);
    let api_der = certs.generate("arn:cert/api", &["*.api.example.com"]);
    let port = free_port();
    let snapshot = LbSnapshot {
        load_balancers: vec![
            lb(
                "secure",
                "secure.elb.localhost",
                vec![https_listener(
                    port,
                    &["arn:cert/app", "arn:cert/api"],
                    None,
                    vec![default_rule(forward("tg"))],
                )],
            ),
            // A plain HTTP load balancer on the same port: the first byte tells them apart.
            lb(
                "plain",
                "plain.elb.localhost",
                vec![http_listener(
                    port,
                    vec![default_rule(Action::Redirect {
                        protocol: "HTTPS".into(),
                        host: "#{host}".into(),
                        port: "443".into(),
                        path: "/#{path}".into(),
                        query: "#{query}".into(),
                        status_code: 301,
                    })],
                )],
            ),
        ],
        target_groups: vec![tg("tg", &[b.port()])],
    };
    apply_settled(&plane, snapshot).await;

    // SNI chooses the certificate; both are trusted by this client.
    let connector = tls_client(&[&app_der, &api_der], &[b"http/1.1"], false);
    let tls = tls_connect(&connector, port, "v1.api.example.com")
        .await
        .unwrap();
    let served = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    assert_eq!(served, api_der);
    let (status, body) = h1_get(tls, "v1.api.example.com", "/x").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "secure"));
    let h = b.last_headers.lock().unwrap().clone().unwrap();
    assert_eq!(h["x-forwarded-proto"], "https");
    assert_eq!(h["x-forwarded-port"], port.to_string());

    let tls = tls_connect(&connector, port, "app.example.com")
        .await
        .unwrap();
    assert_eq!(
        tls.get_ref().1.peer_certificates().unwrap()[0].to_vec(),
        app_der
    );
    // An unknown name gets the default certificate (which this client then rejects).
    let only_default = tls_client(&[&app_der], &[], false);
    let err = tls_connect(&only_default, port, "other.example.com").await;
    assert!(
        err.is_err(),
        "the default cert does not cover other.example.com"
    );

    // HTTP/2 by ALPN.
    let h2 = tls_client(&[&app_der, &api_der], &[b"h2", b"http/1.1"], false);
    let tls = tls_connect(&h2, port, "app.example.com").await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    for _ in 0..3 {
        let req = Request::get("https://app.example.com/h2")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        assert_eq!(resp.status(), StatusCode::OK);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"secure");
    }
    let h = b.last_headers.lock().unwrap().clone().unwrap();
    assert_eq!(h["host"], "app.example.com", ":authority becomes Host");

    // Plain HTTP on the same port: the redirect to HTTPS.
    let c = client();
    let a = get(&c, port, "/login?next=%2F", Some("app.example.com")).await;
    assert_eq!(a.status, 301);
    assert_eq!(
        a.headers["location"],
        "https://app.example.com:443/login?next=%2F"
    );
}

#[tokio::test]
async fn tls13_only_policies_refuse_tls12() {
    let b = Backend::start("b").await;
    let (plane, certs) = plane();
    let der = certs.generate("arn:cert/a", &["a.example.com"]);
    let port = free_port();
    apply_settled(
        &plane,
        LbSnapshot {
            load_balancers: vec![lb(
                "a",
                "a.elb.localhost",
                vec![https_listener(
                    port,
                    &["arn:cert/a"],
                    Some("ELBSecurityPolicy-TLS13-1-3-2021-06"),
                    vec![default_rule(forward("tg"))],
                )],
            )],
            target_groups: vec![tg("tg", &[b.port()])],
        },
    )
    .await;
    let tls12 = tls_client(&[&der], &[], true);
    assert!(tls_connect(&tls12, port, "a.example.com").await.is_err());
    let tls13 = tls_client(&[&der], &[], false);
    let tls = tls_connect(&tls13, port, "a.example.com").await.unwrap();
    assert_eq!(
        tls.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert_eq!(h1_get(tls, "a.example.com", "/").await.1, "b");

    // A certificate that is missing fails the apply, naming it.
    let err = plane
        .apply(LbSnapshot {
            load_balancers: vec![lb(
                "a",
                "a.elb.localhost",
                vec![https_listener(
                    port,
                    &["arn:cert/missing"],
                    None,
                    vec![default_rule(forward("tg"))],
                )],
            )],
            target_groups: vec![tg("tg", &[b.port()])],
        })
        .unwrap_err();
    assert!(err.contains("arn:cert/missing"), "{err}");
}

#[tokio::test]
async fn h2c_prior_knowledge_on_plain_http() {
    let b = Backend::start("b").await;
    let (plane, _) = plane();
    let port = free_port();
    apply_settled(&plane, simple(port, tg("tg", &[b.port()]))).await;
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = sender
        .send_request(
            Request::get("http://a.elb.localhost/")
                .body(Empty::<Bytes>::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(resp.status(), StatusCode::OK);
}

/// Writes `bytes` and reads until the peer closes (or 10 s pass).
async fn raw(port: u16, bytes: &[u8]) -> (String, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .is_ok();
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// Runs `n` normal requests while something hostile happens; all must succeed.
fn bystander(port: u16, n: usize) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let c = client();
        let mut ok = 0;
        for _ in 0..n {
            if get(&c, port, "/bystander", None).await.status == 200 {
                ok += 1;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        ok
    })
}

#[tokio::test]
async fn hostile_requests_are_rejected_without_hurting_others() {
    let b = Backend::start("b").await;
    let (plane, _) = plane_with(wharf_lb::PlaneConfig {
        header_read_timeout: Duration::from_millis(700),
        ..config()
    });
    let port = free_port();
    apply_settled(&plane, simple(port, tg("tg", &[b.port()]))).await;
    let others = bystander(port, 100);

    // Conflicting Content-Length values: 400.
    let (answer, closed) = raw(
        port,
        b"POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 10\r\n\r\nhello",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(closed);

    // Content-Length with Transfer-Encoding: the chunked framing wins, the connection closes
    // after it, and the smuggled request never reaches the target.
    let (answer, closed) = raw(
        port,
        b"POST /te HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(closed);
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{answer}");
    assert!(answer.contains("x-body-len: 0"), "{answer}");

    // Oversized request head: 431.
    let mut big = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..100 {
        big.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "a".repeat(1000)).as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    let (answer, _) = raw(port, &big).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // A slow client that never finishes its head is cut off.
    let started = Instant::now();
    let (answer, closed) = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
    assert!(closed, "the slow client was disconnected");
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(!answer.contains("200 OK"));

    // Garbage: 400.
    let (answer, _) = raw(port, b"\x01\x02NOT HTTP\r\n\r\n").await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );

    assert_eq!(
        others.await.unwrap(),
        100,
        "the other client was unaffected"
    );
    let paths = b.paths.lock().unwrap().clone();
    assert!(!paths.iter().any(|p| p == "/smuggled"), "{paths:?}");
    assert!(!paths.iter().any(|p| p == "/cl"));
}

#[tokio::test]
async fn idle_client_connections_close_after_the_idle_timeout() {
    let b = Backend::start("b").await;
    let (plane, _) = plane();
    let port = free_port();
    let mut snapshot = simple(port, tg("tg", &[b.port()]));
    snapshot.load_balancers[0].idle_timeout = Duration::from_millis(500);
    apply_settled(&plane, snapshot).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("closed by the idle timeout")
        .unwrap();
    assert_eq!(n, 0);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
}
