//! `cargo bench --bench controller [-- --scale 0.1|0.3|1] [--concurrency N]
//! [--api-latency-ms MS]`:
//! the controller's reconcile path at workload W×scale (W is 4,100
//! resources: 1,000 streams with 3 consumers each and 100 KV buckets; the
//! default 0.1 is 410) against a real nats-server 2.15.1, with the
//! Kubernetes side in memory: the resources are handed to the reconciler as
//! the controller's watch would, and every request it sends the API server
//! (finalizer and address patches, status applies, Events) is answered and
//! counted by an in-memory API server, never sent.
//!
//! It prints, for the same workload in the same run:
//! - the time to all Ready from empty against `jetsync apply` from empty on
//!   a fresh server (target ≤ 1.5×), the NATS API requests (target ≤ 2 per
//!   resource) and the API writes (target ≤ 3 per resource), and this
//!   process's CPU time per resource;
//! - the idle cost: one drift interval in sync, re-checked by listing (the
//!   controller's periodic check) beside one INFO-per-resource pass (what a
//!   reconcile of every resource reads, the floor it replaces);
//! - the latency from an out-of-band change to its correction through the
//!   advisories, over 100 changes (p50, p95, max; target p95 ≤ 1 s);
//! - the peak memory of this process, and per resource.
//!
//! `--api-latency-ms` answers each API request that much later (requests
//! overlapping), as a real API server would: the figure that makes
//! `--concurrency` matter.
//!
//! The reconciles run `--concurrency` (default 8, the controller's) at a time per kind, kinds
//! side by side, as the controller does; a consumer found waiting for its
//! stream is reconciled again once the streams are made (the controller
//! does it at once on the touch its stream's readiness sends).

#[path = "scale/server.rs"]
#[allow(dead_code)]
mod server;
#[path = "scale/workload.rs"]
#[allow(dead_code)]
mod workload;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use http::{Request, Response};
use jetsync::controller::connections::ConnectionPool;
use jetsync::controller::metrics::Metrics;
use jetsync::controller::reconcile::reconcile;
use jetsync::controller::resource::AssetResource;
use jetsync::controller::{Context, Settings, recheck, touched_resources};
use jetsync::nats::ConnectOptions;
use jetsync::resources::{Consumer, KeyValue, Stream};
use kube::client::Body;
use kube::runtime::reflector;
use kube::runtime::watcher;
use serde_json::{Value, json};
use server::Server;
use workload::Scale;

const JETSYNC: &str = env!("CARGO_BIN_EXE_jetsync");
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const NAMESPACE: &str = "bench";
const CHANGES: usize = 100;

/// What the in-memory API server was asked.
#[derive(Default)]
struct ApiCounts {
    status_writes: AtomicUsize,
    metadata: AtomicUsize,
    events: AtomicUsize,
    other: AtomicUsize,
}

impl ApiCounts {
    fn status_writes(&self) -> usize {
        self.status_writes.load(Ordering::Relaxed)
    }

    /// Every write: metadata patches, status applies, Events.
    fn writes(&self) -> usize {
        self.status_writes()
            + self.metadata.load(Ordering::Relaxed)
            + self.events.load(Ordering::Relaxed)
    }
}

/// The resources as the API server holds them, by path.
type Objects = Arc<Mutex<HashMap<String, Value>>>;

fn path_of(object: &Value) -> String {
    let plural = match object["kind"].as_str().unwrap_or_default() {
        "Stream" => "streams",
        "Consumer" => "consumers",
        "KeyValue" => "keyvalues",
        other => panic!("no plural for {other}"),
    };
    format!(
        "/apis/jetsync.dev/v1alpha1/namespaces/{NAMESPACE}/{plural}/{}",
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// Answers the controller's requests from memory: a status apply replaces
/// the status (one field manager), an apply of the resource merges its
/// annotations, an Event is taken; each is counted.
async fn serve(
    mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
    objects: Objects,
    counts: Arc<ApiCounts>,
    latency: Duration,
) {
    while let Some((request, send)) = handle.next_request().await {
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        let bytes = request
            .into_body()
            .collect_bytes()
            .await
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let reply = if path.contains("/events") {
            counts.events.fetch_add(1, Ordering::Relaxed);
            Some(body)
        } else if let Some(resource) = path.strip_suffix("/status") {
            counts.status_writes.fetch_add(1, Ordering::Relaxed);
            let mut objects = objects.lock().unwrap();
            objects.get_mut(resource).map(|object| {
                object["status"] = body["status"].clone();
                object.clone()
            })
        } else if method == "PATCH" {
            counts.metadata.fetch_add(1, Ordering::Relaxed);
            let mut objects = objects.lock().unwrap();
            objects.get_mut(&path).map(|object| {
                if body["metadata"]["finalizers"].is_array() {
                    object["metadata"]["finalizers"] = body["metadata"]["finalizers"].clone();
                }
                for (key, value) in body["metadata"]["annotations"]
                    .as_object()
                    .into_iter()
                    .flatten()
                {
                    object["metadata"]["annotations"][key] = value.clone();
                }
                object.clone()
            })
        } else {
            counts.other.fetch_add(1, Ordering::Relaxed);
            None
        };
        let (status, reply) = match reply {
            Some(reply) => (200, reply),
            None => (
                404,
                json!({"kind": "Status", "code": 404, "reason": "NotFound"}),
            ),
        };
        let response = Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(&reply).unwrap()))
            .unwrap();
        if latency.is_zero() {
            send.send_response(response);
        } else {
            // Answered after the latency, each on its own: requests overlap
            // as they would on a real API server.
            tokio::spawn(async move {
                tokio::time::sleep(latency).await;
                send.send_response(response);
            });
        }
    }
}

/// The workload's documents as resources the API server holds, as
/// `kubectl apply` left them (no finalizer, no status).
fn resources(manifests: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = ["streams", "kv"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(manifests.join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let mut resources = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for mut document in serde_saphyr::from_multiple::<Value>(&text).unwrap() {
            if document.is_null() {
                continue;
            }
            let name = document["metadata"]["name"].as_str().unwrap().to_string();
            document["metadata"] = json!({
                "name": name, "namespace": NAMESPACE, "uid": format!("uid-{name}"),
                "generation": 1, "resourceVersion": "1", "annotations": {},
            });
            resources.push(document);
        }
    }
    resources
}

fn ready(object: &Value) -> bool {
    object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// Reconciles every resource of kind `K` in `objects` (`concurrency` at a
/// time); returns those not Ready after it.
async fn reconcile_kind<K: AssetResource>(
    ctx: &Arc<Context>,
    objects: &Objects,
    paths: Vec<String>,
    concurrency: usize,
) -> Vec<String> {
    futures::stream::iter(paths)
        .map(|path| {
            let ctx = Arc::clone(ctx);
            let objects = Arc::clone(objects);
            async move {
                let object = objects.lock().unwrap()[&path].clone();
                let resource: K = serde_json::from_value(object).unwrap();
                reconcile(Arc::new(resource), ctx).await.unwrap();
                let now = objects.lock().unwrap()[&path].clone();
                (!ready(&now)).then_some(path)
            }
        })
        .buffer_unordered(concurrency)
        .filter_map(|not_ready| async move { not_ready })
        .collect()
        .await
}

fn paths_of(objects: &Objects, kind: &str) -> Vec<String> {
    let objects = objects.lock().unwrap();
    let mut paths: Vec<String> = objects
        .iter()
        .filter(|(_, o)| o["kind"] == kind)
        .map(|(p, _)| p.clone())
        .collect();
    paths.sort();
    paths
}

/// One pass over every resource, kinds side by side; consumers that were
/// waiting for their stream are passed again until all are Ready.
async fn reconcile_all(ctx: &Arc<Context>, objects: &Objects, concurrency: usize) {
    let (_, _, mut waiting) = tokio::join!(
        reconcile_kind::<Stream>(ctx, objects, paths_of(objects, "Stream"), concurrency),
        reconcile_kind::<KeyValue>(ctx, objects, paths_of(objects, "KeyValue"), concurrency),
        reconcile_kind::<Consumer>(ctx, objects, paths_of(objects, "Consumer"), concurrency),
    );
    while !waiting.is_empty() {
        waiting = reconcile_kind::<Consumer>(ctx, objects, waiting, concurrency).await;
    }
}

/// The CPU time (user and system) of this process so far, in seconds.
fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage writes the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// One periodic re-check: every connection in use is listed, and the
/// resources the listing wakes are reconciled. Returns how many woke.
async fn recheck_by_listing(ctx: &Arc<Context>, objects: &Objects, concurrency: usize) -> usize {
    let mut woken = 0;
    for pool in ctx.pool.keys_in_use() {
        let listing = recheck::list(ctx, &pool).await;
        let streams = woken_paths::<Stream>(ctx, objects, "Stream", &listing);
        let buckets = woken_paths::<KeyValue>(ctx, objects, "KeyValue", &listing);
        let consumers = woken_paths::<Consumer>(ctx, objects, "Consumer", &listing);
        woken += streams.len() + buckets.len() + consumers.len();
        tokio::join!(
            reconcile_kind::<Stream>(ctx, objects, streams, concurrency),
            reconcile_kind::<KeyValue>(ctx, objects, buckets, concurrency),
            reconcile_kind::<Consumer>(ctx, objects, consumers, concurrency),
        );
    }
    woken
}

/// The paths of the resources of `kind` that `listing` wakes.
fn woken_paths<K: AssetResource>(
    ctx: &Context,
    objects: &Objects,
    kind: &str,
    listing: &recheck::Listing,
) -> Vec<String> {
    let resources: Vec<Arc<K>> = paths_of(objects, kind)
        .iter()
        .map(|path| {
            Arc::new(serde_json::from_value(objects.lock().unwrap()[path].clone()).unwrap())
        })
        .collect();
    recheck::woken(ctx, &resources, listing)
        .into_iter()
        .map(|found| {
            format!(
                "/apis/jetsync.dev/v1alpha1/namespaces/{NAMESPACE}/{}/{}",
                match kind {
                    "Stream" => "streams",
                    "KeyValue" => "keyvalues",
                    _ => "consumers",
                },
                found.name
            )
        })
        .collect()
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[Duration], share: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn nats_server_bin() -> PathBuf {
    std::env::var_os("NATS_SERVER_BIN")
        .filter(|bin| !bin.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(MANIFEST_DIR).join("target/tools/nats-server-2.15.1/bin/nats-server")
        })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let factor = args
        .iter()
        .position(|a| a == "--scale")
        .and_then(|i| args.get(i + 1))
        .map_or("0.1", String::as_str);
    let scale = match factor {
        "1" => Scale::W,
        "0.3" => Scale {
            label: "W×0.3",
            streams: 300,
            buckets: 30,
        },
        _ => Scale::TENTH,
    };
    let concurrency = args
        .iter()
        .position(|a| a == "--concurrency")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::from(jetsync::controller::DEFAULT_CONCURRENCY));
    let api_latency = Duration::from_millis(
        args.iter()
            .position(|a| a == "--api-latency-ms")
            .and_then(|i| args.get(i + 1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    );
    let bin = nats_server_bin();
    let work = tempfile::Builder::new()
        .prefix("controller-bench-")
        .tempdir_in(std::env::temp_dir())
        .unwrap();
    let workload = workload::write(work.path(), scale).unwrap();
    println!(
        "controller benchmark: {} ({} resources), nats-server {}, --concurrency {concurrency}, API latency {api_latency:?}",
        scale.label,
        scale.assets(),
        bin.display()
    );

    // The CLI's apply from empty, on its own fresh server.
    let cli_server = Server::start(&bin, work.path()).unwrap();
    let started = Instant::now();
    let status = Command::new(JETSYNC)
        .args(["apply", "--yes", "--color", "never", "-f"])
        .arg(&workload.manifests)
        .args(["--server", &cli_server.url()])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    let cli_apply = started.elapsed();
    assert!(status.success(), "jetsync apply failed");
    drop(cli_server);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(controller(
        &bin,
        work.path(),
        &workload,
        (concurrency, api_latency),
        cli_apply,
    ));
}

async fn controller(
    bin: &Path,
    work: &Path,
    workload: &workload::Workload,
    (concurrency, api_latency): (usize, Duration),
    cli_apply: Duration,
) {
    let server = Server::start(bin, work).unwrap();
    let objects: Objects = Arc::new(Mutex::new(
        resources(&workload.manifests)
            .into_iter()
            .map(|o| (path_of(&o), o))
            .collect(),
    ));
    let resources = objects.lock().unwrap().len();
    let counts = Arc::new(ApiCounts::default());
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    tokio::spawn(serve(
        handle,
        Arc::clone(&objects),
        Arc::clone(&counts),
        api_latency,
    ));
    let pool = ConnectionPool::new(
        ConnectOptions {
            servers: vec![server.url()],
            ..ConnectOptions::default()
        },
        Duration::from_secs(10),
    );
    let ctx = Context::new(
        kube::Client::new(service, NAMESPACE),
        Settings::default(),
        pool,
        Arc::new(Metrics::new()),
        None,
    );

    // From empty to all Ready.
    let before = server.counters().unwrap();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    reconcile_all(&ctx, &objects, concurrency).await;
    let to_ready = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let made = server.counters().unwrap().since(&before);
    let writes = counts.writes();
    let per = |n: f64| n / resources as f64;
    println!("\nfrom empty to all Ready:");
    println!(
        "  controller {:.2} s, jetsync apply {:.2} s: {:.2}× (target ≤ 1.5×)",
        to_ready.as_secs_f64(),
        cli_apply.as_secs_f64(),
        to_ready.as_secs_f64() / cli_apply.as_secs_f64()
    );
    println!(
        "  NATS API requests {} ({:.2} per resource; target ≤ 2)",
        made.api_requests,
        per(made.api_requests as f64),
    );
    println!(
        "  API writes {writes} ({:.2} per resource; target ≤ 3): metadata {}, status {}, events {}",
        per(writes as f64),
        counts.metadata.load(Ordering::Relaxed),
        counts.status_writes(),
        counts.events.load(Ordering::Relaxed)
    );
    println!(
        "  controller CPU {cpu:.2} s ({:.2} ms per resource)",
        per(cpu * 1000.0)
    );

    // Idle: one drift interval in sync, re-checked by listing, as the
    // controller's periodic check does.
    let before = server.counters().unwrap();
    let writes_before = counts.writes();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let woken = recheck_by_listing(&ctx, &objects, concurrency).await;
    let pass = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let idle = server.counters().unwrap().since(&before);
    let idle_writes = counts.writes() - writes_before;
    println!("\nidle, one drift interval in sync, re-checked by listing:");
    println!(
        "  {:.2} s, NATS API requests {} ({:.2} per resource; {:.0} per idle minute at the 5 min interval), resources woken {woken}, API writes {idle_writes}, CPU {:.0} ms ({:.3} ms per resource)",
        pass.as_secs_f64(),
        idle.api_requests,
        per(idle.api_requests as f64),
        idle.api_requests as f64 / 5.0,
        cpu * 1000.0,
        per(cpu * 1000.0)
    );

    // The floor it replaces: every resource looked up by INFO (what a
    // reconcile caused by a spec change or an advisory reads).
    let before = server.counters().unwrap();
    let writes_before = counts.writes();
    let started = Instant::now();
    reconcile_all(&ctx, &objects, concurrency).await;
    let pass = started.elapsed();
    let info = server.counters().unwrap().since(&before);
    println!(
        "  beside it, one INFO-per-resource pass: {:.2} s, NATS API requests {} ({:.2} per resource), API writes {}",
        pass.as_secs_f64(),
        info.api_requests,
        per(info.api_requests as f64),
        counts.writes() - writes_before
    );

    // Out-of-band changes corrected through the advisories.
    let (reader, mut writer) = reflector::store::<Stream>();
    for path in paths_of(&objects, "Stream") {
        let object = objects.lock().unwrap()[&path].clone();
        writer.apply_watcher_event(&watcher::Event::Apply(
            serde_json::from_value(object).unwrap(),
        ));
    }
    let mut touched = Box::pin(touched_resources(Arc::clone(&ctx), reader));
    let other = async_nats::connect(server.url()).await.unwrap();
    let mut latencies = Vec::new();
    for index in 0..CHANGES.min(workload.stream_names.len()) {
        let name = &workload.stream_names[index];
        let info = other
            .request(format!("$JS.API.STREAM.INFO.{name}"), "".into())
            .await
            .unwrap();
        let mut config = serde_json::from_slice::<Value>(&info.payload).unwrap()["config"].clone();
        config["max_age"] = json!(7_200_000_000_000u64);
        let started = Instant::now();
        other
            .request(
                format!("$JS.API.STREAM.UPDATE.{name}"),
                serde_json::to_vec(&config).unwrap().into(),
            )
            .await
            .unwrap();
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let found = touched.next().await.unwrap();
                if found.name == *name {
                    return found;
                }
            }
        })
        .await
        .expect("an advisory named the changed stream");
        let path = format!(
            "/apis/jetsync.dev/v1alpha1/namespaces/{NAMESPACE}/streams/{}",
            found.name
        );
        let object = objects.lock().unwrap()[&path].clone();
        let resource: Stream = serde_json::from_value(object).unwrap();
        reconcile(Arc::new(resource), Arc::clone(&ctx))
            .await
            .unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "\nout-of-band change → corrected, through the advisories ({} changes, drift interval 5 min):",
        latencies.len()
    );
    let debounce = Duration::from_millis(500);
    println!(
        "  p50 {:?}, p95 {:?}, max {:?}; with the running controller's {debounce:?} debounce, p95 {:?} (target ≤ 1 s)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        latencies.last().unwrap(),
        percentile(&latencies, 0.95) + debounce
    );
    let peak = peak_rss_mib();
    println!(
        "\npeak memory of this process with {} cached: {peak:.1} MiB ({:.1} KiB per resource)",
        resources,
        peak * 1024.0 / resources as f64
    );
}
