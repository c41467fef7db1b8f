//! Secrets never leave the controller, for every way of authenticating a
//! `NatsConnection` can take from a Kubernetes Secret besides `.creds` (that
//! one is in `tests/nats_secrets_creds.rs`): user and password, token, nkey
//! seed, and a TLS client key.
//!
//! For each, a real nats-server requires that method; the controller's
//! reconcile runs in-process against kube-rs's `tower-test` mock of the
//! Kubernetes API (the harness in `tests/support/controller.rs`). The Secret
//! first holds a wrong value that contains the right one (so that an echo of
//! the value, right or wrong, is caught): the connection is refused and its
//! status says why; then the Secret is rotated to the right value: the
//! connection is `Connected` and a Stream naming it is created on the server
//! (checked with a plain client). No secret value (nor its base64 form as the
//! Secret holds it) shows in any request the controller sent to the API
//! (status patches, Events, annotations), any status, or any log line of the
//! reconcile, captured at TRACE with async-nats's own.

#[path = "support/controller.rs"]
mod controller_support;
mod support;

use std::path::Path;

use controller_support::{
    Logs, Object, assert_hidden, context, event, secret_data, secret_is_read,
};
use jetsync::controller::conditions::{events, reasons, types};
use jetsync::controller::reconcile::{reconcile, reconcile_connection};
use jetsync::resources::{NatsConnection, Stream};
use serde_json::{Value, json};
use support::{NatsServer, make_certificates};

const PASSWORD: &str = "pw-4c1d82-UNIQUE-controller-password";
const TOKEN: &str = "tok-9e07b5-UNIQUE-controller-token";

/// The Secret every `NatsConnection` here reads its values from.
const SECRET: &str = "nats-auth";

/// A `secretRef` to `key` of [`SECRET`].
fn secret_ref(key: &str) -> Value {
    json!({"secretRef": {"name": SECRET, "key": key}})
}

/// The Secret's data at one step: key and value.
type Data = Vec<(&'static str, String)>;

/// A Secret content the server (or the client library) refuses.
struct Refusal {
    data: Data,
    /// The `Ready` condition's reason.
    reason: &'static str,
    /// Part of the `Ready` message.
    says: &'static str,
}

/// One way of authenticating, against a server that requires it.
struct Mode<'a> {
    nats: &'a NatsServer,
    /// The server URL the `NatsConnection` names.
    server: String,
    /// The `NatsConnection` spec's fields besides `servers` (`auth`, `tls`).
    fields: Value,
    /// Refused contents, in order; consecutive reasons differ (each is a
    /// change of `Ready`, so each publishes an Event).
    refusals: Vec<Refusal>,
    /// The right content.
    right: Data,
    /// What must never show.
    secrets: Vec<String>,
    /// A plain client with the right secret, to look at the server.
    client: async_nats::ConnectOptions,
}

fn pairs(data: &Data) -> Vec<(&str, &str)> {
    data.iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect()
}

/// Runs the `NatsConnection` of `mode` through the controller: refused for
/// every refusal, then connected, then a Stream is created through it; no
/// secret shows in what the controller sent or logged.
async fn check(mode: Mode<'_>) {
    let logs = Logs::default();
    logs.capture();
    let (ctx, mut kube) = context(mode.nats);
    let mut shown = Vec::new();
    let mut served = Vec::new();
    let mut spec = mode.fields.clone();
    spec["servers"] = json!([mode.server]);
    let prod = Object::new("NatsConnection", "natsconnections", "prod", spec);
    let (action, seen) = kube
        .run(
            vec![prod.adds_connection_finalizer()],
            reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    shown.extend(seen);

    for refusal in &mode.refusals {
        served.extend(refusal.data.iter().map(|(_, value)| value.clone()));
        let (action, seen) = kube
            .run(
                vec![
                    secret_is_read(SECRET, &pairs(&refusal.data)),
                    prod.writes_status(),
                    event(events::CONNECTION_FAILED),
                ],
                reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
            )
            .await;
        action.unwrap();
        shown.extend(seen);
        let ready = prod.condition(types::READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", refusal.reason),
            "{}",
            ready.message
        );
        assert!(
            ready.message.contains(refusal.says),
            "the message says {:?}: {}",
            refusal.says,
            ready.message
        );
        shown.push(format!("{:?}", prod.value()["status"]));
    }

    // The Secret is rotated to the right content: connected.
    served.extend(mode.right.iter().map(|(_, value)| value.clone()));
    let (action, seen) = kube
        .run(
            vec![
                secret_is_read(SECRET, &pairs(&mode.right)),
                prod.writes_status(),
            ],
            reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    shown.extend(seen);
    let ready = prod.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", reasons::CONNECTED),
        "{}",
        ready.message
    );
    assert!(
        ready
            .message
            .contains(&format!("nats-server {}", mode.nats.version())),
        "{}",
        ready.message
    );
    shown.push(format!("{:?}", prod.value()["status"]));

    // A stream naming the connection is created through it.
    let orders = Object::new(
        "Stream",
        "streams",
        "orders",
        json!({"name": "ORDERS", "subjects": ["orders.>"], "maxAge": "1h", "connection": "prod"}),
    );
    let (action, seen) = kube
        .run(
            vec![
                prod.is_read(),
                secret_is_read(SECRET, &pairs(&mode.right)),
                orders.adds_finalizer_and_address(),
                orders.writes_status(),
                event(events::CREATED),
            ],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    shown.extend(seen);
    let ready = orders.condition(types::READY);
    assert_eq!(ready.status, "True", "{}", ready.message);
    shown.push(format!("{:?}", orders.value()["status"]));

    // Everything the reconciles logged, at TRACE: the controller's own lines
    // and async-nats's (which traces the CONNECT it sends).
    let logged = logs.text();
    for needle in ["jetsync::controller", "async_nats::connection", "CONNECT"] {
        assert!(
            logged.contains(needle),
            "the logs have {needle:?}:\n{logged}"
        );
    }

    // The stream is on the server, seen by a plain client with the right secret.
    let client = mode
        .client
        .connect(mode.server.as_str())
        .await
        .unwrap_or_else(|e| panic!("the right secret is accepted: {e}"));
    let info = client
        .request("$JS.API.STREAM.INFO.ORDERS", Vec::new().into())
        .await
        .unwrap();
    let info: Value = serde_json::from_slice(&info.payload).unwrap();
    assert_eq!(info["config"]["name"], "ORDERS", "{info}");

    // The secrets, and every Secret value holding one as the Secret's data
    // carries it (base64).
    let mut secrets = mode.secrets.clone();
    assert!(!secrets.is_empty() && secrets.iter().all(|s| s.len() >= 16));
    for value in served {
        if mode
            .secrets
            .iter()
            .any(|secret| value.contains(secret.as_str()))
        {
            secrets.push(secret_data(&value));
        }
    }
    assert_hidden(&secrets, &logged, "the controller's logs");
    assert_hidden(
        &secrets,
        &shown.join("\n"),
        "what the controller sent to the API server (status, events, patches)",
    );
}

#[tokio::test]
async fn a_password_in_a_secret_never_shows_in_the_controller() {
    let nats = require_nats!(NatsServer::builder().config_extra(format!(
        "authorization {{ user: jetsync, password: \"{PASSWORD}\" }}"
    )));
    check(Mode {
        nats: &nats,
        server: nats.url(),
        fields: json!({"auth": {"userPassword": {"user": "jetsync", "password": secret_ref("password")}}}),
        refusals: vec![Refusal {
            data: vec![("password", format!("{PASSWORD}-wrong"))],
            reason: reasons::AUTH_REFUSED,
            says: "user and password (user \"jetsync\")",
        }],
        right: vec![("password", PASSWORD.to_string())],
        secrets: vec![PASSWORD.to_string()],
        client: async_nats::ConnectOptions::with_user_and_password(
            "jetsync".into(),
            PASSWORD.into(),
        ),
    })
    .await;
}

#[tokio::test]
async fn a_token_in_a_secret_never_shows_in_the_controller() {
    let nats = require_nats!(
        NatsServer::builder().config_extra(format!("authorization {{ token: \"{TOKEN}\" }}"))
    );
    check(Mode {
        nats: &nats,
        server: nats.url(),
        fields: json!({"auth": {"token": secret_ref("token")}}),
        refusals: vec![Refusal {
            data: vec![("token", format!("{TOKEN}-wrong"))],
            reason: reasons::AUTH_REFUSED,
            says: "with a token",
        }],
        right: vec![("token", TOKEN.to_string())],
        secrets: vec![TOKEN.to_string()],
        client: async_nats::ConnectOptions::with_token(TOKEN.into()),
    })
    .await;
}

#[tokio::test]
async fn an_nkey_seed_in_a_secret_never_shows_in_the_controller() {
    let fixture = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/secrets")
            .join(name);
        std::fs::read_to_string(path).unwrap().trim().to_string()
    };
    let (seed, public) = (fixture("test-user.nk"), fixture("test-user.pub"));
    let nats = require_nats!(NatsServer::builder().config_extra(format!(
        "authorization {{ users: [ {{ nkey: \"{public}\" }} ] }}"
    )));
    // A valid seed of a user the server does not know.
    let other = nkeys::KeyPair::new_user().seed().unwrap();
    check(Mode {
        nats: &nats,
        server: nats.url(),
        fields: json!({"auth": {"nkey": secret_ref("user.nk")}}),
        refusals: vec![
            // The first seed line is used: the other user's; the server refuses it.
            Refusal {
                data: vec![("user.nk", format!("{other}\n{seed}\n"))],
                reason: reasons::AUTH_REFUSED,
                says: "refused authentication with the nkey seed file",
            },
            // The right seed with one character more is no seed at all.
            Refusal {
                data: vec![("user.nk", format!("{seed}A\n"))],
                reason: reasons::CONNECTION_FAILED,
                says: "not a valid nkey seed",
            },
        ],
        right: vec![("user.nk", format!("{seed}\n"))],
        // The seed's body without its prefix, so that a partial echo is caught too.
        secrets: vec![seed.clone(), seed[2..40].to_string(), other],
        client: async_nats::ConnectOptions::with_nkey(seed.clone()),
    })
    .await;
}

/// The lines of a PEM body (the key material), without the armour.
fn pem_body(pem: &str) -> Vec<String> {
    pem.lines()
        .filter(|line| !line.starts_with("-----") && line.len() >= 16)
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_tls_client_key_in_a_secret_never_shows_in_the_controller() {
    let certificates = tempfile::tempdir().unwrap();
    let dir = certificates.path();
    if make_certificates(dir).is_none() {
        assert!(
            !support::in_ci(),
            "openssl is needed to make the test certificates"
        );
        eprintln!(
            "SKIPPED: a_tls_client_key_in_a_secret_never_shows_in_the_controller: \
             no usable openssl binary"
        );
        return;
    }
    let file = |name: &str| dir.join(name).display().to_string();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let nats = require_nats!(NatsServer::builder().config_extra(format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify: true\n}}",
        file("server.pem"),
        file("server.key"),
        file("ca.pem")
    )));
    let (ca, cert, key, server_key) = (
        read("ca.pem"),
        read("client.pem"),
        read("client.key"),
        read("server.key"),
    );
    let secrets: Vec<String> = [pem_body(&key), pem_body(&server_key)].concat();
    assert!(secrets.len() >= 4, "{key}\n{server_key}");
    let data = |key: String| -> Data {
        vec![
            ("ca.crt", ca.clone()),
            ("tls.crt", cert.clone()),
            ("tls.key", key),
        ]
    };
    check(Mode {
        nats: &nats,
        server: format!("tls://127.0.0.1:{}", nats.port()),
        fields: json!({"tls": {
            "ca": secret_ref("ca.crt"),
            "cert": secret_ref("tls.crt"),
            "key": secret_ref("tls.key"),
        }}),
        // The first key is used: the server's, which does not match the
        // client certificate; the right key follows it.
        refusals: vec![Refusal {
            data: data(format!("{server_key}{key}")),
            reason: reasons::CONNECTION_FAILED,
            says: "TLS with the NATS server",
        }],
        right: data(key.clone()),
        secrets,
        client: async_nats::ConnectOptions::new()
            .require_tls(true)
            .add_root_certificates(dir.join("ca.pem"))
            .add_client_certificate(dir.join("client.pem"), dir.join("client.key")),
    })
    .await;
}

/// The capture is not blind: a value the controller does show (the user
/// name, which is no secret) is found in the status patch, the Event and
/// the logs, through the same channels the tests above search.
#[tokio::test]
async fn a_value_the_controller_shows_is_found_where_the_secrets_are_searched() {
    const CANARY: &str = "canary-user-0b7e41";
    let nats = require_nats!(NatsServer::builder().config_extra(format!(
        "authorization {{ user: jetsync, password: \"{PASSWORD}\" }}"
    )));
    let logs = Logs::default();
    logs.capture();
    let (ctx, mut kube) = context(&nats);
    let prod = Object::new(
        "NatsConnection",
        "natsconnections",
        "prod",
        json!({
            "servers": [nats.url()],
            "auth": {"userPassword": {"user": CANARY, "password": secret_ref("password")}},
        }),
    );
    kube.run(
        vec![prod.adds_connection_finalizer()],
        reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();
    let (action, seen) = kube
        .run(
            vec![
                secret_is_read(SECRET, &[("password", PASSWORD)]),
                prod.writes_status(),
                event(events::CONNECTION_FAILED),
            ],
            reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    assert_eq!(prod.condition(types::READY).reason, reasons::AUTH_REFUSED);
    let [_, status_patch, event_body] = seen.as_slice() else {
        panic!("three requests: {seen:#?}");
    };
    for (what, text) in [
        ("the status patch", status_patch.clone()),
        ("the Event", event_body.clone()),
        ("the status", format!("{:?}", prod.value()["status"])),
        ("the logs", logs.text()),
    ] {
        assert!(text.contains(CANARY), "{what} shows {CANARY:?}:\n{text}");
    }
}
