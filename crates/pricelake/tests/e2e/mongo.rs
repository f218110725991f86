//! Publishing marts to a real MongoDB-protocol server: `MONGODB_URI` when set (a real
//! `mongod`), else the `nx-27017` server that `scripts/test` starts and names in
//! `PRICELAKE_TEST_MONGODB_URI`.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use mongodb::bson::{doc, Document};
use pricelake_lake::{Lake, LakeConfig};
use pricelake_serve::publish::{PUBLISHED_RUN, WATERMARKS};
use pricelake_serve::{PublishConfig, Publisher};

fn server_uri() -> String {
    std::env::var("MONGODB_URI")
        .or_else(|_| std::env::var("PRICELAKE_TEST_MONGODB_URI"))
        .expect(
            "no MongoDB-protocol server: run the tests with scripts/test (which starts nx-27017), \
             or set MONGODB_URI",
        )
}

fn date(d: &str) -> i32 {
    (chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
        - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
    .num_days() as i32
}

/// A `basket` mart file: (date, currency, cost).
fn basket_parquet(rows: &[(&str, &str, f64)]) -> Bytes {
    let schema = Arc::new(Schema::new(vec![
        Field::new("date", DataType::Date32, false),
        Field::new("currency", DataType::Utf8, false),
        Field::new("cost", DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from(
            rows.iter().map(|r| date(r.0)).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    Bytes::from(out)
}

/// Commits a run whose only non-empty mart is `basket`.
async fn commit_run(lake: &Lake, run_id: &str, rows: &[(&str, &str, f64)]) {
    lake.put(
        &pricelake_core::layout::mart_file("basket", run_id),
        basket_parquet(rows),
    )
    .await
    .unwrap();
    commit_manifest(lake, run_id, "2026-11-30T00:00:00Z", &["basket"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_upserts_only_changed_rows_deletes_gone_ones_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&LakeConfig {
        url: dir.path().to_string_lossy().into(),
        ..LakeConfig::default()
    })
    .unwrap();
    // A database of its own per run, so a real server can be reused.
    let config = PublishConfig {
        database: format!("pricelake_test_{}", std::process::id()),
        batch_size: 2,
        ..PublishConfig::default()
    };
    let publisher = Publisher::connect(&config, &server_uri()).await.unwrap();
    let db = publisher.database().clone();
    let basket = db.collection::<Document>("basket");

    commit_run(
        &lake,
        "r0001",
        &[
            ("2026-11-01", "USD", 10.0),
            ("2026-11-01", "EUR", 9.25),
            ("2026-11-02", "USD", 11.0),
            ("2026-11-02", "EUR", 10.5),
            ("2026-11-03", "USD", 12.0),
        ],
    )
    .await;
    let first = publisher.publish(&lake).await.unwrap();
    assert_eq!(first.run_id.as_deref(), Some("r0001"));
    let mart = first.marts.iter().find(|m| m.mart == "basket").unwrap();
    assert_eq!(
        (mart.rows, mart.written, mart.unchanged, mart.deleted),
        (5, 5, 0, 0),
        "{mart:?}"
    );
    assert_eq!(basket.count_documents(doc! {}).await.unwrap(), 5);
    let eur = basket
        .find_one(doc! {"_id": "EUR|2026-11-02"})
        .await
        .unwrap()
        .expect("the natural key is the _id");
    assert_eq!(eur.get_f64("cost").unwrap(), 10.5);
    assert_eq!(
        eur.get_datetime("date")
            .unwrap()
            .try_to_rfc3339_string()
            .unwrap(),
        "2026-11-02T00:00:00Z",
        "a date is a BSON date"
    );

    // The same run again: the watermark says it is published; nothing is written.
    let again = publisher.publish(&lake).await.unwrap();
    assert_eq!(again.written(), 0);
    assert!(again.marts.iter().all(|m| m.skipped));

    // A new run: one row changed, one gone, one new, three unchanged.
    commit_run(
        &lake,
        "r0002",
        &[
            ("2026-11-01", "USD", 10.0),
            ("2026-11-01", "EUR", 9.25),
            ("2026-11-02", "USD", 11.0),
            ("2026-11-02", "EUR", 10.75),
            ("2026-11-04", "USD", 13.0),
        ],
    )
    .await;
    let second = publisher.publish(&lake).await.unwrap();
    let mart = second.marts.iter().find(|m| m.mart == "basket").unwrap();
    assert_eq!(
        (mart.rows, mart.written, mart.unchanged, mart.deleted),
        (5, 2, 3, 1),
        "{mart:?}"
    );
    assert_eq!(basket.count_documents(doc! {}).await.unwrap(), 5);
    assert!(basket
        .find_one(doc! {"_id": "USD|2026-11-03"})
        .await
        .unwrap()
        .is_none());
    let changed = basket
        .find_one(doc! {"_id": "EUR|2026-11-02"})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.get_f64("cost").unwrap(), 10.75);

    // A publish cut off before its watermark: the next one finds everything in place
    // by content hash and writes nothing.
    db.collection::<Document>(WATERMARKS)
        .delete_many(doc! {})
        .await
        .unwrap();
    let resumed = publisher.publish(&lake).await.unwrap();
    let mart = resumed.marts.iter().find(|m| m.mart == "basket").unwrap();
    assert_eq!((mart.written, mart.unchanged, mart.deleted), (0, 5, 0));

    // The indexes the API's queries use exist, the natural key unique.
    let mut names = Vec::new();
    let mut cursor = basket.list_indexes().await.unwrap();
    while cursor.advance().await.unwrap() {
        let index = cursor.deserialize_current().unwrap();
        names.push(index.keys.keys().cloned().collect::<Vec<_>>().join(","));
    }
    assert!(names.contains(&"currency,date".to_string()), "{names:?}");
    assert!(names.contains(&"date".to_string()), "{names:?}");
    db.drop().await.unwrap();
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_clear_error_without_the_password() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = PublishConfig {
        connect_timeout_secs: 1,
        ..PublishConfig::default()
    };
    let uri = format!("mongodb://pricelake:s3cret-pw@127.0.0.1:{port}/?directConnection=true");
    let error = Publisher::connect(&config, &uri)
        .await
        .err()
        .expect("no server");
    // What a log or the command line shows: the error and its causes.
    let text = pricelake_core::ErrorChain(&error).to_string();
    assert!(text.starts_with("MongoDB: "), "{text}");
    assert!(
        std::error::Error::source(&error).is_some(),
        "the driver's error is kept as the cause: {text}"
    );
    assert!(!text.contains("s3cret-pw"), "the password leaked: {text}");
}

/// Serves `state` on a free port until the test ends; returns its base URL.
async fn serve_on_a_port(state: pricelake_serve::ServeState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(pricelake_serve::serve(
        state,
        listener,
        std::future::pending(),
    ));
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_the_same_from_mongodb_as_from_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = pricelake::config::PricelakeConfig::default();
    config.emulator.fixture = Some(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../emulator/fixtures/small.json"),
    );
    config.sources.currencylayer.currencies = vec!["EUR".into(), "GBP".into()];
    config.transform.currencies = vec!["EUR".into(), "GBP".into()];
    config.transform.basket_item_ids = vec![101, 102, 103];
    let outcome = pricelake::demo::run_pipeline(pricelake::demo::DemoOptions {
        config,
        start: "2026-01-01T00:00:00Z".parse().unwrap(),
        days: 4,
        lake_url: dir.path().join("lake").to_string_lossy().into(),
        spool_dir: dir.path().join("spool"),
        wipe: true,
        progress: false,
        process_every_days: 2,
    })
    .await
    .unwrap();
    let publish = PublishConfig {
        database: format!("pricelake_api_{}", std::process::id()),
        ..PublishConfig::default()
    };
    let publisher = Publisher::connect(&publish, &server_uri()).await.unwrap();
    let _ = publisher.database().drop().await;
    let report = publisher.publish(&outcome.lake).await.unwrap();
    assert!(report.written() > 0);

    let from_lake = pricelake_serve::ServeState::new(
        outcome.lake.clone(),
        pricelake_serve::ServeConfig::default(),
        outcome.metrics.clone(),
        None,
    )
    .await
    .unwrap();
    let from_mongo = pricelake_serve::ServeState::from_mongo(
        outcome.lake.clone(),
        publisher.database().clone(),
        pricelake_serve::ServeConfig::default(),
        outcome.metrics.clone(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(from_mongo.store().run_id(), report.run_id.as_deref());
    assert_eq!(
        from_mongo.store().finished_at(),
        from_lake.store().finished_at()
    );
    let (lake_url, mongo_url) = (
        serve_on_a_port(from_lake).await,
        serve_on_a_port(from_mongo).await,
    );
    let client = reqwest::Client::new();
    let get = |base: &str, path: &str| {
        let request = client.get(format!("{base}{path}"));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    let mut compared = 0;
    for path in [
        "/api/v1/currencies",
        "/api/v1/items?limit=50",
        "/api/v1/items?sort=price&limit=5",
        "/api/v1/items?q=tv",
        "/api/v1/items/101",
        "/api/v1/items/101/history?currency=EUR",
        "/api/v1/items/102/history?currency=USD",
        "/api/v1/items/999999/history?currency=EUR",
        "/api/v1/categories",
        "/api/v1/trending",
        "/api/v1/discounts?limit=100",
        "/api/v1/vod?currency=GBP",
        "/api/v1/moves?window=1",
        "/api/v1/moves?window=7",
        "/api/v1/fx?quote=EUR",
        "/api/v1/basket?currency=EUR",
        "/api/v1/charts/history.svg?currency=EUR&item=101",
        "/api/v1/charts/vod.svg?currency=GBP",
    ] {
        let (a, b) = (get(&lake_url, path).await, get(&mongo_url, path).await);
        assert_eq!(a.0, b.0, "{path}: status");
        assert_eq!(
            a.1, b.1,
            "{path}: MongoDB answers differently from the lake"
        );
        if a.0 == 200 {
            compared += 1;
        }
    }
    assert!(compared >= 15, "{compared} routes answered 200 on both");
    // Rows really came from MongoDB: drop a published row and the answer changes.
    publisher
        .database()
        .collection::<Document>("vod_fx")
        .delete_many(doc! {"currency": "GBP"})
        .await
        .unwrap();
    let fresh = pricelake_serve::ServeState::from_mongo(
        outcome.lake.clone(),
        publisher.database().clone(),
        pricelake_serve::ServeConfig::default(),
        outcome.metrics,
        None,
    )
    .await
    .unwrap();
    let fresh_url = serve_on_a_port(fresh).await;
    let (lake_vod, mongo_vod) = (
        get(&lake_url, "/api/v1/vod?currency=GBP").await,
        get(&fresh_url, "/api/v1/vod?currency=GBP").await,
    );
    assert_ne!(lake_vod.1, mongo_vod.1);
    let _ = publisher.database().drop().await;
}

/// A mart file from named columns.
fn parquet_of(columns: Vec<(&str, ArrayRef)>) -> Bytes {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    Bytes::from(out)
}

/// `vod_fx` rows: (date, currency, price); rates fetched at 00:00:00.200 of the day.
fn vod_parquet(rows: &[(&str, &str, f64)]) -> Bytes {
    let micros = |d: &str| i64::from(date(d)) * 86_400_000_000 + 200_000;
    parquet_of(vec![
        (
            "date",
            Arc::new(Date32Array::from(
                rows.iter().map(|r| date(r.0)).collect::<Vec<_>>(),
            )),
        ),
        ("item_id", Arc::new(Int64Array::from(vec![101; rows.len()]))),
        ("name", Arc::new(StringArray::from(vec!["TV"; rows.len()]))),
        (
            "sale_price_usd",
            Arc::new(Float64Array::from(vec![100.0; rows.len()])),
        ),
        (
            "currency",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
        ),
        (
            "rate",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.2 / 100.0).collect::<Vec<_>>(),
            )),
        ),
        (
            "price",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
        ),
        (
            "rate_time",
            Arc::new(
                TimestampMicrosecondArray::from(
                    rows.iter().map(|r| micros(r.0)).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
        ),
    ])
}

/// `trending_popularity` rows: (period_start, item_id, appearances); ranked in order given.
fn trending_parquet(rows: &[(&str, i64, i64)]) -> Bytes {
    parquet_of(vec![
        (
            "period_start",
            Arc::new(Date32Array::from(
                rows.iter().map(|r| date(r.0)).collect::<Vec<_>>(),
            )),
        ),
        (
            "item_id",
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
        ),
        (
            "name",
            Arc::new(StringArray::from(
                rows.iter()
                    .map(|r| format!("item {}", r.1))
                    .collect::<Vec<_>>(),
            )),
        ),
        (
            "appearances",
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
        ),
        (
            "rank",
            Arc::new(Int64Array::from(
                (1..=rows.len() as i64).collect::<Vec<_>>(),
            )),
        ),
    ])
}

/// Commits a run with these mart files (the other marts empty).
async fn commit_marts(lake: &Lake, run_id: &str, marts: Vec<(&str, Bytes)>) {
    let names: Vec<&str> = marts.iter().map(|(mart, _)| *mart).collect();
    for (mart, bytes) in marts {
        lake.put(&pricelake_core::layout::mart_file(mart, run_id), bytes)
            .await
            .unwrap();
    }
    let finished_at = format!("2026-12-0{}T00:00:00Z", &run_id[run_id.len() - 1..]);
    commit_manifest(lake, run_id, &finished_at, &names).await;
}

/// Commits a run made by hand: its id, when it finished, and the mart files it wrote (each
/// of `marts` replaced by its file), as a process run commits: manifest, then Delta tables.
async fn commit_manifest(lake: &Lake, run_id: &str, finished_at: &str, marts: &[&str]) {
    let mut manifest = pricelake_lake::manifest::Manifest {
        run_id: run_id.to_string(),
        finished_at: finished_at.parse().unwrap(),
        produced: marts
            .iter()
            .map(|m| pricelake_core::layout::mart_file(m, run_id))
            .collect(),
        replaced: marts
            .iter()
            .map(|m| pricelake_core::layout::mart(m))
            .collect(),
        ..Default::default()
    };
    pricelake_transform::commit_run(lake, &mut manifest)
        .await
        .unwrap();
}

/// Runs `script` with the test environment's Python (which has pymongo), the server's URI
/// and database in `URI` and `DB`; returns its standard output.
fn pymongo(uri: &str, db: &str, script: &str) -> String {
    let out = std::process::Command::new(crate::support::python())
        .env("URI", uri)
        .env("DB", db)
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pymongo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_published_in_a_row_are_found_by_pymongo_with_datetimes() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&LakeConfig {
        url: dir.path().to_string_lossy().into(),
        ..LakeConfig::default()
    })
    .unwrap();
    let config = PublishConfig {
        database: format!("pricelake_dates_{}", std::process::id()),
        batch_size: 3,
        ..PublishConfig::default()
    };
    let publisher = Publisher::connect(&config, &server_uri()).await.unwrap();
    let _ = publisher.database().drop().await;
    // Two runs whose every mart with a date in its key changes: a price, a rank, a new day.
    commit_marts(
        &lake,
        "r0001",
        vec![
            (
                "vod_fx",
                vod_parquet(&[
                    ("2026-12-04", "USD", 100.0),
                    ("2026-12-04", "EUR", 92.0),
                    ("2026-12-05", "USD", 101.0),
                    ("2026-12-05", "EUR", 93.0),
                ]),
            ),
            (
                "trending_popularity",
                trending_parquet(&[
                    ("2026-11-30", 101, 9),
                    ("2026-11-30", 102, 7),
                    ("2026-11-30", 103, 5),
                ]),
            ),
            (
                "basket",
                basket_parquet(&[("2026-12-04", "USD", 10.0), ("2026-12-05", "USD", 11.0)]),
            ),
        ],
    )
    .await;
    let first = publisher.publish(&lake).await.unwrap();
    assert_eq!(first.written(), 9, "{first:?}");
    commit_marts(
        &lake,
        "r0002",
        vec![
            (
                "vod_fx",
                vod_parquet(&[
                    ("2026-12-04", "USD", 100.0),
                    ("2026-12-04", "EUR", 92.5),
                    ("2026-12-05", "USD", 101.0),
                    ("2026-12-05", "EUR", 93.0),
                    ("2026-12-06", "USD", 102.0),
                    ("2026-12-06", "EUR", 94.0),
                ]),
            ),
            (
                "trending_popularity",
                trending_parquet(&[
                    ("2026-11-30", 102, 10),
                    ("2026-11-30", 101, 9),
                    ("2026-11-30", 103, 5),
                ]),
            ),
            (
                "basket",
                basket_parquet(&[
                    ("2026-12-04", "USD", 10.0),
                    ("2026-12-05", "USD", 11.0),
                    ("2026-12-06", "USD", 12.0),
                ]),
            ),
        ],
    )
    .await;
    let second = publisher
        .publish(&lake)
        .await
        .expect("a second, different run publishes");
    let by_mart = |m: &str| second.marts.iter().find(|p| p.mart == m).unwrap().clone();
    let vod = by_mart("vod_fx");
    assert_eq!(
        (vod.rows, vod.written, vod.unchanged, vod.deleted),
        (6, 3, 3, 0),
        "{vod:?}"
    );
    let trending = by_mart("trending_popularity");
    assert_eq!(
        (
            trending.rows,
            trending.written,
            trending.unchanged,
            trending.deleted
        ),
        (3, 2, 1, 0),
        "{trending:?}"
    );

    // A pymongo user's queries, with datetimes.
    let answers = pymongo(
        &server_uri(),
        &config.database,
        r#"
import os
from datetime import datetime, timezone
from pymongo import MongoClient
db = MongoClient(os.environ["URI"])[os.environ["DB"]]
print(db.vod_fx.count_documents({"date": {"$gte": datetime(2026, 12, 5)}}))
print(db.vod_fx.count_documents({"date": datetime(2026, 12, 6), "currency": "EUR"}))
print(db.basket.count_documents({"date": {"$lt": datetime(2026, 12, 6, tzinfo=timezone.utc)}}))
top = db.trending_popularity.find_one({"period_start": datetime(2026, 11, 30), "rank": 1})
print(top["item_id"], type(top["period_start"]).__name__)
eur = db.vod_fx.find_one({"date": datetime(2026, 12, 4), "currency": "EUR"})
print(eur["price"], eur["rate_time"].isoformat(timespec="milliseconds"))
print(db.vod_fx.count_documents({"rate_time": {"$gt": datetime(2026, 12, 6, 0, 0, 0, 100000)}}))
print(sorted(",".join(i["key"].keys()) for i in db.vod_fx.list_indexes()))
"#,
    );
    let lines: Vec<&str> = answers.lines().collect();
    assert_eq!(
        lines[0], "4",
        "vod_fx rows on or after 5 December: {answers}"
    );
    assert_eq!(lines[1], "1", "{answers}");
    assert_eq!(lines[2], "2", "{answers}");
    assert_eq!(
        lines[3], "102 datetime",
        "the new leader of the week: {answers}"
    );
    assert_eq!(lines[4], "92.5 2026-12-04T00:00:00.200", "{answers}");
    assert_eq!(lines[5], "2", "rate times are datetimes too: {answers}");
    assert!(
        lines[6].contains("'currency,date'") && lines[6].contains("'date,currency'"),
        "the indexes on the date columns: {answers}"
    );
    let _ = publisher.database().drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_api_serves_the_last_run_published_whole_after_a_publish_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&LakeConfig {
        url: dir.path().to_string_lossy().into(),
        ..LakeConfig::default()
    })
    .unwrap();
    let config = PublishConfig {
        database: format!("pricelake_cut_{}", std::process::id()),
        ..PublishConfig::default()
    };
    let publisher = Publisher::connect(&config, &server_uri()).await.unwrap();
    let db = publisher.database().clone();
    let _ = db.drop().await;
    commit_marts(
        &lake,
        "r0001",
        vec![
            (
                "vod_fx",
                vod_parquet(&[("2026-12-04", "USD", 100.0), ("2026-12-04", "EUR", 92.0)]),
            ),
            ("basket", basket_parquet(&[("2026-12-04", "EUR", 9.0)])),
        ],
    )
    .await;
    publisher.publish(&lake).await.unwrap();
    let serve = |db: mongodb::Database| {
        pricelake_serve::ServeState::from_mongo(
            lake.clone(),
            db,
            pricelake_serve::ServeConfig::default(),
            pricelake_core::Metrics::default(),
            None,
        )
    };
    let before = serve_on_a_port(serve(db.clone()).await.unwrap()).await;
    let client = reqwest::Client::new();
    let get = |base: String, path: &'static str| {
        let request = client.get(format!("{base}{path}"));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let basket_before = get(before.clone(), "/api/v1/basket?currency=EUR").await;
    assert_eq!(basket_before.0, 200);

    // The next run's publish is cut off at `basket` (a file it cannot read): every mart
    // before it is on the new run, `basket` and those after it still on the first.
    commit_marts(
        &lake,
        "r0002",
        vec![
            (
                "vod_fx",
                vod_parquet(&[("2026-12-04", "USD", 100.0), ("2026-12-04", "EUR", 92.5)]),
            ),
            ("basket", basket_parquet(&[("2026-12-04", "EUR", 9.5)])),
        ],
    )
    .await;
    // Damaged after its commit: a file publish cannot read.
    lake.put(
        &pricelake_core::layout::mart_file("basket", "r0002"),
        Bytes::from_static(b"not parquet"),
    )
    .await
    .unwrap();
    assert!(publisher.publish(&lake).await.is_err());
    let place = |mart: &str| pricelake_core::marts::names().position(|m| m == mart);
    assert!(
        place("vod_fx") < place("basket"),
        "vod_fx is published first"
    );
    // Someone adds a field to the published documents.
    db.collection::<Document>("vod_fx")
        .update_many(doc! {}, doc! {"$set": {"note": "added by hand"}})
        .await
        .unwrap();

    // A restarted server: ready, on the last run published whole, with answers.
    let restarted = serve(db.clone()).await.unwrap();
    assert_eq!(restarted.store().run_id(), Some("r0001"));
    assert_eq!(
        restarted.store().finished_at(),
        Some("2026-12-01T00:00:00Z")
    );
    let after = serve_on_a_port(restarted).await;
    let ready = get(after.clone(), "/readyz").await;
    assert_eq!(ready.0, 200, "{}", ready.1);
    assert!(ready.1.contains("r0001"), "{}", ready.1);
    assert_eq!(
        get(after.clone(), "/api/v1/basket?currency=EUR").await,
        basket_before
    );
    let vod = get(after.clone(), "/api/v1/vod?currency=EUR").await;
    assert_eq!(vod.0, 200);
    assert!(vod.1.contains("\"date\":\"2026-12-04\""), "{}", vod.1);
    assert!(
        !vod.1.contains("added by hand") && !vod.1.contains("note"),
        "fields others add to the documents are not the API's: {}",
        vod.1
    );
    // The run is published whole once the file is readable: the server moves to it.
    lake.put(
        &pricelake_core::layout::mart_file("basket", "r0002"),
        basket_parquet(&[("2026-12-04", "EUR", 9.5)]),
    )
    .await
    .unwrap();
    publisher.publish(&lake).await.unwrap();
    let marks = db.collection::<Document>(WATERMARKS);
    let whole = marks
        .find_one(doc! {"_id": PUBLISHED_RUN})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(whole.get_str("run_id").unwrap(), "r0002");
    let refreshed = serve(db.clone()).await.unwrap();
    assert_eq!(refreshed.store().run_id(), Some("r0002"));
    let _ = db.drop().await;
}

#[test]
fn publish_tells_its_progress_and_its_summary_says_what_was_written_unchanged_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let lake = crate::support::demo_lake(dir.path());
    let database = format!("pricelake_cli_{}", std::process::id());
    let publish = || {
        let out = crate::support::pricelake()
            .args(["publish"])
            .env("PRICELAKE_LAKE__URL", lake.to_str().unwrap())
            .env("PRICELAKE_MONGODB_URI", server_uri())
            .env("PRICELAKE_PUBLISH__DATABASE", &database)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        assert!(out.status.success(), "publish: {stdout}\n{stderr}");
        (stdout, stderr)
    };
    let (first, progress) = publish();
    // Each mart's progress, as it goes, on stderr.
    for mart in pricelake_core::marts::names() {
        assert!(
            progress.contains(&format!("publish {mart}: comparing")),
            "{mart} starting: {progress}"
        );
        assert!(
            progress.contains(&format!("publish {mart}: done, ")),
            "{mart} done: {progress}"
        );
    }
    assert!(
        first.contains("documents written, 0 unchanged, 0 deleted in "),
        "{first}"
    );
    // Rows per mart, the first time and again when nothing is left to write: the same.
    let rows_of = |summary: &str, mart: &str| -> String {
        let line = summary
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{mart}: ")))
            .unwrap_or_else(|| panic!("{mart} in {summary}"));
        line.split_whitespace().nth(1).unwrap().to_string()
    };
    let (again, _) = publish();
    assert!(again.contains(": 0 documents written, "), "{again}");
    for mart in pricelake_core::marts::names() {
        assert!(
            again.contains(&format!("  {mart}: "))
                && again.contains("already published (nothing written)"),
            "{again}"
        );
        assert_eq!(
            rows_of(&first, mart),
            rows_of(&again, mart),
            "{mart}: {first}\n{again}"
        );
    }
    assert_ne!(rows_of(&again, "prices_fx"), "0", "{again}");
    let uri = server_uri();
    let _ = pymongo(&uri, &database, "import os\nfrom pymongo import MongoClient\nMongoClient(os.environ['URI']).drop_database(os.environ['DB'])");
}
