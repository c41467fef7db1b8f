//! Classifying one declared asset against its live counterpart: create,
//! update, replace, adopt, drift or nothing, with the fields that differ and
//! whether each forces a replacement.

use std::borrow::Cow;

use serde_json::Value;

use super::{Action, Change, FieldChange, PlanOptions};
use crate::plan::capabilities::ServerVersion;
use crate::plan::desired::DesiredAsset;
use crate::plan::fields::spec_field;
use crate::plan::model::{AssetKind, LiveAsset, Loss};
use crate::plan::mutability::{self, Mutability};
use crate::plan::normalise::{self, comparable, comparable_owned};
use crate::plan::{ownership, wire};
use crate::spec::common::{DriftPolicy, ManagementPolicy};

/// `live`'s values of the spec fields in `ignored` written over `declared`:
/// those fields then neither differ nor change.
fn keep_ignored(kind: AssetKind, declared: &Value, live: &Value, ignored: &[String]) -> Value {
    let mut kept = declared.clone();
    let (Some(kept_fields), Some(live_fields)) = (kept.as_object_mut(), live.as_object()) else {
        return kept;
    };
    let is_ignored = |wire: &str| ignored.iter().any(|field| *field == spec_field(kind, wire));
    kept_fields.retain(|wire, _| !is_ignored(wire) || live_fields.contains_key(wire));
    for (wire, value) in live_fields {
        if is_ignored(wire) {
            kept_fields.insert(wire.clone(), value.clone());
        }
    }
    kept
}

/// Under `managementPolicy: Observe` a change is reported, never made.
fn observed(mut change: Change) -> Change {
    change.reason = format!(
        "{}; left as it is (managementPolicy: Observe)",
        change.reason
    );
    change.reported = true;
    change.refused = None;
    change.config = None;
    change
}

/// The change for one declared asset, or None when it is as declared.
pub(super) fn classify(
    asset: &DesiredAsset,
    live: Option<&LiveAsset>,
    stream_limits: Option<&Value>,
    options: &PlanOptions,
) -> Option<Change> {
    let change = classify_managed(asset, live, stream_limits, options)?;
    Some(match asset.management_policy {
        ManagementPolicy::Full => change,
        ManagementPolicy::Observe => observed(change),
    })
}

fn classify_managed(
    asset: &DesiredAsset,
    live: Option<&LiveAsset>,
    stream_limits: Option<&Value>,
    options: &PlanOptions,
) -> Option<Change> {
    let kind = asset.address.kind;
    let live_config = live.map(|live| live.config.value());
    // KV buckets and object stores keep what their spec leaves open.
    let declared = wire::settle(kind, &asset.config, live_config.as_ref());
    // What the server chooses by itself where the spec leaves it open.
    let declared = normalise::with_server_choices(kind, declared, live_config.as_ref());
    let declared = match &live_config {
        Some(live_config) if !asset.ignore_fields.is_empty() => Cow::Owned(keep_ignored(
            kind,
            &declared,
            live_config,
            &asset.ignore_fields,
        )),
        _ => declared,
    };
    let after = comparable(kind, &declared, stream_limits);
    // The config to send, with its markers: only for an asset that changes.
    let to_send = |after: &Value| ownership::config_to_send(&declared, after, &options.owner);
    let (Some(live), Some(live_config)) = (live, live_config) else {
        let config = to_send(&after);
        return Some(Change {
            address: asset.address.clone(),
            action: Action::Create,
            reason: "declared, not on the server".into(),
            drift: false,
            reported: false,
            refused: None,
            before: None,
            after: Some(after),
            diff: Vec::new(),
            loses: None,
            restore: Vec::new(),
            restore_holder: None,
            config: Some(config),
            declared_at: Some(asset.declared_at.clone()),
        });
    };
    // What the comparison leaves out is read first: then the live config
    // is taken apart into its comparable form, not copied.
    let pause = match kind {
        AssetKind::Consumer => pause_change(&declared, &live_config),
        _ => None,
    };
    let owner = ownership::owner_of(&live_config).map(str::to_string);
    let applied = ownership::applied_of(&live_config).map(str::to_string);
    let before = comparable_owned(kind, live_config, stream_limits);
    let mut diff = field_changes(kind, &before, &after, &options.server);
    diff.extend(pause);
    let owner = owner.as_deref();
    let applied = applied.as_deref();
    let managed = owner == Some(options.owner.as_str());
    if managed && diff.is_empty() {
        return None;
    }
    let replace = diff.iter().any(|field| field.forces_replacement);
    let may_replace = options.allow_replace || asset.allow_replace;
    // The server's own choices are no drift: the hash recorded at create
    // has them as left open.
    let drift =
        managed && applied.is_some_and(|applied| !ownership::is_applied(kind, applied, &before));
    // `driftPolicy: Report`: drift alone (the spec is what was last
    // applied) is shown and left as it is.
    if drift
        && asset.drift_policy == DriftPolicy::Report
        && applied.is_some_and(|applied| ownership::is_applied(kind, applied, &after))
    {
        return Some(Change {
            address: asset.address.clone(),
            action: Action::Update,
            reason: "changed outside jetsync; left as it is (driftPolicy: Report)".to_string(),
            drift: true,
            reported: true,
            refused: None,
            before: Some(before),
            after: Some(after),
            diff,
            loses: None,
            restore: Vec::new(),
            restore_holder: None,
            config: None,
            declared_at: Some(asset.declared_at.clone()),
        });
    }
    let (action, reason, mut refused) = if !managed {
        let reason = match owner {
            Some(other) => format!("exists, managed by `{other}`"),
            None => "exists, not managed by jetsync".to_string(),
        };
        let refused = (!(options.adopt || asset.adopt)).then(|| {
            "taking over an existing asset needs --adopt (or spec.adopt: true)".to_string()
        });
        (Action::Adopt, reason, refused)
    } else if replace {
        (Action::Replace, replace_reason(&diff), None)
    } else if drift {
        (Action::Update, "changed outside jetsync".to_string(), None)
    } else {
        (Action::Update, "declared config changed".to_string(), None)
    };
    if replace && refused.is_none() && !may_replace {
        refused = Some(format!(
            "{} cannot change in place; replacing needs --allow-replace (or spec.onImmutableChange: Recreate)",
            forcing_fields(&diff)
        ));
    }
    let config = to_send(&after);
    Some(Change {
        address: asset.address.clone(),
        action,
        reason,
        drift,
        reported: false,
        refused,
        before: Some(before),
        after: Some(after),
        diff,
        loses: replace.then(|| Loss::of(live.holdings)),
        restore: Vec::new(),
        restore_holder: None,
        config: Some(config),
        declared_at: Some(asset.declared_at.clone()),
    })
}

fn field_changes(
    kind: AssetKind,
    before: &Value,
    after: &Value,
    server: &ServerVersion,
) -> Vec<FieldChange> {
    normalise::differences(after, before)
        .into_iter()
        .map(|difference| {
            let mutability = mutability::change_mutability(
                kind,
                &difference.field,
                &difference.live,
                &difference.desired,
                server,
            );
            let reason = match mutability {
                Mutability::Editable => None,
                Mutability::ForcesReplacement { reason } => Some(reason),
            };
            FieldChange {
                path: spec_field(kind, &difference.field),
                json_field: difference.field,
                before: difference.live,
                after: difference.desired,
                forces_replacement: reason.is_some(),
                reason,
            }
        })
        .collect()
}

/// A consumer's pause is not part of its config comparison (an update
/// resets it; it changes through the PAUSE API): compared here by instant.
fn pause_change(desired: &Value, live: &Value) -> Option<FieldChange> {
    let instant = |config: &Value| {
        config
            .get("pause_until")
            .and_then(Value::as_str)
            .and_then(crate::spec::validate::rfc3339_unix_nanos)
    };
    if instant(desired) == instant(live) {
        return None;
    }
    let value = |config: &Value| config.get("pause_until").cloned().unwrap_or(Value::Null);
    Some(FieldChange {
        path: "pauseUntil".into(),
        json_field: PAUSE_FIELD.into(),
        before: value(live),
        after: value(desired),
        forces_replacement: false,
        reason: None,
    })
}

/// The consumer config field changed through the PAUSE API.
pub const PAUSE_FIELD: &str = "pause_until";

fn forcing_fields(diff: &[FieldChange]) -> String {
    diff.iter()
        .filter(|field| field.forces_replacement)
        .map(|field| format!("`{}`", field.path))
        .collect::<Vec<_>>()
        .join(", ")
}

fn replace_reason(diff: &[FieldChange]) -> String {
    let reasons: Vec<String> = diff
        .iter()
        .filter_map(|field| {
            field
                .reason
                .as_ref()
                .map(|reason| format!("{}: {reason}", field.path))
        })
        .collect();
    format!("forces replacement ({})", reasons.join("; "))
}
