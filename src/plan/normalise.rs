//! Bringing a desired config and a live one to one comparable form: the
//! server's defaults filled in, `_nats.*` metadata stripped, subject lists as
//! sets, "unlimited" spelled one way. A freshly applied spec must compare
//! equal to what the server reports back, on every supported version.
//!
//! The rules work on the typed wire model ([`super::wire::model`]); the
//! JSON functions below read a config into it, normalise and write it back.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::model::AssetKind;
use super::wire::DEFAULT_DUPLICATE_WINDOW_NANOS;
use super::wire::model::{
    AckPolicy, AssetConfig, Compression, ConsumerConfig, ConsumerLimits, DeliverPolicy,
    DiscardPolicy, Field, PersistMode, PriorityPolicy, ReplayPolicy, RetentionPolicy, StorageType,
    StreamConfig,
};

/// The idle heartbeat the server gives a consumer with the `flow_control`
/// ack policy: 1s.
pub const FLOW_CONTROL_HEARTBEAT_NANOS: u64 = 1_000_000_000;

/// The ack wait the server gives a consumer that sets none: 30s.
const DEFAULT_ACK_WAIT_NANOS: i64 = 30_000_000_000;

/// The priority timeout the server gives a pinned-client consumer: 2m.
const DEFAULT_PRIORITY_TIMEOUT_NANOS: i64 = 120_000_000_000;

/// Fields the server reports that are not configuration jetsync manages.
const NOT_COMPARED: [&str; 2] = ["template_owner", "pause_until"];

/// Sets an unset field to its default.
fn fill<T>(field: &mut Option<T>, default: impl FnOnce() -> T) {
    if field.is_none() {
        *field = Some(default());
    }
}

/// Limits the server stores as -1 when given 0 or nothing.
fn unlimited_when_zero(field: &mut Option<i64>) {
    if field.unwrap_or(0) == 0 {
        *field = Some(-1);
    }
}

/// Strips the server's `_nats.*` keys (and jetsync's own markers, compared
/// separately) from metadata; no metadata is empty metadata.
fn user_metadata(metadata: &mut Option<super::wire::model::Metadata>) {
    let metadata = metadata.get_or_insert_default();
    metadata.retain(|key, _| !key.starts_with("_nats.") && !key.starts_with("jetsync.dev/"));
}

/// A list of subjects as a set: sorted, each once; no list is an empty one.
fn sorted_strings(values: &mut Option<Vec<String>>) {
    let values = values.get_or_insert_default();
    values.sort();
    values.dedup();
}

/// A nested object with its empty fields unset, itself unset when nothing
/// is left.
fn without_empty<T: Field>(value: &mut Option<T>) {
    if let Some(inner) = value {
        inner.without_empty();
        if inner.is_unset() {
            *value = None;
        }
    }
}

/// A stream config (desired or live) in comparable form.
pub fn normalise_stream_config(config: &mut StreamConfig) {
    config.template_owner = None;
    for key in NOT_COMPARED {
        config.extra.remove(key);
    }
    for field in [
        &mut config.max_consumers,
        &mut config.max_msgs,
        &mut config.max_bytes,
        &mut config.max_msgs_per_subject,
        &mut config.max_msg_size,
    ] {
        unlimited_when_zero(field);
    }
    let mirrors = config.mirror.is_some();
    let is_copy = mirrors || config.sources.as_ref().is_some_and(|s| !s.is_empty());
    let max_age = config.max_age.unwrap_or(0);
    fill(&mut config.duplicate_window, || {
        if mirrors {
            0
        } else if max_age > 0 && (max_age as u64) < DEFAULT_DUPLICATE_WINDOW_NANOS {
            max_age
        } else {
            DEFAULT_DUPLICATE_WINDOW_NANOS as i64
        }
    });
    fill(&mut config.description, String::new);
    fill(&mut config.retention, || RetentionPolicy::Limits);
    fill(&mut config.storage, || StorageType::File);
    fill(&mut config.num_replicas, || 1);
    fill(&mut config.max_age, || 0);
    fill(&mut config.discard, || DiscardPolicy::Old);
    for flag in [
        &mut config.discard_new_per_subject,
        &mut config.no_ack,
        &mut config.sealed,
        &mut config.deny_delete,
        &mut config.deny_purge,
        &mut config.allow_rollup_hdrs,
        &mut config.allow_direct,
        &mut config.mirror_direct,
        &mut config.allow_msg_ttl,
        &mut config.allow_msg_counter,
        &mut config.allow_atomic,
        &mut config.allow_msg_schedules,
        &mut config.allow_batched,
    ] {
        fill(flag, || false);
    }
    fill(&mut config.compression, || Compression::None);
    fill(&mut config.first_seq, || 0);
    fill(&mut config.subject_delete_marker_ttl, || 0);
    fill(&mut config.persist_mode, || PersistMode::Default);
    // Delete markers and scheduled messages need rollups; the server turns
    // them on, and TTLs with markers.
    let markers = config.subject_delete_marker_ttl.unwrap_or(0) > 0;
    if markers {
        config.allow_rollup_hdrs = Some(true);
        config.allow_msg_ttl = Some(true);
    }
    if config.allow_msg_schedules == Some(true) {
        config.allow_rollup_hdrs = Some(true);
    }
    if markers {
        config.deny_purge = Some(false);
    }
    // Sealing locks a stream down: the server sets these with it.
    if config.sealed == Some(true) {
        config.deny_delete = Some(true);
        config.deny_purge = Some(true);
        config.discard = Some(DiscardPolicy::New);
        config.max_age = Some(0);
        config.allow_rollup_hdrs = Some(false);
    }
    if config.subjects.as_ref().is_none_or(Vec::is_empty) && !is_copy {
        config.subjects = Some(config.name.iter().cloned().collect());
    }
    sorted_strings(&mut config.subjects);
    user_metadata(&mut config.metadata);
    without_empty(&mut config.placement);
    without_empty(&mut config.consumer_limits);
    without_empty(&mut config.republish);
    without_empty(&mut config.subject_transform);
    without_empty(&mut config.mirror);
    let sources = config.sources.get_or_insert_default();
    for source in sources.iter_mut() {
        source.without_empty();
    }
    sources.sort_by(|a, b| {
        a.name
            .as_deref()
            .unwrap_or("")
            .cmp(b.name.as_deref().unwrap_or(""))
    });
}

/// A consumer config (desired or live) in comparable form. `stream_limits`
/// is the stream's `consumer_limits`, whose values the server copies into
/// consumers that leave them unset.
pub fn normalise_consumer_config(
    config: &mut ConsumerConfig,
    stream_limits: Option<&ConsumerLimits>,
) {
    config.pause_until = None;
    for key in NOT_COMPARED {
        config.extra.remove(key);
    }
    // Empty means unset, before the server's defaults are filled in too:
    // the server fills `max_waiting: 0` as it fills no `max_waiting`.
    let metadata = config.metadata.take();
    config.drop_unset();
    config.metadata = metadata;
    let ack_none = config.ack_policy == Some(AckPolicy::None);
    let push = config
        .deliver_subject
        .as_ref()
        .is_some_and(|s| !s.is_empty());
    if !ack_none {
        // With a backoff the server waits backoff[0] for the first ack,
        // whatever ack_wait says.
        match config.backoff.as_ref().and_then(|backoff| backoff.first()) {
            Some(&first) => config.ack_wait = Some(first),
            None => fill(&mut config.ack_wait, || DEFAULT_ACK_WAIT_NANOS),
        }
        let limit = stream_limits
            .and_then(|limits| limits.max_ack_pending)
            .filter(|&n| n > 0)
            .unwrap_or(1000);
        fill(&mut config.max_ack_pending, || limit);
    }
    if !push {
        fill(&mut config.max_waiting, || 512);
    }
    // A durable is named after its durable name; nats-server 2.10 stores no
    // name for one made through the older `CONSUMER.DURABLE.CREATE` API
    // (nats-py's `add_consumer`).
    if let Some(durable) = config.durable_name.as_ref().filter(|d| !d.is_empty()) {
        fill(&mut config.name, || durable.clone());
    }
    // The flow_control ack policy (2.14) acknowledges through flow control:
    // the server turns flow control on with 1s heartbeats, whatever is sent.
    if config.ack_policy == Some(AckPolicy::FlowControl) {
        config.flow_control = Some(true);
        config.idle_heartbeat = Some(FLOW_CONTROL_HEARTBEAT_NANOS as i64);
    }
    if let Some(threshold) = stream_limits
        .and_then(|limits| limits.inactive_threshold)
        .filter(|&n| n > 0)
    {
        fill(&mut config.inactive_threshold, || threshold);
    }
    if config.priority_policy == Some(PriorityPolicy::PinnedClient) {
        fill(&mut config.priority_timeout, || {
            DEFAULT_PRIORITY_TIMEOUT_NANOS
        });
    }
    // Clients write the sample frequency as "50" or "50%"; the server keeps
    // the string as given.
    if let Some(frequency) = &mut config.sample_freq {
        let number = frequency.trim_end_matches('%').len();
        frequency.truncate(number);
    }
    if config.max_deliver.unwrap_or(0) == 0 {
        config.max_deliver = Some(-1);
    }
    fill(&mut config.deliver_policy, || DeliverPolicy::All);
    fill(&mut config.ack_policy, || AckPolicy::None);
    fill(&mut config.replay_policy, || ReplayPolicy::Instant);
    fill(&mut config.priority_policy, || PriorityPolicy::None);
    user_metadata(&mut config.metadata);
    sorted_strings(&mut config.filter_subjects);
    sorted_strings(&mut config.priority_groups);
    // Everything else: unset, zero, false and empty all mean "not set".
    let metadata = config.metadata.take();
    config.drop_unset();
    config.metadata = metadata;
}

/// The comparable form of a typed config of `kind`. `stream_limits` is the
/// `consumer_limits` of a consumer's stream.
pub fn comparable_config(
    kind: AssetKind,
    mut config: AssetConfig,
    stream_limits: Option<&ConsumerLimits>,
) -> AssetConfig {
    match &mut config {
        AssetConfig::Stream(stream) => {
            normalise_stream_config(stream);
            if let Some(fields) = compared_fields(kind) {
                stream.retain_fields(fields);
            }
        }
        AssetConfig::Consumer(consumer) => normalise_consumer_config(consumer, stream_limits),
    }
    config
}

/// A JSON config of `kind` in the typed model; None when it holds a value
/// of another type than the server's.
pub fn typed(kind: AssetKind, config: &Value) -> Option<AssetConfig> {
    AssetConfig::read(kind, config).ok()
}

/// A stream config (desired or live) in comparable form.
pub fn normalise_stream(config: &Value) -> Value {
    comparable(AssetKind::Stream, config, None)
}

/// A consumer config (desired or live) in comparable form. `stream_limits`
/// is the stream's `consumer_limits`.
pub fn normalise_consumer(config: &Value, stream_limits: Option<&Value>) -> Value {
    comparable(AssetKind::Consumer, config, stream_limits)
}

/// The comparable form of any asset's JSON config. `stream_limits` is the
/// `consumer_limits` of a consumer's stream. A config the model cannot
/// read (a value of another type than the server's) is compared as it is.
pub fn comparable(kind: AssetKind, config: &Value, stream_limits: Option<&Value>) -> Value {
    let limits = stream_limits.and_then(|limits| ConsumerLimits::deserialize(limits).ok());
    match typed(kind, config) {
        Some(typed) => comparable_config(kind, typed, limits.as_ref()).to_value(),
        None => config.clone(),
    }
}

/// [`comparable`] of a config it may take apart.
pub fn comparable_owned(kind: AssetKind, config: Value, stream_limits: Option<&Value>) -> Value {
    comparable(kind, &config, stream_limits)
}

/// One field that differs between two normalised configs.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDifference {
    /// The JSON field name, e.g. `max_age`.
    pub field: String,
    pub desired: Value,
    pub live: Value,
}

static NULL: Value = Value::Null;

/// The top-level fields whose values differ, sorted by name.
pub fn differences(desired: &Value, live: &Value) -> Vec<FieldDifference> {
    let empty = Map::new();
    let desired = desired.as_object().unwrap_or(&empty);
    let live = live.as_object().unwrap_or(&empty);
    // Both maps iterate in key order: one merge walk, no lookups.
    let mut found = Vec::new();
    let mut differ = |field: &String, d: &Value, l: &Value| {
        if d != l {
            found.push(FieldDifference {
                field: field.clone(),
                desired: d.clone(),
                live: l.clone(),
            });
        }
    };
    let (mut d, mut l) = (desired.iter().peekable(), live.iter().peekable());
    loop {
        match (d.peek(), l.peek()) {
            (Some(&(dk, dv)), Some(&(lk, lv))) => match dk.cmp(lk) {
                std::cmp::Ordering::Less => {
                    differ(dk, dv, &NULL);
                    d.next();
                }
                std::cmp::Ordering::Greater => {
                    differ(lk, &NULL, lv);
                    l.next();
                }
                std::cmp::Ordering::Equal => {
                    differ(dk, dv, lv);
                    d.next();
                    l.next();
                }
            },
            (Some(&(dk, dv)), None) => {
                differ(dk, dv, &NULL);
                d.next();
            }
            (None, Some(&(lk, lv))) => {
                differ(lk, &NULL, lv);
                l.next();
            }
            (None, None) => break,
        }
    }
    found
}

/// KV bucket fields jetsync compares: what a `KeyValue` spec can say. Other
/// backing-stream fields differ between client libraries without changing
/// what the bucket means (discard, duplicate window, …); an update keeps
/// them as they are (see [`super::wire::settle`]).
const KV_FIELDS: [&str; 18] = [
    "name",
    "description",
    "max_msgs_per_subject",
    "max_age",
    "max_msg_size",
    "max_bytes",
    "storage",
    "num_replicas",
    "placement",
    "republish",
    "mirror",
    "sources",
    "compression",
    "subject_delete_marker_ttl",
    "metadata",
    "allow_direct",
    "allow_msg_ttl",
    "mirror_direct",
];

/// Object store fields jetsync compares: what an `ObjectStore` spec can say.
const OBJECT_STORE_FIELDS: [&str; 9] = [
    "name",
    "description",
    "max_age",
    "max_bytes",
    "storage",
    "num_replicas",
    "placement",
    "compression",
    "metadata",
];

/// Whether a stream config mirrors a stream in its own account and domain:
/// a mirror with no `external` API prefix or deliver subject.
fn is_local_mirror(config: &StreamConfig) -> bool {
    config.mirror.as_ref().is_some_and(|mirror| {
        mirror.external.clone().is_none_or(|mut external| {
            external.without_empty();
            external.is_unset()
        })
    })
}

/// The declared config with the choices the server makes by itself taken
/// from the live config where the spec leaves them open, so that they are
/// no difference. nats-server (2.10.26 and 2.15.1 measured) sets
/// `mirror_direct` on a local mirror whose origin has `allow_direct`, at
/// create and at every update, and leaves it as sent on a mirror with an
/// `external` origin: a stream that mirrors locally and does not declare
/// `mirror_direct` takes the live value. A declared `mirror_direct` is
/// compared and sent as written. KV buckets keep their open client choices
/// already (see [`super::wire::settle`]).
pub fn with_server_choices(
    kind: AssetKind,
    declared: &mut AssetConfig,
    live: Option<&AssetConfig>,
) {
    let (AssetConfig::Stream(declared), Some(AssetConfig::Stream(live))) = (declared, live) else {
        return;
    };
    if live.mirror_direct.is_some() && !server_chosen(kind, declared).is_empty() {
        declared.mirror_direct = live.mirror_direct;
    }
}

/// The fields the server may choose by itself for an asset: `mirror_direct`
/// of a stream that mirrors locally.
fn may_choose(kind: AssetKind, config: &StreamConfig) -> &'static [&'static str] {
    if kind == AssetKind::Stream && is_local_mirror(config) {
        &["mirror_direct"]
    } else {
        &[]
    }
}

/// [`may_choose`] of a JSON config.
pub fn server_may_choose(kind: AssetKind, config: &Value) -> &'static [&'static str] {
    match StreamConfig::deserialize(config) {
        Ok(config) if kind == AssetKind::Stream => may_choose(kind, &config),
        _ => &[],
    }
}

/// The fields a declared config leaves for the server to choose (see
/// [`with_server_choices`]).
fn server_chosen(kind: AssetKind, declared: &StreamConfig) -> &'static [&'static str] {
    if declared.mirror_direct.is_none() {
        may_choose(kind, declared)
    } else {
        &[]
    }
}

/// A comparable config with the [`server_may_choose`] fields as a config
/// that leaves them out compares: what jetsync recorded when it created the
/// asset, before the server chose.
pub fn as_left_open(comparable: &Value, chosen: &[&str]) -> Value {
    let mut map = comparable.as_object().cloned().unwrap_or_default();
    for &field in chosen {
        map.insert(field.to_string(), json!(false));
    }
    Value::Object(map)
}

/// The backing-stream fields compared for a KV bucket or object store;
/// `None` for streams and consumers, whose every field is compared.
pub fn compared_fields(kind: AssetKind) -> Option<&'static [&'static str]> {
    match kind {
        AssetKind::KeyValue => Some(&KV_FIELDS),
        AssetKind::ObjectStore => Some(&OBJECT_STORE_FIELDS),
        AssetKind::Stream | AssetKind::Consumer => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_control_consumer_compares_equal_to_what_the_server_made_of_it() {
        let desired = json!({
            "durable_name": "c", "name": "c", "ack_policy": "flow_control",
            "deliver_subject": "out"
        });
        // nats-server 2.15.1's answer to that create.
        let live = json!({
            "durable_name": "c", "name": "c", "ack_policy": "flow_control",
            "deliver_subject": "out", "deliver_policy": "all", "flow_control": true,
            "idle_heartbeat": 1_000_000_000u64, "max_ack_pending": 1000,
            "max_deliver": -1, "num_replicas": 0, "replay_policy": "instant"
        });
        assert!(
            differences(
                &normalise_consumer(&desired, None),
                &normalise_consumer(&live, None)
            )
            .is_empty()
        );
    }

    #[test]
    fn differences_name_every_differing_field_once_in_name_order() {
        // Keys written out of order on both sides; a null and an absent
        // field are the same.
        let desired = json!({"b": 1, "a": 1, "d": 4, "e": null});
        let live = json!({"c": 3, "a": 2, "d": 4, "b": 1});
        let found: Vec<(String, Value, Value)> = differences(&desired, &live)
            .into_iter()
            .map(|d| (d.field, d.desired, d.live))
            .collect();
        assert_eq!(
            found,
            vec![
                ("a".to_string(), json!(1), json!(2)),
                ("c".to_string(), Value::Null, json!(3)),
            ]
        );
        assert!(differences(&live, &live).is_empty());
    }

    /// `declared` with the server's choices taken from `live`, as JSON.
    fn settled(declared: &Value, live: Option<&Value>) -> Value {
        let mut config = typed(AssetKind::Stream, declared).unwrap();
        let live = live.map(|live| typed(AssetKind::Stream, live).unwrap());
        with_server_choices(AssetKind::Stream, &mut config, live.as_ref());
        config.to_value()
    }

    #[test]
    fn a_local_mirror_that_leaves_mirror_direct_open_takes_the_servers_choice() {
        let declared = json!({"name": "M", "mirror": {"name": "O"}});
        // nats-server's answer: the origin has allow_direct.
        let live = json!({"name": "M", "mirror": {"name": "O"}, "mirror_direct": true});
        let taken = settled(&declared, Some(&live));
        assert_eq!(taken["mirror_direct"], json!(true));
        assert!(differences(&normalise_stream(&taken), &normalise_stream(&live)).is_empty());
        // Without the rule the server's choice would show as a change.
        assert!(!differences(&normalise_stream(&declared), &normalise_stream(&live)).is_empty());

        // A declared value is compared as written.
        let declared_off = json!({"name": "M", "mirror": {"name": "O"}, "mirror_direct": false});
        let kept = settled(&declared_off, Some(&live));
        assert_eq!(kept["mirror_direct"], json!(false));
        let found = differences(&normalise_stream(&kept), &normalise_stream(&live));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "mirror_direct");

        // An external origin: the server leaves mirror_direct as sent, so a
        // live true (another client's choice) is a difference.
        let external =
            json!({"name": "M", "mirror": {"name": "O", "external": {"api": "$JS.hub.API"}}});
        let live_external = json!({"name": "M", "mirror": {"name": "O", "external": {"api": "$JS.hub.API"}}, "mirror_direct": true});
        assert!(
            settled(&external, Some(&live_external))
                .get("mirror_direct")
                .is_none()
        );

        // Not a mirror, or nothing live: nothing taken.
        let plain = json!({"name": "S", "subjects": ["s"]});
        let plain_live = json!({"name": "S", "subjects": ["s"], "mirror_direct": true});
        assert!(
            settled(&plain, Some(&plain_live))
                .get("mirror_direct")
                .is_none()
        );
        assert!(settled(&declared, None).get("mirror_direct").is_none());
    }

    /// Configs as each supported server reports them, then changed at
    /// random, field by field (seeded: the same cases every run).
    fn varied_configs() -> Vec<(AssetKind, Value)> {
        let recorded = [
            (
                AssetKind::Stream,
                include_str!("../../tests/fixtures/live/2.15.1/stream-ORDERS.json"),
            ),
            (
                AssetKind::Stream,
                include_str!("../../tests/fixtures/live/2.10.26/stream-EVENTS.json"),
            ),
            (
                AssetKind::KeyValue,
                include_str!("../../tests/fixtures/live/2.15.1/kv-config.json"),
            ),
            (
                AssetKind::ObjectStore,
                include_str!("../../tests/fixtures/live/2.15.1/objectstore-assets.json"),
            ),
            (
                AssetKind::Consumer,
                include_str!("../../tests/fixtures/live/2.15.1/consumer-ORDERS-worker.json"),
            ),
            (
                AssetKind::Consumer,
                include_str!("../../tests/fixtures/live/2.10.26/consumer-EVENTS-audit.json"),
            ),
        ];
        let values = [
            json!(0),
            json!(-1),
            json!(5),
            json!(90_000_000_000u64),
            json!(""),
            json!("x"),
            json!("none"),
            json!("flow_control"),
            json!("pinned_client"),
            json!("50%"),
            json!(true),
            json!(false),
            json!([]),
            json!(["b", "a", "a"]),
            json!([2_000_000_000u64]),
            json!({}),
            json!({"name": "O"}),
            json!({"name": "O", "external": {"api": ""}}),
            json!({"cluster": "", "tags": []}),
            json!({"max_ack_pending": 7}),
            json!([{"name": "B"}, {"name": "A", "filter_subject": ""}]),
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut configs = Vec::new();
        for _ in 0..40_000 {
            let (kind, text) = recorded[(next() % recorded.len() as u64) as usize];
            let mut config: Value = serde_json::from_str(text).unwrap();
            let config = config.get_mut("config").map(Value::take).unwrap_or(config);
            let mut config = config;
            let fields: Vec<String> = config.as_object().unwrap().keys().cloned().collect();
            for _ in 0..(1 + next() % 4) {
                let field = &fields[(next() % fields.len() as u64) as usize];
                config[field.as_str()] = values[(next() % values.len() as u64) as usize].clone();
            }
            if typed(kind, &config).is_some() {
                configs.push((kind, config));
            }
        }
        configs
    }

    #[test]
    fn a_zero_the_server_fills_compares_equal_to_the_servers_default() {
        // nats-server fills max_waiting 0 of a pull consumer and ack_wait 0
        // as it fills them absent (512, 30s).
        let declared =
            json!({"durable_name": "c", "ack_policy": "explicit", "max_waiting": 0, "ack_wait": 0});
        let live = json!({
            "durable_name": "c", "name": "c", "ack_policy": "explicit", "deliver_policy": "all",
            "max_waiting": 512, "ack_wait": 30_000_000_000u64, "max_ack_pending": 1000,
            "max_deliver": -1, "replay_policy": "instant"
        });
        assert!(
            differences(
                &normalise_consumer(&declared, None),
                &normalise_consumer(&live, None)
            )
            .is_empty()
        );
    }

    #[test]
    fn normalising_a_normalised_config_changes_nothing() {
        let limits = json!({"max_ack_pending": 7, "inactive_threshold": 9});
        let configs = varied_configs();
        assert!(configs.len() > 1_500, "{} readable configs", configs.len());
        for (kind, config) in configs {
            for limits in [None, Some(&limits)] {
                let once = comparable(kind, &config, limits);
                assert_eq!(comparable(kind, &once, limits), once, "{kind:?} {config}");
            }
        }
    }
}
