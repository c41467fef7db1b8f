//! jetsync against a real 3-node JetStream cluster on loopback: R3 streams,
//! KV buckets and consumers; replica and placement changes planned as
//! updates and applied; the meta leader killed in the middle of an apply
//! (a clear report, and a rerun converges); replicas beyond the cluster size
//! refused with a clear error that disturbs nothing else.

mod support;

#[path = "support/cluster.rs"]
mod cluster;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use async_nats::ServerAddr;
use serde_json::{Value, json};

use cluster::Cluster;
use support::js_api as api;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

fn command(urls: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jetsync"));
    command
        .args(args)
        .args(["--server", urls])
        .env("NO_COLOR", "1")
        .env_remove("NATS_URL")
        .env_remove("JETSYNC_OWNER")
        .env("XDG_CONFIG_HOME", "/nonexistent-jetsync-test")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    command
}

fn finished(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn jetsync(urls: &str, args: &[&str]) -> Run {
    finished(command(urls, args).output().expect("jetsync runs"))
}

/// `jetsync validate` takes no connection flags.
fn validate(path: &str) -> Run {
    finished(
        Command::new(env!("CARGO_BIN_EXE_jetsync"))
            .args(["validate", "-f", path])
            .env("NO_COLOR", "1")
            .output()
            .expect("jetsync runs"),
    )
}

fn plan_json(urls: &str, path: &str) -> Value {
    let run = jetsync(urls, &["plan", "--output", "json", "-f", path]);
    assert_eq!(run.code, 0, "{}", run.all());
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn change<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("{address} not in the plan: {plan}"))
}

fn diff_paths(change: &Value) -> BTreeSet<String> {
    change["diff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect()
}

/// `plan --detailed-exitcode`: 0 no changes, 2 changes, 1 error.
fn detailed_exitcode(urls: &str, path: &str) -> Run {
    jetsync(urls, &["plan", "--detailed-exitcode", "-f", path])
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn stream_yaml(name: &str, replicas: u32, tags: &[&str]) -> String {
    let mut text = format!(
        "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: {}\nspec:\n  \
         name: {name}\n  subjects: [\"{}.>\"]\n  replicas: {replicas}\n",
        name.to_lowercase().replace('_', "-"),
        name.to_lowercase()
    );
    if !tags.is_empty() {
        let tags: Vec<String> = tags.iter().map(|t| format!("\"{t}\"")).collect();
        text.push_str(&format!("  placement:\n    tags: [{}]\n", tags.join(", ")));
    }
    text
}

fn kv_yaml(bucket: &str, replicas: u32) -> String {
    format!(
        "apiVersion: jetsync.dev/v1alpha1\nkind: KeyValue\nmetadata:\n  name: {}\nspec:\n  \
         name: {bucket}\n  history: 3\n  replicas: {replicas}\n",
        bucket.to_lowercase().replace('_', "-")
    )
}

fn consumer_yaml(stream: &str, name: &str) -> String {
    format!(
        "apiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: {}-{name}\nspec:\n  \
         streamName: {stream}\n  name: {name}\n  ackPolicy: explicit\n",
        stream.to_lowercase().replace('_', "-")
    )
}

/// The plan right after a scale or a move: the server may list the stream
/// as missing for a moment (its group electing a leader); jetsync must then
/// refuse to plan it, never plan a create. Once the groups settle
/// (bounded), the plan is empty.
fn plan_settles(urls: &str, path: &str) {
    let plan = plan_json(urls, path);
    let changes = plan["changes"].as_array().unwrap();
    for change in changes {
        let refused = change["refused"].as_str().unwrap_or_default();
        assert!(refused.contains("but cannot describe it"), "{change}");
    }
    if !changes.is_empty() {
        eprintln!(
            "right after apply, {} asset(s) were still settling",
            changes.len()
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let again = detailed_exitcode(urls, path);
        if again.code == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{}", again.all());
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What apply printed from `Applying:` on, less the `✓` lines, and stderr.
fn report_without_successes(run: &Run) -> String {
    let report = run
        .stdout
        .find("\nApplying:")
        .map_or("", |at| &run.stdout[at..]);
    let lines: Vec<&str> = report.lines().filter(|l| !l.starts_with("  ✓ ")).collect();
    format!("{}\n{}", lines.join("\n"), run.stderr)
}

async fn client(cluster: &Cluster) -> async_nats::Client {
    let servers: Vec<ServerAddr> = cluster
        .urls()
        .split(',')
        .map(|url| url.parse().unwrap())
        .collect();
    async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(10)))
        .connect(servers)
        .await
        .unwrap()
}

/// [`api`], or `None` when the request fails (no answer in time, e.g. while
/// a group elects a leader or the client reconnects): for polling loops.
async fn try_api(client: &async_nats::Client, subject: &str) -> Option<Value> {
    let reply = client
        .request(format!("$JS.API.{subject}"), Vec::new().into())
        .await
        .ok()?;
    serde_json::from_slice(&reply.payload).ok()
}

/// The servers holding a replica of an asset, once its group has a leader
/// and `expected` members (polled: a new or rescaled group needs a moment).
async fn placed_on(client: &async_nats::Client, info_subject: &str, expected: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = try_api(client, info_subject).await.unwrap_or_default();
        let members = members(&info);
        if members.len() == expected || Instant::now() > deadline {
            return info;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Leader plus replicas from an INFO response's `cluster`; empty without a leader.
fn members(info: &Value) -> BTreeSet<String> {
    let cluster = &info["cluster"];
    let Some(leader) = cluster["leader"].as_str().filter(|l| !l.is_empty()) else {
        return BTreeSet::new();
    };
    let mut members: BTreeSet<String> = cluster["replicas"]
        .as_array()
        .map(|peers| {
            peers
                .iter()
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    members.insert(leader.to_string());
    members
}

fn all_nodes(cluster: &Cluster) -> BTreeSet<String> {
    cluster.names().into_iter().collect()
}

#[tokio::test]
async fn r3_stream_kv_bucket_and_consumer_are_created_on_three_servers() {
    let started = Instant::now();
    let cluster = require_cluster!();
    let up = started.elapsed();
    let urls = cluster.urls();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "assets.yaml",
        &format!(
            "{}---\n{}---\n{}",
            stream_yaml("ORDERS", 3, &[]),
            kv_yaml("settings", 3),
            consumer_yaml("ORDERS", "worker")
        ),
    );
    let path = dir.path().to_str().unwrap();

    let valid = validate(path);
    assert_eq!(valid.code, 0, "{}", valid.all());
    let plan = plan_json(&urls, path);
    assert_eq!(plan["summary"]["create"], 3, "{plan}");
    for address in ["stream/ORDERS", "kv/settings", "consumer/ORDERS/worker"] {
        assert_eq!(
            change(&plan, address)["actions"],
            json!(["create"]),
            "{plan}"
        );
    }
    assert_eq!(change(&plan, "stream/ORDERS")["after"]["num_replicas"], 3);
    assert_eq!(change(&plan, "kv/settings")["after"]["num_replicas"], 3);

    let apply = jetsync(&urls, &["apply", "-f", path]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.all(), cluster.logs());
    assert!(apply.stdout.contains("3 created"), "{}", apply.stdout);
    let again = detailed_exitcode(&urls, path);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);

    // The server reports three replicas on the three different servers.
    let client = client(&cluster).await;
    let nodes = all_nodes(&cluster);
    for stream in ["ORDERS", "KV_settings"] {
        let info = placed_on(&client, &format!("STREAM.INFO.{stream}"), 3).await;
        assert_eq!(info["config"]["num_replicas"], 3, "{info}");
        assert_eq!(info["cluster"]["name"], "C", "{info}");
        assert_eq!(members(&info), nodes, "{stream}: {info}");
    }
    let consumer = placed_on(&client, "CONSUMER.INFO.ORDERS.worker", 3).await;
    assert_eq!(members(&consumer), nodes, "{consumer}");
    eprintln!(
        "cluster of nats-server {} ready in {up:?}; test took {:?}",
        cluster.version(),
        started.elapsed()
    );
}

#[tokio::test]
async fn replica_and_placement_changes_are_planned_as_updates_and_applied() {
    let started = Instant::now();
    let cluster = require_cluster!();
    let urls = cluster.urls();
    let client = client(&cluster).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = |scale: u32, kv: u32, tag: &str| {
        format!(
            "{}---\n{}---\n{}",
            stream_yaml("SCALE", scale, &[]),
            kv_yaml("cache", kv),
            stream_yaml("MOVE", 1, &[tag])
        )
    };
    let file = write(dir.path(), "assets.yaml", &manifest(1, 1, "az:1"));
    let path = file.to_str().unwrap();
    let apply = jetsync(&urls, &["apply", "-f", path]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let moving = placed_on(&client, "STREAM.INFO.MOVE", 1).await;
    assert_eq!(
        members(&moving),
        BTreeSet::from(["n1".to_string()]),
        "{moving}"
    );

    // R1 → R3 for a stream and a KV bucket, and a placement move (tag az:1
    // → az:2): every one an in-place update, nothing replaced.
    write(dir.path(), "assets.yaml", &manifest(3, 3, "az:2"));
    let valid = validate(path);
    assert_eq!(valid.code, 0, "{}", valid.all());
    let plan = plan_json(&urls, path);
    assert_eq!(plan["summary"]["update"], 3, "{plan}");
    assert_eq!(plan["summary"]["replace"], 0, "{plan}");
    for (address, field) in [
        ("stream/SCALE", "replicas"),
        ("kv/cache", "replicas"),
        ("stream/MOVE", "placement"),
    ] {
        let change = change(&plan, address);
        assert_eq!(change["actions"], json!(["update"]), "{change}");
        assert_eq!(
            diff_paths(change),
            BTreeSet::from([field.to_string()]),
            "{change}"
        );
        assert_eq!(change["diff"][0]["forces_replacement"], false, "{change}");
    }
    assert_eq!(detailed_exitcode(&urls, path).code, 2);
    let apply = jetsync(&urls, &["apply", "-f", path]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.all(), cluster.logs());
    assert!(apply.stdout.contains("3 updated"), "{}", apply.stdout);
    plan_settles(&urls, path);

    let nodes = all_nodes(&cluster);
    for stream in ["SCALE", "KV_cache"] {
        let info = placed_on(&client, &format!("STREAM.INFO.{stream}"), 3).await;
        assert_eq!(info["config"]["num_replicas"], 3, "{info}");
        assert_eq!(members(&info), nodes, "{stream}: {info}");
    }
    // The move is carried out by the server after the update returns.
    let deadline = Instant::now() + Duration::from_secs(30);
    let moved = loop {
        let info = try_api(&client, "STREAM.INFO.MOVE")
            .await
            .unwrap_or_default();
        if members(&info) == BTreeSet::from(["n2".to_string()]) || Instant::now() > deadline {
            break info;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        members(&moved),
        BTreeSet::from(["n2".to_string()]),
        "{moved}"
    );
    assert_eq!(
        moved["config"]["placement"]["tags"],
        json!(["az:2"]),
        "{moved}"
    );

    // And back down: R3 → R1 in place.
    write(dir.path(), "assets.yaml", &manifest(1, 3, "az:2"));
    let plan = plan_json(&urls, path);
    assert_eq!(plan["summary"]["update"], 1, "{plan}");
    assert_eq!(change(&plan, "stream/SCALE")["actions"], json!(["update"]));
    let apply = jetsync(&urls, &["apply", "-f", path]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let scaled = placed_on(&client, "STREAM.INFO.SCALE", 1).await;
    assert_eq!(scaled["config"]["num_replicas"], 1, "{scaled}");
    assert_eq!(members(&scaled).len(), 1, "{scaled}");
    let again = detailed_exitcode(&urls, path);
    assert_eq!(again.code, 0, "{}", again.all());

    // Replicas and placement changed together: the server refuses to move
    // and scale in one update (10123), so the plan refuses it, names both
    // fields, and apply writes nothing for it. Done one after the other,
    // both apply.
    let both = |replicas: u32| {
        format!(
            "{}---\n{}---\n{}",
            stream_yaml("SCALE", 1, &[]),
            kv_yaml("cache", 3),
            stream_yaml("MOVE", replicas, &["disk:ssd"])
        )
    };
    write(dir.path(), "assets.yaml", &both(3));
    let plan = plan_json(&urls, path);
    assert_eq!(
        diff_paths(change(&plan, "stream/MOVE")),
        BTreeSet::from(["placement".to_string(), "replicas".to_string()]),
        "{plan}"
    );
    assert!(
        change(&plan, "stream/MOVE")["refused"]
            .as_str()
            .is_some_and(
                |reason| reason.contains("replicas and placement cannot change in the same update")
            ),
        "{plan}"
    );
    let before = api(&client, "STREAM.INFO.MOVE", Value::Null).await;
    let apply = jetsync(&urls, &["apply", "-f", path]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    let refused = apply
        .stdout
        .lines()
        .find(|l| l.starts_with("  - stream/MOVE: skipped (refused: "))
        .unwrap_or_else(|| panic!("no refusal line for stream/MOVE:\n{}", apply.stdout));
    assert!(refused.contains("10123"), "{refused}");
    assert!(
        refused.contains("replicas and placement cannot change in the same update"),
        "{refused}"
    );
    let after = api(&client, "STREAM.INFO.MOVE", Value::Null).await;
    assert_eq!(after["config"], before["config"]);
    write(dir.path(), "assets.yaml", &both(1));
    let apply = jetsync(&urls, &["apply", "-f", path]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    // Wait for the move (if the server moves at all) to settle on one server.
    let settled = placed_on(&client, "STREAM.INFO.MOVE", 1).await;
    assert_eq!(settled["config"]["placement"]["tags"], json!(["disk:ssd"]));
    write(dir.path(), "assets.yaml", &both(3));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // A scale while the server still finishes the move is refused
        // (moving); the rerun converges.
        let apply = jetsync(&urls, &["apply", "-f", path]);
        if apply.code == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{}", apply.all());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let scaled = placed_on(&client, "STREAM.INFO.MOVE", 3).await;
    assert_eq!(members(&scaled), nodes, "{scaled}");
    let again = detailed_exitcode(&urls, path);
    assert_eq!(again.code, 0, "{}", again.all());
    eprintln!("test took {:?}", started.elapsed());
}

/// Streams, KV buckets and consumers for the fault test.
const FAULT_STREAMS: usize = 40;
const FAULT_BUCKETS: usize = 10;

#[tokio::test]
async fn meta_leader_killed_mid_apply_is_reported_and_a_rerun_converges() {
    let started = Instant::now();
    let mut cluster = require_cluster!();
    let urls = cluster.urls();
    let dir = tempfile::tempdir().unwrap();
    let mut docs = Vec::new();
    for i in 0..FAULT_STREAMS {
        let stream = format!("S{i:02}");
        docs.push(stream_yaml(&stream, 3, &[]));
        docs.push(consumer_yaml(&stream, "worker"));
    }
    for i in 0..FAULT_BUCKETS {
        docs.push(kv_yaml(&format!("bucket{i:02}"), 3));
    }
    let total = FAULT_STREAMS * 2 + FAULT_BUCKETS;
    write(dir.path(), "assets.yaml", &docs.join("---\n"));
    let path = dir.path().to_str().unwrap();
    assert_eq!(validate(path).code, 0);

    let leader_name = cluster.meta_leader().expect("a meta leader");
    let leader = cluster.index_of(&leader_name).unwrap();
    let follower = (leader + 1) % cluster::NODES;

    // Start the apply, and kill -9 the meta leader as soon as the first
    // stream exists: the apply is then in its stream phase, with the
    // buckets and consumers still to come.
    let mut child: Child = command(&urls, &["apply", "-f", path])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("jetsync runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    let streams_at_kill = loop {
        let streams = cluster
            .jsz(follower)
            .ok()
            .and_then(|jsz| jsz["streams"].as_u64())
            .unwrap_or(0);
        if streams > 0 {
            break streams;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply finished before any stream existed"
        );
        assert!(Instant::now() < deadline, "no stream appeared within 30s");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        child.try_wait().unwrap().is_none(),
        "apply had already finished: the kill would not be mid-apply"
    );
    cluster.kill(leader);
    let killed_at = Instant::now();
    let first = finished(child.wait_with_output().unwrap());
    let apply_after_kill = killed_at.elapsed();
    eprintln!(
        "killed meta leader {leader_name} with {streams_at_kill} stream(s) created; \
         apply exited {} {apply_after_kill:?} later:\n{}",
        first.code,
        report_without_successes(&first)
    );

    // Either everything was done, or exit 1 with every change accounted for:
    // done (✓), failed with the reason (✗), or skipped with the reason (-).
    assert!(matches!(first.code, 0 | 1), "{}", first.all());
    let lines: Vec<&str> = first
        .stdout
        .lines()
        .filter(|l| l.starts_with("  ✓ ") || l.starts_with("  ✗ ") || l.starts_with("  - "))
        .collect();
    assert_eq!(
        lines.len(),
        total,
        "one report line per change:\n{}",
        first.stdout
    );
    let failed: Vec<&&str> = lines.iter().filter(|l| l.starts_with("  ✗ ")).collect();
    let skipped: Vec<&&str> = lines.iter().filter(|l| l.starts_with("  - ")).collect();
    for line in &failed {
        // "  ✗ stream/S07: failed: JetStream API $JS.API.STREAM.CREATE.S07 …"
        let (address, reason) = line[5..]
            .split_once(": failed: ")
            .unwrap_or_else(|| panic!("unclear failure line: {line}"));
        assert!(
            address.starts_with("stream/")
                || address.starts_with("kv/")
                || address.starts_with("consumer/"),
            "{line}"
        );
        assert!(reason.contains("JetStream API"), "{line}");
        assert!(!reason.contains("panicked"), "{line}");
    }
    for line in &skipped {
        assert!(line.contains(": skipped ("), "{line}");
        assert!(line.contains("was not written"), "{line}");
    }
    let summary = first
        .stdout
        .lines()
        .find(|l| l.starts_with("Apply: "))
        .unwrap_or_else(|| panic!("no summary:\n{}", first.all()));
    assert!(
        summary.contains(&format!(
            "{} skipped, {} failed.",
            skipped.len(),
            failed.len()
        )),
        "{summary}"
    );
    if first.code == 0 {
        assert!(failed.is_empty() && skipped.is_empty(), "{}", first.stdout);
    } else {
        assert!(
            !failed.is_empty(),
            "exit 1 names what failed:\n{}",
            first.all()
        );
    }

    // Bring the node back; rerun apply until it converges (bounded).
    let rejoined = cluster.restart(leader);
    eprintln!("{leader_name} restarted and the cluster was ready in {rejoined:?}");
    let mut reruns = Vec::new();
    for _ in 0..4 {
        let rerun = jetsync(&urls, &["apply", "-f", path]);
        reruns.push(rerun.code);
        if rerun.code == 0 {
            break;
        }
        eprintln!("rerun did not converge yet:\n{}", rerun.all());
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(
        reruns.last(),
        Some(&0),
        "reruns {reruns:?}\n{}",
        cluster.logs()
    );
    let plan = detailed_exitcode(&urls, path);
    assert_eq!(plan.code, 0, "{}", plan.all());

    let client = client(&cluster).await;
    let nodes = all_nodes(&cluster);
    for stream in ["S00", "S39", "KV_bucket00", "KV_bucket09"] {
        let info = placed_on(&client, &format!("STREAM.INFO.{stream}"), 3).await;
        assert_eq!(info["config"]["num_replicas"], 3, "{info}");
        assert_eq!(members(&info), nodes, "{stream}: {info}");
    }
    eprintln!("reruns {reruns:?}; test took {:?}", started.elapsed());
}

#[tokio::test]
async fn replicas_beyond_the_cluster_size_fail_clearly_and_disturb_nothing() {
    let started = Instant::now();
    let cluster = require_cluster!();
    let urls = cluster.urls();
    let client = client(&cluster).await;
    let dir = tempfile::tempdir().unwrap();

    // Already there: a managed R3 stream with a consumer, and a stream
    // nobody manages.
    write(
        dir.path(),
        "keep.yaml",
        &format!(
            "{}---\n{}",
            stream_yaml("KEEP", 3, &[]),
            consumer_yaml("KEEP", "reader")
        ),
    );
    let apply = jetsync(&urls, &["apply", "-f", dir.path().to_str().unwrap()]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let other = api(
        &client,
        "STREAM.CREATE.OTHER",
        json!({"name": "OTHER", "subjects": ["other.>"], "num_replicas": 3}),
    )
    .await;
    assert!(other.get("error").is_none(), "{other}");
    let keep_before = placed_on(&client, "STREAM.INFO.KEEP", 3).await;
    let reader_before = api(&client, "CONSUMER.INFO.KEEP.reader", Value::Null).await;
    let other_before = placed_on(&client, "STREAM.INFO.OTHER", 3).await;

    // New: an R3 stream, a bucket and consumers that fit, and one stream
    // asking for five replicas on three servers (with a consumer on it).
    write(
        dir.path(),
        "new.yaml",
        &[
            stream_yaml("FRESH", 3, &[]),
            stream_yaml("BIG", 5, &[]),
            consumer_yaml("BIG", "reader"),
            consumer_yaml("FRESH", "reader"),
            kv_yaml("after", 3),
        ]
        .join("---\n"),
    );
    let path = dir.path().to_str().unwrap();
    let valid = validate(path);
    assert_eq!(valid.code, 0, "{}", valid.all());
    let plan = plan_json(&urls, path);
    assert_eq!(plan["summary"]["create"], 5, "{plan}");
    assert_eq!(change(&plan, "stream/BIG")["after"]["num_replicas"], 5);
    // This account cannot read the cluster's servers: the plan says that
    // replicas and placement are left to the server.
    let unchecked = plan["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["summary"]
                .as_str()
                .unwrap_or_default()
                .contains("not checked against the cluster")
        })
        .unwrap_or_else(|| panic!("no warning that placement is unchecked: {plan}"));
    assert_eq!(unchecked["severity"], "warning", "{unchecked}");
    let summary = unchecked["summary"].as_str().unwrap();
    for address in ["stream/BIG", "stream/FRESH", "kv/after"] {
        assert!(summary.contains(address), "{address}: {summary}");
    }
    assert!(summary.contains("no responders"), "{summary}");

    let apply = jetsync(&urls, &["apply", "-f", path]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    let out = &apply.stdout;
    let big = out
        .lines()
        .find(|l| l.starts_with("  ✗ stream/BIG: failed: "))
        .unwrap_or_else(|| panic!("no failure line for stream/BIG:\n{out}"));
    // The server's answer, by number, and the field it is about.
    assert!(big.contains("err_code 10005"), "{big}");
    assert!(big.contains("no suitable peers for placement"), "{big}");
    assert!(
        big.contains("fewer than 5 servers of the cluster fit replicas: 5"),
        "{big}"
    );
    assert!(
        out.contains("  - consumer/BIG/reader: skipped (its stream `BIG` was not written)"),
        "{out}"
    );
    for done in [
        "  ✓ stream/FRESH: created",
        "  ✓ kv/after: created",
        "  ✓ consumer/FRESH/reader: created",
    ] {
        assert!(out.contains(done), "{done}:\n{out}");
    }
    assert!(
        out.contains(
            "Apply: 3 created, 0 updated, 0 replaced, 0 deleted, 0 adopted, 1 skipped, 1 failed."
        ),
        "{out}"
    );

    // Nothing else disturbed: BIG absent, the others as they were.
    let missing = api(&client, "STREAM.INFO.BIG", Value::Null).await;
    assert_eq!(missing["error"]["err_code"], 10059, "{missing}");
    let keep_after = placed_on(&client, "STREAM.INFO.KEEP", 3).await;
    assert_eq!(keep_after["config"], keep_before["config"]);
    assert_eq!(keep_after["created"], keep_before["created"]);
    let reader_after = api(&client, "CONSUMER.INFO.KEEP.reader", Value::Null).await;
    assert_eq!(reader_after["config"], reader_before["config"]);
    let other_after = placed_on(&client, "STREAM.INFO.OTHER", 3).await;
    assert_eq!(other_after["config"], other_before["config"]);
    let fresh = placed_on(&client, "STREAM.INFO.FRESH", 3).await;
    assert_eq!(members(&fresh), all_nodes(&cluster), "{fresh}");

    // The rest converged: only BIG (and its consumer) are still pending.
    let plan = plan_json(&urls, path);
    let pending: BTreeSet<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        pending,
        BTreeSet::from(["stream/BIG", "consumer/BIG/reader"]),
        "{plan}"
    );

    // An update beyond the cluster size is refused the same way and leaves
    // the stream as it was.
    std::fs::remove_file(dir.path().join("new.yaml")).unwrap();
    write(
        dir.path(),
        "keep.yaml",
        &format!(
            "{}---\n{}",
            stream_yaml("KEEP", 5, &[]),
            consumer_yaml("KEEP", "reader")
        ),
    );
    let plan = plan_json(&urls, path);
    assert_eq!(
        change(&plan, "stream/KEEP")["actions"],
        json!(["update"]),
        "{plan}"
    );
    let apply = jetsync(&urls, &["apply", "-f", path]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    let keep = apply
        .stdout
        .lines()
        .find(|l| l.starts_with("  ✗ stream/KEEP: failed: "))
        .unwrap_or_else(|| panic!("no failure line for stream/KEEP:\n{}", apply.stdout));
    assert!(keep.contains("err_code 10005"), "{keep}");
    assert!(keep.contains("fit replicas: 5"), "{keep}");
    let keep_after = api(&client, "STREAM.INFO.KEEP", Value::Null).await;
    assert_eq!(keep_after["config"], keep_before["config"]);
    eprintln!("test took {:?}", started.elapsed());
}

#[tokio::test]
async fn an_asset_on_a_dead_node_is_refused_not_planned_as_a_create() {
    let started = Instant::now();
    let mut cluster = require_cluster!();
    let urls = cluster.urls();
    let client = client(&cluster).await;
    let dir = tempfile::tempdir().unwrap();
    // One replica, pinned to n3; and an R3 stream that survives n3's loss.
    write(
        dir.path(),
        "assets.yaml",
        &[
            stream_yaml("LONELY", 1, &["az:3"]),
            consumer_yaml("LONELY", "reader"),
            stream_yaml("SAFE", 3, &[]),
        ]
        .join("---\n"),
    );
    let path = dir.path().to_str().unwrap();
    let apply = jetsync(&urls, &["apply", "-f", path]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let lonely = placed_on(&client, "STREAM.INFO.LONELY", 1).await;
    assert_eq!(
        members(&lonely),
        BTreeSet::from(["n3".to_string()]),
        "{lonely}"
    );
    placed_on(&client, "STREAM.INFO.SAFE", 3).await;

    let n3 = cluster.index_of("n3").unwrap();
    cluster.kill(n3);
    cluster
        .wait_ready()
        .unwrap_or_else(|e| panic!("{e}\n{}", cluster.logs()));
    // SAFE's group elects a new leader among the survivors (if n3 led it).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let safe = try_api(&client, "STREAM.INFO.SAFE")
            .await
            .unwrap_or_default();
        let leader = safe["cluster"]["leader"].as_str().unwrap_or_default();
        if !leader.is_empty() && leader != "n3" {
            break;
        }
        assert!(Instant::now() < deadline, "{safe}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(client);
    // Listing names LONELY (missing or offline) without its config: it
    // must not look absent, so no create is planned or sent for it.
    let survivors = format!("{},{}", cluster.url(0), cluster.url(1));
    let plan = plan_json(&survivors, path);
    eprintln!(
        "{:?} plan with n3 down: {}",
        started.elapsed(),
        plan["changes"]
    );
    for address in ["stream/LONELY", "consumer/LONELY/reader"] {
        let change = change(&plan, address);
        let refused = change["refused"].as_str().unwrap_or_default();
        assert!(
            refused.contains("the server lists stream LONELY but cannot describe it"),
            "{change}"
        );
    }
    let pending: BTreeSet<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        pending,
        BTreeSet::from(["stream/LONELY", "consumer/LONELY/reader"]),
        "SAFE is in sync: {plan}"
    );
    let apply = jetsync(&survivors, &["apply", "-f", path]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    eprintln!(
        "{:?} apply with n3 down:{}",
        started.elapsed(),
        report_without_successes(&apply)
    );
    assert!(
        apply
            .stdout
            .contains("  - stream/LONELY: skipped (refused: the server lists stream LONELY"),
        "{}",
        apply.stdout
    );
    assert!(apply.stdout.contains("0 created"), "{}", apply.stdout);

    // Back up: nothing was recreated, and the plan is empty.
    let rejoined = cluster.restart(n3);
    eprintln!("{:?} n3 rejoined in {rejoined:?}", started.elapsed());
    let client = self::client(&cluster).await;
    let back = placed_on(&client, "STREAM.INFO.LONELY", 1).await;
    assert_eq!(back["created"], lonely["created"], "{back}");
    let again = detailed_exitcode(&urls, path);
    assert_eq!(again.code, 0, "{}", again.all());
    eprintln!("test took {:?}", started.elapsed());
}

#[tokio::test]
async fn quorum_lost_mid_apply_fails_naming_what_was_not_done_and_a_rerun_converges() {
    let started = Instant::now();
    let mut cluster = require_cluster!();
    eprintln!("quorum: cluster up in {:?}", started.elapsed());
    let urls = cluster.urls();
    let dir = tempfile::tempdir().unwrap();
    let mut docs = Vec::new();
    for i in 0..20 {
        let stream = format!("Q{i:02}");
        docs.push(stream_yaml(&stream, 3, &[]));
        docs.push(consumer_yaml(&stream, "worker"));
    }
    docs.push(kv_yaml("quorum", 3));
    write(dir.path(), "assets.yaml", &docs.join("---\n"));
    let path = dir.path().to_str().unwrap();

    // Two of three nodes die (the meta leader and one more) once the first
    // stream exists: the survivor has no quorum, so nothing more can be
    // written. A short request timeout keeps the retries brief.
    let leader = cluster
        .index_of(&cluster.meta_leader().expect("a meta leader"))
        .unwrap();
    let other = (leader + 1) % cluster::NODES;
    let survivor = (leader + 2) % cluster::NODES;
    let mut child = command(&urls, &["apply", "--timeout", "1s", "-f", path])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("jetsync runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster
        .jsz(survivor)
        .ok()
        .and_then(|jsz| jsz["streams"].as_u64())
        .unwrap_or(0)
        == 0
    {
        assert!(child.try_wait().unwrap().is_none(), "apply finished first");
        assert!(Instant::now() < deadline, "no stream appeared within 30s");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(child.try_wait().unwrap().is_none(), "apply finished first");
    cluster.kill(leader);
    cluster.kill(other);
    let killed_at = Instant::now();
    let run = finished(child.wait_with_output().unwrap());
    eprintln!(
        "quorum lost at {:?}; apply exited {} {:?} later:{}",
        killed_at - started,
        run.code,
        killed_at.elapsed(),
        report_without_successes(&run)
    );

    // Exit 1; every change accounted for; what was not done is named with
    // the reason: the failed writes with the API call and why, what
    // depends on them as skipped.
    assert_eq!(run.code, 1, "{}", run.all());
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("  ✓ ") || l.starts_with("  ✗ ") || l.starts_with("  - "))
        .collect();
    assert_eq!(lines.len(), docs.len(), "{}", run.stdout);
    let failed: Vec<&&str> = lines.iter().filter(|l| l.starts_with("  ✗ ")).collect();
    assert!(!failed.is_empty(), "{}", run.stdout);
    for line in &failed {
        assert!(line.contains(": failed: JetStream API $JS.API."), "{line}");
        assert!(
            line.contains("(gave up after"),
            "transient, retried: {line}"
        );
    }
    for line in lines.iter().filter(|l| l.starts_with("  - ")) {
        assert!(line.contains("skipped (its stream `Q"), "{line}");
        assert!(line.ends_with("` was not written)"), "{line}");
    }
    assert!(
        run.stdout.contains(&format!("{} failed.", failed.len())),
        "{}",
        run.stdout
    );

    // Quorum back: the rerun converges and the plan is empty.
    let rejoined = cluster
        .rejoin(&[leader, other])
        .unwrap_or_else(|e| panic!("{e}\n{}", cluster.logs()));
    eprintln!("both nodes back; cluster ready in {rejoined:?}");
    let mut reruns = Vec::new();
    for _ in 0..4 {
        let rerun = jetsync(&urls, &["apply", "-f", path]);
        reruns.push(rerun.code);
        if rerun.code == 0 {
            break;
        }
        eprintln!(
            "rerun did not converge yet:{}",
            report_without_successes(&rerun)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(
        reruns.last(),
        Some(&0),
        "reruns {reruns:?}\n{}",
        cluster.logs()
    );
    let plan = detailed_exitcode(&urls, path);
    assert_eq!(plan.code, 0, "{}", plan.all());
    eprintln!("reruns {reruns:?}; test took {:?}", started.elapsed());
}

/// Accounts where the application's account imports the system account's
/// `$SYS.REQ.SERVER.PING.JSZ` (as a stream of answers), so that it may read
/// the cluster's servers; unauthenticated clients are that account's.
const SYSTEM_SERVICE_IMPORTED: &str = r#"
accounts {
  SYS { users: [{user: sys, password: sys}], exports: [{service: "$SYS.REQ.SERVER.PING.JSZ", response: stream}] }
  APP { jetstream: enabled, users: [{user: app, password: app}], imports: [{service: {account: SYS, subject: "$SYS.REQ.SERVER.PING.JSZ"}}] }
}
system_account: SYS
no_auth_user: app
"#;

/// Waits until every one of the cluster's JetStream servers answers
/// `$SYS.REQ.SERVER.PING.JSZ` within the plan's bound: right after the
/// cluster forms (and on a loaded machine) one may not answer yet, and the
/// plan would then only warn that it could not check.
async fn every_server_answers_for_the_topology(client: &async_nats::Client) {
    use jetsync::plan::topology::Topology;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let last = match jetsync::nats::topology::read(client, "", Duration::from_secs(2)).await {
            Topology::Known { servers, .. } if servers.len() == 3 => return,
            Topology::Known { servers, .. } => format!("{} servers", servers.len()),
            Topology::Unreadable(why) => why,
        };
        assert!(
            Instant::now() < deadline,
            "the cluster's servers did not all answer within 60s: {last}"
        );
    }
}

/// With an account that may read the cluster's servers, replicas beyond the
/// cluster's size and placement tags no server has are plan errors at the
/// field, before anything is written; what fits is planned and applied.
#[tokio::test]
async fn replicas_and_placement_no_cluster_can_hold_are_plan_errors_when_the_servers_can_be_read() {
    let cluster = require_cluster!(SYSTEM_SERVICE_IMPORTED);
    let urls = cluster.urls();
    let client = client(&cluster).await;
    every_server_answers_for_the_topology(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();

    let file = write(
        dir.path(),
        "streams.yaml",
        &[
            stream_yaml("FITS", 3, &["disk:ssd"]),
            stream_yaml("BIG", 5, &[]),
            stream_yaml("NOWHERE", 1, &["az:9"]),
            stream_yaml("NARROW", 3, &["az:2"]),
        ]
        .join("---\n"),
    );
    let plan = jetsync(&urls, &["plan", "-o", "json", "-f", path]);
    assert_eq!(plan.code, 1, "{}", plan.all());
    let document: Value = serde_json::from_str(&plan.stdout).unwrap();
    let errors: Vec<&Value> = document["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    let about = |address: &str| {
        errors
            .iter()
            .find(|d| {
                d["summary"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{address}:"))
            })
            .unwrap_or_else(|| panic!("no error about {address}: {document}"))
    };
    let big = about("stream/BIG");
    assert!(
        big["summary"]
            .as_str()
            .unwrap()
            .contains("replicas: 5 needs 5 servers, and cluster `C` has 3"),
        "{big}"
    );
    assert_eq!(big["field"], "spec.replicas", "{big}");
    assert_eq!(big["file"], file.display().to_string(), "{big}");
    let nowhere = about("stream/NOWHERE");
    assert!(
        nowhere["summary"]
            .as_str()
            .unwrap()
            .contains("placement tags `az:9` match 0 of the 3 servers of cluster `C`"),
        "{nowhere}"
    );
    assert_eq!(nowhere["field"], "spec.placement", "{nowhere}");
    let narrow = about("stream/NARROW");
    assert!(
        narrow["summary"]
            .as_str()
            .unwrap()
            .contains("match 1 of the 3 servers"),
        "{narrow}"
    );
    assert_eq!(errors.len(), 3, "only the three misfits: {document}");
    assert!(
        !plan.all().contains("not checked against the cluster"),
        "the servers were read: {}",
        plan.all()
    );

    // apply refuses the same plan before writing anything.
    let apply = jetsync(&urls, &["apply", "-f", path]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    for name in ["FITS", "BIG", "NOWHERE", "NARROW"] {
        let info = api(&client, &format!("STREAM.INFO.{name}"), Value::Null).await;
        assert_eq!(
            info["error"]["err_code"], 10059,
            "{name} was not written: {info}"
        );
    }

    // What fits applies, on the three servers that have the tag.
    write(
        dir.path(),
        "streams.yaml",
        &stream_yaml("FITS", 3, &["disk:ssd"]),
    );
    let apply = jetsync(&urls, &["apply", "-f", path]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let fits = placed_on(&client, "STREAM.INFO.FITS", 3).await;
    assert_eq!(members(&fits), all_nodes(&cluster), "{fits}");
    let settled = detailed_exitcode(&urls, path);
    assert_eq!(settled.code, 0, "{}", settled.all());
}
