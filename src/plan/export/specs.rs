//! Specs from live configs: every field that differs from the server's
//! default, none that the server fills in by itself.

use super::spellings::{
    ack_policy, compression, deliver_policy, discard, persist_mode, priority_policy, replay_policy,
    retention, storage,
};
use crate::plan::wire::model::{ConsumerConfig, Field, StreamConfig};
use crate::plan::wire::{self, DEFAULT_DUPLICATE_WINDOW_NANOS};
use crate::spec::common::{
    Compression, ConsumerLimits, DiscardPolicy, ExternalStream, Metadata, PersistMode, Placement,
    Republish, RetentionPolicy, SourceConsumer, StorageType, StreamSource, SubjectTransform,
};
use crate::spec::consumer::{AckPolicy, DeliverPolicy, PriorityPolicy, ReplayPolicy};
use crate::spec::names;
use crate::spec::units::{Duration, Size};
use crate::spec::{ConsumerSpec, KeyValueSpec, ObjectStoreSpec, StreamSpec};

/// The server's default `max_ack_pending` when the stream sets no ceiling.
const DEFAULT_MAX_ACK_PENDING: u64 = 1000;
/// The server's default `max_waiting` of a pull consumer.
const DEFAULT_MAX_WAITING: u64 = 512;
/// The server's default `ack_wait`: 30s.
const DEFAULT_ACK_WAIT_NANOS: u64 = 30_000_000_000;
/// The server's default `priority_timeout` of a pinned-client consumer: 2m.
const DEFAULT_PRIORITY_TIMEOUT_NANOS: u64 = 120_000_000_000;

/// `Some(value)` unless it is the server's default.
fn unless_default<T: PartialEq>(value: Option<T>, default: T) -> Option<T> {
    value.filter(|value| *value != default)
}

/// The spec's `name` for a JetStream name: set only when `metadata.name`
/// cannot carry it.
fn explicit_name(jetstream_name: &str) -> Option<String> {
    names::check_object_name(jetstream_name)
        .is_err()
        .then(|| jetstream_name.to_string())
}

/// A text, unless empty (the server's "unset").
fn text(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.is_empty())
}

fn string(value: &Option<String>) -> Option<String> {
    text(value).map(str::to_string)
}

/// `Some(true)` when the flag is on; off is the default of every flag.
fn flag(value: Option<bool>) -> Option<bool> {
    value.filter(|on| *on)
}

/// A positive integer; 0 and -1 are the server's "unset" and "unlimited".
fn positive(value: Option<impl TryInto<u64>>) -> Option<u64> {
    value.and_then(|n| n.try_into().ok()).filter(|n| *n > 0)
}

fn positive_u32(value: Option<i64>) -> Option<u32> {
    positive(value).and_then(|n| u32::try_from(n).ok())
}

fn duration(value: Option<i64>) -> Option<Duration> {
    positive(value).map(Duration::from_nanos)
}

fn size(value: Option<i64>) -> Option<Size> {
    positive(value).map(Size::from_bytes)
}

/// A list, empty when unset.
fn strings(value: &Option<Vec<String>>) -> Vec<String> {
    value.clone().unwrap_or_default()
}

/// The user's metadata: the server's `_nats.*` keys and jetsync's own
/// `jetsync.dev/*` markers are left out.
fn metadata(value: &Option<wire::model::Metadata>) -> Metadata {
    value
        .iter()
        .flatten()
        .filter(|(key, _)| {
            !names::RESERVED_METADATA_PREFIXES
                .iter()
                .any(|(prefix, _)| key.starts_with(prefix))
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// A transform's source: `>` is what the wire sends for "every subject".
fn transform_source(source: &Option<String>) -> Option<String> {
    string(source).filter(|source| source != ">")
}

fn transform(config: &wire::model::SubjectTransform) -> Option<SubjectTransform> {
    Some(SubjectTransform {
        source: transform_source(&config.src),
        destination: string(&config.dest)?,
    })
}

fn transforms(config: &Option<Vec<wire::model::SubjectTransform>>) -> Vec<SubjectTransform> {
    config.iter().flatten().filter_map(transform).collect()
}

fn republish(config: &wire::model::Republish) -> Option<Republish> {
    Some(Republish {
        source: transform_source(&config.src),
        destination: string(&config.dest)?,
        headers_only: flag(config.headers_only),
    })
}

fn placement(config: &wire::model::Placement) -> Option<Placement> {
    let placement = Placement {
        cluster: string(&config.cluster),
        tags: strings(&config.tags),
    };
    (placement != Placement::default()).then_some(placement)
}

/// A source or mirror; `prefix` is stripped from the origin's name (the
/// `KV_` of a bucket's backing stream).
fn source(config: &wire::model::StreamSource, prefix: &str) -> Option<StreamSource> {
    let name = text(&config.name)?;
    Some(StreamSource {
        name: name.strip_prefix(prefix).unwrap_or(name).to_string(),
        opt_start_seq: positive(config.opt_start_seq),
        opt_start_time: string(&config.opt_start_time).filter(|time| !is_zero_time(time)),
        filter_subject: string(&config.filter_subject),
        subject_transforms: transforms(&config.subject_transforms),
        external: config.external.as_ref().and_then(|external| {
            Some(ExternalStream {
                api_prefix: string(&external.api)?,
                deliver_prefix: string(&external.deliver),
            })
        }),
        consumer: config.consumer.as_ref().and_then(|consumer| {
            Some(SourceConsumer {
                name: string(&consumer.name)?,
                deliver_subject: string(&consumer.deliver_subject),
            })
        }),
    })
}

fn sources(config: &Option<Vec<wire::model::StreamSource>>, prefix: &str) -> Vec<StreamSource> {
    config
        .iter()
        .flatten()
        .filter_map(|item| source(item, prefix))
        .collect()
}

/// Go's zero `time.Time`, which means "not set".
fn is_zero_time(text: &str) -> bool {
    text.starts_with("0001-01-01T00:00:00")
}

/// The duplicate window the server picks when none is given: none for a
/// mirror, else two minutes or `max_age` if that is shorter.
fn default_duplicate_window(is_mirror: bool, max_age: Option<Duration>) -> Duration {
    if is_mirror {
        return Duration::ZERO;
    }
    match max_age {
        Some(age) if age.as_nanos() < DEFAULT_DUPLICATE_WINDOW_NANOS => age,
        _ => Duration::from_nanos(DEFAULT_DUPLICATE_WINDOW_NANOS),
    }
}

/// The `Stream` spec of a live stream config: every field that differs from
/// the server's default. `name` is set when the stream name is not a valid
/// `metadata.name`.
pub fn stream_spec(config: &StreamConfig) -> StreamSpec {
    let name = text(&config.name).unwrap_or_default();
    let mirror = config.mirror.as_ref().and_then(|m| source(m, ""));
    let sources = sources(&config.sources, "");
    let copies = mirror.is_some() || !sources.is_empty();
    let max_age = duration(config.max_age);
    let marker_ttl = duration(config.subject_delete_marker_ttl);
    let schedules = flag(config.allow_msg_schedules);
    // The server turns these on for delete markers and schedules.
    let implied_rollup = marker_ttl.is_some() || schedules.is_some();
    let mut subjects = strings(&config.subjects);
    if !copies && subjects.len() == 1 && subjects[0] == name {
        subjects.clear();
    }
    let duplicate_window = config
        .duplicate_window
        .and_then(|nanos| u64::try_from(nanos).ok())
        .map(Duration::from_nanos)
        .filter(|window| *window != default_duplicate_window(mirror.is_some(), max_age));
    let consumer_limits = config.consumer_limits.as_ref().and_then(|limits| {
        let limits = ConsumerLimits {
            inactive_threshold: duration(limits.inactive_threshold),
            max_ack_pending: positive(limits.max_ack_pending),
        };
        (limits != ConsumerLimits::default()).then_some(limits)
    });
    StreamSpec {
        name: explicit_name(name),
        description: string(&config.description),
        subjects,
        retention: unless_default(
            config.retention.as_ref().and_then(retention),
            RetentionPolicy::Limits,
        ),
        storage: unless_default(config.storage.as_ref().and_then(storage), StorageType::File),
        replicas: unless_default(positive_u32(config.num_replicas), 1),
        max_consumers: positive(config.max_consumers),
        max_msgs: positive(config.max_msgs),
        max_bytes: size(config.max_bytes),
        max_msgs_per_subject: positive(config.max_msgs_per_subject),
        max_msg_size: size(config.max_msg_size),
        max_age,
        discard: unless_default(
            config.discard.as_ref().and_then(discard),
            DiscardPolicy::Old,
        ),
        discard_new_per_subject: flag(config.discard_new_per_subject),
        no_ack: flag(config.no_ack),
        duplicate_window,
        placement: config.placement.as_ref().and_then(placement),
        mirror,
        sources,
        sealed: flag(config.sealed),
        deny_delete: flag(config.deny_delete),
        deny_purge: flag(config.deny_purge),
        allow_rollup_headers: flag(config.allow_rollup_hdrs).filter(|_| !implied_rollup),
        republish: config.republish.as_ref().and_then(republish),
        allow_direct: flag(config.allow_direct),
        mirror_direct: flag(config.mirror_direct),
        compression: unless_default(
            config.compression.as_ref().and_then(compression),
            Compression::None,
        ),
        first_sequence: positive(config.first_seq),
        subject_transform: config.subject_transform.as_ref().and_then(transform),
        consumer_limits,
        metadata: metadata(&config.metadata),
        allow_msg_ttl: flag(config.allow_msg_ttl).filter(|_| marker_ttl.is_none()),
        subject_delete_marker_ttl: marker_ttl,
        allow_msg_counter: flag(config.allow_msg_counter),
        allow_atomic: flag(config.allow_atomic),
        allow_msg_schedules: schedules,
        allow_batched: flag(config.allow_batched),
        persist_mode: unless_default(
            config.persist_mode.as_ref().and_then(persist_mode),
            PersistMode::Default,
        ),
        ..StreamSpec::default()
    }
}

/// The `Consumer` spec of a live consumer config of stream `stream`,
/// assuming the stream sets no `consumer_limits` (see
/// [`consumer_spec_with_limits`]). `ackPolicy` is always written: the spec's
/// default is `explicit`, the server's is `none`. `name` is always set, as
/// the consumer's `metadata.name` also carries its stream (see
/// [`consumer_object_name`](super::consumer_object_name)).
pub fn consumer_spec(stream: &str, config: &ConsumerConfig) -> ConsumerSpec {
    consumer_spec_with_limits(
        stream,
        config,
        Some(&wire::model::ConsumerLimits::default()),
    )
}

/// [`consumer_spec`] for a consumer of a stream whose `consumer_limits` are
/// `stream_limits`: `max_ack_pending` and `inactive_threshold` equal to
/// what the server copies from those limits are left out. `None` means the
/// stream's limits are unknown: such values are then written out, which is
/// always exact.
pub fn consumer_spec_with_limits(
    stream: &str,
    config: &ConsumerConfig,
    stream_limits: Option<&wire::model::ConsumerLimits>,
) -> ConsumerSpec {
    let name = text(&config.durable_name)
        .or_else(|| text(&config.name))
        .unwrap_or_default();
    let acks = config
        .ack_policy
        .as_ref()
        .and_then(ack_policy)
        .unwrap_or(AckPolicy::None);
    let push = text(&config.deliver_subject).is_some();
    // With the flow_control ack policy the server sets flow control and its
    // heartbeats itself; a spec may not.
    let server_flow_control = acks == AckPolicy::FlowControl;
    let backoff: Vec<Duration> = config
        .backoff
        .iter()
        .flatten()
        .filter_map(|&nanos| u64::try_from(nanos).ok())
        .map(Duration::from_nanos)
        .collect();
    // With a backoff the server waits backoff[0] for the first ack.
    let ack_wait = duration(config.ack_wait).filter(|wait| {
        acks == AckPolicy::None || (backoff.is_empty() && wait.as_nanos() != DEFAULT_ACK_WAIT_NANOS)
    });
    let max_ack_pending = match (stream_limits, acks) {
        (_, AckPolicy::None) => None,
        (None, _) => positive(config.max_ack_pending),
        (Some(limits), _) => unless_default(
            positive(config.max_ack_pending),
            positive(limits.max_ack_pending).unwrap_or(DEFAULT_MAX_ACK_PENDING),
        ),
    };
    let inactive_threshold = match stream_limits {
        None => duration(config.inactive_threshold),
        Some(limits) => duration(config.inactive_threshold)
            .filter(|threshold| Some(*threshold) != duration(limits.inactive_threshold)),
    };
    let priority = unless_default(
        config.priority_policy.as_ref().and_then(priority_policy),
        PriorityPolicy::None,
    );
    let priority_timeout = duration(config.priority_timeout).filter(|timeout| {
        priority != Some(PriorityPolicy::PinnedClient)
            || timeout.as_nanos() != DEFAULT_PRIORITY_TIMEOUT_NANOS
    });
    ConsumerSpec {
        stream_name: stream.to_string(),
        name: Some(name.to_string()),
        description: string(&config.description),
        deliver_policy: unless_default(
            config.deliver_policy.as_ref().and_then(deliver_policy),
            DeliverPolicy::All,
        ),
        opt_start_seq: positive(config.opt_start_seq),
        opt_start_time: string(&config.opt_start_time).filter(|time| !is_zero_time(time)),
        ack_policy: Some(acks),
        ack_wait,
        max_deliver: positive(config.max_deliver),
        backoff,
        filter_subject: string(&config.filter_subject),
        filter_subjects: strings(&config.filter_subjects),
        replay_policy: unless_default(
            config.replay_policy.as_ref().and_then(replay_policy),
            ReplayPolicy::Instant,
        ),
        rate_limit_bps: positive(config.rate_limit_bps),
        sample_freq: text(&config.sample_freq)
            .and_then(|text| text.trim_end_matches('%').trim().parse::<u8>().ok())
            .filter(|percent| *percent > 0),
        max_waiting: positive(config.max_waiting)
            .filter(|waiting| push || *waiting != DEFAULT_MAX_WAITING),
        max_ack_pending,
        headers_only: flag(config.headers_only),
        max_batch: positive(config.max_batch),
        max_expires: duration(config.max_expires),
        max_bytes: size(config.max_bytes),
        inactive_threshold,
        replicas: positive_u32(config.num_replicas),
        memory_storage: flag(config.mem_storage),
        metadata: metadata(&config.metadata),
        deliver_subject: string(&config.deliver_subject),
        deliver_group: string(&config.deliver_group),
        idle_heartbeat: duration(config.idle_heartbeat).filter(|_| !server_flow_control),
        flow_control: flag(config.flow_control).filter(|_| !server_flow_control),
        priority_groups: strings(&config.priority_groups),
        priority_policy: priority,
        priority_timeout,
        pause_until: string(&config.pause_until).filter(|time| !is_zero_time(time)),
        ..ConsumerSpec::default()
    }
}

/// The `KeyValue` spec of a bucket from its backing stream's config
/// (`KV_<bucket>`). Mirror and source names lose their `KV_` prefix, and the
/// `$KV.<origin>.>` → `$KV.<bucket>.>` transform of a source (which the wire
/// config adds back) is left out.
pub fn kv_spec(config: &StreamConfig) -> KeyValueSpec {
    let stream = text(&config.name).unwrap_or_default();
    let bucket = stream.strip_prefix("KV_").unwrap_or(stream);
    let marker_ttl = duration(config.subject_delete_marker_ttl);
    let is_mirror = config
        .mirror
        .as_ref()
        .is_some_and(|mirror| !mirror.is_unset());
    let mut sources = sources(&config.sources, "KV_");
    for origin in &mut sources {
        let implied = SubjectTransform {
            source: Some(format!("$KV.{}.>", origin.name)),
            destination: format!("$KV.{bucket}.>"),
        };
        if origin.name != bucket && origin.subject_transforms == [implied] {
            origin.subject_transforms.clear();
        }
    }
    KeyValueSpec {
        name: explicit_name(bucket),
        description: string(&config.description),
        history: unless_default(positive_u32(config.max_msgs_per_subject), 1),
        ttl: duration(config.max_age),
        max_value_size: size(config.max_msg_size),
        max_bytes: size(config.max_bytes),
        storage: unless_default(config.storage.as_ref().and_then(storage), StorageType::File),
        replicas: unless_default(positive_u32(config.num_replicas), 1),
        placement: config.placement.as_ref().and_then(placement),
        republish: config.republish.as_ref().and_then(republish),
        mirror: config.mirror.as_ref().and_then(|m| source(m, "KV_")),
        sources,
        compression: is_s2(config),
        limit_marker_ttl: marker_ttl,
        // Client choices, written where they differ from a new bucket's.
        allow_direct: (flag(config.allow_direct) != Some(true)).then_some(false),
        allow_msg_ttl: flag(config.allow_msg_ttl).filter(|_| marker_ttl.is_none()),
        mirror_direct: match (is_mirror, flag(config.mirror_direct)) {
            (true, None) => Some(false),
            (false, Some(true)) => Some(true),
            _ => None,
        },
        metadata: metadata(&config.metadata),
        ..KeyValueSpec::default()
    }
}

/// A bucket's `compression: true`: its backing stream is s2-compressed.
fn is_s2(config: &StreamConfig) -> Option<bool> {
    (config.compression == Some(wire::model::Compression::S2)).then_some(true)
}

/// The `ObjectStore` spec of an object store from its backing stream's
/// config (`OBJ_<bucket>`).
pub fn object_store_spec(config: &StreamConfig) -> ObjectStoreSpec {
    let stream = text(&config.name).unwrap_or_default();
    let bucket = stream.strip_prefix("OBJ_").unwrap_or(stream);
    ObjectStoreSpec {
        name: explicit_name(bucket),
        description: string(&config.description),
        ttl: duration(config.max_age),
        max_bytes: size(config.max_bytes),
        storage: unless_default(config.storage.as_ref().and_then(storage), StorageType::File),
        replicas: unless_default(positive_u32(config.num_replicas), 1),
        placement: config.placement.as_ref().and_then(placement),
        compression: is_s2(config),
        metadata: metadata(&config.metadata),
        ..ObjectStoreSpec::default()
    }
}
