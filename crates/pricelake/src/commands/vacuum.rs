//! `pricelake vacuum`: removes the files of the tables' versions older than the retention
//! (what runs replaced, and what a stopped run wrote but never committed), table by table,
//! with Delta Lake's own vacuum. Time travel then reaches back exactly the retention.

use serde::Serialize;

use crate::cli::VacuumArgs;
use crate::config::PricelakeConfig;

/// What `vacuum` did to one table.
#[derive(Debug, Clone, Serialize)]
pub struct VacuumRow {
    /// The table's folder, lake-relative.
    pub table: String,
    /// The files removed (or that would be, with `--dry-run`), table-relative.
    pub files: Vec<String>,
}

pub(super) async fn run(config: PricelakeConfig, args: VacuumArgs) -> anyhow::Result<()> {
    let Some(lake) = super::open_lake_to_read(&config)? else {
        anyhow::bail!("there is no lake at {}", config.lake.url);
    };
    let hours = args.retention_hours.unwrap_or(config.lake.retention_hours);
    let retention = chrono::Duration::hours(i64::try_from(hours).unwrap_or(i64::MAX / 3_600_000));
    let mut rows = Vec::new();
    for table in pricelake_transform::table_folders() {
        if let Some(done) = pricelake_tables::vacuum(&lake, &table, retention, args.dry_run).await?
        {
            rows.push(VacuumRow {
                table,
                files: done.files,
            });
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for row in &rows {
        println!("{:<36} {verb} {} files", row.table, row.files.len());
    }
    println!(
        "retention: {hours} h (files of versions older than that, and files no version names); \
         time travel reaches back {hours} h"
    );
    Ok(())
}
