//! The `NatsConnection` reconciler: resolves a profile's Secrets,
//! connects through the pool and reports whether JetStream answers.

use std::sync::Arc;
use std::time::Instant;

use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};

use super::Context;
use super::advisories::WatchState;
use super::conditions::{Judgement, reasons, types};
use super::connecting::{connection_conclusion, invalid_spec, profile_conclusion};
use super::connections::{Profile, resolve_profile};
use super::events::publish;
use super::owned_status::Counts;
use super::reconcile::{Error, FINALIZER, resource_key};
use super::resource::AssetResource;
use super::status::{Conclusion, Verdict};
use super::status_write::write_status;
use crate::nats::Connection;
use crate::resources::{Consumer, KeyValue, NatsConnection, ObjectStore, Stream};
use crate::spec::AssetSpec;

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

pub(crate) async fn apply_connection(
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
    let (merged, _) = write_status(
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
pub(crate) fn watching(ctx: &Context, state: Option<WatchState>) -> Judgement {
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

pub(crate) fn describe_server(connection: &Connection) -> String {
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

pub(crate) async fn cleanup_connection(
    obj: Arc<NatsConnection>,
    ctx: &Context,
) -> Result<Action, Error> {
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
