//! Input validation against the service model, before any service code runs: required members,
//! JSON types, `min` / `max`, `pattern` and enum values — the constraints botocore leaves to the
//! server. Failures are reported the way AWS's validation layer words them, naming each field.

use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use wharf_core::model::{Kind, ServiceModel, Shape, ShapeId};

/// How botocore writes the non-finite doubles, in JSON and query requests alike (and how the
/// CBOR decoder hands them on): the generated types read them as floats.
pub const NON_FINITE: [&str; 3] = ["NaN", "Infinity", "-Infinity"];

/// At most this many problems are listed in one answer.
const MAX_REPORTED: usize = 10;

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The user-facing message, naming every bad field.
    pub message: String,
    /// Some value had the wrong JSON type (awsJson services answer `SerializationException`
    /// for that, not their validation error).
    pub wrong_type: bool,
}

/// The problems found so far.
#[derive(Default)]
struct Problems {
    list: Vec<String>,
    wrong_type: bool,
}

impl Problems {
    fn push(&mut self, problem: String) {
        self.list.push(problem);
    }

    fn len(&self) -> usize {
        self.list.len()
    }
}

/// Checks `value` against shape `shape`.
pub fn validate(model: &ServiceModel, shape: ShapeId, value: &Value) -> Result<(), Invalid> {
    let mut problems = Problems::default();
    check(model, shape, value, "", &mut problems);
    if problems.list.is_empty() {
        return Ok(());
    }
    let count = problems.list.len();
    problems.list.truncate(MAX_REPORTED);
    let noun = if count == 1 { "error" } else { "errors" };
    Err(Invalid {
        message: format!(
            "{count} validation {noun} detected: {}",
            problems.list.join("; ")
        ),
        wrong_type: problems.wrong_type,
    })
}

/// What error messages show for a member botocore marks `sensitive` (secret values,
/// passwords): never the value.
const REDACTED: &str = "'*** Sensitive Data Redacted ***'";

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        Value::Null => "null".into(),
        other => format!("'{other}'"),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn check(model: &ServiceModel, id: ShapeId, value: &Value, path: &str, out: &mut Problems) {
    if out.len() > MAX_REPORTED {
        return;
    }
    let shape = model.shape(id);
    let at = if path.is_empty() {
        "input".to_string()
    } else {
        format!("'{path}'")
    };
    let type_error = |out: &mut Problems, expected: &str| {
        out.wrong_type = true;
        out.push(format!(
            "Value {} at {at} failed to satisfy constraint: Member must be of type {expected}",
            shown(shape.sensitive, value)
        ));
    };
    match shape.kind {
        Kind::Structure => {
            let Some(obj) = value.as_object() else {
                return type_error(out, "structure");
            };
            for member in shape.members {
                let child = join(path, member.name);
                match obj.get(member.name) {
                    None | Some(Value::Null) if member.required => out.push(format!(
                        "Value null at '{child}' failed to satisfy constraint: Member must not be null"
                    )),
                    None | Some(Value::Null) => {}
                    Some(v) => check(model, member.shape, v, &child, out),
                }
            }
        }
        Kind::List => {
            let Some(items) = value.as_array() else {
                return type_error(out, "list");
            };
            check_length(items.len(), shape, value, &at, "length", out);
            for (i, item) in items.iter().enumerate() {
                check(
                    model,
                    shape.target,
                    item,
                    &join(path, &(i + 1).to_string()),
                    out,
                );
            }
        }
        Kind::Map => {
            let Some(map) = value.as_object() else {
                return type_error(out, "map");
            };
            check_length(map.len(), shape, value, &at, "length", out);
            for (k, v) in map {
                check(
                    model,
                    shape.key,
                    &Value::String(k.clone()),
                    &join(path, k),
                    out,
                );
                check(model, shape.target, v, &join(path, k), out);
            }
        }
        Kind::String => {
            let Some(s) = value.as_str() else {
                return type_error(out, "string");
            };
            check_length(s.chars().count(), shape, value, &at, "length", out);
            if !shape.enum_values.is_empty() && !shape.enum_values.contains(&s) {
                out.push(format!(
                    "Value {} at {at} failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    shown(shape.sensitive, value),
                    shape.enum_values.join(", ")
                ));
            }
            if let Some(pattern) = shape.pattern {
                if let Some(re) = compiled(pattern) {
                    if !re.is_match(s) {
                        out.push(format!(
                            "Value {} at {at} failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}",
                            shown(shape.sensitive, value)
                        ));
                    }
                }
            }
        }
        Kind::Integer | Kind::Long => {
            let n = value.as_i64().or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.fract() == 0.0)
                    .map(|f| f as i64)
            });
            let Some(n) = n else {
                return type_error(
                    out,
                    if shape.kind == Kind::Integer {
                        "integer"
                    } else {
                        "long"
                    },
                );
            };
            if shape.kind == Kind::Integer && i32::try_from(n).is_err() {
                return type_error(out, "integer");
            }
            check_range(n as f64, shape, value, &at, out);
        }
        Kind::Double | Kind::Float => {
            // botocore writes the non-finite doubles as text; they are doubles all the same (the
            // service judges them), outside any range.
            if value.as_str().is_some_and(|t| NON_FINITE.contains(&t)) {
                return;
            }
            let Some(n) = value.as_f64() else {
                return type_error(out, "double");
            };
            check_range(n, shape, value, &at, out);
        }
        Kind::Boolean => {
            if !value.is_boolean() {
                type_error(out, "boolean");
            }
        }
        Kind::Timestamp => {
            let ok = value.is_number()
                || value
                    .as_str()
                    .is_some_and(|s| wharf_core::Timestamp::parse(s).is_some());
            if !ok {
                type_error(out, "timestamp");
            }
        }
        Kind::Blob => {
            let Some(s) = value.as_str() else {
                return type_error(out, "blob");
            };
            use base64::Engine;
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(bytes) => check_length(bytes.len(), shape, value, &at, "length", out),
                Err(_) => type_error(out, "base64-encoded blob"),
            }
        }
        Kind::Document => {}
    }
}

fn check_length(
    len: usize,
    shape: &Shape,
    value: &Value,
    at: &str,
    what: &str,
    out: &mut Problems,
) {
    let len = len as f64;
    if let Some(min) = shape.min.filter(|m| len < *m) {
        out.push(format!(
            "Value {} at {at} failed to satisfy constraint: Member must have {what} greater than or equal to {min}",
            shown(shape.sensitive, value)
        ));
    }
    if let Some(max) = shape.max.filter(|m| len > *m) {
        out.push(format!(
            "Value {} at {at} failed to satisfy constraint: Member must have {what} less than or equal to {max}",
            shown(shape.sensitive, value)
        ));
    }
}

fn check_range(n: f64, shape: &Shape, value: &Value, at: &str, out: &mut Problems) {
    if let Some(min) = shape.min.filter(|m| n < *m) {
        out.push(format!(
            "Value {} at {at} failed to satisfy constraint: Member must have value greater than or equal to {min}",
            shown(shape.sensitive, value)
        ));
    }
    if let Some(max) = shape.max.filter(|m| n > *m) {
        out.push(format!(
            "Value {} at {at} failed to satisfy constraint: Member must have value less than or equal to {max}",
            shown(shape.sensitive, value)
        ));
    }
}

/// A value for messages: redacted when sensitive, else cut short so a huge input does not
/// make a huge error.
fn shown(sensitive: bool, value: &Value) -> String {
    if sensitive {
        return REDACTED.to_string();
    }
    short(value)
}

/// A value cut short so a huge input does not make a huge error.
fn short(value: &Value) -> String {
    let text = describe(value);
    if text.len() <= 80 {
        return text;
    }
    let mut cut = 77;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &text[..cut])
}

/// Compiles each spec pattern once. Java-style patterns that Rust's engine cannot compile
/// (look-around) are skipped rather than refusing every input.
fn compiled(pattern: &'static str) -> Option<Regex> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    cache
        .entry(pattern)
        .or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).ok())
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wharf_core::model::{Member, Protocol, Shape};

    static SHAPES: &[Shape] = &[
        Shape {
            name: "In",
            kind: Kind::Structure,
            members: &[
                Member {
                    name: "name",
                    shape: 1,
                    required: true,
                    ..Member::EMPTY
                },
                Member {
                    name: "kind",
                    shape: 2,
                    ..Member::EMPTY
                },
                Member {
                    name: "count",
                    shape: 3,
                    ..Member::EMPTY
                },
                Member {
                    name: "items",
                    shape: 4,
                    ..Member::EMPTY
                },
                Member {
                    name: "secret",
                    shape: 5,
                    ..Member::EMPTY
                },
            ],
            ..Shape::EMPTY
        },
        Shape {
            name: "Name",
            kind: Kind::String,
            min: Some(1.0),
            max: Some(5.0),
            pattern: Some("[a-z]+"),
            ..Shape::EMPTY
        },
        Shape {
            name: "Kind",
            kind: Kind::String,
            enum_values: &["A", "B"],
            ..Shape::EMPTY
        },
        Shape {
            name: "Count",
            kind: Kind::Integer,
            min: Some(0.0),
            max: Some(10.0),
            ..Shape::EMPTY
        },
        Shape {
            name: "Items",
            kind: Kind::List,
            target: 1,
            max: Some(2.0),
            ..Shape::EMPTY
        },
        Shape {
            name: "Secret",
            kind: Kind::String,
            max: Some(4.0),
            pattern: Some("[a-z]+"),
            sensitive: true,
            ..Shape::EMPTY
        },
    ];
    static MODEL: ServiceModel = ServiceModel {
        endpoint_prefix: "t",
        signing_name: "t",
        protocol: Protocol::Json,
        protocols: &[Protocol::Json],
        query_compatible: false,
        target_prefix: "T",
        smithy_namespace: "com.amazonaws.t",
        json_version: "1.1",
        api_version: "2020-01-01",
        xml_namespace: "",
        shapes: SHAPES,
        operations: &[],
        all_operations: &[],
        errors: &[],
        validation_error: "ValidationException",
    };

    #[test]
    fn non_finite_doubles_are_doubles_other_text_is_not() {
        use crate::protocol::test_model::MULTI;
        for ok in ["NaN", "Infinity", "-Infinity"] {
            assert_eq!(validate(&MULTI, 0, &json!({ "Ratio": ok })), Ok(()), "{ok}");
        }
        for bad in [json!("nan"), json!("1.5"), json!(true)] {
            let e = validate(&MULTI, 0, &json!({ "Ratio": bad })).unwrap_err();
            assert!(e.wrong_type, "{bad}");
            assert!(
                e.message.contains("Member must be of type double"),
                "{}",
                e.message
            );
        }
        // An integer member takes none of them.
        let e = validate(&MULTI, 0, &json!({"Count": "NaN"})).unwrap_err();
        assert!(e.message.contains("Member must be of type integer"));
    }

    #[test]
    fn accepts_valid_input() {
        assert_eq!(
            validate(
                &MODEL,
                0,
                &json!({"name": "abc", "kind": "A", "count": 3, "items": ["x"]})
            ),
            Ok(())
        );
    }

    #[test]
    fn never_shows_sensitive_values() {
        let err = validate(
            &MODEL,
            0,
            &json!({"name": "ok", "secret": "Hunter2-Password"}),
        )
        .unwrap_err()
        .message;
        assert!(!err.contains("Hunter2"), "{err}");
        assert!(err.contains("Value '*** Sensitive Data Redacted ***' at 'secret' failed to satisfy constraint: Member must have length less than or equal to 4"), "{err}");
        let err = validate(&MODEL, 0, &json!({"name": "ok", "secret": 42}))
            .unwrap_err()
            .message;
        assert!(!err.contains("42"), "{err}");
    }

    #[test]
    fn names_each_bad_field() {
        let err = validate(&MODEL, 0, &json!({"kind": "C", "count": 11}))
            .unwrap_err()
            .message;
        assert!(err.starts_with("3 validation errors detected"), "{err}");
        assert!(err.contains(
            "Value null at 'name' failed to satisfy constraint: Member must not be null"
        ));
        assert!(err.contains("Value 'C' at 'kind' failed to satisfy constraint: Member must satisfy enum value set: [A, B]"));
        assert!(err.contains("at 'count' failed to satisfy constraint: Member must have value less than or equal to 10"));
    }

    #[test]
    fn checks_types_lengths_and_patterns() {
        let invalid = validate(&MODEL, 0, &json!({"name": "ABC", "count": "3"})).unwrap_err();
        assert!(invalid.wrong_type);
        let err = invalid.message;
        assert!(err.contains("pattern"), "{err}");
        assert!(err.contains("Member must be of type integer"), "{err}");
        let err = validate(
            &MODEL,
            0,
            &json!({"name": "abcdefg", "items": ["a", "b", "c"]}),
        )
        .unwrap_err()
        .message;
        assert!(err.contains("at 'name'"), "{err}");
        assert!(err.contains("at 'items' failed to satisfy constraint: Member must have length less than or equal to 2"), "{err}");
        assert!(validate(&MODEL, 0, &json!([1])).is_err());
    }

    #[test]
    fn nested_paths_are_one_based() {
        let err = validate(&MODEL, 0, &json!({"name": "a", "items": ["ok", "BAD"]}))
            .unwrap_err()
            .message;
        assert!(err.contains("'items.2'"), "{err}");
    }
}
