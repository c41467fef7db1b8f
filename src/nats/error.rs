//! Errors of the JetStream API: the server's own error body, and what can go
//! wrong with a request before the server answers.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// An error body the JetStream API returned (`{"error": {code, err_code,
/// description}}`), kept whole so callers can match on `err_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{description} (err_code {err_code}, status {code})")]
pub struct ApiError {
    /// HTTP-like status, e.g. 400, 404, 503.
    #[serde(default)]
    pub code: u16,
    /// JetStream's error number (see JETSTREAM.md: 10059 stream not found, …).
    #[serde(default)]
    pub err_code: u64,
    /// The server's text.
    #[serde(default)]
    pub description: String,
}

impl ApiError {
    /// Stream not found.
    pub const STREAM_NOT_FOUND: u64 = 10059;
    /// Consumer not found.
    pub const CONSUMER_NOT_FOUND: u64 = 10014;
    /// JetStream not enabled for the account.
    pub const JETSTREAM_NOT_ENABLED_FOR_ACCOUNT: u64 = 10039;
    /// JetStream not enabled.
    pub const JETSTREAM_NOT_ENABLED: u64 = 10076;
    /// Cluster not available: transient, worth a retry.
    pub const CLUSTER_NOT_AVAILABLE: u64 = 10008;
    /// "error creating store for stream" (a stream create's own error,
    /// 10049): seen when a file stream is created again right after its
    /// delete, while the server still removes the old files.
    pub const STREAM_CREATE: u64 = 10049;

    /// True for the two codes that mean "JetStream is not enabled" (10039, 10076).
    pub fn is_jetstream_not_enabled(&self) -> bool {
        matches!(
            self.err_code,
            Self::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT | Self::JETSTREAM_NOT_ENABLED
        )
    }
}

/// A JetStream API request that did not produce a usable answer. Every
/// variant names the subject it was sent to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiRequestError {
    /// The server answered with an error body.
    #[error("JetStream API {subject}: {error}")]
    Api {
        /// The request subject.
        subject: String,
        /// The server's error, with its `err_code`.
        error: ApiError,
    },
    /// Nobody listens on the subject: JetStream is not enabled for this
    /// account, or the JetStream domain is wrong.
    #[error(
        "no JetStream answered {subject} (no responders): JetStream is not enabled \
         for this account, or the JetStream domain is wrong"
    )]
    NoResponders {
        /// The request subject.
        subject: String,
    },
    /// The server refused this user the subject (a permissions violation).
    #[error("not permitted to use the JetStream API {subject} (the server said: {detail})")]
    PermissionDenied {
        /// The request subject.
        subject: String,
        /// The server's text.
        detail: String,
    },
    /// Somebody listens but did not answer in time.
    #[error("JetStream API {subject} did not answer within {timeout:?}")]
    TimedOut {
        /// The request subject.
        subject: String,
        /// How long jetsync waited.
        timeout: Duration,
    },
    /// The request could not be sent (connection lost, payload too large, …).
    #[error("JetStream API request {subject} failed: {reason}")]
    Transport {
        /// The request subject.
        subject: String,
        /// What the client library said.
        reason: String,
    },
    /// The answer was not the JSON jetsync expected.
    #[error("JetStream API {subject} answered with a response jetsync cannot read: {reason}")]
    Decode {
        /// The request subject.
        subject: String,
        /// What did not parse.
        reason: String,
    },
}

impl ApiRequestError {
    /// The server's `err_code` when the server answered with an error body.
    pub fn err_code(&self) -> Option<u64> {
        match self {
            Self::Api { error, .. } => Some(error.err_code),
            _ => None,
        }
    }

    /// The server's error body, if that is what this is.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The subject the failed request was sent to.
    pub fn subject(&self) -> &str {
        match self {
            Self::Api { subject, .. }
            | Self::NoResponders { subject }
            | Self::PermissionDenied { subject, .. }
            | Self::TimedOut { subject, .. }
            | Self::Transport { subject, .. }
            | Self::Decode { subject, .. } => subject,
        }
    }

    /// True when a retry may succeed: timeouts, transport failures and
    /// "cluster not available" (10008).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::TimedOut { .. } | Self::Transport { .. } => true,
            Self::Api { error, .. } => {
                error.err_code == ApiError::CLUSTER_NOT_AVAILABLE
                    || (error.err_code == ApiError::STREAM_CREATE
                        && error.description.contains("creating store"))
            }
            Self::NoResponders { .. } | Self::PermissionDenied { .. } | Self::Decode { .. } => {
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_parses_the_servers_error_body_and_displays_its_code() {
        let error: ApiError = serde_json::from_str(
            r#"{"code":404,"err_code":10059,"description":"stream not found"}"#,
        )
        .unwrap();

        assert_eq!(error.err_code, ApiError::STREAM_NOT_FOUND);
        assert_eq!(
            error.to_string(),
            "stream not found (err_code 10059, status 404)"
        );
    }

    #[test]
    fn request_errors_name_their_subject_and_keep_the_err_code() {
        let err = ApiRequestError::Api {
            subject: "$JS.API.STREAM.INFO.X".into(),
            error: ApiError {
                code: 503,
                err_code: 10008,
                description: "JetStream system temporarily unavailable".into(),
            },
        };

        assert_eq!(err.err_code(), Some(10008));
        assert!(err.is_transient());
        assert!(err.to_string().contains("$JS.API.STREAM.INFO.X"), "{err}");
    }
}
