//! Real Redis servers behind MemoryDB clusters, in cluster mode.
//!
//! Each cluster is `shards` primaries, each with `replicas` replicas, every node its own
//! `redis-server` (or `valkey-server`) child process in cluster mode, configured through
//! its standard input (so no secret is on a command line or in a file). The 16384 slots
//! are split across the shards as the desired state says; replicas replicate their
//! primary. One administrative user, `memshift-admin`, whose random password lives only
//! in memshift's memory, exists on every node.
//!
//! Every node has its own endpoint, a proxy ([`super::proxy`]) on a port of its own, and
//! the cluster has one more, its `ClusterEndpoint`, in front of the first shard's
//! primary. Nodes announce their endpoints' ports, so `CLUSTER SLOTS`, `CLUSTER SHARDS`,
//! `CLUSTER NODES`, `MOVED` and `ASK` name them and a client that discovers the topology
//! reaches every node through its proxy. With TLS, the proxies speak only TLS, with a
//! certificate of memshift's CA.
//!
//! Inside, nodes talk to each other (cluster bus and replication) over TLS on loopback
//! ports of their own, with a certificate of the same CA: a Redis node announces one
//! port for TLS peers and another for clients in plain text, and its plain-text clients
//! (the proxies) are given the proxies' ports.
//!
//! After every change that can affect a cluster, the region is reconciled: clusters are
//! formed for new records and stopped for deleted ones, and every node's users are made
//! exactly those of the cluster's ACL, with `ACL SETUSER <name> reset <access string>
//! #<sha256>...`, before the call that changed them is answered. The `default` user
//! follows MemoryDB: without a password when the ACL holds it (as `open-access` does),
//! switched off when it does not.
//!
//! memshift talks to its servers with the `redis` crate's async client, signed in as
//! `memshift-admin`, with every exchange bounded by [`ADMIN_TIMEOUT`] so that a hung
//! server cannot hang memshift.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use redis::aio::MultiplexedConnection;
use redis::io::tcp::TcpSettings;
use redis::{AsyncConnectionConfig, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};

mod ahead;
mod durable;
mod pool;
mod reshard;
mod snapshots;

pub use snapshots::{DesiredSnapshot, SnapshotSource};

use super::endpoints::{Endpoints, Kind};
use super::proxy::{self, ClientRoom, Front, NoTokens, TokenAuth};
use crate::state::Scope;
use crate::tls::{Authority, endpoint_names, write_private};

/// Commands MemoryDB restricts that no one inside needs: renamed away on every server.
const REMOVED_COMMANDS: &[&str] = &[
    "BGREWRITEAOF",
    "BGSAVE",
    "DEBUG",
    "MODULE",
    "REPLICAOF",
    "SHUTDOWN",
    "SLAVEOF",
];

/// Commands MemoryDB restricts that memshift itself needs: each takes a name on a
/// cluster's servers that only memshift knows ([`secret_command`]). `MIGRATE` moves keys
/// when resharding; `SAVE` writes a snapshot's RDB file; `CONFIG` gives a spare server
/// its endpoint.
const SECRET_COMMANDS: &[&str] = &["CONFIG", "MIGRATE", "SAVE"];

/// The name a restricted command memshift needs has on a cluster's servers.
fn secret_command(command: &str, admin_password: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(
        format!("{}:{admin_password}", command.to_ascii_lowercase()).as_bytes(),
    );
    format!("{command}-{}", hex::encode(&digest[..12]))
}

/// How many clients a server starts with room for. Redis sets up a slot for each client
/// it may have when it starts (32 bytes each, touched at once), so 10,000 cost a node
/// 0.3 MB of memory that an idle cluster never uses.
const FIRST_ROOM: usize = 1000;
/// When a server has this many clients through the fronts, it is given room for
/// [`FULL_ROOM`], well before the first room is full (bus links, replicas and memshift's
/// own connections count too).
const GROW_AT: usize = 750;
/// A server's room for clients once it is given more: Redis's default.
const FULL_ROOM: usize = 10_000;

/// Gives the server on `backend` room for [`FULL_ROOM`] clients.
async fn grow_room(backend: u16, admin_password: String) {
    let config = secret_command("CONFIG", &admin_password);
    let room = FULL_ROOM.to_string();
    let grown = async {
        let mut conn = admin_connection(backend, &admin_password).await?;
        call::<String>(&mut conn, &[&config, "SET", "maxclients", &room]).await
    };
    match grown.await {
        Ok(_) => tracing::debug!(
            port = backend,
            clients = FULL_ROOM,
            "redis server given room for more clients"
        ),
        Err(e) => {
            tracing::warn!(port = backend, error = %e, "cannot give a redis server room for more clients");
        }
    }
}

/// The user memshift administers each server with; never one of the cluster's users.
pub const ADMIN_USER: &str = "memshift-admin";
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest memshift waits for a server to connect or to answer one command.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a new cluster may take to agree on its topology and replicate.
const FORM_TIMEOUT: Duration = Duration::from_secs(30);

/// A user as a cluster's servers must know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredUser {
    pub name: String,
    pub access_string: String,
    /// SHA-256 hashes of the passwords, in hex.
    pub password_hashes: Vec<String>,
    /// The `default` user of an ACL that holds it: no password needed.
    pub nopass: bool,
    /// Signs in with IAM tokens, checked by the cluster's proxies.
    pub iam: bool,
}

/// A cluster as its servers must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredCluster {
    pub name: String,
    /// The port chosen for the cluster endpoint, used when it is still free.
    pub port: Option<u16>,
    pub shards: Vec<DesiredShard>,
    /// Whether every endpoint speaks TLS (and only TLS).
    pub tls: bool,
    /// Ports chosen for the nodes' endpoints, by node name, used when still free.
    pub node_ports: BTreeMap<String, u16>,
    /// Host names the service reports for the cluster, for its certificate.
    pub dns_names: Vec<String>,
    pub users: Vec<DesiredUser>,
    /// The snapshot a new cluster takes its data from.
    pub restore: Option<String>,
}

/// What a region's servers must be: its clusters, and the snapshots whose data is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub clusters: Vec<DesiredCluster>,
    pub snapshots: Vec<DesiredSnapshot>,
}

impl DesiredCluster {
    /// The ports chosen for its endpoints: the cluster's, then its nodes'.
    pub fn endpoint_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.port
            .into_iter()
            .chain(self.node_ports.values().copied())
    }
}

/// A shard: its slots (first to last, inclusive) and its nodes' names, primary first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredShard {
    pub slots: (u16, u16),
    pub nodes: Vec<String>,
}

/// One `redis-server` of a cluster, with its endpoint.
struct Server {
    name: String,
    child: Child,
    /// Plain-text clients: the proxies and memshift.
    backend: u16,
    /// TLS peers: the other nodes, for replication and the cluster bus.
    tls_port: u16,
    bus: u16,
    /// The node's endpoint: its proxy.
    endpoint: u16,
    dir: PathBuf,
    /// The endpoint's listener, until its proxy serves it.
    listener: Option<tokio::net::TcpListener>,
    proxy: Option<tokio::task::JoinHandle<()>>,
    /// A spare that still holds every slot, alone: a new primary that gives up the
    /// slots of other shards (see [`pool`]).
    holds_all_slots: bool,
}

impl Server {
    /// Opens the node's endpoint: its proxy starts serving.
    fn serve(&mut self, front: &Arc<Front>) {
        if let Some(listener) = self.listener.take() {
            self.proxy = Some(tokio::spawn(proxy::serve(
                listener,
                Arc::clone(front),
                self.backend,
            )));
        }
    }
}

/// A running cluster.
struct Running {
    /// Shards, each its primary first.
    shards: Vec<Vec<Server>>,
    endpoint: u16,
    endpoint_proxy: Option<tokio::task::JoinHandle<()>>,
    admin_password: String,
    front: Arc<Front>,
    /// What it was formed as; another shape needs another cluster.
    shape: (Vec<DesiredShard>, bool),
    /// Where its nodes' directories are.
    dir: PathBuf,
    /// The server its cluster endpoint reaches: its first shard's primary.
    endpoint_backend: Arc<std::sync::atomic::AtomicU16>,
}

impl Running {
    fn servers(&self) -> impl Iterator<Item = &Server> {
        self.shards.iter().flatten()
    }

    /// Points the cluster endpoint at the first shard's primary (first of its servers).
    fn follow_primary(&self) {
        if let Some(primary) = self.shards.first().and_then(|s| s.first()) {
            self.endpoint_backend
                .store(primary.backend, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// The Redis servers of every cluster, and the binary they run.
pub struct Redis {
    binary: Option<PathBuf>,
    clusters: tokio::sync::Mutex<HashMap<(Scope, String), Running>>,
    /// Cluster endpoint ports by cluster, readable without waiting (the cluster views
    /// need them while servers are being started or stopped).
    ports: super::Ports,
    /// Node endpoint ports by node name.
    node_ports: super::Ports,
    /// How the proxies check IAM tokens.
    token_auth: OnceLock<Arc<dyn TokenAuth>>,
    tls: OnceLock<Arc<Authority>>,
    /// Where endpoints listen and the host they are reported at.
    endpoints: Arc<Endpoints>,
    /// Where the nodes' data and the snapshots are: under the data directory, or a
    /// temporary directory of this instance's own.
    root: PathBuf,
    /// Whether `root` is this instance's own, to be removed when it stops.
    temporary: bool,
    /// Whether every write is on disk before it is acknowledged (with a data directory).
    durable: bool,
    /// Clusters whose lost servers are being started again.
    recovering: super::Recovering,
    /// The password of memshift's admin user on every server of this instance.
    admin_password: String,
    /// Servers started ahead, for new clusters' nodes.
    pool: Arc<tokio::sync::Mutex<Vec<pool::Spare>>>,
    /// How many spares the pool holds.
    demand: Arc<Mutex<pool::Demand>>,
    /// Whether servers are started ahead: once MemoryDB clusters are in use.
    pool_wanted: std::sync::atomic::AtomicBool,
    /// Whether servers may be started ahead at all.
    ahead_allowed: bool,
    /// A cluster formed ahead, of the shape last asked for.
    ahead: Arc<Mutex<ahead::AheadSlot>>,
    /// Where the servers' Unix sockets are, for their fronts: a short temporary path
    /// (the root may be long, under a data directory).
    sockets: PathBuf,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("binary", &self.binary)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Uses `configured`, or else the first `redis-server` or `valkey-server` on `PATH`;
    /// `off` runs no servers. Endpoint certificates are signed by `tls`; endpoints listen
    /// and are reported as `endpoints` says.
    #[must_use]
    pub fn new(configured: Option<&Path>, tls: Arc<Authority>, endpoints: Arc<Endpoints>) -> Self {
        let binary = match configured {
            Some(p) if p == Path::new("off") => None,
            Some(p) => Some(p.to_path_buf()),
            None => find_on_path("redis-server").or_else(|| find_on_path("valkey-server")),
        };
        let authority = OnceLock::new();
        let _ = authority.set(tls);
        Redis {
            binary,
            clusters: tokio::sync::Mutex::default(),
            ports: super::Ports::default(),
            node_ports: super::Ports::default(),
            token_auth: OnceLock::new(),
            tls: authority,
            endpoints,
            root: temporary_root(),
            temporary: true,
            durable: false,
            recovering: super::Recovering::default(),
            admin_password: {
                let mut bytes = [0u8; 24];
                rand::fill(&mut bytes);
                hex::encode(bytes)
            },
            pool: Arc::default(),
            demand: Arc::default(),
            pool_wanted: std::sync::atomic::AtomicBool::new(false),
            ahead_allowed: true,
            ahead: Arc::default(),
            sockets: temporary_root().join("s"),
        }
    }

    /// Whether spare servers and a cluster formed ahead are kept once MemoryDB clusters
    /// are in use.
    #[must_use]
    pub fn with_servers_ahead(mut self, on: bool) -> Self {
        self.ahead_allowed = on;
        self
    }

    /// Keeps the nodes' data and the snapshots under `data_dir` when there is one, where
    /// they survive restarts and every write is on disk before it is acknowledged.
    #[must_use]
    pub fn with_data_dir(mut self, data_dir: Option<&Path>) -> Self {
        if let Some(dir) = data_dir {
            self.root = dir.join("redis");
            self.temporary = false;
            self.durable = true;
        }
        self
    }

    /// Sets how IAM tokens are checked (before any cluster starts); until then, every
    /// token is refused.
    pub fn set_token_auth(&self, auth: Arc<dyn TokenAuth>) {
        let _ = self.token_auth.set(auth);
    }

    fn token_auth(&self) -> Arc<dyn TokenAuth> {
        self.token_auth
            .get()
            .map_or_else(|| Arc::new(NoTokens) as Arc<dyn TokenAuth>, Arc::clone)
    }

    /// What the proxies of a cluster's endpoints share.
    fn front(
        &self,
        cluster: &str,
        tls: Option<tokio_rustls::TlsAcceptor>,
        admin_password: &str,
    ) -> Arc<Front> {
        let password = admin_password.to_owned();
        let room = ClientRoom::new(GROW_AT, move |backend| {
            tokio::spawn(grow_room(backend, password.clone()));
        });
        Arc::new(Front {
            cluster: cluster.to_owned(),
            iam_users: Mutex::default(),
            auth: self.token_auth(),
            tls,
            room,
            sockets: Some(self.sockets.clone()),
        })
    }

    /// The server binary clusters run, if any.
    #[must_use]
    pub fn binary(&self) -> Option<&Path> {
        self.binary.as_deref()
    }

    /// The port of a cluster's endpoint, when it runs.
    #[must_use]
    pub fn port(&self, scope: &Scope, cluster: &str) -> Option<u16> {
        self.ports.get(scope, cluster)
    }

    /// The port of a node's endpoint, when it runs.
    #[must_use]
    pub fn node_port(&self, scope: &Scope, node: &str) -> Option<u16> {
        self.node_ports.get(scope, node)
    }

    /// Whether any server runs for the region.
    #[must_use]
    pub fn runs_in(&self, scope: &Scope) -> bool {
        self.ports.any_in(scope)
    }

    /// The regions with a cluster that lost a server: they need a reconcile, which starts
    /// the lost servers again. Such clusters are recovering until it is done. Answers
    /// none while clusters are being formed or stopped.
    pub fn exited(&self) -> Vec<Scope> {
        let Ok(mut running) = self.clusters.try_lock() else {
            return Vec::new();
        };
        let mut scopes: Vec<Scope> = Vec::new();
        for ((scope, name), cluster) in running.iter_mut() {
            let lost: Vec<String> = cluster
                .shards
                .iter_mut()
                .flatten()
                .filter_map(|s| match s.child.try_wait() {
                    Ok(None) => None,
                    Ok(Some(status)) => Some(format!("{} ({status})", s.name)),
                    Err(e) => Some(format!("{} ({e})", s.name)),
                })
                .collect();
            if !lost.is_empty() {
                tracing::warn!(cluster = %name, servers = ?lost, "a redis server of the cluster exited");
                self.recovering.insert(scope, name);
                if !scopes.contains(scope) {
                    scopes.push(scope.clone());
                }
            }
        }
        scopes
    }

    /// Whether a cluster lost a server that is being started again.
    #[must_use]
    pub fn recovering(&self, scope: &Scope, cluster: &str) -> bool {
        self.recovering.contains(scope, cluster)
    }

    /// Makes the region's servers match its clusters and snapshots: takes and copies the
    /// snapshots asked for (before any cluster stops, so that a deleted cluster's final
    /// snapshot holds its data), removes those no longer asked for, stops deleted clusters
    /// and removes their data, forms new clusters (on the data they have, or from a
    /// snapshot), starts lost servers again, and sets users on every node. Problems are
    /// logged: the control plane has already changed. `desired` is read once the servers
    /// are locked, so that concurrent changes are applied in the order they were made.
    pub async fn reconcile(&self, scope: &Scope, desired: impl FnOnce() -> Desired) {
        let Some(binary) = &self.binary else {
            return;
        };
        let mut running = self.clusters.lock().await;
        let Desired {
            clusters,
            snapshots,
        } = &desired();
        let region = self.region_dir(scope);
        if clusters.is_empty()
            && snapshots.is_empty()
            && !running.keys().any(|(s, _)| s == scope)
            && !region.exists()
        {
            return;
        }
        self.settle_snapshots(scope, &running, snapshots).await;
        let gone: Vec<(Scope, String)> = running
            .keys()
            .filter(|(s, name)| s == scope && !clusters.iter().any(|c| &c.name == name))
            .cloned()
            .collect();
        for key in gone {
            if let Some(cluster) = running.remove(&key) {
                self.forget(&key.0, &cluster);
                stop(cluster).await;
                tracing::info!(cluster = %key.1, "redis cluster stopped");
            }
        }
        // The data of clusters that are gone (also those deleted while memshift was down).
        remove_other_dirs(
            &region.join(CLUSTERS_DIR),
            clusters.iter().map(|c| path_component(&c.name)),
        );
        for cluster in clusters {
            self.bring(binary, scope, &mut running, cluster).await;
            self.recovering.remove(scope, &cluster.name);
        }
    }

    /// Brings one cluster to what is desired: reshaped in place, its lost servers started
    /// again, or formed (again); then its users set.
    async fn bring(
        &self,
        binary: &Path,
        scope: &Scope,
        running: &mut HashMap<(Scope, String), Running>,
        cluster: &DesiredCluster,
    ) {
        let key = (scope.clone(), cluster.name.clone());
        let mut whole = running.get_mut(&key).is_some_and(|r| {
            r.shape.1 == cluster.tls
                && r.shards
                    .iter_mut()
                    .flatten()
                    .all(|s| matches!(s.child.try_wait(), Ok(None)))
        });
        if !whole
            && let Some(formed) = running.get_mut(&key)
            && formed.shape.1 == cluster.tls
        {
            // Lost servers start again on their data, in place.
            let started = Instant::now();
            match self.recover(binary, formed, cluster).await {
                Ok(names) => {
                    whole = true;
                    tracing::info!(
                        cluster = %cluster.name,
                        servers = ?names,
                        millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "redis servers started again on their data; the cluster is whole"
                    );
                }
                Err(e) => {
                    tracing::error!(cluster = %cluster.name, error = %e, "cannot start lost redis servers again in place");
                }
            }
        }
        if whole
            && let Some(formed) = running.get_mut(&key)
            && formed.shape.0 != cluster.shards
        {
            self.reshape_logged(binary, scope, formed, cluster).await;
        }
        if !whole {
            if let Some(old) = running.remove(&key) {
                tracing::warn!(cluster = %cluster.name, "redis cluster changed TLS or cannot recover; forming it again on its data");
                self.forget(scope, &old);
                stop(old).await;
                // Its endpoints' ports stay its own while it forms again.
                for port in cluster.endpoint_ports() {
                    self.endpoints.hold(Kind::Redis, scope, port);
                }
            }
            let started = Instant::now();
            match self.form(binary, scope, cluster).await {
                Ok(formed) => {
                    tracing::info!(
                        cluster = %cluster.name,
                        port = formed.endpoint,
                        nodes = formed.servers().count(),
                        millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "redis cluster formed"
                    );
                    self.ports.set(key.clone(), formed.endpoint);
                    for server in formed.servers() {
                        self.node_ports
                            .set((scope.clone(), server.name.clone()), server.endpoint);
                    }
                    running.insert(key.clone(), formed);
                }
                Err(e) => {
                    tracing::error!(cluster = %cluster.name, error = %e, "cannot form a redis cluster");
                    return;
                }
            }
        }
        if let Some(formed) = running.get(&key)
            && let Err(e) = apply_users(formed, &cluster.users).await
        {
            tracing::error!(cluster = %cluster.name, error = %e, "cannot apply the ACL's users");
        }
    }

    async fn reshape_logged(
        &self,
        binary: &Path,
        scope: &Scope,
        formed: &mut Running,
        cluster: &DesiredCluster,
    ) {
        let old: Vec<String> = formed.servers().map(|s| s.name.clone()).collect();
        let started = Instant::now();
        let mut result = self.reshape(binary, formed, cluster).await;
        // The layout puts servers in the order of their names: the primaries go first.
        if let Err(e) = durable::order_by_role(formed).await {
            result = result.and(Err(e));
        }
        for name in old {
            self.node_ports.remove(&(scope.clone(), name));
        }
        for server in formed.servers() {
            self.node_ports
                .set((scope.clone(), server.name.clone()), server.endpoint);
        }
        match result {
            Ok(()) => tracing::info!(
                cluster = %cluster.name,
                nodes = formed.servers().count(),
                millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "redis cluster reshaped"
            ),
            Err(e) => {
                tracing::error!(cluster = %cluster.name, error = %e, "cannot reshape a redis cluster");
            }
        }
    }

    /// Stops every server (at shutdown). Data under a data directory stays; a temporary
    /// root goes.
    pub async fn stop_all(&self) {
        let mut running = self.clusters.lock().await;
        for ((scope, _), cluster) in running.drain() {
            self.forget(&scope, &cluster);
            stop(cluster).await;
        }
        self.drain_pool().await;
        self.recovering.clear(None);
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.root);
        }
        if let Some(sockets) = self.sockets.parent() {
            let _ = std::fs::remove_dir_all(sockets);
        }
    }

    /// Stops every server and removes every node's data and every snapshot (after a
    /// reset of the state).
    pub async fn reset(&self) {
        self.stop_all().await;
        let _ = std::fs::remove_dir_all(&self.root);
    }

    fn forget(&self, scope: &Scope, cluster: &Running) {
        self.ports
            .remove(&(scope.clone(), cluster.front.cluster.clone()));
        for server in cluster.servers() {
            self.node_ports
                .remove(&(scope.clone(), server.name.clone()));
        }
    }

    /// The directory of a region's clusters and snapshots.
    fn region_dir(&self, scope: &Scope) -> PathBuf {
        self.root
            .join(path_component(&scope.account))
            .join(path_component(&scope.region))
    }

    /// The directory of a cluster's nodes, one directory each.
    fn cluster_dir(&self, scope: &Scope, cluster: &str) -> PathBuf {
        self.region_dir(scope)
            .join(CLUSTERS_DIR)
            .join(path_component(cluster))
    }

    /// Starts every node of a cluster and makes them one cluster, then opens the
    /// endpoints. Nodes that all hold a cluster's configuration from an earlier run start
    /// on it and their data, and meet again; otherwise the cluster is new: its slots and
    /// replicas are assigned, and it takes a snapshot's data when it was made from one.
    #[allow(
        clippy::too_many_lines,
        reason = "one formation, step by step, each undone on failure"
    )]
    async fn form(
        &self,
        binary: &Path,
        scope: &Scope,
        desired: &DesiredCluster,
    ) -> Result<Running, String> {
        let authority = self.tls.get().ok_or_else(|| "no CA".to_owned())?.clone();
        let admin_password = self.admin_password.clone();
        let dir = self.cluster_dir(scope, &desired.name);
        let node_names: Vec<&String> = desired.shards.iter().flat_map(|s| &s.nodes).collect();
        // A cluster stopped while it was being formed has nothing to resume.
        let resumed = node_names.iter().all(|n| {
            let node = dir.join(path_component(n));
            node.join("nodes.conf").is_file() && !pool::unformed(&node)
        });
        if resumed {
            remove_other_dirs(&dir, node_names.iter().map(|n| path_component(n)));
        } else {
            // Nothing to resume (or only part of it, after a crash while it changed
            // shape): the cluster starts anew.
            let _ = std::fs::remove_dir_all(&dir);
        }
        let ahead = if resumed {
            None
        } else {
            self.want_ahead(desired);
            self.take_ahead(desired, &dir).await
        };
        let formed_ahead = ahead.is_some();
        let servers = if let Some(servers) = ahead {
            servers
        } else {
            // Each shard's first node is its primary, and keeps a spare's slots.
            let primaries: Vec<&String> = desired
                .shards
                .iter()
                .filter_map(|s| s.nodes.first())
                .collect();
            self.start_nodes(
                binary,
                desired,
                (&node_names, &primaries),
                &admin_password,
                &dir,
            )
            .await?
        };
        let shards: Vec<Vec<Server>> = {
            let mut rest = servers.into_iter();
            desired
                .shards
                .iter()
                .map(|shard| rest.by_ref().take(shard.nodes.len()).collect())
                .collect()
        };
        let mut running = Running {
            shards,
            endpoint: 0,
            endpoint_proxy: None,
            front: self.front(&desired.name, None, &admin_password),
            admin_password,
            shape: (desired.shards.clone(), desired.tls),
            dir,
            endpoint_backend: Arc::default(),
        };
        let joined = if resumed {
            durable::rejoin(&mut running).await
        } else if formed_ahead {
            Ok(())
        } else {
            let slots: Vec<(u16, u16)> = desired.shards.iter().map(|s| s.slots).collect();
            match join(&running.shards, &running.admin_password, &slots).await {
                // Spares formed it sooner with a short node timeout; from now on the
                // cluster tolerates a slow node as every cluster does.
                Ok(()) => {
                    for server in running.shards.iter_mut().flatten() {
                        server.holds_all_slots = false;
                        pool::formed(&server.dir);
                    }
                    pool::settle_timeouts(running.servers(), &running.admin_password).await
                }
                Err(e) => Err(e),
            }
        };
        if let Err(e) = joined {
            stop(running).await;
            return Err(e);
        }
        if !resumed && let Some(snapshot) = &desired.restore {
            let from = self.snapshot_dir(scope, snapshot);
            match self.restore(binary, &from, &running, desired).await {
                Ok(keys) => {
                    tracing::info!(cluster = %desired.name, snapshot = %snapshot, keys, "redis cluster restored from a snapshot");
                }
                Err(e) => {
                    tracing::error!(cluster = %desired.name, snapshot = %snapshot, error = %e, "cannot restore a snapshot's data");
                }
            }
        }
        let tls = if desired.tls {
            let names = endpoint_names(
                std::iter::once(self.endpoints.host().to_owned())
                    .chain(desired.dns_names.iter().cloned()),
            );
            let config = match authority.server_config(&names) {
                Ok(c) => c,
                Err(e) => {
                    stop(running).await;
                    return Err(e);
                }
            };
            Some(tokio_rustls::TlsAcceptor::from(config))
        } else {
            None
        };
        running.front = self.front(&desired.name, tls, &running.admin_password);
        let endpoint = match self.endpoints.bind(desired.port) {
            Ok(l) => l,
            Err(e) => {
                stop(running).await;
                return Err(format!("no free port: {e}"));
            }
        };
        running.endpoint = endpoint.local_addr().map_or(0, |a| a.port());
        running.follow_primary();
        running.endpoint_proxy = Some(tokio::spawn(proxy::serve_moving(
            endpoint,
            Arc::clone(&running.front),
            Arc::clone(&running.endpoint_backend),
        )));
        for server in running.shards.iter_mut().flatten() {
            server.serve(&running.front);
        }
        if !resumed {
            // The next cluster of this shape starts forming now, not at the supervisor's
            // next round.
            self.keep_ahead().await;
        }
        Ok(running)
    }
}

/// The subdirectory of a region's directory that holds its clusters.
const CLUSTERS_DIR: &str = "clusters";

/// Removes the entries of `dir` but those named `keep`.
fn remove_other_dirs(dir: &Path, keep: impl Iterator<Item = String>) {
    let keep: std::collections::HashSet<String> = keep.collect();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !keep.contains(&name) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Redis {
    /// Starts the named nodes of a cluster, each in its directory under `dir`, with its
    /// endpoint's listener bound (on the port it had, when still free) but not yet
    /// serving. Those of `primaries` that are spares keep their slots (a new cluster's
    /// primaries, see [`pool`]). All or none: on failure, those started are stopped.
    async fn start_nodes(
        &self,
        binary: &Path,
        desired: &DesiredCluster,
        (names, primaries): (&[&String], &[&String]),
        admin_password: &str,
        dir: &Path,
    ) -> Result<Vec<Server>, String> {
        let authority = self.tls.get().ok_or_else(|| "no CA".to_owned())?.clone();
        // The nodes' own certificate, for TLS between them on loopback.
        let inner = authority.issue(&endpoint_names(Vec::new()))?;
        let ca = authority.cert_pem()?;
        let mut listeners = Vec::new();
        for name in names {
            let preferred = desired.node_ports.get(*name).copied();
            listeners.push(
                self.endpoints
                    .bind(preferred)
                    .map_err(|e| format!("no free port: {e}"))?,
            );
        }
        // The oldest spares to the primaries: a primary is slow to call its cluster whole
        // in its first two seconds, a replica never is.
        let mut spares: Vec<Option<Server>> = names.iter().map(|_| None).collect();
        for primaries_first in [true, false] {
            for (name, spare) in names.iter().zip(&mut spares) {
                if primaries.contains(name) == primaries_first
                    && !dir.join(path_component(name)).exists()
                {
                    *spare = self.take_spare().await;
                }
            }
        }
        let starts = names.iter().zip(listeners).zip(spares).map(|((name, listener), spare)| {
            let inner = &inner;
            async move {
                let endpoint = listener.local_addr().map_err(|e| e.to_string())?.port();
                if let Some(spare) = spare {
                    let node_dir = dir.join(path_component(name));
                    let keep_slots = primaries.contains(name);
                    let adopted = pool::adopt(
                        spare,
                        (name, endpoint),
                        &node_dir,
                        admin_password,
                        keep_slots,
                    );
                    match adopted.await {
                        Ok(mut server) => {
                            server.listener = Some(listener);
                            return Ok(server);
                        }
                        Err(e) => {
                            tracing::warn!(node = %name, error = %e, "a spare server could not be used; starting one");
                        }
                    }
                }
                // A port chosen free can be taken before the server binds it: try again
                // with others.
                let mut tries = 0;
                let mut server = loop {
                    tries += 1;
                    let start = NodeStart {
                        binary,
                        cluster: &desired.name,
                        name,
                        announced: (self.endpoints.host(), endpoint),
                        inner,
                        ca_pem: ca,
                        admin_password,
                        dir: dir.join(path_component(name)),
                        durable: self.durable,
                        sockets: &self.sockets,
                    };
                    match start_server(start).await {
                        Err(e) if tries < 3 && e.contains("Failed listening") => {
                            let _ = std::fs::remove_file(
                                dir.join(path_component(name)).join(PORTS_FILE),
                            );
                        }
                        other => break other,
                    }
                }?;
                server.listener = Some(listener);
                Ok::<Server, String>(server)
            }
        });
        let mut servers = Vec::new();
        let mut failure = None;
        for result in futures_util::future::join_all(starts).await {
            match result {
                Ok(server) => servers.push(server),
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = failure {
            for server in servers {
                stop_server(server).await;
            }
            return Err(e);
        }
        Ok(servers)
    }
}

/// Joins started nodes into one cluster: slots to the primaries, one meeting, replicas to
/// their primaries; then waits until every node sees the cluster whole and every replica
/// is in sync.
async fn join(shards: &[Vec<Server>], password: &str, slots: &[(u16, u16)]) -> Result<(), String> {
    let servers: Vec<&Server> = shards.iter().flatten().collect();
    let mut conns = Vec::new();
    for server in &servers {
        conns.push(admin_connection(server.backend, password).await?);
    }
    let mut ids = Vec::new();
    for (i, conn) in conns.iter_mut().enumerate() {
        ids.push(call::<String>(conn, &["CLUSTER", "MYID"]).await?);
        let epoch = (i + 1).to_string();
        call::<()>(conn, &["CLUSTER", "SET-CONFIG-EPOCH", &epoch]).await?;
    }
    // The index of each node's primary (itself for a primary).
    let mut primary_of = Vec::new();
    for shard in shards {
        let primary = primary_of.len();
        primary_of.extend(std::iter::repeat_n(primary, shard.len()));
    }
    for (shard, &(first, last)) in slots.iter().enumerate() {
        let primary = primary_of
            .iter()
            .enumerate()
            .filter(|(i, p)| *i == **p)
            .nth(shard)
            .map_or(0, |(i, _)| i);
        let mut command = vec!["CLUSTER".to_owned()];
        if servers[primary].holds_all_slots {
            command.push("DELSLOTSRANGE".to_owned());
            command.extend(pool::slots_to_give_up(first, last));
        } else {
            command.push("ADDSLOTSRANGE".to_owned());
            command.extend([first.to_string(), last.to_string()]);
        }
        if command.len() > 2 {
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            call::<()>(&mut conns[primary], &args).await?;
        }
    }
    // Every node meets every other itself, both ways: waiting for gossip to spread the
    // news takes seconds, and a handshake begun from both ends is over one timer tick
    // sooner.
    for (i, conn) in conns.iter_mut().enumerate() {
        let others: Vec<&Server> = std::iter::once(servers[i])
            .chain(
                servers
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, s)| *s),
            )
            .collect();
        meet(conn, &others).await?;
    }
    let deadline = Instant::now() + FORM_TIMEOUT;
    let began = Instant::now();
    wait_known(&mut conns, servers.len(), deadline).await?;
    tracing::debug!(
        millis = u64::try_from(began.elapsed().as_millis()).unwrap_or(0),
        "redis nodes met"
    );
    for (i, conn) in conns.iter_mut().enumerate() {
        if primary_of[i] != i {
            let primary = &ids[primary_of[i]];
            call::<()>(conn, &["CLUSTER", "REPLICATE", primary]).await?;
        }
    }
    let result = wait_whole(&mut conns, &primary_of, deadline).await;
    tracing::debug!(
        millis = u64::try_from(began.elapsed().as_millis()).unwrap_or(0),
        "redis cluster whole"
    );
    result
}

/// Introduces every server but the first to the first (whose connection `first` is); the
/// cluster bus spreads the news.
async fn meet(first: &mut MultiplexedConnection, servers: &[&Server]) -> Result<(), String> {
    for other in servers.iter().skip(1) {
        let (port, bus) = (other.backend.to_string(), other.bus.to_string());
        call::<()>(first, &["CLUSTER", "MEET", "127.0.0.1", &port, &bus]).await?;
    }
    Ok(())
}

/// jemalloc's settings for a server: an idle node is a few hundred kilobytes smaller with
/// one arena, no per-thread caches and freed pages given back within a second; one
/// thread does the work, so neither the arenas nor the caches would save it time.
const SMALL_JEMALLOC: &str = "narenas:1,tcache:false,dirty_decay_ms:1000,muzzy_decay_ms:0";

/// Runs a server configured through its standard input; it dies with memshift.
async fn spawn_configured(binary: &Path, config: &str) -> Result<Child, String> {
    let mut child = Command::from(super::orphans::command(binary))
        .arg("-")
        // Redis's own jemalloc reads the second name.
        .env("MALLOC_CONF", SMALL_JEMALLOC)
        .env("JE_MALLOC_CONF", SMALL_JEMALLOC)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(config.as_bytes())
            .await
            .map_err(|e| format!("cannot configure the server: {e}"))?;
    }
    Ok(child)
}

/// Waits until every node knows `total` nodes, none of them still being met.
async fn wait_known(
    conns: &mut [MultiplexedConnection],
    total: usize,
    deadline: Instant,
) -> Result<(), String> {
    'meet: loop {
        for conn in conns.iter_mut() {
            let nodes: String = call(conn, &["CLUSTER", "NODES"]).await?;
            let known = nodes
                .lines()
                .filter(|l| !l.contains("handshake") && !l.contains("noaddr"))
                .count();
            if known != total {
                pause(deadline, "the nodes to meet").await?;
                continue 'meet;
            }
        }
        return Ok(());
    }
}

/// Waits until every node sees the cluster whole and knows every replica as one, and
/// every replica is in sync. `primary_of[i]` is the index of node `i`'s primary (itself
/// for a primary).
async fn wait_whole(
    conns: &mut [MultiplexedConnection],
    primary_of: &[usize],
    deadline: Instant,
) -> Result<(), String> {
    let replicas = primary_of
        .iter()
        .enumerate()
        .filter(|(i, p)| i != *p)
        .count();
    'whole: loop {
        for (i, conn) in conns.iter_mut().enumerate() {
            let info: String = call(conn, &["CLUSTER", "INFO"]).await?;
            let mut ready = info.contains("cluster_state:ok");
            if ready {
                let nodes: String = call(conn, &["CLUSTER", "NODES"]).await?;
                ready = nodes.lines().filter(|l| l.contains("slave")).count() == replicas;
            }
            if ready && primary_of[i] != i {
                let replication: String = call(conn, &["INFO", "replication"]).await?;
                ready = replication.contains("master_link_status:up");
            }
            if !ready {
                pause(deadline, "the cluster to be whole").await?;
                continue 'whole;
            }
        }
        return Ok(());
    }
}

/// Waits a moment before the next look, unless the deadline has passed.
async fn pause(deadline: Instant, what: &str) -> Result<(), String> {
    if Instant::now() > deadline {
        return Err(format!("timed out waiting for {what}"));
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}

/// A temporary root, one per instance: servers of one process (as in tests) must not
/// remove each other's data when they stop. Its name carries the pid, so that a later
/// memshift removes it if this one dies without doing so.
fn temporary_root() -> PathBuf {
    let mut tag = [0u8; 4];
    rand::fill(&mut tag);
    std::env::temp_dir().join(format!(
        "memshift-redis-{}-{}",
        std::process::id(),
        hex::encode(tag)
    ))
}

/// A name as one component of a path: as it is when it is plain, else in hex.
fn path_component(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if plain {
        name.to_owned()
    } else {
        format!("x{}", hex::encode(name))
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// What a node starts with.
struct NodeStart<'a> {
    binary: &'a Path,
    cluster: &'a str,
    name: &'a str,
    /// The host and port it announces: its endpoint's.
    announced: (&'a str, u16),
    /// The nodes' certificate, for TLS between them.
    inner: &'a crate::tls::Leaf,
    ca_pem: &'a str,
    admin_password: &'a str,
    /// Its directory: its cluster configuration, its append-only file, its ports.
    dir: PathBuf,
    /// Whether every write is on disk before it is acknowledged.
    durable: bool,
    /// The directory of the servers' Unix sockets.
    sockets: &'a Path,
}

/// The file in a node's directory that names the ports it listened on, so that it
/// listens on them again when it starts on the same data (its peers know it there).
const PORTS_FILE: &str = "memshift-ports";

/// The three ports a node listens on (for plain-text clients, TLS peers and the cluster
/// bus): those it had when they are all free, else three others, held together while
/// they are chosen.
fn node_ports(dir: &Path) -> Result<(u16, u16, u16), String> {
    let earlier: Option<Vec<u16>> = std::fs::read_to_string(dir.join(PORTS_FILE))
        .ok()
        .and_then(|text| text.split_whitespace().map(|p| p.parse().ok()).collect());
    if let Some(ports) = earlier.filter(|p| p.len() == 3) {
        let held: Result<Vec<std::net::TcpListener>, _> = ports
            .iter()
            .map(|p| std::net::TcpListener::bind(("127.0.0.1", *p)))
            .collect();
        if held.is_ok() {
            return Ok((ports[0], ports[1], ports[2]));
        }
    }
    let held: Vec<std::net::TcpListener> = (0..3)
        .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("no free port: {e}"))?;
    let port = |i: usize| held[i].local_addr().map_or(0, |a| a.port());
    Ok((port(0), port(1), port(2)))
}

/// Starts one node: a server in cluster mode, in its directory (on the data it holds
/// there, if any), with the nodes' certificate, announcing its endpoint to its
/// plain-text clients.
async fn start_server(start: NodeStart<'_>) -> Result<Server, String> {
    let dir = start.dir;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (backend, tls_port, bus) = node_ports(&dir)?;
    let files = [
        ("node.pem", start.inner.cert_pem.as_str()),
        ("node.key", start.inner.key_pem.as_str()),
        ("ca.pem", start.ca_pem),
    ];
    for (file, contents) in files {
        // Issued afresh at every start; read by the server at once.
        let path = dir.join(file);
        let _ = std::fs::remove_file(&path);
        write_private(&path, contents, false)?;
    }
    std::fs::create_dir_all(start.sockets)
        .map_err(|e| format!("cannot create {}: {e}", start.sockets.display()))?;
    let mut config = server_config(
        &dir,
        (backend, tls_port, bus),
        start.announced,
        start.admin_password,
        start.durable,
    );
    // The fronts' way in: a Unix socket only memshift's user may open.
    let socket = super::proxy::unix_socket(start.sockets, backend);
    let _ = writeln!(
        config,
        "unixsocket \"{}\"\nunixsocketperm 700",
        socket.display()
    );
    let child = spawn_configured(start.binary, &config).await?;
    let mut server = Server {
        name: start.name.to_owned(),
        child,
        backend,
        tls_port,
        bus,
        endpoint: start.announced.1,
        dir,
        listener: None,
        proxy: None,
        holds_all_slots: false,
    };
    let started = Instant::now();
    loop {
        if let Ok(mut conn) = admin_connection(server.backend, start.admin_password).await
            // A server still loading its data answers `LOADING` until it is done.
            && call::<String>(&mut conn, &["PING"]).await.is_ok()
        {
            tracing::debug!(
                cluster = start.cluster,
                node = start.name,
                port = server.backend,
                tls_port = server.tls_port,
                "redis server started"
            );
            let ports = format!("{backend} {tls_port} {bus}\n");
            let _ = std::fs::write(server.dir.join(PORTS_FILE), ports);
            return Ok(server);
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            let log = std::fs::read_to_string(server.dir.join("server.log")).unwrap_or_default();
            let last = log
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default();
            return Err(format!("the server exited at start ({status}): {last}"));
        }
        if started.elapsed() > START_TIMEOUT {
            stop_server(server).await;
            return Err("the server did not answer within 10 s".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The settings a node starts with (through its standard input): cluster mode, TLS
/// between nodes, the ports it listens on, the host and port it announces to clients (its
/// endpoint's), memshift's admin user.
fn server_config(
    dir: &Path,
    (backend, tls_port, bus): (u16, u16, u16),
    (host, endpoint): (&str, u16),
    admin_password: &str,
    durable: bool,
) -> String {
    let d = dir.display();
    // Every write is in the append-only file before it is acknowledged, on disk with a
    // data directory (as MemoryDB's transaction log holds it), else within a second.
    let fsync = if durable { "always" } else { "everysec" };
    // What MemoryDB restricts and nothing inside needs is gone from the server, so that it
    // answers `unknown command` itself; MIGRATE, which resharding needs, takes a name only
    // memshift knows.
    let mut renamed = String::new();
    for command in REMOVED_COMMANDS {
        let _ = writeln!(renamed, "rename-command {command} \"\"");
    }
    for command in SECRET_COMMANDS {
        let _ = writeln!(
            renamed,
            "rename-command {command} {}",
            secret_command(command, admin_password)
        );
    }
    // jemalloc's background thread is not started: one thread fewer, and a freed page
    // goes back at the server's next allocation (see `SMALL_JEMALLOC`).
    format!(
        "port {backend}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\nsave \"\"\n\
         appendonly yes\nappendfsync {fsync}\naof-use-rdb-preamble yes\ndbfilename dump.rdb\n\
         loglevel warning\nlogfile \"{d}/server.log\"\ndir \"{d}\"\n\
         cluster-enabled yes\ncluster-config-file nodes.conf\ncluster-port {bus}\n\
         cluster-node-timeout 5000\ncluster-replica-no-failover yes\ncluster-announce-ip 127.0.0.1\n\
         cluster-announce-hostname {host}\ncluster-preferred-endpoint-type hostname\n\
         cluster-announce-port {endpoint}\ncluster-announce-tls-port {tls_port}\n\
         tls-port {tls_port}\ntls-cert-file \"{d}/node.pem\"\ntls-key-file \"{d}/node.key\"\n\
         tls-ca-cert-file \"{d}/ca.pem\"\ntls-cluster yes\ntls-replication yes\n\
         tls-auth-clients optional\njemalloc-bg-thread no\nmaxclients {FIRST_ROOM}\nrepl-diskless-sync yes\nrepl-diskless-sync-delay 0\nrepl-ping-replica-period 1\n\
         cluster-allow-replica-migration no\n\
         masteruser {ADMIN_USER}\nmasterauth {admin_password}\n{renamed}\
         user {ADMIN_USER} on >{admin_password} ~* &* +@all\n"
    )
}

/// A server dropped without [`stop_server`] (memshift's runtime ending, a panicking test)
/// is killed. Its directory stays: it is its cluster's to remove.
impl Drop for Server {
    fn drop(&mut self) {
        if let Some(proxy) = self.proxy.take() {
            proxy.abort();
        }
        let _ = self.child.start_kill();
        // Reaped here, so that not even a zombie outlives memshift.
        let deadline = Instant::now() + Duration::from_secs(1);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// A temporary root goes with its instance (in tests, a server dropped without stopping),
/// once its servers are gone.
impl Drop for Redis {
    fn drop(&mut self) {
        self.clusters.get_mut().clear();
        if let Ok(mut pool) = self.pool.try_lock() {
            pool.clear();
        }
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(proxy) = self.endpoint_proxy.take() {
            proxy.abort();
        }
    }
}

async fn stop_server(mut server: Server) {
    if let Some(proxy) = server.proxy.take() {
        proxy.abort();
    }
    let _ = server.child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), server.child.wait()).await;
}

/// Stops a server that is no longer wanted (a node removed from its cluster, a spare or a
/// server formed ahead let go), and removes its directory.
async fn discard_server(server: Server) {
    let dir = server.dir.clone();
    stop_server(server).await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn stop(mut cluster: Running) {
    if let Some(proxy) = cluster.endpoint_proxy.take() {
        proxy.abort();
    }
    let servers: Vec<Server> = std::mem::take(&mut cluster.shards)
        .into_iter()
        .flatten()
        .collect();
    futures_util::future::join_all(servers.into_iter().map(stop_server)).await;
}

/// Makes every node's users exactly `users` (besides memshift's own).
async fn apply_users(cluster: &Running, users: &[DesiredUser]) -> Result<(), String> {
    apply_users_on(
        &cluster.front,
        &cluster.admin_password,
        cluster.servers(),
        users,
    )
    .await
}

/// Makes the users of `servers` (of the cluster `front` serves) exactly `users`.
async fn apply_users_on<'a>(
    front: &Front,
    admin_password: &str,
    servers: impl Iterator<Item = &'a Server>,
    users: &[DesiredUser],
) -> Result<(), String> {
    let known = front
        .iam_users
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut iam = HashMap::new();
    let mut commands: Vec<Vec<String>> = Vec::new();
    for user in users {
        let mut secrets: Vec<String> = user
            .password_hashes
            .iter()
            .map(|h| format!("#{h}"))
            .collect();
        if user.iam {
            // IAM users sign in through the proxies, which alone know this password.
            let secret = known.get(&user.name).cloned().unwrap_or_else(|| {
                let mut bytes = [0u8; 24];
                rand::fill(&mut bytes);
                hex::encode(bytes)
            });
            secrets.push(format!(">{secret}"));
            iam.insert(user.name.clone(), secret);
        }
        let mut args: Vec<String> = ["ACL", "SETUSER", &user.name, "reset"]
            .map(str::to_owned)
            .to_vec();
        if user.nopass {
            args.push("nopass".to_owned());
        }
        args.extend(secrets);
        args.extend(user.access_string.split_whitespace().map(str::to_owned));
        commands.push(args);
    }
    if !users.iter().any(|u| u.name == "default") {
        // An ACL without `default`: the default user cannot be used at all.
        commands.push(
            ["ACL", "SETUSER", "default", "reset", "off"]
                .map(str::to_owned)
                .to_vec(),
        );
    }
    // IAM passwords are known to the proxies before any node accepts them.
    front
        .iam_users
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend(iam.clone());
    let results = futures_util::future::join_all(servers.map(|server| {
        let commands = &commands;
        async move {
            let mut conn = admin_connection(server.backend, admin_password).await?;
            let existing: Vec<String> = call(&mut conn, &["ACL", "USERS"]).await?;
            for name in existing {
                if name != ADMIN_USER && name != "default" && !users.iter().any(|u| u.name == name)
                {
                    call::<()>(&mut conn, &["ACL", "DELUSER", &name]).await?;
                }
            }
            for args in commands {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                call::<()>(&mut conn, &args).await?;
            }
            Ok::<(), String>(())
        }
    }))
    .await;
    *front
        .iam_users
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = iam;
    results.into_iter().collect()
}

/// A connection to a server, signed in as memshift's admin user.
async fn admin_connection(port: u16, password: &str) -> Result<MultiplexedConnection, String> {
    let info = ConnectionAddr::Tcp("127.0.0.1".to_owned(), port)
        .into_connection_info()
        .map_err(|e| e.to_string())?
        .set_tcp_settings(TcpSettings::default().set_nodelay(true))
        .set_redis_settings(
            RedisConnectionInfo::default()
                .set_username(ADMIN_USER)
                .set_password(password)
                .set_skip_set_lib_name(),
        );
    let client = redis::Client::open(info).map_err(|e| e.to_string())?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(ADMIN_TIMEOUT))
        .set_response_timeout(Some(ADMIN_TIMEOUT));
    tokio::time::timeout(
        ADMIN_TIMEOUT,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    .map_err(|_| "connect timed out".to_owned())?
    .map_err(|e| e.to_string())
}

/// Sends one command and reads its reply; the server's error reply is an `Err`.
async fn call<T: redis::FromRedisValue>(
    conn: &mut MultiplexedConnection,
    args: &[&str],
) -> Result<T, String> {
    let mut cmd = redis::cmd(args.first().copied().unwrap_or_default());
    for arg in args.iter().skip(1) {
        cmd.arg(*arg);
    }
    query(conn, &cmd).await
}

/// Sends one command, built by the caller, and reads its reply, within [`ADMIN_TIMEOUT`].
async fn query<T: redis::FromRedisValue>(
    conn: &mut MultiplexedConnection,
    cmd: &redis::Cmd,
) -> Result<T, String> {
    tokio::time::timeout(ADMIN_TIMEOUT, cmd.query_async(conn))
        .await
        .map_err(|_| "the server did not answer in time".to_owned())?
        .map_err(|e| e.to_string())
}
