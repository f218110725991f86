//! Contract tests over a real socket: every route, every error code, v2 signatures,
//! determinism, faults recorded in the served log, and the example fixture.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use pricelake_core::{Clock, SimulatedClock};
use pricelake_emulator::{
    start, Catalog, EmulatorConfig, FaultConfig, FaultKind, Fixture, RunningEmulator,
};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::Value;
use sha2::Sha256;

const V2: &str = "/api-proxy/service/affil/product/v2";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap()
}

async fn emulator(
    config: EmulatorConfig,
    at: DateTime<Utc>,
) -> (RunningEmulator, Arc<SimulatedClock>) {
    let clock = SimulatedClock::shared(at);
    let running = start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (running, clock)
}

fn small(items: usize) -> EmulatorConfig {
    EmulatorConfig {
        items,
        ..EmulatorConfig::default()
    }
}

/// GET and parse; returns status and JSON (Null when the body is not JSON).
async fn get(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn get_with(url: &str, headers: &[(&str, String)]) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(url);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn ids(body: &Value) -> Vec<u64> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["itemId"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn walmart_v1_routes_answer_in_their_real_shapes() {
    let (emu, clock) = emulator(small(400), t0()).await;
    let base = format!("{}/v1", emu.base_url());
    let key = "apiKey=demo-walmart-key";

    let (status, trends) = get(&format!("{base}/trends?{key}")).await;
    assert_eq!(status, 200);
    assert!((23..=27).contains(&trends["items"].as_array().unwrap().len()));
    assert_eq!(
        trends["time"].as_i64().unwrap(),
        clock.now().timestamp_millis()
    );
    let first = &trends["items"][0];
    assert!(first["itemId"].is_u64() && first["salePrice"].is_f64());
    if let Some(r) = first.get("customerRating") {
        assert!(r.is_string(), "customerRating is a string");
    }

    let (status, vod) = get(&format!("{base}/vod?{key}")).await;
    assert_eq!(status, 200);
    assert!(
        vod["itemId"].is_u64() && vod.get("items").is_none(),
        "one item object"
    );
    assert!(vod["salePrice"].as_f64().unwrap() < vod["msrp"].as_f64().unwrap());

    let (status, tax) = get(&format!("{base}/taxonomy?{key}")).await;
    assert_eq!(status, 200);
    let cats = tax["categories"].as_array().unwrap();
    assert_eq!(cats.len(), 8);
    let child = &cats[0]["children"][0];
    assert!(child["id"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}_", cats[0]["id"].as_str().unwrap())));

    // Items by ids, by upc, by path; unknown ids.
    let all = ids(&trends);
    let (status, two) = get(&format!("{base}/items?ids={},{}&{key}", all[0], all[1])).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&two), all[..2].to_vec());
    let upc = two["items"][0]["upc"].as_str().unwrap().to_string();
    let (_, by_upc) = get(&format!("{base}/items?upc={upc}&{key}")).await;
    assert_eq!(ids(&by_upc), vec![all[0]]);
    let (status, one) = get(&format!("{base}/items/{}?{key}", all[0])).await;
    assert_eq!(status, 200);
    assert_eq!(one["itemId"].as_u64(), Some(all[0]));
    let (status, err) = get(&format!("{base}/items/1?{key}")).await;
    assert_eq!(
        (status, err["errors"][0]["code"].as_u64()),
        (400, Some(4002))
    );
    assert_eq!(err["errors"][0]["message"], "Invalid itemId");
    let many: Vec<String> = (0..21).map(|i| all[i % all.len()].to_string()).collect();
    let (status, _) = get(&format!("{base}/items?ids={}&{key}", many.join(","))).await;
    assert_eq!(status, 400, "at most 20 ids");

    // Search.
    let (status, err) = get(&format!("{base}/search?{key}")).await;
    assert_eq!(
        (status, err["errors"][0]["code"].as_u64()),
        (400, Some(4009))
    );
    let (status, _) = get(&format!("{base}/search?query=tv&numItems=26&{key}")).await;
    assert_eq!(status, 400, "numItems <= 25");
    let (status, found) = get(&format!(
        "{base}/search?query=electronics&numItems=25&sort=price&order=ascending&{key}"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        found["numItems"].as_u64(),
        Some(found["items"].as_array().unwrap().len() as u64)
    );
    assert!(found["totalResults"].as_u64().unwrap() > 25);
    let prices: Vec<f64> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["salePrice"].as_f64().unwrap())
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "sorted by price");
    assert!(found["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["categoryPath"]
            .as_str()
            .unwrap()
            .starts_with("Electronics")));

    // Paginated: follow nextPage to the end; every item of the department exactly once.
    let dept = cats[1]["id"].as_str().unwrap().to_string();
    let mut seen = Vec::new();
    let mut next = Some(format!("/v1/paginated/items?category={dept}&count=20"));
    let mut pages = 0;
    let mut total_pages = 0;
    while let Some(path) = next {
        let (status, page) = get(&format!("{}{path}&{key}", emu.base_url())).await;
        assert_eq!(status, 200);
        seen.extend(ids(&page));
        total_pages = page["totalPages"].as_u64().unwrap();
        next = page["nextPage"].as_str().map(str::to_string);
        assert!(
            page.get("nextPageExist").is_none(),
            "v1 has no nextPageExist"
        );
        pages += 1;
    }
    assert_eq!(pages, total_pages);
    let catalog = Catalog::generate(42, 400);
    let expected: Vec<u64> = catalog
        .item_ids()
        .into_iter()
        .filter(|id| {
            let item = catalog.item(*id, t0()).unwrap();
            item["categoryNode"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{dept}_"))
        })
        .collect();
    assert_eq!(seen, expected);
    let (status, _) = get(&format!("{base}/paginated/items?count=201&{key}")).await;
    assert_eq!(status, 400, "count <= 200");
    emu.shutdown().await;
}

#[tokio::test]
async fn v1_keys_are_checked_and_prices_follow_the_clock() {
    let (emu, clock) = emulator(small(200), t0()).await;
    let base = format!("{}/v1", emu.base_url());
    for url in [
        format!("{base}/trends"),
        format!("{base}/trends?apiKey=wrong"),
    ] {
        let (status, body) = get(&url).await;
        assert_eq!(status, 403);
        assert_eq!(
            body,
            serde_json::json!({"errors":[{"code":403,"message":"Account Inactive"}]})
        );
    }
    let catalog = Catalog::generate(42, 200);
    let (_, day1) = get(&format!("{base}/trends?apiKey=demo-walmart-key")).await;
    clock.advance(chrono::Duration::days(1));
    let (_, day2) = get(&format!("{base}/trends?apiKey=demo-walmart-key")).await;
    assert_ne!(ids(&day1), ids(&day2), "a new list every day");
    assert_eq!(ids(&day2), catalog.trending_ids(clock.now()));
    // Whatever the day, the served item is the one computed for that instant.
    for _ in 0..5 {
        clock.advance(chrono::Duration::days(3));
        for id in catalog.item_ids().into_iter().step_by(37) {
            let (_, item) = get(&format!("{base}/items/{id}?apiKey=demo-walmart-key")).await;
            assert_eq!(Some(item), catalog.item(id, clock.now()));
        }
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn same_seed_and_time_give_the_same_bytes() {
    let (a, _) = emulator(small(300), t0()).await;
    let (b, _) = emulator(small(300), t0()).await;
    let (c, _) = emulator(
        EmulatorConfig {
            seed: 43,
            ..small(300)
        },
        t0(),
    )
    .await;
    for path in [
        "/v1/trends?apiKey=demo-walmart-key",
        "/v1/paginated/items?count=50&apiKey=demo-walmart-key",
        "/api/live?access_key=demo-fx-key",
    ] {
        let body = |e: &RunningEmulator| {
            let url = format!("{}{path}", e.base_url());
            async move { reqwest::get(url).await.unwrap().bytes().await.unwrap() }
        };
        let (x, y, z) = (body(&a).await, body(&b).await, body(&c).await);
        assert_eq!(x, y, "{path}");
        assert_ne!(x, z, "{path}: another seed, other data");
    }
}

struct V2Keys {
    private: RsaPrivateKey,
    pem: String,
}

fn v2_keys() -> V2Keys {
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
    let pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    V2Keys { private, pem }
}

fn signed_headers(key: &RsaPrivateKey, consumer: &str, ts_ms: i64) -> Vec<(&'static str, String)> {
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
    let message = format!("{consumer}\n{ts_ms}\n1\n");
    let signature = signer.sign(message.as_bytes()).to_bytes();
    vec![
        ("WM_CONSUMER.ID", consumer.to_string()),
        ("WM_CONSUMER.INTIMESTAMP", ts_ms.to_string()),
        ("WM_SEC.KEY_VERSION", "1".to_string()),
        (
            "WM_SEC.AUTH_SIGNATURE",
            base64::engine::general_purpose::STANDARD.encode(signature),
        ),
    ]
}

#[tokio::test]
async fn v2_signatures_are_accepted_rejected_expired_or_missing() {
    let keys = v2_keys();
    let other = v2_keys();
    let config = EmulatorConfig {
        walmart_public_key_pem: Some(keys.pem.clone()),
        ..small(200)
    };
    let (emu, clock) = emulator(config, t0()).await;
    let url = format!("{}{V2}/paginated/items?count=150", emu.base_url());
    let now = clock.now().timestamp_millis();

    let (status, page) = get_with(&url, &signed_headers(&keys.private, "demo-consumer", now)).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 150);
    assert_eq!(page["nextPageExist"], true);
    let next = page["nextPage"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{V2}/paginated/items?")),
        "{next}"
    );
    let (status, last) = get_with(
        &format!("{}{next}", emu.base_url()),
        &signed_headers(&keys.private, "demo-consumer", now),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(last["nextPageExist"], false);
    assert!(last.get("nextPage").is_none());
    assert_eq!(last["items"].as_array().unwrap().len(), 50);

    // A signature within 180 s of the clock is fine, beyond it is expired.
    let (status, _) = get_with(
        &url,
        &signed_headers(&keys.private, "demo-consumer", now - 170_000),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = get_with(
        &url,
        &signed_headers(&keys.private, "demo-consumer", now - 181_000),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = get_with(&url, &signed_headers(&other.private, "demo-consumer", now)).await;
    assert_eq!(status, 401, "signed with another key");
    let mut tampered = signed_headers(&keys.private, "demo-consumer", now);
    tampered[2].1 = "2".to_string();
    let (status, _) = get_with(&url, &tampered).await;
    assert_eq!(status, 401, "key version is part of the signed string");
    let (status, _) = get_with(&url, &signed_headers(&keys.private, "someone-else", now)).await;
    assert_eq!(status, 403, "no subscription");
    for missing in 0..4 {
        let mut headers = signed_headers(&keys.private, "demo-consumer", now);
        headers.remove(missing);
        let (status, body) = get_with(&url, &headers).await;
        assert_eq!(status, 403, "header {missing} missing: {body}");
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("missing header"));
    }
    // v2 serves the same items as v1 at the same instant.
    let (_, v2) = get_with(
        &format!("{}{V2}/trends", emu.base_url()),
        &signed_headers(&keys.private, "demo-consumer", now),
    )
    .await;
    let (_, v1) = get(&format!(
        "{}/v1/trends?apiKey=demo-walmart-key",
        emu.base_url()
    ))
    .await;
    assert_eq!(v1, v2);
    emu.shutdown().await;

    // Without a public key, v2 is off.
    let (emu, clock) = emulator(small(10), t0()).await;
    let (status, _) = get_with(
        &format!("{}{V2}/trends", emu.base_url()),
        &signed_headers(
            &keys.private,
            "demo-consumer",
            clock.now().timestamp_millis(),
        ),
    )
    .await;
    assert_eq!(status, 403);
}

fn error_code(body: &Value) -> (bool, u64) {
    (
        body["success"].as_bool().unwrap(),
        body["error"]["code"].as_u64().unwrap_or(0),
    )
}

#[tokio::test]
async fn currencylayer_bodies_and_every_error_code() {
    let (emu, clock) = emulator(small(10), t0()).await;
    let api = format!("{}/api", emu.base_url());
    let key = "access_key=demo-fx-key";

    let (status, live) = get(&format!("{api}/live?{key}&currencies=EUR,GBP")).await;
    assert_eq!(status, 200);
    assert_eq!(live["success"], true);
    assert_eq!(live["source"], "USD");
    assert!(live["terms"].is_string() && live["privacy"].is_string());
    let hour = Utc
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .unwrap()
        .timestamp();
    assert_eq!(
        live["timestamp"].as_i64(),
        Some(hour),
        "start of the current hour"
    );
    let quotes = live["quotes"].as_object().unwrap();
    assert_eq!(quotes.keys().collect::<Vec<_>>(), ["USDEUR", "USDGBP"]);
    let eur = quotes["USDEUR"].as_f64().unwrap();
    assert!((0.8..1.05).contains(&eur));

    let (_, full) = get(&format!("{api}/live?{key}")).await;
    let all = full["quotes"].as_object().unwrap();
    assert!(all.len() >= 30);
    assert_eq!(all["USDAED"].as_f64(), Some(3.6725));
    for code in [
        "AUD", "EUR", "GBP", "INR", "AED", "JPY", "CHF", "ZAR", "CNY", "CAD",
    ] {
        assert!(all.contains_key(&format!("USD{code}")), "{code}");
    }
    let (_, list) = get(&format!("{api}/list?{key}")).await;
    assert_eq!(list["currencies"].as_object().unwrap().len(), all.len());
    assert_eq!(list["currencies"]["EUR"], "Euro");

    // Cross rates from another source.
    let (_, cross) = get(&format!("{api}/live?{key}&source=EUR&currencies=GBP")).await;
    let gbp = all["USDGBP"].as_f64().unwrap();
    assert!((cross["quotes"]["EURGBP"].as_f64().unwrap() - gbp / eur).abs() < 1e-4);

    // Within the hour the rate holds; the next hour it moves.
    clock.advance(chrono::Duration::minutes(20));
    let (_, same) = get(&format!("{api}/live?{key}&currencies=EUR,GBP")).await;
    assert_eq!(same, live);
    clock.advance(chrono::Duration::hours(1));
    let (_, moved) = get(&format!("{api}/live?{key}&currencies=EUR,GBP")).await;
    assert_eq!(moved["timestamp"].as_i64(), Some(hour + 3600));
    assert_ne!(moved["quotes"], live["quotes"]);

    let (_, hist) = get(&format!(
        "{api}/historical?{key}&date=2026-02-27&currencies=EUR"
    ))
    .await;
    assert_eq!(hist["historical"], true);
    assert_eq!(hist["date"], "2026-02-27");
    let end_of_day = Utc
        .with_ymd_and_hms(2026, 2, 27, 23, 59, 59)
        .unwrap()
        .timestamp();
    assert_eq!(hist["timestamp"].as_i64(), Some(end_of_day));
    let (_, tf) = get(&format!(
        "{api}/timeframe?{key}&start_date=2026-02-25&end_date=2026-02-27&currencies=EUR,GBP"
    ))
    .await;
    assert_eq!(tf["timeframe"], true);
    assert_eq!(tf["start_date"], "2026-02-25");
    let days = tf["quotes"].as_object().unwrap();
    assert_eq!(days.len(), 3);
    assert_eq!(
        days["2026-02-27"]["USDEUR"], hist["quotes"]["USDEUR"],
        "timeframe days = historical days"
    );

    // Every error comes with HTTP 200, success false and its code.
    let cases: Vec<(String, u64, &str)> = vec![
        (format!("{api}/live"), 101, "missing_access_key"),
        (
            format!("{api}/live?access_key=nope"),
            101,
            "invalid_access_key",
        ),
        (format!("{api}/convertz?{key}"), 103, "invalid_api_function"),
        (
            format!("{api}/historical?{key}&date=2027-01-01"),
            106,
            "no_rates_available",
        ),
        (
            format!("{api}/live?{key}&source=XYZ"),
            201,
            "invalid_source_currency",
        ),
        (
            format!("{api}/live?{key}&currencies=EUR,XYZ"),
            202,
            "invalid_currency_codes",
        ),
        (format!("{api}/historical?{key}"), 301, "no_date_specified"),
        (
            format!("{api}/historical?{key}&date=2026-13-01"),
            302,
            "invalid_date",
        ),
        (
            format!("{api}/timeframe?{key}&start_date=2026-01-01"),
            501,
            "invalid_timeframe",
        ),
        (
            format!("{api}/timeframe?{key}&start_date=x&end_date=2026-01-02"),
            502,
            "invalid_start_date",
        ),
        (
            format!("{api}/timeframe?{key}&start_date=2026-01-01&end_date=y"),
            503,
            "invalid_end_date",
        ),
        (
            format!("{api}/timeframe?{key}&start_date=2026-01-05&end_date=2026-01-02"),
            504,
            "invalid_time_frame",
        ),
        (
            format!("{api}/timeframe?{key}&start_date=2024-01-01&end_date=2025-06-01"),
            505,
            "time_frame_too_long",
        ),
    ];
    for (url, code, kind) in cases {
        let (status, body) = get(&url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(error_code(&body), (false, code), "{url}: {body}");
        assert_eq!(body["error"]["type"], kind);
        assert!(body["error"]["info"].is_string());
    }

    // The marketplace variant: same bodies, key in a header, 401 without it.
    let cd = format!("{}/currency_data/live?currencies=EUR,GBP", emu.base_url());
    let (status, body) = get_with(&cd, &[("apikey", "demo-apilayer-key".into())]).await;
    let (_, via_api) = get(&format!("{api}/live?{key}&currencies=EUR,GBP")).await;
    assert_eq!((status, &body), (200, &via_api));
    for headers in [vec![], vec![("apikey", "wrong".to_string())]] {
        let (status, body) = get_with(&cd, &headers).await;
        assert_eq!(status, 401);
        assert_eq!(
            body,
            serde_json::json!({"message": "Invalid authentication credentials"})
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn over_the_rate_limit_is_429_with_retry_after() {
    let config = EmulatorConfig {
        rate_limit_per_sec: Some(2),
        ..small(20)
    };
    let (emu, clock) = emulator(config, t0()).await;
    let url = format!("{}/v1/vod?apiKey=demo-walmart-key", emu.base_url());
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = reqwest::get(&url).await.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert_eq!(r.headers()["retry-after"], "1");
        }
    }
    assert_eq!(statuses, [200, 200, 429]);
    clock.advance(chrono::Duration::seconds(1));
    assert_eq!(
        reqwest::get(&url).await.unwrap().status(),
        200,
        "a new second"
    );
    emu.shutdown().await;
}

/// What a client makes of one response.
#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Seen {
    Ok,
    Error5xx,
    Corrupt,
    Bom,
    Duplicate,
}

#[tokio::test]
async fn injected_faults_are_what_clients_see_and_what_the_log_records() {
    let faults = FaultConfig {
        error_5xx: 0.1,
        truncated: 0.1,
        malformed: 0.1,
        bom: 0.1,
        duplicate: 0.15,
        fault_seed: 11,
        ..FaultConfig::default()
    };
    let (emu, clock) = emulator(
        EmulatorConfig {
            faults,
            ..small(300)
        },
        t0(),
    )
    .await;
    let mut seen = Vec::new();
    let mut items_received = 0;
    let max_id = Catalog::generate(42, 300).item_ids()[40];
    for i in 0..120 {
        if i % 10 == 0 {
            clock.advance(chrono::Duration::days(1));
        }
        let paged = i % 2 == 1;
        let path = if paged {
            format!("/v1/paginated/items?count=40&maxId={max_id}&apiKey=demo-walmart-key")
        } else {
            "/v1/trends?apiKey=demo-walmart-key".to_string()
        };
        let r = reqwest::get(format!("{}{path}", emu.base_url()))
            .await
            .unwrap();
        let status = r.status().as_u16();
        let bytes = r.bytes().await.unwrap();
        if status == 503 {
            seen.push(Seen::Error5xx);
            continue;
        }
        assert_eq!(status, 200);
        let (bom, text) = match bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()) {
            Some(rest) => (true, rest),
            None => (false, &bytes[..]),
        };
        let Ok(body) = serde_json::from_slice::<Value>(text) else {
            seen.push(Seen::Corrupt);
            continue;
        };
        let list = ids(&body);
        items_received += list.len();
        let unique: HashSet<u64> = list.iter().copied().collect();
        // A repeat within the list, or the previous page's item on top of this one.
        let repeated = unique.len() < list.len() || (paged && list.iter().any(|id| *id <= max_id));
        seen.push(if bom {
            Seen::Bom
        } else if repeated {
            Seen::Duplicate
        } else {
            Seen::Ok
        });
    }
    let log = emu.served();
    let faults = log.count_faults();
    let count = |s: Seen| seen.iter().filter(|x| **x == s).count();
    let logged = |k: FaultKind| faults.get(&k).copied().unwrap_or(0);
    assert!(
        count(Seen::Error5xx) > 0
            && count(Seen::Corrupt) > 0
            && count(Seen::Bom) > 0
            && count(Seen::Duplicate) > 0,
        "{seen:?}"
    );
    assert_eq!(count(Seen::Error5xx), logged(FaultKind::Error5xx));
    assert_eq!(
        count(Seen::Corrupt),
        logged(FaultKind::Truncated) + logged(FaultKind::Malformed)
    );
    assert_eq!(count(Seen::Bom), logged(FaultKind::Bom));
    assert_eq!(count(Seen::Duplicate), logged(FaultKind::Duplicate));
    assert_eq!(
        log.count_item_records(),
        items_received,
        "served intact = received"
    );
    assert_eq!(
        log.items_served_intact("walmart/trends")
            + log.items_served_intact("walmart/paginated_items"),
        items_received
    );

    emu.shutdown().await;

    // The same seed decides the same faults again, a different one others.
    let run = |fault_seed: u64| async move {
        let faults = FaultConfig {
            fault_seed,
            ..emu_faults()
        };
        let (e, _) = emulator(
            EmulatorConfig {
                faults,
                ..small(300)
            },
            t0(),
        )
        .await;
        for _ in 0..40 {
            let url = format!("{}/v1/trends?apiKey=demo-walmart-key", e.base_url());
            reqwest::get(url).await.unwrap().bytes().await.unwrap();
        }
        e.served()
            .entries()
            .into_iter()
            .map(|e| e.fault)
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (run(11).await, run(11).await, run(12).await);
    assert!(a.iter().any(Option::is_some));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

fn emu_faults() -> FaultConfig {
    FaultConfig {
        error_5xx: 0.1,
        truncated: 0.1,
        malformed: 0.1,
        bom: 0.1,
        duplicate: 0.15,
        fault_seed: 11,
        ..FaultConfig::default()
    }
}

#[tokio::test]
async fn timeouts_hang_then_drop_and_slow_answers_arrive_intact() {
    let faults = FaultConfig {
        timeout: 1.0,
        timeout_ms: 600,
        ..FaultConfig::default()
    };
    let (emu, _) = emulator(
        EmulatorConfig {
            faults,
            ..small(10)
        },
        t0(),
    )
    .await;
    let url = format!("{}/v1/vod?apiKey=demo-walmart-key", emu.base_url());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let err = client.get(&url).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let started = Instant::now();
    let patient = reqwest::Client::new();
    let outcome = match patient.get(&url).send().await {
        Ok(r) => r.bytes().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(
        outcome.is_err(),
        "the connection is dropped without an answer"
    );
    assert!(started.elapsed() >= Duration::from_millis(550));
    let entries = emu.served().entries();
    assert!(entries
        .iter()
        .all(|e| e.status == 0 && e.fault.as_deref() == Some("timeout")));
    emu.shutdown().await;

    let faults = FaultConfig {
        slow: 1.0,
        slow_ms: 300,
        ..FaultConfig::default()
    };
    let (emu, _) = emulator(
        EmulatorConfig {
            faults,
            ..small(10)
        },
        t0(),
    )
    .await;
    let started = Instant::now();
    let (status, body) = get(&format!(
        "{}/v1/vod?apiKey=demo-walmart-key",
        emu.base_url()
    ))
    .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, 200);
    assert!(body["itemId"].is_u64());
    assert_eq!(
        emu.served().count_item_records(),
        1,
        "slow is still delivered"
    );
}

#[tokio::test]
async fn the_fixture_is_served_as_written() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/small.json");
    let fixture = Fixture::load(&path).unwrap();
    let start_at = fixture.fx[0].from + chrono::Duration::hours(6);
    let config = EmulatorConfig {
        fixture: Some(path),
        ..EmulatorConfig::default()
    };
    let (emu, clock) = emulator(config, start_at).await;
    let base = emu.base_url();
    let key = "apiKey=demo-walmart-key";
    for _day in 0..3 {
        let now = clock.now();
        let (_, trends) = get(&format!("{base}/v1/trends?{key}")).await;
        let expected_trend = fixture.trends.iter().rev().find(|t| t.from <= now).unwrap();
        assert_eq!(ids(&trends), expected_trend.item_ids);
        let (_, vod) = get(&format!("{base}/v1/vod?{key}")).await;
        let vod_id = fixture
            .vod
            .iter()
            .rev()
            .find(|v| v.from <= now)
            .unwrap()
            .item_id;
        assert_eq!(vod["itemId"].as_u64(), Some(vod_id));
        for item in &fixture.items {
            let (_, served) = get(&format!("{base}/v1/items/{}?{key}", item.item_id)).await;
            let price = item.prices.iter().rev().find(|p| p.from <= now).unwrap();
            assert_eq!(served["salePrice"].as_f64(), Some(price.sale_price));
            assert_eq!(served["msrp"].as_f64(), price.msrp.or(item.msrp));
            assert_eq!(served["rollBack"].as_bool(), Some(price.roll_back));
        }
        let (_, live) = get(&format!("{base}/api/live?access_key=demo-fx-key")).await;
        let fx = fixture.fx.iter().rev().find(|f| f.from <= now).unwrap();
        for (code, rate) in &fx.quotes {
            assert_eq!(live["quotes"][format!("USD{code}")].as_f64(), Some(*rate));
        }
        assert_eq!(live["quotes"]["USDUSD"].as_f64(), Some(1.0));
        clock.advance(chrono::Duration::days(1));
    }
    // By hand: item 103 is on rollback at 15.00 from 2026-01-03; EUR is 0.8 at
    // 2026-01-02T12:00 and 1.0 from 2026-01-03.
    let (_, item) = get(&format!("{base}/v1/items/103?{key}")).await;
    assert_eq!(
        (item["salePrice"].as_f64(), item["rollBack"].as_bool()),
        (Some(15.0), Some(true))
    );
    let (_, hist) = get(&format!(
        "{base}/api/historical?access_key=demo-fx-key&date=2026-01-02"
    ))
    .await;
    assert_eq!(hist["quotes"]["USDEUR"].as_f64(), Some(0.8));

    // The admin routes.
    let (status, health) = get(&format!("{base}/_emulator/health")).await;
    assert_eq!((status, health["fixture"].as_bool()), (200, Some(true)));
    let (_, summary) = get(&format!("{base}/_emulator/served?entries=true")).await;
    let log = emu.served();
    assert_eq!(summary["responses"].as_u64(), Some(log.len() as u64));
    assert_eq!(
        summary["items"].as_u64(),
        Some(log.count_item_records() as u64)
    );
    assert_eq!(summary["quotes"].as_u64(), Some(log.count_quotes() as u64));
    let text = summary["entries"].to_string();
    assert!(
        text.contains("REDACTED")
            && !text.contains("demo-walmart-key")
            && !text.contains("demo-fx-key")
    );
    let live = log
        .entries()
        .into_iter()
        .find(|e| e.endpoint == "currencylayer/live")
        .unwrap();
    assert_eq!(live.quotes.len(), 3, "EUR, GBP and USD itself");
    assert_eq!(
        live.quotes[0].rate_time,
        Utc.with_ymd_and_hms(2026, 1, 1, 6, 0, 0).unwrap()
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn quota_104_until_the_next_day_and_105_for_functions_off_the_plan() {
    let (emu, clock) = emulator(
        EmulatorConfig {
            fx_daily_quota: Some(2),
            fx_timeframe_on_plan: false,
            ..small(10)
        },
        t0(),
    )
    .await;
    let api = format!("{}/api", emu.base_url());
    let key = "access_key=demo-fx-key";
    let (status, body) = get(&format!(
        "{api}/timeframe?{key}&start_date=2026-01-01&end_date=2026-01-05"
    ))
    .await;
    assert_eq!(status, 200, "apilayer errors arrive with HTTP 200");
    assert_eq!(error_code(&body), (false, 105));
    let (_, body) = get(&format!("{api}/live?{key}")).await;
    assert_eq!(body["success"], true, "the second request of the day");
    let (status, body) = get(&format!("{api}/live?{key}")).await;
    assert_eq!(
        (status, error_code(&body)),
        (200, (false, 104)),
        "over the quota"
    );
    // A wrong key is refused before the quota is counted.
    let (_, body) = get(&format!("{api}/live?access_key=nope")).await;
    assert_eq!(error_code(&body), (false, 101));
    clock.advance(chrono::Duration::days(1));
    let (_, body) = get(&format!("{api}/live?{key}")).await;
    assert_eq!(body["success"], true, "the quota resets with the day");
    let (_, body) = get(&format!(
        "{}/currency_data/live?currencies=EUR",
        emu.base_url()
    ))
    .await;
    assert_eq!(body["message"], "Invalid authentication credentials");
    emu.shutdown().await;
}
