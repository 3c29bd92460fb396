//! The structure every resource-based policy (an ECR repository or registry policy, ...) must
//! have before anything reads it: a JSON object with a known `Version` (when given) and one or
//! more statements, each with an `Effect` of `Allow` or `Deny`, an `Action` or `NotAction`, and
//! a `Principal` or `NotPrincipal` (a resource policy says whom it is about). Pure; the error
//! names the first part that is wrong.

use serde_json::{Map, Value};

/// Longest policy text the services take (10,240 characters).
pub const MAX_POLICY_TEXT: usize = 10_240;

/// Checks `text` as a resource-based policy.
pub fn check(text: &str) -> Result<(), String> {
    if text.chars().count() > MAX_POLICY_TEXT {
        return Err(format!(
            "the policy is longer than {MAX_POLICY_TEXT} characters"
        ));
    }
    let doc: Value =
        serde_json::from_str(text).map_err(|e| format!("the policy is not valid JSON ({e})"))?;
    let Value::Object(doc) = doc else {
        return Err("the policy must be a JSON object".into());
    };
    if let Some(version) = doc.get("Version") {
        if !matches!(version.as_str(), Some("2012-10-17" | "2008-10-17")) {
            return Err(format!(
                "Version {version} is not one of \"2012-10-17\", \"2008-10-17\""
            ));
        }
    }
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(list)) if !list.is_empty() => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Err("the policy needs a Statement (an object or a non-empty list)".into()),
    };
    for (i, statement) in statements.iter().enumerate() {
        let Value::Object(s) = statement else {
            return Err(format!("statement {} is not a JSON object", i + 1));
        };
        check_statement(s).map_err(|why| format!("statement {}: {why}", i + 1))?;
    }
    Ok(())
}

fn check_statement(s: &Map<String, Value>) -> Result<(), String> {
    match s.get("Effect").and_then(Value::as_str) {
        Some("Allow" | "Deny") => {}
        _ => return Err("Effect must be \"Allow\" or \"Deny\"".into()),
    }
    let one_of = |a: &str, b: &str| match (s.get(a), s.get(b)) {
        (Some(_), Some(_)) => Err(format!("it has both {a} and {b}")),
        (None, None) => Err(format!("it needs {a} or {b}")),
        (Some(v), None) | (None, Some(v)) => Ok(v),
    };
    let actions = one_of("Action", "NotAction")?;
    let texts_ok = |v: &Value| match v {
        Value::String(t) => !t.is_empty(),
        Value::Array(items) => {
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.as_str().is_some_and(|t| !t.is_empty()))
        }
        _ => false,
    };
    if !texts_ok(actions) {
        return Err("Action must be a string or a non-empty list of strings".into());
    }
    let principal = one_of("Principal", "NotPrincipal")?;
    let principal_ok = match principal {
        Value::String(t) => t == "*",
        Value::Object(kinds) => !kinds.is_empty() && kinds.values().all(texts_ok),
        _ => false,
    };
    if !principal_ok {
        return Err(
            "Principal must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:root\"}"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_policy_as_the_ecr_docs_show_it_passes() {
        let text = r#"{
          "Version": "2012-10-17",
          "Statement": [{
            "Sid": "AllowPull",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
          }]
        }"#;
        assert_eq!(check(text), Ok(()));
        let star = r#"{"Statement": {"Effect": "Deny", "Principal": "*", "NotAction": "ecr:*"}}"#;
        assert_eq!(check(star), Ok(()));
    }

    #[test]
    fn what_is_wrong_is_named() {
        let cases = [
            ("not json", "not valid JSON"),
            ("[]", "must be a JSON object"),
            (r#"{"Version":"2020-01-01","Statement":[]}"#, "Version"),
            (r#"{"Statement":[]}"#, "needs a Statement"),
            (
                r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"a"}]}"#,
                "statement 1: Effect",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"a"}]}"#,
                "needs Principal or NotPrincipal",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*"}]}"#,
                "needs Action or NotAction",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"me","Action":"a"}]}"#,
                "Principal must be",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":[]}]}"#,
                "Action must be",
            ),
        ];
        for (text, why) in cases {
            let err = check(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        assert!(check(&format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_POLICY_TEXT))).is_err());
    }
}
