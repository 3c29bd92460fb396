//! The matching primitives of listener rule conditions, compiled once per `apply` so that a
//! request is matched without allocating: `*` / `?` wildcard patterns over bytes (case-sensitive
//! for paths, case-insensitive for hosts, header values and query strings, as AWS documents
//! them) and CIDR blocks for `source-ip`.

use std::net::IpAddr;

/// One element of a compiled wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A literal byte (already lower-cased for case-insensitive patterns).
    Byte(u8),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters, possibly empty.
    Any,
}

/// A compiled `*` / `?` wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wildcard {
    tokens: Vec<Token>,
    /// Compare ASCII letters without regard to case.
    case_insensitive: bool,
    /// No wildcard at all: a plain comparison suffices.
    literal: bool,
}

impl Wildcard {
    /// Compiles `pattern`. With `escapes`, `\` makes the next character literal (AWS allows
    /// `\*` and `\?` in query-string conditions).
    pub(crate) fn new(pattern: &str, case_insensitive: bool, escapes: bool) -> Self {
        let mut tokens = Vec::with_capacity(pattern.len());
        let mut bytes = pattern.bytes();
        while let Some(b) = bytes.next() {
            tokens.push(match b {
                b'*' => Token::Any,
                b'?' => Token::One,
                b'\\' if escapes => {
                    Token::Byte(fold(bytes.next().unwrap_or(b'\\'), case_insensitive))
                }
                other => Token::Byte(fold(other, case_insensitive)),
            });
        }
        let literal = tokens.iter().all(|t| matches!(t, Token::Byte(_)));
        Self {
            tokens,
            case_insensitive,
            literal,
        }
    }

    /// Whether all of `text` matches. Greedy with backtracking to the last `*`: linear in
    /// practice, never exponential. `?` matches one UTF-8 character.
    pub(crate) fn matches(&self, text: &[u8]) -> bool {
        if self.literal {
            return self.tokens.len() == text.len()
                && self.tokens.iter().zip(text).all(|(t, &b)| match t {
                    Token::Byte(p) => *p == fold(b, self.case_insensitive),
                    _ => false,
                });
        }
        let (mut p, mut t) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::Byte(c)) if *c == fold(text[t], self.case_insensitive) => {
                    p += 1;
                    t += 1;
                }
                Some(Token::One) => {
                    p += 1;
                    t += char_len(text, t);
                }
                Some(Token::Any) => {
                    star = Some((p, t));
                    p += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        let next = st + char_len(text, st);
                        p = sp + 1;
                        t = next;
                        star = Some((sp, next));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p.min(self.tokens.len())..]
            .iter()
            .all(|tok| *tok == Token::Any)
    }
}

fn fold(b: u8, case_insensitive: bool) -> u8 {
    if case_insensitive {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

/// The length of the UTF-8 character starting at `text[i]` (1 for invalid bytes).
fn char_len(text: &[u8], i: usize) -> usize {
    let len = match text[i] {
        b if b < 0x80 => 1,
        b if b >= 0xf0 => 4,
        b if b >= 0xe0 => 3,
        b if b >= 0xc0 => 2,
        _ => 1,
    };
    len.min(text.len() - i).max(1)
}

/// A CIDR block of a `source-ip` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("source-ip value {text:?} is not a CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("source-ip value {text:?} has an invalid prefix length"))?,
            None => max,
        };
        Ok(Self { network, prefix })
    }

    /// Whether `ip` is inside the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Wildcard::new(p, false, false).matches(t.as_bytes())
    }

    #[test]
    fn path_wildcards_follow_aws() {
        assert!(m("/api/*", "/api/users/1"));
        assert!(m("/api/*", "/api/"));
        assert!(!m("/api/*", "/api"));
        assert!(!m("/api/*", "/API/x"));
        assert!(m("/img/*/pics", "/img/a/b/pics"));
        assert!(m("/v?/x", "/v1/x"));
        assert!(!m("/v?/x", "/v12/x"));
        assert!(m("*", ""));
        assert!(m("/é?", "/éü"));
        assert!(m("/exact", "/exact"));
        assert!(!m("/exact", "/exact/"));
        assert!(m("*.png", "/a/b.png"));
    }

    #[test]
    fn case_insensitive_and_escapes() {
        let host = Wildcard::new("*.Example.com", true, false);
        assert!(host.matches(b"API.example.COM"));
        assert!(!host.matches(b"example.com"));
        let q = Wildcard::new(r"a\*b", true, true);
        assert!(q.matches(b"A*B"));
        assert!(!q.matches(b"axb"));
        let lit = Wildcard::new("GET", false, false);
        assert!(lit.matches(b"GET"));
        assert!(!lit.matches(b"get"));
    }

    #[test]
    fn no_exponential_backtracking() {
        let p = Wildcard::new("*a*a*a*a*a*a*a*b", false, false);
        let text = "a".repeat(5000);
        assert!(!p.matches(text.as_bytes()));
    }

    #[test]
    fn cidr_blocks() {
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(c.contains("10.1.200.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        assert!(Cidr::parse("127.0.0.1")
            .unwrap()
            .contains("127.0.0.1".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nope").is_err());
    }
}
