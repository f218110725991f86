//! One polite, persistent HTTP GET: rate limit, daily quota, time-out, retries with
//! exponential backoff and full jitter on time-outs, 5xx, 429 (honouring `Retry-After`)
//! and unreadable bodies. Every unreadable body is handed back to be dead-lettered: a
//! retry that finally succeeds does not hide the garbage that came before it.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pricelake_core::metrics::names;
use pricelake_core::secret::redact_url;
use pricelake_core::{Metrics, SharedClock};
use serde_json::Value;

use crate::config::RetryConfig;
use crate::signing::WalmartSigner;
use crate::SourceError;

/// A response body that could not be used, kept to become a dead letter.
#[derive(Debug, Clone, PartialEq)]
pub struct Discarded {
    /// `malformed_json`, `http_503`, `timeout`, ...
    pub reason: String,
    /// A human explanation.
    pub detail: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The body as text (lossy).
    pub body: String,
    /// When it arrived.
    pub at: DateTime<Utc>,
}

/// The end of one logical request.
#[derive(Debug)]
pub enum Outcome {
    /// A JSON body (status 2xx).
    Json {
        /// HTTP status.
        status: u16,
        /// The parsed body.
        body: Value,
        /// When it arrived.
        at: DateTime<Utc>,
    },
    /// A client error that retrying cannot fix (4xx other than 429): the body, parsed if possible.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The body as text.
        body: String,
        /// When it arrived.
        at: DateTime<Utc>,
    },
    /// Every attempt failed.
    Exhausted {
        /// The last failure.
        last: String,
    },
}

/// What a request produced: its outcome and the bodies discarded on the way.
#[derive(Debug)]
pub struct Fetched {
    /// The outcome.
    pub outcome: Outcome,
    /// Unusable responses seen before the outcome.
    pub discarded: Vec<Discarded>,
    /// The request URL with secrets removed.
    pub url: String,
    /// Attempts made.
    pub attempts: u32,
}

/// Pacing and retry state of one source's requests.
pub struct Fetcher {
    client: reqwest::Client,
    clock: SharedClock,
    metrics: Metrics,
    source: &'static str,
    retry: RetryConfig,
    min_interval: chrono::Duration,
    last_request: Option<DateTime<Utc>>,
    daily_quota: Option<u32>,
    quota_day: i64,
    used_today: u32,
    signer: Option<WalmartSigner>,
}

impl Fetcher {
    /// A fetcher for one source.
    pub fn new(
        source: &'static str,
        clock: SharedClock,
        metrics: Metrics,
        timeout_secs: u64,
        retry: RetryConfig,
        rate_limit_per_sec: f64,
        daily_quota: Option<u32>,
    ) -> Result<Self, SourceError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout_secs.max(1)))
            .user_agent(concat!("pricelake/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(SourceError::Client)?;
        let min_interval = if rate_limit_per_sec > 0.0 {
            chrono::Duration::microseconds((1_000_000.0 / rate_limit_per_sec) as i64)
        } else {
            chrono::Duration::zero()
        };
        Ok(Self {
            client,
            clock,
            metrics,
            source,
            retry,
            min_interval,
            last_request: None,
            daily_quota,
            quota_day: i64::MIN,
            used_today: 0,
            signer: None,
        })
    }

    /// Signs every attempt with `signer`'s headers (Walmart v2), made at the attempt's time.
    pub fn with_signer(mut self, signer: WalmartSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The start of the next UTC day when today's quota is spent, else `None`.
    pub fn quota_exhausted_until(&self) -> Option<DateTime<Utc>> {
        let quota = self.daily_quota?;
        let today = self.clock.now().timestamp().div_euclid(86_400);
        (today == self.quota_day && self.used_today >= quota)
            .then(|| DateTime::from_timestamp((today + 1) * 86_400, 0).expect("valid day"))
    }

    async fn pace(&mut self) {
        if let Some(last) = self.last_request {
            let earliest = last + self.min_interval;
            if earliest > self.clock.now() {
                self.clock.sleep_until(earliest).await;
            }
        }
        let now = self.clock.now();
        let today = now.timestamp().div_euclid(86_400);
        if today != self.quota_day {
            self.quota_day = today;
            self.used_today = 0;
        }
        self.used_today += 1;
        self.last_request = Some(now);
    }

    /// GETs `url` (which may hold secrets: it is only ever logged redacted).
    pub async fn get(
        &mut self,
        endpoint: &str,
        url: &str,
        headers: &[(&'static str, String)],
    ) -> Fetched {
        let redacted = redact_url(url);
        let mut discarded = Vec::new();
        let mut attempt = 0u32;
        let mut last = String::new();
        let max = self.retry.max_attempts.max(1);
        while attempt < max {
            attempt += 1;
            self.pace().await;
            let mut request = self.client.get(url);
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            if let Some(signer) = &self.signer {
                for (name, value) in signer.headers(self.clock.now()) {
                    request = request.header(name, value);
                }
            }
            let labels = [("source", self.source), ("endpoint", endpoint)];
            let mut retry_after = None;
            match request.send().await {
                Err(e) => {
                    let reason = if e.is_timeout() { "timeout" } else { "connect" };
                    last = format!("{reason}: {}", redact_url(&e.without_url().to_string()));
                    self.count(&labels, reason);
                    discarded.push(Discarded {
                        reason: reason.into(),
                        detail: last.clone(),
                        status: None,
                        body: String::new(),
                        at: self.clock.now(),
                    });
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, self.clock.now()));
                    let bytes = match response.bytes().await {
                        Ok(b) => b,
                        Err(e) => {
                            last = format!("reading body: {}", e.without_url());
                            self.count(&labels, "body_error");
                            discarded.push(Discarded {
                                reason: "body_error".into(),
                                detail: last.clone(),
                                status: Some(status),
                                body: String::new(),
                                at: self.clock.now(),
                            });
                            self.backoff(attempt, None).await;
                            continue;
                        }
                    };
                    let at = self.clock.now();
                    let text = || String::from_utf8_lossy(&bytes).into_owned();
                    if (200..300).contains(&status) {
                        match serde_json::from_slice::<Value>(pricelake_core::models::strip_bom(
                            &bytes,
                        )) {
                            Ok(body) => {
                                self.count(&labels, "ok");
                                return Fetched {
                                    outcome: Outcome::Json { status, body, at },
                                    discarded,
                                    url: redacted,
                                    attempts: attempt,
                                };
                            }
                            Err(e) => {
                                last = format!("body is not JSON: {e}");
                                self.count(&labels, "malformed_json");
                                discarded.push(Discarded {
                                    reason: "malformed_json".into(),
                                    detail: last.clone(),
                                    status: Some(status),
                                    body: text(),
                                    at,
                                });
                            }
                        }
                    } else if status == 429 || status >= 500 {
                        last = format!("HTTP {status}");
                        self.count(&labels, &format!("http_{status}"));
                        discarded.push(Discarded {
                            reason: format!("http_{status}"),
                            detail: last.clone(),
                            status: Some(status),
                            body: text(),
                            at,
                        });
                    } else {
                        self.count(&labels, &format!("http_{status}"));
                        return Fetched {
                            outcome: Outcome::Rejected {
                                status,
                                body: text(),
                                at,
                            },
                            discarded,
                            url: redacted,
                            attempts: attempt,
                        };
                    }
                }
            }
            if attempt < max {
                self.metrics
                    .incr(names::RETRIES, &[("component", self.source)]);
                self.backoff(attempt, retry_after).await;
            }
        }
        Fetched {
            outcome: Outcome::Exhausted { last },
            discarded,
            url: redacted,
            attempts: attempt,
        }
    }

    fn count(&self, labels: &[(&str, &str); 2], outcome: &str) {
        self.metrics.incr(
            names::SOURCE_REQUESTS,
            &[labels[0], labels[1], ("outcome", outcome)],
        );
    }

    /// Exponential backoff with full jitter, or the server's `Retry-After` if longer.
    async fn backoff(&self, attempt: u32, retry_after_secs: Option<u64>) {
        let wait = backoff_delay(&self.retry, attempt, random_unit());
        let wait = match retry_after_secs {
            Some(secs) => wait.max(Duration::from_secs(secs)),
            None => wait,
        };
        self.clock.sleep(wait).await;
    }
}

/// `Retry-After` in seconds from `now`: either delay-seconds or an HTTP date (RFC 9110).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs);
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).num_seconds().max(0) as u64)
}

/// The delay before attempt `attempt + 1`: uniform in [0, min(cap, initial * 2^(attempt-1))].
pub fn backoff_delay(retry: &RetryConfig, attempt: u32, unit: f64) -> Duration {
    let exp = retry
        .initial_backoff_ms
        .saturating_mul(1u64 << (attempt.saturating_sub(1)).min(30));
    let ceiling = exp.min(retry.max_backoff_ms);
    Duration::from_millis((ceiling as f64 * unit.clamp(0.0, 1.0)) as u64)
}

fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("120", now), Some(120));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(60)
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(0),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap_with_full_jitter() {
        let retry = RetryConfig {
            max_attempts: 10,
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
        };
        assert_eq!(backoff_delay(&retry, 1, 1.0), Duration::from_millis(100));
        assert_eq!(backoff_delay(&retry, 3, 1.0), Duration::from_millis(400));
        assert_eq!(backoff_delay(&retry, 9, 1.0), Duration::from_millis(1000));
        assert_eq!(backoff_delay(&retry, 3, 0.0), Duration::ZERO);
        assert_eq!(backoff_delay(&retry, 3, 0.5), Duration::from_millis(200));
        let draws: Vec<f64> = (0..20).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]), "jitter must vary");
    }
}
