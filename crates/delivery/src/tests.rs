use std::sync::Arc;

use chrono::TimeZone;
use pricelake_core::{Clock, RecordEnvelope, SimulatedClock};
use pricelake_lake::LakeConfig;

use super::*;

fn record(i: u32, at: DateTime<Utc>) -> LakeRecord {
    LakeRecord::Raw(RecordEnvelope {
        record_id: format!("id-{i}"),
        source: "walmart".into(),
        endpoint: "trends".into(),
        fetched_at: at,
        request_url: "http://x/v1/trends?apiKey=REDACTED".into(),
        http_status: 200,
        position: Some(i),
        context: None,
        payload: serde_json::json!({"itemId": i, "name": "x".repeat(200)}),
    })
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap()
}

struct Env {
    dir: tempfile::TempDir,
    clock: Arc<SimulatedClock>,
    lake: Lake,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&LakeConfig {
        url: dir.path().join("lake").to_string_lossy().into(),
        ..LakeConfig::default()
    })
    .unwrap();
    Env {
        clock: SimulatedClock::shared(t0()),
        lake,
        dir,
    }
}

fn config(env: &Env) -> DeliveryConfig {
    DeliveryConfig {
        spool_dir: env.dir.path().join("spool"),
        buffer_size_mib: 1,
        buffer_interval_secs: 60,
        ..DeliveryConfig::default()
    }
}

async fn stream(env: &Env, config: DeliveryConfig) -> DeliveryStream {
    DeliveryStream::open(config, env.lake.clone(), env.clock.clone(), Metrics::new())
        .await
        .unwrap()
}

/// Runs `work` on a runtime of its own, then drops that runtime with whatever the stream
/// still had running in the background: what a process that dies leaves behind.
fn in_a_process_that_dies<F>(work: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let out = runtime.block_on(work);
                runtime.shutdown_background();
                out
            })
            .join()
            .unwrap()
    })
}

/// Every record id in the lake's raw zone.
async fn landed(lake: &Lake) -> Vec<String> {
    let mut ids = Vec::new();
    for object in lake.list("raw").await.unwrap() {
        let bytes = lake.get(&object.path).await.unwrap().unwrap();
        let text = pricelake_lake::ndjson::decode(&object.path, &bytes).unwrap();
        for line in text.lines() {
            ids.push(
                serde_json::from_str::<LakeRecord>(line)
                    .unwrap()
                    .record_id()
                    .to_string(),
            );
        }
    }
    ids.sort();
    ids
}

#[tokio::test]
async fn interval_flush_names_objects_like_firehose() {
    let env = env();
    let s = stream(&env, config(&env)).await;
    s.accept((0..3).map(|i| record(i, t0())).collect())
        .await
        .unwrap();
    assert_eq!(
        s.flush_due().await.unwrap().objects,
        0,
        "interval not reached yet"
    );
    assert_eq!(s.next_flush_due(), Some(t0() + Duration::seconds(60)));
    env.clock.advance(Duration::seconds(60));
    assert_eq!(
        s.flush_due().await.unwrap(),
        FlushReport {
            objects: 1,
            records: 3
        }
    );
    let objects = env.lake.list("raw").await.unwrap();
    assert_eq!(objects.len(), 1);
    let path = &objects[0].path;
    assert!(
        path.starts_with("raw/walmart/trends/2026/03/04/05/pricelake-0000000001-20260304T050607Z-"),
        "{path}"
    );
    assert!(path.ends_with(".ndjson.gz"));
    assert_eq!(landed(&env.lake).await, vec!["id-0", "id-1", "id-2"]);
    let stats = s.stats().await;
    assert_eq!(
        (stats.received, stats.delivered, stats.spool_bytes),
        (3, 3, 0)
    );
}

#[tokio::test]
async fn size_bound_flushes_without_waiting() {
    let env = env();
    let s = stream(&env, config(&env)).await;
    // ~300 bytes each: 1 MiB is reached after about 3,500 records.
    for chunk in 0..10 {
        s.accept((0..500).map(|i| record(chunk * 500 + i, t0())).collect())
            .await
            .unwrap();
    }
    assert!(
        !env.lake.list("raw").await.unwrap().is_empty(),
        "the size bound must flush before the interval"
    );
    s.flush_all().await.unwrap();
    assert_eq!(landed(&env.lake).await.len(), 5000);
}

#[tokio::test]
async fn a_dropped_stream_replays_its_spool_on_open() {
    let env = env();
    {
        let s = stream(&env, config(&env)).await;
        s.accept((0..7).map(|i| record(i, t0())).collect())
            .await
            .unwrap();
        // Dropped without flushing: like a crash after the acknowledgement.
    }
    assert!(landed(&env.lake).await.is_empty());
    let s = stream(&env, config(&env)).await;
    assert_eq!(s.stats().await.replayed, 7);
    s.close().await.unwrap();
    assert_eq!(landed(&env.lake).await.len(), 7);
    // Once delivered, the spool is empty: a third open replays nothing.
    let s = stream(&env, config(&env)).await;
    assert_eq!(s.stats().await.replayed, 0);
}

#[tokio::test]
async fn pipelined_hand_offs_are_durable_once_acknowledged_and_survive_a_crash() {
    let env = env();
    {
        let s = stream(&env, config(&env)).await;
        let mut pending = Vec::new();
        for page in 0..10u32 {
            pending.push(
                s.submit((0..5).map(|i| record(page * 5 + i, t0())).collect())
                    .await
                    .unwrap(),
            );
        }
        // One wait covers every hand-off spooled before it; the others return at once.
        for ack in pending {
            ack.durable().await.unwrap();
        }
        assert_eq!(s.stats().await.received, 50);
        // Dropped without flushing: like a crash after the acknowledgements.
    }
    let s = stream(&env, config(&env)).await;
    assert_eq!(
        s.stats().await.replayed,
        50,
        "every acknowledged record was spooled"
    );
    s.close().await.unwrap();
    let ids: std::collections::BTreeSet<String> = landed(&env.lake).await.into_iter().collect();
    assert_eq!(ids.len(), 50);
}

#[tokio::test]
async fn a_corrupt_spool_tail_is_quarantined_not_replayed() {
    let env = env();
    {
        let s = stream(&env, config(&env)).await;
        s.accept((0..4).map(|i| record(i, t0())).collect())
            .await
            .unwrap();
    }
    let spool = env.dir.path().join("spool");
    let segment = std::fs::read_dir(&spool)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().ends_with(".wal"))
        .unwrap()
        .path();
    // A torn write: half a frame of garbage at the end.
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3, 4, b'{', b'x']);
    std::fs::write(&segment, bytes).unwrap();
    let s = stream(&env, config(&env)).await;
    let stats = s.stats().await;
    assert_eq!((stats.replayed, stats.quarantined_segments), (4, 1));
    assert!(spool.join("quarantine").read_dir().unwrap().count() == 1);
    s.close().await.unwrap();
    assert_eq!(landed(&env.lake).await.len(), 4);
}

#[tokio::test]
async fn a_store_that_fails_is_retried_and_nothing_is_lost() {
    let env = env();
    let s = stream(&env, config(&env)).await;
    // Block the raw zone: a file where a folder must go makes every write fail.
    let lake_root = env.dir.path().join("lake");
    std::fs::write(lake_root.join("raw"), b"not a folder").unwrap();
    s.accept((0..5).map(|i| record(i, t0())).collect())
        .await
        .unwrap();
    env.clock.advance(Duration::seconds(61));
    assert!(s.flush_due().await.is_err());
    let due = s.next_flush_due().unwrap();
    assert!(
        due > env.clock.now(),
        "a failed write waits for its backoff"
    );
    assert_eq!(s.stats().await.retried, 1);
    std::fs::remove_file(lake_root.join("raw")).unwrap();
    env.clock.advance_to(due);
    assert_eq!(s.flush_due().await.unwrap().records, 5);
    assert_eq!(landed(&env.lake).await.len(), 5);
}

#[tokio::test]
async fn a_failed_flush_names_the_object_and_keeps_the_store_error_as_its_cause() {
    let env = env();
    let s = stream(&env, config(&env)).await;
    std::fs::write(env.dir.path().join("lake").join("raw"), b"not a folder").unwrap();
    s.accept(vec![record(0, t0())]).await.unwrap();
    env.clock.advance(Duration::seconds(61));
    let err = s.flush_due().await.unwrap_err();
    let chain: Vec<&(dyn std::error::Error + 'static)> =
        std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
        .collect();
    assert_eq!(chain[0].to_string(), "1 buffer(s) not delivered yet");
    assert!(
        matches!(
            chain[1].downcast_ref::<WriteError>(),
            Some(WriteError::Lake(LakeError::Store(_)))
        ),
        "{chain:?}"
    );
    assert!(
        chain[1]
            .to_string()
            .starts_with("writing raw/walmart/trends/"),
        "{}",
        chain[1]
    );
    // Then the store's own error, said once, not folded into the messages above it.
    let store = chain[2].to_string();
    assert!(!chain[0].to_string().contains(&store) && !chain[1].to_string().contains(&store));
}

#[tokio::test]
async fn records_go_to_the_error_output_after_the_retry_duration() {
    let env = env();
    let s = stream(
        &env,
        DeliveryConfig {
            retry_duration_secs: 60,
            ..config(&env)
        },
    )
    .await;
    let lake_root = env.dir.path().join("lake");
    std::fs::write(lake_root.join("raw"), b"not a folder").unwrap();
    s.accept((0..3).map(|i| record(i, t0())).collect())
        .await
        .unwrap();
    for _ in 0..20 {
        env.clock.advance(Duration::seconds(61));
        let _ = s.flush_due().await;
        env.clock
            .advance_to(s.next_flush_due().unwrap_or(env.clock.now()));
    }
    let errors = env
        .lake
        .list("errors/delivery/retry_duration_exceeded")
        .await
        .unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(s.stats().await.dead_lettered, 3);
    assert_eq!(s.stats().await.spool_bytes, 0);
    // The dead letters' words are the lake's: the store's error, as they always said it.
    let bytes = env.lake.get(&errors[0].path).await.unwrap().unwrap();
    let text = pricelake_lake::ndjson::decode(&errors[0].path, &bytes).unwrap();
    for line in text.lines() {
        let LakeRecord::DeadLetter(dead) = serde_json::from_str(line).unwrap() else {
            panic!("not a dead letter: {line}");
        };
        assert_eq!(dead.reason, "retry_duration_exceeded");
        assert!(dead.detail.starts_with("object store: "), "{}", dead.detail);
    }
}

#[tokio::test]
async fn a_full_spool_pushes_back() {
    let env = env();
    let s = stream(
        &env,
        DeliveryConfig {
            spool_max_bytes: 1 << 20,
            buffer_size_mib: 128,
            ..config(&env)
        },
    )
    .await;
    let mut refused = false;
    for chunk in 0..20 {
        if let Err(SinkError::Backpressure(_)) = s
            .accept((0..1000).map(|i| record(chunk * 1000 + i, t0())).collect())
            .await
        {
            refused = true;
            break;
        }
    }
    assert!(refused, "a spool over its bound refuses records");
    s.flush_all().await.unwrap();
    assert!(
        s.accept(vec![record(1, t0())]).await.is_ok(),
        "accepted again once delivered"
    );
}

#[test]
fn config_ranges_are_enforced_and_prefixes_expand() {
    assert!(DeliveryConfig {
        buffer_size_mib: 0,
        ..DeliveryConfig::default()
    }
    .validate()
    .is_err());
    assert!(DeliveryConfig {
        buffer_size_mib: 129,
        ..DeliveryConfig::default()
    }
    .validate()
    .is_err());
    assert!(DeliveryConfig {
        buffer_interval_secs: 901,
        ..DeliveryConfig::default()
    }
    .validate()
    .is_err());
    assert!(DeliveryConfig::default().validate().is_ok());
    let c = DeliveryConfig {
        prefix: "dt=!{timestamp:yyyy-MM-dd}/h=!{timestamp:HH}/".into(),
        ..DeliveryConfig::default()
    };
    assert_eq!(c.expand_prefix(t0()), "dt=2026-03-04/h=05/");
}

#[tokio::test]
async fn every_compression_round_trips_the_ndjson_lines() {
    for compression in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let env = env();
        let s = stream(
            &env,
            DeliveryConfig {
                compression,
                ..config(&env)
            },
        )
        .await;
        let records: Vec<LakeRecord> = (0..50).map(|i| record(i, t0())).collect();
        s.accept(records.clone()).await.unwrap();
        s.close().await.unwrap();
        let objects = env.lake.list("raw").await.unwrap();
        assert_eq!(objects.len(), 1);
        assert!(
            objects[0].path.ends_with(compression.extension()),
            "{}",
            objects[0].path
        );
        let bytes = env.lake.get(&objects[0].path).await.unwrap().unwrap();
        let text = pricelake_lake::ndjson::decode(&objects[0].path, &bytes).unwrap();
        let back: Vec<LakeRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            back, records,
            "{compression:?}: the lines handed in, in order"
        );
        if compression != Compression::None {
            assert!(bytes.len() < text.len() / 3, "{compression:?} compresses");
        }
    }
}

#[tokio::test]
async fn a_spool_far_larger_than_the_buffers_is_streamed_exactly_once() {
    let env = env();
    let unsynced = DeliveryConfig {
        fsync: false,
        ..config(&env)
    };
    let total = 160_000u32; // about 60 MiB of spool against 1 MiB buffers
                            // The store is down while they arrive (a file where the raw folder must go).
    let raw = env.dir.path().join("lake/raw");
    std::fs::create_dir_all(env.dir.path().join("lake")).unwrap();
    std::fs::write(&raw, b"not a folder").unwrap();
    in_a_process_that_dies(async {
        let s = stream(&env, unsynced.clone()).await;
        for chunk in (0..total).collect::<Vec<_>>().chunks(5000) {
            s.accept(chunk.iter().map(|i| record(*i, t0())).collect())
                .await
                .unwrap();
        }
        // Nothing was confirmed: every record sits in the spool. Then the process dies.
        std::mem::forget(s);
    });
    let spool_bytes: u64 = std::fs::read_dir(env.dir.path().join("spool"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(landed(&env.lake).await.is_empty());
    // The store comes back; the next open streams the spool into it.
    std::fs::remove_file(&raw).unwrap();
    assert!(spool_bytes > 50 << 20, "spool of {spool_bytes} bytes");
    let s = stream(&env, unsynced).await;
    assert_eq!(s.stats().await.replayed, u64::from(total));
    s.close().await.unwrap();
    let ids = landed(&env.lake).await;
    assert_eq!(ids.len(), total as usize, "every record once");
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), total as usize);
    let objects = env.lake.list("raw").await.unwrap().len();
    assert!(
        objects > 40,
        "flushed as the buffers filled, not at the end: {objects}"
    );
}

#[tokio::test]
async fn a_corrupt_frame_mid_segment_is_caught_by_its_checksum() {
    let env = env();
    {
        let s = stream(&env, config(&env)).await;
        for i in 0..10 {
            s.accept(vec![record(i, t0())]).await.unwrap();
        }
    }
    let spool = env.dir.path().join("spool");
    let segment = std::fs::read_dir(&spool)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".wal") && p.metadata().unwrap().len() > 0)
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let frame = bytes.len() / 10;
    bytes[frame * 6 + 20] ^= 0xff; // one flipped bit pattern inside the seventh record
    std::fs::write(&segment, &bytes).unwrap();
    let s = stream(&env, config(&env)).await;
    let stats = s.stats().await;
    assert_eq!(
        (stats.replayed, stats.quarantined_segments),
        (6, 1),
        "the six frames before it replay; the rest is quarantined, not parsed as garbage"
    );
    let kept: u64 = spool
        .join("quarantine")
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(
        kept,
        (bytes.len() - frame * 6) as u64,
        "the bad bytes are kept aside"
    );
    s.close().await.unwrap();
    assert_eq!(landed(&env.lake).await.len(), 6);
}

#[tokio::test]
async fn a_store_down_with_full_buffers_spills_to_the_spool_and_memory_stays_bounded() {
    let env = env();
    let config = DeliveryConfig {
        memory_max_mib: 1,
        ..config(&env)
    };
    let limit = 1024 * 1024;
    let lake_root = env.dir.path().join("lake");
    std::fs::create_dir_all(&lake_root).unwrap();
    std::fs::write(lake_root.join("raw"), b"not a folder").unwrap();
    let total = 20_000u32;
    {
        let s = stream(&env, config.clone()).await;
        for batch in 0..total / 100 {
            s.accept((0..100).map(|i| record(batch * 100 + i, t0())).collect())
                .await
                .unwrap();
            let stats = s.stats().await;
            assert!(
                stats.buffered_bytes <= limit,
                "{} bytes buffered, bound {limit}",
                stats.buffered_bytes
            );
        }
        let stats = s.stats().await;
        assert!(stats.spilling, "{stats:?}");
        assert!(stats.spool_bytes > 8 * limit, "{stats:?}");
        assert!(s.flush_all().await.is_err(), "the store is still down");
        // A crash: the stream is dropped with everything in the spool.
    }
    // Reopened with the store still down: the replay stops at the memory bound.
    let s = stream(&env, config.clone()).await;
    let stats = s.stats().await;
    assert!(stats.buffered_bytes <= limit, "{stats:?}");
    assert!(stats.spilling, "{stats:?}");
    std::fs::remove_file(lake_root.join("raw")).unwrap();
    assert!(s.flush_all().await.is_ok() || s.stats().await.spilling);
    env.clock.advance(Duration::minutes(10));
    s.flush_all().await.unwrap();
    let stats = s.stats().await;
    assert!(!stats.spilling, "{stats:?}");
    assert_eq!(stats.spool_bytes, 0, "{stats:?}");
    let ids = landed(&env.lake).await;
    let mut distinct = ids.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), total as usize, "every record landed");
    assert_eq!(ids.len(), total as usize, "none twice");
}
