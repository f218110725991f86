//! apilayer's currency API: `/live` on a schedule, and backfills from `/timeframe`.
//!
//! Errors arrive with HTTP 200 and `success:false`. Codes 101 and 102 (bad key, inactive
//! account) stop the source with a clear message; 104 and 105 (quota, plan) back off until
//! the quota resets; every other code becomes a dead letter `api_error_<code>`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use pricelake_core::models::currencylayer::ApiError;
use pricelake_core::{LakeRecord, Metrics, RecordSink, Secret, SharedClock};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checkpoint::CheckpointStore;
use crate::config::{CurrencylayerConfig, FxVariant};
use crate::envelopes::{count, Origin};
use crate::http::{Fetcher, Outcome};
use crate::schedule::Slot;
use crate::{PollReport, Source, SourceError, SourceHealth, SourceSecrets};

const NAME: &str = "currencylayer";

/// The secret for the configured variant, or the variable to set.
pub(crate) fn secret_for(
    config: &CurrencylayerConfig,
    secrets: &SourceSecrets,
) -> Result<Secret, SourceError> {
    match config.variant {
        FxVariant::Currencylayer => {
            secrets
                .currencylayer_access_key
                .clone()
                .ok_or(SourceError::MissingSecret {
                    source_name: "sources.currencylayer",
                    var: "PRICELAKE_CURRENCYLAYER_ACCESS_KEY",
                })
        }
        FxVariant::Apilayer => secrets
            .apilayer_apikey
            .clone()
            .ok_or(SourceError::MissingSecret {
                source_name: "sources.currencylayer (variant apilayer)",
                var: "PRICELAKE_APILAYER_APIKEY",
            }),
    }
}

/// One request to an apilayer function, its records and what the source should do next.
struct Call {
    records: Vec<LakeRecord>,
    verdict: Verdict,
    requests: u32,
}

enum Verdict {
    Ok,
    /// Try again after this long.
    Later(Duration, String),
    Stop(String),
}

struct Client {
    config: CurrencylayerConfig,
    secret: Secret,
    fetcher: Fetcher,
}

impl Client {
    fn new(
        config: CurrencylayerConfig,
        secret: Secret,
        clock: SharedClock,
        metrics: Metrics,
    ) -> Result<Self, SourceError> {
        let fetcher = Fetcher::new(
            NAME,
            clock,
            metrics,
            config.timeout_secs,
            config.retry.clone(),
            config.rate_limit_per_sec,
            None,
        )?;
        Ok(Self {
            config,
            secret,
            fetcher,
        })
    }

    async fn call(&mut self, function: &str, query: &str, slot: DateTime<Utc>) -> Call {
        let base = format!(
            "{}{}/{function}",
            self.config.effective_base_url(),
            self.config.path_prefix()
        );
        let (url, headers) = match self.config.variant {
            FxVariant::Currencylayer => (
                format!("{base}?access_key={}&{query}", self.secret.expose()),
                vec![],
            ),
            FxVariant::Apilayer => (
                format!("{base}?{query}"),
                vec![("apikey", self.secret.expose().to_string())],
            ),
        };
        let fetched = self.fetcher.get(function, &url, &headers).await;
        let origin = Origin {
            source: NAME,
            endpoint: function,
            url: &fetched.url,
            slot,
        };
        let mut records = origin.discarded(&fetched.discarded);
        let verdict = match fetched.outcome {
            Outcome::Json { status, body, at } => match ApiError::from_body(&body) {
                None => {
                    records.push(origin.whole(status, at, body));
                    Verdict::Ok
                }
                Some(err) => {
                    let info = err.info.clone().unwrap_or_default();
                    match err.code {
                        101 | 102 => Verdict::Stop(format!("apilayer error {}: {info}", err.code)),
                        104 | 105 => Verdict::Later(
                            Duration::seconds(self.config.quota_backoff_secs.max(1) as i64),
                            format!("apilayer error {}: {info}", err.code),
                        ),
                        code => {
                            records.push(origin.dead(
                                &format!("api_error_{code}"),
                                &info,
                                Some(status),
                                at,
                                body.to_string(),
                                0,
                            ));
                            Verdict::Ok
                        }
                    }
                }
            },
            Outcome::Rejected { status, body, at } => {
                records.push(origin.dead(
                    &format!("http_{status}"),
                    "the service rejected the request",
                    Some(status),
                    at,
                    body,
                    999,
                ));
                if status == 401 || status == 403 {
                    Verdict::Stop(format!("HTTP {status}: credentials refused"))
                } else {
                    Verdict::Ok
                }
            }
            Outcome::Exhausted { last } => Verdict::Later(Duration::minutes(5), last),
        };
        Call {
            records,
            verdict,
            requests: fetched.attempts,
        }
    }

    fn currencies(&self) -> String {
        self.config.currencies.join(",")
    }
}

/// The checkpoint of the live schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FxState {
    live: Slot,
}

/// The scheduled `/live` source.
pub struct FxSource {
    client: Client,
    clock: SharedClock,
    metrics: Metrics,
    checkpoints: Arc<dyn CheckpointStore>,
    state: FxState,
    restored: bool,
    health: SourceHealth,
    failures: u32,
}

impl FxSource {
    /// A source polling `/live` from now on (or from its checkpoint).
    pub fn new(
        config: CurrencylayerConfig,
        secret: Secret,
        clock: SharedClock,
        metrics: Metrics,
        checkpoints: Arc<dyn CheckpointStore>,
    ) -> Result<Self, SourceError> {
        if config.currencies.is_empty() {
            return Err(SourceError::Config {
                field: "sources.currencylayer.currencies".into(),
                message: "list at least one currency".into(),
            });
        }
        let state = FxState {
            live: Slot::new(clock.now()),
        };
        Ok(Self {
            client: Client::new(config, secret, clock.clone(), metrics.clone())?,
            clock,
            metrics,
            checkpoints,
            state,
            restored: false,
            health: SourceHealth::Healthy,
            failures: 0,
        })
    }
}

#[async_trait]
impl Source for FxSource {
    fn name(&self) -> &str {
        NAME
    }

    fn next_due(&self) -> DateTime<Utc> {
        if self.restored {
            self.state.live.due()
        } else {
            self.clock.now()
        }
    }

    async fn poll(&mut self, sink: &dyn RecordSink) -> Result<PollReport, SourceError> {
        if !self.restored {
            if let Some(saved) = self.checkpoints.load(NAME).await? {
                if let Ok(state) = serde_json::from_value::<FxState>(saved) {
                    self.state = state;
                }
            }
            self.restored = true;
        }
        let now = self.clock.now();
        if matches!(self.health, SourceHealth::Stopped { .. }) || self.state.live.due() > now {
            return Ok(PollReport::default());
        }
        let query = format!(
            "source={}&currencies={}",
            self.client.config.source_currency,
            self.client.currencies()
        );
        let call = self.client.call("live", &query, self.state.live.slot).await;
        let (raw, dead) = count(&call.records);
        if !call.records.is_empty() {
            if let Err(e) = sink.accept(call.records).await {
                self.state.live.not_before = Some(now + Duration::seconds(5));
                return Err(e.into());
            }
        }
        let now = self.clock.now();
        match call.verdict {
            Verdict::Ok => {
                self.state.live.advance(
                    Duration::seconds(self.client.config.live_interval_secs.max(1) as i64),
                    now,
                );
                self.failures = 0;
                self.health = SourceHealth::Healthy;
            }
            Verdict::Later(wait, reason) => {
                self.failures += 1;
                self.state.live.not_before = Some(now + wait);
                if self.failures >= self.client.config.unhealthy_after_failures {
                    self.health = SourceHealth::Unhealthy {
                        reason: reason.clone(),
                        consecutive_failures: self.failures,
                    };
                }
                tracing::warn!(source = NAME, %reason, "live rates not fetched; will try again");
            }
            Verdict::Stop(reason) => {
                tracing::error!(source = NAME, %reason, "credentials refused: currency source stopped");
                self.health = SourceHealth::Stopped { reason };
            }
        }
        self.checkpoints
            .save(
                NAME,
                &serde_json::to_value(&self.state)
                    .map_err(|e| SourceError::Checkpoint(e.to_string()))?,
            )
            .await?;
        self.metrics.add(
            pricelake_core::metrics::names::RECORDS_RECEIVED,
            &[("component", "source_currencylayer")],
            raw + dead,
        );
        Ok(PollReport {
            requests: call.requests,
            records: raw,
            dead_letters: dead,
        })
    }

    fn health(&self) -> SourceHealth {
        self.health.clone()
    }
}

/// Fills FX history for `from..=to` from `/timeframe` in chunks of at most 365 days,
/// resuming after the last chunk a previous backfill delivered.
#[allow(clippy::too_many_arguments)]
pub async fn backfill_fx(
    config: &CurrencylayerConfig,
    secrets: &SourceSecrets,
    from: NaiveDate,
    to: NaiveDate,
    clock: SharedClock,
    metrics: Metrics,
    sink: &dyn RecordSink,
    checkpoints: Arc<dyn CheckpointStore>,
) -> Result<PollReport, SourceError> {
    let secret = secret_for(config, secrets)?;
    let mut client = Client::new(config.clone(), secret, clock.clone(), metrics)?;
    let key = format!("{NAME}-backfill-{from}-{to}");
    let mut start = match checkpoints.load(&key).await? {
        Some(Value::String(done)) => NaiveDate::parse_from_str(&done, "%Y-%m-%d")
            .map(|d| d + Duration::days(1))
            .unwrap_or(from),
        _ => from,
    };
    let mut report = PollReport::default();
    while start <= to {
        let end = (start + Duration::days(364)).min(to);
        let query = format!(
            "start_date={start}&end_date={end}&source={}&currencies={}",
            config.source_currency,
            client.currencies()
        );
        let slot = start.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let call = client.call("timeframe", &query, slot).await;
        report.requests += call.requests;
        let (raw, dead) = count(&call.records);
        if !call.records.is_empty() {
            sink.accept(call.records).await?;
        }
        report.records += raw;
        report.dead_letters += dead;
        match call.verdict {
            Verdict::Ok => {
                checkpoints
                    .save(&key, &Value::String(end.to_string()))
                    .await?;
                start = end + Duration::days(1);
            }
            Verdict::Later(_, reason) | Verdict::Stop(reason) => {
                return Err(SourceError::Request {
                    endpoint: "timeframe".into(),
                    message: format!("{reason}; the backfill resumes from {start} when run again"),
                });
            }
        }
    }
    Ok(report)
}
