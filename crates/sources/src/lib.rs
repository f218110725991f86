//! Clients of the Walmart product API and apilayer's currency API (currencylayer).
//!
//! A [`Source`] polls its endpoints on schedules, turns each response into
//! [`RecordEnvelope`](pricelake_core::RecordEnvelope)s (one per item of a list, one per whole
//! body otherwise) or dead letters with their reason, hands them to the delivery stream, and
//! moves its checkpoint only after the stream acknowledged them: at-least-once, resumable,
//! nothing dropped silently.
//!
//! - `source`: what the pipeline polls ([`Source`]) and [`build_sources`], which makes every
//!   enabled one;
//! - `driver`: the one poll lifecycle every source runs under: checkpoint, stopped state,
//!   retry backoff, health, metrics;
//! - `walmart` and `currencylayer`: each API's steps, and nothing else; [`backfill_fx`]
//!   fills FX history from currencylayer;
//! - [`http`]: one polite, persistent GET; `envelopes`: responses into records; `schedule`:
//!   when each job is due; `checkpoint`: where sources keep their place;
//! - `config`, `secrets` (from the environment only), `signing` (Walmart v2), `error`.

#![warn(missing_docs)]

mod checkpoint;
mod config;
mod currencylayer;
mod driver;
mod envelopes;
mod error;
pub mod http;
mod schedule;
mod secrets;
mod signing;
mod source;
mod walmart;

pub use checkpoint::{CheckpointStore, LakeCheckpoints, MemoryCheckpoints};
pub use config::{
    CatalogConfig, CurrencylayerConfig, CurrencylayerVariant, RetryConfig, SearchConfig,
    SourcesConfig, WalmartApi, WalmartConfig,
};
pub use currencylayer::backfill_fx;
pub use error::SourceError;
pub use secrets::{SourceSecrets, WalmartAuth};
pub use signing::WalmartSigner;
pub use source::{build_sources, PollReport, Source, SourceHealth};
