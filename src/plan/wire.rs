//! Specs as the JetStream API's JSON configs: exactly the fields the user set
//! (plus what a KV bucket or object store implies), never a field the server
//! might not know, durations in nanoseconds.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::model::AssetKind;
use super::normalise;
use crate::spec::common::{
    Compression, DiscardPolicy, PersistMode, Placement, Republish, RetentionPolicy, StorageType,
    StreamSource, SubjectTransform,
};
use crate::spec::consumer::{AckPolicy, DeliverPolicy, PriorityPolicy, ReplayPolicy};
use crate::spec::units::{Duration, Size};
use crate::spec::{ConsumerSpec, KeyValueSpec, ObjectStoreSpec, StreamSpec};

/// Two minutes: the server's default duplicate window.
pub const DEFAULT_DUPLICATE_WINDOW_NANOS: u64 = 120_000_000_000;

/// A JSON object built field by field, leaving out what is unset.
#[derive(Default)]
struct Config(Map<String, Value>);

impl Config {
    fn set(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.0.insert(key.to_string(), value.into());
        self
    }

    fn opt<T: Into<Value>>(&mut self, key: &str, value: Option<T>) -> &mut Self {
        if let Some(value) = value {
            self.set(key, value);
        }
        self
    }

    fn duration(&mut self, key: &str, value: Option<Duration>) -> &mut Self {
        self.opt(key, value.map(|d| d.as_nanos()))
    }

    fn size(&mut self, key: &str, value: Option<Size>) -> &mut Self {
        self.opt(key, value.map(|s| s.bytes()))
    }

    fn list<T: Into<Value> + Clone>(&mut self, key: &str, values: &[T]) -> &mut Self {
        if !values.is_empty() {
            self.set(
                key,
                values.iter().cloned().map(Into::into).collect::<Vec<_>>(),
            );
        }
        self
    }

    fn metadata(&mut self, metadata: &std::collections::BTreeMap<String, String>) -> &mut Self {
        if !metadata.is_empty() {
            self.set("metadata", json!(metadata));
        }
        self
    }

    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn storage(value: StorageType) -> &'static str {
    match value {
        StorageType::File => "file",
        StorageType::Memory => "memory",
    }
}

fn retention(value: RetentionPolicy) -> &'static str {
    match value {
        RetentionPolicy::Limits => "limits",
        RetentionPolicy::Interest => "interest",
        RetentionPolicy::Workqueue => "workqueue",
    }
}

fn discard(value: DiscardPolicy) -> &'static str {
    match value {
        DiscardPolicy::Old => "old",
        DiscardPolicy::New => "new",
    }
}

fn compression(value: Compression) -> &'static str {
    match value {
        Compression::None => "none",
        Compression::S2 => "s2",
    }
}

fn persist_mode(value: PersistMode) -> &'static str {
    match value {
        PersistMode::Default => "default",
        PersistMode::Async => "async",
    }
}

fn deliver_policy(value: DeliverPolicy) -> &'static str {
    match value {
        DeliverPolicy::All => "all",
        DeliverPolicy::Last => "last",
        DeliverPolicy::New => "new",
        DeliverPolicy::ByStartSequence => "by_start_sequence",
        DeliverPolicy::ByStartTime => "by_start_time",
        DeliverPolicy::LastPerSubject => "last_per_subject",
    }
}

fn ack_policy(value: AckPolicy) -> &'static str {
    match value {
        AckPolicy::None => "none",
        AckPolicy::All => "all",
        AckPolicy::Explicit => "explicit",
        AckPolicy::FlowControl => "flow_control",
    }
}

fn replay_policy(value: ReplayPolicy) -> &'static str {
    match value {
        ReplayPolicy::Instant => "instant",
        ReplayPolicy::Original => "original",
    }
}

fn priority_policy(value: PriorityPolicy) -> &'static str {
    match value {
        PriorityPolicy::None => "none",
        PriorityPolicy::Overflow => "overflow",
        PriorityPolicy::PinnedClient => "pinned_client",
        PriorityPolicy::Prioritized => "prioritized",
    }
}

fn placement(value: &Placement) -> Value {
    let mut config = Config::default();
    config
        .opt("cluster", value.cluster.clone())
        .list("tags", &value.tags);
    config.done()
}

fn transform(value: &SubjectTransform) -> Value {
    json!({ "src": value.source.as_deref().unwrap_or(">"), "dest": value.destination })
}

fn republish(value: &Republish) -> Value {
    let mut config = Config::default();
    config
        .set("src", value.source.as_deref().unwrap_or(">"))
        .set("dest", value.destination.clone())
        .opt("headers_only", value.headers_only);
    config.done()
}

/// A source or mirror; `prefix` maps bucket names to backing stream names.
fn source(value: &StreamSource, prefix: &str) -> Value {
    let mut config = Config::default();
    config
        .set("name", format!("{prefix}{}", value.name))
        .opt("opt_start_seq", value.opt_start_seq)
        .opt("opt_start_time", value.opt_start_time.clone())
        .opt("filter_subject", value.filter_subject.clone());
    if !value.subject_transforms.is_empty() {
        config.set(
            "subject_transforms",
            value
                .subject_transforms
                .iter()
                .map(transform)
                .collect::<Vec<_>>(),
        );
    }
    if let Some(external) = &value.external {
        let mut ext = Config::default();
        ext.set("api", external.api_prefix.clone())
            .opt("deliver", external.deliver_prefix.clone());
        config.set("external", ext.done());
    }
    if let Some(consumer) = &value.consumer {
        let mut con = Config::default();
        con.set("name", consumer.name.clone())
            .opt("deliver_subject", consumer.deliver_subject.clone());
        config.set("consumer", con.done());
    }
    config.done()
}

/// The stream config for a `Stream` spec named `name`.
pub fn stream_config(name: &str, spec: &StreamSpec) -> Value {
    let mut config = Config::default();
    config
        .set("name", name)
        .opt("description", spec.description.clone())
        .list("subjects", &spec.subjects)
        .opt("retention", spec.retention.map(retention))
        .opt("storage", spec.storage.map(storage))
        .opt("num_replicas", spec.replicas)
        .opt("max_consumers", spec.max_consumers)
        .opt("max_msgs", spec.max_msgs)
        .size("max_bytes", spec.max_bytes)
        .opt("max_msgs_per_subject", spec.max_msgs_per_subject)
        .size("max_msg_size", spec.max_msg_size)
        .duration("max_age", spec.max_age)
        .opt("discard", spec.discard.map(discard))
        .opt("discard_new_per_subject", spec.discard_new_per_subject)
        .opt("no_ack", spec.no_ack)
        .duration("duplicate_window", spec.duplicate_window)
        .opt("placement", spec.placement.as_ref().map(placement))
        .opt("mirror", spec.mirror.as_ref().map(|m| source(m, "")))
        .opt("sealed", spec.sealed)
        .opt("deny_delete", spec.deny_delete)
        .opt("deny_purge", spec.deny_purge)
        .opt("allow_rollup_hdrs", spec.allow_rollup_headers)
        .opt("republish", spec.republish.as_ref().map(republish))
        .opt("allow_direct", spec.allow_direct)
        .opt("mirror_direct", spec.mirror_direct)
        .opt("compression", spec.compression.map(compression))
        .opt("first_seq", spec.first_sequence)
        .opt(
            "subject_transform",
            spec.subject_transform.as_ref().map(transform),
        )
        .metadata(&spec.metadata)
        .opt("allow_msg_ttl", spec.allow_msg_ttl)
        .duration("subject_delete_marker_ttl", spec.subject_delete_marker_ttl)
        .opt("allow_msg_counter", spec.allow_msg_counter)
        .opt("allow_atomic", spec.allow_atomic)
        .opt("allow_msg_schedules", spec.allow_msg_schedules)
        .opt("allow_batched", spec.allow_batched)
        .opt("persist_mode", spec.persist_mode.map(persist_mode));
    if !spec.sources.is_empty() {
        config.set(
            "sources",
            spec.sources
                .iter()
                .map(|s| source(s, ""))
                .collect::<Vec<_>>(),
        );
    }
    if let Some(limits) = &spec.consumer_limits {
        let mut nested = Config::default();
        nested
            .duration("inactive_threshold", limits.inactive_threshold)
            .opt("max_ack_pending", limits.max_ack_pending);
        config.set("consumer_limits", nested.done());
    }
    config.done()
}

/// The consumer config for a `Consumer` spec named `name`. The ack policy is
/// always sent: the server reads a missing one as `none`, clients default to
/// `explicit`, and so does jetsync.
pub fn consumer_config(name: &str, spec: &ConsumerSpec) -> Value {
    let mut config = Config::default();
    config
        .set("durable_name", name)
        .set("name", name)
        .opt("description", spec.description.clone())
        .opt("deliver_policy", spec.deliver_policy.map(deliver_policy))
        .opt("opt_start_seq", spec.opt_start_seq)
        .opt("opt_start_time", spec.opt_start_time.clone())
        .set(
            "ack_policy",
            ack_policy(spec.ack_policy.unwrap_or(AckPolicy::Explicit)),
        )
        .duration("ack_wait", spec.ack_wait)
        .opt("max_deliver", spec.max_deliver)
        .opt("filter_subject", spec.filter_subject.clone())
        .list("filter_subjects", &spec.filter_subjects)
        .opt("replay_policy", spec.replay_policy.map(replay_policy))
        .opt("rate_limit_bps", spec.rate_limit_bps)
        .opt("sample_freq", spec.sample_freq.map(|f| format!("{f}%")))
        .opt("max_waiting", spec.max_waiting)
        .opt("max_ack_pending", spec.max_ack_pending)
        .opt("headers_only", spec.headers_only)
        .opt("max_batch", spec.max_batch)
        .duration("max_expires", spec.max_expires)
        .size("max_bytes", spec.max_bytes)
        .duration("inactive_threshold", spec.inactive_threshold)
        .opt("num_replicas", spec.replicas)
        .opt("mem_storage", spec.memory_storage)
        .metadata(&spec.metadata)
        .opt("deliver_subject", spec.deliver_subject.clone())
        .opt("deliver_group", spec.deliver_group.clone())
        .duration("idle_heartbeat", spec.idle_heartbeat)
        .opt("flow_control", spec.flow_control)
        .list("priority_groups", &spec.priority_groups)
        .opt("priority_policy", spec.priority_policy.map(priority_policy))
        .duration("priority_timeout", spec.priority_timeout)
        .opt("pause_until", spec.pause_until.clone());
    if !spec.backoff.is_empty() {
        config.set(
            "backoff",
            spec.backoff
                .iter()
                .map(|d| d.as_nanos())
                .collect::<Vec<_>>(),
        );
    }
    config.done()
}

/// The backing stream (`KV_<bucket>`) of a new key-value bucket, shaped as
/// nats.go and ADR-8 make it: [`kv_declared_config`] with nats.go's choices
/// for what the spec leaves open.
pub fn kv_stream_config(bucket: &str, spec: &KeyValueSpec) -> Value {
    settle(AssetKind::KeyValue, &kv_declared_config(bucket, spec), None).into_owned()
}

/// The backing stream of a key-value bucket as its spec declares it: the
/// client choices it leaves open ([`CLIENT_CHOICES`]) are absent, for
/// [`settle`] to fill from the live bucket or with nats.go's defaults.
pub fn kv_declared_config(bucket: &str, spec: &KeyValueSpec) -> Value {
    let ttl = spec.ttl.map(|d| d.as_nanos()).unwrap_or(0);
    let duplicate_window = if ttl > 0 && ttl < DEFAULT_DUPLICATE_WINDOW_NANOS {
        ttl
    } else {
        DEFAULT_DUPLICATE_WINDOW_NANOS
    };
    let mut config = Config::default();
    config
        .set("name", format!("KV_{bucket}"))
        .opt("description", spec.description.clone())
        .set("retention", "limits")
        .set("max_consumers", -1)
        .set("max_msgs", -1)
        .set("max_msgs_per_subject", spec.history.unwrap_or(1))
        .set(
            "max_bytes",
            spec.max_bytes.map(|s| s.bytes() as i64).unwrap_or(-1),
        )
        .set("max_age", ttl)
        .set(
            "max_msg_size",
            spec.max_value_size.map(|s| s.bytes() as i64).unwrap_or(-1),
        )
        .set(
            "storage",
            storage(spec.storage.unwrap_or(StorageType::File)),
        )
        .set("num_replicas", spec.replicas.unwrap_or(1))
        .set("discard", "new")
        .set("duplicate_window", duplicate_window)
        .set("allow_rollup_hdrs", true)
        .set("deny_delete", true)
        .set("deny_purge", false)
        .opt("allow_direct", spec.allow_direct)
        .opt("placement", spec.placement.as_ref().map(placement))
        .opt("republish", spec.republish.as_ref().map(republish))
        .metadata(&spec.metadata);
    if spec.compression == Some(true) {
        config.set("compression", "s2");
    }
    config.opt("allow_msg_ttl", spec.allow_msg_ttl);
    if let Some(marker_ttl) = spec.limit_marker_ttl {
        config
            .set("allow_msg_ttl", true)
            .set("subject_delete_marker_ttl", marker_ttl.as_nanos());
    }
    config.opt("mirror_direct", spec.mirror_direct);
    match &spec.mirror {
        Some(mirror) => {
            config.set("mirror", source(mirror, "KV_"));
        }
        None => {
            config.set("subjects", vec![format!("$KV.{bucket}.>")]);
        }
    }
    if !spec.sources.is_empty() {
        let sources: Vec<Value> = spec
            .sources
            .iter()
            .map(|origin| {
                let mut value = source(origin, "KV_");
                if origin.subject_transforms.is_empty() && origin.name != bucket {
                    value["subject_transforms"] = json!([{
                        "src": format!("$KV.{}.>", origin.name),
                        "dest": format!("$KV.{bucket}.>"),
                    }]);
                }
                value
            })
            .collect();
        config.set("sources", sources);
    }
    config.done()
}

/// The backing stream (`OBJ_<bucket>`) of an object store, shaped as the
/// client libraries make it.
pub fn object_store_stream_config(bucket: &str, spec: &ObjectStoreSpec) -> Value {
    let mut config = Config::default();
    config
        .set("name", format!("OBJ_{bucket}"))
        .opt("description", spec.description.clone())
        .set(
            "subjects",
            vec![format!("$O.{bucket}.C.>"), format!("$O.{bucket}.M.>")],
        )
        .set("retention", "limits")
        .set("max_age", spec.ttl.map(|d| d.as_nanos()).unwrap_or(0))
        .set(
            "max_bytes",
            spec.max_bytes.map(|s| s.bytes() as i64).unwrap_or(-1),
        )
        .set(
            "storage",
            storage(spec.storage.unwrap_or(StorageType::File)),
        )
        .set("num_replicas", spec.replicas.unwrap_or(1))
        .set("discard", "new")
        .set("allow_rollup_hdrs", true)
        .set("allow_direct", true)
        .opt("placement", spec.placement.as_ref().map(placement))
        .metadata(&spec.metadata);
    if spec.compression == Some(true) {
        config.set("compression", "s2");
    }
    config.done()
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
        let declared = kv_declared_config("cfg", &spec);
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
        let declared = kv_declared_config("cfg", &spec);
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
