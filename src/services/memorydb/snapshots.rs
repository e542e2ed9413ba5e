//! CreateSnapshot, DescribeSnapshots, CopySnapshot and DeleteSnapshot.
//!
//! A snapshot keeps a copy of its cluster's record as it was when it was taken, and says
//! where its data comes from: the running cluster, or the snapshot it copies. The data
//! itself is the engines' concern: a snapshot is `creating` until the environment says
//! its data is ready, and `available` from then on.
//!
//! ```text
//! arn:aws:memorydb:us-east-1:000000000000:snapshot/my-snapshot
//! ```

use chrono::{DateTime, Utc};

use super::clusters::{self, ClusterEnv, epoch_seconds, shard_name, slot_ranges};
use super::error::{Error, invalid};
use super::model::{
    ClusterConfiguration, CopySnapshotRequest, CreateSnapshotRequest, DeleteSnapshotRequest,
    DescribeSnapshotsRequest, DescribeSnapshotsResponse, ShardConfiguration, ShardDetail, Snapshot,
    SnapshotResponse,
};
use super::store::{ClusterRecord, MAX_SNAPSHOTS, SnapshotData, SnapshotRecord, Store, arn};
use super::validate::{initial_tags, lookup_name, new_name, page, page_size};
use crate::state::Scope;

/// The `Source` of a snapshot taken on request.
pub const MANUAL: &str = "manual";
/// The `Source` of a snapshot MemoryDB takes in the cluster's snapshot window.
pub const AUTOMATIC: &str = "automatic";

/// # Errors
/// The model's errors for CreateSnapshot.
pub fn create(
    store: &mut Store,
    env: &ClusterEnv<'_>,
    req: &CreateSnapshotRequest,
) -> Result<SnapshotResponse, Error> {
    let name = new_name("Snapshot", &req.snapshot_name)?;
    let tags = initial_tags(req.tags.as_deref())?;
    let cluster = store
        .clusters
        .get(&lookup_name(&req.cluster_name))
        .ok_or_else(|| Error::ClusterNotFound(req.cluster_name.clone()))?;
    if clusters::status(cluster, env) == "creating" {
        return Err(Error::InvalidClusterState(format!(
            "Cluster {} is not available: it is still being created.",
            cluster.name
        )));
    }
    name_is_free(store, &name)?;
    if store.snapshots.len() >= MAX_SNAPSHOTS {
        return Err(Error::SnapshotQuotaExceeded(MAX_SNAPSHOTS));
    }
    let kms_key_id = req
        .kms_key_id
        .clone()
        .or_else(|| cluster.kms_key_id.clone());
    let record = of_cluster(cluster, name, kms_key_id, tags, env.now);
    let snapshot = view(&record, env.scope, "creating", false);
    store.snapshots.insert(record.name.clone(), record);
    Ok(SnapshotResponse { snapshot })
}

/// # Errors
/// The model's errors for DescribeSnapshots.
pub fn describe(
    store: &Store,
    env: &ClusterEnv<'_>,
    req: &DescribeSnapshotsRequest,
) -> Result<DescribeSnapshotsResponse, Error> {
    let size = page_size(req.max_results)?;
    let detail = req.show_detail.unwrap_or(false);
    let source = match req.source.as_deref() {
        None => None,
        Some("system") => Some(AUTOMATIC),
        Some("user") => Some(MANUAL),
        Some(other) => {
            return Err(invalid(format!("Invalid Source {other}: system or user.")));
        }
    };
    let cluster = req.cluster_name.as_deref().map(lookup_name);
    let keep = |r: &SnapshotRecord| {
        source.is_none_or(|s| r.source == s)
            && cluster.as_ref().is_none_or(|c| r.cluster.name == *c)
    };
    let shown = |r: &SnapshotRecord| view(r, env.scope, status(r, env), detail);
    if let Some(name) = &req.snapshot_name {
        let record = store
            .snapshots
            .get(&lookup_name(name))
            .ok_or_else(|| Error::SnapshotNotFound(name.clone()))?;
        return Ok(DescribeSnapshotsResponse {
            snapshots: keep(record).then(|| shown(record)).into_iter().collect(),
            next_token: None,
        });
    }
    let (records, next_token) = page(&store.snapshots, req.next_token.as_deref(), size, keep)?;
    Ok(DescribeSnapshotsResponse {
        snapshots: records.into_iter().map(shown).collect(),
        next_token,
    })
}

/// # Errors
/// The model's errors for CopySnapshot.
pub fn copy(
    store: &mut Store,
    env: &ClusterEnv<'_>,
    req: &CopySnapshotRequest,
) -> Result<SnapshotResponse, Error> {
    if req.target_bucket.is_some() {
        return Err(invalid(
            "TargetBucket: exporting a snapshot to Amazon S3 is not emulated by memshift. \
             Copy the snapshot without TargetBucket.",
        ));
    }
    let name = new_name("Snapshot", &req.target_snapshot_name)?;
    let tags = initial_tags(req.tags.as_deref())?;
    let source = store
        .snapshots
        .get(&lookup_name(&req.source_snapshot_name))
        .ok_or_else(|| Error::SnapshotNotFound(req.source_snapshot_name.clone()))?;
    if !(env.snapshot_ready)(&source.name) {
        return Err(Error::InvalidSnapshotState(format!(
            "Snapshot {} is not available: it is still being created.",
            source.name
        )));
    }
    name_is_free(store, &name)?;
    if store.snapshots.len() >= MAX_SNAPSHOTS {
        return Err(Error::SnapshotQuotaExceeded(MAX_SNAPSHOTS));
    }
    let record = SnapshotRecord {
        name,
        source: MANUAL.to_owned(),
        kms_key_id: req.kms_key_id.clone().or_else(|| source.kms_key_id.clone()),
        created: env.now,
        tags,
        cluster: source.cluster.clone(),
        data: SnapshotData::Copy(source.name.clone()),
    };
    let snapshot = view(&record, env.scope, "creating", false);
    store.snapshots.insert(record.name.clone(), record);
    Ok(SnapshotResponse { snapshot })
}

/// # Errors
/// The model's errors for DeleteSnapshot.
pub fn delete(
    store: &mut Store,
    env: &ClusterEnv<'_>,
    req: &DeleteSnapshotRequest,
) -> Result<SnapshotResponse, Error> {
    let key = lookup_name(&req.snapshot_name);
    if !store.snapshots.contains_key(&key) {
        return Err(Error::SnapshotNotFound(req.snapshot_name.clone()));
    }
    if !(env.snapshot_ready)(&key) {
        return Err(Error::InvalidSnapshotState(format!(
            "Snapshot {key} is still being created: it can be deleted once it is available."
        )));
    }
    // A copy still in the making reads this snapshot's data.
    if let Some(copy) = store
        .snapshots
        .values()
        .find(|s| s.data == SnapshotData::Copy(key.clone()) && !(env.snapshot_ready)(&s.name))
    {
        return Err(Error::InvalidSnapshotState(format!(
            "Snapshot {key} is being copied to {}: it can be deleted once the copy is available.",
            copy.name
        )));
    }
    let record = store
        .snapshots
        .remove(&key)
        .ok_or_else(|| Error::SnapshotNotFound(req.snapshot_name.clone()))?;
    Ok(SnapshotResponse {
        snapshot: view(&record, env.scope, "deleting", false),
    })
}

/// `SnapshotAlreadyExistsFault` when a snapshot of that name exists.
///
/// # Errors
/// As said.
pub fn name_is_free(store: &Store, name: &str) -> Result<(), Error> {
    if store.snapshots.contains_key(name) {
        return Err(Error::SnapshotAlreadyExists(name.to_owned()));
    }
    Ok(())
}

/// A new manual snapshot of a cluster as it is now.
#[must_use]
pub fn of_cluster(
    cluster: &ClusterRecord,
    name: String,
    kms_key_id: Option<String>,
    tags: Vec<(String, String)>,
    now: DateTime<Utc>,
) -> SnapshotRecord {
    SnapshotRecord {
        name,
        source: MANUAL.to_owned(),
        kms_key_id,
        created: now,
        tags,
        cluster: cluster.clone(),
        data: SnapshotData::Cluster(cluster.name.clone()),
    }
}

/// `available` once the engines hold the snapshot's data, `creating` until then.
fn status(record: &SnapshotRecord, env: &ClusterEnv<'_>) -> &'static str {
    if (env.snapshot_ready)(&record.name) {
        "available"
    } else {
        "creating"
    }
}

/// A snapshot on the wire; its shards (as its cluster's were split) only with `detail`.
#[must_use]
pub fn view(
    record: &SnapshotRecord,
    scope: &Scope,
    status: &'static str,
    detail: bool,
) -> Snapshot {
    let c = &record.cluster;
    let shards = detail.then(|| {
        (1..=c.num_shards)
            .zip(slot_ranges(c.num_shards))
            .map(|(i, (first, last))| ShardDetail {
                name: shard_name(i),
                configuration: ShardConfiguration {
                    slots: format!("{first}-{last}"),
                    replica_count: c.replicas_per_shard,
                },
                snapshot_creation_time: epoch_seconds(record.created),
            })
            .collect()
    });
    Snapshot {
        name: record.name.clone(),
        status,
        source: record.source.clone(),
        kms_key_id: record.kms_key_id.clone(),
        arn: arn(scope, "snapshot", &record.name),
        cluster_configuration: ClusterConfiguration {
            name: c.name.clone(),
            description: c.description.clone(),
            node_type: c.node_type.clone(),
            engine: c.engine.clone(),
            engine_version: c.engine_version.clone(),
            maintenance_window: c.maintenance_window.clone(),
            topic_arn: c.sns_topic_arn.clone(),
            port: c.port,
            parameter_group_name: c.parameter_group.clone(),
            subnet_group_name: c.subnet_group.clone(),
            snapshot_retention_limit: c.snapshot_retention,
            snapshot_window: c.snapshot_window.clone(),
            num_shards: c.num_shards,
            shards,
        },
        data_tiering: if c.data_tiering { "true" } else { "false" },
    }
}
