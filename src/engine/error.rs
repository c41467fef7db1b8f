//! What can stop the engine's pipeline before a plan exists, one variant a
//! cause, each with what the user needs to act. Errors of the JetStream API
//! keep the server's `err_code` ([`EngineError::err_code`]).

use std::path::PathBuf;

use crate::nats::{ApiRequestError, ConnectError};
use crate::plan::capabilities::ParseVersionError;

/// Why the pipeline stopped before planning a group.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Neither files nor directories were given.
    #[error("no manifests given; pass files or directories with -f (or `-` for stdin)")]
    NoManifests,
    /// A `--target` that is not an asset address.
    #[error(
        "--target {target}: expected stream/NAME, kv/BUCKET, objectstore/BUCKET or consumer/STREAM/NAME"
    )]
    InvalidTarget { target: String },
    /// A `--selector` that is not `KEY=VALUE`.
    #[error("--selector {selector}: expected KEY=VALUE")]
    InvalidSelector { selector: String },
    /// A `NatsConnection` the assets name cannot be used.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// No connection to NATS.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Reading the live state failed.
    #[error("reading the {what}: {source}")]
    Observe {
        /// What was being read.
        what: Reading,
        #[source]
        source: ApiRequestError,
    },
    /// `--prune` needs a listing, and the server refuses this user one.
    #[error(
        "--prune needs to see every asset the owner manages, but listing the account's \
         streams and consumers is not permitted ({denied}); plan without --prune, or use \
         credentials that may list"
    )]
    PruneNeedsListing {
        /// The server's refusal of the listing.
        denied: ApiRequestError,
    },
    /// The background reading of the live state ended without an answer.
    #[error("reading the live state: {0}")]
    ObserveInterrupted(#[source] tokio::task::JoinError),
    /// The server's version does not parse, so its capabilities are unknown.
    #[error(transparent)]
    ServerVersion(#[from] UnreadableServerVersion),
}

impl EngineError {
    /// The server's `err_code`, when the server answered with an error.
    pub fn err_code(&self) -> Option<u64> {
        self.api_error().and_then(ApiRequestError::err_code)
    }

    /// The JetStream API request that failed, if that is what this is.
    pub fn api_error(&self) -> Option<&ApiRequestError> {
        match self {
            Self::Observe { source, .. } => Some(source),
            Self::PruneNeedsListing { denied } => Some(denied),
            _ => None,
        }
    }
}

/// What a failed read was reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// The whole live state, by listing.
    LiveState,
    /// The declared assets, one INFO each (listing refused).
    DeclaredAssets,
    /// The assets a saved plan read and changes, one INFO each.
    PlannedAssets,
}

impl std::fmt::Display for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::LiveState => "live state",
            Self::DeclaredAssets => "declared assets",
            Self::PlannedAssets => "planned assets",
        })
    }
}

/// Why a `NatsConnection` document gives the CLI no connect options.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Assets name a connection no document declares.
    #[error(
        "assets name connection `{name}`, but no NatsConnection `{name}` is among the manifests"
    )]
    NotDeclared { name: String },
    /// A secret given as a Kubernetes Secret reference.
    #[error(
        "connection `{name}`: {what} is a Kubernetes Secret reference, which only the controller \
         can read; give the CLI `file:` instead"
    )]
    SecretReference { name: String, what: &'static str },
    /// A secret with neither a file nor a Secret reference.
    #[error("connection `{name}`: {what} names no source")]
    NoSource { name: String, what: &'static str },
    /// A secret file that cannot be read.
    #[error("connection `{name}`: cannot read {what} file {}: {source}", path.display())]
    Unreadable {
        name: String,
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The server's version does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the server's version `{version}`: {source}")]
pub struct UnreadableServerVersion {
    /// The version the server gave.
    pub version: String,
    pub source: ParseVersionError,
}

/// The message as text, for callers that carry it as a status message.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::nats::ApiError;

    #[test]
    fn an_observe_error_keeps_the_servers_err_code_and_names_what_was_read() {
        let error = EngineError::Observe {
            what: Reading::DeclaredAssets,
            source: ApiRequestError::Api {
                subject: "$JS.API.STREAM.INFO.ORDERS".to_string(),
                error: ApiError {
                    code: 503,
                    err_code: 10008,
                    description: "JetStream system temporarily unavailable".to_string(),
                },
            },
        };

        assert_eq!(error.err_code(), Some(10008));
        assert!(
            error
                .to_string()
                .starts_with("reading the declared assets: JetStream API $JS.API.STREAM.INFO"),
            "{error}"
        );
        assert_eq!(EngineError::NoManifests.err_code(), None);
    }
}
