//! The Walmart Open API v1 routes (`/v1/...`, `apiKey` query parameter).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::{AppState, ServedEntry};

type Params = Query<HashMap<String, String>>;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/trends", get(trends))
        .route("/v1/vod", get(vod))
        .route("/v1/taxonomy", get(taxonomy))
        .route("/v1/search", get(search))
        .route("/v1/items", get(items))
        .route("/v1/items/{id}", get(item))
        .route("/v1/paginated/items", get(paginated))
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        Json(json!({"errors": [{"code": code, "message": message}]})),
    )
        .into_response()
}

fn check_key(state: &AppState, params: &HashMap<String, String>) -> Result<(), Response> {
    match params.get("apiKey") {
        Some(key) if *key == state.config.walmart_api_key => Ok(()),
        _ => Err(error(StatusCode::FORBIDDEN, 403, "Account Inactive")),
    }
}

fn record(state: &AppState, endpoint: &str, items: &[u64]) {
    state.served.push(ServedEntry {
        at: state.clock.now(),
        endpoint: format!("walmart/{endpoint}"),
        status: 200,
        item_ids: items.to_vec(),
        quotes: 0,
        fault: None,
    });
}

fn item_list(state: &AppState, ids: &[u64]) -> Vec<Value> {
    let now = state.clock.now();
    ids.iter()
        .filter_map(|id| state.catalog.item_json(*id, now))
        .collect()
}

async fn trends(State(state): State<AppState>, Query(params): Params) -> Response {
    if let Err(r) = check_key(&state, &params) {
        return r;
    }
    let now = state.clock.now();
    let ids = state.catalog.trending(now);
    record(&state, "trends", &ids);
    Json(json!({"items": item_list(&state, &ids), "time": now.timestamp_millis()})).into_response()
}

async fn vod(State(state): State<AppState>, Query(params): Params) -> Response {
    if let Err(r) = check_key(&state, &params) {
        return r;
    }
    let now = state.clock.now();
    match state
        .catalog
        .vod(now)
        .and_then(|id| state.catalog.item_json(id, now).map(|j| (id, j)))
    {
        Some((id, mut body)) => {
            // The value of the day is a deep discount on the day's price.
            if let Some(price) = body["salePrice"].as_f64() {
                if state.config.fixture.is_none() {
                    body["salePrice"] = json!((price * 0.7 * 100.0).round() / 100.0);
                }
            }
            record(&state, "vod", &[id]);
            Json(body).into_response()
        }
        None => error(StatusCode::NOT_FOUND, 4004, "No value of the day"),
    }
}

async fn taxonomy(State(state): State<AppState>, Query(params): Params) -> Response {
    if let Err(r) = check_key(&state, &params) {
        return r;
    }
    fn to_json(c: &crate::Category, parent_path: &str) -> Value {
        let path = if parent_path.is_empty() {
            c.name.clone()
        } else {
            format!("{parent_path}/{}", c.name)
        };
        let children: Vec<Value> = c.children.iter().map(|k| to_json(k, &path)).collect();
        let mut v = json!({"id": c.id, "name": c.name, "path": path});
        if !children.is_empty() {
            v["children"] = Value::Array(children);
        }
        v
    }
    let categories: Vec<Value> = state
        .catalog
        .taxonomy()
        .iter()
        .map(|c| to_json(c, ""))
        .collect();
    record(&state, "taxonomy", &[]);
    Json(json!({"categories": categories})).into_response()
}

fn number(params: &HashMap<String, String>, name: &str, default: u64) -> Result<u64, Response> {
    match params.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| error(StatusCode::BAD_REQUEST, 4000, &format!("Invalid {name}"))),
    }
}

async fn search(State(state): State<AppState>, Query(params): Params) -> Response {
    if let Err(r) = check_key(&state, &params) {
        return r;
    }
    let Some(query) = params.get("query").filter(|q| !q.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, 4009, "Missing search query");
    };
    let (start, num) = match (number(&params, "start", 1), number(&params, "numItems", 10)) {
        (Ok(s), Ok(n)) => (s.max(1), n.clamp(1, 25)),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let now = state.clock.now();
    let needle = query.to_lowercase();
    let mut matches: Vec<(u64, Value)> = state
        .catalog
        .item_ids()
        .into_iter()
        .filter_map(|id| state.catalog.item_json(id, now).map(|j| (id, j)))
        .filter(|(_, j)| {
            j["name"]
                .as_str()
                .is_some_and(|n| n.to_lowercase().contains(&needle))
                && params.get("categoryId").is_none_or(|c| {
                    j["categoryNode"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(c.as_str()))
                })
        })
        .take(1000)
        .collect();
    match params.get("sort").map(String::as_str) {
        Some("price") => matches.sort_by(|a, b| {
            a.1["salePrice"]
                .as_f64()
                .partial_cmp(&b.1["salePrice"].as_f64())
                .unwrap_or(std::cmp::Ordering::Equal)
        }),
        Some("title") => matches.sort_by(|a, b| a.1["name"].as_str().cmp(&b.1["name"].as_str())),
        _ => {}
    }
    if params.get("order").map(String::as_str) == Some("descending") {
        matches.reverse();
    }
    let total = matches.len();
    let page: Vec<(u64, Value)> = matches
        .into_iter()
        .skip(start as usize - 1)
        .take(num as usize)
        .collect();
    let ids: Vec<u64> = page.iter().map(|(id, _)| *id).collect();
    record(&state, "search", &ids);
    Json(json!({
        "query": query, "sort": params.get("sort").cloned().unwrap_or_else(|| "relevance".into()),
        "responseGroup": "base", "totalResults": total, "start": start, "numItems": ids.len(),
        "items": page.into_iter().map(|(_, j)| j).collect::<Vec<_>>(), "facets": []
    }))
    .into_response()
}

async fn items(State(state): State<AppState>, Query(params): Params) -> Response {
    if let Err(r) = check_key(&state, &params) {
        return r;
    }
    let now = state.clock.now();
    let ids: Vec<u64> = if let Some(ids) = params.get("ids") {
        let parsed: Result<Vec<u64>, _> = ids.split(',').map(|s| s.trim().parse::<u64>()).collect();
        match parsed {
            Ok(ids) if ids.len() <= 20 => ids,
            Ok(_) => return error(StatusCode::BAD_REQUEST, 4001, "At most 20 ids per request"),
            Err(_) => return error(StatusCode::BAD_REQUEST, 4002, "Invalid itemId"),
        }
    } else if let Some(upc) = params.get("upc") {
        state
            .catalog
            .item_ids()
            .into_iter()
            .filter(|id| {
                state
                    .catalog
                    .item_json(*id, now)
                    .is_some_and(|j| j["upc"] == upc.as_str())
            })
            .collect()
    } else {
        return error(StatusCode::BAD_REQUEST, 4000, "ids or upc is required");
    };
    let found: Vec<u64> = ids
        .into_iter()
        .filter(|id| state.catalog.item_json(*id, now).is_some())
        .collect();
    if found.is_empty() {
        return error(StatusCode::BAD_REQUEST, 4002, "Invalid itemId");
    }
    record(&state, "items", &found);
    Json(json!({"items": item_list(&state, &found)})).into_response()
}

async fn item(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Response {
    if let Err(r) = check_key(&state, &params) {
        return r;
    }
    let now = state.clock.now();
    match id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.catalog.item_json(id, now).map(|j| (id, j)))
    {
        Some((id, body)) => {
            record(&state, "items", &[id]);
            Json(body).into_response()
        }
        None => error(StatusCode::BAD_REQUEST, 4002, "Invalid itemId"),
    }
}

async fn paginated(State(state): State<AppState>, Query(params): Params) -> Response {
    if let Err(r) = check_key(&state, &params) {
        return r;
    }
    let count = match number(&params, "count", 100) {
        Ok(c) => c.clamp(1, 200) as usize,
        Err(r) => return r,
    };
    let max_id = match number(&params, "maxId", 0) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let now = state.clock.now();
    let category = params.get("category").cloned().unwrap_or_default();
    let all: Vec<u64> = if category.is_empty() {
        state.catalog.item_ids()
    } else {
        state.catalog.items_in_category(&category, now)
    };
    let total_pages = all.len().div_ceil(count).max(1);
    let page: Vec<u64> = all
        .iter()
        .copied()
        .filter(|id| *id > max_id)
        .take(count)
        .collect();
    let more = page
        .last()
        .is_some_and(|last| all.iter().any(|id| id > last));
    let mut body = json!({"items": item_list(&state, &page), "totalPages": total_pages});
    if more {
        let last = page.last().copied().unwrap_or(0);
        body["nextPage"] = json!(format!(
            "/v1/paginated/items?category={category}&count={count}&maxId={last}"
        ));
    }
    record(&state, "paginated_items", &page);
    Json(body).into_response()
}
