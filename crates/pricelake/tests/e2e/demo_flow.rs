//! The demo flow on the small fixed catalog (crates/emulator/fixtures/small.json), with
//! every mart value below computed by hand from that fixture.
//!
//! Polls happen daily at 00:00 UTC (trends, vod, taxonomy, catalog) and hourly (FX), from
//! 2026-01-01 for three days. Rates per USD: EUR 0.9 / GBP 0.8 until 2026-01-02T12:00, then
//! EUR 0.8 / GBP 0.75, and from 2026-01-03T00:00 EUR 1.0 / GBP 0.5.

use std::io::Read;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::scalar::ScalarValue;
use pricelake::commands::StatusReport;
use pricelake::config::PricelakeConfig;
use pricelake::demo::{run_pipeline, DemoOptions};
use pricelake_core::LakeRecord;
use pricelake_lake::Lake;
use serde_json::{json, Value};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../emulator/fixtures/small.json")
}

fn options(dir: &std::path::Path) -> DemoOptions {
    let mut config = PricelakeConfig::default();
    config.emulator.fixture = Some(fixture());
    config.sources.currencylayer.currencies = vec!["EUR".into(), "GBP".into()];
    config.transform.currencies = vec!["EUR".into(), "GBP".into()];
    config.transform.basket_item_ids = vec![101, 102, 103];
    config.delivery.buffer_interval_secs = 900;
    DemoOptions {
        config,
        start: "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        days: 3,
        lake_url: dir.join("lake").to_string_lossy().into(),
        spool_dir: dir.join("spool"),
        wipe: true,
        progress: false,
        process_every_days: 2,
    }
}

/// A mart at its latest Delta version, as JSON rows.
async fn mart(lake: &Lake, name: &str) -> Vec<Value> {
    // Every live file, in the mart's order: a mart kept by day has one or more per day.
    let files = pricelake_tables::live_files(lake, &pricelake_core::layout::mart(name), None)
        .await
        .unwrap()
        .expect("every mart is a Delta table")
        .files;
    let mut batches = Vec::new();
    for path in files {
        let bytes = lake.get(&path).await.unwrap().unwrap();
        batches.extend(
            ParquetRecordBatchReaderBuilder::try_new(bytes)
                .unwrap()
                .build()
                .unwrap(),
        );
    }
    let mut rows = Vec::new();
    for batch in batches {
        let batch = batch.unwrap();
        for i in 0..batch.num_rows() {
            let mut row = serde_json::Map::new();
            for (c, field) in batch.schema().fields().iter().enumerate() {
                let v = match ScalarValue::try_from_array(batch.column(c), i).unwrap() {
                    v if v.is_null() => Value::Null,
                    ScalarValue::Float64(Some(v)) => json!((v * 1e6).round() / 1e6),
                    ScalarValue::Int64(Some(v)) => json!(v),
                    ScalarValue::Boolean(Some(v)) => json!(v),
                    ScalarValue::Utf8(Some(v)) => json!(v),
                    v => json!(v.to_string()),
                };
                row.insert(field.name().clone(), v);
            }
            rows.push(Value::Object(row));
        }
    }
    rows
}

fn pick(rows: &[Value], pred: impl Fn(&Value) -> bool) -> Vec<&Value> {
    rows.iter().filter(|r| pred(r)).collect()
}

/// Raw records landed for one Walmart endpoint.
async fn landed_items(lake: &Lake, endpoint: &str) -> usize {
    let mut n = 0;
    for object in lake.list(&format!("raw/walmart/{endpoint}")).await.unwrap() {
        let bytes = lake.get(&object.path).await.unwrap().unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        n += text
            .lines()
            .filter(|l| {
                matches!(
                    serde_json::from_str::<LakeRecord>(l),
                    Ok(LakeRecord::Raw(_))
                )
            })
            .count();
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_flow_produces_hand_computed_marts_and_serves_them() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run_pipeline(options(dir.path())).await.unwrap();
    let lake = outcome.lake.clone();
    assert_eq!(
        outcome.process_runs.len(),
        2,
        "processed after day 2 and at the end"
    );
    assert!(outcome.process_runs.iter().all(|r| !r.skipped));
    assert_eq!(
        outcome.ingest.dead_letters, 0,
        "a clean run has no dead letters"
    );

    // Nothing lost between the emulator and the lake.
    for endpoint in ["trends", "vod", "paginated_items"] {
        assert_eq!(
            outcome
                .served
                .items_served_intact(&format!("walmart/{endpoint}")),
            landed_items(&lake, endpoint).await,
            "{endpoint}: served = landed"
        );
    }

    // Value of the day: 103 at 20 USD, 102 at 50, 101 at 90.
    let vod = mart(&lake, "vod_fx").await;
    let eur: Vec<f64> = pick(&vod, |r| r["currency"] == "EUR")
        .iter()
        .map(|r| r["price"].as_f64().unwrap())
        .collect();
    assert_eq!(eur, vec![18.0, 45.0, 90.0]); // 20*0.9, 50*0.9 (00:00 on day 2 is before the noon change), 90*1.0
    let gbp: Vec<f64> = pick(&vod, |r| r["currency"] == "GBP")
        .iter()
        .map(|r| r["price"].as_f64().unwrap())
        .collect();
    assert_eq!(gbp, vec![16.0, 40.0, 45.0]);

    // Discounts: (msrp - sale) / msrp * 100.
    let discounts = mart(&lake, "discounts").await;
    let d = |item: i64, date: &str| {
        pick(&discounts, |r| r["item_id"] == item && r["date"] == date)[0].clone()
    };
    assert_eq!(d(101, "2026-01-01")["discount_pct"], json!(20.0));
    assert_eq!(d(101, "2026-01-02")["discount_pct"], json!(10.0));
    assert_eq!(d(103, "2026-01-03")["discount_pct"], json!(40.0)); // rollback to 15 of 25
    assert_eq!(
        (
            d(102, "2026-01-01")["has_msrp"].clone(),
            d(102, "2026-01-01")["discount_pct"].clone()
        ),
        (json!(false), Value::Null)
    );

    // Trending: 101 three times, 102 and 103 once, all in the week of Monday 2025-12-29.
    let trending = mart(&lake, "trending_popularity").await;
    let ranks: Vec<(i64, i64, i64)> = trending
        .iter()
        .map(|r| {
            (
                r["rank"].as_i64().unwrap(),
                r["item_id"].as_i64().unwrap(),
                r["appearances"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ranks, vec![(1, 101, 3), (2, 102, 1), (3, 103, 1)]);

    // Every observation in three currencies: 6 + 6 + 5 observations.
    let prices = mart(&lake, "prices_fx").await;
    assert_eq!(prices.len(), 17 * 3);
    assert!(
        prices.iter().all(|r| !r["rate"].is_null()),
        "every observation has a rate in force"
    );

    // Basket of all three items: 150, 160 and 155 USD.
    let basket = mart(&lake, "basket").await;
    let cost = |ccy: &str, date: &str| {
        pick(&basket, |r| r["currency"] == ccy && r["date"] == date)[0]["cost"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(cost("USD", "2026-01-01"), 150.0);
    assert_eq!(cost("EUR", "2026-01-02"), 144.0); // 160 * 0.9
    assert_eq!(cost("GBP", "2026-01-03"), 77.5); // 155 * 0.5

    // FX history: EUR on 2026-01-02 opens at 0.9 and closes at 0.8 after the noon change.
    let fx = mart(&lake, "fx_daily").await;
    let day = pick(&fx, |r| r["quote"] == "EUR" && r["date"] == "2026-01-02")[0].clone();
    assert_eq!(
        (
            day["open"].clone(),
            day["low"].clone(),
            day["close"].clone()
        ),
        (json!(0.9), json!(0.8), json!(0.8))
    );

    // status reads the same lake.
    let status = StatusReport::read(&lake).await.unwrap();
    assert!(status.raw_objects > 0);
    assert!(status.error_objects.is_empty());
    assert!(status.last_process_run.is_some());
    assert!(status.ingest.is_some());

    // The API serves the same numbers, in date order.
    let state = pricelake_serve::ServeState::new(
        lake.clone(),
        pricelake_serve::ServeConfig::default(),
        outcome.metrics.clone(),
        None,
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pricelake_serve::serve(
        state.clone(),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let get = |path: &str| {
        let url = format!("{base}{path}");
        async move {
            let r = reqwest::get(&url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, body) = get("/api/v1/vod?currency=EUR").await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    let dates: Vec<&str> = body["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        vec!["2026-01-01", "2026-01-02", "2026-01-03"],
        "dates in order"
    );
    assert_eq!(body["days"][2]["price"], json!(90.0));
    let (status, body) = get("/api/v1/items/101/history?currency=GBP").await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["days"].as_array().unwrap().len(), 3);
    assert_eq!(get("/api/v1/items/999").await.0, 404);
    // An item carries its lows in every currency (`price_lows`): what its daily history says,
    // worked out here from `/history` rather than by the mart's SQL.
    let (status, body) = get("/api/v1/items/101").await;
    assert_eq!(status, 200, "{body}");
    let item: Value = serde_json::from_str(&body).unwrap();
    let lows = item["lows"].as_array().expect("lows");
    assert_eq!(lows.len(), 3, "USD, EUR, GBP: {body}");
    for low in lows {
        let currency = low["currency"].as_str().unwrap();
        let (_, history) = get(&format!("/api/v1/items/101/history?currency={currency}")).await;
        let history: Value = serde_json::from_str(&history).unwrap();
        let days = history["days"].as_array().unwrap();
        let lowest = days
            .iter()
            .map(|d| d["min"].as_f64().unwrap())
            .fold(f64::INFINITY, f64::min);
        let last_at_lowest = days
            .iter()
            .filter(|d| d["min"].as_f64() == Some(lowest))
            .map(|d| d["date"].as_str().unwrap())
            .max()
            .unwrap();
        let latest = days.last().unwrap();
        assert_eq!(low["low_ever"].as_f64(), Some(lowest), "{low}");
        assert_eq!(low["low_ever_on"], json!(last_at_lowest), "{low}");
        // Three days of data: the 30- and 90-day lows are the lowest ever.
        assert_eq!(low["low_30d"], low["low_ever"], "{low}");
        assert_eq!(low["low_90d_on"], low["low_ever_on"], "{low}");
        assert_eq!(low["price"], latest["close"], "{low}");
        assert_eq!(low["price_on"], latest["date"], "{low}");
        assert_eq!(low["as_of"], json!("2026-01-03"), "{low}");
    }
    let (status, body) = get("/api/v1/vod?currency=XXX").await;
    assert_eq!(status, 400);
    assert!(
        body.contains("currency"),
        "the error names the parameter: {body}"
    );
    assert_eq!(get("/api/v1/discounts?date=yesterday").await.0, 400);
    let (status, page) = get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"currency\""));
    let (status, svg) = get("/api/v1/charts/vod.svg?currency=EUR").await;
    assert_eq!(status, 200);
    assert!(
        svg.starts_with("<svg") && svg.contains("2026-01-03 = 90.0000 EUR"),
        "the chart plots the mart"
    );
    let (_, metrics) = get("/metrics").await;
    assert!(metrics.contains("pricelake_records_delivered_total"));
    let (status, openapi) = get("/openapi.json").await;
    assert_eq!(status, 200);
    let openapi: Value = serde_json::from_str(&openapi).unwrap();
    for path in pricelake_serve::ROUTES.iter().map(|r| &r.path) {
        // The chart route is documented once per panel, each with its own parameters.
        if *path == "/api/v1/charts/{panel}" {
            for panel in pricelake_serve::openapi::PANELS {
                let path = format!("/api/v1/charts/{panel}.svg");
                assert!(openapi["paths"].get(&path).is_some(), "{path} documented");
            }
            continue;
        }
        assert!(openapi["paths"].get(*path).is_some(), "{path} documented");
    }
    // Conditional requests and gzip.
    let client = reqwest::Client::new();
    let url = format!("{base}/api/v1/items/101/history?currency=GBP");
    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let plain = first.text().await.unwrap();
    let again = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 304, "unchanged: not modified");
    assert!(again.bytes().await.unwrap().is_empty());
    let stale = client
        .get(&url)
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 200);
    assert_eq!(
        stale.text().await.unwrap(),
        plain,
        "a stale tag gets the body"
    );
    let url = format!("{base}/openapi.json");
    let plain = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(plain.len() > 1024);
    let gzipped = client
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let bytes = gzipped.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    assert_eq!(text, plain, "the same body, compressed");
    assert!(bytes.len() < plain.len());

    // Answers are kept per run: asked twice, the same bytes; once a new run commits (here
    // one without GBP), the kept answer is dropped and the new run answers.
    let (status, gbp) = get("/api/v1/vod?currency=GBP").await;
    assert_eq!(status, 200);
    assert_eq!(get("/api/v1/vod?currency=GBP").await, (200, gbp.clone()));
    let mut euro_only = options(dir.path()).config.transform;
    euro_only.currencies = vec!["EUR".into()];
    pricelake_transform::process(
        &lake,
        &euro_only,
        &pricelake_transform::Engine::Local,
        std::sync::Arc::new(pricelake_core::SystemClock),
        pricelake_core::Metrics::new(),
        true,
    )
    .await
    .unwrap();
    assert!(state.refresh().await.unwrap(), "the new run is loaded");
    let (status, after) = get("/api/v1/vod?currency=GBP").await;
    assert_ne!(
        (status, &after),
        (200, &gbp),
        "a new run replaces the kept answer"
    );
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_demo_on_the_same_lake_adds_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    run_pipeline(options(dir.path())).await.unwrap();
    let lake = Lake::open(&pricelake_lake::LakeConfig {
        url: dir.path().join("lake").to_string_lossy().into(),
        ..Default::default()
    })
    .unwrap();
    let before = mart(&lake, "prices_fx").await;
    // Process again with nothing new: skipped, marts unchanged.
    let report = pricelake_transform::process(
        &lake,
        &options(dir.path()).config.transform,
        &pricelake_transform::Engine::Local,
        std::sync::Arc::new(pricelake_core::SystemClock),
        pricelake_core::Metrics::new(),
        false,
    )
    .await
    .unwrap();
    assert!(report.skipped);
    assert_eq!(mart(&lake, "prices_fx").await, before);
}
