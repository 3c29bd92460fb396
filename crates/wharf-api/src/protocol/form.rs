//! awsQuery and its EC2 flavour. Requests are form parameters (`Action=...&Version=...` plus
//! the input flattened into dotted keys); answers are XML.
//!
//! | | awsQuery (IAM, STS, ELBv2) | ec2 |
//! |---|---|---|
//! | member key | `locationName` or member name | `queryName`, else `locationName` capitalised, else member name |
//! | list items | `Names.member.1` (flattened: `Names.1`) | always `Names.1` |
//! | empty list | `Names=` | not sent |
//! | answer | `<OpResponse><OpResult>…</OpResult><ResponseMetadata>` | `<OpResponse><requestId>…` |
//! | error | `<ErrorResponse><Error><Type><Code><Message>` | `<Response><Errors><Error><Code><Message>` |

use super::xml;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use wharf_core::model::{Kind, Member, Operation, ServiceModel, ShapeId};
use wharf_core::Timestamp;

/// Which of the two query dialects.
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
        Flavor::Ec2 => {
            if let Some(q) = member.query_name {
                q.to_string()
            } else if let Some(l) = member.location_name {
                let mut c = l.chars();
                match c.next() {
                    Some(first) => first.to_uppercase().chain(c).collect(),
                    None => String::new(),
                }
            } else {
                member.name.to_string()
            }
        }
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
        Kind::Double | Kind::Float => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| bad("double")),
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

/// Encodes a successful answer.
pub fn encode_output(
    model: &ServiceModel,
    op: &Operation,
    output: &Value,
    request_id: &str,
    flavor: Flavor,
) -> String {
    let mut out = String::with_capacity(512);
    out.push('<');
    out.push_str(op.name);
    out.push_str("Response xmlns=\"");
    xml::escape(model.xml_namespace, &mut out);
    out.push_str("\">");
    match flavor {
        Flavor::Ec2 => {
            out.push_str("<requestId>");
            xml::escape(request_id, &mut out);
            out.push_str("</requestId>");
            if let Some(shape) = op.output {
                xml::write_members(model, shape, output, &mut out);
            }
        }
        Flavor::Query => {
            if let Some(shape) = op.output {
                let wrapper = op
                    .result_wrapper
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{}Result", op.name));
                out.push('<');
                out.push_str(&wrapper);
                out.push('>');
                xml::write_members(model, shape, output, &mut out);
                out.push_str("</");
                out.push_str(&wrapper);
                out.push('>');
            }
            out.push_str("<ResponseMetadata><RequestId>");
            xml::escape(request_id, &mut out);
            out.push_str("</RequestId></ResponseMetadata>");
        }
    }
    out.push_str("</");
    out.push_str(op.name);
    out.push_str("Response>");
    out
}

/// Encodes an error answer.
pub fn encode_error(
    namespace: &str,
    code: &str,
    message: &str,
    sender_fault: bool,
    request_id: &str,
    flavor: Flavor,
) -> String {
    let mut out = String::with_capacity(256);
    match flavor {
        Flavor::Query => {
            out.push_str("<ErrorResponse xmlns=\"");
            xml::escape(namespace, &mut out);
            out.push_str("\"><Error><Type>");
            out.push_str(if sender_fault { "Sender" } else { "Receiver" });
            out.push_str("</Type><Code>");
            xml::escape(code, &mut out);
            out.push_str("</Code><Message>");
            xml::escape(message, &mut out);
            out.push_str("</Message></Error><RequestId>");
            xml::escape(request_id, &mut out);
            out.push_str("</RequestId></ErrorResponse>");
        }
        Flavor::Ec2 => {
            out.push_str("<Response><Errors><Error><Code>");
            xml::escape(code, &mut out);
            out.push_str("</Code><Message>");
            xml::escape(message, &mut out);
            out.push_str("</Message></Error></Errors><RequestID>");
            xml::escape(request_id, &mut out);
            out.push_str("</RequestID></Response>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wharf_core::model::{Protocol, Shape};

    static SHAPES: &[Shape] = &[
        Shape {
            name: "In",
            kind: Kind::Structure,
            members: &[
                Member {
                    name: "Names",
                    shape: 1,
                    ..Member::EMPTY
                },
                Member {
                    name: "Count",
                    shape: 3,
                    ..Member::EMPTY
                },
                Member {
                    name: "Filters",
                    shape: 4,
                    location_name: Some("Filter"),
                    ..Member::EMPTY
                },
                Member {
                    name: "On",
                    shape: 7,
                    ..Member::EMPTY
                },
                Member {
                    name: "When",
                    shape: 8,
                    ..Member::EMPTY
                },
                Member {
                    name: "Attrs",
                    shape: 9,
                    ..Member::EMPTY
                },
            ],
            ..Shape::EMPTY
        },
        Shape {
            name: "Names",
            kind: Kind::List,
            target: 2,
            ..Shape::EMPTY
        },
        Shape {
            name: "Name",
            kind: Kind::String,
            ..Shape::EMPTY
        },
        Shape {
            name: "Count",
            kind: Kind::Integer,
            ..Shape::EMPTY
        },
        Shape {
            name: "Filters",
            kind: Kind::List,
            target: 5,
            member_name: Some("Filter"),
            ..Shape::EMPTY
        },
        Shape {
            name: "Filter",
            kind: Kind::Structure,
            members: &[
                Member {
                    name: "Name",
                    shape: 2,
                    ..Member::EMPTY
                },
                Member {
                    name: "Values",
                    shape: 6,
                    location_name: Some("Value"),
                    ..Member::EMPTY
                },
            ],
            ..Shape::EMPTY
        },
        Shape {
            name: "Values",
            kind: Kind::List,
            target: 2,
            member_name: Some("item"),
            ..Shape::EMPTY
        },
        Shape {
            name: "On",
            kind: Kind::Boolean,
            ..Shape::EMPTY
        },
        Shape {
            name: "When",
            kind: Kind::Timestamp,
            ..Shape::EMPTY
        },
        Shape {
            name: "Attrs",
            kind: Kind::Map,
            key: 2,
            target: 2,
            ..Shape::EMPTY
        },
    ];
    static MODEL: ServiceModel = ServiceModel {
        endpoint_prefix: "t",
        signing_name: "t",
        protocol: Protocol::Query,
        target_prefix: "",
        json_version: "",
        api_version: "2020-01-01",
        xml_namespace: "http://t.amazonaws.com/doc/2020-01-01/",
        shapes: SHAPES,
        operations: &[],
        all_operations: &[],
        errors: &[],
        validation_error: "ValidationError",
    };

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
    fn refuses_bad_scalars_naming_the_key() {
        let err = decode(&MODEL, 0, &params("Count=many"), Flavor::Query).unwrap_err();
        assert!(err.contains("'Count'") && err.contains("integer"), "{err}");
    }

    #[test]
    fn encodes_answers_with_result_wrapper_and_request_id() {
        let op = Operation {
            name: "Op",
            input: None,
            output: Some(0),
            result_wrapper: Some("OpResult"),
        };
        let xml = encode_output(
            &MODEL,
            &op,
            &json!({"Names": ["a&b"], "On": false, "When": 0}),
            "rid",
            Flavor::Query,
        );
        assert_eq!(
            xml,
            "<OpResponse xmlns=\"http://t.amazonaws.com/doc/2020-01-01/\"><OpResult>\
             <Names><member>a&amp;b</member></Names><On>false</On><When>1970-01-01T00:00:00.000Z</When>\
             </OpResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></OpResponse>"
        );
        let ec2 = encode_output(
            &MODEL,
            &op,
            &json!({"Filters": [{"Name": "n"}]}),
            "rid",
            Flavor::Ec2,
        );
        assert!(
            ec2.contains(
                "<requestId>rid</requestId><Filter><Filter><Name>n</Name></Filter></Filter>"
            ),
            "{ec2}"
        );
    }

    #[test]
    fn encodes_errors() {
        let q = encode_error("ns", "NoSuchEntity", "a <b>", true, "rid", Flavor::Query);
        assert!(q.contains(
            "<Type>Sender</Type><Code>NoSuchEntity</Code><Message>a &lt;b&gt;</Message>"
        ));
        let e = encode_error("ns", "InvalidGroup.NotFound", "m", true, "rid", Flavor::Ec2);
        assert!(e.starts_with("<Response><Errors><Error><Code>InvalidGroup.NotFound</Code>"));
    }
}
