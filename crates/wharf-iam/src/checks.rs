//! The checks and lookups the role operations share: finding a role (or answering IAM's
//! `NoSuchEntity`), and the tag rules IAM applies to a role's tags.
//!
//! IAM's tag rules differ from other services' in two ways kept here: keys are unique regardless
//! of case, and the reserved `aws:` prefix (from [`wharf_core::tags`]) has IAM's own wording.

use crate::iam_generated::{Error, Tag};
use crate::records::{role_key, RoleRecord, ROLES};
use wharf_store::Tx;

/// IAM's answer for a role that does not exist.
pub fn no_such_role(name: &str) -> Error {
    Error::NoSuchEntityException(format!("The role with name {name} cannot be found."))
}

/// The role `name` of `account`, or `NoSuchEntity`.
pub fn load_role(tx: &Tx<'_>, account: &str, name: &str) -> Result<RoleRecord, Error> {
    tx.get(ROLES, &role_key(account, name))?
        .ok_or_else(|| no_such_role(name))
}

/// Refuses tags whose keys repeat (regardless of case) or use the reserved `aws:` prefix.
pub fn check_tags(tags: &[Tag]) -> Result<(), Error> {
    let mut keys: Vec<String> = tags.iter().map(|t| t.key.to_lowercase()).collect();
    keys.sort();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::InvalidInputException(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
        ));
    }
    if tags
        .iter()
        .any(|t| wharf_core::tags::is_reserved_key(&t.key))
    {
        return Err(Error::InvalidInputException(
            "User-defined tag keys can't start with 'aws:'. This prefix is reserved for AWS tags."
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str) -> Tag {
        Tag {
            key: key.into(),
            value: "v".into(),
        }
    }

    #[test]
    fn tag_keys_are_unique_regardless_of_case_and_not_reserved() {
        assert!(check_tags(&[tag("a"), tag("b")]).is_ok());
        assert_eq!(
            check_tags(&[tag("env"), tag("ENV")]),
            Err(Error::InvalidInputException(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into()
            ))
        );
        for reserved in ["aws:x", "AWS:x"] {
            assert!(
                matches!(check_tags(&[tag(reserved)]), Err(Error::InvalidInputException(m)) if m.contains("reserved")),
                "{reserved}"
            );
        }
    }
}
