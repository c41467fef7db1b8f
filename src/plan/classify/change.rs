//! What a plan is made of once classified: the action for each asset, the
//! fields that differ, the counts per action, and the order of writes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostics::Diagnostic;
use crate::plan::model::{Address, AssetKind, ConsumerFate, DeclaredAt, Loss};

/// What applying the plan does to one asset.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    Adopt,
}

impl Action {
    /// Terraform-style action list: a replacement is `["delete", "create"]`.
    pub fn terraform_actions(self) -> Vec<&'static str> {
        match self {
            Action::Create => vec!["create"],
            Action::Update | Action::Adopt => vec!["update"],
            Action::Replace => vec!["delete", "create"],
            Action::Delete => vec!["delete"],
        }
    }
}

/// One field that differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// The spec field name users write, e.g. `maxAge`.
    pub path: String,
    /// The JetStream config field, e.g. `max_age`.
    pub json_field: String,
    pub before: Value,
    pub after: Value,
    pub forces_replacement: bool,
    /// Why the field forces replacement, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The planned action for one asset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// Why this action, in words.
    #[serde(rename = "action_reason")]
    pub reason: String,
    /// True when the live asset was changed outside jetsync since jetsync
    /// last applied it: this change corrects drift.
    pub drift: bool,
    /// Drift left as it is and only reported (`driftPolicy: Report`):
    /// shown, never written.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reported: bool,
    /// Why the change will not be made without a flag, when it will not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The live config, comparable form.
    pub before: Option<Value>,
    /// The declared config, comparable form.
    pub after: Option<Value>,
    pub diff: Vec<FieldChange>,
    /// What a delete or replacement destroys, with every consumer that goes
    /// with a stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loses: Option<Loss>,
    /// For a stream-like asset: the configs of other applications'
    /// consumers to create again after it (`unmanagedConsumers: Recreate`),
    /// kept in the new stream's metadata until they are (so that an
    /// interrupted apply restores them on the rerun).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restore: Vec<Value>,
    /// The holder stream that keeps `restore` from an earlier, interrupted
    /// apply: updated instead of created, deleted once they exist again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_holder: Option<String>,
    /// The config to send (with ownership markers), for create, update,
    /// replace and adopt: a saved plan applies exactly this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_at: Option<DeclaredAt>,
}

impl Change {
    /// A change of `action` to `address` for `reason`, with nothing else
    /// set: no configs, no diff, no loss, neither drift nor refused.
    pub fn new(address: Address, action: Action, reason: impl Into<String>) -> Self {
        Self {
            address,
            action,
            reason: reason.into(),
            drift: false,
            reported: false,
            refused: None,
            before: None,
            after: None,
            diff: Vec::new(),
            loses: None,
            restore: Vec::new(),
            restore_holder: None,
            config: None,
            declared_at: None,
        }
    }

    /// True when applying will make this change.
    pub fn allowed(&self) -> bool {
        self.refused.is_none() && !self.reported
    }

    /// Refuses the change for `reason`, unless it is refused already.
    pub(super) fn refuse(&mut self, reason: impl FnOnce() -> String) {
        if self.refused.is_none() {
            self.refused = Some(reason());
        }
    }
}

/// Counts per action. The action counts are of the changes apply makes;
/// refused changes and reported drift are counted apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub adopt: usize,
    pub drift: usize,
    pub refused: usize,
    /// Drift left as it is and reported (`driftPolicy: Report`).
    #[serde(default)]
    pub reported: usize,
    pub unchanged: usize,
    /// Consumers deleted with a stream that is replaced or deleted (by
    /// allowed changes), managed or not.
    #[serde(default)]
    pub consumers_lost: usize,
    /// Of those, the ones jetsync does not manage.
    #[serde(default)]
    pub unmanaged_consumers_lost: usize,
}

impl std::ops::AddAssign for Summary {
    fn add_assign(&mut self, other: Self) {
        self.create += other.create;
        self.update += other.update;
        self.replace += other.replace;
        self.delete += other.delete;
        self.adopt += other.adopt;
        self.drift += other.drift;
        self.refused += other.refused;
        self.reported += other.reported;
        self.unchanged += other.unchanged;
        self.consumers_lost += other.consumers_lost;
        self.unmanaged_consumers_lost += other.unmanaged_consumers_lost;
    }
}

/// Everything that differs between the declared and the live state.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// Every asset that changes, in apply order.
    pub changes: Vec<Change>,
    /// Assets already as declared.
    pub unchanged: usize,
    /// Errors and warnings found while planning (e.g. a field the server is
    /// too old for, a consumer on a stream that exists nowhere).
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
}

impl Plan {
    /// Counts per action.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            unchanged: self.unchanged,
            ..Summary::default()
        };
        for change in &self.changes {
            summary.drift += usize::from(change.drift);
            if change.reported {
                summary.reported += 1;
                continue;
            }
            if change.refused.is_some() {
                summary.refused += 1;
                continue;
            }
            match change.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Replace => summary.replace += 1,
                Action::Delete => summary.delete += 1,
                Action::Adopt => summary.adopt += 1,
            }
            for consumer in change.loses.iter().flat_map(|loss| &loss.consumers) {
                if consumer.fate == ConsumerFate::Deleted {
                    summary.consumers_lost += 1;
                    summary.unmanaged_consumers_lost += usize::from(!consumer.managed);
                }
            }
        }
        summary
    }

    /// True when there is anything to do, refused or reported.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// True when applying would write something.
    pub fn has_writes(&self) -> bool {
        self.changes.iter().any(Change::allowed)
    }

    /// True when planning found errors: nothing may be written.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The order assets are written in: streams, then KV and object stores,
/// then consumers; deletes in reverse, after everything else.
pub fn apply_rank(change: &Change) -> (u8, u8) {
    let kind = match change.address.kind {
        AssetKind::Stream => 0,
        AssetKind::KeyValue | AssetKind::ObjectStore => 1,
        AssetKind::Consumer => 2,
    };
    match change.action {
        Action::Delete => (1, 2 - kind),
        _ => (0, kind),
    }
}
