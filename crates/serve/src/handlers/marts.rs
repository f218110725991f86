//! The marts' routes: currencies, categories, trending, discounts, the value of the day,
//! price moves, FX and the basket.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

use crate::format::{mart_columns, Format};
use crate::params::{
    currency, date_of, f64_of, in_range, parse_date, parse_limit, str_of, strict_date, Params,
};
use crate::{openapi, ApiError, Row, ServeState};

pub(crate) async fn currencies(State(state): State<ServeState>) -> Json<Value> {
    Json(
        json!({"currencies": state.store().currencies(), "default": state.config.default_currency}),
    )
}

pub(crate) async fn categories(
    State(state): State<ServeState>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let format = Format::of(&params)?;
    let store = state.store();
    let date = parse_date(&params, "date")?;
    let rows = store.rows("category_daily");
    let latest = date.or_else(|| rows.iter().filter_map(date_of).max());
    let out: Vec<&Row> = rows.iter().filter(|r| date_of(r) == latest).collect();
    let name = format!("categories-{}", day_name(latest));
    Ok(format.answer(
        json!({"date": latest, "categories": out}),
        &["categories"],
        &mart_columns("category_daily"),
        &name,
    ))
}

pub(crate) async fn trending(
    State(state): State<ServeState>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let format = Format::of(&params)?;
    let store = state.store();
    let rows = store.rows("trending_popularity");
    let period = match params.get("period").filter(|p| !p.is_empty()) {
        Some(p) => match strict_date(p) {
            Some(d) => Some(d),
            None => {
                return Err(ApiError::bad_request(
                    "period",
                    "expected the Monday of a week as YYYY-MM-DD",
                ))
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
    let name = format!("trending-{}", day_name(period));
    Ok(format.answer(
        json!({"period_start": period_text, "periods": periods, "items": out}),
        &["items"],
        &mart_columns("trending_popularity"),
        &name,
    ))
}

pub(crate) async fn discounts(
    State(state): State<ServeState>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let format = Format::of(&params)?;
    let store = state.store();
    let date = parse_date(&params, "date")?;
    let limit = parse_limit(&params, 50)?;
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
    let name = format!("discounts-{}", day_name(day));
    Ok(format.answer(
        json!({"date": day, "items": out}),
        &["items"],
        &mart_columns("discounts"),
        &name,
    ))
}

pub(crate) async fn vod(state: State<ServeState>, params: Params) -> Result<Response, ApiError> {
    days_in_currency(state, params, "vod_fx").await
}

pub(crate) async fn moves(
    State(state): State<ServeState>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let format = Format::of(&params)?;
    let store = state.store();
    let window = params.get("window").map(String::as_str).unwrap_or("7");
    let Some(window) = openapi::WINDOWS
        .into_iter()
        .find(|w| w.to_string() == window)
    else {
        return Err(ApiError::bad_request("window", "expected 1, 7 or 30"));
    };
    let limit = parse_limit(&params, 10)?;
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
    Ok(format.answer(
        json!({"window_days": window, "drops": drops, "rises": rises}),
        &["drops", "rises"],
        &mart_columns("price_moves"),
        &format!("moves-{window}d"),
    ))
}

pub(crate) async fn fx(
    State(state): State<ServeState>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let format = Format::of(&params)?;
    let store = state.store();
    let ccy = currency(&state, &store, &params, "quote")?;
    let from = parse_date(&params, "from")?;
    let to = parse_date(&params, "to")?;
    let mut rows: Vec<&Row> = store
        .rows("fx_daily")
        .iter()
        .filter(|r| str_of(r, "quote") == ccy && in_range(r, from, to))
        .collect();
    rows.sort_by_key(|r| date_of(r));
    let name = format!("fx-USD{ccy}");
    Ok(format.answer(
        json!({"base": "USD", "quote": ccy, "days": rows}),
        &["days"],
        &mart_columns("fx_daily"),
        &name,
    ))
}

pub(crate) async fn basket(state: State<ServeState>, params: Params) -> Result<Response, ApiError> {
    days_in_currency(state, params, "basket").await
}

/// A mart's rows in the asked currency (`currency`), in date order: the value of the day and
/// the basket answer alike.
async fn days_in_currency(
    State(state): State<ServeState>,
    Query(params): Params,
    mart: &str,
) -> Result<Response, ApiError> {
    let format = Format::of(&params)?;
    let store = state.store();
    let ccy = currency(&state, &store, &params, "currency")?;
    let from = parse_date(&params, "from")?;
    let to = parse_date(&params, "to")?;
    let mut rows: Vec<&Row> = store
        .rows(mart)
        .iter()
        .filter(|r| str_of(r, "currency") == ccy && in_range(r, from, to))
        .collect();
    rows.sort_by_key(|r| date_of(r));
    let name = format!("{}-{ccy}", mart.split('_').next().unwrap_or(mart));
    Ok(format.answer(
        json!({"currency": ccy, "days": rows}),
        &["days"],
        &mart_columns(mart),
        &name,
    ))
}

/// A day for a file name: the day, or `none` when there is no data.
fn day_name(day: Option<chrono::NaiveDate>) -> String {
    day.map_or_else(|| "none".to_string(), |d| d.to_string())
}
