//! The desired side of a plan: declared documents as assets with their wire
//! configs and reconciliation settings.

use std::collections::BTreeMap;

use super::model::{Address, AssetKind, DeclaredAt};
use super::wire::{self, model::AssetConfig};
use crate::manifest::Declared;
use crate::spec::common::{DriftPolicy, ManagementPolicy, OnImmutableChange, UnmanagedConsumers};
use crate::spec::{AssetSpec, Kind};

/// One asset as declared.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredAsset {
    pub address: Address,
    /// The config to send, without ownership markers.
    pub config: AssetConfig,
    /// `spec.adopt`: may take over an existing unmanaged asset.
    pub adopt: bool,
    /// `spec.onImmutableChange: Recreate`: may be replaced.
    pub allow_replace: bool,
    /// `spec.driftPolicy`: correct drift, or only report it.
    pub drift_policy: DriftPolicy,
    /// `spec.unmanagedConsumers`, when set: what may become of other
    /// applications' consumers when this stream is replaced.
    pub unmanaged_consumers: Option<UnmanagedConsumers>,
    /// Where it was declared.
    pub declared_at: DeclaredAt,
    /// `metadata.labels`, for selection.
    pub labels: BTreeMap<String, String>,
    /// `spec.connection`, if the asset names one.
    pub connection: Option<String>,
    /// `spec.suspend`: declared, but neither planned nor pruned.
    pub suspended: bool,
    /// `spec.managementPolicy`: what may be written.
    pub management_policy: ManagementPolicy,
    /// `spec.ignoreFields`: spec fields left out of updates and drift.
    pub ignore_fields: Vec<String>,
}

/// Every asset among the documents (connections are not assets), in
/// address order.
pub fn desired_assets(documents: &[Declared]) -> Vec<DesiredAsset> {
    in_address_order(documents.iter().filter_map(desired_asset).collect())
}

/// [`desired_assets`] of documents it takes: each document is dropped once
/// its asset is made. The connections are given back.
pub fn take_desired_assets(documents: Vec<Declared>) -> (Vec<DesiredAsset>, Vec<Declared>) {
    let mut assets = Vec::with_capacity(documents.len());
    let mut connections = Vec::new();
    for declared in documents {
        match desired_asset(&declared) {
            Some(asset) => assets.push(asset),
            None => connections.push(declared),
        }
    }
    (in_address_order(assets), connections)
}

fn in_address_order(mut assets: Vec<DesiredAsset>) -> Vec<DesiredAsset> {
    assets.sort_by(|a, b| a.address.cmp(&b.address));
    assets
}

fn desired_asset(declared: &Declared) -> Option<DesiredAsset> {
    let position = declared.origin.root.position;
    let declared_at = DeclaredAt {
        fields: declared.origin.written_fields(),
        ..DeclaredAt::document(
            &*declared.origin.source.name,
            position.line,
            position.column,
        )
    };
    let mut asset = desired_from_spec(&declared.spec, declared.asset_name(), declared_at)?;
    asset.labels = declared.metadata.labels.clone();
    Some(asset)
}

/// The desired asset of one spec whose JetStream name is `name` (the
/// controller builds these from custom resources; `declared_at` then names
/// the resource). None for a `NatsConnection`.
pub fn desired_from_spec(
    spec: &AssetSpec,
    name: &str,
    declared_at: DeclaredAt,
) -> Option<DesiredAsset> {
    let address = match spec {
        AssetSpec::Stream(_) => Address::stream(name),
        AssetSpec::KeyValue(_) => Address::kv(name),
        AssetSpec::ObjectStore(_) => Address::object_store(name),
        AssetSpec::Consumer(spec) => Address::consumer(&spec.stream_name, name),
        AssetSpec::NatsConnection(_) => return None,
    };
    let config = wire::asset_config(name, spec)?;
    let policies = spec.policies()?;
    Some(DesiredAsset {
        address,
        config,
        adopt: policies.adopt(),
        allow_replace: policies.on_immutable_change() == OnImmutableChange::Recreate,
        drift_policy: policies.drift_policy(),
        unmanaged_consumers: policies.unmanaged_consumers(),
        declared_at,
        labels: BTreeMap::new(),
        connection: policies.connection().map(str::to_string),
        suspended: policies.suspended(),
        management_policy: policies.management_policy(),
        ignore_fields: policies.ignore_fields().to_vec(),
    })
}

/// The plan kind of a manifest kind (None for connections).
pub fn asset_kind(kind: Kind) -> Option<AssetKind> {
    match kind {
        Kind::Stream => Some(AssetKind::Stream),
        Kind::KeyValue => Some(AssetKind::KeyValue),
        Kind::ObjectStore => Some(AssetKind::ObjectStore),
        Kind::Consumer => Some(AssetKind::Consumer),
        Kind::NatsConnection => None,
    }
}
