//! Output values (the JSON the generated types serialize to) written as CBOR, led by the model:
//! structures and maps as maps (null members left out), lists as arrays, timestamps as tag 1
//! epoch seconds (an integer when whole), blobs (base64 in the JSON) as byte strings, integers
//! in the fewest bytes. The writer is wharf's own, a few lines over RFC 8949's heads, because the
//! spec says floats SHOULD NOT be half precision and ciborium's writer picks the shortest
//! lossless float, f16 included: here a float is single precision when that is lossless, else
//! double.

use base64::Engine;
use serde_json::{Map, Number, Value};
use wharf_core::model::{Kind, ServiceModel, ShapeId};
use wharf_core::Timestamp;

/// CBOR major types.
const UNSIGNED: u8 = 0;
const NEGATIVE: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
const TAG: u8 = 6;
/// Major type 7's simple values and float heads.
const FALSE: u8 = 0xf4;
const TRUE: u8 = 0xf5;
const NULL: u8 = 0xf6;
const FLOAT32: u8 = 0xfa;
const FLOAT64: u8 = 0xfb;
/// CBOR's tag for epoch-based date/time.
const EPOCH_TAG: u64 = 1;

/// The body answering with `output` of shape `shape` (`null`: the empty structure).
pub fn output(model: &ServiceModel, shape: ShapeId, output: &Value) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(256));
    match output {
        Value::Null => w.head(MAP, 0),
        v => w.value(model, Some(shape), v),
    }
    w.0
}

/// An error body: `{"__type": <shape id>, "message": <message>}`.
pub fn error(shape_id: &str, message: &str) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64 + message.len()));
    w.head(MAP, 2);
    w.text("__type");
    w.text(shape_id);
    w.text("message");
    w.text(message);
    w.0
}

/// A CBOR writer.
struct Writer(Vec<u8>);

impl Writer {
    /// The head of an item: major type and argument, in the fewest bytes.
    fn head(&mut self, major: u8, arg: u64) {
        let major = major << 5;
        if arg < 24 {
            self.0.push(major | arg as u8);
        } else if let Ok(a) = u8::try_from(arg) {
            self.0.extend([major | 24, a]);
        } else if let Ok(a) = u16::try_from(arg) {
            self.0.push(major | 25);
            self.0.extend(a.to_be_bytes());
        } else if let Ok(a) = u32::try_from(arg) {
            self.0.push(major | 26);
            self.0.extend(a.to_be_bytes());
        } else {
            self.0.push(major | 27);
            self.0.extend(arg.to_be_bytes());
        }
    }

    fn len(&mut self, major: u8, len: usize) {
        self.head(major, u64::try_from(len).unwrap_or(u64::MAX));
    }

    fn text(&mut self, s: &str) {
        self.len(TEXT, s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.len(BYTES, b.len());
        self.0.extend_from_slice(b);
    }

    fn int(&mut self, i: i64) {
        match u64::try_from(i) {
            Ok(u) => self.head(UNSIGNED, u),
            // -1 - i is non-negative and fits, even for i64::MIN.
            Err(_) => self.head(NEGATIVE, (-1 - i).unsigned_abs()),
        }
    }

    fn float(&mut self, f: f64) {
        let single = f as f32;
        if f64::from(single).to_bits() == f.to_bits() || (f.is_nan() && single.is_nan()) {
            self.0.push(FLOAT32);
            self.0.extend(single.to_be_bytes());
        } else {
            self.0.push(FLOAT64);
            self.0.extend(f.to_be_bytes());
        }
    }

    /// A JSON number: an integer when it is one, else a float.
    fn number(&mut self, n: &Number) {
        if let Some(i) = n.as_i64() {
            self.int(i);
        } else if let Some(u) = n.as_u64() {
            self.head(UNSIGNED, u);
        } else {
            self.float(n.as_f64().unwrap_or(0.0));
        }
    }

    /// Epoch seconds: an integer when whole, else a float.
    fn seconds(&mut self, secs: f64) {
        let whole = secs.fract() == 0.0 && secs.abs() < 9.0e15;
        if whole {
            self.int(secs as i64);
        } else {
            self.float(secs);
        }
    }

    /// `v`, a value of shape `shape` (`None`: no shape to lead, written as it is).
    fn value(&mut self, model: &ServiceModel, shape: Option<ShapeId>, v: &Value) {
        let s = shape.map(|id| model.shape(id));
        match (s.map(|s| s.kind), v) {
            (_, Value::Null) => self.0.push(NULL),
            (_, Value::Bool(b)) => self.0.push(if *b { TRUE } else { FALSE }),
            (Some(Kind::Timestamp), Value::Number(n)) => {
                self.head(TAG, EPOCH_TAG);
                self.seconds(n.as_f64().unwrap_or(0.0));
            }
            (Some(Kind::Timestamp), Value::String(t)) => match Timestamp::parse(t) {
                Some(ts) => {
                    self.head(TAG, EPOCH_TAG);
                    self.seconds(ts.as_epoch_seconds());
                }
                None => self.text(t),
            },
            (Some(Kind::Double | Kind::Float), Value::Number(n)) => {
                self.float(n.as_f64().unwrap_or(0.0));
            }
            (Some(Kind::Blob), Value::String(b64)) => {
                match base64::engine::general_purpose::STANDARD.decode(b64) {
                    Ok(b) => self.bytes(&b),
                    Err(_) => self.text(b64),
                }
            }
            (_, Value::Number(n)) => self.number(n),
            (_, Value::String(t)) => self.text(t),
            (_, Value::Array(items)) => {
                let item_shape = s.filter(|s| s.kind == Kind::List).map(|s| s.target);
                self.len(ARRAY, items.len());
                for item in items {
                    self.value(model, item_shape, item);
                }
            }
            (_, Value::Object(obj)) => {
                let member_shape = |key: &str| match s {
                    Some(s) if s.kind == Kind::Structure => {
                        s.members.iter().find(|m| m.name == key).map(|m| m.shape)
                    }
                    Some(s) if s.kind == Kind::Map => Some(s.target),
                    _ => None,
                };
                self.map(obj, |w, key, v| w.value(model, member_shape(key), v));
            }
        }
    }

    /// A map of the non-null entries of `obj`, each value written by `write`.
    fn map(&mut self, obj: &Map<String, Value>, mut write: impl FnMut(&mut Self, &str, &Value)) {
        let present = obj.values().filter(|v| !v.is_null()).count();
        self.len(MAP, present);
        for (key, v) in obj.iter().filter(|(_, v)| !v.is_null()) {
            self.text(key);
            write(self, key, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_model::MULTI;
    use ciborium::value::Value as Cbor;
    use serde_json::json;

    fn text(s: &str) -> Cbor {
        Cbor::Text(s.into())
    }

    fn read(body: &[u8]) -> Cbor {
        ciborium::de::from_reader(body).unwrap()
    }

    #[test]
    fn every_type_is_written_as_the_spec_says() {
        let body = output(
            &MULTI,
            0,
            &json!({
                "Names": ["a"],
                "Count": -25,
                "Filters": [{"Name": "n", "Values": []}],
                "On": true,
                "When": 1_704_067_200.0,
                "Attrs": {"k": "v", "gone": null},
                "Data": "AAEC/w==",
                "Ratio": 3.0,
                "Total": u64::MAX,
                "Unmodelled": {"x": [1.5]},
            }),
        );
        // serde_json's maps are sorted by key, and so are the answers.
        assert_eq!(
            read(&body),
            Cbor::Map(vec![
                (text("Attrs"), Cbor::Map(vec![(text("k"), text("v"))])),
                (text("Count"), Cbor::Integer((-25).into())),
                (text("Data"), Cbor::Bytes(vec![0, 1, 2, 255])),
                (
                    text("Filters"),
                    Cbor::Array(vec![Cbor::Map(vec![
                        (text("Name"), text("n")),
                        (text("Values"), Cbor::Array(vec![])),
                    ])])
                ),
                (text("Names"), Cbor::Array(vec![text("a")])),
                (text("On"), Cbor::Bool(true)),
                (text("Ratio"), Cbor::Float(3.0)),
                (text("Total"), Cbor::Integer(u64::MAX.into())),
                (
                    text("Unmodelled"),
                    Cbor::Map(vec![(text("x"), Cbor::Array(vec![Cbor::Float(1.5)]))])
                ),
                (
                    text("When"),
                    Cbor::Tag(1, Box::new(Cbor::Integer(1_704_067_200.into())))
                ),
            ])
        );
    }

    #[test]
    fn heads_use_the_fewest_bytes_and_floats_are_never_half_precision() {
        let mut w = Writer(Vec::new());
        for i in [0, 23, 24, 255, 256, 65_535, 65_536, -1, -24, -25, i64::MIN] {
            w.int(i);
        }
        assert_eq!(
            w.0,
            [
                &[0x00, 0x17, 0x18, 0x18, 0x18, 0xff, 0x19, 0x01, 0x00, 0x19, 0xff, 0xff][..],
                &[0x1a, 0x00, 0x01, 0x00, 0x00, 0x20, 0x37, 0x38, 0x18][..],
                &[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
            ]
            .concat()
        );
        let mut w = Writer(Vec::new());
        w.float(1.5);
        w.float(0.1);
        assert_eq!(w.0[..5], [0xfa, 0x3f, 0xc0, 0x00, 0x00]);
        assert_eq!(w.0[5], 0xfb);
        assert_eq!(w.0[6..], 0.1f64.to_be_bytes());
    }

    #[test]
    fn timestamps_are_tagged_epoch_seconds_whole_or_fractional() {
        let body = output(&MULTI, 0, &json!({"When": 1.25}));
        assert_eq!(body[..7], [0xa1, 0x64, b'W', b'h', b'e', b'n', 0xc1]);
        assert_eq!(body[7], 0xfa, "1.25 is exact in single precision");
        let body = output(&MULTI, 0, &json!({"When": "2024-01-01T00:00:00Z"}));
        assert_eq!(
            read(&body),
            Cbor::Map(vec![(
                text("When"),
                Cbor::Tag(1, Box::new(Cbor::Integer(1_704_067_200.into())))
            )])
        );
        let body = output(&MULTI, 0, &json!({"When": 1_704_067_200.125}));
        assert_eq!(
            read(&body),
            Cbor::Map(vec![(
                text("When"),
                Cbor::Tag(1, Box::new(Cbor::Float(1_704_067_200.125)))
            )])
        );
    }

    #[test]
    fn empty_output_is_an_empty_map_and_errors_have_type_and_message() {
        assert_eq!(output(&MULTI, 0, &Value::Null), [0xa0]);
        assert_eq!(output(&MULTI, 0, &json!({"Names": null})), [0xa0]);
        assert_eq!(
            read(&error("ns#Bad", "no")),
            Cbor::Map(vec![
                (text("__type"), text("ns#Bad")),
                (text("message"), text("no"))
            ])
        );
    }
}
