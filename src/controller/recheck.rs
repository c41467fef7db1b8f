//! The periodic drift check, by listing: every drift interval (jittered),
//! each connection a resource uses is listed the way the CLI observes
//! (`STREAM.LIST` pages, one `CONSUMER.LIST` per stream with consumers),
//! and only the resources whose asset differs from their spec, is missing,
//! or whose status would change are reconciled; a resource in sync costs
//! no request of its own and no write. Reconciles caused by a spec change
//! or an advisory still read their asset with INFO requests.
//!
//! The decision runs the reconcile's own pure steps (plan, assessment,
//! conclusion, next status) against the listed assets. A connection whose
//! listing fails (no permission to list, say) has every resource on it
//! reconciled, as before.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use super::Context;
use super::asset::{intent, plan_one, waiting_for_stream, with_drift_default};
use super::connecting::invalid_spec;
use super::owned_status::{self, Counts};
use super::reconcile::resource_key;
use super::resource::{AssetResource, owner_of, recorded_address};
use super::status::{self, Assessment};
use super::status_write::status_after;
use crate::engine::{self, LiveLookup};
use crate::nats::{Connection, ObserveOptions};
use crate::plan::capabilities::ServerVersion;
use crate::plan::{Address, LiveAsset};

/// One connection's listing, handed to every kind's controller.
#[derive(Debug)]
pub struct Listing {
    /// The pool key of the connection.
    pub pool: String,
    /// What was listed; None when the listing failed.
    pub listed: Option<Listed>,
}

/// The assets of one account, as listed.
#[derive(Debug)]
pub struct Listed {
    server: ServerVersion,
    standalone: bool,
    assets: HashMap<Address, LiveAsset>,
    /// Streams the server listed as missing or offline: looked like absent.
    unavailable: HashSet<String>,
    /// JetStream API requests the listing took.
    pub requests: usize,
}

impl Listed {
    /// What the listing shows at `address`, as a lookup would.
    fn live_of(&self, address: &Address) -> LiveLookup {
        let stream = self
            .assets
            .get(&Address::from_stream_name(&address.stream_name()))
            .cloned();
        match &address.consumer {
            None => LiveLookup {
                consumer_count: stream.as_ref().map(|s| s.holdings.consumer_count),
                asset: stream,
                stream: None,
                consumers: Vec::new(),
            },
            Some(_) => LiveLookup {
                asset: stream
                    .is_some()
                    .then(|| self.assets.get(address).cloned())
                    .flatten(),
                stream,
                consumer_count: None,
                consumers: Vec::new(),
            },
        }
    }
}

/// Lists the account of the pooled connection `pool` (None when it is not
/// connected or the listing failed).
pub async fn list(ctx: &Context, pool: &str) -> Listing {
    let listed = match ctx.pool.pooled(pool).await {
        Some(connection) => listed(&connection).await,
        None => None,
    };
    if listed.is_some() {
        // What the controller learnt of the account before is older than
        // this listing (an advisory may have been missed).
        ctx.known.forget_pool(pool);
    }
    Listing {
        pool: pool.to_string(),
        listed,
    }
}

async fn listed(connection: &Connection) -> Option<Listed> {
    let server = engine::server_version(connection).ok()?;
    let mut state = match connection.observe(&ObserveOptions::default()).await {
        Ok(state) => state,
        Err(error) => {
            tracing::warn!(%error, "the periodic re-check cannot list; every resource on the connection is looked up");
            return None;
        }
    };
    let unavailable = std::mem::take(&mut state.unavailable)
        .into_iter()
        .map(|u| u.stream)
        .collect();
    let requests = state.requests;
    let assets = engine::live_assets(state)
        .into_iter()
        .map(|asset| (asset.address.clone(), asset))
        .collect();
    Some(Listed {
        server,
        standalone: connection.server.standalone,
        assets,
        unavailable,
        requests,
    })
}

/// Lists every connection in use and hands each listing to the kinds'
/// controllers; returns the listings' request count.
pub async fn recheck(ctx: &Context) -> usize {
    let mut requests = 0;
    for pool in ctx.pool.keys_in_use() {
        let listing = list(ctx, &pool).await;
        requests += listing.listed.as_ref().map_or(0, |l| l.requests);
        let _ = ctx.listings.send(Arc::new(listing));
    }
    requests
}

/// Re-checks by listing every drift interval (jittered), until dropped.
pub async fn run(ctx: Arc<Context>) {
    loop {
        tokio::time::sleep(super::jittered(ctx.settings.drift_interval)).await;
        let requests = recheck(&ctx).await;
        tracing::info!(requests, "periodic re-check listed every connection in use");
    }
}

/// The resources among `resources` that `listing` says need a reconcile.
pub fn woken<K: AssetResource>(
    ctx: &Context,
    resources: &[Arc<K>],
    listing: &Listing,
) -> Vec<ObjectRef<K>> {
    resources
        .iter()
        .filter(|obj| {
            ctx.pool.key_of(&resource_key(obj.as_ref())).as_deref() == Some(&listing.pool)
        })
        .filter(|obj| match &listing.listed {
            None => true,
            Some(listed) => differs(ctx, Arc::clone(obj), listed),
        })
        .map(|obj| ObjectRef::from_obj(obj.as_ref()))
        .collect()
}

/// The resources of `store` the periodic listings wake (the controller's
/// `reconcile_on` trigger).
pub fn listed_resources<K: AssetResource>(
    ctx: Arc<Context>,
    store: Store<K>,
) -> impl futures::Stream<Item = ObjectRef<K>> + Send + 'static {
    let listings = futures::stream::unfold(ctx.listings.subscribe(), |mut listings| async move {
        loop {
            match listings.recv().await {
                Ok(listing) => return Some((listing, listings)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    listings.flat_map(move |listing| {
        let found = woken(&ctx, &store.state(), &listing);
        tracing::debug!(kind = %K::KIND, pool = %listing.pool, woken = found.len(), "re-checked by listing");
        futures::stream::iter(found)
    })
}

/// True when a reconcile of `obj` would write anything, judged against the
/// listed assets: a change to its asset, or a different status.
fn differs<K: AssetResource>(ctx: &Context, obj: Arc<K>, listed: &Listed) -> bool {
    let key = resource_key(obj.as_ref());
    let obj = ctx.written.freshest(&key, obj);
    let obj = obj.as_ref();
    if obj.policies().suspended() || invalid_spec(&obj.name_any(), &obj.asset_spec()).is_some() {
        return false; // nothing to read; a spec change wakes it
    }
    let address = obj.address();
    let recorded = recorded_address(obj);
    if recorded.as_ref() != Some(&address) {
        return true; // its first reconcile, or a move, is not done
    }
    if listed.unavailable.contains(&address.stream_name()) {
        return false; // it would look absent: left until the server answers
    }
    let read_only = ctx.settings.read_only;
    let live = listed.live_of(&address);
    let conclusion = if live.stream_missing(&address) {
        waiting_for_stream(&address)
    } else {
        let owner = owner_of(obj, ctx.settings.owner_prefix.as_deref());
        let plan = plan_one(
            obj,
            &obj.asset_spec(),
            &address,
            &live,
            &owner,
            listed.server,
            listed.standalone,
        );
        let pool = ctx.pool.key_of(&key).unwrap_or_default();
        let intent = intent(obj, ctx, &pool, &address, recorded.as_ref(), &live);
        let assessment = status::assess(&plan, live.asset.as_ref(), intent);
        if matches!(assessment, Assessment::Write { .. }) && !read_only {
            return true;
        }
        status::conclude(&assessment, None, read_only)
    };
    let previous = obj.asset_status();
    let conditions = previous
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let mut judgements = with_drift_default(&conclusion, conditions);
    if conclusion.steady {
        judgements = status::steady(&judgements, conditions);
    }
    let counts = match &live.asset {
        Some(asset) => Counts::Read(owned_status::live_summary(
            address.kind,
            asset,
            live.consumer_count,
        )),
        None => Counts::Gone,
    };
    Some(&status_after(obj, previous, &judgements, counts)) != previous
}
