//! Raw JetStream API requests: JSON in, JSON out, so that no field the
//! server sends is lost and none is invented on the way.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_nats::connection::State as ConnectionState;
use async_nats::{Client, Message, Request, RequestErrorKind};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::broadcast;

use super::error::{ApiError, ApiRequestError};

/// The JetStream API of one account (and domain), addressed by raw subject.
/// Cheap to clone; clones share the request counter.
#[derive(Clone, Debug)]
pub struct JsApi {
    client: Client,
    prefix: String,
    timeout: Duration,
    requests: Arc<AtomicUsize>,
    violations: Option<Violations>,
}

/// The server's "Permissions Violation …" errors on a connection, as text:
/// the server reports a refused publish only this way, asynchronously, so a
/// request racing against them can fail at once instead of timing out.
pub(crate) type Violations = broadcast::Sender<String>;

impl JsApi {
    /// An API handle on `client`: prefix `$JS.API`, or `$JS.<domain>.API` when
    /// a JetStream domain is given. Each request waits at most `timeout`.
    pub fn new(client: Client, domain: Option<&str>, timeout: Duration) -> Self {
        Self {
            client,
            prefix: api_prefix(domain),
            timeout,
            requests: Arc::new(AtomicUsize::new(0)),
            violations: None,
        }
    }

    /// Reports a request whose subject the server refuses as
    /// [`ApiRequestError::PermissionDenied`] instead of a timeout.
    pub(crate) fn with_violations(mut self, violations: Violations) -> Self {
        self.violations = Some(violations);
        self
    }

    /// The server's "Permissions Violation …" errors on this connection from
    /// now on (None when they are not watched).
    pub fn violations(&self) -> Option<broadcast::Receiver<String>> {
        self.violations.as_ref().map(broadcast::Sender::subscribe)
    }

    /// The subject prefix, `$JS.API` or `$JS.<domain>.API`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How long each request waits for an answer.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The client the requests go through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Requests sent so far through this handle and its clones.
    pub fn requests_sent(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// The full subject for an API operation, e.g. `STREAM.LIST` →
    /// `$JS.API.STREAM.LIST`.
    pub fn subject(&self, operation: &str) -> String {
        format!("{}.{operation}", self.prefix)
    }

    /// Sends `body` (or an empty payload for `None`) to `<prefix>.<operation>`
    /// and decodes the answer as `T`; an `{"error": …}` answer becomes
    /// [`ApiRequestError::Api`] with the server's `err_code`.
    pub async fn request<B, T>(
        &self,
        operation: &str,
        body: Option<&B>,
    ) -> Result<T, ApiRequestError>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let subject = self.subject(operation);
        let payload = self.request_payload(&subject, body).await?.payload;
        let decode = |reason: String| ApiRequestError::Decode {
            subject: subject.clone(),
            reason,
        };
        // The answer is decoded straight into `T`, not through a JSON value
        // first (a listing page of 256 stream configs would be built twice);
        // a first pass only looks for `error`, skipping everything else.
        let answer: ErrorField = serde_json::from_slice(&payload).map_err(|e| {
            // Well-formed JSON that does not fit: the error body is malformed.
            decode(match e.is_data() {
                true => format!("error body: {e}"),
                false => e.to_string(),
            })
        })?;
        if let Some(error) = answer.error {
            return Err(ApiRequestError::Api {
                subject: subject.clone(),
                error,
            });
        }
        serde_json::from_slice(&payload).map_err(|e| decode(e.to_string()))
    }

    /// Like [`Self::request`], returning the raw JSON answer.
    pub async fn request_raw<B>(
        &self,
        operation: &str,
        body: Option<&B>,
    ) -> Result<Value, ApiRequestError>
    where
        B: Serialize + ?Sized,
    {
        self.request(operation, body).await
    }

    /// Sends one request and returns the answer; transport failures
    /// (no responders, timeouts, a lost connection, denied subjects) become
    /// their errors.
    async fn request_payload<B>(
        &self,
        subject: &str,
        body: Option<&B>,
    ) -> Result<Message, ApiRequestError>
    where
        B: Serialize + ?Sized,
    {
        let payload = match body {
            Some(body) => serde_json::to_vec(body).map_err(|e| ApiRequestError::Decode {
                subject: subject.to_string(),
                reason: format!("encoding the request: {e}"),
            })?,
            None => Vec::new(),
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let request = Request::new()
            .payload(payload.into())
            .timeout(Some(self.timeout));
        let sent = send_watching(&self.client, self.violations.as_ref(), subject, request).await;
        let message = match sent {
            Sent::Reply(message) => message,
            Sent::Denied(detail) => {
                return Err(ApiRequestError::PermissionDenied {
                    subject: subject.to_string(),
                    detail,
                });
            }
            Sent::Failed(e) => {
                return Err(match e.kind() {
                    RequestErrorKind::NoResponders => ApiRequestError::NoResponders {
                        subject: subject.to_string(),
                    },
                    // No answer because the connection is gone (server
                    // stopped, network cut): say so, not "did not answer".
                    RequestErrorKind::TimedOut
                        if self.client.connection_state() != ConnectionState::Connected =>
                    {
                        ApiRequestError::Transport {
                            subject: subject.to_string(),
                            reason: format!(
                                "the connection to the NATS server was lost (client {}); \
                                 no answer within {:?}",
                                self.client.connection_state(),
                                self.timeout
                            ),
                        }
                    }
                    RequestErrorKind::TimedOut => ApiRequestError::TimedOut {
                        subject: subject.to_string(),
                        timeout: self.timeout,
                    },
                    _ => ApiRequestError::Transport {
                        subject: subject.to_string(),
                        reason: e.to_string(),
                    },
                });
            }
        };
        Ok(message)
    }
}

/// The `error` of an API answer, every other field skipped.
#[derive(serde::Deserialize)]
struct ErrorField {
    #[serde(default)]
    error: Option<ApiError>,
}

/// What became of a request sent while watching for permission violations.
pub(crate) enum Sent {
    /// The answer.
    Reply(Message),
    /// No answer (timeout, no responders, …).
    Failed(async_nats::RequestError),
    /// The server refused the subject (or the reply inbox): its text.
    Denied(String),
}

/// Sends `request`, and with `violations` also waits for the server's
/// "Permissions Violation" naming `subject` (or the reply inbox), whichever
/// comes first.
pub(crate) async fn send_watching(
    client: &Client,
    violations: Option<&Violations>,
    subject: &str,
    request: Request,
) -> Sent {
    let Some(violations) = violations else {
        return match client.send_request(subject.to_string(), request).await {
            Ok(message) => Sent::Reply(message),
            Err(e) => Sent::Failed(e),
        };
    };
    // Subscribed before sending, so the violation cannot be missed.
    let mut receiver = violations.subscribe();
    tokio::select! {
        result = client.send_request(subject.to_string(), request) => match result {
            Ok(message) => Sent::Reply(message),
            Err(e) => Sent::Failed(e),
        },
        text = violation_for(&mut receiver, subject) => Sent::Denied(text),
    }
}

async fn violation_for(receiver: &mut broadcast::Receiver<String>, subject: &str) -> String {
    let quoted = format!("\"{subject}\"");
    loop {
        match receiver.recv().await {
            Ok(text)
                if text.contains(&quoted)
                    || (text.contains("Subscription to") && text.contains("_INBOX")) =>
            {
                return text;
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// `$JS.API`, or `$JS.<domain>.API` for a JetStream domain.
pub fn api_prefix(domain: Option<&str>) -> String {
    match domain {
        Some(domain) if !domain.is_empty() => format!("$JS.{domain}.API"),
        _ => "$JS.API".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_prefix_carries_the_jetstream_domain() {
        assert_eq!(api_prefix(None), "$JS.API");
        assert_eq!(api_prefix(Some("")), "$JS.API");
        assert_eq!(api_prefix(Some("hub")), "$JS.hub.API");
    }
}
