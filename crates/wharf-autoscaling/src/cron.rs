//! AWS's six-field cron expressions (`cron(Minutes Hours Day-of-month Month Day-of-week
//! Year)`, as Application Auto Scaling and EventBridge read them), pure: parsing and the next
//! matching minute.
//!
//! Supported, as AWS documents them: `*`, `,` lists, `-` ranges, `/` increments (`0/15`,
//! `*/10`, `5-50/5`), `?` (no value) in day-of-month or day-of-week (exactly one of the two must
//! be `?`), month names `JAN`-`DEC`, weekday names `SUN`-`SAT` (1 = Sunday), `L` (last day of
//! the month; `5L` the last Thursday), `W` (`15W`, the weekday nearest the 15th, within the
//! month; `LW` the last weekday), `#` (`6#3`, the third Friday), years 1970-2199.
//! Not supported: a range or list combined with `L`, `W` or `#` in one field (AWS refuses most
//! of those too).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days: DayRule,
    months: Vec<u32>,
    years: Vec<u32>,
}

/// How the day is chosen (day-of-month or day-of-week; the other is `?`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum DayRule {
    /// Days of the month (1-31).
    MonthDays(Vec<u32>),
    /// `L`: the last day of the month.
    LastOfMonth,
    /// `LW`: the last weekday of the month.
    LastWeekdayOfMonth,
    /// `nW`: the weekday nearest day n.
    NearestWeekday(u32),
    /// Days of the week (1 = Sunday .. 7 = Saturday).
    WeekDays(Vec<u32>),
    /// `nL`: the last weekday n of the month.
    LastWeekDay(u32),
    /// `n#k`: the k-th weekday n of the month.
    NthWeekDay(u32, u32),
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(text: &str, names: &[&str], min: u32, max: u32) -> Result<u32, String> {
    let upper = text.to_ascii_uppercase();
    if let Some(i) = names.iter().position(|n| *n == upper) {
        return Ok(min + i as u32);
    }
    let v: u32 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a valid value"))?;
    if v < min || v > max {
        return Err(format!("{v} is outside {min}-{max}"));
    }
    Ok(v)
}

/// The values a field of `*`, lists, ranges and increments stands for.
fn values(field: &str, names: &[&str], min: u32, max: u32) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("'{s}' is not a valid increment"))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (from, to) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, min, max)?, value(b, names, min, max)?)
        } else {
            let v = value(range, names, min, max)?;
            (v, if part.contains('/') { max } else { v })
        };
        if from > to {
            return Err(format!("the range {range} is backwards"));
        }
        out.extend((from..=to).step_by(step as usize));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn day_of_month_rule(field: &str) -> Result<DayRule, String> {
    match field.to_ascii_uppercase().as_str() {
        "L" => Ok(DayRule::LastOfMonth),
        "LW" => Ok(DayRule::LastWeekdayOfMonth),
        f if f.ends_with('W') => Ok(DayRule::NearestWeekday(value(
            &f[..f.len() - 1],
            &[],
            1,
            31,
        )?)),
        _ => values(field, &[], 1, 31).map(DayRule::MonthDays),
    }
}

fn day_of_week_rule(field: &str) -> Result<DayRule, String> {
    let upper = field.to_ascii_uppercase();
    if let Some((day, nth)) = upper.split_once('#') {
        let nth = value(nth, &[], 1, 5)?;
        return Ok(DayRule::NthWeekDay(value(day, &WEEKDAYS, 1, 7)?, nth));
    }
    if upper == "L" {
        return Ok(DayRule::WeekDays(vec![7]));
    }
    if let Some(day) = upper.strip_suffix('L') {
        return Ok(DayRule::LastWeekDay(value(day, &WEEKDAYS, 1, 7)?));
    }
    values(field, &WEEKDAYS, 1, 7).map(DayRule::WeekDays)
}

impl Cron {
    /// Parses the six fields inside `cron(...)`.
    pub fn parse(fields: &str) -> Result<Self, String> {
        let f: Vec<&str> = fields.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = f.as_slice() else {
            return Err(format!(
                "a cron expression has 6 fields (minutes hours day-of-month month day-of-week \
                 year), got {}",
                f.len()
            ));
        };
        let days = match (*dom, *dow) {
            ("?", "?") => return Err("day-of-month and day-of-week cannot both be '?'".into()),
            ("?", dow) => day_of_week_rule(dow)?,
            (dom, "?") => day_of_month_rule(dom)?,
            _ => return Err("one of day-of-month and day-of-week must be '?'".into()),
        };
        Ok(Self {
            minutes: values(minutes, &[], 0, 59)?,
            hours: values(hours, &[], 0, 23)?,
            days,
            months: values(month, &MONTHS, 1, 12)?,
            years: values(year, &[], 1970, 2199)?,
        })
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        let last = last_day_of_month(date);
        let weekday = date.weekday().num_days_from_sunday() + 1;
        match &self.days {
            DayRule::MonthDays(days) => days.contains(&date.day()),
            DayRule::LastOfMonth => date.day() == last,
            DayRule::LastWeekdayOfMonth => {
                date.day() == nearest_weekday(date.with_day(last).unwrap_or(date))
            }
            DayRule::NearestWeekday(n) => date
                .with_day((*n).min(last))
                .is_some_and(|d| nearest_weekday(d) == date.day()),
            DayRule::WeekDays(days) => days.contains(&weekday),
            DayRule::LastWeekDay(day) => *day == weekday && date.day() + 7 > last,
            DayRule::NthWeekDay(day, nth) => *day == weekday && (date.day() - 1) / 7 + 1 == *nth,
        }
    }

    /// The first minute strictly after `after` (local time) that the expression matches, within
    /// its years.
    pub fn next_after(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        let start = after.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let last_year = *self.years.last()?;
        let mut date = start.date();
        let mut first_day = true;
        while date.year() <= last_year as i32 {
            let in_calendar = self.years.contains(&(date.year() as u32))
                && self.months.contains(&date.month())
                && self.day_matches(date);
            if in_calendar {
                let (h0, m0) = if first_day {
                    (start.hour(), start.minute())
                } else {
                    (0, 0)
                };
                for &h in self.hours.iter().filter(|h| **h >= h0) {
                    for &m in &self.minutes {
                        if h == h0 && m < m0 {
                            continue;
                        }
                        return date.and_hms_opt(h, m, 0);
                    }
                }
            }
            date = date.succ_opt()?;
            first_day = false;
        }
        None
    }
}

fn last_day_of_month(date: NaiveDate) -> u32 {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

/// The day of the month of the weekday nearest `date`, within its month.
fn nearest_weekday(date: NaiveDate) -> u32 {
    let last = last_day_of_month(date);
    match date.weekday().num_days_from_monday() {
        5 if date.day() == 1 => 3,
        5 => date.day() - 1,
        6 if date.day() == last => date.day() - 2,
        6 => date.day() + 1,
        _ => date.day(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").unwrap_or_default()
    }

    fn next(expr: &str, after: &str) -> String {
        Cron::parse(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .next_after(at(after))
            .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default()
    }

    #[test]
    fn every_day_at_a_time() {
        assert_eq!(
            next("15 12 * * ? *", "2026-12-07T10:00"),
            "2026-12-07T12:15"
        );
        assert_eq!(
            next("15 12 * * ? *", "2026-12-07T12:15"),
            "2026-12-08T12:15"
        );
        assert_eq!(
            next("0/15 * * * ? *", "2026-12-07T10:07"),
            "2026-12-07T10:15"
        );
        assert_eq!(
            next("*/10 9-17 ? * MON-FRI *", "2026-12-05T18:00"),
            "2026-12-07T09:00"
        );
    }

    #[test]
    fn last_weekday_nth_and_nearest() {
        // December 2026: the 1st is a Tuesday; the 31st a Thursday.
        assert_eq!(next("0 0 L * ? *", "2026-12-07T00:00"), "2026-12-31T00:00");
        assert_eq!(
            next("0 0 ? * 6#3 *", "2026-12-01T00:00"),
            "2026-12-18T00:00"
        );
        assert_eq!(next("0 0 ? * 5L *", "2026-12-01T00:00"), "2026-12-31T00:00");
        // The 5th of December 2026 is a Saturday: the nearest weekday is Friday the 4th.
        assert_eq!(next("0 8 5W * ? *", "2026-12-01T00:00"), "2026-12-04T08:00");
        // 1 August 2026 is a Saturday: 1W is Monday the 3rd.
        assert_eq!(next("0 8 1W * ? *", "2026-07-15T00:00"), "2026-08-03T08:00");
        assert_eq!(next("0 8 LW * ? *", "2026-10-01T00:00"), "2026-10-30T08:00");
        assert_eq!(
            next("0 6 1 JAN ? 2028", "2026-12-07T00:00"),
            "2028-01-01T06:00"
        );
        assert_eq!(next("0 6 1 JAN ? 2025", "2026-12-07T00:00"), "");
    }

    #[test]
    fn malformed_expressions_are_refused() {
        for bad in [
            "0 12 * * *",
            "0 12 * * * *",
            "0 12 ? * ? *",
            "60 12 * * ? *",
            "0 24 * * ? *",
            "0 12 32 * ? *",
            "0 12 * 13 ? *",
            "0 12 ? * 8 *",
            "0 12 * * ? 1969",
            "0/0 12 * * ? *",
            "5-1 12 * * ? *",
            "x 12 * * ? *",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad}");
        }
    }
}
