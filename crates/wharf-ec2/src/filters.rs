//! EC2 `Filter.N.Name` / `Filter.N.Value.M` matching, shared by every Describe operation.
//!
//! AWS semantics: filters are ANDed, the values of one filter are ORed, a value may use `*` (any
//! run of characters) and `?` (one character) with `\` escaping either, and matching is
//! case-sensitive. `tag:<key>` matches the value of tag `<key>`, `tag-key` any tag's key and
//! `tag-value` any tag's value. A filter name the resource type does not know is refused up front
//! ("The filter 'x' is invalid"), even when there is nothing to match against.

use crate::generated::{Error, Filter};
use crate::records::ResourceTag;
use wharf_core::text::{self, Wildcards};

/// Validated filters of one Describe request.
#[derive(Debug, Clone, Default)]
pub struct FilterSet {
    filters: Vec<(String, Vec<String>)>,
}

impl FilterSet {
    /// Checks every filter name against `known` (plus the tag filters every resource has).
    pub fn parse(filters: Option<&[Filter]>, known: &[&str]) -> Result<Self, Error> {
        let mut out = Vec::new();
        for filter in filters.unwrap_or_default() {
            let name = filter.name.clone().unwrap_or_default();
            let is_tag = name.strip_prefix("tag:").is_some_and(|k| !k.is_empty())
                || name == "tag-key"
                || name == "tag-value";
            if !is_tag && !known.contains(&name.as_str()) {
                return Err(Error::InvalidParameterValue(format!(
                    "The filter '{name}' is invalid"
                )));
            }
            out.push((name, filter.values.clone().unwrap_or_default()));
        }
        Ok(Self { filters: out })
    }

    /// Whether a resource passes every filter. `field` gives the resource's values for a
    /// (non-tag) filter name; `tags` are its tags.
    pub fn matches<F>(&self, field: F, tags: &[ResourceTag]) -> bool
    where
        F: Fn(&str) -> Vec<String>,
    {
        self.filters.iter().all(|(name, patterns)| {
            let values: Vec<String> = if let Some(key) = name.strip_prefix("tag:") {
                tags.iter()
                    .filter(|t| t.key == key)
                    .map(|t| t.value.clone())
                    .collect()
            } else if name == "tag-key" {
                tags.iter().map(|t| t.key.clone()).collect()
            } else if name == "tag-value" {
                tags.iter().map(|t| t.value.clone()).collect()
            } else {
                field(name)
            };
            patterns
                .iter()
                .any(|p| values.iter().any(|v| wildcard_match(p, v)))
        })
    }
}

/// Whether `text` matches the EC2 filter value `pattern` (`*`, `?`, `\` escapes).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    text::wildcard_match(pattern, text, Wildcards::StarQuestionEscape)
}

/// `"true"` / `"false"`, the form boolean attributes are filtered by.
pub fn bool_value(b: bool) -> Vec<String> {
    vec![b.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::filter;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("vpc-123", "vpc-123"));
        assert!(!wildcard_match("vpc-123", "vpc-1234"));
        assert!(wildcard_match("vpc-*", "vpc-1234"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("*a*b*", "xxaYYb"));
        assert!(!wildcard_match("*a*b", "xxaYYbc"));
        assert!(wildcard_match("us-east-1?", "us-east-1a"));
        assert!(!wildcard_match("us-east-1?", "us-east-1"));
        assert!(wildcard_match("172.31.*.0/20", "172.31.16.0/20"));
        assert!(!wildcard_match("Web", "web"), "matching is case-sensitive");
        assert!(wildcard_match(r"a\*b", "a*b"));
        assert!(!wildcard_match(r"a\*b", "axxb"));
        assert!(wildcard_match(r"what\?", "what?"));
        assert!(!wildcard_match("", "x"));
        assert!(wildcard_match("", ""));
    }

    #[test]
    fn unknown_filter_names_are_refused() {
        let err = FilterSet::parse(Some(&[filter("colour", &["red"])]), &["vpc-id"]).unwrap_err();
        assert_eq!(
            err,
            Error::InvalidParameterValue("The filter 'colour' is invalid".into())
        );
        assert!(FilterSet::parse(Some(&[filter("tag:", &["x"])]), &["vpc-id"]).is_err());
        assert!(FilterSet::parse(
            Some(&[filter("tag:Name", &["x"]), filter("tag-key", &["x"])]),
            &[]
        )
        .is_ok());
        assert!(FilterSet::parse(None, &[]).is_ok());
    }

    #[test]
    fn filters_and_values_combine_like_aws() {
        let tags = vec![ResourceTag {
            key: "Name".into(),
            value: "web-prod".into(),
        }];
        let field = |name: &str| match name {
            "vpc-id" => vec!["vpc-1".to_string()],
            "state" => vec!["available".to_string()],
            _ => vec![],
        };
        let known = ["vpc-id", "state"];
        let check = |filters: &[Filter]| {
            FilterSet::parse(Some(filters), &known)
                .unwrap()
                .matches(field, &tags)
        };

        assert!(
            check(&[filter("vpc-id", &["vpc-9", "vpc-1"])]),
            "values are ORed"
        );
        assert!(check(&[
            filter("vpc-id", &["vpc-1"]),
            filter("state", &["avail*"])
        ]));
        assert!(
            !check(&[filter("vpc-id", &["vpc-1"]), filter("state", &["pending"])]),
            "filters are ANDed"
        );
        assert!(check(&[filter("tag:Name", &["web-*"])]));
        assert!(
            !check(&[filter("tag:Other", &["*"])]),
            "a missing tag never matches"
        );
        assert!(check(&[filter("tag-key", &["Na?e"])]));
        assert!(check(&[filter("tag-value", &["*prod"])]));
        assert!(
            !check(&[filter("vpc-id", &[])]),
            "a filter without values matches nothing"
        );
    }
}
