//! Scale-in selection: which of a service's surplus tasks the scheduler stops, in order.
//!
//! The rule (AWS documents the first and third; the others are wharf's, written down here):
//! 1. tasks that are not healthy first — stopping them costs no capacity;
//! 2. then tasks of older deployments before newer ones (tasks of deployments no longer listed
//!    first of all), and the PRIMARY's own surplus last;
//! 3. then a task from the Availability Zone that has the most of the service's remaining
//!    tasks, recounted after every pick, so the service stays balanced across AZs;
//! 4. then the newest task (latest `startedAt`; never-started tasks count as newest, then the
//!    latest `createdAt`), keeping the tasks that have proven themselves longest;
//! 5. then the task id, so the choice is deterministic.
//!
//! A healthy task is picked only while the healthy count stays at or above the minimum.

use std::collections::BTreeMap;

/// One task the scheduler may stop.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The task's id.
    pub id: &'a str,
    /// Rank of its deployment: 0 for the oldest (or unknown) deployment, larger for newer ones;
    /// `None` for the PRIMARY deployment.
    pub deployment_rank: Option<usize>,
    /// Whether it counts as healthy.
    pub healthy: bool,
    /// Its Availability Zone.
    pub az: &'a str,
    /// `startedAt`, or `None` if it never reached RUNNING.
    pub started_at: Option<i64>,
    /// `createdAt`.
    pub created_at: i64,
}

/// Picks the tasks to stop from `candidates`, in order: every non-PRIMARY task and at most
/// `primary_surplus` PRIMARY tasks, never taking `healthy` below `min_healthy`. `az_counts`
/// holds how many of the service's remaining tasks each AZ has.
pub fn pick<'a>(
    candidates: &[Candidate<'a>],
    mut primary_surplus: usize,
    mut healthy: u32,
    min_healthy: u32,
    mut az_counts: BTreeMap<String, usize>,
) -> Vec<&'a str> {
    let mut left: Vec<&Candidate<'a>> = candidates.iter().collect();
    let mut out = Vec::new();
    loop {
        left.retain(|c| c.deployment_rank.is_some() || primary_surplus > 0);
        let best = left.iter().enumerate().min_by(|(_, a), (_, b)| {
            let key = |c: &Candidate| {
                (
                    c.healthy,
                    c.deployment_rank.map_or(usize::MAX, |r| r),
                    std::cmp::Reverse(az_counts.get(c.az).copied().unwrap_or(0)),
                    std::cmp::Reverse(c.started_at.unwrap_or(i64::MAX)),
                    std::cmp::Reverse(c.created_at),
                )
            };
            key(a).cmp(&key(b)).then_with(|| a.id.cmp(b.id))
        });
        let Some((i, c)) = best.map(|(i, c)| (i, *c)) else {
            break;
        };
        if c.healthy {
            if healthy <= min_healthy {
                break;
            }
            healthy -= 1;
        }
        if c.deployment_rank.is_none() {
            primary_surplus -= 1;
        }
        if let Some(n) = az_counts.get_mut(c.az) {
            *n = n.saturating_sub(1);
        }
        out.push(c.id);
        left.remove(i);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c<'a>(
        id: &'a str,
        rank: Option<usize>,
        healthy: bool,
        az: &'a str,
        started: i64,
    ) -> Candidate<'a> {
        Candidate {
            id,
            deployment_rank: rank,
            healthy,
            az,
            started_at: Some(started),
            created_at: started - 1,
        }
    }

    fn azs(cands: &[Candidate]) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for c in cands {
            *m.entry(c.az.to_string()).or_insert(0) += 1;
        }
        m
    }

    #[test]
    fn unhealthy_first_then_older_deployments_then_primary_surplus() {
        let cands = [
            c("p1", None, true, "a", 10),
            c("p2", None, false, "a", 11),
            c("old", Some(0), true, "b", 1),
            c("mid", Some(1), true, "b", 5),
        ];
        let got = pick(&cands, 1, 3, 0, azs(&cands));
        assert_eq!(got, ["p2", "old", "mid"]);
    }

    #[test]
    fn spreads_scale_in_across_azs_then_newest_first() {
        let cands = [
            c("a1", None, true, "a", 1),
            c("a2", None, true, "a", 2),
            c("a3", None, true, "a", 3),
            c("b1", None, true, "b", 4),
            c("b2", None, true, "b", 5),
            c("c1", None, true, "c", 6),
        ];
        // From 3/2/1 to 1/1/1: two from AZ a, newest first... then b's newest.
        let got = pick(&cands, 3, 6, 0, azs(&cands));
        assert_eq!(got, ["a3", "b2", "a2"]);
    }

    #[test]
    fn never_takes_healthy_below_the_minimum() {
        let cands = [
            c("o1", Some(0), true, "a", 1),
            c("o2", Some(0), true, "a", 2),
            c("o3", Some(0), false, "a", 3),
        ];
        let got = pick(&cands, 0, 4, 3, azs(&cands));
        assert_eq!(got, ["o3", "o2"]);
    }
}
