//! AWS's alarm evaluation, pure: given an alarm's rule, its current state and the data points
//! of its evaluation range (one per period, as the metric store aggregates them), the state it
//! goes to, with the state reason and `StateReasonData` worded as CloudWatch words them.
//!
//! The rules copied from AWS ("How CloudWatch alarms evaluate missing data"):
//! - CloudWatch looks at an *evaluation range* longer than `EvaluationPeriods` (wharf: two
//!   periods more). When it holds at least `EvaluationPeriods` real data points, the newest
//!   `EvaluationPeriods` of them are evaluated and `TreatMissingData` plays no part.
//! - Otherwise the real points are all evaluated and the missing ones are filled in as
//!   `TreatMissingData` says, as few as needed: `breaching` / `notBreaching` count them as
//!   such; `missing` judges on the real points alone (no real point at all: INSUFFICIENT_DATA);
//!   `ignore` changes the state only when the real points alone decide it (none: the state
//!   is kept).
//! - M out of N: ALARM when at least `DatapointsToAlarm` (M) of the `EvaluationPeriods` (N)
//!   points breach; otherwise OK, which takes N - M + 1 points that do not breach.

use serde::Serialize;
use wharf_core::Timestamp;

/// An alarm state (`StateValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    /// `OK`.
    Ok,
    /// `ALARM`.
    Alarm,
    /// `INSUFFICIENT_DATA`.
    InsufficientData,
}

impl AlarmState {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// From the wire value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "OK" => Some(AlarmState::Ok),
            "ALARM" => Some(AlarmState::Alarm),
            "INSUFFICIENT_DATA" => Some(AlarmState::InsufficientData),
            _ => None,
        }
    }
}

/// A static-threshold `ComparisonOperator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `GreaterThanOrEqualToThreshold`.
    GreaterOrEqual,
    /// `GreaterThanThreshold`.
    Greater,
    /// `LessThanThreshold`.
    Less,
    /// `LessThanOrEqualToThreshold`.
    LessOrEqual,
}

impl Comparison {
    /// The static-threshold operators; `None` for anomaly-band operators and unknown text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "GreaterThanOrEqualToThreshold" => Some(Comparison::GreaterOrEqual),
            "GreaterThanThreshold" => Some(Comparison::Greater),
            "LessThanThreshold" => Some(Comparison::Less),
            "LessThanOrEqualToThreshold" => Some(Comparison::LessOrEqual),
            _ => None,
        }
    }

    /// Whether `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterOrEqual => value >= threshold,
            Comparison::Greater => value > threshold,
            Comparison::Less => value < threshold,
            Comparison::LessOrEqual => value <= threshold,
        }
    }

    /// How AWS's state reasons name the comparison.
    fn words(self) -> &'static str {
        match self {
            Comparison::GreaterOrEqual => "greater than or equal to",
            Comparison::Greater => "greater than",
            Comparison::Less => "less than",
            Comparison::LessOrEqual => "less than or equal to",
        }
    }
}

/// `TreatMissingData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingData {
    /// `missing` (the default).
    Missing,
    /// `ignore`.
    Ignore,
    /// `breaching`.
    Breaching,
    /// `notBreaching`.
    NotBreaching,
}

impl MissingData {
    /// From the wire value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "missing" => Some(MissingData::Missing),
            "ignore" => Some(MissingData::Ignore),
            "breaching" => Some(MissingData::Breaching),
            "notBreaching" => Some(MissingData::NotBreaching),
            _ => None,
        }
    }
}

/// What the evaluation needs of an alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `EvaluationPeriods` (N).
    pub evaluation_periods: usize,
    /// `DatapointsToAlarm` (M), at most N.
    pub datapoints_to_alarm: usize,
    /// `Threshold`.
    pub threshold: f64,
    /// `ComparisonOperator`.
    pub comparison: Comparison,
    /// `TreatMissingData`.
    pub missing: MissingData,
    /// `Period`, in AWS seconds (as `StateReasonData` reports it).
    pub period_seconds: i32,
    /// `("statistic", "Average")` or `("extendedStatistic", "p99")`; none for metric math.
    pub statistic: Option<(&'static str, String)>,
    /// `Unit`, when the alarm names one.
    pub unit: Option<String>,
}

impl Rule {
    /// How many periods the evaluation range spans: N, plus two to look further back when
    /// points are missing.
    pub fn evaluation_range(&self) -> usize {
        self.evaluation_periods + 2
    }
}

/// One period's data point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The start of the period.
    pub timestamp: Timestamp,
    /// The statistic's value.
    pub value: f64,
    /// How many samples the value stands for, when known.
    pub sample_count: Option<f64>,
}

/// The periods an evaluation at `now` looks at: `range` whole periods of `period_millis`
/// ending at the start of the period `now` is in (a period still filling is not judged).
pub fn window(now: Timestamp, period_millis: i64, range: usize) -> (Timestamp, Timestamp) {
    let period = period_millis.max(1);
    let end = now.millis.div_euclid(period) * period;
    let span = period.saturating_mul(i64::try_from(range).unwrap_or(i64::MAX));
    (
        Timestamp::from_millis(end.saturating_sub(span)),
        Timestamp::from_millis(end),
    )
}

/// Whether a percentile alarm with `EvaluateLowSampleCountPercentile=ignore` keeps its state:
/// some real point of the range stands for too few samples to be statistically significant
/// (fewer than `10 / (1 - p)`: 1000 for p99, 20 for p50). Points of unknown sample count pass.
pub fn too_few_samples(percentile: &str, points: &[Point]) -> bool {
    let Some(p) = percentile
        .strip_prefix('p')
        .and_then(|v| v.parse::<f64>().ok())
    else {
        return false;
    };
    if p >= 100.0 {
        return false;
    }
    let needed = 10.0 / (1.0 - p / 100.0);
    points
        .iter()
        .any(|pt| pt.sample_count.is_some_and(|c| c < needed))
}

/// The state an evaluation decided, with AWS's wording.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The state.
    pub state: AlarmState,
    /// `StateReason`.
    pub reason: String,
    /// `StateReasonData` (JSON text).
    pub reason_data: String,
    /// The newest real value evaluated (what a step-scaling policy steps on).
    pub newest_value: Option<f64>,
}

/// One of the N evaluated periods: a real point, or a missing one filled in.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Real(Point),
    Filled(Timestamp),
}

/// Evaluates `rule` over `points` (the data of the evaluation range `[start, end)`, one per
/// period at most, in any order) at `query_date`. `None`: the state is kept (`ignore`
/// without enough real data to decide).
pub fn evaluate(
    rule: &Rule,
    points: &[Point],
    start: Timestamp,
    end: Timestamp,
    period_millis: i64,
    query_date: Timestamp,
) -> Option<Outcome> {
    let n = rule.evaluation_periods.max(1);
    let m = rule.datapoints_to_alarm.clamp(1, n);
    let mut real: Vec<Point> = points
        .iter()
        .filter(|p| p.timestamp >= start && p.timestamp < end)
        .copied()
        .collect();
    real.sort_by_key(|p| std::cmp::Reverse(p.timestamp));
    real.truncate(n);
    let breaching_real = real
        .iter()
        .filter(|p| rule.comparison.breaches(p.value, rule.threshold))
        .count();
    let fill = n - real.len();
    let filled = missing_periods(&real, start, end, period_millis, fill);
    let newest_value = real.first().map(|p| p.value);
    let data = |slots: &[Slot]| reason_data(rule, slots, start, query_date);

    if real.is_empty() {
        let state = match rule.missing {
            MissingData::Missing => AlarmState::InsufficientData,
            MissingData::Ignore => return None,
            MissingData::Breaching => AlarmState::Alarm,
            MissingData::NotBreaching => AlarmState::Ok,
        };
        let slots: Vec<Slot> = filled.iter().map(|t| Slot::Filled(*t)).collect();
        let reason = match state {
            AlarmState::InsufficientData => format!(
                "Insufficient Data: {} {} unknown.",
                count(n, "datapoint"),
                were(n)
            ),
            _ => format!(
                "Threshold Crossed: no datapoints were received for {} and {} missing {} {} treated as [{}].",
                count(n, "period"),
                n,
                plural(n, "datapoint"),
                were(n),
                if state == AlarmState::Alarm { "Breaching" } else { "NonBreaching" }
            ),
        };
        let reason_data = if state == AlarmState::InsufficientData {
            data(&[])
        } else {
            data(&slots)
        };
        return Some(Outcome {
            state,
            reason,
            reason_data,
            newest_value,
        });
    }

    let ok_real = real.len() - breaching_real;
    let state = if fill == 0 {
        decide(breaching_real >= m)
    } else {
        match rule.missing {
            MissingData::Breaching => decide(breaching_real + fill >= m),
            MissingData::NotBreaching => decide(breaching_real >= m),
            MissingData::Missing => decide(breaching_real >= m.min(real.len())),
            MissingData::Ignore if breaching_real >= m => AlarmState::Alarm,
            MissingData::Ignore if ok_real > n - m => AlarmState::Ok,
            MissingData::Ignore => return None,
        }
    };
    let mut slots: Vec<Slot> = real.iter().map(|p| Slot::Real(*p)).collect();
    if matches!(
        rule.missing,
        MissingData::Breaching | MissingData::NotBreaching
    ) {
        slots.extend(filled.iter().map(|t| Slot::Filled(*t)));
    }
    slots.sort_by_key(|s| std::cmp::Reverse(slot_time(s)));
    let reason = threshold_reason(rule, state, &real, fill, n, m);
    Some(Outcome {
        state,
        reason,
        reason_data: data(&slots),
        newest_value,
    })
}

fn decide(alarm: bool) -> AlarmState {
    if alarm {
        AlarmState::Alarm
    } else {
        AlarmState::Ok
    }
}

fn slot_time(slot: &Slot) -> Timestamp {
    match slot {
        Slot::Real(p) => p.timestamp,
        Slot::Filled(t) => *t,
    }
}

/// The newest `fill` period starts of `[start, end)` that have no real point.
fn missing_periods(
    real: &[Point],
    start: Timestamp,
    end: Timestamp,
    period_millis: i64,
    fill: usize,
) -> Vec<Timestamp> {
    let period = period_millis.max(1);
    let mut out = Vec::new();
    let mut at = end.millis - period;
    while out.len() < fill && at >= start.millis {
        if !real.iter().any(|p| p.timestamp.millis == at) {
            out.push(Timestamp::from_millis(at));
        }
        at -= period;
    }
    out
}

/// "Threshold Crossed: ..." for a state decided with real points.
fn threshold_reason(
    rule: &Rule,
    state: AlarmState,
    real: &[Point],
    fill: usize,
    n: usize,
    m: usize,
) -> String {
    let to_alarm = state == AlarmState::Alarm;
    let listed: Vec<&Point> = real
        .iter()
        .filter(|p| rule.comparison.breaches(p.value, rule.threshold) == to_alarm)
        .collect();
    let filled_counted = match rule.missing {
        MissingData::Breaching if to_alarm => fill,
        MissingData::NotBreaching if !to_alarm => fill,
        _ => 0,
    };
    let k = listed.len() + filled_counted;
    let list = listed
        .iter()
        .map(|p| format!("{} ({})", java_double(p.value), reason_time(p.timestamp)))
        .collect::<Vec<_>>()
        .join(", ");
    let not = if to_alarm { "" } else { "not " };
    let comparison = rule.comparison.words();
    let threshold = java_double(rule.threshold);
    if n == 1 {
        return format!(
            "Threshold Crossed: 1 datapoint [{list}] was {not}{comparison} the threshold ({threshold})."
        );
    }
    // `missing` and `ignore` judge on the real points alone: the reason counts those.
    let judged_on_real =
        fill > 0 && matches!(rule.missing, MissingData::Missing | MissingData::Ignore);
    let (last, m) = if judged_on_real && rule.missing == MissingData::Missing {
        (real.len(), m.min(real.len()))
    } else if judged_on_real {
        (real.len(), m)
    } else {
        (n, m)
    };
    let (minimum, transition) = if to_alarm {
        (m, "OK -> ALARM")
    } else {
        (last.saturating_sub(m) + 1, "ALARM -> OK")
    };
    let mut reason = format!(
        "Threshold Crossed: {k} out of the last {last} {} [{list}] {} {not}{comparison} the threshold ({threshold}) (minimum {} for {transition} transition)",
        plural(last, "datapoint"),
        were(k),
        count(minimum, "datapoint"),
    );
    if filled_counted > 0 {
        reason.push_str(&format!(
            " ({} missing {} {} treated as [{}])",
            filled_counted,
            plural(filled_counted, "datapoint"),
            were(filled_counted),
            if to_alarm {
                "Breaching"
            } else {
                "NonBreaching"
            }
        ));
    }
    reason.push('.');
    reason
}

/// `StateReasonData` as CloudWatch writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReasonData {
    version: &'static str,
    query_date: String,
    start_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    statistic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extended_statistic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    period: i32,
    recent_datapoints: Vec<f64>,
    threshold: f64,
    evaluated_datapoints: Vec<EvaluatedPoint>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EvaluatedPoint {
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample_count: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
}

fn reason_data(rule: &Rule, slots: &[Slot], start: Timestamp, query_date: Timestamp) -> String {
    let (statistic, extended_statistic) = match &rule.statistic {
        Some(("extendedStatistic", s)) => (None, Some(s.clone())),
        Some((_, s)) => (Some(s.clone()), None),
        None => (None, None),
    };
    let mut recent: Vec<(Timestamp, f64)> = slots
        .iter()
        .filter_map(|s| match s {
            Slot::Real(p) => Some((p.timestamp, p.value)),
            Slot::Filled(_) => None,
        })
        .collect();
    recent.sort_by_key(|(t, _)| *t);
    let data = ReasonData {
        version: "1.0",
        query_date: reason_data_time(query_date),
        start_date: reason_data_time(start),
        statistic,
        extended_statistic,
        unit: rule.unit.clone(),
        period: rule.period_seconds,
        recent_datapoints: recent.into_iter().map(|(_, v)| v).collect(),
        threshold: rule.threshold,
        evaluated_datapoints: slots
            .iter()
            .map(|s| match s {
                Slot::Real(p) => EvaluatedPoint {
                    timestamp: reason_data_time(p.timestamp),
                    sample_count: p.sample_count,
                    value: Some(p.value),
                },
                Slot::Filled(t) => EvaluatedPoint {
                    timestamp: reason_data_time(*t),
                    sample_count: None,
                    value: None,
                },
            })
            .collect(),
    };
    serde_json::to_string(&data).unwrap_or_else(|_| "{}".into())
}

/// `2026-12-07T16:40:00.000+0000`, the form of `StateReasonData` and history data.
pub fn reason_data_time(t: Timestamp) -> String {
    let iso = t.to_iso8601();
    match iso.strip_suffix('Z') {
        Some(base) => format!("{base}+0000"),
        None => iso,
    }
}

/// `07/12/26 16:40:00` (day/month/year), the form of a state reason's data points.
fn reason_time(t: Timestamp) -> String {
    // "YYYY-MM-DDTHH:MM:SS.mmmZ"
    let iso = t.to_iso8601();
    match (
        iso.get(2..4),
        iso.get(5..7),
        iso.get(8..10),
        iso.get(11..19),
    ) {
        (Some(y), Some(mo), Some(d), Some(time)) => format!("{d}/{mo}/{y} {time}"),
        _ => iso,
    }
}

/// A double as Java prints it (CloudWatch's wording): `75.0`, `81.2`, `1.0E7`.
pub fn java_double(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let magnitude = v.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = format!("{v}");
        return if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        };
    }
    let text = format!("{v:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text.as_str(), "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

fn count(n: usize, word: &str) -> String {
    format!("{n} {}", plural(n, word))
}

fn were(n: usize) -> &'static str {
    if n == 1 {
        "was"
    } else {
        "were"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07T16:40:00Z, a period boundary.
    const T0: i64 = 1_796_661_600_000;
    const MINUTE: i64 = 60_000;

    fn rule(n: usize, m: usize, comparison: Comparison, missing: MissingData) -> Rule {
        Rule {
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold: 75.0,
            comparison,
            missing,
            period_seconds: 60,
            statistic: Some(("statistic", "Average".into())),
            unit: None,
        }
    }

    /// Evaluates `values` laid out oldest to newest over the evaluation range ending at T0
    /// (`None` = no data in that period).
    fn run(rule: &Rule, values: &[Option<f64>]) -> Option<Outcome> {
        let range = rule.evaluation_range();
        assert_eq!(values.len(), range, "one value per period of the range");
        let (start, end) = window(Timestamp::from_millis(T0 + 5_000), MINUTE, range);
        assert_eq!(end.millis, T0);
        let points: Vec<Point> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.map(|value| Point {
                    timestamp: Timestamp::from_millis(start.millis + i as i64 * MINUTE),
                    value,
                    sample_count: Some(1.0),
                })
            })
            .collect();
        evaluate(
            rule,
            &points,
            start,
            end,
            MINUTE,
            Timestamp::from_millis(T0 + 5_000),
        )
    }

    fn state(o: Option<Outcome>) -> Option<AlarmState> {
        o.map(|o| o.state)
    }

    const X: Option<f64> = Some(90.0); // breaching (> 75)
    const O: Option<f64> = Some(10.0); // not breaching
    const NO: Option<f64> = None;

    #[test]
    fn window_ends_at_the_start_of_the_current_period() {
        let (s, e) = window(Timestamp::from_millis(T0 + 59_999), MINUTE, 5);
        assert_eq!((s.millis, e.millis), (T0 - 5 * MINUTE, T0));
        let (s, e) = window(Timestamp::from_millis(T0), 3_000, 3);
        assert_eq!((s.millis, e.millis), (T0 - 9_000, T0));
    }

    #[test]
    fn m_out_of_n_with_full_data() {
        let three_of_three = rule(3, 3, Comparison::Greater, MissingData::Missing);
        assert_eq!(
            state(run(&three_of_three, &[O, O, X, X, X])),
            Some(AlarmState::Alarm)
        );
        assert_eq!(
            state(run(&three_of_three, &[X, X, X, O, X])),
            Some(AlarmState::Ok)
        );
        let two_of_three = rule(3, 2, Comparison::Greater, MissingData::Missing);
        assert_eq!(
            state(run(&two_of_three, &[O, O, X, O, X])),
            Some(AlarmState::Alarm)
        );
        assert_eq!(
            state(run(&two_of_three, &[X, X, X, O, O])),
            Some(AlarmState::Ok)
        );
        let one_of_five = rule(5, 1, Comparison::Greater, MissingData::Missing);
        assert_eq!(
            state(run(&one_of_five, &[O, O, O, O, O, X, O])),
            Some(AlarmState::Alarm)
        );
        // Older than the newest N real points: not evaluated.
        assert_eq!(
            state(run(&one_of_five, &[X, O, O, O, O, O, O])),
            Some(AlarmState::Ok)
        );
    }

    #[test]
    fn every_comparison_operator() {
        let at = |c: Comparison, v: f64| {
            let r = rule(1, 1, c, MissingData::Missing);
            state(run(&r, &[NO, NO, Some(v)]))
        };
        use AlarmState::{Alarm, Ok as Fine};
        assert_eq!(at(Comparison::GreaterOrEqual, 75.0), Some(Alarm));
        assert_eq!(at(Comparison::GreaterOrEqual, 74.9), Some(Fine));
        assert_eq!(at(Comparison::Greater, 75.0), Some(Fine));
        assert_eq!(at(Comparison::Greater, 75.1), Some(Alarm));
        assert_eq!(at(Comparison::Less, 75.0), Some(Fine));
        assert_eq!(at(Comparison::Less, 74.9), Some(Alarm));
        assert_eq!(at(Comparison::LessOrEqual, 75.0), Some(Alarm));
        assert_eq!(at(Comparison::LessOrEqual, 75.1), Some(Fine));
        assert_eq!(
            Comparison::parse("LessThanLowerOrGreaterThanUpperThreshold"),
            None
        );
    }

    /// AWS's table for a 3-of-3 alarm ("How CloudWatch alarms evaluate missing data"): the
    /// evaluation range is five periods, oldest first.
    #[test]
    fn missing_data_table_of_aws() {
        type Row<'a> = (&'a [Option<f64>; 5], [Option<AlarmState>; 4]);
        let cases: [Row; 5] = [
            (&[O, NO, X, NO, X], [Some(AlarmState::Ok); 4]),
            (&[NO, NO, NO, NO, O], [Some(AlarmState::Ok); 4]),
            (
                &[NO, NO, NO, NO, NO],
                [
                    Some(AlarmState::InsufficientData),
                    None,
                    Some(AlarmState::Alarm),
                    Some(AlarmState::Ok),
                ],
            ),
            (&[O, X, X, NO, X], [Some(AlarmState::Alarm); 4]),
            (
                &[NO, NO, X, NO, NO],
                [
                    Some(AlarmState::Alarm),
                    None,
                    Some(AlarmState::Alarm),
                    Some(AlarmState::Ok),
                ],
            ),
        ];
        let treatments = [
            MissingData::Missing,
            MissingData::Ignore,
            MissingData::Breaching,
            MissingData::NotBreaching,
        ];
        for (values, expected) in cases {
            for (missing, want) in treatments.iter().zip(expected) {
                let r = rule(3, 3, Comparison::Greater, *missing);
                assert_eq!(state(run(&r, values)), want, "{values:?} with {missing:?}");
            }
        }
    }

    #[test]
    fn ignore_keeps_the_state_unless_real_points_decide() {
        // 2 of 3: one real breaching point cannot make ALARM, nor can it make OK.
        let r = rule(3, 2, Comparison::Greater, MissingData::Ignore);
        assert_eq!(state(run(&r, &[NO, NO, NO, NO, X])), None);
        assert_eq!(state(run(&r, &[NO, NO, NO, X, X])), Some(AlarmState::Alarm));
        // Two points that do not breach make ALARM impossible: OK.
        assert_eq!(state(run(&r, &[NO, NO, NO, O, O])), Some(AlarmState::Ok));
    }

    #[test]
    fn alarm_reason_is_worded_like_aws() {
        let r = rule(3, 3, Comparison::Greater, MissingData::Missing);
        let out = run(&r, &[O, O, Some(81.2), Some(80.0), Some(90.5)]).unwrap();
        assert_eq!(out.state, AlarmState::Alarm);
        assert_eq!(
            out.reason,
            "Threshold Crossed: 3 out of the last 3 datapoints [90.5 (07/12/26 16:39:00), \
             80.0 (07/12/26 16:38:00), 81.2 (07/12/26 16:37:00)] were greater than the threshold \
             (75.0) (minimum 3 datapoints for OK -> ALARM transition)."
        );
        assert_eq!(out.newest_value, Some(90.5));
        let data: serde_json::Value = serde_json::from_str(&out.reason_data).unwrap();
        assert_eq!(data["version"], "1.0");
        assert_eq!(data["queryDate"], "2026-12-07T16:40:05.000+0000");
        assert_eq!(data["startDate"], "2026-12-07T16:35:00.000+0000");
        assert_eq!(data["statistic"], "Average");
        assert_eq!(data["period"], 60);
        assert_eq!(data["threshold"], 75.0);
        assert_eq!(
            data["recentDatapoints"],
            serde_json::json!([81.2, 80.0, 90.5])
        );
        assert_eq!(
            data["evaluatedDatapoints"][0],
            serde_json::json!({"timestamp": "2026-12-07T16:39:00.000+0000", "sampleCount": 1.0, "value": 90.5})
        );
        assert_eq!(
            data["evaluatedDatapoints"].as_array().map(Vec::len),
            Some(3)
        );
    }

    #[test]
    fn ok_reason_lists_the_points_that_do_not_breach() {
        let r = rule(3, 2, Comparison::GreaterOrEqual, MissingData::Missing);
        let out = run(&r, &[X, X, X, Some(12.0), Some(10.0)]).unwrap();
        assert_eq!(out.state, AlarmState::Ok);
        assert_eq!(
            out.reason,
            "Threshold Crossed: 2 out of the last 3 datapoints [10.0 (07/12/26 16:39:00), \
             12.0 (07/12/26 16:38:00)] were not greater than or equal to the threshold (75.0) \
             (minimum 2 datapoints for ALARM -> OK transition)."
        );
        let one = rule(1, 1, Comparison::Less, MissingData::Missing);
        assert_eq!(
            run(&one, &[NO, NO, Some(80.0)]).unwrap().reason,
            "Threshold Crossed: 1 datapoint [80.0 (07/12/26 16:39:00)] was not less than the threshold (75.0)."
        );
    }

    #[test]
    fn reasons_without_data() {
        let r = rule(3, 3, Comparison::Greater, MissingData::Missing);
        let out = run(&r, &[NO; 5]).unwrap();
        assert_eq!(out.reason, "Insufficient Data: 3 datapoints were unknown.");
        let one = rule(1, 1, Comparison::Greater, MissingData::Missing);
        assert_eq!(
            run(&one, &[NO; 3]).unwrap().reason,
            "Insufficient Data: 1 datapoint was unknown."
        );
        let breaching = rule(2, 2, Comparison::Greater, MissingData::Breaching);
        let out = run(&breaching, &[NO; 4]).unwrap();
        assert_eq!(
            out.reason,
            "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching]."
        );
        let data: serde_json::Value = serde_json::from_str(&out.reason_data).unwrap();
        assert_eq!(
            data["evaluatedDatapoints"],
            serde_json::json!([{"timestamp": "2026-12-07T16:39:00.000+0000"}, {"timestamp": "2026-12-07T16:38:00.000+0000"}])
        );
        let not_breaching = rule(1, 1, Comparison::Greater, MissingData::NotBreaching);
        assert_eq!(
            run(&not_breaching, &[NO; 3]).unwrap().reason,
            "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching]."
        );
    }

    #[test]
    fn missing_judges_and_words_on_the_real_points() {
        let r = rule(3, 3, Comparison::Greater, MissingData::Missing);
        assert_eq!(
            run(&r, &[NO, NO, NO, X, NO]).unwrap().reason,
            "Threshold Crossed: 1 out of the last 1 datapoint [90.0 (07/12/26 16:38:00)] was \
             greater than the threshold (75.0) (minimum 1 datapoint for OK -> ALARM transition)."
        );
        assert_eq!(
            run(&r, &[NO, NO, X, O, NO]).unwrap().reason,
            "Threshold Crossed: 1 out of the last 2 datapoints [10.0 (07/12/26 16:38:00)] was \
             not greater than the threshold (75.0) (minimum 1 datapoint for ALARM -> OK transition)."
        );
    }

    #[test]
    fn filled_points_are_named_in_the_reason() {
        let r = rule(3, 3, Comparison::Greater, MissingData::Breaching);
        let out = run(&r, &[NO, NO, NO, X, NO]).unwrap();
        assert_eq!(out.state, AlarmState::Alarm);
        assert_eq!(
            out.reason,
            "Threshold Crossed: 3 out of the last 3 datapoints [90.0 (07/12/26 16:38:00)] were \
             greater than the threshold (75.0) (minimum 3 datapoints for OK -> ALARM transition) \
             (2 missing datapoints were treated as [Breaching])."
        );
    }

    #[test]
    fn low_sample_counts_of_percentiles() {
        let point = |count: f64| Point {
            timestamp: Timestamp::from_millis(T0),
            value: 1.0,
            sample_count: Some(count),
        };
        assert!(too_few_samples("p99", &[point(999.0)]));
        assert!(!too_few_samples("p99", &[point(1000.0)]));
        assert!(too_few_samples("p50", &[point(19.0), point(500.0)]));
        assert!(!too_few_samples("p50", &[point(20.0)]));
        assert!(!too_few_samples("p100", &[point(1.0)]));
        assert!(!too_few_samples("Average", &[point(1.0)]));
    }

    #[test]
    fn doubles_print_as_java_does() {
        assert_eq!(java_double(75.0), "75.0");
        assert_eq!(java_double(81.25), "81.25");
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(-3.5), "-3.5");
        assert_eq!(java_double(12_345_678.0), "1.2345678E7");
        assert_eq!(java_double(0.0001), "1.0E-4");
    }
}
