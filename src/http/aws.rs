//! The one handler of every AWS call: limits, body, signature, protocol detection, then
//! the API layer decodes, runs and encodes; the answer goes out in the request's
//! protocol.

use std::future::Future;
use std::task::Poll;
use std::time::Instant;

use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{Method, Request, Response};
use hyper::body::Body;

use super::reply::Whole;
use super::{BoxError, Shared, guarded, read_body, reply};
use crate::api::context::context_from;
use crate::api::{self, Service};
use crate::protocol::error::{Failure, ProtocolError};
use crate::protocol::sigv4::{self, AuthError, Keys, Signed};
use crate::protocol::{Protocol, X_AMZ_TARGET, detect, json, protocol_hint, query};

/// Answers an AWS call (`POST /` or `GET /`), and any other path or method with the
/// protocol's no-route error.
pub async fn handle<B>(shared: &Shared, request: Request<B>) -> Response<Whole>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let hint = protocol_hint(request.headers());
    // Boxed here, so that the large state of `answer` is not copied as the futures that
    // hold it are moved into place.
    guarded(hint, Box::pin(answer(shared, request, hint))).await
}

/// What the request log says of an answered call.
struct Logged {
    service: &'static str,
    operation: std::borrow::Cow<'static, str>,
}

const NOTHING: Logged = Logged {
    service: "-",
    operation: std::borrow::Cow::Borrowed("-"),
};

/// `hint`: the protocol the request's headers point to, for answers given before its
/// body is read.
async fn answer<B>(shared: &Shared, request: Request<B>, hint: Protocol) -> Response<Whole>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let started = tracing::enabled!(tracing::Level::INFO).then(Instant::now);
    let (parts, body) = request.into_parts();
    let presigned = parts
        .uri
        .query()
        .and_then(|q| query::parse_form(q.as_bytes()).ok())
        .and_then(|params| params.into_iter().find(|(k, _)| k == "X-Amz-Credential"))
        .map(|(_, v)| v);
    let mut ctx = context_from(
        &parts.headers,
        presigned.as_deref(),
        shared.api.state.defaults(),
    );
    // A key of the credentials file belongs to the account the file gives it.
    if let Some(key) = ctx
        .access_key_id
        .as_deref()
        .and_then(|id| shared.keys.get(id))
    {
        ctx.scope.account.clone_from(&key.account);
    }
    let limits = &shared.limits;
    let (logged, response) = if parts.uri.path() != "/"
        || !(parts.method == Method::POST || parts.method == Method::GET)
    {
        let error = ProtocolError::NoRoute {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
        };
        (NOTHING, failed(hint, &error.into(), &ctx.request_id))
    } else if header_bytes(&parts) > limits.max_header_bytes {
        let error = ProtocolError::HeadersTooLarge(limits.max_header_bytes);
        (NOTHING, failed(hint, &error.into(), &ctx.request_id))
    } else {
        let read = read_body(body, &parts.headers, shared.max_body_bytes);
        let mut read = std::pin::pin!(read);
        // Most bodies are in hand with their headers; only a body still on its way is
        // raced against the timeout (which costs a timer).
        let ready = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
        let read = match ready {
            Poll::Ready(result) => Ok(result),
            Poll::Pending => tokio::time::timeout(limits.body_read_timeout, read).await,
        };
        match read {
            Err(_) => {
                let error = ProtocolError::RequestTimeout(limits.body_read_timeout.as_secs());
                (NOTHING, failed(hint, &error.into(), &ctx.request_id))
            }
            Ok(Err(e)) => (NOTHING, failed(hint, &e.into(), &ctx.request_id)),
            Ok(Ok(bytes))
                if shared.verify_sigv4
                    && let Err(e) = check_signature(&shared.keys, &parts, &bytes) =>
            {
                let failure = Failure::Service(e.parts(hint));
                (NOTHING, failed(hint, &failure, &ctx.request_id))
            }
            Ok(Ok(bytes)) => {
                let detected = detect(&parts.method, &parts.headers, parts.uri.query(), &bytes);
                let decoded = api::decode(detected, &bytes);
                let logged = Logged {
                    service: decoded.service.map_or("-", Service::name),
                    operation: decoded.operation,
                };
                let protocol = decoded.protocol;
                let result = match decoded.call {
                    Ok(call) => shared.api.run(&ctx, call).await,
                    Err(failure) => Err(failure),
                };
                let response = match result {
                    Ok(body) => reply::success(protocol, body, &ctx.request_id),
                    Err(failure) => failed(protocol, &failure, &ctx.request_id),
                };
                (logged, response)
            }
        }
    };
    tracing::info!(
        request_id = %ctx.request_id,
        account = %ctx.scope.account,
        region = %ctx.scope.region,
        service = logged.service,
        operation = %logged.operation,
        status = response.status().as_u16(),
        micros = started.map_or(0, |t| u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)),
        "request"
    );
    response
}

fn failed(protocol: Protocol, failure: &Failure, request_id: &str) -> Response<Whole> {
    reply::error_response(protocol, &failure.parts(protocol), request_id)
}

/// Checks the request's SigV4 signature against the credentials file, with the real
/// clock (moving memshift's clock for tests does not make signatures stale).
fn check_signature(keys: &Keys, parts: &Parts, body: &[u8]) -> Result<(), AuthError> {
    let services: &[&str] = if let Some(target) = parts.headers.get(&X_AMZ_TARGET) {
        let prefix = target
            .to_str()
            .ok()
            .and_then(json::split_target)
            .map(|(prefix, _)| prefix);
        match prefix {
            Some(api::serverless::TARGET_PREFIX) => &[api::serverless::SIGNING_NAME],
            Some(api::data::TARGET_PREFIX) => &[api::data::SIGNING_NAME],
            _ => &[api::memorydb::SIGNING_NAME],
        }
    } else if protocol_hint(&parts.headers) == Protocol::Query {
        &[api::redshift::SIGNING_NAME]
    } else {
        &[api::memorydb::SIGNING_NAME, api::redshift::SIGNING_NAME]
    };
    let request = Signed {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers: &parts.headers,
        body,
    };
    sigv4::verify(&request, keys, services, chrono::Utc::now()).map(drop)
}

/// The size of a request's header section as it came on the wire: request line, and
/// each header's name, value and separators.
fn header_bytes(parts: &Parts) -> usize {
    let target = parts.uri.path_and_query().map_or(1, |pq| pq.as_str().len());
    let line = parts.method.as_str().len() + target + 12;
    parts.headers.iter().fold(line, |n, (name, value)| {
        n + name.as_str().len() + value.len() + 4
    })
}
