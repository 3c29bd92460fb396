//! Text conventions several AWS services share: RFC 3986 percent-encoding (SigV4 canonical
//! requests, IAM policy documents) and `*` / `?` wildcard patterns (EC2 filter values, ECR tag
//! patterns and mutability exclusion filters).

/// Percent-encodes every byte outside the RFC 3986 unreserved set (`A-Z a-z 0-9 - _ . ~`) as
/// `%XX` with upper-case hex.
pub fn percent_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Which wildcard dialect a pattern is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wildcards {
    /// Only `*` (any run of characters, possibly empty) is special: ECR tag patterns.
    StarOnly,
    /// `*`, `?` (exactly one character) and `\` escaping the next character: EC2 filters.
    StarQuestionEscape,
}

/// One element of a parsed pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal(char),
    One,
    Any,
}

fn tokens(pattern: &str, dialect: Wildcards) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match (c, dialect) {
            ('*', _) => Token::Any,
            ('?', Wildcards::StarQuestionEscape) => Token::One,
            ('\\', Wildcards::StarQuestionEscape) => Token::Literal(chars.next().unwrap_or('\\')),
            (other, _) => Token::Literal(other),
        });
    }
    out
}

/// Whether all of `text` matches `pattern` (case-sensitive). Greedy with backtracking to the
/// last `*`: never exponential.
pub fn wildcard_match(pattern: &str, text: &str, dialect: Wildcards) -> bool {
    let pattern = tokens(pattern, dialect);
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Token::Literal(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            Some(Token::One) => {
                p += 1;
                t += 1;
            }
            Some(Token::Any) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|tok| *tok == Token::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encodes_outside_unreserved() {
        assert_eq!(percent_encode(b"a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(percent_encode(b"{\"a\": 1}\n"), "%7B%22a%22%3A%201%7D%0A");
        assert_eq!(percent_encode("é".as_bytes()), "%C3%A9");
    }

    #[test]
    fn dialects_differ_only_in_question_mark_and_escape() {
        use Wildcards::*;
        assert!(wildcard_match("v*.*", "v1.2", StarOnly));
        assert!(wildcard_match("v?", "v1", StarQuestionEscape));
        assert!(!wildcard_match("v?", "v1", StarOnly));
        assert!(wildcard_match("v?", "v?", StarOnly));
        assert!(wildcard_match(r"a\*b", "a*b", StarQuestionEscape));
        assert!(!wildcard_match(r"a\*b", "a*b", StarOnly));
        assert!(wildcard_match("**", "", StarOnly));
        assert!(!wildcard_match("", "x", StarQuestionEscape));
    }
}
