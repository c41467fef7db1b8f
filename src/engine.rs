//! The engine's one path, shared by the CLI and the controller: observe the
//! live state, turn it into plan assets, plan.

use crate::nats::{Connection, error::ApiRequestError};
use crate::nats::{LiveState, ObserveOptions};
use crate::plan::capabilities::ServerVersion;
use crate::plan::classify::{self, Plan, PlanOptions};
use crate::plan::desired::DesiredAsset;
use crate::plan::{Address, Holdings, LiveAsset};

/// The live assets jetsync plans against: every stream (KV buckets and
/// object stores recognised by their `KV_`/`OBJ_` backing streams) and every
/// durable consumer of a plain stream. Ephemeral consumers and consumers on
/// KV/object-store streams (watchers, readers) are not assets.
pub fn live_assets(state: &LiveState) -> Vec<LiveAsset> {
    let consumers: usize = state.consumers.values().map(Vec::len).sum();
    let mut assets = Vec::with_capacity(state.streams.len() + consumers);
    for stream in &state.streams {
        assets.push(LiveAsset {
            address: Address::from_stream_name(&stream.name),
            config: stream.config.clone(),
            holdings: Holdings {
                messages: stream.state.messages,
                bytes: stream.state.bytes,
                ..Holdings::default()
            },
        });
    }
    for (stream, consumers) in &state.consumers {
        if stream.starts_with("KV_") || stream.starts_with("OBJ_") {
            continue;
        }
        for consumer in consumers {
            let durable = consumer
                .config
                .get("durable_name")
                .and_then(|name| name.as_str())
                .is_some_and(|name| !name.is_empty());
            if !durable {
                continue;
            }
            assets.push(LiveAsset {
                address: Address::consumer(stream, &consumer.name),
                config: consumer.config.clone(),
                holdings: Holdings {
                    pending: consumer.num_pending,
                    ack_pending: consumer.num_ack_pending,
                    delivered_stream_seq: consumer.delivered.stream_seq,
                    ..Holdings::default()
                },
            });
        }
    }
    assets.sort_by(|a, b| a.address.cmp(&b.address));
    assets
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

/// Observes the server and plans `desired` against it.
pub async fn observe_and_plan(
    connection: &Connection,
    desired: &[DesiredAsset],
    options: &PlanOptions,
) -> Result<(LiveState, Plan), ApiRequestError> {
    let live = connection.observe(&ObserveOptions::default()).await?;
    let plan = classify::plan(desired, &live_assets(&live), options);
    Ok((live, plan))
}
