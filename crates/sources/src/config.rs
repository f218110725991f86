//! The `[sources.walmart]` and `[sources.currencylayer]` sections.

use serde::{Deserialize, Serialize};

/// Both sources.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourcesConfig {
    /// The Walmart product API.
    pub walmart: WalmartConfig,
    /// apilayer's currency API.
    pub currencylayer: CurrencylayerConfig,
}

/// Which generation of the Walmart API to call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WalmartApi {
    /// The legacy Open API v1 (`/v1/...`, `apiKey` query parameter from
    /// `PRICELAKE_WALMART_API_KEY`).
    #[default]
    V1,
    /// The Affiliate API v2 (`/api-proxy/service/affil/product/v2/...`), every request
    /// signed with the consumer's RSA key: consumer id from `PRICELAKE_WALMART_CONSUMER_ID`,
    /// the private key's PEM file named by `PRICELAKE_WALMART_PRIVATE_KEY_FILE`.
    V2,
}

impl WalmartApi {
    /// The path prefix of the generation's resources, ending in `/`.
    pub fn path_prefix(self) -> &'static str {
        match self {
            WalmartApi::V1 => "/v1/",
            WalmartApi::V2 => "/api-proxy/service/affil/product/v2/",
        }
    }

    /// The generation's public host.
    pub fn default_base_url(self) -> &'static str {
        match self {
            WalmartApi::V1 => "http://api.walmartlabs.com",
            WalmartApi::V2 => "https://developer.api.walmart.com",
        }
    }
}

/// Retries of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff; each next one doubles, with full jitter.
    pub initial_backoff_ms: u64,
    /// Cap of one backoff.
    pub max_backoff_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff_ms: 500,
            max_backoff_ms: 60_000,
        }
    }
}

/// The paginated catalog (`/paginated/items`), walked to the end once per interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Walk the catalog at all.
    pub enabled: bool,
    /// Category ids to walk; empty means every top-level category of `/taxonomy`.
    pub categories: Vec<String>,
    /// Items per page (at most 200).
    pub count: u32,
    /// Seconds between walks.
    pub interval_secs: u64,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            categories: Vec::new(),
            count: 200,
            interval_secs: 86_400,
        }
    }
}

/// Searches (`/search`), paged through `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Queries to run; empty disables search.
    pub queries: Vec<String>,
    /// Restrict every query to this category id (`3944` or `3944_1060825`); empty: all.
    pub category_id: String,
    /// `relevance`, `price`, `title`, `bestseller`, `customerRating` or `new`.
    pub sort: String,
    /// Items per page (at most 25).
    pub num_items: u32,
    /// Results per query at most (the API stops at 1000).
    pub max_results: u32,
    /// Seconds between runs of every query.
    pub interval_secs: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            queries: Vec::new(),
            category_id: String::new(),
            sort: "relevance".into(),
            num_items: 25,
            max_results: 100,
            interval_secs: 86_400,
        }
    }
}

/// `[sources.walmart]`. Credentials come from the environment, never from here: v1's key
/// from `PRICELAKE_WALMART_API_KEY`; v2's consumer id and private key file from
/// `PRICELAKE_WALMART_CONSUMER_ID` and `PRICELAKE_WALMART_PRIVATE_KEY_FILE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalmartConfig {
    /// Poll Walmart at all.
    pub enabled: bool,
    /// API generation: `v1` or `v2`.
    pub api: WalmartApi,
    /// v2 only: the version of the consumer's key (`WM_SEC.KEY_VERSION`).
    pub key_version: String,
    /// Scheme and host; empty means the generation's own (`http://api.walmartlabs.com` or
    /// `https://developer.api.walmart.com`). The demo points it at the emulator.
    pub base_url: String,
    /// Seconds between trending lists (`/trends`).
    pub trends_interval_secs: u64,
    /// Seconds between values of the day (`/vod`).
    pub vod_interval_secs: u64,
    /// Seconds between taxonomy fetches (`/taxonomy`); 0 disables.
    pub taxonomy_interval_secs: u64,
    /// The paginated catalog.
    pub catalog: CatalogConfig,
    /// Searches.
    pub search: SearchConfig,
    /// Items to fetch by id (`/items?ids=`, 20 per request).
    pub tracked_item_ids: Vec<u64>,
    /// Items to fetch by UPC (`/items?upc=`, one per request).
    pub tracked_upcs: Vec<String>,
    /// Seconds between fetches of the tracked items.
    pub items_interval_secs: u64,
    /// Requests per second at most (the API allows 5).
    pub rate_limit_per_sec: f64,
    /// Requests per UTC day at most (the API allows 5000).
    pub daily_quota: u32,
    /// Seconds before one request is abandoned.
    pub timeout_secs: u64,
    /// Retries of one request.
    pub retry: RetryConfig,
    /// Consecutive failed polls after which the source reports itself unhealthy.
    pub unhealthy_after_failures: u32,
}

impl Default for WalmartConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            api: WalmartApi::V1,
            key_version: "1".into(),
            base_url: String::new(),
            trends_interval_secs: 86_400,
            vod_interval_secs: 86_400,
            taxonomy_interval_secs: 7 * 86_400,
            catalog: CatalogConfig::default(),
            search: SearchConfig::default(),
            tracked_item_ids: Vec::new(),
            tracked_upcs: Vec::new(),
            items_interval_secs: 86_400,
            rate_limit_per_sec: 5.0,
            daily_quota: 5000,
            timeout_secs: 10,
            retry: RetryConfig::default(),
            unhealthy_after_failures: 3,
        }
    }
}

impl WalmartConfig {
    /// The base URL in force: the configured one, else the generation's.
    pub fn effective_base_url(&self) -> String {
        if self.base_url.is_empty() {
            self.api.default_base_url().to_string()
        } else {
            self.base_url.trim_end_matches('/').to_string()
        }
    }
}

/// Which apilayer product to call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CurrencylayerVariant {
    /// currencylayer (`/api/...`, `access_key` from `PRICELAKE_CURRENCYLAYER_ACCESS_KEY`).
    #[default]
    Currencylayer,
    /// The marketplace `currency_data` (`/currency_data/...`, `apikey` header from `PRICELAKE_APILAYER_APIKEY`).
    Apilayer,
}

/// `[sources.currencylayer]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CurrencylayerConfig {
    /// Poll exchange rates at all.
    pub enabled: bool,
    /// Which product.
    pub variant: CurrencylayerVariant,
    /// Scheme and host; empty means the variant's own (`http://apilayer.net` or `https://api.apilayer.com`).
    pub base_url: String,
    /// Base currency (the free plan allows only USD).
    pub source_currency: String,
    /// Currencies to quote.
    pub currencies: Vec<String>,
    /// Seconds between `/live` calls (rates update hourly).
    pub live_interval_secs: u64,
    /// Seconds between `/list` calls (the currencies on offer, landed as reference
    /// data); 0 disables.
    pub list_interval_secs: u64,
    /// Seconds before one request is abandoned.
    pub timeout_secs: u64,
    /// Retries of one request.
    pub retry: RetryConfig,
    /// Seconds to wait after a quota error (104) or plan error (105).
    pub quota_backoff_secs: u64,
    /// Requests per second at most.
    pub rate_limit_per_sec: f64,
    /// Consecutive failed polls after which the source reports itself unhealthy.
    pub unhealthy_after_failures: u32,
}

impl Default for CurrencylayerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            variant: CurrencylayerVariant::Currencylayer,
            base_url: String::new(),
            source_currency: "USD".into(),
            currencies: [
                "AUD", "EUR", "GBP", "INR", "AED", "JPY", "CHF", "ZAR", "CNY", "CAD",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            live_interval_secs: 3600,
            list_interval_secs: 7 * 86_400,
            timeout_secs: 10,
            retry: RetryConfig::default(),
            quota_backoff_secs: 3600,
            rate_limit_per_sec: 2.0,
            unhealthy_after_failures: 3,
        }
    }
}

impl CurrencylayerConfig {
    /// The base URL in force: the configured one, else the variant's.
    pub fn effective_base_url(&self) -> String {
        if !self.base_url.is_empty() {
            return self.base_url.trim_end_matches('/').to_string();
        }
        match self.variant {
            CurrencylayerVariant::Currencylayer => "http://apilayer.net".into(),
            CurrencylayerVariant::Apilayer => "https://api.apilayer.com".into(),
        }
    }

    /// The path prefix of the variant's functions.
    pub fn path_prefix(&self) -> &'static str {
        match self.variant {
            CurrencylayerVariant::Currencylayer => "/api",
            CurrencylayerVariant::Apilayer => "/currency_data",
        }
    }
}
