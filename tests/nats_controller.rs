//! The controller's reconcile logic against a real nats-server, with the
//! Kubernetes API side verified request by request by kube-rs's
//! `tower-test` mock (as kube-rs/controller-rs does): every request the
//! reconcile sends is checked against the expected method and path, in
//! order, answered as the API server would, and nothing else may be sent.

#[path = "support/controller.rs"]
mod controller_support;
mod support;

use std::sync::Arc;
use std::time::Duration;

use controller_support::{
    Kube, NAMESPACE, Object, api_requests, context_with, created, event, expect, not_found,
    requeue_secs, secret, secret_path,
};
use jetsync::controller::conditions::{events, reasons, types};
use jetsync::controller::reconcile::{FINALIZER, reconcile, reconcile_connection};
use jetsync::controller::{Context, Settings};
use jetsync::resources::{Consumer, KeyValue, NatsConnection, ObjectStore, Stream};
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use support::NatsServer;
use support::js_api as js;

fn context(server: &NatsServer) -> (Arc<Context>, Kube) {
    context_with(server, Settings::default())
}

async fn client(server: &NatsServer) -> async_nats::Client {
    support::client(&server.url()).await
}

async fn stream_info(client: &async_nats::Client, name: &str) -> Value {
    js(client, &format!("STREAM.INFO.{name}"), Value::Null).await
}

const HOUR: u64 = 3_600_000_000_000;

/// A stream resource taken through its first reconcile, which writes
/// nothing to NATS (observed, read-only): its status alone, as there is no
/// asset to clean up after.
async fn left_alone_stream(kube: &mut Kube, ctx: &Arc<Context>, orders: &Object) {
    kube.run_seen(
        vec![orders.writes_status()],
        reconcile(orders.get::<Stream>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();
}

/// A stream resource taken through its creation: the finalizer with the
/// address, the status, the Event.
async fn created_stream(kube: &mut Kube, ctx: &Arc<Context>, spec: Value) -> Object {
    let orders = Object::stream("orders", spec);
    created::<Stream>(kube, ctx, &orders).await;
    orders
}

fn orders_spec() -> Value {
    json!({"name": "ORDERS", "subjects": ["orders.>"], "maxAge": "1h"})
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn a_new_stream_is_created_and_reported_ready_in_three_api_writes() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = Object::stream("orders", orders_spec());

    let (action, seen) = kube
        .run_seen(
            orders.is_created(),
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    assert_eq!(
        seen.iter().filter(|s| s.is_write()).count(),
        3,
        "the finalizer with the address, the status, the Event: {seen:#?}"
    );
    assert_eq!(
        action.unwrap(),
        Action::await_change(),
        "in sync: the periodic listing re-checks it"
    );
    assert!(
        seen[1].query.contains("fieldManager=jetsync-controller")
            && seen[1].query.contains("force=true"),
        "status is server-side applied: {}",
        seen[1].query
    );

    let ready = orders.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", reasons::RECONCILED)
    );
    assert_eq!(orders.condition(types::RECONCILING).status, "False");
    assert_eq!(orders.condition(types::STALLED).status, "False");
    assert_eq!(orders.condition(types::DRIFTED).status, "False");
    assert_eq!(orders.status().observed_generation, Some(1));
    assert_eq!(
        orders.annotation("jetsync.dev/address").as_deref(),
        Some("stream/ORDERS")
    );
    assert!(
        seen[2].body["note"]
            .as_str()
            .unwrap()
            .contains("created stream stream/ORDERS")
    );
    let summary = orders
        .status()
        .summary
        .expect("the live counts are in status");
    assert_eq!((summary.messages, summary.bytes), (Some(0), Some(0)));
    assert!(summary.observed_at.is_some());

    let client = client(&nats).await;
    let info = stream_info(&client, "ORDERS").await;
    assert_eq!(
        info["config"]["metadata"]["jetsync.dev/owner"], "team-a/orders",
        "{info}"
    );
    assert_eq!(info["config"]["max_age"], json!(HOUR));

    // In sync at the next check: nothing is written, to NATS or Kubernetes,
    // and Ready keeps what the creation said.
    let (action, seen) = kube
        .run_seen(vec![], reconcile(orders.get::<Stream>(), ctx.clone()))
        .await;
    action.unwrap();
    assert!(seen.is_empty());
    assert_eq!(orders.condition(types::READY), ready);
    let text = ctx.metrics.encode();
    assert!(
        text.contains(r#"jetsync_managed_assets{kind="Stream"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"jetsync_reconciles_total{kind="Stream",result="ready"} 2"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_changed_spec_updates_the_stream_and_names_the_fields() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = created_stream(&mut kube, &ctx, orders_spec()).await;
    let since = orders.condition(types::READY).last_transition_time;

    orders.set_spec("maxAge", json!("2h"));
    let (action, seen) = kube
        .run_seen(
            vec![orders.writes_status(), event(events::UPDATED)],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();

    let ready = orders.condition(types::READY);
    assert!(
        ready.message.contains("maxAge: 1h → 2h"),
        "{}",
        ready.message
    );
    assert_eq!(ready.last_transition_time, since, "Ready stayed True");
    assert_eq!(orders.status().observed_generation, Some(2));
    assert!(
        seen[1].body["note"]
            .as_str()
            .unwrap()
            .contains("maxAge: 1h → 2h")
    );
    let client = client(&nats).await;
    assert_eq!(
        stream_info(&client, "ORDERS").await["config"]["max_age"],
        json!(2 * HOUR)
    );
}

#[tokio::test]
async fn drift_is_corrected_and_told_with_the_fields() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = created_stream(&mut kube, &ctx, orders_spec()).await;
    let client = client(&nats).await;
    let mut config = stream_info(&client, "ORDERS").await["config"].clone();
    config["max_age"] = json!(2 * HOUR);
    let updated = js(&client, "STREAM.UPDATE.ORDERS", config).await;
    assert!(updated.get("error").is_none(), "{updated}");

    let (action, seen) = kube
        .run_seen(
            vec![
                orders.writes_status(),
                event(events::DRIFT_DETECTED),
                event(events::DRIFT_CORRECTED),
            ],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();

    let drifted = orders.condition(types::DRIFTED);
    assert_eq!(
        (drifted.status.as_str(), drifted.reason.as_str()),
        ("False", reasons::DRIFT_CORRECTED)
    );
    assert!(
        drifted
            .message
            .contains("maxAge is 2h on the server, 1h in the spec"),
        "{}",
        drifted.message
    );
    assert!(seen[2].body["note"].as_str().unwrap().contains("maxAge"));
    assert_eq!(
        stream_info(&client, "ORDERS").await["config"]["max_age"],
        json!(HOUR)
    );
    assert!(
        ctx.metrics
            .encode()
            .contains(r#"jetsync_drift_corrected_total{kind="Stream"} 1"#)
    );

    // The next check finds it in sync again.
    let (action, _) = kube
        .run_seen(
            vec![orders.writes_status()],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    assert_eq!(orders.condition(types::DRIFTED).reason, reasons::IN_SYNC);
}

#[tokio::test]
async fn drift_is_reported_and_left_under_drift_policy_report() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let mut spec = orders_spec();
    spec["driftPolicy"] = json!("Report");
    let orders = created_stream(&mut kube, &ctx, spec).await;
    let client = client(&nats).await;
    let mut config = stream_info(&client, "ORDERS").await["config"].clone();
    config["max_age"] = json!(2 * HOUR);
    js(&client, "STREAM.UPDATE.ORDERS", config).await;

    let (action, _) = kube
        .run_seen(
            vec![orders.writes_status(), event(events::DRIFT_DETECTED)],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();

    let drifted = orders.condition(types::DRIFTED);
    assert_eq!(
        (drifted.status.as_str(), drifted.reason.as_str()),
        ("True", reasons::DRIFT_REPORTED)
    );
    assert!(
        drifted
            .message
            .contains("maxAge is 2h on the server, 1h in the spec"),
        "{}",
        drifted.message
    );
    assert_eq!(orders.condition(types::READY).status, "True");
    assert_eq!(
        stream_info(&client, "ORDERS").await["config"]["max_age"],
        json!(2 * HOUR)
    );

    // Still drifted at the next check: no new write, no new event.
    let (action, _) = kube
        .run(vec![], reconcile(orders.get::<Stream>(), ctx.clone()))
        .await;
    action.unwrap();
    assert_eq!(
        stream_info(&client, "ORDERS").await["config"]["max_age"],
        json!(2 * HOUR)
    );
}

#[tokio::test]
async fn an_immutable_change_stalls_until_recreate_is_allowed() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = created_stream(&mut kube, &ctx, orders_spec()).await;
    let client = client(&nats).await;
    // A request, so that the stream's acknowledgement says it is stored.
    client.request("orders.new", "one".into()).await.unwrap();

    orders.set_spec("storage", json!("memory"));
    let (action, _) = kube
        .run_seen(
            vec![orders.writes_status(), event(events::REPLACE_REFUSED)],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    let stalled = orders.condition(types::STALLED);
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", reasons::IMMUTABLE_FIELD_CHANGED)
    );
    assert!(
        stalled.message.contains("storage: file → memory"),
        "{}",
        stalled.message
    );
    assert!(
        stalled.message.contains("1 message(s)"),
        "{}",
        stalled.message
    );
    assert!(
        stalled.message.contains("onImmutableChange: Recreate"),
        "{}",
        stalled.message
    );
    assert_eq!(orders.condition(types::READY).status, "False");
    assert_eq!(
        stream_info(&client, "ORDERS").await["config"]["storage"],
        "file"
    );

    // Refused again at the next check: told once.
    let (action, _) = kube
        .run(vec![], reconcile(orders.get::<Stream>(), ctx.clone()))
        .await;
    action.unwrap();

    orders.set_spec("onImmutableChange", json!("Recreate"));
    let (action, seen) = kube
        .run_seen(
            vec![orders.writes_status(), event(events::REPLACED)],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    assert_eq!(seen[1].body["type"], "Warning");
    assert!(
        seen[1].body["note"]
            .as_str()
            .unwrap()
            .contains("losing 1 message(s)")
    );
    assert_eq!(orders.condition(types::READY).status, "True");
    assert_eq!(orders.condition(types::STALLED).status, "False");
    assert_eq!(
        stream_info(&client, "ORDERS").await["config"]["storage"],
        "memory"
    );
}

#[tokio::test]
async fn a_replacement_keeps_another_applications_consumer_only_with_consent() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let mut spec = orders_spec();
    spec["onImmutableChange"] = json!("Recreate");
    let orders = created_stream(&mut kube, &ctx, spec).await;
    let client = client(&nats).await;
    let made = js(
        &client,
        "CONSUMER.CREATE.ORDERS.billing",
        json!({"stream_name": "ORDERS", "config": {
            "durable_name": "billing", "ack_policy": "explicit", "description": "another application"
        }}),
    )
    .await;
    assert!(made.get("error").is_none(), "{made}");

    orders.set_spec("storage", json!("memory"));
    let (action, _) = kube
        .run_seen(
            vec![orders.writes_status(), event(events::REPLACE_REFUSED)],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    let stalled = orders.condition(types::STALLED);
    assert_eq!(stalled.status, "True");
    assert!(stalled.message.contains("`billing`"), "{}", stalled.message);
    assert!(
        stalled.message.contains("spec.unmanagedConsumers"),
        "{}",
        stalled.message
    );
    assert_eq!(
        stream_info(&client, "ORDERS").await["config"]["storage"],
        "file"
    );
    let kept = js(&client, "CONSUMER.INFO.ORDERS.billing", Value::Null).await;
    assert_eq!(kept["config"]["description"], "another application");

    orders.set_spec("unmanagedConsumers", json!("Recreate"));
    let (action, _) = kube
        .run_seen(
            vec![orders.writes_status(), event(events::REPLACED)],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    assert_eq!(orders.condition(types::READY).status, "True");
    assert_eq!(
        stream_info(&client, "ORDERS").await["config"]["storage"],
        "memory"
    );
    let restored = js(&client, "CONSUMER.INFO.ORDERS.billing", Value::Null).await;
    assert_eq!(restored["config"]["description"], "another application");
    let holder = js(&client, "STREAM.INFO.JETSYNC_RESTORE_ORDERS", Value::Null).await;
    assert!(
        holder.get("error").is_some(),
        "the holder is gone: {holder}"
    );
}

#[tokio::test]
async fn deleting_the_resource_deletes_the_stream_then_releases_the_finalizer() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = created_stream(&mut kube, &ctx, orders_spec()).await;

    orders.delete();
    let (action, _) = kube
        .run_seen(
            vec![event(events::DELETED), orders.removes_finalizer()],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    assert_eq!(action.unwrap(), Action::await_change());

    let client = client(&nats).await;
    let gone = stream_info(&client, "ORDERS").await;
    assert_eq!(gone["error"]["err_code"], 10059, "{gone}");

    // Cleanup again (a retried delete) tolerates the asset already gone.
    orders.edit(|o| o["metadata"]["finalizers"] = json!([FINALIZER]));
    let (action, _) = kube
        .run_seen(
            vec![orders.removes_finalizer()],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
}

#[tokio::test]
async fn deleting_the_resource_refuses_to_destroy_another_applications_consumer_without_consent() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = created_stream(&mut kube, &ctx, orders_spec()).await;
    let client = client(&nats).await;
    let made = js(
        &client,
        "CONSUMER.CREATE.ORDERS.billing",
        json!({"stream_name": "ORDERS", "config": {"durable_name": "billing", "ack_policy": "explicit"}}),
    )
    .await;
    assert!(made.get("error").is_none(), "{made}");

    orders.delete();
    let (action, _) = kube
        .run(vec![], reconcile(orders.get::<Stream>(), ctx.clone()))
        .await;
    let refused = action.expect_err("the cleanup is refused").to_string();
    assert!(refused.contains("`billing`"), "{refused}");
    assert!(refused.contains("unmanagedConsumers: Delete"), "{refused}");
    assert!(stream_info(&client, "ORDERS").await.get("error").is_none());

    orders.set_spec("unmanagedConsumers", json!("Delete"));
    let (action, _) = kube
        .run_seen(
            vec![event(events::DELETED), orders.removes_finalizer()],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    assert_eq!(action.unwrap(), Action::await_change());
    let gone = stream_info(&client, "ORDERS").await;
    assert_eq!(gone["error"]["err_code"], 10059, "{gone}");
}

#[tokio::test]
async fn deletion_policy_orphan_leaves_the_stream_without_the_ownership_marker() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let mut spec = orders_spec();
    spec["deletionPolicy"] = json!("Orphan");
    let orders = created_stream(&mut kube, &ctx, spec).await;

    orders.delete();
    let (action, _) = kube
        .run_seen(
            vec![event(events::ORPHANED), orders.removes_finalizer()],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();

    let client = client(&nats).await;
    let info = stream_info(&client, "ORDERS").await;
    assert!(info.get("error").is_none(), "{info}");
    let metadata = &info["config"]["metadata"];
    assert!(metadata.get("jetsync.dev/owner").is_none(), "{metadata}");
    assert!(metadata.get("jetsync.dev/applied").is_none(), "{metadata}");
    assert_eq!(info["config"]["max_age"], json!(HOUR));
}

#[tokio::test]
async fn observe_only_neither_updates_nor_deletes_a_stream_it_created() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = created_stream(&mut kube, &ctx, orders_spec()).await;

    orders.set_spec("managementPolicy", json!("Observe"));
    orders.set_spec("maxAge", json!("2h"));
    let (action, _) = kube
        .run_seen(
            vec![orders.writes_status()],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    let ready = orders.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reasons::OBSERVE_ONLY)
    );
    assert!(ready.message.contains("maxAge"), "{}", ready.message);

    orders.delete();
    let (action, _) = kube
        .run_seen(
            vec![orders.removes_finalizer()],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    let client = client(&nats).await;
    let info = stream_info(&client, "ORDERS").await;
    assert_eq!(
        info["config"]["max_age"],
        json!(HOUR),
        "not updated: {info}"
    );
    assert!(
        info["config"]["metadata"]
            .get("jetsync.dev/owner")
            .is_some(),
        "left exactly as it was: {info}"
    );
}

#[tokio::test]
async fn cleanup_never_deletes_an_asset_it_does_not_own() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let client = client(&nats).await;
    let made = js(
        &client,
        "STREAM.CREATE.ORDERS",
        json!({"name": "ORDERS", "subjects": ["orders.>"], "storage": "file"}),
    )
    .await;
    assert!(made.get("error").is_none(), "{made}");
    let orders = Object::stream("orders", orders_spec());

    // Not adopted: stalled, told once.
    let (action, _) = kube
        .run_seen(
            vec![
                orders.adds_finalizer(),
                orders.writes_status(),
                event(events::ADOPT_REFUSED),
            ],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    let stalled = orders.condition(types::STALLED);
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", reasons::ADOPT_REFUSED)
    );
    assert!(
        stalled.message.contains("not managed by jetsync"),
        "{}",
        stalled.message
    );

    orders.delete();
    let (action, seen) = kube
        .run_seen(
            vec![event(events::DELETE_REFUSED), orders.removes_finalizer()],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    assert!(
        seen[0].body["note"]
            .as_str()
            .unwrap()
            .contains("left stream/ORDERS alone")
    );
    assert!(stream_info(&client, "ORDERS").await.get("error").is_none());
}

#[tokio::test]
async fn adopt_takes_over_an_existing_stream() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let client = client(&nats).await;
    js(
        &client,
        "STREAM.CREATE.ORDERS",
        json!({"name": "ORDERS", "subjects": ["orders.>"], "storage": "file"}),
    )
    .await;
    let mut spec = orders_spec();
    spec["adopt"] = json!(true);
    let orders = Object::stream("orders", spec);

    let (action, _) = kube
        .run_seen(
            vec![
                orders.adds_finalizer_and_address(),
                orders.writes_status(),
                event(events::ADOPTED),
            ],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();

    assert_eq!(orders.condition(types::READY).status, "True");
    let info = stream_info(&client, "ORDERS").await;
    assert_eq!(
        info["config"]["metadata"]["jetsync.dev/owner"],
        "team-a/orders"
    );
}

#[tokio::test]
async fn a_consumer_waits_for_its_stream_without_lookups_and_is_made_once_the_stream_is_ready() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let mut touches = ctx.pool.touches();
    let worker = Object::new(
        "Consumer",
        "consumers",
        "worker",
        json!({"streamName": "ORDERS", "ackWait": "45s"}),
    );
    // New, it says nothing for a while: its stream usually comes at once.
    let (action, _) = kube
        .run_seen(vec![], reconcile(worker.get::<Consumer>(), ctx.clone()))
        .await;
    let requeue = requeue_secs(&action.unwrap()).unwrap();
    assert!((9.0..=10.0).contains(&requeue), "{requeue}");
    ctx.pool.clock().advance(Duration::from_secs(10));
    let (action, _) = kube
        .run_seen(
            vec![worker.writes_status()],
            reconcile(worker.get::<Consumer>(), ctx.clone()),
        )
        .await;
    assert_eq!(
        action.unwrap(),
        Action::await_change(),
        "no timer: it waits for its stream (no finalizer yet: nothing to clean up)"
    );
    let ready = worker.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reasons::STREAM_NOT_READY)
    );
    assert!(
        ready.message.contains("stream `ORDERS` does not exist yet"),
        "{}",
        ready.message
    );
    assert_eq!(worker.condition(types::RECONCILING).status, "True");
    assert_eq!(worker.condition(types::STALLED).status, "False");
    assert_eq!(worker.condition(types::DRIFTED).status, "Unknown");

    // Looked at again: the stream is known absent, so nothing is asked of
    // NATS and nothing is rewritten.
    let before = api_requests(&nats);
    let (action, _) = kube
        .run_seen(vec![], reconcile(worker.get::<Consumer>(), ctx.clone()))
        .await;
    assert_eq!(action.unwrap(), Action::await_change());
    assert_eq!(api_requests(&nats) - before, 0, "no lookup known to miss");

    // Its stream's resource makes the stream: the consumer is woken.
    let orders = Object::stream(
        "orders",
        json!({"name": "ORDERS", "subjects": ["orders.>"]}),
    );
    created::<Stream>(&mut kube, &ctx, &orders).await;
    let woken = std::iter::from_fn(|| touches.try_recv().ok())
        .any(|touch| touch.stream == "ORDERS" && touch.consumer.as_deref() == Some("worker"));
    assert!(woken, "the stream's readiness wakes the waiting consumer");

    // Made with one request: the stream was just made, so neither it nor
    // the consumer is read first.
    let before = api_requests(&nats);
    let (action, _) = kube
        .run_seen(
            vec![
                worker.adds_finalizer_and_address(),
                worker.writes_status(),
                event(events::CREATED),
            ],
            reconcile(worker.get::<Consumer>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    assert_eq!(api_requests(&nats) - before, 1, "one CONSUMER.CREATE");
    assert_eq!(worker.condition(types::READY).status, "True");
    assert_eq!(
        worker.annotation("jetsync.dev/address").as_deref(),
        Some("consumer/ORDERS/worker")
    );
    let client = client(&nats).await;
    let info = js(&client, "CONSUMER.INFO.ORDERS.worker", Value::Null).await;
    assert_eq!(
        info["config"]["ack_wait"],
        json!(45_000_000_000u64),
        "{info}"
    );
}

#[tokio::test]
async fn key_value_buckets_and_object_stores_are_reconciled_too() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let config = Object::new("KeyValue", "keyvalues", "config", json!({"history": 5}));
    created::<KeyValue>(&mut kube, &ctx, &config).await;
    let blobs = Object::new("ObjectStore", "objectstores", "blobs", json!({"ttl": "1d"}));
    created::<ObjectStore>(&mut kube, &ctx, &blobs).await;

    assert_eq!(
        config.annotation("jetsync.dev/address").as_deref(),
        Some("kv/config")
    );
    assert_eq!(
        blobs.annotation("jetsync.dev/address").as_deref(),
        Some("objectstore/blobs")
    );
    let client = client(&nats).await;
    assert_eq!(
        stream_info(&client, "KV_config").await["config"]["max_msgs_per_subject"],
        5
    );
    assert!(
        stream_info(&client, "OBJ_blobs")
            .await
            .get("error")
            .is_none()
    );
}

#[tokio::test]
async fn a_renamed_stream_is_a_replacement_not_an_orphan() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = created_stream(&mut kube, &ctx, orders_spec()).await;
    let client = client(&nats).await;

    orders.set_spec("name", json!("ORDERS2"));
    let (action, _) = kube
        .run_seen(
            vec![orders.writes_status(), event(events::REPLACE_REFUSED)],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    let stalled = orders.condition(types::STALLED);
    assert_eq!(stalled.reason, reasons::IMMUTABLE_FIELD_CHANGED);
    assert!(
        stalled
            .message
            .contains("moved from stream/ORDERS to stream/ORDERS2"),
        "{}",
        stalled.message
    );
    assert!(stream_info(&client, "ORDERS").await.get("error").is_none());

    orders.set_spec("onImmutableChange", json!("Recreate"));
    let (action, _) = kube
        .run_seen(
            vec![
                orders.records_address(),
                orders.writes_status(),
                event(events::CREATED),
                event(events::REPLACED),
            ],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    assert_eq!(
        orders.annotation("jetsync.dev/address").as_deref(),
        Some("stream/ORDERS2")
    );
    assert_eq!(
        stream_info(&client, "ORDERS").await["error"]["err_code"],
        10059
    );
    assert!(stream_info(&client, "ORDERS2").await.get("error").is_none());
}

#[tokio::test]
async fn read_only_plans_and_reports_but_writes_nothing() {
    let nats = require_nats!();
    let (ctx, mut kube) = context_with(
        &nats,
        Settings {
            read_only: true,
            ..Settings::default()
        },
    );
    let orders = Object::stream("orders", orders_spec());
    left_alone_stream(&mut kube, &ctx, &orders).await;

    let ready = orders.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reasons::READ_ONLY)
    );
    assert!(
        ready.message.contains("would create stream stream/ORDERS"),
        "{}",
        ready.message
    );
    let client = client(&nats).await;
    assert_eq!(
        stream_info(&client, "ORDERS").await["error"]["err_code"],
        10059
    );
}

#[tokio::test]
async fn a_suspended_stream_is_left_alone_says_so_and_answers_a_reconcile_request() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let mut spec = orders_spec();
    spec["suspend"] = json!(true);
    let orders = Object::stream("orders", spec);
    orders.edit(|object| {
        object["metadata"]["annotations"] =
            json!({"reconcile.jetsync.dev/requestedAt": "2026-12-06T21:00:00Z"})
    });
    // Not read: the finalizer goes on, in case the asset is there.
    kube.run_seen(
        vec![orders.adds_finalizer(), orders.writes_status()],
        reconcile(orders.get::<Stream>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();

    let ready = orders.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("Unknown", reasons::SUSPENDED)
    );
    assert_eq!(
        orders.status().last_handled_reconcile_at.as_deref(),
        Some("2026-12-06T21:00:00Z")
    );
    let client = client(&nats).await;
    assert_eq!(
        stream_info(&client, "ORDERS").await["error"]["err_code"],
        10059,
        "nothing was created"
    );
}

#[tokio::test]
async fn observe_only_reports_a_missing_stream_and_creates_nothing() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let mut spec = orders_spec();
    spec["managementPolicy"] = json!("Observe");
    let orders = Object::stream("orders", spec);
    left_alone_stream(&mut kube, &ctx, &orders).await;

    let ready = orders.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reasons::OBSERVE_ONLY)
    );
    assert!(
        ready.message.contains("would create stream"),
        "{}",
        ready.message
    );
    let client = client(&nats).await;
    assert_eq!(
        stream_info(&client, "ORDERS").await["error"]["err_code"],
        10059
    );
}

#[tokio::test]
async fn a_connection_failure_is_reported_and_recovers_when_the_server_returns() {
    let mut nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let prod = Object::new(
        "NatsConnection",
        "natsconnections",
        "prod",
        json!({"servers": [nats.url()]}),
    );
    let mut spec = orders_spec();
    spec["connection"] = json!("prod");
    let orders = Object::stream("orders", spec).finalized();
    nats.kill();

    let (action, seen) = kube
        .run_seen(
            vec![
                prod.is_read(),
                orders.writes_status(),
                event(events::CONNECTION_FAILED),
            ],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    let action = action.unwrap();
    assert_eq!(requeue_secs(&action), Some(2.0), "first backoff");
    let ready = orders.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reasons::CONNECTION_FAILED)
    );
    assert!(
        ready.message.contains("cannot reach the NATS server"),
        "{}",
        ready.message
    );
    assert_eq!(seen[2].body["type"], "Warning");

    // Retried with a growing wait; the failure is told once (the failed
    // connect is remembered for a second: the clock moves past it).
    ctx.pool.clock().advance(Duration::from_millis(1100));
    let (action, _) = kube
        .run_seen(
            vec![prod.is_read()],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    assert_eq!(requeue_secs(&action.unwrap()), Some(4.0));

    nats.restart();
    prod.edit(|o| o["spec"]["servers"] = json!([nats.url()]));
    ctx.pool.clock().advance(Duration::from_millis(1100));
    let (action, _) = kube
        .run_seen(
            vec![
                prod.is_read(),
                orders.records_address(),
                orders.writes_status(),
                event(events::CREATED),
            ],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    assert_eq!(orders.condition(types::READY).status, "True");
    assert!(
        ctx.metrics
            .encode()
            .contains(r#"jetsync_nats_connection_failures_total{reason="ConnectionFailed"} 2"#)
    );
}

#[tokio::test]
async fn jetstream_disabled_is_its_own_reason() {
    let nats = require_nats!(NatsServer::builder().jetstream(false));
    let (ctx, mut kube) = context(&nats);
    let orders = Object::stream("orders", orders_spec());

    kube.run_seen(
        vec![
            orders.adds_finalizer(),
            orders.writes_status(),
            event(events::CONNECTION_FAILED),
        ],
        reconcile(orders.get::<Stream>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();

    assert_eq!(
        orders.condition(types::READY).reason,
        reasons::JETSTREAM_DISABLED
    );
}

#[tokio::test]
async fn a_rotated_secret_is_picked_up_and_refused_credentials_say_so() {
    let nats = require_nats!(
        NatsServer::builder().config_extra(r#"authorization { user: app, password: right-pw }"#)
    );
    let (ctx, mut kube) = context(&nats);
    let prod = Object::new(
        "NatsConnection",
        "natsconnections",
        "prod",
        json!({
            "servers": [nats.url()],
            "auth": {"userPassword": {"user": "app", "password": {"secretRef": {"name": "nats-user", "key": "password"}}}},
        }),
    );
    kube.run_seen(
        vec![prod.adds_connection_finalizer()],
        reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();

    let wrong = secret("nats-user", &[("password", "old-pw\n")]);
    let (action, seen) = kube
        .run_seen(
            vec![
                expect("GET", secret_path("nats-user"), move |_| (200, wrong)),
                prod.writes_status(),
                event(events::CONNECTION_FAILED),
            ],
            reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    let ready = prod.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reasons::AUTH_REFUSED)
    );
    assert!(ready.message.contains("user \"app\""), "{}", ready.message);
    let shown = format!("{seen:?} {ready:?}");
    assert!(!shown.contains("old-pw"), "a secret leaked: {shown}");

    // The Secret is rotated: the new content is a new profile, which connects.
    ctx.pool.clock().advance(Duration::from_millis(1100));
    let right = secret("nats-user", &[("password", "right-pw")]);
    let (action, _) = kube
        .run_seen(
            vec![
                expect("GET", secret_path("nats-user"), move |_| (200, right)),
                prod.writes_status(),
            ],
            reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    let ready = prod.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", reasons::CONNECTED)
    );
    assert!(
        ready
            .message
            .contains(&format!("nats-server {}", nats.version())),
        "{}",
        ready.message
    );
    assert!(!ready.message.contains("right-pw"));

    // A stream naming the connection uses it (and shares the pooled connection).
    let mut spec = orders_spec();
    spec["connection"] = json!("prod");
    let orders = Object::stream("orders", spec);
    let right = secret("nats-user", &[("password", "right-pw")]);
    kube.run_seen(
        vec![
            prod.is_read(),
            expect("GET", secret_path("nats-user"), move |_| (200, right)),
            orders.adds_finalizer_and_address(),
            orders.writes_status(),
            event(events::CREATED),
        ],
        reconcile(orders.get::<Stream>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();
    assert_eq!(orders.condition(types::READY).status, "True");
    assert_eq!(
        ctx.pool.open(),
        1,
        "one pooled connection per distinct profile"
    );
}

#[tokio::test]
async fn a_missing_connection_or_secret_waits_without_erroring() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let mut spec = orders_spec();
    spec["connection"] = json!("prod");
    let orders = Object::stream("orders", spec);

    let path = format!("/apis/jetsync.dev/v1alpha1/namespaces/{NAMESPACE}/natsconnections/prod");
    let (action, _) = kube
        .run_seen(
            vec![
                expect("GET", path, |_| not_found("natsconnections", "prod")),
                orders.adds_finalizer(),
                orders.writes_status(),
            ],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    let ready = orders.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reasons::CONNECTION_NOT_FOUND)
    );
    assert_eq!(orders.condition(types::RECONCILING).status, "True");
}

#[tokio::test]
async fn deleting_a_resource_whose_connection_never_existed_does_not_hang() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let mut spec = orders_spec();
    spec["connection"] = json!("typo");
    let orders = Object::stream("orders", spec);
    orders.edit(|o| o["metadata"]["finalizers"] = json!([FINALIZER]));
    orders.delete();

    let path = format!("/apis/jetsync.dev/v1alpha1/namespaces/{NAMESPACE}/natsconnections/typo");
    let (action, seen) = kube
        .run_seen(
            vec![
                expect("GET", path, |_| not_found("natsconnections", "typo")),
                event(events::ORPHANED),
                orders.removes_finalizer(),
            ],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    assert!(
        seen[1].body["note"]
            .as_str()
            .unwrap()
            .contains("never reached a server")
    );
}

#[tokio::test]
async fn a_connection_in_use_keeps_its_finalizer() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let prod = Object::new(
        "NatsConnection",
        "natsconnections",
        "prod",
        json!({"servers": [nats.url()]}),
    );
    prod.edit(|o| o["metadata"]["finalizers"] = json!([FINALIZER]));
    prod.delete();
    let user = json!({
        "apiVersion": "jetsync.dev/v1alpha1", "kind": "Stream",
        "metadata": {"name": "orders", "namespace": NAMESPACE},
        "spec": {"connection": "prod"},
    });
    let list = |kind: &str, items: Vec<Value>| json!({"apiVersion": "jetsync.dev/v1alpha1", "kind": format!("{kind}List"), "metadata": {}, "items": items});
    let base = format!("/apis/jetsync.dev/v1alpha1/namespaces/{NAMESPACE}");
    let lists = |items: Vec<Value>| {
        let streams = list("Stream", items);
        vec![
            expect("GET", format!("{base}/streams"), move |_| (200, streams)),
            expect("GET", format!("{base}/keyvalues"), move |_| {
                (200, list("KeyValue", vec![]))
            }),
            expect("GET", format!("{base}/objectstores"), move |_| {
                (200, list("ObjectStore", vec![]))
            }),
            expect("GET", format!("{base}/consumers"), move |_| {
                (200, list("Consumer", vec![]))
            }),
        ]
    };

    let (action, _) = kube
        .run_seen(
            lists(vec![user]),
            reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
        )
        .await;
    let error = action.unwrap_err().to_string();
    assert!(error.contains("still used by Stream orders"), "{error}");

    let mut expected = lists(vec![]);
    expected.push(prod.removes_finalizer());
    let (action, _) = kube
        .run_seen(
            expected,
            reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
        )
        .await;
    action.unwrap();
}

#[tokio::test]
async fn an_invalid_spec_stalls_without_touching_nats() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = Object::stream(
        "orders",
        json!({"name": "ORD ERS", "subjects": ["orders.>"]}),
    );
    let before = api_requests(&nats);
    kube.run_seen(
        vec![orders.adds_finalizer(), orders.writes_status()],
        reconcile(orders.get::<Stream>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();
    assert_eq!(api_requests(&nats), before, "nothing asked of NATS");

    let stalled = orders.condition(types::STALLED);
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", reasons::INVALID_SPEC)
    );
    assert!(stalled.message.contains("spec.name"), "{}", stalled.message);
}
