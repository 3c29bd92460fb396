//! The `TagSpecifications` parameter that tags a resource when it is created (each specification
//! names the resource type it applies to), and stored tags as answers carry them. The rules
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
        for tag in spec.tags.as_deref().unwrap_or_default() {
            let key = tag.key.clone().unwrap_or_default();
            if key.is_empty() {
                return Err(Error::InvalidParameterValue(
                    "Tag keys must not be empty.".into(),
                ));
            }
            if wharf_core::tags::is_reserved_key(&key) {
                return Err(Error::InvalidParameterValue(format!(
                    "Tag key '{key}' is invalid: the aws: prefix is reserved for AWS use."
                )));
            }
            let value = tag.value.clone().unwrap_or_default();
            wharf_core::tags::merge(&mut out, [ResourceTag { key, value }], |t| &t.key);
        }
    }
    Ok(out)
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
