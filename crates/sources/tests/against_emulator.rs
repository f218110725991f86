//! Sources against the emulator over a real socket, with faults on: nothing lost, nothing hidden.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use pricelake_core::{Clock, LakeRecord, MemorySink, Secret, SimulatedClock};
use pricelake_emulator::{start, EmulatorConfig, FaultConfig};
use pricelake_sources::{
    build_sources, MemoryCheckpoints, SourceHealth, SourceSecrets, SourcesConfig,
};

fn secrets() -> SourceSecrets {
    SourceSecrets {
        walmart_api_key: Some(Secret::new("demo-walmart-key")),
        currencylayer_access_key: Some(Secret::new("demo-fx-key")),
        apilayer_apikey: Some(Secret::new("demo-apilayer-key")),
        ..SourceSecrets::default()
    }
}

#[tokio::test]
async fn with_faults_every_served_item_is_landed_or_dead_lettered() {
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap());
    let faults = FaultConfig {
        error_5xx: 0.15,
        malformed: 0.15,
        truncated: 0.1,
        bom: 0.1,
        fault_seed: 3,
        ..FaultConfig::default()
    };
    let emulator = emulate(
        EmulatorConfig {
            items: 300,
            faults,
            ..EmulatorConfig::default()
        },
        &clock,
    )
    .await;
    let mut config = SourcesConfig::default();
    config.walmart.base_url = emulator.base_url();
    config.walmart.catalog.count = 50;
    config.walmart.retry.max_attempts = 8;
    config.currencylayer.base_url = emulator.base_url();
    let sink = MemorySink::new();
    let mut sources = build_sources(
        &config,
        &secrets(),
        clock.clone(),
        pricelake_core::Metrics::new(),
        Arc::new(MemoryCheckpoints::default()),
    )
    .unwrap();
    // Two simulated days of polling.
    let end = clock.now() + chrono::Duration::days(2);
    loop {
        let next = sources.iter().map(|s| s.next_due()).min().unwrap();
        if next >= end {
            break;
        }
        clock.advance_to(next);
        for s in sources.iter_mut().filter(|s| s.next_due() <= clock.now()) {
            s.poll(&sink).await.unwrap();
        }
    }
    let records = sink.records();
    let served = emulator.served();
    for endpoint in ["trends", "paginated_items"] {
        let landed = records
            .iter()
            .filter(|r| matches!(r, LakeRecord::Raw(e) if e.endpoint == endpoint))
            .count();
        assert_eq!(
            served.items_served_intact(&format!("walmart/{endpoint}")),
            landed,
            "{endpoint}: every intact item landed once"
        );
    }
    let dead: Vec<&str> = records
        .iter()
        .filter_map(|r| match r {
            LakeRecord::DeadLetter(d) => Some(d.reason.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        dead.contains(&"malformed_json"),
        "malformed bodies are kept: {dead:?}"
    );
    assert!(dead.contains(&"http_503"), "5xx bodies are kept: {dead:?}");
    let corrupted = served
        .entries()
        .iter()
        .filter(|e| matches!(e.fault.as_deref(), Some("malformed" | "truncated")))
        .count();
    assert_eq!(
        dead.iter().filter(|r| **r == "malformed_json").count(),
        corrupted,
        "one dead letter per corrupted body"
    );
    // Secrets never reach the records.
    let text = serde_json::to_string(&records).unwrap();
    assert!(!text.contains("demo-walmart-key") && !text.contains("demo-fx-key"));
    assert!(sources.iter().all(|s| s.health() == SourceHealth::Healthy));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_bad_key_stops_the_source_with_a_clear_reason() {
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap());
    let emulator = emulate(
        EmulatorConfig {
            items: 50,
            ..EmulatorConfig::default()
        },
        &clock,
    )
    .await;
    let mut config = SourcesConfig::default();
    config.walmart.enabled = false;
    config.currencylayer.base_url = emulator.base_url();
    let secrets = SourceSecrets {
        currencylayer_access_key: Some(Secret::new("wrong")),
        ..secrets()
    };
    let mut sources = build_sources(
        &config,
        &secrets,
        clock.clone(),
        pricelake_core::Metrics::new(),
        Arc::new(MemoryCheckpoints::default()),
    )
    .unwrap();
    sources[0].poll(&MemorySink::new()).await.unwrap();
    match sources[0].health() {
        SourceHealth::Stopped { reason } => {
            assert!(reason.contains("101"), "{reason}");
            assert!(!reason.contains("wrong"), "the key is not in the message");
        }
        other => panic!("expected stopped, got {other:?}"),
    }
    emulator.shutdown().await;
}

#[test]
fn an_enabled_source_without_its_key_names_the_variable() {
    let clock: pricelake_core::SharedClock = Arc::new(pricelake_core::SystemClock);
    let err = build_sources(
        &SourcesConfig::default(),
        &SourceSecrets::default(),
        clock,
        pricelake_core::Metrics::new(),
        Arc::new(MemoryCheckpoints::default()),
    )
    .err()
    .unwrap();
    assert!(err.is_config());
    assert!(err.to_string().contains("PRICELAKE_WALMART_API_KEY"));
}

/// Polls every source whenever it is due until simulated `end`.
async fn drive(
    sources: &mut [Box<dyn pricelake_sources::Source>],
    clock: &SimulatedClock,
    sink: &dyn pricelake_core::RecordSink,
    end: chrono::DateTime<Utc>,
) {
    loop {
        let next = sources.iter().map(|s| s.next_due()).min().unwrap();
        if next >= end {
            break;
        }
        clock.advance_to(next.max(clock.now()));
        for s in sources.iter_mut().filter(|s| s.next_due() <= clock.now()) {
            s.poll(sink).await.unwrap();
        }
    }
}

fn raw_of<'a>(
    records: &'a [LakeRecord],
    endpoint: &str,
) -> Vec<&'a pricelake_core::RecordEnvelope> {
    records
        .iter()
        .filter_map(|r| match r {
            LakeRecord::Raw(e) if e.endpoint == endpoint => Some(e),
            _ => None,
        })
        .collect()
}

fn dead_reasons(records: &[LakeRecord]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            LakeRecord::DeadLetter(d) => Some(d.reason.clone()),
            _ => None,
        })
        .collect()
}

/// The emulator on a free local port, on the test's clock.
async fn emulate(
    config: EmulatorConfig,
    clock: &Arc<SimulatedClock>,
) -> pricelake_emulator::RunningEmulator {
    start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn walmart_only() -> SourcesConfig {
    let mut config = SourcesConfig::default();
    config.currencylayer.enabled = false;
    config
}

fn fx_only() -> SourcesConfig {
    let mut config = SourcesConfig::default();
    config.walmart.enabled = false;
    config
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()
}

fn build(
    config: &SourcesConfig,
    secrets: &SourceSecrets,
    clock: &Arc<SimulatedClock>,
    checkpoints: Arc<dyn pricelake_sources::CheckpointStore>,
) -> Vec<Box<dyn pricelake_sources::Source>> {
    build_sources(
        config,
        secrets,
        clock.clone(),
        pricelake_core::Metrics::new(),
        checkpoints,
    )
    .unwrap()
}

/// A fresh RSA key pair: (private PEM file, public PEM text).
fn key_pair(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, String) {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
    let path = dir.join(name);
    std::fs::write(
        &path,
        private.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    let public = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (path, public)
}

#[tokio::test]
async fn walmart_v2_signs_every_request_and_a_wrong_key_stops_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let (good_key, public) = key_pair(dir.path(), "good.pem");
    let (bad_key, _) = key_pair(dir.path(), "bad.pem");
    let clock = SimulatedClock::shared(t0());
    let emulator = emulate(
        EmulatorConfig {
            items: 120,
            walmart_public_key_pem: Some(public),
            ..EmulatorConfig::default()
        },
        &clock,
    )
    .await;
    let mut config = walmart_only();
    config.walmart.api = pricelake_sources::WalmartApi::V2;
    config.walmart.base_url = emulator.base_url();
    config.walmart.catalog.count = 50;
    let catalog = pricelake_emulator::Catalog::generate(42, 120);
    config.walmart.tracked_item_ids = catalog.item_ids()[..25].to_vec();
    let upc = catalog.item(catalog.item_ids()[30], t0()).unwrap()["upc"]
        .as_str()
        .unwrap()
        .to_string();
    config.walmart.tracked_upcs = vec![upc.clone()];
    config.walmart.search.queries = vec!["a".into()]; // matches most names
    config.walmart.search.max_results = 60;
    let env = |key: &std::path::Path| {
        let key = key.display().to_string();
        SourceSecrets::from_lookup(move |var| match var {
            "PRICELAKE_WALMART_CONSUMER_ID" => Some("demo-consumer".into()),
            "PRICELAKE_WALMART_PRIVATE_KEY_FILE" => Some(key.clone()),
            _ => None,
        })
        .unwrap()
    };
    let sink = MemorySink::new();
    let mut sources = build(
        &config,
        &env(&good_key),
        &clock,
        Arc::new(MemoryCheckpoints::default()),
    );
    drive(
        &mut sources,
        &clock,
        &sink,
        t0() + chrono::Duration::hours(1),
    )
    .await;
    let records = sink.records();
    let served = emulator.served();
    assert!(served.entries().iter().all(|e| e.status == 200));
    assert!(served
        .entries()
        .iter()
        .all(|e| e.api == pricelake_emulator::Api::WalmartV2));
    for endpoint in ["trends", "paginated_items", "items", "search"] {
        let landed = raw_of(&records, endpoint).len();
        assert!(landed > 0, "{endpoint} landed");
        assert_eq!(
            served.items_served_intact(&format!("walmart/{endpoint}")),
            landed,
            "{endpoint}"
        );
    }
    assert!(
        raw_of(&records, "paginated_items").iter().all(|e| e
            .request_url
            .contains("/api-proxy/service/affil/product/v2/")),
        "v2 paths, nextPage followed on the v2 prefix"
    );
    let items = raw_of(&records, "items");
    assert_eq!(
        items.len(),
        26,
        "25 ids in two batches of at most 20, and one UPC"
    );
    assert!(items.iter().any(|e| e.payload["upc"] == upc.as_str()));
    let item_requests: Vec<String> = served
        .entries()
        .iter()
        .filter(|e| e.endpoint == "walmart/items")
        .map(|e| e.path.clone())
        .collect();
    assert_eq!(item_requests.len(), 3, "{item_requests:?}");
    let searches: Vec<String> = served
        .entries()
        .iter()
        .filter(|e| e.endpoint == "walmart/search")
        .map(|e| e.path.clone())
        .collect();
    assert!(
        searches.len() >= 2 && searches[1].contains("start=26"),
        "search paged through start: {searches:?}"
    );
    assert_eq!(sources[0].health(), SourceHealth::Healthy);

    // Signed with another key: 401, the source stops and says why.
    let mut sources = build(
        &config,
        &env(&bad_key),
        &clock,
        Arc::new(MemoryCheckpoints::default()),
    );
    sources[0].poll(&MemorySink::new()).await.unwrap();
    match sources[0].health() {
        SourceHealth::Stopped { reason } => assert!(reason.contains("401"), "{reason}"),
        other => panic!("expected stopped, got {other:?}"),
    }
    // Missing consumer id: a config error naming the variable.
    let err = build_sources(
        &config,
        &SourceSecrets::default(),
        clock.clone(),
        pricelake_core::Metrics::new(),
        Arc::new(MemoryCheckpoints::default()),
    )
    .err()
    .unwrap();
    assert!(err.is_config() && err.to_string().contains("PRICELAKE_WALMART_CONSUMER_ID"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn answers_429_are_retried_after_retry_after_and_nothing_is_lost() {
    let clock = SimulatedClock::shared(t0());
    let emulator = emulate(
        EmulatorConfig {
            items: 200,
            rate_limit_per_sec: Some(2),
            ..EmulatorConfig::default()
        },
        &clock,
    )
    .await;
    let mut config = walmart_only();
    config.walmart.base_url = emulator.base_url();
    config.walmart.catalog.count = 20;
    // Faster than the service allows: it will answer 429.
    config.walmart.rate_limit_per_sec = 50.0;
    config.walmart.retry.max_attempts = 10;
    let sink = MemorySink::new();
    let mut sources = build(
        &config,
        &secrets(),
        &clock,
        Arc::new(MemoryCheckpoints::default()),
    );
    drive(
        &mut sources,
        &clock,
        &sink,
        t0() + chrono::Duration::hours(2),
    )
    .await;
    let served = emulator.served();
    let too_many = served.entries().iter().filter(|e| e.status == 429).count();
    assert!(too_many > 0, "the emulator limited the rate");
    let records = sink.records();
    assert_eq!(
        dead_reasons(&records)
            .iter()
            .filter(|r| *r == "http_429")
            .count(),
        too_many,
        "every 429 body is kept as a dead letter with its reason"
    );
    let landed = raw_of(&records, "paginated_items").len();
    assert_eq!(
        served.items_served_intact("walmart/paginated_items"),
        landed
    );
    assert_eq!(landed, 200, "the whole catalog, once");
    assert_eq!(sources[0].health(), SourceHealth::Healthy);
    emulator.shutdown().await;
}

#[tokio::test]
async fn restarted_mid_pagination_the_catalog_resumes_without_skipping_a_page() {
    let clock = SimulatedClock::shared(t0());
    let emulator = emulate(
        EmulatorConfig {
            items: 300,
            ..EmulatorConfig::default()
        },
        &clock,
    )
    .await;
    let mut config = walmart_only();
    config.walmart.base_url = emulator.base_url();
    config.walmart.catalog.count = 10;
    config.walmart.trends_interval_secs = 0;
    config.walmart.vod_interval_secs = 0;
    config.walmart.taxonomy_interval_secs = 0;
    let checkpoints: Arc<dyn pricelake_sources::CheckpointStore> =
        Arc::new(MemoryCheckpoints::default());
    let sink = MemorySink::new();
    // First life: taxonomy plus a few pages, then the process "dies".
    let mut sources = build(&config, &secrets(), &clock, checkpoints.clone());
    for _ in 0..7 {
        clock.advance_to(sources[0].next_due().max(clock.now()));
        sources[0].poll(&sink).await.unwrap();
    }
    drop(sources);
    let pages_before = emulator
        .served()
        .entries()
        .iter()
        .filter(|e| e.endpoint == "walmart/paginated_items")
        .count();
    assert!(
        pages_before >= 5,
        "stopped mid-walk after {pages_before} pages"
    );
    // Second life, same checkpoints: it goes on from the saved cursor.
    let mut sources = build(&config, &secrets(), &clock, checkpoints);
    drive(
        &mut sources,
        &clock,
        &sink,
        t0() + chrono::Duration::hours(12),
    )
    .await;
    let paths: Vec<String> = emulator
        .served()
        .entries()
        .iter()
        .filter(|e| e.endpoint == "walmart/paginated_items")
        .map(|e| e.path.clone())
        .collect();
    let unique: std::collections::BTreeSet<&String> = paths.iter().collect();
    assert_eq!(
        unique.len(),
        paths.len(),
        "no page fetched twice: {paths:?}"
    );
    let records = sink.records();
    let ids: std::collections::BTreeSet<u64> = raw_of(&records, "paginated_items")
        .iter()
        .map(|e| e.payload["itemId"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        300,
        "every item of the catalog landed: no page skipped"
    );
    assert_eq!(
        raw_of(&records, "paginated_items").len(),
        300,
        "and none twice"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn quota_error_104_backs_off_and_resumes_when_the_quota_resets() {
    let clock = SimulatedClock::shared(t0());
    let emulator = emulate(
        EmulatorConfig {
            items: 10,
            fx_daily_quota: Some(5),
            ..EmulatorConfig::default()
        },
        &clock,
    )
    .await;
    let mut config = fx_only();
    config.currencylayer.base_url = emulator.base_url();
    config.currencylayer.quota_backoff_secs = 6 * 3600;
    config.currencylayer.unhealthy_after_failures = 1;
    let sink = MemorySink::new();
    let mut sources = build(
        &config,
        &secrets(),
        &clock,
        Arc::new(MemoryCheckpoints::default()),
    );
    // The list call plus four hourly lives use the day's five requests; the sixth gets 104.
    let mut polls = 0;
    while !matches!(sources[0].health(), SourceHealth::Unhealthy { .. }) {
        clock.advance_to(sources[0].next_due().max(clock.now()));
        sources[0].poll(&sink).await.unwrap();
        polls += 1;
        assert!(polls < 20, "the quota error never came");
    }
    let hit = clock.now();
    match sources[0].health() {
        SourceHealth::Unhealthy { reason, .. } => assert!(reason.contains("104"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(
        sources[0].next_due() >= hit + chrono::Duration::hours(6),
        "backs off for the configured time"
    );
    assert!(
        dead_reasons(&sink.records()).is_empty(),
        "a quota error is not data: no dead letter"
    );
    // The next day the quota is fresh: quotes land again and the source is healthy.
    drive(
        &mut sources,
        &clock,
        &sink,
        t0() + chrono::Duration::minutes(28 * 60 + 30),
    )
    .await;
    assert_eq!(sources[0].health(), SourceHealth::Healthy);
    let live_days: std::collections::BTreeSet<_> = raw_of(&sink.records(), "live")
        .iter()
        .map(|e| e.fetched_at.date_naive())
        .collect();
    assert_eq!(live_days.len(), 2, "rates on both days: {live_days:?}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_apilayer_variant_sends_its_key_as_a_header_and_lists_currencies() {
    let clock = SimulatedClock::shared(t0());
    let emulator = emulate(
        EmulatorConfig {
            items: 10,
            ..EmulatorConfig::default()
        },
        &clock,
    )
    .await;
    let mut config = fx_only();
    config.currencylayer.variant = pricelake_sources::CurrencylayerVariant::Apilayer;
    config.currencylayer.base_url = emulator.base_url();
    let sink = MemorySink::new();
    let mut sources = build(
        &config,
        &secrets(),
        &clock,
        Arc::new(MemoryCheckpoints::default()),
    );
    drive(
        &mut sources,
        &clock,
        &sink,
        t0() + chrono::Duration::hours(3),
    )
    .await;
    let records = sink.records();
    let live = raw_of(&records, "live");
    assert_eq!(live.len(), 3, "hourly");
    assert!(live
        .iter()
        .all(|e| e.request_url.contains("/currency_data/live")));
    assert!(live
        .iter()
        .all(|e| !e.request_url.contains("demo-apilayer-key")));
    let quotes = live[0].payload["quotes"].as_object().unwrap();
    assert_eq!(quotes.len(), 10, "the ten configured currencies");
    assert_eq!(
        raw_of(&records, "list").len(),
        1,
        "the currency list, once a week"
    );
    assert!(raw_of(&records, "list")[0].payload["currencies"]["EUR"].is_string());
    assert!(emulator
        .served()
        .entries()
        .iter()
        .all(|e| e.api == pricelake_emulator::Api::CurrencyData && e.status == 200));

    // Any other apilayer error (202: a currency code it does not know) is a dead letter
    // with its code as the reason, and the source carries on.
    let mut bad_codes = config.clone();
    bad_codes.currencylayer.currencies = vec!["EUR".into(), "XXX".into()];
    bad_codes.currencylayer.list_interval_secs = 0;
    let sink = MemorySink::new();
    let mut sources = build(
        &bad_codes,
        &secrets(),
        &clock,
        Arc::new(MemoryCheckpoints::default()),
    );
    sources[0].poll(&sink).await.unwrap();
    assert_eq!(dead_reasons(&sink.records()), ["api_error_202"]);
    assert!(!matches!(sources[0].health(), SourceHealth::Stopped { .. }));

    // A wrong key: the marketplace answers 401 and the source stops.
    let wrong = SourceSecrets {
        apilayer_apikey: Some(Secret::new("wrong")),
        ..secrets()
    };
    let mut sources = build(
        &config,
        &wrong,
        &clock,
        Arc::new(MemoryCheckpoints::default()),
    );
    sources[0].poll(&MemorySink::new()).await.unwrap();
    assert!(matches!(sources[0].health(), SourceHealth::Stopped { .. }));
    emulator.shutdown().await;
}

#[tokio::test]
async fn backfill_chunks_timeframe_to_365_days_resumes_and_falls_back_to_historical() {
    use chrono::NaiveDate;
    let clock = SimulatedClock::shared(t0());
    let emulator = emulate(
        EmulatorConfig {
            items: 10,
            ..EmulatorConfig::default()
        },
        &clock,
    )
    .await;
    let mut config = fx_only();
    config.currencylayer.base_url = emulator.base_url();
    config.currencylayer.currencies = vec!["EUR".into(), "GBP".into()];
    let from = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    let days = (to - from).num_days() as usize + 1;
    let checkpoints: Arc<dyn pricelake_sources::CheckpointStore> =
        Arc::new(MemoryCheckpoints::default());
    let sink = MemorySink::new();
    let report = pricelake_sources::backfill_fx(
        &config.currencylayer,
        &secrets(),
        from,
        to,
        clock.clone(),
        pricelake_core::Metrics::new(),
        &sink,
        checkpoints.clone(),
    )
    .await
    .unwrap();
    let served = emulator.served().entries();
    let chunks: Vec<&str> = served
        .iter()
        .filter(|e| e.endpoint == "currencylayer/timeframe")
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(chunks.len(), 2, "455 days in two requests: {chunks:?}");
    assert!(
        chunks[0].contains("start_date=2025-01-01") && chunks[0].contains("end_date=2025-12-31")
    );
    assert!(
        chunks[1].contains("start_date=2026-01-01") && chunks[1].contains("end_date=2026-03-31")
    );
    let quotes: usize = raw_of(&sink.records(), "timeframe")
        .iter()
        .map(|e| e.payload["quotes"].as_object().unwrap().len())
        .sum();
    assert_eq!(quotes, days, "one quote set per day");
    assert_eq!(report.records, 2);
    // Run again: the checkpoint says it is done, no request is made.
    let before = emulator.served().len();
    pricelake_sources::backfill_fx(
        &config.currencylayer,
        &secrets(),
        from,
        to,
        clock.clone(),
        pricelake_core::Metrics::new(),
        &sink,
        checkpoints,
    )
    .await
    .unwrap();
    assert_eq!(
        emulator.served().len(),
        before,
        "resumed after the last chunk"
    );
    emulator.shutdown().await;

    // A plan without timeframe (105): day by day from historical.
    let emulator = emulate(
        EmulatorConfig {
            items: 10,
            fx_timeframe_on_plan: false,
            ..EmulatorConfig::default()
        },
        &clock,
    )
    .await;
    config.currencylayer.base_url = emulator.base_url();
    let sink = MemorySink::new();
    let to = NaiveDate::from_ymd_opt(2025, 1, 10).unwrap();
    pricelake_sources::backfill_fx(
        &config.currencylayer,
        &secrets(),
        from,
        to,
        clock.clone(),
        pricelake_core::Metrics::new(),
        &sink,
        Arc::new(MemoryCheckpoints::default()),
    )
    .await
    .unwrap();
    let records = sink.records();
    let historical = raw_of(&records, "historical");
    assert_eq!(historical.len(), 10, "one historical call per day");
    let dates: std::collections::BTreeSet<&str> = historical
        .iter()
        .map(|e| e.payload["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates.len(), 10);
    emulator.shutdown().await;
}
