//! The wire protocols behind one interface, [`WireProtocol`]: awsJson ([`json`]), awsQuery
//! ([`query`]) and ec2 ([`ec2`]) each implement it once; [`for_model`] picks a service's
//! protocol from its model, and nothing else in wharf asks which protocol a service speaks.
//! Each turns request bytes into a JSON value keyed by member names (what the validator and the
//! generated types read) and output values and errors back into bytes, driven only by the
//! generated [`wharf_core::model::ServiceModel`] tables. The two query protocols share the
//! form-parameter decoder ([`form`]) and the XML writer ([`xml`]).

pub mod ec2;
pub mod form;
pub mod json;
pub mod query;
#[cfg(test)]
mod test_model;
pub mod wire;
pub mod xml;

pub use wire::{Decoded, Encoded, WireError, WireProtocol, WireRequest};

use wharf_core::model::{Protocol, ServiceModel};

/// The protocol `model`'s service speaks: the first one it lists that wharf implements.
pub fn for_model(model: &ServiceModel) -> &'static dyn WireProtocol {
    let implemented = |p: &Protocol| -> Option<&'static dyn WireProtocol> {
        match p {
            Protocol::Json => Some(&json::AwsJson),
            Protocol::Query => Some(&query::AwsQuery),
            Protocol::Ec2 => Some(&ec2::Ec2Query),
            Protocol::Cbor => None,
        }
    };
    std::iter::once(&model.protocol)
        .chain(model.protocols)
        .find_map(implemented)
        .unwrap_or(&json::AwsJson)
}

/// The protocol errors are answered in before the service is known: awsJson when the request
/// names an operation with `X-Amz-Target` (only awsJson clients send it), else awsQuery.
pub fn before_routing(has_target: bool) -> &'static dyn WireProtocol {
    if has_target {
        &json::AwsJson
    } else {
        &query::AwsQuery
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_model_gets_its_protocol() {
        assert_eq!(for_model(&test_model::JSON).name(), "json");
        assert_eq!(for_model(&test_model::QUERY).name(), "query");
        assert_eq!(for_model(&test_model::EC2).name(), "ec2");
        assert_eq!(before_routing(true).name(), "json");
        assert_eq!(before_routing(false).name(), "query");
    }
}
