//! The whole status the controller owns, as one value: what the next
//! server-side apply of the status sends. Under server-side apply a field
//! its only manager stops applying is deleted, so every write carries every
//! field (`observedGeneration`, the conditions, the live counts), and
//! nothing is written when none of them changed. Plain values only.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use super::conditions::{self, Judgement};
use crate::plan::{AssetKind, LiveAsset};
use crate::resources::{AssetStatus, LiveSummary};
use crate::spec::units::Size;

/// What this reconcile knows of the live asset's counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Counts {
    /// Read now.
    Read(LiveSummary),
    /// The asset is not there (or was just made anew): no counts.
    Gone,
    /// Not read (no connection, invalid spec, …): the written counts stay.
    Unknown,
}

/// Least time between two writes made only because the counts moved.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(60);

/// The status to apply after a reconcile, or None when it equals
/// `previous` (nothing to write). The counts are written first; later, on
/// their own, only when they changed and the last write is older than
/// [`SUMMARY_INTERVAL`] (counts move with every message; writing each move
/// would re-trigger the controller at message rate); and always, when
/// changed, along with a write that happens anyway.
pub fn next_status(
    previous: Option<&AssetStatus>,
    generation: Option<i64>,
    judgements: &[Judgement],
    counts: Counts,
    now: Timestamp,
) -> Option<AssetStatus> {
    let empty = AssetStatus::default();
    let previous = previous.unwrap_or(&empty);
    let mut next = AssetStatus {
        observed_generation: generation,
        conditions: conditions::merge(&previous.conditions, judgements, generation, now),
        summary: previous.summary.clone(),
        last_handled_reconcile_at: previous.last_handled_reconcile_at.clone(),
    };
    let fresh = match counts {
        Counts::Unknown => None,
        Counts::Gone => {
            next.summary = None;
            None
        }
        Counts::Read(read) => Some(read),
    };
    let moved = fresh.as_ref().filter(|read| {
        previous
            .summary
            .as_ref()
            .is_none_or(|written| numbers(written) != numbers(read))
    });
    let writing_anyway = next != *previous;
    if let Some(read) = moved
        && (writing_anyway || summary_due(previous.summary.as_ref(), now))
    {
        next.summary = Some(LiveSummary {
            observed_at: Some(now.to_string()),
            ..read.clone()
        });
    }
    (next != *previous).then_some(next)
}

fn numbers(summary: &LiveSummary) -> [Option<u64>; 5] {
    [
        summary.messages,
        summary.bytes,
        summary.consumers,
        summary.pending,
        summary.ack_pending,
    ]
}

/// True when no counts were written yet, or the last write is older than
/// [`SUMMARY_INTERVAL`] (or has no readable time).
fn summary_due(written: Option<&LiveSummary>, now: Timestamp) -> bool {
    let Some(written) = written else {
        return true;
    };
    written
        .observed_at
        .as_deref()
        .and_then(|at| at.parse::<Timestamp>().ok())
        .is_none_or(|at| now.duration_since(at).unsigned_abs() >= SUMMARY_INTERVAL)
}

/// What the live asset holds, as counts for `status.summary` (the printer
/// columns show them).
pub fn live_summary(kind: AssetKind, live: &LiveAsset, consumer_count: Option<u64>) -> LiveSummary {
    match kind {
        AssetKind::Consumer => LiveSummary {
            pending: Some(live.holdings.pending),
            ack_pending: Some(live.holdings.ack_pending),
            ..LiveSummary::default()
        },
        _ => LiveSummary {
            messages: Some(live.holdings.messages),
            bytes: Some(live.holdings.bytes),
            consumers: consumer_count,
            ..LiveSummary::default()
        },
    }
}

/// The counts of an asset just made: a stream holds nothing yet, a consumer
/// has delivered nothing (its pending count is read at the next re-check
/// that finds it moved).
pub fn empty_summary(kind: AssetKind) -> LiveSummary {
    match kind {
        AssetKind::Consumer => LiveSummary {
            pending: Some(0),
            ack_pending: Some(0),
            ..LiveSummary::default()
        },
        _ => LiveSummary {
            messages: Some(0),
            bytes: Some(0),
            consumers: Some(0),
            ..LiveSummary::default()
        },
    }
}

/// What the live asset holds, for people: `12 message(s), 4.1 KiB,
/// 2 consumer(s)`, or for a consumer `3 pending, 1 awaiting ack`. Logged,
/// not written into conditions: counts move all the time, and a status
/// that changes at every check would re-trigger the watch forever.
pub fn summary(kind: AssetKind, live: &LiveAsset, consumer_count: Option<u64>) -> String {
    match kind {
        AssetKind::Consumer => format!(
            "{} pending, {} awaiting ack",
            live.holdings.pending, live.holdings.ack_pending
        ),
        _ => {
            let mut text = format!(
                "{} message(s), {}",
                live.holdings.messages,
                Size::from_bytes(live.holdings.bytes)
            );
            if let Some(count) = consumer_count {
                text.push_str(&format!(", {count} consumer(s)"));
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::conditions::{reasons, types};

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    fn counts(messages: u64) -> LiveSummary {
        LiveSummary {
            messages: Some(messages),
            bytes: Some(messages * 10),
            consumers: Some(0),
            ..LiveSummary::default()
        }
    }

    fn in_sync() -> Vec<Judgement> {
        vec![Judgement::yes(types::READY, reasons::RECONCILED, "in sync")]
    }

    fn updated() -> Vec<Judgement> {
        vec![Judgement::yes(
            types::READY,
            reasons::RECONCILED,
            "updated stream ORDERS: maxAge: 1h → 2h",
        )]
    }

    /// The status after a first reconcile that read `messages` at `at(0)`.
    fn written(messages: u64) -> AssetStatus {
        next_status(
            None,
            Some(1),
            &in_sync(),
            Counts::Read(counts(messages)),
            at(0),
        )
        .unwrap()
    }

    #[test]
    fn the_first_write_carries_generation_conditions_and_counts() {
        let status = written(3);

        assert_eq!(status.observed_generation, Some(1));
        assert_eq!(status.conditions[0].type_, types::READY);
        let summary = status.summary.unwrap();
        assert_eq!(summary.messages, Some(3));
        assert_eq!(summary.observed_at, Some(at(0).to_string()));
    }

    #[test]
    fn nothing_is_written_when_conditions_and_counts_are_unchanged() {
        let previous = written(3);

        let next = next_status(
            Some(&previous),
            Some(1),
            &in_sync(),
            Counts::Read(counts(3)),
            at(3600),
        );

        assert_eq!(next, None);
    }

    #[test]
    fn a_condition_write_with_unchanged_counts_still_applies_the_counts_as_written() {
        let previous = written(3);

        let next = next_status(
            Some(&previous),
            Some(2),
            &updated(),
            Counts::Read(counts(3)),
            at(10),
        )
        .expect("the condition changed");

        assert_eq!(next.summary, previous.summary, "kept, with its time");
        assert_eq!(next.observed_generation, Some(2));
        assert!(next.conditions[0].message.starts_with("updated"));
    }

    #[test]
    fn a_condition_write_when_counts_were_not_read_keeps_the_written_counts() {
        let previous = written(3);

        let next = next_status(
            Some(&previous),
            Some(2),
            &updated(),
            Counts::Unknown,
            at(10),
        )
        .expect("the condition changed");

        assert_eq!(next.summary, previous.summary);
    }

    #[test]
    fn moved_counts_alone_are_written_at_most_once_a_minute() {
        let previous = written(3);

        let soon = next_status(
            Some(&previous),
            Some(1),
            &in_sync(),
            Counts::Read(counts(4)),
            at(30),
        );
        let later = next_status(
            Some(&previous),
            Some(1),
            &in_sync(),
            Counts::Read(counts(4)),
            at(61),
        )
        .expect("a minute passed");

        assert_eq!(soon, None);
        assert_eq!(later.summary.unwrap().messages, Some(4));
    }

    #[test]
    fn moved_counts_ride_along_with_a_write_that_happens_anyway() {
        let previous = written(3);

        let next = next_status(
            Some(&previous),
            Some(2),
            &updated(),
            Counts::Read(counts(4)),
            at(5),
        )
        .unwrap();

        let summary = next.summary.unwrap();
        assert_eq!(summary.messages, Some(4));
        assert_eq!(summary.observed_at, Some(at(5).to_string()));
    }

    #[test]
    fn the_counts_go_when_the_asset_goes() {
        let previous = written(3);

        let next = next_status(Some(&previous), Some(1), &in_sync(), Counts::Gone, at(5))
            .expect("the counts are removed");

        assert_eq!(next.summary, None);
    }
}
