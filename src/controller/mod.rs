//! `jetsync controller`: the Kubernetes front door. One kube-runtime
//! `Controller` per kind (and per watched namespace) reconciles each custom
//! resource through the engine — its one asset's plan and apply — and
//! writes kstatus conditions, Events and metrics. `NatsConnection`s and
//! their Secrets resolve into pooled connections; a changed Secret or
//! connection re-reconciles its dependents. Leader election on a Lease
//! keeps several replicas safe.
//!
//! The decisions are plain functions (`status`, `conditions`), the
//! Kubernetes and NATS calls sit in `reconcile`, the wiring is here.

pub mod advisories;
pub mod asset;
pub mod cleanup;
pub mod clock;
pub mod conditions;
pub mod connecting;
pub mod connections;
pub mod events;
pub mod followers;
pub mod http;
pub mod known;
pub mod leader;
pub mod metrics;
pub mod nats_connection;
pub mod owned_status;
pub mod recheck;
pub mod reconcile;
pub mod resource;
pub mod status;
pub mod status_write;
pub mod written;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::Secret as KubeSecret;
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use tokio::sync::watch;

use crate::apply::ApplyOptions;
use crate::nats::ConnectOptions;
use crate::resources::{Consumer, KeyValue, NatsConnection, ObjectStore, Stream};
use crate::settings::ExitStatus;
use connections::{ConnectionPool, referenced_secrets};
use metrics::Metrics;
use resource::AssetResource;
use status::Next;

/// Reconciles running at once per kind, unless `--concurrency` says
/// otherwise: measured with `cargo bench --bench controller -- --scale 0.3
/// --api-latency-ms 5`, where 4 took 5.9–9.4 s to converge 1,230 resources, 8
/// took 4.4–5.4 s and more gained nothing steady (README, Performance).
pub const DEFAULT_CONCURRENCY: u16 = 8;

/// How structured logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// How `jetsync controller` runs (`cli` fills it from its flags). The
/// connection settings are the default connection, used by resources that
/// name no `NatsConnection`.
#[derive(Clone, Debug)]
pub struct ControllerSettings {
    /// Watch only these namespaces; all namespaces when empty.
    pub namespaces: Vec<String>,
    /// Read Secrets only in these namespaces; every watched one when empty.
    pub secret_namespaces: Vec<String>,
    /// How often every resource is re-checked for drift besides watch events.
    pub drift_interval: crate::spec::units::Duration,
    /// Longest wait between retries of a failing resource.
    pub max_retry_interval: crate::spec::units::Duration,
    /// Plan and report in status; write nothing to NATS.
    pub read_only: bool,
    /// Reconciles running at once, per kind.
    pub concurrency: u16,
    /// Prefix of the ownership marker (`<prefix>/<namespace>/<name>`).
    pub owner_prefix: Option<String>,
    /// Address of the /metrics, /healthz and /readyz endpoint.
    pub http_address: std::net::SocketAddr,
    /// Run without leader election.
    pub no_leader_election: bool,
    /// Name of the Lease used for leader election.
    pub lease_name: String,
    /// Namespace of the Lease, when given.
    pub lease_namespace: Option<String>,
    /// This replica's identity in the election and in events, when given.
    pub identity: Option<String>,
    /// How structured logs are written.
    pub log_format: LogFormat,
    /// The default connection.
    pub connection: ConnectOptions,
}

/// What the reconcilers need to know about how they run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Plan and report, never write to NATS.
    pub read_only: bool,
    /// Periodic re-check for drift.
    pub drift_interval: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
    /// First wait while a dependency (a consumer's stream) is missing.
    pub soon: Duration,
    /// First wait after a failure.
    pub first_backoff: Duration,
    /// Prefix of the ownership marker.
    pub owner_prefix: Option<String>,
    /// How writes are retried within one reconcile.
    pub apply: ApplyOptions,
    /// The only namespaces whose Secrets are read (`--secret-namespace`);
    /// every watched namespace when empty.
    pub secret_namespaces: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            read_only: false,
            drift_interval: Duration::from_secs(300),
            max_backoff: Duration::from_secs(300),
            soon: Duration::from_secs(5),
            first_backoff: Duration::from_secs(2),
            owner_prefix: None,
            apply: ApplyOptions {
                attempts: 3,
                ..ApplyOptions::default()
            },
            secret_namespaces: Vec::new(),
        }
    }
}

/// Shared by every reconcile: the Kubernetes client, settings, the
/// connection pool, metrics, the event recorder and retry counters.
pub struct Context {
    pub client: Client,
    pub settings: Settings,
    pub pool: ConnectionPool,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    /// Consumers whose stream the controller deleted or replaced.
    pub followers: followers::Followers,
    /// Streams known from the controller's own reads and writes.
    pub known: known::KnownStreams,
    /// Objects as the controller wrote them, until the watch brings them.
    pub written: written::Written,
    /// The periodic re-check's listings, one per connection in use.
    pub listings: tokio::sync::broadcast::Sender<Arc<recheck::Listing>>,
    retries: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context whose events are reported as `jetsync` from `instance`.
    pub fn new(
        client: Client,
        settings: Settings,
        pool: ConnectionPool,
        metrics: Arc<Metrics>,
        instance: Option<String>,
    ) -> Arc<Self> {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "jetsync".into(),
                instance,
            },
        );
        Arc::new(Self {
            client,
            settings,
            pool,
            metrics,
            recorder,
            followers: followers::Followers::default(),
            known: known::KnownStreams::default(),
            written: written::Written::default(),
            listings: tokio::sync::broadcast::channel(16).0,
            retries: Mutex::new(HashMap::new()),
        })
    }

    /// When to look at `key` again: the jittered drift interval, or a
    /// doubling wait (from `soon` or `first_backoff`) capped at
    /// `max_backoff`, for as long as the trouble lasts.
    pub fn retry_after(&self, key: &str, next: Next) -> Duration {
        let base = match next {
            Next::Recheck => return jittered(self.settings.drift_interval),
            Next::Soon | Next::Stream => self.settings.soon,
            Next::Backoff => self.settings.first_backoff,
        };
        let mut retries = self.retries.lock().unwrap_or_else(|e| e.into_inner());
        let attempt = retries.entry(key.to_string()).or_insert(0);
        let delay = base
            .saturating_mul(2u32.saturating_pow((*attempt).min(16)))
            .min(self.settings.max_backoff);
        *attempt = attempt.saturating_add(1);
        delay
    }

    /// What the controller does after a reconcile of `key` that concluded
    /// `next`: waits for a change (a spec change, an advisory, the periodic
    /// listing that finds the asset differs, the stream's readiness), or
    /// looks again after [`Context::retry_after`].
    pub fn next_look(&self, key: &str, next: Next) -> Action {
        match next {
            Next::Recheck | Next::Stream => Action::await_change(),
            Next::Soon | Next::Backoff => Action::requeue(self.retry_after(key, next)),
        }
    }

    /// Forgets the retries of `key` (it is fine again).
    pub fn reset_retries(&self, key: &str) {
        self.retries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// `interval` scaled by a factor in [0.9, 1.1), so that re-checks spread out.
pub fn jittered(interval: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    interval.mul_f64(0.9 + f64::from(nanos % 1000) / 5000.0)
}

/// Logs to stderr; text logs carry ANSI colours only when `ansi` (stderr
/// is a terminal and `--color never` was not given, or `--color always`).
fn init_logging(format: LogFormat, ansi: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi && format == LogFormat::Text)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// `jetsync controller`: runs until SIGTERM (or Ctrl-C), exit 0; exit 1
/// when it cannot start or loses the leader Lease.
pub fn run(args: ControllerSettings, ansi: bool) -> ExitStatus {
    init_logging(args.log_format, ansi);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitStatus::Failure;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => {
            tracing::info!("controller stopped");
            ExitStatus::Success
        }
        Err(error) => {
            tracing::error!(%error, "controller failed");
            ExitStatus::Failure
        }
    }
}

/// Why the first request to the API server failed: the CRDs hint only when
/// the API server says it does not know the resource type.
pub fn startup_failure(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if status.code == 404 => format!(
            "the API server does not know jetsync Streams: are the CRDs installed? (kubectl apply -k manifests/): {error}"
        ),
        _ => format!("cannot list jetsync Streams: {error}"),
    }
}

/// A future that completes once shutdown was asked for.
fn stopped(shutdown: &watch::Receiver<bool>) -> impl Future<Output = ()> + Send + Sync + 'static {
    let mut shutdown = shutdown.clone();
    async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    }
}

async fn signals(stop: watch::Sender<bool>) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = terminate => tracing::info!("SIGTERM: finishing the reconciles under way"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: finishing the reconciles under way"),
    }
    let _ = stop.send(true);
}

fn identity(args: &ControllerSettings) -> String {
    args.identity
        .clone()
        .filter(|i| !i.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| format!("jetsync-{}", std::process::id()))
}

fn lease_namespace(args: &ControllerSettings) -> String {
    args.lease_namespace
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                .ok()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
        })
        .unwrap_or_else(|| "default".to_string())
}

async fn serve(args: ControllerSettings) -> Result<(), String> {
    let client = Client::try_default()
        .await
        .map_err(|e| format!("no Kubernetes client configuration: {e}"))?;
    let metrics = Arc::new(Metrics::new());
    let ready = Arc::new(AtomicBool::new(false));
    let listener = http::bind(args.http_address)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.http_address))?;
    tokio::spawn(http::serve(
        listener,
        http::Health {
            metrics: Arc::clone(&metrics),
            ready: Arc::clone(&ready),
        },
    ));
    // The CRDs must be installed; this also proves the API server answers
    // (asked where the controller may list: one watched namespace, or all).
    let probe: Api<Stream> = scoped(&client, args.namespaces.first().map(String::as_str));
    probe
        .list(&kube::api::ListParams::default().limit(1))
        .await
        .map_err(|e| startup_failure(&e))?;

    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(signals(stop));

    let settings = Settings {
        read_only: args.read_only,
        drift_interval: args.drift_interval.as_std(),
        max_backoff: args.max_retry_interval.as_std(),
        owner_prefix: args.owner_prefix.clone().filter(|p| !p.is_empty()),
        secret_namespaces: args.secret_namespaces.clone(),
        ..Settings::default()
    };
    let default_connection = args.connection.clone();
    let pool = ConnectionPool::new(default_connection, args.connection.timeout);
    let identity = identity(&args);
    let ctx = Context::new(
        client.clone(),
        settings,
        pool,
        Arc::clone(&metrics),
        Some(identity.clone()),
    );
    tokio::spawn(sweep_connections(Arc::clone(&ctx)));
    ready.store(true, Ordering::Relaxed);
    tracing::info!(
        namespaces = ?args.namespaces,
        read_only = args.read_only,
        drift_interval = %args.drift_interval,
        "jetsync controller starting"
    );

    if args.no_leader_election {
        metrics.leader(true);
        run_controllers(ctx, &args.namespaces, args.concurrency, &shutdown).await;
        return Ok(());
    }
    let namespace = lease_namespace(&args);
    let mut leadership = leader::Leadership::join(client, &args.lease_name, &namespace, &identity)
        .await
        .map_err(|e| {
            format!(
                "leader election on Lease {namespace}/{}: {e}",
                args.lease_name
            )
        })?;
    tracing::info!(lease = %args.lease_name, %namespace, %identity, "waiting for the leader Lease");
    tokio::select! {
        acquired = leadership.acquired() => {
            if !acquired {
                return Err("the leader election ended".into());
            }
        }
        _ = stopped(&shutdown) => {
            leadership.resign().await;
            return Ok(());
        }
    }
    tracing::info!(%identity, "leading: reconciling");
    metrics.leader(true);
    let result = tokio::select! {
        _ = run_controllers(ctx, &args.namespaces, args.concurrency, &shutdown) => Ok(()),
        _ = leadership.lost() => Err("lost the leader Lease; exiting so that the new leader reconciles alone".to_string()),
    };
    metrics.leader(false);
    leadership.resign().await;
    result
}

async fn sweep_connections(ctx: Arc<Context>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        ctx.pool.sweep(Duration::from_secs(120)).await;
        ctx.metrics.connections_open(ctx.pool.open());
        ctx.metrics.connections_unwatched(ctx.pool.unwatched());
    }
}

fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

fn controller_config(concurrency: u16) -> ControllerConfig {
    ControllerConfig::default()
        .concurrency(concurrency)
        .debounce(Duration::from_millis(500))
}

/// Where the `NatsConnection` controller of `scope` watches Secrets: the
/// scope itself, narrowed to `secret_namespaces` when those are listed.
fn secret_scopes<'a>(
    scope: Option<&'a str>,
    secret_namespaces: &'a [String],
) -> Vec<Option<&'a str>> {
    if secret_namespaces.is_empty() {
        return vec![scope];
    }
    match scope {
        None => secret_namespaces.iter().map(|n| Some(n.as_str())).collect(),
        Some(namespace) if secret_namespaces.iter().any(|n| n == namespace) => vec![scope],
        Some(_) => Vec::new(),
    }
}

/// Runs every controller for every scope, and the periodic re-check by
/// listing, until shutdown.
pub async fn run_controllers(
    ctx: Arc<Context>,
    namespaces: &[String],
    concurrency: u16,
    shutdown: &watch::Receiver<bool>,
) {
    let scopes: Vec<Option<&str>> = if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.iter().map(|n| Some(n.as_str())).collect()
    };
    let mut running: Vec<BoxFuture<'static, ()>> = Vec::new();
    for scope in scopes {
        let client = &ctx.client;
        let connections = Controller::new(
            scoped::<NatsConnection>(client, scope),
            watcher::Config::default(),
        );
        let mut connections = connections;
        for secrets in secret_scopes(scope, &ctx.settings.secret_namespaces) {
            let store = connections.store();
            connections = connections.watches(
                scoped::<KubeSecret>(client, secrets),
                watcher::Config::default(),
                move |secret| connections_using(&store, &secret),
            );
        }
        running.push(
            connections
                .with_config(controller_config(concurrency))
                .graceful_shutdown_on(stopped(shutdown))
                .run(
                    reconcile::reconcile_connection,
                    reconcile::error_policy,
                    Arc::clone(&ctx),
                )
                .for_each(log_result)
                .boxed(),
        );
        running.push(asset_controller::<Stream>(
            &ctx,
            scope,
            concurrency,
            shutdown,
        ));
        running.push(asset_controller::<KeyValue>(
            &ctx,
            scope,
            concurrency,
            shutdown,
        ));
        running.push(asset_controller::<ObjectStore>(
            &ctx,
            scope,
            concurrency,
            shutdown,
        ));
        running.push(asset_controller::<Consumer>(
            &ctx,
            scope,
            concurrency,
            shutdown,
        ));
    }
    let recheck = tokio::spawn(recheck::run(Arc::clone(&ctx)));
    futures::future::join_all(running).await;
    recheck.abort();
}

/// The controller of one asset kind in one scope; it also reconciles the
/// resources naming a `NatsConnection` when that connection changes (its
/// spec, or its status when a Secret it reads rotates).
fn asset_controller<K: AssetResource>(
    ctx: &Arc<Context>,
    scope: Option<&str>,
    concurrency: u16,
    shutdown: &watch::Receiver<bool>,
) -> BoxFuture<'static, ()> {
    // A resource is reconciled when its spec changes (its generation, which
    // also moves when it is deleted) or a reconcile is asked for; the
    // controller's own writes to its status and metadata wake nothing.
    let (store, writer) = reflector::store();
    let watched = reflector::reflector(
        writer,
        watcher::watcher(scoped::<K>(&ctx.client, scope), watcher::Config::default()),
    )
    .applied_objects()
    .predicate_filter(reconcile_trigger::<K>, Default::default());
    let controller = Controller::for_stream(watched, store);
    let store = controller.store();
    let touched = touched_resources(Arc::clone(ctx), controller.store());
    let listed = recheck::listed_resources(Arc::clone(ctx), controller.store());
    controller
        .reconcile_on(touched)
        .reconcile_on(listed)
        .watches(
            scoped::<NatsConnection>(&ctx.client, scope),
            watcher::Config::default(),
            move |connection| dependents(&store, &connection),
        )
        .with_config(controller_config(concurrency))
        .graceful_shutdown_on(stopped(shutdown))
        .run(
            reconcile::reconcile::<K>,
            reconcile::error_policy::<K>,
            Arc::clone(ctx),
        )
        .for_each(log_result)
        .boxed()
}

/// What makes a resource reconciled when it changes: its generation (the
/// spec; deletion moves it too) and the `requestedAt` annotation. Status and
/// the controller's own metadata are left out.
pub fn reconcile_trigger<K: Resource>(obj: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    obj.meta().generation.hash(&mut hasher);
    obj.meta().deletion_timestamp.is_some().hash(&mut hasher);
    resource::requested_at(obj).hash(&mut hasher);
    Some(hasher.finish())
}

/// The resources in `store` that name `connection`.
pub fn dependents<K: AssetResource>(
    store: &Store<K>,
    connection: &NatsConnection,
) -> Vec<ObjectRef<K>> {
    let namespace = connection.namespace();
    let name = connection.name_any();
    store
        .state()
        .iter()
        .filter(|obj| obj.namespace() == namespace && obj.policies().connection() == Some(&name))
        .map(|obj| ObjectRef::from_obj(obj.as_ref()))
        .collect()
}

/// The resources of `store` each touch concerns, as they come (the
/// controller's `reconcile_on` trigger): those whose
/// asset it names and whose last connection was the touched one.
pub fn touched_resources<K: AssetResource>(
    ctx: Arc<Context>,
    store: Store<K>,
) -> impl futures::Stream<Item = ObjectRef<K>> + Send + 'static {
    let touches = futures::stream::unfold(ctx.pool.touches(), |mut touches| async move {
        loop {
            match touches.recv().await {
                Ok(touch) => return Some((touch, touches)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "advisories came faster than they were read; the periodic check covers the missed ones"
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    touches.flat_map(move |touch| {
        if K::KIND == crate::spec::Kind::Consumer && touch.reach != advisories::Reach::Consumers {
            // Another client changed the stream: what was known of it goes.
            ctx.known.forget(&touch.pool, &touch.stream);
        }
        let found = concerned(&store, &touch, |user| ctx.pool.key_of(user));
        ctx.metrics.touched(K::KIND.as_str(), found.len());
        futures::stream::iter(found)
    })
}

/// The resources in `store` that `touch` concerns: their asset is named and
/// `pool_of` (a resource's key to the pool key of its last connection) says
/// they use the touched connection.
pub fn concerned<K: AssetResource>(
    store: &Store<K>,
    touch: &advisories::Touch,
    pool_of: impl Fn(&str) -> Option<String>,
) -> Vec<ObjectRef<K>> {
    if !touch.may_concern(K::KIND == crate::spec::Kind::Consumer) {
        return Vec::new();
    }
    store
        .state()
        .iter()
        .filter(|obj| touch.concerns(&obj.address()))
        .filter(|obj| {
            pool_of(&reconcile::resource_key(obj.as_ref())).as_deref() == Some(&touch.pool)
        })
        .map(|obj| ObjectRef::from_obj(obj.as_ref()))
        .collect()
}

/// The `NatsConnection`s in `store` that read `secret`.
pub fn connections_using(
    store: &Store<NatsConnection>,
    secret: &KubeSecret,
) -> Vec<ObjectRef<NatsConnection>> {
    let namespace = secret.namespace();
    let name = secret.name_any();
    store
        .state()
        .iter()
        .filter(|c| c.namespace() == namespace && referenced_secrets(&c.spec).contains(&name))
        .map(|c| ObjectRef::from_obj(c.as_ref()))
        .collect()
}

async fn log_result<K, E, W>(
    result: Result<
        (ObjectRef<K>, kube::runtime::controller::Action),
        kube::runtime::controller::Error<E, W>,
    >,
) where
    K: Resource,
    E: std::error::Error,
    W: std::error::Error,
{
    if let Err(error) = result {
        match error {
            kube::runtime::controller::Error::ReconcilerFailed(..) => {} // logged by error_policy
            other => tracing::warn!(error = %other, "controller"),
        }
    }
}

#[cfg(test)]
mod tests {
    use kube::runtime::reflector;

    use super::*;
    use crate::spec::connection::{AuthConfig, SecretKeyRef, SecretSource};
    use crate::spec::{NatsConnectionSpec, StreamSpec};

    #[test]
    fn secrets_are_watched_only_in_the_listed_namespaces() {
        let listed = ["team-a".to_string(), "team-b".to_string()];
        assert_eq!(secret_scopes(None, &[]), [None]);
        assert_eq!(secret_scopes(Some("team-a"), &[]), [Some("team-a")]);
        assert_eq!(
            secret_scopes(None, &listed),
            [Some("team-a"), Some("team-b")]
        );
        assert_eq!(secret_scopes(Some("team-b"), &listed), [Some("team-b")]);
        assert!(secret_scopes(Some("team-c"), &listed).is_empty());
    }

    fn in_store<K>(objects: Vec<K>) -> Store<K>
    where
        K: Resource<DynamicType = ()> + Clone + 'static,
    {
        let (reader, mut writer) = reflector::store();
        for object in objects {
            writer.apply_watcher_event(&watcher::Event::Apply(object));
        }
        reader
    }

    fn stream(namespace: &str, name: &str, connection: Option<&str>) -> Stream {
        let mut stream = Stream::new(
            name,
            StreamSpec {
                connection: connection.map(str::to_string),
                ..StreamSpec::default()
            },
        );
        stream.metadata.namespace = Some(namespace.into());
        stream
    }

    fn connection(namespace: &str, name: &str, secret: &str) -> NatsConnection {
        let mut connection = NatsConnection::new(
            name,
            NatsConnectionSpec {
                servers: vec!["nats://nats:4222".into()],
                auth: Some(AuthConfig {
                    token: Some(SecretSource {
                        secret_ref: Some(SecretKeyRef {
                            name: secret.into(),
                            key: "token".into(),
                        }),
                        file: None,
                    }),
                    ..AuthConfig::default()
                }),
                ..NatsConnectionSpec::default()
            },
        );
        connection.metadata.namespace = Some(namespace.into());
        connection
    }

    fn names<K: Resource<DynamicType = ()>>(refs: Vec<ObjectRef<K>>) -> Vec<String> {
        let mut names: Vec<String> = refs
            .into_iter()
            .map(|r| format!("{}/{}", r.namespace.unwrap_or_default(), r.name))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_changed_connection_reconciles_the_resources_of_its_namespace_naming_it() {
        let streams = in_store(vec![
            stream("a", "orders", Some("prod")),
            stream("a", "events", None),
            stream("a", "audit", Some("other")),
            stream("b", "orders", Some("prod")),
        ]);

        let touched = dependents(&streams, &connection("a", "prod", "s"));

        assert_eq!(names(touched), vec!["a/orders"]);
    }

    #[test]
    fn a_changed_secret_reconciles_the_connections_reading_it() {
        let connections = in_store(vec![
            connection("a", "prod", "nats-token"),
            connection("a", "dev", "dev-token"),
            connection("b", "prod", "nats-token"),
        ]);
        let mut secret = KubeSecret::default();
        secret.metadata.name = Some("nats-token".into());
        secret.metadata.namespace = Some("a".into());

        let touched = connections_using(&connections, &secret);

        assert_eq!(names(touched), vec!["a/prod"]);
    }

    #[test]
    fn the_crds_hint_is_given_only_when_the_api_server_does_not_know_the_type() {
        let unknown = kube::Error::Api(Box::new(kube::core::Status {
            code: 404,
            reason: "NotFound".into(),
            message: "the server could not find the requested resource".into(),
            ..kube::core::Status::default()
        }));
        let refused = kube::Error::Service(Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "tcp connect error: Connection refused (os error 111)",
        )));
        let forbidden = kube::Error::Api(Box::new(kube::core::Status {
            code: 403,
            reason: "Forbidden".into(),
            ..kube::core::Status::default()
        }));

        assert!(startup_failure(&unknown).contains("are the CRDs installed?"));
        for other in [refused, forbidden] {
            let text = startup_failure(&other);
            assert!(!text.contains("CRD"), "{text}");
            assert!(text.starts_with("cannot list jetsync Streams: "), "{text}");
        }
    }

    #[test]
    fn retries_double_up_to_the_cap_and_start_over_when_fine() {
        let (service, _handle) = tower_test::mock::pair::<
            ::http::Request<kube::client::Body>,
            ::http::Response<kube::client::Body>,
        >();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        let ctx = Context::new(
            Client::new(service, "default"),
            Settings {
                max_backoff: Duration::from_secs(10),
                ..Settings::default()
            },
            ConnectionPool::new(
                crate::nats::ConnectOptions::default(),
                Duration::from_secs(1),
            ),
            Arc::new(Metrics::new()),
            None,
        );

        let waits: Vec<u64> = (0..5)
            .map(|_| ctx.retry_after("k", Next::Backoff).as_secs())
            .collect();
        assert_eq!(waits, vec![2, 4, 8, 10, 10]);
        ctx.reset_retries("k");
        assert_eq!(ctx.retry_after("k", Next::Soon).as_secs(), 5);
        let recheck = ctx.retry_after("other", Next::Recheck).as_secs_f64();
        assert!((270.0..330.0).contains(&recheck), "{recheck}");
    }
}
