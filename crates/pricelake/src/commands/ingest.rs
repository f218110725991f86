//! `pricelake ingest`: poll the configured endpoints into the lake.

use std::sync::Arc;

use chrono::NaiveDate;
use pricelake_sources::{LakeCheckpoints, SourceSecrets};

use super::UsageError;
use crate::cli::IngestArgs;
use crate::config::PricelakeConfig;
use crate::pipeline::{open_delivery, Pipeline, Processing, StopAt};

pub(super) async fn run(config: PricelakeConfig, args: IngestArgs) -> anyhow::Result<()> {
    let (lake, metrics, clock) = super::open_lake(&config)?;
    let secrets = SourceSecrets::from_env()?;
    if let Some(range) = args.backfill {
        // A backfill needs the delivery stream and currencylayer, not the other sources.
        let delivery = open_delivery(&config, &lake, &clock, &metrics).await?;
        let (from, to) = parse_range(&range)?;
        let report = pricelake_sources::backfill_fx(
            &config.sources.currencylayer,
            &secrets,
            from,
            to,
            clock.clone(),
            metrics.clone(),
            &delivery,
            Arc::new(LakeCheckpoints(lake.clone())),
        )
        .await?;
        delivery.close().await?;
        println!(
            "backfill {from}..{to}: {} requests, {} records, {} dead letters",
            report.requests, report.records, report.dead_letters
        );
        return Ok(());
    }
    let pipeline = Pipeline::assemble(&config, &secrets, lake.clone(), clock, metrics).await?;
    let shutdown = crate::shutdown::install();
    let stop = if args.once {
        StopAt::OneRound
    } else {
        StopAt::Never
    };
    let summary = pipeline
        .run(stop, Processing::Never, shutdown, |_, _| {})
        .await?
        .ingest;
    println!(
        "ingest: {} polls, {} records, {} dead letters, {} failed polls -> {}",
        summary.polls,
        summary.records,
        summary.dead_letters,
        summary.failed_polls,
        lake.display_url()
    );
    if !summary.gave_up.is_empty() {
        return Err(GaveUp {
            sources: summary.gave_up.join("; "),
            lake: lake.display_url().to_string(),
        }
        .into());
    }
    Ok(())
}

/// `ingest --once` could not finish its round: a source failed poll after poll (the store or
/// the API away). Exit 1 with the reason, so that a cron job ends and says why.
#[derive(Debug, thiserror::Error)]
#[error(
    "ingest --once gave up before the end of its round: {sources} (lake: {lake}; is it reachable?)"
)]
pub struct GaveUp {
    sources: String,
    lake: String,
}

/// Parses `YYYY-MM-DD..YYYY-MM-DD`.
pub(crate) fn parse_range(range: &str) -> Result<(NaiveDate, NaiveDate), UsageError> {
    let bad = || {
        UsageError(format!(
            "--backfill {range:?}: expected FROM..TO as YYYY-MM-DD..YYYY-MM-DD"
        ))
    };
    let (from, to) = range.split_once("..").ok_or_else(bad)?;
    let from = NaiveDate::parse_from_str(from.trim(), "%Y-%m-%d").map_err(|_| bad())?;
    let to = NaiveDate::parse_from_str(to.trim(), "%Y-%m-%d").map_err(|_| bad())?;
    if to < from {
        return Err(UsageError(format!(
            "--backfill {range:?}: FROM is after TO"
        )));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backfill_ranges_are_checked() {
        let (from, to) = parse_range("2026-01-01..2026-02-01").unwrap();
        assert_eq!(from.to_string(), "2026-01-01");
        assert_eq!(to.to_string(), "2026-02-01");
        assert!(parse_range("2026-01-01").is_err());
        assert!(parse_range("2026-02-01..2026-01-01").is_err());
        assert!(parse_range("yesterday..today").is_err());
    }
}
