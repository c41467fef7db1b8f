//! `jetsync export` against a real server populated by hand, the way a user
//! of the nats tools would: streams, consumers, KV buckets and object stores
//! made with async-nats's own high-level API. The exported manifests must
//! validate, and each one's wire config must compare equal to the live
//! config after normalisation (it would plan as "no changes"). Runs on every
//! supported server version; fields newer than the server are left out there.

mod support;

use jetsync::plan::wire::model::to_value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{
    self, consumer, kv, object_store,
    stream::{self, Compression, ConsumerLimits, Republish, Source, SubjectTransform},
};
use jetsync::diagnostics::SourceText;
use jetsync::manifest;
use jetsync::plan::{Address, AssetKind, Holdings, LiveAsset, LiveConfig, export, normalise, wire};
use jetsync::spec::AssetSpec;
use serde_json::{Value, json};
use support::NatsServer;

const OWNER: &str = "team-a";

async fn connect(server: &NatsServer) -> async_nats::Client {
    support::client(&server.url()).await
}

async fn request(client: &async_nats::Client, subject: String, body: &Value) -> Value {
    let reply = client
        .request(subject.clone(), serde_json::to_vec(body).unwrap().into())
        .await
        .unwrap_or_else(|e| panic!("{subject}: {e}"));
    let value: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert!(value.get("error").is_none(), "{subject} {body}: {value}");
    value
}

fn version_at_least(server: &NatsServer, minor: u32) -> bool {
    let version = server.version();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, server_minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    major > 2 || (major == 2 && server_minor >= minor)
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn owned_by(owner: &str) -> std::collections::HashMap<String, String> {
    [
        ("jetsync.dev/owner".to_string(), owner.to_string()),
        ("team".to_string(), "platform".to_string()),
    ]
    .into()
}

/// Every stream (paged `STREAM.LIST`) and every consumer (`CONSUMER.LIST`
/// per stream) as live assets, configs exactly as the server sent them.
async fn observe(client: &async_nats::Client) -> Vec<LiveAsset> {
    let mut streams = Vec::new();
    loop {
        let page = request(
            client,
            "$JS.API.STREAM.LIST".into(),
            &json!({ "offset": streams.len() }),
        )
        .await;
        let items = page["streams"].as_array().cloned().unwrap_or_default();
        let done = items.is_empty()
            || streams.len() + items.len() >= page["total"].as_u64().unwrap() as usize;
        streams.extend(items);
        if done {
            break;
        }
    }
    let mut assets = Vec::new();
    for info in streams {
        let name = info["config"]["name"].as_str().unwrap().to_string();
        assets.push(LiveAsset {
            address: Address::from_stream_name(&name),
            config: LiveConfig::new(&info["config"]),
            holdings: Holdings::default(),
        });
        let mut offset = 0;
        loop {
            let page = request(
                client,
                format!("$JS.API.CONSUMER.LIST.{name}"),
                &json!({ "offset": offset }),
            )
            .await;
            let items = page["consumers"].as_array().cloned().unwrap_or_default();
            offset += items.len();
            for info in &items {
                assets.push(LiveAsset {
                    address: Address::consumer(&name, info["name"].as_str().unwrap()),
                    config: LiveConfig::new(&info["config"]),
                    holdings: Holdings::default(),
                });
            }
            if items.is_empty() || offset >= page["total"].as_u64().unwrap() as usize {
                break;
            }
        }
    }
    assets
}

/// Populates the server with async-nats's high-level API. Returns what
/// must stay alive while observing (watchers hold ordered consumers).
async fn populate(server: &NatsServer, js: &jetstream::Context) -> Vec<Box<dyn std::any::Any>> {
    let v2_11 = version_at_least(server, 11);
    let v2_12 = version_at_least(server, 12);
    let v2_14 = version_at_least(server, 14);
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();

    // ----- streams -----
    let orders = js
        .create_stream(stream::Config {
            name: "ORDERS".into(),
            description: Some("orders by region".into()),
            subjects: vec!["orders.>".into()],
            max_age: secs(7 * 24 * 3600),
            max_bytes: 1 << 30,
            metadata: owned_by(OWNER),
            ..Default::default()
        })
        .await
        .unwrap();
    js.create_stream(stream::Config {
        name: "events_log".into(),
        subjects: vec!["events.*".into(), "audit.>".into()],
        retention: stream::RetentionPolicy::Interest,
        storage: stream::StorageType::Memory,
        max_messages: 100_000,
        max_messages_per_subject: 10,
        max_message_size: 64 * 1024,
        max_consumers: 20,
        discard: stream::DiscardPolicy::New,
        discard_new_per_subject: true,
        duplicate_window: secs(30),
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        compression: Some(Compression::S2),
        first_sequence: Some(1000),
        subject_transform: Some(SubjectTransform {
            source: "events.*".into(),
            destination: "events.{{wildcard(1)}}.seen".into(),
        }),
        republish: Some(Republish {
            source: "audit.>".into(),
            destination: "copy.audit.>".into(),
            headers_only: true,
        }),
        consumer_limits: Some(ConsumerLimits {
            inactive_threshold: secs(3600),
            max_ack_pending: 2000,
        }),
        metadata: [("tier".to_string(), "gold".to_string())].into(),
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_stream(stream::Config {
        name: "bare".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_stream(stream::Config {
        name: "short-lived".into(),
        subjects: vec!["short.>".into()],
        max_age: secs(30),
        no_ack: true,
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_stream(stream::Config {
        name: "WQ".into(),
        subjects: vec!["jobs.>".into()],
        retention: stream::RetentionPolicy::WorkQueue,
        deny_purge: true,
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_stream(stream::Config {
        name: "ORDERS_MIRROR".into(),
        mirror: Some(Source {
            name: "ORDERS".into(),
            start_sequence: Some(5),
            ..Default::default()
        }),
        mirror_direct: true,
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_stream(stream::Config {
        name: "AGG".into(),
        sources: Some(vec![
            Source {
                name: "ORDERS".into(),
                filter_subject: Some("orders.eu.>".into()),
                ..Default::default()
            },
            Source {
                name: "events_log".into(),
                start_time: Some(
                    async_nats::datetime::parse_rfc3339("2025-01-31T12:00:00Z").unwrap(),
                ),
                subject_transforms: vec![SubjectTransform {
                    source: "audit.>".into(),
                    destination: "agg.audit.>".into(),
                }],
                ..Default::default()
            },
        ]),
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_stream(stream::Config {
        name: "ARCHIVE".into(),
        subjects: vec!["archive.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    js.update_stream(stream::Config {
        name: "ARCHIVE".into(),
        subjects: vec!["archive.>".into()],
        sealed: true,
        ..Default::default()
    })
    .await
    .unwrap();
    if v2_11 {
        js.create_stream(stream::Config {
            name: "TTL".into(),
            subjects: vec!["ttl.>".into()],
            max_age: secs(3600),
            allow_message_ttl: true,
            subject_delete_marker_ttl: Some(secs(300)),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    if v2_12 {
        js.create_stream(stream::Config {
            name: "COUNTERS".into(),
            subjects: vec!["count.>".into()],
            allow_message_counter: true,
            allow_direct: true,
            ..Default::default()
        })
        .await
        .unwrap();
        js.create_stream(stream::Config {
            name: "SCHEDULES".into(),
            subjects: vec!["sched.>".into()],
            allow_message_schedules: true,
            allow_atomic_publish: true,
            ..Default::default()
        })
        .await
        .unwrap();
        js.create_stream(stream::Config {
            name: "FAST".into(),
            subjects: vec!["fast.>".into()],
            persist_mode: Some(stream::PersistenceMode::Async),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    if v2_14 {
        js.create_stream(stream::Config {
            name: "BATCHED".into(),
            subjects: vec!["batch.>".into()],
            allow_batch_publish: true,
            ..Default::default()
        })
        .await
        .unwrap();
    }

    // ----- consumers -----
    orders
        .create_consumer(consumer::pull::Config {
            durable_name: Some("worker".into()),
            description: Some("the order worker".into()),
            deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: 3 },
            ack_policy: consumer::AckPolicy::Explicit,
            max_deliver: 5,
            backoff: vec![secs(1), secs(5)],
            filter_subject: "orders.eu.>".into(),
            replay_policy: consumer::ReplayPolicy::Original,
            sample_frequency: 50,
            max_waiting: 10,
            max_ack_pending: 50,
            headers_only: true,
            max_batch: 100,
            max_bytes: 1 << 20,
            max_expires: secs(30),
            inactive_threshold: secs(24 * 3600),
            memory_storage: true,
            metadata: owned_by(OWNER),
            ..Default::default()
        })
        .await
        .unwrap();
    orders
        .create_consumer(consumer::pull::Config {
            durable_name: Some("defaults".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    orders
        .create_consumer(consumer::pull::Config {
            durable_name: Some("slow_acks".into()),
            ack_wait: secs(90),
            max_ack_pending: 1000,
            max_waiting: 512,
            deliver_policy: consumer::DeliverPolicy::ByStartTime {
                start_time: async_nats::datetime::parse_rfc3339("2025-02-01T08:30:00Z").unwrap(),
            },
            filter_subjects: vec!["orders.us.>".into(), "orders.ca.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    orders
        .create_consumer(consumer::push::Config {
            durable_name: Some("pusher".into()),
            deliver_subject: "deliver.orders".into(),
            deliver_group: Some("workers".into()),
            deliver_policy: consumer::DeliverPolicy::New,
            ack_policy: consumer::AckPolicy::All,
            ack_wait: secs(20),
            idle_heartbeat: secs(5),
            flow_control: true,
            rate_limit: 1_000_000,
            ..Default::default()
        })
        .await
        .unwrap();
    orders
        .create_consumer(consumer::push::Config {
            durable_name: Some("firehose".into()),
            deliver_subject: "deliver.firehose".into(),
            ack_policy: consumer::AckPolicy::None,
            deliver_policy: consumer::DeliverPolicy::Last,
            ..Default::default()
        })
        .await
        .unwrap();
    // Ephemeral: not exported.
    let ephemeral = orders
        .create_consumer(consumer::pull::Config {
            inactive_threshold: secs(600),
            ..Default::default()
        })
        .await
        .unwrap();
    keep.push(Box::new(ephemeral));
    let events = js.get_stream("events_log").await.unwrap();
    events
        .create_consumer(consumer::pull::Config {
            durable_name: Some("latest".into()),
            deliver_policy: consumer::DeliverPolicy::LastPerSubject,
            filter_subject: "events.*".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    events
        .create_consumer(consumer::pull::Config {
            durable_name: Some("below_limits".into()),
            max_ack_pending: 1000,
            inactive_threshold: secs(60),
            ..Default::default()
        })
        .await
        .unwrap();
    js.get_stream("WQ")
        .await
        .unwrap()
        .create_consumer(consumer::pull::Config {
            durable_name: Some("jobs".into()),
            num_replicas: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    if v2_11 {
        let ttl = js.get_stream("TTL").await.unwrap();
        ttl.create_consumer(consumer::pull::Config {
            durable_name: Some("pinned".into()),
            priority_policy: consumer::PriorityPolicy::PinnedClient,
            priority_groups: vec!["jobs".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        ttl.create_consumer(consumer::pull::Config {
            durable_name: Some("pinned_long".into()),
            priority_policy: consumer::PriorityPolicy::PinnedClient,
            priority_groups: vec!["a".into(), "b".into()],
            priority_timeout: secs(300),
            ..Default::default()
        })
        .await
        .unwrap();
        ttl.create_consumer(consumer::pull::Config {
            durable_name: Some("overflow".into()),
            priority_policy: consumer::PriorityPolicy::Overflow,
            priority_groups: vec!["spill".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    }

    // ----- key-value buckets -----
    let config = js
        .create_key_value(kv::Config {
            bucket: "config".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    config.put("a", "1".into()).await.unwrap();
    keep.push(Box::new(config.watch_all().await.unwrap()));
    js.create_key_value(kv::Config {
        bucket: "settings_v2".into(),
        description: "app settings".into(),
        history: 10,
        max_age: secs(3600),
        max_value_size: 4096,
        max_bytes: 1 << 20,
        storage: stream::StorageType::Memory,
        compression: true,
        republish: Some(Republish {
            source: ">".into(),
            destination: "settings.changed.>".into(),
            headers_only: false,
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_key_value(kv::Config {
        bucket: "short".into(),
        max_age: secs(30),
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_key_value(kv::Config {
        bucket: "config-copy".into(),
        mirror: Some(Source {
            name: "config".into(),
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_key_value(kv::Config {
        bucket: "merged".into(),
        sources: Some(vec![
            Source {
                name: "config".into(),
                ..Default::default()
            },
            Source {
                name: "settings_v2".into(),
                ..Default::default()
            },
        ]),
        ..Default::default()
    })
    .await
    .unwrap();
    if v2_11 {
        js.create_key_value(kv::Config {
            bucket: "markers".into(),
            max_age: secs(3600),
            limit_markers: Some(secs(10)),
            ..Default::default()
        })
        .await
        .unwrap();
    }

    // ----- object stores -----
    let files = js
        .create_object_store(object_store::Config {
            bucket: "files".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    keep.push(Box::new(files.watch().await.unwrap()));
    js.create_object_store(object_store::Config {
        bucket: "build_artifacts".into(),
        description: Some("CI output".into()),
        max_age: secs(14 * 24 * 3600),
        max_bytes: 10 << 30,
        storage: stream::StorageType::Memory,
        num_replicas: 1,
        compression: true,
        ..Default::default()
    })
    .await
    .unwrap();
    keep
}

fn load(yaml: &str) -> manifest::Manifests {
    let source = SourceText {
        name: "export.yaml".into(),
        text: Arc::from(yaml),
    };
    manifest::load_sources(&[source])
}

/// The live asset a declared document stands for.
fn address_of(declared: &manifest::Declared) -> Address {
    let name = declared.asset_name();
    match &declared.spec {
        AssetSpec::Stream(_) => Address::stream(name),
        AssetSpec::KeyValue(_) => Address::kv(name),
        AssetSpec::ObjectStore(_) => Address::object_store(name),
        AssetSpec::Consumer(spec) => Address::consumer(&spec.stream_name, name),
        AssetSpec::NatsConnection(_) => unreachable!("export writes no connections"),
    }
}

/// A declared document's wire config, the live config it stands for, and
/// the `consumer_limits` of a consumer's stream.
fn configs(
    declared: &manifest::Declared,
    live: &BTreeMap<Address, &LiveAsset>,
) -> (Value, Value, Option<Value>) {
    let name = declared.asset_name();
    let address = address_of(declared);
    let asset = live
        .get(&address)
        .unwrap_or_else(|| panic!("{address} is exported but not live"));
    let (desired, limits) = match &declared.spec {
        AssetSpec::Stream(spec) => (to_value(&wire::stream_config(name, spec)), None),
        AssetSpec::KeyValue(spec) => (wire::kv_stream_config(name, spec), None),
        AssetSpec::ObjectStore(spec) => (
            to_value(&wire::object_store_stream_config(name, spec)),
            None,
        ),
        AssetSpec::Consumer(spec) => (
            to_value(&wire::consumer_config(name, spec)),
            live.get(&Address::from_stream_name(&spec.stream_name))
                .map(|stream| stream.config.value()["consumer_limits"].clone()),
        ),
        AssetSpec::NatsConnection(_) => unreachable!("export writes no connections"),
    };
    (desired, asset.config.value(), limits)
}

/// A way to bring a config of some kind into a form compared field by field.
type Comparison = fn(AssetKind, &Value, Option<&Value>) -> Value;

/// Desired and live in the full normalised form (every stream field).
fn normalised(kind: AssetKind, config: &Value, limits: Option<&Value>) -> Value {
    match kind {
        AssetKind::Consumer => normalise::normalise_consumer(config, limits),
        _ => normalise::normalise_stream(config),
    }
}

/// Differences between jetsync's wire config and what async-nats made that
/// the exported spec cannot remove, because the spec has no way to say them
/// and normalisation does not (yet) equate them. Measured the same on
/// nats-server 2.10.26 and 2.15.1; nothing else may differ.
///
/// - A `KeyValue` mirror: async-nats sends no `duplicate_window`, so the
///   server stores none (0); wire.rs (like nats.go) sends 2m (or the TTL).
///   A mirror does not deduplicate, so both mean the same. `comparable`
///   already ignores it; `normalise_stream` does not.
/// - A `KeyValue` with sources: async-nats gives the backing stream no
///   `$KV.<bucket>.>` subject and its sources no `$KV.<origin>.>` →
///   `$KV.<bucket>.>` transform; wire.rs (like nats.go and ADR-57) adds
///   both. A real difference: without them the sourced keys are not
///   readable under the bucket's own subjects. `comparable` ignores the
///   subjects but not the sources, so the planner plans an update.
/// - A consumer's `sample_freq`: async-nats sends `"50"`, wire.rs `"50%"`;
///   the server stores the string as given, and both mean 50 percent. Both
///   forms compare the strings, so the planner plans an update.
fn known_client_shape_difference(
    address: &Address,
    spec: &AssetSpec,
    difference: &normalise::FieldDifference,
) -> bool {
    match (address.kind, spec, difference.field.as_str()) {
        (AssetKind::KeyValue, AssetSpec::KeyValue(spec), "duplicate_window") => {
            spec.mirror.is_some() && difference.live == json!(0)
        }
        (AssetKind::KeyValue, AssetSpec::KeyValue(spec), "subjects" | "sources") => {
            !spec.sources.is_empty()
        }
        (AssetKind::Consumer, _, "sample_freq") => {
            let percent = |value: &Value| {
                value
                    .as_str()
                    .map(|text| text.trim_end_matches('%').to_string())
            };
            percent(&difference.desired) == percent(&difference.live)
        }
        _ => false,
    }
}

#[tokio::test]
async fn a_server_populated_by_hand_exports_manifests_that_validate_and_plan_no_changes() {
    let server = require_nats!();
    let client = connect(&server).await;
    let js = jetstream::new(client.clone());
    let _keep = populate(&server, &js).await;

    let assets = observe(&client).await;
    let selected = export::select_for_export(&assets, OWNER, true);
    let on_buckets = assets
        .iter()
        .filter(|a| {
            a.address.kind == AssetKind::Consumer
                && (a.address.name.starts_with("KV_") || a.address.name.starts_with("OBJ_"))
        })
        .count();
    assert_eq!(
        selected.len(),
        assets.len() - on_buckets,
        "--all selects everything but the consumers of buckets (their clients' watchers)"
    );
    let yaml = export::export_documents(&selected, true).unwrap();

    let manifests = load(&yaml);
    let errors: Vec<_> = manifests
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(
        errors.is_empty(),
        "exported manifests are invalid on nats-server {}:\n{errors:#?}\n{yaml}",
        server.version()
    );

    // What is exported: every stream, bucket and store; every durable
    // consumer of a plain stream; not the watchers' ordered consumers on
    // KV_/OBJ_ streams and not the ephemeral consumer.
    let exported: BTreeSet<String> = manifests
        .documents
        .iter()
        .map(|declared| address_of(declared).to_string())
        .collect();
    let expected: BTreeSet<String> = assets
        .iter()
        .filter(|asset| match asset.address.kind {
            AssetKind::Consumer => {
                asset.config.value().get("durable_name").is_some()
                    && !asset.address.name.starts_with("KV_")
                    && !asset.address.name.starts_with("OBJ_")
            }
            _ => true,
        })
        .map(|asset| asset.address.to_string())
        .collect();
    assert_eq!(exported, expected, "{yaml}");
    assert!(exported.contains("consumer/ORDERS/firehose"));
    assert!(exported.contains("kv/settings_v2"));
    assert!(
        assets
            .iter()
            .any(|asset| asset.address.kind == AssetKind::Consumer
                && asset.address.name.starts_with("KV_")),
        "the KV watcher's consumer is live (and skipped)"
    );

    // Each document, applied back, would change nothing: neither in the full
    // normalised form nor in the form the planner compares.
    let live: BTreeMap<Address, &LiveAsset> = assets
        .iter()
        .map(|asset| (asset.address.clone(), asset))
        .collect();
    let mut failures = Vec::new();
    for declared in &manifests.documents {
        let address = address_of(declared);
        let (desired, live_config, limits) = configs(declared, &live);
        let forms: [(&str, Comparison); 2] = [
            ("normalised", normalised),
            ("comparable", normalise::comparable),
        ];
        for (form, compare) in forms {
            let differences: Vec<_> = normalise::differences(
                &compare(address.kind, &desired, limits.as_ref()),
                &compare(address.kind, &live_config, limits.as_ref()),
            )
            .into_iter()
            .filter(|d| !known_client_shape_difference(&address, &declared.spec, d))
            .collect();
            if !differences.is_empty() {
                failures.push(format!("{address} ({form}): {differences:#?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "on nats-server {}, exported specs differ from live:\n{}\n{yaml}",
        server.version(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn only_assets_managed_by_the_owner_are_exported_unless_all_are_asked_for() {
    let server = require_nats!();
    let client = connect(&server).await;
    let js = jetstream::new(client.clone());
    for (name, owner) in [
        ("MINE", Some(OWNER)),
        ("THEIRS", Some("team-b")),
        ("NOBODY", None),
    ] {
        let stream = js
            .create_stream(stream::Config {
                name: name.into(),
                subjects: vec![format!("{}.>", name.to_lowercase())],
                metadata: owner.map(owned_by).unwrap_or_default(),
                ..Default::default()
            })
            .await
            .unwrap();
        stream
            .create_consumer(consumer::pull::Config {
                durable_name: Some("reader".into()),
                metadata: owner.map(owned_by).unwrap_or_default(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let assets = observe(&client).await;

    let managed = export::select_for_export(&assets, OWNER, false);
    let addresses: Vec<String> = managed.iter().map(|a| a.address.to_string()).collect();
    assert_eq!(addresses, ["stream/MINE", "consumer/MINE/reader"]);
    let yaml = export::export_documents(&managed, false).unwrap();
    assert!(!yaml.contains("jetsync.dev/owner"), "{yaml}");
    assert!(yaml.contains("team: platform"), "{yaml}");
    let manifests = load(&yaml);
    assert!(manifests.is_valid(), "{:#?}", manifests.diagnostics);
    assert_eq!(manifests.documents.len(), 2);

    let everything = export::select_for_export(&assets, OWNER, true);
    assert_eq!(everything.len(), 6);
    let manifests = load(&export::export_documents(&everything, true).unwrap());
    assert!(manifests.is_valid(), "{:#?}", manifests.diagnostics);
    assert_eq!(manifests.documents.len(), 6);
}
