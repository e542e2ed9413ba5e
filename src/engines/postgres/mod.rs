//! Real PostgreSQL servers behind Redshift clusters.
//!
//! CreateCluster gives the cluster its own directory (under the data directory, or a
//! temporary one) with a copy of the template's data (see [`template`]) and a `postgres`
//! server listening only on a private Unix socket, where memshift's own superuser,
//! `memshift`, is trusted: the server started ahead (see [`spare`]), or one started then.
//! The master user (a superuser) is created and the `DBName` database is given to it.
//! The cluster's endpoint is a wire-protocol front (see [`super::pgfront`]) on its own
//! loopback port: it checks passwords against memshift's records and then hands the
//! connection to the server.
//!
//! memshift's own sessions (start-up checks, the bootstrap, the front's login roles) go
//! through [`super::pgadmin`] over that socket.
//!
//! PostgreSQL does not run as root; when memshift does, the servers run as the
//! `postgres` system user (which Debian's package creates).

mod server;
mod spare;
mod template;

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::certificate::EndpointTls;
use super::endpoints::Endpoints;
use super::pgadmin::{ADMIN_USER, admin_session, execute, first_column};
use super::pgfront::{self, Front, Logins};
use super::pgredshift;
use super::pgwire::{ident, literal};
use crate::state::Scope;
use crate::tls::{Authority, endpoint_names};
use server::{Server, Servers, stop_server};
use template::TEMPLATE_DATABASE;

/// The file in a cluster's directory that names its account, region and identifier.
const SCOPE_FILE: &str = "memshift-scope";

fn scope_text(scope: &Scope, identifier: &str) -> String {
    format!("{}\n{}\n{identifier}\n", scope.account, scope.region)
}

/// A cluster as its server must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredCluster {
    pub identifier: String,
    /// The superuser clients log in as with a password, if any; the cluster's database
    /// belongs to it (or to memshift's own superuser when there is none).
    pub master_username: Option<String>,
    pub db_name: String,
    /// The port chosen for its endpoint, used when it is still free.
    pub port: Option<u16>,
    /// The host names its endpoint's certificate carries besides the loopback names.
    pub names: Vec<String>,
    /// What `version()` answers in its databases.
    pub version: String,
}

/// What a region's servers must be: those that run, and the identifiers of those that
/// must not run but whose data is kept. Every other server stops and its data goes.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub running: Vec<DesiredCluster>,
    pub kept: Vec<String>,
}

struct Node {
    server: Server,
    port: u16,
    /// The master user bootstrapped into the server.
    master: Option<String>,
    front: Option<tokio::task::JoinHandle<()>>,
    tls: Option<Arc<EndpointTls>>,
}

/// The PostgreSQL servers of every Redshift cluster.
pub struct Postgres {
    servers: Arc<Servers>,
    nodes: tokio::sync::Mutex<HashMap<(Scope, String), Node>>,
    /// The server started ahead for the next new cluster.
    spare: std::sync::Mutex<spare::Slot>,
    /// Whether a server is started ahead for the next new cluster.
    spare_wanted: bool,
    ports: super::Ports,
    /// Clusters whose server died and is being started again.
    recovering: super::Recovering,
    logins: OnceLock<Arc<dyn Logins>>,
    /// The CA of the fronts' certificates; without one, fronts decline SSL.
    authority: Option<Arc<Authority>>,
    /// Where fronts listen.
    endpoints: Arc<Endpoints>,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("bin_dir", &self.servers.bin_dir)
            .field("root", &self.servers.root)
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// Uses `configured` (`off`: none), or else Debian's layout
    /// (`/usr/lib/postgresql/<newest>/bin`), or else `initdb` and `postgres` on `PATH`.
    #[must_use]
    pub fn new(configured: Option<&Path>, data_dir: Option<&Path>) -> Self {
        let bin_dir = match configured {
            Some(p) if p == Path::new("off") => None,
            Some(p) => Some(p.to_path_buf()),
            None => find_bin_dir(),
        };
        // A temporary root is one per instance: servers of one process (as in tests) must
        // not remove each other's clusters when they stop.
        let (root, temporary) = if let Some(d) = data_dir {
            (d.join("postgres"), false)
        } else {
            let mut tag = [0u8; 4];
            rand::fill(&mut tag);
            let name = format!("memshift-pg-{}-{}", std::process::id(), hex::encode(tag));
            (std::env::temp_dir().join(name), true)
        };
        Postgres {
            servers: Arc::new(Servers {
                bin_dir,
                root,
                temporary,
                run_as: run_as(),
                template: tokio::sync::Mutex::default(),
            }),
            nodes: tokio::sync::Mutex::default(),
            spare: std::sync::Mutex::default(),
            spare_wanted: true,
            ports: super::Ports::default(),
            recovering: super::Recovering::default(),
            logins: OnceLock::new(),
            authority: None,
            endpoints: Arc::default(),
        }
    }

    /// Fronts that listen (and take ports) as `endpoints` says.
    #[must_use]
    pub fn with_endpoints(mut self, endpoints: Arc<Endpoints>) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// Whether a server is started ahead for the next new cluster (after the first).
    #[must_use]
    pub fn with_servers_ahead(mut self, on: bool) -> Self {
        self.spare_wanted = on;
        self
    }

    /// Fronts that accept SSL, with certificates of `authority`.
    #[must_use]
    pub fn with_authority(mut self, authority: Arc<Authority>) -> Self {
        self.authority = Some(authority);
        self
    }

    /// The directory of the server binaries, if any.
    #[must_use]
    pub fn bin_dir(&self) -> Option<&Path> {
        self.servers.bin_dir.as_deref()
    }

    /// How the fronts check logins (before any cluster starts).
    pub fn set_logins(&self, logins: Arc<dyn Logins>) {
        let _ = self.logins.set(logins);
    }

    /// The endpoint port of a cluster's server, when one runs.
    #[must_use]
    pub fn port(&self, scope: &Scope, cluster: &str) -> Option<u16> {
        self.ports.get(scope, cluster)
    }

    /// Makes the region's servers match its clusters: starts new ones, stops others, and
    /// removes the data of those that are neither running nor kept.
    pub async fn reconcile(&self, scope: &Scope, desired: impl FnOnce() -> Desired) {
        let Some(bin_dir) = &self.servers.bin_dir else {
            return;
        };
        let mut nodes = self.nodes.lock().await;
        let Desired {
            running: clusters,
            kept,
        } = desired();
        let gone: Vec<(Scope, String)> = nodes
            .keys()
            .filter(|(s, id)| s == scope && !clusters.iter().any(|c| &c.identifier == id))
            .cloned()
            .collect();
        for key in gone {
            if let Some(node) = nodes.remove(&key) {
                self.forget(&key);
                let keep = kept.contains(&key.1);
                stop(node, !keep).await;
                if keep {
                    tracing::info!(cluster = %key.1, "postgres server stopped; its data is kept");
                } else {
                    tracing::info!(cluster = %key.1, "postgres server stopped and removed");
                }
            }
        }
        self.remove_unused(scope, &clusters, &kept);
        for cluster in &clusters {
            let key = (scope.clone(), cluster.identifier.clone());
            if let Some(node) = nodes.get_mut(&key) {
                if node.server.running() {
                    node.rename(cluster);
                    if node.master != cluster.master_username {
                        node.bootstrap_again(cluster).await;
                    }
                    continue;
                }
                if let Some(old) = nodes.remove(&key) {
                    tracing::warn!(cluster = %cluster.identifier, "postgres server had exited; starting it again");
                    self.forget(&key);
                    stop(old, false).await;
                }
            }
            let started = Instant::now();
            match self.start(bin_dir, scope, cluster).await {
                Ok(node) => {
                    tracing::info!(
                        cluster = %cluster.identifier,
                        port = node.port,
                        millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "postgres server started"
                    );
                    self.ports.set(key.clone(), node.port);
                    nodes.insert(key, node);
                }
                Err(e) => {
                    tracing::error!(cluster = %cluster.identifier, error = %e, "cannot start a postgres server");
                }
            }
        }
        self.recovering.clear(Some(scope));
    }

    /// Whether a cluster's server died and is being started again.
    #[must_use]
    pub fn recovering(&self, scope: &Scope, cluster: &str) -> bool {
        self.recovering.contains(scope, cluster)
    }

    /// The directory of a cluster's data, with a file naming whose it is.
    fn cluster_dir(&self, scope: &Scope, identifier: &str) -> PathBuf {
        self.servers.root.join(Self::dir_name(scope, identifier))
    }

    fn dir_name(scope: &Scope, identifier: &str) -> String {
        format!("{}-{}-{identifier}", scope.account, scope.region)
    }

    /// Removes the data of the region's clusters that are neither running nor kept (their
    /// servers were stopped earlier, or memshift was not running when they went). Only a
    /// directory whose scope file names this very account and region is removed: a
    /// directory name alone could also be another region's.
    fn remove_unused(&self, scope: &Scope, running: &[DesiredCluster], kept: &[String]) {
        let prefix = Self::dir_name(scope, "");
        let Ok(entries) = std::fs::read_dir(&self.servers.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(identifier) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
                continue;
            };
            let used = running.iter().any(|c| c.identifier == identifier)
                || kept.iter().any(|k| k == identifier);
            let ours = std::fs::read_to_string(entry.path().join(SCOPE_FILE))
                .is_ok_and(|text| text == scope_text(scope, identifier));
            if !used && ours {
                let _ = std::fs::remove_dir_all(entry.path());
                tracing::info!(cluster = %identifier, "postgres data removed");
            }
        }
    }

    /// The regions with a server that has exited: they need a reconcile, which starts it
    /// again on its data. Answers none while servers are being started or stopped.
    pub fn exited(&self) -> Vec<Scope> {
        let Ok(mut nodes) = self.nodes.try_lock() else {
            return Vec::new();
        };
        let mut scopes: Vec<Scope> = nodes
            .iter_mut()
            .filter_map(|((scope, cluster), node)| {
                let exited = !node.server.running();
                if exited {
                    tracing::warn!(cluster = %cluster, status = ?node.server.child.try_wait(), "postgres server exited");
                    self.recovering.insert(scope, cluster);
                }
                exited.then(|| scope.clone())
            })
            .collect();
        scopes.dedup();
        scopes
    }

    /// Stops every server (at shutdown); temporary data goes too.
    pub async fn stop_all(&self) {
        let mut nodes = self.nodes.lock().await;
        // Under the servers' lock: no start takes the spare or asks for another now.
        self.drop_spare().await;
        for (key, node) in nodes.drain() {
            self.forget(&key);
            stop(node, false).await;
        }
        if self.servers.temporary {
            let _ = std::fs::remove_dir_all(&self.servers.root);
        }
    }

    /// Stops every server and removes every database (after a reset of the state).
    pub async fn reset(&self) {
        let mut nodes = self.nodes.lock().await;
        self.drop_spare().await;
        for (key, node) in nodes.drain() {
            self.forget(&key);
            stop(node, true).await;
        }
        let _ = std::fs::remove_dir_all(&self.servers.root);
    }

    fn forget(&self, key: &(Scope, String)) {
        self.ports.remove(key);
    }

    async fn start(
        &self,
        bin_dir: &Path,
        scope: &Scope,
        cluster: &DesiredCluster,
    ) -> Result<Node, String> {
        let dir = self.cluster_dir(scope, &cluster.identifier);
        let logins = self
            .logins
            .get()
            .cloned()
            .ok_or("no login checks for the front")?;
        let tls = self.endpoint_tls(cluster)?;
        let started = Instant::now();
        let new = !dir.join("data").join("PG_VERSION").exists();
        let (server, admin, copied) = self.server_for(bin_dir, scope, cluster, &dir, new).await?;
        let node = Node {
            server,
            port: 0,
            master: cluster.master_username.clone(),
            front: None,
            tls,
        };
        let ready = started.elapsed();
        let bootstrapped = match template::mark_of(&node.server.dir.join("data")) {
            Some(mark) => adopt_template(&admin, &node.server, cluster, &mark).await,
            None => bootstrap(&admin, &node.server.socket(), cluster).await,
        };
        drop(admin);
        if new && self.spare_wanted {
            // The next new cluster's server, once this one's is ready.
            self.refill(bin_dir, &cluster.version);
        }
        if let Err(e) = bootstrapped {
            stop(node, false).await;
            return Err(e);
        }
        log_phases(
            &cluster.identifier,
            copied.is_none(),
            [copied.unwrap_or(ready), ready, started.elapsed()],
        );
        self.serve(node, scope, cluster, logins).await
    }

    /// The cluster's server, running, with memshift's session to it: the spare for a
    /// `new` cluster (one without data) when there is one, else a server started on the
    /// cluster's data, a copy of the template for a new cluster. Answers how long the
    /// data took, too (`None` for the spare).
    async fn server_for(
        &self,
        bin_dir: &Path,
        scope: &Scope,
        cluster: &DesiredCluster,
        dir: &Path,
        new: bool,
    ) -> Result<(Server, tokio_postgres::Client, Option<Duration>), String> {
        let started = Instant::now();
        let scope_text = scope_text(scope, &cluster.identifier);
        if new && let Some(mut server) = self.take_spare(&cluster.version).await {
            let adopted = match Self::adopt_spare(&mut server, dir, &scope_text) {
                Ok(()) => admin_session(&server.socket(), "postgres").await,
                Err(e) => Err(e),
            };
            match adopted {
                Ok(admin) => return Ok((server, admin, None)),
                Err(e) => {
                    tracing::warn!(cluster = %cluster.identifier, error = %e, "cannot take the spare postgres server");
                    stop_server(&mut server, true).await;
                }
            }
        }
        self.servers.make_dir(dir)?;
        std::fs::write(dir.join(SCOPE_FILE), scope_text)
            .map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
        if new {
            self.servers
                .new_data(bin_dir, &dir.join("data"), &cluster.version)
                .await?;
        }
        let copied = started.elapsed();
        let (server, admin) = self.servers.launch(bin_dir, dir).await?;
        Ok((server, admin, Some(copied)))
    }

    /// Starts the front of a cluster's server.
    async fn serve(
        &self,
        mut node: Node,
        scope: &Scope,
        cluster: &DesiredCluster,
        logins: Arc<dyn Logins>,
    ) -> Result<Node, String> {
        let listener = match self.endpoints.bind(cluster.port) {
            Ok(l) => l,
            Err(e) => {
                stop(node, false).await;
                return Err(format!("no free port: {e}"));
            }
        };
        node.port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let front = Arc::new(Front::new(
            scope.clone(),
            cluster.identifier.clone(),
            node.server.socket(),
            logins,
            node.tls.clone(),
        ));
        node.front = Some(tokio::spawn(pgfront::serve(listener, front)));
        Ok(node)
    }

    /// The TLS settings of a cluster's front, when fronts accept SSL.
    fn endpoint_tls(&self, cluster: &DesiredCluster) -> Result<Option<Arc<EndpointTls>>, String> {
        let Some(authority) = &self.authority else {
            return Ok(None);
        };
        EndpointTls::new(
            Arc::clone(authority),
            endpoint_names(cluster.names.iter().cloned()),
            &[pgfront::ALPN_POSTGRESQL],
        )
        .map(|tls| Some(Arc::new(tls)))
    }
}

impl Node {
    /// Creates the master user a changed cluster names, in the running server.
    async fn bootstrap_again(&mut self, cluster: &DesiredCluster) {
        let socket = self.server.socket();
        let done = match admin_session(&socket, "postgres").await {
            Ok(admin) => bootstrap(&admin, &socket, cluster).await,
            Err(e) => Err(e),
        };
        match done {
            Ok(()) => self.master.clone_from(&cluster.master_username),
            Err(e) => {
                tracing::error!(cluster = %cluster.identifier, error = %e, "cannot create the master user");
            }
        }
    }

    /// Gives the front a certificate for the cluster's names when they changed.
    fn rename(&self, cluster: &DesiredCluster) {
        let Some(tls) = &self.tls else {
            return;
        };
        match tls.set_names(endpoint_names(cluster.names.iter().cloned())) {
            Ok(true) => {
                tracing::info!(cluster = %cluster.identifier, names = ?tls.names(), "endpoint certificate renewed");
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(cluster = %cluster.identifier, error = %e, "cannot renew the endpoint certificate");
            }
        }
    }
}

/// The master user (a superuser, as on Redshift) and the cluster's database.
async fn bootstrap(
    admin: &tokio_postgres::Client,
    socket: &Path,
    cluster: &DesiredCluster,
) -> Result<(), String> {
    if let Some(master) = &cluster.master_username {
        let exists = first_column(
            admin,
            &format!("SELECT 1 FROM pg_roles WHERE rolname = {}", literal(master)),
        )
        .await?;
        if exists.is_empty() {
            execute(
                admin,
                &format!(
                    "CREATE ROLE {} LOGIN SUPERUSER CREATEDB CREATEROLE",
                    ident(master)
                ),
            )
            .await?;
        }
    }
    let owner = cluster.master_username.as_deref().unwrap_or(ADMIN_USER);
    let exists = first_column(
        admin,
        &format!(
            "SELECT 1 FROM pg_database WHERE datname = {}",
            literal(&cluster.db_name)
        ),
    )
    .await?;
    if exists.is_empty() {
        execute(
            admin,
            &format!(
                "CREATE DATABASE {} OWNER {}",
                ident(&cluster.db_name),
                ident(owner)
            ),
        )
        .await?;
        // As on Redshift, every user may create tables in `public` (PostgreSQL 15 and
        // later no longer allow it by default).
        let db = admin_session(socket, &cluster.db_name).await?;
        execute(&db, "GRANT CREATE ON SCHEMA public TO PUBLIC").await?;
    }
    pgredshift::install(admin, socket, &cluster.version).await
}

/// The master user and the cluster's database, on data fresh from the template (marked
/// `mark`): the template's `dev` becomes the cluster's database (renamed when its
/// `DBName` is another that does not exist yet, and left out when it names one of
/// PostgreSQL's own), owned by the master user. The rest is there already, unless the
/// template was made for another version.
async fn adopt_template(
    admin: &tokio_postgres::Client,
    server: &Server,
    cluster: &DesiredCluster,
    mark: &str,
) -> Result<(), String> {
    let db = &cluster.db_name;
    let master = cluster.master_username.as_deref();
    let found = first_column(
        admin,
        &format!(
            "SELECT 'database' FROM pg_database WHERE datname = {} \
             UNION ALL SELECT 'role' FROM pg_roles WHERE rolname = {}",
            literal(db),
            literal(master.unwrap_or_default())
        ),
    )
    .await?;
    let has = |what: &str| found.iter().any(|f| f == what);
    let mut statements = Vec::new();
    if let Some(master) = master
        && !has("role")
    {
        statements.push(format!(
            "CREATE ROLE {} LOGIN SUPERUSER CREATEDB CREATEROLE",
            ident(master)
        ));
    }
    let template_db = db == TEMPLATE_DATABASE;
    if template_db || !has("database") {
        if !template_db {
            statements.push(format!(
                "ALTER DATABASE {} RENAME TO {}",
                ident(TEMPLATE_DATABASE),
                ident(db)
            ));
        }
        if let Some(master) = master {
            statements.push(format!(
                "ALTER DATABASE {} OWNER TO {}",
                ident(db),
                ident(master)
            ));
        }
    }
    if !statements.is_empty() {
        execute(admin, &statements.join(";\n")).await?;
    }
    if !template_db && has("database") {
        // Not in one batch with the rest: a database is dropped outside a transaction.
        // (The batch is one: a start that stopped half-way did all of it or none.)
        execute(
            admin,
            &format!("DROP DATABASE IF EXISTS {}", ident(TEMPLATE_DATABASE)),
        )
        .await?;
    }
    if mark != template::mark(&cluster.version) {
        pgredshift::install(admin, &server.socket(), &cluster.version).await?;
    }
    template::adopted(&server.dir.join("data"))
}

/// A node dropped without [`stop`]: its front ends (and its server, as it drops).
impl Drop for Node {
    fn drop(&mut self) {
        if let Some(front) = self.front.take() {
            front.abort();
        }
    }
}

/// Temporary data goes with the supervisor, however it ends.
impl Drop for Postgres {
    fn drop(&mut self) {
        // Servers first: their data is under the root.
        self.nodes.get_mut().clear();
        self.abandon_spare();
        if self.servers.temporary {
            let _ = std::fs::remove_dir_all(&self.servers.root);
        }
    }
}

/// How long a server took to have its data, to accept connections, and to be ready for
/// its cluster (each counted from the start), and whether it was the spare (whose data
/// and start were there when it was taken).
fn log_phases(cluster: &str, spare: bool, [data, ready, bootstrapped]: [Duration; 3]) {
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    tracing::debug!(
        cluster,
        spare,
        data_micros = micros(data),
        ready_micros = micros(ready),
        bootstrapped_micros = micros(bootstrapped),
        "postgres server prepared"
    );
}

async fn stop(mut node: Node, remove: bool) {
    if let Some(front) = node.front.take() {
        front.abort();
    }
    stop_server(&mut node.server, remove).await;
}

fn find_bin_dir() -> Option<PathBuf> {
    let debian = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(debian)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .find(|dir| dir.join("postgres").is_file() && dir.join("initdb").is_file())
}

/// The user and group the servers run as when memshift runs as root.
fn run_as() -> Option<(u32, u32)> {
    let euid = std::fs::metadata("/proc/self").ok()?.uid();
    if euid != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres"))
            .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
            .flatten()
    })
}
