//! Coexistence with the other clients that make JetStream assets: nats-py
//! (pinned in scripts/tools.sh, run from `$JETSYNC_VENV`), async-nats's own
//! helpers, the JSON configs `nats stream add --config` / `nats consumer add
//! --config` send, and the configs NACK sends for its custom resources
//! (jsm.go's `DefaultStream` and consumer defaults under NACK's
//! `streamSpecToConfig`/`consumerSpecToConfig`; nats.go's KV and object store
//! shapes for its `KeyValue`/`ObjectStore`). One server per test file run;
//! scripts/test runs it on the oldest and the newest supported server.
//!
//! For every client: manifests written as the README teaches → `plan
//! --adopt` shows adoptions without a single differing field → `apply
//! --adopt` exits 0 → `plan --detailed-exitcode` exits 0 → no config, state
//! or message on the server changed but jetsync's ownership markers → the
//! `export --all` taken before the adoption applies as written, plans empty,
//! and a new export prints the same bytes.

#[path = "support/cli.rs"]
mod cli;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cli::{Run, jetsync, write};

use async_nats::jetstream::{self, consumer, kv, object_store, stream};
use serde_json::{Value, json};
use support::NatsServer;

/// The venv scripts/test installs nats-py into; None (skipped) outside CI.
fn venv() -> Option<PathBuf> {
    match std::env::var_os("JETSYNC_VENV").map(PathBuf::from) {
        Some(path) if path.join("bin/python").exists() => Some(path),
        _ if support::in_ci() => panic!("JETSYNC_VENV must point at the test venv in CI"),
        _ => {
            eprintln!("SKIPPED: JETSYNC_VENV not set (scripts/test installs nats-py)");
            None
        }
    }
}

async fn api(client: &async_nats::Client, subject: &str, body: Value) -> Value {
    let answer = support::js_api(client, subject, body.clone()).await;
    assert!(answer.get("error").is_none(), "{subject} {body}: {answer}");
    answer
}

// ---------------------------------------------------------------- nats-py

/// nats-py 2.16 as its users write it: defaults, and the options the
/// guides use. Also a stream and a consumer no manifest declares.
const NATS_PY: &str = r#"
import asyncio, sys
import nats
from nats.js.api import (AckPolicy, ConsumerConfig, DiscardPolicy, KeyValueConfig,
                         RetentionPolicy, StorageType, StreamConfig)

async def main(url):
    nc = await nats.connect(url)
    js = nc.jetstream()
    kv = await js.create_key_value(bucket="py_defaults")
    await kv.put("greeting", b"hello")
    await js.create_key_value(KeyValueConfig(
        bucket="py_tuned", description="feature flags", history=5, ttl=3600,
        max_value_size=1024, max_bytes=1048576, storage=StorageType.MEMORY,
        replicas=1, direct=True))
    store = await js.create_object_store("py_files")
    await store.put("readme", b"some bytes")
    await js.add_stream(name="PY_ORDERS", subjects=["py.orders.>"])
    await js.add_stream(StreamConfig(
        name="PY_JOBS", subjects=["py.jobs.>"], retention=RetentionPolicy.WORK_QUEUE,
        discard=DiscardPolicy.NEW, max_age=86400, num_replicas=1))
    await js.add_consumer("PY_ORDERS", ConsumerConfig(
        durable_name="worker", ack_policy=AckPolicy.EXPLICIT, max_deliver=5, ack_wait=45,
        max_ack_pending=100, filter_subject="py.orders.eu"))
    await js.add_consumer("PY_ORDERS", ConsumerConfig(
        durable_name="pusher", deliver_subject="py.deliver.orders"))
    await js.add_consumer("PY_ORDERS", ConsumerConfig(
        durable_name="auditor", ack_policy=AckPolicy.ALL,
        filter_subjects=["py.orders.eu", "py.orders.us"]))
    await js.add_consumer("PY_JOBS", ConsumerConfig(durable_name="jobs"))
    await js.add_stream(name="PY_UNDECLARED", subjects=["py.undeclared.>"])
    await js.add_consumer("PY_ORDERS", ConsumerConfig(durable_name="someone_elses"))
    for i in range(3):
        await js.publish("py.orders.eu", b"order %d" % i)
        await js.publish("py.undeclared.x", b"x")
    await nc.close()

asyncio.run(main(sys.argv[1]))
"#;

const NATS_PY_MANIFESTS: &str = r#"
apiVersion: jetsync.dev/v1alpha1
kind: KeyValue
metadata:
  name: py-defaults
spec:
  name: py_defaults
---
apiVersion: jetsync.dev/v1alpha1
kind: KeyValue
metadata:
  name: py-tuned
spec:
  name: py_tuned
  description: feature flags
  history: 5
  ttl: 1h
  maxValueSize: 1KiB
  maxBytes: 1MiB
  storage: memory
---
apiVersion: jetsync.dev/v1alpha1
kind: ObjectStore
metadata:
  name: py-files
spec:
  name: py_files
---
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: py-orders
spec:
  name: PY_ORDERS
  subjects: ["py.orders.>"]
---
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: py-jobs
spec:
  name: PY_JOBS
  subjects: ["py.jobs.>"]
  retention: workqueue
  discard: new
  maxAge: 1d
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: py-orders-worker
spec:
  streamName: PY_ORDERS
  name: worker
  maxDeliver: 5
  ackWait: 45s
  maxAckPending: 100
  filterSubject: py.orders.eu
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: py-orders-pusher
spec:
  streamName: PY_ORDERS
  name: pusher
  deliverSubject: py.deliver.orders
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: py-orders-auditor
spec:
  streamName: PY_ORDERS
  name: auditor
  ackPolicy: all
  filterSubjects: ["py.orders.eu", "py.orders.us"]
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: py-jobs
spec:
  streamName: PY_JOBS
  name: jobs
"#;

fn make_with_nats_py(venv: &Path, url: &str) {
    let output = Command::new(venv.join("bin/python"))
        .args(["-c", NATS_PY, url])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "nats-py failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---------------------------------------------------------------- async-nats

const ASYNC_NATS_MANIFESTS: &str = r#"
apiVersion: jetsync.dev/v1alpha1
kind: KeyValue
metadata:
  name: rs-defaults
spec:
  name: rs_defaults
---
apiVersion: jetsync.dev/v1alpha1
kind: KeyValue
metadata:
  name: rs-sessions
spec:
  name: rs_sessions
  description: sessions
  history: 3
  ttl: 10m
  maxValueSize: 2KiB
  maxBytes: 10MiB
  compression: true
---
apiVersion: jetsync.dev/v1alpha1
kind: ObjectStore
metadata:
  name: rs-files
spec:
  name: rs_files
  description: build outputs
---
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: rs-events
spec:
  name: RS_EVENTS
  subjects: ["rs.events.>"]
  maxAge: 7d
  maxBytes: 1GiB
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: rs-events-reader
spec:
  streamName: RS_EVENTS
  name: reader
  filterSubject: rs.events.a
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: rs-events-pusher
spec:
  streamName: RS_EVENTS
  name: pusher
  deliverSubject: rs.deliver.events
  deliverGroup: workers
"#;

async fn make_with_async_nats(js: &jetstream::Context) {
    let bucket = js
        .create_key_value(kv::Config {
            bucket: "rs_defaults".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    bucket.put("k", "v".into()).await.unwrap();
    js.create_key_value(kv::Config {
        bucket: "rs_sessions".into(),
        description: "sessions".into(),
        history: 3,
        max_age: Duration::from_secs(600),
        max_value_size: 2048,
        max_bytes: 10 << 20,
        compression: true,
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_object_store(object_store::Config {
        bucket: "rs_files".into(),
        description: Some("build outputs".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let events = js
        .get_or_create_stream(stream::Config {
            name: "RS_EVENTS".into(),
            subjects: vec!["rs.events.>".into()],
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_bytes: 1 << 30,
            ..Default::default()
        })
        .await
        .unwrap();
    events
        .create_consumer(consumer::pull::Config {
            durable_name: Some("reader".into()),
            filter_subject: "rs.events.a".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    events
        .create_consumer(consumer::push::Config {
            durable_name: Some("pusher".into()),
            deliver_subject: "rs.deliver.events".into(),
            deliver_group: Some("workers".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    for _ in 0..2 {
        js.publish("rs.events.a", "event".into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

// ---------------------------------------------------------------- nats CLI

/// What `nats stream add --config cli_events.json` sends: the file as
/// `nats stream info --json` writes a config (durations in nanoseconds,
/// every limit spelled out, the CLI's default of direct gets on).
fn cli_stream() -> Value {
    json!({
        "name": "CLI_EVENTS",
        "subjects": ["cli.events.>"],
        "retention": "limits",
        "max_consumers": -1,
        "max_msgs_per_subject": -1,
        "max_msgs": -1,
        "max_bytes": -1,
        "max_age": 86_400_000_000_000u64,
        "max_msg_size": -1,
        "storage": "file",
        "discard": "old",
        "num_replicas": 1,
        "duplicate_window": 120_000_000_000u64,
        "sealed": false,
        "deny_delete": false,
        "deny_purge": false,
        "allow_rollup_hdrs": false,
        "allow_direct": true,
        "mirror_direct": false,
        "compression": "none"
    })
}

/// What `nats consumer add CLI_EVENTS --config <file>` sends for a pull and
/// a push consumer: the CLI's defaults written out.
fn cli_consumers() -> [Value; 2] {
    let base = json!({
        "deliver_policy": "all",
        "ack_policy": "explicit",
        "ack_wait": 30_000_000_000u64,
        "max_deliver": -1,
        "replay_policy": "instant",
        "max_ack_pending": 1000,
        "num_replicas": 0
    });
    let mut pull = base.clone();
    pull["durable_name"] = json!("cli_worker");
    pull["filter_subject"] = json!("cli.events.eu");
    pull["max_waiting"] = json!(512);
    let mut push = base;
    push["durable_name"] = json!("cli_push");
    push["deliver_subject"] = json!("cli.deliver.events");
    push["idle_heartbeat"] = json!(5_000_000_000u64);
    push["flow_control"] = json!(true);
    [pull, push]
}

const CLI_MANIFESTS: &str = r#"
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: cli-events
spec:
  name: CLI_EVENTS
  subjects: ["cli.events.>"]
  maxAge: 1d
  allowDirect: true
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: cli-events-worker
spec:
  streamName: CLI_EVENTS
  name: cli_worker
  filterSubject: cli.events.eu
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: cli-events-push
spec:
  streamName: CLI_EVENTS
  name: cli_push
  deliverSubject: cli.deliver.events
  idleHeartbeat: 5s
  flowControl: true
"#;

// ---------------------------------------------------------------- NACK

/// What NACK sends for a `Stream` CR with only name, subjects and storage:
/// jsm.go's `DefaultStream` (limits, discard old, a max age of one year)
/// with NACK's zero values for the limits it does not set.
fn nack_stream() -> Value {
    json!({
        "name": "NACK_ORDERS",
        "subjects": ["nack.orders.*"],
        "retention": "limits",
        "max_consumers": 0,
        "max_msgs_per_subject": -1,
        "max_msgs": 0,
        "max_bytes": 0,
        "max_age": 31_536_000_000_000_000u64,
        "max_msg_size": 0,
        "storage": "file",
        "discard": "old",
        "num_replicas": 1,
        "duplicate_window": 0,
        "sealed": false,
        "deny_delete": false,
        "deny_purge": false,
        "allow_rollup_hdrs": false,
        "allow_direct": false
    })
}

/// NACK `Consumer` CRs, pull and push: jsm.go's consumer defaults (deliver
/// all, explicit acks, 30s ack wait, instant replay) with NACK's zero
/// `maxAckPending`/`maxWaiting` left for the server to fill.
fn nack_consumers() -> [Value; 2] {
    let base = json!({
        "deliver_policy": "all",
        "ack_policy": "explicit",
        "ack_wait": 30_000_000_000u64,
        "replay_policy": "instant",
        "max_ack_pending": 0,
        "num_replicas": 0
    });
    let mut pull = base.clone();
    pull["durable_name"] = json!("nack_pull");
    pull["filter_subject"] = json!("nack.orders.created");
    pull["max_waiting"] = json!(0);
    let mut push = base;
    push["durable_name"] = json!("nack_push");
    push["deliver_subject"] = json!("nack.deliver");
    push["deliver_group"] = json!("nack-workers");
    [pull, push]
}

/// NACK's `KeyValue` and `ObjectStore` go through nats.go's
/// `CreateKeyValue`/`CreateObjectStore`: their backing streams as nats.go
/// shapes them.
fn nack_buckets() -> [Value; 2] {
    [
        json!({
            "name": "KV_nack_cache",
            "subjects": ["$KV.nack_cache.>"],
            "max_msgs_per_subject": 3,
            "max_msgs": -1,
            "max_consumers": -1,
            "max_bytes": -1,
            "max_age": 0,
            "max_msg_size": -1,
            "storage": "file",
            "num_replicas": 1,
            "discard": "new",
            "duplicate_window": 120_000_000_000u64,
            "allow_rollup_hdrs": true,
            "deny_delete": true,
            "allow_direct": true
        }),
        json!({
            "name": "OBJ_nack_blobs",
            "subjects": ["$O.nack_blobs.C.>", "$O.nack_blobs.M.>"],
            "max_age": 0,
            "max_bytes": -1,
            "storage": "file",
            "num_replicas": 1,
            "discard": "new",
            "allow_rollup_hdrs": true,
            "allow_direct": true
        }),
    ]
}

const NACK_MANIFESTS: &str = r#"
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: nack-orders
spec:
  name: NACK_ORDERS
  subjects: ["nack.orders.*"]
  maxAge: 365d
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: nack-orders-pull
spec:
  streamName: NACK_ORDERS
  name: nack_pull
  filterSubject: nack.orders.created
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: nack-orders-push
spec:
  streamName: NACK_ORDERS
  name: nack_push
  deliverSubject: nack.deliver
  deliverGroup: nack-workers
---
apiVersion: jetsync.dev/v1alpha1
kind: KeyValue
metadata:
  name: nack-cache
spec:
  name: nack_cache
  history: 3
---
apiVersion: jetsync.dev/v1alpha1
kind: ObjectStore
metadata:
  name: nack-blobs
spec:
  name: nack_blobs
"#;

async fn make_with_cli_and_nack_json(client: &async_nats::Client) {
    for config in [cli_stream(), nack_stream()]
        .into_iter()
        .chain(nack_buckets())
    {
        let name = config["name"].as_str().unwrap().to_string();
        api(client, &format!("STREAM.CREATE.{name}"), config).await;
    }
    let consumers = cli_consumers()
        .map(|config| ("CLI_EVENTS", config))
        .into_iter()
        .chain(nack_consumers().map(|config| ("NACK_ORDERS", config)));
    for (stream, config) in consumers {
        let name = config["durable_name"].as_str().unwrap().to_string();
        let body = json!({ "stream_name": stream, "config": config });
        api(client, &format!("CONSUMER.CREATE.{stream}.{name}"), body).await;
    }
    let js = jetstream::new(client.clone());
    for subject in ["cli.events.eu", "nack.orders.created"] {
        js.publish(subject, "m".into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

// ---------------------------------------------------------------- the server's state

/// Every stream and consumer (`support::server_state`), with what each
/// stream holds.
async fn server_state(client: &async_nats::Client) -> BTreeMap<String, Value> {
    support::server_state(
        client,
        |_, held| {
            json!({ "messages": held["messages"], "bytes": held["bytes"],
                    "last_seq": held["last_seq"], "consumers": held["consumer_count"] })
        },
        |config| {
            // nats-server 2.10 stores no `name` for a durable made through
            // `CONSUMER.DURABLE.CREATE` (nats-py) until it is updated.
            if config.get("name") == config.get("durable_name") {
                config.as_object_mut().unwrap().remove("name");
            }
            true
        },
    )
    .await
}

/// The assets whose config or state differs between two snapshots, with
/// both sides.
fn changed(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| {
            format!(
                "{key}:\n  before {:?}\n  after  {:?}",
                before.get(key),
                after.get(key)
            )
        })
        .collect()
}

#[tokio::test]
async fn assets_made_by_other_clients_adopt_without_a_change_and_export_as_a_fixed_point() {
    let Some(venv) = venv() else { return };
    let server = require_nats!();
    let url = server.url();
    let client = support::client(&url).await;
    let js = jetstream::new(client.clone());

    make_with_nats_py(&venv, &url);
    make_with_async_nats(&js).await;
    make_with_cli_and_nack_json(&client).await;
    let made = server_state(&client).await;

    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // The export a user takes before adopting anything.
    let exported = jetsync(dir, &url, &["export", "--all"]);
    assert_eq!(exported.code, 0, "{}", exported.all());
    write(dir, "exported/all.yaml", &exported.stdout);
    for (file, text) in [
        ("nats-py.yaml", NATS_PY_MANIFESTS),
        ("async-nats.yaml", ASYNC_NATS_MANIFESTS),
        ("nats-cli.yaml", CLI_MANIFESTS),
        ("nack.yaml", NACK_MANIFESTS),
    ] {
        write(dir, &format!("declared/{file}"), text);
    }

    // Every declared asset is an adoption without one differing field.
    let plan = jetsync(
        dir,
        &url,
        &["plan", "--adopt", "--output", "json", "-f", "declared"],
    );
    assert_eq!(plan.code, 0, "{}", plan.all());
    let document: Value = serde_json::from_str(&plan.stdout).unwrap();
    let changes = document["changes"].as_array().unwrap();
    let addresses: Vec<&str> = changes
        .iter()
        .map(|change| change["address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses.len(), 23, "{addresses:?}");
    let mut differing = Vec::new();
    for change in changes {
        assert_eq!(change["action"], "adopt", "{change:#}");
        if change["diff"] != json!([]) {
            differing.push(format!("{}: {}", change["address"], change["diff"]));
        }
    }
    assert!(
        differing.is_empty(),
        "on nats-server {}, manifests that match plan differences:\n{}",
        server.version(),
        differing.join("\n")
    );

    // A real difference is shown, and only it: not the client's choices.
    write(
        dir,
        "variant/py-tuned.yaml",
        &NATS_PY_MANIFESTS.replace("history: 5", "history: 7"),
    );
    let plan = jetsync(
        dir,
        &url,
        &["plan", "--adopt", "--output", "json", "-f", "variant"],
    );
    assert_eq!(plan.code, 0, "{}", plan.all());
    let document: Value = serde_json::from_str(&plan.stdout).unwrap();
    let diffs: Vec<(String, Vec<String>)> = document["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["diff"] != json!([]))
        .map(|change| {
            let paths = change["diff"].as_array().unwrap().iter();
            let paths = paths.map(|d| d["path"].as_str().unwrap().to_string());
            (
                change["address"].as_str().unwrap().to_string(),
                paths.collect(),
            )
        })
        .collect();
    assert_eq!(
        diffs,
        [("kv/py_tuned".to_string(), vec!["history".to_string()])]
    );

    let apply = jetsync(dir, &url, &["apply", "--adopt", "--yes", "-f", "declared"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let again = jetsync(
        dir,
        &url,
        &["plan", "--detailed-exitcode", "-f", "declared"],
    );
    assert_eq!(again.code, 0, "{}", again.all());
    let changes = changed(&made, &server_state(&client).await);
    assert!(
        changes.is_empty(),
        "adopting changed something besides jetsync's markers on nats-server {}:\n{}",
        server.version(),
        changes.join("\n")
    );

    // The export taken before applies as written (its documents say
    // adopt: true), plans empty, changes nothing, and exports the same.
    let apply = jetsync(dir, &url, &["apply", "--yes", "-f", "exported"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.all(), exported.stdout);
    let again = jetsync(
        dir,
        &url,
        &["plan", "--detailed-exitcode", "-f", "exported"],
    );
    assert_eq!(again.code, 0, "{}", again.all());
    let changes = changed(&made, &server_state(&client).await);
    assert!(changes.is_empty(), "{}", changes.join("\n"));
    let reexported = jetsync(dir, &url, &["export", "--all"]);
    assert_eq!(reexported.code, 0, "{}", reexported.all());
    assert_eq!(
        reexported.stdout, exported.stdout,
        "export is not a fixed point"
    );
}

// ---------------------------------------------------------------- mirror direct gets

/// An origin with direct gets and a KV bucket (direct gets on, as nats.go
/// makes it).
const MIRROR_DIRECT_ORIGINS: &str = r#"
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: md-origin
spec:
  name: MD_ORIGIN
  subjects: ["md.>"]
  allowDirect: true
---
apiVersion: jetsync.dev/v1alpha1
kind: KeyValue
metadata:
  name: md-base
spec:
  name: md_base
"#;

/// A mirror of each, neither saying `mirrorDirect`.
const MIRROR_DIRECT_MIRRORS: &str = r#"
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: md-mirror
spec:
  name: MD_MIRROR
  mirror: {name: MD_ORIGIN}
---
apiVersion: jetsync.dev/v1alpha1
kind: KeyValue
metadata:
  name: md-copy
spec:
  name: md_copy
  mirror: {name: md_base}
"#;

/// The mirror another client made, as the manifest for it says it.
const MIRROR_DIRECT_ADOPTED: &str = r#"
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: md-other
spec:
  name: MD_OTHER
  mirror: {name: MD_ORIGIN}
"#;

#[tokio::test]
async fn the_servers_mirror_direct_for_a_local_mirror_is_no_difference_but_a_declared_one_is() {
    let server = require_nats!();
    let url = server.url();
    let client = support::client(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // The origins first: a mirror made before its origin exists gets no
    // mirror_direct from the server.
    write(dir, "m/origins.yaml", MIRROR_DIRECT_ORIGINS);
    let apply = jetsync(dir, &url, &["apply", "--yes", "-f", "m"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    write(dir, "m/mirrors.yaml", MIRROR_DIRECT_MIRRORS);

    // Applied by jetsync: the server turns mirror_direct on by itself.
    let apply = jetsync(dir, &url, &["apply", "--yes", "-f", "m"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let mirror = api(&client, "STREAM.INFO.MD_MIRROR", Value::Null).await;
    assert_eq!(mirror["config"]["mirror_direct"], true, "{mirror}");
    let copy = api(&client, "STREAM.INFO.KV_md_copy", Value::Null).await;
    assert_eq!(copy["config"]["mirror_direct"], true, "{copy}");
    let again = jetsync(dir, &url, &["plan", "--detailed-exitcode", "-f", "m"]);
    assert_eq!(again.code, 0, "{}", again.all());

    // The same mirror made by another client (the nats CLI's JSON) adopts
    // without a differing field.
    let made = api(
        &client,
        "STREAM.CREATE.MD_OTHER",
        json!({"name": "MD_OTHER", "mirror": {"name": "MD_ORIGIN"}, "storage": "file",
               "retention": "limits", "num_replicas": 1, "discard": "old"}),
    )
    .await;
    assert_eq!(made["config"]["mirror_direct"], true, "{made}");
    write(dir, "m/other.yaml", MIRROR_DIRECT_ADOPTED);
    let plan = jetsync(
        dir,
        &url,
        &["plan", "--adopt", "--output", "json", "-f", "m"],
    );
    assert_eq!(plan.code, 0, "{}", plan.all());
    let document: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(
        document["changes"].as_array().unwrap().len(),
        1,
        "{document:#}"
    );
    let change = first_change(&plan);
    assert_eq!(change["address"], "stream/MD_OTHER", "{change:#}");
    assert_eq!(change["action"], "adopt", "{change:#}");
    assert_eq!(change["diff"], json!([]), "{change:#}");
    let adopt = jetsync(dir, &url, &["apply", "--adopt", "--yes", "-f", "m"]);
    assert_eq!(adopt.code, 0, "{}", adopt.all());
    let again = jetsync(dir, &url, &["plan", "--detailed-exitcode", "-f", "m"]);
    assert_eq!(again.code, 0, "{}", again.all());

    // A declared mirrorDirect is compared as written.
    write(
        dir,
        "m/mirrors.yaml",
        &MIRROR_DIRECT_MIRRORS.replace(
            "  mirror: {name: MD_ORIGIN}\n",
            "  mirror: {name: MD_ORIGIN}\n  mirrorDirect: false\n",
        ),
    );
    let plan = jetsync(dir, &url, &["plan", "--output", "json", "-f", "m"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let document: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(
        document["changes"].as_array().unwrap().len(),
        1,
        "{document:#}"
    );
    let change = first_change(&plan);
    assert_eq!(change["address"], "stream/MD_MIRROR", "{change:#}");
    let paths: Vec<&str> = change["diff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["mirrorDirect"], "{change:#}");
}

// ---------------------------------------------------------------- flow_control acks

const FLOW_CONTROL_MANIFESTS: &str = r#"
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: fc-origin
spec:
  name: FC_ORIGIN
  subjects: ["fc.>"]
  retention: workqueue
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: fc-origin-sourcing
spec:
  streamName: FC_ORIGIN
  name: sourcing
  ackPolicy: flowControl
  deliverSubject: sourced.fc
  maxAckPending: 500
"#;

fn first_change(run: &Run) -> Value {
    let document: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not a JSON plan ({e}): {}", run.all()));
    document["changes"][0].clone()
}

#[tokio::test]
async fn the_flow_control_ack_policy_applies_exports_and_changes_as_the_server_allows() {
    let server = require_nats!();
    let url = server.url();
    let client = support::client(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, "m/fc.yaml", FLOW_CONTROL_MANIFESTS);

    let minor: u32 = server.version().split('.').nth(1).unwrap().parse().unwrap();
    if minor < 14 {
        // Refused by name with the first version that has it; nothing written.
        for args in [&["plan", "-f", "m"][..], &["apply", "--yes", "-f", "m"][..]] {
            let run = jetsync(dir, &url, args);
            assert_eq!(run.code, 1, "{}", run.all());
            assert!(
                run.all()
                    .contains("ackPolicy: flowControl needs nats-server 2.14"),
                "{}",
                run.all()
            );
        }
        let info = support::js_api(&client, "STREAM.INFO.FC_ORIGIN", Value::Null).await;
        assert_eq!(
            info["error"]["err_code"], 10059,
            "nothing is written: {info}"
        );
        return;
    }

    let apply = jetsync(dir, &url, &["apply", "--yes", "-f", "m"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let consumer = support::js_api(&client, "CONSUMER.INFO.FC_ORIGIN.sourcing", Value::Null).await;
    assert_eq!(
        consumer["config"]["ack_policy"], "flow_control",
        "{consumer}"
    );
    // The server's flow control and 1s heartbeats are no difference.
    let again = jetsync(dir, &url, &["plan", "--detailed-exitcode", "-f", "m"]);
    assert_eq!(again.code, 0, "{}", again.all());

    let exported = jetsync(dir, &url, &["export"]);
    assert_eq!(exported.code, 0, "{}", exported.all());
    assert!(
        exported.stdout.contains("ackPolicy: flowControl"),
        "{}",
        exported.stdout
    );
    assert!(
        !exported.stdout.contains("idleHeartbeat"),
        "{}",
        exported.stdout
    );
    write(dir, "exported/all.yaml", &exported.stdout);
    let planned = jetsync(
        dir,
        &url,
        &["plan", "--detailed-exitcode", "-f", "exported"],
    );
    assert_eq!(planned.code, 0, "{}", planned.all());

    // maxAckPending changes in place.
    write(
        dir,
        "m/fc.yaml",
        &FLOW_CONTROL_MANIFESTS.replace("500", "600"),
    );
    let plan = jetsync(dir, &url, &["plan", "--output", "json", "-f", "m"]);
    let change = first_change(&plan);
    assert_eq!(change["action"], "update", "{change:#}");
    assert_eq!(change["diff"][0]["path"], "maxAckPending");
    assert_eq!(jetsync(dir, &url, &["apply", "--yes", "-f", "m"]).code, 0);
    let consumer = support::js_api(&client, "CONSUMER.INFO.FC_ORIGIN.sourcing", Value::Null).await;
    assert_eq!(consumer["config"]["max_ack_pending"], 600, "{consumer}");

    // The ack policy does not (nats-server: "ack policy can not be updated").
    write(
        dir,
        "m/fc.yaml",
        &FLOW_CONTROL_MANIFESTS.replace("flowControl", "explicit"),
    );
    let plan = jetsync(dir, &url, &["plan", "--output", "json", "-f", "m"]);
    let change = first_change(&plan);
    assert_eq!(change["action"], "replace", "{change:#}");
    assert_eq!(change["diff"][0]["path"], "ackPolicy");
    assert_eq!(change["diff"][0]["forces_replacement"], true);
    let refused = jetsync(dir, &url, &["apply", "--yes", "-f", "m"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    let replaced = jetsync(dir, &url, &["apply", "--yes", "--allow-replace", "-f", "m"]);
    assert_eq!(replaced.code, 0, "{}", replaced.all());
    let consumer = support::js_api(&client, "CONSUMER.INFO.FC_ORIGIN.sourcing", Value::Null).await;
    assert_eq!(consumer["config"]["ack_policy"], "explicit", "{consumer}");
}

// ---------------------------------------------------------------- least privilege

const LEAST_PRIVILEGE_MANIFESTS: &str = r#"
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: lp-orders
spec:
  name: LP_ORDERS
  subjects: ["lp.orders.>"]
  maxAge: 1h
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: lp-orders-worker
spec:
  streamName: LP_ORDERS
  name: worker
---
apiVersion: jetsync.dev/v1alpha1
kind: KeyValue
metadata:
  name: lp-config
spec:
  name: lp_config
  history: 3
"#;

/// A user who may read and write exactly the declared assets, as the NATS
/// security guides recommend, and an administrator.
const LEAST_PRIVILEGE_USERS: &str = r#"
authorization { users: [
  { user: admin, password: admin }
  { user: owner, password: owner, permissions: {
      publish: [
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.LP_ORDERS", "$JS.API.STREAM.CREATE.LP_ORDERS",
        "$JS.API.STREAM.UPDATE.LP_ORDERS",
        "$JS.API.STREAM.INFO.KV_lp_config", "$JS.API.STREAM.CREATE.KV_lp_config",
        "$JS.API.STREAM.UPDATE.KV_lp_config",
        "$JS.API.CONSUMER.INFO.LP_ORDERS.worker", "$JS.API.CONSUMER.CREATE.LP_ORDERS.worker"
      ]
      subscribe: ["_INBOX.>"] } }
] }
"#;

const LISTING_DENIED: &str = "listing the account's streams and consumers is not permitted";

#[tokio::test]
async fn credentials_that_may_only_read_the_declared_assets_plan_and_apply_but_never_prune() {
    let server = require_nats!(NatsServer::builder().config_extra(LEAST_PRIVILEGE_USERS));
    let url = server.url();
    let admin = async_nats::ConnectOptions::with_user_and_password("admin".into(), "admin".into())
        .connect(&url)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, "m/lp.yaml", LEAST_PRIVILEGE_MANIFESTS);
    let owner = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--user", "owner", "--password", "owner"]);
        jetsync(dir, &url, &all)
    };
    let said_once = |run: &Run| {
        assert_eq!(
            run.stderr.matches(LISTING_DENIED).count(),
            1,
            "{}",
            run.all()
        );
    };

    let apply = owner(&["apply", "--yes", "-f", "m"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    said_once(&apply);
    let info = support::js_api(&admin, "STREAM.INFO.KV_lp_config", Value::Null).await;
    assert_eq!(info["config"]["max_msgs_per_subject"], 3, "{info}");
    let plan = owner(&["plan", "--detailed-exitcode", "-f", "m"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    said_once(&plan);

    // A change plans and applies through INFO and UPDATE alone.
    write(
        dir,
        "m/lp.yaml",
        &LEAST_PRIVILEGE_MANIFESTS.replace("maxAge: 1h", "maxAge: 2h"),
    );
    let plan = owner(&["plan", "--detailed-exitcode", "-f", "m"]);
    assert_eq!(plan.code, 2, "{}", plan.all());

    // --prune cannot see what else the owner manages: refused, nothing written.
    let pruned = owner(&["apply", "--yes", "--prune", "-f", "m"]);
    assert_eq!(pruned.code, 1, "{}", pruned.all());
    assert!(
        pruned.stderr.contains("--prune") && pruned.stderr.contains(LISTING_DENIED),
        "{}",
        pruned.all()
    );
    let info = support::js_api(&admin, "STREAM.INFO.LP_ORDERS", Value::Null).await;
    assert_eq!(info["config"]["max_age"], 3_600_000_000_000u64, "{info}");

    // A saved plan is made and checked for staleness the same way.
    let saved = owner(&["plan", "--out", "plan.json", "-f", "m"]);
    assert_eq!(saved.code, 0, "{}", saved.all());
    let apply = owner(&["apply", "--yes", "plan.json"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let info = support::js_api(&admin, "STREAM.INFO.LP_ORDERS", Value::Null).await;
    assert_eq!(info["config"]["max_age"], 7_200_000_000_000u64, "{info}");
    let stale = owner(&["apply", "--yes", "plan.json"]);
    assert_eq!(stale.code, 1, "{}", stale.all());
    assert!(stale.stderr.contains("plan is stale"), "{}", stale.all());
}
