//! The marts: one typed registry entry each ([`defs`]), and every list the stages use
//! derived from it.
//!
//! A mart is the product's central thing: transform builds it from the SQL file its entry
//! names, audit proves its natural key never repeats, serve loads it the way its entry says,
//! publish keys and indexes it in MongoDB, and `/openapi.json` types it by its columns. All
//! of them read [`REGISTRY`], so adding a mart is one entry, its SQL and its test file, and a
//! mart cannot be built and then forgotten by a reader.

mod defs;

pub use defs::REGISTRY;

/// One mart (or one table built like a mart, see [`Serving::Internal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mart {
    /// Its name: its folder under `marts/`, its MongoDB collection, its API name.
    pub name: &'static str,
    /// What a row is, in one sentence (for the docs and the OpenAPI description).
    pub about: &'static str,
    /// The SQL file that builds it, relative to transform's `sql/` folder.
    pub sql: &'static str,
    /// Whether it is kept by day or rebuilt over the whole lake by each run.
    pub grain: Grain,
    /// The columns whose values identify one row: no two rows share them.
    pub natural_key: &'static [&'static str],
    /// The order of its rows as transform writes them (its SQL's `ORDER BY`, ended by
    /// columns of the natural key so that no two rows tie): a reader that loads the rows
    /// from elsewhere (MongoDB) restores it with this.
    pub row_order: &'static [&'static str],
    /// Its columns, in the order transform writes them (`docs/data-model.md`).
    pub columns: &'static [Column],
    /// How serve holds it in memory.
    pub serving: Serving,
    /// The MongoDB indexes its queries use besides the natural key (the document `_id`),
    /// each a list of ascending columns.
    pub indexes: &'static [&'static [&'static str]],
}

impl Mart {
    /// The column `name`, if the mart has one.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// True for a mart readers see: served, published, audited (not [`Serving::Internal`]).
    pub fn is_public(&self) -> bool {
        self.serving != Serving::Internal
    }

    /// True for a mart kept by day.
    pub fn by_day(&self) -> bool {
        matches!(self.grain, Grain::Day(_))
    }
}

/// Whether a mart is kept by day or rebuilt over the whole lake by each run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    /// Every row depends only on one day's observations and the rates at or before them:
    /// computed one day at a time, only for the days a run touched, the others carried over.
    Day(Extension),
    /// Rebuilt from the day marts and clean tables by every run.
    Lake,
    /// Over every day but the lake's latest, with windows counted back from the latest day:
    /// rebuilt when a run changes a day before the latest or makes a new latest day, and
    /// carried over from the previous run otherwise (an hour that extends only the latest
    /// day), so that a whole-lake mart built on it reads one day, not the whole lake, per
    /// hour. Its SQL is in the days' fingerprint, like a day mart's, since it is carried.
    BeforeLatestDay,
}

/// How a mart kept by day takes observations later than all of its day's (an hour's run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    /// The mart's SQL over the new observations alone, written as one more file of the day.
    NewFile,
    /// The day's rows of the new observations (from `delta`, a SQL file, or the mart's own
    /// SQL when `None`) merged with the day's old rows by the SQL file `merge`.
    Merge {
        /// The SQL for the new observations' rows, when not the mart's own.
        delta: Option<&'static str>,
        /// The SQL that merges them (`delta`) with the day's old rows (`previous`).
        merge: &'static str,
    },
    /// Recomputed by its own SQL from the day's marts merged before it.
    Recompute,
}

/// How serve holds a mart in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    /// Every row, as JSON, answered by the routes.
    Rows,
    /// Columnar (Arrow batches, a few bytes a value) and turned into rows only for the item
    /// a request asks about: for a mart of items x days x currencies.
    ByItem,
    /// Only its row count: no route reads it row by row (`prices_fx` is every observation
    /// times every currency, most of the lake's rows).
    CountOnly,
    /// Not served, published nor audited: an intermediate table kept like a mart.
    Internal,
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

/// The public marts (served, published, audited), in the order every listing shows them.
pub fn public() -> impl Iterator<Item = &'static Mart> {
    REGISTRY.iter().filter(|m| m.is_public())
}

/// The public marts' names, in listing order.
pub fn names() -> impl Iterator<Item = &'static str> {
    public().map(|m| m.name)
}

/// The marts kept by day (the internal ones too), in build order: each reads only the day's
/// inputs and the day marts before it.
pub fn by_day() -> impl Iterator<Item = &'static Mart> {
    REGISTRY.iter().filter(|m| m.by_day())
}

/// The marts rebuilt over the whole lake, in build order: each reads the day marts and the
/// whole-lake marts before it.
pub fn over_the_lake() -> impl Iterator<Item = &'static Mart> {
    REGISTRY.iter().filter(|m| !m.by_day())
}

/// The mart `name` (an internal one too), if there is one.
pub fn get(name: &str) -> Option<&'static Mart> {
    REGISTRY.iter().find(|m| m.name == name)
}

/// The columns whose values identify one row of `mart`; empty for an unknown mart.
pub fn natural_key(mart: &str) -> &'static [&'static str] {
    get(mart).map_or(&[], |m| m.natural_key)
}

/// The order of `mart`'s rows as transform writes them; empty for an unknown mart.
pub fn row_order(mart: &str) -> &'static [&'static str] {
    get(mart).map_or(&[], |m| m.row_order)
}

/// The columns of `mart`, in the order transform writes them; empty for an unknown mart.
pub fn columns(mart: &str) -> &'static [Column] {
    get(mart).map_or(&[], |m| m.columns)
}

/// The column `name` of `mart`, if it has one.
pub fn column(mart: &str, name: &str) -> Option<&'static Column> {
    get(mart).and_then(|m| m.column(name))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn names_are_unique_and_an_unknown_mart_has_nothing() {
        let names: BTreeSet<&str> = REGISTRY.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), REGISTRY.len());
        assert!(get("no_such_mart").is_none());
        assert!(natural_key("no_such_mart").is_empty());
        assert!(row_order("no_such_mart").is_empty());
        assert!(columns("no_such_mart").is_empty());
    }

    #[test]
    fn every_key_and_order_column_is_a_non_nullable_column_and_the_order_ends_in_the_key() {
        for mart in REGISTRY {
            assert!(!mart.natural_key.is_empty(), "{}", mart.name);
            assert!(!mart.columns.is_empty(), "{}", mart.name);
            for name in mart.natural_key.iter().chain(mart.row_order) {
                let column = mart
                    .column(name)
                    .unwrap_or_else(|| panic!("{}: {name}", mart.name));
                assert!(!column.nullable, "{}: {name} is nullable", mart.name);
            }
            // The order holds a full key, so rows never tie.
            for column in mart.natural_key {
                assert!(mart.row_order.contains(column), "{}: {column}", mart.name);
            }
            for index in mart.indexes {
                for column in *index {
                    assert!(mart.column(column).is_some(), "{}: {column}", mart.name);
                }
            }
        }
    }

    #[test]
    fn at_most_one_mart_is_served_by_item_and_it_has_an_item_id() {
        let by_item: Vec<&Mart> = REGISTRY
            .iter()
            .filter(|m| m.serving == Serving::ByItem)
            .collect();
        assert!(by_item.len() <= 1, "{by_item:?}");
        for mart in by_item {
            assert!(mart.column("item_id").is_some());
        }
    }

    #[test]
    fn a_day_mart_recomputed_from_merged_ones_comes_after_one() {
        // Build order: day marts are built first whatever their place in the registry, and
        // a day mart that recomputes from merged ones comes after a merged one.
        let day: Vec<&Mart> = by_day().collect();
        let first_merged = day
            .iter()
            .position(|m| matches!(m.grain, Grain::Day(Extension::Merge { .. })));
        for (i, mart) in day.iter().enumerate() {
            if mart.grain == Grain::Day(Extension::Recompute) {
                assert!(first_merged.is_some_and(|f| f < i), "{}", mart.name);
            }
        }
    }
}
