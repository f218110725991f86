//! `pricelake audit` on a demo lake made with every recoverable fault on: the books
//! balance; take one object away and they do not, and the command says so.

use std::process::Command;

use chrono::{DateTime, Utc};
use pricelake::config::PricelakeConfig;
use pricelake::demo::{run_pipeline, DemoOptions};
use pricelake_emulator::FaultConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_books_balance_with_faults_on_and_a_missing_object_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = PricelakeConfig::default();
    config.emulator.items = 150;
    config.emulator.faults = FaultConfig {
        error_5xx: 0.1,
        truncated: 0.05,
        malformed: 0.05,
        bom: 0.05,
        duplicate: 0.05,
        fault_seed: 5,
        ..FaultConfig::default()
    };
    config.sources.walmart.catalog.count = 25;
    config.sources.walmart.retry.max_attempts = 10;
    config.sources.currencylayer.retry.max_attempts = 10;
    let lake_dir = dir.path().join("lake");
    let outcome = run_pipeline(DemoOptions {
        config,
        start: "2026-02-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        days: 3,
        lake_url: lake_dir.to_string_lossy().into(),
        spool_dir: dir.path().join("spool"),
        wipe: true,
        progress: false,
        process_every_days: 1,
    })
    .await
    .unwrap();
    let summary = outcome.served.summary();
    assert!(
        summary.faults.values().sum::<usize>() > 10,
        "faults were on: {summary:?}"
    );
    let books = pricelake::audit::audit(&outcome.lake, Some(&summary))
        .await
        .unwrap();
    let text = pricelake::audit::render(&books);
    assert!(books.balanced(), "{text}");
    assert!(books.checks.len() >= 8, "{text}");
    // Nothing was interrupted here, so the stricter identities hold too: every item record
    // served intact is one distinct landed record, every cut body and every 5xx is a dead
    // letter of its own.
    let served = books.served.as_ref().expect("served figures");
    for (endpoint, items) in &summary.items_by_endpoint {
        let is_item_endpoint = endpoint
            .strip_prefix("walmart/")
            .is_some_and(|e| pricelake_core::models::walmart::ITEM_ENDPOINTS.contains(&e));
        if is_item_endpoint {
            assert_eq!(
                books.landed.get(endpoint).map_or(0, |l| l.unique),
                *items as u64,
                "{endpoint}: {text}"
            );
        }
    }
    assert_eq!(served.quotes_served, served.quotes_landed, "{text}");
    let dead = |prefix: &str| -> u64 {
        books
            .dead_letters
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, n)| *n)
            .sum()
    };
    assert_eq!(
        served.bodies_cut_or_malformed,
        dead("ingest/malformed_json"),
        "{text}"
    );
    assert_eq!(served.answers_5xx, dead("ingest/http_5"), "{text}");
    assert!(
        books.dead_letters.contains_key("ingest/malformed_json"),
        "{text}"
    );
    assert!(books.dead_letters.contains_key("ingest/http_503"), "{text}");
    assert!(
        books.landed["walmart/paginated_items"].unique > 0
            && books.clean_rows["price_observations"] > 0,
        "{text}"
    );

    let audit_cli = || {
        Command::new(env!("CARGO_BIN_EXE_pricelake"))
            .arg("audit")
            .env_remove("PRICELAKE_CONFIG")
            .env("PRICELAKE_LAKE__URL", &lake_dir)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = audit_cli();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("the books balance"), "{stdout}");

    // One landed catalog object disappears: what was served no longer adds up.
    let objects = outcome
        .lake
        .list("raw/walmart/paginated_items")
        .await
        .unwrap();
    outcome.lake.delete(&objects[0].path).await.unwrap();
    let out = audit_cli();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // The same catalog pages were served again on later days, so every distinct request
    // still has a landed copy; what was processed no longer adds up.
    assert!(
        stdout.contains("[FAIL] item records consumed by processing"),
        "{stdout}"
    );
}
