//! Contract tests: the emulator answers like the real services, over a real socket.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use pricelake_core::SimulatedClock;
use pricelake_emulator::{start, EmulatorConfig, FaultConfig, RunningEmulator};
use serde_json::Value;

async fn emulator(config: EmulatorConfig) -> (RunningEmulator, Arc<SimulatedClock>) {
    let clock = SimulatedClock::shared(Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap());
    let running = start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (running, clock)
}

async fn get(url: String) -> (u16, Value) {
    let response = reqwest::get(&url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn small() -> EmulatorConfig {
    EmulatorConfig {
        items: 450,
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn walmart_v1_endpoints_answer_in_their_real_shapes() {
    let (emu, _) = emulator(small()).await;
    let base = emu.base_url();
    let key = "apiKey=demo-walmart-key";
    let (s, trends) = get(format!("{base}/v1/trends?{key}")).await;
    assert_eq!(s, 200);
    assert_eq!(trends["items"].as_array().unwrap().len(), 25);
    assert!(trends["time"].as_i64().unwrap() > 0);
    let first = &trends["items"][0];
    assert!(first["itemId"].is_u64() && first["salePrice"].is_f64());
    assert!(
        first.get("customerRating").is_none_or(|r| r.is_string()),
        "rating must be a string"
    );

    let (s, vod) = get(format!("{base}/v1/vod?{key}")).await;
    assert_eq!(s, 200);
    assert!(vod["itemId"].is_u64());

    let (_, tax) = get(format!("{base}/v1/taxonomy?{key}")).await;
    let cats = tax["categories"].as_array().unwrap();
    assert!(cats.len() >= 8);
    assert!(cats[0]["children"][0]["id"].as_str().unwrap().contains('_'));

    // Paginate one department to the end: every item exactly once.
    let dept = cats[0]["id"].as_str().unwrap().to_string();
    let mut next = Some(format!("/v1/paginated/items?category={dept}&count=20"));
    let mut seen = Vec::new();
    while let Some(path) = next {
        let (s, page) = get(format!("{base}{path}&{key}")).await;
        assert_eq!(s, 200);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["itemId"].as_u64().unwrap()),
        );
        next = page["nextPage"].as_str().map(str::to_string);
    }
    let unique: std::collections::BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len());
    assert!(seen.len() > 20, "the department spans several pages");

    let id = seen[0];
    let (s, items) = get(format!("{base}/v1/items?ids={id}&{key}")).await;
    assert_eq!((s, items["items"][0]["itemId"].as_u64()), (200, Some(id)));
    let (s, err) = get(format!("{base}/v1/items/1?{key}")).await;
    assert_eq!((s, err["errors"][0]["code"].as_u64()), (400, Some(4002)));
    let (s, err) = get(format!("{base}/v1/search?{key}")).await;
    assert_eq!((s, err["errors"][0]["code"].as_u64()), (400, Some(4009)));
    let (s, search) = get(format!("{base}/v1/search?query=a&numItems=5&{key}")).await;
    assert_eq!(s, 200);
    assert_eq!(search["items"].as_array().unwrap().len(), 5);
    assert!(search["totalResults"].as_u64().unwrap() >= 5);
    let (s, _) = get(format!("{base}/v1/trends?apiKey=wrong")).await;
    assert_eq!(s, 403);
    emu.shutdown().await;
}

#[tokio::test]
async fn currencylayer_errors_come_with_http_200_and_codes() {
    let (emu, clock) = emulator(small()).await;
    let base = emu.base_url();
    let (s, live) = get(format!(
        "{base}/api/live?access_key=demo-fx-key&currencies=EUR,GBP"
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(live["success"], true);
    assert_eq!(live["quotes"].as_object().unwrap().len(), 2);
    assert!(live["quotes"]["USDEUR"].as_f64().unwrap() > 0.5);
    for (query, code) in [
        ("access_key=bad", 101),
        ("access_key=demo-fx-key&currencies=XXX", 202),
        ("access_key=demo-fx-key&source=EUR", 201),
    ] {
        let (s, body) = get(format!("{base}/api/live?{query}")).await;
        assert_eq!(
            (s, body["success"].as_bool(), body["error"]["code"].as_u64()),
            (200, Some(false), Some(code)),
            "{query}"
        );
    }
    let (_, body) = get(format!("{base}/api/historical?access_key=demo-fx-key")).await;
    assert_eq!(body["error"]["code"], 301);
    let (_, body) = get(format!(
        "{base}/api/historical?access_key=demo-fx-key&date=2030-01-01"
    ))
    .await;
    assert_eq!(body["error"]["code"], 106);
    let (_, body) = get(format!(
        "{base}/api/historical?access_key=demo-fx-key&date=2026-09-15"
    ))
    .await;
    assert_eq!(body["historical"], true);
    let (_, body) = get(format!("{base}/api/timeframe?access_key=demo-fx-key&start_date=2026-09-01&end_date=2026-09-03&currencies=EUR")).await;
    assert_eq!(body["quotes"].as_object().unwrap().len(), 3);
    let (_, body) = get(format!("{base}/api/nope?access_key=demo-fx-key")).await;
    assert_eq!(body["error"]["code"], 103);
    let (_, list) = get(format!("{base}/api/list?access_key=demo-fx-key")).await;
    assert!(list["currencies"].as_object().unwrap().len() >= 30);
    // Rates move with the clock.
    clock.advance(chrono::Duration::hours(7));
    let (_, later) = get(format!(
        "{base}/api/live?access_key=demo-fx-key&currencies=EUR"
    ))
    .await;
    assert_ne!(later["quotes"]["USDEUR"], live["quotes"]["USDEUR"]);
    assert_eq!(
        later["timestamp"].as_i64().unwrap() - live["timestamp"].as_i64().unwrap(),
        7 * 3600
    );
    // Marketplace variant: header auth, 401 without it.
    let client = reqwest::Client::new();
    let ok = client
        .get(format!("{base}/currency_data/live?currencies=EUR"))
        .header("apikey", "demo-apilayer-key")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let denied = client
        .get(format!("{base}/currency_data/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_are_injected_and_recorded() {
    let config = EmulatorConfig {
        faults: FaultConfig {
            error_5xx: 0.3,
            malformed: 0.2,
            truncated: 0.2,
            fault_seed: 9,
            ..FaultConfig::default()
        },
        ..small()
    };
    let (emu, _) = emulator(config).await;
    let mut statuses = std::collections::BTreeMap::new();
    let mut bad_json = 0;
    for _ in 0..60 {
        let r = reqwest::get(format!(
            "{}/v1/trends?apiKey=demo-walmart-key",
            emu.base_url()
        ))
        .await
        .unwrap();
        *statuses.entry(r.status().as_u16()).or_insert(0) += 1;
        let text = r.bytes().await.unwrap();
        if serde_json::from_slice::<Value>(&text).is_err() {
            bad_json += 1;
        }
    }
    assert!(statuses.get(&503).copied().unwrap_or(0) > 5, "{statuses:?}");
    assert!(bad_json > 5, "malformed and truncated bodies: {bad_json}");
    let served = emu.served().entries();
    assert_eq!(served.len(), 60);
    let faulted = served.iter().filter(|e| e.fault.is_some()).count();
    assert!(faulted >= bad_json, "every corrupted body is in the log");
    emu.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let (emu, _) = emulator(EmulatorConfig {
        rate_limit_per_sec: Some(3),
        ..small()
    })
    .await;
    let mut limited = None;
    for _ in 0..10 {
        let r = reqwest::get(format!(
            "{}/v1/taxonomy?apiKey=demo-walmart-key",
            emu.base_url()
        ))
        .await
        .unwrap();
        if r.status() == 429 {
            limited = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            break;
        }
    }
    assert_eq!(limited.as_deref(), Some("1"));
    emu.shutdown().await;
}

#[tokio::test]
async fn same_seed_same_time_same_body() {
    let (a, _) = emulator(small()).await;
    let (b, _) = emulator(small()).await;
    let (_, ta) = get(format!(
        "{}/v1/trends?apiKey=demo-walmart-key",
        a.base_url()
    ))
    .await;
    let (_, tb) = get(format!(
        "{}/v1/trends?apiKey=demo-walmart-key",
        b.base_url()
    ))
    .await;
    assert_eq!(ta, tb);
}
