//! Credential checks of Walmart v2's signed headers (v1's `apiKey` and apilayer's keys
//! are plain comparisons in their routes).

use axum::http::HeaderMap;
use base64::Engine;
use chrono::{DateTime, Utc};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use sha2::Sha256;

use crate::error::EmulatorError;

/// How far a v2 timestamp may be from the clock's now, in milliseconds.
pub(crate) const V2_MAX_SKEW_MS: i64 = 180_000;

const V2_CONSUMER_ID: &str = "wm_consumer.id";
const V2_TIMESTAMP: &str = "wm_consumer.intimestamp";
const V2_KEY_VERSION: &str = "wm_sec.key_version";
const V2_SIGNATURE: &str = "wm_sec.auth_signature";

/// Parses the v2 public key from PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`).
pub(crate) fn parse_public_key(pem: &str) -> Result<VerifyingKey<Sha256>, EmulatorError> {
    let key = RsaPublicKey::from_public_key_pem(pem.trim())
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem.trim()))
        .map_err(EmulatorError::PublicKey)?;
    Ok(VerifyingKey::<Sha256>::new(key))
}

/// Why a v2 request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum V2Refusal {
    /// 403: a header is missing, or the consumer has no subscription.
    Forbidden(String),
    /// 401: the signature does not verify or the timestamp is too old or too new.
    Unauthorized(String),
}

/// Checks the four v2 headers against the configured consumer and key at `now`.
pub(crate) fn check_v2(
    headers: &HeaderMap,
    key: Option<&VerifyingKey<Sha256>>,
    consumer_id: &str,
    now: DateTime<Utc>,
) -> Result<(), V2Refusal> {
    let get = |name: &str| -> Result<&str, V2Refusal> {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| V2Refusal::Forbidden(format!("missing header {}", name.to_uppercase())))
    };
    let id = get(V2_CONSUMER_ID)?;
    let ts = get(V2_TIMESTAMP)?;
    let version = get(V2_KEY_VERSION)?;
    let signature = get(V2_SIGNATURE)?;
    let Some(key) = key else {
        return Err(V2Refusal::Forbidden(
            "no subscription for this consumer".into(),
        ));
    };
    if id != consumer_id {
        return Err(V2Refusal::Forbidden(
            "no subscription for this consumer".into(),
        ));
    }
    let ts_ms: i64 = ts.trim().parse().map_err(|_| {
        V2Refusal::Unauthorized("WM_CONSUMER.INTIMESTAMP is not epoch milliseconds".into())
    })?;
    if (ts_ms - now.timestamp_millis()).abs() > V2_MAX_SKEW_MS {
        return Err(V2Refusal::Unauthorized(
            "timestamp expired or in the future".into(),
        ));
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| V2Refusal::Unauthorized("signature is not base64".into()))?;
    let sig = Signature::try_from(raw.as_slice())
        .map_err(|_| V2Refusal::Unauthorized("malformed signature".into()))?;
    let message = format!("{id}\n{ts}\n{version}\n");
    key.verify(message.as_bytes(), &sig)
        .map_err(|_| V2Refusal::Unauthorized("signature verification failed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_that_is_not_pem_keeps_the_parse_error_as_its_cause() {
        let err = parse_public_key("not a key").err().unwrap();
        assert_eq!(err.to_string(), "invalid walmart_public_key_pem");
        let cause = std::error::Error::source(&err).unwrap();
        assert!(cause.is::<rsa::pkcs1::Error>(), "{cause:?}");
    }
}
