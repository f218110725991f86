//! apilayer currency routes: currencylayer (`/api/...`, `access_key`) and the marketplace
//! variant (`/currency_data/...`, `apikey` header). Errors arrive with HTTP 200, as the
//! real service sends them.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::catalog::parse_date;
use crate::{AppState, ServedEntry};

type Params = Query<HashMap<String, String>>;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/{function}", get(currencylayer))
        .route("/currency_data/{function}", get(marketplace))
}

fn api_error(code: u32, kind: &str, info: &str) -> Response {
    Json(json!({"success": false, "error": {"code": code, "type": kind, "info": info}}))
        .into_response()
}

async fn currencylayer(
    State(state): State<AppState>,
    axum::extract::Path(function): axum::extract::Path<String>,
    Query(params): Params,
) -> Response {
    match params.get("access_key") {
        Some(k) if *k == state.config.currencylayer_access_key => {
            answer(&state, &function, &params)
        }
        Some(_) | None => api_error(
            101,
            "invalid_access_key",
            "You have not supplied a valid API Access Key.",
        ),
    }
}

async fn marketplace(
    State(state): State<AppState>,
    axum::extract::Path(function): axum::extract::Path<String>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    match headers.get("apikey").and_then(|v| v.to_str().ok()) {
        Some(k) if k == state.config.apilayer_apikey => answer(&state, &function, &params),
        Some(_) => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Invalid authentication credentials"})),
        )
            .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "No API key found in request"})),
        )
            .into_response(),
    }
}

fn answer(state: &AppState, function: &str, params: &HashMap<String, String>) -> Response {
    let now = state.clock.now();
    let source = params
        .get("source")
        .cloned()
        .unwrap_or_else(|| "USD".into());
    if source != "USD" {
        return api_error(
            201,
            "invalid_source_currency",
            "You have supplied an invalid Source Currency.",
        );
    }
    let wanted: Option<Vec<String>> = params
        .get("currencies")
        .filter(|c| !c.is_empty())
        .map(|c| c.split(',').map(|s| s.trim().to_uppercase()).collect());
    let known = state.catalog.currencies();
    if let Some(w) = &wanted {
        if w.iter().any(|c| !known.contains_key(c)) {
            return api_error(
                202,
                "invalid_currency_codes",
                "You have provided one or more invalid Currency Codes.",
            );
        }
    }
    let quotes_at = |at: DateTime<Utc>| -> BTreeMap<String, f64> {
        state
            .catalog
            .rates(at)
            .into_iter()
            .filter(|(c, _)| wanted.as_ref().is_none_or(|w| w.contains(c)))
            .map(|(c, r)| (format!("USD{c}"), r))
            .collect()
    };
    let record = |quotes: usize| {
        state.served.push(ServedEntry {
            at: now,
            endpoint: format!("currencylayer/{function}"),
            status: 200,
            item_ids: Vec::new(),
            quotes,
            fault: None,
        })
    };
    let terms = "https://currencylayer.com/terms";
    let privacy = "https://currencylayer.com/privacy";
    match function {
        "live" => {
            let hour =
                DateTime::from_timestamp(now.timestamp() - now.timestamp().rem_euclid(3600), 0)
                    .unwrap_or(now);
            let quotes = quotes_at(hour);
            record(quotes.len());
            Json(json!({"success": true, "terms": terms, "privacy": privacy, "timestamp": hour.timestamp(), "source": "USD", "quotes": quotes})).into_response()
        }
        "historical" => {
            let Some(date) = params.get("date") else {
                return api_error(301, "invalid_date", "You have not specified a date.");
            };
            let Some(day) = parse_date(date) else {
                return api_error(302, "invalid_date", "You have entered an invalid date.");
            };
            if day > now {
                return api_error(
                    106,
                    "no_rates_available",
                    "Your query did not return any results.",
                );
            }
            let at = (day + Duration::seconds(86_399)).min(now);
            let quotes = quotes_at(at);
            record(quotes.len());
            Json(json!({"success": true, "terms": terms, "privacy": privacy, "historical": true, "date": date, "timestamp": at.timestamp(), "source": "USD", "quotes": quotes})).into_response()
        }
        "timeframe" => {
            let (Some(start), Some(end)) = (params.get("start_date"), params.get("end_date"))
            else {
                return api_error(
                    501,
                    "no_timeframe_supplied",
                    "You have not specified a time frame.",
                );
            };
            let (Some(s), Some(e)) = (parse_date(start), parse_date(end)) else {
                return api_error(
                    502,
                    "invalid_start_date",
                    "You have entered an invalid date.",
                );
            };
            if e < s {
                return api_error(503, "invalid_end_date", "End date is before start date.");
            }
            if (e - s).num_days() > 365 {
                return api_error(
                    505,
                    "invalid_time_frame",
                    "The time frame is longer than 365 days.",
                );
            }
            let mut by_day: BTreeMap<String, Value> = BTreeMap::new();
            let mut count = 0;
            let mut day = s;
            while day <= e && day <= now {
                let q = quotes_at((day + Duration::seconds(86_399)).min(now));
                count += q.len();
                by_day.insert(day.format("%Y-%m-%d").to_string(), json!(q));
                day += Duration::days(1);
            }
            record(count);
            Json(json!({"success": true, "terms": terms, "privacy": privacy, "timeframe": true, "start_date": start, "end_date": end, "source": "USD", "quotes": by_day})).into_response()
        }
        "list" => {
            record(0);
            Json(json!({"success": true, "terms": terms, "privacy": privacy, "currencies": known}))
                .into_response()
        }
        _ => api_error(
            103,
            "invalid_api_function",
            "This API Function does not exist.",
        ),
    }
}
