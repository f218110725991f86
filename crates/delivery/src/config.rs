//! The `[delivery]` section: Kinesis Data Firehose's buffering hints and more.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::DeliveryError;

/// How objects are compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// gzip (`.ndjson.gz`), what Firehose and every reader understand.
    #[default]
    Gzip,
    /// zstd (`.ndjson.zst`): smaller and faster than gzip; DuckDB, Spark and pandas read it.
    Zstd,
    /// No compression (`.ndjson`).
    None,
}

impl Compression {
    /// File extension of an object.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Gzip => "ndjson.gz",
            Compression::Zstd => "ndjson.zst",
            Compression::None => "ndjson",
        }
    }
}

/// `[delivery]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Name of the stream, the first part of every object name.
    pub stream_name: String,
    /// Flush a buffer when it holds this many MiB (1 to 128, Firehose's default 5).
    pub buffer_size_mib: u32,
    /// Flush a buffer this many seconds after its oldest record arrived (0 to 900, default 300).
    pub buffer_interval_secs: u64,
    /// Compression of objects.
    pub compression: Compression,
    /// Time namespace after `raw/<source>/<endpoint>/`: `!{timestamp:yyyy/MM/dd/HH}/` by
    /// default, with the oldest record's time; `yyyy MM dd HH mm ss` are understood.
    pub prefix: String,
    /// Prefix (under the lake root) of records that could not be delivered in time.
    pub error_output_prefix: String,
    /// Seconds to keep retrying a failed write before its records go to the error output
    /// (Firehose keeps records 24 h).
    pub retry_duration_secs: u64,
    /// The write-ahead spool on local disk (not in the lake).
    pub spool_dir: PathBuf,
    /// Spool size at which sources are refused (back-pressure) until the store catches up.
    pub spool_max_bytes: u64,
    /// MiB of records held in memory across all buffers (at least `buffer_size_mib`). Past
    /// it, while the store fails, new records are kept in the spool only and streamed back
    /// when the store recovers: memory stays bounded whatever the spool's size.
    pub memory_max_mib: u32,
    /// fsync the spool before acknowledging records (turn off only for benchmarks).
    pub fsync: bool,
    /// `[delivery.firehose]`: when present, flushed buffers go to this Amazon Kinesis Data
    /// Firehose stream (PutRecordBatch) instead of objects in the lake; the spool, the
    /// buffering, the retries and the back-pressure stay the same.
    pub firehose: Option<crate::firehose::FirehoseConfig>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            stream_name: "pricelake".into(),
            buffer_size_mib: 5,
            buffer_interval_secs: 300,
            compression: Compression::Gzip,
            prefix: "!{timestamp:yyyy/MM/dd/HH}/".into(),
            error_output_prefix: "errors/".into(),
            retry_duration_secs: 86_400,
            spool_dir: PathBuf::from(".pricelake/spool"),
            spool_max_bytes: 1 << 30,
            memory_max_mib: 128,
            fsync: true,
            firehose: None,
        }
    }
}

impl DeliveryConfig {
    /// Checks the ranges Firehose enforces, naming the field.
    pub fn validate(&self) -> Result<(), DeliveryError> {
        let bad = |field: &str, message: &str| {
            Err(DeliveryError::Config(format!(
                "delivery.{field}: {message}"
            )))
        };
        if !(1..=128).contains(&self.buffer_size_mib) {
            return bad("buffer_size_mib", "must be between 1 and 128");
        }
        if self.buffer_interval_secs > 900 {
            return bad("buffer_interval_secs", "must be between 0 and 900");
        }
        if self.stream_name.is_empty() || self.stream_name.contains('/') {
            return bad("stream_name", "must be non-empty and contain no '/'");
        }
        if self.memory_max_mib < self.buffer_size_mib || self.memory_max_mib > 4096 {
            return bad(
                "memory_max_mib",
                "must be at least buffer_size_mib and at most 4096",
            );
        }
        if self.spool_max_bytes < 1 << 20 {
            return bad("spool_max_bytes", "must be at least 1 MiB");
        }
        Ok(())
    }

    /// Expands the time namespace for `time`.
    pub fn expand_prefix(&self, time: chrono::DateTime<chrono::Utc>) -> String {
        let mut out = String::new();
        let mut rest = self.prefix.as_str();
        while let Some(start) = rest.find("!{timestamp:") {
            out.push_str(&rest[..start]);
            let after = &rest[start + "!{timestamp:".len()..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let pattern = after[..end]
                .replace("yyyy", "%Y")
                .replace("MM", "%m")
                .replace("dd", "%d")
                .replace("HH", "%H")
                .replace("mm", "%M")
                .replace("ss", "%S");
            out.push_str(&time.format(&pattern).to_string());
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}
