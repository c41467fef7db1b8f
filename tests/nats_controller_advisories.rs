//! Out-of-band changes are noticed through JetStream's advisories within
//! seconds, whatever the drift interval: a real nats-server, the
//! controller's connection pool reading its advisories, the controller's
//! mapping from an advisory to the resources it concerns (over a reflector
//! store, as the running controller has), and the reconcile that follows,
//! with the Kubernetes API verified by kube-rs's `tower-test` mock (the
//! harness in `tests/support/controller.rs`).

#[path = "support/controller.rs"]
mod controller_support;
mod support;

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use controller_support::{Object, context_with, created, event, secret_is_read};
use futures::StreamExt;
use jetsync::controller::advisories::{AUDIT_REDACTS_TOKENS, Touch};
use jetsync::controller::conditions::{events, reasons, types};
use jetsync::controller::reconcile::{reconcile, reconcile_connection};
use jetsync::controller::resource::AssetResource;
use jetsync::controller::{Context, Settings, concerned, touched_resources};
use jetsync::plan::capabilities::ServerVersion;
use jetsync::resources::{Consumer, NatsConnection, Stream};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher;
use serde_json::{Value, json};
use support::js_api as js;
use tokio::sync::broadcast;

const HOUR: u64 = 3_600_000_000_000;

/// What a change found by an advisory may take, end to end, at most.
const WITHIN: Duration = Duration::from_secs(3);

fn ten_minutes() -> Settings {
    Settings {
        drift_interval: Duration::from_secs(600),
        ..Settings::default()
    }
}

/// The Stream resource `orders` (`ORDERS`, `orders.>`, and `extra` spec
/// fields) and the Consumer resource `worker` on it (`ackWait: 45s`),
/// both created.
async fn orders_and_worker(
    kube: &mut controller_support::Kube,
    ctx: &Arc<Context>,
    extra: Value,
) -> (Object, Object) {
    let mut spec = json!({"name": "ORDERS", "subjects": ["orders.>"]});
    for (field, value) in extra.as_object().into_iter().flatten() {
        spec[field] = value.clone();
    }
    let orders = Object::new("Stream", "streams", "orders", spec);
    let worker = Object::new(
        "Consumer",
        "consumers",
        "worker",
        json!({"streamName": "ORDERS", "ackWait": "45s"}),
    );
    created::<Stream>(kube, ctx, &orders).await;
    created::<Consumer>(kube, ctx, &worker).await;
    (orders, worker)
}

/// Someone else sets the stream's `max_age` to 2h.
async fn max_age_changed_out_of_band(other: &async_nats::Client) {
    let mut config = js(other, "STREAM.INFO.ORDERS", Value::Null).await["config"].clone();
    config["max_age"] = json!(2 * HOUR);
    let updated = js(other, "STREAM.UPDATE.ORDERS", config).await;
    assert!(updated.get("error").is_none(), "{updated}");
}

/// A reflector store holding `object`, as the running controller's.
fn store_of<K: AssetResource>(object: &Object) -> Store<K> {
    let (reader, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Apply((*object.get::<K>()).clone()));
    reader
}

/// The controller's trigger for the resources of `store` (what it hands
/// kube-runtime's `reconcile_on`), listening from now on.
fn trigger<K: AssetResource>(
    ctx: &Arc<Context>,
    store: &Store<K>,
) -> Pin<Box<dyn futures::Stream<Item = ObjectRef<K>> + Send>> {
    Box::pin(touched_resources(Arc::clone(ctx), store.clone()))
}

/// Waits until `trigger` asks for a reconcile of the resource `name`.
async fn asked_for<K: AssetResource>(
    trigger: &mut Pin<Box<dyn futures::Stream<Item = ObjectRef<K>> + Send>>,
    name: &str,
) {
    tokio::time::timeout(WITHIN, async {
        while let Some(asked) = trigger.next().await {
            if asked.name == name {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no advisory asked for a reconcile of {name} within {WITHIN:?}"));
}

/// Every touch read before the first one about `stream`.
async fn touches_before(touches: &mut broadcast::Receiver<Touch>, stream: &str) -> Vec<Touch> {
    let mut before = Vec::new();
    tokio::time::timeout(WITHIN, async {
        loop {
            let touch = touches.recv().await.expect("touches keep coming");
            if touch.stream == stream {
                return;
            }
            before.push(touch);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no advisory named {stream} within {WITHIN:?}"));
    before
}

/// On nats-server 2.10 (before 2.11.2) the API audit names token clients by
/// their token, so the controller does not read it there, and a consumer
/// update — which only the audit shows — waits for the periodic check; the
/// stream part runs on every version.
#[tokio::test]
async fn with_a_ten_minute_interval_out_of_band_changes_are_corrected_within_seconds() {
    let nats = require_nats!();
    let audited = ServerVersion::parse(&nats.version()).unwrap() >= AUDIT_REDACTS_TOKENS;
    let (ctx, mut kube) = context_with(&nats, ten_minutes());
    let (orders, worker) = orders_and_worker(&mut kube, &ctx, json!({"maxAge": "1h"})).await;
    let streams = store_of::<Stream>(&orders);
    let consumers = store_of::<Consumer>(&worker);
    let mut touches = ctx.pool.touches();
    let mut streams_asked = trigger(&ctx, &streams);
    let mut consumers_asked = trigger(&ctx, &consumers);
    let other = support::client(&nats.url()).await;

    // Someone changes the stream.
    let started = Instant::now();
    max_age_changed_out_of_band(&other).await;
    asked_for(&mut streams_asked, "orders").await;
    let (action, _) = kube
        .run(
            vec![
                orders.writes_status(),
                event(events::DRIFT_DETECTED),
                event(events::DRIFT_CORRECTED),
            ],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    let took = started.elapsed();
    let info = js(&other, "STREAM.INFO.ORDERS", Value::Null).await;
    assert_eq!(info["config"]["max_age"], json!(HOUR), "{info}");
    assert!(took < WITHIN, "corrected after {took:?}");
    assert_eq!(
        action.unwrap(),
        kube::runtime::controller::Action::await_change(),
        "no timer of its own: the periodic listing re-checks it"
    );

    // Someone changes the consumer (only the API audit shows an update).
    if audited {
        consumer_update_is_corrected(&mut kube, &ctx, &worker, &other, &mut consumers_asked).await;
    }

    // The controller's own corrections touch nothing: of the touches read
    // before a later change by someone else, only the out-of-band changes
    // concern its resources (without the audit, which names the client,
    // the stream's correction comes back once, and its re-check writes
    // nothing: no loop).
    js(
        &other,
        "STREAM.CREATE.SENTINEL",
        json!({"name": "SENTINEL", "subjects": ["sentinel"]}),
    )
    .await;
    let before = touches_before(&mut touches, "SENTINEL").await;
    let ours: Vec<&Touch> = before
        .iter()
        .filter(|touch| {
            !concerned(&streams, touch, |user| ctx.pool.key_of(user)).is_empty()
                || !concerned(&consumers, touch, |user| ctx.pool.key_of(user)).is_empty()
        })
        .collect();
    let streams_touched = ours.iter().filter(|t| t.consumer.is_none()).count();
    if audited {
        assert_eq!(
            (streams_touched, ours.len()),
            (1, 2),
            "only the two changes made by someone else, not the corrections: {ours:#?}"
        );
    } else {
        // Without the audit, the controller's own writes (the creations,
        // the correction) come back too; the re-checks they cause settle:
        // no loop.
        assert!(streams_touched >= 2, "{ours:#?}");
        Box::pin(own_writes_settle(&mut kube, &ctx, &orders, &worker)).await;
    }
}

/// The re-checks of `orders` and `worker` after the controller's own writes
/// came back as advisories: the stream's first says its correction is over
/// (`Drifted` from `DriftCorrected` to `InSync`), then nothing is written.
async fn own_writes_settle(
    kube: &mut controller_support::Kube,
    ctx: &Arc<Context>,
    orders: &Object,
    worker: &Object,
) {
    kube.run(
        vec![orders.writes_status()],
        reconcile_any(orders, ctx.clone()),
    )
    .await;
    assert_eq!(orders.condition(types::DRIFTED).reason, reasons::IN_SYNC);
    for object in [orders, worker] {
        let ready = object.condition(types::READY);
        kube.run(vec![], reconcile_any(object, ctx.clone())).await;
        assert_eq!(object.condition(types::READY), ready);
    }
}

/// Reconciles the Stream or Consumer `object`.
async fn reconcile_any(object: &Object, ctx: Arc<Context>) {
    match object.value()["kind"].as_str() {
        Some("Stream") => reconcile(object.get::<Stream>(), ctx).await.map(drop),
        _ => reconcile(object.get::<Consumer>(), ctx).await.map(drop),
    }
    .unwrap();
}

/// Someone changes the consumer's ack wait; it is put back within seconds.
async fn consumer_update_is_corrected(
    kube: &mut controller_support::Kube,
    ctx: &Arc<Context>,
    worker: &Object,
    other: &async_nats::Client,
    consumers_asked: &mut Pin<Box<dyn futures::Stream<Item = ObjectRef<Consumer>> + Send>>,
) {
    let started = Instant::now();
    let mut config = js(other, "CONSUMER.INFO.ORDERS.worker", Value::Null).await["config"].clone();
    config["ack_wait"] = json!(60_000_000_000u64);
    let updated = js(
        other,
        "CONSUMER.CREATE.ORDERS.worker",
        json!({"stream_name": "ORDERS", "config": config}),
    )
    .await;
    assert!(updated.get("error").is_none(), "{updated}");
    asked_for(consumers_asked, "worker").await;
    kube.run(
        vec![
            worker.writes_status(),
            event(events::DRIFT_DETECTED),
            event(events::DRIFT_CORRECTED),
        ],
        reconcile(worker.get::<Consumer>(), Arc::clone(ctx)),
    )
    .await
    .0
    .unwrap();
    let took = started.elapsed();
    let info = js(other, "CONSUMER.INFO.ORDERS.worker", Value::Null).await;
    assert_eq!(
        info["config"]["ack_wait"],
        json!(45_000_000_000u64),
        "{info}"
    );
    assert!(took < WITHIN, "corrected after {took:?}");
}

#[tokio::test]
async fn under_drift_policy_report_an_out_of_band_change_is_reported_within_seconds() {
    let nats = require_nats!();
    let (ctx, mut kube) = context_with(&nats, ten_minutes());
    let orders = Object::new(
        "Stream",
        "streams",
        "orders",
        json!({"name": "ORDERS", "subjects": ["orders.>"], "maxAge": "1h", "driftPolicy": "Report"}),
    );
    created::<Stream>(&mut kube, &ctx, &orders).await;
    let mut asked = trigger(&ctx, &store_of::<Stream>(&orders));
    let other = support::client(&nats.url()).await;

    let started = Instant::now();
    max_age_changed_out_of_band(&other).await;
    asked_for(&mut asked, "orders").await;
    kube.run(
        vec![orders.writes_status(), event(events::DRIFT_DETECTED)],
        reconcile(orders.get::<Stream>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();
    let took = started.elapsed();

    let drifted = orders.condition(types::DRIFTED);
    assert_eq!(
        (drifted.status.as_str(), drifted.reason.as_str()),
        ("True", reasons::DRIFT_REPORTED)
    );
    assert!(
        drifted.message.contains("maxAge is 2h on the server"),
        "{}",
        drifted.message
    );
    let info = js(&other, "STREAM.INFO.ORDERS", Value::Null).await;
    assert_eq!(info["config"]["max_age"], json!(2 * HOUR), "left as is");
    assert!(took < WITHIN, "reported after {took:?}");
}

#[tokio::test]
async fn after_the_controller_recreates_a_stream_its_consumers_exist_again_within_seconds_unblamed()
{
    let nats = require_nats!();
    let (ctx, mut kube) = context_with(&nats, ten_minutes());
    let (orders, worker) =
        orders_and_worker(&mut kube, &ctx, json!({"onImmutableChange": "Recreate"})).await;
    let mut asked = trigger(&ctx, &store_of::<Consumer>(&worker));
    let other = support::client(&nats.url()).await;

    let started = Instant::now();
    orders.set_spec("storage", json!("memory"));
    kube.run(
        vec![orders.writes_status(), event(events::REPLACED)],
        reconcile(orders.get::<Stream>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();
    asked_for(&mut asked, "worker").await;
    // Made again as a plain create: no DriftDetected blames anyone.
    let (action, seen) = kube
        .run(
            vec![worker.writes_status(), event(events::CREATED)],
            reconcile(worker.get::<Consumer>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    let took = started.elapsed();
    assert!(
        seen[1].contains("it went with its stream, which jetsync deleted or replaced"),
        "{}",
        seen[1]
    );

    let info = js(&other, "CONSUMER.INFO.ORDERS.worker", Value::Null).await;
    assert!(info.get("error").is_none(), "{info}");
    assert_eq!(info["config"]["ack_wait"], json!(45_000_000_000u64));
    assert!(took < WITHIN, "the consumer was back after {took:?}");
    assert_eq!(worker.condition(types::READY).status, "True");
    assert_eq!(worker.condition(types::DRIFTED).reason, reasons::IN_SYNC);
}

#[tokio::test]
async fn a_connection_refused_the_advisories_says_so_and_relies_on_the_interval() {
    let nats = require_nats!(support::NatsServer::builder().config_extra(
        r#"authorization {
            users = [
                { user: "watcher", password: "watcher-pw" }
                { user: "blind", password: "blind-pw",
                  permissions: { publish: ">", subscribe: { allow: ["_INBOX.>"] } } }
            ]
        }"#
    ));
    let (ctx, mut kube) = context_with(&nats, ten_minutes());
    let connection = |name: &str, user: &str| {
        Object::new(
            "NatsConnection",
            "natsconnections",
            name,
            json!({
                "servers": [format!("nats://127.0.0.1:{}", nats.port())],
                "auth": {"userPassword": {
                    "user": user,
                    "password": {"secretRef": {"name": format!("{user}-auth"), "key": "password"}},
                }},
            }),
        )
    };

    let mut conditions = Vec::new();
    for (name, user, password) in [
        ("full", "watcher", "watcher-pw"),
        ("blind", "blind", "blind-pw"),
    ] {
        let object = connection(name, user);
        kube.run(
            vec![object.adds_connection_finalizer()],
            reconcile_connection(object.get::<NatsConnection>(), ctx.clone()),
        )
        .await
        .0
        .unwrap();
        kube.run(
            vec![
                secret_is_read(&format!("{user}-auth"), &[("password", password)]),
                object.writes_status(),
            ],
            reconcile_connection(object.get::<NatsConnection>(), ctx.clone()),
        )
        .await
        .0
        .unwrap();
        assert_eq!(object.condition(types::READY).status, "True");
        conditions.push(object.condition(types::WATCHING));
    }

    let (full, blind) = (&conditions[0], &conditions[1]);
    assert_eq!(
        (full.status.as_str(), full.reason.as_str()),
        ("True", reasons::ADVISORIES_SUBSCRIBED)
    );
    assert_eq!(
        (blind.status.as_str(), blind.reason.as_str()),
        ("False", reasons::ADVISORIES_REFUSED)
    );
    assert!(
        blind.message.contains("Permissions Violation")
            && blind.message.contains("periodic check only (every 10m)"),
        "{}",
        blind.message
    );
    let metrics = ctx.metrics.encode();
    assert!(
        metrics.contains("jetsync_nats_connections_without_advisories 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn when_the_controller_deletes_a_stream_its_consumers_are_marked_not_ready_at_once() {
    let nats = require_nats!();
    let (ctx, mut kube) = context_with(&nats, ten_minutes());
    let (orders, worker) = orders_and_worker(&mut kube, &ctx, json!({})).await;
    let mut asked = trigger(&ctx, &store_of::<Consumer>(&worker));

    let started = Instant::now();
    orders.delete();
    let (action, seen) = kube
        .run(
            vec![event(events::DELETED), orders.removes_finalizer()],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    assert!(
        seen[0].contains("1 consumer(s) went with it: `worker`"),
        "the Deleted Event names the consumers lost with the stream: {}",
        seen[0]
    );
    asked_for(&mut asked, "worker").await;
    // Its counts go with the consumer.
    kube.run(
        vec![worker.writes_status_without_counts()],
        reconcile(worker.get::<Consumer>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();
    let took = started.elapsed();

    let ready = worker.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reasons::STREAM_NOT_READY)
    );
    assert!(took < WITHIN, "marked after {took:?}");
}
