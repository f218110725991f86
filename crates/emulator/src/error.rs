//! Why the emulator could not start.

use std::path::PathBuf;

/// Everything that can stop the emulator from starting; once running it answers every
/// request (with an API error when the request is wrong).
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The fixture file could not be read.
    #[error("cannot read fixture {path}")]
    FixtureIo {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The fixture file is not a valid fixture.
    #[error("invalid fixture {path}")]
    FixtureJson {
        /// The file.
        path: PathBuf,
        /// Where and why it does not parse.
        #[source]
        source: serde_json::Error,
    },
    /// The fixture parses but contradicts itself (unknown item ids, empty schedules...).
    #[error("inconsistent fixture: {0}")]
    FixtureInvalid(String),
    /// The configuration is unusable (a rate outside 0..=1, zero items...).
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    /// The v2 public key is not a PEM RSA public key.
    #[error("invalid walmart_public_key_pem")]
    PublicKey(#[source] rsa::pkcs1::Error),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
