//! What the account's JetStream limits would refuse, found before anything
//! is written.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::plan::wire::model::{StorageType, StreamConfig};

use crate::diagnostics::{Diagnostic, Severity};
use crate::nats::AccountUsage;
use crate::plan::LiveAsset;
use crate::plan::classify::{Action, Change, Plan};

/// Refuses a plan whose creates would go past the account's JetStream
/// limits, which `$JS.API.INFO` reports up front: streams, file and memory
/// storage reserved by `max_bytes`, and consumers per stream (the account's
/// and the stream's own `max_consumers`). The server would refuse the
/// creates beyond them (10027, 10047, 10028, 10026) and the apply would stop
/// part way, so the plan is an error at the first create past the limit and
/// nothing is written. Creates run before deletes, so deletes free nothing
/// for them.
pub fn refuse_past_account_limits(plan: &mut Plan, live: &[LiveAsset], usage: &AccountUsage) {
    let created: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|change| {
            change.allowed() && matches!(change.action, Action::Create) && change.config.is_some()
        })
        .collect();
    let streams: Vec<(&Change, StreamConfig)> = created
        .iter()
        .filter(|change| change.address.kind.is_stream_like())
        .filter_map(|change| {
            Some((
                *change,
                StreamConfig::deserialize(change.config.as_ref()?).ok()?,
            ))
        })
        .collect();
    // Each problem, with the create it first fails at and that create's field.
    let mut problems: Vec<(String, Option<(&Change, &str)>)> = Vec::new();
    if let Some(max) = usage.max_streams {
        let free = max.saturating_sub(usage.streams);
        let wanted = streams.len() as u64;
        if wanted > free {
            problems.push((
                format!(
                    "this plan creates {wanted} streams (KV buckets and object stores included), \
                     but the account may hold {free} more (max_streams {max}, {} in use): \
                     nats-server would refuse the creates beyond that (10027)",
                    usage.streams
                ),
                usize::try_from(free)
                    .ok()
                    .and_then(|first| streams.get(first))
                    .map(|(change, _)| (*change, "")),
            ));
        }
    }
    for (storage, max, reserved, name, code) in [
        (
            StorageType::File,
            usage.max_storage,
            usage.reserved_storage,
            "max_file",
            10047,
        ),
        (
            StorageType::Memory,
            usage.max_memory,
            usage.reserved_memory,
            "max_mem",
            10028,
        ),
    ] {
        let Some(max) = max else { continue };
        let reserving: Vec<(&Change, u64)> = streams
            .iter()
            .filter(|(_, config)| *config.storage.as_ref().unwrap_or(&StorageType::File) == storage)
            .map(|(change, config)| {
                let bytes = config.max_bytes.unwrap_or(-1);
                let replicas = config.num_replicas.unwrap_or(1);
                (
                    *change,
                    u64::try_from(bytes).unwrap_or(0) * u64::try_from(replicas).unwrap_or(1).max(1),
                )
            })
            .collect();
        let wanted: u64 = reserving.iter().map(|(_, bytes)| bytes).sum();
        let free = max.saturating_sub(reserved);
        if wanted > free {
            let mut total = 0;
            let first = reserving.iter().find_map(|(change, bytes)| {
                total += bytes;
                (total > free).then_some((*change, "spec.maxBytes"))
            });
            problems.push((
                format!(
                    "this plan's new {} streams reserve {wanted} bytes (maxBytes × replicas), \
                     but the account has {free} of its {name} {max} bytes left: nats-server would \
                     refuse the creates beyond that ({code})",
                    storage.spelling()
                ),
                first,
            ));
        }
    }
    problems.extend(consumers_past_limits(&created, &streams, live, usage));
    for (problem, first) in problems {
        let mut diagnostic = Diagnostic::new(Severity::Error, problem).with_help(
            "raise the account's JetStream limits, or declare fewer or smaller streams and consumers",
        );
        // At the first create the server would refuse, and its field.
        if let Some((change, field)) = first {
            if !field.is_empty() {
                diagnostic = diagnostic.with_field(field);
            }
            if let Some(declared_at) = &change.declared_at {
                diagnostic = declared_at.point(diagnostic);
            }
        }
        plan.diagnostics.push(diagnostic);
    }
}

/// Consumers created on a stream beyond the account's `max_consumers` (per
/// stream) or the stream's own `max_consumers`, counting the consumers the
/// stream has (ephemeral ones included).
fn consumers_past_limits<'a>(
    created: &[&'a Change],
    streams: &[(&Change, StreamConfig)],
    live: &[LiveAsset],
    usage: &AccountUsage,
) -> Vec<(String, Option<(&'a Change, &'static str)>)> {
    let mut per_stream: BTreeMap<&str, Vec<&'a Change>> = BTreeMap::new();
    for change in created {
        if change.address.kind == crate::plan::AssetKind::Consumer {
            per_stream
                .entry(change.address.name.as_str())
                .or_default()
                .push(change);
        }
    }
    if per_stream.is_empty() {
        return Vec::new();
    }
    // The streams the consumers go on, by stream name: made by this plan, or live.
    let made: BTreeMap<String, &StreamConfig> = streams
        .iter()
        .map(|(change, config)| (change.address.stream_name(), config))
        .collect();
    let live: BTreeMap<String, &LiveAsset> = live
        .iter()
        .filter(|asset| asset.address.kind.is_stream_like())
        .map(|asset| (asset.address.stream_name(), asset))
        .collect();
    #[derive(serde::Deserialize)]
    struct Limits {
        #[serde(default)]
        max_consumers: Option<i64>,
    }
    let mut problems = Vec::new();
    for (stream, creates) in per_stream {
        let existing = live.get(stream);
        let has = existing.map_or(0, |asset| asset.holdings.consumer_count);
        let own_limit = match made.get(stream) {
            Some(config) => config.max_consumers,
            None => existing
                .and_then(|asset| asset.config.read::<Limits>())
                .and_then(|limits| limits.max_consumers),
        }
        .filter(|limit| *limit > 0)
        .map(|limit| (limit as u64, "the stream's max_consumers"));
        let account_limit = usage
            .max_consumers
            .map(|limit| (limit, "the account's max_consumers per stream"));
        let Some((max, what)) = [own_limit, account_limit]
            .into_iter()
            .flatten()
            .min_by_key(|(limit, _)| *limit)
        else {
            continue;
        };
        let free = max.saturating_sub(has);
        if creates.len() as u64 > free {
            problems.push((
                format!(
                    "this plan creates {} consumers on stream `{stream}`, which has {has} of \
                     {what} {max}: nats-server would refuse the creates beyond that (10026)",
                    creates.len()
                ),
                usize::try_from(free)
                    .ok()
                    .and_then(|first| creates.get(first))
                    .map(|change| (*change, "")),
            ));
        }
    }
    problems
}
