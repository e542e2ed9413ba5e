//! memshift under load, killed again and again: a 3-shard MemoryDB cluster with 1,000
//! client connections open on its endpoints and 8 writers writing, while memshift is
//! killed with SIGKILL three times and started again on the same data directory and
//! port. No write a node acknowledged and no API call answered 200 is lost, and once
//! memshift stops, nothing it started is left.
//!
//! The figures (connections, acknowledged writes per round, losses, restart-to-ready
//! times, processes left) are printed on standard output.
//!
//! Also here: a node that starts with room for few clients is given more before 1,200
//! connections run out of it.
//!
//! Needs `redis-server` on PATH (skipped without it, unless `TEST_REQUIRE_REDIS=1`), and
//! a soft limit of open files of at least 4,096.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_memorydb::types::{AuthenticationMode, InputAuthenticationType};
use common::process::Memshift;
use common::redis_nodes::{
    Access, Writers, create_cluster, missing_keys, redis_available, wait_ready,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONNECTIONS: usize = 1000;
const WRITERS: usize = 8;
const ROUNDS: usize = 3;
/// How long the writers write in each round before memshift is killed.
const ROUND: Duration = Duration::from_millis(2500);
const READY: Duration = Duration::from_secs(30);
/// Open files the test needs: its connections here, and twice as many in memshift (each
/// client's and its server's side).
const FILES_NEEDED: u64 = 4096;

/// The soft limit of open files, which memshift inherits.
fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Stops a test that opens `connections` connections where it cannot.
fn enough_open_files(connections: usize) {
    let limit = open_files_limit();
    assert!(
        limit >= FILES_NEEDED,
        "{connections} connections need about {FILES_NEEDED} open files (here and in memshift), \
         but the soft limit is {limit}: raise it, e.g. `ulimit -n {FILES_NEEDED}`"
    );
}

/// Connects to the endpoint on `port` and answers the connection once PING was answered.
async fn ping(port: u16) -> Result<TcpStream, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect {port}: {e}"))?;
        stream
            .write_all(b"*1\r\n$4\r\nPING\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        let mut buf = [0_u8; 64];
        while !answer.ends_with(b"\r\n") {
            let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!("{port} closed the connection"));
            }
            answer.extend_from_slice(&buf[..n]);
        }
        if answer == b"+PONG\r\n" {
            Ok(stream)
        } else {
            Err(format!(
                "{port} answered {}",
                String::from_utf8_lossy(&answer)
            ))
        }
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| format!("{port} did not answer PING within 10 s"))?
}

/// Opens `n` connections, round-robin over `ports`, 100 at a time; each answers PING
/// before it counts. Answers them, held open.
async fn open_connections(ports: &[u16], n: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(n);
    for batch in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut tasks = tokio::task::JoinSet::new();
        for i in batch {
            tasks.spawn(ping(ports[i % ports.len()]));
        }
        while let Some(done) = tasks.join_next().await {
            held.push(
                done.expect("a connection")
                    .unwrap_or_else(|e| panic!("{e}")),
            );
        }
    }
    held
}

/// CreateUser calls, one after the other until stopped, each with a new name; answers
/// the names of those answered 200.
struct UserCalls {
    stop: Arc<AtomicBool>,
    round: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl UserCalls {
    fn start(url: String) -> UserCalls {
        let stop = Arc::new(AtomicBool::new(false));
        let round = Arc::new(AtomicUsize::new(0));
        let (done, current) = (Arc::clone(&stop), Arc::clone(&round));
        let task = tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut n = 0;
            while !done.load(Ordering::SeqCst) {
                n += 1;
                let name = format!("load-r{}-{n}", current.load(Ordering::SeqCst));
                // A new client each time: none keeps a connection to a killed memshift.
                let client = common::memorydb_at(&url, "AKIAIOSFODNN7EXAMPLE", "us-east-1");
                let call = client
                    .create_user()
                    .user_name(&name)
                    .access_string("on ~* +@all")
                    .authentication_mode(
                        AuthenticationMode::builder()
                            .r#type(InputAuthenticationType::Password)
                            .passwords("load-password-000001")
                            .build(),
                    )
                    .send();
                if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(5), call).await {
                    acked.push(name);
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            acked
        });
        UserCalls { stop, round, task }
    }

    fn set_round(&self, round: usize) {
        self.round.store(round, Ordering::SeqCst);
    }

    async fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("the API caller")
    }
}

/// What one run measured.
#[derive(Default)]
struct Figures {
    connections: Vec<usize>,
    ready: Vec<Duration>,
}

/// The rounds: in each, writers and API calls go on while memshift is killed, started
/// again on the same data directory and port, and waited for until its cluster answers;
/// then 1,000 connections are opened again.
async fn rounds(
    memshift: &mut Memshift,
    ports: &[u16],
    writers: &Writers,
    users: &UserCalls,
    figures: &mut Figures,
) {
    let open = Access::default();
    let mut held = open_connections(ports, CONNECTIONS).await;
    figures.connections.push(held.len());
    for round in 1..=ROUNDS {
        writers.set_round(round);
        users.set_round(round);
        tokio::time::sleep(ROUND).await;
        memshift.kill9();
        // Dead with memshift; closed here too.
        held.clear();
        let restarted = Instant::now();
        memshift.restart().await;
        wait_ready(&memshift.memorydb(), "load", &open, READY).await;
        figures.ready.push(restarted.elapsed());
        held = open_connections(ports, CONNECTIONS).await;
        figures.connections.push(held.len());
    }
    writers.set_round(ROUNDS + 1);
    users.set_round(ROUNDS + 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

/// The acknowledged users DescribeUsers does not find.
async fn missing_users(memshift: &Memshift, names: &[String]) -> Vec<String> {
    let client = memshift.memorydb();
    let mut missing = Vec::new();
    for name in names {
        if client
            .describe_users()
            .user_name(name)
            .send()
            .await
            .is_err()
        {
            missing.push(name.clone());
        }
    }
    missing
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_connections_and_three_kill_9s_lose_no_acknowledged_write() {
    if !redis_available() {
        return;
    }
    enough_open_files(CONNECTIONS);
    let started = Instant::now();
    let mut memshift = Memshift::start("load", true, &[]).await;
    let client = memshift.memorydb();
    let open = Access::default();
    create_cluster(&client, "load", (3, 1), false, "open-access").await;
    let (found, _) = wait_ready(&client, "load", &open, READY).await;
    let ports = found.ports();

    let writers = Writers::start(WRITERS, "load", found.cluster, &open);
    let users = UserCalls::start(memshift.url());
    let mut figures = Figures::default();
    rounds(&mut memshift, &ports, &writers, &users, &mut figures).await;
    let acked = writers.stop().await;
    let acked_users = users.stop().await;

    let keys: Vec<String> = acked.iter().map(|(_, key)| key.clone()).collect();
    let lost = missing_keys(found.cluster, &open, &keys, Duration::from_secs(5)).await;
    let lost_users = missing_users(&memshift, &acked_users).await;
    let stopped = memshift.terminate().await;
    let settled = Instant::now();
    while !memshift.engines_left().is_empty() && settled.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (left, directories) = (memshift.engines_left(), memshift.directories_left());

    let per_round: Vec<usize> = (1..=ROUNDS + 1)
        .map(|r| acked.iter().filter(|(round, _)| *round == r).count())
        .collect();
    let ready_ms: Vec<u128> = figures.ready.iter().map(Duration::as_millis).collect();
    println!(
        "load: connections opened and answering PING, at start and after each restart: {:?}",
        figures.connections
    );
    println!(
        "load: writes acknowledged per round (the last after the third restart): {per_round:?}"
    );
    println!(
        "load: writes acknowledged in total: {}, lost: {}",
        keys.len(),
        lost.len()
    );
    println!(
        "load: API calls acknowledged (CreateUser): {}, lost: {}",
        acked_users.len(),
        lost_users.len()
    );
    println!("load: restart-to-ready per round (ms): {ready_ms:?}");
    println!("load: memshift exit code after SIGTERM: {stopped:?}");
    println!(
        "load: engine processes left: {}, temporary directories left: {}",
        left.len(),
        directories.len()
    );
    println!("load: whole test: {} ms", started.elapsed().as_millis());

    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost, such as {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(!acked_users.is_empty(), "no API call was acknowledged");
    assert!(
        lost_users.is_empty(),
        "acknowledged users lost: {lost_users:?}"
    );
    assert!(
        per_round.iter().all(|n| *n > 0),
        "a round without acknowledged writes: {per_round:?}"
    );
    assert_eq!(stopped, Some(0));
    assert!(left.is_empty(), "engine processes left: {left:?}");
    assert!(
        directories.is_empty(),
        "temporary directories left: {directories:?}"
    );
}

/// A field of `INFO clients`.
async fn clients_info(access: &Access, port: u16, field: &str) -> usize {
    let info: String = access
        .query(port, &["INFO", "clients"])
        .await
        .unwrap_or_else(|e| panic!("INFO on {port}: {e}"));
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {info}"))
}

/// A node starts with room for 1,000 clients, which keeps an idle node small, and is
/// given room for 10,000 before they run out: 1,200 connections to one node, half of
/// them through the cluster endpoint and half through the node's own, all answer.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_is_given_room_for_more_clients_before_it_runs_out() {
    const MANY: usize = 1200;
    if !redis_available() {
        return;
    }
    enough_open_files(MANY);
    let memshift = Memshift::start("room", false, &[]).await;
    let client = memshift.memorydb();
    let open = Access::default();
    create_cluster(&client, "room", (1, 0), false, "open-access").await;
    let (found, _) = wait_ready(&client, "room", &open, READY).await;
    let ports = found.ports();
    assert_eq!(ports.len(), 2, "{found:?}");
    assert_eq!(clients_info(&open, ports[1], "maxclients").await, 1000);
    // With jemalloc, the node runs one arena without per-thread caches.
    let memory: String = open.query(ports[1], &["INFO", "memory"]).await.unwrap();
    if memory.contains("mem_allocator:jemalloc") {
        let stats: String = open
            .query(ports[1], &["MEMORY", "MALLOC-STATS"])
            .await
            .unwrap();
        for setting in ["opt.narenas: 1\n", "opt.tcache: false\n"] {
            assert!(stats.contains(setting), "no {setting:?} in {stats}");
        }
    }

    let held = open_connections(&ports, MANY).await;
    assert_eq!(held.len(), MANY);
    assert!(clients_info(&open, ports[1], "connected_clients").await > MANY);
    assert_eq!(clients_info(&open, ports[0], "maxclients").await, 10_000);
    drop(held);
}
