//! What a reconcile concludes, as plain values: from the plan of one
//! resource (and what applying it did) to the conditions, the events and
//! when to look again. No Kubernetes or NATS here, so every rule is tested
//! with plain values.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::conditions::{Judgement, events, reasons, types};
use crate::apply::ChangeOutcome;
use crate::plan::Address;
use crate::plan::classify::{Action, Change, FieldChange, Plan};
use crate::plan::{AssetKind, Holdings, LiveAsset, ownership};
use crate::render::human::{describe_loss, display_value};
use crate::spec::common::DriftPolicy;

/// The severity of an Event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteType {
    Normal,
    Warning,
}

/// An Event to publish about the resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub type_: NoteType,
    pub reason: &'static str,
    pub message: String,
    /// Publish only when this condition's reason or status changes with this
    /// reconcile (so a refusal is told once, not at every re-check).
    pub when_changed: Option<&'static str>,
}

impl Note {
    fn normal(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_: NoteType::Normal,
            reason,
            message: message.into(),
            when_changed: None,
        }
    }

    fn warning(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_: NoteType::Warning,
            reason,
            message: message.into(),
            when_changed: None,
        }
    }

    fn once_per(mut self, condition: &'static str) -> Self {
        self.when_changed = Some(condition);
        self
    }
}

/// When to reconcile the resource again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// At the periodic drift re-check.
    Recheck,
    /// Soon, backing off while it lasts (a dependency is not there yet).
    Soon,
    /// When the consumer's stream is there (its resource's reconcile, an
    /// advisory or the periodic listing says so), not on a timer.
    Stream,
    /// After a failure: capped exponential backoff, forever.
    Backoff,
}

/// How a reconcile ended, for the `result` label of the reconcile metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ready,
    Waiting,
    Stalled,
}

impl Verdict {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::Waiting => "waiting",
            Verdict::Stalled => "stalled",
        }
    }
}

/// Everything one reconcile decided: conditions, events, the next look.
#[derive(Clone, Debug, PartialEq)]
pub struct Conclusion {
    pub verdict: Verdict,
    /// `Ready`, `Reconciling`, `Stalled`, and `Drifted` when it was checked.
    pub judgements: Vec<Judgement>,
    pub notes: Vec<Note>,
    pub next: Next,
    /// Drift was found at this check.
    pub drift_detected: bool,
    /// Drift was found and corrected.
    pub drift_corrected: bool,
    /// The asset was found as declared: conditions whose status and reason
    /// stay keep the message the last write gave them ([`steady`]).
    pub steady: bool,
}

impl Conclusion {
    /// The asset is as declared (or as the policy allows).
    pub fn ready(reason: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            verdict: Verdict::Ready,
            judgements: vec![
                Judgement::yes(types::READY, reason, message),
                Judgement::no(types::RECONCILING, reason, ""),
                Judgement::no(types::STALLED, reason, ""),
            ],
            notes: Vec::new(),
            next: Next::Recheck,
            drift_detected: false,
            drift_corrected: false,
            steady: false,
        }
    }

    /// Not ready, retried by itself (connection, stream not there yet, a
    /// failed write).
    pub fn waiting(reason: &'static str, message: impl Into<String>, next: Next) -> Self {
        let message = message.into();
        Self {
            verdict: Verdict::Waiting,
            judgements: vec![
                Judgement::no(types::READY, reason, message.clone()),
                Judgement::yes(types::RECONCILING, reason, message),
                Judgement::no(types::STALLED, reason, ""),
            ],
            notes: Vec::new(),
            next,
            drift_detected: false,
            drift_corrected: false,
            steady: false,
        }
    }

    /// Not ready until a human acts.
    pub fn stalled(reason: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            verdict: Verdict::Stalled,
            judgements: vec![
                Judgement::no(types::READY, reason, message.clone()),
                Judgement::no(types::RECONCILING, reason, ""),
                Judgement::yes(types::STALLED, reason, message),
            ],
            notes: Vec::new(),
            next: Next::Recheck,
            drift_detected: false,
            drift_corrected: false,
            steady: false,
        }
    }

    /// `--read-only` with changes pending: reported, never written.
    pub fn read_only(message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            verdict: Verdict::Waiting,
            judgements: vec![
                Judgement::no(types::READY, reasons::READ_ONLY, message),
                Judgement::no(types::RECONCILING, reasons::READ_ONLY, ""),
                Judgement::no(types::STALLED, reasons::READ_ONLY, ""),
            ],
            notes: Vec::new(),
            next: Next::Recheck,
            drift_detected: false,
            drift_corrected: false,
            steady: false,
        }
    }

    /// `spec.suspend: true`: only `Ready` says so; nothing else is written.
    pub fn suspended() -> Self {
        Self {
            verdict: Verdict::Waiting,
            judgements: vec![Judgement::unknown(
                types::READY,
                reasons::SUSPENDED,
                "spec.suspend is true: jetsync neither reads nor writes the asset",
            )],
            notes: Vec::new(),
            next: Next::Recheck,
            drift_detected: false,
            drift_corrected: false,
            steady: false,
        }
    }

    fn drifted(mut self, judgement: Judgement) -> Self {
        self.judgements.push(judgement);
        self
    }

    /// The same conclusion with one more condition.
    pub fn with_judgement(mut self, judgement: Judgement) -> Self {
        self.judgements.push(judgement);
        self
    }

    /// The same conclusion with one more event.
    pub fn with_note(mut self, note: Note) -> Self {
        self.notes.push(note);
        self
    }

    /// The `Drifted` judgement, if this reconcile checked drift.
    pub fn drift(&self) -> Option<&Judgement> {
        self.judgements.iter().find(|j| j.type_ == types::DRIFTED)
    }
}

/// What the plan of one resource asks for, before anything is written.
#[derive(Clone, Debug, PartialEq)]
pub enum Assessment {
    /// The asset is as declared.
    InSync,
    /// The plan has errors (a field the server is too old for, …).
    Unsupported(String),
    /// The asset exists and is not managed by this resource; `adopt` is off.
    AdoptRefused(String),
    /// A field cannot change in place and `onImmutableChange` is `Fail`.
    ReplaceRefused(String),
    /// The live asset drifted and `driftPolicy: Report` leaves it.
    DriftReported(Vec<FieldChange>),
    /// The asset was deleted outside jetsync and `driftPolicy: Report`
    /// leaves it deleted.
    DeletionReported,
    /// `managementPolicy: Observe`: what would be written, only reported.
    Observed(Box<Change>),
    /// The change to write. `corrects_drift`: the live asset was changed
    /// (or deleted) outside jetsync since jetsync last wrote it;
    /// `went_with_stream`: a consumer made again after the controller
    /// deleted or replaced its stream.
    Write {
        change: Box<Change>,
        corrects_drift: bool,
        went_with_stream: bool,
    },
}

/// How the resource asks to be reconciled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Intent {
    /// `spec.driftPolicy`.
    pub drift_policy: DriftPolicy,
    /// `spec.adopt`.
    pub adopt: bool,
    /// This resource's asset was reconciled at this address before (so a
    /// missing asset was deleted out of band).
    pub reconciled_before: bool,
    /// `spec.managementPolicy: Observe`: nothing may be written.
    pub observe: bool,
    /// The missing consumer went with its stream, which the controller
    /// itself deleted or replaced: made again, not reported as drift.
    pub went_with_stream: bool,
}

/// Assesses the plan of one resource; `live` is the asset as observed.
pub fn assess(plan: &Plan, live: Option<&LiveAsset>, intent: Intent) -> Assessment {
    if plan.has_errors() {
        let errors: Vec<&str> = plan
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.summary.as_str())
            .collect();
        return Assessment::Unsupported(errors.join("; "));
    }
    let Some(change) = plan.changes.first() else {
        return Assessment::InSync;
    };
    if intent.observe {
        return Assessment::Observed(Box::new(change.clone()));
    }
    if let Some(refused) = &change.refused {
        return if change.action == Action::Adopt && !intent.adopt {
            Assessment::AdoptRefused(format!("{}: {}; {refused}", change.address, change.reason))
        } else {
            Assessment::ReplaceRefused(replace_refusal(change))
        };
    }
    if change.action == Action::Create && intent.reconciled_before && !intent.went_with_stream {
        return match intent.drift_policy {
            DriftPolicy::Report => Assessment::DeletionReported,
            DriftPolicy::Correct => Assessment::Write {
                change: Box::new(change.clone()),
                corrects_drift: true,
                went_with_stream: false,
            },
        };
    }
    let spec_changed = live
        .and_then(|live| ownership::live_applied(&live.config))
        .zip(change.after.as_ref())
        .is_none_or(|(applied, after)| {
            !ownership::is_applied(change.address.kind, &applied, after)
        });
    if change.drift && !spec_changed && intent.drift_policy == DriftPolicy::Report {
        return Assessment::DriftReported(change.diff.clone());
    }
    Assessment::Write {
        change: Box::new(change.clone()),
        corrects_drift: change.drift,
        went_with_stream: change.action == Action::Create && intent.went_with_stream,
    }
}

/// The conclusion of an assessment, after applying it (`outcome`, None when
/// nothing was written). `read_only`: nothing may be written.
pub fn conclude(
    assessment: &Assessment,
    outcome: Option<&ChangeOutcome>,
    read_only: bool,
) -> Conclusion {
    match assessment {
        Assessment::InSync => {
            let mut conclusion = Conclusion::ready(reasons::RECONCILED, "in sync").drifted(
                Judgement::no(types::DRIFTED, reasons::IN_SYNC, "live matches the spec"),
            );
            conclusion.steady = true;
            conclusion
        }
        Assessment::Unsupported(message) => {
            Conclusion::stalled(reasons::UNSUPPORTED_FIELD, message.clone())
        }
        Assessment::AdoptRefused(message) => {
            Conclusion::stalled(reasons::ADOPT_REFUSED, message.clone()).with_note(
                Note::warning(events::ADOPT_REFUSED, message.clone()).once_per(types::STALLED),
            )
        }
        Assessment::ReplaceRefused(message) => {
            Conclusion::stalled(reasons::IMMUTABLE_FIELD_CHANGED, message.clone()).with_note(
                Note::warning(events::REPLACE_REFUSED, message.clone()).once_per(types::STALLED),
            )
        }
        Assessment::DriftReported(fields) => {
            let message = format!(
                "changed outside jetsync, left as is (driftPolicy: Report): {}",
                drift_fields(fields)
            );
            let mut conclusion = Conclusion::ready(reasons::DRIFT_REPORTED, message.clone())
                .drifted(Judgement::yes(
                    types::DRIFTED,
                    reasons::DRIFT_REPORTED,
                    message.clone(),
                ))
                .with_note(Note::warning(events::DRIFT_DETECTED, message).once_per(types::DRIFTED));
            conclusion.drift_detected = true;
            conclusion
        }
        Assessment::Observed(change) => {
            let message = format!(
                "observe-only (managementPolicy: Observe): would {}",
                describe_change(change)
            );
            let mut conclusion = Conclusion::read_only(message.clone());
            for judgement in &mut conclusion.judgements {
                judgement.reason = reasons::OBSERVE_ONLY;
            }
            if change.drift {
                conclusion.drift_detected = true;
                conclusion = conclusion.drifted(Judgement::yes(
                    types::DRIFTED,
                    reasons::DRIFT_REPORTED,
                    message,
                ));
            }
            conclusion
        }
        Assessment::DeletionReported => {
            let message = "deleted outside jetsync, left deleted (driftPolicy: Report)".to_string();
            let mut conclusion = Conclusion::ready(reasons::DRIFT_REPORTED, message.clone())
                .drifted(Judgement::yes(
                    types::DRIFTED,
                    reasons::DRIFT_REPORTED,
                    message.clone(),
                ))
                .with_note(Note::warning(events::DRIFT_DETECTED, message).once_per(types::DRIFTED));
            conclusion.drift_detected = true;
            conclusion
        }
        Assessment::Write {
            change,
            corrects_drift,
            went_with_stream,
        } => {
            let mut conclusion = conclude_write(change, *corrects_drift, outcome, read_only);
            if *went_with_stream && matches!(outcome, Some(ChangeOutcome::Done)) && !read_only {
                let message = format!(
                    "recreated {} {}: it went with its stream, which jetsync deleted or replaced",
                    noun(change.address.kind),
                    change.address
                );
                conclusion.judgements[0].message = message.clone();
                for note in &mut conclusion.notes {
                    note.message = message.clone();
                }
            }
            conclusion
        }
    }
}

fn conclude_write(
    change: &Change,
    corrects_drift: bool,
    outcome: Option<&ChangeOutcome>,
    read_only: bool,
) -> Conclusion {
    let what = describe_change(change);
    let drift_text = || {
        if change.action == Action::Create {
            "deleted outside jetsync".to_string()
        } else {
            format!("changed outside jetsync: {}", drift_fields(&change.diff))
        }
    };
    if read_only {
        let mut conclusion = Conclusion::read_only(format!("read-only: would {what}"));
        conclusion = if corrects_drift {
            conclusion.drift_detected = true;
            let message = drift_text();
            conclusion
                .drifted(Judgement::yes(
                    types::DRIFTED,
                    reasons::DRIFT_REPORTED,
                    message.clone(),
                ))
                .with_note(Note::warning(events::DRIFT_DETECTED, message).once_per(types::DRIFTED))
        } else {
            conclusion.drifted(Judgement::no(
                types::DRIFTED,
                reasons::IN_SYNC,
                "no change outside jetsync",
            ))
        };
        return conclusion;
    }
    match outcome {
        Some(ChangeOutcome::Done) => {
            let (reason, type_) = match change.action {
                Action::Create => (events::CREATED, NoteType::Normal),
                Action::Update => (events::UPDATED, NoteType::Normal),
                Action::Adopt => (events::ADOPTED, NoteType::Normal),
                Action::Replace => (events::REPLACED, NoteType::Warning),
                Action::Delete => (events::DELETED, NoteType::Normal),
            };
            let done = past_tense(change);
            let mut conclusion = Conclusion::ready(reasons::RECONCILED, done.clone());
            if corrects_drift {
                let detected = drift_text();
                conclusion = conclusion
                    .drifted(Judgement::no(
                        types::DRIFTED,
                        reasons::DRIFT_CORRECTED,
                        format!("{detected}; corrected"),
                    ))
                    .with_note(Note::warning(events::DRIFT_DETECTED, detected.clone()))
                    .with_note(Note::normal(
                        events::DRIFT_CORRECTED,
                        format!("{detected}; put back as declared"),
                    ));
                conclusion.drift_detected = true;
                conclusion.drift_corrected = true;
            } else {
                conclusion = conclusion
                    .drifted(Judgement::no(
                        types::DRIFTED,
                        reasons::IN_SYNC,
                        "no change outside jetsync",
                    ))
                    .with_note(Note {
                        type_,
                        reason,
                        message: done,
                        when_changed: None,
                    });
            }
            if corrects_drift && change.action == Action::Replace {
                conclusion =
                    conclusion.with_note(Note::warning(events::REPLACED, past_tense(change)));
            }
            conclusion
        }
        Some(outcome @ (ChangeOutcome::Failed(_) | ChangeOutcome::Skipped(_))) => {
            let why = match outcome {
                ChangeOutcome::Failed(error) => error.to_string(),
                ChangeOutcome::Skipped(skip) => skip.to_string(),
                ChangeOutcome::Done => unreachable!("matched as failed or skipped"),
            };
            let message = format!("could not {what}: {why}");
            let mut conclusion =
                Conclusion::waiting(reasons::APPLY_FAILED, message.clone(), Next::Backoff)
                    .with_note(Note::warning(events::APPLY_FAILED, message).once_per(types::READY));
            if corrects_drift {
                conclusion.drift_detected = true;
                let detected = drift_text();
                conclusion = conclusion
                    .drifted(Judgement::yes(
                        types::DRIFTED,
                        reasons::DRIFT_DETECTED,
                        detected.clone(),
                    ))
                    .with_note(
                        Note::warning(events::DRIFT_DETECTED, detected).once_per(types::DRIFTED),
                    );
            }
            conclusion
        }
        None => Conclusion::waiting(reasons::PROGRESSING, format!("about to {what}"), Next::Soon),
    }
}

/// `maxAge: 2h on the server, 1h in the spec; …`.
pub fn drift_fields(fields: &[FieldChange]) -> String {
    if fields.is_empty() {
        return "no field differs".to_string();
    }
    fields
        .iter()
        .map(|field| {
            format!(
                "{} is {} on the server, {} in the spec",
                field.path,
                display_value(&field.json_field, &field.before),
                display_value(&field.json_field, &field.after)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `maxAge: 2h → 1h, replicas: 1 → 3`.
pub fn changed_fields(fields: &[FieldChange]) -> String {
    fields
        .iter()
        .map(|field| {
            format!(
                "{}: {} → {}",
                field.path,
                display_value(&field.json_field, &field.before),
                display_value(&field.json_field, &field.after)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn noun(kind: AssetKind) -> &'static str {
    match kind {
        AssetKind::Stream => "stream",
        AssetKind::KeyValue => "KV bucket",
        AssetKind::ObjectStore => "object store",
        AssetKind::Consumer => "consumer",
    }
}

fn describe_change(change: &Change) -> String {
    let asset = format!("{} {}", noun(change.address.kind), change.address);
    match change.action {
        Action::Create => format!("create {asset}"),
        Action::Update => format!("update {asset} ({})", changed_fields(&change.diff)),
        Action::Adopt => format!("adopt {asset}"),
        Action::Replace => format!(
            "replace {asset}, losing {}",
            change
                .loses
                .as_ref()
                .map(|loss| describe_loss(change.address.kind, &loss.holdings))
                .unwrap_or_else(|| "nothing".to_string())
        ),
        Action::Delete => format!("delete {asset}"),
    }
}

fn past_tense(change: &Change) -> String {
    let asset = format!("{} {}", noun(change.address.kind), change.address);
    match change.action {
        Action::Create => format!("created {asset}"),
        Action::Update => format!("updated {asset}: {}", changed_fields(&change.diff)),
        Action::Adopt => format!("adopted {asset}"),
        Action::Replace => format!(
            "replaced {asset} ({}), losing {}",
            forcing(&change.diff),
            change
                .loses
                .as_ref()
                .map(|loss| describe_loss(change.address.kind, &loss.holdings))
                .unwrap_or_else(|| "nothing".to_string())
        ),
        Action::Delete => format!("deleted {asset}"),
    }
}

fn forcing(fields: &[FieldChange]) -> String {
    let forcing: Vec<String> = fields
        .iter()
        .filter(|field| field.forces_replacement)
        .map(|field| {
            format!(
                "{}: {} → {}",
                field.path,
                display_value(&field.json_field, &field.before),
                display_value(&field.json_field, &field.after)
            )
        })
        .collect();
    if forcing.is_empty() {
        "its stream is replaced".to_string()
    } else {
        forcing.join(", ")
    }
}

/// The message of a refused replacement: the fields, why, and what a
/// recreate would lose.
pub fn replace_refusal(change: &Change) -> String {
    let reasons: Vec<String> = change
        .diff
        .iter()
        .filter(|field| field.forces_replacement)
        .map(|field| {
            let mut text = format!(
                "{}: {} → {}",
                field.path,
                display_value(&field.json_field, &field.before),
                display_value(&field.json_field, &field.after)
            );
            if let Some(reason) = &field.reason {
                text.push_str(&format!(" ({reason})"));
            }
            text
        })
        .collect();
    let fields = if reasons.is_empty() {
        change.reason.clone()
    } else {
        reasons.join("; ")
    };
    let loss = change
        .loses
        .as_ref()
        .map(|loss| describe_loss(change.address.kind, &loss.holdings))
        .unwrap_or_else(|| "nothing".to_string());
    // Refused although replacing is allowed: for what else it would destroy
    // (other applications' consumers).
    if let Some(refused) = change
        .refused
        .as_deref()
        .filter(|refused| !refused.contains("--allow-replace"))
    {
        let loss = change.loses.as_ref().map_or_else(
            || "nothing".to_string(),
            |loss| crate::render::human::describe_full_loss(change.address.kind, loss),
        );
        return format!(
            "{}: {refused}; recreating it would lose {loss}",
            change.address
        );
    }
    format!(
        "{} cannot change in place: {fields}; recreating it would lose {loss}; set spec.onImmutableChange: Recreate to replace it",
        change.address
    )
}

/// The message of a refused rename: `spec.name` (or `spec.streamName`)
/// changed and the old asset would have to go.
pub fn rename_refusal(
    old: &crate::plan::Address,
    new: &crate::plan::Address,
    loses: &Holdings,
) -> String {
    format!(
        "the asset moved from {old} to {new} (spec.name or spec.streamName changed): replacing it deletes {old}, losing {}; set spec.onImmutableChange: Recreate to replace it, or change the name back",
        describe_loss(old.kind, loses)
    )
}

/// The judgements of an in-sync check, each keeping the message of the
/// condition written before when its status and reason stay: "created
/// stream …" stays until something happens, so that finding the asset as
/// declared writes nothing.
pub fn steady(judgements: &[Judgement], previous: &[Condition]) -> Vec<Judgement> {
    judgements
        .iter()
        .map(|judgement| {
            let mut judgement = judgement.clone();
            if let Some(written) = previous.iter().find(|c| {
                c.type_ == judgement.type_
                    && c.status == judgement.status.as_str()
                    && c.reason == judgement.reason
            }) {
                judgement.message = written.message.clone();
            }
            judgement
        })
        .collect()
}

/// The `Created` Event of an asset this resource made (its ownership marker
/// says so) whose status never recorded it: the controller stopped between
/// making the asset and writing the outcome. Recorded means the `Drifted`
/// condition was judged once, which every outcome that holds an asset does.
pub fn untold_creation(address: &Address, previous: &[Condition]) -> Option<Note> {
    let recorded = previous
        .iter()
        .any(|c| c.type_ == types::DRIFTED && c.reason != reasons::NOT_CHECKED);
    (!recorded).then(|| {
        Note::normal(
            events::CREATED,
            format!("created {} {address}", noun(address.kind)),
        )
    })
}

/// Consumer names an Event lists at most.
pub const NAMED_CONSUMERS: usize = 10;

/// `; 2 consumer(s) went with it: `audit`, `worker`` for the durable
/// consumers deleted with a stream (the first [`NAMED_CONSUMERS`] named),
/// nothing when there were none.
pub fn consumers_gone(names: &[String]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let mut named: Vec<String> = names
        .iter()
        .take(NAMED_CONSUMERS)
        .map(|name| format!("`{name}`"))
        .collect();
    if names.len() > NAMED_CONSUMERS {
        named.push(format!("and {} more", names.len() - NAMED_CONSUMERS));
    }
    format!(
        "; {} consumer(s) went with it: {}",
        names.len(),
        named.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::controller::owned_status::summary;
    use crate::plan::Address;
    use crate::plan::classify::FieldChange;

    fn field(path: &str, json_field: &str, before: Value, after: Value) -> FieldChange {
        FieldChange {
            path: path.into(),
            json_field: json_field.into(),
            before,
            after,
            forces_replacement: false,
            reason: None,
        }
    }

    fn change(action: Action) -> Change {
        Change {
            after: Some(json!({"name": "ORDERS"})),
            ..Change::new(Address::stream("ORDERS"), action, "declared config changed")
        }
    }

    fn plan_of(change: Change) -> Plan {
        Plan {
            changes: vec![change],
            ..Plan::default()
        }
    }

    fn live_applied(hash: &str) -> LiveAsset {
        LiveAsset {
            address: Address::stream("ORDERS"),
            config:
                json!({"metadata": {"jetsync.dev/owner": "ns/orders", "jetsync.dev/applied": hash}})
                    .into(),
            holdings: Holdings {
                messages: 12,
                bytes: 4096,
                ..Holdings::default()
            },
        }
    }

    const HOUR: u64 = 3_600_000_000_000;

    fn intent(drift_policy: DriftPolicy, reconciled_before: bool) -> Intent {
        Intent {
            drift_policy,
            adopt: false,
            reconciled_before,
            went_with_stream: false,
            observe: false,
        }
    }

    #[test]
    fn observe_only_reports_what_it_would_write_and_writes_nothing() {
        let observing = Intent {
            observe: true,
            ..intent(DriftPolicy::Correct, true)
        };
        let assessment = assess(&plan_of(change(Action::Create)), None, observing);
        assert!(matches!(assessment, Assessment::Observed(_)));
        let conclusion = conclude(&assessment, None, false);
        let ready = &conclusion.judgements[0];
        assert_eq!(ready.reason, reasons::OBSERVE_ONLY);
        assert_eq!(ready.status, crate::controller::conditions::Status::False);
        assert!(ready.message.contains("managementPolicy: Observe"));
    }

    #[test]
    fn an_empty_plan_is_ready_and_not_drifted() {
        let assessment = assess(&Plan::default(), None, intent(DriftPolicy::Correct, true));
        let conclusion = conclude(&assessment, None, false);

        assert_eq!(assessment, Assessment::InSync);
        assert_eq!(conclusion.verdict, Verdict::Ready);
        assert_eq!(conclusion.judgements[0].reason, reasons::RECONCILED);
        assert_eq!(conclusion.judgements[0].message, "in sync");
        assert_eq!(conclusion.drift().unwrap().reason, reasons::IN_SYNC);
        assert!(conclusion.notes.is_empty());
        assert_eq!(conclusion.next, Next::Recheck);
    }

    #[test]
    fn drift_under_correct_is_written_and_told_with_the_fields() {
        let mut drifted = change(Action::Update);
        drifted.drift = true;
        drifted.diff = vec![field("maxAge", "max_age", json!(2 * HOUR), json!(HOUR))];
        let live = live_applied(&ownership::config_hash(drifted.after.as_ref().unwrap()));

        let assessment = assess(
            &plan_of(drifted),
            Some(&live),
            intent(DriftPolicy::Correct, true),
        );
        let conclusion = conclude(&assessment, Some(&ChangeOutcome::Done), false);

        assert!(matches!(
            assessment,
            Assessment::Write {
                corrects_drift: true,
                ..
            }
        ));
        let drift = conclusion.drift().unwrap();
        assert_eq!(drift.status, super::super::conditions::Status::False);
        assert_eq!(drift.reason, reasons::DRIFT_CORRECTED);
        assert!(
            drift
                .message
                .contains("maxAge is 2h on the server, 1h in the spec"),
            "{}",
            drift.message
        );
        let reasons: Vec<&str> = conclusion.notes.iter().map(|n| n.reason).collect();
        assert_eq!(
            reasons,
            vec![events::DRIFT_DETECTED, events::DRIFT_CORRECTED]
        );
        assert!(conclusion.drift_detected && conclusion.drift_corrected);
    }

    #[test]
    fn drift_under_report_is_left_and_stays_drifted_with_the_diff() {
        let mut drifted = change(Action::Update);
        drifted.drift = true;
        drifted.diff = vec![field("maxAge", "max_age", json!(2 * HOUR), json!(HOUR))];
        let live = live_applied(&ownership::config_hash(drifted.after.as_ref().unwrap()));

        let assessment = assess(
            &plan_of(drifted),
            Some(&live),
            intent(DriftPolicy::Report, true),
        );
        let conclusion = conclude(&assessment, None, false);

        assert!(matches!(assessment, Assessment::DriftReported(_)));
        assert_eq!(conclusion.verdict, Verdict::Ready);
        let drift = conclusion.drift().unwrap();
        assert_eq!(drift.status, super::super::conditions::Status::True);
        assert_eq!(drift.reason, reasons::DRIFT_REPORTED);
        assert!(
            drift
                .message
                .contains("maxAge is 2h on the server, 1h in the spec")
        );
        assert_eq!(conclusion.notes[0].when_changed, Some(types::DRIFTED));
    }

    #[test]
    fn a_spec_change_on_a_drifted_asset_is_written_even_under_report() {
        let mut both = change(Action::Update);
        both.drift = true;
        both.diff = vec![field("maxAge", "max_age", json!(2 * HOUR), json!(HOUR))];
        let live = live_applied("an-older-spec");

        let assessment = assess(
            &plan_of(both),
            Some(&live),
            intent(DriftPolicy::Report, true),
        );

        assert!(matches!(assessment, Assessment::Write { .. }));
    }

    #[test]
    fn an_asset_deleted_out_of_band_is_recreated_or_reported() {
        let created = plan_of(change(Action::Create));

        let corrected = assess(&created, None, intent(DriftPolicy::Correct, true));
        let reported = assess(&created, None, intent(DriftPolicy::Report, true));
        let first = assess(&created, None, intent(DriftPolicy::Report, false));

        assert!(matches!(
            corrected,
            Assessment::Write {
                corrects_drift: true,
                ..
            }
        ));
        assert_eq!(reported, Assessment::DeletionReported);
        assert!(matches!(
            first,
            Assessment::Write {
                corrects_drift: false,
                ..
            }
        ));
        let conclusion = conclude(&corrected, Some(&ChangeOutcome::Done), false);
        assert!(
            conclusion
                .drift()
                .unwrap()
                .message
                .contains("deleted outside jetsync")
        );
    }

    #[test]
    fn a_consumer_that_went_with_its_replaced_stream_is_made_again_without_blame() {
        let mut created = change(Action::Create);
        created.address = Address::consumer("ORDERS", "worker");
        let followed = Intent {
            went_with_stream: true,
            ..intent(DriftPolicy::Report, true)
        };

        let assessment = assess(&plan_of(created), None, followed);
        let conclusion = conclude(&assessment, Some(&ChangeOutcome::Done), false);

        assert!(matches!(
            assessment,
            Assessment::Write {
                corrects_drift: false,
                ..
            }
        ));
        let reasons: Vec<&str> = conclusion.notes.iter().map(|n| n.reason).collect();
        assert_eq!(reasons, vec![events::CREATED]);
        assert_eq!(conclusion.drift().unwrap().reason, reasons::IN_SYNC);
        assert_eq!(
            conclusion.judgements[0].message,
            "recreated consumer consumer/ORDERS/worker: it went with its stream, which jetsync deleted or replaced"
        );
    }

    #[test]
    fn a_refused_replacement_stalls_naming_the_fields_and_the_loss() {
        let mut replace = change(Action::Replace);
        replace.refused = Some("needs --allow-replace".into());
        replace.loses = Some(
            Holdings {
                messages: 12,
                bytes: 4096,
                ..Holdings::default()
            }
            .into(),
        );
        replace.diff = vec![FieldChange {
            forces_replacement: true,
            reason: Some("can not change storage type".into()),
            ..field("storage", "storage", json!("file"), json!("memory"))
        }];

        let assessment = assess(&plan_of(replace), None, intent(DriftPolicy::Correct, true));
        let conclusion = conclude(&assessment, None, false);

        assert_eq!(conclusion.verdict, Verdict::Stalled);
        let stalled = &conclusion.judgements[2];
        assert_eq!(stalled.type_, types::STALLED);
        assert_eq!(stalled.reason, reasons::IMMUTABLE_FIELD_CHANGED);
        assert!(
            stalled
                .message
                .contains("storage: file → memory (can not change storage type)"),
            "{}",
            stalled.message
        );
        assert!(
            stalled.message.contains("12 message(s), 4KiB"),
            "{}",
            stalled.message
        );
        assert_eq!(conclusion.notes[0].reason, events::REPLACE_REFUSED);
        assert_eq!(conclusion.notes[0].when_changed, Some(types::STALLED));
    }

    #[test]
    fn a_refused_adoption_stalls() {
        let mut adopt = change(Action::Adopt);
        adopt.reason = "exists, not managed by jetsync".into();
        adopt.refused = Some("taking over needs spec.adopt: true".into());

        let conclusion = conclude(
            &assess(&plan_of(adopt), None, intent(DriftPolicy::Correct, false)),
            None,
            false,
        );

        assert_eq!(conclusion.verdict, Verdict::Stalled);
        assert_eq!(conclusion.judgements[2].reason, reasons::ADOPT_REFUSED);
        assert!(
            conclusion.judgements[2]
                .message
                .contains("not managed by jetsync")
        );
    }

    #[test]
    fn an_adoption_with_an_immutable_difference_is_a_refused_replacement() {
        let mut adopt = change(Action::Adopt);
        adopt.refused = Some("storage cannot change in place".into());
        adopt.diff = vec![FieldChange {
            forces_replacement: true,
            ..field("storage", "storage", json!("file"), json!("memory"))
        }];
        let adopting = Intent {
            adopt: true,
            ..intent(DriftPolicy::Correct, false)
        };

        let assessment = assess(&plan_of(adopt), None, adopting);

        assert!(
            matches!(assessment, Assessment::ReplaceRefused(_)),
            "{assessment:?}"
        );
    }

    #[test]
    fn a_failed_write_waits_and_backs_off() {
        let mut update = change(Action::Update);
        update.diff = vec![field("maxAge", "max_age", json!(2 * HOUR), json!(HOUR))];
        let assessment = assess(&plan_of(update), None, intent(DriftPolicy::Correct, true));

        let conclusion = conclude(
            &assessment,
            Some(&ChangeOutcome::Failed(crate::apply::ApplyError::Panicked)),
            false,
        );

        assert_eq!(conclusion.verdict, Verdict::Waiting);
        assert_eq!(conclusion.next, Next::Backoff);
        assert_eq!(conclusion.judgements[0].reason, reasons::APPLY_FAILED);
        assert!(
            conclusion.judgements[0]
                .message
                .contains("apply task failed: it panicked")
        );
        assert!(conclusion.judgements[0].message.contains("maxAge: 2h → 1h"));
    }

    #[test]
    fn read_only_reports_what_it_would_write() {
        let created = plan_of(change(Action::Create));
        let assessment = assess(&created, None, intent(DriftPolicy::Correct, false));

        let conclusion = conclude(&assessment, None, true);

        assert_eq!(conclusion.judgements[0].reason, reasons::READ_ONLY);
        assert_eq!(
            conclusion.judgements[0].message,
            "read-only: would create stream stream/ORDERS"
        );
        assert!(conclusion.notes.is_empty());
    }

    #[test]
    fn a_plan_with_errors_stalls_as_an_unsupported_field() {
        let mut plan = Plan::default();
        plan.diagnostics.push(crate::diagnostics::Diagnostic::error(
            "stream/ORDERS: allowMsgTtl needs nats-server 2.11",
        ));

        let conclusion = conclude(
            &assess(&plan, None, intent(DriftPolicy::Correct, false)),
            None,
            false,
        );

        assert_eq!(conclusion.judgements[2].reason, reasons::UNSUPPORTED_FIELD);
        assert!(
            conclusion.judgements[2]
                .message
                .contains("allowMsgTtl needs")
        );
    }

    #[test]
    fn the_consumers_that_went_with_a_stream_are_counted_and_named_up_to_ten() {
        let few: Vec<String> = vec!["audit".into(), "worker".into()];
        let many: Vec<String> = (0..12).map(|i| format!("c{i:02}")).collect();

        assert_eq!(consumers_gone(&[]), "");
        assert_eq!(
            consumers_gone(&few),
            "; 2 consumer(s) went with it: `audit`, `worker`"
        );
        let text = consumers_gone(&many);
        assert!(
            text.starts_with("; 12 consumer(s) went with it: `c00`"),
            "{text}"
        );
        assert!(text.ends_with("`c09`, and 2 more"), "{text}");
    }

    #[test]
    fn an_in_sync_check_keeps_the_message_the_last_write_gave() {
        let written = crate::controller::conditions::merge(
            &[],
            &[Judgement::yes(
                types::READY,
                reasons::RECONCILED,
                "created stream stream/ORDERS",
            )],
            Some(1),
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        );
        let in_sync = conclude(&Assessment::InSync, None, false);

        let kept = steady(&in_sync.judgements, &written);

        assert!(in_sync.steady);
        assert_eq!(kept[0].message, "created stream stream/ORDERS");
        assert_eq!(
            kept[3].message, "live matches the spec",
            "no Drifted written before"
        );
    }

    #[test]
    fn a_created_asset_whose_status_never_recorded_it_is_told_once() {
        let address = Address::stream("ORDERS");
        let judged = |reason: &'static str| {
            crate::controller::conditions::merge(
                &[],
                &[Judgement::no(types::DRIFTED, reason, "")],
                Some(1),
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            )
        };

        let note = untold_creation(&address, &[]).expect("never recorded");
        assert_eq!(note.reason, events::CREATED);
        assert_eq!(note.message, "created stream stream/ORDERS");
        assert!(untold_creation(&address, &judged(reasons::NOT_CHECKED)).is_some());
        assert_eq!(untold_creation(&address, &judged(reasons::IN_SYNC)), None);
    }

    #[test]
    fn summaries_say_what_the_asset_holds() {
        let live = live_applied("x");
        assert_eq!(
            summary(AssetKind::Stream, &live, Some(2)),
            "12 message(s), 4KiB, 2 consumer(s)"
        );
    }
}
