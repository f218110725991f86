//! One module per subcommand; `dispatch` picks one and `exit_code` maps failures to codes.

use anyhow::Context;
use pricelake_core::{Metrics, SharedClock, SystemClock};
use pricelake_lake::Lake;

use crate::cli::{Cli, Command};
use crate::config::{ConfigError, PricelakeConfig};

mod audit;
mod cluster;
mod emulate;
mod ingest;
mod process;
mod publish;
mod run;
mod serve;
mod status;

pub use audit::{Unbalanced, SERVED_STATE};
pub use process::print_report as print_process_report;
pub use publish::publish_after_process;
pub use serve::serve_until;
pub use status::StatusReport;

/// A usage problem found after parsing (a malformed `--backfill` range, an unknown engine).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs the chosen subcommand.
pub async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let config = PricelakeConfig::load(cli.config.as_deref(), env)?;
    match cli.command {
        Command::Emulate(args) => emulate::run(config, args).await,
        Command::Ingest(args) => ingest::run(config, args).await,
        Command::Process(args) => process::run(config, args).await,
        Command::Publish(args) => publish::run(config, args).await,
        Command::Serve(args) => serve::run(config, args).await,
        Command::Run(args) => run::run(config, args).await,
        Command::Demo(args) => crate::demo::run_cli(config, args).await,
        Command::Status(args) => status::run(config, args).await,
        Command::Audit(args) => audit::run(config, args).await,
        Command::Cluster(args) => cluster::run(args).await,
    }
}

/// 2 for configuration and usage errors, 1 for everything else.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<ConfigError>() || cause.is::<UsageError>() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<pricelake_sources::SourceError>() {
            if e.is_config() {
                return 2;
            }
        }
    }
    1
}

/// The parts every command shares: the lake, a fresh metrics registry, the wall clock.
pub(crate) fn open_lake(config: &PricelakeConfig) -> anyhow::Result<(Lake, Metrics, SharedClock)> {
    let lake = Lake::open(&config.lake)
        .map_err(|e| ConfigError::Field {
            field: "lake.url".to_string(),
            message: e.to_string(),
            fix: "use a folder path, file:///abs/path or s3://bucket/prefix".to_string(),
        })
        .context("opening the lake")?;
    Ok((lake, Metrics::new(), std::sync::Arc::new(SystemClock)))
}
