//! HTTP: the accept loop and its limits ([`net`]), and the axum [`Router`] that serves
//! every request: the admin endpoints as routes, and every AWS call through one handler.
//!
//! No request leaves without an AWS-shaped answer: bodies are read by hand (no axum
//! extractor rejections), unknown paths and methods get protocol errors, and a panic in a
//! handler becomes an `InternalFailure` in the request's protocol.

mod admin;
mod aws;
pub mod net;
pub mod reply;

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::any;
use futures_util::FutureExt;
use http_body_util::BodyExt;
use hyper::body::Body as HttpBody;

use crate::api::Api;
use crate::config::NetLimits;
use crate::protocol::Protocol;
use crate::protocol::context::new_request_id;
use crate::protocol::error::ProtocolError;
use crate::protocol::sigv4::Keys;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the handlers share.
#[derive(Debug)]
pub struct Shared {
    pub api: Api,
    pub max_body_bytes: usize,
    /// Connection, header and timeout limits.
    pub limits: NetLimits,
    /// The access keys of the credentials file (none without one).
    pub keys: Keys,
    /// Whether every AWS request must carry a valid SigV4 signature by one of `keys`.
    pub verify_sigv4: bool,
    /// The init file, read and applied again after a reset.
    pub init_file: Option<PathBuf>,
}

/// The whole server as an axum router, for [`net::serve`], for embedding memshift in
/// another axum application, or for driving it with `tower::ServiceExt::oneshot`.
pub fn router(shared: Arc<Shared>) -> Router {
    // Every AWS call goes to one service that holds the shared state itself: no
    // extractors to run, and its future is boxed once, by the router.
    let calls = Arc::clone(&shared);
    let aws = tower::service_fn(move |request: Request| {
        let shared = Arc::clone(&calls);
        async move { Ok::<_, Infallible>(aws::handle(&shared, request).await) }
    });
    Router::new()
        .route("/_memshift/health", any(admin::health))
        .route("/_localstack/health", any(admin::health))
        .route("/_memshift/reset", any(admin::reset))
        .route("/_memshift/clock", any(admin::clock))
        .route("/_memshift/ca.pem", any(admin::ca))
        .fallback_service(aws)
        .with_state(shared)
}

/// Answers one request through the router: for tests and tools that hold requests rather
/// than connections.
pub async fn respond<B>(shared: Arc<Shared>, request: axum::http::Request<B>) -> Response
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    use tower::ServiceExt;
    let request = request.map(axum::body::Body::new);
    match router(shared).oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Runs a handler's work; a panic becomes an `InternalFailure` in `protocol`.
async fn guarded<B: From<Vec<u8>>>(
    protocol: Protocol,
    work: impl Future<Output = axum::http::Response<B>>,
) -> axum::http::Response<B> {
    if let Ok(response) = AssertUnwindSafe(work).catch_unwind().await {
        response
    } else {
        let parts = ProtocolError::Internal("the request could not be completed".to_owned())
            .parts(protocol);
        reply::error_response(protocol, &parts, &new_request_id())
    }
}

/// How much of a refused body is read and dropped before the refusal: clients such as
/// boto3 and urllib send the whole body before they read the answer, and a connection
/// closed while they send loses the answer to a reset.
const DRAIN_LIMIT: usize = 64 << 20;

/// Reads the whole body, refusing more than `limit` bytes. A body over the limit is read
/// on (up to [`DRAIN_LIMIT`]) and dropped, so that its sender gets the refusal.
async fn read_body<B>(body: B, headers: &HeaderMap, limit: usize) -> Result<Bytes, ProtocolError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => {
            drain(body, DRAIN_LIMIT).await;
            return Err(ProtocolError::PayloadTooLarge(limit));
        }
        Some(_) => {}
        // A body of unknown length is read frame by frame, to drain it when it grows too
        // large.
        None => return read_unknown_length(body, limit).await,
    }
    let collected = http_body_util::Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ProtocolError::PayloadTooLarge(limit)
            } else {
                ProtocolError::Serialization("The request body could not be read.".to_owned())
            }
        })?;
    Ok(collected.to_bytes())
}

/// Reads and drops up to `bound` bytes of a body (or all of it).
async fn drain<B>(body: B, bound: usize)
where
    B: HttpBody<Data = Bytes>,
{
    let mut body = std::pin::pin!(body);
    let mut read = 0usize;
    while read <= bound {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
            _ => break,
        }
    }
}

/// Reads a body that did not declare its length, refusing (and draining) one over
/// `limit`.
async fn read_unknown_length<B>(body: B, limit: usize) -> Result<Bytes, ProtocolError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut collected = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            ProtocolError::Serialization("The request body could not be read.".to_owned())
        })?;
        if let Some(data) = frame.data_ref() {
            if collected.len() + data.len() > limit {
                drain(body, DRAIN_LIMIT).await;
                return Err(ProtocolError::PayloadTooLarge(limit));
            }
            collected.extend_from_slice(data);
        }
    }
    Ok(Bytes::from(collected))
}
