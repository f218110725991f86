//! The write-ahead spool: records are framed (length + CRC32), appended to segment files
//! and fsync'd before they are acknowledged. A segment is deleted only when every record in
//! it is confirmed in the lake. A torn or corrupt tail (a crash mid-write) is detected by
//! its checksum, moved to `quarantine/` and reported, never replayed as garbage.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::DeliveryError;

/// Segments roll over at this size.
const SEGMENT_BYTES: u64 = 16 << 20;
/// A frame larger than this is corruption, not a record.
const MAX_FRAME: u32 = 256 << 20;

/// What replay found wrong.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReplayReport {
    /// Records replayed.
    pub records: u64,
    /// Segments whose tail was corrupt and quarantined.
    pub quarantined_segments: u64,
    /// Bytes moved to quarantine.
    pub quarantined_bytes: u64,
}

pub(crate) struct Spool {
    dir: PathBuf,
    fsync: bool,
    active: u64,
    file: File,
    active_len: u64,
    /// Records not yet confirmed in the lake, per segment.
    pending: BTreeMap<u64, u64>,
    /// Bytes per segment on disk.
    sizes: BTreeMap<u64, u64>,
    /// Bytes appended since the spool opened: the position a sync must reach.
    appended: u64,
    /// Handles of earlier segments written since the last sync (the active one is synced
    /// through its own handle).
    unsynced: Vec<File>,
    /// True when the active segment has writes not yet synced.
    active_dirty: bool,
}

/// What one group commit must make durable: handles to fsync, and the position reached.
pub(crate) struct SyncWork {
    files: Vec<File>,
    /// Everything appended before this position is durable once `files` are synced.
    pub(crate) upto: u64,
}

impl SyncWork {
    /// fsyncs (fdatasync) every file; blocking.
    pub(crate) fn run(self) -> Result<u64, DeliveryError> {
        for file in &self.files {
            file.sync_data().map_err(DeliveryError::Fsync)?;
        }
        Ok(self.upto)
    }
}

/// Records serialised straight into the spool's frame format (length, CRC-32, JSON), so
/// that one buffer serves both the spool write and the copy into the delivery buffers.
#[derive(Default)]
pub(crate) struct Frames {
    bytes: Vec<u8>,
    /// Where each record's JSON lies in `bytes`.
    spans: Vec<std::ops::Range<usize>>,
}

impl Frames {
    /// Room for `records` records of about `typical_bytes` each.
    pub(crate) fn with_capacity(records: usize, typical_bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(records * (typical_bytes + 8)),
            spans: Vec::with_capacity(records),
        }
    }

    /// Serialises one record as the next frame.
    pub(crate) fn push<T: serde::Serialize>(&mut self, record: &T) -> serde_json::Result<()> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(&[0u8; 8]);
        if let Err(e) = serde_json::to_writer(&mut self.bytes, record) {
            self.bytes.truncate(start);
            return Err(e);
        }
        let body = start + 8..self.bytes.len();
        let len = (body.len() as u32).to_le_bytes();
        let crc = crc32fast::hash(&self.bytes[body.clone()]).to_le_bytes();
        self.bytes[start..start + 4].copy_from_slice(&len);
        self.bytes[start + 4..start + 8].copy_from_slice(&crc);
        self.spans.push(body);
        Ok(())
    }

    /// Each record's JSON, in order.
    pub(crate) fn records(&self) -> impl Iterator<Item = &[u8]> {
        self.spans.iter().map(|span| &self.bytes[span.clone()])
    }

    /// Bytes the records take as NDJSON lines (each with its newline).
    pub(crate) fn ndjson_len(&self) -> usize {
        self.spans.iter().map(|span| span.len() + 1).sum()
    }
}

pub(crate) fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("seg-{id:012}.wal"))
}

fn io(path: &Path, source: std::io::Error) -> DeliveryError {
    DeliveryError::Spool {
        path: path.to_path_buf(),
        source,
    }
}

impl Spool {
    /// Opens the spool: checks every existing segment frame by frame (quarantining a
    /// corrupt tail), counts its records without keeping them, and starts a fresh active
    /// segment. Returns the segments that hold records, oldest first, for
    /// [`replay_segment`] to stream.
    pub(crate) fn open(
        dir: &Path,
        fsync: bool,
    ) -> Result<(Spool, ReplayReport, Vec<u64>), DeliveryError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut ids: Vec<u64> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.strip_prefix("seg-")?
                    .strip_suffix(".wal")?
                    .parse()
                    .ok()
            })
            .collect();
        ids.sort_unstable();
        let mut report = ReplayReport::default();
        let mut pending = BTreeMap::new();
        let mut sizes = BTreeMap::new();
        for id in &ids {
            let path = segment_path(dir, *id);
            let (count, valid_len, total_len) = replay_segment(&path, &mut |_| Ok(()))?;
            report.records += count;
            if valid_len < total_len {
                quarantine(dir, &path, valid_len)?;
                report.quarantined_segments += 1;
                report.quarantined_bytes += total_len - valid_len;
            }
            if count == 0 {
                std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
            } else {
                pending.insert(*id, count);
                sizes.insert(*id, valid_len);
            }
        }
        let to_replay: Vec<u64> = pending.keys().copied().collect();
        let active = ids.last().map_or(1, |last| last + 1);
        let path = segment_path(dir, active);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        Ok((
            Spool {
                dir: dir.to_path_buf(),
                fsync,
                active,
                file,
                active_len: 0,
                pending,
                sizes,
                appended: 0,
                unsynced: Vec::new(),
                active_dirty: false,
            },
            report,
            to_replay,
        ))
    }

    /// Appends records (written, not yet synced: see [`Spool::take_sync`]); returns the
    /// segment they went to and the position a sync must reach to make them durable.
    pub(crate) fn append(&mut self, frames: &Frames) -> Result<(u64, u64), DeliveryError> {
        if self.active_len >= SEGMENT_BYTES {
            self.roll()?;
        }
        let path = segment_path(&self.dir, self.active);
        self.file
            .write_all(&frames.bytes)
            .map_err(|e| io(&path, e))?;
        let written = frames.bytes.len() as u64;
        self.active_dirty = true;
        self.active_len += written;
        self.appended += written;
        *self.sizes.entry(self.active).or_default() += written;
        *self.pending.entry(self.active).or_default() += frames.spans.len() as u64;
        Ok((self.active, self.appended))
    }

    /// The files to fsync so that everything appended so far is durable (group commit:
    /// one fsync covers every append made before it). `None` when fsync is off.
    pub(crate) fn take_sync(&mut self) -> Result<Option<SyncWork>, DeliveryError> {
        if !self.fsync {
            return Ok(None);
        }
        let mut files = std::mem::take(&mut self.unsynced);
        if self.active_dirty {
            let path = segment_path(&self.dir, self.active);
            files.push(self.file.try_clone().map_err(|e| io(&path, e))?);
            self.active_dirty = false;
        }
        Ok(Some(SyncWork {
            files,
            upto: self.appended,
        }))
    }

    /// Starts a new active segment, so that what is appended from now on is apart from
    /// what came before. An active segment that never received a record is removed.
    pub(crate) fn roll(&mut self) -> Result<(), DeliveryError> {
        if self.active_len == 0 && !self.pending.contains_key(&self.active) {
            let _ = std::fs::remove_file(segment_path(&self.dir, self.active));
        }
        if self.active_dirty {
            let path = segment_path(&self.dir, self.active);
            self.unsynced
                .push(self.file.try_clone().map_err(|e| io(&path, e))?);
            self.active_dirty = false;
        }
        self.active += 1;
        self.active_len = 0;
        let path = segment_path(&self.dir, self.active);
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        Ok(())
    }

    /// Marks `n` records of `segment` as confirmed in the lake; deletes finished segments.
    pub(crate) fn confirm(&mut self, segment: u64, n: u64) -> Result<(), DeliveryError> {
        if let Some(left) = self.pending.get_mut(&segment) {
            *left = left.saturating_sub(n);
            if *left == 0 {
                self.pending.remove(&segment);
                if segment == self.active {
                    // Reuse nothing: start a new segment so the old file can go.
                    self.roll()?;
                }
                let path = segment_path(&self.dir, segment);
                self.sizes.remove(&segment);
                std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
            }
        }
        Ok(())
    }

    /// The segment appends go to.
    pub(crate) fn active(&self) -> u64 {
        self.active
    }

    /// Segments from `from` on, before the active one, that still hold unconfirmed
    /// records, oldest first.
    pub(crate) fn pending_from(&self, from: u64) -> Vec<u64> {
        self.pending
            .range(from..self.active)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Sets how many records of `segment` await confirmation, before it is replayed whole.
    pub(crate) fn set_pending(&mut self, segment: u64, n: u64) {
        if n > 0 {
            self.pending.insert(segment, n);
        }
    }

    /// Bytes of segments holding unconfirmed records.
    pub(crate) fn bytes(&self) -> u64 {
        self.sizes.values().sum()
    }
}

/// Streams the valid frames of one segment, one at a time (memory bounded by one
/// frame); returns (records, valid bytes, file bytes).
pub(crate) fn replay_segment(
    path: &Path,
    on_record: &mut impl FnMut(Vec<u8>) -> Result<(), DeliveryError>,
) -> Result<(u64, u64, u64), DeliveryError> {
    let file = File::open(path).map_err(|e| io(path, e))?;
    let total = file.metadata().map_err(|e| io(path, e))?.len();
    let mut reader = BufReader::new(file);
    let mut valid = 0u64;
    let mut count = 0u64;
    loop {
        let mut header = [0u8; 8];
        match read_full(&mut reader, &mut header) {
            Ok(0) => break,
            Ok(8) => {}
            Ok(_) => break, // torn header
            Err(e) => return Err(io(path, e)),
        }
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        if len > MAX_FRAME {
            break;
        }
        let mut bytes = vec![0u8; len as usize];
        match read_full(&mut reader, &mut bytes) {
            Ok(n) if n == len as usize => {}
            Ok(_) => break, // torn body
            Err(e) => return Err(io(path, e)),
        }
        if crc32fast::hash(&bytes) != crc {
            break;
        }
        valid += 8 + u64::from(len);
        count += 1;
        on_record(bytes)?;
    }
    Ok((count, valid, total))
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Copies the corrupt tail to `quarantine/` and truncates the segment to its valid part.
fn quarantine(dir: &Path, path: &Path, valid_len: u64) -> Result<(), DeliveryError> {
    let qdir = dir.join("quarantine");
    std::fs::create_dir_all(&qdir).map_err(|e| io(&qdir, e))?;
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let target = qdir.join(format!(
        "{name}.{}.bad",
        chrono::Utc::now().timestamp_millis()
    ));
    std::fs::write(&target, &bytes[valid_len as usize..]).map_err(|e| io(&target, e))?;
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io(path, e))?;
    file.set_len(valid_len).map_err(|e| io(path, e))?;
    file.sync_all().map_err(|e| io(path, e))?;
    tracing::warn!(segment = %path.display(), bytes = bytes.len() as u64 - valid_len, quarantined = %target.display(), "corrupt spool tail quarantined");
    Ok(())
}
