//! The hand-off between a source and the delivery stream, with acknowledgement.

use async_trait::async_trait;

use crate::envelope::LakeRecord;

/// Why a sink did not accept records. The caller must treat them as not delivered:
/// keep its checkpoint where it was, and fetch again later.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The sink is full (spool at its bound): pause and try again later.
    #[error("back-pressure: {0}")]
    Backpressure(String),
    /// The sink is closed (shutting down).
    #[error("sink closed")]
    Closed,
    /// Anything else: the cause is the error's `source()`.
    #[error("sink failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl SinkError {
    /// [`SinkError::Failed`] with `cause` as its source.
    pub fn failed(cause: impl std::error::Error + Send + Sync + 'static) -> SinkError {
        SinkError::Failed(Box::new(cause))
    }
}

/// Where sources put records. `accept` returns only once the records are durable (in
/// the fsync'd spool or in the lake), which is the moment a source may move its
/// checkpoint past them: that ordering is what makes ingestion at-least-once.
#[async_trait]
pub trait RecordSink: Send + Sync {
    /// Accepts records durably, or refuses them all.
    async fn accept(&self, records: Vec<LakeRecord>) -> Result<(), SinkError>;
}

/// Collects records in memory; for tests of sources.
#[derive(Debug, Default)]
pub struct MemorySink {
    records: std::sync::Mutex<Vec<LakeRecord>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything accepted so far.
    pub fn records(&self) -> Vec<LakeRecord> {
        self.records.lock().expect("sink lock poisoned").clone()
    }
}

#[async_trait]
impl RecordSink for MemorySink {
    async fn accept(&self, records: Vec<LakeRecord>) -> Result<(), SinkError> {
        self.records
            .lock()
            .expect("sink lock poisoned")
            .extend(records);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_sink_keeps_its_cause_as_the_source_not_in_its_message() {
        let err = SinkError::failed(std::io::Error::other("spool disk full"));
        assert_eq!(err.to_string(), "sink failed");
        let cause = std::error::Error::source(&err).unwrap();
        assert!(cause.is::<std::io::Error>());
        assert_eq!(
            crate::ErrorChain(&err).to_string(),
            "sink failed: spool disk full"
        );
    }
}
