//! A small hand-written catalog (JSON) whose answers a test can compute by hand: items
//! with piecewise-constant price schedules, trending lists, values of the day and
//! exchange rates, each given per instant.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{html_escape, ItemState, Pricing, Product, ScheduledState};
use crate::error::EmulatorError;
use crate::taxonomy::{self, Category};

/// A fixed catalog for tests (see `fixtures/small.json`). Every schedule is piecewise
/// constant: the entry in effect at `t` is the last whose `from` is not after `t`, and
/// before the first entry the first one applies. Exchange rates are published hourly:
/// `/live` at `t` serves the entry in effect at the start of `t`'s hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// What the fixture contains, for the humans computing expectations from it.
    #[serde(default)]
    pub description: String,
    /// The taxonomy served by `/taxonomy`; the built-in one when absent.
    #[serde(default)]
    pub taxonomy: Option<Vec<Category>>,
    /// The products.
    pub items: Vec<FixtureItem>,
    /// Trending lists by instant.
    #[serde(default, alias = "trending")]
    pub trends: Vec<TrendPoint>,
    /// Value of the day by instant.
    #[serde(default)]
    pub vod: Vec<VodPoint>,
    /// Exchange rates against USD by instant; every entry quotes the same currencies.
    #[serde(default)]
    pub fx: Vec<FxPoint>,
}

/// One product of a fixture; field names follow the API's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FixtureItem {
    /// The item id.
    pub item_id: u64,
    /// Product name.
    pub name: String,
    /// Brand; omitted from responses when absent.
    #[serde(default)]
    pub brand_name: Option<String>,
    /// UPC, for `/items?upc=`.
    #[serde(default)]
    pub upc: Option<String>,
    /// Taxonomy id.
    #[serde(default)]
    pub category_node: Option<String>,
    /// `Department/Category`; derived from the taxonomy and `categoryNode` when absent.
    #[serde(default)]
    pub category_path: Option<String>,
    /// MSRP for every schedule entry that does not give its own.
    #[serde(default)]
    pub msrp: Option<f64>,
    /// Rating, a string as in the API.
    #[serde(default)]
    pub customer_rating: Option<String>,
    /// Number of reviews.
    #[serde(default)]
    pub num_reviews: Option<u64>,
    /// The price schedule; at least one entry.
    pub prices: Vec<PricePoint>,
}

/// From `from` on, the item has this price and these flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PricePoint {
    /// When this entry starts to apply (RFC 3339).
    pub from: DateTime<Utc>,
    /// The sale price, USD.
    pub sale_price: f64,
    /// The MSRP from then on; the item's `msrp` when absent (omitted if both are).
    #[serde(default)]
    pub msrp: Option<f64>,
    /// On rollback.
    #[serde(default)]
    pub roll_back: bool,
    /// On clearance.
    #[serde(default)]
    pub clearance: bool,
    /// `Available` (default), `Limited Supply` or `Not available`.
    #[serde(default = "available")]
    pub stock: String,
}

fn available() -> String {
    "Available".to_string()
}

/// From `from` on, `/trends` lists these items in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrendPoint {
    /// When this list starts to apply.
    pub from: DateTime<Utc>,
    /// The listed item ids.
    pub item_ids: Vec<u64>,
}

/// From `from` on, `/vod` serves this item (at its scheduled price).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VodPoint {
    /// When this value of the day starts to apply.
    pub from: DateTime<Utc>,
    /// The item.
    pub item_id: u64,
}

/// From `from` on, these are the rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FxPoint {
    /// When these rates start to apply.
    pub from: DateTime<Utc>,
    /// Units of each currency per USD: `{"EUR": 0.9}`.
    pub quotes: BTreeMap<String, f64>,
}

type Parts = (
    Vec<Category>,
    Vec<Product>,
    Vec<(DateTime<Utc>, Vec<u64>)>,
    Vec<(DateTime<Utc>, u64)>,
    Vec<(DateTime<Utc>, BTreeMap<String, f64>)>,
);

impl Fixture {
    /// Reads and validates a fixture file.
    pub fn load(path: &Path) -> Result<Fixture, EmulatorError> {
        let text = std::fs::read_to_string(path).map_err(|source| EmulatorError::FixtureIo {
            path: path.to_path_buf(),
            source,
        })?;
        let fixture: Fixture =
            serde_json::from_str(&text).map_err(|source| EmulatorError::FixtureJson {
                path: path.to_path_buf(),
                source,
            })?;
        fixture.validate()?;
        Ok(fixture)
    }

    /// Checks that the fixture is consistent: unique ids, non-empty price schedules,
    /// listed ids that exist, positive prices and rates, one currency set.
    pub fn validate(&self) -> Result<(), EmulatorError> {
        let bad = |m: String| Err(EmulatorError::FixtureInvalid(m));
        if self.items.is_empty() {
            return bad("no items".into());
        }
        let mut ids = HashSet::new();
        for item in &self.items {
            if item.item_id == 0 || !ids.insert(item.item_id) {
                return bad(format!("item id {} is zero or repeated", item.item_id));
            }
            if item.prices.is_empty() {
                return bad(format!("item {} has no prices", item.item_id));
            }
            let positive = |v: f64| v > 0.0 && v.is_finite();
            if item
                .prices
                .iter()
                .any(|p| !positive(p.sale_price) || p.msrp.is_some_and(|m| !positive(m)))
            {
                return bad(format!("item {} has a non-positive price", item.item_id));
            }
        }
        for t in &self.trends {
            if let Some(id) = t.item_ids.iter().find(|id| !ids.contains(id)) {
                return bad(format!(
                    "trending list at {} names unknown item {id}",
                    t.from
                ));
            }
        }
        if let Some(v) = self.vod.iter().find(|v| !ids.contains(&v.item_id)) {
            return bad(format!(
                "vod at {} names unknown item {}",
                v.from, v.item_id
            ));
        }
        if let Some(first) = self.fx.first() {
            let codes: Vec<&String> = first.quotes.keys().collect();
            for e in &self.fx {
                if e.quotes.keys().collect::<Vec<_>>() != codes {
                    return bad(format!(
                        "fx at {} quotes other currencies than the first",
                        e.from
                    ));
                }
                for (code, rate) in &e.quotes {
                    let ok = code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase());
                    if !(ok && *rate > 0.0 && rate.is_finite()) {
                        return bad(format!("fx at {}: bad quote {code}={rate}", e.from));
                    }
                }
            }
        }
        Ok(())
    }

    pub(crate) fn into_parts(self) -> Parts {
        let taxonomy = self.taxonomy.unwrap_or_else(|| taxonomy::builtin().0);
        let paths = taxonomy::paths(&taxonomy);
        let products = self
            .items
            .into_iter()
            .map(|item| {
                let mut schedule: Vec<ScheduledState> = item
                    .prices
                    .into_iter()
                    .map(|p| ScheduledState {
                        from: p.from,
                        state: ItemState {
                            sale_price: p.sale_price,
                            msrp: p.msrp.or(item.msrp),
                            roll_back: p.roll_back,
                            clearance: p.clearance,
                            special_buy: false,
                            stock: p.stock,
                        },
                    })
                    .collect();
                schedule.sort_by_key(|s| s.from);
                let category_path = item.category_path.or_else(|| {
                    let node = item.category_node.as_ref()?;
                    paths.iter().find(|(id, _)| id == node).map(|(_, p)| p.clone())
                });
                let id = item.item_id;
                Product {
                    id,
                    parent_id: id,
                    short_description: html_escape(&format!("<p>{}</p>", item.name)),
                    thumbnail: format!(
                        "https://i5.walmartimages.com/asr/fixture-{id}.jpeg?odnHeight=100&odnWidth=100"
                    ),
                    product_url: format!("https://www.walmart.com/ip/{id}"),
                    name: item.name,
                    brand: item.brand_name,
                    upc: item.upc,
                    category_node: item.category_node,
                    category_path,
                    msrp: item.msrp,
                    rating: item.customer_rating,
                    num_reviews: item.num_reviews,
                    available_online: true,
                    offer_type: "ONLINE_AND_STORE",
                    free_ship_to_store: true,
                    standard_ship_rate: 0.0,
                    color: None,
                    pricing: Pricing::Schedule(schedule),
                }
            })
            .collect();
        let mut trending: Vec<_> = self
            .trends
            .into_iter()
            .map(|t| (t.from, t.item_ids))
            .collect();
        trending.sort_by_key(|(from, _)| *from);
        let mut vod: Vec<_> = self.vod.into_iter().map(|v| (v.from, v.item_id)).collect();
        vod.sort_by_key(|(from, _)| *from);
        let mut fx: Vec<_> = self.fx.into_iter().map(|f| (f.from, f.quotes)).collect();
        fx.sort_by_key(|(from, _)| *from);
        (taxonomy, products, trending, vod, fx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use chrono::TimeZone;

    fn small_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/small.json")
    }

    #[test]
    fn the_example_fixture_loads_and_its_schedules_apply() {
        let c = Catalog::load_fixture(small_path()).unwrap();
        assert!(c.is_fixture());
        let ids = c.item_ids();
        assert!((3..=5).contains(&ids.len()));
        let fixture = Fixture::load(&small_path()).unwrap();
        assert!(!fixture.description.is_empty());
        // Every price entry is what the catalog serves at its `from` instant.
        for item in &fixture.items {
            for p in &item.prices {
                let served = c.item(item.item_id, p.from).unwrap();
                assert_eq!(served["salePrice"].as_f64().unwrap(), p.sale_price);
                assert_eq!(served["rollBack"].as_bool().unwrap(), p.roll_back);
                assert_eq!(served["msrp"].as_f64(), p.msrp.or(item.msrp));
            }
        }
        for v in &fixture.vod {
            assert_eq!(c.vod_id(v.from), Some(v.item_id));
        }
        for t in &fixture.trends {
            assert_eq!(c.trending_ids(t.from), t.item_ids);
        }
        for f in &fixture.fx {
            for (code, rate) in &f.quotes {
                assert_eq!(c.usd_rate(code, f.from), Some(*rate));
            }
        }
        // Before the first entry, the first applies.
        let early = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
        let first = &fixture.items[0];
        assert_eq!(
            c.item(first.item_id, early).unwrap()["salePrice"]
                .as_f64()
                .unwrap(),
            first.prices[0].sale_price
        );
    }

    #[test]
    fn inconsistent_fixtures_are_rejected() {
        let mut f = Fixture::load(&small_path()).unwrap();
        f.vod.push(VodPoint {
            from: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            item_id: 999_999_999,
        });
        assert!(matches!(
            f.validate(),
            Err(EmulatorError::FixtureInvalid(_))
        ));
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"items": [], "surprise": 1}"#).unwrap();
        assert!(matches!(
            Fixture::load(&bad),
            Err(EmulatorError::FixtureJson { .. })
        ));
        std::fs::write(&bad, r#"{"items": []}"#).unwrap();
        assert!(matches!(
            Fixture::load(&bad),
            Err(EmulatorError::FixtureInvalid(_))
        ));
        assert!(matches!(
            Fixture::load(&dir.path().join("missing.json")),
            Err(EmulatorError::FixtureIo { .. })
        ));
    }

    #[test]
    fn a_fixture_that_cannot_be_read_is_named_with_its_cause_said_once() {
        use std::error::Error;
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let err = Fixture::load(&missing).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot read fixture {}", missing.display())
        );
        assert!(err.source().unwrap().is::<std::io::Error>());
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{").unwrap();
        let err = Fixture::load(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid fixture {}", bad.display())
        );
        assert!(err.source().unwrap().is::<serde_json::Error>());
    }
}
