//! Clusters: on Fargate a namespace for services and tasks. `default` exists implicitly: it is
//! created the first time something is placed in it without naming a cluster.

use crate::account_settings;
use crate::generated::*;
use crate::names;
use crate::paging::{invalid_token, page_size};
use crate::records::{
    self, ClusterRecord, ClusterServiceConnectDefaultsRecord, ClusterSettingRecord, TaskRecord,
    Wire, CLUSTERS, SERVICES, TASKS,
};
use crate::task_lifecycle::TaskStatus;
use crate::Ecs;
use wharf_core::pagination::paginate;
use wharf_core::RequestContext;
use wharf_store::{StoreError, Tx};

/// Loads cluster `name`, ACTIVE or INACTIVE.
pub fn load(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    name: &str,
) -> Result<Option<ClusterRecord>, StoreError> {
    tx.get(CLUSTERS, &records::cluster_key(ctx, name))
}

/// Loads the ACTIVE cluster named by `reference` (name, ARN, or `default` when absent).
pub fn require_active(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    reference: Option<&str>,
) -> Result<ClusterRecord, Error> {
    let name = names::cluster_name(reference);
    match load(tx, ctx, &name)? {
        Some(c) if c.status.as_deref() == Some("ACTIVE") => Ok(c),
        _ => Err(Error::ClusterNotFoundException("Cluster not found.".into())),
    }
}

/// A new ACTIVE cluster record; `insights` is the `containerInsights` account setting in force
/// for the caller (what the cluster gets when it names no setting).
fn new_cluster(
    ctx: &RequestContext,
    name: &str,
    input: Option<CreateClusterRequest>,
    insights: String,
) -> ClusterRecord {
    let input = input.unwrap_or_default();
    ClusterRecord {
        cluster_arn: Some(names::arn(ctx, &format!("cluster/{name}"))),
        cluster_name: Some(name.to_string()),
        status: Some("ACTIVE".into()),
        registered_container_instances_count: Some(0),
        running_tasks_count: Some(0),
        pending_tasks_count: Some(0),
        active_services_count: Some(0),
        statistics: Some(vec![]),
        tags: Some(Wire::from_wire(input.tags.unwrap_or_default())),
        settings: Some(input.settings.map(Wire::from_wire).unwrap_or_else(|| {
            vec![ClusterSettingRecord {
                name: Some("containerInsights".into()),
                value: Some(insights),
            }]
        })),
        configuration: Wire::from_wire(input.configuration),
        capacity_providers: Some(input.capacity_providers.unwrap_or_default()),
        default_capacity_provider_strategy: Some(Wire::from_wire(
            input.default_capacity_provider_strategy.unwrap_or_default(),
        )),
        service_connect_defaults: input.service_connect_defaults.map(|d| {
            ClusterServiceConnectDefaultsRecord {
                namespace: Some(d.namespace),
            }
        }),
        ..Default::default()
    }
}

/// Makes sure the implicit `default` cluster exists (inside the caller's write).
pub fn ensure_default(tx: &Tx<'_>, ctx: &RequestContext) -> Result<ClusterRecord, StoreError> {
    match load(tx, ctx, "default")? {
        Some(c) if c.status.as_deref() == Some("ACTIVE") => Ok(c),
        _ => {
            let insights = account_settings::effective_for_caller(tx, ctx, "containerInsights")?;
            let c = new_cluster(ctx, "default", None, insights);
            tx.put(CLUSTERS, &records::cluster_key(ctx, "default"), &c)?;
            Ok(c)
        }
    }
}

/// `CreateCluster`: idempotent for an existing ACTIVE cluster.
pub fn create(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: CreateClusterRequest,
) -> Result<CreateClusterResponse, Error> {
    let name = input
        .cluster_name
        .clone()
        .unwrap_or_else(|| "default".into());
    if !names::valid_name(&name) {
        return Err(Error::InvalidParameterException(format!(
            "Invalid cluster name '{name}': up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed."
        )));
    }
    crate::tags::check(input.tags.as_deref().unwrap_or_default())?;
    check_settings(input.settings.as_deref().unwrap_or_default())?;
    let cluster = ecs.store.write(|tx| {
        if let Some(existing) = load(tx, ctx, &name)? {
            if existing.status.as_deref() == Some("ACTIVE") {
                return Ok::<_, Error>(existing);
            }
        }
        let insights = account_settings::effective_for_caller(tx, ctx, "containerInsights")?;
        let c = new_cluster(ctx, &name, Some(input), insights);
        tx.put(CLUSTERS, &records::cluster_key(ctx, &name), &c)?;
        Ok(c)
    })?;
    Ok(CreateClusterResponse {
        cluster: Some(cluster.into()),
    })
}

/// The settings a cluster may carry: `containerInsights` `enabled`, `enhanced` or `disabled`.
fn check_settings(settings: &[ClusterSetting]) -> Result<(), Error> {
    for s in settings {
        match (s.name.as_deref(), s.value.as_deref()) {
            (Some("containerInsights"), Some("enabled" | "enhanced" | "disabled")) => {}
            (Some("containerInsights"), value) => {
                return Err(Error::InvalidParameterException(format!(
                    "Invalid value '{}' for cluster setting containerInsights: enabled, enhanced or disabled is expected.",
                    value.unwrap_or_default()
                )))
            }
            (name, _) => {
                return Err(Error::InvalidParameterException(format!(
                    "Invalid cluster setting name '{}': containerInsights is the only one.",
                    name.unwrap_or_default()
                )))
            }
        }
    }
    Ok(())
}

/// `settings` laid over `current`: a setting named again takes the new value.
fn merge_settings(current: &mut Vec<ClusterSettingRecord>, settings: Vec<ClusterSetting>) {
    for s in settings {
        let record: ClusterSettingRecord = Wire::from_wire(s);
        match current.iter_mut().find(|c| c.name == record.name) {
            Some(existing) => *existing = record,
            None => current.push(record),
        }
    }
}

/// Changes ACTIVE cluster `reference` with `change` (ClusterNotFoundException otherwise).
fn change_cluster(
    ecs: &Ecs,
    ctx: &RequestContext,
    reference: &str,
    change: impl FnOnce(&mut ClusterRecord),
) -> Result<Cluster, Error> {
    let name = names::cluster_name(Some(reference));
    let cluster = ecs.store.write(|tx| {
        let mut c = require_active(tx, ctx, Some(&name))?;
        change(&mut c);
        tx.put(CLUSTERS, &records::cluster_key(ctx, &name), &c)?;
        Ok::<_, Error>(c)
    })?;
    Ok(cluster.into())
}

/// `UpdateCluster`: settings (merged by name), configuration and Service Connect defaults.
pub fn update(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: UpdateClusterRequest,
) -> Result<UpdateClusterResponse, Error> {
    check_settings(input.settings.as_deref().unwrap_or_default())?;
    let cluster = change_cluster(ecs, ctx, &input.cluster, |c| {
        if let Some(settings) = input.settings {
            merge_settings(c.settings.get_or_insert_with(Vec::new), settings);
        }
        if let Some(configuration) = input.configuration {
            c.configuration = Wire::from_wire(Some(configuration));
        }
        if let Some(d) = input.service_connect_defaults {
            c.service_connect_defaults = Some(ClusterServiceConnectDefaultsRecord {
                namespace: Some(d.namespace),
            });
        }
    })?;
    Ok(UpdateClusterResponse {
        cluster: Some(cluster),
    })
}

/// `UpdateClusterSettings`.
pub fn update_settings(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: UpdateClusterSettingsRequest,
) -> Result<UpdateClusterSettingsResponse, Error> {
    check_settings(&input.settings)?;
    let cluster = change_cluster(ecs, ctx, &input.cluster, |c| {
        merge_settings(c.settings.get_or_insert_with(Vec::new), input.settings);
    })?;
    Ok(UpdateClusterSettingsResponse {
        cluster: Some(cluster),
    })
}

/// The cluster as DescribeClusters shows it: live counts, optional parts only when included.
fn present(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    mut c: ClusterRecord,
    include: &[String],
) -> Result<Cluster, StoreError> {
    let name = c.cluster_name.clone().unwrap_or_default();
    let services = tx.list(SERVICES, &records::cluster_prefix(ctx, &name))?;
    let active = services
        .iter()
        .filter(|(_, s)| s.status.as_deref() == Some("ACTIVE"))
        .count();
    c.active_services_count = Some(i32::try_from(active).unwrap_or(i32::MAX));
    let (running, pending) = task_counts(tx, ctx, &name)?;
    c.running_tasks_count = Some(running);
    c.pending_tasks_count = Some(pending);
    let wants = |what: &str| include.iter().any(|i| i == what);
    if !wants("TAGS") {
        c.tags = None;
    }
    if !wants("SETTINGS") {
        c.settings = None;
    }
    if !wants("CONFIGURATIONS") {
        c.configuration = None;
    }
    if !wants("STATISTICS") {
        c.statistics = Some(vec![]);
    }
    if !wants("ATTACHMENTS") {
        c.attachments = None;
    }
    Ok(c.into())
}

/// `DescribeClusters`: unknown clusters come back as `MISSING` failures.
pub fn describe(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: DescribeClustersRequest,
) -> Result<DescribeClustersResponse, Error> {
    let refs = input.clusters.unwrap_or_else(|| vec!["default".into()]);
    if refs.len() > 100 {
        return Err(Error::InvalidParameterException(
            "clusters can have at most 100 items.".into(),
        ));
    }
    let include = input.include.unwrap_or_default();
    ecs.store.read(|tx| {
        let mut clusters = vec![];
        let mut failures = vec![];
        for r in &refs {
            let name = names::cluster_name(Some(r));
            match load(tx, ctx, &name)? {
                Some(c) => clusters.push(present(tx, ctx, c, &include)?),
                None => failures.push(Failure {
                    arn: Some(names::arn(ctx, &format!("cluster/{name}"))),
                    reason: Some("MISSING".into()),
                    detail: None,
                }),
            }
        }
        Ok(DescribeClustersResponse {
            clusters: Some(clusters),
            failures: Some(failures),
        })
    })
}

/// `ListClusters`: ARNs of ACTIVE clusters, paginated.
pub fn list(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: ListClustersRequest,
) -> Result<ListClustersResponse, Error> {
    let max = page_size(input.max_results)?;
    let all = ecs
        .store
        .read(|tx| tx.list(CLUSTERS, &records::scope(ctx)))?;
    let arns: Vec<String> = all
        .into_iter()
        .filter(|(_, c)| c.status.as_deref() == Some("ACTIVE"))
        .filter_map(|(_, c)| c.cluster_arn)
        .collect();
    let (page, next) = paginate(arns, |a| a.clone(), input.next_token.as_deref(), max)
        .map_err(|_| invalid_token())?;
    Ok(ListClustersResponse {
        cluster_arns: Some(page),
        next_token: next,
    })
}

/// `DeleteCluster`: refused while services are ACTIVE or DRAINING.
pub fn delete(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: DeleteClusterRequest,
) -> Result<DeleteClusterResponse, Error> {
    let name = names::cluster_name(Some(&input.cluster));
    let cluster = ecs.store.write(|tx| {
        let mut c = require_active(tx, ctx, Some(&name))?;
        let services = tx.list(SERVICES, &records::cluster_prefix(ctx, &name))?;
        if services
            .iter()
            .any(|(_, s)| matches!(s.status.as_deref(), Some("ACTIVE") | Some("DRAINING")))
        {
            return Err(Error::ClusterContainsServicesException(
                "The Cluster cannot be deleted while Services are active.".into(),
            ));
        }
        let (running, pending) = task_counts(tx, ctx, &name)?;
        if running + pending > 0 {
            return Err(Error::ClusterContainsTasksException(
                "The Cluster cannot be deleted while Tasks are active.".into(),
            ));
        }
        c.status = Some("INACTIVE".into());
        tx.put(CLUSTERS, &records::cluster_key(ctx, &name), &c)?;
        Ok(c)
    })?;
    Ok(DeleteClusterResponse {
        cluster: Some(cluster.into()),
    })
}

/// Running and pending task counts of cluster `name`, for DescribeClusters.
fn task_counts(tx: &Tx<'_>, ctx: &RequestContext, cluster: &str) -> Result<(i32, i32), StoreError> {
    let prefix = records::cluster_prefix(ctx, cluster);
    let mut running = 0;
    let mut pending = 0;
    for (_, t) in tx.list::<TaskRecord>(TASKS, &prefix)? {
        match TaskStatus::of(&t.task) {
            TaskStatus::Running => running += 1,
            TaskStatus::Provisioning | TaskStatus::Pending | TaskStatus::Activating => pending += 1,
            _ => {}
        }
    }
    Ok((running, pending))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ctx, ecs};

    #[test]
    fn create_is_idempotent_and_describe_reports_missing() {
        let (_d, ecs) = ecs();
        let req = CreateClusterRequest {
            cluster_name: Some("prod".into()),
            ..Default::default()
        };
        let a = create(&ecs, &ctx(), req.clone()).unwrap().cluster.unwrap();
        assert_eq!(
            a.cluster_arn.as_deref(),
            Some("arn:aws:ecs:us-east-1:123456789012:cluster/prod")
        );
        assert_eq!(a.status.as_deref(), Some("ACTIVE"));
        let b = create(&ecs, &ctx(), req).unwrap().cluster.unwrap();
        assert_eq!(a.cluster_arn, b.cluster_arn);
        let d = describe(
            &ecs,
            &ctx(),
            DescribeClustersRequest {
                clusters: Some(vec!["prod".into(), "nope".into()]),
                include: None,
            },
        )
        .unwrap();
        assert_eq!(d.clusters.unwrap().len(), 1);
        assert_eq!(d.failures.unwrap()[0].reason.as_deref(), Some("MISSING"));
    }

    #[test]
    fn delete_marks_inactive_and_hides_from_list() {
        let (_d, ecs) = ecs();
        create(
            &ecs,
            &ctx(),
            CreateClusterRequest {
                cluster_name: Some("x".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let c = delete(
            &ecs,
            &ctx(),
            DeleteClusterRequest {
                cluster: "x".into(),
            },
        )
        .unwrap()
        .cluster
        .unwrap();
        assert_eq!(c.status.as_deref(), Some("INACTIVE"));
        let l = list(&ecs, &ctx(), ListClustersRequest::default()).unwrap();
        assert!(l.cluster_arns.unwrap().is_empty());
        let again = delete(
            &ecs,
            &ctx(),
            DeleteClusterRequest {
                cluster: "x".into(),
            },
        );
        assert!(matches!(again, Err(Error::ClusterNotFoundException(_))));
    }

    #[test]
    fn bad_names_are_refused() {
        let (_d, ecs) = ecs();
        let r = create(
            &ecs,
            &ctx(),
            CreateClusterRequest {
                cluster_name: Some("a b".into()),
                ..Default::default()
            },
        );
        assert!(matches!(r, Err(Error::InvalidParameterException(m)) if m.contains("a b")));
    }
}
