//! The HTTP server: one handler for `POST /` that detects the protocol, builds the request
//! context, dispatches to a service and encodes the answer; and the start/stop plumbing.
//!
//! No request leaves without an AWS-shaped answer: bodies are read by hand (no axum
//! extractor rejections), unknown paths and methods get protocol errors, and a panic in a
//! handler becomes an `InternalFailure`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;

use crate::config::Config;
use crate::protocol::context::{RequestContext, context_from, new_request_id};
use crate::protocol::error::{ErrorParts, Failure, ProtocolError};
use crate::protocol::{Detected, Protocol, detect, json, protocol_hint, query};
use crate::seed;
use crate::services::{memorydb, redshift};
use crate::state::AppState;
use crate::state::persist::Commit;

/// What the handlers share.
#[derive(Debug)]
pub struct Shared {
    pub state: Arc<AppState>,
    pub max_body_bytes: usize,
    /// The init file, read and applied again after a reset.
    pub init_file: Option<std::path::PathBuf>,
}

/// Builds the state a configuration asks for: in memory, or recovered from the data
/// directory; then applies the init file when the state is new.
///
/// # Errors
/// A message naming the setting, file or init entry that stopped start-up.
pub async fn prepare(config: &Config) -> Result<Arc<Shared>, String> {
    let (state, fresh) = match &config.data_dir {
        None => (
            AppState::new(config.default_scope(), config.services.clone()),
            true,
        ),
        Some(dir) => {
            let (state, recovery) =
                AppState::durable(config.default_scope(), config.services.clone(), dir)?;
            for (file, offset, bytes, kept) in &recovery.damage {
                tracing::warn!(
                    file,
                    offset,
                    bytes,
                    kept,
                    "damaged log tail cut off at the last whole entry; the cut bytes are kept"
                );
            }
            tracing::info!(
                regions = recovery.snapshot_regions,
                entries = recovery.entries_replayed,
                damaged = recovery.damage.len(),
                "state recovered from the data directory"
            );
            (
                state,
                recovery.snapshot_regions == 0 && recovery.entries_replayed == 0,
            )
        }
    };
    let init = match &config.init_file {
        Some(path) => seed::load(path)?,
        None => Vec::new(),
    };
    if fresh {
        seed::apply(&state, &init).await?;
        if !init.is_empty() {
            tracing::info!(calls = init.len(), "init file applied");
        }
    } else if !init.is_empty() {
        tracing::info!(
            "state recovered from the data directory; the init file is not applied again"
        );
    }
    drop(init);
    Ok(Arc::new(Shared {
        state: Arc::new(state),
        max_body_bytes: config.max_body_bytes,
        init_file: config.init_file.clone(),
    }))
}

/// Builds the router over prepared state.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_memshift/health", any(health))
        .route("/_localstack/health", any(health))
        .route("/_memshift/reset", any(reset))
        .fallback(handle)
        .with_state(shared)
        .layer(CatchPanicLayer::custom(|_| {
            let parts = ProtocolError::Internal("the request could not be completed".to_owned())
                .parts(Protocol::Json);
            json_error(&parts, &new_request_id())
        }))
}

/// `GET /_memshift/health` (and `/_localstack/health`): version, uptime, services.
async fn health(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: axum::http::Uri,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return admin_no_route(&method, &uri);
    }
    let state = &shared.state;
    let body = serde_json::json!({
        "status": "running",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.uptime().as_secs_f64(),
        "services": {"memorydb": "running", "redshift": "running"},
        "persistence": if state.is_durable() { "data-dir" } else { "memory" },
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `POST /_memshift/reset`: every account and region back to the built-in state, on disk
/// too, then the init file again.
async fn reset(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: axum::http::Uri,
) -> Response {
    if method != Method::POST {
        return admin_no_route(&method, &uri);
    }
    let result = match shared.state.reset().await {
        Ok(()) => match &shared.init_file {
            Some(path) => match seed::load(path) {
                Ok(calls) => seed::apply(&shared.state, &calls).await,
                Err(e) => Err(e),
            },
            None => Ok(()),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            tracing::info!("state reset");
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"status":"reset"}"#,
            )
                .into_response()
        }
        Err(e) => json_error(
            &ProtocolError::Internal(format!("reset failed: {e}")).parts(Protocol::Json),
            &new_request_id(),
        ),
    }
}

fn admin_no_route(method: &Method, uri: &axum::http::Uri) -> Response {
    let mut parts = ProtocolError::NoRoute {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
    .parts(Protocol::Json);
    parts.status = StatusCode::METHOD_NOT_ALLOWED;
    json_error(&parts, &new_request_id())
}

/// The outcome of one request, before it becomes bytes.
struct Outcome {
    protocol: Protocol,
    service: &'static str,
    operation: String,
    result: Result<Vec<u8>, Failure>,
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let shared = &*shared;
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let presigned = parts
        .uri
        .query()
        .and_then(|q| query::parse_form(q.as_bytes()).ok())
        .and_then(|params| params.into_iter().find(|(k, _)| k == "X-Amz-Credential"))
        .map(|(_, v)| v);
    let ctx = context_from(
        &parts.headers,
        presigned.as_deref(),
        shared.state.defaults(),
    );
    let hint = protocol_hint(&parts.headers);
    let mut outcome = if parts.uri.path() != "/"
        || !(parts.method == Method::POST || parts.method == Method::GET)
    {
        Outcome::failed(
            hint,
            ProtocolError::NoRoute {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
            },
        )
    } else {
        match read_body(body, &parts.headers, shared.max_body_bytes).await {
            Err(e) => Outcome::failed(hint, e),
            Ok(bytes) => {
                let detected = detect(&parts.method, &parts.headers, parts.uri.query(), &bytes);
                let mut commit = Commit::default();
                let mut outcome = dispatch(&shared.state, &ctx, detected, &bytes, &mut commit);
                // Acknowledge a mutation only once its records are on disk.
                if let Err(e) = commit.wait().await {
                    outcome.result = Err(ProtocolError::Internal(format!(
                        "the change could not be made durable: {e}"
                    ))
                    .into());
                }
                outcome
            }
        }
    };
    let (service, operation) = (outcome.service, std::mem::take(&mut outcome.operation));
    let response = encode(outcome, &ctx);
    tracing::info!(
        request_id = %ctx.request_id,
        account = %ctx.scope.account,
        region = %ctx.scope.region,
        service,
        operation = %operation,
        status = response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

impl Outcome {
    fn failed(protocol: Protocol, error: ProtocolError) -> Self {
        Outcome {
            protocol,
            service: "-",
            operation: "-".to_owned(),
            result: Err(error.into()),
        }
    }
}

fn dispatch(
    state: &AppState,
    ctx: &RequestContext,
    detected: Detected,
    body: &[u8],
    commit: &mut Commit,
) -> Outcome {
    match detected {
        Detected::Json { target } => {
            let Some((prefix, operation)) = json::split_target(&target) else {
                return Outcome::failed(
                    Protocol::Json,
                    ProtocolError::UnknownOperation(format!("Unrecognized X-Amz-Target {target}.")),
                );
            };
            if prefix != memorydb::TARGET_PREFIX {
                return Outcome::failed(
                    Protocol::Json,
                    ProtocolError::UnknownOperation(format!(
                        "Unrecognized X-Amz-Target {target}: memshift serves {}.*",
                        memorydb::TARGET_PREFIX
                    )),
                );
            }
            Outcome {
                protocol: Protocol::Json,
                service: memorydb::SERVICE_NAME,
                operation: operation.to_owned(),
                result: memorydb::call(state, ctx, operation, body, commit),
            }
        }
        Detected::Query { params } => {
            let action = query::param(&params, "Action")
                .unwrap_or_default()
                .to_owned();
            Outcome {
                protocol: Protocol::Query,
                service: redshift::SERVICE_NAME,
                result: redshift::call(state, ctx, &action, &params, commit),
                operation: action,
            }
        }
        Detected::Unrecognized(protocol) => Outcome::failed(protocol, ProtocolError::Unrecognized),
        Detected::Malformed(error) => Outcome::failed(Protocol::Query, error),
    }
}

/// Reads the whole body, refusing more than `limit` bytes before reading them when the
/// request says its length.
async fn read_body(
    body: Body,
    headers: &axum::http::HeaderMap,
    limit: usize,
) -> Result<Bytes, ProtocolError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ProtocolError::PayloadTooLarge(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(<dyn std::error::Error>::is::<http_body_util::LengthLimitError>);
        if too_large {
            ProtocolError::PayloadTooLarge(limit)
        } else {
            ProtocolError::Serialization("The request body could not be read.".to_owned())
        }
    })
}

fn encode(outcome: Outcome, ctx: &RequestContext) -> Response {
    match (outcome.result, outcome.protocol) {
        (Ok(body), Protocol::Json) => {
            with_headers(StatusCode::OK, json::CONTENT_TYPE, body, &ctx.request_id)
        }
        (Ok(body), Protocol::Query) => {
            with_headers(StatusCode::OK, query::CONTENT_TYPE, body, &ctx.request_id)
        }
        (Err(failure), Protocol::Json) => {
            json_error(&failure.parts(Protocol::Json), &ctx.request_id)
        }
        (Err(failure), Protocol::Query) => {
            let parts = failure.parts(Protocol::Query);
            let body = query::encode_error(&parts, &ctx.request_id, query::REDSHIFT_NAMESPACE);
            with_headers(parts.status, query::CONTENT_TYPE, body, &ctx.request_id)
        }
    }
}

fn json_error(parts: &ErrorParts, request_id: &str) -> Response {
    let mut response = with_headers(
        parts.status,
        json::CONTENT_TYPE,
        json::encode_error(parts),
        request_id,
    );
    response
        .headers_mut()
        .insert("x-amzn-ErrorType", HeaderValue::from_static(parts.code));
    response
}

fn with_headers(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    request_id: &str,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", id);
    }
    response
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// The address the server listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, for an SDK's endpoint URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits for the server to end.
    ///
    /// # Errors
    /// An I/O error the server ended with.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.map_err(std::io::Error::other)?
    }
}

/// Prepares the state, binds the configured address (port 0 picks a free one) and serves
/// in the background.
///
/// # Errors
/// The state could not be prepared or the address bound.
pub async fn start(config: &Config) -> Result<Server, String> {
    let shared = prepare(config).await?;
    let listener = TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, shared, async {
        let _ = stopped.await;
    }));
    Ok(Server {
        addr,
        stop: Some(stop),
        task,
    })
}

/// Serves until `shutdown` completes, lets requests in flight finish, then flushes and
/// closes the log.
///
/// # Errors
/// An I/O error of the server.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = Arc::clone(&shared.state);
    let result = axum::serve(listener, router(shared))
        .with_graceful_shutdown(shutdown)
        .await;
    state.flush().await;
    state.close();
    result
}
