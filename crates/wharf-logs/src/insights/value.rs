//! Values of Logs Insights fields: strings, numbers, times (epoch milliseconds) and booleans;
//! how they compare (numbers when both sides read as numbers, text otherwise), how `sort`
//! orders them (AWS's natural sort: text before numbers, digit runs by length then value),
//! and how results print them (`2023-11-14 22:13:20.000` for times).

use std::cmp::Ordering;

/// A field's value (an absent field is `None` where values are optional).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// A number.
    Num(f64),
    /// An instant, epoch milliseconds (`@timestamp`, `bin(..)`).
    Time(i64),
    /// A boolean (a comparison's result, or a JSON `true` / `false`).
    Bool(bool),
}

impl Value {
    /// The value as a number, when it reads as one.
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Time(t) => Some(*t as f64),
            Value::Str(s) => {
                let t = s.trim();
                if t.is_empty() {
                    return None;
                }
                t.parse::<f64>().ok().filter(|n| n.is_finite())
            }
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        }
    }

    /// Truthiness, for `filter`.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Num(n) => *n != 0.0,
            Value::Time(_) => true,
            Value::Str(s) => !s.is_empty(),
        }
    }

    /// The text results show.
    pub fn display(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Num(n) => format_num(*n),
            Value::Time(ms) => format_time(*ms),
            Value::Bool(b) => b.to_string(),
        }
    }
}

/// A number as results show it: whole numbers without a fraction.
pub fn format_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Epoch milliseconds as `YYYY-MM-DD HH:MM:SS.mmm` (UTC), the form of `@timestamp` in results.
pub fn format_time(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1_000 % 60,
        rem % 1_000
    )
}

/// (year, month, day) of a day number since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Equality and order for comparisons: numerically when both sides read as numbers, else as
/// text.
pub fn compare(a: &Value, b: &Value) -> Ordering {
    match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.display().cmp(&b.display()),
    }
}

/// `sort` order (ascending): absent values first, then text in natural order, then numbers.
pub fn sort_order(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => match (sort_num(a), sort_num(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => natural(&a.display(), &b.display()),
        },
    }
}

/// A value that is a number for sorting (numbers, times, text made only of a number).
fn sort_num(v: &Value) -> Option<f64> {
    match v {
        Value::Str(_) => v.as_num(),
        Value::Num(n) => Some(*n),
        Value::Time(t) => Some(*t as f64),
        Value::Bool(_) => None,
    }
}

/// Natural order of text: runs of digits compare by length, then value; other characters by
/// code point.
fn natural(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let run = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                    let mut s = String::new();
                    while let Some(c) = it.peek().copied().filter(char::is_ascii_digit) {
                        s.push(c);
                        it.next();
                    }
                    s
                };
                let (r, s) = (run(&mut x), run(&mut y));
                let ord = r.len().cmp(&s.len()).then_with(|| r.cmp(&s));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(&d);
                }
                x.next();
                y.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_insights_does() {
        assert_eq!(format_time(1_700_000_000_000), "2023-11-14 22:13:20.000");
        assert_eq!(format_time(0), "1970-01-01 00:00:00.000");
        assert_eq!(format_time(951_782_400_123), "2000-02-29 00:00:00.123");
    }

    #[test]
    fn numbers_print_whole_when_whole() {
        assert_eq!(format_num(3.0), "3");
        assert_eq!(format_num(2.5), "2.5");
        assert_eq!(format_num(-7.0), "-7");
    }

    #[test]
    fn comparison_is_numeric_when_both_sides_are_numbers() {
        let s = |t: &str| Value::Str(t.into());
        assert_eq!(compare(&s("10"), &Value::Num(9.0)), Ordering::Greater);
        assert_eq!(compare(&s("10"), &s("9")), Ordering::Greater);
        assert_eq!(compare(&s("b"), &s("a")), Ordering::Greater);
        assert_eq!(compare(&s("200"), &Value::Num(200.0)), Ordering::Equal);
    }

    #[test]
    fn sort_is_natural_with_numbers_last() {
        let mut v: Vec<Value> = ["a12", "a9", "0", "5A", "111A", "B", "10"]
            .iter()
            .map(|s| Value::Str((*s).into()))
            .collect();
        v.sort_by(|a, b| sort_order(Some(a), Some(b)));
        let out: Vec<String> = v.iter().map(Value::display).collect();
        assert_eq!(out, ["5A", "111A", "B", "a9", "a12", "0", "10"]);
    }
}
