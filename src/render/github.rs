//! The plan for GitHub Actions: workflow-command annotations (`::error`,
//! `::warning`, `::notice`) that the runner pins to the manifest lines, and
//! the markdown report appended to the job's step summary.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::human::{describe_full_loss, field_values, fields_in_order, is_long_change};
use super::markdown::reported_diagnostics;
use crate::diagnostics::{Diagnostic, Severity};
use crate::plan::classify::{Action, Change, Plan};

/// The environment variable naming the step-summary file.
pub const STEP_SUMMARY_VARIABLE: &str = "GITHUB_STEP_SUMMARY";

/// An annotation's level, most urgent first (the runner shows only the
/// first few of each level, so errors come first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// One annotation before it is written as a workflow command.
struct Annotation {
    level: Level,
    file: Option<String>,
    line: Option<u64>,
    column: Option<u64>,
    title: String,
    message: String,
}

impl Annotation {
    fn command(&self) -> String {
        let mut properties = Vec::new();
        if let Some(file) = &self.file {
            properties.push(format!("file={}", escape_property(file)));
            if let Some(line) = self.line {
                properties.push(format!("line={line}"));
                if let Some(column) = self.column {
                    properties.push(format!("col={column}"));
                }
            }
        }
        properties.push(format!("title={}", escape_property(&self.title)));
        format!(
            "::{} {}::{}",
            self.level.command(),
            properties.join(","),
            escape_data(&self.message)
        )
    }
}

/// GitHub Actions annotations, one workflow command a line: errors for
/// error diagnostics and refused changes (at the asset's manifest), warnings
/// for warning diagnostics, deletions and replacements, notices for drift.
/// Each plan's own diagnostics are included; notes are left out.
pub fn annotations(plans: &[(String, &Plan)], diagnostics: &[Diagnostic]) -> String {
    let mut annotations: Vec<Annotation> = reported_diagnostics(plans, diagnostics)
        .into_iter()
        .map(diagnostic_annotation)
        .collect();
    let several = plans.len() > 1;
    for (label, plan) in plans {
        for change in &plan.changes {
            if let Some(mut annotation) = change_annotation(change) {
                if several {
                    let _ = write!(annotation.message, "\ntarget: {label}");
                }
                annotations.push(annotation);
            }
        }
    }
    annotations.sort_by_key(|annotation| annotation.level);
    let mut out = String::new();
    for annotation in annotations {
        out.push_str(&annotation.command());
        out.push('\n');
    }
    out
}

fn diagnostic_annotation(diagnostic: &Diagnostic) -> Annotation {
    let level = match diagnostic.severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
        Severity::Note => Level::Notice,
    };
    let mut message = diagnostic.summary.clone();
    if let Some(help) = &diagnostic.help {
        let _ = write!(message, "\nhelp: {help}");
    }
    Annotation {
        level,
        file: diagnostic.file.clone(),
        line: diagnostic.line,
        column: diagnostic.column,
        title: match &diagnostic.field {
            Some(field) => format!("jetsync: {field}"),
            None => "jetsync".to_string(),
        },
        message,
    }
}

fn change_annotation(change: &Change) -> Option<Annotation> {
    let address = &change.address;
    let (level, title, message) = match (&change.refused, change.action) {
        (Some(refused), action) => (
            Level::Error,
            format!("jetsync: {} of {address} refused", noun(action)),
            format!("{refused}\n{}", change.reason),
        ),
        (None, Action::Replace | Action::Delete) => {
            let loses = change
                .loses
                .as_ref()
                .map(|loss| describe_full_loss(address.kind, loss))
                .unwrap_or_else(|| "what it holds".to_string());
            let verb = if change.action == Action::Replace {
                "replaced"
            } else {
                "deleted"
            };
            (
                Level::Warning,
                format!("jetsync: {address} will be {verb}"),
                format!("loses {loses}\n{}", change.reason),
            )
        }
        (None, _) if change.reported => (
            Level::Notice,
            format!("jetsync: {address} changed outside jetsync"),
            format!(
                "{}; left as it is (driftPolicy: Report)",
                drifted_fields(change)
            ),
        ),
        (None, _) if change.drift => (
            Level::Notice,
            format!("jetsync: {address} changed outside jetsync"),
            format!("{}; apply puts it back", drifted_fields(change)),
        ),
        (None, _) => return None,
    };
    let declared_at = change.declared_at.as_ref();
    let position = declared_at.map(|at| at.position_of(annotated_field(change)));
    Some(Annotation {
        level,
        file: declared_at.map(|at| at.file.clone()),
        line: position.map(|(line, _)| line),
        column: position.map(|(_, column)| column),
        title,
        message,
    })
}

/// The spec field a change's annotation points at: the first field that
/// forces the replacement, else the first that differs (`""`: the
/// document, as for an adoption).
/// The field a change's annotation points at: the first that forces
/// replacement, else the first that differs; none for an adoption.
pub(crate) fn annotated_field(change: &Change) -> &str {
    if change.action == Action::Adopt {
        return "";
    }
    change
        .diff
        .iter()
        .find(|field| field.forces_replacement)
        .or(change.diff.first())
        .map_or("", |field| field.path.as_str())
}

pub(crate) fn noun(action: Action) -> &'static str {
    match action {
        Action::Create => "creation",
        Action::Update => "update",
        Action::Replace => "replacement",
        Action::Delete => "deletion",
        Action::Adopt => "adoption",
    }
}

/// `maxAge: 7d → 30d, metadata changed`: the fields out of band, as live
/// has them against the manifest.
fn drifted_fields(change: &Change) -> String {
    let fields: Vec<String> = fields_in_order(change)
        .into_iter()
        .map(|field| {
            if is_long_change(field) {
                format!("{} changed", field.path)
            } else {
                let (live, declared) = field_values(change, field);
                format!("{}: {live} (declared {declared})", field.path)
            }
        })
        .collect();
    if fields.is_empty() {
        "changed outside jetsync".to_string()
    } else {
        format!("changed outside jetsync: {}", fields.join(", "))
    }
}

/// Escapes a workflow command's message as the runner reads it back.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (`file=`, `title=`, …).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Appends `markdown` to the step summary named by `$GITHUB_STEP_SUMMARY`;
/// false, writing nothing, when that variable is unset or empty.
pub fn write_step_summary(markdown: &str) -> std::io::Result<bool> {
    match std::env::var_os(STEP_SUMMARY_VARIABLE) {
        Some(path) if !path.is_empty() => {
            append_step_summary(Path::new(&path), markdown)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Appends `markdown` to a step-summary file, creating it if need be, and
/// ends it with a blank line so later steps' summaries start apart.
pub fn append_step_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(markdown.trim_end_matches('\n').as_bytes())?;
    file.write_all(b"\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_escape_percent_and_line_breaks() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
    }

    #[test]
    fn properties_also_escape_colons_and_commas() {
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
