//! The `items` table: the versions of every item's attributes, rewritten by each run from
//! the day marts' `item_days` (or extended from the previous run's versions when the run
//! only added later observations to the lake's last day).

use std::collections::BTreeMap;

use datafusion::arrow::array::RecordBatch;
use datafusion::execution::context::SessionContext;
use datafusion::prelude::ParquetReadOptions;
use pricelake_core::layout;
use pricelake_lake::Lake;

use crate::clean::ITEMS_TABLE;
use crate::days;
use crate::error::{q, TransformError};
use crate::manifest::Manifest;
use crate::run::Run;
use crate::sql;
use crate::write::parquet_bytes;

/// The items stage: writes the `items` table after the day marts were `built` (extended
/// from `previous` when [`items_extension`] allows). Returns the number of versions.
pub(crate) async fn write_items(
    run: &mut Run<'_>,
    previous: Option<&Manifest>,
    built: &days::Built,
) -> Result<u64, TransformError> {
    let (lake, ctx, run_id) = (run.lake, &run.ctx, run.id.as_str());
    // Every run writes the whole table: the live files are the previous run's versions.
    let live =
        pricelake_tables::latest_live_files(lake, &run.latest, &layout::clean_table(ITEMS_TABLE))
            .await?
            .map(|t| t.files)
            .unwrap_or_default();
    let items_from = items_extension(previous, built, run_id, live);
    let items_started = std::time::Instant::now();
    let versions = build_items(
        lake,
        ctx,
        run_id,
        items_from.as_ref(),
        &mut run.output.produced,
    )
    .await?;
    // Every run writes the whole table (in its own folder): its commit replaces it.
    run.output.replaced.insert(layout::clean_table(ITEMS_TABLE));
    tracing::debug!(
        versions,
        elapsed_ms = items_started.elapsed().as_millis() as u64,
        "items table written"
    );
    Ok(versions)
}

/// Rewrites the `items` table from every day's `item_days` (or from the previous run's
/// versions and the new stretches, when [`items_extension`] found that enough): one Parquet
/// file per date the versions began on (`clean/items/date=<day>/part-<run>.parquet`, the date
/// in the path only, as in the other clean tables). A few rows per item: collected, then split.
/// Returns the number of versions.
async fn build_items(
    lake: &Lake,
    ctx: &SessionContext,
    run_id: &str,
    extension: Option<&ItemsExtension>,
    produced: &mut Vec<String>,
) -> Result<u64, TransformError> {
    use datafusion::arrow::array::{Array, Date32Array};
    if let Some(extension) = extension {
        register_items_extension(lake, ctx, extension).await?;
    }
    let batches = ctx
        .sql(sql::text("items.sql")?)
        .await
        .map_err(q(ITEMS_TABLE))?
        .collect()
        .await
        .map_err(q(ITEMS_TABLE))?;
    let mut by_date: BTreeMap<i32, Vec<RecordBatch>> = BTreeMap::new();
    let mut versions = 0u64;
    for batch in batches {
        let schema = batch.schema();
        let date_index = schema
            .index_of("date")
            .map_err(|source| TransformError::Arrow {
                table: ITEMS_TABLE.to_string(),
                source,
            })?;
        let dates = batch
            .column(date_index)
            .as_any()
            .downcast_ref::<Date32Array>()
            .filter(|d| d.null_count() == 0)
            .ok_or_else(|| TransformError::Shape {
                table: ITEMS_TABLE.to_string(),
                problem: "`date` is not a non-null Date32".to_string(),
            })?
            .clone();
        let others: Vec<usize> = (0..batch.num_columns())
            .filter(|i| *i != date_index)
            .collect();
        let data = batch
            .project(&others)
            .map_err(|source| TransformError::Arrow {
                table: ITEMS_TABLE.to_string(),
                source,
            })?;
        versions += batch.num_rows() as u64;
        // Rows come ordered by date: cut the batch into runs of one date (zero-copy slices).
        let mut start = 0;
        while start < dates.len() {
            let date = dates.value(start);
            let end = (start..dates.len())
                .find(|&i| dates.value(i) != date)
                .unwrap_or(dates.len());
            by_date
                .entry(date)
                .or_default()
                .push(data.slice(start, end - start));
            start = end;
        }
    }
    for (date, batches) in by_date {
        let day =
            chrono::NaiveDate::from_num_days_from_ce_opt(date + 719_163).ok_or_else(|| {
                TransformError::Shape {
                    table: ITEMS_TABLE.to_string(),
                    problem: format!("day {date} since 1970 is not a calendar date"),
                }
            })?;
        let path = format!(
            "{}/date={day}/part-{run_id}.parquet",
            layout::clean_table(ITEMS_TABLE)
        );
        lake.put(
            &path,
            parquet_bytes(ITEMS_TABLE, batches[0].schema(), &batches)?,
        )
        .await?;
        produced.push(path);
    }
    Ok(versions)
}

/// The inputs of an `items` table extended rather than rebuilt: the previous run's versions
/// and this run's new stretches of the days it extended.
pub(crate) struct ItemsExtension {
    /// The run whose versions are extended.
    pub(crate) previous_run: String,
    /// Its `items` files (`clean/items/date=<day>/part-<run>.parquet`).
    pub(crate) previous_files: Vec<String>,
    /// This run's new stretches of the days it extended ([`days::delta_file`]s).
    pub(crate) new_stretches: Vec<String>,
}

/// When this run only extended the lake's last day, every new stretch is later than every
/// old one, and `items.sql` over the previous run's versions (each one a stretch) followed by
/// the new stretches gives the versions it gives over every day's stretches: a version never
/// spans a change of attributes, so merging it back into stretches loses nothing. Two rows an
/// item to read instead of one per item and day, the slowest part of an hour's run.
pub(crate) fn items_extension(
    previous: Option<&Manifest>,
    built: &days::Built,
    run_id: &str,
    previous_files: Vec<String>,
) -> Option<ItemsExtension> {
    let previous = previous?;
    let last_old_day = previous.days.keys().next_back()?;
    if !built.computed.is_empty()
        || built.extended.is_empty()
        || built.extended.iter().any(|day| day < last_old_day)
    {
        return None;
    }
    if previous_files.is_empty() {
        return None;
    }
    Some(ItemsExtension {
        previous_run: previous.run_id.clone(),
        previous_files,
        new_stretches: built
            .extended
            .iter()
            .map(|day| days::delta_file(run_id, "item_days", day))
            .collect(),
    })
}

/// Puts the previous run's versions and the new stretches in place of `item_days` for
/// `items.sql` (see [`items_extension`]).
async fn register_items_extension(
    lake: &Lake,
    ctx: &SessionContext,
    extension: &ItemsExtension,
) -> Result<(), TransformError> {
    let e = q(ITEMS_TABLE);
    // Each file with the `date` its folder names (the files of other runs share the folders).
    let mut previous_items: Option<datafusion::dataframe::DataFrame> = None;
    for path in &extension.previous_files {
        let date = path
            .split('/')
            .find_map(|segment| segment.strip_prefix("date="))
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(|| TransformError::Shape {
                table: ITEMS_TABLE.to_string(),
                problem: format!("{path} has no date= folder"),
            })?;
        let days = (date - chrono::DateTime::UNIX_EPOCH.date_naive()).num_days() as i32;
        let file = ctx
            .read_parquet(lake.file_url(path), ParquetReadOptions::default())
            .await
            .map_err(&e)?
            .with_column(
                "date",
                datafusion::prelude::lit(datafusion::scalar::ScalarValue::Date32(Some(days))),
            )
            .map_err(&e)?;
        previous_items = Some(match previous_items {
            None => file,
            Some(all) => all.union(file).map_err(&e)?,
        });
    }
    let previous_items = previous_items.ok_or_else(|| TransformError::Shape {
        table: ITEMS_TABLE.to_string(),
        problem: "no previous items file".to_string(),
    })?;
    ctx.deregister_table("previous_items").map_err(&e)?;
    ctx.register_table("previous_items", previous_items.into_view())
        .map_err(&e)?;
    let urls: Vec<String> = extension
        .new_stretches
        .iter()
        .map(|p| lake.file_url(p))
        .collect();
    let new_stretches = ctx
        .read_parquet(urls, ParquetReadOptions::default())
        .await
        .map_err(&e)?;
    ctx.deregister_table("new_item_days").map_err(&e)?;
    ctx.register_table("new_item_days", new_stretches.into_view())
        .map_err(&e)?;
    ctx.deregister_table("item_days").map_err(&e)?;
    ctx.sql(&format!(
        "CREATE VIEW item_days AS {}",
        sql::text("views/extended_item_days.sql")?
    ))
    .await
    .map_err(&e)?;
    tracing::debug!(
        previous_run = extension.previous_run,
        "items extended from the previous run's versions"
    );
    Ok(())
}
