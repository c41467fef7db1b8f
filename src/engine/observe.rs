//! Observing the live state, the pipeline's third stage, two ways: by
//! listing the whole account (DESIGN.md: observe by listing, as the CLI
//! does), or by one INFO request per asset (for credentials that may only
//! read their own assets, and for the controller, whose reconcile of one
//! resource never lists the account: [`super::lookup`]).

use std::collections::BTreeMap;

use super::error::{EngineError, Reading};
use crate::nats::{self, ApiRequestError, ConnectOptions, Connection, LiveState, ObserveOptions};
use crate::nats::{Unavailable, UnavailableReason};
use crate::plan::classify::Plan;
use crate::plan::{Address, Holdings, LiveAsset, LiveConfig};

/// How the live state is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// List every stream and consumer of the account (`STREAM.LIST`,
    /// `CONSUMER.LIST`): every asset is seen, what prune needs.
    List,
    /// One INFO request per address, and per consumer's stream: only these
    /// assets are seen.
    Lookup(Vec<Address>),
}

impl Strategy {
    /// Reads the live state this way.
    pub async fn read(&self, connection: &Connection) -> Result<LiveState, ApiRequestError> {
        match self {
            Self::List => connection.observe(&ObserveOptions::default()).await,
            Self::Lookup(addresses) => {
                nats::inspect(connection.api(), &ObserveOptions::default(), addresses).await
            }
        }
    }
}

/// What a listing of the live state gave.
pub enum Listing {
    Listed(LiveState),
    /// The server refuses this user `STREAM.LIST`/`CONSUMER.LIST`: what it said.
    Denied(ApiRequestError),
}

/// Connects and reads the whole live state by listing, telling a listing
/// the server refuses this user apart from other failures.
pub async fn connect_and_list(
    options: &ConnectOptions,
) -> Result<(Connection, Listing), EngineError> {
    let connection = nats::connect(options).await?;
    match Strategy::List.read(&connection).await {
        Ok(state) => Ok((connection, Listing::Listed(state))),
        Err(e) if nats::is_listing_denied(&e) => Ok((connection, Listing::Denied(e))),
        Err(source) => Err(EngineError::Observe {
            what: Reading::LiveState,
            source,
        }),
    }
}

/// Connects and reads the whole live state by listing; a refused listing
/// is an error.
pub async fn connect_and_observe(
    options: &ConnectOptions,
) -> Result<(Connection, LiveState), EngineError> {
    match connect_and_list(options).await? {
        (connection, Listing::Listed(state)) => Ok((connection, state)),
        (_, Listing::Denied(source)) => Err(EngineError::Observe {
            what: Reading::LiveState,
            source,
        }),
    }
}

/// The default connection's live state, read in the background while the
/// manifests load: reading thousands of manifests and listing the server
/// then overlap. Only reads; the result is used when the manifests are
/// valid and some asset uses the default connection, and dropping it stops
/// the reading.
pub struct Prefetch(tokio::task::JoinHandle<Result<(Connection, Listing), EngineError>>);

impl Prefetch {
    /// Starts listing with `options` on `runtime`.
    pub fn start(runtime: &tokio::runtime::Runtime, options: ConnectOptions) -> Self {
        Self(runtime.spawn(async move { connect_and_list(&options).await }))
    }

    /// The listing, once it is done.
    pub async fn result(mut self) -> Result<(Connection, Listing), EngineError> {
        (&mut self.0)
            .await
            .unwrap_or_else(|e| Err(EngineError::ObserveInterrupted(e)))
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether a live consumer config names a durable. nats-server writes
/// `durable_name` first when it is set (it is the first field of its
/// consumer config); anything else is read in full.
fn is_durable(config: &LiveConfig) -> bool {
    const FIRST: &str = r#"{"durable_name":""#;
    if let Some(rest) = config.json().strip_prefix(FIRST) {
        return !rest.starts_with('"');
    }
    #[derive(serde::Deserialize)]
    struct Durable {
        #[serde(default)]
        durable_name: Option<String>,
    }
    config
        .read::<Durable>()
        .and_then(|config| config.durable_name)
        .is_some_and(|name| !name.is_empty())
}

/// The live assets jetsync plans against: every stream (KV buckets and
/// object stores recognised by their `KV_`/`OBJ_` backing streams) and every
/// durable consumer of a plain stream. Ephemeral consumers and consumers on
/// KV/object-store streams (watchers, readers) are not assets.
pub fn live_assets(state: LiveState) -> Vec<LiveAsset> {
    let consumers: usize = state.consumers.values().map(Vec::len).sum();
    let mut assets = Vec::with_capacity(state.streams.len() + consumers);
    // The configs are moved, not copied: the listing of thousands of assets
    // is most of a plan's memory.
    // Ephemeral consumers belong to a client's subscription: not assets, but
    // counted on their stream, whose replacement or deletion ends them.
    let mut ephemeral: BTreeMap<String, u64> = BTreeMap::new();
    for (stream, consumers) in state.consumers {
        for consumer in consumers {
            if !is_durable(&consumer.config) {
                *ephemeral.entry(stream.clone()).or_default() += 1;
                continue;
            }
            assets.push(LiveAsset {
                address: Address::consumer(&stream, &consumer.name),
                config: consumer.config,
                holdings: Holdings {
                    pending: consumer.num_pending,
                    ack_pending: consumer.num_ack_pending,
                    delivered_stream_seq: consumer.delivered.stream_seq,
                    ..Holdings::default()
                },
            });
        }
    }
    for stream in state.streams {
        assets.push(LiveAsset {
            address: Address::from_stream_name(&stream.name),
            holdings: Holdings {
                messages: stream.state.messages,
                bytes: stream.state.bytes,
                consumer_count: stream.state.consumer_count,
                ephemeral_consumers: ephemeral.get(&stream.name).copied().unwrap_or(0),
                ..Holdings::default()
            },
            config: stream.config,
        });
    }
    assets.sort_by(|a, b| a.address.cmp(&b.address));
    assets
}

/// Refuses every change to an asset the server listed as missing or offline
/// (a clustered stream whose replicas did not answer): it looks absent, so
/// the plan would create it (or its consumers) again. Nothing is written for
/// it until it answers; a rerun then plans it from its real state.
pub fn refuse_unavailable(plan: &mut Plan, unavailable: &[Unavailable]) {
    for change in &mut plan.changes {
        let stream = change.address.stream_name();
        let Some(gone) = unavailable.iter().find(|u| {
            u.stream == stream && (u.consumer.is_none() || u.consumer == change.address.consumer)
        }) else {
            continue;
        };
        if change.refused.is_some() {
            continue;
        }
        let what = match &gone.consumer {
            Some(consumer) => format!("consumer {consumer} of stream {}", gone.stream),
            None => format!("stream {}", gone.stream),
        };
        let why = match &gone.reason {
            UnavailableReason::Missing => "its replicas did not answer".to_string(),
            UnavailableReason::Offline(reason) => format!("offline: {reason}"),
        };
        change.reason = format!("listed by the server, but {why}");
        change.refused = Some(format!(
            "the server lists {what} but cannot describe it ({why}); \
             nothing is planned for it: rerun when the cluster has recovered"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> LiveConfig {
        LiveConfig::new(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn a_consumer_is_durable_when_its_durable_name_is_set_wherever_the_field_is() {
        // As nats-server writes it: durable_name first.
        assert!(is_durable(&config(r#"{"durable_name":"c","name":"c"}"#)));
        // Any other order (LiveConfig::new sorts keys: name comes after).
        let reordered = LiveConfig::from_raw(
            serde_json::value::RawValue::from_string(
                r#"{"name":"c","ack_policy":"explicit","durable_name":"c"}"#.into(),
            )
            .unwrap(),
        );
        assert!(is_durable(&reordered));
        assert!(!is_durable(&config(r#"{"durable_name":"","name":"e"}"#)));
        assert!(!is_durable(&config(r#"{"name":"e","ack_policy":"none"}"#)));
        // A user's metadata key of that name is not the field.
        assert!(!is_durable(&config(
            r#"{"name":"e","metadata":{"durable_name":"x"}}"#
        )));
    }
}
