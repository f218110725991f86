//! Extending a day by observations later than all of its own (see the module above): the
//! marts of the new observations alone, merged into the day's live files.

use std::collections::BTreeMap;

use datafusion::execution::context::SessionContext;
use datafusion::prelude::ParquetReadOptions;
use pricelake_core::layout;
use pricelake_core::marts::{self, Extension, Grain};
use pricelake_lake::Lake;

use super::{deduplicate, files_of_day, latest_observation, register_day_inputs};
use crate::config::TransformConfig;
use crate::error::{q, TransformError};
use crate::manifest::{DayStats, Manifest};
use crate::parse;
use crate::run::Output;
use crate::sql::{self, fill};
use crate::write::{write_mart, WrittenMart};

/// Extends `day` with this run's new observation files; `None` if the day's files are not all
/// live (the caller computes the day instead). `live` holds each day mart's live files.
#[allow(clippy::too_many_arguments)]
pub(super) async fn extend_day(
    lake: &Lake,
    ctx: &SessionContext,
    config: &TransformConfig,
    run_id: &str,
    day: &str,
    previous: &Manifest,
    live: &BTreeMap<&'static str, Vec<String>>,
    new_files: &[String],
    output: &mut Output,
) -> Result<Option<DayStats>, TransformError> {
    let Some(old) = previous.days.get(day) else {
        return Ok(None);
    };
    if new_files.is_empty() {
        return Ok(None);
    }
    // Each day mart's live files of the day; a merged mart has one, its day's file.
    let own_name = format!("part-{day}.parquet");
    let mut day_files: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for mart in marts::by_day() {
        let files = files_of_day(live.get(mart.name).map(Vec::as_slice).unwrap_or(&[]), day);
        let merged = matches!(mart.grain, Grain::Day(Extension::Merge { .. }));
        if files.is_empty() || (merged && !files.iter().any(|f| f.ends_with(&own_name))) {
            tracing::warn!(
                mart = mart.name,
                day,
                "the mart has no live file for the day; computing it"
            );
            return Ok(None);
        }
        day_files.insert(mart.name, files);
    }

    // The new observations, deduplicated among themselves: being later than every old one,
    // none can repeat an old record or an old item and time.
    let urls: Vec<String> = new_files.iter().map(|p| lake.file_url(p)).collect();
    let schema = parse::observations_schema();
    let new_observations = ctx
        .read_parquet(urls, ParquetReadOptions::default().schema(&schema))
        .await
        .map_err(q("obs"))?;
    ctx.deregister_table("new_observations").map_err(q("obs"))?;
    ctx.register_table("new_observations", new_observations.into_view())
        .map_err(q("obs"))?;
    let obs = deduplicate(lake, ctx, run_id, Some(day), "new_observations", "TRUE").await?;
    register_day_inputs(lake, ctx, config, run_id, &obs).await?;
    let (observations, deduplicated) = (obs.observations, obs.written.rows as u64);
    let latest = latest_observation(ctx).await?;

    let mut rows = BTreeMap::new();
    let mut missing_rates = 0;
    // In build order: a mart recomputed reads the day marts merged before it.
    for mart in marts::by_day() {
        let Grain::Day(extension) = mart.grain else {
            continue;
        };
        let name = mart.name;
        match extension {
            Extension::NewFile => {
                let sql = fill(sql::text(mart.sql)?, config, ctx).await?;
                let df = ctx.sql(&sql).await.map_err(q(name))?;
                // The day's files stay as they are; the run adds one.
                let path = super::extension_file(name, run_id, day);
                let segment = register_written(lake, ctx, name, &path, df).await?;
                output.produced.push(path);
                if name == "prices_fx" {
                    missing_rates = segment.null_rates;
                }
                rows.insert(
                    name.to_string(),
                    old.rows.get(name).copied().unwrap_or(0) + segment.rows as u64,
                );
            }
            Extension::Merge { delta, merge } => {
                let sql = fill(sql::text(delta.unwrap_or(mart.sql))?, config, ctx).await?;
                let df = ctx.sql(&sql).await.map_err(q(name))?;
                let delta = super::delta_file(run_id, name, day);
                register_written(lake, ctx, "delta", &delta, df).await?;
                let old = day_files
                    .get(name)
                    .and_then(|files| files.iter().find(|f| f.ends_with(&own_name)))
                    .map(|f| f.to_string())
                    .unwrap_or_default();
                ctx.deregister_table("previous").map_err(q(name))?;
                ctx.register_parquet(
                    "previous",
                    lake.file_url(&old),
                    ParquetReadOptions::default(),
                )
                .await
                .map_err(q(name))?;
                let df = ctx.sql(sql::text(merge)?).await.map_err(q(name))?;
                let path = layout::mart_day_file(name, run_id, day);
                // Registered under the mart's name: a mart recomputed after it reads it.
                let merged = register_written(lake, ctx, name, &path, df).await?;
                // The merged file takes the old one's place.
                output.produced.push(path);
                output.removed.push(old);
                rows.insert(name.to_string(), merged.rows as u64);
            }
            Extension::Recompute => {
                let sql = fill(sql::text(mart.sql)?, config, ctx).await?;
                let df = ctx.sql(&sql).await.map_err(q(name))?;
                let path = layout::mart_day_file(name, run_id, day);
                let written = register_written(lake, ctx, name, &path, df).await?;
                output.produced.push(path);
                output.removed.extend(
                    day_files
                        .get(name)
                        .into_iter()
                        .flatten()
                        .map(|f| f.to_string()),
                );
                rows.insert(name.to_string(), written.rows as u64);
            }
        }
    }

    Ok(Some(DayStats {
        computed_by: run_id.to_string(),
        observations: old.observations + observations,
        duplicates: old.duplicates + observations.saturating_sub(deduplicated),
        missing_rates: old.missing_rates + missing_rates,
        rows,
        last_observed_at: old.last_observed_at.max(latest),
    }))
}

/// Streams `df` into `path` and registers that file as `table` for the queries after.
async fn register_written(
    lake: &Lake,
    ctx: &SessionContext,
    table: &str,
    path: &str,
    df: datafusion::dataframe::DataFrame,
) -> Result<WrittenMart, TransformError> {
    let written = write_mart(lake, path, df)
        .await
        .map_err(|e| e.for_mart(table))?;
    ctx.deregister_table(table).map_err(q(table))?;
    ctx.register_parquet(
        table,
        lake.file_url(path),
        ParquetReadOptions::default().schema(&written.schema),
    )
    .await
    .map_err(q(table))?;
    Ok(written)
}
