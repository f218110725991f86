//! The `[transform]` section.

use serde::{Deserialize, Serialize};

/// `[transform]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformConfig {
    /// Currencies of the FX marts (the base currency is always included, at rate 1).
    pub currencies: Vec<String>,
    /// The currency prices are observed in (Walmart: USD).
    pub base_currency: String,
    /// How many items per week `trending_popularity` keeps.
    pub trending_top_n: usize,
    /// A rate older than this at an observation is flagged `stale` in `prices_fx`.
    pub stale_rate_after_hours: u64,
    /// Item ids of the basket; empty means the 10 items with a price on the most
    /// days (ties: the smaller id).
    pub basket_item_ids: Vec<u64>,
    /// DataFusion's parallelism, and the threads that parse raw objects; 0 means the number
    /// of cores.
    pub target_partitions: usize,
    /// MiB the embedded engine's queries may hold before sorts, joins and aggregations
    /// spill to temporary files (like Spark's executor memory); 0 means no bound. Each sort
    /// keeps 10 MiB per partition back to merge its spills, so give at least 32.
    pub memory_limit_mib: u64,
    /// Seconds a process run waits while another holds the lake (one run at a time per
    /// lake: a second `process`, started by cron while the first still runs, waits for it,
    /// then processes what is left) before it gives up with an error.
    pub wait_for_other_run_secs: u64,
}

impl Default for TransformConfig {
    fn default() -> Self {
        Self {
            currencies: [
                "AUD", "EUR", "GBP", "INR", "AED", "JPY", "CHF", "ZAR", "CNY", "CAD",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            base_currency: "USD".into(),
            trending_top_n: 20,
            stale_rate_after_hours: 48,
            basket_item_ids: Vec::new(),
            target_partitions: 0,
            memory_limit_mib: 0,
            wait_for_other_run_secs: 600,
        }
    }
}
