//! What a plan is made of: assets by address, desired and live, and the
//! changes between them.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostics::Diagnostic;
use crate::manifest::WrittenFields;
use crate::plan::wire::model::AssetConfig;

/// The kinds of JetStream asset a plan handles.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    Stream,
    #[serde(rename = "kv")]
    KeyValue,
    #[serde(rename = "objectstore")]
    ObjectStore,
    Consumer,
}

impl AssetKind {
    /// The first part of an address: `stream`, `kv`, `objectstore`, `consumer`.
    pub fn prefix(self) -> &'static str {
        match self {
            AssetKind::Stream => "stream",
            AssetKind::KeyValue => "kv",
            AssetKind::ObjectStore => "objectstore",
            AssetKind::Consumer => "consumer",
        }
    }

    /// The manifest kind.
    pub fn manifest_kind(self) -> &'static str {
        match self {
            AssetKind::Stream => "Stream",
            AssetKind::KeyValue => "KeyValue",
            AssetKind::ObjectStore => "ObjectStore",
            AssetKind::Consumer => "Consumer",
        }
    }

    /// True for the kinds stored as a stream (streams, KV buckets, object stores).
    pub fn is_stream_like(self) -> bool {
        !matches!(self, AssetKind::Consumer)
    }
}

/// Where an asset lives: `stream/ORDERS`, `kv/config`, `objectstore/artifacts`,
/// `consumer/ORDERS/worker`. Ordered by kind, then name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: AssetKind,
    /// The stream name, or the bucket name for KV buckets and object stores,
    /// or the stream of a consumer.
    pub name: String,
    /// The consumer name, for consumers.
    pub consumer: Option<String>,
}

impl Address {
    /// A stream's address.
    pub fn stream(name: &str) -> Self {
        Self {
            kind: AssetKind::Stream,
            name: name.to_string(),
            consumer: None,
        }
    }

    /// A KV bucket's address.
    pub fn kv(bucket: &str) -> Self {
        Self {
            kind: AssetKind::KeyValue,
            name: bucket.to_string(),
            consumer: None,
        }
    }

    /// An object store's address.
    pub fn object_store(bucket: &str) -> Self {
        Self {
            kind: AssetKind::ObjectStore,
            name: bucket.to_string(),
            consumer: None,
        }
    }

    /// A consumer's address.
    pub fn consumer(stream: &str, name: &str) -> Self {
        Self {
            kind: AssetKind::Consumer,
            name: stream.to_string(),
            consumer: Some(name.to_string()),
        }
    }

    /// The address of a stream-like asset from its backing stream's name:
    /// `KV_x` is the bucket `x`, `OBJ_x` the object store `x`.
    pub fn from_stream_name(name: &str) -> Self {
        if let Some(bucket) = name.strip_prefix("KV_") {
            Self::kv(bucket)
        } else if let Some(bucket) = name.strip_prefix("OBJ_") {
            Self::object_store(bucket)
        } else {
            Self::stream(name)
        }
    }

    /// Parses `stream/NAME`, `kv/BUCKET`, `objectstore/BUCKET` or
    /// `consumer/STREAM/NAME`.
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<&str> = text.split('/').collect();
        let valid = |name: &&str| !name.is_empty();
        match parts.as_slice() {
            ["stream", name] if valid(name) => Some(Self::stream(name)),
            ["kv", name] if valid(name) => Some(Self::kv(name)),
            ["objectstore", name] if valid(name) => Some(Self::object_store(name)),
            ["consumer", stream, name] if valid(stream) && valid(name) => {
                Some(Self::consumer(stream, name))
            }
            _ => None,
        }
    }

    /// The name of the stream that holds this asset (for a consumer: its stream).
    pub fn stream_name(&self) -> String {
        match self.kind {
            AssetKind::KeyValue => format!("KV_{}", self.name),
            AssetKind::ObjectStore => format!("OBJ_{}", self.name),
            AssetKind::Stream | AssetKind::Consumer => self.name.clone(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.prefix(), self.name)?;
        if let Some(consumer) = &self.consumer {
            write!(f, "/{consumer}")?;
        }
        Ok(())
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for Address {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Address".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "stream/NAME, kv/BUCKET, objectstore/BUCKET or consumer/STREAM/NAME",
            "pattern": "^(stream|kv|objectstore)/[^/]+$|^consumer/[^/]+/[^/]+$",
        })
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Address::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an asset address: `{text}`")))
    }
}

/// What an asset holds that deleting it would lose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Holdings {
    /// Messages stored (streams, KV buckets, object stores).
    pub messages: u64,
    /// Bytes stored.
    pub bytes: u64,
    /// For consumers: messages delivered and not yet acknowledged.
    pub ack_pending: u64,
    /// For consumers: messages not yet delivered.
    pub pending: u64,
    /// For consumers: the last stream sequence delivered (the consumer's position).
    pub delivered_stream_seq: u64,
    /// For streams: how many consumers the server says it has (a plan that
    /// may not list them still knows they are there).
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub consumer_count: u64,
    /// For streams: how many of those are ephemeral (a client's
    /// subscription's, not assets of their own).
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub ephemeral_consumers: u64,
}

/// What replacing or deleting a stream, KV bucket or object store destroys:
/// what it holds, and every consumer that goes with it, managed or not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Loss {
    #[serde(flatten)]
    pub holdings: Holdings,
    /// The consumers on the stream, each deleted with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<LostConsumer>,
    /// Consumers on the stream that could not be named (the credentials may
    /// not list them): deleted with it too.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unseen_consumers: u64,
    /// Ephemeral consumers on the stream (a client's subscription's; they
    /// end with it and are not protected).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ephemeral_consumers: u64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

impl Loss {
    /// The loss of an asset with no consumers listed.
    pub fn of(holdings: Holdings) -> Self {
        Self {
            holdings,
            consumers: Vec::new(),
            unseen_consumers: 0,
            ephemeral_consumers: 0,
        }
    }
}

impl From<Holdings> for Loss {
    fn from(holdings: Holdings) -> Self {
        Self::of(holdings)
    }
}

/// A consumer deleted with its stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LostConsumer {
    pub name: String,
    /// Messages not yet delivered to it.
    pub pending: u64,
    /// Messages delivered to it and not yet acknowledged.
    pub ack_pending: u64,
    /// Who manages it: this owner, another owner, or nobody (None).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Managed by jetsync: by the owner this plan is made for, or by
    /// another owner (which creates it again); only consumers no jetsync
    /// manages need consent to be destroyed.
    pub managed: bool,
    /// What becomes of it.
    pub fate: ConsumerFate,
}

/// What becomes of a consumer whose stream is replaced or deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConsumerFate {
    /// Declared: created again after its stream, as declared.
    Recreated,
    /// Not managed by jetsync, created again with its exact config after the
    /// stream (`unmanagedConsumers: Recreate`).
    Restored,
    /// Deleted with the stream.
    Deleted,
}

/// One live asset, as the server reported it.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveAsset {
    pub address: Address,
    /// The config exactly as the server returned it.
    pub config: LiveConfig,
    pub holdings: Holdings,
}

/// A config as the server sent it, kept as its JSON text and parsed when it
/// is read. A listing of thousands of configs held as parsed values was most
/// of a plan's memory: a parsed config takes about six times its text.
#[derive(Clone, PartialEq, Eq)]
pub struct LiveConfig(Box<str>);

impl LiveConfig {
    /// The config of a parsed value.
    pub fn new(value: &Value) -> Self {
        Self(value.to_string().into_boxed_str())
    }

    /// The config as it came in an API answer.
    pub fn from_raw(raw: Box<serde_json::value::RawValue>) -> Self {
        Self(raw.into())
    }

    /// The parsed config.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).expect("a live config is JSON the server sent")
    }

    /// The config in the typed wire model, as an asset of `kind`; None when
    /// it holds a value of another type than nats-server sends.
    pub fn typed(&self, kind: AssetKind) -> Option<AssetConfig> {
        let mut json = serde_json::Deserializer::from_str(&self.0);
        AssetConfig::read(kind, &mut json).ok()
    }

    /// Some of its fields, read without building the rest.
    pub fn read<'a, T: serde::Deserialize<'a>>(&'a self) -> Option<T> {
        serde_json::from_str(&self.0).ok()
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Value> for LiveConfig {
    fn from(value: Value) -> Self {
        Self::new(&value)
    }
}

/// Where a desired asset was declared, for diagnostics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeclaredAt {
    pub file: String,
    pub line: u64,
    pub column: u64,
    /// Every field under `spec` as the manifest wrote it (path below
    /// `spec`, e.g. `maxAge`), so plans show values as written and point
    /// at fields.
    #[serde(default, skip_serializing_if = "WrittenFields::is_empty")]
    pub fields: WrittenFields,
}

impl DeclaredAt {
    /// The declaration of a document at `file:line:column`, its fields unknown.
    pub fn document(file: impl Into<String>, line: u64, column: u64) -> Self {
        Self {
            file: file.into(),
            line,
            column,
            fields: WrittenFields::default(),
        }
    }

    /// Line and column of the spec field `field` (`spec.maxAge` or
    /// `maxAge`; for a field not written, its nearest written parent), else
    /// of the document.
    pub fn position_of(&self, field: &str) -> (u64, u64) {
        let mut path = field.strip_prefix("spec.").unwrap_or(field);
        loop {
            if let Some(written) = self.fields.get(path) {
                return (written.line, written.column);
            }
            match path.rfind(['.', '[']) {
                Some(end) => path = &path[..end],
                None => return (self.line, self.column),
            }
        }
    }

    /// The text the manifest wrote for the spec field `field`, when a scalar.
    pub fn written(&self, field: &str) -> Option<String> {
        self.fields.get(field)?.text
    }

    /// `diagnostic` pointed at this declaration: at its field (`spec.…`)
    /// when it names one, else at the document.
    pub fn point(&self, mut diagnostic: Diagnostic) -> Diagnostic {
        let (line, column) = match &diagnostic.field {
            Some(field) => self.position_of(field),
            None => (self.line, self.column),
        };
        diagnostic.file = Some(self.file.clone());
        diagnostic.line = Some(line);
        diagnostic.column = Some(column);
        diagnostic
    }
}
