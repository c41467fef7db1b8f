//! The bad-input corpus (`tests/fixtures/invalid/`): every input is refused
//! by `jetsync validate` with exit 1, quickly, within bounded memory, and with
//! exactly the diagnostics of its reviewed snapshot `<name>.expected.json`
//! (severity, file, line, column, field, summary, help).
//!
//! `JETSYNC_UPDATE_SNAPSHOTS=1 cargo test --test invalid_corpus` rewrites the
//! snapshots; review the diff: each diagnostic must point at the right
//! place with a message a user can act on.

#[path = "fixtures/corpus.rs"]
mod corpus;

use std::path::Path;
use std::process::Output;
use std::time::Instant;

use corpus::Case;
use serde_json::{Value, json};

fn jetsync() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_jetsync"))
}

fn updating() -> bool {
    std::env::var("JETSYNC_UPDATE_SNAPSHOTS").is_ok_and(|value| value == "1")
}

/// Runs `jetsync validate --output json -f <case>` under the memory limit.
fn validate(case: &Case) -> (Output, std::time::Duration) {
    let started = Instant::now();
    let output = corpus::memory_limited(jetsync())
        .args(["validate", "--output", "json", "-f"])
        // Relative to the repository, so that messages naming a second
        // place read the same in every checkout.
        .arg(
            case.path
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap_or(&case.path),
        )
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("jetsync runs");
    (output, started.elapsed())
}

/// What a snapshot records of each diagnostic: the file by its base name.
fn snapshot_of(report: &Value) -> Value {
    let diagnostics = report["diagnostics"]
        .as_array()
        .expect("diagnostics is a list")
        .iter()
        .map(|diagnostic| {
            let file = diagnostic["file"].as_str().map(|file| {
                Path::new(file)
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            json!({
                "severity": diagnostic["severity"],
                "file": file,
                "line": diagnostic["line"],
                "column": diagnostic["column"],
                "field": diagnostic["field"],
                "summary": diagnostic["summary"],
                "help": diagnostic["help"],
            })
        })
        .collect();
    Value::Array(diagnostics)
}

/// Checks one case; returns what is wrong with it, if anything.
fn check(case: &Case) -> Option<String> {
    let (output, elapsed) = validate(case);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() != Some(1) {
        return Some(format!(
            "{}: exit status {:?}, expected 1\nstderr: {stderr}",
            case.name, output.status
        ));
    }
    if elapsed > case.time_bound() {
        return Some(format!(
            "{}: took {elapsed:?}, more than {:?}",
            case.name,
            case.time_bound()
        ));
    }
    let report: Value = match serde_json::from_str(&stdout) {
        Ok(report) => report,
        Err(error) => return Some(format!("{}: stdout is not JSON ({error})", case.name)),
    };
    if report["valid"] != json!(false) {
        return Some(format!("{}: reported valid", case.name));
    }
    let actual = snapshot_of(&report);
    let errors = actual.as_array().map_or(0, |all| {
        all.iter().filter(|d| d["severity"] == "error").count()
    });
    if errors == 0 {
        return Some(format!("{}: exit 1 but no error diagnostic", case.name));
    }
    let path = case.snapshot_path();
    if updating() {
        let text = serde_json::to_string_pretty(&actual).expect("JSON") + "\n";
        std::fs::write(&path, text).expect("writing the snapshot");
        return None;
    }
    let expected: Value = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).expect("the snapshot is JSON"),
        Err(_) => {
            return Some(format!(
                "{}: no snapshot {} (run with JETSYNC_UPDATE_SNAPSHOTS=1 and review it)",
                case.name,
                path.display()
            ));
        }
    };
    (expected != actual).then(|| {
        format!(
            "{}: diagnostics differ from {}\nexpected: {:#}\nactual:   {:#}",
            case.name,
            path.display(),
            expected,
            actual
        )
    })
}

fn assert_all(cases: &[Case]) {
    let failures: Vec<String> = cases.iter().filter_map(check).collect();
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs misbehaved:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_committed_bad_input_is_refused_with_its_reviewed_diagnostics() {
    assert_all(&corpus::committed());
}

#[test]
fn huge_and_deeply_nested_inputs_are_refused_in_bounded_time_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    assert_all(&corpus::generate(dir.path()));
}

#[test]
fn the_corpus_holds_at_least_sixty_bad_inputs_each_with_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let cases = corpus::all(dir.path());
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let names: Vec<&str> = cases.iter().map(|case| case.name.as_str()).collect();
    for entry in std::fs::read_dir(corpus::DIR).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".expected.json") {
            assert!(
                names.contains(&name),
                "the snapshot {file} has no input; remove it"
            );
        }
    }
    let committed_bytes: u64 = corpus::committed()
        .iter()
        .map(|case| std::fs::metadata(&case.path).unwrap().len())
        .sum();
    assert!(
        committed_bytes < 256 * 1024,
        "committed fixtures take {committed_bytes} bytes; generate big inputs at run time"
    );
}

#[test]
fn a_file_with_only_a_document_separator_is_valid_and_declares_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.yaml");
    std::fs::write(&path, "---\n").unwrap();
    let output = corpus::memory_limited(jetsync())
        .args(["validate", "--output", "json", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["documents"], 0, "{report:#}");
}
