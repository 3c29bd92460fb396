//! `ParameterFilters` (`ParameterStringFilter`) as DescribeParameters and GetParametersByPath
//! check and apply them (AWS: API_ParameterStringFilter):
//!
//! - DescribeParameters takes `Name`, `Path`, `Type`, `KeyId`, `Tier`, `DataType` and
//!   `tag:<key>`; GetParametersByPath takes `Type`, `KeyId` and `Label`.
//! - Options: `Equals` (the default) and `BeginsWith`; `Name` also `Contains`; `Path` takes
//!   `OneLevel` (the default) or `Recursive`; `Label` only `Equals`.
//! - A key may appear once; values are required except for `tag:<key>` (any value).
//!
//! Pure: the operations read the records and ask [`Filter::matches`].

use crate::generated::{Error, ParameterStringFilter};
use crate::names;
use crate::records::{StoredParameter, StoredVersion, ADVANCED, INTELLIGENT_TIERING, STANDARD};

/// Which operation the filters are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// DescribeParameters.
    Describe,
    /// GetParametersByPath.
    ByPath,
}

/// What a filter looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// `Name`.
    Name,
    /// `Path`.
    Path,
    /// `Type`.
    Type,
    /// `KeyId`.
    KeyId,
    /// `Label` (GetParametersByPath).
    Label,
    /// `Tier`.
    Tier,
    /// `DataType`.
    DataType,
    /// `tag:<key>`.
    Tag(String),
}

/// How values are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// `Equals`.
    Equals,
    /// `BeginsWith`.
    BeginsWith,
    /// `Contains` (Name).
    Contains,
    /// `OneLevel` (Path).
    OneLevel,
    /// `Recursive` (Path).
    Recursive,
}

/// A checked filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// What it looks at.
    pub key: Key,
    /// How.
    pub option: Match,
    /// The values, any of which matches (paths normalised). Empty only for `tag:<key>`:
    /// the tag with any value.
    pub values: Vec<String>,
}

const TYPES: &[&str] = &["String", "StringList", "SecureString"];
const TIERS: &[&str] = &[STANDARD, ADVANCED, INTELLIGENT_TIERING];

/// Checks `filters` for `usage`, as AWS does.
pub fn check(filters: &[ParameterStringFilter], usage: Usage) -> Result<Vec<Filter>, Error> {
    let mut out: Vec<Filter> = Vec::with_capacity(filters.len());
    let mut seen: Vec<&str> = Vec::new();
    for f in filters {
        let key_text = f.key.as_str();
        let key = match key_text {
            "Name" => Key::Name,
            "Path" => Key::Path,
            "Type" => Key::Type,
            "KeyId" => Key::KeyId,
            "Label" => Key::Label,
            "Tier" => Key::Tier,
            "DataType" => Key::DataType,
            other => match other.strip_prefix("tag:") {
                Some(tag) if !tag.is_empty() => Key::Tag(tag.to_string()),
                _ => return Err(invalid_key(key_text, usage)),
            },
        };
        let allowed = match usage {
            Usage::Describe => !matches!(key, Key::Label),
            Usage::ByPath => matches!(key, Key::Type | Key::KeyId | Key::Label),
        };
        if !allowed {
            return Err(invalid_key(key_text, usage));
        }
        if seen.contains(&key_text) {
            return Err(Error::InvalidFilterKey(format!(
                "The following filter is duplicated in the request: {key_text}. A request can contain only one occurrence of a specific filter."
            )));
        }
        seen.push(key_text);
        let option = option_of(&key, f.option.as_deref())?;
        let values = f.values.clone().unwrap_or_default();
        if values.is_empty() && !matches!(key, Key::Tag(_)) {
            return Err(Error::InvalidFilterValue(format!(
                "The following filter values are missing : null for filter key {key_text}."
            )));
        }
        let values = match key {
            // With BeginsWith a value is a prefix: only exact values are checked.
            Key::Type if option == Match::Equals => enumerated(values, TYPES)?,
            Key::Tier if option == Match::Equals => enumerated(values, TIERS)?,
            Key::Path => values
                .iter()
                .map(|v| {
                    if v.len() > 1 && names::is_reserved(v) {
                        return Err(Error::ValidationException(
                            "Filters for common parameters can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). When using global parameters, please specify within a global namespace.".into(),
                        ));
                    }
                    names::normalize_path(v)
                        .ok_or_else(|| Error::ValidationException(names::PATH_RULES.into()))
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => values,
        };
        out.push(Filter {
            key,
            option,
            values,
        });
    }
    Ok(out)
}

fn invalid_key(key: &str, usage: Usage) -> Error {
    let valid = match usage {
        Usage::Describe => "[Path, Name, Type, KeyId, Tier, DataType, tag:<key>]",
        Usage::ByPath => "[Type, KeyId, Label]",
    };
    Error::InvalidFilterKey(format!(
        "The following filter key is not valid: {key}. Valid filter keys include: {valid}."
    ))
}

fn option_of(key: &Key, option: Option<&str>) -> Result<Match, Error> {
    let (default, valid): (Match, &[(&str, Match)]) = match key {
        Key::Path => (
            Match::OneLevel,
            &[
                ("Recursive", Match::Recursive),
                ("OneLevel", Match::OneLevel),
            ],
        ),
        Key::Name => (
            Match::Equals,
            &[
                ("BeginsWith", Match::BeginsWith),
                ("Equals", Match::Equals),
                ("Contains", Match::Contains),
            ],
        ),
        Key::Label => (Match::Equals, &[("Equals", Match::Equals)]),
        _ => (
            Match::Equals,
            &[("BeginsWith", Match::BeginsWith), ("Equals", Match::Equals)],
        ),
    };
    let Some(given) = option else {
        return Ok(default);
    };
    valid
        .iter()
        .find(|(name, _)| *name == given)
        .map(|(_, m)| *m)
        .ok_or_else(|| {
            let names: Vec<&str> = valid.iter().map(|(n, _)| *n).collect();
            Error::InvalidFilterOption(format!(
                "The following filter option is not valid: {given}. Valid options include: [{}].",
                names.join(", ")
            ))
        })
}

fn enumerated(values: Vec<String>, allowed: &[&str]) -> Result<Vec<String>, Error> {
    if let Some(bad) = values.iter().find(|v| !allowed.contains(&v.as_str())) {
        return Err(Error::InvalidFilterValue(format!(
            "The following filter value is not valid: {bad}. Valid values include: [{}].",
            allowed.join(", ")
        )));
    }
    Ok(values)
}

fn compare(option: Match, actual: &str, values: &[String]) -> bool {
    values.iter().any(|v| match option {
        Match::BeginsWith => actual.starts_with(v.as_str()),
        Match::Contains => actual.contains(v.as_str()),
        _ => actual == v,
    })
}

impl Filter {
    /// Whether `param`, whose version `version` is the one shown, passes this filter.
    pub fn matches(&self, param: &StoredParameter, version: &StoredVersion) -> bool {
        match &self.key {
            Key::Name => compare(self.option, &param.name, &self.values),
            Key::Path => self
                .values
                .iter()
                .any(|path| names::under_path(&param.name, path, self.option == Match::Recursive)),
            Key::Type => compare(self.option, &version.kind, &self.values),
            Key::KeyId => version
                .key_id
                .as_deref()
                .is_some_and(|k| compare(self.option, k, &self.values)),
            Key::Tier => compare(self.option, &version.tier, &self.values),
            Key::DataType => compare(self.option, &version.data_type, &self.values),
            Key::Label => version.labels.iter().any(|l| self.values.contains(l)),
            Key::Tag(tag) => param.tags.iter().any(|t| {
                &t.key == tag
                    && (self.values.is_empty() || compare(self.option, &t.value, &self.values))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{StoredTag, StoredValue};
    use wharf_core::Timestamp;

    fn filter(key: &str, option: Option<&str>, values: &[&str]) -> ParameterStringFilter {
        ParameterStringFilter {
            key: key.into(),
            option: option.map(str::to_string),
            values: if values.is_empty() {
                None
            } else {
                Some(values.iter().map(|v| v.to_string()).collect())
            },
        }
    }

    fn param(name: &str, kind: &str) -> StoredParameter {
        StoredParameter {
            name: name.into(),
            versions: vec![StoredVersion {
                version: 1,
                kind: kind.into(),
                value: StoredValue::Plain("v".into()),
                key_id: (kind == "SecureString").then(|| "alias/aws/ssm".to_string()),
                description: None,
                allowed_pattern: None,
                tier: "Standard".into(),
                policies: vec![],
                data_type: "text".into(),
                labels: vec!["prod".into()],
                last_modified: Timestamp::from_millis(0),
                last_modified_user: "arn:aws:iam::1:root".into(),
            }],
            tags: vec![StoredTag {
                key: "env".into(),
                value: "production".into(),
            }],
        }
    }

    fn passes(filters: &[Filter], p: &StoredParameter) -> bool {
        filters.iter().all(|f| f.matches(p, p.current()))
    }

    #[test]
    fn keys_allowed_per_operation() {
        assert!(check(&[filter("Label", None, &["a"])], Usage::Describe).is_err());
        assert!(check(&[filter("Name", None, &["a"])], Usage::ByPath).is_err());
        assert!(check(&[filter("Label", None, &["a"])], Usage::ByPath).is_ok());
        let dup = [
            filter("Type", None, &["String"]),
            filter("Type", None, &["String"]),
        ];
        assert!(matches!(
            check(&dup, Usage::Describe),
            Err(Error::InvalidFilterKey(_))
        ));
        assert!(matches!(
            check(&[filter("Type", None, &["Strung"])], Usage::Describe),
            Err(Error::InvalidFilterValue(_))
        ));
        assert!(matches!(
            check(&[filter("Type", None, &[])], Usage::Describe),
            Err(Error::InvalidFilterValue(_))
        ));
        assert!(matches!(
            check(&[filter("Type", Some("Contains"), &["S"])], Usage::Describe),
            Err(Error::InvalidFilterOption(_))
        ));
        assert!(matches!(
            check(&[filter("Path", Some("Equals"), &["/a"])], Usage::Describe),
            Err(Error::InvalidFilterOption(_))
        ));
        assert!(matches!(
            check(&[filter("Path", None, &["app"])], Usage::Describe),
            Err(Error::ValidationException(_))
        ));
        assert!(check(&[filter("tag:env", None, &[])], Usage::Describe).is_ok());
    }

    #[test]
    fn names_paths_and_options() {
        let p = param("/app/db/host", "String");
        let f = |k, o, v: &[&str]| check(&[filter(k, o, v)], Usage::Describe).unwrap();
        assert!(passes(&f("Name", None, &["/app/db/host"]), &p));
        assert!(!passes(&f("Name", None, &["/app/db"]), &p));
        assert!(passes(&f("Name", Some("BeginsWith"), &["/app/d"]), &p));
        assert!(passes(&f("Name", Some("Contains"), &["db/h"]), &p));
        assert!(passes(&f("Path", None, &["/app/db"]), &p));
        assert!(passes(&f("Path", None, &["/app/db/"]), &p));
        assert!(!passes(&f("Path", None, &["/app"]), &p));
        assert!(passes(&f("Path", Some("Recursive"), &["/app"]), &p));
        assert!(passes(&f("Path", Some("Recursive"), &["/"]), &p));
        assert!(passes(&f("Type", Some("BeginsWith"), &["Str"]), &p));
        assert!(!passes(&f("KeyId", None, &["alias/aws/ssm"]), &p));
        let s = param("secret", "SecureString");
        assert!(passes(&f("KeyId", None, &["alias/aws/ssm"]), &s));
        assert!(passes(&f("Path", None, &["/"]), &s));
        assert!(passes(&f("Tier", None, &["Standard"]), &s));
        assert!(passes(&f("DataType", None, &["text"]), &s));
        assert!(passes(&f("tag:env", None, &[]), &s));
        assert!(passes(&f("tag:env", Some("BeginsWith"), &["prod"]), &s));
        assert!(!passes(&f("tag:env", None, &["prod"]), &s));
        assert!(!passes(&f("tag:team", None, &[]), &s));
        let by_path = check(&[filter("Label", None, &["prod"])], Usage::ByPath).unwrap();
        assert!(passes(&by_path, &s));
    }
}
