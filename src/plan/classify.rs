//! Classifying every asset, desired or live, into the action that brings
//! the server to the declared state — with the fields that differ, whether
//! the change is pending or corrects drift, and whether it is allowed.

mod asset;
mod change;
mod consumers;
mod guards;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use super::capabilities::ServerVersion;
use super::desired::DesiredAsset;
use super::model::{Address, AssetKind, DeclaredAt, LiveAsset, LiveConfig, Loss};
use super::normalise::comparable_owned;
use super::ownership;
use super::restore;
use super::wire::model::{AssetConfig, ConsumerLimits};
use crate::diagnostics::{Diagnostic, Severity};
use crate::spec::common::UnmanagedConsumers;

pub use asset::PAUSE_FIELD;
use asset::classify;
pub use change::{Action, Change, FieldChange, Plan, Summary, apply_rank};
use consumers::{consumers_lost, recreated_with_stream};
use guards::{fits_server, guard_prune, not_suspended, refuse_move_and_scale, supported};

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
    type Consumer<'a> = (&'a DesiredAsset, Option<ConsumerLimits>, Option<bool>);
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
        // The declared stream's limits, else the live one's (read here).
        let limits = match desired_by_address.get(&stream_address) {
            Some(declared) => match &declared.config {
                AssetConfig::Stream(config) => Some(config.consumer_limits.clone()),
                AssetConfig::Consumer(_) => None,
            },
            None => live_by_address
                .get(&stream_address)
                .map(|live| stream_consumer_limits(&live.config)),
        };
        let Some(limits) = limits else {
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
        consumers.push((asset, limits, replaced_streams.get(stream).copied()));
    }
    let changes = in_parallel(&consumers, |(asset, limits, stream_replaced)| {
        let (asset, limits, stream_replaced) = (*asset, limits.as_ref(), *stream_replaced);
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
        let declared = desired_by_address.contains_key(&asset.address);
        // A declared asset is never deleted: only a prune's guard counts
        // it (reading its owner parses its config's metadata).
        if (declared && !options.prune)
            || !in_scope(&asset.address)
            || !owned(asset)
            || restore::is_holder(&asset.address)
        {
            continue;
        }
        managed_in_scope += 1;
        if declared {
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
            refused: (!options.prune)
                .then(|| "deleting undeclared assets needs --prune".to_string()),
            before: Some(comparable_owned(
                asset.address.kind,
                asset.config.value(),
                limits,
            )),
            loses: Some(Loss::of(asset.holdings)),
            ..Change::new(
                asset.address.clone(),
                Action::Delete,
                format!("managed by `{}` and no longer declared", options.owner),
            )
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

/// Below this many assets one thread classifies them all.
const PARALLEL_ASSETS: usize = 1024;

/// A live stream's `consumer_limits`, read without the rest of its config.
fn stream_consumer_limits(config: &LiveConfig) -> Option<ConsumerLimits> {
    #[derive(serde::Deserialize)]
    struct Limits {
        #[serde(default)]
        consumer_limits: Option<ConsumerLimits>,
    }
    config
        .read::<Limits>()
        .and_then(|limits| limits.consumer_limits)
}

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
