//! No loss unseen: every consumer that goes with a replaced or pruned stream
//! is listed, other applications' consumers are not destroyed without
//! consent, a prune that looks like an accident is refused, `driftPolicy:
//! Report` is honoured by the CLI, and the plan refuses what a standalone
//! server cannot do. Through the `jetsync` binary, against a real server,
//! with the other application's consumer made by async-nats itself.

#[path = "support/cli.rs"]
mod cli;
mod support;

use async_nats::jetstream::{self, consumer};
use cli::{Run, write};
use serde_json::{Value, json};
use support::{NatsServer, js_api};

/// `jetsync ARGS` against `server` as `owner`, from the system's temporary directory.
fn jetsync(server: &NatsServer, owner: &str, args: &[&str]) -> Run {
    let mut args = args.to_vec();
    args.extend(["--owner", owner]);
    cli::jetsync(&std::env::temp_dir(), &server.url(), &args)
}

fn stream_doc(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: {lower}\nspec:\n  name: {name}\n  subjects: [\"{lower}.>\"]\n{extra}",
        lower = name.to_lowercase()
    )
}

fn consumer_doc(stream: &str, name: &str) -> String {
    format!(
        "apiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: {stream_lower}-{name}\nspec:\n  streamName: {stream}\n  name: {name}\n",
        stream_lower = stream.to_lowercase()
    )
}

/// Another application's durable pull consumer, made by async-nats.
async fn other_application_consumer(client: &async_nats::Client, stream: &str, name: &str) {
    let js = jetstream::new(client.clone());
    let stream = js.get_stream(stream).await.expect("the stream exists");
    stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some(name.to_string()),
            filter_subject: format!("{}.a", stream.cached_info().config.name.to_lowercase()),
            ack_wait: std::time::Duration::from_secs(42),
            max_deliver: 7,
            ..Default::default()
        })
        .await
        .expect("async-nats creates the consumer");
}

async fn publish(client: &async_nats::Client, subject: &str, count: usize) {
    let js = jetstream::new(client.clone());
    for n in 0..count {
        js.publish(subject.to_string(), format!("message {n}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

fn plan_json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("plan JSON: {e}\n{}\n{}", run.stdout, run.stderr))
}

fn change<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(plan["drift"].as_array().unwrap())
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("no change for {address} in {plan:#}"))
}

fn lost<'a>(change: &'a Value, name: &str) -> &'a Value {
    change["loses"]["consumers"]
        .as_array()
        .unwrap_or_else(|| panic!("no loses.consumers in {change:#}"))
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("consumer {name} not listed in {change:#}"))
}

async fn exists(client: &async_nats::Client, subject: &str) -> bool {
    js_api(client, subject, Value::Null)
        .await
        .get("error")
        .is_none()
}

#[tokio::test]
async fn replacing_a_stream_lists_every_consumer_and_keeps_other_applications_consumers_unless_consented()
 {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = support::client(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let owner = "no-loss-replace";
    write(
        dir.path(),
        "s.yaml",
        &stream_doc("REPL", "  storage: file\n"),
    );
    write(dir.path(), "c.yaml", &consumer_doc("REPL", "worker"));
    let d = dir.path().to_str().unwrap();
    assert_eq!(jetsync(&server, owner, &["apply", "-f", d]).code, 0);
    publish(&client, "repl.a", 5).await;
    other_application_consumer(&client, "REPL", "other-app").await;

    write(
        dir.path(),
        "s.yaml",
        &stream_doc("REPL", "  storage: memory\n"),
    );
    let plan = jetsync(
        &server,
        owner,
        &["plan", "-f", d, "--allow-replace", "-o", "json"],
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let plan = plan_json(&plan);
    let stream = change(&plan, "stream/REPL");
    assert_eq!(stream["action"], "replace");
    assert_eq!(stream["loses"]["messages"], 5);
    let worker = lost(stream, "worker");
    assert_eq!(
        (worker["managed"].clone(), worker["fate"].clone()),
        (json!(true), json!("recreated"))
    );
    let other = lost(stream, "other-app");
    assert_eq!(other["managed"], false);
    let refused = stream["refused"]
        .as_str()
        .expect("the replacement is refused");
    assert!(refused.contains("`other-app`"), "{refused}");
    assert!(refused.contains("--unmanaged-consumers"), "{refused}");
    assert_eq!(
        plan["summary"]["replace"], 0,
        "a refused replacement is not counted"
    );
    assert!(plan["summary"]["refused"].as_u64().unwrap() >= 1);

    let human = jetsync(&server, owner, &["plan", "-f", d, "--allow-replace"]);
    assert!(
        human
            .stdout
            .contains("consumer `other-app` (not managed by jetsync): 5 pending"),
        "{}",
        human.stdout
    );

    // Refused by default: nothing changes, the other application's consumer stays.
    let refused_apply = jetsync(&server, owner, &["apply", "-f", d, "--allow-replace"]);
    assert_eq!(refused_apply.code, 1, "{}", refused_apply.stdout);
    let info = js_api(&client, "STREAM.INFO.REPL", Value::Null).await;
    assert_eq!(info["config"]["storage"], "file");
    assert_eq!(info["state"]["messages"], 5);
    assert!(exists(&client, "CONSUMER.INFO.REPL.other-app").await);
    let before =
        js_api(&client, "CONSUMER.INFO.REPL.other-app", Value::Null).await["config"].clone();

    // Consent to recreate: the stream is replaced and the consumer comes back as it was.
    let applied = jetsync(
        &server,
        owner,
        &[
            "apply",
            "-f",
            d,
            "--allow-replace",
            "--unmanaged-consumers",
            "recreate",
        ],
    );
    assert_eq!(applied.code, 0, "{}", applied.all());
    let info = js_api(&client, "STREAM.INFO.REPL", Value::Null).await;
    assert_eq!(info["config"]["storage"], "memory");
    let after =
        js_api(&client, "CONSUMER.INFO.REPL.other-app", Value::Null).await["config"].clone();
    for field in [
        "durable_name",
        "filter_subject",
        "ack_policy",
        "ack_wait",
        "max_deliver",
        "deliver_policy",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
    assert!(
        after["metadata"].get("jetsync.dev/owner").is_none(),
        "the restored consumer stays unmanaged: {after:#}"
    );
    assert!(exists(&client, "CONSUMER.INFO.REPL.worker").await);
    assert!(
        info["config"]["metadata"]
            .get("jetsync.dev/restore-consumers")
            .is_none(),
        "no restore stash is left behind: {info:#}"
    );
    let again = jetsync(&server, owner, &["plan", "-f", d, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);

    // Consent to delete: back to file storage, the consumer goes with it.
    write(
        dir.path(),
        "s.yaml",
        &stream_doc("REPL", "  storage: file\n"),
    );
    let deleted = jetsync(
        &server,
        owner,
        &[
            "apply",
            "-f",
            d,
            "--allow-replace",
            "--unmanaged-consumers",
            "delete",
        ],
    );
    assert_eq!(deleted.code, 0, "{}", deleted.all());
    assert!(!exists(&client, "CONSUMER.INFO.REPL.other-app").await);
    assert!(exists(&client, "CONSUMER.INFO.REPL.worker").await);
}

#[tokio::test]
async fn spec_unmanaged_consumers_consents_for_its_own_stream() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = support::client(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let owner = "no-loss-spec";
    let d = dir.path().to_str().unwrap();
    write(
        dir.path(),
        "s.yaml",
        &stream_doc("SPECR", "  storage: file\n"),
    );
    assert_eq!(jetsync(&server, owner, &["apply", "-f", d]).code, 0);
    other_application_consumer(&client, "SPECR", "reader").await;
    write(
        dir.path(),
        "s.yaml",
        &stream_doc(
            "SPECR",
            "  storage: memory\n  onImmutableChange: Recreate\n  unmanagedConsumers: Recreate\n",
        ),
    );
    let applied = jetsync(&server, owner, &["apply", "-f", d]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let info = js_api(&client, "STREAM.INFO.SPECR", Value::Null).await;
    assert_eq!(info["config"]["storage"], "memory");
    assert!(exists(&client, "CONSUMER.INFO.SPECR.reader").await);
}

#[tokio::test]
async fn pruning_a_stream_lists_its_consumers_and_refuses_other_applications_ones_without_consent()
{
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = support::client(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let owner = "no-loss-prune";
    let d = dir.path().to_str().unwrap();
    for name in ["PA", "PB", "PC"] {
        write(dir.path(), &format!("{name}.yaml"), &stream_doc(name, ""));
    }
    assert_eq!(jetsync(&server, owner, &["apply", "-f", d]).code, 0);
    other_application_consumer(&client, "PC", "billing").await;
    std::fs::remove_file(dir.path().join("PC.yaml")).unwrap();

    let plan = plan_json(&jetsync(
        &server,
        owner,
        &["plan", "-f", d, "--prune", "-o", "json"],
    ));
    let stream = change(&plan, "stream/PC");
    assert_eq!(stream["action"], "delete");
    assert_eq!(lost(stream, "billing")["managed"], false);
    assert!(stream["refused"].as_str().unwrap().contains("`billing`"));

    let refused = jetsync(&server, owner, &["apply", "-f", d, "--prune"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(exists(&client, "STREAM.INFO.PC").await);
    assert!(exists(&client, "CONSUMER.INFO.PC.billing").await);

    let recreate = jetsync(
        &server,
        owner,
        &[
            "apply",
            "-f",
            d,
            "--prune",
            "--unmanaged-consumers",
            "recreate",
        ],
    );
    assert_eq!(recreate.code, 1, "recreate does not consent to a deletion");
    assert!(exists(&client, "STREAM.INFO.PC").await);

    let consented = jetsync(
        &server,
        owner,
        &[
            "apply",
            "-f",
            d,
            "--prune",
            "--unmanaged-consumers",
            "delete",
        ],
    );
    assert_eq!(
        consented.code, 0,
        "{}\n{}",
        consented.stdout, consented.stderr
    );
    assert!(!exists(&client, "STREAM.INFO.PC").await);
    assert!(exists(&client, "STREAM.INFO.PA").await);
}

#[tokio::test]
async fn prune_over_an_empty_selection_or_most_of_an_owner_needs_prune_all() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = support::client(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let owner = "no-loss-empty";
    let d = dir.path().to_str().unwrap();
    let e = empty.path().to_str().unwrap();
    for name in ["E1", "E2", "E3", "E4"] {
        write(dir.path(), &format!("{name}.yaml"), &stream_doc(name, ""));
    }
    assert_eq!(jetsync(&server, owner, &["apply", "-f", d]).code, 0);
    publish(&client, "e1.x", 3).await;

    // A wrong path: no document at all.
    let run = jetsync(&server, owner, &["apply", "-f", e, "--prune"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("--prune-all"), "{}", run.stderr);
    for name in ["E1", "E2", "E3", "E4"] {
        assert!(
            exists(&client, &format!("STREAM.INFO.{name}")).await,
            "{name} kept"
        );
    }

    // Three of the owner's four assets at once.
    for name in ["E2", "E3", "E4"] {
        std::fs::remove_file(dir.path().join(format!("{name}.yaml"))).unwrap();
    }
    let plan = plan_json(&jetsync(
        &server,
        owner,
        &["plan", "-f", d, "--prune", "-o", "json"],
    ));
    assert_eq!(
        plan["summary"]["delete"], 0,
        "refused deletions are not counted"
    );
    assert_eq!(plan["summary"]["refused"], 3);
    assert!(
        change(&plan, "stream/E2")["refused"]
            .as_str()
            .unwrap()
            .contains("3 of the 4 assets"),
        "{plan:#}"
    );
    let run = jetsync(&server, owner, &["apply", "-f", d, "--prune"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(exists(&client, "STREAM.INFO.E4").await);

    let run = jetsync(
        &server,
        owner,
        &["apply", "-f", d, "--prune", "--prune-all"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!exists(&client, "STREAM.INFO.E4").await);

    // Deleting everything, on purpose.
    let run = jetsync(
        &server,
        owner,
        &["apply", "-f", e, "--prune", "--prune-all"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!exists(&client, "STREAM.INFO.E1").await);
}

#[tokio::test]
async fn drift_policy_report_is_shown_and_left_as_it_is_by_the_cli() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = support::client(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let owner = "no-loss-drift";
    let d = dir.path().to_str().unwrap();
    write(
        dir.path(),
        "r.yaml",
        &stream_doc("REP", "  maxAge: 1h\n  driftPolicy: Report\n"),
    );
    assert_eq!(jetsync(&server, owner, &["apply", "-f", d]).code, 0);

    // An out-of-band edit that keeps jetsync's markers.
    let mut config = js_api(&client, "STREAM.INFO.REP", Value::Null).await["config"].clone();
    config["max_age"] = json!(7_200_000_000_000u64);
    let updated = js_api(&client, "STREAM.UPDATE.REP", config).await;
    assert!(updated.get("error").is_none(), "{updated}");

    let plan = plan_json(&jetsync(&server, owner, &["plan", "-f", d, "-o", "json"]));
    let drifted = change(&plan, "stream/REP");
    assert_eq!(drifted["reported"], true, "{drifted:#}");
    assert_eq!(plan["summary"]["reported"], 1);
    assert_eq!(plan["summary"]["update"], 0);
    assert_eq!(
        jetsync(&server, owner, &["plan", "-f", d, "--detailed-exitcode"]).code,
        2,
        "reported drift is a difference"
    );
    assert_eq!(jetsync(&server, owner, &["diff", "-f", d]).code, 1);
    let applied = jetsync(&server, owner, &["apply", "-f", d]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert!(
        applied.stdout.contains("driftPolicy: Report"),
        "{}",
        applied.stdout
    );
    let live = js_api(&client, "STREAM.INFO.REP", Value::Null).await;
    assert_eq!(
        live["config"]["max_age"], 7_200_000_000_000u64,
        "left as it is"
    );

    // A declared change is still made.
    write(
        dir.path(),
        "r.yaml",
        &stream_doc("REP", "  maxAge: 3h\n  driftPolicy: Report\n"),
    );
    assert_eq!(jetsync(&server, owner, &["apply", "-f", d]).code, 0);
    let live = js_api(&client, "STREAM.INFO.REP", Value::Null).await;
    assert_eq!(live["config"]["max_age"], 10_800_000_000_000u64);
}

#[tokio::test]
async fn replicas_above_one_on_a_standalone_server_are_refused_in_the_plan() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = support::client(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let owner = "no-loss-replicas";
    let d = dir.path().to_str().unwrap();
    write(dir.path(), "r3.yaml", &stream_doc("R3", "  replicas: 3\n"));
    write(dir.path(), "ok.yaml", &stream_doc("R1", ""));
    let run = jetsync(&server, owner, &["apply", "-f", d]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("replicas: 3 needs a JetStream cluster"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("r3.yaml"),
        "names the file: {}",
        run.stderr
    );
    assert!(!exists(&client, "STREAM.INFO.R3").await);
    assert!(
        !exists(&client, "STREAM.INFO.R1").await,
        "nothing is written"
    );
}

/// The holder a replacement writes before it deletes the stream, as
/// jetsync writes it (`jetsync::plan::restore`).
async fn write_holder(client: &async_nats::Client, owner: &str, stream: &str, consumers: &[Value]) {
    let config = jetsync::plan::restore::holder_config(stream, consumers, owner);
    let name = jetsync::plan::restore::holder_name(stream);
    let created = js_api(client, &format!("STREAM.CREATE.{name}"), config).await;
    assert!(created.get("error").is_none(), "{created}");
}

#[tokio::test]
async fn a_replacement_cut_off_before_its_consumers_came_back_restores_them_on_the_rerun() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = support::client(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let owner = "no-loss-rerun";
    let d = dir.path().to_str().unwrap();
    write(dir.path(), "s.yaml", &stream_doc("CUT", ""));
    write(dir.path(), "g.yaml", &stream_doc("GONE", ""));
    assert_eq!(jetsync(&server, owner, &["apply", "-f", d]).code, 0);
    other_application_consumer(&client, "CUT", "survivor").await;
    other_application_consumer(&client, "GONE", "survivor").await;
    let consumer =
        js_api(&client, "CONSUMER.INFO.CUT.survivor", Value::Null).await["config"].clone();
    let gone_consumer =
        js_api(&client, "CONSUMER.INFO.GONE.survivor", Value::Null).await["config"].clone();

    // What a kill leaves: CUT was created again but its consumer was not;
    // GONE was deleted and not created again. Each holder keeps the configs.
    write_holder(&client, owner, "CUT", std::slice::from_ref(&consumer)).await;
    write_holder(&client, owner, "GONE", std::slice::from_ref(&gone_consumer)).await;
    let deleted = js_api(&client, "CONSUMER.DELETE.CUT.survivor", Value::Null).await;
    assert_eq!(deleted["success"], true, "{deleted}");
    let deleted = js_api(&client, "STREAM.DELETE.GONE", Value::Null).await;
    assert_eq!(deleted["success"], true, "{deleted}");

    let plan = plan_json(&jetsync(&server, owner, &["plan", "-f", d, "-o", "json"]));
    let finishing = change(&plan, "stream/CUT");
    assert_eq!(finishing["action"], "update");
    assert_eq!(
        finishing["restore"][0]["durable_name"], "survivor",
        "{finishing:#}"
    );
    let recreating = change(&plan, "stream/GONE");
    assert_eq!(recreating["action"], "create");
    assert_eq!(
        recreating["restore"][0]["durable_name"], "survivor",
        "{recreating:#}"
    );
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| !c["address"].as_str().unwrap().contains("JETSYNC_RESTORE_")),
        "holders are never planned as assets: {plan:#}"
    );

    let applied = jetsync(&server, owner, &["apply", "-f", d, "--prune"]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    for (stream, before) in [("CUT", &consumer), ("GONE", &gone_consumer)] {
        let restored = js_api(
            &client,
            &format!("CONSUMER.INFO.{stream}.survivor"),
            Value::Null,
        )
        .await;
        assert_eq!(
            restored["config"]["filter_subject"], before["filter_subject"],
            "{stream}"
        );
        assert!(
            !exists(&client, &format!("STREAM.INFO.JETSYNC_RESTORE_{stream}")).await,
            "the holder of {stream} is deleted once its consumers exist"
        );
    }
    let again = jetsync(&server, owner, &["plan", "-f", d, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
}
