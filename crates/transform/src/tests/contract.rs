//! What `docs/data-model.md` promises about the marts, held to the code: the columns, their
//! types and nullability, and the readings an independent implementation of the marts had
//! to guess (names of renamed items, stale rates, the order of a mart's files, values of the
//! day before any rate, USD rows, timeframe quotes, the category shares, price moves).

use super::*;

/// A mart's rows as JSON, every live file of its Delta table in the mart's order (as a
/// reader takes them), timestamps as RFC 3339 with microseconds.
async fn rows(lake: &Lake, name: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for path in live_files(lake, name).await {
        let bytes = lake.get(&path).await.unwrap().unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            for row in 0..batch.num_rows() {
                let mut obj = serde_json::Map::new();
                for (i, field) in batch.schema().fields().iter().enumerate() {
                    let v = match ScalarValue::try_from_array(batch.column(i), row).unwrap() {
                        ScalarValue::Float64(Some(v)) => json!((v * 1e9).round() / 1e9),
                        ScalarValue::Int64(Some(v)) => json!(v),
                        ScalarValue::Int32(Some(v)) => json!(v),
                        ScalarValue::Boolean(Some(v)) => json!(v),
                        ScalarValue::Utf8(Some(v)) => json!(v),
                        ScalarValue::TimestampMicrosecond(Some(us), _) => json!(micros(us)),
                        s if s.is_null() => Value::Null,
                        s => json!(s.to_string()),
                    };
                    obj.insert(field.name().clone(), v);
                }
                out.push(Value::Object(obj));
            }
        }
    }
    out
}

fn micros(us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// A lake in a temporary folder holding `records` as one raw object.
async fn lake_of(records: &[LakeRecord]) -> (tempfile::TempDir, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&pricelake_lake::LakeConfig {
        url: dir.path().to_string_lossy().into(),
        ..Default::default()
    })
    .unwrap();
    put_raw(&lake, "all", records).await;
    (dir, lake)
}

fn item(id: i64, name: &str, price: f64) -> Value {
    json!({"itemId": id, "name": name, "salePrice": price, "categoryPath": "Electronics/TV", "stock": "Available"})
}

fn trend(record: &str, time: &str, payload: Value) -> LakeRecord {
    item_env(
        record,
        "trends",
        time,
        payload,
        Some(json!({"time": at(time).timestamp_millis()})),
    )
}

fn timeframe(id: &str, fetched: &str, quotes: Value) -> LakeRecord {
    LakeRecord::Raw(RecordEnvelope {
        record_id: id.into(),
        source: "currencylayer".into(),
        endpoint: "timeframe".into(),
        fetched_at: at(fetched),
        request_url: "http://x".into(),
        http_status: 200,
        position: None,
        context: None,
        payload: json!({"success": true, "timeframe": true, "source": "USD", "quotes": quotes}),
    })
}

/// A mart's `name` is the item's latest name as of the mart's period (the end of the ISO week
/// for `trending_popularity`, `as_of` for `price_moves`), as `discounts` and `items` say: not
/// the name that sorts last. "Zeta TV" sorts after "Alpha TV", its new name.
#[tokio::test]
async fn a_renamed_item_shows_its_latest_name_as_of_each_period() {
    let (_dir, lake) = lake_of(&[
        // The week of Monday 2025-12-29: only the old name.
        trend("t1", "2026-01-01T00:00:00Z", item(1, "Zeta TV", 100.0)),
        trend("t2", "2026-01-02T00:00:00Z", item(1, "Zeta TV", 100.0)),
        // The week of Monday 2026-01-05: listed under the old name, renamed the day after.
        trend("t3", "2026-01-05T00:00:00Z", item(1, "Zeta TV", 90.0)),
        item_env(
            "c1",
            "items",
            "2026-01-06T00:00:00Z",
            item(1, "Alpha TV", 80.0),
            None,
        ),
    ])
    .await;
    run(&lake, false).await;
    let trending = rows(&lake, "trending_popularity").await;
    let names: Vec<(&str, &str)> = trending
        .iter()
        .map(|r| {
            (
                r["period_start"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [("2025-12-29", "Zeta TV"), ("2026-01-05", "Alpha TV")],
        "{trending:?}"
    );
    let moves = rows(&lake, "price_moves").await;
    assert!(!moves.is_empty());
    for m in &moves {
        assert_eq!(m["name"], "Alpha TV", "{m}");
    }
    let discounts = rows(&lake, "discounts").await;
    assert_eq!(discounts.last().unwrap()["name"], "Alpha TV");
    let current: Vec<Value> = items_table(&lake)
        .await
        .into_iter()
        .filter(|v| v["is_current"] == json!(true))
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["name"], "Alpha TV");
}

/// Times are microseconds: a rate older than the stale age by any amount is stale, from one
/// millisecond on; one exactly that old is not.
#[tokio::test]
async fn a_rate_older_than_the_stale_age_by_any_fraction_of_a_second_is_stale() {
    let offsets = [
        ("exact", "2026-01-03T00:00:00Z", false),
        ("ms1", "2026-01-03T00:00:00.001Z", true),
        ("ms200", "2026-01-03T00:00:00.200Z", true),
        ("ms500", "2026-01-03T00:00:00.500Z", true),
        ("ms999", "2026-01-03T00:00:00.999Z", true),
        ("s1", "2026-01-03T00:00:01Z", true),
        ("before", "2026-01-02T23:59:59.999Z", false),
    ];
    let mut records = vec![live("fx1", "2026-01-01T00:00:00Z", 0.9, 0.8)];
    for (i, (id, time, _)) in offsets.iter().enumerate() {
        records.push(item_env(
            id,
            "items",
            time,
            item(i as i64 + 1, "TV", 10.0),
            None,
        ));
    }
    let (_dir, lake) = lake_of(&records).await;
    assert_eq!(config().stale_rate_after_hours, 48);
    run(&lake, false).await;
    let prices = rows(&lake, "prices_fx").await;
    for (id, time, stale) in offsets {
        for currency in ["EUR", "GBP"] {
            let row = find(&prices, |r| {
                r["record_id"] == id && r["currency"] == currency
            });
            assert_eq!(row["stale"], json!(stale), "{time} {currency}: {row}");
        }
        let usd = find(&prices, |r| r["record_id"] == id && r["currency"] == "USD");
        assert_eq!(usd["stale"], json!(false), "USD needs no rate: {usd}");
    }
}

/// The keys a mart kept by day is documented to be ordered by, read file by file in name
/// order: (observed_at, item_id, currency) for `prices_fx`.
fn prices_fx_keys(rows: &[Value]) -> Vec<(String, i64, String)> {
    rows.iter()
        .map(|r| {
            (
                r["observed_at"].as_str().unwrap().to_string(),
                r["item_id"].as_i64().unwrap(),
                r["currency"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn names_in(files: &[String]) -> Vec<String> {
    files
        .iter()
        .map(|path| path.rsplit('/').next().unwrap().to_string())
        .collect()
}

fn later_hour(record: &str, time: &str, price: f64) -> LakeRecord {
    item_env(
        record,
        "paginated_items",
        time,
        json!({"itemId": 1, "name": "TV", "salePrice": price, "msrp": 100.0, "categoryPath": "Electronics/TV", "stock": "Available"}),
        None,
    )
}

/// A day extended twice by later hours: its files, in name order, are the day's own and then
/// each extension in run order, before the next day's; so every file of `prices_fx` read in
/// name order (what `pyarrow.parquet.read_table(folder)` and DuckDB's `*.parquet` do) gives
/// its rows in the documented order.
#[tokio::test]
async fn a_day_extended_twice_reads_in_its_row_order_file_by_file_in_name_order() {
    let (_dir, lake) = fixture().await;
    run(&lake, false).await;
    put_raw(
        &lake,
        "hour-1",
        &[
            live("fx4", "2026-01-04T05:00:00Z", 0.7, 0.6),
            later_hour("h1", "2026-01-05T06:00:00Z", 70.0),
        ],
    )
    .await;
    // The rate of the 4th recomputes the 5th; an observation of the 6th follows it.
    put_raw(
        &lake,
        "day-6",
        &[later_hour("d6", "2026-01-06T01:00:00Z", 71.0)],
    )
    .await;
    run(&lake, false).await;
    put_raw(
        &lake,
        "hour-2",
        &[later_hour("h2", "2026-01-05T08:00:00Z", 72.0)],
    )
    .await;
    let second = run(&lake, false).await;
    put_raw(
        &lake,
        "hour-3",
        &[later_hour("h3", "2026-01-05T09:00:00Z", 73.0)],
    )
    .await;
    let third = run(&lake, false).await;
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    assert_eq!(m.days["2026-01-05"].computed_by, third.run_id);
    let files = live_files(&lake, "prices_fx").await;
    let names = names_in(&files);
    let day_5: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("part-2026-01-05"))
        .collect();
    assert_eq!(
        day_5,
        [
            "part-2026-01-05.parquet".to_string(),
            format!("part-2026-01-05_{}.parquet", second.run_id),
            format!("part-2026-01-05_{}.parquet", third.run_id),
        ]
        .iter()
        .collect::<Vec<_>>(),
        "{names:?}"
    );
    let position = |name: &str| names.iter().position(|n| n == name).unwrap();
    assert!(
        position(&format!("part-2026-01-05_{}.parquet", third.run_id))
            < position("part-2026-01-06.parquet"),
        "{names:?}"
    );
    let keys = prices_fx_keys(&rows(&lake, "prices_fx").await);
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "prices_fx read file by file in name order");
    assert!(keys.iter().any(|k| k.0.starts_with("2026-01-05T09")));
}

/// A value of the day fetched before any rate (here, before the first FX fetch) keeps its
/// rows, as `prices_fx` does: USD at rate 1, the other currencies with a null rate, price
/// and rate time (counted among `prices_fx`'s missing rates).
#[tokio::test]
async fn a_value_of_the_day_fetched_before_any_rate_keeps_its_rows_with_no_rate() {
    let (_dir, lake) = lake_of(&[
        item_env(
            "vod1",
            "vod",
            "2026-01-01T08:00:00Z",
            item(1, "TV", 50.0),
            None,
        ),
        live("fx1", "2026-01-01T09:00:00Z", 0.9, 0.8),
    ])
    .await;
    let report = run(&lake, false).await;
    assert_eq!(report.rows["mart.prices_fx.missing_rate"], 2);
    let vod = rows(&lake, "vod_fx").await;
    assert_eq!(vod.len(), 3, "{vod:?}");
    let usd = find(&vod, |r| r["currency"] == "USD");
    assert_eq!((&usd["rate"], &usd["price"]), (&json!(1.0), &json!(50.0)));
    for currency in ["EUR", "GBP"] {
        let row = find(&vod, |r| r["currency"] == currency);
        assert_eq!(
            (&row["rate"], &row["price"], &row["rate_time"]),
            (&Value::Null, &Value::Null, &Value::Null),
            "{row}"
        );
        assert_eq!(row["sale_price_usd"], json!(50.0));
    }
}

/// USD rows need no rate: rate 1 and `rate_time` the observation's own time, never stale,
/// in `prices_fx` and so in `price_daily`, even in a lake without any rate.
#[tokio::test]
async fn usd_rows_carry_rate_one_at_the_observations_own_time() {
    let (_dir, lake) = lake_of(&[item_env(
        "c1",
        "items",
        "2026-01-01T08:00:00.250Z",
        item(1, "TV", 50.0),
        None,
    )])
    .await;
    run(&lake, false).await;
    let prices = rows(&lake, "prices_fx").await;
    let usd = find(&prices, |r| r["currency"] == "USD");
    assert_eq!(
        (
            &usd["rate"],
            &usd["rate_time"],
            &usd["stale"],
            &usd["sale_price"]
        ),
        (
            &json!(1.0),
            &json!("2026-01-01T08:00:00.250000Z"),
            &json!(false),
            &json!(50.0)
        )
    );
    let daily = rows(&lake, "price_daily").await;
    assert_eq!(daily.len(), 1, "no rate, no converted price: {daily:?}");
    assert_eq!(daily[0]["currency"], "USD");
}

/// A timeframe quote carries a date, not a time: it is taken as that date's closing rate,
/// in force from its last second (23:59:59, the time currencylayer's `historical` stamps a
/// past date's rates with), so a price seen during the date uses the rate before it and
/// never one fixed after it was seen.
#[tokio::test]
async fn a_timeframe_quote_is_in_force_from_the_last_second_of_its_date() {
    let (_dir, lake) = lake_of(&[
        timeframe(
            "tf",
            "2026-01-03T06:00:00Z",
            json!({"2026-01-01": {"USDEUR": 0.9, "USDGBP": 0.8},
                   "2026-01-02": {"USDEUR": 0.5, "USDGBP": 0.4}}),
        ),
        item_env(
            "noon",
            "items",
            "2026-01-02T12:00:00Z",
            item(1, "TV", 10.0),
            None,
        ),
        item_env(
            "close",
            "items",
            "2026-01-02T23:59:59Z",
            item(2, "TV", 10.0),
            None,
        ),
    ])
    .await;
    run(&lake, false).await;
    let prices = rows(&lake, "prices_fx").await;
    let eur = |id: &str| find(&prices, |r| r["record_id"] == id && r["currency"] == "EUR").clone();
    assert_eq!(
        (&eur("noon")["rate"], &eur("noon")["rate_time"]),
        (&json!(0.9), &json!("2026-01-01T23:59:59.000000Z")),
        "during the 2nd: the 1st's close"
    );
    assert_eq!(
        (&eur("close")["rate"], &eur("close")["rate_time"]),
        (&json!(0.5), &json!("2026-01-02T23:59:59.000000Z")),
        "from the 2nd's last second: its own"
    );
}

/// `share_discounted` counts rollback, clearance and a price below the msrp;
/// `share_in_stock` every known stock value but "Not available" (a missing one is not in
/// stock). Over each item's last observation of the day.
#[tokio::test]
async fn category_shares_count_rollback_clearance_and_every_stock_but_not_available() {
    let obs = |id: &str, item_id: i64, extra: Value| {
        let mut p = json!({"itemId": item_id, "name": format!("item {item_id}"), "salePrice": 50.0, "categoryPath": "Home/Kitchen"});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        item_env(id, "items", "2026-01-01T10:00:00Z", p, None)
    };
    let (_dir, lake) = lake_of(&[
        obs("a", 1, json!({"rollBack": true, "stock": "Available"})),
        obs("b", 2, json!({"clearance": true, "stock": "Last few items"})),
        obs("c", 3, json!({"msrp": 60.0, "stock": "Not available"})),
        obs("d", 4, json!({"msrp": 50.0})),
        obs("e", 5, json!({"stock": "Limited Supply"})),
        // Item 3's earlier observation of the day counts for nothing.
        item_env(
            "c0",
            "items",
            "2026-01-01T09:00:00Z",
            json!({"itemId": 3, "name": "item 3", "salePrice": 70.0, "categoryPath": "Home/Kitchen", "stock": "Available"}),
            None,
        ),
    ])
    .await;
    run(&lake, false).await;
    let categories = rows(&lake, "category_daily").await;
    let home = find(&categories, |r| r["category"] == "Home");
    assert_eq!(
        (
            &home["items"],
            &home["share_discounted"],
            &home["share_in_stock"]
        ),
        (&json!(5), &json!(0.6), &json!(0.6)),
        "{home}"
    );
}

/// `vod_fx` holds one value of the day per date: the day's last fetch, also when a later
/// hour brings it (the day extended).
#[tokio::test]
async fn the_value_of_the_day_is_the_days_last_fetch() {
    let (_dir, lake) = lake_of(&[
        live("fx1", "2026-01-01T00:00:00Z", 0.9, 0.8),
        item_env(
            "v1",
            "vod",
            "2026-01-01T08:00:00Z",
            item(1, "Kettle", 10.0),
            None,
        ),
        item_env(
            "v2",
            "vod",
            "2026-01-01T12:00:00Z",
            item(2, "Toaster", 20.0),
            None,
        ),
    ])
    .await;
    run(&lake, false).await;
    let ids = |vod: &[Value]| -> BTreeSet<i64> {
        vod.iter().map(|r| r["item_id"].as_i64().unwrap()).collect()
    };
    assert_eq!(ids(&rows(&lake, "vod_fx").await), BTreeSet::from([2]));
    put_raw(
        &lake,
        "later",
        &[item_env(
            "v3",
            "vod",
            "2026-01-01T20:00:00Z",
            item(3, "Mixer", 30.0),
            None,
        )],
    )
    .await;
    let second = run(&lake, false).await;
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    assert_eq!(m.days["2026-01-01"].computed_by, second.run_id);
    let vod = rows(&lake, "vod_fx").await;
    assert_eq!(ids(&vod), BTreeSet::from([3]));
    assert_eq!(vod.len(), 3);
}

/// `price_moves.from_price` is the latest close at or before `as_of - window_days`: a window
/// whose first day has no close starts from the close before it, and one with no close that
/// early has no row.
#[tokio::test]
async fn a_price_move_starts_from_the_latest_close_at_or_before_the_window() {
    let close =
        |id: &str, time: &str, price: f64| item_env(id, "items", time, item(1, "TV", price), None);
    let (_dir, lake) = lake_of(&[
        close("a", "2026-01-01T10:00:00Z", 10.0),
        close("b", "2026-01-03T10:00:00Z", 11.0),
        close("b2", "2026-01-03T20:00:00Z", 12.0),
        close("c", "2026-01-10T10:00:00Z", 15.0),
    ])
    .await;
    run(&lake, false).await;
    let moves = rows(&lake, "price_moves").await;
    let from: BTreeMap<i64, (f64, String)> = moves
        .iter()
        .map(|m| {
            (
                m["window_days"].as_i64().unwrap(),
                (
                    m["from_price"].as_f64().unwrap(),
                    m["as_of"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(
        from,
        BTreeMap::from([
            (1, (12.0, "2026-01-10".to_string())),
            (7, (12.0, "2026-01-10".to_string())),
        ]),
        "the 3rd's close (its last observation) for 1 and 7 days; nothing 30 days back"
    );
}

/// The columns `docs/data-model.md` declares for a mart, in order: (name, type, nullable).
fn declared_mart_columns(doc: &str) -> BTreeMap<String, Vec<(String, String, bool)>> {
    let section = doc
        .split("## Marts")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Marts section");
    let mut out = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let mut cells = line.split(" | ");
        let mart = cells
            .next()
            .unwrap()
            .trim_start_matches("| ")
            .trim_matches('`');
        let columns: Vec<(String, String, bool)> = cells
            .next()
            .unwrap_or("")
            .split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|span| {
                let mut words = span.split_whitespace();
                let (name, kind) = (words.next()?, words.next()?);
                let known = [
                    "Date32",
                    "Int64",
                    "Int32",
                    "Utf8",
                    "Float64",
                    "Boolean",
                    "Timestamp",
                ];
                let base = kind.trim_end_matches('?');
                (words.next().is_none() && known.contains(&base))
                    .then(|| (name.to_string(), base.to_string(), kind.ends_with('?')))
            })
            .collect();
        out.insert(mart.to_string(), columns);
    }
    out
}

/// The contract's name of an Arrow type.
fn contract_type(t: &DataType) -> String {
    match t {
        DataType::Timestamp(_, _) => "Timestamp".to_string(),
        other => other.to_string(),
    }
}

/// Every mart of a lake with the edge cases above (a value of the day and a price before
/// any rate, a stale rate, an item without msrp, a replay) has the columns
/// `docs/data-model.md` declares, in its order and of its types, and no null in a column it
/// declares non-null.
#[tokio::test]
async fn every_mart_has_the_columns_types_and_nulls_the_data_model_declares() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/data-model.md"
    ))
    .unwrap();
    let declared = declared_mart_columns(&doc);
    assert_eq!(
        declared.keys().cloned().collect::<BTreeSet<String>>(),
        marts::names()
            .map(str::to_string)
            .collect::<BTreeSet<String>>(),
        "every mart documented"
    );
    for mart in marts::public() {
        let registry: Vec<(String, bool)> = mart
            .columns
            .iter()
            .map(|c| (c.name.to_string(), c.nullable))
            .collect();
        let documented: Vec<(String, bool)> = declared[mart.name]
            .iter()
            .map(|(name, _, nullable)| (name.clone(), *nullable))
            .collect();
        assert_eq!(
            registry, documented,
            "{}: the registry and docs/data-model.md disagree",
            mart.name
        );
    }
    let (_dir, lake) = fixture().await;
    put_raw(
        &lake,
        "early-vod",
        &[item_env(
            "vod0",
            "vod",
            "2025-12-31T22:00:00Z",
            item(3, "Radio", 20.0),
            None,
        )],
    )
    .await;
    run(&lake, false).await;
    for mart in marts::names() {
        let columns = &declared[mart];
        for file in live_files(&lake, mart).await {
            let bytes = lake.get(&file).await.unwrap().unwrap();
            let schema = ParquetRecordBatchReaderBuilder::try_new(bytes)
                .unwrap()
                .schema()
                .clone();
            let found: Vec<(String, String)> = schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), contract_type(f.data_type())))
                .collect();
            let expected: Vec<(String, String)> = columns
                .iter()
                .map(|(n, t, _)| (n.clone(), t.clone()))
                .collect();
            assert_eq!(found, expected, "{file}");
        }
        let data = rows(&lake, mart).await;
        assert!(!data.is_empty(), "{mart} has rows to check");
        for (name, _, nullable) in columns {
            if !nullable {
                for row in &data {
                    assert!(
                        !row[name.as_str()].is_null(),
                        "{mart}.{name} is declared non-null: {row}"
                    );
                }
            }
        }
    }
    // The case the vod_fx columns are about is there.
    let vod = rows(&lake, "vod_fx").await;
    assert!(vod
        .iter()
        .any(|r| r["rate"].is_null() && r["price"].is_null()));
}

/// The days carried over between runs are those computed with the same SQL: a run after
/// one made with another `views/fx.sql` (the first run's manifest says so) computes every
/// day again, though no data is new, and a run with nothing new and the same SQL does
/// nothing.
#[tokio::test]
async fn a_run_after_one_made_with_another_view_computes_every_day_again() {
    let (_dir, lake) = fixture().await;
    let first = run(&lake, false).await;
    assert!(run(&lake, false).await.skipped, "nothing new, same SQL");
    let mut files = sql::SQL_FILES.to_vec();
    let view = files
        .iter()
        .position(|(path, _)| *path == "views/fx.sql")
        .expect("the fx view is a file");
    let edited = format!("{}\n-- another deduplication of the rates", files[view].1);
    files[view].1 = &edited;
    let mut made_elsewhere = latest_manifest(&lake).await.unwrap().unwrap();
    assert_eq!(made_elsewhere.run_id, first.run_id);
    made_elsewhere.marts_fingerprint = sql::fingerprint_of(&config(), &files);
    manifest::commit(&lake, &made_elsewhere).await.unwrap();

    let again = run(&lake, false).await;
    assert!(!again.skipped, "the view changed: the days are recomputed");
    let m = latest_manifest(&lake).await.unwrap().unwrap();
    assert!(!m.days.is_empty());
    for (day, stats) in &m.days {
        assert_eq!(stats.computed_by, again.run_id, "{day} computed again");
    }
    assert_eq!(m.marts_fingerprint, sql::fingerprint(&config()));
}
