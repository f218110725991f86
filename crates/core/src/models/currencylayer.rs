//! apilayer currency data (currencylayer and the marketplace `currency_data` variant share
//! bodies). Errors arrive with HTTP 200 and `success: false`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::flex;

/// `{"success":false,"error":{"code":101,"type":"invalid_access_key","info":"..."}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// 101 bad key, 102 inactive, 104 quota, 105 plan, 106 no results, 2xx/3xx/5xx bad args.
    pub code: u32,
    /// A machine name such as `invalid_access_key`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// A human explanation.
    #[serde(default)]
    pub info: Option<String>,
}

impl ApiError {
    /// Reads the error of a `success:false` body, if it is one.
    pub fn from_body(body: &Value) -> Option<ApiError> {
        if body.get("success").and_then(Value::as_bool) == Some(false) {
            let err = body.get("error")?;
            return serde_json::from_value(err.clone()).ok().or(Some(ApiError {
                code: 0,
                kind: None,
                info: Some(err.to_string()),
            }));
        }
        None
    }
}

/// One exchange rate: `base`->`quote` at `timestamp` (epoch seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// Base currency (USD on the free plan).
    pub base: String,
    /// Quote currency.
    pub quote: String,
    /// Units of `quote` per one `base`.
    pub rate: f64,
}

/// Why a quotes object could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuotesError {
    /// `quotes` is missing or not an object.
    #[error("no quotes object")]
    Missing,
    /// A key is not `BASE` followed by a 3-letter code.
    #[error("quote key {0} does not start with the source currency")]
    BadKey(String),
    /// A rate is not a positive number.
    #[error("rate of {key} is not a positive number: {value}")]
    BadRate {
        /// The pair.
        key: String,
        /// The rate's JSON text.
        value: String,
    },
}

/// Splits `{"USDEUR":0.92,...}` into quotes against `source`, accepting rates as
/// strings and in exponent notation.
pub fn parse_quotes(source: &str, quotes: &Value) -> Result<Vec<Quote>, QuotesError> {
    let map = quotes.as_object().ok_or(QuotesError::Missing)?;
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        let quote = key
            .strip_prefix(source)
            .filter(|q| q.len() == 3)
            .ok_or_else(|| QuotesError::BadKey(key.clone()))?;
        let rate = match flex::value_as_f64(value) {
            Ok(Some(r)) if r > 0.0 => r,
            _ => {
                return Err(QuotesError::BadRate {
                    key: key.clone(),
                    value: value.to_string(),
                })
            }
        };
        out.push(Quote {
            base: source.to_string(),
            quote: quote.to_string(),
            rate,
        });
    }
    Ok(out)
}

/// The body of `/live` and `/historical`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatesBody {
    /// Epoch seconds the rates are for.
    #[serde(deserialize_with = "flex::opt_u64", default)]
    pub timestamp: Option<u64>,
    /// Base currency.
    #[serde(default = "usd")]
    pub source: String,
    /// `YYYY-MM-DD` on `/historical`.
    #[serde(default)]
    pub date: Option<String>,
    /// `{"USDEUR": 0.92}`.
    pub quotes: Value,
}

/// The body of `/timeframe`: quotes keyed by date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeframeBody {
    /// Base currency.
    #[serde(default = "usd")]
    pub source: String,
    /// `{"2025-04-01": {"USDEUR": 0.92}}`.
    pub quotes: BTreeMap<String, Value>,
}

fn usd() -> String {
    "USD".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_quotes_with_exponents_and_strings() {
        let q = parse_quotes(
            "USD",
            &json!({"USDEUR": 0.92, "USDBTC": 1.1940434e-5, "USDGBP": "0.77"}),
        )
        .unwrap();
        assert_eq!(q.len(), 3);
        assert!(q.iter().any(|q| q.quote == "BTC" && q.rate == 1.1940434e-5));
        assert!(q.iter().any(|q| q.quote == "GBP" && q.rate == 0.77));
        assert!(parse_quotes("USD", &json!({"EURUSD": 1.0})).is_err());
        assert!(parse_quotes("USD", &json!({"USDEUR": -1})).is_err());
    }

    #[test]
    fn errors_with_http_200_are_recognised() {
        let body = json!({"success": false, "error": {"code": 104, "type": "usage_limit_reached", "info": "x"}});
        assert_eq!(ApiError::from_body(&body).unwrap().code, 104);
        assert!(ApiError::from_body(&json!({"success": true, "quotes": {}})).is_none());
    }
}
