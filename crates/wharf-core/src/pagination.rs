//! Opaque pagination tokens, as AWS hands out: the caller gets back what it must pass again, and
//! cannot forge a position it was not given without us noticing it is malformed.

use base64::Engine;

/// Encodes the key after which the next page starts.
pub fn encode_token(after_key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{after_key}"))
}

/// Decodes a token made by [`encode_token`]; `None` when it is not one.
pub fn decode_token(token: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix("v1:").map(str::to_string)
}

/// One page of `items` (sorted ascending by `key`), starting after the token's key, at most
/// `max` long. Returns the page and the token for the next one.
pub fn paginate<T, F>(
    items: Vec<T>,
    key: F,
    next_token: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), InvalidToken>
where
    F: Fn(&T) -> String,
{
    paginate_ordered(items, key, next_token, max, false)
}

/// As [`paginate`], for items sorted ascending (`descending == false`) or descending by `key`.
pub fn paginate_ordered<T, F>(
    items: Vec<T>,
    key: F,
    next_token: Option<&str>,
    max: usize,
    descending: bool,
) -> Result<(Vec<T>, Option<String>), InvalidToken>
where
    F: Fn(&T) -> String,
{
    let after = match next_token {
        Some(t) if !t.is_empty() => Some(decode_token(t).ok_or(InvalidToken)?),
        _ => None,
    };
    let beyond = |k: String, a: &String| if descending { k < *a } else { k > *a };
    let mut page: Vec<T> = items
        .into_iter()
        .filter(|item| after.as_ref().is_none_or(|a| beyond(key(item), a)))
        .collect();
    let max = max.max(1);
    if page.len() > max {
        page.truncate(max);
        let next = page.last().map(|last| encode_token(&key(last)));
        return Ok((page, next));
    }
    Ok((page, None))
}

/// A pagination token that this server did not make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidToken;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_everything_once() {
        let items: Vec<String> = (0..7).map(|i| format!("k{i}")).collect();
        let mut seen = vec![];
        let mut token: Option<String> = None;
        loop {
            let (page, next) =
                paginate(items.clone(), |s| s.clone(), token.as_deref(), 3).unwrap_or_default();
            seen.extend(page);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert_eq!(
            paginate(items, |s| s.clone(), Some("garbage!"), 3),
            Err(InvalidToken)
        );
    }
}
