//! apilayer currency data: currencylayer (`/api/...`, `access_key`, every error with
//! HTTP 200) and the marketplace variant (`/currency_data/...`, `apikey` header); the
//! success bodies are the same.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::fx;
use crate::reply::Reply;
use crate::served::ServedQuote;
use crate::server::Inner;

/// The two ways apilayer sells the same data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    Currencylayer,
    CurrencyData,
}

/// A request to a currency route.
pub(crate) struct Call<'a> {
    pub state: &'a Inner,
    pub now: DateTime<Utc>,
    pub query: &'a HashMap<String, String>,
    pub headers: &'a HeaderMap,
}

const TERMS: &str = "https://currencylayer.com/terms";
const PRIVACY: &str = "https://currencylayer.com/privacy";
const FUNCTIONS: &[&str] = &["live", "historical", "timeframe", "list"];

/// The endpoint name of a function path.
pub(crate) fn endpoint_of(function: &str) -> &'static str {
    FUNCTIONS
        .iter()
        .find(|f| **f == function.trim_end_matches('/'))
        .copied()
        .unwrap_or("unknown")
}

/// A currencylayer error: HTTP 200 with `success: false`.
fn error(code: u32, kind: &str, info: &str) -> Reply {
    Reply::json(
        StatusCode::OK,
        &json!({"success": false, "error": {"code": code, "type": kind, "info": info}}),
    )
}

/// Answers one currency request: authentication, then the function.
pub(crate) fn handle(call: &Call<'_>, variant: Variant, function: &str) -> Reply {
    let cfg = &call.state.config;
    match variant {
        Variant::Currencylayer => match call.query.get("access_key").filter(|k| !k.is_empty()) {
            None => {
                return error(
                    101,
                    "missing_access_key",
                    "You have not supplied an API Access Key. [Required format: access_key=YOUR_ACCESS_KEY]",
                )
            }
            Some(k) if *k != cfg.currencylayer_access_key => {
                return error(
                    101,
                    "invalid_access_key",
                    "You have not supplied a valid API Access Key. [Technical Support: support@apilayer.com]",
                )
            }
            Some(_) => {}
        },
        Variant::CurrencyData => {
            let key = call.headers.get("apikey").and_then(|v| v.to_str().ok());
            if key != Some(cfg.apilayer_apikey.as_str()) {
                return Reply::json(
                    StatusCode::UNAUTHORIZED,
                    &json!({"message": "Invalid authentication credentials"}),
                );
            }
        }
    }
    if !call.state.take_fx_quota(call.now) {
        return error(
            104,
            "usage_limit_reached",
            "Your monthly usage limit has been reached. Please upgrade your Subscription Plan.",
        );
    }
    let catalog = &call.state.catalog;
    match endpoint_of(function) {
        "list" => {
            let currencies: Map<String, Value> = catalog
                .currencies()
                .into_iter()
                .map(|c| {
                    let name = fx::name(&c);
                    (c, json!(name))
                })
                .collect();
            Reply::json(
                StatusCode::OK,
                &json!({"success": true, "terms": TERMS, "privacy": PRIVACY, "currencies": currencies}),
            )
        }
        "live" => live(call, catalog),
        "historical" => historical(call, catalog),
        "timeframe" if !cfg.fx_timeframe_on_plan => error(
            105,
            "function_access_restricted",
            "Access Restricted - Your current Subscription Plan does not support this API Function.",
        ),
        "timeframe" => timeframe(call, catalog),
        _ => match variant {
            Variant::Currencylayer => {
                error(103, "invalid_api_function", "This API Function does not exist.")
            }
            Variant::CurrencyData => Reply::json(
                StatusCode::NOT_FOUND,
                &json!({"message": "no Route matched with those values"}),
            ),
        },
    }
}

/// The source and target currencies of a request, or the error body.
fn pair_args(call: &Call<'_>, catalog: &Catalog) -> Result<(String, Vec<String>), Reply> {
    let known = catalog.currencies();
    let source = call
        .query
        .get("source")
        .map(|s| s.trim().to_uppercase())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "USD".to_string());
    if !known.contains(&source) {
        return Err(error(
            201,
            "invalid_source_currency",
            "You have supplied an invalid Source Currency. [Example: source=EUR]",
        ));
    }
    let targets = match call
        .query
        .get("currencies")
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
    {
        None => known,
        Some(list) => {
            let codes: Vec<String> = list.split(',').map(|c| c.trim().to_uppercase()).collect();
            if codes.iter().any(|c| !known.contains(c)) {
                return Err(error(
                    202,
                    "invalid_currency_codes",
                    "You have provided one or more invalid Currency Codes. [Required format: currencies=EUR,USD,GBP,...]",
                ));
            }
            codes
        }
    };
    Ok((source, targets))
}

/// Quotes of `targets` against `source` as published at `rate_at`, recorded with
/// `rate_time`.
fn quotes(
    catalog: &Catalog,
    source: &str,
    targets: &[String],
    rate_at: DateTime<Utc>,
    rate_time: DateTime<Utc>,
) -> (Map<String, Value>, Vec<ServedQuote>) {
    let mut map = Map::new();
    let mut served = Vec::new();
    let Some(base) = catalog.usd_rate(source, rate_at) else {
        return (map, served);
    };
    for t in targets {
        let Some(r) = catalog.usd_rate(t, rate_at) else {
            continue;
        };
        let rate = if source == "USD" {
            r
        } else {
            fx::round_sig(r / base)
        };
        let pair = format!("{source}{t}");
        map.insert(pair.clone(), json!(rate));
        served.push(ServedQuote { pair, rate_time });
    }
    (map, served)
}

fn live(call: &Call<'_>, catalog: &Catalog) -> Reply {
    let (source, targets) = match pair_args(call, catalog) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let hour = fx::hour_start(call.now);
    let (q, served) = quotes(catalog, &source, &targets, hour, hour);
    Reply::json(
        StatusCode::OK,
        &json!({"success": true, "terms": TERMS, "privacy": PRIVACY,
                "timestamp": hour.timestamp(), "source": source, "quotes": q}),
    )
    .with_quotes(served)
}

/// The instant a day's rates are taken at and the timestamp they carry: the current
/// hour for today, the day's last hour (stamped 23:59:59) for a past day.
fn day_rates_at(day: NaiveDate, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    if day == now.date_naive() {
        let hour = fx::hour_start(now);
        return (hour, hour);
    }
    let midnight = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default());
    (
        midnight + Duration::hours(23),
        midnight + Duration::seconds(86_399),
    )
}

fn parse_date(s: Option<&String>) -> Option<Result<NaiveDate, ()>> {
    s.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ()))
}

fn earliest() -> NaiveDate {
    NaiveDate::from_ymd_opt(1999, 1, 1).unwrap_or_default()
}

fn no_results() -> Reply {
    error(
        106,
        "no_rates_available",
        "Your query did not return any results. Please try again.",
    )
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn historical(call: &Call<'_>, catalog: &Catalog) -> Reply {
    let date = match parse_date(call.query.get("date")) {
        None => {
            return error(
                301,
                "no_date_specified",
                "You have not specified a date. [Required format: date=YYYY-MM-DD]",
            )
        }
        Some(Err(())) => {
            return error(
                302,
                "invalid_date",
                "You have entered an invalid date. [Required format: date=YYYY-MM-DD]",
            )
        }
        Some(Ok(d)) => d,
    };
    if date > call.now.date_naive() || date < earliest() {
        return no_results();
    }
    let (source, targets) = match pair_args(call, catalog) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (at, stamp) = day_rates_at(date, call.now);
    let (q, served) = quotes(catalog, &source, &targets, at, stamp);
    Reply::json(
        StatusCode::OK,
        &json!({"success": true, "terms": TERMS, "privacy": PRIVACY, "historical": true,
                "date": ymd(date), "timestamp": stamp.timestamp(),
                "source": source, "quotes": q}),
    )
    .with_quotes(served)
}

fn timeframe(call: &Call<'_>, catalog: &Catalog) -> Reply {
    let start = parse_date(call.query.get("start_date"));
    let end = parse_date(call.query.get("end_date"));
    let (start, end) = match (start, end) {
        (None, _) | (_, None) => {
            return error(
                501,
                "invalid_timeframe",
                "You have not specified a Time-Frame or specified an invalid one. [Required format: start_date=YYYY-MM-DD&end_date=YYYY-MM-DD]",
            )
        }
        (Some(Err(())), _) => {
            return error(
                502,
                "invalid_start_date",
                "You have specified an invalid start date. [Required format: start_date=YYYY-MM-DD]",
            )
        }
        (_, Some(Err(()))) => {
            return error(
                503,
                "invalid_end_date",
                "You have specified an invalid end date. [Required format: end_date=YYYY-MM-DD]",
            )
        }
        (Some(Ok(s)), Some(Ok(e))) => (s, e),
    };
    if end < start {
        return error(
            504,
            "invalid_time_frame",
            "You have specified an invalid Time-Frame: the end date is before the start date.",
        );
    }
    if (end - start).num_days() > 365 {
        return error(
            505,
            "time_frame_too_long",
            "The Time-Frame you specified is too long. It may not exceed 365 days.",
        );
    }
    let today = call.now.date_naive();
    if start > today || end < earliest() {
        return no_results();
    }
    let (source, targets) = match pair_args(call, catalog) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut by_day = Map::new();
    let mut served = Vec::new();
    let mut day = start.max(earliest());
    while day <= end.min(today) {
        let (at, stamp) = day_rates_at(day, call.now);
        let (q, s) = quotes(catalog, &source, &targets, at, stamp);
        by_day.insert(ymd(day), Value::Object(q));
        served.extend(s);
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    Reply::json(
        StatusCode::OK,
        &json!({"success": true, "terms": TERMS, "privacy": PRIVACY, "timeframe": true,
                "start_date": ymd(start), "end_date": ymd(end),
                "source": source, "quotes": by_day}),
    )
    .with_quotes(served)
}
