//! Amazon ECS control plane: clusters, task definitions (families and revisions, with Fargate
//! validation) and services (desired state, deployment configuration, deployments), all kept in
//! the store. Running tasks is the runtime's job; this crate owns the records and the rules.

pub mod clusters;
pub mod fargate;
pub mod generated;
pub mod names;
pub mod services;
pub mod tags;
pub mod task_definitions;

use generated::*;
use std::sync::Arc;
use wharf_core::{IdGen, RequestContext};
use wharf_store::{Store, StoreError};

/// The ECS service.
pub struct Ecs {
    store: Arc<Store>,
    ids: Arc<dyn IdGen>,
}

impl Ecs {
    /// ECS over `store`, making ids with `ids`.
    pub fn new(store: Arc<Store>, ids: Arc<dyn IdGen>) -> Self {
        Self { store, ids }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "ecs state store failure");
        Error::ServerException(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}

impl EcsApi for Ecs {
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
}

#[cfg(test)]
pub(crate) mod testing {
    //! A fresh ECS over a temp-dir store, and a fixed request context.
    use super::*;
    use wharf_core::ids::RandomIds;
    use wharf_core::Timestamp;

    pub fn ecs() -> (tempfile::TempDir, Ecs) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
        (dir, Ecs::new(store, Arc::new(RandomIds)))
    }

    pub fn ctx() -> RequestContext {
        RequestContext::for_tests(
            "us-east-1",
            "123456789012",
            Timestamp::from_millis(1_700_000_000_000),
        )
    }
}
