//! The record of every response the emulator served, so a test can prove that what was
//! served equals what landed plus what was dead-lettered.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A failure the emulator injects on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A 503 instead of the data.
    Error5xx,
    /// The request hung, then its connection was dropped without an answer.
    Timeout,
    /// The body was cut in half.
    Truncated,
    /// The body was replaced by something that is not JSON.
    Malformed,
    /// The body began with a UTF-8 byte-order mark (the JSON is intact).
    Bom,
    /// An item was repeated (across pages or within a list).
    Duplicate,
    /// The response was delayed (and intact).
    Slow,
}

impl FaultKind {
    /// The name recorded in [`ServedEntry::fault`]: `error_5xx`, `timeout`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Error5xx => "error_5xx",
            FaultKind::Timeout => "timeout",
            FaultKind::Truncated => "truncated",
            FaultKind::Malformed => "malformed",
            FaultKind::Bom => "bom",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Slow => "slow",
        }
    }

    /// Whether a client still receives a complete, parseable body despite this fault.
    pub fn body_intact(self) -> bool {
        matches!(
            self,
            FaultKind::Bom | FaultKind::Duplicate | FaultKind::Slow
        )
    }

    fn parse(s: &str) -> Option<FaultKind> {
        use FaultKind::*;
        [
            Error5xx, Timeout, Truncated, Malformed, Bom, Duplicate, Slow,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Which emulated API answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// Walmart Open API v1 (`/v1/...`).
    WalmartV1,
    /// Walmart Affiliate API v2 (`/api-proxy/service/affil/product/v2/...`).
    WalmartV2,
    /// currencylayer (`/api/...`).
    Currencylayer,
    /// apilayer marketplace (`/currency_data/...`).
    CurrencyData,
    /// Anything else (unknown paths).
    Other,
}

/// One exchange rate served: the pair and the instant the rate is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServedQuote {
    /// `USDEUR`.
    pub pair: String,
    /// The instant the rate is published for (the body's `timestamp`, or the day's end
    /// for past days of `historical` and `timeframe`).
    pub rate_time: DateTime<Utc>,
}

/// One response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedEntry {
    /// Sequence number of the request (0-based; faults are decided on it).
    pub seq: u64,
    /// The clock's now when the request was answered.
    pub at: DateTime<Utc>,
    /// Which API answered.
    pub api: Api,
    /// `walmart/trends`, `walmart/vod`, `walmart/search`, `walmart/items`,
    /// `walmart/paginated_items`, `walmart/taxonomy` (v1 and v2 alike; see `api`),
    /// `currencylayer/live`, `currencylayer/historical`, ... (both currency variants).
    pub endpoint: String,
    /// Path and query, secrets redacted.
    pub path: String,
    /// HTTP status sent; 0 when the connection was dropped before any answer.
    pub status: u16,
    /// Item ids in the body, in order, repeats included (before any fault corrupted it).
    pub item_ids: Vec<u64>,
    /// Quotes in the body.
    pub quotes: Vec<ServedQuote>,
    /// The injected fault (`FaultKind::as_str`), if one was applied.
    pub fault: Option<String>,
}

impl ServedEntry {
    /// The injected fault, typed.
    pub fn fault_kind(&self) -> Option<FaultKind> {
        self.fault.as_deref().and_then(FaultKind::parse)
    }

    /// True when a client received a complete, parseable 200 body.
    pub fn delivered(&self) -> bool {
        self.status == 200 && self.fault_kind().is_none_or(FaultKind::body_intact)
    }
}

/// Aggregates of the log, as `GET /_emulator/served` returns them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServedSummary {
    /// Responses recorded.
    pub responses: usize,
    /// Responses per endpoint.
    pub by_endpoint: BTreeMap<String, usize>,
    /// Responses per HTTP status (`0` when the connection was dropped).
    pub by_status: BTreeMap<u16, usize>,
    /// Injected faults per kind.
    pub faults: BTreeMap<String, usize>,
    /// Item records in delivered bodies (repeats counted), per endpoint.
    pub items_by_endpoint: BTreeMap<String, usize>,
    /// Item records in delivered bodies, all endpoints.
    pub items: usize,
    /// Quotes in delivered bodies.
    pub quotes: usize,
    /// Item records in bodies that were not delivered intact (truncated or malformed).
    pub items_corrupted: usize,
    /// Every distinct request answered (path and query, secrets redacted), whatever the
    /// answer. After retries, restarts and `kill -9`s, each must have left a record or a
    /// dead letter in the lake: at-least-once, checked without knowing when the kills were.
    #[serde(default)]
    pub requests: BTreeSet<String>,
    /// Distinct (request, item id) pairs delivered intact, per endpoint: each must have
    /// landed, however often it was served again after an interruption.
    #[serde(default)]
    pub request_items: BTreeMap<String, BTreeSet<(String, u64)>>,
    /// Distinct (request, currency pair) pairs delivered intact.
    #[serde(default)]
    pub request_quotes: BTreeSet<(String, String)>,
}

/// A shared, append-only log of served responses; clones share the same log.
#[derive(Debug, Clone, Default)]
pub struct ServedLog {
    entries: Arc<Mutex<Vec<ServedEntry>>>,
}

impl ServedLog {
    pub(crate) fn push(&self, entry: ServedEntry) {
        self.lock().push(entry);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ServedEntry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of every entry, in the order responses were recorded.
    pub fn entries(&self) -> Vec<ServedEntry> {
        self.lock().clone()
    }

    /// Number of responses recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True before the first response.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Item records of one endpoint (`walmart/trends`) that a client received intact:
    /// HTTP 200 and no corrupting fault (a BOM, a repeat or a delay leave it intact).
    pub fn items_served_intact(&self, endpoint: &str) -> usize {
        self.lock()
            .iter()
            .filter(|e| e.endpoint == endpoint && e.delivered())
            .map(|e| e.item_ids.len())
            .sum()
    }

    /// Responses with status 200 for an endpoint.
    pub fn responses_ok(&self, endpoint: &str) -> usize {
        self.lock()
            .iter()
            .filter(|e| e.endpoint == endpoint && e.status == 200)
            .count()
    }

    /// Item records a client received intact, over all endpoints.
    pub fn count_item_records(&self) -> usize {
        self.lock()
            .iter()
            .filter(|e| e.delivered())
            .map(|e| e.item_ids.len())
            .sum()
    }

    /// Quotes a client received intact.
    pub fn count_quotes(&self) -> usize {
        self.lock()
            .iter()
            .filter(|e| e.delivered())
            .map(|e| e.quotes.len())
            .sum()
    }

    /// Applied faults per kind.
    pub fn count_faults(&self) -> BTreeMap<FaultKind, usize> {
        let mut out = BTreeMap::new();
        for f in self.lock().iter().filter_map(ServedEntry::fault_kind) {
            *out.entry(f).or_default() += 1;
        }
        out
    }

    /// The aggregates served by `/_emulator/served`.
    pub fn summary(&self) -> ServedSummary {
        let entries = self.lock();
        let mut s = ServedSummary {
            responses: entries.len(),
            ..ServedSummary::default()
        };
        for e in entries.iter() {
            *s.by_endpoint.entry(e.endpoint.clone()).or_default() += 1;
            *s.by_status.entry(e.status).or_default() += 1;
            if let Some(f) = &e.fault {
                *s.faults.entry(f.clone()).or_default() += 1;
            }
            s.requests.insert(e.path.clone());
            if e.delivered() {
                if !e.item_ids.is_empty() {
                    let pairs = s.request_items.entry(e.endpoint.clone()).or_default();
                    for id in &e.item_ids {
                        pairs.insert((e.path.clone(), *id));
                    }
                }
                for q in &e.quotes {
                    s.request_quotes.insert((e.path.clone(), q.pair.clone()));
                }
                *s.items_by_endpoint.entry(e.endpoint.clone()).or_default() += e.item_ids.len();
                s.items += e.item_ids.len();
                s.quotes += e.quotes.len();
            } else {
                s.items_corrupted += e.item_ids.len();
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(status: u16, fault: Option<FaultKind>, items: usize) -> ServedEntry {
        ServedEntry {
            seq: 0,
            at: DateTime::from_timestamp(0, 0).unwrap(),
            api: Api::WalmartV1,
            endpoint: "walmart/trends".into(),
            path: "/v1/trends?apiKey=REDACTED".into(),
            status,
            item_ids: (0..items as u64).collect(),
            quotes: vec![],
            fault: fault.map(|f| f.as_str().to_string()),
        }
    }

    #[test]
    fn only_intact_bodies_count_as_delivered() {
        let log = ServedLog::default();
        log.push(entry(200, None, 3));
        log.push(entry(200, Some(FaultKind::Bom), 2));
        log.push(entry(200, Some(FaultKind::Duplicate), 4));
        log.push(entry(200, Some(FaultKind::Truncated), 5));
        log.push(entry(503, Some(FaultKind::Error5xx), 0));
        log.push(entry(0, Some(FaultKind::Timeout), 0));
        assert_eq!(log.count_item_records(), 9);
        assert_eq!(log.items_served_intact("walmart/trends"), 9);
        assert_eq!(log.items_served_intact("walmart/vod"), 0);
        assert_eq!(log.responses_ok("walmart/trends"), 4);
        let s = log.summary();
        assert_eq!(s.responses, 6);
        assert_eq!(s.items_corrupted, 5);
        assert_eq!(s.by_status[&0], 1);
        assert_eq!(s.by_endpoint["walmart/trends"], 6);
        assert_eq!(log.count_faults()[&FaultKind::Bom], 1);
        assert_eq!(log.entries()[3].fault_kind(), Some(FaultKind::Truncated));
    }
}
