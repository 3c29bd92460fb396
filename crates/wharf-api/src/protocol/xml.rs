//! Writes output values as the XML that botocore's query and ec2 parsers read: element names
//! from `locationName` (else the member name), lists wrapped in `<member>` / `<item>` (or
//! flattened), maps as `<entry><key/><value/></entry>` (flattened: the entries repeat the
//! member's element), timestamps in ISO 8601; and the
//! `<OpResponse xmlns=...>` element both protocols' answers sit in.

use serde_json::Value;
use std::fmt::Write;
use wharf_core::model::{Kind, Operation, ServiceModel, ShapeId};
use wharf_core::Timestamp;

/// Escapes text for element content and attribute values.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Writes the answer to `op`: `<OpResponse xmlns="namespace">`, what `body` writes, and the
/// closing tag.
pub fn response(model: &ServiceModel, op: &Operation, body: impl FnOnce(&mut String)) -> String {
    let mut out = String::with_capacity(512);
    out.push('<');
    out.push_str(op.name);
    out.push_str("Response xmlns=\"");
    escape(model.xml_namespace, &mut out);
    out.push_str("\">");
    body(&mut out);
    out.push_str("</");
    out.push_str(op.name);
    out.push_str("Response>");
    out
}

/// Writes the members of structure `shape` held in `value` (no wrapper element).
pub fn write_members(model: &ServiceModel, shape: ShapeId, value: &Value, out: &mut String) {
    let Some(obj) = value.as_object() else { return };
    for member in model.shape(shape).members {
        let Some(v) = obj.get(member.name) else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        let name = member.location_name.unwrap_or(member.name);
        let target = model.shape(member.shape);
        let flattened = member.flattened || target.flattened;
        if target.kind == Kind::List && flattened {
            for item in v.as_array().map(Vec::as_slice).unwrap_or_default() {
                write_element(model, target.target, name, item, out);
            }
        } else if target.kind == Kind::Map && flattened {
            // A flattened map: one `<name><key/><value/></name>` per entry, no `<entry>`.
            for (k, item) in v.as_object().into_iter().flatten() {
                out.push('<');
                out.push_str(name);
                out.push('>');
                write_entry(model, member.shape, k, item, out);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        } else {
            write_element(model, member.shape, name, v, out);
        }
    }
}

/// Writes `<name>value</name>` for a value of shape `shape`.
pub fn write_element(
    model: &ServiceModel,
    shape: ShapeId,
    name: &str,
    value: &Value,
    out: &mut String,
) {
    let s = model.shape(shape);
    out.push('<');
    out.push_str(name);
    out.push('>');
    match s.kind {
        Kind::Structure => write_members(model, shape, value, out),
        Kind::List => {
            let item_name = model.shape(shape).member_name.unwrap_or("member");
            for item in value.as_array().map(Vec::as_slice).unwrap_or_default() {
                write_element(model, s.target, item_name, item, out);
            }
        }
        Kind::Map => {
            for (k, v) in value.as_object().into_iter().flatten() {
                out.push_str("<entry>");
                write_entry(model, shape, k, v, out);
                out.push_str("</entry>");
            }
        }
        Kind::Timestamp => {
            let ts = match value {
                Value::Number(n) => n.as_f64().map(Timestamp::from_epoch_seconds),
                Value::String(t) => Timestamp::parse(t),
                _ => None,
            };
            if let Some(ts) = ts {
                out.push_str(&ts.to_iso8601());
            }
        }
        Kind::Document => escape(&value.to_string(), out),
        _ => scalar(value, out),
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Writes one entry of map `shape`, `<key>k</key><value>v</value>` (names from the model),
/// without the element around it.
fn write_entry(model: &ServiceModel, shape: ShapeId, key: &str, value: &Value, out: &mut String) {
    let s = model.shape(shape);
    let key_name = s.key_name.unwrap_or("key");
    out.push('<');
    out.push_str(key_name);
    out.push('>');
    escape(key, out);
    out.push_str("</");
    out.push_str(key_name);
    out.push('>');
    write_element(model, s.target, s.value_name.unwrap_or("value"), value, out);
}

fn scalar(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => escape(s, out),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        other => escape(&other.to_string(), out),
    }
}
