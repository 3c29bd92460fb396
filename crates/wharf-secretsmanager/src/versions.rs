//! Versions and staging labels (pure): a new version takes its labels from the other versions
//! (AWSCURRENT moving leaves AWSPREVIOUS behind), UpdateSecretVersionStage moves one label with
//! AWS's checks, and deprecated versions (no labels) are dropped past the version quota.

use crate::generated::Error;
use crate::records::{StoredSecret, StoredVersion, AWSCURRENT, AWSPREVIOUS};
use wharf_core::Timestamp;

/// Most staging labels one version can have.
pub const MAX_LABELS_PER_VERSION: usize = 20;
/// Secrets Manager keeps this many versions of a secret...
pub const KEPT_VERSIONS: usize = 100;
/// ...but never removes a version younger than this.
pub const VERSION_MIN_AGE_MS: i64 = 24 * 60 * 60 * 1000;

/// Adds `version` to `secret` with the staging labels `requested` (PutSecretValue's
/// `VersionStages`; `None`: AWSCURRENT). The first version of a secret always gets AWSCURRENT.
/// Each label is taken off the version that had it; when AWSCURRENT moves, AWSPREVIOUS goes to
/// the version it moved from. Returns the ids of deprecated versions dropped to stay within the
/// quota (their values must be deleted too).
pub fn add_version(
    secret: &mut StoredSecret,
    mut version: StoredVersion,
    requested: Option<&[String]>,
    now: Timestamp,
) -> Result<Vec<String>, Error> {
    let mut labels: Vec<String> = Vec::new();
    for label in requested.unwrap_or(&[AWSCURRENT.to_string()]) {
        if !labels.contains(label) {
            labels.push(label.clone());
        }
    }
    if secret.versions.is_empty() && !labels.iter().any(|l| l == AWSCURRENT) {
        labels.push(AWSCURRENT.to_string());
    }
    if labels.len() > MAX_LABELS_PER_VERSION {
        return Err(Error::LimitExceededException(format!(
            "a version can have at most {MAX_LABELS_PER_VERSION} staging labels; VersionStages names {}.",
            labels.len()
        )));
    }
    let old_current = labels
        .iter()
        .any(|l| l == AWSCURRENT)
        .then(|| secret.version_with_stage(AWSCURRENT).map(|v| v.id.clone()))
        .flatten();
    for v in &mut secret.versions {
        v.stages.retain(|s| !labels.contains(s));
    }
    if let Some(old) = old_current {
        if !labels.iter().any(|l| l == AWSPREVIOUS) {
            attach_previous(secret, &old);
        }
    }
    version.stages = labels;
    secret.versions.push(version);
    Ok(prune(secret, now))
}

/// Moves AWSPREVIOUS to version `id`.
fn attach_previous(secret: &mut StoredSecret, id: &str) {
    for v in &mut secret.versions {
        v.stages.retain(|s| s != AWSPREVIOUS);
        if v.id == id {
            v.stages.push(AWSPREVIOUS.to_string());
        }
    }
}

/// Drops the oldest deprecated versions older than a day while the secret has more than
/// [`KEPT_VERSIONS`]; returns their ids.
pub fn prune(secret: &mut StoredSecret, now: Timestamp) -> Vec<String> {
    let mut dropped = Vec::new();
    while secret.versions.len() > KEPT_VERSIONS {
        let Some(i) = secret.versions.iter().position(|v| {
            v.stages.is_empty() && now.millis - v.created.millis >= VERSION_MIN_AGE_MS
        }) else {
            break;
        };
        dropped.push(secret.versions.remove(i).id);
    }
    dropped
}

/// UpdateSecretVersionStage: attaches `label` to `move_to`, removes it from `remove_from`, or
/// moves it from one to the other. A label attached to another version can only be moved by
/// naming that version in `remove_from`; AWSCURRENT cannot just be removed. Moving AWSCURRENT
/// moves AWSPREVIOUS to the version it left.
pub fn move_label(
    secret: &mut StoredSecret,
    label: &str,
    remove_from: Option<&str>,
    move_to: Option<&str>,
) -> Result<(), Error> {
    let holder = secret.version_with_stage(label).map(|v| v.id.clone());
    if remove_from.is_none() && move_to.is_none() {
        return Err(Error::InvalidParameterException(format!(
            "Specify MoveToVersionId to attach the staging label {label}, RemoveFromVersionId to remove it, or both to move it."
        )));
    }
    if let Some(rm) = remove_from {
        if secret.version(rm).is_none() {
            return Err(Error::InvalidParameterException(format!(
                "RemoveFromVersionId {rm} is not a version of secret {}.",
                secret.name
            )));
        }
        if holder.as_deref() != Some(rm) {
            return Err(Error::InvalidParameterException(format!(
                "The staging label {label} is not attached to version {rm} (RemoveFromVersionId)."
            )));
        }
    }
    match move_to {
        Some(mv) => {
            let Some(target) = secret.version(mv) else {
                return Err(Error::InvalidParameterException(format!(
                    "MoveToVersionId {mv} is not a version of secret {}.",
                    secret.name
                )));
            };
            if let Some(h) = holder.as_deref() {
                if h != mv && remove_from != Some(h) {
                    return Err(Error::InvalidParameterException(format!(
                        "The parameter RemoveFromVersionId can't be empty. Staging label {label} is currently attached to version {h}, so you must explicitly reference that version in RemoveFromVersionId."
                    )));
                }
            }
            if !target.stages.iter().any(|s| s == label)
                && target.stages.len() >= MAX_LABELS_PER_VERSION
            {
                return Err(Error::LimitExceededException(format!(
                    "version {mv} already has {MAX_LABELS_PER_VERSION} staging labels, the most a version can have."
                )));
            }
        }
        None if label == AWSCURRENT => {
            return Err(Error::InvalidParameterException(format!(
                "The staging label {AWSCURRENT} can't be removed from version {} without moving it to another version: specify MoveToVersionId.",
                remove_from.unwrap_or_default()
            )));
        }
        None => {}
    }

    if let Some(rm) = remove_from {
        for v in secret.versions.iter_mut().filter(|v| v.id == rm) {
            v.stages.retain(|s| s != label);
        }
    }
    if let Some(mv) = move_to {
        for v in secret.versions.iter_mut().filter(|v| v.id == mv) {
            if !v.stages.iter().any(|s| s == label) {
                v.stages.push(label.to_string());
            }
        }
        if label == AWSCURRENT {
            if let Some(h) = holder.filter(|h| h != mv) {
                attach_previous(secret, &h);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> StoredSecret {
        StoredSecret {
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AAAAAA".into(),
            name: "s".into(),
            description: None,
            kms_key_id: None,
            kind: None,
            created: Timestamp::from_millis(0),
            last_changed: Timestamp::from_millis(0),
            last_accessed: None,
            deletion: None,
            tags: vec![],
            versions: vec![],
        }
    }

    fn version(id: &str, at: i64) -> StoredVersion {
        StoredVersion {
            id: id.into(),
            stages: vec![],
            created: Timestamp::from_millis(at),
            last_accessed: None,
            kms_key_id: None,
        }
    }

    fn stages(s: &StoredSecret) -> Vec<(String, Vec<String>)> {
        s.versions
            .iter()
            .map(|v| (v.id.clone(), v.stages.clone()))
            .collect()
    }

    fn labels(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn current_moves_and_previous_follows() {
        let mut s = secret();
        let now = Timestamp::from_millis(0);
        add_version(&mut s, version("v1", 0), None, now).unwrap();
        add_version(&mut s, version("v2", 1), None, now).unwrap();
        add_version(&mut s, version("v3", 2), None, now).unwrap();
        assert_eq!(
            stages(&s),
            vec![
                ("v1".into(), vec![]),
                ("v2".into(), labels(&["AWSPREVIOUS"])),
                ("v3".into(), labels(&["AWSCURRENT"])),
            ]
        );
        // A version with its own label leaves AWSCURRENT where it is.
        add_version(
            &mut s,
            version("v4", 3),
            Some(&labels(&["AWSPENDING"])),
            now,
        )
        .unwrap();
        assert_eq!(s.version_with_stage("AWSCURRENT").unwrap().id, "v3");
        assert_eq!(s.version_with_stage("AWSPENDING").unwrap().id, "v4");
        // A label named again moves to the new version.
        add_version(
            &mut s,
            version("v5", 4),
            Some(&labels(&["AWSPENDING", "blue"])),
            now,
        )
        .unwrap();
        assert!(s.version("v4").unwrap().stages.is_empty());
        assert_eq!(
            s.version("v5").unwrap().stages,
            labels(&["AWSPENDING", "blue"])
        );
    }

    #[test]
    fn the_first_version_is_always_current() {
        let mut s = secret();
        add_version(
            &mut s,
            version("v1", 0),
            Some(&labels(&["blue"])),
            Timestamp::from_millis(0),
        )
        .unwrap();
        assert_eq!(
            s.version("v1").unwrap().stages,
            labels(&["blue", "AWSCURRENT"])
        );
    }

    #[test]
    fn deprecated_versions_older_than_a_day_are_dropped_past_the_quota() {
        let mut s = secret();
        let day = VERSION_MIN_AGE_MS;
        for i in 0..KEPT_VERSIONS {
            add_version(
                &mut s,
                version(&format!("old{i}"), 0),
                None,
                Timestamp::from_millis(0),
            )
            .unwrap();
        }
        // Young deprecated versions are kept even past the quota.
        let dropped = add_version(
            &mut s,
            version("young", day - 1),
            None,
            Timestamp::from_millis(day - 1),
        )
        .unwrap();
        assert!(dropped.is_empty());
        assert_eq!(s.versions.len(), KEPT_VERSIONS + 1);
        let dropped = add_version(
            &mut s,
            version("new", day),
            None,
            Timestamp::from_millis(day),
        )
        .unwrap();
        assert_eq!(dropped, vec!["old0".to_string(), "old1".to_string()]);
        assert_eq!(s.versions.len(), KEPT_VERSIONS);
        assert_eq!(s.version_with_stage("AWSCURRENT").unwrap().id, "new");
        assert_eq!(s.version_with_stage("AWSPREVIOUS").unwrap().id, "young");
    }

    #[test]
    fn moving_labels_follows_aws_rules() {
        let mut s = secret();
        let now = Timestamp::from_millis(0);
        add_version(&mut s, version("v1", 0), None, now).unwrap();
        add_version(&mut s, version("v2", 1), None, now).unwrap();
        add_version(&mut s, version("v3", 2), None, now).unwrap();

        // AWSCURRENT is on v3: moving it needs RemoveFromVersionId v3.
        let err = move_label(&mut s, "AWSCURRENT", None, Some("v1")).unwrap_err();
        assert_eq!(
            err,
            Error::InvalidParameterException("The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version v3, so you must explicitly reference that version in RemoveFromVersionId.".into())
        );
        let err = move_label(&mut s, "AWSCURRENT", Some("v2"), Some("v1")).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameterException(m) if m.contains("not attached to version v2"))
        );
        let err = move_label(&mut s, "AWSCURRENT", Some("v3"), None).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameterException(m) if m.contains("without moving it"))
        );
        let err = move_label(&mut s, "AWSCURRENT", Some("v3"), Some("nope")).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameterException(m) if m.contains("MoveToVersionId nope"))
        );
        let err = move_label(&mut s, "x", None, None).unwrap_err();
        assert!(matches!(err, Error::InvalidParameterException(_)));

        // Roll back to v1: AWSPREVIOUS goes to v3, the version AWSCURRENT left.
        move_label(&mut s, "AWSCURRENT", Some("v3"), Some("v1")).unwrap();
        assert_eq!(
            stages(&s),
            vec![
                ("v1".into(), labels(&["AWSCURRENT"])),
                ("v2".into(), vec![]),
                ("v3".into(), labels(&["AWSPREVIOUS"])),
            ]
        );
        // A free label is attached without RemoveFromVersionId, and removed with it alone.
        move_label(&mut s, "blue", None, Some("v2")).unwrap();
        assert_eq!(s.version("v2").unwrap().stages, labels(&["blue"]));
        // Attaching it again where it is does nothing.
        move_label(&mut s, "blue", None, Some("v2")).unwrap();
        assert_eq!(s.version("v2").unwrap().stages, labels(&["blue"]));
        move_label(&mut s, "blue", Some("v2"), None).unwrap();
        assert!(s.version("v2").unwrap().stages.is_empty());
        // AWSCURRENT onto the version holding AWSPREVIOUS: that one loses AWSPREVIOUS.
        move_label(&mut s, "AWSCURRENT", Some("v1"), Some("v3")).unwrap();
        assert_eq!(s.version("v3").unwrap().stages, labels(&["AWSCURRENT"]));
        assert_eq!(s.version("v1").unwrap().stages, labels(&["AWSPREVIOUS"]));
    }

    #[test]
    fn a_version_holds_at_most_twenty_labels() {
        let mut s = secret();
        let now = Timestamp::from_millis(0);
        let many: Vec<String> = (0..19).map(|i| format!("l{i}")).collect();
        add_version(&mut s, version("v1", 0), Some(&many), now).unwrap();
        assert_eq!(s.version("v1").unwrap().stages.len(), 20);
        let err = move_label(&mut s, "one-more", None, Some("v1")).unwrap_err();
        assert!(matches!(err, Error::LimitExceededException(_)));
        let too_many: Vec<String> = (0..21).map(|i| format!("m{i}")).collect();
        let err = add_version(&mut s, version("v2", 1), Some(&too_many), now).unwrap_err();
        assert!(matches!(err, Error::LimitExceededException(_)));
    }
}
