//! Extending a day by observations later than all of its own (see the module above): the
//! marts of the new observations alone, merged into the previous run's files of the day.

use std::collections::BTreeMap;

use datafusion::execution::context::SessionContext;
use datafusion::prelude::ParquetReadOptions;
use pricelake_core::layout;
use pricelake_lake::Lake;

use super::{
    append_sql, copy_day, deduplicate, latest_observation, register_day_inputs, APPENDED_MARTS,
};
use crate::manifest::{DayStats, Manifest};
use crate::{fill, mart_sql, parse, q, write_mart, TransformConfig, TransformError};

/// `item_days`' rows of the new observations for an extension: each observation a stretch of
/// its own, which `sql/append/item_days.sql` merges with the ones alike before and after it.
/// A projection, where `item_days.sql`'s stretches take windows over every new observation.
pub(super) const NEW_STRETCHES: &str = "SELECT CAST(observed_at AS DATE) AS date, item_id, \
    observed_at AS first_seen, observed_at AS last_seen, CAST(1 AS BIGINT) AS observations, \
    name, brand, category_path, category FROM obs";

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
    for mart in APPENDED_MARTS {
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
    // `prices_fx` keeps the day's files as they are and gains one for the new observations.
    let Some(mut copied) = copy_day(lake, previous_files, "prices_fx", run_id, day).await else {
        return Ok(None);
    };
    produced.append(&mut copied);

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
    let sql = fill(mart_sql("prices_fx"), config, ctx).await?;
    let df = ctx.sql(&sql).await.map_err(q("prices_fx"))?;
    let path = super::extension_file("prices_fx", run_id, day);
    let segment = register_written(lake, ctx, "prices_fx", &path, df).await?;
    produced.push(path);
    rows.insert(
        "prices_fx".to_string(),
        old.rows.get("prices_fx").copied().unwrap_or(0) + segment.rows as u64,
    );

    for mart in APPENDED_MARTS {
        let sql = match *mart {
            "item_days" => NEW_STRETCHES.to_string(),
            _ => fill(mart_sql(mart), config, ctx).await?,
        };
        let df = ctx.sql(&sql).await.map_err(q(mart))?;
        let delta = super::delta_file(run_id, mart, day);
        register_written(lake, ctx, "delta", &delta, df).await?;
        ctx.deregister_table("previous").map_err(q(mart))?;
        ctx.register_parquet(
            "previous",
            lake.file_url(&layout::mart_day_file(mart, &previous.run_id, day)),
            ParquetReadOptions::default(),
        )
        .await
        .map_err(q(mart))?;
        let df = ctx.sql(append_sql(mart)).await.map_err(q(mart))?;
        let path = layout::mart_day_file(mart, run_id, day);
        // Registered under the mart's name: `category_daily` reads the merged `discounts`.
        let merged = register_written(lake, ctx, mart, &path, df).await?;
        produced.push(path);
        rows.insert(mart.to_string(), merged.rows as u64);
    }
    let sql = fill(mart_sql("category_daily"), config, ctx).await?;
    let df = ctx.sql(&sql).await.map_err(q("category_daily"))?;
    let path = layout::mart_day_file("category_daily", run_id, day);
    let written = register_written(lake, ctx, "category_daily", &path, df).await?;
    produced.push(path);
    rows.insert("category_daily".to_string(), written.rows as u64);

    Ok(Some(DayStats {
        computed_by: run_id.to_string(),
        observations: old.observations + observations,
        duplicates: old.duplicates + observations.saturating_sub(deduplicated),
        missing_rates: old.missing_rates + segment.null_rates,
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
) -> Result<crate::WrittenMart, TransformError> {
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
