//! When a scheduled action runs, pure: its `Schedule` (`at(yyyy-mm-ddThh:mm:ss)`,
//! `rate(N minute|minutes|hour|hours|day|days)`, `cron(6 fields)`, see `cron`), its `Timezone`
//! and its StartTime / EndTime, and which scheduled instant is due at a moment.
//!
//! `at` and `cron` are read in the action's time zone (UTC when none is given): any IANA name,
//! from the tz database compiled into wharf by the `chrono-tz` crate, daylight saving time
//! included (`Etc/GMT+5` keeps its POSIX sign: five hours behind UTC). A `rate` counts from StartTime, else from the
//! action's creation; its first run is one period after that.

use crate::cron::Cron;
use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;
use wharf_core::Timestamp;

/// A parsed `Schedule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `at(...)`: once, at this local time.
    At(NaiveDateTime),
    /// `rate(...)`: every this many milliseconds.
    Rate(i64),
    /// `cron(...)`.
    Cron(Box<Cron>),
}

/// The time zone an action's local times are read in (an IANA zone; UTC when none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(Tz);

/// The time zone `name` (UTC when none), or why it is not one.
pub fn parse_zone(name: Option<&str>) -> Result<Zone, String> {
    match name {
        None => Ok(Zone(Tz::UTC)),
        Some(name) => name.parse::<Tz>().map(Zone).map_err(|_| {
            format!("Timezone {name} is not a valid IANA time zone name (e.g. America/New_York, Etc/UTC)")
        }),
    }
}

impl Zone {
    /// The instant of the local time `local` (a time skipped by a daylight saving change is
    /// read with the offset before the change; a repeated one is its first occurrence).
    fn to_instant(self, local: NaiveDateTime) -> Timestamp {
        let millis = match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp_millis(),
            LocalResult::None => {
                let offset = self.0.offset_from_utc_datetime(&local).fix();
                local.and_utc().timestamp_millis() - i64::from(offset.local_minus_utc()) * 1000
            }
        };
        Timestamp::from_millis(millis)
    }

    fn to_local(self, t: Timestamp) -> Option<NaiveDateTime> {
        DateTime::from_timestamp_millis(t.millis).map(|d| d.with_timezone(&self.0).naive_local())
    }
}

/// Parses a `Schedule`, or says what is wrong with it.
pub fn parse(text: &str) -> Result<Schedule, String> {
    let inner = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(')'))
            .map(str::trim)
    };
    if let Some(at) = inner("at(") {
        return NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S")
            .map(Schedule::At)
            .map_err(|_| format!("at({at}) is not of the form at(yyyy-mm-ddThh:mm:ss)"));
    }
    if let Some(rate) = inner("rate(") {
        let (n, unit) = rate
            .split_once(' ')
            .ok_or_else(|| format!("rate({rate}) is not of the form rate(value unit)"))?;
        let n: i64 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("the rate value {n} must be a positive whole number"))?;
        let unit_ms = match unit.trim() {
            "minute" | "minutes" => 60_000,
            "hour" | "hours" => 3_600_000,
            "day" | "days" => 86_400_000,
            other => {
                return Err(format!(
                    "the rate unit {other} must be minute(s), hour(s) or day(s)"
                ))
            }
        };
        return Ok(Schedule::Rate(n.saturating_mul(unit_ms)));
    }
    if let Some(fields) = inner("cron(") {
        return Cron::parse(fields).map(|c| Schedule::Cron(Box::new(c)));
    }
    Err(format!(
        "{text} is not a schedule: use at(yyyy-mm-ddThh:mm:ss), rate(value unit) or \
         cron(fields)"
    ))
}

/// The window a scheduled action runs in.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// StartTime.
    pub start: Option<Timestamp>,
    /// EndTime.
    pub end: Option<Timestamp>,
    /// When the action was created (a rate counts from it without StartTime).
    pub created: Timestamp,
}

/// The first scheduled instant after `after`, within the window.
pub fn next_after(
    schedule: &Schedule,
    zone: Zone,
    window: Window,
    after: Timestamp,
) -> Option<Timestamp> {
    let after = after.max(
        window
            .start
            .map_or(Timestamp::from_millis(i64::MIN), |s| s.plus_millis(-1)),
    );
    let next = match schedule {
        Schedule::At(local) => Some(zone.to_instant(*local)).filter(|t| *t > after),
        Schedule::Rate(period) => {
            let anchor = window.start.unwrap_or(window.created);
            let elapsed = (after.millis - anchor.millis).max(0);
            let k = elapsed / period + 1;
            Some(anchor.plus_millis(k.saturating_mul(*period)))
        }
        Schedule::Cron(cron) => {
            let local = zone.to_local(after)?;
            Some(zone.to_instant(cron.next_after(local)?))
        }
    }?;
    match window.end {
        Some(end) if next > end => None,
        _ => Some(next),
    }
}

/// The scheduled instant due at `now` that has not run yet (after `last_run`, else after the
/// action's creation), if any.
pub fn due(
    schedule: &Schedule,
    zone: Zone,
    window: Window,
    last_run: Option<Timestamp>,
    now: Timestamp,
) -> Option<Timestamp> {
    let since = last_run.unwrap_or(window.created.plus_millis(-1));
    let first = next_after(schedule, zone, window, since)?;
    if first > now {
        return None;
    }
    // Several missed instants (wharf was down) run once: the latest of them.
    let mut latest = first;
    while let Some(next) = next_after(schedule, zone, window, latest) {
        if next > now {
            break;
        }
        latest = next;
    }
    Some(latest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap_or_default()
    }

    fn utc() -> Zone {
        Zone(Tz::UTC)
    }

    fn window(created: &str) -> Window {
        Window {
            start: None,
            end: None,
            created: t(created),
        }
    }

    #[test]
    fn parses_the_three_forms() {
        assert!(matches!(
            parse("at(2026-12-07T18:30:00)"),
            Ok(Schedule::At(_))
        ));
        assert_eq!(parse("rate(5 minutes)"), Ok(Schedule::Rate(300_000)));
        assert_eq!(parse("rate(1 day)"), Ok(Schedule::Rate(86_400_000)));
        assert!(matches!(
            parse("cron(15 12 * * ? *)"),
            Ok(Schedule::Cron(_))
        ));
        for bad in [
            "at(2026-12-07 18:30)",
            "rate(0 minutes)",
            "rate(5 weeks)",
            "rate(five minutes)",
            "cron(15 12 * * *)",
            "every day",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones_are_iana_names_with_daylight_saving() {
        let s = parse("at(2026-07-01T08:00:00)").unwrap_or_else(|e| panic!("{e}"));
        let w = window("2026-01-01T00:00:00Z");
        let before = t("2026-01-02T00:00:00Z");
        assert_eq!(parse_zone(None), Ok(utc()));
        assert_eq!(
            next_after(&s, utc(), w, before),
            Some(t("2026-07-01T08:00:00Z"))
        );
        let new_york = parse_zone(Some("America/New_York")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            next_after(&s, new_york, w, before),
            Some(t("2026-07-01T12:00:00Z"))
        );
        let winter = parse("at(2026-12-01T08:00:00)").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            next_after(&winter, new_york, w, before),
            Some(t("2026-12-01T13:00:00Z"))
        );
        let five_behind = parse_zone(Some("Etc/GMT+5")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            next_after(&s, five_behind, w, before),
            Some(t("2026-07-01T13:00:00Z"))
        );
        // 02:30 does not exist in New York on 8 March 2026: read with the offset before.
        let skipped = parse("at(2026-03-08T02:30:00)").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            next_after(&skipped, new_york, w, before),
            Some(t("2026-03-08T07:30:00Z"))
        );
        let daily = parse("cron(0 9 * * ? *)").unwrap_or_else(|e| panic!("{e}"));
        let paris = parse_zone(Some("Europe/Paris")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            next_after(&daily, paris, w, t("2026-12-07T10:00:00Z")),
            Some(t("2026-12-08T08:00:00Z"))
        );
        assert!(matches!(parse_zone(Some("Mars/Olympus")), Err(m) if m.contains("Mars/Olympus")));
    }
    #[test]
    fn an_at_action_is_due_once_in_its_zone() {
        let s = parse("at(2026-12-07T18:00:00)").unwrap_or_else(|e| panic!("{e}"));
        let w = window("2026-12-07T10:00:00Z");
        assert_eq!(due(&s, utc(), w, None, t("2026-12-07T17:59:59Z")), None);
        assert_eq!(
            due(&s, utc(), w, None, t("2026-12-07T18:00:05Z")),
            Some(t("2026-12-07T18:00:00Z"))
        );
        assert_eq!(
            due(
                &s,
                utc(),
                w,
                Some(t("2026-12-07T18:00:00Z")),
                t("2026-12-07T19:00:00Z")
            ),
            None
        );
        let five_behind = parse_zone(Some("Etc/GMT+5")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            next_after(&s, five_behind, w, t("2026-12-07T10:00:00Z")),
            Some(t("2026-12-07T23:00:00Z"))
        );
    }

    #[test]
    fn rates_count_from_creation_or_start_and_stop_at_end() {
        let s = Schedule::Rate(300_000);
        let mut w = window("2026-12-07T10:00:00Z");
        assert_eq!(due(&s, utc(), w, None, t("2026-12-07T10:04:00Z")), None);
        assert_eq!(
            due(&s, utc(), w, None, t("2026-12-07T10:05:30Z")),
            Some(t("2026-12-07T10:05:00Z"))
        );
        assert_eq!(
            due(
                &s,
                utc(),
                w,
                Some(t("2026-12-07T10:05:00Z")),
                t("2026-12-07T10:16:00Z")
            ),
            Some(t("2026-12-07T10:15:00Z")),
            "missed instants run once"
        );
        w.end = Some(t("2026-12-07T10:12:00Z"));
        assert_eq!(
            due(
                &s,
                utc(),
                w,
                Some(t("2026-12-07T10:10:00Z")),
                t("2026-12-07T10:20:00Z")
            ),
            None
        );
        w.start = Some(t("2026-12-07T11:00:00Z"));
        w.end = None;
        assert_eq!(
            next_after(&s, utc(), w, t("2026-12-07T10:00:00Z")),
            Some(t("2026-12-07T11:05:00Z"))
        );
    }

    #[test]
    fn cron_runs_at_each_matching_minute() {
        let s = parse("cron(0/10 * * * ? *)").unwrap_or_else(|e| panic!("{e}"));
        let w = window("2026-12-07T10:01:00Z");
        assert_eq!(
            due(&s, utc(), w, None, t("2026-12-07T10:10:02Z")),
            Some(t("2026-12-07T10:10:00Z"))
        );
        assert_eq!(
            due(
                &s,
                utc(),
                w,
                Some(t("2026-12-07T10:10:00Z")),
                t("2026-12-07T10:15:00Z")
            ),
            None
        );
    }
}
