//! Smithy RPC v2 CBOR, the protocol AWS's newer SDKs (JavaScript v3, Go, Java 2, .NET, ...)
//! call CloudWatch with: `POST /service/<ServiceName>/operation/<Operation>` with
//! `smithy-protocol: rpc-v2-cbor`; the body is the input structure as a CBOR map keyed by member
//! names, the answer the output structure (`Content-Type: application/cbor`, `smithy-protocol:
//! rpc-v2-cbor`; no body at all for an operation without output). Timestamps are tag 1 epoch
//! seconds, blobs byte strings. An error is the map `{"__type": "<namespace>#<Shape>",
//! "message": ...}` with a 4xx/5xx status; a service that moved from awsQuery
//! (`awsQueryCompatible`) adds `x-amzn-query-error: <Code>;<Sender|Receiver>`, as in awsJson.
//!
//! Requests are decoded into the same JSON values the awsJson decoder produces (timestamps as
//! epoch seconds, blobs as base64), so the validator and the generated types are the same for
//! every protocol ([`decode`]); answers are written from those values, led by the model
//! ([`encode`]). The protocol's codes for failures before the service runs (unknown operation,
//! bad input type, authentication) are awsJson's: the same AWS front end answers both.

mod budget;
mod decode;
mod encode;

use super::json::AwsJson;
use super::wire::{
    find_operation, query_error_header, Decoded, Encoded, WireError, WireProtocol, WireRequest,
};
use http::{Method, StatusCode};
use serde_json::Value;
use wharf_core::model::{ErrorInfo, Operation, ServiceModel};

/// The value of the `smithy-protocol` header on every request and answer.
pub const SMITHY_PROTOCOL: &str = "rpc-v2-cbor";

/// The content type of every body.
pub const CONTENT_TYPE: &str = "application/cbor";

/// The Smithy RPC v2 CBOR protocol.
#[derive(Debug, Clone, Copy)]
pub struct RpcV2Cbor;

impl WireProtocol for RpcV2Cbor {
    fn name(&self) -> &'static str {
        "smithy-rpc-v2-cbor"
    }

    fn decode(
        &self,
        model: &'static ServiceModel,
        request: &WireRequest<'_>,
    ) -> Result<Decoded, WireError> {
        let refuse = |message: String| {
            WireError::new(
                self.unknown_operation_code(),
                StatusCode::BAD_REQUEST,
                message,
            )
        };
        if *request.method != Method::POST {
            return Err(refuse(format!(
                "{} API requests in Smithy RPC v2 CBOR must be POST",
                model.endpoint_prefix
            )));
        }
        // The spec: a request carrying X-Amz-Target is malformed and must be refused.
        if request.target.is_some() {
            return Err(refuse(
                "a Smithy RPC v2 CBOR request must not carry X-Amz-Target".into(),
            ));
        }
        if !request
            .smithy_protocol
            .is_some_and(|p| p.trim().eq_ignore_ascii_case(SMITHY_PROTOCOL))
        {
            return Err(refuse(format!(
                "a Smithy RPC v2 CBOR request must carry the header smithy-protocol: {SMITHY_PROTOCOL}"
            )));
        }
        let Some((service, op_name)) = path_names(request.path) else {
            return Err(refuse(format!(
                "the path '{}' is not /service/<ServiceName>/operation/<Operation>",
                request.path
            )));
        };
        if !names_service(model, service) {
            return Err(refuse(format!(
                "'{service}' in the path is not the {} service ({})",
                model.endpoint_prefix, model.target_prefix
            )));
        }
        let op = find_operation(self, model, op_name)?;
        let input = match op.input {
            Some(shape) => decode::input(model, shape, request.body).map_err(|m| {
                WireError::new(self.malformed_body_code(), StatusCode::BAD_REQUEST, m)
            })?,
            None => Value::Object(Default::default()),
        };
        Ok((op, input))
    }

    fn encode_output(
        &self,
        model: &ServiceModel,
        op: &Operation,
        output: &Value,
        _request_id: &str,
    ) -> Encoded {
        let mut encoded = match op.output {
            // An operation without output answers without a body (and so without a type).
            None => Encoded {
                content_type: None,
                body: Vec::new(),
                headers: Vec::new(),
            },
            Some(shape) => Encoded::new(CONTENT_TYPE, encode::output(model, shape, output)),
        };
        encoded
            .headers
            .push(("smithy-protocol", SMITHY_PROTOCOL.to_string()));
        encoded
    }

    /// The error's absolute shape id goes in `__type`; wharf's own failures (authentication,
    /// decoding) are named in the service's namespace too, as clients keep only the name after
    /// `#`.
    fn encode_error(
        &self,
        model: Option<&ServiceModel>,
        error: &WireError,
        _request_id: &str,
    ) -> Encoded {
        let shape_id = match model {
            Some(m) if !m.smithy_namespace.is_empty() && !error.code.contains('#') => {
                format!("{}#{}", m.smithy_namespace, error.code)
            }
            _ => error.code.clone(),
        };
        let mut encoded = Encoded::new(CONTENT_TYPE, encode::error(&shape_id, &error.message));
        encoded
            .headers
            .push(("smithy-protocol", SMITHY_PROTOCOL.to_string()));
        encoded.headers.extend(query_error_header(model, error));
        encoded
    }

    fn error_code(&self, info: &ErrorInfo) -> &'static str {
        AwsJson.error_code(info)
    }

    fn unknown_operation_code(&self) -> &'static str {
        AwsJson.unknown_operation_code()
    }

    fn malformed_body_code(&self) -> &'static str {
        AwsJson.malformed_body_code()
    }

    fn wrong_type_code(&self) -> Option<&'static str> {
        AwsJson.wrong_type_code()
    }

    fn unknown_access_key(&self) -> WireError {
        AwsJson.unknown_access_key()
    }

    fn bad_signature_code(&self) -> &'static str {
        AwsJson.bad_signature_code()
    }
}

/// The service and operation names of a path `[<prefix>]/service/<name>/operation/<op>` (only
/// the last four segments count, as the spec says).
pub fn path_names(path: &str) -> Option<(&str, &str)> {
    let mut segments = path.rsplit('/');
    let op = segments.next()?;
    let operation = segments.next()?;
    let service = segments.next()?;
    let service_literal = segments.next()?;
    let well_formed = operation == "operation"
        && service_literal == "service"
        && !op.is_empty()
        && !service.is_empty()
        && path.starts_with('/');
    well_formed.then_some((service, op))
}

/// Whether `name` names `model`'s service: its shape name, or (the spec asks servers to accept
/// it) its absolute shape id with `.` for `#`.
fn names_service(model: &ServiceModel, name: &str) -> bool {
    if name == model.target_prefix {
        return true;
    }
    name.strip_suffix(model.target_prefix)
        .and_then(|ns| ns.strip_suffix('.'))
        .is_some_and(|ns| !ns.is_empty() && ns == model.smithy_namespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_model::{MULTI, QUERY};
    use ciborium::value::Value as Cbor;
    use serde_json::json;
    use wharf_core::ServiceError;

    fn text(s: &str) -> Cbor {
        Cbor::Text(s.into())
    }

    fn cbor(value: &Cbor) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(value, &mut out).unwrap();
        out
    }

    fn request<'a>(path: &'a str, body: &'a [u8]) -> WireRequest<'a> {
        WireRequest {
            path,
            smithy_protocol: Some("rpc-v2-cbor"),
            ..WireRequest::post(body)
        }
    }

    #[test]
    fn decodes_the_path_operation_and_its_body() {
        let body = cbor(&Cbor::Map(vec![(text("Count"), Cbor::Integer(3.into()))]));
        let (op, input) = RpcV2Cbor
            .decode(&MULTI, &request("/service/T_20200101/operation/Op", &body))
            .unwrap();
        assert_eq!((op.name, input), ("Op", json!({"Count": 3})));
        // No body is the empty structure; an operation without input ignores what it gets.
        let (op, input) = RpcV2Cbor
            .decode(&MULTI, &request("/service/T_20200101/operation/Op", b""))
            .unwrap();
        assert_eq!((op.name, input), ("Op", json!({})));
        let (op, input) = RpcV2Cbor
            .decode(&MULTI, &request("/service/T_20200101/operation/Bare", b""))
            .unwrap();
        assert_eq!((op.name, input), ("Bare", json!({})));
    }

    #[test]
    fn accepts_a_path_prefix_and_the_absolute_service_id() {
        for path in [
            "/v1/service/T_20200101/operation/Bare",
            "/service/com.amazonaws.t.T_20200101/operation/Bare",
        ] {
            let (op, _) = RpcV2Cbor.decode(&MULTI, &request(path, b"")).unwrap();
            assert_eq!(op.name, "Bare", "{path}");
        }
    }

    #[test]
    fn refuses_what_the_spec_calls_malformed() {
        let refused = |req: WireRequest<'_>| RpcV2Cbor.decode(&MULTI, &req).unwrap_err();
        let ok = request("/service/T_20200101/operation/Bare", b"");
        let e = refused(WireRequest {
            method: &Method::GET,
            ..ok
        });
        assert_eq!(
            (e.code.as_str(), e.status),
            ("UnknownOperationException", StatusCode::BAD_REQUEST)
        );
        let e = refused(WireRequest {
            target: Some("T_20200101.Bare"),
            ..ok
        });
        assert!(e.message.contains("X-Amz-Target"), "{}", e.message);
        let e = refused(WireRequest {
            smithy_protocol: None,
            ..ok
        });
        assert!(e.message.contains("smithy-protocol"), "{}", e.message);
        let e = refused(request("/service/Other/operation/Bare", b""));
        assert_eq!(
            e.message,
            "'Other' in the path is not the t service (T_20200101)"
        );
        let e = refused(request("/service/other.T_20200101/operation/Bare", b""));
        assert!(e.message.contains("is not the t service"));
        let e = refused(request("/operation/Bare", b""));
        assert!(e.message.contains("is not /service/"), "{}", e.message);
        let e = refused(request("/service/T_20200101/operation/Later", b""));
        assert!(e.message.contains("does not support the t operation Later"));
        let e = refused(request("/service/T_20200101/operation/Op", b"\xff"));
        assert_eq!(e.code, "SerializationException");
    }

    #[test]
    fn path_names_take_the_last_four_segments() {
        assert_eq!(path_names("/service/S/operation/O"), Some(("S", "O")));
        assert_eq!(path_names("/a/b/service/S/operation/O"), Some(("S", "O")));
        for bad in [
            "/",
            "",
            "service/S/operation/O",
            "/service/S/operation/",
            "/service//operation/O",
            "/services/S/operation/O",
            "/service/S/operations/O",
            "/service/S/operation/O/",
        ] {
            assert_eq!(path_names(bad), None, "{bad}");
        }
    }

    #[test]
    fn answers_carry_the_protocol_header_and_no_body_without_output() {
        let op = MULTI.operation("Op").unwrap();
        let out = RpcV2Cbor.encode_output(&MULTI, op, &json!({"Count": 2}), "rid");
        assert_eq!(out.content_type, Some("application/cbor"));
        assert_eq!(
            out.headers,
            vec![("smithy-protocol", "rpc-v2-cbor".to_string())]
        );
        assert_eq!(
            out.body,
            cbor(&Cbor::Map(vec![(text("Count"), Cbor::Integer(2.into()))]))
        );
        // An empty output structure is an empty map; no output at all is no body.
        let out = RpcV2Cbor.encode_output(&MULTI, op, &Value::Null, "rid");
        assert_eq!(out.body, vec![0xa0]);
        let bare = MULTI.operation("Bare").unwrap();
        let out = RpcV2Cbor.encode_output(&MULTI, bare, &Value::Null, "rid");
        assert_eq!((out.content_type, out.body.len()), (None, 0));
        assert_eq!(
            out.headers,
            vec![("smithy-protocol", "rpc-v2-cbor".to_string())]
        );
    }

    fn error_map(encoded: &Encoded) -> Cbor {
        ciborium::de::from_reader(encoded.body.as_slice()).unwrap()
    }

    #[test]
    fn errors_name_the_absolute_shape_id_and_the_query_code() {
        let e = WireError::from_service(
            &RpcV2Cbor,
            &MULTI,
            &ServiceError::new("NoSuchThingException", "no thing"),
        );
        assert_eq!(
            (e.code.as_str(), e.status),
            ("NoSuchThingException", StatusCode::NOT_FOUND)
        );
        let out = RpcV2Cbor.encode_error(Some(&MULTI), &e, "rid");
        assert_eq!(out.content_type, Some("application/cbor"));
        assert_eq!(
            error_map(&out),
            Cbor::Map(vec![
                (text("__type"), text("com.amazonaws.t#NoSuchThingException")),
                (text("message"), text("no thing")),
            ])
        );
        assert_eq!(
            out.headers,
            vec![
                ("smithy-protocol", "rpc-v2-cbor".to_string()),
                ("x-amzn-query-error", "NoSuchThing;Sender".to_string()),
            ]
        );
        // Before the service is known: the bare code, no query header.
        let unknown = WireError::new("UnknownService", StatusCode::BAD_REQUEST, "m");
        let out = RpcV2Cbor.encode_error(None, &unknown, "rid");
        assert_eq!(
            error_map(&out),
            Cbor::Map(vec![
                (text("__type"), text("UnknownService")),
                (text("message"), text("m"))
            ])
        );
        assert_eq!(out.headers.len(), 1);
        // A service that is not query-compatible sends no query header.
        let out = RpcV2Cbor.encode_error(Some(&QUERY), &e, "rid");
        assert_eq!(out.headers.len(), 1);
    }

    #[test]
    fn failure_codes_are_awsjsons() {
        let info = MULTI.error("NoSuchThingException").unwrap();
        assert_eq!(RpcV2Cbor.error_code(info), "NoSuchThingException");
        assert_eq!(
            RpcV2Cbor.unknown_operation_code(),
            "UnknownOperationException"
        );
        assert_eq!(RpcV2Cbor.wrong_type_code(), Some("SerializationException"));
        assert_eq!(
            RpcV2Cbor.unknown_access_key().code,
            "UnrecognizedClientException"
        );
        assert_eq!(RpcV2Cbor.bad_signature_code(), "InvalidSignatureException");
    }

    #[test]
    fn what_is_answered_decodes_back_to_the_same_value() {
        let op = MULTI.operation("Op").unwrap();
        let value = json!({
            "Names": ["a", "b"],
            "Count": -7,
            "Filters": [{"Name": "n", "Values": ["v1", "v2"]}],
            "On": true,
            "When": 1_704_067_200.125,
            "Attrs": {"k": "v"},
            "Data": "AAEC/w==",
            "Ratio": 0.1,
            "Total": 9_007_199_254_740_993_i64,
        });
        let out = RpcV2Cbor.encode_output(&MULTI, op, &value, "rid");
        let path = "/service/T_20200101/operation/Op";
        let (_, back) = RpcV2Cbor.decode(&MULTI, &request(path, &out.body)).unwrap();
        assert_eq!(back, value);
    }
}
