//! The engine's one path, shared by the CLI and the controller: observe the
//! live state, turn it into plan assets, plan.

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, Severity};
use crate::nats::{AccountUsage, Connection, error::ApiRequestError};
use crate::nats::{LiveState, ObserveOptions, Unavailable, UnavailableReason};
use crate::plan::capabilities::ServerVersion;
use crate::plan::classify::{self, Action, Plan, PlanOptions};
use crate::plan::desired::DesiredAsset;
use crate::plan::{Address, Holdings, LiveAsset, topology};
use serde_json::Value;

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
            #[derive(serde::Deserialize)]
            struct Durable {
                #[serde(default)]
                durable_name: Option<String>,
            }
            let durable = consumer
                .config
                .read::<Durable>()
                .and_then(|config| config.durable_name)
                .is_some_and(|name| !name.is_empty());
            if !durable {
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

/// Refuses a plan whose creates would go past the account's JetStream
/// limits, which `$JS.API.INFO` reports up front: streams, file and memory
/// storage reserved by `max_bytes`, and consumers per stream (the account's
/// and the stream's own `max_consumers`). The server would refuse the
/// creates beyond them (10027, 10047, 10028, 10026) and the apply would stop
/// part way, so the plan is an error at the first create past the limit and
/// nothing is written. Creates run before deletes, so deletes free nothing
/// for them.
pub fn refuse_past_account_limits(plan: &mut Plan, live: &[LiveAsset], usage: &AccountUsage) {
    let created: Vec<&crate::plan::classify::Change> = plan
        .changes
        .iter()
        .filter(|change| {
            change.allowed() && matches!(change.action, Action::Create) && change.config.is_some()
        })
        .collect();
    let streams: Vec<(&crate::plan::classify::Change, &Value)> = created
        .iter()
        .filter(|change| change.address.kind.is_stream_like())
        .filter_map(|change| Some((*change, change.config.as_ref()?)))
        .collect();
    // Each problem, with the create it first fails at and that create's field.
    let mut problems: Vec<(String, Option<(&crate::plan::classify::Change, &str)>)> = Vec::new();
    if let Some(max) = usage.max_streams {
        let free = max.saturating_sub(usage.streams);
        let wanted = streams.len() as u64;
        if wanted > free {
            problems.push((
                format!(
                    "this plan creates {wanted} streams (KV buckets and object stores included), \
                     but the account may hold {free} more (max_streams {max}, {} in use): \
                     nats-server would refuse the creates beyond that (10027)",
                    usage.streams
                ),
                usize::try_from(free)
                    .ok()
                    .and_then(|first| streams.get(first))
                    .map(|(change, _)| (*change, "")),
            ));
        }
    }
    for (storage, max, reserved, name, code) in [
        (
            "file",
            usage.max_storage,
            usage.reserved_storage,
            "max_file",
            10047,
        ),
        (
            "memory",
            usage.max_memory,
            usage.reserved_memory,
            "max_mem",
            10028,
        ),
    ] {
        let Some(max) = max else { continue };
        let reserving: Vec<(&crate::plan::classify::Change, u64)> = streams
            .iter()
            .filter(|(_, config)| {
                config
                    .get("storage")
                    .and_then(Value::as_str)
                    .unwrap_or("file")
                    == storage
            })
            .map(|(change, config)| {
                let bytes = config
                    .get("max_bytes")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1);
                let replicas = config
                    .get("num_replicas")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                (*change, u64::try_from(bytes).unwrap_or(0) * replicas.max(1))
            })
            .collect();
        let wanted: u64 = reserving.iter().map(|(_, bytes)| bytes).sum();
        let free = max.saturating_sub(reserved);
        if wanted > free {
            let mut total = 0;
            let first = reserving.iter().find_map(|(change, bytes)| {
                total += bytes;
                (total > free).then_some((*change, "spec.maxBytes"))
            });
            problems.push((
                format!(
                    "this plan's new {storage} streams reserve {wanted} bytes (maxBytes × replicas), \
                     but the account has {free} of its {name} {max} bytes left: nats-server would \
                     refuse the creates beyond that ({code})"
                ),
                first,
            ));
        }
    }
    problems.extend(consumers_past_limits(&created, &streams, live, usage));
    for (problem, first) in problems {
        let mut diagnostic = Diagnostic::new(Severity::Error, problem).with_help(
            "raise the account's JetStream limits, or declare fewer or smaller streams and consumers",
        );
        // At the first create the server would refuse, and its field.
        if let Some((change, field)) = first {
            if !field.is_empty() {
                diagnostic = diagnostic.with_field(field);
            }
            if let Some(declared_at) = &change.declared_at {
                diagnostic = declared_at.point(diagnostic);
            }
        }
        plan.diagnostics.push(diagnostic);
    }
}

/// Consumers created on a stream beyond the account's `max_consumers` (per
/// stream) or the stream's own `max_consumers`, counting the consumers the
/// stream has (ephemeral ones included).
fn consumers_past_limits<'a>(
    created: &[&'a crate::plan::classify::Change],
    streams: &[(&crate::plan::classify::Change, &Value)],
    live: &[LiveAsset],
    usage: &AccountUsage,
) -> Vec<(
    String,
    Option<(&'a crate::plan::classify::Change, &'static str)>,
)> {
    let mut per_stream: BTreeMap<&str, Vec<&'a crate::plan::classify::Change>> = BTreeMap::new();
    for change in created {
        if change.address.kind == crate::plan::AssetKind::Consumer {
            per_stream
                .entry(change.address.name.as_str())
                .or_default()
                .push(change);
        }
    }
    let mut problems = Vec::new();
    for (stream, creates) in per_stream {
        let existing = live.iter().find(|asset| {
            asset.address.kind.is_stream_like() && asset.address.stream_name() == stream
        });
        let has = existing.map_or(0, |asset| asset.holdings.consumer_count);
        let own_limit = streams
            .iter()
            .find(|(change, _)| change.address.stream_name() == stream)
            .map(|(_, config)| (*config).clone())
            .or_else(|| existing.map(|asset| asset.config.value()))
            .and_then(|config| config.get("max_consumers").and_then(Value::as_i64))
            .filter(|limit| *limit > 0)
            .map(|limit| (limit as u64, "the stream's max_consumers"));
        let account_limit = usage
            .max_consumers
            .map(|limit| (limit, "the account's max_consumers per stream"));
        let Some((max, what)) = [own_limit, account_limit]
            .into_iter()
            .flatten()
            .min_by_key(|(limit, _)| *limit)
        else {
            continue;
        };
        let free = max.saturating_sub(has);
        if creates.len() as u64 > free {
            problems.push((
                format!(
                    "this plan creates {} consumers on stream `{stream}`, which has {has} of \
                     {what} {max}: nats-server would refuse the creates beyond that (10026)",
                    creates.len()
                ),
                usize::try_from(free)
                    .ok()
                    .and_then(|first| creates.get(first))
                    .map(|change| (*change, "")),
            ));
        }
    }
    problems
}

/// The connected server's version, as the plan needs it.
pub fn server_version(connection: &Connection) -> Result<ServerVersion, String> {
    ServerVersion::parse(&connection.server.version).map_err(|error| {
        format!(
            "cannot read the server's version `{}`: {error}",
            connection.server.version
        )
    })
}

/// Plans `desired` against an observed state, which it consumes: the live
/// assets (for stale-plan checks and rendering) and the plan.
pub fn plan_against(
    mut state: LiveState,
    desired: &[DesiredAsset],
    options: &PlanOptions,
) -> (Vec<LiveAsset>, Plan) {
    let unavailable = std::mem::take(&mut state.unavailable);
    let live = live_assets(state);
    let mut plan = classify::plan(desired, &live, options);
    refuse_unavailable(&mut plan, &unavailable);
    (live, plan)
}

/// How long the cluster's servers may take to describe themselves.
const TOPOLOGY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Checks the replicas and placement the plan writes against the cluster's
/// servers, when it writes any and the server is clustered (a standalone
/// server's limits were checked while planning). Costs one request, and
/// only then.
pub async fn check_topology(connection: &Connection, plan: &mut Plan) {
    if connection.server.standalone || !topology::needs_check(plan) {
        return;
    }
    let servers =
        crate::nats::topology::read(&connection.client, &connection.server.name, TOPOLOGY_WAIT)
            .await;
    topology::check(plan, &servers);
}

/// Observes the server and plans `desired` against it.
pub async fn observe_and_plan(
    connection: &Connection,
    desired: &[DesiredAsset],
    options: &PlanOptions,
) -> Result<Plan, ApiRequestError> {
    let state = connection.observe(&ObserveOptions::default()).await?;
    Ok(plan_against(state, desired, options).1)
}
