//! CloudWatch Logs filter patterns (FilterLogEvents' `filterPattern`), parsed once per request
//! and matched against each event's message. Pure: no I/O, no clock.
//!
//! Three syntaxes, as AWS's "Filter pattern syntax" describes them:
//! - unstructured text: space-separated terms that must all occur (case-sensitive substring
//!   match); `"a phrase"` quotes a term; `-term` / `-"phrase"` excludes; `?term ?other` asks
//!   for at least one of the `?` terms; `%regex%` is a regular-expression term. An empty
//!   pattern matches every event.
//! - JSON: `{ $.level = "ERROR" }`, with `=` / `!=` on strings (`*` wildcards) and numbers,
//!   `<` `>` `<=` `>=` on numbers, `IS TRUE` / `IS FALSE` / `IS NULL`, `NOT EXISTS`, selectors
//!   `$.a.b`, `$.a[0]`, `$.a[*]`, and `&&` / `||` with parentheses (`&&` binds tighter). Only
//!   messages that are JSON objects can match.
//! - space-delimited: `[ip, user, ..., status = 4*, bytes > 1000]`: the message is split on
//!   spaces (a `"quoted"` or `[bracketed]` run is one word), each named field takes one word
//!   and `...` any number of words; fields may carry conditions joined with `&&` / `||`.

use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use wharf_core::text::{wildcard_match, Wildcards};

/// Most regular-expression terms AWS allows in one pattern.
const MAX_REGEX_TERMS: usize = 2;

/// A parsed filter pattern.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    All,
    Text(TextPattern),
    Json(JsonExpr),
    Delimited(Vec<Field>),
}

/// Why a pattern was refused; the message names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Invalid filter pattern: {}", self.0)
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError(message.into()))
}

impl FilterPattern {
    /// Parses `pattern` (`None` or blank: everything matches).
    pub fn parse(pattern: Option<&str>) -> Result<Self, PatternError> {
        let text = pattern.unwrap_or("").trim();
        let kind = if text.is_empty() {
            Kind::All
        } else if let Some(body) = text.strip_prefix('{') {
            let Some(body) = body.strip_suffix('}') else {
                return err("a JSON pattern must end with '}'");
            };
            Kind::Json(JsonParser::new(body).parse_all()?)
        } else if let Some(body) = text.strip_prefix('[') {
            let Some(body) = body.strip_suffix(']') else {
                return err("a space-delimited pattern must end with ']'");
            };
            Kind::Delimited(parse_fields(body)?)
        } else {
            Kind::Text(TextPattern::parse(text)?)
        };
        Ok(Self { kind })
    }

    /// Whether the event `message` matches.
    pub fn matches(&self, message: &str) -> bool {
        match &self.kind {
            Kind::All => true,
            Kind::Text(t) => t.matches(message),
            Kind::Json(expr) => {
                let Some(first) = message.trim_start().chars().next() else {
                    return false;
                };
                if first != '{' {
                    return false;
                }
                match serde_json::from_str::<Value>(message) {
                    Ok(doc @ Value::Object(_)) => expr.eval(&doc),
                    _ => false,
                }
            }
            Kind::Delimited(fields) => match_fields(fields, &split_words(message)),
        }
    }
}

impl FilterPattern {
    /// When `message` matches: the values a space-delimited pattern's named fields took
    /// (`$name` -> word, what TestMetricFilter shows as `extractedValues`); other patterns
    /// extract nothing.
    pub fn extract(&self, message: &str) -> Option<BTreeMap<String, String>> {
        let Kind::Delimited(fields) = &self.kind else {
            return self.matches(message).then(BTreeMap::new);
        };
        let words = split_words(message);
        let taken = field_words(fields, &words)?;
        Some(
            fields
                .iter()
                .zip(taken)
                .filter_map(|(field, at)| match (field, at) {
                    (Field::Word { name, .. }, Some(w)) => {
                        Some((format!("${name}"), words[w].to_string()))
                    }
                    _ => None,
                })
                .collect(),
        )
    }
}

impl FilterPattern {
    /// Whether `reference` (`$name`) names a field of this space-delimited pattern.
    pub fn names_field(&self, reference: &str) -> bool {
        let Kind::Delimited(fields) = &self.kind else {
            return false;
        };
        let Some(name) = reference.strip_prefix('$') else {
            return false;
        };
        fields
            .iter()
            .any(|f| matches!(f, Field::Word { name: n, .. } if n == name))
    }
}

/// The first value `selector` (`$.a.b`, `$.a[0]`) picks in JSON document `doc`; `None` when
/// the selector is malformed or picks nothing.
pub fn select_json<'v>(doc: &'v Value, selector: &str) -> Option<&'v Value> {
    let mut parser = JsonParser::new(selector);
    let path = parser.parse_selector().ok()?;
    if !parser.rest().trim().is_empty() {
        return None;
    }
    let mut out = Vec::new();
    select(doc, &path, &mut out);
    out.into_iter().next()
}

/// Whether `selector` is a well-formed JSON selector (`$.a.b`, `$.a[0]`).
pub fn is_json_selector(selector: &str) -> bool {
    let mut parser = JsonParser::new(selector);
    selector.starts_with("$.") && parser.parse_selector().is_ok() && parser.rest().trim().is_empty()
}

// ---------------------------------------------------------------------------------------------
// Unstructured text.

#[derive(Debug, Clone)]
enum Term {
    Literal(String),
    Regex(Regex),
}

impl Term {
    fn found_in(&self, message: &str) -> bool {
        match self {
            Term::Literal(s) => message.contains(s.as_str()),
            Term::Regex(r) => r.is_match(message),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct TextPattern {
    required: Vec<Term>,
    any_of: Vec<Term>,
    excluded: Vec<Term>,
}

impl TextPattern {
    fn parse(text: &str) -> Result<Self, PatternError> {
        let mut out = Self::default();
        let mut chars = text.chars().peekable();
        let mut regexes = 0;
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let Some(&first) = chars.peek() else { break };
            let mut bucket = 0; // 0 required, 1 optional, 2 excluded
            if first == '-' || first == '?' {
                chars.next();
                bucket = if first == '-' { 2 } else { 1 };
            }
            let term = match chars.peek() {
                Some('"') => {
                    chars.next();
                    let mut phrase = String::new();
                    let mut closed = false;
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some(n) = chars.next() {
                                    phrase.push(n);
                                }
                            }
                            '"' => {
                                closed = true;
                                break;
                            }
                            other => phrase.push(other),
                        }
                    }
                    if !closed {
                        return err(format!("unterminated quoted term in '{text}'"));
                    }
                    Term::Literal(phrase)
                }
                Some('%') => {
                    chars.next();
                    let mut body = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '%' {
                            closed = true;
                            break;
                        }
                        body.push(c);
                    }
                    if !closed || body.is_empty() {
                        return err(format!("unterminated regular expression in '{text}'"));
                    }
                    regexes += 1;
                    if regexes > MAX_REGEX_TERMS {
                        return err(format!(
                            "at most {MAX_REGEX_TERMS} regular expressions are allowed in a pattern"
                        ));
                    }
                    match Regex::new(&body) {
                        Ok(r) => Term::Regex(r),
                        Err(_) => {
                            return err(format!("'%{body}%' is not a valid regular expression"))
                        }
                    }
                }
                Some(_) => {
                    let mut word = String::new();
                    while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                        word.push(c);
                    }
                    if word.is_empty() {
                        return err(format!("'{first}' must be followed by a term"));
                    }
                    if word.contains('"') {
                        return err(format!("misplaced '\"' in term '{word}'"));
                    }
                    Term::Literal(word)
                }
                None => return err(format!("'{first}' must be followed by a term")),
            };
            match bucket {
                0 => out.required.push(term),
                1 => out.any_of.push(term),
                _ => out.excluded.push(term),
            }
        }
        Ok(out)
    }

    fn matches(&self, message: &str) -> bool {
        self.required.iter().all(|t| t.found_in(message))
            && (self.any_of.is_empty() || self.any_of.iter().any(|t| t.found_in(message)))
            && !self.excluded.iter().any(|t| t.found_in(message))
    }
}

// ---------------------------------------------------------------------------------------------
// Comparisons shared by JSON and space-delimited patterns.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Num(f64),
}

fn compare_number(op: Op, have: f64, want: f64) -> bool {
    match op {
        Op::Eq => have == want,
        Op::Ne => have != want,
        Op::Lt => have < want,
        Op::Gt => have > want,
        Op::Le => have <= want,
        Op::Ge => have >= want,
    }
}

fn compare_text(op: Op, have: &str, want: &str) -> bool {
    let equal = wildcard_match(want, have, Wildcards::StarOnly);
    match op {
        Op::Eq => equal,
        Op::Ne => !equal,
        _ => false,
    }
}

fn read_op(s: &str) -> Option<(Op, usize)> {
    for (text, op) in [
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("=", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ] {
        if s.starts_with(text) {
            return Some((op, text.len()));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// JSON patterns.

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    AnyIndex,
}

#[derive(Debug, Clone, PartialEq)]
enum Check {
    Compare(Op, Literal),
    IsTrue,
    IsFalse,
    IsNull,
    NotExists,
    Exists,
}

#[derive(Debug, Clone)]
enum JsonExpr {
    And(Box<JsonExpr>, Box<JsonExpr>),
    Or(Box<JsonExpr>, Box<JsonExpr>),
    Test(Vec<Step>, Check),
}

impl JsonExpr {
    fn eval(&self, doc: &Value) -> bool {
        match self {
            JsonExpr::And(a, b) => a.eval(doc) && b.eval(doc),
            JsonExpr::Or(a, b) => a.eval(doc) || b.eval(doc),
            JsonExpr::Test(path, check) => {
                let mut found = Vec::new();
                select(doc, path, &mut found);
                match check {
                    Check::NotExists => found.is_empty(),
                    Check::Exists => !found.is_empty(),
                    Check::IsNull => found.iter().any(|v| v.is_null()),
                    Check::IsTrue => found.contains(&&Value::Bool(true)),
                    Check::IsFalse => found.contains(&&Value::Bool(false)),
                    Check::Compare(op, lit) => found.iter().any(|v| json_compare(v, *op, lit)),
                }
            }
        }
    }
}

fn json_compare(value: &Value, op: Op, lit: &Literal) -> bool {
    match (value, lit) {
        (Value::Number(n), Literal::Num(want)) => n
            .as_f64()
            .is_some_and(|have| compare_number(op, have, *want)),
        (Value::String(s), Literal::Str(want)) => compare_text(op, s, want),
        // A bare number compared with a string field: compare the text (`$.code = 200` on
        // `"code": "200"` is a string match for AWS too).
        (Value::String(s), Literal::Num(_)) if matches!(op, Op::Eq | Op::Ne) => {
            let want = literal_text(lit);
            compare_text(op, s, &want)
        }
        (Value::Bool(b), Literal::Str(want)) if matches!(op, Op::Eq | Op::Ne) => {
            compare_text(op, if *b { "true" } else { "false" }, want)
        }
        _ => false,
    }
}

fn literal_text(lit: &Literal) -> String {
    match lit {
        Literal::Str(s) => s.clone(),
        Literal::Num(n) => {
            if n.fract() == 0.0 && n.abs() < 1e15 {
                format!("{}", *n as i64)
            } else {
                n.to_string()
            }
        }
    }
}

fn select<'v>(value: &'v Value, path: &[Step], out: &mut Vec<&'v Value>) {
    let Some((step, rest)) = path.split_first() else {
        out.push(value);
        return;
    };
    match (step, value) {
        (Step::Key(k), Value::Object(map)) => {
            if let Some(v) = map.get(k) {
                select(v, rest, out);
            }
        }
        (Step::Index(i), Value::Array(items)) => {
            if let Some(v) = items.get(*i) {
                select(v, rest, out);
            }
        }
        (Step::AnyIndex, Value::Array(items)) => {
            for v in items {
                select(v, rest, out);
            }
        }
        _ => {}
    }
}

/// Deepest parenthesis nesting a JSON pattern may use (parsing recurses per level).
const MAX_NESTING: usize = 32;

struct JsonParser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> JsonParser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
        }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        self.skip_ws();
        let rest = self.rest();
        let Some((head, tail)) = rest.split_at_checked(word.len()) else {
            return false;
        };
        let boundary = tail
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
        if head.eq_ignore_ascii_case(word) && boundary {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn parse_all(mut self) -> Result<JsonExpr, PatternError> {
        let expr = self.parse_or()?;
        self.skip_ws();
        if !self.rest().is_empty() {
            return err(format!("unexpected '{}' in JSON pattern", self.rest()));
        }
        Ok(expr)
    }

    fn parse_or(&mut self) -> Result<JsonExpr, PatternError> {
        let mut left = self.parse_and()?;
        while self.eat("||") {
            let right = self.parse_and()?;
            left = JsonExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<JsonExpr, PatternError> {
        let mut left = self.parse_unary()?;
        while self.eat("&&") {
            let right = self.parse_unary()?;
            left = JsonExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Result<JsonExpr, PatternError> {
        if self.eat("(") {
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return err(format!(
                    "parentheses nested deeper than {MAX_NESTING} levels"
                ));
            }
            let inner = self.parse_or()?;
            if !self.eat(")") {
                return err("missing ')' in JSON pattern");
            }
            self.depth -= 1;
            return Ok(inner);
        }
        let path = self.parse_selector()?;
        if self.eat_keyword("IS") {
            let check = if self.eat_keyword("TRUE") {
                Check::IsTrue
            } else if self.eat_keyword("FALSE") {
                Check::IsFalse
            } else if self.eat_keyword("NULL") {
                Check::IsNull
            } else {
                return err("IS must be followed by TRUE, FALSE or NULL");
            };
            return Ok(JsonExpr::Test(path, check));
        }
        if self.eat_keyword("NOT") {
            if self.eat_keyword("EXISTS") {
                return Ok(JsonExpr::Test(path, Check::NotExists));
            }
            return err("NOT must be followed by EXISTS");
        }
        if self.eat_keyword("EXISTS") {
            return Ok(JsonExpr::Test(path, Check::Exists));
        }
        self.skip_ws();
        let Some((op, len)) = read_op(self.rest()) else {
            return err(format!(
                "expected a comparison operator after the selector, found '{}'",
                self.rest()
            ));
        };
        self.pos += len;
        let lit = self.parse_literal()?;
        if matches!(lit, Literal::Str(_)) && !matches!(op, Op::Eq | Op::Ne) {
            return err("strings can only be compared with = and !=");
        }
        Ok(JsonExpr::Test(path, Check::Compare(op, lit)))
    }

    fn parse_selector(&mut self) -> Result<Vec<Step>, PatternError> {
        self.skip_ws();
        if !self.eat("$") {
            return err(format!(
                "a JSON pattern selector must start with '$', found '{}'",
                self.rest()
            ));
        }
        let mut steps = Vec::new();
        loop {
            let rest = self.rest();
            if let Some(after) = rest.strip_prefix('.') {
                let len = after
                    .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '@' | ':')))
                    .unwrap_or(after.len());
                if len == 0 {
                    return err("a '.' in a selector must be followed by a field name");
                }
                steps.push(Step::Key(after[..len].to_string()));
                self.pos += 1 + len;
            } else if let Some(after) = rest.strip_prefix('[') {
                let Some(close) = after.find(']') else {
                    return err("missing ']' in selector");
                };
                let inner = after[..close].trim();
                if inner == "*" {
                    steps.push(Step::AnyIndex);
                } else if let Ok(i) = inner.parse::<usize>() {
                    steps.push(Step::Index(i));
                } else if let Some(key) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    steps.push(Step::Key(key.to_string()));
                } else {
                    return err(format!("'[{inner}]' is not a valid array index"));
                }
                self.pos += 1 + close + 1;
            } else {
                break;
            }
        }
        Ok(steps)
    }

    fn parse_literal(&mut self) -> Result<Literal, PatternError> {
        self.skip_ws();
        let rest = self.rest();
        if let Some(after) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = after.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        self.pos += 1 + i + 1;
                        return Ok(Literal::Str(out));
                    }
                    other => out.push(other),
                }
            }
            return err("unterminated string in JSON pattern");
        }
        let len = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '&' | '|' | '(' | '"'))
            .unwrap_or(rest.len());
        if len == 0 {
            return err("a comparison needs a value");
        }
        let word = &rest[..len];
        self.pos += len;
        Ok(match word.parse::<f64>() {
            Ok(n) if n.is_finite() => Literal::Num(n),
            _ => Literal::Str(word.to_string()),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Space-delimited patterns.

#[derive(Debug, Clone)]
enum Field {
    /// A named word, with conditions in disjunctive normal form (`||` of `&&` groups).
    Word {
        /// The field's name (`$name` in a metric filter's value and dimensions).
        name: String,
        groups: Vec<Vec<(Op, Literal)>>,
    },
    /// `...`: any number of words.
    Rest,
}

fn parse_fields(body: &str) -> Result<Vec<Field>, PatternError> {
    let mut fields = Vec::new();
    if body.trim().is_empty() {
        return err("a space-delimited pattern needs at least one field");
    }
    for raw in split_top_commas(body) {
        let raw = raw.trim();
        if raw == "..." {
            fields.push(Field::Rest);
            continue;
        }
        let name_len = raw
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(raw.len());
        if name_len == 0 {
            return err(format!("'{raw}' is not a field name"));
        }
        let mut groups = Vec::new();
        let conds = raw[name_len..].trim();
        if !conds.is_empty() {
            for alt in conds.split("||") {
                let mut group = Vec::new();
                for part in alt.split("&&") {
                    let part = part.trim();
                    let part = part
                        .strip_prefix(&raw[..name_len])
                        .map(str::trim)
                        .unwrap_or(part);
                    let Some((op, len)) = read_op(part) else {
                        return err(format!("'{part}' is not a condition"));
                    };
                    let value = part[len..].trim();
                    let value = value
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or(value);
                    if value.is_empty() {
                        return err(format!("'{part}' has no value"));
                    }
                    let lit = match value.parse::<f64>() {
                        Ok(n) if n.is_finite() => Literal::Num(n),
                        _ => Literal::Str(value.to_string()),
                    };
                    group.push((op, lit));
                }
                groups.push(group);
            }
        }
        fields.push(Field::Word {
            name: raw[..name_len].to_string(),
            groups,
        });
    }
    Ok(fields)
}

fn split_top_commas(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in body.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&body[start..]);
    out
}

/// The words of a message: split on spaces, a `"..."` or `[...]` run being one word (its
/// delimiters removed).
fn split_words(message: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let bytes = message.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' || bytes[i] == b'\t' {
            i += 1;
            continue;
        }
        let close = match bytes[i] {
            b'"' => Some(b'"'),
            b'[' => Some(b']'),
            _ => None,
        };
        if let Some(close) = close {
            if let Some(end) = bytes[i + 1..].iter().position(|b| *b == close) {
                words.push(&message[i + 1..i + 1 + end]);
                i += end + 2;
                continue;
            }
        }
        let end = bytes[i..]
            .iter()
            .position(|b| *b == b' ' || *b == b'\t')
            .map_or(bytes.len(), |p| i + p);
        words.push(&message[i..end]);
        i = end;
    }
    words
}

fn word_ok(groups: &[Vec<(Op, Literal)>], word: &str) -> bool {
    groups.is_empty()
        || groups.iter().any(|group| {
            group.iter().all(|(op, lit)| match lit {
                Literal::Num(want) => word
                    .parse::<f64>()
                    .is_ok_and(|have| compare_number(*op, have, *want)),
                Literal::Str(want) => compare_text(*op, word, want),
            })
        })
}

/// Whether `words` match `fields`, `...` standing for any run of words: the glob algorithm
/// (backtrack to the last `...` only), so time is at most fields x words, never exponential.
fn match_fields(fields: &[Field], words: &[&str]) -> bool {
    field_words(fields, words).is_some()
}

/// When `words` match `fields`: the word each field took (`None` for `...`).
fn field_words(fields: &[Field], words: &[&str]) -> Option<Vec<Option<usize>>> {
    let mut taken = vec![None; fields.len()];
    let (mut f, mut w) = (0, 0);
    let mut rest: Option<(usize, usize)> = None;
    while let Some(word) = words.get(w) {
        match fields.get(f) {
            Some(Field::Word { groups, .. }) if word_ok(groups, word) => {
                taken[f] = Some(w);
                f += 1;
                w += 1;
            }
            Some(Field::Rest) => {
                rest = Some((f, w));
                f += 1;
            }
            _ => match rest {
                Some((rf, rw)) => {
                    f = rf + 1;
                    w = rw + 1;
                    rest = Some((rf, rw + 1));
                }
                None => return None,
            },
        }
    }
    fields
        .get(f..)
        .unwrap_or_default()
        .iter()
        .all(|x| matches!(x, Field::Rest))
        .then_some(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, message: &str) -> bool {
        FilterPattern::parse(Some(pattern))
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .matches(message)
    }

    #[test]
    fn empty_pattern_matches_everything() {
        assert!(m("", "anything"));
        assert!(m("   ", ""));
        assert!(FilterPattern::parse(None).unwrap().matches("x"));
    }

    #[test]
    fn terms_are_anded_case_sensitive_substrings() {
        assert!(m("ERROR", "[ERROR] disk full"));
        assert!(!m("ERROR", "[error] disk full"));
        assert!(m("ERROR disk", "ERROR: the disk is full"));
        assert!(!m("ERROR memory", "ERROR: the disk is full"));
        assert!(m("Exception", "java.lang.NullPointerException at Foo"));
    }

    #[test]
    fn quoted_phrases_match_exactly() {
        assert!(m("\"disk full\"", "ERROR disk full"));
        assert!(!m("\"disk full\"", "full disk"));
        assert!(m("\"a \\\"quote\\\"\"", "has a \"quote\" inside"));
        assert!(m("\"user:alice\" ERROR", "ERROR login user:alice"));
    }

    #[test]
    fn exclusions_and_alternatives() {
        assert!(m("ERROR -timeout", "ERROR disk"));
        assert!(!m("ERROR -timeout", "ERROR timeout talking to db"));
        assert!(!m("ERROR -\"connection reset\"", "ERROR connection reset"));
        assert!(m("ERROR -\"connection reset\"", "ERROR connection refused"));
        assert!(m("?ERROR ?WARN", "WARN low memory"));
        assert!(m("?ERROR ?WARN", "ERROR"));
        assert!(!m("?ERROR ?WARN", "INFO ok"));
        assert!(m("-DEBUG", "INFO started"));
        assert!(!m("-DEBUG", "DEBUG x"));
    }

    #[test]
    fn regex_terms() {
        assert!(m("%ERR(OR)?%", "ERR 1"));
        assert!(m("%[0-9]{3}% ok", "status 200 ok"));
        assert!(!m("%^INFO%", "an INFO line"));
        assert!(FilterPattern::parse(Some("%(%")).is_err());
        assert!(FilterPattern::parse(Some("%a% %b% %c%")).is_err());
    }

    #[test]
    fn malformed_text_patterns_are_refused() {
        assert!(FilterPattern::parse(Some("\"open")).is_err());
        assert!(FilterPattern::parse(Some("a\"b")).is_err());
        assert!(FilterPattern::parse(Some("ok -")).is_err());
        assert!(FilterPattern::parse(Some("ok - x")).is_err());
    }

    #[test]
    fn json_string_and_number_comparisons() {
        let line = r#"{"level":"ERROR","latency":250,"user":{"id":"u-1","admin":true},"tags":["a","b"],"code":"404","gone":null}"#;
        assert!(m(r#"{ $.level = "ERROR" }"#, line));
        assert!(m("{ $.level = ERROR }", line));
        assert!(!m(r#"{ $.level = "WARN" }"#, line));
        assert!(m(r#"{ $.level != "WARN" }"#, line));
        assert!(m(r#"{ $.level = "ERR*" }"#, line));
        assert!(m("{ $.latency > 200 }", line));
        assert!(!m("{ $.latency < 200 }", line));
        assert!(m("{ $.latency = 250 }", line));
        assert!(m("{ $.latency >= 250 && $.latency <= 250 }", line));
        assert!(m(r#"{ $.user.id = "u-1" }"#, line));
        assert!(m("{ $.user.admin IS TRUE }", line));
        assert!(!m("{ $.user.admin IS FALSE }", line));
        assert!(m("{ $.gone IS NULL }", line));
        assert!(m("{ $.missing NOT EXISTS }", line));
        assert!(!m("{ $.level NOT EXISTS }", line));
        assert!(m(r#"{ $.tags[1] = "b" }"#, line));
        assert!(m(r#"{ $.tags[*] = "a" }"#, line));
        assert!(m("{ $.code = 404 }", line));
        assert!(!m(r#"{ $.missing = "x" }"#, line));
    }

    #[test]
    fn json_boolean_operators() {
        let line = r#"{"level":"ERROR","service":"api","latency":5}"#;
        assert!(m(r#"{ $.level = "ERROR" && $.service = "api" }"#, line));
        assert!(!m(r#"{ $.level = "ERROR" && $.service = "web" }"#, line));
        assert!(m(r#"{ $.level = "WARN" || $.service = "api" }"#, line));
        assert!(m(
            r#"{ ($.level = "WARN" || $.level = "ERROR") && $.latency < 10 }"#,
            line
        ));
        assert!(!m(
            r#"{ ($.level = "WARN" || $.level = "INFO") && $.latency < 10 }"#,
            line
        ));
        // && binds tighter than ||.
        assert!(m(
            r#"{ $.level = "WARN" && $.latency > 100 || $.service = "api" }"#,
            line
        ));
    }

    #[test]
    fn json_patterns_only_match_json_objects() {
        assert!(!m(r#"{ $.level = "ERROR" }"#, "ERROR plain text"));
        assert!(!m(r#"{ $.level = "ERROR" }"#, r#"["ERROR"]"#));
        assert!(!m(r#"{ $.level = "ERROR" }"#, r#"{"level": "ERROR""#));
    }

    #[test]
    fn malformed_json_patterns_are_refused() {
        for bad in [
            "{ $.level = ",
            "{ level = \"x\" }",
            "{ $.level }",
            "{ $.a = 1 && }",
            "{ ($.a = 1 }",
            "{ $.a = \"x }",
            "{ $.a > \"x\" }",
            "{ $.a = 1 } extra",
            "{ $.a IS MAYBE }",
            &format!("{{ {}$.a = 1{} }}", "(".repeat(500), ")".repeat(500)),
        ] {
            let got = FilterPattern::parse(Some(bad));
            assert!(got.is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn space_delimited_patterns() {
        let line =
            r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
        assert!(m("[ip, id, user, timestamp, request, status, bytes]", line));
        assert!(!m("[ip, id, user, timestamp, request, status]", line));
        assert!(m("[ip, id, user, ..., status = 404, bytes]", line));
        assert!(m("[..., status = 4*, bytes > 1000]", line));
        assert!(!m("[..., status = 5*, bytes]", line));
        assert!(m("[ip = 127.0.0.1, ...]", line));
        assert!(m("[..., status = 500 || status = 404, bytes]", line));
        assert!(m(
            "[ip, id, user = frank, ts, request = \"GET /index.html HTTP/1.0\", ...]",
            line
        ));
        // Many `...` fields stay fast (no exponential backtracking).
        let pattern = format!("[{}x = nomatch]", "..., ".repeat(150));
        let words = "w ".repeat(2000);
        let start = std::time::Instant::now();
        assert!(!m(&pattern, &words));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        assert!(m("[..., p = a, ..., q = b, ...]", "x a y y b z"));
        assert!(m("[p = a, ..., q = b]", "a b"));
        assert!(m("[p = a, ..., q = b]", "a c b"));
        assert!(!m("[p = a, ..., q = b]", "a b c"));
        assert!(!m("[p, q]", "one"));
        assert!(m("[...]", ""));
        assert!(FilterPattern::parse(Some("[ip, status = ]")).is_err());
        assert!(FilterPattern::parse(Some("[]")).is_err());
        assert!(FilterPattern::parse(Some("[ip")).is_err());
    }
}
