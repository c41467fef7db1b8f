//! Other applications' consumers that a stream's replacement creates again
//! (`unmanagedConsumers: Recreate`). Their configs are written to a holder
//! stream before the old stream is deleted and stay there until every one
//! of them exists again, so that an apply cut off anywhere between the
//! delete and the last create still restores them on the rerun: the plan
//! finds the holder and finishes the job.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::classify::{Action, Change, PlanOptions};
use super::desired::DesiredAsset;
use super::model::{Address, AssetKind, LiveAsset};
use super::normalise::comparable;
use super::ownership;

/// Names of holder streams start with this, followed by the stream's name.
pub const HOLDER_PREFIX: &str = "JETSYNC_RESTORE_";

/// Holder metadata: the consumers' configs, as one JSON text.
pub const CONSUMERS_KEY: &str = "jetsync.dev/restore-consumers";

/// Holder metadata: the stream whose consumers it keeps.
pub const STREAM_KEY: &str = "jetsync.dev/restores";

/// Stream metadata holds at most 128 KiB: the configs keep within half.
pub const MAX_STASH: usize = 64 * 1024;

/// The holder stream's name for `stream` (a backing stream name: `KV_x`).
pub fn holder_name(stream: &str) -> String {
    format!("{HOLDER_PREFIX}{stream}")
}

/// The configs as the holder keeps them.
pub fn stash(configs: &[Value]) -> String {
    Value::Array(configs.to_vec()).to_string()
}

/// The holder stream's config: no messages, one subject of its own, the
/// configs and the owner in its metadata.
pub fn holder_config(stream: &str, configs: &[Value], owner: &str) -> Value {
    let name = holder_name(stream);
    json!({
        "name": name,
        "subjects": [name],
        "storage": "file",
        "max_msgs": 1,
        "discard": "new",
        "description": format!("jetsync: consumers to create again on stream {stream}"),
        "metadata": {
            ownership::OWNER_KEY: owner,
            STREAM_KEY: stream,
            CONSUMERS_KEY: stash(configs),
        },
    })
}

/// The consumer name of a config.
pub fn consumer_name(config: &Value) -> &str {
    config
        .get("durable_name")
        .or_else(|| config.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// An unmanaged consumer's config to create it again with after its stream
/// is replaced: exactly as the server reported it, but for the server's own
/// `_nats.` metadata. It stays unmanaged: no ownership marker is added.
pub fn restorable_config(consumer: &LiveAsset) -> Value {
    let mut config = consumer.config.value();
    if let Some(metadata) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.retain(|key, _| !key.starts_with("_nats."));
        if metadata.is_empty() {
            config.as_object_mut().map(|c| c.remove("metadata"));
        }
    }
    config
}

/// A holder found on the server: the stream it restores and the configs.
pub struct Holder {
    pub address: Address,
    pub configs: Vec<Value>,
}

/// The holders among the live assets of `owner`, by the stream they restore.
pub fn holders(live: &[LiveAsset], owner: &str) -> BTreeMap<String, Holder> {
    #[derive(serde::Deserialize)]
    struct Metadata {
        #[serde(default)]
        metadata: BTreeMap<String, String>,
    }
    live.iter()
        .filter(|asset| {
            asset.address.kind == AssetKind::Stream && asset.address.name.starts_with(HOLDER_PREFIX)
        })
        .filter_map(|asset| {
            let metadata = asset.config.read::<Metadata>()?.metadata;
            if metadata.get(ownership::OWNER_KEY).map(String::as_str) != Some(owner) {
                return None;
            }
            let stream = metadata.get(STREAM_KEY)?.clone();
            let configs = serde_json::from_str(metadata.get(CONSUMERS_KEY)?).ok()?;
            Some((
                stream,
                Holder {
                    address: asset.address.clone(),
                    configs,
                },
            ))
        })
        .collect()
}

/// True for a holder stream's address.
pub fn is_holder(address: &Address) -> bool {
    address.kind == AssetKind::Stream && address.name.starts_with(HOLDER_PREFIX)
}

/// A stream whose replacement was cut off before the consumers its holder
/// keeps were all created again: its change (its own, or an update made
/// for this) creates the missing ones and deletes the holder.
pub fn finish(
    asset: &DesiredAsset,
    holder: &Holder,
    on_stream: &[&LiveAsset],
    change: Option<Change>,
    options: &PlanOptions,
) -> Change {
    let present: BTreeSet<&str> = on_stream
        .iter()
        .filter_map(|c| c.address.consumer.as_deref())
        .collect();
    let mut change = change.unwrap_or_else(|| {
        let declared = asset.config.to_value();
        let after = comparable(asset.address.kind, &declared, None);
        let config = ownership::config_to_send(&declared, &after, &options.owner);
        Change {
            before: Some(after.clone()),
            after: Some(after),
            config: Some(config),
            declared_at: Some(asset.declared_at.clone()),
            ..Change::new(asset.address.clone(), Action::Update, "")
        }
    });
    let mut missing: Vec<Value> = holder
        .configs
        .iter()
        .filter(|config| !present.contains(consumer_name(config)))
        .filter(|config| {
            !change
                .restore
                .iter()
                .any(|kept| consumer_name(kept) == consumer_name(config))
        })
        .cloned()
        .collect();
    if change.reason.is_empty() || change.reported {
        change.reported = false;
        change.reason = format!(
            "its replacement was cut off: creating again {} consumer(s) jetsync does not \
             manage, kept in {}",
            missing.len(),
            holder.address
        );
    }
    change.restore.append(&mut missing);
    change.restore_holder = Some(holder.address.name.clone());
    change
}
