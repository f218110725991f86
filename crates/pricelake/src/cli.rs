//! Command-line surface: one subcommand per way of running the pipeline.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// pricelake: Walmart prices and apilayer FX rates, from API to lake to dashboard, in one binary.
#[derive(Debug, Parser)]
#[command(name = "pricelake", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Config file (TOML). Default: ./pricelake.toml if present, else built-in defaults.
    #[arg(long, short, global = true, env = "PRICELAKE_CONFIG")]
    pub config: Option<PathBuf>,

    /// More logging (-v debug, -vv trace). PRICELAKE_LOG takes a tracing filter too.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve both APIs (Walmart v1/v2, currencylayer, apilayer currency_data) from a
    /// deterministic catalog on 127.0.0.1.
    #[command(
        after_help = "Example:\n  pricelake emulate --bind 127.0.0.1:8100 --seed 7\n  curl 'http://127.0.0.1:8100/v1/trends?apiKey=demo-walmart-key'"
    )]
    Emulate(EmulateArgs),

    /// Poll the configured endpoints and land every response in the lake.
    #[command(
        after_help = "Example:\n  PRICELAKE_WALMART_API_KEY=... PRICELAKE_CURRENCYLAYER_ACCESS_KEY=... pricelake ingest --once\n  pricelake ingest --backfill 2026-01-01..2026-03-31"
    )]
    Ingest(IngestArgs),

    /// Turn new raw objects into clean tables and marts (incremental, idempotent).
    #[command(
        after_help = "Example:\n  pricelake process\n  pricelake process --full-refresh --engine local"
    )]
    Process(ProcessArgs),

    /// Publish the newest run's marts to MongoDB (only new or changed rows are written).
    #[command(
        after_help = "Example:\n  PRICELAKE_MONGODB_URI=mongodb://127.0.0.1:27017 pricelake publish\n  pricelake publish --json"
    )]
    Publish(PublishArgs),

    /// Serve the JSON API and the dashboard: the marts from MongoDB when
    /// PRICELAKE_MONGODB_URI is set (`[serve] source = "auto"`, the default), else from the lake.
    #[command(
        after_help = "Example:\n  pricelake serve --bind 127.0.0.1:8080\n  open http://127.0.0.1:8080/\n  pricelake serve --as-of 2026-12-01T00:00:00Z                     # the lake as it was then\n  PRICELAKE_MONGODB_URI=mongodb://127.0.0.1:27017 pricelake serve   # marts published to MongoDB\n  PRICELAKE_SERVE__SOURCE=lake pricelake serve                      # straight from the lake"
    )]
    Serve(ServeArgs),

    /// Production mode: ingest continuously, process on a schedule, serve.
    #[command(after_help = "Example:\n  pricelake run --config pricelake.toml")]
    Run(RunArgs),

    /// Everything offline: emulator, a simulated month of ingestion, processing, dashboard.
    #[command(
        after_help = "Example:\n  pricelake demo            # then open the printed URL\n  pricelake demo --days 7 --no-serve"
    )]
    Demo(DemoArgs),

    /// What is in the lake, what ran last, and how healthy each component was.
    #[command(after_help = "Example:\n  pricelake status\n  pricelake status --json")]
    Status(StatusArgs),

    /// The books of the lake: fetched, landed, dead-lettered by reason, duplicates,
    /// processed, rejected; exits 1 when they do not balance.
    #[command(
        after_help = "Example:\n  pricelake audit\n  pricelake audit --emulator http://127.0.0.1:8100 --json"
    )]
    Audit(AuditArgs),

    /// The lake's tables, each a Delta Lake table: version, files, rows, last commit.
    #[command(after_help = "Example:\n  pricelake tables\n  pricelake tables --json")]
    Tables(TablesArgs),

    /// Remove the files of the tables' versions older than the retention (`[lake]
    /// retention_hours`, 7 days by default): what runs replaced, what a stopped run left.
    #[command(
        after_help = "Example:\n  pricelake vacuum --dry-run\n  pricelake vacuum --retention-hours 24"
    )]
    Vacuum(VacuumArgs),

    /// Compact the small files hourly runs leave in the marts (one file per day again),
    /// waiting for a process run under way to end first.
    #[command(
        after_help = "Example:\n  pricelake optimize\n  pricelake optimize && pricelake vacuum"
    )]
    Optimize(OptimizeArgs),

    /// Start one half of an Apache Ballista cluster (for `process --engine ballista://...`).
    #[command(
        after_help = "Example:\n  pricelake cluster scheduler --bind 127.0.0.1:50050 &\n  pricelake cluster executor --scheduler 127.0.0.1:50050 --bind 127.0.0.1:50051 &\n  pricelake process --engine ballista://127.0.0.1:50050"
    )]
    Cluster(ClusterArgs),
}

/// `pricelake cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Which half.
    #[command(subcommand)]
    pub role: ClusterRole,
}

/// The two processes of a Ballista cluster.
#[derive(Debug, Subcommand)]
pub enum ClusterRole {
    /// Plans jobs into stages and hands tasks to executors.
    #[command(
        after_help = "Example:\n  pricelake cluster scheduler --bind 127.0.0.1:50050\n  # then, elsewhere: pricelake cluster executor --scheduler 127.0.0.1:50050\n  #                 pricelake process --engine ballista://127.0.0.1:50050"
    )]
    Scheduler {
        /// Address of the scheduler's gRPC service.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: std::net::SocketAddr,
    },
    /// Runs tasks; several can serve one scheduler.
    #[command(
        after_help = "Example:\n  pricelake cluster executor --scheduler 127.0.0.1:50050 --bind 127.0.0.1:50051 --grpc-port 50052\n  # a second one on the same machine:\n  pricelake cluster executor --scheduler 127.0.0.1:50050 --bind 127.0.0.1:50061 --grpc-port 50062"
    )]
    Executor {
        /// The scheduler's address.
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: std::net::SocketAddr,
        /// Address of the executor's Arrow Flight service (shuffles and results).
        #[arg(long, default_value = "127.0.0.1:50051")]
        bind: std::net::SocketAddr,
        /// Port of the executor's gRPC service.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Folder for shuffle files (default: a temporary folder).
        #[arg(long)]
        work_dir: Option<String>,
        /// Tasks run at once (default: the number of cores).
        #[arg(long, default_value_t = 0)]
        concurrent_tasks: usize,
    },
}

/// `pricelake emulate`.
#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8100")]
    pub bind: SocketAddr,
    /// Catalog seed (same seed, same data).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of products in the generated catalog.
    #[arg(long)]
    pub items: Option<usize>,
    /// A small fixed catalog (JSON) instead of the generated one.
    #[arg(long)]
    pub fixture: Option<PathBuf>,
}

/// `pricelake ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Poll every endpoint once (all pages), flush, and exit.
    #[arg(long)]
    pub once: bool,
    /// Fill FX history for a date range, `FROM..TO` (YYYY-MM-DD..YYYY-MM-DD), then exit.
    #[arg(long, value_name = "FROM..TO")]
    pub backfill: Option<String>,
}

/// `pricelake process`.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Rebuild clean tables and marts from the whole raw zone.
    #[arg(long)]
    pub full_refresh: bool,
    /// `local` (embedded DataFusion), `ballista-standalone` (a Ballista scheduler and
    /// executor inside this process) or `ballista://host:port` (a running cluster, see
    /// `pricelake cluster`).
    #[arg(long, default_value = "local")]
    pub engine: String,
}

/// `pricelake publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `pricelake serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides `[serve] bind`).
    #[arg(long)]
    pub bind: Option<String>,
    /// Serve the lake as it was at an earlier run: a run id, an RFC 3339 time or a date
    /// (YYYY-MM-DD, its start in UTC); each table at the version that run left it.
    #[arg(long, value_name = "RUN|TIME")]
    pub as_of: Option<String>,
}

/// `pricelake run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Address to serve on (overrides `[serve] bind`).
    #[arg(long)]
    pub bind: Option<String>,
    /// Do not serve; only ingest and process.
    #[arg(long)]
    pub no_serve: bool,
}

/// `pricelake demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Days of history to simulate.
    #[arg(long)]
    pub days: Option<u32>,
    /// Catalog seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Products in the emulated catalog.
    #[arg(long)]
    pub items: Option<usize>,
    /// Lake for the demo (default ./demo-lake; wiped at start).
    #[arg(long)]
    pub lake: Option<String>,
    /// Address of the dashboard (overrides `[serve] bind`).
    #[arg(long)]
    pub bind: Option<String>,
    /// Stop after processing instead of serving the dashboard.
    #[arg(long)]
    pub no_serve: bool,
    /// Keep the existing demo lake instead of wiping it.
    #[arg(long)]
    pub keep: bool,
}

/// `pricelake status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `pricelake audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A running emulator whose served log to check against (default: the served log the
    /// demo saved in the lake, if any).
    #[arg(long)]
    pub emulator: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `pricelake tables`.
#[derive(Debug, Args)]
pub struct TablesArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `pricelake vacuum`.
#[derive(Debug, Args)]
pub struct VacuumArgs {
    /// Keep this many hours of versions instead of `[lake] retention_hours`.
    #[arg(long)]
    pub retention_hours: Option<u64>,
    /// Only say which files would go.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `pricelake optimize`.
#[derive(Debug, Args)]
pub struct OptimizeArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
