//! Publishes the marts of the newest committed run to MongoDB, for users who query them
//! there, as the original did with pymongo.
//!
//! One collection per mart. Each row becomes a document with the mart's columns, dates and
//! times as BSON dates (so a driver queries them with its own date type: pymongo's
//! `{'date': {'$gte': datetime(2026, 12, 5)}}`), an `_id` that is the mart's natural key (as
//! text: the key's values joined by `|`, dates last) and an `_h` that is a hash of its
//! content, so a publish writes only rows that are new or changed (upserts by `_id`, sent in bulk as `update` commands of many statements) and
//! deletes rows the new run no longer has. A watermark per mart (collection
//! `_pricelake_publish`) names the run last published whole: publishing the same run again
//! writes nothing, and a publish cut off half-way is finished by the next one, since the
//! hashes say what is already there.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Database, IndexModel};
use pricelake_core::marts::{self, ColumnKind, Mart};
use pricelake_lake::manifest::Manifest;
use pricelake_lake::Lake;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{self, Row};

/// What can go wrong while publishing.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The MongoDB connection string is unusable.
    #[error("{env}: not a usable MongoDB connection string")]
    Config {
        /// The environment variable that holds it (its value is a secret and not shown).
        env: String,
        /// The driver's reason.
        source: mongodb::error::Error,
    },
    /// The server could not be reached, or failed a command.
    #[error("MongoDB")]
    Mongo(#[from] mongodb::error::Error),
    /// The server answered a write, but did not apply all of it.
    #[error("MongoDB refused writes to {mart}: {problem}")]
    Refused {
        /// The mart's collection.
        mart: String,
        /// What the server said.
        problem: String,
    },
    /// The lake or a mart file could not be read.
    #[error("reading the marts")]
    Read(#[from] crate::ServeError),
    /// A mart the lake holds is not in this build's registry.
    #[error("{0}: not in the mart registry")]
    UnknownMart(String),
    /// A mart's value cannot be stored as BSON.
    #[error("{mart}.{column}: {value} cannot be stored in MongoDB")]
    Value {
        /// The mart.
        mart: String,
        /// The column.
        column: String,
        /// The value, as JSON.
        value: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// `[publish]`: where and how marts are published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublishConfig {
    /// The environment variable holding the MongoDB connection string (a secret: it may
    /// carry a password). Unset: nothing is published and the API serves from the lake.
    pub mongodb_uri_env: String,
    /// The database the mart collections go to.
    pub database: String,
    /// Statements per bulk `update` command.
    pub batch_size: usize,
    /// Publish after every `process` run that commits, when MongoDB is configured.
    pub after_process: bool,
    /// Seconds to wait for a server before giving up.
    pub connect_timeout_secs: u64,
}

impl Default for PublishConfig {
    fn default() -> Self {
        Self {
            mongodb_uri_env: "PRICELAKE_MONGODB_URI".into(),
            database: "pricelake".into(),
            batch_size: 1000,
            after_process: true,
            connect_timeout_secs: 10,
        }
    }
}

impl PublishConfig {
    /// The connection string from the environment, if MongoDB is configured.
    pub fn uri(&self) -> Option<String> {
        std::env::var(&self.mongodb_uri_env)
            .ok()
            .filter(|v| !v.trim().is_empty())
    }
}

/// The collection holding one watermark document per mart, and [`PUBLISHED_RUN`].
pub const WATERMARKS: &str = "_pricelake_publish";

/// The `_id` of the watermark naming the last run published whole (every mart), written
/// after the last mart: the run the MongoDB-backed API serves while a later publish is under
/// way or was cut off half-way.
pub const PUBLISHED_RUN: &str = "_published_run";

/// Part of every content hash: a change of how rows become documents (dates as BSON dates
/// since this version, instead of text) makes every published document differ from its row,
/// so the next publish rewrites it rather than calling it unchanged.
const DOCUMENT_FORMAT: &[u8] = b"pricelake-document-v2\n";

/// What publishing one mart did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MartPublish {
    /// The mart.
    pub mart: String,
    /// Rows in the run's mart.
    pub rows: u64,
    /// Documents inserted or replaced.
    pub written: u64,
    /// Rows already there with the same content.
    pub unchanged: u64,
    /// Documents removed because the run no longer has their row.
    pub deleted: u64,
    /// True when the watermark showed this run already published.
    pub skipped: bool,
}

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PublishReport {
    /// The run published; `None` when the lake has no committed run yet.
    pub run_id: Option<String>,
    /// Per mart.
    pub marts: Vec<MartPublish>,
}

impl PublishReport {
    /// Documents written in all.
    pub fn written(&self) -> u64 {
        self.marts.iter().map(|m| m.written).sum()
    }

    /// Rows found already published with the same content, in all.
    pub fn unchanged(&self) -> u64 {
        self.marts.iter().map(|m| m.unchanged).sum()
    }

    /// Documents deleted, in all.
    pub fn deleted(&self) -> u64 {
        self.marts.iter().map(|m| m.deleted).sum()
    }
}

/// How far a publish has got, for a caller that shows it (publishing millions of rows takes
/// minutes): sent when a mart starts, as its rows are compared and written, and when it ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishProgress {
    /// The mart being published.
    pub mart: String,
    /// Documents found in its collection before writing (what the run is compared with).
    pub existing: u64,
    /// Rows of the run's mart compared so far.
    pub rows: u64,
    /// Rows of the run's mart, when its manifest records them.
    pub total: Option<u64>,
    /// Documents written so far.
    pub written: u64,
    /// Rows found unchanged so far.
    pub unchanged: u64,
    /// Documents deleted so far.
    pub deleted: u64,
    /// True once what is published has been read and rows are being compared with it.
    pub compared: bool,
    /// True once the mart is done (or found already published).
    pub done: bool,
    /// True when its watermark showed this run already published.
    pub skipped: bool,
}

/// A connection to the database marts are published to.
pub struct Publisher {
    db: Database,
    batch_size: usize,
}

impl Publisher {
    /// Connects (and pings, so a wrong address fails here, clearly) using `uri`.
    pub async fn connect(config: &PublishConfig, uri: &str) -> Result<Self, PublishError> {
        let mut options =
            ClientOptions::parse(uri)
                .await
                .map_err(|source| PublishError::Config {
                    env: config.mongodb_uri_env.clone(),
                    source,
                })?;
        options.app_name = Some("pricelake".into());
        options.server_selection_timeout = Some(Duration::from_secs(config.connect_timeout_secs));
        options.connect_timeout = Some(Duration::from_secs(config.connect_timeout_secs));
        let client = Client::with_options(options)?;
        let db = client.database(&config.database);
        db.run_command(doc! {"ping": 1}).await?;
        Ok(Self {
            db,
            batch_size: config.batch_size.max(1),
        })
    }

    /// The database published to.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Publishes every mart of the newest committed run.
    pub async fn publish(&self, lake: &Lake) -> Result<PublishReport, PublishError> {
        self.publish_with_progress(lake, &|_| {}).await
    }

    /// Publishes every mart of the newest committed run, telling `progress` how far it got
    /// as it goes. After the last mart, the run is recorded as published whole
    /// ([`PUBLISHED_RUN`]).
    pub async fn publish_with_progress(
        &self,
        lake: &Lake,
        progress: &(dyn Fn(&PublishProgress) + Send + Sync),
    ) -> Result<PublishReport, PublishError> {
        let Some(manifest) = store::newest_manifest(lake).await? else {
            return Ok(PublishReport::default());
        };
        if !manifest.delta {
            // Its marts are not where this pricelake reads them: publishing would empty
            // every collection.
            return Err(PublishError::Read(crate::ServeError::EarlierLayout {
                run_id: manifest.run_id.clone(),
            }));
        }
        let run_id = manifest.run_id.clone();
        let mut report = PublishReport {
            run_id: Some(run_id.clone()),
            marts: Vec::new(),
        };
        let finished_at = manifest.finished_at_text();
        for mart in marts::names() {
            let total = manifest.mart_rows(mart);
            report.marts.push(
                self.publish_mart(lake, &manifest, mart, total, progress)
                    .await?,
            );
        }
        self.db
            .collection::<Document>(WATERMARKS)
            .replace_one(
                doc! {"_id": PUBLISHED_RUN},
                doc! {
                    "_id": PUBLISHED_RUN,
                    "run_id": &run_id,
                    "finished_at": finished_at,
                    "published_at": Utc::now().to_rfc3339(),
                },
            )
            .upsert(true)
            .await?;
        Ok(report)
    }

    async fn publish_mart(
        &self,
        lake: &Lake,
        manifest: &Manifest,
        mart: &str,
        total: Option<u64>,
        progress: &(dyn Fn(&PublishProgress) + Send + Sync),
    ) -> Result<MartPublish, PublishError> {
        let (run_id, finished_at) = (manifest.run_id.as_str(), &manifest.finished_at_text());
        let entry = marts::get(mart).ok_or_else(|| PublishError::UnknownMart(mart.to_string()))?;
        let mut result = MartPublish {
            mart: mart.to_string(),
            ..MartPublish::default()
        };
        let mut state = PublishProgress {
            mart: mart.to_string(),
            existing: 0,
            rows: 0,
            total,
            written: 0,
            unchanged: 0,
            deleted: 0,
            compared: false,
            done: false,
            skipped: false,
        };
        let watermarks = self.db.collection::<Document>(WATERMARKS);
        if let Some(mark) = watermarks.find_one(doc! {"_id": mart}).await? {
            if mark.get_str("run_id").ok() == Some(run_id) {
                result.skipped = true;
                // The server may hand the count back as any of BSON's number types.
                result.rows = number(&mark, "rows").or(total).unwrap_or(0);
                result.unchanged = result.rows;
                state.rows = result.rows;
                state.unchanged = result.rows;
                state.done = true;
                state.skipped = true;
                progress(&state);
                return Ok(result);
            }
        }
        progress(&state);
        let collection = self.db.collection::<Document>(mart);
        self.ensure_indexes(entry).await?;
        // What is there now: `_id` to content hash. A document whose `_id` is not text
        // (someone else's) is left alone.
        let mut existing: HashMap<String, String> = HashMap::new();
        let mut cursor = collection.find(doc! {}).projection(doc! {"_h": 1}).await?;
        while cursor.advance().await? {
            let current = cursor.deserialize_current()?;
            if let Ok(id) = current.get_str("_id") {
                existing.insert(
                    id.to_string(),
                    current.get_str("_h").unwrap_or_default().to_string(),
                );
            }
        }
        state.existing = existing.len() as u64;
        state.compared = true;
        progress(&state);
        let mut statements = Vec::new();
        let parts = store::mart_parts(lake, mart, manifest).await?;
        for path in parts {
            let bytes = store::live_file(lake, &path).await?;
            let in_file = store::in_file(&path);
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
                .and_then(|b| b.build())
                .map_err(|e| in_file(e.into()))?;
            for batch in reader {
                let batch = batch.map_err(|e| in_file(e.into()))?;
                let rows = store::rows_of_batch(&batch).map_err(&in_file)?;
                for row in rows {
                    result.rows += 1;
                    let id = document_id(mart, &row);
                    let hash = content_hash(&row);
                    if existing.remove(&id).as_deref() == Some(hash.as_str()) {
                        result.unchanged += 1;
                        continue;
                    }
                    statements.push(doc! {
                        "q": {"_id": &id},
                        "u": document_of(mart, &id, &hash, row)?,
                        "upsert": true,
                    });
                    if statements.len() >= self.batch_size {
                        result.written += self.bulk_upsert(mart, &mut statements).await?;
                    }
                }
                (state.rows, state.written, state.unchanged) =
                    (result.rows, result.written, result.unchanged);
                progress(&state);
            }
        }
        result.written += self.bulk_upsert(mart, &mut statements).await?;
        let stale: Vec<String> = existing.into_keys().collect();
        for chunk in stale.chunks(self.batch_size) {
            let deleted = collection
                .delete_many(doc! {"_id": {"$in": chunk.to_vec()}})
                .await?;
            result.deleted += deleted.deleted_count;
        }
        (state.rows, state.written, state.unchanged, state.deleted) = (
            result.rows,
            result.written,
            result.unchanged,
            result.deleted,
        );
        watermarks
            .replace_one(
                doc! {"_id": mart},
                doc! {
                    "_id": mart,
                    "run_id": run_id,
                    "finished_at": finished_at,
                    "rows": result.rows as i64,
                    "published_at": Utc::now().to_rfc3339(),
                },
            )
            .upsert(true)
            .await?;
        state.done = true;
        progress(&state);
        Ok(result)
    }

    /// Sends the pending upserts as one `update` command; returns how many were applied.
    async fn bulk_upsert(
        &self,
        mart: &str,
        statements: &mut Vec<Document>,
    ) -> Result<u64, PublishError> {
        if statements.is_empty() {
            return Ok(0);
        }
        let sent = statements.len() as u64;
        let updates: Vec<Bson> = statements.drain(..).map(Bson::Document).collect();
        let reply = self
            .db
            .run_command(doc! {"update": mart, "updates": updates, "ordered": false})
            .await?;
        if let Ok(errors) = reply.get_array("writeErrors") {
            if !errors.is_empty() {
                return Err(PublishError::Refused {
                    mart: mart.to_string(),
                    problem: format!(
                        "{} of {sent} upserts failed, first: {}",
                        errors.len(),
                        errors[0]
                    ),
                });
            }
        }
        let applied = reply
            .get_i32("n")
            .map(i64::from)
            .or_else(|_| reply.get_i64("n"))
            .unwrap_or(0) as u64;
        if applied != sent {
            return Err(PublishError::Refused {
                mart: mart.to_string(),
                problem: format!("the server applied {applied} of {sent} upserts"),
            });
        }
        Ok(applied)
    }

    async fn ensure_indexes(&self, mart: &Mart) -> Result<(), PublishError> {
        let collection = self.db.collection::<Document>(mart.name);
        let all = std::iter::once(mart.natural_key).chain(mart.indexes.iter().copied());
        for (i, columns) in all.enumerate() {
            let mut spec = Document::new();
            for column in columns {
                spec.insert(*column, 1);
            }
            let name = if i == 0 {
                "natural_key".to_string()
            } else {
                columns.join("_")
            };
            let options = IndexOptions::builder().name(name).unique(i == 0).build();
            collection
                .create_index(IndexModel::builder().keys(spec).options(options).build())
                .await?;
        }
        Ok(())
    }
}

/// A number field of a document, whichever of BSON's number types the server stored it as.
fn number(document: &Document, key: &str) -> Option<u64> {
    match document.get(key)? {
        Bson::Int32(n) => u64::try_from(*n).ok(),
        Bson::Int64(n) => u64::try_from(*n).ok(),
        Bson::Double(n) if *n >= 0.0 && n.fract() == 0.0 => Some(*n as u64),
        _ => None,
    }
}

/// The row's natural key as one string: the key columns' values joined by `|`, dates and
/// times last (`EUR|2026-11-02`, `101|2026-11-02`). A key never begins with a date: a
/// MongoDB-protocol server that reads such text as a date (nx-27017 does) then never matches
/// the `_id`, and a second publish of the row fails as a duplicate.
fn document_id(mart: &str, row: &Row) -> String {
    let key = marts::natural_key(mart);
    let is_time = |column: &&str| {
        marts::column(mart, column)
            .is_some_and(|c| matches!(c.kind, ColumnKind::Date | ColumnKind::Timestamp))
    };
    key.iter()
        .filter(|c| !is_time(c))
        .chain(key.iter().filter(|c| is_time(c)))
        .map(|column| match row.get(*column) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "null".into(),
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// A hash of the row's content (its JSON text; keys are sorted) and of [`DOCUMENT_FORMAT`].
fn content_hash(row: &Row) -> String {
    let text = serde_json::to_vec(row).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(DOCUMENT_FORMAT);
    hasher.update(&text);
    let digest = hasher.finalize();
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// A value of `mart.column` that MongoDB cannot take, with why.
fn bad_value(
    mart: &str,
    column: &str,
    value: &serde_json::Value,
    source: impl std::error::Error + Send + Sync + 'static,
) -> PublishError {
    PublishError::Value {
        mart: mart.to_string(),
        column: column.to_string(),
        value: value.to_string(),
        source: Box::new(source),
    }
}

/// The document of a row: its columns, with dates and times as BSON dates (a date is its
/// midnight UTC; times keep milliseconds, BSON's precision).
fn document_of(mart: &str, id: &str, hash: &str, row: Row) -> Result<Document, PublishError> {
    let mut document = Document::new();
    document.insert("_id", id);
    document.insert("_h", hash);
    for (column, value) in row {
        let kind = marts::column(mart, &column).map(|c| c.kind);
        let value = match (kind, &value) {
            (Some(ColumnKind::Date), serde_json::Value::String(text)) => {
                let day = text
                    .parse::<NaiveDate>()
                    .map_err(|e| bad_value(mart, &column, &value, e))?;
                Bson::DateTime(mongodb::bson::DateTime::from_millis(
                    day.and_time(chrono::NaiveTime::MIN)
                        .and_utc()
                        .timestamp_millis(),
                ))
            }
            (Some(ColumnKind::Timestamp), serde_json::Value::String(text)) => {
                let time = text
                    .parse::<DateTime<Utc>>()
                    .map_err(|e| bad_value(mart, &column, &value, e))?;
                Bson::DateTime(mongodb::bson::DateTime::from_millis(
                    time.timestamp_millis(),
                ))
            }
            _ => mongodb::bson::to_bson(&value).map_err(|e| bad_value(mart, &column, &value, e))?,
        };
        document.insert(column, value);
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_hashes_follow_the_row() {
        let row: Row =
            serde_json::from_str(r#"{"date":"2026-01-02","currency":"EUR","cost":1.5}"#).unwrap();
        assert_eq!(document_id("basket", &row), "EUR|2026-01-02");
        let mut changed = row.clone();
        changed.insert("cost".into(), serde_json::json!(1.6));
        assert_ne!(content_hash(&row), content_hash(&changed));
        assert_eq!(content_hash(&row), content_hash(&row.clone()));
        let mut missing = row.clone();
        missing.remove("date");
        assert_eq!(document_id("basket", &missing), "EUR|null");
    }

    #[test]
    fn no_document_id_begins_with_a_date() {
        let vod: Row =
            serde_json::from_str(r#"{"date":"2026-11-06","currency":"EUR","item_id":7}"#).unwrap();
        assert_eq!(document_id("vod_fx", &vod), "EUR|2026-11-06");
        let trending: Row =
            serde_json::from_str(r#"{"period_start":"2026-11-02","item_id":101}"#).unwrap();
        assert_eq!(
            document_id("trending_popularity", &trending),
            "101|2026-11-02"
        );
        let daily: Row =
            serde_json::from_str(r#"{"date":"2026-11-06","item_id":7,"currency":"GBP"}"#).unwrap();
        assert_eq!(document_id("price_daily", &daily), "7|GBP|2026-11-06");
    }

    #[test]
    fn dates_and_times_become_bson_dates_and_other_values_stay_as_they_are() {
        let row: Row = serde_json::from_str(
            r#"{"date":"2026-11-06","item_id":7,"name":"TV","sale_price_usd":9.5,"currency":"EUR",
                "rate":null,"price":null,"rate_time":"2026-11-06T00:00:00.200+00:00"}"#,
        )
        .unwrap();
        let document = document_of("vod_fx", "EUR|2026-11-06", "h", row).unwrap();
        let midnight = "2026-11-06T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            document.get_datetime("date").unwrap().timestamp_millis(),
            midnight.timestamp_millis()
        );
        assert_eq!(
            document
                .get_datetime("rate_time")
                .unwrap()
                .timestamp_millis(),
            midnight.timestamp_millis() + 200
        );
        assert_eq!(document.get_i64("item_id").unwrap(), 7);
        assert_eq!(document.get_f64("sale_price_usd").unwrap(), 9.5);
        assert_eq!(document.get("rate"), Some(&Bson::Null));
        let bad: Row = serde_json::from_str(r#"{"date":"not a day"}"#).unwrap();
        assert!(document_of("vod_fx", "x", "h", bad).is_err());
    }

    #[test]
    fn a_count_is_read_whatever_number_type_the_server_kept() {
        let document = doc! {"a": 5_i32, "b": 6_i64, "c": 7.0, "d": "8", "e": -1_i32};
        assert_eq!(number(&document, "a"), Some(5));
        assert_eq!(number(&document, "b"), Some(6));
        assert_eq!(number(&document, "c"), Some(7));
        assert_eq!(number(&document, "d"), None);
        assert_eq!(number(&document, "e"), None);
        assert_eq!(number(&document, "missing"), None);
    }
}
