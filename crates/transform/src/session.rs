//! The engine session a run plans in, and what its marts read there: the clean tables (each
//! a folder of Parquet parts, or for a full refresh only this run's files), the views of
//! the rates and the currencies, and the deduplicated rates written once per run.

use std::collections::BTreeSet;

use datafusion::arrow::datatypes::DataType;
use datafusion::execution::context::SessionContext;
use datafusion::prelude::{ParquetReadOptions, SessionConfig};
use pricelake_core::layout;
use pricelake_lake::Lake;

use crate::clean::{DayFiles, PARTED_TABLES};
use crate::config::TransformConfig;
use crate::engine::Engine;
use crate::error::{q, TransformError};
use crate::gc::WORK_PREFIX;
use crate::parse;
use crate::run::Run;
use crate::sql;
use crate::write::write_mart;

/// Plain `Utf8` strings rather than views, in plans and in Parquet reads: the types the
/// mart files are written with. Every party to a plan must agree on them (a Ballista
/// scheduler and its executors too, or their plans and metrics disagree).
pub fn with_plain_types(config: SessionConfig) -> SessionConfig {
    config
        .set_bool(
            "datafusion.execution.parquet.schema_force_view_types",
            false,
        )
        .set_bool("datafusion.sql_parser.map_string_types_to_utf8view", false)
}

/// A session on `engine` that reaches the lake. Its tables come from [`register_tables`].
pub(crate) async fn session(
    lake: &Lake,
    config: &TransformConfig,
    engine: &Engine,
) -> Result<SessionContext, TransformError> {
    let mut session_config = with_plain_types(SessionConfig::new())
        // A hash join whose build side is at most this big collects it as one partition
        // instead of hash-partitioning both sides: the probe side then keeps its order, which
        // is how a day's `prices_fx` comes out sorted without a sort (`sql/prices_fx.sql`;
        // its build side, the day's `rates`, is some 260,000 rows and 10 MB at 20,000 items
        // polled hourly). DataFusion's defaults, 128 K rows and 1 MB, would partition it.
        .set_usize(
            "datafusion.optimizer.hash_join_single_partition_threshold",
            COLLECTED_BUILD_SIDE_BYTES,
        )
        .set_usize(
            "datafusion.optimizer.hash_join_single_partition_threshold_rows",
            COLLECTED_BUILD_SIDE_ROWS,
        );
    if config.target_partitions > 0 {
        session_config = session_config.with_target_partitions(config.target_partitions);
    }
    let memory_limit =
        usize::try_from(config.memory_limit_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    if memory_limit > 0 {
        // Each sort holds this much back to merge its spills (10 MiB by default). A day's
        // deduplication runs three sorts per partition while the next day's marts sort too:
        // at the smallest bound (32 MiB) their reservations alone could take the whole pool,
        // and a sort then failed to start under load (seen in the memory-bound test). A
        // thirty-second of the bound each, at most the default, leaves room to work.
        session_config = session_config.set_usize(
            "datafusion.execution.sort_spill_reservation_bytes",
            SORT_SPILL_RESERVATION_BYTES.min(memory_limit / 32),
        );
    }
    let ctx = engine.context(session_config, memory_limit).await?;
    let url = url::Url::parse(lake.store_url()).map_err(|source| TransformError::LakeUrl {
        url: lake.store_url().to_string(),
        source,
    })?;
    ctx.register_object_store(&url, lake.store());
    Ok(ctx)
}

/// DataFusion's default reservation of a sort for merging its spills (see [`session`]).
const SORT_SPILL_RESERVATION_BYTES: usize = 10 << 20;

/// The largest build side, in bytes and in rows, that a hash join collects whole (see
/// [`session`]).
const COLLECTED_BUILD_SIDE_BYTES: usize = 128 << 20;
const COLLECTED_BUILD_SIDE_ROWS: usize = 4 << 20;

/// Registers what the marts read (see [`register_tables`] and [`materialize_rates`]) and
/// returns the configured currencies that no rate in the lake quotes, warning about them.
pub(crate) async fn register_inputs(
    run: &Run<'_>,
    clean_files: &[DayFiles; 3],
) -> Result<Vec<String>, TransformError> {
    let (lake, ctx, config) = (run.lake, &run.ctx, run.config);
    register_tables(lake, ctx, config, clean_files).await?;
    materialize_rates(lake, ctx, &run.id).await?;
    let unquoted_currencies = unquoted(ctx, config).await?;
    if !unquoted_currencies.is_empty() {
        tracing::warn!(
            currencies = unquoted_currencies.join(","),
            "configured currencies with no rate anywhere in the lake: their prices_fx prices are null; \
             add them to [sources.currencylayer] currencies or remove them from [transform] currencies"
        );
    }
    Ok(unquoted_currencies)
}

/// Registers the clean tables, the deduplicated rates (`fx`) and the currency list. The
/// deduplicated observations (`obs`) are registered one day at a time by [`crate::days`].
///
/// A table is the files the run reads of it ([`crate::clean::files_to_read`]), never its
/// folder, which also holds files of its earlier versions.
pub(crate) async fn register_tables(
    lake: &Lake,
    ctx: &SessionContext,
    config: &TransformConfig,
    clean_files: &[DayFiles; 3],
) -> Result<(), TransformError> {
    let schemas = [
        parse::observations_schema(),
        parse::fx_schema(),
        parse::trending_schema(),
    ];
    for (i, ((table, time), schema)) in PARTED_TABLES.iter().zip(schemas).enumerate() {
        // File-backed (a listing of files, also when empty) so that the same plans can run on
        // Ballista; `date` is the Hive partition its folder (`date=YYYY-MM-DD`) names.
        let options = ParquetReadOptions::default()
            .schema(&schema)
            .table_partition_cols(vec![("date".to_string(), DataType::Date32)]);
        let folder = lake.table_url(&layout::clean_table(table));
        let files: Vec<String> = clean_files[i]
            .values()
            .flatten()
            .map(|p| lake.file_url(p))
            .collect();
        let df = if files.is_empty() {
            // No file: the folder's columns, none of its rows.
            ctx.read_parquet(folder, options)
                .await
                .map_err(q(table))?
                .filter(datafusion::prelude::lit(false))
                .map_err(q(table))?
        } else {
            // The listed files, with the `date` their folder names (the day of `time`).
            ctx.read_parquet(files, ParquetReadOptions::default().schema(&schema))
                .await
                .map_err(q(table))?
                .with_column(
                    "date",
                    datafusion::prelude::cast(datafusion::prelude::col(*time), DataType::Date32),
                )
                .map_err(q(table))?
        };
        ctx.register_table(*table, df.into_view())
            .map_err(q(table))?;
    }
    for view in ["fx", "currencies"] {
        let body = sql::fill_from_config(sql::text(&format!("views/{view}.sql"))?, config);
        ctx.sql(&format!("CREATE VIEW {view} AS {body}"))
            .await
            .map_err(q(view))?;
    }
    Ok(())
}

/// Computes the deduplicated rates (`fx`) once and puts a file in place of the view: every
/// day's `prices_fx` and `fx_daily` read them, and as a view each would sort every rate again.
pub(crate) async fn materialize_rates(
    lake: &Lake,
    ctx: &SessionContext,
    run_id: &str,
) -> Result<(), TransformError> {
    let df = ctx.table("fx").await.map_err(q("fx"))?;
    let folder = format!("{WORK_PREFIX}/run={run_id}/fx");
    let written = write_mart(lake, &format!("{folder}/part-0.parquet"), df)
        .await
        .map_err(|e| e.for_mart("fx"))?;
    ctx.deregister_table("fx").map_err(q("fx"))?;
    ctx.register_parquet(
        "fx",
        lake.table_url(&folder),
        ParquetReadOptions::default().schema(&written.schema),
    )
    .await
    .map_err(q("fx"))?;
    Ok(())
}

/// The configured currencies (but the base) that no rate in the lake quotes: every price
/// converted to them is null. Read from the run's deduplicated rates, a few rows per hour.
async fn unquoted(
    ctx: &SessionContext,
    config: &TransformConfig,
) -> Result<Vec<String>, TransformError> {
    use datafusion::arrow::array::{Array, StringArray};
    let batches = ctx
        .sql("SELECT DISTINCT quote FROM fx")
        .await
        .map_err(q("fx"))?
        .collect()
        .await
        .map_err(q("fx"))?;
    let mut quoted = BTreeSet::new();
    for batch in &batches {
        if let Some(quotes) = batch.column(0).as_any().downcast_ref::<StringArray>() {
            quoted.extend(
                (0..quotes.len())
                    .filter(|i| quotes.is_valid(*i))
                    .map(|i| quotes.value(i).to_string()),
            );
        }
    }
    Ok(config
        .currencies
        .iter()
        .filter(|c| **c != config.base_currency && !quoted.contains(*c))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect())
}
