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

/// What a mart column holds, as every reader outside the lake sees it: MongoDB stores `Date`
/// and `Timestamp` as BSON dates (so drivers query them with their own date types), the API
/// answers them as `YYYY-MM-DD` and RFC 3339 text, and `/openapi.json` types them from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A calendar day (Arrow `Date32`).
    Date,
    /// An instant in UTC (Arrow `Timestamp`).
    Timestamp,
    /// A whole number (Arrow `Int32`/`Int64`).
    Int,
    /// A floating-point number (Arrow `Float64`), money in the row's currency.
    Float,
    /// Text (Arrow `Utf8`).
    Text,
    /// True or false.
    Bool,
}

/// One column of a mart: name, kind, and whether it may be null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Its name, as in the Parquet files and the published documents.
    pub name: &'static str,
    /// What it holds.
    pub kind: ColumnKind,
    /// True when a row may have no value.
    pub nullable: bool,
}

const fn col(name: &'static str, kind: ColumnKind) -> Column {
    Column {
        name,
        kind,
        nullable: false,
    }
}

const fn opt(name: &'static str, kind: ColumnKind) -> Column {
    Column {
        name,
        kind,
        nullable: true,
    }
}

use ColumnKind::{Bool, Date, Float, Int, Text, Timestamp};

/// The columns of `mart`, in the order transform writes them (`docs/data-model.md`): the
/// publisher converts by them, the MongoDB-backed API answers only them, and the OpenAPI
/// document types its answers with them. Empty for an unknown mart.
pub fn columns(mart: &str) -> &'static [Column] {
    match mart {
        "prices_fx" => {
            const COLUMNS: &[Column] = &[
                col("record_id", Text),
                col("item_id", Int),
                col("observed_at", Timestamp),
                col("currency", Text),
                opt("rate", Float),
                opt("rate_time", Timestamp),
                opt("sale_price", Float),
                opt("msrp", Float),
                col("stale", Bool),
            ];
            COLUMNS
        }
        "discounts" => {
            const COLUMNS: &[Column] = &[
                col("date", Date),
                col("item_id", Int),
                col("name", Text),
                opt("category", Text),
                opt("msrp", Float),
                col("sale_price", Float),
                opt("discount_pct", Float),
                col("has_msrp", Bool),
                opt("stock", Text),
                col("rollback", Bool),
                col("clearance", Bool),
            ];
            COLUMNS
        }
        "vod_fx" => {
            const COLUMNS: &[Column] = &[
                col("date", Date),
                col("item_id", Int),
                col("name", Text),
                col("sale_price_usd", Float),
                col("currency", Text),
                opt("rate", Float),
                opt("price", Float),
                opt("rate_time", Timestamp),
            ];
            COLUMNS
        }
        "trending_popularity" => {
            const COLUMNS: &[Column] = &[
                col("period_start", Date),
                col("item_id", Int),
                col("name", Text),
                col("appearances", Int),
                col("rank", Int),
            ];
            COLUMNS
        }
        "price_daily" => {
            const COLUMNS: &[Column] = &[
                col("date", Date),
                col("item_id", Int),
                col("currency", Text),
                col("open", Float),
                col("close", Float),
                col("min", Float),
                col("max", Float),
            ];
            COLUMNS
        }
        "fx_daily" => {
            const COLUMNS: &[Column] = &[
                col("date", Date),
                col("base", Text),
                col("quote", Text),
                col("open", Float),
                col("high", Float),
                col("low", Float),
                col("close", Float),
            ];
            COLUMNS
        }
        "category_daily" => {
            const COLUMNS: &[Column] = &[
                col("date", Date),
                col("category", Text),
                col("items", Int),
                col("median_price", Float),
                col("mean_price", Float),
                col("share_discounted", Float),
                col("share_in_stock", Float),
            ];
            COLUMNS
        }
        "price_moves" => {
            const COLUMNS: &[Column] = &[
                col("item_id", Int),
                col("name", Text),
                col("window_days", Int),
                col("from_price", Float),
                col("to_price", Float),
                col("change_pct", Float),
                col("as_of", Date),
            ];
            COLUMNS
        }
        "basket" => {
            const COLUMNS: &[Column] = &[
                col("date", Date),
                col("currency", Text),
                col("items", Int),
                col("cost", Float),
            ];
            COLUMNS
        }
        _ => &[],
    }
}

/// The column `name` of `mart`, if it has one.
pub fn column(mart: &str, name: &str) -> Option<&'static Column> {
    columns(mart).iter().find(|c| c.name == name)
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

    #[test]
    fn every_mart_has_its_columns_and_its_key_and_order_are_among_them() {
        for mart in MARTS {
            assert!(!columns(mart).is_empty(), "{mart}");
            for name in natural_key(mart).iter().chain(row_order(mart)) {
                let column = column(mart, name).unwrap_or_else(|| panic!("{mart}: {name}"));
                assert!(
                    !column.nullable,
                    "{mart}: key or order column {name} is nullable"
                );
            }
        }
        assert!(columns("no_such_mart").is_empty());
    }
}
