//! `ingest --once` is a cron job: against a store that refuses every request or one that is
//! away it ends, within its retry budget, with a non-zero exit and the reason; it never
//! spins.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{pricelake, KillOnDrop};

/// `ingest --once` on an S3 lake at `endpoint`, sources on the emulator; the config file's
/// `[lake]` gets `extra`.
fn ingest_once(dir: &Path, endpoint: &str, extra: &str, emulator: &str) -> Command {
    let config = dir.join("pricelake.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[lake]
url = "s3://bucket/lake"
s3_endpoint = "{endpoint}"
{extra}
[delivery]
spool_dir = "{spool}"
[sources.walmart]
base_url = "{emulator}"
[sources.currencylayer]
base_url = "{emulator}"
"#,
            spool = dir.join("spool").display(),
        ),
    )
    .unwrap();
    let mut cmd = pricelake();
    cmd.arg("--config")
        .arg(&config)
        .args(["ingest", "--once"])
        .env("PRICELAKE_WALMART_API_KEY", "demo-walmart-key")
        .env("PRICELAKE_CURRENCYLAYER_ACCESS_KEY", "demo-fx-key")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ALLOW_HTTP");
    cmd
}

/// Runs `cmd` for at most `limit`; returns its exit code (None: it had to be killed) and
/// its standard error.
fn run_for(mut cmd: Command, limit: Duration, log: &Path) -> (Option<i32>, String) {
    let mut child = KillOnDrop(
        cmd.stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (code, std::fs::read_to_string(log).unwrap_or_default())
}

async fn emulator() -> pricelake_emulator::RunningEmulator {
    pricelake_emulator::start(
        pricelake_emulator::EmulatorConfig {
            items: 20,
            ..Default::default()
        },
        Arc::new(pricelake_core::SystemClock),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_once_on_a_plain_http_store_without_s3_allow_http_is_a_config_error_naming_it() {
    let emulator = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let cmd = ingest_once(dir.path(), "http://127.0.0.1:9", "", &emulator.base_url());
    let (code, err) = tokio::task::spawn_blocking({
        let log = dir.path().join("refused.log");
        move || run_for(cmd, Duration::from_secs(60), &log)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(2), "a config error, at once:\n{err}");
    assert!(err.contains("s3_allow_http"), "names the setting:\n{err}");
    assert!(
        !err.contains("poll failed"),
        "no poll is tried against a store that refuses them all:\n{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_once_on_a_store_that_is_away_gives_up_with_a_reason_and_never_spins() {
    let emulator = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: every connection refused.
    let away = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cmd = ingest_once(
        dir.path(),
        &format!("http://{away}"),
        "s3_allow_http = true",
        &emulator.base_url(),
    );
    let started = Instant::now();
    let (code, err) = tokio::task::spawn_blocking({
        let log = dir.path().join("away.log");
        move || run_for(cmd, Duration::from_secs(240), &log)
    })
    .await
    .unwrap();
    let took = started.elapsed();
    assert_eq!(code, Some(1), "ended, non-zero, in {took:?}:\n{err}");
    assert!(err.contains("gave up"), "says why:\n{err}");
    assert!(
        err.contains("walmart") && err.contains("currencylayer"),
        "{err}"
    );
    let failed_polls = err.matches("poll failed").count();
    assert!(
        failed_polls <= 2 * 5,
        "a few paced retries per source, not a tight loop: {failed_polls}\n{err}"
    );
    assert!(
        took >= Duration::from_secs(10),
        "the retries were paced: {took:?}"
    );
}
