//! Listener rule conditions: checking what CreateRule / ModifyRule are given, normalising it to
//! what DescribeRules shows, and turning it into the data plane's
//! [`wharf_core::lb_plane::Condition`] (pure).
//!
//! Both forms AWS accepts are taken: the original `Field` + `Values` (host-header and
//! path-pattern only) and the `*Config` structures. DescribeRules shows the `*Config` form
//! always and `Values` only when the rule was written with it, as AWS does. AWS's limits: at
//! most one condition of each field except `http-header` and `query-string`, five condition
//! values and five wildcards per rule, 128 characters per value, the character sets of each
//! field, and no regular-expression values (wharf does not implement them).

use crate::errors::invalid;
use crate::generated::{
    Error, HostHeaderConditionConfig, HttpHeaderConditionConfig, HttpRequestMethodConditionConfig,
    PathPatternConditionConfig, QueryStringConditionConfig, QueryStringKeyValuePair, RuleCondition,
    SourceIpConditionConfig,
};
use wharf_core::lb_plane::Condition;

/// The condition fields, in the order AWS lists them in its messages.
const FIELDS: &[&str] = &[
    "http-header",
    "http-request-method",
    "host-header",
    "path-pattern",
    "query-string",
    "source-ip",
];
/// Most condition values in one rule.
const MAX_VALUES: usize = 5;
/// Most wildcards (`*`, `?`) in one rule.
const MAX_WILDCARDS: usize = 5;
/// Longest condition value.
const MAX_VALUE_LEN: usize = 128;
/// Longest header name or method.
const MAX_NAME_LEN: usize = 40;

fn wildcards(text: &str) -> usize {
    text.chars().filter(|c| *c == '*' || *c == '?').count()
}

fn check_length(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() || value.chars().count() > MAX_VALUE_LEN {
        return Err(invalid(format!(
            "The '{field}' condition value '{value}' must be from 1 to {MAX_VALUE_LEN} characters"
        )));
    }
    Ok(())
}

fn check_path(value: &str) -> Result<(), Error> {
    check_length("path-pattern", value)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.$/~\"'@:+;&*?".contains(c);
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(invalid(format!(
            "The 'path-pattern' condition value '{value}' contains the character '{bad}', which is not valid; a path pattern can contain A-Z, a-z, 0-9, _ - . $ / ~ \" ' @ : + ; & and the wildcards * and ?"
        )));
    }
    Ok(())
}

fn check_host(value: &str) -> Result<(), Error> {
    check_length("host-header", value)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-.*?".contains(c);
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(invalid(format!(
            "The 'host-header' condition value '{value}' contains the character '{bad}', which is not valid; a host name can contain A-Z, a-z, 0-9, - . and the wildcards * and ?"
        )));
    }
    let last = value.rsplit_once('.').map(|(_, last)| last);
    let ok = last.is_some_and(|l| {
        !l.is_empty()
            && l.chars()
                .all(|c| c.is_ascii_alphabetic() || c == '*' || c == '?')
    });
    if !ok {
        return Err(invalid(format!(
            "The 'host-header' condition value '{value}' must contain at least one '.' and only letters after the last '.'"
        )));
    }
    Ok(())
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn check_header_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(is_token_char) {
        return Err(invalid(format!(
            "The HTTP header name '{name}' is not valid: it must be from 1 to {MAX_NAME_LEN} characters of A-Z, a-z, 0-9 and !#$%&'*+-.^_`|~"
        )));
    }
    if name.eq_ignore_ascii_case("host") {
        return Err(invalid(
            "An 'http-header' condition cannot match the Host header; use a 'host-header' condition",
        ));
    }
    Ok(())
}

fn check_method(value: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.len() <= MAX_NAME_LEN
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '-' || c == '_');
    if !ok {
        return Err(invalid(format!(
            "The 'http-request-method' condition value '{value}' is not valid: it must be from 1 to {MAX_NAME_LEN} characters of A-Z, - and _ (methods are case-sensitive; wildcards are not allowed)"
        )));
    }
    Ok(())
}

/// Whether `value` is an IPv4 or IPv6 CIDR block (`10.0.0.0/8`, `2001:db8::/32`).
fn is_cidr(value: &str) -> bool {
    let Some((addr, len)) = value.split_once('/') else {
        return false;
    };
    let Ok(len) = len.parse::<u8>() else {
        return false;
    };
    if len.to_string().len() != value.len() - addr.len() - 1 {
        return false;
    }
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => len <= 32,
        Ok(std::net::IpAddr::V6(_)) => len <= 128,
        Err(_) => false,
    }
}

fn check_source_ip(value: &str) -> Result<(), Error> {
    if !is_cidr(value) {
        return Err(invalid(format!(
            "The 'source-ip' condition value '{value}' is not a valid CIDR block"
        )));
    }
    Ok(())
}

/// Which `*Config` members a condition carries, by name.
fn configs(c: &RuleCondition) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if c.host_header_config.is_some() {
        out.push(("HostHeaderConfig", "host-header"));
    }
    if c.path_pattern_config.is_some() {
        out.push(("PathPatternConfig", "path-pattern"));
    }
    if c.http_header_config.is_some() {
        out.push(("HttpHeaderConfig", "http-header"));
    }
    if c.query_string_config.is_some() {
        out.push(("QueryStringConfig", "query-string"));
    }
    if c.http_request_method_config.is_some() {
        out.push(("HttpRequestMethodConfig", "http-request-method"));
    }
    if c.source_ip_config.is_some() {
        out.push(("SourceIpConfig", "source-ip"));
    }
    out
}

fn no_regex(values: &Option<Vec<String>>) -> Result<(), Error> {
    if values.as_ref().is_some_and(|v| !v.is_empty()) {
        return Err(invalid(
            "wharf does not support regular-expression conditions (RegexValues); use Values with the * and ? wildcards",
        ));
    }
    Ok(())
}

/// Counts kept while checking one rule's conditions.
#[derive(Default)]
struct Budget {
    values: usize,
    wildcards: usize,
}

impl Budget {
    fn spend(&mut self, text: &str) {
        self.values += 1;
        self.wildcards += wildcards(text);
    }
}

fn required_values(field: &str, values: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    match values {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(invalid(format!(
            "At least one value must be specified for the '{field}' condition"
        ))),
    }
}

/// Checks and normalises one condition, counting its values into `budget`: first its form
/// (field, `Values` or the field's `*Config`), then the values of its field.
fn normalize_one(c: &RuleCondition, budget: &mut Budget) -> Result<RuleCondition, Error> {
    let (field, has_values) = check_form(c)?;
    let mut out = RuleCondition {
        field: Some(field.clone()),
        values: if has_values { c.values.clone() } else { None },
        ..RuleCondition::default()
    };
    match field.as_str() {
        "path-pattern" => out.path_pattern_config = Some(path_pattern(c, has_values, budget)?),
        "host-header" => out.host_header_config = Some(host_header(c, has_values, budget)?),
        "http-header" => out.http_header_config = Some(http_header(c, budget)?),
        "http-request-method" => {
            out.http_request_method_config = Some(http_request_method(c, budget)?)
        }
        "query-string" => out.query_string_config = Some(query_string(c, budget)?),
        _ => out.source_ip_config = Some(source_ip(c, budget)?),
    }
    Ok(out)
}

/// Checks a condition's form: a known field, no regular expressions, only the field's own
/// `*Config`, and `Values` (host-header and path-pattern only) not together with it. Returns
/// the field and whether `Values` is given.
fn check_form(c: &RuleCondition) -> Result<(String, bool), Error> {
    let field = c
        .field
        .clone()
        .ok_or_else(|| invalid("A condition field must be specified"))?;
    if !FIELDS.contains(&field.as_str()) {
        return Err(invalid(format!(
            "Condition field '{field}' must be one of '[{}]'",
            FIELDS.join(", ")
        )));
    }
    no_regex(&c.regex_values)?;
    let given = configs(c);
    if let Some((name, _)) = given.iter().find(|(_, f)| *f != field) {
        return Err(invalid(format!(
            "A '{name}' cannot be specified for a '{field}' condition"
        )));
    }
    let has_values = c.values.as_ref().is_some_and(|v| !v.is_empty());
    if has_values && !given.is_empty() {
        return Err(invalid(format!(
            "You cannot specify both 'Values' and '{}' in a '{field}' condition",
            given[0].0
        )));
    }
    if has_values && field != "host-header" && field != "path-pattern" {
        return Err(invalid(format!(
            "'Values' can only be used for 'host-header' and 'path-pattern' conditions; use the '{}' condition configuration",
            match field.as_str() {
                "http-header" => "HttpHeaderConfig",
                "http-request-method" => "HttpRequestMethodConfig",
                "query-string" => "QueryStringConfig",
                _ => "SourceIpConfig",
            }
        )));
    }
    Ok((field, has_values))
}

/// A host-header or path-pattern `*Config`'s `Values` and `RegexValues`.
type ConfigValues<'a> = (&'a Option<Vec<String>>, &'a Option<Vec<String>>);

/// The values of a host-header or path-pattern condition: its `Values` when given, else its
/// `*Config`'s.
fn values_or_config(
    field: &str,
    has_values: bool,
    values: &Option<Vec<String>>,
    config: Option<ConfigValues<'_>>,
) -> Result<Vec<String>, Error> {
    match (values, config) {
        (Some(v), _) if has_values => Ok(v.clone()),
        (_, Some((config_values, regex_values))) => {
            no_regex(regex_values)?;
            required_values(field, config_values.clone())
        }
        _ => required_values(field, None),
    }
}

/// A `path-pattern` condition's config.
fn path_pattern(
    c: &RuleCondition,
    has_values: bool,
    budget: &mut Budget,
) -> Result<PathPatternConditionConfig, Error> {
    let config = c
        .path_pattern_config
        .as_ref()
        .map(|cfg| (&cfg.values, &cfg.regex_values));
    let values = values_or_config("path-pattern", has_values, &c.values, config)?;
    for v in &values {
        check_path(v)?;
        budget.spend(v);
    }
    Ok(PathPatternConditionConfig {
        values: Some(values),
        regex_values: None,
    })
}

/// A `host-header` condition's config.
fn host_header(
    c: &RuleCondition,
    has_values: bool,
    budget: &mut Budget,
) -> Result<HostHeaderConditionConfig, Error> {
    let config = c
        .host_header_config
        .as_ref()
        .map(|cfg| (&cfg.values, &cfg.regex_values));
    let values = values_or_config("host-header", has_values, &c.values, config)?;
    for v in &values {
        check_host(v)?;
        budget.spend(v);
    }
    Ok(HostHeaderConditionConfig {
        values: Some(values),
        regex_values: None,
    })
}

/// An `http-header` condition's config.
fn http_header(c: &RuleCondition, budget: &mut Budget) -> Result<HttpHeaderConditionConfig, Error> {
    let field = "http-header";
    let cfg = c
        .http_header_config
        .clone()
        .ok_or_else(|| invalid("An 'http-header' condition requires an HttpHeaderConfig"))?;
    no_regex(&cfg.regex_values)?;
    let name = cfg
        .http_header_name
        .clone()
        .ok_or_else(|| invalid("An HttpHeaderConfig requires an HttpHeaderName"))?;
    check_header_name(&name)?;
    let values = required_values(field, cfg.values)?;
    for v in &values {
        check_length(field, v)?;
        budget.spend(v);
    }
    Ok(HttpHeaderConditionConfig {
        http_header_name: Some(name),
        values: Some(values),
        regex_values: None,
    })
}

/// An `http-request-method` condition's config.
fn http_request_method(
    c: &RuleCondition,
    budget: &mut Budget,
) -> Result<HttpRequestMethodConditionConfig, Error> {
    let cfg = c.http_request_method_config.clone().ok_or_else(|| {
        invalid("An 'http-request-method' condition requires an HttpRequestMethodConfig")
    })?;
    let values = required_values("http-request-method", cfg.values)?;
    for v in &values {
        check_method(v)?;
        budget.values += 1;
    }
    Ok(HttpRequestMethodConditionConfig {
        values: Some(values),
    })
}

/// A `query-string` condition's config.
fn query_string(
    c: &RuleCondition,
    budget: &mut Budget,
) -> Result<QueryStringConditionConfig, Error> {
    let field = "query-string";
    let cfg = c
        .query_string_config
        .clone()
        .ok_or_else(|| invalid("A 'query-string' condition requires a QueryStringConfig"))?;
    let pairs =
        match cfg.values {
            Some(p) if !p.is_empty() => p,
            _ => return Err(invalid(
                "At least one key/value pair must be specified for the 'query-string' condition",
            )),
        };
    for pair in &pairs {
        let value = pair
            .value
            .as_deref()
            .ok_or_else(|| invalid("Each 'query-string' condition pair requires a Value"))?;
        check_length(field, value)?;
        if let Some(key) = &pair.key {
            check_length(field, key)?;
            budget.wildcards += wildcards(key);
        }
        budget.spend(value);
    }
    Ok(QueryStringConditionConfig {
        values: Some(
            pairs
                .into_iter()
                .map(|p| QueryStringKeyValuePair {
                    key: p.key,
                    value: p.value,
                })
                .collect(),
        ),
    })
}

/// A `source-ip` condition's config.
fn source_ip(c: &RuleCondition, budget: &mut Budget) -> Result<SourceIpConditionConfig, Error> {
    let cfg = c
        .source_ip_config
        .clone()
        .ok_or_else(|| invalid("A 'source-ip' condition requires a SourceIpConfig"))?;
    let values = required_values("source-ip", cfg.values)?;
    for v in &values {
        check_source_ip(v)?;
        budget.values += 1;
    }
    Ok(SourceIpConditionConfig {
        values: Some(values),
    })
}

/// Checks and normalises a rule's conditions.
pub fn normalize(conditions: &[RuleCondition]) -> Result<Vec<RuleCondition>, Error> {
    if conditions.is_empty() {
        return Err(invalid("A rule must have at least one condition"));
    }
    let mut budget = Budget::default();
    let mut out = Vec::with_capacity(conditions.len());
    for c in conditions {
        let normalized = normalize_one(c, &mut budget)?;
        let field = normalized.field.clone().unwrap_or_default();
        let repeatable = field == "http-header" || field == "query-string";
        if !repeatable
            && out
                .iter()
                .any(|o: &RuleCondition| o.field.as_deref() == Some(field.as_str()))
        {
            return Err(invalid(format!(
                "A rule can only have one '{field}' condition"
            )));
        }
        out.push(normalized);
    }
    if budget.values > MAX_VALUES {
        return Err(invalid(format!(
            "A rule can only have '{MAX_VALUES}' condition values"
        )));
    }
    if budget.wildcards > MAX_WILDCARDS {
        return Err(invalid(format!(
            "A rule can only have '{MAX_WILDCARDS}' wildcards"
        )));
    }
    Ok(out)
}

/// The data plane's form of a normalised condition.
pub fn to_plane(c: &RuleCondition) -> Option<Condition> {
    let values = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
    match c.field.as_deref()? {
        "path-pattern" => Some(Condition::PathPattern(
            c.path_pattern_config
                .as_ref()
                .map(|cfg| values(&cfg.values))
                .unwrap_or_else(|| values(&c.values)),
        )),
        "host-header" => Some(Condition::HostHeader(
            c.host_header_config
                .as_ref()
                .map(|cfg| values(&cfg.values))
                .unwrap_or_else(|| values(&c.values)),
        )),
        "http-header" => {
            let cfg = c.http_header_config.as_ref()?;
            Some(Condition::HttpHeader {
                name: cfg.http_header_name.clone()?,
                values: values(&cfg.values),
            })
        }
        "http-request-method" => Some(Condition::HttpRequestMethod(values(
            &c.http_request_method_config.as_ref()?.values,
        ))),
        "query-string" => Some(Condition::QueryString(
            c.query_string_config
                .as_ref()?
                .values
                .iter()
                .flatten()
                .map(|p| (p.key.clone(), p.value.clone().unwrap_or_default()))
                .collect(),
        )),
        "source-ip" => Some(Condition::SourceIp(values(
            &c.source_ip_config.as_ref()?.values,
        ))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values_form(field: &str, values: &[&str]) -> RuleCondition {
        RuleCondition {
            field: Some(field.into()),
            values: Some(values.iter().map(|s| s.to_string()).collect()),
            ..RuleCondition::default()
        }
    }

    fn strings(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn values_form_gets_its_config_too() {
        let out = normalize(&[values_form("path-pattern", &["/api/*"])]).unwrap();
        assert_eq!(out[0].values, strings(&["/api/*"]));
        assert_eq!(
            out[0].path_pattern_config.as_ref().unwrap().values,
            strings(&["/api/*"])
        );
        assert_eq!(
            to_plane(&out[0]),
            Some(Condition::PathPattern(vec!["/api/*".into()]))
        );
    }

    #[test]
    fn config_forms_of_every_field() {
        let conditions = vec![
            RuleCondition {
                field: Some("host-header".into()),
                host_header_config: Some(HostHeaderConditionConfig {
                    values: strings(&["*.example.com"]),
                    regex_values: None,
                }),
                ..RuleCondition::default()
            },
            RuleCondition {
                field: Some("http-header".into()),
                http_header_config: Some(HttpHeaderConditionConfig {
                    http_header_name: Some("X-Env".into()),
                    values: strings(&["blue"]),
                    regex_values: None,
                }),
                ..RuleCondition::default()
            },
            RuleCondition {
                field: Some("http-request-method".into()),
                http_request_method_config: Some(HttpRequestMethodConditionConfig {
                    values: strings(&["GET"]),
                }),
                ..RuleCondition::default()
            },
            RuleCondition {
                field: Some("query-string".into()),
                query_string_config: Some(QueryStringConditionConfig {
                    values: Some(vec![QueryStringKeyValuePair {
                        key: Some("version".into()),
                        value: Some("v1".into()),
                    }]),
                }),
                ..RuleCondition::default()
            },
            RuleCondition {
                field: Some("source-ip".into()),
                source_ip_config: Some(SourceIpConditionConfig {
                    values: strings(&["10.0.0.0/8"]),
                }),
                ..RuleCondition::default()
            },
        ];
        let out = normalize(&conditions).unwrap();
        assert!(out.iter().all(|c| c.values.is_none()));
        let plane: Vec<Condition> = out.iter().filter_map(to_plane).collect();
        assert_eq!(
            plane,
            vec![
                Condition::HostHeader(vec!["*.example.com".into()]),
                Condition::HttpHeader {
                    name: "X-Env".into(),
                    values: vec!["blue".into()]
                },
                Condition::HttpRequestMethod(vec!["GET".into()]),
                Condition::QueryString(vec![(Some("version".into()), "v1".into())]),
                Condition::SourceIp(vec!["10.0.0.0/8".into()]),
            ]
        );
    }

    #[test]
    fn invalid_conditions_are_refused() {
        let cases: Vec<Vec<RuleCondition>> = vec![
            vec![],
            vec![values_form("cookie", &["a"])],
            vec![values_form("path-pattern", &["/a b"])],
            vec![values_form(
                "path-pattern",
                &[&format!("/{}", "a".repeat(128))],
            )],
            vec![values_form("host-header", &["localhost"])],
            vec![values_form("host-header", &["example.c0m"])],
            vec![values_form("host-header", &["exa_mple.com"])],
            vec![values_form("source-ip", &["10.0.0.0/8"])],
            vec![
                values_form("path-pattern", &["/a"]),
                values_form("path-pattern", &["/b"]),
            ],
            vec![values_form(
                "path-pattern",
                &["/a", "/b", "/c", "/d", "/e", "/f"],
            )],
            vec![values_form("path-pattern", &["/*/*/*/*/*/*"])],
            vec![RuleCondition {
                field: Some("path-pattern".into()),
                values: strings(&["/a"]),
                path_pattern_config: Some(PathPatternConditionConfig {
                    values: strings(&["/a"]),
                    regex_values: None,
                }),
                ..RuleCondition::default()
            }],
            vec![RuleCondition {
                field: Some("path-pattern".into()),
                host_header_config: Some(HostHeaderConditionConfig {
                    values: strings(&["a.example.com"]),
                    regex_values: None,
                }),
                ..RuleCondition::default()
            }],
            vec![RuleCondition {
                field: Some("http-request-method".into()),
                http_request_method_config: Some(HttpRequestMethodConditionConfig {
                    values: strings(&["get"]),
                }),
                ..RuleCondition::default()
            }],
            vec![RuleCondition {
                field: Some("source-ip".into()),
                source_ip_config: Some(SourceIpConditionConfig {
                    values: strings(&["10.0.0.1"]),
                }),
                ..RuleCondition::default()
            }],
            vec![RuleCondition {
                field: Some("http-header".into()),
                http_header_config: Some(HttpHeaderConditionConfig {
                    http_header_name: Some("Bad Header".into()),
                    values: strings(&["x"]),
                    regex_values: None,
                }),
                ..RuleCondition::default()
            }],
            vec![RuleCondition {
                field: Some("path-pattern".into()),
                regex_values: strings(&["^/a$"]),
                ..RuleCondition::default()
            }],
        ];
        for case in cases {
            assert!(normalize(&case).is_err(), "{case:?}");
        }
    }

    #[test]
    fn repeatable_fields_and_budgets() {
        let header = |name: &str| RuleCondition {
            field: Some("http-header".into()),
            http_header_config: Some(HttpHeaderConditionConfig {
                http_header_name: Some(name.into()),
                values: strings(&["x"]),
                regex_values: None,
            }),
            ..RuleCondition::default()
        };
        assert!(normalize(&[header("A"), header("B")]).is_ok());
        assert!(normalize(&[
            values_form("path-pattern", &["/a", "/b", "/c"]),
            values_form("host-header", &["a.example.com", "b.example.com"]),
        ])
        .is_ok());
        assert!(is_cidr("2001:db8::/32"));
        assert!(!is_cidr("10.0.0.0/33"));
        assert!(!is_cidr("10.0.0.0/08"));
    }
}
