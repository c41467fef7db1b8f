//! The controller's writes to a resource itself: its finalizer and the
//! address annotation (one patch for a new resource), and the whole status
//! it owns, by server-side apply. Each returns the object as written.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::conditions::Judgement;
use super::owned_status::{Counts, next_status};
use super::reconcile::{Error, FIELD_MANAGER, FINALIZER};
use super::resource::{ADDRESS_ANNOTATION, AssetResource, requested_at};
use crate::plan::Address;
use crate::resources::AssetStatus;

/// True when the resource carries the controller's finalizer.
pub fn has_finalizer<K: Resource>(obj: &K) -> bool {
    obj.finalizers().iter().any(|f| f == FINALIZER)
}

/// Writes what the resource's metadata lacks: the finalizer, and the
/// address its asset now lives at. A new resource gets both in one merge
/// patch, guarded by its `resourceVersion` (a resource deleted or changed
/// meanwhile refuses it); a moved address alone is applied server-side.
/// None when nothing was missing.
pub(crate) async fn write_metadata<K: AssetResource>(
    api: &Api<K>,
    obj: &K,
    add_finalizer: bool,
    address: Option<&Address>,
) -> Result<Option<K>, Error> {
    let annotations = address.map(|a| json!({ ADDRESS_ANNOTATION: a.to_string() }));
    if add_finalizer {
        let mut finalizers = obj.finalizers().to_vec();
        finalizers.push(FINALIZER.to_string());
        let mut metadata = json!({
            "resourceVersion": obj.meta().resource_version,
            "finalizers": finalizers,
        });
        if let Some(annotations) = annotations {
            metadata["annotations"] = annotations;
        }
        let patch = json!({ "metadata": metadata });
        let written = api
            .patch(
                &obj.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        return Ok(Some(written));
    }
    let Some(annotations) = annotations else {
        return Ok(None);
    };
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": { "name": obj.name_any(), "annotations": annotations },
    });
    let written = api
        .patch(
            &obj.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    Ok(Some(written))
}

/// Applies the whole status the controller owns (server-side apply deletes
/// any field left out), when it differs from what the resource carries.
/// Returns the conditions, and the object when it was written.
pub(crate) async fn write_status<K>(
    api: &Api<K>,
    obj: &K,
    previous: Option<&AssetStatus>,
    judgements: &[Judgement],
    counts: Counts,
) -> Result<(Vec<Condition>, Option<K>), Error>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let status = status_after(obj, previous, judgements, counts);
    if Some(&status) == previous {
        return Ok((status.conditions, None));
    }
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    let written = api
        .patch_status(
            obj.meta().name.as_deref().unwrap_or_default(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    Ok((status.conditions, Some(written)))
}

/// The whole status after `judgements` (what [`write_status`] applies when
/// it differs from `previous`).
pub fn status_after<K: Resource>(
    obj: &K,
    previous: Option<&AssetStatus>,
    judgements: &[Judgement],
    counts: Counts,
) -> AssetStatus {
    let generation = obj.meta().generation;
    let mut status = next_status(previous, generation, judgements, counts, Timestamp::now())
        .unwrap_or_else(|| previous.cloned().unwrap_or_default());
    if let Some(requested) = requested_at(obj) {
        status.last_handled_reconcile_at = Some(requested);
    }
    status
}
