//! Connecting to NATS: where the settings come from (flags, environment, the
//! nats CLI's contexts, defaults), a connection that fails fast with a
//! distinct error per cause, and the server's identity read once.
//!
//! Secrets (passwords, tokens, key material) never appear in any `Display` or
//! `Debug` output of this module: they are held in [`Secret`], URLs are shown
//! through [`redact_url`], and credential files are named by path only.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_nats::{ConnectErrorKind, ServerAddr};
use serde_json::Value;

use super::api::{JsApi, Sent, Violations, send_watching};
use super::context::{self, LoadedContext, NatsContext};
use super::error::ApiRequestError;

/// The server jetsync talks to when nothing else is configured.
pub const DEFAULT_SERVER: &str = "nats://127.0.0.1:4222";

/// Connect and request timeout when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long connect waits for the (informational) account name.
const ACCOUNT_LOOKUP_TIMEOUT: Duration = Duration::from_secs(1);

/// What to connect to and how to authenticate, as given on the command line.
///
/// Each unset field falls back to the environment (`NATS_URL`, `NATS_USER`,
/// `NATS_PASSWORD`, `NATS_TOKEN`, `NATS_CREDS`, `NATS_NKEY`, `NATS_CA`,
/// `NATS_CERT`, `NATS_KEY`, `NATS_CONTEXT`), then to the nats CLI context
/// (`context`, else the one `context.txt` selects), then to the defaults.
/// Authentication is taken whole from the first of those layers that sets
/// any, never mixed across layers.
#[derive(Clone)]
pub struct ConnectOptions {
    /// Server URLs (`--server`); an entry may hold a comma-separated list.
    pub servers: Vec<String>,
    /// A nats CLI context name (`--context`).
    pub context: Option<String>,
    /// A `.creds` file: user JWT and nkey seed (`--creds`).
    pub creds: Option<PathBuf>,
    /// A file holding an nkey seed (`--nkey`).
    pub nkey: Option<PathBuf>,
    /// User name (`--user`); without a password it is sent as a token, as
    /// the nats CLI does.
    pub user: Option<String>,
    /// Password (`--password`).
    pub password: Option<String>,
    /// Token (`--token`).
    pub token: Option<String>,
    /// CA certificate(s) to verify the server with (`--tls-ca`).
    pub tls_ca: Option<PathBuf>,
    /// Client certificate for mutual TLS (`--tls-cert`).
    pub tls_cert: Option<PathBuf>,
    /// Client key for mutual TLS (`--tls-key`).
    pub tls_key: Option<PathBuf>,
    /// TLS before the NATS handshake, for servers with `handshake_first` (`--tls-first`).
    pub tls_first: bool,
    /// JetStream domain (`--js-domain`): the API is then `$JS.<domain>.API`.
    pub js_domain: Option<String>,
    /// Connect timeout per server and timeout of each API request.
    pub timeout: Duration,
    /// The directory holding `nats/context/` (the role of `$XDG_CONFIG_HOME`);
    /// `None` means `$XDG_CONFIG_HOME`, else `~/.config`. Tests point it at a
    /// temporary directory.
    pub config_home: Option<PathBuf>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            context: None,
            creds: None,
            nkey: None,
            user: None,
            password: None,
            token: None,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            tls_first: false,
            js_domain: None,
            timeout: DEFAULT_TIMEOUT,
            config_home: None,
        }
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers: Vec<String> = self.servers.iter().map(|s| redact_urls(s)).collect();
        f.debug_struct("ConnectOptions")
            .field("servers", &servers)
            .field("context", &self.context)
            .field("creds", &self.creds)
            .field("nkey", &self.nkey)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("token", &self.token.as_ref().map(|_| REDACTED))
            .field("tls_ca", &self.tls_ca)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("tls_first", &self.tls_first)
            .field("js_domain", &self.js_domain)
            .field("timeout", &self.timeout)
            .field("config_home", &self.config_home)
            .finish()
    }
}

const REDACTED: &str = "[redacted]";

/// A secret string (password, token) whose `Debug` and `Display` print
/// `[redacted]`; [`Secret::expose`] is the only way to the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for handing to the client library only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// How the connection authenticates, after resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    None,
    /// User name and password.
    UserPassword {
        /// The user name (not a secret).
        user: String,
        /// The password.
        password: Secret,
    },
    /// A token.
    Token(Secret),
    /// A `.creds` file (user JWT and nkey seed), named by path.
    CredsFile(PathBuf),
    /// A file holding an nkey seed, named by path.
    NkeySeedFile(PathBuf),
}

impl fmt::Display for Auth {
    /// Describes the method without its secret, e.g. `user and password (user "a")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("no credentials"),
            Auth::UserPassword { user, .. } => write!(f, "user and password (user {user:?})"),
            Auth::Token(_) => f.write_str("a token"),
            Auth::CredsFile(path) => write!(f, "the credentials file {}", path.display()),
            Auth::NkeySeedFile(path) => write!(f, "the nkey seed file {}", path.display()),
        }
    }
}

/// Connection settings after flags, environment, context and defaults were
/// merged: what [`connect_resolved`] uses. Server URLs carry no credentials.
#[derive(Clone, Debug)]
pub struct ResolvedOptions {
    /// Server URLs, user info removed (it became [`Self::auth`]).
    pub servers: Vec<String>,
    /// The authentication method.
    pub auth: Auth,
    /// CA certificate(s).
    pub tls_ca: Option<PathBuf>,
    /// Client certificate.
    pub tls_cert: Option<PathBuf>,
    /// Client key.
    pub tls_key: Option<PathBuf>,
    /// TLS before the NATS handshake.
    pub tls_first: bool,
    /// JetStream domain.
    pub js_domain: Option<String>,
    /// Connect timeout per server and API request timeout.
    pub timeout: Duration,
    /// The nats CLI context that contributed settings, if any.
    pub context: Option<String>,
}

impl ResolvedOptions {
    /// The server list for messages: redacted, comma-separated.
    pub fn servers_redacted(&self) -> String {
        self.servers
            .iter()
            .map(|s| redact_url(s))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Why jetsync could not connect. Each cause has its own variant so the CLI
/// and the controller can say what to fix; none carries a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// A server URL does not parse.
    #[error("invalid NATS server URL {url}: {reason}")]
    InvalidServerUrl {
        /// The URL, redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection settings contradict each other.
    #[error("invalid connection settings: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// A nats CLI context could not be used.
    #[error("nats context {name:?} ({path}): {reason}", path = path.display())]
    Context {
        /// The context name.
        name: String,
        /// Its file.
        path: PathBuf,
        /// What is wrong (never the file's content).
        reason: String,
    },
    /// A local file the settings point at cannot be used.
    #[error("cannot use the {what} {path}: {reason}", path = path.display())]
    LocalFile {
        /// What the file is for ("credentials file", "TLS CA certificate", …).
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// What is wrong (never the file's content).
        reason: String,
    },
    /// No server could be reached (refused, timed out, DNS).
    #[error("cannot reach the NATS server {servers}: {reason}")]
    Unreachable {
        /// The servers tried, redacted.
        servers: String,
        /// Why the last attempt failed.
        reason: String,
    },
    /// The server refused the credentials (authorization violation).
    #[error(
        "the NATS server {servers} refused authentication with {method}: \
         check the credentials ({reason})"
    )]
    AuthRefused {
        /// The servers, redacted.
        servers: String,
        /// The method used, without its secret.
        method: String,
        /// What the server said.
        reason: String,
    },
    /// TLS could not be established (certificate not trusted, server not
    /// speaking TLS, TLS required but not offered, …).
    #[error("TLS with the NATS server {servers} failed: {reason}")]
    Tls {
        /// The servers, redacted.
        servers: String,
        /// The TLS library's reason.
        reason: String,
    },
    /// JetStream is off on the server or for the account.
    #[error("JetStream is not enabled on {servers}: {detail}")]
    JetStreamDisabled {
        /// The servers, redacted.
        servers: String,
        /// No responders, or the server's error with its `err_code`.
        detail: String,
    },
    /// Nothing answered in the requested JetStream domain.
    #[error(
        "no JetStream answered in domain {domain:?} on {servers} ($JS.{domain}.API.INFO had \
         no responders): the JetStream domain is probably wrong{hint}"
    )]
    WrongDomain {
        /// The domain asked for.
        domain: String,
        /// The servers, redacted.
        servers: String,
        /// What the connected server says about its own JetStream, if anything.
        hint: String,
    },
    /// `$JS.API.INFO` failed in another way (timeout, unexpected error).
    #[error("reading JetStream account info: {0}")]
    JetStreamApi(#[from] ApiRequestError),
}

/// Who jetsync is talking to: read once at connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerIdentity {
    /// The configured server URL(s), redacted, comma-separated.
    pub url_redacted: String,
    /// The server's name (`server_name` in its INFO).
    pub name: String,
    /// nats-server version from the server's INFO, e.g. `2.15.1`.
    pub version: String,
    /// JetStream API level (`api.level` of `$JS.API.INFO`); 0 when absent (2.10).
    pub api_level: u64,
    /// JetStream domain the account info reports, if any.
    pub domain: Option<String>,
    /// The account jetsync is connected as, when the server tells
    /// (`$SYS.REQ.USER.INFO`).
    pub account: Option<String>,
    /// The account's JetStream usage and limits when connected.
    pub usage: AccountUsage,
    /// The connected server runs JetStream itself without clustering (and
    /// no JetStream domain points elsewhere): it refuses replicas above 1
    /// and any placement cluster.
    pub standalone: bool,
}

/// What the account holds and may hold, from `$JS.API.INFO`: plans that
/// would go past a limit say so before anything is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountUsage {
    pub streams: u64,
    /// Bytes reserved by the `max_bytes` of memory and of file streams.
    pub reserved_memory: u64,
    pub reserved_storage: u64,
    /// Account-wide limits; None where the account has none (or only
    /// per-replica tiers).
    pub max_streams: Option<u64>,
    /// Consumers per stream.
    pub max_consumers: Option<u64>,
    pub max_memory: Option<u64>,
    pub max_storage: Option<u64>,
}

impl AccountUsage {
    /// Reads the `$JS.API.INFO` answer.
    pub fn from_info(info: &Value) -> Self {
        let used = |key: &str| info.get(key).and_then(Value::as_u64).unwrap_or(0);
        let limit = |key: &str| {
            info.get("limits")
                .and_then(|limits| limits.get(key))
                .and_then(Value::as_i64)
                .filter(|limit| *limit > 0)
                .map(|limit| limit as u64)
        };
        Self {
            streams: used("streams"),
            reserved_memory: used("reserved_memory"),
            reserved_storage: used("reserved_storage"),
            max_streams: limit("max_streams"),
            max_consumers: limit("max_consumers"),
            max_memory: limit("max_memory"),
            max_storage: limit("max_storage"),
        }
    }
}

/// A live connection: the client, a JetStream context in the right domain,
/// and the server's identity.
#[derive(Clone)]
pub struct Connection {
    /// The NATS client.
    pub client: async_nats::Client,
    /// async-nats's JetStream context, in the configured domain.
    pub jetstream: async_nats::jetstream::Context,
    /// Server version, API level, domain and account.
    pub server: ServerIdentity,
    api: JsApi,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("server", &self.server)
            .field("api_prefix", &self.api.prefix())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Raw JetStream API requests in the connection's domain.
    pub fn api(&self) -> &JsApi {
        &self.api
    }
}

impl ConnectOptions {
    /// Merges flags, process environment, nats CLI context and defaults.
    pub fn resolve(&self) -> Result<ResolvedOptions, ConnectError> {
        self.resolve_with(&|name| std::env::var(name).ok())
    }

    /// Like [`Self::resolve`] with `env` in place of the process environment
    /// (so tests need not touch process-global variables).
    pub fn resolve_with(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ResolvedOptions, ConnectError> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let home = var("HOME").map(PathBuf::from);
        let config_home = self
            .config_home
            .clone()
            .or_else(|| var("XDG_CONFIG_HOME").map(PathBuf::from))
            .or_else(|| home.as_ref().map(|h| h.join(".config")));

        let loaded = self.load_context(&var, config_home.as_deref())?;
        let ctx = loaded.as_ref().map(|c| &c.settings);
        let ctx_value = |get: fn(&NatsContext) -> &String| {
            ctx.map(get).filter(|v| !v.trim().is_empty()).cloned()
        };
        let ctx_path = |what: &'static str, get: fn(&NatsContext) -> &String| match ctx_value(get) {
            None => Ok(None),
            Some(value) => context::context_file_path(&value, home.as_deref())
                .map(Some)
                .map_err(|reason| context_error(loaded.as_ref(), format!("{what}: {reason}"))),
        };

        // Servers: flags > NATS_URL > context > default.
        let raw_servers: Vec<String> = if self.servers.iter().any(|s| !s.trim().is_empty()) {
            split_server_list(&self.servers.join(","))
        } else if let Some(url) = var("NATS_URL") {
            split_server_list(&url)
        } else if let Some(url) = ctx_value(|c| &c.url) {
            split_server_list(&url)
        } else {
            vec![DEFAULT_SERVER.to_string()]
        };
        let mut servers = Vec::with_capacity(raw_servers.len());
        let mut url_auth = None;
        for raw in &raw_servers {
            let (url, creds) = split_userinfo(raw);
            if url_auth.is_none() {
                url_auth = creds;
            }
            servers.push(url);
        }

        // Authentication: the first layer that sets any wins, whole.
        let auth = match self.explicit_auth(&var)? {
            Some(auth) => auth,
            None => match env_auth(&var) {
                Some(auth) => auth,
                None => match context_auth(ctx, &ctx_path)? {
                    Some(auth) => auth,
                    None => url_auth.unwrap_or(Auth::None),
                },
            },
        };

        let tls_ca = match self
            .tls_ca
            .clone()
            .or_else(|| var("NATS_CA").map(PathBuf::from))
        {
            Some(path) => Some(path),
            None => ctx_path("ca", |c| &c.ca)?,
        };
        let tls_cert = match self
            .tls_cert
            .clone()
            .or_else(|| var("NATS_CERT").map(PathBuf::from))
        {
            Some(path) => Some(path),
            None => ctx_path("cert", |c| &c.cert)?,
        };
        let tls_key = match self
            .tls_key
            .clone()
            .or_else(|| var("NATS_KEY").map(PathBuf::from))
        {
            Some(path) => Some(path),
            None => ctx_path("key", |c| &c.key)?,
        };
        if tls_cert.is_some() != tls_key.is_some() {
            return Err(ConnectError::InvalidConfig {
                reason: "a TLS client certificate and its key go together: give both \
                         --tls-cert and --tls-key, or neither"
                    .to_string(),
            });
        }

        let js_domain = self
            .js_domain
            .clone()
            .filter(|d| !d.trim().is_empty())
            .or_else(|| ctx_value(|c| &c.jetstream_domain));

        Ok(ResolvedOptions {
            servers,
            auth,
            tls_ca,
            tls_cert,
            tls_key,
            tls_first: self.tls_first || ctx.is_some_and(|c| c.tls_first),
            js_domain,
            timeout: if self.timeout.is_zero() {
                DEFAULT_TIMEOUT
            } else {
                self.timeout
            },
            context: loaded.map(|c| c.name),
        })
    }

    /// The context named by the flag, `NATS_CONTEXT`, or `context.txt`.
    fn load_context(
        &self,
        var: &dyn Fn(&str) -> Option<String>,
        config_home: Option<&Path>,
    ) -> Result<Option<LoadedContext>, ConnectError> {
        let named = self
            .context
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or_else(|| var("NATS_CONTEXT"));
        let Some(config_home) = config_home else {
            return match named {
                Some(name) => Err(ConnectError::Context {
                    path: PathBuf::from(format!("nats/context/{name}.json")),
                    name,
                    reason: "no config directory: neither HOME nor XDG_CONFIG_HOME is set"
                        .to_string(),
                }),
                None => Ok(None),
            };
        };
        let Some(name) = named.or_else(|| context::selected_context(config_home)) else {
            return Ok(None);
        };
        context::load_context(config_home, &name)
            .map(Some)
            .map_err(|p| ConnectError::Context {
                name: p.name,
                path: p.path,
                reason: p.reason,
            })
    }

    /// Authentication from the flags alone; an error when two methods are given.
    fn explicit_auth(
        &self,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Auth>, ConnectError> {
        let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let user = given(&self.user);
        let password = given(&self.password);
        let token = given(&self.token);
        let mut methods = Vec::new();
        if user.is_some() || password.is_some() {
            methods.push("--user/--password");
        }
        if token.is_some() {
            methods.push("--token");
        }
        if self.creds.is_some() {
            methods.push("--creds");
        }
        if self.nkey.is_some() {
            methods.push("--nkey");
        }
        if methods.len() > 1 {
            return Err(ConnectError::InvalidConfig {
                reason: format!(
                    "{} are different ways to authenticate: give only one",
                    methods.join(" and ")
                ),
            });
        }
        Ok(match (user, password, token) {
            (Some(user), Some(password), _) => Some(Auth::UserPassword {
                user,
                password: Secret::new(password),
            }),
            (Some(user), None, _) => Some(match var("NATS_PASSWORD") {
                Some(password) => Auth::UserPassword {
                    user,
                    password: Secret::new(password),
                },
                // As in the nats CLI: a user without a password is a token.
                None => Auth::Token(Secret::new(user)),
            }),
            (None, Some(_), _) => {
                return Err(ConnectError::InvalidConfig {
                    reason: "--password needs --user".to_string(),
                });
            }
            (None, None, Some(token)) => Some(Auth::Token(Secret::new(token))),
            (None, None, None) => self
                .creds
                .clone()
                .map(Auth::CredsFile)
                .or_else(|| self.nkey.clone().map(Auth::NkeySeedFile)),
        })
    }
}

/// Authentication from the environment, in the nats CLI's order: user
/// (a token when there is no password), creds, nkey, token.
fn env_auth(var: &dyn Fn(&str) -> Option<String>) -> Option<Auth> {
    if let Some(user) = var("NATS_USER") {
        return Some(match var("NATS_PASSWORD") {
            Some(password) => Auth::UserPassword {
                user,
                password: Secret::new(password),
            },
            None => Auth::Token(Secret::new(user)),
        });
    }
    if let Some(creds) = var("NATS_CREDS") {
        return Some(Auth::CredsFile(PathBuf::from(creds)));
    }
    if let Some(nkey) = var("NATS_NKEY") {
        return Some(Auth::NkeySeedFile(PathBuf::from(nkey)));
    }
    var("NATS_TOKEN").map(|token| Auth::Token(Secret::new(token)))
}

type CtxPath<'a> =
    dyn Fn(&'static str, fn(&NatsContext) -> &String) -> Result<Option<PathBuf>, ConnectError> + 'a;

/// Authentication from a context, in natscontext's order: user, creds, nkey, token.
fn context_auth(
    ctx: Option<&NatsContext>,
    ctx_path: &CtxPath<'_>,
) -> Result<Option<Auth>, ConnectError> {
    let Some(ctx) = ctx else { return Ok(None) };
    if !ctx.user.is_empty() {
        return Ok(Some(Auth::UserPassword {
            user: ctx.user.clone(),
            password: Secret::new(ctx.password.clone()),
        }));
    }
    if let Some(path) = ctx_path("creds", |c| &c.creds)? {
        return Ok(Some(Auth::CredsFile(path)));
    }
    if let Some(path) = ctx_path("nkey", |c| &c.nkey)? {
        return Ok(Some(Auth::NkeySeedFile(path)));
    }
    Ok((!ctx.token.is_empty()).then(|| Auth::Token(Secret::new(ctx.token.clone()))))
}

fn context_error(loaded: Option<&LoadedContext>, reason: String) -> ConnectError {
    ConnectError::Context {
        name: loaded.map(|c| c.name.clone()).unwrap_or_default(),
        path: loaded.map(|c| c.path.clone()).unwrap_or_default(),
        reason,
    }
}

/// Splits a comma-separated server list, dropping empty entries.
fn split_server_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Byte range of a URL's user info (`user:pass` in `nats://user:pass@host`), if any.
fn userinfo_range(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..end].rfind('@')?;
    Some((start, start + at))
}

/// Replaces the user info of a URL (`nats://user:pass@host` or
/// `nats://token@host`) with `***`, so the URL can be shown anywhere.
pub fn redact_url(url: &str) -> String {
    match userinfo_range(url) {
        Some((start, end)) => format!("{}***{}", &url[..start], &url[end..]),
        None => url.to_string(),
    }
}

/// [`redact_url`] over a comma-separated list of URLs.
pub fn redact_urls(list: &str) -> String {
    list.split(',')
        .map(redact_url)
        .collect::<Vec<_>>()
        .join(",")
}

/// Removes the user info from a URL; `user:pass` becomes user/password
/// authentication, a lone `token` a token (percent-decoded).
fn split_userinfo(url: &str) -> (String, Option<Auth>) {
    let Some((start, end)) = userinfo_range(url) else {
        return (url.to_string(), None);
    };
    let info = &url[start..end];
    let stripped = format!("{}{}", &url[..start], &url[end + 1..]);
    let auth = match info.split_once(':') {
        Some((user, password)) => Auth::UserPassword {
            user: percent_decode(user),
            password: Secret::new(percent_decode(password)),
        },
        None if info.is_empty() => return (stripped, None),
        None => Auth::Token(Secret::new(percent_decode(info))),
    };
    (stripped, Some(auth))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Resolves `options` (flags > environment > context > defaults) and connects.
pub async fn connect(options: &ConnectOptions) -> Result<Connection, ConnectError> {
    connect_resolved(&options.resolve()?).await
}

/// Connects with already resolved settings: one attempt per server, each
/// bounded by the timeout (no retry loop on the initial connect), then reads
/// `$JS.API.INFO` once for the API level and domain.
pub async fn connect_resolved(options: &ResolvedOptions) -> Result<Connection, ConnectError> {
    let servers = options.servers_redacted();
    let timeout = options.timeout;
    let mut addrs = Vec::with_capacity(options.servers.len());
    for server in &options.servers {
        let addr: ServerAddr =
            server
                .parse()
                .map_err(|e: std::io::Error| ConnectError::InvalidServerUrl {
                    url: redact_url(server),
                    reason: e.to_string(),
                })?;
        addrs.push(addr);
    }
    if addrs.is_empty() {
        return Err(ConnectError::InvalidConfig {
            reason: "no server URL".to_string(),
        });
    }

    let (violations, _) = tokio::sync::broadcast::channel::<String>(64);
    let sender = violations.clone();
    let mut nats = async_nats::ConnectOptions::new()
        .name("jetsync")
        .connection_timeout(timeout)
        .request_timeout(Some(timeout))
        .event_callback(move |event| {
            if let async_nats::Event::ServerError(async_nats::ServerError::Other(text)) = &event
                && text.to_ascii_lowercase().contains("permissions violation")
            {
                // No receiver is fine: nobody is waiting on a request.
                let _ = sender.send(text.clone());
            }
            async {}
        });
    nats = with_auth(nats, &options.auth).await?;
    if let Some(ca) = &options.tls_ca {
        check_readable("TLS CA certificate", ca)?;
        nats = nats.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let (Some(cert), Some(key)) = (&options.tls_cert, &options.tls_key) {
        check_readable("TLS client certificate", cert)?;
        check_readable("TLS client key", key)?;
        nats = nats
            .add_client_certificate(cert.clone(), key.clone())
            .require_tls(true);
    }
    if options.tls_first {
        nats = nats.tls_first();
    }

    // async-nats tries each server once when retry_on_initial_connect is off
    // (the default), each attempt bounded by connection_timeout; the outer
    // bound also covers DNS lookups.
    let servers_count = u32::try_from(addrs.len()).unwrap_or(u32::MAX);
    let bound = timeout.saturating_mul(servers_count) + Duration::from_secs(1);
    let client = match tokio::time::timeout(bound, nats.connect(addrs)).await {
        Err(_) => {
            return Err(ConnectError::Unreachable {
                servers,
                reason: format!("no connection within {bound:?}"),
            });
        }
        // The server took the TCP connection but sent no handshake in time
        // (hung, overloaded): say how long jetsync waited.
        Ok(Err(e)) if e.kind() == ConnectErrorKind::TimedOut => {
            return Err(ConnectError::Unreachable {
                servers,
                reason: format!("no answer within {timeout:?} (timed out)"),
            });
        }
        Ok(Err(e)) => {
            return Err(classify_connect_error(
                &e,
                &servers,
                &options.auth,
                options.tls_first,
            ));
        }
        Ok(Ok(client)) => client,
    };

    let info = client.server_info();
    let api = JsApi::new(client.clone(), options.js_domain.as_deref(), timeout)
        .with_violations(violations.clone());
    // The account name is informational: asked for alongside the INFO. Not
    // with a token: nats-server 2.10 answers with the token as the user name,
    // and async-nats traces every message it receives (payload included).
    let account = async {
        match options.auth {
            Auth::Token(_) => None,
            _ => user_account(&client, &violations, timeout).await,
        }
    };
    let (account_info, account) = tokio::join!(api.request_raw::<()>("INFO", None), account);
    let account_info = match account_info {
        Ok(value) => value,
        Err(ApiRequestError::NoResponders { .. }) => {
            return Err(match &options.js_domain {
                Some(domain) => ConnectError::WrongDomain {
                    domain: domain.clone(),
                    servers,
                    hint: domain_hint(&info),
                },
                None => ConnectError::JetStreamDisabled {
                    servers,
                    detail: "nothing answered $JS.API.INFO (no responders)".to_string(),
                },
            });
        }
        Err(ApiRequestError::Api { error, .. }) if error.is_jetstream_not_enabled() => {
            return Err(ConnectError::JetStreamDisabled {
                servers,
                detail: error.to_string(),
            });
        }
        Err(e) => return Err(e.into()),
    };

    let server = ServerIdentity {
        url_redacted: servers,
        name: info.server_name.clone(),
        version: info.version.clone(),
        api_level: account_info
            .pointer("/api/level")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        domain: account_info
            .get("domain")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .or_else(|| options.js_domain.clone()),
        account,
        usage: AccountUsage::from_info(&account_info),
        standalone: info.jetstream
            && info.cluster.as_deref().is_none_or(str::is_empty)
            && options.js_domain.is_none(),
    };
    let jetstream = match &options.js_domain {
        Some(domain) => async_nats::jetstream::with_domain(client.clone(), domain),
        None => async_nats::jetstream::new(client.clone()),
    };
    Ok(Connection {
        client,
        jetstream,
        server,
        api,
    })
}

/// Adds the authentication method to async-nats's options, reading key
/// files here so that a bad file is reported by path.
async fn with_auth(
    nats: async_nats::ConnectOptions,
    auth: &Auth,
) -> Result<async_nats::ConnectOptions, ConnectError> {
    Ok(match auth {
        Auth::None => nats,
        Auth::UserPassword { user, password } => {
            nats.user_and_password(user.clone(), password.expose().to_string())
        }
        Auth::Token(token) => nats.token(token.expose().to_string()),
        Auth::CredsFile(path) => {
            let what = "credentials file";
            let contents = read_local(what, path).await?;
            nats.credentials(&contents)
                .map_err(|e| ConnectError::LocalFile {
                    what,
                    path: path.clone(),
                    reason: format!("not a valid NATS credentials file ({e})"),
                })?
        }
        Auth::NkeySeedFile(path) => {
            let what = "nkey seed file";
            let contents = read_local(what, path).await?;
            let seed = contents
                .lines()
                .map(str::trim)
                .find(|line| line.starts_with('S') && line.len() > 50)
                .ok_or_else(|| ConnectError::LocalFile {
                    what,
                    path: path.clone(),
                    reason: "the file holds no nkey seed (a line starting with `S`)".to_string(),
                })?;
            nats.nkey(seed.to_string())
        }
    })
}

async fn read_local(what: &'static str, path: &Path) -> Result<String, ConnectError> {
    tokio::fs::read_to_string(path)
        .await
        .map_err(|e| ConnectError::LocalFile {
            what,
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

fn check_readable(what: &'static str, path: &Path) -> Result<(), ConnectError> {
    std::fs::File::open(path)
        .map(|_| ())
        .map_err(|e| ConnectError::LocalFile {
            what,
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Maps async-nats's connect error onto jetsync's causes.
fn classify_connect_error(
    error: &async_nats::ConnectError,
    servers: &str,
    auth: &Auth,
    tls_first: bool,
) -> ConnectError {
    let servers = servers.to_string();
    // async-nats prefixes its kind ("IO error: …"); the source says it better.
    let reason =
        std::error::Error::source(error).map_or_else(|| error.to_string(), ToString::to_string);
    match error.kind() {
        ConnectErrorKind::AuthorizationViolation => ConnectError::AuthRefused {
            servers,
            method: auth.to_string(),
            reason: "authorization violation".to_string(),
        },
        ConnectErrorKind::Authentication => match auth {
            Auth::CredsFile(path) | Auth::NkeySeedFile(path) => ConnectError::LocalFile {
                what: if matches!(auth, Auth::CredsFile(_)) {
                    "credentials file"
                } else {
                    "nkey seed file"
                },
                path: path.clone(),
                reason: "its key cannot sign the server's challenge (not a valid nkey seed)"
                    .to_string(),
            },
            _ => ConnectError::AuthRefused {
                servers,
                method: auth.to_string(),
                reason,
            },
        },
        ConnectErrorKind::Tls => ConnectError::Tls {
            servers,
            reason: with_tls_hint(reason, tls_first),
        },
        ConnectErrorKind::ServerParse => ConnectError::InvalidServerUrl {
            url: servers,
            reason,
        },
        ConnectErrorKind::Io if is_tls_failure(error) => ConnectError::Tls {
            servers,
            reason: with_tls_hint(reason, tls_first),
        },
        ConnectErrorKind::Io if is_auth_failure(&reason) => ConnectError::AuthRefused {
            servers,
            method: auth.to_string(),
            reason,
        },
        ConnectErrorKind::Dns
        | ConnectErrorKind::TimedOut
        | ConnectErrorKind::Io
        | ConnectErrorKind::MaxReconnects => ConnectError::Unreachable { servers, reason },
    }
}

/// Adds what to do for the two common TLS failures.
fn with_tls_hint(reason: String, tls_first: bool) -> String {
    if reason.contains("UnknownIssuer") {
        format!("{reason}; give the CA that signed the server's certificate with --tls-ca")
    } else if tls_first && reason.contains("corrupt message") {
        format!("{reason}; the server does not start with TLS (leave --tls-first out)")
    } else {
        reason
    }
}

/// True when a rustls error is somewhere in the chain: async-nats reports a
/// failed TLS handshake as an I/O error.
fn is_tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = current {
        if err.is::<async_nats::rustls::Error>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.is::<async_nats::rustls::Error>())
        {
            return true;
        }
        current = err.source();
    }
    false
}

/// Server `-ERR`s during CONNECT that are about credentials, besides the
/// plain "Authorization Violation" (expired or revoked users, …).
fn is_auth_failure(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    ["authorization", "authentication"]
        .iter()
        .any(|word| reason.contains(word))
}

/// What the connected server says about its own JetStream, for the
/// wrong-domain message.
fn domain_hint(info: &async_nats::ServerInfo) -> String {
    match (&info.domain, info.jetstream) {
        (Some(domain), _) if !domain.is_empty() => {
            format!("; the server you are connected to runs JetStream in domain {domain:?}")
        }
        (_, true) => "; the server you are connected to runs JetStream without a domain \
                      (leave --js-domain out)"
            .to_string(),
        (_, false) => "; the server you are connected to has no JetStream of its own".to_string(),
    }
}

/// The account of the connected user (`$SYS.REQ.USER.INFO`), when the
/// server answers quickly; `None` otherwise (a user not permitted to ask is
/// recognised by the server's permissions violation, without waiting).
/// Informational only.
async fn user_account(
    client: &async_nats::Client,
    violations: &Violations,
    timeout: Duration,
) -> Option<String> {
    let request = async_nats::Request::new().timeout(Some(timeout.min(ACCOUNT_LOOKUP_TIMEOUT)));
    let Sent::Reply(message) =
        send_watching(client, Some(violations), "$SYS.REQ.USER.INFO", request).await
    else {
        return None;
    };
    let value: Value = serde_json::from_slice(&message.payload).ok()?;
    value
        .pointer("/data/account")
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn redact_url_hides_user_and_password() {
        assert_eq!(
            redact_url("nats://alice:s3cret@host:4222"),
            "nats://***@host:4222"
        );
        assert_eq!(redact_url("tls://tok3n@host"), "tls://***@host");
        assert_eq!(redact_url("alice:s3cret@host:4222"), "***@host:4222");
        assert_eq!(
            redact_url("nats://host:4222/path@x"),
            "nats://host:4222/path@x"
        );
        assert_eq!(redact_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(
            redact_urls("nats://a:b@h1:4222,nats://h2:4222"),
            "nats://***@h1:4222,nats://h2:4222"
        );
    }

    #[test]
    fn user_info_in_a_url_becomes_authentication_and_leaves_the_url() {
        let opts = ConnectOptions {
            servers: vec!["nats://al%40ice:p%3Ass@h:4222".into()],
            ..Default::default()
        };

        let resolved = opts.resolve_with(&env(&[])).unwrap();

        assert_eq!(resolved.servers, vec!["nats://h:4222"]);
        assert_eq!(
            resolved.auth,
            Auth::UserPassword {
                user: "al@ice".into(),
                password: Secret::new("p:ss")
            }
        );
    }

    #[test]
    fn nothing_configured_means_the_local_default_server() {
        let resolved = ConnectOptions::default().resolve_with(&env(&[])).unwrap();

        assert_eq!(resolved.servers, vec![DEFAULT_SERVER]);
        assert_eq!(resolved.auth, Auth::None);
        assert_eq!(resolved.timeout, DEFAULT_TIMEOUT);
        assert_eq!(resolved.context, None);
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_context() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "nats/context/dev.json",
            r#"{"url":"nats://ctx:4222","user":"ctxuser","password":"ctxpw",
               "jetstream_domain":"ctxdomain","ca":"/ctx/ca.pem"}"#,
        );
        write(dir.path(), "nats/context.txt", "dev");
        let base = ConnectOptions {
            config_home: Some(dir.path().to_path_buf()),
            ..Default::default()
        };

        let from_context = base.resolve_with(&env(&[])).unwrap();
        assert_eq!(from_context.servers, vec!["nats://ctx:4222"]);
        assert_eq!(from_context.context.as_deref(), Some("dev"));
        assert_eq!(from_context.js_domain.as_deref(), Some("ctxdomain"));
        assert_eq!(from_context.tls_ca, Some(PathBuf::from("/ctx/ca.pem")));
        assert!(
            matches!(from_context.auth, Auth::UserPassword { ref user, .. } if user == "ctxuser")
        );

        let from_env = base
            .resolve_with(&env(&[
                ("NATS_URL", "nats://env1:4222, nats://env2:4222"),
                ("NATS_TOKEN", "envtoken"),
                ("NATS_CA", "/env/ca.pem"),
            ]))
            .unwrap();
        assert_eq!(
            from_env.servers,
            vec!["nats://env1:4222", "nats://env2:4222"]
        );
        assert_eq!(from_env.auth, Auth::Token(Secret::new("envtoken")));
        assert_eq!(from_env.tls_ca, Some(PathBuf::from("/env/ca.pem")));

        let from_flags = ConnectOptions {
            servers: vec!["nats://flag:4222".into()],
            creds: Some("/flag/user.creds".into()),
            js_domain: Some("flagdomain".into()),
            ..base.clone()
        }
        .resolve_with(&env(&[
            ("NATS_URL", "nats://env:4222"),
            ("NATS_TOKEN", "t"),
        ]))
        .unwrap();
        assert_eq!(from_flags.servers, vec!["nats://flag:4222"]);
        assert_eq!(from_flags.auth, Auth::CredsFile("/flag/user.creds".into()));
        assert_eq!(from_flags.js_domain.as_deref(), Some("flagdomain"));
    }

    #[test]
    fn the_context_flag_beats_nats_context_and_context_txt() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "nats/context/a.json", r#"{"url":"nats://a:1"}"#);
        write(dir.path(), "nats/context/b.json", r#"{"url":"nats://b:2"}"#);
        write(dir.path(), "nats/context/c.json", r#"{"url":"nats://c:3"}"#);
        write(dir.path(), "nats/context.txt", "a");
        let opts = ConnectOptions {
            config_home: Some(dir.path().to_path_buf()),
            ..Default::default()
        };

        let selected = opts.resolve_with(&env(&[])).unwrap();
        let by_env = opts.resolve_with(&env(&[("NATS_CONTEXT", "b")])).unwrap();
        let by_flag = ConnectOptions {
            context: Some("c".into()),
            ..opts.clone()
        }
        .resolve_with(&env(&[("NATS_CONTEXT", "b")]))
        .unwrap();

        assert_eq!(selected.servers, vec!["nats://a:1"]);
        assert_eq!(by_env.servers, vec!["nats://b:2"]);
        assert_eq!(by_flag.servers, vec!["nats://c:3"]);
    }

    #[test]
    fn xdg_config_home_locates_the_contexts_when_no_directory_is_injected() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "nats/context/x.json", r#"{"url":"nats://x:1"}"#);
        let xdg = dir.path().to_str().unwrap();

        let resolved = ConnectOptions {
            context: Some("x".into()),
            ..Default::default()
        }
        .resolve_with(&env(&[("XDG_CONFIG_HOME", xdg), ("HOME", "/nonexistent")]))
        .unwrap();

        assert_eq!(resolved.servers, vec!["nats://x:1"]);
    }

    #[test]
    fn an_unknown_context_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = ConnectOptions {
            context: Some("prod".into()),
            config_home: Some(dir.path().to_path_buf()),
            ..Default::default()
        }
        .resolve_with(&env(&[]))
        .unwrap_err();

        assert!(matches!(err, ConnectError::Context { ref name, .. } if name == "prod"));
        assert!(err.to_string().contains("prod.json"), "{err}");
    }

    #[test]
    fn a_user_without_a_password_is_a_token_as_in_the_nats_cli() {
        let resolved = ConnectOptions::default()
            .resolve_with(&env(&[("NATS_USER", "tok")]))
            .unwrap();
        assert_eq!(resolved.auth, Auth::Token(Secret::new("tok")));

        let resolved = ConnectOptions {
            user: Some("alice".into()),
            ..Default::default()
        }
        .resolve_with(&env(&[("NATS_PASSWORD", "pw")]))
        .unwrap();
        assert_eq!(
            resolved.auth,
            Auth::UserPassword {
                user: "alice".into(),
                password: Secret::new("pw")
            }
        );
    }

    #[test]
    fn two_authentication_flags_at_once_are_refused() {
        let err = ConnectOptions {
            token: Some("t".into()),
            creds: Some("/x.creds".into()),
            ..Default::default()
        }
        .resolve_with(&env(&[]))
        .unwrap_err();

        assert!(matches!(err, ConnectError::InvalidConfig { .. }), "{err}");
        assert!(err.to_string().contains("--token and --creds"), "{err}");
    }

    #[test]
    fn a_client_certificate_without_its_key_is_refused() {
        let err = ConnectOptions {
            tls_cert: Some("/c.pem".into()),
            ..Default::default()
        }
        .resolve_with(&env(&[]))
        .unwrap_err();

        assert!(matches!(err, ConnectError::InvalidConfig { .. }), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let opts = ConnectOptions {
            servers: vec!["nats://bob:pw-in-url@h:4222".into()],
            user: Some("alice".into()),
            password: Some("hunter2-password".into()),
            token: Some("tok-value".into()),
            ..Default::default()
        };
        let shown = format!("{opts:?}");
        assert!(!shown.contains("hunter2-password"), "{shown}");
        assert!(!shown.contains("tok-value"), "{shown}");
        assert!(!shown.contains("pw-in-url"), "{shown}");
        assert!(shown.contains("alice"), "{shown}");

        let resolved = ConnectOptions {
            servers: vec!["nats://bob:pw-in-url@h:4222".into()],
            ..Default::default()
        }
        .resolve_with(&env(&[]))
        .unwrap();
        let shown = format!("{resolved:?} {}", resolved.auth);
        assert!(!shown.contains("pw-in-url"), "{shown}");
        assert!(shown.contains("bob"), "{shown}");
    }
}
