//! The Walmart product API routes, v1 (`/v1/...`, `apiKey`) and Affiliate v2
//! (`/api-proxy/service/affil/product/v2/...`, signed headers): same resources, same
//! item objects, v2 paging adds `nextPageExist`.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::auth::{self, V2Refusal};
use crate::catalog::Catalog;
use crate::reply::Reply;
use crate::server::Inner;

/// The two Walmart API generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V1,
    V2,
}

/// Where v2 lives.
pub(crate) const V2_PREFIX: &str = "/api-proxy/service/affil/product/v2/";

impl Version {
    fn prefix(self) -> &'static str {
        match self {
            Version::V1 => "/v1/",
            Version::V2 => V2_PREFIX,
        }
    }
}

/// A request to a Walmart route.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub state: &'a Inner,
    pub now: DateTime<Utc>,
    pub query: &'a HashMap<String, String>,
    pub headers: &'a HeaderMap,
    /// The `duplicate` fault was drawn for this request.
    pub duplicate: bool,
}

/// The endpoint name (as in the lake) of a path below the version prefix.
pub(crate) fn endpoint_of(rest: &str) -> &'static str {
    match rest.trim_end_matches('/') {
        "trends" => "trends",
        "vod" => "vod",
        "search" => "search",
        "items" => "items",
        "paginated/items" => "paginated_items",
        "taxonomy" => "taxonomy",
        r if r.starts_with("items/") => "items",
        _ => "unknown",
    }
}

fn bad(code: u32, message: &str) -> Reply {
    Reply::walmart_error(StatusCode::BAD_REQUEST, code, message)
}

/// Answers one Walmart request: authentication first, then the resource.
pub(crate) fn handle(call: &Call<'_>, version: Version, rest: &str) -> Reply {
    let cfg = &call.state.config;
    match version {
        Version::V1 => {
            if call.query.get("apiKey").map(String::as_str) != Some(cfg.walmart_api_key.as_str()) {
                return Reply::walmart_error(StatusCode::FORBIDDEN, 403, "Account Inactive");
            }
        }
        Version::V2 => {
            let checked = auth::check_v2(
                call.headers,
                call.state.verifying_key.as_ref(),
                &cfg.walmart_consumer_id,
                call.now,
            );
            match checked {
                Ok(()) => {}
                Err(V2Refusal::Forbidden(m)) => {
                    return Reply::walmart_error(StatusCode::FORBIDDEN, 403, &m)
                }
                Err(V2Refusal::Unauthorized(m)) => {
                    return Reply::walmart_error(StatusCode::UNAUTHORIZED, 401, &m)
                }
            }
        }
    }
    let catalog = &call.state.catalog;
    let rest = rest.trim_end_matches('/');
    match rest {
        "trends" => trends(call, catalog),
        "vod" => match catalog.vod(call.now) {
            Some(i) => Reply::json(StatusCode::OK, &catalog.item_json(i, call.now))
                .with_items(vec![catalog.products()[i].id]),
            None => Reply::walmart_error(StatusCode::NOT_FOUND, 404, "No value of the day"),
        },
        "search" => search(call, catalog),
        "items" => items(call, catalog),
        "paginated/items" => paginated(call, catalog, version),
        "taxonomy" => Reply::json(StatusCode::OK, &catalog.taxonomy_json()),
        r if r.starts_with("items/") => {
            let id = &r["items/".len()..];
            match id.parse::<u64>().ok().and_then(|id| catalog.index_of(id)) {
                Some(i) => Reply::json(StatusCode::OK, &catalog.item_json(i, call.now))
                    .with_items(vec![catalog.products()[i].id]),
                None => bad(4002, "Invalid itemId"),
            }
        }
        _ => Reply::walmart_error(StatusCode::NOT_FOUND, 404, "Resource not found"),
    }
}

/// Serializes items at `now`, repeating one when the duplicate fault is on; returns the
/// body array, the ids in order and whether a repeat was made.
fn items_body(
    call: &Call<'_>,
    catalog: &Catalog,
    mut idx: Vec<usize>,
) -> (Vec<Value>, Vec<u64>, bool) {
    let mut duplicated = false;
    if call.duplicate && !idx.is_empty() {
        let again = idx[0];
        idx.insert(idx.len().div_ceil(2), again);
        duplicated = true;
    }
    let ids = idx.iter().map(|&i| catalog.products()[i].id).collect();
    let body = idx
        .iter()
        .map(|&i| catalog.item_json(i, call.now))
        .collect();
    (body, ids, duplicated)
}

fn trends(call: &Call<'_>, catalog: &Catalog) -> Reply {
    let (items, ids, duplicated) = items_body(call, catalog, catalog.trending(call.now));
    let mut reply = Reply::json(
        StatusCode::OK,
        &json!({"items": items, "time": call.now.timestamp_millis()}),
    )
    .with_items(ids);
    reply.duplicated = duplicated;
    reply
}

fn parse_range(call: &Call<'_>, name: &str, default: usize, max: usize) -> Result<usize, Reply> {
    match call.query.get(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(bad(4003, &format!("{name} must be between 1 and {max}"))),
        },
    }
}

fn in_category(node: Option<&str>, category: &str) -> bool {
    node.is_some_and(|n| n == category || n.starts_with(&format!("{category}_")))
}

fn search(call: &Call<'_>, catalog: &Catalog) -> Reply {
    let Some(query) = call
        .query
        .get("query")
        .map(|q| q.trim())
        .filter(|q| !q.is_empty())
    else {
        return bad(4009, "Missing search query");
    };
    let start = match parse_range(call, "start", 1, 1000) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let num = match parse_range(call, "numItems", 10, 25) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let sort = call.query.get("sort").map_or("relevance", String::as_str);
    if ![
        "relevance",
        "price",
        "title",
        "bestseller",
        "customerRating",
        "new",
    ]
    .contains(&sort)
    {
        return bad(4003, "Invalid sort parameter");
    }
    let order = call.query.get("order").map_or("ascending", String::as_str);
    if !["ascending", "descending"].contains(&order) {
        return bad(4003, "Invalid order parameter");
    }
    let category = call.query.get("categoryId").filter(|c| !c.is_empty());
    let tokens: Vec<String> = query
        .to_lowercase()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let products = catalog.products();
    let mut hits: Vec<(usize, u32)> = Vec::new();
    for (i, p) in products.iter().enumerate() {
        if category.is_some_and(|c| !in_category(p.category_node.as_deref(), c)) {
            continue;
        }
        let name = p.name.to_lowercase();
        let brand = p.brand.as_deref().unwrap_or("").to_lowercase();
        let path = p.category_path.as_deref().unwrap_or("").to_lowercase();
        let mut score = 0;
        let all = tokens.iter().all(|t| {
            let s = 3 * u32::from(name.contains(t.as_str()))
                + 2 * u32::from(brand.contains(t.as_str()))
                + u32::from(path.contains(t.as_str()));
            score += s;
            s > 0
        });
        if all {
            hits.push((i, score));
        }
    }
    let id = |i: usize| products[i].id;
    match sort {
        "relevance" => hits.sort_by(|a, b| b.1.cmp(&a.1).then(id(a.0).cmp(&id(b.0)))),
        "price" => {
            let mut priced: Vec<(usize, u32, f64)> = hits
                .iter()
                .map(|&(i, s)| (i, s, catalog.state(i, call.now).sale_price))
                .collect();
            priced.sort_by(|a, b| a.2.total_cmp(&b.2).then(id(a.0).cmp(&id(b.0))));
            hits = priced.into_iter().map(|(i, s, _)| (i, s)).collect();
        }
        "title" => hits.sort_by(|a, b| products[a.0].name.cmp(&products[b.0].name)),
        "bestseller" => hits.sort_by_key(|&(i, _)| (products[i].num_reviews.unwrap_or(0), id(i))),
        "customerRating" => {
            let r = |i: usize| {
                products[i]
                    .rating
                    .as_deref()
                    .and_then(|r| r.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            hits.sort_by(|a, b| r(a.0).total_cmp(&r(b.0)).then(id(a.0).cmp(&id(b.0))))
        }
        _ => hits.sort_by_key(|&(i, _)| id(i)),
    }
    if sort != "relevance" && order == "descending" {
        hits.reverse();
    }
    let total = hits.len();
    let end = (start - 1 + num).min(total).min(1000);
    let page: Vec<usize> = hits
        .get(start - 1..end)
        .unwrap_or(&[])
        .iter()
        .map(|(i, _)| *i)
        .collect();
    let (items, ids, duplicated) = items_body(call, catalog, page);
    let mut reply = Reply::json(
        StatusCode::OK,
        &json!({
            "query": query, "sort": sort, "responseGroup": "base", "totalResults": total,
            "start": start, "numItems": items.len(), "items": items, "facets": []
        }),
    )
    .with_items(ids);
    reply.duplicated = duplicated;
    reply
}

fn items(call: &Call<'_>, catalog: &Catalog) -> Reply {
    if let Some(ids) = call.query.get("ids") {
        let parsed: Result<Vec<u64>, _> = ids.split(',').map(|s| s.trim().parse::<u64>()).collect();
        let Ok(parsed) = parsed else {
            return bad(4002, "Invalid itemId");
        };
        if parsed.len() > 20 {
            return bad(4003, "At most 20 ids per request");
        }
        let known: Vec<usize> = parsed
            .iter()
            .filter_map(|id| catalog.index_of(*id))
            .collect();
        if known.is_empty() {
            return bad(4002, "Invalid itemId");
        }
        let (items, ids, _) = items_body(
            &Call {
                duplicate: false,
                ..*call
            },
            catalog,
            known,
        );
        return Reply::json(StatusCode::OK, &json!({"items": items})).with_items(ids);
    }
    if let Some(upc) = call.query.get("upc") {
        return match catalog.index_of_upc(upc.trim()) {
            Some(i) => Reply::json(
                StatusCode::OK,
                &json!({"items": [catalog.item_json(i, call.now)]}),
            )
            .with_items(vec![catalog.products()[i].id]),
            None => bad(4002, "Invalid UPC"),
        };
    }
    bad(4001, "Missing ids or upc parameter")
}

fn paginated(call: &Call<'_>, catalog: &Catalog, version: Version) -> Reply {
    let count = match parse_range(call, "count", 100, 200) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let max_id = match call.query.get("maxId").map(|v| v.trim().parse::<u64>()) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => return bad(4003, "Invalid maxId"),
    };
    let offer = call.query.get("specialOffer").filter(|s| !s.is_empty());
    if offer.is_some_and(|o| !["rollback", "clearance", "specialBuy"].contains(&o.as_str())) {
        return bad(
            4003,
            "Invalid specialOffer: rollback, clearance or specialBuy",
        );
    }
    let category = call.query.get("category").filter(|c| !c.is_empty());
    let brand = call.query.get("brand").filter(|b| !b.is_empty());
    let products = catalog.products();
    let filtered: Vec<usize> = (0..catalog.len())
        .filter(|&i| {
            let p = &products[i];
            category.is_none_or(|c| in_category(p.category_node.as_deref(), c))
                && brand.is_none_or(|b| {
                    p.brand
                        .as_deref()
                        .is_some_and(|pb| pb.eq_ignore_ascii_case(b))
                })
                && offer.is_none_or(|o| {
                    let s = catalog.state(i, call.now);
                    match o.as_str() {
                        "rollback" => s.roll_back,
                        "clearance" => s.clearance,
                        _ => s.special_buy,
                    }
                })
        })
        .collect();
    let after: Vec<usize> = filtered
        .iter()
        .copied()
        .filter(|&i| max_id.is_none_or(|m| products[i].id > m))
        .collect();
    let page: Vec<usize> = after.iter().copied().take(count).collect();
    let has_next = after.len() > page.len();
    let mut idx = page.clone();
    let mut duplicated = false;
    if call.duplicate {
        // Repeat the previous page's last item on top of this one, as a cursor that
        // moved back would; on the first page repeat an item of the page.
        if let Some(prev) = max_id.and_then(|m| catalog.index_of(m)) {
            idx.insert(0, prev);
            duplicated = true;
        } else if let Some(&first) = page.first() {
            idx.push(first);
            duplicated = true;
        }
    }
    let ids: Vec<u64> = idx.iter().map(|&i| products[i].id).collect();
    let items: Vec<Value> = idx
        .iter()
        .map(|&i| catalog.item_json(i, call.now))
        .collect();
    let total_pages = filtered.len().div_ceil(count).max(1);
    let mut body = json!({"items": items, "totalPages": total_pages});
    if let (true, Some(&last)) = (has_next, page.last()) {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(c) = category {
            q.append_pair("category", c);
        }
        if let Some(b) = brand {
            q.append_pair("brand", b);
        }
        if let Some(o) = offer {
            q.append_pair("specialOffer", o);
        }
        q.append_pair("count", &count.to_string());
        q.append_pair("maxId", &products[last].id.to_string());
        body["nextPage"] = json!(format!(
            "{}paginated/items?{}",
            version.prefix(),
            q.finish()
        ));
    }
    if version == Version::V2 {
        body["nextPageExist"] = json!(has_next);
    }
    let mut reply = Reply::json(StatusCode::OK, &body).with_items(ids);
    reply.duplicated = duplicated;
    reply
}
