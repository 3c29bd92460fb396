//! The gateway's answers byte for byte, for every protocol and every way a request can fail:
//! fake services (awsJson 1.1 and 1.0, awsQuery, ec2, and one that accepts Smithy RPC v2 CBOR,
//! awsJson 1.0 and awsQuery with query-compatible errors, as CloudWatch does) over one small
//! model, requests covering success, service errors, panics, validation, decoding, routing and
//! authentication, and gzip request bodies. CBOR bodies are shown in base64 and decoded. The
//! transcript is compared with `tests/gateway_wire.txt`, so any change to status, content type,
//! request id header or body shows up as a diff. Run with `WHARF_BLESS=1` to rewrite the file
//! after a deliberate wire change (and check the diff against AWS-WIRE-NOTES.md).

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, Response};
use base64::Engine;
use ciborium::value::Value as Cbor;
use serde_json::{json, Value};
use std::fmt::Write;
use std::sync::Arc;
use wharf_api::{CredentialStore, Credentials, Gateway, GatewayConfig};
use wharf_core::model::{ErrorInfo, Kind, Member, Operation, Protocol, ServiceModel, Shape};
use wharf_core::{FakeClock, IdGen, RequestContext, ServiceError, ServiceHandler, Timestamp};

static SHAPES: &[Shape] = &[
    Shape {
        name: "EchoInput",
        kind: Kind::Structure,
        members: &[
            Member {
                name: "Name",
                shape: 2,
                required: true,
                ..Member::EMPTY
            },
            Member {
                name: "Count",
                shape: 3,
                ..Member::EMPTY
            },
            Member {
                name: "Names",
                shape: 1,
                location_name: Some("Item"),
                ..Member::EMPTY
            },
        ],
        ..Shape::EMPTY
    },
    Shape {
        name: "Names",
        kind: Kind::List,
        target: 2,
        ..Shape::EMPTY
    },
    Shape {
        name: "Name",
        kind: Kind::String,
        min: Some(1.0),
        ..Shape::EMPTY
    },
    Shape {
        name: "Count",
        kind: Kind::Integer,
        ..Shape::EMPTY
    },
    Shape {
        name: "EchoOutput",
        kind: Kind::Structure,
        members: &[
            Member {
                name: "Name",
                shape: 2,
                ..Member::EMPTY
            },
            Member {
                name: "Names",
                shape: 1,
                ..Member::EMPTY
            },
            Member {
                name: "When",
                shape: 5,
                ..Member::EMPTY
            },
        ],
        ..Shape::EMPTY
    },
    Shape {
        name: "When",
        kind: Kind::Timestamp,
        ..Shape::EMPTY
    },
];

static OPERATIONS: &[Operation] = &[
    Operation {
        name: "Echo",
        input: Some(0),
        output: Some(4),
        result_wrapper: Some("EchoResult"),
    },
    Operation {
        name: "Ping",
        input: None,
        output: None,
        result_wrapper: None,
    },
];

static ERRORS: &[ErrorInfo] = &[
    ErrorInfo {
        shape: "ThingNotFoundException",
        code: "ThingNotFound",
        status: 404,
        sender_fault: true,
    },
    ErrorInfo {
        shape: "ValidationException",
        code: "ValidationError",
        status: 400,
        sender_fault: true,
    },
    ErrorInfo {
        shape: "ServerException",
        code: "ServiceUnavailable",
        status: 503,
        sender_fault: false,
    },
];

const fn model(
    name: &'static str,
    protocol: Protocol,
    target_prefix: &'static str,
    json_version: &'static str,
    xml_namespace: &'static str,
) -> ServiceModel {
    ServiceModel {
        endpoint_prefix: name,
        signing_name: name,
        protocol,
        protocols: match protocol {
            Protocol::Json => &[Protocol::Json],
            Protocol::Query => &[Protocol::Query],
            Protocol::Ec2 => &[Protocol::Ec2],
            Protocol::Cbor => &[Protocol::Cbor],
        },
        query_compatible: false,
        target_prefix,
        smithy_namespace: "com.amazonaws.fake",
        json_version,
        api_version: "2020-01-01",
        xml_namespace,
        shapes: SHAPES,
        operations: OPERATIONS,
        all_operations: &["Echo", "Ping", "Later"],
        errors: ERRORS,
        validation_error: "ValidationException",
    }
}

static JSON: ServiceModel = model("fakejson", Protocol::Json, "FakeJson_20200101", "1.1", "");
static JSON10: ServiceModel = model("fakejson10", Protocol::Json, "FakeJson10", "1.0", "");
static QUERY: ServiceModel = model(
    "fakequery",
    Protocol::Query,
    "",
    "",
    "https://fakequery.amazonaws.com/doc/2020-01-01/",
);
static EC2: ServiceModel = model(
    "fakeec2",
    Protocol::Ec2,
    "",
    "",
    "http://ec2.amazonaws.com/doc/2020-01-01/",
);
/// A service that lists three protocols and answers errors query-compatibly, as CloudWatch.
static MULTI: ServiceModel = ServiceModel {
    protocols: &[Protocol::Cbor, Protocol::Json, Protocol::Query],
    query_compatible: true,
    ..model(
        "fakemulti",
        Protocol::Cbor,
        "FakeMulti_20200101",
        "1.0",
        "http://fakemulti.amazonaws.com/doc/2020-01-01/",
    )
};

/// Answers `Echo` according to the `Name` it is given.
struct Fake(&'static ServiceModel);

impl ServiceHandler for Fake {
    fn model(&self) -> &'static ServiceModel {
        self.0
    }

    fn call(&self, _ctx: &RequestContext, op: &str, input: Value) -> Result<Value, ServiceError> {
        if op == "Ping" {
            return Ok(Value::Null);
        }
        let name = input["Name"].as_str().unwrap_or_default().to_string();
        match name.as_str() {
            "missing" => Err(ServiceError::new(
                "ThingNotFoundException",
                "Thing 'missing' <not> found.",
            )),
            "server" => Err(ServiceError::new("ServerException", "try again")),
            "internal" => Err(ServiceError::new("InternalFailure", "it broke")),
            "odd" => Err(ServiceError::new("OddError", "not in the table")),
            "panic" => panic!("the fake service panics on purpose"),
            _ => Ok(json!({
                "Name": name,
                "Names": input.get("Names").cloned().unwrap_or(json!(["a&b", "c"])),
                "When": 1_704_067_200.5,
            })),
        }
    }
}

/// Always the same ids, so request ids are stable.
struct Zeros;

impl IdGen for Zeros {
    fn hex(&self, n: usize) -> String {
        "0".repeat(n)
    }

    fn chars(&self, n: usize, _alphabet: &[u8]) -> String {
        "A".repeat(n)
    }
}

/// One known access key, and one temporary key that needs a session token.
struct Keys;

impl CredentialStore for Keys {
    fn lookup(&self, access_key_id: &str) -> Option<Credentials> {
        let session_token = match access_key_id {
            "AKIDKNOWN" => None,
            "ASIATEMP" => Some("the-token".to_string()),
            _ => return None,
        };
        Some(Credentials {
            secret_access_key: "secret".into(),
            account_id: "123456789012".into(),
            principal_arn: "arn:aws:iam::123456789012:root".into(),
            user_id: "123456789012".into(),
            session_token,
        })
    }
}

/// 2024-01-01T00:00:00Z, the date the test requests claim.
const NOW: i64 = 1_704_067_200_000;
const AMZ_DATE: &str = "20240101T000000Z";

fn gateway(accept_any_credentials: bool, millis: i64) -> Arc<Gateway> {
    let services: Vec<Arc<dyn ServiceHandler>> = vec![
        Arc::new(Fake(&JSON)),
        Arc::new(Fake(&JSON10)),
        Arc::new(Fake(&QUERY)),
        Arc::new(Fake(&EC2)),
        Arc::new(Fake(&MULTI)),
    ];
    Arc::new(Gateway::new(
        services,
        Arc::new(Keys),
        Arc::new(FakeClock::new(Timestamp::from_millis(millis))),
        Arc::new(Zeros),
        GatewayConfig {
            accept_any_credentials,
            account_id: "123456789012".into(),
            max_body_bytes: 256,
        },
    ))
}

/// A request to send: method, URI, headers and body.
struct Call {
    method: &'static str,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Call {
    fn post(body: &str) -> Self {
        Call {
            method: "POST",
            uri: "/".into(),
            headers: vec![("host".into(), "localhost:4566".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn json(target: &str, body: &str) -> Self {
        Call::post(body)
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.1")
    }

    fn form(body: &str) -> Self {
        Call::post(body).header("content-type", "application/x-www-form-urlencoded")
    }

    /// A Smithy RPC v2 CBOR call of `op` on the multi-protocol service with `input` (no body
    /// when `None`).
    fn cbor(op: &str, input: Option<&Cbor>) -> Self {
        let mut call = Call {
            method: "POST",
            uri: format!("/service/FakeMulti_20200101/operation/{op}"),
            headers: vec![("host".into(), "localhost:4566".into())],
            body: Vec::new(),
        }
        .header("smithy-protocol", "rpc-v2-cbor")
        .header("accept", "application/cbor");
        if let Some(input) = input {
            ciborium::ser::into_writer(input, &mut call.body).unwrap();
            call = call.header("content-type", "application/cbor");
        }
        call
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A well-formed SigV4 header for `service` with a signature that matches nothing.
    fn signed(self, key: &str, service: &str) -> Self {
        self.signed_on(key, service, AMZ_DATE)
    }

    /// [`Call::signed`] with `amz_date` as the request's `X-Amz-Date`.
    fn signed_on(self, key: &str, service: &str, amz_date: &str) -> Self {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={key}/20240101/eu-west-1/{service}/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature={}",
            "0".repeat(64)
        );
        self.header("x-amz-date", amz_date)
            .header("authorization", &auth)
    }

    fn request(&self) -> Request<Body> {
        let mut builder = Request::builder().method(self.method).uri(&self.uri);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        builder.body(Body::from(self.body.clone())).unwrap()
    }
}

async fn show(resp: Response<Body>) -> String {
    let status = resp.status();
    let mut names: Vec<String> = resp.headers().keys().map(|k| k.to_string()).collect();
    names.sort();
    let headers: Vec<String> = names
        .iter()
        .map(|n| format!("{n}: {}", resp.headers()[n.as_str()].to_str().unwrap()))
        .collect();
    let is_cbor = resp
        .headers()
        .get("content-type")
        .is_some_and(|t| t == "application/cbor");
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = if is_cbor {
        let decoded: Cbor = ciborium::de::from_reader(&body[..]).unwrap();
        format!(
            "(CBOR) {}\n{decoded:?}",
            base64::engine::general_purpose::STANDARD.encode(&body)
        )
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    format!("{}\n{}\n{body}\n", status.as_u16(), headers.join("\n"))
}

/// Every case: a title and the call.
fn cases() -> Vec<(&'static str, Call, bool, i64)> {
    let any = true;
    let checked = false;
    let far = NOW + 3_600_000;
    let echo = r#"{"Name":"x","Names":["p","q"]}"#;
    vec![
        // awsJson 1.1
        (
            "json: success",
            Call::json("FakeJson_20200101.Echo", echo).signed("AKIDANY", "fakejson"),
            any,
            NOW,
        ),
        (
            "json: no input, no output",
            Call::json("FakeJson_20200101.Ping", "").signed("AKIDANY", "fakejson"),
            any,
            NOW,
        ),
        (
            "json: routed by X-Amz-Target without auth",
            Call::json("FakeJson_20200101.Echo", r#"{"Name":"y"}"#),
            any,
            NOW,
        ),
        (
            "json: service error in the table",
            Call::json("FakeJson_20200101.Echo", r#"{"Name":"missing"}"#),
            any,
            NOW,
        ),
        (
            "json: server error in the table",
            Call::json("FakeJson_20200101.Echo", r#"{"Name":"server"}"#),
            any,
            NOW,
        ),
        (
            "json: internal error",
            Call::json("FakeJson_20200101.Echo", r#"{"Name":"internal"}"#),
            any,
            NOW,
        ),
        (
            "json: error not in the table",
            Call::json("FakeJson_20200101.Echo", r#"{"Name":"odd"}"#),
            any,
            NOW,
        ),
        (
            "json: panic",
            Call::json("FakeJson_20200101.Echo", r#"{"Name":"panic"}"#),
            any,
            NOW,
        ),
        (
            "json: missing required member",
            Call::json("FakeJson_20200101.Echo", r#"{"Count":1}"#),
            any,
            NOW,
        ),
        (
            "json: too short",
            Call::json("FakeJson_20200101.Echo", r#"{"Name":""}"#),
            any,
            NOW,
        ),
        (
            "json: wrong type",
            Call::json("FakeJson_20200101.Echo", r#"{"Name":"x","Count":"many"}"#),
            any,
            NOW,
        ),
        (
            "json: not JSON",
            Call::json("FakeJson_20200101.Echo", r#"{"Name":"#),
            any,
            NOW,
        ),
        (
            "json: not an object",
            Call::json("FakeJson_20200101.Echo", "[1]"),
            any,
            NOW,
        ),
        (
            "json: unimplemented operation",
            Call::json("FakeJson_20200101.Later", "{}"),
            any,
            NOW,
        ),
        (
            "json: no such operation",
            Call::json("FakeJson_20200101.Nope", "{}"),
            any,
            NOW,
        ),
        (
            "json: wrong target prefix for the signed service",
            Call::json("Other_1.Echo", echo).signed("AKIDANY", "fakejson"),
            any,
            NOW,
        ),
        (
            "json: not POST",
            Call {
                method: "GET",
                ..Call::json("FakeJson_20200101.Echo", "")
            },
            any,
            NOW,
        ),
        (
            "json 1.0: success",
            Call::json("FakeJson10.Echo", echo),
            any,
            NOW,
        ),
        (
            "json 1.0: error",
            Call::json("FakeJson10.Echo", r#"{"Name":"missing"}"#),
            any,
            NOW,
        ),
        (
            "json: body too large",
            Call::json("FakeJson_20200101.Echo", &"x".repeat(300)),
            any,
            NOW,
        ),
        // awsQuery
        (
            "query: success",
            Call::form("Action=Echo&Version=2020-01-01&Name=x&Item.member.1=p&Item.member.2=q")
                .signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        (
            "query: parameters in the URL",
            Call {
                uri: "/?Action=Echo&Name=u".into(),
                ..Call::form("").signed("AKIDANY", "fakequery")
            },
            any,
            NOW,
        ),
        (
            "query: no input, no output",
            Call::form("Action=Ping").signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        (
            "query: service error in the table",
            Call::form("Action=Echo&Name=missing").signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        (
            "query: server error in the table",
            Call::form("Action=Echo&Name=server").signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        (
            "query: internal error",
            Call::form("Action=Echo&Name=internal").signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        (
            "query: error not in the table",
            Call::form("Action=Echo&Name=odd").signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        (
            "query: panic",
            Call::form("Action=Echo&Name=panic").signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        (
            "query: missing required member",
            Call::form("Action=Echo&Count=1").signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        (
            "query: bad scalar",
            Call::form("Action=Echo&Name=x&Count=many").signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        (
            "query: no Action",
            Call::form("Version=2020-01-01").signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        (
            "query: unimplemented operation",
            Call::form("Action=Later").signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        (
            "query: no such operation",
            Call::form("Action=Nope").signed("AKIDANY", "fakequery"),
            any,
            NOW,
        ),
        // ec2
        (
            "ec2: success",
            Call::form("Action=Echo&Version=2020-01-01&Name=x&Item.1=p&Item.2=q")
                .signed("AKIDANY", "fakeec2"),
            any,
            NOW,
        ),
        (
            "ec2: no input, no output",
            Call::form("Action=Ping").signed("AKIDANY", "fakeec2"),
            any,
            NOW,
        ),
        (
            "ec2: service error in the table",
            Call::form("Action=Echo&Name=missing").signed("AKIDANY", "fakeec2"),
            any,
            NOW,
        ),
        (
            "ec2: server error in the table",
            Call::form("Action=Echo&Name=server").signed("AKIDANY", "fakeec2"),
            any,
            NOW,
        ),
        (
            "ec2: internal error",
            Call::form("Action=Echo&Name=internal").signed("AKIDANY", "fakeec2"),
            any,
            NOW,
        ),
        (
            "ec2: missing required member",
            Call::form("Action=Echo&Count=1").signed("AKIDANY", "fakeec2"),
            any,
            NOW,
        ),
        (
            "ec2: bad scalar",
            Call::form("Action=Echo&Name=x&Count=many").signed("AKIDANY", "fakeec2"),
            any,
            NOW,
        ),
        (
            "ec2: no Action",
            Call::form("Name=x").signed("AKIDANY", "fakeec2"),
            any,
            NOW,
        ),
        (
            "ec2: unimplemented operation",
            Call::form("Action=Later").signed("AKIDANY", "fakeec2"),
            any,
            NOW,
        ),
        // Before the service is known
        (
            "unknown service in the credential scope",
            Call::form("Action=Echo").signed("AKIDANY", "nosuch"),
            any,
            NOW,
        ),
        (
            "no auth and no target",
            Call::form("Action=Echo&Name=x"),
            any,
            NOW,
        ),
        (
            "unknown target prefix without auth",
            Call::json("Nope_1.Echo", "{}"),
            any,
            NOW,
        ),
        (
            "malformed Authorization header, no target",
            Call::form("Action=Echo").header("authorization", "AWS4-HMAC-SHA256 Credential=x"),
            any,
            NOW,
        ),
        (
            "body too large without target",
            Call::form(&"x".repeat(300)),
            any,
            NOW,
        ),
        // Authentication
        (
            "json: missing auth",
            Call::json("FakeJson_20200101.Echo", echo),
            checked,
            NOW,
        ),
        (
            "json: unknown key",
            Call::json("FakeJson_20200101.Echo", echo).signed("AKIDNOPE", "fakejson"),
            checked,
            NOW,
        ),
        (
            "json: session key without its token",
            Call::json("FakeJson_20200101.Echo", echo).signed("ASIATEMP", "fakejson"),
            checked,
            NOW,
        ),
        (
            "json: bad signature",
            Call::json("FakeJson_20200101.Echo", echo).signed("AKIDKNOWN", "fakejson"),
            checked,
            NOW,
        ),
        (
            "json: expired",
            Call::json("FakeJson_20200101.Echo", echo).signed("AKIDKNOWN", "fakejson"),
            checked,
            far,
        ),
        (
            "json: bad date",
            Call::json("FakeJson_20200101.Echo", echo).signed_on(
                "AKIDKNOWN",
                "fakejson",
                "yesterday",
            ),
            checked,
            NOW,
        ),
        (
            "query: unknown key",
            Call::form("Action=Echo&Name=x").signed("AKIDNOPE", "fakequery"),
            checked,
            NOW,
        ),
        (
            "query: bad signature",
            Call::form("Action=Echo&Name=x").signed("AKIDKNOWN", "fakequery"),
            checked,
            NOW,
        ),
        (
            "query: expired",
            Call::form("Action=Echo&Name=x").signed("AKIDKNOWN", "fakequery"),
            checked,
            far,
        ),
        (
            "ec2: unknown key",
            Call::form("Action=Echo&Name=x").signed("AKIDNOPE", "fakeec2"),
            checked,
            NOW,
        ),
        (
            "ec2: bad signature",
            Call::form("Action=Echo&Name=x").signed("AKIDKNOWN", "fakeec2"),
            checked,
            NOW,
        ),
        (
            "ec2: expired",
            Call::form("Action=Echo&Name=x").signed("AKIDKNOWN", "fakeec2"),
            checked,
            far,
        ),
    ]
    .into_iter()
    .chain(multi_protocol_cases())
    .chain(compressed_cases())
    .collect()
}

/// `data` gzipped, as botocore compresses bodies of operations with `requestcompression`.
fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Bodies sent with `Content-Encoding: gzip`, in every protocol: inflated after
/// authentication, within the body limit.
fn compressed_cases() -> Vec<(&'static str, Call, bool, i64)> {
    let any = true;
    let gzipped = |mut call: Call| {
        call.body = gzip(&call.body);
        call.header("content-encoding", "gzip")
    };
    let echo = cbor_map(&[("Name", Cbor::Text("z".into()))]);
    vec![
        (
            "gzip: json",
            gzipped(Call::json("FakeJson_20200101.Echo", r#"{"Name":"z"}"#)),
            any,
            NOW,
        ),
        (
            "gzip: query",
            gzipped(Call::form("Action=Echo&Name=z").signed("AKIDANY", "fakequery")),
            any,
            NOW,
        ),
        (
            "gzip: ec2",
            gzipped(Call::form("Action=Echo&Name=z").signed("AKIDANY", "fakeec2")),
            any,
            NOW,
        ),
        (
            "gzip: cbor",
            gzipped(Call::cbor("Echo", Some(&echo))),
            any,
            NOW,
        ),
        (
            "gzip: damaged",
            Call::json("FakeJson_20200101.Echo", "not gzip").header("content-encoding", "gzip"),
            any,
            NOW,
        ),
        (
            "gzip: inflates past the body limit",
            gzipped(Call::json(
                "FakeJson_20200101.Echo",
                &format!(r#"{{"Name":"{}"}}"#, "z".repeat(300)),
            )),
            any,
            NOW,
        ),
        (
            "gzip: query, damaged",
            Call::form("Action=Echo&Name=z")
                .signed("AKIDANY", "fakequery")
                .header("content-encoding", "gzip"),
            any,
            NOW,
        ),
    ]
}

/// A CBOR map of text keys.
fn cbor_map(entries: &[(&str, Cbor)]) -> Cbor {
    Cbor::Map(
        entries
            .iter()
            .map(|(k, v)| (Cbor::Text((*k).into()), v.clone()))
            .collect(),
    )
}

/// The service that accepts Smithy RPC v2 CBOR, awsJson 1.0 and awsQuery (as CloudWatch):
/// each request is answered in its own protocol, errors with their awsQuery code beside.
fn multi_protocol_cases() -> Vec<(&'static str, Call, bool, i64)> {
    let any = true;
    let checked = false;
    let text = |s: &str| Cbor::Text(s.into());
    let echo = cbor_map(&[
        ("Name", text("x")),
        ("Names", Cbor::Array(vec![text("p"), text("q")])),
    ]);
    let named = |name: &str| cbor_map(&[("Name", text(name))]);
    let json10 = |op: &str, body: &str| {
        Call::post(body)
            .header("x-amz-target", &format!("FakeMulti_20200101.{op}"))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-query-mode", "true")
    };
    vec![
        (
            "multi cbor: success",
            Call::cbor("Echo", Some(&echo)).signed("AKIDANY", "fakemulti"),
            any,
            NOW,
        ),
        (
            "multi cbor: no input, no output",
            Call::cbor("Ping", None).signed("AKIDANY", "fakemulti"),
            any,
            NOW,
        ),
        (
            "multi cbor: routed by its path without auth",
            Call::cbor("Echo", Some(&named("y"))),
            any,
            NOW,
        ),
        (
            "multi cbor: service error in the table",
            Call::cbor("Echo", Some(&named("missing"))),
            any,
            NOW,
        ),
        (
            "multi cbor: server error in the table",
            Call::cbor("Echo", Some(&named("server"))),
            any,
            NOW,
        ),
        (
            "multi cbor: internal error",
            Call::cbor("Echo", Some(&named("internal"))),
            any,
            NOW,
        ),
        (
            "multi cbor: panic",
            Call::cbor("Echo", Some(&named("panic"))),
            any,
            NOW,
        ),
        (
            "multi cbor: missing required member",
            Call::cbor(
                "Echo",
                Some(&cbor_map(&[("Count", Cbor::Integer(1.into()))])),
            ),
            any,
            NOW,
        ),
        (
            "multi cbor: wrong type",
            Call::cbor(
                "Echo",
                Some(&cbor_map(&[("Name", text("x")), ("Count", text("many"))])),
            ),
            any,
            NOW,
        ),
        (
            "multi cbor: not CBOR",
            Call {
                body: vec![0xa1, 0x64, b'N'],
                ..Call::cbor("Echo", None)
            },
            any,
            NOW,
        ),
        (
            "multi cbor: unimplemented operation",
            Call::cbor("Later", None),
            any,
            NOW,
        ),
        (
            "multi cbor: no smithy-protocol header",
            Call {
                headers: vec![("host".into(), "localhost:4566".into())],
                ..Call::cbor("Ping", None)
            },
            any,
            NOW,
        ),
        (
            "multi cbor: X-Amz-Target beside",
            Call::cbor("Ping", None).header("x-amz-target", "FakeMulti_20200101.Ping"),
            any,
            NOW,
        ),
        (
            "multi cbor: unknown service in the path without auth",
            Call {
                uri: "/service/Nope/operation/Ping".into(),
                ..Call::cbor("Ping", None)
            },
            any,
            NOW,
        ),
        (
            "multi cbor: bad signature",
            Call::cbor("Echo", Some(&echo)).signed("AKIDKNOWN", "fakemulti"),
            checked,
            NOW,
        ),
        (
            "multi json 1.0: success",
            json10("Echo", r#"{"Name":"x"}"#).signed("AKIDANY", "fakemulti"),
            any,
            NOW,
        ),
        (
            "multi json 1.0: service error in the table",
            json10("Echo", r#"{"Name":"missing"}"#).signed("AKIDANY", "fakemulti"),
            any,
            NOW,
        ),
        (
            "multi json 1.0: validation error",
            json10("Echo", r#"{"Count":1}"#).signed("AKIDANY", "fakemulti"),
            any,
            NOW,
        ),
        (
            "multi json 1.0: unknown key",
            json10("Echo", r#"{"Name":"x"}"#).signed("AKIDNOPE", "fakemulti"),
            checked,
            NOW,
        ),
        (
            "multi query: success",
            Call::form("Action=Echo&Version=2020-01-01&Name=x&Item.member.1=p")
                .signed("AKIDANY", "fakemulti"),
            any,
            NOW,
        ),
        (
            "multi query: service error in the table",
            Call::form("Action=Echo&Name=missing").signed("AKIDANY", "fakemulti"),
            any,
            NOW,
        ),
        (
            "multi query: unknown key",
            Call::form("Action=Echo&Name=x").signed("AKIDNOPE", "fakemulti"),
            checked,
            NOW,
        ),
    ]
}

#[tokio::test]
async fn answers_match_the_recorded_transcript() {
    let mut transcript = String::new();
    for (title, call, any, now) in cases() {
        let resp = gateway(any, now).handle(call.request()).await;
        let _ = write!(transcript, "== {title}\n{}\n", show(resp).await);
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gateway_wire.txt");
    if std::env::var_os("WHARF_BLESS").is_some() {
        std::fs::write(&path, &transcript).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(&path).unwrap();
    for (i, (got, want)) in transcript.lines().zip(recorded.lines()).enumerate() {
        assert_eq!(
            got,
            want,
            "line {} of tests/gateway_wire.txt differs",
            i + 1
        );
    }
    assert_eq!(
        transcript.lines().count(),
        recorded.lines().count(),
        "the transcript and tests/gateway_wire.txt have different lengths"
    );
}
