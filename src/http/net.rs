//! The accept loop: HTTP/1.1 connections served by hyper, under limits that keep one
//! client from starving the others. AWS calls go straight to their handler; the admin
//! endpoints (paths under `/_`) through the axum router, which answers every request the
//! same way.
//!
//! - At most `max_connections` connections are served at once. One more gets a
//!   `503 ServiceUnavailable` in the protocol its request speaks, and is closed; past a
//!   few dozen of those at once, extra connections are closed unanswered.
//! - A connection that completes no request's headers for `header_read_timeout` (up to
//!   a quarter more) while nothing is being served for it is closed: a stalled client, or
//!   an idle keep-alive connection. The body has its own timeout, enforced where it is
//!   read.
//! - Header sections above hyper's buffer are refused by hyper itself (`431`); the
//!   handler answers smaller but still oversized ones in the request's protocol.
//!
//! On shutdown the loop stops accepting, asks every connection to finish the request it
//! is serving and close, and waits for them.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot, watch};
use tower::Service;

use super::reply::{self, Whole};
use super::{Shared, aws, router};
use crate::config::NetLimits;
use crate::protocol::context::new_request_id;
use crate::protocol::error::ProtocolError;
use crate::protocol::protocol_hint;

/// Connections answered `ServiceUnavailable` at once; more than that are closed at once.
const REFUSALS_AT_ONCE: usize = 64;
/// How long a refused connection has to send its request before it is closed unanswered.
const REFUSAL_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// hyper's read buffer, and so the largest header section it parses at all.
const HYPER_MAX_BUF: usize = 256 * 1024;
/// Headers hyper parses; the handler's byte limit is the one that matters.
const HYPER_MAX_HEADERS: usize = 512;

/// Serves memshift on `listener` until `shutdown` completes, then waits for the
/// connections to finish what they are serving.
///
/// # Errors
/// Never at present: accept errors (a full file table, say) are logged and retried.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    limits: &NetLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = App {
        router: router(Arc::clone(&shared)),
        shared,
    };
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let (stop, stopping) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Header read time is watched per connection (see `stalled`), not by hyper's timer.
    // Answers are small: hyper copies each into its buffer behind the head and sends both
    // with one write, rather than a writev of two pieces.
    builder
        .header_read_timeout(None)
        .max_buf_size(HYPER_MAX_BUF)
        .max_headers(HYPER_MAX_HEADERS)
        .writev(false);
    let builder = Arc::new(builder);
    let header_read_timeout = limits.header_read_timeout;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, or a connection reset while queued: wait a
                    // moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        // Answers go out whole in one write; do not hold them back for more.
        let _ = stream.set_nodelay(true);
        if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
            let builder = Arc::clone(&builder);
            let app = app.clone();
            let stopping = stopping.clone();
            tokio::spawn(async move {
                serve_connection(&builder, stream, app, header_read_timeout, stopping).await;
                drop(permit);
            });
        } else if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
            tracing::warn!(
                max = limits.max_connections,
                "connection limit reached; refusing a connection"
            );
            let max = limits.max_connections;
            tokio::spawn(async move {
                refuse(stream, max).await;
                drop(permit);
            });
        } else {
            drop(stream);
        }
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// What a connection's watchdog sees: requests begun, and whether one is being served.
#[derive(Default)]
struct Activity {
    requests: AtomicU64,
    busy: AtomicBool,
}

/// What answers a connection's requests.
#[derive(Clone)]
struct App {
    shared: Arc<Shared>,
    router: Router,
}

/// What one connection shares with the requests it serves.
struct Connection {
    app: App,
    activity: Activity,
}

/// The body of every answer: an AWS answer's bytes, or what the router answered.
type AnswerBody = http_body_util::Either<Whole, axum::body::Body>;

/// Answers one request: an AWS call by its handler, without the router's per-request
/// work (matching, extensions, boxed bodies and futures); anything under `/_` by the
/// router, whose fallback is the same handler.
fn answer(
    connection: &Arc<Connection>,
    request: Request<Incoming>,
) -> impl Future<Output = Result<axum::http::Response<AnswerBody>, Infallible>> + Send + use<> {
    let activity = &connection.activity;
    activity.requests.fetch_add(1, Ordering::Relaxed);
    activity.busy.store(true, Ordering::Relaxed);
    let routed = request.uri().path().starts_with("/_");
    let connection = Arc::clone(connection);
    async move {
        let response = if routed {
            // A Router is always ready, and cloning it clones an `Arc`.
            match connection.app.router.clone().call(request).await {
                Ok(response) => response.map(http_body_util::Either::Right),
                Err(never) => match never {},
            }
        } else {
            aws::handle(&connection.app.shared, request)
                .await
                .map(http_body_util::Either::Left)
        };
        connection.activity.busy.store(false, Ordering::Relaxed);
        Ok(response)
    }
}

/// Why a connection's watchdog closes it.
enum Close {
    /// No whole request in time: closed at once.
    Stalled,
    /// The server is stopping: the request being served is finished first.
    Stopping,
}

async fn serve_connection(
    builder: &hyper::server::conn::http1::Builder,
    stream: TcpStream,
    app: App,
    header_read_timeout: Duration,
    stopping: watch::Receiver<bool>,
) {
    let connection = Arc::new(Connection {
        app,
        activity: Activity::default(),
    });
    let serving = Arc::clone(&connection);
    let service =
        hyper::service::service_fn(move |request: Request<Incoming>| answer(&serving, request));
    let connection_future = builder.serve_connection(TokioIo::new(stream), service);
    let mut served = std::pin::pin!(connection_future);
    // The watchdog runs as a task of its own, so that the connection, woken for every
    // request, polls one channel beside hyper rather than a timer and a watch.
    let (close, closing) = oneshot::channel();
    let watchdog = tokio::spawn(watch_over(connection, header_read_timeout, stopping, close));
    let closing = tokio::select! {
        biased;
        result = served.as_mut() => {
            watchdog.abort();
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        closing = closing => closing,
    };
    if let Ok(Close::Stalled) = closing {
        tracing::debug!("closing a connection that sent no whole request in time");
        return;
    }
    served.as_mut().graceful_shutdown();
    if let Err(e) = served.await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Tells the connection to close when it stalls or the server stops.
async fn watch_over(
    connection: Arc<Connection>,
    timeout: Duration,
    mut stopping: watch::Receiver<bool>,
    close: oneshot::Sender<Close>,
) {
    let why = tokio::select! {
        () = stalled(&connection.activity, timeout) => Close::Stalled,
        _ = stopping.wait_for(|s| *s) => Close::Stopping,
    };
    let _ = close.send(why);
}

/// Completes once the connection has gone `timeout` (up to a quarter more) without a
/// new request's headers while no request was being served: a client stalled in its
/// headers, or an idle keep-alive connection. A watchdog ticking a few times a timeout
/// costs nothing per request, unlike a timer armed for each one.
async fn stalled(activity: &Activity, timeout: Duration) {
    let tick = timeout / 4;
    let mut last = activity.requests.load(Ordering::Relaxed);
    let mut quiet = 0;
    loop {
        tokio::time::sleep(tick).await;
        let now = activity.requests.load(Ordering::Relaxed);
        if now != last || activity.busy.load(Ordering::Relaxed) {
            last = now;
            quiet = 0;
        } else {
            quiet += 1;
            if quiet >= 4 {
                return;
            }
        }
    }
}

/// Answers one request on a connection over the limit with `ServiceUnavailable`, in the
/// protocol the request speaks, and closes it.
async fn refuse(stream: TcpStream, max: usize) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(REFUSAL_READ_TIMEOUT)
        .keep_alive(false);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| async move {
        let protocol = protocol_hint(request.headers());
        let parts = ProtocolError::TooManyConnections(max).parts(protocol);
        let mut response: Response = reply::error_response(protocol, &parts, &new_request_id());
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            "close".parse().expect("a valid header"),
        );
        Ok::<_, Infallible>(response)
    });
    let _ = tokio::time::timeout(
        REFUSAL_READ_TIMEOUT * 2,
        builder.serve_connection(TokioIo::new(stream), service),
    )
    .await;
}
