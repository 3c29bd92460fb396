//! The AWS wire layer of wharf: SigV4 verification, the awsJson / awsQuery / ec2 / Smithy RPC v2
//! CBOR codecs over the generated service models (a service answers in each protocol its model
//! lists), input validation, and the gateway that routes one HTTP port to
//! every service. It holds no business logic: services are reached through
//! [`wharf_core::ServiceHandler`].

pub mod encoding;
pub mod gateway;
pub mod protocol;
pub mod sigv4;
pub mod validate;

pub use gateway::{CredentialStore, Credentials, Gateway, GatewayConfig};
