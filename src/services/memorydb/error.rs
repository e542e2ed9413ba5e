//! The MemoryDB exceptions of the model, with their wire codes and statuses.
//!
//! The code is the exception shape's name; 404 for the not-found faults, 400 for every
//! other client fault (AWS's Smithy model for MemoryDB).

use axum::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("User {0} not found.")]
    UserNotFound(String),
    #[error("User {0} already exists.")]
    UserAlreadyExists(String),
    #[error("The quota of {0} users per region has been reached.")]
    UserQuotaExceeded(usize),
    #[error("Duplicate user name {0}.")]
    DuplicateUserName(String),
    #[error("User {0} is not in a state that allows this operation.")]
    InvalidUserState(String),
    #[error("ACL {0} not found.")]
    AclNotFound(String),
    #[error("ACL {0} already exists.")]
    AclAlreadyExists(String),
    #[error("The quota of {0} ACLs per region has been reached.")]
    AclQuotaExceeded(usize),
    #[error("{0}")]
    InvalidAclState(String),
    #[error("The default user is required in ACL {0}.")]
    DefaultUserRequired(String),
    #[error("{0}")]
    InvalidArn(String),
    #[error("Tag key {0} not found.")]
    TagNotFound(String),
    #[error("A resource can have at most {0} tags.")]
    TagQuotaPerResourceExceeded(usize),
    #[error("Cluster {0} not found.")]
    ClusterNotFound(String),
    #[error("Cluster {0} already exists.")]
    ClusterAlreadyExists(String),
    #[error("Snapshot {0} not found.")]
    SnapshotNotFound(String),
    #[error("Snapshot {0} already exists.")]
    SnapshotAlreadyExists(String),
    #[error("The quota of {0} snapshots per region has been reached.")]
    SnapshotQuotaExceeded(usize),
    #[error("{0}")]
    InvalidSnapshotState(String),
    #[error("{0}")]
    InvalidClusterState(String),
    #[error("Shard {0} not found.")]
    ShardNotFound(String),
    #[error("{0}")]
    TestFailoverNotAvailable(String),
    #[error("Subnet group {0} not found.")]
    SubnetGroupNotFound(String),
    #[error("Parameter group {0} not found.")]
    ParameterGroupNotFound(String),
    #[error("Multi-Region cluster {0} not found.")]
    MultiRegionClusterNotFound(String),
    #[error("Insufficient capacity: {0}.")]
    InsufficientClusterCapacity(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    InvalidParameterCombination(String),
}

impl Error {
    /// The model's code for the exception, as the wire names it.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::UserNotFound(_) => "UserNotFoundFault",
            Error::UserAlreadyExists(_) => "UserAlreadyExistsFault",
            Error::UserQuotaExceeded(_) => "UserQuotaExceededFault",
            Error::DuplicateUserName(_) => "DuplicateUserNameFault",
            Error::InvalidUserState(_) => "InvalidUserStateFault",
            Error::AclNotFound(_) => "ACLNotFoundFault",
            Error::AclAlreadyExists(_) => "ACLAlreadyExistsFault",
            Error::AclQuotaExceeded(_) => "ACLQuotaExceededFault",
            Error::InvalidAclState(_) => "InvalidACLStateFault",
            Error::DefaultUserRequired(_) => "DefaultUserRequired",
            Error::InvalidArn(_) => "InvalidARNFault",
            Error::TagNotFound(_) => "TagNotFoundFault",
            Error::TagQuotaPerResourceExceeded(_) => "TagQuotaPerResourceExceeded",
            Error::ClusterNotFound(_) => "ClusterNotFoundFault",
            Error::ClusterAlreadyExists(_) => "ClusterAlreadyExistsFault",
            Error::SnapshotNotFound(_) => "SnapshotNotFoundFault",
            Error::SnapshotAlreadyExists(_) => "SnapshotAlreadyExistsFault",
            Error::SnapshotQuotaExceeded(_) => "SnapshotQuotaExceededFault",
            Error::InvalidSnapshotState(_) => "InvalidSnapshotStateFault",
            Error::InvalidClusterState(_) => "InvalidClusterStateFault",
            Error::ShardNotFound(_) => "ShardNotFoundFault",
            Error::TestFailoverNotAvailable(_) => "TestFailoverNotAvailableFault",
            Error::SubnetGroupNotFound(_) => "SubnetGroupNotFoundFault",
            Error::ParameterGroupNotFound(_) => "ParameterGroupNotFoundFault",
            Error::MultiRegionClusterNotFound(_) => "MultiRegionClusterNotFoundFault",
            Error::InsufficientClusterCapacity(_) => "InsufficientClusterCapacityFault",
            Error::InvalidParameterValue(_) => "InvalidParameterValueException",
            Error::InvalidParameterCombination(_) => "InvalidParameterCombinationException",
        }
    }

    /// The HTTP status the service answers it with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Error::UserNotFound(_)
            | Error::AclNotFound(_)
            | Error::TagNotFound(_)
            | Error::ClusterNotFound(_)
            | Error::SnapshotNotFound(_)
            | Error::ShardNotFound(_)
            | Error::SubnetGroupNotFound(_)
            | Error::ParameterGroupNotFound(_)
            | Error::MultiRegionClusterNotFound(_) => StatusCode::NOT_FOUND,
            Error::UserAlreadyExists(_)
            | Error::ClusterAlreadyExists(_)
            | Error::SnapshotAlreadyExists(_)
            | Error::SnapshotQuotaExceeded(_)
            | Error::InvalidSnapshotState(_)
            | Error::InvalidClusterState(_)
            | Error::TestFailoverNotAvailable(_)
            | Error::UserQuotaExceeded(_)
            | Error::DuplicateUserName(_)
            | Error::InvalidUserState(_)
            | Error::AclAlreadyExists(_)
            | Error::AclQuotaExceeded(_)
            | Error::InvalidAclState(_)
            | Error::DefaultUserRequired(_)
            | Error::InvalidArn(_)
            | Error::TagQuotaPerResourceExceeded(_)
            | Error::InsufficientClusterCapacity(_)
            | Error::InvalidParameterValue(_)
            | Error::InvalidParameterCombination(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// Shorthand for the two parameter errors, which carry free text.
pub fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameterValue(message.into())
}

pub fn combination(message: impl Into<String>) -> Error {
    Error::InvalidParameterCombination(message.into())
}
