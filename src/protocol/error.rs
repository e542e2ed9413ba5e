//! Errors raised before any service runs, and the wire-neutral shape every error takes.
//!
//! Each service keeps its own error enum with the model's exceptions; this module holds
//! the framework errors (unknown operation, malformed body, oversized body...) and the
//! [`ErrorParts`] that the JSON and Query encoders turn into bytes, whichever error it was.

use axum::http::StatusCode;

use super::Protocol;

/// Who is to blame, as the AWS Query `<Type>` element says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Sender,
    Receiver,
}

impl Fault {
    /// Receiver for faults of the server (5xx), Sender for the caller's.
    #[must_use]
    pub fn of(status: StatusCode) -> Self {
        if status.is_server_error() {
            Fault::Receiver
        } else {
            Fault::Sender
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Sender => "Sender",
            Fault::Receiver => "Receiver",
        }
    }
}

/// An error as the encoders see it: wire code, HTTP status, fault and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorParts {
    pub code: &'static str,
    pub status: StatusCode,
    pub fault: Fault,
    pub message: String,
}

impl ErrorParts {
    /// An error with its code, status and message; the fault follows the status.
    #[must_use]
    pub fn new(code: &'static str, status: StatusCode, message: String) -> Self {
        ErrorParts {
            code,
            status,
            fault: Fault::of(status),
            message,
        }
    }
}

/// Errors of the framework: they happen before a service's business rules are reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The target or action names no operation of the service.
    #[error("{0}")]
    UnknownOperation(String),
    /// The body could not be read as the protocol's document, or a member had the wrong type.
    #[error("{0}")]
    Serialization(String),
    /// A member the model marks as required is absent.
    #[error("The request must contain the parameter {0}.")]
    MissingParameter(String),
    /// A member is present but its value is not acceptable to the codec.
    #[error("{0}")]
    InvalidParameterValue(String),
    /// The body is larger than the server accepts.
    #[error("Request body of more than {0} bytes is not accepted.")]
    PayloadTooLarge(usize),
    /// The request's header section is larger than the server accepts.
    #[error("Request headers of more than {0} bytes are not accepted.")]
    HeadersTooLarge(usize),
    /// The body did not arrive within the time the server waits for it.
    #[error("The request body was not received within {0} seconds.")]
    RequestTimeout(u64),
    /// The server holds as many connections as it accepts.
    #[error("The server holds its maximum of {0} connections; retry shortly.")]
    TooManyConnections(usize),
    /// Neither an `X-Amz-Target` header nor an `Action` parameter.
    #[error(
        "Unrecognized request: expected an X-Amz-Target header (AWS JSON 1.1) or a form body with an Action parameter (AWS Query)."
    )]
    Unrecognized,
    /// An operation of the model that memshift does not emulate.
    #[error("The operation {operation} of {service} is not implemented by memshift.")]
    NotImplemented {
        service: &'static str,
        operation: String,
    },
    /// A path or method the server does not serve.
    #[error("No resource at {method} {path}.")]
    NoRoute { method: String, path: String },
    /// A bug of the server: never the caller's fault.
    #[error("An internal error occurred: {0}")]
    Internal(String),
}

impl ProtocolError {
    /// The error in the shape the given protocol uses for it.
    #[must_use]
    pub fn parts(&self, protocol: Protocol) -> ErrorParts {
        let json = protocol == Protocol::Json;
        let (code, status) = match self {
            ProtocolError::Unrecognized if !json => ("MissingAction", StatusCode::BAD_REQUEST),
            ProtocolError::UnknownOperation(_) | ProtocolError::Unrecognized => (
                if json {
                    "UnknownOperationException"
                } else {
                    "InvalidAction"
                },
                StatusCode::BAD_REQUEST,
            ),
            ProtocolError::Serialization(_) => (
                if json {
                    "SerializationException"
                } else {
                    "MalformedQueryString"
                },
                StatusCode::BAD_REQUEST,
            ),
            ProtocolError::MissingParameter(_) => (
                if json {
                    "InvalidParameterValueException"
                } else {
                    "MissingParameter"
                },
                StatusCode::BAD_REQUEST,
            ),
            ProtocolError::InvalidParameterValue(_) => (
                if json {
                    "InvalidParameterValueException"
                } else {
                    "InvalidParameterValue"
                },
                StatusCode::BAD_REQUEST,
            ),
            ProtocolError::PayloadTooLarge(_) => {
                ("RequestEntityTooLarge", StatusCode::PAYLOAD_TOO_LARGE)
            }
            ProtocolError::HeadersTooLarge(_) => (
                "RequestHeaderFieldsTooLarge",
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ),
            ProtocolError::RequestTimeout(_) => ("RequestTimeout", StatusCode::REQUEST_TIMEOUT),
            ProtocolError::TooManyConnections(_) => {
                ("ServiceUnavailable", StatusCode::SERVICE_UNAVAILABLE)
            }
            ProtocolError::NotImplemented { .. } => ("NotImplemented", StatusCode::BAD_REQUEST),
            ProtocolError::NoRoute { .. } => (
                if json {
                    "UnknownOperationException"
                } else {
                    "InvalidAction"
                },
                StatusCode::NOT_FOUND,
            ),
            ProtocolError::Internal(_) => ("InternalFailure", StatusCode::INTERNAL_SERVER_ERROR),
        };
        ErrorParts::new(code, status, self.to_string())
    }
}

/// Either kind of failure a call can end in.
#[derive(Debug)]
pub enum Failure {
    Protocol(ProtocolError),
    Service(ErrorParts),
}

impl Failure {
    #[must_use]
    pub fn parts(&self, protocol: Protocol) -> ErrorParts {
        match self {
            Failure::Protocol(e) => e.parts(protocol),
            Failure::Service(p) => p.clone(),
        }
    }
}

impl From<ProtocolError> for Failure {
    fn from(e: ProtocolError) -> Self {
        Failure::Protocol(e)
    }
}
