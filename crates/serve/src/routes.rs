//! The API's routes: one table ([`ROUTES`]) that builds the router and `/openapi.json`, the
//! middleware every request passes (token, metrics, the answer cache), and the server loop.

use std::future::Future;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::handlers::{
    basket, categories, chart, chart_js, currencies, dashboard, discounts, fx, health, history,
    item, items, metrics, moves, openapi, prepare_assets, readyz, status, trending, versions, vod,
};
use crate::{http_cache, ApiError, ServeError, ServeState};

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
        params: &["category", "q", "sort", "limit", "cursor", "format"],
        handler: || get(items),
    },
    Route {
        path: "/api/v1/items/{id}",
        summary: "One item's latest state, with its current price and its lowest prices ever, over 30 and over 90 days in each currency (`lows`; as CSV, the `lows` rows).",
        params: &["id", "format"],
        handler: || get(item),
    },
    Route {
        path: "/api/v1/items/{id}/history",
        summary: "One item's daily prices in a currency, sorted by date (USD at rate 1; another currency from its first rate on).",
        params: &["id", "currency", "from", "to", "format"],
        handler: || get(history),
    },
    Route {
        path: "/api/v1/items/{id}/versions",
        summary: "One item's attribute history: every version of its name, brand and category (rows of the `items` table, by version; empty when the marts are served from MongoDB, which does not hold that table).",
        params: &["id", "format"],
        handler: || get(versions),
    },
    Route {
        path: "/api/v1/categories",
        summary: "Category statistics per day: share_discounted counts rollback, clearance and a price below msrp; share_in_stock any stock but \"Not available\".",
        params: &["date", "format"],
        handler: || get(categories),
    },
    Route {
        path: "/api/v1/trending",
        summary: "Trending popularity per week, top N, each item under its latest name as of the week's end.",
        params: &["period", "format"],
        handler: || get(trending),
    },
    Route {
        path: "/api/v1/discounts",
        summary: "Discounts per item and day.",
        params: &["date", "category", "limit", "format"],
        handler: || get(discounts),
    },
    Route {
        path: "/api/v1/vod",
        summary: "The value of the day in a currency, sorted by date (from and to, inclusive, when given): the day's last fetch of it, at the rate in force then; rate, price and rate_time are null when the currency had no rate yet at the fetch.",
        params: &["currency", "from", "to", "format"],
        handler: || get(vod),
    },
    Route {
        path: "/api/v1/moves",
        summary: "Largest price moves over 1, 7 or 30 days, in USD: from the latest close at or before as_of minus the window to the close on as_of; names as of as_of (as CSV, the drops then the rises).",
        params: &["window", "limit", "format"],
        handler: || get(moves),
    },
    Route {
        path: "/api/v1/fx",
        summary: "Daily FX open/high/low/close for one quote currency.",
        params: &["quote", "from", "to", "format"],
        handler: || get(fx),
    },
    Route {
        path: "/api/v1/basket",
        summary: "The basket's cost per day in a currency, sorted by date (from and to, inclusive, when given).",
        params: &["currency", "from", "to", "format"],
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
    // The dashboard page and its charting library, not API routes (not in the OpenAPI
    // document), then the table.
    prepare_assets();
    let mut router = Router::new()
        .route("/", get(dashboard))
        .route("/assets/apexcharts.esm.js", get(chart_js));
    for route in ROUTES {
        router = router.route(route.path, (route.handler)());
    }
    router
        .layer(axum::middleware::from_fn_with_state(
            state.cache.clone(),
            http_cache::conditional_and_compressed,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), as_of))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// `?as_of=<run id | RFC 3339 time | YYYY-MM-DD>` on any request: answered from the marts of
/// the run in force then (each table at the Delta version that run's manifest names), as
/// the API answered at the time. Unknown moments are 404, unreadable ones 400.
async fn as_of(State(state): State<ServeState>, request: Request, next: Next) -> Response {
    let asked = request.uri().query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "as_of")
            .map(|(_, value)| value.into_owned())
    });
    let Some(asked) = asked else {
        return next.run(request).await;
    };
    let Some(at) = pricelake_lake::manifest::AsOf::parse(&asked) else {
        return ApiError::bad_request(
            "as_of",
            format!("{asked:?} is not a run id, an RFC 3339 time or a date (YYYY-MM-DD)"),
        )
        .into_response();
    };
    match state.answer_as_of(&at, next.run(request)).await {
        Ok(Some(response)) => response,
        Ok(None) => {
            ApiError::not_found("as_of", format!("no process run had committed by {asked}"))
                .into_response()
        }
        Err(ServeError::NoHistory) => ApiError::bad_request(
            "as_of",
            "the marts are served from MongoDB, which holds the last published run only; \
             serve from the lake ([serve] source = \"lake\") to go back",
        )
        .into_response(),
        Err(ServeError::Mart {
            path,
            source: crate::error::MartFileError::Missing,
        }) => ApiError::not_found(
            "as_of",
            format!(
                "the lake no longer holds that run's files ({path} is gone): `pricelake vacuum` \
                 removes the versions older than [lake] retention_hours"
            ),
        )
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
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
                    tracing::warn!(error = %pricelake_core::ErrorChain(&e), "mart refresh failed; serving the previous run");
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
            return ApiError::unauthorized().into_response();
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
