//! The sources' secrets, read only from the environment, and how Walmart requests use them.

use pricelake_core::Secret;

use crate::config::WalmartApi;
use crate::signing::WalmartSigner;
use crate::SourceError;

/// Secrets of both sources, read only from the environment.
#[derive(Debug, Clone, Default)]
pub struct SourceSecrets {
    /// `PRICELAKE_WALMART_API_KEY`: the v1 `apiKey`.
    pub walmart_api_key: Option<Secret>,
    /// `PRICELAKE_WALMART_CONSUMER_ID`: the v2 consumer id.
    pub walmart_consumer_id: Option<String>,
    /// The PEM text of the file named by `PRICELAKE_WALMART_PRIVATE_KEY_FILE`: v2's signing key.
    pub walmart_private_key_pem: Option<Secret>,
    /// `PRICELAKE_CURRENCYLAYER_ACCESS_KEY`: currencylayer's `access_key`.
    pub currencylayer_access_key: Option<Secret>,
    /// `PRICELAKE_APILAYER_APIKEY`: the marketplace `apikey` header.
    pub apilayer_apikey: Option<Secret>,
}

impl SourceSecrets {
    /// Reads the secrets from the process environment; empty values count as unset.
    pub fn from_env() -> Result<Self, SourceError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads the secrets through `lookup` (the environment, or a map in tests). The private
    /// key file is read here, so a missing or unreadable file is an error naming the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SourceError> {
        let read = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let walmart_private_key_pem = match read("PRICELAKE_WALMART_PRIVATE_KEY_FILE") {
            None => None,
            Some(path) => Some(Secret::new(std::fs::read_to_string(path.trim()).map_err(
                |source| SourceError::KeyFile {
                    path: path.trim().to_string(),
                    source,
                },
            )?)),
        };
        Ok(Self {
            walmart_api_key: read("PRICELAKE_WALMART_API_KEY").map(Secret::new),
            walmart_consumer_id: read("PRICELAKE_WALMART_CONSUMER_ID"),
            walmart_private_key_pem,
            currencylayer_access_key: read("PRICELAKE_CURRENCYLAYER_ACCESS_KEY").map(Secret::new),
            apilayer_apikey: read("PRICELAKE_APILAYER_APIKEY").map(Secret::new),
        })
    }

    /// The Walmart credentials the configured generation needs, or the variable to set.
    pub fn walmart_auth(
        &self,
        api: WalmartApi,
        key_version: &str,
    ) -> Result<WalmartAuth, SourceError> {
        let missing = |var: &'static str| SourceError::MissingSecret {
            source_name: "sources.walmart",
            var,
        };
        match api {
            WalmartApi::V1 => self
                .walmart_api_key
                .clone()
                .map(WalmartAuth::ApiKey)
                .ok_or(missing("PRICELAKE_WALMART_API_KEY")),
            WalmartApi::V2 => {
                let consumer = self
                    .walmart_consumer_id
                    .as_deref()
                    .ok_or(missing("PRICELAKE_WALMART_CONSUMER_ID"))?;
                let pem = self
                    .walmart_private_key_pem
                    .as_ref()
                    .ok_or(missing("PRICELAKE_WALMART_PRIVATE_KEY_FILE"))?;
                Ok(WalmartAuth::Signed(Box::new(WalmartSigner::from_pem(
                    consumer,
                    key_version,
                    pem.expose(),
                )?)))
            }
        }
    }
}

/// How Walmart requests prove who sends them.
#[derive(Debug, Clone)]
pub enum WalmartAuth {
    /// v1: the `apiKey` query parameter.
    ApiKey(Secret),
    /// v2: four signed headers, made afresh for every attempt.
    Signed(Box<WalmartSigner>),
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn an_unreadable_key_file_is_a_config_error_naming_it_with_the_io_error_as_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.pem").to_string_lossy().to_string();
        let err = SourceSecrets::from_lookup(|var| {
            (var == "PRICELAKE_WALMART_PRIVATE_KEY_FILE").then(|| missing.clone())
        })
        .err()
        .unwrap();
        assert!(err.is_config(), "exit code 2, as for any config error");
        assert_eq!(
            err.to_string(),
            format!("config `PRICELAKE_WALMART_PRIVATE_KEY_FILE`: cannot read {missing}")
        );
        assert!(err.source().unwrap().is::<std::io::Error>());
    }

    #[test]
    fn a_key_that_is_not_rsa_pem_is_a_config_error_with_the_parse_error_as_its_cause() {
        let err = WalmartSigner::from_pem("consumer", "1", "not a key").unwrap_err();
        assert!(err.is_config());
        assert!(err.source().unwrap().is::<rsa::pkcs1::Error>());
    }
}
