//! Fault injection and rate limiting, as a middleware in front of every route.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::catalog::unit;
use crate::AppState;

/// How often each fault happens (0.0 never, 1.0 always), decided per request from
/// `fault_seed` and a request counter, so a run with faults is reproducible.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Share of requests answered 503 with an error body.
    pub error_5xx: f64,
    /// Share of requests answered after `slow_ms`.
    pub slow: f64,
    /// Delay of slow responses, in milliseconds.
    pub slow_ms: u64,
    /// Share of requests that hang for `timeout_ms` and then close without an answer.
    pub timeout: f64,
    /// How long a timed-out request hangs, in milliseconds (longer than the client's time-out).
    pub timeout_ms: u64,
    /// Share of 200 bodies cut in half.
    pub truncated: f64,
    /// Share of 200 bodies replaced by text that is not JSON.
    pub malformed: f64,
    /// Share of 200 bodies prefixed with a UTF-8 byte-order mark (still valid after stripping it).
    pub bom: f64,
    /// Seed of the fault decisions.
    pub fault_seed: u64,
}

pub(crate) struct FaultInjector {
    config: FaultConfig,
    counter: AtomicU64,
    rate_limit: Option<u32>,
    window: Mutex<(Instant, u32)>,
}

impl FaultInjector {
    pub(crate) fn new(config: FaultConfig, rate_limit: Option<u32>) -> Self {
        Self {
            config,
            counter: AtomicU64::new(0),
            rate_limit,
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    fn over_limit(&self) -> bool {
        let Some(limit) = self.rate_limit else {
            return false;
        };
        let mut window = self.window.lock().expect("rate window poisoned");
        if window.0.elapsed() >= Duration::from_secs(1) {
            *window = (Instant::now(), 0);
        }
        window.1 += 1;
        window.1 > limit
    }
}

enum Fault {
    None,
    Error5xx,
    Slow,
    Timeout,
    Truncated,
    Malformed,
    Bom,
}

fn choose(config: &FaultConfig, n: u64) -> Fault {
    let roll = |salt: u64| unit(&[config.fault_seed, n, salt]);
    if roll(1) < config.timeout {
        Fault::Timeout
    } else if roll(2) < config.error_5xx {
        Fault::Error5xx
    } else if roll(3) < config.malformed {
        Fault::Malformed
    } else if roll(4) < config.truncated {
        Fault::Truncated
    } else if roll(5) < config.bom {
        Fault::Bom
    } else if roll(6) < config.slow {
        Fault::Slow
    } else {
        Fault::None
    }
}

pub(crate) async fn middleware(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/_emulator") {
        return next.run(request).await;
    }
    if state.faults.over_limit() {
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            "{\"errors\":[{\"code\":429,\"message\":\"Too many requests\"}]}",
        )
            .into_response();
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return response;
    }
    let n = state.faults.counter.fetch_add(1, Ordering::SeqCst);
    let config = &state.faults.config;
    match choose(config, n) {
        Fault::Timeout => {
            tokio::time::sleep(Duration::from_millis(config.timeout_ms.max(1))).await;
            state.served.push(crate::ServedEntry {
                at: state.clock.now(),
                endpoint: endpoint_of(request.uri().path()),
                status: 0,
                item_ids: Vec::new(),
                quotes: 0,
                fault: Some("timeout".into()),
            });
            (StatusCode::GATEWAY_TIMEOUT, "").into_response()
        }
        Fault::Error5xx => {
            state.served.push(crate::ServedEntry {
                at: state.clock.now(),
                endpoint: endpoint_of(request.uri().path()),
                status: 503,
                item_ids: Vec::new(),
                quotes: 0,
                fault: Some("error_5xx".into()),
            });
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "{\"errors\":[{\"code\":503,\"message\":\"Service Unavailable\"}]}",
            )
                .into_response()
        }
        Fault::Slow => {
            tokio::time::sleep(Duration::from_millis(config.slow_ms)).await;
            next.run(request).await
        }
        fault @ (Fault::Truncated | Fault::Malformed | Fault::Bom) => {
            let response = next.run(request).await;
            if response.status() != StatusCode::OK {
                return response;
            }
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let (name, new_body): (&str, Vec<u8>) = match fault {
                Fault::Truncated => ("truncated", bytes[..bytes.len() / 2].to_vec()),
                Fault::Malformed => (
                    "malformed",
                    b"<html><body>Upstream proxy error {\"items\": [</body></html>".to_vec(),
                ),
                _ => ("bom", [b"\xEF\xBB\xBF".as_slice(), &bytes].concat()),
            };
            state.served.mark_last_fault(name);
            let mut response = Response::from_parts(parts, Body::from(new_body));
            response.headers_mut().remove("content-length");
            response
        }
        Fault::None => next.run(request).await,
    }
}

/// `walmart/trends` from `/v1/trends`, `currencylayer/live` from `/api/live`.
pub(crate) fn endpoint_of(path: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["v1", "paginated", ..] => "walmart/paginated_items".into(),
        ["v1", "items", ..] => "walmart/items".into(),
        ["v1", rest, ..] => format!("walmart/{rest}"),
        ["api", rest, ..] => format!("currencylayer/{rest}"),
        ["currency_data", rest, ..] => format!("currencylayer/{rest}"),
        _ => format!("other/{}", parts.join("_")),
    }
}
