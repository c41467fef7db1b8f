//! Smoke tests for the nats-server test harness in `tests/support`.

mod support;

use async_nats::jetstream::{self, context::AccountErrorKind, stream};
use support::NatsServer;

async fn connect(server: &NatsServer) -> async_nats::Client {
    support::client(&server.url()).await
}

#[tokio::test]
async fn harness_server_serves_jetstream_account_info() {
    let nats = require_nats!();
    let js = jetstream::new(connect(&nats).await);

    let account = js.query_account().await.expect("JetStream account info");

    assert_eq!(account.streams, 0, "{account:?}");
    assert_eq!(account.consumers, 0, "{account:?}");
    assert_eq!(account.memory, 0, "{account:?}");
    assert_eq!(account.storage, 0, "{account:?}");
    assert_eq!(account.domain, None, "{account:?}");
    // The default account of a server without limits: everything unlimited
    // (the server sends -1, async-nats maps negative to None).
    assert_eq!(account.limits.max_streams, None, "{account:?}");
    assert_eq!(account.limits.max_consumers, None, "{account:?}");
    assert_eq!(account.limits.max_memory, None, "{account:?}");
    assert_eq!(account.limits.max_storage, None, "{account:?}");
    assert!(!account.limits.max_bytes_required, "{account:?}");
}

#[tokio::test]
async fn harness_reports_the_version_of_the_server_it_runs() {
    let nats = require_nats!();
    let client = connect(&nats).await;

    assert_eq!(client.server_info().version, nats.version());
    assert!(nats.url().ends_with(&format!(":{}", nats.port())));
    let (status, body) = nats.monitor_get("/varz").expect("GET /varz");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("\"version\": \"{}\"", nats.version())),
        "{body}"
    );
}

#[tokio::test]
async fn harness_server_runs_jetstream_in_the_configured_domain() {
    let nats = require_nats!(NatsServer::builder().domain("hub"));
    let js = jetstream::new(connect(&nats).await);

    let account = js.query_account().await.expect("JetStream account info");

    assert_eq!(account.domain.as_deref(), Some("hub"), "{account:?}");
}

#[tokio::test]
async fn jetstream_account_info_fails_when_the_server_has_jetstream_disabled() {
    let nats = require_nats!(NatsServer::builder().jetstream(false));
    let js = jetstream::new(connect(&nats).await);

    let err = js
        .query_account()
        .await
        .expect_err("account info must fail without JetStream");

    // Nothing subscribes to $JS.API.> on a server without JetStream, so the
    // request gets a 503 "no responders" status, which async-nats reports
    // as JetStreamUnavailable (same on 2.10 and 2.15).
    assert_eq!(
        err.kind(),
        AccountErrorKind::JetStreamUnavailable,
        "nats-server {}: {err:?}",
        nats.version()
    );
    let (status, body) = nats.monitor_get("/healthz").expect("GET /healthz");
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn account_without_jetstream_gets_jetstream_not_enabled_for_account() {
    // JetStream is on for the server but not for this account: the server
    // itself answers (unlike a server with JetStream disabled).
    let nats = require_nats!(
        NatsServer::builder()
            .config_extra(r#"accounts { NOJS: { users: [ { user: nojs, password: nojs } ] } }"#)
    );
    let client = async_nats::ConnectOptions::with_user_and_password("nojs".into(), "nojs".into())
        .connect(nats.url())
        .await
        .expect("connect as nojs");

    let err = jetstream::new(client)
        .query_account()
        .await
        .expect_err("account info must fail for an account without JetStream");

    match err.kind() {
        AccountErrorKind::JetStream(js_err) => {
            assert_eq!(
                js_err.error_code(),
                jetstream::ErrorCode::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT,
                "{js_err:?}"
            );
            assert_eq!(js_err.code(), 503, "{js_err:?}");
        }
        other => panic!("nats-server {}: unexpected {other:?}", nats.version()),
    }
}

#[tokio::test]
async fn account_limits_from_the_server_config_show_in_account_info() {
    let nats = require_nats!(NatsServer::builder().config_extra(
        r#"
        accounts {
          TEAM: {
            jetstream: { max_streams: 3, max_consumers: 7, max_mem: 1048576, max_file: 10485760 }
            users: [ { user: team, password: team } ]
          }
        }
        "#
    ));
    let client = async_nats::ConnectOptions::with_user_and_password("team".into(), "team".into())
        .connect(nats.url())
        .await
        .expect("connect as team");

    let account = jetstream::new(client)
        .query_account()
        .await
        .expect("account info");

    assert_eq!(account.limits.max_streams, Some(3), "{account:?}");
    assert_eq!(account.limits.max_consumers, Some(7), "{account:?}");
    assert_eq!(account.limits.max_memory, Some(1024 * 1024), "{account:?}");
    assert_eq!(
        account.limits.max_storage,
        Some(10 * 1024 * 1024),
        "{account:?}"
    );
}

#[tokio::test]
async fn restarted_server_keeps_streams_created_before_the_restart() {
    let mut nats = require_nats!();
    {
        let js = jetstream::new(connect(&nats).await);
        js.create_stream(stream::Config {
            name: "ORDERS".to_string(),
            subjects: vec!["orders.>".to_string()],
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .expect("create stream");
        js.publish("orders.new", "first".into())
            .await
            .expect("publish")
            .await
            .expect("publish ack");
    }
    let port_before = nats.port();

    nats.restart();

    let js = jetstream::new(connect(&nats).await);
    let mut orders = js.get_stream("ORDERS").await.expect("stream after restart");
    let info = orders.info().await.expect("stream info");
    assert_eq!(info.config.subjects, vec!["orders.>".to_string()]);
    assert_eq!(info.state.messages, 1, "{info:?}");
    assert_eq!(js.query_account().await.expect("account").streams, 1);
    assert!(
        nats.store_dir().join("jetstream").is_dir(),
        "{}",
        nats.store_dir().display()
    );
    // Same port unless it could not be bound again (then the harness picks a new one).
    if nats.port() != port_before {
        eprintln!(
            "note: restart moved the server from port {port_before} to {}",
            nats.port()
        );
    }
}
