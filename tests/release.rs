//! What a release publishes: the crate package, the release workflow (checked
//! by actionlint), the image's Dockerfile (checked by hadolint), one image
//! name and one version across the chart, the Dockerfile and the workflow,
//! the release notes from CHANGELOG.md, and the archives with their checksums.
//!
//! The linters come from scripts/tools.sh (`$JETSYNC_LINT_BIN`); without them
//! their tests print `SKIPPED` (under `CI=true` they fail).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const WORKFLOW: &str = ".github/workflows/release.yml";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// One of the repository's scripts, run by bash.
fn script(name: &str) -> Command {
    let mut command = Command::new("bash");
    command.arg(repo().join("scripts").join(name));
    command
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A linter from `$JETSYNC_LINT_BIN`, or None (and SKIPPED) outside CI when
/// scripts/tools.sh has not installed it.
fn linter(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("JETSYNC_LINT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/tools/lint/bin"));
    let path = dir.join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{name} not found in {} (scripts/tools.sh installs it)",
        dir.display()
    );
    eprintln!("SKIPPED: {name} not installed (source scripts/tools.sh; install_lint_tools)");
    None
}

/// The `KEY="value"` pairs of the Dockerfile's LABEL instruction.
fn dockerfile_labels() -> Vec<(String, String)> {
    let dockerfile = read("Dockerfile");
    let mut labels = Vec::new();
    for line in dockerfile.lines().skip_while(|l| !l.starts_with("LABEL ")) {
        let pair = line
            .trim_start_matches("LABEL ")
            .trim()
            .trim_end_matches('\\');
        if let Some((key, value)) = pair.trim().split_once('=') {
            labels.push((key.to_string(), value.trim_matches('"').to_string()));
        }
        if !line.trim_end().ends_with('\\') {
            break;
        }
    }
    labels
}

fn label(labels: &[(String, String)], key: &str) -> String {
    labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("the Dockerfile has no label {key}: {labels:?}"))
}

// ---------------------------------------------------------------- linters

#[test]
fn the_release_workflow_and_the_github_example_pass_actionlint_with_shellcheck() {
    let Some(actionlint) = linter("actionlint") else {
        return;
    };
    let shellcheck = actionlint.with_file_name("shellcheck");
    assert!(shellcheck.is_file(), "shellcheck beside actionlint");
    let output = Command::new(&actionlint)
        .current_dir(repo())
        .arg("-verbose")
        .arg(format!("-shellcheck={}", shellcheck.display()))
        .args([WORKFLOW, "examples/ci/github-actions.yml"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "actionlint:\n{}{}",
        stdout(&output),
        stderr(&output)
    );
    // -verbose names the rules it could not run.
    assert!(
        !stderr(&output).contains("\"shellcheck\" was disabled"),
        "actionlint ran shellcheck over the run: scripts:\n{}",
        stderr(&output)
    );
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let Some(hadolint) = linter("hadolint") else {
        return;
    };
    let output = Command::new(hadolint)
        .current_dir(repo())
        .args(["--no-color", "Dockerfile"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "hadolint:\n{}{}",
        stdout(&output),
        stderr(&output)
    );
}

#[test]
fn the_release_scripts_pass_shellcheck() {
    let Some(shellcheck) = linter("shellcheck") else {
        return;
    };
    let output = Command::new(shellcheck)
        .current_dir(repo())
        .args([
            "scripts/release-archive",
            "scripts/release-notes",
            "scripts/check-static",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "shellcheck:\n{}{}",
        stdout(&output),
        stderr(&output)
    );
}

// ---------------------------------------------------------------- one image, one version

#[test]
fn the_chart_the_dockerfile_and_the_release_workflow_name_one_image() {
    let chart_image = yaml("charts/jetsync/values.yaml")["image"]["repository"]
        .as_str()
        .unwrap()
        .to_string();
    let workflow = yaml(WORKFLOW);
    assert_eq!(workflow["env"]["IMAGE"], chart_image.as_str());
    assert!(
        read(WORKFLOW).contains("--tag \"$IMAGE:$VERSION\""),
        "the workflow pushes $IMAGE tagged with the version (the chart's appVersion)"
    );

    // ghcr.io/OWNER/NAME is linked to github.com/OWNER/NAME by the source label.
    let (registry, path) = chart_image.split_once('/').unwrap();
    assert_eq!(registry, "ghcr.io");
    let labels = dockerfile_labels();
    let repository = format!("https://github.com/{path}");
    assert_eq!(
        label(&labels, "org.opencontainers.image.source"),
        repository
    );
    assert_eq!(repository, env!("CARGO_PKG_REPOSITORY"));
    assert_eq!(
        label(&labels, "org.opencontainers.image.licenses"),
        env!("CARGO_PKG_LICENSE")
    );
    assert_eq!(
        label(&labels, "org.opencontainers.image.description"),
        env!("CARGO_PKG_DESCRIPTION")
    );
    assert_eq!(
        label(&labels, "org.opencontainers.image.version"),
        "${VERSION}"
    );
    assert!(
        read("Dockerfile").contains(&format!("ARG VERSION={}", env!("CARGO_PKG_VERSION"))),
        "the Dockerfile's default VERSION is the crate's"
    );

    // The chart goes where the image goes.
    let chart_repository = workflow["env"]["CHART_REPOSITORY"].as_str().unwrap();
    assert_eq!(
        chart_repository,
        format!(
            "oci://{registry}/{}/charts",
            path.split('/').next().unwrap()
        )
    );
}

#[test]
fn the_chart_and_the_crate_have_one_version() {
    let chart = yaml("charts/jetsync/Chart.yaml");
    assert_eq!(chart["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(chart["appVersion"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn the_release_workflow_builds_every_published_target_on_its_own_runner() {
    let workflow = yaml(WORKFLOW);
    assert!(workflow["on"]["push"]["tags"].is_array(), "runs on tags");
    let targets: Vec<(&str, &str)> = workflow["jobs"]["binaries"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["target"].as_str().unwrap(),
                entry["runner"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("x86_64-unknown-linux-musl", "ubuntu-24.04"),
            ("aarch64-unknown-linux-musl", "ubuntu-24.04-arm"),
            ("x86_64-apple-darwin", "macos-15-intel"),
            ("aarch64-apple-darwin", "macos-15"),
        ]
    );
    let text = read(WORKFLOW);
    for step in [
        "scripts/check-static",
        "scripts/release-archive",
        "scripts/release-notes",
        "--platform linux/amd64,linux/arm64",
        "--build-arg BINARY=prebuilt",
        "helm push",
        "SHA256SUMS",
        "gh release create",
    ] {
        assert!(text.contains(step), "the release workflow runs {step}");
    }
}

#[test]
fn the_readme_install_section_names_every_release_target_and_the_image_and_chart() {
    let readme = read("README.md");
    let install = readme
        .split("\n## Install\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README.md has an Install section");
    let workflow = yaml(WORKFLOW);
    for entry in workflow["jobs"]["binaries"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
    {
        let target = entry["target"].as_str().unwrap();
        assert!(install.contains(target), "Install names {target}");
    }
    for name in [
        "cargo install --locked --path .",
        "cargo install --locked jetsync",
        "sha256sum --check",
        workflow["env"]["IMAGE"].as_str().unwrap(),
        workflow["env"]["CHART_REPOSITORY"].as_str().unwrap(),
        "jetsync completion bash",
        "jetsync man",
    ] {
        assert!(install.contains(name), "Install says {name}");
    }
}

// ---------------------------------------------------------------- release notes

#[test]
fn the_release_notes_of_this_version_are_its_changelog_section() {
    let notes = script("release-notes")
        .arg(env!("CARGO_PKG_VERSION"))
        .output()
        .unwrap();
    assert!(notes.status.success(), "{}", stderr(&notes));
    let notes = stdout(&notes);
    assert!(!notes.starts_with("## "), "without the heading: {notes}");
    assert!(notes.contains("### "), "{notes}");
    assert!(
        notes.contains("**Breaking:** `jetsync export -o`"),
        "the export flag change is called out: {notes}"
    );

    let missing = script("release-notes").arg("99.0.0").output().unwrap();
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("no section"),
        "{}",
        stderr(&missing)
    );
}

// ---------------------------------------------------------------- the crate

#[test]
fn the_crate_package_holds_the_sources_and_what_users_read_and_not_the_test_corpus() {
    let output = Command::new(env!("CARGO"))
        .current_dir(repo())
        .args([
            "package",
            "--list",
            "--allow-dirty",
            "--locked",
            "--offline",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let listed = stdout(&output);
    let files: Vec<&str> = listed.lines().collect();
    for wanted in [
        "Cargo.toml",
        "Cargo.lock",
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "src/main.rs",
        "src/lib.rs",
    ] {
        assert!(
            files.contains(&wanted),
            "the package holds {wanted}: {files:?}"
        );
    }
    for file in &files {
        assert!(
            ![
                "tests/",
                "fuzz/",
                "benches/",
                "bench/",
                "charts/",
                "examples/",
                ".github/"
            ]
            .iter()
            .any(|dir| file.starts_with(dir)),
            "the package leaves out {file}"
        );
    }
    let sources = files.iter().filter(|f| f.starts_with("src/")).count();
    assert_eq!(
        sources,
        rust_files(&repo().join("src")),
        "every file of src/"
    );
}

fn rust_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            if path.is_dir() {
                rust_files(&path)
            } else {
                usize::from(path.extension().is_some_and(|e| e == "rs"))
            }
        })
        .sum()
}

#[test]
fn the_crates_metadata_is_complete_and_its_rust_version_covers_every_locked_dependency() {
    // Not `--offline`: the metadata of every locked package is read,
    // platform-specific ones (e.g. Windows-only crates) included, and a
    // build on Linux never downloads those; cargo fetches what is missing.
    let output = Command::new(env!("CARGO"))
        .current_dir(repo())
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let jetsync = packages
        .iter()
        .find(|package| package["name"] == "jetsync")
        .unwrap();
    for field in [
        "description",
        "license",
        "repository",
        "homepage",
        "documentation",
        "readme",
        "rust_version",
    ] {
        assert!(
            jetsync[field].as_str().is_some_and(|v| !v.is_empty()),
            "Cargo.toml sets {field}"
        );
    }
    for field in ["keywords", "categories"] {
        assert!(
            jetsync[field].as_array().is_some_and(|v| !v.is_empty()),
            "Cargo.toml sets {field}"
        );
    }
    assert_eq!(jetsync["license"], "Apache-2.0");
    assert!(read("LICENSE").contains("Apache License\n                           Version 2.0"));

    let ours = version_tuple(env!("CARGO_PKG_RUST_VERSION"));
    let newest = packages
        .iter()
        .filter_map(|package| {
            let needs = package["rust_version"].as_str()?;
            Some((version_tuple(needs), package["name"].as_str()?.to_string()))
        })
        .max()
        .unwrap();
    assert!(
        newest.0 <= ours,
        "{} needs Rust {:?}, the crate says {ours:?}",
        newest.1,
        newest.0
    );
}

fn version_tuple(version: &str) -> (u64, u64, u64) {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap());
    (
        parts.next().unwrap(),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

// ---------------------------------------------------------------- archives

#[test]
fn a_release_archive_holds_the_binary_completions_man_pages_and_a_valid_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("jetsync");
    std::fs::copy(env!("CARGO_BIN_EXE_jetsync"), &binary).unwrap();
    assert!(
        Command::new("strip")
            .arg(&binary)
            .status()
            .unwrap()
            .success()
    );
    let version = env!("CARGO_PKG_VERSION");
    let target = "x86_64-unknown-linux-musl";
    let packed = script("release-archive")
        .args([version, target])
        .arg(&binary)
        .arg(dir.path().join("dist"))
        .output()
        .unwrap();
    assert!(packed.status.success(), "{}", stderr(&packed));

    let name = format!("jetsync-{version}-{target}");
    let check = Command::new("sha256sum")
        .current_dir(dir.path().join("dist"))
        .args(["--check", &format!("{name}.tar.gz.sha256")])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stdout(&check));

    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(dir.path().join("dist").join(format!("{name}.tar.gz")))
        .output()
        .unwrap();
    let listing = stdout(&listing);
    for file in [
        "jetsync",
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "completions/jetsync.bash",
        "completions/_jetsync",
        "completions/jetsync.fish",
        "completions/_jetsync.ps1",
        "man/jetsync.1",
        "man/jetsync-plan.1",
        "man/jetsync-export.1",
    ] {
        assert!(
            listing.lines().any(|l| l == format!("{name}/{file}")),
            "{name}/{file} in the archive:\n{listing}"
        );
    }
}

#[test]
fn a_release_archive_refuses_a_binary_of_another_version() {
    let dir = tempfile::tempdir().unwrap();
    let packed = script("release-archive")
        .args([
            "99.0.0",
            "x86_64-unknown-linux-musl",
            env!("CARGO_BIN_EXE_jetsync"),
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!packed.status.success());
    assert!(
        stderr(&packed).contains("not 'jetsync 99.0.0'"),
        "{}",
        stderr(&packed)
    );
}

#[test]
fn the_static_check_refuses_a_dynamically_linked_binary() {
    // This test build links glibc dynamically; the release's musl builds
    // must not (the workflow runs the same script on them).
    let output = script("check-static")
        .arg(env!("CARGO_BIN_EXE_jetsync"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("asks for a dynamic loader"),
        "{}",
        stderr(&output)
    );
}
