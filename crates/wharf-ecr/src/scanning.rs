//! Image scanning as wharf can offer it: the registry's scanning configuration (scan type and
//! rules, each a frequency for the repositories its `WILDCARD` filters name), what applies to a
//! repository, and the one honest outcome of a scan. wharf has no vulnerability database (it
//! runs offline), so a scan asked for (StartImageScan, or a push to a repository that scans on
//! push) is recorded as `FAILED` with a description that says why; it never reports findings it
//! did not look for.

use crate::records::{
    registry_key, RegistryRecord, RepoRef, StoredRepository, StoredScan, StoredScanRule, REGISTRIES,
};
use crate::syntax::wildcard_match;
use wharf_store::{StoreError, Tx};

/// The status of every scan wharf records.
pub const NO_SCAN_STATUS: &str = "FAILED";

/// Why no scan ran.
pub const NO_SCAN_DESCRIPTION: &str = "wharf has no vulnerability database (it runs offline), so no vulnerability scan ran for this image";

/// The scan wharf records when one is asked for.
pub fn no_scan() -> StoredScan {
    StoredScan {
        status: NO_SCAN_STATUS.into(),
        description: NO_SCAN_DESCRIPTION.into(),
    }
}

/// The registry record of `account` in `region` (empty when nothing was set).
pub fn registry(tx: &Tx<'_>, account: &str, region: &str) -> Result<RegistryRecord, StoreError> {
    Ok(tx
        .get(REGISTRIES, &registry_key(account, region))?
        .unwrap_or_default())
}

/// The registry rule that applies to repository `name`: the first whose filters name it.
pub fn rule_for<'a>(rules: &'a [StoredScanRule], name: &str) -> Option<&'a StoredScanRule> {
    rules
        .iter()
        .find(|r| r.filters.iter().any(|f| wildcard_match(f, name)))
}

/// Whether a push to `repo` asks for a scan: its own `scanOnPush`, or a registry rule with
/// frequency `SCAN_ON_PUSH` that names it.
pub fn scans_on_push(
    tx: &Tx<'_>,
    repo: &RepoRef,
    repository: &StoredRepository,
) -> Result<bool, StoreError> {
    let own = repository
        .image_scanning_configuration
        .as_ref()
        .and_then(|c| c.scan_on_push)
        .unwrap_or(false);
    if own {
        return Ok(true);
    }
    let registry = registry(tx, &repo.account, &repo.region)?;
    Ok(rule_for(&registry.scan_rules, &repo.name).is_some_and(|r| r.frequency == "SCAN_ON_PUSH"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_rule_naming_a_repository_applies() {
        let rules = vec![
            StoredScanRule {
                frequency: "SCAN_ON_PUSH".into(),
                filters: vec!["prod-*".into()],
            },
            StoredScanRule {
                frequency: "MANUAL".into(),
                filters: vec!["*".into()],
            },
        ];
        assert_eq!(
            rule_for(&rules, "prod-api").unwrap().frequency,
            "SCAN_ON_PUSH"
        );
        assert_eq!(rule_for(&rules, "dev-api").unwrap().frequency, "MANUAL");
        assert!(rule_for(&rules[..1], "dev-api").is_none());
    }
}
