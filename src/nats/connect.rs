//! Connecting to NATS: a connection that fails fast with a distinct error
//! per cause, and the server's identity read once.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use async_nats::{ConnectErrorKind, ServerAddr};
use serde_json::Value;

use super::api::{JsApi, Sent, Violations, send_watching};
use super::auth::Auth;
use super::connect_error::{ConnectError, classify_connect_error, domain_hint};
use super::error::ApiRequestError;
use super::options::{ConnectOptions, ResolvedOptions};
use crate::spec::server_url;

/// How long connect waits for the (informational) account name.
const ACCOUNT_LOOKUP_TIMEOUT: Duration = Duration::from_secs(1);

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
                    url: server_url::redact(server),
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
