//! Amazon MemoryDB users, ACLs and tags over AWS JSON 1.1.
//!
//! ```text
//! X-Amz-Target: AmazonMemoryDB.CreateUser
//! {"UserName":"alice","AuthenticationMode":{"Type":"password","Passwords":["..."]},"AccessString":"on ~* +@all"}
//! -> {"User":{"Name":"alice","Status":"active","AccessString":"on ~* resetchannels +@all",...}}
//! ```
//!
//! Every operation of the model is recognised; those memshift does not emulate answer a
//! `NotImplemented` error naming the operation.

pub mod access_string;
pub mod acls;
pub mod clusters;
pub mod error;
pub mod model;
pub mod store;
pub mod tags;
pub mod users;
pub mod validate;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::context::{RequestContext, Scope};
use crate::protocol::error::{Failure, ProtocolError, ServiceError};
use crate::protocol::json;
use crate::state::AppState;
use crate::state::persist::Commit;
pub use error::Error;
pub use store::Store;

/// The `X-Amz-Target` prefix of MemoryDB.
pub const TARGET_PREFIX: &str = "AmazonMemoryDB";
pub const SERVICE_NAME: &str = "MemoryDB";
/// The name requests are signed for (the service of the SigV4 credential scope).
pub const SIGNING_NAME: &str = "memorydb";

/// Every operation of the MemoryDB model (`memorydb/2021-01-01`).
pub const OPERATIONS: &[&str] = &[
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

/// Runs one MemoryDB operation on a JSON body and answers the JSON body of its output.
///
/// # Errors
/// The protocol or service error to answer with.
pub fn call(
    state: &AppState,
    ctx: &RequestContext,
    operation: &str,
    body: &[u8],
    commit: &mut Commit,
) -> Result<Vec<u8>, Failure> {
    match operation {
        "CreateUser" => {
            let quota = state.settings().memorydb_user_quota;
            exec(state, &ctx.scope, body, commit, |s, sc, i| {
                users::create(s, sc, &i, quota)
            })
        }
        "DescribeUsers" => exec(state, &ctx.scope, body, commit, |s, sc, i| {
            users::describe(s, sc, &i)
        }),
        "UpdateUser" => exec(state, &ctx.scope, body, commit, |s, sc, i| {
            users::update(s, sc, &i)
        }),
        "DeleteUser" => exec(state, &ctx.scope, body, commit, |s, sc, i| {
            users::delete(s, sc, &i)
        }),
        "CreateACL" => exec(state, &ctx.scope, body, commit, |s, sc, i| {
            acls::create(s, sc, &i)
        }),
        "DescribeACLs" => exec(state, &ctx.scope, body, commit, |s, sc, i| {
            acls::describe(s, sc, &i)
        }),
        "UpdateACL" => exec(state, &ctx.scope, body, commit, |s, sc, i| {
            acls::update(s, sc, &i)
        }),
        "DeleteACL" => exec(state, &ctx.scope, body, commit, |s, sc, i| {
            acls::delete(s, sc, &i)
        }),
        "CreateCluster" => exec_clusters(state, ctx, body, commit, clusters::create),
        "DescribeClusters" => exec_clusters(state, ctx, body, commit, clusters::describe_mut),
        "UpdateCluster" => exec_clusters(state, ctx, body, commit, clusters::update),
        "DeleteCluster" => exec_clusters(state, ctx, body, commit, clusters::delete),
        "ListTags" => exec(state, &ctx.scope, body, commit, |s, sc, i| {
            tags::list(s, sc, &i)
        }),
        "TagResource" => exec(state, &ctx.scope, body, commit, |s, sc, i| {
            tags::tag(s, sc, &i)
        }),
        "UntagResource" => exec(state, &ctx.scope, body, commit, |s, sc, i| {
            tags::untag(s, sc, &i)
        }),
        other => Err(unknown_or_unimplemented(other).into()),
    }
}

/// The cluster operations: like [`exec`], with the clock, the creation delay and the
/// ports of the clusters' Redis servers.
fn exec_clusters<I, O>(
    state: &AppState,
    ctx: &RequestContext,
    body: &[u8],
    commit: &mut Commit,
    op: impl FnOnce(&mut Store, &clusters::ClusterEnv<'_>, &I) -> Result<O, Error>,
) -> Result<Vec<u8>, Failure>
where
    I: DeserializeOwned,
    O: Serialize,
{
    let input: I = json::decode(body)?;
    let port_of = |name: &str| state.redis.port(&ctx.scope, name);
    let new_port = || {
        state
            .redis
            .binary()
            .and_then(|_| crate::engines::free_port().ok())
    };
    let env = clusters::ClusterEnv {
        new_port: &new_port,
        scope: &ctx.scope,
        now: state.clock().now(),
        creation_delay: state.settings().cluster_creation_delay,
        port_of: &port_of,
    };
    let output = state
        .mutate(&ctx.scope, commit, |region| {
            op(&mut region.memorydb, &env, &input)
        })
        .map_err(|e| Failure::Service(e.parts()))?;
    Ok(json::encode(&output))
}

/// Operations after which a cluster's server may hold the wrong users.
const CHANGE_CLUSTERS: &[&str] = &[
    "UpdateUser",
    "DeleteUser",
    "UpdateACL",
    "DeleteACL",
    "CreateCluster",
    "UpdateCluster",
    "DeleteCluster",
];

/// After a successful operation, brings the region's Redis servers in line with its
/// clusters and their ACLs' users, before the caller is answered.
pub async fn reconcile_after(state: &AppState, scope: &Scope, operation: &str) {
    if !CHANGE_CLUSTERS.contains(&operation) {
        return;
    }
    reconcile(state, scope).await;
}

/// Brings the region's Redis servers in line with its clusters (at start-up too).
pub async fn reconcile(state: &AppState, scope: &Scope) {
    if state.redis.binary().is_none() {
        return;
    }
    state
        .redis
        .reconcile(scope, || {
            state.read(scope, |region| clusters::desired(&region.memorydb))
        })
        .await;
}

/// Decodes the input, runs the operation under the region's lock, and encodes the output
/// once the lock is released. A failed operation has changed nothing: every operation
/// checks all its input before it mutates.
fn exec<I, O>(
    state: &AppState,
    scope: &Scope,
    body: &[u8],
    commit: &mut Commit,
    op: impl FnOnce(&mut Store, &Scope, I) -> Result<O, Error>,
) -> Result<Vec<u8>, Failure>
where
    I: DeserializeOwned,
    O: Serialize,
{
    let input = json::decode(body)?;
    let output = state
        .mutate(scope, commit, |region| {
            op(&mut region.memorydb, scope, input)
        })
        .map_err(|e| Failure::Service(e.parts()))?;
    Ok(json::encode(&output))
}

/// The error for an operation name memshift does not serve.
#[must_use]
pub fn unknown_or_unimplemented(operation: &str) -> ProtocolError {
    if OPERATIONS.contains(&operation) {
        ProtocolError::NotImplemented {
            service: SERVICE_NAME,
            operation: operation.to_owned(),
        }
    } else {
        ProtocolError::UnknownOperation(format!(
            "Operation {operation} is not an operation of {SERVICE_NAME}."
        ))
    }
}
