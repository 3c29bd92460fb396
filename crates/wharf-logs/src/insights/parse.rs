//! The CloudWatch Logs Insights query language, text -> [`Query`]: a lexer driven by the
//! parser (a `/` starts a regular expression where an operand is expected and divides
//! elsewhere), commands separated by `|`, `#` comments to the end of the line.

use std::fmt;

/// A query that does not parse, with the character range AWS's `queryCompileError` would
/// point at.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError {
    /// What is wrong, naming the offending text.
    pub message: String,
    /// Offset of the first character of the offending text.
    pub start: usize,
    /// Offset just past it.
    pub end: usize,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (at characters {}-{})",
            self.message, self.start, self.end
        )
    }
}

fn err<T>(message: impl Into<String>, start: usize, end: usize) -> Result<T, QueryError> {
    Err(QueryError {
        message: message.into(),
        start,
        end,
    })
}

/// A parsed query: its commands in pipe order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The commands, left to right.
    pub commands: Vec<Command>,
}

/// One command of the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `fields expr [as name], ...`: computes fields and shows them.
    Fields(Vec<Named>),
    /// `display name, ...`: the fields the results show (the last `display` wins).
    Display(Vec<String>),
    /// `filter expr`: keeps the events for which `expr` is true.
    Filter(Expr),
    /// `stats agg [as name], ... [by expr [as name], ...]`.
    Stats(Stats),
    /// `sort expr [asc|desc], ...`.
    Sort(Vec<(Expr, Order)>),
    /// `limit n`.
    Limit(usize),
    /// `parse [field] 'glob with *' as a, b` or `parse [field] /regex (?<name>...)/`.
    Parse(Parse),
    /// `dedup field, ...`: the first result of each combination of values.
    Dedup(Vec<String>),
}

/// An expression with the name its result goes under.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    /// The expression.
    pub expr: Expr,
    /// `as` alias, else the expression's text as written.
    pub name: String,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `asc` (the default).
    Asc,
    /// `desc`.
    Desc,
}

/// `stats`: aggregations and grouping.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// The output columns computed from aggregates (each may combine several, e.g.
    /// `sum(x) / count(*)`).
    pub outputs: Vec<Named>,
    /// Every aggregate call of `outputs`, referenced by [`Expr::Agg`] index.
    pub aggs: Vec<Agg>,
    /// `by` expressions (e.g. `bin(5m)`, a field).
    pub by: Vec<Named>,
}

/// One aggregate call.
#[derive(Debug, Clone, PartialEq)]
pub struct Agg {
    /// Which function.
    pub func: AggFunc,
    /// Its argument; `None` for `count()` / `count(*)`.
    pub arg: Option<Expr>,
    /// Percentile for `pct(field, n)`.
    pub pct: f64,
}

/// The aggregate functions of `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count(*)` / `count()`: events; `count(f)`: events where `f` is present.
    Count,
    /// `count_distinct(f)`.
    CountDistinct,
    /// `sum(f)`.
    Sum,
    /// `avg(f)`.
    Avg,
    /// `min(f)`.
    Min,
    /// `max(f)`.
    Max,
    /// `earliest(f)`: the value of the earliest event.
    Earliest,
    /// `latest(f)`: the value of the latest event.
    Latest,
    /// `pct(f, n)`.
    Pct,
    /// `stddev(f)`.
    Stddev,
}

impl AggFunc {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "count" => Self::Count,
            "count_distinct" => Self::CountDistinct,
            "sum" => Self::Sum,
            "avg" => Self::Avg,
            "min" => Self::Min,
            "max" => Self::Max,
            "earliest" => Self::Earliest,
            "latest" => Self::Latest,
            "pct" | "percentile" => Self::Pct,
            "stddev" => Self::Stddev,
            _ => return None,
        })
    }
}

/// `parse`: where from and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Parse {
    /// The field parsed (`@message` unless named).
    pub field: String,
    /// The pattern, compiled.
    pub pattern: ParsePattern,
}

/// A `parse` pattern.
#[derive(Debug, Clone)]
pub enum ParsePattern {
    /// A glob: `*` captures; the names come from `as`. Compiled to an anchored-free regex.
    Glob(regex::Regex, Vec<String>),
    /// A regular expression with named groups `(?<name>...)`.
    Regex(regex::Regex, Vec<String>),
}

impl PartialEq for ParsePattern {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Glob(a, x), Self::Glob(b, y)) | (Self::Regex(a, x), Self::Regex(b, y)) => {
                a.as_str() == b.as_str() && x == y
            }
            _ => false,
        }
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Rem,
}

/// An expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A field reference (`@message`, `a.b`, `` `odd name` ``).
    Field(String),
    /// A string literal.
    Str(String),
    /// A number literal.
    Num(f64),
    /// A time period such as `5m`, in milliseconds (the argument of `bin`).
    Period(i64),
    /// A `/regex/` literal.
    Regex(regex::Regex),
    /// A list literal `[a, b]` (right of `in`).
    List(Vec<Expr>),
    /// `not e`.
    Not(Box<Expr>),
    /// `-e`.
    Neg(Box<Expr>),
    /// `a op b`.
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `e like pattern` / `e =~ /re/` (`negated` for `not like`).
    Like {
        /// What is tested.
        subject: Box<Expr>,
        /// A string (substring match) or a regex.
        pattern: Box<Expr>,
        /// `not like`.
        negated: bool,
    },
    /// `e in [..]` (`negated` for `not in`).
    In {
        /// What is tested.
        subject: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `not in`.
        negated: bool,
    },
    /// A scalar function call.
    Call(String, Vec<Expr>),
    /// The value of aggregate `n` of the enclosing `stats`.
    Agg(usize),
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

/// The scalar functions wharf evaluates.
pub const FUNCTIONS: &[&str] = &[
    "ispresent",
    "isempty",
    "isblank",
    "strlen",
    "tolower",
    "toupper",
    "concat",
    "trim",
    "ltrim",
    "rtrim",
    "strcontains",
    "substr",
    "replace",
    "abs",
    "ceil",
    "floor",
    "greatest",
    "least",
    "coalesce",
    "bin",
    "datefloor",
    "dateceil",
    "frommillis",
    "tomillis",
];

/// Commands of the language wharf does not evaluate (answered with a clear message).
const UNSUPPORTED_COMMANDS: &[&str] = &[
    "pattern",
    "diff",
    "unmask",
    "unnest",
    "lookup",
    "filterindex",
    "source",
    "anomaly",
];

// ---------------------------------------------------------------------------------------------
// Lexer.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// A backtick-quoted name: always a field, never a keyword.
    Quoted(String),
    Str(String),
    Num(f64),
    Period(i64),
    Regex(String),
    Punct(&'static str),
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Quoted(s) => format!("'{s}'"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Num(n) => format!("number {n}"),
            Tok::Period(ms) => format!("period of {ms} ms"),
            Tok::Regex(r) => format!("regex /{r}/"),
            Tok::Punct(p) => format!("'{p}'"),
            Tok::Eof => "the end of the query".into(),
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
}

const PUNCTS: &[&str] = &[
    "!=", "<=", ">=", "=~", "|", ",", "(", ")", "[", "]", "=", "<", ">", "+", "-", "*", "/", "%",
];

/// The milliseconds of a `bin` period unit.
fn unit_ms(unit: &str) -> Option<i64> {
    Some(match unit {
        "ms" => 1,
        "s" | "sec" | "second" | "seconds" => 1_000,
        "m" | "min" | "minute" | "minutes" => 60_000,
        "h" | "hr" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        "w" | "week" | "weeks" => 7 * 86_400_000,
        _ => return None,
    })
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn skip_space(&self, mut pos: usize) -> usize {
        let b = self.src.as_bytes();
        while pos < b.len() {
            if b[pos].is_ascii_whitespace() {
                pos += 1;
            } else if b[pos] == b'#' {
                while pos < b.len() && b[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                break;
            }
        }
        pos
    }

    /// The token at the current position: (token, start, end). `operand` says whether an
    /// operand is expected (then `/` starts a regex).
    fn lex(&self, operand: bool) -> Result<(Tok, usize, usize), QueryError> {
        let src = self.src;
        let b = src.as_bytes();
        let start = self.skip_space(self.pos);
        if start >= b.len() {
            return Ok((Tok::Eof, start, start));
        }
        let c = b[start];
        if c == b'"' || c == b'\'' || c == b'`' {
            let mut out = String::new();
            let mut chars = src[start + 1..].char_indices();
            while let Some((i, ch)) = chars.next() {
                if ch == '\\' {
                    match chars.next() {
                        Some((_, e)) => out.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        }),
                        None => break,
                    }
                } else if ch as u32 == u32::from(c) {
                    let end = start + 1 + i + 1;
                    let tok = if c == b'`' {
                        Tok::Quoted(out)
                    } else {
                        Tok::Str(out)
                    };
                    return Ok((tok, start, end));
                } else {
                    out.push(ch);
                }
            }
            return err("unterminated quoted text", start, b.len());
        }
        if c == b'/' && operand {
            let mut out = String::new();
            let mut chars = src[start + 1..].char_indices();
            while let Some((i, ch)) = chars.next() {
                if ch == '\\' {
                    match chars.next() {
                        Some((_, '/')) => out.push('/'),
                        Some((_, e)) => {
                            out.push('\\');
                            out.push(e);
                        }
                        None => break,
                    }
                } else if ch == '/' {
                    return Ok((Tok::Regex(out), start, start + 1 + i + 1));
                } else {
                    out.push(ch);
                }
            }
            return err("unterminated regular expression", start, b.len());
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(start + 1).is_some_and(u8::is_ascii_digit)) {
            let mut end = start;
            while end < b.len() && (b[end].is_ascii_digit() || b[end] == b'.') {
                end += 1;
            }
            if end < b.len() && (b[end] == b'e' || b[end] == b'E') {
                let mut e = end + 1;
                if e < b.len() && (b[e] == b'+' || b[e] == b'-') {
                    e += 1;
                }
                if e < b.len() && b[e].is_ascii_digit() {
                    end = e;
                    while end < b.len() && b[end].is_ascii_digit() {
                        end += 1;
                    }
                }
            }
            let number = &src[start..end];
            let mut uend = end;
            while uend < b.len() && b[uend].is_ascii_alphabetic() {
                uend += 1;
            }
            let value: f64 = number
                .parse()
                .or_else(|_| err(format!("'{number}' is not a number"), start, end))?;
            if uend > end {
                let unit = &src[end..uend];
                let Some(ms) = unit_ms(unit) else {
                    return err(
                        format!(
                            "unsupported time unit '{unit}' in '{}' (use ms, s, m, h, d or w)",
                            &src[start..uend]
                        ),
                        start,
                        uend,
                    );
                };
                return Ok((Tok::Period((value * ms as f64) as i64), start, uend));
            }
            return Ok((Tok::Num(value), start, end));
        }
        if c == b'@' || c == b'_' || c == b'$' || c.is_ascii_alphabetic() {
            let mut end = start + 1;
            while end < b.len()
                && (b[end].is_ascii_alphanumeric() || matches!(b[end], b'_' | b'.' | b'@' | b'$'))
            {
                end += 1;
            }
            // A name ending in a dot is a typo, not a nested field.
            let name = src[start..end].trim_end_matches('.');
            let end = start + name.len();
            return Ok((Tok::Ident(name.to_string()), start, end));
        }
        for p in PUNCTS {
            if src[start..].starts_with(p) {
                return Ok((Tok::Punct(p), start, start + p.len()));
            }
        }
        let ch = src[start..].chars().next().unwrap_or('?');
        err(
            format!("unexpected character '{ch}'"),
            start,
            start + ch.len_utf8(),
        )
    }

    fn peek(&self) -> Result<Tok, QueryError> {
        Ok(self.lex(false)?.0)
    }

    fn next(&mut self, operand: bool) -> Result<(Tok, usize, usize), QueryError> {
        let t = self.lex(operand)?;
        self.pos = t.2;
        Ok(t)
    }

    fn eat_punct(&mut self, p: &str) -> Result<bool, QueryError> {
        let (t, _, end) = self.lex(false)?;
        if t == Tok::Punct(leak(p)) {
            self.pos = end;
            return Ok(true);
        }
        Ok(false)
    }

    fn eat_kw(&mut self, kw: &str) -> Result<bool, QueryError> {
        let (t, _, end) = self.lex(false)?;
        if t.is_kw(kw) {
            self.pos = end;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect_punct(&mut self, p: &str) -> Result<(), QueryError> {
        if self.eat_punct(p)? {
            return Ok(());
        }
        let (t, s, e) = self.lex(false)?;
        err(format!("expected '{p}', found {}", t.describe()), s, e)
    }

    // -----------------------------------------------------------------------------------------
    // Commands.

    fn query(&mut self) -> Result<Query, QueryError> {
        let mut commands = Vec::new();
        loop {
            if self.peek()? == Tok::Eof {
                if commands.is_empty() {
                    return err("the query is empty", 0, self.src.len());
                }
                return err(
                    "the query ends with '|' but no command follows",
                    self.src.len(),
                    self.src.len(),
                );
            }
            commands.push(self.command()?);
            let (t, s, e) = self.next(false)?;
            match t {
                Tok::Eof => break,
                Tok::Punct("|") => continue,
                other => {
                    return err(
                        format!(
                            "expected '|' or the end of the query, found {}",
                            other.describe()
                        ),
                        s,
                        e,
                    )
                }
            }
        }
        Ok(Query { commands })
    }

    fn command(&mut self) -> Result<Command, QueryError> {
        let (t, s, e) = self.next(false)?;
        let Tok::Ident(name) = t else {
            return err(
                format!("expected a command (fields, filter, stats, sort, limit, parse, display, dedup), found {}", t.describe()),
                s,
                e,
            );
        };
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "fields" => Ok(Command::Fields(self.named_list()?)),
            "display" => Ok(Command::Display(self.name_list()?)),
            "filter" => Ok(Command::Filter(self.expr()?)),
            "stats" => self.stats(),
            "sort" => self.sort(),
            "limit" => self.limit(),
            "parse" => self.parse_cmd(),
            "dedup" => Ok(Command::Dedup(self.name_list()?)),
            _ if UNSUPPORTED_COMMANDS.contains(&lower.as_str()) => err(
                format!(
                    "the '{name}' command is not supported by wharf's Logs Insights (supported: fields, filter, stats, sort, limit, parse, display, dedup)"
                ),
                s,
                e,
            ),
            _ => err(
                format!(
                    "unknown command '{name}' (supported: fields, filter, stats, sort, limit, parse, display, dedup)"
                ),
                s,
                e,
            ),
        }
    }

    fn named_list(&mut self) -> Result<Vec<Named>, QueryError> {
        let mut out = Vec::new();
        loop {
            out.push(self.named()?);
            if !self.eat_punct(",")? {
                return Ok(out);
            }
        }
    }

    fn named(&mut self) -> Result<Named, QueryError> {
        let start = self.skip_space(self.pos);
        let expr = self.expr()?;
        let text = self.src[start..self.pos].trim().to_string();
        let name = if self.eat_kw("as")? {
            self.field_name()?
        } else {
            match &expr {
                Expr::Field(f) => f.clone(),
                _ => text,
            }
        };
        Ok(Named { expr, name })
    }

    fn field_name(&mut self) -> Result<String, QueryError> {
        let (t, s, e) = self.next(false)?;
        match t {
            Tok::Ident(n) | Tok::Quoted(n) => Ok(n),
            other => err(
                format!("expected a field name, found {}", other.describe()),
                s,
                e,
            ),
        }
    }

    fn name_list(&mut self) -> Result<Vec<String>, QueryError> {
        let mut out = vec![self.field_name()?];
        while self.eat_punct(",")? {
            out.push(self.field_name()?);
        }
        Ok(out)
    }

    fn stats(&mut self) -> Result<Command, QueryError> {
        let mut aggs = Vec::new();
        let mut outputs = Vec::new();
        loop {
            let start = self.skip_space(self.pos);
            let expr = self.stats_expr(&mut aggs)?;
            let text = self.src[start..self.pos].trim().to_string();
            if !contains_agg(&expr) {
                return err(
                    format!("'{text}' in stats is not an aggregation (use count, count_distinct, sum, avg, min, max, earliest, latest, pct or stddev)"),
                    start,
                    self.pos,
                );
            }
            let name = if self.eat_kw("as")? {
                self.field_name()?
            } else {
                text
            };
            outputs.push(Named { expr, name });
            if !self.eat_punct(",")? {
                break;
            }
        }
        let by = if self.eat_kw("by")? {
            self.named_list()?
        } else {
            Vec::new()
        };
        Ok(Command::Stats(Stats { outputs, aggs, by }))
    }

    /// An expression of a stats output: arithmetic over aggregate calls.
    fn stats_expr(&mut self, aggs: &mut Vec<Agg>) -> Result<Expr, QueryError> {
        let mut lhs = self.stats_term(aggs)?;
        loop {
            let op = match self.peek()? {
                Tok::Punct("+") => BinOp::Add,
                Tok::Punct("-") => BinOp::Sub,
                _ => return Ok(lhs),
            };
            self.next(false)?;
            let rhs = self.stats_term(aggs)?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn stats_term(&mut self, aggs: &mut Vec<Agg>) -> Result<Expr, QueryError> {
        let mut lhs = self.stats_atom(aggs)?;
        loop {
            let op = match self.peek()? {
                Tok::Punct("*") => BinOp::Mul,
                Tok::Punct("/") => BinOp::Div,
                Tok::Punct("%") => BinOp::Rem,
                _ => return Ok(lhs),
            };
            self.next(false)?;
            let rhs = self.stats_atom(aggs)?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn stats_atom(&mut self, aggs: &mut Vec<Agg>) -> Result<Expr, QueryError> {
        let (t, s, e) = self.lex(true)?;
        match t {
            Tok::Num(n) => {
                self.pos = e;
                Ok(Expr::Num(n))
            }
            Tok::Punct("(") => {
                self.pos = e;
                let inner = self.stats_expr(aggs)?;
                self.expect_punct(")")?;
                Ok(inner)
            }
            Tok::Ident(name) => {
                let Some(func) = AggFunc::from_name(&name) else {
                    return err(
                        format!("'{name}' is not an aggregation function (use count, count_distinct, sum, avg, min, max, earliest, latest, pct or stddev)"),
                        s,
                        e,
                    );
                };
                self.pos = e;
                self.expect_punct("(")?;
                let (arg, pct) = self.agg_args(func, &name, s)?;
                aggs.push(Agg { func, arg, pct });
                Ok(Expr::Agg(aggs.len() - 1))
            }
            other => err(
                format!("expected an aggregation, found {}", other.describe()),
                s,
                e,
            ),
        }
    }

    /// The arguments of an aggregate call, after its `(`, through its `)`.
    fn agg_args(
        &mut self,
        func: AggFunc,
        name: &str,
        start: usize,
    ) -> Result<(Option<Expr>, f64), QueryError> {
        if self.eat_punct(")")? {
            if func == AggFunc::Count {
                return Ok((None, 0.0));
            }
            return err(format!("{name}() needs a field"), start, self.pos);
        }
        let (t, _, e) = self.lex(true)?;
        if t == Tok::Punct("*") {
            self.pos = e;
            self.expect_punct(")")?;
            if func == AggFunc::Count {
                return Ok((None, 0.0));
            }
            return err(
                format!("{name}(*) is not allowed: name a field"),
                start,
                self.pos,
            );
        }
        let arg = self.expr()?;
        let mut pct = 0.0;
        if func == AggFunc::Pct {
            self.expect_punct(",")?;
            let (t, s, e) = self.next(true)?;
            match t {
                Tok::Num(n) if (0.0..=100.0).contains(&n) => pct = n,
                other => {
                    return err(
                        format!(
                            "pct needs a percentile between 0 and 100, found {}",
                            other.describe()
                        ),
                        s,
                        e,
                    )
                }
            }
        }
        self.expect_punct(")")?;
        Ok((Some(arg), pct))
    }

    fn sort(&mut self) -> Result<Command, QueryError> {
        let mut keys = Vec::new();
        loop {
            let e = self.expr()?;
            let order = if self.eat_kw("desc")? {
                Order::Desc
            } else {
                self.eat_kw("asc")?;
                Order::Asc
            };
            keys.push((e, order));
            if !self.eat_punct(",")? {
                return Ok(Command::Sort(keys));
            }
        }
    }

    fn limit(&mut self) -> Result<Command, QueryError> {
        let (t, s, e) = self.next(true)?;
        match t {
            Tok::Num(n) if n.fract() == 0.0 && (1.0..=10_000.0).contains(&n) => {
                Ok(Command::Limit(n as usize))
            }
            Tok::Num(n) => err(
                format!("limit must be a whole number from 1 to 10000, found {n}"),
                s,
                e,
            ),
            other => err(
                format!("limit needs a number, found {}", other.describe()),
                s,
                e,
            ),
        }
    }

    fn parse_cmd(&mut self) -> Result<Command, QueryError> {
        let mut field = "@message".to_string();
        if let Tok::Ident(_) | Tok::Quoted(_) = self.lex(true)?.0 {
            field = self.field_name()?;
        }
        let (t, s, e) = self.next(true)?;
        let pattern = match t {
            Tok::Str(glob) => {
                let mut rx = String::new();
                let stars = glob.matches('*').count();
                for (i, part) in glob.split('*').enumerate() {
                    if i > 0 {
                        rx.push_str("(.*?)");
                    }
                    rx.push_str(&regex::escape(part));
                }
                // The last capture takes the rest of the text when the glob ends with `*`.
                if glob.ends_with('*') {
                    rx.truncate(rx.len() - "(.*?)".len());
                    rx.push_str("(.*)");
                }
                if stars == 0 {
                    return err("a parse glob needs at least one '*'", s, e);
                }
                if !self.eat_kw("as")? {
                    return err(
                        format!("parse with a glob needs 'as' and {stars} field name(s)"),
                        s,
                        e,
                    );
                }
                let names = self.name_list()?;
                if names.len() != stars {
                    return err(
                        format!(
                            "the parse glob has {stars} '*' but {} field name(s) follow 'as'",
                            names.len()
                        ),
                        s,
                        self.pos,
                    );
                }
                let re = regex::Regex::new(&format!("(?s){rx}"))
                    .or_else(|x| err(format!("invalid parse glob: {x}"), s, e))?;
                ParsePattern::Glob(re, names)
            }
            Tok::Regex(text) => {
                let re = compile_regex(&text, s, e)?;
                let names: Vec<String> = re.capture_names().flatten().map(String::from).collect();
                if names.is_empty() {
                    return err(
                        "a parse regex needs named groups such as (?<name>...)",
                        s,
                        e,
                    );
                }
                ParsePattern::Regex(re, names)
            }
            other => {
                return err(
                    format!(
                        "parse needs a glob string or a /regex/, found {}",
                        other.describe()
                    ),
                    s,
                    e,
                )
            }
        };
        Ok(Command::Parse(Parse { field, pattern }))
    }

    // -----------------------------------------------------------------------------------------
    // Expressions.

    fn expr(&mut self) -> Result<Expr, QueryError> {
        let mut lhs = self.and_expr()?;
        while self.eat_kw("or")? {
            let rhs = self.and_expr()?;
            lhs = Expr::Bin(BinOp::Or, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut lhs = self.not_expr()?;
        while self.eat_kw("and")? {
            let rhs = self.not_expr()?;
            lhs = Expr::Bin(BinOp::And, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn not_expr(&mut self) -> Result<Expr, QueryError> {
        if self.eat_kw("not")? {
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let lhs = self.additive()?;
        let (t, _, e) = self.lex(false)?;
        let op = match t {
            Tok::Punct("=") => Some(BinOp::Eq),
            Tok::Punct("!=") => Some(BinOp::Ne),
            Tok::Punct("<") => Some(BinOp::Lt),
            Tok::Punct("<=") => Some(BinOp::Le),
            Tok::Punct(">") => Some(BinOp::Gt),
            Tok::Punct(">=") => Some(BinOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.pos = e;
            let rhs = self.additive()?;
            return Ok(Expr::Bin(op, Box::new(lhs), Box::new(rhs)));
        }
        let save = self.pos;
        let negated = if t.is_kw("not") {
            self.pos = e;
            true
        } else {
            false
        };
        let (t, s, e) = self.lex(false)?;
        if t.is_kw("like") || (!negated && t == Tok::Punct("=~")) {
            self.pos = e;
            let pattern = self.like_pattern()?;
            return Ok(Expr::Like {
                subject: Box::new(lhs),
                pattern: Box::new(pattern),
                negated,
            });
        }
        if t.is_kw("in") {
            self.pos = e;
            let Expr::List(list) = self.primary()? else {
                return err("'in' needs a list such as [\"a\", \"b\"]", s, self.pos);
            };
            return Ok(Expr::In {
                subject: Box::new(lhs),
                list,
                negated,
            });
        }
        if negated {
            // `not` that is not `not like` / `not in`: leave it for the caller to reject.
            self.pos = save;
        }
        Ok(lhs)
    }

    fn like_pattern(&mut self) -> Result<Expr, QueryError> {
        let (t, s, e) = self.next(true)?;
        match t {
            Tok::Str(text) => Ok(Expr::Str(text)),
            Tok::Regex(text) => Ok(Expr::Regex(compile_regex(&text, s, e)?)),
            other => err(
                format!(
                    "like needs a \"string\" or a /regex/, found {}",
                    other.describe()
                ),
                s,
                e,
            ),
        }
    }

    fn additive(&mut self) -> Result<Expr, QueryError> {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = match self.peek()? {
                Tok::Punct("+") => BinOp::Add,
                Tok::Punct("-") => BinOp::Sub,
                _ => return Ok(lhs),
            };
            self.next(false)?;
            let rhs = self.multiplicative()?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, QueryError> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek()? {
                Tok::Punct("*") => BinOp::Mul,
                Tok::Punct("/") => BinOp::Div,
                Tok::Punct("%") => BinOp::Rem,
                _ => return Ok(lhs),
            };
            self.next(false)?;
            let rhs = self.unary()?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        let (t, _, e) = self.lex(true)?;
        if t == Tok::Punct("-") {
            self.pos = e;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let (t, s, e) = self.next(true)?;
        match t {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Str(text) => Ok(Expr::Str(text)),
            Tok::Period(ms) => Ok(Expr::Period(ms)),
            Tok::Regex(text) => Ok(Expr::Regex(compile_regex(&text, s, e)?)),
            Tok::Quoted(name) => Ok(Expr::Field(name)),
            Tok::Punct("(") => {
                let inner = self.expr()?;
                self.expect_punct(")")?;
                Ok(inner)
            }
            Tok::Punct("[") => {
                let mut items = Vec::new();
                if !self.eat_punct("]")? {
                    loop {
                        items.push(self.additive()?);
                        if self.eat_punct("]")? {
                            break;
                        }
                        self.expect_punct(",")?;
                    }
                }
                Ok(Expr::List(items))
            }
            Tok::Ident(name) => {
                if self.peek()? != Tok::Punct("(") {
                    if ["and", "or", "not", "like", "in", "as", "by"]
                        .iter()
                        .any(|k| name.eq_ignore_ascii_case(k))
                    {
                        return err(
                            format!("expected a value, found the keyword '{name}'"),
                            s,
                            e,
                        );
                    }
                    return Ok(Expr::Field(name));
                }
                self.next(false)?;
                let lower = name.to_ascii_lowercase();
                if AggFunc::from_name(&lower).is_some() && !FUNCTIONS.contains(&lower.as_str()) {
                    return err(
                        format!("the aggregation {name}() can only be used in stats"),
                        s,
                        e,
                    );
                }
                if !FUNCTIONS.contains(&lower.as_str()) {
                    return err(format!("unknown or unsupported function '{name}'"), s, e);
                }
                let mut args = Vec::new();
                if !self.eat_punct(")")? {
                    loop {
                        args.push(self.expr()?);
                        if self.eat_punct(")")? {
                            break;
                        }
                        self.expect_punct(",")?;
                    }
                }
                check_arity(&lower, args.len(), s, self.pos)?;
                Ok(Expr::Call(lower, args))
            }
            other => err(
                format!("expected a value, found {}", other.describe()),
                s,
                e,
            ),
        }
    }
}

/// The `&'static str` of a punctuation mark (for token comparison).
fn leak(p: &str) -> &'static str {
    PUNCTS.iter().find(|q| **q == p).copied().unwrap_or("")
}

fn check_arity(name: &str, n: usize, s: usize, e: usize) -> Result<(), QueryError> {
    let ok = match name {
        "concat" | "greatest" | "least" | "coalesce" => n >= 1,
        "bin" => n == 1 || n == 2,
        "substr" => n == 2 || n == 3,
        "replace" => n == 3,
        "strcontains" | "datefloor" | "dateceil" => n == 2,
        "trim" | "ltrim" | "rtrim" => n == 1 || n == 2,
        _ => n == 1,
    };
    if ok {
        Ok(())
    } else {
        err(
            format!("wrong number of arguments ({n}) for {name}()"),
            s,
            e,
        )
    }
}

/// A regex literal as Insights writes it (Java-style named groups `(?<name>...)` included).
fn compile_regex(text: &str, s: usize, e: usize) -> Result<regex::Regex, QueryError> {
    regex::Regex::new(text)
        .or_else(|x| err(format!("invalid regular expression /{text}/: {x}"), s, e))
}

fn contains_agg(e: &Expr) -> bool {
    match e {
        Expr::Agg(_) => true,
        Expr::Bin(_, a, b) => contains_agg(a) || contains_agg(b),
        Expr::Neg(a) | Expr::Not(a) => contains_agg(a),
        _ => false,
    }
}

/// Parses a Logs Insights query.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    Parser { src: text, pos: 0 }.query()
}
