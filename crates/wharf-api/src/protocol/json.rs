//! awsJson 1.0 / 1.1: the body is the input structure as JSON, the answer the output structure,
//! and an error is `{"__type": "<ShapeName>", "message": "..."}` with a 4xx/5xx status.

use serde_json::Value;

/// Decodes a request body; an empty body is the empty structure.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("the request body must be a JSON object".into()),
        Err(e) => Err(format!("the request body is not valid JSON: {e}")),
    }
}

/// The content type of answers for awsJson `version` (`1.0` or `1.1`).
pub fn content_type(version: &str) -> &'static str {
    if version == "1.0" {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    }
}

/// Encodes an output value.
pub fn encode_output(value: &Value) -> Vec<u8> {
    match value {
        Value::Null => b"{}".to_vec(),
        v => serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

/// Encodes an error body.
pub fn encode_error(shape: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "__type": shape, "message": message }))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_objects_and_refuses_the_rest() {
        assert_eq!(decode(b"").unwrap(), serde_json::json!({}));
        assert_eq!(decode(b" {\"a\":1}").unwrap(), serde_json::json!({"a": 1}));
        assert!(decode(b"{\"a\":").unwrap_err().contains("not valid JSON"));
        assert!(decode(b"[1]").unwrap_err().contains("JSON object"));
    }

    #[test]
    fn errors_carry_the_shape_name() {
        let body = encode_error("ClusterNotFoundException", "Cluster not found.");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["__type"], "ClusterNotFoundException");
        assert_eq!(v["message"], "Cluster not found.");
    }
}
