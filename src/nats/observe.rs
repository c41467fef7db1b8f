//! Reading the live JetStream state by listing: `STREAM.LIST` page by page,
//! and `CONSUMER.LIST.<stream>` for each stream that has consumers as soon as
//! a page names it, with a bounded number of requests in flight. Never one
//! request per asset.
//!
//! Configs are kept as the JSON the server returned (`serde_json::Value`), so
//! that no field is lost (one async-nats does not know) or invented (a
//! default async-nats would fill in).

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use serde_json::value::RawValue;
use tokio::task::JoinSet;

use super::api::JsApi;
use super::connect::Connection;
use super::error::{ApiError, ApiRequestError};
use crate::plan::{Address, LiveConfig};

/// Requests in flight when listing consumers, unless configured otherwise.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// How to observe.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// At most this many `CONSUMER.LIST` requests in flight (at least 1).
    pub concurrency: usize,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// Every stream and consumer of the account, as the server reported them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveState {
    /// Streams (KV and object-store backing streams included), sorted by name.
    pub streams: Vec<LiveStream>,
    /// Consumers by stream name, each list sorted by consumer name; streams
    /// without consumers have no entry.
    pub consumers: BTreeMap<String, Vec<LiveConsumer>>,
    /// Assets the server listed as missing or offline (clustered servers).
    pub unavailable: Vec<Unavailable>,
    /// JetStream API requests this observation made (list pages).
    pub requests: usize,
}

impl LiveState {
    /// The stream named `name`, if live.
    pub fn stream(&self, name: &str) -> Option<&LiveStream> {
        self.streams
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.streams[i])
    }

    /// The consumers of stream `stream` (empty when it has none or is absent).
    pub fn consumers_of(&self, stream: &str) -> &[LiveConsumer] {
        self.consumers.get(stream).map_or(&[], Vec::as_slice)
    }

    /// The consumer `name` of stream `stream`, if live.
    pub fn consumer(&self, stream: &str, name: &str) -> Option<&LiveConsumer> {
        let consumers = self.consumers_of(stream);
        consumers
            .binary_search_by(|c| c.name.as_str().cmp(name))
            .ok()
            .map(|i| &consumers[i])
    }
}

/// One live stream.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveStream {
    /// The stream name (`config.name`).
    pub name: String,
    /// The stream config exactly as the server returned it, `_nats.*`
    /// metadata included.
    pub config: LiveConfig,
    /// Sizes and sequence numbers: what a replacement would lose.
    pub state: StreamStateSummary,
    /// Creation time (RFC 3339), as the server reported it.
    pub created: Option<String>,
}

/// The part of a stream's state the plan reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct StreamStateSummary {
    /// Messages stored.
    pub messages: u64,
    /// Bytes stored.
    pub bytes: u64,
    /// Consumers on the stream.
    pub consumer_count: u64,
    /// First sequence still stored.
    pub first_seq: u64,
    /// Last sequence stored.
    pub last_seq: u64,
}

/// A pair of sequence numbers from consumer info (`delivered`, `ack_floor`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SequencePair {
    /// Consumer sequence.
    pub consumer_seq: u64,
    /// Stream sequence.
    pub stream_seq: u64,
}

/// One live consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveConsumer {
    /// The stream it reads.
    pub stream: String,
    /// The consumer name.
    pub name: String,
    /// The consumer config exactly as the server returned it.
    pub config: LiveConfig,
    /// Creation time (RFC 3339), as the server reported it.
    pub created: Option<String>,
    /// Messages not yet delivered.
    pub num_pending: u64,
    /// Delivered messages not yet acknowledged.
    pub num_ack_pending: u64,
    /// Messages redelivered.
    pub num_redelivered: u64,
    /// Pull requests waiting.
    pub num_waiting: u64,
    /// Last delivered sequences: the position a replacement would lose.
    pub delivered: SequencePair,
    /// Acknowledgement floor.
    pub ack_floor: SequencePair,
    /// Paused (2.11+; false when the server does not say).
    pub paused: bool,
}

/// An asset the server knows of but could not describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// The stream.
    pub stream: String,
    /// The consumer, when it is a consumer that is unavailable.
    pub consumer: Option<String>,
    /// Missing or offline (with the server's reason).
    pub reason: UnavailableReason,
}

/// Why an asset could not be described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnavailableReason {
    /// Listed under `missing` (no answer from the replicas in time).
    Missing,
    /// Listed under `offline`, with the server's reason (2.12+).
    Offline(String),
}

/// While the server lists assets as missing or offline, observe again after
/// 0.25, 0.5 and 1 s, as long as less than `UNAVAILABLE_BUDGET` has passed
/// since the first listing. A listing that names a missing stream took the
/// server's own wait for its replicas (4 s), so this is at most one extra
/// listing when a node is really down, and enough for a scale or a move
/// to settle.
const UNAVAILABLE_RETRIES: u32 = 3;
const UNAVAILABLE_FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);
const UNAVAILABLE_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

impl Connection {
    /// Observes the account this connection talks to; see [`observe`].
    ///
    /// A clustered server lists a stream as `missing` while its replica
    /// group has no leader that answers (for a few seconds after a scale or
    /// a move; for as long as the node holding an R1 stream is down), and
    /// such a stream would look absent. The listing is repeated (bounded)
    /// to let a scale or move settle; what stays unavailable is in
    /// [`LiveState::unavailable`].
    pub async fn observe(&self, options: &ObserveOptions) -> Result<LiveState, ApiRequestError> {
        let started = std::time::Instant::now();
        let mut state = observe(self.api(), options).await?;
        let mut pause = UNAVAILABLE_FIRST_PAUSE;
        for _ in 0..UNAVAILABLE_RETRIES {
            if state.unavailable.is_empty() || started.elapsed() >= UNAVAILABLE_BUDGET {
                break;
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
            state = observe(self.api(), options).await?;
        }
        Ok(state)
    }
}

/// True when `error` is the server refusing this user the listing
/// (`STREAM.LIST` or `CONSUMER.LIST`), as it refuses least-privilege
/// credentials that may only read their own assets: [`inspect`] reads
/// those instead.
pub fn is_listing_denied(error: &ApiRequestError) -> bool {
    let subject = error.subject();
    matches!(error, ApiRequestError::PermissionDenied { .. })
        && (subject.ends_with(".STREAM.LIST") || subject.contains(".CONSUMER.LIST."))
}

/// Reads the assets at `addresses` one INFO request each (at most
/// `options.concurrency` in flight): `STREAM.INFO` for every stream, KV
/// bucket and object store, and for the stream of every consumer;
/// `CONSUMER.INFO` for every consumer. An asset the server does not have is
/// left out, as a listing would.
pub async fn inspect(
    api: &JsApi,
    options: &ObserveOptions,
    addresses: &[Address],
) -> Result<LiveState, ApiRequestError> {
    let streams: BTreeSet<String> = addresses.iter().map(Address::stream_name).collect();
    let consumers: BTreeSet<(String, String)> = addresses
        .iter()
        .filter_map(|address| Some((address.name.clone(), address.consumer.clone()?)))
        .collect();
    let mut requests: VecDeque<(String, Option<String>)> = streams
        .into_iter()
        .map(|stream| (stream, None))
        .chain(consumers.into_iter().map(|(s, c)| (s, Some(c))))
        .collect();
    let mut state = LiveState::default();
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.len() < options.concurrency.max(1) {
            let Some((stream, consumer)) = requests.pop_front() else {
                break;
            };
            let api = api.clone();
            in_flight.spawn(async move {
                let info = match &consumer {
                    None => api
                        .request::<(), RawStreamInfo>(&format!("STREAM.INFO.{stream}"), None)
                        .await
                        .map(Info::Stream),
                    Some(name) => api
                        .request::<(), RawConsumerInfo>(
                            &format!("CONSUMER.INFO.{stream}.{name}"),
                            None,
                        )
                        .await
                        .map(Info::Consumer),
                };
                (stream, info)
            });
        }
        let Some(joined) = in_flight.join_next().await else {
            break;
        };
        let (stream, info) = match joined {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => unreachable!("info task cancelled: {e}"),
        };
        state.requests += 1;
        match info {
            Ok(Info::Stream(raw)) => state.streams.push(LiveStream {
                name: stream,
                config: LiveConfig::from_raw(raw.config),
                state: raw.state,
                created: raw.created,
            }),
            Ok(Info::Consumer(raw)) => {
                state
                    .consumers
                    .entry(stream.clone())
                    .or_default()
                    .push(live_consumer(&stream, raw));
            }
            Err(e)
                if matches!(
                    e.err_code(),
                    Some(ApiError::STREAM_NOT_FOUND | ApiError::CONSUMER_NOT_FOUND)
                ) => {}
            Err(e) => return Err(e),
        }
    }
    state.streams.sort_by(|a, b| a.name.cmp(&b.name));
    for consumers in state.consumers.values_mut() {
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(state)
}

/// One INFO answer.
enum Info {
    Stream(RawStreamInfo),
    Consumer(RawConsumerInfo),
}

fn live_consumer(stream: &str, raw: RawConsumerInfo) -> LiveConsumer {
    LiveConsumer {
        stream: if raw.stream_name.is_empty() {
            stream.to_string()
        } else {
            raw.stream_name
        },
        name: raw.name,
        config: LiveConfig::from_raw(raw.config),
        created: raw.created,
        num_pending: raw.num_pending,
        num_ack_pending: raw.num_ack_pending,
        num_redelivered: raw.num_redelivered,
        num_waiting: raw.num_waiting,
        delivered: raw.delivered,
        ack_floor: raw.ack_floor,
        paused: raw.paused,
    }
}

/// Reads every stream (paged `STREAM.LIST`) and every consumer (paged
/// `CONSUMER.LIST.<stream>` for streams whose state counts consumers, at
/// most `options.concurrency` in flight). The request count is
/// `ceil(streams / 256)` plus, per stream with consumers,
/// `ceil(consumers / 256)` (at least one page each).
///
/// The stream pages come one after another (each answer says where the next
/// one starts); the consumers of the streams a page names are listed while
/// the next page is on its way, so the listing of 1,000 streams does not
/// wait for all their pages first.
pub async fn observe(api: &JsApi, options: &ObserveOptions) -> Result<LiveState, ApiRequestError> {
    let mut state = LiveState::default();
    let concurrency = options.concurrency.max(1);
    let mut next_page = Some(Box::pin(stream_page(api.clone(), 0)));
    let mut offset = 0;
    let mut to_list: VecDeque<String> = VecDeque::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.len() < concurrency {
            let Some(stream) = to_list.pop_front() else {
                break;
            };
            let api = api.clone();
            in_flight.spawn(async move {
                let mut requests = 0;
                let result = list_consumers(&api, &stream, &mut requests).await;
                (stream, requests, result)
            });
        }
        tokio::select! {
            page = async { next_page.as_mut().expect("a page is awaited").await },
                if next_page.is_some() =>
            {
                state.requests += 1;
                let page = page?;
                let (count, total) = (page.count(), page.total());
                for raw in page.streams.unwrap_or_default() {
                    let config = LiveConfig::from_raw(raw.config);
                    let name = stream_name(&config);
                    if raw.state.consumer_count > 0 && seen.insert(name.clone()) {
                        to_list.push_back(name.clone());
                    }
                    state.streams.push(LiveStream {
                        name,
                        config,
                        state: raw.state,
                        created: raw.created,
                    });
                }
                collect_unavailable(&mut state.unavailable, None, page.missing, page.offline);
                offset += count;
                next_page = (count > 0 && offset < total)
                    .then(|| Box::pin(stream_page(api.clone(), offset)));
            }
            Some(joined) = in_flight.join_next() => {
                let (stream, requests, result) = match joined {
                    Ok(done) => done,
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(e) => unreachable!("consumer listing task cancelled: {e}"),
                };
                state.requests += requests;
                let pages = result?;
                let mut consumers = Vec::new();
                for page in pages {
                    consumers.extend(
                        page.consumers
                            .unwrap_or_default()
                            .into_iter()
                            .map(|raw| live_consumer(&stream, raw)),
                    );
                    collect_unavailable(
                        &mut state.unavailable,
                        Some(&stream),
                        page.missing,
                        page.offline,
                    );
                }
                consumers.sort_by(|a, b| a.name.cmp(&b.name));
                consumers.dedup_by(|a, b| a.name == b.name);
                if !consumers.is_empty() {
                    state.consumers.insert(stream, consumers);
                }
            }
            else => break,
        }
    }
    state.streams.sort_by(|a, b| a.name.cmp(&b.name));
    state.streams.dedup_by(|a, b| a.name == b.name);
    state
        .unavailable
        .sort_by(|a, b| (&a.stream, &a.consumer).cmp(&(&b.stream, &b.consumer)));
    Ok(state)
}

/// The consumers of one stream, listed (`CONSUMER.LIST.<stream>`, every
/// page), as a state holding only them: what a replacement or deletion of
/// that stream would destroy.
pub async fn observe_consumers(api: &JsApi, stream: &str) -> Result<LiveState, ApiRequestError> {
    let mut state = LiveState::default();
    let pages = list_consumers(api, stream, &mut state.requests).await?;
    let mut consumers: Vec<LiveConsumer> = pages
        .into_iter()
        .flat_map(|page| page.consumers.unwrap_or_default())
        .map(|raw| live_consumer(stream, raw))
        .collect();
    consumers.sort_by(|a, b| a.name.cmp(&b.name));
    consumers.dedup_by(|a, b| a.name == b.name);
    if !consumers.is_empty() {
        state.consumers.insert(stream.to_string(), consumers);
    }
    Ok(state)
}

/// One page of `STREAM.LIST` from `offset` on.
async fn stream_page(api: JsApi, offset: usize) -> Result<StreamListPage, ApiRequestError> {
    api.request("STREAM.LIST", Some(&json!({ "offset": offset })))
        .await
}

/// All pages of one stream's consumers; a stream deleted since it was
/// listed (10059) has none.
async fn list_consumers(
    api: &JsApi,
    stream: &str,
    requests: &mut usize,
) -> Result<Vec<ConsumerListPage>, ApiRequestError> {
    match list_pages(api, &format!("CONSUMER.LIST.{stream}"), requests).await {
        Err(e) if e.err_code() == Some(ApiError::STREAM_NOT_FOUND) => Ok(Vec::new()),
        other => other,
    }
}

/// Requests `{"offset": N}` pages until `offset + count >= total` (or an
/// empty page, so a shrinking list cannot loop).
async fn list_pages<P: DeserializeOwned + ListPage>(
    api: &JsApi,
    operation: &str,
    requests: &mut usize,
) -> Result<Vec<P>, ApiRequestError> {
    let mut pages = Vec::new();
    let mut offset = 0;
    loop {
        *requests += 1;
        let page: P = api
            .request(operation, Some(&json!({ "offset": offset })))
            .await?;
        let count = page.count();
        let total = page.total();
        pages.push(page);
        offset += count;
        if count == 0 || offset >= total {
            return Ok(pages);
        }
    }
}

fn collect_unavailable(
    into: &mut Vec<Unavailable>,
    stream: Option<&str>,
    missing: Option<Vec<String>>,
    offline: Option<BTreeMap<String, String>>,
) {
    let entry = |name: String, reason| match stream {
        None => Unavailable {
            stream: name,
            consumer: None,
            reason,
        },
        Some(stream) => Unavailable {
            stream: stream.to_string(),
            consumer: Some(name),
            reason,
        },
    };
    into.extend(
        missing
            .unwrap_or_default()
            .into_iter()
            .map(|name| entry(name, UnavailableReason::Missing)),
    );
    into.extend(
        offline
            .unwrap_or_default()
            .into_iter()
            .map(|(name, why)| entry(name, UnavailableReason::Offline(why))),
    );
}

trait ListPage {
    fn total(&self) -> usize;
    fn count(&self) -> usize;
}

/// A stream config's name. nats-server writes it first (`{"name":"…",`):
/// read from there when it holds no escape, else parsed.
fn stream_name(config: &LiveConfig) -> String {
    let quick = config
        .json()
        .strip_prefix(r#"{"name":""#)
        .and_then(|rest| rest.split_once('"'))
        .map(|(name, _)| name)
        .filter(|name| !name.contains('\\'));
    match quick {
        Some(name) => name.to_string(),
        None => config
            .read::<Named>()
            .map(|named| named.name)
            .unwrap_or_default(),
    }
}

/// A config's `name`, read without the rest.
#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    name: String,
}

/// `io.nats.jetstream.api.v1.stream_list_response`
#[derive(Deserialize)]
struct StreamListPage {
    #[serde(default)]
    total: usize,
    #[serde(default)]
    streams: Option<Vec<RawStreamInfo>>,
    #[serde(default)]
    missing: Option<Vec<String>>,
    #[serde(default)]
    offline: Option<BTreeMap<String, String>>,
}

impl ListPage for StreamListPage {
    fn total(&self) -> usize {
        self.total
    }
    fn count(&self) -> usize {
        self.streams.as_ref().map_or(0, Vec::len)
    }
}

#[derive(Deserialize)]
struct RawStreamInfo {
    config: Box<RawValue>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    state: StreamStateSummary,
}

/// `io.nats.jetstream.api.v1.consumer_list_response`
#[derive(Deserialize)]
struct ConsumerListPage {
    #[serde(default)]
    total: usize,
    #[serde(default)]
    consumers: Option<Vec<RawConsumerInfo>>,
    #[serde(default)]
    missing: Option<Vec<String>>,
    #[serde(default)]
    offline: Option<BTreeMap<String, String>>,
}

impl ListPage for ConsumerListPage {
    fn total(&self) -> usize {
        self.total
    }
    fn count(&self) -> usize {
        self.consumers.as_ref().map_or(0, Vec::len)
    }
}

#[derive(Deserialize)]
struct RawConsumerInfo {
    #[serde(default)]
    stream_name: String,
    name: String,
    config: Box<RawValue>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    num_pending: u64,
    #[serde(default)]
    num_ack_pending: u64,
    #[serde(default)]
    num_redelivered: u64,
    #[serde(default)]
    num_waiting: u64,
    #[serde(default)]
    delivered: SequencePair,
    #[serde(default)]
    ack_floor: SequencePair,
    #[serde(default)]
    paused: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refused_listing_falls_back_to_info_requests() {
        let denied = |subject: &str| ApiRequestError::PermissionDenied {
            subject: subject.to_string(),
            detail: "Permissions Violation".to_string(),
        };
        assert!(is_listing_denied(&denied("$JS.API.STREAM.LIST")));
        assert!(is_listing_denied(&denied(
            "$JS.hub.API.CONSUMER.LIST.ORDERS"
        )));
        assert!(!is_listing_denied(&denied("$JS.API.STREAM.INFO.ORDERS")));
        let no_jetstream = ApiRequestError::NoResponders {
            subject: "$JS.API.STREAM.LIST".to_string(),
        };
        assert!(!is_listing_denied(&no_jetstream));
    }

    #[test]
    fn a_stream_list_page_keeps_the_config_whole_and_reads_null_lists() {
        let page: StreamListPage = serde_json::from_str(
            r#"{"type":"io.nats.jetstream.api.v1.stream_list_response","total":1,"offset":0,
                "limit":256,"streams":[{"config":{"name":"A","x_future_field":7},
                "created":"2025-01-01T00:00:00Z","state":{"messages":3,"bytes":10,
                "first_seq":1,"last_seq":3,"consumer_count":2,"num_subjects":1}}],
                "missing":null,"offline":{"B":"peer gone"}}"#,
        )
        .unwrap();

        assert_eq!(page.count(), 1);
        let stream = &page.streams.as_ref().unwrap()[0];
        let config: serde_json::Value = serde_json::from_str(stream.config.get()).unwrap();
        assert_eq!(config["x_future_field"], 7);
        assert_eq!(stream.state.consumer_count, 2);
        assert_eq!(stream.state.last_seq, 3);
        let mut unavailable = Vec::new();
        collect_unavailable(&mut unavailable, None, page.missing, page.offline);
        assert_eq!(
            unavailable,
            vec![Unavailable {
                stream: "B".into(),
                consumer: None,
                reason: UnavailableReason::Offline("peer gone".into())
            }]
        );
    }

    #[test]
    fn an_empty_stream_list_may_say_null() {
        let page: StreamListPage =
            serde_json::from_str(r#"{"total":0,"offset":0,"limit":256,"streams":null}"#).unwrap();
        assert_eq!(page.count(), 0);
    }
}
