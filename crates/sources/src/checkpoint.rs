//! Where sources keep their place: written only after delivery acknowledged the records.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value;

use crate::SourceError;

/// Durable key-value storage for source checkpoints.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// The last saved checkpoint of `key`.
    async fn load(&self, key: &str) -> Result<Option<Value>, SourceError>;
    /// Saves `key`'s checkpoint atomically.
    async fn save(&self, key: &str, value: &Value) -> Result<(), SourceError>;
}

/// Checkpoints as JSON documents under the lake's `_state/`, next to the data they describe.
pub struct LakeCheckpoints(pub pricelake_lake::Lake);

#[async_trait]
impl CheckpointStore for LakeCheckpoints {
    async fn load(&self, key: &str) -> Result<Option<Value>, SourceError> {
        self.0
            .get_json(&pricelake_core::layout::state(&format!("source-{key}")))
            .await
            .map_err(|source| SourceError::LoadCheckpoint {
                key: key.to_string(),
                source,
            })
    }

    async fn save(&self, key: &str, value: &Value) -> Result<(), SourceError> {
        self.0
            .put_json(
                &pricelake_core::layout::state(&format!("source-{key}")),
                value,
            )
            .await
            .map_err(|source| SourceError::SaveCheckpoint {
                key: key.to_string(),
                source,
            })
    }
}

/// In-memory checkpoints, for tests.
#[derive(Debug, Default)]
pub struct MemoryCheckpoints {
    values: Mutex<HashMap<String, Value>>,
}

#[async_trait]
impl CheckpointStore for MemoryCheckpoints {
    async fn load(&self, key: &str) -> Result<Option<Value>, SourceError> {
        Ok(self
            .values
            .lock()
            .expect("checkpoints poisoned")
            .get(key)
            .cloned())
    }

    async fn save(&self, key: &str, value: &Value) -> Result<(), SourceError> {
        self.values
            .lock()
            .expect("checkpoints poisoned")
            .insert(key.to_string(), value.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[tokio::test]
    async fn a_checkpoint_the_lake_refuses_is_named_with_the_lake_error_as_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        let lake = pricelake_lake::Lake::open(&pricelake_lake::LakeConfig {
            url: dir.path().join("lake").to_string_lossy().to_string(),
            ..pricelake_lake::LakeConfig::default()
        })
        .unwrap();
        // A file where the state folder must go: every save fails.
        lake.put(pricelake_core::layout::STATE, "not a folder".into())
            .await
            .unwrap();
        let err = LakeCheckpoints(lake)
            .save("walmart", &serde_json::json!({"slots": []}))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "saving the checkpoint walmart");
        let cause = err.source().expect("the lake's error is the cause");
        assert!(cause.is::<pricelake_lake::LakeError>(), "{cause:?}");
        assert!(!err.is_config(), "a store failure is not the user's config");
    }
}
