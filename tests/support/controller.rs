//! Shared harness for tests that run the controller's reconcile in-process:
//! kube-rs's `tower-test` mock stands in for the Kubernetes API server (every
//! request is checked against an expected method and path, in order, and its
//! body kept), [`Object`] holds a resource as the API server would, a real
//! nats-server does the NATS side, and [`Logs`] captures the test thread's
//! log lines at TRACE (async-nats's included) through one global subscriber.
//!
//! Include it with `#[path = "support/controller.rs"] mod controller_support;`
//! next to `mod support;`.

#![allow(dead_code)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use jetsync::controller::conditions::{events, types};
use jetsync::controller::connections::ConnectionPool;
use jetsync::controller::metrics::Metrics;
use jetsync::controller::reconcile::{FINALIZER, reconcile};
use jetsync::controller::resource::ADDRESS_ANNOTATION;
use jetsync::controller::resource::AssetResource;
use jetsync::controller::{Context, Settings};
use jetsync::nats::ConnectOptions;
use jetsync::resources::AssetStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::client::Body;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_test::mock::Handle;

use crate::support::NatsServer;

pub const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 of `bytes` with `alphabet`, padded with `=` when `pad`.
pub fn base64(bytes: &[u8], alphabet: &[u8], pad: bool) -> String {
    let mut text = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else if pad {
                text.push('=');
            }
        }
    }
    text
}

/// A Secret's `data` value: standard base64, padded.
pub fn secret_data(value: &str) -> String {
    base64(value.as_bytes(), BASE64, true)
}

/// Fails when any of `secrets` is in `text`.
pub fn assert_hidden(secrets: &[String], text: &str, what: &str) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "the secret {secret:?} leaked in {what}:\n{text}"
        );
    }
}

pub const NAMESPACE: &str = "team-a";

/// How the API server answers a request body: HTTP status and JSON body.
pub type Reply = Box<dyn FnOnce(&Value) -> (u16, Value) + Send>;

/// One request the reconcile must send next, and how the API server answers.
pub struct Expect {
    method: &'static str,
    path: String,
    reply: Reply,
}

pub fn expect(
    method: &'static str,
    path: impl Into<String>,
    reply: impl FnOnce(&Value) -> (u16, Value) + Send + 'static,
) -> Expect {
    Expect {
        method,
        path: path.into(),
        reply: Box::new(reply),
    }
}

/// The Kubernetes API side (kube-rs's `tower-test` mock): every request is
/// checked against the expected method and path, in order.
pub struct Kube {
    handle: Handle<Request<Body>, Response<Body>>,
}

impl Kube {
    /// Runs `work` while answering exactly `expected`, in order; returns
    /// every request the controller sent, as text.
    pub async fn run<T>(
        &mut self,
        expected: Vec<Expect>,
        work: impl Future<Output = T>,
    ) -> (T, Vec<String>) {
        let (result, seen) = self.run_seen(expected, work).await;
        (result, seen.iter().map(Seen::to_string).collect())
    }

    /// Runs `work` while answering exactly `expected`, in order; fails on
    /// any other request, on a missing one, and on one sent after `work`.
    /// Returns every request the controller sent.
    pub async fn run_seen<T>(
        &mut self,
        expected: Vec<Expect>,
        work: impl Future<Output = T>,
    ) -> (T, Vec<Seen>) {
        let handle = &mut self.handle;
        let serve = async move {
            let mut seen: Vec<Seen> = Vec::new();
            for expect in expected {
                let next = tokio::time::timeout(Duration::from_secs(30), handle.next_request())
                    .await
                    .unwrap_or_else(|_| {
                        panic!(
                            "expected {} {} but no request came; seen so far: {seen:#?}",
                            expect.method, expect.path
                        )
                    });
                let (request, send) = next.expect("the client is gone");
                let method = request.method().to_string();
                let path = request.uri().path().to_string();
                let query = request.uri().query().unwrap_or_default().to_string();
                let bytes = request.into_body().collect_bytes().await.unwrap();
                let body: Value = if bytes.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes).unwrap()
                };
                assert_eq!(
                    (method.as_str(), path.as_str()),
                    (expect.method, expect.path.as_str()),
                    "unexpected request (body {body}); seen before: {seen:#?}"
                );
                let (status, reply) = (expect.reply)(&body);
                send.send_response(
                    Response::builder()
                        .status(status)
                        .body(Body::from(serde_json::to_vec(&reply).unwrap()))
                        .unwrap(),
                );
                seen.push(Seen {
                    method,
                    path,
                    query,
                    body,
                });
            }
            seen
        };
        let work = async {
            tokio::time::timeout(Duration::from_secs(60), work)
                .await
                .expect("the reconcile did not finish: did it send a request nobody expected?")
        };
        let (result, seen) = tokio::join!(work, serve);
        if let Ok(Some((request, _))) =
            tokio::time::timeout(Duration::from_millis(50), self.handle.next_request()).await
        {
            panic!(
                "unexpected extra request {} {} after {seen:#?}",
                request.method(),
                request.uri()
            );
        }
        (result, seen)
    }
}

/// A request as the API server saw it.
#[derive(Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Value,
}

impl Seen {
    /// True for a request that changes something (all but reads).
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD")
    }
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}?{} {}",
            self.method, self.path, self.query, self.body
        )
    }
}

/// The API server's answer for an object that does not exist.
pub fn not_found(kind: &str, name: &str) -> (u16, Value) {
    (
        404,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("{kind} \"{name}\" not found"), "reason": "NotFound", "code": 404
        }),
    )
}

/// A resource as the API server holds it.
#[derive(Clone)]
pub struct Object {
    plural: &'static str,
    name: String,
    state: Arc<Mutex<Value>>,
}

impl Object {
    pub fn new(kind: &str, plural: &'static str, name: &str, spec: Value) -> Self {
        let object = json!({
            "apiVersion": "jetsync.dev/v1alpha1",
            "kind": kind,
            "metadata": {
                "name": name, "namespace": NAMESPACE, "uid": format!("uid-{name}"),
                "generation": 1, "resourceVersion": "1",
            },
            "spec": spec,
        });
        Self {
            plural,
            name: name.to_string(),
            state: Arc::new(Mutex::new(object)),
        }
    }

    pub fn stream(name: &str, spec: Value) -> Self {
        Self::new("Stream", "streams", name, spec)
    }

    /// The resource with the controller's finalizer on, as after its first
    /// reconcile.
    pub fn finalized(self) -> Self {
        self.edit(|o| o["metadata"]["finalizers"] = json!([FINALIZER]));
        self
    }

    pub fn annotation(&self, key: &str) -> Option<String> {
        self.value()["metadata"]["annotations"][key]
            .as_str()
            .map(str::to_string)
    }

    pub fn path(&self) -> String {
        format!(
            "/apis/jetsync.dev/v1alpha1/namespaces/{NAMESPACE}/{}/{}",
            self.plural, self.name
        )
    }

    pub fn value(&self) -> Value {
        self.state.lock().unwrap().clone()
    }

    pub fn get<K: DeserializeOwned>(&self) -> Arc<K> {
        Arc::new(serde_json::from_value(self.value()).unwrap())
    }

    pub fn edit(&self, change: impl FnOnce(&mut Value)) {
        let mut state = self.state.lock().unwrap();
        change(&mut state);
    }

    /// A user's `kubectl apply` of a new spec: the generation moves.
    pub fn set_spec(&self, field: &str, value: Value) {
        self.edit(|object| {
            object["spec"][field] = value;
            let generation = object["metadata"]["generation"].as_i64().unwrap();
            object["metadata"]["generation"] = json!(generation + 1);
        });
    }

    /// `kubectl delete`: the deletion timestamp is set.
    pub fn delete(&self) {
        self.edit(|object| {
            object["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        });
    }

    /// The finalizer is removed with a JSON patch after cleanup.
    pub fn removes_finalizer(&self) -> Expect {
        let object = self.clone();
        expect("PATCH", self.path(), move |patch| {
            assert_eq!(patch[1]["op"], "remove", "{patch}");
            object.edit(|o| o["metadata"]["finalizers"] = json!([]));
            (200, object.value())
        })
    }

    pub fn status(&self) -> AssetStatus {
        serde_json::from_value(self.value()["status"].clone()).unwrap_or_default()
    }

    pub fn condition(&self, type_: &str) -> Condition {
        self.status()
            .conditions
            .into_iter()
            .find(|c| c.type_ == type_)
            .unwrap_or_else(|| panic!("no {type_} condition in {:#?}", self.status()))
    }

    /// A `NatsConnection`'s finalizer is added with a JSON patch
    /// (kube-runtime's finalizer helper), in a reconcile of its own.
    pub fn adds_connection_finalizer(&self) -> Expect {
        let object = self.clone();
        expect("PATCH", self.path(), move |patch| {
            assert_eq!(
                patch[1],
                json!({"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}),
                "{patch}"
            );
            object.edit(|o| o["metadata"]["finalizers"] = json!([FINALIZER]));
            (200, object.value())
        })
    }

    /// The finalizer alone is added by a merge patch guarded by the
    /// resource version (no asset is held yet to record the address of).
    pub fn adds_finalizer(&self) -> Expect {
        self.adds_metadata(false)
    }

    /// The finalizer and the asset's address are added in one merge patch,
    /// guarded by the resource version.
    pub fn adds_finalizer_and_address(&self) -> Expect {
        self.adds_metadata(true)
    }

    /// A new resource's asset is made: the finalizer with the address, the
    /// status, the `Created` Event — its three writes.
    pub fn is_created(&self) -> Vec<Expect> {
        vec![
            self.adds_finalizer_and_address(),
            self.writes_status(),
            event(events::CREATED),
        ]
    }

    fn adds_metadata(&self, with_address: bool) -> Expect {
        let object = self.clone();
        expect("PATCH", self.path(), move |patch| {
            let metadata = &patch["metadata"];
            assert_eq!(
                metadata["resourceVersion"],
                object.value()["metadata"]["resourceVersion"],
                "{patch}"
            );
            let finalizers = metadata["finalizers"].as_array().expect("finalizers");
            assert!(finalizers.contains(&json!(FINALIZER)), "{patch}");
            assert_eq!(
                metadata["annotations"][ADDRESS_ANNOTATION].is_string(),
                with_address,
                "{patch}"
            );
            object.edit(|o| {
                o["metadata"]["finalizers"] = metadata["finalizers"].clone();
                if with_address {
                    if !o["metadata"]["annotations"].is_object() {
                        o["metadata"]["annotations"] = json!({});
                    }
                    o["metadata"]["annotations"][ADDRESS_ANNOTATION] =
                        metadata["annotations"][ADDRESS_ANNOTATION].clone();
                }
            });
            (200, object.value())
        })
    }

    /// The asset's address is recorded in an annotation by server-side apply.
    pub fn records_address(&self) -> Expect {
        let object = self.clone();
        expect("PATCH", self.path(), move |patch| {
            let annotations = patch["metadata"]["annotations"].clone();
            assert!(annotations.is_object(), "{patch}");
            object.edit(|o| {
                if !o["metadata"]["annotations"].is_object() {
                    o["metadata"]["annotations"] = json!({});
                }
                for (key, value) in annotations.as_object().unwrap() {
                    o["metadata"]["annotations"][key] = value.clone();
                }
            });
            (200, object.value())
        })
    }

    /// The status is written by server-side apply under one field manager,
    /// whole: the API server deletes a field its only manager stops
    /// applying (as this one does), so every field written before is sent.
    pub fn writes_status(&self) -> Expect {
        let object = self.clone();
        expect("PATCH", format!("{}/status", self.path()), move |patch| {
            assert_whole_status(&object.value()["status"], &patch["status"]);
            object.edit(|o| o["status"] = patch["status"].clone());
            (200, object.value())
        })
    }

    /// The status is applied whole except for the live counts, removed on
    /// purpose: the asset is gone.
    pub fn writes_status_without_counts(&self) -> Expect {
        let object = self.clone();
        expect("PATCH", format!("{}/status", self.path()), move |patch| {
            let mut before = object.value()["status"].clone();
            if let Some(status) = before.as_object_mut() {
                status.remove("summary");
            }
            assert_whole_status(&before, &patch["status"]);
            assert!(patch["status"].get("summary").is_none(), "{patch}");
            object.edit(|o| o["status"] = patch["status"].clone());
            (200, object.value())
        })
    }

    /// The API server's answer to a GET of this object.
    pub fn is_read(&self) -> Expect {
        let object = self.clone();
        expect("GET", self.path(), move |_| (200, object.value()))
    }
}

/// Fails unless `applied` holds `observedGeneration`, the conditions, and
/// every field and condition type of `before` (the status as written).
pub fn assert_whole_status(before: &Value, applied: &Value) {
    assert!(applied["observedGeneration"].is_i64(), "{applied}");
    assert!(applied["conditions"].is_array(), "{applied}");
    for field in before.as_object().into_iter().flatten().map(|(k, _)| k) {
        assert!(
            applied.get(field).is_some(),
            "status.{field} was written before and is left out of this apply (the API server would delete it): {applied}"
        );
    }
    let types = |status: &Value| -> Vec<String> {
        let mut types: Vec<String> = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["type"].as_str().map(str::to_string))
            .collect();
        types.sort();
        types
    };
    for type_ in types(before) {
        assert!(
            types(applied).contains(&type_),
            "the {type_} condition is left out of this apply: {applied}"
        );
    }
}

/// An Event with `reason` is published about the resource.
pub fn event(reason: &'static str) -> Expect {
    expect(
        "POST",
        format!("/apis/events.k8s.io/v1/namespaces/{NAMESPACE}/events"),
        move |body| {
            assert_eq!(body["reason"], reason, "event {body}");
            (200, body.clone())
        },
    )
}

/// A Secret `name` holding `data`, as the API server returns it.
pub fn secret(name: &str, data: &[(&str, &str)]) -> Value {
    let encoded: serde_json::Map<String, Value> = data
        .iter()
        .map(|(key, value)| (key.to_string(), Value::String(secret_data(value))))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "data": encoded,
    })
}

/// The API path of the Secret `name`.
pub fn secret_path(name: &str) -> String {
    format!("/api/v1/namespaces/{NAMESPACE}/secrets/{name}")
}

/// Seconds until the requeue of `action`, read from its Debug form
/// (kube-runtime keeps the field private); None for no requeue.
pub fn requeue_secs(action: &kube::runtime::controller::Action) -> Option<f64> {
    let text = format!("{action:?}");
    let inner = text.split("Some(").nth(1)?.split(')').next()?;
    let (number, scale) = if let Some(ms) = inner.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(us) = inner.strip_suffix("µs") {
        (us, 0.000_001)
    } else if let Some(ns) = inner.strip_suffix("ns") {
        (ns, 0.000_000_001)
    } else {
        (inner.strip_suffix('s')?, 1.0)
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// The API server's answer to a GET of the Secret `name` holding `data`.
pub fn secret_is_read(name: &str, data: &[(&str, &str)]) -> Expect {
    let secret = secret(name, data);
    expect("GET", secret_path(name), move |_| (200, secret))
}

pub fn context(server: &NatsServer) -> (Arc<Context>, Kube) {
    context_with(server, Settings::default())
}

/// A context with `settings` (writes are tried once).
pub fn context_with(server: &NatsServer, settings: Settings) -> (Arc<Context>, Kube) {
    context_at(&server.url(), settings)
}

/// A context whose default connection is `url` (a server that may be
/// down), with `settings` (writes are tried once).
pub fn context_at(url: &str, settings: Settings) -> (Arc<Context>, Kube) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    // The default connection has no credentials: only the profile's work.
    let pool = ConnectionPool::new(
        ConnectOptions {
            servers: vec![url.to_string()],
            ..ConnectOptions::default()
        },
        Duration::from_secs(2),
    );
    let settings = Settings {
        apply: jetsync::apply::ApplyOptions {
            attempts: 1,
            ..Default::default()
        },
        ..settings
    };
    let ctx = Context::new(
        client,
        settings,
        pool,
        Arc::new(Metrics::new()),
        Some("test".into()),
    );
    (ctx, Kube { handle })
}

/// A resource taken through its first reconcile, which creates its asset:
/// the finalizer with the address, the status, the `Created` Event.
pub async fn created<K: AssetResource>(kube: &mut Kube, ctx: &Arc<Context>, object: &Object) {
    kube.run(
        object.is_created(),
        reconcile(object.get::<K>(), ctx.clone()),
    )
    .await
    .0
    .unwrap();
    assert_eq!(object.condition(types::READY).status, "True");
}

/// The JetStream API requests `server` has answered so far (its `/jsz`).
pub fn api_requests(server: &NatsServer) -> u64 {
    let (_, body) = server.monitor_get("/jsz").expect("/jsz");
    let jsz: Value = serde_json::from_str(&body).expect("/jsz is JSON");
    jsz.pointer("/api/total")
        .and_then(Value::as_u64)
        .expect("/jsz has api.total")
}

/// Log lines at TRACE of the thread that called [`Logs::capture`] (a
/// `#[tokio::test]` runs everything on its own thread).
///
/// One global subscriber routes each line to its thread's buffer: a scoped
/// `set_default` subscriber loses lines when another test's thread caches a
/// callsite's interest first.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURING: std::cell::RefCell<Option<Logs>> = const { std::cell::RefCell::new(None) };
}

/// Writes to the calling thread's [`Logs`], if any.
pub struct ThreadLogs;

impl std::io::Write for ThreadLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURING.with(|capturing| {
            if let Some(logs) = capturing.borrow().as_ref() {
                logs.0.lock().unwrap().extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    pub fn capture(&self) {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(|| ThreadLogs)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other subscriber in this test binary");
        });
        CAPTURING.with(|capturing| *capturing.borrow_mut() = Some(self.clone()));
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
