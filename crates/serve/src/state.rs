//! What every request handler shares: the lake, the config, the metrics, the token and the
//! marts of the current run, swapped whole when a newer run commits or is published.

use std::sync::{Arc, RwLock};

use pricelake_core::{Metrics, Secret};
use pricelake_lake::Lake;

use crate::http_cache;
use crate::origin::{LakeMarts, MartOrigin, MongoMarts};
use crate::store::MartStore;
use crate::{ServeConfig, ServeError};

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct ServeState {
    pub(crate) lake: Lake,
    pub(crate) config: Arc<ServeConfig>,
    pub(crate) metrics: Metrics,
    pub(crate) token: Option<Arc<Secret>>,
    store: Arc<RwLock<Arc<MartStore>>>,
    /// Where the marts come from: the lake, or MongoDB.
    origin: Arc<dyn MartOrigin>,
    /// Finished answers of the current lake-backed run; `None` with MongoDB or a 0 budget.
    pub(crate) cache: Option<Arc<http_cache::ResponseCache>>,
}

impl ServeState {
    /// Loads the current marts.
    pub async fn new(
        lake: Lake,
        config: ServeConfig,
        metrics: Metrics,
        token: Option<Secret>,
    ) -> Result<Self, ServeError> {
        let budget = usize::try_from(config.response_cache_mib.saturating_mul(1 << 20))
            .unwrap_or(usize::MAX);
        let cache = (budget > 0).then(|| Arc::new(http_cache::ResponseCache::new(budget)));
        let origin = Arc::new(LakeMarts(lake.clone()));
        Self::with_origin(lake, origin, config, metrics, token, cache).await
    }

    /// Serves the marts published to MongoDB (`db`) instead of the lake's; the lake still
    /// holds the status documents `/health` reads. No answer cache: others may change the
    /// collections between publishes.
    pub async fn from_mongo(
        lake: Lake,
        db: mongodb::Database,
        config: ServeConfig,
        metrics: Metrics,
        token: Option<Secret>,
    ) -> Result<Self, ServeError> {
        let origin = Arc::new(MongoMarts(db));
        Self::with_origin(lake, origin, config, metrics, token, None).await
    }

    /// A state serving the current marts of `origin`.
    async fn with_origin(
        lake: Lake,
        origin: Arc<dyn MartOrigin>,
        config: ServeConfig,
        metrics: Metrics,
        token: Option<Secret>,
        cache: Option<Arc<http_cache::ResponseCache>>,
    ) -> Result<Self, ServeError> {
        let store = origin.load().await?;
        Ok(Self {
            lake,
            config: Arc::new(config),
            metrics,
            token: token.map(Arc::new),
            store: Arc::new(RwLock::new(Arc::new(store))),
            origin,
            cache,
        })
    }

    /// The marts requests see now.
    pub fn store(&self) -> Arc<MartStore> {
        self.store.read().expect("store lock poisoned").clone()
    }

    /// Loads a newer run if one committed; true when the store changed.
    pub async fn refresh(&self) -> Result<bool, ServeError> {
        let newest = self.origin.current_run().await?;
        if newest.is_none() || newest.as_deref() == self.store().run_id() {
            return Ok(false);
        }
        let fresh = self.origin.load().await?;
        tracing::info!(
            run_id = fresh.run_id().unwrap_or("-"),
            "serving marts of a new run"
        );
        *self.store.write().expect("store lock poisoned") = Arc::new(fresh);
        if let Some(cache) = &self.cache {
            cache.invalidate();
        }
        Ok(true)
    }
}

#[cfg(test)]
impl ServeState {
    /// A state serving `store` from memory (an in-memory lake, no token, no answer cache):
    /// what handler tests call handlers with.
    pub(crate) fn in_memory(store: MartStore) -> ServeState {
        let lake = Lake::open(&pricelake_lake::LakeConfig {
            url: "memory://".into(),
            ..Default::default()
        })
        .expect("an in-memory lake");
        ServeState {
            origin: Arc::new(LakeMarts(lake.clone())),
            lake,
            config: Arc::new(ServeConfig::default()),
            metrics: Metrics::default(),
            token: None,
            store: Arc::new(RwLock::new(Arc::new(store))),
            cache: None,
        }
    }
}
