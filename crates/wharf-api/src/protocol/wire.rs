//! The interface every wire protocol implements ([`WireProtocol`]) and the values that cross
//! it: the parts of an HTTP request a protocol reads, an AWS error ready for the wire, an
//! encoded answer. The gateway speaks only this interface, so it never asks which protocol a
//! service uses; what the protocols share (finding the operation, mapping a service error
//! through the model's error table) lives here too.

use http::{Method, StatusCode};
use serde_json::Value;
use wharf_core::model::{ErrorInfo, Operation, ServiceModel};
use wharf_core::ServiceError;

/// What a protocol reads from an HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct WireRequest<'a> {
    /// The HTTP method.
    pub method: &'a Method,
    /// The URL path (Smithy RPC v2 CBOR names the service and operation there).
    pub path: &'a str,
    /// `X-Amz-Target`, when sent (awsJson names the operation there).
    pub target: Option<&'a str>,
    /// `smithy-protocol`, when sent (`rpc-v2-cbor` on every Smithy RPC v2 CBOR request).
    pub smithy_protocol: Option<&'a str>,
    /// The raw URL query, without `?` (query protocols may carry parameters there).
    pub query: &'a str,
    /// The complete body.
    pub body: &'a [u8],
}

impl<'a> WireRequest<'a> {
    /// A `POST /` request with nothing but `body` (fill in the rest with struct update).
    pub fn post(body: &'a [u8]) -> Self {
        Self {
            method: &Method::POST,
            path: "/",
            target: None,
            smithy_protocol: None,
            query: "",
            body,
        }
    }
}

/// The operation a request names and its input as a JSON value keyed by member names (what the
/// validator and the generated types read).
pub type Decoded = (&'static Operation, Value);

/// An answer's body and the headers it goes out with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The `Content-Type` header; `None` for an answer that has no body by definition (Smithy
    /// RPC v2 CBOR's answer to an operation without output).
    pub content_type: Option<&'static str>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// Further headers of the protocol (`smithy-protocol`, `x-amzn-query-error`).
    pub headers: Vec<(&'static str, String)>,
}

impl Encoded {
    /// A body of type `content_type` and no further headers.
    pub fn new(content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            content_type: Some(content_type),
            body,
            headers: Vec::new(),
        }
    }
}

/// An error as awsQuery names it: the spec's `error.code` and whose fault it is. Services that
/// moved from awsQuery to JSON or CBOR (`awsQueryCompatible`) send it beside their own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryError {
    /// The awsQuery code (`error.code`, e.g. CloudWatch's `ResourceNotFound`).
    pub code: &'static str,
    /// The caller's fault (`Sender`) rather than the service's (`Receiver`).
    pub sender_fault: bool,
}

/// The `x-amzn-query-error: <Code>;<Sender|Receiver>` header an `awsQueryCompatible` service
/// adds to a JSON or CBOR error from its error table (botocore then reports `<Code>`, the code
/// the service's awsQuery clients always saw).
pub fn query_error_header(
    model: Option<&ServiceModel>,
    error: &WireError,
) -> Option<(&'static str, String)> {
    let query = error.query?;
    if !model.is_some_and(|m| m.query_compatible) {
        return None;
    }
    let fault = if query.sender_fault {
        "Sender"
    } else {
        "Receiver"
    };
    Some(("x-amzn-query-error", format!("{};{fault}", query.code)))
}

/// An AWS error as it goes on the wire: the protocol's code, the message, the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// The code the client reads (`__type` in awsJson, `<Code>` in XML).
    pub code: String,
    /// The user-facing message.
    pub message: String,
    /// The HTTP status.
    pub status: StatusCode,
    /// The error as awsQuery names it, for an error of the model's error table.
    pub query: Option<QueryError>,
}

impl WireError {
    /// An error with code `code`.
    pub fn new(code: &str, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            status,
            query: None,
        }
    }

    /// A service's error mapped through `model`'s error table: the protocol's code and the
    /// table's status; errors missing from the table keep their shape name and answer 400, or
    /// 500 for the generic internal failures.
    pub fn from_service(
        protocol: &dyn WireProtocol,
        model: &ServiceModel,
        err: &ServiceError,
    ) -> Self {
        match model.error(err.shape) {
            Some(info) => {
                let status = StatusCode::from_u16(info.status).unwrap_or(StatusCode::BAD_REQUEST);
                Self {
                    code: protocol.error_code(info).to_string(),
                    message: err.message.clone(),
                    status,
                    // A 5xx is the service's fault whatever the spec says: botocore's copy of
                    // CloudWatch's InternalServiceFault lacks the `senderFault: false` that
                    // Smithy's `@error("server")` means.
                    query: Some(QueryError {
                        code: info.code,
                        sender_fault: info.sender_fault && !status.is_server_error(),
                    }),
                }
            }
            None => {
                let internal = matches!(
                    err.shape,
                    "InternalFailure" | "InternalError" | "ServerException" | "ServiceFailure"
                );
                Self {
                    code: err.shape.to_string(),
                    message: err.message.clone(),
                    status: if internal {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::BAD_REQUEST
                    },
                    query: None,
                }
            }
        }
    }
}

/// One AWS wire protocol: how a request names its operation and carries its input, how
/// answers and errors are written, and the codes it uses where protocols differ. Implemented
/// once per protocol (awsJson, awsQuery, ec2, Smithy RPC v2 CBOR) and chosen per request among
/// the protocols the service's model lists ([`super::for_request`]).
pub trait WireProtocol: Send + Sync + 'static {
    /// The protocol's name as botocore spells it (`json`, `query`, `ec2`, `smithy-rpc-v2-cbor`),
    /// for logs and tests.
    fn name(&self) -> &'static str;

    /// The operation `request` names and its input, decoded but not yet validated.
    fn decode(
        &self,
        model: &'static ServiceModel,
        request: &WireRequest<'_>,
    ) -> Result<Decoded, WireError>;

    /// A successful answer to `op` carrying `output`.
    fn encode_output(
        &self,
        model: &ServiceModel,
        op: &Operation,
        output: &Value,
        request_id: &str,
    ) -> Encoded;

    /// An error answer. `model` is `None` when the error comes before the service is known.
    fn encode_error(
        &self,
        model: Option<&ServiceModel>,
        error: &WireError,
        request_id: &str,
    ) -> Encoded;

    /// The code an error of the model's table goes on the wire with.
    /// (Default: the spec's `error.code`, as the XML protocols send it.)
    fn error_code(&self, info: &ErrorInfo) -> &'static str {
        info.code
    }

    /// The code for an operation the service does not have, or wharf does not serve.
    /// (Default: the XML protocols' `InvalidAction`.)
    fn unknown_operation_code(&self) -> &'static str {
        "InvalidAction"
    }

    /// The code (status 400) of a body that cannot be read: not JSON / CBOR, a form value that
    /// does not parse, damaged gzip.
    fn malformed_body_code(&self) -> &'static str;

    /// The code (status 400) an input value of the wrong JSON type is answered with; `None`
    /// reports it as the service's validation error, like any other invalid input.
    fn wrong_type_code(&self) -> Option<&'static str> {
        None
    }

    /// The answer to an access key that is not known (or a session token that does not match).
    fn unknown_access_key(&self) -> WireError;

    /// The code of a signature that does not match, or of a request that has expired.
    /// (Default: `SignatureDoesNotMatch`, as the XML protocols answer.)
    fn bad_signature_code(&self) -> &'static str {
        "SignatureDoesNotMatch"
    }
}

/// The implemented operation `name` of `model`, or `protocol`'s unknown-operation error telling
/// an operation wharf does not serve from one AWS does not have.
pub fn find_operation(
    protocol: &dyn WireProtocol,
    model: &'static ServiceModel,
    name: &str,
) -> Result<&'static Operation, WireError> {
    if let Some(op) = model.operation(name) {
        return Ok(op);
    }
    let message = if model.has_operation(name) {
        format!(
            "wharf does not support the {} operation {name}; see docs/services.md for the operations it serves",
            model.endpoint_prefix
        )
    } else {
        format!(
            "{name} is not an operation of the {} API",
            model.endpoint_prefix
        )
    };
    Err(WireError::new(
        protocol.unknown_operation_code(),
        StatusCode::BAD_REQUEST,
        message,
    ))
}
