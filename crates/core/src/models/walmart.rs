//! Walmart product API items and responses (Open API v1 and Affiliate API v2 share them).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::flex;

/// Why an item cannot become a row. The `code` is used as the dead-letter reason.
/// The Walmart endpoints whose records are items (one per list entry, or the value of
/// the day): what becomes a price observation. `taxonomy` is reference data.
pub const ITEM_ENDPOINTS: &[&str] = &["trends", "vod", "paginated_items", "search", "items"];

/// Why an item cannot become a price observation: the reason its dead letter carries.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ItemError {
    /// No `itemId`, or one that is not a positive integer.
    #[error("item has no usable itemId: {0}")]
    MissingItemId(String),
    /// `salePrice` or `msrp` present but not a number.
    #[error("{field} is not a number: {value}")]
    BadPrice {
        /// The offending field.
        field: &'static str,
        /// Its JSON text.
        value: String,
    },
    /// The item is not a JSON object at all.
    #[error("item is not a JSON object: {0}")]
    NotAnObject(String),
}

impl ItemError {
    /// A short reason, used as a dead-letter path segment.
    pub fn code(&self) -> &'static str {
        match self {
            ItemError::MissingItemId(_) => "missing_item_id",
            ItemError::BadPrice { .. } => "bad_price",
            ItemError::NotAnObject(_) => "item_not_object",
        }
    }
}

/// One product as the API describes it; only the fields pricelake uses are typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// Walmart's item id.
    pub item_id: u64,
    /// The parent item of a variant.
    pub parent_item_id: Option<u64>,
    /// Product name, as sent (may contain markup: escape before display).
    pub name: String,
    /// Manufacturer's suggested retail price, USD; often missing.
    pub msrp: Option<f64>,
    /// Current price, USD.
    pub sale_price: Option<f64>,
    /// Universal product code.
    pub upc: Option<String>,
    /// `Electronics/TV & Video/...`.
    pub category_path: Option<String>,
    /// `3944_1060825_447913`.
    pub category_node: Option<String>,
    /// Brand; often missing.
    pub brand_name: Option<String>,
    /// Average rating; arrives as a string.
    pub customer_rating: Option<f64>,
    /// Number of reviews.
    pub num_reviews: Option<u64>,
    /// `Available`, `Not available`, `Limited Supply`.
    pub stock: Option<String>,
    /// Whether the item is sold online.
    pub available_online: Option<bool>,
    /// On rollback (a temporary price cut).
    pub roll_back: Option<bool>,
    /// On clearance.
    pub clearance: Option<bool>,
    /// Product page.
    pub product_url: Option<String>,
    /// Thumbnail image URL.
    pub thumbnail_image: Option<String>,
}

impl Item {
    /// Reads one item tolerantly from its JSON, or says why it cannot be kept.
    pub fn from_json(value: &Value) -> Result<Item, ItemError> {
        let obj = value
            .as_object()
            .ok_or_else(|| ItemError::NotAnObject(truncate(&value.to_string())))?;
        let get = |k: &str| obj.get(k).unwrap_or(&Value::Null);
        let item_id = match flex::value_as_u64(get("itemId")) {
            Ok(Some(id)) if id > 0 => id,
            _ => return Err(ItemError::MissingItemId(get("itemId").to_string())),
        };
        let price = |field: &'static str| {
            flex::value_as_f64(get(field)).map_err(|_| ItemError::BadPrice {
                field,
                value: get(field).to_string(),
            })
        };
        let sale_price = price("salePrice")?;
        let msrp = price("msrp")?;
        let text = |k: &str| match get(k) {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        let boolean = |k: &str| match get(k) {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        };
        Ok(Item {
            item_id,
            parent_item_id: flex::value_as_u64(get("parentItemId")).ok().flatten(),
            name: text("name").unwrap_or_default(),
            msrp,
            sale_price,
            upc: text("upc"),
            category_path: text("categoryPath"),
            category_node: text("categoryNode"),
            brand_name: text("brandName"),
            customer_rating: flex::value_as_f64(get("customerRating")).ok().flatten(),
            num_reviews: flex::value_as_u64(get("numReviews")).ok().flatten(),
            stock: text("stock"),
            available_online: boolean("availableOnline"),
            roll_back: boolean("rollBack"),
            clearance: boolean("clearance"),
            product_url: text("productUrl"),
            thumbnail_image: text("thumbnailImage"),
        })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

/// A v1/v2 error body: `{"errors":[{"code":4002,"message":"Invalid itemId"}]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The errors listed.
    pub errors: Vec<ErrorEntry>,
}

/// One entry of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEntry {
    /// Walmart's error code (4002 invalid item id, 4009 missing query, ...).
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub code: Option<u64>,
    /// Its message.
    #[serde(default)]
    pub message: Option<String>,
}

/// Paging fields of `/paginated/items` (v1 and v2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// Path (v1 includes `/v1/`) of the next page; absent on the last page.
    #[serde(default)]
    pub next_page: Option<String>,
    /// v2 says explicitly whether there is a next page.
    #[serde(default, deserialize_with = "flex::opt_bool")]
    pub next_page_exist: Option<bool>,
    /// Total pages, as the service estimates it.
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub total_pages: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_loose_item() {
        let item = Item::from_json(&json!({
            "itemId": "12417832", "name": "TV", "salePrice": "199.99",
            "customerRating": "4.828", "numReviews": 12, "stock": "Available",
            "rollBack": true, "extra": {"unknown": 1}
        }))
        .unwrap();
        assert_eq!(item.item_id, 12417832);
        assert_eq!(item.sale_price, Some(199.99));
        assert_eq!(item.msrp, None);
        assert_eq!(item.customer_rating, Some(4.828));
        assert_eq!(item.roll_back, Some(true));
    }

    #[test]
    fn rejects_items_it_cannot_keep() {
        let no_id = Item::from_json(&json!({"name": "x", "salePrice": 1.0})).unwrap_err();
        assert_eq!(no_id.code(), "missing_item_id");
        let bad_price = Item::from_json(&json!({"itemId": 1, "salePrice": "cheap"})).unwrap_err();
        assert_eq!(bad_price.code(), "bad_price");
        assert_eq!(
            Item::from_json(&json!([1])).unwrap_err().code(),
            "item_not_object"
        );
    }
}
