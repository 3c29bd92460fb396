//! The surface between the API gateway and a service: the gateway decodes the wire into a JSON
//! value shaped by the service model, calls the handler by operation name, and encodes what comes
//! back. Generated code implements [`ServiceHandler`] for every service.

use crate::model::ServiceModel;
use crate::RequestContext;
use std::fmt;

/// An AWS error as a service raises it: the error shape's name (the API layer maps it to the wire
/// code and HTTP status with the generated error table) and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// The error shape name from the spec, e.g. `ClusterNotFoundException`.
    pub shape: &'static str,
    /// What went wrong, naming the bad field or resource.
    pub message: String,
}

impl ServiceError {
    /// An error of shape `shape`.
    pub fn new(shape: &'static str, message: impl Into<String>) -> Self {
        Self {
            shape,
            message: message.into(),
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.shape, self.message)
    }
}

impl std::error::Error for ServiceError {}

/// One AWS service as the gateway sees it.
pub trait ServiceHandler: Send + Sync + 'static {
    /// The generated model: protocol, shapes, operations, errors.
    fn model(&self) -> &'static ServiceModel;

    /// Runs operation `op` (already validated against the model) with its decoded input and
    /// returns its output as JSON keyed by member names. Blocking: the gateway runs it off the
    /// async reactor.
    fn call(
        &self,
        ctx: &RequestContext,
        op: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, ServiceError>;
}

/// Turns a validated input value into the operation's typed input. The validator has already
/// checked every type, so a failure here names what still does not fit. A double may arrive as
/// `"NaN"`, `"Infinity"` or `"-Infinity"` (how botocore sends the non-finite ones, which JSON
/// values cannot hold as numbers): it reaches the service as that float, for the service to
/// judge as AWS does.
pub fn decode_input<T: serde::de::DeserializeOwned>(
    input: serde_json::Value,
    validation_error: &'static str,
) -> Result<T, ServiceError> {
    T::deserialize(non_finite::Input(input))
        .map_err(|e| ServiceError::new(validation_error, e.to_string()))
}

/// Turns an operation's typed output into the value the codecs encode.
pub fn encode_output<T: serde::Serialize>(output: T) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(output)
        .map_err(|e| ServiceError::new("InternalFailure", format!("cannot encode the answer: {e}")))
}

/// A `serde_json::Value` read as typed input, as `serde_json::from_value` reads it, except that
/// a float may also be one of the texts botocore writes for the non-finite doubles.
mod non_finite {
    use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;

    /// The float a text spells, if it is one of the non-finite ones.
    pub fn parse(text: &str) -> Option<f64> {
        match text {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        }
    }

    /// The value being read.
    pub struct Input(pub Value);

    /// Methods that read a scalar: as `serde_json::Value` reads it.
    macro_rules! scalars {
        ($($method:ident),*) => {
            $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                self.0.$method(visitor)
            })*
        };
    }

    impl<'de> Deserializer<'de> for Input {
        type Error = serde_json::Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match self.0 {
                Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
                Value::Object(map) => visitor.visit_map(Entries {
                    iter: map.into_iter(),
                    value: None,
                }),
                other => other.deserialize_any(visitor),
            }
        }

        fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match &self.0 {
                Value::String(text) => match parse(text) {
                    Some(f) => visitor.visit_f64(f),
                    None => self.0.deserialize_f64(visitor),
                },
                _ => self.0.deserialize_f64(visitor),
            }
        }

        fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match &self.0 {
                Value::String(text) => match parse(text) {
                    Some(f) => visitor.visit_f64(f),
                    None => self.0.deserialize_f32(visitor),
                },
                _ => self.0.deserialize_f32(visitor),
            }
        }

        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match self.0 {
                Value::Null => visitor.visit_none(),
                other => visitor.visit_some(Input(other)),
            }
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            visitor.visit_newtype_struct(self)
        }

        fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match self.0 {
                Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
                other => other.deserialize_seq(visitor),
            }
        }

        fn deserialize_tuple<V: Visitor<'de>>(
            self,
            _len: usize,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.deserialize_seq(visitor)
        }

        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _len: usize,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.deserialize_seq(visitor)
        }

        fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match self.0 {
                Value::Object(map) => visitor.visit_map(Entries {
                    iter: map.into_iter(),
                    value: None,
                }),
                other => other.deserialize_map(visitor),
            }
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            match self.0 {
                Value::Object(map) => visitor.visit_map(Entries {
                    iter: map.into_iter(),
                    value: None,
                }),
                other => other.deserialize_struct(name, fields, visitor),
            }
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            name: &'static str,
            variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.deserialize_enum(name, variants, visitor)
        }

        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.deserialize_unit_struct(name, visitor)
        }

        scalars!(
            deserialize_bool,
            deserialize_i8,
            deserialize_i16,
            deserialize_i32,
            deserialize_i64,
            deserialize_i128,
            deserialize_u8,
            deserialize_u16,
            deserialize_u32,
            deserialize_u64,
            deserialize_u128,
            deserialize_char,
            deserialize_str,
            deserialize_string,
            deserialize_bytes,
            deserialize_byte_buf,
            deserialize_unit,
            deserialize_identifier,
            deserialize_ignored_any
        );
    }

    /// A list's items, each read as [`Input`].
    struct Items(std::vec::IntoIter<Value>);

    impl<'de> SeqAccess<'de> for Items {
        type Error = serde_json::Error;

        fn next_element_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, Self::Error> {
            self.0
                .next()
                .map(|item| seed.deserialize(Input(item)))
                .transpose()
        }

        fn size_hint(&self) -> Option<usize> {
            Some(self.0.len())
        }
    }

    /// An object's entries, each value read as [`Input`].
    struct Entries {
        iter: serde_json::map::IntoIter,
        value: Option<Value>,
    }

    impl<'de> MapAccess<'de> for Entries {
        type Error = serde_json::Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, Self::Error> {
            match self.iter.next() {
                Some((key, value)) => {
                    self.value = Some(value);
                    seed.deserialize(Value::String(key)).map(Some)
                }
                None => Ok(None),
            }
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(
            &mut self,
            seed: V,
        ) -> Result<V::Value, Self::Error> {
            let value = self
                .value
                .take()
                .ok_or_else(|| serde_json::Error::custom("a map value without its key"))?;
            seed.deserialize(Input(value))
        }

        fn size_hint(&self) -> Option<usize> {
            Some(self.iter.len())
        }
    }
}

#[cfg(test)]
mod decode_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{Blob, Timestamp};
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::HashMap;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Datum {
        name: String,
        value: Option<f64>,
        values: Option<Vec<f64>>,
        single: Option<f32>,
        count: Option<i32>,
        when: Option<Timestamp>,
        data: Option<Blob>,
        by_key: Option<HashMap<String, f64>>,
        nested: Option<Vec<Datum>>,
        plain: f64,
    }

    fn decode(v: serde_json::Value) -> Result<Datum, ServiceError> {
        decode_input(v, "ValidationError")
    }

    #[test]
    fn reads_values_as_serde_json_does() {
        let v = json!({
            "Name": "NaN", "Value": 1.5, "Values": [1, 2.5], "Single": 0.25, "Count": 3,
            "When": 1_704_067_200.5, "Data": "AAE=", "ByKey": {"k": 2},
            "Nested": [{"Name": "n", "Plain": 1}], "Plain": 7, "Unknown": [1, {"x": null}]
        });
        let d = decode(v.clone()).unwrap();
        let plain: Datum = serde_json::from_value(v).unwrap();
        assert_eq!(d, plain);
        assert_eq!(d.name, "NaN");
        assert_eq!(d.when, Some(Timestamp::from_millis(1_704_067_200_500)));
        assert_eq!(d.data, Some(Blob(vec![0, 1])));
    }

    #[test]
    fn non_finite_doubles_arrive_as_floats() {
        let d = decode(json!({
            "Name": "x", "Value": "NaN", "Values": ["Infinity", 1, "-Infinity"],
            "Single": "-Infinity", "ByKey": {"k": "NaN"},
            "Nested": [{"Name": "n", "Plain": "Infinity"}], "Plain": "NaN"
        }))
        .unwrap();
        assert!(d.value.unwrap().is_nan());
        assert_eq!(d.values.unwrap()[..2], [f64::INFINITY, 1.0]);
        assert_eq!(d.single, Some(f32::NEG_INFINITY));
        assert!(d.by_key.unwrap()["k"].is_nan());
        assert_eq!(d.nested.unwrap()[0].plain, f64::INFINITY);
        assert!(d.plain.is_nan());
    }

    #[test]
    fn other_texts_and_wrong_types_still_fail() {
        for bad in [
            json!({"Name": "x", "Plain": "nan"}),
            json!({"Name": "x", "Plain": "1.5"}),
            json!({"Name": "x", "Plain": 1, "Count": "NaN"}),
            json!({"Name": 5, "Plain": 1}),
            json!({"Plain": 1}),
        ] {
            let e = decode(bad.clone()).unwrap_err();
            assert_eq!(e.shape, "ValidationError", "{bad}");
        }
    }
}
