//! The engine's one pipeline: **load → validate → observe → plan → apply**.
//!
//! Loading and validating are `manifest`'s, planning is `plan`'s pure core,
//! applying is [`crate::apply`]'s; the engine strings them together per
//! connection and observes in one of two ways ([`Strategy`]): by listing
//! the whole account, or by one INFO request per asset. The CLI's plan, diff
//! and apply run [`Pipeline`]; a reconcile of one resource observes with
//! [`lookup`] and plans with [`plan_lookup`]. What stops the pipeline is an
//! [`EngineError`], which keeps the server's `err_code`.

mod error;
mod limits;
mod lookup;
mod observe;
mod profile;
mod topology;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub use error::{EngineError, ProfileError, Reading, UnreadableServerVersion};
pub use limits::refuse_past_account_limits;
pub use lookup::{LiveLookup, lookup, lookup_consumer, plan_lookup};
pub use observe::{
    Listing, Prefetch, Strategy, connect_and_list, connect_and_observe, live_assets,
    refuse_unavailable,
};
pub use profile::connect_options;
pub use topology::check_topology;

use crate::apply::{self, Applied, ApplyOptions};
use crate::manifest::{self, Declared, Manifests};
use crate::nats::{ApiRequestError, Connection, LiveState, ObserveOptions};
use crate::plan::capabilities::ServerVersion;
use crate::plan::classify::{self, Plan, PlanOptions};
use crate::plan::desired::{DesiredAsset, take_desired_assets};
use crate::plan::{Address, LiveAsset};
use crate::settings::EngineSettings;

/// The connected server's version, as the plan needs it.
pub fn server_version(connection: &Connection) -> Result<ServerVersion, UnreadableServerVersion> {
    ServerVersion::parse(&connection.server.version).map_err(|source| UnreadableServerVersion {
        version: connection.server.version.clone(),
        source,
    })
}

/// Plans `desired` against an observed state, which it consumes: the live
/// assets (for stale-plan checks and rendering) and the plan.
pub fn plan_against(
    mut state: LiveState,
    desired: &[DesiredAsset],
    options: &PlanOptions,
) -> (Vec<LiveAsset>, Plan) {
    let unavailable = std::mem::take(&mut state.unavailable);
    let live = live_assets(state);
    let mut plan = classify::plan(desired, &live, options);
    refuse_unavailable(&mut plan, &unavailable);
    (live, plan)
}

/// Observes the server by listing and plans `desired` against it.
pub async fn observe_and_plan(
    connection: &Connection,
    desired: &[DesiredAsset],
    options: &PlanOptions,
) -> Result<Plan, ApiRequestError> {
    let state = connection.observe(&ObserveOptions::default()).await?;
    Ok(plan_against(state, desired, options).1)
}

/// Applies every allowed change of `plan` on `connection`.
pub async fn apply(connection: &Connection, plan: &Plan) -> Applied {
    apply::run(connection.api(), plan, &ApplyOptions::default()).await
}

/// The declared assets planned against one connection.
pub struct Group {
    /// `spec.connection`, or None for the default connection.
    pub connection: Option<String>,
    /// The selected assets.
    pub assets: Vec<DesiredAsset>,
    /// The addresses the plan may touch (`--target`, `--selector`), None
    /// for all.
    pub scope: Option<BTreeSet<Address>>,
}

/// One planned group, ready to print or apply.
pub struct Planned {
    /// `spec.connection` of its assets, None for the default connection.
    pub connection_name: Option<String>,
    pub connection: Connection,
    /// The live assets the plan was made against.
    pub live: Vec<LiveAsset>,
    pub plan: Plan,
    /// The addresses declared for this group (what a saved plan depends on).
    pub declared: Vec<Address>,
}

/// What the pipeline tells while it works, for people (the CLI prints it).
#[derive(Debug)]
pub enum Notice {
    /// The server refuses this user the listing: the declared assets are
    /// read one INFO request each instead.
    ListingDenied {
        denied: ApiRequestError,
        declared: usize,
    },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ListingDenied { denied, declared } => write!(
                f,
                "listing the account's streams and consumers is not permitted ({denied}); \
                 reading the {declared} declared asset(s) one INFO request each \
                 (assets not declared, other applications' consumers included, are not seen)"
            ),
        }
    }
}

/// The pipeline for one run of the CLI's plan, diff or apply: what to read,
/// how to decide, and where its notices go.
pub struct Pipeline<'a> {
    settings: &'a EngineSettings,
    notify: fn(&Notice),
}

impl<'a> Pipeline<'a> {
    /// A pipeline run with `settings`; notices are dropped.
    pub fn new(settings: &'a EngineSettings) -> Self {
        Self {
            settings,
            notify: |_| {},
        }
    }

    /// Sends the pipeline's notices to `notify`.
    pub fn with_notices(mut self, notify: fn(&Notice)) -> Self {
        self.notify = notify;
        self
    }

    /// Load and validate: every manifest file and directory given. The
    /// manifests' diagnostics say whether they are valid.
    pub fn load(&self) -> Result<Manifests, EngineError> {
        let paths: Vec<PathBuf> = self
            .settings
            .filenames
            .iter()
            .chain(&self.settings.paths)
            .cloned()
            .collect();
        if paths.is_empty() {
            return Err(EngineError::NoManifests);
        }
        Ok(manifest::load(&paths))
    }

    /// Starts observing the default connection by listing, while the
    /// manifests load.
    pub fn prefetch(&self, runtime: &tokio::runtime::Runtime) -> Prefetch {
        Prefetch::start(runtime, self.settings.connection.clone())
    }

    /// The declared assets of valid manifests, selected (`--target`,
    /// `--selector`) and grouped by connection; at least one group. Only the
    /// connection profiles stay in `manifests` afterwards: thousands of
    /// decoded specs need not stay alive beside the live state.
    pub fn groups(&self, manifests: &mut Manifests) -> Result<Vec<Group>, EngineError> {
        let targets = parse_targets(&self.settings.targets)?;
        let selectors = parse_selectors(&self.settings.selectors)?;
        // The documents become assets; only the connections stay.
        let (assets, connections) = take_desired_assets(std::mem::take(&mut manifests.documents));
        manifests.documents = connections;
        let mut by_connection: BTreeMap<Option<String>, Vec<DesiredAsset>> = BTreeMap::new();
        for asset in assets {
            by_connection
                .entry(asset.connection.clone())
                .or_default()
                .push(asset);
        }
        if by_connection.is_empty() {
            by_connection.insert(None, Vec::new());
        }
        Ok(by_connection
            .into_iter()
            .map(|(connection, mut assets)| {
                let mut scope = targets.clone();
                if !selectors.is_empty() {
                    assets.retain(|asset| {
                        selectors
                            .iter()
                            .all(|(key, value)| asset.labels.get(key) == Some(value))
                    });
                    let selected: BTreeSet<Address> =
                        assets.iter().map(|asset| asset.address.clone()).collect();
                    scope = Some(match scope {
                        Some(targets) => targets.intersection(&selected).cloned().collect(),
                        None => selected,
                    });
                }
                Group {
                    connection,
                    assets,
                    scope,
                }
            })
            .collect())
    }

    /// Connects for `group` and observes: by listing (the `prefetched`
    /// listing for the default connection), or, when the server refuses this
    /// user the listing, by looking up the declared assets (a notice says
    /// so; `--prune` is refused, since what else the owner manages cannot be
    /// seen).
    pub async fn observe(
        &self,
        group: &Group,
        documents: &[Declared],
        prefetched: Option<Prefetch>,
    ) -> Result<(Connection, LiveState), EngineError> {
        let options = connect_options(
            group.connection.as_deref(),
            documents,
            &self.settings.connection,
        )?;
        let listed = match prefetched {
            Some(prefetched) => prefetched.result().await?,
            None => connect_and_list(&options).await?,
        };
        let (connection, denied) = match listed {
            (connection, Listing::Listed(state)) => return Ok((connection, state)),
            (connection, Listing::Denied(denied)) => (connection, denied),
        };
        if self.settings.prune {
            return Err(EngineError::PruneNeedsListing { denied });
        }
        (self.notify)(&Notice::ListingDenied {
            denied,
            declared: group.assets.len(),
        });
        let addresses = group.assets.iter().map(|a| a.address.clone()).collect();
        match Strategy::Lookup(addresses).read(&connection).await {
            Ok(state) => Ok((connection, state)),
            Err(source) => Err(EngineError::Observe {
                what: Reading::DeclaredAssets,
                source,
            }),
        }
    }

    /// Plans `group` against what was observed, refusing what the account's
    /// limits or the cluster's servers cannot hold.
    pub async fn plan(
        &self,
        group: Group,
        connection: Connection,
        state: LiveState,
    ) -> Result<Planned, EngineError> {
        let settings = self.settings;
        let options = PlanOptions {
            owner: settings.owner.clone(),
            prune: settings.prune,
            adopt: settings.adopt,
            allow_replace: settings.allow_replace,
            server: server_version(&connection)?,
            targets: group.scope,
            prune_all: settings.prune_all,
            unmanaged_consumers: settings.unmanaged_consumers,
            standalone: connection.server.standalone,
        };
        let (live, mut plan) = plan_against(state, &group.assets, &options);
        refuse_past_account_limits(&mut plan, &live, &connection.server.usage);
        check_topology(&connection, &mut plan).await;
        Ok(Planned {
            connection_name: group.connection,
            connection,
            live,
            plan,
            declared: group.assets.iter().map(|a| a.address.clone()).collect(),
        })
    }

    /// Selects, observes and plans every group of valid `manifests`, the
    /// default connection's from `prefetched` when given. Errors found by
    /// planning stay in the plans.
    pub async fn plan_all(
        &self,
        manifests: &mut Manifests,
        mut prefetched: Option<Prefetch>,
    ) -> Result<Vec<Planned>, EngineError> {
        let mut planned = Vec::new();
        for group in self.groups(manifests)? {
            let prefetched = match group.connection {
                None => prefetched.take(),
                Some(_) => None,
            };
            let (connection, state) = self
                .observe(&group, &manifests.documents, prefetched)
                .await?;
            planned.push(self.plan(group, connection, state).await?);
        }
        Ok(planned)
    }
}

fn parse_targets(targets: &[String]) -> Result<Option<BTreeSet<Address>>, EngineError> {
    if targets.is_empty() {
        return Ok(None);
    }
    targets
        .iter()
        .map(|target| {
            Address::parse(target).ok_or_else(|| EngineError::InvalidTarget {
                target: target.clone(),
            })
        })
        .collect::<Result<BTreeSet<_>, _>>()
        .map(Some)
}

/// Parses `key=value` selectors.
fn parse_selectors(selectors: &[String]) -> Result<Vec<(String, String)>, EngineError> {
    selectors
        .iter()
        .map(|selector| {
            selector
                .split_once('=')
                .filter(|(key, _)| !key.is_empty())
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .ok_or_else(|| EngineError::InvalidSelector {
                    selector: selector.clone(),
                })
        })
        .collect()
}
