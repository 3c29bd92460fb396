//! ListSecrets `Filters` (pure), as AWS documents them:
//!
//! - `name`, `tag-key`, `tag-value`, `primary-region`, `owning-service`: prefix match,
//!   case-sensitive (`name: Data` finds `DatabaseSecret`, not `databaseSecret` or `MyData`);
//! - `description`: prefix match, not case-sensitive, on the whole description or word by word;
//! - `all`: the value is broken into words, and a secret matches when one of them starts a word
//!   of its name, description, tag keys or tag values, not case-sensitive.
//!
//! Words are runs of letters and digits, split where lower case turns to upper case, letters to
//! digits or back (`credsDatabase#892` is `creds`, `database`, `892`). A value starting with `!`
//! negates: the secret matches when the rest matches none of its attributes. The values of one
//! filter are alternatives; all filters must match.

use crate::generated::{Error, Filter};
use crate::records::StoredSecret;

/// What a filter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Name,
    Description,
    TagKey,
    TagValue,
    PrimaryRegion,
    OwningService,
    All,
}

/// One filter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The text without its `!`.
    pub text: String,
    /// Whether it started with `!`.
    pub negated: bool,
}

/// A checked filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFilter {
    pub key: Key,
    pub values: Vec<Value>,
}

/// Checks the request's filters (the model already checked keys, counts and patterns).
pub fn parse(filters: &[Filter]) -> Result<Vec<SecretFilter>, Error> {
    filters
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let n = i + 1;
            let key = match f.key.as_deref() {
                Some("name") => Key::Name,
                Some("description") => Key::Description,
                Some("tag-key") => Key::TagKey,
                Some("tag-value") => Key::TagValue,
                Some("primary-region") => Key::PrimaryRegion,
                Some("owning-service") => Key::OwningService,
                Some("all") => Key::All,
                Some(other) => {
                    return Err(Error::InvalidParameterException(format!(
                        "Filters.{n}.Key '{other}' is not one of description, name, tag-key, tag-value, primary-region, owning-service, all."
                    )))
                }
                None => {
                    return Err(Error::InvalidParameterException(format!(
                        "Filters.{n}.Key is missing: name the attribute to filter on."
                    )))
                }
            };
            let values = match f.values.as_deref() {
                Some(v) if !v.is_empty() => v,
                _ => {
                    return Err(Error::InvalidParameterException(format!(
                        "Filters.{n}.Values is missing: give between 1 and 10 values."
                    )))
                }
            };
            Ok(SecretFilter {
                key,
                values: values
                    .iter()
                    .map(|v| match v.strip_prefix('!') {
                        Some(rest) => Value {
                            text: rest.to_string(),
                            negated: true,
                        },
                        None => Value {
                            text: v.clone(),
                            negated: false,
                        },
                    })
                    .collect(),
            })
        })
        .collect()
}

/// Whether `secret` (in `region`) passes every filter.
pub fn matches(secret: &StoredSecret, region: &str, filters: &[SecretFilter]) -> bool {
    filters.iter().all(|f| {
        f.values
            .iter()
            .any(|v| value_matches(secret, region, f.key, &v.text) != v.negated)
    })
}

fn value_matches(secret: &StoredSecret, region: &str, key: Key, text: &str) -> bool {
    match key {
        Key::Name => secret.name.starts_with(text),
        Key::TagKey => secret.tags.iter().any(|t| t.key.starts_with(text)),
        Key::TagValue => secret
            .tags
            .iter()
            .any(|t| t.value.as_deref().unwrap_or_default().starts_with(text)),
        Key::PrimaryRegion => region.starts_with(text),
        // wharf has no services that own secrets.
        Key::OwningService => false,
        Key::Description => secret.description.as_deref().is_some_and(|d| {
            let wanted = words(text);
            d.to_lowercase().starts_with(&text.to_lowercase())
                || (!wanted.is_empty() && {
                    let have = words(d);
                    wanted
                        .iter()
                        .all(|w| have.iter().any(|h| h.starts_with(w.as_str())))
                })
        }),
        Key::All => {
            let wanted = words(text);
            let mut have = words(&secret.name);
            if let Some(d) = &secret.description {
                have.extend(words(d));
            }
            for t in &secret.tags {
                have.extend(words(&t.key));
                have.extend(words(t.value.as_deref().unwrap_or_default()));
            }
            wanted
                .iter()
                .any(|w| have.iter().any(|h| h.starts_with(w.as_str())))
        }
    }
}

/// The lower-cased words of `text` (see the module documentation).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev: Option<char> = None;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut current, &mut out);
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary = (p.is_lowercase() && c.is_uppercase())
                || (p.is_alphabetic() != c.is_alphabetic())
                // The last capital of an acronym starts the next word: `HTTPServer`.
                || (p.is_uppercase() && c.is_uppercase() && next_lower);
            if boundary {
                flush(&mut current, &mut out);
            }
        }
        current.extend(c.to_lowercase());
        prev = Some(c);
    }
    flush(&mut current, &mut out);
    out
}

fn flush(current: &mut String, out: &mut Vec<String>) {
    if !current.is_empty() {
        out.push(std::mem::take(current));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::StoredTag;
    use wharf_core::Timestamp;

    fn secret(name: &str, description: Option<&str>, tags: &[(&str, &str)]) -> StoredSecret {
        StoredSecret {
            arn: format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AAAAAA"),
            name: name.into(),
            description: description.map(str::to_string),
            kms_key_id: None,
            kind: None,
            created: Timestamp::from_millis(0),
            last_changed: Timestamp::from_millis(0),
            last_accessed: None,
            deletion: None,
            tags: tags
                .iter()
                .map(|(k, v)| StoredTag {
                    key: k.to_string(),
                    value: Some(v.to_string()),
                })
                .collect(),
            versions: vec![],
        }
    }

    fn filter(key: &str, values: &[&str]) -> Vec<SecretFilter> {
        parse(&[Filter {
            key: Some(key.into()),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }])
        .unwrap()
    }

    fn hit(s: &StoredSecret, key: &str, values: &[&str]) -> bool {
        matches(s, "us-east-1", &filter(key, values))
    }

    #[test]
    fn words_split_like_aws() {
        assert_eq!(words("credsDatabase#892"), vec!["creds", "database", "892"]);
        assert_eq!(
            words("prod/db-password_v2"),
            vec!["prod", "db", "password", "v", "2"]
        );
        assert_eq!(words("HTTPServer"), vec!["http", "server"]);
        assert!(words("/_+=.@-").is_empty());
    }

    #[test]
    fn name_is_a_case_sensitive_prefix() {
        let s = secret("DatabaseSecret", None, &[]);
        assert!(hit(&s, "name", &["Data"]));
        assert!(!hit(&s, "name", &["data"]));
        assert!(!hit(&secret("MyData", None, &[]), "name", &["Data"]));
        assert!(hit(&s, "name", &["nope", "Database"]));
        assert!(hit(&s, "name", &["!prod"]));
        assert!(!hit(&s, "name", &["!Data"]));
    }

    #[test]
    fn description_tags_region_and_all() {
        let s = secret(
            "prod/db",
            Some("Primary Postgres credentials"),
            &[("team", "payments"), ("env", "production")],
        );
        assert!(hit(&s, "description", &["primary post"]));
        assert!(hit(&s, "description", &["postgres"]));
        assert!(hit(&s, "description", &["CRED"]));
        assert!(!hit(&s, "description", &["mysql"]));
        assert!(!hit(&secret("x", None, &[]), "description", &["a"]));
        assert!(hit(&s, "tag-key", &["te"]));
        assert!(!hit(&s, "tag-key", &["Te"]));
        assert!(hit(&s, "tag-value", &["prod"]));
        assert!(hit(&s, "tag-key", &["!owner"]));
        assert!(!hit(&s, "tag-key", &["!env"]));
        assert!(hit(&secret("x", None, &[]), "tag-key", &["!env"]));
        assert!(hit(&s, "primary-region", &["us-east"]));
        assert!(!hit(&s, "primary-region", &["eu-"]));
        assert!(!hit(&s, "owning-service", &["rds"]));
        assert!(hit(&s, "all", &["PAYMENTS"]));
        assert!(hit(&s, "all", &["DB"]));
        assert!(hit(&s, "all", &["nothing Credentials"]));
        assert!(!hit(&s, "all", &["mysql"]));
        assert!(hit(&s, "all", &["!mysql"]));

        // All filters must match.
        let both = parse(&[
            Filter {
                key: Some("name".into()),
                values: Some(vec!["prod".into()]),
            },
            Filter {
                key: Some("tag-value".into()),
                values: Some(vec!["staging".into()]),
            },
        ])
        .unwrap();
        assert!(!matches(&s, "us-east-1", &both));
    }

    #[test]
    fn bad_filters_are_named() {
        let err = parse(&[Filter {
            key: None,
            values: Some(vec!["a".into()]),
        }])
        .unwrap_err();
        assert!(matches!(err, Error::InvalidParameterException(m) if m.contains("Filters.1.Key")));
        let err = parse(&[Filter {
            key: Some("name".into()),
            values: None,
        }])
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameterException(m) if m.contains("Filters.1.Values"))
        );
    }
}
