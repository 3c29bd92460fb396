//! Where a service's new tasks go: AWS spreads a Fargate service's tasks across the
//! Availability Zones of its subnets. Each new task goes to the zone that has the fewest of the
//! service's tasks (counting the ones placed before it), and within a zone to its subnet with
//! the fewest; ties go to the subnet listed first.

use std::collections::BTreeMap;

/// A subnet the service may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetSlot {
    /// `subnet-...`.
    pub id: String,
    /// Its Availability Zone.
    pub availability_zone: String,
}

/// The subnet of each of `count` new tasks, given how many of the service's tasks already run
/// in each subnet (`existing`, by subnet id).
pub fn spread(
    subnets: &[SubnetSlot],
    existing: &BTreeMap<String, usize>,
    count: u32,
) -> Vec<String> {
    if subnets.is_empty() {
        return Vec::new();
    }
    let mut per_subnet: Vec<usize> = subnets
        .iter()
        .map(|s| existing.get(&s.id).copied().unwrap_or(0))
        .collect();
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let per_zone = |z: &str, counts: &[usize]| -> usize {
            subnets
                .iter()
                .zip(counts)
                .filter(|(s, _)| s.availability_zone == z)
                .map(|(_, n)| n)
                .sum()
        };
        let best = (0..subnets.len())
            .min_by_key(|&i| {
                (
                    per_zone(&subnets[i].availability_zone, &per_subnet),
                    per_subnet[i],
                    i,
                )
            })
            .unwrap_or(0);
        per_subnet[best] += 1;
        out.push(subnets[best].id.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(id: &str, az: &str) -> SubnetSlot {
        SubnetSlot {
            id: id.into(),
            availability_zone: az.into(),
        }
    }

    #[test]
    fn new_tasks_balance_zones_then_subnets() {
        let subnets = [slot("a1", "a"), slot("a2", "a"), slot("b1", "b")];
        let none = BTreeMap::new();
        assert_eq!(spread(&subnets, &none, 4), ["a1", "b1", "a2", "b1"]);
        let existing = BTreeMap::from([("a1".to_string(), 2), ("b1".to_string(), 1)]);
        assert_eq!(spread(&subnets, &existing, 2), ["b1", "a2"]);
        assert!(spread(&[], &none, 3).is_empty());
    }
}
