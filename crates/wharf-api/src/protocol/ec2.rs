//! The ec2 protocol: form parameters in (lists without `.member`, keys from `queryName`), XML
//! out. An answer is `<OpResponse xmlns=...><requestId>…</requestId>` followed by the output's
//! members, with no result wrapper; an error is
//! `<Response><Errors><Error><Code><Message></Error></Errors><RequestID>`.

use super::form::{self, Flavor};
use super::wire::{Decoded, Encoded, WireError, WireProtocol, WireRequest};
use super::xml;
use http::StatusCode;
use serde_json::Value;
use wharf_core::model::{Operation, ServiceModel};

/// The ec2 protocol.
#[derive(Debug, Clone, Copy)]
pub struct Ec2Query;

impl WireProtocol for Ec2Query {
    fn name(&self) -> &'static str {
        "ec2"
    }

    fn decode(
        &self,
        model: &'static ServiceModel,
        request: &WireRequest<'_>,
    ) -> Result<Decoded, WireError> {
        form::decode_request(self, model, request, Flavor::Ec2)
    }

    fn malformed_body_code(&self) -> &'static str {
        "InvalidParameterValue"
    }

    fn encode_output(
        &self,
        model: &ServiceModel,
        op: &Operation,
        output: &Value,
        request_id: &str,
    ) -> Encoded {
        let body = xml::response(model, op, |out| {
            out.push_str("<requestId>");
            xml::escape(request_id, out);
            out.push_str("</requestId>");
            if let Some(shape) = op.output {
                xml::write_members(model, shape, output, out);
            }
        });
        Encoded::new("text/xml;charset=UTF-8", body.into_bytes())
    }

    fn encode_error(
        &self,
        _model: Option<&ServiceModel>,
        error: &WireError,
        request_id: &str,
    ) -> Encoded {
        let mut out = String::with_capacity(256);
        out.push_str("<Response><Errors><Error><Code>");
        xml::escape(&error.code, &mut out);
        out.push_str("</Code><Message>");
        xml::escape(&error.message, &mut out);
        out.push_str("</Message></Error></Errors><RequestID>");
        xml::escape(request_id, &mut out);
        out.push_str("</RequestID></Response>");
        Encoded::new("text/xml", out.into_bytes())
    }

    fn unknown_access_key(&self) -> WireError {
        WireError::new(
            "AuthFailure",
            StatusCode::UNAUTHORIZED,
            "AWS was not able to validate the provided access credentials",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_model::EC2;
    use serde_json::json;

    fn form(body: &'static [u8]) -> WireRequest<'static> {
        WireRequest::post(body)
    }

    fn text(encoded: &Encoded) -> &str {
        std::str::from_utf8(&encoded.body).unwrap()
    }

    #[test]
    fn decodes_flattened_lists_and_capitalised_location_names() {
        let (op, input) = Ec2Query
            .decode(
                &EC2,
                &form(b"Action=Op&Names.1=a&Filter.1.Name=vpc-id&Filter.1.Value.1=v"),
            )
            .unwrap();
        assert_eq!(op.name, "Op");
        assert_eq!(
            input,
            json!({"Names": ["a"], "Filters": [{"Name": "vpc-id", "Values": ["v"]}]})
        );
    }

    #[test]
    fn refuses_a_missing_action_an_unknown_one_and_bad_values() {
        let missing = Ec2Query.decode(&EC2, &form(b"Names.1=a")).unwrap_err();
        assert_eq!(missing.code, "MissingAction");
        let later = Ec2Query.decode(&EC2, &form(b"Action=Later")).unwrap_err();
        assert_eq!(later.code, "InvalidAction");
        let bad = Ec2Query
            .decode(&EC2, &form(b"Action=Op&On=perhaps"))
            .unwrap_err();
        assert_eq!(
            (bad.code.as_str(), bad.status),
            ("InvalidParameterValue", StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn answers_carry_the_request_id_first_and_no_wrapper() {
        let op = EC2.operation("Op").unwrap();
        let out = Ec2Query.encode_output(&EC2, op, &json!({"Filters": [{"Name": "n"}]}), "rid");
        assert_eq!(out.content_type, Some("text/xml;charset=UTF-8"));
        assert_eq!(
            text(&out),
            "<OpResponse xmlns=\"http://ec2.amazonaws.com/doc/2020-01-01/\">\
             <requestId>rid</requestId><Filter><Filter><Name>n</Name></Filter></Filter></OpResponse>"
        );
    }

    #[test]
    fn errors_use_the_spec_code_without_fault_or_namespace() {
        assert_eq!(
            Ec2Query.error_code(EC2.error("NoSuchThingException").unwrap()),
            "NoSuchThing"
        );
        let e = WireError::new("InvalidGroup.NotFound", StatusCode::BAD_REQUEST, "a & b");
        for model in [Some(&EC2), None] {
            let out = Ec2Query.encode_error(model, &e, "rid");
            assert_eq!(out.content_type, Some("text/xml"));
            assert_eq!(
                text(&out),
                "<Response><Errors><Error><Code>InvalidGroup.NotFound</Code>\
                 <Message>a &amp; b</Message></Error></Errors><RequestID>rid</RequestID></Response>"
            );
        }
    }

    #[test]
    fn authentication_codes() {
        let e = Ec2Query.unknown_access_key();
        assert_eq!(
            (e.code.as_str(), e.status),
            ("AuthFailure", StatusCode::UNAUTHORIZED)
        );
        assert_eq!(Ec2Query.bad_signature_code(), "SignatureDoesNotMatch");
        assert_eq!(Ec2Query.wrong_type_code(), None);
    }
}
