//! What the pipeline sees of a source: something to poll when due, with a health.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pricelake_core::{Metrics, RecordSink, SharedClock};
use serde::Serialize;

use crate::checkpoint::CheckpointStore;
use crate::config::SourcesConfig;
use crate::currencylayer::{self, CurrencylayerSource};
use crate::driver::Driver;
use crate::secrets::SourceSecrets;
use crate::walmart::WalmartSource;
use crate::SourceError;

/// How a source is doing, for `status`, `/readyz` and the dashboard's health panel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SourceHealth {
    /// Polls succeed.
    Healthy,
    /// Recent polls failed; it keeps trying.
    Unhealthy {
        /// The last failure.
        reason: String,
        /// Failed polls in a row.
        consecutive_failures: u32,
    },
    /// It stopped polling (rejected credentials): a person must act.
    Stopped {
        /// Why.
        reason: String,
    },
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PollReport {
    /// HTTP requests made (retries included).
    pub requests: u32,
    /// Raw records accepted by delivery.
    pub records: u64,
    /// Dead letters accepted by delivery.
    pub dead_letters: u64,
}

/// A polled API, as the pipeline sees it. Every one is an API's steps run by the one
/// lifecycle of the `driver` module, so they checkpoint, back off, stop and report health
/// alike.
#[async_trait]
pub trait Source: Send {
    /// A stable name (`walmart`, `currencylayer`), also its checkpoint key.
    fn name(&self) -> &str;
    /// When it next wants to poll; the present when pages are pending.
    fn next_due(&self) -> DateTime<Utc>;
    /// One unit of work: one request (one page), its records delivered, its checkpoint saved.
    async fn poll(&mut self, sink: &dyn RecordSink) -> Result<PollReport, SourceError>;
    /// Its health.
    fn health(&self) -> SourceHealth;
}

/// Builds every enabled source, each under the driver's lifecycle; an enabled source without
/// its secret is a config error that names the variable to set.
pub fn build_sources(
    config: &SourcesConfig,
    secrets: &SourceSecrets,
    clock: SharedClock,
    metrics: Metrics,
    checkpoints: Arc<dyn CheckpointStore>,
) -> Result<Vec<Box<dyn Source>>, SourceError> {
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    if config.walmart.enabled {
        let auth = secrets.walmart_auth(config.walmart.api, &config.walmart.key_version)?;
        let walmart =
            WalmartSource::new(config.walmart.clone(), auth, clock.clone(), metrics.clone())?;
        sources.push(Box::new(Driver::new(
            walmart,
            clock.clone(),
            metrics.clone(),
            checkpoints.clone(),
        )));
    }
    if config.currencylayer.enabled {
        let secret = currencylayer::secret_for(&config.currencylayer, secrets)?;
        let currencylayer = CurrencylayerSource::new(
            config.currencylayer.clone(),
            secret,
            clock.clone(),
            metrics.clone(),
        )?;
        sources.push(Box::new(Driver::new(
            currencylayer,
            clock,
            metrics,
            checkpoints,
        )));
    }
    if sources.is_empty() {
        return Err(SourceError::Config {
            field: "sources".into(),
            message:
                "no source is enabled: set sources.walmart.enabled or sources.currencylayer.enabled"
                    .into(),
        });
    }
    Ok(sources)
}
