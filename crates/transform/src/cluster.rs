//! A Ballista cluster from the pricelake binary itself: `pricelake cluster scheduler` and
//! `pricelake cluster executor` start the two halves as ordinary processes, so scaling
//! out needs no second toolchain, image or hand-built cluster (the pain of the EMR
//! original). Both are the Ballista 55 scheduler and executor, linked as libraries.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

/// The session options of every plan: Ballista's, with pricelake's plain string types.
fn session_config() -> datafusion::prelude::SessionConfig {
    use ballista::prelude::SessionConfigExt;
    crate::session::with_plain_types(datafusion::prelude::SessionConfig::new_with_ballista())
}

/// What can stop a cluster process.
#[derive(Debug, thiserror::Error)]
#[error("ballista {role}: {message}")]
pub struct ClusterError {
    /// `scheduler` or `executor`.
    pub role: &'static str,
    /// Ballista's error, as text.
    pub message: String,
}

/// Runs a Ballista scheduler on `bind` until the process is stopped.
pub async fn run_scheduler(bind: SocketAddr) -> Result<(), ClusterError> {
    let err = |e: ballista_core::error::BallistaError| ClusterError {
        role: "scheduler",
        message: e.to_string(),
    };
    let config = SchedulerConfig {
        bind_host: bind.ip().to_string(),
        bind_port: bind.port(),
        external_host: bind.ip().to_string(),
        ..SchedulerConfig::default()
    }
    .with_override_config_producer(Arc::new(session_config));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(err)?;
    start_server(cluster, bind, Arc::new(config))
        .await
        .map_err(err)
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's `host:port`.
    pub scheduler: SocketAddr,
    /// Host and port of the executor's Arrow Flight service (shuffle and results).
    pub bind: SocketAddr,
    /// Port of the executor's gRPC service.
    pub grpc_port: u16,
    /// Where shuffle files go (a temporary folder when `None`).
    pub work_dir: Option<String>,
    /// Tasks run at once; 0 means the number of cores.
    pub concurrent_tasks: usize,
}

/// Runs a Ballista executor until the process is stopped (or the scheduler tells it to).
pub async fn run_executor(options: ExecutorOptions) -> Result<(), ClusterError> {
    let mut config = ExecutorProcessConfig {
        bind_host: options.bind.ip().to_string(),
        external_host: Some(options.bind.ip().to_string()),
        port: options.bind.port(),
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler.ip().to_string(),
        scheduler_port: options.scheduler.port(),
        scheduler_connect_timeout_seconds: 30,
        work_dir: options.work_dir,
        print_thread_info: false,
        override_config_producer: Some(Arc::new(session_config)),
        ..ExecutorProcessConfig::default()
    };
    if options.concurrent_tasks > 0 {
        config.vcores = options.concurrent_tasks;
    }
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| ClusterError {
            role: "executor",
            message: e.to_string(),
        })
}
