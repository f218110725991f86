//! One paginator for Walmart's paged listings: the searches (pages by `start`) and the
//! catalog (pages by `nextPage`). Both walk a list of keys (queries, categories), each to
//! its last page, and both must treat a page alike: its items land with the listing's
//! context, a page the service rejects is dead-lettered and its key skipped for the round,
//! refused credentials stop the source, and a page that failed every retry is asked again
//! later from the same place, so a restart never skips a page.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{context_of, refused, Api, NAME};
use crate::config::SearchConfig;
use crate::driver::{Step, Stepped};
use crate::envelopes::Origin;
use crate::http::Outcome;

/// How one paged listing is asked for and read.
pub(super) trait Listing {
    /// Where a key's walk stands: the next `start` of a search, the `nextPage` path of a
    /// catalog category.
    type Cursor: Clone;
    /// The endpoint, as records and metrics name it.
    const ENDPOINT: &'static str;
    /// The detail of a rejected page's dead letter.
    const REJECTED: &'static str;
    /// The cursor of a key's first page.
    fn first(&self) -> Self::Cursor;
    /// The resource of `key`'s page at `cursor`: a path below the API's prefix, or one the
    /// service handed back.
    fn resource(&self, key: &str, cursor: &Self::Cursor) -> String;
    /// The fields of the response kept beside each of its items.
    fn context(&self, key: &str, body: &Value) -> Option<Value>;
    /// The cursor of the page after this one, `None` when `key` has no more pages.
    fn next(&self, cursor: &Self::Cursor, body: &Value, items: usize) -> Option<Self::Cursor>;
}

/// Where a walk stands: the index of its key, and the page within that key.
pub(super) struct Position<C> {
    pub key: usize,
    pub cursor: C,
}

/// Fetches the page at `at` of the walk over `keys` and moves `at` to the next page, the
/// next key, or back to the first key when the round is done. A failed or refused page
/// leaves `at` where it was.
pub(super) async fn page<L: Listing>(
    listing: &L,
    api: &mut Api,
    keys: &[String],
    at: &mut Position<L::Cursor>,
    slot: DateTime<Utc>,
) -> Stepped {
    let Some(key) = keys.get(at.key) else {
        // The keys changed under a saved walk: start the next round from the first.
        *at = Position {
            key: 0,
            cursor: listing.first(),
        };
        return Stepped {
            records: Vec::new(),
            step: Step::RoundDone,
            requests: 0,
        };
    };
    let fetched = api
        .get(L::ENDPOINT, &listing.resource(key, &at.cursor))
        .await;
    let origin = Origin {
        source: NAME,
        endpoint: L::ENDPOINT,
        url: &fetched.url,
        slot,
    };
    let mut records = origin.discarded(&fetched.discarded);
    let next = match fetched.outcome {
        Outcome::Json {
            status,
            body,
            at: when,
        } => {
            let items = body
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            records.extend(origin.items(status, when, &items, listing.context(key, &body)));
            listing.next(&at.cursor, &body, items.len())
        }
        Outcome::Rejected {
            status,
            body,
            at: when,
        } => {
            records.push(origin.dead(
                &format!("http_{status}"),
                L::REJECTED,
                Some(status),
                when,
                body.clone(),
                999,
            ));
            if let Some(reason) = refused(status, &body) {
                return Stepped {
                    records,
                    step: Step::Stop(reason),
                    requests: fetched.attempts,
                };
            }
            None
        }
        Outcome::Exhausted { last } => {
            return Stepped {
                records,
                step: Step::retry(last),
                requests: fetched.attempts,
            }
        }
    };
    let step = match next {
        Some(cursor) => {
            at.cursor = cursor;
            Step::Progress
        }
        None if at.key + 1 < keys.len() => {
            at.key += 1;
            at.cursor = listing.first();
            Step::Progress
        }
        None => {
            at.key = 0;
            at.cursor = listing.first();
            Step::RoundDone
        }
    };
    Stepped {
        records,
        step,
        requests: fetched.attempts,
    }
}

/// The searches: every query paged through `start`, up to `max_results` (the API stops at
/// 1000).
pub(super) struct Search<'a>(pub &'a SearchConfig);

impl Listing for Search<'_> {
    type Cursor = u32;
    const ENDPOINT: &'static str = "search";
    const REJECTED: &'static str = "the service rejected the request";

    fn first(&self) -> u32 {
        1
    }

    fn resource(&self, query: &str, start: &u32) -> String {
        let mut path = format!(
            "search?query={}&sort={}&start={start}&numItems={}",
            url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>(),
            self.0.sort,
            self.0.num_items
        );
        if !self.0.category_id.is_empty() {
            path.push_str("&categoryId=");
            path.extend(url::form_urlencoded::byte_serialize(
                self.0.category_id.as_bytes(),
            ));
        }
        path
    }

    fn context(&self, _query: &str, body: &Value) -> Option<Value> {
        context_of(body, &["query", "totalResults", "start"])
    }

    fn next(&self, start: &u32, body: &Value, items: usize) -> Option<u32> {
        let total = body
            .get("totalResults")
            .and_then(Value::as_u64)
            .unwrap_or(0) as u32;
        let next_start = start + items as u32;
        let last = total.min(self.0.max_results).min(1000);
        (items > 0 && next_start <= last).then_some(next_start)
    }
}

/// The catalog: every category followed through `nextPage` to its end.
pub(super) struct Catalog {
    /// Items per page.
    pub count: u32,
}

impl Listing for Catalog {
    /// The `nextPage` path; `None` for a category's first page.
    type Cursor = Option<String>;
    const ENDPOINT: &'static str = "paginated_items";
    const REJECTED: &'static str = "page rejected; category skipped this round";

    fn first(&self) -> Option<String> {
        None
    }

    fn resource(&self, category: &str, next_page: &Option<String>) -> String {
        next_page
            .clone()
            .unwrap_or_else(|| format!("paginated/items?category={category}&count={}", self.count))
    }

    fn context(&self, category: &str, body: &Value) -> Option<Value> {
        let mut context =
            context_of(body, &["nextPage", "totalPages"]).unwrap_or_else(|| json!({}));
        context["category"] = json!(category);
        Some(context)
    }

    fn next(&self, _page: &Option<String>, body: &Value, _items: usize) -> Option<Option<String>> {
        body.get("nextPage")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map(|p| Some(p.to_string()))
    }
}
