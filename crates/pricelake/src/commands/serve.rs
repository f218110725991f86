//! `pricelake serve`: the API and the dashboard over the lake.

use anyhow::Context;
use pricelake_core::Secret;
use pricelake_serve::ServeState;

use crate::cli::ServeArgs;
use crate::config::PricelakeConfig;

pub(super) async fn run(mut config: PricelakeConfig, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(bind) = args.bind {
        config.serve.bind = bind;
    }
    let (lake, metrics, _clock) = super::open_lake(&config)?;
    let shutdown = crate::shutdown::install();
    serve_until(lake, config.serve, metrics, shutdown).await
}

/// The serving part of `serve`, `run` and `demo`: binds, prints the URL, serves until shutdown.
pub async fn serve_until(
    lake: pricelake_lake::Lake,
    config: pricelake_serve::ServeConfig,
    metrics: pricelake_core::Metrics,
    shutdown: crate::shutdown::ShutdownSignal,
) -> anyhow::Result<()> {
    let token = std::env::var("PRICELAKE_SERVE_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(Secret::new);
    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .with_context(|| format!("binding {} (set [serve] bind or --bind)", config.bind))?;
    let addr = listener.local_addr()?;
    let state = ServeState::new(lake, config, metrics, token).await?;
    println!(
        "dashboard: http://{addr}/   API: http://{addr}/api/v1/   metrics: http://{addr}/metrics"
    );
    pricelake_serve::serve(state, listener, crate::shutdown::requested(shutdown)).await?;
    Ok(())
}
