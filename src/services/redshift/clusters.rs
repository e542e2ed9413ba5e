//! CreateCluster, DescribeClusters and DeleteCluster.

use super::error::{Error, combination, invalid};
use super::model::{
    ClusterResult, ClustersMessage, CreateClusterMessage, DeleteClusterMessage,
    DescribeClustersMessage,
};
use super::store::{ClusterRecord, KeptCredentials, Store, cluster_key};
use super::validate;
use super::{Env, Server};
use crate::services::paging;

/// Clusters an account may have in a region.
pub const MAX_CLUSTERS: usize = 200;

/// # Errors
/// The model's errors for CreateCluster.
pub fn create(
    store: &mut Store,
    env: &Env<'_>,
    req: &CreateClusterMessage,
) -> Result<ClusterResult, Error> {
    let id = validate::cluster_identifier(&req.cluster_identifier)?;
    validate::node_type(&req.node_type)?;
    validate::master_username(&req.master_username)?;
    let master_password = match (
        &req.master_user_password,
        req.manage_master_password.unwrap_or(false),
    ) {
        (Some(_), true) => {
            return Err(combination(
                "You can't specify both MasterUserPassword and ManageMasterPassword.",
            ));
        }
        (Some(p), false) => {
            validate::master_password(p)?;
            Some(p.sha256())
        }
        (None, true) => None,
        (None, false) => return Err(Error::MissingParameter("MasterUserPassword")),
    };
    let db_name = req.db_name.clone().unwrap_or_else(|| "dev".to_owned());
    validate::database_name(&db_name)?;
    let port = match req.port {
        None => 5439,
        Some(p) => u16::try_from(p)
            .ok()
            .filter(|p| *p >= 1150)
            .ok_or_else(|| invalid("Port must be between 1150 and 65535."))?,
    };
    let number_of_nodes = node_count(req)?;
    let tags = validate::merge_tags(
        &[],
        validate::tags(req.tags.as_deref().unwrap_or_default())?,
    )?;
    let availability_zone = match &req.availability_zone {
        Some(az)
            if az.starts_with(env.scope.region.as_str())
                && az.len() == env.scope.region.len() + 1 =>
        {
            az.clone()
        }
        Some(az) => {
            return Err(invalid(format!(
                "Invalid availability zone {az} for region {}.",
                env.scope.region
            )));
        }
        None => format!("{}a", env.scope.region),
    };
    store.purge(env.now, env.settings.cluster_creation_delay);
    if store.clusters.contains_key(&id) {
        return Err(Error::ClusterAlreadyExists);
    }
    if store.clusters.len() >= MAX_CLUSTERS {
        return Err(Error::ClusterQuotaExceeded(MAX_CLUSTERS));
    }
    // Last of the checks: the endpoint's port.
    let engine_port = (env.new_ports)(1)
        .map_err(Error::InsufficientClusterCapacity)?
        .and_then(|ports| ports.first().copied());
    let uuid = uuid::Uuid::new_v4();
    let record = ClusterRecord {
        identifier: id.clone(),
        node_type: req.node_type.clone(),
        master_username: req.master_username.clone(),
        master_password,
        db_name,
        port,
        number_of_nodes,
        encrypted: req.encrypted.unwrap_or(true),
        publicly_accessible: req.publicly_accessible.unwrap_or(false),
        availability_zone,
        vpc_security_groups: req.vpc_security_group_ids.clone().unwrap_or_default(),
        iam_roles: req.iam_roles.clone().unwrap_or_default(),
        tags,
        custom_domain: None,
        custom_domain_expiry: None,
        namespace_id: uuid.to_string(),
        vpc_id: format!("vpc-{}", &uuid.simple().to_string()[..17]),
        created: env.now,
        deleting_since: None,
        credentials: KeptCredentials::default(),
        engine_port,
    };
    let view = record.view(env.scope, &env.settings.endpoint_host, None, "creating");
    store.clusters.insert(id, record);
    Ok(ClusterResult(view))
}

/// `NumberOfNodes` and `ClusterType` together: single-node has one node, multi-node 2-128.
fn node_count(req: &CreateClusterMessage) -> Result<i64, Error> {
    let nodes = i64::from(req.number_of_nodes.unwrap_or(1));
    match req.cluster_type.as_deref() {
        None if (1..=128).contains(&nodes) => Ok(nodes),
        Some("single-node") if nodes == 1 => Ok(1),
        Some("single-node") => Err(combination(
            "A single-node cluster can't have more than one node.",
        )),
        Some("multi-node") if (2..=128).contains(&nodes) => Ok(nodes),
        Some("multi-node") => Err(combination(
            "A multi-node cluster must have 2 to 128 nodes.",
        )),
        Some(other) => Err(invalid(format!(
            "Invalid cluster type {other}: valid types are single-node and multi-node."
        ))),
        None => Err(invalid("NumberOfNodes must be between 1 and 128.")),
    }
}

/// # Errors
/// The model's errors for DescribeClusters.
pub fn describe(
    store: &mut Store,
    env: &Env<'_>,
    req: &DescribeClustersMessage,
) -> Result<ClustersMessage, Error> {
    let size = max_records(req.max_records)?;
    let delay = env.settings.cluster_creation_delay;
    store.purge(env.now, delay);
    let keys = req.tag_keys.as_deref().unwrap_or_default();
    let values = req.tag_values.as_deref().unwrap_or_default();
    let tagged = |c: &ClusterRecord| {
        (keys.is_empty() || c.tags.iter().any(|(k, _)| keys.contains(k)))
            && (values.is_empty() || c.tags.iter().any(|(_, v)| values.contains(v)))
    };
    if let Some(id) = &req.cluster_identifier {
        let cluster = store
            .clusters
            .get(&*cluster_key(id))
            .filter(|c| tagged(c))
            .ok_or_else(|| Error::ClusterNotFound(id.clone()))?;
        return Ok(ClustersMessage {
            clusters: vec![cluster.view(
                env.scope,
                &env.settings.endpoint_host,
                (env.port_of)(Server::Cluster(&cluster.identifier)),
                shown_status(cluster, env),
            )],
            marker: None,
        });
    }
    let (clusters, marker) = paging::page(&store.clusters, req.marker.as_deref(), size, tagged)
        .map_err(|_| invalid("Invalid Marker."))?;
    Ok(ClustersMessage {
        clusters: clusters
            .into_iter()
            .map(|c| {
                c.view(
                    env.scope,
                    &env.settings.endpoint_host,
                    (env.port_of)(Server::Cluster(&c.identifier)),
                    shown_status(c, env),
                )
            })
            .collect(),
        marker,
    })
}

/// `MaxRecords`: 20 to 100, 100 when absent.
///
/// # Errors
/// `InvalidParameterValue`.
pub fn max_records(value: Option<i32>) -> Result<usize, Error> {
    match value {
        None => Ok(100),
        Some(v @ 20..=100) => Ok(usize::try_from(v).unwrap_or(100)),
        Some(_) => Err(invalid("MaxRecords must be between 20 and 100.")),
    }
}

/// # Errors
/// The model's errors for DeleteCluster.
pub fn delete(
    store: &mut Store,
    env: &Env<'_>,
    req: &DeleteClusterMessage,
) -> Result<ClusterResult, Error> {
    let skip = req.skip_final_cluster_snapshot.unwrap_or(false);
    match (skip, &req.final_cluster_snapshot_identifier) {
        (true, Some(_)) => {
            return Err(combination(
                "FinalClusterSnapshotIdentifier must not be specified when SkipFinalClusterSnapshot is true.",
            ));
        }
        (false, None) => {
            return Err(combination(
                "FinalClusterSnapshotIdentifier is required unless SkipFinalClusterSnapshot is specified.",
            ));
        }
        (false, Some(snapshot)) => {
            validate::cluster_identifier(snapshot).map_err(|_| {
                invalid("The snapshot identifier must begin with a letter and contain only letters, digits and hyphens.")
            })?;
        }
        (true, None) => {}
    }
    let delay = env.settings.cluster_creation_delay;
    store.purge(env.now, delay);
    let key = cluster_key(&req.cluster_identifier).into_owned();
    let cluster = store
        .clusters
        .get_mut(&key)
        .ok_or_else(|| Error::ClusterNotFound(req.cluster_identifier.clone()))?;
    match cluster.status(env.now, delay) {
        "deleting" => {
            return Err(Error::InvalidClusterState(format!(
                "Cluster {key} is already being deleted."
            )));
        }
        "creating" => {
            return Err(Error::InvalidClusterState(
                "There is an operation running on the Cluster. Please try to delete it at a later time.".to_owned(),
            ));
        }
        _ => {}
    }
    cluster.deleting_since = Some(env.now);
    let view = cluster.view(env.scope, &env.settings.endpoint_host, None, "deleting");
    store.purge(env.now, delay);
    Ok(ClusterResult(view))
}

/// A cluster's status as DescribeClusters shows it: `rebooting` while its server, which
/// died, is being started again.
fn shown_status(cluster: &ClusterRecord, env: &Env<'_>) -> &'static str {
    match cluster.status(env.now, env.settings.cluster_creation_delay) {
        "available" if (env.recovering)(Server::Cluster(&cluster.identifier)) => "rebooting",
        status => status,
    }
}
