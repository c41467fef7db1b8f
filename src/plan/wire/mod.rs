//! Specs as the JetStream API's configs: exactly the fields the user set
//! (plus what a KV bucket or object store implies), never a field the server
//! might not know, durations in nanoseconds. The configs are the typed
//! [`model`]'s.

pub mod model;

use std::borrow::Cow;

use serde_json::Value;

use self::model::{AssetConfig, ConsumerConfig, StreamConfig};
use super::model::AssetKind;
use super::normalise;
use crate::spec::common::{
    Compression, DiscardPolicy, PersistMode, Placement, Republish, RetentionPolicy, StorageType,
    StreamSource, SubjectTransform,
};
use crate::spec::consumer::{AckPolicy, DeliverPolicy, PriorityPolicy, ReplayPolicy};
use crate::spec::units::{Duration, Size};
use crate::spec::{AssetSpec, ConsumerSpec, KeyValueSpec, ObjectStoreSpec, StreamSpec};

/// Two minutes: the server's default duplicate window.
pub const DEFAULT_DUPLICATE_WINDOW_NANOS: u64 = 120_000_000_000;

/// A count as the server's signed integer (jetsync's validation keeps
/// counts far below where the two differ).
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn nanos(value: Option<Duration>) -> Option<i64> {
    value.map(|d| int(d.as_nanos()))
}

fn bytes(value: Option<Size>) -> Option<i64> {
    value.map(|s| int(s.bytes()))
}

/// A list, absent when empty.
fn list<T: Clone>(values: &[T]) -> Option<Vec<T>> {
    (!values.is_empty()).then(|| values.to_vec())
}

/// Metadata, absent when empty.
fn metadata(values: &crate::spec::common::Metadata) -> Option<model::Metadata> {
    (!values.is_empty()).then(|| values.clone())
}

/// The server's spelling of a storage type.
pub fn storage(value: StorageType) -> model::StorageType {
    match value {
        StorageType::File => model::StorageType::File,
        StorageType::Memory => model::StorageType::Memory,
    }
}

/// The server's spelling of a retention policy.
pub fn retention(value: RetentionPolicy) -> model::RetentionPolicy {
    match value {
        RetentionPolicy::Limits => model::RetentionPolicy::Limits,
        RetentionPolicy::Interest => model::RetentionPolicy::Interest,
        RetentionPolicy::Workqueue => model::RetentionPolicy::Workqueue,
    }
}

/// The server's spelling of a discard policy.
pub fn discard(value: DiscardPolicy) -> model::DiscardPolicy {
    match value {
        DiscardPolicy::Old => model::DiscardPolicy::Old,
        DiscardPolicy::New => model::DiscardPolicy::New,
    }
}

/// The server's spelling of a compression.
pub fn compression(value: Compression) -> model::Compression {
    match value {
        Compression::None => model::Compression::None,
        Compression::S2 => model::Compression::S2,
    }
}

/// The server's spelling of a persist mode.
pub fn persist_mode(value: PersistMode) -> model::PersistMode {
    match value {
        PersistMode::Default => model::PersistMode::Default,
        PersistMode::Async => model::PersistMode::Async,
    }
}

/// The server's spelling of a deliver policy.
pub fn deliver_policy(value: DeliverPolicy) -> model::DeliverPolicy {
    match value {
        DeliverPolicy::All => model::DeliverPolicy::All,
        DeliverPolicy::Last => model::DeliverPolicy::Last,
        DeliverPolicy::New => model::DeliverPolicy::New,
        DeliverPolicy::ByStartSequence => model::DeliverPolicy::ByStartSequence,
        DeliverPolicy::ByStartTime => model::DeliverPolicy::ByStartTime,
        DeliverPolicy::LastPerSubject => model::DeliverPolicy::LastPerSubject,
    }
}

/// The server's spelling of an ack policy.
pub fn ack_policy(value: AckPolicy) -> model::AckPolicy {
    match value {
        AckPolicy::None => model::AckPolicy::None,
        AckPolicy::All => model::AckPolicy::All,
        AckPolicy::Explicit => model::AckPolicy::Explicit,
        AckPolicy::FlowControl => model::AckPolicy::FlowControl,
    }
}

/// The server's spelling of a replay policy.
pub fn replay_policy(value: ReplayPolicy) -> model::ReplayPolicy {
    match value {
        ReplayPolicy::Instant => model::ReplayPolicy::Instant,
        ReplayPolicy::Original => model::ReplayPolicy::Original,
    }
}

/// The server's spelling of a priority policy.
pub fn priority_policy(value: PriorityPolicy) -> model::PriorityPolicy {
    match value {
        PriorityPolicy::None => model::PriorityPolicy::None,
        PriorityPolicy::Overflow => model::PriorityPolicy::Overflow,
        PriorityPolicy::PinnedClient => model::PriorityPolicy::PinnedClient,
        PriorityPolicy::Prioritized => model::PriorityPolicy::Prioritized,
    }
}

fn placement(value: &Placement) -> model::Placement {
    model::Placement {
        cluster: value.cluster.clone(),
        tags: list(&value.tags),
        ..Default::default()
    }
}

fn transform(value: &SubjectTransform) -> model::SubjectTransform {
    model::SubjectTransform {
        src: Some(value.source.as_deref().unwrap_or(">").to_string()),
        dest: Some(value.destination.clone()),
        ..Default::default()
    }
}

fn republish(value: &Republish) -> model::Republish {
    model::Republish {
        src: Some(value.source.as_deref().unwrap_or(">").to_string()),
        dest: Some(value.destination.clone()),
        headers_only: value.headers_only,
        ..Default::default()
    }
}

/// A source or mirror; `prefix` maps bucket names to backing stream names.
fn source(value: &StreamSource, prefix: &str) -> model::StreamSource {
    model::StreamSource {
        name: Some(format!("{prefix}{}", value.name)),
        opt_start_seq: value.opt_start_seq,
        opt_start_time: value.opt_start_time.clone(),
        filter_subject: value.filter_subject.clone(),
        subject_transforms: (!value.subject_transforms.is_empty())
            .then(|| value.subject_transforms.iter().map(transform).collect()),
        external: value.external.as_ref().map(|external| model::External {
            api: Some(external.api_prefix.clone()),
            deliver: external.deliver_prefix.clone(),
            ..Default::default()
        }),
        consumer: value
            .consumer
            .as_ref()
            .map(|consumer| model::SourceConsumer {
                name: Some(consumer.name.clone()),
                deliver_subject: consumer.deliver_subject.clone(),
                ..Default::default()
            }),
        ..Default::default()
    }
}

/// The stream config for a `Stream` spec named `name`.
pub fn stream_config(name: &str, spec: &StreamSpec) -> StreamConfig {
    StreamConfig {
        name: Some(name.to_string()),
        description: spec.description.clone(),
        subjects: list(&spec.subjects),
        retention: spec.retention.map(retention),
        storage: spec.storage.map(storage),
        num_replicas: spec.replicas.map(i64::from),
        max_consumers: spec.max_consumers.map(int),
        max_msgs: spec.max_msgs.map(int),
        max_bytes: bytes(spec.max_bytes),
        max_msgs_per_subject: spec.max_msgs_per_subject.map(int),
        max_msg_size: bytes(spec.max_msg_size),
        max_age: nanos(spec.max_age),
        discard: spec.discard.map(discard),
        discard_new_per_subject: spec.discard_new_per_subject,
        no_ack: spec.no_ack,
        duplicate_window: nanos(spec.duplicate_window),
        placement: spec.placement.as_ref().map(placement),
        mirror: spec.mirror.as_ref().map(|m| source(m, "")),
        sources: (!spec.sources.is_empty())
            .then(|| spec.sources.iter().map(|s| source(s, "")).collect()),
        sealed: spec.sealed,
        deny_delete: spec.deny_delete,
        deny_purge: spec.deny_purge,
        allow_rollup_hdrs: spec.allow_rollup_headers,
        republish: spec.republish.as_ref().map(republish),
        allow_direct: spec.allow_direct,
        mirror_direct: spec.mirror_direct,
        compression: spec.compression.map(compression),
        first_seq: spec.first_sequence,
        subject_transform: spec.subject_transform.as_ref().map(transform),
        consumer_limits: spec
            .consumer_limits
            .as_ref()
            .map(|limits| model::ConsumerLimits {
                inactive_threshold: nanos(limits.inactive_threshold),
                max_ack_pending: limits.max_ack_pending.map(int),
                ..Default::default()
            }),
        metadata: metadata(&spec.metadata),
        allow_msg_ttl: spec.allow_msg_ttl,
        subject_delete_marker_ttl: nanos(spec.subject_delete_marker_ttl),
        allow_msg_counter: spec.allow_msg_counter,
        allow_atomic: spec.allow_atomic,
        allow_msg_schedules: spec.allow_msg_schedules,
        allow_batched: spec.allow_batched,
        persist_mode: spec.persist_mode.map(persist_mode),
        ..Default::default()
    }
}

/// The consumer config for a `Consumer` spec named `name`. The ack policy is
/// always sent: the server reads a missing one as `none`, clients default to
/// `explicit`, and so does jetsync.
pub fn consumer_config(name: &str, spec: &ConsumerSpec) -> ConsumerConfig {
    ConsumerConfig {
        durable_name: Some(name.to_string()),
        name: Some(name.to_string()),
        description: spec.description.clone(),
        deliver_policy: spec.deliver_policy.map(deliver_policy),
        opt_start_seq: spec.opt_start_seq,
        opt_start_time: spec.opt_start_time.clone(),
        ack_policy: Some(ack_policy(spec.ack_policy.unwrap_or(AckPolicy::Explicit))),
        ack_wait: nanos(spec.ack_wait),
        max_deliver: spec.max_deliver.map(int),
        backoff: (!spec.backoff.is_empty())
            .then(|| spec.backoff.iter().map(|d| int(d.as_nanos())).collect()),
        filter_subject: spec.filter_subject.clone(),
        filter_subjects: list(&spec.filter_subjects),
        replay_policy: spec.replay_policy.map(replay_policy),
        rate_limit_bps: spec.rate_limit_bps,
        sample_freq: spec.sample_freq.map(|f| format!("{f}%")),
        max_waiting: spec.max_waiting.map(int),
        max_ack_pending: spec.max_ack_pending.map(int),
        headers_only: spec.headers_only,
        max_batch: spec.max_batch.map(int),
        max_expires: nanos(spec.max_expires),
        max_bytes: bytes(spec.max_bytes),
        inactive_threshold: nanos(spec.inactive_threshold),
        num_replicas: spec.replicas.map(i64::from),
        mem_storage: spec.memory_storage,
        metadata: metadata(&spec.metadata),
        deliver_subject: spec.deliver_subject.clone(),
        deliver_group: spec.deliver_group.clone(),
        idle_heartbeat: nanos(spec.idle_heartbeat),
        flow_control: spec.flow_control,
        priority_groups: list(&spec.priority_groups),
        priority_policy: spec.priority_policy.map(priority_policy),
        priority_timeout: nanos(spec.priority_timeout),
        pause_until: spec.pause_until.clone(),
        ..Default::default()
    }
}

/// The config of an asset spec whose JetStream name is `name` (a KV
/// bucket's as [`kv_declared_config`]); None for a `NatsConnection`.
pub fn asset_config(name: &str, spec: &AssetSpec) -> Option<AssetConfig> {
    Some(match spec {
        AssetSpec::Stream(spec) => AssetConfig::stream(stream_config(name, spec)),
        AssetSpec::KeyValue(spec) => AssetConfig::stream(kv_declared_config(name, spec)),
        AssetSpec::ObjectStore(spec) => AssetConfig::stream(object_store_stream_config(name, spec)),
        AssetSpec::Consumer(spec) => AssetConfig::consumer(consumer_config(name, spec)),
        AssetSpec::NatsConnection(_) => return None,
    })
}

/// The backing stream (`KV_<bucket>`) of a new key-value bucket, shaped as
/// nats.go and ADR-8 make it: [`kv_declared_config`] with nats.go's choices
/// for what the spec leaves open.
pub fn kv_stream_config(bucket: &str, spec: &KeyValueSpec) -> Value {
    let declared = model::to_value(&kv_declared_config(bucket, spec));
    settle(AssetKind::KeyValue, &declared, None).into_owned()
}

/// The backing stream of a key-value bucket as its spec declares it: the
/// client choices it leaves open ([`CLIENT_CHOICES`]) are absent, for
/// [`settle`] to fill from the live bucket or with nats.go's defaults.
pub fn kv_declared_config(bucket: &str, spec: &KeyValueSpec) -> StreamConfig {
    let ttl = spec.ttl.map(|d| d.as_nanos()).unwrap_or(0);
    let duplicate_window = if ttl > 0 && ttl < DEFAULT_DUPLICATE_WINDOW_NANOS {
        ttl
    } else {
        DEFAULT_DUPLICATE_WINDOW_NANOS
    };
    let marker_ttl = nanos(spec.limit_marker_ttl);
    let sources = spec.sources.iter().map(|origin| {
        let mut config = source(origin, "KV_");
        if origin.subject_transforms.is_empty() && origin.name != bucket {
            config.subject_transforms = Some(vec![model::SubjectTransform {
                src: Some(format!("$KV.{}.>", origin.name)),
                dest: Some(format!("$KV.{bucket}.>")),
                ..Default::default()
            }]);
        }
        config
    });
    StreamConfig {
        name: Some(format!("KV_{bucket}")),
        description: spec.description.clone(),
        retention: Some(model::RetentionPolicy::Limits),
        max_consumers: Some(-1),
        max_msgs: Some(-1),
        max_msgs_per_subject: Some(i64::from(spec.history.unwrap_or(1))),
        max_bytes: Some(bytes(spec.max_bytes).unwrap_or(-1)),
        max_age: Some(int(ttl)),
        max_msg_size: Some(bytes(spec.max_value_size).unwrap_or(-1)),
        storage: Some(storage(spec.storage.unwrap_or(StorageType::File))),
        num_replicas: Some(i64::from(spec.replicas.unwrap_or(1))),
        discard: Some(model::DiscardPolicy::New),
        duplicate_window: Some(int(duplicate_window)),
        allow_rollup_hdrs: Some(true),
        deny_delete: Some(true),
        deny_purge: Some(false),
        allow_direct: spec.allow_direct,
        placement: spec.placement.as_ref().map(placement),
        republish: spec.republish.as_ref().map(republish),
        metadata: metadata(&spec.metadata),
        compression: (spec.compression == Some(true)).then_some(model::Compression::S2),
        allow_msg_ttl: if marker_ttl.is_some() {
            Some(true)
        } else {
            spec.allow_msg_ttl
        },
        subject_delete_marker_ttl: marker_ttl,
        mirror_direct: spec.mirror_direct,
        mirror: spec.mirror.as_ref().map(|mirror| source(mirror, "KV_")),
        subjects: spec
            .mirror
            .is_none()
            .then(|| vec![format!("$KV.{bucket}.>")]),
        sources: (!spec.sources.is_empty()).then(|| sources.collect()),
        ..Default::default()
    }
}

/// The backing stream (`OBJ_<bucket>`) of an object store, shaped as the
/// client libraries make it.
pub fn object_store_stream_config(bucket: &str, spec: &ObjectStoreSpec) -> StreamConfig {
    StreamConfig {
        name: Some(format!("OBJ_{bucket}")),
        description: spec.description.clone(),
        subjects: Some(vec![format!("$O.{bucket}.C.>"), format!("$O.{bucket}.M.>")]),
        retention: Some(model::RetentionPolicy::Limits),
        max_age: Some(nanos(spec.ttl).unwrap_or(0)),
        max_bytes: Some(bytes(spec.max_bytes).unwrap_or(-1)),
        storage: Some(storage(spec.storage.unwrap_or(StorageType::File))),
        num_replicas: Some(i64::from(spec.replicas.unwrap_or(1))),
        discard: Some(model::DiscardPolicy::New),
        allow_rollup_hdrs: Some(true),
        allow_direct: Some(true),
        placement: spec.placement.as_ref().map(placement),
        metadata: metadata(&spec.metadata),
        compression: (spec.compression == Some(true)).then_some(model::Compression::S2),
        ..Default::default()
    }
}

/// Backing-stream fields of a KV bucket that clients set each their own way
/// and a `KeyValue` spec may leave open: nats.go and async-nats turn direct
/// gets on and nats-py off, nats-py turns per-message TTLs on. Left out of a
/// spec, a new bucket gets nats.go's choice and an existing one keeps its own.
pub const CLIENT_CHOICES: [&str; 3] = ["allow_direct", "allow_msg_ttl", "mirror_direct"];

/// The config to send for a declared asset, given the live config when the
/// asset exists. Streams and consumers are sent as declared. A KV bucket or
/// object store made by another client keeps every backing-stream field its
/// kind does not compare (discard policy, duplicate window, subjects, …) and
/// every [`CLIENT_CHOICES`] field its spec leaves open, as the live config
/// has it: what a plan does not show, an apply does not change. A new one
/// gets nats.go's choices: direct gets on, and mirror direct gets for a
/// mirror.
pub fn settle<'a>(kind: AssetKind, declared: &'a Value, live: Option<&Value>) -> Cow<'a, Value> {
    let Some(compared) = normalise::compared_fields(kind) else {
        return Cow::Borrowed(declared);
    };
    let mut config = declared.as_object().cloned().unwrap_or_default();
    let Some(mut settled) = live.and_then(Value::as_object).cloned() else {
        config.entry("allow_direct").or_insert(Value::Bool(true));
        if config.get("mirror").is_some_and(Value::is_object) {
            config.entry("mirror_direct").or_insert(Value::Bool(true));
        }
        return Cow::Owned(Value::Object(config));
    };
    for &field in compared {
        match config.remove(field) {
            Some(value) => {
                settled.insert(field.to_string(), value);
            }
            None if CLIENT_CHOICES.contains(&field) => {}
            None => {
                settled.remove(field);
            }
        }
    }
    // A new TTL derives a new duplicate window (it may not exceed the TTL):
    // the declared one, or the server's default for it.
    if settled.get("max_age") != live.and_then(|l| l.get("max_age")) {
        match config.remove("duplicate_window") {
            Some(window) => settled.insert("duplicate_window".to_string(), window),
            None => settled.remove("duplicate_window"),
        };
    }
    Cow::Owned(Value::Object(settled))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::normalise::comparable;

    /// The backing stream nats-py 2.16 makes for `create_key_value(bucket="cfg",
    /// history=5)` on nats-server 2.15.1, as STREAM.INFO reports it.
    fn nats_py_bucket() -> Value {
        json!({
            "name": "KV_cfg", "subjects": ["$KV.cfg.>"], "retention": "limits",
            "max_consumers": -1, "max_msgs": -1, "max_bytes": -1, "max_age": 0,
            "max_msgs_per_subject": 5, "max_msg_size": -1, "discard": "new",
            "storage": "file", "num_replicas": 1, "duplicate_window": 120_000_000_000u64,
            "compression": "none", "allow_direct": false, "mirror_direct": false,
            "sealed": false, "deny_delete": true, "deny_purge": false,
            "allow_rollup_hdrs": true, "consumer_limits": {}, "allow_msg_ttl": true,
            "metadata": {"_nats.req.level": "1"}
        })
    }

    #[test]
    fn a_new_bucket_gets_the_choices_of_nats_go() {
        let spec = KeyValueSpec::default();
        let config = kv_stream_config("cfg", &spec);
        assert_eq!(config["allow_direct"], json!(true));
        assert!(config.get("allow_msg_ttl").is_none());
        assert!(config.get("mirror_direct").is_none());
    }

    #[test]
    fn an_existing_bucket_keeps_what_its_spec_leaves_open() {
        let live = nats_py_bucket();
        let spec = KeyValueSpec {
            history: Some(5),
            ..KeyValueSpec::default()
        };
        let declared = model::to_value(&kv_declared_config("cfg", &spec));
        let sent = settle(AssetKind::KeyValue, &declared, Some(&live));
        // Nothing the plan compares differs, and nothing else is changed.
        assert_eq!(
            comparable(AssetKind::KeyValue, &sent, None),
            comparable(AssetKind::KeyValue, &live, None)
        );
        assert_eq!(sent["allow_msg_ttl"], json!(true));
        assert_eq!(sent["allow_direct"], json!(false));
        assert_eq!(
            sent["metadata"],
            json!(null),
            "the declared metadata (none)"
        );
        // What the spec says wins, a new TTL brings its duplicate window.
        let spec = KeyValueSpec {
            history: Some(5),
            allow_direct: Some(true),
            ttl: Some("30s".parse().unwrap()),
            ..KeyValueSpec::default()
        };
        let declared = model::to_value(&kv_declared_config("cfg", &spec));
        let sent = settle(AssetKind::KeyValue, &declared, Some(&live));
        assert_eq!(sent["allow_direct"], json!(true));
        assert_eq!(sent["duplicate_window"], json!(30_000_000_000u64));
        assert_eq!(sent["discard"], json!("new"));
    }

    #[test]
    fn streams_and_consumers_are_sent_as_declared() {
        let declared = json!({"name": "S", "subjects": ["s.>"]});
        let live = json!({"name": "S", "subjects": ["s.>"], "allow_direct": true});
        let sent = settle(AssetKind::Stream, &declared, Some(&live));
        assert!(matches!(sent, Cow::Borrowed(config) if *config == declared));
    }
}
