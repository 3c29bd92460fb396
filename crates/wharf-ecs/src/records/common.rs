//! Record types more than one resource uses (tags, key-value pairs, attachments, capacity
//! provider items...). The JSON of each is that of its wire twin in `generated.rs` when it was
//! first stored (format 1 of the table).

use super::wire::record;
use std::collections::BTreeMap;

record! {
    /// `Tag` as ECS keeps it.
    pub struct TagRecord: Tag {
        key: Option<String> = "key",
        value: Option<String> = "value",
    }

    /// `CapacityProviderStrategyItem` as ECS keeps it.
    pub struct CapacityProviderStrategyItemRecord: CapacityProviderStrategyItem {
        capacity_provider: String = "capacityProvider",
        weight: Option<i32> = "weight",
        base: Option<i32> = "base",
    }

    /// `KeyValuePair` as ECS keeps it.
    pub struct KeyValuePairRecord: KeyValuePair {
        name: Option<String> = "name",
        value: Option<String> = "value",
    }

    /// `Attachment` as ECS keeps it.
    pub struct AttachmentRecord: Attachment {
        id: Option<String> = "id",
        r#type: Option<String> = "type",
        status: Option<String> = "status",
        details: Option<Vec<KeyValuePairRecord>> = "details",
    }

    /// `EnvironmentFile` as ECS keeps it.
    pub struct EnvironmentFileRecord: EnvironmentFile {
        value: String = "value",
        r#type: String = "type",
    }

    /// `Secret` as ECS keeps it.
    pub struct SecretRecord: Secret {
        name: String = "name",
        value_from: String = "valueFrom",
    }

    /// `LogConfiguration` as ECS keeps it.
    pub struct LogConfigurationRecord: LogConfiguration {
        log_driver: String = "logDriver",
        options: Option<BTreeMap<String, String>> = "options",
        secret_options: Option<Vec<SecretRecord>> = "secretOptions",
    }

    /// `ResourceRequirement` as ECS keeps it.
    pub struct ResourceRequirementRecord: ResourceRequirement {
        value: String = "value",
        r#type: String = "type",
    }

    /// `InferenceAccelerator` as ECS keeps it.
    pub struct InferenceAcceleratorRecord: InferenceAccelerator {
        device_name: String = "deviceName",
        device_type: String = "deviceType",
    }

    /// `EphemeralStorage` as ECS keeps it.
    pub struct EphemeralStorageRecord: EphemeralStorage {
        size_in_gi_b: i32 = "sizeInGiB",
    }

    /// `Attribute` as ECS keeps it.
    pub struct AttributeRecord: Attribute {
        name: String = "name",
        value: Option<String> = "value",
        target_type: Option<String> = "targetType",
        target_id: Option<String> = "targetId",
    }
}
