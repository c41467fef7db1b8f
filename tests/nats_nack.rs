//! From NACK to jetsync (issue #19): NACK's documents, written here from
//! NACK's CRD schemas (`deploy/crds.yml`: v1beta2 Stream, Consumer,
//! KeyValue, ObjectStore, Account; v1beta1 Stream and Consumer), are read
//! with NACK's semantics, planned, applied and converted. The assets a
//! running NACK made are created with exactly the JSON NACK sends for those
//! documents (its `streamSpecToConfig`/`consumerSpecToConfig` over jsm.go's
//! `DefaultStream`/`DefaultConsumer` and the CRD defaults; nats.go's
//! `CreateKeyValue`/`CreateObjectStore` for buckets). One server for the
//! file; scripts/test runs it on the oldest and the newest supported server.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/controller.rs"]
mod controller_support;
#[path = "support/creds.rs"]
mod creds;
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use cli::{jetsync, write};
use creds::Chain;
use serde_json::{Value, json};
use support::NatsServer;

/// v1beta2 streams: every field a single 2.10 server accepts on create, the
/// CRD's empty connection defaults as `kubectl get -o yaml` shows them, and
/// a stream with only a name (NACK's defaults: memory, one year).
const STREAMS: &str = r#"
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: nk1-orders
  namespace: shop
  labels: {team: shop}
  annotations: {owner: "shop team"}
spec:
  name: nk1_orders
  description: orders
  subjects: ["nk1.orders.*"]
  retention: limits
  maxConsumers: 10
  maxMsgs: 100000
  maxBytes: 104857600
  maxAge: 72h
  maxMsgSize: 65536
  maxMsgsPerSubject: 100
  storage: file
  discard: new
  discardPerSubject: true
  replicas: 1
  noAck: false
  duplicateWindow: 90s
  denyDelete: true
  denyPurge: false
  allowRollup: true
  allowDirect: true
  mirrorDirect: false
  compression: s2
  firstSequence: 5
  republish: {source: "nk1.orders.*", destination: "nk1.copy.{{wildcard(1)}}", headers_only: true}
  metadata: {owner: shop}
  consumerLimits: {inactiveThreshold: 1h, maxAckPending: 500}
  preventDelete: true
  preventUpdate: false
  creds: ''
  nkey: ''
  servers: []
  tlsFirst: false
---
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: nk1-agg
spec:
  name: nk1_agg
  sources:
  - name: nk1_orders
    optStartSeq: 1
    subjectTransforms: [{source: "nk1.orders.eu", dest: "nk1.agg.eu"}]
  - name: nk1_remote
    filterSubject: "x.>"
    externalApiPrefix: "$JS.hub.API"
    externalDeliverPrefix: nk1.deliver.hub
---
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: nk1-mirror
spec:
  name: nk1_mirror
  maxAge: "0"
  mirror: {name: nk1_events, filterSubject: nk1.events.audit, optStartTime: "2024-01-01T00:00:00Z"}
---
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: nk1-in
spec:
  name: nk1_in
  subjects: ["nk1.in.*"]
  subjectTransform: {source: "nk1.in.*", dest: "nk1.moved.{{wildcard(1)}}"}
  storage: file
"#;

/// The JSON NACK sends for [`STREAMS`].
fn nack_streams() -> Vec<Value> {
    let year = 31_536_000_000_000_000u64;
    let defaults = json!({
        "retention": "limits", "discard": "old", "max_consumers": -1, "max_msgs": -1,
        "max_msgs_per_subject": -1, "max_bytes": -1, "max_age": year, "max_msg_size": -1,
        "num_replicas": 1, "storage": "memory"
    });
    let with = |fields: Value| {
        let mut config = defaults.clone();
        for (key, value) in fields.as_object().unwrap() {
            config[key] = value.clone();
        }
        config
    };
    vec![
        with(json!({
            "name": "nk1_orders", "description": "orders", "subjects": ["nk1.orders.*"],
            "max_consumers": 10, "max_msgs": 100_000, "max_bytes": 104_857_600,
            "max_age": 259_200_000_000_000u64, "max_msg_size": 65_536,
            "max_msgs_per_subject": 100, "storage": "file", "discard": "new",
            "discard_new_per_subject": true, "duplicate_window": 90_000_000_000u64,
            "deny_delete": true, "allow_rollup_hdrs": true, "allow_direct": true,
            "compression": "s2", "first_seq": 5,
            "republish": {"src": "nk1.orders.*", "dest": "nk1.copy.{{wildcard(1)}}", "headers_only": true},
            "metadata": {"owner": "shop"},
            "consumer_limits": {"inactive_threshold": 3_600_000_000_000u64, "max_ack_pending": 500}
        })),
        with(json!({
            "name": "nk1_agg",
            "sources": [
                {"name": "nk1_orders", "opt_start_seq": 1,
                 "subject_transforms": [{"src": "nk1.orders.eu", "dest": "nk1.agg.eu"}]},
                {"name": "nk1_remote", "filter_subject": "x.>",
                 "external": {"api": "$JS.hub.API", "deliver": "nk1.deliver.hub"}}
            ]
        })),
        with(json!({
            "name": "nk1_mirror", "max_age": 0,
            "mirror": {"name": "nk1_events", "filter_subject": "nk1.events.audit",
                       "opt_start_time": "2024-01-01T00:00:00Z"}
        })),
        with(json!({
            "name": "nk1_in", "subjects": ["nk1.in.*"], "storage": "file",
            "subject_transform": {"src": "nk1.in.*", "dest": "nk1.moved.{{wildcard(1)}}"}
        })),
    ]
}

/// An older install's v1beta1 Stream and Consumer.
const V1BETA1: &str = r#"
apiVersion: jetstream.nats.io/v1beta1
kind: Stream
metadata:
  name: nk1-events
spec:
  name: nk1_events
  description: events
  subjects: ["nk1.events.>"]
  retention: interest
  maxConsumers: -1
  maxMsgs: -1
  maxBytes: -1
  maxAge: 24h
  maxMsgSize: -1
  maxMsgsPerSubject: 5
  storage: file
  replicas: 1
  noAck: false
  discard: old
  duplicateWindow: 1m
---
apiVersion: jetstream.nats.io/v1beta1
kind: Consumer
metadata:
  name: nk1-audit
spec:
  streamName: nk1_events
  durableName: audit
  description: audit trail
  deliverPolicy: last
  filterSubject: nk1.events.audit
  maxDeliver: 3
  rateLimitBps: 0
  replayPolicy: instant
"#;

fn nack_v1beta1() -> (Value, Value) {
    (
        json!({
            "name": "nk1_events", "description": "events", "subjects": ["nk1.events.>"],
            "retention": "interest", "max_consumers": -1, "max_msgs": -1, "max_bytes": -1,
            "max_age": 86_400_000_000_000u64, "max_msg_size": -1, "max_msgs_per_subject": 5,
            "storage": "file", "num_replicas": 1, "discard": "old",
            "duplicate_window": 60_000_000_000u64
        }),
        // CRD defaults: `ackPolicy: none`, `ackWait: 1ns`.
        json!({
            "durable_name": "audit", "description": "audit trail", "deliver_policy": "last",
            "filter_subject": "nk1.events.audit", "max_deliver": 3,
            "ack_policy": "none", "ack_wait": 1, "replay_policy": "instant"
        }),
    )
}

/// v1beta2 consumers: pull with every pull field, push with flow control,
/// a queue group.
const CONSUMERS: &str = r#"
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata:
  name: nk1-worker
spec:
  streamName: nk1_orders
  durableName: worker
  description: worker
  deliverPolicy: byStartSequence
  optStartSeq: 1
  ackPolicy: explicit
  ackWait: 1s
  maxDeliver: 5
  backoff: ["1s", "5s"]
  filterSubjects: ["nk1.orders.eu", "nk1.orders.us"]
  replayPolicy: instant
  sampleFreq: "50%"
  maxWaiting: 64
  maxAckPending: 100
  headersOnly: true
  maxRequestBatch: 10
  maxRequestExpires: 30s
  maxRequestMaxBytes: 1048576
  inactiveThreshold: 1h
  memStorage: true
  metadata: {team: shop}
  preventDelete: false
---
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata:
  name: nk1-pusher
spec:
  streamName: nk1_orders
  durableName: pusher
  deliverSubject: nk1.deliver.push
  flowControl: true
  heartbeatInterval: 5s
  rateLimitBps: 1000000
  ackPolicy: all
  deliverPolicy: byStartTime
  optStartTime: "2024-01-01T00:00:00Z"
  replayPolicy: original
  filterSubject: nk1.orders.eu
---
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata:
  name: nk1-grouped
spec:
  streamName: nk1_orders
  durableName: grouped
  deliverSubject: nk1.deliver.group
  deliverGroup: nk1-workers
  ackPolicy: explicit
  ackWait: 30s
  deliverPolicy: new
"#;

/// The JSON NACK sends for [`CONSUMERS`]: jsm.go's `DefaultConsumer`
/// under NACK's options and the CRD defaults.
fn nack_consumers() -> Vec<Value> {
    vec![
        json!({
            "durable_name": "worker", "description": "worker",
            "deliver_policy": "by_start_sequence", "opt_start_seq": 1,
            "ack_policy": "explicit", "ack_wait": 1_000_000_000u64, "max_deliver": 5,
            "backoff": [1_000_000_000u64, 5_000_000_000u64],
            "filter_subjects": ["nk1.orders.eu", "nk1.orders.us"], "replay_policy": "instant",
            "sample_freq": "50%", "max_waiting": 64, "max_ack_pending": 100,
            "headers_only": true, "max_batch": 10, "max_expires": 30_000_000_000u64,
            "max_bytes": 1_048_576, "inactive_threshold": 3_600_000_000_000u64,
            "mem_storage": true, "metadata": {"team": "shop"}
        }),
        json!({
            "durable_name": "pusher", "deliver_subject": "nk1.deliver.push",
            "flow_control": true, "idle_heartbeat": 5_000_000_000u64,
            "rate_limit_bps": 1_000_000, "ack_policy": "all", "ack_wait": 1,
            "deliver_policy": "by_start_time", "opt_start_time": "2024-01-01T00:00:00Z",
            "replay_policy": "original", "filter_subject": "nk1.orders.eu"
        }),
        json!({
            "durable_name": "grouped", "deliver_subject": "nk1.deliver.group",
            "deliver_group": "nk1-workers", "ack_policy": "explicit",
            "ack_wait": 30_000_000_000u64, "deliver_policy": "new", "replay_policy": "instant"
        }),
    ]
}

const BUCKETS: &str = r#"
apiVersion: jetstream.nats.io/v1beta2
kind: KeyValue
metadata:
  name: nk1-cache
spec:
  bucket: nk1_cache
  description: cache
  maxValueSize: 1024
  history: 5
  ttl: 1h
  maxBytes: 1048576
  storage: memory
  replicas: 1
  compression: true
  preventDelete: true
---
apiVersion: jetstream.nats.io/v1beta2
kind: ObjectStore
metadata:
  name: nk1-blobs
spec:
  bucket: nk1_blobs
  description: blobs
  ttl: 24h
  maxBytes: 10485760
  storage: file
  replicas: 1
  compression: true
  metadata: {team: shop}
"#;

/// nats.go's backing streams for [`BUCKETS`].
fn nack_buckets() -> Vec<Value> {
    vec![
        json!({
            "name": "KV_nk1_cache", "description": "cache", "subjects": ["$KV.nk1_cache.>"],
            "max_msgs_per_subject": 5, "max_bytes": 1_048_576, "max_age": 3_600_000_000_000u64,
            "max_msg_size": 1024, "storage": "memory", "num_replicas": 1,
            "allow_rollup_hdrs": true, "deny_delete": true, "allow_direct": true,
            "discard": "new", "duplicate_window": 120_000_000_000u64, "compression": "s2",
            "max_msgs": -1, "max_consumers": -1
        }),
        json!({
            "name": "OBJ_nk1_blobs", "description": "blobs",
            "subjects": ["$O.nk1_blobs.C.>", "$O.nk1_blobs.M.>"],
            "max_age": 86_400_000_000_000u64, "max_bytes": 10_485_760, "storage": "file",
            "num_replicas": 1, "discard": "new", "allow_rollup_hdrs": true,
            "allow_direct": true, "compression": "s2", "metadata": {"team": "shop"}
        }),
    ]
}

async fn api(client: &async_nats::Client, subject: &str, body: Value) -> Value {
    let answer = support::js_api(client, subject, body.clone()).await;
    assert!(answer.get("error").is_none(), "{subject} {body}: {answer}");
    answer
}

/// What a running NACK made: every asset from NACK's JSON, and messages.
async fn make_as_nack_does(client: &async_nats::Client) {
    let (events, audit) = nack_v1beta1();
    let streams = [events]
        .into_iter()
        .chain(nack_streams())
        .chain(nack_buckets());
    for config in streams {
        let name = config["name"].as_str().unwrap().to_string();
        api(client, &format!("STREAM.CREATE.{name}"), config).await;
    }
    let consumers = nack_consumers()
        .into_iter()
        .map(|config| ("nk1_orders", config))
        .chain([("nk1_events", audit)]);
    for (stream, config) in consumers {
        let name = config["durable_name"].as_str().unwrap().to_string();
        let body = json!({ "stream_name": stream, "config": config });
        api(client, &format!("CONSUMER.CREATE.{stream}.{name}"), body).await;
    }
    let js = async_nats::jetstream::new(client.clone());
    for subject in ["nk1.orders.eu", "nk1.orders.us", "nk1.events.audit"] {
        js.publish(subject, "m".into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

/// Every stream and consumer (`support::server_state`), with what each
/// stream holds; the server's own consumers for mirrors and sources come and
/// go, and are left out.
async fn server_state(client: &async_nats::Client) -> BTreeMap<String, Value> {
    support::server_state(
        client,
        |config, held| {
            // What a mirror or a sourcing stream holds follows its origins on
            // the server's own time: only what the origins hold is compared.
            match config.get("mirror").or(config.get("sources")) {
                Some(_) => json!({ "messages": null, "last_seq": null }),
                None => json!({ "messages": held["messages"], "last_seq": held["last_seq"] }),
            }
        },
        |config| config["sourcing"] != json!(true),
    )
    .await
}

/// Runs a jetsync command that talks to no server (`validate`, `convert`).
fn offline(dir: &Path, args: &[&str]) -> cli::Run {
    offline_in_mode(dir, args, "control-loop")
}

/// [`offline`] for a NACK run in `mode` (`JETSYNC_NACK_MODE`).
fn offline_in_mode(dir: &Path, args: &[&str], mode: &str) -> cli::Run {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_jetsync"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("JETSYNC_NACK_MODE", mode)
        .current_dir(dir)
        .output()
        .expect("jetsync runs");
    cli::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn nack_files(dir: &Path, prefix: &str) {
    for (file, text) in [
        ("streams.yaml", STREAMS),
        ("consumers.yaml", CONSUMERS),
        ("buckets.yaml", BUCKETS),
        ("old/v1beta1.yaml", V1BETA1),
    ] {
        write(
            dir,
            &format!("{prefix}/{file}"),
            &text.replace("nk1", prefix),
        );
    }
}

/// The changes of `plan --output json ARGS`: address, action and diff.
fn plan_changes(dir: &Path, url: &str, args: &[&str]) -> Vec<(String, String, Value)> {
    let mut full = vec!["plan", "--output", "json"];
    full.extend_from_slice(args);
    let plan = jetsync(dir, url, &full);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let document: Value = serde_json::from_str(&plan.stdout).unwrap();
    document["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            (
                change["address"].as_str().unwrap().to_string(),
                change["action"].as_str().unwrap().to_string(),
                change["diff"].clone(),
            )
        })
        .collect()
}

fn assert_only_clean_adoptions(
    changes: &[(String, String, Value)],
    expected: usize,
    server: &NatsServer,
) {
    assert_eq!(changes.len(), expected, "{changes:#?}");
    let differing: Vec<String> = changes
        .iter()
        .filter(|(_, action, diff)| action != "adopt" || diff != &json!([]))
        .map(|(address, action, diff)| format!("{address} {action}: {diff}"))
        .collect();
    assert!(
        differing.is_empty(),
        "on nats-server {}, NACK's assets plan differences:\n{}",
        server.version(),
        differing.join("\n")
    );
}

#[tokio::test]
async fn a_running_nack_installation_is_taken_over_with_nothing_changed_and_nack_documents_apply_as_nack_would()
 {
    let server = require_nats!();
    let url = server.url();
    let client = support::client(&url).await;
    make_as_nack_does(&client).await;
    let made = server_state(&client).await;

    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    nack_files(dir, "nk1");

    // NACK's documents read as they are, planned against what NACK made.
    let valid = offline(dir, &["validate", "nk1"]);
    assert_eq!(valid.code, 0, "{}", valid.all());
    assert_only_clean_adoptions(
        &plan_changes(dir, &url, &["--adopt", "-f", "nk1"]),
        11,
        &server,
    );

    // Converted: one file per input file, the decisions on stderr.
    let converted = offline(dir, &["convert", "-f", "nk1", "--out", "infra"]);
    assert_eq!(converted.code, 0, "{}", converted.all());
    for file in [
        "streams.yaml",
        "consumers.yaml",
        "buckets.yaml",
        "old/v1beta1.yaml",
    ] {
        assert!(dir.join("infra").join(file).is_file(), "{file}");
    }
    assert!(
        converted.stderr.contains("deletionPolicy: Orphan"),
        "{}",
        converted.stderr
    );
    let streams = std::fs::read_to_string(dir.join("infra/streams.yaml")).unwrap();
    for kept in [
        "apiVersion: jetsync.dev/v1alpha1",
        "namespace: shop",
        "team: shop",
        "owner: shop team",
        "deletionPolicy: Orphan",
        "maxAge: 52w1d",
        "storage: memory",
    ] {
        assert!(streams.contains(kept), "{kept} in\n{streams}");
    }
    assert_only_clean_adoptions(
        &plan_changes(dir, &url, &["--adopt", "-f", "infra"]),
        11,
        &server,
    );
    // For the controller, `--adopt` writes `adopt: true`: the plan adopts
    // without the flag.
    let adopting = offline(
        dir,
        &["convert", "--adopt", "-f", "nk1", "--out", "adopting"],
    );
    assert_eq!(adopting.code, 0, "{}", adopting.all());
    let changes = plan_changes(dir, &url, &["-f", "adopting"]);
    assert_only_clean_adoptions(&changes, 11, &server);

    // Taken over: only jetsync's markers change, no message is lost.
    let apply = jetsync(dir, &url, &["apply", "--adopt", "--yes", "-f", "infra"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    for files in ["infra", "nk1"] {
        let plan = jetsync(dir, &url, &["plan", "--detailed-exitcode", "-f", files]);
        assert_eq!(plan.code, 0, "{files}: {}", plan.all());
        let diff = jetsync(dir, &url, &["diff", "-f", files]);
        assert_eq!(diff.code, 0, "{files}: {}", diff.all());
    }
    assert_eq!(
        server_state(&client).await,
        made,
        "the take-over changed the server"
    );

    // Applied to an empty account, NACK's documents make exactly the
    // configs NACK's JSON made.
    nack_files(dir, "nk2");
    let apply = jetsync(
        dir,
        &url,
        &["apply", "--yes", "--owner", "nk2", "-f", "nk2"],
    );
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert_twins_match(&made, &server_state(&client).await, "nk1", "nk2", &server);
}

/// Every asset of `made` (named with `from`) has a twin named with `to` in
/// `state` whose config is the same but for the names.
fn assert_twins_match(
    made: &BTreeMap<String, Value>,
    state: &BTreeMap<String, Value>,
    from: &str,
    to: &str,
    server: &NatsServer,
) {
    for (key, nack) in made.iter().filter(|(key, _)| key.contains(from)) {
        let Some(twin) = state.get(&key.replace(from, to)) else {
            panic!("{key} has no twin: {:?}", state.keys());
        };
        let mut config: Value =
            serde_json::from_str(&twin["config"].to_string().replace(to, from)).unwrap();
        let mut expected = nack["config"].clone();
        for volatile in ["created", "ack_floor"] {
            config.as_object_mut().unwrap().remove(volatile);
            expected.as_object_mut().unwrap().remove(volatile);
        }
        assert_eq!(
            config,
            expected,
            "on nats-server {}, {key} applied from NACK's document differs from NACK's",
            server.version()
        );
    }
}

/// The fields the take-over above cannot create on one 2.10 server
/// (placement, sealed, 2.11+/2.12+ features, priority groups, inline
/// connections, Accounts with Secrets), read and converted.
const WIDE: &str = r#"
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: wide
spec:
  name: WIDE
  subjects: ["wide.>"]
  placement: {cluster: east, tags: [ssd, fast]}
  storage: file
  sealed: true
  allowMsgTtl: true
  subjectDeleteMarkerTtl: 10m
  allowAtomicPublish: true
  allowMsgSchedules: true
  preventUpdate: true
  account: shop-account
---
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: counters
spec:
  name: COUNTERS
  subjects: ["counters.>"]
  storage: file
  allowMsgCounter: true
  persistMode: async
---
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata:
  name: wide-pinned
spec:
  streamName: WIDE
  durableName: pinned
  ackPolicy: explicit
  ackWait: 30s
  priorityPolicy: pinned_client
  pinnedTtl: 2m
  priorityGroups: [jobs]
  pauseUntil: "2030-01-01T00:00:00Z"
  replicas: 1
  servers: ["nats://hub:4222"]
  jsDomain: hub
  creds: /etc/nack/nack.creds
  tls: {clientCert: /etc/nack/tls.crt, clientKey: /etc/nack/tls.key, rootCas: [/etc/nack/ca.crt]}
  tlsFirst: true
---
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata:
  name: wide-overflow
spec:
  streamName: WIDE
  durableName: overflow
  ackPolicy: explicit
  ackWait: 30s
  priorityPolicy: overflow
  priorityGroups: [jobs]
  account: shop-account
---
apiVersion: jetstream.nats.io/v1beta2
kind: KeyValue
metadata:
  name: wide-kv
spec:
  bucket: wide_kv
  limitMarkerTtl: 60000000000
  republish: {source: "$KV.wide_kv.>", destination: "wide.kv.>", headers_only: true}
  placement: {cluster: east}
  sources:
  - name: other_kv
    optStartTime: "2024-01-01T00:00:00Z"
  servers: ["nats://hub:4222"]
  nkey: /etc/nack/nack.nk
---
apiVersion: jetstream.nats.io/v1beta2
kind: KeyValue
metadata:
  name: wide-replica
spec:
  bucket: wide_replica
  mirror: {name: wide_kv}
---
apiVersion: jetstream.nats.io/v1beta2
kind: ObjectStore
metadata:
  name: wide-blobs
spec:
  bucket: wide_blobs
  placement: {tags: [ssd]}
  preventDelete: true
---
apiVersion: jetstream.nats.io/v1beta2
kind: Account
metadata:
  name: shop-account
  namespace: shop
spec:
  servers: ["nats://nats.shop:4222"]
  tls: {secret: {name: shop-tls}, ca: ca.crt, cert: tls.crt, key: tls.key}
  creds: {secret: {name: shop-creds}, file: nack.creds}
  tlsFirst: true
---
apiVersion: jetstream.nats.io/v1beta2
kind: Account
metadata:
  name: token-account
spec:
  servers: ["nats://nats.shop:4222"]
  token: {secret: {name: shop-token}, token: token}
---
apiVersion: jetstream.nats.io/v1beta2
kind: Account
metadata:
  name: nkey-account
spec:
  servers: ["nats://nats.shop:4222"]
  nkey: {secret: {name: shop-nkey}, seed: seed.nk}
"#;

#[test]
fn nack_fields_beyond_the_take_over_are_read_and_converted_with_secrets_as_references() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, "nack/wide.yaml", WIDE);
    let valid = offline(dir, &["validate", "nack"]);
    assert_eq!(valid.code, 0, "{}", valid.all());
    let converted = offline(dir, &["convert", "nack/wide.yaml"]);
    assert_eq!(converted.code, 0, "{}", converted.all());
    // The decisions are reported: preventUpdate, the inline connection.
    for decision in [
        "driftPolicy: Report",
        "NatsConnection `consumer-wide-pinned`",
    ] {
        assert!(
            converted.stderr.contains(decision),
            "{decision}: {}",
            converted.stderr
        );
    }
    insta::assert_snapshot!(converted.stdout);
}

/// Fields jetsync cannot honour as NACK does, one of each kind of problem.
const REFUSED: &str = r#"apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: refused
spec:
  name: REFUSED
  maxAge: 7d
  maxMsgPerSubject: 5
---
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata:
  name: refused-consumer
spec:
  streamName: REFUSED
  filterSubject: a
  filterSubjects: [b]
---
apiVersion: jetstream.nats.io/v1beta1
kind: Stream
metadata:
  name: refused-old
spec:
  name: OLD
  allowDirect: true
---
apiVersion: jetstream.nats.io/v1beta2
kind: Account
metadata:
  name: refused-account
spec:
  user: {secret: {name: users}, user: user, password: password}
"#;

#[test]
fn nack_fields_jetsync_cannot_honour_are_errors_at_their_line_and_column_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, "nack/refused.yaml", REFUSED);
    let valid = offline(dir, &["validate", "nack"]);
    assert_eq!(valid.code, 1, "{}", valid.all());
    let converted = offline(dir, &["convert", "-f", "nack", "--out", "infra"]);
    assert_eq!(converted.code, 1, "{}", converted.all());
    assert!(!dir.join("infra").exists(), "convert wrote despite errors");
    for (place, message) in [
        ("nack/refused.yaml:7:11", "`7d` is not a Go duration"),
        ("nack/refused.yaml:8:3", "`maxMsgPerSubject` is not a field"),
        ("nack/refused.yaml:15:3", "without `durableName`"),
        (
            "nack/refused.yaml:17:19",
            "both `filterSubject` and `filterSubjects`",
        ),
        (
            "nack/refused.yaml:25:3",
            "`allowDirect` is not a field of NACK's v1beta1 Stream",
        ),
        (
            "nack/refused.yaml:32:9",
            "reads the user name from a Secret",
        ),
    ] {
        assert!(
            converted.stderr.contains(place) && converted.stderr.contains(message),
            "{place} {message}:\n{}",
            converted.stderr
        );
    }
}

#[test]
fn nack_documents_read_for_nacks_legacy_controllers_keep_what_they_send_and_warn_of_what_they_drop()
{
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, "nack/streams.yaml", STREAMS);
    write(dir, "nack/buckets.yaml", BUCKETS);
    let converted = offline_in_mode(dir, &["convert", "nack/streams.yaml"], "legacy");
    assert_eq!(converted.code, 0, "{}", converted.all());
    // An empty `maxAge` is unlimited, not jsm.go's year.
    assert!(!converted.stdout.contains("52w1d"), "{}", converted.stdout);
    assert!(
        !converted.stdout.contains("headersOnly"),
        "{}",
        converted.stdout
    );
    assert!(
        !converted.stdout.contains("consumerLimits"),
        "{}",
        converted.stdout
    );
    assert!(
        converted
            .stderr
            .contains("spec.consumerLimits: NACK's legacy controllers ignore this field"),
        "{}",
        converted.stderr
    );
    let buckets = offline_in_mode(dir, &["convert", "nack/buckets.yaml"], "legacy");
    assert_eq!(buckets.code, 0, "{}", buckets.all());
    assert!(
        buckets
            .stderr
            .contains("NACK makes a KeyValue only with --control-loop"),
        "{}",
        buckets.stderr
    );
}

/// NACK fields of nats-server 2.11 and 2.12 (message TTLs, counters,
/// atomic publish, schedules, persist mode, priority groups, pausing, KV
/// limit markers), on a server that has them.
const NEWER: &str = r#"
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: nk3-timed
spec:
  name: nk3_timed
  subjects: ["nk3.timed.>"]
  storage: file
  allowMsgTtl: true
  subjectDeleteMarkerTtl: 10m
  allowAtomicPublish: true
  allowMsgSchedules: true
---
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: nk3-counts
spec:
  name: nk3_counts
  subjects: ["nk3.counts.>"]
  storage: file
  allowMsgCounter: true
  persistMode: async
---
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata:
  name: nk3-pinned
spec:
  streamName: nk3_timed
  durableName: pinned
  ackPolicy: explicit
  ackWait: 30s
  priorityPolicy: pinned_client
  pinnedTtl: 2m
  priorityGroups: [jobs]
  pauseUntil: "2030-01-01T00:00:00Z"
---
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata:
  name: nk3-overflow
spec:
  streamName: nk3_timed
  durableName: overflow
  ackPolicy: explicit
  ackWait: 30s
  priorityPolicy: overflow
  priorityGroups: [jobs]
---
apiVersion: jetstream.nats.io/v1beta2
kind: KeyValue
metadata:
  name: nk3-marks
spec:
  bucket: nk3_marks
  limitMarkerTtl: 60000000000
"#;

/// The JSON NACK (and nats.go, for the bucket) sends for [`NEWER`].
fn nack_newer() -> (Vec<Value>, Vec<Value>) {
    let year = 31_536_000_000_000_000u64;
    let stream = |fields: Value| {
        let mut config = json!({
            "retention": "limits", "discard": "old", "max_consumers": -1, "max_msgs": -1,
            "max_msgs_per_subject": -1, "max_bytes": -1, "max_age": year, "max_msg_size": -1,
            "num_replicas": 1, "storage": "file"
        });
        for (key, value) in fields.as_object().unwrap() {
            config[key] = value.clone();
        }
        config
    };
    let streams = vec![
        stream(json!({
            "name": "nk3_timed", "subjects": ["nk3.timed.>"], "allow_msg_ttl": true,
            "subject_delete_marker_ttl": 600_000_000_000u64, "allow_atomic": true,
            "allow_msg_schedules": true
        })),
        stream(json!({
            "name": "nk3_counts", "subjects": ["nk3.counts.>"], "allow_msg_counter": true,
            "persist_mode": "async"
        })),
        json!({
            "name": "KV_nk3_marks", "subjects": ["$KV.nk3_marks.>"], "max_msgs_per_subject": 1,
            "max_bytes": -1, "max_age": 0, "max_msg_size": -1, "storage": "file",
            "num_replicas": 1, "allow_rollup_hdrs": true, "deny_delete": true,
            "allow_direct": true, "discard": "new", "duplicate_window": 120_000_000_000u64,
            "max_msgs": -1, "max_consumers": -1, "allow_msg_ttl": true,
            "subject_delete_marker_ttl": 60_000_000_000u64
        }),
    ];
    let consumer = |fields: Value| {
        let mut config = json!({
            "deliver_policy": "all", "ack_policy": "explicit", "ack_wait": 30_000_000_000u64,
            "replay_policy": "instant", "priority_groups": ["jobs"]
        });
        for (key, value) in fields.as_object().unwrap() {
            config[key] = value.clone();
        }
        config
    };
    let consumers = vec![
        consumer(json!({
            "durable_name": "pinned", "priority_policy": "pinned_client",
            "priority_timeout": 120_000_000_000u64, "pause_until": "2030-01-01T00:00:00Z"
        })),
        consumer(json!({ "durable_name": "overflow", "priority_policy": "overflow" })),
    ];
    (streams, consumers)
}

#[tokio::test]
async fn nack_fields_of_newer_servers_adopt_cleanly_and_apply_as_nack_would() {
    let server = require_nats!();
    let minor: u32 = server.version().split('.').nth(1).unwrap().parse().unwrap();
    if minor < 12 {
        eprintln!(
            "SKIPPED: nats-server {} has no 2.12 fields (jetsync refuses them by name there)",
            server.version()
        );
        return;
    }
    let url = server.url();
    let client = support::client(&url).await;
    let (streams, consumers) = nack_newer();
    for config in streams {
        let name = config["name"].as_str().unwrap().to_string();
        api(&client, &format!("STREAM.CREATE.{name}"), config).await;
    }
    for config in consumers {
        let name = config["durable_name"].as_str().unwrap().to_string();
        let body = json!({ "stream_name": "nk3_timed", "config": config });
        api(&client, &format!("CONSUMER.CREATE.nk3_timed.{name}"), body).await;
    }
    let made = server_state(&client).await;

    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, "nk3/newer.yaml", NEWER);
    assert_only_clean_adoptions(
        &plan_changes(dir, &url, &["--adopt", "-f", "nk3"]),
        5,
        &server,
    );
    let converted = offline(dir, &["convert", "-f", "nk3", "--out", "infra"]);
    assert_eq!(converted.code, 0, "{}", converted.all());
    assert_only_clean_adoptions(
        &plan_changes(dir, &url, &["--adopt", "-f", "infra"]),
        5,
        &server,
    );

    write(dir, "nk4/newer.yaml", &NEWER.replace("nk3", "nk4"));
    let apply = jetsync(
        dir,
        &url,
        &["apply", "--yes", "--owner", "nk4", "-f", "nk4"],
    );
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert_twins_match(&made, &server_state(&client).await, "nk3", "nk4", &server);
}

/// NACK's resources as `kubectl get streams,consumers -o yaml` prints them.
const KUBECTL_LIST: &str = r#"apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: jetstream.nats.io/v1beta2
  kind: Stream
  metadata:
    annotations:
      team: shop
    creationTimestamp: "2024-05-01T10:00:00Z"
    finalizers: [stream.nats.io/finalizer]
    generation: 2
    name: listed
    namespace: shop
    resourceVersion: "4711"
    uid: 0b5c7a4e-0000-4000-8000-000000000001
  spec:
    name: LISTED
    subjects: [listed.>]
    storage: file
    maxAge: 1h
    creds: ''
    preventDelete: false
    preventUpdate: false
  status:
    observedGeneration: 2
    conditions: [{type: Ready, status: "True", reason: Created, message: ok, lastTransitionTime: "2024-05-01T10:00:01Z"}]
- apiVersion: jetstream.nats.io/v1beta2
  kind: Consumer
  metadata:
    name: listed-worker
    namespace: shop
  spec:
    streamName: LISTED
    durableName: worker
    ackPolicy: explicit
    ackWait: 30s
"#;

#[test]
fn a_kubectl_list_of_nack_resources_converts_with_what_the_cluster_filled_in_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, "nack/all.yaml", KUBECTL_LIST);
    let converted = offline(dir, &["convert", "-f", "nack", "--out", "infra"]);
    assert_eq!(converted.code, 0, "{}", converted.all());
    let written = std::fs::read_to_string(dir.join("infra/all.yaml")).unwrap();
    insta::assert_snapshot!(written);
    // Converting over the NACK files themselves is refused.
    let over = offline(dir, &["convert", "-f", "nack", "--out", "nack"]);
    assert_eq!(over.code, 1, "{}", over.all());
    assert!(
        over.stderr.contains("is one of the input files"),
        "{}",
        over.stderr
    );
    let kept = std::fs::read_to_string(dir.join("nack/all.yaml")).unwrap();
    assert_eq!(kept, KUBECTL_LIST);
}

#[test]
fn go_durations_as_nack_parses_them_become_jetsync_durations() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let nack = r#"apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata: {name: timed}
spec:
  name: TIMED
  subjects: [timed]
  maxAge: 1.5h
  duplicateWindow: 90000ms
---
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata: {name: timed-worker}
spec:
  streamName: TIMED
  durableName: worker
  ackPolicy: explicit
  ackWait: +1m30s
  backoff: [1m30s, 2m]
  maxDeliver: 5
  inactiveThreshold: 2h45m
"#;
    write(dir, "nack/timed.yaml", nack);
    let converted = offline(dir, &["convert", "nack/timed.yaml"]);
    assert_eq!(converted.code, 0, "{}", converted.all());
    for duration in [
        "maxAge: 1h30m",
        "duplicateWindow: 1m30s",
        "ackWait: 1m30s",
        "- 1m30s\n  - 2m",
        "inactiveThreshold: 2h45m",
    ] {
        assert!(
            converted.stdout.contains(duration),
            "{duration} in\n{}",
            converted.stdout
        );
    }
    write(dir, "nack/timed.yaml", &nack.replace("+1m30s", "-1m30s"));
    let refused = offline(dir, &["validate", "nack"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("nack/timed.yaml:17:12"),
        "{}",
        refused.stderr
    );
}

#[test]
fn nack_connection_fields_become_a_connection_the_cli_uses_without_printing_the_seed() {
    let secrets = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets");
    let read = |name: &str| {
        std::fs::read_to_string(secrets.join(name))
            .unwrap()
            .trim()
            .to_string()
    };
    let (seed, public) = (read("test-user.nk"), read("test-user.pub"));
    let server = require_nats!(NatsServer::builder().config_extra(format!(
        "authorization {{ users: [ {{ nkey: \"{public}\" }} ] }}"
    )));
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, "nack/user.nk", &format!("{seed}\n"));
    write(
        dir,
        "nack/stream.yaml",
        &format!(
            r#"apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: nk5-inline
spec:
  name: nk5_inline
  subjects: [nk5.>]
  servers: ["{url}"]
  nkey: user.nk
"#
        ),
    );
    // The default connection (`--server`) has no credentials: the stream
    // can only be made through the connection NACK's fields describe.
    let apply = jetsync(dir, &url, &["apply", "--yes", "-f", "nack"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let plan = jetsync(dir, &url, &["plan", "--detailed-exitcode", "-f", "nack"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    for run in [&apply, &plan] {
        assert!(!run.all().contains(&seed[2..40]), "{}", run.all());
    }
}

/// NACK's `Account` with a `.creds` file and mutual TLS (TLS first), given as
/// paths (where NACK's pod mounts its Secrets), connects every document that
/// names it: the server is in operator mode and verifies client
/// certificates, and the default connection has neither. Applied, planned
/// empty, and no seed, JWT or key shows.
#[test]
fn a_nack_account_with_creds_and_tls_connects_the_documents_that_name_it_without_printing_secrets()
{
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let certificates = dir.join("certs");
    std::fs::create_dir(&certificates).unwrap();
    if support::make_certificates(&certificates).is_none() {
        assert!(
            !support::in_ci(),
            "openssl is needed to make the test certificates"
        );
        eprintln!("SKIPPED: no usable openssl binary");
        return;
    }
    let file = |name: &str| certificates.join(name).display().to_string();
    let chain = Chain::new();
    let server = require_nats!(chain.server(dir).config_extra(format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify: true\n  handshake_first: true\n}}",
        file("server.pem"),
        file("server.key"),
        file("ca.pem")
    )));
    let creds = dir.join("nack.creds");
    std::fs::write(&creds, chain.creds()).unwrap();
    let url = format!("tls://127.0.0.1:{}", server.port());
    write(
        dir,
        "nack/account.yaml",
        &format!(
            r#"apiVersion: jetstream.nats.io/v1beta2
kind: Account
metadata:
  name: shop
spec:
  servers: ["{url}"]
  creds: {{file: "{}"}}
  tls: {{ca: "{}", cert: "{}", key: "{}"}}
  tlsFirst: true
---
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: shop-orders
spec:
  name: shop_orders
  subjects: [shop.orders.>]
  account: shop
---
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata:
  name: shop-billing
spec:
  streamName: shop_orders
  durableName: billing
  account: shop
"#,
            creds.display(),
            file("ca.pem"),
            file("client.pem"),
            file("client.key"),
        ),
    );
    let apply = jetsync(dir, &url, &["apply", "--yes", "-f", "nack"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    for address in ["stream/shop_orders", "consumer/shop_orders/billing"] {
        assert!(apply.all().contains(address), "{address}: {}", apply.all());
    }
    let plan = jetsync(dir, &url, &["plan", "--detailed-exitcode", "-f", "nack"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let json = jetsync(dir, &url, &["plan", "-o", "json", "-f", "nack"]);
    assert_eq!(json.code, 0, "{}", json.all());
    let converted = offline(dir, &["convert", "nack"]);
    assert_eq!(converted.code, 0, "{}", converted.all());
    // Without the Account's creds and certificate the server refuses.
    write(
        dir,
        "bare/stream.yaml",
        "apiVersion: jetstream.nats.io/v1beta2\nkind: Stream\nmetadata:\n  name: bare\nspec:\n  name: bare\n",
    );
    let bare = jetsync(dir, &url, &["plan", "-f", "bare"]);
    assert_eq!(bare.code, 1, "{}", bare.all());

    let key = std::fs::read_to_string(certificates.join("client.key")).unwrap();
    let mut secrets = chain.secrets();
    secrets.extend(
        key.lines()
            .filter(|line| !line.starts_with("-----") && line.len() > 16)
            .map(str::to_string),
    );
    for run in [&apply, &plan, &json, &converted, &bare] {
        for secret in &secrets {
            assert!(
                !run.all().contains(secret.as_str()),
                "a secret shows: {}",
                run.all()
            );
        }
    }
}
