//! Answers as HTTP responses: the status, the content type of the protocol, the request
//! id, and for JSON errors the `x-amzn-ErrorType` header.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::protocol::error::ErrorParts;
use crate::protocol::{Protocol, json, query};

/// `x-amzn-RequestId`, as HTTP/1.1 sends every header name: in lowercase.
static REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
/// `x-amzn-ErrorType`.
static ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");

/// A success in the given protocol.
#[must_use]
pub fn success(protocol: Protocol, body: Vec<u8>, request_id: &str) -> Response {
    let content_type = match protocol {
        Protocol::Json => json::CONTENT_TYPE,
        Protocol::Query => query::CONTENT_TYPE,
    };
    with_headers(StatusCode::OK, content_type, body, request_id)
}

/// An error answer in the given protocol.
#[must_use]
pub fn error_response(protocol: Protocol, parts: &ErrorParts, request_id: &str) -> Response {
    match protocol {
        Protocol::Json => json_error(parts, request_id),
        Protocol::Query => {
            let body = query::encode_error(parts, request_id, query::REDSHIFT_NAMESPACE);
            with_headers(parts.status, query::CONTENT_TYPE, body, request_id)
        }
    }
}

/// An error answer in AWS JSON 1.1.
#[must_use]
pub fn json_error(parts: &ErrorParts, request_id: &str) -> Response {
    let mut response = with_headers(
        parts.status,
        json::CONTENT_TYPE,
        json::encode_error(parts),
        request_id,
    );
    response
        .headers_mut()
        .insert(ERROR_TYPE.clone(), HeaderValue::from_static(parts.code));
    response
}

/// A JSON document of the admin endpoints.
#[must_use]
pub fn admin_json(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// A `200` of an admin endpoint that answers a file.
#[must_use]
pub fn with_content_type(content_type: &'static str, body: Vec<u8>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn with_headers(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    request_id: &str,
) -> Response {
    // Built directly: a body converted with `into_response` gets a content type first,
    // only to have it replaced.
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID.clone(), id);
    }
    response
}
