//! The Walmart Affiliate API v2's signed headers.
//!
//! Every v2 request carries `WM_CONSUMER.ID`, `WM_CONSUMER.INTIMESTAMP` (epoch
//! milliseconds), `WM_SEC.KEY_VERSION` and `WM_SEC.AUTH_SIGNATURE`: base64 of an RSA
//! PKCS#1 v1.5 SHA-256 signature of `consumerId\ntimestamp\nkeyVersion\n`. A signature is
//! only accepted for a few minutes, so headers are made afresh for every attempt.

use base64::Engine;
use chrono::{DateTime, Utc};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use sha2::Sha256;

use crate::SourceError;

/// Makes the four v2 headers; holds the private key, which it never prints.
#[derive(Clone)]
pub struct WalmartSigner {
    consumer_id: String,
    key_version: String,
    key: SigningKey<Sha256>,
}

impl std::fmt::Debug for WalmartSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalmartSigner")
            .field("consumer_id", &self.consumer_id)
            .field("key_version", &self.key_version)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl WalmartSigner {
    /// A signer from the private key's PEM text (`PRIVATE KEY` or `RSA PRIVATE KEY`).
    pub fn from_pem(consumer_id: &str, key_version: &str, pem: &str) -> Result<Self, SourceError> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem.trim())
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem.trim()))
            .map_err(SourceError::PrivateKey)?;
        Ok(Self {
            consumer_id: consumer_id.to_string(),
            key_version: key_version.to_string(),
            key: SigningKey::<Sha256>::new(key),
        })
    }

    /// The headers of a request sent at `now`.
    pub fn headers(&self, now: DateTime<Utc>) -> Vec<(&'static str, String)> {
        let timestamp = now.timestamp_millis().to_string();
        let message = format!(
            "{}\n{}\n{}\n",
            self.consumer_id, timestamp, self.key_version
        );
        let signature = self.key.sign(message.as_bytes());
        vec![
            ("WM_CONSUMER.ID", self.consumer_id.clone()),
            ("WM_CONSUMER.INTIMESTAMP", timestamp),
            ("WM_SEC.KEY_VERSION", self.key_version.clone()),
            (
                "WM_SEC.AUTH_SIGNATURE",
                base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    use rsa::signature::Verifier;

    #[test]
    fn headers_carry_a_signature_that_verifies_over_the_documented_string() {
        let mut rng = rand_core_rng();
        let private = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let pem = private.to_pkcs8_pem(LineEnding::LF).unwrap();
        let signer = WalmartSigner::from_pem("consumer-1", "2", &pem).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let headers = signer.headers(now);
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("WM_CONSUMER.ID"), "consumer-1");
        assert_eq!(get("WM_CONSUMER.INTIMESTAMP"), "1767225600000");
        assert_eq!(get("WM_SEC.KEY_VERSION"), "2");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(get("WM_SEC.AUTH_SIGNATURE"))
            .unwrap();
        let verifier = VerifyingKey::<Sha256>::new(private.to_public_key());
        let signature = Signature::try_from(raw.as_slice()).unwrap();
        verifier
            .verify(b"consumer-1\n1767225600000\n2\n", &signature)
            .expect("signature over consumerId\\ntimestamp\\nkeyVersion\\n");
        assert!(verifier.verify(b"consumer-1\n1\n2\n", &signature).is_err());
        assert!(!format!("{signer:?}").contains("PRIVATE"));
        assert!(WalmartSigner::from_pem("c", "1", "not a key").is_err());
    }

    fn rand_core_rng() -> impl rsa::rand_core::CryptoRngCore {
        rsa::rand_core::OsRng
    }
}
