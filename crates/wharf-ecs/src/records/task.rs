//! A task as its record stores it (`TaskDescription`): containers, attachments, overrides. The
//! JSON of each is that of its wire twin in `generated.rs` when it was first stored (format 1 of
//! the table).

use super::common::{
    AttachmentRecord, AttributeRecord, EnvironmentFileRecord, EphemeralStorageRecord,
    InferenceAcceleratorRecord, KeyValuePairRecord, ResourceRequirementRecord, TagRecord,
};
use super::wire::record;
use wharf_core::Timestamp;

record! {
    /// `TaskOverride` as ECS keeps it.
    pub struct TaskOverrideRecord: TaskOverride {
        container_overrides: Option<Vec<ContainerOverrideRecord>> = "containerOverrides",
        cpu: Option<String> = "cpu",
        inference_accelerator_overrides: Option<Vec<InferenceAcceleratorOverrideRecord>> = "inferenceAcceleratorOverrides",
        execution_role_arn: Option<String> = "executionRoleArn",
        memory: Option<String> = "memory",
        task_role_arn: Option<String> = "taskRoleArn",
        ephemeral_storage: Option<EphemeralStorageRecord> = "ephemeralStorage",
    }

    /// `ContainerOverride` as ECS keeps it.
    pub struct ContainerOverrideRecord: ContainerOverride {
        name: Option<String> = "name",
        command: Option<Vec<String>> = "command",
        environment: Option<Vec<KeyValuePairRecord>> = "environment",
        environment_files: Option<Vec<EnvironmentFileRecord>> = "environmentFiles",
        cpu: Option<i32> = "cpu",
        memory: Option<i32> = "memory",
        memory_reservation: Option<i32> = "memoryReservation",
        resource_requirements: Option<Vec<ResourceRequirementRecord>> = "resourceRequirements",
    }

    /// `InferenceAcceleratorOverride` as ECS keeps it.
    pub struct InferenceAcceleratorOverrideRecord: InferenceAcceleratorOverride {
        device_name: Option<String> = "deviceName",
        device_type: Option<String> = "deviceType",
    }

    /// `Task` as ECS keeps it.
    pub struct TaskDescription: Task {
        attachments: Option<Vec<AttachmentRecord>> = "attachments",
        attributes: Option<Vec<AttributeRecord>> = "attributes",
        availability_zone: Option<String> = "availabilityZone",
        capacity_provider_name: Option<String> = "capacityProviderName",
        cluster_arn: Option<String> = "clusterArn",
        connectivity: Option<String> = "connectivity",
        connectivity_at: Option<Timestamp> = "connectivityAt",
        container_instance_arn: Option<String> = "containerInstanceArn",
        containers: Option<Vec<ContainerRecord>> = "containers",
        cpu: Option<String> = "cpu",
        created_at: Option<Timestamp> = "createdAt",
        desired_status: Option<String> = "desiredStatus",
        enable_execute_command: Option<bool> = "enableExecuteCommand",
        execution_stopped_at: Option<Timestamp> = "executionStoppedAt",
        group: Option<String> = "group",
        health_status: Option<String> = "healthStatus",
        inference_accelerators: Option<Vec<InferenceAcceleratorRecord>> = "inferenceAccelerators",
        last_status: Option<String> = "lastStatus",
        launch_type: Option<String> = "launchType",
        memory: Option<String> = "memory",
        overrides: Option<TaskOverrideRecord> = "overrides",
        platform_version: Option<String> = "platformVersion",
        platform_family: Option<String> = "platformFamily",
        pull_started_at: Option<Timestamp> = "pullStartedAt",
        pull_stopped_at: Option<Timestamp> = "pullStoppedAt",
        started_at: Option<Timestamp> = "startedAt",
        started_by: Option<String> = "startedBy",
        stop_code: Option<String> = "stopCode",
        stopped_at: Option<Timestamp> = "stoppedAt",
        stopped_reason: Option<String> = "stoppedReason",
        stopping_at: Option<Timestamp> = "stoppingAt",
        tags: Option<Vec<TagRecord>> = "tags",
        task_arn: Option<String> = "taskArn",
        task_definition_arn: Option<String> = "taskDefinitionArn",
        version: Option<i64> = "version",
        ephemeral_storage: Option<EphemeralStorageRecord> = "ephemeralStorage",
        fargate_ephemeral_storage: Option<TaskEphemeralStorageRecord> = "fargateEphemeralStorage",
    }

    /// `Container` as ECS keeps it.
    pub struct ContainerRecord: Container {
        container_arn: Option<String> = "containerArn",
        task_arn: Option<String> = "taskArn",
        name: Option<String> = "name",
        image: Option<String> = "image",
        image_digest: Option<String> = "imageDigest",
        runtime_id: Option<String> = "runtimeId",
        last_status: Option<String> = "lastStatus",
        exit_code: Option<i32> = "exitCode",
        reason: Option<String> = "reason",
        network_bindings: Option<Vec<NetworkBindingRecord>> = "networkBindings",
        network_interfaces: Option<Vec<NetworkInterfaceRecord>> = "networkInterfaces",
        health_status: Option<String> = "healthStatus",
        managed_agents: Option<Vec<ManagedAgentRecord>> = "managedAgents",
        cpu: Option<String> = "cpu",
        memory: Option<String> = "memory",
        memory_reservation: Option<String> = "memoryReservation",
        gpu_ids: Option<Vec<String>> = "gpuIds",
    }

    /// `NetworkBinding` as ECS keeps it.
    pub struct NetworkBindingRecord: NetworkBinding {
        bind_ip: Option<String> = "bindIP",
        container_port: Option<i32> = "containerPort",
        host_port: Option<i32> = "hostPort",
        protocol: Option<String> = "protocol",
        container_port_range: Option<String> = "containerPortRange",
        host_port_range: Option<String> = "hostPortRange",
    }

    /// `NetworkInterface` as ECS keeps it.
    pub struct NetworkInterfaceRecord: NetworkInterface {
        attachment_id: Option<String> = "attachmentId",
        private_ipv4_address: Option<String> = "privateIpv4Address",
        ipv6_address: Option<String> = "ipv6Address",
    }

    /// `ManagedAgent` as ECS keeps it.
    pub struct ManagedAgentRecord: ManagedAgent {
        last_started_at: Option<Timestamp> = "lastStartedAt",
        name: Option<String> = "name",
        reason: Option<String> = "reason",
        last_status: Option<String> = "lastStatus",
    }

    /// `TaskEphemeralStorage` as ECS keeps it.
    pub struct TaskEphemeralStorageRecord: TaskEphemeralStorage {
        size_in_gi_b: Option<i32> = "sizeInGiB",
        kms_key_id: Option<String> = "kmsKeyId",
    }
}
