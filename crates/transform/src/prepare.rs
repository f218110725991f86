//! What a run starts from: the committed runs (after removing what a crashed or superseded
//! run left), the raw objects none of them consumed, and whether there is anything to do;
//! then the new run's id.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use pricelake_lake::Lake;

use crate::config::TransformConfig;
use crate::engine::Engine;
use crate::error::TransformError;
use crate::gc::{remove_uncommitted, remove_work};
use crate::manifest::{self, Manifest};
use crate::sql;

/// A run that has something to do.
pub(crate) struct Prepared {
    /// The committed runs in force, oldest first.
    pub(crate) manifests: Vec<Manifest>,
    /// The raw objects this run consumes.
    pub(crate) new_objects: Vec<String>,
    /// What the day marts are computed with ([`sql::fingerprint`]).
    pub(crate) marts_fingerprint: String,
}

impl Prepared {
    /// The id of the newest committed run.
    pub(crate) fn last_run_id(&self) -> Option<&str> {
        self.manifests.last().map(|m| m.run_id.as_str())
    }

    /// The previous run, if its day marts can be carried over: computed as this run computes
    /// them (the same fingerprint), and this run is no full refresh.
    pub(crate) fn previous(&self, full_refresh: bool) -> Option<&Manifest> {
        self.manifests
            .last()
            .filter(|m| !full_refresh && m.marts_fingerprint == self.marts_fingerprint)
    }
}

/// Checks that `engine` can run on this lake, removes the files of runs that never committed
/// or were superseded and the intermediate tables of a crashed run, and finds the new raw
/// objects (all of them with `full_refresh`). `None`: nothing to do.
pub(crate) async fn prepare(
    lake: &Lake,
    config: &TransformConfig,
    engine: &Engine,
    full_refresh: bool,
) -> Result<Option<Prepared>, TransformError> {
    if *engine != Engine::Local && !lake.store_url().starts_with("file:") {
        return Err(engine.unavailable(
            "Ballista executors read the lake from a shared folder (file://); \
             an object-store lake runs with --engine local",
            None,
        ));
    }
    // A full refresh writes its run beside the current one (new clean parts, new run
    // folders) and becomes current only when its manifest commits: until then, and for ever
    // if it fails or is killed, the previous run stays current and served.
    let (manifests, superseded) = manifest::chain(lake).await?;
    remove_uncommitted(lake, &manifests).await?;
    manifest::remove_superseded(lake, &superseded).await?;
    remove_work(lake).await?;
    crate::tables::finish_commits(lake, manifests.last()).await?;
    if let Some(last) = manifests.last().filter(|m| !m.delta && !full_refresh) {
        return Err(TransformError::EarlierLayout {
            run_id: last.run_id.clone(),
        });
    }
    let consumed = if full_refresh {
        BTreeSet::new()
    } else {
        manifest::consumed(&manifests)
    };
    let new_objects: Vec<String> = lake
        .list("raw")
        .await?
        .into_iter()
        .map(|o| o.path)
        .filter(|p| !consumed.contains(p))
        .collect();
    // Nothing new, and the marts were computed as the config now asks: nothing to do. (New
    // currencies or SQL with no new data still recompute every day.)
    let marts_fingerprint = sql::fingerprint(config);
    let up_to_date = manifests
        .last()
        .is_some_and(|m| m.marts_fingerprint == marts_fingerprint);
    if !full_refresh && new_objects.is_empty() && up_to_date {
        return Ok(None);
    }
    Ok(Some(Prepared {
        manifests,
        new_objects,
        marts_fingerprint,
    }))
}

/// `YYYYMMDDTHHMMSSZ-<8-digit sequence>`: never earlier than the last run's, so ids sort
/// in commit order even when two runs share a second or the clock moves backwards (a
/// simulated demo followed by a real run).
pub(crate) fn next_run_id(last: Option<&str>, now: DateTime<Utc>) -> String {
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let (last_stamp, last_seq) = last
        .and_then(|l| l.split_once('-'))
        .map(|(s, n)| (s.to_string(), n.parse::<u64>().unwrap_or(0)))
        .unwrap_or_default();
    format!("{}-{:08}", stamp.max(last_stamp), last_seq + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_in_commit_order() {
        let t: DateTime<Utc> = "2026-01-06T00:00:00Z".parse().unwrap();
        let a = next_run_id(None, t);
        let b = next_run_id(Some(&a), t);
        let c = next_run_id(Some(&b), t - chrono::Duration::days(30));
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(a, "20260106T000000Z-00000001");
        assert!(
            manifest::run_of(&format!("marts/x/{c}/part-0.parquet")).as_deref() == Some(c.as_str())
        );
    }
}
