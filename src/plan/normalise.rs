//! Bringing a desired config and a live one to one comparable form: the
//! server's defaults filled in, `_nats.*` metadata stripped, subject lists as
//! sets, "unlimited" spelled one way. A freshly applied spec must compare
//! equal to what the server reports back, on every supported version.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::model::AssetKind;
use super::wire::DEFAULT_DUPLICATE_WINDOW_NANOS;

/// Limits the server stores as -1 when given 0 or nothing.
const UNLIMITED_WHEN_ZERO: [&str; 5] = [
    "max_consumers",
    "max_msgs",
    "max_bytes",
    "max_msgs_per_subject",
    "max_msg_size",
];

/// The idle heartbeat the server gives a consumer with the `flow_control`
/// ack policy: 1s.
pub const FLOW_CONTROL_HEARTBEAT_NANOS: u64 = 1_000_000_000;

/// Fields the server reports that are not configuration jetsync manages.
const NOT_COMPARED: [&str; 2] = ["template_owner", "pause_until"];

fn object(config: &Value) -> Map<String, Value> {
    config.as_object().cloned().unwrap_or_default()
}

/// The config's map, taken rather than copied.
fn into_object(config: Value) -> Map<String, Value> {
    match config {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn fill(map: &mut Map<String, Value>, key: &str, default: Value) {
    fill_with(map, key, || default);
}

/// A field and how to make its default.
type FieldDefault = (&'static str, fn() -> Value);

/// [`fill`] with a default made only when it is needed.
fn fill_with(map: &mut Map<String, Value>, key: &str, default: impl FnOnce() -> Value) {
    match map.get_mut(key) {
        Some(value) if !value.is_null() => {}
        Some(value) => *value = default(),
        None => {
            map.insert(key.to_string(), default());
        }
    }
}

fn integer(map: &Map<String, Value>, key: &str) -> i64 {
    map.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// Strips the server's `_nats.*` keys (and jetsync's own markers, compared
/// separately) from metadata.
fn user_metadata(map: &mut Map<String, Value>) {
    let user = |key: &String, _: &mut Value| {
        !key.starts_with("_nats.") && !key.starts_with("jetsync.dev/")
    };
    match map.get_mut("metadata") {
        Some(Value::Object(metadata)) => metadata.retain(user),
        _ => {
            map.insert("metadata".into(), Value::Object(Map::new()));
        }
    }
}

fn sorted_strings(map: &mut Map<String, Value>, key: &str) {
    let mut values: Vec<String> = map
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    values.sort();
    values.dedup();
    map.insert(key.into(), json!(values));
}

/// Drops keys whose value is empty (`""`, `[]`, `{}`, `null`, `false`, `0`)
/// from a nested object, so that "unset" has one spelling.
fn without_empty(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !is_empty(v))
                .map(|(k, v)| (k.clone(), without_empty(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_empty).collect()),
        other => other.clone(),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
    }
}

/// A stream config (desired or live) in comparable form.
pub fn normalise_stream(config: &Value) -> Value {
    normalise_stream_owned(config.clone())
}

/// [`normalise_stream`] of a config it may take apart.
fn normalise_stream_owned(config: Value) -> Value {
    let mut map = into_object(config);
    for key in NOT_COMPARED {
        map.remove(key);
    }
    for key in UNLIMITED_WHEN_ZERO {
        if integer(&map, key) == 0 {
            map.insert(key.into(), json!(-1));
        }
    }
    let is_copy = map.get("mirror").is_some_and(|m| !m.is_null())
        || map
            .get("sources")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty());
    let max_age = integer(&map, "max_age");
    let duplicate_window = if map.get("mirror").is_some_and(|m| !m.is_null()) {
        0
    } else if max_age > 0 && (max_age as u64) < DEFAULT_DUPLICATE_WINDOW_NANOS {
        max_age
    } else {
        DEFAULT_DUPLICATE_WINDOW_NANOS as i64
    };
    fill(&mut map, "duplicate_window", json!(duplicate_window));
    let defaults: [FieldDefault; 23] = [
        ("description", || json!("")),
        ("retention", || json!("limits")),
        ("storage", || json!("file")),
        ("num_replicas", || json!(1)),
        ("max_age", || json!(0)),
        ("discard", || json!("old")),
        ("discard_new_per_subject", || json!(false)),
        ("no_ack", || json!(false)),
        ("sealed", || json!(false)),
        ("deny_delete", || json!(false)),
        ("deny_purge", || json!(false)),
        ("allow_rollup_hdrs", || json!(false)),
        ("allow_direct", || json!(false)),
        ("mirror_direct", || json!(false)),
        ("compression", || json!("none")),
        ("first_seq", || json!(0)),
        ("allow_msg_ttl", || json!(false)),
        ("subject_delete_marker_ttl", || json!(0)),
        ("allow_msg_counter", || json!(false)),
        ("allow_atomic", || json!(false)),
        ("allow_msg_schedules", || json!(false)),
        ("allow_batched", || json!(false)),
        ("persist_mode", || json!("default")),
    ];
    for (key, default) in defaults {
        fill_with(&mut map, key, default);
    }
    // Delete markers and scheduled messages need rollups; the server turns
    // them on, and TTLs with markers.
    if integer(&map, "subject_delete_marker_ttl") > 0 {
        map.insert("allow_rollup_hdrs".into(), json!(true));
        map.insert("allow_msg_ttl".into(), json!(true));
    }
    if map.get("allow_msg_schedules") == Some(&json!(true)) {
        map.insert("allow_rollup_hdrs".into(), json!(true));
    }
    if integer(&map, "subject_delete_marker_ttl") > 0 {
        map.insert("deny_purge".into(), json!(false));
    }
    // Sealing locks a stream down: the server sets these with it.
    if map.get("sealed") == Some(&json!(true)) {
        map.insert("deny_delete".into(), json!(true));
        map.insert("deny_purge".into(), json!(true));
        map.insert("discard".into(), json!("new"));
        map.insert("max_age".into(), json!(0));
        map.insert("allow_rollup_hdrs".into(), json!(false));
    }
    let subjects_empty = map
        .get("subjects")
        .and_then(Value::as_array)
        .is_none_or(|s| s.is_empty());
    if subjects_empty && !is_copy {
        let name = map.get("name").cloned().unwrap_or(Value::Null);
        map.insert("subjects".into(), json!([name]));
    }
    sorted_strings(&mut map, "subjects");
    user_metadata(&mut map);
    for key in [
        "placement",
        "consumer_limits",
        "republish",
        "subject_transform",
        "mirror",
    ] {
        let value = map.get(key).map(without_empty).unwrap_or(Value::Null);
        if is_empty(&value) {
            map.remove(key);
        } else {
            map.insert(key.into(), value);
        }
    }
    let mut sources: Vec<Value> = map
        .get("sources")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(without_empty).collect())
        .unwrap_or_default();
    sources.sort_by_key(|source| source["name"].as_str().unwrap_or_default().to_string());
    map.insert("sources".into(), json!(sources));
    Value::Object(map)
}

/// A consumer config (desired or live) in comparable form. `stream_limits`
/// is the stream's `consumer_limits`, whose values the server copies into
/// consumers that leave them unset.
pub fn normalise_consumer(config: &Value, stream_limits: Option<&Value>) -> Value {
    normalise_consumer_owned(config.clone(), stream_limits)
}

/// [`normalise_consumer`] of a config it may take apart.
fn normalise_consumer_owned(config: Value, stream_limits: Option<&Value>) -> Value {
    let mut map = into_object(config);
    for key in NOT_COMPARED {
        map.remove(key);
    }
    let ack_none = map.get("ack_policy").and_then(Value::as_str) == Some("none");
    let push = map
        .get("deliver_subject")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    let first_backoff = map
        .get("backoff")
        .and_then(Value::as_array)
        .and_then(|b| b.first())
        .cloned();
    if !ack_none {
        // With a backoff the server waits backoff[0] for the first ack,
        // whatever ack_wait says.
        match first_backoff {
            Some(first) => {
                map.insert("ack_wait".into(), first);
            }
            None => fill(&mut map, "ack_wait", json!(30_000_000_000u64)),
        }
        let limit = stream_limits
            .and_then(|limits| limits.get("max_ack_pending"))
            .filter(|v| v.as_i64().is_some_and(|n| n > 0))
            .cloned()
            .unwrap_or(json!(1000));
        fill(&mut map, "max_ack_pending", limit);
    }
    if !push {
        fill(&mut map, "max_waiting", json!(512));
    }
    // A durable is named after its durable name; nats-server 2.10 stores no
    // name for one made through the older `CONSUMER.DURABLE.CREATE` API
    // (nats-py's `add_consumer`).
    if let Some(durable) = map.get("durable_name").filter(|d| !is_empty(d)).cloned() {
        fill(&mut map, "name", durable);
    }
    // The flow_control ack policy (2.14) acknowledges through flow control:
    // the server turns flow control on with 1s heartbeats, whatever is sent.
    if map.get("ack_policy").and_then(Value::as_str) == Some("flow_control") {
        map.insert("flow_control".into(), json!(true));
        map.insert("idle_heartbeat".into(), json!(FLOW_CONTROL_HEARTBEAT_NANOS));
    }
    if let Some(threshold) = stream_limits
        .and_then(|limits| limits.get("inactive_threshold"))
        .filter(|v| v.as_i64().is_some_and(|n| n > 0))
    {
        fill(&mut map, "inactive_threshold", threshold.clone());
    }
    if map.get("priority_policy").and_then(Value::as_str) == Some("pinned_client") {
        fill(&mut map, "priority_timeout", json!(120_000_000_000u64));
    }
    // Clients write the sample frequency as "50" or "50%"; the server keeps
    // the string as given.
    if let Some(Value::String(frequency)) = map.get("sample_freq") {
        let number = frequency.trim_end_matches('%').to_string();
        map.insert("sample_freq".into(), json!(number));
    }
    if integer(&map, "max_deliver") == 0 {
        map.insert("max_deliver".into(), json!(-1));
    }
    let defaults: [FieldDefault; 4] = [
        ("deliver_policy", || json!("all")),
        ("ack_policy", || json!("none")),
        ("replay_policy", || json!("instant")),
        ("priority_policy", || json!("none")),
    ];
    for (key, default) in defaults {
        fill_with(&mut map, key, default);
    }
    user_metadata(&mut map);
    for key in ["filter_subjects", "priority_groups"] {
        sorted_strings(&mut map, key);
    }
    // Everything else: unset, zero, false and empty all mean "not set".
    map.retain(|key, value| key == "metadata" || !is_empty(value));
    Value::Object(map)
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

/// The comparable form of any asset's config. `stream_limits` is the
/// `consumer_limits` of a consumer's stream.
pub fn comparable(kind: AssetKind, config: &Value, stream_limits: Option<&Value>) -> Value {
    comparable_owned(kind, config.clone(), stream_limits)
}

/// [`comparable`] of a config it may take apart (no copy of it is made).
pub fn comparable_owned(kind: AssetKind, config: Value, stream_limits: Option<&Value>) -> Value {
    match kind {
        AssetKind::Stream => normalise_stream_owned(config),
        AssetKind::KeyValue => only(normalise_stream_owned(config), &KV_FIELDS),
        AssetKind::ObjectStore => only(normalise_stream_owned(config), &OBJECT_STORE_FIELDS),
        AssetKind::Consumer => normalise_consumer_owned(config, stream_limits),
    }
}

/// Whether a stream config mirrors a stream in its own account and domain:
/// a mirror with no `external` API prefix or deliver subject.
fn is_local_mirror(config: &Value) -> bool {
    config
        .get("mirror")
        .filter(|mirror| mirror.is_object())
        .is_some_and(|mirror| {
            mirror
                .get("external")
                .is_none_or(|e| is_empty(&without_empty(e)))
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
pub fn with_server_choices<'a>(
    kind: AssetKind,
    declared: Cow<'a, Value>,
    live: Option<&Value>,
) -> Cow<'a, Value> {
    let Some(live_direct) = live.and_then(|live| live.get("mirror_direct")) else {
        return declared;
    };
    if server_chosen(kind, &declared).is_empty() {
        return declared;
    }
    let mut config = declared.into_owned();
    if let Some(map) = config.as_object_mut() {
        map.insert("mirror_direct".into(), live_direct.clone());
    }
    Cow::Owned(config)
}

/// The fields the server may choose by itself for an asset: `mirror_direct`
/// of a stream that mirrors locally.
pub fn server_may_choose(kind: AssetKind, config: &Value) -> &'static [&'static str] {
    if kind == AssetKind::Stream && is_local_mirror(config) {
        &["mirror_direct"]
    } else {
        &[]
    }
}

/// The fields a declared config leaves for the server to choose (see
/// [`with_server_choices`]).
pub fn server_chosen(kind: AssetKind, declared: &Value) -> &'static [&'static str] {
    let open = declared.get("mirror_direct").is_none_or(Value::is_null);
    if open {
        server_may_choose(kind, declared)
    } else {
        &[]
    }
}

/// A comparable config with the [`server_may_choose`] fields as a config
/// that leaves them out compares: what jetsync recorded when it created the
/// asset, before the server chose.
pub fn as_left_open(comparable: &Value, chosen: &[&str]) -> Value {
    let mut map = object(comparable);
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

fn only(config: Value, fields: &[&str]) -> Value {
    let mut map = into_object(config);
    map.retain(|key, _| fields.contains(&key.as_str()));
    Value::Object(map)
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

    #[test]
    fn a_local_mirror_that_leaves_mirror_direct_open_takes_the_servers_choice() {
        let declared = json!({"name": "M", "mirror": {"name": "O"}});
        // nats-server's answer: the origin has allow_direct.
        let live = json!({"name": "M", "mirror": {"name": "O"}, "mirror_direct": true});
        let settled = with_server_choices(AssetKind::Stream, Cow::Borrowed(&declared), Some(&live));
        assert_eq!(settled["mirror_direct"], json!(true));
        assert!(differences(&normalise_stream(&settled), &normalise_stream(&live)).is_empty());
        // Without the rule the server's choice would show as a change.
        assert!(!differences(&normalise_stream(&declared), &normalise_stream(&live)).is_empty());

        // A declared value is compared as written.
        let declared_off = json!({"name": "M", "mirror": {"name": "O"}, "mirror_direct": false});
        let kept =
            with_server_choices(AssetKind::Stream, Cow::Borrowed(&declared_off), Some(&live));
        assert_eq!(kept["mirror_direct"], json!(false));
        let found = differences(&normalise_stream(&kept), &normalise_stream(&live));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "mirror_direct");

        // An external origin: the server leaves mirror_direct as sent, so a
        // live true (another client's choice) is a difference.
        let external =
            json!({"name": "M", "mirror": {"name": "O", "external": {"api": "$JS.hub.API"}}});
        let live_external = json!({"name": "M", "mirror": {"name": "O", "external": {"api": "$JS.hub.API"}}, "mirror_direct": true});
        let untouched = with_server_choices(
            AssetKind::Stream,
            Cow::Borrowed(&external),
            Some(&live_external),
        );
        assert!(untouched.get("mirror_direct").is_none());

        // Not a mirror, or nothing live: nothing taken.
        let plain = json!({"name": "S", "subjects": ["s"]});
        let plain_live = json!({"name": "S", "subjects": ["s"], "mirror_direct": true});
        let untouched =
            with_server_choices(AssetKind::Stream, Cow::Borrowed(&plain), Some(&plain_live));
        assert!(untouched.get("mirror_direct").is_none());
        assert!(
            with_server_choices(AssetKind::Stream, Cow::Borrowed(&declared), None)
                .get("mirror_direct")
                .is_none()
        );
    }
}
