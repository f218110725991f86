//! `/openapi.json`: the API as OpenAPI 3.0, typed as the handlers accept and answer, so a
//! generated client gets models and a schema-driven tester (schemathesis, in the e2e tests)
//! finds no request the document allows that the API refuses, nor one it forbids that the
//! API takes.
//!
//! Parameters are typed from the same constants the handlers check against ([`LIMIT`],
//! [`CURSOR_MAX`], [`WINDOWS`], [`SORTS`], [`PANELS`], [`DATE_PATTERN`]) and, for currencies,
//! from the loaded run; answers are typed from the marts' columns
//! ([`pricelake_core::marts::columns`]).

use pricelake_core::marts::{self, ColumnKind};
use serde_json::{json, Map, Value};

use crate::store::MartStore;

/// `limit`: the smallest and largest page.
pub const LIMIT: (u64, u64) = (1, 500);
/// `cursor`: the largest position accepted (2^53 - 1, the largest integer every JSON client
/// keeps exactly).
pub const CURSOR_MAX: u64 = 9_007_199_254_740_991;
/// `window`: the windows of `price_moves`, in days.
pub const WINDOWS: [i64; 3] = [1, 7, 30];
/// `sort` of `/api/v1/items`.
pub const SORTS: [&str; 3] = ["name", "price", "discount"];
/// The chart panels, each served at `/api/v1/charts/<panel>.svg` (and without `.svg`).
pub const PANELS: [&str; 7] = [
    "vod",
    "fx",
    "basket",
    "history",
    "discounts",
    "trending",
    "moves",
];
/// `format` of the mart routes: their JSON document (the default) or their rows as CSV.
pub const FORMATS: [&str; 2] = ["json", "csv"];
/// A day as the API takes it: `YYYY-MM-DD`, nothing more or less.
pub const DATE_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// The parameters of each chart panel: (name, required).
fn panel_params(panel: &str) -> &'static [(&'static str, bool)] {
    match panel {
        "vod" | "fx" | "basket" => &[("currency", false), ("from", false), ("to", false)],
        "history" => &[
            ("item", true),
            ("currency", false),
            ("from", false),
            ("to", false),
        ],
        "discounts" => &[("from", false), ("to", false)],
        _ => &[],
    }
}

/// The OpenAPI document for a server holding `store`; `bearer` when it asks for a token.
pub fn document(store: &MartStore, bearer: bool) -> Value {
    let mut paths = Map::new();
    for route in crate::ROUTES {
        let (path, summary, params) = (&route.path, &route.summary, &route.params);
        if *path == "/api/v1/charts/{panel}" {
            for panel in PANELS {
                let parameters: Vec<Value> = panel_params(panel)
                    .iter()
                    .map(|(name, required)| parameter(store, path, name, *required))
                    .collect();
                paths.insert(
                    format!("/api/v1/charts/{panel}.svg"),
                    operation(
                        &format!("{summary} This panel: {panel}."),
                        parameters,
                        responses(path, bearer),
                        bearer && !is_open(path),
                    ),
                );
            }
            continue;
        }
        let parameters: Vec<Value> = params
            .iter()
            .map(|name| {
                let in_path = path.contains(&format!("{{{name}}}"));
                parameter(store, path, name, in_path)
            })
            .collect();
        let mut answers = responses(path, bearer);
        if params.contains(&"format") {
            answers["200"]["content"]["text/csv"] = json!({"schema": {
                "type": "string",
                "description": "With `format=csv`: the rows of the JSON answer, under a header of their mart's columns.",
            }});
        }
        paths.insert(
            path.to_string(),
            operation(summary, parameters, answers, bearer && !is_open(path)),
        );
    }
    let mut schemas = Map::new();
    for mart in marts::names() {
        schemas.insert(schema_name(mart), row_schema(mart));
    }
    schemas.insert("Item".into(), item_schema());
    schemas.insert("ItemVersion".into(), version_schema());
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["param", "message"],
                "properties": {
                    "param": {"type": "string", "description": "The parameter at fault (or `store`, `authorization`)."},
                    "message": {"type": "string"},
                },
            }},
        }),
    );
    schemas.insert(
        "Check".into(),
        json!({
            "type": "object",
            "required": ["name", "ok", "detail"],
            "properties": {
                "name": {"type": "string"},
                "ok": {"type": "boolean"},
                "detail": {"type": "string"},
            },
        }),
    );
    let mut components = json!({"schemas": schemas});
    if bearer {
        components["securitySchemes"] = json!({"bearer": {"type": "http", "scheme": "bearer"}});
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "pricelake", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": components,
    })
}

/// Routes that answer without the bearer token (a supervisor's).
fn is_open(path: &str) -> bool {
    path == "/healthz" || path == "/readyz" || path == "/health"
}

fn operation(summary: &str, parameters: Vec<Value>, responses: Value, bearer: bool) -> Value {
    let mut get = json!({"summary": summary, "parameters": parameters, "responses": responses});
    if bearer {
        get["security"] = json!([{"bearer": []}]);
    }
    json!({ "get": get })
}

fn schema_name(mart: &str) -> String {
    mart.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

fn mart_ref(mart: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{}", schema_name(mart))})
}

/// One mart row: every column present, typed, null only where the column may be.
fn row_schema(mart: &str) -> Value {
    let mut properties = Map::new();
    for column in marts::columns(mart) {
        let mut schema = match column.kind {
            ColumnKind::Date => json!({"type": "string", "format": "date"}),
            ColumnKind::Timestamp => json!({"type": "string", "format": "date-time"}),
            ColumnKind::Int => json!({"type": "integer", "format": "int64"}),
            ColumnKind::Float => json!({"type": "number", "format": "double"}),
            ColumnKind::Text => json!({"type": "string"}),
            ColumnKind::Bool => json!({"type": "boolean"}),
        };
        if column.nullable {
            schema["nullable"] = json!(true);
        }
        properties.insert(column.name.to_string(), schema);
    }
    let required: Vec<&str> = marts::columns(mart).iter().map(|c| c.name).collect();
    json!({
        "type": "object",
        "description": format!("A row of the `{mart}` mart."),
        "required": required,
        "properties": properties,
        "additionalProperties": false,
    })
}

/// One item: its latest `discounts` row, and its `price_lows` row in every currency.
fn item_schema() -> Value {
    let mut schema = row_schema("discounts");
    schema["description"] = json!(
        "An item's latest state (its last `discounts` row) and, under `lows`, its current \
         price and its lowest prices ever, over 30 and over 90 days in each currency (rows of \
         `price_lows`; empty until a run has built that mart)."
    );
    schema["properties"]["lows"] = array_of(mart_ref("price_lows"));
    if let Some(required) = schema["required"].as_array_mut() {
        required.push(json!("lows"));
    }
    schema
}

/// One version of an item's attributes: a row of the `items` table.
fn version_schema() -> Value {
    let text = json!({"type": "string"});
    let maybe_text = json!({"type": "string", "nullable": true});
    let time = json!({"type": "string", "format": "date-time"});
    let int = json!({"type": "integer", "format": "int64"});
    json!({
        "type": "object",
        "description": "A version of an item's attributes: from its first observation (`valid_from`) to the next version's (`valid_to`, null for the current one); `changed` names what differs from the version before (null for the first).",
        "required": crate::handlers::VERSION_COLUMNS,
        "properties": {
            "item_id": int, "version": int, "name": text, "brand": maybe_text,
            "category_path": maybe_text, "category": maybe_text, "valid_from": time,
            "valid_to": {"type": "string", "format": "date-time", "nullable": true},
            "is_current": {"type": "boolean"}, "last_seen": time, "observations": int,
            "changed": maybe_text,
        },
    })
}

/// A day, or nothing (an empty value is the same as none: the dashboard sends `from=`).
fn date_or_empty(description: &str) -> Value {
    json!({
        "description": description,
        "anyOf": [
            {"type": "string", "format": "date", "pattern": DATE_PATTERN},
            {"type": "string", "maxLength": 0},
        ],
    })
}

fn parameter(store: &MartStore, path: &str, name: &str, required: bool) -> Value {
    let int64 =
        json!({"type": "integer", "format": "int64", "minimum": i64::MIN, "maximum": i64::MAX});
    let schema = match name {
        "id" | "item" => int64,
        "limit" => {
            let default = match path {
                "/api/v1/moves" => 10,
                _ => 50,
            };
            json!({"type": "integer", "minimum": LIMIT.0, "maximum": LIMIT.1, "default": default})
        }
        "cursor" => {
            json!({"type": "integer", "minimum": 0, "maximum": CURSOR_MAX, "default": 0,
                   "description": "`next_cursor` of the previous page."})
        }
        "window" => json!({"type": "integer", "enum": WINDOWS, "default": 7}),
        "format" => json!({"type": "string", "enum": FORMATS, "default": "json",
                           "description": "`csv`: the answer's rows as CSV (RFC 4180), one line each under a header of the mart's columns; a null is an empty field."}),
        "sort" => json!({"type": "string", "enum": SORTS, "default": "name"}),
        "currency" | "quote" => {
            let known = store.currencies();
            if known.is_empty() {
                json!({"type": "string", "description": "No run is loaded yet: any code is taken."})
            } else {
                json!({"type": "string", "enum": known,
                       "description": "One of `/api/v1/currencies` (upper case); the server's default currency when left out."})
            }
        }
        "from" => date_or_empty("The first day (inclusive)."),
        "to" => date_or_empty("The last day (inclusive)."),
        "date" => date_or_empty("The day; the latest when left out or empty."),
        "period" => {
            date_or_empty("The Monday of an ISO week; the latest week when left out or empty.")
        }
        "category" => {
            json!({"type": "string", "description": "A category name; empty for all."})
        }
        "q" => {
            json!({"type": "string", "description": "Text the item's name contains, in any case."})
        }
        _ => json!({"type": "string"}),
    };
    json!({
        "name": name,
        "in": if path.contains(&format!("{{{name}}}")) { "path" } else { "query" },
        "required": required,
        "schema": schema,
    })
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": json_content(json!({"$ref": "#/components/schemas/Error"}))})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

fn array_of(schema: Value) -> Value {
    json!({"type": "array", "items": schema})
}

fn date_or_null() -> Value {
    json!({"type": "string", "format": "date", "nullable": true})
}

/// What a route answers: its 200 body, and the errors it can give.
fn responses(path: &str, bearer: bool) -> Value {
    let svg = json!({"description": "The chart.", "content": {"image/svg+xml": {"schema": {"type": "string"}}}});
    let checks = array_of(json!({"$ref": "#/components/schemas/Check"}));
    let ok: Value = match path {
        "/healthz" => {
            json!({"description": "The process answers.", "content": {"text/plain": {"schema": {"type": "string"}}}})
        }
        "/metrics" => {
            json!({"description": "Prometheus text metrics.", "content": {"text/plain": {"schema": {"type": "string"}}}})
        }
        "/openapi.json" => {
            json!({"description": "This document.", "content": json_content(json!({"type": "object"}))})
        }
        "/api/v1/charts/{panel}" => svg,
        _ => {
            let body = match path {
                "/readyz" => object(
                    &["ready", "run_id"],
                    json!({"ready": {"type": "boolean"}, "run_id": {"type": "string"}}),
                ),
                "/health" => object(
                    &["status", "checks"],
                    json!({"status": {"type": "string", "enum": ["ok", "degraded"]}, "checks": checks}),
                ),
                "/api/v1/status" => object(
                    &["run_id", "finished_at", "rows", "ingest", "health", "audit"],
                    json!({
                        "run_id": {"type": "string", "nullable": true},
                        "finished_at": {"type": "string", "format": "date-time", "nullable": true},
                        "rows": {"type": "object", "additionalProperties": {"type": "integer"},
                                 "description": "Rows per mart."},
                        "ingest": {"type": "object", "nullable": true,
                                   "description": "The last ingest status report, as written to the lake."},
                        "health": object(&["degraded", "checks"],
                                         json!({"degraded": {"type": "boolean"}, "checks": checks})),
                        "audit": {"type": "object", "nullable": true,
                                  "description": "The books of the last `pricelake audit`."},
                    }),
                ),
                "/api/v1/currencies" => object(
                    &["currencies", "default"],
                    json!({"currencies": array_of(json!({"type": "string"})), "default": {"type": "string"}}),
                ),
                "/api/v1/items" => object(
                    &["items", "total", "next_cursor"],
                    json!({
                        "items": array_of(mart_ref("discounts")),
                        "total": {"type": "integer"},
                        "next_cursor": {"type": "string", "pattern": "^[0-9]+$", "nullable": true},
                    }),
                ),
                "/api/v1/items/{id}" => json!({"$ref": "#/components/schemas/Item"}),
                "/api/v1/items/{id}/history" => object(
                    &["item_id", "currency", "days"],
                    json!({"item_id": {"type": "integer", "format": "int64"}, "currency": {"type": "string"},
                           "days": array_of(mart_ref("price_daily"))}),
                ),
                "/api/v1/items/{id}/versions" => object(
                    &["item_id", "versions"],
                    json!({"item_id": {"type": "integer", "format": "int64"},
                           "versions": array_of(json!({"$ref": "#/components/schemas/ItemVersion"}))}),
                ),
                "/api/v1/categories" => object(
                    &["date", "categories"],
                    json!({"date": date_or_null(), "categories": array_of(mart_ref("category_daily"))}),
                ),
                "/api/v1/trending" => object(
                    &["period_start", "periods", "items"],
                    json!({"period_start": date_or_null(),
                           "periods": array_of(json!({"type": "string", "format": "date"})),
                           "items": array_of(mart_ref("trending_popularity"))}),
                ),
                "/api/v1/discounts" => object(
                    &["date", "items"],
                    json!({"date": date_or_null(), "items": array_of(mart_ref("discounts"))}),
                ),
                "/api/v1/vod" => object(
                    &["currency", "days"],
                    json!({"currency": {"type": "string"}, "days": array_of(mart_ref("vod_fx"))}),
                ),
                "/api/v1/moves" => object(
                    &["window_days", "drops", "rises"],
                    json!({"window_days": {"type": "integer", "enum": WINDOWS},
                           "drops": array_of(mart_ref("price_moves")),
                           "rises": array_of(mart_ref("price_moves"))}),
                ),
                "/api/v1/fx" => object(
                    &["base", "quote", "days"],
                    json!({"base": {"type": "string"}, "quote": {"type": "string"},
                           "days": array_of(mart_ref("fx_daily"))}),
                ),
                "/api/v1/basket" => object(
                    &["currency", "days"],
                    json!({"currency": {"type": "string"}, "days": array_of(mart_ref("basket"))}),
                ),
                _ => json!({"type": "object"}),
            };
            json!({"description": "OK", "content": json_content(body)})
        }
    };
    let mut ok = ok;
    if path == "/api/v1/items" {
        // Where an item's id leads: its state and lows, and its history (clients and
        // schemathesis' stateful tests follow these rather than guess ids).
        let first_id = json!({"id": "$response.body#/items/0/item_id"});
        ok["links"] = json!({
            "item": {"operationRef": "#/paths/~1api~1v1~1items~1{id}/get", "parameters": first_id},
            "history": {"operationRef": "#/paths/~1api~1v1~1items~1{id}~1history/get", "parameters": first_id},
            "versions": {"operationRef": "#/paths/~1api~1v1~1items~1{id}~1versions/get", "parameters": first_id},
        });
    }
    let mut out = Map::new();
    out.insert("200".into(), ok);
    if path != "/healthz" && path != "/readyz" && path != "/health" {
        out.insert(
            "304".into(),
            json!({"description": "Not modified: the `If-None-Match` ETag is still current."}),
        );
    }
    if path.starts_with("/api/v1/") {
        out.insert("400".into(), error_response("A parameter is invalid."));
    }
    if path.starts_with("/api/v1/items/{id}") {
        out.insert("404".into(), error_response("No such item."));
    }
    match path {
        "/readyz" => {
            out.insert(
                "503".into(),
                json!({"description": "No run is loaded yet.", "content": json_content(object(
                    &["ready", "reason"],
                    json!({"ready": {"type": "boolean"}, "reason": {"type": "string"}}),
                ))}),
            );
        }
        "/health" => {
            out.insert(
                "503".into(),
                json!({"description": "The pipeline is degraded; the checks say why.",
                       "content": json_content(object(&["status", "checks"],
                           json!({"status": {"type": "string", "enum": ["ok", "degraded"]}, "checks": checks})))}),
            );
        }
        "/api/v1/items/{id}/history" | "/api/v1/charts/{panel}" => {
            out.insert(
                "503".into(),
                error_response("The mart store (MongoDB) is unavailable; try again."),
            );
        }
        _ => {}
    }
    if bearer && !is_open(path) {
        out.insert("401".into(), error_response("A bearer token is required."));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_has_a_type_and_every_answer_a_schema() {
        let doc = document(&MartStore::default(), false);
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.contains_key("/api/v1/charts/history.svg"));
        assert!(!paths.contains_key("/api/v1/charts/{panel}"));
        for (path, item) in paths {
            let get = &item["get"];
            for p in get["parameters"].as_array().unwrap() {
                let schema = &p["schema"];
                assert!(
                    schema.get("type").is_some() || schema.get("anyOf").is_some(),
                    "{path}: {p}"
                );
                assert_ne!(schema, &json!({"type": "string"}), "{path}: untyped {p}");
            }
            let ok = &get["responses"]["200"]["content"];
            assert!(
                ok.as_object().is_some_and(|c| c
                    .values()
                    .all(
                        |m| m["schema"].get("type").is_some() || m["schema"].get("$ref").is_some()
                    )),
                "{path}: {ok}"
            );
        }
        let limit = &paths["/api/v1/items"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap()["schema"];
        assert_eq!(
            (&limit["minimum"], &limit["maximum"]),
            (&json!(1), &json!(500))
        );
        for mart_route in ["/api/v1/vod", "/api/v1/items/{id}/history", "/api/v1/moves"] {
            let get = &paths[mart_route]["get"];
            assert!(get["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "format" && p["schema"]["enum"] == json!(["json", "csv"])));
            assert!(get["responses"]["200"]["content"].get("text/csv").is_some());
        }
        assert!(
            paths["/api/v1/status"]["get"]["responses"]["200"]["content"]
                .get("text/csv")
                .is_none()
        );
        let vod = &doc["components"]["schemas"]["VodFx"];
        assert_eq!(vod["properties"]["rate"]["nullable"], json!(true));
        assert_eq!(vod["properties"]["price"]["nullable"], json!(true));
        assert_eq!(vod["properties"]["date"]["format"], json!("date"));
        assert!(doc["components"].get("securitySchemes").is_none());
        let guarded = document(&MartStore::default(), true);
        assert!(guarded["paths"]["/api/v1/items"]["get"]["responses"]
            .get("401")
            .is_some());
        assert!(guarded["paths"]["/healthz"]["get"]["responses"]
            .get("401")
            .is_none());
    }
}
