//! Reconciling one resource: the engine's plan and apply for its one asset,
//! then status, events and the next look. `reconcile` wraps everything in
//! the finalizer (`Apply` → [`apply_asset`], `Cleanup` → [`cleanup_asset`]);
//! `error_policy` logs, counts and backs off. Every field is compared at
//! every reconcile, whatever triggered it.

use std::sync::Arc;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as FinalizerEvent, finalizer};
use kube::{Resource, ResourceExt};

use super::Context;
use super::resource::AssetResource;
use super::status::Next;

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

pub use super::asset::apply_asset;
pub use super::cleanup::cleanup_asset;
pub use super::nats_connection::{connection_users, reconcile_connection};

/// Reconciles one asset resource (the kube-runtime reconciler). A live
/// resource is reconciled at once, its finalizer added with the first write
/// of its metadata ([`apply_asset`]); a deleted one is cleaned up through
/// kube-runtime's finalizer helper, which then removes the finalizer.
pub async fn reconcile<K: AssetResource>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    if obj.meta().deletion_timestamp.is_none() {
        return apply_asset(&api, obj, &ctx).await;
    }
    let key = resource_key(obj.as_ref());
    let action = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            FinalizerEvent::Apply(obj) => apply_asset(&api, obj, &ctx).await,
            FinalizerEvent::Cleanup(obj) => cleanup_asset(obj, &ctx).await,
        }
    })
    .await
    .map_err(|error| Error::Finalizer(Box::new(error)))?;
    ctx.written.forget(&key);
    Ok(action)
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
