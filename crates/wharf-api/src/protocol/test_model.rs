//! A small service model for the protocol unit tests: one structure with a list, an integer, an
//! EC2-style list of structures, a boolean, a timestamp, a map, a blob, a double and a long; an
//! operation with input and output, one with neither; one modelled error. The same shapes under
//! each protocol, and as a service that accepts several (as CloudWatch does).

use wharf_core::model::{ErrorInfo, Kind, Member, Operation, Protocol, ServiceModel, Shape};

/// 0 `In` (the structure), 1 `Names`, 2 `Name`, 3 `Count`, 4 `Filters`, 5 `Filter`, 6 `Values`,
/// 7 `On`, 8 `When`, 9 `Attrs`, 10 `Data`, 11 `Ratio`, 12 `Total`.
pub static SHAPES: &[Shape] = &[
    Shape {
        name: "In",
        kind: Kind::Structure,
        members: &[
            Member {
                name: "Names",
                shape: 1,
                ..Member::EMPTY
            },
            Member {
                name: "Count",
                shape: 3,
                ..Member::EMPTY
            },
            Member {
                name: "Filters",
                shape: 4,
                location_name: Some("Filter"),
                ..Member::EMPTY
            },
            Member {
                name: "On",
                shape: 7,
                ..Member::EMPTY
            },
            Member {
                name: "When",
                shape: 8,
                ..Member::EMPTY
            },
            Member {
                name: "Attrs",
                shape: 9,
                ..Member::EMPTY
            },
            Member {
                name: "Data",
                shape: 10,
                ..Member::EMPTY
            },
            Member {
                name: "Ratio",
                shape: 11,
                ..Member::EMPTY
            },
            Member {
                name: "Total",
                shape: 12,
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
        ..Shape::EMPTY
    },
    Shape {
        name: "Count",
        kind: Kind::Integer,
        ..Shape::EMPTY
    },
    Shape {
        name: "Filters",
        kind: Kind::List,
        target: 5,
        member_name: Some("Filter"),
        ..Shape::EMPTY
    },
    Shape {
        name: "Filter",
        kind: Kind::Structure,
        members: &[
            Member {
                name: "Name",
                shape: 2,
                ..Member::EMPTY
            },
            Member {
                name: "Values",
                shape: 6,
                location_name: Some("Value"),
                ..Member::EMPTY
            },
        ],
        ..Shape::EMPTY
    },
    Shape {
        name: "Values",
        kind: Kind::List,
        target: 2,
        member_name: Some("item"),
        ..Shape::EMPTY
    },
    Shape {
        name: "On",
        kind: Kind::Boolean,
        ..Shape::EMPTY
    },
    Shape {
        name: "When",
        kind: Kind::Timestamp,
        ..Shape::EMPTY
    },
    Shape {
        name: "Attrs",
        kind: Kind::Map,
        key: 2,
        target: 2,
        ..Shape::EMPTY
    },
    Shape {
        name: "Data",
        kind: Kind::Blob,
        ..Shape::EMPTY
    },
    Shape {
        name: "Ratio",
        kind: Kind::Double,
        ..Shape::EMPTY
    },
    Shape {
        name: "Total",
        kind: Kind::Long,
        ..Shape::EMPTY
    },
];

/// `Op` takes and answers shape 0; `Bare` has no input and no output.
pub static OPERATIONS: &[Operation] = &[
    Operation {
        name: "Op",
        input: Some(0),
        output: Some(0),
        result_wrapper: Some("OpResult"),
    },
    Operation {
        name: "Bare",
        input: None,
        output: None,
        result_wrapper: None,
    },
];

/// One error whose query code differs from its shape name.
pub static ERRORS: &[ErrorInfo] = &[ErrorInfo {
    shape: "NoSuchThingException",
    code: "NoSuchThing",
    status: 404,
    sender_fault: true,
}];

pub(crate) const fn model(
    protocol: Protocol,
    target_prefix: &'static str,
    json_version: &'static str,
    xml_namespace: &'static str,
) -> ServiceModel {
    ServiceModel {
        endpoint_prefix: "t",
        signing_name: "t",
        protocol,
        target_prefix,
        smithy_namespace: "com.amazonaws.t",
        json_version,
        protocols: match protocol {
            Protocol::Json => &[Protocol::Json],
            Protocol::Query => &[Protocol::Query],
            Protocol::Ec2 => &[Protocol::Ec2],
            Protocol::Cbor => &[Protocol::Cbor],
        },
        query_compatible: false,
        api_version: "2020-01-01",
        xml_namespace,
        shapes: SHAPES,
        operations: OPERATIONS,
        all_operations: &["Op", "Bare", "Later"],
        errors: ERRORS,
        validation_error: "ValidationError",
    }
}

/// The model as an awsQuery service.
pub static QUERY: ServiceModel = model(
    Protocol::Query,
    "",
    "",
    "http://t.amazonaws.com/doc/2020-01-01/",
);

/// The model as an ec2 service.
pub static EC2: ServiceModel = model(
    Protocol::Ec2,
    "",
    "",
    "http://ec2.amazonaws.com/doc/2020-01-01/",
);

/// The model as an awsJson 1.1 service.
pub static JSON: ServiceModel = model(Protocol::Json, "T_20200101", "1.1", "");

/// The model as an awsJson 1.0 service.
pub static JSON10: ServiceModel = model(Protocol::Json, "T10", "1.0", "");

/// The model as a service that accepts Smithy RPC v2 CBOR, awsJson 1.0 and awsQuery and
/// answers errors query-compatibly, as CloudWatch does.
pub static MULTI: ServiceModel = ServiceModel {
    protocols: &[Protocol::Cbor, Protocol::Json, Protocol::Query],
    query_compatible: true,
    ..model(
        Protocol::Cbor,
        "T_20200101",
        "1.0",
        "http://t.amazonaws.com/doc/2020-01-01/",
    )
};

/// The model as a service that accepts awsJson 1.0 (its primary protocol) and awsQuery.
pub static JSON_AND_QUERY: ServiceModel = ServiceModel {
    protocols: &[Protocol::Json, Protocol::Query],
    ..model(
        Protocol::Json,
        "T_20200101",
        "1.0",
        "http://t.amazonaws.com/doc/2020-01-01/",
    )
};
