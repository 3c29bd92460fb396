//! What ECR accepts as a repository name, an image tag and a digest, and the `*` wildcard
//! patterns of lifecycle rules and tag mutability exclusion filters. Pure functions shared by
//! the ECR API, the registry, the image records and the image-name resolver, so none of them
//! has to borrow another's checks.

use std::sync::OnceLock;

/// Whether `name` is a valid repository name: 2-256 characters of lowercase path components
/// joined by `/`, each `[a-z0-9]+` runs separated by `.`, `_`, `__` or dashes (ECR's pattern,
/// which is the OCI distribution one).
pub fn valid_repository_name(name: &str) -> bool {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$",
        )
        .ok()
    });
    (2..=256).contains(&name.len()) && re.as_ref().is_some_and(|re| re.is_match(name))
}

/// Whether `tag` is a valid image tag: `[A-Za-z0-9_][A-Za-z0-9._-]*`, at most 300 characters
/// (the OCI tag alphabet with ECR's length limit).
pub fn valid_image_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    tag.len() <= 300
        && (first.is_ascii_alphanumeric() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Whether `digest` has the shape `algorithm:hex` ECR accepts
/// (`[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+`).
pub fn valid_digest(digest: &str) -> bool {
    match digest.split_once(':') {
        Some((alg, hex)) => {
            !alg.is_empty()
                && !hex.is_empty()
                && alg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.'))
                && hex.chars().all(|c| c.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters (possibly
/// empty) and everything else matches itself (tagPatternList, tag mutability exclusion filters).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    wharf_core::text::wildcard_match(pattern, text, wharf_core::text::Wildcards::StarOnly)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tags_and_digests_are_validated() {
        for ok in [
            "ab",
            "blog-api",
            "team/app.v2",
            "a__b",
            "a--b/c_d",
            &"a".repeat(256),
        ] {
            assert!(valid_repository_name(ok), "{ok}");
        }
        for bad in [
            "a",
            "Blog",
            "-ab",
            "ab-",
            "a//b",
            "/ab",
            "ab/",
            "a b",
            &"a".repeat(257),
        ] {
            assert!(!valid_repository_name(bad), "{bad}");
        }
        assert!(valid_image_tag("v1.2.3_rc-1"));
        assert!(valid_image_tag("_x"));
        assert!(!valid_image_tag(""));
        assert!(!valid_image_tag("-x"));
        assert!(!valid_image_tag("a:b"));
        assert!(!valid_image_tag(&"a".repeat(301)));
        assert!(valid_digest(&format!("sha256:{:064x}", 1)));
        assert!(!valid_digest("sha256:xyz"));
        assert!(!valid_digest("sha256"));
        assert!(!valid_digest(":abc"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("prod*", "prod"));
        assert!(wildcard_match("prod*", "production"));
        assert!(!wildcard_match("prod*", "xprod"));
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("*test*1*2*3", "a-test-1-2-3"));
        assert!(wildcard_match("v*.*.*", "v1.2.3"));
        assert!(!wildcard_match("v*.*.*", "v1.2"));
        assert!(wildcard_match("latest", "latest"));
        assert!(!wildcard_match("latest", "latest2"));
        assert!(wildcard_match("a*b*c", "aXbYbZc"));
        assert!(!wildcard_match("a*b*c", "aXbYbZ"));
        assert!(wildcard_match("**", ""));
    }
}
