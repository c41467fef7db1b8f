//! Checks that leave an asset out of the plan or refuse a change before
//! anything is written: suspended assets, fields the server is too old for,
//! what a standalone server cannot hold, accidental prunes, a move and a
//! scale in one update.

use std::collections::BTreeSet;

use super::{Action, Change, Plan, PlanOptions, at};
use crate::diagnostics::{Diagnostic, Severity};
use crate::plan::capabilities;
use crate::plan::desired::DesiredAsset;
use crate::plan::fields::spec_field;
use crate::plan::wire::model::AssetConfig;

/// Above this share of the owner's assets in scope, a prune needs `--prune-all`.
const PRUNE_SHARE_PERCENT: usize = 50;

/// Refuses a prune that looks like an accident: over a selection that holds
/// no document (an error: a wrong path, an empty checkout, a selector that
/// matches nothing), or one that deletes more than half of what the owner
/// manages in scope — unless `--prune-all` says so.
pub(super) fn guard_prune(
    plan: &mut Plan,
    declared: usize,
    managed: usize,
    pruned_consumers: usize,
    options: &PlanOptions,
) {
    if options.prune_all {
        return;
    }
    let deletions: Vec<usize> = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.action == Action::Delete && c.refused.is_none())
        .map(|(index, _)| index)
        .collect();
    if deletions.is_empty() {
        return;
    }
    let going = deletions.len() + pruned_consumers;
    let reason = if declared == 0 {
        plan.diagnostics.push(
            Diagnostic::error(format!(
                "--prune over a selection that holds no document would delete all {going} \
                 asset(s) `{}` manages here",
                options.owner
            ))
            .with_help(
                "check the paths, -l selectors and --target; pass --prune-all if deleting \
                 everything this owner manages is what you want",
            ),
        );
        "the selection holds no document; deleting everything this owner manages needs --prune-all"
            .to_string()
    } else if going > 1 && going * 100 > managed * PRUNE_SHARE_PERCENT {
        let reason = format!(
            "this prune deletes {going} of the {managed} assets `{}` manages here, more than \
             {PRUNE_SHARE_PERCENT}%; that needs --prune-all",
            options.owner
        );
        plan.diagnostics.push(
            Diagnostic::new(Severity::Warning, format!("deletions refused: {reason}"))
                .with_help("check the paths and selectors, or pass --prune-all"),
        );
        reason
    } else {
        return;
    };
    for index in deletions {
        plan.changes[index].refuse(|| reason.clone());
    }
}

/// Replicas above 1 and a placement cluster need a clustered server: on a
/// standalone one (nats-server refuses them with 10074 / 10005) they are
/// errors in the plan, before anything is written.
pub(super) fn fits_server(asset: &DesiredAsset, options: &PlanOptions, plan: &mut Plan) -> bool {
    if !options.standalone {
        return true;
    }
    let stream = match &asset.config {
        AssetConfig::Stream(stream) => Some(stream),
        AssetConfig::Consumer(_) => None,
    };
    let replicas = match &asset.config {
        AssetConfig::Stream(stream) => stream.num_replicas,
        AssetConfig::Consumer(consumer) => consumer.num_replicas,
    };
    let replicas = replicas.unwrap_or(1);
    let cluster = stream
        .and_then(|stream| stream.placement.as_ref())
        .and_then(|placement| placement.cluster.as_deref())
        .filter(|cluster| !cluster.is_empty());
    let mut fits = true;
    if replicas > 1 {
        fits = false;
        plan.diagnostics.push(at(
            Diagnostic::error(format!(
                "{}: replicas: {replicas} needs a JetStream cluster, and the server runs \
                 without clustering (it would refuse with 10074)",
                asset.address
            ))
            .with_help("set replicas: 1 (or leave it out) for this server, or connect to a cluster")
            .with_field("spec.replicas"),
            &asset.declared_at,
        ));
    }
    if let Some(cluster) = cluster {
        fits = false;
        plan.diagnostics.push(at(
            Diagnostic::error(format!(
                "{}: placement cluster `{cluster}` needs a JetStream cluster, and the server \
                 runs without clustering",
                asset.address
            ))
            .with_help("leave placement.cluster out for this server")
            .with_field("spec.placement.cluster"),
            &asset.declared_at,
        ));
    }
    fits
}

/// nats-server refuses to change a stream's replicas and its placement in
/// one update (10123, "can not move and scale a stream in a single update"):
/// such an update is refused in the plan, before anything is written,
/// rather than failed by the server.
pub(super) fn refuse_move_and_scale(change: &mut Change) {
    let in_place = matches!(change.action, Action::Update | Action::Adopt);
    let changes = |field: &str| change.diff.iter().any(|f| f.json_field == field);
    if in_place
        && change.refused.is_none()
        && change.address.kind.is_stream_like()
        && changes("num_replicas")
        && changes("placement")
    {
        change.refused = Some(
            "replicas and placement cannot change in the same update (nats-server refuses \
             it, 10123): change one, apply, then the other"
                .to_string(),
        );
    }
}

/// A suspended asset (`spec.suspend: true`) is left out of the plan with a
/// note; it stays declared, so it is never pruned either.
pub(super) fn not_suspended(asset: &DesiredAsset, plan: &mut Plan) -> bool {
    if asset.suspended {
        plan.diagnostics.push(at(
            Diagnostic::new(
                Severity::Note,
                format!(
                    "{}: suspended (spec.suspend: true); not planned",
                    asset.address
                ),
            )
            .with_help("set spec.suspend to false (or remove it) to reconcile it again")
            .with_field("spec.suspend"),
            &asset.declared_at,
        ));
    }
    !asset.suspended
}

/// Fields the server is too old for are errors naming the field and the
/// version; such an asset is left out of the plan.
pub(super) fn supported(asset: &DesiredAsset, options: &PlanOptions, plan: &mut Plan) -> bool {
    if capabilities::knows_every_field(&options.server) {
        return true;
    }
    let unsupported = capabilities::unsupported_fields(
        asset.address.kind,
        &asset.config.to_value(),
        &options.server,
    );
    let mut reported = BTreeSet::new();
    for field in &unsupported {
        if !reported.insert(field.message(asset.address.kind)) {
            continue; // two wire fields of one spec field (KV limitMarkerTtl)
        }
        let top = field
            .json_field
            .split(['.', '['])
            .next()
            .unwrap_or_default();
        plan.diagnostics.push(at(
            Diagnostic::new(
                Severity::Error,
                format!(
                    "{}: {} (connected: nats-server {})",
                    asset.address,
                    field.message(asset.address.kind),
                    options.server
                ),
            )
            .with_help("upgrade the server or leave the field out")
            .with_field(format!("spec.{}", spec_field(asset.address.kind, top))),
            &asset.declared_at,
        ));
    }
    unsupported.is_empty()
}
