//! How `jetsync controller` fails to start, seen from outside (the built
//! binary, stderr piped as under a container runtime): a Kubernetes API
//! server that refuses the connection is named as such, without the "are
//! the CRDs installed?" hint, and text logs carry ANSI colours only when
//! asked for, never by default when stderr is not a terminal.

use std::process::Command;

/// Runs `jetsync [--color COLOR] controller` against an API server address
/// nothing listens on; returns the exit code and stderr.
fn controller_against_a_refusing_api_server(color: Option<&str>) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        r#"apiVersion: v1
kind: Config
clusters: [{name: refusing, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: nobody, user: {}}]
contexts: [{name: here, context: {cluster: refusing, user: nobody}}]
current-context: here
"#,
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_jetsync"));
    if let Some(color) = color {
        command.args(["--color", color]);
    }
    let output = command
        .args([
            "controller",
            "--no-leader-election",
            "--http-address",
            "127.0.0.1:0",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_refused_api_server_connection_is_not_blamed_on_missing_crds_and_logs_are_plain() {
    let (code, stderr) = controller_against_a_refusing_api_server(None);

    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot list jetsync Streams"), "{stderr}");
    assert!(!stderr.contains("CRD"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI escapes in piped logs: {stderr:?}"
    );
}

#[test]
fn colours_in_logs_come_only_when_asked_for() {
    let (_, never) = controller_against_a_refusing_api_server(Some("never"));
    let (_, always) = controller_against_a_refusing_api_server(Some("always"));

    assert!(!never.contains('\u{1b}'), "{never:?}");
    assert!(always.contains('\u{1b}'), "{always:?}");
}
