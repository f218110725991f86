//! Delivery throughput and memory, beside the machine's own limit measured in the same run.
//!
//! `cargo bench -p pricelake-delivery --bench throughput` runs three phases, each in a
//! child process of its own so that each peak resident size (VmHWM) is that phase's:
//!
//! 1. **ingest**: realistic Walmart item records (from the emulator's catalog) handed to
//!    the stream 20 at a time, as a page of a response is, with the fsync'd spool on, the
//!    default Firehose buffering hints (5 MiB, gzip) and a local-folder lake; timed from
//!    the first hand-off until `close` has written the last object.
//! 2. **fill**: the store is down (every write fails) while records keep coming until the
//!    spool holds `PRICELAKE_BENCH_SPOOL_MIB`; memory must stay bounded meanwhile.
//! 3. **replay**: the store is back; a new process opens the stream, which replays the
//!    whole spool into the lake.
//!
//! The peer: `gzip -1` over exactly the NDJSON bytes phase 1 landed (decompressed from the
//! lake), best of three, on the same machine in the same run.
//!
//! Knobs: `PRICELAKE_BENCH_RECORDS` (default 300000), `PRICELAKE_BENCH_SPOOL_MIB`
//! (default 1024).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use pricelake_core::{LakeRecord, Metrics, RecordEnvelope, RecordSink, SystemClock};
use pricelake_delivery::{DeliveryConfig, DeliveryStream};
use pricelake_emulator::Catalog;
use pricelake_lake::{Lake, LakeConfig};
use serde::{Deserialize, Serialize};

/// What a child phase reports to the parent, as one JSON line.
#[derive(Debug, Serialize, Deserialize)]
struct PhaseReport {
    records: u64,
    ndjson_bytes: u64,
    seconds: f64,
    peak_rss_mib: f64,
    spool_mib: f64,
}

const PAGE: usize = 20;
/// Hand-offs a pipelining producer keeps in flight, each acknowledged once fsync'd.
const IN_FLIGHT: u64 = 8;

fn main() {
    match std::env::var("PRICELAKE_BENCH_PHASE").ok().as_deref() {
        Some(phase) => {
            let dir = PathBuf::from(std::env::var("PRICELAKE_BENCH_DIR").expect("bench dir"));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let report = runtime.block_on(run_phase(phase, &dir));
            println!("{}", serde_json::to_string(&report).expect("report"));
        }
        None => parent(),
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn parent() {
    let records = env_u64("PRICELAKE_BENCH_RECORDS", 300_000);
    let spool_mib = env_u64("PRICELAKE_BENCH_SPOOL_MIB", 1024);
    let dir = tempfile::tempdir().expect("temp dir");
    let me = std::env::current_exe().expect("own path");
    let child = |phase: &str, producers: u64, in_flight: u64| -> PhaseReport {
        let out = Command::new(&me)
            .env("PRICELAKE_BENCH_PHASE", phase)
            .env("PRICELAKE_BENCH_PRODUCERS", producers.to_string())
            .env("PRICELAKE_BENCH_IN_FLIGHT", in_flight.to_string())
            .env("PRICELAKE_BENCH_DIR", dir.path())
            .env("PRICELAKE_BENCH_RECORDS", records.to_string())
            .env("PRICELAKE_BENCH_SPOOL_MIB", spool_mib.to_string())
            .stderr(Stdio::inherit())
            .output()
            .expect("child phase");
        assert!(out.status.success(), "phase {phase} failed");
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(text.lines().last().expect("a report")).expect("a phase report")
    };

    let fresh = || {
        std::fs::remove_dir_all(dir.path().join("lake-ingest")).ok();
        std::fs::remove_dir_all(dir.path().join("ingest")).ok();
    };
    let concurrent = child("ingest", 4, 1);
    fresh();
    let pipelined = child("ingest", 1, IN_FLIGHT);
    fresh();
    let ingest = child("ingest", 1, 1);
    // The peer's input: exactly the NDJSON bytes that landed.
    let ndjson = dir.path().join("landed.ndjson");
    let landed = concat_landed(&dir.path().join("lake-ingest"), &ndjson);
    assert_eq!(
        landed.1, ingest.records,
        "every record handed over landed exactly once"
    );
    let gzip = best_of_three(|| {
        let status = Command::new("gzip")
            .args(["-1", "-c"])
            .arg(&ndjson)
            .stdout(Stdio::null())
            .status()
            .expect("gzip on PATH");
        assert!(status.success());
    });
    let gzip_mb_s = landed.0 as f64 / 1e6 / gzip.as_secs_f64();
    let ours_mb_s = ingest.ndjson_bytes as f64 / 1e6 / ingest.seconds;
    std::fs::remove_file(&ndjson).ok();

    let fill = child("fill", 1, 1);
    std::fs::remove_file(dir.path().join("lake-replay").join("raw")).expect("unblock the store");
    let replay = child("replay", 1, 1);

    println!();
    println!("delivery throughput ({records} records, {PAGE} per hand-off, spool fsync'd, gzip, 5 MiB buffers)");
    println!("| phase | records | NDJSON MB | seconds | records/s | MB/s | peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|");
    for (name, r) in [
        ("ingest to lake, 1 source, each hand-off awaited", &ingest),
        (
            "ingest to lake, 1 source, 8 hand-offs in flight",
            &pipelined,
        ),
        ("ingest to lake, 4 sources at once", &concurrent),
        ("store down, spool fills", &fill),
        ("replay of the spool", &replay),
    ] {
        println!(
            "| {name} | {} | {:.1} | {:.2} | {:.0} | {:.1} | {:.0} |",
            r.records,
            r.ndjson_bytes as f64 / 1e6,
            r.seconds,
            r.records as f64 / r.seconds,
            r.ndjson_bytes as f64 / 1e6 / r.seconds,
            r.peak_rss_mib
        );
    }
    println!(
        "| peer: `gzip -1` over the same {:.1} MB | | | {:.2} | | {gzip_mb_s:.1} | |",
        landed.0 as f64 / 1e6,
        gzip.as_secs_f64()
    );
    println!();
    let concurrent_mb_s = concurrent.ndjson_bytes as f64 / 1e6 / concurrent.seconds;
    let pipelined_mb_s = pipelined.ndjson_bytes as f64 / 1e6 / pipelined.seconds;
    println!(
        "ingest: 1 source {ours_mb_s:.1} MB/s = {:.0}% of gzip -1 ({gzip_mb_s:.1} MB/s), with {IN_FLIGHT} hand-offs in flight {pipelined_mb_s:.1} MB/s = {:.0}%; 4 sources {concurrent_mb_s:.1} MB/s = {:.0}%; spool reached {:.0} MiB with the store down; replayed {} of {} records",
        100.0 * ours_mb_s / gzip_mb_s,
        100.0 * pipelined_mb_s / gzip_mb_s,
        100.0 * concurrent_mb_s / gzip_mb_s,
        fill.spool_mib,
        replay.records,
        fill.records
    );
    assert_eq!(
        replay.records, fill.records,
        "every spooled record replayed once"
    );
}

fn best_of_three(mut f: impl FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .expect("three runs")
}

/// Decompresses every object under `lake/raw` into one file; returns (bytes, records).
fn concat_landed(lake: &Path, out: &Path) -> (u64, u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).expect("peer input"));
    let (mut bytes, mut records) = (0u64, 0u64);
    let mut stack = vec![lake.join("raw")];
    let mut paths = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("lake folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                paths.push(path);
            }
        }
    }
    paths.sort();
    for path in paths {
        let body = std::fs::read(&path).expect("object");
        let text = pricelake_lake::ndjson::decode(&path.to_string_lossy(), &body).expect("decode");
        records += text.lines().count() as u64;
        bytes += text.len() as u64;
        file.write_all(text.as_bytes()).expect("write");
    }
    file.flush().expect("flush");
    (bytes, records)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn open_lake(path: &Path) -> Lake {
    Lake::open(&LakeConfig {
        url: path.to_string_lossy().into(),
        ..LakeConfig::default()
    })
    .expect("lake")
}

/// Pages of records shaped like what the Walmart source hands over: item payloads from
/// the emulator's catalog, each envelope with its own id and request.
struct Pages {
    payloads: Vec<serde_json::Value>,
    next: u64,
}

impl Pages {
    fn new() -> Self {
        let catalog = Catalog::generate(7, 1_000);
        let t = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        let payloads = catalog
            .item_ids()
            .into_iter()
            .filter_map(|id| catalog.item(id, t))
            .collect();
        Self { payloads, next: 0 }
    }

    fn page(&mut self) -> Vec<LakeRecord> {
        let base = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        (0..PAGE)
            .map(|_| {
                let i = self.next;
                self.next += 1;
                let request = i / PAGE as u64;
                let url = format!("http://127.0.0.1:1/v1/paginated/items?category=976759&page={request}&apiKey=REDACTED");
                let endpoint = ["paginated_items", "search", "items", "trends"][(request % 4) as usize];
                LakeRecord::Raw(RecordEnvelope {
                    record_id: RecordEnvelope::derive_id("walmart", endpoint, &url, Some((i % PAGE as u64) as u32)),
                    source: "walmart".into(),
                    endpoint: endpoint.into(),
                    fetched_at: base + chrono::Duration::milliseconds(i as i64 * 50),
                    request_url: url,
                    http_status: 200,
                    position: Some((i % PAGE as u64) as u32),
                    context: None,
                    payload: self.payloads[(i as usize) % self.payloads.len()].clone(),
                })
            })
            .collect()
    }
}

fn stream_config(dir: &Path) -> DeliveryConfig {
    DeliveryConfig {
        spool_dir: dir.join("spool"),
        spool_max_bytes: 64 << 30,
        // Diagnosis only (the figures in docs/benchmarks.md keep the spool fsync'd).
        fsync: std::env::var("PRICELAKE_BENCH_FSYNC").map_or(true, |v| v != "0"),
        ..DeliveryConfig::default()
    }
}

async fn open_stream(dir: &Path, lake: &Path) -> DeliveryStream {
    DeliveryStream::open(
        stream_config(dir),
        open_lake(lake),
        Arc::new(SystemClock),
        Metrics::new(),
    )
    .await
    .expect("stream")
}

async fn run_phase(phase: &str, dir: &Path) -> PhaseReport {
    let records = env_u64("PRICELAKE_BENCH_RECORDS", 300_000);
    let spool_target = env_u64("PRICELAKE_BENCH_SPOOL_MIB", 1024) << 20;
    let mut pages = Pages::new();
    match phase {
        "ingest" => {
            let producers = env_u64("PRICELAKE_BENCH_PRODUCERS", 1).max(1);
            let stream = Arc::new(open_stream(&dir.join("ingest"), &dir.join("lake-ingest")).await);
            let (busy, bytes, sent) = if producers == 1 {
                // One source: only the time inside the hand-offs counts.
                // With PRICELAKE_BENCH_IN_FLIGHT > 1 the source keeps that many hand-offs
                // in flight, waiting for the oldest to be durable before it goes on.
                let in_flight = env_u64("PRICELAKE_BENCH_IN_FLIGHT", 1).max(1) as usize;
                let (mut busy, mut bytes, mut sent) = (Duration::ZERO, 0u64, 0u64);
                let mut pending = std::collections::VecDeque::new();
                while sent < records {
                    let page = pages.page();
                    bytes += ndjson_len(&page);
                    sent += page.len() as u64;
                    let start = Instant::now();
                    pending.push_back(stream.submit(page).await.expect("spooled"));
                    if pending.len() >= in_flight {
                        let oldest = pending.pop_front().expect("one in flight");
                        oldest.durable().await.expect("durable");
                    }
                    busy += start.elapsed();
                }
                let start = Instant::now();
                for ack in pending {
                    ack.durable().await.expect("durable");
                }
                (busy + start.elapsed(), bytes, sent)
            } else {
                // Several sources at once: wall time, which includes making the records
                // (so this figure is conservative).
                let start = Instant::now();
                let mut tasks = Vec::new();
                for p in 0..producers {
                    let stream = stream.clone();
                    let share = records / producers;
                    tasks.push(tokio::spawn(async move {
                        let mut pages = Pages::new();
                        pages.next = p * 1_000_000_000;
                        let (mut bytes, mut sent) = (0u64, 0u64);
                        while sent < share {
                            let page = pages.page();
                            bytes += ndjson_len(&page);
                            sent += page.len() as u64;
                            stream.accept(page).await.expect("accepted");
                        }
                        (bytes, sent)
                    }));
                }
                let (mut bytes, mut sent) = (0u64, 0u64);
                for task in tasks {
                    let (b, n) = task.await.expect("producer");
                    bytes += b;
                    sent += n;
                }
                (start.elapsed(), bytes, sent)
            };
            let start = Instant::now();
            let stream = Arc::try_unwrap(stream).ok().expect("producers done");
            stream.close().await.expect("closed");
            let busy = busy + start.elapsed();
            PhaseReport {
                records: sent,
                ndjson_bytes: bytes,
                seconds: busy.as_secs_f64(),
                peak_rss_mib: peak_rss_mib(),
                spool_mib: 0.0,
            }
        }
        "fill" => {
            let lake = dir.join("lake-replay");
            std::fs::create_dir_all(&lake).expect("lake folder");
            // A file where the raw zone's folder must go: every write fails.
            std::fs::write(lake.join("raw"), b"the store is down").expect("block");
            let stream = open_stream(&dir.join("replay"), &lake).await;
            let (mut busy, mut bytes, mut sent) = (Duration::ZERO, 0u64, 0u64);
            loop {
                let stats = stream.stats().await;
                if stats.spool_bytes >= spool_target {
                    break;
                }
                let page = pages.page();
                bytes += ndjson_len(&page);
                sent += page.len() as u64;
                let start = Instant::now();
                stream
                    .accept(page)
                    .await
                    .expect("accepted while the store is down");
                busy += start.elapsed();
            }
            let stats = stream.stats().await;
            assert!(stats.spilling, "the buffers spilled to the spool");
            // Ends like a crash: nothing flushed, everything in the spool.
            std::mem::forget(stream);
            PhaseReport {
                records: sent,
                ndjson_bytes: bytes,
                seconds: busy.as_secs_f64(),
                peak_rss_mib: peak_rss_mib(),
                spool_mib: stats.spool_bytes as f64 / 1048576.0,
            }
        }
        "replay" => {
            let start = Instant::now();
            let stream = open_stream(&dir.join("replay"), &dir.join("lake-replay")).await;
            let replayed = stream.stats().await.replayed;
            stream.close().await.expect("replayed into the lake");
            let seconds = start.elapsed().as_secs_f64();
            let spool_left = std::fs::read_dir(dir.join("replay").join("spool"))
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .filter(|e| e.path().extension().is_some_and(|x| x == "wal"))
                        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                        .sum::<u64>()
                })
                .unwrap_or(0);
            assert_eq!(spool_left, 0, "the spool emptied into the lake");
            let (bytes, landed) =
                concat_landed(&dir.join("lake-replay"), &dir.join("replayed.ndjson"));
            std::fs::remove_file(dir.join("replayed.ndjson")).ok();
            assert_eq!(landed, replayed, "every spooled record landed once");
            PhaseReport {
                records: landed,
                ndjson_bytes: bytes,
                seconds,
                peak_rss_mib: peak_rss_mib(),
                spool_mib: 0.0,
            }
        }
        other => panic!("unknown phase {other}"),
    }
}

fn ndjson_len(page: &[LakeRecord]) -> u64 {
    page.iter()
        .map(|r| serde_json::to_vec(r).map_or(0, |v| v.len() as u64 + 1))
        .sum()
}
