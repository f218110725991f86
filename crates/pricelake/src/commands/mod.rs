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
mod optimize;
mod process;
mod publish;
mod run;
mod serve;
mod status;
mod tables;
mod vacuum;

pub use audit::{Unbalanced, SERVED_STATE};
pub use process::print_report as print_process_report;
pub use publish::publish_after_process;
pub use serve::serve_until;
pub use status::StatusReport;
pub use tables::{read_tables, TableRow};

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
        Command::Tables(args) => tables::run(config, args).await,
        Command::Vacuum(args) => vacuum::run(config, args).await,
        Command::Optimize(args) => optimize::run(config, args).await,
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

/// The parts every command shares: the lake (a local folder created if missing), a fresh
/// metrics registry, the wall clock.
pub(crate) fn open_lake(config: &PricelakeConfig) -> anyhow::Result<(Lake, Metrics, SharedClock)> {
    let lake = Lake::open(&config.lake)
        .map_err(lake_config_error)
        .context("opening the lake")?;
    Ok((lake, Metrics::new(), std::sync::Arc::new(SystemClock)))
}

/// The lake for a command that only reads it (`status`, `audit`, `process`, `publish`,
/// `serve`): `None` when its folder does not exist, which is not created.
pub(crate) fn open_lake_to_read(config: &PricelakeConfig) -> anyhow::Result<Option<Lake>> {
    match Lake::open_existing(&config.lake) {
        Ok(lake) => Ok(Some(lake)),
        Err(pricelake_lake::LakeError::Missing { .. }) => Ok(None),
        Err(e) => Err(anyhow::Error::from(lake_config_error(e)).context("opening the lake")),
    }
}

/// A command that reads the lake (and would write only beside what is there) found no lake
/// where the config points: exit 1 with [`no_lake_here`], and nothing created.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NoLake(pub String);

/// The lake for a command that needs one to be there (`audit`, `process`, `publish`,
/// `serve`): [`NoLake`] when its folder does not exist.
pub(crate) fn existing_lake(config: &PricelakeConfig) -> anyhow::Result<Lake> {
    open_lake_to_read(config)?.ok_or_else(|| NoLake(no_lake_here(config)).into())
}

/// What to print when a reading command finds no lake where the config points.
pub(crate) fn no_lake_here(config: &PricelakeConfig) -> String {
    format!(
        "there is no lake at {} (nothing created). Next: check [lake] url in the config or \
         PRICELAKE_LAKE__URL if the path is mistyped; for a new lake, `pricelake ingest` \
         creates it (or `pricelake demo` for a simulated one)",
        config.lake.url
    )
}

/// A MongoDB URI that is not a connection string is a config error (exit 2) naming its
/// variable. Parsed only (no DNS, no connection); the URI and the parser's words are not
/// printed when they could hold the password.
pub(crate) fn check_mongodb_uri(
    publish: &pricelake_serve::PublishConfig,
    uri: &str,
) -> Result<(), ConfigError> {
    match mongodb::options::ConnectionString::parse(uri) {
        Ok(_) => Ok(()),
        Err(e) => {
            let said = e.to_string();
            let reason = if said.contains('@') || said.contains(uri) {
                String::new()
            } else {
                format!(": {said}")
            };
            Err(ConfigError::Env {
                var: publish.mongodb_uri_env.clone(),
                message: format!(
                    "not a MongoDB connection string{reason}; expected mongodb://host:27017 or mongodb+srv://host"
                ),
            })
        }
    }
}

fn lake_config_error(e: pricelake_lake::LakeError) -> ConfigError {
    match e {
        pricelake_lake::LakeError::Config { field, message } => ConfigError::Field {
            field,
            fix: "see [lake] in pricelake.example.toml".to_string(),
            message,
        },
        e => ConfigError::Field {
            field: "lake.url".to_string(),
            message: pricelake_core::ErrorChain(&e).to_string(),
            fix: "use a folder path, file:///abs/path or s3://bucket/prefix".to_string(),
        },
    }
}
