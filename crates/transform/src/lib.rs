//! Incremental processing on Apache DataFusion: raw zone -> clean tables -> marts.
//!
//! A run parses only raw objects no committed run consumed (in Rust, a chunk of objects at a
//! time), writes them as Parquet parts of the clean tables, recomputes the marts kept by day
//! for the days it touched (the rest are carried over, see [`days`]) and the marts over the
//! whole lake, with the SQL files in `sql/` (readable and extensible), and commits by
//! writing its manifest last. Files of a run that never committed are deleted by the next
//! run, so a crashed run followed by a clean one equals one clean run. Duplicates (same
//! record id; same item and time) are removed in SQL, so replays never double-count.
//!
//! This file is the table of contents: the modules, the public API, and [`process`], which
//! calls the stages of a run in order, each in its own module.

#![warn(missing_docs)]

use pricelake_core::{Metrics, SharedClock};
use pricelake_lake::Lake;
use run::Run;

mod clean;
pub mod cluster;
mod commit;
mod config;
mod days;
mod engine;
mod error;
mod gc;
mod items;
mod lake_marts;
mod lease;
mod manifest;
mod optimize;
mod parquet_out;
pub mod parse;
mod prepare;
mod report;
mod run;
mod session;
mod sql;
mod tables;
mod verify;
mod write;

pub use clean::{CLEAN_TABLES, ITEMS_TABLE};
pub use config::TransformConfig;
pub use engine::Engine;
pub use error::TransformError;
pub use gc::uncommitted_outputs;
pub use manifest::{all_manifests, latest_manifest, DayStats, Manifest};
pub use optimize::{optimize, Compacted};
pub use report::ProcessReport;
pub use session::with_plain_types;
pub use tables::{commit_run, table_folders};
pub use verify::mart_duplicates;

/// Processes new raw objects (all of them with `full_refresh`) into clean tables and marts,
/// holding the lake's process lease ([`lease`]) for the run.
pub async fn process(
    lake: &Lake,
    config: &TransformConfig,
    engine: &Engine,
    clock: SharedClock,
    metrics: Metrics,
    full_refresh: bool,
) -> Result<ProcessReport, TransformError> {
    let wait = std::time::Duration::from_secs(config.wait_for_other_run_secs);
    let lease = lease::acquire(lake, wait).await?;
    let result = run_holding_the_lease(lake, config, engine, clock, metrics, full_refresh).await;
    lease.release().await?;
    result
}

/// [`process`], once the lease is held: the stages of a run, in order.
async fn run_holding_the_lease(
    lake: &Lake,
    config: &TransformConfig,
    engine: &Engine,
    clock: SharedClock,
    metrics: Metrics,
    full_refresh: bool,
) -> Result<ProcessReport, TransformError> {
    let Some(start) = prepare::prepare(lake, config, engine, full_refresh).await? else {
        return Ok(ProcessReport::skipped());
    };
    // The engine first: one that cannot be reached fails the run before it writes anything.
    let ctx = session::session(lake, config, engine).await?;
    let started_at = clock.now();
    let run_id = prepare::next_run_id(start.last_run_id(), started_at);
    let mut run = Run::new(lake, config, &metrics, ctx, run_id);

    let clean = clean::parse_objects(&mut run, &start.new_objects).await?;
    // The clean tables as Delta has them, and the run's new parts; a full refresh reads only
    // its own parts (the previous run's stay current until this run commits).
    let clean_files =
        clean::files_to_read(lake, &run.latest, &clean.new_days, full_refresh).await?;
    let unquoted_currencies = session::register_inputs(&run, &clean_files).await?;

    // Marts: those kept by day for the days this run touched (the rest carried over), then
    // those over the whole lake; then the items table from the day marts.
    let previous = start.previous(full_refresh);
    let day_marts = days::write_day_marts(
        &mut run,
        previous,
        &clean.new_days,
        &clean_files[0],
        full_refresh,
    )
    .await?;
    let lake_rows = lake_marts::write_lake_marts(&mut run, previous, &day_marts).await?;
    let items = items::write_items(&mut run, previous, &day_marts).await?;

    let mut rows = clean.rows();
    rows.extend(day_marts.rows());
    rows.extend(lake_rows);
    rows.insert(ITEMS_TABLE.to_string(), items);
    let mut manifest = Manifest {
        run_id: run.id,
        started_at,
        finished_at: clock.now(),
        consumed: start.new_objects,
        produced: run.output.produced,
        removed: run.output.removed,
        replaced: run.output.replaced.into_iter().collect(),
        rows,
        rejected: clean.rejected.clone(),
        duplicates_removed: day_marts.duplicates_removed(),
        days: day_marts.days,
        marts_fingerprint: start.marts_fingerprint,
        full_refresh,
        unquoted_currencies,
        delta: true,
        tables: None,
    };
    commit::commit(
        lake,
        &run.latest,
        &mut manifest,
        &start.manifests,
        &metrics,
        clean.delivered(),
    )
    .await?;
    Ok(ProcessReport::committed(manifest))
}

#[cfg(test)]
mod tests;
