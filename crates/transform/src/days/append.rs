//! Extending a day by observations later than all of its own (see the module above): the
//! marts of the new observations alone, merged into the previous run's files of the day.

use std::collections::BTreeMap;

use datafusion::execution::context::SessionContext;
use datafusion::prelude::ParquetReadOptions;
use pricelake_core::layout;
use pricelake_core::marts::{self, Extension, Grain};
use pricelake_lake::Lake;

use super::{copy_day, deduplicate, latest_observation, register_day_inputs};
use crate::config::TransformConfig;
use crate::error::{q, TransformError};
use crate::manifest::{DayStats, Manifest};
use crate::parse;
use crate::sql::{self, fill};
use crate::write::{write_mart, WrittenMart};

/// Extends `day` with this run's new observation files; `None` if the previous run's files
/// of the day are not all there (the caller computes the day instead).
#[allow(clippy::too_many_arguments)]
pub(super) async fn extend_day(
    lake: &Lake,
    ctx: &SessionContext,
    config: &TransformConfig,
    run_id: &str,
    day: &str,
    previous: &Manifest,
    previous_files: &BTreeMap<&'static str, Vec<String>>,
    new_files: &[String],
    produced: &mut Vec<String>,
) -> Result<Option<DayStats>, TransformError> {
    let Some(old) = previous.days.get(day) else {
        return Ok(None);
    };
    if new_files.is_empty() {
        return Ok(None);
    }
    let merged = marts::by_day()
        .filter(|m| matches!(m.grain, Grain::Day(Extension::Merge { .. })))
        .map(|m| m.name);
    for mart in merged {
        let file = layout::mart_day_file(mart, &previous.run_id, day);
        if !previous_files
            .get(mart)
            .is_some_and(|files| files.contains(&file))
        {
            tracing::warn!(
                mart,
                day,
                "the previous run has no file for the day; computing it"
            );
            return Ok(None);
        }
    }
    // A mart that gains a file keeps the day's files as they are.
    for mart in marts::by_day().filter(|m| m.grain == Grain::Day(Extension::NewFile)) {
        let Some(mut copied) = copy_day(lake, previous_files, mart.name, run_id, day).await else {
            return Ok(None);
        };
        produced.append(&mut copied);
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
                let path = super::extension_file(name, run_id, day);
                let segment = register_written(lake, ctx, name, &path, df).await?;
                produced.push(path);
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
                ctx.deregister_table("previous").map_err(q(name))?;
                ctx.register_parquet(
                    "previous",
                    lake.file_url(&layout::mart_day_file(name, &previous.run_id, day)),
                    ParquetReadOptions::default(),
                )
                .await
                .map_err(q(name))?;
                let df = ctx.sql(sql::text(merge)?).await.map_err(q(name))?;
                let path = layout::mart_day_file(name, run_id, day);
                // Registered under the mart's name: a mart recomputed after it reads it.
                let merged = register_written(lake, ctx, name, &path, df).await?;
                produced.push(path);
                rows.insert(name.to_string(), merged.rows as u64);
            }
            Extension::Recompute => {
                let sql = fill(sql::text(mart.sql)?, config, ctx).await?;
                let df = ctx.sql(&sql).await.map_err(q(name))?;
                let path = layout::mart_day_file(name, run_id, day);
                let written = register_written(lake, ctx, name, &path, df).await?;
                produced.push(path);
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
