//! The current marts in memory, loaded from the run the newest manifest names (or from
//! MongoDB, the run last published whole) and swapped whole when a newer run commits or is
//! published, so every request is an in-memory lookup and always sees one run.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::scalar::ScalarValue;
use pricelake_core::layout;
use pricelake_lake::manifest::Manifest;
use pricelake_lake::Lake;
use serde_json::{json, Map, Value};

use futures::TryStreamExt;

use crate::error::{MartFileError, ServeError};

use pricelake_core::marts::{self, Serving};

/// One row: column name to JSON value (dates `YYYY-MM-DD`, times RFC 3339).
pub type Row = Map<String, Value>;

/// Where `price_daily` rows come from: batches in memory (from the lake), or a query per
/// item (from MongoDB, whose index on `item_id` answers it).
#[derive(Debug, Default)]
enum Daily {
    /// Loaded from the lake: Arrow batches and where each item's rows are.
    #[default]
    Empty,
    /// Columnar in memory.
    Batches {
        /// `price_daily`, columnar.
        batches: Vec<RecordBatch>,
        /// Where each item's rows are: (batch, row).
        by_item: HashMap<i64, Vec<(u32, u32)>>,
    },
    /// The published collection.
    Mongo(mongodb::Collection<mongodb::bson::Document>),
}

/// The marts of one committed run.
#[derive(Debug, Default)]
pub struct MartStore {
    run_id: Option<String>,
    finished_at: Option<String>,
    marts: HashMap<String, Vec<Row>>,
    /// Row counts of the marts not held as rows ([`Serving::CountOnly`], [`Serving::ByItem`]).
    counted: HashMap<String, usize>,
    /// The mart served by item (`price_daily`).
    daily: Daily,
    /// The `items` table (every version of each item's attributes), by item: from the lake
    /// only (it is not published to MongoDB).
    versions: Daily,
    /// Latest attributes per item (from `discounts`): the item list.
    items: BTreeMap<i64, Row>,
    /// Where each item's `price_lows` rows are (they are ordered by item): a range of them.
    lows: HashMap<i64, std::ops::Range<usize>>,
    /// Item ids in name order, sorted once per run rather than on every request.
    items_by_name: Vec<i64>,
    /// Currencies of the FX marts, USD first, found once per run.
    currencies: Vec<String>,
}

impl MartStore {
    /// Loads the marts of the newest committed run; an empty store when none exists yet.
    pub async fn load(lake: &Lake) -> Result<MartStore, ServeError> {
        match newest_manifest(lake).await? {
            Some(manifest) => MartStore::load_run(lake, &manifest).await,
            None => Ok(MartStore::default()),
        }
    }

    /// Loads the marts as `manifest`'s run left them: each table at the Delta version the
    /// manifest names (an earlier run's, for `?as_of=` and `serve --as-of`).
    pub async fn load_run(lake: &Lake, manifest: &Manifest) -> Result<MartStore, ServeError> {
        if !manifest.delta {
            return Err(ServeError::EarlierLayout {
                run_id: manifest.run_id.clone(),
            });
        }
        let manifest = manifest.clone();
        let run_id = manifest.run_id.clone();
        let mut marts = HashMap::new();
        let mut counted = HashMap::new();
        let mut daily_batches = Vec::new();
        for mart in marts::public() {
            let (serving, mart) = (mart.serving, mart.name);
            if serving == Serving::CountOnly {
                // The run's manifest has the count; only a manifest without it costs a read
                // of every file's footer.
                let recorded = manifest.mart_rows(mart);
                let count = match recorded {
                    Some(n) => n as usize,
                    None => {
                        let mut n = 0;
                        for path in mart_parts(lake, mart, &manifest).await? {
                            let bytes = live_file(lake, &path).await?;
                            n += count_rows(bytes).map_err(in_file(&path))?;
                        }
                        n
                    }
                };
                counted.insert(mart.to_string(), count);
                continue;
            }
            let mut rows = Vec::new();
            for path in mart_parts(lake, mart, &manifest).await? {
                let bytes = live_file(lake, &path).await?;
                if serving == Serving::ByItem {
                    daily_batches.extend(read_batches(mart, bytes).map_err(in_file(&path))?);
                } else {
                    rows.extend(read_rows(mart, bytes).map_err(in_file(&path))?);
                }
            }
            if serving == Serving::ByItem {
                let count = daily_batches.iter().map(RecordBatch::num_rows).sum();
                counted.insert(mart.to_string(), count);
            } else {
                marts.insert(mart.to_string(), rows);
            }
        }
        let versions = load_versions(lake, &manifest).await?;
        let mut store = MartStore {
            run_id: Some(run_id),
            finished_at: Some(manifest.finished_at_text()),
            marts,
            counted,
            daily: index_daily(daily_batches),
            versions: index_daily(versions),
            ..MartStore::default()
        };
        store.index();
        Ok(store)
    }

    /// Loads the marts of the run published whole to MongoDB (every mart's watermark names
    /// it); an empty store when no run is published whole yet.
    pub async fn load_from_mongo(db: &mongodb::Database) -> Result<MartStore, ServeError> {
        let Some(run) = published_run(db).await? else {
            return Ok(MartStore::default());
        };
        let mut marts = HashMap::new();
        let mut counted = HashMap::new();
        let mut daily = Daily::Empty;
        for mart in marts::public() {
            let (serving, mart) = (mart.serving, mart.name);
            let collection = db.collection::<mongodb::bson::Document>(mart);
            if matches!(serving, Serving::CountOnly | Serving::ByItem) {
                let n = collection.count_documents(mongodb::bson::doc! {}).await?;
                counted.insert(mart.to_string(), n as usize);
                if serving == Serving::ByItem {
                    daily = Daily::Mongo(collection);
                }
                continue;
            }
            let cursor = collection
                .find(mongodb::bson::doc! {})
                .projection(projection_of(mart))
                .sort(sort_of(mart))
                .await?;
            let documents: Vec<mongodb::bson::Document> = cursor.try_collect().await?;
            marts.insert(
                mart.to_string(),
                documents
                    .into_iter()
                    .map(|d| row_of_document(mart, d))
                    .collect(),
            );
        }
        let mut store = MartStore {
            run_id: Some(run.run_id),
            finished_at: run.finished_at,
            marts,
            counted,
            daily,
            ..MartStore::default()
        };
        store.index();
        Ok(store)
    }

    /// A store of the given rows of run `run_id`, indexed as a loaded one is: for handler
    /// tests, which need no lake and no Parquet.
    #[cfg(test)]
    pub(crate) fn from_rows(run_id: &str, marts: Vec<(&str, Vec<Row>)>) -> MartStore {
        let mut store = MartStore {
            run_id: Some(run_id.to_string()),
            finished_at: Some("2026-11-06T00:00:00Z".to_string()),
            marts: marts
                .into_iter()
                .map(|(mart, rows)| (mart.to_string(), rows))
                .collect(),
            ..MartStore::default()
        };
        store.index();
        store
    }

    fn index(&mut self) {
        let mut lows: HashMap<i64, std::ops::Range<usize>> = HashMap::new();
        for (i, row) in self.rows("price_lows").iter().enumerate() {
            if let Some(id) = row.get("item_id").and_then(Value::as_i64) {
                let range = lows.entry(id).or_insert(i..i);
                range.start = range.start.min(i);
                range.end = range.end.max(i + 1);
            }
        }
        self.lows = lows;
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
        let mut currencies: Vec<String> = Vec::new();
        for row in self.rows("vod_fx").iter().chain(self.rows("basket")) {
            if let Some(c) = row.get("currency").and_then(Value::as_str) {
                if !currencies.iter().any(|s| s == c) {
                    currencies.push(c.to_string());
                }
            }
        }
        currencies.sort_by_key(|c| (c != "USD", c.clone()));
        self.currencies = currencies;
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
        marts::names()
            .map(|m| {
                let count = self
                    .counted
                    .get(m)
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

    /// An item's rows of `price_lows`, one per currency (none before a run built the mart).
    pub fn lows_of(&self, item_id: i64) -> &[Row] {
        let rows = self.rows("price_lows");
        self.lows
            .get(&item_id)
            .and_then(|range| rows.get(range.clone()))
            .unwrap_or(&[])
    }

    /// The latest state of every item, by id.
    pub fn items(&self) -> &BTreeMap<i64, Row> {
        &self.items
    }

    /// An item's daily prices in every currency (rows of `price_daily`, made for this
    /// request from the columnar store, or asked of MongoDB).
    pub async fn daily_of(&self, item_id: i64, currency: &str) -> Result<Vec<Row>, ServeError> {
        let (batches, by_item) = match &self.daily {
            Daily::Empty => return Ok(Vec::new()),
            Daily::Mongo(collection) => {
                let cursor = collection
                    .find(mongodb::bson::doc! {"item_id": item_id, "currency": currency})
                    .projection(projection_of(collection.name()))
                    .sort(sort_of(collection.name()))
                    .await?;
                let documents: Vec<mongodb::bson::Document> = cursor.try_collect().await?;
                return Ok(documents
                    .into_iter()
                    .map(|d| row_of_document(collection.name(), d))
                    .collect());
            }
            Daily::Batches { batches, by_item } => (batches, by_item),
        };
        Ok(rows_of_item(batches, by_item, item_id, |batch, r| {
            // Rows of other currencies are skipped before any is built.
            let row_currency = batch
                .column_by_name("currency")
                .and_then(|c| ScalarValue::try_from_array(c, r).ok());
            !matches!(&row_currency,
                Some(ScalarValue::Utf8(Some(c)) | ScalarValue::Utf8View(Some(c))) if c != currency)
        }))
    }

    /// An item's versions of its attributes (rows of the `items` table, by version); none
    /// when the marts come from MongoDB, which does not hold that table.
    pub fn versions_of(&self, item_id: i64) -> Vec<Row> {
        let Daily::Batches { batches, by_item } = &self.versions else {
            return Vec::new();
        };
        let mut rows = rows_of_item(batches, by_item, item_id, |_, _| true);
        rows.sort_by_key(|r| r.get("version").and_then(Value::as_i64));
        rows
    }

    /// Currencies present in the FX marts, base first.
    pub fn currencies(&self) -> &[String] {
        &self.currencies
    }
}

/// An item's rows of batches indexed by item, those `keep` keeps (asked before a row is built).
fn rows_of_item(
    batches: &[RecordBatch],
    by_item: &HashMap<i64, Vec<(u32, u32)>>,
    item_id: i64,
    keep: impl Fn(&RecordBatch, usize) -> bool,
) -> Vec<Row> {
    let Some(places) = by_item.get(&item_id) else {
        return Vec::new();
    };
    places
        .iter()
        .filter_map(|(b, r)| {
            let (batch, r) = (&batches[*b as usize], *r as usize);
            if !keep(batch, r) {
                return None;
            }
            let schema = batch.schema();
            let mut row = Map::with_capacity(schema.fields().len());
            for (c, field) in schema.fields().iter().enumerate() {
                let value = ScalarValue::try_from_array(batch.column(c), r).ok()?;
                row.insert(field.name().clone(), to_json(value));
            }
            Some(row)
        })
        .collect()
}

/// The `items` table as of `manifest`'s run (its Delta version then: files
/// `clean/items/date=<day>/part-<run>.parquet`), as batches: a few rows per item, held
/// columnar and made rows per request.
async fn load_versions(lake: &Lake, manifest: &Manifest) -> Result<Vec<RecordBatch>, ServeError> {
    let mut batches = Vec::new();
    for path in table_files(lake, &layout::clean_table("items"), manifest).await? {
        let bytes = live_file(lake, &path).await?;
        let read = || -> Result<Vec<RecordBatch>, MartFileError> {
            let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
            Ok(builder.build()?.collect::<Result<_, _>>()?)
        };
        batches.extend(read().map_err(in_file(&path))?);
    }
    Ok(batches)
}

/// Indexes batches by item (`price_daily`, the `items` table).
fn index_daily(batches: Vec<RecordBatch>) -> Daily {
    if batches.is_empty() {
        return Daily::Empty;
    }
    let mut by_item: HashMap<i64, Vec<(u32, u32)>> = HashMap::new();
    for (b, batch) in batches.iter().enumerate() {
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
                by_item.entry(id).or_default().push((b as u32, r as u32));
            }
        }
    }
    Daily::Batches { batches, by_item }
}

/// The run MongoDB holds whole.
pub(crate) struct PublishedRun {
    /// Its id.
    pub run_id: String,
    /// When it committed (from its manifest, kept in the watermark).
    pub finished_at: Option<String>,
}

/// The run MongoDB holds whole: the one every mart's watermark names, or else (a publish
/// under way, or cut off half-way) the last run a publish finished
/// ([`crate::publish::PUBLISHED_RUN`]), so the previous run stays served. `None` only when no
/// run was ever published whole.
pub(crate) async fn published_run(
    db: &mongodb::Database,
) -> Result<Option<PublishedRun>, ServeError> {
    let marks: Vec<mongodb::bson::Document> = db
        .collection::<mongodb::bson::Document>(crate::publish::WATERMARKS)
        .find(mongodb::bson::doc! {})
        .await?
        .try_collect()
        .await?;
    let mark_of = |id: &str| marks.iter().find(|m| m.get_str("_id").ok() == Some(id));
    let run_of = |id: &str| mark_of(id).and_then(|m| m.get_str("run_id").ok());
    let finished_at = |id: &str| {
        mark_of(id)
            .and_then(|m| m.get_str("finished_at").ok())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let first = marts::names().next().unwrap_or_default();
    if let Some(run_id) = run_of(first) {
        if marts::names().all(|m| run_of(m) == Some(run_id)) {
            return Ok(Some(PublishedRun {
                run_id: run_id.to_string(),
                finished_at: finished_at(first),
            }));
        }
    }
    Ok(
        run_of(crate::publish::PUBLISHED_RUN).map(|run_id| PublishedRun {
            run_id: run_id.to_string(),
            finished_at: finished_at(crate::publish::PUBLISHED_RUN),
        }),
    )
}

/// The order transform wrote the mart's rows in, as a MongoDB sort.
fn sort_of(mart: &str) -> mongodb::bson::Document {
    let mut sort = mongodb::bson::Document::new();
    for column in pricelake_core::marts::row_order(mart) {
        sort.insert(*column, 1);
    }
    sort
}

/// The mart's columns, all that is asked of MongoDB: fields others added to the documents
/// stay out of the API's answers.
fn projection_of(mart: &str) -> mongodb::bson::Document {
    let mut projection = mongodb::bson::doc! {"_id": 0};
    for column in pricelake_core::marts::columns(mart) {
        projection.insert(column.name, 1);
    }
    projection
}

/// A published document back as the row it was made from: the mart's columns in their
/// order, dates as `YYYY-MM-DD` and times as RFC 3339 (as the lake's rows have them), a
/// missing field as null, any other field left out.
pub(crate) fn row_of_document(mart: &str, document: mongodb::bson::Document) -> Row {
    use mongodb::bson::Bson;
    use pricelake_core::marts::ColumnKind;
    let mut row = Row::new();
    for column in pricelake_core::marts::columns(mart) {
        let value = match (document.get(column.name), column.kind) {
            (None | Some(Bson::Null), _) => Value::Null,
            (Some(Bson::DateTime(t)), ColumnKind::Date) => {
                json!(DateTime::<Utc>::from_timestamp_millis(t.timestamp_millis())
                    .map(|t| t.date_naive().to_string()))
            }
            (Some(Bson::DateTime(t)), _) => {
                json!(DateTime::<Utc>::from_timestamp_millis(t.timestamp_millis())
                    .map(|t| t.to_rfc3339()))
            }
            (Some(Bson::Double(v)), _) => json!(v),
            (Some(Bson::Int32(v)), _) => json!(v),
            (Some(Bson::Int64(v)), _) => json!(v),
            (Some(Bson::Boolean(v)), _) => json!(v),
            (Some(Bson::String(v)), _) => json!(v),
            (Some(other), _) => other.clone().into_relaxed_extjson(),
        };
        row.insert(column.name.to_string(), value);
    }
    row
}

pub(crate) async fn newest_manifest(lake: &Lake) -> Result<Option<Manifest>, ServeError> {
    Ok(pricelake_lake::manifest::latest_manifest(lake).await?)
}

/// The newest committed run id, cheaply (for the refresher).
pub async fn newest_run_id(lake: &Lake) -> Result<Option<String>, ServeError> {
    Ok(newest_manifest(lake).await?.map(|m| m.run_id))
}

/// The Parquet files of a mart as of `manifest`'s run, in the mart's order (by day for a
/// mart kept by day): together, the mart.
pub(crate) async fn mart_parts(
    lake: &Lake,
    mart: &str,
    manifest: &Manifest,
) -> Result<Vec<String>, ServeError> {
    table_files(lake, &layout::mart(mart), manifest).await
}

/// A table's live files at the Delta version `manifest` names for it (the latest when it
/// names none: a run whose commits the next process run finishes); none when the lake has
/// no such table.
async fn table_files(
    lake: &Lake,
    table: &str,
    manifest: &Manifest,
) -> Result<Vec<String>, ServeError> {
    let version = manifest.table_version(table);
    Ok(pricelake_tables::live_files(lake, table, version)
        .await?
        .map(|t| t.files)
        .unwrap_or_default())
}

/// A file a table's version names: its bytes, or [`MartFileError::Missing`] when it is not
/// in the lake (never skipped: a mart without one of its files is not the mart).
pub(crate) async fn live_file(lake: &Lake, path: &str) -> Result<bytes::Bytes, ServeError> {
    lake.get(path)
        .await?
        .ok_or_else(|| in_file(path)(MartFileError::Missing))
}

/// Names a mart file's failure after the file.
pub(crate) fn in_file(path: &str) -> impl Fn(MartFileError) -> ServeError + '_ {
    move |source| ServeError::Mart {
        path: path.to_string(),
        source,
    }
}

fn count_rows(bytes: bytes::Bytes) -> Result<usize, MartFileError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    Ok(builder.metadata().file_metadata().num_rows().max(0) as usize)
}

/// Fails unless a mart file's columns are the registry's for `mart`, by name and in order: a
/// column renamed in a SQL file, or a lake written by another version of pricelake, is a
/// clear load error rather than a route that filters or sorts on nothing.
fn check_columns(
    mart: &str,
    builder: &ParquetRecordBatchReaderBuilder<bytes::Bytes>,
) -> Result<(), MartFileError> {
    let found: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let declared: Vec<String> = marts::columns(mart)
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    if found == declared {
        Ok(())
    } else {
        Err(MartFileError::Columns {
            mart: mart.to_string(),
            found,
            declared,
        })
    }
}

fn read_batches(mart: &str, bytes: bytes::Bytes) -> Result<Vec<RecordBatch>, MartFileError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    check_columns(mart, &builder)?;
    Ok(builder.build()?.collect::<Result<_, _>>()?)
}

fn read_rows(mart: &str, bytes: bytes::Bytes) -> Result<Vec<Row>, MartFileError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    check_columns(mart, &builder)?;
    let mut rows = Vec::new();
    for batch in builder.build()? {
        rows.extend(rows_of_batch(&batch?)?);
    }
    Ok(rows)
}

/// One record batch of a mart as rows, with the API's JSON types.
pub(crate) fn rows_of_batch(batch: &RecordBatch) -> Result<Vec<Row>, MartFileError> {
    let schema = batch.schema();
    let mut rows = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let mut row = Map::with_capacity(schema.fields().len());
        for (c, field) in schema.fields().iter().enumerate() {
            let value = ScalarValue::try_from_array(batch.column(c), i)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, DateTime as BsonDateTime};

    #[test]
    fn a_document_becomes_its_marts_row_with_dates_as_text_and_nothing_added() {
        let day = "2026-11-06T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let document = doc! {
            "_id": "EUR|2026-11-06", "_h": "abc",
            "date": BsonDateTime::from_millis(day.timestamp_millis()),
            "item_id": 7_i64, "name": "TV", "sale_price_usd": 9.5, "currency": "EUR",
            "rate": 0.9, "price": mongodb::bson::Bson::Null,
            "rate_time": BsonDateTime::from_millis(day.timestamp_millis() + 200),
            "added_by_someone": "not an API field",
        };
        let row = row_of_document("vod_fx", document);
        assert_eq!(
            serde_json::to_string(&row).unwrap(),
            r#"{"date":"2026-11-06","item_id":7,"name":"TV","sale_price_usd":9.5,"currency":"EUR","rate":0.9,"price":null,"rate_time":"2026-11-06T00:00:00.200+00:00"}"#
        );
    }

    #[test]
    fn dates_published_as_text_by_earlier_versions_still_read() {
        let row = row_of_document("basket", doc! {"date": "2026-11-06", "currency": "EUR"});
        assert_eq!(row["date"], json!("2026-11-06"));
        assert_eq!(row["items"], Value::Null);
    }

    /// A basket file with the columns given, as one Parquet object.
    fn basket_file(columns: [&str; 4]) -> bytes::Bytes {
        use datafusion::arrow::array::{
            ArrayRef, Date32Array, Float64Array, Int64Array, StringArray,
        };
        use std::sync::Arc;
        let arrays: Vec<(&str, ArrayRef)> = vec![
            (columns[0], Arc::new(Date32Array::from(vec![20_400]))),
            (columns[1], Arc::new(StringArray::from(vec!["EUR"]))),
            (columns[2], Arc::new(Int64Array::from(vec![3]))),
            (columns[3], Arc::new(Float64Array::from(vec![9.5]))),
        ];
        let batch = RecordBatch::try_from_iter(arrays).unwrap();
        let mut out = Vec::new();
        let mut writer =
            datafusion::parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None)
                .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        bytes::Bytes::from(out)
    }

    /// Commits run `r<seq>` of a lake whose only mart file is a basket file of `bytes`, as a
    /// process run does: the file, the manifest, the mart's Delta commit.
    async fn commit_basket(lake: &Lake, seq: i64, bytes: bytes::Bytes) {
        let run_id = format!("r{seq}");
        let path = layout::mart_file("basket", &run_id);
        lake.put(&path, bytes).await.unwrap();
        let manifest = Manifest {
            run_id: run_id.clone(),
            delta: true,
            ..Manifest::default()
        };
        pricelake_lake::manifest::commit(lake, &manifest)
            .await
            .unwrap();
        let change = pricelake_tables::TableChange {
            table: layout::mart("basket"),
            schema: None,
            partition_by: None,
            added: vec![path],
            removal: pricelake_tables::Removal::Everything,
        };
        let run = pricelake_tables::RunKey { run_id, seq };
        pricelake_tables::commit(lake, &change, &run).await.unwrap();
    }

    #[tokio::test]
    async fn a_mart_file_whose_columns_are_not_the_registrys_is_a_clear_load_error() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&pricelake_lake::LakeConfig {
            url: dir.path().to_string_lossy().into(),
            ..Default::default()
        })
        .unwrap();
        let commit =
            |seq, columns: [&'static str; 4]| commit_basket(&lake, seq, basket_file(columns));
        commit(1, ["date", "currency", "items", "cost"]).await;
        let store = MartStore::load(&lake).await.unwrap();
        assert_eq!(store.rows("basket").len(), 1);
        assert_eq!(store.rows("basket")[0]["cost"], json!(9.5));

        // `cost` renamed `total` in the SQL file: the run does not load, and says why.
        commit(2, ["date", "currency", "items", "total"]).await;
        let error = MartStore::load(&lake).await.unwrap_err();
        let error = pricelake_core::ErrorChain(&error).to_string();
        assert!(
            error.contains("basket")
                && error.contains("\"total\"")
                && error.contains("the mart registry declares")
                && error.contains("\"cost\""),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_damaged_mart_file_is_a_load_error_naming_it_with_the_parquet_readers_cause() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&pricelake_lake::LakeConfig {
            url: dir.path().to_string_lossy().into(),
            ..Default::default()
        })
        .unwrap();
        let path = layout::mart_file("basket", "r1");
        let whole = basket_file(["date", "currency", "items", "cost"]);
        commit_basket(&lake, 1, whole.clone()).await;
        // Damaged after its commit (a disk, a hand): the load names the file.
        lake.put(&path, whole.slice(..whole.len() / 2))
            .await
            .unwrap();
        let error = MartStore::load(&lake).await.unwrap_err();
        match &error {
            ServeError::Mart {
                path: named,
                source: MartFileError::Parquet(_),
            } => assert_eq!(named, &path),
            other => panic!("expected the file's Parquet error, got {other:?}"),
        }
        let shown = pricelake_core::ErrorChain(&error).to_string();
        assert!(
            shown.starts_with(&format!("mart file {path}: reading Parquet: ")),
            "{shown}"
        );
    }
}
