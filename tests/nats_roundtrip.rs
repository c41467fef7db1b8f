//! A spec sent as jetsync's wire config and read back from a real server
//! compares equal after normalisation: the ground for "apply, then plan is
//! empty". Runs on every supported server version; specs using fields newer
//! than the server are left out there.

mod support;

use jetsync::plan::wire::model::to_value;
use std::sync::Arc;

use jetsync::diagnostics::SourceText;
use jetsync::manifest;
use jetsync::plan::{normalise, wire};
use jetsync::spec::AssetSpec;
use serde_json::{Value, json};
use support::NatsServer;

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

fn decode(yaml: &str) -> Vec<manifest::Declared> {
    let source = SourceText {
        name: "test.yaml".into(),
        text: Arc::from(yaml),
    };
    let manifests = manifest::load_sources(&[source]);
    assert!(manifests.is_valid(), "{:#?}", manifests.diagnostics);
    manifests.documents
}

fn version_at_least(server: &NatsServer, minor: u32) -> bool {
    let version = server.version();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, server_minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    major > 2 || (major == 2 && server_minor >= minor)
}

const DOC: &str = "apiVersion: jetsync.dev/v1alpha1\n";

/// Creates every document in order and checks each read-back config.
async fn assert_round_trip(server: &NatsServer, yaml: &str) {
    let client = connect(server).await;
    let mut stream_limits: std::collections::HashMap<String, Value> = Default::default();
    for declared in decode(yaml) {
        let name = declared.asset_name().to_string();
        let (desired, live) = match &declared.spec {
            AssetSpec::Stream(spec) => {
                let config = to_value(&wire::stream_config(&name, spec));
                let reply =
                    request(&client, format!("$JS.API.STREAM.CREATE.{name}"), &config).await;
                stream_limits.insert(name.clone(), reply["config"]["consumer_limits"].clone());
                (
                    normalise::normalise_stream(&config),
                    normalise::normalise_stream(&reply["config"]),
                )
            }
            AssetSpec::KeyValue(spec) => {
                let config = wire::kv_stream_config(&name, spec);
                let reply =
                    request(&client, format!("$JS.API.STREAM.CREATE.KV_{name}"), &config).await;
                (
                    normalise::normalise_stream(&config),
                    normalise::normalise_stream(&reply["config"]),
                )
            }
            AssetSpec::ObjectStore(spec) => {
                let config = to_value(&wire::object_store_stream_config(&name, spec));
                let reply = request(
                    &client,
                    format!("$JS.API.STREAM.CREATE.OBJ_{name}"),
                    &config,
                )
                .await;
                (
                    normalise::normalise_stream(&config),
                    normalise::normalise_stream(&reply["config"]),
                )
            }
            AssetSpec::Consumer(spec) => {
                let config = to_value(&wire::consumer_config(&name, spec));
                let body = json!({ "stream_name": spec.stream_name, "config": config, "action": "create" });
                let subject = format!("$JS.API.CONSUMER.CREATE.{}.{name}", spec.stream_name);
                let reply = request(&client, subject, &body).await;
                let limits = stream_limits.get(&spec.stream_name);
                (
                    normalise::normalise_consumer(&config, limits),
                    normalise::normalise_consumer(&reply["config"], limits),
                )
            }
            AssetSpec::NatsConnection(_) => continue,
        };
        let differences = normalise::differences(&desired, &live);
        assert!(
            differences.is_empty(),
            "{} {name} on nats-server {}: desired and live differ: {differences:#?}",
            declared.kind(),
            server.version()
        );
    }
}

#[tokio::test]
async fn the_examples_read_back_as_declared() {
    let server = require_nats!();
    let mut yaml = String::new();
    for file in [
        "streams/events.yaml",
        "streams/orders.yaml",
        "kv/config.yaml",
        "object-stores/artifacts.yaml",
    ] {
        yaml.push_str(
            &std::fs::read_to_string(format!("{}/examples/{file}", env!("CARGO_MANIFEST_DIR")))
                .unwrap(),
        );
        yaml.push_str("\n---\n");
    }
    assert_round_trip(&server, &yaml).await;
}

#[tokio::test]
async fn a_stream_with_only_a_name_reads_back_as_declared() {
    let server = require_nats!();
    assert_round_trip(
        &server,
        &format!("{DOC}kind: Stream\nmetadata: {{name: bare}}\nspec: {{}}\n"),
    )
    .await;
}

#[tokio::test]
async fn a_stream_using_every_2_10_field_reads_back_as_declared() {
    let server = require_nats!();
    let yaml = format!(
        "{DOC}kind: Stream\nmetadata: {{name: origin}}\nspec:\n  subjects: [\"origin.>\"]\n---\n\
         {DOC}kind: Stream\nmetadata: {{name: full}}\nspec:\n  name: FULL\n  description: every field\n  subjects: [\"b.*\", \"a.>\"]\n  retention: limits\n  storage: memory\n  replicas: 1\n  maxConsumers: 10\n  maxMsgs: 1000\n  maxBytes: 1MiB\n  maxMsgsPerSubject: 5\n  maxMsgSize: 1KiB\n  maxAge: 1h\n  discard: new\n  discardNewPerSubject: true\n  duplicateWindow: 30s\n  denyDelete: true\n  denyPurge: true\n  allowDirect: true\n  compression: s2\n  firstSequence: 100\n  republish: {{source: \"a.>\", destination: \"copy.a.>\", headersOnly: true}}\n  subjectTransform: {{source: \"b.*\", destination: \"bb.{{{{wildcard(1)}}}}\"}}\n  consumerLimits: {{inactiveThreshold: 1h, maxAckPending: 50}}\n  metadata: {{team: platform}}\n  sources:\n    - name: origin\n      filterSubject: origin.x\n---\n\
         {DOC}kind: Consumer\nmetadata: {{name: worker}}\nspec:\n  streamName: FULL\n  filterSubjects: [\"b.*\", \"a.>\"]\n  ackWait: 10s\n  maxDeliver: 4\n  backoff: [1s, 5s]\n  maxWaiting: 10\n  maxBatch: 100\n  maxExpires: 30s\n  maxBytes: 1MiB\n  headersOnly: true\n  sampleFreq: 50\n  metadata: {{a: b}}\n---\n\
         {DOC}kind: Consumer\nmetadata: {{name: pusher}}\nspec:\n  streamName: FULL\n  deliverSubject: deliver.full\n  deliverPolicy: new\n  ackPolicy: all\n  idleHeartbeat: 5s\n  flowControl: true\n  rateLimitBps: 1000000\n  replayPolicy: instant\n"
    );
    assert_round_trip(&server, &yaml).await;
}

#[tokio::test]
async fn kv_buckets_with_mirror_sources_and_limits_read_back_as_declared() {
    let server = require_nats!();
    let yaml = format!(
        "{DOC}kind: KeyValue\nmetadata: {{name: base}}\nspec:\n  history: 10\n  ttl: 30s\n  maxValueSize: 4KiB\n  maxBytes: 1GiB\n  compression: true\n  metadata: {{owner: me}}\n---\n\
         {DOC}kind: KeyValue\nmetadata: {{name: copy}}\nspec:\n  mirror: {{name: base}}\n---\n\
         {DOC}kind: KeyValue\nmetadata: {{name: merged}}\nspec:\n  sources: [{{name: base}}]\n"
    );
    assert_round_trip(&server, &yaml).await;
}

#[tokio::test]
async fn fields_from_2_11_on_read_back_as_declared() {
    let server = require_nats!();
    if !version_at_least(&server, 11) {
        eprintln!("nats-server {} predates these fields", server.version());
        return;
    }
    let yaml = format!(
        "{DOC}kind: Stream\nmetadata: {{name: ttl}}\nspec:\n  allowMsgTtl: true\n  subjectDeleteMarkerTtl: 5m\n  maxAge: 1h\n---\n\
         {DOC}kind: Consumer\nmetadata: {{name: pinned}}\nspec:\n  streamName: ttl\n  priorityGroups: [jobs]\n  priorityPolicy: pinnedClient\n---\n\
         {DOC}kind: KeyValue\nmetadata: {{name: markers}}\nspec:\n  ttl: 1h\n  limitMarkerTtl: 10s\n"
    );
    assert_round_trip(&server, &yaml).await;
}
