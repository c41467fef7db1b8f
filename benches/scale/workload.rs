//! Workload W at a scale: 1,000 streams (`s.<i>.>`, file storage, max age
//! 1 h, max bytes 10 MiB) with 3 durable pull consumers each (explicit ack,
//! filtered, max deliver 5, ack wait 30 s) and 100 KV buckets (history 5,
//! TTL 1 h): 4,100 assets at scale 1. Written as jetsync manifests (one file
//! per stream with its consumers, one per bucket) and as wire configs in
//! one JSON file for the floors and the nats-py peer.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

const HOUR_NANOS: u64 = 3_600 * 1_000_000_000;
const ACK_WAIT_NANOS: u64 = 30 * 1_000_000_000;
const TEN_MIB: u64 = 10 * 1024 * 1024;
const DUPLICATE_WINDOW_NANOS: u64 = 120 * 1_000_000_000;
const CONSUMERS_PER_STREAM: usize = 3;

/// The size of a workload.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    /// The label shown in tables: `W×0.1`, `W`, `W×3`.
    pub label: &'static str,
    pub streams: usize,
    pub buckets: usize,
}

impl Scale {
    pub const TENTH: Scale = Scale {
        label: "W×0.1",
        streams: 100,
        buckets: 10,
    };
    pub const W: Scale = Scale {
        label: "W",
        streams: 1_000,
        buckets: 100,
    };
    pub const TRIPLE: Scale = Scale {
        label: "W×3",
        streams: 3_000,
        buckets: 300,
    };

    pub fn consumers(&self) -> usize {
        self.streams * CONSUMERS_PER_STREAM
    }

    pub fn assets(&self) -> usize {
        self.streams + self.consumers() + self.buckets
    }

    /// How many streams the drift scenario changes: 1% of the assets.
    pub fn drifted(&self) -> usize {
        self.assets().div_ceil(100)
    }
}

/// A workload written to disk.
pub struct Workload {
    pub scale: Scale,
    /// The manifests directory jetsync reads.
    pub manifests: PathBuf,
    /// The same manifests as one multi-document stream, as `kustomize
    /// build` prints them (read from stdin: `plan -f -`).
    pub stream: PathBuf,
    /// The wire configs (see `bench/reconcile.py`).
    pub desired_json: PathBuf,
    /// Stream names, in creation order.
    pub stream_names: Vec<String>,
}

pub fn stream_name(index: usize) -> String {
    format!("s-{index}")
}

fn stream_config(index: usize) -> Value {
    json!({
        "name": stream_name(index),
        "subjects": [format!("s.{index}.>")],
        "storage": "file",
        "max_age": HOUR_NANOS,
        "max_bytes": TEN_MIB,
    })
}

fn consumer_config(stream: usize, consumer: usize) -> Value {
    json!({
        "durable_name": format!("c{consumer}"),
        "ack_policy": "explicit",
        "filter_subject": format!("s.{stream}.c{consumer}"),
        "max_deliver": 5,
        "ack_wait": ACK_WAIT_NANOS,
    })
}

/// The backing stream of a KV bucket, as a KV client creates it.
fn bucket_stream_config(bucket: &str) -> Value {
    json!({
        "name": format!("KV_{bucket}"),
        "subjects": [format!("$KV.{bucket}.>")],
        "storage": "file",
        "max_msgs_per_subject": 5,
        "max_age": HOUR_NANOS,
        "max_bytes": -1,
        "max_msg_size": -1,
        "discard": "new",
        "allow_rollup_hdrs": true,
        "deny_delete": true,
        "allow_direct": true,
        "duplicate_window": DUPLICATE_WINDOW_NANOS,
        "num_replicas": 1,
    })
}

fn stream_manifest(index: usize) -> String {
    let name = stream_name(index);
    let mut text = format!(
        "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: {name}\nspec:\n  \
         subjects: [\"s.{index}.>\"]\n  storage: file\n  maxAge: 1h\n  maxBytes: 10MiB\n"
    );
    for consumer in 0..CONSUMERS_PER_STREAM {
        let _ = write!(
            text,
            "---\napiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: {name}-c{consumer}\n\
             spec:\n  streamName: {name}\n  name: c{consumer}\n  filterSubject: s.{index}.c{consumer}\n  \
             ackPolicy: explicit\n  ackWait: 30s\n  maxDeliver: 5\n"
        );
    }
    text
}

fn bucket_manifest(bucket: &str) -> String {
    format!(
        "apiVersion: jetsync.dev/v1alpha1\nkind: KeyValue\nmetadata:\n  name: {bucket}\nspec:\n  \
         history: 5\n  ttl: 1h\n"
    )
}

/// Writes the workload at `scale` under `dir`.
pub fn write(dir: &Path, scale: Scale) -> std::io::Result<Workload> {
    let manifests = dir.join("manifests");
    fs::create_dir_all(manifests.join("streams"))?;
    fs::create_dir_all(manifests.join("kv"))?;
    let mut streams = Vec::new();
    let mut consumers = Vec::new();
    let mut buckets = Vec::new();
    let mut stream = String::new();
    for index in 0..scale.streams {
        let manifest = stream_manifest(index);
        stream.push_str("---\n");
        stream.push_str(&manifest);
        fs::write(
            manifests
                .join("streams")
                .join(format!("{}.yaml", stream_name(index))),
            manifest,
        )?;
        streams.push(stream_config(index));
        for consumer in 0..CONSUMERS_PER_STREAM {
            consumers.push(json!({
                "stream_name": stream_name(index),
                "config": consumer_config(index, consumer),
            }));
        }
    }
    for index in 0..scale.buckets {
        let bucket = format!("kv-{index}");
        let manifest = bucket_manifest(&bucket);
        stream.push_str("---\n");
        stream.push_str(&manifest);
        fs::write(
            manifests.join("kv").join(format!("{bucket}.yaml")),
            manifest,
        )?;
        buckets.push(json!({
            "bucket": bucket,
            "history": 5,
            "ttl": HOUR_NANOS,
            "stream": bucket_stream_config(&bucket),
        }));
    }
    let stream_file = dir.join("stream.yaml");
    fs::write(&stream_file, stream)?;
    let desired_json = dir.join("desired.json");
    let desired = json!({ "streams": streams, "kv": buckets, "consumers": consumers });
    fs::write(&desired_json, serde_json::to_vec(&desired)?)?;
    Ok(Workload {
        scale,
        manifests,
        stream: stream_file,
        desired_json,
        stream_names: (0..scale.streams).map(stream_name).collect(),
    })
}
