//! Target groups: CreateTargetGroup, ModifyTargetGroup, DescribeTargetGroups,
//! DeleteTargetGroup, DescribeTargetGroupAttributes, ModifyTargetGroupAttributes.
//!
//! wharf serves HTTP and HTTPS target groups (HTTP/1.1 to the targets) of target type `ip` or
//! `instance` — what application load balancers forward to. Protocol, port and VPC are
//! required (the VPC is checked with EC2); every health check setting takes AWS's default and
//! limits. CreateTargetGroup is idempotent like CreateLoadBalancer. A target group forwarded
//! to by a listener or rule cannot be deleted (`ResourceInUse`); deleting a missing one
//! succeeds.

use crate::attributes::{self, TARGET_GROUP_DEFAULTS};
use crate::errors::{invalid, tg_not_found};
use crate::generated::*;
use crate::health_check::{self, HealthCheckInput};
use crate::lookup::{key_in_scope, load_lb, load_tg, usage, Kind, Usage};
use crate::names::{self, check_target_group_name};
use crate::paging::page;
use crate::records::{self, StoredTargetGroup, TARGET_GROUPS};
use crate::{tags, Elbv2};
use wharf_core::RequestContext;

/// Most target groups per account and region (AWS's default quota).
const MAX_TARGET_GROUPS: usize = 3000;

impl StoredTargetGroup {
    /// The target group as Create / Describe answer, with the load balancers using it.
    pub(crate) fn to_wire(&self, load_balancers: Vec<String>) -> TargetGroup {
        let hc = &self.health_check;
        TargetGroup {
            target_group_arn: Some(self.arn.clone()),
            target_group_name: Some(self.name.clone()),
            protocol: Some(self.protocol.clone()),
            port: Some(i32::from(self.port)),
            vpc_id: Some(self.vpc_id.clone()),
            health_check_protocol: Some(hc.protocol.clone()),
            health_check_port: Some(hc.port.clone()),
            health_check_enabled: Some(hc.enabled),
            health_check_interval_seconds: Some(hc.interval_seconds),
            health_check_timeout_seconds: Some(hc.timeout_seconds),
            healthy_threshold_count: Some(hc.healthy_threshold),
            unhealthy_threshold_count: Some(hc.unhealthy_threshold),
            health_check_path: Some(hc.path.clone()),
            matcher: Some(Matcher {
                http_code: Some(hc.matcher.clone()),
                grpc_code: None,
            }),
            load_balancer_arns: Some(load_balancers),
            target_type: Some(self.target_type.clone()),
            protocol_version: Some(self.protocol_version.clone()),
            ip_address_type: Some(self.ip_address_type.clone()),
            ..TargetGroup::default()
        }
    }
}

/// CreateTargetGroup.
pub fn create(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: CreateTargetGroupInput,
) -> Result<CreateTargetGroupOutput, Error> {
    check_target_group_name(&input.name)?;
    let target_type = input
        .target_type
        .clone()
        .unwrap_or_else(|| "instance".into());
    if target_type != "ip" && target_type != "instance" {
        return Err(invalid(format!(
            "wharf supports target groups of target type 'ip' or 'instance', not '{target_type}'"
        )));
    }
    let protocol = input
        .protocol
        .clone()
        .ok_or_else(|| invalid("A protocol must be specified"))?;
    if protocol != "HTTP" && protocol != "HTTPS" {
        return Err(invalid(format!(
            "wharf supports target groups of protocol HTTP or HTTPS (application load balancers), not '{protocol}'"
        )));
    }
    let port = input
        .port
        .ok_or_else(|| invalid("A port must be specified"))?;
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| invalid(format!("The port '{port}' must be from 1 to 65535")))?;
    let vpc_id = input
        .vpc_id
        .clone()
        .ok_or_else(|| invalid("A VPC ID must be specified"))?;
    let protocol_version = input
        .protocol_version
        .clone()
        .unwrap_or_else(|| "HTTP1".into());
    if protocol_version != "HTTP1" {
        return Err(invalid(format!(
            "wharf supports protocol version HTTP1 to targets, not '{protocol_version}'"
        )));
    }
    let ip_address_type = input
        .ip_address_type
        .clone()
        .unwrap_or_else(|| "ipv4".into());
    if ip_address_type != "ipv4" {
        return Err(invalid(format!(
            "wharf supports target groups of IP address type 'ipv4', not '{ip_address_type}'"
        )));
    }
    if input.target_control_port.is_some() {
        return Err(invalid("TargetControlPort is not supported by wharf"));
    }
    let vpc = elbv2
        .network
        .vpc(&ctx.account_id, &ctx.region, &vpc_id)
        .map_err(crate::errors::network_error)?;
    if vpc.is_none() {
        return Err(invalid(format!("The VPC ID '{vpc_id}' is not found")));
    }
    let health_check = health_check::apply(
        &health_check::defaults(&protocol),
        &HealthCheckInput {
            enabled: input.health_check_enabled,
            protocol: input.health_check_protocol.clone(),
            port: input.health_check_port.clone(),
            path: input.health_check_path.clone(),
            interval_seconds: input.health_check_interval_seconds,
            timeout_seconds: input.health_check_timeout_seconds,
            healthy_threshold: input.healthy_threshold_count,
            unhealthy_threshold: input.unhealthy_threshold_count,
            matcher: input.matcher.clone(),
        },
        &target_type,
    )?;
    let tags = tags::merge(&[], input.tags.as_deref().unwrap_or_default())?;
    let id = elbv2.ids.hex(16);
    let tg = StoredTargetGroup {
        arn: names::target_group_arn(&ctx.region, &ctx.account_id, &input.name, &id),
        id: id.clone(),
        name: input.name.clone(),
        protocol,
        protocol_version,
        port,
        vpc_id,
        target_type,
        ip_address_type,
        health_check,
        attributes: attributes::defaults(TARGET_GROUP_DEFAULTS),
        targets: Vec::new(),
        tags,
    };
    let scope = records::scope(&ctx.account_id, &ctx.region);
    let (stored, lbs) = elbv2.write(|tx| {
        let existing: Vec<(String, StoredTargetGroup)> = tx.list(TARGET_GROUPS, &scope)?;
        if let Some((_, same)) = existing.iter().find(|(_, e)| e.name == tg.name) {
            let same_settings = same.protocol == tg.protocol
                && same.port == tg.port
                && same.vpc_id == tg.vpc_id
                && same.target_type == tg.target_type
                && same.health_check == tg.health_check;
            if same_settings {
                let u = usage(tx, &ctx.account_id, &ctx.region)?;
                return Ok((same.clone(), u.lbs_of(&same.arn)));
            }
            return Err(Error::DuplicateTargetGroupNameException(format!(
                "A target group with the same name '{}' exists, but with different settings",
                tg.name
            )));
        }
        if existing.len() >= MAX_TARGET_GROUPS {
            return Err(Error::TooManyTargetGroupsException(format!(
                "The maximum number of target groups ({MAX_TARGET_GROUPS}) has been reached"
            )));
        }
        tx.put(TARGET_GROUPS, &format!("{scope}{id}"), &tg)?;
        Ok((tg.clone(), Vec::new()))
    })?;
    tracing::info!(arn = %stored.arn, "created target group");
    Ok(CreateTargetGroupOutput {
        target_groups: Some(vec![stored.to_wire(lbs)]),
    })
}

/// ModifyTargetGroup: the health check settings.
pub fn modify(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: ModifyTargetGroupInput,
) -> Result<ModifyTargetGroupOutput, Error> {
    let change = HealthCheckInput {
        enabled: input.health_check_enabled,
        protocol: input.health_check_protocol.clone(),
        port: input.health_check_port.clone(),
        path: input.health_check_path.clone(),
        interval_seconds: input.health_check_interval_seconds,
        timeout_seconds: input.health_check_timeout_seconds,
        healthy_threshold: input.healthy_threshold_count,
        unhealthy_threshold: input.unhealthy_threshold_count,
        matcher: input.matcher.clone(),
    };
    let (tg, lbs) = elbv2.write(|tx| {
        let (key, mut tg) = load_tg(tx, ctx, &input.target_group_arn)?;
        tg.health_check = health_check::apply(&tg.health_check, &change, &tg.target_type)?;
        tx.put(TARGET_GROUPS, &key, &tg)?;
        let u = usage(tx, &ctx.account_id, &ctx.region)?;
        Ok((tg.clone(), u.lbs_of(&tg.arn)))
    })?;
    Ok(ModifyTargetGroupOutput {
        target_groups: Some(vec![tg.to_wire(lbs)]),
    })
}

/// DescribeTargetGroups: all, by ARNs, by names, or those a load balancer uses.
pub fn describe(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: DescribeTargetGroupsInput,
) -> Result<DescribeTargetGroupsOutput, Error> {
    let arns = input.target_group_arns.clone().unwrap_or_default();
    let wanted = input.names.clone().unwrap_or_default();
    let filters = usize::from(!arns.is_empty())
        + usize::from(!wanted.is_empty())
        + usize::from(input.load_balancer_arn.is_some());
    if filters > 1 {
        return Err(invalid(
            "Only one of load balancer ARN, target group ARNs or names can be specified",
        ));
    }
    let scope = records::scope(&ctx.account_id, &ctx.region);
    let (all, u): (Vec<StoredTargetGroup>, Usage) = elbv2.store.read(|tx| {
        if let Some(lb) = &input.load_balancer_arn {
            load_lb(tx, ctx, lb)?;
        }
        let all = tx
            .list::<StoredTargetGroup>(TARGET_GROUPS, &scope)?
            .into_iter()
            .map(|(_, tg)| tg)
            .collect();
        Ok::<_, Error>((all, usage(tx, &ctx.account_id, &ctx.region)?))
    })?;
    let mut selected: Vec<StoredTargetGroup> = if !arns.is_empty() {
        let mut out = Vec::new();
        for arn in &arns {
            key_in_scope(ctx, arn, Kind::TargetGroup)?;
            out.push(
                all.iter()
                    .find(|tg| &tg.arn == arn)
                    .cloned()
                    .ok_or_else(|| {
                        Error::TargetGroupNotFoundException(
                            "One or more target groups not found".into(),
                        )
                    })?,
            );
        }
        out
    } else if !wanted.is_empty() {
        let mut out = Vec::new();
        for name in &wanted {
            out.push(
                all.iter()
                    .find(|tg| &tg.name == name)
                    .cloned()
                    .ok_or_else(|| {
                        Error::TargetGroupNotFoundException(
                            "One or more target groups not found".into(),
                        )
                    })?,
            );
        }
        out
    } else if let Some(lb) = &input.load_balancer_arn {
        all.into_iter()
            .filter(|tg| u.lbs_of(&tg.arn).iter().any(|l| l == lb))
            .collect()
    } else {
        all
    };
    selected.sort_by(|a, b| a.name.cmp(&b.name).then(a.arn.cmp(&b.arn)));
    selected.dedup_by(|a, b| a.arn == b.arn);
    let (items, next) = page(
        selected,
        |tg| format!("{}/{}", tg.name, tg.arn),
        input.marker.as_deref(),
        input.page_size,
    )?;
    Ok(DescribeTargetGroupsOutput {
        target_groups: Some(
            items
                .iter()
                .map(|tg| tg.to_wire(u.lbs_of(&tg.arn)))
                .collect(),
        ),
        next_marker: next,
    })
}

/// DeleteTargetGroup: refused while a listener or rule forwards to it.
pub fn delete(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    arn: &str,
) -> Result<DeleteTargetGroupOutput, Error> {
    let Some(key) = key_in_scope(ctx, arn, Kind::TargetGroup)? else {
        return Ok(DeleteTargetGroupOutput {});
    };
    let deleted = elbv2.write(|tx| {
        let Some(_) = tx
            .get::<StoredTargetGroup>(TARGET_GROUPS, &key)?
            .filter(|tg| tg.arn == arn)
        else {
            return Ok(false);
        };
        if usage(tx, &ctx.account_id, &ctx.region)?.in_use(arn) {
            return Err(Error::ResourceInUseException(format!(
                "Target group '{arn}' is currently in use by a listener or a rule"
            )));
        }
        tx.delete(TARGET_GROUPS, &key)?;
        Ok(true)
    })?;
    if deleted {
        tracing::info!(%arn, "deleted target group");
    }
    Ok(DeleteTargetGroupOutput {})
}

fn attributes_to_wire(
    attrs: &std::collections::BTreeMap<String, String>,
) -> Vec<TargetGroupAttribute> {
    attrs
        .iter()
        .map(|(k, v)| TargetGroupAttribute {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

/// DescribeTargetGroupAttributes.
pub fn describe_attributes(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    arn: &str,
) -> Result<DescribeTargetGroupAttributesOutput, Error> {
    let (_, tg) = elbv2.store.read(|tx| load_tg(tx, ctx, arn))?;
    Ok(DescribeTargetGroupAttributesOutput {
        attributes: Some(attributes_to_wire(&tg.attributes)),
    })
}

/// ModifyTargetGroupAttributes: every change checked; the answer lists all attributes.
pub fn modify_attributes(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: ModifyTargetGroupAttributesInput,
) -> Result<ModifyTargetGroupAttributesOutput, Error> {
    let changes = attributes::change_list(
        input
            .attributes
            .iter()
            .map(|a| (a.key.as_ref(), a.value.as_ref())),
        "target group",
    )?;
    let tg = elbv2.write(|tx| {
        let (key, mut tg) = load_tg(tx, ctx, &input.target_group_arn)?;
        tg.attributes = attributes::modify_target_group(&tg.attributes, &changes)?;
        tx.put(TARGET_GROUPS, &key, &tg)?;
        Ok(tg)
    })?;
    Ok(ModifyTargetGroupAttributesOutput {
        attributes: Some(attributes_to_wire(&tg.attributes)),
    })
}

/// A target group of the caller, or `TargetGroupNotFound` naming it (for listeners and rules).
pub(crate) fn require(
    tx: &wharf_store::Tx<'_>,
    ctx: &RequestContext,
    arn: &str,
) -> Result<StoredTargetGroup, Error> {
    match crate::lookup::parse_kind(arn, Kind::TargetGroup) {
        Ok(_) => load_tg(tx, ctx, arn).map(|(_, tg)| tg),
        Err(_) => Err(tg_not_found(arn)),
    }
}
