//! The admin endpoints beside the AWS APIs: health, reset and memshift's clock. Each
//! answers JSON; a method it does not serve gets a JSON `405`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;

use super::{Shared, guarded, read_body, reply};
use crate::protocol::Protocol;
use crate::protocol::context::new_request_id;
use crate::protocol::error::ProtocolError;

/// `GET /_memshift/health` (and `/_localstack/health`): version, uptime, services, and
/// what is formed ahead of the next cluster.
pub async fn health(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return admin_no_route(&method, &uri);
    }
    let api = &shared.api;
    let body = serde_json::json!({
        "status": "running",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": api.state.uptime().as_secs_f64(),
        "services": {
            "memorydb": "running",
            "redshift": "running",
            "redshift-serverless": "running",
            "redshift-data": "running",
        },
        "engines": {
            "redis": api.engines.redis.binary().map_or_else(
                || "control-plane only: no redis-server found".to_owned(),
                |p| p.display().to_string(),
            ),
            "postgres": api.engines.postgres.bin_dir().map_or_else(
                || "control-plane only: no PostgreSQL server binaries found".to_owned(),
                |p| p.display().to_string(),
            ),
        },
        "persistence": if api.state.is_durable() { "data-dir" } else { "memory" },
        "servers_ahead": api.settings.servers_ahead,
        // The next MemoryDB cluster of this shape is ready before it is asked for.
        "formed_ahead": {
            "memorydb_nodes_per_shard": api.engines.redis.formed_ahead(),
        },
        // One is being formed.
        "forming_ahead": {
            "memorydb_nodes_per_shard": api.engines.redis.forming_ahead(),
        },
    });
    reply::admin_json(body.to_string())
}

/// `GET /_memshift/ca.pem`: the certificate of the CA that signs every TLS endpoint's
/// certificate, for clients to trust.
pub async fn ca(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return admin_no_route(&method, &uri);
    }
    match shared.api.engines.tls.cert_pem() {
        Ok(pem) => reply::with_content_type("application/x-pem-file", pem.as_bytes().to_vec()),
        Err(e) => reply::json_error(
            &ProtocolError::Internal(format!("memshift's CA could not be made: {e}"))
                .parts(Protocol::Json),
            &new_request_id(),
        ),
    }
}

/// `GET /_memshift/clock`: memshift's time and its offset from the system's.
/// `POST /_memshift/clock` with `{"advance_seconds": N}`: moves it forward (or back), so
/// that a test can see temporary credentials and IAM tokens expire without waiting.
pub async fn clock(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    guarded(Protocol::Json, async move {
        let (parts, body) = request.into_parts();
        let clock = shared.api.state.clock();
        if parts.method == Method::POST {
            let bytes = read_body(body, &parts.headers, 4096).await;
            let advance = bytes
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v.get("advance_seconds").and_then(serde_json::Value::as_f64))
                .filter(|s| s.is_finite() && s.abs() < 1e10);
            let Some(seconds) = advance else {
                let parts = ProtocolError::Serialization(
                    "Expected a JSON body {\"advance_seconds\": <number>}.".to_owned(),
                )
                .parts(Protocol::Json);
                return reply::json_error(&parts, &new_request_id());
            };
            #[allow(clippy::cast_possible_truncation, reason = "bounded above")]
            clock.advance(chrono::Duration::milliseconds((seconds * 1000.0) as i64));
            tracing::info!(advance_seconds = seconds, "clock moved");
        } else if parts.method != Method::GET {
            return admin_no_route(&parts.method, &parts.uri);
        }
        let body = serde_json::json!({
            "now": clock.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "offset_seconds": seconds(clock.offset()),
        });
        reply::admin_json(body.to_string())
    })
    .await
}

#[allow(
    clippy::cast_precision_loss,
    reason = "clock offsets in milliseconds stay far below 2^52"
)]
fn seconds(d: chrono::Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

/// `POST /_memshift/reset`: every account and region back to the built-in state, on disk
/// too, then the init file again.
pub async fn reset(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    if method != Method::POST {
        return admin_no_route(&method, &uri);
    }
    guarded(Protocol::Json, async move {
        match shared.api.reset(shared.init_file.as_deref()).await {
            Ok(()) => {
                tracing::info!("state reset");
                reply::admin_json(r#"{"status":"reset"}"#.to_owned())
            }
            Err(e) => reply::json_error(
                &ProtocolError::Internal(format!("reset failed: {e}")).parts(Protocol::Json),
                &new_request_id(),
            ),
        }
    })
    .await
}

fn admin_no_route(method: &Method, uri: &Uri) -> Response {
    let mut parts = ProtocolError::NoRoute {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
    .parts(Protocol::Json);
    parts.status = StatusCode::METHOD_NOT_ALLOWED;
    reply::json_error(&parts, &new_request_id())
}
