//! `kill -9` of the ingest process, again and again, with faults on: every record the
//! emulator served early enough to be acknowledged is in the lake or in the dead letters.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::KillOnDrop;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pricelake_core::LakeRecord;
use pricelake_emulator::{EmulatorConfig, FaultConfig, ServedEntry};

/// Time a process needs, after a response arrives, to put its records in the fsync'd
/// spool (retries of the same request included). Responses served later than this
/// before a kill may die with the process unacknowledged; they are fetched again.
const ACK_MARGIN: chrono::Duration = chrono::Duration::milliseconds(2000);

/// Every record in the lake folder: raw records and dead letters, from every object.
fn lake_records(root: &Path) -> Vec<LakeRecord> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.to_string_lossy().to_string();
            if !name.contains("/raw/") && !name.contains("/errors/") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let mut text = String::new();
            if name.ends_with(".gz") {
                flate2::read::MultiGzDecoder::new(bytes.as_slice())
                    .read_to_string(&mut text)
                    .unwrap_or_else(|e| panic!("{name} is a whole gzip object: {e}"));
            } else {
                text = String::from_utf8(bytes).unwrap();
            }
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                out.push(
                    serde_json::from_str(line)
                        .unwrap_or_else(|e| panic!("{name}: a line that is not a record: {e}")),
                );
            }
        }
    }
    out
}

fn spawn_ingest(config: &Path, log: &Path, once: bool) -> KillOnDrop {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pricelake"));
    cmd.arg("--config").arg(config).arg("ingest");
    if once {
        cmd.arg("--once");
    }
    cmd.env("PRICELAKE_WALMART_API_KEY", "demo-walmart-key")
        .env("PRICELAKE_CURRENCYLAYER_ACCESS_KEY", "demo-fx-key")
        .env_remove("PRICELAKE_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    KillOnDrop(cmd.spawn().unwrap())
}

/// A deterministic pseudo-random sequence for the kill moments (no extra dependency).
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let emulator = pricelake_emulator::start(
        EmulatorConfig {
            items: 400,
            faults: FaultConfig {
                error_5xx: 0.08,
                truncated: 0.05,
                malformed: 0.05,
                bom: 0.05,
                duplicate: 0.05,
                fault_seed: 11,
                ..FaultConfig::default()
            },
            ..EmulatorConfig::default()
        },
        std::sync::Arc::new(pricelake_core::SystemClock),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = dir.path().join("pricelake.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[lake]
url = "{lake}"
[delivery]
spool_dir = "{spool}"
buffer_interval_secs = 1
buffer_size_mib = 1
[sources.walmart]
base_url = "{base}"
trends_interval_secs = 1
vod_interval_secs = 1
taxonomy_interval_secs = 3600
rate_limit_per_sec = 100.0
[sources.walmart.retry]
max_attempts = 6
initial_backoff_ms = 10
max_backoff_ms = 100
[sources.walmart.catalog]
count = 25
interval_secs = 3
[sources.currencylayer]
base_url = "{base}"
live_interval_secs = 1
list_interval_secs = 0
[sources.currencylayer.retry]
max_attempts = 6
initial_backoff_ms = 10
max_backoff_ms = 100
"#,
            lake = lake.display(),
            spool = dir.path().join("spool").display(),
            base = emulator.base_url(),
        ),
    )
    .unwrap();

    // Lives that end in SIGKILL at a random moment, then one that runs to the end of a round.
    let mut lives: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = Vec::new();
    let mut seed = 0x5eed_u64;
    for life in 0..12 {
        let started = Utc::now();
        let mut child = spawn_ingest(&config, &dir.path().join(format!("life{life}.log")), false);
        let wait = 1500 + next_random(&mut seed) % 3500;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        lives.push((started, Some(Utc::now())));
    }
    let started = Utc::now();
    let log = dir.path().join("final.log");
    let status = tokio::task::spawn_blocking({
        let config = config.clone();
        let log = log.clone();
        move || spawn_ingest(&config, &log, true).wait().unwrap()
    })
    .await
    .unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    lives.push((started, None));

    let served = emulator.served().entries();
    for (i, (start, killed)) in lives.iter().enumerate() {
        let n = served
            .iter()
            .filter(|e| e.at >= *start && killed.is_none_or(|k| e.at < k))
            .count();
        eprintln!(
            "life {i}: {n} responses served, killed: {}",
            killed.is_some()
        );
    }
    let records = lake_records(&lake);
    // Landed item ids and dead letters, by endpoint, with the time their response arrived.
    let mut landed: BTreeMap<(String, u64), Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut quotes: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut dead: BTreeMap<(String, String), Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for record in &records {
        match record {
            LakeRecord::Raw(e) => {
                ids.insert(e.record_id.clone());
                if let Some(id) = e.payload["itemId"].as_u64() {
                    landed
                        .entry((e.endpoint.clone(), id))
                        .or_default()
                        .push(e.fetched_at);
                }
                if e.endpoint == "live" {
                    quotes.entry("live".into()).or_default().push(e.fetched_at);
                }
            }
            LakeRecord::DeadLetter(d) => {
                ids.insert(d.record_id.clone());
                dead.entry((d.endpoint.clone(), d.reason.clone()))
                    .or_default()
                    .push(d.fetched_at);
            }
        }
    }
    let near = |times: Option<&Vec<DateTime<Utc>>>, at: DateTime<Utc>| {
        times.is_some_and(|ts| {
            ts.iter()
                .any(|t| (*t - at).abs() < chrono::Duration::seconds(1))
        })
    };
    let acknowledged = |e: &ServedEntry| {
        lives
            .iter()
            .any(|(start, killed)| e.at >= *start && killed.is_none_or(|k| e.at + ACK_MARGIN < k))
    };
    let mut checked_items = 0;
    let mut checked_bodies = 0;
    let mut missing = Vec::new();
    for entry in served.iter().filter(|e| acknowledged(e)) {
        let endpoint = entry.endpoint.split_once('/').map(|(_, e)| e).unwrap_or("");
        if entry.delivered() {
            for id in &entry.item_ids {
                checked_items += 1;
                if !near(landed.get(&(endpoint.to_string(), *id)), entry.at) {
                    missing.push(format!("{} item {id} served at {}", entry.path, entry.at));
                }
            }
            if endpoint == "live" {
                checked_bodies += 1;
                if !near(quotes.get("live"), entry.at) {
                    missing.push(format!("live quotes served at {}", entry.at));
                }
            }
        } else if entry.status != 0 {
            checked_bodies += 1;
            let reason = if entry.status == 200 {
                "malformed_json".to_string()
            } else {
                format!("http_{}", entry.status)
            };
            if !near(dead.get(&(endpoint.to_string(), reason.clone())), entry.at) {
                missing.push(format!(
                    "{} ({reason}) served at {} has no dead letter",
                    entry.path, entry.at
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {checked_items} items and {checked_bodies} bodies lost:\n{}",
        missing.len(),
        missing[..missing.len().min(20)].join("\n")
    );
    assert!(
        checked_items > 1000,
        "a real amount of traffic: {checked_items} items"
    );
    let faults = served.iter().filter(|e| !e.delivered()).count();
    assert!(faults > 20, "faults were on: {faults}");
    assert!(
        lives.len() >= 11,
        "at least ten kills: {} lives",
        lives.len()
    );
    // Records replayed from the spool or fetched again carry the same id: dedup is exact.
    assert!(ids.len() <= records.len());
    assert!(
        !records.is_empty() && dead.keys().any(|(_, r)| r == "malformed_json"),
        "dead letters kept their reason"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_flushes_partial_buffers_and_exits_zero() {
    let emulator = pricelake_emulator::start(
        EmulatorConfig {
            items: 60,
            ..EmulatorConfig::default()
        },
        std::sync::Arc::new(pricelake_core::SystemClock),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = dir.path().join("pricelake.toml");
    // Buffers that would only flush after 15 minutes: what lands, SIGTERM flushed.
    std::fs::write(
        &config,
        format!(
            "[lake]\nurl = \"{}\"\n[delivery]\nspool_dir = \"{}\"\nbuffer_interval_secs = 900\n\
             [sources.walmart]\nbase_url = \"{base}\"\n[sources.currencylayer]\nbase_url = \"{base}\"\n",
            lake.display(),
            dir.path().join("spool").display(),
            base = emulator.base_url(),
        ),
    )
    .unwrap();
    let log = dir.path().join("ingest.log");
    let mut child = spawn_ingest(&config, &log, false);
    // Wait until the first catalog walk is over (every page served), then ask to stop.
    let mut waited = 0;
    while emulator
        .served()
        .items_served_intact("walmart/paginated_items")
        < 60
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
        assert!(waited < 300, "the catalog walk did not finish");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        lake_records(&lake).is_empty(),
        "nothing flushed yet: the buffers wait 15 minutes"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "exit 0 after SIGTERM: {status:?}\n{text}");
    let records = lake_records(&lake);
    let catalog = records
        .iter()
        .filter(|r| matches!(r, LakeRecord::Raw(e) if e.endpoint == "paginated_items"))
        .count();
    assert_eq!(catalog, 60, "every catalog item flushed on the way out");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once_and_the_spool_delivers_on_restart() {
    let emulator = pricelake_emulator::start(
        EmulatorConfig {
            items: 60,
            ..EmulatorConfig::default()
        },
        std::sync::Arc::new(pricelake_core::SystemClock),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    // The lake on the S3-protocol server behind a proxy: up while sources start (they read
    // their checkpoints), then away, so the graceful flush after the first SIGTERM keeps
    // retrying (for `retry_duration_secs`) and only the second signal can end the process.
    let endpoint = crate::support::s3_endpoint();
    let upstream: std::net::SocketAddr = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let proxy = crate::support::StoreProxy::start(upstream).await;
    let bucket = format!("signal-{}", std::process::id());
    crate::support::create_bucket(&endpoint, &bucket).await;
    let source_config = format!(
        "[sources.walmart]\nbase_url = \"{base}\"\n[sources.currencylayer]\nbase_url = \"{base}\"\n",
        base = emulator.base_url()
    );
    let away = dir.path().join("away.toml");
    std::fs::write(
        &away,
        format!(
            "[lake]\nurl = \"s3://{bucket}/lake\"\ns3_endpoint = \"http://{}\"\n\
             s3_allow_http = true\n[delivery]\nspool_dir = \"{}\"\nbuffer_interval_secs = 900\n{source_config}",
            proxy.addr,
            spool.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("first.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pricelake"));
    cmd.arg("--config")
        .arg(&away)
        .arg("ingest")
        .env("PRICELAKE_WALMART_API_KEY", "demo-walmart-key")
        .env("PRICELAKE_CURRENCYLAYER_ACCESS_KEY", "demo-fx-key")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("PRICELAKE_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    let mut waited = 0;
    while emulator
        .served()
        .entries()
        .iter()
        .filter(|e| e.delivered() && !e.item_ids.is_empty())
        .count()
        < 3
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
        assert!(
            waited < 300,
            "nothing was served: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    proxy.down();
    let first_term = Utc::now();
    let term = |pid: u32| {
        assert!(Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success())
    };
    term(child.id());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first signal waits for the flush, which cannot reach the store:\n{}",
        text()
    );
    let asked = std::time::Instant::now();
    term(child.id());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "the second signal exits at once"
    );
    assert_eq!(status.code(), Some(130), "{}", text());
    assert!(text().contains("second signal"), "{}", text());

    // Restarted with a store that answers, the spool delivers what the first life
    // acknowledged: nothing was corrupted by exiting mid-flush.
    let lake = dir.path().join("lake");
    let back = dir.path().join("back.toml");
    std::fs::write(
        &back,
        format!(
            "[lake]\nurl = \"{}\"\n[delivery]\nspool_dir = \"{}\"\n{source_config}",
            lake.display(),
            spool.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("second.log");
    let status = tokio::task::spawn_blocking({
        let back = back.clone();
        let log = log.clone();
        move || spawn_ingest(&back, &log, true).wait().unwrap()
    })
    .await
    .unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // Every item served early enough to be acknowledged before the first signal is there.
    let landed: BTreeSet<(String, u64)> = lake_records(&lake)
        .iter()
        .filter_map(|r| match r {
            LakeRecord::Raw(e) if e.fetched_at < first_term => e.payload["itemId"]
                .as_u64()
                .map(|id| (e.endpoint.clone(), id)),
            _ => None,
        })
        .collect();
    let mut expected = 0;
    for entry in emulator.served().entries() {
        if entry.delivered() && entry.at + ACK_MARGIN < first_term {
            let endpoint = entry.endpoint.split_once('/').map(|(_, e)| e).unwrap_or("");
            for id in &entry.item_ids {
                expected += 1;
                assert!(
                    landed.contains(&(endpoint.to_string(), *id)),
                    "{} item {id} served at {} was acknowledged before the signals but is not in the lake",
                    entry.path,
                    entry.at
                );
            }
        }
    }
    assert!(expected > 0, "items were served before the signals");
    emulator.shutdown().await;
}
