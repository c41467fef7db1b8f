//! Property: for any valid spec, apply then plan is empty. Specs of every
//! kind are generated at random (seeded; the seed of a failing case is
//! printed, `JETSYNC_PROPERTY_SEED` replays it and `JETSYNC_PROPERTY_CASES`
//! sets how many run), validated like any manifest, applied through the
//! engine against a real server, and planned again.

mod support;

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use jetsync::apply::{self, ApplyOptions};
use jetsync::diagnostics::SourceText;
use jetsync::engine;
use jetsync::manifest;
use jetsync::nats::{self, ConnectOptions};
use jetsync::plan::classify::PlanOptions;
use jetsync::plan::desired::desired_assets;

/// A small xorshift generator: deterministic per seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn duration(rng: &mut Rng, min_secs: u64, max_secs: u64) -> String {
    let secs = min_secs + rng.below(max_secs - min_secs + 1);
    match rng.below(3) {
        0 if secs.is_multiple_of(3600) => format!("{}h", secs / 3600),
        1 if secs.is_multiple_of(60) => format!("{}m", secs / 60),
        _ => format!("{secs}s"),
    }
}

fn size(rng: &mut Rng) -> String {
    // Modest sizes: the server reserves max_bytes of file streams against
    // its storage limit, and every case adds streams.
    rng.pick(&["1MiB", "64MiB", "256MiB", "500MB", "1048576", "100MB"])
        .to_string()
}

fn metadata(rng: &mut Rng, out: &mut String) {
    if rng.chance(40) {
        let _ = writeln!(
            out,
            "  metadata:\n    team: t{}\n    tier: \"{}\"",
            rng.below(9),
            rng.below(3)
        );
    }
}

const HEAD: &str = "apiVersion: jetsync.dev/v1alpha1\n";

/// A stream with a random set of fields, and its subject prefix.
fn stream(rng: &mut Rng, case: u64, minor: u32) -> (String, bool) {
    let mut out =
        format!("{HEAD}kind: Stream\nmetadata:\n  name: s{case}\nspec:\n  name: S{case}\n");
    let _ = writeln!(out, "  subjects: [\"p{case}.a.>\", \"p{case}.b.*\"]");
    let interest = rng.chance(30);
    if interest {
        out.push_str("  retention: interest\n");
    } else if rng.chance(30) {
        out.push_str("  retention: limits\n");
    }
    if rng.chance(40) {
        let _ = writeln!(out, "  storage: {}", rng.pick(&["file", "memory"]));
    }
    if rng.chance(50) {
        let _ = writeln!(out, "  description: stream number {case}");
    }
    for (field, chance) in [("maxConsumers", 30), ("maxMsgs", 40)] {
        if rng.chance(chance) {
            let _ = writeln!(out, "  {field}: {}", 10 + rng.below(100_000));
        }
    }
    if rng.chance(40) {
        let _ = writeln!(out, "  maxBytes: {}", size(rng));
    }
    if rng.chance(30) {
        let _ = writeln!(
            out,
            "  maxMsgSize: {}",
            rng.pick(&["1KiB", "64KiB", "1MiB"])
        );
    }
    let per_subject = rng.chance(40);
    if per_subject {
        let _ = writeln!(out, "  maxMsgsPerSubject: {}", 1 + rng.below(100));
    }
    let max_age = rng.chance(60).then(|| 3600 + rng.below(10) * 3600);
    if let Some(age) = max_age {
        let _ = writeln!(out, "  maxAge: {}s", age);
        if rng.chance(50) {
            let _ = writeln!(out, "  duplicateWindow: {}", duration(rng, 1, 600));
        }
    } else if rng.chance(30) {
        let _ = writeln!(out, "  duplicateWindow: {}", duration(rng, 1, 3600));
    }
    if rng.chance(40) {
        out.push_str("  discard: new\n");
        if per_subject && rng.chance(50) {
            out.push_str("  discardNewPerSubject: true\n");
        }
    }
    let deny_purge = rng.chance(20);
    if deny_purge {
        out.push_str("  denyPurge: true\n");
    } else if rng.chance(30) {
        out.push_str("  allowRollupHeaders: true\n");
    }
    for field in ["denyDelete", "allowDirect"] {
        if rng.chance(25) {
            let _ = writeln!(out, "  {field}: true");
        }
    }
    if rng.chance(30) {
        let _ = writeln!(out, "  compression: {}", rng.pick(&["s2", "none"]));
    }
    if rng.chance(25) {
        let _ = writeln!(
            out,
            "  republish:\n    source: \"p{case}.a.>\"\n    destination: \"copy{case}.>\""
        );
    }
    if rng.chance(25) {
        let _ = writeln!(
            out,
            "  consumerLimits:\n    inactiveThreshold: {}",
            duration(rng, 3600, 7200)
        );
    }
    if minor >= 11 && rng.chance(30) {
        out.push_str("  allowMsgTtl: true\n");
    }
    metadata(rng, &mut out);
    (out, interest)
}

fn consumer(rng: &mut Rng, case: u64, index: u64, minor: u32) -> String {
    let mut out = format!(
        "---\n{HEAD}kind: Consumer\nmetadata:\n  name: c{case}-{index}\nspec:\n  streamName: S{case}\n  name: C{index}\n"
    );
    let push = rng.chance(35);
    let ack = if push && minor >= 14 && rng.chance(25) {
        // Push only; the server sets flow control and heartbeats itself.
        "flowControl"
    } else {
        rng.pick(&["explicit", "all", "none", "explicit"])
    };
    let flow_acks = ack == "flowControl";
    let _ = writeln!(out, "  ackPolicy: {ack}");
    let filtered = rng.chance(60);
    if filtered {
        if rng.chance(50) {
            let _ = writeln!(out, "  filterSubject: p{case}.a.{index}");
        } else {
            let _ = writeln!(
                out,
                "  filterSubjects: [\"p{case}.a.{index}.>\", \"p{case}.b.x{index}\"]"
            );
        }
    }
    let policies: &[&str] = if filtered {
        &["all", "last", "new", "lastPerSubject"]
    } else {
        &["all", "last", "new"]
    };
    if rng.chance(50) {
        let _ = writeln!(out, "  deliverPolicy: {}", rng.pick(policies));
    }
    if rng.chance(30) {
        let _ = writeln!(
            out,
            "  replayPolicy: {}",
            rng.pick(&["instant", "original"])
        );
    }
    if ack != "none" && !flow_acks {
        let backoff = rng.chance(30).then(|| 1 + rng.below(3));
        match backoff {
            Some(steps) => {
                let delays: Vec<String> = (0..steps).map(|i| format!("{}s", (i + 1) * 5)).collect();
                let _ = writeln!(out, "  backoff: [{}]", delays.join(", "));
                let _ = writeln!(out, "  maxDeliver: {}", steps + rng.below(5));
            }
            None => {
                if rng.chance(50) {
                    let _ = writeln!(out, "  ackWait: {}", duration(rng, 1, 600));
                }
                if rng.chance(50) {
                    let _ = writeln!(out, "  maxDeliver: {}", 1 + rng.below(20));
                }
            }
        }
    }
    if ack != "none" && rng.chance(40) {
        let _ = writeln!(out, "  maxAckPending: {}", 1 + rng.below(5000));
    }
    if rng.chance(30) {
        let _ = writeln!(out, "  description: consumer {index}");
    }
    if rng.chance(20) {
        out.push_str("  headersOnly: true\n");
    }
    if rng.chance(25) {
        let _ = writeln!(out, "  sampleFreq: {}", rng.below(101));
    }
    if push {
        let _ = writeln!(out, "  deliverSubject: deliver.{case}.{index}");
        if rng.chance(40) {
            let _ = writeln!(out, "  deliverGroup: g{index}");
        } else if !flow_acks && rng.chance(50) {
            let _ = writeln!(out, "  idleHeartbeat: {}", duration(rng, 1, 60));
            if rng.chance(50) {
                out.push_str("  flowControl: true\n");
            }
        }
        if rng.chance(30) {
            let _ = writeln!(out, "  rateLimitBps: {}", 1000 + rng.below(1_000_000));
        }
    } else {
        for (field, chance, max) in [("maxWaiting", 30, 1000), ("maxBatch", 30, 500)] {
            if rng.chance(chance) {
                let _ = writeln!(out, "  {field}: {}", 1 + rng.below(max));
            }
        }
        if rng.chance(30) {
            let _ = writeln!(out, "  maxExpires: {}", duration(rng, 1, 300));
        }
        if rng.chance(20) {
            let _ = writeln!(out, "  maxBytes: {}", size(rng));
        }
        if minor >= 11 && rng.chance(25) {
            let _ = writeln!(
                out,
                "  priorityGroups: [jobs]\n  priorityPolicy: {}",
                rng.pick(&["overflow", "pinnedClient"])
            );
        }
    }
    metadata(rng, &mut out);
    out
}

fn key_value(rng: &mut Rng, case: u64, minor: u32) -> String {
    let mut out = format!("---\n{HEAD}kind: KeyValue\nmetadata:\n  name: kv{case}\nspec:\n");
    let _ = writeln!(out, "  history: {}", 1 + rng.below(64));
    let ttl = rng.chance(50);
    if ttl {
        let _ = writeln!(out, "  ttl: {}", duration(rng, 1, 7200));
    }
    if rng.chance(40) {
        let _ = writeln!(out, "  maxValueSize: {}", rng.pick(&["1KiB", "1MiB"]));
    }
    if rng.chance(40) {
        let _ = writeln!(out, "  maxBytes: {}", size(rng));
    }
    if rng.chance(40) {
        let _ = writeln!(out, "  storage: {}", rng.pick(&["file", "memory"]));
    }
    if rng.chance(30) {
        out.push_str("  compression: true\n");
    }
    if rng.chance(30) {
        out.push_str("  description: a bucket\n");
    }
    if minor >= 11 && ttl && rng.chance(40) {
        let _ = writeln!(out, "  limitMarkerTtl: {}", duration(rng, 1, 600));
    }
    if rng.chance(30) {
        let _ = writeln!(out, "  allowDirect: {}", rng.pick(&["true", "false"]));
    }
    if minor >= 11 && rng.chance(20) {
        out.push_str("  allowMsgTtl: true\n");
    }
    metadata(rng, &mut out);
    out
}

fn object_store(rng: &mut Rng, case: u64) -> String {
    let mut out = format!("---\n{HEAD}kind: ObjectStore\nmetadata:\n  name: obj{case}\nspec:\n");
    if rng.chance(50) {
        let _ = writeln!(out, "  ttl: {}", duration(rng, 1, 7200));
    }
    if rng.chance(50) {
        let _ = writeln!(out, "  maxBytes: {}", size(rng));
    }
    if rng.chance(40) {
        let _ = writeln!(out, "  storage: {}", rng.pick(&["file", "memory"]));
    }
    if rng.chance(30) {
        out.push_str("  compression: true\n");
    }
    metadata(rng, &mut out);
    out
}

fn documents(seed: u64, case: u64, minor: u32) -> String {
    let mut rng = Rng(seed.max(1));
    let (mut yaml, _) = stream(&mut rng, case, minor);
    for index in 0..(1 + rng.below(3)) {
        yaml.push_str(&consumer(&mut rng, case, index, minor));
    }
    yaml.push_str(&key_value(&mut rng, case, minor));
    yaml.push_str(&object_store(&mut rng, case));
    yaml
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn apply_then_plan_is_empty_for_generated_specs() {
    let server = require_nats!();
    let minor: u32 = server
        .version()
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let connection = nats::connect(&ConnectOptions {
        servers: vec![server.url()],
        timeout: Duration::from_secs(10),
        ..ConnectOptions::default()
    })
    .await
    .unwrap();
    let first_seed = env_u64("JETSYNC_PROPERTY_SEED").unwrap_or(0x5eed_0001);
    let cases = env_u64("JETSYNC_PROPERTY_CASES").unwrap_or(25);
    let mut valid = 0;
    for case in 0..cases {
        let seed = first_seed.wrapping_add(case.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let yaml = documents(seed, case, minor);
        let manifests = manifest::load_sources(&[SourceText {
            name: format!("case-{case}.yaml"),
            text: Arc::from(yaml.as_str()),
        }]);
        if !manifests.is_valid() {
            // The generator aims at valid specs; what validation refuses is
            // not a case for this property.
            continue;
        }
        valid += 1;
        let desired = desired_assets(&manifests.documents);
        let options = PlanOptions {
            owner: format!("case-{case}"),
            prune: false,
            adopt: false,
            allow_replace: false,
            server: engine::server_version(&connection).unwrap(),
            targets: None,
            prune_all: false,
            unmanaged_consumers: Default::default(),
            standalone: false,
        };
        let plan = engine::observe_and_plan(&connection, &desired, &options)
            .await
            .unwrap();
        assert!(
            !plan.has_errors(),
            "seed {seed}: {:#?}\n{yaml}",
            plan.diagnostics
        );
        let report = apply::run(connection.api(), &plan, &ApplyOptions::default()).await;
        assert!(
            report.converged(),
            "seed {seed}: apply failed: {:#?}\n{yaml}",
            report.results
        );
        let again = engine::observe_and_plan(&connection, &desired, &options)
            .await
            .unwrap();
        assert!(
            again.changes.is_empty(),
            "seed {seed} (replay with JETSYNC_PROPERTY_SEED={seed} JETSYNC_PROPERTY_CASES=1): apply then plan is not empty on nats-server {}:\n{:#?}\n{yaml}",
            server.version(),
            again
                .changes
                .iter()
                .map(|c| (c.address.to_string(), c.reason.clone(), c.diff.clone()))
                .collect::<Vec<_>>()
        );

        // Release what the case reserved: the server counts max_bytes of
        // every stream against its storage limit.
        for stream in [
            format!("S{case}"),
            format!("KV_kv{case}"),
            format!("OBJ_obj{case}"),
        ] {
            let _ = connection
                .api()
                .request_raw::<()>(&format!("STREAM.DELETE.{stream}"), None)
                .await;
        }
    }
    assert!(
        valid * 10 >= cases * 7,
        "only {valid} of {cases} generated cases were valid"
    );
}
