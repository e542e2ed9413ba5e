//! memshift's router inside another axum application, served by that application: the
//! README's embedding example, with the official SDK as the client.

mod common;

use std::sync::Arc;

use axum::routing::get;
use memshift::Config;

#[tokio::test]
async fn the_router_serves_inside_another_axum_application() {
    // The README's example.
    let shared = memshift::prepare(&Config::ephemeral()).await.unwrap();
    let app = axum::Router::new()
        .route("/app/ready", get(|| async { "ready" }))
        .merge(memshift::router(Arc::clone(&shared)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    // The application's own route.
    let own = reqwest::get(format!("http://{addr}/app/ready"))
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    assert_eq!(own.text().await.unwrap(), "ready");

    // memshift's API, through the SDK.
    let client = common::memorydb_at(&format!("http://{addr}"), "123456789012", "eu-west-1");
    let created = client
        .create_acl()
        .acl_name("embedded")
        .send()
        .await
        .unwrap();
    assert_eq!(created.acl().unwrap().name(), Some("embedded"));
    let err = client
        .delete_user()
        .user_name("nobody")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_user_not_found_fault());

    // memshift's admin routes.
    let health: serde_json::Value = reqwest::get(format!("http://{addr}/_memshift/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "running");

    // The application stops memshift's engines and log when it stops.
    let _ = stop.send(());
    served.await.unwrap().unwrap();
    memshift::server::stop(&shared).await;
}
