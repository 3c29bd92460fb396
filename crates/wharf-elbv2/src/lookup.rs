//! Finding resources by ARN, as every resource module does: an ARN argument must name the
//! right kind of resource (else `ValidationError`), and one in another account or region is
//! not found; then the record is read (a listener's default rule from its listener). Also who
//! uses which target group ([`Usage`]), which target groups, listeners and rules all need.

use crate::actions;
use crate::errors::{invalid, lb_not_found, listener_not_found, rule_not_found, tg_not_found};
use crate::generated::Error;
use crate::names::{parse_arn, ParsedArn, Resource};
use crate::records::{
    self, StoredListener, StoredLoadBalancer, StoredRule, StoredTargetGroup, LISTENERS,
    LOAD_BALANCERS, RULES, TARGET_GROUPS,
};
use std::collections::{BTreeMap, BTreeSet};
use wharf_core::RequestContext;
use wharf_store::{StoreError, Tx};

/// The kind of resource an ARN argument must name, for the error about a malformed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    LoadBalancer,
    TargetGroup,
    Listener,
    Rule,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::LoadBalancer => "load balancer",
            Kind::TargetGroup => "target group",
            Kind::Listener => "listener",
            Kind::Rule => "listener rule",
        }
    }
}

/// Parses `arn`, which must name a resource of `kind`.
pub(crate) fn parse_kind(arn: &str, kind: Kind) -> Result<ParsedArn, Error> {
    let parsed = parse_arn(arn)
        .filter(|p| {
            matches!(
                (&p.resource, kind),
                (Resource::LoadBalancer { .. }, Kind::LoadBalancer)
                    | (Resource::TargetGroup { .. }, Kind::TargetGroup)
                    | (Resource::Listener { .. }, Kind::Listener)
                    | (Resource::Rule { .. }, Kind::Rule)
            )
        })
        .ok_or_else(|| invalid(format!("'{arn}' is not a valid {} ARN", kind.noun())))?;
    Ok(parsed)
}

/// The store key of `arn` when it names a resource of `kind` in the caller's account and
/// region; `None` when it is well-formed but elsewhere (so: not found).
pub(crate) fn key_in_scope(
    ctx: &RequestContext,
    arn: &str,
    kind: Kind,
) -> Result<Option<String>, Error> {
    let parsed = parse_kind(arn, kind)?;
    Ok((parsed.account == ctx.account_id && parsed.region == ctx.region).then(|| parsed.key()))
}

/// Load balancer `arn`, or `LoadBalancerNotFound`.
pub(crate) fn load_lb(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    arn: &str,
) -> Result<(String, StoredLoadBalancer), Error> {
    let key = key_in_scope(ctx, arn, Kind::LoadBalancer)?.ok_or_else(|| lb_not_found(arn))?;
    let lb: StoredLoadBalancer = tx
        .get(LOAD_BALANCERS, &key)?
        .filter(|lb: &StoredLoadBalancer| lb.arn == arn)
        .ok_or_else(|| lb_not_found(arn))?;
    Ok((key, lb))
}

/// Target group `arn`, or `TargetGroupNotFound`.
pub(crate) fn load_tg(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    arn: &str,
) -> Result<(String, StoredTargetGroup), Error> {
    let key = key_in_scope(ctx, arn, Kind::TargetGroup)?.ok_or_else(|| tg_not_found(arn))?;
    let tg: StoredTargetGroup = tx
        .get(TARGET_GROUPS, &key)?
        .filter(|tg: &StoredTargetGroup| tg.arn == arn)
        .ok_or_else(|| tg_not_found(arn))?;
    Ok((key, tg))
}

/// Listener `arn`, or `ListenerNotFound`.
pub(crate) fn load_listener(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    arn: &str,
) -> Result<(String, StoredListener), Error> {
    let key = key_in_scope(ctx, arn, Kind::Listener)?.ok_or_else(|| listener_not_found(arn))?;
    let listener: StoredListener = tx
        .get(LISTENERS, &key)?
        .filter(|l: &StoredListener| l.arn == arn)
        .ok_or_else(|| listener_not_found(arn))?;
    Ok((key, listener))
}

/// A rule as an ARN finds it: a stored rule, or a listener's default rule.
#[derive(Debug, Clone)]
pub(crate) enum FoundRule {
    /// A rule with a priority.
    Rule(String, StoredRule),
    /// The default rule of this listener.
    Default(String, StoredListener),
}

/// Rule `arn` (a listener's default rule included), or `RuleNotFound`.
pub(crate) fn load_rule(tx: &Tx<'_>, ctx: &RequestContext, arn: &str) -> Result<FoundRule, Error> {
    let key = key_in_scope(ctx, arn, Kind::Rule)?.ok_or_else(|| rule_not_found(arn))?;
    if let Some(rule) = tx.get::<StoredRule>(RULES, &key)?.filter(|r| r.arn == arn) {
        return Ok(FoundRule::Rule(key, rule));
    }
    // `<scope>/<lb>/<listener>/<rule>`: the listener's key is the rule key without its id.
    let listener_key = key.rsplit_once('/').map(|(k, _)| k).unwrap_or_default();
    match tx.get::<StoredListener>(LISTENERS, listener_key)? {
        Some(l) if l.default_rule_arn == arn => Ok(FoundRule::Default(listener_key.to_string(), l)),
        _ => Err(rule_not_found(arn)),
    }
}

/// Which load balancers forward to each target group, and through which listeners and rules.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    /// Target group ARN -> load balancer ARNs.
    pub load_balancers: BTreeMap<String, BTreeSet<String>>,
    /// Target group ARN -> listener and rule ARNs that forward to it.
    pub users: BTreeMap<String, BTreeSet<String>>,
}

impl Usage {
    /// Whether a listener or rule forwards to target group `arn`.
    pub fn in_use(&self, tg_arn: &str) -> bool {
        self.users.get(tg_arn).is_some_and(|u| !u.is_empty())
    }

    /// The load balancers that forward to target group `arn`.
    pub fn lbs_of(&self, tg_arn: &str) -> Vec<String> {
        self.load_balancers
            .get(tg_arn)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Who uses which target group in `account` / `region`.
pub(crate) fn usage(tx: &Tx<'_>, account: &str, region: &str) -> Result<Usage, StoreError> {
    let scope = records::scope(account, region);
    let listeners: Vec<(String, StoredListener)> = tx.list(LISTENERS, &scope)?;
    let rules: Vec<(String, StoredRule)> = tx.list(RULES, &scope)?;
    let lb_of: BTreeMap<&str, &str> = listeners
        .iter()
        .map(|(_, l)| (l.arn.as_str(), l.lb_arn.as_str()))
        .collect();
    let mut out = Usage::default();
    let mut add = |tg: String, lb: &str, user: &str| {
        out.load_balancers
            .entry(tg.clone())
            .or_default()
            .insert(lb.to_string());
        out.users.entry(tg).or_default().insert(user.to_string());
    };
    for (_, l) in &listeners {
        for tg in actions::target_groups(&l.default_actions) {
            add(tg, &l.lb_arn, &l.arn);
        }
    }
    for (_, r) in &rules {
        if let Some(lb) = lb_of.get(r.listener_arn.as_str()) {
            for tg in actions::target_groups(&r.actions) {
                add(tg, lb, &r.arn);
            }
        }
    }
    Ok(out)
}
