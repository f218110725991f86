//! The parse stage: the clean tables ([`CLEAN_TABLES`]), written from the raw objects a run
//! consumes. The raw objects are parsed a chunk at a time (in Rust, on worker threads,
//! [`crate::parse`]) while the previous chunk's rows are written as Parquet parts of the
//! clean tables, one per table and date; rejected records go to the transform's dead
//! letters. (`items`, the one clean table not parsed, is written by [`crate::items`].)

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use pricelake_core::layout;
use pricelake_lake::Lake;
use pricelake_tables::LatestTables;

use crate::error::TransformError;
use crate::parse;
use crate::run::Run;
use crate::write::parquet_bytes;

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

/// The clean tables of a run, each with its time column (the `date` partition is its day).
pub(crate) const PARTED_TABLES: [(&str, &str); 3] = [
    ("price_observations", "observed_at"),
    ("fx_rates", "rate_time"),
    ("trending_appearances", "trend_time"),
];

/// Compressed raw bytes parsed at a time (about ten times that in parsed rows).
const PARSE_CHUNK_RAW_BYTES: usize = 32 << 20;

/// What the parse stage wrote.
pub(crate) struct Cleaned {
    /// New rows per table of [`PARTED_TABLES`].
    counts: [u64; 3],
    /// Per table of [`PARTED_TABLES`] (observations, rates, trending appearances): the
    /// earliest new row of each day, and the files written for it.
    pub(crate) new_days: [NewRows; 3],
    /// Rows rejected, by reason.
    pub(crate) rejected: BTreeMap<String, u64>,
}

impl Cleaned {
    /// New rows per clean table.
    pub(crate) fn rows(&self) -> BTreeMap<String, u64> {
        PARTED_TABLES
            .iter()
            .zip(self.counts)
            .map(|((table, _), n)| (table.to_string(), n))
            .collect()
    }

    /// Records delivered to the lake's tables: the new observations and rates.
    pub(crate) fn delivered(&self) -> u64 {
        self.counts[0] + self.counts[1]
    }
}

/// Parses `objects` into the clean tables, a chunk of raw objects at a time: memory holds
/// two chunks' rows (one parsed, one written), whatever the size of the run. Each chunk
/// writes its own parts; the rejected records are written last, a file per reason.
pub(crate) async fn parse_objects(
    run: &mut Run<'_>,
    objects: &[String],
) -> Result<Cleaned, TransformError> {
    let (lake, config, metrics) = (run.lake, run.config, run.metrics);
    let (run_id, produced) = (run.id.as_str(), &mut run.output.produced);
    let mut counts = [0u64; 3];
    // Per table (observations, rates, trending appearances): the earliest new row of each
    // day, and the files written for it.
    let mut new_days: [NewRows; 3] = Default::default();
    let mut rejected_records = Vec::new();
    let mut chunk = 0usize;
    let mut remaining = objects.iter();
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
            let Some(path) = remaining.next() else {
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
                    write_chunk(lake, &part, &parsed, &mut counts, &mut new_days, produced).await?;
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
        objects = objects.len(),
        chunks = chunk,
        elapsed_ms = parse_started.elapsed().as_millis() as u64,
        parsing_ms = parsing.as_millis() as u64,
        writing_ms = writing.as_millis() as u64,
        "raw objects parsed into the clean tables"
    );
    let parsed = parse::Parsed {
        rejected: rejected_records,
        ..parse::Parsed::default()
    };
    let rejected = parsed.rejected_by_reason();
    write_rejections(lake, run_id, &parsed.rejected, produced).await?;
    for (reason, n) in &rejected {
        metrics.add(
            pricelake_core::metrics::names::DEAD_LETTERS,
            &[("stage", "transform"), ("reason", reason)],
            *n,
        );
    }
    Ok(Cleaned {
        counts,
        new_days,
        rejected,
    })
}

/// What [`write_partitioned`] wrote: how many rows, and per date partition the earliest
/// row's time and the file.
struct PartitionedRows {
    rows: u64,
    days: BTreeMap<String, (DateTime<Utc>, String)>,
}

/// Files of a clean table by day (`YYYY-MM-DD`, the `date=` folder each is in).
pub(crate) type DayFiles = BTreeMap<String, Vec<String>>;

/// The files a run reads of each table of [`PARTED_TABLES`], by day: the live files at the
/// table's latest version (read through `latest`, which the run's commit then starts from) and
/// the run's new parts (`new`, not committed yet); a full refresh reads only its own parts,
/// as every earlier one is superseded by it. Never the folder: it also holds the files of
/// earlier versions, until `pricelake vacuum`.
pub(crate) async fn files_to_read(
    lake: &Lake,
    latest: &LatestTables,
    new: &[NewRows; 3],
    full_refresh: bool,
) -> Result<[DayFiles; 3], TransformError> {
    let read = std::array::from_fn::<_, 3, _>(|i| async move {
        let (table, new) = (PARTED_TABLES[i].0, &new[i]);
        let mut files = new.files.clone();
        if full_refresh {
            return Ok::<_, TransformError>(files);
        }
        let table = layout::clean_table(table);
        let live = pricelake_tables::latest_live_files(lake, latest, &table)
            .await?
            .map(|t| t.files)
            .unwrap_or_default();
        for file in live {
            let Some(day) = day_of(&file) else {
                return Err(TransformError::Shape {
                    table,
                    problem: format!("its live file {file} is not in a date= folder"),
                });
            };
            files.entry(day).or_default().push(file);
        }
        for day_files in files.values_mut() {
            day_files.sort();
            day_files.dedup();
        }
        Ok(files)
    });
    let [observations, rates, trending] = read;
    let (observations, rates, trending) = futures::try_join!(observations, rates, trending)?;
    Ok([observations, rates, trending])
}

/// The day of a clean table's file, from its `date=` folder.
fn day_of(path: &str) -> Option<String> {
    path.split('/')
        .find_map(|segment| segment.strip_prefix("date="))
        .map(str::to_string)
}

/// A run's new rows of a clean table, by day.
#[derive(Default)]
pub(crate) struct NewRows {
    /// The earliest new row of each day.
    pub(crate) earliest: BTreeMap<String, DateTime<Utc>>,
    /// The files written for each day.
    pub(crate) files: BTreeMap<String, Vec<String>>,
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
        lake.put(&path, parquet_bytes(table, batch.schema(), &[batch])?)
            .await?;
        produced.push(path.clone());
        written.days.insert(date, (earliest, path));
    }
    Ok(written)
}

/// Writes the rejected records as the transform's dead letters, a file per reason.
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
