//! MemoryDB clusters seen as an application sees them: created with the SDK, reached
//! through their endpoints with the `redis` crate (as one cluster, or node by node), and
//! written to by writers that count only what a node acknowledged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_memorydb::Client;
use aws_sdk_memorydb::error::ProvideErrorMetadata;
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;

/// Whether a Redis server is installed; without one, says the test is skipped, or fails
/// when `TEST_REQUIRE_REDIS` is set (as CI sets).
pub fn redis_available() -> bool {
    let ca = std::sync::Arc::new(memshift::tls::Authority::generate().unwrap());
    let found = memshift::engines::redis::Redis::new(None, ca, std::sync::Arc::default())
        .binary()
        .is_some();
    if !found {
        assert!(
            std::env::var_os("TEST_REQUIRE_REDIS").is_none(),
            "TEST_REQUIRE_REDIS is set but no redis-server is on PATH"
        );
        eprintln!("skipped: no redis-server on PATH (apt-get install redis-server)");
    }
    found
}

/// How a client reaches a cluster's endpoints: in plain text or over TLS with memshift's
/// CA, as the default user or as a user with a password.
#[derive(Clone, Default)]
pub struct Access {
    pub ca: Option<Vec<u8>>,
    pub login: Option<(String, String)>,
}

impl Access {
    /// Over TLS with the CA memshift at `url` serves, as `login` when given.
    pub async fn tls(url: &str, login: Option<(&str, &str)>) -> Access {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ca = reqwest::get(format!("{url}/_memshift/ca.pem"))
            .await
            .expect("the CA")
            .bytes()
            .await
            .expect("the CA")
            .to_vec();
        Access {
            ca: Some(ca),
            login: login.map(|(u, p)| (u.to_owned(), p.to_owned())),
        }
    }

    /// The same, as the default user.
    pub fn anonymous(&self) -> Access {
        Access {
            ca: self.ca.clone(),
            login: None,
        }
    }

    fn url(&self, port: u16) -> String {
        let scheme = if self.ca.is_some() { "rediss" } else { "redis" };
        match &self.login {
            Some((user, password)) => format!("{scheme}://{user}:{password}@127.0.0.1:{port}/"),
            None => format!("{scheme}://127.0.0.1:{port}/"),
        }
    }

    fn certificates(&self) -> Option<redis::TlsCertificates> {
        self.ca.as_ref().map(|ca| redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(ca.clone()),
        })
    }

    /// A cluster client that starts from the endpoint on `port` and discovers the rest.
    pub async fn cluster(&self, port: u16) -> Result<ClusterConnection, String> {
        let mut builder = ClusterClientBuilder::new(vec![self.url(port)])
            .connection_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(2));
        if let Some(certs) = self.certificates() {
            builder = builder.certs(certs);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        tokio::time::timeout(Duration::from_secs(5), client.get_async_connection())
            .await
            .map_err(|_| "the cluster did not answer within 5 s".to_owned())?
            .map_err(|e| e.to_string())
    }

    /// A connection to the one node behind the endpoint on `port`.
    pub async fn node(&self, port: u16) -> Result<redis::aio::MultiplexedConnection, String> {
        let client = match self.certificates() {
            Some(certs) => redis::Client::build_with_tls(self.url(port), certs),
            None => redis::Client::open(self.url(port)),
        }
        .map_err(|e| e.to_string())?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        tokio::time::timeout(
            Duration::from_secs(5),
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|_| "no connection within 5 s".to_owned())?
        .map_err(|e| e.to_string())
    }

    /// One command on the node behind the endpoint on `port`.
    pub async fn query<T: redis::FromRedisValue>(
        &self,
        port: u16,
        args: &[&str],
    ) -> Result<T, String> {
        let mut conn = self.node(port).await?;
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query_async(&mut conn).await.map_err(|e| e.to_string())
    }
}

/// A cluster's endpoints as DescribeClusters reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub status: String,
    pub cluster: u16,
    /// Shard name → its nodes' names and endpoint ports.
    pub shards: BTreeMap<String, Vec<(String, u16)>>,
}

impl Endpoints {
    /// Every endpoint port: the cluster's, then its nodes'.
    pub fn ports(&self) -> Vec<u16> {
        std::iter::once(self.cluster)
            .chain(self.shards.values().flatten().map(|(_, p)| *p))
            .collect()
    }

    /// The node endpoint ports of a shard.
    pub fn shard(&self, name: &str) -> Vec<u16> {
        self.shards
            .get(name)
            .unwrap_or_else(|| panic!("no shard {name}: {self:?}"))
            .iter()
            .map(|(_, p)| *p)
            .collect()
    }
}

fn port_of(endpoint: Option<&aws_sdk_memorydb::types::Endpoint>) -> u16 {
    u16::try_from(endpoint.map_or(0, aws_sdk_memorydb::types::Endpoint::port)).unwrap_or(0)
}

/// DescribeClusters with shard details.
pub async fn endpoints(client: &Client, cluster: &str) -> Result<Endpoints, String> {
    let described = client
        .describe_clusters()
        .cluster_name(cluster)
        .show_shard_details(true)
        .send()
        .await
        .map_err(|e| {
            format!(
                "{}: {}",
                e.code().unwrap_or("-"),
                e.message().unwrap_or("-")
            )
        })?;
    let found = described.clusters().first().ok_or("no cluster")?;
    let shards = found
        .shards()
        .iter()
        .map(|s| {
            let nodes = s
                .nodes()
                .iter()
                .map(|n| {
                    (
                        n.name().unwrap_or_default().to_owned(),
                        port_of(n.endpoint()),
                    )
                })
                .collect();
            (s.name().unwrap_or_default().to_owned(), nodes)
        })
        .collect();
    Ok(Endpoints {
        status: found.status().unwrap_or_default().to_owned(),
        cluster: port_of(found.cluster_endpoint()),
        shards,
    })
}

/// CreateCluster on the node type every test uses; answers the cluster endpoint's port.
pub async fn create_cluster(
    client: &Client,
    name: &str,
    (shards, replicas): (i32, i32),
    tls: bool,
    acl: &str,
) -> u16 {
    let out = client
        .create_cluster()
        .cluster_name(name)
        .node_type("db.t4g.small")
        .acl_name(acl)
        .num_shards(shards)
        .num_replicas_per_shard(replicas)
        .tls_enabled(tls)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateCluster {name}: {}: {}",
                e.code().unwrap_or("-"),
                e.message().unwrap_or("-")
            )
        });
    u16::try_from(out.cluster().unwrap().cluster_endpoint().unwrap().port()).unwrap()
}

/// Waits until the cluster is `available` and answers: every endpoint answers PING and
/// the cluster endpoint's node sees the cluster whole. Answers its endpoints and how long
/// it took.
pub async fn wait_ready(
    client: &Client,
    cluster: &str,
    access: &Access,
    within: Duration,
) -> (Endpoints, Duration) {
    let started = Instant::now();
    loop {
        let last = match ready(client, cluster, access).await {
            Ok(found) => return (found, started.elapsed()),
            Err(e) => e,
        };
        assert!(
            started.elapsed() < within,
            "cluster {cluster} was not ready within {within:?}: {last}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn ready(client: &Client, cluster: &str, access: &Access) -> Result<Endpoints, String> {
    let found = endpoints(client, cluster).await?;
    if found.status != "available" {
        return Err(format!("status {}", found.status));
    }
    for port in found.ports() {
        let pong: String = access
            .query(port, &["PING"])
            .await
            .map_err(|e| format!("{port}: {e}"))?;
        if pong != "PONG" {
            return Err(format!("{port} answered {pong}"));
        }
    }
    let info: String = access.query(found.cluster, &["CLUSTER", "INFO"]).await?;
    if !info.contains("cluster_state:ok") {
        return Err(format!("cluster endpoint: {info}"));
    }
    Ok(found)
}

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone)]
pub struct NodeLine {
    pub id: String,
    /// The announced port: the node's endpoint.
    pub port: u16,
    pub flags: Vec<String>,
    /// The id of its primary, for a replica.
    pub primary: Option<String>,
    pub connected: bool,
    pub slots: Vec<(u16, u16)>,
}

impl NodeLine {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// A primary no one suspects.
    pub fn is_primary(&self) -> bool {
        self.has("master") && !self.has("fail") && !self.has("fail?")
    }

    /// A replica no one suspects.
    pub fn is_replica(&self) -> bool {
        self.has("slave") && !self.has("fail") && !self.has("fail?")
    }
}

/// The nodes in short, one a line, for a failure's message.
pub fn summary(nodes: &[NodeLine]) -> String {
    use std::fmt::Write as _;
    nodes.iter().fold(String::new(), |mut text, n| {
        let primary = n.primary.as_deref().map_or("-", |p| &p[..8.min(p.len())]);
        let link = if n.connected {
            "connected"
        } else {
            "disconnected"
        };
        let _ = write!(
            text,
            "\n  {} port {} {} of {primary} {link} slots {:?}",
            &n.id[..8.min(n.id.len())],
            n.port,
            n.flags.join(","),
            n.slots
        );
        text
    })
}

/// Reads `CLUSTER NODES`.
pub fn parse_nodes(text: &str) -> Vec<NodeLine> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 {
                return None;
            }
            let address = fields[1].split('@').next()?;
            let port = address.rsplit(':').next()?.parse().ok()?;
            let slots = fields[8..]
                .iter()
                .filter(|s| !s.starts_with('['))
                .filter_map(|s| parse_range(s))
                .collect();
            Some(NodeLine {
                id: fields[0].to_owned(),
                port,
                flags: fields[2].split(',').map(str::to_owned).collect(),
                primary: (fields[3] != "-").then(|| fields[3].to_owned()),
                connected: fields[7] == "connected",
                slots,
            })
        })
        .collect()
}

/// `a-b` or `a`.
pub fn parse_range(text: &str) -> Option<(u16, u16)> {
    match text.split_once('-') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => text.parse().ok().map(|a| (a, a)),
    }
}

/// `CLUSTER NODES` as the node behind the endpoint on `port` sees the cluster.
pub async fn cluster_nodes(access: &Access, port: u16) -> Result<Vec<NodeLine>, String> {
    let text: String = access.query(port, &["CLUSTER", "NODES"]).await?;
    Ok(parse_nodes(&text))
}

/// The pid of the server behind the endpoint on `port`, from `INFO server`.
pub async fn server_pid(access: &Access, port: u16) -> Result<u32, String> {
    let info: String = access.query(port, &["INFO", "server"]).await?;
    info.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| format!("no process_id in INFO: {info}"))
}

/// The primary and the replica of a shard (whose nodes' endpoints are `ports`), as the
/// node behind `ask` sees them.
pub async fn roles(
    access: &Access,
    ask: u16,
    ports: &[u16],
) -> Result<(NodeLine, NodeLine), String> {
    let nodes = cluster_nodes(access, ask).await?;
    let ours: Vec<&NodeLine> = nodes.iter().filter(|n| ports.contains(&n.port)).collect();
    let primary = ours.iter().find(|n| n.is_primary());
    let replica = ours.iter().find(|n| n.is_replica());
    match (primary, replica) {
        (Some(p), Some(r)) => Ok(((*p).clone(), (*r).clone())),
        _ => Err(format!(
            "no primary and replica among {ports:?}: {nodes:#?}"
        )),
    }
}

/// Writers that write unique keys until stopped, each through a cluster client of its
/// own. A key counts only once a node answered OK; a writer whose connection fails
/// connects again and goes on.
pub struct Writers {
    stop: Arc<AtomicBool>,
    /// The round each acknowledgement is counted in.
    round: Arc<AtomicUsize>,
    acked: Arc<AtomicUsize>,
    tasks: tokio::task::JoinSet<Vec<(usize, String)>>,
}

impl Writers {
    /// `count` writers of keys `<prefix>:w<writer>:<n>` through the endpoint on `port`.
    pub fn start(count: usize, prefix: &str, port: u16, access: &Access) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let round = Arc::new(AtomicUsize::new(0));
        let acked = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..count {
            let state = (Arc::clone(&stop), Arc::clone(&round), Arc::clone(&acked));
            let (access, prefix) = (access.clone(), format!("{prefix}:w{w}"));
            tasks.spawn(write_until_stopped(prefix, port, access, state));
        }
        Writers {
            stop,
            round,
            acked,
            tasks,
        }
    }

    /// Counts what is acknowledged from now on in `round`.
    pub fn set_round(&self, round: usize) {
        self.round.store(round, Ordering::SeqCst);
    }

    pub fn acked(&self) -> usize {
        self.acked.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` writes were acknowledged.
    pub async fn wait_for(&self, n: usize, within: Duration) {
        let started = Instant::now();
        while self.acked() < n {
            assert!(
                started.elapsed() < within,
                "only {} writes acknowledged in {within:?}",
                self.acked()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the writers; answers every acknowledged key with its round.
    pub async fn stop(mut self) -> Vec<(usize, String)> {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        while let Some(done) = self.tasks.join_next().await {
            all.extend(done.expect("a writer"));
        }
        all
    }
}

async fn write_until_stopped(
    prefix: String,
    port: u16,
    access: Access,
    (stop, round, acked): (Arc<AtomicBool>, Arc<AtomicUsize>, Arc<AtomicUsize>),
) -> Vec<(usize, String)> {
    let mut mine = Vec::new();
    let mut n = 0_u64;
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut conn) = access.cluster(port).await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let mut failures = 0;
        while !stop.load(Ordering::SeqCst) && failures < 3 {
            n += 1;
            let key = format!("{prefix}:{n}");
            let mut command = redis::cmd("SET");
            command.arg(&key).arg(n);
            let reply = command.query_async(&mut conn);
            if let Ok(Ok(redis::Value::Okay)) =
                tokio::time::timeout(Duration::from_secs(3), reply).await
            {
                failures = 0;
                mine.push((round.load(Ordering::SeqCst), key));
                acked.fetch_add(1, Ordering::SeqCst);
            } else {
                failures += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    mine
}

/// The keys that cannot be read through a new cluster client of the endpoint on `port`.
/// Keys not found are looked for again for up to `patience`, in case the cluster is
/// still loading.
pub async fn missing_keys(
    port: u16,
    access: &Access,
    keys: &[String],
    patience: Duration,
) -> Vec<String> {
    let started = Instant::now();
    let mut missing: Vec<String> = keys.to_vec();
    loop {
        missing = absent(port, access, missing).await;
        if missing.is_empty() || started.elapsed() > patience {
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Those of `keys` that EXISTS does not find, looked up by 32 tasks at once.
async fn absent(port: u16, access: &Access, keys: Vec<String>) -> Vec<String> {
    let Ok(conn) = access.cluster(port).await else {
        return keys;
    };
    let chunk = keys.len().div_ceil(32).max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for part in keys.chunks(chunk) {
        let (mut conn, chunk_keys) = (conn.clone(), part.to_vec());
        tasks.spawn(async move {
            let mut gone = Vec::new();
            for key in chunk_keys {
                let found: Result<i64, _> =
                    redis::cmd("EXISTS").arg(&key).query_async(&mut conn).await;
                if !matches!(found, Ok(1)) {
                    gone.push(key);
                }
            }
            gone
        });
    }
    let mut gone = Vec::new();
    while let Some(part) = tasks.join_next().await {
        gone.extend(part.expect("a reader"));
    }
    gone
}
