//! IAM policy documents as text: the check that a document is JSON, and the percent-encoding AWS
//! applies when it hands a document back.
//!
//! IAM answers carry every `policyDocumentType` value URL-encoded
//! (`%7B%22Version%22%3A...`); botocore's `json_decode_policies` handler runs `unquote` and
//! `json.loads` on it, so the CLI prints the document as JSON again. botocore uses `unquote`, not
//! `unquote_plus`, so a space must travel as `%20`: a `+` would stay a `+` and break the JSON.
//! We keep the text exactly as the caller sent it (AWS preserves whitespace) and encode it only on
//! the way out.

use crate::iam_generated::Error;

/// Checks that `doc` is a JSON object, the first thing IAM verifies about a policy document.
pub fn validate(doc: &str) -> Result<(), Error> {
    match serde_json::from_str::<serde_json::Value>(doc) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) | Err(_) => Err(Error::MalformedPolicyDocumentException(
            "This policy contains invalid Json".into(),
        )),
    }
}

/// Percent-encodes `doc` the way IAM returns policy documents: every byte outside the RFC 3986
/// unreserved set (`A-Z a-z 0-9 - _ . ~`) becomes `%XX`, including spaces and line breaks.
pub fn encode(doc: &str) -> String {
    wharf_core::text::percent_encode(doc.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What botocore's `unquote` does: `%XX` to bytes, everything else unchanged.
    fn unquote(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn encodes_like_aws() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(
            encode(doc),
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D"
        );
    }

    #[test]
    fn spaces_newlines_and_non_ascii_round_trip_through_unquote() {
        let doc = "{\n  \"Sid\": \"a+b c\",\n  \"Note\": \"caf\u{e9}\"\n}";
        let encoded = encode(doc);
        assert!(!encoded.contains(' ') && !encoded.contains('+') && !encoded.contains('\n'));
        assert!(encoded.contains("%20") && encoded.contains("%2B") && encoded.contains("%C3%A9"));
        assert_eq!(unquote(&encoded), doc);
    }

    #[test]
    fn only_json_objects_are_policies() {
        assert!(validate(r#"{"Version":"2012-10-17"}"#).is_ok());
        for bad in ["", "not json", "[1,2]", "\"text\"", "{\"a\":"] {
            assert_eq!(
                validate(bad),
                Err(Error::MalformedPolicyDocumentException(
                    "This policy contains invalid Json".into()
                )),
                "{bad:?}"
            );
        }
    }
}
