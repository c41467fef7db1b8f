//! Kill trials: `kill -9` at random points of an `apply` that has hundreds of
//! changes to make, then rerun it. Twenty trials kill the nats-server (and
//! restart it on the same store directory), twenty kill the `jetsync apply`
//! process. After every trial a rerun of `apply` converges (the plan
//! afterwards is empty), no unmanaged asset changed in any way, and no stream
//! holding messages lost one (the workload never asks for their release: the
//! plan before each apply is checked for that).
//!
//! The workload (about 300 declared assets) alternates between two declared
//! variants, A and B, so every trial's apply has ~300 changes to make:
//! creates and (with `--prune`) deletes of variant-only streams, consumers and
//! buckets, in-place updates of streams, consumers and buckets that hold
//! messages, and (with `--allow-replace`) replacements of empty streams
//! (storage file ↔ memory) and consumers (ack policy explicit ↔ all). Before
//! each trial a few declared assets are also deleted or changed out of band.
//!
//! Each trial prints `seed=0x…`; `JETSYNC_KILL_SEED=0x… cargo test --test
//! nats_kill_trials <test>` replays that one trial (same direction, same
//! out-of-band changes, the kill at the same fraction of the apply's measured
//! duration; which change it lands on still depends on the machine's speed). `JETSYNC_KILL_TRIALS=N` changes the
//! number of trials.
//!
//! The server runs with `jetstream { sync_interval: always }`: the messages
//! under watch are acknowledged long before any kill, but the guarantee under
//! test is jetsync's (it never deletes, purges or shrinks what holds them),
//! not the server's flush policy, so the server is told to write every
//! message before acknowledging it.
//!
//! What the server itself loses is recorded, not blamed on jetsync:
//! memory-storage streams do not survive a restart, and a kill while the
//! server writes a stream's files can leave a stream it "could not recover"
//! (`/healthz` 503; seen on 2.10 and 2.15). Such a stream is missing from the
//! listing, so the rerun creates it again and the server reads it back from
//! its directory, messages included (checked exactly for the streams holding
//! messages). A stream whose delete was cut off stays behind as a directory
//! the API does not show, and `/healthz` keeps naming it: the trials assert
//! that what the server still cannot recover after convergence is not
//! declared.

//!
//! Every replaced (FLIP) stream also holds another application's durable
//! consumer, made by hand; the trials apply with `--unmanaged-consumers
//! recreate`, and after every jetsync kill the rerun must have created each
//! of them again with its config (a replacement keeps their configs in a
//! holder stream from before the old stream's delete until they exist again).

#[path = "support/kill.rs"]
mod kill;
mod support;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kill::{Health, KillableServer};
use serde_json::{Value, json};
use support::NatsServer;
use support::js_api as api;

/// Trials per kind (issue #7: 20 each).
const TRIALS: u64 = 20;
/// The flags of every apply and plan: variant-only assets are pruned and
/// immutable changes replace, so each switch of variant is full of work.
/// Requests time out after 2 s (default 5 s): a request in flight when the
/// server dies gets no answer, and the interrupted apply retries it sooner.
/// Other applications' consumers on replaced streams are created again
/// after them (`--unmanaged-consumers recreate`): none may disappear.
const FLAGS: &[&str] = &[
    "--prune",
    "--allow-replace",
    "--unmanaged-consumers",
    "recreate",
    "--timeout",
    "2s",
];

/// Streams that hold messages, declared in both variants (updated in place).
const HELD: usize = 30;
const HELD_MESSAGES: usize = 50;
/// Empty streams declared in both variants (updated in place), each with a
/// consumer updated in place and one replaced (ack policy).
const PLAIN: usize = 40;
/// Empty streams whose storage flips, so they are replaced.
const FLIP: usize = 10;
/// Streams (each with a consumer) only variant A declares, and as many only B does.
const ONLY: usize = 30;
/// KV buckets in both variants; the first `KV_HELD` hold keys.
const KV: usize = 10;
const KV_HELD: usize = 5;
const KV_KEYS: usize = 20;
/// KV buckets only variant A declares, and as many only B does.
const KV_ONLY: usize = 5;
/// Streams made by hand (never declared), each with a consumer and messages;
/// some carry another owner's marker.
const HAND: usize = 10;
const HAND_MESSAGES: usize = 20;

/// How long an apply may run after the server came back before it counts as hung.
const APPLY_DEADLINE: Duration = Duration::from_secs(60);
/// Reruns allowed after a kill before the trial fails.
const MAX_RERUNS: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kill {
    Server,
    Jetsync,
}

/// A small deterministic generator (SplitMix64): the seeds printed replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

fn variant_label(variant: usize) -> &'static str {
    ["a", "b"][variant]
}

fn stream_doc(
    name: &str,
    subject: &str,
    description: &str,
    storage: &str,
    max_age: &str,
) -> String {
    let meta = name.to_lowercase().replace('_', "-");
    format!(
        "---\napiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: {meta}\nspec:\n  \
         name: {name}\n  description: {description}\n  subjects: [\"{subject}\"]\n  \
         storage: {storage}\n  maxAge: {max_age}\n"
    )
}

fn consumer_doc(stream: &str, name: &str, description: &str, ack: &str, ack_wait: &str) -> String {
    let meta = format!("{}-{name}", stream.to_lowercase().replace('_', "-"));
    format!(
        "---\napiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: {meta}\n\
         spec:\n  streamName: {stream}\n  name: {name}\n  description: {description}\n  \
         ackPolicy: {ack}\n  ackWait: {ack_wait}\n  maxDeliver: 5\n"
    )
}

fn kv_doc(bucket: &str, description: &str) -> String {
    format!(
        "---\napiVersion: jetsync.dev/v1alpha1\nkind: KeyValue\nmetadata:\n  name: {bucket}\n\
         spec:\n  description: {description}\n  history: 3\n  storage: file\n"
    )
}

fn held_stream(i: usize) -> String {
    format!("HELD_{i:02}")
}

fn kv_bucket(i: usize) -> String {
    format!("kvc-{i:02}")
}

/// Writes both variants' manifests, one directory each, and returns them.
fn write_variants(root: &Path) -> [PathBuf; 2] {
    [0, 1].map(|variant| {
        let v = variant_label(variant);
        let dir = root.join(format!("variant-{v}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut held = String::new();
        for i in 0..HELD {
            let name = held_stream(i);
            let age = ["30d", "60d"][variant];
            held += &stream_doc(
                &name,
                &format!("held.{i}.>"),
                &format!("held {i} {v}"),
                "file",
                age,
            );
            held += &consumer_doc(&name, "reader", &format!("reader {v}"), "explicit", "30s");
            held += &consumer_doc(&name, "audit", "audit", "explicit", "1m");
        }
        let mut plain = String::new();
        for i in 0..PLAIN {
            let name = format!("PLAIN_{i:02}");
            plain += &stream_doc(
                &name,
                &format!("plain.{i}.>"),
                &format!("plain {i} {v}"),
                "file",
                "1d",
            );
            let wait = ["30s", "45s"][variant];
            plain += &consumer_doc(&name, "worker", &format!("worker {v}"), "explicit", wait);
            plain += &consumer_doc(&name, "mode", "mode", ["explicit", "all"][variant], "30s");
        }
        let mut flip = String::new();
        for i in 0..FLIP {
            let name = format!("FLIP_{i:02}");
            let storage = ["file", "memory"][variant];
            flip += &stream_doc(&name, &format!("flip.{i}.>"), "flip", storage, "1d");
            flip += &consumer_doc(&name, "follower", "follower", "explicit", "30s");
        }
        let mut only = String::new();
        for i in 0..ONLY {
            let name = format!("ONLY_{}_{i:02}", v.to_uppercase());
            only += &stream_doc(&name, &format!("only.{v}.{i}.>"), "only", "file", "1d");
            only += &consumer_doc(&name, "only", "only", "explicit", "30s");
        }
        let mut kv = String::new();
        for i in 0..KV {
            kv += &kv_doc(&kv_bucket(i), &format!("bucket {i} {v}"));
        }
        for i in 0..KV_ONLY {
            kv += &kv_doc(&format!("kv-only-{v}-{i:02}"), "only");
        }
        for (file, text) in [
            ("held.yaml", held),
            ("plain.yaml", plain),
            ("flip.yaml", flip),
            ("only.yaml", only),
            ("kv.yaml", kv),
        ] {
            std::fs::write(dir.join(file), text).unwrap();
        }
        dir
    })
}

/// How many assets a variant declares.
fn declared_assets() -> usize {
    HELD * 3 + PLAIN * 3 + FLIP * 2 + ONLY * 2 + KV + KV_ONLY
}

fn jetsync_command(url: &str, command: &str, dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jetsync"));
    cmd.arg(command)
        .args(FLAGS)
        .args(extra)
        .arg("-f")
        .arg(dir)
        .args(["--server", url])
        .env("NO_COLOR", "1")
        .env_remove("NATS_URL")
        .env_remove("JETSYNC_OWNER")
        .env("XDG_CONFIG_HOME", "/nonexistent-jetsync-test")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    cmd
}

/// `jetsync apply` to completion: (exit code, output, duration).
fn apply(url: &str, dir: &Path) -> (i32, String, Duration) {
    let started = Instant::now();
    let out = jetsync_command(url, "apply", dir, &[])
        .output()
        .expect("jetsync runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text, started.elapsed())
}

/// `jetsync plan --output json`: the plan document.
fn plan_json(url: &str, dir: &Path) -> Value {
    let out = jetsync_command(url, "plan", dir, &["--output", "json"])
        .output()
        .expect("jetsync runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "plan failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the plan is JSON")
}

/// Pending changes and drift corrections in a plan document.
fn changes(plan: &Value) -> Vec<&Value> {
    ["changes", "drift"]
        .iter()
        .filter_map(|key| plan[key].as_array())
        .flatten()
        .collect()
}

/// `jetsync plan --detailed-exitcode`: (exit code, output).
fn plan_exitcode(url: &str, dir: &Path) -> (i32, String) {
    let out = jetsync_command(url, "plan", dir, &["--detailed-exitcode"])
        .output()
        .expect("jetsync runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

async fn connect(url: &str) -> async_nats::Client {
    support::client(url).await
}

async fn api_ok(client: &async_nats::Client, subject: &str, body: Value) -> Value {
    let reply = api(client, subject, body).await;
    assert!(reply.get("error").is_none(), "{subject}: {reply}");
    reply
}

/// Publishes one message to each subject and waits for every ack.
async fn publish(client: &async_nats::Client, subjects: Vec<String>) {
    let js = async_nats::jetstream::new(client.clone());
    let mut acks = Vec::new();
    for (i, subject) in subjects.into_iter().enumerate() {
        let ack = js
            .publish(subject, format!("message {i}").into())
            .await
            .expect("publish");
        acks.push(ack);
    }
    for ack in acks {
        ack.await.expect("publish acknowledged");
    }
}

/// Everything about an unmanaged asset that must never change.
fn unmanaged_view(info: &Value) -> Value {
    let state = &info["state"];
    json!({
        "config": info["config"],
        "created": info["created"],
        "messages": state["messages"],
        "bytes": state["bytes"],
        "first_seq": state["first_seq"],
        "last_seq": state["last_seq"],
        "first_ts": state["first_ts"],
        "last_ts": state["last_ts"],
        "consumer_count": state["consumer_count"],
        "delivered": info["delivered"],
        "ack_floor": info["ack_floor"],
        "num_pending": info["num_pending"],
    })
}

/// The messages of a stream that must keep them.
fn held_view(info: &Value) -> Value {
    let state = &info["state"];
    json!({
        "messages": state["messages"],
        "bytes": state["bytes"],
        "first_seq": state["first_seq"],
        "last_seq": state["last_seq"],
    })
}

/// The state the trials must preserve.
struct Watched {
    /// `stream/NAME` or `consumer/STREAM/NAME` made by hand → its view.
    unmanaged: BTreeMap<String, Value>,
    /// Plan address (`stream/HELD_00`, `kv/kvc-00`) → backing stream and its messages.
    held: BTreeMap<String, (String, Value)>,
}

async fn create_unmanaged(client: &async_nats::Client) {
    for i in 0..HAND {
        let name = format!("HAND_{i:02}");
        let mut config = json!({
            "name": name,
            "subjects": [format!("hand.{i}.>")],
            "storage": "file",
            "description": "made by hand",
        });
        if i % 3 == 0 {
            config["metadata"] =
                json!({"jetsync.dev/owner": "someone-else", "jetsync.dev/applied": "0"});
        }
        api_ok(client, &format!("STREAM.CREATE.{name}"), config).await;
        let consumer = json!({
            "stream_name": name,
            "config": {"durable_name": "hand", "ack_policy": "explicit", "description": "by hand"},
        });
        api_ok(client, &format!("CONSUMER.CREATE.{name}.hand"), consumer).await;
        publish(
            client,
            (0..HAND_MESSAGES)
                .map(|m| format!("hand.{i}.{m}"))
                .collect(),
        )
        .await;
    }
}

/// Another application's durable consumer on every stream that is
/// replaced in each switch of variant.
async fn create_flip_hands(client: &async_nats::Client) {
    for i in 0..FLIP {
        let name = format!("FLIP_{i:02}");
        let consumer = json!({
            "stream_name": name,
            "config": {"durable_name": "hand", "ack_policy": "explicit", "description": "by hand on a replaced stream"},
        });
        api_ok(client, &format!("CONSUMER.CREATE.{name}.hand"), consumer).await;
    }
}

/// Every replaced stream's hand-made consumer is there, with its config.
async fn assert_flip_hands(url: &str, context: &str) {
    let client = connect(url).await;
    for i in 0..FLIP {
        let name = format!("FLIP_{i:02}");
        let info = api(&client, &format!("CONSUMER.INFO.{name}.hand"), Value::Null).await;
        assert_eq!(
            info["config"]["description"], "by hand on a replaced stream",
            "{context}: the hand-made consumer on {name} disappeared or changed: {info}"
        );
    }
}

async fn fill_held(client: &async_nats::Client) {
    for i in 0..HELD {
        publish(
            client,
            (0..HELD_MESSAGES)
                .map(|m| format!("held.{i}.{m}"))
                .collect(),
        )
        .await;
    }
    for i in 0..KV_HELD {
        let bucket = kv_bucket(i);
        publish(
            client,
            (0..KV_KEYS)
                .map(|k| format!("$KV.{bucket}.key{k}"))
                .collect(),
        )
        .await;
    }
}

async fn observe_watched(url: &str) -> Watched {
    let client = connect(url).await;
    let mut unmanaged = BTreeMap::new();
    for i in 0..HAND {
        let name = format!("HAND_{i:02}");
        let info = api_ok(&client, &format!("STREAM.INFO.{name}"), Value::Null).await;
        unmanaged.insert(format!("stream/{name}"), unmanaged_view(&info));
        let info = api_ok(&client, &format!("CONSUMER.INFO.{name}.hand"), Value::Null).await;
        unmanaged.insert(format!("consumer/{name}/hand"), unmanaged_view(&info));
    }
    let mut held = BTreeMap::new();
    let streams = (0..HELD)
        .map(|i| (format!("stream/{}", held_stream(i)), held_stream(i)))
        .chain((0..KV_HELD).map(|i| {
            (
                format!("kv/{}", kv_bucket(i)),
                format!("KV_{}", kv_bucket(i)),
            )
        }));
    for (address, stream) in streams {
        let info = api_ok(&client, &format!("STREAM.INFO.{stream}"), Value::Null).await;
        held.insert(address, (stream, held_view(&info)));
    }
    Watched { unmanaged, held }
}

/// Asserts that nothing watched changed since `before`.
async fn assert_preserved(url: &str, before: &Watched, context: &str) {
    let now = observe_watched(url).await;
    for (address, view) in &before.unmanaged {
        assert_eq!(
            &now.unmanaged[address], view,
            "{context}: unmanaged {address} changed"
        );
    }
    for (address, (stream, view)) in &before.held {
        assert_eq!(
            &now.held[address].1, view,
            "{context}: {address} (stream {stream}) lost messages"
        );
        assert!(
            view["messages"].as_u64().unwrap() > 0,
            "{address} holds messages"
        );
    }
}

/// Every stream the variant declares carries jetsync's ownership markers.
/// (An empty plan implies it, since an unmarked asset plans as an adoption;
/// this says it outright.)
async fn assert_owned(url: &str, variant: usize, context: &str) {
    let client = connect(url).await;
    let mut owners = BTreeMap::new();
    loop {
        let page = api_ok(&client, "STREAM.LIST", json!({"offset": owners.len()})).await;
        let streams = page["streams"].as_array().cloned().unwrap_or_default();
        for info in &streams {
            let metadata = &info["config"]["metadata"];
            let marks = (
                metadata["jetsync.dev/owner"].as_str().map(str::to_string),
                metadata["jetsync.dev/applied"].is_string(),
            );
            owners.insert(info["config"]["name"].as_str().unwrap().to_string(), marks);
        }
        if streams.is_empty() || owners.len() as u64 >= page["total"].as_u64().unwrap_or(0) {
            break;
        }
    }
    for stream in declared_streams(variant) {
        assert_eq!(
            owners.get(&stream),
            Some(&(Some("jetsync".to_string()), true)),
            "{context}: stream {stream} lacks jetsync's ownership markers"
        );
    }
}

/// The plan must never release (delete or replace) what holds messages.
fn assert_releases_nothing_held(plan: &Value, watched: &Watched, context: &str) {
    for change in changes(plan) {
        let address = change["address"].as_str().unwrap_or_default();
        let action = change["action"].as_str().unwrap_or_default();
        if watched.held.contains_key(address) || watched.unmanaged.contains_key(address) {
            assert!(
                !matches!(action, "delete" | "replace" | "adopt"),
                "{context}: the plan would {action} {address}: the workload is wrong"
            );
        }
        let unmanaged =
            address.starts_with("stream/HAND_") || address.starts_with("consumer/HAND_");
        assert!(
            !unmanaged,
            "{context}: the plan touches unmanaged {address}: {change}"
        );
    }
}

/// Out-of-band changes before a trial: some declared empty streams deleted,
/// a consumer of a held stream deleted, a held stream's description changed.
async fn perturb(url: &str, rng: &mut Rng) -> Vec<String> {
    let client = connect(url).await;
    let mut done = Vec::new();
    for _ in 0..rng.below(4) {
        let name = format!("PLAIN_{:02}", rng.below(PLAIN as u64));
        api(&client, &format!("STREAM.DELETE.{name}"), Value::Null).await;
        done.push(format!("deleted stream/{name}"));
    }
    if rng.below(2) == 0 {
        let stream = held_stream(rng.below(HELD as u64) as usize);
        api(
            &client,
            &format!("CONSUMER.DELETE.{stream}.reader"),
            Value::Null,
        )
        .await;
        done.push(format!("deleted consumer/{stream}/reader"));
    }
    if rng.below(2) == 0 {
        let stream = held_stream(rng.below(HELD as u64) as usize);
        let info = api_ok(&client, &format!("STREAM.INFO.{stream}"), Value::Null).await;
        let mut config = info["config"].clone();
        config["description"] = json!("changed by hand");
        api_ok(&client, &format!("STREAM.UPDATE.{stream}"), config).await;
        done.push(format!("drifted stream/{stream}"));
    }
    done
}

/// Waits for `child` at most `limit`; kills it when it takes longer.
async fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for jetsync") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The stream named by a `/healthz` "could not be recovered" error.
fn unrecoverable_stream(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let error = value["error"].as_str()?;
    let rest = error.strip_prefix("JetStream stream '")?;
    let (stream, tail) = rest.split_once('\'')?;
    let (_, name) = stream.split_once(" > ")?;
    tail.contains("could not be recovered")
        .then(|| name.to_string())
}

/// The JetStream streams a variant declares (buckets as `KV_<bucket>`).
fn declared_streams(variant: usize) -> Vec<String> {
    let v = variant_label(variant);
    let mut names: Vec<String> = (0..HELD).map(held_stream).collect();
    names.extend((0..PLAIN).map(|i| format!("PLAIN_{i:02}")));
    names.extend((0..FLIP).map(|i| format!("FLIP_{i:02}")));
    names.extend((0..ONLY).map(|i| format!("ONLY_{}_{i:02}", v.to_uppercase())));
    names.extend((0..KV).map(|i| format!("KV_{}", kv_bucket(i))));
    names.extend((0..KV_ONLY).map(|i| format!("KV_kv-only-{v}-{i:02}")));
    names
}

/// The distinct failure reasons and the summary line of an apply's output.
fn failure_lines(output: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for line in output.lines() {
        let line = line.trim();
        let reason = match line.split_once(": failed: ") {
            Some((_, reason)) => reason.to_string(),
            None if line.starts_with("Apply:") || line.contains("error") => line.to_string(),
            None => continue,
        };
        if !seen.contains(&reason) {
            seen.push(reason);
        }
    }
    seen
}

/// What one trial saw.
struct TrialResult {
    /// Changes the plan had before the apply.
    planned: usize,
    /// Changes still pending after the kill (and, for a server kill, after
    /// the interrupted apply gave up or finished on the restarted server).
    remaining: usize,
    /// The apply had already exited when the kill came.
    finished_before_kill: bool,
    /// Exit code of the interrupted apply (server kills: it outlives the kill).
    interrupted_exit: Option<i32>,
    reruns: usize,
    rerun_time: Duration,
    /// What `/healthz` said after the server's restart (server kills).
    health_after_restart: Health,
    /// What `/healthz` said once the rerun converged.
    health_after_converge: Health,
}

struct Trials {
    kind: Kill,
    server: KillableServer,
    variants: [PathBuf; 2],
    logs: PathBuf,
    watched: Watched,
    /// Measured duration of an apply switching to each variant.
    switch_time: [Duration; 2],
    /// The variant the server is converged to.
    current: usize,
}

impl Trials {
    async fn setup(kind: Kill, root: &Path) -> Option<Trials> {
        let server = NatsServer::builder()
            .config_extra("jetstream {\n  sync_interval: always\n}")
            .start_or_skip()?;
        let mut server = KillableServer::new(server);
        let url = server.url();
        let client = connect(&url).await;
        create_unmanaged(&client).await;
        let variants = write_variants(root);
        let logs = root.join("logs");
        std::fs::create_dir_all(&logs).unwrap();

        let (code, out, took) = apply(&url, &variants[0]);
        assert_eq!(code, 0, "the first apply of variant A: {out}");
        eprintln!(
            "kill trials ({kind:?}, nats-server {}): {} assets declared, created in {took:.2?}",
            server.version(),
            declared_assets()
        );
        fill_held(&client).await;
        create_flip_hands(&client).await;
        drop(client);
        if kind == Kill::Server {
            // nats-server 2.10 reports a consumer's creation time from memory
            // until a restart, then the stored one (under a millisecond
            // apart): the unmanaged assets are compared as a restart shows them.
            assert_eq!(
                server.restart(),
                Health::Healthy,
                "a clean restart is healthy"
            );
        }
        let watched = observe_watched(&url).await;
        let mut trials = Trials {
            kind,
            server,
            variants,
            logs,
            watched,
            switch_time: [Duration::ZERO; 2],
            current: 0,
        };
        // Without faults, each switch converges in one apply: measure it.
        for to in [1, 0] {
            let plan = plan_json(&url, &trials.variants[to]);
            assert_releases_nothing_held(&plan, &trials.watched, "warm-up");
            let (code, out, took) = apply(&url, &trials.variants[to]);
            assert_eq!(
                code,
                0,
                "switching to variant {} without a fault: {out}",
                variant_label(to)
            );
            trials.switch_time[to] = took;
            trials.current = to;
            trials.assert_converged("warm-up").await;
            eprintln!(
                "  switch to variant {} without a fault: {} changes in {took:.2?}",
                variant_label(to),
                changes(&plan).len()
            );
        }
        Some(trials)
    }

    async fn assert_converged(&self, context: &str) {
        let url = self.server.url();
        let (code, out) = plan_exitcode(&url, &self.variants[self.current]);
        assert_eq!(
            code, 0,
            "{context}: the plan after the apply is not empty:\n{out}"
        );
        assert_preserved(&url, &self.watched, context).await;
        assert_owned(&url, self.current, context).await;
        // A server restart loses memory streams with their consumers (the
        // server's loss, recorded apart); jetsync's kills must lose none.
        if self.kind == Kill::Jetsync {
            assert_flip_hands(&url, context).await;
        }
    }

    /// Brings the server to `variant` (only needed to replay one trial).
    async fn converge_to(&mut self, variant: usize) {
        if self.current != variant {
            let (code, out, _) = apply(&self.server.url(), &self.variants[variant]);
            assert_eq!(code, 0, "{out}");
            self.current = variant;
        }
    }

    /// One trial: its seed's low bit is the variant it starts from.
    async fn run(&mut self, index: u64, seed: u64) -> TrialResult {
        let from = (seed & 1) as usize;
        self.converge_to(from).await;
        let to = 1 - from;
        let mut rng = Rng(seed);
        let context = format!(
            "trial {kind:?} #{index} seed={seed:#018x} (replay: JETSYNC_KILL_SEED={seed:#018x})",
            kind = self.kind
        );
        let url = self.server.url();
        let oob = perturb(&url, &mut rng).await;
        let before = plan_json(&url, &self.variants[to]);
        assert_releases_nothing_held(&before, &self.watched, &context);
        let planned = changes(&before).len();
        // The kill point, as a fraction of the measured duration of this switch.
        let fraction = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        let delay = self.switch_time[to].mul_f64(fraction);

        let log = self.logs.join(format!("{:?}-{index}.log", self.kind));
        let log_file = File::create(&log).unwrap();
        let mut child = jetsync_command(&url, "apply", &self.variants[to], &[])
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("jetsync runs");
        tokio::time::sleep(delay).await;
        let finished_before_kill = child.try_wait().unwrap().is_some();
        let killed_at = Instant::now();
        let mut restart_time = Duration::ZERO;
        let mut health_after_restart = Health::Healthy;
        let interrupted_exit = match self.kind {
            Kill::Jetsync => {
                let _ = child.kill();
                child.wait().unwrap().code()
            }
            Kill::Server => {
                self.server.kill();
                let restarting = Instant::now();
                health_after_restart = self.server.restart();
                restart_time = restarting.elapsed();
                match wait_bounded(&mut child, APPLY_DEADLINE).await {
                    Some(status) => status.code(),
                    None => panic!(
                        "{context}: the interrupted apply did not exit within {APPLY_DEADLINE:?} \
                         of the server's restart:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    ),
                }
            }
        };
        let interrupted_end = killed_at.elapsed();
        self.current = to;
        let url = self.server.url();
        let after_kill = plan_json(&url, &self.variants[to]);
        assert_releases_nothing_held(&after_kill, &self.watched, &context);
        let remaining = changes(&after_kill).len();

        let rerun_started = Instant::now();
        let mut reruns = 0;
        loop {
            reruns += 1;
            let (code, out, _) = apply(&url, &self.variants[to]);
            if code == 0 {
                break;
            }
            assert!(
                reruns < MAX_RERUNS,
                "{context}: apply still fails after {reruns} reruns \
                 (out-of-band: {oob:?}; killed after {delay:?}):\n{out}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let rerun_time = rerun_started.elapsed();
        self.assert_converged(&context).await;
        let health_after_converge = self.server.health();
        if let Health::Unhealthy(_, body) = &health_after_converge {
            // What the server still cannot recover must be something the
            // manifests no longer declare (a prune cut off by the kill: the
            // stream is gone from the API, its directory is left behind).
            let stream = unrecoverable_stream(body);
            assert!(
                stream.is_some_and(|name| !declared_streams(to).contains(&name)),
                "{context}: after convergence the server still reports {body}"
            );
        }
        eprintln!(
            "  {context}: {} → {}, out-of-band {oob:?}, kill after {delay:.2?} ({:.0}% of a switch){}: \
             {remaining} of {planned} changes left; server restart {restart_time:.2?}; \
             interrupted apply exit {interrupted_exit:?} {interrupted_end:.2?} after the kill; \
             converged after {reruns} rerun(s) in {rerun_time:.2?}",
            variant_label(from),
            variant_label(to),
            fraction * 100.0,
            if finished_before_kill {
                " (apply had finished)"
            } else {
                ""
            },
        );
        if interrupted_exit.is_some_and(|code| code != 0) {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let mut lines = failure_lines(&text);
            lines.truncate(4);
            eprintln!("    interrupted apply: {lines:?}");
        }
        if self.kind == Kill::Server {
            eprintln!(
                "    /healthz after the restart: {health_after_restart:?}; after convergence: \
                 {health_after_converge:?}"
            );
        }
        TrialResult {
            planned,
            remaining,
            finished_before_kill,
            interrupted_exit,
            reruns,
            rerun_time,
            health_after_restart,
            health_after_converge,
        }
    }
}

/// The trial seeds: `JETSYNC_KILL_SEED` replays one; otherwise
/// `JETSYNC_KILL_TRIALS` (default 20) seeds from the clock, alternating
/// between starting from variant A and from B.
fn trial_seeds() -> Vec<u64> {
    if let Ok(text) = std::env::var("JETSYNC_KILL_SEED") {
        let text = text.trim();
        let seed = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        }
        .unwrap_or_else(|e| panic!("JETSYNC_KILL_SEED={text}: {e}"));
        return vec![seed];
    }
    let count = std::env::var("JETSYNC_KILL_TRIALS")
        .ok()
        .map(|n| n.parse().expect("JETSYNC_KILL_TRIALS is a number"))
        .unwrap_or(TRIALS);
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = Rng(base);
    // Trial i starts where trial i-1 left off: variant A for even i.
    (0..count).map(|i| (rng.next() & !1) | (i & 1)).collect()
}

async fn kill_trials(kind: Kill) {
    let started = Instant::now();
    let root = tempfile::tempdir().unwrap();
    let Some(mut trials) = Trials::setup(kind, root.path()).await else {
        return;
    };
    let seeds = trial_seeds();
    let mut results = Vec::new();
    for (index, seed) in seeds.iter().enumerate() {
        results.push(trials.run(index as u64, *seed).await);
    }

    let n = results.len();
    let exited_ok = results
        .iter()
        .filter(|r| r.interrupted_exit == Some(0))
        .count();
    let max_reruns = results.iter().map(|r| r.reruns).max().unwrap_or(0);
    let max_rerun_time = results
        .iter()
        .map(|r| r.rerun_time)
        .max()
        .unwrap_or_default();
    let planned_min = results.iter().map(|r| r.planned).min().unwrap_or(0);
    let planned_max = results.iter().map(|r| r.planned).max().unwrap_or(0);
    let mut pending: Vec<usize> = results.iter().map(|r| r.remaining).collect();
    pending.sort_unstable();
    let kill_points = match kind {
        Kill::Jetsync => {
            let finished = results.iter().filter(|r| r.finished_before_kill).count();
            let untouched = results
                .iter()
                .filter(|r| !r.finished_before_kill && r.remaining >= r.planned)
                .count();
            let midway = n - finished - untouched;
            assert!(
                n == 1 || midway > 0,
                "no kill landed in the middle of an apply: the trials tested nothing"
            );
            format!(
                "{midway} mid-apply (changes left: {pending:?}), {untouched} before the first \
                 write, {finished} after the apply had finished"
            )
        }
        Kill::Server => {
            let unhealthy = |health: &Health| matches!(health, Health::Unhealthy(..));
            // Restarts that found a stream the server could not recover,
            // where the server had been healthy before the kill.
            let mut healthy_before = true;
            let mut lost = 0;
            for r in &results {
                if healthy_before && unhealthy(&r.health_after_restart) {
                    lost += 1;
                }
                healthy_before = !unhealthy(&r.health_after_converge);
            }
            let left = results
                .iter()
                .filter(|r| unhealthy(&r.health_after_converge))
                .count();
            let before_end = results.iter().filter(|r| !r.finished_before_kill).count();
            assert!(
                n == 1 || before_end > 0,
                "every apply had finished before the server was killed: the trials tested nothing"
            );
            format!(
                "{before_end} while the apply ran; {exited_ok} interrupted applies carried on \
                 after the restart and exited 0, {} exited 1; changes left after them: \
                 {pending:?}; {lost} restarts of a healthy server found a stream it could not \
                 recover (/healthz 503), after {left} convergences one was left (no longer \
                 declared)",
                n - exited_ok
            )
        }
    };
    eprintln!(
        "kill trials summary ({kind:?}, nats-server {}): {n} trials, {} declared assets, \
         {planned_min}–{planned_max} changes per apply (switch {:.2?}/{:.2?} without a fault); \
         kills: {kill_points}; every trial converged, at most {max_reruns} rerun(s), longest \
         rerun {max_rerun_time:.2?}; unmanaged assets and {} message-holding streams unchanged; \
         total {:.1?}",
        trials.server.version(),
        declared_assets(),
        trials.switch_time[1],
        trials.switch_time[0],
        trials.watched.held.len(),
        started.elapsed(),
    );
}

#[tokio::test]
async fn killing_the_server_mid_apply_then_rerunning_converges_and_loses_nothing() {
    kill_trials(Kill::Server).await;
}

#[tokio::test]
async fn killing_jetsync_mid_apply_then_rerunning_converges_and_loses_nothing() {
    kill_trials(Kill::Jetsync).await;
}
