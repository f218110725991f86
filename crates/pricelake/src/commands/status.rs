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
        let last_process_run = pricelake_transform::latest_manifest(lake)
            .await?
            .map(|m| serde_json::to_value(m).unwrap_or_default());
        let ingest = lake
            .get_json::<serde_json::Value>(&pricelake_core::layout::state("ingest_status"))
            .await?;
        Ok(StatusReport {
            lake: lake.display_url().to_string(),
            raw_objects: raw.len(),
            raw_bytes: raw.iter().map(|o| o.size).sum(),
            error_objects,
            last_process_run,
            ingest,
        })
    }
}

pub(super) async fn run(config: PricelakeConfig, args: StatusArgs) -> anyhow::Result<()> {
    let (lake, _, _) = super::open_lake(&config)?;
    let report = StatusReport::read(&lake).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("lake: {}", report.lake);
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
            "last process run: {} (finished {})",
            run["run_id"].as_str().unwrap_or("?"),
            run["finished_at"].as_str().unwrap_or("?")
        ),
        None => println!("last process run: none yet (run `pricelake process`)"),
    }
    match &report.ingest {
        Some(ingest) => {
            println!(
                "ingest status written {}",
                ingest["written_at"].as_str().unwrap_or("?")
            );
            println!("  delivery: {}", describe_delivery(&ingest["metrics"]));
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

/// The delivery stream's books from the metrics snapshot of the last ingest status.
fn describe_delivery(metrics: &serde_json::Value) -> String {
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
    format!(
        "{} records received, {} delivered, {} retried writes, {} dead-lettered; spool {} bytes, oldest unflushed {:.0} s",
        counter(names::RECORDS_RECEIVED),
        counter(names::RECORDS_DELIVERED),
        counter(names::RETRIES),
        counter(names::DEAD_LETTERS),
        gauge(names::SPOOL_BYTES),
        gauge(names::OLDEST_UNFLUSHED_SECONDS),
    )
}
