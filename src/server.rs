//! The HTTP server: one handler for `POST /` that detects the protocol, builds the request
//! context, dispatches to a service and encodes the answer; and the start/stop plumbing.
//!
//! No request leaves without an AWS-shaped answer: bodies are read by hand (no axum
//! extractor rejections), unknown paths and methods get protocol errors, and a panic in a
//! handler becomes an `InternalFailure`.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use http_body_util::BodyExt;
use hyper::body::Body as HttpBody;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::admin;
use crate::config::Config;
use crate::engines::proxy::TokenAuth;
use crate::protocol::context::{RequestContext, context_from, new_request_id};
use crate::protocol::error::{ErrorParts, Failure, ProtocolError};
use crate::protocol::{Detected, Protocol, detect, json, protocol_hint, query};
use crate::seed;
use crate::services::{memorydb, redshift};
use crate::sigv4::{self, AuthError, Keys, Signed};
use crate::state::AppState;
use crate::state::persist::Commit;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `x-amzn-RequestId`, as HTTP/1.1 sends every header name: in lowercase.
static REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
/// `x-amzn-ErrorType`.
static ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");

/// What the handlers share.
#[derive(Debug)]
pub struct Shared {
    pub state: Arc<AppState>,
    pub max_body_bytes: usize,
    /// Connection, header and timeout limits.
    pub limits: crate::config::NetLimits,
    /// The access keys of the credentials file (none without one).
    pub keys: Keys,
    /// Whether every AWS request must carry a valid SigV4 signature by one of `keys`.
    pub verify_sigv4: bool,
    /// The init file, read and applied again after a reset.
    pub init_file: Option<std::path::PathBuf>,
}

/// The server binaries the settings name must be there.
fn check_engines(config: &Config) -> Result<(), String> {
    if let Some(path) = &config.services.redis_server
        && path.as_os_str() != "off"
        && !path.is_file()
    {
        return Err(format!(
            "--redis-server {}: no such file (give the path of redis-server or valkey-server)",
            path.display()
        ));
    }
    if let Some(dir) = &config.services.postgres_bin_dir
        && dir.as_os_str() != "off"
        && !dir.join("postgres").is_file()
    {
        return Err(format!(
            "--postgres-bin-dir {}: no postgres binary there (give the directory of \
             PostgreSQL's server binaries, such as /usr/lib/postgresql/15/bin)",
            dir.display()
        ));
    }
    Ok(())
}

/// Builds the state a configuration asks for: in memory, or recovered from the data
/// directory; then applies the init file when the state is new.
///
/// # Errors
/// A message naming the setting, file or init entry that stopped start-up.
pub async fn prepare(config: &Config) -> Result<Arc<Shared>, String> {
    check_engines(config)?;
    let keys = match &config.credentials_file {
        Some(path) => Keys::load(path, &config.default_account)?,
        None => Keys::default(),
    };
    if config.verify_sigv4 && keys.is_empty() {
        return Err(
            "--verify-sigv4 needs a --credentials-file with at least one access key".to_owned(),
        );
    }
    // The file's IAM users and roles, unless --iam-identity maps the key already.
    let mut services = config.services.clone();
    for key in keys.iter() {
        if let Some(identity) = &key.identity {
            services
                .iam_identities
                .entry(key.access_key_id.clone())
                .or_insert_with(|| identity.clone());
        }
    }
    let (state, fresh) = match &config.data_dir {
        None => (AppState::new(config.default_scope(), services), true),
        Some(dir) => {
            let (state, recovery) = AppState::durable(config.default_scope(), services, dir)?;
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
    if let Some(offset) = config.clock_offset {
        state.clock().advance(offset);
    }
    let clock = state.clock_handle();
    state.redis.set_token_auth(TokenAuth {
        verify_with: config.verify_sigv4.then(|| keys.clone()),
        now: Box::new(move || clock.now()),
    });
    let state = Arc::new(state);
    state.postgres.attach(&state);
    // Clusters recovered from the data directory get their servers back.
    for scope in state.scopes() {
        memorydb::reconcile(&state, &scope).await;
        redshift::reconcile(&state, &scope).await;
    }
    Ok(Arc::new(Shared {
        state,
        max_body_bytes: config.max_body_bytes,
        limits: config.limits.clone(),
        keys,
        verify_sigv4: config.verify_sigv4,
        init_file: config.init_file.clone(),
    }))
}

/// Answers one request: the admin endpoints, or an AWS call. A panic becomes an
/// `InternalFailure` in the request's protocol.
pub async fn respond<B>(shared: Arc<Shared>, request: Request<B>) -> Response
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let hint = protocol_hint(request.headers());
    let answer = async move {
        match request.uri().path() {
            "/_memshift/health" | "/_localstack/health" => {
                admin::health(&shared, request.method(), request.uri())
            }
            "/_memshift/reset" => admin::reset(&shared, request.method(), request.uri()).await,
            "/_memshift/clock" => admin::clock(&shared, request).await,
            _ => handle(&shared, request, hint).await,
        }
    };
    if let Ok(response) = AssertUnwindSafe(answer).catch_unwind().await {
        response
    } else {
        let parts =
            ProtocolError::Internal("the request could not be completed".to_owned()).parts(hint);
        error_response(hint, &parts, &new_request_id())
    }
}

/// The server as an axum router (every path goes through [`respond`]), for embedding
/// memshift in another axum application or driving it with `tower::ServiceExt::oneshot`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(move |request: Request| respond(Arc::clone(&shared), request))
}

/// The outcome of one request, before it becomes bytes.
struct Outcome {
    protocol: Protocol,
    service: &'static str,
    operation: String,
    result: Result<Vec<u8>, Failure>,
}

/// `hint`: the protocol the request's headers point to, for answers given before its
/// body is read.
async fn handle<B>(shared: &Shared, request: Request<B>, hint: Protocol) -> Response
where
    B: HttpBody<Data = Bytes>,
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
        shared.state.defaults(),
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
    } else if header_bytes(&parts) > limits.max_header_bytes {
        Outcome::failed(
            hint,
            ProtocolError::HeadersTooLarge(limits.max_header_bytes),
        )
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
            Err(_) => Outcome::failed(
                hint,
                ProtocolError::RequestTimeout(limits.body_read_timeout.as_secs()),
            ),
            Ok(Err(e)) => Outcome::failed(hint, e),
            Ok(Ok(bytes))
                if shared.verify_sigv4
                    && let Err(e) = check_signature(&shared.keys, &parts, &bytes) =>
            {
                Outcome {
                    protocol: hint,
                    service: "-",
                    operation: "-".to_owned(),
                    result: Err(Failure::Service(e.parts(hint))),
                }
            }
            Ok(Ok(bytes)) => {
                let detected = detect(&parts.method, &parts.headers, parts.uri.query(), &bytes);
                let mut commit = Commit::default();
                let mut outcome = dispatch(&shared.state, &ctx, detected, &bytes, &mut commit);
                // Acknowledge a mutation only once its records are on disk.
                if let Err(e) = commit.wait().await {
                    outcome.result = Err(ProtocolError::Internal(format!(
                        "the change could not be made durable: {e}"
                    ))
                    .into());
                } else if outcome.result.is_ok() {
                    // Clusters' servers follow the change before it is answered.
                    if outcome.service == memorydb::SERVICE_NAME {
                        memorydb::reconcile_after(&shared.state, &ctx.scope, &outcome.operation)
                            .await;
                    } else if outcome.service == redshift::SERVICE_NAME {
                        redshift::reconcile_after(&shared.state, &ctx.scope, &outcome.operation)
                            .await;
                    }
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
        micros = started.map_or(0, |t| u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)),
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

/// Checks the request's SigV4 signature against the credentials file, with the real
/// clock (moving memshift's clock for tests does not make signatures stale).
fn check_signature(
    keys: &Keys,
    parts: &axum::http::request::Parts,
    body: &[u8],
) -> Result<(), AuthError> {
    let services: &[&str] = if parts.headers.contains_key("x-amz-target") {
        &[memorydb::SIGNING_NAME]
    } else if protocol_hint(&parts.headers) == Protocol::Query {
        &[redshift::SIGNING_NAME]
    } else {
        &[memorydb::SIGNING_NAME, redshift::SIGNING_NAME]
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
fn header_bytes(parts: &axum::http::request::Parts) -> usize {
    let target = parts.uri.path_and_query().map_or(1, |pq| pq.as_str().len());
    let line = parts.method.as_str().len() + target + 12;
    parts.headers.iter().fold(line, |n, (name, value)| {
        n + name.as_str().len() + value.len() + 4
    })
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
pub(crate) async fn read_body<B>(
    body: B,
    headers: &axum::http::HeaderMap,
    limit: usize,
) -> Result<Bytes, ProtocolError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ProtocolError::PayloadTooLarge(limit));
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

fn encode(outcome: Outcome, ctx: &RequestContext) -> Response {
    match (outcome.result, outcome.protocol) {
        (Ok(body), Protocol::Json) => {
            with_headers(StatusCode::OK, json::CONTENT_TYPE, body, &ctx.request_id)
        }
        (Ok(body), Protocol::Query) => {
            with_headers(StatusCode::OK, query::CONTENT_TYPE, body, &ctx.request_id)
        }
        (Err(failure), protocol) => {
            error_response(protocol, &failure.parts(protocol), &ctx.request_id)
        }
    }
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

pub(crate) fn json_error(parts: &ErrorParts, request_id: &str) -> Response {
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
        headers.insert(REQUEST_ID.clone(), id);
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
    let limits = shared.limits.clone();
    let result = crate::net::serve(listener, shared, &limits, shutdown).await;
    state.redis.stop_all().await;
    state.postgres.stop_all().await;
    state.flush().await;
    state.close();
    result
}
