//! The whole-lake marts: those of the registry's [`marts::over_the_lake`], in registry order.
//! A [`Grain::Lake`] mart is rebuilt by every run from the day marts (and the clean tables);
//! a [`Grain::BeforeLatestDay`] mart is kept as it is when the run changed no day but the
//! latest, and the latest day is the same ([`kept_as_it_is`]).

use std::collections::BTreeMap;

use pricelake_core::layout;
use pricelake_core::marts::{self, Grain, Mart};
use pricelake_lake::manifest::Manifest;

use crate::days::{register_files, Built};
use crate::error::{q, TransformError};
use crate::run::Run;
use crate::sql::{self, fill};
use crate::write::write_mart;

/// Writes every whole-lake mart of the run (or keeps it, see above); returns their rows
/// (`mart.<name>`). `previous` is the run this one extends (same fingerprint, not a full
/// refresh), `days` what the run did to the days.
pub(crate) async fn write_lake_marts(
    run: &mut Run<'_>,
    previous: Option<&Manifest>,
    days: &Built,
) -> Result<BTreeMap<String, u64>, TransformError> {
    let (lake, config, run_id) = (run.lake, run.config, run.id.clone());
    let mut rows = BTreeMap::new();
    for mart in marts::over_the_lake() {
        let name = mart.name;
        let kept = match (mart.grain, previous) {
            (Grain::BeforeLatestDay, Some(previous))
                if only_the_latest_day_changed(previous, days) =>
            {
                kept_as_it_is(run, previous, mart).await?
            }
            _ => None,
        };
        let (count, files) = match kept {
            Some(kept) => kept,
            None => {
                let sql = fill(sql::text(mart.sql)?, config, &run.ctx).await?;
                let df = run.ctx.sql(&sql).await.map_err(q(name))?;
                let path = layout::mart_file(name, &run_id);
                let written = write_mart(lake, &path, df)
                    .await
                    .map_err(|e| e.for_mart(name))?;
                run.output.produced.push(path.clone());
                run.output.replaced.insert(layout::mart(name));
                (written.rows as u64, vec![path])
            }
        };
        // Later marts read earlier ones from the file just written rather than re-running
        // them: a file-backed table, so the same plans can run on Ballista.
        register_files(lake, &run.ctx, name, &files).await?;
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

/// `mart` as it is (its live files, not rewritten, not committed again) and its rows, or
/// `None` (and the mart is rebuilt) when the previous run has no figure or it has no file.
async fn kept_as_it_is(
    run: &Run<'_>,
    previous: &Manifest,
    mart: &Mart,
) -> Result<Option<(u64, Vec<String>)>, TransformError> {
    let Some(count) = previous.mart_rows(mart.name) else {
        return Ok(None);
    };
    let files =
        pricelake_tables::latest_live_files(run.lake, &run.latest, &layout::mart(mart.name))
            .await?
            .map(|t| t.files)
            .unwrap_or_default();
    if files.is_empty() {
        return Ok(None);
    }
    tracing::debug!(
        mart = mart.name,
        "kept as it is: only the latest day changed"
    );
    Ok(Some((count, files)))
}
