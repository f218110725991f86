//! What the emulator sells: products, their prices at any instant, the trending lists,
//! the value of the day and the exchange rates, either generated from a seed or read from
//! a hand-written fixture. Everything is a pure function of (catalog, instant).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::error::EmulatorError;
use crate::fixture::Fixture;
use crate::fx;
use crate::hash::{hash, signed, unit};
use crate::taxonomy::{self, Category};

/// A price schedule entry of a fixture item: from `from` on (until the next entry) the
/// item has this state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScheduledState {
    pub from: DateTime<Utc>,
    pub state: ItemState,
}

/// How a product's price is found at an instant.
#[derive(Debug, Clone)]
pub(crate) enum Pricing {
    /// Generated: a base price moved by day-level hashed factors.
    Model { base: f64, phases: [i64; 3] },
    /// Fixture: piecewise constant, sorted by `from`.
    Schedule(Vec<ScheduledState>),
}

/// The time-dependent part of an item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ItemState {
    pub sale_price: f64,
    pub msrp: Option<f64>,
    pub roll_back: bool,
    pub clearance: bool,
    pub special_buy: bool,
    pub stock: String,
}

/// The fixed part of an item.
#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub id: u64,
    pub parent_id: u64,
    pub name: String,
    pub brand: Option<String>,
    pub upc: Option<String>,
    pub category_node: Option<String>,
    pub category_path: Option<String>,
    pub rating: Option<String>,
    pub num_reviews: Option<u64>,
    pub short_description: String,
    pub thumbnail: String,
    pub product_url: String,
    pub available_online: bool,
    pub offer_type: &'static str,
    pub free_ship_to_store: bool,
    pub standard_ship_rate: f64,
    pub color: Option<&'static str>,
    pub pricing: Pricing,
    /// The generated catalog's msrp (fixture items carry it per schedule entry).
    pub msrp: Option<f64>,
}

/// Trending, value-of-the-day and exchange-rate sources.
#[derive(Debug, Clone)]
enum Schedules {
    Generated {
        /// Persistently popular products, most popular first.
        pool: Vec<usize>,
        /// Products with an msrp: value-of-the-day candidates.
        vod_candidates: Vec<usize>,
    },
    Fixture {
        trending: Vec<(DateTime<Utc>, Vec<u64>)>,
        vod: Vec<(DateTime<Utc>, u64)>,
        fx: Vec<(DateTime<Utc>, BTreeMap<String, f64>)>,
    },
}

/// Everything the emulator serves, independent of HTTP: products and their prices at
/// any instant, trending lists, the value of the day, the taxonomy and exchange rates.
///
/// Exists so that a test can compute what the emulator will answer without a server,
/// and so that the generated and the fixture catalogs go through the same routes.
#[derive(Debug, Clone)]
pub struct Catalog {
    seed: u64,
    products: Vec<Product>,
    by_upc: HashMap<String, usize>,
    taxonomy: Vec<Category>,
    schedules: Schedules,
}

const MODIFIERS: &[&str] = &[
    "Classic",
    "Premium",
    "Essential",
    "Pro",
    "Deluxe",
    "Compact",
    "Ultra",
    "Everyday",
    "Signature",
    "Plus",
];
const COLORS: &[&str] = &[
    "Black", "White", "Gray", "Blue", "Red", "Silver", "Navy", "Green",
];
const SENTENCES: &[&str] = &[
    "Built to last & easy to use.",
    "A customer favorite at a great price.",
    "Everyday low price, backed by our guarantee.",
    "Designed for comfort and performance.",
];

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A shelf price: `x.99`/`x.97`/`x.00`/`x.88` above 20 USD, cents below.
fn shelf_price(p: f64, k: u64) -> f64 {
    if p >= 20.0 {
        p.floor() + [0.99, 0.97, 0.0, 0.88][(k % 4) as usize]
    } else {
        round2(p.max(0.5))
    }
}

pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// A 12-digit UPC-A with a valid check digit.
fn upc(h: u64) -> String {
    let body = format!("{:011}", h % 100_000_000_000);
    let sum: u32 = body
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap_or(0) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Days a renamed product's name variant holds (see [`Catalog::name_at`]).
const RENAME_PERIOD_DAYS: i64 = 21;

pub(crate) fn day_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(86_400)
}

/// The entry of a `from`-sorted schedule in effect at `t`: the last one whose `from` is
/// not after `t`; before the first entry, the first.
pub(crate) fn in_effect<T>(schedule: &[(DateTime<Utc>, T)], t: DateTime<Utc>) -> Option<&T> {
    let n = schedule.partition_point(|(from, _)| *from <= t);
    schedule.get(n.saturating_sub(1)).map(|(_, v)| v)
}

impl Catalog {
    /// The generated catalog: `items` products spread over the built-in taxonomy, prices
    /// moving day by day, all derived from `seed`.
    pub fn generate(seed: u64, items: usize) -> Catalog {
        let (roots, leaves) = taxonomy::builtin();
        let id_base = 10_000_000 + (hash(&[seed, 0xB45E]) % 40) * 10_000_000;
        let mut products = Vec::with_capacity(items);
        for i in 0..items as u64 {
            let h = |k: u64| hash(&[seed, i, k]);
            let u = |k: u64| unit(&[seed, i, k]);
            let id = id_base + i * 1000 + h(0) % 997 + 1;
            let leaf = &leaves[(h(1) % leaves.len() as u64) as usize];
            let brand = (u(2) >= 0.1)
                .then(|| leaf.dept.brands[(h(3) % leaf.dept.brands.len() as u64) as usize]);
            let noun = leaf.nouns[(h(4) % leaf.nouns.len() as u64) as usize];
            let modifier = MODIFIERS[(h(5) % MODIFIERS.len() as u64) as usize];
            let color = (u(6) < 0.7).then(|| COLORS[(h(7) % COLORS.len() as u64) as usize]);
            let code = format!(
                "{}{}-{}",
                (b'A' + (h(8) % 26) as u8) as char,
                (b'A' + (h(9) % 26) as u8) as char,
                100 + h(10) % 900
            );
            let mut name = match brand {
                Some(b) => format!("{b} {modifier} {noun} {code}"),
                None => format!("{modifier} {noun} {code}"),
            };
            if let Some(c) = color {
                name.push_str(", ");
                name.push_str(c);
            }
            let (lo, hi) = leaf.price;
            let raw = (lo.ln() + u(11) * (hi.ln() - lo.ln())).exp();
            let base = shelf_price(raw, h(12));
            let msrp = (u(13) < 0.7).then(|| shelf_price(base * (1.08 + 0.3 * u(14)), h(15)));
            let rating = (u(16) < 0.8).then(|| {
                let r = 2.8 + 2.2 * u(17).sqrt();
                let decimals = 1 + (h(18) % 3) as usize;
                let s = format!("{r:.decimals$}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            });
            let num_reviews = rating.as_ref().map(|_| 1 + (u(19) * 8.0).exp() as u64);
            let sentence = SENTENCES[(h(20) % SENTENCES.len() as u64) as usize];
            products.push(Product {
                id,
                parent_id: if u(21) < 0.15 { id + 1 + h(22) % 500 } else { id },
                short_description: html_escape(&format!("<p>{name}. {sentence}</p>")),
                thumbnail: format!(
                    "https://i5.walmartimages.com/asr/{:08x}-{:04x}.jpeg?odnHeight=100&odnWidth=100",
                    h(23) & 0xFFFF_FFFF,
                    h(24) & 0xFFFF
                ),
                product_url: format!("https://www.walmart.com/ip/{}/{id}", slug(&name)),
                name,
                brand: brand.map(str::to_string),
                upc: Some(upc(h(25))),
                category_node: Some(leaf.id.clone()),
                category_path: Some(leaf.path.clone()),
                msrp,
                rating,
                num_reviews,
                available_online: u(26) < 0.95,
                offer_type: if u(27) < 0.7 {
                    "ONLINE_AND_STORE"
                } else {
                    "ONLINE_ONLY"
                },
                free_ship_to_store: u(28) < 0.8,
                standard_ship_rate: if base >= 35.0 { 0.0 } else { 5.99 },
                color,
                pricing: Pricing::Model {
                    base,
                    phases: [(h(29) % 14) as i64, (h(30) % 5) as i64, (h(31) % 30) as i64],
                },
            });
        }
        let mut pool: Vec<usize> = (0..products.len()).collect();
        pool.sort_by_key(|&i| hash(&[seed, products[i].id, 9]));
        pool.truncate(60);
        let vod_candidates: Vec<usize> = (0..products.len())
            .filter(|&i| products[i].msrp.is_some())
            .collect();
        Catalog::assemble(
            seed,
            products,
            roots,
            Schedules::Generated {
                pool,
                vod_candidates,
            },
        )
    }

    fn assemble(
        seed: u64,
        products: Vec<Product>,
        taxonomy: Vec<Category>,
        schedules: Schedules,
    ) -> Catalog {
        let by_upc = products
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.upc.clone().map(|u| (u, i)))
            .collect();
        Catalog {
            seed,
            products,
            by_upc,
            taxonomy,
            schedules,
        }
    }

    /// A catalog made of a fixture's items and schedules, served by the same routes.
    ///
    /// Never panics: an inconsistent fixture should be rejected by [`Fixture::validate`]
    /// first (as [`Catalog::load_fixture`] does); unknown ids are then simply not served.
    pub fn from_fixture(f: Fixture) -> Catalog {
        let (taxonomy, mut products, trending, vod, fx) = f.into_parts();
        products.sort_by_key(|p| p.id);
        Catalog::assemble(
            0,
            products,
            taxonomy,
            Schedules::Fixture { trending, vod, fx },
        )
    }

    /// Reads, validates and converts a fixture file.
    pub fn load_fixture(path: impl AsRef<Path>) -> Result<Catalog, EmulatorError> {
        let fixture = Fixture::load(path.as_ref())?;
        Ok(Catalog::from_fixture(fixture))
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.products.len()
    }

    /// True when the catalog has no products.
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// Every item id, ascending.
    pub fn item_ids(&self) -> Vec<u64> {
        self.products.iter().map(|p| p.id).collect()
    }

    /// Whether this catalog comes from a fixture.
    pub fn is_fixture(&self) -> bool {
        matches!(self.schedules, Schedules::Fixture { .. })
    }

    /// The item as the API would serve it at `t`, or `None` for an unknown id.
    pub fn item(&self, id: u64, t: DateTime<Utc>) -> Option<Value> {
        self.index_of(id).map(|i| self.item_json(i, t))
    }

    /// The ids on the trending list at `t`, in list order.
    pub fn trending_ids(&self, t: DateTime<Utc>) -> Vec<u64> {
        self.trending(t)
            .into_iter()
            .map(|i| self.products[i].id)
            .collect()
    }

    /// The value-of-the-day item id at `t`.
    pub fn vod_id(&self, t: DateTime<Utc>) -> Option<u64> {
        self.vod(t).map(|i| self.products[i].id)
    }

    /// Currency codes quoted (USD included), sorted.
    pub fn currencies(&self) -> Vec<String> {
        match &self.schedules {
            Schedules::Generated { .. } => {
                fx::CURRENCIES.iter().map(|c| c.code.to_string()).collect()
            }
            Schedules::Fixture { fx, .. } => {
                let mut codes: Vec<String> = fx
                    .first()
                    .map(|(_, q)| q.keys().cloned().collect())
                    .unwrap_or_default();
                if !codes.iter().any(|c| c == "USD") {
                    codes.push("USD".to_string());
                }
                codes.sort();
                codes
            }
        }
    }

    /// Units of `code` per USD published for the hour containing `t` (the feed updates
    /// hourly: the rate in effect at the start of that hour).
    pub fn usd_rate(&self, code: &str, t: DateTime<Utc>) -> Option<f64> {
        let hour = fx::hour_start(t);
        match &self.schedules {
            Schedules::Generated { .. } => {
                let spec = fx::spec(code)?;
                Some(fx::usd_rate(
                    self.seed,
                    spec,
                    hour.timestamp().div_euclid(3600),
                ))
            }
            Schedules::Fixture { fx, .. } => {
                if code == "USD" {
                    return Some(1.0);
                }
                in_effect(fx, hour)?.get(code).copied()
            }
        }
    }

    pub(crate) fn products(&self) -> &[Product] {
        &self.products
    }

    pub(crate) fn index_of(&self, id: u64) -> Option<usize> {
        self.products.binary_search_by_key(&id, |p| p.id).ok()
    }

    pub(crate) fn index_of_upc(&self, upc: &str) -> Option<usize> {
        self.by_upc.get(upc).copied()
    }

    pub(crate) fn taxonomy_json(&self) -> Value {
        taxonomy::to_json(&self.taxonomy)
    }

    /// The trending list at `t`: a few persistently popular products (the more popular,
    /// the more often) and the rest drawn at random, changing at each UTC midnight.
    pub(crate) fn trending(&self, t: DateTime<Utc>) -> Vec<usize> {
        match &self.schedules {
            Schedules::Fixture { trending, .. } => in_effect(trending, t)
                .map(|ids| ids.iter().filter_map(|id| self.index_of(*id)).collect())
                .unwrap_or_default(),
            Schedules::Generated { pool, .. } => {
                let day = signed(day_of(t));
                let seed = self.seed;
                let n = self.products.len();
                let target = ((23 + hash(&[seed, day, 14]) % 5) as usize).min(n);
                let mut out: Vec<usize> = Vec::with_capacity(target);
                // The popular pool, visited in a daily order: each product gets in with a
                // chance that falls with its rank, until 17 places are taken.
                let mut visit: Vec<(usize, usize)> = pool.iter().copied().enumerate().collect();
                visit.sort_by_key(|&(_, i)| hash(&[seed, day, self.products[i].id, 16]));
                for (rank, i) in visit {
                    if out.len() >= target.min(17) {
                        break;
                    }
                    let p = 0.95 - 0.85 * rank as f64 / pool.len() as f64;
                    if unit(&[seed, day, self.products[i].id, 10]) < p {
                        out.push(i);
                    }
                }
                let mut slot = 0u64;
                while out.len() < target {
                    let i = (hash(&[seed, day, slot, 15]) % n as u64) as usize;
                    if !out.contains(&i) {
                        out.push(i);
                    }
                    slot += 1;
                }
                out.sort_by_key(|&i| hash(&[seed, day, self.products[i].id, 13]));
                out
            }
        }
    }

    /// The value of the day at `t`.
    pub(crate) fn vod(&self, t: DateTime<Utc>) -> Option<usize> {
        match &self.schedules {
            Schedules::Fixture { vod, .. } => in_effect(vod, t).and_then(|id| self.index_of(*id)),
            Schedules::Generated { vod_candidates, .. } => {
                let k = hash(&[self.seed, signed(day_of(t)), 11]);
                if vod_candidates.is_empty() {
                    (!self.products.is_empty()).then(|| (k % self.products.len() as u64) as usize)
                } else {
                    Some(vod_candidates[(k % vod_candidates.len() as u64) as usize])
                }
            }
        }
    }

    /// Price, flags and stock of product `i` at `t`.
    pub(crate) fn state(&self, i: usize, t: DateTime<Utc>) -> ItemState {
        let p = &self.products[i];
        match &p.pricing {
            Pricing::Schedule(schedule) => {
                let n = schedule.partition_point(|s| s.from <= t);
                schedule[n.saturating_sub(1)].state.clone()
            }
            Pricing::Model { base, phases } => {
                let (seed, id) = (self.seed, p.id);
                let day = day_of(t);
                let u = |k: u64, c: i64| unit(&[seed, id, k, signed(c)]);
                // A level that holds for two weeks, and small moves on some days.
                let mut f = 1.0 + 0.06 * (2.0 * u(1, (day + phases[0]).div_euclid(14)) - 1.0);
                if u(2, day) < 0.25 {
                    f *= 1.0 + 0.04 * (2.0 * u(3, day) - 1.0);
                }
                // Rollbacks: 3 days out of some 5-day blocks, 10-25 % off.
                let mut roll_back = false;
                let rb = day + phases[1];
                if u(4, rb.div_euclid(5)) < 0.10 && rb.rem_euclid(5) < 3 {
                    f *= 1.0 - (0.10 + 0.15 * u(5, rb.div_euclid(5)));
                    roll_back = true;
                }
                // Clearance: the last 10 days of some 30-day blocks, 30-50 % off.
                let mut clearance = false;
                let cb = day + phases[2];
                if u(6, cb.div_euclid(30)) < 0.04 && cb.rem_euclid(30) >= 20 {
                    f *= 0.5 + 0.2 * u(7, cb.div_euclid(30));
                    clearance = true;
                }
                let mut special_buy = false;
                if self.vod(t) == Some(i) {
                    f = f.min(0.45 + 0.2 * unit(&[seed, signed(day), 12]));
                    special_buy = true;
                }
                let s = u(8, day);
                let stock = if s < 0.04 {
                    "Not available"
                } else if s < 0.14 || clearance {
                    "Limited Supply"
                } else {
                    "Available"
                };
                ItemState {
                    sale_price: round2(base * f).max(0.01),
                    msrp: p.msrp,
                    roll_back,
                    clearance,
                    special_buy,
                    stock: stock.to_string(),
                }
            }
        }
    }

    /// The name of product `i` at `t`. Real listings get renamed (new packaging, another
    /// size), so a generated product sometimes is too: about one in twelve carries a variant
    /// of its name that can change every three weeks (at a time of its own), which gives the
    /// `items` table a history of changes to show. Fixture products keep their names.
    pub(crate) fn name_at(&self, i: usize, t: DateTime<Utc>) -> String {
        let p = &self.products[i];
        if !matches!(p.pricing, Pricing::Model { .. }) {
            return p.name.clone();
        }
        let (seed, id) = (self.seed, p.id);
        if unit(&[seed, id, 40]) >= 0.08 {
            return p.name.clone();
        }
        let phase = (hash(&[seed, id, 41]) % RENAME_PERIOD_DAYS as u64) as i64;
        let block = (day_of(t) + phase).div_euclid(RENAME_PERIOD_DAYS);
        match hash(&[seed, id, 42, signed(block)]) % 3 {
            0 => p.name.clone(),
            1 => format!("{} (New Packaging)", p.name),
            _ => format!("{} - Value Size", p.name),
        }
    }

    /// The item object of product `i` at `t`, with the fields the real API sends
    /// (optional ones omitted when unknown, `customerRating` as a string).
    pub(crate) fn item_json(&self, i: usize, t: DateTime<Utc>) -> Value {
        let p = &self.products[i];
        let s = self.state(i, t);
        let mut m = Map::new();
        m.insert("itemId".into(), json!(p.id));
        m.insert("parentItemId".into(), json!(p.parent_id));
        m.insert("name".into(), json!(self.name_at(i, t)));
        if let Some(msrp) = s.msrp {
            m.insert("msrp".into(), json!(msrp));
        }
        m.insert("salePrice".into(), json!(s.sale_price));
        if let Some(upc) = &p.upc {
            m.insert("upc".into(), json!(upc));
        }
        if let Some(path) = &p.category_path {
            m.insert("categoryPath".into(), json!(path));
        }
        if let Some(node) = &p.category_node {
            m.insert("categoryNode".into(), json!(node));
        }
        m.insert("shortDescription".into(), json!(p.short_description));
        if let Some(brand) = &p.brand {
            m.insert("brandName".into(), json!(brand));
        }
        m.insert("thumbnailImage".into(), json!(p.thumbnail));
        m.insert(
            "mediumImage".into(),
            json!(p
                .thumbnail
                .replace("odnHeight=100&odnWidth=100", "odnHeight=180&odnWidth=180")),
        );
        m.insert("productUrl".into(), json!(p.product_url));
        m.insert("standardShipRate".into(), json!(p.standard_ship_rate));
        m.insert("marketplace".into(), json!(false));
        if let Some(rating) = &p.rating {
            m.insert("customerRating".into(), json!(rating));
        }
        if let Some(n) = p.num_reviews {
            m.insert("numReviews".into(), json!(n));
        }
        m.insert("rollBack".into(), json!(s.roll_back));
        m.insert("clearance".into(), json!(s.clearance));
        m.insert("specialBuy".into(), json!(s.special_buy));
        m.insert("stock".into(), json!(s.stock));
        m.insert("freeShipToStore".into(), json!(p.free_ship_to_store));
        m.insert("availableOnline".into(), json!(p.available_online));
        m.insert("offerType".into(), json!(p.offer_type));
        m.insert("bundle".into(), json!(false));
        let mut attributes = Map::new();
        if let Some(c) = p.color {
            attributes.insert("color".into(), json!(c));
        }
        m.insert("attributes".into(), Value::Object(attributes));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use std::collections::HashSet;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
    }

    #[test]
    fn generated_items_are_realistic() {
        let c = Catalog::generate(42, 2000);
        assert_eq!(c.len(), 2000);
        let ids = c.item_ids();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let with_msrp = c.products().iter().filter(|p| p.msrp.is_some()).count();
        assert!((1200..1600).contains(&with_msrp), "msrp share {with_msrp}");
        let rated = (0..c.len())
            .map(|i| c.item_json(i, t0()))
            .filter(|item| item.get("customerRating").is_some())
            .inspect(|item| assert!(item["customerRating"].is_string()))
            .count();
        assert!(
            rated > 1000 && rated < 2000,
            "some ratings missing: {rated}"
        );
        let item = c.item(ids[7], t0()).unwrap();
        assert!(item["salePrice"].as_f64().unwrap() > 0.0);
        assert!(item["categoryNode"].as_str().unwrap().contains('_'));
        assert_eq!(item["upc"].as_str().unwrap().len(), 12);
        let depts: HashSet<&str> = c
            .products()
            .iter()
            .map(|p| {
                p.category_path
                    .as_deref()
                    .unwrap()
                    .split('/')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(depts.len(), 8);
    }

    #[test]
    fn a_few_products_are_renamed_over_time_and_most_never() {
        let c = Catalog::generate(7, 1000);
        let mut renamed = 0;
        for i in 0..c.len() {
            let names: HashSet<String> = (0..90)
                .map(|d| c.name_at(i, t0() + Duration::days(d)))
                .collect();
            assert!(names.contains(&c.products()[i].name) || names.len() > 1);
            if names.len() > 1 {
                renamed += 1;
                assert!(names.iter().all(|n| n.starts_with(&c.products()[i].name)));
            }
            // A name holds for the whole of a day.
            let day = t0() + Duration::days(3);
            assert_eq!(c.name_at(i, day), c.name_at(i, day + Duration::hours(11)));
        }
        assert!((40..130).contains(&renamed), "renamed products: {renamed}");
        let item = c.item(c.item_ids()[0], t0()).unwrap();
        assert_eq!(item["name"], json!(c.name_at(0, t0())));
    }

    #[test]
    fn prices_move_by_day_with_rollbacks_and_stay_within_bounds() {
        let c = Catalog::generate(7, 300);
        let mut changes = 0;
        let mut rollbacks = 0;
        let mut stocks: HashMap<String, usize> = HashMap::new();
        for i in 0..c.len() {
            let Pricing::Model { base, .. } = c.products()[i].pricing else {
                unreachable!()
            };
            let mut prev = c.state(i, t0()).sale_price;
            for d in 1..30 {
                let s = c.state(i, t0() + Duration::days(d));
                assert!(s.sale_price > base * 0.3 && s.sale_price < base * 1.2);
                if s.sale_price != prev {
                    changes += 1;
                }
                if s.roll_back {
                    rollbacks += 1;
                    // At most +10 % from level and wobble, then at least 10 % off.
                    assert!(s.sale_price < base, "a rollback cuts the price");
                }
                *stocks.entry(s.stock.clone()).or_default() += 1;
                prev = s.sale_price;
            }
            // Same day, later hour: same price (day-level moves).
            assert_eq!(c.state(i, t0()), c.state(i, t0() + Duration::hours(11)));
        }
        assert!(changes > 300 * 5, "changes {changes}");
        assert!(rollbacks > 100, "rollbacks {rollbacks}");
        assert_eq!(stocks.len(), 3, "{stocks:?}");
    }

    #[test]
    fn trending_changes_daily_with_persistent_favourites_and_vod_is_a_deep_discount() {
        let c = Catalog::generate(42, 3000);
        let mut counts: HashMap<usize, usize> = HashMap::new();
        let first = c.trending(t0());
        assert!((23..=27).contains(&first.len()));
        assert_ne!(first, c.trending(t0() + Duration::days(1)));
        assert_eq!(first, c.trending(t0() + Duration::hours(11)));
        for d in 0..28 {
            let list = c.trending(t0() + Duration::days(d));
            let unique: HashSet<usize> = list.iter().copied().collect();
            assert_eq!(unique.len(), list.len(), "no duplicates in a list");
            for i in list {
                *counts.entry(i).or_default() += 1;
            }
        }
        let mut top: Vec<usize> = counts.values().copied().collect();
        top.sort_unstable_by(|a, b| b.cmp(a));
        // A random product would appear about 28 * 10 / 3000 times: the top 20 stand out,
        // and they are ranked (not all tied).
        assert!(top[19] >= 6, "top-20 is meaningful: {:?}", &top[..20]);
        assert!(
            top[0] > top[19] + 3,
            "a gradient of popularity: {:?}",
            &top[..20]
        );
        for d in 0..10 {
            let t = t0() + Duration::days(d);
            let item = c.item_json(c.vod(t).unwrap(), t);
            let msrp = item["msrp"].as_f64().unwrap();
            assert!(item["salePrice"].as_f64().unwrap() < msrp * 0.7);
        }
        assert_ne!(c.vod(t0()), c.vod(t0() + Duration::days(1)));
    }

    #[test]
    fn the_same_seed_gives_the_same_catalog() {
        let a = Catalog::generate(5, 100);
        let b = Catalog::generate(5, 100);
        let other = Catalog::generate(6, 100);
        assert_eq!(a.item_ids(), b.item_ids());
        assert_ne!(a.item_ids(), other.item_ids());
        let id = a.item_ids()[3];
        assert_eq!(a.item(id, t0()), b.item(id, t0()));
        assert_eq!(a.usd_rate("EUR", t0()), b.usd_rate("EUR", t0()));
    }
}
