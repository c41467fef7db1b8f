//! The desired side of a plan: declared documents as assets with their wire
//! configs and reconciliation settings.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::{Address, AssetKind, DeclaredAt};
use super::wire;
use crate::manifest::Declared;
use crate::spec::common::OnImmutableChange;
use crate::spec::{AssetSpec, Kind};

/// One asset as declared.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredAsset {
    pub address: Address,
    /// The config to send, without ownership markers.
    pub config: Value,
    /// `spec.adopt`: may take over an existing unmanaged asset.
    pub adopt: bool,
    /// `spec.onImmutableChange: Recreate`: may be replaced.
    pub allow_replace: bool,
    /// Where it was declared.
    pub declared_at: DeclaredAt,
    /// `metadata.labels`, for selection.
    pub labels: BTreeMap<String, String>,
    /// `spec.connection`, if the asset names one.
    pub connection: Option<String>,
}

/// Every asset among the documents (connections are not assets), in
/// address order.
pub fn desired_assets(documents: &[Declared]) -> Vec<DesiredAsset> {
    let mut assets: Vec<DesiredAsset> = documents.iter().filter_map(desired_asset).collect();
    assets.sort_by(|a, b| a.address.cmp(&b.address));
    assets
}

fn desired_asset(declared: &Declared) -> Option<DesiredAsset> {
    let name = declared.asset_name();
    let (address, config) = match &declared.spec {
        AssetSpec::Stream(spec) => (Address::stream(name), wire::stream_config(name, spec)),
        AssetSpec::KeyValue(spec) => (Address::kv(name), wire::kv_stream_config(name, spec)),
        AssetSpec::ObjectStore(spec) => (
            Address::object_store(name),
            wire::object_store_stream_config(name, spec),
        ),
        AssetSpec::Consumer(spec) => (
            Address::consumer(&spec.stream_name, name),
            wire::consumer_config(name, spec),
        ),
        AssetSpec::NatsConnection(_) => return None,
    };
    let policies = declared.spec.policies()?;
    let position = declared.origin.root.position;
    Some(DesiredAsset {
        address,
        config,
        adopt: policies.adopt(),
        allow_replace: policies.on_immutable_change() == OnImmutableChange::Recreate,
        declared_at: DeclaredAt {
            file: declared.origin.source.name.clone(),
            line: position.line,
            column: position.column,
        },
        labels: declared.metadata.labels.clone(),
        connection: policies.connection().map(str::to_string),
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
