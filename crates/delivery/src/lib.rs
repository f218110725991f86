//! A delivery stream with Amazon Kinesis Data Firehose semantics, onto the lake.
//!
//! Records are acknowledged only once they are in an fsync'd local spool; they are
//! buffered per destination prefix and flushed as one newline-delimited, compressed
//! object when the buffer reaches its size or its interval, whichever comes first. Object
//! names sort by time and never collide: `<prefix>/<yyyy/MM/dd/HH>/<stream>-<seq>-<time>-<uuid>.ndjson.gz`.
//! A failed write is retried (records stay in the spool) for `retry_duration_secs`; then
//! its records go under the error-output prefix with the reason. After a crash, reopening
//! the stream replays the spool.
//!
//! Guarantee: at-least-once into the lake. A crash between an object write and the spool
//! confirmation replays those records again; their stable `record_id`s let processing
//! remove the duplicates.

use std::collections::BTreeMap;
use std::io::Write;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use pricelake_core::metrics::names;
use pricelake_core::{DeadLetter, LakeRecord, Metrics, RecordSink, SharedClock, SinkError};
use pricelake_lake::Lake;
use serde::Serialize;
use tokio::sync::Mutex;

mod config;
pub mod firehose;
mod spool;

pub use config::{Compression, DeliveryConfig};
pub use spool::ReplayReport;

/// What can go wrong in delivery.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A configuration value is out of range.
    #[error("{0}")]
    Config(String),
    /// The local spool cannot be read or written.
    #[error("spool: {0}")]
    Spool(String),
    /// A spooled record is not a valid record.
    #[error("spooled record unreadable: {0}")]
    Record(String),
    /// Some buffers could not be written; their records stay in the spool and are retried.
    #[error("{failed} buffer(s) not delivered yet: {last}")]
    NotDelivered {
        /// How many buffers failed.
        failed: usize,
        /// The last error.
        last: String,
    },
}

/// Counts of the stream, for `status` and tests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeliveryStats {
    /// Records accepted (acknowledged to sources).
    pub received: u64,
    /// Records written to the lake.
    pub delivered: u64,
    /// Failed object writes that will be retried.
    pub retried: u64,
    /// Records written under the error-output prefix after the retry duration.
    pub dead_lettered: u64,
    /// Bytes in the spool not yet confirmed in the lake.
    pub spool_bytes: u64,
    /// Seconds since the oldest record not yet in the lake arrived.
    pub oldest_unflushed_age_secs: i64,
    /// Objects written.
    pub objects_written: u64,
    /// What the last replay found.
    pub replayed: u64,
    /// Spool segments whose corrupt tail was quarantined at open.
    pub quarantined_segments: u64,
}

/// What a flush did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FlushReport {
    /// Objects written.
    pub objects: u64,
    /// Records in them.
    pub records: u64,
}

/// Records waiting for one destination prefix.
struct Buffer {
    lines: Vec<u8>,
    records: u64,
    /// When the oldest record arrived (by the clock): drives the interval.
    arrived: DateTime<Utc>,
    /// The oldest record's event time: names the time partition, like Firehose.
    oldest_event: DateTime<Utc>,
    /// Spool segments the records came from, and how many from each.
    segments: BTreeMap<u64, u64>,
    /// Since when writes of this buffer fail.
    failing_since: Option<DateTime<Utc>>,
    /// Not before this instant is the next attempt.
    retry_at: Option<DateTime<Utc>>,
    attempts: u32,
}

struct Inner {
    spool: spool::Spool,
    buffers: BTreeMap<String, Buffer>,
    seq: u64,
    stats: DeliveryStats,
}

/// The delivery stream.
pub struct DeliveryStream {
    config: DeliveryConfig,
    lake: Lake,
    clock: SharedClock,
    metrics: Metrics,
    inner: Mutex<Inner>,
}

impl DeliveryStream {
    /// Opens the stream, replaying whatever the spool still holds from an earlier run.
    pub async fn open(
        config: DeliveryConfig,
        lake: Lake,
        clock: SharedClock,
        metrics: Metrics,
    ) -> Result<Self, DeliveryError> {
        config.validate()?;
        let seq = read_seq(&config);
        let now = clock.now();
        let dir = config.spool_dir.clone();
        let (spool, report, segments) = {
            let dir = dir.clone();
            let fsync = config.fsync;
            tokio::task::spawn_blocking(move || spool::Spool::open(&dir, fsync))
                .await
                .map_err(|e| DeliveryError::Spool(e.to_string()))??
        };
        if report.quarantined_segments > 0 {
            metrics.add(
                "pricelake_spool_quarantined_segments_total",
                &[],
                report.quarantined_segments,
            );
        }
        let stream = Self {
            config,
            lake,
            clock,
            metrics,
            inner: Mutex::new(Inner {
                spool,
                buffers: BTreeMap::new(),
                seq,
                stats: DeliveryStats {
                    replayed: report.records,
                    quarantined_segments: report.quarantined_segments,
                    ..DeliveryStats::default()
                },
            }),
        };
        if !segments.is_empty() {
            tracing::info!(
                records = report.records,
                segments = segments.len(),
                "replaying the delivery spool"
            );
        }
        // Streamed segment by segment, frame by frame: memory stays bounded by the
        // buffers (each flushed when full), whatever the spool's size.
        for segment in segments {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(256);
            let path = spool::segment_path(&dir, segment);
            let reader = tokio::task::spawn_blocking(move || {
                spool::replay_segment(&path, &mut |bytes| {
                    tx.blocking_send(bytes)
                        .map_err(|_| DeliveryError::Spool("replay was abandoned".into()))
                })
            });
            while let Some(bytes) = rx.recv().await {
                let record: LakeRecord = serde_json::from_slice(&bytes)
                    .map_err(|e| DeliveryError::Record(e.to_string()))?;
                let mut inner = stream.inner.lock().await;
                stream.buffer(&mut inner, &record, bytes, segment, now);
                stream.flush_full(&mut inner).await;
            }
            reader
                .await
                .map_err(|e| DeliveryError::Spool(e.to_string()))??;
        }
        Ok(stream)
    }

    fn buffer(
        &self,
        inner: &mut Inner,
        record: &LakeRecord,
        mut line: Vec<u8>,
        segment: u64,
        now: DateTime<Utc>,
    ) {
        let buffer = inner
            .buffers
            .entry(record.lake_prefix())
            .or_insert_with(|| Buffer {
                lines: Vec::new(),
                records: 0,
                arrived: now,
                oldest_event: record.event_time(),
                segments: BTreeMap::new(),
                failing_since: None,
                retry_at: None,
                attempts: 0,
            });
        line.push(b'\n');
        buffer.lines.extend_from_slice(&line);
        buffer.records += 1;
        buffer.oldest_event = buffer.oldest_event.min(record.event_time());
        *buffer.segments.entry(segment).or_default() += 1;
    }

    fn size_limit(&self) -> usize {
        self.config.buffer_size_mib as usize * 1024 * 1024
    }

    /// Flushes buffers over the size limit (no retry wait).
    async fn flush_full(&self, inner: &mut Inner) {
        let full: Vec<String> = inner
            .buffers
            .iter()
            .filter(|(_, b)| {
                b.lines.len() >= self.size_limit()
                    && b.retry_at.is_none_or(|t| t <= self.clock.now())
            })
            .map(|(k, _)| k.clone())
            .collect();
        for prefix in full {
            let _ = self.flush_one(inner, &prefix).await;
        }
    }

    /// The earliest instant a buffer's interval expires or a retry is due.
    pub fn next_flush_due(&self) -> Option<DateTime<Utc>> {
        let inner = self.inner.try_lock().ok()?;
        inner
            .buffers
            .values()
            .map(|b| {
                b.retry_at.unwrap_or(
                    b.arrived + Duration::seconds(self.config.buffer_interval_secs as i64),
                )
            })
            .min()
    }

    /// Flushes every buffer whose interval expired (or whose retry is due).
    pub async fn flush_due(&self) -> Result<FlushReport, DeliveryError> {
        let now = self.clock.now();
        let interval = Duration::seconds(self.config.buffer_interval_secs as i64);
        let mut inner = self.inner.lock().await;
        let due: Vec<String> = inner
            .buffers
            .iter()
            .filter(|(_, b)| match b.retry_at {
                Some(t) => t <= now,
                None => b.arrived + interval <= now || b.lines.len() >= self.size_limit(),
            })
            .map(|(k, _)| k.clone())
            .collect();
        self.flush_many(&mut inner, due).await
    }

    /// Flushes every buffer now (shutdown, end of a run), without waiting for retries.
    pub async fn flush_all(&self) -> Result<FlushReport, DeliveryError> {
        let mut inner = self.inner.lock().await;
        let all: Vec<String> = inner.buffers.keys().cloned().collect();
        self.flush_many(&mut inner, all).await
    }

    /// Flushes everything and closes the stream. Records that could not be written stay
    /// in the spool for the next open.
    pub async fn close(self) -> Result<FlushReport, DeliveryError> {
        self.flush_all().await
    }

    async fn flush_many(
        &self,
        inner: &mut Inner,
        prefixes: Vec<String>,
    ) -> Result<FlushReport, DeliveryError> {
        let mut report = FlushReport::default();
        let mut failed = 0;
        let mut last = String::new();
        for prefix in prefixes {
            match self.flush_one(inner, &prefix).await {
                Ok(Some(r)) => {
                    report.objects += 1;
                    report.records += r;
                }
                Ok(None) => {}
                Err(e) => {
                    failed += 1;
                    last = e;
                }
            }
        }
        self.update_gauges(inner);
        if failed > 0 {
            return Err(DeliveryError::NotDelivered { failed, last });
        }
        Ok(report)
    }

    /// Writes one buffer as one object. Ok(Some(records)) when written.
    async fn flush_one(&self, inner: &mut Inner, prefix: &str) -> Result<Option<u64>, String> {
        let Some(buffer) = inner.buffers.get(prefix) else {
            return Ok(None);
        };
        if buffer.records == 0 {
            inner.buffers.remove(prefix);
            return Ok(None);
        }
        let now = self.clock.now();
        let body = compress(self.config.compression, &buffer.lines).map_err(|e| e.to_string())?;
        let seq = inner.seq + 1;
        let key = format!(
            "{prefix}/{}{}-{seq:010}-{}-{}.{}",
            self.config.expand_prefix(buffer.oldest_event),
            self.config.stream_name,
            buffer.oldest_event.format("%Y%m%dT%H%M%SZ"),
            uuid::Uuid::new_v4(),
            self.config.compression.extension()
        );
        let size = body.len() as u64;
        match self.lake.put(&key, Bytes::from(body)).await {
            Ok(()) => {
                inner.seq = seq;
                write_seq(&self.config, seq);
                let buffer = inner.buffers.remove(prefix).expect("buffer present");
                for (segment, n) in &buffer.segments {
                    if let Err(e) = inner.spool.confirm(*segment, *n) {
                        tracing::warn!(error = %e, "spool segment not released; it will be replayed (duplicates are removed downstream)");
                    }
                }
                inner.stats.delivered += buffer.records;
                inner.stats.objects_written += 1;
                self.metrics.add(
                    names::RECORDS_DELIVERED,
                    &[("component", "delivery")],
                    buffer.records,
                );
                self.metrics
                    .incr(names::OBJECTS_WRITTEN, &[("component", "delivery")]);
                self.metrics
                    .add(names::BYTES_WRITTEN, &[("component", "delivery")], size);
                Ok(Some(buffer.records))
            }
            Err(e) => {
                let message = e.to_string();
                inner.stats.retried += 1;
                self.metrics
                    .incr(names::RETRIES, &[("component", "delivery")]);
                let expired = {
                    let buffer = inner.buffers.get_mut(prefix).expect("buffer present");
                    let since = *buffer.failing_since.get_or_insert(now);
                    buffer.attempts += 1;
                    let backoff =
                        Duration::milliseconds((500i64 << buffer.attempts.min(10)).min(300_000));
                    buffer.retry_at = Some(now + backoff);
                    now - since >= Duration::seconds(self.config.retry_duration_secs as i64)
                };
                tracing::warn!(prefix, error = %message, "object write failed; records stay in the spool and are retried");
                if expired {
                    self.to_error_output(inner, prefix, &message).await;
                }
                Err(message)
            }
        }
    }

    /// After the retry duration: the buffer's records go under the error-output prefix
    /// as dead letters with the reason. If even that fails they stay in the spool.
    async fn to_error_output(&self, inner: &mut Inner, prefix: &str, reason: &str) {
        let Some(buffer) = inner.buffers.get(prefix) else {
            return;
        };
        let now = self.clock.now();
        let mut lines = Vec::new();
        for line in buffer
            .lines
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let dead = match serde_json::from_slice::<LakeRecord>(line) {
                Ok(LakeRecord::Raw(envelope)) => DeadLetter::from_envelope(
                    &envelope,
                    "delivery",
                    "retry_duration_exceeded",
                    reason.to_string(),
                ),
                Ok(LakeRecord::DeadLetter(mut d)) => {
                    d.detail = format!(
                        "{} (then: delivery retry duration exceeded: {reason})",
                        d.detail
                    );
                    d
                }
                Err(e) => DeadLetter {
                    stage: "delivery".into(),
                    reason: "unreadable_spooled_record".into(),
                    detail: e.to_string(),
                    record_id: String::new(),
                    source: String::new(),
                    endpoint: String::new(),
                    fetched_at: now,
                    request_url: String::new(),
                    http_status: None,
                    raw: String::from_utf8_lossy(line).into_owned(),
                },
            };
            if let Ok(mut text) = serde_json::to_vec(&LakeRecord::DeadLetter(dead)) {
                text.push(b'\n');
                lines.extend_from_slice(&text);
            }
        }
        let Ok(body) = compress(self.config.compression, &lines) else {
            return;
        };
        let key = format!(
            "{}delivery/retry_duration_exceeded/{}{}-{}.{}",
            self.config.error_output_prefix,
            self.config.expand_prefix(now),
            self.config.stream_name,
            uuid::Uuid::new_v4(),
            self.config.compression.extension()
        );
        if self.lake.put(&key, Bytes::from(body)).await.is_ok() {
            let buffer = inner.buffers.remove(prefix).expect("buffer present");
            for (segment, n) in &buffer.segments {
                let _ = inner.spool.confirm(*segment, *n);
            }
            inner.stats.dead_lettered += buffer.records;
            self.metrics.add(
                names::DEAD_LETTERS,
                &[("reason", "retry_duration_exceeded")],
                buffer.records,
            );
        }
    }

    fn update_gauges(&self, inner: &mut Inner) {
        inner.stats.spool_bytes = inner.spool.bytes();
        let now = self.clock.now();
        inner.stats.oldest_unflushed_age_secs = inner
            .buffers
            .values()
            .map(|b| (now - b.arrived).num_seconds())
            .max()
            .unwrap_or(0);
        self.metrics
            .set_gauge(names::SPOOL_BYTES, &[], inner.stats.spool_bytes as f64);
        self.metrics.set_gauge(
            names::OLDEST_UNFLUSHED_SECONDS,
            &[],
            inner.stats.oldest_unflushed_age_secs as f64,
        );
    }

    /// The stream's counts.
    pub async fn stats(&self) -> DeliveryStats {
        let mut inner = self.inner.lock().await;
        self.update_gauges(&mut inner);
        inner.stats.clone()
    }
}

#[async_trait]
impl RecordSink for DeliveryStream {
    async fn accept(&self, records: Vec<LakeRecord>) -> Result<(), SinkError> {
        if records.is_empty() {
            return Ok(());
        }
        let lines: Vec<Vec<u8>> = records
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<_, _>>()
            .map_err(|e| SinkError::Failed(e.to_string()))?;
        let mut inner = self.inner.lock().await;
        if inner.spool.bytes() >= self.config.spool_max_bytes {
            return Err(SinkError::Backpressure(format!(
                "spool holds {} bytes, bound {}: the store is not keeping up",
                inner.spool.bytes(),
                self.config.spool_max_bytes
            )));
        }
        let segment = inner
            .spool
            .append(&lines)
            .map_err(|e| SinkError::Failed(e.to_string()))?;
        let now = self.clock.now();
        inner.stats.received += records.len() as u64;
        self.metrics.add(
            names::RECORDS_RECEIVED,
            &[("component", "delivery")],
            records.len() as u64,
        );
        for (record, line) in records.iter().zip(lines) {
            self.buffer(&mut inner, record, line, segment, now);
        }
        self.flush_full(&mut inner).await;
        self.update_gauges(&mut inner);
        Ok(())
    }
}

fn compress(compression: Compression, lines: &[u8]) -> std::io::Result<Vec<u8>> {
    match compression {
        Compression::None => Ok(lines.to_vec()),
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(lines.len() / 4),
                flate2::Compression::fast(),
            );
            encoder.write_all(lines)?;
            encoder.finish()
        }
        Compression::Zstd => zstd::bulk::compress(lines, 1),
    }
}

fn seq_path(config: &DeliveryConfig) -> std::path::PathBuf {
    config.spool_dir.join("seq")
}

fn read_seq(config: &DeliveryConfig) -> u64 {
    std::fs::read_to_string(seq_path(config))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn write_seq(config: &DeliveryConfig, seq: u64) {
    // Not fsync'd: after a crash names may repeat a sequence number, never a uuid.
    let _ = std::fs::write(seq_path(config), seq.to_string());
}

#[cfg(test)]
mod tests;
