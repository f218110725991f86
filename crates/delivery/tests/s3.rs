//! Delivery into a real S3-protocol server (moto's, started by `scripts/test` and named by
//! `PRICELAKE_TEST_S3_ENDPOINT`), and into one that goes away and comes back.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use pricelake_core::{LakeRecord, Metrics, RecordEnvelope, RecordSink, SimulatedClock};
use pricelake_delivery::{Compression, DeliveryConfig, DeliveryStream};
use pricelake_lake::{Lake, LakeConfig};

fn endpoint() -> String {
    std::env::var("PRICELAKE_TEST_S3_ENDPOINT").expect(
        "PRICELAKE_TEST_S3_ENDPOINT is not set: run the tests through `bash scripts/test`, \
         which starts an S3-protocol server (moto) on 127.0.0.1",
    )
}

fn record(i: u32) -> LakeRecord {
    LakeRecord::Raw(RecordEnvelope {
        record_id: format!("id-{i:06}"),
        source: "walmart".into(),
        endpoint: "paginated_items".into(),
        fetched_at: Utc.with_ymd_and_hms(2026, 5, 6, 7, 8, 9).unwrap(),
        request_url: "http://x/v1/paginated/items?apiKey=REDACTED".into(),
        http_status: 200,
        position: Some(i),
        context: None,
        payload: serde_json::json!({"itemId": i, "name": format!("item {i}"), "salePrice": 9.99}),
    })
}

/// Creates a bucket with a plain `PUT /bucket` (what S3's CreateBucket is).
async fn create_bucket(endpoint: &str, bucket: &str) {
    let response = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "creating bucket {bucket}: {}",
        response.status()
    );
}

fn s3_lake(endpoint: &str, bucket: &str, prefix: &str) -> Lake {
    Lake::open(&LakeConfig {
        url: format!("s3://{bucket}/{prefix}"),
        s3_endpoint: Some(endpoint.to_string()),
        s3_region: Some("us-east-1".into()),
        s3_allow_http: true,
        ..Default::default()
    })
    .unwrap()
}

fn delivery_config(dir: &std::path::Path, compression: Compression) -> DeliveryConfig {
    DeliveryConfig {
        spool_dir: dir.join("spool"),
        buffer_size_mib: 1,
        buffer_interval_secs: 60,
        compression,
        retry_duration_secs: 3600,
        ..DeliveryConfig::default()
    }
}

async fn landed_ids(lake: &Lake) -> Vec<String> {
    let mut ids = Vec::new();
    for object in lake.list("raw").await.unwrap() {
        let bytes = lake.get(&object.path).await.unwrap().unwrap();
        let text = pricelake_lake::ndjson::decode(&object.path, &bytes).unwrap();
        for line in text.lines() {
            let record: LakeRecord = serde_json::from_str(line).unwrap();
            ids.push(record.record_id().to_string());
        }
    }
    ids.sort();
    ids
}

#[tokio::test]
async fn records_land_in_s3_as_whole_firehose_named_objects() {
    let endpoint = endpoint();
    create_bucket(&endpoint, "pricelake-delivery").await;
    for compression in [Compression::Gzip, Compression::Zstd] {
        // A fresh prefix per run: the server may hold objects of an earlier run.
        let prefix = format!("lake-{compression:?}-{}", uuid::Uuid::new_v4());
        let lake = s3_lake(&endpoint, "pricelake-delivery", &prefix);
        let dir = tempfile::tempdir().unwrap();
        let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 5, 6, 7, 9, 0).unwrap());
        let stream = DeliveryStream::open(
            delivery_config(dir.path(), compression),
            lake.clone(),
            clock.clone(),
            Metrics::new(),
        )
        .await
        .unwrap();
        stream
            .accept((0..3000).map(record).collect())
            .await
            .unwrap();
        stream.close().await.unwrap();
        let objects = lake.list("raw/walmart/paginated_items").await.unwrap();
        assert!(!objects.is_empty());
        for object in &objects {
            assert!(
                object
                    .path
                    .starts_with("raw/walmart/paginated_items/2026/05/06/07/pricelake-"),
                "Firehose-style key: {}",
                object.path
            );
            assert!(
                object.path.ends_with(compression.extension()),
                "{}",
                object.path
            );
        }
        let expected: Vec<String> = (0..3000).map(|i| format!("id-{i:06}")).collect();
        let landed = landed_ids(&lake).await;
        assert_eq!(
            landed.len(),
            expected.len(),
            "{compression:?}: every record once"
        );
        assert!(
            landed == expected,
            "{compression:?}: the very records handed in"
        );
        // The objects really are in the bucket, under the lake's prefix, seen by a plain
        // S3 client (moto's ListObjectsV2).
        let listing = reqwest::get(format!(
            "{endpoint}/pricelake-delivery?list-type=2&prefix={prefix}/raw/"
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        assert_eq!(listing.matches("<Key>").count(), objects.len(), "{listing}");
    }
}

/// A moto server of our own on a free port, to stop and start again.
struct OwnServer {
    child: Child,
    port: u16,
}

impl OwnServer {
    fn start(port: Option<u16>) -> OwnServer {
        let port = port.unwrap_or_else(|| {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server on PATH (scripts/test puts its venv there)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return OwnServer { child, port };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("moto_server did not start on {port}");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stop(mut self) -> u16 {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.port
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[tokio::test]
async fn a_store_that_goes_away_holds_records_in_the_spool_until_it_is_back() {
    let _ = endpoint(); // the same servers, started the same way
    let server = OwnServer::start(None);
    let url = server.url();
    create_bucket(&url, "flaky").await;
    let lake = s3_lake(&url, "flaky", "lake");
    let dir = tempfile::tempdir().unwrap();
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 5, 6, 7, 9, 0).unwrap());
    let stream = DeliveryStream::open(
        delivery_config(dir.path(), Compression::Gzip),
        lake.clone(),
        clock.clone(),
        Metrics::new(),
    )
    .await
    .unwrap();
    stream.accept((0..500).map(record).collect()).await.unwrap();
    let port = server.stop();
    clock.advance(chrono::Duration::seconds(61));
    let failed = stream.flush_due().await;
    assert!(failed.is_err(), "the store is away: the flush fails");
    let stats = stream.stats().await;
    assert_eq!(stats.delivered, 0);
    assert!(stats.spool_bytes > 0, "the records wait in the spool");
    // Still away at the first retry: the records stay, the next retry is later.
    let first_retry = stream.next_flush_due().unwrap();
    clock.advance_to(first_retry);
    assert!(stream.flush_due().await.is_err());
    let second_retry = stream.next_flush_due().unwrap();
    assert!(second_retry > first_retry, "backoff between retries");

    // The store comes back (empty, as moto forgets): the next retry delivers everything.
    let server = OwnServer::start(Some(port));
    create_bucket(&server.url(), "flaky").await;
    clock.advance_to(second_retry);
    stream.flush_due().await.unwrap();
    let stats = stream.stats().await;
    assert_eq!(stats.delivered, 500);
    assert_eq!(
        stats.spool_bytes, 0,
        "the spool is empty once the store confirmed"
    );
    let expected: Vec<String> = (0..500).map(|i| format!("id-{i:06}")).collect();
    assert_eq!(landed_ids(&lake).await, expected);
    drop(server);
}

/// Creates a DirectPut stream on moto delivering into `bucket` under `<run>/`.
async fn create_firehose_stream(
    client: &aws_sdk_firehose::Client,
    stream: &str,
    bucket: &str,
    run: &str,
) {
    use aws_sdk_firehose::types::{DeliveryStreamType, ExtendedS3DestinationConfiguration};
    client
        .create_delivery_stream()
        .delivery_stream_name(stream)
        .delivery_stream_type(DeliveryStreamType::DirectPut)
        .extended_s3_destination_configuration(
            ExtendedS3DestinationConfiguration::builder()
                .bucket_arn(format!("arn:aws:s3:::{bucket}"))
                .role_arn("arn:aws:iam::123456789012:role/firehose")
                .prefix(format!("{run}/"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_firehose_sink_delivers_through_put_record_batch_into_s3() {
    use pricelake_delivery::firehose::{FirehoseConfig, FirehoseSink};
    let endpoint = endpoint();
    create_bucket(&endpoint, "firehose-out").await;
    // Fresh names per run: the server may hold an earlier run's stream and objects.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let stream = format!("prices-{}", &run[..8]);
    let sink = FirehoseSink::new(FirehoseConfig {
        stream_name: stream.clone(),
        region: "us-east-1".into(),
        endpoint: endpoint.clone(),
        ..FirehoseConfig::default()
    })
    .await;
    create_firehose_stream(sink.client(), &stream, "firehose-out", &run).await;
    // 1200 records: three PutRecordBatch calls (500 + 500 + 200).
    sink.accept((0..1200).map(record).collect()).await.unwrap();

    let lake = s3_lake(&endpoint, "firehose-out", "");
    let objects = lake.list(&run).await.unwrap();
    assert!(!objects.is_empty(), "Firehose wrote objects");
    let now = Utc::now();
    let mut ids = Vec::new();
    for object in &objects {
        // <prefix>YYYY/MM/DD/HH/<stream>-1-<time>-<uuid>
        let rest = object.path.strip_prefix(&format!("{run}/")).unwrap();
        let parts: Vec<&str> = rest.split('/').collect();
        assert_eq!(parts.len(), 5, "{}", object.path);
        assert_eq!(parts[0], now.format("%Y").to_string());
        assert!(
            parts[4].starts_with(&format!("{stream}-1-")),
            "{}",
            object.path
        );
        let bytes = lake.get(&object.path).await.unwrap().unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.ends_with('\n'), "newline-delimited records");
        for line in text.lines() {
            let record: LakeRecord = serde_json::from_str(line).unwrap();
            ids.push(record.record_id().to_string());
        }
    }
    ids.sort();
    let expected: Vec<String> = (0..1200).map(|i| format!("id-{i:06}")).collect();
    assert_eq!(ids.len(), expected.len(), "every record once");
    assert!(ids == expected, "the very records, each on its own line");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_stream_with_a_firehose_destination_lands_its_spool_through_firehose() {
    use pricelake_delivery::firehose::FirehoseConfig;
    let endpoint = endpoint();
    create_bucket(&endpoint, "firehose-dest").await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let stream_name = format!("dest-{}", &run[..8]);
    let firehose = FirehoseConfig {
        stream_name: stream_name.clone(),
        region: "us-east-1".into(),
        endpoint: endpoint.clone(),
        ..FirehoseConfig::default()
    };
    let sink = pricelake_delivery::firehose::FirehoseSink::new(firehose.clone()).await;
    create_firehose_stream(sink.client(), &stream_name, "firehose-dest", &run).await;
    let dir = tempfile::tempdir().unwrap();
    let config = DeliveryConfig {
        firehose: Some(firehose),
        ..delivery_config(dir.path(), Compression::Gzip)
    };
    let local = Lake::open(&pricelake_lake::LakeConfig {
        url: dir.path().join("lake").to_string_lossy().into(),
        ..Default::default()
    })
    .unwrap();
    let stream = DeliveryStream::open(
        config,
        local.clone(),
        std::sync::Arc::new(pricelake_core::SystemClock),
        pricelake_core::Metrics::new(),
    )
    .await
    .unwrap();
    stream.accept((0..700).map(record).collect()).await.unwrap();
    let report = stream.close().await.unwrap();
    assert_eq!(report.records, 700);
    assert!(
        local.list("raw").await.unwrap().is_empty(),
        "nothing went to the local lake"
    );
    let out = s3_lake(&endpoint, "firehose-dest", "");
    let mut ids = Vec::new();
    for object in out.list(&run).await.unwrap() {
        let bytes = out.get(&object.path).await.unwrap().unwrap();
        for line in String::from_utf8(bytes.to_vec()).unwrap().lines() {
            ids.push(
                serde_json::from_str::<LakeRecord>(line)
                    .unwrap()
                    .record_id()
                    .to_string(),
            );
        }
    }
    ids.sort();
    let expected: Vec<String> = (0..700).map(|i| format!("id-{i:06}")).collect();
    assert!(ids == expected, "every record once, through Firehose");
    let spool_left: u64 = std::fs::read_dir(dir.path().join("spool"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "wal"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert_eq!(
        spool_left, 0,
        "the spool is released once Firehose took the records"
    );
}
