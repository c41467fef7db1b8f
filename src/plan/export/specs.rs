//! Specs from live configs: every field that differs from the server's
//! default, none that the server fills in by itself.

use serde_json::Value;

use super::fields::Fields;
use super::spellings::{
    ack_policy, compression, deliver_policy, discard, persist_mode, priority_policy, replay_policy,
    retention, storage,
};
use crate::plan::wire::DEFAULT_DUPLICATE_WINDOW_NANOS;
use crate::spec::common::{
    Compression, ConsumerLimits, DiscardPolicy, ExternalStream, PersistMode, Placement, Republish,
    RetentionPolicy, SourceConsumer, StorageType, StreamSource, SubjectTransform,
};
use crate::spec::consumer::{AckPolicy, DeliverPolicy, PriorityPolicy, ReplayPolicy};
use crate::spec::names;
use crate::spec::units::Duration;
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

/// A transform's source: `>` is what the wire sends for "every subject".
fn transform_source(fields: &Fields) -> Option<String> {
    fields.string("src").filter(|source| source != ">")
}

fn transform(config: &Value) -> Option<SubjectTransform> {
    let fields = Fields::of(config);
    Some(SubjectTransform {
        source: transform_source(&fields),
        destination: fields.string("dest")?,
    })
}

fn transforms(config: Option<&Value>) -> Vec<SubjectTransform> {
    config
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(transform).collect())
        .unwrap_or_default()
}

fn republish(config: &Value) -> Option<Republish> {
    let fields = Fields::of(config);
    Some(Republish {
        source: transform_source(&fields),
        destination: fields.string("dest")?,
        headers_only: fields.flag("headers_only"),
    })
}

fn placement(config: &Value) -> Option<Placement> {
    let fields = Fields::of(config);
    let placement = Placement {
        cluster: fields.string("cluster"),
        tags: fields.strings("tags"),
    };
    (placement != Placement::default()).then_some(placement)
}

/// A source or mirror; `prefix` is stripped from the origin's name (the
/// `KV_` of a bucket's backing stream).
fn source(config: &Value, prefix: &str) -> Option<StreamSource> {
    let fields = Fields::of(config);
    let name = fields.text("name")?;
    Some(StreamSource {
        name: name.strip_prefix(prefix).unwrap_or(name).to_string(),
        opt_start_seq: fields.positive("opt_start_seq"),
        opt_start_time: fields
            .string("opt_start_time")
            .filter(|time| !is_zero_time(time)),
        filter_subject: fields.string("filter_subject"),
        subject_transforms: transforms(fields.get("subject_transforms")),
        external: fields.nested("external").and_then(|external| {
            Some(ExternalStream {
                api_prefix: external.string("api")?,
                deliver_prefix: external.string("deliver"),
            })
        }),
        consumer: fields.nested("consumer").and_then(|consumer| {
            Some(SourceConsumer {
                name: consumer.string("name")?,
                deliver_subject: consumer.string("deliver_subject"),
            })
        }),
    })
}

fn sources(config: Option<&Value>, prefix: &str) -> Vec<StreamSource> {
    config
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| source(item, prefix))
                .collect()
        })
        .unwrap_or_default()
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
pub fn stream_spec(config: &Value) -> StreamSpec {
    let fields = Fields::of(config);
    let name = fields.text("name").unwrap_or_default();
    let mirror = fields.get("mirror").and_then(|m| source(m, ""));
    let sources = sources(fields.get("sources"), "");
    let copies = mirror.is_some() || !sources.is_empty();
    let max_age = fields.duration("max_age");
    let marker_ttl = fields.duration("subject_delete_marker_ttl");
    let schedules = fields.flag("allow_msg_schedules");
    // The server turns these on for delete markers and schedules.
    let implied_rollup = marker_ttl.is_some() || schedules.is_some();
    let mut subjects = fields.strings("subjects");
    if !copies && subjects.len() == 1 && subjects[0] == name {
        subjects.clear();
    }
    let duplicate_window = fields
        .get("duplicate_window")
        .and_then(Value::as_u64)
        .map(Duration::from_nanos)
        .filter(|window| *window != default_duplicate_window(mirror.is_some(), max_age));
    let consumer_limits = fields.nested("consumer_limits").and_then(|limits| {
        let limits = ConsumerLimits {
            inactive_threshold: limits.duration("inactive_threshold"),
            max_ack_pending: limits.positive("max_ack_pending"),
        };
        (limits != ConsumerLimits::default()).then_some(limits)
    });
    StreamSpec {
        name: explicit_name(name),
        description: fields.string("description"),
        subjects,
        retention: unless_default(
            fields.text("retention").and_then(retention),
            RetentionPolicy::Limits,
        ),
        storage: unless_default(fields.text("storage").and_then(storage), StorageType::File),
        replicas: unless_default(fields.positive_u32("num_replicas"), 1),
        max_consumers: fields.positive("max_consumers"),
        max_msgs: fields.positive("max_msgs"),
        max_bytes: fields.size("max_bytes"),
        max_msgs_per_subject: fields.positive("max_msgs_per_subject"),
        max_msg_size: fields.size("max_msg_size"),
        max_age,
        discard: unless_default(fields.text("discard").and_then(discard), DiscardPolicy::Old),
        discard_new_per_subject: fields.flag("discard_new_per_subject"),
        no_ack: fields.flag("no_ack"),
        duplicate_window,
        placement: fields.get("placement").and_then(placement),
        mirror,
        sources,
        sealed: fields.flag("sealed"),
        deny_delete: fields.flag("deny_delete"),
        deny_purge: fields.flag("deny_purge"),
        allow_rollup_headers: fields.flag("allow_rollup_hdrs").filter(|_| !implied_rollup),
        republish: fields.get("republish").and_then(republish),
        allow_direct: fields.flag("allow_direct"),
        mirror_direct: fields.flag("mirror_direct"),
        compression: unless_default(
            fields.text("compression").and_then(compression),
            Compression::None,
        ),
        first_sequence: fields.positive("first_seq"),
        subject_transform: fields.get("subject_transform").and_then(transform),
        consumer_limits,
        metadata: fields.metadata(),
        allow_msg_ttl: fields
            .flag("allow_msg_ttl")
            .filter(|_| marker_ttl.is_none()),
        subject_delete_marker_ttl: marker_ttl,
        allow_msg_counter: fields.flag("allow_msg_counter"),
        allow_atomic: fields.flag("allow_atomic"),
        allow_msg_schedules: schedules,
        allow_batched: fields.flag("allow_batched"),
        persist_mode: unless_default(
            fields.text("persist_mode").and_then(persist_mode),
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
pub fn consumer_spec(stream: &str, config: &Value) -> ConsumerSpec {
    consumer_spec_with_limits(stream, config, Some(&Value::Null))
}

/// [`consumer_spec`] for a consumer of a stream whose `consumer_limits` are
/// `stream_limits`: `max_ack_pending` and `inactive_threshold` equal to
/// what the server copies from those limits are left out. `None` means the
/// stream's limits are unknown: such values are then written out, which is
/// always exact.
pub fn consumer_spec_with_limits(
    stream: &str,
    config: &Value,
    stream_limits: Option<&Value>,
) -> ConsumerSpec {
    let fields = Fields::of(config);
    let name = fields
        .text("durable_name")
        .or_else(|| fields.text("name"))
        .unwrap_or_default();
    let acks = fields
        .text("ack_policy")
        .and_then(ack_policy)
        .unwrap_or(AckPolicy::None);
    let push = fields.text("deliver_subject").is_some();
    // With the flow_control ack policy the server sets flow control and its
    // heartbeats itself; a spec may not.
    let server_flow_control = acks == AckPolicy::FlowControl;
    let backoff: Vec<Duration> = fields
        .get("backoff")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_u64)
                .map(Duration::from_nanos)
                .collect()
        })
        .unwrap_or_default();
    let limits = stream_limits.map(Fields::of);
    // With a backoff the server waits backoff[0] for the first ack.
    let ack_wait = fields.duration("ack_wait").filter(|wait| {
        acks == AckPolicy::None || (backoff.is_empty() && wait.as_nanos() != DEFAULT_ACK_WAIT_NANOS)
    });
    let max_ack_pending = match (&limits, acks) {
        (_, AckPolicy::None) => None,
        (None, _) => fields.positive("max_ack_pending"),
        (Some(limits), _) => unless_default(
            fields.positive("max_ack_pending"),
            limits
                .positive("max_ack_pending")
                .unwrap_or(DEFAULT_MAX_ACK_PENDING),
        ),
    };
    let inactive_threshold = match &limits {
        None => fields.duration("inactive_threshold"),
        Some(limits) => fields
            .duration("inactive_threshold")
            .filter(|threshold| Some(*threshold) != limits.duration("inactive_threshold")),
    };
    let priority = unless_default(
        fields.text("priority_policy").and_then(priority_policy),
        PriorityPolicy::None,
    );
    let priority_timeout = fields.duration("priority_timeout").filter(|timeout| {
        priority != Some(PriorityPolicy::PinnedClient)
            || timeout.as_nanos() != DEFAULT_PRIORITY_TIMEOUT_NANOS
    });
    ConsumerSpec {
        stream_name: stream.to_string(),
        name: Some(name.to_string()),
        description: fields.string("description"),
        deliver_policy: unless_default(
            fields.text("deliver_policy").and_then(deliver_policy),
            DeliverPolicy::All,
        ),
        opt_start_seq: fields.positive("opt_start_seq"),
        opt_start_time: fields
            .string("opt_start_time")
            .filter(|time| !is_zero_time(time)),
        ack_policy: Some(acks),
        ack_wait,
        max_deliver: fields.positive("max_deliver"),
        backoff,
        filter_subject: fields.string("filter_subject"),
        filter_subjects: fields.strings("filter_subjects"),
        replay_policy: unless_default(
            fields.text("replay_policy").and_then(replay_policy),
            ReplayPolicy::Instant,
        ),
        rate_limit_bps: fields.positive("rate_limit_bps"),
        sample_freq: fields
            .text("sample_freq")
            .and_then(|text| text.trim_end_matches('%').trim().parse::<u8>().ok())
            .filter(|percent| *percent > 0),
        max_waiting: fields
            .positive("max_waiting")
            .filter(|waiting| push || *waiting != DEFAULT_MAX_WAITING),
        max_ack_pending,
        headers_only: fields.flag("headers_only"),
        max_batch: fields.positive("max_batch"),
        max_expires: fields.duration("max_expires"),
        max_bytes: fields.size("max_bytes"),
        inactive_threshold,
        replicas: fields.positive_u32("num_replicas"),
        memory_storage: fields.flag("mem_storage"),
        metadata: fields.metadata(),
        deliver_subject: fields.string("deliver_subject"),
        deliver_group: fields.string("deliver_group"),
        idle_heartbeat: fields
            .duration("idle_heartbeat")
            .filter(|_| !server_flow_control),
        flow_control: fields.flag("flow_control").filter(|_| !server_flow_control),
        priority_groups: fields.strings("priority_groups"),
        priority_policy: priority,
        priority_timeout,
        pause_until: fields
            .string("pause_until")
            .filter(|time| !is_zero_time(time)),
        ..ConsumerSpec::default()
    }
}

/// The `KeyValue` spec of a bucket from its backing stream's config
/// (`KV_<bucket>`). Mirror and source names lose their `KV_` prefix, and the
/// `$KV.<origin>.>` → `$KV.<bucket>.>` transform of a source (which the wire
/// config adds back) is left out.
pub fn kv_spec(config: &Value) -> KeyValueSpec {
    let fields = Fields::of(config);
    let stream = fields.text("name").unwrap_or_default();
    let bucket = stream.strip_prefix("KV_").unwrap_or(stream);
    let marker_ttl = fields.duration("subject_delete_marker_ttl");
    let is_mirror = fields.nested("mirror").is_some();
    let mut sources = sources(fields.get("sources"), "KV_");
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
        description: fields.string("description"),
        history: unless_default(fields.positive_u32("max_msgs_per_subject"), 1),
        ttl: fields.duration("max_age"),
        max_value_size: fields.size("max_msg_size"),
        max_bytes: fields.size("max_bytes"),
        storage: unless_default(fields.text("storage").and_then(storage), StorageType::File),
        replicas: unless_default(fields.positive_u32("num_replicas"), 1),
        placement: fields.get("placement").and_then(placement),
        republish: fields.get("republish").and_then(republish),
        mirror: fields.get("mirror").and_then(|m| source(m, "KV_")),
        sources,
        compression: (fields.text("compression") == Some("s2")).then_some(true),
        limit_marker_ttl: marker_ttl,
        // Client choices, written where they differ from a new bucket's.
        allow_direct: (fields.flag("allow_direct") != Some(true)).then_some(false),
        allow_msg_ttl: fields
            .flag("allow_msg_ttl")
            .filter(|_| marker_ttl.is_none()),
        mirror_direct: match (is_mirror, fields.flag("mirror_direct")) {
            (true, None) => Some(false),
            (false, Some(true)) => Some(true),
            _ => None,
        },
        metadata: fields.metadata(),
        ..KeyValueSpec::default()
    }
}

/// The `ObjectStore` spec of an object store from its backing stream's
/// config (`OBJ_<bucket>`).
pub fn object_store_spec(config: &Value) -> ObjectStoreSpec {
    let fields = Fields::of(config);
    let stream = fields.text("name").unwrap_or_default();
    let bucket = stream.strip_prefix("OBJ_").unwrap_or(stream);
    ObjectStoreSpec {
        name: explicit_name(bucket),
        description: fields.string("description"),
        ttl: fields.duration("max_age"),
        max_bytes: fields.size("max_bytes"),
        storage: unless_default(fields.text("storage").and_then(storage), StorageType::File),
        replicas: unless_default(fields.positive_u32("num_replicas"), 1),
        placement: fields.get("placement").and_then(placement),
        compression: (fields.text("compression") == Some("s2")).then_some(true),
        metadata: fields.metadata(),
        ..ObjectStoreSpec::default()
    }
}
