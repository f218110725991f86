//! Secrets that cannot leak through `Debug`, `Display` or serialization, and URL redaction.

use std::fmt;

/// A secret value (API key, database URI, key path). Printing it shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret read from the environment.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it (a request, a driver).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Query parameters whose values are secrets in the APIs pricelake talks to.
pub const SECRET_QUERY_PARAMS: &[&str] = &["apiKey", "apikey", "access_key", "api_key", "token"];

/// Removes the values of secret query parameters from a URL, so it can be logged and
/// stored beside the response it fetched.
///
/// Works on plain strings so that even an unparsable URL is redacted.
pub fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            if SECRET_QUERY_PARAMS
                .iter()
                .any(|secret| secret.eq_ignore_ascii_case(name))
            {
                format!("{name}=REDACTED")
            } else {
                pair.to_string()
            }
        })
        .collect();
    let mut out = format!("{base}?{}", redacted.join("&"));
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret}"), "***");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn redacts_every_secret_parameter_and_keeps_the_rest() {
        let url = "http://x/api/live?access_key=abc123&currencies=EUR&apiKey=k2";
        let redacted = redact_url(url);
        assert!(!redacted.contains("abc123"));
        assert!(!redacted.contains("k2"));
        assert!(redacted.contains("currencies=EUR"));
        assert_eq!(redact_url("http://x/v1/vod"), "http://x/v1/vod");
    }
}
