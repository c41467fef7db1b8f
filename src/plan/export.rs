//! Live assets as manifests (`jetsync export`): the inverse of [`super::wire`].
//! Every field that differs from the server's default is written, every field
//! the server would fill in by itself is left out, so exported manifests are
//! short, validate, and plan as "no changes" when applied back. Live configs
//! are read in the typed wire model; what it keeps but a spec cannot say (a
//! newer server's fields, enum spellings jetsync does not know) is left out.

mod object_names;
mod specs;
mod spellings;

use std::borrow::Borrow;
use std::collections::HashMap;

use serde::Serialize;

use super::model::{Address, AssetKind, LiveAsset};
use super::ownership;
use super::wire::model::{AssetConfig, ConsumerConfig, ConsumerLimits, Field, StreamConfig};
use crate::spec::{API_VERSION, ConsumerSpec, KeyValueSpec, ObjectStoreSpec, StreamSpec};
use object_names::unique_object_names;

pub use object_names::{consumer_object_name, object_name};
pub use specs::{
    consumer_spec, consumer_spec_with_limits, kv_spec, object_store_spec, stream_spec,
};

/// Why live assets could not be exported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// A config with a value of another type than nats-server sends (a
    /// string where it sends a number, …): it cannot be read as the config
    /// of its kind, so no spec can be written for it.
    #[error(
        "cannot export {address}: its config is not one nats-server sends for a {kind} ({reason})"
    )]
    UnreadableConfig {
        address: Address,
        kind: &'static str,
        reason: String,
    },
}

impl ExportError {
    /// The error for `asset`, whose config [`LiveConfig::typed`] could not
    /// read, with serde's reason (which field, what it found).
    ///
    /// [`LiveConfig::typed`]: super::model::LiveConfig::typed
    fn unreadable(asset: &LiveAsset) -> Self {
        let json = asset.config.json();
        let (kind, read) = match asset.address.kind {
            AssetKind::Consumer => (
                "consumer",
                serde_json::from_str::<ConsumerConfig>(json).map(drop),
            ),
            _ => (
                "stream",
                serde_json::from_str::<StreamConfig>(json).map(drop),
            ),
        };
        ExportError::UnreadableConfig {
            address: asset.address.clone(),
            kind,
            reason: read.err().map(|e| e.to_string()).unwrap_or_default(),
        }
    }
}

/// A consumer of a KV bucket's or object store's backing stream: it belongs
/// to a client (watchers, ordered consumers), not to the declared state.
fn is_bucket_consumer(address: &Address) -> bool {
    address.kind == AssetKind::Consumer
        && (address.name.starts_with("KV_") || address.name.starts_with("OBJ_"))
}

/// The assets `jetsync export` writes: those managed by `owner` (their
/// `jetsync.dev/owner` metadata is `owner`), or every asset when
/// `include_unmanaged` (`--all`).
pub fn select_for_export<'a>(
    assets: &'a [LiveAsset],
    owner: &str,
    include_unmanaged: bool,
) -> Vec<&'a LiveAsset> {
    assets
        .iter()
        // A restore holder is jetsync's bookkeeping, not an asset to declare.
        .filter(|asset| !super::restore::is_holder(&asset.address))
        .filter(|asset| !is_bucket_consumer(&asset.address))
        .filter(|asset| {
            include_unmanaged || ownership::live_owner(&asset.config).as_deref() == Some(owner)
        })
        .collect()
}

/// One exported manifest document.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    api_version: &'static str,
    kind: &'static str,
    metadata: DocumentMetadata,
    spec: ExportedSpec,
}

#[derive(Serialize)]
struct DocumentMetadata {
    name: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ExportedSpec {
    Stream(StreamSpec),
    Consumer(ConsumerSpec),
    KeyValue(KeyValueSpec),
    ObjectStore(ObjectStoreSpec),
}

impl ExportedSpec {
    /// Sets `spec.name` exactly when `metadata.name` is not the JetStream name.
    fn name_unless(&mut self, object_name: &str, jetstream_name: &str) {
        let name = (object_name != jetstream_name).then(|| jetstream_name.to_string());
        match self {
            ExportedSpec::Stream(spec) => spec.name = name,
            ExportedSpec::Consumer(spec) => spec.name = name,
            ExportedSpec::KeyValue(spec) => spec.name = name,
            ExportedSpec::ObjectStore(spec) => spec.name = name,
        }
    }

    /// Sets `spec.adopt: true`.
    fn adopt(&mut self) {
        let adopt = Some(true);
        match self {
            ExportedSpec::Stream(spec) => spec.adopt = adopt,
            ExportedSpec::Consumer(spec) => spec.adopt = adopt,
            ExportedSpec::KeyValue(spec) => spec.adopt = adopt,
            ExportedSpec::ObjectStore(spec) => spec.adopt = adopt,
        }
    }
}

/// One asset on its way to a document.
struct Exported {
    kind: AssetKind,
    /// The stream, bucket or consumer name.
    jetstream_name: String,
    /// What `metadata.name` is made from (a consumer's includes its stream).
    known_as: String,
    spec: ExportedSpec,
}

/// An ephemeral consumer (no durable name) has no lasting identity; a
/// consumer with an ack policy a spec cannot say (one newer than jetsync)
/// cannot be declared.
fn is_declarable_consumer(config: &ConsumerConfig) -> bool {
    let durable = config
        .durable_name
        .as_ref()
        .is_some_and(|name| !name.is_empty());
    let declarable_acks = config
        .ack_policy
        .as_ref()
        .filter(|acks| !acks.is_unset())
        .is_none_or(|acks| spellings::ack_policy(acks).is_some());
    durable && declarable_acks
}

/// Every asset as one multi-document YAML manifest, in address order
/// (streams, KV buckets, object stores, then consumers), ready to commit.
/// Consumers of KV and object-store backing streams, ephemeral consumers and
/// consumers with an ack policy jetsync does not know are skipped. `metadata.name`
/// comes from [`object_name`] (consumers: [`consumer_object_name`]); two
/// assets of one kind that would get the same name are told apart by a hash
/// of their JetStream names, and `spec.name` carries the JetStream name
/// wherever `metadata.name` differs from it.
///
/// Accepts `&[LiveAsset]` as well as the selection of [`select_for_export`].
/// Consumer values the server copies from their stream's `consumer_limits`
/// are left out when the stream is among `assets`.
///
/// With `adopt` (what `export --all` asks for) every document says
/// `adopt: true`: an asset no owner (or another owner) manages needs it to
/// be applied, and on an asset the owner already manages it changes
/// nothing, so the output is the same before and after it is applied.
///
/// Fails, naming the asset, when a config cannot be read in the wire model
/// (a value of another type than nats-server sends).
pub fn export_documents<A: Borrow<LiveAsset>>(
    assets: &[A],
    adopt: bool,
) -> Result<String, ExportError> {
    let mut assets: Vec<&LiveAsset> = assets.iter().map(Borrow::borrow).collect();
    assets.sort_by(|a, b| a.address.cmp(&b.address));
    let configs = assets
        .into_iter()
        .filter(|asset| !is_bucket_consumer(&asset.address))
        .map(|asset| match asset.config.typed(asset.address.kind) {
            Some(config) => Ok((asset, config)),
            None => Err(ExportError::unreadable(asset)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stream_limits: HashMap<String, ConsumerLimits> = configs
        .iter()
        .filter_map(|(asset, config)| match config {
            AssetConfig::Stream(stream) => Some((
                asset.address.stream_name(),
                stream.consumer_limits.clone().unwrap_or_default(),
            )),
            AssetConfig::Consumer(_) => None,
        })
        .collect();

    let mut exported: Vec<Exported> = Vec::new();
    for (asset, config) in &configs {
        let address = &asset.address;
        exported.push(match config {
            AssetConfig::Stream(config) => Exported {
                kind: address.kind,
                jetstream_name: address.name.clone(),
                known_as: address.name.clone(),
                spec: match address.kind {
                    AssetKind::KeyValue => ExportedSpec::KeyValue(kv_spec(config)),
                    AssetKind::ObjectStore => ExportedSpec::ObjectStore(object_store_spec(config)),
                    AssetKind::Stream | AssetKind::Consumer => {
                        ExportedSpec::Stream(stream_spec(config))
                    }
                },
            },
            AssetConfig::Consumer(config) => {
                if !is_declarable_consumer(config) {
                    continue;
                }
                let consumer = address.consumer.clone().unwrap_or_default();
                let limits = stream_limits.get(&address.name);
                Exported {
                    kind: AssetKind::Consumer,
                    known_as: format!("{}-{consumer}", address.name),
                    jetstream_name: consumer,
                    spec: ExportedSpec::Consumer(consumer_spec_with_limits(
                        &address.name,
                        config,
                        limits,
                    )),
                }
            }
        });
    }

    let object_names = unique_object_names(
        exported
            .iter()
            .map(|entry| (entry.kind, entry.known_as.as_str())),
    );
    let documents: Vec<Document> = exported
        .into_iter()
        .zip(object_names)
        .map(|(mut entry, object_name)| {
            entry.spec.name_unless(&object_name, &entry.jetstream_name);
            if adopt {
                entry.spec.adopt();
            }
            Document {
                api_version: API_VERSION,
                kind: entry.kind.manifest_kind(),
                metadata: DocumentMetadata { name: object_name },
                spec: entry.spec,
            }
        })
        .collect();
    Ok(serde_saphyr::to_string_multiple(&documents)
        .expect("specs are plain data and always serialise to YAML"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::*;
    use crate::diagnostics::SourceText;
    use crate::manifest;
    use crate::plan::model::{Address, Holdings};
    use crate::plan::wire::model::to_value;
    use crate::plan::{normalise, wire};
    use crate::spec::AssetSpec;
    use crate::spec::common::{
        Compression, ConsumerLimits, DiscardPolicy, ExternalStream, Metadata, PersistMode,
        Placement, Republish, RetentionPolicy, SourceConsumer, StorageType, StreamSource,
        SubjectTransform,
    };
    use crate::spec::consumer::{AckPolicy, DeliverPolicy, PriorityPolicy, ReplayPolicy};
    use crate::spec::names::{self, MAX_OBJECT_NAME_BYTES};
    use crate::spec::units::{Duration, Size};
    use object_names::short_hash;

    fn duration(text: &str) -> Duration {
        text.parse().unwrap()
    }

    fn size(text: &str) -> Size {
        text.parse().unwrap()
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    fn metadata(pairs: &[(&str, &str)]) -> Metadata {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    fn transform(source: &str, destination: &str) -> SubjectTransform {
        SubjectTransform {
            source: Some(source.into()),
            destination: destination.into(),
        }
    }

    fn placement() -> Option<Placement> {
        Some(Placement {
            cluster: Some("east".into()),
            tags: strings(&["ssd", "fast"]),
        })
    }

    /// A stream spec with every field that is not a mirror's, nor implied by another.
    fn rich_stream() -> StreamSpec {
        StreamSpec {
            name: Some("ORDERS".into()),
            description: Some("every field".into()),
            subjects: strings(&["orders.>", "refunds.*"]),
            retention: Some(RetentionPolicy::Interest),
            storage: Some(StorageType::Memory),
            replicas: Some(3),
            max_consumers: Some(10),
            max_msgs: Some(1000),
            max_bytes: Some(size("1GiB")),
            max_msgs_per_subject: Some(5),
            max_msg_size: Some(size("1KiB")),
            max_age: Some(duration("7d")),
            discard: Some(DiscardPolicy::New),
            discard_new_per_subject: Some(true),
            no_ack: Some(true),
            duplicate_window: Some(duration("30s")),
            placement: placement(),
            sources: vec![
                StreamSource {
                    name: "ORIGIN".into(),
                    opt_start_seq: Some(42),
                    filter_subject: Some("origin.eu.>".into()),
                    external: Some(ExternalStream {
                        api_prefix: "$JS.hub.API".into(),
                        deliver_prefix: Some("deliver.hub".into()),
                    }),
                    consumer: Some(SourceConsumer {
                        name: "sourcer".into(),
                        deliver_subject: Some("sourcing.orders".into()),
                    }),
                    ..StreamSource::test("ORIGIN")
                },
                StreamSource {
                    opt_start_time: Some("2025-01-31T12:00:00Z".into()),
                    subject_transforms: vec![transform("other.>", "copied.>")],
                    ..StreamSource::test("OTHER")
                },
            ],
            sealed: Some(true),
            deny_delete: Some(true),
            deny_purge: Some(true),
            allow_rollup_headers: Some(true),
            republish: Some(Republish {
                source: Some("orders.>".into()),
                destination: "copy.orders.>".into(),
                headers_only: Some(true),
            }),
            allow_direct: Some(true),
            compression: Some(Compression::S2),
            first_sequence: Some(100),
            subject_transform: Some(transform("refunds.*", "refunds.{{wildcard(1)}}.seen")),
            consumer_limits: Some(ConsumerLimits {
                inactive_threshold: Some(duration("1h")),
                max_ack_pending: Some(50),
            }),
            metadata: metadata(&[("team", "platform"), ("cost-centre", "42")]),
            allow_msg_ttl: Some(true),
            allow_msg_counter: Some(true),
            allow_atomic: Some(true),
            allow_batched: Some(true),
            persist_mode: Some(PersistMode::Async),
            ..StreamSpec::default()
        }
    }

    /// A mirror with every mirror field, and the flags that imply others.
    fn rich_mirror() -> StreamSpec {
        StreamSpec {
            name: Some("orders_copy".into()),
            mirror: Some(StreamSource {
                opt_start_seq: Some(7),
                subject_transforms: vec![transform("orders.*", "orders.{{wildcard(1)}}")],
                external: Some(ExternalStream {
                    api_prefix: "$JS.hub.API".into(),
                    deliver_prefix: None,
                }),
                ..StreamSource::test("ORDERS")
            }),
            mirror_direct: Some(true),
            duplicate_window: Some(duration("1m")),
            subject_delete_marker_ttl: Some(duration("5m")),
            allow_msg_schedules: Some(true),
            ..StreamSpec::default()
        }
    }

    trait TestSource {
        fn test(name: &str) -> Self;
    }

    impl TestSource for StreamSource {
        fn test(name: &str) -> Self {
            StreamSource {
                name: name.into(),
                opt_start_seq: None,
                opt_start_time: None,
                filter_subject: None,
                subject_transforms: Vec::new(),
                external: None,
                consumer: None,
            }
        }
    }

    fn rich_pull_consumer() -> ConsumerSpec {
        ConsumerSpec {
            stream_name: "ORDERS".into(),
            name: Some("worker".into()),
            description: Some("the worker".into()),
            deliver_policy: Some(DeliverPolicy::ByStartSequence),
            opt_start_seq: Some(10),
            ack_policy: Some(AckPolicy::All),
            ack_wait: Some(duration("10s")),
            max_deliver: Some(5),
            filter_subject: Some("orders.eu.>".into()),
            replay_policy: Some(ReplayPolicy::Original),
            sample_freq: Some(50),
            max_waiting: Some(10),
            max_ack_pending: Some(50),
            headers_only: Some(true),
            max_batch: Some(100),
            max_expires: Some(duration("30s")),
            max_bytes: Some(size("1MiB")),
            inactive_threshold: Some(duration("1h")),
            replicas: Some(3),
            memory_storage: Some(true),
            metadata: metadata(&[("team", "platform")]),
            priority_groups: strings(&["jobs", "batch"]),
            priority_policy: Some(PriorityPolicy::PinnedClient),
            priority_timeout: Some(duration("5m")),
            pause_until: Some("2030-01-01T00:00:00Z".into()),
            ..ConsumerSpec::default()
        }
    }

    fn backoff_consumer() -> ConsumerSpec {
        ConsumerSpec {
            stream_name: "ORDERS".into(),
            name: Some("retrier".into()),
            deliver_policy: Some(DeliverPolicy::ByStartTime),
            opt_start_time: Some("2025-01-31T12:00:00.5+01:00".into()),
            ack_policy: Some(AckPolicy::Explicit),
            max_deliver: Some(3),
            backoff: vec![duration("1s"), duration("5s"), duration("1m")],
            filter_subjects: strings(&["orders.us.>", "orders.ca.>"]),
            priority_groups: strings(&["spill"]),
            priority_policy: Some(PriorityPolicy::Overflow),
            ..ConsumerSpec::default()
        }
    }

    fn rich_push_consumer() -> ConsumerSpec {
        ConsumerSpec {
            stream_name: "events_log".into(),
            name: Some("pusher".into()),
            deliver_policy: Some(DeliverPolicy::LastPerSubject),
            filter_subject: Some("events.*".into()),
            ack_policy: Some(AckPolicy::None),
            rate_limit_bps: Some(1_000_000),
            headers_only: Some(true),
            deliver_subject: Some("deliver.events".into()),
            deliver_group: Some("workers".into()),
            idle_heartbeat: Some(duration("5s")),
            flow_control: Some(true),
            ..ConsumerSpec::default()
        }
    }

    fn rich_kv() -> KeyValueSpec {
        KeyValueSpec {
            name: Some("settings_v2".into()),
            description: Some("app settings".into()),
            history: Some(10),
            ttl: Some(duration("1h")),
            max_value_size: Some(size("4KiB")),
            max_bytes: Some(size("1GiB")),
            storage: Some(StorageType::Memory),
            replicas: Some(3),
            placement: placement(),
            republish: Some(Republish {
                source: Some("$KV.settings_v2.app.>".into()),
                destination: "changes.>".into(),
                headers_only: Some(true),
            }),
            sources: vec![
                StreamSource::test("config"),
                StreamSource {
                    opt_start_seq: Some(3),
                    external: Some(ExternalStream {
                        api_prefix: "$JS.hub.API".into(),
                        deliver_prefix: None,
                    }),
                    ..StreamSource::test("remote")
                },
                StreamSource {
                    subject_transforms: vec![transform("$KV.custom.a.>", "$KV.settings_v2.a.>")],
                    ..StreamSource::test("custom")
                },
                // Its own name: wire adds no transform, so an identity one is kept.
                StreamSource {
                    subject_transforms: vec![transform("$KV.settings_v2.>", "$KV.settings_v2.>")],
                    external: Some(ExternalStream {
                        api_prefix: "$JS.edge.API".into(),
                        deliver_prefix: None,
                    }),
                    ..StreamSource::test("settings_v2")
                },
            ],
            compression: Some(true),
            limit_marker_ttl: Some(duration("10s")),
            allow_direct: Some(false),
            metadata: metadata(&[("owner", "me")]),
            ..KeyValueSpec::default()
        }
    }

    fn kv_mirror() -> KeyValueSpec {
        KeyValueSpec {
            mirror: Some(StreamSource {
                opt_start_seq: Some(2),
                external: Some(ExternalStream {
                    api_prefix: "$JS.hub.API".into(),
                    deliver_prefix: Some("deliver.hub".into()),
                }),
                ..StreamSource::test("config")
            }),
            ttl: Some(duration("30s")),
            mirror_direct: Some(false),
            allow_msg_ttl: Some(true),
            ..KeyValueSpec::default()
        }
    }

    fn rich_object_store() -> ObjectStoreSpec {
        ObjectStoreSpec {
            name: Some("build_artifacts".into()),
            description: Some("CI output".into()),
            ttl: Some(duration("14d")),
            max_bytes: Some(size("10GiB")),
            storage: Some(StorageType::Memory),
            replicas: Some(3),
            placement: placement(),
            compression: Some(true),
            metadata: metadata(&[("team", "ci")]),
            ..ObjectStoreSpec::default()
        }
    }

    /// A config as the server returns it: the wire config with the server's
    /// own keys added (`_nats.*` metadata, jetsync's markers).
    fn as_live<C: HasMetadata>(mut config: C) -> C {
        let metadata = config.metadata_mut().get_or_insert_default();
        for (key, value) in [
            ("_nats.req.level", "1"),
            ("jetsync.dev/owner", "jetsync"),
            ("jetsync.dev/applied", "0123abcd"),
        ] {
            metadata.insert(key.into(), value.into());
        }
        config
    }

    trait HasMetadata {
        fn metadata_mut(&mut self) -> &mut Option<wire::model::Metadata>;
    }

    impl HasMetadata for StreamConfig {
        fn metadata_mut(&mut self) -> &mut Option<wire::model::Metadata> {
            &mut self.metadata
        }
    }

    impl HasMetadata for ConsumerConfig {
        fn metadata_mut(&mut self) -> &mut Option<wire::model::Metadata> {
            &mut self.metadata
        }
    }

    /// A stream config as the server sends it, from its JSON.
    fn stream(config: Value) -> StreamConfig {
        serde_json::from_value(config).unwrap()
    }

    /// A consumer config as the server sends it, from its JSON.
    fn consumer(config: Value) -> ConsumerConfig {
        serde_json::from_value(config).unwrap()
    }

    /// The backing stream of a new bucket, as nats.go makes it.
    fn kv_stream(bucket: &str, spec: &KeyValueSpec) -> StreamConfig {
        stream(wire::kv_stream_config(bucket, spec))
    }

    fn stream_name(spec: &StreamSpec) -> &str {
        spec.name.as_deref().unwrap_or("orders")
    }

    #[test]
    fn streams_with_every_field_come_back_as_declared() {
        for spec in [rich_stream(), rich_mirror()] {
            let live = as_live(wire::stream_config(stream_name(&spec), &spec));
            assert_eq!(stream_spec(&live), spec);
        }
    }

    #[test]
    fn consumers_with_every_field_come_back_as_declared() {
        for spec in [
            rich_pull_consumer(),
            backoff_consumer(),
            rich_push_consumer(),
        ] {
            let name = spec.name.clone().unwrap();
            let live = as_live(wire::consumer_config(&name, &spec));
            assert_eq!(consumer_spec(&spec.stream_name, &live), spec);
        }
    }

    #[test]
    fn key_value_buckets_with_every_field_come_back_as_declared() {
        for spec in [rich_kv(), kv_mirror()] {
            let bucket = spec.name.as_deref().unwrap_or("config-copy");
            let live = as_live(kv_stream(bucket, &spec));
            assert_eq!(kv_spec(&live), spec);
        }
    }

    #[test]
    fn object_stores_with_every_field_come_back_as_declared() {
        let spec = rich_object_store();
        let live = as_live(wire::object_store_stream_config("build_artifacts", &spec));
        assert_eq!(object_store_spec(&live), spec);
    }

    #[test]
    fn minimal_specs_come_back_minimal() {
        let stream = StreamSpec::default();
        assert_eq!(stream_spec(&wire::stream_config("orders", &stream)), stream);
        let kv = KeyValueSpec::default();
        assert_eq!(kv_spec(&kv_stream("config", &kv)), kv);
        let store = ObjectStoreSpec::default();
        assert_eq!(
            object_store_spec(&wire::object_store_stream_config("files", &store)),
            store
        );
        let consumer = ConsumerSpec {
            stream_name: "orders".into(),
            ..ConsumerSpec::default()
        };
        let exported = consumer_spec("orders", &wire::consumer_config("worker", &consumer));
        assert_eq!(
            exported,
            ConsumerSpec {
                name: Some("worker".into()),
                ack_policy: Some(AckPolicy::Explicit),
                ..consumer
            }
        );
    }

    /// A stream as nats-server 2.15 reports one created with a name only.
    fn bare_stream_from_the_server() -> StreamConfig {
        stream(json!({
            "allow_direct": false, "allow_msg_ttl": false, "allow_rollup_hdrs": false,
            "compression": "none", "consumer_limits": {}, "deny_delete": false,
            "deny_purge": false, "discard": "old", "duplicate_window": 120_000_000_000u64,
            "max_age": 0, "max_bytes": -1, "max_consumers": -1, "max_msg_size": -1,
            "max_msgs": -1, "max_msgs_per_subject": -1,
            "metadata": {"_nats.req.level": "0"}, "mirror_direct": false,
            "name": "bare", "num_replicas": 1, "retention": "limits", "sealed": false,
            "storage": "file", "subjects": ["bare"]
        }))
    }

    #[test]
    fn server_defaults_are_left_out() {
        assert_eq!(
            stream_spec(&bare_stream_from_the_server()),
            StreamSpec::default()
        );
        let short_lived = StreamConfig {
            max_age: Some(30_000_000_000),
            duplicate_window: Some(30_000_000_000),
            ..bare_stream_from_the_server()
        };
        assert_eq!(
            stream_spec(&short_lived),
            StreamSpec {
                max_age: Some(duration("30s")),
                ..StreamSpec::default()
            }
        );
        let defaults = consumer(json!({
            "ack_policy": "explicit", "ack_wait": 30_000_000_000u64, "deliver_policy": "all",
            "durable_name": "defaults", "max_ack_pending": 1000, "max_deliver": -1,
            "max_waiting": 512, "metadata": {"_nats.req.level": "0"}, "name": "defaults",
            "num_replicas": 0, "replay_policy": "instant", "sample_freq": "",
            "priority_policy": "none", "flow_control": false, "headers_only": false
        }));
        assert_eq!(
            consumer_spec("ORDERS", &defaults),
            ConsumerSpec {
                stream_name: "ORDERS".into(),
                name: Some("defaults".into()),
                ack_policy: Some(AckPolicy::Explicit),
                ..ConsumerSpec::default()
            }
        );
        let pinned = consumer(json!({
            "ack_policy": "explicit", "durable_name": "p", "priority_groups": ["jobs"],
            "priority_policy": "pinned_client", "priority_timeout": 120_000_000_000u64
        }));
        assert_eq!(consumer_spec("S", &pinned).priority_timeout, None);
    }

    #[test]
    fn a_consumer_without_acks_exports_ack_policy_none() {
        let live = consumer(json!({
            "ack_policy": "none", "deliver_policy": "last", "deliver_subject": "deliver.x",
            "durable_name": "firehose", "max_deliver": -1, "num_replicas": 0,
            "replay_policy": "instant"
        }));
        let spec = consumer_spec("ORDERS", &live);
        assert_eq!(spec.ack_policy, Some(AckPolicy::None));
        let yaml = serde_saphyr::to_string(&spec).unwrap();
        assert!(yaml.contains("ackPolicy: none"), "{yaml}");
        // An absent ack policy is the server's "none" as well.
        let without = ConsumerConfig {
            ack_policy: None,
            ..live
        };
        assert_eq!(
            consumer_spec("ORDERS", &without).ack_policy,
            Some(AckPolicy::None)
        );
    }

    /// A stream config as the plan compares it.
    fn comparable_stream(config: StreamConfig) -> AssetConfig {
        normalise::comparable_config(AssetKind::Stream, AssetConfig::stream(config), None)
    }

    #[test]
    fn flags_the_server_implies_are_left_out() {
        let spec = StreamSpec {
            subject_delete_marker_ttl: Some(duration("5m")),
            allow_msg_ttl: Some(true),
            allow_rollup_headers: Some(true),
            ..StreamSpec::default()
        };
        let live = wire::stream_config("ttl", &spec);
        let exported = stream_spec(&live);
        assert_eq!(exported.allow_msg_ttl, None);
        assert_eq!(exported.allow_rollup_headers, None);
        assert_eq!(
            comparable_stream(wire::stream_config("ttl", &exported)),
            comparable_stream(live)
        );
        // With a backoff the server waits backoff[0], whatever ack_wait says.
        let consumer = ConsumerSpec {
            ack_wait: Some(duration("1s")),
            ..backoff_consumer()
        };
        assert_eq!(
            consumer_spec("ORDERS", &wire::consumer_config("retrier", &consumer)).ack_wait,
            None
        );
    }

    #[test]
    fn consumer_values_copied_from_the_stream_limits_are_left_out_only_when_known() {
        let limits = wire::model::ConsumerLimits {
            inactive_threshold: Some(3_600_000_000_000),
            max_ack_pending: Some(2000),
            ..Default::default()
        };
        let inherited = consumer(json!({
            "ack_policy": "explicit", "durable_name": "c", "max_ack_pending": 2000,
            "inactive_threshold": 3_600_000_000_000u64
        }));
        let known = consumer_spec_with_limits("S", &inherited, Some(&limits));
        assert_eq!(known.max_ack_pending, None);
        assert_eq!(known.inactive_threshold, None);
        let unknown = consumer_spec_with_limits("S", &inherited, None);
        assert_eq!(unknown.max_ack_pending, Some(2000));
        assert_eq!(unknown.inactive_threshold, Some(duration("1h")));
        // The server default is not the default under a stream ceiling.
        let below = consumer(
            json!({"ack_policy": "explicit", "durable_name": "c", "max_ack_pending": 1000}),
        );
        assert_eq!(
            consumer_spec_with_limits("S", &below, Some(&limits)).max_ack_pending,
            Some(1000)
        );
        assert_eq!(consumer_spec("S", &below).max_ack_pending, None);
    }

    #[test]
    fn a_sourced_bucket_without_the_implied_transform_keeps_its_sources_by_bucket_name() {
        // As async-nats makes it: no subjects, no transforms.
        let live = stream(json!({
            "name": "KV_merged", "sources": [{"name": "KV_config"}, {"name": "KV_other"}],
            "max_msgs_per_subject": 1, "discard": "new", "allow_direct": true
        }));
        let spec = kv_spec(&live);
        assert_eq!(
            spec.sources,
            vec![StreamSource::test("config"), StreamSource::test("other")]
        );
        assert_eq!(spec.name, None);
    }

    #[test]
    fn reserved_metadata_keys_are_dropped() {
        let live = stream(json!({
            "name": "S",
            "metadata": {"_nats.ver": "2.15.1", "jetsync.dev/owner": "x", "team": "a"}
        }));
        assert_eq!(stream_spec(&live).metadata, metadata(&[("team", "a")]));
    }

    #[test]
    fn fields_and_spellings_a_spec_cannot_say_are_left_out() {
        let newer = stream(json!({
            "name": "s", "retention": "forever", "storage": "tape", "max_age": 0,
            "new_limit": {"a": 1}, "placement": {"cluster": "east", "preferred": "a"}
        }));
        assert_eq!(
            stream_spec(&newer),
            StreamSpec {
                placement: Some(Placement {
                    cluster: Some("east".into()),
                    tags: Vec::new(),
                }),
                ..StreamSpec::default()
            }
        );
        let newer = consumer(json!({
            "durable_name": "c", "ack_policy": "explicit", "deliver_policy": "by_mood",
            "new_option": true
        }));
        assert_eq!(consumer_spec("S", &newer).deliver_policy, None);
    }

    #[test]
    fn object_names_are_valid_kubernetes_names() {
        assert_eq!(object_name("orders"), "orders");
        assert_eq!(object_name("ORDERS"), "orders");
        assert_eq!(object_name("events_log"), "events-log");
        assert_eq!(object_name("_internal_"), "internal");
        assert_eq!(object_name("Ünïcode-NAME"), "n-code-name");
        assert_eq!(
            consumer_object_name("ORDERS", "worker_1"),
            "orders-worker-1"
        );
        let nothing = object_name("___");
        assert!(nothing.starts_with("asset-"), "{nothing}");
        assert_ne!(nothing, object_name("____"));
        let long_a = object_name(&format!("{}A", "x".repeat(300)));
        let long_b = object_name(&format!("{}B", "x".repeat(300)));
        assert_eq!(long_a.len(), MAX_OBJECT_NAME_BYTES);
        assert_ne!(long_a, long_b);
        assert_eq!(long_a, object_name(&format!("{}A", "x".repeat(300))));
        for name in [
            "orders",
            "ORDERS",
            "events_log",
            "_internal_",
            "Ünïcode-NAME",
            "___",
            "a-",
            &long_a,
            "KV_config",
            "9lives",
        ] {
            let object = object_name(name);
            assert_eq!(
                names::check_object_name(&object),
                Ok(()),
                "{name} → {object}"
            );
        }
    }

    /// A live asset with `config` (a wire config, or JSON as the server sent it).
    fn asset(address: Address, config: impl Serialize) -> LiveAsset {
        LiveAsset {
            address,
            config: to_value(&config).into(),
            holdings: Holdings::default(),
        }
    }

    fn load(yaml: &str) -> manifest::Manifests {
        manifest::load_sources(&[SourceText {
            name: "export.yaml".into(),
            text: Arc::from(yaml),
        }])
    }

    #[test]
    fn export_writes_valid_documents_in_address_order() {
        let stream = as_live(wire::stream_config(
            "ORDERS",
            &StreamSpec {
                subjects: strings(&["orders.>"]),
                consumer_limits: Some(ConsumerLimits {
                    inactive_threshold: None,
                    max_ack_pending: Some(2000),
                }),
                metadata: metadata(&[("flag", "true"), ("count", "12"), ("empty", "")]),
                ..StreamSpec::default()
            },
        ));
        let pull = json!({
            "ack_policy": "explicit", "durable_name": "worker_1", "name": "worker_1",
            "max_ack_pending": 2000, "max_waiting": 512
        });
        let assets = vec![
            asset(Address::consumer("ORDERS", "worker_1"), pull),
            asset(
                Address::consumer("ORDERS", "ephemeral"),
                json!({"ack_policy": "none", "name": "ephemeral"}),
            ),
            asset(
                Address::consumer("KV_config", "watcher"),
                json!({"ack_policy": "none", "durable_name": "watcher"}),
            ),
            asset(
                Address::consumer("ORDERS", "sourcing"),
                json!({
                    "ack_policy": "flow_control", "durable_name": "sourcing",
                    "deliver_subject": "sourced.orders", "flow_control": true,
                    "idle_heartbeat": 1_000_000_000u64, "max_ack_pending": 2000
                }),
            ),
            asset(
                Address::consumer("ORDERS", "newer"),
                json!({"ack_policy": "acks_of_tomorrow", "durable_name": "newer"}),
            ),
            asset(
                Address::object_store("files"),
                wire::object_store_stream_config("files", &ObjectStoreSpec::default()),
            ),
            asset(
                Address::kv("config"),
                wire::kv_stream_config("config", &rich_kv()),
            ),
            asset(Address::stream("ORDERS"), stream),
            asset(
                Address::stream("orders"),
                wire::stream_config("orders", &StreamSpec::default()),
            ),
        ];
        let yaml = export_documents(&assets, false).unwrap();
        let manifests = load(&yaml);
        assert!(manifests.is_valid(), "{:#?}\n{yaml}", manifests.diagnostics);
        let documents: Vec<(String, String, String)> = manifests
            .documents
            .iter()
            .map(|declared| {
                (
                    declared.kind().to_string(),
                    declared.metadata.name.clone(),
                    declared.asset_name().to_string(),
                )
            })
            .collect();
        let expected = [
            (
                "Stream",
                format!("orders-{}", short_hash("ORDERS")),
                "ORDERS",
            ),
            ("Stream", "orders".to_string(), "orders"),
            ("KeyValue", "config".to_string(), "config"),
            ("ObjectStore", "files".to_string(), "files"),
            ("Consumer", "orders-sourcing".to_string(), "sourcing"),
            ("Consumer", "orders-worker-1".to_string(), "worker_1"),
        ]
        .map(|(kind, object, name)| (kind.to_string(), object, name.to_string()));
        assert_eq!(documents, expected, "{yaml}");
        assert!(
            yaml.starts_with("apiVersion: jetsync.dev/v1alpha1\nkind: Stream\n"),
            "{yaml}"
        );
        // The specs read back are the specs exported (YAML quoting included).
        let AssetSpec::Stream(orders) = &manifests.documents[0].spec else {
            panic!("a stream first")
        };
        assert_eq!(
            orders.metadata,
            metadata(&[("flag", "true"), ("count", "12"), ("empty", "")])
        );
        let AssetSpec::KeyValue(config) = &manifests.documents[2].spec else {
            panic!("a bucket third")
        };
        assert_eq!(
            config,
            &KeyValueSpec {
                name: None,
                ..rich_kv()
            }
        );
        // The consumer's max_ack_pending is the stream's ceiling: left out.
        let AssetSpec::Consumer(worker) = &manifests.documents[5].spec else {
            panic!("a consumer last")
        };
        assert_eq!(worker.max_ack_pending, None);
        assert_eq!(worker.ack_policy, Some(AckPolicy::Explicit));
        // A flow_control consumer is written without what the server sets
        // for that ack policy (flow control, 1s heartbeats).
        let AssetSpec::Consumer(sourcing) = &manifests.documents[4].spec else {
            panic!("the sourcing consumer first of the consumers")
        };
        assert_eq!(sourcing.ack_policy, Some(AckPolicy::FlowControl));
        assert_eq!(
            (sourcing.flow_control, sourcing.idle_heartbeat),
            (None, None)
        );
    }

    #[test]
    fn a_bucket_made_by_nats_py_is_exported_with_its_client_choices() {
        let live = stream(json!({
            "name": "KV_cfg", "subjects": ["$KV.cfg.>"], "max_msgs_per_subject": 5,
            "discard": "new", "allow_direct": false, "mirror_direct": false,
            "deny_delete": true, "allow_rollup_hdrs": true, "allow_msg_ttl": true,
            "duplicate_window": 120_000_000_000u64, "max_age": 0
        }));
        let spec = kv_spec(&live);
        assert_eq!(spec.allow_direct, Some(false));
        assert_eq!(spec.allow_msg_ttl, Some(true));
        assert_eq!(spec.mirror_direct, None);
        let made_by_nats_go = kv_spec(&kv_stream("cfg", &KeyValueSpec::default()));
        assert_eq!(made_by_nats_go, KeyValueSpec::default());
    }

    #[test]
    fn export_all_marks_every_document_for_adoption() {
        let assets = vec![asset(
            Address::stream("ORDERS"),
            as_live(wire::stream_config("ORDERS", &StreamSpec::default())),
        )];
        let yaml = export_documents(&assets, true).unwrap();
        assert!(yaml.contains("\n  adopt: true\n"), "{yaml}");
        assert!(!export_documents(&assets, false).unwrap().contains("adopt"));
    }

    #[test]
    fn export_of_nothing_is_empty() {
        assert_eq!(export_documents::<LiveAsset>(&[], false), Ok(String::new()));
    }

    #[test]
    fn a_config_of_another_type_than_the_servers_is_an_error_naming_the_asset() {
        let assets = vec![
            asset(Address::stream("GOOD"), json!({"name": "GOOD"})),
            asset(
                Address::stream("ODD"),
                json!({"name": "ODD", "max_msgs": "many"}),
            ),
        ];
        let error = export_documents(&assets, false).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("cannot export stream/ODD: "),
            "{message}"
        );
        assert!(message.contains("many"), "{message}");
        let consumer = [asset(
            Address::consumer("GOOD", "c"),
            json!({"durable_name": "c", "sample_freq": 50}),
        )];
        let message = export_documents(&consumer, false).unwrap_err().to_string();
        assert!(
            message.starts_with("cannot export consumer/GOOD/c: its config is not one nats-server sends for a consumer ("),
            "{message}"
        );
        // A bucket's consumer is not exported, so its config is not read.
        let watcher = [asset(
            Address::consumer("KV_config", "watcher"),
            json!({"durable_name": 5}),
        )];
        assert_eq!(export_documents(&watcher, false), Ok(String::new()));
    }

    #[test]
    fn selection_keeps_the_owners_assets_unless_all_are_asked_for() {
        let owned = |owner: &str| json!({"metadata": {"jetsync.dev/owner": owner}});
        let assets = vec![
            asset(Address::stream("A"), owned("team-a")),
            asset(Address::stream("B"), owned("team-b")),
            asset(Address::stream("C"), json!({})),
            asset(Address::consumer("C", "x"), owned("team-a")),
        ];
        let names = |selected: Vec<&LiveAsset>| -> Vec<String> {
            selected.iter().map(|a| a.address.to_string()).collect()
        };
        assert_eq!(
            names(select_for_export(&assets, "team-a", false)),
            ["stream/A", "consumer/C/x"]
        );
        assert_eq!(select_for_export(&assets, "team-a", true).len(), 4);
        assert!(select_for_export(&assets, "nobody", false).is_empty());
    }
}
