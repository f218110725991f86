//! Typed, tolerant models of what the Walmart and apilayer APIs send.
//!
//! Tolerant on input (unknown fields ignored, numbers that arrive as strings accepted,
//! a UTF-8 byte-order mark skipped), strict on what is kept: an item without an id or
//! with a price that is not a number is an error the caller turns into a dead letter.

pub mod currencylayer;
pub mod flex;
pub mod walmart;

/// Strips a leading UTF-8 byte-order mark, which some recorded Walmart responses carry.
pub fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(body)
}
