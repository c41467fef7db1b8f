//! The controller's periodic drift check by listing, and what a reconcile
//! does after the controller stopped half way through one: against a real
//! nats-server, the Kubernetes API verified request by request by the
//! shared `tower-test` harness.

#[path = "support/controller.rs"]
mod controller_support;
mod support;

use std::sync::Arc;

use controller_support::{Object, api_requests, context, created, event, expect};
use futures::StreamExt;
use jetsync::controller::conditions::{events, types};
use jetsync::controller::recheck::{self, listed_resources};
use jetsync::controller::reconcile::reconcile;
use jetsync::resources::{Consumer, Stream};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use serde_json::{Value, json};
use support::js_api as js;

const HOUR: u64 = 3_600_000_000_000;

fn stream(name: &str, jetstream_name: &str) -> Object {
    Object::stream(
        name,
        json!({"name": jetstream_name, "subjects": [format!("{}.>", name)], "maxAge": "1h"}),
    )
}

fn store_of<K: jetsync::controller::resource::AssetResource>(objects: &[&Object]) -> Store<K> {
    let (reader, mut writer) = reflector::store();
    for object in objects {
        writer.apply_watcher_event(&watcher::Event::Apply((*object.get::<K>()).clone()));
    }
    reader
}

/// The first reconcile of `orders`, whose metadata patch (after the stream
/// is made) the API server answers with `reply`: the reconcile fails.
async fn made_then_refused(
    kube: &mut controller_support::Kube,
    ctx: &Arc<jetsync::controller::Context>,
    orders: &Object,
    reply: impl FnOnce() -> (u16, Value) + Send + 'static,
) {
    let (result, _) = kube
        .run(
            vec![expect("PATCH", orders.path(), move |_| reply())],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    assert!(result.is_err());
}

#[tokio::test]
async fn the_periodic_check_lists_the_account_and_wakes_only_what_differs() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = stream("orders", "ORDERS");
    let events_stream = stream("events", "EVENTS");
    let worker = Object::new(
        "Consumer",
        "consumers",
        "worker",
        json!({"streamName": "ORDERS", "ackWait": "45s"}),
    );
    created::<Stream>(&mut kube, &ctx, &orders).await;
    created::<Stream>(&mut kube, &ctx, &events_stream).await;
    created::<Consumer>(&mut kube, &ctx, &worker).await;
    let streams = store_of::<Stream>(&[&orders, &events_stream]);
    let consumers = store_of::<Consumer>(&[&worker]);

    // In sync: the listing wakes nothing.
    let before = api_requests(&nats);
    let listing = recheck::list(&ctx, "default").await;
    assert_eq!(
        api_requests(&nats) - before,
        2,
        "one STREAM.LIST page, one CONSUMER.LIST for the stream with a consumer"
    );
    assert!(recheck::woken(&ctx, &streams.state(), &listing).is_empty());
    assert!(recheck::woken(&ctx, &consumers.state(), &listing).is_empty());

    // Someone changes ORDERS and deletes the consumer: only their resources
    // are woken, through the controller's trigger.
    let other = support::client(&nats.url()).await;
    let mut config = js(&other, "STREAM.INFO.ORDERS", Value::Null).await["config"].clone();
    config["max_age"] = json!(2 * HOUR);
    js(&other, "STREAM.UPDATE.ORDERS", config).await;
    js(&other, "CONSUMER.DELETE.ORDERS.worker", Value::Null).await;
    let mut streams_woken = Box::pin(listed_resources(Arc::clone(&ctx), streams.clone()));
    let mut consumers_woken = Box::pin(listed_resources(Arc::clone(&ctx), consumers.clone()));
    let requests = recheck::recheck(&ctx).await;
    assert_eq!(requests, 1, "ORDERS has no consumer left to list");
    assert_eq!(streams_woken.next().await.unwrap().name, "orders");
    assert_eq!(consumers_woken.next().await.unwrap().name, "worker");
    let listing = recheck::list(&ctx, "default").await;
    let woken: Vec<String> = recheck::woken(&ctx, &streams.state(), &listing)
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(woken, ["orders"], "EVENTS is in sync and stays asleep");

    // The woken stream is put back; then the listing finds it in sync.
    kube.run(
        vec![
            orders.writes_status(),
            event(events::DRIFT_DETECTED),
            event(events::DRIFT_CORRECTED),
        ],
        reconcile(orders.get::<Stream>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();
    let streams = store_of::<Stream>(&[&orders, &events_stream]);
    let listing = recheck::list(&ctx, "default").await;
    let woken: Vec<String> = recheck::woken(&ctx, &streams.state(), &listing)
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        woken,
        ["orders"],
        "its Drifted condition still says corrected: one status write to say in sync"
    );
    kube.run(
        vec![orders.writes_status()],
        reconcile(orders.get::<Stream>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();
    let streams = store_of::<Stream>(&[&orders, &events_stream]);
    let listing = recheck::list(&ctx, "default").await;
    assert!(recheck::woken(&ctx, &streams.state(), &listing).is_empty());
}

#[tokio::test]
async fn a_connection_that_cannot_be_listed_has_every_resource_looked_up() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = stream("orders", "ORDERS");
    created::<Stream>(&mut kube, &ctx, &orders).await;
    let streams = store_of::<Stream>(&[&orders]);

    let listing = recheck::list(&ctx, "not-pooled").await;
    assert!(
        listing.listed.is_none(),
        "no pooled connection: nothing listed"
    );
    assert!(
        recheck::woken(&ctx, &streams.state(), &listing).is_empty(),
        "not the connection its resources use"
    );
    let failed = recheck::Listing {
        pool: "default".into(),
        listed: None,
    };
    let woken: Vec<String> = recheck::woken(&ctx, &streams.state(), &failed)
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(woken, ["orders"]);
}

#[tokio::test]
async fn an_asset_made_before_the_controller_stopped_is_told_created_once() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = stream("orders", "ORDERS");

    // The stream is made, then the controller stops before writing the
    // resource (here: the API server fails the finalizer's patch).
    made_then_refused(&mut kube, &ctx, &orders, || {
        (
            500,
            json!({"kind": "Status", "code": 500, "message": "gone away"}),
        )
    })
    .await;
    let other = support::client(&nats.url()).await;
    let info = js(&other, "STREAM.INFO.ORDERS", Value::Null).await;
    assert_eq!(
        info["config"]["metadata"]["jetsync.dev/owner"],
        "team-a/orders"
    );

    // The next reconcile finds its own asset in sync, records it, and tells
    // the creation that was never told.
    let (action, seen) = kube
        .run(
            orders.is_created(),
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    assert_eq!(action.unwrap(), Action::await_change());
    assert!(
        seen[2].contains("created stream stream/ORDERS"),
        "{}",
        seen[2]
    );
    assert_eq!(orders.condition(types::READY).status, "True");

    // Once: the status records it now.
    let (action, _) = kube
        .run(vec![], reconcile(orders.get::<Stream>(), ctx.clone()))
        .await;
    action.unwrap();
}

#[tokio::test]
async fn a_resource_deleted_before_its_finalizer_was_on_leaves_no_asset_behind() {
    let nats = require_nats!();
    let (ctx, mut kube) = context(&nats);
    let orders = stream("orders", "ORDERS");

    made_then_refused(&mut kube, &ctx, &orders, || {
        controller_support::not_found("streams", "orders")
    })
    .await;

    let other = support::client(&nats.url()).await;
    let info = js(&other, "STREAM.INFO.ORDERS", Value::Null).await;
    assert_eq!(info["error"]["err_code"], 10059, "{info}");
}
