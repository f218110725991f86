//! Helpers shared by the end-to-end tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The S3-protocol server `scripts/test` starts.
pub fn s3_endpoint() -> String {
    std::env::var("PRICELAKE_TEST_S3_ENDPOINT").expect(
        "PRICELAKE_TEST_S3_ENDPOINT is not set: run the tests through `bash scripts/test`, \
         which starts an S3-protocol server (moto) on 127.0.0.1",
    )
}

/// Creates a bucket with a plain `PUT /bucket` (what S3's CreateBucket is).
pub async fn create_bucket(endpoint: &str, bucket: &str) {
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "bucket {bucket}: {}",
        created.status()
    );
}

/// A TCP proxy in front of the S3 server that can be switched off: while it is down,
/// open connections are cut and new ones are closed at once, as when a store goes away.
pub struct StoreProxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl StoreProxy {
    pub async fn start(upstream: SocketAddr) -> StoreProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let proxy = StoreProxy {
            addr,
            up: up.clone(),
            cut: cut.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cuts = cut.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {},
                        _ = cuts.changed() => {},
                    }
                });
            }
        });
        proxy
    }

    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    pub fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// The test environment's Python (`scripts/test` makes it, with pyarrow, DuckDB, Playwright).
pub fn python() -> PathBuf {
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-env/venv/bin/python");
    std::env::var("PRICELAKE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or(venv)
}

/// A small demo lake (3 days, 200 items) made by the binary in `dir`, for tests that need
/// a processed lake on disk: one process run.
pub fn demo_lake(dir: &Path) -> PathBuf {
    demo_lake_of(dir, 3, 200)
}

/// A demo lake of `days` days and `items` items made by the binary in `dir` (the demo
/// processes every 10 days and at the end: 12 days make two runs).
pub fn demo_lake_of(dir: &Path, days: u32, items: u32) -> PathBuf {
    let lake = dir.join("lake");
    let out = Command::new(env!("CARGO_BIN_EXE_pricelake"))
        .env_remove("PRICELAKE_CONFIG")
        .env_remove("PRICELAKE_MONGODB_URI")
        .current_dir(dir)
        .args([
            "demo",
            "--no-serve",
            "--days",
            &days.to_string(),
            "--items",
            &items.to_string(),
            "--lake",
        ])
        .arg(&lake)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    lake
}

/// A child process killed (and reaped) when the test lets go of it, panicking or not: a
/// failed assertion must not leave a `pricelake` running after the test.
pub struct KillOnDrop(pub Child);

impl std::ops::Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The binary under test, run from the temporary folder with no config file or MongoDB from
/// the caller's environment.
pub fn pricelake() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pricelake"));
    cmd.env_remove("PRICELAKE_CONFIG")
        .env_remove("PRICELAKE_MONGODB_URI")
        .current_dir(std::env::temp_dir());
    cmd
}

/// The small fixture's catalog with two currencies: the config of the tests that serve a
/// processed lake and look at its answers.
pub fn small_catalog_config() -> pricelake::config::PricelakeConfig {
    let mut config = pricelake::config::PricelakeConfig::default();
    config.emulator.fixture =
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../emulator/fixtures/small.json"));
    config.sources.currencylayer.currencies = vec!["EUR".into(), "GBP".into()];
    config.transform.currencies = vec!["EUR".into(), "GBP".into()];
    config
}

/// Three days of `config` from 2026-01-01 ingested and processed (every two days) into a
/// lake under `dir`, then served from that lake on a free port of 127.0.0.1: its base URL.
pub async fn serve_three_days(dir: &Path, config: pricelake::config::PricelakeConfig) -> String {
    let outcome = pricelake::demo::run_pipeline(pricelake::demo::DemoOptions {
        config,
        start: "2026-01-01T00:00:00Z".parse().unwrap(),
        days: 3,
        lake_url: dir.join("lake").to_string_lossy().into(),
        spool_dir: dir.join("spool"),
        wipe: true,
        progress: false,
        process_every_days: 2,
    })
    .await
    .unwrap();
    let state = pricelake_serve::ServeState::new(
        outcome.lake,
        pricelake_serve::ServeConfig::default(),
        outcome.metrics,
        None,
    )
    .await
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(pricelake_serve::serve(
        state,
        listener,
        std::future::pending(),
    ));
    base
}

/// Starts `pricelake serve` on `lake` (from the lake, on a free port, with `args` too) and
/// waits for `/readyz`: the process (killed when dropped) and its base URL.
pub async fn serve_lake(lake: &Path, args: &[&str]) -> (KillOnDrop, String) {
    use std::io::{BufRead, BufReader};
    let mut child = KillOnDrop(
        pricelake()
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .env("PRICELAKE_LAKE__URL", lake)
            .env("PRICELAKE_SERVE__SOURCE", "lake")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("serve printed no URL: {line:?}"))
        .trim_end_matches('/')
        .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "/readyz never answered 200"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    (child, base)
}

/// Every file under `dir` (the tables' `_delta_log/` left out with `data_only`), as paths
/// relative to `dir`.
pub fn files_under(dir: &Path, data_only: bool) -> Vec<PathBuf> {
    fn walk(dir: &Path, root: &Path, data_only: bool, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if data_only && path.ends_with("_delta_log") {
                continue;
            }
            if path.is_dir() {
                walk(&path, root, data_only, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, data_only, &mut out);
    out
}

/// Runs a `--json` command, asserts it succeeded (showing its stderr if not) and returns what
/// it printed.
pub fn json_of(command: &mut Command) -> serde_json::Value {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
