//! The commit: a run becomes current when its manifest is written, the last of its files,
//! and then each table it changed gets its Delta commit ([`crate::tables`]). Then what it
//! made obsolete goes: the earlier runs' rejections after a full refresh, and the run's
//! intermediate tables; and the run is counted and logged as committed. (The files it took
//! out of its tables stay for readers of earlier versions: `pricelake vacuum`.)

use pricelake_core::Metrics;
use pricelake_lake::Lake;
use pricelake_tables::LatestTables;

use crate::error::TransformError;
use crate::gc::{remove_superseded_outputs, remove_work};
use crate::manifest::{self, Manifest};
use crate::tables::commit_tables;

/// Commits the run of `manifest` (onto the tables as the run read them, `latest`), then
/// removes what it made obsolete (`earlier`: the runs in force before it, all superseded when
/// it is a full refresh), and counts the records it `delivered` to the clean tables.
pub(crate) async fn commit(
    lake: &Lake,
    latest: &LatestTables,
    manifest: &mut Manifest,
    earlier: &[Manifest],
    metrics: &Metrics,
    delivered: u64,
) -> Result<(), TransformError> {
    let run_id = manifest.run_id.clone();
    let commit_started = std::time::Instant::now();
    manifest::commit(lake, manifest).await?;
    commit_tables(lake, latest, manifest).await?;
    if manifest.full_refresh {
        // Every earlier run is superseded: its rejections go (and the files of runs from
        // before Delta tables), then its manifest. Its clean parts and marts stay in their
        // tables' earlier versions. A crash in between: [`manifest::chain`] ignores the
        // superseded manifests, and the next run removes them.
        remove_superseded_outputs(lake, &run_id, earlier).await?;
        let superseded: Vec<String> = earlier.iter().map(|m| m.run_id.clone()).collect();
        manifest::remove_superseded(lake, &superseded).await?;
    }
    // The files the run took out of the marts and `items` stay for readers of earlier
    // versions, until `pricelake vacuum` removes those older than its retention.
    remove_work(lake).await?;
    tracing::debug!(
        elapsed_ms = commit_started.elapsed().as_millis() as u64,
        "manifest and Delta commits written, intermediate tables removed"
    );
    metrics.add(
        pricelake_core::metrics::names::RECORDS_DELIVERED,
        &[("component", "transform")],
        delivered,
    );
    tracing::info!(
        run_id,
        objects = manifest.consumed.len(),
        "process run committed"
    );
    Ok(())
}
