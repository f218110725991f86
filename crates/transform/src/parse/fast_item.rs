//! The common line of the raw zone, a Walmart item that makes a clean row, read without
//! building its JSON tree. An item's payload carries some thirty fields (descriptions, image
//! and product URLs, ...) of which the clean tables keep nine; the general path builds a
//! `serde_json::Value` for every one of them, twice (serde's tagged `LakeRecord` buffers the
//! line before reading it), and the parse stage spent most of its time there.
//!
//! This path only ever answers "here is the row" or "not mine": any line it does not read
//! exactly as the general path would (another kind or endpoint, a field of a surprising type,
//! a duplicate key, an item the general path rejects) goes to the general path, which keeps
//! every rule about rejections in one place. `tests::the_fast_path_agrees_with_the_general_one`
//! holds the two to the same rows.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

/// The envelope fields of a raw item line: those the clean rows need, and those the
/// general path requires (a line without them is malformed there, so it must not be
/// readable here).
pub(super) struct ItemLine<'a> {
    pub record_id: Cow<'a, str>,
    pub endpoint: Cow<'a, str>,
    pub fetched_at: DateTime<Utc>,
    pub position: Option<u32>,
    /// `context.time` when the context is an object with an integer `time`.
    pub context_time: Option<i64>,
    pub payload: ItemPayload<'a>,
    source_is_walmart: bool,
    kind_is_raw: bool,
}

/// The item fields the clean tables keep.
#[derive(Default)]
pub(super) struct ItemPayload<'a> {
    pub item_id: u64,
    pub name: Option<Cow<'a, str>>,
    pub msrp: Option<f64>,
    pub sale_price: Option<f64>,
    pub category_path: Option<Cow<'a, str>>,
    pub brand_name: Option<Cow<'a, str>>,
    pub stock: Option<Cow<'a, str>>,
    pub roll_back: Option<bool>,
    pub clearance: Option<bool>,
}

impl<'a> ItemLine<'a> {
    /// The line as an item row, or `None` when the general path must read it.
    pub(super) fn read(line: &'a str) -> Option<ItemLine<'a>> {
        let parsed: ItemLine<'a> = serde_json::from_str(line).ok()?;
        let usable = parsed.kind_is_raw
            && parsed.source_is_walmart
            && pricelake_core::models::walmart::ITEM_ENDPOINTS.contains(&parsed.endpoint.as_ref())
            && parsed.payload.item_id > 0
            && parsed.payload.sale_price.is_some_and(f64::is_finite)
            && parsed.payload.msrp.is_none_or(f64::is_finite);
        usable.then_some(parsed)
    }
}

/// Reads one field's value; a second value for the same key is an error (the general path
/// would keep the last one: such a line is left to it). For a field that may be `null`,
/// `T` is an `Option` and `Some(None)` records that the key was seen.
fn once<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    slot: &mut Option<T>,
    map: &mut A,
    key: &str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::custom(format!("duplicate field {key}")));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// A string read in place when the line holds it unescaped. serde's own `Cow<str>` always
/// copies (it borrows only under `#[serde(borrow)]` in derived code), and this path reads
/// some forty keys and a handful of values per line: copying each was a third of its
/// allocations.
struct Text<'de>(Cow<'de, str>);

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v)))
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

/// An optional [`Text`], `null` as `None`.
fn text<'de>(value: Option<Option<Text<'de>>>) -> Option<Option<Cow<'de, str>>> {
    value.map(|v| v.map(|t| t.0))
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = ItemLine<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a raw item line (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ItemLine<'de>, A::Error> {
        let mut kind: Option<Text<'de>> = None;
        let mut record_id: Option<Text<'de>> = None;
        let mut source: Option<Text<'de>> = None;
        let mut endpoint: Option<Text<'de>> = None;
        let mut fetched_at = None;
        let mut request_url: Option<Text<'de>> = None;
        let mut http_status: Option<u16> = None;
        let mut position: Option<Option<u32>> = None;
        let mut context: Option<Option<Context>> = None;
        let mut payload = None;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match key.as_ref() {
                "kind" => once(&mut kind, &mut map, "kind")?,
                "record_id" => once(&mut record_id, &mut map, "record_id")?,
                "source" => once(&mut source, &mut map, "source")?,
                "endpoint" => once(&mut endpoint, &mut map, "endpoint")?,
                "fetched_at" => once(&mut fetched_at, &mut map, "fetched_at")?,
                "request_url" => once(&mut request_url, &mut map, "request_url")?,
                "http_status" => once(&mut http_status, &mut map, "http_status")?,
                "position" => once(&mut position, &mut map, "position")?,
                "context" => once(&mut context, &mut map, "context")?,
                "payload" => once(&mut payload, &mut map, "payload")?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = |field| de::Error::custom(format!("missing field {field}"));
        if request_url.is_none() {
            return Err(missing("request_url"));
        }
        if http_status.is_none() {
            return Err(missing("http_status"));
        }
        Ok(ItemLine {
            kind_is_raw: kind.is_some_and(|k| k.0 == "raw"),
            source_is_walmart: source.is_some_and(|s| s.0 == "walmart"),
            record_id: record_id.ok_or_else(|| missing("record_id"))?.0,
            endpoint: endpoint.ok_or_else(|| missing("endpoint"))?.0,
            fetched_at: fetched_at.ok_or_else(|| missing("fetched_at"))?,
            position: position.flatten(),
            context_time: context.flatten().and_then(|c| c.time),
            payload: payload.ok_or_else(|| missing("payload"))?,
        })
    }
}

impl<'de> Deserialize<'de> for ItemLine<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A map only: serde's derived structs would also take an array, which the general
        // path reads differently.
        deserializer.deserialize_map(LineVisitor)
    }
}

/// The envelope's `context`: only `time` (trends) is read; any other shape is left to the
/// general path.
struct Context {
    time: Option<i64>,
}

struct ContextVisitor;

impl<'de> Visitor<'de> for ContextVisitor {
    type Value = Context;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Context, A::Error> {
        let mut time: Option<i64> = None;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if key == "time" {
                once(&mut time, &mut map, "time")?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Context { time })
    }
}

impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ContextVisitor)
    }
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = ItemPayload<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an item object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ItemPayload<'de>, A::Error> {
        let mut item_id: Option<u64> = None;
        let mut name: Option<Option<Text<'de>>> = None;
        let mut msrp = None;
        let mut sale_price = None;
        let mut category_path: Option<Option<Text<'de>>> = None;
        let mut brand_name: Option<Option<Text<'de>>> = None;
        let mut stock: Option<Option<Text<'de>>> = None;
        let mut roll_back = None;
        let mut clearance = None;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match key.as_ref() {
                "itemId" => once(&mut item_id, &mut map, "itemId")?,
                "name" => once(&mut name, &mut map, "name")?,
                "msrp" => once(&mut msrp, &mut map, "msrp")?,
                "salePrice" => once(&mut sale_price, &mut map, "salePrice")?,
                "categoryPath" => once(&mut category_path, &mut map, "categoryPath")?,
                "brandName" => once(&mut brand_name, &mut map, "brandName")?,
                "stock" => once(&mut stock, &mut map, "stock")?,
                "rollBack" => once(&mut roll_back, &mut map, "rollBack")?,
                "clearance" => once(&mut clearance, &mut map, "clearance")?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ItemPayload {
            item_id: item_id.unwrap_or(0),
            name: text(name).flatten(),
            msrp: msrp.flatten(),
            sale_price: sale_price.flatten(),
            category_path: text(category_path).flatten(),
            brand_name: text(brand_name).flatten(),
            stock: text(stock).flatten(),
            roll_back: roll_back.flatten(),
            clearance: clearance.flatten(),
        })
    }
}

impl<'de> Deserialize<'de> for ItemPayload<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PayloadVisitor)
    }
}
