//! A task definition revision as `ecs.taskdef` and every task record store it
//! (`TaskDefinitionDescription`), with its container definitions and volumes. The JSON of each is
//! that of its wire twin in `generated.rs` when it was first stored (format 1 of the table).

use super::common::{
    AttributeRecord, EnvironmentFileRecord, EphemeralStorageRecord, InferenceAcceleratorRecord,
    KeyValuePairRecord, LogConfigurationRecord, ResourceRequirementRecord, SecretRecord,
};
use super::wire::record;
use std::collections::BTreeMap;
use wharf_core::Timestamp;

record! {
    /// `ContainerDefinition` as ECS keeps it.
    pub struct ContainerDefinitionRecord: ContainerDefinition {
        name: Option<String> = "name",
        image: Option<String> = "image",
        repository_credentials: Option<RepositoryCredentialsRecord> = "repositoryCredentials",
        cpu: Option<i32> = "cpu",
        memory: Option<i32> = "memory",
        memory_reservation: Option<i32> = "memoryReservation",
        links: Option<Vec<String>> = "links",
        port_mappings: Option<Vec<PortMappingRecord>> = "portMappings",
        essential: Option<bool> = "essential",
        restart_policy: Option<ContainerRestartPolicyRecord> = "restartPolicy",
        entry_point: Option<Vec<String>> = "entryPoint",
        command: Option<Vec<String>> = "command",
        environment: Option<Vec<KeyValuePairRecord>> = "environment",
        environment_files: Option<Vec<EnvironmentFileRecord>> = "environmentFiles",
        mount_points: Option<Vec<MountPointRecord>> = "mountPoints",
        volumes_from: Option<Vec<VolumeFromRecord>> = "volumesFrom",
        linux_parameters: Option<LinuxParametersRecord> = "linuxParameters",
        secrets: Option<Vec<SecretRecord>> = "secrets",
        depends_on: Option<Vec<ContainerDependencyRecord>> = "dependsOn",
        start_timeout: Option<i32> = "startTimeout",
        stop_timeout: Option<i32> = "stopTimeout",
        version_consistency: Option<String> = "versionConsistency",
        hostname: Option<String> = "hostname",
        user: Option<String> = "user",
        working_directory: Option<String> = "workingDirectory",
        disable_networking: Option<bool> = "disableNetworking",
        privileged: Option<bool> = "privileged",
        readonly_root_filesystem: Option<bool> = "readonlyRootFilesystem",
        dns_servers: Option<Vec<String>> = "dnsServers",
        dns_search_domains: Option<Vec<String>> = "dnsSearchDomains",
        extra_hosts: Option<Vec<HostEntryRecord>> = "extraHosts",
        docker_security_options: Option<Vec<String>> = "dockerSecurityOptions",
        interactive: Option<bool> = "interactive",
        pseudo_terminal: Option<bool> = "pseudoTerminal",
        docker_labels: Option<BTreeMap<String, String>> = "dockerLabels",
        ulimits: Option<Vec<UlimitRecord>> = "ulimits",
        log_configuration: Option<LogConfigurationRecord> = "logConfiguration",
        health_check: Option<HealthCheckRecord> = "healthCheck",
        system_controls: Option<Vec<SystemControlRecord>> = "systemControls",
        resource_requirements: Option<Vec<ResourceRequirementRecord>> = "resourceRequirements",
        firelens_configuration: Option<FirelensConfigurationRecord> = "firelensConfiguration",
        credential_specs: Option<Vec<String>> = "credentialSpecs",
    }

    /// `RepositoryCredentials` as ECS keeps it.
    pub struct RepositoryCredentialsRecord: RepositoryCredentials {
        credentials_parameter: String = "credentialsParameter",
    }

    /// `PortMapping` as ECS keeps it.
    pub struct PortMappingRecord: PortMapping {
        container_port: Option<i32> = "containerPort",
        host_port: Option<i32> = "hostPort",
        protocol: Option<String> = "protocol",
        name: Option<String> = "name",
        app_protocol: Option<String> = "appProtocol",
        container_port_range: Option<String> = "containerPortRange",
    }

    /// `ContainerRestartPolicy` as ECS keeps it.
    pub struct ContainerRestartPolicyRecord: ContainerRestartPolicy {
        enabled: bool = "enabled",
        ignored_exit_codes: Option<Vec<i32>> = "ignoredExitCodes",
        restart_attempt_period: Option<i32> = "restartAttemptPeriod",
    }

    /// `MountPoint` as ECS keeps it.
    pub struct MountPointRecord: MountPoint {
        source_volume: Option<String> = "sourceVolume",
        container_path: Option<String> = "containerPath",
        read_only: Option<bool> = "readOnly",
    }

    /// `VolumeFrom` as ECS keeps it.
    pub struct VolumeFromRecord: VolumeFrom {
        source_container: Option<String> = "sourceContainer",
        read_only: Option<bool> = "readOnly",
    }

    /// `LinuxParameters` as ECS keeps it.
    pub struct LinuxParametersRecord: LinuxParameters {
        capabilities: Option<KernelCapabilitiesRecord> = "capabilities",
        devices: Option<Vec<DeviceRecord>> = "devices",
        init_process_enabled: Option<bool> = "initProcessEnabled",
        shared_memory_size: Option<i32> = "sharedMemorySize",
        tmpfs: Option<Vec<TmpfsRecord>> = "tmpfs",
        max_swap: Option<i32> = "maxSwap",
        swappiness: Option<i32> = "swappiness",
    }

    /// `KernelCapabilities` as ECS keeps it.
    pub struct KernelCapabilitiesRecord: KernelCapabilities {
        add: Option<Vec<String>> = "add",
        drop: Option<Vec<String>> = "drop",
    }

    /// `Device` as ECS keeps it.
    pub struct DeviceRecord: Device {
        host_path: String = "hostPath",
        container_path: Option<String> = "containerPath",
        permissions: Option<Vec<String>> = "permissions",
    }

    /// `Tmpfs` as ECS keeps it.
    pub struct TmpfsRecord: Tmpfs {
        container_path: String = "containerPath",
        size: i32 = "size",
        mount_options: Option<Vec<String>> = "mountOptions",
    }

    /// `ContainerDependency` as ECS keeps it.
    pub struct ContainerDependencyRecord: ContainerDependency {
        container_name: String = "containerName",
        condition: String = "condition",
    }

    /// `HostEntry` as ECS keeps it.
    pub struct HostEntryRecord: HostEntry {
        hostname: String = "hostname",
        ip_address: String = "ipAddress",
    }

    /// `Ulimit` as ECS keeps it.
    pub struct UlimitRecord: Ulimit {
        name: String = "name",
        soft_limit: i32 = "softLimit",
        hard_limit: i32 = "hardLimit",
    }

    /// `HealthCheck` as ECS keeps it.
    pub struct HealthCheckRecord: HealthCheck {
        command: Vec<String> = "command",
        interval: Option<i32> = "interval",
        timeout: Option<i32> = "timeout",
        retries: Option<i32> = "retries",
        start_period: Option<i32> = "startPeriod",
    }

    /// `SystemControl` as ECS keeps it.
    pub struct SystemControlRecord: SystemControl {
        namespace: Option<String> = "namespace",
        value: Option<String> = "value",
    }

    /// `FirelensConfiguration` as ECS keeps it.
    pub struct FirelensConfigurationRecord: FirelensConfiguration {
        r#type: String = "type",
        options: Option<BTreeMap<String, String>> = "options",
    }

    /// `Volume` as ECS keeps it.
    pub struct VolumeRecord: Volume {
        name: Option<String> = "name",
        host: Option<HostVolumePropertiesRecord> = "host",
        docker_volume_configuration: Option<DockerVolumeConfigurationRecord> = "dockerVolumeConfiguration",
        efs_volume_configuration: Option<EFSVolumeConfigurationRecord> = "efsVolumeConfiguration",
        s3files_volume_configuration: Option<S3FilesVolumeConfigurationRecord> = "s3filesVolumeConfiguration",
        fsx_windows_file_server_volume_configuration: Option<FSxWindowsFileServerVolumeConfigurationRecord> = "fsxWindowsFileServerVolumeConfiguration",
        configured_at_launch: Option<bool> = "configuredAtLaunch",
    }

    /// `HostVolumeProperties` as ECS keeps it.
    pub struct HostVolumePropertiesRecord: HostVolumeProperties {
        source_path: Option<String> = "sourcePath",
    }

    /// `DockerVolumeConfiguration` as ECS keeps it.
    pub struct DockerVolumeConfigurationRecord: DockerVolumeConfiguration {
        scope: Option<String> = "scope",
        autoprovision: Option<bool> = "autoprovision",
        driver: Option<String> = "driver",
        driver_opts: Option<BTreeMap<String, String>> = "driverOpts",
        labels: Option<BTreeMap<String, String>> = "labels",
    }

    /// `EFSVolumeConfiguration` as ECS keeps it.
    pub struct EFSVolumeConfigurationRecord: EFSVolumeConfiguration {
        file_system_id: String = "fileSystemId",
        root_directory: Option<String> = "rootDirectory",
        transit_encryption: Option<String> = "transitEncryption",
        transit_encryption_port: Option<i32> = "transitEncryptionPort",
        authorization_config: Option<EFSAuthorizationConfigRecord> = "authorizationConfig",
    }

    /// `EFSAuthorizationConfig` as ECS keeps it.
    pub struct EFSAuthorizationConfigRecord: EFSAuthorizationConfig {
        access_point_id: Option<String> = "accessPointId",
        iam: Option<String> = "iam",
    }

    /// `S3FilesVolumeConfiguration` as ECS keeps it.
    pub struct S3FilesVolumeConfigurationRecord: S3FilesVolumeConfiguration {
        file_system_arn: String = "fileSystemArn",
        root_directory: Option<String> = "rootDirectory",
        transit_encryption_port: Option<i32> = "transitEncryptionPort",
        access_point_arn: Option<String> = "accessPointArn",
    }

    /// `FSxWindowsFileServerVolumeConfiguration` as ECS keeps it.
    pub struct FSxWindowsFileServerVolumeConfigurationRecord: FSxWindowsFileServerVolumeConfiguration {
        file_system_id: String = "fileSystemId",
        root_directory: String = "rootDirectory",
        authorization_config: FSxWindowsFileServerAuthorizationConfigRecord = "authorizationConfig",
    }

    /// `FSxWindowsFileServerAuthorizationConfig` as ECS keeps it.
    pub struct FSxWindowsFileServerAuthorizationConfigRecord: FSxWindowsFileServerAuthorizationConfig {
        credentials_parameter: String = "credentialsParameter",
        domain: String = "domain",
    }

    /// `TaskDefinitionPlacementConstraint` as ECS keeps it.
    pub struct TaskDefinitionPlacementConstraintRecord: TaskDefinitionPlacementConstraint {
        r#type: Option<String> = "type",
        expression: Option<String> = "expression",
    }

    /// `ProxyConfiguration` as ECS keeps it.
    pub struct ProxyConfigurationRecord: ProxyConfiguration {
        r#type: Option<String> = "type",
        container_name: String = "containerName",
        properties: Option<Vec<KeyValuePairRecord>> = "properties",
    }

    /// `RuntimePlatform` as ECS keeps it.
    pub struct RuntimePlatformRecord: RuntimePlatform {
        cpu_architecture: Option<String> = "cpuArchitecture",
        operating_system_family: Option<String> = "operatingSystemFamily",
    }

    /// `TaskDefinition` as ECS keeps it.
    pub struct TaskDefinitionDescription: TaskDefinition {
        task_definition_arn: Option<String> = "taskDefinitionArn",
        container_definitions: Option<Vec<ContainerDefinitionRecord>> = "containerDefinitions",
        family: Option<String> = "family",
        task_role_arn: Option<String> = "taskRoleArn",
        execution_role_arn: Option<String> = "executionRoleArn",
        network_mode: Option<String> = "networkMode",
        revision: Option<i32> = "revision",
        volumes: Option<Vec<VolumeRecord>> = "volumes",
        status: Option<String> = "status",
        requires_attributes: Option<Vec<AttributeRecord>> = "requiresAttributes",
        placement_constraints: Option<Vec<TaskDefinitionPlacementConstraintRecord>> = "placementConstraints",
        compatibilities: Option<Vec<String>> = "compatibilities",
        runtime_platform: Option<RuntimePlatformRecord> = "runtimePlatform",
        requires_compatibilities: Option<Vec<String>> = "requiresCompatibilities",
        cpu: Option<String> = "cpu",
        memory: Option<String> = "memory",
        inference_accelerators: Option<Vec<InferenceAcceleratorRecord>> = "inferenceAccelerators",
        pid_mode: Option<String> = "pidMode",
        ipc_mode: Option<String> = "ipcMode",
        proxy_configuration: Option<ProxyConfigurationRecord> = "proxyConfiguration",
        registered_at: Option<Timestamp> = "registeredAt",
        deregistered_at: Option<Timestamp> = "deregisteredAt",
        delete_requested_at: Option<Timestamp> = "deleteRequestedAt",
        registered_by: Option<String> = "registeredBy",
        ephemeral_storage: Option<EphemeralStorageRecord> = "ephemeralStorage",
        enable_fault_injection: Option<bool> = "enableFaultInjection",
    }
}
