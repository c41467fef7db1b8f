//! NATS connections for the controller: `NatsConnection` profiles resolved
//! with their Secrets, and a pool holding one connection per distinct
//! profile content (two resources naming equal profiles share it; a
//! rotated Secret makes a new profile and a new connection). A connection
//! no resource uses any more is closed after a short idle time.
//!
//! Secret values never leave this module except towards the client
//! library: they are held as [`Secret`] (redacted in Debug), the pool key is
//! a salted hash, and key material the client needs as files (creds, nkey
//! seeds, TLS) is written to a private directory (mode 0700, files 0600)
//! that is removed with the connection.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::connection::State;
use k8s_openapi::api::core::v1::Secret as KubeSecret;
use kube::{Api, Client};
use sha2::{Digest, Sha256};

use super::advisories::{self, Touch, WatchState};
use super::clock::Clock;
use crate::nats::{self, ConnectError, ConnectOptions, Connection, Secret};
use crate::resources::NatsConnection;
use crate::spec::connection::{NatsConnectionSpec, SecretSource};

/// Why a `NatsConnection` profile could not be resolved.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProfileError {
    /// `spec.connection` names a `NatsConnection` that does not exist.
    #[error("NatsConnection {namespace}/{name} does not exist")]
    ConnectionNotFound { namespace: String, name: String },
    /// A referenced Secret, or its key, does not exist.
    #[error("{field}: Secret {namespace}/{secret} {problem}")]
    SecretNotFound {
        field: String,
        namespace: String,
        secret: String,
        problem: String,
    },
    /// The profile cannot be used by the controller (a `file:` reference, …).
    #[error("{0}")]
    Invalid(String),
    /// The Kubernetes API failed.
    #[error("reading {what}: {error}")]
    Kube { what: String, error: String },
}

/// A connection profile with every secret value resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileMaterial {
    pub servers: Vec<String>,
    pub js_domain: Option<String>,
    pub tls_first: bool,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub token: Option<Secret>,
    pub creds: Option<Secret>,
    pub nkey: Option<Secret>,
    pub tls_ca: Option<Secret>,
    pub tls_cert: Option<Secret>,
    pub tls_key: Option<Secret>,
}

impl ProfileMaterial {
    /// Every value that makes the connection what it is, for the pool key.
    fn canonical(&self) -> String {
        let secret = |s: &Option<Secret>| s.as_ref().map(|s| s.expose().to_string());
        serde_json::json!({
            "servers": self.servers,
            "js_domain": self.js_domain,
            "tls_first": self.tls_first,
            "user": self.user,
            "password": secret(&self.password),
            "token": secret(&self.token),
            "creds": secret(&self.creds),
            "nkey": secret(&self.nkey),
            "tls_ca": secret(&self.tls_ca),
            "tls_cert": secret(&self.tls_cert),
            "tls_key": secret(&self.tls_key),
        })
        .to_string()
    }
}

/// Which connection a resource uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Profile {
    /// The controller's default connection (flags and environment).
    Default,
    /// A `NatsConnection`, resolved.
    Named(Box<ProfileMaterial>),
}

/// The Secret names a connection spec references.
pub fn referenced_secrets(spec: &NatsConnectionSpec) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut add = |source: Option<&SecretSource>| {
        if let Some(reference) = source.and_then(|s| s.secret_ref.as_ref()) {
            names.insert(reference.name.clone());
        }
    };
    if let Some(tls) = &spec.tls {
        add(tls.ca.as_ref());
        add(tls.cert.as_ref());
        add(tls.key.as_ref());
    }
    if let Some(auth) = &spec.auth {
        add(auth.creds.as_ref());
        add(auth.nkey.as_ref());
        add(auth.token.as_ref());
        add(auth.user_password.as_ref().map(|u| &u.password));
    }
    names
}

/// Reads the `NatsConnection` `name` in `namespace` and resolves its Secrets.
pub async fn load_profile(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<ProfileMaterial, ProfileError> {
    let connections: Api<NatsConnection> = Api::namespaced(client.clone(), namespace);
    let connection = connections
        .get_opt(name)
        .await
        .map_err(|error| ProfileError::Kube {
            what: format!("NatsConnection {namespace}/{name}"),
            error: error.to_string(),
        })?
        .ok_or_else(|| ProfileError::ConnectionNotFound {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })?;
    resolve_profile(client, namespace, &connection.spec).await
}

/// Resolves the Secrets a connection spec references (each Secret read once).
pub async fn resolve_profile(
    client: &Client,
    namespace: &str,
    spec: &NatsConnectionSpec,
) -> Result<ProfileMaterial, ProfileError> {
    let api: Api<KubeSecret> = Api::namespaced(client.clone(), namespace);
    let mut secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for name in referenced_secrets(spec) {
        let secret = api
            .get_opt(&name)
            .await
            .map_err(|error| ProfileError::Kube {
                what: format!("Secret {namespace}/{name}"),
                error: error.to_string(),
            })?;
        let data = secret
            .and_then(|secret| secret.data)
            .map(|data| data.into_iter().map(|(k, v)| (k, v.0)).collect());
        if let Some(data) = data {
            secrets.insert(name, data);
        }
    }
    material_from(namespace, spec, &secrets)
}

/// The profile of `spec` given the data of the Secrets it references
/// (absent Secrets are absent from `secrets`).
pub fn material_from(
    namespace: &str,
    spec: &NatsConnectionSpec,
    secrets: &BTreeMap<String, BTreeMap<String, Vec<u8>>>,
) -> Result<ProfileMaterial, ProfileError> {
    let value = |source: &SecretSource, field: &str| -> Result<Secret, ProfileError> {
        let Some(reference) = &source.secret_ref else {
            return Err(ProfileError::Invalid(format!(
                "{field}: the controller reads secrets from Kubernetes Secrets only; use secretRef instead of file"
            )));
        };
        let missing = |problem: String| ProfileError::SecretNotFound {
            field: field.to_string(),
            namespace: namespace.to_string(),
            secret: reference.name.clone(),
            problem,
        };
        let data = secrets
            .get(&reference.name)
            .ok_or_else(|| missing("does not exist".to_string()))?;
        let bytes = data
            .get(&reference.key)
            .ok_or_else(|| missing(format!("has no key `{}`", reference.key)))?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| missing(format!("key `{}` is not UTF-8 text", reference.key)))?;
        Ok(Secret::new(text))
    };
    let trimmed = |secret: Secret| Secret::new(secret.expose().trim());
    let mut material = ProfileMaterial {
        servers: spec.servers.clone(),
        js_domain: spec.js_domain.clone().filter(|d| !d.is_empty()),
        ..ProfileMaterial::default()
    };
    if let Some(tls) = &spec.tls {
        material.tls_first = tls.first.unwrap_or(false);
        material.tls_ca = tls
            .ca
            .as_ref()
            .map(|s| value(s, "spec.tls.ca"))
            .transpose()?;
        material.tls_cert = tls
            .cert
            .as_ref()
            .map(|s| value(s, "spec.tls.cert"))
            .transpose()?;
        material.tls_key = tls
            .key
            .as_ref()
            .map(|s| value(s, "spec.tls.key"))
            .transpose()?;
    }
    if let Some(auth) = &spec.auth {
        material.creds = auth
            .creds
            .as_ref()
            .map(|s| value(s, "spec.auth.creds"))
            .transpose()?;
        material.nkey = auth
            .nkey
            .as_ref()
            .map(|s| value(s, "spec.auth.nkey"))
            .transpose()?;
        material.token = auth
            .token
            .as_ref()
            .map(|s| value(s, "spec.auth.token").map(trimmed))
            .transpose()?;
        if let Some(user_password) = &auth.user_password {
            material.user = Some(user_password.user.clone());
            material.password = Some(trimmed(value(
                &user_password.password,
                "spec.auth.userPassword.password",
            )?));
        }
    }
    Ok(material)
}

/// A private directory holding key material for one connection, removed on drop.
struct KeyFiles {
    dir: PathBuf,
}

impl KeyFiles {
    fn create() -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "jetsync-keys-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(Self { dir })
    }

    fn write(&self, name: &str, secret: &Secret) -> std::io::Result<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dir.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(secret.expose().as_bytes())?;
        Ok(path)
    }

    fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for KeyFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Pooled {
    connection: Connection,
    _files: Option<KeyFiles>,
    last_used: Instant,
    /// The task reading this connection's advisories, and whether they arrive.
    advisories: tokio::task::JoinHandle<()>,
    watch: tokio::sync::watch::Receiver<WatchState>,
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.advisories.abort();
    }
}

#[derive(Default)]
struct Slot {
    pooled: Option<Pooled>,
    /// The last failure and when, so that a burst of reconciles does not
    /// hammer an unreachable server.
    failed: Option<(Instant, ConnectError)>,
}

/// One pooled connection per distinct profile.
pub struct ConnectionPool {
    default: ConnectOptions,
    timeout: Duration,
    salt: String,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
    users: Mutex<HashMap<String, String>>,
    touches: tokio::sync::broadcast::Sender<Touch>,
    clock: Clock,
}

/// Touches kept for a subscriber that lags behind (older ones are dropped;
/// the periodic check still finds what they told).
const TOUCHES_KEPT: usize = 4096;

/// How long a failed connect is reported again without a new attempt.
const FAILURE_MEMORY: Duration = Duration::from_secs(1);

impl ConnectionPool {
    /// A pool whose default connection uses `default` (flags and
    /// environment); named profiles connect with `timeout`.
    pub fn new(default: ConnectOptions, timeout: Duration) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Self {
            default,
            timeout,
            salt: format!("{}-{nanos}", std::process::id()),
            slots: Mutex::new(HashMap::new()),
            users: Mutex::new(HashMap::new()),
            touches: tokio::sync::broadcast::channel(TOUCHES_KEPT).0,
            clock: Clock::default(),
        }
    }

    /// The clock that times how long a failed connect is remembered
    /// (tests advance it instead of sleeping).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The assets changed on the pooled connections' servers (read from
    /// their advisories, or told by [`ConnectionPool::touched`]) from now on.
    pub fn touches(&self) -> tokio::sync::broadcast::Receiver<Touch> {
        self.touches.subscribe()
    }

    /// Tells the touch subscribers that an asset changed (the controller's
    /// own write that other resources depend on).
    pub fn touched(&self, touch: Touch) {
        let _ = self.touches.send(touch);
    }

    /// The pool key of the connection `user` (a resource) used last.
    pub fn key_of(&self, user: &str) -> Option<String> {
        self.users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .cloned()
    }

    /// The pool keys some resource uses.
    pub fn keys_in_use(&self) -> BTreeSet<String> {
        self.users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The pooled connection of `key`, when it is connected (never connects).
    pub async fn pooled(&self, key: &str) -> Option<Connection> {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()?;
        let slot = slot.lock().await;
        let pooled = slot.pooled.as_ref()?;
        (pooled.connection.client.connection_state() != State::Disconnected)
            .then(|| pooled.connection.clone())
    }

    /// Whether the advisories of `profile`'s pooled connection arrive,
    /// waiting (briefly) until its subscription is settled; None without a
    /// pooled connection.
    pub async fn watch_state(&self, profile: &Profile) -> Option<WatchState> {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&self.key(profile))
            .cloned()?;
        let mut watch = slot.lock().await.pooled.as_ref()?.watch.clone();
        let settled = tokio::time::timeout(
            Duration::from_secs(2),
            watch.wait_for(|state| *state != WatchState::Starting),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .map(|state| state.clone());
        Some(settled.unwrap_or_else(|| watch.borrow().clone()))
    }

    /// Pooled connections whose advisories the server refused.
    pub fn unwatched(&self) -> usize {
        self.all_slots()
            .iter()
            .filter(|slot| {
                slot.try_lock().is_ok_and(|s| {
                    s.pooled
                        .as_ref()
                        .is_some_and(|p| matches!(*p.watch.borrow(), WatchState::Refused(_)))
                })
            })
            .count()
    }

    /// The pool key of a profile: `default`, or a salted hash of the
    /// profile's content (never its values).
    pub fn key(&self, profile: &Profile) -> String {
        match profile {
            Profile::Default => "default".to_string(),
            Profile::Named(material) => {
                let digest = Sha256::digest(format!("{}\n{}", self.salt, material.canonical()));
                let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                format!("profile-{hex}")
            }
        }
    }

    /// The connection for `profile`, connecting when there is none (or the
    /// pooled one lost its server). `user` (a resource) is recorded as using
    /// it, replacing what that user used before.
    pub async fn get(
        &self,
        profile: &Profile,
        user: Option<&str>,
    ) -> Result<Connection, ConnectError> {
        let key = self.key(profile);
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(slots.entry(key.clone()).or_default())
        };
        let mut slot = slot.lock().await;
        if let Some(user) = user {
            self.users
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(user.to_string(), key.clone());
        }
        if let Some(pooled) = slot.pooled.as_mut() {
            if pooled.connection.client.connection_state() != State::Disconnected {
                pooled.last_used = Instant::now();
                return Ok(pooled.connection.clone());
            }
            tracing::info!(profile = %key, "pooled NATS connection lost its server; reconnecting");
            slot.pooled = None;
        }
        if let Some((at, error)) = &slot.failed
            && self.clock.since(*at) < FAILURE_MEMORY
        {
            return Err(error.clone());
        }
        match self.connect(profile).await {
            Ok((connection, files)) => {
                tracing::info!(
                    profile = %key,
                    server = %connection.server.url_redacted,
                    version = %connection.server.version,
                    "connected to NATS"
                );
                slot.failed = None;
                let (state, watch) = tokio::sync::watch::channel(WatchState::Starting);
                let advisories = tokio::spawn(advisories::watch(
                    connection.clone(),
                    key.clone(),
                    self.touches.clone(),
                    state,
                ));
                slot.pooled = Some(Pooled {
                    connection: connection.clone(),
                    _files: files,
                    last_used: Instant::now(),
                    advisories,
                    watch,
                });
                Ok(connection)
            }
            Err(error) => {
                slot.failed = Some((self.clock.now(), error.clone()));
                Err(error)
            }
        }
    }

    async fn connect(
        &self,
        profile: &Profile,
    ) -> Result<(Connection, Option<KeyFiles>), ConnectError> {
        let material = match profile {
            Profile::Default => return Ok((nats::connect(&self.default).await?, None)),
            Profile::Named(material) => material,
        };
        let needs_files = material.creds.is_some()
            || material.nkey.is_some()
            || material.tls_ca.is_some()
            || material.tls_cert.is_some()
            || material.tls_key.is_some();
        let files = if needs_files {
            Some(KeyFiles::create().map_err(|e| ConnectError::LocalFile {
                what: "private key directory",
                path: std::env::temp_dir(),
                reason: e.to_string(),
            })?)
        } else {
            None
        };
        let write = |name: &'static str,
                     secret: &Option<Secret>|
         -> Result<Option<PathBuf>, ConnectError> {
            let (Some(files), Some(secret)) = (&files, secret) else {
                return Ok(None);
            };
            files
                .write(name, secret)
                .map(Some)
                .map_err(|e| ConnectError::LocalFile {
                    what: "private key file",
                    path: files.path().join(name),
                    reason: e.to_string(),
                })
        };
        let options = ConnectOptions {
            servers: material.servers.clone(),
            js_domain: material.js_domain.clone(),
            tls_first: material.tls_first,
            user: material.user.clone(),
            password: material.password.as_ref().map(|s| s.expose().to_string()),
            token: material.token.as_ref().map(|s| s.expose().to_string()),
            creds: write("user.creds", &material.creds)?,
            nkey: write("user.nk", &material.nkey)?,
            tls_ca: write("ca.pem", &material.tls_ca)?,
            tls_cert: write("cert.pem", &material.tls_cert)?,
            tls_key: write("key.pem", &material.tls_key)?,
            timeout: self.timeout,
            ..ConnectOptions::default()
        };
        // No environment, no nats contexts: a profile is only what it says.
        let resolved = options.resolve_with(&|_| None)?;
        let connection = nats::connect_resolved(&resolved).await?;
        Ok((connection, files))
    }

    /// `user` no longer uses any connection (its resource is gone).
    pub fn release(&self, user: &str) {
        self.users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
    }

    /// Closes connections no user needs that were idle for `idle`; returns
    /// how many were closed.
    pub async fn sweep(&self, idle: Duration) -> usize {
        let in_use: BTreeSet<String> = self
            .users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let slots: Vec<(String, Arc<tokio::sync::Mutex<Slot>>)> = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        let mut closed = 0;
        for (key, slot) in slots {
            if in_use.contains(&key) {
                continue;
            }
            let Ok(mut slot) = slot.try_lock() else {
                continue; // being used right now
            };
            let idle_long = slot
                .pooled
                .as_ref()
                .is_none_or(|pooled| pooled.last_used.elapsed() >= idle);
            if !idle_long {
                continue;
            }
            if let Some(pooled) = slot.pooled.take() {
                tracing::info!(profile = %key, "closing unused NATS connection");
                let _ = pooled.connection.client.drain().await;
                closed += 1;
            }
            drop(slot);
            self.slots
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        }
        closed
    }

    fn all_slots(&self) -> Vec<Arc<tokio::sync::Mutex<Slot>>> {
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.all_slots()
            .iter()
            .filter(|slot| slot.try_lock().map_or(true, |s| s.pooled.is_some()))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::connection::{AuthConfig, SecretKeyRef, TlsConfig, UserPassword};

    fn secret_ref(name: &str, key: &str) -> SecretSource {
        SecretSource {
            secret_ref: Some(SecretKeyRef {
                name: name.into(),
                key: key.into(),
            }),
            file: None,
        }
    }

    fn spec() -> NatsConnectionSpec {
        NatsConnectionSpec {
            servers: vec!["nats://nats:4222".into()],
            js_domain: None,
            tls: Some(TlsConfig {
                ca: Some(secret_ref("nats-ca", "ca.crt")),
                ..TlsConfig::default()
            }),
            auth: Some(AuthConfig {
                user_password: Some(UserPassword {
                    user: "app".into(),
                    password: secret_ref("nats-user", "password"),
                }),
                ..AuthConfig::default()
            }),
        }
    }

    fn data(pairs: &[(&str, &str, &str)]) -> BTreeMap<String, BTreeMap<String, Vec<u8>>> {
        let mut secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
        for (secret, key, value) in pairs {
            secrets
                .entry(secret.to_string())
                .or_default()
                .insert(key.to_string(), value.as_bytes().to_vec());
        }
        secrets
    }

    #[test]
    fn a_profile_names_the_secrets_it_reads() {
        let names: Vec<String> = referenced_secrets(&spec()).into_iter().collect();
        assert_eq!(names, vec!["nats-ca", "nats-user"]);
    }

    #[test]
    fn secret_values_are_resolved_and_passwords_trimmed() {
        let material = material_from(
            "team-a",
            &spec(),
            &data(&[
                ("nats-ca", "ca.crt", "-----BEGIN CERTIFICATE-----\n"),
                ("nats-user", "password", "s3cret\n"),
            ]),
        )
        .unwrap();

        assert_eq!(material.user.as_deref(), Some("app"));
        assert_eq!(material.password.as_ref().unwrap().expose(), "s3cret");
        assert!(material.tls_ca.is_some());
        assert!(!format!("{material:?}").contains("s3cret"));
    }

    #[test]
    fn a_missing_secret_or_key_is_named() {
        let missing =
            material_from("team-a", &spec(), &data(&[("nats-ca", "ca.crt", "x")])).unwrap_err();
        assert!(matches!(missing, ProfileError::SecretNotFound { .. }));
        assert_eq!(
            missing.to_string(),
            "spec.auth.userPassword.password: Secret team-a/nats-user does not exist"
        );

        let no_key = material_from(
            "team-a",
            &spec(),
            &data(&[("nats-ca", "ca.crt", "x"), ("nats-user", "pw", "x")]),
        )
        .unwrap_err();
        assert!(
            no_key.to_string().contains("has no key `password`"),
            "{no_key}"
        );
    }

    #[test]
    fn file_references_are_refused_by_the_controller() {
        let mut spec = spec();
        spec.tls = Some(TlsConfig {
            ca: Some(SecretSource {
                secret_ref: None,
                file: Some("ca.pem".into()),
            }),
            ..TlsConfig::default()
        });
        let error =
            material_from("team-a", &spec, &data(&[("nats-user", "password", "x")])).unwrap_err();
        assert!(matches!(error, ProfileError::Invalid(_)), "{error}");
    }

    #[test]
    fn pool_keys_follow_content_and_never_show_it() {
        let pool = ConnectionPool::new(ConnectOptions::default(), Duration::from_secs(1));
        let material = |password: &str| {
            Profile::Named(Box::new(ProfileMaterial {
                servers: vec!["nats://a:4222".into()],
                user: Some("app".into()),
                password: Some(Secret::new(password)),
                ..ProfileMaterial::default()
            }))
        };

        assert_eq!(pool.key(&material("one")), pool.key(&material("one")));
        assert_ne!(pool.key(&material("one")), pool.key(&material("two")));
        assert_eq!(pool.key(&Profile::Default), "default");
        assert!(!pool.key(&material("one")).contains("one"));
    }

    #[test]
    fn key_files_are_private_and_removed_on_drop() {
        use std::os::unix::fs::PermissionsExt;
        let files = KeyFiles::create().unwrap();
        let path = files.write("user.creds", &Secret::new("seed")).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir = files.path().to_path_buf();
        drop(files);
        assert!(!dir.exists());
    }
}
