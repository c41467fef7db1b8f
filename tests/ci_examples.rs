//! The CI examples under examples/ci: they are YAML, they call only
//! documented jetsync commands and flags, `jetsync validate` passes over
//! them as documents that are not jetsync's, and their install steps fetch,
//! verify and unpack a release laid out as the release workflow publishes it.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const GITHUB: &str = "examples/ci/github-actions.yml";
const GITLAB: &str = "examples/ci/gitlab-ci.yml";

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

fn parse(path: &str) -> Value {
    serde_saphyr::from_str::<Value>(&read(path))
        .unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// The shell script of the GitHub step with this name.
fn github_step(workflow: &Value, job: &str, name: &str) -> String {
    workflow["jobs"][job]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step["name"] == name)
        .and_then(|step| step["run"].as_str())
        .unwrap_or_else(|| panic!("no step {name:?} in job {job}"))
        .to_string()
}

/// Every shell script in a workflow: GitHub `run:` steps, GitLab
/// `script:`/`before_script:` lines.
fn scripts(workflow: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let Some(jobs) = workflow.as_object() else {
        return found;
    };
    for job in jobs.values() {
        for key in ["script", "before_script"] {
            if let Some(lines) = job.get(key).and_then(Value::as_array) {
                found.extend(lines.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
    }
    if let Some(jobs) = workflow.get("jobs").and_then(Value::as_object) {
        for job in jobs.values() {
            for step in job["steps"].as_array().into_iter().flatten() {
                if let Some(run) = step.get("run").and_then(Value::as_str) {
                    found.push(run.to_string());
                }
            }
        }
    }
    found
}

/// The arguments of every `jetsync …` command in the scripts (the words
/// after `jetsync`, up to a redirection or the end of the command).
fn jetsync_invocations(scripts: &[String]) -> Vec<Vec<String>> {
    let mut invocations = Vec::new();
    for script in scripts {
        for line in script.lines() {
            for command in split_commands(line) {
                let mut words = command
                    .split_whitespace()
                    .map(|word| word.trim_matches('"').to_string())
                    .skip_while(|word| ["then", "else", "do", "!"].contains(&word.as_str()));
                if words.next().as_deref() != Some("jetsync") {
                    continue;
                }
                let arguments: Vec<String> = words
                    .take_while(|word| !word.starts_with('>') && !word.starts_with(')'))
                    .collect();
                invocations.push(arguments);
            }
        }
    }
    invocations
}

fn split_commands(line: &str) -> Vec<&str> {
    let mut commands = vec![line];
    for separator in ["&&", "||", ";", "|", "$("] {
        commands = commands
            .into_iter()
            .flat_map(|command| command.split(separator))
            .collect();
    }
    commands
}

/// Checks one invocation against the documented commands and flags.
fn check_documented(arguments: &[String]) -> Result<(), String> {
    let (command, rest) = arguments.split_first().ok_or("jetsync without a command")?;
    let mut words = rest.iter();
    let mut positional = 0;
    while let Some(word) = words.next() {
        match (command.as_str(), word.as_str()) {
            (_, "-f") => {
                words.next().ok_or("-f without a directory")?;
            }
            ("plan", "--output") => {
                let format = words.next().ok_or("--output without a format")?;
                if !["human", "json", "markdown", "github"].contains(&format.as_str()) {
                    return Err(format!("undocumented output format {format}"));
                }
            }
            ("plan", "--out") => {
                words.next().ok_or("--out without a file")?;
            }
            ("plan", "--detailed-exitcode") => {}
            ("apply", file) if !file.starts_with('-') => positional += 1,
            ("validate" | "plan" | "apply" | "diff", other) => {
                return Err(format!(
                    "undocumented argument {other} of jetsync {command}"
                ));
            }
            (other, _) => return Err(format!("undocumented command jetsync {other}")),
        }
    }
    if positional > 1 {
        return Err("apply takes one saved plan".into());
    }
    Ok(())
}

#[test]
fn the_ci_examples_are_yaml() {
    let github = parse(GITHUB);
    assert!(github["on"]["pull_request"].is_object(), "{github:#}");
    assert!(github["jobs"]["plan"]["steps"].is_array());
    assert!(github["jobs"]["apply"]["steps"].is_array());
    let gitlab = parse(GITLAB);
    assert_eq!(
        gitlab["stages"],
        serde_json::json!(["plan", "comment", "apply"])
    );
    for job in ["jetsync-plan", "jetsync-comment", "jetsync-apply"] {
        assert!(gitlab[job]["script"].is_array(), "{job}");
    }
}

#[test]
fn the_ci_examples_call_only_documented_jetsync_commands() {
    for path in [GITHUB, GITLAB] {
        let invocations = jetsync_invocations(&scripts(&parse(path)));
        for arguments in &invocations {
            if let Err(problem) = check_documented(arguments) {
                panic!("{path}: jetsync {}: {problem}", arguments.join(" "));
            }
        }
        let has = |wanted: &[&str]| {
            invocations.iter().any(|arguments| {
                wanted
                    .iter()
                    .all(|word| arguments.iter().any(|a| a == word))
            })
        };
        assert!(has(&["validate"]), "{path} validates: {invocations:?}");
        assert!(
            has(&[
                "plan",
                "--out",
                "plan.json",
                "markdown",
                "--detailed-exitcode"
            ]),
            "{path} saves the plan and prints the comment: {invocations:?}"
        );
        assert!(
            has(&["apply", "plan.json"]),
            "{path} applies the saved plan: {invocations:?}"
        );
    }
    let github = jetsync_invocations(&scripts(&parse(GITHUB)));
    assert!(
        github
            .iter()
            .any(|arguments| arguments.windows(2).any(|w| w == ["--output", "github"])),
        "the GitHub workflow annotates: {github:?}"
    );
}

#[test]
fn the_ci_examples_commands_parse_as_this_jetsync_reads_them() {
    use clap::Parser;
    for path in [GITHUB, GITLAB] {
        for arguments in jetsync_invocations(&scripts(&parse(path))) {
            let argv = std::iter::once("jetsync".to_string()).chain(arguments.iter().cloned());
            if let Err(e) = jetsync::cli::Cli::try_parse_from(argv) {
                panic!("{path}: jetsync {}: {e}", arguments.join(" "));
            }
        }
    }
}

#[test]
fn the_ci_examples_name_the_nats_secrets() {
    for path in [GITHUB, GITLAB] {
        let text = read(path);
        assert!(text.contains("NATS_URL"), "{path}");
        assert!(text.contains("NATS_CREDS"), "{path}");
    }
}

#[test]
fn jetsync_validate_skips_the_ci_examples_with_a_note_each() {
    let output = Command::new(env!("CARGO_BIN_EXE_jetsync"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(["validate", "--output", "json", "-f", "examples/ci/"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(output.status.success(), "{report:#}");
    assert_eq!(report["files"], 2, "{report:#}");
    assert_eq!(report["documents"], 0, "{report:#}");
    let notes: Vec<&Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "note")
        .collect();
    assert_eq!(notes.len(), 2, "{report:#}");
    assert_eq!(
        report["diagnostics"].as_array().unwrap().len(),
        2,
        "nothing but the notes: {report:#}"
    );
}

// ---------------------------------------------------------------- installing jetsync

#[test]
fn the_ci_examples_install_this_version_from_the_release_archives_with_a_checksum() {
    let releases = format!(
        "{}/releases/download",
        env!("CARGO_PKG_REPOSITORY").trim_end_matches('/')
    );
    let github = parse(GITHUB);
    assert_eq!(github["env"]["JETSYNC_VERSION"], env!("CARGO_PKG_VERSION"));
    assert_eq!(github["env"]["JETSYNC_RELEASES"], releases.as_str());
    for job in ["plan", "apply"] {
        let install = github_step(&github, job, "Install jetsync");
        assert!(install.contains("sha256sum --check"), "{job}: {install}");
        assert!(!install.contains("cargo install"), "{job}: {install}");
    }
    let gitlab = parse(GITLAB);
    assert_eq!(
        gitlab["variables"]["JETSYNC_VERSION"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(gitlab["variables"]["JETSYNC_RELEASES"], releases.as_str());
    let before = gitlab[".jetsync"]["before_script"].to_string();
    assert!(before.contains("sha256sum -c"), "{before}");
    assert!(!before.contains("cargo install"), "{before}");
    for path in [GITHUB, GITLAB] {
        assert!(
            read(path).contains("cargo install --locked jetsync --version \"$JETSYNC_VERSION\""),
            "{path} says how to switch to cargo install once the crate is published"
        );
    }
}

/// A release directory laid out as the release workflow publishes it
/// (`<releases>/v<version>/jetsync-<version>-<arch>-unknown-linux-musl.tar.gz`
/// and its `.sha256`), packed by scripts/release-archive from this build's
/// binary (stripped, to keep the archive small): the install steps are
/// exercised for what they do with the archive, not for the musl build.
fn local_release(dir: &Path) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let arch = std::env::consts::ARCH;
    let binary = dir.join("jetsync");
    std::fs::copy(env!("CARGO_BIN_EXE_jetsync"), &binary).unwrap();
    let strip = Command::new("strip").arg(&binary).status().unwrap();
    assert!(strip.success());
    let out = dir.join("releases").join(format!("v{version}"));
    let packed = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/release-archive"))
        .args([version, &format!("{arch}-unknown-linux-musl")])
        .arg(&binary)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        packed.status.success(),
        "{}",
        String::from_utf8_lossy(&packed.stderr)
    );
    format!("file://{}", dir.join("releases").display())
}

/// Runs an install script in a fresh directory with the example's variables
/// pointing at the local release; returns the outcome and the directory.
fn run_install(
    script: &str,
    releases: &str,
    extra_env: &[(&str, &Path)],
) -> (std::process::Output, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(work.path())
        .env("JETSYNC_VERSION", env!("CARGO_PKG_VERSION"))
        .env("JETSYNC_RELEASES", releases);
    for (key, value) in extra_env {
        command.env(key, value);
    }
    (command.output().unwrap(), work)
}

#[test]
fn the_github_example_installs_a_working_jetsync_from_the_release_and_refuses_a_corrupt_archive() {
    let dir = tempfile::tempdir().unwrap();
    let releases = local_release(dir.path());
    let script = github_step(&parse(GITHUB), "plan", "Install jetsync");
    let runner_temp = tempfile::tempdir().unwrap();
    let github_path = runner_temp.path().join("github_path");
    let env = [
        ("RUNNER_TEMP", runner_temp.path()),
        ("GITHUB_PATH", github_path.as_path()),
    ];

    let (output, _work) = run_install(&script, &releases, &env);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let added = std::fs::read_to_string(&github_path).unwrap();
    let version = Command::new(Path::new(added.trim()).join("jetsync"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("jetsync {}", env!("CARGO_PKG_VERSION"))
    );

    corrupt_archive(dir.path());
    let (output, _work) = run_install(&script, &releases, &env);
    assert!(!output.status.success(), "a corrupt archive installs");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("FAILED"),
        "sha256sum names the failed check: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn the_gitlab_example_installs_a_working_jetsync_from_the_release_and_refuses_a_corrupt_archive() {
    let dir = tempfile::tempdir().unwrap();
    let releases = local_release(dir.path());
    // The job's before_script, less `apk add` (the job runs on Alpine;
    // curl is already here), then jetsync from the PATH it set.
    let gitlab = parse(GITLAB);
    let mut lines: Vec<&str> = gitlab[".jetsync"]["before_script"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|line| !line.starts_with("apk "))
        .collect();
    lines.push("jetsync --version");
    let script = lines.join("\n");

    let (output, work) = run_install(&script, &releases, &[("CI_PROJECT_DIR", Path::new("."))]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains(&format!("jetsync {}", env!("CARGO_PKG_VERSION"))),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    drop(work);

    corrupt_archive(dir.path());
    let (output, _work) = run_install(&script, &releases, &[("CI_PROJECT_DIR", Path::new("."))]);
    assert!(!output.status.success(), "a corrupt archive installs");
}

/// Flips the last byte of every archive in the local release.
fn corrupt_archive(dir: &Path) {
    let version_dir = dir
        .join("releases")
        .join(format!("v{}", env!("CARGO_PKG_VERSION")));
    for entry in std::fs::read_dir(version_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "gz") {
            let mut bytes = std::fs::read(&path).unwrap();
            *bytes.last_mut().unwrap() ^= 0xff;
            std::fs::write(&path, bytes).unwrap();
        }
    }
}
