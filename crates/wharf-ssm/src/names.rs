//! Parameter names, paths, selectors, labels and ARNs as Parameter Store defines them (AWS:
//! "Requirements and constraints for parameter names", "Working with parameter labels"). All
//! pure: the operations map these answers to AWS errors.
//!
//! - A name is letters, digits and `.-_`, with `/` separating hierarchy levels; a name with a
//!   `/` must start with one (`/app/db/host`), one without is a root-level name (`db-host`).
//! - At most 15 levels; names may not start with `aws` or `ssm` (case-insensitive), with or
//!   without the leading `/`.
//! - `name:3` selects version 3, `name:prod` the version labelled `prod`.
//! - The ARN of `/app/db` is `arn:aws:ssm:<region>:<account>:parameter/app/db`, and of `db`
//!   `...:parameter/db`: the leading `/` is not doubled.

/// Most hierarchy levels a name can have (AWS: 15).
pub const MAX_LEVELS: usize = 15;
/// Longest label (the spec's `ParameterLabel` max).
pub const MAX_LABEL_LEN: usize = 100;

/// AWS's message for a malformed name, or one under a reserved prefix.
pub const NAME_RULES: &str = "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_";

/// AWS's message for a malformed path (GetParametersByPath, the `Path` filter).
pub const PATH_RULES: &str = "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.";

/// What is wrong with a parameter name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// A character outside letters, digits, `.-_/`, an empty level (`//`, a trailing `/`), or
    /// a `/` without a leading one.
    Malformed,
    /// More than [`MAX_LEVELS`] levels (the count is given).
    TooManyLevels(usize),
    /// Starts with `aws` or `ssm` (case-insensitive).
    Reserved,
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

/// The levels of `name` (`/a/b/c` has 3, `c` has 1).
pub fn levels(name: &str) -> usize {
    name.trim_start_matches('/').split('/').count()
}

/// Whether `name` is well formed (characters, slashes, levels); the reserved prefixes are not
/// checked, as reading `/aws/service/...` is legitimate (it is simply not found here).
pub fn check_format(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Malformed);
    }
    let body = match name.strip_prefix('/') {
        Some(rest) => rest,
        None if name.contains('/') => return Err(NameError::Malformed),
        None => name,
    };
    if body
        .split('/')
        .any(|level| level.is_empty() || !level.chars().all(name_char))
    {
        return Err(NameError::Malformed);
    }
    let n = levels(name);
    if n > MAX_LEVELS {
        return Err(NameError::TooManyLevels(n));
    }
    Ok(())
}

/// Whether `name` starts with `aws` or `ssm` (case-insensitive), with or without a leading `/`.
pub fn is_reserved(name: &str) -> bool {
    let body = name.trim_start_matches('/').to_ascii_lowercase();
    body.starts_with("aws") || body.starts_with("ssm")
}

/// Whether `name` can be created: well formed and not reserved.
pub fn check_new_name(name: &str) -> Result<(), NameError> {
    check_format(name)?;
    if is_reserved(name) {
        return Err(NameError::Reserved);
    }
    Ok(())
}

/// A hierarchy path (`/`, `/app`, `/app/db/`), without its trailing `/` (but `/` stays `/`);
/// `None` when it is not a path.
pub fn normalize_path(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    if path == "/" {
        return Some("/".into());
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    check_format(trimmed).ok()?;
    Some(trimmed.to_string())
}

/// Whether `name` lies under `path` (normalised): directly (one level below) or, when
/// `recursive`, at any depth. Root-level names without a `/` (`db-host`) lie directly under `/`.
pub fn under_path(name: &str, path: &str, recursive: bool) -> bool {
    let rest = if path == "/" {
        match name.strip_prefix('/') {
            Some(rest) => rest,
            None => return true,
        }
    } else {
        match name
            .strip_prefix(path)
            .and_then(|rest| rest.strip_prefix('/'))
        {
            Some(rest) => rest,
            None => return false,
        }
    };
    !rest.is_empty() && (recursive || !rest.contains('/'))
}

/// The ARN of parameter `name`.
pub fn arn(account: &str, region: &str, name: &str) -> String {
    let resource = if name.starts_with('/') {
        format!("parameter{name}")
    } else {
        format!("parameter/{name}")
    };
    wharf_core::Arn::new("ssm", region, account, &resource).to_string()
}

/// Which version a reference asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `name:3`.
    Version(i64),
    /// `name:prod`.
    Label(String),
}

impl Selector {
    /// The `Selector` member of a `Parameter`: `:3`, `:prod`.
    pub fn wire(&self) -> String {
        match self {
            Selector::Version(v) => format!(":{v}"),
            Selector::Label(l) => format!(":{l}"),
        }
    }
}

/// A parameter reference: a name or parameter ARN, optionally with a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The account the reference points into (the caller's unless an ARN says otherwise).
    pub account: String,
    /// The region likewise.
    pub region: String,
    /// The names it may mean, most likely first: an ARN `...:parameter/db` means `db` or `/db`.
    pub names: Vec<String>,
    /// The version or label asked for.
    pub selector: Option<Selector>,
}

impl Reference {
    /// The name as the caller would see it (the first candidate).
    pub fn name(&self) -> &str {
        &self.names[0]
    }
}

/// Why a reference cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceError {
    /// The name part is malformed.
    Name(NameError),
    /// More than one `:` after the name, or an empty selector.
    Selector,
    /// An ARN that does not name an SSM parameter.
    Arn,
}

/// Parses `text` (`/app/db`, `db:3`, `arn:aws:ssm:us-east-1:123456789012:parameter/app/db:prod`)
/// as read by `account` in `region`.
pub fn parse_reference(
    text: &str,
    account: &str,
    region: &str,
) -> Result<Reference, ReferenceError> {
    let (account, region, names, selector) = if text.starts_with("arn:") {
        let parsed = wharf_core::Arn::parse(text).ok_or(ReferenceError::Arn)?;
        if parsed.service != "ssm" {
            return Err(ReferenceError::Arn);
        }
        let rest = parsed
            .resource
            .strip_prefix("parameter/")
            .ok_or(ReferenceError::Arn)?;
        let (name, selector) = split_selector(rest)?;
        let names = if name.contains('/') {
            vec![format!("/{name}")]
        } else {
            vec![name.to_string(), format!("/{name}")]
        };
        (parsed.account, parsed.region, names, selector)
    } else {
        let (name, selector) = split_selector(text)?;
        (
            account.to_string(),
            region.to_string(),
            vec![name.to_string()],
            selector,
        )
    };
    check_format(&names[0]).map_err(ReferenceError::Name)?;
    Ok(Reference {
        account,
        region,
        names,
        selector,
    })
}

fn split_selector(text: &str) -> Result<(&str, Option<Selector>), ReferenceError> {
    let Some((name, sel)) = text.split_once(':') else {
        return Ok((text, None));
    };
    if sel.is_empty() || sel.contains(':') {
        return Err(ReferenceError::Selector);
    }
    let selector = if sel.bytes().all(|b| b.is_ascii_digit()) {
        // A version too large for i64 exists nowhere: keep it a version that is not found.
        Selector::Version(sel.parse().unwrap_or(i64::MAX))
    } else {
        Selector::Label(sel.to_string())
    };
    Ok((name, Some(selector)))
}

/// Whether `label` may be attached to a version: letters, digits, `._-`, at most
/// [`MAX_LABEL_LEN`] characters, not starting with a digit or with `aws` / `ssm`
/// (case-insensitive).
pub fn valid_label(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    !label.is_empty()
        && label.chars().count() <= MAX_LABEL_LEN
        && label.chars().all(name_char)
        && !label.starts_with(|c: char| c.is_ascii_digit())
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        for good in ["db-host", "/app/db/host", "a.b_c-d", "/x", "A1"] {
            assert_eq!(check_new_name(good), Ok(()), "{good}");
        }
        for bad in [
            "", "a b", "app/db", "/app//db", "/app/", "/", "a$b", "/a/b:c", "é",
        ] {
            assert_eq!(check_format(bad), Err(NameError::Malformed), "{bad}");
        }
        for reserved in ["aws-thing", "/aws/x", "SSM1", "/Ssm/a", "awsTestParameter"] {
            assert_eq!(
                check_new_name(reserved),
                Err(NameError::Reserved),
                "{reserved}"
            );
            assert_eq!(check_format(reserved), Ok(()), "{reserved}");
        }
        assert_eq!(check_new_name("/awesome"), Ok(()));
    }

    #[test]
    fn at_most_fifteen_levels() {
        let fifteen: String = (1..=15).map(|i| format!("/l{i}")).collect();
        assert_eq!(levels(&fifteen), 15);
        assert_eq!(check_new_name(&fifteen), Ok(()));
        let sixteen = format!("{fifteen}/leaf");
        assert_eq!(check_new_name(&sixteen), Err(NameError::TooManyLevels(16)));
        assert_eq!(levels("plain"), 1);
    }

    #[test]
    fn paths_one_level_and_recursive() {
        assert_eq!(normalize_path("/app/"), Some("/app".into()));
        assert_eq!(normalize_path("/"), Some("/".into()));
        assert_eq!(normalize_path("app"), None);
        assert_eq!(normalize_path("/a b"), None);
        assert!(under_path("/app/db", "/app", false));
        assert!(!under_path("/app/db/host", "/app", false));
        assert!(under_path("/app/db/host", "/app", true));
        assert!(!under_path("/application/x", "/app", true));
        assert!(!under_path("/app", "/app", true));
        assert!(under_path("/top", "/", false));
        assert!(under_path("root-level", "/", false));
        assert!(!under_path("/app/db", "/", false));
        assert!(under_path("/app/db", "/", true));
    }

    #[test]
    fn arns_do_not_double_the_slash() {
        assert_eq!(
            arn("123456789012", "us-east-1", "/app/db"),
            "arn:aws:ssm:us-east-1:123456789012:parameter/app/db"
        );
        assert_eq!(
            arn("123456789012", "us-east-1", "db"),
            "arn:aws:ssm:us-east-1:123456789012:parameter/db"
        );
    }

    #[test]
    fn references_with_selectors_and_arns() {
        let r = parse_reference("/app/db:3", "1", "r").unwrap();
        assert_eq!(r.names, vec!["/app/db"]);
        assert_eq!(r.selector, Some(Selector::Version(3)));
        assert_eq!(r.selector.as_ref().unwrap().wire(), ":3");
        let r = parse_reference("db:prod", "1", "r").unwrap();
        assert_eq!(r.selector, Some(Selector::Label("prod".into())));
        assert_eq!(
            parse_reference("db:a:b", "1", "r"),
            Err(ReferenceError::Selector)
        );
        assert_eq!(
            parse_reference("db:", "1", "r"),
            Err(ReferenceError::Selector)
        );
        let r = parse_reference(
            "arn:aws:ssm:eu-west-1:210987654321:parameter/app/db:prod",
            "1",
            "r",
        )
        .unwrap();
        assert_eq!(
            (r.account.as_str(), r.region.as_str()),
            ("210987654321", "eu-west-1")
        );
        assert_eq!(r.names, vec!["/app/db"]);
        let r = parse_reference("arn:aws:ssm:r:1:parameter/db", "1", "r").unwrap();
        assert_eq!(r.names, vec!["db", "/db"]);
        assert_eq!(
            parse_reference("arn:aws:secretsmanager:r:1:secret:x", "1", "r"),
            Err(ReferenceError::Arn)
        );
        assert_eq!(
            parse_reference("a b", "1", "r"),
            Err(ReferenceError::Name(NameError::Malformed))
        );
    }

    #[test]
    fn label_rules() {
        for good in ["prod", "Release_1.2-b", "a"] {
            assert!(valid_label(good), "{good}");
        }
        let long = "x".repeat(101);
        for bad in [
            "1st",
            "aws-x",
            "SSMlabel",
            "has space",
            "a/b",
            "",
            long.as_str(),
        ] {
            assert!(!valid_label(bad), "{bad}");
        }
    }
}
