//! Step adjustments, pure: AWS's validation of a step scaling policy's steps, and which step an
//! alarm's breach falls in.
//!
//! Bounds are relative to the alarm's threshold (`metric - threshold`). AWS's rules (user
//! guide, "Step scaling policies"): the steps may not overlap nor leave a gap; at most one step
//! has no lower bound (minus infinity) and at most one no upper bound (plus infinity); no step
//! leaves both out; a negative lower bound needs a step without lower bound, a positive upper
//! bound a step without upper bound; each upper bound is above its lower bound; at most 20
//! steps. A breach at or above the threshold falls in the step whose lower bound is inclusive
//! and upper bound exclusive; below it, lower bound exclusive and upper bound inclusive.

use crate::generated::Error;
use crate::records::Step;

/// Most steps a policy may have.
pub const MAX_STEPS: usize = 20;

fn invalid(message: &str) -> Error {
    Error::ValidationException(message.into())
}

/// Refuses steps that break AWS's rules.
pub fn validate(steps: &[Step]) -> Result<(), Error> {
    if steps.is_empty() {
        return Err(invalid(
            "StepAdjustments must contain at least one step adjustment",
        ));
    }
    if steps.len() > MAX_STEPS {
        return Err(invalid(
            "There can be at most 20 step adjustments per scaling policy",
        ));
    }
    for s in steps {
        if s.lower.is_none() && s.upper.is_none() {
            return Err(invalid(
                "Both lower and upper bounds of a step adjustment cannot be left unspecified",
            ));
        }
        if let (Some(l), Some(u)) = (s.lower, s.upper) {
            if u <= l {
                return Err(invalid(
                    "The upper bound of a step adjustment must be greater than its lower bound",
                ));
            }
        }
    }
    if steps.iter().filter(|s| s.lower.is_none()).count() > 1 {
        return Err(invalid(
            "Only one step adjustment can have an unspecified lower bound",
        ));
    }
    if steps.iter().filter(|s| s.upper.is_none()).count() > 1 {
        return Err(invalid(
            "Only one step adjustment can have an unspecified upper bound",
        ));
    }
    if steps.iter().any(|s| s.lower.is_some_and(|l| l < 0.0))
        && !steps.iter().any(|s| s.lower.is_none())
    {
        return Err(invalid(
            "There must be a StepAdjustment with an unspecified lower bound (i.e., lower bound \
             is null) when one StepAdjustment has a negative lower bound",
        ));
    }
    if steps.iter().any(|s| s.upper.is_some_and(|u| u > 0.0))
        && !steps.iter().any(|s| s.upper.is_none())
    {
        return Err(invalid(
            "There must be a StepAdjustment with an unspecified upper bound (i.e., upper bound \
             is null) when one StepAdjustment has a positive upper bound",
        ));
    }
    let mut sorted: Vec<&Step> = steps.iter().collect();
    sorted.sort_by(|a, b| {
        a.lower
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&b.lower.unwrap_or(f64::NEG_INFINITY))
    });
    for pair in sorted.windows(2) {
        let upper = pair[0].upper.unwrap_or(f64::INFINITY);
        let lower = pair[1].lower.unwrap_or(f64::NEG_INFINITY);
        if upper > lower {
            return Err(invalid("Step adjustments must not overlap"));
        }
        if upper < lower {
            return Err(invalid(
                "There must be no gap between step adjustments: each upper bound must be the \
                 next step adjustment's lower bound",
            ));
        }
    }
    Ok(())
}

/// The step `breach` (metric minus threshold) falls in.
pub fn select(steps: &[Step], breach: f64) -> Option<&Step> {
    steps.iter().find(|s| {
        let lower = s.lower.unwrap_or(f64::NEG_INFINITY);
        let upper = s.upper.unwrap_or(f64::INFINITY);
        if breach >= 0.0 {
            lower <= breach && breach < upper
        } else {
            lower < breach && breach <= upper
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(lower: Option<f64>, upper: Option<f64>, adjustment: i32) -> Step {
        Step {
            lower,
            upper,
            adjustment,
        }
    }

    fn message(steps: &[Step]) -> String {
        match validate(steps) {
            Err(Error::ValidationException(m)) => m,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn contiguous_steps_are_valid() {
        let steps = [
            step(Some(0.0), Some(10.0), 1),
            step(Some(10.0), Some(20.0), 2),
            step(Some(20.0), None, 3),
        ];
        assert_eq!(validate(&steps), Ok(()));
        assert_eq!(validate(&[step(None, Some(0.0), -1)]), Ok(()));
        assert_eq!(validate(&[step(Some(0.0), None, 1)]), Ok(()));
        assert_eq!(
            validate(&[step(None, Some(-5.0), -2), step(Some(-5.0), Some(0.0), -1)]),
            Ok(())
        );
    }

    #[test]
    fn aws_rules_are_enforced() {
        assert!(message(&[]).contains("at least one"));
        assert!(message(&[step(None, None, 1)]).contains("cannot be left unspecified"));
        assert!(
            message(&[step(Some(5.0), Some(5.0), 1), step(Some(5.0), None, 1)])
                .contains("greater than its lower bound")
        );
        assert!(
            message(&[step(Some(0.0), Some(10.0), 1), step(Some(5.0), None, 2)])
                .contains("overlap")
        );
        assert!(
            message(&[step(Some(0.0), Some(10.0), 1), step(Some(15.0), None, 2)])
                .contains("no gap")
        );
        assert!(message(&[step(Some(0.0), Some(10.0), 1)]).contains("unspecified upper bound"));
        assert!(message(&[step(Some(-10.0), Some(0.0), -1)]).contains("unspecified lower bound"));
        assert!(
            message(&[step(None, Some(0.0), 1), step(None, Some(-1.0), 1)])
                .contains("Only one step adjustment can have an unspecified lower bound")
        );
        let many: Vec<Step> = (0..21)
            .map(|i| {
                step(
                    Some(f64::from(i)),
                    if i == 20 {
                        None
                    } else {
                        Some(f64::from(i + 1))
                    },
                    1,
                )
            })
            .collect();
        assert!(message(&many).contains("at most 20"));
    }

    #[test]
    fn breach_picks_its_step_with_aws_inclusive_bounds() {
        let up = [step(Some(0.0), Some(10.0), 1), step(Some(10.0), None, 3)];
        assert_eq!(select(&up, 0.0).map(|s| s.adjustment), Some(1));
        assert_eq!(select(&up, 9.9).map(|s| s.adjustment), Some(1));
        assert_eq!(select(&up, 10.0).map(|s| s.adjustment), Some(3));
        assert_eq!(select(&up, -1.0).map(|s| s.adjustment), None);
        let down = [
            step(None, Some(-10.0), -3),
            step(Some(-10.0), Some(0.0), -1),
        ];
        assert_eq!(select(&down, -0.5).map(|s| s.adjustment), Some(-1));
        assert_eq!(select(&down, -10.0).map(|s| s.adjustment), Some(-3));
        assert_eq!(select(&down, -5.0).map(|s| s.adjustment), Some(-1));
    }
}
