//! The account/region store: every resource lives in one (account, region).
//!
//! Each region has its own lock, taken only inside synchronous code (never across an
//! `.await`), so operations in different regions never wait on each other and every
//! operation on one region is atomic. With a data directory, each successful mutation's
//! records go to the write-ahead log while the region is still locked (see [`persist`]).

pub mod persist;
pub mod tracked;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::ServiceSettings;
use crate::protocol::context::Scope;
use crate::services::memorydb::store::{
    AclRecord, ClusterRecord as MemorydbClusterRecord, UserRecord,
};
use crate::services::redshift::store::ClusterRecord;
use crate::services::{memorydb, redshift};
use persist::{Commit, Entry, Recovery, Wal};

/// Everything one account owns in one region.
#[derive(Debug, Default)]
pub struct RegionState {
    pub memorydb: memorydb::Store,
    pub redshift: redshift::Store,
}

/// One record written by a mutation: the whole resource, or `None` when it was removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    User {
        name: String,
        record: Option<Box<UserRecord>>,
    },
    Acl {
        name: String,
        record: Option<Box<AclRecord>>,
    },
    Cluster {
        name: String,
        record: Option<Box<ClusterRecord>>,
    },
    MemorydbCluster {
        name: String,
        record: Option<Box<MemorydbClusterRecord>>,
    },
}

/// A region's records, as a snapshot holds them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegionSnapshot {
    pub account: String,
    pub region: String,
    pub users: Vec<UserRecord>,
    pub acls: Vec<AclRecord>,
    pub clusters: Vec<ClusterRecord>,
    #[serde(default)]
    pub memorydb_clusters: Vec<MemorydbClusterRecord>,
}

impl RegionState {
    fn new(track: bool) -> Self {
        let mut region = RegionState::default();
        region.set_tracking(track);
        region
    }

    fn set_tracking(&mut self, on: bool) {
        self.memorydb.users.set_tracking(on);
        self.memorydb.acls.set_tracking(on);
        self.memorydb.clusters.set_tracking(on);
        self.redshift.clusters.set_tracking(on);
    }

    /// The records written since the last call.
    fn take_changes(&mut self) -> Vec<Change> {
        let mut changes = Vec::new();
        for (name, record) in self.memorydb.users.take_written() {
            changes.push(Change::User {
                name,
                record: record.cloned().map(Box::new),
            });
        }
        for (name, record) in self.memorydb.acls.take_written() {
            changes.push(Change::Acl {
                name,
                record: record.cloned().map(Box::new),
            });
        }
        for (name, record) in self.memorydb.clusters.take_written() {
            changes.push(Change::MemorydbCluster {
                name,
                record: record.cloned().map(Box::new),
            });
        }
        for (name, record) in self.redshift.clusters.take_written() {
            changes.push(Change::Cluster {
                name,
                record: record.cloned().map(Box::new),
            });
        }
        changes
    }

    fn forget_changes(&mut self) {
        self.memorydb.users.forget_written();
        self.memorydb.acls.forget_written();
        self.memorydb.clusters.forget_written();
        self.redshift.clusters.forget_written();
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::User { name, record } => self.memorydb.users.restore(name, record.map(|r| *r)),
            Change::Acl { name, record } => self.memorydb.acls.restore(name, record.map(|r| *r)),
            Change::Cluster { name, record } => {
                self.redshift.clusters.restore(name, record.map(|r| *r));
            }
            Change::MemorydbCluster { name, record } => {
                self.memorydb.clusters.restore(name, record.map(|r| *r));
            }
        }
    }
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

/// Every region's state.
#[derive(Debug)]
pub struct Regions {
    map: RwLock<HashMap<Scope, Arc<Mutex<RegionState>>>>,
    /// Whether regions remember their writes (only when they are logged).
    track: bool,
}

impl Regions {
    fn new(track: bool) -> Self {
        Regions {
            map: RwLock::new(HashMap::new()),
            track,
        }
    }
}

impl Regions {
    /// Runs `f` on the region, created in its built-in state on first use. The map stays
    /// read-locked meanwhile, so a reset never interleaves with a mutation.
    fn with<R>(&self, scope: &Scope, f: impl FnOnce(&mut RegionState) -> R) -> R {
        loop {
            {
                let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
                if let Some(region) = map.get(scope) {
                    let mut guard = region.lock().unwrap_or_else(PoisonError::into_inner);
                    return f(&mut guard);
                }
            }
            self.map
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(scope.clone())
                .or_insert_with(|| Arc::new(Mutex::new(RegionState::new(self.track))));
        }
    }

    /// Replaces a region with the records of a snapshot.
    fn load(&self, snapshot: RegionSnapshot) {
        let mut region = RegionState::new(self.track);
        region.memorydb.users = snapshot
            .users
            .into_iter()
            .map(|u| (u.name.clone(), u))
            .collect();
        region.memorydb.acls = snapshot
            .acls
            .into_iter()
            .map(|a| (a.name.clone(), a))
            .collect();
        region.memorydb.clusters = snapshot
            .memorydb_clusters
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect();
        region.redshift.clusters = snapshot
            .clusters
            .into_iter()
            .map(|c| (c.identifier.clone(), c))
            .collect();
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
    fn replay(&self, entry: Entry) {
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
    fn snapshot(&self) -> Vec<RegionSnapshot> {
        let regions: Vec<(Scope, Arc<Mutex<RegionState>>)> = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(s, r)| (s.clone(), Arc::clone(r)))
            .collect();
        let mut out: Vec<RegionSnapshot> = regions
            .into_iter()
            .map(|(scope, region)| {
                let r = region.lock().unwrap_or_else(PoisonError::into_inner);
                RegionSnapshot {
                    account: scope.account,
                    region: scope.region,
                    users: r.memorydb.users.values().cloned().collect(),
                    acls: r.memorydb.acls.values().cloned().collect(),
                    clusters: r.redshift.clusters.values().cloned().collect(),
                    memorydb_clusters: r.memorydb.clusters.values().cloned().collect(),
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        out
    }
}

/// The shared state of a server.
#[derive(Debug)]
pub struct AppState {
    defaults: Scope,
    settings: ServiceSettings,
    clock: Arc<Clock>,
    started: Instant,
    regions: Arc<Regions>,
    wal: Option<Wal>,
    /// The Redis servers behind MemoryDB clusters.
    pub redis: crate::engines::redis::Redis,
    /// The PostgreSQL servers behind Redshift clusters.
    pub postgres: crate::engines::postgres::Postgres,
}

impl AppState {
    /// State in memory only.
    #[must_use]
    pub fn new(defaults: Scope, settings: ServiceSettings) -> Self {
        AppState {
            defaults,
            redis: crate::engines::redis::Redis::new(settings.redis_server.as_deref()),
            postgres: crate::engines::postgres::Postgres::new(
                settings.postgres_bin_dir.as_deref(),
                None,
            ),
            settings,
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
    pub fn durable(
        defaults: Scope,
        settings: ServiceSettings,
        dir: &Path,
    ) -> Result<(Self, Recovery), String> {
        let regions = Arc::new(Regions::new(true));
        let (wal, recovery) = persist::open(dir, &regions)?;
        Ok((
            AppState {
                defaults,
                redis: crate::engines::redis::Redis::new(settings.redis_server.as_deref()),
                postgres: crate::engines::postgres::Postgres::new(
                    settings.postgres_bin_dir.as_deref(),
                    Some(dir),
                ),
                settings,
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
    pub fn read<T>(&self, scope: &Scope, f: impl FnOnce(&RegionState) -> T) -> T {
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
    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
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
        op: impl FnOnce(&mut RegionState) -> Result<T, E>,
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
                _ => region.forget_changes(),
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
            self.wal.as_ref().map(|wal| wal.append(&Entry::Reset))
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
