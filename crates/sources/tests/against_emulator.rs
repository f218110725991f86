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
    let emulator = start(
        EmulatorConfig {
            items: 300,
            faults,
            ..EmulatorConfig::default()
        },
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
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
    let emulator = start(
        EmulatorConfig {
            items: 50,
            ..EmulatorConfig::default()
        },
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
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
