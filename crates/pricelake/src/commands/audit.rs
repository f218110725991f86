//! `pricelake audit`: print the books of the lake and fail when they do not balance.

use anyhow::Context;
use pricelake_core::{layout, Clock};
use pricelake_emulator::ServedSummary;

use crate::audit::{audit, render};
use crate::cli::AuditArgs;
use crate::config::PricelakeConfig;

/// Where the demo keeps the emulator's served log, for a later `audit`.
pub const SERVED_STATE: &str = "emulator_served";

/// The books do not balance: exit 1 with the report already printed.
#[derive(Debug, thiserror::Error)]
#[error("the books do not balance (see the FAIL lines above)")]
pub struct Unbalanced;

pub(crate) async fn run(config: PricelakeConfig, args: AuditArgs) -> anyhow::Result<()> {
    let lake = super::existing_lake(&config)?;
    let clock = pricelake_core::SystemClock;
    let served: Option<ServedSummary> = match &args.emulator {
        Some(url) => Some(
            reqwest::get(format!("{}/_emulator/served", url.trim_end_matches('/')))
                .await
                .and_then(|r| r.error_for_status())
                .with_context(|| format!("asking the emulator at {url} for its served log"))?
                .json()
                .await
                .context("reading the emulator's served log")?,
        ),
        None => lake.get_json(&layout::state(SERVED_STATE)).await?,
    };
    let report = audit(&lake, served.as_ref()).await?;
    crate::audit::record(&lake, &report, clock.now()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    if report.balanced() {
        Ok(())
    } else {
        Err(Unbalanced.into())
    }
}
