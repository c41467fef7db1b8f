//! Why a connection could not be made: one [`ConnectError`] variant per
//! cause, mapped from async-nats's errors, each saying what to fix.

use std::path::PathBuf;

use async_nats::ConnectErrorKind;

use super::auth::Auth;
use super::error::ApiRequestError;

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

/// Maps async-nats's connect error onto jetsync's causes.
pub(super) fn classify_connect_error(
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
pub(super) fn domain_hint(info: &async_nats::ServerInfo) -> String {
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
