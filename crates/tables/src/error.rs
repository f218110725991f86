//! What can go wrong with a Delta table, naming the table and keeping the cause.

use deltalake_core::DeltaTableError;
use pricelake_lake::LakeError;

/// What can go wrong reading, committing or maintaining a table.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// delta-rs failed on the table (its log could not be read or written, a commit
    /// conflicted beyond its retries).
    #[error("delta table {table}")]
    Delta {
        /// The table, lake-relative (`marts/prices_fx`).
        table: String,
        /// delta-rs's error (boxed: it is large, and errors travel by value).
        #[source]
        source: Box<DeltaTableError>,
    },
    /// The lake's store failed (reading a file's footer or size).
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// A data file's Parquet footer could not be read for its statistics.
    #[error("reading the Parquet footer of {path}")]
    Footer {
        /// The file, lake-relative.
        path: String,
        /// The Parquet reader's error.
        #[source]
        source: datafusion::parquet::errors::ParquetError,
    },
    /// The table's URL could not be formed from the lake's.
    #[error("table url {url:?}")]
    Url {
        /// The URL as formed.
        url: String,
        /// The parser's error.
        #[source]
        source: url::ParseError,
    },
    /// The change cannot be committed as asked: it names the fix.
    #[error("delta table {table}: {problem}")]
    Refused {
        /// The table, lake-relative.
        table: String,
        /// What is wrong, and what to do.
        problem: String,
    },
    /// The table is not a Delta table (no `_delta_log/`): a lake written by an earlier
    /// pricelake, or one never processed.
    #[error("{table} is not a Delta table yet (no _delta_log/): run `pricelake process --full-refresh` once to make it one")]
    NotATable {
        /// The table, lake-relative.
        table: String,
    },
}

impl TableError {
    /// A delta-rs error on `table` (a missing table becomes [`TableError::NotATable`]).
    pub(crate) fn delta(table: &str) -> impl FnOnce(DeltaTableError) -> TableError + '_ {
        move |source| match source {
            DeltaTableError::NotATable(_) => TableError::NotATable {
                table: table.to_string(),
            },
            source => TableError::Delta {
                table: table.to_string(),
                source: Box::new(source),
            },
        }
    }
}
