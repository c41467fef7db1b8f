//! `jetsync apply`: a plan made now, or a saved one (`apply FILE`), after a
//! confirmation on a terminal; what each change came to.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::output::{document, error, out, show, target_label};
use super::{has_errors, left_for_exit, plans, runtime};
use crate::apply::{Applied, ChangeOutcome};
use crate::engine::{self, EngineError, Listing, Reading, Strategy};
use crate::manifest::{self, Manifests};
use crate::nats::Connection;
use crate::plan::Address;
use crate::plan::classify::{Action, Plan};
use crate::render::{human, json};
use crate::saved_plan;
use crate::settings::{EngineSettings, ExitStatus, PlanOutput};

fn confirm() -> bool {
    eprint!("Apply these changes? Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer.trim() == "yes"
}

fn report_line(address: &Address, action: Action, outcome: &ChangeOutcome) -> String {
    let verb = match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "deleted",
        Action::Adopt => "adopted",
    };
    match outcome {
        ChangeOutcome::Done => format!("  ✓ {address}: {verb}\n"),
        ChangeOutcome::Skipped(reason) => format!("  - {address}: skipped ({reason})\n"),
        ChangeOutcome::Failed(reason) => format!("  ✗ {address}: failed: {reason}\n"),
    }
}

fn render_report(report: &Applied) -> String {
    let mut text = String::from("\nApplying:\n");
    for (address, action, outcome) in &report.results {
        text.push_str(&report_line(address, *action, outcome));
    }
    let done = |wanted: Action| {
        report
            .results
            .iter()
            .filter(|(_, action, outcome)| *action == wanted && *outcome == ChangeOutcome::Done)
            .count()
    };
    text.push_str(&format!(
        "\nApply: {} created, {} updated, {} replaced, {} deleted, {} adopted, {} skipped, {} failed.\n",
        done(Action::Create),
        done(Action::Update),
        done(Action::Replace),
        done(Action::Delete),
        done(Action::Adopt),
        report.count(|o| matches!(o, ChangeOutcome::Skipped(_))),
        report.count(|o| matches!(o, ChangeOutcome::Failed(_))),
    ));
    text
}

/// A saved plan, when the only path given is one.
fn saved_plan_path(args: &EngineSettings) -> Option<PathBuf> {
    let mut paths = args.filenames.iter().chain(&args.paths);
    let (Some(path), None) = (paths.next(), paths.next()) else {
        return None;
    };
    if !path.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    text.trim_start()
        .starts_with('{')
        .then(|| path.clone())
        .filter(|_| text.contains("\"format_version\""))
}

/// `jetsync apply`.
pub fn apply(args: &EngineSettings, yes: bool, color: bool) -> ExitStatus {
    if let Some(path) = saved_plan_path(args) {
        return apply_saved(&path, args, yes, color);
    }
    let Some((runtime, manifests, planned)) = plans(args, color) else {
        return ExitStatus::Failure;
    };
    let json_output = args.output == PlanOutput::Json;
    if !json_output {
        show(args, &manifests, &planned, color);
    }
    if has_errors(&planned) {
        if json_output {
            show(args, &manifests, &planned, color);
        }
        error("the plan has errors; nothing was written");
        return ExitStatus::Failure;
    }
    let groups: Vec<(&Connection, &Plan)> = planned
        .iter()
        .map(|group| (&group.connection, &group.plan))
        .collect();
    let (status, reports) = execute(&runtime, &groups, yes, args.output);
    if json_output {
        let document = document(args, &manifests, &planned);
        print_applied(
            serde_json::to_value(document).expect("plans serialize"),
            &reports,
        );
    }
    left_for_exit((manifests, planned, reports));
    status
}

/// Asks (on a terminal), applies every group and reports.
fn execute(
    runtime: &tokio::runtime::Runtime,
    groups: &[(&Connection, &Plan)],
    yes: bool,
    output: PlanOutput,
) -> (ExitStatus, Vec<Applied>) {
    let human = output != PlanOutput::Json;
    let refused = groups.iter().any(|(_, plan)| plan.summary().refused > 0);
    if !refused && !groups.iter().any(|(_, plan)| plan.has_writes()) {
        let reported: usize = groups.iter().map(|(_, plan)| plan.summary().reported).sum();
        if human && reported > 0 {
            out(&format!(
                "\nNothing to do: the server is as declared, but for {reported} drifted asset(s) \
                 left as they are (driftPolicy: Report).\n"
            ));
        } else if human {
            out("\nNothing to do: the server is as declared.\n");
        }
        return (ExitStatus::Success, Vec::new());
    }
    if std::io::stdin().is_terminal() && !yes && !confirm() {
        error("apply cancelled; nothing was written");
        return (ExitStatus::Failure, Vec::new());
    }
    let mut reports = Vec::new();
    for (connection, plan) in groups {
        let report = runtime.block_on(engine::apply(connection, plan));
        if human {
            out(&render_report(&report));
        }
        reports.push(report);
    }
    if reports.iter().all(Applied::converged) {
        return (ExitStatus::Success, reports);
    }
    // The report above (stdout) says what each change came to; stderr says
    // that the apply did not converge, for logs that keep only stderr.
    let count = |predicate: fn(&ChangeOutcome) -> bool| -> usize {
        reports.iter().map(|report| report.count(predicate)).sum()
    };
    let failed = count(|outcome| matches!(outcome, ChangeOutcome::Failed(_)));
    let skipped = count(|outcome| matches!(outcome, ChangeOutcome::Skipped(_)));
    error(format!(
        "the apply did not converge: {failed} change(s) failed and {skipped} were skipped; \
         the rest were made. `jetsync plan` shows what remains"
    ));
    (ExitStatus::Failure, reports)
}

/// `apply --output json`: the plan document with what happened to each change.
fn print_applied(mut document: serde_json::Value, reports: &[Applied]) {
    let results: Vec<serde_json::Value> = reports
        .iter()
        .flat_map(|report| &report.results)
        .map(|(address, action, outcome)| {
            let (status, detail) = match outcome {
                ChangeOutcome::Done => ("done", None),
                ChangeOutcome::Skipped(reason) => ("skipped", Some(reason.to_string())),
                ChangeOutcome::Failed(reason) => ("failed", Some(reason.to_string())),
            };
            serde_json::json!({
                "address": address,
                "action": action,
                "outcome": status,
                "detail": detail,
            })
        })
        .collect();
    document["applied"] = serde_json::Value::Array(results);
    out(&format!(
        "{}\n",
        serde_json::to_string_pretty(&document).expect("plans serialize")
    ));
}

/// `jetsync apply FILE` with a saved plan: exactly that plan, or nothing if
/// the manifests or the live state changed since it was made.
fn apply_saved(path: &Path, args: &EngineSettings, yes: bool, color: bool) -> ExitStatus {
    let document = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| json::PlanDocument::from_json(&text))
    {
        Ok(document) => document,
        Err(message) => {
            error(format!("{}: {message}", path.display()));
            return ExitStatus::Failure;
        }
    };
    let root = saved_plan::find_root(&document, path);
    let source_paths = match saved_plan::check_sources(&document, &root) {
        Ok(paths) => paths,
        Err(problem) => {
            error(problem);
            return ExitStatus::Failure;
        }
    };
    let manifests = if source_paths.is_empty() {
        Manifests::default()
    } else {
        manifest::load(&source_paths)
    };
    let runtime = runtime();
    let mut connected = Vec::new();
    for target in &document.targets {
        let mut flags = args.connection.clone();
        if flags.servers.is_empty()
            && std::env::var_os("NATS_URL").is_none()
            && flags.context.is_none()
        {
            flags.servers = vec![target.server.clone()];
        }
        let options = match engine::connect_options(
            target.connection.as_deref(),
            &manifests.documents,
            &flags,
        ) {
            Ok(options) => options,
            Err(message) => {
                error(message);
                return ExitStatus::Failure;
            }
        };
        let plan = document.changes_for(&target.connection);
        let observed = runtime.block_on(async {
            match engine::connect_and_list(&options).await? {
                (connection, Listing::Listed(state)) => Ok((connection, state)),
                // Least privilege: what the plan read, and what it changes.
                (connection, Listing::Denied(_)) => {
                    let addresses: BTreeSet<Address> = target
                        .assets
                        .keys()
                        .filter_map(|address| Address::parse(address))
                        .chain(plan.changes.iter().map(|change| change.address.clone()))
                        .collect();
                    match Strategy::Lookup(addresses.into_iter().collect())
                        .read(&connection)
                        .await
                    {
                        Ok(state) => Ok((connection, state)),
                        Err(source) => Err(EngineError::Observe {
                            what: Reading::PlannedAssets,
                            source,
                        }),
                    }
                }
            }
        });
        let (connection, live) = match observed {
            Ok((connection, state)) => (connection, engine::live_assets(state)),
            Err(problem) => {
                error(problem);
                return ExitStatus::Failure;
            }
        };
        let stale = saved_plan::stale_assets(target, &live);
        if !stale.is_empty() {
            error(format!(
                "plan is stale: {} since the plan was made; nothing was written; make a new plan",
                stale.join(", ")
            ));
            return ExitStatus::Failure;
        }
        if args.output != PlanOutput::Json {
            out(&human::render_plan(
                &plan,
                &target_label(&connection),
                color,
            ));
        }
        connected.push((connection, plan));
    }
    let groups: Vec<(&Connection, &Plan)> = connected.iter().map(|(c, p)| (c, p)).collect();
    let (status, reports) = execute(&runtime, &groups, yes, args.output);
    if args.output == PlanOutput::Json {
        print_applied(
            serde_json::to_value(&document).expect("plans serialize"),
            &reports,
        );
    }
    status
}
