//! A panel's chart as SVG, from the same rows the API answers.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::Value;

use crate::params::{currency, date_of, f64_of, in_range, parse_date, str_of, strict_int, Params};
use crate::{charts, ApiError, Row, ServeState};

fn series_of(rows: &[&Row], name: &str, value: &str) -> charts::Series {
    charts::Series {
        name: name.to_string(),
        points: rows
            .iter()
            .filter_map(|r| Some((date_of(r)?, f64_of(r, value)?)))
            .collect(),
    }
}

pub(crate) async fn chart(
    State(state): State<ServeState>,
    Path(panel): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let store = state.store();
    let panel = panel.trim_end_matches(".svg");
    let ccy = currency(&state, &store, &params, "currency")?;
    let from = parse_date(&params, "from")?;
    let to = parse_date(&params, "to")?;
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
                return Err(ApiError::bad_request("item", "expected a numeric item id"));
            };
            let daily = store.daily_of(id, &ccy).await?;
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
            return Err(ApiError::not_found(
                "panel",
                "expected vod, fx, basket, history, discounts, trending or moves",
            ))
        }
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        svg,
    )
        .into_response())
}
