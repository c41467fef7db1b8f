//! Secrets never leave jetsync, for `.creds` files (operator mode): the
//! operator, account and user JWT chain is made with the `nkeys` crate as
//! `nsc` would make it (`tests/support/creds.rs`), and a real nats-server
//! trusts the operator and preloads the account (`resolver: MEMORY`).
//!
//! With a known user seed and user JWT, `validate`, `plan` (human, json,
//! markdown, github, `--out`), `apply`, `diff`, `plan --detailed-exitcode` and
//! `export` (stdout and `--out`) run with `--creds` and with a
//! `NatsConnection` naming the file, then `plan` with a creds file holding
//! another user's seed, which the server refuses; the controller reads the
//! creds from a Secret, is refused, then connects and creates a stream. No
//! seed (user, other user, account, operator) and no user JWT shows in any
//! stdout or stderr (run with `RUST_LOG=trace`), written file,
//! GITHUB_STEP_SUMMARY, status, event, Kubernetes API request or controller
//! log line (captured in-process at TRACE, async-nats's included).

#[path = "support/controller.rs"]
mod controller_support;
#[path = "support/creds.rs"]
mod creds;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use controller_support::{Logs, Object, assert_hidden, context, event, secret_is_read};
use creds::Chain;
use jetsync::controller::conditions::{events, reasons, types};
use jetsync::controller::reconcile::{reconcile, reconcile_connection};
use jetsync::resources::{NatsConnection, Stream};
use serde_json::{Value, json};

const MANIFEST: &str = "apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: secrets-test
spec:
  name: SECRETS_TEST
  subjects: [\"secrets.>\"]
  maxAge: 1h
";

#[tokio::test]
async fn the_generated_chain_is_trusted_and_its_account_has_jetstream() {
    let chain = Chain::new();
    let dir = tempfile::tempdir().unwrap();
    let server = require_nats!(chain.server(dir.path()));
    for (seed, prefix) in [
        (&chain.user_seed, "SU"),
        (&chain.other_seed, "SU"),
        (&chain.account_seed, "SA"),
        (&chain.operator_seed, "SO"),
    ] {
        assert!(seed.starts_with(prefix) && seed.len() == 58, "{seed}");
    }
    let creds_text = chain.creds();
    assert!(creds_text.contains(&chain.user_seed) && creds_text.contains(&chain.user_jwt));
    let creds = dir.path().join("user.creds");
    std::fs::write(&creds, chain.creds()).unwrap();
    let client = async_nats::ConnectOptions::new()
        .credentials_file(&creds)
        .await
        .unwrap()
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(10)))
        .connect(server.url())
        .await
        .unwrap_or_else(|e| panic!("the creds file is accepted: {e}\n{}", server.log()));
    let reply = client
        .request("$JS.API.INFO", Vec::new().into())
        .await
        .unwrap();
    let info: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(
        info["type"], "io.nats.jetstream.api.v1.account_info_response",
        "{info}"
    );
    assert!(info.get("error").is_none(), "JetStream is enabled: {info}");
    client.flush().await.unwrap();

    // The server is in operator mode: no creds, or another user's seed, is refused.
    let anonymous = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .connect(server.url())
        .await;
    assert!(anonymous.is_err(), "a connection without creds is refused");
    let wrong = dir.path().join("wrong.creds");
    std::fs::write(&wrong, chain.wrong_creds()).unwrap();
    let refused = async_nats::ConnectOptions::new()
        .credentials_file(&wrong)
        .await
        .unwrap()
        .connection_timeout(Duration::from_secs(5))
        .connect(server.url())
        .await;
    assert!(refused.is_err(), "another user's seed is refused");
}

// ---------------------------------------------------------------- the CLI

/// A scratch directory: `out/` receives every file jetsync writes.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let workspace = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(workspace.out()).unwrap();
        std::fs::write(workspace.manifest(), MANIFEST).unwrap();
        workspace
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn out(&self) -> PathBuf {
        self.path("out")
    }

    fn manifest(&self) -> PathBuf {
        self.path("stream.yaml")
    }
}

struct Run {
    code: Option<i32>,
    all: String,
}

fn jetsync(workspace: &Workspace, args: &[String]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_jetsync"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "trace")
        .env("GITHUB_STEP_SUMMARY", workspace.out().join("summary.md"))
        .env_remove("NATS_URL")
        .env_remove("NATS_USER")
        .env_remove("NATS_PASSWORD")
        .env_remove("NATS_TOKEN")
        .env_remove("NATS_CREDS")
        .env_remove("NATS_NKEY")
        .env_remove("JETSYNC_OWNER")
        .env("XDG_CONFIG_HOME", "/nonexistent-jetsync-test")
        .current_dir(workspace.dir.path())
        .output()
        .expect("jetsync runs");
    Run {
        code: output.status.code(),
        all: format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn files_written(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_written(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            found.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    found
}

/// The refusal of a wrong creds file says so, names the file, and shows none
/// of `secrets`.
fn assert_refused(refused: &Run, wrong_file: &Path, secrets: &[String]) {
    assert_eq!(
        refused.code,
        Some(1),
        "a wrong creds file is refused:\n{}",
        refused.all
    );
    assert_hidden(secrets, &refused.all, "the error for a wrong creds file");
    for needle in [
        "refused authentication".to_string(),
        format!("the credentials file {}", wrong_file.display()),
    ] {
        assert!(
            refused.all.contains(&needle),
            "the error says {needle:?}:\n{}",
            refused.all
        );
    }
}

/// Every file jetsync wrote under `out/`: the plan file, the export and the
/// step summary are there, non-empty, and hold none of `secrets`.
fn assert_files_clean(workspace: &Workspace, secrets: &[String], expected: &[&str]) {
    let written = files_written(&workspace.out());
    let names: Vec<String> = written
        .iter()
        .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for name in expected {
        assert!(names.iter().any(|n| n == name), "{name} written: {names:?}");
    }
    for (path, text) in written {
        assert!(!text.trim().is_empty(), "{} is empty", path.display());
        assert_hidden(secrets, &text, &path.display().to_string());
    }
}

#[test]
fn a_creds_file_never_shows() {
    let chain = Chain::new();
    let workspace = Workspace::new();
    let server = require_nats!(chain.server(workspace.dir.path()));
    let creds = workspace.path("user.creds");
    let wrong = workspace.path("wrong.creds");
    std::fs::write(&creds, chain.creds()).unwrap();
    std::fs::write(&wrong, chain.wrong_creds()).unwrap();
    let secrets = chain.secrets();
    let url = server.url();
    let auth = strings(&["--server", &url, "--creds", &creds.display().to_string()]);

    let manifest = workspace.manifest().display().to_string();
    let out = workspace.out();
    let with = |command: &[&str]| -> Vec<String> {
        let mut args = strings(command);
        args.extend(["-f".to_string(), manifest.clone()]);
        args.extend(auth.iter().cloned());
        args
    };
    let plan_file = out.join("plan.json").display().to_string();
    let export_file = out.join("export.yaml").display().to_string();
    let runs: Vec<(Vec<String>, i32)> = vec![
        (strings(&["validate", "-f", &manifest]), 0),
        (with(&["plan"]), 0),
        (with(&["plan", "--output", "json"]), 0),
        (with(&["plan", "--output", "markdown"]), 0),
        (with(&["plan", "--output", "github"]), 0),
        (with(&["plan", "--out", &plan_file]), 0),
        (with(&["apply", "-y"]), 0),
        (with(&["diff"]), 0),
        (with(&["plan", "--detailed-exitcode"]), 0),
        ([strings(&["export", "--all"]), auth.clone()].concat(), 0),
        (
            [strings(&["export", "--out", &export_file]), auth.clone()].concat(),
            0,
        ),
    ];
    for (args, expected) in runs {
        let run = jetsync(&workspace, &args);
        assert_eq!(run.code, Some(expected), "jetsync {args:?}:\n{}", run.all);
        assert_hidden(
            &secrets,
            &run.all,
            &format!("the output of jetsync {args:?}"),
        );
    }
    // The apply reached the server through the creds: the stream is there.
    let exported = std::fs::read_to_string(&export_file).unwrap();
    assert!(exported.contains("SECRETS_TEST"), "{exported}");

    let refused = jetsync(
        &workspace,
        &strings(&[
            "plan",
            "-f",
            &manifest,
            "--server",
            &url,
            "--creds",
            &wrong.display().to_string(),
        ]),
    );
    assert_refused(&refused, &wrong, &secrets);
    assert_files_clean(
        &workspace,
        &secrets,
        &["plan.json", "export.yaml", "summary.md"],
    );
}

#[test]
fn a_creds_file_named_by_a_nats_connection_never_shows() {
    let chain = Chain::new();
    let workspace = Workspace::new();
    let server = require_nats!(chain.server(workspace.dir.path()));
    std::fs::write(workspace.path("user.creds"), chain.creds()).unwrap();
    std::fs::write(workspace.path("wrong.creds"), chain.wrong_creds()).unwrap();
    let secrets = chain.secrets();
    let connection = |creds_file: &str| {
        format!(
            "apiVersion: jetsync.dev/v1alpha1\nkind: NatsConnection\nmetadata:\n  name: local\nspec:\n  servers: [\"{}\"]\n  auth:\n    creds:\n      file: {creds_file}\n---\n{}  connection: local\n",
            server.url(),
            MANIFEST
        )
    };
    std::fs::write(workspace.manifest(), connection("user.creds")).unwrap();
    let manifest = workspace.manifest().display().to_string();
    let plan_file = workspace.out().join("plan.json").display().to_string();
    for (args, expected) in [
        (vec!["validate", "-f", &manifest], 0),
        (vec!["plan", "-f", &manifest], 0),
        (vec!["plan", "--output", "json", "-f", &manifest], 0),
        (vec!["plan", "--output", "markdown", "-f", &manifest], 0),
        (vec!["plan", "--output", "github", "-f", &manifest], 0),
        (vec!["plan", "--out", &plan_file, "-f", &manifest], 0),
        (vec!["apply", "-y", "-f", &manifest], 0),
        (vec!["diff", "-f", &manifest], 0),
        (vec!["plan", "--detailed-exitcode", "-f", &manifest], 0),
    ] {
        let run = jetsync(&workspace, &strings(&args));
        assert_eq!(run.code, Some(expected), "jetsync {args:?}:\n{}", run.all);
        assert_hidden(
            &secrets,
            &run.all,
            &format!("the output of jetsync {args:?}"),
        );
    }
    std::fs::write(workspace.manifest(), connection("wrong.creds")).unwrap();
    let refused = jetsync(&workspace, &strings(&["plan", "-f", &manifest]));
    assert_refused(&refused, &workspace.path("wrong.creds"), &secrets);
    assert_files_clean(&workspace, &secrets, &["plan.json", "summary.md"]);
}

// ---------------------------------------------------------------- the controller

#[tokio::test]
async fn a_creds_secret_in_the_controller_never_shows() {
    let chain = Chain::new();
    let dir = tempfile::tempdir().unwrap();
    let nats = require_nats!(chain.server(dir.path()));
    let secrets = chain.secrets();
    let logs = Logs::default();
    logs.capture();
    let (ctx, mut kube) = context(&nats);
    let mut shown = Vec::new();
    let prod = Object::new(
        "NatsConnection",
        "natsconnections",
        "prod",
        json!({
            "servers": [nats.url()],
            "auth": {"creds": {"secretRef": {"name": "nats-creds", "key": "user.creds"}}},
        }),
    );
    let (action, seen) = kube
        .run(
            vec![prod.adds_connection_finalizer()],
            reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    shown.extend(seen);

    // Another user's seed with the user's JWT: refused, and said so.
    let wrong = chain.wrong_creds();
    let (action, seen) = kube
        .run(
            vec![
                secret_is_read("nats-creds", &[("user.creds", &wrong)]),
                prod.writes_status(),
                event(events::CONNECTION_FAILED),
            ],
            reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    shown.extend(seen);
    let ready = prod.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reasons::AUTH_REFUSED),
        "{}",
        ready.message
    );
    assert!(
        ready.message.contains("credentials file"),
        "{}",
        ready.message
    );
    shown.push(format!("{:?}", prod.value()["status"]));

    // The Secret is rotated to the right creds: connected.
    ctx.pool.clock().advance(Duration::from_millis(1100));
    let right = chain.creds();
    let (action, seen) = kube
        .run(
            vec![
                secret_is_read("nats-creds", &[("user.creds", &right)]),
                prod.writes_status(),
            ],
            reconcile_connection(prod.get::<NatsConnection>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    shown.extend(seen);
    let ready = prod.condition(types::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", reasons::CONNECTED),
        "{}",
        ready.message
    );
    shown.push(format!("{:?}", prod.value()["status"]));

    // A stream naming the connection is created through it.
    let orders = Object::new(
        "Stream",
        "streams",
        "orders",
        json!({"name": "ORDERS", "subjects": ["orders.>"], "maxAge": "1h", "connection": "prod"}),
    );
    let right = chain.creds();
    let (action, seen) = kube
        .run(
            vec![
                prod.is_read(),
                secret_is_read("nats-creds", &[("user.creds", &right)]),
                orders.adds_finalizer_and_address(),
                orders.writes_status(),
                event(events::CREATED),
            ],
            reconcile(orders.get::<Stream>(), ctx.clone()),
        )
        .await;
    action.unwrap();
    shown.extend(seen);
    assert_eq!(orders.condition(types::READY).status, "True");
    shown.push(format!("{:?}", orders.value()["status"]));

    // Everything logged so far, at TRACE: the controller's own lines and
    // async-nats's (which traces the CONNECT it sends).
    let logged = logs.text();
    for needle in ["jetsync::controller", "async_nats::connection", "CONNECT"] {
        assert!(
            logged.contains(needle),
            "the logs have {needle:?}:\n{logged}"
        );
    }

    // The stream is in the creds' account (a plain client with the creds sees it).
    let creds = dir.path().join("user.creds");
    std::fs::write(&creds, chain.creds()).unwrap();
    let client = async_nats::ConnectOptions::new()
        .credentials_file(&creds)
        .await
        .unwrap()
        .connect(nats.url())
        .await
        .unwrap();
    let info = client
        .request("$JS.API.STREAM.INFO.ORDERS", Vec::new().into())
        .await
        .unwrap();
    let info: Value = serde_json::from_slice(&info.payload).unwrap();
    assert_eq!(info["config"]["name"], "ORDERS", "{info}");

    assert_hidden(&secrets, &logged, "the controller's logs");
    assert_hidden(
        &secrets,
        &shown.join("\n"),
        "what the controller sent to the API server (status, events, patches)",
    );
}
