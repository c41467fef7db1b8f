//! The plan for people: `+ ~ -/+ -` marks, field diffs in the units users
//! write, `# forces replacement`, drift apart from pending changes, and the
//! `Plan: …` footer.

use std::fmt::Write;

use owo_colors::OwoColorize;
use serde_json::Value;

use crate::plan::classify::{Action, Change, FieldChange, Plan};
use crate::plan::fields::spec_field;
use crate::plan::{AssetKind, ConsumerFate, Holdings, Loss};
use crate::spec::units::{Duration, Size};

/// JSON fields holding nanoseconds.
const DURATION_FIELDS: [&str; 13] = [
    "max_age",
    "duplicate_window",
    "subject_delete_marker_ttl",
    "ack_wait",
    "max_expires",
    "inactive_threshold",
    "idle_heartbeat",
    "priority_timeout",
    "backoff",
    "consumer_limits",
    "ttl",
    "limit_marker_ttl",
    "heartbeat",
];

/// JSON fields holding bytes.
const SIZE_FIELDS: [&str; 2] = ["max_bytes", "max_msg_size"];

/// Values longer than this are shown as a line diff.
const LONG_VALUE: usize = 60;

struct Style {
    color: bool,
}

impl Style {
    fn mark(&self, action: Action) -> String {
        let mark = match action {
            Action::Create => "+",
            Action::Update | Action::Adopt => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        };
        if !self.color {
            return mark.to_string();
        }
        match action {
            Action::Create => mark.green().to_string(),
            Action::Update | Action::Adopt => mark.yellow().to_string(),
            Action::Replace => mark.magenta().to_string(),
            Action::Delete => mark.red().to_string(),
        }
    }

    fn warn(&self, text: &str) -> String {
        if self.color {
            text.red().to_string()
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        if self.color {
            text.bold().to_string()
        } else {
            text.to_string()
        }
    }
}

/// Renders a plan; `target` names the server it was made against.
pub fn render_plan(plan: &Plan, target: &str, color: bool) -> String {
    let style = Style { color };
    let mut out = String::new();
    let _ = writeln!(out, "Target: {target}");
    let pending: Vec<&Change> = plan.changes.iter().filter(|c| !c.drift).collect();
    let drifted: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.drift && !c.reported)
        .collect();
    let reported: Vec<&Change> = plan.changes.iter().filter(|c| c.reported).collect();
    if plan.changes.is_empty() {
        let _ = writeln!(
            out,
            "\nNo changes. {} asset(s) are as declared.",
            plan.unchanged
        );
    }
    if !pending.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Changes:"));
        for change in pending {
            render_change(&mut out, change, &style);
        }
    }
    if !drifted.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold("Drift (changed outside jetsync; apply puts it back):")
        );
        for change in drifted {
            render_change(&mut out, change, &style);
        }
    }
    if !reported.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold(
                "Drift reported (changed outside jetsync; driftPolicy: Report, apply leaves it):"
            )
        );
        for change in reported {
            render_change(&mut out, change, &style);
        }
    }
    let summary = plan.summary();
    let _ = writeln!(
        out,
        "\nPlan: {} to add, {} to change, {} to replace, {} to destroy.{}",
        summary.create,
        summary.update + summary.adopt,
        summary.replace,
        summary.delete,
        consumers_lost_note(&summary)
    );
    if summary.reported > 0 {
        let _ = writeln!(
            out,
            "{} drifted asset(s) left as they are and reported (driftPolicy: Report).",
            summary.reported
        );
    }
    if summary.refused > 0 {
        let _ = writeln!(
            out,
            "{}",
            style.warn(&format!(
                "{} change(s) refused: see `refused:` above; apply will not make them.",
                summary.refused
            ))
        );
    }
    out
}

/// ` N consumer(s) go with their streams (M not managed by jetsync).`, or
/// nothing when no consumer is lost.
pub fn consumers_lost_note(summary: &crate::plan::classify::Summary) -> String {
    match (summary.consumers_lost, summary.unmanaged_consumers_lost) {
        (0, _) => String::new(),
        (lost, 0) => format!(" {lost} consumer(s) go with their streams."),
        (lost, unmanaged) => format!(
            " {lost} consumer(s) go with their streams ({unmanaged} not managed by jetsync)."
        ),
    }
}

fn render_change(out: &mut String, change: &Change, style: &Style) {
    let action = match change.action {
        Action::Adopt => " (adopt)",
        _ => "",
    };
    let _ = writeln!(
        out,
        "  {} {}{action}  # {}",
        style.mark(change.action),
        change.address,
        change.reason
    );
    if let Some(refused) = &change.refused {
        let _ = writeln!(out, "      {} {refused}", style.warn("refused:"));
    }
    match change.action {
        Action::Create => {
            for (field, value) in declared_fields(change) {
                let _ = writeln!(out, "      {field}: {value}");
            }
        }
        _ => {
            for field in fields_in_order(change) {
                render_field(out, change, field, style);
            }
        }
    }
    if let Some(loss) = &change.loses
        && matches!(change.action, Action::Replace | Action::Delete)
    {
        let _ = writeln!(
            out,
            "      {} {}",
            style.warn("loses:"),
            describe_loss(change.address.kind, &loss.holdings)
        );
        for consumer in &loss.consumers {
            let _ = writeln!(out, "        {}", describe_lost_consumer(consumer));
        }
        if loss.unseen_consumers > 0 {
            let _ = writeln!(
                out,
                "        {} consumer(s) these credentials may not list; deleted",
                loss.unseen_consumers
            );
        }
        if loss.ephemeral_consumers > 0 {
            let _ = writeln!(
                out,
                "        {} ephemeral consumer(s) (a client's subscription's); deleted",
                loss.ephemeral_consumers
            );
        }
    }
}

/// A created asset's declared fields that differ from the server defaults,
/// as `(spec field, value)` pairs in the spec's names and units.
pub fn created_fields(kind: AssetKind, after: &Value) -> Vec<(String, String)> {
    let name = after.get("name").cloned().unwrap_or(Value::Null);
    let mut minimal = serde_json::json!({ "name": name });
    if kind == AssetKind::Consumer {
        minimal["durable_name"] = name.clone();
        minimal["ack_policy"] = serde_json::json!("explicit");
    }
    let defaults = crate::plan::normalise::comparable(kind, &minimal, None);
    let mut fields = Vec::new();
    for difference in crate::plan::normalise::differences(after, &defaults) {
        let value = match (kind, difference.field.as_str(), &difference.desired) {
            (_, _, Value::Null) => continue,
            // Buckets say `compression: true` for s2.
            (AssetKind::KeyValue | AssetKind::ObjectStore, "compression", value) => {
                (value == "s2").to_string()
            }
            (_, field, value) => display_value(field, value),
        };
        fields.push((spec_field(kind, &difference.field), value));
    }
    fields
}

fn render_field(out: &mut String, change: &Change, field: &FieldChange, style: &Style) {
    let note = if field.forces_replacement {
        format!("  {}", style.warn("# forces replacement"))
    } else {
        String::new()
    };
    if !is_long_change(field) {
        let (before, after) = field_values(change, field);
        let _ = writeln!(out, "      {}: {before} → {after}{note}", field.path);
        return;
    }
    let _ = writeln!(out, "      {}:{note}", field.path);
    for (sign, line) in value_line_diff(&field.before, &field.after) {
        let _ = writeln!(out, "        {sign} {line}");
    }
}

/// True when a field's values are too long for one `before → after` line
/// and are shown as a line diff of their JSON instead.
pub fn is_long_change(field: &FieldChange) -> bool {
    let before = display_value(&field.json_field, &field.before);
    let after = display_value(&field.json_field, &field.after);
    before.len() + after.len() > LONG_VALUE
}

/// The line diff of two values' pretty JSON: `-` removed, `+` added, ` `
/// unchanged, each with its line (no newline).
pub fn value_line_diff(before: &Value, after: &Value) -> Vec<(char, String)> {
    let old = pretty(before);
    let new = pretty(after);
    let diff = similar::TextDiff::from_lines(&old, &new);
    diff.iter_all_changes()
        .map(|change| {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            let line = change.value();
            (sign, line.strip_suffix('\n').unwrap_or(line).to_string())
        })
        .collect()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// A config value in the units users write: durations as `1h30m`, sizes as
/// `1GiB`, `-1` limits as `unlimited`.
pub fn display_value(json_field: &str, value: &Value) -> String {
    match value {
        Value::Null => "(unset)".to_string(),
        Value::Number(number) if number.as_i64() == Some(-1) => "unlimited".to_string(),
        Value::Number(number) if DURATION_FIELDS.contains(&json_field) => number
            .as_u64()
            .map(|nanos| Duration::from_nanos(nanos).to_string())
            .unwrap_or_else(|| number.to_string()),
        Value::Number(number) if SIZE_FIELDS.contains(&json_field) => number
            .as_u64()
            .map(|bytes| Size::from_bytes(bytes).to_string())
            .unwrap_or_else(|| number.to_string()),
        Value::Array(items) if DURATION_FIELDS.contains(&json_field) => {
            let parts: Vec<String> = items.iter().map(|i| display_value(json_field, i)).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// What deleting an asset destroys, with the consumers that go with a
/// stream, in one line.
pub fn describe_full_loss(kind: AssetKind, loss: &Loss) -> String {
    let mut text = describe_loss(kind, &loss.holdings);
    if loss.unseen_consumers > 0 {
        text.push_str(&format!(
            ", {} consumer(s) that could not be listed",
            loss.unseen_consumers
        ));
    }
    if loss.ephemeral_consumers > 0 {
        text.push_str(&format!(
            ", {} ephemeral consumer(s)",
            loss.ephemeral_consumers
        ));
    }
    if !loss.consumers.is_empty() {
        let consumers: Vec<String> = loss.consumers.iter().map(describe_lost_consumer).collect();
        text.push_str(&format!(
            ", and {} consumer(s): {}",
            loss.consumers.len(),
            consumers.join("; ")
        ));
    }
    text
}

/// One consumer that goes with its stream: its name, whose it is, its
/// counts and what becomes of it.
pub fn describe_lost_consumer(consumer: &crate::plan::LostConsumer) -> String {
    let whose = match &consumer.owner {
        Some(owner) => format!(" (managed by `{owner}`)"),
        None => " (not managed by jetsync)".to_string(),
    };
    let fate = match consumer.fate {
        ConsumerFate::Recreated => "recreated as declared",
        ConsumerFate::Restored => "created again with its config",
        ConsumerFate::Deleted => "deleted",
    };
    format!(
        "consumer `{}`{whose}: {} pending, {} awaiting ack; {fate}",
        consumer.name, consumer.pending, consumer.ack_pending
    )
}

/// A config value in the user's words, given the text the manifest wrote
/// for the field (if any): that text itself for the declared value (`24h`,
/// `7d`, `1GiB`), another value in the written text's unit (`168h`), else
/// [`display_value`]'s canonical form.
pub fn display_in_words(json_field: &str, value: &Value, written: Option<&str>) -> String {
    /// `written` when it means `value`, else `value` in its unit.
    fn as_written<T: std::str::FromStr + PartialEq>(
        written: &str,
        value: T,
        in_unit_of: impl Fn(&T, &str) -> Option<String>,
    ) -> Option<String> {
        match written.parse::<T>() {
            Ok(declared) if declared == value => Some(written.to_string()),
            Ok(_) => in_unit_of(&value, written),
            Err(_) => None,
        }
    }
    let in_words = || {
        let (written, number) = (written?, value.as_u64()?);
        if DURATION_FIELDS.contains(&json_field) {
            as_written(written, Duration::from_nanos(number), Duration::in_unit_of)
        } else if SIZE_FIELDS.contains(&json_field) {
            as_written(written, Size::from_bytes(number), Size::in_unit_of)
        } else {
            None
        }
    };
    in_words().unwrap_or_else(|| display_value(json_field, value))
}

/// A changed field's values (before, after) in the user's words: as the
/// asset's manifest wrote the field, when it is known.
pub fn field_values(change: &Change, field: &FieldChange) -> (String, String) {
    let written = change
        .declared_at
        .as_ref()
        .and_then(|declared_at| declared_at.written(&field.path));
    (
        display_in_words(&field.json_field, &field.before, written.as_deref()),
        display_in_words(&field.json_field, &field.after, written.as_deref()),
    )
}

/// A change's differing fields in the order every kind shows them: by
/// spec field name.
pub fn fields_in_order(change: &Change) -> Vec<&FieldChange> {
    let mut fields: Vec<&FieldChange> = change.diff.iter().collect();
    fields.sort_by(|a, b| a.path.cmp(&b.path));
    fields
}

/// The fields a create shows, `(spec field, value)` by spec field name: the
/// fields its manifest declares, as written (also those equal to the
/// server's default; none it did not write); without the manifest, the
/// fields that differ from the defaults.
pub fn declared_fields(change: &Change) -> Vec<(String, String)> {
    let Some(after) = &change.after else {
        return Vec::new();
    };
    let kind = change.address.kind;
    let declared_at = change
        .declared_at
        .as_ref()
        .filter(|declared_at| !declared_at.fields.is_empty());
    let Some(declared_at) = declared_at else {
        let mut fields = created_fields(kind, after);
        fields.sort();
        return fields;
    };
    let mut fields: std::collections::BTreeMap<String, String> = Default::default();
    for (json_field, value) in after.as_object().into_iter().flatten() {
        let spec = spec_field(kind, json_field);
        let unit = DURATION_FIELDS.contains(&json_field.as_str())
            || SIZE_FIELDS.contains(&json_field.as_str());
        if value.is_null()
            || !declared_at.fields.contains(&spec)
            || (fields.contains_key(&spec) && !unit)
        {
            continue;
        }
        let shown = match (kind, json_field.as_str()) {
            // Buckets say `compression: true` for s2.
            (AssetKind::KeyValue | AssetKind::ObjectStore, "compression") => {
                (value == "s2").to_string()
            }
            _ => display_in_words(json_field, value, declared_at.written(&spec).as_deref()),
        };
        fields.insert(spec, shown);
    }
    fields.into_iter().collect()
}

/// What deleting an asset destroys, in words.
pub fn describe_loss(kind: AssetKind, holdings: &Holdings) -> String {
    match kind {
        AssetKind::Consumer => format!(
            "delivery state: position at stream sequence {}, {} pending, {} awaiting ack",
            holdings.delivered_stream_seq, holdings.pending, holdings.ack_pending
        ),
        _ => {
            let size = Size::from_bytes(holdings.bytes).to_string();
            let unit = if size.bytes().all(|b| b.is_ascii_digit()) {
                " bytes"
            } else {
                ""
            };
            format!("{} message(s), {size}{unit}", holdings.messages)
        }
    }
}
