//! Out-of-band changes noticed within a second: every pooled NATS
//! connection subscribes to JetStream's advisories, and each one naming an
//! asset becomes a [`Touch`] that reconciles the resources of that asset at
//! once. The periodic drift check stays as the safety net (advisories sent
//! while a connection is down are lost).
//!
//! Measured on nats-server 2.10.26 and 2.15.1: a stream create, update or
//! delete and a consumer create or delete each send a specific advisory
//! (`$JS.EVENT.ADVISORY.STREAM.CREATED|UPDATED|DELETED.<stream>`,
//! `…CONSUMER.CREATED|DELETED.<stream>.<consumer>`, a stream delete one
//! `CONSUMER.DELETED` per consumer too) and the API audit
//! `$JS.EVENT.ADVISORY.API`; a consumer update sends only the audit. So the
//! audit is read for every change made through the API (it names the client,
//! so the controller's own requests are recognised and skipped), and the
//! `DELETED` advisories for deletions the server makes by itself.
//!
//! Before nats-server 2.11.2 the audit names a token-authenticated client
//! by its token, in clear (nats-server#6808 redacted it): on those servers
//! the audit is not read, so that no token reaches the controller (its
//! client logs payloads at TRACE). The specific advisories stand in for it:
//! they carry no client, so the controller's own writes come back as one
//! in-sync re-check each, and a consumer update waits for the periodic check.

use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::{broadcast, watch};

use crate::nats::Connection;
use crate::plan::Address;
use crate::plan::capabilities::ServerVersion;

/// The subjects each pooled connection subscribes to.
pub const SUBJECTS: [&str; 3] = [
    "$JS.EVENT.ADVISORY.API",
    "$JS.EVENT.ADVISORY.STREAM.DELETED.*",
    "$JS.EVENT.ADVISORY.CONSUMER.DELETED.*.*",
];

/// The subjects on a server whose audit shows tokens (before 2.11.2).
pub const SUBJECTS_WITHOUT_AUDIT: [&str; 5] = [
    "$JS.EVENT.ADVISORY.STREAM.CREATED.*",
    "$JS.EVENT.ADVISORY.STREAM.UPDATED.*",
    "$JS.EVENT.ADVISORY.STREAM.DELETED.*",
    "$JS.EVENT.ADVISORY.CONSUMER.CREATED.*.*",
    "$JS.EVENT.ADVISORY.CONSUMER.DELETED.*.*",
];

/// The first nats-server whose API audit redacts tokens.
pub const AUDIT_REDACTS_TOKENS: ServerVersion = ServerVersion::new(2, 11, 2);

/// The subjects to subscribe to on nats-server `version`.
pub fn subjects(version: ServerVersion) -> &'static [&'static str] {
    if version >= AUDIT_REDACTS_TOKENS {
        &SUBJECTS
    } else {
        &SUBJECTS_WITHOUT_AUDIT
    }
}

/// How long a refused subscription takes at most to be reported by the
/// server (its "Permissions Violation" follows the SUB at once; this bounds
/// the wait for it after a flush).
const REFUSAL_WAIT: Duration = Duration::from_millis(500);

/// Which resources a touch of an asset concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// The resources of the asset itself.
    Asset,
    /// The asset's and those of every consumer on the stream (it was
    /// created, deleted or replaced).
    AssetAndConsumers,
    /// Only the consumers on the stream (the controller itself made,
    /// replaced or deleted it), or only the named consumer (its stream is
    /// there now).
    Consumers,
}

/// An asset changed on the server one pooled connection talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touch {
    /// The pool key of the connection.
    pub pool: String,
    /// The stream (for a KV bucket or object store, its backing stream).
    pub stream: String,
    /// The consumer, when the touch is about one.
    pub consumer: Option<String>,
    pub reach: Reach,
}

impl Touch {
    /// False when no resource of a kind whose assets are consumers (or are
    /// not) can be concerned, so that a controller skips its resources.
    pub fn may_concern(&self, consumers: bool) -> bool {
        match (consumers, &self.consumer) {
            (true, Some(_)) => true,
            (true, None) => self.reach != Reach::Asset,
            (false, Some(_)) => false,
            (false, None) => self.reach != Reach::Consumers,
        }
    }

    /// True when the resource whose asset lives at `address` is concerned.
    pub fn concerns(&self, address: &Address) -> bool {
        if address.stream_name() != self.stream {
            return false;
        }
        match (&address.consumer, &self.consumer) {
            (None, None) => self.reach != Reach::Consumers,
            (Some(_), None) => self.reach != Reach::Asset,
            (Some(mine), Some(touched)) => mine == touched,
            (None, Some(_)) => false,
        }
    }
}

/// Who a connection is, to recognise its own requests in the API audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Me {
    pub client_id: u64,
    pub server_name: String,
}

/// What an advisory says changed: stream, consumer, reach. None for what
/// changes no configuration (reads, purges, failed requests) and for the
/// requests of `me`.
pub fn read(subject: &str, payload: &[u8], me: &Me) -> Option<(String, Option<String>, Reach)> {
    if subject == SUBJECTS[0] {
        return read_audit(payload, me);
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    match tokens.as_slice() {
        ["$JS", "EVENT", "ADVISORY", "STREAM", "UPDATED", stream] => {
            Some((stream.to_string(), None, Reach::Asset))
        }
        [
            "$JS",
            "EVENT",
            "ADVISORY",
            "STREAM",
            "CREATED" | "DELETED",
            stream,
        ] => Some((stream.to_string(), None, Reach::AssetAndConsumers)),
        [
            "$JS",
            "EVENT",
            "ADVISORY",
            "CONSUMER",
            "CREATED" | "DELETED",
            stream,
            consumer,
        ] => Some((stream.to_string(), Some(consumer.to_string()), Reach::Asset)),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Audit {
    #[serde(default)]
    client: Option<AuditClient>,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    response: String,
}

#[derive(Deserialize)]
struct AuditClient {
    #[serde(default)]
    id: u64,
    #[serde(default)]
    server: String,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

fn read_audit(payload: &[u8], me: &Me) -> Option<(String, Option<String>, Reach)> {
    let audit: Audit = serde_json::from_slice(payload).ok()?;
    let found = changed_by_request(&audit.subject)?;
    if audit
        .client
        .as_ref()
        .is_some_and(|c| c.id == me.client_id && c.server == me.server_name)
    {
        return None;
    }
    let refused = serde_json::from_str::<Response>(&audit.response)
        .map(|r| r.error.is_some())
        .unwrap_or(false);
    (!refused).then_some(found)
}

/// What a JetStream API request subject changes (`$JS.API.…` or
/// `$JS.<domain>.API.…`), when it changes a configuration.
fn changed_by_request(subject: &str) -> Option<(String, Option<String>, Reach)> {
    let rest = subject.strip_prefix("$JS.")?;
    let rest = match rest.strip_prefix("API.") {
        Some(rest) => rest,
        None => rest.split_once(".API.")?.1,
    };
    let tokens: Vec<&str> = rest.split('.').collect();
    let stream = |name: &str, reach| Some((name.to_string(), None, reach));
    let consumer =
        |stream: &str, name: &str| Some((stream.to_string(), Some(name.to_string()), Reach::Asset));
    match tokens.as_slice() {
        ["STREAM", "UPDATE", name] => stream(name, Reach::Asset),
        ["STREAM", "CREATE" | "DELETE" | "RESTORE", name] => stream(name, Reach::AssetAndConsumers),
        ["CONSUMER", "CREATE", name, durable, ..]
        | ["CONSUMER", "DURABLE", "CREATE", name, durable]
        | ["CONSUMER", "DELETE" | "PAUSE", name, durable] => consumer(name, durable),
        _ => None,
    }
}

/// Whether a connection's advisories arrive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchState {
    /// Subscribing.
    Starting,
    /// Subscribed: out-of-band changes are noticed at once.
    Watching,
    /// The server refused the subscription (its message) or it failed:
    /// only the periodic check notices out-of-band changes.
    Refused(String),
}

/// Subscribes `connection` (pool key `pool`) to the advisories and sends a
/// [`Touch`] for each change it reads, until the task is aborted. `state`
/// tells whether the subscription was allowed; a refusal is logged once.
pub async fn watch(
    connection: Connection,
    pool: String,
    touches: broadcast::Sender<Touch>,
    state: watch::Sender<WatchState>,
) {
    let client = connection.client.clone();
    let mut violations = connection.api().violations();
    let version = ServerVersion::parse(&connection.server.version).unwrap_or_default();
    let mut subscriptions = Vec::new();
    for subject in subjects(version) {
        match client.subscribe(*subject).await {
            Ok(subscription) => subscriptions.push(subscription),
            Err(error) => {
                refused(&state, &pool, format!("subscribing to {subject}: {error}"));
                return;
            }
        }
    }
    let refusal = match (&mut violations, client.flush().await) {
        (_, Err(error)) => Some(format!("flushing the subscriptions: {error}")),
        (Some(violations), Ok(())) => {
            tokio::time::timeout(REFUSAL_WAIT, refused_subscription(violations))
                .await
                .ok()
        }
        (None, Ok(())) => None,
    };
    match refusal {
        Some(text) => refused(&state, &pool, text),
        None => {
            tracing::debug!(profile = %pool, "watching JetStream advisories");
            state.send_replace(WatchState::Watching);
        }
    }
    let mut messages = futures::stream::select_all(subscriptions);
    while let Some(message) = messages.next().await {
        let info = client.server_info();
        let me = Me {
            client_id: info.client_id,
            server_name: info.server_name,
        };
        if let Some((stream, consumer, reach)) = read(&message.subject, &message.payload, &me) {
            tracing::debug!(profile = %pool, %stream, ?consumer, "changed outside the controller");
            let _ = touches.send(Touch {
                pool: pool.clone(),
                stream,
                consumer,
                reach,
            });
        }
    }
}

fn refused(state: &watch::Sender<WatchState>, pool: &str, text: String) {
    tracing::warn!(
        profile = %pool,
        refusal = %text,
        "cannot subscribe to JetStream advisories ($JS.EVENT.ADVISORY.>): out-of-band changes are noticed at the periodic drift check only"
    );
    state.send_replace(WatchState::Refused(text));
}

async fn refused_subscription(violations: &mut broadcast::Receiver<String>) -> String {
    loop {
        match violations.recv().await {
            Ok(text) if text.contains("Subscription to") && text.contains("$JS.EVENT.ADVISORY") => {
                return text;
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn me() -> Me {
        Me {
            client_id: 7,
            server_name: "n1".into(),
        }
    }

    fn audit(subject: &str, client_id: u64, response: serde_json::Value) -> Vec<u8> {
        json!({
            "type": "io.nats.jetstream.advisory.v1.api_audit",
            "client": {"id": client_id, "server": "n1", "acc": "$G"},
            "subject": subject,
            "request": "{}",
            "response": response.to_string(),
        })
        .to_string()
        .into_bytes()
    }

    fn touched(subject: &str, payload: &[u8]) -> Option<(String, Option<String>, Reach)> {
        read(subject, payload, &me())
    }

    #[test]
    fn audits_of_config_changes_by_others_name_the_asset() {
        let ok = json!({"type": "io.nats.jetstream.api.v1.stream_update_response"});
        assert_eq!(
            touched(
                SUBJECTS[0],
                &audit("$JS.API.STREAM.UPDATE.ORDERS", 9, ok.clone())
            ),
            Some(("ORDERS".into(), None, Reach::Asset))
        );
        assert_eq!(
            touched(
                SUBJECTS[0],
                &audit("$JS.API.STREAM.DELETE.ORDERS", 9, ok.clone())
            ),
            Some(("ORDERS".into(), None, Reach::AssetAndConsumers))
        );
        for subject in [
            "$JS.API.CONSUMER.CREATE.ORDERS.worker",
            "$JS.API.CONSUMER.CREATE.ORDERS.worker.orders.new",
            "$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.worker",
            "$JS.hub.API.CONSUMER.DELETE.ORDERS.worker",
        ] {
            assert_eq!(
                touched(SUBJECTS[0], &audit(subject, 9, ok.clone())),
                Some(("ORDERS".into(), Some("worker".into()), Reach::Asset)),
                "{subject}"
            );
        }
    }

    #[test]
    fn reads_failures_and_the_controllers_own_requests_touch_nothing() {
        let ok = json!({"type": "io.nats.jetstream.api.v1.stream_info_response"});
        let failed = json!({"error": {"code": 400, "err_code": 10052}});
        assert_eq!(
            touched(
                SUBJECTS[0],
                &audit("$JS.API.STREAM.INFO.ORDERS", 9, ok.clone())
            ),
            None
        );
        assert_eq!(
            touched(
                SUBJECTS[0],
                &audit("$JS.API.STREAM.PURGE.ORDERS", 9, ok.clone())
            ),
            None
        );
        assert_eq!(
            touched(
                SUBJECTS[0],
                &audit("$JS.API.STREAM.UPDATE.ORDERS", 9, failed)
            ),
            None
        );
        assert_eq!(
            touched(SUBJECTS[0], &audit("$JS.API.STREAM.UPDATE.ORDERS", 7, ok)),
            None,
            "client 7 on n1 is the controller itself"
        );
        assert_eq!(touched(SUBJECTS[0], b"not json"), None);
    }

    #[test]
    fn deletions_the_server_makes_itself_name_the_asset() {
        assert_eq!(
            touched("$JS.EVENT.ADVISORY.CONSUMER.DELETED.ORDERS.worker", b"{}"),
            Some(("ORDERS".into(), Some("worker".into()), Reach::Asset))
        );
        assert_eq!(
            touched("$JS.EVENT.ADVISORY.STREAM.DELETED.KV_config", b"{}"),
            Some(("KV_config".into(), None, Reach::AssetAndConsumers))
        );
    }

    #[test]
    fn the_audit_is_read_only_where_it_redacts_tokens() {
        assert_eq!(subjects(ServerVersion::new(2, 15, 1)), &SUBJECTS);
        assert_eq!(subjects(ServerVersion::new(2, 11, 2)), &SUBJECTS);
        assert!(!subjects(ServerVersion::new(2, 11, 1)).contains(&SUBJECTS[0]));
        assert!(!subjects(ServerVersion::new(2, 10, 26)).contains(&SUBJECTS[0]));
        assert_eq!(
            touched("$JS.EVENT.ADVISORY.STREAM.UPDATED.ORDERS", b"{}"),
            Some(("ORDERS".into(), None, Reach::Asset))
        );
        assert_eq!(
            touched("$JS.EVENT.ADVISORY.CONSUMER.CREATED.ORDERS.worker", b"{}"),
            Some(("ORDERS".into(), Some("worker".into()), Reach::Asset))
        );
    }

    #[test]
    fn a_touch_concerns_the_asset_and_with_its_reach_the_consumers_on_it() {
        let touch = |consumer: Option<&str>, reach| Touch {
            pool: "default".into(),
            stream: "KV_config".into(),
            consumer: consumer.map(str::to_string),
            reach,
        };
        let bucket = Address::kv("config");
        let reader = Address::consumer("KV_config", "reader");
        let other = Address::consumer("KV_config", "other");

        assert!(touch(None, Reach::Asset).concerns(&bucket));
        assert!(!touch(None, Reach::Asset).concerns(&reader));
        assert!(touch(None, Reach::AssetAndConsumers).concerns(&reader));
        assert!(!touch(None, Reach::Consumers).concerns(&bucket));
        assert!(touch(None, Reach::Consumers).concerns(&reader));
        assert!(touch(Some("reader"), Reach::Asset).concerns(&reader));
        assert!(!touch(Some("reader"), Reach::Asset).concerns(&other));
        assert!(!touch(Some("reader"), Reach::Asset).concerns(&bucket));
        assert!(!touch(None, Reach::Asset).concerns(&Address::stream("config")));
        assert!(!touch(None, Reach::Asset).may_concern(true));
        assert!(!touch(None, Reach::Consumers).may_concern(false));
        assert!(!touch(Some("reader"), Reach::Asset).may_concern(false));
        assert!(touch(None, Reach::AssetAndConsumers).may_concern(true));
        assert!(touch(None, Reach::AssetAndConsumers).may_concern(false));
    }
}
