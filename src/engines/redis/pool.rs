//! Servers started ahead, so that a new cluster forms in a fraction of a second.
//!
//! Redis is slow to call a new cluster whole for two reasons, both constants of the
//! server: a primary that has just started waits two seconds (for the cluster to tell it
//! whether it is still a primary), and a primary that was in a minority (as a server
//! alone without slots is) waits at least half a second after it left it. Once MemoryDB
//! clusters are in use, memshift keeps a few servers running ahead ([`POOL_SIZE`]), each
//! in cluster mode with the instance's admin user and the nodes' certificate, and each a
//! cluster of its own that holds every slot, so already whole and in no minority. A new
//! node takes one of them, oldest first: its directory is moved to the node's, and it is
//! told the endpoint it announces. A new cluster's primary then gives up the slots of the
//! other shards: its cluster is incomplete until it has met their primaries, but it never
//! was in a minority, so it is whole as soon as they have met. Any other node gives up
//! every slot. The supervisor tops the pool up between calls; while clusters come faster
//! than spares grow two seconds old, the pool holds more of them ([`Demand`]).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{
    NodeStart, Redis, Server, admin_connection, call, discard_server, secret_command, stop_server,
};
use crate::tls::endpoint_names;

/// How many servers are kept started ahead: the nodes of a cluster of 3 shards of 2.
pub const POOL_SIZE: usize = 6;
/// How many at most, while clusters come faster than spares grow old (see [`Demand`]).
const MAX_POOL_SIZE: usize = 12;
/// How old a spare must be for a primary taken from it not to wait: Redis's
/// `CLUSTER_WRITABLE_DELAY`.
const MATURE: Duration = Duration::from_secs(2);
/// How long a larger pool is kept after the last time it was short of old spares.
const KEEP_LARGER: Duration = Duration::from_mins(1);
/// The subdirectory of the root that holds the spare servers' directories.
const POOL_DIR: &str = ".pool";
/// A file in a spare's directory until the cluster that took it is formed: a node whose
/// directory has it was never part of a whole cluster, and is not resumed.
pub(super) const UNFORMED_FILE: &str = "memshift-unformed";

/// A server started ahead, and when.
pub(super) struct Spare {
    server: Server,
    born: Instant,
}

/// How many spares the pool holds. Each cluster formed ahead takes one spare per
/// shard as its primaries, the oldest first; when clusters come faster than spares grow
/// two seconds old, those primaries wait out the rest. The pool then grows by that many
/// (up to [`MAX_POOL_SIZE`]), so that the spares taken next are older, and shrinks back
/// to [`POOL_SIZE`] a minute after it was last short.
#[derive(Debug)]
pub(super) struct Demand {
    size: usize,
    short_at: Option<Instant>,
}

impl Default for Demand {
    fn default() -> Self {
        Demand {
            size: POOL_SIZE,
            short_at: None,
        }
    }
}

impl Demand {
    /// Takes note of spares of `ages` taken as primaries at `now`.
    pub(super) fn taken(&mut self, ages: &[Duration], now: Instant) {
        let young = ages.iter().filter(|age| **age < MATURE).count();
        if young > 0 {
            self.size = (self.size + young).min(MAX_POOL_SIZE);
            self.short_at = Some(now);
        }
    }

    /// How many spares the pool should hold at `now`.
    pub(super) fn size(&mut self, now: Instant) -> usize {
        if self
            .short_at
            .is_some_and(|at| now.saturating_duration_since(at) > KEEP_LARGER)
        {
            *self = Demand::default();
        }
        self.size
    }
}

impl Redis {
    /// Starts servers ahead until the pool is full, when MemoryDB clusters are in use and
    /// no cluster is being changed (a change may be taking spares meanwhile).
    pub async fn top_up(&self) {
        if !self.pool_wanted.load(Ordering::Relaxed) {
            return;
        }
        self.keep_ahead().await;
        let Some(binary) = self.binary.clone() else {
            return;
        };
        let Ok(_changing) = self.clusters.try_lock() else {
            return;
        };
        let size = self
            .demand
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .size(Instant::now());
        let mut pool = self.pool.lock().await;
        pool.retain_mut(|s| matches!(s.server.child.try_wait(), Ok(None)));
        if pool.len() > size {
            // The youngest of those no longer wanted go.
            pool.sort_by_key(|s| s.born);
            let extra: Vec<Spare> = pool.drain(size..).collect();
            drop(pool);
            for spare in extra {
                discard_server(spare.server).await;
            }
            return;
        }
        if pool.len() == size {
            return;
        }
        let root = self.root.join(POOL_DIR);
        if pool.is_empty() {
            // Directories of spares of an earlier run.
            let _ = std::fs::remove_dir_all(&root);
        }
        let Some(authority) = self.tls.get().cloned() else {
            return;
        };
        let (Ok(inner), Ok(ca)) = (
            authority.issue(&endpoint_names(Vec::new())),
            authority.cert_pem(),
        ) else {
            return;
        };
        let starts = (pool.len()..size).map(|_| {
            let mut tag = [0u8; 6];
            rand::fill(&mut tag);
            super::start_server(NodeStart {
                binary: &binary,
                cluster: "",
                name: "spare",
                announced: (self.endpoints.host(), 0),
                inner: &inner,
                ca_pem: ca,
                admin_password: &self.admin_password,
                dir: root.join(hex::encode(tag)),
                durable: self.durable,
                sockets: &self.sockets,
            })
        });
        for started in futures_util::future::join_all(starts).await {
            let started = match started {
                Ok(server) => prepare(server, &self.admin_password).await,
                Err(e) => Err(e),
            };
            match started {
                Ok(server) => pool.push(Spare {
                    server,
                    born: Instant::now(),
                }),
                Err(e) => tracing::warn!(error = %e, "cannot start a spare redis server"),
            }
        }
    }

    /// The oldest spare server, if any; spares are wanted from now on.
    pub(super) async fn take_spare(&self) -> Option<Server> {
        if !self.ahead_allowed {
            return None;
        }
        self.pool_wanted.store(true, Ordering::Relaxed);
        let mut pool = self.pool.lock().await;
        drain_oldest(&mut pool, 1).pop().map(|s| s.server)
    }

    /// Stops the spare servers (at shutdown and reset); their directories go.
    pub(super) async fn drain_pool(&self) {
        self.drain_ahead().await;
        let spares: Vec<Spare> = std::mem::take(&mut *self.pool.lock().await);
        for spare in spares {
            stop_server(spare.server).await;
        }
        let _ = std::fs::remove_dir_all(self.root.join(POOL_DIR));
    }
}

/// Up to `count` spare servers of `pool`, the oldest first: those most likely past
/// their first two seconds, in which a primary is slow to call its cluster whole. Their
/// ages go to `demand`.
pub(super) async fn take_oldest(
    pool: &tokio::sync::Mutex<Vec<Spare>>,
    demand: &std::sync::Mutex<Demand>,
    count: usize,
) -> Vec<Server> {
    let taken = drain_oldest(&mut *pool.lock().await, count);
    let now = Instant::now();
    let ages: Vec<Duration> = taken
        .iter()
        .map(|s| now.saturating_duration_since(s.born))
        .collect();
    demand
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .taken(&ages, now);
    taken.into_iter().map(|s| s.server).collect()
}

/// Up to `count` of the spares still running in `pool`, taken out of it, the oldest
/// first.
fn drain_oldest(pool: &mut Vec<Spare>, count: usize) -> Vec<Spare> {
    pool.retain_mut(|s| matches!(s.server.child.try_wait(), Ok(None)));
    pool.sort_by_key(|s| s.born);
    pool.drain(..count.min(pool.len())).collect()
}

/// The node timeout of a spare, until its cluster is formed: nodes ping each other at
/// half of it, and the first pings carry what each node holds.
pub(super) const SPARE_NODE_TIMEOUT: &str = "200";
/// The node timeout of a formed cluster's nodes (as their configuration sets it).
const NODE_TIMEOUT: &str = "5000";

/// Makes a started server a spare: a short node timeout, and every slot its own.
async fn prepare(mut server: Server, admin_password: &str) -> Result<Server, String> {
    let config = secret_command("CONFIG", admin_password);
    let set = async {
        std::fs::write(server.dir.join(UNFORMED_FILE), b"")
            .map_err(|e| format!("cannot mark a spare: {e}"))?;
        let mut conn = admin_connection(server.backend, admin_password).await?;
        call::<()>(
            &mut conn,
            &[&config, "SET", "cluster-node-timeout", SPARE_NODE_TIMEOUT],
        )
        .await?;
        call::<()>(&mut conn, &["CLUSTER", "ADDSLOTSRANGE", "0", LAST_SLOT]).await
    };
    match set.await {
        Ok(()) => {
            server.holds_all_slots = true;
            Ok(server)
        }
        Err(e) => {
            stop_server(server).await;
            Err(e)
        }
    }
}

/// The last of Redis Cluster's 16,384 slots.
const LAST_SLOT: &str = "16383";

/// Gives every node of a newly formed cluster the usual node timeout.
pub(super) async fn settle_timeouts<'a>(
    servers: impl IntoIterator<Item = &'a Server>,
    admin_password: &str,
) -> Result<(), String> {
    let config = secret_command("CONFIG", admin_password);
    for server in servers {
        let mut conn = admin_connection(server.backend, admin_password).await?;
        call::<()>(
            &mut conn,
            &[&config, "SET", "cluster-node-timeout", NODE_TIMEOUT],
        )
        .await?;
    }
    Ok(())
}

/// Makes a spare server the node `name`: its directory becomes the node's, and it
/// announces `endpoint`. A new cluster's primary keeps its slots (`keep_slots`), to give
/// up those of other shards when it joins them; any other node gives them all up now.
pub(super) async fn adopt(
    mut server: Server,
    (name, endpoint): (&str, u16),
    dir: &Path,
    admin_password: &str,
    keep_slots: bool,
) -> Result<Server, String> {
    let adopted = async {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        // The server works in its directory by relative names: it follows the move.
        std::fs::rename(&server.dir, dir).map_err(|e| format!("cannot move a spare: {e}"))?;
        server.dir = dir.to_path_buf();
        let mut conn = admin_connection(server.backend, admin_password).await?;
        let config = secret_command("CONFIG", admin_password);
        let port = endpoint.to_string();
        call::<()>(&mut conn, &[&config, "SET", "cluster-announce-port", &port]).await?;
        if !keep_slots && server.holds_all_slots {
            call::<()>(&mut conn, &["CLUSTER", "FLUSHSLOTS"]).await?;
            server.holds_all_slots = false;
            formed(&server.dir);
        }
        Ok::<(), String>(())
    }
    .await;
    match adopted {
        Ok(()) => {
            server.name = name.to_owned();
            server.endpoint = endpoint;
            Ok(server)
        }
        Err(e) => {
            discard_server(server).await;
            Err(e)
        }
    }
}

/// The slot ranges a spare that holds every slot gives up to keep `first..=last`.
pub(super) fn slots_to_give_up(first: u16, last: u16) -> Vec<String> {
    let mut ranges = Vec::new();
    if first > 0 {
        ranges.extend([0.to_string(), (first - 1).to_string()]);
    }
    if last < 16383 {
        ranges.extend([(last + 1).to_string(), LAST_SLOT.to_owned()]);
    }
    ranges
}

/// Marks a node's directory as that of a node of a formed cluster.
pub(super) fn formed(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(UNFORMED_FILE));
}

/// Whether a node directory is that of a spare taken by a cluster never formed.
pub(super) fn unformed(dir: &Path) -> bool {
    dir.join(UNFORMED_FILE).exists()
}

#[cfg(test)]
mod tests {
    use super::{Demand, MAX_POOL_SIZE, POOL_SIZE, slots_to_give_up};
    use std::time::{Duration, Instant};

    #[test]
    fn the_pool_grows_while_spares_are_taken_young_and_shrinks_a_minute_later() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut demand = Demand::default();
        assert_eq!(demand.size(at(0)), POOL_SIZE);
        // Old spares: no change.
        demand.taken(&[Duration::from_secs(3), Duration::from_secs(5)], at(1));
        assert_eq!(demand.size(at(1)), POOL_SIZE);
        // Two of three primaries came from spares younger than two seconds.
        let young = [
            Duration::from_millis(900),
            Duration::from_secs(4),
            Duration::ZERO,
        ];
        demand.taken(&young, at(2));
        assert_eq!(demand.size(at(2)), POOL_SIZE + 2);
        for s in 3..10 {
            demand.taken(&young, at(s));
        }
        assert_eq!(demand.size(at(10)), MAX_POOL_SIZE);
        // A minute after it was last short, the pool is back to its size.
        assert_eq!(demand.size(at(69)), MAX_POOL_SIZE);
        assert_eq!(demand.size(at(71)), POOL_SIZE);
        demand.taken(&[], at(72));
        assert_eq!(demand.size(at(72)), POOL_SIZE);
    }

    #[test]
    fn a_primary_gives_up_every_slot_outside_its_range() {
        assert_eq!(slots_to_give_up(0, 5460), ["5461", "16383"]);
        assert_eq!(
            slots_to_give_up(5461, 10922),
            ["0", "5460", "10923", "16383"]
        );
        assert_eq!(slots_to_give_up(10923, 16383), ["0", "10922"]);
        assert!(slots_to_give_up(0, 16383).is_empty());
    }
}
