//! MemoryDB data that lasts, as an application relies on it: every write a node
//! acknowledged survives memshift's death (`kill -9`) and a graceful restart on the same
//! data directory; a primary that dies is replaced by its replica at once, without a
//! lost write; FailoverShard swaps a shard's primary and replica; snapshots hold the
//! data and restore it into clusters of any shape, also after a restart.
//!
//! memshift runs as its binary, in a process of its own, as a service does. These tests
//! need `redis-server` (Debian's package) on PATH. Without it they are skipped with a
//! message, unless `TEST_REQUIRE_REDIS=1` (as CI sets), which makes its absence a
//! failure. They run one at a time: each starts several Redis servers, and their
//! deadlines assume the machine is not shared with another of them.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_memorydb::Client;
use aws_sdk_memorydb::config::http::HttpResponse;
use aws_sdk_memorydb::error::ProvideErrorMetadata;
use aws_sdk_memorydb::error::SdkError;
use aws_sdk_memorydb::types::Snapshot;
use common::process::{Memshift, command_of, kill9};
use common::redis_nodes::{
    Access, NodeLine, Writers, cluster_nodes, create_cluster, missing_keys, parse_range,
    redis_available, roles, server_pid, summary, wait_ready,
};
use common::{create_password_user, expect_error, failure};

/// How long a cluster may take to be ready: formed, or formed again after a restart.
const READY: Duration = Duration::from_secs(30);

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs a test alone, on a runtime of its own.
fn serially(test: impl Future<Output = ()>) {
    let _turn = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(test);
}

/// The answer of a call that must succeed; its error code and message otherwise.
#[track_caller]
fn ok<T, E: ProvideErrorMetadata + std::fmt::Debug>(what: &str, result: Result<T, E>) -> T {
    match result {
        Ok(answer) => answer,
        Err(e) => match e.code() {
            Some(code) => panic!("{what} failed: {code}: {}", e.message().unwrap_or("")),
            None => panic!("{what} failed: {e:?}"),
        },
    }
}

/// Writes `n` keys one after the other; each must be acknowledged.
async fn write_keys(port: u16, access: &Access, prefix: &str, n: usize) -> Vec<String> {
    let mut conn = access.cluster(port).await.expect("a cluster client");
    let mut keys = Vec::new();
    for i in 0..n {
        let key = format!("{prefix}:{i}");
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(i)
            .query_async(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("SET {key}: {e}"));
        keys.push(key);
    }
    keys
}

/// Asserts that every key can be read through a new cluster client.
async fn assert_all_there(port: u16, access: &Access, keys: &[String], when: &str) {
    let lost = missing_keys(port, access, keys, Duration::from_secs(5)).await;
    assert!(
        lost.is_empty(),
        "{when}: {} of {} acknowledged keys are lost, such as {:?}",
        lost.len(),
        keys.len(),
        &lost[..lost.len().min(5)]
    );
}

/// Keys written to a 3-shard cluster, one by one and by writers still writing when
/// memshift is killed, are all there when memshift comes back on the same data
/// directory, on the same endpoints; and again after a graceful restart.
#[test]
fn acknowledged_keys_survive_kill_9_and_a_graceful_restart() {
    if !redis_available() {
        return;
    }
    serially(async {
        let mut memshift = Memshift::start("durable-keys", true, &[]).await;
        let client = memshift.memorydb();
        let open = Access::default();
        create_cluster(&client, "ledger", (3, 1), false, "open-access").await;
        let (before, _) = wait_ready(&client, "ledger", &open, READY).await;
        let mut keys = write_keys(before.cluster, &open, "ledger:first", 300).await;
        let writers = Writers::start(4, "ledger", before.cluster, &open);
        writers.wait_for(200, Duration::from_secs(20)).await;
        // Killed while the writers write: what they were told OK must be there.
        memshift.kill9();
        keys.extend(writers.stop().await.into_iter().map(|(_, key)| key));

        let restarted = memshift.restart().await;
        let client = memshift.memorydb();
        let (after, ready) = wait_ready(&client, "ledger", &open, READY).await;
        assert_eq!(
            (after.cluster, &after.shards),
            (before.cluster, &before.shards),
            "the endpoints' ports changed across the restart"
        );
        assert_all_there(after.cluster, &open, &keys, "after kill -9").await;
        println!(
            "durable: {} acknowledged keys kept across kill -9; API back in {} ms, cluster ready {} ms later",
            keys.len(),
            restarted.as_millis(),
            ready.as_millis()
        );

        // A graceful stop keeps them too.
        let more = write_keys(after.cluster, &open, "ledger:second", 100).await;
        keys.extend(more);
        assert_eq!(memshift.terminate().await, Some(0));
        memshift.restart().await;
        let client = memshift.memorydb();
        let (again, _) = wait_ready(&client, "ledger", &open, READY).await;
        assert_eq!(
            (again.cluster, &again.shards),
            (before.cluster, &before.shards)
        );
        assert_all_there(again.cluster, &open, &keys, "after SIGTERM").await;
    });
}

const TELLER_PASSWORD: &str = "teller-password-0001";

/// A TLS cluster whose ACL holds a password user: after `kill -9` and a restart, the
/// user still logs in (with the CA kept in the data directory) and reads every key, and
/// the default user and a wrong password still cannot.
#[test]
fn a_tls_cluster_keeps_its_keys_and_its_users_across_kill_9() {
    if !redis_available() {
        return;
    }
    serially(async {
        let mut memshift = Memshift::start("durable-tls", true, &[]).await;
        let client = memshift.memorydb();
        create_password_user(&client, "teller", TELLER_PASSWORD, "on ~* &* +@all").await;
        ok(
            "CreateACL",
            client
                .create_acl()
                .acl_name("tellers")
                .user_names("teller")
                .send()
                .await,
        );
        create_cluster(&client, "vault", (2, 1), true, "tellers").await;
        let teller = Access::tls(&memshift.url(), Some(("teller", TELLER_PASSWORD))).await;
        let (before, _) = wait_ready(&client, "vault", &teller, READY).await;
        let keys = write_keys(before.cluster, &teller, "vault", 300).await;

        memshift.kill9();
        memshift.restart().await;
        let client = memshift.memorydb();
        let again = Access::tls(&memshift.url(), Some(("teller", TELLER_PASSWORD))).await;
        assert!(again.ca == teller.ca, "the CA changed across the restart");
        let (after, _) = wait_ready(&client, "vault", &again, READY).await;
        assert_eq!(
            (after.cluster, &after.shards),
            (before.cluster, &before.shards)
        );
        assert_all_there(after.cluster, &again, &keys, "after kill -9").await;

        let anonymous: Result<String, String> = again
            .anonymous()
            .query(after.cluster, &["GET", &keys[0]])
            .await;
        assert!(
            anonymous
                .as_ref()
                .is_err_and(|e| e.to_uppercase().contains("NOAUTH")),
            "the default user: {anonymous:?}"
        );
        let wrong = Access {
            login: Some(("teller".to_owned(), "not-the-password-01".to_owned())),
            ..again.clone()
        };
        let refused: Result<String, String> = wrong.query(after.cluster, &["PING"]).await;
        assert!(
            refused.as_ref().is_err_and(|e| {
                e.contains("AuthenticationFailed") || e.to_uppercase().contains("WRONGPASS")
            }),
            "a wrong password: {refused:?}"
        );
    });
}

/// Polls DescribeClusters every 20 ms until stopped; answers each status seen, in order,
/// once per change.
fn watch_status(
    client: Client,
    cluster: &str,
) -> (Arc<AtomicBool>, tokio::task::JoinHandle<Vec<String>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (done, cluster) = (Arc::clone(&stop), cluster.to_owned());
    let task = tokio::spawn(async move {
        let mut seen: Vec<String> = Vec::new();
        while !done.load(Ordering::SeqCst) {
            let status = match client
                .describe_clusters()
                .cluster_name(&cluster)
                .send()
                .await
            {
                Ok(out) => out.clusters()[0].status().unwrap_or_default().to_owned(),
                Err(e) => format!("error {}", e.code().unwrap_or("-")),
            };
            if seen.last() != Some(&status) {
                seen.push(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        seen
    });
    (stop, task)
}

/// Whether the shard's replica has taken over from the primary that was killed (server
/// `killed`), and the primary's node came back as the replica of its replica.
async fn taken_over(
    open: &Access,
    primary: &NodeLine,
    replica: &NodeLine,
    killed: u32,
) -> Result<(), String> {
    let seen = cluster_nodes(open, replica.port).await?;
    let promoted = seen
        .iter()
        .any(|n| n.port == replica.port && n.is_primary() && n.slots == primary.slots);
    let demoted = seen.iter().any(|n| {
        n.port == primary.port && n.is_replica() && n.primary.as_ref() == Some(&replica.id)
    });
    if !(promoted && demoted) {
        return Err(format!("as the replica sees it:{}", summary(&seen)));
    }
    let back = cluster_nodes(open, primary.port).await?;
    let me = back.iter().find(|n| n.has("myself"));
    if !me.is_some_and(|n| n.is_replica() && n.primary.as_ref() == Some(&replica.id)) {
        return Err(format!("as the old primary sees it:{}", summary(&back)));
    }
    match server_pid(open, primary.port).await? {
        pid if pid == killed => Err("the killed server still answers".to_owned()),
        _ => Ok(()),
    }
}

/// `kill -9` of the Redis server that is shard 0001's primary (the one behind the
/// cluster endpoint), while writers write: within seconds its replica holds the shard's
/// slots, the killed node is back as that replica, the cluster was `updating` and is
/// `available` again, no acknowledged key is lost, and memshift's log tells of the exit.
#[test]
fn a_killed_primary_is_replaced_by_its_replica_without_losing_a_write() {
    if !redis_available() {
        return;
    }
    serially(async {
        let memshift = Memshift::start("supervision", true, &[]).await;
        let client = memshift.memorydb();
        let open = Access::default();
        create_cluster(&client, "guard", (3, 1), false, "open-access").await;
        let (found, _) = wait_ready(&client, "guard", &open, READY).await;
        let (primary, replica) = roles(&open, found.cluster, &found.shard("0001"))
            .await
            .expect("shard 0001's nodes");
        let pid = server_pid(&open, primary.port).await.expect("INFO server");
        let server = command_of(pid);
        assert!(
            server == "redis-server" || server == "valkey-server",
            "{pid} runs {server}"
        );
        let writers = Writers::start(4, "guard", found.cluster, &open);
        writers.wait_for(300, Duration::from_secs(20)).await;

        let (stop, statuses) = watch_status(memshift.memorydb(), "guard");
        tokio::time::sleep(Duration::from_millis(50)).await;
        kill9(pid);
        let killed = Instant::now();
        while let Err(last) = taken_over(&open, &primary, &replica, pid).await {
            assert!(
                killed.elapsed() < Duration::from_secs(15),
                "the replica did not take over within 15 s of the primary's death: {last}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let took_over = killed.elapsed();
        wait_ready(&client, "guard", &open, Duration::from_secs(15)).await;
        writers
            .wait_for(writers.acked() + 100, Duration::from_secs(10))
            .await;
        stop.store(true, Ordering::SeqCst);
        let statuses = statuses.await.expect("the watcher");
        let keys: Vec<String> = writers.stop().await.into_iter().map(|(_, k)| k).collect();

        assert_all_there(found.cluster, &open, &keys, "after the primary's death").await;
        assert!(
            statuses.iter().any(|s| s == "updating"),
            "never `updating` while it recovered: {statuses:?}"
        );
        assert_eq!(statuses.last().map(String::as_str), Some("available"));
        assert!(
            memshift.log_text().contains("exited"),
            "the log does not tell of the exit: {}",
            memshift.log_tail()
        );
        println!(
            "supervision: replica took over {} ms after the kill; statuses {statuses:?}; {} keys kept",
            took_over.as_millis(),
            keys.len()
        );
    });
}

/// The roles of a shard's two nodes are swapped: the old replica is the primary of the
/// old primary's slots, and the old primary is its replica, each as it sees itself.
async fn assert_swapped(open: &Access, old_primary: &NodeLine, old_replica: &NodeLine) {
    let view = cluster_nodes(open, old_replica.port)
        .await
        .expect("CLUSTER NODES");
    let me = view.iter().find(|n| n.has("myself")).expect("myself");
    assert!(
        me.is_primary() && me.slots == old_primary.slots,
        "the old replica is not the primary of {:?}:{}",
        old_primary.slots,
        summary(&view)
    );
    let view = cluster_nodes(open, old_primary.port)
        .await
        .expect("CLUSTER NODES");
    let it = view.iter().find(|n| n.has("myself")).expect("myself");
    assert!(
        it.is_replica() && it.primary.as_ref() == Some(&me.id),
        "the old primary is not the new primary's replica:{}",
        summary(&view)
    );
}

/// FailoverShard while writers write, on the shard behind the cluster endpoint, then on
/// the other: when it answers, the shard's replica is its primary and the old primary
/// its replica; no acknowledged write is lost.
#[test]
fn failover_shard_swaps_primary_and_replica_without_losing_a_write() {
    if !redis_available() {
        return;
    }
    serially(async {
        let memshift = Memshift::start("failover", false, &[]).await;
        let client = memshift.memorydb();
        let open = Access::default();
        create_cluster(&client, "swap", (2, 1), false, "open-access").await;
        let (found, _) = wait_ready(&client, "swap", &open, READY).await;
        let writers = Writers::start(4, "swap", found.cluster, &open);
        writers.wait_for(300, Duration::from_secs(20)).await;

        let mut took = Vec::new();
        for shard in ["0001", "0002"] {
            let (primary, replica) = roles(&open, found.cluster, &found.shard(shard))
                .await
                .expect("the shard's nodes");
            let started = Instant::now();
            let out = ok(
                "FailoverShard",
                client
                    .failover_shard()
                    .cluster_name("swap")
                    .shard_name(shard)
                    .send()
                    .await,
            );
            took.push(started.elapsed().as_millis());
            assert_eq!(out.cluster().and_then(|c| c.name()), Some("swap"));
            assert_swapped(&open, &primary, &replica).await;
            writers
                .wait_for(writers.acked() + 200, Duration::from_secs(10))
                .await;
            wait_ready(&client, "swap", &open, Duration::from_secs(10)).await;
        }
        let keys: Vec<String> = writers.stop().await.into_iter().map(|(_, k)| k).collect();
        assert_all_there(found.cluster, &open, &keys, "after the failovers").await;
        println!(
            "failover: FailoverShard answered in {took:?} ms; {} keys kept",
            keys.len()
        );
    });
}

/// FailoverShard's errors, as AWS answers them.
#[tokio::test]
async fn failover_shard_refuses_what_cannot_fail_over() {
    let server = common::server().await;
    let client = common::memorydb(&server);
    create_cluster(&client, "solo", (1, 0), false, "open-access").await;
    let failover = |cluster: &str, shard: &str| {
        client
            .failover_shard()
            .cluster_name(cluster)
            .shard_name(shard)
            .send()
    };
    expect_not_found(failover("ghost", "0001").await, "ClusterNotFoundFault");
    expect_not_found(failover("solo", "0009").await, "ShardNotFoundFault");
    expect_error(
        failover("solo", "0001").await,
        "TestFailoverNotAvailableFault",
        None,
    );
    server.shutdown().await.unwrap();
}

/// Keys of every kind the snapshot tests write: strings, a hash, a list, and a key with
/// a TTL.
async fn write_sample(port: u16, access: &Access) {
    let mut conn = access.cluster(port).await.expect("a cluster client");
    for i in 0..200 {
        let _: () = redis::cmd("SET")
            .arg(format!("str:{i}"))
            .arg(format!("v{i}"))
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let commands: [&[&str]; 3] = [
        &["HSET", "hash:1", "f1", "a", "f2", "b", "f3", "c"],
        &["RPUSH", "list:1", "x", "y", "z"],
        &["SET", "ttl:1", "t", "EX", "3600"],
    ];
    for args in commands {
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        let _: redis::Value = cmd.query_async(&mut conn).await.unwrap();
    }
}

/// Asserts that the cluster behind `port` holds the sample, types and TTL included, and
/// `later:1` (written after the first snapshot) exactly when `later` is true.
async fn assert_sample(port: u16, access: &Access, cluster: &str, later: bool) {
    let strings: Vec<String> = (0..200).map(|i| format!("str:{i}")).collect();
    assert_all_there(port, access, &strings, cluster).await;
    let mut conn = access.cluster(port).await.expect("a cluster client");
    for i in [0, 77, 199] {
        let value: String = redis::cmd("GET")
            .arg(format!("str:{i}"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(value, format!("v{i}"), "{cluster}");
    }
    let kind = |key: &str| redis::cmd("TYPE").arg(key).clone();
    let hash_type: String = kind("hash:1").query_async(&mut conn).await.unwrap();
    let list_type: String = kind("list:1").query_async(&mut conn).await.unwrap();
    assert_eq!(
        (hash_type.as_str(), list_type.as_str()),
        ("hash", "list"),
        "{cluster}"
    );
    let hash: BTreeMap<String, String> = redis::cmd("HGETALL")
        .arg("hash:1")
        .query_async(&mut conn)
        .await
        .unwrap();
    let expected: BTreeMap<String, String> = [("f1", "a"), ("f2", "b"), ("f3", "c")]
        .map(|(f, v)| (f.to_owned(), v.to_owned()))
        .into();
    assert_eq!(hash, expected, "{cluster}");
    let list: Vec<String> = redis::cmd("LRANGE")
        .arg("list:1")
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(list, ["x", "y", "z"], "{cluster}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg("ttl:1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        (1..=3_600_000).contains(&ttl),
        "{cluster}: ttl:1 has PTTL {ttl}"
    );
    let exists: i64 = redis::cmd("EXISTS")
        .arg("later:1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists == 1, later, "{cluster}: later:1");
}

/// DescribeSnapshots with details until the snapshot is `available`.
async fn wait_snapshot(client: &Client, name: &str) -> Snapshot {
    let started = Instant::now();
    loop {
        let described = client
            .describe_snapshots()
            .snapshot_name(name)
            .show_detail(true)
            .send()
            .await;
        let status = match &described {
            Ok(out) => match out.snapshots().first() {
                Some(s) if s.status() == Some("available") => return s.clone(),
                Some(s) => s.status().unwrap_or_default().to_owned(),
                None => "not listed".to_owned(),
            },
            Err(e) if e.code() == Some("SnapshotNotFoundFault") => "not found".to_owned(),
            Err(e) => panic!(
                "DescribeSnapshots {name}: {:?}: {:?}",
                e.code(),
                e.message()
            ),
        };
        assert!(
            status != "failed" && started.elapsed() < Duration::from_secs(30),
            "snapshot {name} is not available after {:?}: {status}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts what ShowDetail tells of a snapshot of `cluster`: its shards `0001`..., with
/// their replica count, and slots that cover every slot once.
fn assert_detail(snapshot: &Snapshot, cluster: &str, (shards, replicas): (i32, i32)) {
    let name = snapshot.name().unwrap_or_default();
    let config = snapshot
        .cluster_configuration()
        .unwrap_or_else(|| panic!("{name}: no ClusterConfiguration"));
    assert_eq!(config.name(), Some(cluster), "{name}");
    assert_eq!(config.num_shards(), Some(shards), "{name}");
    let names: Vec<&str> = config.shards().iter().filter_map(|s| s.name()).collect();
    let expected: Vec<String> = (1..=shards).map(|i| format!("{i:04}")).collect();
    assert_eq!(names, expected, "{name}");
    let mut covered = vec![0_u8; 16384];
    for shard in config.shards() {
        let configuration = shard.configuration().expect("the shard's configuration");
        assert_eq!(configuration.replica_count(), Some(replicas), "{name}");
        let slots = configuration.slots().unwrap_or_default();
        for range in slots.split(',') {
            let (first, last) =
                parse_range(range.trim()).unwrap_or_else(|| panic!("{name}: slots {slots:?}"));
            for slot in first..=last {
                covered[usize::from(slot)] += 1;
            }
        }
    }
    assert!(
        covered.iter().all(|c| *c == 1),
        "{name}: slots not covered once each"
    );
}

/// CreateCluster from a snapshot, in the shape given; asserts it holds the sample, then
/// deletes it.
async fn restore(client: &Client, name: &str, snapshot: &str, shape: (i32, i32), later: bool) {
    let out = ok(
        "CreateCluster from a snapshot",
        client
            .create_cluster()
            .cluster_name(name)
            .node_type("db.t4g.small")
            .acl_name("open-access")
            .tls_enabled(false)
            .num_shards(shape.0)
            .num_replicas_per_shard(shape.1)
            .snapshot_name(snapshot)
            .send()
            .await,
    );
    assert_eq!(out.cluster().and_then(|c| c.name()), Some(name));
    let open = Access::default();
    let (found, took) = wait_ready(client, name, &open, READY).await;
    assert_eq!(
        found.shards.len(),
        usize::try_from(shape.0).unwrap(),
        "{name}"
    );
    assert_sample(found.cluster, &open, name, later).await;
    println!(
        "snapshots: {name} restored from {snapshot} in {} ms",
        took.as_millis()
    );
    ok(
        "DeleteCluster",
        client.delete_cluster().cluster_name(name).send().await,
    );
}

/// CreateSnapshot, answered `creating` and `manual`; its errors.
async fn take_snapshot(client: &Client, cluster: &str, name: &str) -> Snapshot {
    let out = ok(
        "CreateSnapshot",
        client
            .create_snapshot()
            .cluster_name(cluster)
            .snapshot_name(name)
            .send()
            .await,
    );
    let snapshot = out.snapshot().expect("the snapshot");
    assert_eq!(
        (snapshot.name(), snapshot.status(), snapshot.source()),
        (Some(name), Some("creating"), Some("manual"))
    );
    let again = client
        .create_snapshot()
        .cluster_name(cluster)
        .snapshot_name(name)
        .send()
        .await;
    expect_error(again, "SnapshotAlreadyExistsFault", None);
    let missing = client
        .create_snapshot()
        .cluster_name("no-such-cluster")
        .snapshot_name(format!("{name}-x"))
        .send()
        .await;
    expect_not_found(missing, "ClusterNotFoundFault");
    wait_snapshot(client, name).await
}

/// A snapshot, a copy of it, and a final snapshot of the deleted cluster each restore
/// into a new cluster, of the source's shape or another, that holds the data as it was
/// when the snapshot was taken; a deleted snapshot is gone.
#[test]
fn snapshots_hold_the_data_and_restore_into_other_shapes() {
    if !redis_available() {
        return;
    }
    serially(async {
        let memshift = Memshift::start("snapshots", false, &[]).await;
        let client = memshift.memorydb();
        let open = Access::default();
        create_cluster(&client, "source", (2, 1), false, "open-access").await;
        let (found, _) = wait_ready(&client, "source", &open, READY).await;
        write_sample(found.cluster, &open).await;

        let manual = take_snapshot(&client, "source", "manual-1").await;
        assert_detail(&manual, "source", (2, 1));
        // Written once the snapshot is taken: not in it, but in the final one.
        let _: () = redis::cmd("SET")
            .arg("later:1")
            .arg("l")
            .query_async(&mut open.cluster(found.cluster).await.unwrap())
            .await
            .unwrap();
        ok(
            "CopySnapshot",
            client
                .copy_snapshot()
                .source_snapshot_name("manual-1")
                .target_snapshot_name("copy-1")
                .send()
                .await,
        );
        assert_detail(&wait_snapshot(&client, "copy-1").await, "source", (2, 1));
        ok(
            "DeleteCluster with a final snapshot",
            client
                .delete_cluster()
                .cluster_name("source")
                .final_snapshot_name("final-1")
                .send()
                .await,
        );
        assert_detail(&wait_snapshot(&client, "final-1").await, "source", (2, 1));

        let missing = client
            .create_cluster()
            .cluster_name("from-nothing")
            .node_type("db.t4g.small")
            .acl_name("open-access")
            .snapshot_name("no-such-snapshot")
            .send()
            .await;
        expect_error(missing, "InvalidParameterValueException", None);

        restore(&client, "from-manual", "manual-1", (2, 1), false).await;
        restore(&client, "from-copy", "copy-1", (1, 0), false).await;
        restore(&client, "from-final", "final-1", (3, 1), true).await;

        ok(
            "DeleteSnapshot",
            client
                .delete_snapshot()
                .snapshot_name("copy-1")
                .send()
                .await,
        );
        assert_snapshot_gone(&client, "copy-1").await;
    });
}

/// DescribeSnapshots answers SnapshotNotFoundFault for the name (within 10 s of its
/// deletion).
async fn assert_snapshot_gone(client: &Client, name: &str) {
    let started = Instant::now();
    loop {
        let described = client.describe_snapshots().snapshot_name(name).send().await;
        match described {
            Err(e) if e.code() == Some("SnapshotNotFoundFault") => return,
            other => assert!(
                started.elapsed() < Duration::from_secs(10),
                "{name} is still described: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A snapshot taken before memshift is killed is still there after it restarts on the
/// same data directory, and a cluster restored from it holds the data.
#[test]
fn snapshots_survive_a_restart() {
    if !redis_available() {
        return;
    }
    serially(async {
        let mut memshift = Memshift::start("snapshots-restart", true, &[]).await;
        let client = memshift.memorydb();
        let open = Access::default();
        create_cluster(&client, "keeper", (1, 0), false, "open-access").await;
        let (found, _) = wait_ready(&client, "keeper", &open, READY).await;
        write_sample(found.cluster, &open).await;
        take_snapshot(&client, "keeper", "before-restart").await;

        memshift.kill9();
        memshift.restart().await;
        let client = memshift.memorydb();
        let kept = wait_snapshot(&client, "before-restart").await;
        assert_detail(&kept, "keeper", (1, 0));
        restore(&client, "after-restart", "before-restart", (2, 0), false).await;
    });
}

/// A not-found fault: MemoryDB answers them with 404.
fn expect_not_found<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
    code: &str,
) {
    let (status, got, message) = failure(result);
    assert_eq!((status, got.as_str()), (404, code), "{message}");
}
