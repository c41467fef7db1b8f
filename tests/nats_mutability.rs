//! The mutability rules (`jetsync::plan::mutability`) and capability facts
//! (`jetsync::plan::capabilities`) checked against real servers: every rule
//! is one row of a table, the asset is created with the raw JetStream API,
//! the changed config is sent as an update, and what the server does must be
//! what `change_mutability` predicted. A disagreement fails the test naming
//! the field and the server version. Runs on every supported server
//! version; rows using fields newer than the server are left out there.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use jetsync::plan::capabilities::{ServerVersion, unsupported_fields};
use jetsync::plan::mutability::{Mutability, change_mutability};
use jetsync::plan::normalise::{differences, normalise_consumer, normalise_stream};
use jetsync::plan::{AssetKind, wire};
use jetsync::spec::{KeyValueSpec, ObjectStoreSpec};
use serde_json::{Map, Value, json};
use support::NatsServer;

// ------------------------------------------------------------------ the wire

/// A JetStream API answer: the reply, or the server's refusal.
#[derive(Debug)]
enum Reply {
    Accepted(Value),
    Refused { code: u64, description: String },
}

impl Reply {
    /// The reply, or a message naming `what` was refused.
    fn ok(self, what: &str) -> Result<Value, String> {
        match self {
            Reply::Accepted(value) => Ok(value),
            Reply::Refused { code, description } => {
                Err(format!("{what} was refused: {code} {description}"))
            }
        }
    }

    fn expect(self, what: &str) -> Value {
        match self {
            Reply::Accepted(value) => value,
            Reply::Refused { code, description } => {
                panic!("{what} was refused: {code} {description}")
            }
        }
    }
}

struct Js {
    client: async_nats::Client,
}

impl Js {
    async fn connect(server: &NatsServer) -> Self {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .request_timeout(Some(Duration::from_secs(10)))
            .connect(server.url())
            .await
            .unwrap();
        Self { client }
    }

    async fn request(&self, subject: String, body: &Value) -> Reply {
        let reply = self
            .client
            .request(subject.clone(), serde_json::to_vec(body).unwrap().into())
            .await
            .unwrap_or_else(|e| panic!("{subject}: {e}"));
        let value: Value = serde_json::from_slice(&reply.payload)
            .unwrap_or_else(|e| panic!("{subject}: not JSON ({e}): {:?}", reply.payload));
        match value.get("error") {
            Some(error) => Reply::Refused {
                code: error["err_code"].as_u64().unwrap_or(0),
                description: error["description"].as_str().unwrap_or("").to_string(),
            },
            None => Reply::Accepted(value),
        }
    }

    async fn create_stream(&self, config: &Value) -> Reply {
        let name = config["name"].as_str().unwrap();
        self.request(format!("$JS.API.STREAM.CREATE.{name}"), config)
            .await
    }

    async fn update_stream(&self, name: &str, config: &Value) -> Reply {
        self.request(format!("$JS.API.STREAM.UPDATE.{name}"), config)
            .await
    }

    async fn stream_info(&self, name: &str) -> Value {
        self.request(format!("$JS.API.STREAM.INFO.{name}"), &json!({}))
            .await
            .expect("STREAM.INFO")
    }

    /// `CONSUMER.CREATE` with an action: `create`, `update` or `""`.
    async fn consumer(&self, stream: &str, name: &str, config: &Value, action: &str) -> Reply {
        let body = json!({ "stream_name": stream, "config": config, "action": action });
        self.request(format!("$JS.API.CONSUMER.CREATE.{stream}.{name}"), &body)
            .await
    }

    async fn consumer_info(&self, stream: &str, name: &str) -> Value {
        self.request(format!("$JS.API.CONSUMER.INFO.{stream}.{name}"), &json!({}))
            .await
            .expect("CONSUMER.INFO")
    }

    /// Publishes and waits for the stream's acknowledgement.
    async fn publish(&self, subject: &str, payload: Vec<u8>) {
        let reply = self
            .client
            .request(subject.to_string(), payload.into())
            .await
            .unwrap_or_else(|e| panic!("publish to {subject}: {e}"));
        let ack: Value = serde_json::from_slice(&reply.payload).unwrap();
        assert!(ack.get("error").is_none(), "publish to {subject}: {ack}");
    }
}

fn version(server: &NatsServer) -> ServerVersion {
    ServerVersion::parse(&server.version()).unwrap()
}

fn v(text: &str) -> ServerVersion {
    ServerVersion::parse(text).unwrap()
}

/// Replaces `@` in every string of `value` with `name`.
fn instantiate(value: &Value, name: &str) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace('@', name)),
        Value::Array(items) => Value::Array(items.iter().map(|i| instantiate(i, name)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), instantiate(v, name)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `base` with `overlay`'s keys set; a `null` in the overlay removes the key.
fn overlay(base: &Value, overlay: &Value) -> Value {
    let mut map: Map<String, Value> = base.as_object().cloned().unwrap_or_default();
    for (key, value) in overlay.as_object().into_iter().flatten() {
        if value.is_null() {
            map.remove(key);
        } else {
            map.insert(key.clone(), value.clone());
        }
    }
    Value::Object(map)
}

/// The value at a dotted, indexed path such as `sources[0].consumer`.
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = value;
    for segment in path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        current = current.get(name)?;
        if let Some(index) = index {
            current = current.get(index)?;
        }
    }
    (!current.is_null()).then_some(current)
}

// ------------------------------------------------------------------ the table

/// A change the rules call a replacement although the server takes it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ServerGap {
    None,
    /// The server stores the new value but it has no effect (first_seq).
    AcceptedWithoutEffect,
    /// Servers older than this store the new value without acting on it
    /// (consumer mem_storage before 2.14.4); newer ones refuse it.
    AcceptedWithoutEffectBefore(ServerVersion),
}

/// One rule: an asset created as `before`, then updated to `after`.
/// Configs are templates: `@` stands for the row's asset name.
#[derive(Clone, Debug)]
struct Case {
    kind: AssetKind,
    /// The top-level JSON field whose rule this row exercises.
    field: &'static str,
    /// The change, for messages: `file → memory`.
    change: &'static str,
    /// The oldest server that knows every field the row uses.
    since: ServerVersion,
    /// Streams: wire configs. KV and object stores: specs (camelCase) made
    /// into their backing stream's config by `jetsync::plan::wire`.
    /// Consumers: consumer wire configs, on a stream of their own.
    before: Value,
    after: Value,
    /// When `before` cannot be created directly (a sealed stream), the
    /// asset is created as this and then updated to `before`.
    create: Option<Value>,
    /// Streams to create first (origins of mirrors and sources).
    setup: Vec<Value>,
    gap: ServerGap,
    /// The code a server that refuses the change answers with (asserted).
    refused_with: Option<u64>,
}

const STREAM_BASE: &str = r#"{"name": "@", "subjects": ["@.>"]}"#;
const CONSUMER_BASE: &str =
    r#"{"durable_name": "worker", "name": "worker", "ack_policy": "explicit"}"#;

fn base(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

impl Case {
    fn new(
        kind: AssetKind,
        field: &'static str,
        change: &'static str,
        before: Value,
        after: Value,
    ) -> Self {
        Self {
            kind,
            field,
            change,
            since: v("2.10.0"),
            before,
            after,
            create: None,
            setup: Vec::new(),
            gap: ServerGap::None,
            refused_with: None,
        }
    }

    fn stream(field: &'static str, change: &'static str, before: Value, after: Value) -> Self {
        let stream = base(STREAM_BASE);
        Self::new(
            AssetKind::Stream,
            field,
            change,
            overlay(&stream, &before),
            overlay(&stream, &after),
        )
    }

    fn consumer(field: &'static str, change: &'static str, before: Value, after: Value) -> Self {
        let consumer = base(CONSUMER_BASE);
        Self::new(
            AssetKind::Consumer,
            field,
            change,
            overlay(&consumer, &before),
            overlay(&consumer, &after),
        )
    }

    fn kv(field: &'static str, change: &'static str, before: Value, after: Value) -> Self {
        Self::new(AssetKind::KeyValue, field, change, before, after)
    }

    fn object_store(
        field: &'static str,
        change: &'static str,
        before: Value,
        after: Value,
    ) -> Self {
        Self::new(AssetKind::ObjectStore, field, change, before, after)
    }

    fn since(mut self, version: &str) -> Self {
        self.since = v(version);
        self
    }

    fn created_as(mut self, config: Value) -> Self {
        self.create = Some(overlay(&base(STREAM_BASE), &config));
        self
    }

    fn with_origin(mut self, config: Value) -> Self {
        self.setup.push(config);
        self
    }

    fn gap(mut self, gap: ServerGap) -> Self {
        self.gap = gap;
        self
    }

    fn refused_with(mut self, code: u64) -> Self {
        self.refused_with = Some(code);
        self
    }

    /// The backing stream's name (streams, KV, object stores) or the
    /// consumer's stream, for the row's asset `name`.
    fn stream_name(&self, name: &str) -> String {
        match self.kind {
            AssetKind::KeyValue => format!("KV_{name}"),
            AssetKind::ObjectStore => format!("OBJ_{name}"),
            AssetKind::Stream | AssetKind::Consumer => name.to_string(),
        }
    }

    /// The wire config for `template` (`before`, `after` or `create`).
    fn wire(&self, template: &Value, name: &str) -> Value {
        let value = instantiate(template, name);
        match self.kind {
            AssetKind::KeyValue => {
                let spec: KeyValueSpec = serde_json::from_value(value).unwrap();
                wire::kv_stream_config(name, &spec)
            }
            AssetKind::ObjectStore => {
                let spec: ObjectStoreSpec = serde_json::from_value(value).unwrap();
                wire::model::to_value(&wire::object_store_stream_config(name, &spec))
            }
            AssetKind::Stream | AssetKind::Consumer => value,
        }
    }
}

fn secs(n: u64) -> u64 {
    n * 1_000_000_000
}

/// Every rule of `jetsync::plan::mutability`, one change each way where
/// the rule has two ways.
fn cases() -> Vec<Case> {
    let origin = json!({"name": "@o", "subjects": ["@o.>"]});
    let mirror = json!({"subjects": null, "mirror": {"name": "@o"}});
    let kv_origin = json!({"name": "KV_@o", "subjects": ["$KV.@o.>"]});
    let push = json!({"deliver_subject": "out.@"});
    let push_with = |extra: Value| overlay(&push, &extra);
    Vec::from([
        // ---- streams: never changeable
        Case::stream(
            "storage",
            "file → memory",
            json!({"storage": "file"}),
            json!({"storage": "memory"}),
        )
        .refused_with(10052),
        Case::stream(
            "storage",
            "memory → file",
            json!({"storage": "memory"}),
            json!({"storage": "file"}),
        )
        .refused_with(10052),
        Case::stream(
            "name",
            "renamed in the body",
            json!({}),
            json!({"name": "@renamed"}),
        )
        .refused_with(10056),
        // ---- retention
        Case::stream(
            "retention",
            "limits → workqueue",
            json!({}),
            json!({"retention": "workqueue"}),
        )
        .refused_with(10052),
        Case::stream(
            "retention",
            "workqueue → limits",
            json!({"retention": "workqueue"}),
            json!({"retention": "limits"}),
        )
        .refused_with(10052),
        Case::stream(
            "retention",
            "limits → interest",
            json!({}),
            json!({"retention": "interest"}),
        ),
        Case::stream(
            "retention",
            "interest → limits",
            json!({"retention": "interest"}),
            json!({}),
        ),
        // ---- mirror
        Case::stream("mirror", "added", json!({}), mirror.clone())
            .with_origin(origin.clone())
            .refused_with(10055),
        Case::stream(
            "mirror",
            "filter changed",
            mirror.clone(),
            json!({"subjects": null, "mirror": {"name": "@o", "filter_subject": "@o.a"}}),
        )
        .with_origin(origin.clone())
        .refused_with(10055),
        Case::stream("mirror", "removed (promote)", mirror.clone(), json!({}))
            .with_origin(origin.clone())
            .refused_with(10055),
        // ---- one-way switches
        Case::stream("sealed", "false → true", json!({}), json!({"sealed": true})),
        Case::stream("sealed", "true → false", json!({"sealed": true}), json!({}))
            .created_as(json!({}))
            .refused_with(10052),
        Case::stream(
            "deny_delete",
            "false → true",
            json!({}),
            json!({"deny_delete": true}),
        ),
        Case::stream(
            "deny_delete",
            "true → false",
            json!({"deny_delete": true}),
            json!({}),
        )
        .refused_with(10052),
        Case::stream(
            "deny_purge",
            "false → true",
            json!({}),
            json!({"deny_purge": true}),
        ),
        Case::stream(
            "deny_purge",
            "true → false",
            json!({"deny_purge": true}),
            json!({}),
        )
        .refused_with(10052),
        Case::stream(
            "allow_msg_ttl",
            "false → true",
            json!({}),
            json!({"allow_msg_ttl": true}),
        )
        .since("2.11.0"),
        Case::stream(
            "allow_msg_ttl",
            "true → false",
            json!({"allow_msg_ttl": true}),
            json!({}),
        )
        .since("2.11.0")
        .refused_with(10052),
        Case::stream(
            "allow_msg_schedules",
            "false → true",
            json!({}),
            json!({"allow_msg_schedules": true}),
        )
        .since("2.12.0"),
        Case::stream(
            "allow_msg_schedules",
            "true → false",
            json!({"allow_msg_schedules": true}),
            json!({}),
        )
        .since("2.12.0")
        .refused_with(10052),
        // ---- 2.12 fields fixed at creation
        Case::stream(
            "persist_mode",
            "default → async",
            json!({}),
            json!({"persist_mode": "async"}),
        )
        .since("2.12.0")
        .refused_with(10052),
        Case::stream(
            "persist_mode",
            "async → default",
            json!({"persist_mode": "async"}),
            json!({}),
        )
        .since("2.12.0")
        .refused_with(10052),
        Case::stream(
            "allow_msg_counter",
            "false → true",
            json!({}),
            json!({"allow_msg_counter": true}),
        )
        .since("2.12.0")
        .refused_with(10052),
        Case::stream(
            "allow_msg_counter",
            "true → false",
            json!({"allow_msg_counter": true}),
            json!({}),
        )
        .since("2.12.0")
        .refused_with(10052),
        Case::stream(
            "first_seq",
            "100 → 500",
            json!({"first_seq": 100}),
            json!({"first_seq": 500}),
        )
        .gap(ServerGap::AcceptedWithoutEffect),
        // ---- in place from some version on
        Case::stream(
            "max_consumers",
            "10 → 20",
            json!({"max_consumers": 10}),
            json!({"max_consumers": 20}),
        )
        .refused_with(10052),
        // ---- editable
        Case::stream(
            "description",
            "set",
            json!({}),
            json!({"description": "changed"}),
        ),
        Case::stream(
            "subjects",
            "one added",
            json!({}),
            json!({"subjects": ["@.>", "@x.>"]}),
        ),
        Case::stream(
            "max_age",
            "1h → 2h",
            json!({"max_age": secs(3600)}),
            json!({"max_age": secs(7200)}),
        ),
        Case::stream(
            "max_msgs",
            "unlimited → 100",
            json!({}),
            json!({"max_msgs": 100}),
        ),
        Case::stream(
            "max_bytes",
            "unlimited → 1 MiB",
            json!({}),
            json!({"max_bytes": 1_048_576}),
        ),
        Case::stream(
            "max_msgs_per_subject",
            "unlimited → 5",
            json!({}),
            json!({"max_msgs_per_subject": 5}),
        ),
        Case::stream(
            "max_msg_size",
            "unlimited → 1 KiB",
            json!({}),
            json!({"max_msg_size": 1024}),
        ),
        Case::stream("discard", "old → new", json!({}), json!({"discard": "new"})),
        Case::stream(
            "duplicate_window",
            "2m → 10s",
            json!({}),
            json!({"duplicate_window": secs(10)}),
        ),
        Case::stream("no_ack", "false → true", json!({}), json!({"no_ack": true})),
        Case::stream(
            "allow_rollup_hdrs",
            "false → true",
            json!({}),
            json!({"allow_rollup_hdrs": true}),
        ),
        Case::stream(
            "allow_direct",
            "false → true",
            json!({}),
            json!({"allow_direct": true}),
        ),
        Case::stream(
            "republish",
            "added",
            json!({}),
            json!({"republish": {"src": "@.>", "dest": "re@.>"}}),
        ),
        Case::stream(
            "subject_transform",
            "added",
            json!({}),
            json!({"subject_transform": {"src": "@.>", "dest": "@.t.>"}}),
        ),
        Case::stream(
            "consumer_limits",
            "added",
            json!({}),
            json!({"consumer_limits": {"max_ack_pending": 50}}),
        ),
        Case::stream(
            "metadata",
            "added",
            json!({}),
            json!({"metadata": {"team": "a"}}),
        ),
        Case::stream(
            "sources",
            "one added",
            json!({}),
            json!({"sources": [{"name": "@o"}]}),
        )
        .with_origin(origin.clone()),
        Case::stream(
            "compression",
            "none → s2",
            json!({}),
            json!({"compression": "s2"}),
        ),
        Case::stream(
            "compression",
            "s2 → none",
            json!({"compression": "s2"}),
            json!({"compression": "none"}),
        ),
        Case::stream(
            "subject_delete_marker_ttl",
            "5s → 10s",
            json!({"allow_msg_ttl": true, "subject_delete_marker_ttl": secs(5)}),
            json!({"allow_msg_ttl": true, "subject_delete_marker_ttl": secs(10)}),
        )
        .since("2.11.0"),
        Case::stream(
            "allow_atomic",
            "false → true",
            json!({}),
            json!({"allow_atomic": true}),
        )
        .since("2.12.0"),
        Case::stream(
            "allow_atomic",
            "true → false",
            json!({"allow_atomic": true}),
            json!({}),
        )
        .since("2.12.0"),
        Case::stream(
            "allow_batched",
            "false → true",
            json!({}),
            json!({"allow_batched": true}),
        )
        .since("2.14.0"),
        Case::stream(
            "allow_batched",
            "true → false",
            json!({"allow_batched": true}),
            json!({}),
        )
        .since("2.14.0"),
        // ---- KV buckets: the backing stream's rules
        Case::kv(
            "storage",
            "file → memory",
            json!({}),
            json!({"storage": "memory"}),
        )
        .refused_with(10052),
        Case::kv(
            "max_msgs_per_subject",
            "history 1 → 5",
            json!({}),
            json!({"history": 5}),
        ),
        Case::kv(
            "max_age",
            "ttl 1h → 2h",
            json!({"ttl": "1h"}),
            json!({"ttl": "2h"}),
        ),
        Case::kv(
            "max_msg_size",
            "maxValueSize → 1KiB",
            json!({}),
            json!({"maxValueSize": "1KiB"}),
        ),
        Case::kv(
            "max_bytes",
            "maxBytes → 1MiB",
            json!({}),
            json!({"maxBytes": "1MiB"}),
        ),
        Case::kv(
            "compression",
            "off → on",
            json!({}),
            json!({"compression": true}),
        ),
        Case::kv(
            "metadata",
            "added",
            json!({}),
            json!({"metadata": {"team": "a"}}),
        ),
        Case::kv(
            "allow_msg_ttl",
            "limitMarkerTtl added",
            json!({}),
            json!({"limitMarkerTtl": "10s"}),
        )
        .since("2.11.0"),
        Case::kv(
            "allow_msg_ttl",
            "limitMarkerTtl removed",
            json!({"limitMarkerTtl": "10s"}),
            json!({}),
        )
        .since("2.11.0")
        .refused_with(10052),
        Case::kv(
            "mirror",
            "added",
            json!({}),
            json!({"mirror": {"name": "@o"}}),
        )
        .with_origin(kv_origin.clone())
        .refused_with(10055),
        Case::kv(
            "mirror",
            "removed (promote)",
            json!({"mirror": {"name": "@o"}}),
            json!({}),
        )
        .with_origin(kv_origin.clone())
        .refused_with(10055),
        // ---- object stores
        Case::object_store(
            "storage",
            "memory → file",
            json!({"storage": "memory"}),
            json!({}),
        )
        .refused_with(10052),
        Case::object_store("max_age", "ttl → 1h", json!({}), json!({"ttl": "1h"})),
        Case::object_store(
            "max_bytes",
            "maxBytes → 1MiB",
            json!({}),
            json!({"maxBytes": "1MiB"}),
        ),
        Case::object_store(
            "compression",
            "off → on",
            json!({}),
            json!({"compression": true}),
        ),
        Case::object_store(
            "description",
            "set",
            json!({}),
            json!({"description": "blobs"}),
        ),
        // ---- consumers: never changeable
        Case::consumer(
            "deliver_policy",
            "all → new",
            json!({}),
            json!({"deliver_policy": "new"}),
        )
        .refused_with(10012),
        Case::consumer(
            "opt_start_seq",
            "1 → 5",
            json!({"deliver_policy": "by_start_sequence", "opt_start_seq": 1}),
            json!({"deliver_policy": "by_start_sequence", "opt_start_seq": 5}),
        )
        .refused_with(10012),
        Case::consumer(
            "opt_start_time",
            "moved by a day",
            json!({"deliver_policy": "by_start_time", "opt_start_time": "2024-01-01T00:00:00Z"}),
            json!({"deliver_policy": "by_start_time", "opt_start_time": "2024-01-02T00:00:00Z"}),
        )
        .refused_with(10012),
        Case::consumer(
            "ack_policy",
            "explicit → none",
            json!({}),
            json!({"ack_policy": "none"}),
        )
        .refused_with(10012),
        Case::consumer(
            "ack_policy",
            "explicit → all",
            json!({}),
            json!({"ack_policy": "all"}),
        )
        .refused_with(10012),
        Case::consumer(
            "replay_policy",
            "instant → original",
            json!({}),
            json!({"replay_policy": "original"}),
        )
        .refused_with(10012),
        Case::consumer(
            "idle_heartbeat",
            "5s → 10s",
            push_with(json!({"idle_heartbeat": secs(5)})),
            push_with(json!({"idle_heartbeat": secs(10)})),
        )
        .refused_with(10012),
        Case::consumer(
            "flow_control",
            "off → on",
            push_with(json!({"idle_heartbeat": secs(5)})),
            push_with(json!({"idle_heartbeat": secs(5), "flow_control": true})),
        )
        .refused_with(10012),
        Case::consumer(
            "max_waiting",
            "512 → 100",
            json!({}),
            json!({"max_waiting": 100}),
        )
        .refused_with(10012),
        Case::consumer(
            "mem_storage",
            "false → true",
            json!({}),
            json!({"mem_storage": true}),
        )
        .gap(ServerGap::AcceptedWithoutEffectBefore(v("2.14.4")))
        .refused_with(10012),
        Case::consumer("deliver_subject", "pull → push", json!({}), push.clone())
            .refused_with(10012),
        Case::consumer("deliver_subject", "push → pull", push.clone(), json!({}))
            .refused_with(10012),
        Case::consumer(
            "name",
            "renamed in the body",
            json!({}),
            json!({"durable_name": "other", "name": "other"}),
        )
        .refused_with(10017),
        // ---- consumers: editable
        Case::consumer(
            "deliver_subject",
            "one push subject → another",
            push.clone(),
            json!({"deliver_subject": "elsewhere.@"}),
        ),
        Case::consumer(
            "description",
            "set",
            json!({}),
            json!({"description": "changed"}),
        ),
        Case::consumer(
            "ack_wait",
            "30s → 10s",
            json!({}),
            json!({"ack_wait": secs(10)}),
        ),
        Case::consumer(
            "max_deliver",
            "unlimited → 5",
            json!({}),
            json!({"max_deliver": 5}),
        ),
        Case::consumer(
            "backoff",
            "added",
            json!({"max_deliver": 5}),
            json!({"max_deliver": 5, "backoff": [secs(1), secs(2)]}),
        ),
        Case::consumer(
            "filter_subject",
            "added",
            json!({}),
            json!({"filter_subject": "@.a"}),
        ),
        Case::consumer(
            "filter_subjects",
            "added",
            json!({}),
            json!({"filter_subjects": ["@.a", "@.b"]}),
        ),
        Case::consumer(
            "max_ack_pending",
            "1000 → 10",
            json!({}),
            json!({"max_ack_pending": 10}),
        ),
        Case::consumer(
            "inactive_threshold",
            "added",
            json!({}),
            json!({"inactive_threshold": secs(3600)}),
        ),
        Case::consumer(
            "metadata",
            "added",
            json!({}),
            json!({"metadata": {"team": "a"}}),
        ),
        Case::consumer(
            "headers_only",
            "false → true",
            json!({}),
            json!({"headers_only": true}),
        ),
        Case::consumer("max_batch", "added", json!({}), json!({"max_batch": 10})),
        Case::consumer(
            "max_expires",
            "added",
            json!({}),
            json!({"max_expires": secs(30)}),
        ),
        Case::consumer("max_bytes", "added", json!({}), json!({"max_bytes": 1024})),
        Case::consumer(
            "sample_freq",
            "added",
            json!({}),
            json!({"sample_freq": "50%"}),
        ),
        Case::consumer(
            "rate_limit_bps",
            "added",
            push.clone(),
            push_with(json!({"rate_limit_bps": 1_000_000})),
        ),
        Case::consumer(
            "deliver_group",
            "added",
            push.clone(),
            push_with(json!({"deliver_group": "workers"})),
        ),
        // ---- consumers: priority groups (JETSTREAM.md said "verify")
        Case::consumer(
            "priority_groups",
            "[a] → [a, b]",
            json!({"priority_groups": ["a"], "priority_policy": "overflow"}),
            json!({"priority_groups": ["a", "b"], "priority_policy": "overflow"}),
        )
        .since("2.11.0"),
        Case::consumer(
            "priority_policy",
            "overflow → pinned_client",
            json!({"priority_groups": ["a"], "priority_policy": "overflow"}),
            json!({"priority_groups": ["a"], "priority_policy": "pinned_client"}),
        )
        .since("2.11.0"),
        Case::consumer(
            "priority_policy",
            "none → overflow",
            json!({}),
            json!({"priority_groups": ["a"], "priority_policy": "overflow"}),
        )
        .since("2.11.0"),
        Case::consumer(
            "priority_policy",
            "pinned_client → none",
            json!({"priority_groups": ["a"], "priority_policy": "pinned_client"}),
            json!({}),
        )
        .since("2.11.0"),
        Case::consumer(
            "priority_timeout",
            "1m → 2m",
            json!({
                "priority_groups": ["a"],
                "priority_policy": "pinned_client",
                "priority_timeout": secs(60),
            }),
            json!({
                "priority_groups": ["a"],
                "priority_policy": "pinned_client",
                "priority_timeout": secs(120),
            }),
        )
        .since("2.11.0"),
        Case::consumer(
            "priority_policy",
            "overflow → prioritized",
            json!({"priority_groups": ["a"], "priority_policy": "overflow"}),
            json!({"priority_groups": ["a"], "priority_policy": "prioritized"}),
        )
        .since("2.12.0"),
    ])
}

// ------------------------------------------------------------------ running a row

/// What happened to one row, for the summary and the verdict.
struct Outcome {
    line: String,
    failure: Option<String>,
}

async fn create(js: &Js, case: &Case, name: &str, config: &Value) -> Result<Value, String> {
    let what = format!("creating {} {name}", case.kind.prefix());
    let reply = match case.kind {
        AssetKind::Consumer => js.consumer(name, "worker", config, "create").await,
        _ => js.create_stream(config).await,
    };
    Ok(reply.ok(&what)?["config"].clone())
}

async fn update(js: &Js, case: &Case, name: &str, config: &Value) -> Reply {
    match case.kind {
        AssetKind::Consumer => js.consumer(name, "worker", config, "update").await,
        _ => js.update_stream(&case.stream_name(name), config).await,
    }
}

async fn read_back(js: &Js, case: &Case, name: &str) -> Value {
    match case.kind {
        AssetKind::Consumer => js.consumer_info(name, "worker").await["config"].clone(),
        _ => js.stream_info(&case.stream_name(name)).await["config"].clone(),
    }
}

/// Runs one row; `Err` when the row could not be set up or does not
/// exercise its rule.
async fn run(
    js: &Js,
    server: &ServerVersion,
    case: &Case,
    index: usize,
) -> Result<Outcome, String> {
    let name = match case.kind {
        AssetKind::Stream => format!("S{index}"),
        AssetKind::KeyValue => format!("kv{index}"),
        AssetKind::ObjectStore => format!("ob{index}"),
        AssetKind::Consumer => format!("C{index}"),
    };
    let label = format!(
        "{} `{}` {} (row {index}) on nats-server {server}",
        case.kind.prefix(),
        case.field,
        case.change
    );
    for origin in &case.setup {
        js.create_stream(&instantiate(origin, &name))
            .await
            .ok(&format!("{label}: creating the origin"))?;
    }
    let mut stream_limits = None;
    if case.kind == AssetKind::Consumer {
        let stream = js
            .create_stream(&instantiate(&base(STREAM_BASE), &name))
            .await
            .ok(&format!("{label}: creating the consumer's stream"))?;
        stream_limits = Some(stream["config"]["consumer_limits"].clone());
    }
    let before = case.wire(&case.before, &name);
    let after = case.wire(&case.after, &name);
    let live = match &case.create {
        Some(first) => {
            create(js, case, &name, &case.wire(first, &name))
                .await
                .map_err(|e| format!("{label}: {e}"))?;
            update(js, case, &name, &before)
                .await
                .ok(&format!("{label}: reaching the state before"))?["config"]
                .clone()
        }
        None => create(js, case, &name, &before)
            .await
            .map_err(|e| format!("{label}: {e}"))?,
    };
    let normalise = |config: &Value| match case.kind {
        AssetKind::Consumer => normalise_consumer(config, stream_limits.as_ref()),
        _ => normalise_stream(config),
    };
    let desired = normalise(&after);
    let diffs = differences(&desired, &normalise(&live));
    let Some(row_diff) = diffs.iter().find(|d| d.field == case.field) else {
        return Err(format!(
            "{label}: the row does not change `{}`; it changes {:?}",
            case.field,
            diffs.iter().map(|d| &d.field).collect::<Vec<_>>()
        ));
    };
    let rule = change_mutability(
        case.kind,
        case.field,
        &row_diff.live,
        &row_diff.desired,
        server,
    );
    let others: Vec<(&str, Mutability)> = diffs
        .iter()
        .filter(|d| d.field != case.field)
        .map(|d| {
            let m = change_mutability(case.kind, &d.field, &d.live, &d.desired, server);
            (d.field.as_str(), m)
        })
        .collect();
    if !rule.forces_replacement()
        && let Some((field, m)) = others.iter().find(|(_, m)| m.forces_replacement())
    {
        return Err(format!(
            "{label}: the row also changes `{field}`, which forces replacement ({m:?}); \
                 the row cannot tell which rule the server applied"
        ));
    }

    let reply = update(js, case, &name, &after).await;
    let (observed, failure) = match (&rule, reply) {
        (Mutability::Editable, Reply::Accepted(_)) => {
            let now = normalise(&read_back(js, case, &name).await);
            let stale: Vec<String> = diffs
                .iter()
                .filter(|d| now.get(&d.field).unwrap_or(&Value::Null) != &d.desired)
                .map(|d| {
                    format!(
                        "`{}` reads back {} instead of {}",
                        d.field,
                        now.get(&d.field).unwrap_or(&Value::Null),
                        d.desired
                    )
                })
                .collect();
            let failure = (!stale.is_empty()).then(|| {
                format!(
                    "{label}: the server accepted the update but {}",
                    stale.join(", ")
                )
            });
            ("accepted, reads back the new value".to_string(), failure)
        }
        (Mutability::Editable, Reply::Refused { code, description }) => (
            format!("REFUSED {code} {description}"),
            Some(format!(
                "{label}: change_mutability says editable, but the server refused: \
                 {code} {description}"
            )),
        ),
        (Mutability::ForcesReplacement { reason }, Reply::Refused { code, description }) => {
            let failure = case.refused_with.filter(|want| *want != code).map(|want| {
                format!("{label}: refused with {code} ({description}), the row expects {want}")
            });
            let _ = reason;
            (format!("refused {code} \"{description}\""), failure)
        }
        (Mutability::ForcesReplacement { reason }, Reply::Accepted(reply)) => {
            let gap = match case.gap {
                ServerGap::None => false,
                ServerGap::AcceptedWithoutEffect => true,
                ServerGap::AcceptedWithoutEffectBefore(fixed) => *server < fixed,
            };
            if !gap {
                (
                    "ACCEPTED".to_string(),
                    Some(format!(
                        "{label}: change_mutability says it forces replacement ({reason}), \
                         but the server accepted it"
                    )),
                )
            } else if case.field == "first_seq" {
                let first = reply["state"]["first_seq"].clone();
                let created = before["first_seq"].clone();
                let failure = (first != created).then(|| {
                    format!("{label}: first_seq took effect: the stream now starts at {first}")
                });
                (
                    format!("accepted without effect (state.first_seq stays {first})"),
                    failure,
                )
            } else {
                ("accepted without effect (stored only)".to_string(), None)
            }
        }
    };
    let verdict = match &rule {
        Mutability::Editable => "editable".to_string(),
        Mutability::ForcesReplacement { reason } => format!("replace: {reason}"),
    };
    Ok(Outcome {
        line: format!(
            "{:<11} {:<26} {:<36} {:<70} {observed}",
            case.kind.prefix(),
            case.field,
            case.change,
            verdict
        ),
        failure,
    })
}

#[tokio::test]
async fn every_mutability_rule_agrees_with_the_server() {
    let server = require_nats!();
    let js = Js::connect(&server).await;
    let version = version(&server);
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    let mut skipped = 0;
    for (index, case) in cases().iter().enumerate() {
        if version < case.since {
            skipped += 1;
            continue;
        }
        match run(&js, &version, case, index).await {
            Ok(outcome) => {
                lines.push(outcome.line);
                failures.extend(outcome.failure);
            }
            Err(failure) => failures.push(failure),
        }
    }
    eprintln!(
        "nats-server {version}: {} rows, {skipped} left out (fields newer than the server)\n{}",
        lines.len(),
        lines.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} rule(s) disagree with nats-server {version}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ------------------------------------------------------------------ facts behind rows

#[tokio::test]
async fn consumer_create_honours_the_update_and_create_actions() {
    let server = require_nats!();
    let js = Js::connect(&server).await;
    js.create_stream(&json!({"name": "ACT", "subjects": ["act.>"]}))
        .await
        .expect("creating the stream");
    let config = base(CONSUMER_BASE);
    match js.consumer("ACT", "worker", &config, "update").await {
        Reply::Refused { code, .. } => assert_eq!(
            code,
            10149,
            "nats-server {}: an update of a missing consumer",
            server.version()
        ),
        Reply::Accepted(reply) => panic!(
            "nats-server {} ignored action \"update\" and created the consumer: {reply}",
            server.version()
        ),
    }
    js.consumer("ACT", "worker", &config, "create")
        .await
        .expect("create");
    let changed = overlay(&config, &json!({"description": "changed"}));
    match js.consumer("ACT", "worker", &changed, "create").await {
        Reply::Refused { code, .. } => assert_eq!(code, 10148, "nats-server {}", server.version()),
        Reply::Accepted(reply) => panic!(
            "nats-server {}: action \"create\" changed an existing consumer: {reply}",
            server.version()
        ),
    }
    let reply = js
        .consumer("ACT", "worker", &changed, "update")
        .await
        .expect("update");
    assert_eq!(reply["config"]["description"], "changed");
}

#[tokio::test]
async fn sealing_a_stream_also_turns_on_deny_delete_and_deny_purge_and_discard_new() {
    let server = require_nats!();
    let js = Js::connect(&server).await;
    let config = json!({
        "name": "SEAL",
        "subjects": ["seal.>"],
        "max_age": secs(3600),
        "allow_rollup_hdrs": true,
    });
    js.create_stream(&config).await.expect("create");
    let sealed = overlay(&config, &json!({"sealed": true}));
    let reply = js.update_stream("SEAL", &sealed).await.expect("seal");
    let live = normalise_stream(&reply["config"]);
    assert_eq!(live["sealed"], true);
    // Facts the normaliser must know, or a sealed spec plans a replacement
    // of deny_delete/deny_purge forever.
    assert_eq!(
        live["deny_delete"],
        true,
        "nats-server {}",
        server.version()
    );
    assert_eq!(live["deny_purge"], true, "nats-server {}", server.version());
    assert_eq!(live["discard"], "new", "nats-server {}", server.version());
    assert_eq!(live["max_age"], 0, "nats-server {}", server.version());
    assert_eq!(
        live["allow_rollup_hdrs"],
        false,
        "nats-server {}",
        server.version()
    );
}

// ------------------------------------------------------------------ compression

fn block_files(store: &Path, stream: &str) -> Vec<(PathBuf, u64)> {
    fn walk(dir: &Path, stream: &str, found: &mut Vec<(PathBuf, u64)>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, stream, found);
            } else if path.extension().is_some_and(|e| e == "blk")
                && path
                    .parent()
                    .and_then(Path::parent)
                    .and_then(Path::file_name)
                    .is_some_and(|n| n == stream)
            {
                found.push((path.clone(), entry.metadata().map(|m| m.len()).unwrap_or(0)));
            }
        }
    }
    let mut found = Vec::new();
    walk(store, stream, &mut found);
    found.sort_by_key(|(path, _)| {
        path.file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    });
    found
}

/// Sizes of the closed (all but the last) blocks, by block number.
fn closed_blocks(store: &Path, stream: &str) -> Vec<(u64, u64)> {
    let mut blocks: Vec<(u64, u64)> = block_files(store, stream)
        .into_iter()
        .map(|(path, size)| {
            let number = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            (number, size)
        })
        .collect();
    blocks.pop();
    blocks
}

async fn settle() {
    // Blocks are compressed in the background when they fill up.
    tokio::time::sleep(Duration::from_millis(700)).await;
}

/// Full uncompressed blocks hold ~32 KB (max_bytes 120000 makes the server
/// pick its smallest block size); a block of zeros compressed by s2 is a
/// few hundred bytes.
const COMPRESSED_BELOW: u64 = 8_000;

#[tokio::test]
async fn a_compression_change_is_stored_at_once_but_only_used_for_blocks_written_after_a_restart() {
    let mut server = require_nats!();
    let version = version(&server);
    let store = server.store_dir().to_path_buf();
    let config = json!({
        "name": "ZIP",
        "subjects": ["zip"],
        "max_bytes": 120_000,
        "compression": "none",
    });
    let js = Js::connect(&server).await;
    js.create_stream(&config).await.expect("create");
    for _ in 0..45 {
        js.publish("zip", vec![0u8; 1000]).await;
    }
    settle().await;
    let first = closed_blocks(&store, "ZIP");
    assert!(
        !first.is_empty() && first.iter().all(|(_, size)| *size > COMPRESSED_BELOW),
        "nats-server {version}: uncompressed blocks expected, found {first:?}"
    );

    let reply = js
        .update_stream("ZIP", &overlay(&config, &json!({"compression": "s2"})))
        .await
        .expect("switching compression on");
    assert_eq!(reply["config"]["compression"], "s2");
    for _ in 0..30 {
        js.publish("zip", vec![0u8; 1000]).await;
    }
    settle().await;
    let without_restart = closed_blocks(&store, "ZIP");
    let new_blocks: Vec<_> = without_restart
        .iter()
        .filter(|(n, _)| !first.iter().any(|(f, _)| f == n))
        .collect();
    assert!(
        !new_blocks.is_empty(),
        "no block was closed: {without_restart:?}"
    );
    assert!(
        new_blocks.iter().all(|(_, size)| *size > COMPRESSED_BELOW),
        "nats-server {version} compressed blocks closed after the update without a restart: \
         {without_restart:?}"
    );

    drop(js);
    server.restart();
    let js = Js::connect(&server).await;
    let info = js.stream_info("ZIP").await;
    assert_eq!(info["config"]["compression"], "s2");
    for _ in 0..35 {
        js.publish("zip", vec![0u8; 1000]).await;
    }
    // Compression runs in the background: give a loaded machine time.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let after_restart = loop {
        settle().await;
        let blocks = closed_blocks(&store, "ZIP");
        let done = blocks
            .iter()
            .filter(|(n, _)| !without_restart.iter().any(|(w, _)| w == n))
            .all(|(_, size)| *size < COMPRESSED_BELOW);
        if done || std::time::Instant::now() > deadline {
            break blocks;
        }
    };
    let (old, newer): (Vec<_>, Vec<_>) = after_restart
        .iter()
        .partition(|(n, _)| without_restart.iter().any(|(w, _)| w == n));
    assert!(
        !newer.is_empty(),
        "no block was closed after the restart: {after_restart:?}"
    );
    assert!(
        newer.iter().all(|(_, size)| *size < COMPRESSED_BELOW),
        "nats-server {version} did not compress blocks closed after a restart: {after_restart:?}"
    );
    assert!(
        old.iter().all(|(_, size)| *size > COMPRESSED_BELOW),
        "nats-server {version} recompressed blocks written before the change: {after_restart:?}"
    );
    eprintln!(
        "nats-server {version}: closed block sizes before the change {first:?}, \
         after it without a restart {without_restart:?}, after a restart {after_restart:?}"
    );
}

// ------------------------------------------------------------------ capabilities

/// One field (or value) set on top of a minimal asset.
struct Probe {
    kind: AssetKind,
    /// The paths to look for in the read-back config.
    paths: &'static [&'static str],
    config: Value,
    /// Streams to create first.
    setup: Vec<Value>,
}

fn probes() -> Vec<Probe> {
    let stream = |paths, extra: Value| Probe {
        kind: AssetKind::Stream,
        paths,
        config: overlay(&base(STREAM_BASE), &extra),
        setup: Vec::new(),
    };
    let consumer = |paths, extra: Value| Probe {
        kind: AssetKind::Consumer,
        paths,
        config: overlay(&base(CONSUMER_BASE), &extra),
        setup: Vec::new(),
    };
    let origin = json!({"name": "@o", "subjects": ["@o.>"]});
    let transform = json!({"src": "@o.>", "dest": "@.from.>"});
    let feed = json!({"name": "feed", "deliver_subject": "feed.@"});
    Vec::from([
        stream(&["compression"], json!({"compression": "s2"})),
        stream(&["first_seq"], json!({"first_seq": 10})),
        stream(
            &["subject_transform"],
            json!({"subject_transform": {"src": "@.>", "dest": "@.t.>"}}),
        ),
        stream(
            &["consumer_limits"],
            json!({"consumer_limits": {"max_ack_pending": 10}}),
        ),
        stream(&["metadata"], json!({"metadata": {"team": "a"}})),
        stream(&["allow_msg_ttl"], json!({"allow_msg_ttl": true})),
        stream(
            &["allow_msg_ttl", "subject_delete_marker_ttl"],
            json!({
                "allow_msg_ttl": true,
                "subject_delete_marker_ttl": secs(5),
                "allow_rollup_hdrs": true,
            }),
        ),
        stream(&["allow_msg_counter"], json!({"allow_msg_counter": true})),
        stream(&["allow_atomic"], json!({"allow_atomic": true})),
        stream(
            &["allow_msg_schedules"],
            json!({"allow_msg_schedules": true, "allow_rollup_hdrs": true}),
        ),
        stream(&["persist_mode"], json!({"persist_mode": "async"})),
        stream(&["allow_batched"], json!({"allow_batched": true})),
        Probe {
            setup: vec![origin.clone()],
            ..stream(
                &["sources[0].subject_transforms"],
                json!({"sources": [{"name": "@o", "subject_transforms": [transform]}]}),
            )
        },
        Probe {
            setup: vec![origin.clone()],
            ..stream(
                &["sources[0].consumer"],
                json!({"sources": [{"name": "@o", "consumer": feed}]}),
            )
        },
        Probe {
            setup: vec![origin.clone()],
            ..stream(
                &["mirror.consumer"],
                json!({"subjects": null, "mirror": {"name": "@o", "consumer": feed}}),
            )
        },
        consumer(&["metadata"], json!({"metadata": {"team": "a"}})),
        consumer(
            &["filter_subjects"],
            json!({"filter_subjects": ["@.a", "@.b"]}),
        ),
        consumer(
            &["priority_groups", "priority_policy"],
            json!({"priority_groups": ["jobs"], "priority_policy": "overflow"}),
        ),
        consumer(
            &["priority_groups", "priority_policy", "priority_timeout"],
            json!({
                "priority_groups": ["jobs"],
                "priority_policy": "pinned_client",
                "priority_timeout": secs(30),
            }),
        ),
        consumer(
            &["pause_until"],
            json!({"pause_until": "2099-01-01T00:00:00Z"}),
        ),
        consumer(
            &["priority_groups", "priority_policy"],
            json!({"priority_groups": ["jobs"], "priority_policy": "prioritized"}),
        ),
    ])
}

#[tokio::test]
async fn fields_the_server_is_too_old_for_are_dropped_or_refused_and_the_rest_are_kept() {
    let server = require_nats!();
    let js = Js::connect(&server).await;
    let version = version(&server);
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for (index, probe) in probes().iter().enumerate() {
        let name = format!("P{index}");
        for origin in &probe.setup {
            js.create_stream(&instantiate(origin, &name))
                .await
                .expect("creating the origin");
        }
        let config = instantiate(&probe.config, &name);
        let unsupported = unsupported_fields(probe.kind, &config, &version);
        let reply = match probe.kind {
            AssetKind::Consumer => {
                js.create_stream(&instantiate(&base(STREAM_BASE), &name))
                    .await
                    .expect("creating the consumer's stream");
                js.consumer(&name, "worker", &config, "create").await
            }
            _ => js.create_stream(&config).await,
        };
        let label = format!(
            "{} {:?} on nats-server {version}",
            probe.kind.prefix(),
            probe.paths
        );
        let newer: Vec<String> = unsupported
            .iter()
            .map(|u| match &u.value {
                Some(value) => format!("{}={value} (since {})", u.json_field, u.since),
                None => format!("{} (since {})", u.json_field, u.since),
            })
            .collect();
        match reply {
            Reply::Accepted(reply) => {
                let live = &reply["config"];
                let present: Vec<&str> = probe
                    .paths
                    .iter()
                    .copied()
                    .filter(|path| lookup(live, path).is_some())
                    .collect();
                if unsupported.is_empty() {
                    if present.len() != probe.paths.len() {
                        failures.push(format!(
                            "{label}: supported, accepted, but only {present:?} read back: {live}"
                        ));
                    }
                    lines.push(format!("{label}: supported, accepted and kept"));
                } else {
                    let kept: Vec<&String> = unsupported
                        .iter()
                        .map(|u| &u.json_field)
                        .filter(|field| {
                            let value = lookup(live, field);
                            let wanted = unsupported
                                .iter()
                                .find(|u| &&u.json_field == field)
                                .and_then(|u| u.value.as_deref());
                            match wanted {
                                // A newer value of a known field: kept if it reads back.
                                Some(wanted) => value.and_then(Value::as_str) == Some(wanted),
                                None => value.is_some(),
                            }
                        })
                        .collect();
                    if !kept.is_empty() {
                        failures.push(format!(
                            "{label}: unsupported_fields says {newer:?} are too new, \
                             but the server kept {kept:?}"
                        ));
                    }
                    if version >= v("2.12.0") {
                        failures.push(format!(
                            "{label}: a strict server (2.12+) accepted unknown {newer:?}"
                        ));
                    }
                    lines.push(format!("{label}: too new {newer:?}: silently dropped"));
                }
            }
            Reply::Refused { code, description } => {
                if unsupported.is_empty() {
                    failures.push(format!(
                        "{label}: unsupported_fields finds nothing too new, \
                         but the server refused: {code} {description}"
                    ));
                } else if version >= v("2.12.0") && code != 10025 {
                    failures.push(format!(
                        "{label}: too new {newer:?} refused with {code} {description}, \
                         expected 10025"
                    ));
                }
                lines.push(format!(
                    "{label}: too new {newer:?}: refused {code} \"{description}\""
                ));
            }
        }
    }
    eprintln!("{}", lines.join("\n"));
    if version >= v("2.14.0") {
        let every: Vec<Value> = probes().iter().map(|p| p.config.clone()).collect();
        for (probe, config) in probes().iter().zip(&every) {
            assert!(
                unsupported_fields(probe.kind, config, &version).is_empty(),
                "nats-server {version} knows every field jetsync sends: {config}"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} capability fact(s) disagree with nats-server {version}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
