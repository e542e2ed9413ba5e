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
