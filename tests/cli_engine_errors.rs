//! What plan, diff and apply say when the engine's pipeline stops before a
//! plan: the error on stderr, nothing on stdout, and the command's error
//! exit code (plan and apply 1, diff 2). None of these needs a server: the
//! address given listens nowhere.

#[path = "support/cli.rs"]
mod cli;

use cli::{Run, jetsync, write};

/// An address nothing listens on.
const NOWHERE: &str = "nats://127.0.0.1:1";

const STREAM: &str = "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: orders\n  \
                      labels:\n    team: commerce\nspec:\n  subjects: [\"orders.*\"]\n";

/// Runs plan, diff and apply with `args` in a directory holding `files`.
fn each_command(files: &[(&str, &str)], args: &[&str]) -> Vec<(&'static str, Run)> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    ["plan", "diff", "apply"]
        .into_iter()
        .map(|command| {
            let mut all = vec![command];
            all.extend_from_slice(args);
            (command, jetsync(dir.path(), NOWHERE, &all))
        })
        .collect()
}

/// Each command failed with `error: {message}` alone on stderr.
fn assert_fails_with(runs: &[(&str, Run)], message: &str) {
    for (command, run) in runs {
        let expected = if *command == "diff" { 2 } else { 1 };
        assert_eq!(run.code, expected, "{command}: {}", run.all());
        assert_eq!(run.stdout, "", "{command}");
        assert_eq!(run.stderr, format!("error: {message}\n"), "{command}");
    }
}

#[test]
fn no_manifests_given_is_an_error_of_every_command() {
    let runs = each_command(&[], &[]);
    assert_fails_with(
        &runs,
        "no manifests given; pass files or directories with -f (or `-` for stdin)",
    );
}

#[test]
fn a_target_that_is_not_an_address_is_refused_before_anything_is_read() {
    let runs = each_command(
        &[("orders.yaml", STREAM)],
        &["-f", "orders.yaml", "--target", "orders"],
    );
    assert_fails_with(
        &runs,
        "--target orders: expected stream/NAME, kv/BUCKET, objectstore/BUCKET or \
         consumer/STREAM/NAME",
    );
}

#[test]
fn a_selector_without_a_value_is_refused_before_anything_is_read() {
    let runs = each_command(
        &[("orders.yaml", STREAM)],
        &["-f", "orders.yaml", "--selector", "team"],
    );
    assert_fails_with(&runs, "--selector team: expected KEY=VALUE");
}

#[test]
fn assets_on_an_undeclared_connection_are_refused_naming_it() {
    let stream = STREAM.replace("spec:\n", "spec:\n  connection: prod\n");
    let runs = each_command(&[("orders.yaml", &stream)], &["-f", "orders.yaml"]);
    assert_fails_with(
        &runs,
        "assets name connection `prod`, but no NatsConnection `prod` is among the manifests",
    );
}

#[test]
fn a_connection_secret_given_as_a_kubernetes_secret_is_refused_by_the_cli() {
    let stream = STREAM.replace("spec:\n", "spec:\n  connection: prod\n");
    let connection = "apiVersion: jetsync.dev/v1alpha1\nkind: NatsConnection\nmetadata:\n  \
                      name: prod\nspec:\n  servers: [\"nats://127.0.0.1:1\"]\n  auth:\n    \
                      token:\n      secretRef: {name: nats, key: token}\n";
    let runs = each_command(
        &[("orders.yaml", &stream), ("connection.yaml", connection)],
        &["-f", "."],
    );
    assert_fails_with(
        &runs,
        "connection `prod`: auth.token is a Kubernetes Secret reference, which only the \
         controller can read; give the CLI `file:` instead",
    );
}

#[test]
fn an_unreachable_server_is_named_in_the_error() {
    let runs = each_command(&[("orders.yaml", STREAM)], &["-f", "orders.yaml"]);
    for (command, run) in &runs {
        let expected = if *command == "diff" { 2 } else { 1 };
        assert_eq!(run.code, expected, "{command}: {}", run.all());
        assert_eq!(run.stdout, "", "{command}");
        assert!(
            run.stderr
                .starts_with("error: cannot reach the NATS server nats://127.0.0.1:1: "),
            "{command}: {}",
            run.stderr
        );
    }
}
