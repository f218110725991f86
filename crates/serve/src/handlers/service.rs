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

/// ApexCharts, the dashboard's charting library, as the `apexcharts` crate embeds it (its
/// `ssr` feature exists to serve the library from a Rust server): served from this origin so
/// the page loads nothing from another host (and works offline), and taken from a registry
/// package rather than copied into this repository. About 0.6 MB, so a browser that has never
/// seen the page compiles it in a fraction of the time the 4.6 MB of Plotly.js took.
struct Script {
    text: &'static str,
    etag: String,
    gzipped: Vec<u8>,
}

/// The ES module of ApexCharts among the crate's assets.
pub(crate) fn apexcharts_source(assets: &[(&str, &'static str)]) -> Option<&'static str> {
    assets
        .iter()
        .find(|(path, _)| path.ends_with("apexcharts.esm.js"))
        .map(|(_, text)| *text)
        .filter(|text| text.contains("ApexCharts"))
}

/// Compresses the chart library on a thread of its own, so the first page load does not wait
/// for it (called when the router is built).
pub(crate) fn prepare_assets() {
    std::thread::spawn(|| {
        chart_script();
    });
}

fn chart_script() -> Option<&'static Script> {
    static SCRIPT: OnceLock<Option<Script>> = OnceLock::new();
    SCRIPT
        .get_or_init(|| {
            let text = apexcharts_source(&apexcharts::prelude::apexcharts_js_assets())?;
            // Compressed once: 0.6 MB of script becomes about 0.15 MB.
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

/// `/assets/apexcharts.esm.js`: revalidated on each page load (an `ETag`, 304 while the
/// binary is the same), gzipped when the browser takes it.
pub(crate) async fn chart_js(headers: HeaderMap) -> Response {
    let Some(script) = chart_script() else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the apexcharts crate carries no ApexCharts module",
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
        (out, script.text).into_response()
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
    fn apexcharts_is_taken_from_the_crate() {
        let assets = apexcharts::prelude::apexcharts_js_assets();
        let js = apexcharts_source(&assets).expect("the apexcharts crate embeds ApexCharts");
        assert!(js.len() > 300_000, "the whole library: {} bytes", js.len());
        assert!(
            js.contains("ApexCharts v4"),
            "the version the dashboard is written for"
        );
        assert!(
            js.contains("export{"),
            "an ES module, as the page imports it"
        );
        assert_eq!(apexcharts_source(&[("/other.js", "var x;")]), None);
    }

    #[tokio::test]
    async fn the_chart_library_is_gzipped_when_asked_and_not_sent_again_when_unchanged() {
        let mut asks = HeaderMap::new();
        asks.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let first = chart_js(asks.clone()).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(first.headers()[header::CONTENT_ENCODING], "gzip");
        let tag = first.headers()[header::ETAG].clone();
        asks.insert(header::IF_NONE_MATCH, tag);
        assert_eq!(chart_js(asks).await.status(), StatusCode::NOT_MODIFIED);
        let plain = chart_js(HeaderMap::new()).await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(
            plain.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
    }
}
