//! The controller's writes to a resource itself: the address annotation
//! and the whole status it owns, by server-side apply.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::conditions::Judgement;
use super::owned_status::{Counts, next_status};
use super::resource::{ADDRESS_ANNOTATION, AssetResource, requested_at};
use crate::plan::Address;
use crate::spec::AssetStatus;

use super::reconcile::{Error, FIELD_MANAGER};

/// Records the address the asset now lives at on the resource.
pub(crate) async fn record_address<K: AssetResource>(
    api: &Api<K>,
    obj: &K,
    address: &Address,
) -> Result<(), Error> {
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": {
            "name": obj.name_any(),
            "annotations": { ADDRESS_ANNOTATION: address.to_string() },
        },
    });
    api.patch(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// Applies the whole status the controller owns (server-side apply deletes
/// any field left out), when it differs from what the resource carries.
/// Returns the conditions.
pub(crate) async fn write_status<K>(
    api: &Api<K>,
    obj: &K,
    previous: Option<&AssetStatus>,
    judgements: &[Judgement],
    counts: Counts,
) -> Result<Vec<Condition>, Error>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let generation = obj.meta().generation;
    let mut status = next_status(previous, generation, judgements, counts, Timestamp::now())
        .unwrap_or_else(|| previous.cloned().unwrap_or_default());
    if let Some(requested) = requested_at(obj) {
        status.last_handled_reconcile_at = Some(requested);
    }
    if Some(&status) == previous {
        return Ok(status.conditions);
    }
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        obj.meta().name.as_deref().unwrap_or_default(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(status.conditions)
}
