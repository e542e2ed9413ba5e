//! A cluster formed ahead, of the shape last asked for.
//!
//! Even from spare servers, Redis takes a few hundred milliseconds to form a cluster:
//! nodes meet and learn each other's slots and roles only on their cluster timer, which
//! ticks every 100 ms. Test suites mostly make clusters of one shape again and again, so
//! once a cluster is made, memshift forms another of the same shape in the background,
//! on ports of its own. The next CreateCluster is given those ports for the new cluster's
//! nodes ([`Redis::hand_out_ahead`]); when the servers are then asked for that shape on
//! those ports, the cluster formed ahead becomes it ([`Redis::take_ahead`]): its
//! directories move to the new nodes', and it gets the cluster's users and endpoints.
//! A cluster formed ahead that was not taken soon after its ports were given out, or
//! whose shape is no longer the one asked for, is stopped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{
    DesiredCluster, NodeStart, Redis, Server, admin_connection, call, join, path_component, pool,
    secret_command, start_server, stop_server,
};
use crate::engines::endpoints::{Endpoints, Kind};
use crate::state::Scope;
use crate::tls::{Authority, endpoint_names};

/// The subdirectory of the root that holds the directories of a cluster formed ahead.
const AHEAD_DIR: &str = ".ahead";
/// How long a cluster formed ahead waits to be taken once its ports were given out.
const TAKE_WITHIN: Duration = Duration::from_secs(30);

/// A cluster's shape: each shard's node count and slots.
pub(super) type Shape = Vec<(usize, (u16, u16))>;

/// The shape of a desired cluster.
pub(super) fn shape_of(desired: &DesiredCluster) -> Shape {
    desired
        .shards
        .iter()
        .map(|s| (s.nodes.len(), s.slots))
        .collect()
}

/// A cluster formed ahead: its servers, shard by shard (primary first), and the ports
/// they announce, held as spares until given out.
pub(super) struct Ahead {
    shape: Shape,
    shards: Vec<Vec<Server>>,
    ports: Vec<u16>,
    /// When its ports were given out.
    handed: Option<Instant>,
}

/// The cluster formed ahead, the one being formed, and the shape wanted.
#[derive(Default)]
pub(super) struct AheadSlot {
    ready: Option<Ahead>,
    building: Option<tokio::task::JoinHandle<()>>,
    wanted: Option<Shape>,
}

type Shared = Arc<Mutex<AheadSlot>>;

fn lock(slot: &Shared) -> std::sync::MutexGuard<'_, AheadSlot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Redis {
    /// Asks for clusters of `desired`'s shape to be formed ahead from now on.
    pub(super) fn want_ahead(&self, desired: &DesiredCluster) {
        lock(&self.ahead).wanted = Some(shape_of(desired));
    }

    /// The node count of each shard of the cluster formed ahead and waiting to be taken.
    #[must_use]
    pub fn formed_ahead(&self) -> Option<Vec<usize>> {
        let slot = lock(&self.ahead);
        let ahead = slot.ready.as_ref().filter(|a| a.handed.is_none())?;
        Some(ahead.shape.iter().map(|(nodes, _)| *nodes).collect())
    }

    /// Ports for a new cluster's endpoints (the cluster's, then its nodes') from the
    /// cluster formed ahead, when it has `count - 1` nodes and its ports are not yet
    /// given out: they are then held for `scope`.
    pub fn hand_out_ahead(&self, scope: &Scope, count: usize) -> Option<Vec<u16>> {
        let mut slot = lock(&self.ahead);
        let ahead = slot.ready.as_mut()?;
        if ahead.handed.is_some()
            || ahead.ports.len() + 1 != count
            || !self.endpoints.hand_over(&ahead.ports, Kind::Redis, scope)
        {
            return None;
        }
        ahead.handed = Some(Instant::now());
        let mut ports = self.endpoints.reserve(Kind::Redis, scope, 1).ok()?;
        ports.extend(&ahead.ports);
        Some(ports)
    }

    /// The servers of the cluster formed ahead, as the nodes of `desired` in `dir`, when
    /// its ports were given out to that cluster and it has its shape; each with its
    /// endpoint's listener. A cluster formed ahead whose ports were given out is taken
    /// either way: if it does not fit, it is stopped.
    pub(super) async fn take_ahead(
        &self,
        desired: &DesiredCluster,
        dir: &Path,
    ) -> Option<Vec<Server>> {
        let ahead = {
            let mut slot = lock(&self.ahead);
            if slot.ready.as_ref().is_none_or(|a| a.handed.is_none()) {
                return None;
            }
            slot.ready.take()?
        };
        let names: Vec<&String> = desired.shards.iter().flat_map(|s| &s.nodes).collect();
        let fits = ahead.shape == shape_of(desired)
            && ahead
                .shards
                .iter()
                .flatten()
                .zip(&names)
                .all(|(server, name)| desired.node_ports.get(*name) == Some(&server.endpoint));
        if !fits {
            self.discard(ahead).await;
            return None;
        }
        let mut servers = Vec::new();
        let mut failure = None;
        for (mut server, name) in ahead.shards.into_iter().flatten().zip(names) {
            let node_dir = dir.join(path_component(name));
            let moved =
                std::fs::create_dir_all(dir).and_then(|()| std::fs::rename(&server.dir, &node_dir));
            match (moved, self.endpoints.bind(Some(server.endpoint))) {
                (Ok(()), Ok(listener)) => {
                    server.dir = node_dir;
                    server.name.clone_from(name);
                    server.listener = Some(listener);
                }
                (Err(e), _) | (_, Err(e)) => failure = Some(e),
            }
            servers.push(server);
        }
        if let Some(e) = failure {
            tracing::warn!(error = %e, "a cluster formed ahead could not be used");
            discard(vec![servers]).await;
            return None;
        }
        Some(servers)
    }

    /// Keeps a cluster of the wanted shape formed ahead: stops one that is not wanted,
    /// that lost a server or that waited too long to be taken, and starts forming one
    /// when there is none.
    pub(super) async fn keep_ahead(&self) {
        let Some(binary) = self.binary.clone() else {
            return;
        };
        let stale = {
            let mut slot = lock(&self.ahead);
            if slot
                .building
                .as_ref()
                .is_some_and(tokio::task::JoinHandle::is_finished)
            {
                slot.building = None;
            }
            let wanted = slot.wanted.clone();
            let stale = slot.ready.as_mut().is_some_and(|ahead| {
                Some(&ahead.shape) != wanted.as_ref()
                    || ahead.handed.is_some_and(|at| at.elapsed() > TAKE_WITHIN)
                    || (ahead.handed.is_none() && !self.endpoints.spares_held(&ahead.ports))
                    || ahead
                        .shards
                        .iter_mut()
                        .flatten()
                        .any(|s| !matches!(s.child.try_wait(), Ok(None)))
            });
            let stale = if stale { slot.ready.take() } else { None };
            if slot.ready.is_none()
                && slot.building.is_none()
                && let (Some(shape), Some(authority)) = (wanted, self.tls.get())
            {
                let build = Build {
                    binary,
                    endpoints: Arc::clone(&self.endpoints),
                    authority: Arc::clone(authority),
                    admin_password: self.admin_password.clone(),
                    root: self.root.join(AHEAD_DIR),
                    durable: self.durable,
                    sockets: self.sockets.clone(),
                };
                slot.building = Some(tokio::spawn(build.run(shape, Arc::clone(&self.ahead))));
            }
            stale
        };
        if let Some(ahead) = stale {
            self.discard(ahead).await;
        }
    }

    /// Stops a cluster formed ahead; its spare ports go back.
    async fn discard(&self, ahead: Ahead) {
        if ahead.handed.is_none() {
            self.endpoints.release_spares(&ahead.ports);
        }
        discard(ahead.shards).await;
    }

    /// Stops the cluster formed ahead and the one being formed (at shutdown and reset);
    /// their directories go.
    pub(super) async fn drain_ahead(&self) {
        let (ready, building) = {
            let mut slot = lock(&self.ahead);
            slot.wanted = None;
            (slot.ready.take(), slot.building.take())
        };
        if let Some(task) = building {
            task.abort();
            let _ = task.await;
        }
        if let Some(ahead) = ready {
            self.discard(ahead).await;
        }
        self.endpoints.release_every_spare();
        let _ = std::fs::remove_dir_all(self.root.join(AHEAD_DIR));
    }
}

/// Stops servers and removes their directories.
async fn discard(shards: Vec<Vec<Server>>) {
    for server in shards.into_iter().flatten() {
        let dir = server.dir.clone();
        stop_server(server).await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// What forming a cluster ahead needs, owned by its task.
struct Build {
    binary: PathBuf,
    endpoints: Arc<Endpoints>,
    authority: Arc<Authority>,
    admin_password: String,
    root: PathBuf,
    durable: bool,
    sockets: PathBuf,
}

impl Build {
    async fn run(self, shape: Shape, slot: Shared) {
        let started = Instant::now();
        match self.form(&shape).await {
            Ok((shards, ports)) => {
                tracing::debug!(
                    millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "redis cluster formed ahead"
                );
                let unwanted = {
                    let mut guard = lock(&slot);
                    if guard.wanted.as_ref() == Some(&shape) && guard.ready.is_none() {
                        guard.ready = Some(Ahead {
                            shape,
                            shards,
                            ports,
                            handed: None,
                        });
                        None
                    } else {
                        Some((shards, ports))
                    }
                };
                if let Some((shards, ports)) = unwanted {
                    self.endpoints.release_spares(&ports);
                    discard(shards).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot form a redis cluster ahead"),
        }
    }

    /// Starts the servers, each announcing a spare port, and joins them as `shape`
    /// says; all or none.
    async fn form(&self, shape: &Shape) -> Result<(Vec<Vec<Server>>, Vec<u16>), String> {
        let inner = self.authority.issue(&endpoint_names(Vec::new()))?;
        let ca = self.authority.cert_pem()?;
        let count = shape.iter().map(|(nodes, _)| nodes).sum();
        let ports = self.endpoints.reserve_spare(count).map_err(|e| e.0)?;
        let mut shards: Vec<Vec<Server>> = Vec::new();
        let mut next = ports.iter();
        let started = async {
            for (nodes, _) in shape {
                let mut shard = Vec::new();
                for port in next.by_ref().take(*nodes) {
                    let mut tag = [0u8; 6];
                    rand::fill(&mut tag);
                    shard.push(
                        start_server(NodeStart {
                            binary: &self.binary,
                            cluster: "",
                            name: "ahead",
                            announced: (self.endpoints.host(), *port),
                            inner: &inner,
                            ca_pem: ca,
                            admin_password: &self.admin_password,
                            dir: self.root.join(hex::encode(tag)),
                            durable: self.durable,
                            sockets: &self.sockets,
                        })
                        .await?,
                    );
                }
                shards.push(shard);
            }
            Ok::<(), String>(())
        };
        let mut result = started.await;
        if result.is_ok() {
            result = self.join(&shards, shape).await;
        }
        match result {
            Ok(()) => Ok((shards, ports)),
            Err(e) => {
                self.endpoints.release_spares(&ports);
                discard(shards).await;
                Err(e)
            }
        }
    }

    /// Forms the cluster with a short node timeout (nodes ping each other at half of it),
    /// then gives it the usual one.
    async fn join(&self, shards: &[Vec<Server>], shape: &Shape) -> Result<(), String> {
        let config = secret_command("CONFIG", &self.admin_password);
        for server in shards.iter().flatten() {
            let mut conn = admin_connection(server.backend, &self.admin_password).await?;
            call::<()>(
                &mut conn,
                &[
                    &config,
                    "SET",
                    "cluster-node-timeout",
                    pool::SPARE_NODE_TIMEOUT,
                ],
            )
            .await?;
        }
        let slots: Vec<(u16, u16)> = shape.iter().map(|(_, slots)| *slots).collect();
        join(shards, &self.admin_password, &slots).await?;
        for server in shards.iter().flatten() {
            pool::formed(&server.dir);
        }
        pool::settle_timeouts(shards.iter().flatten(), &self.admin_password).await
    }
}
