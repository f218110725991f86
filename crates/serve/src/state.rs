//! What every request handler shares: the lake, the config, the metrics, the token and the
//! marts of the current run, swapped whole when a newer run commits or is published.

use std::sync::{Arc, Mutex, RwLock};

use pricelake_core::{Metrics, Secret};
use pricelake_lake::manifest::AsOf;
use pricelake_lake::Lake;

use crate::http_cache;
use crate::origin::{LakeMarts, MartOrigin, MongoMarts, PinnedLakeMarts};
use crate::store::MartStore;
use crate::{ServeConfig, ServeError};

/// Earlier runs' marts kept loaded for `?as_of=` requests (a dashboard going back holds one).
const EARLIER_RUNS_KEPT: usize = 2;

tokio::task_local! {
    /// The marts a request asked for with `?as_of=`, for the handlers it runs
    /// ([`ServeState::store`]).
    static AS_OF_STORE: Arc<MartStore>;
}

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
    /// Earlier runs' marts loaded for `?as_of=`, newest request last.
    earlier: Arc<Mutex<Vec<Arc<MartStore>>>>,
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

    /// Serves the lake as the run in force at `at` left it, for good (`serve --as-of`);
    /// `None` when no run had committed by then.
    pub async fn as_of(
        lake: Lake,
        at: &AsOf,
        config: ServeConfig,
        metrics: Metrics,
        token: Option<Secret>,
    ) -> Result<Option<Self>, ServeError> {
        let Some(run) = pricelake_lake::manifest::as_of(&lake, at).await? else {
            return Ok(None);
        };
        let origin = Arc::new(PinnedLakeMarts {
            lake: lake.clone(),
            run,
        });
        Ok(Some(
            Self::with_origin(lake, origin, config, metrics, token, None).await?,
        ))
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
            earlier: Arc::default(),
        })
    }

    /// The marts requests see now: the current run's, or the run a request asked for with
    /// `?as_of=` while it is answered ([`ServeState::answer_as_of`]).
    pub fn store(&self) -> Arc<MartStore> {
        if let Ok(store) = AS_OF_STORE.try_with(Arc::clone) {
            return store;
        }
        self.store.read().expect("store lock poisoned").clone()
    }

    /// Answers `request` from the marts of the run in force at `at` (`?as_of=`); `None` when
    /// no run had committed by then.
    pub(crate) async fn answer_as_of<F: std::future::Future>(
        &self,
        at: &AsOf,
        request: F,
    ) -> Result<Option<F::Output>, ServeError> {
        let Some(run) = self.origin.run_as_of(at).await? else {
            return Ok(None);
        };
        let current = self.store.read().expect("store lock poisoned").clone();
        let store = if current.run_id() == Some(run.run_id.as_str()) {
            current
        } else {
            let kept = self
                .earlier
                .lock()
                .expect("earlier runs lock poisoned")
                .iter()
                .find(|s| s.run_id() == Some(run.run_id.as_str()))
                .cloned();
            match kept {
                Some(store) => store,
                None => {
                    let store = Arc::new(self.origin.load_run(&run).await?);
                    let mut earlier = self.earlier.lock().expect("earlier runs lock poisoned");
                    earlier.push(store.clone());
                    if earlier.len() > EARLIER_RUNS_KEPT {
                        earlier.remove(0);
                    }
                    store
                }
            }
        };
        Ok(Some(AS_OF_STORE.scope(store, request).await))
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
            earlier: Arc::default(),
        }
    }
}
