//! The registry: one entry per mart, in the order every listing shows them (the day marts
//! are built first, in their order here, then the whole-lake marts in theirs). Each entry
//! says everything a stage needs; `docs/data-model.md` says what each column means, and a
//! test in transform checks the two agree.

use super::{Column, ColumnKind, Extension, Grain, Mart, Serving};
use ColumnKind::{Bool, Date, Float, Int, Text, Timestamp};

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

/// Every mart, and `item_days` (internal: the `items` table's input, kept by day).
pub static REGISTRY: &[Mart] = &[
    PRICES_FX,
    DISCOUNTS,
    VOD_FX,
    TRENDING_POPULARITY,
    PRICE_DAILY,
    FX_DAILY,
    CATEGORY_DAILY,
    PRICE_MOVES,
    BASKET,
    PRICE_LOWS_SETTLED,
    PRICE_LOWS,
    ITEM_DAYS,
];

const PRICES_FX: Mart = Mart {
    name: "prices_fx",
    about: "One observation of an item's price in one currency, at the rate in force then.",
    sql: "prices_fx.sql",
    grain: Grain::Day(Extension::NewFile),
    natural_key: &["record_id", "currency"],
    row_order: &["observed_at", "item_id", "currency", "record_id"],
    columns: &[
        col("record_id", Text),
        col("item_id", Int),
        col("observed_at", Timestamp),
        col("currency", Text),
        opt("rate", Float),
        opt("rate_time", Timestamp),
        opt("sale_price", Float),
        opt("msrp", Float),
        col("stale", Bool),
    ],
    serving: Serving::CountOnly,
    indexes: &[&["item_id", "currency", "observed_at"]],
};

const DISCOUNTS: Mart = Mart {
    name: "discounts",
    about: "An item's last state of a day in USD: price, list price, discount, stock, flags.",
    sql: "discounts.sql",
    grain: Grain::Day(Extension::Merge {
        delta: None,
        merge: "append/discounts.sql",
    }),
    natural_key: &["item_id", "date"],
    row_order: &["date", "item_id"],
    columns: &[
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
    ],
    serving: Serving::Rows,
    indexes: &[&["date"], &["category", "date"], &["name"]],
};

const VOD_FX: Mart = Mart {
    name: "vod_fx",
    about: "The day's value of the day in each currency (no rate yet: null price).",
    sql: "vod_fx.sql",
    grain: Grain::Day(Extension::Merge {
        delta: None,
        merge: "append/vod_fx.sql",
    }),
    natural_key: &["date", "currency"],
    row_order: &["date", "currency"],
    columns: &[
        col("date", Date),
        col("item_id", Int),
        col("name", Text),
        col("sale_price_usd", Float),
        col("currency", Text),
        opt("rate", Float),
        opt("price", Float),
        opt("rate_time", Timestamp),
    ],
    serving: Serving::Rows,
    indexes: &[&["currency", "date"]],
};

const TRENDING_POPULARITY: Mart = Mart {
    name: "trending_popularity",
    about: "How often an item was trending in an ISO week, and its rank that week.",
    sql: "trending_popularity.sql",
    grain: Grain::Lake,
    natural_key: &["period_start", "item_id"],
    row_order: &["period_start", "rank", "item_id"],
    columns: &[
        col("period_start", Date),
        col("item_id", Int),
        col("name", Text),
        col("appearances", Int),
        col("rank", Int),
    ],
    serving: Serving::Rows,
    indexes: &[&["period_start", "rank"]],
};

const PRICE_DAILY: Mart = Mart {
    name: "price_daily",
    about: "An item's first, last, lowest and highest price of a day in one currency.",
    sql: "price_daily.sql",
    grain: Grain::Day(Extension::Merge {
        delta: None,
        merge: "append/price_daily.sql",
    }),
    natural_key: &["item_id", "date", "currency"],
    row_order: &["date", "item_id", "currency"],
    columns: &[
        col("date", Date),
        col("item_id", Int),
        col("currency", Text),
        col("open", Float),
        col("close", Float),
        col("min", Float),
        col("max", Float),
    ],
    serving: Serving::ByItem,
    indexes: &[&["item_id", "currency", "date"]],
};

const FX_DAILY: Mart = Mart {
    name: "fx_daily",
    about: "A currency pair's first, highest, lowest and last rate of a day.",
    sql: "fx_daily.sql",
    grain: Grain::Lake,
    natural_key: &["base", "quote", "date"],
    row_order: &["quote", "date", "base"],
    columns: &[
        col("date", Date),
        col("base", Text),
        col("quote", Text),
        col("open", Float),
        col("high", Float),
        col("low", Float),
        col("close", Float),
    ],
    serving: Serving::Rows,
    indexes: &[&["quote", "date"]],
};

const CATEGORY_DAILY: Mart = Mart {
    name: "category_daily",
    about: "A category's items, median and mean price and shares discounted and in stock, by day.",
    sql: "category_daily.sql",
    grain: Grain::Day(Extension::Recompute),
    natural_key: &["category", "date"],
    row_order: &["date", "category"],
    columns: &[
        col("date", Date),
        col("category", Text),
        col("items", Int),
        col("median_price", Float),
        col("mean_price", Float),
        col("share_discounted", Float),
        col("share_in_stock", Float),
    ],
    serving: Serving::Rows,
    indexes: &[&["date"]],
};

const PRICE_MOVES: Mart = Mart {
    name: "price_moves",
    about: "An item's USD price change over the last 1, 7 and 30 days.",
    sql: "price_moves.sql",
    grain: Grain::Lake,
    natural_key: &["window_days", "item_id"],
    row_order: &["window_days", "change_pct", "item_id"],
    columns: &[
        col("item_id", Int),
        col("name", Text),
        col("window_days", Int),
        col("from_price", Float),
        col("to_price", Float),
        col("change_pct", Float),
        col("as_of", Date),
    ],
    serving: Serving::Rows,
    indexes: &[&["window_days", "change_pct"]],
};

const BASKET: Mart = Mart {
    name: "basket",
    about: "What a fixed basket of items cost on a day, in each currency.",
    sql: "basket.sql",
    grain: Grain::Lake,
    natural_key: &["currency", "date"],
    row_order: &["currency", "date"],
    columns: &[
        col("date", Date),
        col("currency", Text),
        col("items", Int),
        col("cost", Float),
    ],
    serving: Serving::Rows,
    indexes: &[&["date"]],
};

const PRICE_LOWS_SETTLED: Mart = Mart {
    name: "price_lows_settled",
    about: "price_lows over every day but the lake's latest (windows counted back from it): what an hour that only extends the latest day merges that day into.",
    sql: "price_lows_settled.sql",
    grain: Grain::BeforeLatestDay,
    natural_key: &["item_id", "currency"],
    row_order: &["item_id", "currency"],
    columns: PRICE_LOWS.columns,
    serving: Serving::Internal,
    indexes: &[],
};

const PRICE_LOWS: Mart = Mart {
    name: "price_lows",
    about: "An item's current price in one currency, and its lowest ever, over 30 and over 90 days, with the day each low was last seen.",
    sql: "price_lows.sql",
    grain: Grain::Lake,
    natural_key: &["item_id", "currency"],
    row_order: &["item_id", "currency"],
    columns: &[
        col("item_id", Int),
        col("currency", Text),
        col("as_of", Date),
        col("price", Float),
        col("price_on", Date),
        col("low_ever", Float),
        col("low_ever_on", Date),
        opt("low_30d", Float),
        opt("low_30d_on", Date),
        opt("low_90d", Float),
        opt("low_90d_on", Date),
    ],
    serving: Serving::Rows,
    indexes: &[],
};

const ITEM_DAYS: Mart = Mart {
    name: "item_days",
    about: "A stretch of an item's observations of a day with the same attributes: the items table's input.",
    sql: "item_days.sql",
    grain: Grain::Day(Extension::Merge {
        delta: Some("append/new_stretches.sql"),
        merge: "append/item_days.sql",
    }),
    natural_key: &["item_id", "first_seen"],
    row_order: &["item_id", "first_seen"],
    columns: &[
        col("date", Date),
        col("item_id", Int),
        col("first_seen", Timestamp),
        col("last_seen", Timestamp),
        col("observations", Int),
        col("name", Text),
        opt("brand", Text),
        opt("category_path", Text),
        opt("category", Text),
    ],
    serving: Serving::Internal,
    indexes: &[],
};
