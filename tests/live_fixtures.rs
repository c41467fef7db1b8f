//! The planner (classify, normalise, mutability) tested without a server,
//! on the configs each supported nats-server version returned for a set of
//! specs: `tests/fixtures/live/<version>/` holds, per asset, the config of
//! its `STREAM.INFO` or `CONSUMER.INFO` answer after jetsync created it
//! from [`specs`]. Against those recordings:
//!
//! - the specs as created plan as no change (normalisation fills in every
//!   default the server filled in);
//! - each editable field changed in a spec plans an update naming that field;
//! - each immutable field changed plans a replacement naming that field as
//!   the one that forces it;
//! - one asset looked up alone (the controller's strategy) plans the same.
//!
//! `scripts/refresh-live-fixtures` records them again from the pinned
//! servers (it runs the ignored test [`record_live_fixtures`] once per
//! version).

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jetsync::diagnostics::SourceText;
use jetsync::engine::{LiveLookup, plan_lookup};
use jetsync::plan::capabilities::ServerVersion;
use jetsync::plan::classify::{self, Action, Plan, PlanOptions};
use jetsync::plan::desired::{DesiredAsset, desired_assets};
use jetsync::plan::{Address, Holdings, LiveAsset, LiveConfig};
use serde_json::{Value, json};

/// The owner the recorded assets were created for.
const OWNER: &str = "live-fixtures";

/// The specs the fixtures were recorded for: a stream with most fields set,
/// a stream with only its subjects (everything else the server's default),
/// a pull and a push consumer, a KV bucket and an object store. Only fields
/// nats-server 2.10 knows.
fn specs() -> Vec<Value> {
    vec![
        json!({
            "apiVersion": "jetsync.dev/v1alpha1", "kind": "Stream",
            "metadata": {"name": "orders"},
            "spec": {
                "name": "ORDERS", "description": "Orders", "subjects": ["orders.*"],
                "storage": "file", "retention": "limits", "maxMsgs": 100000,
                "maxBytes": "64MiB", "maxMsgsPerSubject": 1000, "maxMsgSize": "1MiB",
                "maxAge": "24h", "discard": "old", "duplicateWindow": "1m",
                "allowRollupHeaders": true, "allowDirect": true, "compression": "s2",
                "metadata": {"team": "commerce"}
            }
        }),
        json!({
            "apiVersion": "jetsync.dev/v1alpha1", "kind": "Stream",
            "metadata": {"name": "events"},
            "spec": {"name": "EVENTS", "subjects": ["events.>"]}
        }),
        json!({
            "apiVersion": "jetsync.dev/v1alpha1", "kind": "Consumer",
            "metadata": {"name": "orders-worker"},
            "spec": {
                "streamName": "ORDERS", "name": "worker", "description": "Order workers",
                "filterSubject": "orders.created", "ackPolicy": "explicit", "ackWait": "45s",
                "maxDeliver": 5, "maxAckPending": 500, "deliverPolicy": "all",
                "replayPolicy": "instant", "maxWaiting": 256
            }
        }),
        json!({
            "apiVersion": "jetsync.dev/v1alpha1", "kind": "Consumer",
            "metadata": {"name": "events-audit"},
            "spec": {
                "streamName": "EVENTS", "name": "audit", "deliverSubject": "audit.events",
                "ackPolicy": "none", "deliverPolicy": "new", "idleHeartbeat": "5s",
                "flowControl": true
            }
        }),
        json!({
            "apiVersion": "jetsync.dev/v1alpha1", "kind": "KeyValue",
            "metadata": {"name": "config"},
            "spec": {"history": 5, "ttl": "1h", "maxValueSize": "64KiB", "storage": "file"}
        }),
        json!({
            "apiVersion": "jetsync.dev/v1alpha1", "kind": "ObjectStore",
            "metadata": {"name": "assets"},
            "spec": {"description": "Build artefacts", "maxBytes": "256MiB", "storage": "file"}
        }),
    ]
}

/// The desired assets of `documents`, loaded as the CLI loads files (JSON
/// is YAML); the documents must be valid.
fn desired(documents: &[Value]) -> Vec<DesiredAsset> {
    let text: Vec<String> = documents.iter().map(Value::to_string).collect();
    let source = SourceText {
        name: "specs.yaml".to_string(),
        text: Arc::from(text.join("\n---\n").as_str()),
    };
    let manifests = jetsync::manifest::load_sources(&[source]);
    assert!(
        manifests.is_valid(),
        "the specs are invalid: {:?}",
        manifests.diagnostics
    );
    desired_assets(&manifests.documents)
}

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/live")
}

/// The file an asset's recorded config is kept in.
fn file_name(address: &Address) -> String {
    format!("{}.json", address.to_string().replace('/', "-"))
}

/// One server version's recordings: its version and the live assets.
struct Recorded {
    version: ServerVersion,
    live: Vec<LiveAsset>,
}

fn recorded(dir: &Path) -> Recorded {
    let read = |name: &str| -> Value {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; run scripts/refresh-live-fixtures", path.display())
        });
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let server = read("server.json");
    let version = ServerVersion::parse(server["version"].as_str().expect("version")).unwrap();
    let live = desired(&specs())
        .iter()
        .map(|asset| LiveAsset {
            address: asset.address.clone(),
            config: LiveConfig::new(&read(&file_name(&asset.address))),
            holdings: Holdings::default(),
        })
        .collect();
    Recorded { version, live }
}

/// Every recorded server version, oldest first.
fn recordings() -> Vec<(String, Recorded)> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_root())
        .expect("tests/fixtures/live")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    let recordings: Vec<(String, Recorded)> = dirs
        .iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            (name, recorded(dir))
        })
        .collect();
    let minors: Vec<u32> = recordings.iter().map(|(_, r)| r.version.minor).collect();
    assert!(
        minors.contains(&10) && minors.iter().any(|minor| *minor >= 15),
        "expected recordings from nats-server 2.10 and the newest, found {:?}",
        recordings.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    recordings
}

fn plan(documents: &[Value], recorded: &Recorded) -> Plan {
    let options = PlanOptions {
        standalone: true,
        ..PlanOptions::new(OWNER, recorded.version)
    };
    classify::plan(&desired(documents), &recorded.live, &options)
}

/// `documents` with `spec.<field>` of the document named `name` set to `value`.
fn changed(name: &str, field: &str, value: &Value) -> Vec<Value> {
    let mut documents = specs();
    let document = documents
        .iter_mut()
        .find(|document| document["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no spec named {name}"));
    document["spec"][field] = value.clone();
    documents
}

/// One field changed in one spec, and what the plan must make of it.
struct Row {
    /// `metadata.name` of the spec changed.
    spec: &'static str,
    /// The spec field.
    field: &'static str,
    value: Value,
    /// The JetStream config field the plan must name.
    json_field: &'static str,
}

fn row(spec: &'static str, field: &'static str, value: Value, json_field: &'static str) -> Row {
    Row {
        spec,
        field,
        value,
        json_field,
    }
}

/// Fields every supported server changes in place.
fn editable() -> Vec<Row> {
    vec![
        row("orders", "description", json!("All orders"), "description"),
        row(
            "orders",
            "subjects",
            json!(["orders.*", "returns.*"]),
            "subjects",
        ),
        row("orders", "maxMsgs", json!(200000), "max_msgs"),
        row("orders", "maxBytes", json!("128MiB"), "max_bytes"),
        row(
            "orders",
            "maxMsgsPerSubject",
            json!(10),
            "max_msgs_per_subject",
        ),
        row("orders", "maxMsgSize", json!("2MiB"), "max_msg_size"),
        row("orders", "maxAge", json!("48h"), "max_age"),
        row("orders", "discard", json!("new"), "discard"),
        row(
            "orders",
            "duplicateWindow",
            json!("30s"),
            "duplicate_window",
        ),
        row("orders", "denyDelete", json!(true), "deny_delete"),
        row("orders", "allowDirect", json!(false), "allow_direct"),
        row("orders", "metadata", json!({"team": "billing"}), "metadata"),
        row("events", "maxAge", json!("1h"), "max_age"),
        row("events", "description", json!("Events"), "description"),
        row(
            "orders-worker",
            "description",
            json!("Workers"),
            "description",
        ),
        row("orders-worker", "ackWait", json!("1m"), "ack_wait"),
        row("orders-worker", "maxDeliver", json!(10), "max_deliver"),
        row(
            "orders-worker",
            "maxAckPending",
            json!(100),
            "max_ack_pending",
        ),
        row(
            "orders-worker",
            "filterSubject",
            json!("orders.paid"),
            "filter_subject",
        ),
        row("events-audit", "description", json!("Audit"), "description"),
        row("config", "history", json!(10), "max_msgs_per_subject"),
        row("config", "ttl", json!("2h"), "max_age"),
        row("config", "maxValueSize", json!("128KiB"), "max_msg_size"),
        row("assets", "description", json!("Artefacts"), "description"),
        row("assets", "maxBytes", json!("512MiB"), "max_bytes"),
    ]
}

/// Fields no supported server changes in place.
fn immutable() -> Vec<Row> {
    vec![
        row("orders", "storage", json!("memory"), "storage"),
        row("orders", "retention", json!("workqueue"), "retention"),
        row("events", "storage", json!("memory"), "storage"),
        row("orders-worker", "ackPolicy", json!("all"), "ack_policy"),
        row(
            "orders-worker",
            "deliverPolicy",
            json!("last"),
            "deliver_policy",
        ),
        row(
            "orders-worker",
            "replayPolicy",
            json!("original"),
            "replay_policy",
        ),
        row("orders-worker", "maxWaiting", json!(128), "max_waiting"),
        row(
            "events-audit",
            "deliverPolicy",
            json!("all"),
            "deliver_policy",
        ),
        row(
            "events-audit",
            "idleHeartbeat",
            json!("10s"),
            "idle_heartbeat",
        ),
        row("config", "storage", json!("memory"), "storage"),
        row("assets", "storage", json!("memory"), "storage"),
    ]
}

/// The address of the asset the spec named `spec` declares.
fn address_of(spec: &str) -> Address {
    let address = match spec {
        "orders" => "stream/ORDERS",
        "events" => "stream/EVENTS",
        "orders-worker" => "consumer/ORDERS/worker",
        "events-audit" => "consumer/EVENTS/audit",
        "config" => "kv/config",
        "assets" => "objectstore/assets",
        other => panic!("no spec named {other}"),
    };
    Address::parse(address).unwrap()
}

/// Plans each of `rows` against every recording and hands `check` what
/// the row is (for messages), the plan, and its change at the row's asset.
fn for_each_row(rows: Vec<Row>, check: impl Fn(&str, &Plan, &classify::Change, &Row)) {
    for (version, recorded) in recordings() {
        for row in &rows {
            let what = format!("{version}: {}.{} = {}", row.spec, row.field, row.value);
            let plan = plan(&changed(row.spec, row.field, &row.value), &recorded);
            let address = address_of(row.spec);
            let Some(change) = plan.changes.iter().find(|change| change.address == address) else {
                panic!(
                    "{what}: planned no change of {address}: {:#?}",
                    plan.changes
                );
            };
            check(&what, &plan, change, row);
        }
    }
}

#[test]
fn every_recorded_spec_plans_as_no_change_on_every_server_version() {
    for (version, recorded) in recordings() {
        let plan = plan(&specs(), &recorded);
        assert!(
            plan.changes.is_empty(),
            "{version}: the specs as created plan changes: {:#?}",
            plan.changes
        );
        assert_eq!(plan.unchanged, specs().len(), "{version}");
        assert!(!plan.has_errors(), "{version}: {:?}", plan.diagnostics);
    }
}

#[test]
fn each_editable_field_change_plans_an_update_naming_the_field() {
    for_each_row(editable(), |what, plan, change, row| {
        assert_eq!(plan.changes.len(), 1, "{what}: {:#?}", plan.changes);
        assert_eq!(change.action, Action::Update, "{what}: {change:#?}");
        assert!(!change.drift, "{what}: planned as drift: {change:#?}");
        let fields: Vec<&str> = change.diff.iter().map(|f| f.json_field.as_str()).collect();
        assert!(
            fields.contains(&row.json_field),
            "{what}: the update names {fields:?}, not {}",
            row.json_field
        );
        assert!(
            change.diff.iter().all(|field| !field.forces_replacement),
            "{what}: a field forces replacement: {:#?}",
            change.diff
        );
    });
}

#[test]
fn each_immutable_field_change_plans_a_replacement_naming_the_field() {
    for_each_row(immutable(), |what, plan, change, row| {
        assert_eq!(change.action, Action::Replace, "{what}: {change:#?}");
        let forcing: Vec<&str> = change
            .diff
            .iter()
            .filter(|field| field.forces_replacement)
            .map(|field| field.json_field.as_str())
            .collect();
        assert!(
            forcing.contains(&row.json_field),
            "{what}: replacement forced by {forcing:?}, not {}",
            row.json_field
        );
        // A replaced stream takes its consumers with it: they are created
        // again, and nothing else changes.
        for other in plan
            .changes
            .iter()
            .filter(|other| other.address != change.address)
        {
            assert!(
                other.address.consumer.is_some()
                    && other.address.stream_name() == change.address.stream_name(),
                "{what}: also changes {}: {other:#?}",
                other.address
            );
        }
    });
}

/// Records the fixtures from the server `NATS_SERVER_BIN` points at: a
/// fresh server, every spec created by jetsync's own plan and apply, then
/// each asset's config as its INFO answer gives it, written to
/// `tests/fixtures/live/<version>/`. Run by `scripts/refresh-live-fixtures`.
#[tokio::test]
#[ignore = "writes tests/fixtures/live; run by scripts/refresh-live-fixtures"]
async fn record_live_fixtures() {
    let server = support::NatsServer::start();
    let options = jetsync::nats::ConnectOptions {
        servers: vec![server.url()],
        ..Default::default()
    };
    let connection = jetsync::nats::connect(&options).await.expect("connect");
    let version = jetsync::engine::server_version(&connection).expect("version");
    let desired = desired(&specs());
    let plan_options = PlanOptions {
        standalone: connection.server.standalone,
        ..PlanOptions::new(OWNER, version)
    };
    let plan = jetsync::engine::observe_and_plan(&connection, &desired, &plan_options)
        .await
        .expect("plan");
    assert!(!plan.has_errors(), "{:?}", plan.diagnostics);
    let applied = jetsync::engine::apply(&connection, &plan).await;
    assert!(applied.converged(), "{applied:#?}");

    let dir = fixtures_root().join(&connection.server.version);
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, value: &Value| {
        let text = serde_json::to_string_pretty(value).unwrap();
        std::fs::write(dir.join(name), format!("{text}\n")).unwrap();
    };
    write(
        "server.json",
        &json!({
            "version": connection.server.version,
            "api_level": connection.server.api_level,
        }),
    );
    for asset in &desired {
        let address = &asset.address;
        let operation = match &address.consumer {
            Some(consumer) => format!("CONSUMER.INFO.{}.{consumer}", address.name),
            None => format!("STREAM.INFO.{}", address.stream_name()),
        };
        let info = connection
            .api()
            .request_raw::<()>(&operation, None)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"));
        write(&file_name(address), &info["config"]);
    }
    eprintln!("recorded {} assets in {}", desired.len(), dir.display());
}

#[test]
fn one_looked_up_asset_plans_against_its_recording_alone() {
    let worker = address_of("orders-worker");
    for (version, recorded) in recordings() {
        let live = |address: &Address| {
            recorded
                .live
                .iter()
                .find(|asset| asset.address == *address)
                .cloned()
        };
        let lookup = LiveLookup {
            asset: live(&worker),
            stream: live(&address_of("orders")),
            consumer_count: None,
            consumers: Vec::new(),
        };
        let declared = |documents: &[Value]| {
            desired(documents)
                .into_iter()
                .find(|asset| asset.address == worker)
                .unwrap()
        };

        let as_created = plan_lookup(declared(&specs()), &lookup, OWNER, recorded.version, true);
        assert!(
            as_created.changes.is_empty(),
            "{version}: {:#?}",
            as_created.changes
        );
        assert_eq!(as_created.unchanged, 1, "{version}");

        let edited = changed("orders-worker", "maxDeliver", &json!(10));
        let plan = plan_lookup(declared(&edited), &lookup, OWNER, recorded.version, true);
        let [change] = plan.changes.as_slice() else {
            panic!("{version}: {:#?}", plan.changes);
        };
        assert_eq!(
            (change.address.clone(), change.action),
            (worker.clone(), Action::Update),
            "{version}"
        );
        assert_eq!(change.diff[0].json_field, "max_deliver", "{version}");
    }
}
