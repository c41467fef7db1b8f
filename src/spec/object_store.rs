//! The `ObjectStore` kind: an object store, backed by the stream `OBJ_<bucket>`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    DeletionPolicy, DriftPolicy, ManagementPolicy, Metadata, OnImmutableChange, Placement,
    StorageType, UnmanagedConsumers, impl_asset_policies,
};
use super::units::{Duration, Size};

/// A JetStream object store.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::OBJECT_STORE)))]
pub struct ObjectStoreSpec {
    /// Bucket name; defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::BUCKET_NAME), length(max = 251))]
    pub name: Option<String>,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How long an object lives; forever when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// Most bytes the store holds; unlimited when omitted.
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
    /// Compress stored chunks with s2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<bool>,
    /// JetStream metadata; `jetsync.dev/*` and `_nats.*` keys are reserved.
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    #[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::METADATA)))]
    pub metadata: Metadata,

    /// Name of the `NatsConnection` to use instead of the default connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::OBJECT_NAME), length(max = 253))]
    pub connection: Option<String>,
    /// Take over an existing object store not managed by this owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<bool>,
    /// `Fail` (default) or `Recreate` when a change forces replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_immutable_change: Option<OnImmutableChange>,
    /// `Delete` (default) or `Orphan` the store when the resource is deleted.
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
    /// durable consumers when replacing or deleting this object store destroys them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmanaged_consumers: Option<UnmanagedConsumers>,
}

impl_asset_policies!(ObjectStoreSpec, unmanaged_consumers);
