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

/// Warns when the plan's creates would go past the account's JetStream
/// limits (streams, file and memory storage reserved by `max_bytes`): the
/// server would refuse the creates beyond them (10027, 10047, 10028), so the
/// apply would stop part way. Creates run before deletes, so deletes free
/// nothing for them.
pub fn warn_account_limits(plan: &mut Plan, usage: &AccountUsage) {
    let created: Vec<&crate::plan::classify::Change> = plan
        .changes
        .iter()
        .filter(|change| {
            change.allowed()
                && change.address.kind.is_stream_like()
                && matches!(change.action, Action::Create)
                && change.config.is_some()
        })
        .collect();
    let creates: Vec<&Value> = created
        .iter()
        .filter_map(|change| change.config.as_ref())
        .collect();
    // Each warning, with the create it first fails at: the place to point.
    let mut warnings: Vec<(String, Option<(usize, &str)>)> = Vec::new();
    if let Some(max) = usage.max_streams {
        let free = max.saturating_sub(usage.streams);
        let wanted = creates.len() as u64;
        if wanted > free {
            warnings.push((
                format!(
                    "this plan creates {wanted} streams (KV buckets and object stores included), \
                     but the account may hold {free} more (max_streams {max}, {} in use): the \
                     creates beyond that would fail with 10027",
                    usage.streams
                ),
                usize::try_from(free).ok().map(|first| (first, "")),
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
        let reserving: Vec<(usize, u64)> = creates
            .iter()
            .enumerate()
            .filter(|(_, config)| {
                config
                    .get("storage")
                    .and_then(Value::as_str)
                    .unwrap_or("file")
                    == storage
            })
            .map(|(index, config)| {
                let bytes = config
                    .get("max_bytes")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1);
                let replicas = config
                    .get("num_replicas")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                (index, u64::try_from(bytes).unwrap_or(0) * replicas.max(1))
            })
            .collect();
        let wanted: u64 = reserving.iter().map(|(_, bytes)| bytes).sum();
        let free = max.saturating_sub(reserved);
        if wanted > free {
            let mut total = 0;
            let first = reserving.iter().find_map(|(index, bytes)| {
                total += bytes;
                (total > free).then_some((*index, "spec.maxBytes"))
            });
            warnings.push((
                format!(
                    "this plan's new {storage} streams reserve {wanted} bytes (maxBytes × replicas), \
                     but the account has {free} of its {name} {max} bytes left: the creates beyond \
                     that would fail with {code}"
                ),
                first,
            ));
        }
    }
    for (warning, first) in warnings {
        let mut diagnostic = Diagnostic::new(Severity::Warning, warning)
            .with_help("raise the account's JetStream limits, or declare fewer or smaller streams");
        // At the first create the server would refuse, and its field.
        let declared_at = first.and_then(|(index, field)| {
            let change = created.get(index)?;
            Some((change.declared_at.as_ref()?, field))
        });
        if let Some((declared_at, field)) = declared_at {
            if !field.is_empty() {
                diagnostic = diagnostic.with_field(field);
            }
            diagnostic = declared_at.point(diagnostic);
        }
        plan.diagnostics.push(diagnostic);
    }
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
