//! Real PostgreSQL servers behind Redshift clusters.
//!
//! CreateCluster runs `initdb` into the cluster's own directory (under the data
//! directory, or a temporary one) and starts `postgres` listening only on a private Unix
//! socket, where memshift's own superuser, `memshift`, is trusted. The master user
//! (a superuser) and the `DBName` database are created. The cluster's endpoint is a
//! wire-protocol front (see [`super::pgfront`]) on its own loopback port: it checks
//! passwords against memshift's records and then hands the connection to the server.
//!
//! memshift's own sessions (start-up checks, the bootstrap, the front's login roles) go
//! through [`super::pgadmin`] over that socket.
//!
//! PostgreSQL does not run as root; when memshift does, the servers run as the
//! `postgres` system user (which Debian's package creates).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::certificate::EndpointTls;
use super::endpoints::Endpoints;
use super::pgadmin::{ADMIN_USER, SOCKET_PORT, admin_session, execute, first_column};
use super::pgfront::{self, Front, Logins};
use super::pgredshift;
use super::pgwire::{ident, literal};
use crate::state::Scope;
use crate::tls::{Authority, endpoint_names};

const START_TIMEOUT: Duration = Duration::from_mins(1);

/// The directory under the root that holds the data every new cluster starts from.
const TEMPLATE_DIR: &str = ".template";
/// A copy of the template made ahead, for the next new cluster.
const SPARE_DIR: &str = ".spare";

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
    child: Child,
    port: u16,
    /// The master user bootstrapped into the server.
    master: Option<String>,
    dir: PathBuf,
    socket_dir: PathBuf,
    front: Option<tokio::task::JoinHandle<()>>,
    tls: Option<Arc<EndpointTls>>,
}

/// The PostgreSQL servers of every Redshift cluster.
pub struct Postgres {
    bin_dir: Option<PathBuf>,
    /// Where clusters' data directories go.
    root: PathBuf,
    /// Whether `root` is memshift's to remove at the end (no data directory given).
    temporary: bool,
    run_as: Option<(u32, u32)>,
    nodes: tokio::sync::Mutex<HashMap<(Scope, String), Node>>,
    /// Held while the template is being made.
    template: tokio::sync::Mutex<()>,
    /// The making of the spare copy, and how to end it.
    spare: Mutex<
        Option<(
            tokio::task::JoinHandle<()>,
            tokio::sync::oneshot::Sender<()>,
        )>,
    >,
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
            .field("bin_dir", &self.bin_dir)
            .field("root", &self.root)
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
            bin_dir,
            root,
            temporary,
            run_as: run_as(),
            nodes: tokio::sync::Mutex::default(),
            template: tokio::sync::Mutex::default(),
            spare: Mutex::default(),
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

    /// Fronts that accept SSL, with certificates of `authority`.
    #[must_use]
    pub fn with_authority(mut self, authority: Arc<Authority>) -> Self {
        self.authority = Some(authority);
        self
    }

    /// The directory of the server binaries, if any.
    #[must_use]
    pub fn bin_dir(&self) -> Option<&Path> {
        self.bin_dir.as_deref()
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
        let Some(bin_dir) = &self.bin_dir else {
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
                if matches!(node.child.try_wait(), Ok(None)) {
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
        self.root.join(Self::dir_name(scope, identifier))
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
        let Ok(entries) = std::fs::read_dir(&self.root) else {
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
                let exited = !matches!(node.child.try_wait(), Ok(None));
                if exited {
                    tracing::warn!(cluster = %cluster, status = ?node.child.try_wait(), "postgres server exited");
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
        self.cancel_refill().await;
        let mut nodes = self.nodes.lock().await;
        for (key, node) in nodes.drain() {
            self.forget(&key);
            stop(node, false).await;
        }
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    /// Stops every server and removes every database (after a reset of the state).
    pub async fn reset(&self) {
        self.cancel_refill().await;
        let mut nodes = self.nodes.lock().await;
        for (key, node) in nodes.drain() {
            self.forget(&key);
            stop(node, true).await;
        }
        let _ = std::fs::remove_dir_all(&self.root);
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
        self.make_dir(&dir)?;
        std::fs::write(dir.join(SCOPE_FILE), scope_text(scope, &cluster.identifier))
            .map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
        let data = dir.join("data");
        let logins = self
            .logins
            .get()
            .cloned()
            .ok_or("no login checks for the front")?;
        let tls = self.endpoint_tls(cluster)?;
        let started = Instant::now();
        if !data.join("PG_VERSION").exists() {
            self.new_data(bin_dir, &data).await?;
        }
        let copied = started.elapsed();
        // Unix socket paths are short; keep the socket in a short directory of its own.
        let mut tag = [0u8; 6];
        rand::fill(&mut tag);
        let socket_dir =
            std::env::temp_dir().join(format!("mspg-{}-{}", std::process::id(), hex::encode(tag)));
        self.make_dir(&socket_dir)?;
        let log = match std::fs::File::create(dir.join("postgres.log")) {
            Ok(log) => log,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&socket_dir);
                return Err(format!("cannot create the server log: {e}"));
            }
        };
        if let Some((uid, gid)) = self.run_as {
            let _ = std::os::unix::fs::chown(dir.join("postgres.log"), Some(uid), Some(gid));
        }
        let fsync = if self.temporary { "off" } else { "on" };
        let child = self
            .command(&bin_dir.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-c", "listen_addresses="])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", socket_dir.display()))
            .args(["-c", &format!("port={SOCKET_PORT}")])
            .args(["-c", &format!("fsync={fsync}")])
            // A commit is acknowledged once its WAL is written (and, with a data
            // directory, flushed): a server killed after it keeps it.
            .args(["-c", "synchronous_commit=on", "-c", "max_connections=100"])
            // Shared memory segments in the data directory, not in /dev/shm: a server
            // killed with memshift leaves none behind.
            .args(["-c", "dynamic_shared_memory_type=mmap"])
            // The front sets login passwords with ALTER ROLE: no statement text in the
            // server's log, even when one fails.
            .args([
                "-c",
                "log_statement=none",
                "-c",
                "log_min_error_statement=panic",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&socket_dir);
                format!("cannot run postgres: {e}")
            })?;
        let socket = socket_dir.join(format!(".s.PGSQL.{SOCKET_PORT}"));
        let mut node = Node {
            child,
            port: 0,
            master: cluster.master_username.clone(),
            dir,
            socket_dir,
            front: None,
            tls,
        };
        let admin = match wait_ready(&mut node, &socket).await {
            Ok(a) => a,
            Err(e) => {
                stop(node, false).await;
                return Err(e);
            }
        };
        let ready = started.elapsed();
        if let Err(e) = bootstrap(&admin, &socket, cluster).await {
            stop(node, false).await;
            return Err(e);
        }
        log_phases(&cluster.identifier, [copied, ready, started.elapsed()]);
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
            socket,
            logins,
            node.tls.clone(),
        ));
        node.front = Some(tokio::spawn(pgfront::serve(listener, front)));
        Ok(node)
    }

    /// A new database cluster in `data`: a copy of the template, which `initdb` makes once
    /// (the first cluster waits for it). A copy takes tens of milliseconds where `initdb`
    /// takes most of a second.
    async fn new_data(&self, bin_dir: &Path, data: &Path) -> Result<(), String> {
        let template = self.root.join(TEMPLATE_DIR);
        {
            // One `initdb` at a time; those who waited find the template made.
            let _made = self.template.lock().await;
            if !template.join("PG_VERSION").exists() {
                let partial = self.root.join(format!("{TEMPLATE_DIR}.partial"));
                let _ = std::fs::remove_dir_all(&partial);
                self.make_dir(&partial)?;
                self.initdb(bin_dir, &partial).await?;
                std::fs::rename(&partial, &template)
                    .map_err(|e| format!("cannot keep the template: {e}"))?;
            }
        }
        // The spare copy, made while no cluster waited, when there is one.
        let spare = self.root.join(SPARE_DIR);
        if std::fs::rename(&spare, data).is_err() {
            copy_dir(&template, data, None).await?;
        }
        self.refill(&template, &spare);
        Ok(())
    }

    /// Makes the next cluster's data in the background: a copy of the template.
    fn refill(&self, template: &Path, spare: &Path) {
        let mut slot = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
        if spare.exists() || slot.as_ref().is_some_and(|(task, _)| !task.is_finished()) {
            return;
        }
        let (template, spare) = (template.to_path_buf(), spare.to_path_buf());
        let (cancel, cancelled) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let partial = spare.with_extension("partial");
            let _ = tokio::fs::remove_dir_all(&partial).await;
            if copy_dir(&template, &partial, Some(cancelled)).await.is_ok() {
                let _ = std::fs::rename(&partial, &spare);
            }
        });
        *slot = Some((task, cancel));
    }

    /// Ends the making of a spare copy, if one is under way, before the root goes.
    async fn cancel_refill(&self) {
        let running = self
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((task, cancel)) = running {
            let _ = cancel.send(());
            let _ = task.await;
        }
    }

    /// A new database cluster in `data`, with memshift's own superuser trusted on the
    /// Unix socket and nothing reachable over TCP.
    async fn initdb(&self, bin_dir: &Path, data: &Path) -> Result<(), String> {
        let out = self
            .command(&bin_dir.join("initdb"))
            .arg("-D")
            .arg(data)
            .args(["-U", ADMIN_USER, "--auth-local=trust", "--auth-host=reject"])
            .args(["-E", "UTF8", "--no-sync", "--no-instructions", "--locale=C"])
            // One-megabyte WAL segments: a new cluster copies 1 MB of WAL, not 16.
            .arg("--wal-segsize=1")
            .output()
            .await
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
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

    fn make_dir(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .map_err(|e| format!("cannot give {} to postgres: {e}", dir.display()))?;
        }
        Ok(())
    }

    fn command(&self, program: &Path) -> Command {
        let mut std = super::orphans::command(program);
        if let Some((uid, gid)) = self.run_as {
            std.uid(uid).gid(gid);
            // The servers' environment: no HOME of root's.
            std.env("HOME", "/tmp");
        }
        Command::from(std)
    }
}

impl Node {
    /// Creates the master user a changed cluster names, in the running server.
    async fn bootstrap_again(&mut self, cluster: &DesiredCluster) {
        let socket = self.socket_dir.join(format!(".s.PGSQL.{SOCKET_PORT}"));
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

async fn wait_ready(node: &mut Node, socket: &Path) -> Result<tokio_postgres::Client, String> {
    let started = Instant::now();
    loop {
        if socket.exists()
            && let Ok(admin) = admin_session(socket, "postgres").await
        {
            return Ok(admin);
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            let log = std::fs::read_to_string(node.dir.join("postgres.log")).unwrap_or_default();
            return Err(format!(
                "postgres exited at start ({status}): {}",
                log.trim()
            ));
        }
        if started.elapsed() > START_TIMEOUT {
            return Err("postgres did not accept connections within 60 s".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
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

/// A server whose node is dropped without [`stop`] (memshift's runtime ending, a
/// panicking test): an immediate shutdown (SIGQUIT, which ends the server's own
/// processes too), and its socket directory goes.
impl Drop for Node {
    fn drop(&mut self) {
        if let Some(front) = self.front.take() {
            front.abort();
        }
        if let (Ok(None), Some(pid)) = (self.child.try_wait(), self.child.id()) {
            let quit = std::process::Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            let deadline = Instant::now() + Duration::from_secs(5);
            while quit && Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if matches!(self.child.try_wait(), Ok(None)) {
                let _ = self.child.start_kill();
                let deadline = Instant::now() + Duration::from_secs(1);
                while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.socket_dir);
    }
}

/// Temporary data goes with the supervisor, however it ends.
impl Drop for Postgres {
    fn drop(&mut self) {
        // Servers first: their data is under the root.
        self.nodes.get_mut().clear();
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// How long a server took to have its data, to accept connections, and to be ready for
/// its cluster (each counted from the start).
fn log_phases(cluster: &str, [data, ready, bootstrapped]: [Duration; 3]) {
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    tracing::debug!(
        cluster,
        data_micros = micros(data),
        ready_micros = micros(ready),
        bootstrapped_micros = micros(bootstrapped),
        "postgres server prepared"
    );
}

/// Copies a directory with its owners and modes (`cp -a`), unless `cancel` ends it first
/// (the copy is then ended, and the caller removes what it made).
async fn copy_dir(
    from: &Path,
    to: &Path,
    cancel: Option<tokio::sync::oneshot::Receiver<()>>,
) -> Result<(), String> {
    let mut child = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run cp: {e}"))?;
    let status = match cancel {
        Some(cancelled) => tokio::select! {
            status = child.wait() => status,
            _ = cancelled => {
                let _ = child.kill().await;
                return Err("cancelled".to_owned());
            }
        },
        None => child.wait().await,
    }
    .map_err(|e| format!("cannot run cp: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cannot copy {} ({status})", from.display()))
    }
}

async fn stop(mut node: Node, remove: bool) {
    if let Some(front) = node.front.take() {
        front.abort();
    }
    // A fast shutdown (SIGINT) lets the server end its own processes; SIGKILL would
    // leave them behind.
    let interrupted = match node.child.id() {
        Some(pid) => std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success()),
        None => false,
    };
    let waited = interrupted
        && tokio::time::timeout(Duration::from_secs(10), node.child.wait())
            .await
            .is_ok();
    if !waited {
        let _ = node.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), node.child.wait()).await;
    }
    let _ = std::fs::remove_dir_all(&node.socket_dir);
    if remove {
        let _ = std::fs::remove_dir_all(&node.dir);
    }
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
