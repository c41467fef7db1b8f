//! Classifying one declared asset against its live counterpart: create,
//! update, replace, adopt, drift or nothing, with the fields that differ and
//! whether each forces a replacement.

use serde_json::Value;

use super::{Action, Change, FieldChange, PlanOptions};
use crate::plan::capabilities::ServerVersion;
use crate::plan::desired::DesiredAsset;
use crate::plan::fields::spec_field;
use crate::plan::model::{AssetKind, LiveAsset, Loss};
use crate::plan::mutability::{self, Mutability};
use crate::plan::normalise;
use crate::plan::wire::model::{AssetConfig, ConsumerLimits};
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
    stream_limits: Option<&ConsumerLimits>,
    options: &PlanOptions,
) -> Option<Change> {
    let change = classify_managed(asset, live, stream_limits, options)?;
    Some(match asset.management_policy {
        ManagementPolicy::Full => change,
        ManagementPolicy::Observe => observed(change),
    })
}

/// The declared config as it is compared with `live` and sent: a KV
/// bucket's or object store's settled against the live one, the server's
/// own choices taken where the spec leaves them open, ignored fields as
/// they are live. The JSON path is taken only where a rule works on JSON.
fn declared_config(
    asset: &DesiredAsset,
    live: Option<&AssetConfig>,
    live_value: impl Fn() -> Option<Value>,
) -> AssetConfig {
    let kind = asset.address.kind;
    let typed =
        |value: &Value| normalise::typed(kind, value).unwrap_or_else(|| asset.config.clone());
    // KV buckets and object stores keep what their spec leaves open.
    let mut declared = if normalise::compared_fields(kind).is_some() {
        typed(&wire::settle(
            kind,
            &asset.config.to_value(),
            live_value().as_ref(),
        ))
    } else {
        asset.config.clone()
    };
    // What the server chooses by itself where the spec leaves it open.
    normalise::with_server_choices(kind, &mut declared, live);
    if asset.ignore_fields.is_empty() {
        return declared;
    }
    match live_value() {
        Some(live) => typed(&keep_ignored(
            kind,
            &declared.to_value(),
            &live,
            &asset.ignore_fields,
        )),
        None => declared,
    }
}

fn classify_managed(
    asset: &DesiredAsset,
    live: Option<&LiveAsset>,
    stream_limits: Option<&ConsumerLimits>,
    options: &PlanOptions,
) -> Option<Change> {
    let kind = asset.address.kind;
    let live_typed = live.and_then(|live| live.config.typed(kind));
    let live_value = || live.map(|live| live.config.value());
    let declared = declared_config(asset, live_typed.as_ref(), live_value);
    let after_typed = normalise::comparable_config(kind, declared.clone(), stream_limits);
    let (Some(live), Some(live_typed)) = (live, live_typed) else {
        if let Some(live) = live {
            return Some(unreadable(asset, live));
        }
        let after = after_typed.to_value();
        let config = ownership::config_to_send(&declared.to_value(), &after, &options.owner);
        return Some(Change {
            after: Some(after),
            config: Some(config),
            declared_at: Some(asset.declared_at.clone()),
            ..Change::new(
                asset.address.clone(),
                Action::Create,
                "declared, not on the server",
            )
        });
    };
    // What the comparison leaves out is read first.
    let pause = pause_change(&declared, &live_typed);
    let marker = |key| ownership::marker(&live_typed, key).map(str::to_string);
    let owner = marker(ownership::OWNER_KEY);
    let applied = marker(ownership::APPLIED_KEY);
    let before_typed = normalise::comparable_config(kind, live_typed, stream_limits);
    let managed = owner.as_deref() == Some(options.owner.as_str());
    // The common case, an asset as declared, is decided on the typed
    // configs; everything else is worked out on their JSON.
    if managed && pause.is_none() && before_typed == after_typed {
        return None;
    }
    let (before, after) = (before_typed.to_value(), after_typed.to_value());
    let declared = declared.to_value();
    let to_send = |after: &Value| ownership::config_to_send(&declared, after, &options.owner);
    let mut diff = field_changes(kind, &before, &after, &options.server);
    diff.extend(pause);
    let owner = owner.as_deref();
    let applied = applied.as_deref();
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
            drift: true,
            reported: true,
            before: Some(before),
            after: Some(after),
            diff,
            declared_at: Some(asset.declared_at.clone()),
            ..Change::new(
                asset.address.clone(),
                Action::Update,
                "changed outside jetsync; left as it is (driftPolicy: Report)",
            )
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
        drift,
        refused,
        before: Some(before),
        after: Some(after),
        diff,
        loses: replace.then(|| Loss::of(live.holdings)),
        config: Some(config),
        declared_at: Some(asset.declared_at.clone()),
        ..Change::new(asset.address.clone(), action, reason)
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
fn pause_change(desired: &AssetConfig, live: &AssetConfig) -> Option<FieldChange> {
    let pause = |config: &AssetConfig| match config {
        AssetConfig::Consumer(consumer) => consumer.pause_until.clone(),
        AssetConfig::Stream(_) => None,
    };
    let (desired, live) = (pause(desired), pause(live));
    let instant = |pause: &Option<String>| {
        pause
            .as_deref()
            .and_then(crate::spec::validate::rfc3339_unix_nanos)
    };
    if instant(&desired) == instant(&live) {
        return None;
    }
    Some(FieldChange {
        path: "pauseUntil".into(),
        json_field: PAUSE_FIELD.into(),
        before: live.map_or(Value::Null, Value::String),
        after: desired.map_or(Value::Null, Value::String),
        forces_replacement: false,
        reason: None,
    })
}

/// A live asset whose config holds a value of another type than nats-server
/// sends: shown, never written.
fn unreadable(asset: &DesiredAsset, live: &LiveAsset) -> Change {
    Change {
        refused: Some(
            "its live config has a field of another type than nats-server sends; \
             jetsync leaves it as it is"
                .to_string(),
        ),
        before: Some(live.config.value()),
        declared_at: Some(asset.declared_at.clone()),
        ..Change::new(
            asset.address.clone(),
            Action::Update,
            "the server reports a config jetsync cannot read",
        )
    }
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
