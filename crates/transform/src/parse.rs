//! The parse stage: raw NDJSON records into typed rows of the clean tables, and every row
//! that cannot be kept into a rejection with its reason.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, RecordBatch,
    StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use pricelake_core::models::currencylayer::{parse_quotes, RatesBody, TimeframeBody};
use pricelake_core::models::walmart::Item;
use pricelake_core::{DeadLetter, LakeRecord, RecordEnvelope};

/// Endpoints whose payloads are Walmart items.
use pricelake_core::models::walmart::ITEM_ENDPOINTS;

mod fast_item;

/// One row of `clean/price_observations`.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceObservation {
    /// The record's id (its envelope's): stable across replays, so a replayed observation is
    /// a duplicate the marts remove.
    pub record_id: String,
    /// Walmart's `itemId`.
    pub item_id: i64,
    /// When it was fetched (the envelope's `fetched_at`).
    pub observed_at: DateTime<Utc>,
    /// The API endpoint it came from (`paginated_items`, `trends`, `vod`, ...).
    pub endpoint: String,
    /// The item's name as the API gave it then.
    pub name: String,
    /// Its brand, when given.
    pub brand: Option<String>,
    /// Its category path (`Electronics/TV`), when given.
    pub category_path: Option<String>,
    /// The first segment of the path: what the category marts group by.
    pub category: Option<String>,
    /// Never missing: an item without a `salePrice` is a dead letter (`missing_sale_price`),
    /// not a row; a number or a numeric string (`"12.50"`) is read as the price.
    pub sale_price: f64,
    /// The list price, when given (no msrp: no discount).
    pub msrp: Option<f64>,
    /// The stock text (`Available`, `Not available`, ...), when given.
    pub stock: Option<String>,
    /// On rollback.
    pub rollback: bool,
    /// On clearance.
    pub clearance: bool,
}

/// One row of `clean/fx_rates`.
#[derive(Debug, Clone, PartialEq)]
pub struct FxRate {
    /// The envelope's record id with the quote: a quote fetched again is a duplicate.
    pub record_id: String,
    /// The currency quoted against (USD).
    pub base: String,
    /// The currency quoted.
    pub quote: String,
    /// Units of `quote` per unit of `base`.
    pub rate: f64,
    /// The time the quote is for (the response's `timestamp`; a timeframe's date at 23:59:59).
    pub rate_time: DateTime<Utc>,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
    /// The API endpoint (`live`, `historical`, `timeframe`).
    pub endpoint: String,
}

/// One row of `clean/trending_appearances`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendingAppearance {
    /// The record's id (its envelope's): a replayed list counts once.
    pub record_id: String,
    /// Walmart's `itemId`.
    pub item_id: i64,
    /// The item's name in the list.
    pub name: String,
    /// When the list was trending (its `time`, else its fetch).
    pub trend_time: DateTime<Utc>,
    /// Its place in the list (0 when the record does not say).
    pub position: i32,
}

/// Rows parsed from a set of raw objects.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Rows of `clean/price_observations`.
    pub observations: Vec<PriceObservation>,
    /// Rows of `clean/fx_rates`.
    pub fx: Vec<FxRate>,
    /// Rows of `clean/trending_appearances`.
    pub trending: Vec<TrendingAppearance>,
    /// What could not become a row, each with its reason: kept under `errors/transform/`.
    pub rejected: Vec<DeadLetter>,
}

/// A kept item, from either way of reading its line: what [`Parsed::add_item_row`] needs.
struct ItemRow {
    record_id: String,
    endpoint: String,
    observed_at: DateTime<Utc>,
    position: Option<u32>,
    /// The trends response's `time` (milliseconds), when it has one.
    trend_time: Option<i64>,
    item_id: i64,
    name: String,
    brand: Option<String>,
    category_path: Option<String>,
    sale_price: f64,
    msrp: Option<f64>,
    stock: Option<String>,
    rollback: bool,
    clearance: bool,
}

impl ItemRow {
    /// `None` without a sale price (which [`fast_item::ItemLine::read`] never lets through:
    /// the general path makes such a line a dead letter).
    fn from_fast(line: fast_item::ItemLine<'_>) -> Option<ItemRow> {
        let item = line.payload;
        Some(ItemRow {
            record_id: line.record_id.into_owned(),
            endpoint: line.endpoint.into_owned(),
            observed_at: line.fetched_at,
            position: line.position,
            trend_time: line.context_time,
            item_id: item.item_id as i64,
            name: item.name.map(Cow::into_owned).unwrap_or_default(),
            brand: item.brand_name.map(Cow::into_owned),
            category_path: item.category_path.map(Cow::into_owned),
            sale_price: item.sale_price?,
            msrp: item.msrp,
            stock: item.stock.map(Cow::into_owned),
            rollback: item.roll_back.unwrap_or(false),
            clearance: item.clearance.unwrap_or(false),
        })
    }
}

impl Parsed {
    /// Parses objects on `workers` threads, each a contiguous share of them of about the
    /// same compressed size (a share of as many objects would give one worker the day's
    /// small rate objects and another as many item pages, each a hundred times larger), and
    /// merges the shares in order (so the rows and rejections come out as one thread would
    /// give them).
    pub async fn from_objects(objects: Vec<(String, bytes::Bytes)>, workers: usize) -> Parsed {
        let total: usize = objects.iter().map(|(_, b)| b.len()).sum();
        let share_bytes = total.div_ceil(workers.max(1)).max(1);
        let mut tasks = Vec::new();
        let mut mine = Vec::new();
        let mut mine_bytes = 0usize;
        let mut objects = objects.into_iter().peekable();
        while let Some(object) = objects.next() {
            mine_bytes += object.1.len();
            mine.push(object);
            if mine_bytes >= share_bytes || objects.peek().is_none() {
                let share = std::mem::take(&mut mine);
                mine_bytes = 0;
                tasks.push(tokio::task::spawn_blocking(move || {
                    let mut parsed = Parsed::default();
                    let mut decoder = pricelake_lake::ndjson::Decoder::new();
                    for (path, bytes) in &share {
                        parsed.add_object_with(path, bytes, &mut decoder);
                    }
                    parsed
                }));
            }
        }
        let mut out = Parsed::default();
        for task in tasks {
            // A panic in a parser is a bug, not bad input: let it surface as one.
            let mut part = match task.await {
                Ok(part) => part,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            };
            out.observations.append(&mut part.observations);
            out.fx.append(&mut part.fx);
            out.trending.append(&mut part.trending);
            out.rejected.append(&mut part.rejected);
        }
        out
    }

    /// Decompresses one raw object and parses its lines.
    pub fn add_object(&mut self, path: &str, bytes: &[u8]) {
        self.add_object_with(path, bytes, &mut pricelake_lake::ndjson::Decoder::new());
    }

    /// [`Parsed::add_object`] with a decoder (and its buffer) reused from one object to the
    /// next by a parser of many.
    pub fn add_object_with(
        &mut self,
        path: &str,
        bytes: &[u8],
        decoder: &mut pricelake_lake::ndjson::Decoder,
    ) {
        let text = match decoder.decode(path, bytes) {
            Ok(text) => text,
            Err(e) => {
                self.rejected
                    .push(object_rejection(path, "unreadable_object", &e.to_string()));
                return;
            }
        };
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            if let Some(row) = fast_item::ItemLine::read(line).and_then(ItemRow::from_fast) {
                self.add_item_row(row);
                continue;
            }
            match serde_json::from_str::<LakeRecord>(line) {
                Ok(LakeRecord::Raw(envelope)) => self.add_envelope(envelope),
                Ok(LakeRecord::DeadLetter(_)) => {} // already a dead letter, under errors/
                Err(e) => {
                    let mut d = object_rejection(
                        path,
                        "malformed_raw_line",
                        &format!("line {}: {e}", n + 1),
                    );
                    d.raw = line.to_string();
                    self.rejected.push(d);
                }
            }
        }
    }

    fn add_envelope(&mut self, envelope: RecordEnvelope) {
        match (envelope.source.as_str(), envelope.endpoint.as_str()) {
            ("walmart", endpoint) if ITEM_ENDPOINTS.contains(&endpoint) => self.add_item(envelope),
            ("currencylayer", "live" | "historical") => self.add_rates(envelope),
            ("currencylayer", "timeframe") => self.add_timeframe(envelope),
            _ => {} // taxonomy, list: reference data, not rows
        }
    }

    fn add_item(&mut self, envelope: RecordEnvelope) {
        let item = match Item::from_json(&envelope.payload) {
            Ok(item) => item,
            Err(e) => {
                self.rejected.push(DeadLetter::from_envelope(
                    &envelope,
                    "transform",
                    e.code(),
                    e.to_string(),
                ));
                return;
            }
        };
        let Some(sale_price) = item.sale_price else {
            self.rejected.push(DeadLetter::from_envelope(
                &envelope,
                "transform",
                "missing_sale_price",
                "item has no salePrice",
            ));
            return;
        };
        self.add_item_row(ItemRow {
            trend_time: envelope
                .context
                .as_ref()
                .and_then(|c| c.get("time"))
                .and_then(|t| t.as_i64()),
            record_id: envelope.record_id,
            endpoint: envelope.endpoint,
            observed_at: envelope.fetched_at,
            position: envelope.position,
            item_id: item.item_id as i64,
            name: item.name,
            brand: item.brand_name,
            category_path: item.category_path,
            sale_price,
            msrp: item.msrp,
            stock: item.stock,
            rollback: item.roll_back.unwrap_or(false),
            clearance: item.clearance.unwrap_or(false),
        });
    }

    /// An item that makes a price observation (and, from `trends`, a trending appearance).
    fn add_item_row(&mut self, row: ItemRow) {
        let category = row
            .category_path
            .as_deref()
            .and_then(|p| p.split('/').next())
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        if row.endpoint == "trends" {
            let trend_time = row
                .trend_time
                .and_then(DateTime::from_timestamp_millis)
                .unwrap_or(row.observed_at);
            self.trending.push(TrendingAppearance {
                record_id: row.record_id.clone(),
                item_id: row.item_id,
                name: row.name.clone(),
                trend_time,
                position: row.position.unwrap_or(0) as i32,
            });
        }
        self.observations.push(PriceObservation {
            record_id: row.record_id,
            item_id: row.item_id,
            observed_at: row.observed_at,
            endpoint: row.endpoint,
            name: row.name,
            brand: row.brand,
            category_path: row.category_path,
            category,
            sale_price: row.sale_price,
            msrp: row.msrp,
            stock: row.stock,
            rollback: row.rollback,
            clearance: row.clearance,
        });
    }

    fn push_quotes(
        &mut self,
        envelope: &RecordEnvelope,
        source: &str,
        quotes: &serde_json::Value,
        rate_time: DateTime<Utc>,
        key: &str,
    ) {
        match parse_quotes(source, quotes) {
            Ok(quotes) => {
                for q in quotes {
                    self.fx.push(FxRate {
                        record_id: format!("{}:{key}{}", envelope.record_id, q.quote),
                        base: q.base,
                        quote: q.quote,
                        rate: q.rate,
                        rate_time,
                        fetched_at: envelope.fetched_at,
                        endpoint: envelope.endpoint.clone(),
                    });
                }
            }
            Err(e) => self.rejected.push(DeadLetter::from_envelope(
                envelope,
                "transform",
                "bad_quotes",
                e.to_string(),
            )),
        }
    }

    fn add_rates(&mut self, envelope: RecordEnvelope) {
        let body: RatesBody = match serde_json::from_value(envelope.payload.clone()) {
            Ok(b) => b,
            Err(e) => {
                self.rejected.push(DeadLetter::from_envelope(
                    &envelope,
                    "transform",
                    "bad_rates_body",
                    e.to_string(),
                ));
                return;
            }
        };
        let rate_time = body
            .timestamp
            .and_then(|t| DateTime::from_timestamp(t as i64, 0))
            .or_else(|| body.date.as_deref().and_then(end_of_day))
            .unwrap_or(envelope.fetched_at);
        self.push_quotes(&envelope, &body.source, &body.quotes, rate_time, "");
    }

    fn add_timeframe(&mut self, envelope: RecordEnvelope) {
        let body: TimeframeBody = match serde_json::from_value(envelope.payload.clone()) {
            Ok(b) => b,
            Err(e) => {
                self.rejected.push(DeadLetter::from_envelope(
                    &envelope,
                    "transform",
                    "bad_timeframe_body",
                    e.to_string(),
                ));
                return;
            }
        };
        for (date, quotes) in &body.quotes {
            match end_of_day(date) {
                Some(t) => {
                    self.push_quotes(&envelope, &body.source, quotes, t, &format!("{date}:"))
                }
                None => self.rejected.push(DeadLetter::from_envelope(
                    &envelope,
                    "transform",
                    "bad_date",
                    format!("timeframe date {date:?}"),
                )),
            }
        }
    }

    /// Rejections counted by reason.
    pub fn rejected_by_reason(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for r in &self.rejected {
            *out.entry(r.reason.clone()).or_insert(0) += 1;
        }
        out
    }
}

/// A day's closing instant: rates of a historical date are those at its end.
fn end_of_day(date: &str) -> Option<DateTime<Utc>> {
    Some(
        NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(23, 59, 59)?
            .and_utc(),
    )
}

fn object_rejection(path: &str, reason: &str, detail: &str) -> DeadLetter {
    DeadLetter {
        stage: "transform".into(),
        reason: reason.into(),
        detail: detail.into(),
        record_id: RecordEnvelope::derive_id("lake", "object", path, None),
        source: "lake".into(),
        endpoint: path.into(),
        fetched_at: DateTime::<Utc>::UNIX_EPOCH,
        request_url: String::new(),
        http_status: None,
        raw: String::new(),
    }
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Schema of `clean/price_observations` (the `date` partition lives in the path).
pub fn observations_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("record_id", DataType::Utf8, false),
        Field::new("item_id", DataType::Int64, false),
        Field::new("observed_at", ts(), false),
        Field::new("endpoint", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("brand", DataType::Utf8, true),
        Field::new("category_path", DataType::Utf8, true),
        Field::new("category", DataType::Utf8, true),
        // Required: an item without a price is a dead letter, never a row.
        Field::new("sale_price", DataType::Float64, false),
        Field::new("msrp", DataType::Float64, true),
        Field::new("stock", DataType::Utf8, true),
        Field::new("rollback", DataType::Boolean, false),
        Field::new("clearance", DataType::Boolean, false),
    ]))
}

/// Schema of `clean/fx_rates`.
pub fn fx_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("record_id", DataType::Utf8, false),
        Field::new("base", DataType::Utf8, false),
        Field::new("quote", DataType::Utf8, false),
        Field::new("rate", DataType::Float64, false),
        Field::new("rate_time", ts(), false),
        Field::new("fetched_at", ts(), false),
        Field::new("endpoint", DataType::Utf8, false),
    ]))
}

/// Schema of `clean/trending_appearances`.
pub fn trending_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("record_id", DataType::Utf8, false),
        Field::new("item_id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("trend_time", ts(), false),
        Field::new("position", DataType::Int32, false),
    ]))
}

fn tsb(len: usize) -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::with_capacity(len).with_timezone("UTC")
}

/// Arrow batch of observations.
pub fn observations_batch(rows: &[&PriceObservation]) -> RecordBatch {
    let n = rows.len();
    let (mut rid, mut iid, mut at, mut ep, mut name) = (
        StringBuilder::new(),
        Int64Builder::with_capacity(n),
        tsb(n),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let (mut brand, mut cpath, mut cat, mut sale, mut msrp, mut stock, mut rb, mut cl) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        Float64Builder::with_capacity(n),
        Float64Builder::with_capacity(n),
        StringBuilder::new(),
        BooleanBuilder::with_capacity(n),
        BooleanBuilder::with_capacity(n),
    );
    for r in rows {
        rid.append_value(&r.record_id);
        iid.append_value(r.item_id);
        at.append_value(r.observed_at.timestamp_micros());
        ep.append_value(&r.endpoint);
        name.append_value(&r.name);
        brand.append_option(r.brand.as_deref());
        cpath.append_option(r.category_path.as_deref());
        cat.append_option(r.category.as_deref());
        sale.append_value(r.sale_price);
        msrp.append_option(r.msrp);
        stock.append_option(r.stock.as_deref());
        rb.append_value(r.rollback);
        cl.append_value(r.clearance);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rid.finish()),
        Arc::new(iid.finish()),
        Arc::new(at.finish()),
        Arc::new(ep.finish()),
        Arc::new(name.finish()),
        Arc::new(brand.finish()),
        Arc::new(cpath.finish()),
        Arc::new(cat.finish()),
        Arc::new(sale.finish()),
        Arc::new(msrp.finish()),
        Arc::new(stock.finish()),
        Arc::new(rb.finish()),
        Arc::new(cl.finish()),
    ];
    RecordBatch::try_new(observations_schema(), columns).expect("columns match the schema")
}

/// Arrow batch of FX rates.
pub fn fx_batch(rows: &[&FxRate]) -> RecordBatch {
    let n = rows.len();
    let (mut rid, mut base, mut quote, mut rate, mut rt, mut fa, mut ep) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        Float64Builder::with_capacity(n),
        tsb(n),
        tsb(n),
        StringBuilder::new(),
    );
    for r in rows {
        rid.append_value(&r.record_id);
        base.append_value(&r.base);
        quote.append_value(&r.quote);
        rate.append_value(r.rate);
        rt.append_value(r.rate_time.timestamp_micros());
        fa.append_value(r.fetched_at.timestamp_micros());
        ep.append_value(&r.endpoint);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rid.finish()),
        Arc::new(base.finish()),
        Arc::new(quote.finish()),
        Arc::new(rate.finish()),
        Arc::new(rt.finish()),
        Arc::new(fa.finish()),
        Arc::new(ep.finish()),
    ];
    RecordBatch::try_new(fx_schema(), columns).expect("columns match the schema")
}

/// Arrow batch of trending appearances.
pub fn trending_batch(rows: &[&TrendingAppearance]) -> RecordBatch {
    let n = rows.len();
    let (mut rid, mut iid, mut name, mut tt, mut pos) = (
        StringBuilder::new(),
        Int64Builder::with_capacity(n),
        StringBuilder::new(),
        tsb(n),
        Int32Builder::with_capacity(n),
    );
    for r in rows {
        rid.append_value(&r.record_id);
        iid.append_value(r.item_id);
        name.append_value(&r.name);
        tt.append_value(r.trend_time.timestamp_micros());
        pos.append_value(r.position);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rid.finish()),
        Arc::new(iid.finish()),
        Arc::new(name.finish()),
        Arc::new(tt.finish()),
        Arc::new(pos.finish()),
    ];
    RecordBatch::try_new(trending_schema(), columns).expect("columns match the schema")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LINE: &str = r#"{"kind":"raw","record_id":"r1","source":"walmart","endpoint":"items","fetched_at":"2026-01-01T00:00:00Z","request_url":"http://x","http_status":200,"payload":{"itemId":7,"name":"TV","salePrice":80}}"#;

    #[test]
    fn objects_are_decompressed_by_extension() {
        let text = format!("{LINE}\n\n{LINE}\n");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(text.as_bytes(), 1).unwrap();
        for (path, bytes) in [
            ("raw/a/x.ndjson.gz", gz.clone()),
            ("raw/a/x.ndjson.zst", zst.clone()),
            ("raw/a/x.ndjson", text.as_bytes().to_vec()),
        ] {
            let mut parsed = Parsed::default();
            parsed.add_object(path, &bytes);
            assert_eq!(parsed.observations.len(), 2, "{path}");
            assert!(parsed.rejected.is_empty(), "{path}");
            assert_eq!(parsed.observations[0].sale_price, 80.0);
        }
        // Compressed bytes under the wrong name are one rejected object, not a panic.
        let mut parsed = Parsed::default();
        parsed.add_object("raw/a/x.ndjson.gz", &zst);
        assert_eq!(
            parsed.rejected_by_reason().get("unreadable_object"),
            Some(&1)
        );
    }

    /// `price_observations.sale_price` is required: an item without a price (no `salePrice`,
    /// or `null`) is a dead letter with its reason, never a row with a null price, and a
    /// numeric string is a price.
    #[test]
    fn an_item_without_a_sale_price_is_a_dead_letter_and_a_numeric_string_is_a_price() {
        let lines = [
            LINE.replace(",\"salePrice\":80", ""),
            LINE.replace("\"salePrice\":80", "\"salePrice\":null"),
            LINE.replace("\"salePrice\":80", "\"salePrice\":\"12.50\""),
            LINE.to_string(),
        ];
        let mut parsed = Parsed::default();
        parsed.add_object("raw/a/x.ndjson", lines.join("\n").as_bytes());
        assert_eq!(
            parsed.rejected_by_reason(),
            BTreeMap::from([("missing_sale_price".to_string(), 2)])
        );
        let prices: Vec<f64> = parsed.observations.iter().map(|o| o.sale_price).collect();
        assert_eq!(prices, [12.5, 80.0]);
        let schema = observations_schema();
        let field = schema.field_with_name("sale_price").unwrap();
        assert!(
            !field.is_nullable(),
            "the clean table declares the price required"
        );
        let rows: Vec<&PriceObservation> = parsed.observations.iter().collect();
        assert_eq!(observations_batch(&rows).column(8).null_count(), 0);
    }

    #[tokio::test]
    async fn objects_parsed_on_several_threads_come_out_as_on_one() {
        // Seven objects, each with its own item and price, one of them unreadable.
        let objects: Vec<(String, bytes::Bytes)> = (0..7)
            .map(|i| {
                let path = format!("raw/a/o{i}.ndjson");
                let body = if i == 4 {
                    "{not json".to_string()
                } else {
                    LINE.replace("\"itemId\":7", &format!("\"itemId\":{}", 100 + i))
                        .replace("\"salePrice\":80", &format!("\"salePrice\":{}", 10 + i))
                };
                (path, bytes::Bytes::from(body))
            })
            .collect();
        let mut one = Parsed::default();
        for (path, bytes) in &objects {
            one.add_object(path, bytes);
        }
        assert_eq!(one.observations.len(), 6);
        assert_eq!(one.rejected.len(), 1);
        for workers in [1, 3, 16] {
            let many = Parsed::from_objects(objects.clone(), workers).await;
            assert_eq!(many.observations, one.observations, "{workers} workers");
            let prices: Vec<_> = many.observations.iter().map(|o| o.sale_price).collect();
            assert_eq!(
                prices,
                [10.0, 11.0, 12.0, 13.0, 15.0, 16.0],
                "{workers} workers keep the order of the objects"
            );
            assert_eq!(many.rejected_by_reason(), one.rejected_by_reason());
        }
    }

    /// Every variant of a few real lines (fields missing, null, of another type, twice,
    /// escaped) that the fast path reads gives exactly the general path's rows; the rest it
    /// leaves to the general path.
    #[test]
    fn the_fast_path_agrees_with_the_general_one() {
        use serde_json::{json, Value};
        let item = json!({"itemId": 110011081, "parentItemId": 110011081,
            "name": "Sony Ultra Soda \"CP-482\", Black \u{e9}", "msrp": 39.1, "salePrice": 25.09,
            "upc": "764671338214", "categoryPath": "Grocery/Beverages/Soda", "brandName": "Sony",
            "stock": "Available", "rollBack": true, "clearance": false, "customerRating": "3.7",
            "attributes": {"color": "Black"}});
        let line = |endpoint: &str, context: Option<Value>| {
            let mut l = json!({"kind": "raw", "record_id": "97b0990ada56bfa3", "source": "walmart",
                "endpoint": endpoint, "fetched_at": "2026-01-03T12:00:00.200Z",
                "request_url": "http://127.0.0.1:8100/v1/trends?apiKey=REDACTED",
                "http_status": 200, "position": 3, "payload": item.clone()});
            if let Some(c) = context {
                l["context"] = c;
            }
            l
        };
        let bases = [
            line("trends", Some(json!({"time": 1767441600200_i64}))),
            line("items", None),
            line("search", Some(json!({"totalResults": 3}))),
            line("vod", None),
        ];
        let odd_values = [
            Value::Null,
            json!(0),
            json!(-1),
            json!(1.5),
            json!(12),
            json!("12"),
            json!(""),
            json!(" 7 "),
            json!(true),
            json!([]),
            json!({}),
            json!({"time": "x"}),
            json!({"time": 1.5}),
            json!("a\"b\u{e9}"),
            json!(u64::MAX),
        ];
        let mut lines: Vec<String> = Vec::new();
        for base in &bases {
            lines.push(base.to_string());
            let top: Vec<String> = base.as_object().unwrap().keys().cloned().collect();
            let inner: Vec<String> = base["payload"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            for key in top.iter().chain(["unknown".to_string()].iter()) {
                let mut removed = base.clone();
                removed.as_object_mut().unwrap().remove(key);
                lines.push(removed.to_string());
                for value in &odd_values {
                    let mut changed = base.clone();
                    changed[key.as_str()] = value.clone();
                    lines.push(changed.to_string());
                }
                // The same key twice (text surgery: JSON values cannot hold it).
                let text = base.to_string();
                lines.push(text.replacen('{', &format!("{{\"{key}\":1,"), 1));
            }
            for key in inner.iter().chain(["unknown".to_string()].iter()) {
                let mut removed = base.clone();
                removed["payload"].as_object_mut().unwrap().remove(key);
                lines.push(removed.to_string());
                for value in &odd_values {
                    let mut changed = base.clone();
                    changed["payload"][key.as_str()] = value.clone();
                    lines.push(changed.to_string());
                }
                let text = base.to_string();
                lines.push(text.replacen(
                    "\"payload\":{",
                    &format!("\"payload\":{{\"{key}\":2,"),
                    1,
                ));
            }
            let text = base.to_string();
            lines.push(format!("[{text}]"));
            lines.push(format!("{text} x"));
            lines.push(
                text.replace("\"payload\":{", "\"payload\":[{")
                    .replacen("}}", "}]}", 1),
            );
        }
        let (mut read, mut left) = (0, 0);
        for line in &lines {
            let mut general = Parsed::default();
            match serde_json::from_str::<LakeRecord>(line) {
                Ok(LakeRecord::Raw(envelope)) => general.add_envelope(envelope),
                Ok(LakeRecord::DeadLetter(_)) => {}
                Err(_) => general
                    .rejected
                    .push(object_rejection("x", "malformed_raw_line", "")),
            }
            let Some(fast) = fast_item::ItemLine::read(line) else {
                left += 1;
                continue;
            };
            read += 1;
            let mut quick = Parsed::default();
            quick.add_item_row(ItemRow::from_fast(fast).expect("a fast line has a price"));
            assert!(
                general.rejected.is_empty(),
                "the general path rejects {line}"
            );
            assert_eq!(quick.observations, general.observations, "{line}");
            assert_eq!(quick.trending, general.trending, "{line}");
        }
        // Not vacuous: both paths are taken, and the plain lines go the fast way.
        assert!(read > 200 && left > 200, "read {read}, left {left}");
        for base in &bases {
            assert!(fast_item::ItemLine::read(&base.to_string()).is_some());
        }
    }
}
