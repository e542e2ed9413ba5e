//! Accounts × regions, the write-ahead log, snapshots and the clock. Holds no engine and
//! knows no service: what a region holds, and how its records are journalled, is the
//! [`Journal`] the services give it.
//!
//! Each region has its own lock, taken only inside synchronous code (never across an
//! `.await`), so operations in different regions never wait on each other and every
//! operation on one region is atomic. With a data directory, each successful mutation's
//! records go to the write-ahead log while the region is still locked (see [`persist`]).

pub mod persist;
pub mod scope;
pub mod tracked;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use persist::{Commit, Entry, Recovery, RegionSnapshot, Wal};
pub use scope::{DEFAULT_ACCOUNT, DEFAULT_REGION, IamIdentity, Scope, account_for_key, partition};

/// What one account holds in one region, and how its writes are journalled: the records a
/// mutation wrote, how a logged record is applied again, and the whole region as a
/// snapshot holds it.
pub trait Journal: Default + Send + 'static {
    /// One record written by a mutation (the whole resource, or its removal).
    type Change: Serialize + DeserializeOwned + Send;
    /// Every record of a region, as a snapshot holds them.
    type Records: Serialize + DeserializeOwned + Send;

    /// Turns the remembering of writes on or off (on only when there is a log).
    fn set_tracking(&mut self, on: bool);
    /// The records written since the last call.
    fn take_changes(&mut self) -> Vec<Self::Change>;
    /// Forgets what was written (a failed operation wrote nothing).
    fn forget_changes(&mut self);
    /// Applies a logged record, without counting it as written.
    fn apply(&mut self, change: Self::Change);
    /// Every record of the region.
    fn records(&self) -> Self::Records;
    /// A region holding exactly these records.
    fn from_records(records: Self::Records) -> Self;
}

/// memshift's clock: the system's, moved forward by an offset that tests can set, so
/// that expiry can be seen without waiting.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// How far the clock is from the system's.
    #[must_use]
    pub fn offset(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward (or back, with a negative amount).
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

/// The hasher of the regions' map, which every call looks its region up in by account
/// and region name. SipHash (std's default) costs more on those two short strings than
/// the rest of the lookup; this folds them eight bytes at a time with an add and a
/// multiply (the scheme of rustc's FxHash), from a seed drawn once per map.
#[derive(Debug, Clone)]
struct ScopeHash {
    seed: u64,
}

impl Default for ScopeHash {
    fn default() -> Self {
        ScopeHash {
            seed: RandomState::new().hash_one(0u64),
        }
    }
}

impl BuildHasher for ScopeHash {
    type Hasher = FoldHasher;

    fn build_hasher(&self) -> FoldHasher {
        FoldHasher(self.seed)
    }
}

struct FoldHasher(u64);

impl FoldHasher {
    fn add(&mut self, word: u64) {
        self.0 = self
            .0
            .wrapping_add(word)
            .wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut le = [0u8; 8];
            le.copy_from_slice(word);
            self.add(u64::from_le_bytes(le));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut le = [0u8; 8];
            le[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(le));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the high bits best mixed; the table indexes by the low ones.
        self.0.rotate_left(26)
    }
}

/// Every region's state.
#[derive(Debug)]
pub struct Regions<R> {
    map: RwLock<HashMap<Scope, Arc<Mutex<R>>, ScopeHash>>,
    /// Whether regions remember their writes (only when they are logged).
    track: bool,
}

impl<R: Journal> Regions<R> {
    fn new(track: bool) -> Self {
        Regions {
            map: RwLock::new(HashMap::default()),
            track,
        }
    }

    fn fresh(&self) -> R {
        let mut region = R::default();
        region.set_tracking(self.track);
        region
    }

    /// Runs `f` on the region, created in its built-in state on first use. The map stays
    /// read-locked meanwhile, so a reset never interleaves with a mutation.
    fn with<T>(&self, scope: &Scope, f: impl FnOnce(&mut R) -> T) -> T {
        loop {
            {
                let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
                if let Some(region) = map.get(scope) {
                    let mut guard = region.lock().unwrap_or_else(PoisonError::into_inner);
                    return f(&mut guard);
                }
            }
            let region = self.fresh();
            self.map
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(scope.clone())
                .or_insert_with(|| Arc::new(Mutex::new(region)));
        }
    }

    /// Replaces a region with the records of a snapshot.
    fn load(&self, snapshot: RegionSnapshot<R::Records>) {
        let mut region = R::from_records(snapshot.records);
        region.set_tracking(self.track);
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                Scope::new(snapshot.account, snapshot.region),
                Arc::new(Mutex::new(region)),
            );
    }

    /// Applies one log entry.
    fn replay(&self, entry: Entry<R::Change>) {
        match entry {
            Entry::Reset => self
                .map
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .clear(),
            Entry::Changes {
                account,
                region,
                changes,
            } => {
                self.with(&Scope::new(account, region), |r| {
                    for change in changes {
                        r.apply(change);
                    }
                });
            }
        }
    }

    /// Every region's records, each region read under its lock.
    fn snapshot(&self) -> Vec<RegionSnapshot<R::Records>> {
        let regions: Vec<(Scope, Arc<Mutex<R>>)> = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(s, r)| (s.clone(), Arc::clone(r)))
            .collect();
        let mut out: Vec<RegionSnapshot<R::Records>> = regions
            .into_iter()
            .map(|(scope, region)| {
                let records = region
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .records();
                RegionSnapshot {
                    account: scope.account,
                    region: scope.region,
                    records,
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        out
    }
}

/// Every account's regions, their log, and the clock.
#[derive(Debug)]
pub struct State<R> {
    defaults: Scope,
    clock: Arc<Clock>,
    started: Instant,
    regions: Arc<Regions<R>>,
    wal: Option<Wal>,
}

impl<R: Journal> State<R> {
    /// State in memory only.
    #[must_use]
    pub fn new(defaults: Scope) -> Self {
        State {
            defaults,
            clock: Arc::default(),
            started: Instant::now(),
            regions: Arc::new(Regions::new(false)),
            wal: None,
        }
    }

    /// State kept in a data directory: recovered from it now, logged to it from now on.
    ///
    /// # Errors
    /// A message naming what in the directory could not be read or written.
    pub fn durable(defaults: Scope, dir: &Path) -> Result<(Self, Recovery), String> {
        let regions = Arc::new(Regions::new(true));
        let (wal, recovery) = persist::open(dir, &regions)?;
        Ok((
            State {
                defaults,
                clock: Arc::default(),
                started: Instant::now(),
                regions,
                wal: Some(wal),
            },
            recovery,
        ))
    }

    /// The account and region of requests that name none.
    #[must_use]
    pub fn defaults(&self) -> &Scope {
        &self.defaults
    }

    /// Reads a region under its lock.
    pub fn read<T>(&self, scope: &Scope, f: impl FnOnce(&R) -> T) -> T {
        self.regions.with(scope, |region| f(region))
    }

    /// Every account and region that holds state.
    #[must_use]
    pub fn scopes(&self) -> Vec<Scope> {
        self.regions
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The clock, for tasks that outlive a request.
    #[must_use]
    pub fn clock_handle(&self) -> Arc<Clock> {
        Arc::clone(&self.clock)
    }

    #[must_use]
    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    #[must_use]
    pub fn is_durable(&self) -> bool {
        self.wal.is_some()
    }

    /// Runs an operation on the region's state under its lock. When it succeeds, the
    /// records it wrote are queued to the log (if any) before the lock is released, and
    /// `commit` is set to wait for them; when it fails, it wrote nothing.
    ///
    /// # Errors
    /// The operation's own error.
    pub fn mutate<T, E>(
        &self,
        scope: &Scope,
        commit: &mut Commit,
        op: impl FnOnce(&mut R) -> Result<T, E>,
    ) -> Result<T, E> {
        self.regions.with(scope, |region| {
            let result = op(region);
            match (&result, &self.wal) {
                (Ok(_), Some(wal)) => {
                    let changes = region.take_changes();
                    if !changes.is_empty() {
                        commit.replace(wal.append(&Entry::Changes {
                            account: scope.account.clone(),
                            region: scope.region.clone(),
                            changes,
                        }));
                    }
                }
                (Err(_), Some(_)) => region.forget_changes(),
                // Without a log, regions remember no writes: there is nothing to forget.
                (_, None) => {}
            }
            result
        })
    }

    /// Returns every account and region to the built-in state, on disk too.
    ///
    /// # Errors
    /// The reset could not be written to the log.
    pub async fn reset(&self) -> Result<(), String> {
        let commit = {
            let mut map = self
                .regions
                .map
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            map.clear();
            self.wal
                .as_ref()
                .map(|wal| wal.append(&Entry::<R::Change>::Reset))
        };
        match commit {
            Some(c) => c.wait().await,
            None => Ok(()),
        }
    }

    /// Waits until every queued record is on disk.
    pub async fn flush(&self) {
        if let Some(wal) = &self.wal {
            wal.flush().await;
        }
    }

    /// Flushes and stops the log writer.
    pub fn close(&self) {
        if let Some(wal) = &self.wal {
            wal.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_hash_apart_and_alike() {
        let build = ScopeHash::default();
        let scopes = [
            Scope::new("000000000000", "us-east-1"),
            Scope::new("000000000000", "us-east-2"),
            Scope::new("000000000001", "us-east-1"),
            Scope::new("000000000000us-east-1", ""),
            Scope::new("", "000000000000us-east-1"),
        ];
        let hashes: std::collections::HashSet<u64> =
            scopes.iter().map(|s| build.hash_one(s)).collect();
        assert_eq!(hashes.len(), scopes.len());
        assert_eq!(
            build.hash_one(Scope::new("000000000000", "us-east-1")),
            build.hash_one(&scopes[0])
        );
        // Every bucket of a small table is reachable.
        let buckets: std::collections::HashSet<u64> = (0..64)
            .map(|i| build.hash_one(Scope::new(format!("{i:012}"), "us-east-1")) & 7)
            .collect();
        assert_eq!(buckets.len(), 8);
    }
}
