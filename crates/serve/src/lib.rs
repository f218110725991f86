//! Serving: the marts as a versioned JSON API, SVG charts, and a dashboard at `/`.
//!
//! The API reads an in-memory copy of the current marts ([`MartStore`]) that a background
//! task replaces whenever a newer process run commits, so requests never touch storage.
// Handlers return `Result<_, Response>` so an error is already the HTTP answer; the
// large `Err` variant is the point, not an accident.
#![allow(clippy::result_large_err)]

#![warn(missing_docs)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Datelike, NaiveDate};
use pricelake_core::{Metrics, Secret};
use pricelake_lake::Lake;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub mod charts;
pub mod health;
mod http_cache;
pub mod openapi;
pub mod publish;
mod store;

pub use publish::{PublishConfig, PublishError, PublishReport, Publisher};
pub use store::{MartStore, Row};

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

/// What can go wrong while serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The lake failed.
    #[error("lake: {0}")]
    Lake(#[from] pricelake_lake::LakeError),
    /// A mart file could not be read.
    #[error("mart: {0}")]
    Mart(String),
    /// The server failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    /// MongoDB, serving the published marts, failed.
    #[error("MongoDB: {0}")]
    Mongo(String),
}

impl From<mongodb::error::Error> for ServeError {
    fn from(e: mongodb::error::Error) -> Self {
        ServeError::Mongo(e.to_string())
    }
}

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct ServeState {
    lake: Lake,
    config: Arc<ServeConfig>,
    metrics: Metrics,
    token: Option<Arc<Secret>>,
    store: Arc<RwLock<Arc<MartStore>>>,
    /// Where the marts come from: MongoDB when set, else the lake.
    mongo: Option<mongodb::Database>,
    /// Finished answers of the current lake-backed run; `None` with MongoDB or a 0 budget.
    cache: Option<Arc<http_cache::ResponseCache>>,
}

impl ServeState {
    /// Loads the current marts.
    pub async fn new(
        lake: Lake,
        config: ServeConfig,
        metrics: Metrics,
        token: Option<Secret>,
    ) -> Result<Self, ServeError> {
        let store = MartStore::load(&lake).await?;
        let budget = usize::try_from(config.response_cache_mib.saturating_mul(1 << 20))
            .unwrap_or(usize::MAX);
        Ok(Self {
            lake,
            config: Arc::new(config),
            metrics,
            token: token.map(Arc::new),
            store: Arc::new(RwLock::new(Arc::new(store))),
            mongo: None,
            cache: (budget > 0).then(|| Arc::new(http_cache::ResponseCache::new(budget))),
        })
    }

    /// Serves the marts published to MongoDB (`db`) instead of the lake's; the lake still
    /// holds the status documents `/health` reads.
    pub async fn from_mongo(
        lake: Lake,
        db: mongodb::Database,
        config: ServeConfig,
        metrics: Metrics,
        token: Option<Secret>,
    ) -> Result<Self, ServeError> {
        let store = MartStore::load_from_mongo(&db).await?;
        Ok(Self {
            lake,
            config: Arc::new(config),
            metrics,
            token: token.map(Arc::new),
            store: Arc::new(RwLock::new(Arc::new(store))),
            mongo: Some(db),
            cache: None,
        })
    }

    /// The marts requests see now.
    pub fn store(&self) -> Arc<MartStore> {
        self.store.read().expect("store lock poisoned").clone()
    }

    /// Loads a newer run if one committed; true when the store changed.
    pub async fn refresh(&self) -> Result<bool, ServeError> {
        let newest = match &self.mongo {
            Some(db) => store::published_run(db).await?.map(|r| r.run_id),
            None => store::newest_run_id(&self.lake).await?,
        };
        if newest.is_none() || newest.as_deref() == self.store().run_id() {
            return Ok(false);
        }
        let fresh = match &self.mongo {
            Some(db) => MartStore::load_from_mongo(db).await?,
            None => MartStore::load(&self.lake).await?,
        };
        tracing::info!(
            run_id = fresh.run_id().unwrap_or("-"),
            "serving marts of a new run"
        );
        *self.store.write().expect("store lock poisoned") = Arc::new(fresh);
        if let Some(cache) = &self.cache {
            cache.invalidate();
        }
        Ok(true)
    }
}

/// One API route: where it is, what it answers, the parameters it takes, and its handler.
/// The router and `/openapi.json` are both built from [`ROUTES`], so a route cannot be
/// served undocumented or documented unserved.
pub struct Route {
    /// The path, with `{placeholders}` as axum and OpenAPI write them.
    pub path: &'static str,
    /// What it answers, in a sentence (the OpenAPI summary).
    pub summary: &'static str,
    /// The parameters it takes (in the path or the query).
    pub params: &'static [&'static str],
    /// Its handler, made when the router is.
    handler: fn() -> axum::routing::MethodRouter<ServeState>,
}

/// Every API route: registered and documented from here.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/healthz",
        summary: "Liveness: the process answers.",
        params: &[],
        handler: || get(|| async { "ok" }),
    },
    Route {
        path: "/readyz",
        summary: "Readiness: marts are loaded.",
        params: &[],
        handler: || get(readyz),
    },
    Route {
        path: "/health",
        summary: "Degraded or not, with the reasons: each source, the spool against its bound, ingest and data freshness (503 when degraded).",
        params: &[],
        handler: || get(health),
    },
    Route {
        path: "/metrics",
        summary: "Prometheus text metrics.",
        params: &[],
        handler: || get(metrics),
    },
    Route {
        path: "/openapi.json",
        summary: "This API, as OpenAPI 3.",
        params: &[],
        handler: || get(openapi),
    },
    Route {
        path: "/api/v1/status",
        summary: "Current run, freshness, row counts, ingest health.",
        params: &[],
        handler: || get(status),
    },
    Route {
        path: "/api/v1/currencies",
        summary: "Currencies available in the FX marts.",
        params: &[],
        handler: || get(currencies),
    },
    Route {
        path: "/api/v1/items",
        summary: "Items with their latest price; filter, search, sort, page.",
        params: &["category", "q", "sort", "limit", "cursor"],
        handler: || get(items),
    },
    Route {
        path: "/api/v1/items/{id}",
        summary: "One item's latest state, with its current price and its lowest prices ever, over 30 and over 90 days in each currency (`lows`).",
        params: &["id"],
        handler: || get(item),
    },
    Route {
        path: "/api/v1/items/{id}/history",
        summary: "One item's daily prices in a currency, sorted by date (USD at rate 1; another currency from its first rate on).",
        params: &["id", "currency", "from", "to"],
        handler: || get(history),
    },
    Route {
        path: "/api/v1/categories",
        summary: "Category statistics per day: share_discounted counts rollback, clearance and a price below msrp; share_in_stock any stock but \"Not available\".",
        params: &["date"],
        handler: || get(categories),
    },
    Route {
        path: "/api/v1/trending",
        summary: "Trending popularity per week, top N, each item under its latest name as of the week's end.",
        params: &["period"],
        handler: || get(trending),
    },
    Route {
        path: "/api/v1/discounts",
        summary: "Discounts per item and day.",
        params: &["date", "category", "limit"],
        handler: || get(discounts),
    },
    Route {
        path: "/api/v1/vod",
        summary: "The value of the day in a currency, sorted by date: the day's last fetch of it, at the rate in force then; rate, price and rate_time are null when the currency had no rate yet at the fetch.",
        params: &["currency"],
        handler: || get(vod),
    },
    Route {
        path: "/api/v1/moves",
        summary: "Largest price moves over 1, 7 or 30 days, in USD: from the latest close at or before as_of minus the window to the close on as_of; names as of as_of.",
        params: &["window", "limit"],
        handler: || get(moves),
    },
    Route {
        path: "/api/v1/fx",
        summary: "Daily FX open/high/low/close for one quote currency.",
        params: &["quote", "from", "to"],
        handler: || get(fx),
    },
    Route {
        path: "/api/v1/basket",
        summary: "The basket's cost per day in a currency.",
        params: &["currency"],
        handler: || get(basket),
    },
    Route {
        path: "/api/v1/charts/{panel}",
        summary: "A panel's chart as SVG (vod, discounts, trending, history, fx, basket, moves).",
        params: &["panel", "currency", "item", "from", "to"],
        handler: || get(chart),
    },
];

/// The router: API, charts and dashboard.
pub fn router(state: ServeState) -> Router {
    // The dashboard page, not an API route (not in the OpenAPI document), then the table.
    let mut router = Router::new().route("/", get(dashboard));
    for route in ROUTES {
        router = router.route(route.path, (route.handler)());
    }
    router
        .layer(axum::middleware::from_fn_with_state(
            state.cache.clone(),
            http_cache::conditional_and_compressed,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Serves until `shutdown` resolves, refreshing the marts in the background; in-flight
/// requests are drained before it returns.
pub async fn serve(
    state: ServeState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let refresher = {
        let state = state.clone();
        tokio::spawn(async move {
            let period = Duration::from_secs(state.config.refresh_secs.max(1));
            loop {
                tokio::time::sleep(period).await;
                if let Err(e) = state.refresh().await {
                    tracing::warn!(error = %e, "mart refresh failed; serving the previous run");
                }
            }
        })
    };
    let result = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    refresher.abort();
    result.map_err(ServeError::from)
}

/// Counts requests and enforces the optional bearer token (health routes stay open).
async fn guard(State(state): State<ServeState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if let Some(token) = &state.token {
        let open = path == "/healthz" || path == "/readyz" || path == "/health";
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !open && presented != Some(token.expose()) {
            return error(
                StatusCode::UNAUTHORIZED,
                "authorization",
                "a bearer token is required",
            );
        }
    }
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let route = if path.starts_with("/api/v1/") {
        path.split('/').take(4).collect::<Vec<_>>().join("/")
    } else {
        path
    };
    let status = response.status().as_u16().to_string();
    state.metrics.incr(
        "pricelake_http_requests_total",
        &[("route", &route), ("status", &status)],
    );
    state.metrics.add(
        "pricelake_http_request_micros_total",
        &[("route", &route)],
        started.elapsed().as_micros() as u64,
    );
    response
}

fn error(status: StatusCode, param: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"param": param, "message": message}})),
    )
        .into_response()
}

/// The store behind the API failed (MongoDB unreachable): 503, so clients retry.
fn unavailable(e: &ServeError) -> Response {
    tracing::warn!(error = %e, "a request could not be answered from the store");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "store",
        "the mart store is unavailable; try again",
    )
}

type Params = Query<HashMap<String, String>>;

/// A day written exactly `YYYY-MM-DD` ([`openapi::DATE_PATTERN`]): chrono alone would also
/// take `2026-1-5` or `+2026-01-05`, which the API's document does not allow.
fn strict_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    // Year 0 parses, but is no day of RFC 3339's calendar (years 0001 to 9999).
    shaped
        .then(|| text.parse::<NaiveDate>().ok())
        .flatten()
        .filter(|d| d.year() >= 1)
}

/// A whole number written in digits only (no sign, no space), as `/openapi.json` types it.
fn strict_uint(text: &str) -> Option<u64> {
    (!text.is_empty() && text.bytes().all(|c| c.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn parse_date(params: &HashMap<String, String>, name: &str) -> Result<Option<NaiveDate>, Response> {
    match params.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => strict_date(v).map(Some).ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                name,
                "expected a date as YYYY-MM-DD",
            )
        }),
    }
}

fn parse_limit(params: &HashMap<String, String>, default: usize) -> Result<usize, Response> {
    let (low, high) = openapi::LIMIT;
    match params.get("limit") {
        None => Ok(default),
        Some(v) => match strict_uint(v) {
            Some(n) if (low..=high).contains(&n) => Ok(n as usize),
            _ => Err(error(
                StatusCode::BAD_REQUEST,
                "limit",
                &format!("expected a whole number from {low} to {high}"),
            )),
        },
    }
}

fn currency(
    state: &ServeState,
    store: &MartStore,
    params: &HashMap<String, String>,
    name: &str,
) -> Result<String, Response> {
    // Codes are taken as `/api/v1/currencies` lists them, upper case (ISO 4217), and as
    // `/openapi.json` enumerates them.
    let wanted = params
        .get(name)
        .cloned()
        .unwrap_or_else(|| state.config.default_currency.to_uppercase());
    let known = store.currencies();
    if known.is_empty() || known.contains(&wanted) {
        Ok(wanted)
    } else {
        Err(error(
            StatusCode::BAD_REQUEST,
            name,
            &format!("unknown currency {wanted:?}; known: {}", known.join(", ")),
        ))
    }
}

fn date_of(row: &Row) -> Option<NaiveDate> {
    row.get("date")
        .and_then(Value::as_str)
        .and_then(|d| d.parse().ok())
}

fn in_range(row: &Row, from: Option<NaiveDate>, to: Option<NaiveDate>) -> bool {
    let Some(d) = date_of(row) else { return true };
    from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t)
}

fn str_of<'a>(row: &'a Row, key: &str) -> &'a str {
    row.get(key).and_then(Value::as_str).unwrap_or("")
}

fn f64_of(row: &Row, key: &str) -> Option<f64> {
    row.get(key).and_then(Value::as_f64)
}

async fn dashboard() -> Html<&'static str> {
    Html(include_str!("../assets/dashboard.html"))
}

async fn readyz(State(state): State<ServeState>) -> Response {
    let store = state.store();
    match store.run_id() {
        Some(run) => Json(json!({"ready": true, "run_id": run})).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "reason": "no process run has committed yet"})),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<ServeState>) -> Response {
    let mut text = state.metrics.render_prometheus();
    let store = state.store();
    text.push_str("# TYPE pricelake_mart_rows gauge\n");
    for (mart, n) in store.counts() {
        text.push_str(&format!("pricelake_mart_rows{{mart=\"{mart}\"}} {n}\n"));
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response()
}

async fn openapi(State(state): State<ServeState>) -> Json<Value> {
    Json(openapi::document(&state.store(), state.token.is_some()))
}

/// The checks of `/health`, from the lake's status documents and the loaded run.
async fn pipeline_checks(state: &ServeState) -> (Option<Value>, Vec<health::Check>) {
    let ingest: Option<Value> = state
        .lake
        .get_json(&pricelake_core::layout::state("ingest_status"))
        .await
        .ok()
        .flatten();
    let committed = state
        .store()
        .finished_at()
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
    let checks = health::checks(
        chrono::Utc::now(),
        ingest.as_ref(),
        committed,
        state.config.stale_after_secs,
    );
    (ingest, checks)
}

async fn health(State(state): State<ServeState>) -> Response {
    let (_, checks) = pipeline_checks(&state).await;
    let degraded = checks.iter().any(|c| !c.ok);
    let code = if degraded {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let status = if degraded { "degraded" } else { "ok" };
    (code, Json(json!({"status": status, "checks": checks}))).into_response()
}

async fn status(State(state): State<ServeState>) -> Response {
    let store = state.store();
    let (ingest, checks) = pipeline_checks(&state).await;
    let audit: Option<Value> = state
        .lake
        .get_json(&pricelake_core::layout::state("audit"))
        .await
        .ok()
        .flatten();
    Json(json!({
        "run_id": store.run_id(),
        "finished_at": store.finished_at(),
        "rows": store.counts(),
        "ingest": ingest,
        "health": {"degraded": checks.iter().any(|c| !c.ok), "checks": checks},
        "audit": audit,
    }))
    .into_response()
}

async fn currencies(State(state): State<ServeState>) -> Json<Value> {
    Json(
        json!({"currencies": state.store().currencies(), "default": state.config.default_currency}),
    )
}

async fn items(State(state): State<ServeState>, Query(params): Params) -> Response {
    let store = state.store();
    let limit = match parse_limit(&params, 50) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let cursor = match params.get("cursor").map(|c| strict_uint(c)) {
        None => 0,
        Some(Some(c)) if c <= openapi::CURSOR_MAX => usize::try_from(c).unwrap_or(usize::MAX),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "cursor",
                "expected the cursor of a previous page",
            )
        }
    };
    let sort = params.get("sort").map(String::as_str).unwrap_or("name");
    if !openapi::SORTS.contains(&sort) {
        return error(
            StatusCode::BAD_REQUEST,
            "sort",
            "expected name, price or discount",
        );
    }
    let q = params.get("q").map(|q| q.to_lowercase());
    let category = params.get("category").filter(|c| !c.is_empty());
    if sort == "name" && q.is_none() && category.is_none() {
        // The whole list in name order: a slice of the order computed once per run.
        let total = store.items_by_name().len();
        let page: Vec<&Row> = store
            .items_by_name()
            .iter()
            .skip(cursor)
            .take(limit)
            .filter_map(|id| store.items().get(id))
            .collect();
        let next = (cursor + page.len() < total).then(|| (cursor + page.len()).to_string());
        return Json(json!({"items": page, "total": total, "next_cursor": next})).into_response();
    }
    // Name order is precomputed per run; the other orders sort the matches.
    let mut rows: Vec<&Row> = store
        .items_by_name()
        .iter()
        .filter_map(|id| store.items().get(id))
        // An empty category is "All categories", as the dashboard sends it.
        .filter(|r| category.is_none_or(|c| str_of(r, "category") == c))
        .filter(|r| {
            q.as_ref()
                .is_none_or(|q| str_of(r, "name").to_lowercase().contains(q))
        })
        .collect();
    match sort {
        "price" => rows.sort_by(|a, b| {
            f64_of(a, "sale_price")
                .partial_cmp(&f64_of(b, "sale_price"))
                .unwrap_or(std::cmp::Ordering::Equal)
        }),
        "discount" => rows.sort_by(|a, b| {
            f64_of(b, "discount_pct")
                .partial_cmp(&f64_of(a, "discount_pct"))
                .unwrap_or(std::cmp::Ordering::Equal)
        }),
        _ => {}
    }
    let total = rows.len();
    let page: Vec<&Row> = rows.into_iter().skip(cursor).take(limit).collect();
    let next = (cursor + page.len() < total).then(|| (cursor + page.len()).to_string());
    Json(json!({"items": page, "total": total, "next_cursor": next})).into_response()
}

/// A whole number, optionally negative, in digits only (what `/openapi.json` calls an int64).
fn strict_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    (!digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn item_id(id: &str) -> Result<i64, Response> {
    strict_int(id).ok_or_else(|| error(StatusCode::BAD_REQUEST, "id", "expected a numeric item id"))
}

async fn item(State(state): State<ServeState>, Path(id): Path<String>) -> Response {
    let id = match item_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let store = state.store();
    match store.items().get(&id) {
        Some(row) => {
            let mut item = row.clone();
            item.insert("lows".into(), json!(store.lows_of(id)));
            Json(item).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "id", "no such item"),
    }
}

async fn history(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Response {
    let store = state.store();
    let id = match item_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    if !store.items().contains_key(&id) {
        return error(StatusCode::NOT_FOUND, "id", "no such item");
    }
    let (ccy, from, to) = match (
        currency(&state, &store, &params, "currency"),
        parse_date(&params, "from"),
        parse_date(&params, "to"),
    ) {
        (Ok(c), Ok(f), Ok(t)) => (c, f, t),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let daily = match store.daily_of(id, &ccy).await {
        Ok(d) => d,
        Err(e) => return unavailable(&e),
    };
    let mut rows: Vec<&Row> = daily
        .iter()
        .filter(|r| str_of(r, "currency") == ccy && in_range(r, from, to))
        .collect();
    rows.sort_by_key(|r| date_of(r));
    Json(json!({"item_id": id, "currency": ccy, "days": rows})).into_response()
}

async fn categories(State(state): State<ServeState>, Query(params): Params) -> Response {
    let store = state.store();
    let date = match parse_date(&params, "date") {
        Ok(d) => d,
        Err(r) => return r,
    };
    let rows = store.rows("category_daily");
    let latest = date.or_else(|| rows.iter().filter_map(date_of).max());
    let out: Vec<&Row> = rows.iter().filter(|r| date_of(r) == latest).collect();
    Json(json!({"date": latest, "categories": out})).into_response()
}

async fn trending(State(state): State<ServeState>, Query(params): Params) -> Response {
    let store = state.store();
    let rows = store.rows("trending_popularity");
    let period = match params.get("period").filter(|p| !p.is_empty()) {
        Some(p) => match strict_date(p) {
            Some(d) => Some(d),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "period",
                    "expected the Monday of a week as YYYY-MM-DD",
                )
            }
        },
        None => rows
            .iter()
            .filter_map(|r| r.get("period_start").and_then(Value::as_str)?.parse().ok())
            .max(),
    };
    let period_text = period.map(|p| p.to_string());
    let out: Vec<&Row> = rows
        .iter()
        .filter(|r| r.get("period_start").and_then(Value::as_str) == period_text.as_deref())
        .collect();
    let periods: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| r.get("period_start").and_then(Value::as_str))
        .collect();
    Json(json!({"period_start": period_text, "periods": periods, "items": out})).into_response()
}

async fn discounts(State(state): State<ServeState>, Query(params): Params) -> Response {
    let store = state.store();
    let (date, limit) = match (parse_date(&params, "date"), parse_limit(&params, 50)) {
        (Ok(d), Ok(l)) => (d, l),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let rows = store.rows("discounts");
    let day = date.or_else(|| rows.iter().filter_map(date_of).max());
    let mut out: Vec<&Row> = rows
        .iter()
        .filter(|r| date_of(r) == day)
        // An empty category is "All categories", as the dashboard sends it.
        .filter(|r| {
            params
                .get("category")
                .filter(|c| !c.is_empty())
                .is_none_or(|c| str_of(r, "category") == c)
        })
        .collect();
    out.sort_by(|a, b| {
        f64_of(b, "discount_pct")
            .unwrap_or(f64::MIN)
            .partial_cmp(&f64_of(a, "discount_pct").unwrap_or(f64::MIN))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out.truncate(limit);
    Json(json!({"date": day, "items": out})).into_response()
}

async fn vod(State(state): State<ServeState>, Query(params): Params) -> Response {
    let store = state.store();
    let ccy = match currency(&state, &store, &params, "currency") {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut rows: Vec<&Row> = store
        .rows("vod_fx")
        .iter()
        .filter(|r| str_of(r, "currency") == ccy)
        .collect();
    rows.sort_by_key(|r| date_of(r));
    Json(json!({"currency": ccy, "days": rows})).into_response()
}

async fn moves(State(state): State<ServeState>, Query(params): Params) -> Response {
    let store = state.store();
    let window = params.get("window").map(String::as_str).unwrap_or("7");
    let Some(window) = openapi::WINDOWS
        .into_iter()
        .find(|w| w.to_string() == window)
    else {
        return error(StatusCode::BAD_REQUEST, "window", "expected 1, 7 or 30");
    };
    let limit = match parse_limit(&params, 10) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let rows: Vec<&Row> = store
        .rows("price_moves")
        .iter()
        .filter(|r| r.get("window_days").and_then(Value::as_i64) == Some(window))
        .collect();
    let mut drops: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| f64_of(r, "change_pct").unwrap_or(0.0) < 0.0)
        .collect();
    let mut rises: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| f64_of(r, "change_pct").unwrap_or(0.0) > 0.0)
        .collect();
    drops.sort_by(|a, b| {
        f64_of(a, "change_pct")
            .partial_cmp(&f64_of(b, "change_pct"))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    rises.sort_by(|a, b| {
        f64_of(b, "change_pct")
            .partial_cmp(&f64_of(a, "change_pct"))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    drops.truncate(limit);
    rises.truncate(limit);
    Json(json!({"window_days": window, "drops": drops, "rises": rises})).into_response()
}

async fn fx(State(state): State<ServeState>, Query(params): Params) -> Response {
    let store = state.store();
    let (ccy, from, to) = match (
        currency(&state, &store, &params, "quote"),
        parse_date(&params, "from"),
        parse_date(&params, "to"),
    ) {
        (Ok(c), Ok(f), Ok(t)) => (c, f, t),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let mut rows: Vec<&Row> = store
        .rows("fx_daily")
        .iter()
        .filter(|r| str_of(r, "quote") == ccy && in_range(r, from, to))
        .collect();
    rows.sort_by_key(|r| date_of(r));
    Json(json!({"base": "USD", "quote": ccy, "days": rows})).into_response()
}

async fn basket(State(state): State<ServeState>, Query(params): Params) -> Response {
    let store = state.store();
    let ccy = match currency(&state, &store, &params, "currency") {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut rows: Vec<&Row> = store
        .rows("basket")
        .iter()
        .filter(|r| str_of(r, "currency") == ccy)
        .collect();
    rows.sort_by_key(|r| date_of(r));
    Json(json!({"currency": ccy, "days": rows})).into_response()
}

fn series_of(rows: &[&Row], name: &str, value: &str) -> charts::Series {
    charts::Series {
        name: name.to_string(),
        points: rows
            .iter()
            .filter_map(|r| Some((date_of(r)?, f64_of(r, value)?)))
            .collect(),
    }
}

async fn chart(
    State(state): State<ServeState>,
    Path(panel): Path<String>,
    Query(params): Params,
) -> Response {
    let store = state.store();
    let panel = panel.trim_end_matches(".svg");
    let ccy = match currency(&state, &store, &params, "currency") {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (from, to) = match (parse_date(&params, "from"), parse_date(&params, "to")) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let pick = |mart: &str, key: &str, value: &str| -> Vec<&Row> {
        store
            .rows(mart)
            .iter()
            .filter(|r| str_of(r, key) == value && in_range(r, from, to))
            .collect()
    };
    let svg = match panel {
        "vod" => {
            let rows = pick("vod_fx", "currency", &ccy);
            charts::line_chart(
                &format!("Value of the day in {ccy}"),
                &ccy,
                vec![series_of(&rows, "value of the day", "price")],
            )
        }
        "fx" => {
            let rows = pick("fx_daily", "quote", &ccy);
            charts::line_chart(
                &format!("USD/{ccy} daily close"),
                &format!("{ccy} per USD"),
                vec![series_of(&rows, &format!("USD/{ccy}"), "close")],
            )
        }
        "basket" => {
            let rows = pick("basket", "currency", &ccy);
            charts::line_chart(
                &format!("Basket cost in {ccy}"),
                &ccy,
                vec![series_of(&rows, "basket", "cost")],
            )
        }
        "history" => {
            let Some(id) = params.get("item").and_then(|i| strict_int(i)) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "item",
                    "expected a numeric item id",
                );
            };
            let daily = match store.daily_of(id, &ccy).await {
                Ok(d) => d,
                Err(e) => return unavailable(&e),
            };
            let rows: Vec<&Row> = daily
                .iter()
                .filter(|r| str_of(r, "currency") == ccy && in_range(r, from, to))
                .collect();
            let name = store
                .items()
                .get(&id)
                .map(|r| str_of(r, "name").to_string())
                .unwrap_or_else(|| id.to_string());
            charts::line_chart(
                &format!("{name}: daily close in {ccy}"),
                &ccy,
                vec![
                    series_of(&rows, "close", "close"),
                    series_of(&rows, "min", "min"),
                    series_of(&rows, "max", "max"),
                ],
            )
        }
        "discounts" => {
            // The average discount of items with an msrp, per day.
            let mut by_day: std::collections::BTreeMap<NaiveDate, (f64, usize)> =
                Default::default();
            for r in store
                .rows("discounts")
                .iter()
                .filter(|r| in_range(r, from, to))
            {
                if let (Some(d), Some(v)) = (date_of(r), f64_of(r, "discount_pct")) {
                    let e = by_day.entry(d).or_default();
                    e.0 += v;
                    e.1 += 1;
                }
            }
            let points = by_day
                .into_iter()
                .map(|(d, (sum, n))| (d, sum / n as f64))
                .collect();
            charts::line_chart(
                "Average discount off msrp",
                "percent",
                vec![charts::Series {
                    name: "average discount".into(),
                    points,
                }],
            )
        }
        "trending" => {
            let rows = store.rows("trending_popularity");
            let latest = rows
                .iter()
                .filter_map(|r| r.get("period_start").and_then(Value::as_str))
                .max();
            let bars: Vec<(String, f64)> = rows
                .iter()
                .filter(|r| r.get("period_start").and_then(Value::as_str) == latest)
                .map(|r| {
                    (
                        str_of(r, "name").to_string(),
                        f64_of(r, "appearances").unwrap_or(0.0),
                    )
                })
                .collect();
            charts::bar_chart(
                &format!("Trending, week of {}", latest.unwrap_or("-")),
                "appearances",
                &bars,
            )
        }
        "moves" => {
            let mut rows: Vec<&Row> = store
                .rows("price_moves")
                .iter()
                .filter(|r| r.get("window_days").and_then(Value::as_i64) == Some(7))
                .collect();
            rows.sort_by(|a, b| {
                f64_of(a, "change_pct")
                    .partial_cmp(&f64_of(b, "change_pct"))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            let bars: Vec<(String, f64)> = rows
                .iter()
                .take(10)
                .map(|r| {
                    (
                        str_of(r, "name").to_string(),
                        f64_of(r, "change_pct").unwrap_or(0.0),
                    )
                })
                .collect();
            charts::bar_chart("Largest 7-day price drops", "percent", &bars)
        }
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "panel",
                "expected vod, fx, basket, history, discounts, trending or moves",
            )
        }
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        svg,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_taken_exactly_as_the_openapi_document_types_them() {
        assert_eq!(
            strict_date("2026-11-06"),
            NaiveDate::from_ymd_opt(2026, 11, 6)
        );
        for bad in [
            "2026-1-06",
            "+2026-11-06",
            "2026-11-6",
            "2026-02-30",
            "0000-01-01",
            " 2026-11-06",
            "",
        ] {
            assert_eq!(strict_date(bad), None, "{bad:?}");
        }
        assert_eq!(strict_uint("500"), Some(500));
        for bad in ["+5", "-5", "5.0", "", " 5", "18446744073709551616"] {
            assert_eq!(strict_uint(bad), None, "{bad:?}");
        }
        assert_eq!(strict_int("-5"), Some(-5));
        assert_eq!(strict_int("101"), Some(101));
        for bad in ["+5", "-", "", "1e3", "9223372036854775808"] {
            assert_eq!(strict_int(bad), None, "{bad:?}");
        }
    }
}
