//! The service's own routes: the dashboard page, readiness, health, metrics, status and
//! this API's OpenAPI document.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::{health, openapi, ServeState};

pub(crate) async fn dashboard() -> Html<&'static str> {
    Html(include_str!("../../assets/dashboard.html"))
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
