//! Items: the list (filter, search, sort, page), one item with its lows, its daily history.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::params::{
    currency, date_of, f64_of, in_range, item_id, parse_date, parse_limit, str_of, strict_uint,
    Params,
};
use crate::{openapi, ApiError, Row, ServeState};

pub(crate) async fn items(
    State(state): State<ServeState>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let store = state.store();
    let limit = parse_limit(&params, 50)?;
    let cursor = match params.get("cursor").map(|c| strict_uint(c)) {
        None => 0,
        Some(Some(c)) if c <= openapi::CURSOR_MAX => usize::try_from(c).unwrap_or(usize::MAX),
        Some(_) => {
            return Err(ApiError::bad_request(
                "cursor",
                "expected the cursor of a previous page",
            ))
        }
    };
    let sort = params.get("sort").map(String::as_str).unwrap_or("name");
    if !openapi::SORTS.contains(&sort) {
        return Err(ApiError::bad_request(
            "sort",
            "expected name, price or discount",
        ));
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
        return Ok(
            Json(json!({"items": page, "total": total, "next_cursor": next})).into_response(),
        );
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
    Ok(Json(json!({"items": page, "total": total, "next_cursor": next})).into_response())
}

pub(crate) async fn item(
    State(state): State<ServeState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = item_id(&id)?;
    let store = state.store();
    match store.items().get(&id) {
        Some(row) => {
            let mut item = row.clone();
            item.insert("lows".into(), json!(store.lows_of(id)));
            Ok(Json(item).into_response())
        }
        None => Err(ApiError::not_found("id", "no such item")),
    }
}

pub(crate) async fn history(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let store = state.store();
    let id = item_id(&id)?;
    if !store.items().contains_key(&id) {
        return Err(ApiError::not_found("id", "no such item"));
    }
    let ccy = currency(&state, &store, &params, "currency")?;
    let from = parse_date(&params, "from")?;
    let to = parse_date(&params, "to")?;
    let daily = store.daily_of(id, &ccy).await?;
    let mut rows: Vec<&Row> = daily
        .iter()
        .filter(|r| str_of(r, "currency") == ccy && in_range(r, from, to))
        .collect();
    rows.sort_by_key(|r| date_of(r));
    Ok(Json(json!({"item_id": id, "currency": ccy, "days": rows})).into_response())
}
