//! The wire protocols behind one interface, [`WireProtocol`]: awsJson ([`json`]), awsQuery
//! ([`query`]), ec2 ([`ec2`]) and Smithy RPC v2 CBOR ([`cbor`]) each implement it once. A
//! service's model lists the protocols it accepts (CloudWatch: rpc-v2-cbor, json and query);
//! [`for_request`] picks, among those, the one the request is written in, and nothing else in
//! wharf asks which protocol a service speaks. Each turns request bytes into a JSON value keyed
//! by member names (what the validator and the generated types read) and output values and
//! errors back into bytes, driven only by the generated [`wharf_core::model::ServiceModel`]
//! tables. The two query protocols share the form-parameter decoder ([`form`]) and the XML
//! writer ([`xml`]).

pub mod cbor;
pub mod ec2;
pub mod form;
pub mod json;
pub mod query;
#[cfg(test)]
pub(crate) mod test_model;
pub mod wire;
pub mod xml;

pub use wire::{Decoded, Encoded, QueryError, WireError, WireProtocol, WireRequest};

use wharf_core::model::{Protocol, ServiceModel};

/// wharf's implementation of `protocol`.
fn implementation(protocol: Protocol) -> &'static dyn WireProtocol {
    match protocol {
        Protocol::Json => &json::AwsJson,
        Protocol::Query => &query::AwsQuery,
        Protocol::Ec2 => &ec2::Ec2Query,
        Protocol::Cbor => &cbor::RpcV2Cbor,
    }
}

/// The protocol `model`'s service is known by: its primary one (botocore's `protocol`).
pub fn for_model(model: &ServiceModel) -> &'static dyn WireProtocol {
    implementation(model.protocol)
}

/// The protocol a request to `model`'s service is written in, among those the model lists:
/// Smithy RPC v2 CBOR when it says so (`smithy-protocol` header, or its
/// `/service/<name>/operation/<op>` path), awsJson when it names its operation in
/// `X-Amz-Target`, else the query protocol (form parameters with `Action=`). A request that
/// fits none of the listed protocols is answered in the primary one; a service that lists one
/// protocol always speaks it.
pub fn for_request(model: &ServiceModel, request: &WireRequest<'_>) -> &'static dyn WireProtocol {
    if model.protocols.len() <= 1 {
        return for_model(model);
    }
    let wanted = written_in(request);
    match model.protocols.iter().find(|p| **p == wanted) {
        Some(p) => implementation(*p),
        None => for_model(model),
    }
}

/// The protocol a request's shape says it is written in, whatever the service.
fn written_in(request: &WireRequest<'_>) -> Protocol {
    if request
        .smithy_protocol
        .is_some_and(|p| p.trim().eq_ignore_ascii_case(cbor::SMITHY_PROTOCOL))
        || cbor::path_names(request.path).is_some()
    {
        Protocol::Cbor
    } else if request.target.is_some() {
        Protocol::Json
    } else {
        Protocol::Query
    }
}

/// The protocol errors are answered in before the service is known: Smithy RPC v2 CBOR when
/// the request says `smithy-protocol: rpc-v2-cbor`, awsJson when it names an operation with
/// `X-Amz-Target`, else awsQuery.
pub fn before_routing(
    target: Option<&str>,
    smithy_protocol: Option<&str>,
) -> &'static dyn WireProtocol {
    if smithy_protocol.is_some_and(|p| p.trim().eq_ignore_ascii_case(cbor::SMITHY_PROTOCOL)) {
        &cbor::RpcV2Cbor
    } else if target.is_some() {
        &json::AwsJson
    } else {
        &query::AwsQuery
    }
}

/// The service a request names in itself, for requests whose credential scope does not say:
/// the `X-Amz-Target` prefix (awsJson) or the service in a Smithy RPC v2 CBOR path. Both are
/// the model's `target_prefix`.
pub fn service_named_by<'a>(request: &WireRequest<'a>) -> Option<&'a str> {
    if let Some(target) = request.target {
        return target.split('.').next();
    }
    cbor::path_names(request.path).map(|(service, _)| service)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn each_model_gets_its_protocol() {
        assert_eq!(for_model(&test_model::JSON).name(), "json");
        assert_eq!(for_model(&test_model::QUERY).name(), "query");
        assert_eq!(for_model(&test_model::EC2).name(), "ec2");
        assert_eq!(for_model(&test_model::MULTI).name(), "smithy-rpc-v2-cbor");
        assert_eq!(before_routing(Some("T.Op"), None).name(), "json");
        assert_eq!(before_routing(None, None).name(), "query");
        assert_eq!(
            before_routing(Some("T.Op"), Some("rpc-v2-cbor")).name(),
            "smithy-rpc-v2-cbor"
        );
    }

    fn cbor_request() -> WireRequest<'static> {
        WireRequest {
            path: "/service/T_20200101/operation/Op",
            smithy_protocol: Some("rpc-v2-cbor"),
            ..WireRequest::post(b"")
        }
    }

    #[test]
    fn a_multi_protocol_service_answers_in_the_request_protocol() {
        let m = &test_model::MULTI;
        assert_eq!(for_request(m, &cbor_request()).name(), "smithy-rpc-v2-cbor");
        let no_header = WireRequest {
            smithy_protocol: None,
            ..cbor_request()
        };
        assert_eq!(for_request(m, &no_header).name(), "smithy-rpc-v2-cbor");
        let json = WireRequest {
            target: Some("T_20200101.Op"),
            ..WireRequest::post(b"{}")
        };
        assert_eq!(for_request(m, &json).name(), "json");
        let form = WireRequest::post(b"Action=Op&Version=2020-01-01");
        assert_eq!(for_request(m, &form).name(), "query");
        let in_url = WireRequest {
            method: &Method::GET,
            query: "Action=Op",
            ..WireRequest::post(b"")
        };
        assert_eq!(for_request(m, &in_url).name(), "query");
    }

    #[test]
    fn a_single_protocol_service_always_speaks_its_own() {
        let cbor = cbor_request();
        assert_eq!(for_request(&test_model::JSON, &cbor).name(), "json");
        assert_eq!(for_request(&test_model::QUERY, &cbor).name(), "query");
        let json = WireRequest {
            target: Some("T.Op"),
            ..WireRequest::post(b"{}")
        };
        assert_eq!(for_request(&test_model::QUERY, &json).name(), "query");
        assert_eq!(for_request(&test_model::EC2, &json).name(), "ec2");
    }

    #[test]
    fn a_request_in_an_unlisted_protocol_gets_the_primary_one() {
        let json_and_query = &test_model::JSON_AND_QUERY;
        assert_eq!(for_request(json_and_query, &cbor_request()).name(), "json");
        let form = WireRequest::post(b"Action=Op");
        assert_eq!(for_request(json_and_query, &form).name(), "query");
    }

    #[test]
    fn requests_name_their_service_by_target_or_cbor_path() {
        let json = WireRequest {
            target: Some("T_20200101.Op"),
            ..WireRequest::post(b"{}")
        };
        assert_eq!(service_named_by(&json), Some("T_20200101"));
        assert_eq!(service_named_by(&cbor_request()), Some("T_20200101"));
        assert_eq!(service_named_by(&WireRequest::post(b"Action=Op")), None);
    }
}
