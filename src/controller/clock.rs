//! The controller's clock for what it remembers for a while (a failed
//! connect): the system's monotonic clock, which tests move forward instead
//! of sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Monotonic time, plus however far it was advanced.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    advanced: Arc<Mutex<Duration>>,
}

impl Clock {
    /// Now.
    pub fn now(&self) -> Instant {
        Instant::now() + *self.advanced.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Time since `earlier` (a value of [`Clock::now`]).
    pub fn since(&self, earlier: Instant) -> Duration {
        self.now().saturating_duration_since(earlier)
    }

    /// Moves this clock (and its clones) `by` forward.
    pub fn advance(&self, by: Duration) {
        *self.advanced.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_moves_its_clones_too() {
        let clock = Clock::default();
        let start = clock.now();
        let clone = clock.clone();

        clock.advance(Duration::from_secs(5));

        assert!(clone.since(start) >= Duration::from_secs(5));
    }
}
