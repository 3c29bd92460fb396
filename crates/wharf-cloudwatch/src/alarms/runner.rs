//! The alarm loop: every alarm is evaluated once per minute of metric time (alarms with a
//! 10/20/30-second period once per period), just after a period ends, over the data of its
//! evaluation range; a state change is written with its history and runs the new state's
//! actions; while an alarm stays in ALARM its Auto Scaling actions run again every period (as
//! AWS does). `--metric-time-scale` shortens every one of these intervals through
//! [`wharf_core::MetricTime`].

use super::config::period_of;
use super::evaluation::{self, AlarmState, Comparison, MissingData, Point, Rule};
use super::state::{self, NewState};
use super::{actions, wire};
use crate::generated::Error;
use crate::metrics_api::{run_queries, series};
use crate::records::{AlarmRecord, ALARMS};
use crate::CloudWatch;
use std::collections::HashMap;
use std::sync::Arc;
use wharf_core::Timestamp;

/// When an alarm is next evaluated, and when its actions last ran (real milliseconds).
#[derive(Debug, Clone, Copy, Default)]
pub struct Due {
    next_evaluation: i64,
    last_actions: i64,
}

/// The evaluation rule of `alarm`, or `None` for a configuration wharf cannot evaluate.
pub fn rule_of(alarm: &AlarmRecord) -> Option<Rule> {
    let n = usize::try_from(alarm.evaluation_periods).ok()?.max(1);
    let m = alarm
        .datapoints_to_alarm
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(n);
    Some(Rule {
        evaluation_periods: n,
        datapoints_to_alarm: m,
        threshold: alarm.threshold,
        comparison: Comparison::parse(&alarm.comparison_operator)?,
        missing: alarm
            .treat_missing_data
            .as_deref()
            .and_then(MissingData::parse)
            .unwrap_or(MissingData::Missing),
        period_seconds: period_of(alarm),
        statistic: match (&alarm.statistic, &alarm.extended_statistic) {
            (Some(s), _) => Some(("statistic", s.clone())),
            (None, Some(p)) => Some(("extendedStatistic", p.clone())),
            _ => None,
        },
        unit: alarm.unit.clone(),
    })
}

/// The data points of `alarm` over `[start, end)`, one per real period of `period_millis`.
fn points(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    alarm: &AlarmRecord,
    start: Timestamp,
    end: Timestamp,
    period_millis: i64,
) -> Result<Vec<Point>, Error> {
    if let Some(metric) = &alarm.metric {
        let stat = alarm
            .statistic
            .as_deref()
            .or(alarm.extended_statistic.as_deref())
            .unwrap_or("Average");
        let read = |stat: &str| {
            series(
                cw,
                account,
                region,
                &metric.namespace,
                &metric.metric_name,
                &metric.dimensions,
                stat,
                alarm.unit.as_deref(),
                start,
                end,
                period_millis,
            )
        };
        let values = read(stat)?;
        let counts: HashMap<Timestamp, f64> = if stat == "SampleCount" {
            values.iter().copied().collect()
        } else {
            read("SampleCount")
                .map(|c| c.into_iter().collect())
                .unwrap_or_default()
        };
        return Ok(values
            .into_iter()
            .map(|(timestamp, value)| Point {
                timestamp,
                value,
                sample_count: counts.get(&timestamp).copied(),
            })
            .collect());
    }
    let queries: Vec<_> = alarm.queries.iter().map(wire::query).collect();
    let Some(returning) = alarm.queries.iter().find(|q| q.return_data.unwrap_or(true)) else {
        return Ok(Vec::new());
    };
    let results = run_queries(
        cw,
        account,
        region,
        &queries,
        start,
        end,
        Some(period_millis),
    )?;
    let Some(result) = results
        .into_iter()
        .find(|r| r.id.as_deref() == Some(returning.id.as_str()))
    else {
        return Ok(Vec::new());
    };
    Ok(result
        .timestamps
        .unwrap_or_default()
        .into_iter()
        .zip(result.values.unwrap_or_default())
        .map(|(timestamp, value)| Point {
            timestamp,
            value,
            sample_count: None,
        })
        .collect())
}

/// Evaluates `alarm` at `now`: changes its state (and runs the new state's actions) when the
/// evaluation says so, or runs its Auto Scaling actions again when it stays in ALARM a period.
pub fn evaluate_alarm(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    alarm: &AlarmRecord,
    now: Timestamp,
    due: &mut Due,
) {
    let Some(rule) = rule_of(alarm) else {
        return;
    };
    let period_millis = cw.time.real_millis(f64::from(rule.period_seconds));
    let (start, end) = evaluation::window(now, period_millis, rule.evaluation_range());
    let data = match points(cw, account, region, alarm, start, end, period_millis) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(alarm = %alarm.name, error = %e, "cannot read the alarm's metric data");
            return;
        }
    };
    if alarm.evaluate_low_sample_count_percentile.as_deref() == Some("ignore")
        && alarm
            .extended_statistic
            .as_deref()
            .is_some_and(|p| evaluation::too_few_samples(p, &data))
    {
        return;
    }
    let Some(outcome) = evaluation::evaluate(&rule, &data, start, end, period_millis, now) else {
        return;
    };
    if outcome.state.as_str() != alarm.state_value {
        let new = NewState {
            value: outcome.state.as_str().to_string(),
            reason: outcome.reason,
            reason_data: Some(outcome.reason_data),
            newest_value: outcome.newest_value,
        };
        match state::set(
            cw,
            account,
            region,
            &alarm.name,
            new,
            now,
            Some(alarm.configuration_updated),
        ) {
            Ok(Some(applied)) if applied.transitioned => {
                actions::run(
                    cw,
                    account,
                    region,
                    &applied.alarm,
                    outcome.newest_value,
                    now,
                    false,
                );
                due.last_actions = now.millis;
            }
            Ok(_) => {}
            Err(e) => {
                let e: Error = e.into();
                tracing::warn!(alarm = %alarm.name, error = %e, "cannot change the alarm's state");
            }
        }
    } else if outcome.state == AlarmState::Alarm && now.millis - due.last_actions >= period_millis {
        let ran = actions::run(cw, account, region, alarm, outcome.newest_value, now, true);
        if ran > 0 {
            due.last_actions = now.millis;
        }
    }
}

/// Evaluates every alarm that is due at the clock's now; `schedule` keeps, per alarm key,
/// when it is next due (entries of deleted alarms are dropped).
pub fn evaluate_due(cw: &CloudWatch, schedule: &mut HashMap<String, Due>) {
    let now = cw.clock.now();
    let alarms = match cw.store.read(|tx| tx.list(ALARMS, "")) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the alarms to evaluate");
            return;
        }
    };
    schedule.retain(|key, _| alarms.iter().any(|(k, _)| k == key));
    for (key, alarm) in alarms {
        let mut parts = key.splitn(3, '/');
        let (Some(account), Some(region)) = (parts.next(), parts.next()) else {
            continue;
        };
        let every = f64::from(period_of(&alarm).clamp(1, 60));
        let interval = cw.time.real_millis(every);
        let due = schedule.entry(key.clone()).or_default();
        if now.millis < due.next_evaluation {
            continue;
        }
        // Next: just after the next period boundary, so a period is judged as soon as it ends.
        due.next_evaluation = (now.millis.div_euclid(interval) + 1) * interval + interval / 20;
        evaluate_alarm(cw, account, region, &alarm, now, due);
    }
}

/// Evaluates every alarm every period until `stop` turns true.
pub async fn run_alarm_loop(cw: Arc<CloudWatch>, mut stop: tokio::sync::watch::Receiver<bool>) {
    // Five seconds of metric time (a quarter second at 0.05), never below 100 ms.
    let tick = cw.time.real(5.0).max(std::time::Duration::from_millis(100));
    let mut schedule: HashMap<String, Due> = HashMap::new();
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            _ = tokio::time::sleep(tick) => {}
        }
        let worker = cw.clone();
        let mut taken = std::mem::take(&mut schedule);
        match tokio::task::spawn_blocking(move || {
            evaluate_due(&worker, &mut taken);
            taken
        })
        .await
        {
            Ok(s) => schedule = s,
            Err(e) => tracing::error!(error = %e, "the alarm evaluation step failed"),
        }
    }
}
