//! What a route hands back before faults are applied: status, body, headers and what
//! the body contains (for the served log).

use axum::http::{HeaderName, HeaderValue, StatusCode};
use serde_json::{json, Value};

use crate::served::ServedQuote;

/// A response in the making.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub item_ids: Vec<u64>,
    pub quotes: Vec<ServedQuote>,
    /// The route applied the `duplicate` fault.
    pub duplicated: bool,
}

pub(crate) const JSON: &str = "application/json;charset=UTF-8";

impl Reply {
    /// A JSON reply.
    pub fn json(status: StatusCode, body: &Value) -> Reply {
        Reply {
            status,
            body: serde_json::to_vec(body).unwrap_or_default(),
            content_type: JSON,
            headers: Vec::new(),
            item_ids: Vec::new(),
            quotes: Vec::new(),
            duplicated: false,
        }
    }

    /// A Walmart error: `{"errors":[{"code":..,"message":..}]}`.
    pub fn walmart_error(status: StatusCode, code: u32, message: &str) -> Reply {
        Reply::json(
            status,
            &json!({"errors": [{"code": code, "message": message}]}),
        )
    }

    /// A plain-text reply.
    pub fn text(status: StatusCode, content_type: &'static str, body: &str) -> Reply {
        Reply {
            content_type,
            body: body.as_bytes().to_vec(),
            ..Reply::json(status, &Value::Null)
        }
    }

    /// Records the item ids the body carries.
    pub fn with_items(mut self, ids: Vec<u64>) -> Reply {
        self.item_ids = ids;
        self
    }

    /// Records the quotes the body carries.
    pub fn with_quotes(mut self, quotes: Vec<ServedQuote>) -> Reply {
        self.quotes = quotes;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Reply {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((HeaderName::from_static(name), v));
        }
        self
    }
}
