//! The marts kept by day: computed one day at a time, and only for the days a run touched.
//!
//! Every row of `prices_fx`, `discounts`, `vod_fx`, `price_daily`, `category_daily` and
//! `item_days` (the input of the `items` table) depends only on the observations of its own day (duplicates share a day: a replayed
//! record keeps its time) and on the FX rates at or before it. So a run recomputes a day
//! only when new observations landed in it, when new rates landed on or before it, or when
//! what the marts are computed with changed ([`fingerprint`]); every other day's files are
//! copied from the previous run (a hard link on a local folder, a server-side copy on S3).
//! One new hour of a month-long lake then costs one day, not a month, and a full refresh
//! sorts a day at a time instead of the whole lake at once.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::execution::context::SessionContext;
use datafusion::prelude::ParquetReadOptions;
use pricelake_core::layout;
use pricelake_lake::Lake;

use crate::manifest::{DayStats, Manifest};
use crate::{fill, mart_sql, q, write_mart, TransformConfig, TransformError, WORK_PREFIX};

/// The marts kept by day, in build order (`vod_fx` and `price_daily` read the day's
/// `prices_fx`), and `item_days`, the `items` table's input, kept the same way.
pub(crate) const DAY_MARTS: &[&str] = &[
    "prices_fx",
    "discounts",
    "vod_fx",
    "price_daily",
    "category_daily",
    "item_days",
];

/// A day's deduplicated observations: the first of each record id, then the first record of
/// each item and time. `{day}` is the filter on the clean table's `date` partition.
const DAY_OBSERVATIONS: &str = "SELECT record_id, item_id, observed_at, endpoint, name, brand, category_path, category, sale_price, msrp, stock, rollback, clearance FROM (\
    SELECT *, ROW_NUMBER() OVER (PARTITION BY item_id, observed_at ORDER BY record_id) AS rn2 FROM (\
        SELECT *, ROW_NUMBER() OVER (PARTITION BY record_id ORDER BY observed_at) AS rn FROM price_observations WHERE {day}\
    ) WHERE rn = 1\
) WHERE rn2 = 1";

/// What the day marts of a run are computed with. Two runs with the same fingerprint give
/// the same rows for a day with the same inputs, so a day can be carried over between them.
pub(crate) fn fingerprint(config: &TransformConfig) -> String {
    let mut text = format!(
        "base={};currencies={};stale_hours={};",
        config.base_currency,
        config.currencies.join(","),
        config.stale_rate_after_hours
    );
    for mart in DAY_MARTS {
        text.push_str(mart_sql(mart));
    }
    text.push_str(DAY_OBSERVATIONS);
    // FNV-1a: stable across builds and platforms (std's hasher promises neither).
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The days of the clean observations (from their `date=` partitions).
pub(crate) async fn observation_days(lake: &Lake) -> Result<BTreeSet<String>, TransformError> {
    Ok(lake
        .list(&layout::clean_table("price_observations"))
        .await?
        .iter()
        .filter_map(|o| {
            o.path
                .split('/')
                .find_map(|segment| segment.strip_prefix("date="))
                .map(str::to_string)
        })
        .collect())
}

/// Which days a run computes and which it carries over from the previous run.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct DayPlan {
    /// Days whose marts are computed by this run.
    pub compute: Vec<String>,
    /// Days whose files are copied from the previous run.
    pub carry: Vec<String>,
}

/// Plans a run: a day is carried over only if the previous run (computed with the same
/// fingerprint) has it, no new observation landed in it, and no new rate landed on or
/// before it (a rate can be in force for an observation of a later day).
pub(crate) fn plan(
    all_days: &BTreeSet<String>,
    previous: Option<&Manifest>,
    new_observation_days: &BTreeSet<String>,
    first_new_rate_day: Option<&String>,
) -> DayPlan {
    let mut out = DayPlan::default();
    for day in all_days {
        let carried = previous.is_some_and(|p| p.days.contains_key(day))
            && !new_observation_days.contains(day)
            && first_new_rate_day.is_none_or(|first| day < first);
        if carried {
            out.carry.push(day.clone());
        } else {
            out.compute.push(day.clone());
        }
    }
    out
}

/// Builds the day marts as the plan says (a carried day whose files cannot be copied is
/// computed instead), then registers each mart as the run's whole folder for the marts
/// computed over the whole lake. Returns every day's figures.
pub(crate) async fn build(
    lake: &Lake,
    ctx: &SessionContext,
    config: &TransformConfig,
    run_id: &str,
    plan: DayPlan,
    previous: Option<&Manifest>,
    produced: &mut Vec<String>,
) -> Result<BTreeMap<String, DayStats>, TransformError> {
    let mut days = BTreeMap::new();
    let mut compute = plan.compute;
    for day in plan.carry {
        let carried = match previous {
            Some(previous) => carry_over(lake, previous, run_id, &day, produced).await,
            None => None,
        };
        match carried {
            Some(stats) => {
                days.insert(day, stats);
            }
            None => compute.push(day),
        }
    }
    compute.sort();
    if compute.is_empty() && days.is_empty() {
        // No observation at all: each mart still gets a file (empty, with its columns).
        build_day(lake, ctx, config, run_id, None, produced).await?;
    }
    for day in compute {
        let started = std::time::Instant::now();
        let stats = build_day(lake, ctx, config, run_id, Some(&day), produced).await?;
        tracing::debug!(
            day,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "day marts built"
        );
        days.insert(day, stats);
    }
    for mart in DAY_MARTS {
        ctx.deregister_table(*mart).map_err(q(mart))?;
        ctx.register_parquet(
            *mart,
            lake.table_url(&layout::mart_run(mart, run_id)),
            ParquetReadOptions::default(),
        )
        .await
        .map_err(q(mart))?;
    }
    Ok(days)
}

/// Copies a day's files from the previous run; `None` (and a warning) if any is missing.
async fn carry_over(
    lake: &Lake,
    previous: &Manifest,
    run_id: &str,
    day: &str,
    produced: &mut Vec<String>,
) -> Option<DayStats> {
    let stats = previous.days.get(day)?.clone();
    let mut copied = Vec::new();
    for mart in DAY_MARTS {
        let from = layout::mart_day_file(mart, &previous.run_id, day);
        let to = layout::mart_day_file(mart, run_id, day);
        if let Err(error) = lake.copy(&from, &to).await {
            tracing::warn!(%error, from, "cannot carry a day over; computing it again");
            return None;
        }
        copied.push(to);
    }
    produced.append(&mut copied);
    Some(stats)
}

/// Computes one day's marts (`None`: the empty marts of a lake without observations).
async fn build_day(
    lake: &Lake,
    ctx: &SessionContext,
    config: &TransformConfig,
    run_id: &str,
    day: Option<&str>,
    produced: &mut Vec<String>,
) -> Result<DayStats, TransformError> {
    let filter = match day {
        Some(day) => format!("date = DATE '{day}'"),
        None => "FALSE".to_string(),
    };
    // The day's deduplicated observations, once: every day mart reads them.
    let folder = format!(
        "{WORK_PREFIX}/run={run_id}/obs/day={}",
        day.unwrap_or("none")
    );
    let df = ctx
        .sql(&DAY_OBSERVATIONS.replace("{day}", &filter))
        .await
        .map_err(q("obs"))?;
    let written = write_mart(lake, &format!("{folder}/part-0.parquet"), df)
        .await
        .map_err(|e| e.for_mart("obs"))?;
    ctx.deregister_table("obs").map_err(q("obs"))?;
    ctx.register_parquet(
        "obs",
        lake.table_url(&folder),
        ParquetReadOptions::default().schema(&written.schema),
    )
    .await
    .map_err(q("obs"))?;
    let observations = count(
        ctx,
        &format!("SELECT COUNT(*) FROM price_observations WHERE {filter}"),
    )
    .await?;
    let mut stats = DayStats {
        computed_by: run_id.to_string(),
        observations,
        duplicates: observations.saturating_sub(written.rows as u64),
        ..DayStats::default()
    };
    for mart in DAY_MARTS {
        let sql = fill(mart_sql(mart), config, ctx).await?;
        let df = ctx.sql(&sql).await.map_err(q(mart))?;
        let path = match day {
            Some(day) => layout::mart_day_file(mart, run_id, day),
            None => layout::mart_file(mart, run_id),
        };
        let written = write_mart(lake, &path, df)
            .await
            .map_err(|e| e.for_mart(mart))?;
        if *mart == "prices_fx" {
            stats.missing_rates = written.null_rates;
        }
        stats.rows.insert(mart.to_string(), written.rows as u64);
        // Later day marts read this one's file for the same day.
        ctx.deregister_table(*mart).map_err(q(mart))?;
        ctx.register_parquet(
            *mart,
            lake.file_url(&path),
            ParquetReadOptions::default().schema(&written.schema),
        )
        .await
        .map_err(q(mart))?;
        produced.push(path);
    }
    Ok(stats)
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
        }
    }

    #[test]
    fn only_days_with_new_observations_or_new_earlier_rates_are_computed() {
        let all = days(&["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]);
        let previous = manifest_with(&["2026-01-01", "2026-01-02", "2026-01-03"]);
        // A new hour on the last day: that day and the new one only.
        let p = plan(
            &all,
            Some(&previous),
            &days(&["2026-01-03"]),
            Some(&"2026-01-03".to_string()),
        );
        assert_eq!(p.carry, ["2026-01-01", "2026-01-02"]);
        assert_eq!(p.compute, ["2026-01-03", "2026-01-04"]);
        // A late rate on the first day may be in force on every later day.
        let p = plan(
            &all,
            Some(&previous),
            &days(&[]),
            Some(&"2026-01-01".to_string()),
        );
        assert!(p.carry.is_empty());
        assert_eq!(p.compute.len(), 4);
        // Nothing new for old days: all but the unknown day carried.
        let p = plan(&all, Some(&previous), &days(&[]), None);
        assert_eq!(p.compute, ["2026-01-04"]);
        // No previous run (or another fingerprint): every day.
        let p = plan(&all, None, &days(&[]), None);
        assert_eq!(p.compute.len(), 4);
    }

    #[test]
    fn the_fingerprint_follows_what_the_marts_are_computed_with() {
        let config = TransformConfig::default();
        assert_eq!(fingerprint(&config), fingerprint(&config.clone()));
        let mut other = config.clone();
        other.currencies.push("SEK".into());
        assert_ne!(fingerprint(&config), fingerprint(&other));
        let mut other = config.clone();
        other.stale_rate_after_hours += 1;
        assert_ne!(fingerprint(&config), fingerprint(&other));
        // What only the marts over the whole lake use does not force every day again.
        let mut other = config.clone();
        other.basket_item_ids = vec![1];
        other.trending_top_n = 3;
        assert_eq!(fingerprint(&config), fingerprint(&other));
    }
}
