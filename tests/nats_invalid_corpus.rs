//! Bad input never reaches the server: every case of the bad-input corpus
//! (`tests/fixtures/invalid/` and the generated big ones) makes `validate`,
//! `plan` and `apply --prune --adopt --allow-replace` exit 1 against a real
//! nats-server holding a managed stream with messages, a KV bucket with a
//! value, a consumer and an unmanaged stream, and the server's state (every
//! STREAM.LIST and CONSUMER.LIST entry, configs and states) is the same
//! afterwards, but for the `ts` response timestamps.

mod support;

#[path = "fixtures/corpus.rs"]
mod corpus;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::js_api as api;

const MANAGED: &str = "apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: orders
spec:
  name: ORDERS
  subjects: [\"orders.>\"]
  maxAge: 7d
---
apiVersion: jetsync.dev/v1alpha1
kind: KeyValue
metadata:
  name: config
spec:
  history: 5
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: processor
spec:
  streamName: ORDERS
  name: processor
  filterSubject: orders.created
";

struct Run {
    code: Option<i32>,
    elapsed: Duration,
    stdout: String,
    stderr: String,
}

fn jetsync(url: &str, args: &[&str], path: &Path) -> Run {
    let started = Instant::now();
    let output = corpus::memory_limited(Path::new(env!("CARGO_BIN_EXE_jetsync")))
        .args(args)
        .arg("-f")
        .arg(path)
        .args(if args[0] == "validate" {
            Vec::new()
        } else {
            vec!["--server", url]
        })
        .env("NO_COLOR", "1")
        .env_remove("NATS_URL")
        .env_remove("JETSYNC_OWNER")
        .env("XDG_CONFIG_HOME", "/nonexistent-jetsync-test")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("jetsync runs");
    Run {
        code: output.status.code(),
        elapsed: started.elapsed(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Removes the response timestamps (`ts`), which change by themselves.
fn without_timestamps(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("ts");
            map.values_mut().for_each(without_timestamps);
        }
        Value::Array(items) => items.iter_mut().for_each(without_timestamps),
        _ => {}
    }
}

/// Every stream and consumer the server has, configs and states, as one value.
async fn server_state(client: &async_nats::Client) -> Value {
    let mut streams = api(client, "STREAM.LIST", json!({"offset": 0})).await;
    let mut consumers = serde_json::Map::new();
    for stream in streams["streams"].as_array().unwrap() {
        let name = stream["config"]["name"].as_str().unwrap().to_string();
        let list = api(
            client,
            &format!("CONSUMER.LIST.{name}"),
            json!({"offset": 0}),
        )
        .await;
        consumers.insert(name, list);
    }
    let mut state = json!({"streams": streams.take(), "consumers": consumers});
    without_timestamps(&mut state);
    state
}

#[tokio::test]
async fn no_bad_input_changes_anything_on_the_server() {
    let server = require_nats!();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let managed = dir.path().join("managed.yaml");
    std::fs::write(&managed, MANAGED).unwrap();
    let applied = jetsync(&url, &["apply", "-y"], &managed);
    assert_eq!(
        applied.code,
        Some(0),
        "{}{}",
        applied.stdout,
        applied.stderr
    );

    let client = async_nats::ConnectOptions::new()
        .request_timeout(Some(Duration::from_secs(10)))
        .connect(&url)
        .await
        .unwrap();
    api(
        &client,
        "STREAM.CREATE.LEGACY",
        json!({"name": "LEGACY", "subjects": ["legacy.>"], "storage": "file", "num_replicas": 1}),
    )
    .await;
    for index in 0..50 {
        let subject = if index % 2 == 0 {
            "orders.created"
        } else {
            "legacy.event"
        };
        client
            .request(subject, format!("message {index}").into())
            .await
            .unwrap();
    }
    client
        .request("$KV.config.greeting", "hello".into())
        .await
        .unwrap();
    let before = server_state(&client).await;
    assert_eq!(before["streams"]["total"], 3, "{before:#}");
    assert_eq!(
        before["consumers"]["ORDERS"]["total"], 1,
        "the consumer exists: {before:#}"
    );
    let settled = server_state(&client).await;
    assert_eq!(before, settled, "the state is stable when nothing happens");

    let cases_dir = dir.path().join("cases");
    std::fs::create_dir(&cases_dir).unwrap();
    let cases = corpus::all(&cases_dir);
    assert!(cases.len() >= 60);
    let commands: [&[&str]; 3] = [
        &["validate"],
        &["plan"],
        &["apply", "-y", "--prune", "--adopt", "--allow-replace"],
    ];
    let mut failures = Vec::new();
    for case in &cases {
        for command in commands {
            let run = jetsync(&url, command, &case.path);
            if run.code != Some(1) {
                failures.push(format!(
                    "{} {}: exit {:?}, expected 1\n{}{}",
                    command[0], case.name, run.code, run.stdout, run.stderr
                ));
            }
            if run.elapsed > case.time_bound() {
                failures.push(format!(
                    "{} {}: took {:?}",
                    command[0], case.name, run.elapsed
                ));
            }
            if command[0] != "validate" && !run.stderr.contains("nothing was planned or written") {
                failures.push(format!(
                    "{} {}: does not say that nothing was written\n{}",
                    command[0], case.name, run.stderr
                ));
            }
        }
        let after = server_state(&client).await;
        if after != before {
            failures.push(format!(
                "{}: the server's state changed\nbefore: {before:#}\nafter: {after:#}",
                case.name
            ));
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems over {} cases:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
