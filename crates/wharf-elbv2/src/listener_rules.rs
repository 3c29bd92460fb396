//! The listener rule operations (the resource `listener-rule`): CreateRule, ModifyRule,
//! DeleteRule, DescribeRules, SetRulePriorities.
//!
//! Priorities 1-50000 are unique per listener (`PriorityInUse`); at most 100 rules per
//! listener. Every listener has a default rule with its own ARN: DescribeRules shows it last,
//! with `Priority` `default` and `IsDefault` true; ModifyRule can change its actions (the
//! listener's default actions) but not its conditions, and it can be neither deleted nor
//! re-prioritised (`OperationNotPermitted`). Conditions and actions are checked by the
//! `conditions` and `actions` modules.

use crate::errors::invalid;
use crate::generated::*;
use crate::listeners::check_forward_targets;
use crate::lookup::{load_lb, load_listener, load_rule, usage, FoundRule};
use crate::paging::page;
use crate::records::{StoredListener, StoredRule, LISTENERS, RULES};
use crate::{actions, conditions, names, tags, Elbv2};
use std::collections::{BTreeMap, BTreeSet};
use wharf_core::RequestContext;
use wharf_store::Tx;

/// Most rules per listener, the default one aside (AWS's default quota).
const MAX_RULES: usize = 100;

impl StoredRule {
    /// The rule as DescribeRules answers.
    pub(crate) fn to_wire(&self) -> Rule {
        Rule {
            rule_arn: Some(self.arn.clone()),
            priority: Some(self.priority.to_string()),
            conditions: Some(self.conditions.clone()),
            actions: Some(self.actions.clone()),
            is_default: Some(false),
            transforms: None,
        }
    }
}

/// The default rule of `listener` as DescribeRules answers.
fn default_rule(listener: &StoredListener) -> Rule {
    Rule {
        rule_arn: Some(listener.default_rule_arn.clone()),
        priority: Some("default".into()),
        conditions: Some(Vec::new()),
        actions: Some(listener.default_actions.clone()),
        is_default: Some(true),
        transforms: None,
    }
}

fn no_transforms(transforms: Option<&Vec<RuleTransform>>) -> Result<(), Error> {
    if transforms.is_some_and(|t| !t.is_empty()) {
        return Err(invalid(
            "wharf does not support rule transforms (host header and URL rewrites)",
        ));
    }
    Ok(())
}

fn check_priority(priority: i32) -> Result<u32, Error> {
    u32::try_from(priority)
        .ok()
        .filter(|p| (1..=50_000).contains(p))
        .ok_or_else(|| invalid(format!("The priority '{priority}' must be from 1 to 50000")))
}

fn priority_in_use(priority: u32) -> Error {
    Error::PriorityInUseException(format!("Priority '{priority}' is currently in use"))
}

/// The rules of the listener stored under `listener_key`.
fn rules_of(tx: &Tx<'_>, listener_key: &str) -> Result<Vec<(String, StoredRule)>, Error> {
    Ok(tx.list(RULES, &format!("{listener_key}/"))?)
}

/// CreateRule.
pub fn create(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: CreateRuleInput,
) -> Result<CreateRuleOutput, Error> {
    no_transforms(input.transforms.as_ref())?;
    let priority = check_priority(input.priority)?;
    let conditions = conditions::normalize(&input.conditions)?;
    let actions = actions::normalize(&input.actions)?;
    let tags = tags::merge(&[], input.tags.as_deref().unwrap_or_default())?;
    let rule = elbv2.write(|tx| {
        let (listener_key, listener) = load_listener(tx, ctx, &input.listener_arn)?;
        let existing = rules_of(tx, &listener_key)?;
        if existing.iter().any(|(_, r)| r.priority == priority) {
            return Err(priority_in_use(priority));
        }
        if existing.len() >= MAX_RULES {
            return Err(Error::TooManyRulesException(format!(
                "The listener '{}' already has the maximum number of rules ({MAX_RULES})",
                listener.arn
            )));
        }
        let (_, lb) = load_lb(tx, ctx, &listener.lb_arn)?;
        let used = usage(tx, &ctx.account_id, &ctx.region)?;
        check_forward_targets(tx, ctx, &lb, &actions, &used)?;
        let id = elbv2.ids.hex(16);
        let rule = StoredRule {
            arn: names::rule_arn(&listener.arn, &id),
            id: id.clone(),
            listener_arn: listener.arn.clone(),
            priority,
            conditions: conditions.clone(),
            actions: actions.clone(),
            tags: tags.clone(),
        };
        tx.put(RULES, &format!("{listener_key}/{id}"), &rule)?;
        Ok(rule)
    })?;
    tracing::info!(arn = %rule.arn, priority, "created rule");
    Ok(CreateRuleOutput {
        rules: Some(vec![rule.to_wire()]),
    })
}

/// ModifyRule: conditions and / or actions (only actions for a default rule).
pub fn modify(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: ModifyRuleInput,
) -> Result<ModifyRuleOutput, Error> {
    no_transforms(input.transforms.as_ref())?;
    if input.conditions.is_none() && input.actions.is_none() {
        return Err(invalid("Either conditions or actions must be specified"));
    }
    let conditions = input
        .conditions
        .as_deref()
        .map(conditions::normalize)
        .transpose()?;
    let actions = input
        .actions
        .as_deref()
        .map(actions::normalize)
        .transpose()?;
    let rule = elbv2.write(|tx| {
        let found = load_rule(tx, ctx, &input.rule_arn)?;
        let listener_arn = match &found {
            FoundRule::Rule(_, r) => r.listener_arn.clone(),
            FoundRule::Default(_, l) => l.arn.clone(),
        };
        if let Some(actions) = &actions {
            let (_, listener) = load_listener(tx, ctx, &listener_arn)?;
            let (_, lb) = load_lb(tx, ctx, &listener.lb_arn)?;
            let used = usage(tx, &ctx.account_id, &ctx.region)?;
            check_forward_targets(tx, ctx, &lb, actions, &used)?;
        }
        match found {
            FoundRule::Rule(key, mut rule) => {
                if let Some(c) = conditions {
                    rule.conditions = c;
                }
                if let Some(a) = actions {
                    rule.actions = a;
                }
                tx.put(RULES, &key, &rule)?;
                Ok(rule.to_wire())
            }
            FoundRule::Default(key, mut listener) => {
                if conditions.is_some() {
                    return Err(Error::OperationNotPermittedException(format!(
                        "The conditions of default rule '{}' cannot be changed",
                        input.rule_arn
                    )));
                }
                if let Some(a) = actions {
                    listener.default_actions = a;
                }
                tx.put(LISTENERS, &key, &listener)?;
                Ok(default_rule(&listener))
            }
        }
    })?;
    Ok(ModifyRuleOutput {
        rules: Some(vec![rule]),
    })
}

/// DeleteRule (never a default rule).
pub fn delete(elbv2: &Elbv2, ctx: &RequestContext, arn: &str) -> Result<DeleteRuleOutput, Error> {
    elbv2.write(|tx| match load_rule(tx, ctx, arn)? {
        FoundRule::Rule(key, _) => {
            tx.delete(RULES, &key)?;
            Ok(())
        }
        FoundRule::Default(..) => Err(Error::OperationNotPermittedException(format!(
            "Default rule '{arn}' cannot be deleted"
        ))),
    })?;
    Ok(DeleteRuleOutput {})
}

/// DescribeRules: of a listener (the default rule last), or by ARNs.
pub fn describe(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: DescribeRulesInput,
) -> Result<DescribeRulesOutput, Error> {
    let arns = input.rule_arns.clone().unwrap_or_default();
    // (sort key, rule): priorities zero-padded, the default rule after every priority.
    let mut found: Vec<(String, Rule)> =
        elbv2
            .store
            .read(|tx| match (&input.listener_arn, arns.is_empty()) {
                (Some(_), false) => Err(invalid(
                    "Listener ARN and rule ARNs cannot be specified at the same time",
                )),
                (None, true) => Err(invalid("You must specify either listener ARN or rule ARNs")),
                (Some(listener_arn), true) => {
                    let (key, listener) = load_listener(tx, ctx, listener_arn)?;
                    let mut out: Vec<(String, Rule)> = rules_of(tx, &key)?
                        .into_iter()
                        .map(|(_, r)| (format!("{:05}/{}", r.priority, r.arn), r.to_wire()))
                        .collect();
                    out.push((
                        format!("99999/{}", listener.default_rule_arn),
                        default_rule(&listener),
                    ));
                    Ok(out)
                }
                (None, false) => {
                    let mut out = Vec::new();
                    for arn in &arns {
                        out.push(match load_rule(tx, ctx, arn)? {
                            FoundRule::Rule(_, r) => {
                                (format!("{:05}/{}", r.priority, r.arn), r.to_wire())
                            }
                            FoundRule::Default(_, l) => {
                                (format!("99999/{}", l.default_rule_arn), default_rule(&l))
                            }
                        });
                    }
                    Ok(out)
                }
            })?;
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.dedup_by(|a, b| a.0 == b.0);
    let (items, next) = page(
        found,
        |(k, _)| k.clone(),
        input.marker.as_deref(),
        input.page_size,
    )?;
    Ok(DescribeRulesOutput {
        rules: Some(items.into_iter().map(|(_, r)| r).collect()),
        next_marker: next,
    })
}

/// SetRulePriorities: all or nothing; the new priorities must be unique per listener.
pub fn set_priorities(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: SetRulePrioritiesInput,
) -> Result<SetRulePrioritiesOutput, Error> {
    let mut wanted: Vec<(String, u32)> = Vec::new();
    for pair in &input.rule_priorities {
        let arn = pair
            .rule_arn
            .clone()
            .ok_or_else(|| invalid("Each rule priority pair requires a RuleArn"))?;
        let priority = check_priority(
            pair.priority
                .ok_or_else(|| invalid("Each rule priority pair requires a Priority"))?,
        )?;
        if wanted.iter().any(|(a, _)| *a == arn) {
            return Err(invalid(format!("Rule '{arn}' was provided multiple times")));
        }
        wanted.push((arn, priority));
    }
    let rules = elbv2.write(|tx| {
        let mut changed: Vec<(String, StoredRule)> = Vec::new();
        for (arn, priority) in &wanted {
            match load_rule(tx, ctx, arn)? {
                FoundRule::Rule(key, mut rule) => {
                    rule.priority = *priority;
                    changed.push((key, rule));
                }
                FoundRule::Default(..) => {
                    return Err(Error::OperationNotPermittedException(format!(
                        "The priority of default rule '{arn}' cannot be changed"
                    )))
                }
            }
        }
        // Per listener: the priorities of the rules left alone plus the new ones.
        let mut by_listener: BTreeMap<String, Vec<&StoredRule>> = BTreeMap::new();
        for (_, rule) in &changed {
            by_listener
                .entry(rule.listener_arn.clone())
                .or_default()
                .push(rule);
        }
        for (listener_arn, new_rules) in &by_listener {
            let (listener_key, _) = load_listener(tx, ctx, listener_arn)?;
            let moved: BTreeSet<&str> = new_rules.iter().map(|r| r.arn.as_str()).collect();
            let mut taken: BTreeSet<u32> = rules_of(tx, &listener_key)?
                .into_iter()
                .filter(|(_, r)| !moved.contains(r.arn.as_str()))
                .map(|(_, r)| r.priority)
                .collect();
            for rule in new_rules {
                if !taken.insert(rule.priority) {
                    let provided_twice = new_rules
                        .iter()
                        .filter(|r| r.priority == rule.priority)
                        .count()
                        > 1;
                    if provided_twice {
                        return Err(invalid(format!(
                            "Priority '{}' was provided multiple times",
                            rule.priority
                        )));
                    }
                    return Err(priority_in_use(rule.priority));
                }
            }
        }
        for (key, rule) in &changed {
            tx.put(RULES, key, rule)?;
        }
        Ok(changed
            .into_iter()
            .map(|(_, r)| r.to_wire())
            .collect::<Vec<_>>())
    })?;
    Ok(SetRulePrioritiesOutput { rules: Some(rules) })
}
