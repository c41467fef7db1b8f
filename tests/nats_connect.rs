//! Connecting to real nats-servers: settings, authentication, TLS, and one
//! distinct error per way a connection can fail.

mod support;

use std::time::{Duration, Instant};

use jetsync::nats::{
    ApiError, Auth, ConnectError, ConnectOptions, Connection, connect, connect_resolved,
};
use support::{NatsServer, make_certificates};
use tempfile::TempDir;

/// Options for `server` that ignore the process environment and the user's
/// real nats contexts (an empty config dir).
fn options_for(server: &NatsServer) -> (ConnectOptions, TempDir) {
    let config_home = tempfile::tempdir().expect("temp config dir");
    let options = ConnectOptions {
        servers: vec![server.url()],
        timeout: Duration::from_secs(5),
        config_home: Some(config_home.path().to_path_buf()),
        ..Default::default()
    };
    (options, config_home)
}

/// Resolves without the process environment, then connects.
async fn connect_isolated(options: &ConnectOptions) -> Result<Connection, ConnectError> {
    let resolved = options.resolve_with(&|_| None)?;
    connect_resolved(&resolved).await
}

fn minor_version(server: &NatsServer) -> u32 {
    let version = server.version();
    let mut parts = version.split('.');
    assert_eq!(parts.next(), Some("2"), "{version}");
    parts.next().unwrap().parse().unwrap()
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn connect_reports_the_server_version_api_level_and_account() {
    let nats = require_nats!();
    let (options, _config) = options_for(&nats);

    let conn = connect(&options).await.expect("connect");

    assert_eq!(conn.server.version, nats.version());
    assert_eq!(conn.server.url_redacted, nats.url());
    assert_eq!(conn.server.domain, None);
    assert_eq!(
        conn.server.account.as_deref(),
        Some("$G"),
        "{:?}",
        conn.server
    );
    match minor_version(&nats) {
        10 => assert_eq!(conn.server.api_level, 0, "{:?}", conn.server),
        minor => assert!(
            conn.server.api_level >= u64::from(minor.min(12) - 10),
            "nats-server {}: {:?}",
            nats.version(),
            conn.server
        ),
    }
    assert_eq!(conn.api().prefix(), "$JS.API");
    eprintln!("identity on {}: {:?}", nats.version(), conn.server);
}

#[tokio::test]
async fn connecting_to_a_closed_port_fails_fast_as_unreachable() {
    let port = closed_port();
    let url = format!("nats://127.0.0.1:{port}");
    let options = ConnectOptions {
        servers: vec![url.clone()],
        ..Default::default()
    };

    let started = Instant::now();
    let err = connect_isolated(&options)
        .await
        .expect_err("nothing listens");

    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, ConnectError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&url), "{err}");
    eprintln!("unreachable: {err}");
}

#[tokio::test]
async fn every_server_of_a_list_is_tried_once_and_the_error_names_them_all() {
    let first = format!("nats://127.0.0.1:{}", closed_port());
    let second = format!("nats://127.0.0.1:{}", closed_port());
    let options = ConnectOptions {
        servers: vec![format!("{first},{second}")],
        ..Default::default()
    };

    let started = Instant::now();
    let err = connect_isolated(&options)
        .await
        .expect_err("nothing listens");

    assert!(started.elapsed() < Duration::from_secs(3));
    let shown = err.to_string();
    assert!(shown.contains(&first) && shown.contains(&second), "{shown}");
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_never_printed() {
    let nats = require_nats!(
        NatsServer::builder().config_extra(r#"authorization { user: a, password: b }"#)
    );
    let (mut options, _config) = options_for(&nats);
    options.user = Some("a".into());
    options.password = Some("hunter2-wrong-password".into());

    let err = connect_isolated(&options)
        .await
        .expect_err("wrong password");

    assert!(matches!(err, ConnectError::AuthRefused { .. }), "{err:?}");
    let shown = format!("{err} {err:?} {options:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(err.to_string().contains("user \"a\""), "{err}");
    eprintln!("auth refused on {}: {err}", nats.version());
}

#[tokio::test]
async fn no_credentials_for_a_server_that_requires_them_is_refused() {
    let nats = require_nats!(
        NatsServer::builder().config_extra(r#"authorization { user: a, password: b }"#)
    );
    let (options, _config) = options_for(&nats);

    let err = connect_isolated(&options)
        .await
        .expect_err("no credentials");

    assert!(matches!(err, ConnectError::AuthRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("no credentials"), "{err}");
}

#[tokio::test]
async fn user_and_password_authentication_succeeds() {
    let nats = require_nats!(
        NatsServer::builder().config_extra(r#"authorization { user: a, password: b }"#)
    );
    let (mut options, _config) = options_for(&nats);
    options.user = Some("a".into());
    options.password = Some("b".into());

    let conn = connect_isolated(&options).await.expect("connect as a");

    assert_eq!(conn.server.version, nats.version());
}

#[tokio::test]
async fn credentials_in_the_server_url_authenticate_and_are_redacted() {
    let nats = require_nats!(
        NatsServer::builder().config_extra(r#"authorization { user: a, password: url-pw }"#)
    );
    let (mut options, _config) = options_for(&nats);
    options.servers = vec![format!("nats://a:url-pw@127.0.0.1:{}", nats.port())];

    let conn = connect_isolated(&options).await.expect("connect");

    assert_eq!(conn.server.url_redacted, nats.url());
    assert!(!format!("{conn:?}").contains("url-pw"));
}

#[tokio::test]
async fn a_user_allowed_only_the_jetstream_api_connects_promptly_without_an_account_name() {
    let nats = require_nats!(NatsServer::builder().config_extra(
        r#"authorization { users: [ { user: js, password: js,
             permissions: { publish: ["$JS.API.>"], subscribe: ["_INBOX.>"] } } ] }"#
    ));
    let (mut options, _config) = options_for(&nats);
    options.user = Some("js".into());
    options.password = Some("js".into());

    let started = Instant::now();
    let conn = connect_isolated(&options).await.expect("connect as js");

    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(conn.server.version, nats.version());
    assert_eq!(conn.server.account, None);
    eprintln!(
        "restricted user on {}: {:?} in {:?}",
        nats.version(),
        conn.server,
        started.elapsed()
    );
}

#[tokio::test]
async fn token_authentication_succeeds_and_a_wrong_token_is_refused() {
    let nats =
        require_nats!(NatsServer::builder().config_extra(r#"authorization { token: "t0ken" }"#));
    let (mut options, _config) = options_for(&nats);

    options.token = Some("t0ken".into());
    connect_isolated(&options).await.expect("right token");

    options.token = Some("not-the-t0ken".into());
    let err = connect_isolated(&options).await.expect_err("wrong token");
    assert!(matches!(err, ConnectError::AuthRefused { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("not-the-t0ken"));
}

#[tokio::test]
async fn nkey_seed_file_authentication_succeeds() {
    // The key pair of nats-server's own nkey examples.
    const PUBLIC: &str = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";
    const SEED: &str = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
    let nats = require_nats!(NatsServer::builder().config_extra(format!(
        "authorization {{ users: [ {{ nkey: {PUBLIC} }} ] }}"
    )));
    let (mut options, config) = options_for(&nats);
    let seed_file = config.path().join("user.nk");
    std::fs::write(&seed_file, format!("{SEED}\n")).unwrap();
    options.nkey = Some(seed_file);

    connect_isolated(&options).await.expect("nkey auth");
}

#[tokio::test]
async fn an_unreadable_credentials_file_is_named_without_its_content() {
    let nats = require_nats!();
    let (mut options, config) = options_for(&nats);
    let missing = config.path().join("missing.creds");
    options.creds = Some(missing.clone());

    let err = connect_isolated(&options).await.expect_err("no creds file");
    assert!(
        matches!(err, ConnectError::LocalFile { ref path, .. } if *path == missing),
        "{err:?}"
    );
    assert!(err.to_string().contains("missing.creds"), "{err}");

    let garbage = config.path().join("garbage.creds");
    std::fs::write(&garbage, "secret-looking-content-xyz").unwrap();
    options.creds = Some(garbage);
    let err = connect_isolated(&options)
        .await
        .expect_err("bad creds file");
    assert!(matches!(err, ConnectError::LocalFile { .. }), "{err:?}");
    assert!(
        !format!("{err} {err:?}").contains("secret-looking"),
        "{err}"
    );
    eprintln!("bad creds: {err}");
}

#[tokio::test]
async fn a_server_without_jetstream_reports_jetstream_disabled() {
    let nats = require_nats!(NatsServer::builder().jetstream(false));
    let (options, _config) = options_for(&nats);

    let err = connect_isolated(&options).await.expect_err("no JetStream");

    assert!(
        matches!(err, ConnectError::JetStreamDisabled { .. }),
        "{err:?}"
    );
    eprintln!("js disabled on {}: {err}", nats.version());
}

#[tokio::test]
async fn an_account_without_jetstream_reports_jetstream_disabled_with_its_err_code() {
    let nats = require_nats!(
        NatsServer::builder()
            .config_extra(r#"accounts { NOJS: { users: [ { user: nojs, password: nojs } ] } }"#)
    );
    let (mut options, _config) = options_for(&nats);
    options.user = Some("nojs".into());
    options.password = Some("nojs".into());

    let err = connect_isolated(&options)
        .await
        .expect_err("account has no JetStream");

    assert!(
        matches!(err, ConnectError::JetStreamDisabled { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains(&ApiError::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT.to_string()),
        "{err}"
    );
    eprintln!("account without js on {}: {err}", nats.version());
}

#[tokio::test]
async fn the_wrong_jetstream_domain_is_reported_as_such_and_the_right_one_works() {
    let nats = require_nats!(NatsServer::builder().domain("hub"));
    let (mut options, _config) = options_for(&nats);

    options.js_domain = Some("spoke".into());
    let err = connect_isolated(&options).await.expect_err("wrong domain");
    assert!(
        matches!(err, ConnectError::WrongDomain { ref domain, .. } if domain == "spoke"),
        "{err:?}"
    );
    assert!(err.to_string().contains("\"spoke\""), "{err}");
    eprintln!("wrong domain on {}: {err}", nats.version());

    options.js_domain = Some("hub".into());
    let conn = connect_isolated(&options).await.expect("right domain");
    assert_eq!(conn.server.domain.as_deref(), Some("hub"));
    assert_eq!(conn.api().prefix(), "$JS.hub.API");
}

#[tokio::test]
async fn a_nats_context_file_in_the_config_dir_is_honoured() {
    let nats = require_nats!(
        NatsServer::builder()
            .domain("hub")
            .config_extra(r#"authorization { user: ctx, password: ctx-pw }"#)
    );
    let config = tempfile::tempdir().unwrap();
    let context_dir = config.path().join("nats").join("context");
    std::fs::create_dir_all(&context_dir).unwrap();
    std::fs::write(
        context_dir.join("test.json"),
        serde_json::json!({
            "description": "written by a test",
            "url": nats.url(),
            "user": "ctx",
            "password": "ctx-pw",
            "jetstream_domain": "hub",
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(config.path().join("nats").join("context.txt"), "test\n").unwrap();
    let options = ConnectOptions {
        config_home: Some(config.path().to_path_buf()),
        ..Default::default()
    };

    let resolved = options.resolve_with(&|_| None).expect("resolve");
    assert_eq!(resolved.context.as_deref(), Some("test"));
    assert!(matches!(resolved.auth, Auth::UserPassword { ref user, .. } if user == "ctx"));
    let conn = connect_resolved(&resolved)
        .await
        .expect("connect via context");

    assert_eq!(conn.server.domain.as_deref(), Some("hub"));
    assert_eq!(conn.server.url_redacted, nats.url());
}

#[tokio::test]
async fn tls_is_verified_against_the_given_ca_and_an_untrusted_server_is_a_tls_error() {
    let certs = tempfile::tempdir().unwrap();
    if make_certificates(certs.path()).is_none() {
        assert!(
            !support::in_ci(),
            "openssl is needed to make test certificates"
        );
        eprintln!("SKIPPED: no openssl to make test certificates");
        return;
    }
    let path = |name: &str| certs.path().join(name).display().to_string();
    let nats = require_nats!(NatsServer::builder().config_extra(format!(
        "tls {{ cert_file: {:?}, key_file: {:?} }}",
        path("server.pem"),
        path("server.key")
    )));
    let (mut options, _config) = options_for(&nats);

    let err = connect_isolated(&options)
        .await
        .expect_err("CA not trusted");
    assert!(matches!(err, ConnectError::Tls { .. }), "{err:?}");
    eprintln!("untrusted on {}: {err}", nats.version());

    options.tls_ca = Some(certs.path().join("ca.pem"));
    let conn = connect_isolated(&options).await.expect("trusted CA");
    assert_eq!(conn.server.version, nats.version());
}

#[tokio::test]
async fn tls_first_against_a_plain_server_is_a_tls_error() {
    let nats = require_nats!();
    let (mut options, _config) = options_for(&nats);
    options.tls_first = true;

    let err = connect_isolated(&options)
        .await
        .expect_err("server does not speak TLS");

    assert!(matches!(err, ConnectError::Tls { .. }), "{err:?}");
    eprintln!("tls first on {}: {err}", nats.version());
}

#[tokio::test]
async fn a_missing_ca_file_is_a_local_file_error_naming_it() {
    let nats = require_nats!();
    let (mut options, config) = options_for(&nats);
    let missing = config.path().join("nope-ca.pem");
    options.tls_ca = Some(missing.clone());

    let err = connect_isolated(&options).await.expect_err("no CA file");

    assert!(
        matches!(err, ConnectError::LocalFile { ref path, .. } if *path == missing),
        "{err:?}"
    );
}
