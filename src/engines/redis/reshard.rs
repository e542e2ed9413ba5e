//! A running cluster changed in place, as UpdateCluster's `ShardConfiguration` and
//! `ReplicaConfiguration` ask: nodes added are started and joined; slots whose shard
//! changes move with their keys (`CLUSTER SETSLOT ... IMPORTING`/`MIGRATING`, `MIGRATE`,
//! `SETSLOT ... NODE`, as `redis-cli --cluster reshard` moves them), so no key is lost and
//! clients follow `MOVED`/`ASK` meanwhile; nodes removed are forgotten by the others and
//! stopped. Shards are added and removed at the end, replicas by their last numbers.

use std::collections::{HashMap, HashSet};

use redis::aio::MultiplexedConnection;

use super::{
    DesiredCluster, FORM_TIMEOUT, Redis, Running, Server, admin_connection, call, discard_server,
    query, wait_known, wait_whole,
};

/// Slots moved in one round of pipelined commands.
const SLOTS_PER_ROUND: usize = 512;
/// Keys moved by one `MIGRATE`.
const KEYS_PER_MIGRATE: usize = 1000;

impl Redis {
    /// Brings a running cluster to the desired layout without stopping it.
    pub(super) async fn reshape(
        &self,
        binary: &std::path::Path,
        running: &mut Running,
        desired: &DesiredCluster,
    ) -> Result<(), String> {
        let password = running.admin_password.clone();
        let present: HashSet<&String> = running.servers().map(|s| &s.name).collect();
        let wanted: Vec<&String> = desired.shards.iter().flat_map(|s| &s.nodes).collect();
        let new_names: Vec<&String> = wanted
            .iter()
            .copied()
            .filter(|n| !present.contains(n))
            .collect();
        let mut added = self
            .start_nodes(
                binary,
                desired,
                (&new_names, &[]),
                &password,
                &running.dir.clone(),
            )
            .await?;
        // New nodes know the cluster's users and serve their endpoints before any slot
        // (and so any client) is sent to them; spares among them get the usual node
        // timeout, as every node of a formed cluster has.
        for server in &mut added {
            server.serve(&running.front);
        }
        let prepared = match super::pool::settle_timeouts(added.iter(), &password).await {
            Ok(()) => {
                super::apply_users_on(&running.front, &password, added.iter(), &desired.users).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = prepared {
            for server in added {
                discard_server(server).await;
            }
            return Err(e);
        }
        // Every server by name, old and new.
        let mut by_name: HashMap<String, Server> = std::mem::take(&mut running.shards)
            .into_iter()
            .flatten()
            .chain(added)
            .map(|s| (s.name.clone(), s))
            .collect();
        let result = self
            .move_to(&mut by_name, running, desired, &password)
            .await;
        // Whatever happened, the servers go back to the cluster in the desired layout;
        // those the layout no longer names are stopped.
        let mut shards = Vec::new();
        for shard in &desired.shards {
            shards.push(
                shard
                    .nodes
                    .iter()
                    .filter_map(|n| by_name.remove(n))
                    .collect::<Vec<_>>(),
            );
        }
        for (_, server) in by_name.drain() {
            discard_server(server).await;
        }
        running.shards = shards;
        for server in running.shards.iter_mut().flatten() {
            server.serve(&running.front);
        }
        if result.is_ok() {
            running.shape = (desired.shards.clone(), desired.tls);
        }
        result
    }

    async fn move_to(
        &self,
        by_name: &mut HashMap<String, Server>,
        running: &Running,
        desired: &DesiredCluster,
        password: &str,
    ) -> Result<(), String> {
        let deadline = std::time::Instant::now() + FORM_TIMEOUT;
        let mut conns: HashMap<String, MultiplexedConnection> = HashMap::new();
        let mut ids: HashMap<String, String> = HashMap::new();
        for (name, server) in by_name.iter() {
            let mut conn = admin_connection(server.backend, password).await?;
            ids.insert(name.clone(), call(&mut conn, &["CLUSTER", "MYID"]).await?);
            conns.insert(name.clone(), conn);
        }
        // The new nodes meet the cluster through its first primary.
        let anchor = running.shape.0[0].nodes[0].clone();
        let old: HashSet<&String> = running.shape.0.iter().flat_map(|s| &s.nodes).collect();
        for (name, server) in by_name.iter() {
            if !old.contains(name) {
                let (port, bus) = (server.backend.to_string(), server.bus.to_string());
                let conn = conns.get_mut(&anchor).ok_or("no first primary")?;
                call::<()>(conn, &["CLUSTER", "MEET", "127.0.0.1", &port, &bus]).await?;
            }
        }
        let total = by_name.len();
        let mut all: Vec<MultiplexedConnection> = conns.values().cloned().collect();
        wait_known(&mut all, total, deadline).await?;
        // New replicas follow their shard's primary.
        for shard in &desired.shards {
            let primary = &ids[&shard.nodes[0]];
            for node in shard.nodes.iter().skip(1).filter(|n| !old.contains(n)) {
                let conn = conns.get_mut(node).ok_or("no new replica")?;
                call::<()>(conn, &["CLUSTER", "REPLICATE", primary]).await?;
            }
        }
        // A new primary takes keys only once it sees the cluster whole (Redis holds a new
        // primary back for a moment after its start).
        'ready: loop {
            for conn in conns.values_mut() {
                let info: String = call(conn, &["CLUSTER", "INFO"]).await?;
                if !info.contains("cluster_state:ok") {
                    super::pause(deadline, "the new nodes to be ready").await?;
                    continue 'ready;
                }
            }
            break;
        }
        // Slots whose shard changes move, with their keys, in runs of the same move.
        let owner = |layout: &[super::DesiredShard], slot: u16| {
            layout
                .iter()
                .find(|s| s.slots.0 <= slot && slot <= s.slots.1)
                .map(|s| s.nodes[0].clone())
        };
        let mut moves: Vec<(String, String, Vec<u16>)> = Vec::new();
        for slot in 0..16384_u16 {
            let (Some(from), Some(to)) =
                (owner(&running.shape.0, slot), owner(&desired.shards, slot))
            else {
                return Err(format!("slot {slot} has no shard"));
            };
            if from == to {
                continue;
            }
            match moves.last_mut() {
                Some((f, t, slots)) if *f == from && *t == to && slots.len() < SLOTS_PER_ROUND => {
                    slots.push(slot);
                }
                _ => moves.push((from, to, vec![slot])),
            }
        }
        let primaries: Vec<String> = desired.shards.iter().map(|s| s.nodes[0].clone()).collect();
        for (from, to, slots) in &moves {
            let target = by_name.get(to).ok_or("no target")?.tls_port;
            migrate(
                &mut conns, &ids, from, to, target, slots, password, &primaries,
            )
            .await?;
        }
        remove_gone(by_name, &mut conns, &ids, desired, deadline).await?;
        let mut kept = Vec::new();
        let mut primary_of = Vec::new();
        for shard in &desired.shards {
            let primary = kept.len();
            for node in &shard.nodes {
                kept.push(conns.remove(node).ok_or("no connection")?);
                primary_of.push(primary);
            }
        }
        wait_whole(&mut kept, &primary_of, deadline).await
    }
}

/// Forgets and stops the nodes the layout no longer names, once every node that stays
/// knows they own no slot (or it would forget those slots' owner and report them
/// unserved).
async fn remove_gone(
    by_name: &mut HashMap<String, Server>,
    conns: &mut HashMap<String, MultiplexedConnection>,
    ids: &HashMap<String, String>,
    desired: &DesiredCluster,
    deadline: std::time::Instant,
) -> Result<(), String> {
    // Nodes the layout no longer names are forgotten by the others.
    let keep: HashSet<&String> = desired.shards.iter().flat_map(|s| &s.nodes).collect();
    let gone: Vec<String> = by_name
        .keys()
        .filter(|n| !keep.contains(n))
        .cloned()
        .collect();
    // Before they are forgotten, every node that stays must know they own no slot, or
    // it would forget those slots' owner and report them unserved.
    let gone_ids: Vec<&String> = gone.iter().map(|n| &ids[n]).collect();
    'moved: loop {
        for (name, conn) in conns.iter_mut() {
            if !keep.contains(name) {
                continue;
            }
            let nodes: String = call(conn, &["CLUSTER", "NODES"]).await?;
            let stale = nodes.lines().any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.len() > 8 && gone_ids.iter().any(|id| fields[0] == id.as_str())
            });
            if stale {
                super::pause(deadline, "the slots' new owners to be known").await?;
                continue 'moved;
            }
        }
        break;
    }
    for name in &gone {
        let id = ids[name].clone();
        for (other, conn) in conns.iter_mut() {
            if keep.contains(other) {
                call::<()>(conn, &["CLUSTER", "FORGET", &id]).await?;
            }
        }
    }
    for name in &gone {
        if let Some(server) = by_name.remove(name) {
            discard_server(server).await;
        }
    }
    Ok(())
}

/// Moves `slots` from the primary `from` to the primary `to` (whose TLS port, the one
/// `MIGRATE` reaches between nodes, is `target`), keys included, then tells every primary.
#[allow(
    clippy::too_many_arguments,
    reason = "one move, all it needs named at the call"
)]
async fn migrate(
    conns: &mut HashMap<String, MultiplexedConnection>,
    ids: &HashMap<String, String>,
    from: &str,
    to: &str,
    target: u16,
    slots: &[u16],
    password: &str,
    primaries: &[String],
) -> Result<(), String> {
    let (from_id, to_id) = (&ids[from], &ids[to]);
    let mut importing = redis::pipe();
    let mut migrating = redis::pipe();
    for slot in slots {
        importing
            .cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("IMPORTING")
            .arg(from_id)
            .ignore();
        migrating
            .cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("MIGRATING")
            .arg(to_id)
            .ignore();
    }
    run(conns.get_mut(to).ok_or("no target")?, &importing).await?;
    run(conns.get_mut(from).ok_or("no source")?, &migrating).await?;
    let source = conns.get_mut(from).ok_or("no source")?;
    for slot in slots {
        loop {
            let keys: Vec<Vec<u8>> = query(
                source,
                redis::cmd("CLUSTER")
                    .arg("GETKEYSINSLOT")
                    .arg(slot)
                    .arg(KEYS_PER_MIGRATE),
            )
            .await?;
            if keys.is_empty() {
                break;
            }
            let mut cmd = redis::cmd(&super::secret_command("MIGRATE", password));
            cmd.arg("127.0.0.1")
                .arg(target)
                .arg("")
                .arg(0)
                .arg(60_000)
                .arg("AUTH2")
                .arg(super::ADMIN_USER)
                .arg(password)
                .arg("KEYS")
                .arg(keys);
            let _: redis::Value = query(source, &cmd).await?;
        }
    }
    // The owner learns first, then the source, then every other primary.
    let mut order = vec![to.to_owned(), from.to_owned()];
    order.extend(primaries.iter().filter(|p| *p != to && *p != from).cloned());
    for node in order {
        let Some(conn) = conns.get_mut(&node) else {
            continue;
        };
        let mut assign = redis::pipe();
        for slot in slots {
            assign
                .cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("NODE")
                .arg(to_id)
                .ignore();
        }
        run(conn, &assign).await?;
    }
    Ok(())
}

async fn run(conn: &mut MultiplexedConnection, pipe: &redis::Pipeline) -> Result<(), String> {
    tokio::time::timeout(super::ADMIN_TIMEOUT, pipe.query_async::<()>(conn))
        .await
        .map_err(|_| "a resharding step timed out".to_owned())?
        .map_err(|e| e.to_string())
}
