//! A built-in stand-in for the Walmart product APIs (Open API v1 and Affiliate v2) and
//! apilayer's currency data (currencylayer and the marketplace variant).
//!
//! The demo and every test run against it instead of the internet. It speaks the real
//! formats, is as strict (authentication, parameter limits, error codes) and, on
//! request, as unreliable (503s, timeouts, cut and malformed bodies, byte-order marks,
//! repeated items, rate limits) as the real services, and it is deterministic: the same
//! seed and the same clock instant give the same bytes. "Now" always comes from a
//! [`pricelake_core::Clock`], so a simulated clock moving through a month serves a month
//! of history. Every response is recorded in a [`ServedLog`] so tests can reconcile
//! what was served with what landed.

#![warn(missing_docs)]

mod auth;
mod catalog;
mod config;
mod currency;
mod error;
mod fixture;
mod fx;
mod hash;
mod reply;
mod served;
mod server;
mod taxonomy;
mod walmart;

pub use catalog::Catalog;
pub use config::{EmulatorConfig, FaultConfig};
pub use error::EmulatorError;
pub use fixture::{Fixture, FixtureItem, FxPoint, PricePoint, TrendPoint, VodPoint};
pub use served::{Api, FaultKind, ServedEntry, ServedLog, ServedQuote, ServedSummary};
pub use server::{router, start, EmulatorState, RunningEmulator};
pub use taxonomy::Category;
