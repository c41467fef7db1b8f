//! The Kubernetes adapter of the model: the custom resources that carry each
//! kind's spec, their status, and their CRDs. Used by the controller and the
//! `crds` command; `spec` itself knows nothing of Kubernetes.

pub(crate) mod custom_resource;
mod status;

pub use status::{AssetStatus, LiveSummary};

use crate::spec::{ConsumerSpec, KeyValueSpec, NatsConnectionSpec, ObjectStoreSpec, StreamSpec};
use custom_resource::{AGE, Column, READY, REASON, SUSPENDED, custom_resource};

const MESSAGES: Column = Column::new("Messages", "integer", ".status.summary.messages");
const BYTES: Column = Column::new("Bytes", "integer", ".status.summary.bytes");

custom_resource! {
    /// A JetStream stream declared by jetsync.
    Stream(StreamSpec) {
        kind: "Stream",
        plural: "streams",
        short_name: "js-stream",
        columns: [READY, REASON, MESSAGES, BYTES, SUSPENDED, AGE],
    }
}

custom_resource! {
    /// A durable JetStream consumer declared by jetsync.
    Consumer(ConsumerSpec) {
        kind: "Consumer",
        plural: "consumers",
        short_name: "js-consumer",
        columns: [
            Column::new("Stream", "string", ".spec.streamName"),
            READY,
            REASON,
            Column::new("Pending", "integer", ".status.summary.pending"),
            Column::new("AckPending", "integer", ".status.summary.ackPending"),
            SUSPENDED,
            AGE,
        ],
    }
}

custom_resource! {
    /// A JetStream key-value bucket declared by jetsync.
    KeyValue(KeyValueSpec) {
        kind: "KeyValue",
        plural: "keyvalues",
        short_name: "js-kv",
        columns: [READY, REASON, MESSAGES, BYTES, SUSPENDED, AGE],
    }
}

custom_resource! {
    /// A JetStream object store declared by jetsync.
    ObjectStore(ObjectStoreSpec) {
        kind: "ObjectStore",
        plural: "objectstores",
        short_name: "js-obj",
        columns: [READY, REASON, MESSAGES, BYTES, SUSPENDED, AGE],
    }
}

custom_resource! {
    /// A NATS connection profile that jetsync assets name in spec.connection.
    NatsConnection(NatsConnectionSpec) {
        kind: "NatsConnection",
        plural: "natsconnections",
        short_name: "natsconn",
        columns: [READY, REASON, AGE],
    }
}
