//! `pricelake publish`: the newest run's marts into MongoDB.
//!
//! Publishing millions of rows takes minutes, so it says how far it got as it goes (to
//! stderr, each mart as it starts and ends and every few seconds in between), and its
//! summary says, per mart and in all, what was written, found unchanged and deleted.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use pricelake_lake::Lake;
use pricelake_serve::publish::PublishProgress;
use pricelake_serve::{PublishConfig, PublishReport, Publisher};

use crate::cli::PublishArgs;
use crate::config::{ConfigError, PricelakeConfig};

/// How often a mart's progress is told while it is being published.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

pub(super) async fn run(config: PricelakeConfig, args: PublishArgs) -> anyhow::Result<()> {
    let lake = super::existing_lake(&config)?;
    let Some(uri) = config.publish.uri() else {
        return Err(ConfigError::Field {
            field: "publish.mongodb_uri_env".to_string(),
            message: format!(
                "{} is not set: there is no MongoDB to publish to",
                config.publish.mongodb_uri_env
            ),
            fix: format!(
                "export {}=mongodb://host:27017 (the API serves from the lake without it)",
                config.publish.mongodb_uri_env
            ),
        }
        .into());
    };
    let started = Instant::now();
    let report = publish(&config.publish, &uri, &lake).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, started.elapsed());
    }
    Ok(())
}

async fn publish(config: &PublishConfig, uri: &str, lake: &Lake) -> anyhow::Result<PublishReport> {
    super::check_mongodb_uri(config, uri)?;
    let publisher = Publisher::connect(config, uri)
        .await
        .context("connecting to MongoDB")?;
    let last_told = Mutex::new(None::<(String, Instant)>);
    let progress = move |p: &PublishProgress| {
        let mut last = last_told.lock().unwrap_or_else(|e| e.into_inner());
        let same_mart = last.as_ref().is_some_and(|(mart, _)| *mart == p.mart);
        let due = last
            .as_ref()
            .is_none_or(|(_, at)| at.elapsed() >= PROGRESS_EVERY);
        // A mart's steps before its rows and its last word are always told; its rows every
        // few seconds.
        if p.done || !same_mart || due || p.rows == 0 {
            eprintln!("{}", progress_line(p));
            *last = Some((p.mart.clone(), Instant::now()));
        }
    };
    publisher
        .publish_with_progress(lake, &progress)
        .await
        .context("publishing marts")
}

/// One line of progress: `publish vod_fx: 120,000 of 998,668 rows compared, 5,000 written`.
fn progress_line(p: &PublishProgress) -> String {
    let of = p
        .total
        .map(|t| format!(" of {}", thousands(t)))
        .unwrap_or_default();
    if p.skipped {
        format!(
            "publish {}: {} rows, already published",
            p.mart,
            thousands(p.rows)
        )
    } else if p.done {
        format!(
            "publish {}: done, {} rows: {} written, {} unchanged, {} deleted",
            p.mart,
            thousands(p.rows),
            thousands(p.written),
            thousands(p.unchanged),
            thousands(p.deleted)
        )
    } else if p.rows == 0 && !p.compared {
        format!("publish {}: reading what is published", p.mart)
    } else if p.rows == 0 {
        let rows = p
            .total
            .map(|t| format!("{} rows", thousands(t)))
            .unwrap_or_else(|| "its rows".into());
        format!(
            "publish {}: comparing {rows} with {} published documents",
            p.mart,
            thousands(p.existing)
        )
    } else {
        format!(
            "publish {}: {}{of} rows compared, {} written, {} unchanged",
            p.mart,
            thousands(p.rows),
            thousands(p.written),
            thousands(p.unchanged)
        )
    }
}

/// After a `process` run that committed: publishes when MongoDB is configured.
pub async fn publish_after_process(config: &PricelakeConfig, lake: &Lake) -> anyhow::Result<()> {
    if !config.publish.after_process {
        return Ok(());
    }
    let Some(uri) = config.publish.uri() else {
        return Ok(());
    };
    let started = Instant::now();
    let report = publish(&config.publish, &uri, lake).await?;
    print_report(&report, started.elapsed());
    Ok(())
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_report(report: &PublishReport, took: Duration) {
    let Some(run_id) = &report.run_id else {
        println!("publish: no committed run yet");
        return;
    };
    println!(
        "publish run {run_id}: {} documents written, {} unchanged, {} deleted in {:.1} s",
        thousands(report.written()),
        thousands(report.unchanged()),
        thousands(report.deleted()),
        took.as_secs_f64()
    );
    for mart in &report.marts {
        if mart.skipped {
            println!(
                "  {}: {} rows, already published (nothing written)",
                mart.mart,
                thousands(mart.rows)
            );
        } else {
            println!(
                "  {}: {} rows, {} written, {} unchanged, {} deleted",
                mart.mart,
                thousands(mart.rows),
                thousands(mart.written),
                thousands(mart.unchanged),
                thousands(mart.deleted)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(998_668), "998,668");
        assert_eq!(thousands(2_000_000), "2,000,000");
    }

    #[test]
    fn progress_says_how_far_a_mart_got_and_what_it_did() {
        let mut p = PublishProgress {
            mart: "vod_fx".into(),
            existing: 10,
            rows: 120_000,
            total: Some(998_668),
            written: 5_000,
            unchanged: 115_000,
            deleted: 0,
            compared: true,
            done: false,
            skipped: false,
        };
        assert_eq!(
            progress_line(&p),
            "publish vod_fx: 120,000 of 998,668 rows compared, 5,000 written, 115,000 unchanged"
        );
        p.done = true;
        p.deleted = 3;
        assert_eq!(
            progress_line(&p),
            "publish vod_fx: done, 120,000 rows: 5,000 written, 115,000 unchanged, 3 deleted"
        );
        p.skipped = true;
        assert_eq!(
            progress_line(&p),
            "publish vod_fx: 120,000 rows, already published"
        );
        let mut start = PublishProgress {
            rows: 0,
            written: 0,
            unchanged: 0,
            compared: false,
            done: false,
            skipped: false,
            ..p
        };
        assert_eq!(
            progress_line(&start),
            "publish vod_fx: reading what is published"
        );
        start.compared = true;
        assert_eq!(
            progress_line(&start),
            "publish vod_fx: comparing 998,668 rows with 10 published documents"
        );
    }
}
