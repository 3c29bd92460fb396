//! Security groups: create, describe and delete them, and authorize or revoke their inbound and
//! outbound rules.
//!
//! A group lives in one VPC; its name is unique within that VPC. Every VPC has a group named
//! `default` that cannot be deleted and lets members talk to each other; every new group starts
//! with the allow-all egress rule. The rules are kept inside the group's record (one rule per
//! peer, see [`crate::security_group_rules`]), so an authorize or revoke is one atomic record
//! update. Operations that name a group by name (`GroupName`) look in the default VPC, as AWS
//! does. A group that a network interface uses cannot be deleted
//! ([`crate::network_interfaces::group_in_use`]).

use crate::checks::{check_dry_run, check_group_id};
use crate::default_network;
use crate::filters::FilterSet;
use crate::generated::{
    AuthorizeSecurityGroupEgressRequest, AuthorizeSecurityGroupEgressResult,
    AuthorizeSecurityGroupIngressRequest, AuthorizeSecurityGroupIngressResult,
    CreateSecurityGroupRequest, CreateSecurityGroupResult, DeleteSecurityGroupRequest,
    DeleteSecurityGroupResult, DescribeSecurityGroupsRequest, DescribeSecurityGroupsResult, Error,
    IpPermission, RevokeSecurityGroupEgressRequest, RevokeSecurityGroupEgressResult,
    RevokeSecurityGroupIngressRequest, RevokeSecurityGroupIngressResult, RevokedSecurityGroupRule,
    SecurityGroup, SecurityGroupRule, TagSpecification,
};
use crate::network_interfaces;
use crate::paging::page;
use crate::records::{
    scope_prefix, scoped_key, GroupRecord, Peer, Rule, DEFAULT_GROUP_NAME, GROUPS, VPCS,
};
use crate::security_group_rules::{self as rules, RequestedPeer, RequestedRule};
use crate::tags;
use crate::Ec2;
use std::collections::HashMap;
use wharf_core::RequestContext;
use wharf_store::{StoreError, Tx};

/// AWS's default quota of inbound (and, separately, outbound) rules per security group.
pub const MAX_RULES_PER_DIRECTION: usize = 60;

/// A security group as other services need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupInfo {
    /// `sg-...`
    pub id: String,
    /// The group's name.
    pub name: String,
    /// The VPC the group belongs to.
    pub vpc_id: String,
}

impl From<GroupRecord> for SecurityGroupInfo {
    fn from(g: GroupRecord) -> Self {
        Self {
            id: g.id,
            name: g.name,
            vpc_id: g.vpc_id,
        }
    }
}

/// The security group `group_id` of `account` in `region`, if it exists.
pub fn info(
    ec2: &Ec2,
    account: &str,
    region: &str,
    group_id: &str,
) -> Result<Option<SecurityGroupInfo>, StoreError> {
    default_network::ensure(ec2, account, region)?;
    let found = ec2
        .store
        .read(|tx| tx.get(GROUPS, &scoped_key(account, region, group_id)))?;
    Ok(found.map(SecurityGroupInfo::from))
}

/// The `default` security group of `vpc_id` (what ECS uses when a task names no group).
pub fn default_of_vpc(
    ec2: &Ec2,
    account: &str,
    region: &str,
    vpc_id: &str,
) -> Result<Option<SecurityGroupInfo>, StoreError> {
    default_network::ensure(ec2, account, region)?;
    let found = ec2
        .store
        .read(|tx| default_network::default_group(tx, account, region, vpc_id))?;
    Ok(found.map(SecurityGroupInfo::from))
}

/// Longest group name or description AWS accepts.
const MAX_NAME_LEN: usize = 255;

fn arn(region: &str, owner: &str, group_id: &str) -> String {
    format!("arn:aws:ec2:{region}:{owner}:security-group/{group_id}")
}

impl GroupRecord {
    fn to_wire(&self, region: &str) -> SecurityGroup {
        SecurityGroup {
            group_id: Some(self.id.clone()),
            ip_permissions_egress: Some(rules::merge(self.rules.iter().filter(|r| r.egress))),
            tags: tags::to_wire(&self.tags),
            vpc_id: Some(self.vpc_id.clone()),
            security_group_arn: Some(arn(region, &self.owner_id, &self.id)),
            owner_id: Some(self.owner_id.clone()),
            group_name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            ip_permissions: Some(rules::merge(self.rules.iter().filter(|r| !r.egress))),
        }
    }

    /// The group's values for a DescribeSecurityGroups filter; `names` maps group ids to names
    /// for `ip-permission.group-name`.
    fn field(&self, name: &str, names: &HashMap<String, String>) -> Vec<String> {
        let (egress, attribute) = match name.strip_prefix("egress.ip-permission.") {
            Some(attribute) => (true, attribute),
            None => match name.strip_prefix("ip-permission.") {
                Some(attribute) => (false, attribute),
                None => {
                    return match name {
                        "group-id" => vec![self.id.clone()],
                        "group-name" => vec![self.name.clone()],
                        "vpc-id" => vec![self.vpc_id.clone()],
                        "description" => vec![self.description.clone()],
                        "owner-id" => vec![self.owner_id.clone()],
                        _ => Vec::new(),
                    }
                }
            },
        };
        self.rules
            .iter()
            .filter(|r| r.egress == egress)
            .filter_map(|r| match (attribute, &r.peer) {
                ("protocol", _) => Some(r.protocol.clone()),
                ("from-port", _) => Some(r.from_port.unwrap_or(-1).to_string()),
                ("to-port", _) => Some(r.to_port.unwrap_or(-1).to_string()),
                ("cidr", Peer::Ipv4(c)) | ("ipv6-cidr", Peer::Ipv6(c)) => Some(c.clone()),
                ("prefix-list-id", Peer::PrefixList(id)) => Some(id.clone()),
                ("group-id", Peer::Group { group_id, .. }) => Some(group_id.clone()),
                ("group-name", Peer::Group { group_id, .. }) => names.get(group_id).cloned(),
                ("user-id", Peer::Group { user_id, .. }) => Some(user_id.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Filter names DescribeSecurityGroups accepts besides the tag filters.
const GROUP_FILTERS: &[&str] = &[
    "group-id",
    "group-name",
    "vpc-id",
    "description",
    "owner-id",
    "ip-permission.protocol",
    "ip-permission.from-port",
    "ip-permission.to-port",
    "ip-permission.cidr",
    "ip-permission.ipv6-cidr",
    "ip-permission.prefix-list-id",
    "ip-permission.group-id",
    "ip-permission.group-name",
    "ip-permission.user-id",
    "egress.ip-permission.protocol",
    "egress.ip-permission.from-port",
    "egress.ip-permission.to-port",
    "egress.ip-permission.cidr",
    "egress.ip-permission.ipv6-cidr",
    "egress.ip-permission.prefix-list-id",
    "egress.ip-permission.group-id",
    "egress.ip-permission.group-name",
    "egress.ip-permission.user-id",
];

/// Characters AWS allows in VPC security group names and descriptions.
fn allowed_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c)
}

fn check_text(parameter: &str, value: &str) -> Result<(), Error> {
    let problem = if value.is_empty() {
        Some("It must not be empty.")
    } else if value.chars().count() > MAX_NAME_LEN {
        Some("It must not be longer than 255 characters.")
    } else if !value.chars().all(allowed_char) {
        Some("Only letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* are allowed.")
    } else {
        None
    };
    match problem {
        Some(why) => Err(Error::InvalidParameterValue(format!(
            "Value ({value}) for parameter {parameter} is invalid. {why}"
        ))),
        None => Ok(()),
    }
}

fn group_not_found(id: &str) -> Error {
    Error::InvalidGroupNotFound(format!("The security group '{id}' does not exist"))
}

fn all_groups(tx: &Tx<'_>, ctx: &RequestContext) -> Result<Vec<GroupRecord>, Error> {
    let rows: Vec<(String, GroupRecord)> =
        tx.list(GROUPS, &scope_prefix(&ctx.account_id, &ctx.region))?;
    Ok(rows.into_iter().map(|(_, g)| g).collect())
}

fn load_group(tx: &Tx<'_>, ctx: &RequestContext, id: &str) -> Result<GroupRecord, Error> {
    check_group_id(id)?;
    tx.get(GROUPS, &scoped_key(&ctx.account_id, &ctx.region, id))?
        .ok_or_else(|| group_not_found(id))
}

fn find_by_name(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    vpc_id: &str,
    name: &str,
) -> Result<Option<GroupRecord>, Error> {
    Ok(all_groups(tx, ctx)?
        .into_iter()
        .find(|g| g.vpc_id == vpc_id && g.name == name))
}

fn save_group(tx: &Tx<'_>, ctx: &RequestContext, group: &GroupRecord) -> Result<(), Error> {
    tx.put(
        GROUPS,
        &scoped_key(&ctx.account_id, &ctx.region, &group.id),
        group,
    )?;
    Ok(())
}

/// How a request names the group it changes.
enum Target {
    Id(String),
    /// A name in the default VPC.
    Name(String),
}

impl Target {
    fn from_parts(group_id: Option<String>, group_name: Option<String>) -> Result<Self, Error> {
        match (
            group_id.filter(|s| !s.is_empty()),
            group_name.filter(|s| !s.is_empty()),
        ) {
            (Some(id), _) => Ok(Target::Id(id)),
            (None, Some(name)) => Ok(Target::Name(name)),
            (None, None) => Err(Error::MissingParameter(
                "The request must contain the parameter groupName or groupId".into(),
            )),
        }
    }
}

/// The permissions of an Authorize/Revoke request: `IpPermissions`, or the flat parameters, not
/// both.
fn permissions(
    list: Option<Vec<IpPermission>>,
    flat: Option<IpPermission>,
) -> Result<Vec<IpPermission>, Error> {
    let list = list.unwrap_or_default();
    match (list.is_empty(), flat) {
        (false, Some(_)) => Err(Error::InvalidParameterCombination(
            "The parameter 'ipPermissions' may not be used in combination with 'ipProtocol', 'fromPort', 'toPort', 'cidrIp' or 'sourceSecurityGroupName'".into(),
        )),
        (true, Some(flat)) => Ok(vec![flat]),
        (_, None) => Ok(list),
    }
}

fn resolve_target(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    target: &Target,
) -> Result<GroupRecord, Error> {
    match target {
        Target::Id(id) => load_group(tx, ctx, id),
        Target::Name(name) => {
            let default_vpc = default_vpc_in(tx, ctx)?;
            find_by_name(tx, ctx, &default_vpc, name)?.ok_or_else(|| {
                Error::InvalidGroupNotFound(format!(
                    "The security group '{name}' does not exist in default VPC '{default_vpc}'"
                ))
            })
        }
    }
}

/// The default VPC's id, read inside a transaction (the default network must already exist:
/// every operation creates it before opening its write).
fn default_vpc_in(tx: &Tx<'_>, ctx: &RequestContext) -> Result<String, Error> {
    default_network::default_vpc_id(tx, &ctx.account_id, &ctx.region)?
        .ok_or_else(|| Error::InternalError("the default vpc is missing".into()))
}

/// Resolves a requested peer within `target`'s VPC.
fn resolve_peer(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    target: &GroupRecord,
    peer: &RequestedPeer,
    must_exist: bool,
) -> Result<Peer, Error> {
    let (group, user_id) = match peer {
        RequestedPeer::Resolved(p) => return Ok(p.clone()),
        RequestedPeer::GroupId { group_id, user_id } => {
            if group_id == &target.id {
                return Ok(Peer::Group {
                    group_id: group_id.clone(),
                    user_id: target.owner_id.clone(),
                });
            }
            check_group_id(group_id)?;
            let found = tx.get(GROUPS, &scoped_key(&ctx.account_id, &ctx.region, group_id))?;
            match found {
                Some(g) => (g, user_id),
                None if !must_exist => {
                    return Ok(Peer::Group {
                        group_id: group_id.clone(),
                        user_id: user_id.clone().unwrap_or_else(|| ctx.account_id.clone()),
                    })
                }
                None => return Err(group_not_found(group_id)),
            }
        }
        RequestedPeer::GroupName { name, user_id } => {
            let found = find_by_name(tx, ctx, &target.vpc_id, name)?.ok_or_else(|| {
                Error::InvalidGroupNotFound(format!(
                    "The security group '{name}' does not exist in VPC '{}'",
                    target.vpc_id
                ))
            })?;
            (found, user_id)
        }
    };
    if group.vpc_id != target.vpc_id {
        return Err(Error::InvalidGroupNotFound(format!(
            "You have specified two resources that belong to different networks: {} is in {} and {} is in {}.",
            target.id, target.vpc_id, group.id, group.vpc_id
        )));
    }
    Ok(Peer::Group {
        group_id: group.id,
        user_id: user_id.clone().unwrap_or(group.owner_id),
    })
}

/// Adds rules to a group; the common part of AuthorizeSecurityGroupIngress/Egress.
fn authorize(
    ec2: &Ec2,
    ctx: &RequestContext,
    target: Target,
    egress: bool,
    permissions: Vec<IpPermission>,
    tag_specifications: Option<Vec<TagSpecification>>,
) -> Result<Vec<SecurityGroupRule>, Error> {
    let requested: Vec<RequestedRule> = rules::expand(&permissions)?;
    if requested.is_empty() {
        return Err(Error::MissingParameter(
            "The request must contain the parameter ipPermissions".into(),
        ));
    }
    let rule_tags =
        tags::from_specifications(tag_specifications.as_deref(), "security-group-rule")?;
    default_network::ensure(ec2, &ctx.account_id, &ctx.region)?;
    let (group, added) = ec2.store.write(|tx| {
        let mut group = resolve_target(tx, ctx, &target)?;
        let mut added = Vec::new();
        for want in &requested {
            let peer = resolve_peer(tx, ctx, &group, &want.peer, true)?;
            if group
                .rules
                .iter()
                .any(|r| r.same_as(egress, &want.protocol, want.from_port, want.to_port, &peer))
            {
                return Err(rules::duplicate_error(
                    &want.protocol,
                    want.from_port,
                    want.to_port,
                    &peer,
                ));
            }
            let rule = Rule {
                id: Rule::new_id(ec2.ids.as_ref()),
                egress,
                protocol: want.protocol.clone(),
                from_port: want.from_port,
                to_port: want.to_port,
                peer,
                description: want.description.clone(),
                tags: rule_tags.clone(),
            };
            group.rules.push(rule.clone());
            added.push(rule);
        }
        if group.rules.iter().filter(|r| r.egress == egress).count() > MAX_RULES_PER_DIRECTION {
            return Err(Error::RulesPerSecurityGroupLimitExceeded(
                "The maximum number of rules per security group has been reached.".into(),
            ));
        }
        save_group(tx, ctx, &group)?;
        Ok((group, added))
    })?;
    ec2.filters_changed();
    tracing::info!(group = %group.id, egress, rules = added.len(), "authorized security group rules");
    Ok(added
        .iter()
        .map(|r| rules::to_security_group_rule(r, &group.id, &group.owner_id, &ctx.region))
        .collect())
}

/// Removes rules from a group; the common part of RevokeSecurityGroupIngress/Egress. Either
/// every named rule exists and all go, or nothing changes.
fn revoke(
    ec2: &Ec2,
    ctx: &RequestContext,
    target: Target,
    egress: bool,
    permissions: Vec<IpPermission>,
    rule_ids: Vec<String>,
) -> Result<Vec<RevokedSecurityGroupRule>, Error> {
    let requested: Vec<RequestedRule> = rules::expand(&permissions)?;
    if requested.is_empty() && rule_ids.is_empty() {
        return Err(Error::MissingParameter(
            "The request must contain the parameter ipPermissions or securityGroupRuleIds".into(),
        ));
    }
    default_network::ensure(ec2, &ctx.account_id, &ctx.region)?;
    let (group, removed) = ec2.store.write(|tx| {
        let mut group = resolve_target(tx, ctx, &target)?;
        let mut removed: Vec<Rule> = Vec::new();
        for id in &rule_ids {
            let Some(pos) = group
                .rules
                .iter()
                .position(|r| r.id == *id && r.egress == egress)
            else {
                return Err(Error::InvalidSecurityGroupRuleIdNotFound(format!(
                    "The security group rule ID '{id}' does not exist"
                )));
            };
            removed.push(group.rules.remove(pos));
        }
        for want in &requested {
            let peer = resolve_peer(tx, ctx, &group, &want.peer, false)?;
            let Some(pos) = group.rules.iter().position(|r| {
                r.same_as(egress, &want.protocol, want.from_port, want.to_port, &peer)
            }) else {
                return Err(Error::InvalidPermissionNotFound(
                    "The specified rule does not exist in this security group.".into(),
                ));
            };
            removed.push(group.rules.remove(pos));
        }
        save_group(tx, ctx, &group)?;
        Ok((group, removed))
    })?;
    ec2.filters_changed();
    tracing::info!(group = %group.id, egress, rules = removed.len(), "revoked security group rules");
    Ok(removed
        .iter()
        .map(|r| rules::to_revoked_rule(r, &group.id))
        .collect())
}

/// CreateSecurityGroup.
pub fn create(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: CreateSecurityGroupRequest,
) -> Result<CreateSecurityGroupResult, Error> {
    check_dry_run(input.dry_run)?;
    check_text("GroupName", &input.group_name)?;
    check_text("GroupDescription", &input.description)?;
    if input.group_name.to_ascii_lowercase().starts_with("sg-") {
        return Err(Error::InvalidParameterValue(format!(
            "Value ({}) for parameter GroupName is invalid. Group names may not be in the format sg-*",
            input.group_name
        )));
    }
    if input.group_name.eq_ignore_ascii_case(DEFAULT_GROUP_NAME) {
        return Err(Error::InvalidParameterValue(
            "Cannot use reserved security group name: default".into(),
        ));
    }
    let group_tags =
        tags::from_specifications(input.tag_specifications.as_deref(), "security-group")?;
    let defaults = default_network::ensure(ec2, &ctx.account_id, &ctx.region)?;
    let vpc_id = input
        .vpc_id
        .filter(|v| !v.is_empty())
        .unwrap_or(defaults.vpc_id);
    let group = GroupRecord {
        id: format!("sg-{}", ec2.ids.hex(17)),
        name: input.group_name,
        description: input.description,
        vpc_id,
        owner_id: ctx.account_id.clone(),
        tags: group_tags,
        rules: vec![Rule::allow_all_egress(ec2.ids.as_ref())],
    };
    ec2.store.write(|tx| {
        if !tx.exists(
            VPCS,
            &scoped_key(&ctx.account_id, &ctx.region, &group.vpc_id),
        )? {
            return Err(Error::InvalidVpcIDNotFound(format!(
                "The vpc ID '{}' does not exist",
                group.vpc_id
            )));
        }
        if find_by_name(tx, ctx, &group.vpc_id, &group.name)?.is_some() {
            return Err(Error::InvalidGroupDuplicate(format!(
                "The security group '{}' already exists for VPC '{}'",
                group.name, group.vpc_id
            )));
        }
        save_group(tx, ctx, &group)
    })?;
    tracing::info!(group = %group.id, name = %group.name, vpc = %group.vpc_id, "created security group");
    Ok(CreateSecurityGroupResult {
        group_id: Some(group.id.clone()),
        tags: tags::to_wire(&group.tags),
        security_group_arn: Some(arn(&ctx.region, &group.owner_id, &group.id)),
    })
}

/// DescribeSecurityGroups.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeSecurityGroupsRequest,
) -> Result<DescribeSecurityGroupsResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), GROUP_FILTERS)?;
    let defaults = default_network::ensure(ec2, &ctx.account_id, &ctx.region)?;
    let mut groups = ec2.store.read(|tx| all_groups(tx, ctx))?;
    let ids = input.group_ids.unwrap_or_default();
    let names = input.group_names.unwrap_or_default();
    if !ids.is_empty() || !names.is_empty() {
        for id in &ids {
            check_group_id(id)?;
            if !groups.iter().any(|g| g.id == *id) {
                return Err(group_not_found(id));
            }
        }
        for name in &names {
            if !groups
                .iter()
                .any(|g| g.name == *name && g.vpc_id == defaults.vpc_id)
            {
                return Err(Error::InvalidGroupNotFound(format!(
                    "The security group '{name}' does not exist in default VPC '{}'",
                    defaults.vpc_id
                )));
            }
        }
        groups.retain(|g| {
            ids.contains(&g.id) || (g.vpc_id == defaults.vpc_id && names.contains(&g.name))
        });
    }
    let names_by_id: HashMap<String, String> = groups
        .iter()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect();
    groups.retain(|g| filters.matches(|name| g.field(name, &names_by_id), &g.tags));
    let (groups, next_token) = page(
        groups,
        |g| g.id.clone(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(DescribeSecurityGroupsResult {
        security_groups: Some(groups.iter().map(|g| g.to_wire(&ctx.region)).collect()),
        next_token,
    })
}

/// DeleteSecurityGroup: not the `default` group, nor one that a rule of another group or a network interface refers to.
pub fn delete(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DeleteSecurityGroupRequest,
) -> Result<DeleteSecurityGroupResult, Error> {
    check_dry_run(input.dry_run)?;
    let target = Target::from_parts(input.group_id, input.group_name)?;
    default_network::ensure(ec2, &ctx.account_id, &ctx.region)?;
    let group_id = ec2.store.write(|tx| {
        let group = resolve_target(tx, ctx, &target)?;
        if group.name == DEFAULT_GROUP_NAME {
            return Err(Error::CannotDelete(format!(
                "the specified group: \"{}\" name: \"default\" cannot be deleted by a user",
                group.id
            )));
        }
        let referenced = all_groups(tx, ctx)?.iter().any(|other| {
            other.id != group.id
                && other.rules.iter().any(
                    |r| matches!(&r.peer, Peer::Group { group_id, .. } if *group_id == group.id),
                )
        });
        if referenced
            || network_interfaces::group_in_use(tx, &ctx.account_id, &ctx.region, &group.id)?
        {
            return Err(Error::DependencyViolation(format!(
                "resource {} has a dependent object",
                group.id
            )));
        }
        tx.delete(GROUPS, &scoped_key(&ctx.account_id, &ctx.region, &group.id))?;
        Ok(group.id)
    })?;
    tracing::info!(group = %group_id, "deleted security group");
    Ok(DeleteSecurityGroupResult {
        r#return: Some(true),
        group_id: Some(group_id),
    })
}

/// AuthorizeSecurityGroupIngress.
pub fn authorize_ingress(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: AuthorizeSecurityGroupIngressRequest,
) -> Result<AuthorizeSecurityGroupIngressResult, Error> {
    check_dry_run(input.dry_run)?;
    let target = Target::from_parts(input.group_id, input.group_name)?;
    let flat = rules::flat_permission(
        input.ip_protocol,
        input.from_port,
        input.to_port,
        input.cidr_ip,
        input.source_security_group_name,
        input.source_security_group_owner_id,
    )?;
    let perms = permissions(input.ip_permissions, flat)?;
    let added = authorize(ec2, ctx, target, false, perms, input.tag_specifications)?;
    Ok(AuthorizeSecurityGroupIngressResult {
        r#return: Some(true),
        security_group_rules: Some(added),
    })
}

/// AuthorizeSecurityGroupEgress.
pub fn authorize_egress(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: AuthorizeSecurityGroupEgressRequest,
) -> Result<AuthorizeSecurityGroupEgressResult, Error> {
    check_dry_run(input.dry_run)?;
    let flat = rules::flat_permission(
        input.ip_protocol,
        input.from_port,
        input.to_port,
        input.cidr_ip,
        input.source_security_group_name,
        input.source_security_group_owner_id,
    )?;
    let perms = permissions(input.ip_permissions, flat)?;
    let added = authorize(
        ec2,
        ctx,
        Target::Id(input.group_id),
        true,
        perms,
        input.tag_specifications,
    )?;
    Ok(AuthorizeSecurityGroupEgressResult {
        r#return: Some(true),
        security_group_rules: Some(added),
    })
}

/// RevokeSecurityGroupIngress.
pub fn revoke_ingress(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: RevokeSecurityGroupIngressRequest,
) -> Result<RevokeSecurityGroupIngressResult, Error> {
    check_dry_run(input.dry_run)?;
    let target = Target::from_parts(input.group_id, input.group_name)?;
    let flat = rules::flat_permission(
        input.ip_protocol,
        input.from_port,
        input.to_port,
        input.cidr_ip,
        input.source_security_group_name,
        input.source_security_group_owner_id,
    )?;
    let perms = permissions(input.ip_permissions, flat)?;
    let removed = revoke(
        ec2,
        ctx,
        target,
        false,
        perms,
        input.security_group_rule_ids.unwrap_or_default(),
    )?;
    Ok(RevokeSecurityGroupIngressResult {
        r#return: Some(true),
        unknown_ip_permissions: None,
        revoked_security_group_rules: Some(removed),
    })
}

/// RevokeSecurityGroupEgress.
pub fn revoke_egress(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: RevokeSecurityGroupEgressRequest,
) -> Result<RevokeSecurityGroupEgressResult, Error> {
    check_dry_run(input.dry_run)?;
    let flat = rules::flat_permission(
        input.ip_protocol,
        input.from_port,
        input.to_port,
        input.cidr_ip,
        input.source_security_group_name,
        input.source_security_group_owner_id,
    )?;
    let perms = permissions(input.ip_permissions, flat)?;
    let removed = revoke(
        ec2,
        ctx,
        Target::Id(input.group_id),
        true,
        perms,
        input.security_group_rule_ids.unwrap_or_default(),
    )?;
    Ok(RevokeSecurityGroupEgressResult {
        r#return: Some(true),
        unknown_ip_permissions: None,
        revoked_security_group_rules: Some(removed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{Ec2Api, Filter, IpRange, UserIdGroupPair};
    use crate::tests::setup;

    fn create(ec2: &Ec2, ctx: &RequestContext, name: &str) -> String {
        ec2.create_security_group(
            ctx,
            CreateSecurityGroupRequest {
                group_name: name.into(),
                description: format!("{name} group"),
                ..Default::default()
            },
        )
        .unwrap()
        .group_id
        .unwrap()
    }

    fn describe(ec2: &Ec2, ctx: &RequestContext, id: &str) -> SecurityGroup {
        ec2.describe_security_groups(
            ctx,
            DescribeSecurityGroupsRequest {
                group_ids: Some(vec![id.into()]),
                ..Default::default()
            },
        )
        .unwrap()
        .security_groups
        .unwrap()
        .remove(0)
    }

    /// What `--protocol P --port N --cidr C` sends.
    fn cli_cidr(protocol: &str, port: Option<i32>, cidr: &str) -> IpPermission {
        IpPermission {
            ip_protocol: Some(protocol.into()),
            from_port: port,
            to_port: port,
            ip_ranges: Some(vec![IpRange {
                cidr_ip: Some(cidr.into()),
                description: None,
            }]),
            ..IpPermission::default()
        }
    }

    /// What `--protocol tcp --port N --source-group sg-x` sends.
    fn cli_source_group(port: i32, group: &str) -> IpPermission {
        IpPermission {
            ip_protocol: Some("tcp".into()),
            from_port: Some(port),
            to_port: Some(port),
            user_id_group_pairs: Some(vec![UserIdGroupPair {
                group_id: Some(group.into()),
                ..Default::default()
            }]),
            ..IpPermission::default()
        }
    }

    fn ingress(
        ec2: &Ec2,
        ctx: &RequestContext,
        group: &str,
        perm: IpPermission,
    ) -> Result<AuthorizeSecurityGroupIngressResult, Error> {
        ec2.authorize_security_group_ingress(
            ctx,
            AuthorizeSecurityGroupIngressRequest {
                group_id: Some(group.into()),
                ip_permissions: Some(vec![perm]),
                ..Default::default()
            },
        )
    }

    fn revoke_ingress(
        ec2: &Ec2,
        ctx: &RequestContext,
        group: &str,
        perm: IpPermission,
    ) -> Result<RevokeSecurityGroupIngressResult, Error> {
        ec2.revoke_security_group_ingress(
            ctx,
            RevokeSecurityGroupIngressRequest {
                group_id: Some(group.into()),
                ip_permissions: Some(vec![perm]),
                ..Default::default()
            },
        )
    }

    #[test]
    fn default_group_exists_in_the_default_vpc() {
        let (_dir, ec2, ctx) = setup();
        let groups = ec2
            .describe_security_groups(
                &ctx,
                DescribeSecurityGroupsRequest {
                    group_names: Some(vec!["default".into()]),
                    ..Default::default()
                },
            )
            .unwrap()
            .security_groups
            .unwrap();
        assert_eq!(groups.len(), 1);
        let g = &groups[0];
        assert_eq!(g.description.as_deref(), Some("default VPC security group"));
        let net = default_network::ensure(&ec2, &ctx.account_id, &ctx.region).unwrap();
        assert_eq!(g.vpc_id.as_deref(), Some(net.vpc_id.as_str()));
        let inbound = g.ip_permissions.as_ref().unwrap();
        assert_eq!(inbound[0].ip_protocol.as_deref(), Some("-1"));
        assert_eq!(
            inbound[0].user_id_group_pairs.as_ref().unwrap()[0].group_id,
            g.group_id
        );
        let outbound = g.ip_permissions_egress.as_ref().unwrap();
        assert_eq!(
            outbound[0].ip_ranges.as_ref().unwrap()[0]
                .cidr_ip
                .as_deref(),
            Some("0.0.0.0/0")
        );

        let err = ec2
            .delete_security_group(
                &ctx,
                DeleteSecurityGroupRequest {
                    group_id: g.group_id.clone(),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(matches!(err, Error::CannotDelete(_)));
    }

    #[test]
    fn create_security_group_in_the_default_vpc() {
        let (_dir, ec2, ctx) = setup();
        let net = default_network::ensure(&ec2, &ctx.account_id, &ctx.region).unwrap();
        let created = ec2
            .create_security_group(
                &ctx,
                CreateSecurityGroupRequest {
                    group_name: "news-api-ecs-sg".into(),
                    description: "Security group for News API ECS tasks".into(),
                    vpc_id: Some(net.vpc_id.clone()),
                    tag_specifications: Some(vec![TagSpecification {
                        resource_type: Some("security-group".into()),
                        tags: Some(vec![crate::generated::Tag {
                            key: Some("Name".into()),
                            value: Some("ecs".into()),
                        }]),
                    }]),
                    ..Default::default()
                },
            )
            .unwrap();
        let id = created.group_id.clone().unwrap();
        assert!(id.starts_with("sg-") && id.len() == 20);
        assert_eq!(
            created.security_group_arn.unwrap(),
            format!("arn:aws:ec2:us-east-1:123456789012:security-group/{id}")
        );
        assert_eq!(created.tags.unwrap().len(), 1);

        let g = describe(&ec2, &ctx, &id);
        assert_eq!(g.group_name.as_deref(), Some("news-api-ecs-sg"));
        assert_eq!(g.ip_permissions, Some(vec![]));
        let egress = g.ip_permissions_egress.unwrap();
        assert_eq!(egress.len(), 1);
        assert_eq!(egress[0].ip_protocol.as_deref(), Some("-1"));
        assert_eq!(
            egress[0].ip_ranges.as_ref().unwrap()[0].cidr_ip.as_deref(),
            Some("0.0.0.0/0")
        );

        // Created without a VPC id, a group lands in the default VPC too.
        let other = create(&ec2, &ctx, "other");
        assert_eq!(
            describe(&ec2, &ctx, &other).vpc_id,
            Some(net.vpc_id.clone())
        );

        let err = ec2
            .create_security_group(
                &ctx,
                CreateSecurityGroupRequest {
                    group_name: "news-api-ecs-sg".into(),
                    description: "again".into(),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidGroupDuplicate(format!(
                "The security group 'news-api-ecs-sg' already exists for VPC '{}'",
                net.vpc_id
            ))
        );
    }

    #[test]
    fn create_security_group_refusals() {
        let (_dir, ec2, ctx) = setup();
        for (name, vpc) in [
            ("sg-web", None),
            ("default", None),
            ("caf\u{e9}", None),
            ("", None),
            ("ok", Some("vpc-nope")),
        ] {
            let err = ec2
                .create_security_group(
                    &ctx,
                    CreateSecurityGroupRequest {
                        group_name: name.into(),
                        description: "d".into(),
                        vpc_id: vpc.map(String::from),
                        ..Default::default()
                    },
                )
                .unwrap_err();
            if vpc.is_some() {
                assert_eq!(
                    err,
                    Error::InvalidVpcIDNotFound("The vpc ID 'vpc-nope' does not exist".into())
                );
            } else {
                assert!(
                    matches!(err, Error::InvalidParameterValue(_)),
                    "{name}: {err:?}"
                );
            }
        }
    }

    #[test]
    fn describe_unknown_or_malformed_groups() {
        let (_dir, ec2, ctx) = setup();
        let err = ec2
            .describe_security_groups(
                &ctx,
                DescribeSecurityGroupsRequest {
                    group_ids: Some(vec!["sg-0123".into()]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidGroupNotFound("The security group 'sg-0123' does not exist".into())
        );
        let err = ec2
            .describe_security_groups(
                &ctx,
                DescribeSecurityGroupsRequest {
                    group_ids: Some(vec!["web".into()]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidGroupIdMalformed(_)));
        let err = ec2
            .describe_security_groups(
                &ctx,
                DescribeSecurityGroupsRequest {
                    group_names: Some(vec!["nope".into()]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidGroupNotFound(_)));
    }

    #[test]
    fn describe_filters_and_pagination() {
        let (_dir, ec2, ctx) = setup();
        let web = create(&ec2, &ctx, "web");
        create(&ec2, &ctx, "worker");
        create(&ec2, &ctx, "db");
        ingress(&ec2, &ctx, &web, cli_cidr("tcp", Some(443), "0.0.0.0/0")).unwrap();
        let filter = |name: &str, value: &str| Filter {
            name: Some(name.into()),
            values: Some(vec![value.into()]),
        };
        let names = |filters: Vec<Filter>| -> Vec<String> {
            let mut out: Vec<String> = ec2
                .describe_security_groups(
                    &ctx,
                    DescribeSecurityGroupsRequest {
                        filters: Some(filters),
                        ..Default::default()
                    },
                )
                .unwrap()
                .security_groups
                .unwrap()
                .into_iter()
                .map(|g| g.group_name.unwrap())
                .collect();
            out.sort();
            out
        };
        assert_eq!(names(vec![filter("group-name", "w*")]), ["web", "worker"]);
        assert_eq!(names(vec![filter("description", "db group")]), ["db"]);
        assert_eq!(names(vec![filter("group-id", &web)]), ["web"]);
        assert_eq!(
            names(vec![filter("ip-permission.from-port", "443")]),
            ["web"]
        );
        assert_eq!(
            names(vec![filter("ip-permission.group-name", "default")]),
            ["default"]
        );
        assert_eq!(
            names(vec![filter("egress.ip-permission.cidr", "0.0.0.0/0")]).len(),
            4
        );
        assert!(ec2
            .describe_security_groups(
                &ctx,
                DescribeSecurityGroupsRequest {
                    filters: Some(vec![filter("colour", "x")]),
                    ..Default::default()
                }
            )
            .is_err());

        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = ec2
                .describe_security_groups(
                    &ctx,
                    DescribeSecurityGroupsRequest {
                        max_results: Some(3),
                        next_token: token.clone(),
                        ..Default::default()
                    },
                )
                .unwrap();
            seen.extend(
                page.security_groups
                    .unwrap()
                    .into_iter()
                    .map(|g| g.group_id.unwrap()),
            );
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn seed_walkthrough_egress_then_source_group_then_revoke() {
        let (_dir, ec2, ctx) = setup();
        let ecs_sg = create(&ec2, &ctx, "news-api-ecs-sg");
        let rds_sg = create(&ec2, &ctx, "rds");

        // `authorize-security-group-egress --protocol -1 --cidr 0.0.0.0/0` duplicates the default rule.
        let err = ec2
            .authorize_security_group_egress(
                &ctx,
                AuthorizeSecurityGroupEgressRequest {
                    group_id: ecs_sg.clone(),
                    ip_permissions: Some(vec![cli_cidr("-1", None, "0.0.0.0/0")]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidPermissionDuplicate(
                "the specified rule \"peer: 0.0.0.0/0, ALL, ALLOW\" already exists".into()
            )
        );

        // Section 5's broad rule, then the source-group rule that replaces it.
        ingress(
            &ec2,
            &ctx,
            &rds_sg,
            cli_cidr("tcp", Some(5432), "172.31.0.0/16"),
        )
        .unwrap();
        let added = ingress(&ec2, &ctx, &rds_sg, cli_source_group(5432, &ecs_sg)).unwrap();
        assert_eq!(added.r#return, Some(true));
        let rule = &added.security_group_rules.unwrap()[0];
        assert!(rule
            .security_group_rule_id
            .as_deref()
            .unwrap()
            .starts_with("sgr-"));
        assert_eq!(rule.is_egress, Some(false));
        assert_eq!(
            rule.referenced_group_info
                .as_ref()
                .unwrap()
                .group_id
                .as_deref(),
            Some(ecs_sg.as_str())
        );

        let g = describe(&ec2, &ctx, &rds_sg);
        let perms = g.ip_permissions.unwrap();
        assert_eq!(
            perms.len(),
            1,
            "same protocol and port share one IpPermission"
        );
        assert_eq!(perms[0].ip_ranges.as_ref().unwrap().len(), 1);
        assert_eq!(
            perms[0].user_id_group_pairs.as_ref().unwrap()[0]
                .user_id
                .as_deref(),
            Some("123456789012")
        );

        let err = ingress(&ec2, &ctx, &rds_sg, cli_source_group(5432, &ecs_sg)).unwrap_err();
        assert!(matches!(err, Error::InvalidPermissionDuplicate(_)));

        // The ECS group is now referenced: it cannot go.
        let err = ec2
            .delete_security_group(
                &ctx,
                DeleteSecurityGroupRequest {
                    group_id: Some(ecs_sg.clone()),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::DependencyViolation(format!("resource {ecs_sg} has a dependent object"))
        );

        let revoked = revoke_ingress(
            &ec2,
            &ctx,
            &rds_sg,
            cli_cidr("6", Some(5432), "172.31.0.0/16"),
        )
        .unwrap();
        assert_eq!(
            revoked.revoked_security_group_rules.unwrap()[0]
                .cidr_ipv4
                .as_deref(),
            Some("172.31.0.0/16")
        );
        let err = revoke_ingress(
            &ec2,
            &ctx,
            &rds_sg,
            cli_cidr("tcp", Some(5432), "172.31.0.0/16"),
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidPermissionNotFound(
                "The specified rule does not exist in this security group.".into()
            )
        );

        let perms = describe(&ec2, &ctx, &rds_sg).ip_permissions.unwrap();
        assert_eq!(perms[0].ip_ranges, Some(vec![]));
        assert_eq!(perms[0].user_id_group_pairs.as_ref().unwrap().len(), 1);

        revoke_ingress(&ec2, &ctx, &rds_sg, cli_source_group(5432, &ecs_sg)).unwrap();
        ec2.delete_security_group(
            &ctx,
            DeleteSecurityGroupRequest {
                group_id: Some(ecs_sg.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(ec2
            .describe_security_groups(
                &ctx,
                DescribeSecurityGroupsRequest {
                    group_ids: Some(vec![ecs_sg]),
                    ..Default::default()
                }
            )
            .is_err());
    }

    #[test]
    fn sixty_rules_per_direction_and_no_more() {
        let (_dir, ec2, ctx) = setup();
        let web = create(&ec2, &ctx, "web");
        let rule = |port: i32| IpPermission {
            ip_protocol: Some("tcp".into()),
            from_port: Some(port),
            to_port: Some(port),
            ip_ranges: Some(vec![IpRange {
                cidr_ip: Some("10.0.0.0/16".into()),
                ..Default::default()
            }]),
            ..IpPermission::default()
        };
        for port in 1..=60 {
            ingress(&ec2, &ctx, &web, rule(port)).unwrap();
        }
        let refused = ingress(&ec2, &ctx, &web, rule(61)).unwrap_err();
        assert_eq!(refused.shape(), "RulesPerSecurityGroupLimitExceeded");
        // Egress rules count apart (the default one is there already).
        ec2.authorize_security_group_egress(
            &ctx,
            AuthorizeSecurityGroupEgressRequest {
                group_id: web.clone(),
                ip_permissions: Some(vec![rule(61)]),
                ..Default::default()
            },
        )
        .unwrap();
    }

    #[test]
    fn flat_parameters_and_group_names() {
        let (_dir, ec2, ctx) = setup();
        let web = create(&ec2, &ctx, "web");
        create(&ec2, &ctx, "lb");
        // boto3-style flat parameters, the group named rather than given by id.
        let out = ec2
            .authorize_security_group_ingress(
                &ctx,
                AuthorizeSecurityGroupIngressRequest {
                    group_name: Some("web".into()),
                    ip_protocol: Some("tcp".into()),
                    from_port: Some(8000),
                    to_port: Some(8000),
                    cidr_ip: Some("203.0.113.7/32".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            out.security_group_rules.unwrap()[0].cidr_ipv4.as_deref(),
            Some("203.0.113.7/32")
        );
        // The CLI's `--source-group lb` (a name) becomes a GroupName pair.
        let by_name = IpPermission {
            ip_protocol: Some("tcp".into()),
            from_port: Some(8000),
            to_port: Some(8000),
            user_id_group_pairs: Some(vec![UserIdGroupPair {
                group_name: Some("lb".into()),
                ..Default::default()
            }]),
            ..IpPermission::default()
        };
        ingress(&ec2, &ctx, &web, by_name).unwrap();
        let perms = describe(&ec2, &ctx, &web).ip_permissions.unwrap();
        assert_eq!(perms.len(), 1);
        assert!(perms[0].user_id_group_pairs.as_ref().unwrap()[0]
            .group_id
            .as_deref()
            .unwrap()
            .starts_with("sg-"));

        let both = ec2
            .authorize_security_group_ingress(
                &ctx,
                AuthorizeSecurityGroupIngressRequest {
                    group_id: Some(web.clone()),
                    ip_protocol: Some("tcp".into()),
                    ip_permissions: Some(vec![cli_cidr("tcp", Some(1), "0.0.0.0/0")]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(matches!(both, Error::InvalidParameterCombination(_)));
        let unknown_source = ingress(
            &ec2,
            &ctx,
            &web,
            cli_source_group(80, "sg-00000000000000000"),
        )
        .unwrap_err();
        assert!(matches!(unknown_source, Error::InvalidGroupNotFound(_)));
        let unknown_group = ingress(
            &ec2,
            &ctx,
            "sg-00000000000000000",
            cli_cidr("tcp", Some(80), "0.0.0.0/0"),
        )
        .unwrap_err();
        assert!(matches!(unknown_group, Error::InvalidGroupNotFound(_)));
        let missing_ports =
            ingress(&ec2, &ctx, &web, cli_cidr("tcp", None, "0.0.0.0/0")).unwrap_err();
        assert!(matches!(missing_ports, Error::InvalidParameterValue(_)));
    }

    #[test]
    fn egress_rules_and_revoke_by_rule_id() {
        let (_dir, ec2, ctx) = setup();
        let g = create(&ec2, &ctx, "app");
        let added = ec2
            .authorize_security_group_egress(
                &ctx,
                AuthorizeSecurityGroupEgressRequest {
                    group_id: g.clone(),
                    ip_permissions: Some(vec![cli_cidr("udp", Some(53), "10.0.0.2/32")]),
                    ..Default::default()
                },
            )
            .unwrap()
            .security_group_rules
            .unwrap();
        assert_eq!(added[0].is_egress, Some(true));
        assert_eq!(
            describe(&ec2, &ctx, &g)
                .ip_permissions_egress
                .unwrap()
                .len(),
            2
        );

        let rule_id = added[0].security_group_rule_id.clone().unwrap();
        let err = ec2
            .revoke_security_group_ingress(
                &ctx,
                RevokeSecurityGroupIngressRequest {
                    group_id: Some(g.clone()),
                    security_group_rule_ids: Some(vec![rule_id.clone()]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidSecurityGroupRuleIdNotFound(_)),
            "an egress rule is not an ingress rule"
        );
        ec2.revoke_security_group_egress(
            &ctx,
            RevokeSecurityGroupEgressRequest {
                group_id: g.clone(),
                security_group_rule_ids: Some(vec![rule_id]),
                ..Default::default()
            },
        )
        .unwrap();
        // Removing the default egress rule leaves a group with no outbound rules.
        ec2.revoke_security_group_egress(
            &ctx,
            RevokeSecurityGroupEgressRequest {
                group_id: g.clone(),
                ip_permissions: Some(vec![cli_cidr("all", None, "0.0.0.0/0")]),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(describe(&ec2, &ctx, &g).ip_permissions_egress, Some(vec![]));
    }

    #[test]
    fn delete_by_name_and_unknown_groups() {
        let (_dir, ec2, ctx) = setup();
        create(&ec2, &ctx, "temp");
        let out = ec2
            .delete_security_group(
                &ctx,
                DeleteSecurityGroupRequest {
                    group_name: Some("temp".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(out.r#return, Some(true));
        assert!(matches!(
            ec2.delete_security_group(
                &ctx,
                DeleteSecurityGroupRequest {
                    group_name: Some("temp".into()),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidGroupNotFound(_))
        ));
        assert!(matches!(
            ec2.delete_security_group(&ctx, DeleteSecurityGroupRequest::default()),
            Err(Error::MissingParameter(_))
        ));
    }

    #[test]
    fn a_group_may_reference_itself_and_still_be_deleted() {
        let (_dir, ec2, ctx) = setup();
        let g = create(&ec2, &ctx, "mesh");
        ingress(&ec2, &ctx, &g, cli_source_group(7000, &g)).unwrap();
        ec2.delete_security_group(
            &ctx,
            DeleteSecurityGroupRequest {
                group_id: Some(g),
                ..Default::default()
            },
        )
        .unwrap();
    }
}
