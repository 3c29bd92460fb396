//! Application load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer,
//! DescribeLoadBalancerAttributes, ModifyLoadBalancerAttributes.
//!
//! As AWS: subnets in at least two availability zones of one VPC (checked with EC2), one subnet
//! per zone; the VPC's default security group when none is named; `internet-facing` unless
//! `internal`; CreateLoadBalancer is idempotent (the same name with the same settings returns
//! the existing load balancer, other settings are `DuplicateLoadBalancerName`); the answer to
//! CreateLoadBalancer says `provisioning`, and the load balancer is `active` from then on (the
//! data plane serves it at once); DeleteLoadBalancer of a missing load balancer succeeds,
//! deletes its listeners and rules, and is refused while deletion protection is on.

use crate::attributes::{self, LOAD_BALANCER_DEFAULTS};
use crate::errors::invalid;
use crate::generated::*;
use crate::lookup::{key_in_scope, load_lb, Kind};
use crate::names::{self, check_load_balancer_name};
use crate::paging::page;
use crate::records::{self, StoredLoadBalancer, StoredZone, LISTENERS, LOAD_BALANCERS, RULES};
use crate::{tags, Elbv2};
use std::collections::BTreeSet;
use wharf_core::{PlacementSubnet, RequestContext};

/// Most load balancers per account and region (AWS's default quota).
const MAX_LOAD_BALANCERS: usize = 50;

impl StoredLoadBalancer {
    /// The load balancer as Describe answers (`state` is its `State.Code`).
    pub(crate) fn to_wire(&self, state: &str) -> LoadBalancer {
        LoadBalancer {
            load_balancer_arn: Some(self.arn.clone()),
            dns_name: Some(self.dns_name.clone()),
            canonical_hosted_zone_id: Some(self.hosted_zone_id.clone()),
            created_time: Some(self.created),
            load_balancer_name: Some(self.name.clone()),
            scheme: Some(self.scheme.clone()),
            vpc_id: Some(self.vpc_id.clone()),
            state: Some(LoadBalancerState {
                code: Some(state.into()),
                reason: None,
            }),
            r#type: Some("application".into()),
            availability_zones: Some(
                self.zones
                    .iter()
                    .map(|z| AvailabilityZone {
                        zone_name: Some(z.zone_name.clone()),
                        subnet_id: Some(z.subnet_id.clone()),
                        load_balancer_addresses: Some(Vec::new()),
                        ..AvailabilityZone::default()
                    })
                    .collect(),
            ),
            security_groups: Some(self.security_groups.clone()),
            ip_address_type: Some(self.ip_address_type.clone()),
            ..LoadBalancer::default()
        }
    }
}

/// The subnets a CreateLoadBalancer names, from `Subnets` or `SubnetMappings`.
fn requested_subnets(input: &CreateLoadBalancerInput) -> Result<Vec<String>, Error> {
    let subnets = input.subnets.clone().unwrap_or_default();
    let mappings = input.subnet_mappings.clone().unwrap_or_default();
    if !subnets.is_empty() && !mappings.is_empty() {
        return Err(invalid(
            "You can specify subnets or subnet mappings, but not both",
        ));
    }
    if mappings.is_empty() {
        return Ok(subnets);
    }
    mappings
        .into_iter()
        .map(|m| {
            if m.allocation_id.is_some()
                || m.private_i_pv4_address.is_some()
                || m.i_pv6_address.is_some()
                || m.source_nat_ipv6_prefix.is_some()
            {
                return Err(invalid(
                    "Application load balancers do not support Elastic IP addresses, private IPv4 addresses, IPv6 addresses or source NAT prefixes in subnet mappings",
                ));
            }
            m.subnet_id
                .ok_or_else(|| invalid("Each subnet mapping requires a SubnetId"))
        })
        .collect()
}

/// Looks the subnets up in EC2 and checks AWS's placement rules; returns them in zone order.
fn placement(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    subnet_ids: &[String],
) -> Result<Vec<PlacementSubnet>, Error> {
    let mut subnets: Vec<PlacementSubnet> = Vec::new();
    for id in subnet_ids {
        if subnets.iter().any(|s| &s.id == id) {
            continue;
        }
        let subnet = elbv2
            .network
            .subnet(&ctx.account_id, &ctx.region, id)
            .map_err(crate::errors::network_error)?
            .ok_or_else(|| {
                Error::SubnetNotFoundException(format!("The subnet ID '{id}' is not valid"))
            })?;
        subnets.push(subnet);
    }
    if let Some(other) = subnets.iter().find(|s| s.vpc_id != subnets[0].vpc_id) {
        return Err(Error::InvalidConfigurationRequestException(format!(
            "The subnets must all be in the same VPC: subnet '{}' is in '{}', subnet '{}' in '{}'",
            subnets[0].id, subnets[0].vpc_id, other.id, other.vpc_id
        )));
    }
    let zones: BTreeSet<&str> = subnets
        .iter()
        .map(|s| s.availability_zone.as_str())
        .collect();
    if zones.len() != subnets.len() {
        return Err(Error::InvalidConfigurationRequestException(
            "A load balancer cannot be attached to multiple subnets in the same Availability Zone"
                .into(),
        ));
    }
    if zones.len() < 2 {
        return Err(invalid(
            "At least two subnets in two different Availability Zones must be specified",
        ));
    }
    subnets.sort_by(|a, b| a.availability_zone.cmp(&b.availability_zone));
    Ok(subnets)
}

/// The security groups: those named (each must exist in `vpc_id`), else the VPC's default group.
/// Security groups per load balancer (AWS's quota, as for any network interface).
const MAX_SECURITY_GROUPS: usize = 5;

fn security_groups(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    vpc_id: &str,
    requested: Option<&[String]>,
) -> Result<Vec<String>, Error> {
    match requested {
        Some(groups) if groups.len() > MAX_SECURITY_GROUPS => {
            Err(Error::InvalidConfigurationRequestException(format!(
                "A load balancer can have at most {MAX_SECURITY_GROUPS} security groups; {} were given",
                groups.len()
            )))
        }
        Some(groups) if !groups.is_empty() => {
            let mut out: Vec<String> = Vec::new();
            for id in groups {
                let exists = elbv2
                    .network
                    .security_group_exists(&ctx.account_id, &ctx.region, id)
                    .map_err(crate::errors::network_error)?;
                if !exists {
                    return Err(Error::InvalidSecurityGroupException(format!(
                        "One or more security groups are invalid: security group '{id}' does not exist"
                    )));
                }
                let in_vpc = elbv2
                    .network
                    .security_group_in_vpc(&ctx.account_id, &ctx.region, id, vpc_id)
                    .map_err(crate::errors::network_error)?;
                if !in_vpc {
                    return Err(Error::InvalidSecurityGroupException(format!(
                        "One or more security groups are invalid: security group '{id}' is not in the load balancer's VPC '{vpc_id}'"
                    )));
                }
                if !out.contains(id) {
                    out.push(id.clone());
                }
            }
            Ok(out)
        }
        _ => {
            let vpc = elbv2
                .network
                .vpc(&ctx.account_id, &ctx.region, vpc_id)
                .map_err(crate::errors::network_error)?;
            Ok(vpc
                .and_then(|v| v.default_security_group)
                .into_iter()
                .collect())
        }
    }
}

/// CreateLoadBalancer.
pub fn create(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: CreateLoadBalancerInput,
) -> Result<CreateLoadBalancerOutput, Error> {
    check_load_balancer_name(&input.name)?;
    let kind = input.r#type.as_deref().unwrap_or("application");
    if kind != "application" {
        return Err(invalid(format!(
            "wharf supports load balancers of type 'application' only, not '{kind}'"
        )));
    }
    if input.customer_owned_ipv4_pool.is_some() || input.ipam_pools.is_some() {
        return Err(invalid(
            "Customer-owned IPv4 pools and IPAM pools are not supported by wharf",
        ));
    }
    let ip_address_type = input
        .ip_address_type
        .clone()
        .unwrap_or_else(|| "ipv4".into());
    let scheme = input
        .scheme
        .clone()
        .unwrap_or_else(|| "internet-facing".into());
    let subnet_ids = requested_subnets(&input)?;
    if subnet_ids.is_empty() {
        return Err(invalid(
            "At least two subnets in two different Availability Zones must be specified",
        ));
    }
    let subnets = placement(elbv2, ctx, &subnet_ids)?;
    if ip_address_type != "ipv4" {
        return Err(Error::InvalidConfigurationRequestException(format!(
            "Subnet '{}' has no IPv6 CIDR block: IP address type '{ip_address_type}' needs one",
            subnets[0].id
        )));
    }
    let vpc_id = subnets[0].vpc_id.clone();
    let groups = security_groups(elbv2, ctx, &vpc_id, input.security_groups.as_deref())?;
    let tags = tags::merge(&[], input.tags.as_deref().unwrap_or_default())?;
    let zones: Vec<StoredZone> = subnets
        .iter()
        .map(|s| StoredZone {
            zone_name: s.availability_zone.clone(),
            subnet_id: s.id.clone(),
            interface_id: String::new(),
            address: String::new(),
        })
        .collect();

    let id = elbv2.ids.hex(16);
    let digits = elbv2.ids.chars(10, b"0123456789");
    let lb = StoredLoadBalancer {
        arn: names::load_balancer_arn(&ctx.region, &ctx.account_id, &input.name, &id),
        id: id.clone(),
        name: input.name.clone(),
        dns_name: names::dns_name(&input.name, &digits, &ctx.region, scheme == "internal"),
        hosted_zone_id: names::hosted_zone_id(&ctx.region),
        created: ctx.now,
        scheme,
        vpc_id,
        zones,
        security_groups: groups,
        ip_address_type,
        attributes: attributes::defaults(LOAD_BALANCER_DEFAULTS),
        tags,
    };
    let scope = records::scope(&ctx.account_id, &ctx.region);
    let (created, stored) = elbv2.write(|tx| {
        let existing: Vec<(String, StoredLoadBalancer)> = tx.list(LOAD_BALANCERS, &scope)?;
        if let Some((_, same)) = existing.iter().find(|(_, e)| e.name == lb.name) {
            // Idempotent: the same settings give back the existing load balancer.
            let same_settings = same.scheme == lb.scheme
                && same
                    .zones
                    .iter()
                    .map(|z| &z.subnet_id)
                    .eq(lb.zones.iter().map(|z| &z.subnet_id))
                && same.ip_address_type == lb.ip_address_type
                && (input.security_groups.is_none() || same.security_groups == lb.security_groups);
            if same_settings {
                return Ok((false, same.clone()));
            }
            return Err(Error::DuplicateLoadBalancerNameException(format!(
                "A load balancer with the same name '{}' exists, but with different settings",
                lb.name
            )));
        }
        if existing.len() >= MAX_LOAD_BALANCERS {
            return Err(Error::TooManyLoadBalancersException(format!(
                "The maximum number of load balancers ({MAX_LOAD_BALANCERS}) has been reached"
            )));
        }
        tx.put(LOAD_BALANCERS, &format!("{scope}{id}"), &lb)?;
        Ok((true, lb.clone()))
    })?;
    if created {
        tracing::info!(arn = %stored.arn, dns = %stored.dns_name, "created load balancer");
        if let Err(e) = crate::interfaces::sync(elbv2, &stored) {
            tracing::warn!(arn = %stored.arn, error = %e, "cannot record the load balancer's network interfaces");
        }
    }
    Ok(CreateLoadBalancerOutput {
        load_balancers: Some(vec![stored.to_wire(if created {
            "provisioning"
        } else {
            "active"
        })]),
    })
}

/// DescribeLoadBalancers.
pub fn describe(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: DescribeLoadBalancersInput,
) -> Result<DescribeLoadBalancersOutput, Error> {
    let arns = input.load_balancer_arns.clone().unwrap_or_default();
    let wanted_names = input.names.clone().unwrap_or_default();
    if !arns.is_empty() && !wanted_names.is_empty() {
        return Err(invalid(
            "Load balancer names and load balancer ARNs cannot be specified at the same time",
        ));
    }
    let scope = records::scope(&ctx.account_id, &ctx.region);
    let all: Vec<StoredLoadBalancer> = elbv2
        .store
        .read(|tx| tx.list::<StoredLoadBalancer>(LOAD_BALANCERS, &scope))?
        .into_iter()
        .map(|(_, lb)| lb)
        .collect();
    let mut selected: Vec<StoredLoadBalancer> = if !arns.is_empty() {
        let mut out = Vec::new();
        for arn in &arns {
            key_in_scope(ctx, arn, Kind::LoadBalancer)?;
            let lb = all.iter().find(|lb| &lb.arn == arn).ok_or_else(|| {
                Error::LoadBalancerNotFoundException("One or more load balancers not found".into())
            })?;
            out.push(lb.clone());
        }
        out
    } else if !wanted_names.is_empty() {
        let mut out = Vec::new();
        for name in &wanted_names {
            let lb = all.iter().find(|lb| &lb.name == name).ok_or_else(|| {
                Error::LoadBalancerNotFoundException(format!("Load balancers '[{name}]' not found"))
            })?;
            out.push(lb.clone());
        }
        out
    } else {
        all
    };
    selected.sort_by(|a, b| a.name.cmp(&b.name).then(a.arn.cmp(&b.arn)));
    selected.dedup_by(|a, b| a.arn == b.arn);
    let (items, next) = page(
        selected,
        |lb| format!("{}/{}", lb.name, lb.arn),
        input.marker.as_deref(),
        input.page_size,
    )?;
    Ok(DescribeLoadBalancersOutput {
        load_balancers: Some(items.iter().map(|lb| lb.to_wire("active")).collect()),
        next_marker: next,
    })
}

/// DeleteLoadBalancer: with its listeners and rules; a missing one is not an error.
pub fn delete(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    arn: &str,
) -> Result<DeleteLoadBalancerOutput, Error> {
    let Some(key) = key_in_scope(ctx, arn, Kind::LoadBalancer)? else {
        return Ok(DeleteLoadBalancerOutput {});
    };
    let deleted = elbv2.write(|tx| {
        let Some(lb) = tx
            .get::<StoredLoadBalancer>(LOAD_BALANCERS, &key)?
            .filter(|lb| lb.arn == arn)
        else {
            return Ok(None);
        };
        if lb
            .attributes
            .get("deletion_protection.enabled")
            .map(String::as_str)
            == Some("true")
        {
            return Err(Error::OperationNotPermittedException(format!(
                "Load balancer '{arn}' cannot be deleted because deletion protection is enabled"
            )));
        }
        let children = format!("{key}/");
        for (k, _) in tx.list(RULES, &children)? {
            tx.delete(RULES, &k)?;
        }
        for (k, _) in tx.list(LISTENERS, &children)? {
            tx.delete(LISTENERS, &k)?;
        }
        tx.delete(LOAD_BALANCERS, &key)?;
        Ok(Some(lb))
    })?;
    if let Some(lb) = deleted {
        tracing::info!(%arn, "deleted load balancer");
        if let Err(e) = crate::interfaces::remove(elbv2, &lb) {
            tracing::warn!(%arn, error = %e, "cannot remove the load balancer's network interfaces");
        }
    }
    Ok(DeleteLoadBalancerOutput {})
}

fn attributes_to_wire(
    attrs: &std::collections::BTreeMap<String, String>,
) -> Vec<LoadBalancerAttribute> {
    attrs
        .iter()
        .map(|(k, v)| LoadBalancerAttribute {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

/// DescribeLoadBalancerAttributes.
pub fn describe_attributes(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    arn: &str,
) -> Result<DescribeLoadBalancerAttributesOutput, Error> {
    let (_, lb) = elbv2.store.read(|tx| load_lb(tx, ctx, arn))?;
    Ok(DescribeLoadBalancerAttributesOutput {
        attributes: Some(attributes_to_wire(&lb.attributes)),
    })
}

/// ModifyLoadBalancerAttributes: every change checked; the answer lists all attributes.
pub fn modify_attributes(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: ModifyLoadBalancerAttributesInput,
) -> Result<ModifyLoadBalancerAttributesOutput, Error> {
    let changes = attributes::change_list(
        input
            .attributes
            .iter()
            .map(|a| (a.key.as_ref(), a.value.as_ref())),
        "load balancer",
    )?;
    let lb = elbv2.write(|tx| {
        let (key, mut lb) = load_lb(tx, ctx, &input.load_balancer_arn)?;
        lb.attributes = attributes::modify_load_balancer(&lb.attributes, &changes)?;
        tx.put(LOAD_BALANCERS, &key, &lb)?;
        Ok(lb)
    })?;
    Ok(ModifyLoadBalancerAttributesOutput {
        attributes: Some(attributes_to_wire(&lb.attributes)),
    })
}
