//! `pricelake tables`: every table of the lake as a Delta reader sees it (its latest version,
//! files, rows and last commit), and how to read it with other engines.

use serde::Serialize;

use crate::cli::TablesArgs;
use crate::config::PricelakeConfig;

/// One table as `tables` shows it; also what the end-to-end tests read.
#[derive(Debug, Clone, Serialize)]
pub struct TableRow {
    /// Its folder, lake-relative (`marts/prices_fx`).
    pub table: String,
    /// Its URL, what Spark, DuckDB, pandas and polars open.
    pub url: String,
    /// Its latest version; `None` when it is not a Delta table yet.
    pub version: Option<u64>,
    /// Its live files at that version.
    pub files: usize,
    /// Its rows (from the files' statistics).
    pub rows: Option<u64>,
    /// Its bytes.
    pub bytes: u64,
    /// When its latest version was committed (RFC 3339).
    pub committed_at: Option<String>,
    /// The process run that committed it.
    pub run_id: Option<String>,
    /// What the commit was (`WRITE`, `CREATE TABLE`, `VACUUM END`, ...).
    pub operation: Option<String>,
}

/// Reads every table's summary from the lake.
pub async fn read_tables(lake: &pricelake_lake::Lake) -> anyhow::Result<Vec<TableRow>> {
    let mut rows = Vec::new();
    for table in pricelake_transform::table_folders() {
        let url = lake.table_url(&table);
        let row = match pricelake_tables::describe(lake, &table).await? {
            Some(summary) => TableRow {
                table,
                url,
                version: Some(summary.latest.version),
                files: summary.latest.files.len(),
                rows: summary.latest.rows,
                bytes: summary.latest.bytes,
                committed_at: summary
                    .committed_at_ms
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                run_id: summary.run_id,
                operation: summary.operation,
            },
            None => TableRow {
                table,
                url,
                version: None,
                files: 0,
                rows: None,
                bytes: 0,
                committed_at: None,
                run_id: None,
                operation: None,
            },
        };
        rows.push(row);
    }
    Ok(rows)
}

pub(super) async fn run(config: PricelakeConfig, args: TablesArgs) -> anyhow::Result<()> {
    let Some(lake) = super::open_lake_to_read(&config)? else {
        anyhow::bail!(
            "there is no lake at {}: `pricelake demo` or `pricelake ingest` then `pricelake process` make one",
            config.lake.url
        );
    };
    let tables = read_tables(&lake).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&tables)?);
        return Ok(());
    }
    println!(
        "{:<36} {:>7} {:>6} {:>11} {:>10}  last commit",
        "table", "version", "files", "rows", "MB"
    );
    for t in &tables {
        let Some(version) = t.version else {
            println!("{:<36} {:>7}", t.table, "-");
            continue;
        };
        println!(
            "{:<36} {:>7} {:>6} {:>11} {:>10.1}  {} {} {}",
            t.table,
            version,
            t.files,
            t.rows.map(|r| r.to_string()).unwrap_or_else(|| "?".into()),
            t.bytes as f64 / 1e6,
            t.committed_at.as_deref().unwrap_or(""),
            t.operation.as_deref().unwrap_or(""),
            t.run_id.as_deref().unwrap_or(""),
        );
    }
    if tables.iter().all(|t| t.version.is_none()) {
        println!(
            "no Delta table yet: `pricelake process` makes them (a lake of an earlier pricelake: `pricelake process --full-refresh`)"
        );
    } else {
        println!(
            "\nEach table is a Delta Lake table: for example DuckDB `SELECT * FROM delta_scan('{}')`, \
             polars `pl.read_delta(\"{}\")` (README, \"Reading the lake\").",
            lake.table_url("marts/prices_fx").trim_end_matches('/'),
            lake.table_url("marts/prices_fx").trim_end_matches('/'),
        );
    }
    Ok(())
}
