//! The marts' SQL held to readable test files: `sql/tests/*.slt`, in the sqllogictest format
//! (`statement ok` / `query <types> <sort mode>`, then the expected rows after `----`), each a
//! small hand-made input and the rows a mart's SQL file must give for it. A reviewer reads
//! what a mart does, case by case, beside the SQL it tests; a change to a mart that changes
//! its rows fails here with the file and line of the case.
//!
//! Each file runs in a session of its own, as a run's would be set up (plain `Utf8` strings,
//! [`with_plain_types`]), on one partition so that rows come out the same every time.
//! The session starts with the clean tables `price_observations`, `fx_rates` and
//! `trending_appearances` empty, with the columns, types and nullability the parser writes
//! ([`crate::parse`]): a file inserts its rows into them, and a value of the wrong type or a
//! null where the lake never has one fails there, as it would never reach a real run.
//! In a statement, `{sql:<file>}` stands for `sql/<file>` (`{sql:append/discounts.sql}`),
//! its placeholders filled from [`sql_file_config`] as a run fills them.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::ArrayRef;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Record, Runner};

use super::*;
use crate::error::TransformError;
use crate::parse;
use crate::session::with_plain_types;

/// Where the marts' SQL files are; their test files are in its `tests` folder.
const SQL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sql");

/// The SQL files that must each have a test file (`sql/<name>.sql`, `sql/tests/<name>.slt`):
/// every file the mart registry names (each mart's, each merge of a day extended by later
/// observations), and these: `rates`, a day's intermediate table; `items`, the items table;
/// the views of the rates and the currencies.
const TESTED_SQL: &[&str] = &[
    "rates.sql",
    "items.sql",
    "views/fx.sql",
    "views/currencies.sql",
];

/// Every SQL file that must have a test file (see [`TESTED_SQL`]).
fn tested_sql() -> Vec<&'static str> {
    use pricelake_core::marts::{Extension, Grain};
    let mut files: Vec<&str> = TESTED_SQL.to_vec();
    for mart in marts::REGISTRY {
        files.push(mart.sql);
        if let Grain::Day(Extension::Merge { delta, merge }) = mart.grain {
            files.push(merge);
            files.extend(delta);
        }
    }
    files
}

/// The configuration the test files' placeholders are filled from (as documented in
/// `sql/tests/README.md`): base USD, EUR and GBP, a rate stale after 48 hours, the top 2
/// trending items a week (few, so that a small file shows the cut), items 1 and 2 in the basket.
fn sql_file_config() -> TransformConfig {
    TransformConfig {
        currencies: vec!["EUR".into(), "GBP".into()],
        base_currency: "USD".into(),
        stale_rate_after_hours: 48,
        trending_top_n: 2,
        basket_item_ids: vec![1, 2],
        ..TransformConfig::default()
    }
}

/// One test file's session: DataFusion as a run sets it up, and the config that fills the
/// mart files' placeholders.
struct MartSession {
    ctx: SessionContext,
    config: TransformConfig,
}

/// Why a record of a test file failed to run (the runner compares errors by their text).
#[derive(Debug, thiserror::Error)]
enum SqlFileError {
    #[error("{0}")]
    Query(#[from] DataFusionError),
    #[error("{0}")]
    Transform(#[from] TransformError),
    #[error("{0}")]
    Sql(String),
}

impl MartSession {
    /// A fresh session, with the clean tables empty (see the module's documentation).
    fn new() -> Result<Self, SqlFileError> {
        let ctx = SessionContext::new_with_config(
            with_plain_types(SessionConfig::new()).with_target_partitions(1),
        );
        for (table, schema) in [
            ("price_observations", parse::observations_schema()),
            ("fx_rates", parse::fx_schema()),
            ("trending_appearances", parse::trending_schema()),
        ] {
            let empty = MemTable::try_new(schema, vec![Vec::new()])?;
            ctx.register_table(table, std::sync::Arc::new(empty))?;
        }
        Ok(Self {
            ctx,
            config: sql_file_config(),
        })
    }

    /// `sql` with each `{sql:<file>}` replaced by that SQL file, its placeholders filled.
    async fn with_sql_files(&self, sql: &str) -> Result<String, SqlFileError> {
        let mut out = String::new();
        let mut rest = sql;
        while let Some(start) = rest.find("{sql:") {
            let end = rest[start..]
                .find('}')
                .map(|e| start + e)
                .ok_or_else(|| SqlFileError::Sql(format!("unclosed {{sql:...}} in {sql}")))?;
            let name = &rest[start + "{sql:".len()..end];
            // The text a run uses: the file as embedded in the build.
            let text = crate::sql::text(name)?;
            out.push_str(&rest[..start]);
            out.push_str(&fill(text, &self.config, &self.ctx).await?);
            // The file may end in a comment: the statement goes on on a line of its own.
            out.push('\n');
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[async_trait::async_trait]
impl AsyncDB for MartSession {
    type Error = SqlFileError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SqlFileError> {
        let sql = self.with_sql_files(sql).await?;
        let df = self.ctx.sql(&sql).await?;
        let schema = df.schema().as_arrow().clone();
        let batches = df.collect().await?;
        // DDL (CREATE, DROP) has no columns; INSERT answers with its count, as a query.
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let types = schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let mut rows = Vec::new();
        for batch in &batches {
            for row in 0..batch.num_rows() {
                rows.push(
                    batch
                        .columns()
                        .iter()
                        .map(|column| cell(column, row))
                        .collect::<Result<_, _>>()?,
                );
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "datafusion"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

/// The letter a test file's `query` line gives a column: `I` for integers, `R` for floats,
/// `T` for everything else (text, dates, times, booleans).
fn column_type(t: &DataType) -> DefaultColumnType {
    if t.is_integer() {
        DefaultColumnType::Integer
    } else if t.is_floating() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        DefaultColumnType::FloatingPoint
    } else {
        DefaultColumnType::Text
    }
}

/// A value as a test file spells it: `NULL`; floats rounded to 6 decimals without trailing
/// zeros (`72`, not `72.00000000000001`: the files hold hand-computed numbers); dates
/// `YYYY-MM-DD`; times in UTC, `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`; `true`/`false`; an empty
/// string as `(empty)`, which a blank would not show.
fn cell(column: &ArrayRef, row: usize) -> Result<String, SqlFileError> {
    use datafusion::scalar::ScalarValue as S;
    let value = S::try_from_array(column, row)?;
    if value.is_null() {
        return Ok("NULL".to_string());
    }
    let time = |micros: Option<i64>, zone: &Option<std::sync::Arc<str>>| {
        let t = micros.and_then(DateTime::<Utc>::from_timestamp_micros)?;
        let text = t.format("%Y-%m-%dT%H:%M:%S%.f").to_string();
        Some(if zone.is_some() { text + "Z" } else { text })
    };
    let text = match &value {
        S::Float64(Some(v)) => Some(float(*v)),
        S::Float32(Some(v)) => Some(float(f64::from(*v))),
        S::Utf8(Some(s)) | S::LargeUtf8(Some(s)) | S::Utf8View(Some(s)) if s.is_empty() => {
            Some("(empty)".to_string())
        }
        S::Utf8(Some(s)) | S::LargeUtf8(Some(s)) | S::Utf8View(Some(s)) => Some(s.clone()),
        S::Date32(Some(days)) => chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163)
            .map(|d| d.format("%Y-%m-%d").to_string()),
        S::TimestampSecond(v, zone) => time(v.map(|s| s * 1_000_000), zone),
        S::TimestampMillisecond(v, zone) => time(v.map(|ms| ms * 1_000), zone),
        S::TimestampMicrosecond(v, zone) => time(*v, zone),
        S::TimestampNanosecond(v, zone) => time(v.map(|ns| ns.div_euclid(1_000)), zone),
        other => Some(other.to_string()),
    }
    .unwrap_or_else(|| value.to_string());
    Ok(text)
}

/// `v` rounded to 6 decimals, without trailing zeros (`-0` is `0`).
fn float(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let text = format!("{v:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0" } else { text }.to_string()
}

/// The test files under `sql/tests` (`append/` too), in name order.
fn test_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![Path::new(SQL_DIR).join("tests")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("sql/tests is there") {
            let path = entry.expect("a readable entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "slt") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs one test file's records in order, each whatever the ones before gave (a failed
/// statement is reported, and so are the records it makes fail). Returns the number of
/// statements and queries run.
async fn run_file(path: &Path, failures: &mut Vec<String>) -> usize {
    // Named from the crate's folder in failures: `sql/tests/prices_fx.slt:51`.
    let name = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string();
    let records = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| {
            sqllogictest::parse_with_name::<DefaultColumnType>(&text, name.as_str())
                .map_err(|e| e.to_string())
        }) {
        Ok(records) => records,
        Err(e) => {
            failures.push(format!("{name}: cannot be read: {e}"));
            return 0;
        }
    };
    let mut runner = Runner::new(|| async { MartSession::new() });
    runner.with_column_validator(sqllogictest::strict_column_validator);
    let mut ran = 0;
    for record in records {
        match &record {
            Record::Halt { .. } => break,
            Record::Statement { .. } | Record::Query { .. } => ran += 1,
            _ => {}
        }
        if let Err(e) = runner.run_async(record).await {
            failures.push(e.display(false).to_string());
        }
    }
    ran
}

/// Every test file, each failure listed (file, line, expected and actual rows) before the
/// test fails: one mistake does not hide the others. A mart without a test file fails too.
#[tokio::test]
async fn every_marts_sql_file_gives_the_rows_its_test_file_expects() {
    let files = test_files();
    let mut failures = Vec::new();
    let tests = Path::new(SQL_DIR).join("tests");
    for sql in tested_sql() {
        let test = sql.replace(".sql", ".slt");
        if !files.contains(&tests.join(&test)) {
            failures.push(format!("sql/{sql} has no test file sql/tests/{test}"));
        }
    }
    let mut records = 0;
    for file in &files {
        records += run_file(file, &mut failures).await;
    }
    println!(
        "{} test files, {records} statements and queries",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}
