//! Application Auto Scaling's wording of the tag rules of [`wharf_core::tags`] (a scalable
//! target carries at most 50 tags; keys 1-128 characters, values at most 256, no `aws:`
//! prefix).

use crate::generated::Error;
use std::collections::BTreeMap;
use wharf_core::tags::{self, Checks, TagViolation};

/// Refuses `new` tags (to be merged into `existing`) that break a rule, naming the resource.
pub fn check(
    resource_arn: &str,
    existing: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), Error> {
    if let Some(v) = tags::check(
        new.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        Checks::default(),
    ) {
        return Err(violation(&v));
    }
    let count = existing
        .keys()
        .chain(new.keys().filter(|k| !existing.contains_key(*k)))
        .count();
    if !tags::count_ok(count) {
        return Err(Error::TooManyTagsException(format!(
            "The scalable target {resource_arn} would have {count} tags; a resource can have \
             at most {} tags",
            tags::MAX_TAGS
        )));
    }
    Ok(())
}

fn violation(v: &TagViolation) -> Error {
    Error::ValidationException(match v {
        TagViolation::KeyLength(k) => format!(
            "Tag key '{k}' must be between 1 and {} characters long",
            tags::MAX_KEY_CHARS
        ),
        TagViolation::ReservedKey(k) => {
            format!("Tag key '{k}' is invalid: keys that start with 'aws:' are reserved")
        }
        TagViolation::ValueLength(k) => format!(
            "The value of tag '{k}' must be at most {} characters long",
            tags::MAX_VALUE_CHARS
        ),
        TagViolation::InvalidCharacters(k) => format!("Tag '{k}' has invalid characters"),
        TagViolation::DuplicateKey(k) => format!("Tag key '{k}' is given more than once"),
        TagViolation::TooMany(n) => format!("{n} tags is more than the {} allowed", tags::MAX_TAGS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reserved_keys_and_too_many_tags_are_refused() {
        assert!(check("arn", &map(&[]), &map(&[("env", "prod")])).is_ok());
        assert!(matches!(
            check("arn", &map(&[]), &map(&[("aws:x", "1")])),
            Err(Error::ValidationException(m)) if m.contains("reserved")
        ));
        let fifty: BTreeMap<String, String> = (0..50)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert!(check("arn", &fifty, &map(&[("k1", "again")])).is_ok());
        assert!(matches!(
            check("arn", &fifty, &map(&[("new", "1")])),
            Err(Error::TooManyTagsException(_))
        ));
    }
}
