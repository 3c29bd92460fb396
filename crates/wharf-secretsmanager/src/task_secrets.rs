//! Reading a secret for a task's `secrets[].valueFrom`, the way the ECS agent does: a secret
//! ARN, optionally followed by `:<json-key>:<version-stage>:<version-id>` (each part may be
//! empty). A JSON key picks one member of a secret that is a JSON object; members that are not
//! strings are written as the agent's Go `%v` writes them (`1e+07`, `true`, `map[a:1]`).
//! Errors carry the agent's wording, which the task's stopped reason shows after
//! `ResourceInitializationError: unable to pull secrets or registry auth: execution resource
//! retrieval failed: `.

use crate::{secrets, SecretsManager};
use serde_json::Value;
use wharf_core::SecretValueError;

/// The value a task's `secrets[].valueFrom` names, read as a task of `account` in `region`:
/// a secret ARN (full or partial; the secret may be in another Region of the account),
/// optionally followed by `:<json-key>:<version-stage>:<version-id>` (each part may be
/// empty; AWSCURRENT by default). Errors are the ECS agent's messages.
pub fn value_for_task(
    sm: &SecretsManager,
    account: &str,
    _region: &str,
    value_from: &str,
) -> Result<String, SecretValueError> {
    let not_found =
        |arn: &str| SecretValueError(fetch_error(arn, &secrets::not_found().to_string()));
    let Some(reference) = parse(value_from) else {
        return Err(not_found(value_from));
    };
    if reference.account != account {
        return Err(not_found(&reference.arn));
    }
    let read = secrets::read_value(
        sm,
        account,
        &reference.region,
        &reference.arn,
        reference.version_id.as_deref(),
        reference.version_stage.as_deref(),
        sm.clock.now(),
    )
    .map_err(|e| SecretValueError(fetch_error(&reference.arn, &e.to_string())))?;
    // The agent reads SecretString only: a binary secret is empty text to it.
    let text = if read.value.binary {
        String::new()
    } else {
        String::from_utf8_lossy(&read.value.bytes).into_owned()
    };
    match &reference.json_key {
        None => Ok(text),
        Some(key) => json_member(&text, key).map_err(SecretValueError),
    }
}

/// A parsed `valueFrom`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSecretRef {
    /// The secret ARN (the first seven `:`-separated fields).
    pub arn: String,
    /// Its account.
    pub account: String,
    /// Its Region.
    pub region: String,
    /// `json-key`, if given.
    pub json_key: Option<String>,
    /// `version-stage`, if given.
    pub version_stage: Option<String>,
    /// `version-id`, if given.
    pub version_id: Option<String>,
}

/// Reads `value_from`; `None` when it is not a Secrets Manager secret ARN with at most the three
/// optional fields.
pub fn parse(value_from: &str) -> Option<TaskSecretRef> {
    let parts: Vec<&str> = value_from.split(':').collect();
    if !(7..=10).contains(&parts.len())
        || parts[0] != "arn"
        || parts[1].is_empty()
        || parts[2] != "secretsmanager"
        || parts[5] != "secret"
        || parts[6].is_empty()
    {
        return None;
    }
    let field = |i: usize| {
        parts
            .get(i)
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string())
    };
    Some(TaskSecretRef {
        arn: parts[..7].join(":"),
        account: parts[4].to_string(),
        region: parts[3].to_string(),
        json_key: field(7),
        version_stage: field(8),
        version_id: field(9),
    })
}

/// The message of a failed GetSecretValue for `arn` (`error` is `<Code>: <message>`).
pub fn fetch_error(arn: &str, error: &str) -> String {
    format!(
        "unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {arn} from secrets manager: {error}"
    )
}

/// The member `key` of the JSON object `text`, as the agent writes it.
pub fn json_member(text: &str, key: &str) -> Result<String, String> {
    serde_json::from_str::<Value>(text)
        .ok()
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|o| o.get(key))
        .map(go_value)
        .ok_or_else(|| {
            format!(
                "unable to retrieve secret from asm: retrieved secret from Secrets Manager did not contain json key {key}"
            )
        })
}

/// A decoded JSON value printed with Go's `%v` (numbers are float64, maps sorted by key).
fn go_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".into(),
        Value::Number(n) => go_float(n.as_f64().unwrap_or(0.0)),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_value).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            format!(
                "map[{}]",
                entries
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", go_value(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    }
}

/// Go's `%v` of a float64: the shortest digits, in exponent form when the exponent is below -4
/// or at least 6 (`1e+07`, `1.234567e+06`, `5432`, `0.5`).
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: `-1.234e6`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{exp_sign}{:02}", exp.abs());
    }
    let body = if exp >= 0 {
        let int_len = usize::try_from(exp + 1).unwrap_or(1);
        if digits.len() <= int_len {
            format!("{digits}{}", "0".repeat(int_len - digits.len()))
        } else {
            format!("{}.{}", &digits[..int_len], &digits[int_len..])
        }
    } else {
        let zeros = usize::try_from(-exp - 1).unwrap_or(0);
        format!("0.{}{digits}", "0".repeat(zeros))
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbC123";

    #[test]
    fn value_from_forms() {
        let plain = parse(ARN).unwrap();
        assert_eq!(plain.arn, ARN);
        assert_eq!(plain.account, "123456789012");
        assert_eq!(plain.region, "us-east-1");
        assert_eq!(
            (plain.json_key, plain.version_stage, plain.version_id),
            (None, None, None)
        );
        let keyed = parse(&format!("{ARN}:password::")).unwrap();
        assert_eq!(keyed.arn, ARN);
        assert_eq!(keyed.json_key.as_deref(), Some("password"));
        assert_eq!(keyed.version_stage, None);
        let all = parse(&format!("{ARN}:user:AWSPREVIOUS:0123")).unwrap();
        assert_eq!(all.json_key.as_deref(), Some("user"));
        assert_eq!(all.version_stage.as_deref(), Some("AWSPREVIOUS"));
        assert_eq!(all.version_id.as_deref(), Some("0123"));
        let stage_only = parse(&format!("{ARN}::blue:")).unwrap();
        assert_eq!(stage_only.json_key, None);
        assert_eq!(stage_only.version_stage.as_deref(), Some("blue"));

        assert!(parse("arn:aws:ssm:us-east-1:123456789012:parameter/x").is_none());
        assert!(parse("db-password").is_none());
        assert!(parse(&format!("{ARN}:a:b:c:d")).is_none());
        assert!(parse("arn:aws:secretsmanager:us-east-1:123456789012:secret:").is_none());
    }

    #[test]
    fn json_members_print_like_the_agent() {
        let text = r#"{"user":"admin","port":5432,"big":10000000,"ratio":0.5,"on":true,"none":null,"list":[1,"a"],"nested":{"b":2,"a":1}}"#;
        assert_eq!(json_member(text, "user").unwrap(), "admin");
        assert_eq!(json_member(text, "port").unwrap(), "5432");
        assert_eq!(json_member(text, "big").unwrap(), "1e+07");
        assert_eq!(json_member(text, "ratio").unwrap(), "0.5");
        assert_eq!(json_member(text, "on").unwrap(), "true");
        assert_eq!(json_member(text, "none").unwrap(), "<nil>");
        assert_eq!(json_member(text, "list").unwrap(), "[1 a]");
        assert_eq!(json_member(text, "nested").unwrap(), "map[a:1 b:2]");
        let missing = "unable to retrieve secret from asm: retrieved secret from Secrets Manager did not contain json key pass";
        assert_eq!(json_member(text, "pass").unwrap_err(), missing);
        assert_eq!(json_member("not json", "pass").unwrap_err(), missing);
        assert_eq!(json_member("[1,2]", "pass").unwrap_err(), missing);
    }

    #[test]
    fn floats_print_like_go() {
        for (f, want) in [
            (0.0, "0"),
            (1.0, "1"),
            (-3.0, "-3"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e21, "1e+21"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (3.25, "3.25"),
        ] {
            assert_eq!(go_float(f), want, "{f}");
        }
    }
}
