//! Pieces shared by several kinds: storage and policy enums, placement,
//! sources and transforms, and the reconciliation settings of every asset.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::units::Duration;

/// JetStream metadata: free-form string pairs stored with the asset.
pub type Metadata = BTreeMap<String, String>;

/// Where a stream keeps its messages. The server never changes this in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    File,
    Memory,
}

/// How long a stream keeps messages: by limits, while consumers are interested,
/// or until acknowledged once (work queue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RetentionPolicy {
    Limits,
    Interest,
    #[serde(alias = "workQueue")]
    Workqueue,
}

/// What a full stream does with a new message: drop the oldest, or refuse the new.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiscardPolicy {
    Old,
    New,
}

/// On-disk compression of a stream's message blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    S2,
}

/// How a stream persists writes (nats-server 2.12+); never changeable in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PersistMode {
    Default,
    Async,
}

/// Placement of an asset's replicas in a cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Placement {
    /// Name of the cluster the replicas must be placed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::NOT_BLANK))]
    pub cluster: Option<String>,
    /// Server tags every replica's server must carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(super::admission::NOT_BLANK)))]
    pub tags: Vec<String>,
}

/// A subject mapping from `source` to `destination` (the server's `src`/`dest`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubjectTransform {
    /// Subject filter the transform applies to; `>` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Destination subject, may use `{{wildcard(n)}}` style mappings.
    pub destination: String,
}

/// Republishing of stored messages to another subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Republish {
    /// Subjects to republish; `>` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Subject the messages are republished to.
    #[schemars(length(min = 1))]
    pub destination: String,
    /// Republish headers only, without the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers_only: Option<bool>,
}

/// The JetStream API of another account or domain a mirror or source reads from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::EXTERNAL)))]
pub struct ExternalStream {
    /// API prefix of the other JetStream, e.g. `$JS.hub.API`.
    pub api_prefix: String,
    /// Delivery prefix for the internal consumer's messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_prefix: Option<String>,
}

/// The consumer a source or mirror uses on the origin stream (nats-server 2.14+).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceConsumer {
    /// Name of the consumer on the origin stream.
    pub name: String,
    /// Subject the consumer delivers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_subject: Option<String>,
}

/// A stream (or, for KV and object stores, a bucket) this one copies messages from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::SOURCE)))]
pub struct StreamSource {
    /// Name of the origin stream (for a KeyValue: the origin bucket).
    #[schemars(pattern(super::admission::ASSET_NAME), length(max = 255))]
    pub name: String,
    /// Start copying at this sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_seq: Option<u64>,
    /// Start copying at this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<String>,
    /// Copy only messages on this subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_subject: Option<String>,
    /// Copy and map subjects (instead of `filterSubject`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_transforms: Vec<SubjectTransform>,
    /// The origin is in another account or JetStream domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalStream>,
    /// The consumer used on the origin (nats-server 2.14+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<SourceConsumer>,
}

/// Defaults and ceilings a stream imposes on its consumers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsumerLimits {
    /// Default and maximum inactivity before a consumer is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_threshold: Option<Duration>,
    /// Default and maximum of unacknowledged messages per consumer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_ack_pending: Option<u64>,
}

/// What jetsync does when a change needs the asset deleted and created again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum OnImmutableChange {
    /// Refuse the change and report it (the default).
    #[default]
    Fail,
    /// Delete and recreate the asset, losing what it holds.
    Recreate,
}

/// What happens to the JetStream asset when its resource is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the asset with the resource (the default).
    #[default]
    Delete,
    /// Leave the asset and remove jetsync's ownership marker.
    Orphan,
}

/// What jetsync does when the live asset was changed outside jetsync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DriftPolicy {
    /// Put the asset back as declared (the default).
    #[default]
    Correct,
    /// Leave the asset as it is and report the difference.
    Report,
}

/// What jetsync may write to the asset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ManagementPolicy {
    /// Create, update, correct drift (per `driftPolicy`) and delete (per
    /// `deletionPolicy`): the default.
    #[default]
    Full,
    /// Never write: differences, a missing asset and drift are only
    /// reported, and deleting the resource leaves the asset as it is.
    Observe,
}

/// What jetsync does with the durable consumers it does not manage (another
/// application's) when replacing or deleting their stream would destroy them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum UnmanagedConsumers {
    /// Refuse the replacement or deletion, naming them (the default).
    #[default]
    Refuse,
    /// Replace the stream, then create them again with their exact config
    /// (their delivery state restarts on the new, empty stream). Deleting
    /// the stream is still refused.
    Recreate,
    /// Let them be deleted with the stream.
    Delete,
}

/// The reconciliation settings every asset kind carries beside its JetStream config.
pub trait AssetPolicies {
    /// Name of the `NatsConnection` to use, if not the default connection.
    fn connection(&self) -> Option<&str>;
    /// Whether an existing asset not managed by this owner may be taken over.
    fn adopt(&self) -> bool;
    /// What to do when a change forces replacement.
    fn on_immutable_change(&self) -> OnImmutableChange;
    /// What to do with the asset when its resource is deleted.
    fn deletion_policy(&self) -> DeletionPolicy;
    /// What to do when the live asset drifted from the spec.
    fn drift_policy(&self) -> DriftPolicy;
    /// `spec.suspend`: leave the asset and the resource alone.
    fn suspended(&self) -> bool;
    /// What jetsync may write to the asset.
    fn management_policy(&self) -> ManagementPolicy;
    /// Spec fields left out of updates and drift.
    fn ignore_fields(&self) -> &[String];
    /// What to do with other applications' consumers when the stream goes
    /// (None: not set, or a kind without consumers of its own).
    fn unmanaged_consumers(&self) -> Option<UnmanagedConsumers> {
        None
    }
}

/// Implements [`AssetPolicies`] for a spec struct with the five standard fields.
macro_rules! impl_asset_policies {
    ($spec:ty, unmanaged_consumers) => {
        $crate::spec::common::impl_asset_policies!($spec, {
            fn unmanaged_consumers(&self) -> Option<$crate::spec::common::UnmanagedConsumers> {
                self.unmanaged_consumers
            }
        });
    };
    ($spec:ty) => {
        $crate::spec::common::impl_asset_policies!($spec, {});
    };
    ($spec:ty, { $($extra:tt)* }) => {
        impl $crate::spec::common::AssetPolicies for $spec {
            fn connection(&self) -> Option<&str> {
                self.connection.as_deref()
            }
            fn adopt(&self) -> bool {
                self.adopt.unwrap_or(false)
            }
            fn on_immutable_change(&self) -> $crate::spec::common::OnImmutableChange {
                self.on_immutable_change.unwrap_or_default()
            }
            fn suspended(&self) -> bool {
                self.suspend.unwrap_or(false)
            }
            fn management_policy(&self) -> $crate::spec::common::ManagementPolicy {
                self.management_policy.unwrap_or_default()
            }
            fn ignore_fields(&self) -> &[String] {
                &self.ignore_fields
            }
            fn deletion_policy(&self) -> $crate::spec::common::DeletionPolicy {
                self.deletion_policy.unwrap_or_default()
            }
            fn drift_policy(&self) -> $crate::spec::common::DriftPolicy {
                self.drift_policy.unwrap_or_default()
            }
            $($extra)*
        }
    };
}
pub(crate) use impl_asset_policies;
