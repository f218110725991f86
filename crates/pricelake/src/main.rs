//! `pricelake`: the one binary that wires sources, delivery, lake, transform and serve.
//!
//! Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.

use std::process::ExitCode;

use clap::Parser;

use pricelake::cli::Cli;
use pricelake::commands;

/// jemalloc rather than the system's allocator. A process run allocates and frees Arrow
/// buffers of every size, on every core, for its whole length; with glibc's malloc, about 9 %
/// of its CPU time went to `malloc`, `free` and their arena consolidation, and a Delta
/// checkpoint (a few hundred small arrays per table) most of all. Measured on the 10 M lake
/// (docs/benchmarks.md, "Checkpoints taking turns, and jemalloc"): the full refresh's peak
/// memory 0.7 GB instead of 1.0 GB, in no more time; an hour about 3 % faster.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = commands::exit_code(&e);
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}

fn init_tracing(verbose: u8) {
    // Delta Lake's kernel logs every snapshot it builds at info: a line per table read.
    const DELTA: &str = "delta_kernel=warn,buoyant_kernel=warn,buoyant_kernel_engine=warn,\
                         delta_kernel_default_engine=warn,deltalake_core=warn";
    let default = match verbose {
        0 => format!("info,datafusion=warn,sqlparser=warn,hyper=warn,reqwest=warn,{DELTA}"),
        1 => format!("debug,hyper=info,h2=info,reqwest=info,{DELTA}"),
        _ => "trace".to_string(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PRICELAKE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .compact()
        .init();
}
