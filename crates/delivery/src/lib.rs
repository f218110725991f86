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

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::io::Write;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use pricelake_core::metrics::names;
use pricelake_core::{
    DeadLetter, ErrorChain, LakeRecord, Metrics, RecordSink, SharedClock, SinkError,
};
use pricelake_lake::{Lake, LakeError, StoreError};
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
    /// A file or folder of the local spool cannot be read or written.
    #[error("spool {path}")]
    Spool {
        /// The file or folder.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The spool's files could not be made durable.
    #[error("fsync of the spool")]
    Fsync(#[source] std::io::Error),
    /// A task reading or syncing the spool did not finish (it panicked).
    #[error("spool task did not finish")]
    SpoolTask(#[source] tokio::task::JoinError),
    /// A replay stopped reading a segment midway (its records were no longer wanted).
    #[error("spool: replay was abandoned")]
    ReplayAbandoned,
    /// A spooled record is not a valid record.
    #[error("spooled record unreadable")]
    Record(#[source] serde_json::Error),
    /// A record could not be encoded as JSON.
    #[error("encoding a record")]
    Encode(#[source] serde_json::Error),
    /// Some buffers could not be written; their records stay in the spool and are retried.
    #[error("{failed} buffer(s) not delivered yet")]
    NotDelivered {
        /// How many buffers failed.
        failed: usize,
        /// Why the last of them failed.
        #[source]
        last: WriteError,
    },
}

/// Why one buffer was not written; its records stay in the spool and are retried.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The buffer could not be compressed.
    #[error("compressing the buffer")]
    Compress(#[source] std::io::Error),
    /// The task compressing the buffer did not finish (it panicked).
    #[error("compressing the buffer")]
    CompressTask(#[source] tokio::task::JoinError),
    /// The lake did not take the object (the lake's error names it).
    #[error(transparent)]
    Lake(LakeError),
    /// Firehose did not take the records.
    #[error("sending the buffer to Firehose")]
    Firehose(#[source] firehose::FirehoseError),
    /// The background write did not finish (it panicked).
    #[error("background write")]
    Background(#[source] tokio::task::JoinError),
}

impl WriteError {
    /// The `detail` of the dead letters the buffer's records become once the retry duration
    /// runs out. Dead letters are the lake's contract: this is the text they carried when
    /// write errors were strings (the cause's own message), whatever the messages above say.
    fn detail(&self) -> String {
        match self {
            WriteError::Compress(e) => e.to_string(),
            WriteError::CompressTask(e) => e.to_string(),
            WriteError::Lake(LakeError::Store(e)) => match &**e {
                StoreError::Write { source, .. } => format!("object store: {source}"),
                e => e.to_string(),
            },
            WriteError::Lake(e) => e.to_string(),
            WriteError::Firehose(e) => e.detail(),
            WriteError::Background(e) => format!("background write: {e}"),
        }
    }
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
    /// Bytes of records held in memory, waiting in the buffers.
    pub buffered_bytes: u64,
    /// True while records are kept in the spool only, the store failing.
    pub spilling: bool,
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

/// A full buffer whose object is being compressed and written in the background while
/// records keep arriving: compression runs on another core instead of holding up the
/// source's hand-off. Its records stay pending in the spool until the write is confirmed.
struct Sealed {
    prefix: String,
    /// The buffer, its `lines` moved into the task.
    buffer: Buffer,
    lines: std::sync::Arc<Vec<u8>>,
    task: tokio::task::JoinHandle<Result<u64, WriteError>>,
}

/// Full buffers written in the background at once, at most; the next one waits (memory
/// stays bounded by this many buffers beyond `memory_max_mib`'s accounting, which counts
/// them).
const SEALED_IN_FLIGHT: usize = 2;

struct Inner {
    spool: spool::Spool,
    buffers: BTreeMap<String, Buffer>,
    /// Full buffers being written in the background, oldest first.
    sealed: std::collections::VecDeque<Sealed>,
    /// Set while records are kept in the spool only (the store failed with the buffers
    /// at the memory bound): the first segment holding such records.
    spill_from: Option<u64>,
    /// Not before this instant is a spill replayed again (after a replay that spilled).
    unspill_at: Option<DateTime<Utc>>,
    /// Replays that spilled again, for the backoff.
    spill_attempts: u32,
    seq: u64,
    stats: DeliveryStats,
}

/// The delivery stream.
pub struct DeliveryStream {
    config: DeliveryConfig,
    lake: Lake,
    /// Set when flushed buffers go to a Firehose stream rather than lake objects.
    firehose: Option<firehose::FirehoseSink>,
    clock: SharedClock,
    metrics: Metrics,
    inner: Mutex<Inner>,
    /// Group commit: one fsync at a time; each covers every append made before it.
    sync: Mutex<u64>,
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
        let dir = config.spool_dir.clone();
        let (spool, report, segments) = {
            let dir = dir.clone();
            let fsync = config.fsync;
            tokio::task::spawn_blocking(move || spool::Spool::open(&dir, fsync))
                .await
                .map_err(DeliveryError::SpoolTask)??
        };
        if report.quarantined_segments > 0 {
            metrics.add(
                "pricelake_spool_quarantined_segments_total",
                &[],
                report.quarantined_segments,
            );
        }
        let firehose = match &config.firehose {
            Some(f) => Some(firehose::FirehoseSink::new(f.clone()).await),
            None => None,
        };
        let stream = Self {
            config,
            lake,
            firehose,
            clock,
            metrics,
            inner: Mutex::new(Inner {
                spool,
                buffers: BTreeMap::new(),
                sealed: std::collections::VecDeque::new(),
                spill_from: None,
                unspill_at: None,
                spill_attempts: 0,
                seq,
                stats: DeliveryStats {
                    replayed: report.records,
                    quarantined_segments: report.quarantined_segments,
                    ..DeliveryStats::default()
                },
            }),
            sync: Mutex::new(0),
        };
        if !segments.is_empty() {
            tracing::info!(
                records = report.records,
                segments = segments.len(),
                "replaying the delivery spool"
            );
        }
        // Streamed segment by segment, frame by frame: memory stays bounded by the
        // buffers (each flushed when full, or spilled), whatever the spool's size.
        {
            let mut inner = stream.inner.lock().await;
            stream.replay(&mut inner, segments, false).await?;
        }
        Ok(stream)
    }

    /// Streams spooled segments into the buffers, flushing each buffer as it fills. When
    /// the store fails and the buffers reach the memory bound, it stops and spills: the
    /// buffers are dropped (every record is still in the spool, counted as pending) and
    /// the segments are replayed again once the store is back. `recount` resets each
    /// segment's pending count to all its records first, since all are buffered again.
    async fn replay(
        &self,
        inner: &mut Inner,
        segments: Vec<u64>,
        recount: bool,
    ) -> Result<(), DeliveryError> {
        let now = self.clock.now();
        let dir = self.config.spool_dir.clone();
        for &segment in &segments {
            let path = spool::segment_path(&dir, segment);
            if recount {
                let counted = path.clone();
                let (count, _, _) = tokio::task::spawn_blocking(move || {
                    spool::replay_segment(&counted, &mut |_| Ok(()))
                })
                .await
                .map_err(DeliveryError::SpoolTask)??;
                inner.spool.set_pending(segment, count);
            }
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(256);
            let reader = tokio::task::spawn_blocking(move || {
                spool::replay_segment(&path, &mut |bytes| {
                    tx.blocking_send(bytes)
                        .map_err(|_| DeliveryError::ReplayAbandoned)
                })
            });
            let mut over_memory = false;
            while let Some(bytes) = rx.recv().await {
                let record: LakeRecord =
                    serde_json::from_slice(&bytes).map_err(DeliveryError::Record)?;
                self.buffer(inner, &record, &bytes, segment, now);
                self.flush_full(inner).await;
                if self.buffered_bytes(inner) > self.memory_limit()
                    && self.relieve_memory(inner, 0).await
                {
                    over_memory = true;
                    break;
                }
            }
            if over_memory {
                drop(rx);
                let _ = reader.await;
                // Every buffered record came from this replay and is still pending in
                // its segment: dropping the buffers loses nothing.
                inner.buffers.clear();
                inner.spill_from = Some(segments[0]);
                inner.spill_attempts += 1;
                let backoff = (1_000i64 << inner.spill_attempts.min(8)).min(300_000);
                inner.unspill_at = Some(self.clock.now() + Duration::milliseconds(backoff));
                tracing::warn!(
                    from_segment = segments[0],
                    "the store is failing and the buffers are full: records stay in the spool until it is back"
                );
                return Ok(());
            }
            reader.await.map_err(DeliveryError::SpoolTask)??;
        }
        Ok(())
    }

    fn memory_limit(&self) -> usize {
        self.config.memory_max_mib as usize * 1024 * 1024
    }

    fn buffered_bytes(&self, inner: &Inner) -> usize {
        inner.buffers.values().map(|b| b.lines.len()).sum::<usize>()
            + inner.sealed.iter().map(|s| s.lines.len()).sum::<usize>()
    }

    /// Makes room for `incoming` bytes under the memory bound by flushing the largest
    /// buffers early.
    /// Returns true when that is impossible now (the store fails or they wait to retry).
    async fn relieve_memory(&self, inner: &mut Inner, incoming: usize) -> bool {
        self.settle_sealed(inner, true).await;
        while self.buffered_bytes(inner) + incoming > self.memory_limit() {
            let now = self.clock.now();
            let largest = inner
                .buffers
                .iter()
                .filter(|(_, b)| b.retry_at.is_none_or(|t| t <= now))
                .max_by_key(|(_, b)| b.lines.len())
                .map(|(k, _)| k.clone());
            let Some(prefix) = largest else {
                return true;
            };
            if self.flush_one(inner, &prefix).await.is_err() {
                return true;
            }
        }
        false
    }

    /// After a spill, once every buffer is written: streams the spilled segments back.
    async fn unspill(&self, inner: &mut Inner) -> Result<bool, DeliveryError> {
        let Some(from) = inner.spill_from else {
            return Ok(false);
        };
        if !inner.buffers.is_empty()
            || !inner.sealed.is_empty()
            || inner.unspill_at.is_some_and(|t| t > self.clock.now())
        {
            return Ok(false);
        }
        inner.spill_from = None;
        inner.unspill_at = None;
        inner.spool.roll()?;
        let segments = inner.spool.pending_from(from);
        tracing::info!(
            segments = segments.len(),
            "the store is back: replaying records kept in the spool"
        );
        self.replay(inner, segments, true).await?;
        if inner.spill_from.is_none() {
            inner.spill_attempts = 0;
        }
        Ok(inner.spill_from.is_none())
    }

    fn buffer(
        &self,
        inner: &mut Inner,
        record: &LakeRecord,
        line: &[u8],
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
        buffer.lines.reserve(line.len() + 1);
        buffer.lines.extend_from_slice(line);
        buffer.lines.push(b'\n');
        buffer.records += 1;
        buffer.oldest_event = buffer.oldest_event.min(record.event_time());
        *buffer.segments.entry(segment).or_default() += 1;
    }

    fn size_limit(&self) -> usize {
        self.config.buffer_size_mib as usize * 1024 * 1024
    }

    /// Hands buffers over the size limit (and not waiting to retry) to background writes,
    /// and settles the background writes that have finished.
    async fn flush_full(&self, inner: &mut Inner) {
        self.settle_sealed(inner, false).await;
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
            if self.firehose.is_some() {
                let _ = self.flush_one(inner, &prefix).await;
                continue;
            }
            while inner.sealed.len() >= SEALED_IN_FLIGHT {
                self.settle_oldest(inner).await;
            }
            self.seal(inner, &prefix);
        }
    }

    /// Moves a buffer out of `buffers` and starts compressing and writing it as one object
    /// on the blocking pool; new records for its prefix start a new buffer.
    fn seal(&self, inner: &mut Inner, prefix: &str) {
        let Some(mut buffer) = inner.buffers.remove(prefix) else {
            return;
        };
        inner.seq += 1;
        let seq = inner.seq;
        let lines = std::sync::Arc::new(std::mem::take(&mut buffer.lines));
        let key = self.object_key(prefix, &buffer, seq);
        let compression = self.config.compression;
        let lake = self.lake.clone();
        let body_lines = lines.clone();
        let task = tokio::spawn(async move {
            let body = tokio::task::spawn_blocking(move || compress(compression, &body_lines))
                .await
                .map_err(WriteError::CompressTask)?
                .map_err(WriteError::Compress)?;
            let size = body.len() as u64;
            lake.put(&key, Bytes::from(body))
                .await
                .map_err(WriteError::Lake)?;
            Ok(size)
        });
        inner.sealed.push_back(Sealed {
            prefix: prefix.to_string(),
            buffer,
            lines,
            task,
        });
    }

    /// Settles background writes: those finished, or (with `wait`) all of them.
    async fn settle_sealed(&self, inner: &mut Inner, wait: bool) {
        while inner
            .sealed
            .front()
            .is_some_and(|s| wait || s.task.is_finished())
        {
            self.settle_oldest(inner).await;
        }
    }

    /// Waits for the oldest background write: written, its records are confirmed in the
    /// spool; failed, its records go back into the buffers to be retried like any other.
    async fn settle_oldest(&self, inner: &mut Inner) {
        let Some(sealed) = inner.sealed.pop_front() else {
            return;
        };
        let Sealed {
            prefix,
            mut buffer,
            lines,
            task,
        } = sealed;
        let outcome = task
            .await
            .unwrap_or_else(|e| Err(WriteError::Background(e)));
        match outcome {
            Ok(size) => self.written(inner, buffer, size),
            Err(error) => {
                buffer.lines = std::sync::Arc::try_unwrap(lines).unwrap_or_else(|l| (*l).clone());
                // Records that arrived meanwhile join the older ones.
                if let Some(newer) = inner.buffers.remove(&prefix) {
                    buffer.lines.extend_from_slice(&newer.lines);
                    buffer.records += newer.records;
                    buffer.arrived = buffer.arrived.min(newer.arrived);
                    buffer.oldest_event = buffer.oldest_event.min(newer.oldest_event);
                    for (segment, n) in newer.segments {
                        *buffer.segments.entry(segment).or_default() += n;
                    }
                    buffer.failing_since = match (buffer.failing_since, newer.failing_since) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                inner.buffers.insert(prefix.clone(), buffer);
                self.write_failed(inner, &prefix, &error).await;
            }
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
            .chain(inner.sealed.front().map(|_| self.clock.now()))
            .chain(
                inner
                    .spill_from
                    .filter(|_| inner.buffers.is_empty())
                    .map(|_| inner.unspill_at.unwrap_or_else(|| self.clock.now())),
            )
            .min()
    }

    /// Flushes every buffer whose interval expired (or whose retry is due).
    pub async fn flush_due(&self) -> Result<FlushReport, DeliveryError> {
        let now = self.clock.now();
        let interval = Duration::seconds(self.config.buffer_interval_secs as i64);
        let mut inner = self.inner.lock().await;
        self.settle_sealed(&mut inner, true).await;
        let due: Vec<String> = inner
            .buffers
            .iter()
            .filter(|(_, b)| match b.retry_at {
                Some(t) => t <= now,
                None => b.arrived + interval <= now || b.lines.len() >= self.size_limit(),
            })
            .map(|(k, _)| k.clone())
            .collect();
        let report = self.flush_many(&mut inner, due).await?;
        self.unspill(&mut inner).await?;
        Ok(report)
    }

    /// Flushes every buffer now (shutdown, end of a run), without waiting for retries.
    pub async fn flush_all(&self) -> Result<FlushReport, DeliveryError> {
        let mut inner = self.inner.lock().await;
        let mut total = FlushReport::default();
        loop {
            self.settle_sealed(&mut inner, true).await;
            let all: Vec<String> = inner.buffers.keys().cloned().collect();
            let report = self.flush_many(&mut inner, all).await?;
            total.objects += report.objects;
            total.records += report.records;
            if !self.unspill(&mut inner).await? {
                return Ok(total);
            }
        }
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
        let mut last = None;
        for prefix in prefixes {
            match self.flush_one(inner, &prefix).await {
                Ok(Some(r)) => {
                    report.objects += 1;
                    report.records += r;
                }
                Ok(None) => {}
                Err(e) => {
                    failed += 1;
                    last = Some(e);
                }
            }
        }
        self.update_gauges(inner);
        if let Some(last) = last {
            return Err(DeliveryError::NotDelivered { failed, last });
        }
        Ok(report)
    }

    /// Writes one buffer as one object. Ok(Some(records)) when written.
    async fn flush_one(&self, inner: &mut Inner, prefix: &str) -> Result<Option<u64>, WriteError> {
        let Some(buffer) = inner.buffers.get(prefix) else {
            return Ok(None);
        };
        if buffer.records == 0 {
            inner.buffers.remove(prefix);
            return Ok(None);
        }
        inner.seq += 1;
        let seq = inner.seq;
        match self.write_buffer(prefix, buffer, seq).await {
            Ok(size) => {
                let buffer = inner.buffers.remove(prefix).expect("buffer present");
                let records = buffer.records;
                self.written(inner, buffer, size);
                Ok(Some(records))
            }
            Err(error) => {
                self.write_failed(inner, prefix, &error).await;
                Err(error)
            }
        }
    }

    /// A buffer is in the lake: its records leave the spool.
    fn written(&self, inner: &mut Inner, buffer: Buffer, size: u64) {
        write_seq(&self.config, inner.seq);
        for (segment, n) in &buffer.segments {
            if let Err(e) = inner.spool.confirm(*segment, *n) {
                tracing::warn!(error = %ErrorChain(&e), "spool segment not released; it will be replayed (duplicates are removed downstream)");
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
    }

    /// A write of the buffer at `prefix` failed: it waits with backoff and is retried, and
    /// after the retry duration its records go under the error-output prefix.
    async fn write_failed(&self, inner: &mut Inner, prefix: &str, error: &WriteError) {
        let now = self.clock.now();
        inner.stats.retried += 1;
        self.metrics
            .incr(names::RETRIES, &[("component", "delivery")]);
        let expired = {
            let buffer = inner.buffers.get_mut(prefix).expect("buffer present");
            let since = *buffer.failing_since.get_or_insert(now);
            buffer.attempts += 1;
            let backoff = Duration::milliseconds((500i64 << buffer.attempts.min(10)).min(300_000));
            buffer.retry_at = Some(now + backoff);
            now - since >= Duration::seconds(self.config.retry_duration_secs as i64)
        };
        tracing::warn!(prefix, error = %ErrorChain(error), "object write failed; records stay in the spool and are retried");
        if expired {
            self.to_error_output(inner, prefix, &error.detail()).await;
        }
    }

    /// Writes one buffer: one compressed object in the lake, or (with a Firehose
    /// destination) its lines through PutRecordBatch. Returns the bytes written.
    async fn write_buffer(
        &self,
        prefix: &str,
        buffer: &Buffer,
        seq: u64,
    ) -> Result<u64, WriteError> {
        if let Some(sink) = &self.firehose {
            let lines: Vec<Vec<u8>> = buffer
                .lines
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            sink.send_lines(lines).await.map_err(WriteError::Firehose)?;
            return Ok(buffer.lines.len() as u64);
        }
        let body =
            compress(self.config.compression, &buffer.lines).map_err(WriteError::Compress)?;
        let key = self.object_key(prefix, buffer, seq);
        let size = body.len() as u64;
        self.lake
            .put(&key, Bytes::from(body))
            .await
            .map_err(WriteError::Lake)?;
        Ok(size)
    }

    /// The object's name: time partition of its oldest record, then names that sort by
    /// time and never collide.
    fn object_key(&self, prefix: &str, buffer: &Buffer, seq: u64) -> String {
        format!(
            "{prefix}/{}{}-{seq:010}-{}-{}.{}",
            self.config.expand_prefix(buffer.oldest_event),
            self.config.stream_name,
            buffer.oldest_event.format("%Y%m%dT%H%M%SZ"),
            uuid::Uuid::new_v4(),
            self.config.compression.extension()
        )
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
        inner.stats.buffered_bytes = self.buffered_bytes(inner) as u64;
        inner.stats.spilling = inner.spill_from.is_some();
        let now = self.clock.now();
        inner.stats.oldest_unflushed_age_secs = inner
            .buffers
            .values()
            .chain(inner.sealed.iter().map(|s| &s.buffer))
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
    /// The bound past which sources are paused: what a supervisor compares the spool with.
    pub fn spool_max_bytes(&self) -> u64 {
        self.config.spool_max_bytes
    }

    /// The stream's counts so far (received, delivered, retried, dead-lettered, spooled,
    /// buffered): what `status` and the tests read, taken under the stream's lock so they
    /// agree with each other.
    pub async fn stats(&self) -> DeliveryStats {
        let mut inner = self.inner.lock().await;
        self.update_gauges(&mut inner);
        inner.stats.clone()
    }
}

#[async_trait]
impl RecordSink for DeliveryStream {
    async fn accept(&self, records: Vec<LakeRecord>) -> Result<(), SinkError> {
        self.submit(records).await?.durable().await
    }
}

/// A hand-off written to the spool and buffered, not yet known durable. A producer that
/// keeps several in flight (as a Kafka producer keeps several requests) lets one fsync cover
/// them all; each is still acknowledged only once [`PendingAck::durable`] returns.
#[must_use = "a hand-off is acknowledged only once `durable` returns"]
pub struct PendingAck<'a> {
    stream: &'a DeliveryStream,
    position: u64,
}

impl PendingAck<'_> {
    /// Returns once the hand-off is in the fsync'd spool (group commit: one fsync covers
    /// every hand-off appended before it).
    pub async fn durable(self) -> Result<(), SinkError> {
        self.stream
            .sync_through(self.position)
            .await
            .map_err(SinkError::failed)
    }
}

impl DeliveryStream {
    /// Spools and buffers `records` without waiting for the fsync: the first half of
    /// [`RecordSink::accept`], for producers that pipeline their hand-offs.
    pub async fn submit(&self, records: Vec<LakeRecord>) -> Result<PendingAck<'_>, SinkError> {
        if records.is_empty() {
            return Ok(PendingAck {
                stream: self,
                position: 0,
            });
        }
        let mut frames = spool::Frames::with_capacity(records.len(), 1024);
        for record in &records {
            frames
                .push(record)
                .map_err(|e| SinkError::failed(DeliveryError::Encode(e)))?;
        }
        let mut inner = self.inner.lock().await;
        if inner.spool.bytes() >= self.config.spool_max_bytes {
            return Err(SinkError::Backpressure(format!(
                "spool holds {} bytes, bound {}: the store is not keeping up",
                inner.spool.bytes(),
                self.config.spool_max_bytes
            )));
        }
        let incoming = frames.ndjson_len();
        if inner.spill_from.is_none()
            && self.buffered_bytes(&inner) + incoming > self.memory_limit()
            && self.relieve_memory(&mut inner, incoming).await
        {
            // The store fails and memory is at its bound: from here on records are kept
            // in the spool only, in segments of their own, until the store is back.
            inner.spool.roll().map_err(SinkError::failed)?;
            inner.spill_from = Some(inner.spool.active());
            tracing::warn!("the store is failing and the buffers are full: records are kept in the spool until it is back");
        }
        let (segment, durable_at) = inner.spool.append(&frames).map_err(SinkError::failed)?;
        let now = self.clock.now();
        inner.stats.received += records.len() as u64;
        self.metrics.add(
            names::RECORDS_RECEIVED,
            &[("component", "delivery")],
            records.len() as u64,
        );
        if inner.spill_from.is_none() {
            for (record, line) in records.iter().zip(frames.records()) {
                self.buffer(&mut inner, record, line, segment, now);
            }
        }
        self.flush_full(&mut inner).await;
        self.update_gauges(&mut inner);
        drop(inner);
        // Acknowledged only once durable. Hand-offs that arrive while an fsync runs share
        // the next one (group commit), so concurrent sources cost one fsync, not one each.
        Ok(PendingAck {
            stream: self,
            position: durable_at,
        })
    }
}

impl DeliveryStream {
    /// Returns once everything appended up to `position` is fsync'd.
    async fn sync_through(&self, position: u64) -> Result<(), DeliveryError> {
        let mut synced = self.sync.lock().await;
        if *synced >= position {
            return Ok(());
        }
        let work = self.inner.lock().await.spool.take_sync()?;
        let Some(work) = work else {
            *synced = position;
            return Ok(());
        };
        *synced = tokio::task::spawn_blocking(move || work.run())
            .await
            .map_err(DeliveryError::SpoolTask)??;
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
