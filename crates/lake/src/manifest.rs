//! Run manifests, the lake's typed contract: what each process run consumed and produced,
//! written last (the commit). Transform writes them; serve, publish, audit and status read
//! them through these types, so a field means one thing to every reader.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use pricelake_core::layout;
use serde::{Deserialize, Serialize};

use crate::{Lake, LakeError};

/// One committed process run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `YYYYMMDDTHHMMSSZ-<8-digit sequence>`: sorts in commit order.
    pub run_id: String,
    /// When it started, by the pipeline clock.
    pub started_at: DateTime<Utc>,
    /// When it committed.
    pub finished_at: DateTime<Utc>,
    /// Raw objects it consumed (lake-relative).
    pub consumed: Vec<String>,
    /// Clean and mart files it wrote (its Delta commits add them). This and the next two are
    /// the run's change record, from which its commits are made: emptied once they are
    /// (`tables` then names the versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub produced: Vec<String>,
    /// Live files it took out of their tables (a recomputed day's files of a mart kept by
    /// day): its Delta commits remove them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// Tables it wrote whole, by folder (`marts/basket`): its Delta commits replace every
    /// file of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<String>,
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
    /// The run's tables are Delta tables: its commits to them follow this manifest (false
    /// in manifests of an earlier pricelake, whose lake becomes Delta by a full refresh).
    #[serde(default)]
    pub delta: bool,
    /// Each table's Delta version once the run's commits are made, by table folder
    /// (`marts/prices_fx`); `None` while they are being made (a run stopped then is
    /// finished by the next), and in manifests of an earlier pricelake.
    #[serde(default)]
    pub tables: Option<BTreeMap<String, u64>>,
}

impl Manifest {
    /// When the run committed, as the manifest writes it (RFC 3339, UTC, `Z`): what the API
    /// and the published watermarks show.
    pub fn finished_at_text(&self) -> String {
        self.finished_at
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }

    /// The Delta version of `table` (its folder, `marts/prices_fx`) once the run committed,
    /// when the manifest names one.
    pub fn table_version(&self, table: &str) -> Option<u64> {
        self.tables.as_ref()?.get(table).copied()
    }

    /// The rows the run wrote to `mart` (over every day of a mart kept by day), when it
    /// recorded them.
    pub fn mart_rows(&self, mart: &str) -> Option<u64> {
        self.rows.get(&format!("mart.{mart}")).copied()
    }
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

/// Where the manifest of `run_id` is.
pub fn manifest_path(run_id: &str) -> String {
    format!("{}/{run_id}.json", layout::PROCESS_MANIFESTS)
}

/// Every committed manifest that is still in force, oldest first: the newest full refresh
/// and the runs after it (a full refresh supersedes every run before it; their manifests
/// are removed after it commits, and ignored here if a crash left them behind). Their
/// `consumed` lists and figures are the books of the lake.
pub async fn all_manifests(lake: &Lake) -> Result<Vec<Manifest>, LakeError> {
    Ok(chain(lake).await?.0)
}

/// The manifests in force (see [`all_manifests`]) and the run ids of the superseded ones.
pub async fn chain(lake: &Lake) -> Result<(Vec<Manifest>, Vec<String>), LakeError> {
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
pub async fn remove_superseded(lake: &Lake, runs: &[String]) -> Result<(), LakeError> {
    for run in runs {
        lake.delete(&manifest_path(run)).await?;
    }
    Ok(())
}

/// The newest committed run: its marts are the current ones.
pub async fn latest_manifest(lake: &Lake) -> Result<Option<Manifest>, LakeError> {
    let objects = lake.list(layout::PROCESS_MANIFESTS).await?;
    match objects.last() {
        Some(o) => Ok(lake.get_json::<Manifest>(&o.path).await?),
        None => Ok(None),
    }
}

/// Commits a run.
pub async fn commit(lake: &Lake, manifest: &Manifest) -> Result<(), LakeError> {
    lake.put_json(&manifest_path(&manifest.run_id), manifest)
        .await?;
    Ok(())
}

/// A moment of the lake's history a reader asks for: a run, or a time.
#[derive(Debug, Clone, PartialEq)]
pub enum AsOf {
    /// That run (`20261207T000000Z-00000003`), or the newest run before it.
    Run(String),
    /// The newest run committed at or before this time.
    Time(DateTime<Utc>),
}

impl AsOf {
    /// Reads a run id, an RFC 3339 time, or a date (`YYYY-MM-DD`: its start, UTC, as Delta
    /// readers' `timestampAsOf` takes one); `None` for anything else.
    pub fn parse(text: &str) -> Option<AsOf> {
        let text = text.trim();
        if text.len() > 17 && text.as_bytes().get(8) == Some(&b'T') && text.contains("Z-") {
            return Some(AsOf::Run(text.to_string()));
        }
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Some(AsOf::Time(time.with_timezone(&Utc)));
        }
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| AsOf::Time(t.and_utc()))
    }

    /// Of `manifests` (oldest first), the run in force at this moment.
    pub fn pick<'a>(&self, manifests: &'a [Manifest]) -> Option<&'a Manifest> {
        manifests.iter().rev().find(|m| match self {
            AsOf::Run(run) => m.run_id <= *run,
            AsOf::Time(time) => m.finished_at <= *time,
        })
    }
}

/// The run in force at `at`, among the runs in force now ([`all_manifests`]).
pub async fn as_of(lake: &Lake, at: &AsOf) -> Result<Option<Manifest>, LakeError> {
    Ok(at.pick(&all_manifests(lake).await?).cloned())
}

/// Raw objects some committed run already consumed.
pub fn consumed(manifests: &[Manifest]) -> BTreeSet<String> {
    manifests
        .iter()
        .flat_map(|m| m.consumed.iter().cloned())
        .collect()
}

/// The run id a produced file belongs to: `part-<run>-c<chunk>.parquet`, `part-<run>.parquet`,
/// a `<run>/` folder (a mart's files), `run=<run>/` (intermediate tables, and marts before
/// Delta tables), `<run>.ndjson`.
pub fn run_of(path: &str) -> Option<String> {
    if let Some(i) = path.find("run=") {
        return path[i + 4..].split('/').next().map(str::to_string);
    }
    let mut segments = path.split('/');
    let file = segments.next_back()?;
    if let Some(folder) = segments.find(|s| is_run_id(s)) {
        return Some(folder.to_string());
    }
    let stem = file.strip_prefix("part-").unwrap_or(file);
    let stem = stem.split('.').next()?;
    let stem = stem.split("-c").next()?;
    is_run_id(stem).then(|| stem.to_string())
}

/// `YYYYMMDDTHHMMSSZ-<sequence>`.
fn is_run_id(text: &str) -> bool {
    text.len() > 17 && text.as_bytes()[8] == b'T' && text.as_bytes()[15] == b'Z'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_picks_the_run_in_force_then() {
        let run = |id: &str, at: &str| Manifest {
            run_id: id.to_string(),
            finished_at: at.parse().unwrap(),
            ..Manifest::default()
        };
        let runs = [
            run("20261201T000000Z-00000001", "2026-12-01T00:05:00Z"),
            run("20261202T000000Z-00000002", "2026-12-02T00:05:00Z"),
        ];
        let pick = |text: &str| {
            AsOf::parse(text)
                .unwrap()
                .pick(&runs)
                .map(|m| m.run_id.clone())
        };
        assert_eq!(pick("20261201T000000Z-00000001").unwrap(), runs[0].run_id);
        assert_eq!(pick("20261201T120000Z-00000009").unwrap(), runs[0].run_id);
        assert_eq!(pick("2026-12-02T00:05:00Z").unwrap(), runs[1].run_id);
        assert_eq!(
            pick("2026-12-02").unwrap(),
            runs[0].run_id,
            "the day's start"
        );
        assert_eq!(pick("2026-11-30"), None, "before the first run");
        assert_eq!(AsOf::parse("yesterday"), None);
    }

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
            run_of(&format!("marts/discounts/{run}/part-2026-01-01.parquet")).as_deref(),
            Some(run)
        );
        assert_eq!(
            run_of(&format!("clean/items/date=2026-01-01/part-{run}.parquet")).as_deref(),
            Some(run)
        );
        assert_eq!(
            run_of("marts/discounts/_delta_log/00000000000000000003.json"),
            None
        );
        assert_eq!(
            run_of(&format!("errors/transform/bad_price/{run}.ndjson")).as_deref(),
            Some(run)
        );
        assert_eq!(run_of("clean/x/date=2026-01-01/other.parquet"), None);
    }
}
