//! The emulator's record of everything it served, so tests can balance served against landed.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::AppState;

/// One response the emulator sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServedEntry {
    /// The clock's time when it was served.
    pub at: DateTime<Utc>,
    /// `walmart/trends`, `currencylayer/live`, ...
    pub endpoint: String,
    /// HTTP status sent.
    pub status: u16,
    /// Items in the body (before any fault corrupted it).
    pub item_ids: Vec<u64>,
    /// Quotes in the body.
    pub quotes: usize,
    /// The fault injected into this response, if any.
    pub fault: Option<String>,
}

/// A shared, append-only log of served responses.
#[derive(Debug, Clone, Default)]
pub struct ServedLog {
    entries: Arc<Mutex<Vec<ServedEntry>>>,
}

impl ServedLog {
    pub(crate) fn push(&self, entry: ServedEntry) {
        self.entries
            .lock()
            .expect("served log poisoned")
            .push(entry);
    }

    pub(crate) fn mark_last_fault(&self, fault: &str) {
        if let Some(last) = self.entries.lock().expect("served log poisoned").last_mut() {
            last.fault = Some(fault.to_string());
        }
    }

    /// Every entry so far.
    pub fn entries(&self) -> Vec<ServedEntry> {
        self.entries.lock().expect("served log poisoned").clone()
    }

    /// Item records served intact (HTTP 200, no corrupting fault), per endpoint prefix.
    pub fn items_served_intact(&self, endpoint: &str) -> usize {
        self.entries()
            .iter()
            .filter(|e| {
                e.endpoint == endpoint
                    && e.status == 200
                    && e.fault.as_deref().is_none_or(|f| f == "bom")
            })
            .map(|e| e.item_ids.len())
            .sum()
    }

    /// Responses with status 200 for an endpoint.
    pub fn responses_ok(&self, endpoint: &str) -> usize {
        self.entries()
            .iter()
            .filter(|e| e.endpoint == endpoint && e.status == 200)
            .count()
    }
}

#[derive(Serialize)]
pub(crate) struct Summary {
    responses: usize,
    items: usize,
    quotes: usize,
    faults: usize,
}

pub(crate) async fn summary(State(state): State<AppState>) -> Json<Summary> {
    let entries = state.served.entries();
    Json(Summary {
        responses: entries.len(),
        items: entries.iter().map(|e| e.item_ids.len()).sum(),
        quotes: entries.iter().map(|e| e.quotes).sum(),
        faults: entries.iter().filter(|e| e.fault.is_some()).count(),
    })
}
