//! Every change the server cannot make in place plans a replacement naming
//! the field; apply without --allow-replace changes nothing and exits 1;
//! with it the asset is recreated and the next plan is empty. Driven by one
//! table, through the `jetsync` binary, against a real server.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::NatsServer;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn jetsync(server: &str, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_jetsync"))
        .args(args)
        .args(["--server", server])
        .env("NO_COLOR", "1")
        .env_remove("NATS_URL")
        .env_remove("JETSYNC_OWNER")
        .env("XDG_CONFIG_HOME", "/nonexistent-jetsync-test")
        .output()
        .expect("jetsync runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// One immutable change: the manifest before and after, the spec field the
/// plan must name, the minimum server minor version, and how to read the
/// live value that proves which config is in place.
struct Case {
    name: &'static str,
    since_minor: u32,
    before: &'static str,
    after: &'static str,
    field: &'static str,
    /// (API subject, JSON pointer into the answer, value before, value after).
    probe: (&'static str, &'static str, &'static str, &'static str),
}

const STREAM_HEAD: &str = "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: s\nspec:\n  name: S\n  subjects: [\"s.>\"]\n";
const CONSUMER_HEAD: &str = "---\napiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: c\nspec:\n  streamName: S\n  name: C\n";

fn cases() -> Vec<Case> {
    let info = "STREAM.INFO.S";
    let consumer = "CONSUMER.INFO.S.C";
    vec![
        Case {
            name: "stream storage",
            since_minor: 10,
            before: "  storage: file\n",
            after: "  storage: memory\n",
            field: "storage",
            probe: (info, "/config/storage", "file", "memory"),
        },
        Case {
            name: "retention to workqueue",
            since_minor: 10,
            before: "  retention: limits\n",
            after: "  retention: workqueue\n",
            field: "retention",
            probe: (info, "/config/retention", "limits", "workqueue"),
        },
        Case {
            name: "first sequence",
            since_minor: 10,
            before: "  firstSequence: 10\n",
            after: "  firstSequence: 20\n",
            field: "firstSequence",
            probe: (info, "/config/first_seq", "10", "20"),
        },
        Case {
            name: "deny delete turned off",
            since_minor: 10,
            before: "  denyDelete: true\n",
            after: "  denyDelete: false\n",
            field: "denyDelete",
            probe: (info, "/config/deny_delete", "true", "false"),
        },
        Case {
            name: "persist mode",
            since_minor: 12,
            before: "  persistMode: default\n",
            after: "  persistMode: async\n",
            field: "persistMode",
            probe: (info, "/config/persist_mode", "null", "async"),
        },
        Case {
            name: "message counter",
            since_minor: 12,
            before: "",
            after: "  allowMsgCounter: true\n",
            field: "allowMsgCounter",
            probe: (info, "/config/allow_msg_counter", "null", "true"),
        },
        Case {
            name: "consumer ack policy",
            since_minor: 10,
            before: "  ackPolicy: explicit\n",
            after: "  ackPolicy: all\n",
            field: "ackPolicy",
            probe: (consumer, "/config/ack_policy", "explicit", "all"),
        },
        Case {
            name: "consumer deliver policy",
            since_minor: 10,
            before: "  deliverPolicy: all\n",
            after: "  deliverPolicy: new\n",
            field: "deliverPolicy",
            probe: (consumer, "/config/deliver_policy", "all", "new"),
        },
        Case {
            name: "consumer replay policy",
            since_minor: 10,
            before: "  replayPolicy: instant\n",
            after: "  replayPolicy: original\n",
            field: "replayPolicy",
            probe: (consumer, "/config/replay_policy", "instant", "original"),
        },
        Case {
            name: "consumer max waiting",
            since_minor: 10,
            before: "  maxWaiting: 10\n",
            after: "  maxWaiting: 20\n",
            field: "maxWaiting",
            probe: (consumer, "/config/max_waiting", "10", "20"),
        },
        Case {
            name: "consumer memory storage",
            since_minor: 10,
            before: "",
            after: "  memoryStorage: true\n",
            field: "memoryStorage",
            probe: (consumer, "/config/mem_storage", "null", "true"),
        },
        Case {
            name: "pull to push",
            since_minor: 10,
            before: "",
            after: "  deliverSubject: push.c\n",
            field: "deliverSubject",
            probe: (consumer, "/config/deliver_subject", "null", "push.c"),
        },
        Case {
            name: "push heartbeat",
            since_minor: 10,
            before: "  deliverSubject: push.c\n  idleHeartbeat: 5s\n",
            after: "  deliverSubject: push.c\n  idleHeartbeat: 10s\n",
            field: "idleHeartbeat",
            probe: (
                consumer,
                "/config/idle_heartbeat",
                "5000000000",
                "10000000000",
            ),
        },
        Case {
            name: "push flow control",
            since_minor: 10,
            before: "  deliverSubject: push.c\n  idleHeartbeat: 5s\n",
            after: "  deliverSubject: push.c\n  idleHeartbeat: 5s\n  flowControl: true\n",
            field: "flowControl",
            probe: (consumer, "/config/flow_control", "null", "true"),
        },
    ]
}

fn manifest(case: &Case, after: bool) -> String {
    let part = if after { case.after } else { case.before };
    if case.probe.0.starts_with("CONSUMER") {
        format!("{STREAM_HEAD}{CONSUMER_HEAD}{part}")
    } else {
        format!("{STREAM_HEAD}{part}")
    }
}

async fn probe(client: &async_nats::Client, case: &Case) -> String {
    let reply = client
        .request(format!("$JS.API.{}", case.probe.0), "".into())
        .await
        .unwrap();
    let info: Value = serde_json::from_slice(&reply.payload).unwrap();
    match info.pointer(case.probe.1) {
        None | Some(Value::Null) => "null".into(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Bool(false)) if case.probe.2 == "null" => "null".into(),
        Some(other) => other.to_string(),
    }
}

fn minor(server: &NatsServer) -> u32 {
    server
        .version()
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn every_immutable_change_is_a_refused_replacement_until_allowed() {
    let server = require_nats!();
    let client = async_nats::ConnectOptions::new()
        .request_timeout(Some(Duration::from_secs(10)))
        .connect(server.url())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("case.yaml");
    let path = file.to_str().unwrap();
    let url = server.url();
    let mut checked = 0;
    for case in cases() {
        if minor(&server) < case.since_minor {
            continue;
        }
        checked += 1;
        // A clean slate for each case.
        let _ = client.request("$JS.API.STREAM.DELETE.S", "".into()).await;
        std::fs::write(&file, manifest(&case, false)).unwrap();
        let first = jetsync(&url, &["apply", "-f", path]);
        assert_eq!(
            first.code, 0,
            "{}: first apply\n{}{}",
            case.name, first.stdout, first.stderr
        );
        assert_eq!(
            probe(&client, &case).await,
            case.probe.2,
            "{}: before",
            case.name
        );

        std::fs::write(&file, manifest(&case, true)).unwrap();
        let plan = jetsync(&url, &["plan", "-f", path]);
        assert!(
            plan.stdout.contains("-/+ ")
                && plan.stdout.contains(&format!("{}: ", case.field))
                && plan.stdout.contains("# forces replacement"),
            "{}: plan must replace naming `{}`:\n{}{}",
            case.name,
            case.field,
            plan.stdout,
            plan.stderr
        );
        assert!(
            plan.stdout.contains("needs --allow-replace"),
            "{}:\n{}",
            case.name,
            plan.stdout
        );

        let refused = jetsync(&url, &["apply", "-f", path]);
        assert_eq!(
            refused.code, 1,
            "{}: apply without the flag\n{}",
            case.name, refused.stdout
        );
        assert_eq!(
            probe(&client, &case).await,
            case.probe.2,
            "{}: nothing may change",
            case.name
        );

        let replaced = jetsync(&url, &["apply", "--allow-replace", "-f", path]);
        assert_eq!(
            replaced.code, 0,
            "{}: apply --allow-replace\n{}{}",
            case.name, replaced.stdout, replaced.stderr
        );
        assert_eq!(
            probe(&client, &case).await,
            case.probe.3,
            "{}: after",
            case.name
        );
        let settled = jetsync(&url, &["plan", "--detailed-exitcode", "-f", path]);
        assert_eq!(
            settled.code, 0,
            "{}: plan after replacing\n{}",
            case.name, settled.stdout
        );
    }
    assert!(checked >= 12, "only {checked} cases ran");
}

#[tokio::test]
async fn on_immutable_change_recreate_allows_the_replacement_from_the_manifest() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    let path = file.to_str().unwrap();
    std::fs::write(&file, format!("{STREAM_HEAD}  storage: file\n")).unwrap();
    assert_eq!(jetsync(&server.url(), &["apply", "-f", path]).code, 0);
    std::fs::write(
        &file,
        format!("{STREAM_HEAD}  storage: memory\n  onImmutableChange: Recreate\n"),
    )
    .unwrap();
    let run = jetsync(&server.url(), &["apply", "-f", path]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("stream/S: replaced"), "{}", run.stdout);
    let _ = Path::new(path);
}
