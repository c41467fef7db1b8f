//! Warnings about what the account's JetStream limits would refuse.

use serde_json::Value;

use crate::diagnostics::{Diagnostic, Severity};
use crate::nats::AccountUsage;
use crate::plan::classify::{Action, Change, Plan};

/// Warns when the plan's creates would go past the account's JetStream
/// limits (streams, file and memory storage reserved by `max_bytes`): the
/// server would refuse the creates beyond them (10027, 10047, 10028), so the
/// apply would stop part way. Creates run before deletes, so deletes free
/// nothing for them.
pub fn warn_account_limits(plan: &mut Plan, usage: &AccountUsage) {
    let created: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|change| {
            change.allowed()
                && change.address.kind.is_stream_like()
                && matches!(change.action, Action::Create)
                && change.config.is_some()
        })
        .collect();
    let creates: Vec<&Value> = created
        .iter()
        .filter_map(|change| change.config.as_ref())
        .collect();
    // Each warning, with the create it first fails at: the place to point.
    let mut warnings: Vec<(String, Option<(usize, &str)>)> = Vec::new();
    if let Some(max) = usage.max_streams {
        let free = max.saturating_sub(usage.streams);
        let wanted = creates.len() as u64;
        if wanted > free {
            warnings.push((
                format!(
                    "this plan creates {wanted} streams (KV buckets and object stores included), \
                     but the account may hold {free} more (max_streams {max}, {} in use): the \
                     creates beyond that would fail with 10027",
                    usage.streams
                ),
                usize::try_from(free).ok().map(|first| (first, "")),
            ));
        }
    }
    for (storage, max, reserved, name, code) in [
        (
            "file",
            usage.max_storage,
            usage.reserved_storage,
            "max_file",
            10047,
        ),
        (
            "memory",
            usage.max_memory,
            usage.reserved_memory,
            "max_mem",
            10028,
        ),
    ] {
        let Some(max) = max else { continue };
        let reserving: Vec<(usize, u64)> = creates
            .iter()
            .enumerate()
            .filter(|(_, config)| {
                config
                    .get("storage")
                    .and_then(Value::as_str)
                    .unwrap_or("file")
                    == storage
            })
            .map(|(index, config)| {
                let bytes = config
                    .get("max_bytes")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1);
                let replicas = config
                    .get("num_replicas")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                (index, u64::try_from(bytes).unwrap_or(0) * replicas.max(1))
            })
            .collect();
        let wanted: u64 = reserving.iter().map(|(_, bytes)| bytes).sum();
        let free = max.saturating_sub(reserved);
        if wanted > free {
            let mut total = 0;
            let first = reserving.iter().find_map(|(index, bytes)| {
                total += bytes;
                (total > free).then_some((*index, "spec.maxBytes"))
            });
            warnings.push((
                format!(
                    "this plan's new {storage} streams reserve {wanted} bytes (maxBytes × replicas), \
                     but the account has {free} of its {name} {max} bytes left: the creates beyond \
                     that would fail with {code}"
                ),
                first,
            ));
        }
    }
    for (warning, first) in warnings {
        let mut diagnostic = Diagnostic::new(Severity::Warning, warning)
            .with_help("raise the account's JetStream limits, or declare fewer or smaller streams");
        // At the first create the server would refuse, and its field.
        let declared_at = first.and_then(|(index, field)| {
            let change = created.get(index)?;
            Some((change.declared_at.as_ref()?, field))
        });
        if let Some((declared_at, field)) = declared_at {
            if !field.is_empty() {
                diagnostic = diagnostic.with_field(field);
            }
            diagnostic = declared_at.point(diagnostic);
        }
        plan.diagnostics.push(diagnostic);
    }
}
