//! `pricelake cluster`: a Ballista scheduler or executor from this binary.

use pricelake_transform::cluster::{run_executor, run_scheduler, ExecutorOptions};

use crate::cli::{ClusterArgs, ClusterRole};

/// Runs the chosen half until the process is stopped.
pub async fn run(args: ClusterArgs) -> anyhow::Result<()> {
    match args.role {
        ClusterRole::Scheduler { bind } => {
            eprintln!("ballista scheduler on {bind}");
            run_scheduler(bind).await?;
        }
        ClusterRole::Executor {
            scheduler,
            bind,
            grpc_port,
            work_dir,
            concurrent_tasks,
        } => {
            eprintln!("ballista executor on {bind} for scheduler {scheduler}");
            run_executor(ExecutorOptions {
                scheduler,
                bind,
                grpc_port,
                work_dir,
                concurrent_tasks,
            })
            .await?;
        }
    }
    Ok(())
}
