//! What can go wrong while processing: one error type for every stage, and [`q`], which
//! names a failed query after its mart or table.

/// What can go wrong while processing.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// The lake failed.
    #[error(transparent)]
    Lake(#[from] pricelake_lake::LakeError),
    /// A query failed.
    #[error("query {mart}")]
    Query {
        /// Which mart or table.
        mart: String,
        /// DataFusion's error.
        source: datafusion::error::DataFusionError,
    },
    /// Parquet could not be written.
    #[error("parquet: {0}")]
    Parquet(String),
    /// The engine could not be reached or cannot run on this lake.
    #[error("engine {0}")]
    EngineUnavailable(String),
    /// The mart registry names a SQL file this build does not hold.
    #[error("no SQL file sql/{0} in this build")]
    MissingSql(String),
}

/// Names a DataFusion failure after the mart or table (`mart`) whose query failed.
pub(crate) fn q(mart: &str) -> impl Fn(datafusion::error::DataFusionError) -> TransformError + '_ {
    move |source| TransformError::Query {
        mart: mart.to_string(),
        source,
    }
}
