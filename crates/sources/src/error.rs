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
    /// The Walmart private key file (`PRICELAKE_WALMART_PRIVATE_KEY_FILE`) cannot be read.
    #[error("config `PRICELAKE_WALMART_PRIVATE_KEY_FILE`: cannot read {path}")]
    KeyFile {
        /// The file, as named.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The Walmart private key is not an RSA private key in PEM form.
    #[error("config `PRICELAKE_WALMART_PRIVATE_KEY_FILE`: not an RSA private key in PEM form")]
    PrivateKey(#[source] rsa::pkcs1::Error),
    /// The HTTP client could not be built.
    #[error("building the HTTP client")]
    Client(#[source] reqwest::Error),
    /// A request failed after every retry.
    #[error("{endpoint}: {message}")]
    Request {
        /// Which endpoint.
        endpoint: String,
        /// What happened (never contains a secret).
        message: String,
    },
    /// The delivery stream refused the records; they will be fetched again.
    #[error("delivery refused the records")]
    Sink(#[from] pricelake_core::SinkError),
    /// A checkpoint could not be read from the lake.
    #[error("reading the checkpoint {key}")]
    LoadCheckpoint {
        /// The checkpoint's key (the source, or a backfill).
        key: String,
        /// The cause.
        #[source]
        source: pricelake_lake::LakeError,
    },
    /// A checkpoint could not be saved in the lake.
    #[error("saving the checkpoint {key}")]
    SaveCheckpoint {
        /// The checkpoint's key (the source, or a backfill).
        key: String,
        /// The cause.
        #[source]
        source: pricelake_lake::LakeError,
    },
    /// A source's state could not be encoded as its checkpoint.
    #[error("encoding the checkpoint {key}")]
    EncodeCheckpoint {
        /// The checkpoint's key.
        key: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
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
            SourceError::MissingSecret { .. }
                | SourceError::Config { .. }
                | SourceError::KeyFile { .. }
                | SourceError::PrivateKey(_)
        )
    }
}
