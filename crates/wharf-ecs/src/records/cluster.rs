//! The cluster record (`ClusterRecord`) and its parts, as `ecs.cluster` stores them. The JSON of
//! each is that of its wire twin in `generated.rs` when it was first stored (format 1 of the
//! table).

use super::common::{
    AttachmentRecord, CapacityProviderStrategyItemRecord, KeyValuePairRecord, TagRecord,
};
use super::wire::record;

record! {
    /// `ClusterSetting` as ECS keeps it.
    pub struct ClusterSettingRecord: ClusterSetting {
        name: Option<String> = "name",
        value: Option<String> = "value",
    }

    /// `ClusterConfiguration` as ECS keeps it.
    pub struct ClusterConfigurationRecord: ClusterConfiguration {
        execute_command_configuration: Option<ExecuteCommandConfigurationRecord> = "executeCommandConfiguration",
        managed_storage_configuration: Option<ManagedStorageConfigurationRecord> = "managedStorageConfiguration",
    }

    /// `ExecuteCommandConfiguration` as ECS keeps it.
    pub struct ExecuteCommandConfigurationRecord: ExecuteCommandConfiguration {
        kms_key_id: Option<String> = "kmsKeyId",
        logging: Option<String> = "logging",
        log_configuration: Option<ExecuteCommandLogConfigurationRecord> = "logConfiguration",
    }

    /// `ExecuteCommandLogConfiguration` as ECS keeps it.
    pub struct ExecuteCommandLogConfigurationRecord: ExecuteCommandLogConfiguration {
        cloud_watch_log_group_name: Option<String> = "cloudWatchLogGroupName",
        cloud_watch_encryption_enabled: Option<bool> = "cloudWatchEncryptionEnabled",
        s3_bucket_name: Option<String> = "s3BucketName",
        s3_encryption_enabled: Option<bool> = "s3EncryptionEnabled",
        s3_key_prefix: Option<String> = "s3KeyPrefix",
    }

    /// `ManagedStorageConfiguration` as ECS keeps it.
    pub struct ManagedStorageConfigurationRecord: ManagedStorageConfiguration {
        kms_key_id: Option<String> = "kmsKeyId",
        fargate_ephemeral_storage_kms_key_id: Option<String> = "fargateEphemeralStorageKmsKeyId",
    }

    /// `Cluster` as ECS keeps it.
    pub struct ClusterRecord: Cluster {
        cluster_arn: Option<String> = "clusterArn",
        cluster_name: Option<String> = "clusterName",
        configuration: Option<ClusterConfigurationRecord> = "configuration",
        status: Option<String> = "status",
        registered_container_instances_count: Option<i32> = "registeredContainerInstancesCount",
        running_tasks_count: Option<i32> = "runningTasksCount",
        pending_tasks_count: Option<i32> = "pendingTasksCount",
        active_services_count: Option<i32> = "activeServicesCount",
        statistics: Option<Vec<KeyValuePairRecord>> = "statistics",
        tags: Option<Vec<TagRecord>> = "tags",
        settings: Option<Vec<ClusterSettingRecord>> = "settings",
        capacity_providers: Option<Vec<String>> = "capacityProviders",
        default_capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItemRecord>> = "defaultCapacityProviderStrategy",
        attachments: Option<Vec<AttachmentRecord>> = "attachments",
        attachments_status: Option<String> = "attachmentsStatus",
        service_connect_defaults: Option<ClusterServiceConnectDefaultsRecord> = "serviceConnectDefaults",
    }

    /// `ClusterServiceConnectDefaults` as ECS keeps it.
    pub struct ClusterServiceConnectDefaultsRecord: ClusterServiceConnectDefaults {
        namespace: Option<String> = "namespace",
    }
}
