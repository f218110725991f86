//! A faithful stand-in for the Walmart product API and apilayer's currency API.
//!
//! The demo and every test talk to this emulator instead of the internet. It speaks both
//! services' real formats, checks keys the way they do (Walmart v1 `apiKey`: 403;
//! currencylayer `access_key`: HTTP 200 with `success:false`, code 101; the marketplace
//! `apikey` header: 401), injects faults at configured rates, and records everything it
//! served so a test can prove that nothing was lost on the way to the lake.
// Handlers return `Result<_, Response>` so an error is already the HTTP answer; the
// large `Err` variant is the point, not an accident.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use pricelake_core::SharedClock;
use serde::{Deserialize, Serialize};

mod catalog;
mod currency;
mod faults;
mod served;
mod walmart;

pub use catalog::{
    Catalog, Category, Fixture, FixtureItem, FxPoint, PricePoint, TrendPoint, VodPoint,
};
pub use faults::FaultConfig;
pub use served::{ServedEntry, ServedLog};

/// The emulator's settings; the `[emulator]` section of the config file.
///
/// The keys here are the emulator's own demo keys, not secrets of a real service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmulatorConfig {
    /// Catalog seed: the same seed serves the same data at the same instant.
    pub seed: u64,
    /// Number of products in the generated catalog.
    pub items: usize,
    /// The Walmart v1 `apiKey` the emulator accepts.
    pub walmart_api_key: String,
    /// The Walmart v2 consumer id the emulator accepts.
    pub walmart_consumer_id: String,
    /// The currencylayer `access_key` the emulator accepts.
    pub currencylayer_access_key: String,
    /// The marketplace `apikey` header the emulator accepts.
    pub apilayer_apikey: String,
    /// A small fixed catalog (JSON, see `fixtures/small.json`) instead of the generated one.
    pub fixture: Option<PathBuf>,
    /// Requests per second above which the emulator answers 429 with `Retry-After`; none = unlimited.
    pub rate_limit_per_sec: Option<u32>,
    /// Faults to inject.
    pub faults: FaultConfig,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            items: 3000,
            walmart_api_key: "demo-walmart-key".to_string(),
            walmart_consumer_id: "demo-consumer".to_string(),
            currencylayer_access_key: "demo-fx-key".to_string(),
            apilayer_apikey: "demo-apilayer-key".to_string(),
            fixture: None,
            rate_limit_per_sec: None,
            faults: FaultConfig::default(),
        }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The fixture file is missing or malformed.
    #[error("fixture: {0}")]
    Fixture(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Shared by every handler.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) config: Arc<EmulatorConfig>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) clock: SharedClock,
    pub(crate) served: ServedLog,
    pub(crate) faults: Arc<faults::FaultInjector>,
}

/// The router, for in-process use; [`start`] serves it on a socket.
pub fn router(
    config: EmulatorConfig,
    clock: SharedClock,
) -> Result<(axum::Router, ServedLog), EmulatorError> {
    let catalog = match &config.fixture {
        Some(path) => Catalog::load_fixture(path)?,
        None => Catalog::generate(config.seed, config.items),
    };
    let served = ServedLog::default();
    let state = AppState {
        faults: Arc::new(faults::FaultInjector::new(
            config.faults.clone(),
            config.rate_limit_per_sec,
        )),
        config: Arc::new(config),
        catalog: Arc::new(catalog),
        clock,
        served: served.clone(),
    };
    let router = axum::Router::new()
        .merge(walmart::routes())
        .merge(currency::routes())
        .route("/_emulator/health", axum::routing::get(|| async { "ok" }))
        .route("/_emulator/served", axum::routing::get(served::summary))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::middleware,
        ))
        .with_state(state);
    Ok((router, served))
}

/// A running emulator.
pub struct RunningEmulator {
    /// Where it listens.
    pub addr: SocketAddr,
    served: ServedLog,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT`, the base URL both APIs live under.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it has served so far.
    pub fn served(&self) -> ServedLog {
        self.served.clone()
    }

    /// Stops listening and waits for the server to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Starts the emulator on `addr` (port 0 picks a free one).
pub async fn start(
    config: EmulatorConfig,
    clock: SharedClock,
    addr: SocketAddr,
) -> Result<RunningEmulator, EmulatorError> {
    let (router, served) = router(config, clock)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "emulator server failed");
        }
    });
    Ok(RunningEmulator {
        addr,
        served,
        stop,
        task,
    })
}
