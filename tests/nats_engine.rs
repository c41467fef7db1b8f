//! The engine end to end, through the `jetsync` binary against a real
//! nats-server: plan → apply → plan is empty; drift told apart from pending
//! change and corrected; out-of-band deletes recreated; prune, adopt and
//! replacement only with their flags; clear errors that write nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use support::NatsServer;
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

fn jetsync(server: &str, args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_jetsync"))
        .args(args)
        .args(["--server", server])
        .env("NO_COLOR", "1")
        .env_remove("NATS_URL")
        .env_remove("JETSYNC_OWNER")
        .env("XDG_CONFIG_HOME", "/nonexistent-jetsync-test")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("jetsync runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn client(server: &NatsServer) -> async_nats::Client {
    support::client(&server.url()).await
}

async fn stream_info(client: &async_nats::Client, name: &str) -> Value {
    api(client, &format!("STREAM.INFO.{name}"), Value::Null).await
}

const STREAM: &str = "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: orders\nspec:\n  name: ORDERS\n  subjects: [\"orders.*\"]\n  maxAge: 1h\n";

#[tokio::test]
async fn examples_plan_apply_and_then_plan_nothing() {
    let server = require_nats!();
    let url = server.url();
    let first = jetsync(&url, &["plan", "--detailed-exitcode", "-f", "examples/"]);
    assert_eq!(first.code, 2, "{}", first.all());
    assert!(first.stdout.contains("+ stream/EVENTS"), "{}", first.stdout);
    assert!(
        first
            .stdout
            .contains("Plan: 6 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{}",
        first.stdout
    );

    let apply = jetsync(&url, &["apply", "-f", "examples/"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert!(apply.stdout.contains("6 created"), "{}", apply.stdout);

    let again = jetsync(&url, &["plan", "--detailed-exitcode", "-f", "examples/"]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    let diff = jetsync(&url, &["diff", "-f", "examples/"]);
    assert_eq!(diff.code, 0, "{}", diff.all());

    // Applying again sends nothing.
    let noop = jetsync(&url, &["apply", "-f", "examples/"]);
    assert_eq!(noop.code, 0, "{}", noop.all());
    assert!(noop.stdout.contains("Nothing to do"), "{}", noop.stdout);

    let client = client(&server).await;
    let info = stream_info(&client, "EVENTS").await;
    assert_eq!(
        info["config"]["metadata"]["jetsync.dev/owner"], "jetsync",
        "{info}"
    );
}

#[tokio::test]
async fn an_out_of_band_change_is_drift_and_apply_corrects_it() {
    let server = require_nats!();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "orders.yaml", STREAM);
    let file = file.to_str().unwrap();
    assert_eq!(jetsync(&url, &["apply", "-f", file]).code, 0);

    let client = client(&server).await;
    let mut config = stream_info(&client, "ORDERS").await["config"].clone();
    config["max_age"] = json!(7_200_000_000_000u64);
    let updated = api(&client, "STREAM.UPDATE.ORDERS", config).await;
    assert!(updated.get("error").is_none(), "{updated}");

    let diff = jetsync(&url, &["diff", "-f", file]);
    assert_eq!(diff.code, 1, "{}", diff.all());
    assert!(
        diff.stdout.contains("Drift (changed outside jetsync"),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("maxAge: 2h → 1h"), "{}", diff.stdout);
    assert!(
        !diff.stdout.contains("Changes:"),
        "drift is not a pending change: {}",
        diff.stdout
    );

    assert_eq!(jetsync(&url, &["apply", "-f", file]).code, 0);
    let after = stream_info(&client, "ORDERS").await;
    assert_eq!(after["config"]["max_age"], json!(3_600_000_000_000u64));
    assert_eq!(
        jetsync(&url, &["plan", "--detailed-exitcode", "-f", file]).code,
        0
    );
}

#[tokio::test]
async fn a_changed_manifest_is_a_pending_update_not_drift() {
    let server = require_nats!();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "orders.yaml", STREAM);
    let file = file.to_str().unwrap();
    assert_eq!(jetsync(&url, &["apply", "-f", file]).code, 0);
    write(
        dir.path(),
        "orders.yaml",
        &STREAM.replace("maxAge: 1h", "maxAge: 3h"),
    );
    let plan = jetsync(&url, &["plan", "-f", file]);
    assert!(plan.stdout.contains("~ stream/ORDERS"), "{}", plan.stdout);
    assert!(plan.stdout.contains("maxAge: 1h → 3h"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("Drift"), "{}", plan.stdout);
    assert_eq!(jetsync(&url, &["apply", "-f", file]).code, 0);
    assert_eq!(
        jetsync(&url, &["plan", "--detailed-exitcode", "-f", file]).code,
        0
    );
}

#[tokio::test]
async fn an_out_of_band_delete_is_recreated() {
    let server = require_nats!();
    let url = server.url();
    assert_eq!(jetsync(&url, &["apply", "-f", "examples/"]).code, 0);
    let client = client(&server).await;
    api(&client, "CONSUMER.DELETE.ORDERS.processor", Value::Null).await;
    api(&client, "STREAM.DELETE.KV_config", Value::Null).await;
    let plan = jetsync(&url, &["plan", "-f", "examples/"]);
    assert!(plan.stdout.contains("+ kv/config"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("+ consumer/ORDERS/processor"),
        "{}",
        plan.stdout
    );
    assert_eq!(jetsync(&url, &["apply", "-f", "examples/"]).code, 0);
    assert_eq!(
        jetsync(&url, &["plan", "--detailed-exitcode", "-f", "examples/"]).code,
        0
    );
}

#[tokio::test]
async fn prune_deletes_only_this_owners_undeclared_assets() {
    let server = require_nats!();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let both = write(
        dir.path(),
        "both.yaml",
        &format!(
            "{STREAM}---\n{}",
            STREAM.replace("orders", "old").replace("ORDERS", "OLD")
        ),
    );
    assert_eq!(
        jetsync(&url, &["apply", "-f", both.to_str().unwrap()]).code,
        0
    );
    let other = dir.path().join("other.yaml");
    std::fs::write(
        &other,
        STREAM
            .replace("orders", "theirs")
            .replace("ORDERS", "THEIRS"),
    )
    .unwrap();
    let owned = jetsync(
        &url,
        &["apply", "--owner", "team-b", "-f", other.to_str().unwrap()],
    );
    assert_eq!(owned.code, 0, "{}", owned.all());
    let client = client(&server).await;
    let by_hand = api(
        &client,
        "STREAM.CREATE.HANDMADE",
        json!({"name": "HANDMADE", "subjects": ["hand.>"]}),
    )
    .await;
    assert!(by_hand.get("error").is_none(), "{by_hand}");

    std::fs::remove_file(&both).unwrap();
    let file = write(dir.path(), "orders.yaml", STREAM);
    let file = file.to_str().unwrap();
    let plan = jetsync(&url, &["plan", "-f", file]);
    assert!(plan.stdout.contains("- stream/OLD"), "{}", plan.stdout);
    assert!(plan.stdout.contains("needs --prune"), "{}", plan.stdout);
    assert!(
        !plan.stdout.contains("THEIRS") && !plan.stdout.contains("HANDMADE"),
        "{}",
        plan.stdout
    );

    let refused = jetsync(&url, &["apply", "-f", file]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        stream_info(&client, "OLD").await.get("error").is_none(),
        "OLD must survive without --prune"
    );

    let pruned = jetsync(&url, &["apply", "--prune", "-f", file]);
    assert_eq!(pruned.code, 0, "{}", pruned.all());
    assert_eq!(
        stream_info(&client, "OLD").await["error"]["err_code"],
        10059
    );
    assert!(stream_info(&client, "THEIRS").await.get("error").is_none());
    assert!(
        stream_info(&client, "HANDMADE")
            .await
            .get("error")
            .is_none()
    );
}

#[tokio::test]
async fn adopt_takes_over_an_existing_stream_only_when_asked() {
    let server = require_nats!();
    let url = server.url();
    let client = client(&server).await;
    let made = api(
        &client,
        "STREAM.CREATE.ORDERS",
        json!({"name": "ORDERS", "subjects": ["orders.*"], "max_age": 60_000_000_000u64}),
    )
    .await;
    assert!(made.get("error").is_none(), "{made}");
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "orders.yaml", STREAM);
    let file = file.to_str().unwrap();

    let plan = jetsync(&url, &["plan", "-f", file]);
    assert!(
        plan.stdout.contains("stream/ORDERS (adopt)"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("needs --adopt"), "{}", plan.stdout);
    let refused = jetsync(&url, &["apply", "-f", file]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    let untouched = stream_info(&client, "ORDERS").await;
    assert_eq!(untouched["config"]["max_age"], json!(60_000_000_000u64));
    assert!(
        untouched["config"]["metadata"]
            .get("jetsync.dev/owner")
            .is_none()
    );

    let adopted = jetsync(&url, &["apply", "--adopt", "-f", file]);
    assert_eq!(adopted.code, 0, "{}", adopted.all());
    let after = stream_info(&client, "ORDERS").await;
    assert_eq!(after["config"]["metadata"]["jetsync.dev/owner"], "jetsync");
    assert_eq!(after["config"]["max_age"], json!(3_600_000_000_000u64));
    assert_eq!(
        jetsync(&url, &["plan", "--detailed-exitcode", "-f", file]).code,
        0
    );
}

#[tokio::test]
async fn a_storage_change_is_a_replacement_that_needs_its_flag() {
    let server = require_nats!();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "orders.yaml", STREAM);
    let file = file.to_str().unwrap();
    assert_eq!(jetsync(&url, &["apply", "-f", file]).code, 0);
    let client = client(&server).await;
    client.publish("orders.new", "one".into()).await.unwrap();
    client.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    write(
        dir.path(),
        "orders.yaml",
        &format!("{STREAM}  storage: memory\n"),
    );
    let plan = jetsync(&url, &["plan", "-f", file]);
    assert!(plan.stdout.contains("-/+ stream/ORDERS"), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("storage: file → memory  # forces replacement"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("loses: 1 message(s)"),
        "{}",
        plan.stdout
    );

    let refused = jetsync(&url, &["apply", "-f", file]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    let kept = stream_info(&client, "ORDERS").await;
    assert_eq!(kept["state"]["messages"], 1, "{kept}");
    assert_eq!(kept["config"]["storage"], "file");

    let replaced = jetsync(&url, &["apply", "--allow-replace", "-f", file]);
    assert_eq!(replaced.code, 0, "{}", replaced.all());
    let after = stream_info(&client, "ORDERS").await;
    assert_eq!(after["config"]["storage"], "memory");
    assert_eq!(
        jetsync(&url, &["plan", "--detailed-exitcode", "-f", file]).code,
        0
    );
}

#[tokio::test]
async fn a_consumer_on_a_stream_that_exists_nowhere_is_an_error_and_nothing_is_written() {
    let server = require_nats!();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "c.yaml",
        &format!(
            "{STREAM}---\napiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: lost\nspec:\n  streamName: NOWHERE\n"
        ),
    );
    let run = jetsync(&url, &["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("neither declared nor on the server"),
        "{}",
        run.all()
    );
    assert!(
        run.stderr.contains("c.yaml:15:15"),
        "at the value of spec.streamName, not at the document's first line:\n{}",
        run.all()
    );
    let client = client(&server).await;
    assert_eq!(
        stream_info(&client, "ORDERS").await["error"]["err_code"],
        10059,
        "nothing may be written"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "orders.yaml", STREAM);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("nats://127.0.0.1:{port}");
    let plan = jetsync(&url, &["plan", "-f", file.to_str().unwrap()]);
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(
        plan.stderr.contains("cannot reach the NATS server"),
        "{}",
        plan.all()
    );
    let diff = jetsync(&url, &["diff", "-f", file.to_str().unwrap()]);
    assert_eq!(diff.code, 2, "diff errors exit 2: {}", diff.all());
}

#[tokio::test]
async fn jetstream_disabled_is_a_clear_error() {
    let server = require_nats!(NatsServer::builder().jetstream(false));
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "orders.yaml", STREAM);
    let run = jetsync(&server.url(), &["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("JetStream is not enabled"),
        "{}",
        run.all()
    );
}

#[tokio::test]
async fn a_field_newer_than_the_server_names_the_field_and_version() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "ttl.yaml",
        &format!("{STREAM}  allowMsgTtl: true\n"),
    );
    let run = jetsync(&server.url(), &["plan", "-f", file.to_str().unwrap()]);
    if server.version().starts_with("2.10.") {
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(
            run.stderr.contains("allowMsgTtl needs nats-server 2.11"),
            "{}",
            run.all()
        );
        assert!(
            run.stderr.contains("ttl.yaml:9:16"),
            "at the field's value:\n{}",
            run.all()
        );
    } else {
        assert_eq!(run.code, 0, "{}", run.all());
        assert_eq!(
            jetsync(&server.url(), &["apply", "-f", file.to_str().unwrap()]).code,
            0
        );
        let again = jetsync(
            &server.url(),
            &["plan", "--detailed-exitcode", "-f", file.to_str().unwrap()],
        );
        assert_eq!(again.code, 0, "{}", again.all());
    }
}

const SECRET: &str = "s3cr3t-Pa55word";

#[tokio::test]
async fn refused_credentials_are_a_clear_error_that_never_shows_the_password() {
    let server = require_nats!(NatsServer::builder().config_extra(format!(
        "authorization {{ user: app, password: \"{SECRET}\" }}\n"
    )));
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "orders.yaml", STREAM);
    let run = jetsync(
        &server.url(),
        &[
            "plan",
            "--user",
            "app",
            "--password",
            "wrong-Pa55word",
            "-f",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("refused authentication"),
        "{}",
        run.all()
    );
    assert!(!run.all().contains("wrong-Pa55word"), "{}", run.all());

    let ok = jetsync(
        &server.url(),
        &[
            "apply",
            "--user",
            "app",
            "--password",
            SECRET,
            "-f",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(ok.code, 0, "{}", ok.all());
    assert!(!ok.all().contains(SECRET), "{}", ok.all());
}

#[tokio::test]
async fn a_natsconnection_document_with_file_secrets_is_used_for_its_assets() {
    let server = require_nats!(NatsServer::builder().config_extra(format!(
        "authorization {{ user: app, password: \"{SECRET}\" }}\n"
    )));
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "password.txt", &format!("{SECRET}\n"));
    let file = write(
        dir.path(),
        "all.yaml",
        &format!(
            "apiVersion: jetsync.dev/v1alpha1\nkind: NatsConnection\nmetadata:\n  name: local\nspec:\n  servers: [\"{}\"]\n  auth:\n    userPassword:\n      user: app\n      password:\n        file: password.txt\n---\n{}  connection: local\n",
            server.url(),
            STREAM
        ),
    );
    // The --server flag points nowhere useful: the profile must be used.
    let run = jetsync(
        "nats://127.0.0.1:1",
        &["apply", "-f", file.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("stream/ORDERS: created"),
        "{}",
        run.all()
    );
    assert!(!run.all().contains(SECRET), "{}", run.all());
}

#[tokio::test]
async fn a_wrong_jetstream_domain_is_a_clear_error() {
    let server = require_nats!(NatsServer::builder().domain("hub"));
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "orders.yaml", STREAM);
    let wrong = jetsync(
        &server.url(),
        &["plan", "--js-domain", "spoke", "-f", file.to_str().unwrap()],
    );
    assert_eq!(wrong.code, 1, "{}", wrong.all());
    assert!(wrong.stderr.contains("domain \"spoke\""), "{}", wrong.all());
    let right = jetsync(
        &server.url(),
        &["apply", "--js-domain", "hub", "-f", file.to_str().unwrap()],
    );
    assert_eq!(right.code, 0, "{}", right.all());
}

#[tokio::test]
async fn export_of_a_hand_made_server_validates_adopts_and_plans_nothing() {
    let server = require_nats!();
    let client = client(&server).await;
    let js = async_nats::jetstream::new(client.clone());
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "HAND".into(),
        subjects: vec!["hand.>".into()],
        max_age: Duration::from_secs(3600),
        max_messages_per_subject: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_key_value(async_nats::jetstream::kv::Config {
        bucket: "settings".into(),
        history: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    let stream = js.get_stream("HAND").await.unwrap();
    stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("reader".into()),
            max_deliver: 4,
            ..Default::default()
        })
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("live.yaml");
    let path = exported.to_str().unwrap();
    let export = jetsync(&server.url(), &["export", "--all", "--out", path]);
    assert_eq!(export.code, 0, "{}", export.all());
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(
        text.contains("kind: KeyValue") && text.contains("kind: Consumer"),
        "{text}"
    );

    let validate = Command::new(env!("CARGO_BIN_EXE_jetsync"))
        .args(["validate", "-f", path])
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
    let adopt = jetsync(&server.url(), &["apply", "--adopt", "-f", path]);
    assert_eq!(adopt.code, 0, "{}", adopt.all());
    assert!(adopt.stdout.contains("adopted"), "{}", adopt.all());
    let plan = jetsync(&server.url(), &["plan", "--detailed-exitcode", "-f", path]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    // Now managed: a plain export (managed only) has them too.
    let managed = jetsync(&server.url(), &["export"]);
    assert!(managed.stdout.contains("name: HAND"), "{}", managed.all());
}

#[tokio::test]
async fn a_sealed_stream_is_created_then_sealed_and_then_plans_nothing() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "sealed.yaml",
        &format!("{STREAM}  sealed: true\n"),
    );
    let path = file.to_str().unwrap();
    let apply = jetsync(&server.url(), &["apply", "-f", path]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let client = client(&server).await;
    let info = stream_info(&client, "ORDERS").await;
    assert_eq!(info["config"]["sealed"], true, "{info}");
    let plan = jetsync(&server.url(), &["plan", "--detailed-exitcode", "-f", path]);
    assert_eq!(plan.code, 0, "{}", plan.all());
}

#[tokio::test]
async fn a_pause_made_outside_jetsync_stays_when_pause_until_is_an_ignored_field() {
    let server = require_nats!();
    if server.version().starts_with("2.10.") {
        eprintln!("consumer pause needs nats-server 2.11");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let consumer = |ack_wait: &str| {
        format!(
            "{STREAM}---\napiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: worker\nspec:\n  streamName: ORDERS\n  ackWait: {ack_wait}\n  ignoreFields: [pauseUntil]\n"
        )
    };
    let file = write(dir.path(), "c.yaml", &consumer("20s"));
    let path = file.to_str().unwrap();
    let client = client(&server).await;
    assert_eq!(jetsync(&server.url(), &["apply", "-f", path]).code, 0);

    // An operator pauses the consumer during an incident.
    let paused = api(
        &client,
        "CONSUMER.PAUSE.ORDERS.worker",
        json!({"pause_until": "2099-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(paused["paused"], true, "{paused}");
    let plan = jetsync(&server.url(), &["plan", "--detailed-exitcode", "-f", path]);
    assert_eq!(
        plan.code,
        0,
        "the pause is neither drift nor undone: {}",
        plan.all()
    );

    write(dir.path(), "c.yaml", &consumer("30s"));
    assert_eq!(jetsync(&server.url(), &["apply", "-f", path]).code, 0);
    let info = api(&client, "CONSUMER.INFO.ORDERS.worker", Value::Null).await;
    assert_eq!(info["config"]["ack_wait"], json!(30_000_000_000u64));
    assert_eq!(info["paused"], true, "an update keeps the pause: {info}");
}

#[tokio::test]
async fn a_suspended_document_is_not_planned_and_the_plan_says_so() {
    let server = require_nats!();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "s.yaml", &format!("{STREAM}  suspend: true\n"));
    let path = file.to_str().unwrap();
    let plan = jetsync(&server.url(), &["plan", "--detailed-exitcode", "-f", path]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(plan.all().contains("suspended"), "{}", plan.all());
    assert_eq!(jetsync(&server.url(), &["apply", "-f", path]).code, 0);
    let client = client(&server).await;
    assert_eq!(
        stream_info(&client, "ORDERS").await["error"]["err_code"],
        10059
    );
}

#[tokio::test]
async fn a_consumer_pause_is_set_changed_and_lifted_through_the_pause_api() {
    let server = require_nats!();
    if server.version().starts_with("2.10.") {
        eprintln!("consumer pause needs nats-server 2.11");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let consumer = "---\napiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: worker\nspec:\n  streamName: ORDERS\n  ackWait: 20s\n";
    let file = write(
        dir.path(),
        "c.yaml",
        &format!("{STREAM}{consumer}  pauseUntil: \"2099-01-01T00:00:00Z\"\n"),
    );
    let path = file.to_str().unwrap();
    let client = client(&server).await;
    let paused = |info: &Value| info["paused"].as_bool().unwrap_or(false);

    assert_eq!(jetsync(&server.url(), &["apply", "-f", path]).code, 0);
    let info = api(&client, "CONSUMER.INFO.ORDERS.worker", Value::Null).await;
    assert!(paused(&info), "{info}");
    assert_eq!(
        jetsync(&server.url(), &["plan", "--detailed-exitcode", "-f", path]).code,
        0
    );

    write(
        dir.path(),
        "c.yaml",
        &format!("{STREAM}{consumer}  pauseUntil: \"2098-06-01T02:00:00+02:00\"\n"),
    );
    let plan = jetsync(&server.url(), &["plan", "-f", path]);
    assert!(plan.stdout.contains("pauseUntil:"), "{}", plan.all());
    assert_eq!(jetsync(&server.url(), &["apply", "-f", path]).code, 0);
    let info = api(&client, "CONSUMER.INFO.ORDERS.worker", Value::Null).await;
    assert!(
        info["config"]["pause_until"]
            .as_str()
            .unwrap()
            .starts_with("2098-06-01T"),
        "{info}"
    );
    assert_eq!(info["config"]["ack_wait"], json!(20_000_000_000u64));
    assert_eq!(
        jetsync(&server.url(), &["plan", "--detailed-exitcode", "-f", path]).code,
        0
    );

    write(dir.path(), "c.yaml", &format!("{STREAM}{consumer}"));
    assert_eq!(jetsync(&server.url(), &["apply", "-f", path]).code, 0);
    let info = api(&client, "CONSUMER.INFO.ORDERS.worker", Value::Null).await;
    assert!(!paused(&info), "{info}");
    assert_eq!(
        jetsync(&server.url(), &["plan", "--detailed-exitcode", "-f", path]).code,
        0
    );
}
