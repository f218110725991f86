//! apilayer's currency API, currencylayer (or its marketplace twin `currency_data`): `/live`
//! on a schedule, `/list` (the currencies on offer) now and then, and FX backfills from
//! `/timeframe`, or day by day from `/historical` when the plan does not include timeframe
//! queries (error 105). The API is currencylayer; what it gives is FX data.
//!
//! Errors arrive with HTTP 200 and `success:false`. Codes 101 and 102 (bad key, inactive
//! account) stop the source with a clear message; 104 and 105 (quota, plan) back off until
//! the quota resets; every other code becomes a dead letter `api_error_<code>`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use pricelake_core::models::currencylayer::ApiError;
use pricelake_core::{Metrics, RecordSink, Secret, SharedClock};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checkpoint::CheckpointStore;
use crate::config::{CurrencylayerConfig, CurrencylayerVariant};
use crate::driver::{PollSource, Step, Stepped};
use crate::envelopes::{count, Origin};
use crate::http::{Fetcher, Outcome};
use crate::schedule::Slot;
use crate::{PollReport, SourceError, SourceSecrets};

const NAME: &str = "currencylayer";

/// The secret for the configured variant, or the variable to set.
pub(crate) fn secret_for(
    config: &CurrencylayerConfig,
    secrets: &SourceSecrets,
) -> Result<Secret, SourceError> {
    match config.variant {
        CurrencylayerVariant::Currencylayer => {
            secrets
                .currencylayer_access_key
                .clone()
                .ok_or(SourceError::MissingSecret {
                    source_name: "sources.currencylayer",
                    var: "PRICELAKE_CURRENCYLAYER_ACCESS_KEY",
                })
        }
        CurrencylayerVariant::Apilayer => {
            secrets
                .apilayer_apikey
                .clone()
                .ok_or(SourceError::MissingSecret {
                    source_name: "sources.currencylayer (variant apilayer)",
                    var: "PRICELAKE_APILAYER_APIKEY",
                })
        }
    }
}

/// One request to an apilayer function: its step, and whether the function is on the plan.
struct Call {
    stepped: Stepped,
    /// The service answered 105: this function is not on the plan.
    not_on_plan: bool,
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
            CurrencylayerVariant::Currencylayer => (
                format!("{base}?access_key={}{query}", self.secret.expose()),
                vec![],
            ),
            CurrencylayerVariant::Apilayer => (
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
        let step = match fetched.outcome {
            Outcome::Json { status, body, at } => match ApiError::from_body(&body) {
                None => {
                    records.push(origin.whole(status, at, body));
                    Step::RoundDone
                }
                Some(err) => {
                    let info = err.info.clone().unwrap_or_default();
                    match err.code {
                        101 | 102 => Step::Stop(format!("apilayer error {}: {info}", err.code)),
                        104 | 105 => {
                            not_on_plan = err.code == 105;
                            Step::RetryLater {
                                reason: format!("apilayer error {}: {info}", err.code),
                                at_least: Some(Duration::seconds(
                                    self.config.quota_backoff_secs.max(1) as i64,
                                )),
                            }
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
                            Step::RoundDone
                        }
                    }
                }
            },
            Outcome::Rejected { status, body, at } => {
                records.push(origin.rejected(status, at, body));
                if status == 401 || status == 403 {
                    Step::Stop(format!("HTTP {status}: credentials refused"))
                } else {
                    Step::RoundDone
                }
            }
            Outcome::Exhausted { last } => Step::retry(last),
        };
        Call {
            stepped: Stepped {
                records,
                step,
                requests: fetched.attempts,
            },
            not_on_plan,
        }
    }

    fn currencies(&self) -> String {
        self.config.currencies.join(",")
    }
}

/// The checkpoint of the live and list schedules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CurrencylayerCheckpoint {
    live: Slot,
    /// `None` when the list job is disabled.
    #[serde(default)]
    list: Option<Slot>,
}

/// Which function a step calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Job {
    Live,
    List,
}

/// The currencylayer source: FX rates from `/live` every hour, the currencies on offer from
/// `/list` now and then. The [`Driver`](crate::driver::Driver) runs its steps.
pub(crate) struct CurrencylayerSource {
    client: Client,
}

impl CurrencylayerSource {
    /// A source quoting the configured currencies.
    pub(crate) fn new(
        config: CurrencylayerConfig,
        secret: Secret,
        clock: SharedClock,
        metrics: Metrics,
    ) -> Result<Self, SourceError> {
        if config.currencies.is_empty() {
            return Err(SourceError::Config {
                field: "sources.currencylayer.currencies".into(),
                message: "list at least one currency".into(),
            });
        }
        Ok(Self {
            client: Client::new(config, secret, clock, metrics)?,
        })
    }
}

#[async_trait]
impl PollSource for CurrencylayerSource {
    type Checkpoint = CurrencylayerCheckpoint;
    type Job = Job;

    fn name(&self) -> &'static str {
        NAME
    }

    fn unhealthy_after_failures(&self) -> u32 {
        self.client.config.unhealthy_after_failures
    }

    fn fresh(&self, now: DateTime<Utc>) -> CurrencylayerCheckpoint {
        CurrencylayerCheckpoint {
            live: Slot::new(now),
            list: (self.client.config.list_interval_secs > 0).then(|| Slot::new(now)),
        }
    }

    fn reconcile(
        &self,
        saved: CurrencylayerCheckpoint,
        fresh: CurrencylayerCheckpoint,
    ) -> CurrencylayerCheckpoint {
        CurrencylayerCheckpoint {
            live: saved.live,
            // A job enabled or disabled since the checkpoint follows the config.
            list: fresh.list.map(|fresh| saved.list.unwrap_or(fresh)),
        }
    }

    fn jobs<'a>(&self, checkpoint: &'a CurrencylayerCheckpoint) -> Vec<(Job, &'a Slot)> {
        // The list first: on a tie it goes before the live rates.
        let list = checkpoint.list.as_ref().map(|slot| (Job::List, slot));
        list.into_iter()
            .chain([(Job::Live, &checkpoint.live)])
            .collect()
    }

    fn slot_mut<'a>(&self, checkpoint: &'a mut CurrencylayerCheckpoint, job: Job) -> &'a mut Slot {
        match job {
            Job::Live => &mut checkpoint.live,
            Job::List => checkpoint.list.as_mut().expect("a scheduled list job"),
        }
    }

    fn interval(&self, job: Job) -> Duration {
        let secs = match job {
            Job::Live => self.client.config.live_interval_secs,
            Job::List => self.client.config.list_interval_secs,
        };
        Duration::seconds(secs.max(1) as i64)
    }

    async fn step(&mut self, checkpoint: &mut CurrencylayerCheckpoint, job: Job) -> Stepped {
        match job {
            Job::Live => {
                let query = format!(
                    "source={}&currencies={}",
                    self.client.config.source_currency,
                    self.client.currencies()
                );
                self.client.call("live", &query, checkpoint.live.slot).await
            }
            Job::List => {
                let slot = self.slot_mut(checkpoint, Job::List).slot;
                self.client.call("list", "", slot).await
            }
        }
        .stepped
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
        let Call {
            stepped:
                Stepped {
                    records,
                    step,
                    requests,
                },
            not_on_plan,
        } = client.call(function, &query, slot).await;
        report.requests += requests;
        if !daily && not_on_plan {
            tracing::warn!(
                source = NAME,
                "timeframe is not on this plan (105): backfilling day by day from historical"
            );
            daily = true;
            continue;
        }
        let (raw, dead) = count(&records);
        if !records.is_empty() {
            sink.accept(records).await?;
        }
        report.records += raw;
        report.dead_letters += dead;
        match step {
            // A call is one request: it never has pages to go on with.
            Step::RoundDone | Step::Progress => {
                checkpoints
                    .save(&key, &Value::String(end.to_string()))
                    .await?;
                start = end + Duration::days(1);
            }
            Step::RetryLater { reason, .. } | Step::Stop(reason) => {
                return Err(SourceError::Request {
                    endpoint: function.into(),
                    message: format!("{reason}; the backfill resumes from {start} when run again"),
                });
            }
        }
    }
    Ok(report)
}
