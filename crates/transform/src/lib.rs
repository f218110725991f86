//! Incremental processing on Apache DataFusion: raw zone -> clean tables -> marts.
//!
//! A run parses only raw objects no committed run consumed (in Rust, a chunk of objects at a
//! time), writes them as Parquet parts of the clean tables, recomputes the marts kept by day
//! for the days it touched (the rest are carried over, see [`days`]) and the marts over the
//! whole lake, with the SQL files in `sql/` (readable and extensible), and commits by
//! writing its manifest last. Files of a run that never committed are deleted by the next
//! run, so a crashed run followed by a clean one equals one clean run. Duplicates (same
//! record id; same item and time) are removed in SQL, so replays never double-count.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::execution::context::SessionContext;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;
use datafusion::prelude::{ParquetReadOptions, SessionConfig};
use pricelake_core::{layout, marts, Metrics, SharedClock};
use pricelake_lake::Lake;
use serde::Serialize;

pub mod cluster;
mod config;
mod days;
mod engine;
mod manifest;
mod parquet_out;
pub mod parse;
mod sql;
mod verify;

pub use config::TransformConfig;
pub use engine::Engine;
pub use manifest::{all_manifests, latest_manifest, DayStats, Manifest};
pub use verify::mart_duplicates;

/// The clean tables. The first three grow by a part per run and date; `items` (the versions
/// of every item's attributes) is rewritten by each run under `clean/items/run=<run>/`,
/// because a late observation can split or merge versions that began days earlier.
pub const CLEAN_TABLES: &[&str] = &[
    "price_observations",
    "fx_rates",
    "trending_appearances",
    ITEMS_TABLE,
];

/// The clean table of item versions (see [`CLEAN_TABLES`]).
pub const ITEMS_TABLE: &str = "items";

/// What can go wrong while processing.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// The lake failed.
    #[error("lake: {0}")]
    Lake(#[from] pricelake_lake::LakeError),
    /// A query failed.
    #[error("query {mart}: {source}")]
    Query {
        /// Which mart or table.
        mart: String,
        /// DataFusion's error.
        source: datafusion::error::DataFusionError,
    },
    /// Parquet could not be written.
    #[error("parquet: {0}")]
    Parquet(String),
    /// The engine could not be reached or cannot run on this lake.
    #[error("engine {0}")]
    EngineUnavailable(String),
    /// The mart registry names a SQL file this build does not hold.
    #[error("no SQL file sql/{0} in this build")]
    MissingSql(String),
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProcessReport {
    /// The run's id (empty when skipped).
    pub run_id: String,
    /// Raw objects consumed.
    pub consumed_objects: usize,
    /// Rows per clean table and per mart.
    pub rows: BTreeMap<String, u64>,
    /// Rows rejected, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Duplicate observations removed.
    pub duplicates_removed: u64,
    /// Marts written.
    pub marts: Vec<String>,
    /// Nothing new: nothing was written.
    pub skipped: bool,
    /// Configured currencies no rate in the lake quotes (their converted prices are null).
    pub unquoted_currencies: Vec<String>,
}

/// Compressed raw bytes parsed at a time (about ten times that in parsed rows).
const PARSE_CHUNK_RAW_BYTES: usize = 32 << 20;

/// Processes new raw objects (all of them with `full_refresh`) into clean tables and marts.
pub async fn process(
    lake: &Lake,
    config: &TransformConfig,
    engine: &Engine,
    clock: SharedClock,
    metrics: Metrics,
    full_refresh: bool,
) -> Result<ProcessReport, TransformError> {
    if *engine != Engine::Local && !lake.store_url().starts_with("file:") {
        return Err(TransformError::EngineUnavailable(format!(
            "{engine}: Ballista executors read the lake from a shared folder (file://); \
             an object-store lake runs with --engine local"
        )));
    }
    // A full refresh writes its run beside the current one (new clean parts, new `run=`
    // folders) and becomes current only when its manifest commits: until then, and for ever
    // if it fails or is killed, the previous run stays current and served.
    let (manifests, superseded) = manifest::chain(lake).await?;
    remove_uncommitted(lake, &manifests).await?;
    manifest::remove_superseded(lake, &superseded).await?;
    remove_work(lake).await?;
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
        return Ok(ProcessReport {
            skipped: true,
            ..ProcessReport::default()
        });
    }
    // The engine first: one that cannot be reached fails the run before it writes anything.
    let ctx = session(lake, config, engine).await?;
    let started_at = clock.now();
    let run_id = next_run_id(manifests.last().map(|m| m.run_id.as_str()), started_at);

    // Parse stage, a chunk of raw objects at a time: memory holds two chunks' rows (one
    // parsed, one written), whatever the size of the run. Each chunk writes its own parts.
    let mut produced = Vec::new();
    let mut counts = [0u64; 3];
    // Per table (observations, rates, trending appearances): the earliest new row of each
    // day, and the files written for it.
    let mut new_days: [NewRows; 3] = Default::default();
    let mut rejected_records = Vec::new();
    let mut chunk = 0usize;
    let mut objects = new_objects.iter();
    let parse_started = std::time::Instant::now();
    let workers = match config.target_partitions {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    // A pipeline of two: chunk k's rows are encoded and written while chunk k + 1 is
    // parsed on the worker threads (the writing task would otherwise leave them idle).
    let mut parsed_chunk: Option<parse::Parsed> = None;
    // Time spent parsing and writing chunks (each overlapping the other), to see which one
    // the stage waits on.
    let (mut parsing, mut writing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    loop {
        let mut chunk_objects = Vec::new();
        let mut raw_bytes = 0usize;
        while raw_bytes < PARSE_CHUNK_RAW_BYTES {
            let Some(path) = objects.next() else {
                break;
            };
            if let Some(bytes) = lake.get(path).await? {
                raw_bytes += bytes.len();
                chunk_objects.push((path.clone(), bytes));
            }
        }
        if chunk_objects.is_empty() && parsed_chunk.is_none() {
            break;
        }
        let parse_next = async {
            if chunk_objects.is_empty() {
                None
            } else {
                let started = std::time::Instant::now();
                let parsed = parse::Parsed::from_objects(chunk_objects, workers).await;
                parsing += started.elapsed();
                Some(parsed)
            }
        };
        let write_previous = async {
            let started = std::time::Instant::now();
            let written = match parsed_chunk.take() {
                Some(mut parsed) => {
                    let part = format!("{run_id}-c{chunk:05}");
                    write_chunk(
                        lake,
                        &part,
                        &parsed,
                        &mut counts,
                        &mut new_days,
                        &mut produced,
                    )
                    .await?;
                    rejected_records.append(&mut parsed.rejected);
                    chunk += 1;
                    Ok::<_, TransformError>(())
                }
                None => Ok(()),
            };
            writing += started.elapsed();
            written
        };
        let (next, written) = tokio::join!(parse_next, write_previous);
        written?;
        parsed_chunk = next;
    }
    tracing::info!(
        objects = new_objects.len(),
        chunks = chunk,
        elapsed_ms = parse_started.elapsed().as_millis() as u64,
        parsing_ms = parsing.as_millis() as u64,
        writing_ms = writing.as_millis() as u64,
        "raw objects parsed into the clean tables"
    );
    let mut rows = BTreeMap::new();
    rows.insert("price_observations".to_string(), counts[0]);
    rows.insert("fx_rates".to_string(), counts[1]);
    rows.insert("trending_appearances".to_string(), counts[2]);
    let parsed = parse::Parsed {
        rejected: rejected_records,
        ..parse::Parsed::default()
    };
    let rejected = parsed.rejected_by_reason();
    write_rejections(lake, &run_id, &parsed.rejected, &mut produced).await?;
    for (reason, n) in &rejected {
        metrics.add(
            pricelake_core::metrics::names::DEAD_LETTERS,
            &[("stage", "transform"), ("reason", reason)],
            *n,
        );
    }

    // Marts: those kept by day for the days this run touched (the rest carried over), then
    // those over the whole lake.
    // A full refresh reads only its own clean parts: the previous run's are still there,
    // and still current, until this run commits.
    let own_parts = full_refresh.then_some(&new_days);
    register_tables(lake, &ctx, config, own_parts).await?;
    materialize_rates(lake, &ctx, &run_id).await?;
    let unquoted_currencies = unquoted(&ctx, config).await?;
    if !unquoted_currencies.is_empty() {
        tracing::warn!(
            currencies = unquoted_currencies.join(","),
            "configured currencies with no rate anywhere in the lake: their prices_fx prices are null; \
             add them to [sources.currencylayer] currencies or remove them from [transform] currencies"
        );
    }
    let previous = manifests
        .last()
        .filter(|m| !full_refresh && m.marts_fingerprint == marts_fingerprint);
    let all_days = match own_parts {
        Some(own) => own[0].files.keys().cloned().collect(),
        None => days::observation_days(lake).await?,
    };
    let plan = days::plan(
        &all_days,
        previous,
        &new_days[0].earliest,
        new_days[1].earliest.values().min().copied(),
    );
    tracing::info!(
        computed = plan.compute.len(),
        carried = plan.carry.len(),
        extended = plan.append.len(),
        "days of the day marts"
    );
    let built = days::build(
        lake,
        &ctx,
        config,
        &run_id,
        plan,
        previous,
        &new_days[0].files,
        full_refresh,
        &mut produced,
    )
    .await?;
    let items_from = items_extension(previous, &built, &run_id);
    let day_stats = built.days;
    let duplicates_removed = day_stats.values().map(|d| d.duplicates).sum();
    for mart in marts::by_day() {
        let total = day_stats
            .values()
            .filter_map(|d| d.rows.get(mart.name))
            .sum();
        rows.insert(format!("mart.{}", mart.name), total);
    }
    // Observations with no rate at or before them: kept with null prices, counted.
    let missing_rates = day_stats.values().map(|d| d.missing_rates).sum();
    rows.insert("mart.prices_fx.missing_rate".to_string(), missing_rates);
    metrics.add(
        "pricelake_transform_missing_fx_rate_total",
        &[("mart", "prices_fx")],
        missing_rates,
    );
    for mart in marts::over_the_lake() {
        let name = mart.name;
        let sql = fill(sql::text(mart.sql)?, config, &ctx).await?;
        let df = ctx.sql(&sql).await.map_err(q(name))?;
        let path = layout::mart_file(name, &run_id);
        let written = write_mart(lake, &path, df)
            .await
            .map_err(|e| e.for_mart(name))?;
        // Later marts read earlier ones from the file just written rather than re-running
        // them: a file-backed table, so the same plans can run on Ballista.
        ctx.deregister_table(name).ok();
        ctx.register_parquet(
            name,
            lake.table_url(&layout::mart_run(name, &run_id)),
            ParquetReadOptions::default().schema(&written.schema),
        )
        .await
        .map_err(q(name))?;
        rows.insert(format!("mart.{name}"), written.rows as u64);
        produced.push(path);
    }
    // Every public mart, in listing order (`item_days` is kept by day too, but only as the
    // `items` table's input: not a mart).
    let marts: Vec<String> = marts::names().map(str::to_string).collect();
    let items_started = std::time::Instant::now();
    let versions = build_items(lake, &ctx, &run_id, items_from.as_ref(), &mut produced).await?;
    tracing::debug!(
        versions,
        elapsed_ms = items_started.elapsed().as_millis() as u64,
        "items table written"
    );
    rows.insert(ITEMS_TABLE.to_string(), versions);

    let manifest = Manifest {
        run_id: run_id.clone(),
        started_at,
        finished_at: clock.now(),
        consumed: new_objects.clone(),
        produced,
        rows: rows.clone(),
        rejected: rejected.clone(),
        duplicates_removed,
        days: day_stats,
        marts_fingerprint,
        full_refresh,
        unquoted_currencies: unquoted_currencies.clone(),
    };
    let commit_started = std::time::Instant::now();
    manifest::commit(lake, &manifest).await?;
    if full_refresh {
        // Every earlier run is superseded: its clean parts and rejections go, then its
        // manifest (its marts and `items` as below: the previous run's stay for a reader
        // still loading them, until the next run). A crash in between: the next run
        // finishes it ([`manifest::chain`] ignores superseded manifests).
        remove_runs_before(lake, &run_id).await?;
        let superseded: Vec<String> = manifests.iter().map(|m| m.run_id.clone()).collect();
        manifest::remove_superseded(lake, &superseded).await?;
    }
    for prefix in ["marts".to_string(), layout::clean_table(ITEMS_TABLE)] {
        remove_old_runs(lake, &prefix, &run_id).await?;
    }
    remove_work(lake).await?;
    tracing::debug!(
        elapsed_ms = commit_started.elapsed().as_millis() as u64,
        "manifest written, older runs and intermediate tables removed"
    );
    metrics.add(
        pricelake_core::metrics::names::RECORDS_DELIVERED,
        &[("component", "transform")],
        counts[0] + counts[1],
    );
    tracing::info!(run_id, objects = new_objects.len(), "process run committed");
    Ok(ProcessReport {
        run_id,
        consumed_objects: new_objects.len(),
        rows,
        rejected,
        duplicates_removed,
        marts,
        skipped: false,
        unquoted_currencies,
    })
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

/// What streaming one mart into its Parquet file found.
pub(crate) struct WrittenMart {
    pub(crate) schema: SchemaRef,
    pub(crate) rows: usize,
    /// Rows whose `rate` is null (a mart without that column: 0).
    pub(crate) null_rates: u64,
}

/// Streams a mart's rows into one Parquet object as the engine produces them, each column
/// encoded by its own task ([`parquet_out`]): memory holds a row group's encoded pages at a
/// time, not the mart. The object is written as a multipart upload that
/// becomes visible only when complete (a crash leaves no partial file under its name), and
/// the run is committed by its manifest afterwards anyway.
pub(crate) async fn write_mart(
    lake: &Lake,
    path: &str,
    df: datafusion::dataframe::DataFrame,
) -> Result<WrittenMart, MartWriteError> {
    use futures::StreamExt;
    let started = std::time::Instant::now();
    let mut stream = df.execute_stream().await.map_err(MartWriteError::Query)?;
    let schema = stream.schema();
    let props = writer_properties();
    let object = object_store::buffered::BufWriter::new(lake.store(), lake.path(path));
    let mut writer = parquet_out::ParallelParquetWriter::try_new(object, schema.clone(), props)
        .map_err(|e| MartWriteError::Parquet(e.to_string()))?;
    let (mut rows, mut null_rates) = (0usize, 0u64);
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(MartWriteError::Query)?;
        rows += batch.num_rows();
        null_rates += missing_rates(std::slice::from_ref(&batch));
        writer
            .write(&batch)
            .await
            .map_err(|e| MartWriteError::Parquet(e.to_string()))?;
    }
    writer
        .close()
        .await
        .map_err(|e| MartWriteError::Parquet(e.to_string()))?;
    // Where a run spends its time: every mart, day mart and intermediate table passes here.
    tracing::debug!(
        path,
        rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "table written"
    );
    Ok(WrittenMart {
        schema,
        rows,
        null_rates,
    })
}

/// [`write_mart`]'s failures, named after their mart by [`MartWriteError::for_mart`].
pub(crate) enum MartWriteError {
    Query(datafusion::error::DataFusionError),
    Parquet(String),
}

impl MartWriteError {
    pub(crate) fn for_mart(self, mart: &str) -> TransformError {
        match self {
            MartWriteError::Query(source) => TransformError::Query {
                mart: mart.to_string(),
                source,
            },
            MartWriteError::Parquet(e) => TransformError::Parquet(format!("{mart}: {e}")),
        }
    }
}

fn missing_rates(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .filter_map(|b| b.column_by_name("rate"))
        .map(|c| c.null_count() as u64)
        .sum()
}

pub(crate) fn q(mart: &str) -> impl Fn(datafusion::error::DataFusionError) -> TransformError + '_ {
    move |source| TransformError::Query {
        mart: mart.to_string(),
        source,
    }
}

/// `YYYYMMDDTHHMMSSZ-<8-digit sequence>`: never earlier than the last run's, so ids sort
/// in commit order even when two runs share a second or the clock moves backwards (a
/// simulated demo followed by a real run).
fn next_run_id(last: Option<&str>, now: DateTime<Utc>) -> String {
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let (last_stamp, last_seq) = last
        .and_then(|l| l.split_once('-'))
        .map(|(s, n)| (s.to_string(), n.parse::<u64>().unwrap_or(0)))
        .unwrap_or_default();
    format!("{}-{:08}", stamp.max(last_stamp), last_seq + 1)
}

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
async fn session(
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
    let ctx = engine.context(session_config, memory_limit).await?;
    let url =
        url::Url::parse(lake.store_url()).map_err(|e| TransformError::Parquet(e.to_string()))?;
    ctx.register_object_store(&url, lake.store());
    Ok(ctx)
}

/// The clean tables of a run, each with its time column (the `date` partition is its day).
const PARTED_TABLES: [(&str, &str); 3] = [
    ("price_observations", "observed_at"),
    ("fx_rates", "rate_time"),
    ("trending_appearances", "trend_time"),
];

/// Registers the clean tables, the deduplicated rates (`fx`) and the currency list. The
/// deduplicated observations (`obs`) are registered one day at a time by [`days`].
///
/// A table is its folder, every run's parts, or with `own_parts` (a full refresh) only the
/// files this run wrote: the superseded runs' parts are still there until it commits.
async fn register_tables(
    lake: &Lake,
    ctx: &SessionContext,
    config: &TransformConfig,
    own_parts: Option<&[NewRows; 3]>,
) -> Result<(), TransformError> {
    let schemas = [
        parse::observations_schema(),
        parse::fx_schema(),
        parse::trending_schema(),
    ];
    for (i, ((table, time), schema)) in PARTED_TABLES.iter().zip(schemas).enumerate() {
        // A file-backed listing table with the Hive partition `date` (from `date=YYYY-MM-DD`),
        // even when empty, so the same plans can run on Ballista.
        let options = ParquetReadOptions::default()
            .schema(&schema)
            .table_partition_cols(vec![("date".to_string(), DataType::Date32)]);
        let folder = lake.table_url(&layout::clean_table(table));
        let Some(own) = own_parts else {
            ctx.register_parquet(*table, folder, options)
                .await
                .map_err(q(table))?;
            continue;
        };
        let files: Vec<String> = own[i]
            .files
            .values()
            .flatten()
            .map(|p| lake.file_url(p))
            .collect();
        let df = if files.is_empty() {
            // No part of its own: the folder's columns, none of its rows.
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

/// The largest build side, in bytes and in rows, that a hash join collects whole (see
/// [`session`]).
const COLLECTED_BUILD_SIDE_BYTES: usize = 128 << 20;
const COLLECTED_BUILD_SIDE_ROWS: usize = 4 << 20;

/// Where a run keeps intermediate tables; removed when the run commits, and at the start of
/// the next run after a crash.
pub(crate) const WORK_PREFIX: &str = "_work";

/// Computes the deduplicated rates (`fx`) once and puts a file in place of the view: every
/// day's `prices_fx` and `fx_daily` read them, and as a view each would sort every rate again.
async fn materialize_rates(
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

/// Removes intermediate tables (a run's own once it committed; a crashed run's at the next).
async fn remove_work(lake: &Lake) -> Result<(), TransformError> {
    for object in lake.list(WORK_PREFIX).await? {
        lake.delete(&object.path).await?;
    }
    Ok(())
}

/// Fills a mart's placeholders.
pub(crate) async fn fill(
    sql: &str,
    config: &TransformConfig,
    ctx: &SessionContext,
) -> Result<String, TransformError> {
    let mut sql = sql::fill_from_config(sql, config);
    if sql.contains("{basket_ids}") {
        sql = sql.replace("{basket_ids}", &basket_ids(config, ctx).await?);
    }
    Ok(sql)
}

/// The configured basket, or the 10 items with a price on the most days (from `discounts`,
/// one row per item and day, so no run re-reads every observation to choose it).
async fn basket_ids(
    config: &TransformConfig,
    ctx: &SessionContext,
) -> Result<String, TransformError> {
    let ids: Vec<String> = if config.basket_item_ids.is_empty() {
        let q = |source| TransformError::Query {
            mart: "basket".into(),
            source,
        };
        // Counted by the engine, ranked here: a top-N (`ORDER BY .. LIMIT`) plans as a TopK
        // sort whose shared filter Ballista 55 rebuilds with zero emitters on executors.
        let batches = ctx
            .sql("SELECT item_id, COUNT(*) AS n FROM discounts GROUP BY item_id")
            .await
            .map_err(q)?
            .collect()
            .await
            .map_err(q)?;
        let mut counts: Vec<(i64, i64)> = Vec::new();
        for batch in &batches {
            let ids = batch
                .column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>();
            let ns = batch
                .column(1)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>();
            if let (Some(ids), Some(ns)) = (ids, ns) {
                counts.extend(
                    ids.values()
                        .iter()
                        .copied()
                        .zip(ns.values().iter().copied()),
                );
            }
        }
        counts.sort_unstable_by_key(|&(id, n)| (std::cmp::Reverse(n), id));
        counts
            .into_iter()
            .take(10)
            .map(|(id, _)| id.to_string())
            .collect()
    } else {
        config.basket_item_ids.iter().map(u64::to_string).collect()
    };
    Ok(if ids.is_empty() {
        "NULL".to_string()
    } else {
        ids.join(", ")
    })
}

/// How every table and mart is written: Snappy, and no dictionary for `record_id`. A record
/// id is a hash, unique per row of the clean tables (and per observation in `prices_fx`), so
/// its dictionary only fills up and falls back to plain values after every value has been
/// hashed and interned: the writer's costliest column, for nothing.
fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_column_dictionary_enabled(ColumnPath::from("record_id"), false)
        .build()
}

fn parquet_bytes(schema: SchemaRef, batches: &[RecordBatch]) -> Result<Bytes, TransformError> {
    let props = writer_properties();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, schema, Some(props))
        .map_err(|e| TransformError::Parquet(e.to_string()))?;
    for batch in batches {
        writer
            .write(batch)
            .map_err(|e| TransformError::Parquet(e.to_string()))?;
    }
    writer
        .close()
        .map_err(|e| TransformError::Parquet(e.to_string()))?;
    Ok(Bytes::from(buffer))
}

/// Rewrites the `items` table from every day's `item_days` (or from the previous run's
/// versions and the new stretches, when [`items_extension`] found that enough): one Parquet
/// file per date the versions began on (`clean/items/run=<run>/date=<day>/part-0.parquet`, the date in the
/// path only, as in the other clean tables). A few rows per item: collected, then split.
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
            .map_err(|e| TransformError::Parquet(format!("{ITEMS_TABLE}: no date column: {e}")))?;
        let dates = batch
            .column(date_index)
            .as_any()
            .downcast_ref::<Date32Array>()
            .filter(|d| d.null_count() == 0)
            .ok_or_else(|| {
                TransformError::Parquet(format!("{ITEMS_TABLE}: date is not a non-null Date32"))
            })?
            .clone();
        let others: Vec<usize> = (0..batch.num_columns())
            .filter(|i| *i != date_index)
            .collect();
        let data = batch
            .project(&others)
            .map_err(|e| TransformError::Parquet(e.to_string()))?;
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
        let day = chrono::NaiveDate::from_num_days_from_ce_opt(date + 719_163)
            .ok_or_else(|| TransformError::Parquet(format!("{ITEMS_TABLE}: date {date}")))?;
        let path = format!(
            "{}/run={run_id}/date={day}/part-0.parquet",
            layout::clean_table(ITEMS_TABLE)
        );
        lake.put(&path, parquet_bytes(batches[0].schema(), &batches)?)
            .await?;
        produced.push(path);
    }
    Ok(versions)
}

/// The inputs of an `items` table extended rather than rebuilt: the previous run's versions
/// and this run's new stretches of the days it extended.
struct ItemsExtension {
    previous_run: String,
    new_stretches: Vec<String>,
}

/// When this run only extended the lake's last day, every new stretch is later than every
/// old one, and `items.sql` over the previous run's versions (each one a stretch) followed by
/// the new stretches gives the versions it gives over every day's stretches: a version never
/// spans a change of attributes, so merging it back into stretches loses nothing. Two rows an
/// item to read instead of one per item and day, the slowest part of an hour's run.
fn items_extension(
    previous: Option<&Manifest>,
    built: &days::Built,
    run_id: &str,
) -> Option<ItemsExtension> {
    let previous = previous?;
    let last_old_day = previous.days.keys().next_back()?;
    if built.computed > 0
        || built.extended.is_empty()
        || built.extended.iter().any(|day| day < last_old_day)
    {
        return None;
    }
    let old_items = format!(
        "{}/run={}/",
        layout::clean_table(ITEMS_TABLE),
        previous.run_id
    );
    if !previous.produced.iter().any(|p| p.starts_with(&old_items)) {
        return None;
    }
    Some(ItemsExtension {
        previous_run: previous.run_id.clone(),
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
    let folder = format!(
        "{}/run={}",
        layout::clean_table(ITEMS_TABLE),
        extension.previous_run
    );
    ctx.deregister_table("previous_items").map_err(&e)?;
    ctx.register_parquet(
        "previous_items",
        lake.table_url(&folder),
        ParquetReadOptions::default()
            .table_partition_cols(vec![("date".to_string(), DataType::Date32)]),
    )
    .await
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

/// What [`write_partitioned`] wrote: how many rows, and per date partition the earliest
/// row's time and the file.
struct PartitionedRows {
    rows: u64,
    days: BTreeMap<String, (DateTime<Utc>, String)>,
}

/// A run's new rows of a clean table, by day.
#[derive(Default)]
struct NewRows {
    /// The earliest new row of each day.
    earliest: BTreeMap<String, DateTime<Utc>>,
    /// The files written for each day.
    files: BTreeMap<String, Vec<String>>,
}

impl PartitionedRows {
    /// Adds the days to `new`; returns the rows.
    fn add_to(self, new: &mut NewRows) -> u64 {
        for (day, (earliest, file)) in self.days {
            new.earliest
                .entry(day.clone())
                .and_modify(|t| *t = (*t).min(earliest))
                .or_insert(earliest);
            new.files.entry(day).or_default().push(file);
        }
        self.rows
    }
}

/// Writes one parsed chunk's rows into the three clean tables (a part per table and date)
/// and adds them to the run's counts and new days.
async fn write_chunk(
    lake: &Lake,
    part: &str,
    parsed: &parse::Parsed,
    counts: &mut [u64; 3],
    new_days: &mut [NewRows; 3],
    produced: &mut Vec<String>,
) -> Result<(), TransformError> {
    counts[0] += write_partitioned(
        lake,
        "price_observations",
        part,
        &parsed.observations,
        |r| r.observed_at,
        parse::observations_batch,
        produced,
    )
    .await?
    .add_to(&mut new_days[0]);
    counts[1] += write_partitioned(
        lake,
        "fx_rates",
        part,
        &parsed.fx,
        |r| r.rate_time,
        parse::fx_batch,
        produced,
    )
    .await?
    .add_to(&mut new_days[1]);
    counts[2] += write_partitioned(
        lake,
        "trending_appearances",
        part,
        &parsed.trending,
        |r| r.trend_time,
        parse::trending_batch,
        produced,
    )
    .await?
    .add_to(&mut new_days[2]);
    Ok(())
}

/// Writes rows as one Parquet part per date partition (`part-<run>-c<chunk>.parquet`).
async fn write_partitioned<T>(
    lake: &Lake,
    table: &str,
    part: &str,
    rows: &[T],
    time: impl Fn(&T) -> DateTime<Utc>,
    batch: impl Fn(&[&T]) -> RecordBatch,
    produced: &mut Vec<String>,
) -> Result<PartitionedRows, TransformError> {
    // By calendar day (formatted once per partition, not once per row).
    let mut by_date: BTreeMap<chrono::NaiveDate, Vec<&T>> = BTreeMap::new();
    for row in rows {
        by_date.entry(time(row).date_naive()).or_default().push(row);
    }
    let mut written = PartitionedRows {
        rows: rows.len() as u64,
        days: BTreeMap::new(),
    };
    for (date, rows) in by_date {
        let Some(earliest) = rows.iter().map(|r| time(r)).min() else {
            continue;
        };
        let date = date.format("%Y-%m-%d").to_string();
        let batch = batch(&rows);
        let path = format!(
            "{}/date={date}/part-{part}.parquet",
            layout::clean_table(table)
        );
        lake.put(&path, parquet_bytes(batch.schema(), &[batch])?)
            .await?;
        produced.push(path.clone());
        written.days.insert(date, (earliest, path));
    }
    Ok(written)
}

async fn write_rejections(
    lake: &Lake,
    run_id: &str,
    rejected: &[pricelake_core::DeadLetter],
    produced: &mut Vec<String>,
) -> Result<(), TransformError> {
    let mut by_reason: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for r in rejected {
        let line = serde_json::to_vec(&pricelake_core::LakeRecord::DeadLetter(r.clone()))
            .unwrap_or_default();
        let buf = by_reason.entry(r.reason.as_str()).or_default();
        buf.extend_from_slice(&line);
        buf.push(b'\n');
    }
    for (reason, lines) in by_reason {
        let path = format!(
            "{}/{run_id}.ndjson",
            layout::errors_prefix("transform", reason)
        );
        lake.put(&path, Bytes::from(lines)).await?;
        produced.push(path);
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

/// Deletes files of runs that never committed (a crash before the manifest), or that a
/// committed full refresh superseded.
async fn remove_uncommitted(lake: &Lake, manifests: &[Manifest]) -> Result<(), TransformError> {
    let committed: BTreeSet<&str> = manifests.iter().map(|m| m.run_id.as_str()).collect();
    for prefix in ["clean", "marts", "errors/transform"] {
        for object in lake.list(prefix).await? {
            if let Some(run) = manifest::run_of(&object.path) {
                if !committed.contains(run.as_str()) {
                    tracing::info!(
                        path = object.path,
                        "removing output of a run that never committed or was superseded"
                    );
                    lake.delete(&object.path).await?;
                }
            }
        }
    }
    Ok(())
}

/// Removes the clean parts and rejections of every run before `current`, a full refresh
/// that rewrote them all (the marts and `items` folders: [`remove_old_runs`]).
async fn remove_runs_before(lake: &Lake, current: &str) -> Result<(), TransformError> {
    let mut prefixes: Vec<String> = PARTED_TABLES
        .iter()
        .map(|(table, _)| layout::clean_table(table))
        .collect();
    prefixes.push("errors/transform".to_string());
    for prefix in prefixes {
        for object in lake.list(&prefix).await? {
            if manifest::run_of(&object.path).is_some_and(|run| run.as_str() < current) {
                lake.delete(&object.path).await?;
            }
        }
    }
    Ok(())
}

/// Keeps the current and the previous run's outputs under `prefix` (the marts, the `items`
/// table): a reader may still be loading the previous run's.
async fn remove_old_runs(lake: &Lake, prefix: &str, current: &str) -> Result<(), TransformError> {
    let objects = lake.list(prefix).await?;
    let mut runs: Vec<String> = objects
        .iter()
        .filter_map(|o| manifest::run_of(&o.path))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    runs.retain(|r| r.as_str() < current);
    if let Some(previous) = runs.pop() {
        for object in objects {
            if manifest::run_of(&object.path)
                .is_some_and(|r| r != current && r != previous && runs.contains(&r))
            {
                lake.delete(&object.path).await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod run_id_tests {
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
            manifest::run_of(&format!("marts/x/run={c}/part-0.parquet")).as_deref()
                == Some(c.as_str())
        );
    }
}
