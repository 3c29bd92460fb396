//! The service model as static tables: the part of botocore's `service-2.json` that the wire
//! codecs and validators need. `codegen/generate.py` writes one [`ServiceModel`] per service
//! (in the service's `generated.rs`); the codecs in `wharf-api` walk these tables, so no service
//! is parsed by hand.

/// Index of a shape in [`ServiceModel::shapes`].
pub type ShapeId = u16;

/// The wire protocol a service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson 1.0 / 1.1: `POST /` with `X-Amz-Target`.
    Json,
    /// awsQuery: form-encoded `Action=...`, XML answers wrapped in `<OpResult>`.
    Query,
    /// The EC2 flavour of query: flattened lists, `<item>`, no result wrapper.
    Ec2,
    /// Smithy RPC v2 CBOR: `POST /service/<name>/operation/<Operation>` with
    /// `smithy-protocol: rpc-v2-cbor`, CBOR bodies.
    Cbor,
}

/// The kind of a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A structure with named members.
    Structure,
    /// A list of `target`.
    List,
    /// A map from `key` to `target`.
    Map,
    /// A string (possibly an enum).
    String,
    /// A 32-bit integer.
    Integer,
    /// A 64-bit integer.
    Long,
    /// true / false.
    Boolean,
    /// A 64-bit float.
    Double,
    /// A 32-bit float.
    Float,
    /// An instant.
    Timestamp,
    /// Binary data.
    Blob,
    /// An untyped JSON document.
    Document,
}

/// One shape of the model.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// The shape name in the spec.
    pub name: &'static str,
    /// What kind of value it is.
    pub kind: Kind,
    /// Structure members.
    pub members: &'static [Member],
    /// List element or map value shape.
    pub target: ShapeId,
    /// Map key shape.
    pub key: ShapeId,
    /// XML name of a list element (`member` by default, EC2 uses `item`).
    pub member_name: Option<&'static str>,
    /// XML names of a map entry's key and value.
    pub key_name: Option<&'static str>,
    /// See `key_name`.
    pub value_name: Option<&'static str>,
    /// A flattened list or map has no wrapper element.
    pub flattened: bool,
    /// `min` constraint: length for strings, lists, maps and blobs; value for numbers.
    pub min: Option<f64>,
    /// `max` constraint, as `min`.
    pub max: Option<f64>,
    /// Regular expression a string must match.
    pub pattern: Option<&'static str>,
    /// Allowed values of an enum string; empty when any string goes.
    pub enum_values: &'static [&'static str],
    /// botocore's `sensitive` (secret values, passwords): never shown in error messages.
    pub sensitive: bool,
}

impl Shape {
    /// A shape with nothing set, for struct-update syntax in generated code.
    pub const EMPTY: Shape = Shape {
        name: "",
        kind: Kind::String,
        members: &[],
        target: 0,
        key: 0,
        member_name: None,
        key_name: None,
        value_name: None,
        flattened: false,
        min: None,
        max: None,
        pattern: None,
        enum_values: &[],
        sensitive: false,
    };
}

/// A member of a structure.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    /// The member name: the JSON key, and the key in decoded values.
    pub name: &'static str,
    /// Its shape.
    pub shape: ShapeId,
    /// The input must carry it.
    pub required: bool,
    /// `locationName`: the XML element / query key when it differs from `name`.
    pub location_name: Option<&'static str>,
    /// `queryName`: the EC2 query key when given.
    pub query_name: Option<&'static str>,
    /// Member-level `flattened` (query protocol).
    pub flattened: bool,
}

impl Member {
    /// A member with nothing set, for struct-update syntax in generated code.
    pub const EMPTY: Member = Member {
        name: "",
        shape: 0,
        required: false,
        location_name: None,
        query_name: None,
        flattened: false,
    };
}

/// An operation wharf implements.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// The operation name, e.g. `CreateCluster`.
    pub name: &'static str,
    /// Its input structure.
    pub input: Option<ShapeId>,
    /// Its output structure.
    pub output: Option<ShapeId>,
    /// awsQuery's `<OpResult>` wrapper element.
    pub result_wrapper: Option<&'static str>,
}

/// An error the service can answer with.
#[derive(Debug, Clone, Copy)]
pub struct ErrorInfo {
    /// The error shape name (what services raise; the awsJson `__type`).
    pub shape: &'static str,
    /// The query-protocol wire code (`error.code`, else the shape name).
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The client's fault (`Sender`) rather than the server's (`Receiver`).
    pub sender_fault: bool,
}

/// Everything the gateway needs to speak one service's protocol.
#[derive(Debug)]
pub struct ServiceModel {
    /// The endpoint prefix, e.g. `ecs`, `elasticloadbalancing`.
    pub endpoint_prefix: &'static str,
    /// The SigV4 signing name: the service in the credential scope.
    pub signing_name: &'static str,
    /// The model's primary wire protocol (botocore's `protocol`).
    pub protocol: Protocol,
    /// Every protocol the model lists (botocore's `protocols`, in the model's order; just
    /// `protocol` for models without the list). A client may use any of them.
    pub protocols: &'static [Protocol],
    /// `awsQueryCompatible`: a JSON or CBOR error also carries the query protocol's code
    /// (`x-amzn-query-error: <Code>;<Sender|Receiver>`), which clients prefer.
    pub query_compatible: bool,
    /// awsJson's `X-Amz-Target` prefix; also the service's shape name, which Smithy RPC v2
    /// CBOR requests carry in their path (`/service/<name>/operation/<Operation>`).
    pub target_prefix: &'static str,
    /// The Smithy namespace of the service's shapes (`com.amazonaws.cloudwatch`): Smithy RPC v2
    /// CBOR names an error by its absolute shape id, `<namespace>#<ErrorShape>`.
    pub smithy_namespace: &'static str,
    /// awsJson version (`1.0` / `1.1`).
    pub json_version: &'static str,
    /// The API version (`Version=` for query protocols).
    pub api_version: &'static str,
    /// The XML namespace of query answers.
    pub xml_namespace: &'static str,
    /// Every shape reachable from the implemented operations.
    pub shapes: &'static [Shape],
    /// The operations wharf implements.
    pub operations: &'static [Operation],
    /// Every operation the service has in AWS, to tell "not implemented" from "no such".
    pub all_operations: &'static [&'static str],
    /// The error table.
    pub errors: &'static [ErrorInfo],
    /// The error shape this service answers input validation failures with.
    pub validation_error: &'static str,
}

impl ServiceModel {
    /// The shape with id `id`.
    pub fn shape(&self, id: ShapeId) -> &'static Shape {
        &self.shapes[usize::from(id)]
    }

    /// The implemented operation `name`.
    pub fn operation(&self, name: &str) -> Option<&'static Operation> {
        self.operations.iter().find(|op| op.name == name)
    }

    /// Whether AWS has an operation `name` in this service (implemented or not).
    pub fn has_operation(&self, name: &str) -> bool {
        self.all_operations.contains(&name)
    }

    /// The error table entry of `shape`.
    pub fn error(&self, shape: &str) -> Option<&'static ErrorInfo> {
        self.errors.iter().find(|e| e.shape == shape)
    }
}
