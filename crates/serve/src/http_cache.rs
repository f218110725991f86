//! Conditional requests, compression and a cache of answers for every successful GET: an
//! `ETag` from the body's content (so `If-None-Match` answers 304 with no body until a new
//! run changes the answer), `Cache-Control: no-cache` (revalidate each time, cheaply), gzip
//! when the client asks for it and the body is worth compressing, and, when the marts come
//! from the lake, the finished answer kept per URI until the next run replaces the marts.
//!
//! A lake-backed run is immutable: the same URI gives the same bytes until `refresh` swaps
//! the store, so an answer computed once is served again as a map lookup. The cache is
//! emptied on every swap, and an answer computed against the old store is never stored
//! after it (a generation number guards the race).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// Bodies smaller than this are sent as they are: gzip would not pay for its header.
const GZIP_MIN_BYTES: usize = 1024;
/// Bodies larger than this are passed through untouched (none of ours are).
const MAX_BUFFERED_BYTES: usize = 64 * 1024 * 1024;

/// Finished answers of the current run, by URI (path and query).
pub struct ResponseCache {
    /// Bumped on every store swap; an answer is stored only under the generation it began in.
    generation: AtomicU64,
    /// Bytes of bodies and keys kept at most; 0 turns the cache off.
    budget_bytes: usize,
    entries: RwLock<Entries>,
}

#[derive(Default)]
struct Entries {
    by_uri: HashMap<String, Arc<Cached>>,
    bytes: usize,
}

/// One finished answer: its headers (content type, ETag), its body, and the body gzipped
/// the first time a client asks for it.
struct Cached {
    headers: HeaderMap,
    etag: String,
    body: Bytes,
    gzipped: OnceLock<Option<Bytes>>,
}

impl ResponseCache {
    /// A cache holding at most `budget_bytes` of answers (0: keep nothing).
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            generation: AtomicU64::new(0),
            budget_bytes,
            entries: RwLock::new(Entries::default()),
        }
    }

    /// Forgets every answer; called once the store has been swapped for a newer run.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let mut entries = self.entries.write().expect("cache lock poisoned");
        *entries = Entries::default();
    }

    fn get(&self, uri: &str) -> Option<Arc<Cached>> {
        if self.budget_bytes == 0 {
            return None;
        }
        self.entries
            .read()
            .expect("cache lock poisoned")
            .by_uri
            .get(uri)
            .cloned()
    }

    /// Keeps `answer` unless the store changed since `generation` was read or it does not
    /// fit; when the budget is full the whole cache starts again (answers are cheap to
    /// recompute, and a run's working set is small).
    fn put(&self, generation: u64, uri: String, answer: Arc<Cached>) {
        let size = uri.len() + answer.body.len();
        if self.budget_bytes == 0 || size > self.budget_bytes {
            return;
        }
        let mut entries = self.entries.write().expect("cache lock poisoned");
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        let replaced = entries
            .by_uri
            .get(&uri)
            .map_or(0, |old| uri.len() + old.body.len());
        if entries.bytes - replaced + size > self.budget_bytes {
            *entries = Entries::default();
        } else {
            entries.bytes -= replaced;
        }
        entries.by_uri.insert(uri, answer);
        entries.bytes += size;
    }
}

/// Only the marts' routes are kept: status, health and metrics change between runs.
fn cacheable(path: &str) -> bool {
    path.starts_with("/api/v1/") && path != "/api/v1/status"
}

/// The middleware.
pub async fn conditional_and_compressed(
    State(cache): State<Option<Arc<ResponseCache>>>,
    request: Request,
    next: Next,
) -> Response {
    // The static assets answer conditionally and compressed by themselves, from bytes made once.
    if request.method() != Method::GET || request.uri().path().starts_with("/assets/") {
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
    let cache = cache.filter(|_| cacheable(request.uri().path()));
    let uri = request.uri().to_string();
    if let Some(hit) = cache.as_ref().and_then(|c| c.get(&uri)) {
        return answer(&hit, if_none_match.as_deref(), wants_gzip);
    }
    let generation = cache.as_ref().map(|c| c.generation.load(Ordering::SeqCst));
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BUFFERED_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let finished = Arc::new(Cached {
        headers: parts.headers,
        etag: etag_of(&bytes),
        body: bytes,
        gzipped: OnceLock::new(),
    });
    if let (Some(cache), Some(generation)) = (&cache, generation) {
        cache.put(generation, uri, finished.clone());
    }
    answer(&finished, if_none_match.as_deref(), wants_gzip)
}

/// The HTTP answer for a finished body: 304 when the client's tag matches, else the body,
/// gzipped when asked and worth it.
fn answer(cached: &Cached, if_none_match: Option<&str>, wants_gzip: bool) -> Response {
    let mut headers = cached.headers.clone();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(value) = HeaderValue::from_str(&cached.etag) {
        headers.insert(header::ETAG, value);
    }
    let matches = if_none_match.is_some_and(|v| {
        v.split(',')
            .any(|tag| tag.trim() == cached.etag || tag.trim() == "*")
    });
    let (status, body) = if matches {
        headers.remove(header::CONTENT_TYPE);
        (StatusCode::NOT_MODIFIED, Body::empty())
    } else if let Some(gzipped) = wants_gzip.then(|| cached.gzipped()).flatten() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        (StatusCode::OK, Body::from(gzipped))
    } else {
        (StatusCode::OK, Body::from(cached.body.clone()))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

impl Cached {
    /// The body gzipped, computed once; `None` when too small to be worth it.
    fn gzipped(&self) -> Option<Bytes> {
        self.gzipped
            .get_or_init(|| {
                if self.body.len() < GZIP_MIN_BYTES {
                    return None;
                }
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.body.len() / 4),
                    flate2::Compression::fast(),
                );
                encoder.write_all(&self.body).ok()?;
                encoder.finish().ok().map(Bytes::from)
            })
            .clone()
    }
}

/// True when `Accept-Encoding` allows gzip (a `q=0` refuses it).
pub(crate) fn accepts_gzip(header: &str) -> bool {
    header.split(',').any(|part| {
        let mut fields = part.split(';').map(str::trim);
        let coding = fields.next().unwrap_or_default();
        let refused = fields.any(|f| f.replace(' ', "") == "q=0" || f.replace(' ', "") == "q=0.0");
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

/// A strong validator from the content: same bytes, same tag.
pub(crate) fn etag_of(bytes: &[u8]) -> String {
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

    fn finished(body: &'static str) -> Arc<Cached> {
        Arc::new(Cached {
            headers: HeaderMap::new(),
            etag: etag_of(body.as_bytes()),
            body: Bytes::from_static(body.as_bytes()),
            gzipped: OnceLock::new(),
        })
    }

    #[test]
    fn an_answer_begun_before_a_swap_is_not_kept_after_it() {
        let cache = ResponseCache::new(1024);
        let before = cache.generation.load(Ordering::SeqCst);
        cache.put(before, "/api/v1/fx?quote=EUR".into(), finished("old"));
        assert_eq!(cache.get("/api/v1/fx?quote=EUR").unwrap().body, "old");
        let slow = cache.generation.load(Ordering::SeqCst);
        cache.invalidate();
        assert!(cache.entries.read().unwrap().by_uri.is_empty());
        cache.put(slow, "/api/v1/fx?quote=EUR".into(), finished("old"));
        assert!(cache.get("/api/v1/fx?quote=EUR").is_none());
        let now = cache.generation.load(Ordering::SeqCst);
        cache.put(now, "/api/v1/fx?quote=EUR".into(), finished("new"));
        assert_eq!(cache.get("/api/v1/fx?quote=EUR").unwrap().body, "new");
    }

    #[test]
    fn the_budget_bounds_what_is_kept_and_zero_keeps_nothing() {
        let cache = ResponseCache::new(40);
        cache.put(0, "/a".into(), finished("0123456789"));
        cache.put(0, "/b".into(), finished("0123456789"));
        cache.put(0, "/c".into(), finished("0123456789"));
        assert_eq!(cache.entries.read().unwrap().bytes, 36);
        cache.put(0, "/c".into(), finished("01234"));
        assert_eq!(
            cache.entries.read().unwrap().bytes,
            31,
            "a replaced answer is not counted twice"
        );
        cache.put(0, "/d".into(), finished("0123456789"));
        assert!(cache.entries.read().unwrap().bytes <= 40);
        assert!(cache.get("/d").is_some(), "the newest answer is kept");
        assert!(cache.get("/a").is_none(), "a full cache starts again");
        cache.put(
            0,
            "/huge".into(),
            finished("0123456789012345678901234567890123456789"),
        );
        assert!(
            cache.get("/huge").is_none(),
            "an answer over the budget is not kept"
        );
        let off = ResponseCache::new(0);
        off.put(0, "/a".into(), finished("x"));
        assert!(off.get("/a").is_none());
    }

    #[test]
    fn only_mart_routes_are_cacheable() {
        assert!(cacheable("/api/v1/items"));
        assert!(cacheable("/api/v1/charts/vod"));
        assert!(!cacheable("/api/v1/status"));
        assert!(!cacheable("/health"));
        assert!(!cacheable("/metrics"));
    }
}
