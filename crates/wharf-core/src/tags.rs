//! The tag rules AWS applies to every taggable resource, written once: at most 50 tags per
//! resource, keys of 1 to 128 characters, values of at most 256, no key under the reserved
//! `aws:` prefix (in any case), the characters AWS allows, and how a request's tags merge into a
//! resource's (a key given again replaces its value; untagging removes keys).
//!
//! The checks are pure and return a [`TagViolation`]; each service maps it to its own AWS error
//! code and wording, which differ from service to service (ECS answers
//! `InvalidParameterException`, SSM `ValidationException`, ELBv2 `TooManyTags`...).

/// Most tags one resource may carry (every service wharf serves).
pub const MAX_TAGS: usize = 50;
/// Longest tag key, in characters.
pub const MAX_KEY_CHARS: usize = 128;
/// Longest tag value, in characters.
pub const MAX_VALUE_CHARS: usize = 256;
/// The prefix reserved for AWS's own tags.
pub const RESERVED_PREFIX: &str = "aws:";

/// The first rule a set of tags breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagViolation {
    /// A key is empty or longer than [`MAX_KEY_CHARS`].
    KeyLength(String),
    /// A key starts with `aws:` (in any case).
    ReservedKey(String),
    /// The value of this key is longer than [`MAX_VALUE_CHARS`].
    ValueLength(String),
    /// A key or value holds a character outside AWS's tag alphabet.
    InvalidCharacters(String),
    /// The same key appears twice in one request.
    DuplicateKey(String),
    /// The resource would carry this many tags, more than [`MAX_TAGS`].
    TooMany(usize),
}

/// Whether `key` is under the reserved `aws:` prefix (compared without regard to case).
pub fn is_reserved_key(key: &str) -> bool {
    key.get(..RESERVED_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(RESERVED_PREFIX))
}

/// Whether `key` has 1 to [`MAX_KEY_CHARS`] characters.
pub fn key_length_ok(key: &str) -> bool {
    !key.is_empty() && key.chars().count() <= MAX_KEY_CHARS
}

/// Whether `value` has at most [`MAX_VALUE_CHARS`] characters.
pub fn value_length_ok(value: &str) -> bool {
    value.chars().count() <= MAX_VALUE_CHARS
}

/// Whether `text` uses only AWS's tag alphabet: letters, digits, white space and `_ . : / = + - @`.
pub fn allowed_characters(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_alphanumeric()
            || c.is_whitespace()
            || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
    })
}

/// Whether a resource may carry `count` tags.
pub fn count_ok(count: usize) -> bool {
    count <= MAX_TAGS
}

/// Which rules [`check`] applies besides the key length, the reserved prefix and the value
/// length (which every service checks).
#[derive(Debug, Clone, Copy, Default)]
pub struct Checks {
    /// Refuse characters outside AWS's tag alphabet (CloudWatch Logs, Secrets Manager...).
    pub characters: bool,
    /// Refuse a key given twice in one request (ELBv2).
    pub duplicates: bool,
}

/// The first rule the `(key, value)` pairs of one request break, in the order AWS checks
/// them: per tag the key length, the prefix, the value length and the characters; then
/// duplicate keys.
pub fn check<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    checks: Checks,
) -> Option<TagViolation> {
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in tags {
        if !key_length_ok(key) {
            return Some(TagViolation::KeyLength(key.to_owned()));
        }
        if is_reserved_key(key) {
            return Some(TagViolation::ReservedKey(key.to_owned()));
        }
        if !value_length_ok(value) {
            return Some(TagViolation::ValueLength(key.to_owned()));
        }
        if checks.characters && !(allowed_characters(key) && allowed_characters(value)) {
            return Some(TagViolation::InvalidCharacters(key.to_owned()));
        }
        if checks.duplicates {
            if seen.contains(&key) {
                return Some(TagViolation::DuplicateKey(key.to_owned()));
            }
            seen.push(key);
        }
    }
    None
}

/// Merges `new` tags into `existing`: a key already present gets the new value in place, other
/// keys are appended in the order given. `key` reads a tag's key.
pub fn merge<T>(existing: &mut Vec<T>, new: impl IntoIterator<Item = T>, key: impl Fn(&T) -> &str) {
    for tag in new {
        match existing.iter().position(|old| key(old) == key(&tag)) {
            Some(at) => existing[at] = tag,
            None => existing.push(tag),
        }
    }
}

/// Removes from `existing` every tag whose key is in `keys`.
pub fn remove<T, K: AsRef<str>>(existing: &mut Vec<T>, keys: &[K], key: impl Fn(&T) -> &str) {
    existing.retain(|tag| !keys.iter().any(|k| k.as_ref() == key(tag)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_prefix_in_any_case() {
        assert!(is_reserved_key("aws:x"));
        assert!(is_reserved_key("AWS:x"));
        assert!(is_reserved_key("Aws:"));
        assert!(!is_reserved_key("aws"));
        assert!(!is_reserved_key("awsx:"));
        assert!(!is_reserved_key("é"));
    }

    #[test]
    fn lengths_count_characters() {
        assert!(!key_length_ok(""));
        assert!(key_length_ok(&"é".repeat(128)));
        assert!(!key_length_ok(&"k".repeat(129)));
        assert!(value_length_ok(""));
        assert!(value_length_ok(&"é".repeat(256)));
        assert!(!value_length_ok(&"v".repeat(257)));
        assert!(count_ok(50));
        assert!(!count_ok(51));
    }

    #[test]
    fn check_reports_the_first_violation() {
        let long = "v".repeat(257);
        let all = Checks {
            characters: true,
            duplicates: true,
        };
        assert_eq!(check([("a", "1"), ("b", "2")], all), None);
        assert_eq!(
            check([("a", "1"), ("", "2")], all),
            Some(TagViolation::KeyLength(String::new()))
        );
        assert_eq!(
            check([("AWS:k", "1")], all),
            Some(TagViolation::ReservedKey("AWS:k".into()))
        );
        assert_eq!(
            check([("k", long.as_str())], all),
            Some(TagViolation::ValueLength("k".into()))
        );
        assert_eq!(
            check([("k", "a#b")], all),
            Some(TagViolation::InvalidCharacters("k".into()))
        );
        assert_eq!(check([("k", "a#b")], Checks::default()), None);
        assert_eq!(
            check([("k", "1"), ("k", "2")], all),
            Some(TagViolation::DuplicateKey("k".into()))
        );
        assert_eq!(check([("k", "1"), ("k", "2")], Checks::default()), None);
    }

    #[test]
    fn merge_replaces_in_place_and_appends() {
        let mut tags = vec![("a", 1), ("b", 2)];
        merge(&mut tags, [("b", 3), ("c", 4)], |t| t.0);
        assert_eq!(tags, vec![("a", 1), ("b", 3), ("c", 4)]);
        remove(&mut tags, &["a", "zz"], |t| t.0);
        assert_eq!(tags, vec![("b", 3), ("c", 4)]);
    }
}
