//! The SQL transform runs: every file under `sql/`, embedded at build time (`build.rs`), looked
//! up by the path the mart registry names, with `{placeholders}` filled from the config
//! (and `{basket_ids}`, when the config names no basket, from the run's `discounts`: [`fill`]).
//!
//! The files are the only SQL of a run (views and intermediate tables included), so what
//! [`fingerprint`] hashes is everything the day marts are computed with, by construction: a
//! new or edited file needs no list to be added to.

use datafusion::execution::context::SessionContext;
use pricelake_core::marts::{self, Grain};

use crate::config::TransformConfig;
use crate::error::TransformError;

include!(concat!(env!("OUT_DIR"), "/sql_files.rs"));

/// The text of the SQL file at `path` under `sql/`.
pub(crate) fn text(path: &str) -> Result<&'static str, TransformError> {
    SQL_FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
        .ok_or_else(|| TransformError::MissingSql(path.to_string()))
}

/// `value` as the inside of a SQL string literal.
pub(crate) fn quoted(value: &str) -> String {
    value.replace('\'', "''")
}

/// The placeholders every file may use that depend only on the config: the base currency,
/// the number of trending items, the age of a stale rate, and the currency rows.
pub(crate) fn fill_from_config(sql: &str, config: &TransformConfig) -> String {
    let mut sql = sql
        .replace("{base}", &quoted(&config.base_currency))
        .replace("{top_n}", &config.trending_top_n.max(1).to_string())
        .replace(
            "{stale_seconds}",
            &(config.stale_rate_after_hours * 3600).to_string(),
        );
    if sql.contains("{currency_rows}") {
        let rows: Vec<String> = currencies(config)
            .iter()
            .map(|c| format!("('{}')", quoted(c)))
            .collect();
        sql = sql.replace("{currency_rows}", &rows.join(", "));
    }
    sql
}

/// Fills a mart's placeholders.
pub(crate) async fn fill(
    sql: &str,
    config: &TransformConfig,
    ctx: &SessionContext,
) -> Result<String, TransformError> {
    let mut sql = fill_from_config(sql, config);
    if sql.contains("{basket_ids}") {
        sql = sql.replace("{basket_ids}", &basket_ids(config, ctx).await?);
    }
    if sql.contains("{latest_day}") {
        sql = sql.replace("{latest_day}", &latest_day(ctx).await?);
    }
    Ok(sql)
}

/// The lake's latest day of `price_daily` as a SQL date literal (`NULL` for a lake without
/// one): a literal, so that a query of that day reads that day's file alone (the engine
/// prunes the others by their statistics), where a join with `MAX(date)` reads every day.
async fn latest_day(ctx: &SessionContext) -> Result<String, TransformError> {
    let q = |source| TransformError::Query {
        mart: "price_daily".into(),
        source,
    };
    let batches = ctx
        .sql("SELECT CAST(MAX(date) AS VARCHAR) FROM price_daily")
        .await
        .map_err(q)?
        .collect()
        .await
        .map_err(q)?;
    let mut day = None;
    for batch in batches.iter().filter(|b| b.num_rows() > 0) {
        let text = datafusion::arrow::compute::cast(
            batch.column(0),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )
        .map_err(|e| q(e.into()))?;
        day = text
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .and_then(|a| a.iter().flatten().next().map(str::to_string));
    }
    Ok(match day {
        // A date's text is digits and dashes: nothing to quote.
        Some(day) if day.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
            format!("DATE '{day}'")
        }
        _ => "NULL".to_string(),
    })
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

/// The currencies prices are converted to: the base first, then the configured ones, each
/// once.
pub(crate) fn currencies(config: &TransformConfig) -> Vec<String> {
    let mut currencies: Vec<String> = vec![config.base_currency.clone()];
    for c in &config.currencies {
        if !currencies.contains(c) {
            currencies.push(c.clone());
        }
    }
    currencies
}

/// What the day marts of a run (and the marts carried over with them,
/// [`Grain::BeforeLatestDay`]) are computed with: the config they read, and every SQL file
/// but those of the marts rebuilt over the whole lake by every run (which nothing carries). Two runs with
/// the same fingerprint give the same rows for a day with the same inputs, so a day can be
/// carried over between them.
pub(crate) fn fingerprint(config: &TransformConfig) -> String {
    fingerprint_of(config, SQL_FILES)
}

/// [`fingerprint`] over the given files (a test edits one and sees the days recomputed).
pub(crate) fn fingerprint_of(config: &TransformConfig, files: &[(&str, &str)]) -> String {
    let over_the_lake: Vec<&str> = marts::REGISTRY
        .iter()
        .filter(|m| m.grain == Grain::Lake)
        .map(|m| m.sql)
        .collect();
    let mut text = format!(
        "base={};currencies={};stale_hours={};",
        config.base_currency,
        config.currencies.join(","),
        config.stale_rate_after_hours
    );
    for (path, sql) in files {
        if !over_the_lake.contains(path) {
            text.push_str(path);
            text.push('\n');
            text.push_str(sql);
        }
    }
    // FNV-1a: stable across builds and platforms (std's hasher promises neither).
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use pricelake_core::marts::Extension;

    use super::*;

    #[test]
    fn every_file_the_registry_names_is_there() {
        for mart in marts::REGISTRY {
            assert!(text(mart.sql).is_ok(), "{}: {}", mart.name, mart.sql);
            if let Grain::Day(Extension::Merge { delta, merge }) = mart.grain {
                assert!(text(merge).is_ok(), "{}: {merge}", mart.name);
                if let Some(delta) = delta {
                    assert!(text(delta).is_ok(), "{}: {delta}", mart.name);
                }
            }
        }
        assert!(matches!(
            text("no_such.sql"),
            Err(TransformError::MissingSql(p)) if p == "no_such.sql"
        ));
    }

    #[test]
    fn the_fingerprint_covers_every_file_but_the_whole_lake_marts() {
        let config = TransformConfig::default();
        let base = fingerprint(&config);
        assert_eq!(base, fingerprint_of(&config, SQL_FILES));
        for (i, (path, sql)) in SQL_FILES.iter().enumerate() {
            let mut edited: Vec<(&str, &str)> = SQL_FILES.to_vec();
            let changed = format!("{sql}\n-- edited");
            edited[i] = (path, changed.as_str());
            let whole_lake = marts::REGISTRY
                .iter()
                .any(|m| m.grain == Grain::Lake && m.sql == *path);
            assert_eq!(
                fingerprint_of(&config, &edited) != base,
                !whole_lake,
                "{path}"
            );
        }
        // The inline views of before are files now, and covered.
        for view in [
            "views/fx.sql",
            "views/currencies.sql",
            "day/observations.sql",
        ] {
            assert!(text(view).is_ok(), "{view}");
        }
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

    #[test]
    fn currencies_are_the_base_then_the_configured_ones_once_each() {
        let config = TransformConfig {
            currencies: vec!["EUR".into(), "USD".into(), "EUR".into(), "GBP".into()],
            ..TransformConfig::default()
        };
        assert_eq!(currencies(&config), ["USD", "EUR", "GBP"]);
        let filled = fill_from_config("VALUES {currency_rows}", &config);
        assert_eq!(filled, "VALUES ('USD'), ('EUR'), ('GBP')");
    }
}
