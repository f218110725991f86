//! The marts every stage after the lake agrees on: their names, in the order transform
//! builds them (later ones read earlier ones), and each one's natural key.
//!
//! Transform builds them, audit proves no key repeats (exactly-once in the marts), serve
//! loads them and publish uses the key as the MongoDB `_id`: one list, so a new mart
//! cannot be built and then forgotten by a reader.

/// Every mart, in build order.
pub const MARTS: &[&str] = &[
    "prices_fx",
    "discounts",
    "vod_fx",
    "trending_popularity",
    "price_daily",
    "fx_daily",
    "category_daily",
    "price_moves",
    "basket",
];

/// The columns whose values identify one row of `mart`: no two rows share them.
pub fn natural_key(mart: &str) -> &'static [&'static str] {
    match mart {
        "prices_fx" => &["record_id", "currency"],
        "discounts" => &["item_id", "date"],
        "vod_fx" => &["date", "currency"],
        "trending_popularity" => &["period_start", "item_id"],
        "price_daily" => &["item_id", "date", "currency"],
        "fx_daily" => &["base", "quote", "date"],
        "category_daily" => &["category", "date"],
        "price_moves" => &["window_days", "item_id"],
        "basket" => &["currency", "date"],
        _ => &[],
    }
}

/// The order of a mart's rows as transform writes them (each SQL file's `ORDER BY`, ended
/// by columns of the natural key so that no two rows tie): a reader that loads the rows
/// from elsewhere (MongoDB) restores it with this.
pub fn row_order(mart: &str) -> &'static [&'static str] {
    match mart {
        "prices_fx" => &["observed_at", "item_id", "currency", "record_id"],
        "discounts" => &["date", "item_id"],
        "vod_fx" => &["date", "currency"],
        "trending_popularity" => &["period_start", "rank", "item_id"],
        "price_daily" => &["date", "item_id", "currency"],
        "fx_daily" => &["quote", "date", "base"],
        "category_daily" => &["date", "category"],
        "price_moves" => &["window_days", "change_pct", "item_id"],
        "basket" => &["currency", "date"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mart_has_a_natural_key() {
        for mart in MARTS {
            assert!(!natural_key(mart).is_empty(), "{mart}");
            // The order ends in a full key, so rows never tie.
            for column in natural_key(mart) {
                assert!(row_order(mart).contains(column), "{mart}: {column}");
            }
        }
        assert!(natural_key("no_such_mart").is_empty());
    }
}
