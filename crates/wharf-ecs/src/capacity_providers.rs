//! Capacity providers: the two AWS gives every account, FARGATE and FARGATE_SPOT (both run
//! tasks on wharf's Fargate), described by DescribeCapacityProviders; a cluster's providers
//! and default strategy set by PutClusterCapacityProviders (what RunTask and CreateService
//! use when they name no launch type, see `launch_types`). wharf has no Auto Scaling groups,
//! so there are no others yet.

use crate::clusters;
use crate::errors::invalid;
use crate::generated::*;
use crate::names;
use crate::records::{self, CapacityProviderStrategyItemRecord, Wire, CLUSTERS};
use crate::Ecs;
use wharf_core::RequestContext;

/// The capacity providers every account has.
pub const BUILT_IN: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

fn provider(ctx: &RequestContext, name: &str) -> CapacityProvider {
    CapacityProvider {
        capacity_provider_arn: Some(names::arn(ctx, &format!("capacity-provider/{name}"))),
        name: Some(name.to_string()),
        status: Some("ACTIVE".into()),
        tags: Some(Vec::new()),
        r#type: Some(name.to_string()),
        ..Default::default()
    }
}

/// `DescribeCapacityProviders`: the named ones (by name or ARN), else all; unknown names are
/// MISSING failures.
pub fn describe(
    ctx: &RequestContext,
    input: DescribeCapacityProvidersRequest,
) -> Result<DescribeCapacityProvidersResponse, Error> {
    if let Some(n) = input.max_results.filter(|n| !(1..=10).contains(n)) {
        return Err(invalid(format!(
            "maxResults must be between 1 and 10, got {n}."
        )));
    }
    let wanted: Vec<String> = match input.capacity_providers {
        Some(list) if !list.is_empty() => list,
        _ => BUILT_IN.iter().map(|s| s.to_string()).collect(),
    };
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for reference in &wanted {
        let name = names::last_segment(reference);
        if BUILT_IN.contains(&name.as_str()) {
            found.push(provider(ctx, &name));
        } else {
            failures.push(Failure {
                arn: Some(if reference.starts_with("arn:") {
                    reference.clone()
                } else {
                    names::arn(ctx, &format!("capacity-provider/{reference}"))
                }),
                reason: Some("MISSING".into()),
                detail: None,
            });
        }
    }
    Ok(DescribeCapacityProvidersResponse {
        capacity_providers: Some(found),
        failures: Some(failures),
        next_token: None,
    })
}

/// Checks a default capacity provider strategy against the cluster's providers, with AWS's
/// bounds (weight 0-1000, base 0-100000 on one item at most).
fn check_strategy(
    providers: &[String],
    strategy: &[CapacityProviderStrategyItem],
) -> Result<(), Error> {
    let mut with_base = 0;
    for item in strategy {
        if !providers.contains(&item.capacity_provider) {
            return Err(invalid(format!(
                "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster: {}",
                item.capacity_provider
            )));
        }
        if item.weight.is_some_and(|w| !(0..=1000).contains(&w)) {
            return Err(invalid(
                "The weight of a capacity provider must be between 0 and 1000.",
            ));
        }
        match item.base {
            Some(b) if !(0..=100_000).contains(&b) => {
                return Err(invalid(
                    "The base of a capacity provider must be between 0 and 100000.",
                ))
            }
            Some(b) if b > 0 => with_base += 1,
            _ => {}
        }
    }
    if with_base > 1 {
        return Err(invalid(
            "Only one capacity provider in a strategy can have a base defined.",
        ));
    }
    Ok(())
}

/// `PutClusterCapacityProviders`: replaces the cluster's providers and default strategy.
pub fn put_cluster(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: PutClusterCapacityProvidersRequest,
) -> Result<PutClusterCapacityProvidersResponse, Error> {
    if let Some(bad) = input
        .capacity_providers
        .iter()
        .find(|p| !BUILT_IN.contains(&p.as_str()))
    {
        return Err(invalid(format!(
            "The specified capacity provider '{bad}' does not exist; wharf has FARGATE and FARGATE_SPOT."
        )));
    }
    check_strategy(
        &input.capacity_providers,
        &input.default_capacity_provider_strategy,
    )?;
    let name = names::cluster_name(Some(&input.cluster));
    let cluster = ecs.store.write(|tx| {
        let mut c = clusters::require_active(tx, ctx, Some(&name))?;
        c.capacity_providers = Some(input.capacity_providers.clone());
        // AWS shows weight and base with their defaults (0) filled in.
        c.default_capacity_provider_strategy = Some(
            input
                .default_capacity_provider_strategy
                .iter()
                .map(|item| {
                    Wire::from_wire(CapacityProviderStrategyItem {
                        capacity_provider: item.capacity_provider.clone(),
                        weight: Some(item.weight.unwrap_or(0)),
                        base: Some(item.base.unwrap_or(0)),
                    })
                })
                .collect::<Vec<CapacityProviderStrategyItemRecord>>(),
        );
        tx.put(CLUSTERS, &records::cluster_key(ctx, &name), &c)?;
        Ok::<_, Error>(c)
    })?;
    Ok(PutClusterCapacityProvidersResponse {
        cluster: Some(cluster.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, weight: Option<i32>, base: Option<i32>) -> CapacityProviderStrategyItem {
        CapacityProviderStrategyItem {
            capacity_provider: name.into(),
            weight,
            base,
        }
    }

    #[test]
    fn strategies_follow_aws_bounds() {
        let providers = vec!["FARGATE".to_string(), "FARGATE_SPOT".to_string()];
        assert!(check_strategy(
            &providers,
            &[
                item("FARGATE", Some(1), Some(2)),
                item("FARGATE_SPOT", Some(4), None)
            ]
        )
        .is_ok());
        assert!(check_strategy(&providers[..1], &[item("FARGATE_SPOT", Some(1), None)]).is_err());
        assert!(check_strategy(&providers, &[item("FARGATE", Some(1001), None)]).is_err());
        assert!(check_strategy(
            &providers,
            &[
                item("FARGATE", None, Some(1)),
                item("FARGATE_SPOT", None, Some(1))
            ]
        )
        .is_err());
    }
}
