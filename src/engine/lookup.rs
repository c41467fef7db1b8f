//! The lookup strategy for one asset, by INFO requests: one `STREAM.INFO`
//! for a stream, KV bucket or object store; `STREAM.INFO` and
//! `CONSUMER.INFO` for a consumer (the plan needs the stream's consumer
//! limits). What the controller's reconcile of one resource reads: it never
//! lists the whole account.

use serde_json::Value;

use std::collections::BTreeSet;

use crate::nats::JsApi;
use crate::nats::error::{ApiError, ApiRequestError};
use crate::plan::capabilities::ServerVersion;
use crate::plan::classify::{self, Plan, PlanOptions};
use crate::plan::desired::DesiredAsset;
use crate::plan::{Address, AssetKind, Holdings, LiveAsset, LiveConfig};

/// What the server holds at one address.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveLookup {
    /// The asset, when it exists.
    pub asset: Option<LiveAsset>,
    /// For a consumer: its stream, when it exists (the plan reads its
    /// consumer limits).
    pub stream: Option<LiveAsset>,
    /// For a stream-like asset: how many consumers it has.
    pub consumer_count: Option<u64>,
    /// For a stream-like asset: its durable consumers, once listed
    /// ([`LiveLookup::list_consumers`]: a replacement needs them).
    pub consumers: Vec<LiveAsset>,
}

impl LiveLookup {
    /// True for a consumer whose stream does not exist.
    pub fn stream_missing(&self, address: &Address) -> bool {
        address.kind == AssetKind::Consumer && self.stream.is_none()
    }

    /// The live assets to plan against (the asset and, for a consumer, its
    /// stream; for a stream whose consumers were listed, them too).
    pub fn assets(&self) -> Vec<LiveAsset> {
        self.stream
            .iter()
            .chain(&self.asset)
            .chain(&self.consumers)
            .cloned()
            .collect()
    }

    /// Lists the consumers of the stream-like asset found (one
    /// `CONSUMER.LIST`), so that a plan that replaces it names every consumer
    /// that goes with it, and counts its ephemeral ones.
    pub async fn list_consumers(&mut self, api: &JsApi) -> Result<(), ApiRequestError> {
        let Some(asset) = self.asset.as_mut() else {
            return Ok(());
        };
        let stream = asset.address.stream_name();
        let state = crate::nats::observe_consumers(api, &stream).await?;
        let listed = state.consumers.values().map(Vec::len).sum::<usize>();
        self.consumers = super::live_assets(state);
        let durable = self.consumers.len();
        asset.holdings.ephemeral_consumers = u64::try_from(listed - durable).unwrap_or(0);
        Ok(())
    }
}

/// Reads the asset at `address` (and a consumer's stream).
pub async fn lookup(api: &JsApi, address: &Address) -> Result<LiveLookup, ApiRequestError> {
    let stream_name = address.stream_name();
    let stream = stream_info(api, &stream_name).await?;
    let stream_asset = stream.as_ref().map(|info| stream_asset(&stream_name, info));
    let consumer_count = stream.as_ref().map(|info| {
        info.pointer("/state/consumer_count")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    });
    match &address.consumer {
        None => Ok(LiveLookup {
            asset: stream_asset,
            stream: None,
            consumer_count,
            consumers: Vec::new(),
        }),
        Some(consumer) => {
            if stream_asset.is_none() {
                return Ok(LiveLookup {
                    asset: None,
                    stream: None,
                    consumer_count: None,
                    consumers: Vec::new(),
                });
            }
            let info = consumer_info(api, &address.name, consumer).await?;
            Ok(LiveLookup {
                asset: info.map(|info| consumer_asset(address, &info)),
                stream: stream_asset,
                consumer_count: None,
                consumers: Vec::new(),
            })
        }
    }
}

/// Plans one declared asset against what [`lookup`] found at its address:
/// the plan of one resource. Its own `adopt` and `onImmutableChange`
/// decide; nothing else is pruned or touched.
pub fn plan_lookup(
    desired: DesiredAsset,
    live: &LiveLookup,
    owner: &str,
    server: ServerVersion,
    standalone: bool,
) -> Plan {
    let options = PlanOptions {
        owner: owner.to_string(),
        prune: false,
        adopt: desired.adopt,
        allow_replace: desired.allow_replace,
        server,
        targets: Some(BTreeSet::from([desired.address.clone()])),
        prune_all: false,
        unmanaged_consumers: Default::default(),
        standalone,
    };
    classify::plan(&[desired], &live.assets(), &options)
}

/// Reads a consumer whose stream is known to be `stream`: one
/// `CONSUMER.INFO`, or nothing when the consumer is `known_absent`.
pub async fn lookup_consumer(
    api: &JsApi,
    address: &Address,
    stream: LiveAsset,
    known_absent: bool,
) -> Result<LiveLookup, ApiRequestError> {
    let info = match &address.consumer {
        Some(consumer) if !known_absent => consumer_info(api, &address.name, consumer).await?,
        _ => None,
    };
    Ok(LiveLookup {
        asset: info.map(|info| consumer_asset(address, &info)),
        stream: Some(stream),
        consumer_count: None,
        consumers: Vec::new(),
    })
}

async fn stream_info(api: &JsApi, stream: &str) -> Result<Option<Value>, ApiRequestError> {
    match api
        .request_raw::<()>(&format!("STREAM.INFO.{stream}"), None)
        .await
    {
        Ok(info) => Ok(Some(info)),
        Err(error) if error.err_code() == Some(ApiError::STREAM_NOT_FOUND) => Ok(None),
        Err(error) => Err(error),
    }
}

async fn consumer_info(
    api: &JsApi,
    stream: &str,
    consumer: &str,
) -> Result<Option<Value>, ApiRequestError> {
    match api
        .request_raw::<()>(&format!("CONSUMER.INFO.{stream}.{consumer}"), None)
        .await
    {
        Ok(info) => Ok(Some(info)),
        Err(error)
            if matches!(
                error.err_code(),
                Some(ApiError::CONSUMER_NOT_FOUND | ApiError::STREAM_NOT_FOUND)
            ) =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

fn number(info: &Value, pointer: &str) -> u64 {
    info.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

fn stream_asset(stream: &str, info: &Value) -> LiveAsset {
    LiveAsset {
        address: Address::from_stream_name(stream),
        config: LiveConfig::new(info.get("config").unwrap_or(&Value::Null)),
        holdings: Holdings {
            messages: number(info, "/state/messages"),
            bytes: number(info, "/state/bytes"),
            consumer_count: number(info, "/state/consumer_count"),
            ..Holdings::default()
        },
    }
}

fn consumer_asset(address: &Address, info: &Value) -> LiveAsset {
    LiveAsset {
        address: address.clone(),
        config: LiveConfig::new(info.get("config").unwrap_or(&Value::Null)),
        holdings: Holdings {
            pending: number(info, "/num_pending"),
            ack_pending: number(info, "/num_ack_pending"),
            delivered_stream_seq: number(info, "/delivered/stream_seq"),
            ..Holdings::default()
        },
    }
}
