//! `pricelake status`: what is in the lake and how the last runs went, read from the lake
//! itself (the status document ingest writes, the process manifests, the objects).

use serde::Serialize;

use crate::cli::StatusArgs;
use crate::config::PricelakeConfig;

/// Everything `status` shows; also what the end-to-end tests check.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The lake, as the user wrote it.
    pub lake: String,
    /// False when there is no lake where the config points (nothing else is then known).
    pub exists: bool,
    /// Objects and bytes in the raw zone.
    pub raw_objects: usize,
    /// Bytes in the raw zone.
    pub raw_bytes: u64,
    /// Objects in the errors zone, by `<stage>/<reason>`.
    pub error_objects: std::collections::BTreeMap<String, usize>,
    /// The last process run's manifest, if any.
    pub last_process_run: Option<serde_json::Value>,
    /// The last ingest status document, if any.
    pub ingest: Option<serde_json::Value>,
    /// Raw objects no process run in force consumed yet.
    pub raw_objects_unprocessed: usize,
    /// Files of a process run under way, or stopped before its commit: neither served nor
    /// counted; the next `process` removes them.
    pub uncommitted_outputs: usize,
    /// What to do next, when something is missing or waiting.
    pub next_steps: Vec<String>,
}

impl StatusReport {
    /// Reads the report from a lake.
    pub async fn read(lake: &pricelake_lake::Lake) -> anyhow::Result<StatusReport> {
        let raw = lake.list("raw").await?;
        let mut error_objects = std::collections::BTreeMap::new();
        for object in lake.list("errors").await? {
            let mut parts = object.path.split('/').skip(1);
            let key = format!(
                "{}/{}",
                parts.next().unwrap_or("?"),
                parts.next().unwrap_or("?")
            );
            *error_objects.entry(key).or_insert(0) += 1;
        }
        let manifests = pricelake_lake::manifest::all_manifests(lake).await?;
        let consumed: std::collections::BTreeSet<&str> = manifests
            .iter()
            .flat_map(|m| m.consumed.iter().map(String::as_str))
            .collect();
        let raw_objects_unprocessed = raw
            .iter()
            .filter(|o| !consumed.contains(o.path.as_str()))
            .count();
        let last_process_run = manifests
            .last()
            .map(|m| serde_json::to_value(m).unwrap_or_default());
        let ingest = lake
            .get_json::<serde_json::Value>(&pricelake_core::layout::state("ingest_status"))
            .await?;
        let uncommitted_outputs = pricelake_transform::uncommitted_outputs(lake).await?.len();
        let mut next_steps = Vec::new();
        if raw.is_empty() {
            next_steps.push(
                "nothing ingested yet: `pricelake ingest` polls the APIs into the lake (`pricelake demo` makes a simulated one)".to_string(),
            );
        } else if raw_objects_unprocessed > 0 {
            next_steps.push(format!(
                "{raw_objects_unprocessed} raw objects not processed yet: `pricelake process` turns them into clean tables and marts"
            ));
        }
        if let Some(m) = manifests
            .last()
            .filter(|m| !m.unquoted_currencies.is_empty())
        {
            next_steps.push(format!(
                "no rate in the lake for {}: add them to [sources.currencylayer] currencies and ingest, \
                 or remove them from [transform] currencies",
                m.unquoted_currencies.join(", ")
            ));
        }
        if uncommitted_outputs > 0 {
            next_steps.push(format!(
                "{uncommitted_outputs} files of a process run under way or stopped before its commit: \
                 neither served nor counted; the next `pricelake process` removes them"
            ));
        }
        Ok(StatusReport {
            lake: lake.display_url().to_string(),
            exists: true,
            raw_objects: raw.len(),
            raw_bytes: raw.iter().map(|o| o.size).sum(),
            error_objects,
            last_process_run,
            ingest,
            raw_objects_unprocessed,
            uncommitted_outputs,
            next_steps,
        })
    }

    /// The report on a lake that is not there.
    fn missing(config: &PricelakeConfig) -> StatusReport {
        StatusReport {
            lake: config.lake.url.clone(),
            exists: false,
            raw_objects: 0,
            raw_bytes: 0,
            error_objects: Default::default(),
            last_process_run: None,
            ingest: None,
            raw_objects_unprocessed: 0,
            uncommitted_outputs: 0,
            next_steps: vec![super::no_lake_here(config)],
        }
    }
}

pub(super) async fn run(config: PricelakeConfig, args: StatusArgs) -> anyhow::Result<()> {
    let report = match super::open_lake_to_read(&config)? {
        Some(lake) => StatusReport::read(&lake).await?,
        None => StatusReport::missing(&config),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("lake: {}", report.lake);
    if !report.exists {
        for step in &report.next_steps {
            println!("{step}");
        }
        return Ok(());
    }
    println!(
        "raw zone: {} objects, {} bytes",
        report.raw_objects, report.raw_bytes
    );
    if report.error_objects.is_empty() {
        println!("errors zone: empty");
    } else {
        println!("errors zone (dead letters, kept with their reason):");
        for (reason, count) in &report.error_objects {
            println!("  {reason}: {count} objects");
        }
    }
    match &report.last_process_run {
        Some(run) => println!(
            "last process run: {} (finished {}{})",
            run["run_id"].as_str().unwrap_or("?"),
            run["finished_at"].as_str().unwrap_or("?"),
            if run["full_refresh"] == true {
                ", a full refresh"
            } else {
                ""
            }
        ),
        None => println!("last process run: none yet (run `pricelake process`)"),
    }
    if let Some(run) = &report.last_process_run {
        let unquoted: Vec<&str> = run["unquoted_currencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .collect();
        let missing = run["rows"]["mart.prices_fx.missing_rate"]
            .as_u64()
            .unwrap_or(0);
        if !unquoted.is_empty() {
            println!(
                "  WARNING: no rate in the lake for {}: their converted prices are null",
                unquoted.join(", ")
            );
        }
        if missing > 0 {
            println!("  prices_fx rows with no rate at or before them (null prices): {missing}");
        }
    }
    match &report.ingest {
        Some(ingest) => {
            println!(
                "ingest status written {}",
                ingest["written_at"].as_str().unwrap_or("?")
            );
            println!(
                "  delivery: {}",
                describe_delivery(&ingest["metrics"], &ingest["delivery"])
            );
            if let Some(sources) = ingest["sources"].as_array() {
                for source in sources {
                    println!(
                        "  source {}: {}",
                        source["name"].as_str().unwrap_or("?"),
                        describe_health(&source["health"])
                    );
                }
            }
        }
        None => println!("ingest: no status yet (run `pricelake ingest`)"),
    }
    if !report.next_steps.is_empty() {
        println!("next:");
        for step in &report.next_steps {
            println!("  {step}");
        }
    }
    Ok(())
}

/// One line for a source's health, loud when a person should look.
fn describe_health(health: &serde_json::Value) -> String {
    let reason = health["reason"].as_str().unwrap_or("?");
    match health["state"].as_str() {
        Some("healthy") => "healthy".to_string(),
        Some("unhealthy") => format!(
            "UNHEALTHY after {} failed polls in a row (last: {reason}); it keeps retrying",
            health["consecutive_failures"]
        ),
        Some("stopped") => format!("STOPPED: {reason}; fix the credentials and restart"),
        _ => health.to_string(),
    }
}

/// The delivery stream's books from the metrics snapshot of the last ingest status, and
/// the records its spool replayed at start (a previous process stopped before delivering
/// them), from its delivery figures.
fn describe_delivery(metrics: &serde_json::Value, stats: &serde_json::Value) -> String {
    use pricelake_core::metrics::names;
    let delivery = |labels: &serde_json::Value| {
        labels.as_array().is_some_and(|l| {
            l.iter()
                .any(|pair| pair[0] == "component" && pair[1] == "delivery")
        })
    };
    let counter = |name: &str| -> f64 {
        metrics["counters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c[0]["name"] == name && delivery(&c[0]["labels"]))
            .filter_map(|c| c[1].as_f64())
            .sum()
    };
    let gauge = |name: &str| -> f64 {
        metrics["gauges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g[0]["name"] == name)
            .filter_map(|g| g[1].as_f64())
            .sum()
    };
    let replayed = stats["replayed"].as_u64().unwrap_or(0);
    let quarantined = stats["quarantined_segments"].as_u64().unwrap_or(0);
    let mut text = format!(
        "{} records received, {} replayed from the spool, {} delivered, {} retried writes, {} dead-lettered; spool {} bytes, oldest unflushed {} s",
        whole(counter(names::RECORDS_RECEIVED)),
        replayed,
        whole(counter(names::RECORDS_DELIVERED)),
        whole(counter(names::RETRIES)),
        whole(counter(names::DEAD_LETTERS)),
        whole(gauge(names::SPOOL_BYTES)),
        whole(gauge(names::OLDEST_UNFLUSHED_SECONDS)),
    );
    if quarantined > 0 {
        text.push_str(&format!(
            "; {quarantined} spool segments with a torn tail quarantined"
        ));
    }
    text
}

/// A counter or gauge as a whole number: an empty sum of floats is -0.0, which would print
/// as `-0`.
fn whole(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        value.round() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_counters_print_as_zero_and_replayed_records_are_shown() {
        // No delivery counter at all: every sum is empty.
        let metrics = serde_json::json!({"counters": [], "gauges": []});
        let stats = serde_json::json!({"replayed": 42, "quarantined_segments": 0});
        let text = describe_delivery(&metrics, &stats);
        assert!(!text.contains("-0"), "{text}");
        assert!(text.contains("0 records received"), "{text}");
        assert!(text.contains("42 replayed from the spool"), "{text}");
        let stats = serde_json::json!({"replayed": 0, "quarantined_segments": 2});
        assert!(describe_delivery(&metrics, &stats).contains("2 spool segments"));
    }
}
