//! The plan as a pull-request comment, as tfcmt writes them: a status line
//! first, what is destroyed and what is refused called out before anything
//! else, the changes grouped by action, each asset's field diffs folded in
//! `<details>`, diagnostics last — and short enough for GitHub.

use std::fmt::Write;

use super::human::{
    declared_fields, describe_full_loss, field_values, fields_in_order, is_long_change,
    value_line_diff,
};
use crate::diagnostics::{Diagnostic, Severity};
use crate::plan::classify::{Action, Change, FieldChange, Plan};

/// GitHub refuses comments over 65,536 characters; this leaves room for
/// whatever a workflow adds around the body.
pub const COMMENT_BUDGET: usize = 60_000;

/// Renders the plans of every target (`(target label, plan)`) and the
/// diagnostics found outside them as one PR-comment body of at most
/// [`COMMENT_BUDGET`] bytes. Each plan's own diagnostics are included.
pub fn render_markdown(plans: &[(String, &Plan)], diagnostics: &[Diagnostic]) -> String {
    render_markdown_within(plans, diagnostics, COMMENT_BUDGET)
}

/// [`render_markdown`] with another size budget in bytes (GitHub's step
/// summary, for one, takes up to 1 MiB). Over budget, the longest diffs are
/// folded first; only when even every diff folded is too long are the lists
/// shortened (and then as many diffs shown as still fit). The body says so.
pub fn render_markdown_within(
    plans: &[(String, &Plan)],
    diagnostics: &[Diagnostic],
    budget: usize,
) -> String {
    let comment = Comment::new(plans, diagnostics);
    let unfolded = Layout {
        folded: vec![false; comment.details.len()],
        placeholders: true,
        list_cap: None,
    };
    let body = comment.render(&unfolded);
    if body.len() <= budget {
        return body;
    }
    let mut longest_first: Vec<usize> = (0..comment.details.len()).collect();
    // Among diffs of one length, the last are folded first.
    longest_first
        .sort_by_key(|&index| std::cmp::Reverse((comment.details[index].full.len(), index)));

    let caps = [
        None,
        Some(100),
        Some(50),
        Some(20),
        Some(10),
        Some(5),
        Some(1),
        Some(0),
    ];
    for list_cap in caps {
        for placeholders in [true, false] {
            // Everything folded is the least this layout can be.
            let mut layout = Layout {
                folded: vec![true; comment.details.len()],
                placeholders,
                list_cap,
            };
            let least = comment.render(&layout).len();
            if least > budget {
                continue;
            }
            // Unfold all, then fold the longest until the estimate fits.
            let shown_when_folded = |index: usize| {
                if placeholders {
                    comment.details[index].placeholder.len()
                } else {
                    0
                }
            };
            let mut length = least;
            for index in 0..comment.details.len() {
                length += comment.details[index].full.len() - shown_when_folded(index);
                layout.folded[index] = false;
            }
            let mut next = longest_first.iter();
            while length > budget {
                let Some(&index) = next.next() else { break };
                length -= comment.details[index].full.len() - shown_when_folded(index);
                layout.folded[index] = true;
            }
            // The estimate leaves out headings that come and go; fold on
            // until the real thing fits.
            loop {
                let body = comment.render(&layout);
                if body.len() <= budget {
                    return body;
                }
                let Some(&index) = next.next() else { break };
                layout.folded[index] = true;
            }
        }
    }
    let mut body = comment.render(&Layout {
        folded: vec![true; comment.details.len()],
        placeholders: false,
        list_cap: Some(0),
    });
    let tail = "\n\n…cut to fit GitHub's comment limit; run `jetsync plan` for all.\n";
    let mut end = budget.saturating_sub(tail.len());
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body.truncate(end);
    body.push_str(tail);
    body
}

/// What is shown in full and what is folded.
struct Layout {
    /// Per detail: replaced by its one-line placeholder.
    folded: Vec<bool>,
    /// Show a one-line placeholder for each folded detail.
    placeholders: bool,
    /// Show at most this many items of each list.
    list_cap: Option<usize>,
}

impl Layout {
    fn folded_count(&self) -> usize {
        self.folded.iter().filter(|folded| **folded).count()
    }
}

/// One asset's field diffs, in full and folded.
struct Detail {
    full: String,
    placeholder: String,
}

/// One target's part of the comment.
struct TargetSection {
    label: String,
    unchanged: usize,
    changes: usize,
    groups: Vec<(&'static str, Vec<String>)>,
    /// Indices into [`Comment::details`].
    details: std::ops::Range<usize>,
}

/// Every piece of the comment, rendered once; [`Comment::render`] lays them
/// out under a [`Layout`].
struct Comment {
    status: String,
    facts: String,
    destroyed: Vec<String>,
    refused: Vec<String>,
    targets: Vec<TargetSection>,
    details: Vec<Detail>,
    diagnostics: Vec<String>,
}

impl Comment {
    fn new(plans: &[(String, &Plan)], diagnostics: &[Diagnostic]) -> Self {
        let several = plans.len() > 1;
        let on_target = |label: &str| {
            if several {
                format!(" on {}", code(label))
            } else {
                String::new()
            }
        };
        let all_diagnostics = reported_diagnostics(plans, diagnostics);
        let errors = all_diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = all_diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count();

        let mut totals = Totals::default();
        let mut destroyed = Vec::new();
        let mut refused = Vec::new();
        let mut targets = Vec::new();
        let mut details = Vec::new();
        for (label, plan) in plans {
            totals.add(plan);
            for change in &plan.changes {
                let destructive = matches!(change.action, Action::Replace | Action::Delete);
                match &change.refused {
                    None if destructive => destroyed.push(format!(
                        "**{}** {}{}: loses {}",
                        verb(change.action),
                        code(&change.address.to_string()),
                        on_target(label),
                        loss(change)
                    )),
                    None => {}
                    Some(why) => {
                        let would_lose = if destructive {
                            format!(" — would lose {}", loss(change))
                        } else {
                            String::new()
                        };
                        refused.push(format!(
                            "**{}** {}{}: {}{would_lose}",
                            verb(change.action),
                            code(&change.address.to_string()),
                            on_target(label),
                            text(why)
                        ));
                    }
                }
            }
            let first = details.len();
            details.extend(plan.changes.iter().filter_map(detail));
            targets.push(TargetSection {
                label: label.clone(),
                unchanged: plan.unchanged,
                changes: plan.changes.len(),
                groups: groups(plan),
                details: first..details.len(),
            });
        }

        let icon = if errors > 0 {
            "❌"
        } else if !destroyed.is_empty() {
            "⚠️"
        } else if totals.changes > 0 {
            "📝"
        } else {
            "✅"
        };
        let mut counts = if totals.changes == 0 {
            "no changes".to_string()
        } else {
            format!(
                "{} to add, {} to change, {} to replace, {} to destroy{}",
                totals.summary.create,
                totals.summary.update + totals.summary.adopt,
                totals.summary.replace,
                totals.summary.delete,
                lost_consumers(&totals.summary)
            )
        };
        if errors > 0 {
            counts = format!("{} · {counts}", count(errors, "error", "errors"));
        }
        let mut facts = Vec::new();
        if totals.summary.refused > 0 {
            facts.push(format!("**{} refused**", totals.summary.refused));
        }
        if totals.summary.drift > 0 {
            facts.push(format!("{} changed outside jetsync", totals.summary.drift));
        }
        facts.push(format!("{} unchanged", totals.summary.unchanged));
        if warnings > 0 {
            facts.push(count(warnings, "warning", "warnings"));
        }

        Comment {
            status: format!("### {icon} jetsync plan: {counts}"),
            facts: facts.join(" · "),
            destroyed,
            refused,
            targets,
            details,
            diagnostics: all_diagnostics.into_iter().map(diagnostic_item).collect(),
        }
    }

    fn render(&self, layout: &Layout) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}\n\n{}\n", self.status, self.facts);
        let folded = layout.folded_count();
        if folded > 0 || layout.list_cap.is_some() {
            let note = match (folded, layout.list_cap) {
                (0, _) => "Lists shortened".to_string(),
                (_, None) => format!("{} folded", count(folded, "diff", "diffs")),
                (_, Some(_)) => format!(
                    "{} folded and lists shortened",
                    count(folded, "diff", "diffs")
                ),
            };
            let _ = writeln!(
                out,
                "> [!NOTE]\n> {note} to fit GitHub's comment limit; run `jetsync plan` for all.\n"
            );
        }
        if !self.destroyed.is_empty() {
            let _ = writeln!(
                out,
                "> [!WARNING]\n> **This plan destroys data.** Applying it deletes or recreates {}; what {} is lost:",
                count(self.destroyed.len(), "asset", "assets"),
                if self.destroyed.len() == 1 {
                    "it holds"
                } else {
                    "they hold"
                }
            );
            list(&mut out, "> ", &self.destroyed, layout.list_cap);
            out.push('\n');
        }
        if !self.refused.is_empty() {
            let _ = writeln!(
                out,
                "> [!CAUTION]\n> **{} refused**; `jetsync apply` skips {}:",
                count(self.refused.len(), "change", "changes"),
                if self.refused.len() == 1 {
                    "it"
                } else {
                    "them"
                }
            );
            list(&mut out, "> ", &self.refused, layout.list_cap);
            out.push('\n');
        }
        for target in &self.targets {
            let _ = writeln!(out, "**Target:** {}\n", code(&target.label));
            if target.changes == 0 {
                let _ = writeln!(
                    out,
                    "No changes: {} as declared.\n",
                    count(target.unchanged, "asset is", "assets are")
                );
            }
            for (title, items) in &target.groups {
                let _ = writeln!(out, "**{title}** ({})", items.len());
                list(&mut out, "", items, layout.list_cap);
                out.push('\n');
            }
            let shown: Vec<usize> = target
                .details
                .clone()
                .filter(|&index| !layout.folded[index] || layout.placeholders)
                .collect();
            if !shown.is_empty() {
                out.push_str("**Field changes**\n\n");
            }
            for index in shown {
                let detail = &self.details[index];
                if layout.folded[index] {
                    out.push_str(&detail.placeholder);
                } else {
                    out.push_str(&detail.full);
                }
                out.push('\n');
            }
        }
        if !self.diagnostics.is_empty() {
            out.push_str("**Diagnostics**\n");
            list(&mut out, "", &self.diagnostics, layout.list_cap);
        }
        while out.ends_with("\n\n") {
            out.pop();
        }
        out
    }
}

/// ` · N consumer(s) go with their streams (…)`, or nothing.
fn lost_consumers(summary: &crate::plan::classify::Summary) -> String {
    let note = super::human::consumers_lost_note(summary);
    if note.is_empty() {
        note
    } else {
        format!(" ·{}", note.trim_end_matches('.'))
    }
}

/// Counts over every target, as in the human footer.
#[derive(Default)]
struct Totals {
    /// Changes listed, refused and reported ones included.
    changes: usize,
    /// Every count of the plans' summaries, summed.
    summary: crate::plan::classify::Summary,
}

impl Totals {
    fn add(&mut self, plan: &Plan) {
        self.changes += plan.changes.len();
        self.summary += plan.summary();
    }
}

/// The diagnostics to report: those given and each plan's own, without
/// repeats, errors first, then warnings (notes, such as skipped documents,
/// are not news in a review).
pub(crate) fn reported_diagnostics<'a>(
    plans: &[(String, &'a Plan)],
    diagnostics: &'a [Diagnostic],
) -> Vec<&'a Diagnostic> {
    let mut seen = std::collections::BTreeSet::new();
    let mut reported: Vec<&Diagnostic> = diagnostics
        .iter()
        .chain(plans.iter().flat_map(|(_, plan)| plan.diagnostics.iter()))
        .filter(|diagnostic| diagnostic.severity != Severity::Note)
        .filter(|diagnostic| {
            seen.insert((
                diagnostic.severity,
                diagnostic.summary.as_str(),
                diagnostic.file.as_deref(),
                diagnostic.line,
                diagnostic.column,
                diagnostic.field.as_deref(),
            ))
        })
        .collect();
    reported.sort_by_key(|diagnostic| diagnostic.severity);
    reported
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::Adopt => "adopt",
    }
}

fn mark(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Update | Action::Adopt => "~",
        Action::Replace => "-/+",
        Action::Delete => "-",
    }
}

fn loss(change: &Change) -> String {
    match &change.loses {
        Some(loss) => text(&describe_full_loss(change.address.kind, loss)),
        None => "what it holds".to_string(),
    }
}

/// The grouped lists: creates, updates, replaces, deletes, adoptions, then
/// drift apart, each item with its reason.
fn groups(plan: &Plan) -> Vec<(&'static str, Vec<String>)> {
    let pending = |action: Action| {
        plan.changes
            .iter()
            .filter(|change| !change.drift && change.action == action)
            .map(list_item)
            .collect::<Vec<_>>()
    };
    let drifted = |reported: bool| {
        plan.changes
            .iter()
            .filter(|change| change.drift && change.reported == reported)
            .map(list_item)
            .collect::<Vec<_>>()
    };
    [
        ("+ Create", pending(Action::Create)),
        ("~ Update in place", pending(Action::Update)),
        ("-/+ Replace", pending(Action::Replace)),
        ("- Delete", pending(Action::Delete)),
        ("~ Adopt", pending(Action::Adopt)),
        (
            "Drift: changed outside jetsync, apply puts it back",
            drifted(false),
        ),
        (
            "Drift reported: changed outside jetsync, left as it is (driftPolicy: Report)",
            drifted(true),
        ),
    ]
    .into_iter()
    .filter(|(_, items)| !items.is_empty())
    .collect()
}

fn list_item(change: &Change) -> String {
    let mut item = format!(
        "{} — {}",
        code(&change.address.to_string()),
        text(&change.reason)
    );
    if matches!(change.action, Action::Update | Action::Adopt) && !change.diff.is_empty() {
        let fields: Vec<String> = change.diff.iter().map(|field| code(&field.path)).collect();
        let _ = write!(item, "; fields: {}", fields.join(", "));
    }
    if change.drift && change.action != Action::Update {
        let _ = write!(item, " ({})", verb(change.action));
    }
    if change.refused.is_some() {
        item.push_str(" — ⛔ **refused**");
    }
    item
}

/// The `<details>` block of one asset's field diffs, if it has any.
fn detail(change: &Change) -> Option<Detail> {
    let mut lines: Vec<String> = Vec::new();
    if change.action == Action::Create {
        for (field, value) in declared_fields(change) {
            lines.push(one_line(&format!("+ {field}: {value}")));
        }
    } else {
        for field in fields_in_order(change) {
            field_lines(&mut lines, change, field);
        }
    }
    if lines.is_empty() {
        return None;
    }
    let address = change.address.to_string();
    let what = if change.action == Action::Create {
        count(lines.len(), "field", "fields")
    } else {
        let forcing = change
            .diff
            .iter()
            .filter(|field| field.forces_replacement)
            .count();
        let mut what = count(change.diff.len(), "field", "fields");
        if forcing > 0 {
            let _ = write!(what, ", {forcing} forcing replacement");
        }
        what
    };
    let action = if change.drift {
        "drift"
    } else {
        verb(change.action)
    };
    let body = lines.join("\n");
    let fence = "`".repeat(longest_run(&body, '`').max(2) + 1);
    let full = format!(
        "<details><summary><code>{} {}</code> {action}: {what}</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n",
        mark(change.action),
        html(&address),
    );
    let placeholder = format!(
        "- {} {action}: {what}, diff folded ({})\n",
        code(&address),
        count(lines.len(), "line", "lines")
    );
    Some(Detail { full, placeholder })
}

/// A field as diff lines: `- path: before` / `+ path: after`, or for long
/// values the line diff of their JSON under the field name.
fn field_lines(lines: &mut Vec<String>, change: &Change, field: &FieldChange) {
    let note = if field.forces_replacement {
        "  # forces replacement"
    } else {
        ""
    };
    if !is_long_change(field) {
        let (before, after) = field_values(change, field);
        lines.push(one_line(&format!("- {}: {before}", field.path)));
        lines.push(one_line(&format!("+ {}: {after}{note}", field.path)));
        return;
    }
    lines.push(format!("  {}:{note}", field.path));
    for (sign, line) in value_line_diff(&field.before, &field.after) {
        lines.push(format!("{sign}   {line}"));
    }
}

fn diagnostic_item(diagnostic: &Diagnostic) -> String {
    let severity = match diagnostic.severity {
        Severity::Error => "❌ **error**",
        Severity::Warning => "⚠️ **warning**",
        Severity::Note => "note",
    };
    let mut item = severity.to_string();
    if let Some(location) = diagnostic.location() {
        let _ = write!(item, " {}", code(&location));
    }
    if let Some(field) = &diagnostic.field {
        let _ = write!(item, " {}", code(field));
    }
    let _ = write!(item, ": {}", text(&diagnostic.summary));
    if let Some(help) = &diagnostic.help {
        let _ = write!(item, " — help: {}", text(help));
    }
    item
}

/// Writes list items under `prefix` (`> ` inside an alert), at most `cap`
/// of them and a count of the rest.
fn list(out: &mut String, prefix: &str, items: &[String], cap: Option<usize>) {
    let shown = cap.unwrap_or(items.len()).min(items.len());
    for item in &items[..shown] {
        let _ = writeln!(out, "{prefix}- {item}");
    }
    if shown < items.len() {
        let _ = writeln!(out, "{prefix}- … and {} more", items.len() - shown);
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

fn longest_run(text: &str, wanted: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == wanted { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// An inline code span holding `content` literally, whatever backticks it
/// has: the fence is longer than any run inside.
pub fn code(content: &str) -> String {
    let content = one_line(content);
    if content.is_empty() {
        return "` `".to_string();
    }
    let fence = "`".repeat(longest_run(&content, '`') + 1);
    let pad = if content.starts_with('`') || content.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{content}{pad}{fence}")
}

/// Plain text made inert: Markdown punctuation escaped, HTML defused, one line.
pub fn escape(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    for c in content.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' | '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// jetsync's own messages quote names in backticks: those parts become code
/// spans, the rest is escaped. An unpaired backtick is shown as one.
pub fn text(content: &str) -> String {
    let parts: Vec<&str> = content.split('`').collect();
    let paired = parts.len() % 2 == 1;
    let mut out = String::with_capacity(content.len());
    for (index, part) in parts.iter().enumerate() {
        let quoted = index % 2 == 1;
        if quoted && !(paired || index + 1 < parts.len()) {
            out.push_str("\\`");
            out.push_str(&escape(part));
        } else if quoted {
            out.push_str(&code(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

/// Text inside an HTML element such as `<summary>`.
fn html(content: &str) -> String {
    one_line(content)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_outlast_the_backticks_inside() {
        assert_eq!(code("ORDERS"), "`ORDERS`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }

    #[test]
    fn quoted_names_in_messages_become_code_and_the_rest_is_escaped() {
        assert_eq!(
            text("managed by `team|a` and <b>no</b> longer declared"),
            "managed by `team|a` and &lt;b&gt;no&lt;/b&gt; longer declared"
        );
        assert_eq!(text("one ` unpaired"), "one \\` unpaired");
    }
}
