//! Consumers follow their stream. When the controller itself deletes or
//! replaces a stream (or a KV bucket's or object store's), the server
//! deletes the stream's consumers with it: the Consumer resources on it are
//! reconciled at once (a touch that reaches them), and a consumer found
//! missing after its stream went this way is made again as a plain create,
//! never reported as changed outside jetsync.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// When streams went by the controller's hand, and when each Consumer
/// resource last found its consumer on the server.
#[derive(Debug, Default)]
pub struct Followers {
    /// (pool key, stream) → when the controller deleted or replaced it.
    gone: Mutex<HashMap<(String, String), Instant>>,
    /// Consumer resource key → when its consumer was last on the server.
    seen: Mutex<HashMap<String, Instant>>,
}

impl Followers {
    /// The controller is about to delete or replace `stream` on the
    /// connection `pool`.
    pub fn stream_going(&self, pool: &str, stream: &str) {
        self.gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((pool.to_string(), stream.to_string()), Instant::now());
    }

    /// The consumer of the resource `consumer` is on the server now.
    pub fn consumer_seen(&self, consumer: &str) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(consumer.to_string(), Instant::now());
    }

    /// The resource `consumer` is gone.
    pub fn forget(&self, consumer: &str) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(consumer);
    }

    /// True when the missing consumer of the resource `consumer` went with
    /// its `stream`: the controller deleted or replaced the stream since
    /// the consumer was last seen.
    pub fn went_with_stream(&self, pool: &str, stream: &str, consumer: &str) -> bool {
        let gone = self
            .gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(pool.to_string(), stream.to_string()))
            .copied();
        let Some(gone) = gone else {
            return false;
        };
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(consumer)
            .is_none_or(|seen| *seen < gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKER: &str = "Consumer/team-a/worker";

    #[test]
    fn a_consumer_missing_after_the_controller_replaced_its_stream_went_with_it() {
        let followers = Followers::default();
        followers.consumer_seen(WORKER);

        followers.stream_going("default", "ORDERS");

        assert!(followers.went_with_stream("default", "ORDERS", WORKER));
        assert!(!followers.went_with_stream("profile-1", "ORDERS", WORKER));
        assert!(!followers.went_with_stream("default", "EVENTS", WORKER));
    }

    #[test]
    fn a_consumer_missing_after_it_was_seen_again_was_deleted_by_someone_else() {
        let followers = Followers::default();
        followers.stream_going("default", "ORDERS");

        followers.consumer_seen(WORKER);

        assert!(!followers.went_with_stream("default", "ORDERS", WORKER));
    }
}
