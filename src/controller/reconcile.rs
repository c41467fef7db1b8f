//! Reconciling one resource: the engine's plan and apply for its one asset,
//! then status, events and the next look. `reconcile` wraps everything in
//! the finalizer (`Apply` → [`apply_asset`], `Cleanup` → [`cleanup_asset`]);
//! `error_policy` logs, counts and backs off. Every field is compared at
//! every reconcile, whatever triggered it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::runtime::finalizer::{self, Event as FinalizerEvent, finalizer};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::Context;
use super::advisories::{Reach, Touch, WatchState};
use super::conditions::{self, Judgement, events, reasons, types};
use super::connections::{Profile, ProfileError, load_profile, resolve_profile};
use super::live::{LiveLookup, lookup};
use super::owned_status::{Counts, next_status};
use super::resource::{
    ADDRESS_ANNOTATION, AssetResource, describe, owner_of, recorded_address, requested_at,
};
use super::status::{self, Assessment, Conclusion, Next, Note, NoteType, Verdict};
use crate::apply::{self, Outcome};
use crate::engine;
use crate::nats::error::ApiRequestError;
use crate::nats::{ConnectError, Connection};
use crate::plan::classify::{self, Action as PlanAction, Change, Plan, PlanOptions};
use crate::plan::desired::desired_from_spec;
use crate::plan::{Address, DeclaredAt, ownership};
use crate::resources::{AssetStatus, Consumer, KeyValue, NatsConnection, ObjectStore, Stream};
use crate::spec::AssetSpec;
use crate::spec::common::{
    DeletionPolicy, ManagementPolicy, OnImmutableChange, UnmanagedConsumers,
};
use crate::spec::validate::validate;

/// The finalizer the controller puts on every resource it reconciles.
pub const FINALIZER: &str = "jetsync.dev/cleanup";
/// The server-side-apply field manager of everything the controller writes.
pub const FIELD_MANAGER: &str = "jetsync-controller";

/// Why a reconcile failed (and is retried by `error_policy`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes API refused or failed a request.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Adding or removing the finalizer, or the cleanup itself, failed.
    #[error("{0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    /// The resource has no namespace (every jetsync kind is namespaced).
    #[error("the resource has no namespace")]
    NoNamespace,
    /// Cleanup could not finish (the asset's server cannot be reached, …);
    /// the finalizer stays until it can.
    #[error("cleanup of {resource}: {reason}")]
    Cleanup { resource: String, reason: String },
    /// A `NatsConnection` is still named by resources; it is kept until
    /// they are gone so that their cleanup can reach the server.
    #[error("NatsConnection {connection} is still used by {users}")]
    InUse { connection: String, users: String },
}

/// The key of a resource in logs, metrics, backoff and the connection pool.
pub fn resource_key<K: Resource<DynamicType = ()>>(resource: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        resource.meta().namespace.as_deref().unwrap_or_default(),
        resource.meta().name.as_deref().unwrap_or_default()
    )
}

/// Reconciles one asset resource (the kube-runtime reconciler).
pub async fn reconcile<K: AssetResource>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            FinalizerEvent::Apply(obj) => apply_asset(&api, obj, &ctx).await,
            FinalizerEvent::Cleanup(obj) => cleanup_asset(obj, &ctx).await,
        }
    })
    .await
    .map_err(|error| Error::Finalizer(Box::new(error)))
}

/// Logs, counts and backs off (capped, forever).
pub fn error_policy<K: Resource<DynamicType = ()>>(
    obj: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let key = resource_key(obj.as_ref());
    let delay = ctx.retry_after(&key, Next::Backoff);
    tracing::warn!(resource = %key, %error, retry_in = ?delay, "reconcile failed");
    ctx.metrics
        .reconciled(&K::kind(&()), "error", std::time::Duration::ZERO);
    Action::requeue(delay)
}

/// What a connection problem means for the resource.
fn connection_conclusion(error: &ConnectError) -> (Conclusion, &'static str) {
    let message = error.to_string();
    let reason = match error {
        ConnectError::AuthRefused { .. } => reasons::AUTH_REFUSED,
        ConnectError::JetStreamDisabled { .. } | ConnectError::WrongDomain { .. } => {
            reasons::JETSTREAM_DISABLED
        }
        ConnectError::InvalidServerUrl { .. }
        | ConnectError::InvalidConfig { .. }
        | ConnectError::Context { .. } => {
            return (
                Conclusion::stalled(reasons::INVALID_SPEC, message),
                reasons::INVALID_SPEC,
            );
        }
        ConnectError::JetStreamApi(error) => {
            return (request_conclusion(error), reasons::CONNECTION_FAILED);
        }
        ConnectError::Unreachable { .. }
        | ConnectError::Tls { .. }
        | ConnectError::LocalFile { .. } => reasons::CONNECTION_FAILED,
    };
    let conclusion = Conclusion::waiting(reason, message.clone(), Next::Backoff).with_note(Note {
        type_: NoteType::Warning,
        reason: events::CONNECTION_FAILED,
        message,
        when_changed: Some(types::READY),
    });
    (conclusion, reason)
}

/// What a failed JetStream API request (while reading) means.
fn request_conclusion(error: &ApiRequestError) -> Conclusion {
    let reason = match error {
        ApiRequestError::NoResponders { .. } => reasons::JETSTREAM_DISABLED,
        ApiRequestError::PermissionDenied { .. } => reasons::PERMISSION_DENIED,
        ApiRequestError::Api { error, .. } if error.is_jetstream_not_enabled() => {
            reasons::JETSTREAM_DISABLED
        }
        _ => reasons::CONNECTION_FAILED,
    };
    Conclusion::waiting(reason, error.to_string(), Next::Backoff).with_note(Note {
        type_: NoteType::Warning,
        reason: events::CONNECTION_FAILED,
        message: error.to_string(),
        when_changed: Some(types::READY),
    })
}

/// The connection a resource uses (`spec.connection`, else the default).
async fn connection_for(
    ctx: &Context,
    namespace: &str,
    name: Option<&str>,
    user: &str,
) -> Result<Connection, Conclusion> {
    let profile = match name {
        None => Profile::Default,
        Some(name) => match load_profile(&ctx.client, namespace, name).await {
            Ok(material) => Profile::Named(Box::new(material)),
            Err(error) => return Err(profile_conclusion(&error)),
        },
    };
    match ctx.pool.get(&profile, Some(user)).await {
        Ok(connection) => {
            ctx.metrics.connections_open(ctx.pool.open());
            Ok(connection)
        }
        Err(error) => {
            let (conclusion, reason) = connection_conclusion(&error);
            ctx.metrics.connection_failed(reason);
            Err(conclusion)
        }
    }
}

fn profile_conclusion(error: &ProfileError) -> Conclusion {
    let message = error.to_string();
    match error {
        ProfileError::ConnectionNotFound { .. } => {
            Conclusion::waiting(reasons::CONNECTION_NOT_FOUND, message, Next::Backoff)
        }
        ProfileError::SecretNotFound { .. } => {
            Conclusion::waiting(reasons::SECRET_NOT_FOUND, message, Next::Backoff)
        }
        ProfileError::Invalid(_) => Conclusion::stalled(reasons::INVALID_SPEC, message),
        ProfileError::Kube { .. } => {
            Conclusion::waiting(reasons::CONNECTION_FAILED, message, Next::Backoff)
        }
    }
}

/// Static validation errors of a spec, joined; None when valid.
fn invalid_spec(name: &str, spec: &AssetSpec) -> Option<String> {
    let errors: Vec<String> = validate(name, spec)
        .into_iter()
        .filter(|problem| problem.is_error())
        .map(|problem| problem.to_string())
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// Reconciles the asset of a live (not deleting) resource.
pub async fn apply_asset<K: AssetResource>(
    api: &Api<K>,
    obj: Arc<K>,
    ctx: &Context,
) -> Result<Action, Error> {
    let started = Instant::now();
    let key = resource_key(obj.as_ref());
    let mut counts = Counts::Unknown;
    let conclusion = if obj.policies().suspended() {
        Conclusion::suspended()
    } else {
        assess_and_apply(api, obj.as_ref(), ctx, &mut counts).await?
    };
    let kind = K::KIND.as_str();
    let previous = obj
        .asset_status()
        .map(|s| s.conditions.clone())
        .unwrap_or_default();
    let judgements = if obj.policies().suspended() {
        conclusion.judgements.clone()
    } else {
        with_drift_default(&conclusion, &previous)
    };
    let merged = write_status(api, obj.as_ref(), obj.asset_status(), &judgements, counts).await?;
    let published = publish(ctx, obj.as_ref(), &conclusion.notes, &previous, &merged).await;
    if published.contains(&events::DRIFT_DETECTED) {
        ctx.metrics
            .drift(kind, published.contains(&events::DRIFT_CORRECTED));
    }
    ctx.metrics.managed(
        kind,
        &key,
        conclusion.verdict == Verdict::Ready && !ctx.settings.read_only,
    );
    ctx.metrics
        .reconciled(kind, conclusion.verdict.label(), started.elapsed());
    if conclusion.verdict == Verdict::Ready {
        ctx.reset_retries(&key);
    }
    let delay = ctx.retry_after(&key, conclusion.next);
    tracing::info!(
        resource = %key,
        verdict = conclusion.verdict.label(),
        reason = conclusion.judgements.first().map(|j| j.reason).unwrap_or_default(),
        next_in = ?delay,
        "reconciled"
    );
    Ok(Action::requeue(delay))
}

/// A `Drifted=Unknown` judgement when this reconcile could not check drift
/// and the resource has no `Drifted` condition yet.
fn with_drift_default(conclusion: &Conclusion, previous: &[Condition]) -> Vec<Judgement> {
    let mut judgements = conclusion.judgements.clone();
    if conclusion.drift().is_none() && conditions::find(previous, types::DRIFTED).is_none() {
        judgements.push(Judgement::unknown(
            types::DRIFTED,
            reasons::NOT_CHECKED,
            "drift is checked once the asset can be planned",
        ));
    }
    judgements
}

/// Everything up to (not including) the status write: validation,
/// connection, a renamed asset, live state, plan, apply.
async fn assess_and_apply<K: AssetResource>(
    api: &Api<K>,
    obj: &K,
    ctx: &Context,
    counts: &mut Counts,
) -> Result<Conclusion, Error> {
    let key = resource_key(obj);
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let spec = obj.asset_spec();
    let policies = obj.policies();
    if let Some(errors) = invalid_spec(&obj.name_any(), &spec) {
        return Ok(Conclusion::stalled(reasons::INVALID_SPEC, errors));
    }
    let connection = match connection_for(ctx, &namespace, policies.connection(), &key).await {
        Ok(connection) => connection,
        Err(conclusion) => return Ok(conclusion),
    };
    let pool = ctx.pool.key_of(&key).unwrap_or_default();
    let server = match engine::server_version(&connection) {
        Ok(server) => server,
        Err(message) => {
            return Ok(Conclusion::waiting(
                reasons::CONNECTION_FAILED,
                message,
                Next::Backoff,
            ));
        }
    };
    let owner = owner_of(obj, ctx.settings.owner_prefix.as_deref());
    let address = obj.address();
    let recorded = recorded_address(obj);
    let api_js = connection.api();

    // A changed spec.name (or streamName) moves the asset: the old one is
    // replaced, never silently orphaned.
    let mut replaced_old = None;
    if let Some(old) = recorded.as_ref().filter(|old| **old != address) {
        let old_live = match lookup(api_js, old).await {
            Ok(found) => found,
            Err(error) => return Ok(request_conclusion(&error)),
        };
        if let Some(old_asset) = old_live
            .asset
            .as_ref()
            .filter(|asset| ownership::live_owner(&asset.config).as_deref() == Some(owner.as_str()))
        {
            let allowed = policies.on_immutable_change() == OnImmutableChange::Recreate;
            if !allowed || ctx.settings.read_only {
                let message = status::rename_refusal(old, &address, &old_asset.holdings);
                if ctx.settings.read_only && allowed {
                    return Ok(Conclusion::read_only(format!("read-only: would {message}")));
                }
                return Ok(
                    Conclusion::stalled(reasons::IMMUTABLE_FIELD_CHANGED, message.clone())
                        .with_note(Note {
                            type_: NoteType::Warning,
                            reason: events::REPLACE_REFUSED,
                            message,
                            when_changed: Some(types::STALLED),
                        }),
                );
            }
            let delete = delete_change(old, old_asset.holdings);
            let report = write_followed(ctx, api_js, &pool, &delete).await;
            if let Some(Outcome::Failed(error)) = report.results.first().map(|r| &r.2) {
                return Ok(Conclusion::waiting(
                    reasons::APPLY_FAILED,
                    format!("could not delete {old} (moved to {address}): {error}"),
                    Next::Backoff,
                ));
            }
            replaced_old = Some((old.clone(), old_asset.holdings));
        }
    }

    let mut live = match lookup(api_js, &address).await {
        Ok(found) => found,
        Err(error) => return Ok(request_conclusion(&error)),
    };
    *counts = match &live.asset {
        Some(asset) => {
            tracing::debug!(resource = %key, holds = %status::summary(address.kind, asset, live.consumer_count), "live asset");
            Counts::Read(status::live_summary(
                address.kind,
                asset,
                live.consumer_count,
            ))
        }
        None => Counts::Gone,
    };
    if address.consumer.is_some() && live.asset.is_some() {
        ctx.followers.consumer_seen(&key);
    }
    if live.stream_missing(&address) {
        return Ok(Conclusion::waiting(
            reasons::STREAM_NOT_READY,
            format!(
                "stream `{}` does not exist yet; waiting for it",
                address.name
            ),
            Next::Soon,
        ));
    }
    let standalone = connection.server.standalone;
    let mut plan = plan_one(obj, &spec, &address, &live, &owner, server, standalone);
    // A replacement destroys every consumer on the stream: they are listed,
    // so that other applications' ones are named, and kept or refused as
    // spec.unmanagedConsumers says.
    let replaces_stream = plan
        .changes
        .first()
        .is_some_and(|c| c.action == PlanAction::Replace && c.address.kind.is_stream_like());
    if replaces_stream && live.consumer_count.unwrap_or(0) > 0 {
        if let Err(error) = live.list_consumers(api_js).await {
            return Ok(request_conclusion(&error));
        }
        plan = plan_one(obj, &spec, &address, &live, &owner, server, standalone);
    }
    let reconciled_before = recorded.as_ref() == Some(&address);
    let assessment = status::assess(
        &plan,
        live.asset.as_ref(),
        status::Intent {
            drift_policy: policies.drift_policy(),
            adopt: policies.adopt(),
            reconciled_before,
            observe: policies.management_policy() == ManagementPolicy::Observe,
            went_with_stream: address.consumer.is_some()
                && live.asset.is_none()
                && ctx
                    .followers
                    .went_with_stream(&pool, &address.stream_name(), &key),
        },
    );
    let outcome = match &assessment {
        Assessment::Write { change, .. } if !ctx.settings.read_only => {
            let report = write_followed(ctx, api_js, &pool, change).await;
            report.results.into_iter().next().map(|result| result.2)
        }
        _ => None,
    };
    if address.consumer.is_some() && matches!(outcome, Some(Outcome::Done)) {
        ctx.followers.consumer_seen(&key);
    }
    if let (Assessment::Write { change, .. }, Some(Outcome::Done)) = (&assessment, &outcome)
        && matches!(change.action, PlanAction::Create | PlanAction::Replace)
    {
        // Made anew: the counts read before are not its own. They are read
        // at the next look, which follows at once (this status write is
        // watched) and writes them with the status it changes anyway.
        *counts = Counts::Unknown;
    }
    let mut conclusion = status::conclude(&assessment, outcome.as_ref(), ctx.settings.read_only);
    if let Some((old, holdings)) = replaced_old {
        conclusion = conclusion.with_note(Note {
            type_: NoteType::Warning,
            reason: events::REPLACED,
            message: format!(
                "{old} moved to {address} (spec.name or spec.streamName changed): deleted {old}, losing {}",
                crate::render::human::describe_loss(old.kind, &holdings)
            ),
            when_changed: None,
        });
    }
    let holds_asset = matches!(
        assessment,
        Assessment::InSync | Assessment::DriftReported(_)
    ) || matches!(outcome, Some(Outcome::Done));
    if holds_asset && recorded.as_ref() != Some(&address) {
        record_address(api, obj, &address).await?;
    }
    Ok(conclusion)
}

/// Applies one change; when it makes, replaces or deletes a stream (or a
/// bucket's), the consumers on it follow: marked as going with it before,
/// reconciled at once after.
async fn write_followed(
    ctx: &Context,
    api: &crate::nats::JsApi,
    pool: &str,
    change: &Change,
) -> apply::ApplyReport {
    let address = &change.address;
    let stream_like = address.consumer.is_none();
    let stream = address.stream_name();
    if stream_like && matches!(change.action, PlanAction::Replace | PlanAction::Delete) {
        ctx.followers.stream_going(pool, &stream);
    }
    let report = apply::apply(api, &single(change.clone()), &ctx.settings.apply).await;
    let done = matches!(report.results.first().map(|r| &r.2), Some(Outcome::Done));
    let moves = matches!(
        change.action,
        PlanAction::Create | PlanAction::Replace | PlanAction::Delete
    );
    if stream_like && done && moves {
        ctx.pool.touched(Touch {
            pool: pool.to_string(),
            stream,
            consumer: None,
            reach: Reach::Consumers,
        });
    }
    report
}

/// The plan of one resource's asset against its live state.
fn plan_one<K: AssetResource>(
    obj: &K,
    spec: &AssetSpec,
    address: &Address,
    live: &LiveLookup,
    owner: &str,
    server: crate::plan::capabilities::ServerVersion,
    standalone: bool,
) -> Plan {
    let declared_at = DeclaredAt::document(describe(obj), 0, 0);
    let Some(desired) = desired_from_spec(spec, &obj.jetstream_name(), declared_at) else {
        return Plan::default();
    };
    let options = PlanOptions {
        owner: owner.to_string(),
        prune: false,
        adopt: desired.adopt,
        allow_replace: desired.allow_replace,
        server,
        targets: Some(BTreeSet::from([address.clone()])),
        prune_all: false,
        unmanaged_consumers: Default::default(),
        standalone,
    };
    classify::plan(&[desired], &live.assets(), &options)
}

fn single(change: Change) -> Plan {
    Plan {
        changes: vec![change],
        ..Plan::default()
    }
}

fn delete_change(address: &Address, holdings: crate::plan::Holdings) -> Change {
    Change {
        address: address.clone(),
        action: PlanAction::Delete,
        reason: "its resource is deleted".into(),
        drift: false,
        reported: false,
        refused: None,
        before: None,
        after: None,
        diff: Vec::new(),
        loses: Some(holdings.into()),
        restore: Vec::new(),
        restore_holder: None,
        config: None,
        declared_at: None,
    }
}

/// Records the address the asset now lives at on the resource.
async fn record_address<K: AssetResource>(
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
async fn write_status<K>(
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

/// True when the condition `type_` differs in status or reason.
fn changed(previous: &[Condition], merged: &[Condition], type_: &str) -> bool {
    let summary = |conditions| {
        conditions::find(conditions, type_).map(|c| (c.status.clone(), c.reason.clone()))
    };
    summary(previous) != summary(merged)
}

/// Publishes the notes (those tied to a condition only when it changed);
/// returns the reasons published.
async fn publish<K: Resource<DynamicType = ()>>(
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

async fn send_event(ctx: &Context, reference: &ObjectReference, note: &Note) {
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

fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Cleans up the asset of a deleted resource: deletes it
/// (`deletionPolicy: Delete`) or removes the ownership marker (`Orphan`),
/// only when this resource owns it; an asset already gone is fine.
pub async fn cleanup_asset<K: AssetResource>(obj: Arc<K>, ctx: &Context) -> Result<Action, Error> {
    let key = resource_key(obj.as_ref());
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let policy = obj.policies().deletion_policy();
    let reference = obj.object_ref(&());
    let kind = K::KIND.as_str();
    let done = |ctx: &Context| {
        ctx.followers.forget(&key);
        ctx.pool.release(&key);
        ctx.metrics.managed(kind, &key, false);
        ctx.reset_retries(&key);
        Ok(Action::await_change())
    };
    if ctx.settings.read_only {
        tracing::info!(resource = %key, "read-only: the asset is left on the server");
        return done(ctx);
    }
    if obj.policies().suspended() || obj.policies().management_policy() == ManagementPolicy::Observe
    {
        tracing::info!(resource = %key, "suspended or observe-only: the asset is left on the server");
        return done(ctx);
    }
    let connection = match connection_for(ctx, &namespace, obj.policies().connection(), &key).await
    {
        Ok(connection) => connection,
        Err(conclusion) if policy == DeletionPolicy::Orphan => {
            let message = format!(
                "left the asset on the server with its ownership marker: {}",
                conclusion.judgements[0].message
            );
            send_event(ctx, &reference, &warning(events::ORPHANED, message)).await;
            return done(ctx);
        }
        // Never reconciled onto a server (no recorded address) and no
        // usable connection profile (e.g. a misspelt spec.connection): there
        // is nothing this resource could have made; do not hang the delete.
        Err(conclusion) if never_reached_a_server(obj.as_ref(), &conclusion) => {
            let message = format!(
                "nothing to clean up: the resource never reached a server ({})",
                conclusion.judgements[0].message
            );
            send_event(ctx, &reference, &warning(events::ORPHANED, message)).await;
            return done(ctx);
        }
        Err(conclusion) => {
            return Err(Error::Cleanup {
                resource: key,
                reason: conclusion.judgements[0].message.clone(),
            });
        }
    };
    let owner = owner_of(obj.as_ref(), ctx.settings.owner_prefix.as_deref());
    let mut addresses = vec![obj.address()];
    if let Some(recorded) = recorded_address(obj.as_ref())
        && !addresses.contains(&recorded)
    {
        addresses.insert(0, recorded);
    }
    let pool = ctx.pool.key_of(&key).unwrap_or_default();
    for address in addresses {
        let consent = obj.policies().unmanaged_consumers().unwrap_or_default();
        let note = cleanup_one(&connection, &address, &owner, (policy, consent, &pool), ctx)
            .await
            .map_err(|reason| Error::Cleanup {
                resource: key.clone(),
                reason,
            })?;
        if let Some(note) = note {
            send_event(ctx, &reference, &note).await;
        }
    }
    done(ctx)
}

/// True when the resource has no recorded address and its connection
/// profile cannot be used at all (missing or invalid, not merely down).
fn never_reached_a_server<K: AssetResource>(obj: &K, conclusion: &Conclusion) -> bool {
    let unusable = conclusion.verdict == Verdict::Stalled
        || [reasons::CONNECTION_NOT_FOUND, reasons::SECRET_NOT_FOUND]
            .contains(&conclusion.judgements[0].reason);
    recorded_address(obj).is_none() && unusable
}

fn warning(reason: &'static str, message: String) -> Note {
    Note {
        type_: NoteType::Warning,
        reason,
        message,
        when_changed: None,
    }
}

async fn cleanup_one(
    connection: &Connection,
    address: &Address,
    owner: &str,
    (policy, consent, pool): (DeletionPolicy, UnmanagedConsumers, &str),
    ctx: &Context,
) -> Result<Option<Note>, String> {
    let api = connection.api();
    let mut live = lookup(api, address).await.map_err(|e| e.to_string())?;
    // Deleting a stream deletes every consumer on it: other applications'
    // durable ones only with spec.unmanagedConsumers: Delete.
    if policy == DeletionPolicy::Delete
        && consent != UnmanagedConsumers::Delete
        && live.consumer_count.unwrap_or(0) > 0
    {
        live.list_consumers(api).await.map_err(|e| e.to_string())?;
        let theirs: Vec<String> = live
            .consumers
            .iter()
            .filter(|c| ownership::live_owner(&c.config).is_none())
            .filter_map(|c| c.address.consumer.as_ref().map(|name| format!("`{name}`")))
            .collect();
        if !theirs.is_empty() {
            return Err(format!(
                "deleting {address} would destroy {} durable consumer(s) jetsync does not \
                 manage: {}; set spec.unmanagedConsumers: Delete to let them go, or \
                 deletionPolicy: Orphan to leave the stream",
                theirs.len(),
                theirs.join(", ")
            ));
        }
    }
    let Some(asset) = live.asset else {
        return Ok(None); // already gone
    };
    let marked = ownership::live_owner(&asset.config);
    if marked.as_deref() != Some(owner) {
        let by = marked.map_or_else(|| "nobody".to_string(), |o| format!("`{o}`"));
        return Ok(Some(Note {
            type_: NoteType::Normal,
            reason: events::DELETE_REFUSED,
            message: format!("left {address} alone: it is managed by {by}, not by this resource"),
            when_changed: None,
        }));
    }
    match policy {
        DeletionPolicy::Delete => {
            let report =
                write_followed(ctx, api, pool, &delete_change(address, asset.holdings)).await;
            match report.results.into_iter().next().map(|r| r.2) {
                Some(Outcome::Done) => Ok(Some(Note {
                    type_: NoteType::Normal,
                    reason: events::DELETED,
                    message: format!(
                        "deleted {address} ({} lost)",
                        crate::render::human::describe_loss(address.kind, &asset.holdings)
                    ),
                    when_changed: None,
                })),
                Some(Outcome::Failed(error) | Outcome::Skipped(error)) => Err(error),
                None => Err("the delete was not attempted".into()),
            }
        }
        DeletionPolicy::Orphan => {
            let config = unmarked(&asset.config.value());
            let result = match &address.consumer {
                Some(name) => {
                    let body =
                        json!({"stream_name": address.name, "config": config, "action": "update"});
                    api.request_raw(
                        &format!("CONSUMER.CREATE.{}.{name}", address.name),
                        Some(&body),
                    )
                    .await
                }
                None => {
                    api.request_raw(
                        &format!("STREAM.UPDATE.{}", address.stream_name()),
                        Some(&config),
                    )
                    .await
                }
            };
            result.map_err(|e| e.to_string())?;
            Ok(Some(Note {
                type_: NoteType::Normal,
                reason: events::ORPHANED,
                message: format!("left {address} on the server and removed its ownership marker"),
                when_changed: None,
            }))
        }
    }
}

/// A live config without jetsync's markers and the server's `_nats.*` keys,
/// to hand the asset over.
fn unmarked(config: &Value) -> Value {
    let mut config = ownership::without_markers(config);
    if let Some(metadata) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.retain(|key, _| !key.starts_with("_nats."));
    }
    config
}

/// Reconciles a `NatsConnection`: resolves its Secrets, connects (through
/// the pool) and reports whether JetStream answers. Its finalizer keeps it
/// while resources name it, so their cleanup can still reach the server.
pub async fn reconcile_connection(
    obj: Arc<NatsConnection>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let api: Api<NatsConnection> = Api::namespaced(ctx.client.clone(), &namespace);
    finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            FinalizerEvent::Apply(obj) => apply_connection(&api, obj, &ctx).await,
            FinalizerEvent::Cleanup(obj) => cleanup_connection(obj, &ctx).await,
        }
    })
    .await
    .map_err(|error| Error::Finalizer(Box::new(error)))
}

async fn apply_connection(
    api: &Api<NatsConnection>,
    obj: Arc<NatsConnection>,
    ctx: &Context,
) -> Result<Action, Error> {
    let started = Instant::now();
    let key = resource_key(obj.as_ref());
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let spec = AssetSpec::NatsConnection(obj.spec.clone());
    let conclusion = if let Some(errors) = invalid_spec(&obj.name_any(), &spec) {
        Conclusion::stalled(reasons::INVALID_SPEC, errors)
    } else {
        match resolve_profile(&ctx.client, &namespace, &obj.spec).await {
            Err(error) => profile_conclusion(&error),
            Ok(material) => {
                let profile = Profile::Named(Box::new(material));
                match ctx.pool.get(&profile, None).await {
                    // The profile key is in the message so that a rotated Secret
                    // changes this status, which re-reconciles the dependents.
                    Ok(connection) => {
                        ctx.metrics.connections_open(ctx.pool.open());
                        let watching = watching(ctx, ctx.pool.watch_state(&profile).await);
                        ctx.metrics.connections_unwatched(ctx.pool.unwatched());
                        Conclusion::ready(
                            reasons::CONNECTED,
                            format!(
                                "{}; {}",
                                describe_server(&connection),
                                ctx.pool.key(&profile)
                            ),
                        )
                        .with_judgement(watching)
                    }
                    Err(error) => {
                        let (conclusion, reason) = connection_conclusion(&error);
                        ctx.metrics.connection_failed(reason);
                        conclusion
                    }
                }
            }
        }
    };
    let conclusion = if conclusion
        .judgements
        .iter()
        .any(|j| j.type_ == types::WATCHING)
    {
        conclusion
    } else {
        let reason = conclusion.judgements[0].reason;
        conclusion.with_judgement(Judgement::unknown(
            types::WATCHING,
            reason,
            "not connected: advisories are read once the connection is up",
        ))
    };
    let previous = obj
        .status
        .as_ref()
        .map(|s| s.conditions.clone())
        .unwrap_or_default();
    let merged = write_status(
        api,
        obj.as_ref(),
        obj.status.as_ref(),
        &conclusion.judgements,
        Counts::Unknown,
    )
    .await?;
    publish(ctx, obj.as_ref(), &conclusion.notes, &previous, &merged).await;
    ctx.metrics.reconciled(
        "NatsConnection",
        conclusion.verdict.label(),
        started.elapsed(),
    );
    if conclusion.verdict == Verdict::Ready {
        ctx.reset_retries(&key);
    }
    Ok(Action::requeue(ctx.retry_after(&key, conclusion.next)))
}

/// The `Watching` condition of a connection whose advisories are `state`.
fn watching(ctx: &Context, state: Option<WatchState>) -> Judgement {
    match state {
        Some(WatchState::Watching) => Judgement::yes(
            types::WATCHING,
            reasons::ADVISORIES_SUBSCRIBED,
            "subscribed to JetStream advisories: out-of-band changes are noticed at once",
        ),
        Some(WatchState::Refused(refusal)) => Judgement::no(
            types::WATCHING,
            reasons::ADVISORIES_REFUSED,
            format!(
                "cannot subscribe to JetStream advisories ({refusal}): out-of-band changes are noticed at the periodic check only (every {}); allow subscribing to $JS.EVENT.ADVISORY.>",
                crate::spec::units::Duration::from_nanos(
                    u64::try_from(ctx.settings.drift_interval.as_nanos()).unwrap_or(u64::MAX)
                )
            ),
        ),
        Some(WatchState::Starting) | None => Judgement::unknown(
            types::WATCHING,
            reasons::CONNECTED,
            "the subscription to JetStream advisories is not settled yet",
        ),
    }
}

fn describe_server(connection: &Connection) -> String {
    let server = &connection.server;
    let mut text = format!(
        "nats-server {} at {}, JetStream API level {}",
        server.version, server.url_redacted, server.api_level
    );
    if let Some(account) = &server.account {
        text.push_str(&format!(", account {account}"));
    }
    if let Some(domain) = &server.domain {
        text.push_str(&format!(", domain {domain}"));
    }
    text
}

async fn cleanup_connection(obj: Arc<NatsConnection>, ctx: &Context) -> Result<Action, Error> {
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let name = obj.name_any();
    let users = connection_users(&ctx.client, &namespace, &name).await?;
    if !users.is_empty() {
        return Err(Error::InUse {
            connection: format!("{namespace}/{name}"),
            users: users.join(", "),
        });
    }
    Ok(Action::await_change())
}

/// The resources in `namespace` whose `spec.connection` is `name`.
pub async fn connection_users(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Vec<String>, Error> {
    async fn users_of<K: AssetResource>(
        client: &kube::Client,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<String>, Error> {
        let api: Api<K> = Api::namespaced(client.clone(), namespace);
        let list = api.list(&ListParams::default()).await?;
        Ok(list
            .items
            .iter()
            .filter(|obj| obj.policies().connection() == Some(name))
            .map(|obj| format!("{} {}", K::KIND, obj.name_any()))
            .collect())
    }
    let mut users = users_of::<Stream>(client, namespace, name).await?;
    users.extend(users_of::<KeyValue>(client, namespace, name).await?);
    users.extend(users_of::<ObjectStore>(client, namespace, name).await?);
    users.extend(users_of::<Consumer>(client, namespace, name).await?);
    Ok(users)
}
