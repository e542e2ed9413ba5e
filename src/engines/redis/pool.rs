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
//! every slot. The supervisor tops the pool up between calls.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{NodeStart, Redis, Server, admin_connection, call, secret_command, stop_server};
use crate::tls::endpoint_names;

/// How many servers are kept started ahead: the nodes of a cluster of 3 shards of 2.
pub const POOL_SIZE: usize = 6;
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
        let mut pool = self.pool.lock().await;
        pool.retain_mut(|s| matches!(s.server.child.try_wait(), Ok(None)));
        if pool.len() >= POOL_SIZE {
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
        let starts = (pool.len()..POOL_SIZE).map(|_| {
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
        pool.retain_mut(|s| matches!(s.server.child.try_wait(), Ok(None)));
        let oldest = (0..pool.len()).min_by_key(|i| pool[*i].born)?;
        Some(pool.remove(oldest).server)
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
/// their first two seconds, in which a primary is slow to call its cluster whole.
pub(super) async fn take_oldest(
    pool: &tokio::sync::Mutex<Vec<Spare>>,
    count: usize,
) -> Vec<Server> {
    let mut pool = pool.lock().await;
    pool.retain_mut(|s| matches!(s.server.child.try_wait(), Ok(None)));
    pool.sort_by_key(|s| s.born);
    let count = count.min(pool.len());
    pool.drain(..count).map(|s| s.server).collect()
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
            let dir = server.dir.clone();
            stop_server(server).await;
            let _ = std::fs::remove_dir_all(dir);
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
    use super::slots_to_give_up;

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
