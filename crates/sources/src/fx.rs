//! apilayer's currency API: `/live` on a schedule, `/list` (the currencies on offer) now
//! and then, and backfills from `/timeframe`, or day by day from `/historical` when the
//! plan does not include timeframe queries (error 105).
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
    /// The service answered 105: this function is not on the plan.
    not_on_plan: bool,
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
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("&{query}")
        };
        let (url, headers) = match self.config.variant {
            FxVariant::Currencylayer => (
                format!("{base}?access_key={}{query}", self.secret.expose()),
                vec![],
            ),
            FxVariant::Apilayer => (
                format!("{base}?{}", query.trim_start_matches('&')),
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
        let mut not_on_plan = false;
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
                        104 | 105 => {
                            not_on_plan = err.code == 105;
                            Verdict::Later(
                                Duration::seconds(self.config.quota_backoff_secs.max(1) as i64),
                                format!("apilayer error {}: {info}", err.code),
                            )
                        }
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
            not_on_plan,
        }
    }

    fn currencies(&self) -> String {
        self.config.currencies.join(",")
    }
}

/// The checkpoint of the live and list schedules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FxState {
    live: Slot,
    /// `None` when the list job is disabled.
    #[serde(default)]
    list: Option<Slot>,
}

/// Which job a poll runs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FxJob {
    Live,
    List,
}

/// The scheduled `/live` source.
pub struct FxSource {
    client: Client,
    clock: SharedClock,
    metrics: Metrics,
    checkpoints: Arc<dyn CheckpointStore>,
    state: FxState,
    restored: bool,
    /// When it was made: before its checkpoint is read it is due from then, which is
    /// never later than any `now` a driver compares with.
    created_at: DateTime<Utc>,
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
            list: (config.list_interval_secs > 0).then(|| Slot::new(clock.now())),
        };
        let now_at_creation = clock.now();
        Ok(Self {
            client: Client::new(config, secret, clock.clone(), metrics.clone())?,
            clock,
            metrics,
            checkpoints,
            state,
            restored: false,
            created_at: now_at_creation,
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
        if !self.restored {
            return self.created_at;
        }
        match &self.state.list {
            Some(list) => list.due().min(self.state.live.due()),
            None => self.state.live.due(),
        }
    }

    async fn poll(&mut self, sink: &dyn RecordSink) -> Result<PollReport, SourceError> {
        if !self.restored {
            if let Some(saved) = self.checkpoints.load(NAME).await? {
                if let Ok(mut state) = serde_json::from_value::<FxState>(saved) {
                    // A job enabled or disabled since the checkpoint follows the config.
                    state.list = match (self.state.list.take(), state.list) {
                        (Some(fresh), saved) => Some(saved.unwrap_or(fresh)),
                        (None, _) => None,
                    };
                    self.state = state;
                }
            }
            self.restored = true;
        }
        let now = self.clock.now();
        if matches!(self.health, SourceHealth::Stopped { .. }) {
            return Ok(PollReport::default());
        }
        let job = match &self.state.list {
            Some(list) if list.due() <= now && list.due() <= self.state.live.due() => FxJob::List,
            _ if self.state.live.due() <= now => FxJob::Live,
            _ => return Ok(PollReport::default()),
        };
        let call = match job {
            FxJob::Live => {
                let query = format!(
                    "source={}&currencies={}",
                    self.client.config.source_currency,
                    self.client.currencies()
                );
                self.client.call("live", &query, self.state.live.slot).await
            }
            FxJob::List => {
                let slot = self.state.list.as_ref().expect("list job").slot;
                self.client.call("list", "", slot).await
            }
        };
        let (raw, dead) = count(&call.records);
        let interval = match job {
            FxJob::Live => self.client.config.live_interval_secs,
            FxJob::List => self.client.config.list_interval_secs,
        };
        let slot = match job {
            FxJob::Live => &mut self.state.live,
            FxJob::List => self.state.list.as_mut().expect("list job"),
        };
        if !call.records.is_empty() {
            if let Err(e) = sink.accept(call.records).await {
                slot.not_before = Some(now + Duration::seconds(5));
                return Err(e.into());
            }
        }
        let now = self.clock.now();
        match call.verdict {
            Verdict::Ok => {
                slot.advance(Duration::seconds(interval.max(1) as i64), now);
                self.failures = 0;
                self.health = SourceHealth::Healthy;
            }
            Verdict::Later(wait, reason) => {
                self.failures += 1;
                slot.not_before = Some(now + wait);
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
                    .map_err(|source| SourceError::EncodeCheckpoint { key: NAME, source })?,
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
    // Plans without timeframe queries answer 105: then one `/historical` call per day.
    let mut daily = false;
    while start <= to {
        let end = if daily {
            start
        } else {
            (start + Duration::days(364)).min(to)
        };
        let (function, query) = if daily {
            (
                "historical",
                format!(
                    "date={start}&source={}&currencies={}",
                    config.source_currency,
                    client.currencies()
                ),
            )
        } else {
            (
                "timeframe",
                format!(
                    "start_date={start}&end_date={end}&source={}&currencies={}",
                    config.source_currency,
                    client.currencies()
                ),
            )
        };
        let slot = start.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let call = client.call(function, &query, slot).await;
        report.requests += call.requests;
        if !daily && call.not_on_plan {
            tracing::warn!(
                source = NAME,
                "timeframe is not on this plan (105): backfilling day by day from historical"
            );
            daily = true;
            continue;
        }
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
                    endpoint: function.into(),
                    message: format!("{reason}; the backfill resumes from {start} when run again"),
                });
            }
        }
    }
    Ok(report)
}
