//! Clusters that outlive their servers.
//!
//! Every node keeps its cluster configuration (`nodes.conf`), its append-only file and
//! the ports it listened on in its own directory. A node that starts there again comes
//! back as the same node, with its data, on the same ports when they are free, and its
//! peers know it again ([`rejoin`]).
//!
//! A server that dies is started again in place ([`Redis::recover`]). When it was a
//! shard's primary and the shard has a replica, the replica then takes over its slots
//! with a manual failover (`CLUSTER FAILOVER`), which waits until the replica holds
//! every write the primary acknowledged: a write is on the primary's disk before it is
//! acknowledged, so the primary is started on its data first, and nothing acknowledged
//! is lost. FailoverShard asks for the same handover ([`Redis::failover`]).

use std::path::Path;
use std::time::Instant;

use redis::aio::MultiplexedConnection;

use super::{
    DesiredCluster, FORM_TIMEOUT, NodeStart, Redis, Running, Server, admin_connection,
    apply_users_on, call, pause, start_server, stop_server, wait_known,
};
use crate::state::Scope;
use crate::tls::endpoint_names;

/// Makes nodes that started on an earlier run's cluster configuration one cluster again:
/// nodes whose ports changed are met at their new addresses (a node met again under a
/// known id takes the new address), and the cluster is whole once every node sees it so
/// and every replica is in sync. Each shard's primary is then first among its servers.
pub(super) async fn rejoin(cluster: &mut Running) -> Result<(), String> {
    let mut conns = connections(cluster).await?;
    let servers: Vec<&Server> = cluster.servers().collect();
    super::meet(&mut conns[0], &servers).await?;
    let deadline = Instant::now() + FORM_TIMEOUT;
    wait_known(&mut conns, servers.len(), deadline).await?;
    wait_settled(&mut conns, replica_count(cluster), deadline).await?;
    order_by_role(cluster).await
}

/// How many of a cluster's servers are replicas.
fn replica_count(cluster: &Running) -> usize {
    cluster.servers().count() - cluster.shards.len()
}

/// Admin connections to every server of a cluster, in order.
async fn connections(cluster: &Running) -> Result<Vec<MultiplexedConnection>, String> {
    let mut conns = Vec::new();
    for server in cluster.servers() {
        conns.push(admin_connection(server.backend, &cluster.admin_password).await?);
    }
    Ok(conns)
}

/// Waits until every node sees the cluster whole, with `replicas` replicas, and every
/// replica is in sync with its primary.
async fn wait_settled(
    conns: &mut [MultiplexedConnection],
    replicas: usize,
    deadline: Instant,
) -> Result<(), String> {
    'settled: loop {
        for conn in conns.iter_mut() {
            let info: String = call(conn, &["CLUSTER", "INFO"]).await?;
            let mut ready = info.contains("cluster_state:ok");
            if ready {
                let nodes: String = call(conn, &["CLUSTER", "NODES"]).await?;
                ready = nodes.lines().filter(|l| l.contains("slave")).count() == replicas;
            }
            if ready {
                let replication: String = call(conn, &["INFO", "replication"]).await?;
                ready = !replication.contains("role:slave")
                    || replication.contains("master_link_status:up");
            }
            if !ready {
                pause(deadline, "the cluster to be whole again").await?;
                continue 'settled;
            }
        }
        return Ok(());
    }
}

/// What a server's replication says: whether it is a primary, and (for a replica)
/// whether it is in sync with its primary.
pub(super) async fn role(server: &Server, password: &str) -> Result<(bool, bool), String> {
    let mut conn = admin_connection(server.backend, password).await?;
    let replication: String = call(&mut conn, &["INFO", "replication"]).await?;
    Ok((
        replication.contains("role:master"),
        replication.contains("master_link_status:up"),
    ))
}

/// Puts each shard's primary first among its servers.
pub(super) async fn order_by_role(cluster: &mut Running) -> Result<(), String> {
    let password = cluster.admin_password.clone();
    for shard in &mut cluster.shards {
        let mut primary = None;
        for (i, server) in shard.iter().enumerate() {
            if role(server, &password).await?.0 {
                primary = Some(i);
                break;
            }
        }
        if let Some(i) = primary.filter(|i| *i > 0) {
            let server = shard.remove(i);
            shard.insert(0, server);
        }
    }
    cluster.follow_primary();
    Ok(())
}

/// Hands a shard's slots from its primary to one of its replicas, with every write the
/// primary acknowledged: the primary holds its writers (`CLIENT PAUSE WRITE`, which also
/// holds its replication offset), the replica catches up to that offset, and takes over
/// (`CLUSTER FAILOVER TAKEOVER`: no election, so a shard can fail over again at once);
/// then the primary lets its writers go, and they are sent to the new primary. The new
/// primary is then first among the shard's servers, and the old one is its replica.
async fn promote(cluster: &mut Running, shard: usize, deadline: Instant) -> Result<(), String> {
    let password = cluster.admin_password.clone();
    let mut primary = None;
    let chosen = loop {
        let mut found = None;
        for (i, server) in cluster.shards[shard].iter().enumerate() {
            match role(server, &password).await? {
                (true, _) => primary = Some(i),
                (false, true) if found.is_none() => found = Some(i),
                (false, _) => {}
            }
        }
        if let (Some(i), Some(_)) = (found, primary) {
            break i;
        }
        pause(deadline, "a replica in sync with its primary").await?;
    };
    let old = primary.unwrap_or_default();
    let mut old_conn = admin_connection(cluster.shards[shard][old].backend, &password).await?;
    let hold = super::ADMIN_TIMEOUT.as_millis().to_string();
    call::<()>(&mut old_conn, &["CLIENT", "PAUSE", &hold, "WRITE"]).await?;
    let taken = take_over(
        &cluster.shards[shard][chosen],
        &mut old_conn,
        &password,
        deadline,
    )
    .await;
    call::<()>(&mut old_conn, &["CLIENT", "UNPAUSE"]).await?;
    taken?;
    // The old primary follows the new one, in sync, before the failover is over.
    while role(&cluster.shards[shard][old], &password).await? != (false, true) {
        pause(deadline, "the old primary to follow the new one").await?;
    }
    let mut conns = connections(cluster).await?;
    wait_settled(&mut conns, replica_count(cluster), deadline).await?;
    let server = cluster.shards[shard].remove(chosen);
    cluster.shards[shard].insert(0, server);
    cluster.follow_primary();
    Ok(())
}

/// Once `replica` has all its primary (held, on `primary`) has written, it takes over.
async fn take_over(
    replica: &Server,
    primary: &mut MultiplexedConnection,
    password: &str,
    deadline: Instant,
) -> Result<(), String> {
    let info: String = call(primary, &["INFO", "replication"]).await?;
    let written = field(&info, "master_repl_offset");
    let mut conn = admin_connection(replica.backend, password).await?;
    loop {
        let info: String = call(&mut conn, &["INFO", "replication"]).await?;
        if field(&info, "slave_repl_offset") >= written {
            break;
        }
        pause(deadline, "the replica to catch up with its primary").await?;
    }
    call::<()>(&mut conn, &["CLUSTER", "FAILOVER", "TAKEOVER"]).await?;
    while !role(replica, password).await?.0 {
        pause(deadline, "the replica to take over its primary's slots").await?;
    }
    Ok(())
}

/// A number of an `INFO` answer (0 when it is not there).
fn field(info: &str, name: &str) -> u64 {
    info.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

impl Redis {
    /// Starts a cluster's lost servers again, in place: in their directories, on their
    /// ports, with its users; a lost primary's slots then go to one of its replicas.
    /// Answers the names of the servers started again.
    pub(super) async fn recover(
        &self,
        binary: &Path,
        cluster: &mut Running,
        desired: &DesiredCluster,
    ) -> Result<Vec<String>, String> {
        let authority = self.tls.get().ok_or_else(|| "no CA".to_owned())?.clone();
        let inner = authority.issue(&endpoint_names(Vec::new()))?;
        let ca = authority.cert_pem()?;
        let password = cluster.admin_password.clone();
        let mut restarted = Vec::new();
        for (index, shard) in cluster.shards.iter_mut().enumerate() {
            for server in shard.iter_mut() {
                if matches!(server.child.try_wait(), Ok(None)) {
                    continue;
                }
                let start = NodeStart {
                    binary,
                    cluster: &desired.name,
                    name: &server.name,
                    announced: (self.endpoints.host(), server.endpoint),
                    inner: &inner,
                    ca_pem: ca,
                    admin_password: &password,
                    dir: server.dir.clone(),
                    durable: self.durable,
                    sockets: &self.sockets,
                };
                let mut fresh = start_server(start).await?;
                if fresh.backend != server.backend {
                    stop_server(fresh).await;
                    return Err(format!(
                        "{} cannot listen on its port {} again",
                        server.name, server.backend
                    ));
                }
                // Its endpoint keeps serving: the same port, the same server behind it.
                fresh.proxy = server.proxy.take();
                *server = fresh;
                restarted.push((index, server.name.clone()));
            }
        }
        let servers = cluster
            .servers()
            .filter(|s| restarted.iter().any(|(_, name)| *name == s.name));
        apply_users_on(&cluster.front, &password, servers, &desired.users).await?;
        let deadline = Instant::now() + FORM_TIMEOUT;
        for (shard, name) in &restarted {
            let lost_primary = cluster.shards[*shard].len() > 1
                && match cluster.shards[*shard].iter().find(|s| &s.name == name) {
                    Some(server) => role(server, &password).await?.0,
                    None => false,
                };
            if lost_primary {
                promote(cluster, *shard, deadline).await?;
            }
        }
        let mut conns = connections(cluster).await?;
        wait_settled(&mut conns, replica_count(cluster), deadline).await?;
        Ok(restarted.into_iter().map(|(_, name)| name).collect())
    }

    /// FailoverShard: one of the shard's replicas takes over its primary's slots, with
    /// every write the primary acknowledged. Shards are numbered from 0.
    ///
    /// # Errors
    /// The cluster does not run, the shard has no replica, or the failover did not
    /// complete.
    pub async fn failover(&self, scope: &Scope, cluster: &str, shard: usize) -> Result<(), String> {
        let mut running = self.clusters.lock().await;
        let formed = running
            .get_mut(&(scope.clone(), cluster.to_owned()))
            .ok_or_else(|| format!("cluster {cluster} does not run"))?;
        if formed.shards.get(shard).is_none_or(|s| s.len() < 2) {
            return Err(format!("shard {} of {cluster} has no replica", shard + 1));
        }
        order_by_role(formed).await?;
        promote(formed, shard, Instant::now() + FORM_TIMEOUT).await?;
        tracing::info!(cluster, shard = shard + 1, node = %formed.shards[shard][0].name, "a replica took over its shard's slots");
        Ok(())
    }
}
