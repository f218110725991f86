//! The HTTP side: shared state, the router, the request pipeline (rate limit, fault
//! injection, route, served log) and the running server handle.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use pricelake_core::secret::redact_url;
use pricelake_core::SharedClock;
use rsa::pkcs1v15::VerifyingKey;
use serde_json::json;
use sha2::Sha256;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth;
use crate::catalog::Catalog;
use crate::config::EmulatorConfig;
use crate::currency::{self, Variant};
use crate::error::EmulatorError;
use crate::hash::unit;
use crate::reply::Reply;
use crate::served::{Api, FaultKind, ServedEntry, ServedLog};
use crate::walmart::{self, Version, V2_PREFIX};

/// What every request needs: configuration, clock, catalog, the log and counters.
pub(crate) struct Inner {
    pub config: EmulatorConfig,
    pub clock: SharedClock,
    pub catalog: Catalog,
    pub served: ServedLog,
    pub verifying_key: Option<VerifyingKey<Sha256>>,
    counter: AtomicU64,
    /// (clock second, requests in it), for the rate limit.
    window: Mutex<(i64, u32)>,
    /// (clock day, currency requests in it), for the currency quota.
    fx_used: Mutex<(i64, u32)>,
}

impl Inner {
    /// Counts one authenticated currency request; false once today's quota is spent.
    pub(crate) fn take_fx_quota(&self, now: DateTime<Utc>) -> bool {
        let Some(quota) = self.config.fx_daily_quota else {
            return true;
        };
        let day = now.timestamp().div_euclid(86_400);
        let mut used = self.fx_used.lock().unwrap_or_else(|e| e.into_inner());
        if used.0 != day {
            *used = (day, 0);
        }
        used.1 += 1;
        used.1 <= quota
    }
}

/// The emulator's shared state: build it once, then serve it with [`router`] (in-process
/// tests) or [`start`] (a socket), and keep a handle on its served log.
#[derive(Clone)]
pub struct EmulatorState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmulatorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorState")
            .field("items", &self.inner.catalog.len())
            .field("fixture", &self.inner.catalog.is_fixture())
            .finish_non_exhaustive()
    }
}

impl EmulatorState {
    /// Validates the configuration and builds (or loads) the catalog it names.
    pub fn new(config: EmulatorConfig, clock: SharedClock) -> Result<EmulatorState, EmulatorError> {
        let catalog = match &config.fixture {
            Some(path) => Catalog::load_fixture(path)?,
            None => {
                if config.items == 0 || config.items > 1_000_000 {
                    return Err(EmulatorError::Config(format!(
                        "items must be between 1 and 1000000, not {}",
                        config.items
                    )));
                }
                Catalog::generate(config.seed, config.items)
            }
        };
        EmulatorState::with_catalog(config, clock, catalog)
    }

    /// Like [`EmulatorState::new`] with a catalog built by the caller (the configured
    /// `fixture`, `seed` and `items` are then ignored).
    pub fn with_catalog(
        config: EmulatorConfig,
        clock: SharedClock,
        catalog: Catalog,
    ) -> Result<EmulatorState, EmulatorError> {
        for (kind, rate) in config.faults.ordered() {
            if !(0.0..=1.0).contains(&rate) {
                return Err(EmulatorError::Config(format!(
                    "fault rate {} = {rate} is outside 0..=1",
                    kind.as_str()
                )));
            }
        }
        if config.rate_limit_per_sec == Some(0) {
            return Err(EmulatorError::Config(
                "rate_limit_per_sec must be at least 1".into(),
            ));
        }
        let verifying_key = config
            .walmart_public_key_pem
            .as_deref()
            .map(auth::parse_public_key)
            .transpose()?;
        Ok(EmulatorState {
            inner: Arc::new(Inner {
                config,
                clock,
                catalog,
                served: ServedLog::default(),
                verifying_key,
                counter: AtomicU64::new(0),
                window: Mutex::new((i64::MIN, 0)),
                fx_used: Mutex::new((i64::MIN, 0)),
            }),
        })
    }

    /// The log of every response served through this state.
    pub fn served(&self) -> ServedLog {
        self.inner.served.clone()
    }

    /// The catalog served, to compute expectations.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }
}

/// The emulator as an axum router: every API route plus `/_emulator/health` and
/// `/_emulator/served` (`?entries=true` adds the entries to the summary).
pub fn router(state: EmulatorState) -> Router {
    Router::new()
        .route("/_emulator/health", get(health))
        .route("/_emulator/served", get(served_summary))
        .fallback(dispatch)
        .with_state(state)
}

async fn health(State(state): State<EmulatorState>) -> impl IntoResponse {
    let inner = &state.inner;
    Json(json!({
        "status": "ok",
        "now": inner.clock.now().to_rfc3339(),
        "items": inner.catalog.len(),
        "fixture": inner.catalog.is_fixture(),
        "requests": inner.counter.load(Ordering::Relaxed),
    }))
}

async fn served_summary(State(state): State<EmulatorState>, req: Request) -> impl IntoResponse {
    let mut body = serde_json::to_value(state.inner.served.summary()).unwrap_or_default();
    if req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "entries=true"))
    {
        body["entries"] = serde_json::to_value(state.inner.served.entries()).unwrap_or_default();
    }
    Json(body)
}

/// Which API a path belongs to and the rest of the path below its prefix.
fn classify(path: &str) -> (Api, &str) {
    if let Some(rest) = path.strip_prefix("/v1/") {
        (Api::WalmartV1, rest)
    } else if let Some(rest) = path.strip_prefix(V2_PREFIX) {
        (Api::WalmartV2, rest)
    } else if let Some(rest) = path.strip_prefix("/api/") {
        (Api::Currencylayer, rest)
    } else if let Some(rest) = path.strip_prefix("/currency_data/") {
        (Api::CurrencyData, rest)
    } else {
        (Api::Other, path)
    }
}

/// `walmart/trends`, `currencylayer/live`, `other/unknown`.
fn endpoint_name(api: Api, rest: &str) -> String {
    match api {
        Api::WalmartV1 | Api::WalmartV2 => format!("walmart/{}", walmart::endpoint_of(rest)),
        Api::Currencylayer | Api::CurrencyData => {
            format!("currencylayer/{}", currency::endpoint_of(rest))
        }
        Api::Other => "other/unknown".to_string(),
    }
}

/// The fault drawn for request `seq`: the first kind whose draw falls under its rate.
fn decide_fault(config: &EmulatorConfig, seq: u64) -> Option<FaultKind> {
    let seed = config.faults.fault_seed;
    config
        .faults
        .ordered()
        .into_iter()
        .enumerate()
        .find(|(k, (_, rate))| *rate > 0.0 && unit(&[seed, seq, *k as u64]) < *rate)
        .map(|(_, (kind, _))| kind)
}

/// Counts the request into the current second of clock time; true when over the limit.
fn rate_limited(inner: &Inner, now: DateTime<Utc>) -> bool {
    let Some(limit) = inner.config.rate_limit_per_sec else {
        return false;
    };
    let second = now.timestamp();
    let mut w = inner.window.lock().unwrap_or_else(|e| e.into_inner());
    if w.0 != second {
        *w = (second, 0);
    }
    if w.1 >= limit {
        return true;
    }
    w.1 += 1;
    false
}

fn rate_limit_reply(api: Api) -> Reply {
    let r = match api {
        Api::Currencylayer => Reply::json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"success": false, "error": {"code": 106, "type": "rate_limit_reached",
                    "info": "You have exceeded the maximum rate limitation allowed on your subscription plan."}}),
        ),
        Api::CurrencyData => Reply::json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"message": "API rate limit exceeded"}),
        ),
        _ => Reply::walmart_error(StatusCode::TOO_MANY_REQUESTS, 429, "Too Many Requests"),
    };
    r.with_header("retry-after", "1")
}

/// A proxy's error page, what a "200 but not JSON" looks like in the wild.
const PROXY_PAGE: &str = "<html><head><title>Upstream error</title></head><body><h1>Upstream proxy error</h1><p>The upstream server returned an invalid response.</p></body></html>";

fn finish(reply: Reply, body: Bytes) -> Response {
    let len = body.len();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    for (name, value) in reply.headers {
        headers.insert(name, value);
    }
    response
}

/// A response whose body fails at once: the connection is closed without a complete
/// answer, which is what a client sees from a server that gave up.
fn dropped() -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "emulated timeout",
    ))];
    Response::new(Body::from_stream(futures::stream::iter(chunks)))
}

/// The request pipeline shared by every API route.
async fn dispatch(State(state): State<EmulatorState>, req: Request) -> Response {
    let inner = &*state.inner;
    let seq = inner.counter.fetch_add(1, Ordering::SeqCst);
    let now = inner.clock.now();
    let uri = req.uri().clone();
    let path = uri.path().to_string();
    let (api, rest) = classify(&path);
    let endpoint = endpoint_name(api, rest);
    let redacted = redact_url(&uri.path_and_query().map_or(path.clone(), |p| p.to_string()));
    let record = |status: u16, reply: Option<&Reply>, fault: Option<FaultKind>| {
        inner.served.push(ServedEntry {
            seq,
            at: now,
            api,
            endpoint: endpoint.clone(),
            path: redacted.clone(),
            status,
            item_ids: reply.map(|r| r.item_ids.clone()).unwrap_or_default(),
            quotes: reply.map(|r| r.quotes.clone()).unwrap_or_default(),
            fault: fault.map(|f| f.as_str().to_string()),
        });
    };

    if rate_limited(inner, now) {
        let reply = rate_limit_reply(api);
        record(reply.status.as_u16(), None, None);
        let body = Bytes::from(reply.body.clone());
        return finish(reply, body);
    }

    let fault = decide_fault(&inner.config, seq);
    let faults = &inner.config.faults;
    match fault {
        Some(FaultKind::Error5xx) => {
            let reply =
                Reply::walmart_error(StatusCode::SERVICE_UNAVAILABLE, 503, "Service Unavailable");
            record(503, None, fault);
            let body = Bytes::from(reply.body.clone());
            return finish(reply, body);
        }
        Some(FaultKind::Timeout) => {
            record(0, None, fault);
            // Real time on purpose: this is transport latency, and sleeping on a shared
            // simulated clock would move time for every other component.
            tokio::time::sleep(Duration::from_millis(faults.timeout_ms)).await;
            return dropped();
        }
        _ => {}
    }

    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let headers = req.headers();
    let reply = if req.method() != Method::GET && req.method() != Method::HEAD {
        Reply::walmart_error(StatusCode::METHOD_NOT_ALLOWED, 405, "Method not allowed")
    } else {
        match api {
            Api::WalmartV1 | Api::WalmartV2 => {
                let call = walmart::Call {
                    state: inner,
                    now,
                    query: &query,
                    headers,
                    duplicate: fault == Some(FaultKind::Duplicate),
                };
                let version = if api == Api::WalmartV1 {
                    Version::V1
                } else {
                    Version::V2
                };
                walmart::handle(&call, version, rest)
            }
            Api::Currencylayer | Api::CurrencyData => {
                let call = currency::Call {
                    state: inner,
                    now,
                    query: &query,
                    headers,
                };
                let variant = if api == Api::Currencylayer {
                    Variant::Currencylayer
                } else {
                    Variant::CurrencyData
                };
                currency::handle(&call, variant, rest)
            }
            Api::Other => Reply::text(StatusCode::NOT_FOUND, "text/plain", "Not Found"),
        }
    };

    // Body faults only touch successful answers; otherwise nothing was injected.
    let applied = match fault {
        Some(FaultKind::Duplicate) => reply.duplicated.then_some(FaultKind::Duplicate),
        Some(kind) if reply.status == StatusCode::OK => Some(kind),
        _ => None,
    };
    record(reply.status.as_u16(), Some(&reply), applied);
    let full = Bytes::from(reply.body.clone());
    let body = match applied {
        Some(FaultKind::Truncated) => full.slice(..full.len() / 2),
        Some(FaultKind::Malformed) => Bytes::from_static(PROXY_PAGE.as_bytes()),
        Some(FaultKind::Bom) => {
            let mut with_bom = Vec::with_capacity(full.len() + 3);
            with_bom.extend_from_slice(b"\xEF\xBB\xBF");
            with_bom.extend_from_slice(&full);
            Bytes::from(with_bom)
        }
        Some(FaultKind::Slow) => {
            tokio::time::sleep(Duration::from_millis(faults.slow_ms)).await;
            full
        }
        _ => full,
    };
    let mut reply = reply;
    if applied == Some(FaultKind::Malformed) {
        reply.content_type = "text/html";
    }
    finish(reply, body)
}

/// A running emulator on a real socket. Dropping it stops the server too.
#[derive(Debug)]
pub struct RunningEmulator {
    /// The address it listens on (the real port when port 0 was asked for).
    pub addr: SocketAddr,
    served: ServedLog,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT` (the loopback address when listening on all interfaces):
    /// what a client puts in front of `/v1/...`, `/api/...`, etc.
    pub fn base_url(&self) -> String {
        let ip = if self.addr.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.addr.ip()
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// The log of every response served.
    pub fn served(&self) -> ServedLog {
        self.served.clone()
    }

    /// Stops accepting, lets in-flight requests finish for up to 2 s, then stops.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts the emulator on `addr` (port 0 picks a free port) with time from `clock`.
pub async fn start(
    config: EmulatorConfig,
    clock: SharedClock,
    addr: SocketAddr,
) -> Result<RunningEmulator, EmulatorError> {
    let state = EmulatorState::new(config, clock)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let (tx, rx) = oneshot::channel::<()>();
    let served = state.served();
    let app = router(state);
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "emulator server stopped with an error");
        }
    });
    tracing::info!(addr = %local, "emulator listening");
    Ok(RunningEmulator {
        addr: local,
        served,
        shutdown: Some(tx),
        task: Some(task),
    })
}
