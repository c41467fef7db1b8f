//! What replacing or deleting a stream does to the consumers on it: each
//! one listed under the change's loss with its fate, the user's consent
//! checked, declared consumers recreated with their stream.

use std::collections::BTreeMap;

use super::{Action, Change, PlanOptions};
use crate::plan::desired::DesiredAsset;
use crate::plan::model::{Address, AssetKind, ConsumerFate, LiveAsset, Loss, LostConsumer};
use crate::plan::normalise::{comparable, comparable_owned};
use crate::plan::{ownership, restore};
use crate::spec::common::UnmanagedConsumers;

/// Lists under `change.loses` every consumer on the stream it replaces or
/// deletes, and refuses the change when it would destroy a durable consumer
/// jetsync does not manage without the user's consent (`policy`). With
/// `Recreate` consent on a replacement, those consumers' configs go into
/// `change.restore`.
pub(super) fn consumers_lost(
    change: &mut Change,
    on_stream: &[&LiveAsset],
    desired: &BTreeMap<&Address, &DesiredAsset>,
    policy: UnmanagedConsumers,
) {
    let replacing = change.action == Action::Replace;
    let mut lost = Vec::new();
    let mut unconsented = Vec::new();
    for consumer in on_stream {
        let Some(name) = consumer.address.consumer.clone() else {
            continue;
        };
        let owner = ownership::live_owner(&consumer.config);
        // Managed by jetsync: this owner's, or another owner's (another
        // team's jetsync, another resource of the controller), which its
        // owner creates again. Only consumers no jetsync manages need consent.
        let managed = owner.is_some();
        let fate = if desired.contains_key(&consumer.address) && replacing {
            ConsumerFate::Recreated
        } else if managed {
            ConsumerFate::Deleted
        } else {
            match policy {
                UnmanagedConsumers::Delete => ConsumerFate::Deleted,
                UnmanagedConsumers::Recreate if replacing => {
                    change.restore.push(restore::restorable_config(consumer));
                    ConsumerFate::Restored
                }
                _ => {
                    unconsented.push(format!("`{name}`"));
                    ConsumerFate::Deleted
                }
            }
        };
        lost.push(LostConsumer {
            name,
            pending: consumer.holdings.pending,
            ack_pending: consumer.holdings.ack_pending,
            owner,
            managed,
            fate,
        });
    }
    if !unconsented.is_empty() {
        let verb = if replacing { "replacing" } else { "deleting" };
        let consent = if replacing {
            "--unmanaged-consumers recreate (create them again after the stream) or \
             --unmanaged-consumers delete (or spec.unmanagedConsumers)"
        } else {
            "--unmanaged-consumers delete"
        };
        change.refuse(|| {
            format!(
                "{verb} it would destroy {} durable consumer(s) jetsync does not manage: {}; \
                 that needs {consent}",
                unconsented.len(),
                unconsented.join(", ")
            )
        });
    }
    let seen = u64::try_from(on_stream.len()).unwrap_or(u64::MAX);
    let (count, ephemeral) = change.loses.as_ref().map_or((0, 0), |loss| {
        (
            loss.holdings.consumer_count,
            loss.holdings.ephemeral_consumers,
        )
    });
    let unseen = count.saturating_sub(seen + ephemeral);
    if unseen > 0 && policy != UnmanagedConsumers::Delete {
        let verb = if replacing { "replacing" } else { "deleting" };
        change.refuse(|| {
            format!(
                "{verb} it would destroy {unseen} consumer(s) these credentials may not list, \
                 so they cannot be named or created again; that needs --unmanaged-consumers delete"
            )
        });
    }
    if restore::stash(&change.restore).len() > restore::MAX_STASH {
        change.refuse(|| {
            format!(
                "the configs of the consumers to create again take more than {} KiB, \
                 more than the stream's metadata can keep safely until they are restored; \
                 recreate them yourself and pass --unmanaged-consumers delete",
                restore::MAX_STASH / 1024
            )
        });
    }
    let loss = change.loses.get_or_insert_with(Loss::default);
    loss.consumers = lost;
    loss.unseen_consumers = unseen;
    loss.ephemeral_consumers = ephemeral;
}

/// A declared consumer whose stream is replaced is recreated with it.
pub(super) fn recreated_with_stream(
    asset: &DesiredAsset,
    live: &LiveAsset,
    stream_allowed: bool,
    options: &PlanOptions,
) -> Change {
    let declared = asset.config.to_value();
    let after = comparable(AssetKind::Consumer, &declared, None);
    let config = ownership::config_to_send(&declared, &after, &options.owner);
    Change {
        refused: (!stream_allowed).then(|| "its stream's replacement is refused".to_string()),
        before: Some(comparable_owned(
            AssetKind::Consumer,
            live.config.value(),
            None,
        )),
        after: Some(after),
        loses: Some(Loss::of(live.holdings)),
        config: Some(config),
        declared_at: Some(asset.declared_at.clone()),
        ..Change::new(
            asset.address.clone(),
            Action::Replace,
            format!("its stream `{}` is replaced", asset.address.name),
        )
    }
}
