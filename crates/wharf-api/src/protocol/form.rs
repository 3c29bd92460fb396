//! The form-parameter codec that awsQuery and ec2 share: requests are
//! `application/x-www-form-urlencoded` parameters (`Action=...&Version=...` plus the input
//! flattened into dotted keys, in the body or the URL), decoded here into the input value. The
//! two dialects differ only in how keys are named:
//!
//! | | awsQuery (IAM, STS, ELBv2) | ec2 |
//! |---|---|---|
//! | member key | `locationName` or member name | `queryName`, else `locationName` or member name, capitalised |
//! | list items | `Names.member.1` (flattened: `Names.1`) | always `Names.1` |
//! | empty list | `Names=` | not sent |

use super::wire::{find_operation, Decoded, WireError, WireProtocol, WireRequest};
use http::StatusCode;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use wharf_core::model::{Kind, Member, ServiceModel, ShapeId};
use wharf_core::Timestamp;

/// Which of the two dialects of key naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// awsQuery.
    Query,
    /// ec2.
    Ec2,
}

/// The form parameters of one request, indexed for prefix look-ups.
pub struct Params {
    values: HashMap<String, String>,
    /// Every key, sorted, to ask "is anything under this prefix?" in O(log n).
    keys: Vec<String>,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` text (body and URL query concatenated).
    pub fn parse(forms: &[&[u8]]) -> Self {
        let mut values = HashMap::new();
        for form in forms {
            for (k, v) in form_urlencoded::parse(form) {
                values.insert(k.into_owned(), v.into_owned());
            }
        }
        let mut keys: Vec<String> = values.keys().cloned().collect();
        keys.sort();
        Self { values, keys }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Whether `key` or anything below `key.` is present.
    fn has_prefix(&self, key: &str) -> bool {
        if self.values.contains_key(key) {
            return true;
        }
        let dotted = format!("{key}.");
        let i = self.keys.partition_point(|k| k.as_str() < dotted.as_str());
        self.keys.get(i).is_some_and(|k| k.starts_with(&dotted))
    }
}

/// Decodes a request of either dialect: the operation from `Action` (the URL's parameters and
/// the body's together), then its input; a value that does not parse is answered with the
/// protocol's malformed-body code.
pub fn decode_request(
    protocol: &dyn WireProtocol,
    model: &'static ServiceModel,
    request: &WireRequest<'_>,
    flavor: Flavor,
) -> Result<Decoded, WireError> {
    let params = Params::parse(&[request.query.as_bytes(), request.body]);
    let Some(action) = params.get("Action") else {
        return Err(WireError::new(
            "MissingAction",
            StatusCode::BAD_REQUEST,
            "the request must contain the parameter Action",
        ));
    };
    let op = find_operation(protocol, model, action)?;
    let input = match op.input {
        Some(shape) => decode(model, shape, &params, flavor).map_err(|m| {
            WireError::new(protocol.malformed_body_code(), StatusCode::BAD_REQUEST, m)
        })?,
        None => Value::Object(Map::new()),
    };
    Ok((op, input))
}

/// Decodes the input structure `shape` from the parameters.
pub fn decode(
    model: &ServiceModel,
    shape: ShapeId,
    params: &Params,
    flavor: Flavor,
) -> Result<Value, String> {
    Ok(decode_struct(model, shape, "", params, flavor)?
        .unwrap_or_else(|| Value::Object(Map::new())))
}

fn member_key(member: &Member, flavor: Flavor) -> String {
    match flavor {
        Flavor::Query => member.location_name.unwrap_or(member.name).to_string(),
        // botocore's EC2 serializer: `queryName`, else `locationName` or the member name with
        // its first letter upper-cased.
        Flavor::Ec2 => match member.query_name {
            Some(q) => q.to_string(),
            None => {
                let mut c = member.location_name.unwrap_or(member.name).chars();
                match c.next() {
                    Some(first) => first.to_uppercase().chain(c).collect(),
                    None => String::new(),
                }
            }
        },
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn decode_struct(
    model: &ServiceModel,
    shape: ShapeId,
    prefix: &str,
    params: &Params,
    flavor: Flavor,
) -> Result<Option<Value>, String> {
    let mut obj = Map::new();
    for member in model.shape(shape).members {
        let key = join(prefix, &member_key(member, flavor));
        if !params.has_prefix(&key) {
            continue;
        }
        let flattened = member.flattened || model.shape(member.shape).flattened;
        if let Some(v) = decode_value(model, member.shape, &key, params, flavor, flattened)? {
            obj.insert(member.name.to_string(), v);
        }
    }
    Ok(if obj.is_empty() && !prefix.is_empty() {
        None
    } else {
        Some(Value::Object(obj))
    })
}

fn decode_value(
    model: &ServiceModel,
    shape: ShapeId,
    key: &str,
    params: &Params,
    flavor: Flavor,
    flattened: bool,
) -> Result<Option<Value>, String> {
    let s = model.shape(shape);
    match s.kind {
        Kind::Structure => decode_struct(model, shape, key, params, flavor),
        Kind::List => {
            if params.get(key) == Some("") {
                return Ok(Some(Value::Array(vec![])));
            }
            let item_prefix = if flavor == Flavor::Ec2 || flattened {
                key.to_string()
            } else {
                join(key, s.member_name.unwrap_or("member"))
            };
            let mut items = Vec::new();
            for i in 1.. {
                let item_key = format!("{item_prefix}.{i}");
                if !params.has_prefix(&item_key) {
                    break;
                }
                match decode_value(model, s.target, &item_key, params, flavor, false)? {
                    Some(v) => items.push(v),
                    None => break,
                }
            }
            Ok(Some(Value::Array(items)))
        }
        Kind::Map => {
            let entry_prefix = if flattened {
                key.to_string()
            } else {
                join(key, "entry")
            };
            let key_name = s.key_name.unwrap_or("key");
            let value_name = s.value_name.unwrap_or("value");
            let mut map = Map::new();
            for i in 1.. {
                let entry = format!("{entry_prefix}.{i}");
                if !params.has_prefix(&entry) {
                    break;
                }
                let Some(k) = params.get(&join(&entry, key_name)) else {
                    return Err(format!("the map entry '{entry}' has no {key_name}"));
                };
                let v = decode_value(
                    model,
                    s.target,
                    &join(&entry, value_name),
                    params,
                    flavor,
                    false,
                )?
                .unwrap_or(Value::Null);
                map.insert(k.to_string(), v);
            }
            Ok(Some(Value::Object(map)))
        }
        _ => match params.get(key) {
            None => Ok(None),
            Some(text) => scalar(s.kind, key, text).map(Some),
        },
    }
}

fn scalar(kind: Kind, key: &str, text: &str) -> Result<Value, String> {
    let bad = |what: &str| {
        format!(
            "Value '{text}' at '{key}' failed to satisfy constraint: Member must be of type {what}"
        )
    };
    match kind {
        Kind::Integer | Kind::Long => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| bad("integer")),
        Kind::Double | Kind::Float => match text.trim() {
            t if crate::validate::NON_FINITE.contains(&t) => Ok(Value::String(t.to_string())),
            t => t
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| bad("double")),
        },
        Kind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(bad("boolean")),
        },
        Kind::Timestamp => Timestamp::parse(text.trim())
            .and_then(|t| Number::from_f64(t.as_epoch_seconds()))
            .map(Value::Number)
            .ok_or_else(|| bad("timestamp")),
        _ => Ok(Value::String(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_model::QUERY as MODEL;
    use serde_json::json;

    fn params(text: &str) -> Params {
        Params::parse(&[text.as_bytes()])
    }

    #[test]
    fn decodes_query_lists_maps_and_scalars() {
        let p = params(
            "Action=X&Names.member.1=a&Names.member.2=b&Count=3&On=true&When=2024-01-01T00:00:00Z\
             &Attrs.entry.1.key=k&Attrs.entry.1.value=v",
        );
        let v = decode(&MODEL, 0, &p, Flavor::Query).unwrap();
        assert_eq!(
            v,
            json!({"Names": ["a", "b"], "Count": 3, "On": true, "When": 1704067200.0, "Attrs": {"k": "v"}})
        );
    }

    #[test]
    fn decodes_empty_query_list() {
        let v = decode(&MODEL, 0, &params("Names="), Flavor::Query).unwrap();
        assert_eq!(v, json!({"Names": []}));
    }

    #[test]
    fn decodes_ec2_flattened_lists_with_location_names() {
        let p =
            params("Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2&Names.1=x");
        let v = decode(&MODEL, 0, &p, Flavor::Ec2).unwrap();
        assert_eq!(
            v,
            json!({"Names": ["x"], "Filters": [{"Name": "vpc-id", "Values": ["vpc-1", "vpc-2"]}]})
        );
    }

    #[test]
    fn ec2_capitalises_member_names_without_location_names() {
        static SHAPES: &[wharf_core::model::Shape] = &[
            wharf_core::model::Shape {
                kind: Kind::Structure,
                members: &[Member {
                    name: "hi",
                    shape: 1,
                    ..Member::EMPTY
                }],
                ..wharf_core::model::Shape::EMPTY
            },
            wharf_core::model::Shape::EMPTY,
        ];
        let model = ServiceModel {
            shapes: SHAPES,
            ..crate::protocol::test_model::model(wharf_core::model::Protocol::Ec2, "", "", "")
        };
        let v = decode(&model, 0, &params("Hi=hello"), Flavor::Ec2).unwrap();
        assert_eq!(v, json!({"hi": "hello"}));
        let v = decode(&model, 0, &params("hi=hello"), Flavor::Query).unwrap();
        assert_eq!(v, json!({"hi": "hello"}));
    }

    #[test]
    fn non_finite_doubles_stay_as_botocore_spells_them() {
        for spelled in ["NaN", "Infinity", "-Infinity"] {
            let v = decode(
                &MODEL,
                0,
                &params(&format!("Ratio={spelled}")),
                Flavor::Query,
            );
            assert_eq!(v.unwrap(), json!({ "Ratio": spelled }));
        }
        let v = decode(&MODEL, 0, &params("Ratio=2.5"), Flavor::Query).unwrap();
        assert_eq!(v, json!({"Ratio": 2.5}));
        let e = decode(&MODEL, 0, &params("Ratio=nan"), Flavor::Query).unwrap_err();
        assert!(e.contains("'Ratio'") && e.contains("double"), "{e}");
    }

    #[test]
    fn refuses_bad_scalars_naming_the_key() {
        let err = decode(&MODEL, 0, &params("Count=many"), Flavor::Query).unwrap_err();
        assert!(err.contains("'Count'") && err.contains("integer"), "{err}");
    }
}
