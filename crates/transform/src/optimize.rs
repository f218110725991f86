//! `pricelake optimize`: compacts the small files hourly runs leave. A day of a mart that
//! gains a file per extension (`prices_fx`: `part-<day>_<run>.parquet` each hour) is rewritten
//! as one file with the same rows in the same order, and swapped in by one Delta `OPTIMIZE`
//! commit; the old files stay for readers of earlier versions until `pricelake vacuum`. It
//! holds the lake's process lease, so no process run changes the mart meanwhile.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::prelude::{col, ParquetReadOptions, SessionContext};
use pricelake_core::layout;
use pricelake_core::marts::{self, Extension, Grain};
use pricelake_lake::Lake;
use serde::Serialize;

use crate::config::TransformConfig;
use crate::days::{files_of_day, in_mart_order};
use crate::error::{q, TransformError};
use crate::lease;
use crate::write::write_mart;

/// What `optimize` did to one mart.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Compacted {
    /// The mart.
    pub mart: String,
    /// Days rewritten as one file.
    pub days: Vec<String>,
    /// Files taken out of the mart (replaced by one per day).
    pub files_removed: usize,
    /// The mart's Delta version after the compaction (none when nothing was to do).
    pub version: Option<u64>,
}

/// Compacts every day of the marts that gain a file per extension, where a day has more
/// than one file.
pub async fn optimize(
    lake: &Lake,
    config: &TransformConfig,
) -> Result<Vec<Compacted>, TransformError> {
    let wait = std::time::Duration::from_secs(config.wait_for_other_run_secs);
    let held = lease::acquire(lake, wait).await?;
    let result = compact_marts(lake).await;
    held.release().await?;
    result
}

async fn compact_marts(lake: &Lake) -> Result<Vec<Compacted>, TransformError> {
    let ctx = SessionContext::new();
    let store_url =
        url::Url::parse(lake.store_url()).map_err(|source| TransformError::LakeUrl {
            url: lake.store_url().to_string(),
            source,
        })?;
    ctx.register_object_store(&store_url, lake.store());
    // Not a run id: the files of a compaction are no run's, and no run's clean-up takes them.
    let folder_name = format!("optimize-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
    let mut out = Vec::new();
    for mart in marts::by_day().filter(|m| m.grain == Grain::Day(Extension::NewFile)) {
        let table = layout::mart(mart.name);
        let mut done = Compacted {
            mart: mart.name.to_string(),
            ..Compacted::default()
        };
        let Some(live) = pricelake_tables::live_files(lake, &table, None).await? else {
            out.push(done);
            continue;
        };
        let mut days: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for file in &live.files {
            let name = file.rsplit('/').next().unwrap_or_default();
            if let Some(day) = name.strip_prefix("part-").and_then(|rest| rest.get(..10)) {
                days.entry(day.to_string()).or_default().push(file.clone());
            }
        }
        let (mut removed, mut added) = (BTreeSet::new(), Vec::new());
        for (day, files) in days {
            let of_day = in_mart_order(files_of_day(&files, &day).into_iter().cloned().collect());
            if of_day.len() < 2 {
                continue;
            }
            let urls: Vec<String> = of_day.iter().map(|f| lake.file_url(f)).collect();
            let order: Vec<_> = mart
                .row_order
                .iter()
                .map(|c| col(*c).sort(true, false))
                .collect();
            let df = ctx
                .read_parquet(urls, ParquetReadOptions::default())
                .await
                .and_then(|df| df.sort(order))
                .map_err(q(mart.name))?;
            let path = format!("{table}/{folder_name}/part-{day}.parquet");
            write_mart(lake, &path, df)
                .await
                .map_err(|e| e.for_mart(mart.name))?;
            let prefix = format!("{table}/");
            removed.extend(of_day.iter().map(|f| f[prefix.len()..].to_string()));
            added.push(path);
            done.days.push(day);
        }
        if !added.is_empty() {
            done.files_removed = removed.len();
            done.version = Some(pricelake_tables::compact(lake, &table, &removed, &added).await?);
            tracing::info!(
                mart = mart.name,
                days = done.days.len(),
                files = done.files_removed,
                "compacted"
            );
        }
        out.push(done);
    }
    Ok(out)
}
