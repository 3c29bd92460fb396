//! Fargate's task size rules: the valid task-level CPU / memory combinations, and the ways a
//! task definition may write them ("1024", "1 vCPU", "0.25 vcpu", "2 GB").

/// Parses a task-level `cpu` value into CPU units (1 vCPU = 1024).
pub fn parse_cpu(text: &str) -> Option<u32> {
    let t = text.trim().to_ascii_lowercase();
    if let Some(v) = t.strip_suffix("vcpu") {
        let v: f64 = v.trim().parse().ok()?;
        return to_units(v * 1024.0);
    }
    t.parse().ok()
}

/// Parses a task-level `memory` value into MiB.
pub fn parse_memory(text: &str) -> Option<u32> {
    let t = text.trim().to_ascii_lowercase();
    if let Some(v) = t.strip_suffix("gb") {
        let v: f64 = v.trim().parse().ok()?;
        return to_units(v * 1024.0);
    }
    if let Some(v) = t.strip_suffix("mb").or_else(|| t.strip_suffix("mib")) {
        return v.trim().parse().ok();
    }
    t.parse().ok()
}

fn to_units(v: f64) -> Option<u32> {
    (v.fract() == 0.0 && v > 0.0 && v <= f64::from(u32::MAX)).then_some(v as u32)
}

/// Whether Fargate offers a task with `cpu` units and `memory` MiB.
pub fn valid_combination(cpu: u32, memory: u32) -> bool {
    // (cpu, lowest memory, highest memory, step), from the AWS Fargate task size table.
    const TABLE: &[(u32, u32, u32, u32)] = &[
        (256, 512, 512, 1),
        (256, 1024, 2048, 1024),
        (512, 1024, 4096, 1024),
        (1024, 2048, 8192, 1024),
        (2048, 4096, 16384, 1024),
        (4096, 8192, 30720, 1024),
        (8192, 16384, 61440, 4096),
        (16384, 32768, 122880, 8192),
    ];
    TABLE.iter().any(|&(c, lo, hi, step)| {
        c == cpu && memory >= lo && memory <= hi && (memory - lo).is_multiple_of(step)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_seeds_sizes() {
        assert!(valid_combination(256, 512));
        assert!(valid_combination(512, 1024));
        assert!(valid_combination(1024, 2048));
        assert!(valid_combination(4096, 30720));
        assert!(valid_combination(8192, 20480));
        assert!(valid_combination(16384, 40960));
    }

    #[test]
    fn refuses_other_sizes() {
        assert!(!valid_combination(256, 4096));
        assert!(!valid_combination(512, 512));
        assert!(!valid_combination(1024, 2500));
        assert!(!valid_combination(8192, 17408));
        assert!(!valid_combination(300, 1024));
    }

    #[test]
    fn parses_units() {
        assert_eq!(parse_cpu("1 vCPU"), Some(1024));
        assert_eq!(parse_cpu("0.25 vcpu"), Some(256));
        assert_eq!(parse_cpu("512"), Some(512));
        assert_eq!(parse_cpu("lots"), None);
        assert_eq!(parse_memory("2 GB"), Some(2048));
        assert_eq!(parse_memory("0.5GB"), Some(512));
        assert_eq!(parse_memory("1024"), Some(1024));
        assert_eq!(parse_memory("-1"), None);
    }
}
