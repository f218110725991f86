//! `pricelake run`: production mode. Ingest continuously, process on a schedule, serve.

use pricelake_sources::SourceSecrets;

use crate::cli::RunArgs;
use crate::config::PricelakeConfig;
use crate::pipeline::{Pipeline, Processing, StopAt};

pub(super) async fn run(mut config: PricelakeConfig, args: RunArgs) -> anyhow::Result<()> {
    if let Some(bind) = args.bind {
        config.serve.bind = bind;
    }
    let (lake, metrics, clock) = super::open_lake(&config)?;
    let secrets = SourceSecrets::from_env()?;
    let pipeline =
        Pipeline::assemble(&config, &secrets, lake.clone(), clock, metrics.clone()).await?;
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
            super::serve::serve_until(lake, serve, &publish, metrics, shutdown, None).await
        }
    };
    let processing = Processing::Every(std::time::Duration::from_secs(
        config.schedule.process_interval_secs,
    ));
    let (served, ran) = tokio::join!(
        serving,
        pipeline.run(StopAt::Never, processing, shutdown.clone(), |_, _| {})
    );
    let summary = ran?.ingest;
    served?;
    println!(
        "run stopped: {} polls, {} records, {} dead letters",
        summary.polls, summary.records, summary.dead_letters
    );
    Ok(())
}
