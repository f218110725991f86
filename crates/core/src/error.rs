//! Errors shown with their causes.
//!
//! An error's own message says what was being done ("writing raw/...") and keeps its cause
//! as its `source()`, never in its text, so the cause is printed once. Whatever prints an
//! error for a person prints the whole chain: `anyhow`'s `{:#}` in the binary, and
//! [`ErrorChain`] in the libraries' logs.

use std::fmt;

/// Displays an error followed by each of its causes, `outer: cause: root cause`, as
/// `anyhow`'s `{:#}` does: `tracing::warn!(error = %ErrorChain(&e), ...)`.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("writing {0}")]
    struct Outer(&'static str, #[source] std::io::Error);

    #[test]
    fn an_error_is_shown_with_each_cause_once() {
        let e = Outer("a/b.json", std::io::Error::other("disk full"));
        assert_eq!(ErrorChain(&e).to_string(), "writing a/b.json: disk full");
        let alone = std::io::Error::other("disk full");
        assert_eq!(ErrorChain(&alone).to_string(), "disk full");
    }
}
