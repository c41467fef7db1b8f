//! Live assets as manifests (`jetsync export`): the inverse of [`super::wire`].
//! Every field that differs from the server's default is written, every field
//! the server would fill in by itself is left out, so exported manifests are
//! short, validate, and plan as "no changes" when applied back.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use super::model::{AssetKind, LiveAsset};
use super::ownership;
use super::wire::DEFAULT_DUPLICATE_WINDOW_NANOS;
use crate::spec::common::{
    Compression, ConsumerLimits, DiscardPolicy, ExternalStream, Metadata, PersistMode, Placement,
    Republish, RetentionPolicy, SourceConsumer, StorageType, StreamSource, SubjectTransform,
};
use crate::spec::consumer::{AckPolicy, DeliverPolicy, PriorityPolicy, ReplayPolicy};
use crate::spec::names::{self, MAX_OBJECT_NAME_BYTES};
use crate::spec::units::{Duration, Size};
use crate::spec::{API_VERSION, ConsumerSpec, KeyValueSpec, ObjectStoreSpec, StreamSpec};

/// The server's default `max_ack_pending` when the stream sets no ceiling.
const DEFAULT_MAX_ACK_PENDING: u64 = 1000;
/// The server's default `max_waiting` of a pull consumer.
const DEFAULT_MAX_WAITING: u64 = 512;
/// The server's default `ack_wait`: 30s.
const DEFAULT_ACK_WAIT_NANOS: u64 = 30_000_000_000;
/// The server's default `priority_timeout` of a pinned-client consumer: 2m.
const DEFAULT_PRIORITY_TIMEOUT_NANOS: u64 = 120_000_000_000;

/// Read access to one JSON config object, turning the server's spellings of
/// "unset" (`0`, `-1`, `""`, `false`, `[]`, `{}`, absent) into `None`.
struct Fields<'a>(Option<&'a Map<String, Value>>);

impl<'a> Fields<'a> {
    fn of(config: &'a Value) -> Self {
        Self(config.as_object())
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0?.get(key).filter(|value| !value.is_null())
    }

    fn nested(&self, key: &str) -> Option<Fields<'a>> {
        self.get(key)
            .and_then(Value::as_object)
            .filter(|map| !map.is_empty())
            .map(|map| Fields(Some(map)))
    }

    fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.0.into_iter().flatten()
    }

    fn text(&self, key: &str) -> Option<&'a str> {
        self.get(key)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
    }

    fn string(&self, key: &str) -> Option<String> {
        self.text(key).map(str::to_string)
    }

    /// `Some(true)` when the flag is on; off is the default of every flag.
    fn flag(&self, key: &str) -> Option<bool> {
        self.get(key)
            .and_then(Value::as_bool)
            .filter(|on| *on)
            .map(|_| true)
    }

    /// A positive integer; 0 and -1 are the server's "unset" and "unlimited".
    fn positive(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64).filter(|n| *n > 0)
    }

    fn positive_u32(&self, key: &str) -> Option<u32> {
        self.positive(key).and_then(|n| u32::try_from(n).ok())
    }

    fn duration(&self, key: &str) -> Option<Duration> {
        self.positive(key).map(Duration::from_nanos)
    }

    fn size(&self, key: &str) -> Option<Size> {
        self.positive(key).map(Size::from_bytes)
    }

    fn strings(&self, key: &str) -> Vec<String> {
        self.get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The user's metadata: the server's `_nats.*` keys and jetsync's own
    /// `jetsync.dev/*` markers are left out.
    fn metadata(&self) -> Metadata {
        self.nested("metadata")
            .map(|metadata| {
                metadata
                    .entries()
                    .filter(|(key, _)| {
                        !names::RESERVED_METADATA_PREFIXES
                            .iter()
                            .any(|(prefix, _)| key.starts_with(prefix))
                    })
                    .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn storage(text: &str) -> Option<StorageType> {
    match text {
        "file" => Some(StorageType::File),
        "memory" => Some(StorageType::Memory),
        _ => None,
    }
}

fn retention(text: &str) -> Option<RetentionPolicy> {
    match text {
        "limits" => Some(RetentionPolicy::Limits),
        "interest" => Some(RetentionPolicy::Interest),
        "workqueue" => Some(RetentionPolicy::Workqueue),
        _ => None,
    }
}

fn discard(text: &str) -> Option<DiscardPolicy> {
    match text {
        "old" => Some(DiscardPolicy::Old),
        "new" => Some(DiscardPolicy::New),
        _ => None,
    }
}

fn compression(text: &str) -> Option<Compression> {
    match text {
        "none" => Some(Compression::None),
        "s2" => Some(Compression::S2),
        _ => None,
    }
}

fn persist_mode(text: &str) -> Option<PersistMode> {
    match text {
        "default" => Some(PersistMode::Default),
        "async" => Some(PersistMode::Async),
        _ => None,
    }
}

fn deliver_policy(text: &str) -> Option<DeliverPolicy> {
    match text {
        "all" => Some(DeliverPolicy::All),
        "last" => Some(DeliverPolicy::Last),
        "new" => Some(DeliverPolicy::New),
        "by_start_sequence" => Some(DeliverPolicy::ByStartSequence),
        "by_start_time" => Some(DeliverPolicy::ByStartTime),
        "last_per_subject" => Some(DeliverPolicy::LastPerSubject),
        _ => None,
    }
}

fn ack_policy(text: &str) -> Option<AckPolicy> {
    match text {
        "none" => Some(AckPolicy::None),
        "all" => Some(AckPolicy::All),
        "explicit" => Some(AckPolicy::Explicit),
        "flow_control" => Some(AckPolicy::FlowControl),
        _ => None,
    }
}

fn replay_policy(text: &str) -> Option<ReplayPolicy> {
    match text {
        "instant" => Some(ReplayPolicy::Instant),
        "original" => Some(ReplayPolicy::Original),
        _ => None,
    }
}

fn priority_policy(text: &str) -> Option<PriorityPolicy> {
    match text {
        "none" => Some(PriorityPolicy::None),
        "overflow" => Some(PriorityPolicy::Overflow),
        "pinned_client" => Some(PriorityPolicy::PinnedClient),
        "prioritized" => Some(PriorityPolicy::Prioritized),
        _ => None,
    }
}

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
/// [`consumer_object_name`]).
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

/// FNV-1a: a short hash that is the same on every platform and release.
fn short_hash(text: &str) -> String {
    let hash = text.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}")
}

/// `base` with `-<suffix>` appended, cut so the result fits in a Kubernetes name.
fn with_suffix(base: &str, suffix: &str) -> String {
    let room = MAX_OBJECT_NAME_BYTES - suffix.len() - 1;
    let base = base[..base.len().min(room)].trim_end_matches('-');
    if base.is_empty() {
        suffix.to_string()
    } else {
        format!("{base}-{suffix}")
    }
}

/// A valid Kubernetes `metadata.name` (DNS-1123 subdomain) for an asset with
/// this JetStream name: lowercased, every character other than a letter or
/// digit (`_` included) replaced by `-`, dashes trimmed from both ends.
/// Deterministic; a name that had to be cut to 253 bytes, or had nothing
/// usable in it, ends in a hash of the original so that it stays distinct.
pub fn object_name(jetstream_name: &str) -> String {
    let mut name = String::with_capacity(jetstream_name.len());
    for character in jetstream_name.chars() {
        let character = character.to_ascii_lowercase();
        let keep = character.is_ascii_lowercase() || character.is_ascii_digit();
        name.push(if keep { character } else { '-' });
    }
    let name = name.trim_matches('-');
    if name.is_empty() {
        return format!("asset-{}", short_hash(jetstream_name));
    }
    if name.len() > MAX_OBJECT_NAME_BYTES {
        return with_suffix(name, &short_hash(jetstream_name));
    }
    name.to_string()
}

/// The `metadata.name` of a consumer: its stream's and its own name,
/// `<stream>-<consumer>`, made valid by [`object_name`].
pub fn consumer_object_name(stream: &str, consumer: &str) -> String {
    object_name(&format!("{stream}-{consumer}"))
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
        // Consumers on buckets are their clients' business (watchers, …).
        .filter(|asset| {
            asset.address.kind != AssetKind::Consumer
                || !(asset.address.name.starts_with("KV_")
                    || asset.address.name.starts_with("OBJ_"))
        })
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

/// A consumer of a KV bucket's or object store's backing stream belongs to
/// a client (watchers, ordered consumers), not to the declared state; an
/// ephemeral consumer (no durable name) has no lasting identity; a consumer
/// with an ack policy a spec cannot say (one newer than jetsync) cannot be
/// declared.
fn is_exported_consumer(asset: &LiveAsset) -> bool {
    let stream = &asset.address.name;
    let config = asset.config.value();
    let fields = Fields::of(&config);
    let durable = fields.text("durable_name").is_some();
    let declarable_acks = fields
        .text("ack_policy")
        .is_none_or(|acks| ack_policy(acks).is_some());
    durable && declarable_acks && !stream.starts_with("KV_") && !stream.starts_with("OBJ_")
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
pub fn export_documents<A: Borrow<LiveAsset>>(assets: &[A], adopt: bool) -> String {
    let mut assets: Vec<&LiveAsset> = assets.iter().map(Borrow::borrow).collect();
    assets.sort_by(|a, b| a.address.cmp(&b.address));
    let stream_limits: HashMap<String, Value> = assets
        .iter()
        .filter(|asset| asset.address.kind.is_stream_like())
        .map(|asset| {
            let config = asset.config.value();
            let limits = config.get("consumer_limits").cloned();
            (asset.address.stream_name(), limits.unwrap_or(Value::Null))
        })
        .collect();

    let mut exported: Vec<Exported> = Vec::new();
    for asset in assets {
        let address = &asset.address;
        let config = &asset.config.value();
        let bucket_or_stream = |spec| Exported {
            kind: address.kind,
            jetstream_name: address.name.clone(),
            known_as: address.name.clone(),
            spec,
        };
        exported.push(match address.kind {
            AssetKind::Stream => bucket_or_stream(ExportedSpec::Stream(stream_spec(config))),
            AssetKind::KeyValue => bucket_or_stream(ExportedSpec::KeyValue(kv_spec(config))),
            AssetKind::ObjectStore => {
                bucket_or_stream(ExportedSpec::ObjectStore(object_store_spec(config)))
            }
            AssetKind::Consumer => {
                if !is_exported_consumer(asset) {
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
    serde_saphyr::to_string_multiple(&documents)
        .expect("specs are plain data and always serialise to YAML")
}

/// The `metadata.name` of each `(kind, name)`: [`object_name`], except that
/// when several assets of one kind map to the same name, only one whose name
/// already is that name keeps it and the others get a hash of their name
/// appended.
fn unique_object_names<'a>(
    assets: impl Iterator<Item = (AssetKind, &'a str)> + Clone,
) -> Vec<String> {
    let mut users: BTreeMap<(AssetKind, String), usize> = BTreeMap::new();
    for (kind, name) in assets.clone() {
        *users.entry((kind, object_name(name))).or_default() += 1;
    }
    assets
        .map(|(kind, name)| {
            let base = object_name(name);
            if users[&(kind, base.clone())] == 1 || base == name {
                base
            } else {
                with_suffix(&base, &short_hash(name))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::diagnostics::SourceText;
    use crate::manifest;
    use crate::plan::model::{Address, Holdings};
    use crate::plan::{normalise, wire};
    use crate::spec::AssetSpec;

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
    fn as_live(mut config: Value) -> Value {
        let metadata = config
            .as_object_mut()
            .unwrap()
            .entry("metadata")
            .or_insert_with(|| json!({}));
        metadata["_nats.req.level"] = json!("1");
        metadata["jetsync.dev/owner"] = json!("jetsync");
        metadata["jetsync.dev/applied"] = json!("0123abcd");
        config
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
            let live = as_live(wire::kv_stream_config(bucket, &spec));
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
        assert_eq!(kv_spec(&wire::kv_stream_config("config", &kv)), kv);
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
    fn bare_stream_from_the_server() -> Value {
        json!({
            "allow_direct": false, "allow_msg_ttl": false, "allow_rollup_hdrs": false,
            "compression": "none", "consumer_limits": {}, "deny_delete": false,
            "deny_purge": false, "discard": "old", "duplicate_window": 120_000_000_000u64,
            "max_age": 0, "max_bytes": -1, "max_consumers": -1, "max_msg_size": -1,
            "max_msgs": -1, "max_msgs_per_subject": -1,
            "metadata": {"_nats.req.level": "0"}, "mirror_direct": false,
            "name": "bare", "num_replicas": 1, "retention": "limits", "sealed": false,
            "storage": "file", "subjects": ["bare"]
        })
    }

    #[test]
    fn server_defaults_are_left_out() {
        assert_eq!(
            stream_spec(&bare_stream_from_the_server()),
            StreamSpec::default()
        );
        let mut short_lived = bare_stream_from_the_server();
        short_lived["max_age"] = json!(30_000_000_000u64);
        short_lived["duplicate_window"] = json!(30_000_000_000u64);
        assert_eq!(
            stream_spec(&short_lived),
            StreamSpec {
                max_age: Some(duration("30s")),
                ..StreamSpec::default()
            }
        );
        let consumer = json!({
            "ack_policy": "explicit", "ack_wait": 30_000_000_000u64, "deliver_policy": "all",
            "durable_name": "defaults", "max_ack_pending": 1000, "max_deliver": -1,
            "max_waiting": 512, "metadata": {"_nats.req.level": "0"}, "name": "defaults",
            "num_replicas": 0, "replay_policy": "instant", "sample_freq": "",
            "priority_policy": "none", "flow_control": false, "headers_only": false
        });
        assert_eq!(
            consumer_spec("ORDERS", &consumer),
            ConsumerSpec {
                stream_name: "ORDERS".into(),
                name: Some("defaults".into()),
                ack_policy: Some(AckPolicy::Explicit),
                ..ConsumerSpec::default()
            }
        );
        let pinned = json!({
            "ack_policy": "explicit", "durable_name": "p", "priority_groups": ["jobs"],
            "priority_policy": "pinned_client", "priority_timeout": 120_000_000_000u64
        });
        assert_eq!(consumer_spec("S", &pinned).priority_timeout, None);
    }

    #[test]
    fn a_consumer_without_acks_exports_ack_policy_none() {
        let live = json!({
            "ack_policy": "none", "deliver_policy": "last", "deliver_subject": "deliver.x",
            "durable_name": "firehose", "max_deliver": -1, "num_replicas": 0,
            "replay_policy": "instant"
        });
        let spec = consumer_spec("ORDERS", &live);
        assert_eq!(spec.ack_policy, Some(AckPolicy::None));
        let yaml = serde_saphyr::to_string(&spec).unwrap();
        assert!(yaml.contains("ackPolicy: none"), "{yaml}");
        // An absent ack policy is the server's "none" as well.
        let mut without = live.clone();
        without.as_object_mut().unwrap().remove("ack_policy");
        assert_eq!(
            consumer_spec("ORDERS", &without).ack_policy,
            Some(AckPolicy::None)
        );
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
            normalise::normalise_stream(&wire::stream_config("ttl", &exported)),
            normalise::normalise_stream(&live)
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
        let limits = json!({"inactive_threshold": 3_600_000_000_000u64, "max_ack_pending": 2000});
        let inherited = json!({
            "ack_policy": "explicit", "durable_name": "c", "max_ack_pending": 2000,
            "inactive_threshold": 3_600_000_000_000u64
        });
        let known = consumer_spec_with_limits("S", &inherited, Some(&limits));
        assert_eq!(known.max_ack_pending, None);
        assert_eq!(known.inactive_threshold, None);
        let unknown = consumer_spec_with_limits("S", &inherited, None);
        assert_eq!(unknown.max_ack_pending, Some(2000));
        assert_eq!(unknown.inactive_threshold, Some(duration("1h")));
        // The server default is not the default under a stream ceiling.
        let below = json!({"ack_policy": "explicit", "durable_name": "c", "max_ack_pending": 1000});
        assert_eq!(
            consumer_spec_with_limits("S", &below, Some(&limits)).max_ack_pending,
            Some(1000)
        );
        assert_eq!(consumer_spec("S", &below).max_ack_pending, None);
    }

    #[test]
    fn a_sourced_bucket_without_the_implied_transform_keeps_its_sources_by_bucket_name() {
        // As async-nats makes it: no subjects, no transforms.
        let live = json!({
            "name": "KV_merged", "sources": [{"name": "KV_config"}, {"name": "KV_other"}],
            "max_msgs_per_subject": 1, "discard": "new", "allow_direct": true
        });
        let spec = kv_spec(&live);
        assert_eq!(
            spec.sources,
            vec![StreamSource::test("config"), StreamSource::test("other")]
        );
        assert_eq!(spec.name, None);
    }

    #[test]
    fn reserved_metadata_keys_are_dropped() {
        let live = json!({
            "name": "S",
            "metadata": {"_nats.ver": "2.15.1", "jetsync.dev/owner": "x", "team": "a"}
        });
        assert_eq!(stream_spec(&live).metadata, metadata(&[("team", "a")]));
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

    fn asset(address: Address, config: Value) -> LiveAsset {
        LiveAsset {
            address,
            config: config.into(),
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
        let yaml = export_documents(&assets, false);
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
        let live = json!({
            "name": "KV_cfg", "subjects": ["$KV.cfg.>"], "max_msgs_per_subject": 5,
            "discard": "new", "allow_direct": false, "mirror_direct": false,
            "deny_delete": true, "allow_rollup_hdrs": true, "allow_msg_ttl": true,
            "duplicate_window": 120_000_000_000u64, "max_age": 0
        });
        let spec = kv_spec(&live);
        assert_eq!(spec.allow_direct, Some(false));
        assert_eq!(spec.allow_msg_ttl, Some(true));
        assert_eq!(spec.mirror_direct, None);
        let made_by_nats_go = kv_spec(&wire::kv_stream_config("cfg", &KeyValueSpec::default()));
        assert_eq!(made_by_nats_go, KeyValueSpec::default());
    }

    #[test]
    fn export_all_marks_every_document_for_adoption() {
        let assets = vec![asset(
            Address::stream("ORDERS"),
            as_live(wire::stream_config("ORDERS", &StreamSpec::default())),
        )];
        let yaml = export_documents(&assets, true);
        assert!(yaml.contains("\n  adopt: true\n"), "{yaml}");
        assert!(!export_documents(&assets, false).contains("adopt"));
    }

    #[test]
    fn export_of_nothing_is_empty() {
        assert_eq!(export_documents::<LiveAsset>(&[], false), "");
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
