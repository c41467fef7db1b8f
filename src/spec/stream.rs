//! The `Stream` kind: a JetStream stream, every config field nats-server accepts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Compression, ConsumerLimits, DeletionPolicy, DiscardPolicy, DriftPolicy, ManagementPolicy,
    Metadata, OnImmutableChange, PersistMode, Placement, Republish, RetentionPolicy, StorageType,
    StreamSource, SubjectTransform, UnmanagedConsumers, impl_asset_policies,
};
use super::units::{Duration, Size};

/// A JetStream stream. Fields left out take the server's defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::STREAM)))]
pub struct StreamSpec {
    /// JetStream stream name; defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::ASSET_NAME), length(max = 255))]
    pub name: Option<String>,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Subjects the stream stores; the stream name when empty (and no mirror or sources).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(super::admission::FILTER_SUBJECT)), extend("x-kubernetes-list-type" = "set"))]
    pub subjects: Vec<String>,
    /// `limits` (default), `interest` or `workqueue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionPolicy>,
    /// `file` (default) or `memory`; never changeable in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageType>,
    /// Number of replicas, 1 to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 5))]
    pub replicas: Option<u32>,
    /// Most consumers the stream may have; unlimited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_consumers: Option<u64>,
    /// Most messages kept; unlimited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_msgs: Option<u64>,
    /// Most bytes kept, e.g. `1GiB`; unlimited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<Size>,
    /// Most messages kept per subject; unlimited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_msgs_per_subject: Option<u64>,
    /// Largest message accepted, e.g. `1MiB`; unlimited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_msg_size: Option<Size>,
    /// Oldest message kept, e.g. `7d`; unlimited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<Duration>,
    /// `old` (default) or `new`: what a full stream drops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discard: Option<DiscardPolicy>,
    /// With `discard: new`, apply the limit per subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discard_new_per_subject: Option<bool>,
    /// Do not acknowledge published messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_ack: Option<bool>,
    /// Window for duplicate detection by message ID; 2m by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_window: Option<Duration>,
    /// Cluster and tags the replicas are placed by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Make this stream a mirror of another; cannot be added later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<StreamSource>,
    /// Streams this one aggregates messages from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<StreamSource>,
    /// Seal the stream: no more writes or deletes; cannot be undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<bool>,
    /// Forbid deleting messages; cannot be undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_delete: Option<bool>,
    /// Forbid purging; cannot be undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_purge: Option<bool>,
    /// Allow the `Nats-Rollup` header to purge subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_rollup_headers: Option<bool>,
    /// Republish stored messages to another subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub republish: Option<Republish>,
    /// Allow direct get requests served by any replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_direct: Option<bool>,
    /// Serve direct gets for the mirrored stream from this mirror.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_direct: Option<bool>,
    /// `none` (default) or `s2` compression of stored blocks (nats-server 2.10+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// Sequence of the first message (nats-server 2.10+); only effective at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sequence: Option<u64>,
    /// Map subjects of incoming messages before storing them (nats-server 2.10+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_transform: Option<SubjectTransform>,
    /// Defaults and ceilings for the stream's consumers (nats-server 2.10+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_limits: Option<ConsumerLimits>,
    /// JetStream metadata; `jetsync.dev/*` and `_nats.*` keys are reserved.
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    #[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::METADATA)))]
    pub metadata: Metadata,
    /// Allow per-message TTLs with the `Nats-TTL` header (nats-server 2.11+); enable only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_msg_ttl: Option<bool>,
    /// Leave delete markers this long when messages age out (nats-server 2.11+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_delete_marker_ttl: Option<Duration>,
    /// Make this a counter stream (nats-server 2.12+); never changeable in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_msg_counter: Option<bool>,
    /// Allow atomic batch publishes (nats-server 2.12+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_atomic: Option<bool>,
    /// Allow scheduled messages (nats-server 2.12+); enable only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_msg_schedules: Option<bool>,
    /// Allow batched publishes (nats-server 2.14+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_batched: Option<bool>,
    /// `default` or `async` persistence (nats-server 2.12+); never changeable in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persist_mode: Option<PersistMode>,

    /// Name of the `NatsConnection` to use instead of the default connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::OBJECT_NAME), length(max = 253))]
    pub connection: Option<String>,
    /// Take over an existing stream not managed by this owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<bool>,
    /// `Fail` (default) or `Recreate` when a change forces replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_immutable_change: Option<OnImmutableChange>,
    /// `Delete` (default) or `Orphan` the stream when the resource is deleted.
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
    /// durable consumers when replacing or deleting this stream destroys them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmanaged_consumers: Option<UnmanagedConsumers>,
}

impl_asset_policies!(StreamSpec, unmanaged_consumers);
