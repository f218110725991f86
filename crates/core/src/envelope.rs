//! What a source hands to delivery, and what delivery lands in the lake.
//!
//! One envelope per item of a list response (trends, search, items, paginated catalog)
//! and one per whole body otherwise (vod, live, historical, list, taxonomy). The
//! `record_id` is a pure function of where the record came from, so a retried request
//! or a replayed spool produces the same id and transform can remove the duplicate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One record as fetched, with everything needed to trace it back to its request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordEnvelope {
    /// Stable id: see [`RecordEnvelope::derive_id`].
    pub record_id: String,
    /// Which service: `walmart` or `currencylayer`.
    pub source: String,
    /// Which resource: `trends`, `vod`, `search`, `items`, `paginated_items`,
    /// `taxonomy`, `live`, `historical`, `timeframe`, `list`.
    pub endpoint: String,
    /// When the response arrived, from the one clock.
    pub fetched_at: DateTime<Utc>,
    /// The request URL with secrets removed.
    pub request_url: String,
    /// The HTTP status of the response.
    pub http_status: u16,
    /// Index of this item in the response's list; `None` when the payload is the whole body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// Fields of the response outside the list (trends `time`, `totalResults`, `nextPage`),
    /// kept so that splitting a list into items loses nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<serde_json::Value>,
    /// The item, or the whole body.
    pub payload: serde_json::Value,
}

impl RecordEnvelope {
    /// The stable record id: a hex SHA-256 prefix over source, endpoint, the redacted
    /// request identity and the position in the response.
    ///
    /// `request_key` must identify the logical request, not the attempt: the redacted
    /// URL plus the logical time of the poll (the scheduled slot), so that a retry of
    /// the same poll gets the same id while the next day's poll gets a new one.
    pub fn derive_id(
        source: &str,
        endpoint: &str,
        request_key: &str,
        position: Option<u32>,
    ) -> String {
        let mut hasher = Sha256::new();
        for part in [source, endpoint, request_key] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        match position {
            Some(p) => hasher.update(p.to_be_bytes()),
            None => hasher.update(b"whole"),
        }
        let digest = hasher.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A record that could not be accepted, kept with its reason instead of dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The stage that rejected it: `ingest`, `delivery` or `transform`.
    pub stage: String,
    /// A short machine-readable reason, used as a path segment: `malformed_json`,
    /// `missing_item_id`, `api_error_106`, `http_500`, ...
    pub reason: String,
    /// A human explanation: the parser's message, the API's error text.
    pub detail: String,
    /// Stable id, derived like [`RecordEnvelope::derive_id`].
    pub record_id: String,
    /// Which service.
    pub source: String,
    /// Which resource.
    pub endpoint: String,
    /// When it was fetched, from the one clock.
    pub fetched_at: DateTime<Utc>,
    /// The request URL with secrets removed.
    pub request_url: String,
    /// The HTTP status, when there was a response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The offending bytes as text (lossy UTF-8), or the offending item as JSON text.
    pub raw: String,
}

impl DeadLetter {
    /// Turns a rejected envelope into a dead letter, keeping its payload.
    pub fn from_envelope(
        envelope: &RecordEnvelope,
        stage: &str,
        reason: &str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            stage: stage.to_string(),
            reason: reason.to_string(),
            detail: detail.into(),
            record_id: envelope.record_id.clone(),
            source: envelope.source.clone(),
            endpoint: envelope.endpoint.clone(),
            fetched_at: envelope.fetched_at,
            request_url: envelope.request_url.clone(),
            http_status: Some(envelope.http_status),
            raw: envelope.payload.to_string(),
        }
    }
}

/// What delivery carries: a raw record or a dead letter, each with its own lake prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LakeRecord {
    /// Lands under `raw/<source>/<endpoint>/`.
    Raw(RecordEnvelope),
    /// Lands under `errors/<stage>/<reason>/`.
    DeadLetter(DeadLetter),
}

impl LakeRecord {
    /// The lake prefix (relative to the lake root, no trailing slash) this record lands under.
    pub fn lake_prefix(&self) -> String {
        match self {
            LakeRecord::Raw(e) => crate::layout::raw_prefix(&e.source, &e.endpoint),
            LakeRecord::DeadLetter(d) => crate::layout::errors_prefix(&d.stage, &d.reason),
        }
    }

    /// The time used for time partitions: when the record was fetched.
    pub fn event_time(&self) -> DateTime<Utc> {
        match self {
            LakeRecord::Raw(e) => e.fetched_at,
            LakeRecord::DeadLetter(d) => d.fetched_at,
        }
    }

    /// The stable record id.
    pub fn record_id(&self) -> &str {
        match self {
            LakeRecord::Raw(e) => &e.record_id,
            LakeRecord::DeadLetter(d) => &d.record_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_id_is_stable_and_sensitive_to_every_part() {
        let a = RecordEnvelope::derive_id("walmart", "trends", "url@2026-01-01", Some(3));
        assert_eq!(
            a,
            RecordEnvelope::derive_id("walmart", "trends", "url@2026-01-01", Some(3))
        );
        assert_eq!(a.len(), 32);
        assert_ne!(
            a,
            RecordEnvelope::derive_id("walmart", "trends", "url@2026-01-01", Some(4))
        );
        assert_ne!(
            a,
            RecordEnvelope::derive_id("walmart", "trends", "url@2026-01-02", Some(3))
        );
        assert_ne!(
            a,
            RecordEnvelope::derive_id("walmart", "trends", "url@2026-01-01", None)
        );
    }

    #[test]
    fn lake_record_round_trips_and_knows_its_prefix() {
        let env = RecordEnvelope {
            record_id: "r1".into(),
            source: "walmart".into(),
            endpoint: "vod".into(),
            fetched_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            request_url: "http://x/v1/vod?apiKey=REDACTED".into(),
            http_status: 200,
            position: None,
            context: None,
            payload: serde_json::json!({"itemId": 1}),
        };
        let raw = LakeRecord::Raw(env.clone());
        assert_eq!(raw.lake_prefix(), "raw/walmart/vod");
        let text = serde_json::to_string(&raw).unwrap();
        assert_eq!(serde_json::from_str::<LakeRecord>(&text).unwrap(), raw);
        let dead = LakeRecord::DeadLetter(DeadLetter::from_envelope(
            &env,
            "ingest",
            "missing_item_id",
            "no itemId",
        ));
        assert_eq!(dead.lake_prefix(), "errors/ingest/missing_item_id");
    }
}
