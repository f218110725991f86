//! `pricelake run`: production mode. Ingest continuously, process on a schedule, serve.

use std::sync::Arc;

use anyhow::Context;
use pricelake_delivery::DeliveryStream;
use pricelake_sources::{build_sources, LakeCheckpoints, SourceSecrets};
use pricelake_transform::Engine;

use crate::cli::RunArgs;
use crate::config::PricelakeConfig;
use crate::pipeline::{Ingest, StopAt};

pub(super) async fn run(mut config: PricelakeConfig, args: RunArgs) -> anyhow::Result<()> {
    if let Some(bind) = args.bind {
        config.serve.bind = bind;
    }
    let (lake, metrics, clock) = super::open_lake(&config)?;
    let secrets = SourceSecrets::from_env()?;
    let delivery = DeliveryStream::open(
        config.delivery.clone(),
        lake.clone(),
        clock.clone(),
        metrics.clone(),
    )
    .await
    .context("opening the delivery stream")?;
    let mut sources = build_sources(
        &config.sources,
        &secrets,
        clock.clone(),
        metrics.clone(),
        Arc::new(LakeCheckpoints(lake.clone())),
    )?;
    let shutdown = crate::shutdown::install();

    let serving = {
        let (lake, serve, publish, metrics, shutdown) = (
            lake.clone(),
            config.serve.clone(),
            config.publish.clone(),
            metrics.clone(),
            shutdown.clone(),
        );
        async move {
            if args.no_serve {
                return Ok(());
            }
            super::serve::serve_until(lake, serve, &publish, metrics, shutdown).await
        }
    };
    let processing = {
        let full_config = config.clone();
        let (lake, transform, metrics, clock, shutdown) = (
            lake.clone(),
            config.transform.clone(),
            metrics.clone(),
            clock.clone(),
            shutdown.clone(),
        );
        let interval = std::time::Duration::from_secs(config.schedule.process_interval_secs);
        async move {
            loop {
                tokio::select! {
                    _ = clock.sleep(interval) => {},
                    _ = crate::shutdown::requested(shutdown.clone()) => return anyhow::Ok(()),
                }
                match pricelake_transform::process(
                    &lake,
                    &transform,
                    &Engine::Local,
                    clock.clone(),
                    metrics.clone(),
                    false,
                )
                .await
                {
                    Ok(report) => {
                        super::process::print_report(&report);
                        if !report.skipped {
                            if let Err(e) = super::publish_after_process(&full_config, &lake).await
                            {
                                tracing::error!(error = %format!("{e:#}"), "publishing to MongoDB failed; the next run retries");
                            }
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %pricelake_core::ErrorChain(&e), "scheduled process run failed; the next run retries")
                    }
                }
            }
        }
    };
    let ingesting = async {
        let summary = Ingest {
            sources: &mut sources,
            delivery: &delivery,
            clock: clock.clone(),
            metrics: metrics.clone(),
            lake: lake.clone(),
            status_interval: chrono::Duration::seconds(config.schedule.status_interval_secs as i64),
        }
        .run(StopAt::Never, shutdown.clone(), |_, _| {})
        .await?;
        anyhow::Ok(summary)
    };
    let (served, processed, ingested) = tokio::join!(serving, processing, ingesting);
    delivery.close().await?;
    served?;
    processed?;
    let summary = ingested?;
    println!(
        "run stopped: {} polls, {} records, {} dead letters",
        summary.polls, summary.records, summary.dead_letters
    );
    Ok(())
}
