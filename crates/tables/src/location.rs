//! Where a table is, and how delta-rs reaches it: through the lake's own object store (the
//! one the lake was opened with: local folder, S3 with its endpoint and retries, or memory),
//! so that Delta reads and commits go where every other write of the lake goes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once};

use deltalake_core::logstore::{
    default_logstore, logstore_factories, LogStore, LogStoreFactory, ObjectStoreRef, StorageConfig,
};
use deltalake_core::{DeltaResult, DeltaTable, DeltaTableBuilder};
use pricelake_lake::Lake;
use url::Url;

use crate::{TableError, Version};

/// The URL of a lake-relative table folder (`s3://bucket/prefix/marts/prices_fx/`).
pub fn table_url(lake: &Lake, table: &str) -> Result<Url, TableError> {
    let url = lake.table_url(table);
    Url::parse(&url).map_err(|source| TableError::Url { url, source })
}

/// A handle on `table`, its log not read yet.
pub(crate) fn handle(lake: &Lake, table: &str) -> Result<DeltaTable, TableError> {
    register_s3_log_stores();
    let url = table_url(lake, table)?;
    DeltaTableBuilder::from_url(url.clone())
        .and_then(|builder| builder.with_storage_backend(lake.store(), url).build())
        .map_err(TableError::delta(table))
}

/// `table` at `version` (the latest when `None`); `None` when it is not a Delta table (no
/// `_delta_log/`, or no folder at all).
pub(crate) async fn load(
    lake: &Lake,
    table: &str,
    version: Option<Version>,
) -> Result<Option<DeltaTable>, TableError> {
    if !exists(lake, table).await? {
        return Ok(None);
    }
    let mut delta = handle(lake, table)?;
    let loaded = match version {
        None => delta.load().await,
        Some(v) => delta.load_version(v).await,
    };
    match loaded.map_err(TableError::delta(table)) {
        Ok(()) => Ok(Some(delta)),
        Err(TableError::NotATable { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Tables at their latest version, each log read once for a whole process run: the run reads
/// a table's live files, then commits to it, and between the two nobody else may change it
/// (the run holds the lake's process lease). Reading a log costs a replay of its commits since
/// the last checkpoint, once per table rather than twice.
#[derive(Default)]
pub struct LatestTables {
    loaded: Mutex<HashMap<String, DeltaTable>>,
}

impl std::fmt::Debug for LatestTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tables: Vec<String> = self.loaded().keys().cloned().collect();
        f.debug_struct("LatestTables")
            .field("loaded", &tables)
            .finish()
    }
}

impl LatestTables {
    /// `table` at its latest version, read once; `None` when it is not a Delta table.
    pub(crate) async fn get(
        &self,
        lake: &Lake,
        table: &str,
    ) -> Result<Option<DeltaTable>, TableError> {
        if let Some(delta) = self.loaded().get(table) {
            return Ok(Some(delta.clone()));
        }
        let delta = load(lake, table, None).await?;
        if let Some(delta) = &delta {
            self.loaded().insert(table.to_string(), delta.clone());
        }
        Ok(delta)
    }

    /// Forgets `table`: it changed (a commit), and is read again when asked for.
    pub(crate) fn forget(&self, table: &str) {
        self.loaded().remove(table);
    }

    fn loaded(&self) -> std::sync::MutexGuard<'_, HashMap<String, DeltaTable>> {
        // A panic while holding the lock cannot leave the map half-changed.
        self.loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether `table` is a Delta table: its log has its first commit, or a checkpoint (the first
/// commits are removed once a checkpoint covers them). Two small reads rather than a listing
/// of the whole log, which grows by a file per run.
async fn exists(lake: &Lake, table: &str) -> Result<bool, TableError> {
    for marker in ["00000000000000000000.json", "_last_checkpoint"] {
        if lake
            .head(&format!("{table}/_delta_log/{marker}"))
            .await?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// delta-rs knows `file://` and `memory://` log stores; S3's comes with its `s3` feature,
/// which would also build S3 clients of its own. The lake brings its own S3 store, so the
/// plain log store is registered for `s3://`: it commits with a conditional PUT
/// (`If-None-Match`), which S3 and S3-compatible stores honour, so no lock is needed.
fn register_s3_log_stores() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        if let Ok(url) = Url::parse("s3://") {
            logstore_factories().insert(url, Arc::new(PlainLogStores));
        }
    });
}

/// delta-rs's default log store, over whatever store the lake gave.
struct PlainLogStores;

impl LogStoreFactory for PlainLogStores {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}
