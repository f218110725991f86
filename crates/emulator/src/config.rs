//! The emulator's one configuration struct and its fault rates.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::served::FaultKind;

/// How the emulator behaves: which catalog it serves, which credentials it accepts,
/// how fast clients may call it and how unreliable it pretends to be.
///
/// The `[emulator]` section of the pricelake config; the keys here are the emulator's
/// own demo keys, not secrets of a real service. Every default makes a working demo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmulatorConfig {
    /// Seed of the generated catalog and exchange rates: the same seed and the same
    /// clock instant always give byte-identical bodies.
    pub seed: u64,
    /// Number of products in the generated catalog (ignored when `fixture` is set).
    pub items: usize,
    /// The Walmart Open API v1 `apiKey` query parameter the emulator accepts.
    pub walmart_api_key: String,
    /// The Affiliate API v2 `WM_CONSUMER.ID` header the emulator accepts.
    pub walmart_consumer_id: String,
    /// PEM text (`PUBLIC KEY` or `RSA PUBLIC KEY`) that verifies v2 request signatures;
    /// without it the v2 routes answer 403 (no subscription).
    pub walmart_public_key_pem: Option<String>,
    /// The currencylayer `access_key` query parameter the emulator accepts.
    pub currencylayer_access_key: String,
    /// The apilayer marketplace `apikey` header the emulator accepts.
    pub apilayer_apikey: String,
    /// A small fixed catalog (JSON, see `fixtures/small.json`) served instead of the
    /// generated one, for tests whose expectations are computed by hand.
    pub fixture: Option<PathBuf>,
    /// Requests accepted per second of clock time; beyond it the answer is 429 with
    /// `Retry-After`. Unset means unlimited.
    pub rate_limit_per_sec: Option<u32>,
    /// Currency requests accepted per UTC day of clock time (both variants); beyond it
    /// the answer is error 104 (usage limit reached) with HTTP 200, until the next day.
    /// Unset means unlimited.
    pub fx_daily_quota: Option<u32>,
    /// Whether the emulated plan includes `timeframe` queries; when false they answer
    /// error 105 (function not on the plan), as on currencylayer's cheaper plans.
    pub fx_timeframe_on_plan: bool,
    /// Deterministic unreliability: how often each kind of failure is injected.
    pub faults: FaultConfig,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            items: 3000,
            walmart_api_key: "demo-walmart-key".to_string(),
            walmart_consumer_id: "demo-consumer".to_string(),
            walmart_public_key_pem: None,
            currencylayer_access_key: "demo-fx-key".to_string(),
            apilayer_apikey: "demo-apilayer-key".to_string(),
            fixture: None,
            rate_limit_per_sec: None,
            fx_daily_quota: None,
            fx_timeframe_on_plan: true,
            faults: FaultConfig::default(),
        }
    }
}

/// Rates (0.0 to 1.0, per request) of the failures the real services show, so that
/// clients are exercised against them. All default to 0: a reliable emulator.
///
/// At most one fault is injected per response; when several would fire, the first in
/// the order error_5xx, timeout, truncated, malformed, bom, duplicate, slow wins.
/// Decisions depend only on `fault_seed` and the request's sequence number, so a
/// sequential client sees the same faults on every run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Share of requests answered 503 with an error body instead of the data.
    pub error_5xx: f64,
    /// Share of responses delayed by `slow_ms` before being sent, intact.
    pub slow: f64,
    /// Delay of a slow response, in milliseconds of real time.
    pub slow_ms: u64,
    /// Share of requests that hang for `timeout_ms` (longer than any sane client
    /// timeout) and then lose their connection without an answer.
    pub timeout: f64,
    /// How long a timed-out request hangs before its connection is dropped, in
    /// milliseconds of real time.
    pub timeout_ms: u64,
    /// Share of 200 responses whose body is cut in half (the HTTP message is complete,
    /// the JSON is not).
    pub truncated: f64,
    /// Share of 200 responses whose body is replaced by a proxy's HTML error page.
    pub malformed: f64,
    /// Share of 200 responses that begin with a UTF-8 byte-order mark, as some recorded
    /// Walmart responses do; the JSON after it is intact.
    pub bom: f64,
    /// Share of list responses that repeat an item: the previous page's last item on
    /// top of a paginated page, or one item twice in a list.
    pub duplicate: f64,
    /// Seed of the fault decisions.
    pub fault_seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            error_5xx: 0.0,
            slow: 0.0,
            slow_ms: 1500,
            timeout: 0.0,
            timeout_ms: 30_000,
            truncated: 0.0,
            malformed: 0.0,
            bom: 0.0,
            duplicate: 0.0,
            fault_seed: 7,
        }
    }
}

impl FaultConfig {
    /// The rates in the order they are tried, with the kind each one injects.
    pub(crate) fn ordered(&self) -> [(FaultKind, f64); 7] {
        use FaultKind::*;
        [
            (Error5xx, self.error_5xx),
            (Timeout, self.timeout),
            (Truncated, self.truncated),
            (Malformed, self.malformed),
            (Bom, self.bom),
            (Duplicate, self.duplicate),
            (Slow, self.slow),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_a_partial_config_and_unknown_fields_are_rejected() {
        let cfg: EmulatorConfig =
            serde_json::from_str(r#"{"items": 10, "faults": {"bom": 0.5}}"#).unwrap();
        assert_eq!(cfg.items, 10);
        assert_eq!(cfg.seed, 42);
        assert_eq!(cfg.faults.bom, 0.5);
        assert_eq!(cfg.faults.error_5xx, 0.0);
        assert!(serde_json::from_str::<EmulatorConfig>(r#"{"itemz": 1}"#).is_err());
        assert!(serde_json::from_str::<EmulatorConfig>(r#"{"faults": {"x": 1}}"#).is_err());
    }
}
