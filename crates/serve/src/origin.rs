//! Where the served marts come from: the lake's newest committed run, or the run last
//! published whole to MongoDB. One trait with two implementations, so the state asks the same
//! two questions of either (which run is current; load it) and refreshes the same way.

use async_trait::async_trait;
use pricelake_lake::manifest::{AsOf, Manifest};
use pricelake_lake::Lake;

use crate::store::{self, MartStore};
use crate::ServeError;

/// A place the marts of a run are read from.
#[async_trait]
pub trait MartOrigin: Send + Sync {
    /// The run whose marts would be served now; `None` while there is none.
    async fn current_run(&self) -> Result<Option<String>, ServeError>;

    /// The marts of the current run (an empty store when there is none).
    async fn load(&self) -> Result<MartStore, ServeError>;

    /// The run in force at `at` (for `?as_of=`); `None` when none had committed by then.
    /// Only the lake keeps earlier runs.
    async fn run_as_of(&self, _at: &AsOf) -> Result<Option<Manifest>, ServeError> {
        Err(ServeError::NoHistory)
    }

    /// The marts as `manifest`'s run left them.
    async fn load_run(&self, _manifest: &Manifest) -> Result<MartStore, ServeError> {
        Err(ServeError::NoHistory)
    }
}

/// The lake: the run the newest manifest names.
pub struct LakeMarts(pub Lake);

#[async_trait]
impl MartOrigin for LakeMarts {
    async fn current_run(&self) -> Result<Option<String>, ServeError> {
        store::newest_run_id(&self.0).await
    }

    async fn load(&self) -> Result<MartStore, ServeError> {
        MartStore::load(&self.0).await
    }

    async fn run_as_of(&self, at: &AsOf) -> Result<Option<Manifest>, ServeError> {
        Ok(pricelake_lake::manifest::as_of(&self.0, at).await?)
    }

    async fn load_run(&self, manifest: &Manifest) -> Result<MartStore, ServeError> {
        MartStore::load_run(&self.0, manifest).await
    }
}

/// The lake as one earlier run left it (`serve --as-of`): that run stays current.
pub struct PinnedLakeMarts {
    /// The lake.
    pub lake: Lake,
    /// The run served.
    pub run: Manifest,
}

#[async_trait]
impl MartOrigin for PinnedLakeMarts {
    async fn current_run(&self) -> Result<Option<String>, ServeError> {
        Ok(Some(self.run.run_id.clone()))
    }

    async fn load(&self) -> Result<MartStore, ServeError> {
        MartStore::load_run(&self.lake, &self.run).await
    }

    async fn run_as_of(&self, at: &AsOf) -> Result<Option<Manifest>, ServeError> {
        Ok(pricelake_lake::manifest::as_of(&self.lake, at).await?)
    }

    async fn load_run(&self, manifest: &Manifest) -> Result<MartStore, ServeError> {
        MartStore::load_run(&self.lake, manifest).await
    }
}

/// MongoDB: the run every mart's watermark names, or the last one published whole.
pub struct MongoMarts(pub mongodb::Database);

#[async_trait]
impl MartOrigin for MongoMarts {
    async fn current_run(&self) -> Result<Option<String>, ServeError> {
        Ok(store::published_run(&self.0).await?.map(|r| r.run_id))
    }

    async fn load(&self) -> Result<MartStore, ServeError> {
        MartStore::load_from_mongo(&self.0).await
    }
}

#[cfg(test)]
mod tests {
    use pricelake_lake::manifest::{commit, Manifest};

    use super::*;

    #[tokio::test]
    async fn the_lake_has_no_current_run_until_one_commits_then_serves_it() {
        let lake = Lake::open(&pricelake_lake::LakeConfig {
            url: "memory://".into(),
            ..Default::default()
        })
        .unwrap();
        let origin: Box<dyn MartOrigin> = Box::new(LakeMarts(lake.clone()));
        assert_eq!(origin.current_run().await.unwrap(), None);
        assert_eq!(origin.load().await.unwrap().run_id(), None);
        let manifest = Manifest {
            run_id: "20261207T000000Z-00000001".into(),
            delta: true,
            ..Manifest::default()
        };
        commit(&lake, &manifest).await.unwrap();
        assert_eq!(
            origin.current_run().await.unwrap().as_deref(),
            Some("20261207T000000Z-00000001")
        );
        assert_eq!(
            origin.load().await.unwrap().run_id(),
            Some("20261207T000000Z-00000001")
        );
    }
}
