//! Validation at admission: the CRDs' OpenAPI constraints and CEL rules
//! (`src/spec/admission.rs`) refuse every document of the bad-input corpus
//! whose fault they can express, and admit every example. The API server is
//! stood in for by `tests/tools/check_admission.py`: jsonschema for the
//! OpenAPI constraints, cel-python for the CEL rules, and the API server's
//! own envelope checks (ObjectMeta, served version, unknown fields under
//! kubectl's default strict field validation, int64).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "support/venv.rs"]
mod venv;
use venv::venv;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Corpus documents whose fault the CRDs cannot express: only jetsync
/// refuses them (the README's list of rules checked only by jetsync).
const REFUSED_ONLY_BY_JETSYNC: &[&str] = &[
    // Across documents: the API server sees one resource at a time.
    "duplicates-connection-declared-twice",
    "duplicates-consumer-declared-twice",
    "duplicates-kv-and-stream-share-a-backing-stream",
    "duplicates-object-store-and-stream-share-a-backing-stream",
    "duplicates-stream-named-after-metadata-twice",
    "duplicates-two-streams-one-name",
    // Durations and sizes compared with a bound or with each other.
    "huge-duration-overflow",
    "huge-size-overflow",
    "rules-duplicate-window-longer-than-max-age",
    "rules-max-age-below-100ms",
    "rules-max-msg-size-over-2gib",
    "rules-push-consumer-heartbeat-too-short",
    // Subjects compared with each other, and subject mappings.
    "rules-kv-republish-loop",
    "rules-republish-into-own-subjects",
    "rules-subject-transform-bad-mapping",
    "subjects-overlapping",
    "subjects-in-the-jetstream-api",
    "rules-sources-repeated",
    // The stream name defaulted from metadata.name.
    "names-stream-name-taken-from-metadata-with-a-dot",
    // YAML that reaches the API server as something else.
    "yaml-duplicate-key-in-spec",
    "yaml-duplicate-top-level-key",
    "yaml-utf16-with-bom",
];

/// What the stand-in API server says of each file: the refusals of its
/// documents, or None when the file is not YAML a client could send.
fn admission(files: &[PathBuf]) -> Option<BTreeMap<String, Option<Vec<String>>>> {
    let venv = venv()?;
    let crds = tempfile::tempdir().unwrap();
    for crd in jetsync::schema::crds() {
        std::fs::write(
            crds.path().join(jetsync::schema::crd_file_name(&crd)),
            jetsync::schema::crd_yaml(&crd),
        )
        .unwrap();
    }
    let output = Command::new(venv.join("bin/python"))
        .arg(repo().join("tests/tools/check_admission.py"))
        .arg(crds.path())
        .args(files)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "check_admission.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: BTreeMap<String, Value> = serde_json::from_slice(&output.stdout).unwrap();
    Some(
        verdicts
            .into_iter()
            .map(|(file, verdict)| {
                let name = Path::new(&file)
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let refusals = verdict.as_array().map(|refusals| {
                    refusals
                        .iter()
                        .map(|r| r.as_str().unwrap().to_string())
                        .collect()
                });
                (name, refusals)
            })
            .collect(),
    )
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn every_corpus_document_whose_fault_a_crd_can_express_is_refused_at_admission() {
    let files = yaml_files(&repo().join("tests/fixtures/invalid"));
    let Some(verdicts) = admission(&files) else {
        return;
    };
    assert_eq!(verdicts.len(), files.len());
    let mut wrong = Vec::new();
    for (name, refusals) in &verdicts {
        let only_jetsync = REFUSED_ONLY_BY_JETSYNC.contains(&name.as_str());
        match refusals {
            None if name.starts_with("yaml-") => {}
            None => wrong.push(format!("{name}: not readable as YAML")),
            Some(refusals) if only_jetsync && !refusals.is_empty() => wrong.push(format!(
                "{name}: refused at admission now ({}); take it off REFUSED_ONLY_BY_JETSYNC and the README's list",
                refusals[0]
            )),
            Some(refusals) if !only_jetsync && refusals.is_empty() => {
                wrong.push(format!("{name}: admitted"))
            }
            Some(_) => {}
        }
    }
    for name in REFUSED_ONLY_BY_JETSYNC {
        assert!(verdicts.contains_key(*name), "{name} is not in the corpus");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_example_is_admitted() {
    let files = yaml_files(&repo().join("examples"));
    let Some(verdicts) = admission(&files) else {
        return;
    };
    let refused: Vec<String> = verdicts
        .iter()
        .filter_map(|(name, refusals)| match refusals {
            Some(refusals) if refusals.is_empty() => None,
            Some(refusals) => Some(format!("{name}: {}", refusals.join("; "))),
            None => Some(format!("{name}: not readable as YAML")),
        })
        .collect();
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}

#[test]
fn every_cel_rule_of_the_spec_types_is_in_the_crds() {
    let crds = serde_json::to_string(&jetsync::schema::crds()).unwrap();
    for (place, rules) in jetsync::spec::admission::ALL {
        for rule in rules {
            let message = serde_json::to_string(rule.message).unwrap();
            assert!(
                crds.contains(&message),
                "{place}: {:?} is not in any CRD",
                rule.rule
            );
        }
    }
}
