//! The asset reconciler: the engine's plan and apply for one resource's
//! asset, then its status, events and the next look.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;

use super::Context;
use super::advisories::{Reach, Touch};
use super::conditions::{self, Judgement, events, reasons, types};
use super::live::{LiveLookup, lookup};
use super::owned_status::Counts;
use super::resource::{AssetResource, describe, owner_of, recorded_address};
use super::status::{self, Assessment, Conclusion, Next, Note, NoteType, Verdict};
use crate::apply::{self, Outcome};
use crate::engine;
use crate::plan::classify::{self, Action as PlanAction, Change, Plan, PlanOptions};
use crate::plan::desired::desired_from_spec;
use crate::plan::{Address, DeclaredAt, ownership};
use crate::spec::AssetSpec;
use crate::spec::common::{ManagementPolicy, OnImmutableChange};

use super::connecting::*;
use super::events::*;
use super::reconcile::{Error, resource_key};
use super::status_write::*;

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
pub(crate) async fn write_followed(
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

pub(crate) fn single(change: Change) -> Plan {
    Plan {
        changes: vec![change],
        ..Plan::default()
    }
}

pub(crate) fn delete_change(address: &Address, holdings: crate::plan::Holdings) -> Change {
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
