//! MemoryDB over AWS JSON 1.1: its operations, their typed inputs and outputs, and how
//! each runs against the service.
//!
//! ```text
//! X-Amz-Target: AmazonMemoryDB.CreateUser
//! {"UserName":"alice","AuthenticationMode":{"Type":"password","Passwords":["..."]},"AccessString":"on ~* +@all"}
//! -> {"User":{"Name":"alice","Status":"active","AccessString":"on ~* resetchannels +@all",...}}
//! ```
//!
//! Every operation of the model is recognised; those memshift does not emulate answer a
//! `NotImplemented` error naming the operation.

use serde::Serialize;

use super::{
    Api, Call, JsonBody, RequestContext, json_encoding, not_served, operations, service_error,
};
use crate::engines::endpoints::Kind;
use crate::protocol::error::{Failure, ProtocolError};
use crate::protocol::json;
use crate::services::memorydb::model::{
    AclResponse, ClusterResponse, CopySnapshotRequest, CreateAclRequest, CreateClusterRequest,
    CreateSnapshotRequest, CreateUserRequest, DeleteAclRequest, DeleteClusterRequest,
    DeleteSnapshotRequest, DeleteUserRequest, DescribeAclsRequest, DescribeAclsResponse,
    DescribeClustersRequest, DescribeClustersResponse, DescribeSnapshotsRequest,
    DescribeSnapshotsResponse, DescribeUsersRequest, DescribeUsersResponse, FailoverShardRequest,
    ListTagsRequest, SnapshotResponse, TagListResponse, TagResourceRequest, UntagResourceRequest,
    UpdateAclRequest, UpdateClusterRequest, UpdateUserRequest, UserResponse,
};
use crate::services::memorydb::validate::lookup_name;
use crate::services::memorydb::{Error, acls, clusters, snapshots, tags, users};
use crate::state::Scope;
use crate::state::persist::Commit;

/// The `X-Amz-Target` prefix of MemoryDB.
pub const TARGET_PREFIX: &str = "AmazonMemoryDB";
pub const SERVICE_NAME: &str = "MemoryDB";
/// The name requests are signed for (the service of the SigV4 credential scope).
pub const SIGNING_NAME: &str = "memorydb";

operations! {
    answer: Serialize;
    CreateUser(CreateUserRequest) -> UserResponse;
    DescribeUsers(DescribeUsersRequest) -> DescribeUsersResponse;
    UpdateUser(UpdateUserRequest) -> UserResponse;
    DeleteUser(DeleteUserRequest) -> UserResponse;
    CreateACL(CreateAclRequest) -> AclResponse;
    DescribeACLs(DescribeAclsRequest) -> DescribeAclsResponse;
    UpdateACL(UpdateAclRequest) -> AclResponse;
    DeleteACL(DeleteAclRequest) -> AclResponse;
    CreateCluster(CreateClusterRequest) -> ClusterResponse;
    DescribeClusters(DescribeClustersRequest) -> DescribeClustersResponse;
    UpdateCluster(UpdateClusterRequest) -> ClusterResponse;
    DeleteCluster(DeleteClusterRequest) -> ClusterResponse;
    FailoverShard(FailoverShardRequest) -> ClusterResponse;
    CreateSnapshot(CreateSnapshotRequest) -> SnapshotResponse;
    DescribeSnapshots(DescribeSnapshotsRequest) -> DescribeSnapshotsResponse;
    CopySnapshot(CopySnapshotRequest) -> SnapshotResponse;
    DeleteSnapshot(DeleteSnapshotRequest) -> SnapshotResponse;
    ListTags(ListTagsRequest) -> TagListResponse;
    TagResource(TagResourceRequest) -> TagListResponse;
    UntagResource(UntagResourceRequest) -> TagListResponse;
}

impl Operation {
    /// Operations after which the servers may hold the wrong users, or miss a cluster or
    /// a snapshot's data.
    #[must_use]
    pub fn changes_engines(self) -> bool {
        matches!(
            self,
            Operation::CreateSnapshot
                | Operation::CopySnapshot
                | Operation::DeleteSnapshot
                | Operation::UpdateUser
                | Operation::DeleteUser
                | Operation::UpdateACL
                | Operation::DeleteACL
                | Operation::CreateCluster
                | Operation::UpdateCluster
                | Operation::DeleteCluster
        )
    }
}

/// Every operation of the MemoryDB model (`memorydb/2021-01-01`).
pub const MODEL_OPERATIONS: &[&str] = &[
    "BatchUpdateCluster",
    "CopySnapshot",
    "CreateACL",
    "CreateCluster",
    "CreateMultiRegionCluster",
    "CreateParameterGroup",
    "CreateSnapshot",
    "CreateSubnetGroup",
    "CreateUser",
    "DeleteACL",
    "DeleteCluster",
    "DeleteMultiRegionCluster",
    "DeleteParameterGroup",
    "DeleteSnapshot",
    "DeleteSubnetGroup",
    "DeleteUser",
    "DescribeACLs",
    "DescribeClusters",
    "DescribeEngineVersions",
    "DescribeEvents",
    "DescribeMultiRegionClusters",
    "DescribeMultiRegionParameterGroups",
    "DescribeMultiRegionParameters",
    "DescribeParameterGroups",
    "DescribeParameters",
    "DescribeReservedNodes",
    "DescribeReservedNodesOfferings",
    "DescribeServiceUpdates",
    "DescribeSnapshots",
    "DescribeSubnetGroups",
    "DescribeUsers",
    "FailoverShard",
    "ListAllowedMultiRegionClusterUpdates",
    "ListAllowedNodeTypeUpdates",
    "ListTags",
    "PurchaseReservedNodesOffering",
    "ResetParameterGroup",
    "TagResource",
    "UntagResource",
    "UpdateACL",
    "UpdateCluster",
    "UpdateMultiRegionCluster",
    "UpdateParameterGroup",
    "UpdateSubnetGroup",
    "UpdateUser",
];

/// The operation a name calls for, or the error for a name memshift does not serve.
///
/// # Errors
/// `NotImplemented` for the model's other operations, `UnknownOperation` for the rest.
pub fn operation(name: &str) -> Result<Operation, ProtocolError> {
    Operation::from_name(name).ok_or_else(|| {
        not_served(SERVICE_NAME, MODEL_OPERATIONS, name, || {
            format!("Operation {name} is not an operation of {SERVICE_NAME}.")
        })
    })
}

/// Reads the call of an `X-Amz-Target` value and its JSON body.
///
/// # Errors
/// A target of another service, or an operation memshift does not serve, or a body the
/// operation cannot read.
pub fn decode_target(target: &str, body: &[u8]) -> Result<Call, ProtocolError> {
    let Some((prefix, name)) = json::split_target(target) else {
        return Err(ProtocolError::UnknownOperation(format!(
            "Unrecognized X-Amz-Target {target}."
        )));
    };
    if prefix != TARGET_PREFIX {
        return Err(ProtocolError::UnknownOperation(format!(
            "Unrecognized X-Amz-Target {target}: memshift serves {TARGET_PREFIX}.*, {}.* and {}.*",
            super::serverless::TARGET_PREFIX,
            super::data::TARGET_PREFIX
        )));
    }
    operation(name)?.decode(JsonBody(body)).map(Call::Memorydb)
}

/// Runs an input under its region's lock. A failed operation has changed nothing: every
/// operation checks all its input before it mutates.
///
/// # Errors
/// The service's modelled error.
pub fn execute(
    api: &Api,
    ctx: &RequestContext,
    input: Input,
    commit: &mut Commit,
) -> Result<Output, Failure> {
    let scope = &ctx.scope;
    let port_of = |name: &str| api.engines.redis.port(scope, name);
    let new_ports = |count| api.engines.new_ports(Kind::Redis, scope, count);
    let node_port_of = |name: &str| api.engines.redis.node_port(scope, name);
    let env = clusters::ClusterEnv {
        new_ports: &new_ports,
        node_port_of: &node_port_of,
        endpoint_host: &api.settings.endpoint_host,
        scope,
        now: api.state.clock().now(),
        creation_delay: api.settings.cluster_creation_delay,
        port_of: &port_of,
        snapshot_ready: &|name: &str| api.engines.redis.snapshot_ready(scope, name),
        recovering: &|name: &str| api.engines.redis.recovering(scope, name),
    };
    let quota = api.settings.memorydb_user_quota;
    api.state
        .mutate(scope, commit, |region| {
            let s = &mut region.memorydb;
            Ok(match input {
                Input::CreateUser(i) => Output::CreateUser(users::create(s, scope, &i, quota)?),
                Input::DescribeUsers(i) => Output::DescribeUsers(users::describe(s, scope, &i)?),
                Input::UpdateUser(i) => Output::UpdateUser(users::update(s, scope, &i)?),
                Input::DeleteUser(i) => Output::DeleteUser(users::delete(s, scope, &i)?),
                Input::CreateACL(i) => Output::CreateACL(acls::create(s, scope, &i)?),
                Input::DescribeACLs(i) => Output::DescribeACLs(acls::describe(s, scope, &i)?),
                Input::UpdateACL(i) => Output::UpdateACL(acls::update(s, scope, &i)?),
                Input::DeleteACL(i) => Output::DeleteACL(acls::delete(s, scope, &i)?),
                Input::CreateCluster(i) => Output::CreateCluster(clusters::create(s, &env, &i)?),
                Input::DescribeClusters(i) => {
                    Output::DescribeClusters(clusters::describe(s, &env, &i)?)
                }
                Input::UpdateCluster(i) => Output::UpdateCluster(clusters::update(s, &env, &i)?),
                Input::DeleteCluster(i) => Output::DeleteCluster(clusters::delete(s, &env, &i)?),
                Input::FailoverShard(i) => {
                    Output::FailoverShard(clusters::failover_shard(s, &env, &i)?)
                }
                Input::CreateSnapshot(i) => Output::CreateSnapshot(snapshots::create(s, &env, &i)?),
                Input::DescribeSnapshots(i) => {
                    Output::DescribeSnapshots(snapshots::describe(s, &env, &i)?)
                }
                Input::CopySnapshot(i) => Output::CopySnapshot(snapshots::copy(s, &env, &i)?),
                Input::DeleteSnapshot(i) => Output::DeleteSnapshot(snapshots::delete(s, &env, &i)?),
                Input::ListTags(i) => Output::ListTags(tags::list(s, scope, &i)?),
                Input::TagResource(i) => Output::TagResource(tags::tag(s, scope, &i)?),
                Input::UntagResource(i) => Output::UntagResource(tags::untag(s, scope, &i)?),
            })
        })
        .map_err(|e: Error| service_error(e.code(), e.status(), e.to_string()))
}

/// The cluster and shard (numbered from 0) a FailoverShard call names.
#[must_use]
pub fn failover_of(input: &Input) -> Option<(String, usize)> {
    match input {
        Input::FailoverShard(i) => {
            let shard = i.shard_name.parse::<usize>().ok()?.checked_sub(1)?;
            Some((lookup_name(&i.cluster_name), shard))
        }
        _ => None,
    }
}

/// Fails a shard over once FailoverShard was accepted: a replica takes over its
/// primary's slots, with every write the primary acknowledged, before the call is
/// answered.
///
/// # Errors
/// `InvalidClusterStateFault` when the cluster's servers cannot fail over.
pub async fn fail_over(
    api: &Api,
    scope: &Scope,
    cluster: &str,
    shard: usize,
) -> Result<(), Failure> {
    if api.engines.redis.binary().is_none() {
        return Ok(());
    }
    api.engines
        .redis
        .failover(scope, cluster, shard)
        .await
        .map_err(|e| {
            let error = Error::InvalidClusterState(format!("The shard cannot fail over: {e}."));
            service_error(error.code(), error.status(), error.to_string())
        })
}

json_encoding!();

/// Runs one operation on a JSON body and answers the JSON body of its output, without
/// waiting for the log or the engines (for checks of the codec and the service alone).
///
/// # Errors
/// The protocol or service error to answer with.
pub fn call(
    api: &Api,
    ctx: &RequestContext,
    operation_name: &str,
    body: &[u8],
    commit: &mut Commit,
) -> Result<Vec<u8>, Failure> {
    let input = operation(operation_name)?.decode(JsonBody(body))?;
    execute(api, ctx, input, commit).map(|output| encode(&output))
}
