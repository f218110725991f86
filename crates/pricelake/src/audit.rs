//! `pricelake audit`: the books of a lake, and whether they balance.
//!
//! Pipelines lose data quietly: a body that did not parse, a retry that gave up, a
//! crash between fetch and write. The audit reads what actually landed (every raw
//! record, every dead letter with its reason, every committed process run) and checks
//! the identities that must hold: what the emulator served is what landed or was
//! dead-lettered, and what was consumed by processing is what became a row or a
//! rejection with its reason. Any gap is a failed check and a non-zero exit.

use std::collections::{BTreeMap, BTreeSet};

use pricelake_core::models::walmart::ITEM_ENDPOINTS;
use pricelake_core::LakeRecord;
use pricelake_emulator::ServedSummary;
use pricelake_lake::manifest::{all_manifests, Manifest};
use pricelake_lake::Lake;
use serde::Serialize;

/// What can stop an audit before it has books to show.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The lake could not be read.
    #[error("reading the lake")]
    Lake(#[from] pricelake_lake::LakeError),
    /// The marts' natural keys could not be checked.
    #[error("checking the marts' keys")]
    Marts(#[from] pricelake_transform::TransformError),
}

/// Records landed for one `source/endpoint`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Landed {
    /// Lines in the raw zone, replays and re-fetches included.
    pub records: u64,
    /// Distinct record ids: what processing keeps after removing duplicates.
    pub unique: u64,
}

/// One identity of the books.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What is compared, in words.
    pub name: String,
    /// The left side (what came in).
    pub expected: u64,
    /// The right side (what is accounted for).
    pub actual: u64,
}

impl Check {
    /// True when both sides agree.
    pub fn holds(&self) -> bool {
        self.expected == self.actual
    }
}

/// Everything the audit found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AuditReport {
    /// Landed records by `source/endpoint`.
    pub landed: BTreeMap<String, Landed>,
    /// Dead letters by `stage/reason` (transform ones only from committed runs).
    pub dead_letters: BTreeMap<String, u64>,
    /// Raw objects in the lake, and how many committed runs consumed.
    pub raw_objects: u64,
    /// Raw objects consumed by committed process runs.
    pub raw_objects_processed: u64,
    /// Committed process runs.
    pub process_runs: u64,
    /// Rows written to clean tables by all committed runs.
    pub clean_rows: BTreeMap<String, u64>,
    /// Duplicate observations the newest run removed in the marts.
    pub duplicates_removed: u64,
    /// Rows of the newest run's marts whose natural key repeats, per mart.
    pub mart_duplicates: BTreeMap<String, u64>,
    /// What the emulator says it served, when known.
    pub served: Option<ServedFigures>,
    /// The identities checked.
    pub checks: Vec<Check>,
    /// What the books do not cover yet, and the command that would (nothing ingested,
    /// objects not processed yet).
    pub next_steps: Vec<String>,
}

/// Totals of the emulator's served log, shown beside the books.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServedFigures {
    /// Responses, faults included.
    pub responses: u64,
    /// Item records in bodies delivered intact (repeats and re-fetches counted).
    pub items_served: u64,
    /// Quotes in bodies delivered intact.
    pub quotes_served: u64,
    /// Quotes in distinct landed records.
    pub quotes_landed: u64,
    /// Bodies cut or replaced by garbage: each is a `malformed_json` dead letter when its
    /// response reached a process that lived to spool it.
    pub bodies_cut_or_malformed: u64,
    /// 5xx answers: each is an `http_5xx` dead letter, likewise.
    pub answers_5xx: u64,
    /// Injected faults by kind.
    pub faults: BTreeMap<String, u64>,
}

impl AuditReport {
    /// True when every check holds.
    pub fn balanced(&self) -> bool {
        self.checks.iter().all(Check::holds)
    }
}

/// A request as both sides log it: path and query of the redacted URL (the lake keeps the
/// whole URL, the emulator the path), normalised by one URL parser.
fn request_of(url: &str) -> String {
    let parsed = if url.starts_with('/') {
        url::Url::parse(&format!("http://emulator{url}"))
    } else {
        url::Url::parse(url)
    };
    match parsed {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => url.to_string(),
    }
}

/// The item id of an item payload, a number or a numeric string as the APIs send it.
fn item_id_of(payload: &serde_json::Value) -> Option<u64> {
    let id = payload.get("itemId")?;
    id.as_u64()
        .or_else(|| id.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Where the last audit's books are kept, for the dashboard's health panel.
pub const AUDIT_STATE: &str = "audit";

/// Keeps the books in the lake (`_state/audit.json`) with when they were drawn up, so that
/// the dashboard shows the same figures `pricelake audit` printed.
pub async fn record(
    lake: &Lake,
    report: &AuditReport,
    audited_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), AuditError> {
    let doc = serde_json::json!({
        "audited_at": audited_at,
        "balanced": report.balanced(),
        "report": report,
    });
    lake.put_json(&pricelake_core::layout::state(AUDIT_STATE), &doc)
        .await?;
    Ok(())
}

/// Every record of the objects under `prefix`, with the object it came from. An object
/// that cannot be read is itself a finding: it is counted under `unreadable`.
async fn records_under(
    lake: &Lake,
    prefix: &str,
    only: Option<&BTreeSet<String>>,
) -> Result<(Vec<(String, LakeRecord)>, u64), AuditError> {
    let mut out = Vec::new();
    let mut unreadable = 0;
    for object in lake.list(prefix).await? {
        if only.is_some_and(|keep| !keep.contains(&object.path)) {
            continue;
        }
        // Gone since the listing (a concurrent cleanup): nothing to count.
        let Some(bytes) = lake.get(&object.path).await? else {
            continue;
        };
        let Ok(text) = pricelake_lake::ndjson::decode(&object.path, &bytes) else {
            unreadable += 1;
            continue;
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<LakeRecord>(line) {
                Ok(record) => out.push((object.path.clone(), record)),
                Err(_) => unreadable += 1,
            }
        }
    }
    Ok((out, unreadable))
}

/// Reads the books of `lake`; with the emulator's `served` summary, also checks that
/// what was served is what landed.
pub async fn audit(lake: &Lake, served: Option<&ServedSummary>) -> Result<AuditReport, AuditError> {
    let mut report = AuditReport::default();
    let manifests: Vec<Manifest> = all_manifests(lake).await?;
    let consumed: BTreeSet<String> = manifests
        .iter()
        .flat_map(|m| m.consumed.iter().cloned())
        .collect();
    let runs: BTreeSet<&str> = manifests.iter().map(|m| m.run_id.as_str()).collect();

    let (raw, unreadable_raw) = records_under(lake, "raw", None).await?;
    let raw_objects: BTreeSet<&str> = raw.iter().map(|(p, _)| p.as_str()).collect();
    report.raw_objects = raw_objects.len() as u64;
    report.raw_objects_processed = raw_objects
        .iter()
        .filter(|p| consumed.contains(**p))
        .count() as u64;
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut quotes_landed = 0u64;
    // What the lake holds per request: the request of every record and dead letter, the
    // (request, item) pairs and the (request, pair) quotes that landed.
    let mut traced_requests: BTreeSet<String> = BTreeSet::new();
    let mut landed_items: BTreeMap<String, BTreeSet<(String, u64)>> = BTreeMap::new();
    let mut landed_quotes: BTreeSet<(String, String)> = BTreeSet::new();
    let mut consumed_items = 0u64;
    for (path, record) in &raw {
        let LakeRecord::Raw(e) = record else { continue };
        let key = format!("{}/{}", e.source, e.endpoint);
        report.landed.entry(key.clone()).or_default().records += 1;
        let request = request_of(&e.request_url);
        if let Some(id) = item_id_of(&e.payload) {
            landed_items
                .entry(key.clone())
                .or_default()
                .insert((request.clone(), id));
        }
        if let Some(q) = e.payload.get("quotes").and_then(|q| q.as_object()) {
            for (k, v) in q {
                match v.as_object() {
                    Some(day) => {
                        landed_quotes.extend(day.keys().map(|p| (request.clone(), p.clone())))
                    }
                    None => {
                        landed_quotes.insert((request.clone(), k.clone()));
                    }
                }
            }
        }
        traced_requests.insert(request);
        let fresh = ids.entry(key).or_default().insert(e.record_id.clone());
        if fresh {
            if let Some(q) = e.payload.get("quotes").and_then(|q| q.as_object()) {
                // live/historical: a map of pairs; timeframe: a map of days of pairs.
                quotes_landed += q
                    .values()
                    .map(|v| v.as_object().map_or(1, |day| day.len() as u64))
                    .sum::<u64>();
            }
        }
        if e.source == "walmart"
            && ITEM_ENDPOINTS.contains(&e.endpoint.as_str())
            && consumed.contains(path)
        {
            consumed_items += 1;
        }
    }
    for (key, set) in &ids {
        report.landed.get_mut(key).expect("same keys").unique = set.len() as u64;
    }

    let (errors, unreadable_errors) = records_under(lake, "errors", None).await?;
    let mut transform_item_rejections = 0u64;
    for (path, record) in &errors {
        let LakeRecord::DeadLetter(d) = record else {
            continue;
        };
        if d.stage != "transform" {
            traced_requests.insert(request_of(&d.request_url));
        }
        if d.stage == "transform" {
            // Rejections of runs that never committed are not part of the books.
            if !pricelake_lake::manifest::run_of(path)
                .is_some_and(|run| runs.contains(run.as_str()))
            {
                continue;
            }
            if d.source == "walmart" && ITEM_ENDPOINTS.contains(&d.endpoint.as_str()) {
                transform_item_rejections += 1;
            }
        }
        *report
            .dead_letters
            .entry(format!("{}/{}", d.stage, d.reason))
            .or_default() += 1;
    }

    report.process_runs = manifests.len() as u64;
    for m in &manifests {
        for table in ["price_observations", "fx_rates", "trending_appearances"] {
            *report.clean_rows.entry(table.to_string()).or_default() +=
                m.rows.get(table).copied().unwrap_or(0);
        }
    }
    report.duplicates_removed = manifests.last().map_or(0, |m| m.duplicates_removed);

    report.checks.push(Check {
        name: "unreadable landed objects or lines".into(),
        expected: 0,
        actual: unreadable_raw + unreadable_errors,
    });
    report.mart_duplicates = pricelake_transform::mart_duplicates(lake).await?;
    report.checks.push(Check {
        name: "rows of the marts counted twice (a repeated natural key)".into(),
        expected: 0,
        actual: report.mart_duplicates.values().sum(),
    });
    report.checks.push(Check {
        name: "item records consumed by processing = price observations + item rejections".into(),
        expected: consumed_items,
        actual: report
            .clean_rows
            .get("price_observations")
            .copied()
            .unwrap_or(0)
            + transform_item_rejections,
    });
    if report.raw_objects == 0 {
        report.next_steps.push(
            "nothing ingested yet, so there is nothing to balance: `pricelake ingest` polls the APIs into the lake".to_string(),
        );
    } else if report.raw_objects_processed < report.raw_objects {
        report.next_steps.push(format!(
            "{} of {} raw objects are not processed yet; the books of processing cover the others: `pricelake process`",
            report.raw_objects - report.raw_objects_processed,
            report.raw_objects
        ));
    }
    if let Some(served) = served {
        // Identities that hold however often a run was interrupted: a response lost with
        // a killed process (never acknowledged) is asked for again under the same request,
        // so what is compared is distinct requests, not responses.
        for (endpoint, pairs) in &served.request_items {
            let Some(name) = endpoint.strip_prefix("walmart/") else {
                continue;
            };
            if !ITEM_ENDPOINTS.contains(&name) {
                continue;
            }
            let served_pairs: BTreeSet<(String, u64)> = pairs
                .iter()
                .map(|(path, id)| (request_of(path), *id))
                .collect();
            let landed = landed_items.get(endpoint.as_str());
            report.checks.push(Check {
                name: format!("{endpoint}: distinct (request, item) served intact = landed"),
                expected: served_pairs.len() as u64,
                actual: landed.map_or(0, |l| l.intersection(&served_pairs).count() as u64),
            });
            report.checks.push(Check {
                name: format!("{endpoint}: landed items never served"),
                expected: 0,
                actual: landed.map_or(0, |l| l.difference(&served_pairs).count() as u64),
            });
        }
        let served_quotes: BTreeSet<(String, String)> = served
            .request_quotes
            .iter()
            .map(|(path, pair)| (request_of(path), pair.clone()))
            .collect();
        report.checks.push(Check {
            name: "distinct (request, currency pair) served intact = landed".into(),
            expected: served_quotes.len() as u64,
            actual: served_quotes.intersection(&landed_quotes).count() as u64,
        });
        let requests: BTreeSet<String> = served.requests.iter().map(|p| request_of(p)).collect();
        let untraced: Vec<&String> = requests.difference(&traced_requests).collect();
        if let Some(first) = untraced.first() {
            tracing::warn!(request = %first, missing = untraced.len(), "served requests with no record or dead letter in the lake");
        }
        report.checks.push(Check {
            name: "distinct requests answered = requests with a record or a dead letter".into(),
            expected: requests.len() as u64,
            actual: (requests.len() - untraced.len()) as u64,
        });
        // Figures, not identities: after an interruption the same response is served again.
        let faults = |kind: &str| served.faults.get(kind).copied().unwrap_or(0) as u64;
        report.served = Some(ServedFigures {
            responses: served.responses as u64,
            items_served: served.items as u64,
            quotes_served: served.quotes as u64,
            quotes_landed,
            bodies_cut_or_malformed: faults("truncated") + faults("malformed"),
            answers_5xx: served
                .by_status
                .iter()
                .filter(|(s, _)| **s >= 500)
                .map(|(_, n)| *n as u64)
                .sum(),
            faults: served
                .faults
                .iter()
                .map(|(k, v)| (k.clone(), *v as u64))
                .collect(),
        });
    }
    Ok(report)
}

/// The report as a person reads it: the books, then each check with a mark.
pub fn render(report: &AuditReport) -> String {
    let mut out = String::new();
    out.push_str("landed (raw zone):\n");
    for (key, l) in &report.landed {
        out.push_str(&format!(
            "  {key}: {} records, {} distinct ({} duplicates to remove)\n",
            l.records,
            l.unique,
            l.records - l.unique
        ));
    }
    if report.dead_letters.is_empty() {
        out.push_str("dead letters: none\n");
    } else {
        out.push_str("dead letters (kept with their reason under errors/):\n");
        for (key, n) in &report.dead_letters {
            out.push_str(&format!("  {key}: {n}\n"));
        }
    }
    out.push_str(&format!(
        "processing: {} committed runs consumed {} of {} raw objects; clean rows: {}; {} duplicate observations removed in the marts\n",
        report.process_runs,
        report.raw_objects_processed,
        report.raw_objects,
        report
            .clean_rows
            .iter()
            .map(|(t, n)| format!("{t}={n}"))
            .collect::<Vec<_>>()
            .join(", "),
        report.duplicates_removed
    ));
    if let Some(f) = &report.served {
        out.push_str(&format!(
            "served by the emulator: {} responses, {} item records and {} quotes intact, {} bodies cut or malformed, {} 5xx answers; faults: {}\n",
            f.responses,
            f.items_served,
            f.quotes_served,
            f.bodies_cut_or_malformed,
            f.answers_5xx,
            f.faults
                .iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.push_str("checks:\n");
    for check in &report.checks {
        out.push_str(&format!(
            "  [{}] {}: {} vs {}\n",
            if check.holds() { "ok" } else { "FAIL" },
            check.name,
            check.expected,
            check.actual
        ));
    }
    out.push_str(if report.balanced() {
        "the books balance\n"
    } else {
        "THE BOOKS DO NOT BALANCE\n"
    });
    for step in &report.next_steps {
        out.push_str(&format!("next: {step}\n"));
    }
    out
}
