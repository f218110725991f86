//! The current marts in memory, loaded from the run the newest manifest names and swapped
//! whole when a newer run commits, so every request is an in-memory lookup.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::scalar::ScalarValue;
use pricelake_core::layout;
use pricelake_lake::Lake;
use serde_json::{json, Map, Value};

use crate::ServeError;

/// Marts the API serves.
pub const MARTS: &[&str] = &[
    "prices_fx",
    "discounts",
    "vod_fx",
    "trending_popularity",
    "price_daily",
    "fx_daily",
    "category_daily",
    "price_moves",
    "basket",
];

/// Marts no route reads row by row: only their row counts are kept, not their rows
/// (`prices_fx` is every observation times every currency, most of the lake's rows).
const COUNTED_ONLY: &[&str] = &["prices_fx"];

/// Marts kept columnar (Arrow batches, a few bytes a value) and turned into JSON rows only
/// for the item a request asks about: `price_daily` is items x days x currencies.
const COLUMNAR: &str = "price_daily";

/// One row: column name to JSON value (dates `YYYY-MM-DD`, times RFC 3339).
pub type Row = Map<String, Value>;

/// The marts of one committed run.
#[derive(Debug, Default)]
pub struct MartStore {
    run_id: Option<String>,
    finished_at: Option<String>,
    marts: HashMap<String, Vec<Row>>,
    /// Row counts of the marts in [`COUNTED_ONLY`].
    counted: HashMap<String, usize>,
    /// `price_daily`, columnar.
    daily_batches: Vec<RecordBatch>,
    /// Where each item's `price_daily` rows are: (batch, row).
    daily_by_item: HashMap<i64, Vec<(u32, u32)>>,
    /// Latest attributes per item (from `discounts`): the item list.
    items: BTreeMap<i64, Row>,
    /// Item ids in name order, sorted once per run rather than on every request.
    items_by_name: Vec<i64>,
}

impl MartStore {
    /// Loads the marts of the newest committed run; an empty store when none exists yet.
    pub async fn load(lake: &Lake) -> Result<MartStore, ServeError> {
        let Some((run_id, manifest)) = newest_manifest(lake).await? else {
            return Ok(MartStore::default());
        };
        let mut marts = HashMap::new();
        let mut counted = HashMap::new();
        let mut daily_batches = Vec::new();
        for mart in MARTS {
            let path = layout::mart_file(mart, &run_id);
            if COUNTED_ONLY.contains(mart) {
                let count = match lake.get(&path).await? {
                    Some(bytes) => {
                        count_rows(bytes).map_err(|e| ServeError::Mart(format!("{path}: {e}")))?
                    }
                    None => 0,
                };
                counted.insert(mart.to_string(), count);
                continue;
            }
            if *mart == COLUMNAR {
                if let Some(bytes) = lake.get(&path).await? {
                    daily_batches = read_batches(bytes)
                        .map_err(|e| ServeError::Mart(format!("{path}: {e}")))?;
                }
                let count = daily_batches.iter().map(RecordBatch::num_rows).sum();
                counted.insert(mart.to_string(), count);
                continue;
            }
            let rows = match lake.get(&path).await? {
                Some(bytes) => {
                    read_rows(bytes).map_err(|e| ServeError::Mart(format!("{path}: {e}")))?
                }
                None => Vec::new(),
            };
            marts.insert(mart.to_string(), rows);
        }
        let mut store = MartStore {
            run_id: Some(run_id),
            finished_at: manifest
                .get("finished_at")
                .and_then(Value::as_str)
                .map(str::to_string),
            marts,
            counted,
            daily_batches,
            ..MartStore::default()
        };
        store.index();
        Ok(store)
    }

    fn index(&mut self) {
        for (b, batch) in self.daily_batches.iter().enumerate() {
            let Some(column) = batch.column_by_name("item_id") else {
                continue;
            };
            for r in 0..batch.num_rows() {
                let id = match ScalarValue::try_from_array(column, r) {
                    Ok(ScalarValue::Int64(Some(id))) => Some(id),
                    Ok(ScalarValue::Int32(Some(id))) => Some(i64::from(id)),
                    Ok(ScalarValue::UInt64(Some(id))) => i64::try_from(id).ok(),
                    _ => None,
                };
                if let Some(id) = id {
                    self.daily_by_item
                        .entry(id)
                        .or_default()
                        .push((b as u32, r as u32));
                }
            }
        }
        if let Some(rows) = self.marts.get("discounts") {
            // Rows are sorted by date: the last one per item is its latest state.
            for row in rows {
                if let Some(id) = row.get("item_id").and_then(Value::as_i64) {
                    self.items.insert(id, row.clone());
                }
            }
        }
        let mut by_name: Vec<(&str, i64)> = self
            .items
            .iter()
            .map(|(id, row)| (row.get("name").and_then(Value::as_str).unwrap_or(""), *id))
            .collect();
        by_name.sort_unstable();
        self.items_by_name = by_name.into_iter().map(|(_, id)| id).collect();
    }

    /// The run whose marts these are.
    pub fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// When that run committed.
    pub fn finished_at(&self) -> Option<&str> {
        self.finished_at.as_deref()
    }

    /// A mart's rows (empty if unknown).
    pub fn rows(&self, mart: &str) -> &[Row] {
        self.marts.get(mart).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Row counts per mart.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        MARTS
            .iter()
            .map(|m| {
                let count = self
                    .counted
                    .get(*m)
                    .copied()
                    .unwrap_or_else(|| self.rows(m).len());
                (m.to_string(), count)
            })
            .collect()
    }

    /// Item ids sorted by name (then id).
    pub fn items_by_name(&self) -> &[i64] {
        &self.items_by_name
    }

    /// The latest state of every item, by id.
    pub fn items(&self) -> &BTreeMap<i64, Row> {
        &self.items
    }

    /// An item's daily prices in every currency (rows of `price_daily`, made for this
    /// request from the columnar store).
    pub fn daily_of(&self, item_id: i64) -> Vec<Row> {
        let Some(places) = self.daily_by_item.get(&item_id) else {
            return Vec::new();
        };
        places
            .iter()
            .filter_map(|(b, r)| {
                let batch = &self.daily_batches[*b as usize];
                let schema = batch.schema();
                let mut row = Map::with_capacity(schema.fields().len());
                for (c, field) in schema.fields().iter().enumerate() {
                    let value = ScalarValue::try_from_array(batch.column(c), *r as usize).ok()?;
                    row.insert(field.name().clone(), to_json(value));
                }
                Some(row)
            })
            .collect()
    }

    /// Currencies present in the FX marts, base first.
    pub fn currencies(&self) -> Vec<String> {
        let mut set: Vec<String> = Vec::new();
        for row in self.rows("vod_fx").iter().chain(self.rows("basket")) {
            if let Some(c) = row.get("currency").and_then(Value::as_str) {
                if !set.iter().any(|s| s == c) {
                    set.push(c.to_string());
                }
            }
        }
        set.sort_by_key(|c| (c != "USD", c.clone()));
        set
    }
}

pub(crate) async fn newest_manifest(lake: &Lake) -> Result<Option<(String, Value)>, ServeError> {
    let objects = lake.list(layout::PROCESS_MANIFESTS).await?;
    let Some(last) = objects.last() else {
        return Ok(None);
    };
    let manifest: Value = lake.get_json(&last.path).await?.unwrap_or(Value::Null);
    let run_id = manifest
        .get("run_id")
        .and_then(Value::as_str)
        .ok_or_else(|| ServeError::Mart(format!("{}: no run_id", last.path)))?
        .to_string();
    Ok(Some((run_id, manifest)))
}

/// The newest committed run id, cheaply (for the refresher).
pub async fn newest_run_id(lake: &Lake) -> Result<Option<String>, ServeError> {
    Ok(newest_manifest(lake).await?.map(|(id, _)| id))
}

fn count_rows(bytes: bytes::Bytes) -> Result<usize, String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| e.to_string())?;
    Ok(builder.metadata().file_metadata().num_rows().max(0) as usize)
}

fn read_batches(bytes: bytes::Bytes) -> Result<Vec<RecordBatch>, String> {
    ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| e.to_string())?
        .map(|b| b.map_err(|e| e.to_string()))
        .collect()
}

fn read_rows(bytes: bytes::Bytes) -> Result<Vec<Row>, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for batch in reader {
        rows.extend(rows_of_batch(&batch.map_err(|e| e.to_string())?)?);
    }
    Ok(rows)
}

/// One record batch of a mart as rows, with the API's JSON types.
pub(crate) fn rows_of_batch(batch: &RecordBatch) -> Result<Vec<Row>, String> {
    let schema = batch.schema();
    let mut rows = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let mut row = Map::with_capacity(schema.fields().len());
        for (c, field) in schema.fields().iter().enumerate() {
            let value =
                ScalarValue::try_from_array(batch.column(c), i).map_err(|e| e.to_string())?;
            row.insert(field.name().clone(), to_json(value));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn to_json(value: ScalarValue) -> Value {
    match value {
        v if v.is_null() => Value::Null,
        ScalarValue::Float64(Some(v)) => json!((v * 1e6).round() / 1e6),
        ScalarValue::Float32(Some(v)) => json!(v),
        ScalarValue::Int64(Some(v)) => json!(v),
        ScalarValue::Int32(Some(v)) => json!(v),
        ScalarValue::UInt64(Some(v)) => json!(v),
        ScalarValue::Boolean(Some(v)) => json!(v),
        ScalarValue::Utf8(Some(v))
        | ScalarValue::LargeUtf8(Some(v))
        | ScalarValue::Utf8View(Some(v)) => json!(v),
        ScalarValue::Date32(Some(d)) => {
            json!(NaiveDate::from_num_days_from_ce_opt(d + 719_163).map(|d| d.to_string()))
        }
        ScalarValue::TimestampMicrosecond(Some(us), _) => {
            json!(DateTime::<Utc>::from_timestamp_micros(us).map(|t| t.to_rfc3339()))
        }
        ScalarValue::TimestampMillisecond(Some(ms), _) => {
            json!(DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.to_rfc3339()))
        }
        ScalarValue::TimestampNanosecond(Some(ns), _) => {
            json!(DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339())
        }
        other => json!(other.to_string()),
    }
}
