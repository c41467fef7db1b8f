//! The JSON plan document: what `--output json` prints and `plan --out`
//! saves. It is also the saved-plan format: every change carries the exact
//! config apply will send, and every target the fingerprint of the live
//! state the plan was made from.
//!
//! `format_version` is `MAJOR.MINOR`: a minor bump only adds fields, a major
//! bump changes or removes them. Readers accept any minor of their major.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::diagnostics::{Diagnostic, Severity, SourceText};
use crate::plan::classify::{Action, Change, Plan, Summary, apply_rank};
use crate::plan::{Address, AssetKind, LiveAsset, ownership};

/// The version of this document's format (1.1 added `root` and
/// `targets[].scope`).
pub const FORMAT_VERSION: &str = "1.1";
/// The major version readers of this build accept.
pub const FORMAT_MAJOR: &str = "1";

/// The tool that wrote the document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// The server a plan was made against, and the state it saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    /// `spec.connection` of the assets planned here; null for the default connection.
    pub connection: Option<String>,
    /// Server URL(s), credentials removed.
    pub server: String,
    pub server_version: String,
    pub api_level: u64,
    pub account: Option<String>,
    pub domain: Option<String>,
    /// Hash over the address and config of every live asset in `scope`
    /// (an empty server has one too).
    pub fingerprint: String,
    /// Each live asset's config hash, to name what changed when the plan is
    /// stale: the assets in `scope` (every asset when there is no scope).
    pub assets: BTreeMap<String, String>,
    /// What the plan depends on in the live state; a plan without one
    /// (format 1.0) depends on every asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

/// The live assets a plan depends on: a saved plan is stale when one of
/// them changed, appeared or went, and only then.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scope {
    /// The assets it declares or changes, and the streams its consumers read.
    pub addresses: BTreeSet<String>,
    /// When it prunes, the owner whose every asset it depends on: a newly
    /// managed asset would be deleted by a new plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Streams it deletes or replaces (backing stream names): every
    /// consumer on them goes with them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub streams_losing_consumers: BTreeSet<String>,
}

impl Scope {
    /// The scope of `plan`, made from the `declared` assets; `owner` when
    /// it prunes.
    pub fn of(declared: &[Address], plan: &Plan, owner: Option<&str>) -> Self {
        let mut addresses = BTreeSet::new();
        for address in declared
            .iter()
            .chain(plan.changes.iter().map(|c| &c.address))
        {
            addresses.insert(address.to_string());
            if address.kind == AssetKind::Consumer {
                addresses.insert(Address::from_stream_name(&address.name).to_string());
            }
        }
        let streams_losing_consumers = plan
            .changes
            .iter()
            .filter(|change| {
                change.address.kind.is_stream_like()
                    && matches!(change.action, Action::Replace | Action::Delete)
            })
            .map(|change| change.address.stream_name())
            .collect();
        Self {
            addresses,
            owner: owner.map(str::to_string),
            streams_losing_consumers,
        }
    }

    /// True when the plan depends on `asset`.
    pub fn covers(&self, asset: &LiveAsset) -> bool {
        let address = &asset.address;
        self.addresses.contains(&address.to_string())
            || (address.kind == AssetKind::Consumer
                && self.streams_losing_consumers.contains(&address.name))
            || self
                .owner
                .as_deref()
                .is_some_and(|owner| ownership::live_owner(&asset.config).as_deref() == Some(owner))
    }
}

/// Where the paths of a saved plan's `sources` start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceRoot {
    /// `git`: the top of the Git work tree; `plan`: the plan file's directory.
    pub kind: String,
    /// That directory where the plan was made (used when no other is found).
    pub path: String,
}

/// A manifest file the plan was made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceDigest {
    pub file: String,
    pub sha256: String,
}

/// How the plan was asked for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Options {
    pub owner: String,
    pub prune: bool,
    pub adopt: bool,
    pub allow_replace: bool,
    pub targets: Vec<String>,
    pub selector: Vec<String>,
}

/// One change in the document: the plan's change plus what JSON readers want.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentChange {
    /// The manifest kind: `Stream`, `Consumer`, `KeyValue`, `ObjectStore`.
    pub kind: String,
    /// Terraform-style: replace is `["delete", "create"]`.
    pub actions: Vec<String>,
    /// The connection group (see `targets[].connection`).
    pub connection: Option<String>,
    #[serde(flatten)]
    pub change: Change,
}

/// A diagnostic as JSON readers see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentDiagnostic {
    pub severity: String,
    pub summary: String,
    pub detail: Option<String>,
    pub file: Option<String>,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub field: Option<String>,
}

/// The whole document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanDocument {
    pub format_version: String,
    pub tool: Tool,
    /// The first (usually only) target.
    pub target: Option<Target>,
    /// Every target, one per connection group.
    pub targets: Vec<Target>,
    /// Where the paths of `sources` start (saved plans); without it they
    /// are relative to the directory the plan was made in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<SourceRoot>,
    pub sources: Vec<SourceDigest>,
    pub options: Options,
    pub summary: Summary,
    /// Pending changes: what apply will do that is not correcting drift.
    pub changes: Vec<DocumentChange>,
    /// Changes that put back what was changed outside jetsync.
    pub drift: Vec<DocumentChange>,
    pub diagnostics: Vec<DocumentDiagnostic>,
}

/// One planned connection group, as the document needs it.
pub struct GroupInput<'a> {
    pub connection: Option<String>,
    pub server: &'a crate::nats::ServerIdentity,
    pub live: &'a [LiveAsset],
    pub plan: &'a Plan,
    /// The assets declared for this group.
    pub declared: &'a [Address],
}

/// The fingerprint of the live assets `scope` covers (all without one), and
/// each one's hash.
pub fn fingerprint(
    live: &[LiveAsset],
    scope: Option<&Scope>,
) -> (String, BTreeMap<String, String>) {
    let assets: BTreeMap<String, String> = live
        .iter()
        .filter(|asset| scope.is_none_or(|scope| scope.covers(asset)))
        .map(|asset| {
            (
                asset.address.to_string(),
                ownership::config_hash(&asset.config.value()),
            )
        })
        .collect();
    let mut hasher = Sha256::new();
    for (address, hash) in &assets {
        hasher.update(address.as_bytes());
        hasher.update(b"=");
        hasher.update(hash.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    let fingerprint = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    (fingerprint, assets)
}

/// The SHA-256 of a source's text.
pub fn source_digest(source: &SourceText) -> SourceDigest {
    let digest = Sha256::digest(source.text.as_bytes());
    SourceDigest {
        file: source.name.clone(),
        sha256: digest.iter().map(|byte| format!("{byte:02x}")).collect(),
    }
}

fn document_diagnostic(diagnostic: &Diagnostic) -> DocumentDiagnostic {
    DocumentDiagnostic {
        severity: match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
        .to_string(),
        summary: diagnostic.summary.clone(),
        detail: diagnostic.help.clone(),
        file: diagnostic.file.clone(),
        line: diagnostic.line,
        column: diagnostic.column,
        field: diagnostic.field.clone(),
    }
}

/// A refused change, as an error at the field that causes the refusal (the
/// GitHub annotation's place).
fn refused_diagnostic(change: &Change) -> Option<DocumentDiagnostic> {
    let refused = change.refused.as_ref()?;
    let field = super::github::annotated_field(change);
    let at = change.declared_at.as_ref();
    let position = at.map(|at| at.position_of(field));
    Some(DocumentDiagnostic {
        severity: "error".to_string(),
        summary: format!(
            "{} of {} refused: {refused}",
            super::github::noun(change.action),
            change.address
        ),
        detail: Some(change.reason.clone()),
        file: at.map(|at| at.file.clone()),
        line: position.map(|(line, _)| line),
        column: position.map(|(_, column)| column),
        field: (!field.is_empty()).then(|| format!("spec.{field}")),
    })
}

fn document_change(change: &Change, connection: &Option<String>) -> DocumentChange {
    DocumentChange {
        kind: change.address.kind.manifest_kind().to_string(),
        actions: change
            .action
            .terraform_actions()
            .into_iter()
            .map(str::to_string)
            .collect(),
        connection: connection.clone(),
        change: change.clone(),
    }
}

/// The JSON Schema of the plan document (`jetsync schema --plan`).
pub fn plan_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<PlanDocument>())
        .expect("schemas serialize")
}

/// Builds the document for planned groups made from `sources`.
pub fn document(
    groups: &[GroupInput<'_>],
    sources: &[SourceText],
    options: Options,
    diagnostics: &[Diagnostic],
) -> PlanDocument {
    let mut summary = Summary::default();
    let mut changes = Vec::new();
    let mut drift = Vec::new();
    let mut targets = Vec::new();
    let mut all_diagnostics: Vec<DocumentDiagnostic> =
        diagnostics.iter().map(document_diagnostic).collect();
    for group in groups {
        let owner = options.prune.then_some(options.owner.as_str());
        let scope = Scope::of(group.declared, group.plan, owner);
        let (fingerprint, assets) = fingerprint(group.live, Some(&scope));
        targets.push(Target {
            connection: group.connection.clone(),
            server: group.server.url_redacted.clone(),
            server_version: group.server.version.clone(),
            api_level: group.server.api_level,
            account: group.server.account.clone(),
            domain: group.server.domain.clone(),
            fingerprint,
            assets,
            scope: Some(scope),
        });
        summary += group.plan.summary();
        for change in &group.plan.changes {
            all_diagnostics.extend(refused_diagnostic(change));
            let entry = document_change(change, &group.connection);
            if change.drift {
                drift.push(entry);
            } else {
                changes.push(entry);
            }
        }
        all_diagnostics.extend(group.plan.diagnostics.iter().map(document_diagnostic));
    }
    PlanDocument {
        format_version: FORMAT_VERSION.to_string(),
        tool: Tool {
            name: "jetsync".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        target: targets.first().cloned(),
        targets,
        root: None,
        sources: sources
            .iter()
            .filter(|source| source.name != crate::manifest::STDIN_NAME)
            .map(source_digest)
            .collect(),
        options,
        summary,
        changes,
        drift,
        diagnostics: all_diagnostics,
    }
}

impl PlanDocument {
    /// Every change, pending and drift, in apply order for one connection group.
    pub fn changes_for(&self, connection: &Option<String>) -> Plan {
        let mut changes: Vec<Change> = self
            .changes
            .iter()
            .chain(&self.drift)
            .filter(|entry| entry.connection == *connection)
            .map(|entry| entry.change.clone())
            .collect();
        changes.sort_by(|a, b| {
            apply_rank(a)
                .cmp(&apply_rank(b))
                .then_with(|| a.address.cmp(&b.address))
        });
        Plan {
            changes,
            unchanged: 0,
            diagnostics: Vec::new(),
        }
    }

    /// Parses a saved plan, checking the format's major version.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not a jetsync plan: {e}"))?;
        let version = value
            .get("format_version")
            .and_then(|v| v.as_str())
            .ok_or("not a jetsync plan: no format_version")?;
        if version.split('.').next() != Some(FORMAT_MAJOR) {
            return Err(format!(
                "plan format {version} is not readable by this jetsync (reads {FORMAT_MAJOR}.x)"
            ));
        }
        serde_json::from_value(value).map_err(|e| format!("not a readable jetsync plan: {e}"))
    }
}
