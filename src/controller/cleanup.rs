//! Cleaning up after a deleted resource: its asset deleted, or handed
//! over without the ownership marker, only when this resource owns it.

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use super::Context;
use super::asset::{delete_change, write_followed};
use super::conditions::{events, reasons};
use super::connecting::connection_for;
use super::events::{send_event, warning};
use super::reconcile::{Error, resource_key};
use super::resource::{AssetResource, owner_of, recorded_address};
use super::status::{self, Conclusion, Note, NoteType, Verdict};
use crate::apply::ChangeOutcome;
use crate::engine::lookup;
use crate::nats::Connection;
use crate::plan::{Address, ownership};
use crate::spec::common::{DeletionPolicy, ManagementPolicy, UnmanagedConsumers};

/// Cleans up the asset of a deleted resource: deletes it
/// (`deletionPolicy: Delete`) or removes the ownership marker (`Orphan`),
/// only when this resource owns it; an asset already gone is fine.
pub async fn cleanup_asset<K: AssetResource>(obj: Arc<K>, ctx: &Context) -> Result<Action, Error> {
    let key = resource_key(obj.as_ref());
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let policy = obj.policies().deletion_policy();
    let reference = obj.object_ref(&());
    let kind = K::KIND.as_str();
    let done = |ctx: &Context| {
        ctx.followers.forget(&key);
        ctx.known.not_waiting(&key);
        ctx.pool.release(&key);
        ctx.metrics.managed(kind, &key, false);
        ctx.reset_retries(&key);
        Ok(Action::await_change())
    };
    if ctx.settings.read_only {
        tracing::info!(resource = %key, "read-only: the asset is left on the server");
        return done(ctx);
    }
    if obj.policies().suspended() || obj.policies().management_policy() == ManagementPolicy::Observe
    {
        tracing::info!(resource = %key, "suspended or observe-only: the asset is left on the server");
        return done(ctx);
    }
    let connection = match connection_for(ctx, &namespace, obj.policies().connection(), &key).await
    {
        Ok(connection) => connection,
        Err(conclusion) if policy == DeletionPolicy::Orphan => {
            let message = format!(
                "left the asset on the server with its ownership marker: {}",
                conclusion.judgements[0].message
            );
            send_event(ctx, &reference, &warning(events::ORPHANED, message)).await;
            return done(ctx);
        }
        // Never reconciled onto a server (no recorded address) and no
        // usable connection profile (e.g. a misspelt spec.connection): there
        // is nothing this resource could have made; do not hang the delete.
        Err(conclusion) if never_reached_a_server(obj.as_ref(), &conclusion) => {
            let message = format!(
                "nothing to clean up: the resource never reached a server ({})",
                conclusion.judgements[0].message
            );
            send_event(ctx, &reference, &warning(events::ORPHANED, message)).await;
            return done(ctx);
        }
        Err(conclusion) => {
            return Err(Error::Cleanup {
                resource: key,
                reason: conclusion.judgements[0].message.clone(),
            });
        }
    };
    let owner = owner_of(obj.as_ref(), ctx.settings.owner_prefix.as_deref());
    let mut addresses = vec![obj.address()];
    if let Some(recorded) = recorded_address(obj.as_ref())
        && !addresses.contains(&recorded)
    {
        addresses.insert(0, recorded);
    }
    let pool = ctx.pool.key_of(&key).unwrap_or_default();
    for address in addresses {
        let consent = obj.policies().unmanaged_consumers().unwrap_or_default();
        let note = cleanup_one(&connection, &address, &owner, (policy, consent, &pool), ctx)
            .await
            .map_err(|reason| Error::Cleanup {
                resource: key.clone(),
                reason,
            })?;
        if let Some(note) = note {
            send_event(ctx, &reference, &note).await;
        }
    }
    done(ctx)
}

/// True when the resource has no recorded address and its connection
/// profile cannot be used at all (missing or invalid, not merely down).
pub(crate) fn never_reached_a_server<K: AssetResource>(obj: &K, conclusion: &Conclusion) -> bool {
    let unusable = conclusion.verdict == Verdict::Stalled
        || [reasons::CONNECTION_NOT_FOUND, reasons::SECRET_NOT_FOUND]
            .contains(&conclusion.judgements[0].reason);
    recorded_address(obj).is_none() && unusable
}

pub(crate) async fn cleanup_one(
    connection: &Connection,
    address: &Address,
    owner: &str,
    (policy, consent, pool): (DeletionPolicy, UnmanagedConsumers, &str),
    ctx: &Context,
) -> Result<Option<Note>, String> {
    let api = connection.api();
    let mut live = lookup(api, address).await.map_err(|e| e.to_string())?;
    // Deleting a stream deletes every consumer on it: they are listed, to
    // be named; other applications' durable ones go only with
    // spec.unmanagedConsumers: Delete.
    if policy == DeletionPolicy::Delete && live.consumer_count.unwrap_or(0) > 0 {
        live.list_consumers(api).await.map_err(|e| e.to_string())?;
    }
    if policy == DeletionPolicy::Delete && consent != UnmanagedConsumers::Delete {
        let theirs: Vec<String> = live
            .consumers
            .iter()
            .filter(|c| ownership::live_owner(&c.config).is_none())
            .filter_map(|c| c.address.consumer.as_ref().map(|name| format!("`{name}`")))
            .collect();
        if !theirs.is_empty() {
            return Err(format!(
                "deleting {address} would destroy {} durable consumer(s) jetsync does not \
                 manage: {}; set spec.unmanagedConsumers: Delete to let them go, or \
                 deletionPolicy: Orphan to leave the stream",
                theirs.len(),
                theirs.join(", ")
            ));
        }
    }
    let went_with_it: Vec<String> = live
        .consumers
        .iter()
        .filter_map(|c| c.address.consumer.clone())
        .collect();
    let Some(asset) = live.asset else {
        return Ok(None); // already gone
    };
    let marked = ownership::live_owner(&asset.config);
    if marked.as_deref() != Some(owner) {
        let by = marked.map_or_else(|| "nobody".to_string(), |o| format!("`{o}`"));
        return Ok(Some(Note {
            type_: NoteType::Normal,
            reason: events::DELETE_REFUSED,
            message: format!("left {address} alone: it is managed by {by}, not by this resource"),
            when_changed: None,
        }));
    }
    match policy {
        DeletionPolicy::Delete => {
            let report =
                write_followed(ctx, api, pool, &delete_change(address, asset.holdings)).await;
            match report.results.into_iter().next().map(|r| r.2) {
                Some(ChangeOutcome::Done) => Ok(Some(Note {
                    type_: NoteType::Normal,
                    reason: events::DELETED,
                    message: format!(
                        "deleted {address} ({} lost{})",
                        crate::render::human::describe_loss(address.kind, &asset.holdings),
                        status::consumers_gone(&went_with_it)
                    ),
                    when_changed: None,
                })),
                Some(ChangeOutcome::Failed(error)) => Err(error.to_string()),
                Some(ChangeOutcome::Skipped(skip)) => Err(skip.to_string()),
                None => Err("the delete was not attempted".into()),
            }
        }
        DeletionPolicy::Orphan => {
            let config = unmarked(&asset.config.value());
            let result = match &address.consumer {
                Some(name) => {
                    let body =
                        json!({"stream_name": address.name, "config": config, "action": "update"});
                    api.request_raw(
                        &format!("CONSUMER.CREATE.{}.{name}", address.name),
                        Some(&body),
                    )
                    .await
                }
                None => {
                    api.request_raw(
                        &format!("STREAM.UPDATE.{}", address.stream_name()),
                        Some(&config),
                    )
                    .await
                }
            };
            result.map_err(|e| e.to_string())?;
            Ok(Some(Note {
                type_: NoteType::Normal,
                reason: events::ORPHANED,
                message: format!("left {address} on the server and removed its ownership marker"),
                when_changed: None,
            }))
        }
    }
}

/// A live config without jetsync's markers and the server's `_nats.*` keys,
/// to hand the asset over.
pub(crate) fn unmarked(config: &Value) -> Value {
    let mut config = ownership::without_markers(config);
    if let Some(metadata) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.retain(|key, _| !key.starts_with("_nats."));
    }
    config
}
