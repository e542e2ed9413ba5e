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
    if declared.is_some_and(|n| n > limit as u64) {
        drain(body, DRAIN_LIMIT).await;
        return Err(ProtocolError::PayloadTooLarge(limit));
    }
    read_frames(body, limit).await
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

/// Reads a body frame by frame, refusing (and draining) one over `limit` whether or not
/// it declared its length. A body that comes in one frame, as most do, is kept as it
/// came; only one in several frames is copied into one buffer.
async fn read_frames<B>(body: B, limit: usize) -> Result<Bytes, ProtocolError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut read = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            ProtocolError::Serialization("The request body could not be read.".to_owned())
        })?;
        // Trailers carry nothing an AWS call reads.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        read += data.len();
        if read > limit {
            drain(body, DRAIN_LIMIT).await;
            return Err(ProtocolError::PayloadTooLarge(limit));
        }
        if first.is_none() && joined.is_empty() {
            first = Some(data);
        } else {
            if let Some(first) = first.take() {
                joined.extend_from_slice(&first);
            }
            joined.extend_from_slice(&data);
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}
