//! Plans in CI: the JSON plan document, saved plans applied exactly or
//! refused when stale, selection by label, and the exit-code contract of
//! every command, through the binary against a real server.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::NatsServer;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.all()))
    }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_jetsync"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("NATS_URL")
        .env_remove("JETSYNC_OWNER")
        .env("XDG_CONFIG_HOME", "/nonexistent-jetsync-test")
        .current_dir(dir)
        .output()
        .expect("jetsync runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn with_server(server: &NatsServer, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend(["--server".to_string(), server.url()]);
    all
}

fn jetsync(dir: &Path, server: &NatsServer, args: &[&str]) -> Run {
    let args = with_server(server, args);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(dir, &refs)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

async fn api(server: &NatsServer, subject: &str, body: Value) -> Value {
    let client = async_nats::ConnectOptions::new()
        .request_timeout(Some(Duration::from_secs(10)))
        .connect(server.url())
        .await
        .unwrap();
    let payload = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    let reply = client
        .request(format!("$JS.API.{subject}"), payload.into())
        .await
        .unwrap();
    serde_json::from_slice(&reply.payload).unwrap()
}

/// The apply succeeded and its report has `line`.
fn assert_applied(apply: &Run, line: &str) {
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert!(apply.stdout.contains(line), "{}", apply.all());
}

fn stream(name: &str, team: &str) -> String {
    format!(
        "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: {}\n  labels:\n    team: {team}\nspec:\n  name: {name}\n  subjects: [\"{}.>\"]\n  maxAge: 1h\n",
        name.to_lowercase(),
        name.to_lowercase()
    )
}

#[tokio::test]
async fn the_json_plan_has_the_documented_shape_and_is_stable() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/orders.yaml", &stream("ORDERS", "commerce"));
    let first = jetsync(
        dir.path(),
        &server,
        &["plan", "--output", "json", "-f", "m"],
    );
    assert_eq!(first.code, 0, "{}", first.all());
    let document = first.json();
    assert_eq!(document["format_version"], "1.1");
    assert_eq!(document["tool"]["name"], "jetsync");
    assert_eq!(document["target"]["server"], server.url());
    assert_eq!(document["target"]["server_version"], server.version());
    assert!(document["target"]["fingerprint"].as_str().unwrap().len() == 64);
    assert_eq!(document["sources"][0]["file"], "m/orders.yaml");
    assert_eq!(document["sources"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(document["summary"]["create"], 1);
    let change = &document["changes"][0];
    assert_eq!(change["address"], "stream/ORDERS");
    assert_eq!(change["kind"], "Stream");
    assert_eq!(change["actions"], json!(["create"]));
    assert!(change["action_reason"].is_string());
    assert_eq!(change["after"]["max_age"], json!(3_600_000_000_000u64));
    assert_eq!(document["drift"], json!([]));
    assert_eq!(document["diagnostics"], json!([]));
    let second = jetsync(
        dir.path(),
        &server,
        &["plan", "--output", "json", "-f", "m"],
    );
    assert_eq!(
        first.stdout, second.stdout,
        "two plans of one state must be byte-identical"
    );
}

#[tokio::test]
async fn a_saved_plan_applies_exactly_and_then_nothing_is_left() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/orders.yaml", &stream("ORDERS", "commerce"));
    let plan = jetsync(
        dir.path(),
        &server,
        &["plan", "--out", "plan.json", "-f", "m"],
    );
    assert_eq!(plan.code, 0, "{}", plan.all());
    let apply = jetsync(dir.path(), &server, &["apply", "plan.json"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert!(
        apply.stdout.contains("stream/ORDERS: created"),
        "{}",
        apply.all()
    );
    let again = jetsync(
        dir.path(),
        &server,
        &["plan", "--detailed-exitcode", "-f", "m"],
    );
    assert_eq!(again.code, 0, "{}", again.all());
}

#[tokio::test]
async fn a_saved_plan_is_refused_after_an_out_of_band_change() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/orders.yaml", &stream("ORDERS", "commerce"));
    assert_eq!(jetsync(dir.path(), &server, &["apply", "-f", "m"]).code, 0);
    write(dir.path(), "m/events.yaml", &stream("EVENTS", "platform"));
    assert_eq!(
        jetsync(
            dir.path(),
            &server,
            &["plan", "--out", "plan.json", "-f", "m"]
        )
        .code,
        0
    );
    let mut config = api(&server, "STREAM.INFO.ORDERS", Value::Null).await["config"].clone();
    config["max_age"] = json!(7_200_000_000_000u64);
    api(&server, "STREAM.UPDATE.ORDERS", config).await;
    let apply = jetsync(dir.path(), &server, &["apply", "plan.json"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply
            .stderr
            .contains("plan is stale: stream/ORDERS changed"),
        "{}",
        apply.all()
    );
    assert_eq!(
        api(&server, "STREAM.INFO.EVENTS", Value::Null).await["error"]["err_code"],
        10059,
        "nothing written"
    );
}

#[tokio::test]
async fn a_saved_plan_is_refused_after_the_manifests_changed() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/orders.yaml", &stream("ORDERS", "commerce"));
    assert_eq!(
        jetsync(
            dir.path(),
            &server,
            &["plan", "--out", "plan.json", "-f", "m"]
        )
        .code,
        0
    );
    write(
        dir.path(),
        "m/orders.yaml",
        &stream("ORDERS", "commerce").replace("1h", "2h"),
    );
    let apply = jetsync(dir.path(), &server, &["apply", "plan.json"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply
            .stderr
            .contains("plan is stale: m/orders.yaml changed"),
        "{}",
        apply.all()
    );
    assert_eq!(
        api(&server, "STREAM.INFO.ORDERS", Value::Null).await["error"]["err_code"],
        10059
    );
}

#[tokio::test]
async fn another_owners_or_an_unmanaged_stream_appearing_elsewhere_does_not_make_a_saved_plan_stale()
 {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/orders.yaml", &stream("ORDERS", "commerce"));
    let plan = jetsync(
        dir.path(),
        &server,
        &["plan", "--prune", "--out", "plan.json", "-f", "m"],
    );
    assert_eq!(plan.code, 0, "{}", plan.all());
    api(
        &server,
        "STREAM.CREATE.OTHER",
        json!({"name": "OTHER", "subjects": ["other.>"]}),
    )
    .await;
    api(
        &server,
        "STREAM.CREATE.THEIRS",
        json!({"name": "THEIRS", "subjects": ["theirs.>"],
               "metadata": {"jetsync.dev/owner": "team-b"}}),
    )
    .await;
    let apply = jetsync(dir.path(), &server, &["apply", "plan.json"]);
    assert_applied(&apply, "stream/ORDERS: created");
}

#[tokio::test]
async fn a_saved_plan_is_stale_when_a_declared_or_pruned_asset_appears() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/orders.yaml", &stream("ORDERS", "commerce"));
    for (name, args) in [
        (
            "declared.json",
            vec!["plan", "--out", "declared.json", "-f", "m"],
        ),
        (
            "pruning.json",
            vec!["plan", "--prune", "--out", "pruning.json", "-f", "m"],
        ),
    ] {
        let plan = jetsync(dir.path(), &server, &args);
        assert_eq!(plan.code, 0, "{name}: {}", plan.all());
    }
    // The declared stream made by someone else meanwhile.
    api(
        &server,
        "STREAM.CREATE.ORDERS",
        json!({"name": "ORDERS", "subjects": ["orders.>"]}),
    )
    .await;
    let apply = jetsync(dir.path(), &server, &["apply", "declared.json"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply
            .stderr
            .contains("plan is stale: stream/ORDERS appeared"),
        "{}",
        apply.all()
    );
    // A stream of this owner, which a new pruning plan would delete.
    api(&server, "STREAM.DELETE.ORDERS", Value::Null).await;
    api(
        &server,
        "STREAM.CREATE.MINE",
        json!({"name": "MINE", "subjects": ["mine.>"],
               "metadata": {"jetsync.dev/owner": "jetsync"}}),
    )
    .await;
    let apply = jetsync(dir.path(), &server, &["apply", "pruning.json"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply.stderr.contains("plan is stale: stream/MINE appeared"),
        "{}",
        apply.all()
    );
    assert_eq!(
        api(&server, "STREAM.INFO.ORDERS", Value::Null).await["error"]["err_code"],
        10059,
        "nothing written"
    );
}

#[tokio::test]
async fn a_saved_plan_made_at_the_repository_root_applies_from_any_directory() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    write(&repo, "infra/kv/config.yaml", &stream("ORDERS", "commerce"));
    let plan = jetsync(
        &repo,
        &server,
        &["plan", "--out", "plan.json", "-f", "infra"],
    );
    assert_eq!(plan.code, 0, "{}", plan.all());
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["root"]["kind"], "git");
    assert_eq!(saved["sources"][0]["file"], "infra/kv/config.yaml");
    // Moved elsewhere (a CI artifact) and applied from a subdirectory.
    std::fs::rename(repo.join("plan.json"), dir.path().join("plan.json")).unwrap();
    let apply = jetsync(
        &repo.join("infra/kv"),
        &server,
        &["apply", dir.path().join("plan.json").to_str().unwrap()],
    );
    assert_applied(&apply, "stream/ORDERS: created");
}

#[tokio::test]
async fn a_saved_plan_outside_git_finds_its_manifests_beside_it_and_says_when_one_is_missing() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    write(&work, "m/orders.yaml", &stream("ORDERS", "commerce"));
    write(&work, "m/events.yaml", &stream("EVENTS", "commerce"));
    std::fs::create_dir_all(work.join("plans")).unwrap();
    let plan = jetsync(
        &work,
        &server,
        &["plan", "--out", "plans/plan.json", "-f", "m"],
    );
    assert_eq!(plan.code, 0, "{}", plan.all());
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("plans/plan.json")).unwrap())
            .unwrap();
    assert_eq!(saved["root"]["kind"], "plan");
    assert_eq!(saved["sources"][0]["file"], "../m/events.yaml");
    std::fs::remove_file(work.join("m/events.yaml")).unwrap();
    let apply = jetsync(dir.path(), &server, &["apply", "work/plans/plan.json"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(
        apply.stderr.contains("the plan's manifest")
            && apply.stderr.contains("events.yaml is not found"),
        "{}",
        apply.all()
    );
    assert!(!apply.stderr.contains("changed"), "{}", apply.all());
}

#[tokio::test]
async fn a_label_selection_plans_a_subset_and_never_prunes_outside_it() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/orders.yaml", &stream("ORDERS", "commerce"));
    write(dir.path(), "m/events.yaml", &stream("EVENTS", "platform"));
    let subset = jetsync(
        dir.path(),
        &server,
        &["apply", "-l", "team=commerce", "-f", "m"],
    );
    assert_eq!(subset.code, 0, "{}", subset.all());
    assert!(
        subset.stdout.contains("stream/ORDERS: created") && !subset.stdout.contains("EVENTS"),
        "{}",
        subset.all()
    );
    assert_eq!(jetsync(dir.path(), &server, &["apply", "-f", "m"]).code, 0);
    std::fs::remove_file(dir.path().join("m/events.yaml")).unwrap();
    let pruned = jetsync(
        dir.path(),
        &server,
        &["apply", "--prune", "-l", "team=commerce", "-f", "m"],
    );
    assert_eq!(pruned.code, 0, "{}", pruned.all());
    assert!(
        api(&server, "STREAM.INFO.EVENTS", Value::Null)
            .await
            .get("error")
            .is_none(),
        "EVENTS is outside the selection"
    );
    let bad = jetsync(dir.path(), &server, &["plan", "-l", "team", "-f", "m"]);
    assert_eq!(bad.code, 1, "{}", bad.all());
}

#[tokio::test]
async fn every_command_keeps_its_exit_code_contract() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/orders.yaml", &stream("ORDERS", "commerce"));
    write(
        dir.path(),
        "bad/broken.yaml",
        "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata: {name: x}\nspec: {maxAge: soon}\n",
    );
    let code = |args: &[&str]| jetsync(dir.path(), &server, args).code;
    // validate: 0 valid, 1 invalid.
    assert_eq!(run(dir.path(), &["validate", "-f", "m"]).code, 0);
    assert_eq!(run(dir.path(), &["validate", "-f", "bad"]).code, 1);
    // plan: 0, or with --detailed-exitcode 2 for changes; 1 for errors.
    assert_eq!(code(&["plan", "-f", "m"]), 0);
    assert_eq!(code(&["plan", "--detailed-exitcode", "-f", "m"]), 2);
    assert_eq!(code(&["plan", "--detailed-exitcode", "-f", "bad"]), 1);
    // diff: 1 differences, 2 error.
    assert_eq!(code(&["diff", "-f", "m"]), 1);
    assert_eq!(code(&["diff", "-f", "bad"]), 2);
    // apply: 0 converged, 1 failure.
    assert_eq!(code(&["apply", "-f", "m"]), 0);
    assert_eq!(code(&["apply", "-f", "bad"]), 1);
    // in sync now.
    assert_eq!(code(&["plan", "--detailed-exitcode", "-f", "m"]), 0);
    assert_eq!(code(&["diff", "-f", "m"]), 0);
    // export: 0 ok, 1 error.
    assert_eq!(code(&["export"]), 0);
    assert_eq!(
        run(dir.path(), &["export", "--server", "nats://127.0.0.1:1"]).code,
        1
    );
}

#[tokio::test]
async fn a_plan_document_validates_against_the_published_plan_schema() {
    let server = require_nats!();
    let Some(venv) = std::env::var_os("JETSYNC_VENV").map(PathBuf::from) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "JETSYNC_VENV must be set in CI"
        );
        eprintln!("SKIPPED: JETSYNC_VENV not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/orders.yaml", &stream("ORDERS", "commerce"));
    assert_eq!(jetsync(dir.path(), &server, &["apply", "-f", "m"]).code, 0);
    write(
        dir.path(),
        "m/orders.yaml",
        &stream("ORDERS", "commerce").replace("1h", "2h"),
    );
    write(dir.path(), "m/events.yaml", &stream("EVENTS", "platform"));
    let plan = jetsync(
        dir.path(),
        &server,
        &["plan", "--output", "json", "-f", "m"],
    );
    write(dir.path(), "plan.json", &plan.stdout);
    let schema = run(dir.path(), &["schema", "--plan"]);
    write(dir.path(), "schema.json", &schema.stdout);
    let check = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import json, jsonschema; jsonschema.Draft202012Validator(json.load(open('schema.json'))).validate(json.load(open('plan.json'))); print('valid')",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[tokio::test]
async fn apply_with_json_output_prints_one_document_with_what_happened() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/orders.yaml", &stream("ORDERS", "commerce"));
    let apply = jetsync(
        dir.path(),
        &server,
        &["apply", "--output", "json", "-f", "m"],
    );
    assert_eq!(apply.code, 0, "{}", apply.all());
    let document = apply.json();
    assert_eq!(document["summary"]["create"], 1);
    assert_eq!(
        document["applied"],
        json!([{"address": "stream/ORDERS", "action": "create", "outcome": "done", "detail": null}])
    );
}

#[tokio::test]
async fn markdown_and_github_outputs_come_from_the_cli() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/orders.yaml", &stream("ORDERS", "commerce"));
    assert_eq!(jetsync(dir.path(), &server, &["apply", "-f", "m"]).code, 0);
    write(
        dir.path(),
        "m/orders.yaml",
        &format!("{}  storage: memory\n", stream("ORDERS", "commerce")),
    );
    let markdown = jetsync(
        dir.path(),
        &server,
        &["plan", "--output", "markdown", "-f", "m"],
    );
    assert_eq!(markdown.code, 0, "{}", markdown.all());
    assert!(markdown.stdout.starts_with("### "), "{}", markdown.stdout);
    assert!(
        markdown.stdout.contains("`stream/ORDERS`"),
        "{}",
        markdown.stdout
    );
    assert!(markdown.stdout.contains("<details>"), "{}", markdown.stdout);

    let summary = dir.path().join("summary.md");
    let output = Command::new(env!("CARGO_BIN_EXE_jetsync"))
        .args(with_server(
            &server,
            &["plan", "--output", "github", "-f", "m"],
        ))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env_remove("NATS_URL")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("::error file=m/orders.yaml,line=11,col=12,")),
        "a refused replacement is an error annotation at the field that forces it:\n{stdout}"
    );
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.contains("stream/ORDERS"), "{written}");
    // The JSON plan carries the same refusal as a diagnostic at the field.
    let json = jetsync(
        dir.path(),
        &server,
        &["plan", "--output", "json", "-f", "m"],
    );
    assert_eq!(json.code, 0, "{}", json.all());
    let document: Value = serde_json::from_str(&json.stdout).unwrap();
    let refused: Vec<&Value> = document["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["summary"].as_str().unwrap().contains("refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{document}");
    let refused = refused[0];
    assert_eq!(refused["severity"], "error", "{refused}");
    assert!(
        refused["summary"]
            .as_str()
            .unwrap()
            .starts_with("replacement of stream/ORDERS refused: "),
        "{refused}"
    );
    assert_eq!(
        (
            &refused["file"],
            &refused["line"],
            &refused["column"],
            &refused["field"]
        ),
        (
            &json!("m/orders.yaml"),
            &json!(11),
            &json!(12),
            &json!("spec.storage")
        ),
        "{refused}"
    );

    write(
        dir.path(),
        "bad/x.yaml",
        "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata: {name: x}\nspec: {maxAge: soon}\n",
    );
    let invalid = jetsync(
        dir.path(),
        &server,
        &["plan", "--output", "github", "-f", "bad"],
    );
    assert_eq!(invalid.code, 1);
    assert!(
        invalid.stdout.contains("::error file=bad/x.yaml,line=4,"),
        "{}",
        invalid.all()
    );
}
