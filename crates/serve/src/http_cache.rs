//! Conditional requests and compression for every successful GET: an `ETag` from the
//! body's content (so `If-None-Match` answers 304 with no body until a new run changes the
//! answer), `Cache-Control: no-cache` (revalidate each time, cheaply), and gzip when the
//! client asks for it and the body is worth compressing.

use std::hash::{Hash, Hasher};
use std::io::Write;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Bodies smaller than this are sent as they are: gzip would not pay for its header.
const GZIP_MIN_BYTES: usize = 1024;
/// Bodies larger than this are passed through untouched (none of ours are).
const MAX_BUFFERED_BYTES: usize = 64 * 1024 * 1024;

/// The middleware.
pub async fn conditional_and_compressed(request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let if_none_match = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let wants_gzip = request
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BUFFERED_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let etag = etag_of(&bytes);
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    parts
        .headers
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        parts.headers.insert(header::ETAG, value);
    }
    if if_none_match.is_some_and(|v| {
        v.split(',')
            .any(|tag| tag.trim() == etag || tag.trim() == "*")
    }) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::CONTENT_TYPE);
        return Response::from_parts(parts, Body::empty());
    }
    if wants_gzip && bytes.len() >= GZIP_MIN_BYTES {
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(bytes.len() / 4),
            flate2::Compression::fast(),
        );
        if encoder.write_all(&bytes).is_ok() {
            if let Ok(gzipped) = encoder.finish() {
                parts
                    .headers
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                parts.headers.remove(header::CONTENT_LENGTH);
                return Response::from_parts(parts, Body::from(gzipped));
            }
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// True when `Accept-Encoding` allows gzip (a `q=0` refuses it).
fn accepts_gzip(header: &str) -> bool {
    header.split(',').any(|part| {
        let mut fields = part.split(';').map(str::trim);
        let coding = fields.next().unwrap_or_default();
        let refused = fields.any(|f| f.replace(' ', "") == "q=0" || f.replace(' ', "") == "q=0.0");
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

/// A strong validator from the content: same bytes, same tag.
fn etag_of(bytes: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    format!("\"{:016x}-{:x}\"", hasher.finish(), bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_accepted_unless_refused() {
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("br, deflate"));
    }

    #[test]
    fn the_etag_follows_the_content() {
        assert_eq!(etag_of(b"abc"), etag_of(b"abc"));
        assert_ne!(etag_of(b"abc"), etag_of(b"abd"));
    }
}
