//! The lake's tables as Delta Lake tables: what makes the lake readable by engines nobody
//! here wrote (Spark, DuckDB, pandas, polars, Trino) at its current version or an earlier one.
//!
//! pricelake writes each table's Parquet files itself (transform's writers), then records
//! them here in the table's `_delta_log/`: one commit per table a run changed, carrying the
//! run as an application transaction, so that a run that is replayed or finished again after
//! a crash never commits twice. Readers inside pricelake (serve, publish, audit, the next
//! run) read a table as the live files of one of its versions, as any Delta reader does.
//!
//! This file is the table of contents:
//! - [`location`]: where a table is and how it is opened, over the lake's own object store;
//! - [`commit`]: one run's change to one table ([`TableChange`]), committed once, and a
//!   compaction ([`compact`]);
//! - [`stats`]: the per-file statistics Delta readers skip files with, from Parquet footers;
//! - [`read`]: a table's live files at a version, and what `pricelake tables` shows;
//! - [`maintain`]: vacuum (the files no version within the retention needs).

#![warn(missing_docs)]

pub mod commit;
mod error;
pub mod location;
pub mod maintain;
pub mod read;
mod stats;

pub use commit::{commit, commit_to_latest, compact, Committed, Removal, RunKey, TableChange};
pub use error::TableError;
pub use location::LatestTables;
pub use maintain::{vacuum, Vacuumed};
pub use read::{describe, latest_live_files, live_files, TableFiles, TableSummary};

/// The Delta version of a table: 0 is its creation, each commit adds one.
pub type Version = u64;

#[cfg(test)]
mod tests;
