//! The registry over HTTP, end to end through its router: credentials, push and pull, uploads,
//! refusals, catalog paging, blob ownership, and (when installed) skopeo and Docker.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::blobs::sha256_digest;
use crate::manifest::MAX_MANIFEST_BYTES;
use crate::manifest::{DOCKER_MANIFEST_V2, OCI_INDEX, OCI_MANIFEST};
use crate::push::tests::{fixture, image_manifest, Fixture, ACCOUNT, REGION};
use crate::records::RepoRef;
use axum::body::Body;
use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn code(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        v["errors"][0]["code"].as_str().unwrap().to_string()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

struct Client {
    fixture: Fixture,
    router: Router,
    auth: String,
}

fn client() -> Client {
    let fixture = fixture();
    let token = fixture
        .ecr
        .issue_token(ACCOUNT, REGION, fixture.now())
        .unwrap();
    let router = router(fixture.ecr.clone());
    Client {
        fixture,
        router,
        auth: format!("Basic {}", token.token),
    }
}

impl Client {
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let mut builder = http::Request::builder().method(method).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Body::from(body)).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Vec<u8>) -> Answer {
        self.call_with(method, path, &[], body).await
    }

    async fn call_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let mut all = vec![("authorization", self.auth.as_str())];
        all.extend_from_slice(headers);
        self.send(method, path, &all, body).await
    }

    /// Uploads `bytes` in two chunks and returns the digest.
    async fn upload(&self, name: &str, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        let started = self
            .call("POST", &format!("/v2/{name}/blobs/uploads/"), vec![])
            .await;
        assert_eq!(started.status, StatusCode::ACCEPTED);
        let location = started.header("location").to_string();
        let half = bytes.len() / 2;
        let first = format!("0-{}", half.saturating_sub(1));
        let patched = self
            .call_with(
                "PATCH",
                &location,
                &[("content-range", &first)],
                bytes[..half].to_vec(),
            )
            .await;
        assert_eq!(patched.status, StatusCode::ACCEPTED, "{:?}", patched.body);
        let done = self
            .call(
                "PUT",
                &format!("{location}?digest={digest}"),
                bytes[half..].to_vec(),
            )
            .await;
        assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
        digest
    }
}

#[tokio::test]
async fn base_requires_credentials() {
    let c = client();
    let anonymous = c.send("GET", "/v2/", &[], vec![]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.header("www-authenticate"),
        "Basic realm=\"wharf\""
    );
    assert_eq!(
        anonymous.header("docker-distribution-api-version"),
        "registry/2.0"
    );
    assert_eq!(anonymous.code(), "UNAUTHORIZED");
    for bad in [
        "Basic QVdTOndyb25n", // AWS:wrong
        "Bearer abc",
        "Basic !!!",
    ] {
        let a = c
            .send("GET", "/v2/", &[("authorization", bad)], vec![])
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(a.code(), "UNAUTHORIZED");
    }
    // Unauthenticated requests learn nothing about repositories or paths.
    let a = c.send("GET", "/v2/nope/tags/list", &[], vec![]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = c.send("GET", "/v2/not/an/endpoint", &[], vec![]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    let ok = c.call("GET", "/v2/", vec![]).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.header("docker-distribution-api-version"), "registry/2.0");
    let ok = c.call("GET", "/v2", vec![]).await;
    assert_eq!(ok.status, StatusCode::OK);

    // 12 hours later the token has expired.
    c.fixture.clock.advance(12 * 60 * 60 * 1000 + 1);
    let expired = c.call("GET", "/v2/", vec![]).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.code(), "DENIED");
    assert!(expired.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Your authorization token has expired"));
    assert_eq!(expired.header("www-authenticate"), "Basic realm=\"wharf\"");
}

#[tokio::test]
async fn push_and_pull_round_trip() {
    let c = client();
    c.fixture.create_repo("team/app", false);
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let layer: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let layer_digest = c.upload("team/app", &layer).await;
    let config_digest = c.upload("team/app", &config).await;

    // HEAD and ranged GET of the layer.
    let head = c
        .call(
            "HEAD",
            &format!("/v2/team/app/blobs/{layer_digest}"),
            vec![],
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), layer.len().to_string());
    assert_eq!(head.header("docker-content-digest"), layer_digest);
    assert!(head.body.is_empty());
    let full = c
        .call("GET", &format!("/v2/team/app/blobs/{layer_digest}"), vec![])
        .await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.body.as_ref(), layer.as_slice());
    let part = c
        .call_with(
            "GET",
            &format!("/v2/team/app/blobs/{layer_digest}"),
            &[("range", "bytes=1000-1999")],
            vec![],
        )
        .await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body.as_ref(), &layer[1000..2000]);
    assert_eq!(
        part.header("content-range"),
        format!("bytes 1000-1999/{}", layer.len())
    );
    let beyond = c
        .call_with(
            "GET",
            &format!("/v2/team/app/blobs/{layer_digest}"),
            &[("range", "bytes=999999999-")],
            vec![],
        )
        .await;
    assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);

    // The manifest.
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST_V2,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layer.len(), "digest": layer_digest}],
    }))
    .unwrap();
    let digest = crate::manifest::digest_of(&manifest);
    let put = c
        .call_with(
            "PUT",
            "/v2/team/app/manifests/v1",
            &[("content-type", DOCKER_MANIFEST_V2)],
            manifest.clone(),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.body);
    assert_eq!(put.header("docker-content-digest"), digest);
    assert_eq!(
        put.header("location"),
        format!("/v2/team/app/manifests/{digest}")
    );

    for reference in ["v1", digest.as_str()] {
        let got = c
            .call(
                "GET",
                &format!("/v2/team/app/manifests/{reference}"),
                vec![],
            )
            .await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body.as_ref(), manifest.as_slice());
        assert_eq!(got.header("content-type"), DOCKER_MANIFEST_V2);
        assert_eq!(got.header("docker-content-digest"), digest);
        let head = c
            .call(
                "HEAD",
                &format!("/v2/team/app/manifests/{reference}"),
                vec![],
            )
            .await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.header("content-length"), manifest.len().to_string());
        assert!(head.body.is_empty());
    }
    let missing = c.call("GET", "/v2/team/app/manifests/v2", vec![]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "MANIFEST_UNKNOWN");

    // By digest, then an index over it.
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": DOCKER_MANIFEST_V2, "size": manifest.len(), "digest": digest}],
    }))
    .unwrap();
    let put = c
        .call_with(
            "PUT",
            "/v2/team/app/manifests/multi",
            &[("content-type", OCI_INDEX)],
            index,
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.body);

    let tags = c.call("GET", "/v2/team/app/tags/list", vec![]).await;
    assert_eq!(
        tags.json(),
        serde_json::json!({"name": "team/app", "tags": ["multi", "v1"]})
    );
    let page = c.call("GET", "/v2/team/app/tags/list?n=1", vec![]).await;
    assert_eq!(page.json()["tags"], serde_json::json!(["multi"]));
    assert_eq!(
        page.header("link"),
        "</v2/team/app/tags/list?n=1&last=multi>; rel=\"next\""
    );
    let next = c
        .call("GET", "/v2/team/app/tags/list?n=1&last=multi", vec![])
        .await;
    assert_eq!(next.json()["tags"], serde_json::json!(["v1"]));
    assert_eq!(next.header("link"), "");

    // Tag deletion keeps the image; digest deletion removes it.
    let del = c
        .call("DELETE", "/v2/team/app/manifests/multi", vec![])
        .await;
    assert_eq!(del.status, StatusCode::ACCEPTED);
    let del = c
        .call(
            "DELETE",
            &format!("/v2/team/app/manifests/{digest}"),
            vec![],
        )
        .await;
    assert_eq!(del.status, StatusCode::ACCEPTED);
    let gone = c.call("GET", "/v2/team/app/manifests/v1", vec![]).await;
    assert_eq!(gone.code(), "MANIFEST_UNKNOWN");
    let del = c
        .call(
            "DELETE",
            &format!("/v2/team/app/manifests/{digest}"),
            vec![],
        )
        .await;
    assert_eq!(del.status, StatusCode::NOT_FOUND);
    let blob_delete = c
        .call(
            "DELETE",
            &format!("/v2/team/app/blobs/{layer_digest}"),
            vec![],
        )
        .await;
    assert_eq!(blob_delete.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(blob_delete.code(), "UNSUPPORTED");
}

#[tokio::test]
async fn upload_state_machine() {
    let c = client();
    c.fixture.create_repo("app", false);
    let started = c.call("POST", "/v2/app/blobs/uploads/", vec![]).await;
    assert_eq!(started.status, StatusCode::ACCEPTED);
    assert_eq!(started.header("range"), "0-0");
    let id = started.header("docker-upload-uuid").to_string();
    let location = started.header("location").to_string();
    assert_eq!(location, format!("/v2/app/blobs/uploads/{id}"));

    let a = c.call("PATCH", &location, b"hello ".to_vec()).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(a.header("range"), "0-5");
    // Out of order.
    let a = c
        .call_with(
            "PATCH",
            &location,
            &[("content-range", "2-4")],
            b"xyz".to_vec(),
        )
        .await;
    assert_eq!(a.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(a.code(), "RANGE_INVALID");
    assert_eq!(a.header("range"), "0-5");
    let a = c
        .call_with(
            "PATCH",
            &location,
            &[("content-range", "6-10")],
            b"world".to_vec(),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(a.header("range"), "0-10");
    let status = c.call("GET", &location, vec![]).await;
    assert_eq!(status.status, StatusCode::NO_CONTENT);
    assert_eq!(status.header("range"), "0-10");

    // The upload belongs to its repository.
    c.fixture.create_repo("other", false);
    let foreign = c
        .call("GET", &format!("/v2/other/blobs/uploads/{id}"), vec![])
        .await;
    assert_eq!(foreign.code(), "BLOB_UPLOAD_UNKNOWN");

    // Finishing needs a digest; a wrong one discards everything.
    let a = c.call("PUT", &location, vec![]).await;
    assert_eq!(a.code(), "DIGEST_INVALID");
    let wrong = sha256_digest(b"something else");
    let a = c
        .call("PUT", &format!("{location}?digest={wrong}"), vec![])
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.code(), "DIGEST_INVALID");
    assert_eq!(
        c.call("GET", &location, vec![]).await.code(),
        "BLOB_UPLOAD_UNKNOWN"
    );
    assert!(c.fixture.ecr.blobs.list().unwrap().is_empty());
    let right = sha256_digest(b"hello world");
    let head = c
        .call("HEAD", &format!("/v2/app/blobs/{right}"), vec![])
        .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);

    // Cancel.
    let started = c.call("POST", "/v2/app/blobs/uploads", vec![]).await;
    let location = started.header("location").to_string();
    assert_eq!(
        c.call("DELETE", &location, vec![]).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.call("DELETE", &location, vec![]).await.code(),
        "BLOB_UPLOAD_UNKNOWN"
    );
    assert_eq!(
        c.call(
            "PATCH",
            "/v2/app/blobs/uploads/not-an-upload",
            b"x".to_vec()
        )
        .await
        .code(),
        "BLOB_UPLOAD_UNKNOWN"
    );

    // Monolithic, then a mount into another repository.
    let data = b"monolithic blob".to_vec();
    let digest = sha256_digest(&data);
    let a = c
        .call(
            "POST",
            &format!("/v2/app/blobs/uploads/?digest={digest}"),
            data.clone(),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.header("location"), format!("/v2/app/blobs/{digest}"));
    let wrong = c
        .call(
            "POST",
            &format!("/v2/app/blobs/uploads/?digest={right}"),
            data.clone(),
        )
        .await;
    assert_eq!(wrong.code(), "DIGEST_INVALID");
    let mounted = c
        .call(
            "POST",
            &format!("/v2/other/blobs/uploads/?mount={digest}&from=app"),
            vec![],
        )
        .await;
    assert_eq!(mounted.status, StatusCode::CREATED);
    assert_eq!(mounted.header("docker-content-digest"), digest);
    // Unknown blob or source repository: a normal upload session instead.
    for query in [
        format!("mount={right}&from=app"),
        format!("mount={digest}&from=missing"),
    ] {
        let a = c
            .call("POST", &format!("/v2/other/blobs/uploads/?{query}"), vec![])
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{query}");
        assert!(!a.header("docker-upload-uuid").is_empty());
    }
}

#[tokio::test]
async fn refusals_use_registry_error_codes() {
    let c = client();
    c.fixture.create_repo("app", false);
    c.fixture.create_repo("locked", true);

    let a = c.call("POST", "/v2/missing/blobs/uploads/", vec![]).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::NOT_FOUND, "NAME_UNKNOWN")
    );
    let a = c
        .call("PUT", "/v2/missing/manifests/v1", b"{}".to_vec())
        .await;
    assert_eq!(a.code(), "NAME_UNKNOWN");
    let a = c.call("GET", "/v2/Bad_Name/tags/list", vec![]).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "NAME_INVALID")
    );
    let a = c
        .call("PUT", "/v2/app/manifests/-bad", b"{}".to_vec())
        .await;
    assert_eq!(a.code(), "TAG_INVALID");
    let a = c.call("GET", "/v2/app/blobs/sha256:abc", vec![]).await;
    assert_eq!(a.code(), "DIGEST_INVALID");
    let a = c
        .call(
            "GET",
            &format!("/v2/app/blobs/sha512:{}", "a".repeat(128)),
            vec![],
        )
        .await;
    assert_eq!(a.code(), "DIGEST_INVALID");
    let a = c
        .call(
            "GET",
            &format!("/v2/app/blobs/{}", sha256_digest(b"none")),
            vec![],
        )
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::NOT_FOUND, "BLOB_UNKNOWN")
    );
    let a = c.call("GET", "/v2/app/not/an/endpoint", vec![]).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = c.call("POST", "/v2/app/manifests/v1", vec![]).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED")
    );

    // Manifests.
    let a = c
        .call("PUT", "/v2/app/manifests/v1", b"not json".to_vec())
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "MANIFEST_INVALID")
    );
    let huge = vec![b' '; MAX_MANIFEST_BYTES + 1];
    let a = c.call("PUT", "/v2/app/manifests/v1", huge).await;
    assert_eq!(a.code(), "MANIFEST_INVALID");
    let missing_layer = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": sha256_digest(b"{}")},
        "layers": [],
    }))
    .unwrap();
    let a = c.call("PUT", "/v2/app/manifests/v1", missing_layer).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN")
    );
    let locked = RepoRef::new(ACCOUNT, REGION, "locked");
    let good = image_manifest(&c.fixture.ecr, &locked, b"cfg", &[b"layer"]);
    let other = format!("sha256:{}", "1".repeat(64));
    let a = c
        .call("PUT", &format!("/v2/app/manifests/{other}"), good.clone())
        .await;
    assert_eq!(a.code(), "DIGEST_INVALID");

    // Immutable tags.
    let second = image_manifest(&c.fixture.ecr, &locked, b"cfg", &[b"another layer"]);
    let a = c.call("PUT", "/v2/locked/manifests/v1", good.clone()).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = c.call("PUT", "/v2/locked/manifests/v1", second).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "TAG_INVALID")
    );
    assert_eq!(
        a.json()["errors"][0]["message"],
        "The image tag 'v1' already exists in the 'locked' repository and cannot be overwritten because the repository is immutable."
    );
    let still = c.call("GET", "/v2/locked/manifests/v1", vec![]).await;
    assert_eq!(still.body.as_ref(), good.as_slice());
}

#[tokio::test]
async fn catalog_pages_and_accounts_are_separate() {
    let c = client();
    for name in ["a-repo", "b/repo", "c-repo"] {
        c.fixture.create_repo(name, false);
    }
    let all = c.call("GET", "/v2/_catalog", vec![]).await;
    assert_eq!(
        all.json(),
        serde_json::json!({"repositories": ["a-repo", "b/repo", "c-repo"]})
    );
    let page = c.call("GET", "/v2/_catalog?n=2", vec![]).await;
    assert_eq!(
        page.json()["repositories"],
        serde_json::json!(["a-repo", "b/repo"])
    );
    assert_eq!(
        page.header("link"),
        "</v2/_catalog?n=2&last=b/repo>; rel=\"next\""
    );
    let rest = c.call("GET", "/v2/_catalog?n=2&last=b/repo", vec![]).await;
    assert_eq!(rest.json()["repositories"], serde_json::json!(["c-repo"]));
    let bad = c.call("GET", "/v2/_catalog?n=x", vec![]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // A token of another account sees none of them.
    let token = c
        .fixture
        .ecr
        .issue_token("999999999999", REGION, c.fixture.now())
        .unwrap();
    let auth = format!("Basic {}", token.token);
    let other = c
        .send("GET", "/v2/_catalog", &[("authorization", &auth)], vec![])
        .await;
    assert_eq!(other.json(), serde_json::json!({"repositories": []}));
    let other = c
        .send(
            "GET",
            "/v2/a-repo/tags/list",
            &[("authorization", &auth)],
            vec![],
        )
        .await;
    assert_eq!(other.code(), "NAME_UNKNOWN");
}

#[tokio::test]
async fn a_repository_serves_only_the_blobs_it_holds() {
    use crate::generated::{CreateRepositoryRequest, EcrApi};
    let c = client();
    c.fixture.create_repo("repo-a", false);
    c.fixture.create_repo("repo-b", false);
    let a = RepoRef::new(ACCOUNT, REGION, "repo-a");
    let b = RepoRef::new(ACCOUNT, REGION, "repo-b");
    let layer = b"a's private layer".to_vec();
    let digest = c.upload("repo-a", &layer).await;
    let monolithic = b"a's monolithic layer".to_vec();
    let mono = sha256_digest(&monolithic);
    let posted = c
        .call(
            "POST",
            &format!("/v2/repo-a/blobs/uploads/?digest={mono}"),
            monolithic.clone(),
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED);
    assert!(c.fixture.ecr.blob_linked(&a, &mono).unwrap());
    for d in [&digest, &mono] {
        for method in ["GET", "HEAD"] {
            let ok = c
                .call(method, &format!("/v2/repo-a/blobs/{d}"), vec![])
                .await;
            assert_eq!(ok.status, StatusCode::OK);
            let refused = c
                .call(method, &format!("/v2/repo-b/blobs/{d}"), vec![])
                .await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND, "{method} {d}");
            if method == "GET" {
                assert_eq!(refused.code(), "BLOB_UNKNOWN");
            }
        }
    }

    // Another account's repository of the same name: the same refusal.
    let other = "999999999999";
    let ctx = wharf_core::RequestContext::for_tests(REGION, other, c.fixture.now());
    c.fixture
        .ecr
        .create_repository(
            &ctx,
            CreateRepositoryRequest {
                repository_name: "repo-a".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let token = c
        .fixture
        .ecr
        .issue_token(other, REGION, c.fixture.now())
        .unwrap();
    let auth = format!("Basic {}", token.token);
    let foreign = c
        .send(
            "GET",
            &format!("/v2/repo-a/blobs/{digest}"),
            &[("authorization", &auth)],
            vec![],
        )
        .await;
    assert_eq!(
        (foreign.status, foreign.code().as_str()),
        (StatusCode::NOT_FOUND, "BLOB_UNKNOWN")
    );
    // Nor can that account mount it from its own repo-a (which lacks it).
    let foreign = c
        .send(
            "POST",
            &format!("/v2/repo-a/blobs/uploads/?mount={digest}&from=repo-a"),
            &[("authorization", &auth)],
            vec![],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::ACCEPTED);

    // A manifest in repo-b over repo-a's blobs is refused until they are mounted.
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "size": monolithic.len(), "digest": mono},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "size": layer.len(), "digest": digest}],
    }))
    .unwrap();
    let headers = [("content-type", OCI_MANIFEST)];
    let refused = c
        .call_with("PUT", "/v2/repo-b/manifests/v1", &headers, manifest.clone())
        .await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN")
    );
    // A mount from a repository without the blob falls back to an upload session...
    c.fixture.create_repo("repo-c", false);
    let fallback = c
        .call(
            "POST",
            &format!("/v2/repo-b/blobs/uploads/?mount={digest}&from=repo-c"),
            vec![],
        )
        .await;
    assert_eq!(fallback.status, StatusCode::ACCEPTED);
    assert!(fallback
        .header("location")
        .starts_with("/v2/repo-b/blobs/uploads/"));
    let no_from = c
        .call(
            "POST",
            &format!("/v2/repo-b/blobs/uploads/?mount={digest}"),
            vec![],
        )
        .await;
    assert_eq!(no_from.status, StatusCode::ACCEPTED);
    assert!(!c.fixture.ecr.blob_linked(&b, &digest).unwrap());
    // ...and one from the repository holding it links it.
    for d in [&digest, &mono] {
        let mounted = c
            .call(
                "POST",
                &format!("/v2/repo-b/blobs/uploads/?mount={d}&from=repo-a"),
                vec![],
            )
            .await;
        assert_eq!(mounted.status, StatusCode::CREATED);
    }
    assert_eq!(
        c.call("GET", &format!("/v2/repo-b/blobs/{digest}"), vec![])
            .await
            .body,
        layer
    );
    let pushed = c
        .call_with("PUT", "/v2/repo-b/manifests/v1", &headers, manifest)
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{:?}", pushed.body);
    // repo-c still holds nothing.
    let refused = c
        .call("HEAD", &format!("/v2/repo-c/blobs/{digest}"), vec![])
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn merges_beside_a_fallback_and_claims_only_v2() {
    let c = client();
    let app = Router::new()
        .fallback(|| async { (StatusCode::IM_A_TEAPOT, "aws api") })
        .merge(c.router.clone());
    for (path, teapot) in [
        ("/", true),
        ("/v2", false),
        ("/v2/", false),
        ("/v2x", true),
        ("/v3/", true),
        ("/v2/_catalog", false),
    ] {
        let request = http::Request::builder()
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(
            response.status() == StatusCode::IM_A_TEAPOT,
            teapot,
            "{path}"
        );
    }
}

/// Writes an OCI image layout with `layers` (uncompressed tar media type; skopeo does
/// not look inside) tagged `v1` under `dir`; returns the manifest bytes.
fn oci_layout(dir: &std::path::Path, layers: &[Vec<u8>]) -> Vec<u8> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let write = |bytes: &[u8]| {
        let digest = sha256_digest(bytes);
        std::fs::write(blobs.join(&digest[7..]), bytes).unwrap();
        digest
    };
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256_digest(l)).collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let layer_descriptors: Vec<_> = layers
        .iter()
        .map(|l| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": l.len(), "digest": write(l)}))
        .collect();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": config.len(), "digest": write(&config)},
        "layers": layer_descriptors,
    }))
    .unwrap();
    let manifest_digest = write(&manifest);
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": OCI_MANIFEST, "size": manifest.len(), "digest": manifest_digest,
                           "annotations": {"org.opencontainers.image.ref.name": "v1"}}],
        }))
        .unwrap(),
    )
    .unwrap();
    manifest
}

fn skopeo(args: &[&str]) -> std::process::Output {
    let output = std::process::Command::new("skopeo")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// skopeo copies a multi-layer image in (OCI and converted to Docker schema 2), out, and
/// inspects it by digest, against a real HTTP server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs skopeo; run with cargo test -p wharf-ecr -- --ignored"]
async fn skopeo_copies_in_and_out() {
    let c = client();
    c.fixture.create_repo("team/skopeo", false);
    let token = c
        .fixture
        .ecr
        .issue_token(ACCOUNT, REGION, c.fixture.now())
        .unwrap();
    let creds = format!("AWS:{}", token.password);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, c.router.clone()).await });

    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    let layers: Vec<Vec<u8>> = (0..3u32)
        .map(|n| {
            (0..(1_500_000 + n * 700_000))
                .map(|i| ((i * (n + 7)) % 253) as u8)
                .collect()
        })
        .collect();
    let manifest = oci_layout(&source, &layers);
    let src = format!("oci:{}:v1", source.display());
    let out = work.path().join("out");
    let outs = format!("dir:{}", out.display());
    let (host2, creds2) = (host.clone(), creds.clone());
    tokio::task::spawn_blocking(move || {
        let dest = format!("docker://{host2}/team/skopeo:v1");
        skopeo(&[
            "copy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds2,
            &src,
            &dest,
        ]);
        let v2 = format!("docker://{host2}/team/skopeo:v2s2");
        skopeo(&[
            "copy",
            "--format",
            "v2s2",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds2,
            &src,
            &v2,
        ]);
        skopeo(&[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            &creds2,
            &dest,
            &outs,
        ]);
        let raw = skopeo(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            &creds2,
            &dest,
        ])
        .stdout;
        let digest = sha256_digest(&raw);
        let by_digest = format!("docker://{host2}/team/skopeo@{digest}");
        skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--creds",
            &creds2,
            &by_digest,
        ]);
        let tags = skopeo(&[
            "list-tags",
            "--tls-verify=false",
            "--creds",
            &creds2,
            &format!("docker://{host2}/team/skopeo"),
        ])
        .stdout;
        let tags: serde_json::Value = serde_json::from_slice(&tags).unwrap();
        assert_eq!(tags["Tags"], serde_json::json!(["v1", "v2s2"]));
        // Wrong credentials are refused.
        let denied = std::process::Command::new("skopeo")
            .args([
                "inspect",
                "--tls-verify=false",
                "--creds",
                "AWS:wrong",
                &dest,
            ])
            .output()
            .unwrap();
        assert!(!denied.status.success());
        raw
    })
    .await
    .map(|raw| assert_eq!(raw, manifest))
    .unwrap();
    for layer in &layers {
        let copied = std::fs::read(out.join(&sha256_digest(layer)[7..])).unwrap();
        assert_eq!(&copied, layer);
    }
    let stored = c
        .fixture
        .ecr
        .resolve_reference(&RepoRef::new(ACCOUNT, REGION, "team/skopeo"), "v2s2")
        .unwrap()
        .unwrap();
    assert_eq!(stored.1, DOCKER_MANIFEST_V2);
}

fn docker_output(
    config: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> std::process::Output {
    use std::io::Write as _;
    let mut child = std::process::Command::new("docker")
        .env("DOCKER_CONFIG", config)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn docker(config: &std::path::Path, args: &[&str], stdin: Option<&str>) -> String {
    let output = docker_output(config, args, stdin);
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Docker Engine logs in with an ECR token, pushes a two-layer image (layers shared with a
/// second tag and a second repository), pulls it back by tag and by digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker Engine; run with cargo test -p wharf-ecr -- --ignored"]
async fn docker_pushes_and_pulls() {
    let c = client();
    c.fixture.create_repo("team/docker", false);
    c.fixture.create_repo("team/copy", false);
    let token = c
        .fixture
        .ecr
        .issue_token(ACCOUNT, REGION, c.fixture.now())
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, c.router.clone()).await });

    let work = tempfile::tempdir().unwrap();
    let (config, context) = (work.path().join("config"), work.path().join("context"));
    std::fs::create_dir_all(&config).unwrap();
    std::fs::create_dir_all(&context).unwrap();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(context.join("big"), &big).unwrap();
    std::fs::write(context.join("small"), b"hello from wharf").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nCOPY big /big\nCOPY small /small\n",
    )
    .unwrap();
    let password = token.password.clone();
    tokio::task::spawn_blocking(move || {
        let image = format!("{host}/team/docker:v1");
        let again = format!("{host}/team/docker:git-abc123");
        let copy = format!("{host}/team/copy:v1");
        let bad = docker_output(
            &config,
            &["login", "--username", "AWS", "--password-stdin", &host],
            Some("wrong"),
        );
        assert!(!bad.status.success());
        docker(
            &config,
            &["login", "--username", "AWS", "--password-stdin", &host],
            Some(&password),
        );
        docker(
            &config,
            &["build", "-q", "-t", &image, &context.display().to_string()],
            None,
        );
        docker(&config, &["tag", &image, &again], None);
        docker(&config, &["tag", &image, &copy], None);
        let pushed = docker(&config, &["push", &image], None);
        docker(&config, &["push", &again], None);
        docker(&config, &["push", &copy], None);
        let digest = pushed
            .split_whitespace()
            .find(|w| w.starts_with("sha256:"))
            .unwrap()
            .to_string();
        docker(&config, &["rmi", &image, &again, &copy], None);
        docker(&config, &["pull", &image], None);
        let by_digest = format!("{host}/team/docker@{digest}");
        docker(&config, &["pull", &by_digest], None);
        // Clean-up only: removing one reference may already have removed the other.
        docker_output(&config, &["rmi", &image], None);
        docker_output(&config, &["rmi", &by_digest], None);
        docker(&config, &["logout", &host], None);
    })
    .await
    .unwrap();
}
