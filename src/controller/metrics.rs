//! Prometheus metrics of the controller, served on `/metrics` in the
//! OpenMetrics text format.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of per-kind metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

/// Labels of the reconcile counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub kind: String,
    /// `ready`, `waiting`, `stalled` or `error`.
    pub result: String,
}

/// Labels of the connection failure counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

fn duration_histogram() -> Histogram {
    // 5 ms … ~20 s
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

/// Every metric the controller exports.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    duration: Family<KindLabels, Histogram, fn() -> Histogram>,
    drift_detected: Family<KindLabels, Counter>,
    drift_corrected: Family<KindLabels, Counter>,
    managed_assets: Family<KindLabels, Gauge>,
    connections_open: Gauge,
    connections_unwatched: Gauge,
    touched: Family<KindLabels, Counter>,
    connection_failures: Family<ReasonLabels, Counter>,
    leader: Gauge,
    managed: Mutex<HashMap<String, BTreeSet<String>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("jetsync");
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles by kind and result (ready, waiting, stalled, error)",
            reconciles.clone(),
        );
        let duration = Family::<KindLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram,
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile took, by kind",
            duration.clone(),
        );
        let drift_detected = Family::<KindLabels, Counter>::default();
        registry.register(
            "drift_detected",
            "Assets found changed outside jetsync",
            drift_detected.clone(),
        );
        let drift_corrected = Family::<KindLabels, Counter>::default();
        registry.register(
            "drift_corrected",
            "Drifted assets put back as declared",
            drift_corrected.clone(),
        );
        let managed_assets = Family::<KindLabels, Gauge>::default();
        registry.register(
            "managed_assets",
            "Resources whose asset the controller manages, by kind",
            managed_assets.clone(),
        );
        let connections_open = Gauge::default();
        registry.register(
            "nats_connections",
            "Pooled NATS connections open (one per distinct connection profile)",
            connections_open.clone(),
        );
        let connections_unwatched = Gauge::default();
        registry.register(
            "nats_connections_without_advisories",
            "Pooled NATS connections whose subscription to JetStream advisories the server refused (their out-of-band changes wait for the periodic check)",
            connections_unwatched.clone(),
        );
        let touched = Family::<KindLabels, Counter>::default();
        registry.register(
            "advisory_reconciles",
            "Reconciles asked for at once because an advisory (or the controller's own stream replacement) named the resource's asset, by kind",
            touched.clone(),
        );
        let connection_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "nats_connection_failures",
            "Failed NATS connection attempts by reason",
            connection_failures.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease and reconciles",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            duration,
            drift_detected,
            drift_corrected,
            managed_assets,
            connections_open,
            connections_unwatched,
            touched,
            connection_failures,
            leader,
            managed: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one reconcile of `kind` that ended with `result`, taking `took`.
    pub fn reconciled(&self, kind: &str, result: &str, took: Duration) {
        self.reconciles
            .get_or_create(&ResultLabels {
                kind: kind.to_string(),
                result: result.to_string(),
            })
            .inc();
        self.duration
            .get_or_create(&KindLabels {
                kind: kind.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts drift found (and, when `corrected`, put back).
    pub fn drift(&self, kind: &str, corrected: bool) {
        let labels = KindLabels {
            kind: kind.to_string(),
        };
        self.drift_detected.get_or_create(&labels).inc();
        if corrected {
            self.drift_corrected.get_or_create(&labels).inc();
        }
    }

    /// Records whether the resource `key` of `kind` manages an asset now.
    pub fn managed(&self, kind: &str, key: &str, managed: bool) {
        let mut sets = self.managed.lock().unwrap_or_else(|e| e.into_inner());
        let set = sets.entry(kind.to_string()).or_default();
        if managed {
            set.insert(key.to_string());
        } else {
            set.remove(key);
        }
        let count = i64::try_from(set.len()).unwrap_or(i64::MAX);
        self.managed_assets
            .get_or_create(&KindLabels {
                kind: kind.to_string(),
            })
            .set(count);
    }

    /// Counts a failed connection attempt.
    pub fn connection_failed(&self, reason: &str) {
        self.connection_failures
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Sets the number of open pooled connections.
    pub fn connections_open(&self, open: usize) {
        self.connections_open
            .set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// Sets the number of pooled connections without advisories.
    pub fn connections_unwatched(&self, unwatched: usize) {
        self.connections_unwatched
            .set(i64::try_from(unwatched).unwrap_or(i64::MAX));
    }

    /// Counts `count` reconciles of `kind` asked for by a touch.
    pub fn touched(&self, kind: &str, count: usize) {
        self.touched
            .get_or_create(&KindLabels {
                kind: kind.to_string(),
            })
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// Sets whether this replica leads.
    pub fn leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        let _ = encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_exported_with_their_labels() {
        let metrics = Metrics::new();
        metrics.reconciled("Stream", "ready", Duration::from_millis(20));
        metrics.drift("Stream", true);
        metrics.managed("Stream", "a/orders", true);
        metrics.managed("Stream", "a/events", true);
        metrics.managed("Stream", "a/events", false);
        metrics.connection_failed("AuthRefused");
        metrics.connections_open(2);
        metrics.connections_unwatched(1);
        metrics.touched("Consumer", 3);
        metrics.leader(true);

        let text = metrics.encode();
        for expected in [
            r#"jetsync_reconciles_total{kind="Stream",result="ready"} 1"#,
            r#"jetsync_reconcile_duration_seconds_count{kind="Stream"} 1"#,
            r#"jetsync_drift_detected_total{kind="Stream"} 1"#,
            r#"jetsync_drift_corrected_total{kind="Stream"} 1"#,
            r#"jetsync_managed_assets{kind="Stream"} 1"#,
            r#"jetsync_nats_connection_failures_total{reason="AuthRefused"} 1"#,
            "jetsync_nats_connections 2",
            "jetsync_nats_connections_without_advisories 1",
            r#"jetsync_advisory_reconciles_total{kind="Consumer"} 3"#,
            "jetsync_leader 1",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }
}
