//! Secrets never leave jetsync: for every way of authenticating that can be
//! set up here (user and password, token, nkey seed, TLS client key, and a
//! `NatsConnection` naming its password by `file:`), `validate`, `plan` in
//! every output format and with `--out`, `apply`, `diff` and `export` run
//! against a real nats-server with a known secret, and the secret appears in
//! no stdout, no stderr and no file jetsync wrote. The same holds when the
//! server refuses a wrong secret (which contains the right one).
//!
//! `.creds` files (an operator, account and user JWT chain built in the
//! test) are covered by `tests/nats_secrets_creds.rs`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{NatsServer, make_certificates};

const PASSWORD: &str = "pw-7f3a9c-UNIQUE-password-value";
const TOKEN: &str = "tok-51b2e0-UNIQUE-token-value";

const MANIFEST: &str = "apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: secrets-test
spec:
  name: SECRETS_TEST
  subjects: [\"secrets.>\"]
  maxAge: 1h
";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/secrets")
        .join(name)
}

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

/// Fails when any of `secrets` is in `text`.
fn assert_hidden(secrets: &[String], text: &str, what: &str) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "the secret {secret:?} leaked in {what}:\n{text}"
        );
    }
}

/// Every file under `dir`, as text.
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

/// Runs every command with `auth` (connection flags, `--server` included),
/// checks that they worked and that no secret showed; then once more with
/// `wrong_auth`, which the server must refuse, with the same check.
fn check_every_command(
    workspace: &Workspace,
    auth: &[String],
    wrong_auth: &[String],
    secrets: &[String],
) {
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
        ([strings(&["export", "--all"]), auth.to_vec()].concat(), 0),
        (
            [strings(&["export", "--out", &export_file]), auth.to_vec()].concat(),
            0,
        ),
    ];
    for (args, expected) in runs {
        let run = jetsync(workspace, &args);
        assert_eq!(run.code, Some(expected), "jetsync {args:?}:\n{}", run.all);
        assert_hidden(
            secrets,
            &run.all,
            &format!("the output of jetsync {args:?}"),
        );
    }
    let mut wrong = strings(&["plan", "-f", &manifest]);
    wrong.extend(wrong_auth.iter().cloned());
    let refused = jetsync(workspace, &wrong);
    assert_eq!(
        refused.code,
        Some(1),
        "a wrong secret is refused:\n{}",
        refused.all
    );
    assert_hidden(secrets, &refused.all, "the error for a wrong secret");
    let written = files_written(&out);
    let names: Vec<String> = written
        .iter()
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        written.len() >= 2,
        "plan --out and export --out wrote their files: {names:?}"
    );
    for (path, text) in written {
        assert!(!text.trim().is_empty(), "{} is empty", path.display());
        assert_hidden(secrets, &text, &path.display().to_string());
    }
}

#[test]
fn a_password_never_shows() {
    let server = require_nats!(NatsServer::builder().config_extra(format!(
        "authorization {{ user: jetsync, password: \"{PASSWORD}\" }}"
    )));
    let workspace = Workspace::new();
    let url = server.url();
    let auth = strings(&[
        "--server",
        &url,
        "--user",
        "jetsync",
        "--password",
        PASSWORD,
    ]);
    let wrong_password = format!("{PASSWORD}-wrong");
    let wrong = strings(&[
        "--server",
        &url,
        "--user",
        "jetsync",
        "--password",
        &wrong_password,
    ]);
    check_every_command(&workspace, &auth, &wrong, &[PASSWORD.to_string()]);
}

#[test]
fn a_password_in_the_server_url_never_shows() {
    let server = require_nats!(NatsServer::builder().config_extra(format!(
        "authorization {{ user: jetsync, password: \"{PASSWORD}\" }}"
    )));
    let workspace = Workspace::new();
    let url = format!("nats://jetsync:{PASSWORD}@127.0.0.1:{}", server.port());
    let wrong = format!(
        "nats://jetsync:{PASSWORD}-wrong@127.0.0.1:{}",
        server.port()
    );
    check_every_command(
        &workspace,
        &strings(&["--server", &url]),
        &strings(&["--server", &wrong]),
        &[PASSWORD.to_string()],
    );
}

#[test]
fn a_token_never_shows() {
    let server = require_nats!(
        NatsServer::builder().config_extra(format!("authorization {{ token: \"{TOKEN}\" }}"))
    );
    let workspace = Workspace::new();
    let url = server.url();
    let wrong_token = format!("{TOKEN}-wrong");
    check_every_command(
        &workspace,
        &strings(&["--server", &url, "--token", TOKEN]),
        &strings(&["--server", &url, "--token", &wrong_token]),
        &[TOKEN.to_string()],
    );
}

#[test]
fn an_nkey_seed_never_shows() {
    let seed = std::fs::read_to_string(fixture("test-user.nk"))
        .unwrap()
        .trim()
        .to_string();
    let public = std::fs::read_to_string(fixture("test-user.pub"))
        .unwrap()
        .trim()
        .to_string();
    let server = require_nats!(NatsServer::builder().config_extra(format!(
        "authorization {{ users: [ {{ nkey: \"{public}\" }} ] }}"
    )));
    let workspace = Workspace::new();
    let seed_file = workspace.path("user.nk");
    std::fs::write(&seed_file, format!("{seed}\n")).unwrap();
    // A valid seed of another user: the server does not know its public key.
    let other_file = workspace.path("other.nk");
    let other: String = {
        let mut other = seed.clone().into_bytes();
        other.swap(10, 11);
        String::from_utf8(other).unwrap()
    };
    std::fs::write(&other_file, format!("{other}\n")).unwrap();
    let url = server.url();
    let seed_path = seed_file.display().to_string();
    let other_path = other_file.display().to_string();
    // The seed's body without its prefix, so that a partial echo is caught too.
    let secrets = vec![seed.clone(), seed[2..40].to_string(), other.clone()];
    check_every_command(
        &workspace,
        &strings(&["--server", &url, "--nkey", &seed_path]),
        &strings(&["--server", &url, "--nkey", &other_path]),
        &secrets,
    );
}

#[test]
fn a_tls_client_key_never_shows() {
    let certificates = tempfile::tempdir().unwrap();
    let dir = certificates.path();
    if make_certificates(dir).is_none() {
        assert!(
            !support::in_ci(),
            "openssl is needed to make the test certificates"
        );
        eprintln!("SKIPPED: a_tls_client_key_never_shows: no usable openssl binary");
        return;
    }
    let file = |name: &str| dir.join(name).display().to_string();
    let server = require_nats!(NatsServer::builder().config_extra(format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify: true\n}}",
        file("server.pem"),
        file("server.key"),
        file("ca.pem")
    )));
    let workspace = Workspace::new();
    let url = format!("tls://127.0.0.1:{}", server.port());
    let key = std::fs::read_to_string(dir.join("client.key")).unwrap();
    let secrets: Vec<String> = key
        .lines()
        .filter(|line| !line.starts_with("-----") && line.len() > 16)
        .map(str::to_string)
        .collect();
    assert!(!secrets.is_empty(), "{key}");
    let (ca, cert, client_key, server_key) = (
        file("ca.pem"),
        file("client.pem"),
        file("client.key"),
        file("server.key"),
    );
    check_every_command(
        &workspace,
        &strings(&[
            "--server",
            &url,
            "--tls-ca",
            &ca,
            "--tls-cert",
            &cert,
            "--tls-key",
            &client_key,
        ]),
        // The server's own key does not match the client certificate.
        &strings(&[
            "--server",
            &url,
            "--tls-ca",
            &ca,
            "--tls-cert",
            &cert,
            "--tls-key",
            &server_key,
        ]),
        &secrets,
    );
}

#[test]
fn a_password_named_by_file_in_a_nats_connection_never_shows() {
    let server = require_nats!(NatsServer::builder().config_extra(format!(
        "authorization {{ user: jetsync, password: \"{PASSWORD}\" }}"
    )));
    let workspace = Workspace::new();
    std::fs::write(workspace.path("password.txt"), format!("{PASSWORD}\n")).unwrap();
    std::fs::write(workspace.path("wrong.txt"), format!("{PASSWORD}-wrong\n")).unwrap();
    let connection = |password_file: &str| {
        format!(
            "apiVersion: jetsync.dev/v1alpha1\nkind: NatsConnection\nmetadata:\n  name: local\nspec:\n  servers: [\"{}\"]\n  auth:\n    userPassword:\n      user: jetsync\n      password:\n        file: {password_file}\n---\n{}  connection: local\n",
            server.url(),
            MANIFEST
        )
    };
    std::fs::write(workspace.manifest(), connection("password.txt")).unwrap();
    let secrets = [PASSWORD.to_string()];
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
    ] {
        let run = jetsync(&workspace, &strings(&args));
        assert_eq!(run.code, Some(expected), "jetsync {args:?}:\n{}", run.all);
        assert_hidden(
            &secrets,
            &run.all,
            &format!("the output of jetsync {args:?}"),
        );
    }
    std::fs::write(workspace.manifest(), connection("wrong.txt")).unwrap();
    let refused = jetsync(&workspace, &strings(&["plan", "-f", &manifest]));
    assert_eq!(refused.code, Some(1), "{}", refused.all);
    assert_hidden(
        &secrets,
        &refused.all,
        "the error for a wrong password file",
    );
    for (path, text) in files_written(&workspace.out()) {
        assert_hidden(&secrets, &text, &path.display().to_string());
    }
}
