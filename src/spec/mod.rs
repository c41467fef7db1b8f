//! The desired-state model: the kinds users declare, their units and validation.
//! Pure code: no NATS and no Kubernetes; the custom resources that carry
//! these specs live in `crate::resources`.

pub mod admission;
pub mod common;
pub mod connection;
pub mod consumer;
pub mod kv;
pub mod names;
pub mod object_store;
pub mod path;
pub mod server_url;
pub mod stream;
pub mod units;
pub mod validate;

pub use common::AssetPolicies;
pub use connection::NatsConnectionSpec;
pub use consumer::ConsumerSpec;
pub use kv::KeyValueSpec;
pub use object_store::ObjectStoreSpec;
pub use stream::StreamSpec;

/// API group of every jetsync kind.
pub const GROUP: &str = "jetsync.dev";
/// API version of every jetsync kind.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` as written in manifests.
pub const API_VERSION: &str = "jetsync.dev/v1alpha1";

/// The kinds of document jetsync reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Stream,
    Consumer,
    KeyValue,
    ObjectStore,
    NatsConnection,
}

impl Kind {
    /// Every kind, in the order assets are created.
    pub const ALL: [Kind; 5] = [
        Kind::NatsConnection,
        Kind::Stream,
        Kind::KeyValue,
        Kind::ObjectStore,
        Kind::Consumer,
    ];

    /// The `kind:` value in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Stream => "Stream",
            Kind::Consumer => "Consumer",
            Kind::KeyValue => "KeyValue",
            Kind::ObjectStore => "ObjectStore",
            Kind::NatsConnection => "NatsConnection",
        }
    }

    /// Parses a `kind:` value.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `spec` of any kind.
#[derive(Clone, Debug, PartialEq)]
pub enum AssetSpec {
    Stream(StreamSpec),
    Consumer(ConsumerSpec),
    KeyValue(KeyValueSpec),
    ObjectStore(ObjectStoreSpec),
    NatsConnection(NatsConnectionSpec),
}

impl AssetSpec {
    /// The kind this spec belongs to.
    pub fn kind(&self) -> Kind {
        match self {
            AssetSpec::Stream(_) => Kind::Stream,
            AssetSpec::Consumer(_) => Kind::Consumer,
            AssetSpec::KeyValue(_) => Kind::KeyValue,
            AssetSpec::ObjectStore(_) => Kind::ObjectStore,
            AssetSpec::NatsConnection(_) => Kind::NatsConnection,
        }
    }

    /// The JetStream name given in `spec.name`, if any.
    pub fn explicit_name(&self) -> Option<&str> {
        match self {
            AssetSpec::Stream(spec) => spec.name.as_deref(),
            AssetSpec::Consumer(spec) => spec.name.as_deref(),
            AssetSpec::KeyValue(spec) => spec.name.as_deref(),
            AssetSpec::ObjectStore(spec) => spec.name.as_deref(),
            AssetSpec::NatsConnection(_) => None,
        }
    }

    /// The reconciliation settings, for the kinds that are JetStream assets.
    pub fn policies(&self) -> Option<&dyn AssetPolicies> {
        match self {
            AssetSpec::Stream(spec) => Some(spec),
            AssetSpec::Consumer(spec) => Some(spec),
            AssetSpec::KeyValue(spec) => Some(spec),
            AssetSpec::ObjectStore(spec) => Some(spec),
            AssetSpec::NatsConnection(_) => None,
        }
    }
}
