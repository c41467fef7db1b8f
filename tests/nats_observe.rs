//! Observing live JetStream state on real nats-servers: everything is seen,
//! configs come back exactly as the server sent them, and the number of
//! requests is the number of list pages, not one per asset.

mod support;

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use jetsync::nats::{
    ApiRequestError, ConnectOptions, Connection, JsApi, ObserveOptions, connect_resolved,
};
use serde_json::Value;
use support::NatsServer;

async fn connect_to(server: &NatsServer, domain: Option<&str>) -> Connection {
    let config_home = tempfile::tempdir().unwrap();
    let options = ConnectOptions {
        servers: vec![server.url()],
        js_domain: domain.map(str::to_string),
        timeout: Duration::from_secs(10),
        config_home: Some(config_home.path().to_path_buf()),
        ..Default::default()
    };
    let resolved = options.resolve_with(&|_| None).expect("resolve");
    connect_resolved(&resolved)
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", server.url()))
}

fn minor_version(server: &NatsServer) -> u32 {
    server.version().split('.').nth(1).unwrap().parse().unwrap()
}

async fn create_memory_stream(js: &jetstream::Context, name: &str) {
    js.create_stream(stream::Config {
        name: name.to_string(),
        subjects: vec![format!("{}.>", name.to_lowercase())],
        storage: stream::StorageType::Memory,
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("creating stream {name}: {e}"));
}

async fn create_pull_consumer(js: &jetstream::Context, stream: &str, name: &str) {
    js.create_consumer_on_stream(
        consumer::pull::Config {
            durable_name: Some(name.to_string()),
            ack_policy: consumer::AckPolicy::Explicit,
            ..Default::default()
        },
        stream,
    )
    .await
    .unwrap_or_else(|e| panic!("creating consumer {stream}/{name}: {e}"));
}

/// Pages needed to list `n` items at 256 per page (at least one).
fn pages(n: usize) -> usize {
    n.div_ceil(256).max(1)
}

#[tokio::test]
async fn observe_sees_300_streams_and_their_consumers_in_list_pages() {
    let nats = require_nats!();
    let conn = connect_to(&nats, None).await;
    let js = &conn.jetstream;
    let names: Vec<String> = (0..300).map(|i| format!("S{i:03}")).collect();
    for name in &names {
        create_memory_stream(js, name).await;
    }
    for consumer in ["alpha", "beta", "gamma"] {
        create_pull_consumer(js, "S000", consumer).await;
    }
    js.create_consumer_on_stream(
        consumer::push::Config {
            durable_name: Some("pusher".into()),
            deliver_subject: "deliver.pusher".into(),
            ack_policy: consumer::AckPolicy::Explicit,
            ..Default::default()
        },
        "S001",
    )
    .await
    .expect("push consumer");
    // More consumers than one CONSUMER.LIST page holds.
    let many: Vec<String> = (0..260).map(|i| format!("c{i:03}")).collect();
    for consumer in &many {
        create_pull_consumer(js, "S299", consumer).await;
    }
    // Something stored, to see the state summary.
    js.publish("s002.x", "hello".into())
        .await
        .unwrap()
        .await
        .unwrap();

    let live = conn
        .observe(&ObserveOptions::default())
        .await
        .expect("observe");

    let seen: Vec<&str> = live.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(seen, names.iter().map(String::as_str).collect::<Vec<_>>());
    for stream in &live.streams {
        assert_eq!(stream.config.value()["name"], stream.name.as_str());
        assert_eq!(
            stream.config.value()["subjects"],
            serde_json::json!([format!("{}.>", stream.name.to_lowercase())])
        );
        assert_eq!(stream.config.value()["storage"], "memory");
        assert!(stream.created.is_some(), "{stream:?}");
    }
    let s002 = live.stream("S002").unwrap();
    assert_eq!((s002.state.messages, s002.state.last_seq), (1, 1));
    assert!(s002.state.bytes > 0);

    let names_of = |stream: &str| -> Vec<String> {
        live.consumers_of(stream)
            .iter()
            .map(|c| c.name.clone())
            .collect()
    };
    assert_eq!(names_of("S000"), ["alpha", "beta", "gamma"]);
    assert_eq!(names_of("S001"), ["pusher"]);
    assert_eq!(names_of("S299"), many);
    assert_eq!(
        live.consumers.len(),
        3,
        "only streams with consumers have entries"
    );
    let pusher = live.consumer("S001", "pusher").unwrap();
    assert_eq!(pusher.stream, "S001");
    assert_eq!(pusher.config.value()["deliver_subject"], "deliver.pusher");
    assert_eq!(pusher.config.value()["ack_policy"], "explicit");
    assert!(live.unavailable.is_empty(), "{:?}", live.unavailable);

    // Two STREAM.LIST pages; one CONSUMER.LIST page for S000 and S001, two
    // for S299; nothing for the 297 streams without consumers.
    let expected = pages(300) + pages(3) + pages(1) + pages(260);
    assert_eq!(expected, 6);
    assert_eq!(live.requests, expected, "nats-server {}", nats.version());
    eprintln!(
        "nats-server {}: 300 streams, 264 consumers observed with {} requests",
        nats.version(),
        live.requests
    );
}

#[tokio::test]
async fn configs_are_exactly_what_the_info_apis_return() {
    let nats = require_nats!();
    let conn = connect_to(&nats, None).await;
    create_memory_stream(&conn.jetstream, "ORDERS").await;
    create_pull_consumer(&conn.jetstream, "ORDERS", "worker").await;

    let live = conn.observe(&ObserveOptions::default()).await.unwrap();

    let stream_info: Value = conn
        .api()
        .request_raw::<()>("STREAM.INFO.ORDERS", None)
        .await
        .unwrap();
    let consumer_info: Value = conn
        .api()
        .request_raw::<()>("CONSUMER.INFO.ORDERS.worker", None)
        .await
        .unwrap();
    // INFO answers (2.11+) add the answering server's `_nats.ver` and
    // `_nats.level` to the metadata; they are not stored, and LIST leaves
    // them out. Everything else is identical.
    assert_eq!(
        live.stream("ORDERS").unwrap().config.value(),
        without_response_only_metadata(&stream_info["config"])
    );
    assert_eq!(
        live.consumer("ORDERS", "worker").unwrap().config.value(),
        without_response_only_metadata(&consumer_info["config"])
    );
}

fn without_response_only_metadata(config: &Value) -> Value {
    let mut config = config.clone();
    if let Some(metadata) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("_nats.ver");
        metadata.remove("_nats.level");
    }
    config
}

#[tokio::test]
async fn stream_metadata_is_returned_raw_including_server_keys() {
    let nats = require_nats!();
    let conn = connect_to(&nats, None).await;
    conn.jetstream
        .create_stream(stream::Config {
            name: "META".into(),
            subjects: vec!["meta.>".into()],
            storage: stream::StorageType::Memory,
            metadata: [("jetsync.dev/owner".to_string(), "tests".to_string())].into(),
            ..Default::default()
        })
        .await
        .expect("create stream with metadata");
    create_pull_consumer(&conn.jetstream, "META", "reader").await;

    let live = conn.observe(&ObserveOptions::default()).await.unwrap();

    let metadata = live.stream("META").unwrap().config.value()["metadata"]
        .as_object()
        .expect("metadata object")
        .clone();
    assert_eq!(metadata["jetsync.dev/owner"], "tests");
    let server_keys: Vec<&String> = metadata
        .keys()
        .filter(|k| k.starts_with("_nats."))
        .collect();
    let consumer_metadata = &live.consumer("META", "reader").unwrap().config.value()["metadata"];
    if minor_version(&nats) >= 11 {
        assert!(!server_keys.is_empty(), "{metadata:?}");
        assert!(
            consumer_metadata
                .as_object()
                .is_some_and(|m| m.keys().any(|k| k.starts_with("_nats."))),
            "{consumer_metadata:?}"
        );
    } else {
        assert!(server_keys.is_empty(), "{metadata:?}");
    }
    eprintln!(
        "nats-server {}: stream metadata {metadata:?}; consumer metadata {consumer_metadata}",
        nats.version()
    );
}

#[tokio::test]
async fn an_empty_account_is_observed_with_one_request() {
    let nats = require_nats!();
    let conn = connect_to(&nats, None).await;

    let live = conn.observe(&ObserveOptions::default()).await.unwrap();

    assert!(live.streams.is_empty());
    assert!(live.consumers.is_empty());
    assert_eq!(live.requests, 1);
}

#[tokio::test]
async fn one_request_in_flight_still_sees_every_consumer() {
    let nats = require_nats!();
    let conn = connect_to(&nats, None).await;
    for i in 0..5 {
        let stream = format!("ONE{i}");
        create_memory_stream(&conn.jetstream, &stream).await;
        create_pull_consumer(&conn.jetstream, &stream, "only").await;
    }

    let live = conn
        .observe(&ObserveOptions { concurrency: 1 })
        .await
        .unwrap();

    assert_eq!(live.consumers.len(), 5);
    assert!(
        live.consumers
            .values()
            .all(|c| c.len() == 1 && c[0].name == "only")
    );
    assert_eq!(live.requests, 1 + 5);
}

#[tokio::test]
async fn observe_addresses_the_jetstream_domain_of_the_connection() {
    let nats = require_nats!(NatsServer::builder().domain("hub"));
    let conn = connect_to(&nats, Some("hub")).await;
    create_memory_stream(&conn.jetstream, "HUBBED").await;

    let live = conn.observe(&ObserveOptions::default()).await.unwrap();

    assert_eq!(live.streams.len(), 1);
    assert_eq!(live.streams[0].name, "HUBBED");
}

#[tokio::test]
async fn observing_without_jetstream_is_a_no_responders_error() {
    let nats = require_nats!(NatsServer::builder().jetstream(false));
    let client = async_nats::connect(nats.url()).await.unwrap();
    let api = JsApi::new(client, None, Duration::from_secs(5));

    let err = jetsync::nats::observe(&api, &ObserveOptions::default())
        .await
        .expect_err("no JetStream");

    assert!(
        matches!(err, ApiRequestError::NoResponders { ref subject } if subject == "$JS.API.STREAM.LIST"),
        "{err:?}"
    );
    eprintln!("observe without js on {}: {err}", nats.version());
}

#[tokio::test]
async fn api_errors_keep_the_servers_err_code() {
    let nats = require_nats!();
    let conn = connect_to(&nats, None).await;

    let err = conn
        .api()
        .request_raw::<()>("STREAM.INFO.NOPE", None)
        .await
        .expect_err("no such stream");

    assert_eq!(
        err.err_code(),
        Some(jetsync::nats::ApiError::STREAM_NOT_FOUND),
        "{err:?}"
    );
    assert_eq!(err.api_error().unwrap().code, 404);
    eprintln!("stream not found on {}: {err}", nats.version());
}

#[tokio::test]
async fn a_user_not_permitted_to_list_streams_gets_a_prompt_permission_error() {
    let nats = require_nats!(NatsServer::builder().config_extra(
        r#"authorization { users: [ { user: info, password: info,
             permissions: { publish: ["$JS.API.INFO"], subscribe: ["_INBOX.>"] } } ] }"#
    ));
    let config_home = tempfile::tempdir().unwrap();
    let options = ConnectOptions {
        servers: vec![nats.url()],
        user: Some("info".into()),
        password: Some("info".into()),
        timeout: Duration::from_secs(5),
        config_home: Some(config_home.path().to_path_buf()),
        ..Default::default()
    };
    let conn = connect_resolved(&options.resolve_with(&|_| None).unwrap())
        .await
        .expect("INFO is permitted");

    let started = std::time::Instant::now();
    let err = conn
        .observe(&ObserveOptions::default())
        .await
        .expect_err("STREAM.LIST is not permitted");

    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, ApiRequestError::PermissionDenied { ref subject, .. } if subject == "$JS.API.STREAM.LIST"),
        "{err:?}"
    );
    eprintln!("permission denied on {}: {err}", nats.version());
}
