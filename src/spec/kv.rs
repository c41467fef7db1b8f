//! The `KeyValue` kind: a KV bucket, backed by the stream `KV_<bucket>`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    DeletionPolicy, DriftPolicy, ManagementPolicy, Metadata, OnImmutableChange, Placement,
    Republish, StorageType, StreamSource, UnmanagedConsumers, impl_asset_policies,
};
use super::units::{Duration, Size};

/// A JetStream key-value bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::KEY_VALUE)))]
pub struct KeyValueSpec {
    /// Bucket name; defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::BUCKET_NAME), length(max = 252))]
    pub name: Option<String>,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Values kept per key, 1 (default) to 64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 64))]
    pub history: Option<u32>,
    /// How long a value lives; forever when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// Largest value accepted, e.g. `1MiB`; unlimited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value_size: Option<Size>,
    /// Most bytes the bucket holds; unlimited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<Size>,
    /// `file` (default) or `memory`; never changeable in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageType>,
    /// Number of replicas, 1 to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 5))]
    pub replicas: Option<u32>,
    /// Cluster and tags the replicas are placed by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Republish changes to another subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub republish: Option<Republish>,
    /// Mirror another bucket (by bucket name); cannot be added later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<StreamSource>,
    /// Buckets (by bucket name) this one aggregates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<StreamSource>,
    /// Compress stored values with s2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<bool>,
    /// Keep delete markers of expired keys this long (nats-server 2.11+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_marker_ttl: Option<Duration>,
    /// Serve gets from any replica (direct gets). New buckets get `true`; when
    /// omitted, an existing bucket keeps what the client that made it chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_direct: Option<bool>,
    /// Allow per-message TTLs (nats-server 2.11+); cannot be turned off once on.
    /// When omitted, an existing bucket keeps what it has (nats-py turns it on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_msg_ttl: Option<bool>,
    /// A mirror serves direct gets for its origin. New mirrors get `true`; when
    /// omitted, an existing mirror keeps what it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_direct: Option<bool>,
    /// JetStream metadata; `jetsync.dev/*` and `_nats.*` keys are reserved.
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    #[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::METADATA)))]
    pub metadata: Metadata,

    /// Name of the `NatsConnection` to use instead of the default connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::OBJECT_NAME), length(max = 253))]
    pub connection: Option<String>,
    /// Take over an existing bucket not managed by this owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<bool>,
    /// `Fail` (default) or `Recreate` when a change forces replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_immutable_change: Option<OnImmutableChange>,
    /// `Delete` (default) or `Orphan` the bucket when the resource is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// `Correct` (default) or `Report` changes made outside jetsync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_policy: Option<DriftPolicy>,
    /// Stop reconciling: nothing is written to NATS, and only a condition
    /// saying so to the status, until this is false again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// `Full` (default): create, update, correct drift and delete;
    /// `Observe`: never write, only report differences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_policy: Option<ManagementPolicy>,
    /// Spec fields left out of updates and drift, e.g. `pauseUntil`: the
    /// live value stays as it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_fields: Vec<String>,
    /// `Refuse` (default), `Recreate` or `Delete` other applications'
    /// durable consumers when replacing or deleting this bucket destroys them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmanaged_consumers: Option<UnmanagedConsumers>,
}

impl_asset_policies!(KeyValueSpec, unmanaged_consumers);
