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
//!
//! Its ports are held from the moment its formation starts, so a CreateCluster that comes
//! while it is still forming is given them too, and waits for it: never longer than
//! forming a cluster of its own would take. Its primaries are the oldest spare servers
//! (see [`pool`]): a primary is slow to call its cluster whole only in its first two
//! seconds, and a replica never is, so the replicas are new servers and the spares are
//! kept for primaries.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{
    DesiredCluster, NodeStart, Redis, Server, admin_connection, call, discard_server, join,
    path_component, pool, secret_command, start_server,
};
use crate::engines::endpoints::{Endpoints, Kind};
use crate::state::Scope;
use crate::tls::{Authority, endpoint_names};

/// The subdirectory of the root that holds the directories of a cluster formed ahead.
const AHEAD_DIR: &str = ".ahead";
/// How long a cluster formed ahead waits to be taken once its ports were given out.
const TAKE_WITHIN: Duration = Duration::from_secs(30);
/// How long a new cluster given the ports of a cluster still forming ahead waits for it,
/// before it forms on those ports from other servers.
const WAIT_FOR_FORMING: Duration = Duration::from_secs(20);

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
    /// The directory of its formation, which holds its servers' directories.
    dir: PathBuf,
}

/// A cluster being formed ahead, whose ports are held (as spares until given out).
struct Forming {
    shape: Shape,
    ports: Vec<u16>,
    /// The directory of its servers' directories, its own.
    dir: PathBuf,
    /// When its ports were given out.
    handed: Option<Instant>,
    task: JoinHandle<()>,
    /// Closed once the formation has ended: its cluster is then `ready`, or gone.
    done: watch::Receiver<()>,
}

/// The cluster formed ahead, the one being formed, and the shape wanted.
#[derive(Default)]
pub(super) struct AheadSlot {
    ready: Option<Ahead>,
    building: Option<Forming>,
    wanted: Option<Shape>,
}

type Shared = Arc<Mutex<AheadSlot>>;

fn lock(slot: &Shared) -> std::sync::MutexGuard<'_, AheadSlot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Redis {
    /// Asks for clusters of `desired`'s shape to be formed ahead from now on.
    pub(super) fn want_ahead(&self, desired: &DesiredCluster) {
        if !self.ahead_allowed {
            return;
        }
        lock(&self.ahead).wanted = Some(shape_of(desired));
    }

    /// The node count of each shard of the cluster formed ahead and waiting to be taken.
    #[must_use]
    pub fn formed_ahead(&self) -> Option<Vec<usize>> {
        let slot = lock(&self.ahead);
        let ahead = slot.ready.as_ref().filter(|a| a.handed.is_none())?;
        Some(ahead.shape.iter().map(|(nodes, _)| *nodes).collect())
    }

    /// The node count of each shard of the cluster being formed ahead, if any.
    #[must_use]
    pub fn forming_ahead(&self) -> Option<Vec<usize>> {
        let slot = lock(&self.ahead);
        let forming = slot.building.as_ref().filter(|f| !f.task.is_finished())?;
        Some(forming.shape.iter().map(|(nodes, _)| *nodes).collect())
    }

    /// Ports for a new cluster's endpoints (the cluster's, then its nodes') from the
    /// cluster formed ahead, or being formed, when it has `count - 1` nodes and its ports
    /// are not yet given out: they are then held for `scope`.
    pub fn hand_out_ahead(&self, scope: &Scope, count: usize) -> Option<Vec<u16>> {
        let mut guard = lock(&self.ahead);
        let slot = &mut *guard;
        let (ports, handed) = if let Some(ahead) = slot.ready.as_mut() {
            (&ahead.ports, &mut ahead.handed)
        } else {
            let forming = slot.building.as_mut()?;
            (&forming.ports, &mut forming.handed)
        };
        if handed.is_some()
            || ports.len() + 1 != count
            || !self.endpoints.hand_over(ports, Kind::Redis, scope)
        {
            return None;
        }
        *handed = Some(Instant::now());
        let mut given = self.endpoints.reserve(Kind::Redis, scope, 1).ok()?;
        given.extend(ports);
        Some(given)
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
        let forming = {
            let slot = lock(&self.ahead);
            match (&slot.ready, &slot.building) {
                (Some(ahead), _) if ahead.handed.is_some() => None,
                (None, Some(forming)) if forming.handed.is_some() => {
                    Some((forming.shape == shape_of(desired)).then(|| forming.done.clone()))
                }
                _ => return None,
            }
        };
        if let Some(done) = forming {
            // The formation drops its sender when it ends; nothing is ever sent.
            let ended = match done {
                Some(mut done) => tokio::time::timeout(WAIT_FOR_FORMING, done.changed())
                    .await
                    .is_ok(),
                None => false,
            };
            if !ended {
                tracing::debug!("the cluster being formed ahead is not used");
                self.stop_given_out().await;
                return None;
            }
        }
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
        let formation = ahead.dir;
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
            let _ = std::fs::remove_dir_all(&formation);
            return None;
        }
        // Empty now: its servers' directories are the nodes'.
        let _ = std::fs::remove_dir_all(&formation);
        Some(servers)
    }

    /// Stops the cluster formed or being formed ahead whose ports were given out to a
    /// cluster that does not use it.
    async fn stop_given_out(&self) {
        let (forming, ready) = {
            let mut slot = lock(&self.ahead);
            (
                slot.building.take_if(|f| f.handed.is_some()),
                slot.ready.take_if(|a| a.handed.is_some()),
            )
        };
        if let Some(forming) = forming {
            end(forming).await;
        }
        if let Some(ahead) = ready {
            self.discard(ahead).await;
        }
    }

    /// Keeps a cluster of the wanted shape formed ahead: stops one that is not wanted,
    /// that lost a server or that waited too long to be taken, and starts forming one
    /// when there is none.
    pub(super) async fn keep_ahead(&self) {
        let Some(binary) = self.binary.clone() else {
            return;
        };
        let (stale, ended) = {
            let mut slot = lock(&self.ahead);
            // A formation that ended without saying so (it panicked).
            let ended = slot.building.take_if(|f| f.task.is_finished());
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
                let count = shape.iter().map(|(nodes, _)| nodes).sum();
                match self.endpoints.reserve_spare(count) {
                    Ok(ports) => {
                        let mut tag = [0u8; 6];
                        rand::fill(&mut tag);
                        let dir = self.root.join(AHEAD_DIR).join(hex::encode(tag));
                        let build = Build {
                            binary,
                            endpoints: Arc::clone(&self.endpoints),
                            authority: Arc::clone(authority),
                            admin_password: self.admin_password.clone(),
                            root: dir.clone(),
                            durable: self.durable,
                            sockets: self.sockets.clone(),
                            pool: Arc::clone(&self.pool),
                            demand: Arc::clone(&self.demand),
                        };
                        let (finished, done) = watch::channel(());
                        let task = tokio::spawn(build.run(
                            shape.clone(),
                            ports.clone(),
                            Arc::clone(&self.ahead),
                            finished,
                        ));
                        slot.building = Some(Forming {
                            shape,
                            ports,
                            dir,
                            handed: None,
                            task,
                            done,
                        });
                    }
                    Err(e) => {
                        tracing::debug!(error = %e.0, "no ports to form a redis cluster ahead");
                    }
                }
            }
            (stale, ended)
        };
        if let Some(ended) = ended {
            if ended.handed.is_none() {
                self.endpoints.release_spares(&ended.ports);
            }
            end(ended).await;
        }
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
        let _ = std::fs::remove_dir_all(&ahead.dir);
    }

    /// Stops the cluster formed ahead and the one being formed (at shutdown and reset);
    /// their directories go.
    pub(super) async fn drain_ahead(&self) {
        let (ready, building) = {
            let mut slot = lock(&self.ahead);
            slot.wanted = None;
            (slot.ready.take(), slot.building.take())
        };
        if let Some(forming) = building {
            end(forming).await;
        }
        if let Some(ahead) = ready {
            self.discard(ahead).await;
        }
        self.endpoints.release_every_spare();
        let _ = std::fs::remove_dir_all(self.root.join(AHEAD_DIR));
    }
}

/// Ends a formation: the servers it started stop with its task, and its directory goes.
async fn end(forming: Forming) {
    forming.task.abort();
    let _ = forming.task.await;
    let _ = std::fs::remove_dir_all(&forming.dir);
}

/// Stops servers and removes their directories.
async fn discard(shards: Vec<Vec<Server>>) {
    for server in shards.into_iter().flatten() {
        discard_server(server).await;
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
    /// The spare servers, whose oldest become the primaries.
    pool: Arc<tokio::sync::Mutex<Vec<pool::Spare>>>,
    /// How many spares the pool holds, which learns from the ages of those taken.
    demand: Arc<Mutex<pool::Demand>>,
}

impl Build {
    /// Forms a cluster of `shape` announcing `ports`; it is then the one formed ahead,
    /// if it is still wanted or its ports were given out. `finished` is dropped at the
    /// end.
    async fn run(self, shape: Shape, ports: Vec<u16>, slot: Shared, finished: watch::Sender<()>) {
        let started = Instant::now();
        let formed = self.form(&shape, &ports).await;
        let unwanted = {
            let mut guard = lock(&slot);
            // Whether this is still the slot's formation (a reset ends it), and whether its
            // ports were given out.
            let handed = guard
                .building
                .take_if(|f| f.ports == ports && f.task.id() == tokio::task::id())
                .map(|f| f.handed);
            match (formed, handed) {
                (Ok(shards), Some(handed))
                    if handed.is_some()
                        || (guard.wanted.as_ref() == Some(&shape) && guard.ready.is_none()) =>
                {
                    tracing::debug!(
                        millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        given_out = handed.is_some(),
                        "redis cluster formed ahead"
                    );
                    guard
                        .ready
                        .replace(Ahead {
                            shape,
                            shards,
                            ports: ports.clone(),
                            handed,
                            dir: self.root.clone(),
                        })
                        .map(|old| {
                            (
                                old.shards,
                                old.handed.is_none().then_some(old.ports),
                                old.dir,
                            )
                        })
                }
                (Ok(shards), handed) => Some((
                    shards,
                    handed.is_some_and(|h| h.is_none()).then(|| ports.clone()),
                    self.root.clone(),
                )),
                (Err(e), handed) => {
                    tracing::warn!(error = %e, "cannot form a redis cluster ahead");
                    Some((
                        Vec::new(),
                        handed.is_some_and(|h| h.is_none()).then(|| ports.clone()),
                        self.root.clone(),
                    ))
                }
            }
        };
        if let Some((shards, spare_ports, dir)) = unwanted {
            if let Some(spare_ports) = spare_ports {
                self.endpoints.release_spares(&spare_ports);
            }
            discard(shards).await;
            let _ = std::fs::remove_dir_all(dir);
        }
        drop(finished);
    }

    /// Starts the nodes, each announcing its port of `ports`, and joins them as `shape`
    /// says; all or none. Each shard's primary is a spare server (the oldest first) while
    /// there are any; the replicas are new servers.
    async fn form(&self, shape: &Shape, ports: &[u16]) -> Result<Vec<Vec<Server>>, String> {
        let inner = self.authority.issue(&endpoint_names(Vec::new()))?;
        let ca = self.authority.cert_pem()?;
        let mut spares = pool::take_oldest(&self.pool, &self.demand, shape.len())
            .await
            .into_iter();
        let mut next = ports.iter();
        let mut starts = Vec::new();
        for (nodes, _) in shape {
            for (i, port) in next.by_ref().take(*nodes).enumerate() {
                let spare = if i == 0 { spares.next() } else { None };
                starts.push(self.node(spare, *port, &inner, ca));
            }
        }
        let mut started = Vec::new();
        let mut failure = None;
        for result in futures_util::future::join_all(starts).await {
            match result {
                Ok(server) => started.push(server),
                Err(e) => failure = Some(e),
            }
        }
        let mut rest = started.into_iter();
        let shards: Vec<Vec<Server>> = shape
            .iter()
            .map(|(nodes, _)| rest.by_ref().take(*nodes).collect())
            .collect();
        let result = match failure {
            Some(e) => Err(e),
            None => self.join(&shards, shape).await,
        };
        match result {
            Ok(()) => Ok(shards),
            Err(e) => {
                discard(shards).await;
                Err(e)
            }
        }
    }

    /// A node announcing `port`: `spare`, moved into this formation's directory, or a new
    /// server when there is none (or it cannot be used).
    async fn node(
        &self,
        spare: Option<Server>,
        port: u16,
        inner: &crate::tls::Leaf,
        ca: &str,
    ) -> Result<Server, String> {
        let mut tag = [0u8; 6];
        rand::fill(&mut tag);
        let dir = self.root.join(hex::encode(tag));
        if let Some(spare) = spare {
            match pool::adopt(spare, ("ahead", port), &dir, &self.admin_password, true).await {
                Ok(server) => return Ok(server),
                Err(e) => {
                    tracing::warn!(error = %e, "a spare server could not be used; starting one");
                }
            }
        }
        start_server(NodeStart {
            binary: &self.binary,
            cluster: "",
            name: "ahead",
            announced: (self.endpoints.host(), port),
            inner,
            ca_pem: ca,
            admin_password: &self.admin_password,
            dir,
            durable: self.durable,
            sockets: &self.sockets,
        })
        .await
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
