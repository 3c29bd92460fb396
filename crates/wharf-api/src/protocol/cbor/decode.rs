//! CBOR request bodies into the JSON value the awsJson decoder would have produced for the same
//! input: member names as keys, timestamps (tag 1) as epoch seconds, blobs (byte strings) as
//! base64, non-finite floats as `"NaN"` / `"Infinity"` / `"-Infinity"` (as botocore writes them
//! in JSON). The model leads: members it does not know are dropped, as the generated types would
//! drop them, and null values are left out. A value of another type than its shape is kept as
//! it is, so the validator names the field and the wrong type, as it does for JSON.
//!
//! Hostile input: [`super::budget`] first walks the body's heads (no more than
//! [`super::budget::MAX_ITEMS`] items, [`MAX_DEPTH`] levels, every announced length present);
//! ciborium then reads one data item with the same nesting limit and never allocates for a
//! declared length before the bytes are there; the body itself is bounded by the gateway. Anything after the data item, a non-text key, a
//! tag other than 1 (bignums included: no AWS shape wharf serves is arbitrary-precision) and an
//! integer outside 64 bits are refused.

use base64::Engine;
use ciborium::value::Value as Cbor;
use serde_json::{Map, Number, Value};
use wharf_core::model::{Kind, ServiceModel, ShapeId};

/// How deep arrays, maps and tags may nest in a request (AWS's deepest input, a CloudWatch
/// metric math query, nests seven).
pub const MAX_DEPTH: usize = 64;

/// CBOR's tag for epoch-based date/time.
const EPOCH_TAG: u64 = 1;

/// Decodes the request body of an operation whose input is `shape`; an empty body is the empty
/// structure.
pub fn input(model: &ServiceModel, shape: ShapeId, body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let item = parse(body)?;
    if !matches!(item, Cbor::Map(_)) {
        return Err("the request body must be a CBOR map".into());
    }
    to_json(model, shape, &item)
}

/// One CBOR data item, the whole of `body`.
fn parse(body: &[u8]) -> Result<Cbor, String> {
    super::budget::check(body, MAX_DEPTH)?;
    let mut rest = body;
    let item: Cbor = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH).map_err(
        |e| match e {
            ciborium::de::Error::Io(_) => "the request body ends inside a CBOR data item".into(),
            ciborium::de::Error::Syntax(at) => {
                format!("the request body is not valid CBOR (at byte {at})")
            }
            ciborium::de::Error::Semantic(_, why) => {
                format!("the request body is not valid CBOR: {why}")
            }
            ciborium::de::Error::RecursionLimitExceeded => {
                format!("the request body nests deeper than {MAX_DEPTH} levels")
            }
        },
    )?;
    if !rest.is_empty() {
        return Err(format!(
            "{} bytes follow the CBOR data item of the request body",
            rest.len()
        ));
    }
    Ok(item)
}

/// `item` read as a value of shape `shape`.
fn to_json(model: &ServiceModel, shape: ShapeId, item: &Cbor) -> Result<Value, String> {
    let s = model.shape(shape);
    match (s.kind, item) {
        (Kind::Structure, Cbor::Map(entries)) => {
            let mut obj = Map::new();
            for (key, value) in entries {
                let name = key_text(key)?;
                if matches!(value, Cbor::Null) {
                    continue;
                }
                if let Some(member) = s.members.iter().find(|m| m.name == name) {
                    obj.insert(name.to_string(), to_json(model, member.shape, value)?);
                }
            }
            Ok(Value::Object(obj))
        }
        (Kind::List, Cbor::Array(items)) => items
            .iter()
            .map(|i| to_json(model, s.target, i))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        (Kind::Map, Cbor::Map(entries)) => {
            let mut obj = Map::new();
            for (key, value) in entries {
                let key = key_text(key)?;
                if !matches!(value, Cbor::Null) {
                    obj.insert(key.to_string(), to_json(model, s.target, value)?);
                }
            }
            Ok(Value::Object(obj))
        }
        (Kind::Timestamp, Cbor::Tag(EPOCH_TAG, seconds)) => epoch_seconds(seconds),
        // A whole float where an integer belongs is that integer (the generated types read
        // integers only from JSON integers).
        (Kind::Integer | Kind::Long, Cbor::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Ok(Value::from(*f as i64))
        }
        _ => as_is(item),
    }
}

/// A timestamp's tagged content: epoch seconds, whole or fractional.
fn epoch_seconds(item: &Cbor) -> Result<Value, String> {
    match item {
        Cbor::Integer(_) | Cbor::Float(_) => as_is(item),
        _ => Err("a timestamp (tag 1) must hold a number of epoch seconds".into()),
    }
}

/// `item` without a shape to lead: numbers, text, booleans as such; byte strings as base64;
/// arrays and maps item by item.
fn as_is(item: &Cbor) -> Result<Value, String> {
    Ok(match item {
        Cbor::Integer(i) => {
            let i = i128::from(*i);
            if let Ok(n) = i64::try_from(i) {
                Value::from(n)
            } else if let Ok(n) = u64::try_from(i) {
                Value::from(n)
            } else {
                return Err(format!("the integer {i} does not fit in 64 bits"));
            }
        }
        Cbor::Float(f) => float(*f),
        Cbor::Text(t) => Value::String(t.clone()),
        Cbor::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Cbor::Bool(b) => Value::Bool(*b),
        Cbor::Null => Value::Null,
        Cbor::Array(items) => Value::Array(items.iter().map(as_is).collect::<Result<_, _>>()?),
        Cbor::Map(entries) => {
            let mut obj = Map::new();
            for (key, value) in entries {
                obj.insert(key_text(key)?.to_string(), as_is(value)?);
            }
            Value::Object(obj)
        }
        Cbor::Tag(EPOCH_TAG, seconds) => epoch_seconds(seconds)?,
        Cbor::Tag(tag, _) => return Err(format!("CBOR tag {tag} is not supported")),
        _ => return Err("a CBOR value of an unsupported kind".into()),
    })
}

/// A map key, which must be text.
fn key_text(key: &Cbor) -> Result<&str, String> {
    match key {
        Cbor::Text(t) => Ok(t),
        _ => Err("CBOR map keys must be text strings".into()),
    }
}

/// A float as JSON: a number, or botocore's JSON spelling of the non-finite ones.
fn float(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".into()),
        None if f > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_model::MULTI;
    use serde_json::json;

    fn text(s: &str) -> Cbor {
        Cbor::Text(s.into())
    }

    fn int(i: i64) -> Cbor {
        Cbor::Integer(i.into())
    }

    fn bytes(value: &Cbor) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(value, &mut out).unwrap();
        out
    }

    fn decode(value: &Cbor) -> Result<Value, String> {
        input(&MULTI, 0, &bytes(value))
    }

    #[test]
    fn every_type_becomes_what_the_json_decoder_makes() {
        let v = decode(&Cbor::Map(vec![
            (text("Names"), Cbor::Array(vec![text("a"), text("b")])),
            (text("Count"), int(-3)),
            (
                text("Filters"),
                Cbor::Array(vec![Cbor::Map(vec![
                    (text("Name"), text("n")),
                    (text("Values"), Cbor::Array(vec![text("v")])),
                ])]),
            ),
            (text("On"), Cbor::Bool(false)),
            (text("When"), Cbor::Tag(1, Box::new(int(1_704_067_200)))),
            (text("Attrs"), Cbor::Map(vec![(text("k"), text("v"))])),
            (text("Data"), Cbor::Bytes(vec![0, 1, 2, 255])),
            (text("Ratio"), Cbor::Float(2.5)),
            (text("Total"), Cbor::Integer(u64::MAX.into())),
        ]))
        .unwrap();
        assert_eq!(
            v,
            json!({
                "Names": ["a", "b"],
                "Count": -3,
                "Filters": [{"Name": "n", "Values": ["v"]}],
                "On": false,
                "When": 1_704_067_200,
                "Attrs": {"k": "v"},
                "Data": "AAEC/w==",
                "Ratio": 2.5,
                "Total": u64::MAX,
            })
        );
    }

    #[test]
    fn fractional_timestamps_and_non_finite_floats() {
        let v = decode(&Cbor::Map(vec![
            (text("When"), Cbor::Tag(1, Box::new(Cbor::Float(1.5)))),
            (text("Ratio"), Cbor::Float(f64::NAN)),
        ]))
        .unwrap();
        assert_eq!(v, json!({"When": 1.5, "Ratio": "NaN"}));
        for (f, shown) in [
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            let v = decode(&Cbor::Map(vec![(text("Ratio"), Cbor::Float(f))])).unwrap();
            assert_eq!(v, json!({ "Ratio": shown }));
        }
        // A whole float is an integer where an integer belongs; a fraction is left for the
        // validator to refuse.
        let v = decode(&Cbor::Map(vec![(text("Count"), Cbor::Float(4.0))])).unwrap();
        assert_eq!(v, json!({"Count": 4}));
        assert!(v["Count"].is_i64());
        let v = decode(&Cbor::Map(vec![(text("Count"), Cbor::Float(4.5))])).unwrap();
        assert_eq!(v, json!({"Count": 4.5}));
        // An untagged number is still epoch seconds.
        let v = decode(&Cbor::Map(vec![(text("When"), int(5))])).unwrap();
        assert_eq!(v, json!({"When": 5}));
        let e = decode(&Cbor::Map(vec![(
            text("When"),
            Cbor::Tag(1, Box::new(text("2024-01-01"))),
        )]))
        .unwrap_err();
        assert!(e.contains("epoch seconds"), "{e}");
    }

    #[test]
    fn unknown_members_and_nulls_are_left_out_wrong_types_kept_for_the_validator() {
        let v = decode(&Cbor::Map(vec![
            (text("Nope"), int(1)),
            (text("Names"), Cbor::Null),
            (text("Attrs"), Cbor::Map(vec![(text("k"), Cbor::Null)])),
            (text("Count"), text("many")),
            (text("On"), Cbor::Bytes(vec![1])),
        ]))
        .unwrap();
        assert_eq!(v, json!({"Attrs": {}, "Count": "many", "On": "AQ=="}));
    }

    #[test]
    fn indefinite_lengths_are_read() {
        // {_ "Names": [_ "a", (_ "b", "c")], "Count": 1} with an indefinite map, array and a
        // chunked text string.
        let body = [
            0xbf, 0x65, b'N', b'a', b'm', b'e', b's', 0x9f, 0x61, b'a', 0x7f, 0x61, b'b', 0x61,
            b'c', 0xff, 0xff, 0x65, b'C', b'o', b'u', b'n', b't', 0x01, 0xff,
        ];
        assert_eq!(
            input(&MULTI, 0, &body).unwrap(),
            json!({"Names": ["a", "bc"], "Count": 1})
        );
        // Half-precision floats are read too.
        let body = [0xa1, 0x65, b'R', b'a', b't', b'i', b'o', 0xf9, 0x3e, 0x00];
        assert_eq!(input(&MULTI, 0, &body).unwrap(), json!({"Ratio": 1.5}));
    }

    #[test]
    fn an_empty_body_is_the_empty_structure_anything_but_a_map_is_refused() {
        assert_eq!(input(&MULTI, 0, b"").unwrap(), json!({}));
        assert_eq!(input(&MULTI, 0, &[0xa0]).unwrap(), json!({}));
        assert_eq!(input(&MULTI, 0, &[0xbf, 0xff]).unwrap(), json!({}));
        let e = input(&MULTI, 0, &bytes(&Cbor::Array(vec![]))).unwrap_err();
        assert_eq!(e, "the request body must be a CBOR map");
    }

    #[test]
    fn never_panics_on_arbitrary_or_mutated_bodies() {
        // A valid body with every kind of item, then random bytes and random mutations of it:
        // each is decoded, and what decodes is validated and written back as an answer.
        let valid = bytes(&Cbor::Map(vec![
            (text("Names"), Cbor::Array(vec![text("a"), text("bé")])),
            (text("Count"), int(-300)),
            (
                text("Filters"),
                Cbor::Array(vec![Cbor::Map(vec![(text("Name"), text("n"))])]),
            ),
            (text("When"), Cbor::Tag(1, Box::new(Cbor::Float(1.5)))),
            (text("Attrs"), Cbor::Map(vec![(text("k"), text("v"))])),
            (text("Data"), Cbor::Bytes(vec![0, 255])),
            (text("Ratio"), Cbor::Float(0.1)),
            (text("Total"), Cbor::Integer(u64::MAX.into())),
        ]));
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let body: Vec<u8> = if round % 2 == 0 {
                let len = next() % 48;
                (0..len).map(|_| next() as u8).collect()
            } else {
                let mut b = valid.clone();
                for _ in 0..1 + next() % 4 {
                    let at = (next() % b.len() as u64) as usize;
                    b[at] = next() as u8;
                }
                let cut = (next() % (b.len() as u64 + 1)) as usize;
                b.truncate(cut.max(b.len() / 2));
                b
            };
            if let Ok(value) = input(&MULTI, 0, &body) {
                let _ = crate::validate::validate(&MULTI, 0, &value);
                let _ = super::super::encode::output(&MULTI, 0, &value);
            }
        }
    }

    #[test]
    fn hostile_bodies_are_refused_without_panic_or_allocation() {
        let refused = |body: &[u8]| input(&MULTI, 0, body).unwrap_err();
        // Nesting far past the limit, through structures, lists and tags.
        let mut deep = vec![0xa1, 0x65, b'N', b'a', b'm', b'e', b's'];
        deep.extend(std::iter::repeat_n(0x81, 100_000));
        deep.push(0x01);
        assert!(
            refused(&deep).contains("deeper than 64"),
            "{}",
            refused(&deep)
        );
        let mut tags = vec![0xa1, 0x64, b'W', b'h', b'e', b'n'];
        tags.extend(std::iter::repeat_n(0xc1, 100_000));
        tags.push(0x01);
        assert!(refused(&tags).contains("deeper than 64"));
        // Lengths of 2^64-1 announced, then nothing.
        for head in [0x5b, 0x7b, 0x9b, 0xbb] {
            let mut body = vec![0xa1, 0x64, b'D', b'a', b't', b'a', head];
            body.extend([0xff; 8]);
            assert!(
                refused(&body).contains("ends inside"),
                "{head:#x}: {}",
                refused(&body)
            );
        }
        // Truncated, trailing bytes, a stray break, reserved additional info.
        assert!(refused(&[0xa1, 0x65, b'N']).contains("ends inside"));
        assert!(refused(&[0xa0, 0x00]).contains("1 bytes follow"));
        assert!(refused(&[0xff]).contains("not valid CBOR"));
        assert!(refused(&[0xa1, 0x61, b'x', 0x1c]).contains("not valid CBOR"));
        // Text that is not UTF-8, keys that are not text.
        assert!(refused(&[0xa1, 0x62, 0xc3, 0x28, 0x01]).contains("not valid CBOR"));
        let e = refused(&bytes(&Cbor::Map(vec![(int(1), int(2))])));
        assert_eq!(e, "CBOR map keys must be text strings");
        // Tags other than 1, bignums beyond 64 bits, undefined simple values.
        let e = refused(&bytes(&Cbor::Map(vec![(
            text("Names"),
            Cbor::Tag(32, Box::new(text("http://x"))),
        )])));
        assert_eq!(e, "CBOR tag 32 is not supported");
        let mut bignum = vec![0xa1, 0x65, b'T', b'o', b't', b'a', b'l', 0xc2, 0x49];
        bignum.extend([1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(refused(&bignum), "CBOR tag 2 is not supported");
        let mut below_i64 = vec![0xa1, 0x65, b'T', b'o', b't', b'a', b'l', 0x3b];
        below_i64.extend([0xff; 8]);
        assert_eq!(
            refused(&below_i64),
            "the integer -18446744073709551616 does not fit in 64 bits"
        );
        assert!(refused(&[0xa1, 0x61, b'x', 0xf0]).contains("not valid CBOR"));
    }
}
