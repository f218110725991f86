//! Turning one response into lake records: envelopes for what can be kept, dead letters
//! with their reason for what cannot.

use chrono::{DateTime, Utc};
use pricelake_core::models::walmart::Item;
use pricelake_core::{DeadLetter, LakeRecord, RecordEnvelope};
use serde_json::Value;

use crate::http::Discarded;

/// Where a response came from: enough to build ids and envelopes.
pub(crate) struct Origin<'a> {
    pub source: &'a str,
    pub endpoint: &'a str,
    /// Redacted URL.
    pub url: &'a str,
    /// The scheduled slot of the poll: part of every record id, so retries reuse ids.
    pub slot: DateTime<Utc>,
}

impl Origin<'_> {
    fn request_key(&self) -> String {
        format!("{}@{}", self.url, self.slot.to_rfc3339())
    }

    fn id(&self, position: Option<u32>) -> String {
        RecordEnvelope::derive_id(self.source, self.endpoint, &self.request_key(), position)
    }

    /// One envelope holding the whole body.
    pub fn whole(&self, status: u16, at: DateTime<Utc>, body: Value) -> LakeRecord {
        LakeRecord::Raw(RecordEnvelope {
            record_id: self.id(None),
            source: self.source.into(),
            endpoint: self.endpoint.into(),
            fetched_at: at,
            request_url: self.url.into(),
            http_status: status,
            position: None,
            context: None,
            payload: body,
        })
    }

    /// One envelope per valid item; a dead letter (stage `ingest`) per invalid one.
    pub fn items(
        &self,
        status: u16,
        at: DateTime<Utc>,
        items: &[Value],
        context: Option<Value>,
    ) -> Vec<LakeRecord> {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let envelope = RecordEnvelope {
                    record_id: self.id(Some(i as u32)),
                    source: self.source.into(),
                    endpoint: self.endpoint.into(),
                    fetched_at: at,
                    request_url: self.url.into(),
                    http_status: status,
                    position: Some(i as u32),
                    context: context.clone(),
                    payload: item.clone(),
                };
                match Item::from_json(item) {
                    Ok(_) => LakeRecord::Raw(envelope),
                    Err(e) => LakeRecord::DeadLetter(DeadLetter::from_envelope(
                        &envelope,
                        "ingest",
                        e.code(),
                        e.to_string(),
                    )),
                }
            })
            .collect()
    }

    /// The dead letter of a request the service rejected (an HTTP error status): reason
    /// `http_<status>`, the body kept as it came.
    pub fn rejected(&self, status: u16, at: DateTime<Utc>, body: String) -> LakeRecord {
        self.dead(
            &format!("http_{status}"),
            "the service rejected the request",
            Some(status),
            at,
            body,
            999,
        )
    }

    /// A dead letter for a whole response that cannot be used.
    pub fn dead(
        &self,
        reason: &str,
        detail: &str,
        status: Option<u16>,
        at: DateTime<Utc>,
        raw: String,
        salt: usize,
    ) -> LakeRecord {
        LakeRecord::DeadLetter(DeadLetter {
            stage: "ingest".into(),
            reason: reason.into(),
            detail: detail.into(),
            record_id: pricelake_core::RecordEnvelope::derive_id(
                self.source,
                self.endpoint,
                &format!("{}|{}|{}", self.request_key(), at.to_rfc3339(), salt),
                None,
            ),
            source: self.source.into(),
            endpoint: self.endpoint.into(),
            fetched_at: at,
            request_url: self.url.into(),
            http_status: status,
            raw,
        })
    }

    /// Dead letters for every response discarded on the way to the outcome.
    pub fn discarded(&self, discarded: &[Discarded]) -> Vec<LakeRecord> {
        discarded
            .iter()
            .enumerate()
            // Connection failures and time-outs carried no body: counted in metrics, nothing to keep.
            .filter(|(_, d)| d.status.is_some())
            .map(|(i, d)| self.dead(&d.reason, &d.detail, d.status, d.at, d.body.clone(), i))
            .collect()
    }
}

/// Raw records and dead letters in a batch.
pub(crate) fn count(records: &[LakeRecord]) -> (u64, u64) {
    let dead = records
        .iter()
        .filter(|r| matches!(r, LakeRecord::DeadLetter(_)))
        .count() as u64;
    (records.len() as u64 - dead, dead)
}
