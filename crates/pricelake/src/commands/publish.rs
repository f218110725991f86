//! `pricelake publish`: the newest run's marts into MongoDB.

use anyhow::Context;
use pricelake_lake::Lake;
use pricelake_serve::{PublishConfig, PublishReport, Publisher};

use crate::cli::PublishArgs;
use crate::config::{ConfigError, PricelakeConfig};

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
    let report = publish(&config.publish, &uri, &lake).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

async fn publish(config: &PublishConfig, uri: &str, lake: &Lake) -> anyhow::Result<PublishReport> {
    super::check_mongodb_uri(config, uri)?;
    let publisher = Publisher::connect(config, uri)
        .await
        .context("connecting to MongoDB")?;
    publisher.publish(lake).await.context("publishing marts")
}

/// After a `process` run that committed: publishes when MongoDB is configured.
pub async fn publish_after_process(config: &PricelakeConfig, lake: &Lake) -> anyhow::Result<()> {
    if !config.publish.after_process {
        return Ok(());
    }
    let Some(uri) = config.publish.uri() else {
        return Ok(());
    };
    let report = publish(&config.publish, &uri, lake).await?;
    print_report(&report);
    Ok(())
}

fn print_report(report: &PublishReport) {
    let Some(run_id) = &report.run_id else {
        println!("publish: no committed run yet");
        return;
    };
    println!(
        "publish run {run_id}: {} documents written",
        report.written()
    );
    for mart in &report.marts {
        if mart.skipped {
            println!("  {}: {} rows, already published", mart.mart, mart.rows);
        } else {
            println!(
                "  {}: {} rows, {} written, {} unchanged, {} deleted",
                mart.mart, mart.rows, mart.written, mart.unchanged, mart.deleted
            );
        }
    }
}
