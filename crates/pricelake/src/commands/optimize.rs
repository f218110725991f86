//! `pricelake optimize`: compacts the small files that hourly runs leave in the marts
//! (`prices_fx` gains one per extended day and hour), one Delta `OPTIMIZE` commit per mart.

use crate::cli::OptimizeArgs;
use crate::config::PricelakeConfig;

pub(super) async fn run(config: PricelakeConfig, args: OptimizeArgs) -> anyhow::Result<()> {
    let lake = super::existing_lake(&config)?;
    let compacted = pricelake_transform::optimize(&lake, &config.transform).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&compacted)?);
        return Ok(());
    }
    for mart in &compacted {
        match mart.version {
            Some(version) => println!(
                "{:<20} {} days compacted, {} files into {} (version {version})",
                mart.mart,
                mart.days.len(),
                mart.files_removed,
                mart.days.len()
            ),
            None => println!("{:<20} nothing to compact", mart.mart),
        }
    }
    Ok(())
}
