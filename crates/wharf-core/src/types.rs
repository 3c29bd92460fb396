//! AWS scalar types that need more than a Rust primitive: `timestamp` (epoch seconds on the
//! JSON wire, ISO 8601 on the XML wire) and `blob` (base64 on every wire).

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant, kept as milliseconds since the Unix epoch (AWS answers carry millisecond
/// precision). Serialised as fractional epoch seconds, the awsJson form; the XML codecs turn
/// that number into ISO 8601 using the service model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub millis: i64,
}

impl Timestamp {
    /// A timestamp from milliseconds since the epoch.
    pub fn from_millis(millis: i64) -> Self {
        Self { millis }
    }

    /// Fractional seconds since the epoch, the awsJson wire form.
    pub fn as_epoch_seconds(&self) -> f64 {
        self.millis as f64 / 1000.0
    }

    /// From fractional epoch seconds (rounded to the millisecond).
    pub fn from_epoch_seconds(secs: f64) -> Self {
        Self {
            millis: (secs * 1000.0).round() as i64,
        }
    }

    /// ISO 8601 with milliseconds and `Z`, the awsQuery / ec2 wire form.
    pub fn to_iso8601(&self) -> String {
        match chrono::DateTime::from_timestamp_millis(self.millis) {
            Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            None => "1970-01-01T00:00:00.000Z".to_string(),
        }
    }

    /// Parses ISO 8601 / RFC 3339 (what botocore sends for query timestamps) or epoch seconds.
    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(secs) = text.parse::<f64>() {
            return Some(Self::from_epoch_seconds(secs));
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
            return Some(Self::from_millis(t.timestamp_millis()));
        }
        let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
            .ok()?;
        Some(Self::from_millis(naive.and_utc().timestamp_millis()))
    }

    /// This instant plus `millis` milliseconds.
    pub fn plus_millis(&self, millis: i64) -> Self {
        Self {
            millis: self.millis.saturating_add(millis),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_epoch_seconds())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(Self::from_epoch_seconds(n)),
            Raw::Text(t) => Self::parse(&t)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp '{t}'"))),
        }
    }
}

/// Binary data; base64 on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Blob)
            .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_round_trips_through_iso8601() {
        let t = Timestamp::from_millis(1_700_000_000_123);
        assert_eq!(t.to_iso8601(), "2023-11-14T22:13:20.123Z");
        assert_eq!(Timestamp::parse(&t.to_iso8601()), Some(t));
        assert_eq!(Timestamp::parse("1700000000.123"), Some(t));
        assert_eq!(
            Timestamp::parse("2023-11-14T22:13:20"),
            Some(Timestamp::from_millis(1_700_000_000_000))
        );
        assert_eq!(Timestamp::parse("yesterday"), None);
    }

    #[test]
    fn timestamp_serialises_as_epoch_seconds() {
        let t = Timestamp::from_millis(1_500);
        assert_eq!(serde_json::to_string(&t).unwrap_or_default(), "1.5");
        let back: Timestamp = serde_json::from_str("1.5").unwrap_or_default();
        assert_eq!(back, t);
    }

    #[test]
    fn blob_is_base64() {
        let b = Blob(b"hi".to_vec());
        assert_eq!(serde_json::to_string(&b).unwrap_or_default(), "\"aGk=\"");
        assert!(serde_json::from_str::<Blob>("\"%%%\"").is_err());
    }
}
