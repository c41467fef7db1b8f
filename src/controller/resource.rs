//! The four asset kinds seen the same way by the reconciler: a namespaced
//! custom resource with a spec that becomes one JetStream asset, and the
//! `AssetStatus` the controller writes back.

use std::fmt::Debug;

use kube::core::NamespaceResourceScope;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::plan::Address;
use crate::resources::{AssetStatus, Consumer, KeyValue, ObjectStore, Stream};
use crate::spec::{AssetSpec, Kind, common::AssetPolicies};

/// Annotation holding the address the resource's asset was last reconciled
/// at, so that a changed `spec.name` (or `spec.streamName`) replaces the
/// old asset instead of silently orphaning it.
pub const ADDRESS_ANNOTATION: &str = "jetsync.dev/address";

/// Set to any new value (`kubectl annotate --overwrite`) to ask for a
/// reconcile now; answered in `status.lastHandledReconcileAt`.
pub const REQUESTED_AT_ANNOTATION: &str = "reconcile.jetsync.dev/requestedAt";

/// The `reconcile.jetsync.dev/requestedAt` annotation's value, if set.
pub fn requested_at<K: Resource>(resource: &K) -> Option<String> {
    resource
        .meta()
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(REQUESTED_AT_ANNOTATION))
        .cloned()
}

/// A custom resource the controller turns into one JetStream asset.
pub trait AssetResource:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The manifest kind.
    const KIND: Kind;

    /// The spec as the engine's kind-independent [`AssetSpec`].
    fn asset_spec(&self) -> AssetSpec;

    /// The status the controller last wrote.
    fn asset_status(&self) -> Option<&AssetStatus>;

    /// The reconciliation settings (connection, adopt, policies).
    fn policies(&self) -> &(dyn AssetPolicies + Sync);

    /// The JetStream name: `spec.name`, else `metadata.name`.
    fn jetstream_name(&self) -> String;

    /// Where the asset lives on the server.
    fn address(&self) -> Address;
}

macro_rules! asset_resource {
    ($resource:ty, $kind:expr, $variant:ident, $address:expr) => {
        impl AssetResource for $resource {
            const KIND: Kind = $kind;

            fn asset_spec(&self) -> AssetSpec {
                AssetSpec::$variant(self.spec.clone())
            }

            fn asset_status(&self) -> Option<&AssetStatus> {
                self.status.as_ref()
            }

            fn policies(&self) -> &(dyn AssetPolicies + Sync) {
                &self.spec
            }

            fn jetstream_name(&self) -> String {
                self.spec.name.clone().unwrap_or_else(|| self.name_any())
            }

            fn address(&self) -> Address {
                let address: fn(&Self) -> Address = $address;
                address(self)
            }
        }
    };
}

asset_resource!(Stream, Kind::Stream, Stream, |s| Address::stream(
    &s.jetstream_name()
));
asset_resource!(KeyValue, Kind::KeyValue, KeyValue, |s| Address::kv(
    &s.jetstream_name()
));
asset_resource!(ObjectStore, Kind::ObjectStore, ObjectStore, |s| {
    Address::object_store(&s.jetstream_name())
});
asset_resource!(Consumer, Kind::Consumer, Consumer, |s| Address::consumer(
    &s.spec.stream_name,
    &s.jetstream_name()
));

/// The ownership marker of a resource's asset: `<namespace>/<name>`, or
/// `<prefix>/<namespace>/<name>` when the controller runs with
/// `--owner-prefix` (so that two clusters never claim each other's assets).
pub fn owner_of<K: Resource>(resource: &K, prefix: Option<&str>) -> String {
    let namespace = resource.meta().namespace.as_deref().unwrap_or_default();
    let name = resource.meta().name.as_deref().unwrap_or_default();
    match prefix.filter(|p| !p.is_empty()) {
        Some(prefix) => format!("{prefix}/{namespace}/{name}"),
        None => format!("{namespace}/{name}"),
    }
}

/// `Kind namespace/name`, for logs and for the plan's "declared at".
pub fn describe<K: AssetResource>(resource: &K) -> String {
    format!(
        "{} {}/{}",
        K::KIND,
        resource.namespace().unwrap_or_default(),
        resource.name_any()
    )
}

/// The address recorded in [`ADDRESS_ANNOTATION`], if any and readable.
pub fn recorded_address<K: Resource>(resource: &K) -> Option<Address> {
    resource
        .meta()
        .annotations
        .as_ref()?
        .get(ADDRESS_ANNOTATION)
        .and_then(|text| parse_address(text))
}

/// Parses `stream/NAME`, `kv/BUCKET`, `objectstore/BUCKET` or
/// `consumer/STREAM/NAME` (the form [`Address`] displays as).
pub fn parse_address(text: &str) -> Option<Address> {
    let parts: Vec<&str> = text.split('/').collect();
    let nonempty = |s: &&str| !s.is_empty();
    match parts.as_slice() {
        ["stream", name] if nonempty(name) => Some(Address::stream(name)),
        ["kv", name] if nonempty(name) => Some(Address::kv(name)),
        ["objectstore", name] if nonempty(name) => Some(Address::object_store(name)),
        ["consumer", stream, name] if nonempty(stream) && nonempty(name) => {
            Some(Address::consumer(stream, name))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{ConsumerSpec, StreamSpec};

    #[test]
    fn addresses_round_trip_through_their_text() {
        for address in [
            Address::stream("ORDERS"),
            Address::kv("config"),
            Address::object_store("blobs"),
            Address::consumer("ORDERS", "worker"),
        ] {
            assert_eq!(parse_address(&address.to_string()), Some(address));
        }
        assert_eq!(parse_address("stream/"), None);
        assert_eq!(parse_address("queue/x"), None);
        assert_eq!(parse_address("consumer/ORDERS"), None);
    }

    #[test]
    fn the_owner_is_namespace_and_name_optionally_prefixed() {
        let mut stream = Stream::new("orders", StreamSpec::default());
        stream.metadata.namespace = Some("team-a".into());

        assert_eq!(owner_of(&stream, None), "team-a/orders");
        assert_eq!(owner_of(&stream, Some("prod-eu")), "prod-eu/team-a/orders");
        assert_eq!(owner_of(&stream, Some("")), "team-a/orders");
    }

    #[test]
    fn the_jetstream_name_defaults_to_the_object_name() {
        let stream = Stream::new("orders", StreamSpec::default());
        assert_eq!(stream.address(), Address::stream("orders"));

        let consumer = Consumer::new(
            "worker",
            ConsumerSpec {
                stream_name: "ORDERS".into(),
                name: Some("WORKER".into()),
                ..ConsumerSpec::default()
            },
        );
        assert_eq!(consumer.address(), Address::consumer("ORDERS", "WORKER"));
    }
}
