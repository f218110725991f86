//! `pricelake demo`: the whole pipeline, offline, on a simulated clock.
//!
//! The emulator and the pipeline share one [`SimulatedClock`]: the ingest loop jumps from
//! one due poll to the next, the emulator serves the catalog as it is at that simulated
//! instant, and a month of hourly FX quotes and daily catalogs lands in seconds.
//! Processing runs every simulated week, so the demo exercises incremental runs too.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use pricelake_core::{Metrics, Secret, SimulatedClock};
use pricelake_emulator::ServedLog;
use pricelake_lake::{Lake, LakeConfig};
use pricelake_sources::SourceSecrets;
use pricelake_transform::ProcessReport;

use crate::cli::DemoArgs;
use crate::config::PricelakeConfig;
use crate::pipeline::{IngestSummary, Pipeline, Processing, StopAt};

/// Everything a demo run needs; the CLI fills it from flags and config, tests directly.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Sections for the emulator, sources, delivery, transform and serve.
    pub config: PricelakeConfig,
    /// First simulated instant.
    pub start: DateTime<Utc>,
    /// Simulated days to ingest.
    pub days: u32,
    /// Where the demo's lake goes.
    pub lake_url: String,
    /// Where the demo's spool goes.
    pub spool_dir: PathBuf,
    /// Delete the lake and spool first, so the demo starts from nothing.
    pub wipe: bool,
    /// Print progress lines to stderr.
    pub progress: bool,
    /// Simulated days between process runs.
    pub process_every_days: u32,
}

/// What a demo run produced, for the CLI's summary and for tests.
pub struct DemoOutcome {
    /// The demo's lake.
    pub lake: Lake,
    /// Totals of the ingest loop.
    pub ingest: IngestSummary,
    /// Every process run, in order.
    pub process_runs: Vec<ProcessReport>,
    /// What the emulator served, to balance against the lake.
    pub served: ServedLog,
    /// The run's counters.
    pub metrics: Metrics,
    /// The clock, at the end of the simulated period.
    pub clock: Arc<SimulatedClock>,
}

/// Today's midnight (UTC) minus `days`: the default start of the simulated period.
pub fn default_start(days: u32) -> DateTime<Utc> {
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    DateTime::from_naive_utc_and_offset(today, Utc) - Duration::days(i64::from(days))
}

/// Runs emulator -> sources -> delivery -> lake -> transform over the simulated period.
pub async fn run_pipeline(options: DemoOptions) -> anyhow::Result<DemoOutcome> {
    let DemoOptions {
        mut config,
        start,
        days,
        lake_url,
        spool_dir,
        wipe,
        progress,
        process_every_days,
    } = options;
    if wipe {
        wipe_local(&lake_url)?;
        if spool_dir.exists() {
            std::fs::remove_dir_all(&spool_dir)
                .with_context(|| format!("wiping the demo spool {}", spool_dir.display()))?;
        }
    }
    let clock = SimulatedClock::shared(start);
    let end = start + Duration::days(i64::from(days));
    let metrics = Metrics::new();

    let emulator = pricelake_emulator::start(
        config.emulator.clone(),
        clock.clone(),
        "127.0.0.1:0".parse().expect("valid address"),
    )
    .await
    .context("starting the emulator")?;
    let base = emulator.base_url();
    config.sources.walmart.base_url = base.clone();
    config.sources.currencylayer.base_url = base.clone();
    let secrets = SourceSecrets {
        walmart_api_key: Some(Secret::new(config.emulator.walmart_api_key.clone())),
        currencylayer_access_key: Some(Secret::new(
            config.emulator.currencylayer_access_key.clone(),
        )),
        apilayer_apikey: Some(Secret::new(config.emulator.apilayer_apikey.clone())),
        ..SourceSecrets::default()
    };

    let lake = Lake::open(&LakeConfig {
        url: lake_url.clone(),
        ..config.lake.clone()
    })
    .with_context(|| format!("opening the demo lake {lake_url}"))?;
    config.delivery.spool_dir = spool_dir;
    config.schedule.status_interval_secs = 6 * 3600;
    let pipeline = Pipeline::assemble(
        &config,
        &secrets,
        lake.clone(),
        clock.clone(),
        metrics.clone(),
    )
    .await?;

    if progress {
        eprintln!(
            "demo: emulator at {base}; simulating {days} days from {} into {}",
            start.format("%Y-%m-%d"),
            lake.display_url()
        );
    }
    let (_never, shutdown) = tokio::sync::watch::channel(false);
    let processing = Processing::InTurns {
        every: Duration::days(i64::from(process_every_days.max(1))),
        print: progress,
    };
    let mut last_day = None;
    let outcome = pipeline
        .run(StopAt::Instant(end), processing, shutdown, |now, so_far| {
            let day = (now - start).num_days();
            if progress && last_day != Some(day) {
                last_day = Some(day);
                eprintln!(
                    "  day {:>2}/{days} {}: {} records, {} dead letters so far",
                    day + 1,
                    now.format("%Y-%m-%d"),
                    so_far.records,
                    so_far.dead_letters
                );
            }
        })
        .await?;
    let served = emulator.served();
    emulator.shutdown().await;
    // Kept for `pricelake audit`, which balances the lake against what was served.
    lake.put_json(
        &pricelake_core::layout::state(crate::commands::SERVED_STATE),
        &served.summary(),
    )
    .await
    .context("saving the emulator's served log")?;
    Ok(DemoOutcome {
        lake,
        ingest: outcome.ingest,
        process_runs: outcome.process_runs,
        served,
        metrics,
        clock,
    })
}

/// Deletes a local demo lake folder; refuses anything that is not a plain local path.
fn wipe_local(lake_url: &str) -> anyhow::Result<()> {
    if lake_url.contains("://") && !lake_url.starts_with("file://") {
        return Ok(());
    }
    let path = PathBuf::from(lake_url.trim_start_matches("file://"));
    if path.exists() {
        std::fs::remove_dir_all(&path)
            .with_context(|| format!("wiping the demo lake {}", path.display()))?;
    }
    Ok(())
}

/// `pricelake demo`: run the pipeline, then serve the dashboard until Ctrl-C.
pub async fn run_cli(mut config: PricelakeConfig, args: DemoArgs) -> anyhow::Result<()> {
    let days = args.days.unwrap_or(config.demo.days).max(1);
    if let Some(seed) = args.seed {
        config.emulator.seed = seed;
    }
    if let Some(items) = args.items {
        config.emulator.items = items;
    }
    if let Some(bind) = args.bind {
        config.serve.bind = bind;
    }
    let start = match &config.demo.start {
        Some(text) if !text.is_empty() => {
            text.parse::<DateTime<Utc>>()
                .map_err(|e| crate::config::ConfigError::Field {
                    field: "demo.start".to_string(),
                    message: e.to_string(),
                    fix: "an RFC 3339 instant such as 2026-10-01T00:00:00Z".to_string(),
                })?
        }
        _ => default_start(days),
    };
    let lake_url = args
        .lake
        .clone()
        .unwrap_or_else(|| config.demo.lake_url.clone());
    let began = std::time::Instant::now();
    let outcome = run_pipeline(DemoOptions {
        config: config.clone(),
        start,
        days,
        lake_url: lake_url.clone(),
        spool_dir: config.demo.spool_dir.clone(),
        wipe: !args.keep,
        progress: true,
        process_every_days: 10,
    })
    .await?;
    eprintln!(
        "demo: data phase done in {:.1} s: {} polls, {} records, {} dead letters, {} process runs",
        began.elapsed().as_secs_f64(),
        outcome.ingest.polls,
        outcome.ingest.records,
        outcome.ingest.dead_letters,
        outcome.process_runs.len()
    );
    let books = crate::audit::audit(&outcome.lake, Some(&outcome.served.summary()))
        .await
        .context("auditing the demo lake")?;
    crate::audit::record(
        &outcome.lake,
        &books,
        pricelake_core::Clock::now(outcome.clock.as_ref()),
    )
    .await
    .context("keeping the demo's books in the lake")?;
    let failed: Vec<&str> = books
        .checks
        .iter()
        .filter(|c| !c.holds())
        .map(|c| c.name.as_str())
        .collect();
    if failed.is_empty() {
        eprintln!(
            "demo: audit balances ({} checks; `pricelake audit --config ... ` shows the books)",
            books.checks.len()
        );
    } else {
        anyhow::bail!("demo: the books do not balance: {}", failed.join("; "));
    }
    if args.no_serve {
        println!("demo lake: {}", outcome.lake.display_url());
        return Ok(());
    }
    let shutdown = crate::shutdown::install();
    // The demo publishes nowhere: it serves its own lake whatever MongoDB is configured.
    let serve = pricelake_serve::ServeConfig {
        source: pricelake_serve::MartSource::Lake,
        ..config.serve
    };
    crate::commands::serve_until(
        outcome.lake,
        serve,
        &config.publish,
        outcome.metrics,
        shutdown,
        None,
    )
    .await
}
