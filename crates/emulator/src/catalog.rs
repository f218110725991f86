//! What the emulator sells and quotes: a generated catalog (deterministic from a seed,
//! realistic enough to plot) or a small fixture whose numbers a test can check by hand.
//!
//! Everything is a pure function of (seed, item, instant), so any simulated instant can be
//! served in O(1) without replaying history.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::EmulatorError;

/// A mixing hash (splitmix64) over several inputs: the emulator's only source of randomness.
pub(crate) fn mix(parts: &[u64]) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for p in parts {
        x ^= p
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(x << 6)
            .wrapping_add(x >> 2);
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x = z ^ (z >> 31);
    }
    x
}

/// A uniform number in [0, 1) from a hash.
pub(crate) fn unit(parts: &[u64]) -> f64 {
    (mix(parts) >> 11) as f64 / (1u64 << 53) as f64
}

/// One department or sub-category of the taxonomy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// `3944` or `3944_1060825`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Children, if any.
    #[serde(default)]
    pub children: Vec<Category>,
}

/// A price and its flags from an instant on (fixture catalogs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricePoint {
    /// From when this price holds.
    pub from: DateTime<Utc>,
    /// Sale price in USD.
    pub sale_price: f64,
    /// MSRP in USD, if the item has one.
    #[serde(default)]
    pub msrp: Option<f64>,
    /// Stock text.
    #[serde(default = "available")]
    pub stock: String,
    /// On rollback.
    #[serde(default)]
    pub roll_back: bool,
    /// On clearance.
    #[serde(default)]
    pub clearance: bool,
}

fn available() -> String {
    "Available".to_string()
}

/// One product of a fixture catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureItem {
    /// Item id.
    pub item_id: u64,
    /// Name (may be hostile: the XSS tests put markup here).
    pub name: String,
    /// Brand, if any.
    #[serde(default)]
    pub brand_name: Option<String>,
    /// `Electronics/TV & Video`.
    pub category_path: String,
    /// `3944_1060825`.
    pub category_node: String,
    /// Prices over time; the last one whose `from` is not after now holds.
    pub prices: Vec<PricePoint>,
}

/// A trending list from an instant on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrendPoint {
    /// From when.
    pub from: DateTime<Utc>,
    /// Items in the list, in order.
    pub item_ids: Vec<u64>,
}

/// A value of the day from an instant on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VodPoint {
    /// From when.
    pub from: DateTime<Utc>,
    /// The item.
    pub item_id: u64,
}

/// FX quotes (units per USD) from an instant on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FxPoint {
    /// From when.
    pub from: DateTime<Utc>,
    /// Currency code to units per USD.
    pub quotes: BTreeMap<String, f64>,
}

/// A small fixed catalog, read from JSON, for tests with hand-computed expectations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fixture {
    /// What the fixture contains, for the humans who compute expectations from it.
    #[serde(default)]
    pub description: String,
    /// Departments.
    pub taxonomy: Vec<Category>,
    /// Products.
    pub items: Vec<FixtureItem>,
    /// Trending lists over time.
    #[serde(default)]
    pub trends: Vec<TrendPoint>,
    /// Values of the day over time.
    #[serde(default)]
    pub vod: Vec<VodPoint>,
    /// Exchange rates over time.
    pub fx: Vec<FxPoint>,
}

/// The quoted currencies: code, name, level in units per USD.
const CURRENCIES: &[(&str, &str, f64)] = &[
    ("AUD", "Australian Dollar", 1.52),
    ("EUR", "Euro", 0.92),
    ("GBP", "British Pound Sterling", 0.78),
    ("INR", "Indian Rupee", 83.4),
    ("AED", "United Arab Emirates Dirham", 3.6725),
    ("JPY", "Japanese Yen", 151.2),
    ("CHF", "Swiss Franc", 0.89),
    ("ZAR", "South African Rand", 18.6),
    ("CNY", "Chinese Yuan", 7.23),
    ("CAD", "Canadian Dollar", 1.36),
    ("MXN", "Mexican Peso", 17.1),
    ("BRL", "Brazilian Real", 5.05),
    ("SEK", "Swedish Krona", 10.6),
    ("NOK", "Norwegian Krone", 10.8),
    ("DKK", "Danish Krone", 6.87),
    ("PLN", "Polish Zloty", 3.98),
    ("CZK", "Czech Republic Koruna", 23.3),
    ("HUF", "Hungarian Forint", 362.0),
    ("SGD", "Singapore Dollar", 1.35),
    ("HKD", "Hong Kong Dollar", 7.82),
    ("KRW", "South Korean Won", 1345.0),
    ("NZD", "New Zealand Dollar", 1.66),
    ("TRY", "Turkish Lira", 32.2),
    ("ILS", "Israeli New Sheqel", 3.71),
    ("THB", "Thai Baht", 36.4),
    ("MYR", "Malaysian Ringgit", 4.72),
    ("PHP", "Philippine Peso", 56.3),
    ("IDR", "Indonesian Rupiah", 15800.0),
    ("SAR", "Saudi Riyal", 3.75),
    ("CLP", "Chilean Peso", 940.0),
    ("BTC", "Bitcoin", 0.000016),
];

/// Departments with their sub-categories and the nouns their products are named by.
const DEPARTMENTS: &[(&str, u64, &[&str], &[&str])] = &[
    (
        "Electronics",
        3944,
        &["TV & Video", "Computers", "Cell Phones", "Audio"],
        &[
            "4K TV",
            "Laptop",
            "Headphones",
            "Soundbar",
            "Tablet",
            "Smartphone",
        ],
    ),
    (
        "Home",
        4044,
        &["Kitchen & Dining", "Bedding", "Furniture", "Decor"],
        &[
            "Blender",
            "Sheet Set",
            "Desk Chair",
            "Air Fryer",
            "Lamp",
            "Cookware Set",
        ],
    ),
    (
        "Grocery",
        976759,
        &["Snacks", "Beverages", "Pantry", "Breakfast"],
        &[
            "Coffee",
            "Trail Mix",
            "Olive Oil",
            "Cereal",
            "Sparkling Water",
            "Pasta",
        ],
    ),
    (
        "Toys",
        4171,
        &["Building Sets", "Dolls", "Games & Puzzles", "Outdoor Play"],
        &[
            "Building Set",
            "Puzzle",
            "Board Game",
            "Doll House",
            "Scooter",
            "RC Car",
        ],
    ),
    (
        "Clothing",
        5438,
        &["Women", "Men", "Kids", "Shoes"],
        &["Jacket", "Jeans", "Sneakers", "Hoodie", "T-Shirt", "Boots"],
    ),
    (
        "Sports & Outdoors",
        4125,
        &["Exercise & Fitness", "Camping", "Cycling", "Team Sports"],
        &[
            "Yoga Mat",
            "Tent",
            "Bike Helmet",
            "Dumbbells",
            "Basketball",
            "Cooler",
        ],
    ),
    (
        "Beauty",
        1085666,
        &["Skin Care", "Hair Care", "Makeup", "Fragrance"],
        &[
            "Moisturizer",
            "Shampoo",
            "Lipstick",
            "Perfume",
            "Hair Dryer",
            "Face Serum",
        ],
    ),
    (
        "Baby",
        5427,
        &["Diapering", "Feeding", "Nursery", "Strollers"],
        &[
            "Diapers",
            "Bottle Set",
            "Crib",
            "Stroller",
            "Baby Monitor",
            "High Chair",
        ],
    ),
];

const BRANDS: &[&str] = &[
    "Acme",
    "Northwind",
    "Contoso",
    "Mainstays",
    "Ozark Trail",
    "Great Value",
    "Hyper Tough",
    "Equate",
    "Vizio",
    "onn.",
    "Sony",
    "Samsung",
    "LEGO",
    "Hasbro",
    "Time and Tru",
    "George",
    "Parent's Choice",
    "Better Homes",
    "Ninja",
    "Keurig",
];
const ADJECTIVES: &[&str] = &[
    "Classic",
    "Pro",
    "Ultra",
    "Compact",
    "Deluxe",
    "Essential",
    "Premium",
    "Smart",
    "Eco",
    "Max",
];

/// The emulator's data, generated or fixed.
#[derive(Debug, Clone)]
pub struct Catalog {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Generated { seed: u64, items: usize },
    Fixture(Box<Fixture>),
}

/// An item's attributes at one instant, whichever kind of catalog it came from.
struct ItemState {
    id: u64,
    name: String,
    brand: Option<String>,
    category_path: String,
    category_node: String,
    sale_price: f64,
    msrp: Option<f64>,
    stock: String,
    roll_back: bool,
    clearance: bool,
    rating: Option<f64>,
    reviews: u64,
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn day_number(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(86_400)
}

fn last_at<T>(points: &[T], at: DateTime<Utc>, from: impl Fn(&T) -> DateTime<Utc>) -> Option<&T> {
    points
        .iter()
        .filter(|p| from(p) <= at)
        .max_by_key(|p| from(p))
}

impl Catalog {
    /// A realistic catalog of `items` products, the same for the same seed.
    pub fn generate(seed: u64, items: usize) -> Catalog {
        Catalog {
            kind: Kind::Generated {
                seed,
                items: items.max(1),
            },
        }
    }

    /// A fixed catalog.
    pub fn from_fixture(fixture: Fixture) -> Catalog {
        Catalog {
            kind: Kind::Fixture(Box::new(fixture)),
        }
    }

    /// Reads a fixture catalog from a JSON file.
    pub fn load_fixture(path: &Path) -> Result<Catalog, EmulatorError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| EmulatorError::Fixture(format!("{}: {e}", path.display())))?;
        let fixture: Fixture = serde_json::from_str(&text)
            .map_err(|e| EmulatorError::Fixture(format!("{}: {e}", path.display())))?;
        Ok(Catalog::from_fixture(fixture))
    }

    /// Every item id, ascending.
    pub fn item_ids(&self) -> Vec<u64> {
        match &self.kind {
            Kind::Generated { items, .. } => (0..*items as u64).map(generated_id).collect(),
            Kind::Fixture(f) => {
                let mut ids: Vec<u64> = f.items.iter().map(|i| i.item_id).collect();
                ids.sort_unstable();
                ids
            }
        }
    }

    /// The taxonomy tree.
    pub fn taxonomy(&self) -> Vec<Category> {
        match &self.kind {
            Kind::Fixture(f) => f.taxonomy.clone(),
            Kind::Generated { .. } => DEPARTMENTS
                .iter()
                .map(|(name, id, subs, _)| Category {
                    id: id.to_string(),
                    name: name.to_string(),
                    children: subs
                        .iter()
                        .enumerate()
                        .map(|(i, sub)| Category {
                            id: format!("{id}_{}", 1_000_000 + i as u64 * 1_111),
                            name: sub.to_string(),
                            children: Vec::new(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Items whose category node starts with `category` (a top-level id or a deeper node).
    pub fn items_in_category(&self, category: &str, at: DateTime<Utc>) -> Vec<u64> {
        self.item_ids()
            .into_iter()
            .filter(|id| {
                self.state(*id, at).is_some_and(|s| {
                    s.category_node == category
                        || s.category_node.starts_with(&format!("{category}_"))
                })
            })
            .collect()
    }

    /// The item as the API shows it at `at`; `None` for unknown ids.
    pub fn item_json(&self, id: u64, at: DateTime<Utc>) -> Option<Value> {
        let s = self.state(id, at)?;
        let color = ["Black", "White", "Blue", "Red"][(mix(&[s.id, 3]) % 4) as usize];
        let mut item = json!({
            "itemId": s.id,
            "parentItemId": s.id,
            "name": s.name,
            "salePrice": s.sale_price,
            "upc": format!("{:012}", mix(&[s.id, 7]) % 1_000_000_000_000),
            "categoryPath": s.category_path,
            "categoryNode": s.category_node,
            "shortDescription": format!("{} &amp; more from the {} department.", s.name, s.category_path.split('/').next().unwrap_or("")),
            "thumbnailImage": format!("https://i5.walmartimages.com/asr/{}.jpeg", s.id),
            "productUrl": format!("https://www.walmart.com/ip/{}", s.id),
            "numReviews": s.reviews,
            "stock": s.stock,
            "availableOnline": s.stock != "Not available",
            "rollBack": s.roll_back,
            "clearance": s.clearance,
            "offerType": "ONLINE_AND_STORE",
            "marketplace": false,
            "freeShipToStore": true,
            "standardShipRate": 0.0,
            "bundle": false,
            "attributes": {"color": color},
        });
        let obj = item.as_object_mut().expect("object");
        if let Some(msrp) = s.msrp {
            obj.insert("msrp".into(), json!(msrp));
        }
        if let Some(brand) = s.brand {
            obj.insert("brandName".into(), json!(brand));
        }
        if let Some(rating) = s.rating {
            // The real API sends the rating as a string.
            obj.insert("customerRating".into(), json!(format!("{rating:.3}")));
        }
        Some(item)
    }

    fn state(&self, id: u64, at: DateTime<Utc>) -> Option<ItemState> {
        match &self.kind {
            Kind::Fixture(f) => {
                let item = f.items.iter().find(|i| i.item_id == id)?;
                let price = last_at(&item.prices, at, |p| p.from).or(item.prices.first())?;
                Some(ItemState {
                    id,
                    name: item.name.clone(),
                    brand: item.brand_name.clone(),
                    category_path: item.category_path.clone(),
                    category_node: item.category_node.clone(),
                    sale_price: price.sale_price,
                    msrp: price.msrp,
                    stock: price.stock.clone(),
                    roll_back: price.roll_back,
                    clearance: price.clearance,
                    rating: None,
                    reviews: 0,
                })
            }
            Kind::Generated { seed, items } => {
                let index = generated_index(id)?;
                if index >= *items as u64 {
                    return None;
                }
                Some(generated_state(*seed, index, at))
            }
        }
    }

    /// The trending list at `at`.
    pub fn trending(&self, at: DateTime<Utc>) -> Vec<u64> {
        match &self.kind {
            Kind::Fixture(f) => last_at(&f.trends, at, |t| t.from)
                .map(|t| t.item_ids.clone())
                .unwrap_or_default(),
            Kind::Generated { seed, items } => {
                let n = *items as u64;
                let day = day_number(at) as u64;
                let week = day / 7;
                let mut out: Vec<u64> = Vec::with_capacity(25);
                // A hot set that stays popular for weeks, so a top 20 over a month means something.
                for k in 0..40u64 {
                    if out.len() >= 12 {
                        break;
                    }
                    let candidate = mix(&[*seed, 0x7EED, k]) % n;
                    if unit(&[*seed, candidate, day, 0x407])
                        < 0.35 + 0.3 * unit(&[*seed, candidate, week])
                    {
                        out.push(candidate);
                    }
                }
                let mut k = 0u64;
                while out.len() < 25.min(*items) {
                    let candidate = mix(&[*seed, 0xDA11, day, k]) % n;
                    if !out.contains(&candidate) {
                        out.push(candidate);
                    }
                    k += 1;
                }
                out.dedup();
                out.into_iter().map(generated_id).collect()
            }
        }
    }

    /// The value of the day at `at`.
    pub fn vod(&self, at: DateTime<Utc>) -> Option<u64> {
        match &self.kind {
            Kind::Fixture(f) => last_at(&f.vod, at, |v| v.from).map(|v| v.item_id),
            Kind::Generated { seed, items } => Some(generated_id(
                mix(&[*seed, 0x70D, day_number(at) as u64]) % *items as u64,
            )),
        }
    }

    /// Currency codes and names (`/list`).
    pub fn currencies(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = CURRENCIES
            .iter()
            .map(|(c, n, _)| (c.to_string(), n.to_string()))
            .collect();
        out.insert("USD".into(), "United States Dollar".into());
        if let Kind::Fixture(f) = &self.kind {
            out.retain(|code, _| code == "USD" || f.fx.iter().any(|p| p.quotes.contains_key(code)));
        }
        out
    }

    /// Units of each currency per USD at `at` (the rates published for that hour).
    pub fn rates(&self, at: DateTime<Utc>) -> BTreeMap<String, f64> {
        match &self.kind {
            Kind::Fixture(f) => last_at(&f.fx, at, |p| p.from)
                .map(|p| p.quotes.clone())
                .unwrap_or_default(),
            Kind::Generated { seed, .. } => {
                let hours = at.timestamp().div_euclid(3600);
                let t = hours as f64 / 24.0; // days
                CURRENCIES
                    .iter()
                    .enumerate()
                    .map(|(i, (code, _, level))| {
                        if *code == "AED" || *code == "SAR" || *code == "HKD" {
                            return (code.to_string(), *level); // pegged
                        }
                        let i = i as u64;
                        let p1 = unit(&[*seed, i, 1]) * std::f64::consts::TAU;
                        let p2 = unit(&[*seed, i, 2]) * std::f64::consts::TAU;
                        let vol = if *code == "BTC" { 6.0 } else { 1.0 };
                        let moved = 1.0
                            + vol * 0.025 * (t / 23.0 * std::f64::consts::TAU + p1).sin()
                            + vol * 0.008 * (t / 5.3 * std::f64::consts::TAU + p2).sin()
                            + vol * 0.0015 * (unit(&[*seed, i, hours as u64]) - 0.5);
                        let rate = level * moved;
                        let digits = if rate < 0.01 { 1e10 } else { 1e6 };
                        (code.to_string(), (rate * digits).round() / digits)
                    })
                    .collect()
            }
        }
    }

    /// Earliest instant with data (fixtures); `None` means "any time".
    pub fn starts_at(&self) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Fixture(f) => f.fx.iter().map(|p| p.from).min(),
            Kind::Generated { .. } => None,
        }
    }
}

fn generated_id(index: u64) -> u64 {
    10_000_000 + index * 37
}

fn generated_index(id: u64) -> Option<u64> {
    let offset = id.checked_sub(10_000_000)?;
    (offset % 37 == 0).then_some(offset / 37)
}

fn generated_state(seed: u64, index: u64, at: DateTime<Utc>) -> ItemState {
    let h = |salt: u64| mix(&[seed, index, salt]);
    let (dept, dept_id, subs, nouns) = DEPARTMENTS[(h(1) % DEPARTMENTS.len() as u64) as usize];
    let sub_index = h(2) % subs.len() as u64;
    let noun = nouns[(h(3) % nouns.len() as u64) as usize];
    let brand = BRANDS[(h(4) % BRANDS.len() as u64) as usize];
    let adjective = ADJECTIVES[(h(5) % ADJECTIVES.len() as u64) as usize];
    // Log-uniform base price between 3 and 900 USD.
    let base = (3.0f64.ln() + unit(&[seed, index, 6]) * (900.0f64.ln() - 3.0f64.ln())).exp();
    let has_msrp = h(7) % 10 < 7;
    let msrp = has_msrp.then(|| round2(base * (1.05 + 0.3 * unit(&[seed, index, 8]))));
    let day = day_number(at) as u64;
    let drift = 1.0 + 0.06 * (unit(&[seed, index, 9, day / 7]) - 0.5);
    let roll_back = mix(&[seed, index, 10, day / 4]) % 11 == 0;
    let clearance = mix(&[seed, index, 11, day / 30]) % 37 == 0;
    let mut price = base * drift;
    if roll_back {
        price *= 0.75 + 0.15 * unit(&[seed, index, 12, day / 4]);
    }
    if clearance {
        price *= 0.6;
    }
    let stock = match mix(&[seed, index, 13, day]) % 25 {
        0 => "Not available",
        1 | 2 => "Limited Supply",
        _ => "Available",
    };
    let has_brand = h(14) % 8 != 0;
    let rating = (h(15) % 5 != 0).then(|| 2.5 + 2.5 * unit(&[seed, index, 16]));
    let _ = at.year();
    ItemState {
        id: generated_id(index),
        name: format!("{brand} {adjective} {noun} {}", 100 + h(17) % 900),
        brand: has_brand.then(|| brand.to_string()),
        category_path: format!("{dept}/{}", subs[sub_index as usize]),
        category_node: format!("{dept_id}_{}", 1_000_000 + sub_index * 1_111),
        sale_price: round2(price.max(0.5)),
        msrp,
        stock: stock.to_string(),
        roll_back,
        clearance,
        rating,
        reviews: h(18) % 4000,
    }
}

/// Midnight UTC of a date given as `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_catalog_is_deterministic_and_moves_over_time() {
        let a = Catalog::generate(7, 100);
        let b = Catalog::generate(7, 100);
        let t0 = parse_date("2026-10-01").unwrap();
        let id = a.item_ids()[5];
        assert_eq!(a.item_json(id, t0), b.item_json(id, t0));
        let prices: Vec<f64> = (0..60)
            .map(|d| {
                a.item_json(id, t0 + chrono::Duration::days(d)).unwrap()["salePrice"]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        assert!(prices.windows(2).any(|w| w[0] != w[1]), "prices never move");
        assert!(a.item_json(1, t0).is_none());
        assert_eq!(a.trending(t0).len(), 25);
        assert_ne!(a.trending(t0), a.trending(t0 + chrono::Duration::days(1)));
    }

    #[test]
    fn rates_are_realistic_and_aed_is_pegged() {
        let c = Catalog::generate(1, 10);
        let t = parse_date("2026-10-01").unwrap();
        let r = c.rates(t);
        assert!(r.len() >= 30);
        assert_eq!(r["AED"], 3.6725);
        assert!((0.85..1.0).contains(&r["EUR"]), "EUR {}", r["EUR"]);
        assert_ne!(r["EUR"], c.rates(t + chrono::Duration::hours(5))["EUR"]);
    }

    #[test]
    fn the_shipped_fixture_loads() {
        let c = Catalog::load_fixture(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/small.json"
        )))
        .unwrap();
        assert_eq!(c.item_ids().len(), 3);
        let t = parse_date("2026-01-01").unwrap();
        assert_eq!(c.rates(t)["EUR"], 0.9);
    }
}
