//! `[serve]`: where the API listens, where it reads the marts from, and how fresh they
//! must be.

use serde::{Deserialize, Serialize};

/// `[serve]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Address to listen on; 127.0.0.1 by default, so binding elsewhere is a choice.
    pub bind: String,
    /// Seconds between checks for a newer process run.
    pub refresh_secs: u64,
    /// Currency the dashboard opens with.
    pub default_currency: String,
    /// `/health` reports the pipeline degraded when the newest process run, or the last
    /// ingest status report, is older than this.
    pub stale_after_secs: u64,
    /// Where the API reads the marts from.
    pub source: MartSource,
    /// MiB of finished answers kept per run when the marts come from the lake (a run never
    /// changes, so a repeated request is a lookup); 0 turns the cache off. Not used with
    /// MongoDB, whose collections others may change between publishes.
    pub response_cache_mib: u64,
}

/// Where the API reads the marts from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MartSource {
    /// MongoDB when its connection string is set (`[publish] mongodb_uri_env`), else the lake.
    #[default]
    Auto,
    /// The lake's Parquet marts, kept in memory.
    Lake,
    /// The marts published to MongoDB; an error when it is not configured.
    Mongodb,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            refresh_secs: 5,
            default_currency: "EUR".into(),
            stale_after_secs: 2 * 24 * 3600,
            source: MartSource::Auto,
            response_cache_mib: 64,
        }
    }
}
