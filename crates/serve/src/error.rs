//! What can go wrong: [`ServeError`] while loading and serving the marts, and
//! [`ApiError`], the one answer every handler gives for a request it cannot serve (a JSON
//! body naming the parameter at fault), so handlers return `Result` and use `?`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// What can go wrong while serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The lake failed.
    #[error(transparent)]
    Lake(#[from] pricelake_lake::LakeError),
    /// A mart file could not be read.
    #[error("mart: {0}")]
    Mart(String),
    /// The server failed.
    #[error("serving HTTP")]
    Io(#[from] std::io::Error),
    /// MongoDB, serving the published marts, failed.
    #[error("MongoDB: {0}")]
    Mongo(String),
}

impl From<mongodb::error::Error> for ServeError {
    fn from(e: mongodb::error::Error) -> Self {
        ServeError::Mongo(e.to_string())
    }
}

/// A request the API cannot answer: its status and the JSON body
/// `{"error": {"param": ..., "message": ...}}` (`/openapi.json` documents it as `Error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The parameter at fault (or `store`, `authorization`).
    pub param: String,
    /// What was wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// A parameter the API cannot take (400).
    pub fn bad_request(param: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, param, message)
    }

    /// Nothing at that address (404).
    pub fn not_found(param: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, param, message)
    }

    /// No bearer token, or the wrong one (401).
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authorization",
            "a bearer token is required",
        )
    }

    fn new(status: StatusCode, param: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            param: param.to_string(),
            message: message.into(),
        }
    }
}

/// The store behind the API failed (MongoDB unreachable): 503, so clients retry; the cause is
/// logged, not sent.
impl From<ServeError> for ApiError {
    fn from(e: ServeError) -> Self {
        tracing::warn!(error = %pricelake_core::ErrorChain(&e), "a request could not be answered from the store");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store",
            "the mart store is unavailable; try again",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": {"param": self.param, "message": self.message}})),
        )
            .into_response()
    }
}
