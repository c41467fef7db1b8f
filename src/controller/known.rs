//! What the controller knows of each stream on each connection from its own
//! reads and writes: absent, or present with its config (a consumer's plan
//! reads the stream's consumer limits) and, when known, every consumer on
//! it. A Consumer resource then sends no lookup that is known to miss: it
//! waits without a request while its stream is absent, is woken when the
//! stream is there, and reads neither the stream nor a consumer known not
//! to exist.
//!
//! What other clients change arrives as advisories, which make the
//! controller forget what it knew of the stream; knowledge also expires
//! after [`KNOWN_FOR`], in case advisories were lost. A write made on stale
//! knowledge is safe: creates are refused by the server when the asset
//! exists, and a failed write forgets the stream.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::clock::Clock;
use crate::plan::LiveAsset;

/// How long what the controller learnt of a stream is trusted.
pub const KNOWN_FOR: Duration = Duration::from_secs(30);

/// What is known of one stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Known {
    /// Not on the server.
    Absent,
    /// On the server with this config; `consumers`: the names of every
    /// consumer on it, when known.
    Present {
        stream: LiveAsset,
        consumers: Option<BTreeSet<String>>,
    },
}

type Key = (String, String);

/// The streams known per connection (pool key), and the Consumer resources
/// waiting for theirs.
#[derive(Debug, Default)]
pub struct KnownStreams {
    streams: Mutex<HashMap<Key, (Known, Instant)>>,
    waiting: Mutex<HashMap<Key, BTreeSet<String>>>,
    /// Consumer resource key → since when it waits for its stream.
    since: Mutex<HashMap<String, Instant>>,
}

fn key(pool: &str, stream: &str) -> Key {
    (pool.to_string(), stream.to_string())
}

impl KnownStreams {
    /// What is known of `stream` on `pool`, if learnt recently.
    pub fn get(&self, pool: &str, stream: &str) -> Option<Known> {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let key = key(pool, stream);
        match streams.get(&key) {
            Some((known, at)) if at.elapsed() < KNOWN_FOR => Some(known.clone()),
            Some(_) => {
                streams.remove(&key);
                None
            }
            None => None,
        }
    }

    /// `stream` is not on the server.
    pub fn absent(&self, pool: &str, stream: &str) {
        self.set(pool, stream, Known::Absent, Instant::now());
    }

    /// What a read sent at `read_at` found of `stream`, unless something
    /// newer is known (a write made while the read was on its way).
    pub fn read(&self, pool: &str, stream: &str, known: Known, read_at: Instant) {
        self.set(pool, stream, known, read_at);
    }

    /// `stream` is on the server as `asset`; `consumers` when every consumer
    /// on it is known (none on a stream just made).
    pub fn present(
        &self,
        pool: &str,
        stream: &str,
        asset: LiveAsset,
        consumers: Option<BTreeSet<String>>,
    ) {
        self.set(
            pool,
            stream,
            Known::Present {
                stream: asset,
                consumers,
            },
            Instant::now(),
        );
    }

    /// The controller made (or found) `consumer` on `stream`.
    pub fn consumer_made(&self, pool: &str, stream: &str, consumer: &str) {
        self.edit_consumers(pool, stream, |names| {
            names.insert(consumer.to_string());
        });
    }

    /// The controller deleted `consumer` on `stream`.
    pub fn consumer_gone(&self, pool: &str, stream: &str, consumer: &str) {
        self.edit_consumers(pool, stream, |names| {
            names.remove(consumer);
        });
    }

    /// Forgets `stream` (something changed it that the controller did not
    /// see, or a write to it failed).
    pub fn forget(&self, pool: &str, stream: &str) {
        self.streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key(pool, stream));
    }

    /// Forgets every stream on `pool` (a listing of its account is fresher
    /// than anything learnt before it).
    pub fn forget_pool(&self, pool: &str) {
        self.streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(known_pool, _), _| known_pool != pool);
    }

    /// The consumer `consumer` (its JetStream name) waits for `stream`;
    /// false (and not waiting) when the stream is known to be there already
    /// (it came while the consumer looked).
    pub fn wait(&self, pool: &str, stream: &str, consumer: &str) -> bool {
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key(pool, stream))
            .or_default()
            .insert(consumer.to_string());
        // A stream made known before this wait was registered handed its
        // waiting consumers over already: this one goes on by itself.
        if matches!(self.get(pool, stream), Some(Known::Present { .. })) {
            if let Some(names) = self
                .waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(&key(pool, stream))
            {
                names.remove(consumer);
            }
            return false;
        }
        true
    }

    /// How long the Consumer resource `key` has waited for its stream, by
    /// `clock` (its first wait starts now).
    pub fn waited(&self, key: &str, clock: &Clock) -> Duration {
        let mut since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        clock.since(*since.entry(key.to_string()).or_insert_with(|| clock.now()))
    }

    /// The Consumer resource `key` no longer waits (or is gone).
    pub fn not_waiting(&self, key: &str) {
        self.since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// `stream` is there: the consumers that waited for it, no longer
    /// waiting.
    pub fn ready(&self, pool: &str, stream: &str) -> BTreeSet<String> {
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key(pool, stream))
            .unwrap_or_default()
    }

    fn set(&self, pool: &str, stream: &str, known: Known, at: Instant) {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let key = key(pool, stream);
        if streams
            .get(&key)
            .is_none_or(|(_, known_at)| *known_at <= at)
        {
            streams.insert(key, (known, at));
        }
    }

    fn edit_consumers(&self, pool: &str, stream: &str, edit: impl FnOnce(&mut BTreeSet<String>)) {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((
            Known::Present {
                consumers: Some(names),
                ..
            },
            _,
        )) = streams.get_mut(&key(pool, stream))
        {
            edit(names);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Address, Holdings, LiveConfig};

    fn orders() -> LiveAsset {
        LiveAsset {
            address: Address::stream("ORDERS"),
            config: LiveConfig::new(&serde_json::json!({"name": "ORDERS"})),
            holdings: Holdings::default(),
        }
    }

    #[test]
    fn a_stream_just_made_is_known_with_no_consumer_until_the_controller_makes_one() {
        let known = KnownStreams::default();
        known.present("default", "ORDERS", orders(), Some(BTreeSet::new()));

        known.consumer_made("default", "ORDERS", "worker");

        let Some(Known::Present { consumers, .. }) = known.get("default", "ORDERS") else {
            panic!("known")
        };
        assert_eq!(consumers, Some(BTreeSet::from(["worker".to_string()])));
        assert_eq!(known.get("profile-1", "ORDERS"), None);
    }

    #[test]
    fn a_stream_whose_consumers_were_not_listed_stays_without_a_consumer_set() {
        let known = KnownStreams::default();
        known.present("default", "ORDERS", orders(), None);

        known.consumer_made("default", "ORDERS", "worker");

        assert!(matches!(
            known.get("default", "ORDERS"),
            Some(Known::Present {
                consumers: None,
                ..
            })
        ));
    }

    #[test]
    fn waiting_consumers_are_handed_over_once_when_their_stream_is_ready() {
        let known = KnownStreams::default();
        known.absent("default", "ORDERS");
        known.wait("default", "ORDERS", "worker");
        known.wait("default", "ORDERS", "audit");

        let woken = known.ready("default", "ORDERS");

        assert_eq!(woken.len(), 2);
        assert!(known.ready("default", "ORDERS").is_empty());
    }

    #[test]
    fn a_listing_makes_every_stream_of_its_connection_unknown() {
        let known = KnownStreams::default();
        known.absent("default", "ORDERS");
        known.absent("profile-1", "ORDERS");

        known.forget_pool("default");

        assert_eq!(known.get("default", "ORDERS"), None);
        assert_eq!(known.get("profile-1", "ORDERS"), Some(Known::Absent));
    }

    #[test]
    fn a_wait_is_timed_from_the_first_look_until_it_ends() {
        let known = KnownStreams::default();
        let clock = Clock::default();
        assert!(known.waited("Consumer/a/worker", &clock) < Duration::from_secs(1));

        clock.advance(Duration::from_secs(4));
        assert_eq!(known.waited("Consumer/a/worker", &clock).as_secs(), 4);

        known.not_waiting("Consumer/a/worker");
        assert_eq!(known.waited("Consumer/a/worker", &clock).as_secs(), 0);
    }

    #[test]
    fn a_read_older_than_a_write_does_not_undo_what_the_write_made_known() {
        let known = KnownStreams::default();
        let read_at = Instant::now();
        known.present("default", "ORDERS", orders(), Some(BTreeSet::new()));

        known.read("default", "ORDERS", Known::Absent, read_at);

        assert!(matches!(
            known.get("default", "ORDERS"),
            Some(Known::Present { .. })
        ));
    }

    #[test]
    fn a_consumer_that_would_wait_for_a_stream_already_there_goes_on() {
        let known = KnownStreams::default();
        known.present("default", "ORDERS", orders(), Some(BTreeSet::new()));

        assert!(!known.wait("default", "ORDERS", "worker"));
        assert!(known.ready("default", "ORDERS").is_empty());
        known.absent("default", "EVENTS");
        assert!(known.wait("default", "EVENTS", "worker"));
    }

    #[test]
    fn a_forgotten_stream_is_unknown() {
        let known = KnownStreams::default();
        known.absent("default", "ORDERS");

        known.forget("default", "ORDERS");

        assert_eq!(known.get("default", "ORDERS"), None);
    }
}
