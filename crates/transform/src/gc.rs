//! Garbage collection: the files no run needs any more. Every output names its run
//! ([`manifest::run_of`]), so what a crashed run left, what a full refresh superseded and
//! what is older than the previous run are found by listing; a run's intermediate tables
//! live under [`WORK_PREFIX`] until it commits.

use std::collections::BTreeSet;

use pricelake_core::layout;
use pricelake_lake::Lake;

use crate::clean::PARTED_TABLES;
use crate::error::TransformError;
use crate::manifest::{self, latest_manifest, Manifest};

/// Where a run keeps intermediate tables; removed when the run commits, and at the start of
/// the next run after a crash.
pub(crate) const WORK_PREFIX: &str = "_work";

/// Removes intermediate tables (a run's own once it committed; a crashed run's at the next).
pub(crate) async fn remove_work(lake: &Lake) -> Result<(), TransformError> {
    for object in lake.list(WORK_PREFIX).await? {
        lake.delete(&object.path).await?;
    }
    Ok(())
}

/// Output files of a run newer than the current one: a process run under way, or stopped
/// before its commit. Not part of the lake's books nor served; the next run removes them.
pub async fn uncommitted_outputs(lake: &Lake) -> Result<Vec<String>, TransformError> {
    let current = latest_manifest(lake).await?.map(|m| m.run_id);
    let mut out = Vec::new();
    for prefix in ["clean", "marts", "errors/transform"] {
        for object in lake.list(prefix).await? {
            if manifest::run_of(&object.path)
                .is_some_and(|run| current.as_ref().is_none_or(|c| run > *c))
            {
                out.push(object.path);
            }
        }
    }
    Ok(out)
}

/// Deletes files of runs that never committed (a crash before the manifest), or that a
/// committed full refresh superseded.
pub(crate) async fn remove_uncommitted(
    lake: &Lake,
    manifests: &[Manifest],
) -> Result<(), TransformError> {
    let committed: BTreeSet<&str> = manifests.iter().map(|m| m.run_id.as_str()).collect();
    for prefix in ["clean", "marts", "errors/transform"] {
        for object in lake.list(prefix).await? {
            if let Some(run) = manifest::run_of(&object.path) {
                if !committed.contains(run.as_str()) {
                    tracing::info!(
                        path = object.path,
                        "removing output of a run that never committed or was superseded"
                    );
                    lake.delete(&object.path).await?;
                }
            }
        }
    }
    Ok(())
}

/// Removes the clean parts and rejections of every run before `current`, a full refresh
/// that rewrote them all.
pub(crate) async fn remove_runs_before(lake: &Lake, current: &str) -> Result<(), TransformError> {
    let mut prefixes: Vec<String> = PARTED_TABLES
        .iter()
        .map(|(table, _)| layout::clean_table(table))
        .collect();
    prefixes.push("errors/transform".to_string());
    for prefix in prefixes {
        for object in lake.list(&prefix).await? {
            if manifest::run_of(&object.path).is_some_and(|run| run.as_str() < current) {
                lake.delete(&object.path).await?;
            }
        }
    }
    Ok(())
}
