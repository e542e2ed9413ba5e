//! Durable state: a write-ahead log of the records each mutation produced, and snapshots.
//!
//! ```text
//! DATA_DIR/snapshot.json     every region's records, written whole and renamed into place
//! DATA_DIR/wal-000007.log    [len u32 LE][crc32 u32 LE][JSON entry] ... appended, fsynced
//! ```
//!
//! A mutation's records are queued to the writer thread while its region is still locked
//! (so the log's order is the order of the changes), and the answer waits until the
//! writer has written and fsynced them. The writer takes everything queued while it was
//! syncing as one batch, so concurrent writers share an fsync (group commit).
//!
//! Entries are whole records (`Put` or `Delete` by name), so replaying one twice is
//! harmless: a snapshot may be taken while the log goes on, and the log after it is
//! replayed on top. On start-up a torn or corrupt tail is cut off at the last whole entry;
//! the cut bytes are kept beside the log as `*.damaged-<unix time>` and reported.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::{Journal, Regions};

/// A log file past this size is compacted into the snapshot.
const COMPACT_AFTER_BYTES: u64 = 64 * 1024 * 1024;
const SNAPSHOT: &str = "snapshot.json";

/// One entry of the log, over a journal's records.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Entry<C> {
    /// The records one request wrote in one account and region.
    Changes {
        account: String,
        region: String,
        changes: Vec<C>,
    },
    /// Every account and region back to the built-in state.
    Reset,
}

/// A region's records, as a snapshot holds them: its scope beside the journal's fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegionSnapshot<T> {
    pub account: String,
    pub region: String,
    #[serde(flatten)]
    pub records: T,
}

#[derive(Debug, Serialize, Deserialize)]
struct Snapshot<T> {
    version: u32,
    regions: Vec<RegionSnapshot<T>>,
}

/// What start-up found in the data directory.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub snapshot_regions: usize,
    pub entries_replayed: usize,
    /// (file, offset of the cut, bytes cut, where they were kept)
    pub damage: Vec<(String, u64, u64, String)>,
}

enum Msg {
    Append(Vec<u8>, oneshot::Sender<Result<(), String>>),
    Flush(oneshot::Sender<()>),
}

/// The log writer of a data directory.
pub struct Wal {
    tx: Mutex<Option<mpsc::Sender<Msg>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wal")
    }
}

/// A mutation's place in the log: resolves once its records are on disk.
#[derive(Debug, Default)]
pub struct Commit(Option<oneshot::Receiver<Result<(), String>>>);

impl Commit {
    /// Waits until the records are durable.
    ///
    /// # Errors
    /// The write or fsync failed: the mutation must not be acknowledged.
    pub async fn wait(self) -> Result<(), String> {
        match self.0 {
            None => Ok(()),
            Some(rx) => rx
                .await
                .unwrap_or_else(|_| Err("the log writer stopped".to_owned())),
        }
    }

    /// Joins another commit: the later one covers both, since the log is written in order.
    pub fn replace(&mut self, other: Commit) {
        if other.0.is_some() {
            self.0 = other.0;
        }
    }
}

impl Wal {
    /// Queues an entry; the returned commit resolves once it is fsynced.
    pub fn append<C: Serialize>(&self, entry: &Entry<C>) -> Commit {
        let bytes = serde_json::to_vec(entry).unwrap_or_default();
        let (done, rx) = oneshot::channel();
        let guard = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(tx) if tx.send(Msg::Append(bytes, done)).is_ok() => Commit(Some(rx)),
            _ => {
                let (done, rx) = oneshot::channel();
                let _ = done.send(Err("the log writer stopped".to_owned()));
                Commit(Some(rx))
            }
        }
    }

    /// Waits until everything queued so far is on disk.
    pub async fn flush(&self) {
        let (done, rx) = oneshot::channel();
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|tx| tx.send(Msg::Flush(done)).is_ok());
        if sent {
            let _ = rx.await;
        }
    }

    /// Flushes and stops the writer thread.
    pub fn close(&self) {
        drop(
            self.tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Some(thread) = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = thread.join();
        }
    }
}

/// Opens a data directory: loads the snapshot, replays the log (cutting a damaged tail),
/// writes a fresh snapshot, and starts the writer on a new log file.
///
/// # Errors
/// A message naming what could not be read or written.
pub fn open<R: Journal>(dir: &Path, regions: &Arc<Regions<R>>) -> Result<(Wal, Recovery), String> {
    fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
    let mut recovery = Recovery::default();
    let snapshot_path = dir.join(SNAPSHOT);
    if snapshot_path.exists() {
        let text = fs::read(&snapshot_path)
            .map_err(|e| format!("cannot read {}: {e}", snapshot_path.display()))?;
        let snapshot: Snapshot<R::Records> = serde_json::from_slice(&text).map_err(|e| {
            format!(
                "the snapshot {} is not readable ({e}); move it aside to start anew",
                snapshot_path.display()
            )
        })?;
        recovery.snapshot_regions = snapshot.regions.len();
        for region in snapshot.regions {
            regions.load(region);
        }
    }
    let logs = log_files(dir)?;
    let mut damaged_from: Option<usize> = None;
    for (i, (_, path)) in logs.iter().enumerate() {
        if damaged_from.is_some() {
            // Entries after a damaged one can't be trusted to follow it: keep them aside.
            let aside = keep_aside(path, 0)?;
            let len = fs::metadata(&aside).map_or(0, |m| m.len());
            recovery.damage.push((
                path.display().to_string(),
                0,
                len,
                aside.display().to_string(),
            ));
            continue;
        }
        let (entries, cut) = read_log::<R::Change>(path)?;
        for entry in entries {
            regions.replay(entry);
            recovery.entries_replayed += 1;
        }
        if let Some(offset) = cut {
            let aside = keep_aside(path, offset)?;
            let len = fs::metadata(&aside).map_or(0, |m| m.len());
            recovery.damage.push((
                path.display().to_string(),
                offset,
                len,
                aside.display().to_string(),
            ));
            damaged_from = Some(i);
        }
    }
    let next = logs.last().map_or(1, |(n, _)| n + 1);
    write_snapshot(dir, regions)?;
    for (_, path) in &logs {
        if path.exists() {
            fs::remove_file(path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }
    let wal = start_writer(dir.to_path_buf(), next, Arc::clone(regions))?;
    Ok((wal, recovery))
}

fn log_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("wal-{n:06}.log"))
}

fn log_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, String> {
    let mut files: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let n = name
                .strip_prefix("wal-")?
                .strip_suffix(".log")?
                .parse()
                .ok()?;
            Some((n, entry.path()))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Reads the whole entries of a log; the offset of a torn or corrupt tail, if any.
fn read_log<C: DeserializeOwned>(path: &Path) -> Result<(Vec<Entry<C>>, Option<u64>), String> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut entries = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let Some(header) = bytes.get(at..at + 8) else {
            return Ok((entries, Some(at as u64)));
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else {
            return Ok((entries, Some(at as u64)));
        };
        if crc32fast::hash(payload) != crc {
            return Ok((entries, Some(at as u64)));
        }
        let Ok(entry) = serde_json::from_slice::<Entry<C>>(payload) else {
            return Ok((entries, Some(at as u64)));
        };
        entries.push(entry);
        at += 8 + len;
    }
    Ok((entries, None))
}

/// Moves the bytes of `path` from `offset` on into a `.damaged-<time>` file beside it and
/// cuts `path` there.
fn keep_aside(path: &Path, offset: u64) -> Result<PathBuf, String> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let aside = PathBuf::from(format!("{}.damaged-{stamp}", path.display()));
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let tail = bytes
        .get(usize::try_from(offset).unwrap_or(usize::MAX)..)
        .unwrap_or_default();
    fs::write(&aside, tail).map_err(|e| format!("cannot write {}: {e}", aside.display()))?;
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    file.set_len(offset)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot cut {}: {e}", path.display()))?;
    Ok(aside)
}

/// Writes every region to `snapshot.json` through a temporary file, then syncs the folder.
fn write_snapshot<R: Journal>(dir: &Path, regions: &Regions<R>) -> Result<(), String> {
    let snapshot = Snapshot {
        version: 1,
        regions: regions.snapshot(),
    };
    let tmp = dir.join(format!("{SNAPSHOT}.tmp"));
    let bytes =
        serde_json::to_vec(&snapshot).map_err(|e| format!("cannot encode the snapshot: {e}"))?;
    let mut file =
        File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, dir.join(SNAPSHOT))
        .map_err(|e| format!("cannot replace the snapshot: {e}"))?;
    sync_dir(dir);
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn start_writer<R: Journal>(
    dir: PathBuf,
    first: u64,
    regions: Arc<Regions<R>>,
) -> Result<Wal, String> {
    let open_log = move |dir: &Path, n: u64| {
        let path = log_path(dir, n);
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))
    };
    let mut file = open_log(&dir, first)?;
    sync_dir(&dir);
    let (tx, rx) = mpsc::channel::<Msg>();
    let compacting = Arc::new(AtomicBool::new(false));
    let thread = std::thread::Builder::new()
        .name("memshift-wal".to_owned())
        .spawn(move || {
            let mut current = first;
            let mut size = 0u64;
            let mut buf = Vec::with_capacity(64 * 1024);
            while let Ok(first_msg) = rx.recv() {
                let mut batch = vec![first_msg];
                batch.extend(rx.try_iter().take(8191));
                buf.clear();
                for msg in &batch {
                    if let Msg::Append(bytes, _) = msg {
                        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                        buf.extend_from_slice(&len.to_le_bytes());
                        buf.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
                        buf.extend_from_slice(bytes);
                    }
                }
                let result = if buf.is_empty() {
                    Ok(())
                } else {
                    file.write_all(&buf)
                        .and_then(|()| file.sync_data())
                        .map_err(|e| e.to_string())
                };
                if result.is_ok() {
                    size += buf.len() as u64;
                }
                if let Err(e) = &result {
                    tracing::error!(error = %e, "writing the log failed; mutations are refused");
                }
                for msg in batch {
                    match msg {
                        Msg::Append(_, done) => {
                            let _ = done.send(result.clone());
                        }
                        Msg::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
                if size > COMPACT_AFTER_BYTES && !compacting.swap(true, Ordering::AcqRel) {
                    match open_log(&dir, current + 1) {
                        Ok(next) => {
                            file = next;
                            let done_with = current;
                            current += 1;
                            size = 0;
                            let (dir, regions, compacting) =
                                (dir.clone(), Arc::clone(&regions), Arc::clone(&compacting));
                            std::thread::spawn(move || {
                                compact(&dir, &regions, done_with);
                                compacting.store(false, Ordering::Release);
                            });
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "cannot start a new log file");
                            compacting.store(false, Ordering::Release);
                        }
                    }
                }
            }
            let _ = file.sync_all();
        })
        .map_err(|e| format!("cannot start the log writer: {e}"))?;
    Ok(Wal {
        tx: Mutex::new(Some(tx)),
        thread: Mutex::new(Some(thread)),
    })
}

/// Writes a snapshot, then removes the log files up to `upto`, which it covers.
fn compact<R: Journal>(dir: &Path, regions: &Regions<R>, upto: u64) {
    if let Err(e) = write_snapshot(dir, regions) {
        tracing::error!(error = %e, "compaction failed; the log is kept");
        return;
    }
    if let Ok(files) = log_files(dir) {
        for (n, path) in files {
            if n <= upto {
                let _ = fs::remove_file(path);
            }
        }
    }
    tracing::info!(upto, "log compacted into the snapshot");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Entry<()> {
        Entry::Changes {
            account: "000000000000".to_owned(),
            region: format!("r{n}"),
            changes: Vec::new(),
        }
    }

    fn frame(e: &Entry<()>) -> Vec<u8> {
        let bytes = serde_json::to_vec(e).unwrap();
        let mut out = (u32::try_from(bytes.len()).unwrap()).to_le_bytes().to_vec();
        out.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
        out.extend_from_slice(&bytes);
        out
    }

    #[test]
    fn a_torn_or_corrupt_tail_is_cut_at_the_last_whole_entry() {
        let dir = std::env::temp_dir().join(format!("memshift-wal-test-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wal-000001.log");
        let whole: Vec<u8> = (0..3).flat_map(|n| frame(&entry(n))).collect();
        let good_len = whole.len() as u64;

        // Torn: half an entry after three whole ones.
        let mut torn = whole.clone();
        torn.extend_from_slice(&frame(&entry(3))[..10]);
        fs::write(&path, &torn).unwrap();
        let (entries, cut) = read_log::<()>(&path).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(cut, Some(good_len));

        // Corrupt: a flipped byte in the last entry's payload.
        let mut corrupt = whole.clone();
        let last = corrupt.len() - 3;
        corrupt[last] ^= 0xff;
        fs::write(&path, &corrupt).unwrap();
        let (entries, cut) = read_log::<()>(&path).unwrap();
        assert_eq!(entries.len(), 2);
        assert!(cut.is_some());

        let aside = keep_aside(&path, cut.unwrap()).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), cut.unwrap());
        assert!(fs::metadata(&aside).unwrap().len() > 0);
        fs::remove_dir_all(&dir).unwrap();
    }
}
