//! `pricelake process`: new raw objects into clean tables and marts.

use anyhow::Context;
use pricelake_transform::Engine;

use super::UsageError;
use crate::cli::ProcessArgs;
use crate::config::PricelakeConfig;

pub(super) async fn run(config: PricelakeConfig, args: ProcessArgs) -> anyhow::Result<()> {
    let engine: Engine = args
        .engine
        .parse()
        .map_err(|e| UsageError(format!("--engine {:?}: {e}", args.engine)))?;
    // A lake that is not there has nothing to process: say so rather than make an empty one.
    let lake = super::existing_lake(&config)?;
    let (metrics, clock): (pricelake_core::Metrics, pricelake_core::SharedClock) = (
        pricelake_core::Metrics::new(),
        std::sync::Arc::new(pricelake_core::SystemClock),
    );
    let report = pricelake_transform::process(
        &lake,
        &config.transform,
        &engine,
        clock,
        metrics,
        args.full_refresh,
    )
    .await
    .context("processing")?;
    print_report(&report);
    if !report.skipped {
        super::publish_after_process(&config, &lake).await?;
    }
    Ok(())
}

/// Prints a process report the same way in `process`, `run` and `demo`.
pub fn print_report(report: &pricelake_transform::ProcessReport) {
    if report.skipped {
        println!("process: nothing new since the last run");
        return;
    }
    let rows: Vec<String> = report
        .rows
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!(
        "process run {}: {} raw objects -> {} ({} duplicates removed)",
        report.run_id,
        report.consumed_objects,
        rows.join(", "),
        report.duplicates_removed
    );
    if !report.unquoted_currencies.is_empty() {
        println!(
            "  WARNING: no rate anywhere in the lake for {}: {} prices_fx rows have a null rate; \
             add them to [sources.currencylayer] currencies (and ingest) or remove them from [transform] currencies",
            report.unquoted_currencies.join(", "),
            report
                .rows
                .get("mart.prices_fx.missing_rate")
                .copied()
                .unwrap_or(0)
        );
    }
    if !report.rejected.is_empty() {
        let rejected: Vec<String> = report
            .rejected
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "  rejected (kept under errors/transform/): {}",
            rejected.join(", ")
        );
    }
}
