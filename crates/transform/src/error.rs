//! What can go wrong while processing: one error type for every stage, and [`q`], which
//! names a failed query after its mart or table.

/// What can go wrong while processing.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// The lake failed.
    #[error(transparent)]
    Lake(#[from] pricelake_lake::LakeError),
    /// The lake was last processed by a pricelake whose tables were not Delta tables: a
    /// full refresh rewrites them from the raw zone, which is the truth.
    #[error(
        "the lake's last run ({run_id}) was made by an earlier pricelake, before its tables were \
         Delta tables: run `pricelake process --full-refresh` once to rewrite them from the raw zone"
    )]
    EarlierLayout {
        /// That run.
        run_id: String,
    },
    /// Another process run held the lake for longer than this one would wait.
    #[error(
        "another process run holds the lake ({holder}); waited {waited_secs} s. If that process \
         is gone, its lease is taken over once it has not been renewed for 90 s"
    )]
    Busy {
        /// Who holds it.
        holder: String,
        /// How long this run waited.
        waited_secs: u64,
    },
    /// A Delta table could not be read or committed.
    #[error(transparent)]
    Table(#[from] pricelake_tables::TableError),
    /// A query failed.
    #[error("query {mart}")]
    Query {
        /// Which mart or table.
        mart: String,
        /// DataFusion's error.
        source: datafusion::error::DataFusionError,
    },
    /// A table could not be written as Parquet.
    #[error("writing {table} as Parquet")]
    Parquet {
        /// Which mart or table.
        table: String,
        /// The Parquet writer's error.
        source: datafusion::parquet::errors::ParquetError,
    },
    /// A table the engine returned could not be cut into the lake's parts.
    #[error("{table}")]
    Arrow {
        /// Which table.
        table: String,
        /// Arrow's error.
        source: datafusion::arrow::error::ArrowError,
    },
    /// A table is not the shape the code expects: one the engine returned lacks a column
    /// its SQL file promises, or has it in another type (a SQL file out of step with the
    /// code), or a clean table's live file is outside a `date=` folder (a table written by
    /// something else than pricelake).
    #[error("{table}: {problem}")]
    Shape {
        /// Which table.
        table: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The lake's address is not a URL DataFusion can register.
    #[error("the lake's address {url} is not a URL")]
    LakeUrl {
        /// The address.
        url: String,
        /// Why it does not parse.
        source: url::ParseError,
    },
    /// The engine could not be reached or cannot run on this lake.
    #[error("engine {engine}: {problem}")]
    EngineUnavailable {
        /// The engine, as configured (`local`, `ballista://host:port`).
        engine: String,
        /// What is wrong, and what to do about it.
        problem: String,
        /// The underlying failure, when there is one.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
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
