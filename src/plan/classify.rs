//! Classifying every asset, desired or live, into the action that brings
//! the server to the declared state — with the fields that differ, whether
//! the change is pending or corrects drift, and whether it is allowed.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::capabilities::{self, ServerVersion};
use super::desired::DesiredAsset;
use super::fields::spec_field;
use super::model::{Address, AssetKind, DeclaredAt, Holdings, LiveAsset};
use super::mutability::{self, Mutability};
use super::normalise::comparable;
use super::ownership;
use crate::diagnostics::{Diagnostic, Severity};

/// What applying the plan does to one asset.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    Adopt,
}

impl Action {
    /// Terraform-style action list: a replacement is `["delete", "create"]`.
    pub fn terraform_actions(self) -> Vec<&'static str> {
        match self {
            Action::Create => vec!["create"],
            Action::Update | Action::Adopt => vec!["update"],
            Action::Replace => vec!["delete", "create"],
            Action::Delete => vec!["delete"],
        }
    }
}

/// How the plan was asked for.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// Whose assets these are: the `jetsync.dev/owner` marker written and matched.
    pub owner: String,
    /// Delete managed assets that are no longer declared.
    pub prune: bool,
    /// Take over existing assets not managed by this owner.
    pub adopt: bool,
    /// Replace assets whose change cannot be made in place.
    pub allow_replace: bool,
    /// The connected server's version.
    pub server: ServerVersion,
    /// When set, only these addresses are planned (and pruned).
    pub targets: Option<BTreeSet<Address>>,
}

/// One field that differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// The spec field name users write, e.g. `maxAge`.
    pub path: String,
    /// The JetStream config field, e.g. `max_age`.
    pub json_field: String,
    pub before: Value,
    pub after: Value,
    pub forces_replacement: bool,
    /// Why the field forces replacement, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The planned action for one asset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// Why this action, in words.
    #[serde(rename = "action_reason")]
    pub reason: String,
    /// True when the live asset was changed outside jetsync since jetsync
    /// last applied it: this change corrects drift.
    pub drift: bool,
    /// Why the change will not be made without a flag, when it will not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The live config, comparable form.
    pub before: Option<Value>,
    /// The declared config, comparable form.
    pub after: Option<Value>,
    pub diff: Vec<FieldChange>,
    /// What a delete or replacement destroys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loses: Option<Holdings>,
    /// The config to send (with ownership markers), for create, update,
    /// replace and adopt: a saved plan applies exactly this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_at: Option<DeclaredAt>,
}

impl Change {
    /// True when applying will make this change.
    pub fn allowed(&self) -> bool {
        self.refused.is_none()
    }
}

/// Counts per action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub adopt: usize,
    pub drift: usize,
    pub refused: usize,
    pub unchanged: usize,
}

/// Everything that differs between the declared and the live state.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// Every asset that changes, in apply order.
    pub changes: Vec<Change>,
    /// Assets already as declared.
    pub unchanged: usize,
    /// Errors and warnings found while planning (e.g. a field the server is
    /// too old for, a consumer on a stream that exists nowhere).
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
}

impl Plan {
    /// Counts per action.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            unchanged: self.unchanged,
            ..Summary::default()
        };
        for change in &self.changes {
            match change.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Replace => summary.replace += 1,
                Action::Delete => summary.delete += 1,
                Action::Adopt => summary.adopt += 1,
            }
            summary.drift += usize::from(change.drift);
            summary.refused += usize::from(!change.allowed());
        }
        summary
    }

    /// True when there is anything to do (or refused).
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// True when planning found errors: nothing may be written.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The order assets are written in: streams, then KV and object stores,
/// then consumers; deletes in reverse, after everything else.
pub fn apply_rank(change: &Change) -> (u8, u8) {
    let kind = match change.address.kind {
        AssetKind::Stream => 0,
        AssetKind::KeyValue | AssetKind::ObjectStore => 1,
        AssetKind::Consumer => 2,
    };
    match change.action {
        Action::Delete => (1, 2 - kind),
        _ => (0, kind),
    }
}

/// Plans `desired` against `live`.
pub fn plan(desired: &[DesiredAsset], live: &[LiveAsset], options: &PlanOptions) -> Plan {
    let live_by_address: BTreeMap<&Address, &LiveAsset> =
        live.iter().map(|asset| (&asset.address, asset)).collect();
    let desired_by_address: BTreeMap<&Address, &DesiredAsset> = desired
        .iter()
        .map(|asset| (&asset.address, asset))
        .collect();
    let in_scope = |address: &Address| {
        options
            .targets
            .as_ref()
            .is_none_or(|targets| targets.contains(address))
    };
    let mut plan = Plan::default();

    // Streams first, so consumers can see whether their stream is replaced.
    let streams: Vec<&DesiredAsset> = desired
        .iter()
        .filter(|a| a.address.kind.is_stream_like())
        .filter(|a| in_scope(&a.address) && supported(a, options, &mut plan))
        .collect();
    let changes = in_parallel(&streams, |asset| {
        let live = live_by_address.get(&asset.address).copied();
        classify(asset, live, None, options)
    });
    let mut replaced_streams = BTreeMap::new();
    for (asset, change) in streams.iter().zip(changes) {
        match change {
            Some(change) => {
                if change.action == Action::Replace {
                    replaced_streams.insert(asset.address.stream_name(), change.allowed());
                }
                plan.changes.push(change);
            }
            None => plan.unchanged += 1,
        }
    }

    // Consumers: (asset, its stream's consumer limits, whether its stream's
    // replacement is allowed when the stream is replaced).
    type Consumer<'a> = (&'a DesiredAsset, Option<Cow<'a, Value>>, Option<bool>);
    let mut consumers: Vec<Consumer<'_>> = Vec::new();
    for asset in desired
        .iter()
        .filter(|a| a.address.kind == AssetKind::Consumer)
    {
        if !in_scope(&asset.address) || !supported(asset, options, &mut plan) {
            continue;
        }
        let stream = asset.address.name.as_str();
        let stream_address = Address::from_stream_name(stream);
        // The declared stream's config, else the live one's (parsed here).
        let stream_config = desired_by_address
            .get(&stream_address)
            .map(|d| Cow::Borrowed(&d.config))
            .or_else(|| {
                live_by_address
                    .get(&stream_address)
                    .map(|s| Cow::Owned(s.config.value()))
            });
        let Some(stream_config) = stream_config else {
            plan.diagnostics.push(at(
                Diagnostic::error(format!(
                    "consumer `{}` reads stream `{stream}`, which is neither declared nor on the server",
                    asset.address.consumer.as_deref().unwrap_or_default()
                ))
                .with_help("declare the stream, or fix spec.streamName")
                .with_field("spec.streamName"),
                &asset.declared_at,
            ));
            continue;
        };
        let limits = match stream_config {
            Cow::Borrowed(config) => config.get("consumer_limits").map(Cow::Borrowed),
            Cow::Owned(config) => config.get("consumer_limits").cloned().map(Cow::Owned),
        };
        consumers.push((asset, limits, replaced_streams.get(stream).copied()));
    }
    let changes = in_parallel(&consumers, |(asset, limits, stream_replaced)| {
        let (asset, limits, stream_replaced) = (*asset, limits.as_deref(), *stream_replaced);
        let live_consumer = live_by_address.get(&asset.address).copied();
        match (stream_replaced, live_consumer) {
            (Some(stream_allowed), Some(live_consumer)) => Some(recreated_with_stream(
                asset,
                live_consumer,
                stream_allowed,
                options,
            )),
            _ => classify(asset, live_consumer, limits, options),
        }
    });
    for change in changes {
        match change {
            Some(change) => plan.changes.push(change),
            None => plan.unchanged += 1,
        }
    }

    for asset in live {
        if desired_by_address.contains_key(&asset.address) || !in_scope(&asset.address) {
            continue;
        }
        if ownership::live_owner(&asset.config).as_deref() != Some(options.owner.as_str()) {
            continue;
        }
        if asset.address.kind == AssetKind::Consumer {
            let stream = Address::from_stream_name(&asset.address.name);
            let stream_goes = !desired_by_address.contains_key(&stream)
                && live_by_address.get(&stream).is_some_and(|s| {
                    ownership::live_owner(&s.config).as_deref() == Some(options.owner.as_str())
                });
            if stream_goes || replaced_streams.contains_key(&asset.address.name) {
                continue; // deleted with its stream
            }
        }
        let limits = None;
        plan.changes.push(Change {
            address: asset.address.clone(),
            action: Action::Delete,
            reason: format!("managed by `{}` and no longer declared", options.owner),
            drift: false,
            refused: (!options.prune)
                .then(|| "deleting undeclared assets needs --prune".to_string()),
            before: Some(comparable(
                asset.address.kind,
                &asset.config.value(),
                limits,
            )),
            after: None,
            diff: Vec::new(),
            loses: Some(asset.holdings),
            config: None,
            declared_at: None,
        });
    }

    for change in &mut plan.changes {
        refuse_move_and_scale(change);
    }
    plan.changes.sort_by(|a, b| {
        apply_rank(a)
            .cmp(&apply_rank(b))
            .then_with(|| a.address.cmp(&b.address))
    });
    plan
}

/// nats-server refuses to change a stream's replicas and its placement in
/// one update (10123, "can not move and scale a stream in a single update"):
/// such an update is refused in the plan, before anything is written,
/// rather than failed by the server.
fn refuse_move_and_scale(change: &mut Change) {
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

/// Below this many assets one thread classifies them all.
const PARALLEL_ASSETS: usize = 1024;

/// `classify` of every item, in order; long lists on one thread per CPU
/// (normalising and comparing thousands of configs is most of a plan's own
/// work once the manifests are read).
fn in_parallel<T: Sync, R: Send>(items: &[T], classify: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || items.len() < PARALLEL_ASSETS {
        return items.iter().map(&classify).collect();
    }
    let chunks: Vec<&[T]> = items.chunks(items.len().div_ceil(threads)).collect();
    crate::parallel::over_chunks(&chunks, "jetsync-plan", None, |chunk| {
        chunk.iter().map(&classify).collect::<Vec<R>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// The diagnostic at its field in the asset's manifest.
fn at(diagnostic: Diagnostic, declared_at: &DeclaredAt) -> Diagnostic {
    declared_at.point(diagnostic)
}

/// Fields the server is too old for are errors naming the field and the
/// version; such an asset is left out of the plan.
fn supported(asset: &DesiredAsset, options: &PlanOptions, plan: &mut Plan) -> bool {
    let unsupported =
        capabilities::unsupported_fields(asset.address.kind, &asset.config, &options.server);
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

/// The change for one declared asset, or None when it is as declared.
fn classify(
    asset: &DesiredAsset,
    live: Option<&LiveAsset>,
    stream_limits: Option<&Value>,
    options: &PlanOptions,
) -> Option<Change> {
    let kind = asset.address.kind;
    let after = comparable(kind, &asset.config, stream_limits);
    // The config to send, with its markers: only for an asset that changes.
    let to_send = |after: &Value| {
        let hash = ownership::config_hash(after);
        ownership::with_markers(&asset.config, &options.owner, &hash)
    };
    let Some(live) = live else {
        let config = to_send(&after);
        return Some(Change {
            address: asset.address.clone(),
            action: Action::Create,
            reason: "declared, not on the server".into(),
            drift: false,
            refused: None,
            before: None,
            after: Some(after),
            diff: Vec::new(),
            loses: None,
            config: Some(config),
            declared_at: Some(asset.declared_at.clone()),
        });
    };
    let live_config = live.config.value();
    let before = comparable(kind, &live_config, stream_limits);
    let mut diff = field_changes(kind, &before, &after, &options.server);
    if kind == AssetKind::Consumer {
        diff.extend(pause_change(&asset.config, &live_config));
    }
    let owner = ownership::owner_of(&live_config);
    let managed = owner == Some(options.owner.as_str());
    if managed && diff.is_empty() {
        return None;
    }
    let replace = diff.iter().any(|field| field.forces_replacement);
    let may_replace = options.allow_replace || asset.allow_replace;
    let drift = managed
        && ownership::applied_of(&live_config)
            .is_some_and(|applied| applied != ownership::config_hash(&before));
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
        refused,
        before: Some(before),
        after: Some(after),
        diff,
        loses: replace.then_some(live.holdings),
        config: Some(config),
        declared_at: Some(asset.declared_at.clone()),
    })
}

/// A declared consumer whose stream is replaced is recreated with it.
fn recreated_with_stream(
    asset: &DesiredAsset,
    live: &LiveAsset,
    stream_allowed: bool,
    options: &PlanOptions,
) -> Change {
    let after = comparable(AssetKind::Consumer, &asset.config, None);
    let hash = ownership::config_hash(&after);
    Change {
        address: asset.address.clone(),
        action: Action::Replace,
        reason: format!("its stream `{}` is replaced", asset.address.name),
        drift: false,
        refused: (!stream_allowed).then(|| "its stream's replacement is refused".to_string()),
        before: Some(comparable(AssetKind::Consumer, &live.config.value(), None)),
        after: Some(after),
        diff: Vec::new(),
        loses: Some(live.holdings),
        config: Some(ownership::with_markers(
            &asset.config,
            &options.owner,
            &hash,
        )),
        declared_at: Some(asset.declared_at.clone()),
    }
}

fn field_changes(
    kind: AssetKind,
    before: &Value,
    after: &Value,
    server: &ServerVersion,
) -> Vec<FieldChange> {
    super::normalise::differences(after, before)
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
