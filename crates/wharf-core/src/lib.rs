//! Shared vocabulary of wharf: the things every AWS service emulation needs and that carry no
//! protocol or storage concern — timestamps and blobs as AWS types, an injectable clock and id
//! generator, ARNs, pagination tokens, the per-request context, the service-model tables that
//! the generated code fills in, and the handler trait the API gateway dispatches through.

pub mod arn;
pub mod certificate_users;
pub mod clock;
pub mod context;
pub mod handler;
pub mod ids;
pub mod image_resolver;
pub mod ipv4;
pub mod lb_plane;
pub mod log_sink;
pub mod metrics;
pub mod model;
pub mod network_interfaces;
pub mod packet_filter;
pub mod pagination;
pub mod resource_policy;
pub mod role_sessions;
pub mod scaling;
pub mod sealing;
pub mod secret_values;
pub mod subnet_network;
pub mod tags;
pub mod target_registry;
pub mod text;
pub mod types;

pub use arn::Arn;
pub use certificate_users::{CertificateUsers, NoCertificateUsers};
pub use clock::{Clock, FakeClock, SystemClock};
pub use context::RequestContext;
pub use handler::{ServiceError, ServiceHandler};
pub use ids::IdGen;
pub use image_resolver::{ImageResolver, ResolvedImage};
pub use log_sink::{LogDestination, LogLine, LogSink, LogSinkError};
pub use metrics::{MetricDatum, MetricSink, MetricTime, NoMetrics, StatisticValues};
pub use network_interfaces::{
    NetworkInterfaces, NewNetworkInterface, PlacementSubnet, RecordedInterface, VpcInfo,
};
pub use role_sessions::{RoleCredentials, RoleSessions};
pub use scaling::{
    AlarmActionHandler, AlarmInvocation, AlarmMetric, AlarmRegistry, ManagedAlarm, ServiceCapacity,
    ServiceSize,
};
pub use sealing::{Sealer, SealingError};
pub use secret_values::{NoSecretValues, SecretValueError, SecretValues};
pub use subnet_network::{StartNeeds, StartService, SubnetNetwork};
pub use target_registry::{RegisteredTarget, TargetGroupInfo, TargetRegistry, TargetState};
pub use types::{Blob, Timestamp};
