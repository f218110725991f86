//! The two forms of a mart route's answer: JSON (the default) or CSV (`format=csv`), the
//! same rows either way, so a table taken away from the dashboard is what the API serves.
//!
//! A CSV answer is the answer's rows, one line each, under a header of the mart's columns in
//! the registry's order ([`pricelake_core::marts::columns`]): a null is an empty field, a
//! number is written as the JSON answer writes it, a boolean `true`/`false`, and a field with
//! a comma, a quote or a line break is quoted (RFC 4180). The envelope around the rows (the
//! day, the currency) is in the file's name, not in the rows.

use std::collections::HashMap;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pricelake_core::marts;
use serde_json::Value;

use crate::ApiError;

/// How a mart route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The JSON document `/openapi.json` describes.
    Json,
    /// The rows as CSV.
    Csv,
}

impl Format {
    /// The `format` parameter: JSON when absent, else exactly `json` or `csv` (as
    /// `/openapi.json` enumerates them: an empty value is refused, not taken as JSON).
    pub(crate) fn of(params: &HashMap<String, String>) -> Result<Format, ApiError> {
        match params.get("format").map(String::as_str) {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(_) => Err(ApiError::bad_request("format", "expected json or csv")),
        }
    }

    /// The answer: `body` as JSON, or the rows under `keys` of `body` (one after the other,
    /// as `moves` lists its drops, then its rises) as CSV with `columns` (a mart's:
    /// [`mart_columns`]), in a file named `name.csv`.
    pub(crate) fn answer(
        self,
        body: Value,
        keys: &[&str],
        columns: &[&str],
        name: &str,
    ) -> Response {
        match self {
            Format::Json => Json(body).into_response(),
            Format::Csv => {
                let rows = keys
                    .iter()
                    .filter_map(|k| body.get(*k).and_then(Value::as_array))
                    .flatten();
                let text = csv(columns, rows);
                let disposition = format!("attachment; filename=\"{}.csv\"", file_name(name));
                let mut response = text.into_response();
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                );
                if let Ok(value) = HeaderValue::from_str(&disposition) {
                    headers.insert(header::CONTENT_DISPOSITION, value);
                }
                response
            }
        }
    }
}

/// A file name of letters, digits, `-` and `_` only (it is built from request values).
fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A mart's columns, in the registry's order.
pub(crate) fn mart_columns(mart: &str) -> Vec<&'static str> {
    marts::columns(mart).iter().map(|c| c.name).collect()
}

/// The rows as CSV under a header of `columns`.
pub(crate) fn csv<'a>(columns: &[&str], rows: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    line(&mut out, columns.iter().map(|c| field(c)));
    for row in rows {
        line(
            &mut out,
            columns.iter().map(|c| match row.get(*c) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => field(s),
                Some(other) => field(&other.to_string()),
            }),
        );
    }
    out
}

fn line(out: &mut String, fields: impl Iterator<Item = String>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&f);
    }
    out.push_str("\r\n");
}

/// One field, quoted when it holds a separator, a quote or a line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_rows_are_the_json_rows_under_the_marts_columns_quoted_where_needed() {
        let rows = [
            json!({"date": "2026-01-02", "currency": "EUR", "items": 3, "cost": 12.5}),
            json!({"date": "2026-01-03", "currency": "EUR", "items": 2, "cost": 80.0}),
        ];
        assert_eq!(
            csv(&mart_columns("basket"), &rows),
            "date,currency,items,cost\r\n2026-01-02,EUR,3,12.5\r\n2026-01-03,EUR,2,80.0\r\n"
        );
        let odd = [json!({"period_start": "2026-01-05", "item_id": 7,
                          "name": "TV, 55\" \"smart\"\nnew", "appearances": 1, "rank": 1})];
        assert_eq!(
            csv(&mart_columns("trending_popularity"), &odd),
            "period_start,item_id,name,appearances,rank\r\n\
             2026-01-05,7,\"TV, 55\"\" \"\"smart\"\"\nnew\",1,1\r\n"
        );
        let null = [json!({"date": "2026-01-01", "item_id": 1, "name": "Kettle",
                           "sale_price_usd": 10.0, "currency": "EUR", "rate": null,
                           "price": null, "rate_time": null})];
        assert!(
            csv(&mart_columns("vod_fx"), &null).ends_with("2026-01-01,1,Kettle,10.0,EUR,,,\r\n")
        );
    }

    #[test]
    fn format_is_json_by_default_csv_when_asked_and_nothing_else() {
        let params = |v: &str| HashMap::from([("format".to_string(), v.to_string())]);
        assert_eq!(Format::of(&HashMap::new()), Ok(Format::Json));
        assert_eq!(Format::of(&params("json")), Ok(Format::Json));
        assert_eq!(Format::of(&params("")).unwrap_err().param, "format");
        assert_eq!(Format::of(&params("csv")), Ok(Format::Csv));
        assert_eq!(Format::of(&params("CSV")).unwrap_err().param, "format");
        let answer = Format::Csv.answer(
            json!({"currency": "EUR", "days": [{"date": "2026-01-02", "currency": "EUR", "items": 1, "cost": 2.0}]}),
            &["days"],
            &mart_columns("basket"),
            "basket-EUR/x",
        );
        assert_eq!(
            answer.headers()[header::CONTENT_TYPE],
            "text/csv; charset=utf-8"
        );
        assert_eq!(
            answer.headers()[header::CONTENT_DISPOSITION],
            "attachment; filename=\"basket-EUR_x.csv\""
        );
    }
}
