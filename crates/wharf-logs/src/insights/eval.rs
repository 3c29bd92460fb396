//! Running a parsed [`Query`] over events: each event becomes a row of fields (`@timestamp`,
//! `@message`, `@logStream`, `@log`, `@ingestionTime`, `@ptr`, and the fields of a JSON
//! message, flattened with `.`), the commands up to the first `stats` / `sort` / `limit` /
//! `dedup` run event by event as events are fed (so non-matching events are never kept), a
//! leading `stats` aggregates as it goes, and the rest runs over the collected rows at
//! [`Run::finish`]. Pure: no I/O, no clock.

use super::parse::{Agg, AggFunc, BinOp, Command, Expr, Order, ParsePattern, Query, Stats};
use super::value::{compare, sort_order, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

/// Most fields discovered in one JSON message (as Logs Insights discovers at most 200).
const MAX_JSON_FIELDS: usize = 200;

/// One log event, as the query sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `@timestamp`, epoch milliseconds.
    pub timestamp: i64,
    /// `@ingestionTime`, epoch milliseconds.
    pub ingestion: i64,
    /// `@message`.
    pub message: String,
    /// `@logStream`.
    pub log_stream: String,
    /// `@log`: `<account>:<log group name>`.
    pub log: String,
    /// `@ptr`: the opaque reference to the event.
    pub ptr: String,
}

/// A result row: field name -> value, in the order fields appeared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    fields: Vec<(String, Value)>,
}

impl Row {
    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Sets `name` (replacing its value, or adding it last).
    pub fn set(&mut self, name: &str, value: Value) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((name.to_string(), value)),
        }
    }

    fn from_event(e: &Event) -> Self {
        let mut row = Row {
            fields: vec![
                ("@timestamp".into(), Value::Time(e.timestamp)),
                ("@message".into(), Value::Str(e.message.clone())),
                ("@logStream".into(), Value::Str(e.log_stream.clone())),
                ("@log".into(), Value::Str(e.log.clone())),
                ("@ingestionTime".into(), Value::Time(e.ingestion)),
                ("@ptr".into(), Value::Str(e.ptr.clone())),
            ],
        };
        let trimmed = e.message.trim_start();
        if trimmed.starts_with('{') {
            if let Ok(serde_json::Value::Object(map)) =
                serde_json::from_str::<serde_json::Value>(trimmed)
            {
                for (k, v) in &map {
                    flatten(&mut row, k, v);
                }
            }
        }
        row
    }
}

/// Adds the fields of JSON value `v` under `prefix` (`a.b` for objects, `a.0` for arrays).
fn flatten(row: &mut Row, prefix: &str, v: &serde_json::Value) {
    if row.fields.len() >= MAX_JSON_FIELDS + 6 {
        return;
    }
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(row, &format!("{prefix}.{k}"), v);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(row, &format!("{prefix}.{i}"), v);
            }
        }
        serde_json::Value::String(s) => row.set(prefix, Value::Str(s.clone())),
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                row.set(prefix, Value::Num(f));
            }
        }
        serde_json::Value::Bool(b) => row.set(prefix, Value::Bool(*b)),
        serde_json::Value::Null => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Expressions.

/// Evaluates `e` on `row`; `None` when it refers to an absent field (or cannot be computed).
pub fn eval(e: &Expr, row: &Row) -> Option<Value> {
    eval_with(e, row, &[])
}

fn eval_with(e: &Expr, row: &Row, aggs: &[Option<Value>]) -> Option<Value> {
    match e {
        Expr::Field(name) => row.get(name).cloned(),
        Expr::Str(s) => Some(Value::Str(s.clone())),
        Expr::Num(n) => Some(Value::Num(*n)),
        Expr::Period(ms) => Some(Value::Num(*ms as f64)),
        Expr::Regex(re) => Some(Value::Str(re.as_str().to_string())),
        Expr::List(_) => None,
        Expr::Agg(i) => aggs.get(*i).cloned().flatten(),
        Expr::Not(a) => Some(Value::Bool(
            !eval_with(a, row, aggs).is_some_and(|v| v.truthy()),
        )),
        Expr::Neg(a) => Some(Value::Num(-eval_with(a, row, aggs)?.as_num()?)),
        Expr::Bin(op, a, b) => bin(*op, a, b, row, aggs),
        Expr::Like {
            subject,
            pattern,
            negated,
        } => {
            let hit = eval_with(subject, row, aggs).is_some_and(|v| {
                let text = v.display();
                match pattern.as_ref() {
                    Expr::Regex(re) => re.is_match(&text),
                    Expr::Str(s) => text.contains(s.as_str()),
                    _ => false,
                }
            });
            Some(Value::Bool(hit != *negated))
        }
        Expr::In {
            subject,
            list,
            negated,
        } => {
            let hit = eval_with(subject, row, aggs).is_some_and(|v| {
                list.iter().any(|item| {
                    eval_with(item, row, aggs).is_some_and(|w| compare(&v, &w) == Ordering::Equal)
                })
            });
            Some(Value::Bool(hit != *negated))
        }
        Expr::Call(name, args) => call(name, args, row, aggs),
    }
}

fn bin(op: BinOp, a: &Expr, b: &Expr, row: &Row, aggs: &[Option<Value>]) -> Option<Value> {
    let truthy = |e: &Expr| eval_with(e, row, aggs).is_some_and(|v| v.truthy());
    match op {
        BinOp::And => return Some(Value::Bool(truthy(a) && truthy(b))),
        BinOp::Or => return Some(Value::Bool(truthy(a) || truthy(b))),
        _ => {}
    }
    let x = eval_with(a, row, aggs);
    let y = eval_with(b, row, aggs);
    let cmp = |want: fn(Ordering) -> bool| -> Option<Value> {
        // A comparison with an absent field is false (and `!=` too, as in Insights).
        let (x, y) = (x.as_ref()?, y.as_ref()?);
        Some(Value::Bool(want(compare(x, y))))
    };
    let result = match op {
        BinOp::Eq => cmp(|o| o == Ordering::Equal),
        BinOp::Ne => cmp(|o| o != Ordering::Equal),
        BinOp::Lt => cmp(|o| o == Ordering::Less),
        BinOp::Le => cmp(|o| o != Ordering::Greater),
        BinOp::Gt => cmp(|o| o == Ordering::Greater),
        BinOp::Ge => cmp(|o| o != Ordering::Less),
        _ => {
            let (p, q) = (x?.as_num()?, y?.as_num()?);
            let n = match op {
                BinOp::Add => p + q,
                BinOp::Sub => p - q,
                BinOp::Mul => p * q,
                BinOp::Div if q != 0.0 => p / q,
                BinOp::Rem if q != 0.0 => p % q,
                _ => return None,
            };
            return Some(Value::Num(n));
        }
    };
    Some(result.unwrap_or(Value::Bool(false)))
}

fn call(name: &str, args: &[Expr], row: &Row, aggs: &[Option<Value>]) -> Option<Value> {
    let arg = |i: usize| args.get(i).and_then(|a| eval_with(a, row, aggs));
    let text = |i: usize| arg(i).map(|v| v.display());
    let num = |i: usize| arg(i).and_then(|v| v.as_num());
    match name {
        "ispresent" => Some(Value::Bool(arg(0).is_some())),
        "isempty" => Some(Value::Bool(text(0).is_none_or(|s| s.is_empty()))),
        "isblank" => Some(Value::Bool(text(0).is_none_or(|s| s.trim().is_empty()))),
        "strlen" => Some(Value::Num(text(0)?.chars().count() as f64)),
        "tolower" => Some(Value::Str(text(0)?.to_lowercase())),
        "toupper" => Some(Value::Str(text(0)?.to_uppercase())),
        "concat" => Some(Value::Str(
            (0..args.len()).filter_map(text).collect::<String>(),
        )),
        "trim" | "ltrim" | "rtrim" => {
            let s = text(0)?;
            let set: Vec<char> = text(1).map_or_else(Vec::new, |t| t.chars().collect());
            let pred = |c: char| {
                if set.is_empty() {
                    c.is_whitespace()
                } else {
                    set.contains(&c)
                }
            };
            Some(Value::Str(match name {
                "ltrim" => s.trim_start_matches(pred).to_string(),
                "rtrim" => s.trim_end_matches(pred).to_string(),
                _ => s.trim_matches(pred).to_string(),
            }))
        }
        "strcontains" => Some(Value::Bool(text(0)?.contains(&text(1)?))),
        "substr" => {
            let s: Vec<char> = text(0)?.chars().collect();
            let start = (num(1)?.max(0.0) as usize).min(s.len());
            let end = match num(2) {
                Some(len) => start.saturating_add(len.max(0.0) as usize).min(s.len()),
                None => s.len(),
            };
            Some(Value::Str(s[start..end].iter().collect()))
        }
        "replace" => Some(Value::Str(text(0)?.replace(&text(1)?, &text(2)?))),
        "abs" => Some(Value::Num(num(0)?.abs())),
        "ceil" => Some(Value::Num(num(0)?.ceil())),
        "floor" => Some(Value::Num(num(0)?.floor())),
        "greatest" | "least" => {
            let vals: Vec<f64> = (0..args.len()).filter_map(num).collect();
            let pick = if name == "greatest" {
                vals.into_iter().reduce(f64::max)
            } else {
                vals.into_iter().reduce(f64::min)
            };
            pick.map(Value::Num)
        }
        "coalesce" => (0..args.len()).find_map(arg),
        "bin" => {
            // bin(period) bins @timestamp; bin(field, period) another time field.
            let (time, period) = if args.len() == 2 {
                (num(0)?, num(1)?)
            } else {
                (row.get("@timestamp")?.as_num()?, num(0)?)
            };
            floor_time(time as i64, period as i64)
        }
        "datefloor" => floor_time(num(0)? as i64, num(1)? as i64),
        "dateceil" => {
            let (t, p) = (num(0)? as i64, num(1)? as i64);
            let f = floor_time(t, p)?;
            match f {
                Value::Time(ft) if ft < t => Some(Value::Time(ft + p)),
                other => Some(other),
            }
        }
        "frommillis" => Some(Value::Time(num(0)? as i64)),
        "tomillis" => Some(Value::Num(num(0)?)),
        _ => None,
    }
}

fn floor_time(t: i64, period: i64) -> Option<Value> {
    (period > 0).then(|| Value::Time(t.div_euclid(period) * period))
}

// ---------------------------------------------------------------------------------------------
// Aggregation.

/// The running state of one aggregate over one group.
#[derive(Debug, Clone)]
enum Acc {
    Count(u64),
    Distinct(HashSet<String>),
    Sum(f64, bool),
    Avg(f64, u64),
    Min(Option<Value>),
    Max(Option<Value>),
    /// (timestamp, value) of the earliest or latest event.
    Edge(Option<(i64, Value)>),
    Values(Vec<f64>),
}

impl Acc {
    fn new(func: AggFunc) -> Self {
        match func {
            AggFunc::Count => Acc::Count(0),
            AggFunc::CountDistinct => Acc::Distinct(HashSet::new()),
            AggFunc::Sum => Acc::Sum(0.0, false),
            AggFunc::Avg => Acc::Avg(0.0, 0),
            AggFunc::Min => Acc::Min(None),
            AggFunc::Max => Acc::Max(None),
            AggFunc::Earliest | AggFunc::Latest => Acc::Edge(None),
            AggFunc::Pct | AggFunc::Stddev => Acc::Values(Vec::new()),
        }
    }

    fn add(&mut self, agg: &Agg, row: &Row) {
        let value = agg.arg.as_ref().map(|a| eval(a, row));
        if let Acc::Count(n) = self {
            // count(*) counts every row; count(f) the rows where f is present.
            if value.as_ref().is_none_or(Option::is_some) {
                *n += 1;
            }
            return;
        }
        let Some(Some(v)) = value else { return };
        match self {
            Acc::Count(_) => {}
            Acc::Distinct(set) => {
                set.insert(v.display());
            }
            Acc::Sum(s, any) => {
                if let Some(n) = v.as_num() {
                    *s += n;
                    *any = true;
                }
            }
            Acc::Avg(s, c) => {
                if let Some(n) = v.as_num() {
                    *s += n;
                    *c += 1;
                }
            }
            Acc::Min(cur) => {
                if cur
                    .as_ref()
                    .is_none_or(|c| compare(&v, c) == Ordering::Less)
                {
                    *cur = Some(v);
                }
            }
            Acc::Max(cur) => {
                if cur
                    .as_ref()
                    .is_none_or(|c| compare(&v, c) == Ordering::Greater)
                {
                    *cur = Some(v);
                }
            }
            Acc::Edge(cur) => {
                let ts = row
                    .get("@timestamp")
                    .and_then(Value::as_num)
                    .map_or(0, |t| t as i64);
                let replace = match cur {
                    None => true,
                    Some((t, _)) if agg.func == AggFunc::Earliest => ts < *t,
                    Some((t, _)) => ts >= *t,
                };
                if replace {
                    *cur = Some((ts, v));
                }
            }
            Acc::Values(vals) => {
                if let Some(n) = v.as_num() {
                    vals.push(n);
                }
            }
        }
    }

    fn result(&self, agg: &Agg) -> Option<Value> {
        match self {
            Acc::Count(n) => Some(Value::Num(*n as f64)),
            Acc::Distinct(set) => Some(Value::Num(set.len() as f64)),
            Acc::Sum(s, any) => any.then_some(Value::Num(*s)),
            Acc::Avg(s, c) => (*c > 0).then(|| Value::Num(*s / *c as f64)),
            Acc::Min(v) | Acc::Max(v) => v.clone(),
            Acc::Edge(v) => v.as_ref().map(|(_, v)| v.clone()),
            Acc::Values(vals) if vals.is_empty() => None,
            Acc::Values(vals) if agg.func == AggFunc::Pct => {
                let mut sorted = vals.clone();
                sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
                let rank = (agg.pct / 100.0 * sorted.len() as f64).ceil() as usize;
                Some(Value::Num(sorted[rank.clamp(1, sorted.len()) - 1]))
            }
            Acc::Values(vals) => {
                let n = vals.len() as f64;
                let mean = vals.iter().sum::<f64>() / n;
                let var = vals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
                Some(Value::Num(var.sqrt()))
            }
        }
    }
}

/// A `stats` command in progress: one set of accumulators per group.
#[derive(Debug, Clone)]
struct Aggregator {
    stats: Stats,
    /// Group key (the `by` values, ordered as `sort` orders) -> that group.
    groups: BTreeMap<Vec<SortKey>, Group>,
}

/// One group of a `stats`: its `by` values and the accumulators of its aggregates.
type Group = (Vec<Option<Value>>, Vec<Acc>);

/// A `by` value as a map key that orders as `sort` does.
#[derive(Debug, Clone, PartialEq)]
struct SortKey(Option<Value>);

impl Eq for SortKey {}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        sort_order(self.0.as_ref(), other.0.as_ref())
            .then_with(|| format!("{:?}", self.0).cmp(&format!("{:?}", other.0)))
    }
}

impl Aggregator {
    fn new(stats: &Stats) -> Self {
        Self {
            stats: stats.clone(),
            groups: BTreeMap::new(),
        }
    }

    fn add(&mut self, row: &Row) {
        let values: Vec<Option<Value>> = self.stats.by.iter().map(|b| eval(&b.expr, row)).collect();
        let key: Vec<SortKey> = values.iter().cloned().map(SortKey).collect();
        let aggs = &self.stats.aggs;
        let (_, accs) = self
            .groups
            .entry(key)
            .or_insert_with(|| (values, aggs.iter().map(|a| Acc::new(a.func)).collect()));
        for (acc, agg) in accs.iter_mut().zip(aggs) {
            acc.add(agg, row);
        }
    }

    /// One row per group, in `by` order; a `stats` without `by` over no rows still answers
    /// its one row (`count(*)` = 0).
    fn finish(mut self) -> Vec<Row> {
        if self.stats.by.is_empty() && self.groups.is_empty() {
            let accs = self.stats.aggs.iter().map(|a| Acc::new(a.func)).collect();
            self.groups.insert(Vec::new(), (Vec::new(), accs));
        }
        let stats = &self.stats;
        self.groups
            .into_values()
            .map(|(by_values, accs)| {
                let results: Vec<Option<Value>> = accs
                    .iter()
                    .zip(&stats.aggs)
                    .map(|(acc, agg)| acc.result(agg))
                    .collect();
                let mut row = Row::default();
                for (b, v) in stats.by.iter().zip(by_values) {
                    if let Some(v) = v {
                        row.set(&b.name, v);
                    }
                }
                for out in &stats.outputs {
                    if let Some(v) = eval_with(&out.expr, &Row::default(), &results) {
                        row.set(&out.name, v);
                    }
                }
                row
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The pipeline.

/// What a query answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The rows, each a list of (field, value as text), `@ptr` last for event rows.
    pub rows: Vec<Vec<(String, String)>>,
    /// Events that passed the commands before the first `stats` / `sort` / `limit` /
    /// `dedup` (`recordsMatched`).
    pub matched: u64,
    /// Events read (`recordsScanned`).
    pub scanned: u64,
    /// Bytes of the messages read (`bytesScanned`).
    pub bytes: u64,
}

/// A query being run: feed it events in time order, then [`Run::finish`].
pub struct Run<'q> {
    query: &'q Query,
    /// Index of the first command that needs every row (`stats`, `sort`, `limit`, `dedup`).
    barrier: usize,
    rows: Vec<Row>,
    agg: Option<Aggregator>,
    matched: u64,
    scanned: u64,
    bytes: u64,
}

impl<'q> Run<'q> {
    /// Starts running `query`.
    pub fn new(query: &'q Query) -> Self {
        let barrier = query
            .commands
            .iter()
            .position(|c| {
                matches!(
                    c,
                    Command::Stats(_) | Command::Sort(_) | Command::Limit(_) | Command::Dedup(_)
                )
            })
            .unwrap_or(query.commands.len());
        let agg = match query.commands.get(barrier) {
            Some(Command::Stats(s)) => Some(Aggregator::new(s)),
            _ => None,
        };
        Self {
            query,
            barrier,
            rows: Vec::new(),
            agg,
            matched: 0,
            scanned: 0,
            bytes: 0,
        }
    }

    /// Runs the streaming part of the query on one event.
    pub fn feed(&mut self, event: &Event) {
        self.scanned += 1;
        self.bytes += event.message.len() as u64;
        let mut row = Row::from_event(event);
        for c in &self.query.commands[..self.barrier] {
            if !apply_row(c, &mut row) {
                return;
            }
        }
        self.matched += 1;
        match &mut self.agg {
            Some(a) => a.add(&row),
            None => self.rows.push(row),
        }
    }

    /// Runs the rest of the query and renders at most `cap` rows.
    pub fn finish(self, cap: usize) -> Outcome {
        let mut rows = self.rows;
        let mut rest = self.barrier;
        if let Some(a) = self.agg {
            rows = a.finish();
            rest += 1;
        }
        for c in &self.query.commands[rest..] {
            rows = apply_all(c, rows);
        }
        rows.truncate(cap);
        let (projection, aggregated) = projection(self.query);
        Outcome {
            rows: rows
                .iter()
                .map(|r| render(r, projection.as_deref(), aggregated))
                .collect(),
            matched: self.matched,
            scanned: self.scanned,
            bytes: self.bytes,
        }
    }
}

/// Applies a row-wise command; false when the row is dropped.
fn apply_row(c: &Command, row: &mut Row) -> bool {
    match c {
        Command::Fields(list) => {
            for n in list {
                if let Some(v) = eval(&n.expr, row) {
                    row.set(&n.name, v);
                }
            }
            true
        }
        Command::Filter(e) => eval(e, row).is_some_and(|v| v.truthy()),
        Command::Parse(p) => {
            if let Some(text) = row.get(&p.field).map(Value::display) {
                let (re, names) = match &p.pattern {
                    ParsePattern::Glob(re, names) | ParsePattern::Regex(re, names) => (re, names),
                };
                if let Some(caps) = re.captures(&text) {
                    for (i, name) in names.iter().enumerate() {
                        let m = match &p.pattern {
                            ParsePattern::Glob(..) => caps.get(i + 1),
                            ParsePattern::Regex(..) => caps.name(name),
                        };
                        if let Some(m) = m {
                            row.set(name, Value::Str(m.as_str().to_string()));
                        }
                    }
                }
            }
            true
        }
        Command::Display(_)
        | Command::Stats(_)
        | Command::Sort(_)
        | Command::Limit(_)
        | Command::Dedup(_) => true,
    }
}

/// Applies any command to every row.
fn apply_all(c: &Command, mut rows: Vec<Row>) -> Vec<Row> {
    match c {
        Command::Stats(s) => {
            let mut a = Aggregator::new(s);
            for r in &rows {
                a.add(r);
            }
            a.finish()
        }
        Command::Sort(keys) => {
            let mut keyed: Vec<(Vec<Option<Value>>, Row)> = rows
                .into_iter()
                .map(|r| (keys.iter().map(|(e, _)| eval(e, &r)).collect(), r))
                .collect();
            keyed.sort_by(|(a, _), (b, _)| {
                for ((x, y), (_, order)) in a.iter().zip(b).zip(keys) {
                    let o = sort_order(x.as_ref(), y.as_ref());
                    let o = if *order == Order::Desc {
                        o.reverse()
                    } else {
                        o
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
            keyed.into_iter().map(|(_, r)| r).collect()
        }
        Command::Limit(n) => {
            rows.truncate(*n);
            rows
        }
        Command::Dedup(fields) => {
            let mut seen = HashSet::new();
            rows.retain(|r| {
                let vals: Option<Vec<String>> = fields
                    .iter()
                    .map(|f| r.get(f).map(|v| format!("{v:?}")))
                    .collect();
                // Rows with an absent dedup field are never duplicates.
                vals.is_none_or(|v| seen.insert(v))
            });
            rows
        }
        _ => {
            rows.retain_mut(|r| apply_row(c, r));
            rows
        }
    }
}

/// The fields results show (`None`: every field of the row) and whether rows are aggregates
/// (then they carry no `@ptr`).
fn projection(q: &Query) -> (Option<Vec<String>>, bool) {
    let mut shown: Option<Vec<String>> = None;
    let mut aggregated = false;
    let add = |shown: &mut Option<Vec<String>>, name: &str| {
        let list = shown.get_or_insert_with(Vec::new);
        if !list.iter().any(|n| n == name) {
            list.push(name.to_string());
        }
    };
    for c in &q.commands {
        match c {
            Command::Fields(list) => {
                for n in list {
                    add(&mut shown, &n.name);
                }
            }
            Command::Parse(p) if shown.is_some() => {
                let names = match &p.pattern {
                    ParsePattern::Glob(_, n) | ParsePattern::Regex(_, n) => n,
                };
                for n in names {
                    add(&mut shown, n);
                }
            }
            Command::Display(list) => shown = Some(list.clone()),
            Command::Stats(s) => {
                aggregated = true;
                shown = Some(
                    s.by.iter()
                        .chain(&s.outputs)
                        .map(|n| n.name.clone())
                        .collect(),
                );
            }
            _ => {}
        }
    }
    (shown, aggregated)
}

fn render(row: &Row, shown: Option<&[String]>, aggregated: bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = match shown {
        Some(names) => names
            .iter()
            .filter_map(|n| row.get(n).map(|v| (n.clone(), v.display())))
            .collect(),
        None => row
            .fields
            .iter()
            .filter(|(n, _)| n != "@ptr" && n != "@ingestionTime")
            .map(|(n, v)| (n.clone(), v.display()))
            .collect(),
    };
    if !aggregated && !out.iter().any(|(n, _)| n == "@ptr") {
        if let Some(p) = row.get("@ptr") {
            out.push(("@ptr".into(), p.display()));
        }
    }
    out
}
