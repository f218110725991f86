//! Any bytes as a currencylayer / apilayer body: BOM stripping, JSON, the error object,
//! then the quotes of `live`/`historical` and of each day of `timeframe`. Parsing may
//! reject; it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pricelake_core::models::currencylayer::{parse_quotes, ApiError};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let body = pricelake_core::models::strip_bom(data);
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let _ = ApiError::from_body(&value);
    let source = value.get("source").and_then(Value::as_str).unwrap_or("USD");
    let quotes = value.get("quotes").unwrap_or(&Value::Null);
    let _ = parse_quotes(source, quotes);
    if let Some(days) = quotes.as_object() {
        for day in days.values() {
            let _ = parse_quotes(source, day);
        }
    }
});
