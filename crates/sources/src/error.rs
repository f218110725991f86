//! What can go wrong in a source.

/// A source failure. Configuration problems are told apart so the CLI exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A required secret is not in the environment.
    #[error("{source_name} is enabled but {var} is not set: export {var}=... (secrets are read only from the environment)")]
    MissingSecret {
        /// The source.
        source_name: &'static str,
        /// The variable to set.
        var: &'static str,
    },
    /// A configuration value cannot work.
    #[error("config `{field}`: {message}")]
    Config {
        /// Dotted field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Client(String),
    /// A request failed after every retry.
    #[error("{endpoint}: {message}")]
    Request {
        /// Which endpoint.
        endpoint: String,
        /// What happened (never contains a secret).
        message: String,
    },
    /// The delivery stream refused the records; they will be fetched again.
    #[error("delivery refused the records: {0}")]
    Sink(#[from] pricelake_core::SinkError),
    /// A checkpoint could not be read or written.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The service rejected the credentials (currencylayer 101/102, Walmart 401/403): the source stops.
    #[error("{source_name}: credentials rejected: {message}")]
    Credentials {
        /// The source.
        source_name: &'static str,
        /// The service's message.
        message: String,
    },
}

impl SourceError {
    /// True for problems the user fixes in the config or environment (exit code 2).
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            SourceError::MissingSecret { .. } | SourceError::Config { .. }
        )
    }
}
