//! A container's resource usage counters, read from one sample of the Docker Engine's stats
//! format (`GET /containers/{id}/stats?stream=false&one-shot=true`, the document the task
//! metadata endpoint's `stats` also shows): the cumulative CPU time and the memory in use,
//! counted as the Docker CLI counts it (usage minus the inactive page cache:
//! `total_inactive_file` on cgroup v1, `inactive_file` on cgroup v2). A one-shot sample has no
//! previous CPU reading (`precpu_stats` is empty), so a rate needs two samples: the caller keeps
//! the previous one.

use serde_json::Value;
use wharf_core::Timestamp;

/// The usage counters of one container at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerUsage {
    /// When the engine read the counters (its `read` field), when it says.
    pub read_at: Option<Timestamp>,
    /// CPU time used since the container started, in nanoseconds (`cpu_usage.total_usage`).
    pub cpu_total_ns: u64,
    /// Memory in use without the inactive page cache, in bytes.
    pub memory_used_bytes: u64,
}

impl ContainerUsage {
    /// The counters of an engine stats document, or `None` when it has none (a container that
    /// is not running answers zeros and no `read` time: also `None`).
    pub fn from_engine_stats(stats: &Value) -> Option<Self> {
        let cpu_total_ns = stats
            .pointer("/cpu_stats/cpu_usage/total_usage")
            .and_then(Value::as_u64)?;
        let memory = stats.get("memory_stats")?;
        let usage = memory.get("usage").and_then(Value::as_u64)?;
        let read_at = stats
            .get("read")
            .and_then(Value::as_str)
            .and_then(parse_read_time);
        if cpu_total_ns == 0 && usage == 0 && read_at.is_none() {
            return None;
        }
        Some(Self {
            read_at,
            cpu_total_ns,
            memory_used_bytes: memory_without_cache(usage, memory.get("stats")),
        })
    }
}

/// The Docker CLI's `calculateMemUsageUnixNoCache`: usage minus `total_inactive_file` (cgroup
/// v1) or `inactive_file` (cgroup v2), when smaller than the usage.
fn memory_without_cache(usage: u64, stats: Option<&Value>) -> u64 {
    let counter = |name: &str| stats.and_then(|s| s.get(name)).and_then(Value::as_u64);
    let cache = counter("total_inactive_file").or_else(|| counter("inactive_file"));
    match cache {
        Some(c) if c < usage => usage - c,
        _ => usage,
    }
}

/// The engine's `read` time (RFC 3339 with nanoseconds); the zero time means "not read".
fn parse_read_time(text: &str) -> Option<Timestamp> {
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    let millis = t.timestamp_millis();
    (millis > 0).then(|| Timestamp::from_millis(millis))
}

/// An engine stats document holding `usage` (what the fake runtime answers), with the page cache
/// as cgroup v2 reports it.
pub fn engine_stats_document(usage: &ContainerUsage, inactive_file: u64) -> Value {
    let read = usage
        .read_at
        .and_then(|t| chrono::DateTime::from_timestamp_millis(t.millis))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
    serde_json::json!({
        "read": read,
        "preread": "0001-01-01T00:00:00Z",
        "cpu_stats": {"cpu_usage": {"total_usage": usage.cpu_total_ns}},
        "precpu_stats": {"cpu_usage": {"total_usage": 0}},
        "memory_stats": {
            "usage": usage.memory_used_bytes + inactive_file,
            "stats": {"inactive_file": inactive_file},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cgroup_v2_sample() {
        let s = json!({
            "read": "2026-12-07T10:00:00.250000000Z",
            "cpu_stats": {"cpu_usage": {"total_usage": 5_000_000_000u64}},
            "memory_stats": {"usage": 300u64 << 20, "stats": {"inactive_file": 100u64 << 20}},
        });
        let u = ContainerUsage::from_engine_stats(&s).unwrap();
        assert_eq!(u.cpu_total_ns, 5_000_000_000);
        assert_eq!(u.memory_used_bytes, 200 << 20);
        assert_eq!(u.read_at, Some(Timestamp::from_millis(1_796_637_600_250)));
    }

    #[test]
    fn cgroup_v1_uses_total_inactive_file() {
        let s = json!({
            "read": "2026-12-07T10:00:00Z",
            "cpu_stats": {"cpu_usage": {"total_usage": 1u64}},
            "memory_stats": {"usage": 1000u64, "stats": {"total_inactive_file": 400u64, "inactive_file": 1u64}},
        });
        assert_eq!(
            ContainerUsage::from_engine_stats(&s)
                .unwrap()
                .memory_used_bytes,
            600
        );
        // A cache counter not below the usage is ignored, as the Docker CLI does.
        let s = json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 1u64}},
            "memory_stats": {"usage": 1000u64, "stats": {"inactive_file": 5000u64}},
        });
        let u = ContainerUsage::from_engine_stats(&s).unwrap();
        assert_eq!(u.memory_used_bytes, 1000);
        assert_eq!(u.read_at, None);
    }

    #[test]
    fn stopped_or_empty_samples_have_no_usage() {
        assert_eq!(ContainerUsage::from_engine_stats(&json!({})), None);
        let stopped = json!({
            "read": "0001-01-01T00:00:00Z",
            "cpu_stats": {"cpu_usage": {"total_usage": 0}},
            "memory_stats": {"usage": 0},
        });
        assert_eq!(ContainerUsage::from_engine_stats(&stopped), None);
    }

    #[test]
    fn documents_round_trip() {
        let u = ContainerUsage {
            read_at: Some(Timestamp::from_millis(1_700_000_000_123)),
            cpu_total_ns: 42,
            memory_used_bytes: 7 << 20,
        };
        let doc = engine_stats_document(&u, 3 << 20);
        assert_eq!(ContainerUsage::from_engine_stats(&doc), Some(u));
    }
}
