//! The Redshift Serverless errors memshift raises. The model's codes are the shapes'
//! names; every client error is answered with HTTP 400, as the service does (its API
//! reference gives 400 even for `ResourceNotFoundException`).

use axum::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyTags(String),
    #[error("{0}")]
    InsufficientCapacity(String),
    #[error("{0}")]
    InvalidPagination(String),
}

impl Error {
    /// The model's code for the exception.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation(_) => "ValidationException",
            Error::ResourceNotFound(_) => "ResourceNotFoundException",
            Error::Conflict(_) => "ConflictException",
            Error::TooManyTags(_) => "TooManyTagsException",
            Error::InsufficientCapacity(_) => "InsufficientCapacityException",
            Error::InvalidPagination(_) => "InvalidPaginationException",
        }
    }

    /// The HTTP status the service answers it with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    /// `Serverless namespace <name> not found.`
    #[must_use]
    pub fn namespace_not_found(name: &str) -> Self {
        Error::ResourceNotFound(format!("Serverless namespace {name} not found."))
    }

    /// `Serverless workgroup <name> not found.`
    #[must_use]
    pub fn workgroup_not_found(name: &str) -> Self {
        Error::ResourceNotFound(format!("Serverless workgroup {name} not found."))
    }
}

/// A `ValidationException`.
pub fn invalid(message: impl Into<String>) -> Error {
    Error::Validation(message.into())
}
