//! The Redshift Data API errors memshift raises: client errors with HTTP 400 (as the
//! service answers even `ResourceNotFoundException`), a database it cannot reach with 500.

use axum::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ActiveSessionsExceeded(String),
    #[error("{0}")]
    DatabaseConnection(String),
}

impl Error {
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation(_) => "ValidationException",
            Error::ResourceNotFound(_) => "ResourceNotFoundException",
            Error::ActiveSessionsExceeded(_) => "ActiveSessionsExceededException",
            Error::DatabaseConnection(_) => "DatabaseConnectionException",
        }
    }

    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Error::DatabaseConnection(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// `Query does not exist.`, for an id that names no statement (or one whose results
    /// are gone).
    #[must_use]
    pub fn no_such_query() -> Self {
        Error::ResourceNotFound("Query does not exist.".to_owned())
    }
}

/// A `ValidationException`.
pub fn invalid(message: impl Into<String>) -> Error {
    Error::Validation(message.into())
}
