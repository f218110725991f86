//! `pricelake serve`: the API and the dashboard over the marts, read from MongoDB when it is
//! configured, else from the lake.

use anyhow::Context;
use pricelake_core::Secret;
use pricelake_serve::{MartSource, Publisher, ServeState};

use crate::cli::ServeArgs;
use crate::config::{ConfigError, PricelakeConfig};

pub(super) async fn run(mut config: PricelakeConfig, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(bind) = args.bind {
        config.serve.bind = bind;
    }
    // Serving reads the lake: one that is not there is a mistake to report, not to create.
    let lake = super::existing_lake(&config)?;
    let metrics = pricelake_core::Metrics::new();
    let as_of = match &args.as_of {
        Some(text) => Some(pricelake_lake::manifest::AsOf::parse(text).ok_or_else(|| {
            super::UsageError(format!(
                "--as-of {text:?}: give a run id (pricelake tables, pricelake status), an RFC 3339 time or a date (YYYY-MM-DD)"
            ))
        })?),
        None => None,
    };
    let shutdown = crate::shutdown::install();
    serve_until(
        lake,
        config.serve,
        &config.publish,
        metrics,
        shutdown,
        as_of.as_ref(),
    )
    .await
}

/// The serving part of `serve`, `run` and `demo`: binds, prints the URL, serves until shutdown.
pub async fn serve_until(
    lake: pricelake_lake::Lake,
    config: pricelake_serve::ServeConfig,
    publish: &pricelake_serve::PublishConfig,
    metrics: pricelake_core::Metrics,
    shutdown: crate::shutdown::ShutdownSignal,
    as_of: Option<&pricelake_lake::manifest::AsOf>,
) -> anyhow::Result<()> {
    let token = std::env::var("PRICELAKE_SERVE_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(Secret::new);
    let listener = match tokio::net::TcpListener::bind(&config.bind).await {
        Ok(listener) => listener,
        // Another process has the port: a runtime failure (exit 1), it may be free later.
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            return Err(anyhow::Error::from(e).context(format!(
                "binding {}: the port is in use (stop what holds it, or choose another with [serve] bind or --bind)",
                config.bind
            )))
        }
        // Not an address, not one of this machine's, or a port not allowed: configuration.
        Err(e) => {
            return Err(ConfigError::Field {
                field: "serve.bind".to_string(),
                message: format!("cannot listen on {:?}: {e}", config.bind),
                fix: "an address of this machine and a free port, e.g. 127.0.0.1:8080 (--bind overrides it)".to_string(),
            }
            .into())
        }
    };
    let addr = listener.local_addr()?;
    let mongo = match (config.source, publish.uri()) {
        // An earlier run: only the lake keeps it.
        _ if as_of.is_some() => None,
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
            Publisher::connect(publish, {
                super::check_mongodb_uri(publish, &uri)?;
                &uri
            })
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
    let state = match (mongo, as_of) {
        (Some(db), _) => ServeState::from_mongo(lake, db, config, metrics, token).await?,
        (None, Some(at)) => ServeState::as_of(lake, at, config, metrics, token)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no process run had committed by {at:?}: `pricelake tables` and `pricelake status` show the runs"
                )
            })?,
        (None, None) => ServeState::new(lake, config, metrics, token).await?,
    };
    match as_of {
        Some(_) => eprintln!("serving the marts of an earlier run from {source}"),
        None => eprintln!("serving the marts from {source}"),
    }
    println!(
        "dashboard: http://{addr}/   API: http://{addr}/api/v1/   metrics: http://{addr}/metrics"
    );
    pricelake_serve::serve(state, listener, crate::shutdown::requested(shutdown)).await?;
    Ok(())
}
