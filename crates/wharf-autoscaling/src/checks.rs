//! The checks and lookups the operations share: which scalable targets wharf serves (ECS
//! services' `ecs:service:DesiredCount`, resource id `service/<cluster>/<service>`), finding a
//! registered target (or answering AWS's `ObjectNotFoundException`), and whether the ECS service
//! behind a resource id exists.

use crate::generated::Error;
use crate::records::{children_prefix, scope_prefix, target_key, TargetRecord, TARGETS};
use crate::AutoScaling;
use wharf_core::{RequestContext, ServiceSize};
use wharf_store::Tx;

/// The only service namespace wharf serves.
pub const ECS_NAMESPACE: &str = "ecs";
/// The only scalable dimension wharf serves.
pub const DESIRED_COUNT: &str = "ecs:service:DesiredCount";

/// An ECS service named by a resource id `service/<cluster>/<service>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    /// The cluster's name.
    pub cluster: String,
    /// The service's name.
    pub service: String,
}

/// The cluster and service of `service/<cluster>/<service>`, if `resource_id` is one.
pub fn parse_service_resource(resource_id: &str) -> Option<ServiceRef> {
    let mut parts = resource_id.split('/');
    let (Some("service"), Some(cluster), Some(service), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    (!cluster.is_empty() && !service.is_empty()).then(|| ServiceRef {
        cluster: cluster.to_string(),
        service: service.to_string(),
    })
}

/// The ECS service of a target wharf serves, or AWS's `ValidationException` (with what wharf
/// supports when the namespace is another service's).
pub fn check_target_id(
    namespace: &str,
    dimension: &str,
    resource_id: &str,
) -> Result<ServiceRef, Error> {
    if namespace != ECS_NAMESPACE {
        return Err(Error::ValidationException(format!(
            "wharf serves Application Auto Scaling for Amazon ECS services only: service \
             namespace {namespace} is not supported (use ServiceNamespace {ECS_NAMESPACE}, \
             ScalableDimension {DESIRED_COUNT} and ResourceId service/<cluster>/<service>)"
        )));
    }
    match parse_service_resource(resource_id) {
        Some(service) if dimension == DESIRED_COUNT => Ok(service),
        _ => Err(Error::ValidationException(
            "Unsupported service namespace, resource type or scalable dimension".into(),
        )),
    }
}

/// AWS's answer for an operation on a target that is not registered.
pub fn target_not_registered(namespace: &str, resource_id: &str, dimension: &str) -> Error {
    Error::ObjectNotFoundException(format!(
        "No scalable target registered for service namespace: {namespace}, resource ID: \
         {resource_id}, scalable dimension: {dimension}"
    ))
}

/// The key of the target of `ctx`'s account and region.
pub fn key_of(ctx: &RequestContext, namespace: &str, dimension: &str, resource_id: &str) -> String {
    target_key(
        &ctx.account_id,
        &ctx.region,
        namespace,
        dimension,
        resource_id,
    )
}

/// The registered target, or `ObjectNotFoundException`.
pub fn load_target(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    namespace: &str,
    dimension: &str,
    resource_id: &str,
) -> Result<TargetRecord, Error> {
    tx.get(TARGETS, &key_of(ctx, namespace, dimension, resource_id))?
        .ok_or_else(|| target_not_registered(namespace, resource_id, dimension))
}

/// The size of the ECS service behind `resource_id`, or AWS's `ValidationException` when there
/// is no such (active) service.
pub fn service_size(
    scaling: &AutoScaling,
    account: &str,
    region: &str,
    resource_id: &str,
    service: &ServiceRef,
) -> Result<ServiceSize, Error> {
    scaling
        .capacity
        .size(account, region, &service.cluster, &service.service)
        .map_err(|e| crate::errors::from_neighbour("reading the ECS service", e))?
        .ok_or_else(|| {
            Error::ValidationException(format!("ECS service doesn't exist: {resource_id}"))
        })
}

/// The capacity range a target allows, as `u32` (a negative minimum counts as 0).
pub fn bounds_of(target: &TargetRecord) -> (u32, u32) {
    let min = u32::try_from(target.min_capacity).unwrap_or(0);
    let max = u32::try_from(target.max_capacity).unwrap_or(0).max(min);
    (min, max)
}

/// What DescribeScalingPolicies and DescribeScheduledActions select: the children (policies or
/// scheduled actions) of one target when both `ResourceId` and `ScalableDimension` are given,
/// else of the whole namespace, filtered by name, resource id and dimension.
pub struct ChildSelection<'a> {
    /// The store prefix to list.
    pub prefix: String,
    names: &'a [String],
    resource_id: Option<&'a str>,
    dimension: Option<&'a str>,
}

impl<'a> ChildSelection<'a> {
    /// The selection of a Describe call's filters.
    pub fn new(
        ctx: &RequestContext,
        namespace: &str,
        dimension: Option<&'a str>,
        resource_id: Option<&'a str>,
        names: &'a [String],
    ) -> Self {
        let prefix = match (dimension, resource_id) {
            (Some(dim), Some(rid)) => children_prefix(&key_of(ctx, namespace, dim, rid)),
            _ => format!("{}{namespace}/", scope_prefix(&ctx.account_id, &ctx.region)),
        };
        Self {
            prefix,
            names,
            resource_id,
            dimension,
        }
    }

    /// Whether the child `name` of `resource_id` / `dimension` is selected.
    pub fn matches(&self, name: &str, resource_id: &str, dimension: &str) -> bool {
        (self.names.is_empty() || self.names.iter().any(|n| n == name))
            && self.resource_id.is_none_or(|r| r == resource_id)
            && self.dimension.is_none_or(|d| d == dimension)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ecs_service_desired_counts_are_served() {
        assert_eq!(
            check_target_id("ecs", DESIRED_COUNT, "service/c/s"),
            Ok(ServiceRef {
                cluster: "c".into(),
                service: "s".into()
            })
        );
        assert!(matches!(
            check_target_id("dynamodb", "dynamodb:table:ReadCapacityUnits", "table/t"),
            Err(Error::ValidationException(m)) if m.contains("dynamodb is not supported")
        ));
        for (dim, rid) in [
            ("ecs:service:Other", "service/c/s"),
            (DESIRED_COUNT, "service/c"),
            (DESIRED_COUNT, "service/c/s/x"),
            (DESIRED_COUNT, "service//s"),
            (DESIRED_COUNT, "cluster/c/s"),
        ] {
            assert_eq!(
                check_target_id("ecs", dim, rid),
                Err(Error::ValidationException(
                    "Unsupported service namespace, resource type or scalable dimension".into()
                )),
                "{dim} {rid}"
            );
        }
    }
}
