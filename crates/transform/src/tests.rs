//! Hand-computed expectations on a tiny fixed data set.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::execution::context::SessionContext;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::prelude::SessionConfig;
use datafusion::scalar::ScalarValue;
use pricelake_core::{layout, marts, LakeRecord, Metrics, RecordEnvelope, SimulatedClock};
use pricelake_lake::Lake;
use serde_json::{json, Value};

use crate::clean::ITEMS_TABLE;
use crate::config::TransformConfig;
use crate::days;
use crate::engine::Engine;
use crate::gc::WORK_PREFIX;
use crate::items::items_extension;
use crate::manifest::{self, all_manifests, latest_manifest, DayStats, Manifest};
use crate::process;
use crate::report::ProcessReport;
use crate::session::{materialize_rates, register_tables, session};
use crate::sql::{self, fill};
use crate::verify::mart_duplicates;
use crate::write::parquet_bytes;

mod contract;
mod sql_files;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn item_env(
    id: &str,
    endpoint: &str,
    fetched: &str,
    payload: Value,
    context: Option<Value>,
) -> LakeRecord {
    LakeRecord::Raw(RecordEnvelope {
        record_id: id.into(),
        source: "walmart".into(),
        endpoint: endpoint.into(),
        fetched_at: at(fetched),
        request_url: "http://x".into(),
        http_status: 200,
        position: Some(0),
        context,
        payload,
    })
}

fn live(id: &str, time: &str, eur: f64, gbp: f64) -> LakeRecord {
    LakeRecord::Raw(RecordEnvelope {
        record_id: id.into(),
        source: "currencylayer".into(),
        endpoint: "live".into(),
        fetched_at: at(time),
        request_url: "http://x".into(),
        http_status: 200,
        position: None,
        context: None,
        payload: json!({"success": true, "timestamp": at(time).timestamp(), "source": "USD", "quotes": {"USDEUR": eur, "USDGBP": gbp}}),
    })
}

async fn put_raw(lake: &Lake, name: &str, records: &[LakeRecord]) {
    let mut lines = Vec::new();
    for r in records {
        lines.extend(serde_json::to_vec(r).unwrap());
        lines.push(b'\n');
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&lines).unwrap();
    lake.put(
        &format!("raw/test/{name}.ndjson.gz"),
        Bytes::from(gz.finish().unwrap()),
    )
    .await
    .unwrap();
}

fn config() -> TransformConfig {
    TransformConfig {
        currencies: vec!["EUR".into(), "GBP".into()],
        basket_item_ids: vec![1, 2],
        ..TransformConfig::default()
    }
}

async fn run(lake: &Lake, full: bool) -> ProcessReport {
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 1, 6, 0, 0, 0).unwrap());
    process(lake, &config(), &Engine::Local, clock, Metrics::new(), full)
        .await
        .unwrap()
}

/// Every table's latest Delta version (`None`: not a Delta table).
async fn table_versions(lake: &Lake) -> BTreeMap<String, Option<u64>> {
    let mut out = BTreeMap::new();
    for table in crate::table_folders() {
        let files = pricelake_tables::live_files(lake, &table, None)
            .await
            .unwrap();
        out.insert(table, files.map(|f| f.version));
    }
    out
}

/// A run stopped between its manifest and its Delta commits (here: before its commit to
/// `basket`, and before its manifest named the versions) is finished by the next process
/// run: the missing commit is made, the others are found by their `txn` and not made again,
/// and the manifest names every table's version.
#[tokio::test]
async fn a_run_stopped_before_its_delta_commits_is_finished_once_by_the_next() {
    let (_dir, lake) = fixture().await;
    run(&lake, false).await;
    let mut m = latest_manifest(&lake).await.unwrap().unwrap();
    let versions = m.tables.clone().expect("the run named its versions");
    assert!(
        m.produced.is_empty() && m.removed.is_empty() && m.replaced.is_empty(),
        "once the versions are named, the run's change record is Delta's"
    );
    assert_eq!(
        versions.keys().cloned().collect::<Vec<_>>(),
        {
            let mut all = crate::table_folders();
            all.sort();
            all
        },
        "every clean table and mart is a Delta table"
    );
    assert_eq!(
        versions.values().copied().collect::<BTreeSet<_>>(),
        [1].into(),
        "created (0), then the run's one commit (1)"
    );
    let basket = layout::mart("basket");
    lake.delete(&format!("{basket}/_delta_log/00000000000000000001.json"))
        .await
        .unwrap();
    // The manifest as the run wrote it first: with its change record (a first run wrote
    // every file there is, and replaces every mart and `items`).
    m.tables = None;
    for table in crate::table_folders() {
        let files = lake.list(&format!("{table}/")).await.unwrap();
        m.produced.extend(
            files
                .into_iter()
                .map(|o| o.path)
                .filter(|p| !p.contains("/_delta_log/")),
        );
        if !table.starts_with("clean/") || table == layout::clean_table(ITEMS_TABLE) {
            m.replaced.push(table);
        }
    }
    manifest::commit(&lake, &m).await.unwrap();
    let logs_before = lake.list("marts").await.unwrap().len();

    // Nothing new to process: the run only finishes the stopped one.
    let report = run(&lake, false).await;
    assert!(report.skipped);
    let finished = latest_manifest(&lake).await.unwrap().unwrap();
    assert_eq!(finished.run_id, m.run_id);
    assert_eq!(finished.tables, Some(versions.clone()));
    assert_eq!(
        lake.list("marts").await.unwrap().len(),
        logs_before + 1,
        "one commit made again (basket's), none twice"
    );
    assert_eq!(table_versions(&lake).await.len(), versions.len());
}

/// `optimize` makes each day of `prices_fx` one file again after hourly extensions: the
/// same rows in the same order, one `OPTIMIZE` commit, and the next hour extends the
/// compacted day as any other (the marts still what a full refresh gives).
#[tokio::test]
async fn optimize_compacts_a_days_extensions_into_one_file_with_the_same_rows_in_order() {
    let (_dir, lake) = fixture().await;
    run(&lake, false).await;
    let tv = |sale: f64| json!({"itemId": 1, "name": "TV", "salePrice": sale, "msrp": 100.0, "categoryPath": "Electronics/TV", "stock": "Available"});
    for (hour, time, sale) in [
        ("h1", "2026-01-05T06:00:00Z", 70.0),
        ("h2", "2026-01-05T07:00:00Z", 71.0),
    ] {
        put_raw(
            &lake,
            hour,
            &[item_env(hour, "paginated_items", time, tv(sale), None)],
        )
        .await;
        run(&lake, false).await;
    }
    let of_day_5 = |files: Vec<String>| {
        files
            .into_iter()
            .filter(|f| f.contains("/part-2026-01-05"))
            .count()
    };
    assert_eq!(of_day_5(live_files(&lake, "prices_fx").await), 3);
    let rows_before = mart(&lake, "prices_fx").await;
    let version_before = table_versions(&lake).await[&layout::mart("prices_fx")];

    let compacted = crate::optimize(&lake, &config()).await.unwrap();
    let prices_fx = compacted.iter().find(|c| c.mart == "prices_fx").unwrap();
    assert_eq!(prices_fx.days, ["2026-01-05"]);
    assert_eq!(prices_fx.files_removed, 3);
    assert_eq!(prices_fx.version, version_before.map(|v| v + 1));
    assert_eq!(of_day_5(live_files(&lake, "prices_fx").await), 1);
    assert_eq!(
        mart(&lake, "prices_fx").await,
        rows_before,
        "same rows, same order"
    );
    let summary = pricelake_tables::describe(&lake, &layout::mart("prices_fx"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.operation.as_deref(), Some("OPTIMIZE"));
    // Nothing left to do a second time.
    let again = crate::optimize(&lake, &config()).await.unwrap();
    assert!(again.iter().all(|c| c.version.is_none()), "{again:?}");

    put_raw(
        &lake,
        "h3",
        &[item_env(
            "h3",
            "paginated_items",
            "2026-01-05T09:00:00Z",
            tv(72.0),
            None,
        )],
    )
    .await;
    run(&lake, false).await;
    assert_eq!(
        of_day_5(live_files(&lake, "prices_fx").await),
        2,
        "compacted + one hour"
    );
    a_full_refresh_gives_the_same_marts(&lake).await;
}

/// A mart's live files at its latest Delta version, in the mart's order.
/// The clean tables' files as a run that adds nothing reads them.
async fn clean_files(lake: &Lake) -> [crate::clean::DayFiles; 3] {
    crate::clean::files_to_read(lake, &Default::default(), &Default::default(), false)
        .await
        .unwrap()
}

async fn live_files(lake: &Lake, name: &str) -> Vec<String> {
    pricelake_tables::live_files(lake, &layout::mart(name), None)
        .await
        .unwrap()
        .expect("the mart is a Delta table")
        .files
}

/// A mart's rows as JSON objects (dates and times as text).
async fn mart(lake: &Lake, name: &str) -> Vec<Value> {
    let mut batches = Vec::new();
    // Every live file, in the mart's order (a mart kept by day has one or more per day).
    for path in live_files(lake, name).await {
        let bytes = lake.get(&path).await.unwrap().unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        batches.extend(reader);
    }
    let mut out = Vec::new();
    for batch in batches {
        let batch = batch.unwrap();
        for row in 0..batch.num_rows() {
            let mut obj = serde_json::Map::new();
            for (i, field) in batch.schema().fields().iter().enumerate() {
                let v = match ScalarValue::try_from_array(batch.column(i), row).unwrap() {
                    ScalarValue::Float64(Some(v)) => json!((v * 1e9).round() / 1e9),
                    ScalarValue::Int64(Some(v)) => json!(v),
                    ScalarValue::Int32(Some(v)) => json!(v),
                    ScalarValue::UInt64(Some(v)) => json!(v),
                    ScalarValue::Boolean(Some(v)) => json!(v),
                    ScalarValue::Utf8(Some(v)) => json!(v),
                    s if s.is_null() => Value::Null,
                    s => json!(s.to_string()),
                };
                obj.insert(field.name().clone(), v);
            }
            out.push(Value::Object(obj));
        }
    }
    out
}

async fn fixture() -> (tempfile::TempDir, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&pricelake_lake::LakeConfig {
        url: dir.path().to_string_lossy().into(),
        ..Default::default()
    })
    .unwrap();
    let tv = |sale: f64| json!({"itemId": 1, "name": "TV", "salePrice": sale, "msrp": 100.0, "categoryPath": "Electronics/TV", "stock": "Available"});
    let blender = json!({"itemId": "2", "name": "Blender", "salePrice": "50", "categoryPath": "Home/Kitchen", "stock": "Not available"});
    // Rates arrive out of order, in two objects.
    put_raw(
        &lake,
        "fx-b",
        &[live("fx2", "2026-01-02T12:00:00Z", 0.8, 0.75)],
    )
    .await;
    put_raw(
        &lake,
        "fx-a",
        &[live("fx1", "2026-01-01T00:00:00Z", 0.9, 0.8)],
    )
    .await;
    put_raw(
        &lake,
        "items-1",
        &[
            item_env("vod1", "vod", "2026-01-01T10:00:00Z", tv(80.0), None),
            // Exactly at the second rate's time: that rate applies.
            item_env(
                "cat1",
                "paginated_items",
                "2026-01-02T12:00:00Z",
                tv(90.0),
                None,
            ),
            // Before any rate: no conversion, counted.
            item_env(
                "cat2",
                "paginated_items",
                "2025-12-31T23:00:00Z",
                blender.clone(),
                None,
            ),
            // 60 hours after the last rate: stale.
            item_env(
                "cat3",
                "paginated_items",
                "2026-01-05T00:00:00Z",
                tv(95.0),
                None,
            ),
            item_env(
                "bad",
                "paginated_items",
                "2026-01-01T10:00:00Z",
                json!({"name": "no id", "salePrice": 1}),
                None,
            ),
            item_env(
                "tr1",
                "trends",
                "2026-01-01T00:00:00Z",
                tv(80.0),
                Some(json!({"time": at("2026-01-01T00:00:00Z").timestamp_millis()})),
            ),
            item_env(
                "tr2",
                "trends",
                "2026-01-01T00:00:00Z",
                blender.clone(),
                Some(json!({"time": at("2026-01-01T00:00:00Z").timestamp_millis()})),
            ),
            item_env(
                "tr3",
                "trends",
                "2026-01-02T00:00:00Z",
                tv(90.0),
                Some(json!({"time": at("2026-01-02T00:00:00Z").timestamp_millis()})),
            ),
        ],
    )
    .await;
    // A replayed object: the same vod record again.
    put_raw(
        &lake,
        "items-2",
        &[item_env(
            "vod1",
            "vod",
            "2026-01-01T10:00:00Z",
            tv(80.0),
            None,
        )],
    )
    .await;
    (dir, lake)
}

fn find(rows: &[Value], pred: impl Fn(&Value) -> bool) -> &Value {
    rows.iter().find(|r| pred(r)).expect("row present")
}

/// What a run makes of the fixture: its rejections, duplicates and counts. The marts' rows
/// for such inputs, computed by hand, are in the test files of `sql/tests/` (run by
/// `tests::sql_files`), each case beside the SQL it tests.
#[tokio::test]
async fn a_run_rejects_counts_and_deduplicates_as_computed_by_hand() {
    let (_dir, lake) = fixture().await;
    let report = run(&lake, false).await;
    assert_eq!(report.rejected.get("missing_item_id"), Some(&1));
    assert_eq!(
        report.duplicates_removed, 1,
        "the replayed vod record counts once"
    );
    assert!(
        lake.list("errors/transform/missing_item_id")
            .await
            .unwrap()
            .len()
            == 1,
        "rejected rows are kept"
    );
    assert_eq!(
        report.rows.get("price_observations"),
        Some(&8),
        "every observation parsed, the replayed one too"
    );
    assert_eq!(
        report.rows.get("mart.prices_fx"),
        Some(&21),
        "7 observations once deduplicated, in USD, EUR and GBP"
    );
    assert_eq!(
        report.rows.get("mart.prices_fx.missing_rate"),
        Some(&2),
        "the blender before any rate, in EUR and GBP (USD needs no rate)"
    );
}

#[tokio::test]
async fn runs_are_incremental_idempotent_and_survive_a_crash() {
    let (_dir, lake) = fixture().await;
    let first = run(&lake, false).await;
    assert!(!first.skipped);
    assert_eq!(first.consumed_objects, 4);
    let before = mart(&lake, "prices_fx").await;
    assert!(
        run(&lake, false).await.skipped,
        "nothing new: nothing written"
    );

    // A crashed run left a clean part behind without a manifest.
    // (Its id is later than the current run's, as every new run's is.)
    let orphan = "clean/price_observations/date=2026-01-01/part-20260106T000000Z-99999999.parquet";
    lake.put(orphan, Bytes::from_static(b"half-written"))
        .await
        .unwrap();
    // ... and its intermediate tables.
    let work = "_work/run=20260106T000000Z-99999999/obs/part-0.parquet";
    lake.put(work, Bytes::from_static(b"half-written"))
        .await
        .unwrap();
    put_raw(
        &lake,
        "items-3",
        &[item_env(
            "late",
            "items",
            "2026-01-03T00:00:00Z",
            json!({"itemId": 2, "name": "Blender", "salePrice": 40}),
            None,
        )],
    )
    .await;
    let second = run(&lake, false).await;
    assert_eq!(second.consumed_objects, 1, "only the new object");
    assert!(
        lake.list("_work").await.unwrap().is_empty(),
        "a committed run leaves no intermediate tables, nor a crashed run's"
    );
    assert!(
        lake.get(orphan).await.unwrap().is_none(),
        "the uncommitted part was removed"
    );
    let after = mart(&lake, "prices_fx").await;
    assert_eq!(after.len(), before.len() + 3);
    // Only the new day was computed; the others were carried over from the first run.
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    let computed_by = |m: &Manifest, day: &str| m.days[day].computed_by.clone();
    assert_eq!(computed_by(&m, "2026-01-03"), second.run_id);
    for day in ["2025-12-31", "2026-01-01", "2026-01-02", "2026-01-05"] {
        assert_eq!(computed_by(&m, day), first.run_id, "{day}");
    }
    assert_eq!(
        m.duplicates_removed, first.duplicates_removed,
        "carried days keep their duplicate counts"
    );

    // A late rate for an earlier day: every day from it on is computed again (the 5th's
    // observation now takes it, fresh), the days before it are carried.
    put_raw(
        &lake,
        "fx-late",
        &[live("fx3", "2026-01-04T00:00:00Z", 0.5, 0.4)],
    )
    .await;
    let third = run(&lake, false).await;
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    assert_eq!(computed_by(&m, "2026-01-05"), third.run_id);
    assert_eq!(computed_by(&m, "2026-01-03"), second.run_id);
    assert_eq!(computed_by(&m, "2026-01-02"), first.run_id);
    let after = mart(&lake, "prices_fx").await;
    let cat3 = find(&after, |r| {
        r["record_id"] == "cat3" && r["currency"] == "EUR"
    });
    assert_eq!(cat3["rate"], json!(0.5));
    assert_eq!(cat3["stale"], json!(false));

    // A full refresh gives the same rows as the incremental runs.
    run(&lake, true).await;
    let refreshed = mart(&lake, "prices_fx").await;
    assert_eq!(refreshed, after);
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    assert_eq!(m.days.len(), 5);
}

#[tokio::test]
async fn another_currency_recomputes_every_day_even_without_new_data() {
    let (_dir, lake) = fixture().await;
    let first = run(&lake, false).await;
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 1, 6, 0, 0, 0).unwrap());
    let mut with_chf = config();
    with_chf.currencies.push("CHF".into());
    let second = process(
        &lake,
        &with_chf,
        &Engine::Local,
        clock,
        Metrics::new(),
        false,
    )
    .await
    .unwrap();
    assert!(!second.skipped, "the marts lack a configured currency");
    assert_eq!(second.consumed_objects, 0);
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    assert!(m.days.values().all(|d| d.computed_by == second.run_id));
    let currencies: BTreeSet<String> = mart(&lake, "prices_fx")
        .await
        .iter()
        .map(|r| r["currency"].as_str().unwrap().to_string())
        .collect();
    assert!(currencies.contains("CHF"), "{currencies:?}");
    assert_eq!(
        second.rows["mart.prices_fx"],
        first.rows["mart.prices_fx"] / 3 * 4,
        "USD, EUR, GBP and now CHF"
    );
}

#[tokio::test]
async fn empty_tables_partition_dates_and_plain_types() {
    // Items only: no rates and no trending lists at all.
    let lake = Lake::in_memory();
    put_raw(
        &lake,
        "items-only",
        &[
            item_env(
                "a",
                "items",
                "2026-01-01T10:00:00Z",
                json!({"itemId": 1, "name": "TV", "salePrice": 80}),
                None,
            ),
            item_env(
                "b",
                "items",
                "2026-01-02T10:00:00Z",
                json!({"itemId": 1, "name": "TV", "salePrice": 70}),
                None,
            ),
        ],
    )
    .await;
    let report = run(&lake, false).await;
    assert_eq!(report.rows.get("fx_rates"), Some(&0));
    assert_eq!(report.rows.get("mart.trending_popularity"), Some(&0));
    assert_eq!(
        report.rows.get("mart.prices_fx.missing_rate"),
        Some(&4),
        "two observations, EUR and GBP, no rate anywhere"
    );
    assert!(mart(&lake, "fx_daily").await.is_empty());

    // The clean tables carry the Hive partition `date` as Date32.
    let ctx = session(&lake, &config(), &Engine::Local).await.unwrap();
    register_tables(&lake, &ctx, &config(), &clean_files(&lake).await)
        .await
        .unwrap();
    let batches = ctx
        .sql("SELECT CAST(date AS VARCHAR) AS d, COUNT(*) AS n FROM price_observations GROUP BY date ORDER BY date")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let df_schema = ctx
        .table("price_observations")
        .await
        .unwrap()
        .schema()
        .as_arrow()
        .clone();
    assert_eq!(
        df_schema.field_with_name("date").unwrap().data_type(),
        &DataType::Date32
    );
    let days: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            (0..b.num_rows()).map(move |i| {
                ScalarValue::try_from_array(b.column(0), i)
                    .unwrap()
                    .to_string()
            })
        })
        .collect();
    assert_eq!(days, vec!["2026-01-01", "2026-01-02"]);

    // Mart files use plain Utf8 strings, readable by pyarrow, DuckDB and Spark.
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    let bytes = lake
        .get(&layout::mart_day_file("discounts", &m.run_id, "2026-01-01"))
        .await
        .unwrap()
        .unwrap();
    let file = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    assert_eq!(
        file.schema().field_with_name("name").unwrap().data_type(),
        &DataType::Utf8
    );
    assert_eq!(
        file.schema().field_with_name("date").unwrap().data_type(),
        &DataType::Date32
    );
}

/// Every mart's rows in a canonical order, so that engines that return equal rows in a
/// different order (Ballista merges partitions as they finish) compare equal.
async fn canonical_marts(lake: &Lake) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for name in marts::names() {
        let mut rows: Vec<String> = mart(lake, name)
            .await
            .iter()
            .map(Value::to_string)
            .collect();
        rows.sort();
        out.insert(name.to_string(), rows);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_in_process_ballista_cluster_gives_the_same_rows_as_local() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()),
        ))
        .with_test_writer()
        .try_init();
    let (_local_dir, local) = fixture().await;
    let local_report = run(&local, false).await;
    let (_ballista_dir, distributed) = fixture().await;
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 1, 6, 0, 0, 0).unwrap());
    let ballista_report = process(
        &distributed,
        &config(),
        &Engine::BallistaStandalone,
        clock,
        Metrics::new(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(ballista_report.rows, local_report.rows);
    assert_eq!(ballista_report.rejected, local_report.rejected);
    assert_eq!(
        ballista_report.duplicates_removed,
        local_report.duplicates_removed
    );
    let (expected, actual) = (
        canonical_marts(&local).await,
        canonical_marts(&distributed).await,
    );
    for name in marts::names() {
        assert!(
            !expected[name].is_empty(),
            "{name} is empty: the comparison would prove nothing"
        );
        assert_eq!(
            actual[name], expected[name],
            "mart {name} differs on Ballista"
        );
    }
    let items = items_table(&local).await;
    assert!(!items.is_empty());
    assert_eq!(
        items_table(&distributed).await,
        items,
        "items differ on Ballista"
    );

    // A full refresh on Ballista reads only its own clean parts, as locally.
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 1, 7, 0, 0, 0).unwrap());
    let refreshed = process(
        &distributed,
        &config(),
        &Engine::BallistaStandalone,
        clock,
        Metrics::new(),
        true,
    )
    .await
    .unwrap();
    assert_eq!(refreshed.rows, local_report.rows);
    assert_eq!(canonical_marts(&distributed).await, expected);
    assert_eq!(items_table(&distributed).await, items);
}

#[tokio::test]
async fn a_memory_bound_gives_the_same_marts_as_none() {
    let (_unbounded_dir, unbounded) = fixture().await;
    let unbounded_report = run(&unbounded, false).await;
    let (_bounded_dir, bounded) = fixture().await;
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 1, 6, 0, 0, 0).unwrap());
    let tight = TransformConfig {
        memory_limit_mib: 32,
        ..config()
    };
    let bounded_report = process(
        &bounded,
        &tight,
        &Engine::Local,
        clock,
        Metrics::new(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(bounded_report.rows, unbounded_report.rows);
    let (expected, actual) = (
        canonical_marts(&unbounded).await,
        canonical_marts(&bounded).await,
    );
    for name in marts::names() {
        assert!(!expected[name].is_empty(), "{name} is empty");
        assert_eq!(actual[name], expected[name], "mart {name} differs");
    }
}

#[tokio::test]
async fn a_distributed_engine_refuses_a_lake_its_executors_cannot_read() {
    let lake = Lake::open(&pricelake_lake::LakeConfig {
        url: "memory://".into(),
        ..Default::default()
    })
    .unwrap();
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 1, 6, 0, 0, 0).unwrap());
    let err = process(
        &lake,
        &config(),
        &Engine::Ballista("ballista://127.0.0.1:1".into()),
        clock,
        Metrics::new(),
        false,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("--engine local"), "{err}");
}

#[tokio::test]
async fn a_configured_currency_no_rate_quotes_is_reported_and_kept_in_the_manifest() {
    let (_dir, lake) = fixture().await;
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 1, 6, 0, 0, 0).unwrap());
    let with_chf = TransformConfig {
        currencies: vec!["EUR".into(), "GBP".into(), "CHF".into()],
        ..config()
    };
    let report = process(
        &lake,
        &with_chf,
        &Engine::Local,
        clock,
        Metrics::new(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        report.unquoted_currencies,
        ["CHF"],
        "the fixture quotes EUR and GBP only"
    );
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    assert_eq!(m.unquoted_currencies, ["CHF"]);
    let quoted = run(&lake, true).await;
    assert!(quoted.unquoted_currencies.is_empty());
}

/// Every object of the lake with its size, but the intermediate tables.
async fn objects(lake: &Lake) -> Vec<(String, u64)> {
    lake.list("")
        .await
        .unwrap()
        .into_iter()
        .filter(|o| !o.path.starts_with(WORK_PREFIX))
        .map(|o| (o.path, o.size))
        .collect()
}

#[tokio::test]
async fn a_full_refresh_on_an_engine_that_cannot_be_reached_changes_nothing() {
    let (_dir, lake) = fixture().await;
    let first = run(&lake, false).await;
    let before = objects(&lake).await;
    let marts_before = canonical_marts(&lake).await;
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 1, 7, 0, 0, 0).unwrap());
    // Port 9 (discard): nothing listens there.
    let err = process(
        &lake,
        &config(),
        &Engine::Ballista("ballista://127.0.0.1:9".into()),
        clock,
        Metrics::new(),
        true,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    assert_eq!(
        latest_manifest(&lake).await.unwrap().unwrap().run_id,
        first.run_id,
        "the previous run is still current"
    );
    assert_eq!(
        objects(&lake).await,
        before,
        "not a file written or removed"
    );
    assert_eq!(canonical_marts(&lake).await, marts_before);
}

#[tokio::test]
async fn a_full_refresh_that_fails_midway_leaves_the_previous_run_current_and_whole() {
    let (_dir, lake) = fixture().await;
    let first = run(&lake, false).await;
    let before = objects(&lake).await;
    let marts_before = canonical_marts(&lake).await;
    let books_before = all_manifests(&lake).await.unwrap();
    let versions_before = table_versions(&lake).await;
    // A "scheduler" that accepts connections and says nothing: the run gets past the
    // engine's first check, parses every raw object into new clean parts, then fails.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 1, 7, 0, 0, 0).unwrap());
    let failed = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        process(
            &lake,
            &config(),
            &Engine::Ballista(format!("ballista://{addr}")),
            clock,
            Metrics::new(),
            true,
        ),
    )
    .await;
    assert!(
        !matches!(failed, Ok(Ok(_))),
        "a scheduler that never answers cannot commit a run"
    );
    // Whatever it wrote before failing, the lake's current run is the previous one, every
    // file of it is there, and the books read as before.
    assert_eq!(
        latest_manifest(&lake).await.unwrap().unwrap().run_id,
        first.run_id
    );
    let after = objects(&lake).await;
    for object in &before {
        assert!(after.contains(object), "{} was removed", object.0);
    }
    assert_eq!(all_manifests(&lake).await.unwrap(), books_before);
    assert_eq!(canonical_marts(&lake).await, marts_before);
    assert_eq!(
        table_versions(&lake).await,
        versions_before,
        "every table at the version it had"
    );

    // The next run removes what the failed one left and gives the same marts.
    let refreshed = run(&lake, true).await;
    assert_eq!(canonical_marts(&lake).await, marts_before);
    let manifests = all_manifests(&lake).await.unwrap();
    assert_eq!(
        manifests.len(),
        1,
        "the full refresh supersedes the runs before it"
    );
    assert!(manifests[0].full_refresh);
    assert_eq!(
        lake.list(layout::PROCESS_MANIFESTS).await.unwrap().len(),
        1,
        "and their manifests are removed"
    );
    for table in ["price_observations", "fx_rates", "trending_appearances"] {
        let folder = layout::clean_table(table);
        let live = pricelake_tables::live_files(&lake, &folder, None)
            .await
            .unwrap()
            .unwrap();
        assert!(!live.files.is_empty(), "{table}");
        for path in &live.files {
            assert_eq!(
                manifest::run_of(path).as_deref(),
                Some(refreshed.run_id.as_str()),
                "{table}: only the refresh's clean parts are live"
            );
        }
        // The superseded parts stay for the table's earlier versions (until vacuum).
        let previous = pricelake_tables::live_files(&lake, &folder, Some(live.version - 1))
            .await
            .unwrap()
            .unwrap();
        for path in &previous.files {
            assert!(lake.head(path).await.unwrap().is_some(), "{path}");
        }
        assert_eq!(
            manifests[0].rows[table], first.rows[table],
            "{table}: the refresh read each raw object once, not its own parts and the old"
        );
    }

    // The next run reads the clean tables as Delta has them, not their folders (which still
    // hold the superseded parts): each observation once.
    let prices_before = mart(&lake, "prices_fx").await.len();
    put_raw(
        &lake,
        "items-after-refresh",
        &[item_env(
            "after-refresh",
            "items",
            "2026-01-03T00:00:00Z",
            json!({"itemId": 2, "name": "Blender", "salePrice": 40}),
            None,
        )],
    )
    .await;
    let next = run(&lake, false).await;
    assert_eq!(next.consumed_objects, 1);
    assert_eq!(mart(&lake, "prices_fx").await.len(), prices_before + 3);
    let duplicates = crate::mart_duplicates(&lake).await.unwrap();
    assert!(duplicates.values().all(|n| *n == 0), "{duplicates:?}");
}

#[tokio::test]
async fn a_mart_row_counted_twice_is_found_by_its_natural_key() {
    let (_dir, lake) = fixture().await;
    run(&lake, false).await;
    let clean = mart_duplicates(&lake).await.unwrap();
    assert_eq!(clean.len(), marts::names().count());
    assert!(clean.values().all(|n| *n == 0), "{clean:?}");
    // Append the discounts rows to themselves, as a re-run that appended would.
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    let path = layout::mart_day_file("discounts", &m.run_id, "2026-01-02");
    let bytes = lake.get(&path).await.unwrap().unwrap();
    let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let doubled: Vec<RecordBatch> = batches.iter().chain(batches.iter()).cloned().collect();
    lake.put(
        &path,
        parquet_bytes("doubled", doubled[0].schema(), &doubled).unwrap(),
    )
    .await
    .unwrap();
    let found = mart_duplicates(&lake).await.unwrap();
    assert_eq!(found["discounts"], rows as u64);
    assert_eq!(found["prices_fx"], 0);
}

/// The `items` table at its latest version, each row with its `date` from the path.
async fn items_table(lake: &Lake) -> Vec<Value> {
    let files = pricelake_tables::live_files(lake, &layout::clean_table(ITEMS_TABLE), None)
        .await
        .unwrap()
        .unwrap()
        .files;
    let mut out = Vec::new();
    for path in files {
        let date = path
            .split('/')
            .find_map(|s| s.strip_prefix("date="))
            .unwrap()
            .to_string();
        let bytes = lake.get(&path).await.unwrap().unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            assert!(
                batch.schema().field_with_name("date").is_err(),
                "the date is in the path only"
            );
            for row in 0..batch.num_rows() {
                let mut obj = serde_json::Map::new();
                obj.insert("date".into(), json!(date));
                for (i, field) in batch.schema().fields().iter().enumerate() {
                    let v = ScalarValue::try_from_array(batch.column(i), row).unwrap();
                    let v = match v {
                        ScalarValue::Int64(Some(v)) => json!(v),
                        ScalarValue::Boolean(Some(v)) => json!(v),
                        ScalarValue::Utf8(Some(v)) => json!(v),
                        ScalarValue::TimestampMicrosecond(Some(us), _) => {
                            json!(DateTime::<Utc>::from_timestamp_micros(us)
                                .unwrap()
                                .format("%m-%dT%H:%M")
                                .to_string())
                        }
                        s if s.is_null() => Value::Null,
                        s => json!(s.to_string()),
                    };
                    obj.insert(field.name().clone(), v);
                }
                out.push(Value::Object(obj));
            }
        }
    }
    out.sort_by_key(|r| (r["item_id"].as_i64(), r["version"].as_i64()));
    out
}

/// item 1's versions as (date, version, name, brand, category_path, valid_from, valid_to,
/// is_current, observations, changed).
fn versions_of(items: &[Value], id: i64) -> Vec<Value> {
    items
        .iter()
        .filter(|r| r["item_id"] == id)
        .map(|r| {
            json!([
                r["date"],
                r["version"],
                r["name"],
                r["brand"],
                r["category_path"],
                r["valid_from"],
                r["valid_to"],
                r["is_current"],
                r["observations"],
                r["changed"]
            ])
        })
        .collect()
}

#[tokio::test]
async fn items_keep_each_version_of_the_attributes_even_when_observations_arrive_late() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&pricelake_lake::LakeConfig {
        url: dir.path().to_string_lossy().into(),
        ..Default::default()
    })
    .unwrap();
    let tv = |id: &str, t: &str, name: &str, brand: Option<&str>, path: &str| {
        let mut p = json!({"itemId": 1, "name": name, "salePrice": 10.0, "categoryPath": path});
        if let Some(b) = brand {
            p["brandName"] = json!(b);
        }
        item_env(id, "paginated_items", t, p, None)
    };
    let blender =
        json!({"itemId": 2, "name": "Blender", "salePrice": 50.0, "categoryPath": "Home/Kitchen"});
    put_raw(
        &lake,
        "run-1",
        &[
            tv("a1", "2026-01-01T10:00:00Z", "TV", None, "Electronics/TV"),
            tv("a2", "2026-01-01T14:00:00Z", "TV", None, "Electronics/TV"),
            tv("a3", "2026-01-02T09:00:00Z", "TV 2", None, "Electronics/TV"),
            tv(
                "a4",
                "2026-01-02T18:00:00Z",
                "TV 2",
                Some("Acme"),
                "Electronics/TV",
            ),
            // The same record again (replayed): not a second observation.
            tv(
                "a4",
                "2026-01-02T18:00:00Z",
                "TV 2",
                Some("Acme"),
                "Electronics/TV",
            ),
            item_env(
                "b1",
                "paginated_items",
                "2026-01-01T10:00:00Z",
                blender,
                None,
            ),
        ],
    )
    .await;
    run(&lake, false).await;
    let items = items_table(&lake).await;
    assert_eq!(
        versions_of(&items, 1),
        vec![
            json!([
                "2026-01-01",
                1,
                "TV",
                null,
                "Electronics/TV",
                "01-01T10:00",
                "01-02T09:00",
                false,
                2,
                null
            ]),
            json!([
                "2026-01-02",
                2,
                "TV 2",
                null,
                "Electronics/TV",
                "01-02T09:00",
                "01-02T18:00",
                false,
                1,
                "name"
            ]),
            json!([
                "2026-01-02",
                3,
                "TV 2",
                "Acme",
                "Electronics/TV",
                "01-02T18:00",
                null,
                true,
                1,
                "brand"
            ]),
        ]
    );
    assert_eq!(
        versions_of(&items, 2),
        vec![json!([
            "2026-01-01",
            1,
            "Blender",
            null,
            "Home/Kitchen",
            "01-01T10:00",
            null,
            true,
            1,
            null
        ])]
    );

    // A later run: a move to another category, and two observations of the first day that
    // arrive late. One repeats the first version; the other shows the rename six hours
    // earlier than known, so the second version now begins on the first day.
    put_raw(
        &lake,
        "run-2",
        &[
            tv(
                "a5",
                "2026-01-03T08:00:00Z",
                "TV 2",
                Some("Acme"),
                "Electronics/Home Theater",
            ),
            tv("a0", "2026-01-01T12:00:00Z", "TV", None, "Electronics/TV"),
            tv("a6", "2026-01-01T16:00:00Z", "TV 2", None, "Electronics/TV"),
        ],
    )
    .await;
    let report = run(&lake, false).await;
    assert_eq!(report.rows.get(ITEMS_TABLE), Some(&5));
    let items = items_table(&lake).await;
    let expected = vec![
        json!([
            "2026-01-01",
            1,
            "TV",
            null,
            "Electronics/TV",
            "01-01T10:00",
            "01-01T16:00",
            false,
            3,
            null
        ]),
        json!([
            "2026-01-01",
            2,
            "TV 2",
            null,
            "Electronics/TV",
            "01-01T16:00",
            "01-02T18:00",
            false,
            2,
            "name"
        ]),
        json!([
            "2026-01-02",
            3,
            "TV 2",
            "Acme",
            "Electronics/TV",
            "01-02T18:00",
            "01-03T08:00",
            false,
            1,
            "brand"
        ]),
        json!([
            "2026-01-03",
            4,
            "TV 2",
            "Acme",
            "Electronics/Home Theater",
            "01-03T08:00",
            null,
            true,
            1,
            "category_path"
        ]),
    ];
    assert_eq!(versions_of(&items, 1), expected);
    assert_eq!(
        items.iter().find(|r| r["version"] == 4).unwrap()["category"],
        json!("Electronics")
    );
    // Only the newest run's versions are live; the earlier runs' files stay (for readers of
    // earlier versions) until a vacuum.
    let runs: BTreeSet<String> = lake
        .list(&layout::clean_table(ITEMS_TABLE))
        .await
        .unwrap()
        .iter()
        .filter_map(|o| manifest::run_of(&o.path))
        .collect();
    assert!(runs.len() >= 2, "every run's files: {runs:?}");
    let newest = latest_manifest(&lake).await.unwrap().unwrap().run_id;
    let live = pricelake_tables::live_files(&lake, &layout::clean_table(ITEMS_TABLE), None)
        .await
        .unwrap()
        .unwrap()
        .files;
    assert!(
        !live.is_empty()
            && live
                .iter()
                .all(|f| manifest::run_of(f).as_ref() == Some(&newest)),
        "{live:?}"
    );

    // A full refresh from the raw zone gives the same versions.
    run(&lake, true).await;
    assert_eq!(versions_of(&items_table(&lake).await, 1), expected);
}

/// Runs a full refresh and checks it gives the marts the lake has now (incremental runs').
async fn a_full_refresh_gives_the_same_marts(lake: &Lake) {
    let incremental = canonical_marts(lake).await;
    run(lake, true).await;
    assert_eq!(
        canonical_marts(lake).await,
        incremental,
        "as a full refresh"
    );
}

/// The settled lows' live files: kept as they are by an hour of the latest day, rewritten
/// (by the run, in its folder) when rebuilt.
async fn settled_files(lake: &Lake) -> Vec<String> {
    live_files(lake, "price_lows_settled").await
}

/// `price_lows` reads one day per hour: an hour that extends only the latest day carries the
/// lows of the days before it over (the same file), and merges that day in; a new latest day,
/// or a change to an earlier day, rebuilds them. Either way the mart is what a full refresh
/// gives.
#[tokio::test]
async fn an_hour_of_the_latest_day_carries_the_settled_lows_and_a_new_day_rebuilds_them() {
    let (_dir, lake) = fixture().await;
    let first = run(&lake, false).await;
    let latest = latest_manifest(&lake).await.unwrap().unwrap();
    let latest_day = latest.days.keys().next_back().unwrap().clone();
    assert_eq!(latest_day, "2026-01-05");
    let tv = |sale: f64| json!({"itemId": 1, "name": "TV", "salePrice": sale, "msrp": 100.0, "categoryPath": "Electronics/TV", "stock": "Available"});
    let carried_from = settled_files(&lake).await;
    assert_eq!(
        carried_from,
        [layout::mart_file("price_lows_settled", &first.run_id)]
    );

    // An hour of the latest day, at a new low: carried, and the low is the latest day's.
    put_raw(
        &lake,
        "hour-1",
        &[item_env(
            "h1",
            "paginated_items",
            "2026-01-05T06:00:00Z",
            tv(10.0),
            None,
        )],
    )
    .await;
    let second = run(&lake, false).await;
    assert_eq!(settled_files(&lake).await, carried_from, "kept as it is");
    let _ = &second;
    let lows = mart(&lake, "price_lows").await;
    let tv_usd = find(&lows, |r| r["item_id"] == 1 && r["currency"] == "USD");
    assert_eq!(
        [
            &tv_usd["price"],
            &tv_usd["low_ever"],
            &tv_usd["low_ever_on"]
        ],
        [&json!(10.0), &json!(10.0), &json!("2026-01-05")]
    );
    a_full_refresh_gives_the_same_marts(&lake).await;

    // A new latest day: rebuilt.
    let before = settled_files(&lake).await;
    put_raw(
        &lake,
        "day-6",
        &[item_env(
            "d6",
            "paginated_items",
            "2026-01-06T01:00:00Z",
            tv(90.0),
            None,
        )],
    )
    .await;
    let third = run(&lake, false).await;
    assert_ne!(settled_files(&lake).await, before);
    assert_eq!(
        settled_files(&lake).await,
        [layout::mart_file("price_lows_settled", &third.run_id)],
        "rebuilt by the run"
    );
    let lows = mart(&lake, "price_lows").await;
    let tv_usd = find(&lows, |r| r["item_id"] == 1 && r["currency"] == "USD");
    assert_eq!(
        [
            &tv_usd["price"],
            &tv_usd["price_on"],
            &tv_usd["low_ever"],
            &tv_usd["low_ever_on"]
        ],
        [
            &json!(90.0),
            &json!("2026-01-06"),
            &json!(10.0),
            &json!("2026-01-05")
        ]
    );
    a_full_refresh_gives_the_same_marts(&lake).await;
}

#[tokio::test]
async fn later_hours_extend_their_day_and_give_what_a_full_refresh_gives() {
    let (_dir, lake) = fixture().await;
    let first = run(&lake, false).await;
    let tv = |sale: f64| json!({"itemId": 1, "name": "TV", "salePrice": sale, "msrp": 100.0, "categoryPath": "Electronics/TV", "stock": "Available"});
    let pro = json!({"itemId": 2, "name": "Blender Pro", "salePrice": "45", "categoryPath": "Home/Kitchen", "stock": "Available"});
    // An hour of the 5th after its last observation (00:00), with a rate of its own, a value
    // of the day, a renamed item and a record delivered twice.
    put_raw(
        &lake,
        "hour-1",
        &[
            live("fx4", "2026-01-05T05:00:00Z", 0.7, 0.6),
            item_env(
                "h1",
                "paginated_items",
                "2026-01-05T06:00:00Z",
                tv(70.0),
                None,
            ),
            item_env("h2", "vod", "2026-01-05T07:00:00Z", pro.clone(), None),
            item_env("h2", "vod", "2026-01-05T07:00:00Z", pro.clone(), None),
        ],
    )
    .await;
    let second = run(&lake, false).await;
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    assert_eq!(m.days["2026-01-05"].computed_by, second.run_id);
    assert_eq!(m.days["2026-01-02"].computed_by, first.run_id);
    let files = live_files(&lake, "prices_fx").await;
    assert!(
        files
            .iter()
            .any(|f| f.ends_with(&format!("part-2026-01-05_{}.parquet", second.run_id))),
        "the day was extended by a file of its own: {files:?}"
    );
    // And another hour: the day is extended again.
    put_raw(
        &lake,
        "hour-2",
        &[item_env(
            "h3",
            "paginated_items",
            "2026-01-05T10:00:00Z",
            tv(99.0),
            None,
        )],
    )
    .await;
    let third = run(&lake, false).await;
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    assert_eq!(m.days["2026-01-05"].computed_by, third.run_id);
    assert_eq!(
        live_files(&lake, "prices_fx")
            .await
            .iter()
            .filter(|path| path.contains("/part-2026-01-05"))
            .count(),
        3,
        "the day's file and one per extension"
    );
    // Hand-computed: the TV on the 5th opened at 95 (00:00), fell to 70, closed at 99.
    let daily = mart(&lake, "price_daily").await;
    let tv_day = find(&daily, |r| {
        r["item_id"] == 1 && r["currency"] == "USD" && r["date"] == "2026-01-05"
    });
    assert_eq!(
        [
            &tv_day["open"],
            &tv_day["close"],
            &tv_day["min"],
            &tv_day["max"]
        ],
        [&json!(95.0), &json!(99.0), &json!(70.0), &json!(99.0)]
    );
    let eur = find(&daily, |r| {
        r["item_id"] == 1 && r["currency"] == "EUR" && r["date"] == "2026-01-05"
    });
    // 95 at the old rate 0.8 (stale), then 70 and 99 at the new 0.7.
    assert_eq!(
        [&eur["open"], &eur["close"], &eur["min"], &eur["max"]],
        [&json!(76.0), &json!(69.3), &json!(49.0), &json!(76.0)]
    );
    let vod = mart(&lake, "vod_fx").await;
    assert_eq!(
        find(&vod, |r| r["date"] == "2026-01-05"
            && r["currency"] == "GBP")["price"],
        json!(27.0),
        "the new value of the day, 45 at 0.6"
    );
    let incremental = canonical_marts(&lake).await;
    let incremental_items = items_table(&lake).await;
    let incremental_days = m.days.clone();
    assert_eq!(
        versions_of(&incremental_items, 2).len(),
        2,
        "the blender was renamed"
    );

    run(&lake, true).await;
    assert_eq!(canonical_marts(&lake).await, incremental);
    assert_eq!(items_table(&lake).await, incremental_items);
    let refreshed = latest_manifest(&lake).await.unwrap().unwrap();
    for (day, stats) in &refreshed.days {
        let kept = &incremental_days[day];
        assert_eq!(
            (
                kept.observations,
                kept.duplicates,
                kept.missing_rates,
                &kept.rows,
                kept.last_observed_at
            ),
            (
                stats.observations,
                stats.duplicates,
                stats.missing_rates,
                &stats.rows,
                stats.last_observed_at
            ),
            "{day}"
        );
    }
}

#[test]
fn items_are_extended_only_when_a_run_extended_the_last_day_and_computed_none() {
    let previous = Manifest {
        run_id: "r1".into(),
        started_at: at("2026-01-05T00:00:00Z"),
        finished_at: at("2026-01-05T00:00:00Z"),
        consumed: Vec::new(),
        rows: BTreeMap::new(),
        rejected: BTreeMap::new(),
        duplicates_removed: 0,
        days: ["2026-01-02", "2026-01-05"]
            .iter()
            .map(|d| (d.to_string(), DayStats::default()))
            .collect(),
        marts_fingerprint: String::new(),
        full_refresh: false,
        unquoted_currencies: Vec::new(),
        ..Manifest::default()
    };
    let built = |extended: &[&str], computed: usize| days::Built {
        days: BTreeMap::new(),
        extended: extended.iter().map(|d| d.to_string()).collect(),
        computed: (0..computed)
            .map(|i| format!("2026-02-{:02}", i + 1))
            .collect(),
    };
    let live = vec![format!(
        "{}/date=2026-01-02/part-r1.parquet",
        layout::clean_table(ITEMS_TABLE)
    )];
    let extension = |built: &days::Built, live: &[String]| {
        items_extension(Some(&previous), built, "r2", live.to_vec())
    };
    let extended = extension(&built(&["2026-01-05"], 0), &live).unwrap();
    assert_eq!(extended.previous_run, "r1");
    assert_eq!(extended.previous_files, live);
    assert_eq!(
        extended.new_stretches,
        [days::delta_file("r2", "item_days", "2026-01-05")]
    );
    // A day computed (a new day, or one with late observations), an earlier day extended,
    // nothing extended, no previous run, or no live items: rebuilt.
    assert!(extension(&built(&["2026-01-05"], 1), &live).is_none());
    assert!(extension(&built(&["2026-01-02"], 0), &live).is_none());
    assert!(extension(&built(&[], 0), &live).is_none());
    assert!(items_extension(None, &built(&["2026-01-05"], 0), "r2", live.clone()).is_none());
    assert!(extension(&built(&["2026-01-05"], 0), &[]).is_none());
}

/// `price_daily.sql` finds the open and close by joining back to the rows at a group's first
/// and last times; `first_value`/`last_value` ordered by time is the plain definition. They
/// must agree, also where a currency has no price yet at the day's first observation (no
/// rate then) or none any more at its last, and for a single observation.
#[tokio::test]
async fn price_daily_opens_and_closes_where_first_and_last_value_do() {
    use datafusion::arrow::array::{
        Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;
    let hour = |h: i64| at("2026-01-05T00:00:00Z").timestamp_micros() + h * 3_600_000_000;
    // (item, hour, currency, converted price): item 1 in EUR has no rate at 00:00 and 23:00.
    let rows: Vec<(i64, i64, &str, Option<f64>)> = vec![
        (1, 0, "USD", Some(10.0)),
        (1, 0, "EUR", None),
        (1, 5, "USD", Some(12.0)),
        (1, 5, "EUR", Some(11.0)),
        (1, 9, "USD", Some(8.0)),
        (1, 9, "EUR", Some(7.5)),
        (1, 23, "USD", Some(9.0)),
        (1, 23, "EUR", None),
        (2, 7, "USD", Some(3.0)),
        (2, 7, "EUR", Some(2.5)),
        (3, 1, "EUR", None),
    ];
    let schema = Arc::new(Schema::new(vec![
        Field::new("item_id", DataType::Int64, false),
        Field::new(
            "observed_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("currency", DataType::Utf8, false),
        Field::new("sale_price", DataType::Float64, true),
    ]));
    let batch = datafusion::arrow::array::RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| hour(r.1)))
                    .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.3))),
        ],
    )
    .unwrap();
    let ctx = SessionContext::new();
    ctx.register_batch("prices_fx", batch).unwrap();
    let text = |sql: &str| {
        let ctx = ctx.clone();
        let sql = sql.to_string();
        async move {
            let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .unwrap()
                .to_string()
        }
    };
    let plain = "SELECT CAST(observed_at AS DATE) AS date, item_id, currency, \
        first_value(sale_price ORDER BY observed_at) AS open, \
        last_value(sale_price ORDER BY observed_at) AS close, \
        MIN(sale_price) AS min, MAX(sale_price) AS max \
        FROM prices_fx WHERE sale_price IS NOT NULL GROUP BY 1, 2, 3 \
        ORDER BY date, item_id, currency";
    let ours = text(sql::text("price_daily.sql").unwrap()).await;
    assert_eq!(ours, text(plain).await);
    // Hand-computed: item 1 in EUR opens at 05:00 (11) and closes at 09:00 (7.5).
    assert!(
        ours.contains("| 2026-01-05 | 1       | EUR      | 11.0 | 7.5   | 7.5 | 11.0 |"),
        "{ours}"
    );
    assert!(!ours.contains("| 3 "), "no converted price, no row: {ours}");
}

/// A day shaped like a real one (many items stamped with each fetch time, few currencies):
/// its `prices_fx` file is in (observed_at, item_id, currency) order, and the engine gets
/// that order from the declared orders of `obs` and `rates` and the hash join, without a
/// sort of the day's rows (the full refresh's largest cost before: `docs/benchmarks.md`).
#[tokio::test]
async fn prices_fx_comes_out_in_its_order_without_sorting_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&pricelake_lake::LakeConfig {
        url: dir.path().to_string_lossy().into(),
        ..Default::default()
    })
    .unwrap();
    put_raw(
        &lake,
        "fx",
        &[
            live("fx1", "2026-01-02T00:00:00Z", 0.9, 0.8),
            live("fx2", "2026-01-02T03:00:00Z", 0.91, 0.79),
        ],
    )
    .await;
    // 60 items at each of five fetch times, written in no particular order (item ids
    // descending, later fetches first), plus one observation with no rate before it.
    let mut records = Vec::new();
    for hour in (1..=5).rev() {
        for item in (1..=60).rev() {
            records.push(item_env(
                &format!("r{hour}-{item}"),
                "items",
                &format!("2026-01-02T0{hour}:00:00Z"),
                json!({"itemId": item, "name": format!("item {item}"), "salePrice": 10.0 + item as f64, "msrp": 20.0}),
                None,
            ));
        }
    }
    records.push(item_env(
        "early",
        "items",
        "2026-01-01T23:30:00Z",
        json!({"itemId": 7, "name": "item 7", "salePrice": 3.0}),
        None,
    ));
    put_raw(&lake, "items", &records).await;
    let report = run(&lake, true).await;
    assert_eq!(report.rows["mart.prices_fx"], 301 * 3);

    let rows = mart(&lake, "prices_fx").await;
    let keys: Vec<(String, i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["observed_at"].as_str().unwrap().to_string(),
                r["item_id"].as_i64().unwrap(),
                r["currency"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "prices_fx rows in file order");
    let mut per_time: BTreeMap<&str, usize> = BTreeMap::new();
    for key in &keys {
        *per_time.entry(key.0.as_str()).or_default() += 1;
    }
    assert_eq!(
        per_time.values().copied().collect::<Vec<_>>(),
        [3, 180, 180, 180, 180, 180],
        "every observation of a time, in every currency: {per_time:?}"
    );

    // The plan of that day's prices_fx, with its inputs registered as a run registers them.
    let config = config();
    let ctx = session(&lake, &config, &Engine::Local).await.unwrap();
    register_tables(&lake, &ctx, &config, &clean_files(&lake).await)
        .await
        .unwrap();
    materialize_rates(&lake, &ctx, "plan").await.unwrap();
    let obs = days::deduplicate_day(&lake, &ctx, "plan", Some("2026-01-02"), None)
        .await
        .unwrap();
    assert_eq!(obs.written.rows, 300);
    days::register_day_inputs(&lake, &ctx, &config, "plan", &obs)
        .await
        .unwrap();
    let sql = fill(sql::text("prices_fx.sql").unwrap(), &config, &ctx)
        .await
        .unwrap();
    let plan = ctx
        .sql(&sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let shown = datafusion::physical_plan::displayable(plan.as_ref())
        .indent(true)
        .to_string();
    assert!(!shown.contains("SortExec:"), "a sort in the plan:\n{shown}");
    assert!(shown.contains("HashJoinExec: mode=CollectLeft"), "{shown}");
}
