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
use super::model::{Address, AssetKind, ConsumerFate, DeclaredAt, LiveAsset, Loss, LostConsumer};
use super::mutability::{self, Mutability};
use super::normalise::{self, comparable};
use super::ownership;
use super::restore;
use super::wire;
use crate::diagnostics::{Diagnostic, Severity};
use crate::spec::common::{DriftPolicy, ManagementPolicy, UnmanagedConsumers};

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
    /// `--prune-all`: a prune may delete everything this owner manages in
    /// scope (when the selection holds no document, or more than half of it).
    pub prune_all: bool,
    /// `--unmanaged-consumers`: what may become of other applications'
    /// durable consumers when their stream is replaced or deleted (a
    /// document's `spec.unmanagedConsumers` decides for its own stream).
    pub unmanaged_consumers: UnmanagedConsumers,
    /// The server runs without clustering: replicas above 1 and placement
    /// clusters are refused in the plan.
    pub standalone: bool,
}

impl PlanOptions {
    /// Options for `owner` against `server`, with every flag off: no
    /// prune, adopt or replacement, the whole plan, consent to nothing.
    pub fn new(owner: impl Into<String>, server: ServerVersion) -> Self {
        Self {
            owner: owner.into(),
            prune: false,
            adopt: false,
            allow_replace: false,
            server,
            targets: None,
            prune_all: false,
            unmanaged_consumers: UnmanagedConsumers::Refuse,
            standalone: false,
        }
    }
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
    /// Drift left as it is and only reported (`driftPolicy: Report`):
    /// shown, never written.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reported: bool,
    /// Why the change will not be made without a flag, when it will not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The live config, comparable form.
    pub before: Option<Value>,
    /// The declared config, comparable form.
    pub after: Option<Value>,
    pub diff: Vec<FieldChange>,
    /// What a delete or replacement destroys, with every consumer that goes
    /// with a stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loses: Option<Loss>,
    /// For a stream-like asset: the configs of other applications'
    /// consumers to create again after it (`unmanagedConsumers: Recreate`),
    /// kept in the new stream's metadata until they are (so that an
    /// interrupted apply restores them on the rerun).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restore: Vec<Value>,
    /// The holder stream that keeps `restore` from an earlier, interrupted
    /// apply: updated instead of created, deleted once they exist again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_holder: Option<String>,
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
        self.refused.is_none() && !self.reported
    }

    /// Refuses the change for `reason`, unless it is refused already.
    fn refuse(&mut self, reason: impl FnOnce() -> String) {
        if self.refused.is_none() {
            self.refused = Some(reason());
        }
    }
}

/// Counts per action. The action counts are of the changes apply makes;
/// refused changes and reported drift are counted apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub adopt: usize,
    pub drift: usize,
    pub refused: usize,
    /// Drift left as it is and reported (`driftPolicy: Report`).
    #[serde(default)]
    pub reported: usize,
    pub unchanged: usize,
    /// Consumers deleted with a stream that is replaced or deleted (by
    /// allowed changes), managed or not.
    #[serde(default)]
    pub consumers_lost: usize,
    /// Of those, the ones jetsync does not manage.
    #[serde(default)]
    pub unmanaged_consumers_lost: usize,
}

impl std::ops::AddAssign for Summary {
    fn add_assign(&mut self, other: Self) {
        self.create += other.create;
        self.update += other.update;
        self.replace += other.replace;
        self.delete += other.delete;
        self.adopt += other.adopt;
        self.drift += other.drift;
        self.refused += other.refused;
        self.reported += other.reported;
        self.unchanged += other.unchanged;
        self.consumers_lost += other.consumers_lost;
        self.unmanaged_consumers_lost += other.unmanaged_consumers_lost;
    }
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
            summary.drift += usize::from(change.drift);
            if change.reported {
                summary.reported += 1;
                continue;
            }
            if change.refused.is_some() {
                summary.refused += 1;
                continue;
            }
            match change.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Replace => summary.replace += 1,
                Action::Delete => summary.delete += 1,
                Action::Adopt => summary.adopt += 1,
            }
            for consumer in change.loses.iter().flat_map(|loss| &loss.consumers) {
                if consumer.fate == ConsumerFate::Deleted {
                    summary.consumers_lost += 1;
                    summary.unmanaged_consumers_lost += usize::from(!consumer.managed);
                }
            }
        }
        summary
    }

    /// True when there is anything to do, refused or reported.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// True when applying would write something.
    pub fn has_writes(&self) -> bool {
        self.changes.iter().any(Change::allowed)
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
    // Every live consumer by the name of its stream (`KV_x` for a bucket's).
    let mut consumers_on: BTreeMap<&str, Vec<&LiveAsset>> = BTreeMap::new();
    for asset in live
        .iter()
        .filter(|a| a.address.kind == AssetKind::Consumer)
    {
        consumers_on
            .entry(asset.address.name.as_str())
            .or_default()
            .push(asset);
    }
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
        .filter(|a| {
            in_scope(&a.address)
                && not_suspended(a, &mut plan)
                && supported(a, options, &mut plan)
                && fits_server(a, options, &mut plan)
        })
        .collect();
    let changes = in_parallel(&streams, |asset| {
        let live = live_by_address.get(&asset.address).copied();
        classify(asset, live, None, options)
    });
    let holders = restore::holders(live, &options.owner);
    for (stream, holder) in &holders {
        let declared = desired_by_address.contains_key(&Address::from_stream_name(stream));
        if !declared && in_scope(&Address::from_stream_name(stream)) {
            plan.diagnostics.push(
                Diagnostic::new(
                    Severity::Warning,
                    format!(
                        "{} keeps {} consumer(s) of stream `{stream}` to create again, but \
                         `{stream}` is not declared",
                        holder.address,
                        holder.configs.len()
                    ),
                )
                .with_help("declare the stream again, or delete the holder stream once its configs are no longer wanted"),
            );
        }
    }
    let mut replaced_streams = BTreeMap::new();
    for (asset, change) in streams.iter().zip(changes) {
        let stream = asset.address.stream_name();
        let on_stream = consumers_on
            .get(stream.as_str())
            .map_or(&[][..], Vec::as_slice);
        let mut change = change;
        if let Some(change) = change.as_mut().filter(|c| c.action == Action::Replace) {
            let policy = asset
                .unmanaged_consumers
                .unwrap_or(options.unmanaged_consumers);
            consumers_lost(change, on_stream, &desired_by_address, policy);
            replaced_streams.insert(stream.clone(), change.allowed());
        }
        if let Some(holder) = holders.get(&stream) {
            change = Some(restore::finish(asset, holder, on_stream, change, options));
        }
        match change {
            Some(change) => plan.changes.push(change),
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
        if !in_scope(&asset.address)
            || !not_suspended(asset, &mut plan)
            || !supported(asset, options, &mut plan)
            || !fits_server(asset, options, &mut plan)
        {
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

    let owned = |asset: &LiveAsset| {
        ownership::live_owner(&asset.config).as_deref() == Some(options.owner.as_str())
    };
    let mut managed_in_scope = 0;
    let mut pruned_consumers = 0;
    for asset in live {
        if !in_scope(&asset.address) || !owned(asset) || restore::is_holder(&asset.address) {
            continue;
        }
        managed_in_scope += 1;
        if desired_by_address.contains_key(&asset.address) {
            continue;
        }
        if asset.address.kind == AssetKind::Consumer {
            let stream = Address::from_stream_name(&asset.address.name);
            let stream_goes = !desired_by_address.contains_key(&stream)
                && live_by_address.get(&stream).is_some_and(|s| owned(s));
            if stream_goes {
                pruned_consumers += 1;
                continue; // deleted with its stream, listed under its loss
            }
            if replaced_streams.contains_key(&asset.address.name) {
                continue; // listed under its stream's loss
            }
        }
        let limits = None;
        let mut change = Change {
            address: asset.address.clone(),
            action: Action::Delete,
            reason: format!("managed by `{}` and no longer declared", options.owner),
            drift: false,
            reported: false,
            refused: (!options.prune)
                .then(|| "deleting undeclared assets needs --prune".to_string()),
            before: Some(comparable(
                asset.address.kind,
                &asset.config.value(),
                limits,
            )),
            after: None,
            diff: Vec::new(),
            loses: Some(Loss::of(asset.holdings)),
            restore: Vec::new(),
            restore_holder: None,
            config: None,
            declared_at: None,
        };
        if asset.address.kind.is_stream_like() {
            let stream = asset.address.stream_name();
            let on_stream = consumers_on
                .get(stream.as_str())
                .map_or(&[][..], Vec::as_slice);
            consumers_lost(
                &mut change,
                on_stream,
                &desired_by_address,
                options.unmanaged_consumers,
            );
        }
        plan.changes.push(change);
    }
    if options.prune {
        let declared = desired.iter().filter(|a| in_scope(&a.address)).count();
        guard_prune(
            &mut plan,
            declared,
            managed_in_scope,
            pruned_consumers,
            options,
        );
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

/// Lists under `change.loses` every consumer on the stream it replaces or
/// deletes, and refuses the change when it would destroy a durable consumer
/// jetsync does not manage without the user's consent (`policy`). With
/// `Recreate` consent on a replacement, those consumers' configs go into
/// `change.restore`.
fn consumers_lost(
    change: &mut Change,
    on_stream: &[&LiveAsset],
    desired: &BTreeMap<&Address, &DesiredAsset>,
    policy: UnmanagedConsumers,
) {
    let replacing = change.action == Action::Replace;
    let mut lost = Vec::new();
    let mut unconsented = Vec::new();
    for consumer in on_stream {
        let Some(name) = consumer.address.consumer.clone() else {
            continue;
        };
        #[derive(serde::Deserialize)]
        struct Identity {
            #[serde(default)]
            durable_name: Option<String>,
        }
        let durable = consumer
            .config
            .read::<Identity>()
            .is_some_and(|identity| identity.durable_name.is_some());
        let owner = ownership::live_owner(&consumer.config);
        // Managed by jetsync: this owner's, or another owner's (another
        // team's jetsync, another resource of the controller), which its
        // owner creates again. Only consumers no jetsync manages need consent.
        let managed = owner.is_some();
        let fate = if desired.contains_key(&consumer.address) && replacing {
            ConsumerFate::Recreated
        } else if managed || !durable {
            ConsumerFate::Deleted
        } else {
            match policy {
                UnmanagedConsumers::Delete => ConsumerFate::Deleted,
                UnmanagedConsumers::Recreate if replacing => {
                    change.restore.push(restore::restorable_config(consumer));
                    ConsumerFate::Restored
                }
                _ => {
                    unconsented.push(format!("`{name}`"));
                    ConsumerFate::Deleted
                }
            }
        };
        lost.push(LostConsumer {
            name,
            pending: consumer.holdings.pending,
            ack_pending: consumer.holdings.ack_pending,
            owner,
            managed,
            durable,
            fate,
        });
    }
    if !unconsented.is_empty() {
        let verb = if replacing { "replacing" } else { "deleting" };
        let consent = if replacing {
            "--unmanaged-consumers recreate (create them again after the stream) or \
             --unmanaged-consumers delete (or spec.unmanagedConsumers)"
        } else {
            "--unmanaged-consumers delete"
        };
        change.refuse(|| {
            format!(
                "{verb} it would destroy {} durable consumer(s) jetsync does not manage: {}; \
                 that needs {consent}",
                unconsented.len(),
                unconsented.join(", ")
            )
        });
    }
    let seen = u64::try_from(on_stream.len()).unwrap_or(u64::MAX);
    let (count, ephemeral) = change.loses.as_ref().map_or((0, 0), |loss| {
        (
            loss.holdings.consumer_count,
            loss.holdings.ephemeral_consumers,
        )
    });
    let unseen = count.saturating_sub(seen + ephemeral);
    if unseen > 0 && policy != UnmanagedConsumers::Delete {
        let verb = if replacing { "replacing" } else { "deleting" };
        change.refuse(|| {
            format!(
                "{verb} it would destroy {unseen} consumer(s) these credentials may not list, \
                 so they cannot be named or created again; that needs --unmanaged-consumers delete"
            )
        });
    }
    if restore::stash(&change.restore).len() > restore::MAX_STASH {
        change.refuse(|| {
            format!(
                "the configs of the consumers to create again take more than {} KiB, \
                 more than the stream's metadata can keep safely until they are restored; \
                 recreate them yourself and pass --unmanaged-consumers delete",
                restore::MAX_STASH / 1024
            )
        });
    }
    let loss = change.loses.get_or_insert_with(Loss::default);
    loss.consumers = lost;
    loss.unseen_consumers = unseen;
    loss.ephemeral_consumers = ephemeral;
}

/// Above this share of the owner's assets in scope, a prune needs `--prune-all`.
const PRUNE_SHARE_PERCENT: usize = 50;

/// Refuses a prune that looks like an accident: over a selection that holds
/// no document (an error: a wrong path, an empty checkout, a selector that
/// matches nothing), or one that deletes more than half of what the owner
/// manages in scope — unless `--prune-all` says so.
fn guard_prune(
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
fn fits_server(asset: &DesiredAsset, options: &PlanOptions, plan: &mut Plan) -> bool {
    if !options.standalone {
        return true;
    }
    let replicas = asset
        .config
        .get("num_replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let cluster = asset
        .config
        .pointer("/placement/cluster")
        .and_then(Value::as_str)
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

/// A suspended asset (`spec.suspend: true`) is left out of the plan with a
/// note; it stays declared, so it is never pruned either.
fn not_suspended(asset: &DesiredAsset, plan: &mut Plan) -> bool {
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
    let to_send = |after: &Value| {
        let hash = ownership::config_hash(after);
        ownership::with_markers(&declared, &options.owner, &hash)
    };
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
    let before = comparable(kind, &live_config, stream_limits);
    let mut diff = field_changes(kind, &before, &after, &options.server);
    if kind == AssetKind::Consumer {
        diff.extend(pause_change(&declared, &live_config));
    }
    let owner = ownership::owner_of(&live_config);
    let managed = owner == Some(options.owner.as_str());
    if managed && diff.is_empty() {
        return None;
    }
    let replace = diff.iter().any(|field| field.forces_replacement);
    let may_replace = options.allow_replace || asset.allow_replace;
    let applied = ownership::applied_of(&live_config);
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
        reported: false,
        refused: (!stream_allowed).then(|| "its stream's replacement is refused".to_string()),
        before: Some(comparable(AssetKind::Consumer, &live.config.value(), None)),
        after: Some(after),
        diff: Vec::new(),
        loses: Some(Loss::of(live.holdings)),
        restore: Vec::new(),
        restore_holder: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{Holdings, LiveConfig};
    use serde_json::json;

    const OWNER: &str = "team";

    fn options() -> PlanOptions {
        PlanOptions {
            owner: OWNER.into(),
            prune: false,
            adopt: false,
            allow_replace: true,
            server: ServerVersion::parse("2.15.1").unwrap(),
            targets: None,
            prune_all: false,
            unmanaged_consumers: UnmanagedConsumers::Refuse,
            standalone: false,
        }
    }

    fn desired_stream(name: &str, storage: &str) -> DesiredAsset {
        DesiredAsset {
            address: Address::stream(name),
            config: json!({"name": name, "subjects": [format!("{name}.>")], "storage": storage}),
            adopt: false,
            allow_replace: false,
            drift_policy: DriftPolicy::Correct,
            unmanaged_consumers: None,
            declared_at: DeclaredAt::default(),
            labels: BTreeMap::new(),
            connection: None,
            suspended: false,
            management_policy: ManagementPolicy::Full,
            ignore_fields: Vec::new(),
        }
    }

    /// A live asset as jetsync would have applied `desired` (markers set).
    fn applied(desired: &DesiredAsset) -> LiveAsset {
        let hash = ownership::config_hash(&comparable(desired.address.kind, &desired.config, None));
        LiveAsset {
            address: desired.address.clone(),
            config: LiveConfig::new(&ownership::with_markers(&desired.config, OWNER, &hash)),
            holdings: Holdings {
                messages: 5,
                ..Holdings::default()
            },
        }
    }

    fn live_consumer(stream: &str, name: &str, owner: Option<&str>, durable: bool) -> LiveAsset {
        let mut config = json!({"name": name, "ack_policy": "explicit", "deliver_policy": "all"});
        if durable {
            config["durable_name"] = json!(name);
        }
        if let Some(owner) = owner {
            config["metadata"] = json!({ownership::OWNER_KEY: owner, ownership::APPLIED_KEY: "x"});
        }
        LiveAsset {
            address: Address::consumer(stream, name),
            config: LiveConfig::new(&config),
            holdings: Holdings {
                pending: 2,
                ..Holdings::default()
            },
        }
    }

    #[test]
    fn a_replaced_stream_lists_its_consumers_and_refuses_another_applications_durable_one() {
        let before = desired_stream("S", "file");
        let live = vec![
            applied(&before),
            live_consumer("S", "mine", Some(OWNER), true),
            live_consumer("S", "theirs", None, true),
            live_consumer("S", "ordered", None, false),
        ];
        let plan = plan(&[desired_stream("S", "memory")], &live, &options());
        let change = &plan.changes[0];
        assert_eq!(change.action, Action::Replace);
        let consumers = &change.loses.as_ref().unwrap().consumers;
        let names: Vec<&str> = consumers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["mine", "theirs", "ordered"]);
        assert!(change.refused.as_deref().unwrap().contains("`theirs`"));
        assert!(!change.refused.as_deref().unwrap().contains("`ordered`"));
        assert_eq!(plan.summary().replace, 0);
        assert_eq!(plan.summary().refused, 1);
    }

    #[test]
    fn recreate_consent_keeps_the_unmanaged_consumer_config_for_after_the_replacement() {
        let live = vec![
            applied(&desired_stream("S", "file")),
            live_consumer("S", "theirs", None, true),
            live_consumer("S", "other-teams", Some("other-team"), true),
        ];
        let mut desired = desired_stream("S", "memory");
        desired.unmanaged_consumers = Some(UnmanagedConsumers::Recreate);
        let plan = plan(&[desired], &live, &options());
        let change = &plan.changes[0];
        assert!(change.allowed(), "{:?}", change.refused);
        assert_eq!(change.restore.len(), 1);
        assert_eq!(change.restore[0]["durable_name"], "theirs");
        let fate = |name: &str| {
            let lost = &change.loses.as_ref().unwrap().consumers;
            lost.iter().find(|c| c.name == name).unwrap().fate
        };
        assert_eq!(
            fate("other-teams"),
            ConsumerFate::Deleted,
            "its own owner creates it again"
        );
        assert_eq!(fate("theirs"), ConsumerFate::Restored);
        assert_eq!(plan.summary().consumers_lost, 1);
        assert_eq!(plan.summary().unmanaged_consumers_lost, 0);
    }

    #[test]
    fn consumers_the_credentials_may_not_list_are_counted_and_refuse_a_replacement() {
        let mut stream = applied(&desired_stream("S", "file"));
        stream.holdings.consumer_count = 2;
        let live = vec![stream, live_consumer("S", "mine", Some(OWNER), true)];
        let plan = plan(&[desired_stream("S", "memory")], &live, &options());
        let change = &plan.changes[0];
        assert_eq!(change.loses.as_ref().unwrap().unseen_consumers, 1);
        assert!(change.refused.as_deref().unwrap().contains("may not list"));
    }

    #[test]
    fn delete_consent_counts_the_consumers_that_go() {
        let live = vec![
            applied(&desired_stream("S", "file")),
            live_consumer("S", "theirs", None, true),
        ];
        let options = PlanOptions {
            unmanaged_consumers: UnmanagedConsumers::Delete,
            ..options()
        };
        let plan = plan(&[desired_stream("S", "memory")], &live, &options);
        assert!(plan.changes[0].allowed());
        assert_eq!(plan.summary().consumers_lost, 1);
        assert_eq!(plan.summary().unmanaged_consumers_lost, 1);
    }

    #[test]
    fn prune_over_no_document_is_an_error_and_refuses_every_deletion() {
        let live = vec![
            applied(&desired_stream("A", "file")),
            applied(&desired_stream("B", "file")),
        ];
        let options = PlanOptions {
            prune: true,
            ..options()
        };
        let plan = plan(&[], &live, &options);
        assert!(plan.has_errors());
        assert!(plan.changes.iter().all(|c| !c.allowed()));
        let allowed = plan_with_prune_all(&live);
        assert_eq!(allowed.summary().delete, 2);
    }

    fn plan_with_prune_all(live: &[LiveAsset]) -> Plan {
        let options = PlanOptions {
            prune: true,
            prune_all: true,
            ..options()
        };
        plan(&[], live, &options)
    }

    #[test]
    fn pruning_more_than_half_of_an_owner_is_refused_with_a_warning() {
        let streams: Vec<DesiredAsset> = ["A", "B", "C", "D"]
            .iter()
            .map(|name| desired_stream(name, "file"))
            .collect();
        let live: Vec<LiveAsset> = streams.iter().map(applied).collect();
        let options = PlanOptions {
            prune: true,
            ..options()
        };
        let three_of_four = plan(&streams[..1], &live, &options);
        assert!(!three_of_four.has_errors());
        assert_eq!(three_of_four.summary().refused, 3);
        let one_of_four = plan(&streams[..3], &live, &options);
        assert_eq!(one_of_four.summary().delete, 1);
    }

    #[test]
    fn an_ignored_field_changed_outside_jetsync_is_neither_drift_nor_changed_back() {
        let mut desired = desired_stream("S", "file");
        desired.ignore_fields = vec!["maxAge".to_string()];
        let mut live = applied(&desired);
        let mut config = live.config.value();
        config["max_age"] = json!(1_000_000_000u64);
        live.config = LiveConfig::new(&config);
        assert!(
            plan(&[desired.clone()], &[live.clone()], &options())
                .changes
                .is_empty()
        );

        desired.config["storage"] = json!("memory");
        let changed = plan(&[desired], &[live], &options());
        let change = &changed.changes[0];
        let fields: Vec<&str> = change.diff.iter().map(|f| f.path.as_str()).collect();
        assert!(!fields.contains(&"maxAge"), "{fields:?}");
        assert_eq!(
            change.after.as_ref().unwrap()["max_age"],
            json!(1_000_000_000u64)
        );
    }

    #[test]
    fn observe_only_reports_a_missing_asset_and_drift_and_writes_nothing() {
        let mut desired = desired_stream("S", "file");
        desired.management_policy = ManagementPolicy::Observe;
        let missing = plan(&[desired.clone()], &[], &options());
        assert_eq!(missing.changes[0].action, Action::Create);
        assert!(missing.changes[0].reported && missing.changes[0].config.is_none());
        assert!(!missing.has_writes());

        let mut live = applied(&desired);
        let mut config = live.config.value();
        config["max_age"] = json!(1_000_000_000u64);
        live.config = LiveConfig::new(&config);
        let drifted = plan(&[desired], &[live], &options());
        assert!(drifted.changes[0].reported);
        assert!(
            drifted.changes[0]
                .reason
                .contains("managementPolicy: Observe")
        );
        assert!(!drifted.has_writes());
    }

    #[test]
    fn a_suspended_asset_is_neither_planned_nor_pruned() {
        let mut desired = desired_stream("S", "file");
        desired.suspended = true;
        let mut live = applied(&desired);
        let mut config = live.config.value();
        config["max_age"] = json!(1_000_000_000u64);
        live.config = LiveConfig::new(&config);
        let options = PlanOptions {
            prune: true,
            ..options()
        };
        let suspended = plan(&[desired], &[live], &options);
        assert!(suspended.changes.is_empty());
        assert!(
            suspended
                .diagnostics
                .iter()
                .any(|d| d.summary.contains("suspended")),
            "the plan says so"
        );
    }

    #[test]
    fn drift_under_report_is_shown_and_not_written() {
        let mut desired = desired_stream("S", "file");
        desired.drift_policy = DriftPolicy::Report;
        let mut live = applied(&desired);
        let mut config = live.config.value();
        config["max_age"] = json!(1_000_000_000u64);
        live.config = LiveConfig::new(&config);
        let plan = plan(&[desired], &[live], &options());
        let change = &plan.changes[0];
        assert!(change.drift && change.reported && !change.allowed());
        assert_eq!(plan.summary().reported, 1);
        assert_eq!(plan.summary().update, 0);
        assert!(!plan.has_writes());
    }

    #[test]
    fn replicas_above_one_on_a_standalone_server_are_an_error() {
        let mut desired = desired_stream("S", "file");
        desired.config["num_replicas"] = json!(3);
        let options = PlanOptions {
            standalone: true,
            ..options()
        };
        let plan = plan(&[desired.clone()], &[], &options);
        assert!(plan.has_errors());
        assert!(plan.changes.is_empty());
        let clustered = super::plan(
            &[desired],
            &[],
            &PlanOptions {
                standalone: false,
                ..options
            },
        );
        assert_eq!(clustered.summary().create, 1);
    }
}
