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
use pricelake_lake::Lake;
use pricelake_transform::{all_manifests, Manifest};
use serde::Serialize;

/// What can stop an audit before it has books to show.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The lake could not be read.
    #[error("reading the lake: {0}")]
    Lake(#[from] pricelake_lake::LakeError),
    /// The manifests could not be read.
    #[error("reading process manifests: {0}")]
    Manifests(#[from] pricelake_transform::TransformError),
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
    /// The identities checked.
    pub checks: Vec<Check>,
}

impl AuditReport {
    /// True when every check holds.
    pub fn balanced(&self) -> bool {
        self.checks.iter().all(Check::holds)
    }
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
    let produced: BTreeSet<String> = manifests
        .iter()
        .flat_map(|m| m.produced.iter().cloned())
        .collect();

    let (raw, unreadable_raw) = records_under(lake, "raw", None).await?;
    let raw_objects: BTreeSet<&str> = raw.iter().map(|(p, _)| p.as_str()).collect();
    report.raw_objects = raw_objects.len() as u64;
    report.raw_objects_processed = raw_objects
        .iter()
        .filter(|p| consumed.contains(**p))
        .count() as u64;
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut quotes_landed = 0u64;
    let mut consumed_items = 0u64;
    for (path, record) in &raw {
        let LakeRecord::Raw(e) = record else { continue };
        let key = format!("{}/{}", e.source, e.endpoint);
        report.landed.entry(key.clone()).or_default().records += 1;
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
        if d.stage == "transform" {
            // Rejections of runs that never committed are not part of the books.
            if !produced.contains(path) {
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
    report.checks.push(Check {
        name: "item records consumed by processing = price observations + item rejections".into(),
        expected: consumed_items,
        actual: report.clean_rows["price_observations"] + transform_item_rejections,
    });
    if let Some(served) = served {
        for (endpoint, items) in &served.items_by_endpoint {
            let Some(name) = endpoint.strip_prefix("walmart/") else {
                continue;
            };
            if !ITEM_ENDPOINTS.contains(&name) {
                continue;
            }
            report.checks.push(Check {
                name: format!("{endpoint}: items served intact = distinct records landed"),
                expected: *items as u64,
                actual: report.landed.get(endpoint).map_or(0, |l| l.unique),
            });
        }
        report.checks.push(Check {
            name: "quotes served intact = distinct quotes landed".into(),
            expected: served.quotes as u64,
            actual: quotes_landed,
        });
        let faults = |kind: &str| served.faults.get(kind).copied().unwrap_or(0) as u64;
        let dead = |reason: &str| {
            report
                .dead_letters
                .get(&format!("ingest/{reason}"))
                .copied()
                .unwrap_or(0)
        };
        report.checks.push(Check {
            name: "bodies served cut or malformed = malformed_json dead letters".into(),
            expected: faults("truncated") + faults("malformed"),
            actual: dead("malformed_json"),
        });
        report.checks.push(Check {
            name: "5xx answers served = http_5xx dead letters".into(),
            expected: served
                .by_status
                .iter()
                .filter(|(s, _)| **s >= 500)
                .map(|(_, n)| *n as u64)
                .sum(),
            actual: report
                .dead_letters
                .iter()
                .filter(|(k, _)| k.starts_with("ingest/http_5"))
                .map(|(_, n)| *n)
                .sum(),
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
    out
}
