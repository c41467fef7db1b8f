//! Stream and consumer configs as the JetStream API spells them, as typed
//! serde values: every field nats-server 2.10 to 2.15 report, the server's
//! enum spellings as enums, and what a newer server adds kept as it came
//! (`extra`, and an enum's `Other`). jetsync builds the configs it sends
//! with these types ([`super`]), normalises and compares them
//! ([`crate::plan::normalise`]), and reads live ones back into specs
//! ([`crate::plan::export`]). Live configs are held as their JSON text
//! ([`crate::plan::model::LiveConfig`]) and read into these types when they
//! are compared. A `null` reads as the field's absence.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// `enum $name { $variant => "$spelling", … }`: an enum of the server's
/// spellings, with `Other` holding one this version does not know (so a
/// newer server's value is compared and shown as sent, not refused).
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $spelling:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $($variant,)+
            /// A spelling this version of jetsync does not know, as sent.
            Other(String),
        }

        impl $name {
            /// The variant as the server spells it.
            pub fn spelling(&self) -> &str {
                match self {
                    $(Self::$variant => $spelling,)+
                    Self::Other(text) => text,
                }
            }

            /// The variant the server spells `text`.
            pub fn from_spelling(text: &str) -> Self {
                match text {
                    $($spelling => Self::$variant,)+
                    other => Self::Other(other.to_string()),
                }
            }
        }

        impl Field for $name {
            fn is_unset(&self) -> bool {
                self.spelling().is_empty()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.spelling())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(Spelled(Self::from_spelling, PhantomData))
            }
        }
    };
}

/// An object's key, borrowed from the input where it can be.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;

        impl<'de> Visitor<'de> for Text {
            type Value = Key<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a field name")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(text.to_string())))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(text)))
            }
        }

        deserializer.deserialize_str(Text)
    }
}

/// Reads a string through `from_spelling` without copying it first.
struct Spelled<T>(fn(&str) -> T, PhantomData<T>);

impl<T> Visitor<'_> for Spelled<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        Ok((self.0)(text))
    }
}

wire_enum! {
    /// A stream's `storage`.
    StorageType { File => "file", Memory => "memory" }
}

wire_enum! {
    /// A stream's `retention`.
    RetentionPolicy { Limits => "limits", Interest => "interest", Workqueue => "workqueue" }
}

wire_enum! {
    /// A stream's `discard`.
    DiscardPolicy { Old => "old", New => "new" }
}

wire_enum! {
    /// A stream's `compression`.
    Compression { None => "none", S2 => "s2" }
}

wire_enum! {
    /// A stream's `persist_mode` (2.12).
    PersistMode { Default => "default", Async => "async" }
}

wire_enum! {
    /// A consumer's `deliver_policy`.
    DeliverPolicy {
        All => "all",
        Last => "last",
        New => "new",
        ByStartSequence => "by_start_sequence",
        ByStartTime => "by_start_time",
        LastPerSubject => "last_per_subject",
    }
}

wire_enum! {
    /// A consumer's `ack_policy` (`flow_control` since 2.14).
    AckPolicy { None => "none", All => "all", Explicit => "explicit", FlowControl => "flow_control" }
}

wire_enum! {
    /// A consumer's `replay_policy`.
    ReplayPolicy { Instant => "instant", Original => "original" }
}

wire_enum! {
    /// A consumer's `priority_policy` (2.11).
    PriorityPolicy {
        None => "none",
        Overflow => "overflow",
        PinnedClient => "pinned_client",
        Prioritized => "prioritized",
    }
}

/// Declares a struct of optional fields, each left out when unset, with
/// `extra` holding the fields it does not list.
macro_rules! wire_struct {
    ($(#[$doc:meta])* $name:ident { $($(#[$field_doc:meta])* $field:ident: $type:ty,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize)]
        pub struct $name {
            $(
                $(#[$field_doc])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$type>,
            )+
            /// Fields not listed above (a newer server's), as sent.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }

        impl $name {
            /// The JSON names of the listed fields.
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($field)),+];

            /// Unsets every field but those named in `keep`.
            pub fn retain_fields(&mut self, keep: &[&str]) {
                $(
                    if !keep.contains(&stringify!($field)) {
                        self.$field = None;
                    }
                )+
                self.extra.retain(|field, _| keep.contains(&field.as_str()));
            }

            /// Unsets every field whose value is empty ([`Field::is_unset`]),
            /// without looking inside the others.
            pub fn drop_unset(&mut self) {
                $(
                    if self.$field.as_ref().is_some_and(Field::is_unset) {
                        self.$field = None;
                    }
                )+
                self.extra.retain(|_, value| !value_is_unset(value));
            }
        }

        // Written out rather than derived: serde's `flatten` would buffer
        // every field before reading it.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Fields;

                impl<'de> Visitor<'de> for Fields {
                    type Value = $name;

                    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                        formatter.write_str(concat!("a ", stringify!($name), " object"))
                    }

                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        let mut config = $name::default();
                        while let Some(Key(key)) = map.next_key()? {
                            match &*key {
                                $(stringify!($field) => config.$field = map.next_value()?,)+
                                _ => {
                                    config.extra.insert(key.into_owned(), map.next_value()?);
                                }
                            }
                        }
                        Ok(config)
                    }
                }

                deserializer.deserialize_map(Fields)
            }
        }

        impl Field for $name {
            fn is_unset(&self) -> bool {
                $(self.$field.is_none() &&)+ self.extra.is_empty()
            }

            fn without_empty(&mut self) {
                $(
                    if let Some(value) = &mut self.$field {
                        value.without_empty();
                    }
                )+
                for value in self.extra.values_mut() {
                    value_without_empty(value);
                }
                self.drop_unset();
            }
        }
    };
}

/// A config value's idea of "not set": nats-server omits empty fields
/// (Go's `omitempty`), so `""`, `0`, `false`, `[]` and `{}` all mean unset.
pub trait Field {
    /// True for an empty value.
    fn is_unset(&self) -> bool;

    /// Unsets the empty fields of a nested object, at every depth, deepest
    /// first: an object left with nothing but empty fields is empty too.
    fn without_empty(&mut self) {}
}

impl Field for String {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

impl Field for bool {
    fn is_unset(&self) -> bool {
        !*self
    }
}

impl Field for i64 {
    fn is_unset(&self) -> bool {
        *self == 0
    }
}

impl Field for u64 {
    fn is_unset(&self) -> bool {
        *self == 0
    }
}

impl Field for Metadata {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

impl<T: Field> Field for Vec<T> {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }

    fn without_empty(&mut self) {
        for item in self {
            item.without_empty();
        }
    }
}

/// [`Field::is_unset`] of a JSON value.
pub fn value_is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
    }
}

/// [`Field::without_empty`] of a JSON value.
pub fn value_without_empty(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                value_without_empty(v);
            }
            map.retain(|_, v| !value_is_unset(v));
        }
        Value::Array(items) => items.iter_mut().for_each(value_without_empty),
        _ => {}
    }
}

wire_struct! {
    /// A stream's `placement`.
    Placement {
        cluster: String,
        tags: Vec<String>,
    }
}

wire_struct! {
    /// A subject transform (`src` → `dest`), of a stream or of one of its sources.
    SubjectTransform {
        src: String,
        dest: String,
    }
}

wire_struct! {
    /// A stream's `republish`.
    Republish {
        src: String,
        dest: String,
        headers_only: bool,
    }
}

wire_struct! {
    /// The `consumer_limits` a stream gives its consumers.
    ConsumerLimits {
        inactive_threshold: i64,
        max_ack_pending: i64,
    }
}

wire_struct! {
    /// The `external` API of a source or mirror in another account or domain.
    External {
        api: String,
        deliver: String,
    }
}

wire_struct! {
    /// The consumer a source or mirror reads through (2.12).
    SourceConsumer {
        name: String,
        deliver_subject: String,
    }
}

wire_struct! {
    /// A stream's `mirror` or one of its `sources`.
    StreamSource {
        name: String,
        opt_start_seq: u64,
        opt_start_time: String,
        filter_subject: String,
        subject_transforms: Vec<SubjectTransform>,
        external: External,
        consumer: SourceConsumer,
    }
}

/// Metadata: user keys, the server's `_nats.*` keys and jetsync's markers.
pub type Metadata = BTreeMap<String, String>;

wire_struct! {
    /// A stream config as `STREAM.CREATE` takes it and `STREAM.INFO` and
    /// `STREAM.LIST` report it.
    StreamConfig {
        name: String,
        description: String,
        subjects: Vec<String>,
        retention: RetentionPolicy,
        max_consumers: i64,
        max_msgs: i64,
        max_bytes: i64,
        max_age: i64,
        max_msgs_per_subject: i64,
        max_msg_size: i64,
        discard: DiscardPolicy,
        storage: StorageType,
        num_replicas: i64,
        duplicate_window: i64,
        compression: Compression,
        allow_direct: bool,
        mirror_direct: bool,
        sealed: bool,
        deny_delete: bool,
        deny_purge: bool,
        allow_rollup_hdrs: bool,
        discard_new_per_subject: bool,
        no_ack: bool,
        first_seq: u64,
        allow_msg_ttl: bool,
        subject_delete_marker_ttl: i64,
        allow_msg_counter: bool,
        allow_atomic: bool,
        allow_msg_schedules: bool,
        allow_batched: bool,
        persist_mode: PersistMode,
        placement: Placement,
        consumer_limits: ConsumerLimits,
        republish: Republish,
        subject_transform: SubjectTransform,
        mirror: StreamSource,
        sources: Vec<StreamSource>,
        metadata: Metadata,
        /// Reported, never configured: not compared.
        template_owner: String,
    }
}

wire_struct! {
    /// A consumer config as `CONSUMER.CREATE` takes it and `CONSUMER.INFO`
    /// and `CONSUMER.LIST` report it.
    ConsumerConfig {
        name: String,
        durable_name: String,
        description: String,
        deliver_policy: DeliverPolicy,
        opt_start_seq: u64,
        opt_start_time: String,
        ack_policy: AckPolicy,
        ack_wait: i64,
        max_deliver: i64,
        backoff: Vec<i64>,
        filter_subject: String,
        filter_subjects: Vec<String>,
        replay_policy: ReplayPolicy,
        rate_limit_bps: u64,
        /// Written `"50"` or `"50%"` by clients; kept as given.
        sample_freq: String,
        max_waiting: i64,
        max_ack_pending: i64,
        flow_control: bool,
        idle_heartbeat: i64,
        headers_only: bool,
        max_batch: i64,
        max_expires: i64,
        max_bytes: i64,
        inactive_threshold: i64,
        num_replicas: i64,
        mem_storage: bool,
        deliver_subject: String,
        deliver_group: String,
        /// Changed through the PAUSE API, compared apart.
        pause_until: String,
        priority_groups: Vec<String>,
        priority_policy: PriorityPolicy,
        priority_timeout: i64,
        metadata: Metadata,
    }
}

/// The config of any asset: a KV bucket's and an object store's is their
/// backing stream's. Boxed: a config is large, and lists of assets are
/// sorted and moved.
#[derive(Clone, Debug, PartialEq)]
pub enum AssetConfig {
    Stream(Box<StreamConfig>),
    Consumer(Box<ConsumerConfig>),
}

impl AssetConfig {
    /// The config of an asset of `kind` (a KV bucket's and an object
    /// store's is a stream config), read from `deserializer`.
    pub fn read<'de, D: Deserializer<'de>>(
        kind: crate::plan::model::AssetKind,
        deserializer: D,
    ) -> Result<Self, D::Error> {
        match kind {
            crate::plan::model::AssetKind::Consumer => {
                ConsumerConfig::deserialize(deserializer).map(Self::consumer)
            }
            _ => StreamConfig::deserialize(deserializer).map(Self::stream),
        }
    }

    /// A stream's config.
    pub fn stream(config: StreamConfig) -> Self {
        AssetConfig::Stream(Box::new(config))
    }

    /// A consumer's config.
    pub fn consumer(config: ConsumerConfig) -> Self {
        AssetConfig::Consumer(Box::new(config))
    }

    /// The config as JSON, in the server's spelling.
    pub fn to_value(&self) -> Value {
        match self {
            AssetConfig::Stream(config) => to_value(&**config),
            AssetConfig::Consumer(config) => to_value(&**config),
        }
    }

    /// Its metadata, if it has any.
    pub fn metadata(&self) -> Option<&Metadata> {
        match self {
            AssetConfig::Stream(config) => config.metadata.as_ref(),
            AssetConfig::Consumer(config) => config.metadata.as_ref(),
        }
    }
}

/// A config as JSON. These types hold only strings, integers, booleans and
/// JSON values, which always serialize.
pub fn to_value(config: &impl Serialize) -> Value {
    serde_json::to_value(config).expect("a wire config serializes to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDED_STREAMS: [&str; 4] = [
        include_str!("../../../tests/fixtures/live/2.10.26/stream-ORDERS.json"),
        include_str!("../../../tests/fixtures/live/2.10.26/stream-EVENTS.json"),
        include_str!("../../../tests/fixtures/live/2.15.1/stream-ORDERS.json"),
        include_str!("../../../tests/fixtures/live/2.15.1/stream-EVENTS.json"),
    ];

    const RECORDED_CONSUMERS: [&str; 4] = [
        include_str!("../../../tests/fixtures/live/2.10.26/consumer-ORDERS-worker.json"),
        include_str!("../../../tests/fixtures/live/2.10.26/consumer-EVENTS-audit.json"),
        include_str!("../../../tests/fixtures/live/2.15.1/consumer-ORDERS-worker.json"),
        include_str!("../../../tests/fixtures/live/2.15.1/consumer-EVENTS-audit.json"),
    ];

    #[test]
    fn recorded_configs_read_into_the_model_and_back_unchanged() {
        for text in RECORDED_STREAMS {
            let config: StreamConfig = serde_json::from_str(text).unwrap();
            assert!(config.extra.is_empty(), "{text}");
            assert_eq!(
                to_value(&config),
                serde_json::from_str::<Value>(text).unwrap()
            );
        }
        for text in RECORDED_CONSUMERS {
            let config: ConsumerConfig = serde_json::from_str(text).unwrap();
            assert!(config.extra.is_empty(), "{text}");
            assert_eq!(
                to_value(&config),
                serde_json::from_str::<Value>(text).unwrap()
            );
        }
    }

    #[test]
    fn fields_and_spellings_a_newer_server_adds_are_kept_as_sent() {
        let text = r#"{"name":"S","subjects":["s"],"new_limit":{"a":1.5},"retention":"forever"}"#;
        let config: StreamConfig = serde_json::from_str(text).unwrap();
        assert_eq!(
            config.retention,
            Some(RetentionPolicy::Other("forever".into()))
        );
        assert_eq!(config.extra["new_limit"], serde_json::json!({"a": 1.5}));
        assert_eq!(
            to_value(&config),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn a_null_reads_as_an_absent_field() {
        let config: StreamConfig =
            serde_json::from_str(r#"{"name":"S","mirror":null,"sources":null}"#).unwrap();
        assert_eq!(config.mirror, None);
        assert_eq!(config.sources, None);
    }

    #[test]
    fn a_value_of_another_type_than_the_servers_fails_to_read() {
        for text in [
            r#"{"max_msgs":1.5}"#,
            r#"{"first_seq":-1}"#,
            r#"{"subjects":"s"}"#,
        ] {
            assert!(
                serde_json::from_str::<StreamConfig>(text).is_err(),
                "{text}"
            );
        }
        assert!(serde_json::from_str::<ConsumerConfig>(r#"{"sample_freq":50}"#).is_err());
    }

    #[test]
    fn enums_are_spelled_as_the_server_spells_them() {
        assert_eq!(AckPolicy::FlowControl.spelling(), "flow_control");
        assert_eq!(
            DeliverPolicy::ByStartSequence.spelling(),
            "by_start_sequence"
        );
        assert_eq!(PriorityPolicy::PinnedClient.spelling(), "pinned_client");
        assert_eq!(AckPolicy::from_spelling("explicit"), AckPolicy::Explicit);
        assert_eq!(to_value(&Compression::S2), Value::from("s2"));
    }
}
