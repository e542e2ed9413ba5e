//! The Redshift errors memshift raises, with the wire codes of the model's `error.code`
//! traits (`ClusterNotFoundFault` is `ClusterNotFound` on the wire) and their statuses.

use axum::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("Cluster {0} not found.")]
    ClusterNotFound(String),
    #[error("Cluster already exists")]
    ClusterAlreadyExists,
    #[error("{0}")]
    InvalidClusterState(String),
    #[error("The request would exceed the allowed number of clusters ({0}) for this account.")]
    ClusterQuotaExceeded(usize),
    #[error("Insufficient capacity: {0}.")]
    InsufficientClusterCapacity(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    InvalidTag(String),
    #[error("You have exceeded the number of tags allowed ({0}) for the resource.")]
    TagLimitExceeded(usize),
    #[error("{0}")]
    UnsupportedOperation(String),
    #[error("{0}")]
    CustomCnameAssociation(String),
    #[error("{0}")]
    CustomDomainAssociationNotFound(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    InvalidParameterCombination(String),
    #[error("The request must contain the parameter {0}.")]
    MissingParameter(&'static str),
}

impl Error {
    /// The model's code for the exception, as the wire names it.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::ClusterNotFound(_) => "ClusterNotFound",
            Error::ClusterAlreadyExists => "ClusterAlreadyExists",
            Error::InvalidClusterState(_) => "InvalidClusterState",
            Error::ClusterQuotaExceeded(_) => "ClusterQuotaExceeded",
            Error::InsufficientClusterCapacity(_) => "InsufficientClusterCapacity",
            Error::ResourceNotFound(_) => "ResourceNotFoundFault",
            Error::InvalidTag(_) => "InvalidTagFault",
            Error::TagLimitExceeded(_) => "TagLimitExceededFault",
            Error::UnsupportedOperation(_) => "UnsupportedOperation",
            Error::CustomCnameAssociation(_) => "CustomCnameAssociationFault",
            Error::CustomDomainAssociationNotFound(_) => "CustomDomainAssociationNotFoundFault",
            Error::InvalidParameterValue(_) => "InvalidParameterValue",
            Error::InvalidParameterCombination(_) => "InvalidParameterCombination",
            Error::MissingParameter(_) => "MissingParameter",
        }
    }

    /// The HTTP status the service answers it with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Error::ClusterNotFound(_)
            | Error::ResourceNotFound(_)
            | Error::CustomDomainAssociationNotFound(_) => StatusCode::NOT_FOUND,
            Error::ClusterAlreadyExists
            | Error::InvalidClusterState(_)
            | Error::ClusterQuotaExceeded(_)
            | Error::InsufficientClusterCapacity(_)
            | Error::InvalidTag(_)
            | Error::TagLimitExceeded(_)
            | Error::UnsupportedOperation(_)
            | Error::CustomCnameAssociation(_)
            | Error::InvalidParameterValue(_)
            | Error::InvalidParameterCombination(_)
            | Error::MissingParameter(_) => StatusCode::BAD_REQUEST,
        }
    }
}

pub fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameterValue(message.into())
}

pub fn combination(message: impl Into<String>) -> Error {
    Error::InvalidParameterCombination(message.into())
}
