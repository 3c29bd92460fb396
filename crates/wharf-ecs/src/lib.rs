//! Amazon ECS control plane: clusters, task definitions (families and revisions, with Fargate
//! validation), services (desired state, deployment configuration, deployments) and tasks, all
//! kept in the store. The service scheduler is here too: its pure decisions
//! (`service_scheduler`) and the controller that applies them to the store
//! (`service_controller`). Running tasks is the task agent's job (`wharf-agent`); this crate
//! owns the records and the rules.
//!
//! Read bottom to top: `generated` (wire types, never stored) -> `records` (the records ECS
//! stores, their tables and keys, conversions to and from the wire types) -> shared pieces
//! (`names`, `checks`, `paging`, `errors`, `fargate`, `launch_types`, `task_lifecycle`) -> one module per
//! resource (`clusters`, `task_definitions`, `services`, `tasks`, `tags`) -> the service
//! scheduler and controller -> this file: the [`Ecs`] service and one-line delegation of each
//! [`EcsApi`] method.

pub mod account_settings;
pub mod capacity_providers;
pub mod checks;
pub mod clusters;
pub mod errors;
pub mod execute_command;
pub mod fargate;
pub mod generated;
pub mod launch_types;
pub mod names;
pub mod paging;
pub mod records;
pub mod service_capacity;
pub mod service_controller;
pub mod service_scheduler;
pub mod services;
pub mod tags;
pub mod task_definitions;
pub mod task_lifecycle;
pub mod tasks;
#[cfg(test)]
mod testing;

use generated::*;
use std::sync::Arc;
use wharf_core::{IdGen, NetworkInterfaces, RequestContext, TargetRegistry};
use wharf_store::Store;

/// Called after tasks are launched or asked to stop, to wake the agent that runs them.
pub type TaskNotifier = Arc<dyn Fn() + Send + Sync>;

/// The ECS service. Cloning shares everything (the service controller runs on a clone).
#[derive(Clone)]
pub struct Ecs {
    store: Arc<Store>,
    ids: Arc<dyn IdGen>,
    network: Option<Arc<dyn NetworkInterfaces>>,
    targets: Option<Arc<dyn TargetRegistry>>,
    notifier: Option<TaskNotifier>,
    service_notifier: Option<TaskNotifier>,
}

impl Ecs {
    /// ECS over `store`, making ids with `ids`. Without [`Ecs::with_network`], awsvpc subnets
    /// and security groups are not checked against EC2.
    pub fn new(store: Arc<Store>, ids: Arc<dyn IdGen>) -> Self {
        Self {
            store,
            ids,
            network: None,
            targets: None,
            notifier: None,
            service_notifier: None,
        }
    }

    /// Checks task placement against `network` (EC2's subnets and security groups).
    pub fn with_network(mut self, network: Arc<dyn NetworkInterfaces>) -> Self {
        self.network = Some(network);
        self
    }

    /// Checks services' `loadBalancers` against `targets` (ELBv2's target groups).
    pub fn with_targets(mut self, targets: Arc<dyn TargetRegistry>) -> Self {
        self.targets = Some(targets);
        self
    }

    /// Calls `notifier` whenever a service is created, updated or deleted (to wake the
    /// service controller).
    pub fn with_service_notifier(mut self, notifier: TaskNotifier) -> Self {
        self.service_notifier = Some(notifier);
        self
    }

    pub(crate) fn notify_services_changed(&self) {
        if let Some(n) = &self.service_notifier {
            n();
        }
    }

    pub(crate) fn targets(&self) -> Option<&Arc<dyn TargetRegistry>> {
        self.targets.as_ref()
    }

    /// EC2's subnets and security groups, when wired.
    pub(crate) fn network(&self) -> Option<&Arc<dyn NetworkInterfaces>> {
        self.network.as_ref()
    }

    /// Calls `notifier` whenever tasks are launched or asked to stop.
    pub fn with_task_notifier(mut self, notifier: TaskNotifier) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// The store ECS keeps its records in.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub(crate) fn notify_tasks_changed(&self) {
        if let Some(n) = &self.notifier {
            n();
        }
    }
}

impl EcsApi for Ecs {
    fn describe_capacity_providers(
        &self,
        ctx: &RequestContext,
        input: DescribeCapacityProvidersRequest,
    ) -> Result<DescribeCapacityProvidersResponse, Error> {
        capacity_providers::describe(ctx, input)
    }
    fn put_cluster_capacity_providers(
        &self,
        ctx: &RequestContext,
        input: PutClusterCapacityProvidersRequest,
    ) -> Result<PutClusterCapacityProvidersResponse, Error> {
        capacity_providers::put_cluster(self, ctx, input)
    }
    fn execute_command(
        &self,
        ctx: &RequestContext,
        input: ExecuteCommandRequest,
    ) -> Result<ExecuteCommandResponse, Error> {
        execute_command::execute(self, ctx, input)
    }
    fn update_cluster(
        &self,
        ctx: &RequestContext,
        input: UpdateClusterRequest,
    ) -> Result<UpdateClusterResponse, Error> {
        clusters::update(self, ctx, input)
    }
    fn update_cluster_settings(
        &self,
        ctx: &RequestContext,
        input: UpdateClusterSettingsRequest,
    ) -> Result<UpdateClusterSettingsResponse, Error> {
        clusters::update_settings(self, ctx, input)
    }
    fn put_account_setting(
        &self,
        ctx: &RequestContext,
        input: PutAccountSettingRequest,
    ) -> Result<PutAccountSettingResponse, Error> {
        account_settings::put(self, ctx, input)
    }
    fn put_account_setting_default(
        &self,
        ctx: &RequestContext,
        input: PutAccountSettingDefaultRequest,
    ) -> Result<PutAccountSettingDefaultResponse, Error> {
        account_settings::put_default(self, ctx, input)
    }
    fn list_account_settings(
        &self,
        ctx: &RequestContext,
        input: ListAccountSettingsRequest,
    ) -> Result<ListAccountSettingsResponse, Error> {
        account_settings::list(self, ctx, input)
    }
    fn delete_account_setting(
        &self,
        ctx: &RequestContext,
        input: DeleteAccountSettingRequest,
    ) -> Result<DeleteAccountSettingResponse, Error> {
        account_settings::delete(self, ctx, input)
    }
    fn create_cluster(
        &self,
        ctx: &RequestContext,
        input: CreateClusterRequest,
    ) -> Result<CreateClusterResponse, Error> {
        clusters::create(self, ctx, input)
    }
    fn describe_clusters(
        &self,
        ctx: &RequestContext,
        input: DescribeClustersRequest,
    ) -> Result<DescribeClustersResponse, Error> {
        clusters::describe(self, ctx, input)
    }
    fn list_clusters(
        &self,
        ctx: &RequestContext,
        input: ListClustersRequest,
    ) -> Result<ListClustersResponse, Error> {
        clusters::list(self, ctx, input)
    }
    fn delete_cluster(
        &self,
        ctx: &RequestContext,
        input: DeleteClusterRequest,
    ) -> Result<DeleteClusterResponse, Error> {
        clusters::delete(self, ctx, input)
    }
    fn register_task_definition(
        &self,
        ctx: &RequestContext,
        input: RegisterTaskDefinitionRequest,
    ) -> Result<RegisterTaskDefinitionResponse, Error> {
        task_definitions::register(self, ctx, input)
    }
    fn describe_task_definition(
        &self,
        ctx: &RequestContext,
        input: DescribeTaskDefinitionRequest,
    ) -> Result<DescribeTaskDefinitionResponse, Error> {
        task_definitions::describe(self, ctx, input)
    }
    fn list_task_definitions(
        &self,
        ctx: &RequestContext,
        input: ListTaskDefinitionsRequest,
    ) -> Result<ListTaskDefinitionsResponse, Error> {
        task_definitions::list(self, ctx, input)
    }
    fn list_task_definition_families(
        &self,
        ctx: &RequestContext,
        input: ListTaskDefinitionFamiliesRequest,
    ) -> Result<ListTaskDefinitionFamiliesResponse, Error> {
        task_definitions::list_families(self, ctx, input)
    }
    fn deregister_task_definition(
        &self,
        ctx: &RequestContext,
        input: DeregisterTaskDefinitionRequest,
    ) -> Result<DeregisterTaskDefinitionResponse, Error> {
        task_definitions::deregister(self, ctx, input)
    }
    fn delete_task_definitions(
        &self,
        ctx: &RequestContext,
        input: DeleteTaskDefinitionsRequest,
    ) -> Result<DeleteTaskDefinitionsResponse, Error> {
        task_definitions::delete(self, ctx, input)
    }
    fn create_service(
        &self,
        ctx: &RequestContext,
        input: CreateServiceRequest,
    ) -> Result<CreateServiceResponse, Error> {
        services::create(self, ctx, input)
    }
    fn update_service(
        &self,
        ctx: &RequestContext,
        input: UpdateServiceRequest,
    ) -> Result<UpdateServiceResponse, Error> {
        services::update(self, ctx, input)
    }
    fn describe_services(
        &self,
        ctx: &RequestContext,
        input: DescribeServicesRequest,
    ) -> Result<DescribeServicesResponse, Error> {
        services::describe(self, ctx, input)
    }
    fn list_services(
        &self,
        ctx: &RequestContext,
        input: ListServicesRequest,
    ) -> Result<ListServicesResponse, Error> {
        services::list(self, ctx, input)
    }
    fn delete_service(
        &self,
        ctx: &RequestContext,
        input: DeleteServiceRequest,
    ) -> Result<DeleteServiceResponse, Error> {
        services::delete(self, ctx, input)
    }
    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, Error> {
        tags::tag(self, ctx, input)
    }
    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, Error> {
        tags::untag(self, ctx, input)
    }
    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, Error> {
        tags::list(self, ctx, input)
    }
    fn run_task(
        &self,
        ctx: &RequestContext,
        input: RunTaskRequest,
    ) -> Result<RunTaskResponse, Error> {
        tasks::run(self, ctx, input)
    }
    fn stop_task(
        &self,
        ctx: &RequestContext,
        input: StopTaskRequest,
    ) -> Result<StopTaskResponse, Error> {
        tasks::stop(self, ctx, input)
    }
    fn describe_tasks(
        &self,
        ctx: &RequestContext,
        input: DescribeTasksRequest,
    ) -> Result<DescribeTasksResponse, Error> {
        tasks::describe(self, ctx, input)
    }
    fn list_tasks(
        &self,
        ctx: &RequestContext,
        input: ListTasksRequest,
    ) -> Result<ListTasksResponse, Error> {
        tasks::list(self, ctx, input)
    }
}
