//! `pricelake emulate`: both APIs on 127.0.0.1, on wall-clock time.

use std::sync::Arc;

use anyhow::Context;
use pricelake_core::SystemClock;

use crate::cli::EmulateArgs;
use crate::config::PricelakeConfig;

pub(super) async fn run(config: PricelakeConfig, args: EmulateArgs) -> anyhow::Result<()> {
    let mut emulator = config.emulator;
    if let Some(seed) = args.seed {
        emulator.seed = seed;
    }
    if let Some(items) = args.items {
        emulator.items = items;
    }
    if args.fixture.is_some() {
        emulator.fixture = args.fixture;
    }
    let running = pricelake_emulator::start(emulator, Arc::new(SystemClock), args.bind)
        .await
        .context("starting the emulator")?;
    println!("emulator listening on {}", running.base_url());
    println!(
        "  walmart v1:     {}/v1/trends?apiKey=<walmart key>",
        running.base_url()
    );
    println!(
        "  currencylayer:  {}/api/live?access_key=<currencylayer key>",
        running.base_url()
    );
    println!("keys are set in [emulator]; press Ctrl-C to stop");
    let shutdown = crate::shutdown::install();
    crate::shutdown::requested(shutdown).await;
    running.shutdown().await;
    Ok(())
}
