//! Garbage collection: the files no run and no table version needs. Every output names its
//! run ([`manifest::run_of`]), so what a crashed run left and what a full refresh superseded
//! are found by listing; a run's intermediate tables live under [`WORK_PREFIX`] until it
//! commits. Files that earlier table versions name are `pricelake vacuum`'s.

use std::collections::BTreeSet;

use pricelake_lake::Lake;

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

/// Deletes the files of runs that never committed: newer than the latest run in force (a
/// crash before its manifest, or a failed full refresh). Files of earlier runs are left to
/// `pricelake vacuum`: they are in earlier versions of their tables.
pub(crate) async fn remove_uncommitted(
    lake: &Lake,
    manifests: &[Manifest],
) -> Result<(), TransformError> {
    let current = manifests.last().map(|m| m.run_id.as_str());
    for prefix in ["clean", "marts", "errors/transform"] {
        for object in lake.list(prefix).await? {
            let Some(run) = manifest::run_of(&object.path) else {
                continue;
            };
            if current.is_none_or(|current| run.as_str() > current) {
                tracing::info!(
                    path = object.path,
                    "removing output of a run that never committed"
                );
                lake.delete(&object.path).await?;
            }
        }
    }
    Ok(())
}

/// After a full refresh (`current`) committed: removes the rejections of every run before it
/// (no longer the lake's books), and every file of the `superseded` runs made by a pricelake
/// before Delta tables (no version of any table names them). The Delta runs' files stay in
/// their tables' earlier versions, until `pricelake vacuum`.
pub(crate) async fn remove_superseded_outputs(
    lake: &Lake,
    current: &str,
    superseded: &[Manifest],
) -> Result<(), TransformError> {
    let before_delta: BTreeSet<&str> = superseded
        .iter()
        .filter(|m| !m.delta)
        .map(|m| m.run_id.as_str())
        .collect();
    for prefix in ["clean", "marts", "errors/transform"] {
        for object in lake.list(prefix).await? {
            let Some(run) = manifest::run_of(&object.path) else {
                continue;
            };
            let rejection = prefix == "errors/transform" && run.as_str() < current;
            if rejection || before_delta.contains(run.as_str()) {
                lake.delete(&object.path).await?;
            }
        }
    }
    Ok(())
}
