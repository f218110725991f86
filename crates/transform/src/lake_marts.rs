//! The whole-lake marts: those of the registry's [`marts::over_the_lake`], in registry order.
//! A [`Grain::Lake`] mart is rebuilt by every run from the day marts (and the clean tables);
//! a [`Grain::BeforeLatestDay`] mart is carried over from the previous run when the run
//! changed no day but the latest, and the latest day is the same ([`carried_over`]).

use std::collections::BTreeMap;

use datafusion::prelude::ParquetReadOptions;
use pricelake_core::layout;
use pricelake_core::marts::{self, Grain, Mart};
use pricelake_lake::manifest::Manifest;

use crate::days::Built;
use crate::error::{q, TransformError};
use crate::run::Run;
use crate::sql::{self, fill};
use crate::write::write_mart;

/// Writes every whole-lake mart of the run (or carries it over, see above); returns their
/// rows (`mart.<name>`). `previous` is the run this one extends (same fingerprint, not a
/// full refresh), `days` what the run did to the days.
pub(crate) async fn write_lake_marts(
    run: &mut Run<'_>,
    previous: Option<&Manifest>,
    days: &Built,
) -> Result<BTreeMap<String, u64>, TransformError> {
    let (lake, config, run_id) = (run.lake, run.config, run.id.clone());
    let mut rows = BTreeMap::new();
    for mart in marts::over_the_lake() {
        let name = mart.name;
        let carried = match (mart.grain, previous) {
            (Grain::BeforeLatestDay, Some(previous))
                if only_the_latest_day_changed(previous, days) =>
            {
                carried_over(run, previous, mart).await
            }
            _ => None,
        };
        let (count, schema) = match carried {
            Some(count) => (count, None),
            None => {
                let sql = fill(sql::text(mart.sql)?, config, &run.ctx).await?;
                let df = run.ctx.sql(&sql).await.map_err(q(name))?;
                let path = layout::mart_file(name, &run_id);
                let written = write_mart(lake, &path, df)
                    .await
                    .map_err(|e| e.for_mart(name))?;
                run.produced.push(path);
                (written.rows as u64, Some(written.schema))
            }
        };
        // Later marts read earlier ones from the file just written rather than re-running
        // them: a file-backed table, so the same plans can run on Ballista.
        run.ctx.deregister_table(name).ok();
        let options = ParquetReadOptions::default();
        let options = match &schema {
            Some(schema) => options.schema(schema),
            None => options,
        };
        run.ctx
            .register_parquet(
                name,
                lake.table_url(&layout::mart_run(name, &run_id)),
                options,
            )
            .await
            .map_err(q(name))?;
        rows.insert(format!("mart.{name}"), count);
    }
    Ok(rows)
}

/// Whether the run left every day before the latest as the previous run had it, and the
/// latest day is the previous run's latest: what a [`Grain::BeforeLatestDay`] mart reads is
/// then unchanged.
fn only_the_latest_day_changed(previous: &Manifest, days: &Built) -> bool {
    let latest = days.days.keys().next_back();
    latest.is_some()
        && latest == previous.days.keys().next_back()
        && days
            .computed
            .iter()
            .chain(&days.extended)
            .all(|day| Some(day) == latest)
}

/// Copies `mart`'s files from the previous run's folder into this run's; its rows, or
/// `None` (and the mart is rebuilt) when the previous run has none or a copy fails.
async fn carried_over(run: &mut Run<'_>, previous: &Manifest, mart: &Mart) -> Option<u64> {
    let count = previous.mart_rows(mart.name)?;
    let from_folder = format!("{}/", layout::mart_run(mart.name, &previous.run_id));
    let files: Vec<&String> = previous
        .produced
        .iter()
        .filter(|p| p.starts_with(&from_folder))
        .collect();
    if files.is_empty() {
        return None;
    }
    let mut copied = Vec::new();
    for from in files {
        let to = format!(
            "{}/{}",
            layout::mart_run(mart.name, &run.id),
            &from[from_folder.len()..]
        );
        if let Err(error) = run.lake.copy(from, &to).await {
            tracing::warn!(%error, from, "cannot carry a mart over; computing it again");
            return None;
        }
        copied.push(to);
    }
    tracing::debug!(
        mart = mart.name,
        "carried over: only the latest day changed"
    );
    run.produced.append(&mut copied);
    Some(count)
}
