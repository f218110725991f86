//! Reading a table as any Delta reader does: the live files of one of its versions. Readers
//! inside pricelake take the files and read them with their own engine (DataFusion, or a
//! Ballista cluster, which cannot ship delta-rs's scans to its executors yet: delta-rs issue
//! 4171), and `pricelake tables` shows what each table holds.

use deltalake_core::DeltaTable;
use futures::StreamExt;
use pricelake_lake::Lake;

use crate::location::{load, LatestTables};
use crate::{TableError, Version};

/// A table's live files at one version.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFiles {
    /// The version read.
    pub version: Version,
    /// Its live data files, lake-relative, by file name then path: a mart's rows in its
    /// order (`part-<day>.parquet` files in day order, whatever run wrote each).
    pub files: Vec<String>,
    /// Its rows, from the files' statistics (`None` when a file has none).
    pub rows: Option<u64>,
    /// Its bytes.
    pub bytes: u64,
}

/// `table`'s live files at `version` (the latest when `None`); `None` when the lake has no
/// such Delta table.
pub async fn live_files(
    lake: &Lake,
    table: &str,
    version: Option<Version>,
) -> Result<Option<TableFiles>, TableError> {
    match load(lake, table, version).await? {
        Some(delta) => files_of(&delta, table).map(Some),
        None => Ok(None),
    }
}

/// `table`'s live files at its latest version, read through `latest` (once per run: the
/// run's commit to the table reuses what was read).
pub async fn latest_live_files(
    lake: &Lake,
    latest: &LatestTables,
    table: &str,
) -> Result<Option<TableFiles>, TableError> {
    match latest.get(lake, table).await? {
        Some(delta) => files_of(&delta, table).map(Some),
        None => Ok(None),
    }
}

/// The live files of the version `delta` holds.
fn files_of(delta: &DeltaTable, table: &str) -> Result<TableFiles, TableError> {
    let snapshot = delta.snapshot().map_err(TableError::delta(table))?;
    let folder = table.trim_end_matches('/');
    let (mut files, mut rows, mut bytes) = (Vec::new(), Some(0u64), 0u64);
    for file in snapshot.log_data().iter() {
        files.push(format!("{folder}/{}", file.path()));
        bytes += file.size().max(0) as u64;
        rows = match (rows, file.num_records()) {
            (Some(total), Some(n)) => Some(total + n as u64),
            _ => None,
        };
    }
    files.sort_by(|a: &String, b: &String| {
        let name = |p: &String| p.rsplit('/').next().unwrap_or_default().to_string();
        name(a).cmp(&name(b)).then_with(|| a.cmp(b))
    });
    Ok(TableFiles {
        version: snapshot.version(),
        files,
        rows,
        bytes,
    })
}

/// One table as `pricelake tables` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSummary {
    /// The table's folder, lake-relative.
    pub table: String,
    /// Its latest version and what it holds.
    pub latest: TableFiles,
    /// When its latest version was committed (ms since the epoch), when known.
    pub committed_at_ms: Option<i64>,
    /// The process run that committed it (`pricelake.run`), when a run did.
    pub run_id: Option<String>,
    /// What the commit was (`WRITE`, `CREATE TABLE`, `VACUUM END`...).
    pub operation: Option<String>,
}

/// What `table` holds at its latest version, and its last commit; `None` when it is not a
/// Delta table.
pub async fn describe(lake: &Lake, table: &str) -> Result<Option<TableSummary>, TableError> {
    let Some(delta) = load(lake, table, None).await? else {
        return Ok(None);
    };
    let latest = files_of(&delta, table)?;
    let mut history = delta.history(Some(1));
    let last = match history.next().await {
        Some(commit) => Some(commit.map_err(TableError::delta(table))?),
        None => None,
    };
    Ok(Some(TableSummary {
        table: table.to_string(),
        latest,
        committed_at_ms: last.as_ref().and_then(|c| c.timestamp),
        run_id: last
            .as_ref()
            .and_then(|c| c.info.get("pricelake.run"))
            .and_then(|v| v.as_str())
            .map(str::to_string),
        operation: last.and_then(|c| c.operation),
    }))
}
