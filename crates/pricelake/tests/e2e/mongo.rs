//! Publishing marts to a real MongoDB-protocol server: `MONGODB_URI` when set (a real
//! `mongod`), else the `nx-27017` server that `scripts/test` starts and names in
//! `PRICELAKE_TEST_MONGODB_URI`.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{ArrayRef, Date32Array, Float64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use mongodb::bson::{doc, Document};
use pricelake_lake::{Lake, LakeConfig};
use pricelake_serve::publish::WATERMARKS;
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
    lake.put_json(
        &format!("_manifests/process/{run_id}.json"),
        &serde_json::json!({"run_id": run_id, "finished_at": "2026-11-30T00:00:00Z"}),
    )
    .await
    .unwrap();
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
    assert_eq!(eur.get_str("date").unwrap(), "2026-11-02");

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
    let text = error.to_string();
    assert!(text.starts_with("MongoDB:"), "{text}");
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
