//! Secret names, ARNs and the `SecretId` forms AWS accepts: a name, a full ARN
//! (`...:secret:<name>-<6 random characters>`), or a partial ARN without the random suffix.
//! Pure functions: the store lookups built on them are in `secrets.rs`.

use wharf_core::Arn;

/// Alphabet of the random suffix of a secret ARN.
pub const SUFFIX_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Length of that suffix.
pub const SUFFIX_LEN: usize = 6;
/// Longest secret name.
pub const MAX_NAME_LEN: usize = 512;

/// Whether `name` is a valid secret name: 1-512 ASCII letters, digits and `/_+=.@-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
}

/// The ARN of secret `name` with random `suffix`.
pub fn secret_arn(region: &str, account: &str, name: &str, suffix: &str) -> String {
    Arn::new(
        "secretsmanager",
        region,
        account,
        &format!("secret:{name}-{suffix}"),
    )
    .to_string()
}

/// What a `SecretId` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// A secret name.
    Name(String),
    /// A full or partial secret ARN.
    Arn {
        /// The ARN as given.
        arn: String,
        /// Its Region.
        region: String,
        /// Its account.
        account: String,
        /// Everything after `secret:`: `<name>-<suffix>` (full) or `<name>` (partial).
        resource: String,
    },
}

impl SecretRef {
    /// Reads a `SecretId`. Text starting with `arn:` must be a Secrets Manager secret ARN;
    /// anything else is a name. `None` for an ARN of something else.
    pub fn parse(secret_id: &str) -> Option<Self> {
        if !secret_id.starts_with("arn:") {
            return Some(Self::Name(secret_id.to_string()));
        }
        let arn = Arn::parse(secret_id)?;
        if arn.service != "secretsmanager" {
            return None;
        }
        let resource = arn.resource.strip_prefix("secret:")?;
        if resource.is_empty() || resource.contains(':') {
            return None;
        }
        Some(Self::Arn {
            arn: secret_id.to_string(),
            region: arn.region,
            account: arn.account,
            resource: resource.to_string(),
        })
    }

    /// The names to look up, most specific first, with the ARN the secret must have to match
    /// (`None`: any secret of that name matches).
    ///
    /// A name is looked up as is. A full ARN `...:secret:db-AbC123` is the secret named `db`
    /// whose ARN is exactly that; failing that, it is read as a partial ARN: the secret named
    /// `db-AbC123`, whatever its suffix.
    pub fn candidates(&self) -> Vec<(String, Option<String>)> {
        match self {
            Self::Name(name) => vec![(name.clone(), None)],
            Self::Arn { arn, resource, .. } => {
                let mut out = Vec::new();
                if let Some(name) = name_without_suffix(resource) {
                    out.push((name.to_string(), Some(arn.clone())));
                }
                out.push((resource.clone(), None));
                out
            }
        }
    }

    /// Whether this reference can name a secret of `account` in `region` (a name always can;
    /// an ARN only in its own account and Region).
    pub fn is_in(&self, account: &str, region: &str) -> bool {
        match self {
            Self::Name(_) => true,
            Self::Arn {
                region: r,
                account: a,
                ..
            } => r == region && a == account,
        }
    }

    /// The secret name this reference shows when nothing matched (DeleteSecret with
    /// ForceDeleteWithoutRecovery answers for secrets that do not exist).
    pub fn display_name(&self) -> &str {
        match self {
            Self::Name(name) => name,
            Self::Arn { resource, .. } => name_without_suffix(resource).unwrap_or(resource),
        }
    }
}

/// `db` of `db-AbC123`; `None` when `resource` does not end with `-` and six letters or digits.
fn name_without_suffix(resource: &str) -> Option<&str> {
    let cut = resource.len().checked_sub(SUFFIX_LEN + 1)?;
    if cut == 0 || !resource.is_char_boundary(cut) {
        return None;
    }
    let (name, suffix) = resource.split_at(cut);
    let suffix = suffix.strip_prefix('-')?;
    suffix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric())
        .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        for ok in ["a", "prod/db/password", "x_y+z=w.v@u-t", &"n".repeat(512)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "has space",
            "colon:name",
            "bang!",
            "é",
            &"n".repeat(513),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn full_and_partial_arns() {
        let full = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbC123";
        let r = SecretRef::parse(full).expect("arn");
        assert!(r.is_in("123456789012", "us-east-1"));
        assert!(!r.is_in("123456789012", "eu-west-1"));
        assert!(!r.is_in("210987654321", "us-east-1"));
        assert_eq!(
            r.candidates(),
            vec![
                ("prod/db".to_string(), Some(full.to_string())),
                ("prod/db-AbC123".to_string(), None)
            ]
        );
        assert_eq!(r.display_name(), "prod/db");

        let partial = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db";
        let r = SecretRef::parse(partial).expect("arn");
        assert_eq!(r.candidates(), vec![("prod/db".to_string(), None)]);

        // A suffix must be six letters or digits after a hyphen, and leave a name.
        let r = SecretRef::parse("arn:aws:secretsmanager:us-east-1:1:secret:-AbC123").expect("arn");
        assert_eq!(r.candidates(), vec![("-AbC123".to_string(), None)]);
        let r =
            SecretRef::parse("arn:aws:secretsmanager:us-east-1:1:secret:a-Ab.123").expect("arn");
        assert_eq!(r.candidates(), vec![("a-Ab.123".to_string(), None)]);

        assert_eq!(
            SecretRef::parse("plain-name"),
            Some(SecretRef::Name("plain-name".into()))
        );
        assert_eq!(
            SecretRef::parse("arn:aws:ssm:us-east-1:1:parameter/x"),
            None
        );
        assert_eq!(
            SecretRef::parse("arn:aws:secretsmanager:us-east-1:1:secret:"),
            None
        );
        assert_eq!(
            SecretRef::parse("arn:aws:secretsmanager:us-east-1:1:secret:a:b"),
            None
        );
    }

    #[test]
    fn arns_have_the_aws_shape() {
        assert_eq!(
            secret_arn("us-east-1", "123456789012", "db", "AbC123"),
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbC123"
        );
    }
}
