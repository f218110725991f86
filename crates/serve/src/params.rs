//! The request parameters, taken exactly as `/openapi.json` types them (a date is
//! `YYYY-MM-DD` and nothing else, a limit a whole number in range, a currency one the run
//! has), and the few row accessors the handlers share.

use std::collections::HashMap;

use axum::extract::Query;
use chrono::{Datelike, NaiveDate};
use serde_json::Value;

use crate::store::MartStore;
use crate::{openapi, ApiError, Row, ServeState};

/// A request's query parameters.
pub(crate) type Params = Query<HashMap<String, String>>;

/// A day written exactly `YYYY-MM-DD` ([`openapi::DATE_PATTERN`]): chrono alone would also
/// take `2026-1-5` or `+2026-01-05`, which the API's document does not allow.
pub(crate) fn strict_date(text: &str) -> Option<NaiveDate> {
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
pub(crate) fn strict_uint(text: &str) -> Option<u64> {
    (!text.is_empty() && text.bytes().all(|c| c.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

pub(crate) fn parse_date(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<NaiveDate>, ApiError> {
    match params.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => strict_date(v)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(name, "expected a date as YYYY-MM-DD")),
    }
}

pub(crate) fn parse_limit(
    params: &HashMap<String, String>,
    default: usize,
) -> Result<usize, ApiError> {
    let (low, high) = openapi::LIMIT;
    match params.get("limit") {
        None => Ok(default),
        Some(v) => match strict_uint(v) {
            Some(n) if (low..=high).contains(&n) => Ok(n as usize),
            _ => Err(ApiError::bad_request(
                "limit",
                format!("expected a whole number from {low} to {high}"),
            )),
        },
    }
}

pub(crate) fn currency(
    state: &ServeState,
    store: &MartStore,
    params: &HashMap<String, String>,
    name: &str,
) -> Result<String, ApiError> {
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
        Err(ApiError::bad_request(
            name,
            format!("unknown currency {wanted:?}; known: {}", known.join(", ")),
        ))
    }
}

pub(crate) fn date_of(row: &Row) -> Option<NaiveDate> {
    row.get("date")
        .and_then(Value::as_str)
        .and_then(|d| d.parse().ok())
}

pub(crate) fn in_range(row: &Row, from: Option<NaiveDate>, to: Option<NaiveDate>) -> bool {
    let Some(d) = date_of(row) else { return true };
    from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t)
}

pub(crate) fn str_of<'a>(row: &'a Row, key: &str) -> &'a str {
    row.get(key).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn f64_of(row: &Row, key: &str) -> Option<f64> {
    row.get(key).and_then(Value::as_f64)
}

/// A whole number, optionally negative, in digits only (what `/openapi.json` calls an int64).
pub(crate) fn strict_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    (!digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

pub(crate) fn item_id(id: &str) -> Result<i64, ApiError> {
    strict_int(id).ok_or_else(|| ApiError::bad_request("id", "expected a numeric item id"))
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
