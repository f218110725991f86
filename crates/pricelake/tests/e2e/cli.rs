//! The binary's surface: help with examples, exit codes, config errors that name the field.

use crate::support::pricelake;

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in [
        "emulate",
        "ingest",
        "process",
        "publish",
        "serve",
        "run",
        "demo",
        "status",
        "audit",
        "cluster",
        "cluster scheduler",
        "cluster executor",
    ] {
        let out = pricelake()
            .args(sub.split(' '))
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{sub} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example"),
            "{sub} --help shows an example:\n{text}"
        );
    }
    // `serve` serves from MongoDB when it is configured: its help says so.
    let out = pricelake().args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("MongoDB"), "{text}");
}

#[test]
fn a_missing_config_file_says_why_once() {
    let out = pricelake()
        .args(["--config", "/no/such/pricelake.toml", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/no/such/pricelake.toml"), "{err}");
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "the OS error once: {err}"
    );
}

#[test]
fn an_impossible_bind_and_a_bad_mongodb_uri_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir(&lake).unwrap();
    for bind in ["not-an-address", "203.0.113.7:8080"] {
        let out = pricelake()
            .args(["serve", "--bind", bind])
            .env("PRICELAKE_LAKE__URL", &lake)
            .env("PRICELAKE_SERVE__SOURCE", "lake")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--bind {bind}: {err}");
        assert!(err.contains("serve.bind"), "names the field: {err}");
    }
    let secret_uri = "mongodb//user:hunter2@db.example:27017";
    for command in [&["publish"][..], &["serve", "--bind", "127.0.0.1:0"][..]] {
        let out = pricelake()
            .args(command)
            .env("PRICELAKE_LAKE__URL", &lake)
            .env("PRICELAKE_MONGODB_URI", secret_uri)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {err}");
        assert!(
            err.contains("PRICELAKE_MONGODB_URI"),
            "names the variable: {err}"
        );
        assert!(!err.contains("hunter2"), "never the password: {err}");
    }
}

#[test]
fn bad_usage_and_bad_config_exit_with_2() {
    let out = pricelake().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[delivery]\nbuffer_size_mib = \"lots\"\n").unwrap();
    let out = pricelake()
        .args(["--config", config.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("delivery.buffer_size_mib"),
        "names the field: {err}"
    );

    std::fs::write(&config, "[delivery]\nbuffer_size_mib = 500\n").unwrap();
    let out = pricelake()
        .args(["--config", config.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "out of range");

    // An enabled source without its key: exit 2, naming the variable, never a secret.
    let lake = dir.path().join("lake");
    let out = pricelake()
        .args(["ingest", "--once"])
        .env("PRICELAKE_LAKE__URL", lake.to_str().unwrap())
        .env_remove("PRICELAKE_WALMART_API_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PRICELAKE_WALMART_API_KEY"));
}

#[test]
fn status_of_a_missing_lake_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = pricelake()
        .arg("status")
        .env(
            "PRICELAKE_LAKE__URL",
            dir.path().join("lake").to_str().unwrap(),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("there is no lake at"), "{said}");
    assert!(
        !dir.path().join("lake").exists(),
        "status created the lake it was asked about"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_a_failing_source_as_unhealthy_while_the_other_runs() {
    let emulator = pricelake_emulator::start(
        pricelake_emulator::EmulatorConfig {
            items: 20,
            ..Default::default()
        },
        std::sync::Arc::new(pricelake_core::SystemClock),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    // A port nobody listens on: Walmart fails every poll.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pricelake.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[lake]
url = "{lake}"
[delivery]
spool_dir = "{spool}"
[sources.walmart]
base_url = "{dead_url}"
unhealthy_after_failures = 2
[sources.walmart.retry]
max_attempts = 1
[sources.currencylayer]
base_url = "{fx}"
"#,
            lake = dir.path().join("lake").display(),
            spool = dir.path().join("spool").display(),
            fx = emulator.base_url(),
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut cmd = pricelake();
        cmd.arg("--config")
            .arg(&config)
            .args(args)
            .env("PRICELAKE_WALMART_API_KEY", "demo-walmart-key")
            .env("PRICELAKE_CURRENCYLAYER_ACCESS_KEY", "demo-fx-key");
        cmd
    };
    let out = tokio::task::spawn_blocking({
        let mut cmd = run(&["ingest", "--once"]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "one failing source does not stop ingest: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["status"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("source walmart: UNHEALTHY"),
        "the failing source is named unhealthy:\n{text}"
    );
    assert!(text.contains("source currencylayer: healthy"), "{text}");
    let delivery = text
        .lines()
        .find(|l| l.contains("delivery:"))
        .unwrap_or_else(|| panic!("delivery books shown:\n{text}"));
    assert!(
        delivery.contains("2 records received, 0 replayed from the spool, 2 delivered")
            && delivery.contains("spool 0 bytes"),
        "the list and the live rates, delivered: {delivery}"
    );
    assert!(!text.contains("demo-walmart-key") && !text.contains("demo-fx-key"));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_backfill_lands_fx_history_for_the_range_and_a_rerun_fetches_nothing() {
    let emulator = pricelake_emulator::start(
        pricelake_emulator::EmulatorConfig {
            items: 20,
            ..Default::default()
        },
        std::sync::Arc::new(pricelake_core::SystemClock),
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
url = "{lake}"
[delivery]
spool_dir = "{spool}"
[sources.walmart]
enabled = false
[sources.currencylayer]
base_url = "{fx}"
"#,
            lake = dir.path().join("lake").display(),
            spool = dir.path().join("spool").display(),
            fx = emulator.base_url(),
        ),
    )
    .unwrap();
    let backfill = |config: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            pricelake()
                .arg("--config")
                .arg(&config)
                .args(["ingest", "--backfill", "2025-01-01..2026-02-28"])
                .env("PRICELAKE_CURRENCYLAYER_ACCESS_KEY", "demo-fx-key")
                .output()
                .unwrap()
        })
    };
    let out = backfill(config.clone()).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 424 days: two timeframe requests of at most 365 days each.
    assert!(
        text.contains("backfill 2025-01-01..2026-02-28: 2 requests"),
        "{text}"
    );
    let timeframe = dir.path().join("lake/raw/currencylayer/timeframe");
    assert!(timeframe.is_dir(), "the history landed under {timeframe:?}");
    let out = backfill(config.clone()).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("backfill 2025-01-01..2026-02-28: 0 requests, 0 records"),
        "the checkpoint says the range is done: {text}"
    );
    emulator.shutdown().await;
}
