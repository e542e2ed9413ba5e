//! Servers started ahead, so that a new cluster forms in a fraction of a second.
//!
//! A Redis primary that has just started refuses to call its cluster whole for its first
//! two seconds (it waits for the cluster to tell it whether it is still a primary), so a
//! cluster of new servers takes two seconds to form, whatever else is fast. Once MemoryDB
//! clusters are in use, memshift keeps a few servers running ahead ([`POOL_SIZE`]), each
//! in cluster mode but in no cluster, with the instance's admin user and the nodes'
//! certificate. A new node takes one of them, oldest first: its directory is moved to the
//! node's, and it is told the endpoint it announces. The supervisor tops the pool up
//! between calls.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{NodeStart, Redis, Server, admin_connection, call, secret_command, stop_server};
use crate::tls::endpoint_names;

/// How many servers are kept started ahead: the nodes of a cluster of 3 shards of 2.
pub const POOL_SIZE: usize = 6;
/// The subdirectory of the root that holds the spare servers' directories.
const POOL_DIR: &str = ".pool";

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
            })
        });
        for started in futures_util::future::join_all(starts).await {
            let started = match started {
                Ok(server) => shorten_timeout(server, &self.admin_password).await,
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
        self.pool_wanted.store(true, Ordering::Relaxed);
        let mut pool = self.pool.lock().await;
        pool.retain_mut(|s| matches!(s.server.child.try_wait(), Ok(None)));
        let oldest = (0..pool.len()).min_by_key(|i| pool[*i].born)?;
        Some(pool.remove(oldest).server)
    }

    /// Stops the spare servers (at shutdown and reset); their directories go.
    pub(super) async fn drain_pool(&self) {
        let spares: Vec<Spare> = std::mem::take(&mut *self.pool.lock().await);
        for spare in spares {
            stop_server(spare.server).await;
        }
        let _ = std::fs::remove_dir_all(self.root.join(POOL_DIR));
    }
}

/// The node timeout of a spare, until its cluster is formed. A primary that was in a
/// minority (as a spare is, alone) calls its cluster whole only a node timeout after it
/// left it (at least half a second): the shortest timeout makes the shortest wait.
const SPARE_NODE_TIMEOUT: &str = "500";
/// The node timeout of a formed cluster's nodes (as their configuration sets it).
const NODE_TIMEOUT: &str = "5000";

async fn shorten_timeout(server: Server, admin_password: &str) -> Result<Server, String> {
    let config = secret_command("CONFIG", admin_password);
    let set = async {
        let mut conn = admin_connection(server.backend, admin_password).await?;
        call::<()>(
            &mut conn,
            &[&config, "SET", "cluster-node-timeout", SPARE_NODE_TIMEOUT],
        )
        .await
    };
    match set.await {
        Ok(()) => Ok(server),
        Err(e) => {
            stop_server(server).await;
            Err(e)
        }
    }
}

/// Gives every node of a newly formed cluster the usual node timeout.
pub(super) async fn settle_timeouts(cluster: &super::Running) -> Result<(), String> {
    let config = secret_command("CONFIG", &cluster.admin_password);
    for server in cluster.servers() {
        let mut conn = admin_connection(server.backend, &cluster.admin_password).await?;
        call::<()>(
            &mut conn,
            &[&config, "SET", "cluster-node-timeout", NODE_TIMEOUT],
        )
        .await?;
    }
    Ok(())
}

/// Makes a spare server the node `name`: its directory becomes the node's, and it
/// announces `endpoint`.
pub(super) async fn adopt(
    mut server: Server,
    name: &str,
    endpoint: u16,
    dir: &Path,
    admin_password: &str,
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
        call::<()>(&mut conn, &[&config, "SET", "cluster-announce-port", &port]).await
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
