//! Scanning in the ECR API: Put/GetRegistryScanningConfiguration,
//! BatchGetRepositoryScanningConfiguration, StartImageScan and DescribeImageScanFindings. The
//! configuration is kept and applied as AWS applies it; a scan's outcome is wharf's honest one
//! (`crate::scanning`: no vulnerability database, so `FAILED` with the reason, no findings).

use super::checks::{invalid, repo_ref, require_repo};
use super::images::find_image;
use crate::generated::*;
use crate::images::list_images;
use crate::records::{
    self, image_key, RepoRef, StoredScan, StoredScanRule, IMAGES, REGISTRIES, REPOS,
};
use crate::scanning::{self, no_scan, rule_for};
use crate::Ecr;
use wharf_core::RequestContext;

fn validation(message: impl Into<String>) -> Error {
    Error::ValidationException(message.into())
}

fn to_wire(scan_type: &str, rules: &[StoredScanRule]) -> RegistryScanningConfiguration {
    RegistryScanningConfiguration {
        scan_type: Some(scan_type.to_string()),
        rules: Some(
            rules
                .iter()
                .map(|r| RegistryScanningRule {
                    scan_frequency: r.frequency.clone(),
                    repository_filters: filters_to_wire(&r.filters),
                })
                .collect(),
        ),
    }
}

fn filters_to_wire(filters: &[String]) -> Vec<ScanningRepositoryFilter> {
    filters
        .iter()
        .map(|f| ScanningRepositoryFilter {
            filter: f.clone(),
            filter_type: "WILDCARD".into(),
        })
        .collect()
}

/// The rules as stored, or AWS's error: at most 2, frequencies the scan type allows, 1 to 100
/// `WILDCARD` filters each.
fn check_rules(
    scan_type: &str,
    rules: &[RegistryScanningRule],
) -> Result<Vec<StoredScanRule>, Error> {
    if rules.len() > 2 {
        return Err(validation(
            "A registry scanning configuration can have at most 2 rules.",
        ));
    }
    let allowed: &[&str] = if scan_type == "ENHANCED" {
        &["SCAN_ON_PUSH", "CONTINUOUS_SCAN"]
    } else {
        &["SCAN_ON_PUSH", "MANUAL"]
    };
    rules
        .iter()
        .map(|r| {
            if !allowed.contains(&r.scan_frequency.as_str()) {
                return Err(validation(format!(
                    "Scan frequency {} is not valid for scan type {scan_type}: {} is expected.",
                    r.scan_frequency,
                    allowed.join(" or ")
                )));
            }
            if r.repository_filters.is_empty() || r.repository_filters.len() > 100 {
                return Err(validation(
                    "A scanning rule needs 1 to 100 repository filters.",
                ));
            }
            if let Some(bad) = r
                .repository_filters
                .iter()
                .find(|f| f.filter_type != "WILDCARD")
            {
                return Err(validation(format!(
                    "Invalid filter type {}: WILDCARD is expected.",
                    bad.filter_type
                )));
            }
            Ok(StoredScanRule {
                frequency: r.scan_frequency.clone(),
                filters: r
                    .repository_filters
                    .iter()
                    .map(|f| f.filter.clone())
                    .collect(),
            })
        })
        .collect()
}

/// `PutRegistryScanningConfiguration`.
pub(crate) fn put_registry_configuration(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: PutRegistryScanningConfigurationRequest,
) -> Result<PutRegistryScanningConfigurationResponse, Error> {
    let scan_type = input.scan_type.unwrap_or_else(|| "BASIC".into());
    if !matches!(scan_type.as_str(), "BASIC" | "ENHANCED") {
        return Err(validation(format!(
            "Invalid scan type {scan_type}: BASIC or ENHANCED is expected."
        )));
    }
    let rules = check_rules(&scan_type, input.rules.as_deref().unwrap_or_default())?;
    let key = records::registry_key(&ctx.account_id, &ctx.region);
    ecr.store.write(|tx| {
        let mut registry = scanning::registry(tx, &ctx.account_id, &ctx.region)?;
        registry.scan_type = Some(scan_type.clone());
        registry.scan_rules = rules.clone();
        tx.put(REGISTRIES, &key, &registry)
    })?;
    Ok(PutRegistryScanningConfigurationResponse {
        registry_scanning_configuration: Some(to_wire(&scan_type, &rules)),
    })
}

/// `GetRegistryScanningConfiguration`: `BASIC` with no rules until one is put.
pub(crate) fn get_registry_configuration(
    ecr: &Ecr,
    ctx: &RequestContext,
) -> Result<GetRegistryScanningConfigurationResponse, Error> {
    let registry = ecr
        .store
        .read(|tx| scanning::registry(tx, &ctx.account_id, &ctx.region))?;
    Ok(GetRegistryScanningConfigurationResponse {
        registry_id: Some(ctx.account_id.clone()),
        scanning_configuration: Some(to_wire(
            registry.scan_type.as_deref().unwrap_or("BASIC"),
            &registry.scan_rules,
        )),
    })
}

/// `BatchGetRepositoryScanningConfiguration`: what applies to each repository (the registry's
/// first rule naming it, else its own scanOnPush); unknown ones are failures.
pub(crate) fn batch_get_repository_configuration(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: BatchGetRepositoryScanningConfigurationRequest,
) -> Result<BatchGetRepositoryScanningConfigurationResponse, Error> {
    if input.repository_names.is_empty() || input.repository_names.len() > 25 {
        return Err(invalid(
            "repositoryNames must hold 1 to 25 repository names",
        ));
    }
    ecr.store.read(|tx| {
        let registry = scanning::registry(tx, &ctx.account_id, &ctx.region)?;
        let mut found = Vec::new();
        let mut failures = Vec::new();
        for name in &input.repository_names {
            let repo = RepoRef::new(&ctx.account_id, &ctx.region, name);
            let Some(stored) = tx.get::<records::StoredRepo>(REPOS, &records::repo_key(&repo))?
            else {
                failures.push(RepositoryScanningConfigurationFailure {
                    repository_name: Some(name.clone()),
                    failure_code: Some("REPOSITORY_NOT_FOUND".into()),
                    failure_reason: Some("REPOSITORY_NOT_FOUND".into()),
                });
                continue;
            };
            let own = stored
                .repository
                .image_scanning_configuration
                .as_ref()
                .and_then(|c| c.scan_on_push)
                .unwrap_or(false);
            let (frequency, filters) = match rule_for(&registry.scan_rules, name) {
                Some(rule) => (rule.frequency.clone(), filters_to_wire(&rule.filters)),
                None if own => ("SCAN_ON_PUSH".to_string(), Vec::new()),
                None => ("MANUAL".to_string(), Vec::new()),
            };
            found.push(RepositoryScanningConfiguration {
                repository_arn: stored.repository.repository_arn.clone(),
                repository_name: Some(name.clone()),
                scan_on_push: Some(own || frequency == "SCAN_ON_PUSH"),
                scan_frequency: Some(frequency),
                applied_scan_filters: Some(filters),
            });
        }
        Ok::<_, Error>(BatchGetRepositoryScanningConfigurationResponse {
            scanning_configurations: Some(found),
            failures: Some(failures),
        })
    })
}

fn status(scan: &StoredScan) -> ImageScanStatus {
    ImageScanStatus {
        status: Some(scan.status.clone()),
        description: Some(scan.description.clone()),
    }
}

/// `StartImageScan`: records wharf's outcome on the image and answers it.
pub(crate) fn start_image_scan(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: StartImageScanRequest,
) -> Result<StartImageScanResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    let (digest, scan) = ecr.store.write(|tx| {
        require_repo(tx, &repo)?;
        let images = list_images(tx, &repo)?;
        let mut image = find_image(&images, &repo, &input.image_id)?.clone();
        let scan = no_scan();
        image.scan = Some(scan.clone());
        tx.put(IMAGES, &image_key(&repo, &image.digest), &image)?;
        Ok::<_, Error>((image.digest, scan))
    })?;
    Ok(StartImageScanResponse {
        registry_id: Some(repo.account),
        repository_name: Some(repo.name),
        image_id: Some(ImageIdentifier {
            image_digest: Some(digest),
            image_tag: input.image_id.image_tag,
        }),
        image_scan_status: Some(status(&scan)),
    })
}

/// `DescribeImageScanFindings`: the recorded outcome (no findings), or ScanNotFoundException
/// when no scan was asked for.
pub(crate) fn describe_image_scan_findings(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: DescribeImageScanFindingsRequest,
) -> Result<DescribeImageScanFindingsResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    let image = ecr.store.read(|tx| {
        require_repo(tx, &repo)?;
        let images = list_images(tx, &repo)?;
        Ok::<_, Error>(find_image(&images, &repo, &input.image_id)?.clone())
    })?;
    let scan = image.scan.ok_or_else(|| {
        Error::ScanNotFoundException(format!(
            "Image scan does not exist for the image with '{{imageDigest:'{}', imageTag:'{}'}}' in the repository with name '{}' in the registry with id '{}'",
            input.image_id.image_digest.as_deref().unwrap_or("null"),
            input.image_id.image_tag.as_deref().unwrap_or("null"),
            repo.name,
            repo.account
        ))
    })?;
    Ok(DescribeImageScanFindingsResponse {
        registry_id: Some(repo.account),
        repository_name: Some(repo.name),
        image_id: Some(ImageIdentifier {
            image_digest: Some(image.digest),
            image_tag: input.image_id.image_tag,
        }),
        image_scan_status: Some(status(&scan)),
        image_scan_findings: None,
        next_token: None,
    })
}
