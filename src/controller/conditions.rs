//! Condition types, reasons and event reasons: every name the controller
//! writes into a status or an Event, in one place. Conditions are
//! kstatus-compatible: `Ready` summarises, `Reconciling` and `Stalled` are
//! the abnormal-true conditions kstatus, Argo CD and Flux read, `Drifted`
//! tells whether the live asset differed from the spec at the last check.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// Condition types.
pub mod types {
    /// The asset is as declared (or as the policy allows).
    pub const READY: &str = "Ready";
    /// Work is in progress: retrying, waiting for a dependency.
    pub const RECONCILING: &str = "Reconciling";
    /// A human must act: invalid spec, refused replacement, unsupported field.
    pub const STALLED: &str = "Stalled";
    /// The live asset differed from the spec at the last check.
    pub const DRIFTED: &str = "Drifted";
    /// A `NatsConnection`'s JetStream advisories arrive, so out-of-band
    /// changes are noticed at once (else at the periodic check).
    pub const WATCHING: &str = "Watching";

    /// The order conditions are listed in.
    pub const ALL: [&str; 5] = [READY, RECONCILING, STALLED, DRIFTED, WATCHING];
}

/// Condition reasons (CamelCase).
pub mod reasons {
    /// The asset is as declared.
    pub const RECONCILED: &str = "Reconciled";
    /// A `NatsConnection` connected and JetStream answered.
    pub const CONNECTED: &str = "Connected";
    /// Writing the asset is under way (or about to be retried).
    pub const PROGRESSING: &str = "Progressing";
    /// A consumer's stream does not exist yet.
    pub const STREAM_NOT_READY: &str = "StreamNotReady";
    /// A changed field cannot change in place and `onImmutableChange` is `Fail`.
    pub const IMMUTABLE_FIELD_CHANGED: &str = "ImmutableFieldChanged";
    /// The NATS server cannot be reached (or TLS failed).
    pub const CONNECTION_FAILED: &str = "ConnectionFailed";
    /// The NATS server refused the credentials.
    pub const AUTH_REFUSED: &str = "AuthRefused";
    /// JetStream is not enabled for the account (or the domain is wrong).
    pub const JETSTREAM_DISABLED: &str = "JetStreamDisabled";
    /// The NATS user may not use the JetStream API subject.
    pub const PERMISSION_DENIED: &str = "PermissionDenied";
    /// The `NatsConnection` named in `spec.connection` does not exist.
    pub const CONNECTION_NOT_FOUND: &str = "ConnectionNotFound";
    /// A Secret (or a key of it) a `NatsConnection` references does not exist.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    /// The spec is invalid.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// The connected server is too old for a spec field.
    pub const UNSUPPORTED_FIELD: &str = "UnsupportedField";
    /// The asset exists, is not managed by this resource, and `adopt` is off.
    pub const ADOPT_REFUSED: &str = "AdoptRefused";
    /// The server refused or failed a write; retried with backoff.
    pub const APPLY_FAILED: &str = "ApplyFailed";
    /// Drift was found and corrected (`driftPolicy: Correct`).
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    /// Drift was found; correcting it failed and is retried.
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// Drift was found and left as is (`driftPolicy: Report`).
    pub const DRIFT_REPORTED: &str = "DriftReported";
    /// No drift at the last check.
    pub const IN_SYNC: &str = "InSync";
    /// Drift could not be checked (no connection, invalid spec, …).
    pub const NOT_CHECKED: &str = "NotChecked";
    /// The connection is subscribed to JetStream's advisories.
    pub const ADVISORIES_SUBSCRIBED: &str = "AdvisoriesSubscribed";
    /// The server refused the subscription to JetStream's advisories.
    pub const ADVISORIES_REFUSED: &str = "AdvisoriesRefused";
    /// `--read-only`: changes are planned and reported, never written.
    pub const READ_ONLY: &str = "ReadOnly";
    /// `managementPolicy: Observe` with differences: reported, never written.
    pub const OBSERVE_ONLY: &str = "ObserveOnly";
    /// `spec.suspend: true`: nothing is reconciled.
    pub const SUSPENDED: &str = "Suspended";
}

/// Event reasons (CamelCase), shown by `kubectl describe` and `kubectl events`.
pub mod events {
    pub const CREATED: &str = "Created";
    pub const UPDATED: &str = "Updated";
    pub const REPLACED: &str = "Replaced";
    pub const ADOPTED: &str = "Adopted";
    pub const DELETED: &str = "Deleted";
    pub const ORPHANED: &str = "Orphaned";
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    pub const REPLACE_REFUSED: &str = "ReplaceRefused";
    pub const ADOPT_REFUSED: &str = "AdoptRefused";
    pub const DELETE_REFUSED: &str = "DeleteRefused";
    pub const CONNECTION_FAILED: &str = "ConnectionFailed";
    pub const APPLY_FAILED: &str = "ApplyFailed";
}

/// A condition's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    True,
    False,
    Unknown,
}

impl Status {
    /// `True`, `False` or `Unknown`, as written in the condition.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }
}

/// One condition as the reconcile decided it, before timestamps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub type_: &'static str,
    pub status: Status,
    pub reason: &'static str,
    pub message: String,
}

impl Judgement {
    /// A `True` condition.
    pub fn yes(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_,
            status: Status::True,
            reason,
            message: message.into(),
        }
    }

    /// A `False` condition.
    pub fn no(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_,
            status: Status::False,
            reason,
            message: message.into(),
        }
    }

    /// An `Unknown` condition.
    pub fn unknown(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_,
            status: Status::Unknown,
            reason,
            message: message.into(),
        }
    }
}

/// The conditions after `judgements`: a condition whose status is unchanged
/// keeps its `lastTransitionTime` (its reason and message may change);
/// one that flips, or is new, takes `now`. Conditions without a judgement
/// are kept as they were. Listed in [`types::ALL`] order, others after.
pub fn merge(
    existing: &[Condition],
    judgements: &[Judgement],
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    let mut merged: Vec<Condition> = existing.to_vec();
    for judgement in judgements {
        let status = judgement.status.as_str();
        let message = truncate(&judgement.message, MAX_MESSAGE);
        match merged.iter_mut().find(|c| c.type_ == judgement.type_) {
            Some(condition) => {
                if condition.status != status {
                    condition.last_transition_time = Time(now);
                }
                condition.status = status.to_string();
                condition.reason = judgement.reason.to_string();
                condition.message = message;
                condition.observed_generation = generation;
            }
            None => merged.push(Condition {
                type_: judgement.type_.to_string(),
                status: status.to_string(),
                reason: judgement.reason.to_string(),
                message,
                observed_generation: generation,
                last_transition_time: Time(now),
            }),
        }
    }
    let rank = |condition: &Condition| {
        types::ALL
            .iter()
            .position(|t| *t == condition.type_)
            .unwrap_or(types::ALL.len())
    };
    merged.sort_by_key(rank);
    merged
}

/// The condition of `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// True when `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == "True")
}

/// Longest condition message written (the API server allows 32 KiB).
pub const MAX_MESSAGE: usize = 4096;

/// `text` cut to at most `max` bytes on a character boundary, marked with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    #[test]
    fn an_unchanged_status_keeps_its_transition_time_while_the_message_changes() {
        let first = merge(
            &[],
            &[Judgement::yes(types::READY, reasons::RECONCILED, "in sync")],
            Some(1),
            at(0),
        );
        let second = merge(
            &first,
            &[Judgement::yes(
                types::READY,
                reasons::RECONCILED,
                "updated maxAge",
            )],
            Some(2),
            at(60),
        );

        assert_eq!(second.len(), 1);
        assert_eq!(second[0].last_transition_time, Time(at(0)));
        assert_eq!(second[0].message, "updated maxAge");
        assert_eq!(second[0].observed_generation, Some(2));
    }

    #[test]
    fn a_flipped_status_moves_the_transition_time() {
        let first = merge(
            &[],
            &[Judgement::yes(types::READY, reasons::RECONCILED, "")],
            Some(1),
            at(0),
        );
        let second = merge(
            &first,
            &[Judgement::no(
                types::READY,
                reasons::CONNECTION_FAILED,
                "down",
            )],
            Some(1),
            at(30),
        );

        assert_eq!(second[0].status, "False");
        assert_eq!(second[0].reason, reasons::CONNECTION_FAILED);
        assert_eq!(second[0].last_transition_time, Time(at(30)));
    }

    #[test]
    fn conditions_without_a_judgement_are_kept_and_all_are_listed_in_order() {
        let first = merge(
            &[],
            &[
                Judgement::no(types::DRIFTED, reasons::IN_SYNC, ""),
                Judgement::yes(types::READY, reasons::RECONCILED, ""),
            ],
            Some(1),
            at(0),
        );
        let second = merge(
            &first,
            &[Judgement::no(types::STALLED, reasons::RECONCILED, "")],
            Some(1),
            at(5),
        );

        let order: Vec<&str> = second.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(order, vec!["Ready", "Stalled", "Drifted"]);
        assert!(is_true(&second, types::READY));
        assert!(!is_true(&second, types::STALLED));
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let text = "é".repeat(3000);
        let cut = truncate(&text, MAX_MESSAGE);
        assert!(cut.len() <= MAX_MESSAGE);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short", MAX_MESSAGE), "short");
    }
}
