//! The service's own routes: the dashboard page, readiness, health, metrics, status and
//! this API's OpenAPI document.

use std::io::Write;
use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::{health, http_cache, openapi, ServeState};

pub(crate) async fn dashboard() -> Html<&'static str> {
    Html(include_str!("../../assets/dashboard.html"))
}

/// Plotly.js, the dashboard's charting library, as the `plotly` crate embeds it: served from
/// this origin so the page loads nothing from another host (and works offline), and taken
/// from a registry package rather than copied into this repository.
struct Script {
    text: String,
    etag: String,
    gzipped: Vec<u8>,
}

/// The text of the first `<script>` of the crate's offline HTML head: Plotly.js itself (the
/// second is MathJax, which the dashboard does not use).
pub(crate) fn plotly_source(head: &str) -> Option<&str> {
    let open = "<script type=\"text/javascript\">";
    let start = head.find(open)? + open.len();
    let len = head[start..].find("</script>")?;
    Some(&head[start..start + len]).filter(|s| s.contains("plotly.js"))
}

/// Takes Plotly.js out of the crate and compresses it on a thread of its own, so the first
/// page load does not wait for it (called when the router is built).
pub(crate) fn prepare_assets() {
    std::thread::spawn(|| {
        plotly_script();
    });
}

fn plotly_script() -> Option<&'static Script> {
    static SCRIPT: OnceLock<Option<Script>> = OnceLock::new();
    SCRIPT
        .get_or_init(|| {
            let head = plotly::Plot::offline_js_sources();
            let text = plotly_source(&head)?.to_string();
            // Compressed once: 4.6 MB of script becomes about 1.4 MB.
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(text.as_bytes()).ok()?;
            let gzipped = gz.finish().ok()?;
            let etag = http_cache::etag_of(text.as_bytes());
            Some(Script {
                text,
                etag,
                gzipped,
            })
        })
        .as_ref()
}

/// `/assets/plotly.min.js`: revalidated on each page load (an `ETag`, 304 while the binary is
/// the same), gzipped when the browser takes it.
pub(crate) async fn plotly_js(headers: HeaderMap) -> Response {
    let Some(script) = plotly_script() else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the plotly crate carries no Plotly.js",
        )
            .into_response();
    };
    let mut out = HeaderMap::new();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(tag) = HeaderValue::from_str(&script.etag) {
        out.insert(header::ETAG, tag);
    }
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == script.etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(http_cache::accepts_gzip);
    if gzip {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        (out, script.gzipped.clone()).into_response()
    } else {
        (out, script.text.clone()).into_response()
    }
}

pub(crate) async fn readyz(State(state): State<ServeState>) -> Response {
    let store = state.store();
    match store.run_id() {
        Some(run) => Json(json!({"ready": true, "run_id": run})).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "reason": "no process run has committed yet"})),
        )
            .into_response(),
    }
}

pub(crate) async fn metrics(State(state): State<ServeState>) -> Response {
    let mut text = state.metrics.render_prometheus();
    let store = state.store();
    text.push_str("# TYPE pricelake_mart_rows gauge\n");
    for (mart, n) in store.counts() {
        text.push_str(&format!("pricelake_mart_rows{{mart=\"{mart}\"}} {n}\n"));
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response()
}

pub(crate) async fn openapi(State(state): State<ServeState>) -> Json<Value> {
    Json(openapi::document(&state.store(), state.token.is_some()))
}

/// The checks of `/health`, from the lake's status documents and the loaded run.
async fn pipeline_checks(state: &ServeState) -> (Option<Value>, Vec<health::Check>) {
    let ingest: Option<Value> = state
        .lake
        .get_json(&pricelake_core::layout::state("ingest_status"))
        .await
        .ok()
        .flatten();
    let committed = state
        .store()
        .finished_at()
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
    let checks = health::checks(
        chrono::Utc::now(),
        ingest.as_ref(),
        committed,
        state.config.stale_after_secs,
    );
    (ingest, checks)
}

pub(crate) async fn health(State(state): State<ServeState>) -> Response {
    let (_, checks) = pipeline_checks(&state).await;
    let degraded = checks.iter().any(|c| !c.ok);
    let code = if degraded {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let status = if degraded { "degraded" } else { "ok" };
    (code, Json(json!({"status": status, "checks": checks}))).into_response()
}

pub(crate) async fn status(State(state): State<ServeState>) -> Response {
    let store = state.store();
    let (ingest, checks) = pipeline_checks(&state).await;
    let audit: Option<Value> = state
        .lake
        .get_json(&pricelake_core::layout::state("audit"))
        .await
        .ok()
        .flatten();
    Json(json!({
        "run_id": store.run_id(),
        "finished_at": store.finished_at(),
        "rows": store.counts(),
        "ingest": ingest,
        "health": {"degraded": checks.iter().any(|c| !c.ok), "checks": checks},
        "audit": audit,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plotly_js_is_taken_from_the_crate_without_mathjax() {
        let head = plotly::Plot::offline_js_sources();
        let js = plotly_source(&head).expect("the plotly crate embeds Plotly.js");
        assert!(
            js.len() > 1_000_000,
            "the whole library: {} bytes",
            js.len()
        );
        assert!(js.contains("plotly.js v3"));
        assert!(head.len() - js.len() > 1_000_000, "MathJax is left out");
        assert_eq!(plotly_source("<p>no script</p>"), None);
    }

    #[tokio::test]
    async fn plotly_js_is_gzipped_when_asked_and_not_sent_again_when_unchanged() {
        let mut asks = HeaderMap::new();
        asks.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let first = plotly_js(asks.clone()).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(first.headers()[header::CONTENT_ENCODING], "gzip");
        let tag = first.headers()[header::ETAG].clone();
        asks.insert(header::IF_NONE_MATCH, tag);
        assert_eq!(plotly_js(asks).await.status(), StatusCode::NOT_MODIFIED);
        let plain = plotly_js(HeaderMap::new()).await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(
            plain.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
    }
}
