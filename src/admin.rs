//! The admin endpoints beside the AWS APIs: health, reset and memshift's clock.

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Body as HttpBody;

use crate::protocol::Protocol;
use crate::protocol::context::new_request_id;
use crate::protocol::error::ProtocolError;
use crate::seed;
use crate::server::{BoxError, Shared, json_error, read_body};
use crate::services::{memorydb, redshift};

/// `GET /_memshift/health` (and `/_localstack/health`): version, uptime, services.
pub(crate) fn health(shared: &Shared, method: &Method, uri: &axum::http::Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return admin_no_route(method, uri);
    }
    let state = &shared.state;
    let body = serde_json::json!({
        "status": "running",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.uptime().as_secs_f64(),
        "services": {"memorydb": "running", "redshift": "running"},
        "engines": {
            "redis": state.redis.binary().map_or_else(
                || "control-plane only: no redis-server found".to_owned(),
                |p| p.display().to_string(),
            ),
            "postgres": state.postgres.bin_dir().map_or_else(
                || "control-plane only: no PostgreSQL server binaries found".to_owned(),
                |p| p.display().to_string(),
            ),
        },
        "persistence": if state.is_durable() { "data-dir" } else { "memory" },
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `GET /_memshift/clock`: memshift's time and its offset from the system's.
/// `POST /_memshift/clock` with `{"advance_seconds": N}`: moves it forward (or back), so
/// that a test can see temporary credentials and IAM tokens expire without waiting.
pub(crate) async fn clock<B>(shared: &Shared, request: Request<B>) -> Response
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let state = &shared.state;
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
            return json_error(&parts, &new_request_id());
        };
        #[allow(clippy::cast_possible_truncation, reason = "bounded above")]
        state
            .clock()
            .advance(chrono::Duration::milliseconds((seconds * 1000.0) as i64));
        tracing::info!(advance_seconds = seconds, "clock moved");
    } else if parts.method != Method::GET {
        return admin_no_route(&parts.method, &parts.uri);
    }
    let now = state.clock().now();
    let body = serde_json::json!({
        "now": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "offset_seconds": seconds(state.clock().offset()),
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
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
pub(crate) async fn reset(shared: &Shared, method: &Method, uri: &axum::http::Uri) -> Response {
    if method != Method::POST {
        return admin_no_route(method, uri);
    }
    let result = match shared.state.reset().await {
        Ok(()) => {
            // The clusters are gone, and so are their servers and databases.
            shared.state.redis.stop_all().await;
            shared.state.postgres.reset().await;
            match &shared.init_file {
                Some(path) => match seed::load(path) {
                    Ok(calls) => seed::apply(&shared.state, &calls).await,
                    Err(e) => Err(e),
                },
                None => Ok(()),
            }
        }
        Err(e) => Err(e),
    };
    for scope in shared.state.scopes() {
        memorydb::reconcile(&shared.state, &scope).await;
        redshift::reconcile(&shared.state, &scope).await;
    }
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
