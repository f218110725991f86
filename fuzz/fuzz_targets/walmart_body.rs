//! Any bytes as a Walmart response body: BOM stripping, JSON, then every item where the
//! v1 and v2 bodies keep them (`items`, a lone item, trends and search lists). Parsing may
//! reject; it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pricelake_core::models::walmart::Item;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let body = pricelake_core::models::strip_bom(data);
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let _ = Item::from_json(&value);
    for list in ["items", "item"] {
        if let Some(items) = value.get(list).and_then(Value::as_array) {
            for item in items {
                let _ = Item::from_json(item);
            }
        }
    }
});
