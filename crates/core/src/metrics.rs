//! Counters every component writes and `status`, `audit` and `/metrics` read.
//!
//! One registry per process; a counter is a metric name plus sorted labels. Components
//! count what they received, delivered, retried and dead-lettered (by reason), so the
//! books can be balanced from one place rather than from a second bookkeeping.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// A counter or gauge key: metric name and its labels, sorted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MetricKey {
    /// Prometheus metric name, e.g. `pricelake_records_received_total`.
    pub name: String,
    /// Label pairs, sorted by name.
    pub labels: Vec<(String, String)>,
}

impl MetricKey {
    fn new(name: &str, labels: &[(&str, &str)]) -> Self {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        Self {
            name: name.to_string(),
            labels,
        }
    }
}

/// A point-in-time copy of every counter and gauge, serializable into `_state/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Monotonic counters.
    pub counters: Vec<(MetricKey, u64)>,
    /// Values that go up and down (spool bytes, oldest unflushed age).
    pub gauges: Vec<(MetricKey, f64)>,
}

impl MetricsSnapshot {
    /// Sum of a counter over every label set matching all of `labels`.
    pub fn counter_sum(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.counters
            .iter()
            .filter(|(k, _)| k.name == name && matches_labels(k, labels))
            .map(|(_, v)| *v)
            .sum()
    }
}

fn matches_labels(key: &MetricKey, wanted: &[(&str, &str)]) -> bool {
    wanted
        .iter()
        .all(|(wk, wv)| key.labels.iter().any(|(k, v)| k == wk && v == wv))
}

#[derive(Debug, Default)]
struct Inner {
    counters: BTreeMap<MetricKey, u64>,
    gauges: BTreeMap<MetricKey, f64>,
}

/// The process's registry of counters and gauges. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Inner>>,
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` to a counter.
    pub fn add(&self, name: &str, labels: &[(&str, &str)], n: u64) {
        let key = MetricKey::new(name, labels);
        let mut inner = self.inner.lock().expect("metrics lock poisoned");
        *inner.counters.entry(key).or_default() += n;
    }

    /// Adds one to a counter.
    pub fn incr(&self, name: &str, labels: &[(&str, &str)]) {
        self.add(name, labels, 1);
    }

    /// Sets a gauge.
    pub fn set_gauge(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        let key = MetricKey::new(name, labels);
        let mut inner = self.inner.lock().expect("metrics lock poisoned");
        inner.gauges.insert(key, value);
    }

    /// The current value of one counter with exactly these labels.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let key = MetricKey::new(name, labels);
        let inner = self.inner.lock().expect("metrics lock poisoned");
        inner.counters.get(&key).copied().unwrap_or(0)
    }

    /// A copy of everything, for status documents and tests.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let inner = self.inner.lock().expect("metrics lock poisoned");
        MetricsSnapshot {
            counters: inner
                .counters
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            gauges: inner.gauges.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn render_prometheus(&self) -> String {
        render_prometheus(&self.snapshot())
    }
}

/// Renders a snapshot in Prometheus text format, one `# TYPE` line per metric.
pub fn render_prometheus(snapshot: &MetricsSnapshot) -> String {
    let mut out = String::new();
    let mut last_name = String::new();
    for (key, value) in &snapshot.counters {
        if key.name != last_name {
            out.push_str(&format!("# TYPE {} counter\n", key.name));
            last_name = key.name.clone();
        }
        out.push_str(&format!("{}{} {}\n", key.name, label_text(key), value));
    }
    last_name.clear();
    for (key, value) in &snapshot.gauges {
        if key.name != last_name {
            out.push_str(&format!("# TYPE {} gauge\n", key.name));
            last_name = key.name.clone();
        }
        out.push_str(&format!("{}{} {}\n", key.name, label_text(key), value));
    }
    out
}

fn label_text(key: &MetricKey) -> String {
    if key.labels.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = key
        .labels
        .iter()
        .map(|(k, v)| {
            let escaped = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{escaped}\"")
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Metric names shared by components, so producers and readers cannot drift apart.
pub mod names {
    /// Records a component accepted from upstream.
    pub const RECORDS_RECEIVED: &str = "pricelake_records_received_total";
    /// Records a component handed on durably (landed in the lake, written to a table).
    pub const RECORDS_DELIVERED: &str = "pricelake_records_delivered_total";
    /// Attempts repeated after a failure.
    pub const RETRIES: &str = "pricelake_retries_total";
    /// Records kept as dead letters, labelled by `reason`.
    pub const DEAD_LETTERS: &str = "pricelake_dead_letters_total";
    /// HTTP requests a source made, labelled by `source`, `endpoint`, `outcome`.
    pub const SOURCE_REQUESTS: &str = "pricelake_source_requests_total";
    /// Objects written to the lake.
    pub const OBJECTS_WRITTEN: &str = "pricelake_objects_written_total";
    /// Bytes written to the lake (compressed).
    pub const BYTES_WRITTEN: &str = "pricelake_bytes_written_total";
    /// Bytes held in the delivery spool or buffers, not yet in the lake.
    pub const SPOOL_BYTES: &str = "pricelake_spool_bytes";
    /// Age in seconds of the oldest record not yet in the lake.
    pub const OLDEST_UNFLUSHED_SECONDS: &str = "pricelake_oldest_unflushed_seconds";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_labels_and_renders_prometheus() {
        let metrics = Metrics::new();
        metrics.incr(names::DEAD_LETTERS, &[("reason", "malformed_json")]);
        metrics.add(names::DEAD_LETTERS, &[("reason", "http_500")], 2);
        metrics.set_gauge(names::SPOOL_BYTES, &[], 10.0);
        let snap = metrics.snapshot();
        assert_eq!(snap.counter_sum(names::DEAD_LETTERS, &[]), 3);
        assert_eq!(
            snap.counter_sum(names::DEAD_LETTERS, &[("reason", "http_500")]),
            2
        );
        let text = metrics.render_prometheus();
        assert!(text.contains("# TYPE pricelake_dead_letters_total counter"));
        assert!(text.contains("pricelake_dead_letters_total{reason=\"http_500\"} 2"));
        assert!(text.contains("pricelake_spool_bytes 10"));
    }
}
