//! AWS's protocol test suites, as botocore ships them (`tests/unit/protocols/{input,output}/
//! <suite>.json` in its sdist: json, json_1_0, query, ec2, smithy-rpc-v2-cbor and the
//! query-compatible json 1.0 and CBOR ones), run against wharf's codecs. Each case carries its own
//! little service model (`shapes`), from which a [`ServiceModel`] is built at run time:
//!
//! - input cases: the request botocore serializes (body, URL query, `X-Amz-Target`) must decode,
//!   through the protocol's [`WireProtocol::decode`] and then the types the generated handlers
//!   deserialize into (`wharf_core::Timestamp`, `Blob`, numbers), to the case's `params`;
//! - output cases: the case's `result`, given to [`WireProtocol::encode_output`] in the form the
//!   generated types serialize to, must give a body that a client parses (model-driven, the way
//!   botocore's parsers do) to the same document as the case's own `response.body`; error cases
//!   go through [`WireError::from_service`] and [`WireProtocol::encode_error`] and must parse to
//!   the same code, message and HTTP status (the code read as botocore reads it, the
//!   `x-amzn-query-error` header of query-compatible services included).
//!
//! The harness checks itself too: the case's own body must parse to its `result`, or the case is
//! reported as a harness failure. Cases about client-only behaviour (endpoint host prefixes,
//! idempotency token auto-fill, request compression, alternative error-code encodings only
//! clients must read) and features no service wharf serves uses are skipped with their reason;
//! every skip is counted and printed.
//!
//! The suite is not checked in: `scripts/protocol-conformance.sh` unpacks the pinned botocore
//! sdist and sets `WHARF_PROTOCOL_SUITE` to its `tests/unit/protocols`. Without that variable the
//! test says so and passes (plain `cargo nextest run` on a machine without the suite).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use http::Method;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use wharf_api::protocol::{for_model, Encoded, WireError, WireRequest};
use wharf_core::model::{
    ErrorInfo, Kind, Member, Operation, Protocol, ServiceModel, Shape, ShapeId,
};
use wharf_core::{Blob, ServiceError, Timestamp};

/// The suites of the protocols wharf serves, as their files are named.
const SUITES: &[&str] = &[
    "json",
    "json_1_0",
    "json_1_0-query-compatible",
    "query",
    "ec2",
    "smithy-rpc-v2-cbor",
    "smithy-rpc-v2-cbor-query-compatible",
    "smithy-rpc-v2-cbor-non-query-compatible",
];

/// Why a case is not run, by case id (or by operation name, for whole suites).
fn skip_reason(protocol: &str, direction: &str, case: &Value) -> Option<String> {
    let id = case["id"].as_str().unwrap_or("");
    let op = case["given"]["name"].as_str().unwrap_or("");
    let given = &case["given"];
    if given.get("endpoint").is_some() || op == "HostWithPathOperation" {
        return Some(
            "client-only: endpoint host prefix / host path (the server sees the request, not the host the client chose)"
                .into(),
        );
    }
    if given.get("requestcompression").is_some() {
        return Some(
            "client-only: SDK-applied gzip request compression (requestcompression); no operation wharf serves has the trait"
                .into(),
        );
    }
    if op == "QueryIdempotencyTokenAutoFill" {
        return Some("client-only: idempotency token auto-fill".into());
    }
    if direction == "output"
        && protocol == "json"
        && (id.contains("FooErrorUsing") || id.contains("FooErrorWithDunderType"))
        && case["response"]["headers"]
            .as_object()
            .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("x-amzn-errortype")))
    {
        return Some(
            "client-only: the error code read from the X-Amzn-ErrorType header (wharf sends __type in the body)"
                .into(),
        );
    }
    let non_finite = id.contains("SupportsNaNFloat")
        || id.contains("InfinityFloat")
        || (id.contains("Float16") && (id.contains("Inf") || id.contains("NaN")));
    if non_finite && direction == "output" {
        return Some(
            "wharf gap: NaN / Infinity / -Infinity in answers: output values are serde_json numbers, which cannot hold them (no service wharf serves answers with one; requests with them are read, see the input cases)"
                .into(),
        );
    }
    // Smithy RPC v2 CBOR ignores timestampFormat (tag 1 epoch seconds always).
    if protocol != "smithy-rpc-v2-cbor" && uses_timestamp_format(case) {
        return Some(
            "timestampFormat trait: no service wharf serves uses it (botocore's specs of ecs, ecr, logs, acm, secretsmanager, ssm, iam, sts, elbv2, ec2 have none)"
                .into(),
        );
    }
    None
}

/// Whether a case's `params` / `result` set a member whose shape carries `timestampFormat`.
fn uses_timestamp_format(case: &Value) -> bool {
    let shapes = &case["__shapes"];
    let values = case.get("params").or_else(|| case.get("result"));
    let root = case["given"]
        .get("input")
        .or_else(|| case["given"].get("output"))
        .and_then(|s| s["shape"].as_str());
    fn walk(shapes: &Value, shape: &str, v: &Value, member_fmt: bool) -> bool {
        let s = &shapes[shape];
        match s["type"].as_str().unwrap_or("") {
            "timestamp" => member_fmt || s.get("timestampFormat").is_some(),
            "structure" => v.as_object().is_some_and(|o| {
                o.iter().any(|(k, v)| {
                    let m = &s["members"][k];
                    m["shape"]
                        .as_str()
                        .is_some_and(|t| walk(shapes, t, v, m.get("timestampFormat").is_some()))
                })
            }),
            "list" => v.as_array().is_some_and(|a| {
                let t = s["member"]["shape"].as_str().unwrap_or("");
                a.iter().any(|v| walk(shapes, t, v, false))
            }),
            "map" => v.as_object().is_some_and(|o| {
                let t = s["value"]["shape"].as_str().unwrap_or("");
                o.values().any(|v| walk(shapes, t, v, false))
            }),
            _ => false,
        }
    }
    match (values, root) {
        (Some(v), Some(root)) => walk(shapes, root, v, false),
        _ => false,
    }
}

/// One case's outcome.
enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<(String, String)>,
    skipped: Vec<(String, String)>,
}

#[test]
fn botocore_protocol_suites() {
    let Some(dir) = std::env::var_os("WHARF_PROTOCOL_SUITE").map(PathBuf::from) else {
        eprintln!(
            "WHARF_PROTOCOL_SUITE is not set: the protocol conformance suites were not run \
             (scripts/protocol-conformance.sh fetches the pinned botocore's and runs them)"
        );
        return;
    };
    let mut report = String::new();
    let mut total_failed = 0;
    for suite in SUITES {
        for direction in ["input", "output"] {
            let tally = run_file(&dir, suite, direction);
            total_failed += tally.failed.len();
            let _ = writeln!(
                report,
                "{suite:>39} {direction:<6}: {} passed, {} failed, {} skipped",
                tally.passed,
                tally.failed.len(),
                tally.skipped.len()
            );
            for (id, why) in &tally.skipped {
                let _ = writeln!(report, "    skipped {id}: {why}");
            }
            for (id, why) in &tally.failed {
                let _ = writeln!(report, "    FAILED  {id}: {why}");
            }
        }
    }
    println!("botocore protocol suites ({}):\n{report}", dir.display());
    assert_eq!(total_failed, 0, "protocol conformance failures:\n{report}");
}

fn run_file(dir: &Path, suite_name: &str, direction: &str) -> Tally {
    let path = dir.join(direction).join(format!("{suite_name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let suites: Vec<Value> = serde_json::from_str(&text).expect("suite file is JSON");
    let mut tally = Tally::default();
    for suite in &suites {
        for case in suite["cases"].as_array().into_iter().flatten() {
            let mut case = case.clone();
            case["__shapes"] = suite["shapes"].clone();
            let id = case["id"].as_str().unwrap_or("?").to_string();
            let protocol = suite["metadata"]["protocol"].as_str().unwrap_or("");
            let outcome = match skip_reason(protocol, direction, &case) {
                Some(why) => Outcome::Skip(why),
                None => {
                    let model = build_model(&suite["metadata"], &suite["shapes"], &case["given"]);
                    if direction == "input" {
                        run_input(model, &case)
                    } else {
                        run_output(model, &case)
                    }
                }
            };
            match outcome {
                Outcome::Pass => tally.passed += 1,
                Outcome::Fail(why) => tally.failed.push((id, why)),
                Outcome::Skip(why) => tally.skipped.push((id, why)),
            }
        }
    }
    tally
}

// --- the case's model as a ServiceModel ---------------------------------------------------------

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn opt_leak(v: &Value) -> Option<&'static str> {
    v.as_str().map(leak)
}

/// Builds the `ServiceModel` of one case: every shape of its suite, its one operation, the
/// errors it names. Leaked: a test process builds a few hundred small models.
fn build_model(meta: &Value, shapes: &Value, given: &Value) -> &'static ServiceModel {
    let shapes = shapes.as_object().expect("shapes is an object");
    let names: Vec<&String> = shapes.keys().collect();
    let index: HashMap<&str, ShapeId> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), ShapeId::try_from(i).expect("few shapes")))
        .collect();
    let id = |v: &Value| -> ShapeId { index[v["shape"].as_str().expect("shape reference")] };
    let mut table = Vec::with_capacity(names.len());
    for name in &names {
        let s = &shapes[name.as_str()];
        let kind = match s["type"].as_str().unwrap_or("") {
            "structure" if s["document"].as_bool() == Some(true) => Kind::Document,
            "structure" => Kind::Structure,
            "list" => Kind::List,
            "map" => Kind::Map,
            "integer" | "short" | "byte" => Kind::Integer,
            "long" => Kind::Long,
            "boolean" => Kind::Boolean,
            "double" => Kind::Double,
            "float" => Kind::Float,
            "timestamp" => Kind::Timestamp,
            "blob" => Kind::Blob,
            _ => Kind::String,
        };
        let required: Vec<&str> = s["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let members: Vec<Member> = s["members"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(mname, m)| Member {
                name: leak(mname),
                shape: id(m),
                required: required.contains(&mname.as_str()),
                location_name: opt_leak(&m["locationName"]),
                query_name: opt_leak(&m["queryName"]),
                flattened: m["flattened"].as_bool() == Some(true),
            })
            .collect();
        let mut shape = Shape {
            name: leak(name),
            kind,
            members: Box::leak(members.into_boxed_slice()),
            flattened: s["flattened"].as_bool() == Some(true),
            ..Shape::EMPTY
        };
        if kind == Kind::List {
            shape.target = id(&s["member"]);
            shape.member_name = opt_leak(&s["member"]["locationName"]);
        }
        if kind == Kind::Map {
            shape.key = id(&s["key"]);
            shape.target = id(&s["value"]);
            shape.key_name = opt_leak(&s["key"]["locationName"]);
            shape.value_name = opt_leak(&s["value"]["locationName"]);
        }
        table.push(shape);
    }
    let op = Operation {
        name: leak(given["name"].as_str().expect("operation name")),
        input: given.get("input").map(&id),
        output: given.get("output").map(&id),
        result_wrapper: opt_leak(&given["output"]["resultWrapper"]),
    };
    let errors: Vec<ErrorInfo> = given["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["shape"].as_str())
        .map(|name| {
            let s = &shapes[name];
            let fault = s["fault"].as_bool() == Some(true);
            ErrorInfo {
                shape: leak(name),
                code: leak(s["error"]["code"].as_str().unwrap_or(name)),
                status: s["error"]["httpStatusCode"]
                    .as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .unwrap_or(if fault { 500 } else { 400 }),
                sender_fault: !fault,
            }
        })
        .collect();
    let protocol = match meta["protocol"].as_str() {
        Some("json") => Protocol::Json,
        Some("query") => Protocol::Query,
        Some("ec2") => Protocol::Ec2,
        Some("smithy-rpc-v2-cbor") => Protocol::Cbor,
        other => panic!("protocol {other:?} is not one wharf serves"),
    };
    let api_version = meta["apiVersion"].as_str().unwrap_or("");
    let xml_namespace = match &meta["xmlNamespace"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o.get("uri").and_then(Value::as_str).unwrap_or("").into(),
        _ if matches!(protocol, Protocol::Json | Protocol::Cbor) => String::new(),
        _ => format!("http://t.amazonaws.com/doc/{api_version}/"),
    };
    Box::leak(Box::new(ServiceModel {
        endpoint_prefix: "t",
        signing_name: "t",
        protocol,
        protocols: Box::leak(vec![protocol].into_boxed_slice()),
        query_compatible: meta.get("awsQueryCompatible").is_some(),
        target_prefix: leak(meta["targetPrefix"].as_str().unwrap_or("")),
        smithy_namespace: "com.amazonaws.t",
        json_version: leak(meta["jsonVersion"].as_str().unwrap_or("")),
        api_version: leak(api_version),
        xml_namespace: leak(&xml_namespace),
        shapes: Box::leak(table.into_boxed_slice()),
        operations: Box::leak(vec![op].into_boxed_slice()),
        all_operations: Box::leak(vec![op.name].into_boxed_slice()),
        errors: Box::leak(errors.into_boxed_slice()),
        validation_error: "ValidationException",
    }))
}

// --- input cases ------------------------------------------------------------------------------

fn run_input(model: &'static ServiceModel, case: &Value) -> Outcome {
    let ser = &case["serialized"];
    let method = Method::from_bytes(ser["method"].as_str().unwrap_or("POST").as_bytes())
        .unwrap_or(Method::POST);
    let uri = ser["uri"].as_str().unwrap_or("/");
    let query = uri.split_once('?').map_or("", |(_, q)| q);
    let body = ser["body"].as_str().unwrap_or("");
    let body_bytes = match wire_body(model, body) {
        Ok(b) => b,
        Err(e) => return Outcome::Fail(format!("harness: the case's body: {e}")),
    };
    let request = WireRequest {
        method: &method,
        path: uri.split_once('?').map_or(uri, |(p, _)| p),
        target: header(&ser["headers"], "x-amz-target"),
        smithy_protocol: header(&ser["headers"], "smithy-protocol"),
        query,
        body: &body_bytes,
    };
    let protocol = for_model(model);
    let (op, decoded) = match protocol.decode(model, &request) {
        Ok(d) => d,
        Err(e) => {
            return Outcome::Fail(format!(
                "decode refused the request: {} {}",
                e.code, e.message
            ))
        }
    };
    let want_op = case["given"]["name"].as_str().unwrap_or("");
    if op.name != want_op {
        return Outcome::Fail(format!(
            "decoded operation {} instead of {want_op}",
            op.name
        ));
    }
    let Some(input) = op.input else {
        return if decoded.as_object().is_some_and(Map::is_empty) {
            Outcome::Pass
        } else {
            Outcome::Fail(format!("no input shape, but decoded {decoded}"))
        };
    };
    let got = match canon(model, input, &decoded, Level::Wharf) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::Fail(format!(
                "decoded {decoded}, which wharf's types refuse: {e}"
            ))
        }
    };
    let mut want = match canon(model, input, &case["params"], Level::Params) {
        Ok(v) => v,
        Err(e) => return Outcome::Fail(format!("harness: params do not fit the model: {e}")),
    };
    drop_unsent_empties(model, input, &mut want);
    if got == want {
        Outcome::Pass
    } else {
        Outcome::Fail(format!(
            "request {body:?} decoded to {decoded}; as typed values {got}, expected {want}"
        ))
    }
}

/// The header `name` of a case's `headers` object, whatever its case.
fn header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers.as_object().and_then(|h| {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    })
}

/// A case's body as bytes: the suites write CBOR bodies in base64, the others as text.
fn wire_body(model: &ServiceModel, body: &str) -> Result<Vec<u8>, String> {
    if model.protocol == Protocol::Cbor {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("not base64: {e}"))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

/// Removes the empty lists and maps the protocol does not put on the wire, which a server can
/// only read as absent: ec2 sends neither, awsQuery sends `Name=` for an empty list but nothing
/// for an empty map.
fn drop_unsent_empties(model: &ServiceModel, shape: ShapeId, v: &mut Value) {
    let s = model.shape(shape);
    match (s.kind, v) {
        (Kind::Structure, Value::Object(obj)) => {
            for m in s.members {
                let Some(val) = obj.get_mut(m.name) else {
                    continue;
                };
                let kind = model.shape(m.shape).kind;
                let unsent = match val {
                    Value::Array(a) => a.is_empty() && model.protocol == Protocol::Ec2,
                    Value::Object(o) => {
                        o.is_empty()
                            && kind == Kind::Map
                            && !matches!(model.protocol, Protocol::Json | Protocol::Cbor)
                    }
                    _ => false,
                };
                if unsent {
                    obj.remove(m.name);
                } else {
                    drop_unsent_empties(model, m.shape, val);
                }
            }
        }
        (Kind::List, Value::Array(items)) => {
            for i in items {
                drop_unsent_empties(model, s.target, i);
            }
        }
        (Kind::Map, Value::Object(map)) => {
            for i in map.values_mut() {
                drop_unsent_empties(model, s.target, i);
            }
        }
        _ => {}
    }
}

// --- output cases -----------------------------------------------------------------------------

fn run_output(model: &'static ServiceModel, case: &Value) -> Outcome {
    if case.get("errorCode").is_some() {
        return run_error(model, case);
    }
    let op = &model.operations[0];
    let protocol = for_model(model);
    let response = &case["response"];
    let their_body = response["body"].as_str().unwrap_or("");
    let their_bytes = match wire_body(model, their_body) {
        Ok(b) => b,
        Err(e) => return Outcome::Fail(format!("harness: the case's body: {e}")),
    };
    let Some(shape) = op.output else {
        let out = protocol.encode_output(model, op, &Value::Null, "rid");
        if let Err(e) = check_answer_headers(model, &out, false) {
            return Outcome::Fail(e);
        }
        return match parse_body(model, op, protocol.name(), &out.body) {
            Ok(_) => Outcome::Pass,
            Err(e) => Outcome::Fail(format!(
                "answer to an operation without output does not parse: {e}"
            )),
        };
    };
    let want = match canon(model, shape, &case["result"], Level::Params) {
        Ok(v) => v,
        Err(e) => return Outcome::Fail(format!("harness: result does not fit the model: {e}")),
    };
    match parse_body(model, op, protocol.name(), &their_bytes) {
        Ok(theirs) if theirs == want => {}
        Ok(theirs) => {
            return Outcome::Fail(format!(
                "harness: the case's own body parses to {theirs}, not its result {want}"
            ))
        }
        Err(e) => {
            return Outcome::Fail(format!("harness: the case's own body does not parse: {e}"))
        }
    }
    let value = match to_wharf_value(model, shape, &case["result"]) {
        Ok(v) => v,
        Err(e) => return Outcome::Fail(format!("wharf's types cannot hold the result: {e}")),
    };
    let out = protocol.encode_output(model, op, &value, "rid");
    if let Err(e) = check_answer_headers(model, &out, true) {
        return Outcome::Fail(e);
    }
    let text = shown(model, &out.body);
    match parse_body(model, op, protocol.name(), &out.body) {
        Ok(ours) if ours == want => Outcome::Pass,
        Ok(ours) => Outcome::Fail(format!(
            "wharf's answer {text} parses to {ours}, expected {want} (as from {their_body:?})"
        )),
        Err(e) => Outcome::Fail(format!("wharf's answer {text} does not parse: {e}")),
    }
}

/// What Smithy RPC v2 CBOR asks of every answer's headers: `smithy-protocol: rpc-v2-cbor`,
/// and `Content-Type: application/cbor` exactly when there is a body (none for an operation
/// without output).
fn check_answer_headers(
    model: &ServiceModel,
    out: &Encoded,
    has_output: bool,
) -> Result<(), String> {
    if model.protocol != Protocol::Cbor {
        return Ok(());
    }
    if !out
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("smithy-protocol") && v == "rpc-v2-cbor")
    {
        return Err(format!(
            "answer without smithy-protocol: rpc-v2-cbor ({:?})",
            out.headers
        ));
    }
    let want_type = has_output.then_some("application/cbor");
    if out.content_type != want_type || (!has_output && !out.body.is_empty()) {
        return Err(format!(
            "answer with content type {:?} and {} body bytes, expected {want_type:?}",
            out.content_type,
            out.body.len()
        ));
    }
    Ok(())
}

/// A body for messages: text, or base64 for CBOR.
fn shown(model: &ServiceModel, body: &[u8]) -> String {
    if model.protocol == Protocol::Cbor {
        format!(
            "(CBOR, base64) {}",
            base64::engine::general_purpose::STANDARD.encode(body)
        )
    } else {
        String::from_utf8_lossy(body).into_owned()
    }
}

/// An error answer, as a client reads it.
#[derive(Debug, PartialEq)]
struct ParsedError {
    code: String,
    message: Option<String>,
    status: u16,
}

fn run_error(model: &'static ServiceModel, case: &Value) -> Outcome {
    let code = case["errorCode"].as_str().unwrap_or("");
    let Some(info) = model.errors.iter().find(|e| e.code == code) else {
        return Outcome::Fail(format!("harness: no modelled error has code {code}"));
    };
    let extra: Vec<&String> = case["error"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .filter(|k| !k.eq_ignore_ascii_case("message"))
        .collect();
    if !extra.is_empty() {
        return Outcome::Skip(format!(
            "wharf gap: an error's members other than its message ({}) are not sent: ServiceError / WireError carry only code and message (served errors with such members: ECS ConflictException, ECR InvalidLayerPartException, Logs InvalidSequenceTokenException, ...)",
            extra.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    let protocol = for_model(model);
    let response = &case["response"];
    let status = response["status_code"].as_u64().unwrap_or(0) as u16;
    let their_headers: Vec<(String, String)> = response["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    let their_body = match wire_body(model, response["body"].as_str().unwrap_or("")) {
        Ok(b) => b,
        Err(e) => return Outcome::Fail(format!("harness: the case's body: {e}")),
    };
    let theirs = match parse_error(protocol.name(), &their_body, status, &their_headers) {
        Ok(e) => e,
        Err(e) => {
            return Outcome::Fail(format!(
                "harness: the case's error body does not parse: {e}"
            ))
        }
    };
    let want = ParsedError {
        code: code.to_string(),
        message: case["errorMessage"].as_str().map(str::to_string),
        status,
    };
    if theirs != want {
        return Outcome::Fail(format!(
            "harness: the case's body parses to {theirs:?}, not {want:?}"
        ));
    }
    let message = case["errorMessage"].as_str().unwrap_or("");
    let wire = WireError::from_service(protocol, model, &ServiceError::new(info.shape, message));
    let out = protocol.encode_error(Some(model), &wire, "rid");
    if let Err(e) = check_answer_headers(model, &out, true) {
        return Outcome::Fail(e);
    }
    let text = shown(model, &out.body);
    let our_headers: Vec<(String, String)> = out
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    match parse_error(
        protocol.name(),
        &out.body,
        wire.status.as_u16(),
        &our_headers,
    ) {
        Ok(mut ours) => {
            if want.message.is_none() {
                ours.message = None;
            }
            if ours == want {
                Outcome::Pass
            } else if model.query_compatible
                && ours.code == want.code
                && ours.message == want.message
                && ours.status == info.status
            {
                Outcome::Skip(format!(
                    "status only: the error's awsQueryError httpResponseCode ({}) is the query \
                     protocol's, and botocore's model folds it into httpStatusCode, the one status \
                     wharf's error table keeps; without an @httpError the JSON/CBOR answer is {} \
                     (CloudWatch's errors carry @httpError equal to their query status, so wharf \
                     answers them right). Code and message match.",
                    info.status, want.status
                ))
            } else {
                Outcome::Fail(format!(
                    "wharf's error {} {text} parses to {ours:?}, expected {want:?}",
                    wire.status
                ))
            }
        }
        Err(e) => Outcome::Fail(format!("wharf's error {text} does not parse: {e}")),
    }
}

/// Reads an error answer as botocore does: awsJson's and CBOR's `__type` / `code` (namespace
/// before `#` and URI after `:` dropped; the code of `x-amzn-query-error: <Code>;<Type>` instead
/// when sent) and `message` / `Message`; the XML `<Error><Code>` / `<Message>`.
fn parse_error(
    protocol: &str,
    body: &[u8],
    status: u16,
    headers: &[(String, String)],
) -> Result<ParsedError, String> {
    let (code, message) = if protocol == "json" || protocol == "smithy-rpc-v2-cbor" {
        let v: Value = if protocol == "json" {
            serde_json::from_slice(body).map_err(|e| e.to_string())?
        } else {
            cbor_document(body)?
        };
        let raw = v["__type"]
            .as_str()
            .or_else(|| v["code"].as_str())
            .ok_or("no __type or code")?;
        let raw = raw.rsplit_once('#').map_or(raw, |(_, c)| c);
        let raw = raw.split_once(':').map_or(raw, |(c, _)| c);
        let message = v["message"]
            .as_str()
            .or_else(|| v["Message"].as_str())
            .map(str::to_string);
        let query_code = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-query-error"))
            .and_then(|(_, v)| {
                let (code, _fault) = v.split_once(';')?;
                (!code.is_empty() && !_fault.contains(';')).then_some(code)
            });
        (query_code.unwrap_or(raw).to_string(), message)
    } else {
        let root = xml::parse(std::str::from_utf8(body).map_err(|e| e.to_string())?)?;
        let error = if protocol == "ec2" {
            root.child("Errors").and_then(|e| e.child("Error"))
        } else {
            root.child("Error")
        }
        .ok_or("no Error element")?;
        let code = error.child("Code").ok_or("no Code")?.text.clone();
        (code, error.child("Message").map(|m| m.text.clone()))
    };
    Ok(ParsedError {
        code,
        message,
        status,
    })
}

/// Parses a success answer's body as a client does, into canonical values.
fn parse_body(
    model: &ServiceModel,
    op: &Operation,
    protocol: &str,
    body: &[u8],
) -> Result<Value, String> {
    if protocol == "smithy-rpc-v2-cbor" {
        let v = if body.is_empty() {
            Value::Object(Map::new())
        } else {
            cbor_document(body)?
        };
        return match op.output {
            Some(shape) => canon(model, shape, &v, Level::Body),
            None => Ok(Value::Null),
        };
    }
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    if protocol == "json" {
        let v: Value = if text.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str(text).map_err(|e| e.to_string())?
        };
        return match op.output {
            Some(shape) => canon(model, shape, &v, Level::Body),
            None => Ok(Value::Null),
        };
    }
    if text.trim().is_empty() && op.output.is_none_or(|o| model.shape(o).members.is_empty()) {
        return Ok(op.output.map_or(Value::Null, |_| Value::Object(Map::new())));
    }
    let root = xml::parse(text)?;
    let want_root = format!("{}Response", op.name);
    if root.name != want_root {
        return Err(format!("root element {} instead of {want_root}", root.name));
    }
    let Some(shape) = op.output else {
        return Ok(Value::Null);
    };
    let node = if protocol == "query" {
        let wrapper = op
            .result_wrapper
            .map_or_else(|| format!("{}Result", op.name), str::to_string);
        match root.child(&wrapper) {
            Some(n) => n,
            None if model.shape(shape).members.is_empty() => &root,
            None => return Err(format!("no <{wrapper}> result wrapper")),
        }
    } else {
        &root
    };
    xml_struct(model, shape, node)
}

/// A CBOR body read the way botocore's CBOR parser reads it, as the JSON a client would see:
/// byte strings as base64 (what [`Level::Body`] reads blobs as), tag 1 as its epoch seconds,
/// non-finite floats as their names. ciborium's reader, independent of wharf's decoder.
fn cbor_document(body: &[u8]) -> Result<Value, String> {
    use ciborium::value::Value as Cbor;
    fn convert(v: &Cbor) -> Result<Value, String> {
        Ok(match v {
            Cbor::Integer(i) => {
                let i = i128::from(*i);
                i64::try_from(i)
                    .map(Value::from)
                    .or_else(|_| u64::try_from(i).map(Value::from))
                    .map_err(|_| format!("integer {i} out of range"))?
            }
            Cbor::Float(f) => float_value(*f, Kind::Double),
            Cbor::Text(t) => Value::String(t.clone()),
            Cbor::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            Cbor::Bool(b) => Value::Bool(*b),
            Cbor::Null => Value::Null,
            Cbor::Tag(1, inner) => convert(inner)?,
            Cbor::Tag(t, _) => return Err(format!("unexpected CBOR tag {t}")),
            Cbor::Array(items) => {
                Value::Array(items.iter().map(convert).collect::<Result<_, _>>()?)
            }
            Cbor::Map(entries) => {
                let mut out = Map::new();
                for (k, v) in entries {
                    let Cbor::Text(k) = k else {
                        return Err("a map key that is not text".into());
                    };
                    out.insert(k.clone(), convert(v)?);
                }
                Value::Object(out)
            }
            _ => return Err("an unknown CBOR value".into()),
        })
    }
    let v: Cbor = ciborium::de::from_reader(body).map_err(|e| format!("not CBOR: {e}"))?;
    convert(&v)
}

// --- canonical values -------------------------------------------------------------------------

/// Where a value comes from, which decides how blobs, timestamps and non-finite floats read.
#[derive(Clone, Copy, PartialEq)]
enum Level {
    /// botocore's Python-level values (`params`, `result`): blobs as text, timestamps as epoch
    /// seconds, non-finite floats as `"NaN"` / `"Infinity"` / `"-Infinity"`.
    Params,
    /// What wharf's decoders produce, read through the types generated handlers deserialize:
    /// `wharf_core::Blob`, `Timestamp`, `f64`, `i64`, `bool`, `String`; unknown keys refused
    /// (a member the handler would never see).
    Wharf,
    /// A JSON body read by a client: base64 blobs, timestamps as numbers or text, unknown keys
    /// ignored.
    Body,
}

/// The value of shape `shape` in canonical form: blobs as `blob:<hex>`, timestamps as epoch
/// milliseconds, floats as f64 (rounded through f32 for `float`), non-finite floats as text.
fn canon(model: &ServiceModel, shape: ShapeId, v: &Value, level: Level) -> Result<Value, String> {
    let s = model.shape(shape);
    match s.kind {
        Kind::Structure => {
            let obj = v
                .as_object()
                .ok_or_else(|| format!("{v} is not a structure"))?;
            let mut out = Map::new();
            for (k, val) in obj {
                if val.is_null() {
                    continue;
                }
                match s.members.iter().find(|m| m.name == k) {
                    Some(m) => {
                        out.insert(k.clone(), canon(model, m.shape, val, level)?);
                    }
                    None if level == Level::Wharf => {
                        return Err(format!("key {k:?} is not a member of {}", s.name))
                    }
                    None => {}
                }
            }
            Ok(Value::Object(out))
        }
        Kind::List => v
            .as_array()
            .ok_or_else(|| format!("{v} is not a list"))?
            .iter()
            .map(|i| canon(model, s.target, i, level))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Kind::Map => {
            let obj = v.as_object().ok_or_else(|| format!("{v} is not a map"))?;
            let mut out = Map::new();
            for (k, val) in obj {
                if val.is_null() && level != Level::Wharf {
                    continue;
                }
                out.insert(k.clone(), canon(model, s.target, val, level)?);
            }
            Ok(Value::Object(out))
        }
        Kind::Blob => {
            let bytes = match level {
                Level::Params => v.as_str().ok_or("blob is not text")?.as_bytes().to_vec(),
                Level::Wharf => {
                    serde_json::from_value::<Blob>(v.clone())
                        .map_err(|e| e.to_string())?
                        .0
                }
                Level::Body => base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().ok_or("blob is not text")?)
                    .map_err(|e| e.to_string())?,
            };
            Ok(Value::String(format!("blob:{}", hex::encode(bytes))))
        }
        Kind::Timestamp => {
            let ts = match level {
                Level::Wharf => {
                    serde_json::from_value::<Timestamp>(v.clone()).map_err(|e| e.to_string())?
                }
                _ => match v {
                    Value::Number(n) => Timestamp::from_epoch_seconds(n.as_f64().unwrap_or(0.0)),
                    Value::String(t) => parse_timestamp(t)?,
                    _ => return Err(format!("{v} is not a timestamp")),
                },
            };
            Ok(Value::from(ts.millis))
        }
        Kind::Integer | Kind::Long => match level {
            Level::Wharf => serde_json::from_value::<i64>(v.clone())
                .map(Value::from)
                .map_err(|e| format!("{v}: {e}")),
            _ => v
                .as_i64()
                .map(Value::from)
                .ok_or_else(|| format!("{v} is not an integer")),
        },
        Kind::Double | Kind::Float => {
            let x = match (level, v) {
                // As the generated handlers read a double (`"NaN"` and the infinities included).
                (Level::Wharf, _) => wharf_core::handler::decode_input::<f64>(v.clone(), "x")
                    .map_err(|e| format!("{v}: {}", e.message))?,
                (_, Value::Number(n)) => n.as_f64().unwrap_or(0.0),
                (_, Value::String(t)) => match t.as_str() {
                    "NaN" => f64::NAN,
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    _ => return Err(format!("{v} is not a number")),
                },
                _ => return Err(format!("{v} is not a number")),
            };
            Ok(float_value(x, s.kind))
        }
        Kind::Boolean => match level {
            Level::Wharf => serde_json::from_value::<bool>(v.clone())
                .map(Value::Bool)
                .map_err(|e| format!("{v}: {e}")),
            _ => v
                .as_bool()
                .map(Value::Bool)
                .ok_or_else(|| format!("{v} is not a boolean")),
        },
        Kind::String => match level {
            Level::Wharf => serde_json::from_value::<String>(v.clone())
                .map(Value::String)
                .map_err(|e| format!("{v}: {e}")),
            _ => v
                .as_str()
                .map(|t| Value::String(t.to_string()))
                .ok_or_else(|| format!("{v} is not a string")),
        },
        Kind::Document => Ok(v.clone()),
    }
}

fn float_value(x: f64, kind: Kind) -> Value {
    if x.is_nan() {
        return Value::String("NaN".into());
    }
    if x.is_infinite() {
        return Value::String(if x > 0.0 { "Infinity" } else { "-Infinity" }.into());
    }
    let x = if kind == Kind::Float {
        f64::from(x as f32)
    } else {
        x
    };
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// A timestamp as clients read it: ISO 8601 / RFC 3339 (any offset), epoch seconds, HTTP date.
fn parse_timestamp(t: &str) -> Result<Timestamp, String> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(Timestamp::from_millis(d.timestamp_millis()));
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc2822(t) {
        return Ok(Timestamp::from_millis(d.timestamp_millis()));
    }
    Timestamp::parse(t).ok_or_else(|| format!("{t:?} is not a timestamp"))
}

/// The Python-level `result` in the form wharf's generated types serialize to (what services
/// hand the encoder): blobs base64, timestamps fractional epoch seconds.
fn to_wharf_value(model: &ServiceModel, shape: ShapeId, v: &Value) -> Result<Value, String> {
    let s = model.shape(shape);
    Ok(match s.kind {
        Kind::Structure => {
            let mut out = Map::new();
            for (k, val) in v.as_object().ok_or("not a structure")? {
                let m = s
                    .members
                    .iter()
                    .find(|m| m.name == k)
                    .ok_or_else(|| format!("{k} is not a member"))?;
                out.insert(k.clone(), to_wharf_value(model, m.shape, val)?);
            }
            Value::Object(out)
        }
        Kind::List => Value::Array(
            v.as_array()
                .ok_or("not a list")?
                .iter()
                .map(|i| to_wharf_value(model, s.target, i))
                .collect::<Result<_, _>>()?,
        ),
        Kind::Map => {
            let mut out = Map::new();
            for (k, val) in v.as_object().ok_or("not a map")? {
                out.insert(k.clone(), to_wharf_value(model, s.target, val)?);
            }
            Value::Object(out)
        }
        Kind::Blob => serde_json::to_value(Blob(v.as_str().ok_or("blob")?.as_bytes().to_vec()))
            .map_err(|e| e.to_string())?,
        Kind::Timestamp => {
            let secs = v.as_f64().ok_or("timestamp is not a number")?;
            serde_json::to_value(Timestamp::from_epoch_seconds(secs)).map_err(|e| e.to_string())?
        }
        Kind::Double | Kind::Float => match v {
            Value::String(t) => {
                return Err(format!(
                    "the float {t} cannot be a serde_json number (wharf's output values are serde_json)"
                ))
            }
            other => other.clone(),
        },
        _ => v.clone(),
    })
}

// --- XML, read as botocore's query / ec2 parsers read it ---------------------------------------

fn xml_struct(model: &ServiceModel, shape: ShapeId, node: &xml::Node) -> Result<Value, String> {
    let s = model.shape(shape);
    let mut out = Map::new();
    for m in s.members {
        let target = model.shape(m.shape);
        let flattened = m.flattened || target.flattened;
        // Smithy's naming, which AWS's servers follow: a flattened list's items are named
        // after the structure member (botocore names them after the list's member and lists
        // QueryXmlLists / Ec2XmlLists in its own ignore list for that).
        let name = m.location_name.unwrap_or(m.name);
        let matches: Vec<&xml::Node> = node.children.iter().filter(|c| c.name == name).collect();
        if matches.is_empty() {
            continue;
        }
        let v = if flattened && target.kind == Kind::List {
            Value::Array(
                matches
                    .iter()
                    .map(|n| xml_value(model, target.target, n))
                    .collect::<Result<_, _>>()?,
            )
        } else if flattened && target.kind == Kind::Map {
            let mut map = Map::new();
            for n in matches {
                xml_entry(model, m.shape, n, &mut map)?;
            }
            Value::Object(map)
        } else {
            xml_value(model, m.shape, matches[0])?
        };
        out.insert(m.name.to_string(), v);
    }
    Ok(Value::Object(out))
}

fn xml_entry(
    model: &ServiceModel,
    shape: ShapeId,
    entry: &xml::Node,
    map: &mut Map<String, Value>,
) -> Result<(), String> {
    let s = model.shape(shape);
    let key_name = s.key_name.unwrap_or("key");
    let value_name = s.value_name.unwrap_or("value");
    let key = entry
        .child(key_name)
        .ok_or_else(|| format!("map entry without <{key_name}>"))?
        .text
        .clone();
    let value = match entry.child(value_name) {
        Some(v) => xml_value(model, s.target, v)?,
        None => return Err(format!("map entry without <{value_name}>")),
    };
    map.insert(key, value);
    Ok(())
}

fn xml_value(model: &ServiceModel, shape: ShapeId, node: &xml::Node) -> Result<Value, String> {
    let s = model.shape(shape);
    let text = node.text.as_str();
    Ok(match s.kind {
        Kind::Structure => xml_struct(model, shape, node)?,
        Kind::List => {
            let item = s.member_name.unwrap_or("member");
            Value::Array(
                node.children
                    .iter()
                    .map(|c| {
                        if c.name == item {
                            xml_value(model, s.target, c)
                        } else {
                            Err(format!("list item <{}>, expected <{item}>", c.name))
                        }
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
        Kind::Map => {
            let mut map = Map::new();
            for c in &node.children {
                if c.name != "entry" {
                    return Err(format!("map child <{}>, expected <entry>", c.name));
                }
                xml_entry(model, shape, c, &mut map)?;
            }
            Value::Object(map)
        }
        Kind::Integer | Kind::Long => Value::from(
            text.trim()
                .parse::<i64>()
                .map_err(|_| format!("{text:?} is not an integer"))?,
        ),
        Kind::Double | Kind::Float => {
            let x = match text.trim() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                t => t
                    .parse::<f64>()
                    .map_err(|_| format!("{t:?} is not a number"))?,
            };
            float_value(x, s.kind)
        }
        Kind::Boolean => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            t => return Err(format!("{t:?} is not a boolean")),
        },
        Kind::Timestamp => Value::from(parse_timestamp(text.trim())?.millis),
        Kind::Blob => Value::String(format!(
            "blob:{}",
            hex::encode(
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|e| e.to_string())?
            )
        )),
        Kind::String | Kind::Document => Value::String(text.to_string()),
    })
}

/// Just enough XML for AWS answers: elements (namespace prefixes and attributes dropped), text
/// with the five entities and character references, CDATA, comments, the declaration.
mod xml {
    /// One element.
    #[derive(Debug, Default)]
    pub struct Node {
        pub name: String,
        pub text: String,
        pub children: Vec<Node>,
    }

    impl Node {
        pub fn child(&self, name: &str) -> Option<&Node> {
            self.children.iter().find(|c| c.name == name)
        }
    }

    pub fn parse(text: &str) -> Result<Node, String> {
        let mut stack: Vec<Node> = vec![Node::default()];
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("<?") {
                rest = &after[after.find("?>").ok_or("unclosed <?")? + 2..];
            } else if let Some(after) = rest.strip_prefix("<!--") {
                rest = &after[after.find("-->").ok_or("unclosed comment")? + 3..];
            } else if let Some(after) = rest.strip_prefix("<![CDATA[") {
                let end = after.find("]]>").ok_or("unclosed CDATA")?;
                stack
                    .last_mut()
                    .ok_or("bad nesting")?
                    .text
                    .push_str(&after[..end]);
                rest = &after[end + 3..];
            } else if let Some(after) = rest.strip_prefix("</") {
                let end = after.find('>').ok_or("unclosed end tag")?;
                let name = local(after[..end].trim());
                let node = stack.pop().ok_or("bad nesting")?;
                if node.name != name {
                    return Err(format!("</{name}> closes <{}>", node.name));
                }
                push(&mut stack, node)?;
                rest = &after[end + 1..];
            } else if let Some(after) = rest.strip_prefix('<') {
                let end = after.find('>').ok_or("unclosed tag")?;
                let tag = &after[..end];
                let (tag, closed) = match tag.strip_suffix('/') {
                    Some(t) => (t, true),
                    None => (tag, false),
                };
                let name = local(tag.split_whitespace().next().ok_or("empty tag")?);
                let node = Node {
                    name: name.to_string(),
                    ..Node::default()
                };
                if closed {
                    push(&mut stack, node)?;
                } else {
                    stack.push(node);
                }
                rest = &after[end + 1..];
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                let text = unescape(&rest[..end])?;
                stack.last_mut().ok_or("bad nesting")?.text.push_str(&text);
                rest = &rest[end..];
            }
        }
        let mut doc = stack.pop().ok_or("bad nesting")?;
        if !stack.is_empty() {
            return Err("unclosed element".into());
        }
        if doc.children.len() != 1 {
            return Err(format!("{} root elements", doc.children.len()));
        }
        Ok(doc.children.remove(0))
    }

    /// Adds a finished element to its parent; an element with children keeps no text (the
    /// whitespace between them).
    fn push(stack: &mut [Node], mut node: Node) -> Result<(), String> {
        if !node.children.is_empty() {
            node.text.clear();
        }
        stack.last_mut().ok_or("bad nesting")?.children.push(node);
        Ok(())
    }

    fn local(name: &str) -> &str {
        name.rsplit_once(':').map_or(name, |(_, l)| l)
    }

    fn unescape(text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('&') {
            out.push_str(&rest[..i]);
            let end = rest[i..].find(';').ok_or("unterminated entity")? + i;
            let entity = &rest[i + 1..end];
            let c = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                e => {
                    let code = if let Some(h) = e.strip_prefix("#x") {
                        u32::from_str_radix(h, 16).ok()
                    } else if let Some(d) = e.strip_prefix('#') {
                        d.parse().ok()
                    } else {
                        None
                    };
                    code.and_then(char::from_u32)
                        .ok_or_else(|| format!("unknown entity &{e};"))?
                }
            };
            out.push(c);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
