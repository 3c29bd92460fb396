//! The service record (`ServiceRecord`) with its deployments, events, load balancers and
//! deployment configuration, as `ecs.service` stores it. The JSON of each is that of its wire
//! twin in `generated.rs` when it was first stored (format 1 of the table).

use super::common::{CapacityProviderStrategyItemRecord, LogConfigurationRecord, TagRecord};
use super::wire::record;
use wharf_core::Timestamp;

record! {
    /// `LoadBalancer` as ECS keeps it.
    pub struct LoadBalancerRecord: LoadBalancer {
        target_group_arn: Option<String> = "targetGroupArn",
        load_balancer_name: Option<String> = "loadBalancerName",
        container_name: Option<String> = "containerName",
        container_port: Option<i32> = "containerPort",
        advanced_configuration: Option<AdvancedConfigurationRecord> = "advancedConfiguration",
    }

    /// `AdvancedConfiguration` as ECS keeps it.
    pub struct AdvancedConfigurationRecord: AdvancedConfiguration {
        alternate_target_group_arn: Option<String> = "alternateTargetGroupArn",
        production_listener_rule: Option<String> = "productionListenerRule",
        test_listener_rule: Option<String> = "testListenerRule",
        role_arn: Option<String> = "roleArn",
    }

    /// `ServiceRegistry` as ECS keeps it.
    pub struct ServiceRegistryRecord: ServiceRegistry {
        registry_arn: Option<String> = "registryArn",
        port: Option<i32> = "port",
        container_name: Option<String> = "containerName",
        container_port: Option<i32> = "containerPort",
    }

    /// `DeploymentConfiguration` as ECS keeps it.
    pub struct DeploymentConfigurationRecord: DeploymentConfiguration {
        deployment_circuit_breaker: Option<DeploymentCircuitBreakerRecord> = "deploymentCircuitBreaker",
        maximum_percent: Option<i32> = "maximumPercent",
        minimum_healthy_percent: Option<i32> = "minimumHealthyPercent",
        alarms: Option<DeploymentAlarmsRecord> = "alarms",
        strategy: Option<String> = "strategy",
        bake_time_in_minutes: Option<i32> = "bakeTimeInMinutes",
        lifecycle_hooks: Option<Vec<DeploymentLifecycleHookRecord>> = "lifecycleHooks",
        linear_configuration: Option<LinearConfigurationRecord> = "linearConfiguration",
        canary_configuration: Option<CanaryConfigurationRecord> = "canaryConfiguration",
    }

    /// `DeploymentCircuitBreaker` as ECS keeps it.
    pub struct DeploymentCircuitBreakerRecord: DeploymentCircuitBreaker {
        enable: bool = "enable",
        rollback: bool = "rollback",
    }

    /// `DeploymentAlarms` as ECS keeps it.
    pub struct DeploymentAlarmsRecord: DeploymentAlarms {
        alarm_names: Vec<String> = "alarmNames",
        rollback: bool = "rollback",
        enable: bool = "enable",
    }

    /// `DeploymentLifecycleHook` as ECS keeps it.
    pub struct DeploymentLifecycleHookRecord: DeploymentLifecycleHook {
        target_type: Option<String> = "targetType",
        hook_target_arn: Option<String> = "hookTargetArn",
        role_arn: Option<String> = "roleArn",
        lifecycle_stages: Option<Vec<String>> = "lifecycleStages",
        hook_details: Option<serde_json::Value> = "hookDetails",
        timeout_configuration: Option<DeploymentLifecycleHookTimeoutConfigurationRecord> = "timeoutConfiguration",
    }

    /// `DeploymentLifecycleHookTimeoutConfiguration` as ECS keeps it.
    pub struct DeploymentLifecycleHookTimeoutConfigurationRecord: DeploymentLifecycleHookTimeoutConfiguration {
        timeout_in_minutes: Option<i32> = "timeoutInMinutes",
        action: Option<String> = "action",
    }

    /// `LinearConfiguration` as ECS keeps it.
    pub struct LinearConfigurationRecord: LinearConfiguration {
        step_percent: Option<f64> = "stepPercent",
        step_bake_time_in_minutes: Option<i32> = "stepBakeTimeInMinutes",
    }

    /// `CanaryConfiguration` as ECS keeps it.
    pub struct CanaryConfigurationRecord: CanaryConfiguration {
        canary_percent: Option<f64> = "canaryPercent",
        canary_bake_time_in_minutes: Option<i32> = "canaryBakeTimeInMinutes",
    }

    /// `PlacementConstraint` as ECS keeps it.
    pub struct PlacementConstraintRecord: PlacementConstraint {
        r#type: Option<String> = "type",
        expression: Option<String> = "expression",
    }

    /// `PlacementStrategy` as ECS keeps it.
    pub struct PlacementStrategyRecord: PlacementStrategy {
        r#type: Option<String> = "type",
        field: Option<String> = "field",
    }

    /// `NetworkConfiguration` as ECS keeps it.
    pub struct NetworkConfigurationRecord: NetworkConfiguration {
        awsvpc_configuration: Option<AwsVpcConfigurationRecord> = "awsvpcConfiguration",
    }

    /// `AwsVpcConfiguration` as ECS keeps it.
    pub struct AwsVpcConfigurationRecord: AwsVpcConfiguration {
        subnets: Vec<String> = "subnets",
        security_groups: Option<Vec<String>> = "securityGroups",
        assign_public_ip: Option<String> = "assignPublicIp",
    }

    /// `DeploymentController` as ECS keeps it.
    pub struct DeploymentControllerRecord: DeploymentController {
        r#type: String = "type",
    }

    /// `ServiceConnectConfiguration` as ECS keeps it.
    pub struct ServiceConnectConfigurationRecord: ServiceConnectConfiguration {
        enabled: bool = "enabled",
        namespace: Option<String> = "namespace",
        services: Option<Vec<ServiceConnectServiceRecord>> = "services",
        log_configuration: Option<LogConfigurationRecord> = "logConfiguration",
        access_log_configuration: Option<ServiceConnectAccessLogConfigurationRecord> = "accessLogConfiguration",
    }

    /// `ServiceConnectService` as ECS keeps it.
    pub struct ServiceConnectServiceRecord: ServiceConnectService {
        port_name: String = "portName",
        discovery_name: Option<String> = "discoveryName",
        client_aliases: Option<Vec<ServiceConnectClientAliasRecord>> = "clientAliases",
        ingress_port_override: Option<i32> = "ingressPortOverride",
        timeout: Option<TimeoutConfigurationRecord> = "timeout",
        tls: Option<ServiceConnectTlsConfigurationRecord> = "tls",
    }

    /// `ServiceConnectClientAlias` as ECS keeps it.
    pub struct ServiceConnectClientAliasRecord: ServiceConnectClientAlias {
        port: i32 = "port",
        dns_name: Option<String> = "dnsName",
        test_traffic_rules: Option<ServiceConnectTestTrafficRulesRecord> = "testTrafficRules",
    }

    /// `ServiceConnectTestTrafficRules` as ECS keeps it.
    pub struct ServiceConnectTestTrafficRulesRecord: ServiceConnectTestTrafficRules {
        header: ServiceConnectTestTrafficHeaderRulesRecord = "header",
    }

    /// `ServiceConnectTestTrafficHeaderRules` as ECS keeps it.
    pub struct ServiceConnectTestTrafficHeaderRulesRecord: ServiceConnectTestTrafficHeaderRules {
        name: String = "name",
        value: Option<ServiceConnectTestTrafficHeaderMatchRulesRecord> = "value",
    }

    /// `ServiceConnectTestTrafficHeaderMatchRules` as ECS keeps it.
    pub struct ServiceConnectTestTrafficHeaderMatchRulesRecord: ServiceConnectTestTrafficHeaderMatchRules {
        exact: String = "exact",
    }

    /// `TimeoutConfiguration` as ECS keeps it.
    pub struct TimeoutConfigurationRecord: TimeoutConfiguration {
        idle_timeout_seconds: Option<i32> = "idleTimeoutSeconds",
        per_request_timeout_seconds: Option<i32> = "perRequestTimeoutSeconds",
    }

    /// `ServiceConnectTlsConfiguration` as ECS keeps it.
    pub struct ServiceConnectTlsConfigurationRecord: ServiceConnectTlsConfiguration {
        issuer_certificate_authority: ServiceConnectTlsCertificateAuthorityRecord = "issuerCertificateAuthority",
        kms_key: Option<String> = "kmsKey",
        role_arn: Option<String> = "roleArn",
    }

    /// `ServiceConnectTlsCertificateAuthority` as ECS keeps it.
    pub struct ServiceConnectTlsCertificateAuthorityRecord: ServiceConnectTlsCertificateAuthority {
        aws_pca_authority_arn: Option<String> = "awsPcaAuthorityArn",
    }

    /// `ServiceConnectAccessLogConfiguration` as ECS keeps it.
    pub struct ServiceConnectAccessLogConfigurationRecord: ServiceConnectAccessLogConfiguration {
        format: String = "format",
        include_query_parameters: Option<String> = "includeQueryParameters",
    }

    /// `ServiceVolumeConfiguration` as ECS keeps it.
    pub struct ServiceVolumeConfigurationRecord: ServiceVolumeConfiguration {
        name: String = "name",
        managed_ebs_volume: Option<ServiceManagedEBSVolumeConfigurationRecord> = "managedEBSVolume",
    }

    /// `ServiceManagedEBSVolumeConfiguration` as ECS keeps it.
    pub struct ServiceManagedEBSVolumeConfigurationRecord: ServiceManagedEBSVolumeConfiguration {
        encrypted: Option<bool> = "encrypted",
        kms_key_id: Option<String> = "kmsKeyId",
        volume_type: Option<String> = "volumeType",
        size_in_gi_b: Option<i32> = "sizeInGiB",
        snapshot_id: Option<String> = "snapshotId",
        volume_initialization_rate: Option<i32> = "volumeInitializationRate",
        iops: Option<i32> = "iops",
        throughput: Option<i32> = "throughput",
        tag_specifications: Option<Vec<EBSTagSpecificationRecord>> = "tagSpecifications",
        role_arn: String = "roleArn",
        filesystem_type: Option<String> = "filesystemType",
    }

    /// `EBSTagSpecification` as ECS keeps it.
    pub struct EBSTagSpecificationRecord: EBSTagSpecification {
        resource_type: String = "resourceType",
        tags: Option<Vec<TagRecord>> = "tags",
        propagate_tags: Option<String> = "propagateTags",
    }

    /// `VpcLatticeConfiguration` as ECS keeps it.
    pub struct VpcLatticeConfigurationRecord: VpcLatticeConfiguration {
        role_arn: String = "roleArn",
        target_group_arn: String = "targetGroupArn",
        port_name: String = "portName",
    }

    /// `Service` as ECS keeps it.
    pub struct ServiceRecord: Service {
        service_arn: Option<String> = "serviceArn",
        service_name: Option<String> = "serviceName",
        cluster_arn: Option<String> = "clusterArn",
        load_balancers: Option<Vec<LoadBalancerRecord>> = "loadBalancers",
        service_registries: Option<Vec<ServiceRegistryRecord>> = "serviceRegistries",
        status: Option<String> = "status",
        desired_count: Option<i32> = "desiredCount",
        running_count: Option<i32> = "runningCount",
        pending_count: Option<i32> = "pendingCount",
        launch_type: Option<String> = "launchType",
        capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItemRecord>> = "capacityProviderStrategy",
        platform_version: Option<String> = "platformVersion",
        platform_family: Option<String> = "platformFamily",
        task_definition: Option<String> = "taskDefinition",
        deployment_configuration: Option<DeploymentConfigurationRecord> = "deploymentConfiguration",
        task_sets: Option<Vec<TaskSetRecord>> = "taskSets",
        deployments: Option<Vec<DeploymentRecord>> = "deployments",
        role_arn: Option<String> = "roleArn",
        events: Option<Vec<ServiceEventRecord>> = "events",
        created_at: Option<Timestamp> = "createdAt",
        current_service_deployment: Option<String> = "currentServiceDeployment",
        current_service_revisions: Option<Vec<ServiceCurrentRevisionSummaryRecord>> = "currentServiceRevisions",
        placement_constraints: Option<Vec<PlacementConstraintRecord>> = "placementConstraints",
        placement_strategy: Option<Vec<PlacementStrategyRecord>> = "placementStrategy",
        network_configuration: Option<NetworkConfigurationRecord> = "networkConfiguration",
        health_check_grace_period_seconds: Option<i32> = "healthCheckGracePeriodSeconds",
        scheduling_strategy: Option<String> = "schedulingStrategy",
        deployment_controller: Option<DeploymentControllerRecord> = "deploymentController",
        tags: Option<Vec<TagRecord>> = "tags",
        created_by: Option<String> = "createdBy",
        enable_ecs_managed_tags: Option<bool> = "enableECSManagedTags",
        propagate_tags: Option<String> = "propagateTags",
        enable_execute_command: Option<bool> = "enableExecuteCommand",
        availability_zone_rebalancing: Option<String> = "availabilityZoneRebalancing",
        resource_management_type: Option<String> = "resourceManagementType",
    }

    /// `TaskSet` as ECS keeps it.
    pub struct TaskSetRecord: TaskSet {
        id: Option<String> = "id",
        task_set_arn: Option<String> = "taskSetArn",
        service_arn: Option<String> = "serviceArn",
        cluster_arn: Option<String> = "clusterArn",
        started_by: Option<String> = "startedBy",
        external_id: Option<String> = "externalId",
        status: Option<String> = "status",
        task_definition: Option<String> = "taskDefinition",
        computed_desired_count: Option<i32> = "computedDesiredCount",
        pending_count: Option<i32> = "pendingCount",
        running_count: Option<i32> = "runningCount",
        created_at: Option<Timestamp> = "createdAt",
        updated_at: Option<Timestamp> = "updatedAt",
        launch_type: Option<String> = "launchType",
        capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItemRecord>> = "capacityProviderStrategy",
        platform_version: Option<String> = "platformVersion",
        platform_family: Option<String> = "platformFamily",
        network_configuration: Option<NetworkConfigurationRecord> = "networkConfiguration",
        load_balancers: Option<Vec<LoadBalancerRecord>> = "loadBalancers",
        service_registries: Option<Vec<ServiceRegistryRecord>> = "serviceRegistries",
        scale: Option<ScaleRecord> = "scale",
        stability_status: Option<String> = "stabilityStatus",
        stability_status_at: Option<Timestamp> = "stabilityStatusAt",
        tags: Option<Vec<TagRecord>> = "tags",
        fargate_ephemeral_storage: Option<DeploymentEphemeralStorageRecord> = "fargateEphemeralStorage",
    }

    /// `Scale` as ECS keeps it.
    pub struct ScaleRecord: Scale {
        value: Option<f64> = "value",
        unit: Option<String> = "unit",
    }

    /// `DeploymentEphemeralStorage` as ECS keeps it.
    pub struct DeploymentEphemeralStorageRecord: DeploymentEphemeralStorage {
        kms_key_id: Option<String> = "kmsKeyId",
    }

    /// `Deployment` as ECS keeps it.
    pub struct DeploymentRecord: Deployment {
        id: Option<String> = "id",
        status: Option<String> = "status",
        task_definition: Option<String> = "taskDefinition",
        desired_count: Option<i32> = "desiredCount",
        pending_count: Option<i32> = "pendingCount",
        running_count: Option<i32> = "runningCount",
        failed_tasks: Option<i32> = "failedTasks",
        created_at: Option<Timestamp> = "createdAt",
        updated_at: Option<Timestamp> = "updatedAt",
        capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItemRecord>> = "capacityProviderStrategy",
        launch_type: Option<String> = "launchType",
        platform_version: Option<String> = "platformVersion",
        platform_family: Option<String> = "platformFamily",
        network_configuration: Option<NetworkConfigurationRecord> = "networkConfiguration",
        rollout_state: Option<String> = "rolloutState",
        rollout_state_reason: Option<String> = "rolloutStateReason",
        service_connect_configuration: Option<ServiceConnectConfigurationRecord> = "serviceConnectConfiguration",
        service_connect_resources: Option<Vec<ServiceConnectServiceResourceRecord>> = "serviceConnectResources",
        volume_configurations: Option<Vec<ServiceVolumeConfigurationRecord>> = "volumeConfigurations",
        fargate_ephemeral_storage: Option<DeploymentEphemeralStorageRecord> = "fargateEphemeralStorage",
        vpc_lattice_configurations: Option<Vec<VpcLatticeConfigurationRecord>> = "vpcLatticeConfigurations",
    }

    /// `ServiceConnectServiceResource` as ECS keeps it.
    pub struct ServiceConnectServiceResourceRecord: ServiceConnectServiceResource {
        discovery_name: Option<String> = "discoveryName",
        discovery_arn: Option<String> = "discoveryArn",
    }

    /// `ServiceEvent` as ECS keeps it.
    pub struct ServiceEventRecord: ServiceEvent {
        id: Option<String> = "id",
        created_at: Option<Timestamp> = "createdAt",
        message: Option<String> = "message",
    }

    /// `ServiceCurrentRevisionSummary` as ECS keeps it.
    pub struct ServiceCurrentRevisionSummaryRecord: ServiceCurrentRevisionSummary {
        arn: Option<String> = "arn",
        requested_task_count: Option<i32> = "requestedTaskCount",
        running_task_count: Option<i32> = "runningTaskCount",
        pending_task_count: Option<i32> = "pendingTaskCount",
    }
}
