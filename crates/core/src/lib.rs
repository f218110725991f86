//! The contracts every pricelake stage shares, and nothing else.
//!
//! Stages meet here so that no crate has to reach back up the pipe: a source hands
//! [`envelope::RecordEnvelope`]s to delivery, delivery lands them under the
//! [`layout`] of the lake, transform parses their payloads with [`models`], and every
//! component takes "now" from one [`clock::Clock`] and counts into one [`metrics::Metrics`].

#![warn(missing_docs)]

pub mod clock;
pub mod envelope;
pub mod error;
pub mod layout;
pub mod marts;
pub mod metrics;
pub mod models;
pub mod secret;
pub mod sink;

pub use clock::{Clock, SharedClock, SimulatedClock, SystemClock};
pub use envelope::{DeadLetter, LakeRecord, RecordEnvelope};
pub use error::ErrorChain;
pub use metrics::Metrics;
pub use secret::Secret;
pub use sink::{MemorySink, RecordSink, SinkError};
