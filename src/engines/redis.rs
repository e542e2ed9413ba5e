//! Real Redis servers behind MemoryDB clusters.
//!
//! Each cluster gets its own `redis-server` (or `valkey-server`) child process on a free
//! loopback port, configured through its standard input (so no secret is on a command
//! line or in a file): no persistence, bound to 127.0.0.1, and one administrative user,
//! `memshift-admin`, whose random password lives only in memshift's memory.
//!
//! After every change that can affect a cluster, the region is reconciled: servers are
//! started for new clusters and stopped for deleted ones, and each server's users are
//! made exactly those of its cluster's ACL, with `ACL SETUSER <name> reset <access
//! string> #<sha256>...`. The `default` user follows MemoryDB: without a password when
//! the ACL holds it (as `open-access` does), switched off when it does not.
//!
//! memshift talks to its servers with the `redis` crate's async client, signed in as
//! `memshift-admin` (`AUTH memshift-admin <password>` is the first thing sent), with
//! every exchange bounded by [`ADMIN_TIMEOUT`] so that a hung server cannot hang
//! memshift. The admin password goes only into the server's standard input and into
//! that client's connection settings, never onto a command line or into a log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use redis::aio::MultiplexedConnection;
use redis::io::tcp::TcpSettings;
use redis::{AsyncConnectionConfig, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};

use super::proxy::{self, Front, NoTokens, TokenAuth};
use crate::state::Scope;

/// The user memshift administers each server with; never one of the cluster's users.
pub const ADMIN_USER: &str = "memshift-admin";
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest memshift waits for a server to connect or to answer one command.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A user as a cluster's server must know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredUser {
    pub name: String,
    pub access_string: String,
    /// SHA-256 hashes of the passwords, in hex.
    pub password_hashes: Vec<String>,
    /// The `default` user of an ACL that holds it: no password needed.
    pub nopass: bool,
    /// Signs in with IAM tokens, checked by the cluster's proxy.
    pub iam: bool,
}

/// A cluster as its server must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredCluster {
    pub name: String,
    /// The port chosen for its server, used when it is still free.
    pub port: Option<u16>,
    pub users: Vec<DesiredUser>,
}

struct Node {
    child: Child,
    /// The cluster's endpoint: the proxy in front of the server.
    port: u16,
    admin_password: String,
    dir: PathBuf,
    front: Arc<Front>,
    proxy: Option<tokio::task::JoinHandle<()>>,
}

/// The Redis servers of every cluster, and the binary they run.
pub struct Redis {
    binary: Option<PathBuf>,
    nodes: tokio::sync::Mutex<HashMap<(Scope, String), Node>>,
    /// Ports by cluster, readable without waiting (the cluster views need them).
    ports: super::Ports,
    /// How the proxies check IAM tokens.
    token_auth: OnceLock<Arc<dyn TokenAuth>>,
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
    /// `off` runs no servers.
    #[must_use]
    pub fn new(configured: Option<&Path>) -> Self {
        let binary = match configured {
            Some(p) if p == Path::new("off") => None,
            Some(p) => Some(p.to_path_buf()),
            None => find_on_path("redis-server").or_else(|| find_on_path("valkey-server")),
        };
        Redis {
            binary,
            nodes: tokio::sync::Mutex::default(),
            ports: super::Ports::default(),
            token_auth: OnceLock::new(),
        }
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

    /// The server binary clusters run, if any.
    #[must_use]
    pub fn binary(&self) -> Option<&Path> {
        self.binary.as_deref()
    }

    /// The loopback port of a cluster's server, when one runs.
    #[must_use]
    pub fn port(&self, scope: &Scope, cluster: &str) -> Option<u16> {
        self.ports.get(scope, cluster)
    }

    /// Whether any server runs for the region.
    #[must_use]
    pub fn runs_in(&self, scope: &Scope) -> bool {
        self.ports.any_in(scope)
    }

    /// Makes the region's servers match its clusters: starts, stops, and sets users.
    /// Problems are logged: the control plane has already changed.
    /// `desired` is read once the servers are locked, so that concurrent changes are
    /// applied in the order they were made.
    pub async fn reconcile(&self, scope: &Scope, desired: impl FnOnce() -> Vec<DesiredCluster>) {
        let Some(binary) = &self.binary else {
            return;
        };
        let mut nodes = self.nodes.lock().await;
        let clusters = &desired();
        if clusters.is_empty() && !nodes.keys().any(|(s, _)| s == scope) {
            return;
        }
        let gone: Vec<(Scope, String)> = nodes
            .keys()
            .filter(|(s, name)| s == scope && !clusters.iter().any(|c| &c.name == name))
            .cloned()
            .collect();
        for key in gone {
            if let Some(node) = nodes.remove(&key) {
                self.forget(&key);
                stop(node).await;
                tracing::info!(cluster = %key.1, "redis server stopped");
            }
        }
        for cluster in clusters {
            let key = (scope.clone(), cluster.name.clone());
            let running = match nodes.get_mut(&key) {
                Some(node) => matches!(node.child.try_wait(), Ok(None)),
                None => false,
            };
            if !running {
                if let Some(old) = nodes.remove(&key) {
                    tracing::warn!(cluster = %cluster.name, "redis server had exited; starting it again");
                    stop(old).await;
                }
                match start(binary, &cluster.name, cluster.port, self.token_auth()).await {
                    Ok(node) => {
                        tracing::info!(cluster = %cluster.name, port = node.port, "redis server started");
                        self.ports.set(key.clone(), node.port);
                        nodes.insert(key.clone(), node);
                    }
                    Err(e) => {
                        tracing::error!(cluster = %cluster.name, error = %e, "cannot start a redis server");
                        continue;
                    }
                }
            }
            if let Some(node) = nodes.get(&key)
                && let Err(e) = apply_users(node, &cluster.users).await
            {
                tracing::error!(cluster = %cluster.name, error = %e, "cannot apply the ACL's users");
            }
        }
    }

    /// Stops every server (at shutdown).
    pub async fn stop_all(&self) {
        let mut nodes = self.nodes.lock().await;
        for (key, node) in nodes.drain() {
            self.forget(&key);
            stop(node).await;
        }
    }

    fn forget(&self, key: &(Scope, String)) {
        self.ports.remove(key);
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

async fn start(
    binary: &Path,
    cluster: &str,
    preferred: Option<u16>,
    auth: Arc<dyn TokenAuth>,
) -> Result<Node, String> {
    // The endpoint (the proxy) takes the chosen port when it is free; the server itself
    // listens on another.
    let listener = super::bind_endpoint(preferred)
        .await
        .map_err(|e| format!("no free port: {e}"))?;
    let public = listener.local_addr().map_err(|e| e.to_string())?.port();
    let port = super::free_port().map_err(|e| format!("no free port: {e}"))?;
    let dir = std::env::temp_dir().join(format!(
        "memshift-redis-{}-{cluster}-{port}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut bytes = [0u8; 24];
    rand::fill(&mut bytes);
    let admin_password = hex::encode(bytes);
    let config = format!(
        "port {port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\nsave \"\"\n\
         appendonly no\nloglevel warning\nlogfile \"\"\ndir \"{}\"\n\
         user {ADMIN_USER} on >{admin_password} ~* &* +@all\n",
        dir.display()
    );
    let mut child = Command::new(binary)
        .arg("-")
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
    let front = Arc::new(Front {
        cluster: cluster.to_owned(),
        backend_port: port,
        iam_users: Mutex::default(),
        auth,
    });
    let node = Node {
        child,
        port: public,
        admin_password,
        dir,
        front: Arc::clone(&front),
        proxy: None,
    };
    let mut node = wait_ready(node, Instant::now()).await?;
    node.proxy = Some(tokio::spawn(proxy::serve(listener, front)));
    Ok(node)
}

async fn wait_ready(mut node: Node, started: Instant) -> Result<Node, String> {
    loop {
        if admin_connection(&node).await.is_ok() {
            return Ok(node);
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            let _ = std::fs::remove_dir_all(&node.dir);
            return Err(format!("the server exited at start: {status}"));
        }
        if started.elapsed() > START_TIMEOUT {
            stop(node).await;
            return Err("the server did not answer within 10 s".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A server whose node is dropped without [`stop`] (memshift's runtime ending, a
/// panicking test) is killed, and its directory goes.
impl Drop for Node {
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
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn stop(mut node: Node) {
    if let Some(proxy) = node.proxy.take() {
        proxy.abort();
    }
    let _ = node.child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), node.child.wait()).await;
    let _ = std::fs::remove_dir_all(&node.dir);
}

/// Makes the server's users exactly `users` (besides memshift's own).
async fn apply_users(node: &Node, users: &[DesiredUser]) -> Result<(), String> {
    let mut conn = admin_connection(node).await?;
    let existing: Vec<String> = call(&mut conn, &["ACL", "USERS"]).await?;
    for name in existing {
        if name != ADMIN_USER && name != "default" && !users.iter().any(|u| u.name == name) {
            call::<()>(&mut conn, &["ACL", "DELUSER", &name]).await?;
        }
    }
    let mut default_applied = false;
    let known = node
        .front
        .iam_users
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut iam = HashMap::new();
    for user in users {
        let mut secrets: Vec<String> = user
            .password_hashes
            .iter()
            .map(|h| format!("#{h}"))
            .collect();
        if user.iam {
            // IAM users sign in through the proxy, which alone knows this password.
            let secret = known.get(&user.name).cloned().unwrap_or_else(|| {
                let mut bytes = [0u8; 24];
                rand::fill(&mut bytes);
                hex::encode(bytes)
            });
            secrets.push(format!(">{secret}"));
            iam.insert(user.name.clone(), secret);
        }
        let mut args: Vec<&str> = vec!["ACL", "SETUSER", &user.name, "reset"];
        if user.nopass {
            args.push("nopass");
        }
        args.extend(secrets.iter().map(String::as_str));
        args.extend(user.access_string.split_whitespace());
        call::<()>(&mut conn, &args).await?;
        default_applied |= user.name == "default";
    }
    if !default_applied {
        // An ACL without `default`: the default user cannot be used at all.
        call::<()>(&mut conn, &["ACL", "SETUSER", "default", "reset", "off"]).await?;
    }
    *node
        .front
        .iam_users
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = iam;
    Ok(())
}

/// A connection to a node's server, signed in as memshift's admin user.
async fn admin_connection(node: &Node) -> Result<MultiplexedConnection, String> {
    let info = ConnectionAddr::Tcp("127.0.0.1".to_owned(), node.front.backend_port)
        .into_connection_info()
        .map_err(|e| e.to_string())?
        .set_tcp_settings(TcpSettings::default().set_nodelay(true))
        .set_redis_settings(
            RedisConnectionInfo::default()
                .set_username(ADMIN_USER)
                .set_password(&node.admin_password)
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
    tokio::time::timeout(ADMIN_TIMEOUT, cmd.query_async(conn))
        .await
        .map_err(|_| format!("{} timed out", args.first().unwrap_or(&"")))?
        .map_err(|e| e.to_string())
}
