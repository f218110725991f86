//! Run manifests: what each process run consumed and produced, written last (the commit).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use pricelake_core::layout;
use pricelake_lake::Lake;
use serde::{Deserialize, Serialize};

use crate::error::TransformError;

/// One committed process run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `YYYYMMDDTHHMMSSZ-<8-digit sequence>`: sorts in commit order.
    pub run_id: String,
    /// When it started, by the pipeline clock.
    pub started_at: DateTime<Utc>,
    /// When it committed.
    pub finished_at: DateTime<Utc>,
    /// Raw objects it consumed (lake-relative).
    pub consumed: Vec<String>,
    /// Clean and mart files it wrote.
    pub produced: Vec<String>,
    /// Rows written per clean table, and rows per mart.
    pub rows: BTreeMap<String, u64>,
    /// Rows rejected, by reason (kept under `errors/transform/`).
    pub rejected: BTreeMap<String, u64>,
    /// Duplicate observations removed in the marts (over every day of the lake).
    #[serde(default)]
    pub duplicates_removed: u64,
    /// What each day's marts hold, by day (`YYYY-MM-DD`): a later run carries an untouched
    /// day's files and these figures over instead of recomputing them.
    #[serde(default)]
    pub days: BTreeMap<String, DayStats>,
    /// What the day marts were computed with (currencies, stale age, SQL): a run whose
    /// fingerprint differs recomputes every day. Empty in manifests from before days.
    #[serde(default)]
    pub marts_fingerprint: String,
    /// A full refresh: it re-read every raw object and wrote every clean part again, so every
    /// earlier run is superseded by it once it commits (their files are then removed).
    #[serde(default)]
    pub full_refresh: bool,
    /// Configured currencies that no rate in the lake quotes when the run committed: every
    /// price converted to them is null (counted in `rows` as `mart.prices_fx.missing_rate`).
    #[serde(default)]
    pub unquoted_currencies: Vec<String>,
}

/// One day of the marts kept by day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayStats {
    /// The run that computed the day's files (later runs copy them).
    pub computed_by: String,
    /// Observations of the day in the clean table, duplicates included.
    pub observations: u64,
    /// Of which duplicates (same record id, or same item and time), left out of the marts.
    pub duplicates: u64,
    /// `prices_fx` rows of the day with no rate at or before them.
    pub missing_rates: u64,
    /// Rows per mart kept by day.
    pub rows: BTreeMap<String, u64>,
    /// The day's latest observation: new observations all later than it (and new rates all
    /// later too) extend the day instead of recomputing it. None in manifests from before.
    #[serde(default)]
    pub last_observed_at: Option<DateTime<Utc>>,
}

fn manifest_path(run_id: &str) -> String {
    format!("{}/{run_id}.json", layout::PROCESS_MANIFESTS)
}

/// Every committed manifest that is still in force, oldest first: the newest full refresh
/// and the runs after it (a full refresh supersedes every run before it; their manifests
/// are removed after it commits, and ignored here if a crash left them behind). Their
/// `consumed` and `produced` lists are the books of the lake.
pub async fn all_manifests(lake: &Lake) -> Result<Vec<Manifest>, TransformError> {
    Ok(chain(lake).await?.0)
}

/// The manifests in force (see [`all_manifests`]) and the run ids of the superseded ones.
pub(crate) async fn chain(lake: &Lake) -> Result<(Vec<Manifest>, Vec<String>), TransformError> {
    let mut out = Vec::new();
    for object in lake.list(layout::PROCESS_MANIFESTS).await? {
        if let Some(m) = lake.get_json::<Manifest>(&object.path).await? {
            out.push(m);
        }
    }
    out.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    let first_in_force = out.iter().rposition(|m| m.full_refresh).unwrap_or(0);
    let superseded = out
        .drain(..first_in_force)
        .map(|m| m.run_id)
        .collect::<Vec<_>>();
    Ok((out, superseded))
}

/// Removes the manifests of superseded runs (after their files).
pub(crate) async fn remove_superseded(lake: &Lake, runs: &[String]) -> Result<(), TransformError> {
    for run in runs {
        lake.delete(&manifest_path(run)).await?;
    }
    Ok(())
}

/// The newest committed run: its marts are the current ones.
pub async fn latest_manifest(lake: &Lake) -> Result<Option<Manifest>, TransformError> {
    let objects = lake.list(layout::PROCESS_MANIFESTS).await?;
    match objects.last() {
        Some(o) => Ok(lake.get_json::<Manifest>(&o.path).await?),
        None => Ok(None),
    }
}

/// Commits a run.
pub(crate) async fn commit(lake: &Lake, manifest: &Manifest) -> Result<(), TransformError> {
    lake.put_json(&manifest_path(&manifest.run_id), manifest)
        .await?;
    Ok(())
}

/// Raw objects some committed run already consumed.
pub(crate) fn consumed(manifests: &[Manifest]) -> BTreeSet<String> {
    manifests
        .iter()
        .flat_map(|m| m.consumed.iter().cloned())
        .collect()
}

/// The run id a produced file belongs to: `part-<run>-c<chunk>.parquet`, `part-<run>.parquet`
/// (before chunks), `run=<run>/`, `<run>.ndjson`.
pub(crate) fn run_of(path: &str) -> Option<String> {
    if let Some(i) = path.find("run=") {
        return path[i + 4..].split('/').next().map(str::to_string);
    }
    let file = path.rsplit('/').next()?;
    let stem = file.strip_prefix("part-").unwrap_or(file);
    let stem = stem.split('.').next()?;
    let stem = stem.split("-c").next()?;
    (stem.len() > 17 && stem.as_bytes()[8] == b'T').then(|| stem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_found_in_every_kind_of_output_path() {
        let run = "20260101T000000Z-00000012";
        assert_eq!(
            run_of(&format!(
                "clean/fx_rates/date=2026-01-01/part-{run}.parquet"
            ))
            .as_deref(),
            Some(run)
        );
        assert_eq!(
            run_of(&format!(
                "clean/price_observations/date=2026-01-01/part-{run}-c00003.parquet"
            ))
            .as_deref(),
            Some(run)
        );
        assert_eq!(
            run_of(&format!("marts/discounts/run={run}/part-0.parquet")).as_deref(),
            Some(run)
        );
        assert_eq!(
            run_of(&format!("errors/transform/bad_price/{run}.ndjson")).as_deref(),
            Some(run)
        );
        assert_eq!(run_of("clean/x/date=2026-01-01/other.parquet"), None);
    }
}
