//! Where the plans run: embedded DataFusion, or an Apache Ballista cluster.
//!
//! Every mart is a SQL file planned against file-backed tables (Parquet listings), so the
//! same logical plans can be shipped to a Ballista scheduler unchanged; only the
//! `SessionContext` differs. Results come back to this process, which writes the mart
//! files and commits the run, so atomicity does not depend on the engine.

use std::str::FromStr;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::execution::context::SessionContext;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionConfig;

use crate::error::TransformError;

/// Where the plans run.
#[derive(Debug, Clone, PartialEq)]
pub enum Engine {
    /// Embedded DataFusion: one process, every core (the default).
    Local,
    /// A Ballista scheduler and executor started inside this process on free ports: the
    /// distributed code path (serialised plans, shuffles over Arrow Flight) without a
    /// cluster to run.
    BallistaStandalone,
    /// An Apache Ballista scheduler at `ballista://host:port` (see `pricelake cluster`).
    Ballista(String),
}

impl FromStr for Engine {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local" => Ok(Engine::Local),
            "ballista-standalone" => Ok(Engine::BallistaStandalone),
            _ => match s.strip_prefix("ballista://") {
                Some(rest) if rest.contains(':') && !rest.starts_with(':') => {
                    Ok(Engine::Ballista(s.to_string()))
                }
                Some(_) => {
                    Err("ballista:// needs host:port, e.g. ballista://127.0.0.1:50050".into())
                }
                None => {
                    Err("expected `local`, `ballista-standalone` or `ballista://host:port`".into())
                }
            },
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Local => f.write_str("local"),
            Engine::BallistaStandalone => f.write_str("ballista-standalone"),
            Engine::Ballista(url) => f.write_str(url),
        }
    }
}

impl Engine {
    /// This engine cannot run the plans: `problem` says why and what to do.
    pub(crate) fn unavailable(
        &self,
        problem: &str,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> TransformError {
        TransformError::EngineUnavailable {
            engine: self.to_string(),
            problem: problem.to_string(),
            source,
        }
    }

    /// A session for this engine with `config`'s options (Ballista's own options added).
    /// Locally, `memory_limit_bytes` (when not 0) bounds what queries hold: sorts, joins and
    /// aggregations spill to temporary files beyond it instead of growing without bound.
    pub(crate) async fn context(
        &self,
        config: SessionConfig,
        memory_limit_bytes: usize,
    ) -> Result<SessionContext, TransformError> {
        let unavailable = |e: datafusion::error::DataFusionError| {
            self.unavailable("cannot start a session", Some(Box::new(e)))
        };
        match self {
            Engine::Local if memory_limit_bytes > 0 => {
                let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
                    .with_memory_pool(Arc::new(
                        datafusion::execution::memory_pool::FairSpillPool::new(memory_limit_bytes),
                    ))
                    .build_arc()
                    .map_err(unavailable)?;
                Ok(SessionContext::new_with_config_rt(config, runtime))
            }
            Engine::Local => Ok(SessionContext::new_with_config(config)),
            Engine::BallistaStandalone => {
                let state = SessionStateBuilder::new()
                    .with_config(config.upgrade_for_ballista())
                    .with_default_features()
                    .build();
                SessionContext::standalone_with_state(state)
                    .await
                    .map_err(unavailable)
            }
            Engine::Ballista(url) => {
                // The scheduler must answer before the run writes anything: a wrong address
                // fails here, in seconds, with the address in the message.
                let addr = url.trim_start_matches("ballista://");
                let reached = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    tokio::net::TcpStream::connect(addr),
                )
                .await;
                match reached {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        return Err(self.unavailable(
                            "cannot reach the Ballista scheduler (is `pricelake cluster scheduler` running there?)",
                            Some(Box::new(e)),
                        ))
                    }
                    Err(_) => {
                        return Err(
                            self.unavailable("the Ballista scheduler did not answer in 10 s", None)
                        )
                    }
                }
                let state = SessionStateBuilder::new()
                    .with_config(config.upgrade_for_ballista())
                    .with_default_features()
                    .build();
                let df_url = url.replacen("ballista://", "df://", 1);
                let ctx = SessionContext::remote_with_state(&df_url, state)
                    .await
                    .map_err(unavailable)?;
                Ok(ctx)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_parse_from_their_command_line_spelling() {
        assert_eq!("local".parse::<Engine>(), Ok(Engine::Local));
        assert_eq!(
            "ballista-standalone".parse::<Engine>(),
            Ok(Engine::BallistaStandalone)
        );
        assert_eq!(
            "ballista://127.0.0.1:50050".parse::<Engine>(),
            Ok(Engine::Ballista("ballista://127.0.0.1:50050".into()))
        );
        for bad in ["ballista://", "ballista://:1", "spark://x:1", ""] {
            assert!(bad.parse::<Engine>().is_err(), "{bad} accepted");
        }
    }
}
