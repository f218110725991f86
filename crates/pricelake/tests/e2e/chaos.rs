//! Chaos: the whole pipeline against the emulator with every fault on (5xx, time-outs,
//! cut and garbage bodies, 429s), a lake on an S3-protocol server that goes away for a
//! while, `pricelake ingest` killed with SIGKILL at random moments again and again,
//! `pricelake process` killed mid-run twice, and `pricelake process --full-refresh` killed
//! mid-run (the run before it stays current); at the end `pricelake audit` balances:
//! nothing served is missing from the lake, no mart row is counted twice.
//!
//! `scripts/chaos [KILLS]` runs the same test longer; `PRICELAKE_CHAOS_KILLS` sets the
//! number of kills (20 by default) and the figures are written to
//! `target/chaos-last.json`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use crate::support::KillOnDrop;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pricelake_emulator::{EmulatorConfig, FaultConfig};

use crate::support::{s3_endpoint, StoreProxy};

fn pricelake(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pricelake"));
    cmd.arg("--config")
        .arg(config)
        .env("PRICELAKE_WALMART_API_KEY", "demo-walmart-key")
        .env("PRICELAKE_CURRENCYLAYER_ACCESS_KEY", "demo-fx-key")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("PRICELAKE_CONFIG")
        .env_remove("PRICELAKE_MONGODB_URI");
    cmd
}

fn spawn_logged(mut cmd: Command, log: &Path) -> KillOnDrop {
    KillOnDrop(
        cmd.stdout(std::fs::File::create(log.with_extension("out")).unwrap())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// A deterministic pseudo-random sequence for the kill moments.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn kills() -> usize {
    std::env::var("PRICELAKE_CHAOS_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_books_balance_after_faults_kills_and_a_store_that_goes_away() {
    let endpoint = s3_endpoint();
    let upstream: SocketAddr = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let proxy = StoreProxy::start(upstream).await;
    let bucket = format!("chaos-{}", std::process::id());
    crate::support::create_bucket(&endpoint, &bucket).await;

    let emulator = pricelake_emulator::start(
        EmulatorConfig {
            items: 300,
            rate_limit_per_sec: Some(8),
            faults: FaultConfig {
                error_5xx: 0.05,
                timeout: 0.02,
                timeout_ms: 3_000,
                truncated: 0.03,
                malformed: 0.03,
                bom: 0.03,
                duplicate: 0.03,
                fault_seed: 23,
                ..FaultConfig::default()
            },
            ..EmulatorConfig::default()
        },
        Arc::new(pricelake_core::SystemClock),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pricelake.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[lake]
url = "s3://{bucket}/lake"
s3_endpoint = "http://{store}"
s3_allow_http = true
[delivery]
spool_dir = "{spool}"
buffer_interval_secs = 1
buffer_size_mib = 1
[sources.walmart]
base_url = "{base}"
trends_interval_secs = 2
vod_interval_secs = 2
taxonomy_interval_secs = 3600
rate_limit_per_sec = 100.0
timeout_secs = 1
[sources.walmart.retry]
max_attempts = 6
initial_backoff_ms = 10
max_backoff_ms = 200
[sources.walmart.catalog]
count = 25
interval_secs = 5
[sources.currencylayer]
base_url = "{base}"
live_interval_secs = 2
list_interval_secs = 0
timeout_secs = 1
[sources.currencylayer.retry]
max_attempts = 6
initial_backoff_ms = 10
max_backoff_ms = 200
[transform]
currencies = ["EUR", "GBP", "JPY"]
"#,
            store = proxy.addr,
            spool = dir.path().join("spool").display(),
            base = emulator.base_url(),
        ),
    )
    .unwrap();

    let kills = kills();
    let store_away = (kills / 4, kills / 4 + 3);
    let mut seed = 0xc4a05_u64;
    let mut process_kills = 0;
    let mut process_runs = 0;
    let mut store_outages = 0;
    let began = Instant::now();
    for life in 0..kills {
        if life == store_away.0 {
            proxy.down();
            store_outages += 1;
        }
        if life == store_away.1 {
            proxy.up();
        }
        let mut cmd = pricelake(&config);
        cmd.arg("ingest");
        let mut child = spawn_logged(cmd, &dir.path().join(format!("ingest{life}.log")));
        tokio::time::sleep(Duration::from_millis(1000 + next_random(&mut seed) % 3000)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Twice (or more, until two kills land mid-run), a process run killed mid-way.
        let store_up = !(store_away.0..store_away.1).contains(&life);
        if store_up && life >= kills / 2 && process_kills < 2 {
            let mut cmd = pricelake(&config);
            cmd.arg("process");
            let mut child = spawn_logged(cmd, &dir.path().join(format!("process{life}.log")));
            process_runs += 1;
            // Early in the run: a process run over this lake takes about a second.
            tokio::time::sleep(Duration::from_millis(100 + next_random(&mut seed) % 400)).await;
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap();
                process_kills += 1;
            }
            child.wait().unwrap();
        }
    }
    proxy.up();

    // The last ingest runs to the end of a round; then a process run that completes.
    let run = |args: &[&str], log: &str| {
        let mut cmd = pricelake(&config);
        cmd.args(args);
        let log = dir.path().join(log);
        let status = spawn_logged(cmd, &log).wait().unwrap();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let out = std::fs::read_to_string(log.with_extension("out")).unwrap_or_default();
        (status, out, text)
    };
    // A full refresh killed mid-run: the run before it stays current, and the runs below
    // see the lake as if it had never started.
    let (status, _, text) = run(&["process"], "before-refresh.log");
    assert!(status.success(), "process before the refresh: {text}");
    let current_run = || {
        let (_, out, _) = run(&["status", "--json"], "status.log");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        report["last_process_run"]["run_id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let before_refresh = current_run();
    let mut refresh_kills = 0;
    for attempt in 0..4u64 {
        let mut cmd = pricelake(&config);
        cmd.args(["process", "--full-refresh"]);
        let mut child = spawn_logged(cmd, &dir.path().join(format!("refresh{attempt}.log")));
        let wait = (600 - attempt * 150) + next_random(&mut seed) % 200;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            child.wait().unwrap();
            refresh_kills += 1;
            assert_eq!(
                current_run(),
                before_refresh,
                "a killed full refresh left the run before it current"
            );
            break;
        }
        child.wait().unwrap();
    }
    assert!(refresh_kills == 1, "a full refresh was killed mid-run");

    // (Blocking here is fine: the emulator runs on the runtime's worker threads.)
    let (status, _, text) = run(&["ingest", "--once"], "final-ingest.log");
    assert!(status.success(), "final ingest: {text}");
    let (status, _, text) = run(&["process"], "final-process.log");
    assert!(status.success(), "final process: {text}");
    let emulator_url = emulator.base_url().to_string();
    let (status, books, text) = run(
        &["audit", "--json", "--emulator", &emulator_url],
        "audit.log",
    );
    let report: serde_json::Value = serde_json::from_str(&books)
        .unwrap_or_else(|e| panic!("audit --json: {e}\n{books}\n{text}"));
    let failed: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["expected"] != c["actual"])
        .collect();
    assert!(
        failed.is_empty() && status.success(),
        "the books do not balance after chaos: {failed:#?}\n{text}"
    );

    let summary = emulator.served().summary();
    let faults: usize = summary.faults.values().sum();
    let rate_limited = summary.by_status.get(&429).copied().unwrap_or(0);
    assert!(faults > 50, "faults were on: {:?}", summary.faults);
    assert!(
        rate_limited > 0,
        "429s were served: {:?}",
        summary.by_status
    );
    assert!(
        process_kills >= 2,
        "process killed mid-run twice: {process_kills} of {process_runs}"
    );
    assert_eq!(store_outages, 1);
    let mart_duplicates: u64 = report["mart_duplicates"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(mart_duplicates, 0);
    let landed: u64 = report["landed"]
        .as_object()
        .unwrap()
        .values()
        .map(|l| l["unique"].as_u64().unwrap())
        .sum();
    assert!(landed > 1000, "a real amount of traffic: {landed} records");
    // What the served-versus-landed identities miss (0, or the assertion above had failed).
    let lost: u64 = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["name"]
                .as_str()
                .is_some_and(|n| n.contains("served intact"))
        })
        .map(|c| c["expected"].as_u64().unwrap() - c["actual"].as_u64().unwrap())
        .sum();
    let figures = serde_json::json!({
        "kills_of_ingest": kills,
        "kills_of_process_mid_run": process_kills,
        "kills_of_full_refresh_mid_run": refresh_kills,
        "store_outages": store_outages,
        "store_outage_lives": store_away.1 - store_away.0,
        "faults_injected": summary.faults,
        "answers_429": rate_limited,
        "responses_served": summary.responses,
        "distinct_records_landed": landed,
        "dead_letters": report["dead_letters"],
        "records_lost": lost,
        "mart_rows_counted_twice": mart_duplicates,
        "checks": report["checks"].as_array().unwrap().len(),
        "seconds": began.elapsed().as_secs(),
    });
    eprintln!("chaos figures: {figures:#}");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let _ = std::fs::write(target.join("chaos-last.json"), format!("{figures:#}\n"));
    emulator.shutdown().await;
}
