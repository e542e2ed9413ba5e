//! Answers as HTTP responses: the status, the content type of the protocol, the request
//! id, and for JSON errors the `x-amzn-ErrorType` header.
//!
//! The AWS answers are built over any body made from their bytes: [`Whole`] for the
//! connections memshift serves itself, axum's `Body` for the router.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, header};
use axum::response::{IntoResponse, Response as AxumResponse};
use hyper::body::{Body, Frame, SizeHint};

use crate::protocol::error::ErrorParts;
use crate::protocol::{Protocol, json, query};

/// `x-amzn-RequestId`, as HTTP/1.1 sends every header name: in lowercase.
static REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
/// `x-amzn-ErrorType`.
static ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");

/// A success in the given protocol.
#[must_use]
pub fn success<B: From<Vec<u8>>>(
    protocol: Protocol,
    body: Vec<u8>,
    request_id: &str,
) -> Response<B> {
    let content_type = match protocol {
        Protocol::Json => json::CONTENT_TYPE,
        Protocol::Query => query::CONTENT_TYPE,
    };
    with_headers(StatusCode::OK, content_type, body, request_id)
}

/// An error answer in the given protocol.
#[must_use]
pub fn error_response<B: From<Vec<u8>>>(
    protocol: Protocol,
    parts: &ErrorParts,
    request_id: &str,
) -> Response<B> {
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
pub fn json_error<B: From<Vec<u8>>>(parts: &ErrorParts, request_id: &str) -> Response<B> {
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
pub fn admin_json(body: String) -> AxumResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// A `200` of an admin endpoint that answers a file.
#[must_use]
pub fn with_content_type(content_type: &'static str, body: Vec<u8>) -> AxumResponse {
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn with_headers<B: From<Vec<u8>>>(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    request_id: &str,
) -> Response<B> {
    // Built directly: a body converted with `into_response` gets a content type first,
    // only to have it replaced. Room for the error type too, so no insert grows the map.
    let mut response = Response::new(B::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    *headers = HeaderMap::with_capacity(3);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID.clone(), id);
    }
    response
}

/// The body of an answer: its bytes in one buffer, sent in one frame.
#[derive(Debug)]
pub struct Whole(Option<Bytes>);

impl From<Vec<u8>> for Whole {
    fn from(bytes: Vec<u8>) -> Self {
        // A boxed slice becomes `Bytes` as it is, where a `Vec` with spare room would need
        // a second allocation to share it; the allocator shrinks the buffer in place.
        Whole(Some(Bytes::from(bytes.into_boxed_slice())))
    }
}

impl Body for Whole {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.get_mut()
                .0
                .take()
                .filter(|b| !b.is_empty())
                .map(|b| Ok(Frame::data(b))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.0.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}
