//! Items: the list (filter, search, sort, page), one item with its lows, its daily history.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::json;

use crate::format::{mart_columns, Format};
use crate::params::{
    currency, date_of, f64_of, in_range, item_id, parse_date, parse_limit, str_of, strict_uint,
    Params,
};
use crate::{openapi, ApiError, Row, ServeState};

pub(crate) async fn items(
    State(state): State<ServeState>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let format = Format::of(&params)?;
    let store = state.store();
    let limit = parse_limit(&params, 50)?;
    let cursor = match params.get("cursor").map(|c| strict_uint(c)) {
        None => 0,
        Some(Some(c)) if c <= openapi::CURSOR_MAX => usize::try_from(c).unwrap_or(usize::MAX),
        Some(_) => {
            return Err(ApiError::bad_request(
                "cursor",
                "expected the cursor of a previous page",
            ))
        }
    };
    let sort = params.get("sort").map(String::as_str).unwrap_or("name");
    if !openapi::SORTS.contains(&sort) {
        return Err(ApiError::bad_request(
            "sort",
            "expected name, price or discount",
        ));
    }
    let q = params.get("q").map(|q| q.to_lowercase());
    let category = params.get("category").filter(|c| !c.is_empty());
    if sort == "name" && q.is_none() && category.is_none() {
        // The whole list in name order: a slice of the order computed once per run.
        let total = store.items_by_name().len();
        let page: Vec<&Row> = store
            .items_by_name()
            .iter()
            .skip(cursor)
            .take(limit)
            .filter_map(|id| store.items().get(id))
            .collect();
        let next = (cursor + page.len() < total).then(|| (cursor + page.len()).to_string());
        return Ok(format.answer(
            json!({"items": page, "total": total, "next_cursor": next}),
            &["items"],
            &mart_columns("discounts"),
            "items",
        ));
    }
    // Name order is precomputed per run; the other orders sort the matches.
    let mut rows: Vec<&Row> = store
        .items_by_name()
        .iter()
        .filter_map(|id| store.items().get(id))
        // An empty category is "All categories", as the dashboard sends it.
        .filter(|r| category.is_none_or(|c| str_of(r, "category") == c))
        .filter(|r| {
            q.as_ref()
                .is_none_or(|q| str_of(r, "name").to_lowercase().contains(q))
        })
        .collect();
    match sort {
        "price" => rows.sort_by(|a, b| {
            f64_of(a, "sale_price")
                .partial_cmp(&f64_of(b, "sale_price"))
                .unwrap_or(std::cmp::Ordering::Equal)
        }),
        "discount" => rows.sort_by(|a, b| {
            f64_of(b, "discount_pct")
                .partial_cmp(&f64_of(a, "discount_pct"))
                .unwrap_or(std::cmp::Ordering::Equal)
        }),
        _ => {}
    }
    let total = rows.len();
    let page: Vec<&Row> = rows.into_iter().skip(cursor).take(limit).collect();
    let next = (cursor + page.len() < total).then(|| (cursor + page.len()).to_string());
    Ok(format.answer(
        json!({"items": page, "total": total, "next_cursor": next}),
        &["items"],
        &mart_columns("discounts"),
        "items",
    ))
}

pub(crate) async fn item(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let format = Format::of(&params)?;
    let id = item_id(&id)?;
    let store = state.store();
    match store.items().get(&id) {
        Some(row) => {
            let mut item = row.clone();
            item.insert("lows".into(), json!(store.lows_of(id)));
            // As CSV, the item's table: its lows, one row per currency.
            Ok(format.answer(
                serde_json::Value::Object(item),
                &["lows"],
                &mart_columns("price_lows"),
                &format!("item-{id}-lows"),
            ))
        }
        None => Err(ApiError::not_found("id", "no such item")),
    }
}

/// The columns of a row of the `items` table as `/api/v1/items/{id}/versions` answers them
/// (its date partition is not one: it is `valid_from`'s day).
pub(crate) const VERSION_COLUMNS: [&str; 12] = [
    "item_id",
    "version",
    "name",
    "brand",
    "category_path",
    "category",
    "valid_from",
    "valid_to",
    "is_current",
    "last_seen",
    "observations",
    "changed",
];

/// The item the path names, if the store knows it: 400 for an id that is not a number, 404
/// for one no run has seen.
fn known_item(store: &crate::MartStore, id: &str) -> Result<i64, ApiError> {
    let id = item_id(id)?;
    if store.items().contains_key(&id) {
        Ok(id)
    } else {
        Err(ApiError::not_found("id", "no such item"))
    }
}

pub(crate) async fn versions(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let format = Format::of(&params)?;
    let store = state.store();
    let id = known_item(&store, &id)?;
    Ok(format.answer(
        json!({"item_id": id, "versions": store.versions_of(id)}),
        &["versions"],
        &VERSION_COLUMNS,
        &format!("item-{id}-versions"),
    ))
}

pub(crate) async fn history(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let format = Format::of(&params)?;
    let store = state.store();
    let id = known_item(&store, &id)?;
    let ccy = currency(&state, &store, &params, "currency")?;
    let from = parse_date(&params, "from")?;
    let to = parse_date(&params, "to")?;
    let daily = store.daily_of(id, &ccy).await?;
    let mut rows: Vec<&Row> = daily
        .iter()
        .filter(|r| str_of(r, "currency") == ccy && in_range(r, from, to))
        .collect();
    rows.sort_by_key(|r| date_of(r));
    Ok(format.answer(
        json!({"item_id": id, "currency": ccy, "days": rows}),
        &["days"],
        &mart_columns("price_daily"),
        &format!("item-{id}-{ccy}"),
    ))
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use serde_json::Value;

    use super::*;
    use crate::store::MartStore;

    fn row(value: Value) -> Row {
        value.as_object().expect("an object").clone()
    }

    /// Two items in `discounts` (their latest rows), and the lows of one of them.
    fn state() -> ServeState {
        let discounts = vec![
            row(
                json!({"date": "2026-11-05", "item_id": 7, "name": "TV", "category": "Electronics",
                       "msrp": 100.0, "sale_price": 80.0, "discount_pct": 20.0, "has_msrp": true,
                       "stock": "Available", "rollback": false, "clearance": false}),
            ),
            row(
                json!({"date": "2026-11-05", "item_id": 8, "name": "Kettle", "category": "Home",
                       "msrp": null, "sale_price": 20.0, "discount_pct": null, "has_msrp": false,
                       "stock": null, "rollback": false, "clearance": false}),
            ),
        ];
        let lows = ["EUR", "USD"]
            .iter()
            .map(|currency| {
                row(
                    json!({"item_id": 7, "currency": currency, "as_of": "2026-11-05",
                           "price": 80.0, "price_on": "2026-11-05", "low_ever": 70.0,
                           "low_ever_on": "2026-10-01", "low_30d": 75.0, "low_30d_on": "2026-10-20",
                           "low_90d": 70.0, "low_90d_on": "2026-10-01"}),
                )
            })
            .collect();
        ServeState::in_memory(MartStore::from_rows(
            "r1",
            vec![("discounts", discounts), ("price_lows", lows)],
        ))
    }

    async fn json_of(response: Response) -> Value {
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn an_item_carries_its_lows_in_every_currency_and_one_without_any_an_empty_list() {
        let tv = json_of(
            item(State(state()), Path("7".into()), Query(Default::default()))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(tv["name"], "TV");
        let currencies: Vec<&str> = tv["lows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["currency"].as_str().unwrap())
            .collect();
        assert_eq!(currencies, ["EUR", "USD"]);
        assert_eq!(tv["lows"][1]["low_ever"], json!(70.0));
        let kettle = json_of(
            item(State(state()), Path("8".into()), Query(Default::default()))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(kettle["lows"], json!([]));
    }

    #[tokio::test]
    async fn an_unknown_or_malformed_item_id_is_an_error_naming_the_id() {
        let missing = item(State(state()), Path("9".into()), Query(Default::default()))
            .await
            .unwrap_err();
        assert_eq!(
            (missing.status, missing.param.as_str()),
            (StatusCode::NOT_FOUND, "id")
        );
        let malformed = item(
            State(state()),
            Path("nine".into()),
            Query(Default::default()),
        )
        .await
        .unwrap_err();
        assert_eq!(
            (malformed.status, malformed.param.as_str()),
            (StatusCode::BAD_REQUEST, "id")
        );
        // The error is the API's JSON error body.
        let body = json_of(malformed.into_response()).await;
        assert_eq!(body["error"]["param"], "id");
    }

    #[tokio::test]
    async fn as_csv_the_item_list_and_an_items_lows_are_their_json_rows() {
        let q = |pairs: &[(&str, &str)]| {
            Query(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<std::collections::HashMap<_, _>>(),
            )
        };
        let text = |response: Response| async move {
            assert_eq!(
                response.headers()[axum::http::header::CONTENT_TYPE],
                "text/csv; charset=utf-8"
            );
            let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        let json = json_of(
            items(State(state()), q(&[("sort", "price")]))
                .await
                .unwrap(),
        )
        .await;
        let csv = text(
            items(State(state()), q(&[("sort", "price"), ("format", "csv")]))
                .await
                .unwrap(),
        )
        .await;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "date,item_id,name,category,msrp,sale_price,discount_pct,has_msrp,stock,rollback,clearance"
        );
        assert_eq!(lines.len(), 1 + json["items"].as_array().unwrap().len());
        assert_eq!(
            lines[1],
            "2026-11-05,8,Kettle,Home,,20.0,,false,,false,false"
        );
        assert_eq!(
            lines[2],
            "2026-11-05,7,TV,Electronics,100.0,80.0,20.0,true,Available,false,false"
        );
        let lows = text(
            item(State(state()), Path("7".into()), q(&[("format", "csv")]))
                .await
                .unwrap(),
        )
        .await;
        let lows: Vec<&str> = lows.lines().collect();
        assert_eq!(
            lows.len(),
            3,
            "a header and one line per currency: {lows:?}"
        );
        assert!(lows[2].starts_with("7,USD,2026-11-05,80.0,2026-11-05,70.0,"));
        let refused = items(State(state()), q(&[("format", "xml")]))
            .await
            .unwrap_err();
        assert_eq!(refused.param, "format");
    }

    #[tokio::test]
    async fn the_item_list_filters_sorts_and_pages() {
        let params = |pairs: &[(&str, &str)]| {
            Query(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<std::collections::HashMap<_, _>>(),
            )
        };
        let by_price = json_of(
            items(State(state()), params(&[("sort", "price")]))
                .await
                .unwrap(),
        )
        .await;
        let names: Vec<&str> = by_price["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Kettle", "TV"]);
        let page = json_of(
            items(State(state()), params(&[("limit", "1")]))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (page["total"].clone(), page["next_cursor"].clone()),
            (json!(2), json!("1"))
        );
        let home = json_of(
            items(State(state()), params(&[("category", "Home")]))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(home["total"], json!(1));
        let bad = items(State(state()), params(&[("sort", "colour")]))
            .await
            .unwrap_err();
        assert_eq!(
            (bad.status, bad.param.as_str()),
            (StatusCode::BAD_REQUEST, "sort")
        );
    }
}
