//! awsQuery (IAM, STS, ELBv2): form parameters in, XML out. An answer is
//! `<OpResponse xmlns=...><OpResult>…</OpResult><ResponseMetadata><RequestId>…` (the CLI needs
//! the `<OpResult>` wrapper); an error is `<ErrorResponse><Error><Type><Code><Message>` whose
//! code is the spec's `error.code`, not the shape name.

use super::form::{self, Flavor};
use super::wire::{Decoded, Encoded, WireError, WireProtocol, WireRequest};
use super::xml;
use http::StatusCode;
use serde_json::Value;
use wharf_core::model::{Operation, ServiceModel};

/// The awsQuery protocol.
#[derive(Debug, Clone, Copy)]
pub struct AwsQuery;

impl WireProtocol for AwsQuery {
    fn name(&self) -> &'static str {
        "query"
    }

    fn decode(
        &self,
        model: &'static ServiceModel,
        request: &WireRequest<'_>,
    ) -> Result<Decoded, WireError> {
        form::decode_request(self, model, request, Flavor::Query)
    }

    fn malformed_body_code(&self) -> &'static str {
        "MalformedQueryString"
    }

    fn encode_output(
        &self,
        model: &ServiceModel,
        op: &Operation,
        output: &Value,
        request_id: &str,
    ) -> Encoded {
        let body = xml::response(model, op, |out| {
            if let Some(shape) = op.output {
                let wrapper = op
                    .result_wrapper
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{}Result", op.name));
                out.push('<');
                out.push_str(&wrapper);
                out.push('>');
                xml::write_members(model, shape, output, out);
                out.push_str("</");
                out.push_str(&wrapper);
                out.push('>');
            }
            out.push_str("<ResponseMetadata><RequestId>");
            xml::escape(request_id, out);
            out.push_str("</RequestId></ResponseMetadata>");
        });
        Encoded::new("text/xml", body.into_bytes())
    }

    fn encode_error(
        &self,
        model: Option<&ServiceModel>,
        error: &WireError,
        request_id: &str,
    ) -> Encoded {
        let namespace = model.map_or("", |m| m.xml_namespace);
        let sender_fault = !error.status.is_server_error();
        let mut out = String::with_capacity(256);
        out.push_str("<ErrorResponse xmlns=\"");
        xml::escape(namespace, &mut out);
        out.push_str("\"><Error><Type>");
        out.push_str(if sender_fault { "Sender" } else { "Receiver" });
        out.push_str("</Type><Code>");
        xml::escape(&error.code, &mut out);
        out.push_str("</Code><Message>");
        xml::escape(&error.message, &mut out);
        out.push_str("</Message></Error><RequestId>");
        xml::escape(request_id, &mut out);
        out.push_str("</RequestId></ErrorResponse>");
        Encoded::new("text/xml", out.into_bytes())
    }

    fn unknown_access_key(&self) -> WireError {
        WireError::new(
            "InvalidClientTokenId",
            StatusCode::FORBIDDEN,
            "The security token included in the request is invalid.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_model::QUERY;
    use serde_json::json;

    fn form(query: &'static str, body: &'static [u8]) -> WireRequest<'static> {
        WireRequest {
            query,
            ..WireRequest::post(body)
        }
    }

    fn text(encoded: &Encoded) -> &str {
        std::str::from_utf8(&encoded.body).unwrap()
    }

    #[test]
    fn decodes_the_action_and_its_input_from_url_and_body() {
        let (op, input) = AwsQuery
            .decode(&QUERY, &form("Action=Op", b"Names.member.1=a&Count=2"))
            .unwrap();
        assert_eq!(op.name, "Op");
        assert_eq!(input, json!({"Names": ["a"], "Count": 2}));
        let (op, input) = AwsQuery
            .decode(&QUERY, &form("", b"Action=Bare&Count=x"))
            .unwrap();
        assert_eq!((op.name, input), ("Bare", json!({})));
    }

    #[test]
    fn refuses_a_missing_action_an_unknown_one_and_bad_values() {
        let missing = AwsQuery.decode(&QUERY, &form("", b"Count=1")).unwrap_err();
        assert_eq!(
            (missing.code.as_str(), missing.status),
            ("MissingAction", StatusCode::BAD_REQUEST)
        );
        let later = AwsQuery
            .decode(&QUERY, &form("", b"Action=Later"))
            .unwrap_err();
        assert_eq!(later.code, "InvalidAction");
        assert!(later
            .message
            .contains("does not support the t operation Later"));
        let nope = AwsQuery
            .decode(&QUERY, &form("", b"Action=Nope"))
            .unwrap_err();
        assert_eq!(nope.message, "Nope is not an operation of the t API");
        let bad = AwsQuery
            .decode(&QUERY, &form("", b"Action=Op&Count=many"))
            .unwrap_err();
        assert_eq!(bad.code, "MalformedQueryString");
    }

    #[test]
    fn answers_inside_the_result_wrapper_with_the_request_id() {
        let op = QUERY.operation("Op").unwrap();
        let out =
            AwsQuery.encode_output(&QUERY, op, &json!({"Names": ["a&b"], "On": false}), "rid");
        assert_eq!(out.content_type, Some("text/xml"));
        assert_eq!(
            text(&out),
            "<OpResponse xmlns=\"http://t.amazonaws.com/doc/2020-01-01/\"><OpResult>\
             <Names><member>a&amp;b</member></Names><On>false</On></OpResult>\
             <ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></OpResponse>"
        );
        let bare = QUERY.operation("Bare").unwrap();
        assert_eq!(
            text(&AwsQuery.encode_output(&QUERY, bare, &Value::Null, "rid")),
            "<BareResponse xmlns=\"http://t.amazonaws.com/doc/2020-01-01/\">\
             <ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></BareResponse>"
        );
    }

    #[test]
    fn errors_say_whose_fault_and_use_the_spec_code() {
        let info = QUERY.error("NoSuchThingException").unwrap();
        assert_eq!(AwsQuery.error_code(info), "NoSuchThing");
        let e = WireError::new("NoSuchThing", StatusCode::NOT_FOUND, "a <b>");
        let sender = AwsQuery.encode_error(Some(&QUERY), &e, "rid");
        assert_eq!(sender.content_type, Some("text/xml"));
        assert_eq!(
            text(&sender),
            "<ErrorResponse xmlns=\"http://t.amazonaws.com/doc/2020-01-01/\"><Error>\
             <Type>Sender</Type><Code>NoSuchThing</Code><Message>a &lt;b&gt;</Message></Error>\
             <RequestId>rid</RequestId></ErrorResponse>"
        );
        let e = WireError::new("InternalFailure", StatusCode::INTERNAL_SERVER_ERROR, "m");
        let receiver = AwsQuery.encode_error(None, &e, "rid");
        assert!(
            text(&receiver).starts_with("<ErrorResponse xmlns=\"\"><Error><Type>Receiver</Type>")
        );
    }

    #[test]
    fn authentication_codes() {
        assert_eq!(AwsQuery.unknown_access_key().code, "InvalidClientTokenId");
        assert_eq!(AwsQuery.unknown_access_key().status, StatusCode::FORBIDDEN);
        assert_eq!(AwsQuery.bad_signature_code(), "SignatureDoesNotMatch");
        assert_eq!(AwsQuery.wrong_type_code(), None);
    }
}
