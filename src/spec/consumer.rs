//! The `Consumer` kind: a durable JetStream consumer, pull or push.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    DeletionPolicy, DriftPolicy, ManagementPolicy, Metadata, OnImmutableChange, impl_asset_policies,
};
use super::units::{Duration, Size};

/// Where in the stream a new consumer starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeliverPolicy {
    All,
    Last,
    New,
    ByStartSequence,
    ByStartTime,
    LastPerSubject,
}

/// How messages are acknowledged. jetsync defaults to `explicit`, as clients do.
/// `flowControl` (nats-server 2.14+, push consumers only) acknowledges by flow
/// control replies; a stream sourcing from a workqueue or interest stream
/// needs it on the origin's consumer (ADR-60).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AckPolicy {
    None,
    All,
    Explicit,
    FlowControl,
}

/// Whether stored messages are delivered at once or at their original pace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ReplayPolicy {
    Instant,
    Original,
}

/// How pull requests of priority groups are served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PriorityPolicy {
    None,
    Overflow,
    PinnedClient,
    Prioritized,
}

/// A durable JetStream consumer. It is a push consumer when `deliverSubject` is
/// set and a pull consumer otherwise.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::CONSUMER)))]
pub struct ConsumerSpec {
    /// The JetStream stream this consumer reads.
    #[schemars(pattern(super::admission::ASSET_NAME), length(max = 255))]
    pub stream_name: String,
    /// Durable consumer name; defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::ASSET_NAME), length(max = 255))]
    pub name: Option<String>,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where to start: `all` (default), `last`, `new`, `byStartSequence`,
    /// `byStartTime` or `lastPerSubject`; never changeable in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_policy: Option<DeliverPolicy>,
    /// Start sequence for `deliverPolicy: byStartSequence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub opt_start_seq: Option<u64>,
    /// Start time (RFC 3339) for `deliverPolicy: byStartTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<String>,
    /// `explicit` (default), `all`, `none` or `flowControl` (nats-server 2.14+,
    /// push only); never changeable in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_policy: Option<AckPolicy>,
    /// How long the server waits for an acknowledgement; 30s by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_wait: Option<Duration>,
    /// Most delivery attempts per message; unlimited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_deliver: Option<u64>,
    /// Redelivery delays, one per attempt; no longer than `maxDeliver`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backoff: Vec<Duration>,
    /// Deliver only messages on this subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::FILTER_SUBJECT))]
    pub filter_subject: Option<String>,
    /// Deliver only messages on these subjects (instead of `filterSubject`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(super::admission::FILTER_SUBJECT)), extend("x-kubernetes-list-type" = "set"))]
    pub filter_subjects: Vec<String>,
    /// `instant` (default) or `original`; never changeable in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_policy: Option<ReplayPolicy>,
    /// Push only: delivery rate limit in bits per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_bps: Option<u64>,
    /// Percentage of acknowledgements sampled for observability, 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub sample_freq: Option<u8>,
    /// Pull only: most pull requests waiting at once; 512 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_waiting: Option<u64>,
    /// Most unacknowledged messages outstanding; 1000 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_ack_pending: Option<u64>,
    /// Deliver headers only, without payloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers_only: Option<bool>,
    /// Pull only: largest batch a pull request may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<u64>,
    /// Pull only: longest expiry a pull request may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_expires: Option<Duration>,
    /// Pull only: most bytes a pull request may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<Size>,
    /// Remove the consumer after this long without activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_threshold: Option<Duration>,
    /// Replicas of the consumer's state; the stream's when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 5))]
    pub replicas: Option<u32>,
    /// Keep the consumer's state in memory; never changeable in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_storage: Option<bool>,
    /// JetStream metadata; `jetsync.dev/*` and `_nats.*` keys are reserved.
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    #[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::METADATA)))]
    pub metadata: Metadata,
    /// Push only: the subject messages are delivered to. Makes this a push consumer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::PUBLISH_SUBJECT))]
    pub deliver_subject: Option<String>,
    /// Push only: queue group that shares the deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_group: Option<String>,
    /// Push only: heartbeat interval when idle (at least 100ms); never changeable in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_heartbeat: Option<Duration>,
    /// Push only: flow control (needs `idleHeartbeat`); never changeable in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_control: Option<bool>,
    /// Pull only: priority group names (nats-server 2.11+).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(super::admission::PRIORITY_GROUP)), extend("x-kubernetes-list-type" = "set"))]
    pub priority_groups: Vec<String>,
    /// Pull only: `none`, `overflow`, `pinnedClient` or `prioritized` (nats-server 2.11+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_policy: Option<PriorityPolicy>,
    /// How long a pinned client keeps its pin without pulling (nats-server 2.11+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_timeout: Option<Duration>,
    /// Pause deliveries until this time (RFC 3339, nats-server 2.11+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_until: Option<String>,

    /// Name of the `NatsConnection` to use instead of the default connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::OBJECT_NAME), length(max = 253))]
    pub connection: Option<String>,
    /// Take over an existing consumer not managed by this owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<bool>,
    /// `Fail` (default) or `Recreate` when a change forces replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_immutable_change: Option<OnImmutableChange>,
    /// `Delete` (default) or `Orphan` the consumer when the resource is deleted.
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
}

impl_asset_policies!(ConsumerSpec);

impl ConsumerSpec {
    /// A push consumer delivers to `deliverSubject`; every other consumer is pulled.
    pub fn is_push(&self) -> bool {
        self.deliver_subject.is_some()
    }
}
