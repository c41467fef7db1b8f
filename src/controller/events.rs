//! Kubernetes Events about a resource: those a reconcile concluded, each
//! published once.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Resource;
use kube::runtime::events::{Event, EventType};

use super::Context;
use super::conditions::{self};
use super::status::{Note, NoteType};

/// True when the condition `type_` differs in status or reason.
pub(crate) fn changed(previous: &[Condition], merged: &[Condition], type_: &str) -> bool {
    let summary = |conditions| {
        conditions::find(conditions, type_).map(|c| (c.status.clone(), c.reason.clone()))
    };
    summary(previous) != summary(merged)
}

/// Publishes the notes (those tied to a condition only when it changed);
/// returns the reasons published.
pub(crate) async fn publish<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    notes: &[Note],
    previous: &[Condition],
    merged: &[Condition],
) -> Vec<&'static str> {
    let reference = obj.object_ref(&());
    let mut published = Vec::new();
    for note in notes {
        if let Some(type_) = note.when_changed
            && !changed(previous, merged, type_)
        {
            continue;
        }
        send_event(ctx, &reference, note).await;
        published.push(note.reason);
    }
    published
}

pub(crate) async fn send_event(ctx: &Context, reference: &ObjectReference, note: &Note) {
    let event = Event {
        type_: match note.type_ {
            NoteType::Normal => EventType::Normal,
            NoteType::Warning => EventType::Warning,
        },
        reason: note.reason.to_string(),
        note: Some(conditions::truncate(&note.message, 1000)),
        // The recorder folds events with the same action and reason into a
        // series that keeps the first note: a different note must not fold.
        action: format!("{}-{}", note.reason, short_hash(&note.message)),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, reference).await {
        tracing::warn!(reason = note.reason, %error, "publishing an event failed");
    }
}

pub(crate) fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn warning(reason: &'static str, message: String) -> Note {
    Note {
        type_: NoteType::Warning,
        reason,
        message,
        when_changed: None,
    }
}
