//! The ECR API (`EcrApi`, awsJson 1.1): repositories, images, tag mutability, scanning
//! configuration, lifecycle policies and their previews, authorization tokens and resource tags.
//! Implemented on `Arc<Ecr>` so the binary can hand the same `Arc` to the gateway (inside the
//! generated `Handler`) and to the registry. This module is the trait's one-line delegation to
//! one module per resource: `repositories`, `images`, `lifecycle_policies`, `tags` and
//! `authorization`, over the shared `checks` and `paging`.
//!
//! Everything an operation reads or changes happens in one store transaction; manifests are
//! read from the blob store (BatchGetImage) and written through the shared push flow
//! (`push::push_manifest`, PutImage). Errors are the generated `Error` variants with AWS's
//! wording. Only the caller's own registry is served: a `registryId` naming another account
//! finds no repositories.

mod authorization;
pub(crate) mod checks;
mod images;
mod lifecycle_policies;
pub(crate) mod paging;
mod policies;
mod repositories;
mod scanning;
mod tags;

use crate::generated::*;
use crate::Ecr;
use std::sync::Arc;
use wharf_core::RequestContext;

impl EcrApi for Arc<Ecr> {
    fn get_authorization_token(
        &self,
        ctx: &RequestContext,
        input: GetAuthorizationTokenRequest,
    ) -> Result<GetAuthorizationTokenResponse, Error> {
        authorization::get_authorization_token(self, ctx, input)
    }

    fn create_repository(
        &self,
        ctx: &RequestContext,
        input: CreateRepositoryRequest,
    ) -> Result<CreateRepositoryResponse, Error> {
        repositories::create_repository(self, ctx, input)
    }

    fn describe_repositories(
        &self,
        ctx: &RequestContext,
        input: DescribeRepositoriesRequest,
    ) -> Result<DescribeRepositoriesResponse, Error> {
        repositories::describe_repositories(self, ctx, input)
    }

    fn delete_repository(
        &self,
        ctx: &RequestContext,
        input: DeleteRepositoryRequest,
    ) -> Result<DeleteRepositoryResponse, Error> {
        repositories::delete_repository(self, ctx, input)
    }

    fn list_images(
        &self,
        ctx: &RequestContext,
        input: ListImagesRequest,
    ) -> Result<ListImagesResponse, Error> {
        images::list_images(self, ctx, input)
    }

    fn describe_images(
        &self,
        ctx: &RequestContext,
        input: DescribeImagesRequest,
    ) -> Result<DescribeImagesResponse, Error> {
        images::describe_images(self, ctx, input)
    }

    fn batch_get_image(
        &self,
        ctx: &RequestContext,
        input: BatchGetImageRequest,
    ) -> Result<BatchGetImageResponse, Error> {
        images::batch_get_image(self, ctx, input)
    }

    fn batch_delete_image(
        &self,
        ctx: &RequestContext,
        input: BatchDeleteImageRequest,
    ) -> Result<BatchDeleteImageResponse, Error> {
        images::batch_delete_image(self, ctx, input)
    }

    fn put_image(
        &self,
        ctx: &RequestContext,
        input: PutImageRequest,
    ) -> Result<PutImageResponse, Error> {
        images::put_image(self, ctx, input)
    }

    fn batch_check_layer_availability(
        &self,
        ctx: &RequestContext,
        input: BatchCheckLayerAvailabilityRequest,
    ) -> Result<BatchCheckLayerAvailabilityResponse, Error> {
        images::batch_check_layer_availability(self, ctx, input)
    }

    fn put_image_tag_mutability(
        &self,
        ctx: &RequestContext,
        input: PutImageTagMutabilityRequest,
    ) -> Result<PutImageTagMutabilityResponse, Error> {
        repositories::put_image_tag_mutability(self, ctx, input)
    }

    fn put_image_scanning_configuration(
        &self,
        ctx: &RequestContext,
        input: PutImageScanningConfigurationRequest,
    ) -> Result<PutImageScanningConfigurationResponse, Error> {
        repositories::put_image_scanning_configuration(self, ctx, input)
    }

    fn set_repository_policy(
        &self,
        ctx: &RequestContext,
        input: SetRepositoryPolicyRequest,
    ) -> Result<SetRepositoryPolicyResponse, Error> {
        policies::set_repository_policy(self, ctx, input)
    }

    fn get_repository_policy(
        &self,
        ctx: &RequestContext,
        input: GetRepositoryPolicyRequest,
    ) -> Result<GetRepositoryPolicyResponse, Error> {
        policies::get_repository_policy(self, ctx, input)
    }

    fn delete_repository_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteRepositoryPolicyRequest,
    ) -> Result<DeleteRepositoryPolicyResponse, Error> {
        policies::delete_repository_policy(self, ctx, input)
    }

    fn put_registry_policy(
        &self,
        ctx: &RequestContext,
        input: PutRegistryPolicyRequest,
    ) -> Result<PutRegistryPolicyResponse, Error> {
        policies::put_registry_policy(self, ctx, input)
    }

    fn get_registry_policy(
        &self,
        ctx: &RequestContext,
        _input: GetRegistryPolicyRequest,
    ) -> Result<GetRegistryPolicyResponse, Error> {
        policies::get_registry_policy(self, ctx)
    }

    fn delete_registry_policy(
        &self,
        ctx: &RequestContext,
        _input: DeleteRegistryPolicyRequest,
    ) -> Result<DeleteRegistryPolicyResponse, Error> {
        policies::delete_registry_policy(self, ctx)
    }

    fn put_registry_scanning_configuration(
        &self,
        ctx: &RequestContext,
        input: PutRegistryScanningConfigurationRequest,
    ) -> Result<PutRegistryScanningConfigurationResponse, Error> {
        scanning::put_registry_configuration(self, ctx, input)
    }

    fn get_registry_scanning_configuration(
        &self,
        ctx: &RequestContext,
        _input: GetRegistryScanningConfigurationRequest,
    ) -> Result<GetRegistryScanningConfigurationResponse, Error> {
        scanning::get_registry_configuration(self, ctx)
    }

    fn batch_get_repository_scanning_configuration(
        &self,
        ctx: &RequestContext,
        input: BatchGetRepositoryScanningConfigurationRequest,
    ) -> Result<BatchGetRepositoryScanningConfigurationResponse, Error> {
        scanning::batch_get_repository_configuration(self, ctx, input)
    }

    fn start_image_scan(
        &self,
        ctx: &RequestContext,
        input: StartImageScanRequest,
    ) -> Result<StartImageScanResponse, Error> {
        scanning::start_image_scan(self, ctx, input)
    }

    fn describe_image_scan_findings(
        &self,
        ctx: &RequestContext,
        input: DescribeImageScanFindingsRequest,
    ) -> Result<DescribeImageScanFindingsResponse, Error> {
        scanning::describe_image_scan_findings(self, ctx, input)
    }

    fn put_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: PutLifecyclePolicyRequest,
    ) -> Result<PutLifecyclePolicyResponse, Error> {
        lifecycle_policies::put_lifecycle_policy(self, ctx, input)
    }

    fn get_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: GetLifecyclePolicyRequest,
    ) -> Result<GetLifecyclePolicyResponse, Error> {
        lifecycle_policies::get_lifecycle_policy(self, ctx, input)
    }

    fn delete_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteLifecyclePolicyRequest,
    ) -> Result<DeleteLifecyclePolicyResponse, Error> {
        lifecycle_policies::delete_lifecycle_policy(self, ctx, input)
    }

    fn start_lifecycle_policy_preview(
        &self,
        ctx: &RequestContext,
        input: StartLifecyclePolicyPreviewRequest,
    ) -> Result<StartLifecyclePolicyPreviewResponse, Error> {
        lifecycle_policies::start_lifecycle_policy_preview(self, ctx, input)
    }

    fn get_lifecycle_policy_preview(
        &self,
        ctx: &RequestContext,
        input: GetLifecyclePolicyPreviewRequest,
    ) -> Result<GetLifecyclePolicyPreviewResponse, Error> {
        lifecycle_policies::get_lifecycle_policy_preview(self, ctx, input)
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, Error> {
        tags::tag_resource(self, ctx, input)
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, Error> {
        tags::untag_resource(self, ctx, input)
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, Error> {
        tags::list_tags_for_resource(self, ctx, input)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A fresh ECR over a temp-dir store and blob directory, and a fixed request context.
    use crate::generated::*;
    use crate::records::RepoRef;
    use crate::Ecr;
    use crate::EcrConfig;
    use std::path::Path;
    use std::sync::Arc;
    use wharf_core::ids::RandomIds;
    use wharf_core::FakeClock;
    use wharf_core::{RequestContext, Timestamp};
    use wharf_store::Store;

    /// The instant every test request happens at.
    pub const NOW: i64 = 1_700_000_000_000;

    pub fn ctx() -> RequestContext {
        RequestContext::for_tests("us-east-1", "123456789012", Timestamp::from_millis(NOW))
    }

    pub fn ctx_at(millis: i64) -> RequestContext {
        RequestContext::for_tests("us-east-1", "123456789012", Timestamp::from_millis(millis))
    }

    /// ECR whose store and blobs live in `dir` (reopening the same `dir` is a restart).
    pub fn ecr_with_clock(dir: &Path, clock: Arc<FakeClock>) -> Arc<Ecr> {
        let store = Arc::new(Store::open(&dir.join("state.db")).unwrap());
        let config = EcrConfig {
            root: dir.join("registry"),
            registry_host: "127.0.0.1:4566".into(),
        };
        Arc::new(Ecr::new(store, Arc::new(RandomIds), clock, config).unwrap())
    }

    pub fn ecr_in(dir: &Path) -> Arc<Ecr> {
        ecr_with_clock(dir, Arc::new(FakeClock::new(Timestamp::from_millis(NOW))))
    }

    pub fn ecr() -> (tempfile::TempDir, Arc<Ecr>) {
        let dir = tempfile::tempdir().unwrap();
        let ecr = ecr_in(dir.path());
        (dir, ecr)
    }

    pub fn id(digest: Option<&str>, tag: Option<&str>) -> ImageIdentifier {
        ImageIdentifier {
            image_digest: digest.map(str::to_string),
            image_tag: tag.map(str::to_string),
        }
    }

    pub fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    /// Stores a config blob and a layer, and returns a schema 2 manifest referencing them.
    pub fn manifest(ecr: &Ecr, seed: &str) -> String {
        let config = format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"seed\":\"{seed}\"}}");
        let layer = format!("layer {seed}");
        let cd = ecr.blobs.put(config.as_bytes()).unwrap();
        let ld = ecr.blobs.put(layer.as_bytes()).unwrap();
        // Uploaded into "app" (where the tests using this push it).
        let app = RepoRef::new("123456789012", "us-east-1", "app");
        ecr.link_blob(&app, &cd).unwrap();
        ecr.link_blob(&app, &ld).unwrap();
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"{cd}"}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{},"digest":"{ld}"}}]}}"#,
            config.len(),
            layer.len()
        )
    }

    pub fn put(
        ecr: &Arc<Ecr>,
        repo: &str,
        tag: Option<&str>,
        manifest: &str,
    ) -> Result<String, Error> {
        ecr.put_image(
            &ctx(),
            PutImageRequest {
                repository_name: repo.into(),
                image_manifest: manifest.into(),
                image_tag: tag.map(str::to_string),
                ..Default::default()
            },
        )
        .map(|r| r.image.unwrap().image_id.unwrap().image_digest.unwrap())
    }
}
