//! `pricelake serve`: the API and the dashboard over the lake.

use anyhow::Context;
use pricelake_core::Secret;
use pricelake_serve::{MartSource, Publisher, ServeState};

use crate::cli::ServeArgs;
use crate::config::{ConfigError, PricelakeConfig};

pub(super) async fn run(mut config: PricelakeConfig, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(bind) = args.bind {
        config.serve.bind = bind;
    }
    let (lake, metrics, _clock) = super::open_lake(&config)?;
    let shutdown = crate::shutdown::install();
    serve_until(lake, config.serve, &config.publish, metrics, shutdown).await
}

/// The serving part of `serve`, `run` and `demo`: binds, prints the URL, serves until shutdown.
pub async fn serve_until(
    lake: pricelake_lake::Lake,
    config: pricelake_serve::ServeConfig,
    publish: &pricelake_serve::PublishConfig,
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
    let mongo = match (config.source, publish.uri()) {
        (MartSource::Lake, _) | (MartSource::Auto, None) => None,
        (MartSource::Mongodb, None) => {
            return Err(ConfigError::Field {
                field: "serve.source".to_string(),
                message: format!(
                    "\"mongodb\" needs {} set to a MongoDB connection string",
                    publish.mongodb_uri_env
                ),
                fix: format!(
                    "export {}=mongodb://host:27017, or set [serve] source = \"lake\"",
                    publish.mongodb_uri_env
                ),
            }
            .into())
        }
        (MartSource::Mongodb | MartSource::Auto, Some(uri)) => Some(
            Publisher::connect(publish, &uri)
                .await
                .context("connecting to the MongoDB the marts are served from")?
                .database()
                .clone(),
        ),
    };
    let source = if mongo.is_some() {
        "MongoDB"
    } else {
        "the lake"
    };
    let state = match mongo {
        Some(db) => ServeState::from_mongo(lake, db, config, metrics, token).await?,
        None => ServeState::new(lake, config, metrics, token).await?,
    };
    eprintln!("serving the marts from {source}");
    println!(
        "dashboard: http://{addr}/   API: http://{addr}/api/v1/   metrics: http://{addr}/metrics"
    );
    pricelake_serve::serve(state, listener, crate::shutdown::requested(shutdown)).await?;
    Ok(())
}
