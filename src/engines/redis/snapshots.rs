//! Snapshots as real RDB data.
//!
//! A snapshot is a directory with one RDB file per shard (`0001.rdb`, ...), written by
//! each shard's primary (`SAVE`, under a name only memshift knows) and copied there; it
//! is made under a temporary name and renamed when complete, so a snapshot directory
//! exists only whole. A copy copies the files.
//!
//! A cluster made from a snapshot takes its keys once it is formed: each file is loaded
//! by a server of its own (not in cluster mode, on a loopback port, for memshift only),
//! and every key goes, with `DUMP` and `RESTORE` and its time to live, to the primary of
//! its slot. So a snapshot of any number of shards restores into any other.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use super::{
    ADMIN_USER, DesiredCluster, Redis, Running, Server, admin_connection, call, path_component,
    secret_command,
};
use crate::state::Scope;

/// A snapshot whose data must exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSnapshot {
    pub name: String,
    pub source: SnapshotSource,
}

/// Where a snapshot's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotSource {
    /// The running cluster of this name.
    Cluster(String),
    /// The snapshot of this name.
    Copy(String),
}

/// The subdirectory of a region's directory that holds its snapshots.
const SNAPSHOTS_DIR: &str = "snapshots";
/// What a snapshot's directory is called while it is being made.
const PARTIAL_PREFIX: &str = ".partial-";
/// Keys read from a snapshot in one round.
const KEYS_PER_ROUND: usize = 500;

impl Redis {
    /// The directory of a snapshot's data.
    pub(super) fn snapshot_dir(&self, scope: &Scope, name: &str) -> PathBuf {
        self.region_dir(scope)
            .join(SNAPSHOTS_DIR)
            .join(path_component(name))
    }

    /// Whether a snapshot's data is complete (always, when no servers run: a snapshot
    /// of a cluster without servers holds nothing to wait for).
    #[must_use]
    pub fn snapshot_ready(&self, scope: &Scope, name: &str) -> bool {
        self.binary.is_none() || self.snapshot_dir(scope, name).is_dir()
    }

    /// Makes the region's snapshots those asked for: takes or copies the missing ones and
    /// removes the rest. A snapshot whose source is gone stays missing.
    pub(super) async fn settle_snapshots(
        &self,
        scope: &Scope,
        running: &std::collections::HashMap<(Scope, String), Running>,
        wanted: &[DesiredSnapshot],
    ) {
        let root = self.region_dir(scope).join(SNAPSHOTS_DIR);
        super::remove_other_dirs(&root, wanted.iter().map(|s| path_component(&s.name)));
        // Copies after the snapshots they copy.
        let (taken, copies): (Vec<_>, Vec<_>) = wanted
            .iter()
            .partition(|s| matches!(s.source, SnapshotSource::Cluster(_)));
        for snapshot in taken.into_iter().chain(copies) {
            let target = self.snapshot_dir(scope, &snapshot.name);
            if target.is_dir() {
                continue;
            }
            let started = Instant::now();
            let result = match &snapshot.source {
                SnapshotSource::Cluster(cluster) => {
                    match running.get(&(scope.clone(), cluster.clone())) {
                        Some(formed) => self.take(formed, &target).await,
                        None => Err(format!("cluster {cluster} does not run")),
                    }
                }
                SnapshotSource::Copy(source) => {
                    let from = self.snapshot_dir(scope, source);
                    if from.is_dir() {
                        self.copy(&from, &target)
                    } else {
                        Err(format!("snapshot {source} holds no data"))
                    }
                }
            };
            match result {
                Ok(()) => tracing::info!(
                    snapshot = %snapshot.name,
                    millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "redis snapshot made"
                ),
                Err(e) => {
                    tracing::error!(snapshot = %snapshot.name, error = %e, "cannot make a redis snapshot");
                }
            }
        }
    }

    /// Writes each shard primary's data, as RDB, into a new snapshot directory.
    async fn take(&self, cluster: &Running, target: &Path) -> Result<(), String> {
        let partial = partial_dir(target)?;
        let save = secret_command("SAVE", &cluster.admin_password);
        for (index, shard) in cluster.shards.iter().enumerate() {
            let primary = primary_of(shard, &cluster.admin_password).await?;
            let mut conn = admin_connection(primary.backend, &cluster.admin_password).await?;
            call::<()>(&mut conn, &[&save]).await?;
            let file = partial.join(format!("{:04}.rdb", index + 1));
            std::fs::copy(primary.dir.join("dump.rdb"), &file)
                .map_err(|e| format!("cannot copy the RDB file: {e}"))?;
            let _ = std::fs::remove_file(primary.dir.join("dump.rdb"));
        }
        self.complete(&partial, target)
    }

    fn copy(&self, from: &Path, target: &Path) -> Result<(), String> {
        let partial = partial_dir(target)?;
        for file in rdb_files(from)? {
            let name = file.file_name().unwrap_or_default();
            std::fs::copy(&file, partial.join(name))
                .map_err(|e| format!("cannot copy {}: {e}", file.display()))?;
        }
        self.complete(&partial, target)
    }

    /// Makes a snapshot directory complete: its files on disk (with a data directory),
    /// then its final name.
    fn complete(&self, partial: &Path, target: &Path) -> Result<(), String> {
        if self.durable {
            for file in rdb_files(partial)? {
                std::fs::File::open(&file)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| format!("cannot sync {}: {e}", file.display()))?;
            }
        }
        std::fs::rename(partial, target).map_err(|e| format!("cannot complete the snapshot: {e}"))
    }

    /// Loads a snapshot's keys into a newly formed cluster, each to its slot's primary.
    /// Answers how many keys it loaded.
    pub(super) async fn restore(
        &self,
        binary: &Path,
        from: &Path,
        cluster: &Running,
        desired: &DesiredCluster,
    ) -> Result<usize, String> {
        let password = &cluster.admin_password;
        let mut primaries = Vec::new();
        for (shard, servers) in desired.shards.iter().zip(&cluster.shards) {
            let primary = primary_of(servers, password).await?;
            primaries.push((
                shard.slots,
                admin_connection(primary.backend, password).await?,
            ));
        }
        let mut keys = 0;
        for file in rdb_files(from)? {
            let work = cluster.dir.join(".restore");
            let _ = std::fs::remove_dir_all(&work);
            std::fs::create_dir_all(&work)
                .map_err(|e| format!("cannot create a directory: {e}"))?;
            std::fs::copy(&file, work.join("dump.rdb"))
                .map_err(|e| format!("cannot copy {}: {e}", file.display()))?;
            let loaded = load_into(binary, &work, password, &mut primaries).await;
            let _ = std::fs::remove_dir_all(&work);
            keys += loaded?;
        }
        Ok(keys)
    }
}

/// The directory a snapshot is made in, new and empty.
fn partial_dir(target: &Path) -> Result<PathBuf, String> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = target.with_file_name(format!("{PARTIAL_PREFIX}{name}"));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial)
        .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    Ok(partial)
}

/// A snapshot's RDB files, in shard order.
fn rdb_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rdb"))
        .collect();
    files.sort();
    Ok(files)
}

/// The server of a shard that is its primary now.
async fn primary_of<'a>(shard: &'a [Server], password: &str) -> Result<&'a Server, String> {
    for server in shard {
        if super::durable::role(server, password).await?.0 {
            return Ok(server);
        }
    }
    Err("the shard has no primary".to_owned())
}

/// Starts a server on the RDB file in `work`, and sends each of its keys to the primary
/// of its slot; the server is stopped after. Answers how many keys were sent.
async fn load_into(
    binary: &Path,
    work: &Path,
    password: &str,
    primaries: &mut [((u16, u16), MultiplexedConnection)],
) -> Result<usize, String> {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let d = work.display();
    let config = format!(
        "port {port}\nbind 127.0.0.1\ndaemonize no\nsave \"\"\nappendonly no\n\
         dir \"{d}\"\ndbfilename dump.rdb\nloglevel warning\nlogfile \"{d}/server.log\"\n\
         user default off\nuser {ADMIN_USER} on >{password} ~* &* +@all\n"
    );
    let mut child = super::spawn_configured(binary, &config).await?;
    let result = async {
        let mut source = loaded_server(port, password, &mut child).await?;
        send_keys(&mut source, primaries).await
    }
    .await;
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    result
}

/// A connection to the server on `port` once it has loaded its data.
async fn loaded_server(
    port: u16,
    password: &str,
    child: &mut tokio::process::Child,
) -> Result<MultiplexedConnection, String> {
    let started = Instant::now();
    loop {
        if let Ok(mut conn) = admin_connection(port, password).await
            && call::<String>(&mut conn, &["PING"]).await.is_ok()
        {
            return Ok(conn);
        }
        if !matches!(child.try_wait(), Ok(None)) {
            return Err("the server could not load the snapshot".to_owned());
        }
        if started.elapsed() > Duration::from_mins(1) {
            return Err("the snapshot did not load within 60 s".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every key of `source`, with its value and time to live, to the primary of its slot.
async fn send_keys(
    source: &mut MultiplexedConnection,
    primaries: &mut [((u16, u16), MultiplexedConnection)],
) -> Result<usize, String> {
    let mut cursor = "0".to_owned();
    let mut sent = 0;
    loop {
        let count = KEYS_PER_ROUND.to_string();
        let (next, keys): (String, Vec<Vec<u8>>) =
            call(source, &["SCAN", &cursor, "COUNT", &count]).await?;
        if !keys.is_empty() {
            let mut pipe = redis::pipe();
            for key in &keys {
                pipe.cmd("DUMP").arg(key).cmd("PTTL").arg(key);
            }
            let values: Vec<redis::Value> = query_pipe(source, &pipe).await?;
            let mut batches: Vec<(redis::Pipeline, usize)> =
                primaries.iter().map(|_| (redis::pipe(), 0)).collect();
            for (key, pair) in keys.iter().zip(values.chunks(2)) {
                let (redis::Value::BulkString(payload), redis::Value::Int(ttl)) =
                    (&pair[0], &pair[1])
                else {
                    // Gone (expired) since it was listed.
                    continue;
                };
                let slot = key_slot(key);
                let Some(target) = primaries
                    .iter()
                    .position(|((first, last), _)| (*first..=*last).contains(&slot))
                else {
                    return Err(format!("no shard serves slot {slot}"));
                };
                batches[target].1 += 1;
                batches[target]
                    .0
                    .cmd("RESTORE")
                    .arg(key)
                    .arg((*ttl).max(0))
                    .arg(payload)
                    .arg("REPLACE")
                    .ignore();
                sent += 1;
            }
            for ((batch, count), (_, conn)) in batches.iter().zip(primaries.iter_mut()) {
                if *count > 0 {
                    let () = query_pipe(conn, batch).await?;
                }
            }
        }
        if next == "0" {
            return Ok(sent);
        }
        cursor = next;
    }
}

async fn query_pipe<T: redis::FromRedisValue>(
    conn: &mut MultiplexedConnection,
    pipe: &redis::Pipeline,
) -> Result<T, String> {
    tokio::time::timeout(super::ADMIN_TIMEOUT, pipe.query_async(conn))
        .await
        .map_err(|_| "the server did not answer in time".to_owned())?
        .map_err(|e| e.to_string())
}

/// The hash slot of a key, as Redis Cluster computes it: CRC16 (XMODEM) of the key, or
/// of its hash tag (what is between the first `{` and the next `}`, when not empty),
/// modulo 16384.
fn key_slot(key: &[u8]) -> u16 {
    let hashed = key
        .iter()
        .position(|b| *b == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            rest.iter()
                .position(|b| *b == b'}')
                .filter(|close| *close > 0)
                .map(|close| &rest[..close])
        })
        .unwrap_or(key);
    crc16(hashed) % 16384
}

fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for byte in data {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_those_redis_cluster_computes() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    }
}
