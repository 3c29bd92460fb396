//! Parameter policies (AWS: "Assigning parameter policies"), an Advanced-tier feature:
//! `Expiration` deletes the parameter at a given time, `ExpirationNotification` and
//! `NoChangeNotification` would send EventBridge events.
//!
//! wharf checks and keeps all three and enforces `Expiration`: from its timestamp on, the
//! parameter is gone (reads do not find it, and the next write removes it). wharf has no
//! EventBridge, so the notifications are kept and shown but never sent (`PolicyStatus` stays
//! `Pending`).

use crate::records::StoredPolicy;
use serde_json::Value;
use wharf_core::Timestamp;

/// Most policies a parameter can have.
pub const MAX_POLICIES: usize = 10;

/// Why `Policies` is refused; each maps to the AWS error of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// `InvalidPolicyTypeException`.
    Type(String),
    /// `InvalidPolicyAttributeException`.
    Attribute(String),
    /// `IncompatiblePolicyException`.
    Incompatible(String),
    /// `PoliciesLimitExceededException`.
    Limit(String),
}

const TYPES: &[&str] = &[
    "Expiration",
    "ExpirationNotification",
    "NoChangeNotification",
];

/// Parses `Policies` (a JSON array of `{Type, Version, Attributes}`), checked at `now`.
pub fn parse(text: &str, now: Timestamp) -> Result<Vec<StoredPolicy>, PolicyError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        PolicyError::Attribute(format!(
            "Policies is not a JSON array of parameter policies: {e}"
        ))
    })?;
    let Value::Array(items) = value else {
        return Err(PolicyError::Attribute(
            "Policies must be a JSON array of parameter policies, e.g. [{\"Type\":\"Expiration\",\"Version\":\"1.0\",\"Attributes\":{\"Timestamp\":\"2030-01-01T00:00:00.000Z\"}}]".into(),
        ));
    };
    if items.len() > MAX_POLICIES {
        return Err(PolicyError::Limit(format!(
            "You specified {} policies; a parameter can have at most {MAX_POLICIES}.",
            items.len()
        )));
    }
    let mut out: Vec<StoredPolicy> = Vec::with_capacity(items.len());
    for item in &items {
        let policy = parse_one(item, now)?;
        if out.iter().any(|p| p.kind == policy.kind) {
            return Err(PolicyError::Incompatible(format!(
                "There is a conflict in the policies specified for this parameter: more than one {} policy.",
                policy.kind
            )));
        }
        out.push(policy);
    }
    if out.iter().any(|p| p.kind == "ExpirationNotification")
        && !out.iter().any(|p| p.kind == "Expiration")
    {
        return Err(PolicyError::Incompatible(
            "An ExpirationNotification policy needs an Expiration policy on the same parameter."
                .into(),
        ));
    }
    Ok(out)
}

fn parse_one(item: &Value, now: Timestamp) -> Result<StoredPolicy, PolicyError> {
    let kind = item.get("Type").and_then(Value::as_str).unwrap_or_default();
    if !TYPES.contains(&kind) {
        return Err(PolicyError::Type(format!(
            "The policy type '{kind}' is not supported. Parameter Store supports the following policy types: Expiration, ExpirationNotification, and NoChangeNotification."
        )));
    }
    match item.get("Version").and_then(Value::as_str) {
        Some("1.0") => {}
        other => {
            return Err(PolicyError::Attribute(format!(
                "The {kind} policy has Version {}; the supported version is 1.0.",
                other.unwrap_or("(none)")
            )))
        }
    }
    let attributes = item.get("Attributes").and_then(Value::as_object);
    let attribute = |name: &str| -> Result<String, PolicyError> {
        attributes
            .and_then(|a| a.get(name))
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| {
                PolicyError::Attribute(format!(
                    "The {kind} policy needs the attribute Attributes.{name}."
                ))
            })
    };
    let mut expires_at = None;
    match kind {
        "Expiration" => {
            let text = attribute("Timestamp")?;
            let at = Timestamp::parse(&text).ok_or_else(|| {
                PolicyError::Attribute(format!(
                    "The Expiration policy's Timestamp '{text}' is not an ISO 8601 time such as 2030-01-01T00:00:00.000Z."
                ))
            })?;
            if at <= now {
                return Err(PolicyError::Attribute(format!(
                    "The Expiration policy's Timestamp {text} is in the past; it must be in the future."
                )));
            }
            expires_at = Some(at);
        }
        _ => {
            let amount_name = if kind == "ExpirationNotification" {
                "Before"
            } else {
                "After"
            };
            let amount = attribute(amount_name)?;
            if !amount.parse::<u32>().is_ok_and(|n| n > 0) {
                return Err(PolicyError::Attribute(format!(
                    "The {kind} policy's {amount_name} must be a positive whole number, not '{amount}'."
                )));
            }
            let unit = attribute("Unit")?;
            if unit != "Days" && unit != "Hours" {
                return Err(PolicyError::Attribute(format!(
                    "The {kind} policy's Unit must be Days or Hours, not '{unit}'."
                )));
            }
        }
    }
    Ok(StoredPolicy {
        kind: kind.to_string(),
        text: item.to_string(),
        expires_at,
    })
}

/// Whether a version with `policies` has expired at `now`.
pub fn expired(policies: &[StoredPolicy], now: Timestamp) -> bool {
    policies
        .iter()
        .any(|p| p.expires_at.is_some_and(|at| at <= now))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp {
        millis: 1_700_000_000_000,
    };

    #[test]
    fn accepts_the_three_policy_types() {
        let text = r#"[
            {"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-05-13T00:00:00.000Z"}},
            {"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"15","Unit":"Days"}},
            {"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"20","Unit":"Hours"}}
        ]"#;
        let policies = parse(text, NOW).unwrap();
        assert_eq!(policies.len(), 3);
        let expiry = policies[0].expires_at.unwrap();
        assert!(!expired(&policies, NOW));
        assert!(expired(&policies, expiry));
        assert!(parse("[]", NOW).unwrap().is_empty());
    }

    #[test]
    fn refuses_bad_policies() {
        assert!(matches!(
            parse(r#"[{"Type":"Deletion","Version":"1.0"}]"#, NOW),
            Err(PolicyError::Type(_))
        ));
        assert!(matches!(parse("{", NOW), Err(PolicyError::Attribute(_))));
        assert!(matches!(
            parse(
                r#"[{"Type":"Expiration","Version":"1.0","Attributes":{}}]"#,
                NOW
            ),
            Err(PolicyError::Attribute(_))
        ));
        assert!(matches!(
            parse(
                r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2001-01-01T00:00:00Z"}}]"#,
                NOW
            ),
            Err(PolicyError::Attribute(_))
        ));
        assert!(matches!(
            parse(
                r#"[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"x","Unit":"Days"}}]"#,
                NOW
            ),
            Err(PolicyError::Attribute(_))
        ));
        assert!(matches!(
            parse(
                r#"[{"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"1","Unit":"Days"}}]"#,
                NOW
            ),
            Err(PolicyError::Incompatible(_))
        ));
        let two = r#"[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"1","Unit":"Days"}},
                      {"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"2","Unit":"Days"}}]"#;
        assert!(matches!(parse(two, NOW), Err(PolicyError::Incompatible(_))));
        let many = format!(
            "[{}]",
            [r#"{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"1","Unit":"Days"}}"#; 11]
                .join(",")
        );
        assert!(matches!(parse(&many, NOW), Err(PolicyError::Limit(_))));
    }
}
