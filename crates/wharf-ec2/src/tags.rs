//! The `TagSpecifications` parameter that tags a resource when it is created (each specification
//! names the resource type it applies to), the checks every tag a request gives goes through
//! (CreateTags too), and stored tags as answers carry them. The rules
//! shared with other services (the reserved `aws:` prefix, a key given again replacing its value)
//! come from [`wharf_core::tags`]; the wording of the errors is EC2's.

use crate::generated::{Error, Tag, TagSpecification};
use crate::records::ResourceTag;

/// The tags `specs` give to a new resource of type `resource_type` (`security-group`,
/// `security-group-rule`, ...). A specification for another type is refused, as AWS does.
pub fn from_specifications(
    specs: Option<&[TagSpecification]>,
    resource_type: &str,
) -> Result<Vec<ResourceTag>, Error> {
    let mut out: Vec<ResourceTag> = Vec::new();
    for spec in specs.unwrap_or_default() {
        match spec.resource_type.as_deref() {
            Some(t) if t == resource_type => {}
            Some(t) => {
                return Err(Error::InvalidParameterValue(format!(
                    "'{t}' is not a valid taggable resource type for this operation."
                )))
            }
            None => {
                return Err(Error::InvalidParameterValue(
                    "The ResourceType of a tag specification is required.".into(),
                ))
            }
        }
        let given = from_wire(spec.tags.as_deref().unwrap_or_default())?;
        wharf_core::tags::merge(&mut out, given, |t| &t.key);
    }
    check_count(out.len())?;
    Ok(out)
}

/// Tags as a request gives them (a missing value is empty), checked against AWS's rules: keys
/// of 1 to 128 characters, not under `aws:`, values of at most 256 characters.
pub fn from_wire(tags: &[Tag]) -> Result<Vec<ResourceTag>, Error> {
    use wharf_core::tags::TagViolation as V;
    let pairs: Vec<ResourceTag> = tags
        .iter()
        .map(|t| ResourceTag {
            key: t.key.clone().unwrap_or_default(),
            value: t.value.clone().unwrap_or_default(),
        })
        .collect();
    let violation = wharf_core::tags::check(
        pairs.iter().map(|t| (t.key.as_str(), t.value.as_str())),
        wharf_core::tags::Checks::default(),
    );
    let message = match violation {
        None => return Ok(pairs),
        Some(V::KeyLength(k)) if k.is_empty() => "Tag keys must not be empty.".to_string(),
        Some(V::KeyLength(k)) => format!(
            "Tag key exceeds the maximum length of {} characters: '{k}'.",
            wharf_core::tags::MAX_KEY_CHARS
        ),
        Some(V::ReservedKey(k)) => {
            format!("Tag key '{k}' is invalid: the aws: prefix is reserved for AWS use.")
        }
        Some(V::ValueLength(k)) => format!(
            "The value of tag '{k}' exceeds the maximum length of {} characters.",
            wharf_core::tags::MAX_VALUE_CHARS
        ),
        // Not checked by `Checks::default()`.
        Some(V::InvalidCharacters(k) | V::DuplicateKey(k)) => format!("Tag '{k}' is invalid."),
        Some(V::TooMany(_)) => return Err(too_many()),
    };
    Err(Error::InvalidParameterValue(message))
}

/// Refuses a resource with more tags than AWS allows (50).
pub fn check_count(count: usize) -> Result<(), Error> {
    if wharf_core::tags::count_ok(count) {
        Ok(())
    } else {
        Err(too_many())
    }
}

fn too_many() -> Error {
    Error::TagLimitExceeded("The maximum number of Tags for a resource has been reached.".into())
}

/// Tags as answers carry them; `None` when there are none, as AWS omits the empty `tagSet`.
pub fn to_wire(tags: &[ResourceTag]) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|t| Tag {
                key: Some(t.key.clone()),
                value: Some(t.value.clone()),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(resource_type: &str, tags: &[(&str, &str)]) -> TagSpecification {
        TagSpecification {
            resource_type: Some(resource_type.into()),
            tags: Some(
                tags.iter()
                    .map(|(k, v)| Tag {
                        key: Some(k.to_string()),
                        value: Some(v.to_string()),
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn takes_tags_for_the_right_resource_type() {
        let tags = from_specifications(
            Some(&[spec(
                "security-group",
                &[("Name", "web"), ("env", "a"), ("env", "b")],
            )]),
            "security-group",
        )
        .unwrap();
        assert_eq!(tags.len(), 2);
        assert_eq!(
            tags[1],
            ResourceTag {
                key: "env".into(),
                value: "b".into()
            }
        );
        assert_eq!(to_wire(&tags).unwrap().len(), 2);
        assert_eq!(to_wire(&[]), None);
        assert!(
            from_specifications(Some(&[spec("vpc", &[("a", "b")])]), "security-group").is_err()
        );
        let long_key = "k".repeat(129);
        assert!(matches!(
            from_specifications(Some(&[spec("vpc", &[(&long_key, "b")])]), "vpc"),
            Err(Error::InvalidParameterValue(m)) if m.contains("128")
        ));
        let long_value = "v".repeat(257);
        assert!(from_specifications(Some(&[spec("vpc", &[("k", &long_value)])]), "vpc").is_err());
        let many: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert!(matches!(
            from_specifications(Some(&[spec("vpc", &many)]), "vpc"),
            Err(Error::TagLimitExceeded(_))
        ));
        assert_eq!(
            from_specifications(Some(&[spec("vpc", &many[..50])]), "vpc")
                .unwrap()
                .len(),
            50
        );
        for reserved in ["aws:x", "AWS:x"] {
            assert_eq!(
                from_specifications(
                    Some(&[spec("security-group", &[(reserved, "b")])]),
                    "security-group"
                ),
                Err(Error::InvalidParameterValue(format!(
                    "Tag key '{reserved}' is invalid: the aws: prefix is reserved for AWS use."
                )))
            );
        }
    }
}
