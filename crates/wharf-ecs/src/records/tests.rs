//! Every record reads and writes exactly the JSON its wire twin stored (format 1): checked on a
//! fully populated instance of each stored type (every member set, built from the service
//! model), on empty ones, and on the data directory written by the wharf before records.

use super::*;
use crate::generated::{self, MODEL};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use wharf_core::model::Kind;
use wharf_store::Store;

/// A JSON value of shape `name` with every member set (lists and maps of one), `depth` levels
/// deep at most (the model has recursive shapes).
fn full(name: &str) -> Value {
    let id = MODEL
        .shapes
        .iter()
        .position(|s| s.name == name)
        .unwrap_or_else(|| panic!("no shape {name}"));
    fill(u16::try_from(id).unwrap(), 0)
}

fn fill(id: u16, depth: usize) -> Value {
    let shape = MODEL.shape(id);
    match shape.kind {
        Kind::Structure => {
            let mut out = serde_json::Map::new();
            if depth < 8 {
                for m in shape.members {
                    out.insert(m.name.to_string(), fill(m.shape, depth + 1));
                }
            }
            Value::Object(out)
        }
        Kind::List => json!([fill(shape.target, depth + 1)]),
        Kind::Map => json!({ "k": fill(shape.target, depth + 1) }),
        Kind::String => match shape.enum_values.first() {
            Some(v) => json!(v),
            None => json!(format!("{}-text", shape.name)),
        },
        Kind::Integer => json!(7),
        Kind::Long => json!(8),
        Kind::Boolean => json!(true),
        Kind::Double | Kind::Float => json!(1.5),
        Kind::Timestamp => json!(1_700_000_000.25),
        Kind::Blob => json!("YmxvYg=="),
        Kind::Document => json!({"doc": [1, "two"]}),
    }
}

/// Checks that record `R` and wire type `W` agree on `value`: the same JSON text out, the same
/// value through the conversions both ways.
fn agrees<R, W>(value: Value)
where
    R: Wire<Wire = W> + Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug,
    W: Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug,
{
    let wire: W = serde_json::from_value(value).unwrap();
    // What the wharf before records stored.
    let stored = serde_json::to_string(&wire).unwrap();
    let record: R = serde_json::from_str(&stored).unwrap();
    assert_eq!(serde_json::to_string(&record).unwrap(), stored);
    assert_eq!(record.clone().into_wire(), wire);
    assert_eq!(R::from_wire(wire), record);
}

#[test]
fn every_member_of_every_stored_type_keeps_its_json() {
    for name in ["Cluster", "TaskDefinition", "Service", "Task", "Tag"] {
        let v = full(name);
        assert!(
            v.as_object().is_some_and(|o| o.len() > 1),
            "{name} is filled"
        );
    }
    agrees::<ClusterRecord, generated::Cluster>(full("Cluster"));
    agrees::<TaskDefinitionDescription, generated::TaskDefinition>(full("TaskDefinition"));
    agrees::<ServiceRecord, generated::Service>(full("Service"));
    agrees::<TaskDescription, generated::Task>(full("Task"));
    agrees::<TagRecord, generated::Tag>(full("Tag"));
}

#[test]
fn absent_members_stay_absent_and_required_ones_default() {
    agrees::<ClusterRecord, generated::Cluster>(json!({}));
    agrees::<ServiceRecord, generated::Service>(json!({}));
    agrees::<TaskDescription, generated::Task>(json!({}));
    agrees::<TaskDefinitionDescription, generated::TaskDefinition>(json!({}));
    // Required members are written even when empty, as the wire types do.
    agrees::<NetworkConfigurationRecord, generated::NetworkConfiguration>(
        json!({"awsvpcConfiguration": {}}),
    );
    let r: NetworkConfigurationRecord =
        serde_json::from_value(json!({"awsvpcConfiguration": {}})).unwrap();
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"awsvpcConfiguration": {"subnets": []}})
    );
}

#[test]
fn wrappers_keep_their_json() {
    let task = json!({
        "task": full("Task"),
        "definition": full("TaskDefinition"),
        "account": "123456789012",
        "region": "us-east-1",
        "subnet": {"id": "subnet-1", "vpc_id": "vpc-1", "availability_zone": "us-east-1a", "cidr_block": "172.31.0.0/20"},
        "security_groups": ["sg-1"],
        "assign_public_ip": true,
        "service_name": "web",
        "resources": {"sandbox_id": "s", "eni_id": "eni-1", "containers": {"app": "c1"}, "credentials_id": "cr"},
    });
    // The JSON the wharf before records wrote: its members through the wire types.
    let mut old = task.clone();
    old["task"] = serde_json::to_value(
        serde_json::from_value::<generated::Task>(task["task"].clone()).unwrap(),
    )
    .unwrap();
    old["definition"] = serde_json::to_value(
        serde_json::from_value::<generated::TaskDefinition>(task["definition"].clone()).unwrap(),
    )
    .unwrap();
    let record: TaskRecord = serde_json::from_value(old.clone()).unwrap();
    assert_eq!(serde_json::to_value(&record).unwrap(), old);

    let def =
        json!({"definition": old["definition"].clone(), "tags": [{"key": "k", "value": "v"}]});
    let record: TaskDefinitionRecord = serde_json::from_value(def.clone()).unwrap();
    assert_eq!(serde_json::to_value(&record).unwrap(), def);

    let state = json!({
        "seen_stopped": ["a"], "removing": {"b": "why"},
        "throttle": {"deployment_id": "ecs-svc/1", "failures": 2, "last_failure_at": 5},
        "steady": true,
    });
    let record: ControllerState = serde_json::from_value(state.clone()).unwrap();
    assert_eq!(serde_json::to_value(&record).unwrap(), state);
    let family: FamilyRecord = serde_json::from_value(json!({"last_revision": 3})).unwrap();
    assert_eq!(
        serde_json::to_value(&family).unwrap(),
        json!({"last_revision": 3})
    );
}

/// `table` read as plain JSON.
fn raw<T>(table: Table<T>) -> Table<Value> {
    Table::new(table.name(), table.version())
}

/// Every ECS row of `store` reads as its record and writes back as the same JSON.
fn check_rows<T: Serialize + DeserializeOwned>(store: &Store, table: Table<T>) -> usize {
    let typed = store.read(|tx| tx.list(table, "")).unwrap();
    let plain = store.read(|tx| tx.list(raw(table), "")).unwrap();
    assert_eq!(typed.len(), plain.len());
    for ((key, record), (_, value)) in typed.iter().zip(&plain) {
        assert_eq!(
            &serde_json::to_value(record).unwrap(),
            value,
            "{} {key}",
            table.name()
        );
    }
    typed.len()
}

#[test]
fn the_data_directory_of_the_wharf_before_records_reads_as_format_1() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/e2e/fixtures/datadir-v1/data/wharf.db"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wharf.db");
    // A copy: opening a store migrates its layout in place.
    std::fs::copy(fixture, &db).unwrap();
    let store = Store::open(&db).unwrap();
    store.check_formats(TABLES).unwrap();
    assert!(check_rows(&store, CLUSTERS) > 0);
    assert!(check_rows(&store, TASK_DEFINITIONS) > 0);
    assert!(check_rows(&store, FAMILIES) > 0);
    assert!(check_rows(&store, SERVICES) > 0);
    assert!(check_rows(&store, TASKS) > 0);
    assert!(check_rows(&store, CONTROLLER_STATE) > 0);
}

#[test]
fn tables_keep_their_names_at_format_1() {
    let listed: Vec<(&str, u32)> = TABLES.iter().map(|t| (t.name, t.version)).collect();
    assert_eq!(
        listed,
        vec![
            ("ecs.cluster", 1),
            ("ecs.taskdef", 1),
            ("ecs.family", 1),
            ("ecs.service", 1),
            ("ecs.task", 1),
            ("ecs.service-controller", 1),
            ("ecs.account-setting", 1),
        ]
    );
}
