//! The run's Delta commits: after its manifest is written, each table the run changed gets
//! one commit carrying the run ([`pricelake_tables::commit`]), so that engines reading the
//! lake as Delta tables see the run; then the manifest names each table's version.
//!
//! The manifest is written first because it is what a run consumed (the raw objects must be
//! consumed exactly once, whatever happens next), and each table's change is a function of
//! it: the files it produced under the table, and the table's kind. So a run killed between
//! its manifest and its last commit is finished by the next run ([`finish_commits`]): each
//! commit is made once, the run's commits already made are found by their `txn`.

use std::collections::BTreeMap;

use datafusion::arrow::datatypes::SchemaRef;
use futures::{StreamExt, TryStreamExt};
use pricelake_core::{layout, marts};
use pricelake_lake::Lake;
use pricelake_tables::commit::with_partition;
use pricelake_tables::{LatestTables, Removal, RunKey, TableChange};

use crate::clean::{ITEMS_TABLE, PARTED_TABLES};
use crate::error::TransformError;
use crate::manifest::{self, Manifest};
use crate::parse;

/// Tables committed at once.
const TABLES_AT_ONCE: usize = 4;

/// The lake's tables: the clean ones that grow by parts (with their schema), `items`, then
/// every mart of the registry; `date` partitions the clean tables.
fn lake_tables() -> Vec<(String, Option<SchemaRef>, Option<&'static str>)> {
    let schemas = [
        parse::observations_schema(),
        parse::fx_schema(),
        parse::trending_schema(),
    ];
    let mut tables: Vec<_> = PARTED_TABLES
        .iter()
        .zip(schemas)
        .map(|((table, _), schema)| {
            (
                layout::clean_table(table),
                Some(with_partition(&schema, "date")),
                Some("date"),
            )
        })
        .collect();
    tables.push((layout::clean_table(ITEMS_TABLE), None, Some("date")));
    tables.extend(
        marts::REGISTRY
            .iter()
            .map(|m| (layout::mart(m.name), None, None)),
    );
    tables
}

/// Every table's folder, lake-relative: the clean tables, then every mart.
pub fn table_folders() -> Vec<String> {
    lake_tables().into_iter().map(|(table, ..)| table).collect()
}

/// What the run of `manifest` changed in each table: the files it produced under the table
/// added; every live file removed from a table it replaced (every table, for a full
/// refresh), else the live files it says it removed.
fn changes(manifest: &Manifest) -> Vec<TableChange> {
    let under = |files: &[String], prefix: &str| -> Vec<String> {
        files
            .iter()
            .filter(|p| p.starts_with(prefix))
            .cloned()
            .collect()
    };
    lake_tables()
        .into_iter()
        .map(|(table, schema, partition_by)| {
            let prefix = format!("{table}/");
            let removal = if manifest.full_refresh || manifest.replaced.contains(&table) {
                Removal::Everything
            } else {
                let removed = under(&manifest.removed, &prefix);
                match removed.is_empty() {
                    true => Removal::Nothing,
                    false => Removal::Files(
                        removed
                            .into_iter()
                            .map(|p| p[prefix.len()..].to_string())
                            .collect(),
                    ),
                }
            };
            TableChange {
                added: under(&manifest.produced, &prefix),
                table,
                schema,
                partition_by: partition_by.map(str::to_string),
                removal,
            }
        })
        .collect()
}

/// The run's sequence number (the digits its id ends with: `...Z-00000012` is 12), the `txn`
/// version of its commits.
fn run_key(run_id: &str) -> RunKey {
    let digits = run_id.len() - run_id.bytes().rev().take_while(u8::is_ascii_digit).count();
    let seq = run_id[digits..].parse::<i64>().unwrap_or(0);
    RunKey {
        run_id: run_id.to_string(),
        seq,
    }
}

/// Commits the run of `manifest` (already written, with its change record) to every table
/// it changed, then writes the manifest again naming each table's version, without the
/// change record. Safe to call again: nothing is committed twice.
pub(crate) async fn commit_tables(
    lake: &Lake,
    latest: &LatestTables,
    manifest: &mut Manifest,
) -> Result<(), TransformError> {
    let started = std::time::Instant::now();
    let run = run_key(&manifest.run_id);
    // Each table's commit is its own: a few at once, so that reading one log overlaps
    // writing another.
    let committed: Vec<(String, pricelake_tables::Committed)> =
        futures::stream::iter(changes(manifest))
            .map(|change| {
                let run = &run;
                async move {
                    let committed =
                        pricelake_tables::commit_to_latest(lake, latest, &change, run).await?;
                    Ok::<_, TransformError>((change.table, committed))
                }
            })
            .buffer_unordered(TABLES_AT_ONCE)
            .try_collect()
            .await?;
    let versions: BTreeMap<String, u64> = committed
        .into_iter()
        .filter(|(_, c)| *c != pricelake_tables::Committed::NoTable)
        .map(|(table, c)| (table, c.version()))
        .collect();
    // Once each table's version is named, the change record is Delta's to keep: the
    // manifest keeps what Delta does not know (what the run consumed, its figures).
    manifest.tables = Some(versions);
    manifest.produced.clear();
    manifest.removed.clear();
    manifest.replaced.clear();
    manifest::commit(lake, manifest).await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "delta tables committed"
    );
    Ok(())
}

/// Commits a run made elsewhere than by [`crate::process`] (a run written by hand, in tests
/// of the readers): writes its manifest, then its Delta commits, as a process run does.
pub async fn commit_run(lake: &Lake, manifest: &mut Manifest) -> Result<(), TransformError> {
    manifest.delta = true;
    manifest.tables = None;
    manifest::commit(lake, manifest).await?;
    commit_tables(lake, &LatestTables::default(), manifest).await
}

/// Finishes the Delta commits of the latest run, when it was stopped between its manifest
/// and its last commit (its manifest names no versions yet).
pub(crate) async fn finish_commits(
    lake: &Lake,
    latest: Option<&Manifest>,
) -> Result<(), TransformError> {
    if let Some(latest) = latest.filter(|m| m.delta && m.tables.is_none()) {
        tracing::warn!(
            run_id = latest.run_id,
            "the last run stopped before all of its Delta commits: finishing them"
        );
        commit_tables(lake, &LatestTables::default(), &mut latest.clone()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_key_is_its_sequence_number() {
        assert_eq!(run_key("20260106T000000Z-00000012").seq, 12);
        assert_eq!(run_key("r0002").seq, 2);
    }

    #[test]
    fn every_clean_table_and_mart_is_a_table() {
        let tables = table_folders();
        for table in crate::CLEAN_TABLES {
            assert!(tables.contains(&layout::clean_table(table)), "{table}");
        }
        for mart in marts::REGISTRY {
            assert!(tables.contains(&layout::mart(mart.name)), "{}", mart.name);
        }
    }
}
