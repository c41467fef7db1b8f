//! The asset reconciler: the engine's plan and apply for one resource's
//! asset, then its status, events and the next look.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use serde_json::Value;

use super::Context;
use super::advisories::{Reach, Touch};
use super::conditions::{self, Judgement, events, reasons, types};
use super::connecting::{connection_for, invalid_spec, request_conclusion};
use super::events::publish;
use super::known::Known;
use super::owned_status::{self, Counts};
use super::reconcile::{Error, resource_key};
use super::resource::{AssetResource, describe, owner_of, recorded_address};
use super::status::{self, Assessment, Conclusion, Next, Note, NoteType, Verdict};
use super::status_write::{has_finalizer, write_metadata, write_status};
use crate::apply::{self, ChangeOutcome};
use crate::engine::{self, LiveLookup, lookup, lookup_consumer};
use crate::plan::classify::{Action as PlanAction, Change, Plan};
use crate::plan::desired::desired_from_spec;
use crate::plan::{Address, DeclaredAt, ownership};
use crate::spec::AssetSpec;
use crate::spec::common::{ManagementPolicy, OnImmutableChange};

/// How long a new consumer waits for its stream before its status says so.
pub const STREAM_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// What a reconcile found out besides its conclusion.
pub(crate) struct Findings {
    /// The live counts, as far as they were read.
    pub counts: Counts,
    /// The finalizer is still to be added (a new resource).
    pub add_finalizer: bool,
}

/// Reconciles the asset of a live (not deleting) resource: at most one
/// write of its metadata (a new resource's finalizer with its address), one
/// of its status, and the Events of what happened.
pub async fn apply_asset<K: AssetResource>(
    api: &Api<K>,
    obj: Arc<K>,
    ctx: &Context,
) -> Result<Action, Error> {
    let started = Instant::now();
    let key = resource_key(obj.as_ref());
    let obj = ctx.written.freshest(&key, obj);
    let mut findings = Findings {
        counts: Counts::Unknown,
        add_finalizer: !has_finalizer(obj.as_ref()),
    };
    let conclusion = if obj.policies().suspended() {
        Conclusion::suspended()
    } else {
        assess_and_apply(api, obj.as_ref(), ctx, &mut findings).await?
    };
    let waiting = conclusion.next == Next::Stream;
    if waiting && obj.asset_status().is_none() {
        // A new consumer applied with its stream usually sees the stream
        // made within moments: it says it waits only if it still does after
        // STREAM_GRACE (it is woken at once when the stream is there).
        let waited = ctx.known.waited(&key, ctx.pool.clock());
        if waited < STREAM_GRACE {
            return Ok(Action::requeue(STREAM_GRACE - waited));
        }
    }
    if !waiting {
        ctx.known.not_waiting(&key);
    }
    // The finalizer comes with the first reconcile that finds or makes the
    // asset, or cannot tell; one whose asset is known absent has nothing to
    // clean up yet (a consumer waiting for its stream, read-only).
    if findings.add_finalizer
        && findings.counts != Counts::Gone
        && let Some(written) = write_metadata(api, obj.as_ref(), true, None).await?
    {
        ctx.written.remember(&key, written);
    }
    let kind = K::KIND.as_str();
    let previous = obj
        .asset_status()
        .map(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut judgements = if obj.policies().suspended() {
        conclusion.judgements.clone()
    } else {
        with_drift_default(&conclusion, &previous)
    };
    if conclusion.steady {
        judgements = status::steady(&judgements, &previous);
    }
    let (merged, written) = write_status(
        api,
        obj.as_ref(),
        obj.asset_status(),
        &judgements,
        findings.counts,
    )
    .await?;
    if let Some(written) = written {
        ctx.written.remember(&key, written);
    }
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
    let action = ctx.next_look(&key, conclusion.next);
    tracing::info!(
        resource = %key,
        verdict = conclusion.verdict.label(),
        reason = conclusion.judgements.first().map(|j| j.reason).unwrap_or_default(),
        next = ?action,
        "reconciled"
    );
    Ok(action)
}

/// A `Drifted=Unknown` judgement when this reconcile could not check drift
/// and the resource has no `Drifted` condition yet.
pub(crate) fn with_drift_default(
    conclusion: &Conclusion,
    previous: &[Condition],
) -> Vec<Judgement> {
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
pub(crate) async fn assess_and_apply<K: AssetResource>(
    api: &Api<K>,
    obj: &K,
    ctx: &Context,
    findings: &mut Findings,
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
        Err(error) => {
            return Ok(Conclusion::waiting(
                reasons::CONNECTION_FAILED,
                error.to_string(),
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
            if let Some(ChangeOutcome::Failed(error)) = report.results.first().map(|r| &r.2) {
                return Ok(Conclusion::waiting(
                    reasons::APPLY_FAILED,
                    format!("could not delete {old} (moved to {address}): {error}"),
                    Next::Backoff,
                ));
            }
            replaced_old = Some((old.clone(), old_asset.holdings));
        }
    }

    let stream_name = address.stream_name();
    let known = ctx.known.get(&pool, &stream_name);
    let live = match (&address.consumer, known) {
        (Some(consumer), Some(Known::Absent)) => {
            // No stream, so no consumer: its counts go.
            findings.counts = Counts::Gone;
            wait_for_stream(ctx, &pool, &stream_name, consumer);
            return Ok(waiting_for_stream(&address));
        }
        (Some(consumer), Some(Known::Present { stream, consumers })) => {
            let known_absent = consumers.is_some_and(|names| !names.contains(consumer));
            lookup_consumer(api_js, &address, stream, known_absent).await
        }
        _ => {
            let read_at = std::time::Instant::now();
            lookup(api_js, &address)
                .await
                .inspect(|live| learn(ctx, &pool, &address, live, read_at))
        }
    }
    .inspect_err(|_| ctx.known.forget(&pool, &stream_name));
    let mut live = match live {
        Ok(found) => found,
        Err(error) => return Ok(request_conclusion(&error)),
    };
    findings.counts = match &live.asset {
        Some(asset) => {
            tracing::debug!(resource = %key, holds = %owned_status::summary(address.kind, asset, live.consumer_count), "live asset");
            Counts::Read(owned_status::live_summary(
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
    if let (Some(consumer), true) = (&address.consumer, live.stream_missing(&address)) {
        wait_for_stream(ctx, &pool, &stream_name, consumer);
        return Ok(waiting_for_stream(&address));
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
    let assessment = status::assess(
        &plan,
        live.asset.as_ref(),
        intent(obj, ctx, &pool, &address, recorded.as_ref(), &live),
    );
    let outcome = match &assessment {
        Assessment::Write { change, .. } if !ctx.settings.read_only => {
            let report = write_followed(ctx, api_js, &pool, change).await;
            report.results.into_iter().next().map(|result| result.2)
        }
        _ => None,
    };
    if address.consumer.is_some() && matches!(outcome, Some(ChangeOutcome::Done)) {
        ctx.followers.consumer_seen(&key);
    }
    if let (Assessment::Write { change, .. }, Some(ChangeOutcome::Done)) = (&assessment, &outcome)
        && matches!(change.action, PlanAction::Create | PlanAction::Replace)
    {
        // Made anew: the counts read before are not its own; it starts
        // empty. The re-check writes them once they move.
        findings.counts = Counts::Read(owned_status::empty_summary(address.kind));
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
    if matches!(assessment, Assessment::InSync)
        && let Some(asset) = &live.asset
        && ownership::live_owner(&asset.config).as_deref() == Some(owner.as_str())
    {
        let previous = obj
            .asset_status()
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default();
        if let Some(note) = status::untold_creation(&address, previous) {
            conclusion = conclusion.with_note(note);
        }
    }
    let holds_asset = matches!(
        assessment,
        Assessment::InSync | Assessment::DriftReported(_)
    ) || matches!(outcome, Some(ChangeOutcome::Done));
    let record = (holds_asset && recorded.as_ref() != Some(&address)).then_some(&address);
    if record.is_some() {
        match write_metadata(api, obj, findings.add_finalizer, record).await {
            Ok(written) => {
                findings.add_finalizer = false;
                if let Some(written) = written {
                    ctx.written.remember(&key, written);
                }
            }
            Err(Error::Kube(kube::Error::Api(status))) if status.code == 404 => {
                // Deleted before its finalizer was on: what this reconcile
                // made would be left behind.
                if let (Assessment::Write { change, .. }, Some(ChangeOutcome::Done)) =
                    (&assessment, &outcome)
                    && change.action == PlanAction::Create
                {
                    let undo = delete_change(&address, crate::plan::Holdings::default());
                    write_followed(ctx, api_js, &pool, &undo).await;
                }
                return Err(Error::Kube(kube::Error::Api(status)));
            }
            Err(error) => return Err(error),
        }
    }
    if holds_asset && address.consumer.is_none() {
        stream_is_there(ctx, &pool, &stream_name);
    }
    Ok(conclusion)
}

/// How the resource asks to be reconciled, with what the controller knows
/// of its asset's past.
pub(crate) fn intent<K: AssetResource>(
    obj: &K,
    ctx: &Context,
    pool: &str,
    address: &Address,
    recorded: Option<&Address>,
    live: &LiveLookup,
) -> status::Intent {
    let policies = obj.policies();
    status::Intent {
        drift_policy: policies.drift_policy(),
        adopt: policies.adopt(),
        reconciled_before: recorded == Some(address),
        observe: policies.management_policy() == ManagementPolicy::Observe,
        went_with_stream: address.consumer.is_some()
            && live.asset.is_none()
            && ctx
                .followers
                .went_with_stream(pool, &address.stream_name(), &resource_key(obj)),
    }
}

/// A consumer's conclusion while its stream is absent: it waits for the
/// stream, woken when it is there.
pub(crate) fn waiting_for_stream(address: &Address) -> Conclusion {
    Conclusion::waiting(
        reasons::STREAM_NOT_READY,
        format!(
            "stream `{}` does not exist yet; waiting for it",
            address.name
        ),
        Next::Stream,
    )
}

/// Remembers what a full lookup of `address` found of its stream (and of
/// the consumer), so that the consumers on the stream need not read it.
fn learn(ctx: &Context, pool: &str, address: &Address, live: &LiveLookup, read_at: Instant) {
    let stream_name = address.stream_name();
    let stream = match &address.consumer {
        None => live.asset.as_ref(),
        Some(_) => live.stream.as_ref(),
    };
    let Some(stream) = stream else {
        ctx.known.read(pool, &stream_name, Known::Absent, read_at);
        return;
    };
    // A stream without consumers has none to look up; otherwise they are
    // not listed here, so each consumer reads its own.
    let none = stream.holdings.consumer_count == 0;
    let present = Known::Present {
        stream: stream.clone(),
        consumers: none.then(BTreeSet::new),
    };
    ctx.known.read(pool, &stream_name, present, read_at);
    if let (Some(consumer), Some(_)) = (&address.consumer, &live.asset) {
        ctx.known.consumer_made(pool, &stream_name, consumer);
    }
    if address.consumer.is_some() {
        stream_is_there(ctx, pool, &stream_name);
    }
}

/// The consumer `consumer` waits for its stream; when the stream came
/// while it looked, it is reconciled again at once.
fn wait_for_stream(ctx: &Context, pool: &str, stream: &str, consumer: &str) {
    if !ctx.known.wait(pool, stream, consumer) {
        ctx.pool.touched(Touch {
            pool: pool.to_string(),
            stream: stream.to_string(),
            consumer: Some(consumer.to_string()),
            reach: Reach::Consumers,
        });
    }
}

/// The stream is on the server: the consumers waiting for it are
/// reconciled now.
fn stream_is_there(ctx: &Context, pool: &str, stream: &str) {
    for consumer in ctx.known.ready(pool, stream) {
        ctx.pool.touched(Touch {
            pool: pool.to_string(),
            stream: stream.to_string(),
            consumer: Some(consumer),
            reach: Reach::Consumers,
        });
    }
}

/// Applies one change; when it makes, replaces or deletes a stream (or a
/// bucket's), the consumers on it follow: marked as going with it before,
/// reconciled at once after.
pub(crate) async fn write_followed(
    ctx: &Context,
    api: &crate::nats::JsApi,
    pool: &str,
    change: &Change,
) -> apply::Applied {
    let address = &change.address;
    let stream_like = address.consumer.is_none();
    let stream = address.stream_name();
    if stream_like && matches!(change.action, PlanAction::Replace | PlanAction::Delete) {
        ctx.followers.stream_going(pool, &stream);
    }
    let report = apply::run(api, &single(change.clone()), &ctx.settings.apply).await;
    let done = matches!(
        report.results.first().map(|r| &r.2),
        Some(ChangeOutcome::Done)
    );
    learn_written(ctx, pool, change, done);
    let goes_or_comes_anew = matches!(change.action, PlanAction::Replace | PlanAction::Delete);
    if stream_like && done && goes_or_comes_anew {
        ctx.pool.touched(Touch {
            pool: pool.to_string(),
            stream,
            consumer: None,
            reach: Reach::Consumers,
        });
    }
    report
}

/// Remembers what a write did to its stream: made anew (no consumer on it
/// yet), deleted, or changed (forgotten, read again when needed).
fn learn_written(ctx: &Context, pool: &str, change: &Change, done: bool) {
    let address = &change.address;
    let stream = address.stream_name();
    match (&address.consumer, change.action, done) {
        (_, _, false) => ctx.known.forget(pool, &stream),
        (None, PlanAction::Create | PlanAction::Replace, true) => {
            let made = crate::plan::LiveAsset {
                address: crate::plan::Address::from_stream_name(&stream),
                config: crate::plan::LiveConfig::new(
                    change.config.as_ref().unwrap_or(&Value::Null),
                ),
                holdings: crate::plan::Holdings::default(),
            };
            ctx.known
                .present(pool, &stream, made, Some(BTreeSet::new()));
        }
        (None, PlanAction::Delete, true) => ctx.known.absent(pool, &stream),
        (None, _, true) => ctx.known.forget(pool, &stream),
        (Some(consumer), PlanAction::Delete, true) => {
            ctx.known.consumer_gone(pool, &stream, consumer)
        }
        (Some(consumer), _, true) => ctx.known.consumer_made(pool, &stream, consumer),
    }
}

/// The plan of one resource's asset against its live state.
pub(crate) fn plan_one<K: AssetResource>(
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
    debug_assert_eq!(&desired.address, address);
    engine::plan_lookup(desired, live, owner, server, standalone)
}

pub(crate) fn single(change: Change) -> Plan {
    Plan {
        changes: vec![change],
        ..Plan::default()
    }
}

pub(crate) fn delete_change(address: &Address, holdings: crate::plan::Holdings) -> Change {
    Change {
        loses: Some(holdings.into()),
        ..Change::new(
            address.clone(),
            PlanAction::Delete,
            "its resource is deleted",
        )
    }
}
