//! Metric math, as GetMetricData and metric-math alarms evaluate an `Expression`: a parser
//! (numbers, query ids, `+ - * /`, unary minus, parentheses, function calls) and an evaluator
//! over time series. Supported functions: `SUM`, `AVG`, `MIN`, `MAX` (of one series: a
//! scalar; of an array of series: one series), `ABS`, `METRICS()` / `METRICS("text")` (the
//! request's metric queries, optionally those whose id contains the text). Pure: the caller
//! hands the series of the ids an expression refers to.

use std::collections::BTreeMap;

/// A time series: `(epoch millis, value)` ascending by time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The label of the query it comes from.
    pub label: String,
    /// The points.
    pub points: Vec<(i64, f64)>,
}

/// What an expression evaluates to.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number.
    Scalar(f64),
    /// One time series.
    Series(Series),
    /// Several (`METRICS()`).
    Array(Vec<Series>),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Num(f64),
    /// A string (function argument only).
    Str(String),
    /// Another query's id.
    Ref(String),
    /// `-x`.
    Neg(Box<Expr>),
    /// `a op b`.
    Bin(Op, Box<Expr>, Box<Expr>),
    /// `NAME(args)`.
    Call(String, Vec<Expr>),
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
}

/// Why an expression cannot be parsed or evaluated (worded for the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MathError(pub String);

const FUNCTIONS: &[&str] = &["SUM", "AVG", "MIN", "MAX", "ABS", "METRICS"];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Ident(String),
    Str(String),
    Sym(char),
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, MathError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let lexeme: String = chars[start..i].iter().collect();
            let n = lexeme
                .parse::<f64>()
                .map_err(|_| MathError(format!("Invalid number \"{lexeme}\" at position {at}.")))?;
            out.push((at, Token::Num(n)));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((at, Token::Ident(chars[start..i].iter().collect())));
        } else if c == '"' {
            let start = i + 1;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
            if i >= chars.len() {
                return Err(MathError(format!(
                    "Unterminated string starting at position {at}."
                )));
            }
            out.push((at, Token::Str(chars[start..i].iter().collect())));
            i += 1;
        } else if "+-*/(),".contains(c) {
            out.push((at, Token::Sym(c)));
            i += 1;
        } else {
            return Err(MathError(format!(
                "Unexpected character \"{c}\" at position {at}."
            )));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|t| &t.1)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.len + 1, |t| t.0)
    }

    fn eat(&mut self, sym: char) -> bool {
        if self.peek() == Some(&Token::Sym(sym)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn unexpected(&self) -> MathError {
        match self.tokens.get(self.pos) {
            None => MathError("Unexpected end of expression.".into()),
            Some((at, t)) => {
                let shown = match t {
                    Token::Num(n) => n.to_string(),
                    Token::Ident(s) => s.clone(),
                    Token::Str(s) => format!("\"{s}\""),
                    Token::Sym(c) => c.to_string(),
                };
                MathError(format!("Unexpected \"{shown}\" at position {at}."))
            }
        }
    }

    fn expr(&mut self) -> Result<Expr, MathError> {
        let mut left = self.term()?;
        loop {
            let op = if self.eat('+') {
                Op::Add
            } else if self.eat('-') {
                Op::Sub
            } else {
                return Ok(left);
            };
            let right = self.term()?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
    }

    fn term(&mut self) -> Result<Expr, MathError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat('*') {
                Op::Mul
            } else if self.eat('/') {
                Op::Div
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, MathError> {
        if self.eat('-') {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, MathError> {
        let at = self.at();
        match self.peek().cloned() {
            Some(Token::Num(n)) => {
                self.pos += 1;
                Ok(Expr::Num(n))
            }
            Some(Token::Str(s)) => {
                self.pos += 1;
                Ok(Expr::Str(s))
            }
            Some(Token::Ident(name)) => {
                self.pos += 1;
                if !self.eat('(') {
                    return Ok(Expr::Ref(name));
                }
                if !FUNCTIONS.contains(&name.as_str()) {
                    return Err(MathError(format!(
                        "Unknown function \"{name}\" at position {at}."
                    )));
                }
                let mut args = Vec::new();
                if !self.eat(')') {
                    loop {
                        args.push(self.expr()?);
                        if self.eat(')') {
                            break;
                        }
                        if !self.eat(',') {
                            return Err(self.unexpected());
                        }
                    }
                }
                Ok(Expr::Call(name, args))
            }
            Some(Token::Sym('(')) => {
                self.pos += 1;
                let inner = self.expr()?;
                if !self.eat(')') {
                    return Err(self.unexpected());
                }
                Ok(inner)
            }
            _ => Err(self.unexpected()),
        }
    }
}

/// Parses `text`.
pub fn parse(text: &str) -> Result<Expr, MathError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        len: text.chars().count(),
    };
    let e = p.expr()?;
    if p.pos < p.tokens.len() {
        return Err(p.unexpected());
    }
    Ok(e)
}

/// The query ids `expr` refers to (directly), and whether it calls `METRICS()`.
pub fn references(expr: &Expr) -> (Vec<String>, bool) {
    fn walk(e: &Expr, ids: &mut Vec<String>, metrics: &mut bool) {
        match e {
            Expr::Ref(id) => ids.push(id.clone()),
            Expr::Neg(x) => walk(x, ids, metrics),
            Expr::Bin(_, a, b) => {
                walk(a, ids, metrics);
                walk(b, ids, metrics);
            }
            Expr::Call(name, args) => {
                if name == "METRICS" {
                    *metrics = true;
                }
                for a in args {
                    walk(a, ids, metrics);
                }
            }
            Expr::Num(_) | Expr::Str(_) => {}
        }
    }
    let (mut ids, mut metrics) = (Vec::new(), false);
    walk(expr, &mut ids, &mut metrics);
    (ids, metrics)
}

/// What an expression can see: the series of the ids it refers to, and the request's metric
/// queries (in request order) for `METRICS()`.
pub struct Env<'a> {
    /// Series by query id.
    pub series: &'a BTreeMap<String, Series>,
    /// The ids of the request's MetricStat queries, in order.
    pub metric_ids: &'a [String],
}

/// Evaluates `expr` in `env`.
pub fn eval(expr: &Expr, env: &Env<'_>) -> Result<Value, MathError> {
    match expr {
        Expr::Num(n) => Ok(Value::Scalar(*n)),
        Expr::Str(s) => Err(MathError(format!(
            "The string \"{s}\" can only be an argument of METRICS()."
        ))),
        Expr::Ref(id) => env
            .series
            .get(id)
            .cloned()
            .map(Value::Series)
            .ok_or_else(|| MathError(format!("Unrecognized metric or expression id \"{id}\"."))),
        Expr::Neg(x) => binary(Op::Mul, Value::Scalar(-1.0), eval(x, env)?),
        Expr::Bin(op, a, b) => binary(*op, eval(a, env)?, eval(b, env)?),
        Expr::Call(name, args) => call(name, args, env),
    }
}

fn call(name: &str, args: &[Expr], env: &Env<'_>) -> Result<Value, MathError> {
    if name == "METRICS" {
        let filter = match args {
            [] => None,
            [Expr::Str(s)] => Some(s.as_str()),
            _ => {
                return Err(MathError(
                    "METRICS() takes no argument or one string.".into(),
                ))
            }
        };
        let all = env
            .metric_ids
            .iter()
            .filter(|id| filter.is_none_or(|f| id.contains(f)))
            .filter_map(|id| env.series.get(id).cloned())
            .collect();
        return Ok(Value::Array(all));
    }
    let [arg] = args else {
        return Err(MathError(format!("{name}() takes exactly one argument.")));
    };
    let value = eval(arg, env)?;
    if name == "ABS" {
        return Ok(map(value, f64::abs));
    }
    let agg: fn(&[f64]) -> Option<f64> = match name {
        "SUM" => |v| Some(v.iter().sum()),
        "AVG" => |v| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64),
        "MIN" => |v| v.iter().copied().reduce(f64::min),
        "MAX" => |v| v.iter().copied().reduce(f64::max),
        other => return Err(MathError(format!("Unknown function \"{other}\"."))),
    };
    Ok(match value {
        Value::Scalar(x) => Value::Scalar(x),
        Value::Series(s) => {
            let values: Vec<f64> = s.points.iter().map(|p| p.1).collect();
            Value::Scalar(agg(&values).unwrap_or(f64::NAN))
        }
        Value::Array(list) => {
            let mut by_time: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
            for s in &list {
                for (t, v) in &s.points {
                    by_time.entry(*t).or_default().push(*v);
                }
            }
            Value::Series(Series {
                label: String::new(),
                points: by_time
                    .into_iter()
                    .filter_map(|(t, v)| agg(&v).map(|x| (t, x)))
                    .collect(),
            })
        }
    })
}

fn apply(op: Op, a: f64, b: f64) -> f64 {
    match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
    }
}

fn map(value: Value, f: impl Fn(f64) -> f64 + Copy) -> Value {
    let map_series = |s: Series| Series {
        label: s.label,
        points: s
            .points
            .into_iter()
            .map(|(t, v)| (t, f(v)))
            .filter(|p| p.1.is_finite())
            .collect(),
    };
    match value {
        Value::Scalar(x) => Value::Scalar(f(x)),
        Value::Series(s) => Value::Series(map_series(s)),
        Value::Array(list) => Value::Array(list.into_iter().map(map_series).collect()),
    }
}

/// Two series point by point, at the timestamps both have.
fn zip(op: Op, a: &Series, b: &Series) -> Series {
    let theirs: BTreeMap<i64, f64> = b.points.iter().copied().collect();
    Series {
        label: a.label.clone(),
        points: a
            .points
            .iter()
            .filter_map(|(t, x)| theirs.get(t).map(|y| (*t, apply(op, *x, *y))))
            .filter(|p| p.1.is_finite())
            .collect(),
    }
}

fn binary(op: Op, a: Value, b: Value) -> Result<Value, MathError> {
    Ok(match (a, b) {
        (Value::Scalar(x), Value::Scalar(y)) => Value::Scalar(apply(op, x, y)),
        (v @ (Value::Series(_) | Value::Array(_)), Value::Scalar(y)) => {
            map(v, move |x| apply(op, x, y))
        }
        (Value::Scalar(x), v @ (Value::Series(_) | Value::Array(_))) => {
            map(v, move |y| apply(op, x, y))
        }
        (Value::Series(a), Value::Series(b)) => Value::Series(zip(op, &a, &b)),
        (Value::Array(list), Value::Series(b)) => {
            Value::Array(list.iter().map(|a| zip(op, a, &b)).collect())
        }
        (Value::Series(a), Value::Array(list)) => {
            Value::Array(list.iter().map(|b| zip(op, &a, b)).collect())
        }
        (Value::Array(_), Value::Array(_)) => {
            return Err(MathError(
                "Operations between two arrays of time series are not supported.".into(),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(points: &[(i64, f64)]) -> Series {
        Series {
            label: String::new(),
            points: points.to_vec(),
        }
    }

    fn run(text: &str) -> Result<Value, MathError> {
        let mut series = BTreeMap::new();
        series.insert("m1".to_string(), s(&[(0, 1.0), (60, 2.0), (120, 3.0)]));
        series.insert("m2".to_string(), s(&[(0, 10.0), (120, 30.0)]));
        series.insert("zero".to_string(), s(&[(0, 0.0), (60, 5.0)]));
        let ids = vec!["m1".to_string(), "m2".to_string()];
        eval(
            &parse(text)?,
            &Env {
                series: &series,
                metric_ids: &ids,
            },
        )
    }

    fn points(v: Value) -> Vec<(i64, f64)> {
        match v {
            Value::Series(s) => s.points,
            other => panic!("not a series: {other:?}"),
        }
    }

    #[test]
    fn arithmetic_between_series_and_constants() {
        assert_eq!(
            points(run("m1 + m2").unwrap()),
            vec![(0, 11.0), (120, 33.0)]
        );
        assert_eq!(
            points(run("m1 * 2 - 1").unwrap()),
            vec![(0, 1.0), (60, 3.0), (120, 5.0)]
        );
        assert_eq!(
            points(run("(m1 + 1) * 2").unwrap()),
            vec![(0, 4.0), (60, 6.0), (120, 8.0)]
        );
        assert_eq!(
            points(run("-m1 + 10 / 2").unwrap()),
            vec![(0, 4.0), (60, 3.0), (120, 2.0)]
        );
        assert_eq!(
            points(run("m2 / m1").unwrap()),
            vec![(0, 10.0), (120, 10.0)]
        );
        // division by zero leaves the point out
        assert_eq!(points(run("m1 / zero").unwrap()), vec![(60, 0.4)]);
        assert_eq!(run("1 + 2 * 3").unwrap(), Value::Scalar(7.0));
        assert_eq!(run("1.5e1").unwrap(), Value::Scalar(15.0));
    }

    #[test]
    fn aggregates_of_a_series_are_scalars_and_of_an_array_series() {
        assert_eq!(run("SUM(m1)").unwrap(), Value::Scalar(6.0));
        assert_eq!(run("AVG(m1)").unwrap(), Value::Scalar(2.0));
        assert_eq!(run("MIN(m2)").unwrap(), Value::Scalar(10.0));
        assert_eq!(run("MAX(m2)").unwrap(), Value::Scalar(30.0));
        assert_eq!(
            points(run("SUM(METRICS())").unwrap()),
            vec![(0, 11.0), (60, 2.0), (120, 33.0)]
        );
        assert_eq!(
            points(run("AVG(METRICS())").unwrap()),
            vec![(0, 5.5), (60, 2.0), (120, 16.5)]
        );
        assert_eq!(
            points(run("MAX(METRICS(\"2\"))").unwrap()),
            vec![(0, 10.0), (120, 30.0)]
        );
        assert_eq!(points(run("m1 / SUM(m1) * 100").unwrap())[2], (120, 50.0));
        assert_eq!(
            points(run("ABS(m1 - 2)").unwrap()),
            vec![(0, 1.0), (60, 0.0), (120, 1.0)]
        );
    }

    #[test]
    fn malformed_expressions_are_refused_with_a_reason() {
        let err = |t: &str| run(t).unwrap_err().0;
        assert_eq!(err("m1 +"), "Unexpected end of expression.");
        assert_eq!(err("m1 + * m2"), "Unexpected \"*\" at position 6.");
        assert_eq!(err("(m1 + m2"), "Unexpected end of expression.");
        assert_eq!(err("m1 m2"), "Unexpected \"m2\" at position 4.");
        assert_eq!(err("m1 % 2"), "Unexpected character \"%\" at position 4.");
        assert_eq!(err("FOO(m1)"), "Unknown function \"FOO\" at position 1.");
        assert_eq!(
            err("m9 * 2"),
            "Unrecognized metric or expression id \"m9\"."
        );
        assert_eq!(err("SUM(m1, m2)"), "SUM() takes exactly one argument.");
        assert_eq!(
            err("METRICS() + METRICS()"),
            "Operations between two arrays of time series are not supported."
        );
        assert_eq!(err(""), "Unexpected end of expression.");
    }

    #[test]
    fn references_lists_ids() {
        let e = parse("SUM(METRICS()) + m1 / e2").unwrap();
        assert_eq!(
            references(&e),
            (vec!["m1".to_string(), "e2".to_string()], true)
        );
    }
}
