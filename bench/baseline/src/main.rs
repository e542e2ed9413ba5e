//! The benchmark's ceiling: a bare axum server, built from the same axum and tokio as
//! memshift, that reads the request body and answers a small fixed document.
//!
//! `cargo run --release --manifest-path bench/baseline/Cargo.toml -- PORT`

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(4567);
    let app = Router::new().route(
        "/",
        post(|body: Bytes| async move {
            let size = body.len();
            (
                [("content-type", "application/x-amz-json-1.1")],
                format!(r#"{{"Users":[],"Received":{size}}}"#),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the port is free");
    axum::serve(listener, app).await.expect("serves");
}
