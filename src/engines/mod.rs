//! Real servers behind emulated resources: a Redis server for each MemoryDB cluster and a
//! PostgreSQL server for each Redshift cluster, each behind a front on the cluster's
//! endpoint.
//!
//! The engines know no service. They are told what clusters must run (`DesiredCluster`
//! of each supervisor) and ask narrow traits whether a login is valid
//! ([`pgfront::Logins`], [`proxy::TokenAuth`]); the API layer implements those from the
//! services' records.

pub mod certificate;
pub mod pgadmin;
pub mod pgfront;
pub mod pgredshift;
pub mod pgwire;
pub mod postgres;
pub mod proxy;
pub mod redis;

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};

use crate::state::Scope;
use crate::tls::Authority;

/// Every engine: the supervisors of the Redis and PostgreSQL servers.
#[derive(Debug)]
pub struct Engines {
    /// The Redis servers behind MemoryDB clusters.
    pub redis: redis::Redis,
    /// The PostgreSQL servers behind Redshift clusters.
    pub postgres: postgres::Postgres,
    /// The CA that signs every endpoint's certificate.
    pub tls: Arc<Authority>,
}

impl Engines {
    /// The engines the settings name (`off`: none; absent: found on this machine), with
    /// their data kept under `data_dir` when there is one.
    #[must_use]
    pub fn new(
        redis_server: Option<&Path>,
        postgres_bin_dir: Option<&Path>,
        data_dir: Option<&Path>,
        tls: Arc<Authority>,
    ) -> Self {
        Engines {
            redis: redis::Redis::new(redis_server, Arc::clone(&tls)),
            postgres: postgres::Postgres::new(postgres_bin_dir, data_dir)
                .with_authority(Arc::clone(&tls)),
            tls,
        }
    }

    /// A free port for a new MemoryDB cluster's endpoint, when Redis servers can be run.
    #[must_use]
    pub fn redis_port(&self) -> Option<u16> {
        self.redis.binary().and_then(|_| reserve_port().ok())
    }

    /// A free port for a new Redshift cluster's endpoint, when PostgreSQL can be run.
    #[must_use]
    pub fn postgres_port(&self) -> Option<u16> {
        self.postgres.bin_dir().and_then(|_| reserve_port().ok())
    }

    /// Stops every server and removes every database (after a reset of the state).
    pub async fn reset(&self) {
        self.redis.stop_all().await;
        self.postgres.reset().await;
        // Ports chosen for clusters that no longer exist go back.
        RESERVED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Stops every server (at shutdown); temporary data goes too.
    pub async fn stop_all(&self) {
        self.redis.stop_all().await;
        self.postgres.stop_all().await;
    }
}

/// Ports chosen for endpoints, held bound from the moment they are chosen (and reported)
/// until their endpoint takes them, so that nothing else can take them meanwhile.
static RESERVED: Mutex<Vec<std::net::TcpListener>> = Mutex::new(Vec::new());

/// A loopback port for an endpoint, held until [`bind_endpoint`] takes it.
///
/// # Errors
/// No port could be bound.
pub fn reserve_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let port = listener.local_addr()?.port();
    RESERVED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(listener);
    Ok(port)
}

/// The listener of a cluster's endpoint: on the port it had, when that is still free (or
/// reserved for it), or on a new one.
///
/// # Errors
/// No loopback port could be bound.
pub async fn bind_endpoint(preferred: Option<u16>) -> std::io::Result<TcpListener> {
    if let Some(port) = preferred {
        let held = {
            let mut reserved = RESERVED.lock().unwrap_or_else(PoisonError::into_inner);
            reserved
                .iter()
                .position(|l| l.local_addr().is_ok_and(|a| a.port() == port))
                .map(|at| reserved.swap_remove(at))
        };
        if let Some(listener) = held {
            listener.set_nonblocking(true)?;
            return TcpListener::from_std(listener);
        }
    }
    if let Some(port) = preferred
        && let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await
    {
        return Ok(listener);
    }
    TcpListener::bind(("127.0.0.1", 0)).await
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
