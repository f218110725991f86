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
            .map_err(|e| SourceError::Checkpoint(e.to_string()))
    }

    async fn save(&self, key: &str, value: &Value) -> Result<(), SourceError> {
        self.0
            .put_json(
                &pricelake_core::layout::state(&format!("source-{key}")),
                value,
            )
            .await
            .map_err(|e| SourceError::Checkpoint(e.to_string()))
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
