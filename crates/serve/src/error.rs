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
    /// A Delta table of the lake could not be read.
    #[error(transparent)]
    Table(#[from] pricelake_tables::TableError),
    /// A mart file could not be read.
    #[error("mart file {path}")]
    Mart {
        /// The file, in the lake.
        path: String,
        /// Why.
        source: MartFileError,
    },
    /// The server failed.
    #[error("serving HTTP")]
    Io(#[from] std::io::Error),
    /// The lake's current run was made by a pricelake from before Delta tables: its marts
    /// are not where this one reads them.
    #[error(
        "the lake's last run ({run_id}) was made by an earlier pricelake, before its tables were \
         Delta tables: run `pricelake process --full-refresh` once to rewrite them"
    )]
    EarlierLayout {
        /// That run.
        run_id: String,
    },
    /// An earlier run was asked of an origin that keeps only the current one (MongoDB holds
    /// the last run published).
    #[error("the marts are served from MongoDB, which holds the last published run only")]
    NoHistory,
    /// MongoDB, serving the published marts, failed.
    #[error("MongoDB")]
    Mongo(#[from] mongodb::error::Error),
}

/// Why one mart file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MartFileError {
    /// A file the table's version names is not in the lake: removed by `pricelake vacuum`
    /// (a version older than the retention), or by hand.
    #[error(
        "the file is gone: the table's version names it, but it is not in the lake (`pricelake vacuum` \
         removes the files of versions older than [lake] retention_hours)"
    )]
    Missing,
    /// The file is not Parquet, or is damaged.
    #[error("reading Parquet")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// A batch of rows could not be decoded.
    #[error("decoding rows")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// A value could not be taken out of its column.
    #[error("reading a value")]
    Value(#[from] datafusion::error::DataFusionError),
    /// The file's columns are not the registry's: a lake written by another version of
    /// pricelake, or a SQL file out of step with the registry.
    #[error(
        "{mart} has the columns {found:?}, but the mart registry declares {declared:?} \
         (a lake written by another version of pricelake, or a SQL file out of step with \
         the registry: run `pricelake process --full-refresh`)"
    )]
    Columns {
        /// The mart.
        mart: String,
        /// The columns the file has, in order.
        found: Vec<String>,
        /// The columns the registry declares, in order.
        declared: Vec<String>,
    },
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
