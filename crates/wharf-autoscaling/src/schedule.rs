//! When a scheduled action runs, pure: its `Schedule` (`at(yyyy-mm-ddThh:mm:ss)`,
//! `rate(N minute|minutes|hour|hours|day|days)`, `cron(6 fields)`, see `cron`), its `Timezone`
//! and its StartTime / EndTime, and which scheduled instant is due at a moment.
//!
//! `at` and `cron` are read in the action's time zone (UTC when none is given). wharf knows
//! the UTC zones (`UTC`, `Etc/UTC`, `GMT`, ...) and the fixed offsets `Etc/GMT+N` /
//! `Etc/GMT-N` (POSIX signs: `Etc/GMT+5` is five hours behind UTC); other IANA names are
//! refused with a ValidationException saying so. A `rate` counts from StartTime, else from the
//! action's creation; its first run is one period after that.

use crate::cron::Cron;
use chrono::{DateTime, NaiveDateTime};
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

/// A time zone wharf can read local times in: a fixed offset east of UTC, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(i32);

/// The time zone `name` (UTC when none), or why wharf cannot use it.
pub fn parse_zone(name: Option<&str>) -> Result<Zone, String> {
    let Some(name) = name else {
        return Ok(Zone(0));
    };
    const UTC: [&str; 12] = [
        "UTC",
        "Etc/UTC",
        "UCT",
        "Etc/UCT",
        "GMT",
        "Etc/GMT",
        "Etc/GMT0",
        "Etc/GMT+0",
        "Etc/GMT-0",
        "Universal",
        "Etc/Universal",
        "Etc/Zulu",
    ];
    if UTC.contains(&name) || name == "Zulu" || name == "Etc/Greenwich" || name == "Greenwich" {
        return Ok(Zone(0));
    }
    if let Some(rest) = name.strip_prefix("Etc/GMT") {
        let hours: Option<i32> = rest.parse().ok().filter(|h: &i32| (-14..=12).contains(h));
        if let Some(h) = hours {
            return Ok(Zone(-h * 3600));
        }
    }
    Err(format!(
        "wharf does not know the time zone {name}: it supports UTC and the fixed offsets \
         Etc/GMT+N / Etc/GMT-N"
    ))
}

impl Zone {
    fn to_instant(self, local: NaiveDateTime) -> Timestamp {
        Timestamp::from_millis(local.and_utc().timestamp_millis() - i64::from(self.0) * 1000)
    }

    fn to_local(self, t: Timestamp) -> Option<NaiveDateTime> {
        DateTime::from_timestamp_millis(t.millis + i64::from(self.0) * 1000).map(|d| d.naive_utc())
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
    fn time_zones_are_utc_or_fixed_offsets() {
        assert_eq!(parse_zone(None), Ok(Zone(0)));
        assert_eq!(parse_zone(Some("Etc/UTC")), Ok(Zone(0)));
        assert_eq!(parse_zone(Some("Etc/GMT+5")), Ok(Zone(-5 * 3600)));
        assert_eq!(parse_zone(Some("Etc/GMT-9")), Ok(Zone(9 * 3600)));
        assert!(
            matches!(parse_zone(Some("America/New_York")), Err(m) if m.contains("America/New_York"))
        );
        assert!(parse_zone(Some("Etc/GMT+99")).is_err());
    }

    #[test]
    fn an_at_action_is_due_once_in_its_zone() {
        let s = parse("at(2026-12-07T18:00:00)").unwrap_or_else(|e| panic!("{e}"));
        let w = window("2026-12-07T10:00:00Z");
        assert_eq!(due(&s, Zone(0), w, None, t("2026-12-07T17:59:59Z")), None);
        assert_eq!(
            due(&s, Zone(0), w, None, t("2026-12-07T18:00:05Z")),
            Some(t("2026-12-07T18:00:00Z"))
        );
        assert_eq!(
            due(
                &s,
                Zone(0),
                w,
                Some(t("2026-12-07T18:00:00Z")),
                t("2026-12-07T19:00:00Z")
            ),
            None
        );
        let five_behind = parse_zone(Some("Etc/GMT+5")).unwrap_or(Zone(0));
        assert_eq!(
            next_after(&s, five_behind, w, t("2026-12-07T10:00:00Z")),
            Some(t("2026-12-07T23:00:00Z"))
        );
    }

    #[test]
    fn rates_count_from_creation_or_start_and_stop_at_end() {
        let s = Schedule::Rate(300_000);
        let mut w = window("2026-12-07T10:00:00Z");
        assert_eq!(due(&s, Zone(0), w, None, t("2026-12-07T10:04:00Z")), None);
        assert_eq!(
            due(&s, Zone(0), w, None, t("2026-12-07T10:05:30Z")),
            Some(t("2026-12-07T10:05:00Z"))
        );
        assert_eq!(
            due(
                &s,
                Zone(0),
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
                Zone(0),
                w,
                Some(t("2026-12-07T10:10:00Z")),
                t("2026-12-07T10:20:00Z")
            ),
            None
        );
        w.start = Some(t("2026-12-07T11:00:00Z"));
        w.end = None;
        assert_eq!(
            next_after(&s, Zone(0), w, t("2026-12-07T10:00:00Z")),
            Some(t("2026-12-07T11:05:00Z"))
        );
    }

    #[test]
    fn cron_runs_at_each_matching_minute() {
        let s = parse("cron(0/10 * * * ? *)").unwrap_or_else(|e| panic!("{e}"));
        let w = window("2026-12-07T10:01:00Z");
        assert_eq!(
            due(&s, Zone(0), w, None, t("2026-12-07T10:10:02Z")),
            Some(t("2026-12-07T10:10:00Z"))
        );
        assert_eq!(
            due(
                &s,
                Zone(0),
                w,
                Some(t("2026-12-07T10:10:00Z")),
                t("2026-12-07T10:15:00Z")
            ),
            None
        );
    }
}
