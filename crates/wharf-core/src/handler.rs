//! The surface between the API gateway and a service: the gateway decodes the wire into a JSON
//! value shaped by the service model, calls the handler by operation name, and encodes what comes
//! back. Generated code implements [`ServiceHandler`] for every service.

use crate::model::ServiceModel;
use crate::RequestContext;
use std::fmt;

/// An AWS error as a service raises it: the error shape's name (the API layer maps it to the wire
/// code and HTTP status with the generated error table) and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// The error shape name from the spec, e.g. `ClusterNotFoundException`.
    pub shape: &'static str,
    /// What went wrong, naming the bad field or resource.
    pub message: String,
}

impl ServiceError {
    /// An error of shape `shape`.
    pub fn new(shape: &'static str, message: impl Into<String>) -> Self {
        Self {
            shape,
            message: message.into(),
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.shape, self.message)
    }
}

impl std::error::Error for ServiceError {}

/// One AWS service as the gateway sees it.
pub trait ServiceHandler: Send + Sync + 'static {
    /// The generated model: protocol, shapes, operations, errors.
    fn model(&self) -> &'static ServiceModel;

    /// Runs operation `op` (already validated against the model) with its decoded input and
    /// returns its output as JSON keyed by member names. Blocking: the gateway runs it off the
    /// async reactor.
    fn call(
        &self,
        ctx: &RequestContext,
        op: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, ServiceError>;
}

/// Turns a validated input value into the operation's typed input. The validator has already
/// checked every type, so a failure here names what still does not fit.
pub fn decode_input<T: serde::de::DeserializeOwned>(
    input: serde_json::Value,
    validation_error: &'static str,
) -> Result<T, ServiceError> {
    serde_json::from_value(input).map_err(|e| ServiceError::new(validation_error, e.to_string()))
}

/// Turns an operation's typed output into the value the codecs encode.
pub fn encode_output<T: serde::Serialize>(output: T) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(output)
        .map_err(|e| ServiceError::new("InternalFailure", format!("cannot encode the answer: {e}")))
}
