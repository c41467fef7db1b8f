//! What plan, diff and apply print: the plans in the chosen format, the
//! diagnostics, and errors.

use std::io::Write;

use crate::diagnostics::{Diagnostic, Severity};
use crate::engine::{Pipeline, Planned};
use crate::manifest::Manifests;
use crate::nats::Connection;
use crate::plan::classify::Plan;
use crate::render::{github, human, json, markdown};
use crate::settings::{EngineSettings, PlanOutput};

pub(super) fn print_diagnostics(diagnostics: &[Diagnostic], color: bool) {
    let mut stderr = std::io::stderr().lock();
    for diagnostic in diagnostics {
        let _ = write!(stderr, "{}", diagnostic.render(color));
    }
}

pub(super) fn out(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

pub(super) fn error(message: impl std::fmt::Display) {
    eprintln!("error: {message}");
}

/// The pipeline's load and validate stages; None (after printing why)
/// when anything is invalid.
pub(super) fn load(
    pipeline: &Pipeline<'_>,
    args: &EngineSettings,
    color: bool,
) -> Option<Manifests> {
    let manifests = match pipeline.load() {
        Ok(manifests) => manifests,
        Err(problem) => {
            error(problem);
            return None;
        }
    };
    let shown = reported_diagnostics(&manifests);
    print_diagnostics(&shown, color);
    if !manifests.is_valid() {
        // Machine outputs still say why, in their own format.
        match args.output {
            PlanOutput::Human => {}
            PlanOutput::Json => show(args, &manifests, &[], color),
            PlanOutput::Markdown => out(&markdown::render_markdown(&[], &shown)),
            PlanOutput::Github => {
                out(&github::annotations(&[], &shown));
                let summary = markdown::render_markdown_within(&[], &shown, STEP_SUMMARY_BUDGET);
                if let Err(e) = github::write_step_summary(&summary) {
                    error(format!("cannot write $GITHUB_STEP_SUMMARY: {e}"));
                }
            }
        }
        error(format!(
            "{} error(s) in the manifests; nothing was planned or written",
            manifests.error_count()
        ));
        return None;
    }
    Some(manifests)
}

/// The manifest diagnostics worth reporting: errors and warnings (notes say
/// which documents were skipped; they go to people only when asked for).
pub(super) fn reported_diagnostics(manifests: &Manifests) -> Vec<Diagnostic> {
    manifests
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note)
        .cloned()
        .collect()
}

/// GitHub's step summary takes up to 1 MiB; keep well inside it.
pub(super) const STEP_SUMMARY_BUDGET: usize = 1_000_000;

pub(super) fn target_label(connection: &Connection) -> String {
    let server = &connection.server;
    let mut label = format!("{} (nats-server {}", server.url_redacted, server.version);
    if let Some(account) = &server.account {
        label.push_str(&format!(", account {account}"));
    }
    if let Some(domain) = &server.domain {
        label.push_str(&format!(", domain {domain}"));
    }
    label.push(')');
    label
}

pub(super) fn document(
    args: &EngineSettings,
    manifests: &Manifests,
    planned: &[Planned],
) -> json::PlanDocument {
    let groups: Vec<json::GroupInput<'_>> = planned
        .iter()
        .map(|group| json::GroupInput {
            connection: group.connection_name.clone(),
            server: &group.connection.server,
            live: &group.live,
            plan: &group.plan,
            declared: &group.declared,
        })
        .collect();
    let warnings = reported_diagnostics(manifests);
    json::document(
        &groups,
        &manifests.sources,
        json::Options {
            owner: args.owner.clone(),
            prune: args.prune,
            adopt: args.adopt,
            allow_replace: args.allow_replace,
            targets: args.targets.clone(),
            selector: args.selectors.clone(),
        },
        &warnings,
    )
}

/// Prints the plans in the chosen format. Diagnostics go to stderr for
/// people; the JSON document carries them itself.
pub(super) fn show(args: &EngineSettings, manifests: &Manifests, planned: &[Planned], color: bool) {
    let labelled: Vec<(String, &Plan)> = planned
        .iter()
        .map(|group| (target_label(&group.connection), &group.plan))
        .collect();
    let warnings = reported_diagnostics(manifests);
    match args.output {
        PlanOutput::Json => {
            let document = document(args, manifests, planned);
            out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&document).expect("plans serialize")
            ));
        }
        PlanOutput::Markdown => out(&markdown::render_markdown(&labelled, &warnings)),
        PlanOutput::Human | PlanOutput::Github => {
            let human = args.output == PlanOutput::Human;
            for (label, plan) in &labelled {
                if human {
                    print_diagnostics(&plan.diagnostics, color);
                }
                out(&human::render_plan(plan, label, color && human));
            }
            if !human {
                out(&github::annotations(&labelled, &warnings));
                let summary =
                    markdown::render_markdown_within(&labelled, &warnings, STEP_SUMMARY_BUDGET);
                if let Err(e) = github::write_step_summary(&summary) {
                    error(format!("cannot write $GITHUB_STEP_SUMMARY: {e}"));
                }
            }
        }
    }
}
