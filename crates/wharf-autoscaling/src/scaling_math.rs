//! The arithmetic of a scaling decision, pure (no I/O, no clock reads): what capacity a policy
//! asks for, and what becomes of it under the target's bounds, cooldowns and suspension.
//!
//! - Target tracking (AWS user guide, "How target tracking scaling works"): the capacity that
//!   brings the metric back to the target in proportion, `ceil(current * metric / target)`.
//!   Rounding up makes scale-in conservative: capacity is removed only when the remaining tasks
//!   would still stay at or under the target; and the policy's AlarmLow fires only after 15
//!   minutes under 90 % of the target (see `tracking_alarms`).
//! - Step scaling: `ChangeInCapacity` adds the adjustment, `PercentChangeInCapacity` adds that
//!   percentage of the current capacity (a fraction is truncated toward zero, but a change
//!   between -1 and 1 counts as -1 or 1; `MinAdjustmentMagnitude` is the least change),
//!   `ExactCapacity` sets it.
//! - Cooldowns (API reference, TargetTrackingScalingPolicyConfiguration and
//!   StepScalingPolicyConfiguration): during a scale-out cooldown the capacity the last
//!   scale-out added counts as already there, so a new scale-out happens only when it asks for
//!   more than that (computed from the capacity the last scale-out started from); scale-in waits
//!   for both the scale-in cooldown and any scale-out cooldown; a scale-out is never blocked by a
//!   scale-in cooldown, and ends it.
//! - The result is clamped to [min, max]; a policy that wants to go past a bound the target is
//!   already at makes a not scaled activity (`AlreadyAtMaxCapacity` / `AlreadyAtMinCapacity`).

use crate::records::{CooldownState, Suspension};
use wharf_core::Timestamp;

/// The capacity that keeps the metric at the target: `ceil(base * metric / target)`.
pub fn tracking_capacity(base: u32, metric: f64, target: f64) -> u32 {
    if !metric.is_finite() || !target.is_finite() || target <= 0.0 {
        return base;
    }
    if base == 0 {
        return u32::from(metric > target);
    }
    // Tolerate float noise: 2 * 0.3 / 0.1 must stay 6, not become 7.
    let raw = f64::from(base) * metric / target;
    let rounded = if (raw - raw.round()).abs() < 1e-9 {
        raw.round()
    } else {
        raw.ceil()
    };
    to_capacity(rounded)
}

/// The capacity a step adjustment of `adjustment_type` asks for from `base`.
pub fn step_capacity(
    base: u32,
    adjustment_type: &str,
    adjustment: i32,
    min_adjustment_magnitude: Option<i32>,
) -> u32 {
    let base_f = f64::from(base);
    match adjustment_type {
        "ExactCapacity" => to_capacity(f64::from(adjustment)),
        "PercentChangeInCapacity" => {
            let exact = base_f * f64::from(adjustment) / 100.0;
            let mut change = if exact > 0.0 && exact < 1.0 {
                1.0
            } else if exact < 0.0 && exact > -1.0 {
                -1.0
            } else {
                exact.trunc()
            };
            if let Some(least) = min_adjustment_magnitude.filter(|m| *m > 0) {
                if change != 0.0 && change.abs() < f64::from(least) {
                    change = f64::from(least).copysign(change);
                }
            }
            to_capacity(base_f + change)
        }
        _ => to_capacity(base_f + f64::from(adjustment)),
    }
}

fn to_capacity(value: f64) -> u32 {
    if value.is_nan() || value <= 0.0 {
        0
    } else if value >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        value as u32
    }
}

/// Everything a decision depends on besides the policy's own arithmetic.
#[derive(Debug, Clone, Copy)]
pub struct Situation {
    /// The service's desired count now.
    pub current: u32,
    /// `MinCapacity`.
    pub min: u32,
    /// `MaxCapacity`.
    pub max: u32,
    /// The moment of the decision.
    pub now: Timestamp,
    /// The target's last scaling activities.
    pub cooldown: CooldownState,
    /// The policy's scale-out cooldown, in real milliseconds.
    pub scale_out_cooldown_ms: i64,
    /// The policy's scale-in cooldown, in real milliseconds.
    pub scale_in_cooldown_ms: i64,
    /// The target's suspended scaling.
    pub suspended: Suspension,
    /// `DisableScaleIn` of a target-tracking policy.
    pub scale_in_disabled: bool,
}

/// Which way a change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// More capacity.
    Out,
    /// Less capacity.
    In,
}

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Set the desired count to `to`.
    Scale {
        /// The new desired count.
        to: u32,
        /// Which way.
        direction: Direction,
    },
    /// The policy wants `wanted` but the target is at its bound: a not scaled activity.
    NotScaled {
        /// What the policy asked for.
        wanted: u32,
        /// `AlreadyAtMaxCapacity` or `AlreadyAtMinCapacity`.
        code: &'static str,
    },
    /// Nothing to do; why.
    Nothing(&'static str),
}

impl Situation {
    fn in_scale_out_cooldown(&self) -> Option<u32> {
        self.cooldown
            .last_scale_out
            .filter(|m| self.now.millis < m.at.millis.saturating_add(self.scale_out_cooldown_ms))
            .map(|m| m.from)
    }

    fn in_scale_in_cooldown(&self) -> bool {
        self.cooldown
            .last_scale_in
            .is_some_and(|at| self.now.millis < at.millis.saturating_add(self.scale_in_cooldown_ms))
    }
}

/// Decides what a policy whose arithmetic is `capacity_for` (capacity asked for, from a base
/// capacity) does in `s`.
pub fn decide(s: &Situation, capacity_for: impl Fn(u32) -> u32) -> Outcome {
    let wanted = capacity_for(s.current);
    if wanted > s.current {
        if s.suspended.dynamic_out {
            return Outcome::Nothing("dynamic scale-out is suspended");
        }
        let wanted = match s.in_scale_out_cooldown() {
            Some(from) => {
                let again = capacity_for(from);
                if again <= s.current {
                    return Outcome::Nothing("in the scale-out cooldown");
                }
                again
            }
            None => wanted,
        };
        let to = wanted.min(s.max).max(s.min);
        if to <= s.current {
            return Outcome::NotScaled {
                wanted,
                code: "AlreadyAtMaxCapacity",
            };
        }
        Outcome::Scale {
            to,
            direction: Direction::Out,
        }
    } else if wanted < s.current {
        if s.scale_in_disabled {
            return Outcome::Nothing("scale-in is disabled");
        }
        if s.suspended.dynamic_in {
            return Outcome::Nothing("dynamic scale-in is suspended");
        }
        if s.in_scale_in_cooldown() {
            return Outcome::Nothing("in the scale-in cooldown");
        }
        if s.in_scale_out_cooldown().is_some() {
            return Outcome::Nothing("in the scale-out cooldown");
        }
        let to = wanted.max(s.min).min(s.max);
        if to >= s.current {
            return Outcome::NotScaled {
                wanted,
                code: "AlreadyAtMinCapacity",
            };
        }
        Outcome::Scale {
            to,
            direction: Direction::In,
        }
    } else {
        Outcome::Nothing("already at the capacity asked for")
    }
}

/// The cooldown state after `outcome` was applied at `now` from `current`.
pub fn after(
    cooldown: CooldownState,
    outcome: Outcome,
    current: u32,
    now: Timestamp,
) -> CooldownState {
    match outcome {
        Outcome::Scale {
            to,
            direction: Direction::Out,
        } => {
            // A scale-out during the cooldown extends the capacity the cooldown started from.
            let from = cooldown
                .last_scale_out
                .filter(|m| m.to == current)
                .map_or(current, |m| m.from.min(current));
            // A scale-out ends a scale-in cooldown in progress (ScaleInCooldown's API doc).
            CooldownState {
                last_scale_out: Some(crate::records::ScaleOutMark { at: now, from, to }),
                last_scale_in: None,
            }
        }
        Outcome::Scale {
            direction: Direction::In,
            ..
        } => CooldownState {
            last_scale_in: Some(now),
            ..cooldown
        },
        _ => cooldown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::ScaleOutMark;
    use wharf_core::{Clock, FakeClock};

    const MIN: i64 = 60_000;

    fn situation(current: u32, now: Timestamp) -> Situation {
        Situation {
            current,
            min: 2,
            max: 10,
            now,
            cooldown: CooldownState::default(),
            scale_out_cooldown_ms: 5 * MIN,
            scale_in_cooldown_ms: 5 * MIN,
            suspended: Suspension::default(),
            scale_in_disabled: false,
        }
    }

    #[test]
    fn target_tracking_is_proportional_and_rounds_up() {
        assert_eq!(tracking_capacity(2, 100.0, 60.0), 4);
        assert_eq!(tracking_capacity(2, 61.0, 60.0), 3);
        assert_eq!(tracking_capacity(4, 60.0, 60.0), 4);
        assert_eq!(tracking_capacity(4, 44.0, 60.0), 3);
        assert_eq!(
            tracking_capacity(4, 50.0, 60.0),
            4,
            "scale-in only when it stays under"
        );
        assert_eq!(tracking_capacity(6, 1.0, 60.0), 1);
        assert_eq!(tracking_capacity(2, 0.3, 0.1), 6);
        assert_eq!(tracking_capacity(0, 5.0, 1.0), 1);
        assert_eq!(tracking_capacity(3, f64::NAN, 60.0), 3);
    }

    #[test]
    fn step_adjustment_types() {
        assert_eq!(step_capacity(4, "ChangeInCapacity", 2, None), 6);
        assert_eq!(step_capacity(4, "ChangeInCapacity", -9, None), 0);
        assert_eq!(step_capacity(4, "ExactCapacity", 7, None), 7);
        assert_eq!(step_capacity(10, "PercentChangeInCapacity", 200, None), 30);
        assert_eq!(step_capacity(10, "PercentChangeInCapacity", 25, None), 12);
        assert_eq!(step_capacity(3, "PercentChangeInCapacity", 10, None), 4);
        assert_eq!(step_capacity(3, "PercentChangeInCapacity", -10, None), 2);
        assert_eq!(step_capacity(10, "PercentChangeInCapacity", -25, None), 8);
        assert_eq!(
            step_capacity(10, "PercentChangeInCapacity", 10, Some(3)),
            13
        );
        assert_eq!(
            step_capacity(10, "PercentChangeInCapacity", -10, Some(3)),
            7
        );
    }

    #[test]
    fn scale_out_is_clamped_to_max_and_at_max_is_not_scaled() {
        let clock = FakeClock::new(Timestamp::from_millis(1_000_000));
        let s = situation(4, clock.now());
        assert_eq!(
            decide(&s, |b| tracking_capacity(b, 300.0, 60.0)),
            Outcome::Scale {
                to: 10,
                direction: Direction::Out
            }
        );
        let at_max = situation(10, clock.now());
        assert_eq!(
            decide(&at_max, |b| tracking_capacity(b, 90.0, 60.0)),
            Outcome::NotScaled {
                wanted: 15,
                code: "AlreadyAtMaxCapacity"
            }
        );
        let at_min = situation(2, clock.now());
        assert_eq!(
            decide(&at_min, |b| tracking_capacity(b, 1.0, 60.0)),
            Outcome::NotScaled {
                wanted: 1,
                code: "AlreadyAtMinCapacity"
            }
        );
    }

    #[test]
    fn scale_out_cooldown_counts_the_capacity_already_added() {
        let clock = FakeClock::new(Timestamp::from_millis(10_000_000));
        let mut s = situation(2, clock.now());
        let first = decide(&s, |b| step_capacity(b, "ChangeInCapacity", 2, None));
        assert_eq!(
            first,
            Outcome::Scale {
                to: 4,
                direction: Direction::Out
            }
        );
        s.cooldown = after(s.cooldown, first, 2, clock.now());
        s.current = 4;
        clock.advance(MIN);
        s.now = clock.now();
        // The same alarm again during the cooldown: the 2 added count, nothing more.
        assert_eq!(
            decide(&s, |b| step_capacity(b, "ChangeInCapacity", 2, None)),
            Outcome::Nothing("in the scale-out cooldown")
        );
        // A more aggressive step (+3) during the cooldown adds only the difference.
        let bigger = decide(&s, |b| step_capacity(b, "ChangeInCapacity", 3, None));
        assert_eq!(
            bigger,
            Outcome::Scale {
                to: 5,
                direction: Direction::Out
            }
        );
        s.cooldown = after(s.cooldown, bigger, 4, clock.now());
        assert_eq!(
            s.cooldown.last_scale_out,
            Some(ScaleOutMark {
                at: clock.now(),
                from: 2,
                to: 5
            })
        );
        // Scale-in waits for the scale-out cooldown.
        s.current = 5;
        assert_eq!(
            decide(&s, |b| tracking_capacity(b, 1.0, 60.0)),
            Outcome::Nothing("in the scale-out cooldown")
        );
        // After it, the same step scales out from the current capacity again.
        clock.advance(5 * MIN);
        s.now = clock.now();
        assert_eq!(
            decide(&s, |b| step_capacity(b, "ChangeInCapacity", 2, None)),
            Outcome::Scale {
                to: 7,
                direction: Direction::Out
            }
        );
    }

    #[test]
    fn scale_in_cooldown_blocks_scale_in_but_not_scale_out() {
        let clock = FakeClock::new(Timestamp::from_millis(10_000_000));
        let mut s = situation(6, clock.now());
        let first = decide(&s, |b| tracking_capacity(b, 30.0, 60.0));
        assert_eq!(
            first,
            Outcome::Scale {
                to: 3,
                direction: Direction::In
            }
        );
        s.cooldown = after(s.cooldown, first, 6, clock.now());
        s.current = 3;
        clock.advance(2 * MIN);
        s.now = clock.now();
        assert_eq!(
            decide(&s, |b| tracking_capacity(b, 10.0, 60.0)),
            Outcome::Nothing("in the scale-in cooldown")
        );
        assert_eq!(
            decide(&s, |b| tracking_capacity(b, 120.0, 60.0)),
            Outcome::Scale {
                to: 6,
                direction: Direction::Out
            }
        );
        let out = decide(&s, |b| tracking_capacity(b, 120.0, 60.0));
        assert_eq!(after(s.cooldown, out, 3, clock.now()).last_scale_in, None);
        clock.advance(3 * MIN);
        s.now = clock.now();
        assert_eq!(
            decide(&s, |b| tracking_capacity(b, 10.0, 60.0)),
            Outcome::Scale {
                to: 2,
                direction: Direction::In
            }
        );
    }

    #[test]
    fn suspension_and_disabled_scale_in() {
        let now = Timestamp::from_millis(1);
        let mut s = situation(4, now);
        s.suspended.dynamic_out = true;
        assert_eq!(
            decide(&s, |b| tracking_capacity(b, 120.0, 60.0)),
            Outcome::Nothing("dynamic scale-out is suspended")
        );
        s.suspended = Suspension {
            dynamic_in: true,
            ..Suspension::default()
        };
        assert_eq!(
            decide(&s, |b| tracking_capacity(b, 10.0, 60.0)),
            Outcome::Nothing("dynamic scale-in is suspended")
        );
        s.suspended = Suspension::default();
        s.scale_in_disabled = true;
        assert_eq!(
            decide(&s, |b| tracking_capacity(b, 10.0, 60.0)),
            Outcome::Nothing("scale-in is disabled")
        );
    }
}
