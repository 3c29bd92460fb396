//! awsJson 1.0 / 1.1 (ECS, ECR, Logs, Secrets Manager, SSM, ACM, CloudWatch): `POST /` with
//! `X-Amz-Target: <prefix>.<Operation>`; the body is the input structure as JSON, the answer the
//! output structure, and an error is `{"__type": "<ShapeName>", "message": "..."}` with a
//! 4xx/5xx status. A service that moved from awsQuery (`awsQueryCompatible`, CloudWatch) also
//! sends the error's awsQuery code, `x-amzn-query-error: <Code>;<Sender|Receiver>`: botocore
//! reports that code (`ResourceNotFound`, not the shape name `ResourceNotFoundException`...),
//! keeping the shape name read from `__type` as `QueryErrorCode`.

use super::wire::{
    find_operation, query_error_header, Decoded, Encoded, WireError, WireProtocol, WireRequest,
};
use http::{Method, StatusCode};
use serde_json::Value;
use wharf_core::model::{ErrorInfo, Operation, ServiceModel};

/// The version errors are answered in before the service (and so its version) is known.
const VERSION_BEFORE_ROUTING: &str = "1.1";

/// The awsJson protocol, 1.0 and 1.1 (they differ only in the content type).
#[derive(Debug, Clone, Copy)]
pub struct AwsJson;

impl WireProtocol for AwsJson {
    fn name(&self) -> &'static str {
        "json"
    }

    fn decode(
        &self,
        model: &'static ServiceModel,
        request: &WireRequest<'_>,
    ) -> Result<Decoded, WireError> {
        if *request.method != Method::POST {
            return Err(WireError::new(
                self.unknown_operation_code(),
                StatusCode::BAD_REQUEST,
                format!(
                    "{} API requests must be POST with X-Amz-Target",
                    model.endpoint_prefix
                ),
            ));
        }
        let target = request.target.unwrap_or("");
        let (prefix, op_name) = target.split_once('.').unwrap_or(("", target));
        if prefix != model.target_prefix {
            return Err(WireError::new(
                self.unknown_operation_code(),
                StatusCode::BAD_REQUEST,
                format!(
                    "X-Amz-Target '{target}' does not name a {} operation",
                    model.endpoint_prefix
                ),
            ));
        }
        let op = find_operation(self, model, op_name)?;
        let input = decode(request.body)
            .map_err(|m| WireError::new(self.malformed_body_code(), StatusCode::BAD_REQUEST, m))?;
        Ok((op, input))
    }

    fn encode_output(
        &self,
        model: &ServiceModel,
        _op: &Operation,
        output: &Value,
        _request_id: &str,
    ) -> Encoded {
        Encoded::new(content_type(model.json_version), encode_output(output))
    }

    fn encode_error(
        &self,
        model: Option<&ServiceModel>,
        error: &WireError,
        _request_id: &str,
    ) -> Encoded {
        let mut encoded = Encoded::new(
            content_type(model.map_or(VERSION_BEFORE_ROUTING, |m| m.json_version)),
            encode_error(&error.code, &error.message),
        );
        encoded.headers.extend(query_error_header(model, error));
        encoded
    }

    fn error_code(&self, info: &ErrorInfo) -> &'static str {
        info.shape
    }

    fn unknown_operation_code(&self) -> &'static str {
        "UnknownOperationException"
    }

    fn malformed_body_code(&self) -> &'static str {
        "SerializationException"
    }

    fn wrong_type_code(&self) -> Option<&'static str> {
        Some(self.malformed_body_code())
    }

    fn unknown_access_key(&self) -> WireError {
        WireError::new(
            "UnrecognizedClientException",
            StatusCode::FORBIDDEN,
            "The security token included in the request is invalid.",
        )
    }

    fn bad_signature_code(&self) -> &'static str {
        "InvalidSignatureException"
    }
}

/// Decodes a request body; an empty body is the empty structure.
fn decode(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("the request body must be a JSON object".into()),
        Err(e) => Err(format!("the request body is not valid JSON: {e}")),
    }
}

/// The content type of answers for awsJson `version` (`1.0` or `1.1`).
fn content_type(version: &str) -> &'static str {
    if version == "1.0" {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    }
}

/// Encodes an output value.
fn encode_output(value: &Value) -> Vec<u8> {
    match value {
        Value::Null => b"{}".to_vec(),
        v => serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

/// Encodes an error body.
fn encode_error(shape: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "__type": shape, "message": message }))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_model::{JSON, JSON10, MULTI};
    use serde_json::json;
    use wharf_core::ServiceError;

    fn post(target: &'static str, body: &'static [u8]) -> WireRequest<'static> {
        WireRequest {
            target: Some(target),
            ..WireRequest::post(body)
        }
    }

    #[test]
    fn decodes_the_target_operation_and_its_body() {
        let (op, input) = AwsJson
            .decode(&JSON, &post("T_20200101.Op", br#"{"Count":1}"#))
            .unwrap();
        assert_eq!((op.name, input), ("Op", json!({"Count": 1})));
        let (op, input) = AwsJson
            .decode(&JSON, &post("T_20200101.Bare", b""))
            .unwrap();
        assert_eq!((op.name, input), ("Bare", json!({})));
    }

    #[test]
    fn refuses_other_methods_targets_operations_and_bodies() {
        let get = WireRequest {
            method: &Method::GET,
            ..post("T_20200101.Op", b"{}")
        };
        let e = AwsJson.decode(&JSON, &get).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (
                "UnknownOperationException",
                "t API requests must be POST with X-Amz-Target"
            )
        );
        let e = AwsJson.decode(&JSON, &post("Other.Op", b"{}")).unwrap_err();
        assert_eq!(
            e.message,
            "X-Amz-Target 'Other.Op' does not name a t operation"
        );
        let e = AwsJson
            .decode(&JSON, &post("T_20200101.Later", b"{}"))
            .unwrap_err();
        assert_eq!(e.code, "UnknownOperationException");
        let e = AwsJson
            .decode(&JSON, &post("T_20200101.Op", b"[]"))
            .unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.status),
            ("SerializationException", StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn content_type_follows_the_version() {
        let op = JSON.operation("Op").unwrap();
        let out = AwsJson.encode_output(&JSON, op, &Value::Null, "rid");
        assert_eq!(
            (out.content_type, out.body.as_slice()),
            (Some("application/x-amz-json-1.1"), &b"{}"[..])
        );
        let out = AwsJson.encode_output(&JSON10, op, &json!({"Count": 2}), "rid");
        assert_eq!(
            (out.content_type, out.body.as_slice()),
            (Some("application/x-amz-json-1.0"), &br#"{"Count":2}"#[..])
        );
        let e = WireError::new("X", StatusCode::BAD_REQUEST, "m");
        assert_eq!(
            AwsJson.encode_error(Some(&JSON10), &e, "rid").content_type,
            Some("application/x-amz-json-1.0")
        );
        assert_eq!(
            AwsJson.encode_error(None, &e, "rid").content_type,
            Some("application/x-amz-json-1.1")
        );
    }

    #[test]
    fn codes_are_shape_names() {
        let info = JSON.error("NoSuchThingException").unwrap();
        assert_eq!(AwsJson.error_code(info), "NoSuchThingException");
        assert_eq!(AwsJson.wrong_type_code(), Some("SerializationException"));
        assert_eq!(
            AwsJson.unknown_access_key().code,
            "UnrecognizedClientException"
        );
        assert_eq!(AwsJson.bad_signature_code(), "InvalidSignatureException");
    }

    #[test]
    fn query_compatible_errors_carry_the_query_code_and_fault() {
        let err = |shape: &'static str| {
            WireError::from_service(&AwsJson, &MULTI, &ServiceError::new(shape, "m"))
        };
        let not_found = AwsJson.encode_error(Some(&MULTI), &err("NoSuchThingException"), "rid");
        assert_eq!(
            not_found.headers,
            vec![("x-amzn-query-error", "NoSuchThing;Sender".to_string())]
        );
        let body: Value = serde_json::from_slice(&not_found.body).unwrap();
        assert_eq!(
            body,
            json!({"__type": "NoSuchThingException", "message": "m"})
        );
        // Errors outside the table (no awsQuery code) and services that are not
        // query-compatible send no header.
        let internal = AwsJson.encode_error(Some(&MULTI), &err("InternalFailure"), "rid");
        assert!(internal.headers.is_empty());
        let plain = WireError::from_service(
            &AwsJson,
            &JSON,
            &ServiceError::new("NoSuchThingException", "m"),
        );
        assert!(AwsJson
            .encode_error(Some(&JSON), &plain, "rid")
            .headers
            .is_empty());
    }

    #[test]
    fn a_server_fault_is_the_receivers_whatever_the_spec_says() {
        static ERRORS: &[ErrorInfo] = &[ErrorInfo {
            shape: "InternalServiceFault",
            code: "InternalServiceError",
            status: 500,
            sender_fault: true,
        }];
        static MODEL: ServiceModel = ServiceModel {
            errors: ERRORS,
            ..crate::protocol::test_model::model(wharf_core::model::Protocol::Json, "T", "1.0", "")
        };
        let model = ServiceModel {
            query_compatible: true,
            ..MODEL
        };
        let e = WireError::from_service(
            &AwsJson,
            &model,
            &ServiceError::new("InternalServiceFault", "m"),
        );
        assert_eq!(
            AwsJson.encode_error(Some(&model), &e, "rid").headers,
            vec![(
                "x-amzn-query-error",
                "InternalServiceError;Receiver".to_string()
            )]
        );
    }

    #[test]
    fn decodes_objects_and_refuses_the_rest() {
        assert_eq!(decode(b"").unwrap(), serde_json::json!({}));
        assert_eq!(decode(b" {\"a\":1}").unwrap(), serde_json::json!({"a": 1}));
        assert!(decode(b"{\"a\":").unwrap_err().contains("not valid JSON"));
        assert!(decode(b"[1]").unwrap_err().contains("JSON object"));
    }

    #[test]
    fn errors_carry_the_shape_name() {
        let body = encode_error("ClusterNotFoundException", "Cluster not found.");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["__type"], "ClusterNotFoundException");
        assert_eq!(v["message"], "Cluster not found.");
    }
}
