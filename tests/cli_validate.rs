//! `jetsync validate` end to end: exit codes, and every problem reported with
//! its file, line, column and field.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn jetsync() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jetsync"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1");
    command
}

fn validate_json(paths: &[&Path]) -> (Output, Value) {
    let output = jetsync()
        .arg("validate")
        .args(["--output", "json"])
        .args(paths.iter().flat_map(|path| [Path::new("-f"), path]))
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (output, report)
}

/// Runs a command that must exit 1 (invalid input), and returns its stdout
/// and stderr together.
fn invalid_output(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// The diagnostics of a report as `(file name, line, column, field, summary)`.
fn errors(report: &Value) -> Vec<(String, u64, u64, String, String)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            let file = Path::new(d["file"].as_str().unwrap_or_default())
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            (
                file,
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
                d["field"].as_str().unwrap_or_default().to_string(),
                d["summary"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_examples_validate() {
    let output = jetsync()
        .args(["validate", "-f", "examples/"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("valid: 7 document(s) in 9 file(s)"),
        "{stdout}"
    );
}

#[test]
fn every_problem_in_a_directory_is_reported_with_file_line_column_and_field() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a/streams.yaml",
        "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: orders\nspec:\n  subjects: [\"orders.>\"]\n  maxAgee: 7d\n---\napiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: events\nspec:\n  maxAge: 1d\n  maxBytes: -1\n",
    );
    write(
        dir.path(),
        "b/consumer.yml",
        "apiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: worker\nspec:\n  streamName: ORDERS\n  ackWait: 30\n",
    );
    write(dir.path(), "c/broken.yaml", "a: [1, 2\nb: c\n");
    let (output, report) = validate_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(report["valid"], false);
    let found = errors(&report);
    let expected = [
        (
            "streams.yaml",
            7,
            3,
            "spec.maxAgee",
            "unknown field `maxAgee`",
        ),
        (
            "streams.yaml",
            15,
            13,
            "spec.maxBytes",
            "sizes cannot be negative",
        ),
        ("consumer.yml", 7, 12, "spec.ackWait", "duration string"),
        ("broken.yaml", 2, 2, "", "invalid YAML"),
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (file, line, column, field, summary) in expected {
        assert!(
            found.iter().any(|(f, l, c, fd, s)| f == file
                && *l == line
                && *c == column
                && fd == field
                && s.contains(summary)),
            "missing {file}:{line}:{column} {field} {summary:?} in {found:#?}"
        );
    }
}

#[test]
fn human_output_shows_the_location_the_field_and_a_help_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "stream.yaml",
        "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: orders\nspec:\n  maxAgee: 7d\n",
    );
    let output = jetsync()
        .arg("validate")
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:6:3", file.display())),
        "{stderr}"
    );
    assert!(stderr.contains("spec.maxAgee"), "{stderr}");
    assert!(stderr.contains("did you mean `maxAge`?"), "{stderr}");
}

/// A document holding a server URL with a password, written with or without
/// its scheme (async-nats takes `user:password@host:port` too), is never
/// quoted in a diagnostic: the error names its place, not its lines.
#[test]
fn a_password_in_a_server_url_with_or_without_scheme_is_never_quoted_in_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    for (name, server) in [
        ("schemeless.yaml", "bob:hunter2@nats.example:4222"),
        ("scheme.yaml", "nats://bob:hunter2@nats.example:4222"),
        ("websocket.yaml", "wss://bob:hunter2@nats.example"),
    ] {
        let file = write(
            dir.path(),
            name,
            &format!(
                "apiVersion: jetsync.dev/v1alpha1\nkind: NatsConnection\nmetadata:\n  name: prod\n\
                 spec:\n  servers: [\"{server}\"]\n  bogus: 1\n"
            ),
        );
        let all = invalid_output(jetsync().arg("validate").arg("-f").arg(&file));
        assert!(all.contains(&format!("{}:7:3", file.display())), "{all}");
        assert!(all.contains("spec.bogus"), "{all}");
        assert!(!all.contains("hunter2"), "{server}: {all}");
    }
}

#[test]
fn documents_of_other_api_versions_are_skipped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "mixed.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {}\n---\napiVersion: jetsync.dev/v1alpha1\nkind: KeyValue\nmetadata:\n  name: config\nspec:\n  history: 5\n",
    );
    let (output, report) = validate_json(&[dir.path()]);
    assert!(output.status.success(), "{report:#}");
    assert_eq!(report["documents"], 1);
    let notes: Vec<&Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "note")
        .collect();
    assert_eq!(notes.len(), 1, "{report:#}");
    assert!(notes[0]["summary"].as_str().unwrap().contains("ConfigMap"));
}

#[test]
fn two_documents_declaring_one_asset_name_both_places() {
    let dir = tempfile::tempdir().unwrap();
    let stream = "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: orders\nspec:\n  name: ORDERS\n";
    write(dir.path(), "one.yaml", stream);
    write(
        dir.path(),
        "two.yaml",
        &stream.replace("name: orders", "name: orders-again"),
    );
    let (output, report) = validate_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1));
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (file, line, _, field, summary) = &found[0];
    assert_eq!(
        (file.as_str(), *line, field.as_str()),
        ("two.yaml", 6, "spec.name")
    );
    assert!(
        summary.contains("stream `ORDERS` is declared twice"),
        "{summary}"
    );
    assert!(summary.contains("one.yaml:1:1"), "{summary}");
}

#[test]
fn a_kv_bucket_and_a_stream_on_the_same_backing_stream_collide() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "both.yaml",
        "apiVersion: jetsync.dev/v1alpha1\nkind: KeyValue\nmetadata:\n  name: config\nspec: {}\n---\napiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: kv-config\nspec:\n  name: KV_config\n",
    );
    let (output, report) = validate_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    assert!(errors(&report)[0].4.contains("declared twice"));
}

#[test]
fn manifests_are_read_from_stdin() {
    let mut child = jetsync()
        .args(["validate", "--output", "json", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: s\nspec:\n  replicas: many\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let found = errors(&report);
    assert_eq!(found[0].0, "<stdin>");
    assert_eq!((found[0].1, found[0].3.as_str()), (6, "spec.replicas"));
}

/// `helm template`-style output: a `# Source:` comment before every document.
fn rendered_stream(documents: usize) -> String {
    (0..documents)
        .map(|index| match index % 3 {
            0 => format!(
                "---\n# Source: app/templates/streams.yaml\napiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: s{index}\n  labels:\n    app.kubernetes.io/instance: app\nspec:\n  subjects: [\"s{index}.>\"]\n  maxAge: 24h\n  maxBytes: 1GiB\n"
            ),
            1 => format!(
                "---\n# Source: app/templates/consumers.yaml\napiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: c{index}\nspec:\n  streamName: s{}\n  ackPolicy: explicit\n  filterSubject: s{}.created\n",
                index - 1,
                index - 1
            ),
            _ => format!(
                "---\n# Source: app/templates/buckets.yaml\napiVersion: jetsync.dev/v1alpha1\nkind: KeyValue\nmetadata:\n  name: b{index}\nspec:\n  history: 5\n  ttl: 7d\n"
            ),
        })
        .collect()
}

#[test]
fn twelve_thousand_three_hundred_rendered_documents_on_stdin_are_all_read() {
    let mut child = jetsync()
        .args(["validate", "--output", "json", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stream = rendered_stream(12_300);
    // The last document is wrong at a field: reported there, so every
    // document before it was read.
    stream.push_str(
        "---\napiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: last\nspec:\n  replicas: many\n",
    );
    let last_line = stream.lines().count() as u64;
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(stream.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["documents"], 12_300, "{:#}", report["diagnostics"]);
    let found = errors(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "<stdin>");
    assert_eq!(
        (found[0].1, found[0].3.as_str()),
        (last_line, "spec.replicas")
    );
}

#[test]
fn binary_garbage_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("garbage.yaml"),
        [0x00, 0xff, 0xfe, 0x80, 0x0a],
    )
    .unwrap();
    let (output, report) = validate_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(errors(&report)[0].4.contains("not UTF-8"), "{report:#}");
}

#[test]
fn a_missing_path_is_an_error() {
    let output = jetsync()
        .args(["validate", "-f", "does/not/exist.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no such file or directory"));
}

#[test]
fn an_unsupported_jetsync_version_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "v2.yaml",
        "apiVersion: jetsync.dev/v2\nkind: Stream\nmetadata:\n  name: s\nspec: {}\n",
    );
    let (output, report) = validate_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1));
    let found = errors(&report);
    assert_eq!((found[0].1, found[0].2), (1, 13));
    assert!(found[0].4.contains("unsupported apiVersion"));
}

#[test]
fn crds_command_writes_one_file_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let output = jetsync()
        .args(["crds", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "consumers.jetsync.dev.yaml",
            "keyvalues.jetsync.dev.yaml",
            "natsconnections.jetsync.dev.yaml",
            "objectstores.jetsync.dev.yaml",
            "streams.jetsync.dev.yaml"
        ]
    );
}

#[test]
fn every_bad_field_of_one_document_is_reported_not_only_the_first() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "many.yaml",
        "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: orders\n  colour: red\nspec:\n  maxAgee: 7d\n  replicas: three\n  sources:\n    - name: A\n      filterSubjekt: a.>\n  discard: sideways\n",
    );
    let (output, report) = validate_json(&[dir.path()]);
    assert_eq!(output.status.code(), Some(1));
    let fields: Vec<String> = errors(&report).into_iter().map(|e| e.3).collect();
    assert_eq!(
        fields,
        [
            "metadata.colour",
            "spec.maxAgee",
            "spec.replicas",
            "spec.sources[0].filterSubjekt",
            "spec.discard"
        ],
        "{report:#}"
    );
}

#[test]
fn a_password_written_in_a_server_url_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "conn.yaml",
        "apiVersion: jetsync.dev/v1alpha1\nkind: NatsConnection\nmetadata:\n  name: prod\nspec:\n  servers:\n    - nats://admin:s3cr3t-Pa55@nats:4222\n  jsDomain: has space\n  unknownField: 1\n",
    );
    for output_format in ["human", "json"] {
        let all = invalid_output(
            jetsync()
                .args([
                    "validate",
                    "--color",
                    "always",
                    "--output",
                    output_format,
                    "-f",
                ])
                .arg(&file),
        );
        assert!(all.contains("unknownField"), "{all}");
        assert!(!all.contains("s3cr3t-Pa55"), "the password leaked:\n{all}");
    }
}

#[test]
fn validate_json_carries_the_plan_document_envelope() {
    let (output, report) = validate_json(&[Path::new("examples/kv/config.yaml")]);
    assert!(output.status.success());
    assert_eq!(report["format_version"], "1.1");
    assert_eq!(report["tool"]["name"], "jetsync");
    assert_eq!(report["sources"][0]["file"], "examples/kv/config.yaml");
    assert_eq!(report["sources"][0]["sha256"].as_str().unwrap().len(), 64);
}
