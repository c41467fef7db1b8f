//! The Argo CD health check (`charts/jetsync/files/argocd-health.lua`, the
//! same script in the README) run in a real Lua 5.1 (PyPI `lupa`, through
//! `tests/tools/argocd_health.py`) against the statuses the controller
//! writes: each built by the controller's own conclusions and
//! `owned_status::next_status`, for every condition reason it has.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use std::io::Write;

use jetsync::controller::conditions::{Judgement, reasons, types};
use jetsync::controller::owned_status::{Counts, next_status};
use jetsync::controller::status::{Conclusion, Next};
use jetsync::resources::AssetStatus;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

#[path = "support/venv.rs"]
mod venv;
use venv::venv;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script() -> PathBuf {
    repo().join("charts/jetsync/files/argocd-health.lua")
}

/// Argo CD's verdict on each resource: (status, message).
fn health(resources: &[Value]) -> Option<Vec<(String, String)>> {
    let venv = venv()?;
    let mut child = Command::new(venv.join("bin/python"))
        .arg(repo().join("tests/tools/argocd_health.py"))
        .arg(script())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(resources).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "argocd_health.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    Some(
        results
            .iter()
            .map(|r| {
                (
                    r["status"].as_str().unwrap().to_string(),
                    r["message"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    )
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).unwrap()
}

/// The status the controller writes after `conclusion` at `generation`,
/// over what it wrote before.
fn written(
    previous: Option<&AssetStatus>,
    generation: i64,
    conclusion: &Conclusion,
) -> AssetStatus {
    next_status(
        previous,
        Some(generation),
        &conclusion.judgements,
        Counts::Unknown,
        at(generation),
    )
    .unwrap_or_else(|| previous.cloned().unwrap_or_default())
}

fn resource(kind: &str, generation: i64, spec: Value, status: Option<&AssetStatus>) -> Value {
    let mut object = json!({
        "apiVersion": "jetsync.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "orders", "namespace": "shop", "generation": generation},
        "spec": spec,
    });
    if let Some(status) = status {
        object["status"] = serde_json::to_value(status).unwrap();
    }
    object
}

/// One resource as the controller leaves it, and the health Argo CD must show.
struct Case {
    what: &'static str,
    resource: Value,
    health: &'static str,
}

fn case(what: &'static str, kind: &str, conclusion: Conclusion, health: &'static str) -> Case {
    Case {
        what,
        resource: resource(kind, 1, json!({}), Some(&written(None, 1, &conclusion))),
        health,
    }
}

fn waiting(reason: &'static str) -> Conclusion {
    Conclusion::waiting(reason, format!("{reason} (test)"), Next::Backoff)
}

fn not_checked(conclusion: Conclusion) -> Conclusion {
    conclusion.with_judgement(Judgement::unknown(
        types::DRIFTED,
        reasons::NOT_CHECKED,
        "drift not checked",
    ))
}

fn cases() -> Vec<Case> {
    let in_sync = Conclusion::ready(reasons::RECONCILED, "in sync").with_judgement(Judgement::no(
        types::DRIFTED,
        reasons::IN_SYNC,
        "",
    ));
    let ready_then_changed = written(None, 1, &in_sync);
    let mut all =
        vec![
            case("a stream in sync", "Stream", in_sync.clone(), "Healthy"),
            case(
                "drift corrected",
                "Stream",
                Conclusion::ready(reasons::RECONCILED, "updated maxAge").with_judgement(
                    Judgement::no(types::DRIFTED, reasons::DRIFT_CORRECTED, "maxAge: 2h → 1h"),
                ),
                "Healthy",
            ),
            case(
                "drift reported under driftPolicy: Report",
                "KeyValue",
                Conclusion::ready(reasons::DRIFT_REPORTED, "left as is: maxAge").with_judgement(
                    Judgement::yes(types::DRIFTED, reasons::DRIFT_REPORTED, "maxAge: 2h → 1h"),
                ),
                "Healthy",
            ),
            case(
                "a connection that watches advisories",
                "NatsConnection",
                Conclusion::ready(reasons::CONNECTED, "connected").with_judgement(Judgement::yes(
                    types::WATCHING,
                    reasons::ADVISORIES_SUBSCRIBED,
                    "",
                )),
                "Healthy",
            ),
            case(
                "a connection refused the advisories",
                "NatsConnection",
                Conclusion::ready(reasons::CONNECTED, "connected").with_judgement(Judgement::no(
                    types::WATCHING,
                    reasons::ADVISORIES_REFUSED,
                    "permission denied",
                )),
                "Healthy",
            ),
            case(
                "a write under way",
                "Stream",
                waiting(reasons::PROGRESSING),
                "Progressing",
            ),
            case(
                "a consumer waits for its stream",
                "Consumer",
                waiting(reasons::STREAM_NOT_READY),
                "Progressing",
            ),
            case(
                "a failed drift correction is retried",
                "Stream",
                waiting(reasons::APPLY_FAILED).with_judgement(Judgement::yes(
                    types::DRIFTED,
                    reasons::DRIFT_DETECTED,
                    "maxAge",
                )),
                "Progressing",
            ),
            case(
                "observe-only with differences",
                "Stream",
                Conclusion::read_only("would update").with_judgement(Judgement::no(
                    types::READY,
                    reasons::OBSERVE_ONLY,
                    "would update",
                )),
                "Degraded",
            ),
            case(
                "read-only with changes pending",
                "ObjectStore",
                Conclusion::read_only("read-only: would create object store"),
                "Degraded",
            ),
        ];
    for reason in [
        reasons::CONNECTION_FAILED,
        reasons::AUTH_REFUSED,
        reasons::JETSTREAM_DISABLED,
        reasons::PERMISSION_DENIED,
        reasons::CONNECTION_NOT_FOUND,
        reasons::SECRET_NOT_FOUND,
    ] {
        all.push(case(
            "a connection problem is retried",
            "Stream",
            not_checked(waiting(reason)),
            "Progressing",
        ));
    }
    for reason in [
        reasons::INVALID_SPEC,
        reasons::UNSUPPORTED_FIELD,
        reasons::ADOPT_REFUSED,
        reasons::IMMUTABLE_FIELD_CHANGED,
    ] {
        all.push(case(
            "a human must act",
            "Consumer",
            Conclusion::stalled(reason, format!("{reason} (test)")),
            "Degraded",
        ));
    }
    all.push(Case {
        what: "no status yet",
        resource: resource("Stream", 1, json!({}), None),
        health: "Progressing",
    });
    all.push(Case {
        what: "a new generation the controller has not seen",
        resource: resource("Stream", 2, json!({}), Some(&ready_then_changed)),
        health: "Progressing",
    });
    all.push(Case {
        what: "a new generation, then reconciled",
        resource: resource(
            "Stream",
            2,
            json!({}),
            Some(&written(Some(&ready_then_changed), 2, &in_sync)),
        ),
        health: "Healthy",
    });
    all.push(Case {
        what: "suspended, as the controller writes it",
        resource: resource(
            "Consumer",
            1,
            json!({"suspend": true}),
            Some(&written(
                Some(&ready_then_changed),
                1,
                &Conclusion::suspended(),
            )),
        ),
        health: "Suspended",
    });
    all.push(Case {
        what: "spec.suspend",
        resource: resource(
            "Stream",
            1,
            json!({"suspend": true}),
            Some(&ready_then_changed),
        ),
        health: "Suspended",
    });
    all
}

/// Every reason `src/controller/conditions.rs` declares.
fn declared_reasons() -> Vec<String> {
    let source = include_str!("../src/controller/conditions.rs");
    let module = source
        .split("pub mod reasons {")
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .expect("conditions.rs has mod reasons");
    module
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub const "))
        .filter_map(|line| line.split('"').nth(1))
        .map(str::to_string)
        .collect()
}

#[test]
fn argo_cd_shows_every_status_the_controller_writes_as_the_right_health() {
    let cases = cases();
    let written_reasons: Vec<String> = cases
        .iter()
        .flat_map(|case| {
            case.resource["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|condition| condition["reason"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<String> = declared_reasons()
        .into_iter()
        .filter(|reason| !written_reasons.contains(reason))
        .collect();
    assert!(
        missing.is_empty(),
        "reasons without a health case: {missing:?}"
    );

    let resources: Vec<Value> = cases.iter().map(|case| case.resource.clone()).collect();
    let Some(health) = health(&resources) else {
        return;
    };
    let wrong: Vec<String> = cases
        .iter()
        .zip(&health)
        .filter(|(case, (status, _))| status != case.health)
        .map(|(case, (status, message))| {
            format!(
                "{}: {status} ({message}), expected {}",
                case.what, case.health
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_health_message_names_the_reason_and_the_conditions_message() {
    let stalled = Conclusion::stalled(reasons::INVALID_SPEC, "spec.replicas: must be 1 to 5");
    let resource = resource("Stream", 1, json!({}), Some(&written(None, 1, &stalled)));
    let Some(health) = health(&[resource]) else {
        return;
    };
    assert_eq!(
        health[0],
        (
            "Degraded".to_string(),
            "InvalidSpec: spec.replicas: must be 1 to 5".to_string()
        )
    );
}

#[test]
fn the_readme_and_the_chart_ship_the_tested_script() {
    let script = std::fs::read_to_string(script()).unwrap();
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let indented: String = script
        .lines()
        .map(|line| {
            if line.is_empty() {
                "\n".to_string()
            } else {
                format!("    {line}\n")
            }
        })
        .collect();
    assert!(
        readme.contains(&indented),
        "README.md's Argo CD snippet differs from charts/jetsync/files/argocd-health.lua"
    );
}
