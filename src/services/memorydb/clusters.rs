//! CreateCluster, DescribeClusters, UpdateCluster, DeleteCluster and FailoverShard.
//!
//! A cluster names an ACL; the ACL lists its clusters. When clusters are served by real
//! servers, the environment gives each cluster's port, and its `ClusterEndpoint` is the
//! endpoint host with that port; otherwise the endpoint is a name in AWS's form and
//! nothing listens there.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::error::{Error, combination, invalid};
use super::model::{
    Cluster, ClusterResponse, CreateClusterRequest, DeleteClusterRequest, DescribeClustersRequest,
    DescribeClustersResponse, Endpoint, FailoverShardRequest, Node, SecurityGroupMembership, Shard,
    UpdateClusterRequest,
};
use super::snapshots;
use super::store::{ClusterRecord, Store, arn};
use super::validate::{initial_tags, lookup_name, new_name, page, page_size};
use crate::state::Scope;

/// The ACL a cluster without TLS must use.
const OPEN_ACCESS: &str = "open-access";
const TLS_NEEDED: &str =
    "A cluster with TLS disabled must use the open-access ACL: TLS is required for any other ACL.";

/// What cluster operations know besides their input.
pub struct ClusterEnv<'a> {
    pub scope: &'a Scope,
    pub now: DateTime<Utc>,
    /// How long a new cluster stays `creating`.
    pub creation_delay: Duration,
    /// The port of a cluster's endpoint, when its servers run.
    pub port_of: &'a dyn Fn(&str) -> Option<u16>,
    /// `n` ports for new endpoints, held until they start: `None` when no servers run
    /// (the cluster is control-plane only), an error when too few are free.
    pub new_ports: &'a dyn Fn(usize) -> Result<Option<Vec<u16>>, String>,
    /// The port of a node's endpoint, when its server runs.
    pub node_port_of: &'a dyn Fn(&str) -> Option<u16>,
    /// The host the endpoints of running clusters are reported at.
    pub endpoint_host: &'a str,
    /// Whether the engines hold the data of a snapshot, by snapshot name: until then the
    /// snapshot is `creating`.
    pub snapshot_ready: &'a dyn Fn(&str) -> bool,
    /// Whether a cluster lost a server that is being started again.
    pub recovering: &'a dyn Fn(&str) -> bool,
}

const NODE_TYPES: &[&str] = &[
    "db.t4g.small",
    "db.t4g.medium",
    "db.r6g.large",
    "db.r6g.xlarge",
    "db.r6g.2xlarge",
    "db.r7g.large",
    "db.r7g.xlarge",
    "db.r6gd.xlarge",
];

/// # Errors
/// The model's errors for CreateCluster.
pub fn create(
    store: &mut Store,
    env: &ClusterEnv<'_>,
    req: &CreateClusterRequest,
) -> Result<ClusterResponse, Error> {
    let name = new_name("Cluster", &req.cluster_name)?;
    let restore = restore_source(store, env, req)?;
    if !req.node_type.starts_with("db.") || req.node_type.len() < 6 {
        return Err(invalid(format!(
            "Invalid node type {}: node types look like {}.",
            req.node_type,
            NODE_TYPES.join(", ")
        )));
    }
    let shards = req
        .num_shards
        .or(restore.as_ref().map(|(_, shards)| *shards))
        .unwrap_or(1);
    if !(1..=500).contains(&shards) {
        return Err(invalid("NumShards must be between 1 and 500."));
    }
    let replicas = req.num_replicas_per_shard.unwrap_or(1);
    if !(0..=5).contains(&replicas) {
        return Err(invalid("NumReplicasPerShard must be between 0 and 5."));
    }
    let port = req.port.unwrap_or(6379);
    if !(1..=65535).contains(&port) {
        return Err(invalid("Port must be between 1 and 65535."));
    }
    let engine = req.engine.clone().unwrap_or_else(|| "redis".to_owned());
    if engine != "redis" && engine != "valkey" {
        return Err(invalid(format!(
            "Invalid engine {engine}: redis or valkey."
        )));
    }
    let retention = req.snapshot_retention_limit.unwrap_or(0);
    if !(0..=35).contains(&retention) {
        return Err(invalid("SnapshotRetentionLimit must be between 0 and 35."));
    }
    let tags = initial_tags(req.tags.as_deref())?;
    let acl_key = lookup_name(&req.acl_name);
    if !store.acls.contains_key(&acl_key) {
        return Err(Error::AclNotFound(req.acl_name.clone()));
    }
    let tls = req.tls_enabled.unwrap_or(true);
    if !tls && acl_key != OPEN_ACCESS {
        return Err(combination(TLS_NEEDED));
    }
    if store.clusters.contains_key(&name) {
        return Err(Error::ClusterAlreadyExists(name));
    }
    let version = req
        .engine_version
        .clone()
        .unwrap_or_else(|| if engine == "valkey" { "7.3" } else { "7.1" }.to_owned());
    // Last of the checks: the endpoints' ports.
    let (engine_port, node_ports) = new_endpoints(env, &name, shards, replicas)?;
    let record = ClusterRecord {
        name: name.clone(),
        description: req.description.clone(),
        node_type: req.node_type.clone(),
        acl_name: acl_key.clone(),
        num_shards: shards,
        replicas_per_shard: replicas,
        port,
        tls,
        parameter_group: req
            .parameter_group_name
            .clone()
            .unwrap_or_else(|| format!("default.memorydb-{engine}{}", major(&version))),
        engine,
        engine_version: version,
        subnet_group: req
            .subnet_group_name
            .clone()
            .unwrap_or_else(|| "default".to_owned()),
        security_groups: req.security_group_ids.clone().unwrap_or_default(),
        maintenance_window: req
            .maintenance_window
            .clone()
            .unwrap_or_else(|| "wed:08:00-wed:09:00".to_owned()),
        snapshot_window: req
            .snapshot_window
            .clone()
            .unwrap_or_else(|| "05:00-06:00".to_owned()),
        snapshot_retention: retention,
        sns_topic_arn: req.sns_topic_arn.clone(),
        kms_key_id: req.kms_key_id.clone(),
        auto_minor_version_upgrade: req.auto_minor_version_upgrade.unwrap_or(true),
        data_tiering: req.data_tiering.unwrap_or(false),
        created: env.now,
        tags,
        engine_port,
        node_ports,
        restore_from: restore.map(|(snapshot, _)| snapshot),
    };
    if let Some(acl) = store.acls.get_mut(&acl_key) {
        acl.clusters.insert(name.clone());
    }
    let view = view(&record, env, "creating", false);
    store.clusters.insert(name, record);
    Ok(ClusterResponse { cluster: view })
}

/// Ports for a new cluster's endpoints, the cluster's and each node's: none for a cluster
/// without servers.
fn new_endpoints(
    env: &ClusterEnv<'_>,
    name: &str,
    shards: i32,
    replicas: i32,
) -> Result<(Option<u16>, BTreeMap<String, u16>), Error> {
    let nodes: Vec<String> = node_names(name, shards, replicas).collect();
    Ok(
        match (env.new_ports)(1 + nodes.len()).map_err(Error::InsufficientClusterCapacity)? {
            Some(ports) => (
                ports.first().copied(),
                nodes.into_iter().zip(ports.into_iter().skip(1)).collect(),
            ),
            None => (None, BTreeMap::new()),
        },
    )
}

/// The snapshot a new cluster restores, checked (it exists and is available), and its
/// shard count.
fn restore_source(
    store: &Store,
    env: &ClusterEnv<'_>,
    req: &CreateClusterRequest,
) -> Result<Option<(String, i32)>, Error> {
    if req
        .snapshot_arns
        .as_ref()
        .is_some_and(|arns| !arns.is_empty())
    {
        return Err(invalid(
            "SnapshotArns: restoring a cluster from RDB files in Amazon S3 is not emulated by \
             memshift. Restore from a MemoryDB snapshot with SnapshotName.",
        ));
    }
    let Some(name) = &req.snapshot_name else {
        return Ok(None);
    };
    let snapshot = store
        .snapshots
        .get(&lookup_name(name))
        .ok_or_else(|| invalid(format!("SnapshotName: snapshot {name} not found.")))?;
    if !(env.snapshot_ready)(&snapshot.name) {
        return Err(invalid(format!(
            "SnapshotName: snapshot {name} is not available: it is still being created."
        )));
    }
    Ok(Some((snapshot.name.clone(), snapshot.cluster.num_shards)))
}

/// # Errors
/// The model's errors for DescribeClusters.
pub fn describe(
    store: &Store,
    env: &ClusterEnv<'_>,
    req: &DescribeClustersRequest,
) -> Result<DescribeClustersResponse, Error> {
    let size = page_size(req.max_results)?;
    let shards = req.show_shard_details.unwrap_or(false);
    if let Some(name) = &req.cluster_name {
        let record = store
            .clusters
            .get(&lookup_name(name))
            .ok_or_else(|| Error::ClusterNotFound(name.clone()))?;
        return Ok(DescribeClustersResponse {
            clusters: vec![view(record, env, status(record, env), shards)],
            next_token: None,
        });
    }
    let (records, next_token) = page(&store.clusters, req.next_token.as_deref(), size, |_| true)?;
    Ok(DescribeClustersResponse {
        clusters: records
            .into_iter()
            .map(|r| view(r, env, status(r, env), shards))
            .collect(),
        next_token,
    })
}

/// # Errors
/// The model's errors for UpdateCluster.
pub fn update(
    store: &mut Store,
    env: &ClusterEnv<'_>,
    req: &UpdateClusterRequest,
) -> Result<ClusterResponse, Error> {
    let key = lookup_name(&req.cluster_name);
    let current = store
        .clusters
        .get(&key)
        .ok_or_else(|| Error::ClusterNotFound(req.cluster_name.clone()))?;
    let new_acl = match &req.acl_name {
        Some(acl) => {
            let acl_key = lookup_name(acl);
            if !store.acls.contains_key(&acl_key) {
                return Err(Error::AclNotFound(acl.clone()));
            }
            Some(acl_key)
        }
        None => None,
    };
    if let Some(n) = req.snapshot_retention_limit
        && !(0..=35).contains(&n)
    {
        return Err(invalid("SnapshotRetentionLimit must be between 0 and 35."));
    }
    let (shards, replicas) = new_counts(req)?;
    let nothing = shards.is_none()
        && replicas.is_none()
        && req.description.is_none()
        && req.security_group_ids.is_none()
        && req.maintenance_window.is_none()
        && req.sns_topic_arn.is_none()
        && req.snapshot_window.is_none()
        && req.snapshot_retention_limit.is_none()
        && req.node_type.is_none()
        && req.engine_version.is_none()
        && new_acl.is_none();
    if nothing {
        return Err(combination("No modifications were requested."));
    }
    if !current.tls && new_acl.as_deref().is_some_and(|acl| acl != OPEN_ACCESS) {
        return Err(combination(TLS_NEEDED));
    }
    // Ports for the nodes a new shape adds, before anything changes.
    let (shape, added) = added_nodes(current, env, shards, replicas)?;
    let old_acl = current.acl_name.clone();
    let Some(cluster) = store.clusters.get_mut(&key) else {
        return Err(Error::ClusterNotFound(req.cluster_name.clone()));
    };
    if let Some(d) = &req.description {
        cluster.description = Some(d.clone());
    }
    if let Some(g) = &req.security_group_ids {
        cluster.security_groups.clone_from(g);
    }
    if let Some(w) = &req.maintenance_window {
        cluster.maintenance_window.clone_from(w);
    }
    if let Some(t) = &req.sns_topic_arn {
        cluster.sns_topic_arn = Some(t.clone());
    }
    if let Some(w) = &req.snapshot_window {
        cluster.snapshot_window.clone_from(w);
    }
    if let Some(n) = req.snapshot_retention_limit {
        cluster.snapshot_retention = n;
    }
    if let Some(t) = &req.node_type {
        cluster.node_type.clone_from(t);
    }
    if let Some(v) = &req.engine_version {
        cluster.engine_version.clone_from(v);
    }
    if let Some(acl) = &new_acl {
        cluster.acl_name.clone_from(acl);
    }
    if shards.is_some() || replicas.is_some() {
        reshape(cluster, shape, added);
    }
    let view = view(cluster, env, "updating", false);
    if let Some(acl) = new_acl
        && acl != old_acl
    {
        if let Some(old) = store.acls.get_mut(&old_acl) {
            old.clusters.remove(&key);
        }
        if let Some(new) = store.acls.get_mut(&acl) {
            new.clusters.insert(key);
        }
    }
    Ok(ClusterResponse { cluster: view })
}

/// The shard and replica counts UpdateCluster asks for, checked.
fn new_counts(req: &UpdateClusterRequest) -> Result<(Option<i32>, Option<i32>), Error> {
    let shards = req.shard_configuration.as_ref().and_then(|c| c.shard_count);
    if let Some(n) = shards
        && !(1..=500).contains(&n)
    {
        return Err(invalid("ShardCount must be between 1 and 500."));
    }
    let replicas = req
        .replica_configuration
        .as_ref()
        .and_then(|c| c.replica_count);
    if let Some(n) = replicas
        && !(0..=5).contains(&n)
    {
        return Err(invalid("ReplicaCount must be between 0 and 5."));
    }
    Ok((shards, replicas))
}

/// A cluster's shard count and replicas per shard.
type Shape = (i32, i32);

/// The shard and replica counts a cluster is to have, and ports for the nodes they add
/// (none for a cluster without servers).
fn added_nodes(
    current: &ClusterRecord,
    env: &ClusterEnv<'_>,
    shards: Option<i32>,
    replicas: Option<i32>,
) -> Result<(Shape, BTreeMap<String, u16>), Error> {
    let shape = (
        shards.unwrap_or(current.num_shards),
        replicas.unwrap_or(current.replicas_per_shard),
    );
    let added: Vec<String> = if current.node_ports.is_empty() {
        Vec::new()
    } else {
        node_names(&current.name, shape.0, shape.1)
            .filter(|node| !current.node_ports.contains_key(node))
            .collect()
    };
    if added.is_empty() {
        return Ok((shape, BTreeMap::new()));
    }
    let ports = (env.new_ports)(added.len())
        .map_err(Error::InsufficientClusterCapacity)?
        .unwrap_or_default();
    Ok((shape, added.into_iter().zip(ports).collect()))
}

/// A new shard and replica count: the servers follow; nodes that stay keep their ports,
/// new ones take those reserved for them (`added`, by node name).
fn reshape(cluster: &mut ClusterRecord, shape: Shape, mut added: BTreeMap<String, u16>) {
    (cluster.num_shards, cluster.replicas_per_shard) = shape;
    let old = std::mem::take(&mut cluster.node_ports);
    cluster.node_ports = node_names(&cluster.name, shape.0, shape.1)
        .filter_map(|node| {
            let port = old.get(&node).copied().or_else(|| added.remove(&node))?;
            Some((node, port))
        })
        .collect();
}

/// # Errors
/// The model's errors for DeleteCluster.
pub fn delete(
    store: &mut Store,
    env: &ClusterEnv<'_>,
    req: &DeleteClusterRequest,
) -> Result<ClusterResponse, Error> {
    let key = lookup_name(&req.cluster_name);
    let final_name = req
        .final_snapshot_name
        .as_deref()
        .map(|name| new_name("Snapshot", name))
        .transpose()?;
    let current = store
        .clusters
        .get(&key)
        .ok_or_else(|| Error::ClusterNotFound(req.cluster_name.clone()))?;
    // The final snapshot is taken of the cluster as it is, in the same call.
    let final_snapshot = match final_name {
        Some(name) => {
            snapshots::name_is_free(store, &name)?;
            let kms_key_id = current.kms_key_id.clone();
            Some(snapshots::of_cluster(
                current,
                name,
                kms_key_id,
                Vec::new(),
                env.now,
            ))
        }
        None => None,
    };
    let record = store
        .clusters
        .remove(&key)
        .ok_or_else(|| Error::ClusterNotFound(req.cluster_name.clone()))?;
    if let Some(acl) = store.acls.get_mut(&record.acl_name) {
        acl.clusters.remove(&key);
    }
    if let Some(snapshot) = final_snapshot {
        store.snapshots.insert(snapshot.name.clone(), snapshot);
    }
    Ok(ClusterResponse {
        cluster: view(&record, env, "deleting", false),
    })
}

/// # Errors
/// The model's errors for FailoverShard. The engines fail the shard over after the call.
pub fn failover_shard(
    store: &Store,
    env: &ClusterEnv<'_>,
    req: &FailoverShardRequest,
) -> Result<ClusterResponse, Error> {
    let record = store
        .clusters
        .get(&lookup_name(&req.cluster_name))
        .ok_or_else(|| Error::ClusterNotFound(req.cluster_name.clone()))?;
    if !(1..=record.num_shards).any(|i| shard_name(i) == req.shard_name) {
        return Err(Error::ShardNotFound(req.shard_name.clone()));
    }
    if status(record, env) == "creating" {
        return Err(Error::InvalidClusterState(format!(
            "Cluster {} is not available: it is still being created.",
            record.name
        )));
    }
    if record.replicas_per_shard == 0 {
        return Err(Error::TestFailoverNotAvailable(format!(
            "Shard {} of cluster {} has no replica to fail over to.",
            req.shard_name, record.name
        )));
    }
    Ok(ClusterResponse {
        cluster: view(record, env, "available", false),
    })
}

/// A cluster's status: `creating` for the creation delay, `available` from then on.
#[must_use]
pub fn status(record: &ClusterRecord, env: &ClusterEnv<'_>) -> &'static str {
    let delay = chrono::Duration::from_std(env.creation_delay).unwrap_or_default();
    if env.now < record.created + delay {
        "creating"
    } else if (env.recovering)(&record.name) {
        "updating"
    } else {
        "available"
    }
}

fn major(version: &str) -> &str {
    version.split('.').next().unwrap_or(version)
}

fn view(
    record: &ClusterRecord,
    env: &ClusterEnv<'_>,
    status: &'static str,
    shards: bool,
) -> Cluster {
    let endpoint = match (env.port_of)(&record.name).or(record.engine_port) {
        Some(port) => Endpoint {
            address: env.endpoint_host.to_owned(),
            port: i32::from(port),
        },
        None => Endpoint {
            address: cluster_dns_name(&record.name, &env.scope.region),
            port: record.port,
        },
    };
    let ranges = slot_ranges(record.num_shards);
    let shard_list = shards.then(|| {
        (1..=record.num_shards)
            .zip(&ranges)
            .map(|(i, (first, last))| {
                let nodes: Vec<Node> = (1..=record.replicas_per_shard + 1)
                    .map(|n| {
                        let name = node_name(&record.name, i, n);
                        let endpoint = match (env.node_port_of)(&name)
                            .or_else(|| record.node_ports.get(&name).copied())
                        {
                            Some(port) => Endpoint {
                                address: env.endpoint_host.to_owned(),
                                port: i32::from(port),
                            },
                            None => Endpoint {
                                address: node_dns_name(&name, &record.name, &env.scope.region),
                                port: record.port,
                            },
                        };
                        (n, name, endpoint)
                    })
                    .map(|(n, name, endpoint)| Node {
                        name,
                        status: "available",
                        availability_zone: format!(
                            "{}{}",
                            env.scope.region,
                            ['a', 'b', 'c'][usize::try_from(n).unwrap_or(0) % 3]
                        ),
                        create_time: epoch_seconds(record.created),
                        endpoint,
                    })
                    .collect();
                Shard {
                    name: shard_name(i),
                    status: "available",
                    slots: format!("{first}-{last}"),
                    number_of_nodes: i32::try_from(nodes.len()).unwrap_or(i32::MAX),
                    nodes,
                }
            })
            .collect()
    });
    Cluster {
        name: record.name.clone(),
        description: record.description.clone(),
        status,
        number_of_shards: record.num_shards,
        shards: shard_list,
        availability_mode: if record.replicas_per_shard > 0 {
            "multiaz"
        } else {
            "singleaz"
        },
        cluster_endpoint: endpoint,
        node_type: record.node_type.clone(),
        engine: record.engine.clone(),
        engine_version: record.engine_version.clone(),
        engine_patch_version: format!("{}.0", record.engine_version),
        parameter_group_name: record.parameter_group.clone(),
        parameter_group_status: "in-sync",
        security_groups: record
            .security_groups
            .iter()
            .map(|id| SecurityGroupMembership {
                security_group_id: id.clone(),
                status: "active",
            })
            .collect(),
        subnet_group_name: record.subnet_group.clone(),
        tls_enabled: record.tls,
        kms_key_id: record.kms_key_id.clone(),
        arn: arn(env.scope, "cluster", &record.name),
        sns_topic_status: record.sns_topic_arn.as_ref().map(|_| "ACTIVE"),
        sns_topic_arn: record.sns_topic_arn.clone(),
        snapshot_retention_limit: record.snapshot_retention,
        maintenance_window: record.maintenance_window.clone(),
        snapshot_window: record.snapshot_window.clone(),
        acl_name: record.acl_name.clone(),
        auto_minor_version_upgrade: record.auto_minor_version_upgrade,
        data_tiering: if record.data_tiering { "true" } else { "false" },
    }
}

/// A shard's name: its number from 1, in four digits (`0001`).
#[must_use]
pub fn shard_name(shard: i32) -> String {
    format!("{shard:04}")
}

/// A timestamp as AWS JSON writes it: seconds since the epoch, with milliseconds.
#[allow(
    clippy::cast_precision_loss,
    reason = "milliseconds since 1970 stay far below 2^52"
)]
#[must_use]
pub fn epoch_seconds(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// The hash slots of shard `i` of `n` (16,384 slots spread evenly).
/// How the 16384 slots are split across `shards` shards: in order, as evenly as whole
/// slots allow, as `redis-cli --cluster create` splits them.
#[must_use]
pub fn slot_ranges(shards: i32) -> Vec<(u16, u16)> {
    let shards = u16::try_from(shards.clamp(1, 500)).unwrap_or(1);
    let per = 16384.0 / f64::from(shards);
    let mut first = 0_u16;
    (0..shards)
        .map(|i| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "the value lies within 0..16384"
            )]
            let last = if i + 1 == shards {
                16383
            } else {
                ((f64::from(i) * per + per - 1.0).round() as u16).min(16383)
            };
            let range = (first, last);
            first = last + 1;
            range
        })
        .collect()
}

/// The cluster endpoint's name in AWS's form (reported when no server runs, and
/// covered by the endpoints' certificates).
#[must_use]
pub fn cluster_dns_name(cluster: &str, region: &str) -> String {
    format!("clustercfg.{cluster}.memshift.memorydb.{region}.amazonaws.com")
}

/// A node's name in AWS's form, as the cluster endpoint's.
#[must_use]
pub fn node_dns_name(node: &str, cluster: &str, region: &str) -> String {
    format!("{node}.{cluster}.memshift.memorydb.{region}.amazonaws.com")
}

/// `<cluster>-<shard:04>-<node:03>`, both counted from 1; node 1 is the shard's primary.
#[must_use]
pub fn node_name(cluster: &str, shard: i32, node: i32) -> String {
    format!("{cluster}-{shard:04}-{node:03}")
}

/// Every node's name, shard by shard, each shard's primary first.
pub fn node_names(cluster: &str, shards: i32, replicas: i32) -> impl Iterator<Item = String> + '_ {
    (1..=shards).flat_map(move |s| (1..=replicas + 1).map(move |n| node_name(cluster, s, n)))
}
