//! Real servers behind emulated resources: a Redis server for each MemoryDB cluster and a
//! PostgreSQL server for each Redshift cluster, each behind a front on the cluster's
//! endpoint.
//!
//! The engines know no service. They are told what clusters must run (`DesiredCluster`
//! of each supervisor) and ask narrow traits whether a login is valid
//! ([`pgfront::Logins`], [`proxy::TokenAuth`]); the API layer implements those from the
//! services' records.

pub mod certificate;
pub mod endpoints;
pub mod orphans;
pub mod pgadmin;
pub mod pgclient;
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

use endpoints::{Endpoints, Kind};

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
    /// Where endpoints listen, the host they are reported at, and their ports.
    pub endpoints: Arc<Endpoints>,
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
        endpoints: Arc<Endpoints>,
    ) -> Self {
        Engines {
            redis: redis::Redis::new(redis_server, Arc::clone(&tls), Arc::clone(&endpoints))
                .with_data_dir(data_dir),
            postgres: postgres::Postgres::new(postgres_bin_dir, data_dir)
                .with_authority(Arc::clone(&tls))
                .with_endpoints(Arc::clone(&endpoints)),
            tls,
            endpoints,
        }
    }

    /// Whether servers are started ahead of the clusters that will need them.
    #[must_use]
    pub fn with_servers_ahead(mut self, on: bool) -> Self {
        self.redis = self.redis.with_servers_ahead(on);
        self.postgres = self.postgres.with_servers_ahead(on);
        self
    }

    /// `count` ports for new endpoints of `kind`'s clusters in `scope`, held until the
    /// endpoints start; `None` when that engine does not run (clusters are then
    /// control-plane only).
    ///
    /// # Errors
    /// Too few ports are free (of the endpoint port range, when there is one).
    pub fn new_ports(
        &self,
        kind: Kind,
        scope: &Scope,
        count: usize,
    ) -> Result<Option<Vec<u16>>, String> {
        let runs = match kind {
            Kind::Redis => self.redis.binary().is_some(),
            Kind::Postgres => self.postgres.bin_dir().is_some(),
        };
        if !runs {
            return Ok(None);
        }
        if kind == Kind::Redis
            && let Some(ports) = self.redis.hand_out_ahead(scope, count)
        {
            return Ok(Some(ports));
        }
        self.endpoints
            .reserve(kind, scope, count)
            .map(Some)
            .map_err(|e| e.0)
    }

    /// Stops every server and removes every database (after a reset of the state).
    pub async fn reset(&self) {
        self.redis.reset().await;
        self.postgres.reset().await;
        // Ports chosen for clusters that no longer exist go back.
        self.endpoints.clear();
    }

    /// Stops every server (at shutdown); temporary data goes too.
    pub async fn stop_all(&self) {
        self.redis.stop_all().await;
        self.postgres.stop_all().await;
    }
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

/// The clusters of a kind whose dead server is being started again, readable without
/// waiting (the cluster views show them as in transition).
#[derive(Debug, Default)]
pub struct Recovering(Mutex<std::collections::HashSet<(Scope, String)>>);

impl Recovering {
    fn set(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<(Scope, String)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn insert(&self, scope: &Scope, cluster: &str) {
        self.set().insert((scope.clone(), cluster.to_owned()));
    }

    pub fn remove(&self, scope: &Scope, cluster: &str) {
        self.set().remove(&(scope.clone(), cluster.to_owned()));
    }

    /// Forgets the clusters of `scope`, or of every scope.
    pub fn clear(&self, scope: Option<&Scope>) {
        self.set()
            .retain(|(s, _)| scope.is_some_and(|scope| s != scope));
    }

    #[must_use]
    pub fn contains(&self, scope: &Scope, cluster: &str) -> bool {
        self.set().contains(&(scope.clone(), cluster.to_owned()))
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
