//! The marts kept by day: computed one day at a time, and only for the days a run touched.
//!
//! Every row of `prices_fx`, `discounts`, `vod_fx`, `price_daily`, `category_daily` and
//! `item_days` (the input of the `items` table) depends only on the observations of its own day (duplicates share a day: a replayed
//! record keeps its time) and on the FX rates at or before it. So a run recomputes a day
//! only when new observations landed in it, when new rates landed on or before it, or when
//! what the marts are computed with changed ([`crate::sql::fingerprint`]); every other day's files
//! stay where they are, live in the mart's Delta table: the run's commit removes the files of
//! the days it recomputed and adds the new ones, and touches nothing else. One new hour of a
//! month-long lake then costs one day, not a month, and a full refresh sorts a day at a time
//! instead of the whole lake at once.
//!
//! A day can also be **extended**: when every new observation of the day is later than its
//! latest known one and no new rate is at or before that, the day's existing rows cannot
//! change. The run then computes the marts of the new observations alone and merges them in
//! (`sql/append/`): `prices_fx` gains a file for them (`part-<day>_<run>.parquet`, after the
//! day's others in name order), and the day's `discounts`, `vod_fx`, `price_daily` and
//! `item_days` are merged with the day's live file (`category_daily` is recomputed from the
//! merged `discounts`), which the merged one replaces. One new hour then costs an hour.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::context::SessionContext;
use datafusion::prelude::ParquetReadOptions;
use pricelake_core::{layout, marts};
use pricelake_lake::Lake;
use pricelake_tables::LatestTables;

use crate::clean::{DayFiles, NewRows};
use crate::config::TransformConfig;
use crate::error::{q, TransformError};
use crate::gc::WORK_PREFIX;
use crate::manifest::{DayStats, Manifest};
use crate::run::{Output, Run};
use crate::sql::{self, fill};
use crate::write::{write_mart, WrittenMart};

mod append;

/// The order of a day's deduplicated observations (`obs`, `sql/day/observations.sql`) in
/// their file, declared to the engine when the file is registered: `prices_fx` comes out in
/// its own order from it and the day's `rates` without a sort of its rows.
const OBSERVATION_ORDER: &[&str] = &["observed_at", "item_id"];

/// The order of the day's `rates` (`sql/rates.sql`: the rate in force at each observation
/// time of a day, an intermediate table like `obs`) in their file, declared when registered.
const RATES_ORDER: &[&str] = &["observed_at", "currency"];

/// Read options for an intermediate file written by an `ORDER BY` on `columns` (ascending,
/// nulls last, as SQL sorts by default): the engine may then skip sorts the order satisfies.
fn sorted_by<'a>(schema: &'a SchemaRef, columns: &[&str]) -> ParquetReadOptions<'a> {
    let order = columns
        .iter()
        .map(|c| datafusion::prelude::col(*c).sort(true, false))
        .collect();
    ParquetReadOptions::default()
        .schema(schema)
        .file_sort_order(vec![order])
}

/// Where a run keeps a day's intermediate `table` (`obs`, `rates`) until it commits (`day`
/// `None`: the empty day of a lake without observations).
fn work_file(run_id: &str, table: &str, day: Option<&str>) -> String {
    format!(
        "{WORK_PREFIX}/run={run_id}/{table}/day={}/part-0.parquet",
        day.unwrap_or("none")
    )
}

/// Registers a day's deduplicated observations as `obs`, in their order, then computes the
/// day's `rates` from them into the run's work area and registers those in theirs: the
/// inputs of every day mart.
pub(crate) async fn register_day_inputs(
    lake: &Lake,
    ctx: &SessionContext,
    config: &TransformConfig,
    run_id: &str,
    obs: &DayObservations,
) -> Result<(), TransformError> {
    ctx.deregister_table("obs").map_err(q("obs"))?;
    ctx.register_parquet(
        "obs",
        lake.file_url(&obs.file),
        sorted_by(&obs.written.schema, OBSERVATION_ORDER),
    )
    .await
    .map_err(q("obs"))?;
    let sql = fill(sql::text("rates.sql")?, config, ctx).await?;
    let df = ctx.sql(&sql).await.map_err(q("rates"))?;
    let path = work_file(run_id, "rates", obs.day.as_deref());
    let written = write_mart(lake, &path, df)
        .await
        .map_err(|e| e.for_mart("rates"))?;
    ctx.deregister_table("rates").map_err(q("rates"))?;
    ctx.register_parquet(
        "rates",
        lake.file_url(&path),
        sorted_by(&written.schema, RATES_ORDER),
    )
    .await
    .map_err(q("rates"))
}

/// Which days a run computes, carries over from the previous run, or extends.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct DayPlan {
    /// Days whose marts are computed by this run.
    pub compute: Vec<String>,
    /// Days whose files stay as they are.
    pub carry: Vec<String>,
    /// Days extended by this run's observations, all later than the day's.
    pub append: Vec<String>,
}

/// Plans a run (with `previous` computed with the same fingerprint). A day the previous run
/// has is untouched by the new rates if they are all later than its latest observation (a
/// day without that figure: if they begin on a later day). An untouched day is carried over
/// when no new observation landed in it, and extended when all that landed are later than
/// its latest. Every other day is computed.
pub(crate) fn plan(
    all_days: &BTreeSet<String>,
    previous: Option<&Manifest>,
    earliest_new_observation: &BTreeMap<String, DateTime<Utc>>,
    first_new_rate: Option<DateTime<Utc>>,
) -> DayPlan {
    let mut out = DayPlan::default();
    for day in all_days {
        let Some(stats) = previous.and_then(|p| p.days.get(day)) else {
            out.compute.push(day.clone());
            continue;
        };
        let untouched_by_rates = match (first_new_rate, stats.last_observed_at) {
            (None, _) => true,
            (Some(rate), Some(last)) => rate > last,
            (Some(rate), None) => *day < rate.format("%Y-%m-%d").to_string(),
        };
        let new_observations = earliest_new_observation.get(day);
        if !untouched_by_rates {
            out.compute.push(day.clone());
        } else if new_observations.is_none() {
            out.carry.push(day.clone());
        } else if new_observations
            .zip(stats.last_observed_at)
            .is_some_and(|(new, last)| *new > last)
        {
            out.append.push(day.clone());
        } else {
            out.compute.push(day.clone());
        }
    }
    out
}

/// The day marts stage: plans the days (see [`plan`]) from the run's `new_days` (per clean
/// table, as in [`crate::clean::PARTED_TABLES`]) and `previous` (a run whose days can be
/// carried over), then [`build`]s them. A full refresh's days are those of its own parts.
pub(crate) async fn write_day_marts(
    run: &mut Run<'_>,
    previous: Option<&Manifest>,
    new_days: &[NewRows; 3],
    observations: &DayFiles,
    full_refresh: bool,
) -> Result<Built, TransformError> {
    let all_days: BTreeSet<String> = observations.keys().cloned().collect();
    let plan = plan(
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
    let built = build(
        run,
        plan,
        previous,
        observations,
        &new_days[0].files,
        full_refresh,
    )
    .await?;
    run.metrics.add(
        "pricelake_transform_missing_fx_rate_total",
        &[("mart", "prices_fx")],
        built.missing_rates(),
    );
    Ok(built)
}

/// What [`build`] did: every day's figures, and which days it extended or computed.
pub(crate) struct Built {
    pub(crate) days: BTreeMap<String, DayStats>,
    /// Days extended by later observations (their new rows are in [`delta_file`]s).
    pub(crate) extended: Vec<String>,
    /// Days computed from all of their observations.
    pub(crate) computed: Vec<String>,
}

impl Built {
    /// Rows per day mart (`mart.<name>`) over every day, and the observations with no rate
    /// at or before them (kept with null prices, counted: `mart.prices_fx.missing_rate`).
    pub(crate) fn rows(&self) -> BTreeMap<String, u64> {
        let mut rows = BTreeMap::new();
        for mart in marts::by_day() {
            let total = self
                .days
                .values()
                .filter_map(|d| d.rows.get(mart.name))
                .sum();
            rows.insert(format!("mart.{}", mart.name), total);
        }
        rows.insert(
            "mart.prices_fx.missing_rate".to_string(),
            self.missing_rates(),
        );
        rows
    }

    /// Observations with no rate at or before them, over every day.
    pub(crate) fn missing_rates(&self) -> u64 {
        self.days.values().map(|d| d.missing_rates).sum()
    }

    /// Duplicate observations removed, over every day.
    pub(crate) fn duplicates_removed(&self) -> u64 {
        self.days.values().map(|d| d.duplicates).sum()
    }
}

/// Where an extended day keeps a mart's rows of the new observations alone, until the run
/// ends (the `items` table is extended from `item_days`' file).
pub(crate) fn delta_file(run_id: &str, mart: &str, day: &str) -> String {
    work_file(run_id, &format!("delta/{mart}"), Some(day))
}

/// Builds the day marts as the plan says (a carried or extended day whose files are not all
/// live is computed instead), then registers each mart as its files after the run, for the
/// marts computed over the whole lake. A computed day reads its `observations` (the files the
/// run reads of it, [`crate::clean::files_to_read`]), an extended day only the run's new
/// ones (`new_observation_files`); with `own_parts_only` (a full refresh) every day mart is
/// replaced. What the run writes and takes out goes to the run's output.
pub(crate) async fn build(
    run: &mut Run<'_>,
    plan: DayPlan,
    previous: Option<&Manifest>,
    observations: &DayFiles,
    new_observation_files: &DayFiles,
    own_parts_only: bool,
) -> Result<Built, TransformError> {
    let (lake, ctx, config, run_id) = (run.lake, &run.ctx, run.config, run.id.as_str());
    let (latest, output) = (&run.latest, &mut run.output);
    let files_of = |day: &str| Some(observations.get(day).map(Vec::as_slice).unwrap_or(&[]));
    let mut days = BTreeMap::new();
    let mut extended_days = Vec::new();
    let mut compute = plan.compute;
    // The previous run's days stay live, but for those this run recomputes; a run with no
    // previous days (the first, a full refresh, other SQL or currencies) replaces the marts.
    let earlier = previous.filter(|p| !p.days.is_empty() && !own_parts_only);
    let live = match earlier {
        Some(_) => live_day_files(lake, latest).await?,
        None => {
            output
                .replaced
                .extend(marts::by_day().map(|m| layout::mart(m.name)));
            BTreeMap::new()
        }
    };
    for day in plan.carry {
        match earlier.and_then(|previous| carry_over(previous, &live, &day)) {
            Some(stats) => {
                days.insert(day, stats);
            }
            None => compute.push(day),
        }
    }
    for day in plan.append {
        let new_files = new_observation_files
            .get(&day)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let extended = match earlier {
            Some(previous) => {
                let started = std::time::Instant::now();
                let extended = append::extend_day(
                    lake, ctx, config, run_id, &day, previous, &live, new_files, output,
                )
                .await?;
                tracing::debug!(
                    day,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "day marts extended"
                );
                extended
            }
            None => None,
        };
        match extended {
            Some(stats) => {
                extended_days.push(day.clone());
                days.insert(day, stats);
            }
            None => compute.push(day),
        }
    }
    compute.sort();
    if earlier.is_some() {
        for (mart, files) in &live {
            for day in &compute {
                output
                    .removed
                    .extend(files_of_day(files, day).into_iter().cloned());
            }
            tracing::trace!(mart, "recomputed days' files removed");
        }
    }
    if compute.is_empty() && days.is_empty() {
        // No observation at all: each mart still gets a file (empty, with its columns).
        let obs = deduplicate_day(lake, ctx, run_id, None, None).await?;
        build_day(lake, ctx, config, run_id, obs, &mut output.produced).await?;
    }
    // A pipeline of two: day d + 1's observations are deduplicated while day d's marts are
    // built (deduplication runs its window on one thread; the marts leave some of the other
    // cores' time free).
    let mut next = match compute.first() {
        Some(day) => Some(deduplicate_day(lake, ctx, run_id, Some(day), files_of(day)).await?),
        None => None,
    };
    for (i, day) in compute.iter().enumerate() {
        let started = std::time::Instant::now();
        let Some(obs) = next.take() else { break };
        let following = async {
            match compute.get(i + 1) {
                Some(day) => deduplicate_day(lake, ctx, run_id, Some(day), files_of(day))
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (stats, following) = tokio::join!(
            build_day(lake, ctx, config, run_id, obs, &mut output.produced),
            following
        );
        let stats = stats?;
        next = following?;
        tracing::debug!(
            day,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "day marts built"
        );
        days.insert(day.clone(), stats);
    }
    for mart in marts::by_day().map(|m| m.name) {
        let files = files_after(&live, output, mart);
        register_files(lake, ctx, mart, &files).await?;
    }
    Ok(Built {
        days,
        extended: extended_days,
        computed: compute,
    })
}

/// The live files of each day mart (at its latest Delta version): what a run starts from.
async fn live_day_files(
    lake: &Lake,
    latest: &LatestTables,
) -> Result<BTreeMap<&'static str, Vec<String>>, TransformError> {
    // Read at once: each is a few small reads of its log.
    let read = marts::by_day().map(|m| async move {
        let files = pricelake_tables::latest_live_files(lake, latest, &layout::mart(m.name))
            .await?
            .map(|t| t.files)
            .unwrap_or_default();
        Ok::<_, TransformError>((m.name, files))
    });
    futures::future::try_join_all(read)
        .await
        .map(|all| all.into_iter().collect())
}

/// `mart`'s files once the run commits: the live ones it did not take out (none if it
/// replaces the mart) and the ones it wrote, in the mart's order ([`in_mart_order`]).
fn files_after(
    live: &BTreeMap<&'static str, Vec<String>>,
    output: &Output,
    mart: &str,
) -> Vec<String> {
    let folder = layout::mart(mart);
    let prefix = format!("{folder}/");
    let removed: BTreeSet<&String> = output.removed.iter().collect();
    let kept = live
        .get(mart)
        .filter(|_| !output.replaced.contains(&folder))
        .into_iter()
        .flatten()
        .filter(|f| !removed.contains(f));
    let written = output.produced.iter().filter(|f| f.starts_with(&prefix));
    in_mart_order(kept.chain(written).cloned().collect())
}

/// A mart's files in the order its rows are read: by file name (`part-<day>.parquet`, then
/// the day's extensions `part-<day>_<run>.parquet`), whatever run's folder each is in.
pub(crate) fn in_mart_order(mut files: Vec<String>) -> Vec<String> {
    files.sort_by(|a, b| {
        let name = |p: &String| p.rsplit('/').next().unwrap_or_default().to_string();
        name(a).cmp(&name(b)).then_with(|| a.cmp(b))
    });
    files.dedup();
    files
}

/// Registers `files` as the table `name` (file-backed, so the same plans run on Ballista).
pub(crate) async fn register_files(
    lake: &Lake,
    ctx: &SessionContext,
    name: &str,
    files: &[String],
) -> Result<(), TransformError> {
    ctx.deregister_table(name).map_err(q(name))?;
    let urls: Vec<String> = files.iter().map(|p| lake.file_url(p)).collect();
    let df = ctx
        .read_parquet(urls, ParquetReadOptions::default())
        .await
        .map_err(q(name))?;
    ctx.register_table(name, df.into_view()).map_err(q(name))?;
    Ok(())
}

/// The file of `prices_fx` rows that a run extending `day` adds to the mart:
/// `part-<day>_<run>.parquet` in the run's folder. A reader takes a mart's files in name
/// order ([`in_mart_order`]), so the name must sort after the day's own `part-<day>.parquet`
/// (`_` after `.`), after the day's earlier extensions (run ids sort in commit order), and
/// before the next day's file (the day's digits differ first).
pub(crate) fn extension_file(mart: &str, run_id: &str, day: &str) -> String {
    format!(
        "{}/part-{day}_{run_id}.parquet",
        layout::mart_run(mart, run_id)
    )
}

/// A day's files among a mart's: `part-<day>.parquet`, and for `prices_fx` the files that
/// extended the day ([`extension_file`]).
pub(crate) fn files_of_day<'a>(files: &'a [String], day: &str) -> Vec<&'a String> {
    let (own, extension) = (format!("part-{day}.parquet"), format!("part-{day}_"));
    files
        .iter()
        .filter(|f| {
            f.rsplit('/')
                .next()
                .is_some_and(|name| name == own || name.starts_with(&extension))
        })
        .collect()
}

/// A day kept as it is: its figures from the previous run, or `None` when one of the day
/// marts has no live file of the day (it is computed again).
fn carry_over(
    previous: &Manifest,
    live: &BTreeMap<&'static str, Vec<String>>,
    day: &str,
) -> Option<DayStats> {
    for mart in marts::by_day().map(|m| m.name) {
        if files_of_day(live.get(mart)?, day).is_empty() {
            tracing::warn!(
                mart,
                day,
                "the mart has no live file for the day; computing it again"
            );
            return None;
        }
    }
    previous.days.get(day).cloned()
}

/// A day's deduplicated observations, written to the run's work area: the input of every
/// day mart of that day (`day` `None`: the empty observations of a lake without any).
pub(crate) struct DayObservations {
    day: Option<String>,
    /// Where they are ([`work_file`]).
    file: String,
    pub(crate) written: WrittenMart,
    /// Observations before deduplication.
    pub(crate) observations: u64,
}

/// Deduplicates one day's observations into the run's work area: its `files` (those the run
/// reads of it: the live ones and the run's, or a full refresh's own), or with `None` the
/// registered `price_observations`' rows of the day. Reads only the clean table, so it may
/// run while another day's marts are built.
pub(crate) async fn deduplicate_day(
    lake: &Lake,
    ctx: &SessionContext,
    run_id: &str,
    day: Option<&str>,
    files: Option<&[String]>,
) -> Result<DayObservations, TransformError> {
    match files {
        Some(files) if !files.is_empty() => {
            let urls: Vec<String> = files.iter().map(|p| lake.file_url(p)).collect();
            let schema = crate::parse::observations_schema();
            let parts = ctx
                .read_parquet(urls, ParquetReadOptions::default().schema(&schema))
                .await
                .map_err(q("obs"))?;
            // A name of the day's own: the next day's may be registered while this one's
            // marts are built.
            let table = format!("day_parts_{}", day.unwrap_or("none").replace('-', "_"));
            ctx.deregister_table(table.as_str()).map_err(q("obs"))?;
            ctx.register_table(table.as_str(), parts.into_view())
                .map_err(q("obs"))?;
            deduplicate(lake, ctx, run_id, day, &table, "TRUE").await
        }
        // None of its own: none of the folder's either.
        Some(_) => deduplicate(lake, ctx, run_id, day, "price_observations", "FALSE").await,
        None => {
            deduplicate(
                lake,
                ctx,
                run_id,
                day,
                "price_observations",
                &day_filter(day),
            )
            .await
        }
    }
}

/// Deduplicates the rows of `table` that `filter` keeps, as the observations of `day`.
async fn deduplicate(
    lake: &Lake,
    ctx: &SessionContext,
    run_id: &str,
    day: Option<&str>,
    table: &str,
    filter: &str,
) -> Result<DayObservations, TransformError> {
    let file = work_file(run_id, "obs", day);
    let df = ctx
        .sql(
            &sql::text("day/observations.sql")?
                .replace("{table}", table)
                .replace("{filter}", filter),
        )
        .await
        .map_err(q("obs"))?;
    let written = write_mart(lake, &file, df)
        .await
        .map_err(|e| e.for_mart("obs"))?;
    let observations = count(ctx, &format!("SELECT COUNT(*) FROM {table} WHERE {filter}")).await?;
    Ok(DayObservations {
        day: day.map(str::to_string),
        file,
        written,
        observations,
    })
}

/// The clean table's rows of `day` (none for `None`).
fn day_filter(day: Option<&str>) -> String {
    match day {
        Some(day) => format!("date = DATE '{day}'"),
        None => "FALSE".to_string(),
    }
}

/// Computes one day's marts from its deduplicated observations.
async fn build_day(
    lake: &Lake,
    ctx: &SessionContext,
    config: &TransformConfig,
    run_id: &str,
    obs: DayObservations,
    produced: &mut Vec<String>,
) -> Result<DayStats, TransformError> {
    register_day_inputs(lake, ctx, config, run_id, &obs).await?;
    let day = obs.day.as_deref();
    let mut stats = DayStats {
        computed_by: run_id.to_string(),
        observations: obs.observations,
        duplicates: obs.observations.saturating_sub(obs.written.rows as u64),
        last_observed_at: latest_observation(ctx).await?,
        ..DayStats::default()
    };
    for mart in marts::by_day() {
        let sql = fill(sql::text(mart.sql)?, config, ctx).await?;
        let mart = mart.name;
        let df = ctx.sql(&sql).await.map_err(q(mart))?;
        let path = match day {
            Some(day) => layout::mart_day_file(mart, run_id, day),
            None => layout::mart_file(mart, run_id),
        };
        let written = write_mart(lake, &path, df)
            .await
            .map_err(|e| e.for_mart(mart))?;
        if mart == "prices_fx" {
            stats.missing_rates = written.null_rates;
        }
        stats.rows.insert(mart.to_string(), written.rows as u64);
        // Later day marts read this one's file for the same day.
        ctx.deregister_table(mart).map_err(q(mart))?;
        ctx.register_parquet(
            mart,
            lake.file_url(&path),
            ParquetReadOptions::default().schema(&written.schema),
        )
        .await
        .map_err(q(mart))?;
        produced.push(path);
    }
    Ok(stats)
}

/// The latest `observed_at` of the registered `obs`.
async fn latest_observation(ctx: &SessionContext) -> Result<Option<DateTime<Utc>>, TransformError> {
    use datafusion::arrow::array::Array;
    let batches = ctx
        .sql("SELECT CAST(MAX(observed_at) AS BIGINT) FROM obs")
        .await
        .map_err(q("obs"))?
        .collect()
        .await
        .map_err(q("obs"))?;
    Ok(batches
        .first()
        .filter(|b| b.num_rows() > 0 && b.column(0).is_valid(0))
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .map(|a| a.value(0))
        })
        .and_then(DateTime::from_timestamp_micros))
}

/// The one number a `SELECT COUNT(*) ...` returns.
async fn count(ctx: &SessionContext, sql: &str) -> Result<u64, TransformError> {
    let batches = ctx
        .sql(sql)
        .await
        .map_err(q("count"))?
        .collect()
        .await
        .map_err(q("count"))?;
    Ok(batches
        .first()
        .filter(|b| b.num_rows() > 0)
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .map(|a| a.value(0))
        })
        .unwrap_or(0)
        .max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|d| d.to_string()).collect()
    }

    fn manifest_with(list: &[&str]) -> Manifest {
        Manifest {
            run_id: "r1".into(),
            started_at: chrono::Utc::now(),
            finished_at: chrono::Utc::now(),
            consumed: Vec::new(),
            produced: Vec::new(),
            rows: BTreeMap::new(),
            rejected: BTreeMap::new(),
            duplicates_removed: 0,
            days: list
                .iter()
                .map(|d| (d.to_string(), DayStats::default()))
                .collect(),
            marts_fingerprint: String::new(),
            full_refresh: false,
            unquoted_currencies: Vec::new(),
            ..Manifest::default()
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn new_at(list: &[(&str, &str)]) -> BTreeMap<String, DateTime<Utc>> {
        list.iter()
            .map(|(d, time)| (d.to_string(), t(time)))
            .collect()
    }

    #[test]
    fn only_days_with_new_observations_or_new_earlier_rates_are_computed() {
        let all = days(&["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]);
        let mut previous = manifest_with(&["2026-01-01", "2026-01-02", "2026-01-03"]);
        // Days from before the latest observation was recorded: by day only.
        let p = plan(
            &all,
            Some(&previous),
            &new_at(&[("2026-01-03", "2026-01-03T10:00:00Z")]),
            Some(t("2026-01-03T10:00:00Z")),
        );
        assert_eq!(p.carry, ["2026-01-01", "2026-01-02"]);
        assert_eq!(p.compute, ["2026-01-03", "2026-01-04"]);
        assert!(p.append.is_empty());
        // A late rate on the first day may be in force on every later day.
        let p = plan(
            &all,
            Some(&previous),
            &BTreeMap::new(),
            Some(t("2026-01-01T05:00:00Z")),
        );
        assert!(p.carry.is_empty());
        assert_eq!(p.compute.len(), 4);
        // Nothing new for old days: all but the unknown day carried.
        let p = plan(&all, Some(&previous), &BTreeMap::new(), None);
        assert_eq!(p.compute, ["2026-01-04"]);
        // No previous run (or another fingerprint): every day.
        let p = plan(&all, None, &BTreeMap::new(), None);
        assert_eq!(p.compute.len(), 4);

        // With each day's latest observation known (the 3rd's at 09:30).
        for (day, last) in [
            ("2026-01-01", "2026-01-01T23:00:00Z"),
            ("2026-01-02", "2026-01-02T23:00:00Z"),
            ("2026-01-03", "2026-01-03T09:30:00Z"),
        ] {
            previous.days.get_mut(day).unwrap().last_observed_at = Some(t(last));
        }
        // A new hour after the 3rd's last observation, with its rate: the 3rd is extended.
        let p = plan(
            &all,
            Some(&previous),
            &new_at(&[("2026-01-03", "2026-01-03T10:00:00Z")]),
            Some(t("2026-01-03T10:00:00Z")),
        );
        assert_eq!(p.carry, ["2026-01-01", "2026-01-02"]);
        assert_eq!(p.append, ["2026-01-03"]);
        assert_eq!(p.compute, ["2026-01-04"]);
        // An observation at or before the latest (a replay, a late one): the day again.
        let p = plan(
            &all,
            Some(&previous),
            &new_at(&[("2026-01-03", "2026-01-03T09:30:00Z")]),
            None,
        );
        assert_eq!(p.compute, ["2026-01-03", "2026-01-04"]);
        // A rate at or before the day's latest observation may change its rows: the day again,
        // but the day before, all of whose observations are earlier, is kept.
        let p = plan(
            &all,
            Some(&previous),
            &new_at(&[("2026-01-03", "2026-01-03T10:00:00Z")]),
            Some(t("2026-01-03T09:00:00Z")),
        );
        assert_eq!(p.carry, ["2026-01-01", "2026-01-02"]);
        assert_eq!(p.compute, ["2026-01-03", "2026-01-04"]);
    }

    #[test]
    fn a_days_extensions_sort_between_it_and_the_next_day_whatever_run_wrote_each() {
        let (first, second, third) = (
            "20261206T164010Z-00000001",
            "20261206T174010Z-00000002",
            "20261206T184010Z-00000003",
        );
        let files = vec![
            extension_file("prices_fx", third, "2026-10-13"),
            layout::mart_day_file("prices_fx", second, "2026-10-14"),
            layout::mart_day_file("prices_fx", first, "2026-10-13"),
            extension_file("prices_fx", second, "2026-10-13"),
            layout::mart_day_file("prices_fx", first, "2026-10-12"),
        ];
        let names: Vec<String> = in_mart_order(files.clone())
            .iter()
            .map(|f| f.rsplit('/').next().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "part-2026-10-12.parquet".to_string(),
                "part-2026-10-13.parquet".to_string(),
                format!("part-2026-10-13_{second}.parquet"),
                format!("part-2026-10-13_{third}.parquet"),
                "part-2026-10-14.parquet".to_string(),
            ]
        );
        let of_day = files_of_day(&files, "2026-10-13");
        assert_eq!(of_day.len(), 3, "{of_day:?}");
    }
}
