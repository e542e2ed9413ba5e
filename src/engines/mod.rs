//! Real servers behind emulated resources: a Redis server for each MemoryDB cluster.

pub mod pgfront;
pub mod pgwire;
pub mod postgres;
pub mod proxy;
pub mod redis;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};

use crate::protocol::context::Scope;

/// A loopback port nothing listens on now.
///
/// # Errors
/// No port could be bound.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// Accepts clients of a cluster's endpoint until the task is aborted, each served by
/// `session` in a task of its own.
pub async fn accept<F, Fut>(listener: TcpListener, cluster: String, session: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        };
        let _ = client.set_nodelay(true);
        let served = session(client);
        let cluster = cluster.clone();
        tokio::spawn(async move {
            if let Err(e) = served.await {
                tracing::debug!(cluster = %cluster, error = %e, "client connection ended");
            }
        });
    }
}

/// The endpoint ports of a kind of cluster, readable without waiting (the cluster views
/// need them while servers are being started or stopped).
#[derive(Debug, Default)]
pub struct Ports(Mutex<HashMap<(Scope, String), u16>>);

impl Ports {
    #[must_use]
    pub fn get(&self, scope: &Scope, cluster: &str) -> Option<u16> {
        self.map()
            .get(&(scope.clone(), cluster.to_owned()))
            .copied()
    }

    pub fn set(&self, key: (Scope, String), port: u16) {
        self.map().insert(key, port);
    }

    pub fn remove(&self, key: &(Scope, String)) {
        self.map().remove(key);
    }

    /// Whether any cluster of the region has a port.
    #[must_use]
    pub fn any_in(&self, scope: &Scope) -> bool {
        self.map().keys().any(|(s, _)| s == scope)
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<(Scope, String), u16>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
