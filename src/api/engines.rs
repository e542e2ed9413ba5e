//! What the engines are told and asked: the desired state of each region's servers, read
//! from the services' records, and the login checks the fronts make, answered by the
//! services' rules. The engines see neither the services nor the state.

use std::sync::Arc;

use super::{Api, Service};
use crate::engines::endpoints::Kind;
use crate::engines::pgfront::{self, Grant, TemporaryLogin};
use crate::engines::{postgres, redis};
use crate::secret::PasswordHash;
use crate::services::AppState;
use crate::services::memorydb::clusters::{
    cluster_dns_name, node_dns_name, node_name, node_names, slot_ranges,
};
use crate::services::memorydb::store::{Auth, DEFAULT_USER, SnapshotData};
use crate::services::redshift::logins::{self, Login, Refusal};
use crate::services::{Region, memorydb, redshift, serverless};
use crate::state::Scope;

/// Brings a region's servers of one service in line with its clusters, before the call
/// that changed them is answered.
pub async fn reconcile(api: &Api, scope: &Scope, service: Service) {
    match service {
        Service::Memorydb => {
            if api.engines.redis.binary().is_none() {
                return;
            }
            api.engines
                .redis
                .reconcile(scope, || {
                    api.state.read(scope, |region| {
                        let desired = redis_desired(&region.memorydb, scope);
                        let claimed = desired
                            .clusters
                            .iter()
                            .flat_map(redis::DesiredCluster::endpoint_ports)
                            .collect();
                        api.engines.endpoints.settle(Kind::Redis, scope, &claimed);
                        desired
                    })
                })
                .await;
        }
        // Clusters and namespaces share the region's PostgreSQL servers.
        // The Data API's calls change no server.
        Service::Data => {}
        Service::Redshift | Service::Serverless => {
            if api.engines.postgres.bin_dir().is_none() {
                return;
            }
            api.engines
                .postgres
                .reconcile(scope, || {
                    api.state.read(scope, |region| {
                        let desired = postgres_desired(api, scope, region);
                        let claimed = desired.running.iter().filter_map(|c| c.port).collect();
                        api.engines
                            .endpoints
                            .settle(Kind::Postgres, scope, &claimed);
                        desired
                    })
                })
                .await;
        }
    }
}

/// Every region's servers, of both services (at start-up and after a reset). The ports
/// clusters had are held for them first, when free, so that none of them is given to
/// another cluster that starts before them.
pub async fn reconcile_all(api: &Api) {
    let endpoints = &api.engines.endpoints;
    for scope in api.state.scopes() {
        let (redis, postgres) = api.state.read(&scope, |region| {
            (
                redis_desired(&region.memorydb, &scope),
                postgres_desired(api, &scope, region),
            )
        });
        if api.engines.redis.binary().is_some() {
            for port in redis
                .clusters
                .iter()
                .flat_map(redis::DesiredCluster::endpoint_ports)
            {
                endpoints.hold(Kind::Redis, &scope, port);
            }
        }
        if api.engines.postgres.bin_dir().is_some() {
            for port in postgres.running.iter().filter_map(|c| c.port) {
                endpoints.hold(Kind::Postgres, &scope, port);
            }
        }
    }
    for scope in api.state.scopes() {
        reconcile(api, &scope, Service::Memorydb).await;
        reconcile(api, &scope, Service::Redshift).await;
    }
}

/// How often the engines are checked for a server that died.
const SUPERVISION_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

/// Watches the engines until the task is aborted: a server that dies (out of memory, a
/// crash, a kill) is started again within a second, with its cluster's configuration and
/// users, and on its data (PostgreSQL's).
pub async fn supervise(api: &Api) {
    loop {
        tokio::time::sleep(SUPERVISION_INTERVAL).await;
        for scope in api.engines.postgres.exited() {
            reconcile(api, &scope, Service::Redshift).await;
        }
        for scope in api.engines.redis.exited() {
            reconcile(api, &scope, Service::Memorydb).await;
        }
        api.engines.redis.top_up().await;
    }
}

/// What a region's Redis servers must be: its clusters, and its snapshots' data.
fn redis_desired(store: &memorydb::Store, scope: &Scope) -> redis::Desired {
    redis::Desired {
        clusters: redis_clusters(store, scope),
        snapshots: store
            .snapshots
            .values()
            .map(|s| redis::DesiredSnapshot {
                name: s.name.clone(),
                source: match &s.data {
                    SnapshotData::Cluster(cluster) => {
                        redis::SnapshotSource::Cluster(cluster.clone())
                    }
                    SnapshotData::Copy(source) => redis::SnapshotSource::Copy(source.clone()),
                },
            })
            .collect(),
    }
}

/// What each MemoryDB cluster's Redis server must hold: the users of its ACL.
fn redis_clusters(store: &memorydb::Store, scope: &Scope) -> Vec<redis::DesiredCluster> {
    store
        .clusters
        .values()
        .map(|cluster| {
            let users = store
                .acls
                .get(&cluster.acl_name)
                .map(|acl| {
                    acl.users
                        .iter()
                        .filter_map(|name| store.users.get(name))
                        .map(|user| redis::DesiredUser {
                            name: user.name.clone(),
                            access_string: user.access_string.clone(),
                            password_hashes: match &user.auth {
                                Auth::Password(hashes) => {
                                    hashes.iter().map(PasswordHash::to_hex).collect()
                                }
                                Auth::NoPassword | Auth::Iam => Vec::new(),
                            },
                            nopass: user.name == DEFAULT_USER
                                && matches!(user.auth, Auth::NoPassword),
                            iam: matches!(user.auth, Auth::Iam),
                        })
                        .collect()
                })
                .unwrap_or_default();
            redis::DesiredCluster {
                name: cluster.name.clone(),
                port: cluster.engine_port,
                shards: slot_ranges(cluster.num_shards)
                    .into_iter()
                    .zip(1..)
                    .map(|(slots, shard)| redis::DesiredShard {
                        slots,
                        nodes: (1..=cluster.replicas_per_shard + 1)
                            .map(|node| node_name(&cluster.name, shard, node))
                            .collect(),
                    })
                    .collect(),
                tls: cluster.tls,
                node_ports: cluster.node_ports.clone(),
                dns_names: std::iter::once(cluster_dns_name(&cluster.name, &scope.region))
                    .chain(
                        node_names(
                            &cluster.name,
                            cluster.num_shards,
                            cluster.replicas_per_shard,
                        )
                        .map(|node| node_dns_name(&node, &cluster.name, &scope.region)),
                    )
                    .collect(),
                users,
                restore: cluster.restore_from.clone(),
            }
        })
        .collect()
}

/// The PostgreSQL servers of a region: one per Redshift cluster (but those being
/// deleted), and one per Serverless namespace that a workgroup serves. A namespace without
/// a workgroup keeps its data. Certificates name the endpoint host first.
fn postgres_desired(api: &Api, scope: &Scope, region: &Region) -> postgres::Desired {
    let host = api.engines.endpoints.host();
    let clusters = region
        .redshift
        .clusters
        .values()
        .filter(|c| c.deleting_since.is_none())
        .map(|c| postgres::DesiredCluster {
            identifier: c.identifier.clone(),
            master_username: Some(c.master_username.clone()),
            db_name: c.db_name.clone(),
            port: c.engine_port,
            names: std::iter::once(host.to_owned())
                .chain(c.host_names(scope))
                .collect(),
            version: redshift::store::version_string(),
        });
    let store = &region.serverless;
    let live = store
        .namespaces
        .values()
        .filter(|n| n.deleting_since.is_none());
    let namespaces = live.clone().filter_map(|n| {
        let workgroup = store.workgroup_of(&n.name)?;
        Some(postgres::DesiredCluster {
            identifier: namespace_engine_id(&n.name),
            master_username: n.admin_username.clone(),
            db_name: n.db_name.clone(),
            port: workgroup.engine_port,
            names: std::iter::once(host.to_owned())
                .chain(workgroup.host_names(scope))
                .collect(),
            version: redshift::store::version_string(),
        })
    });
    postgres::Desired {
        running: clusters.chain(namespaces).collect(),
        kept: live.map(|n| namespace_engine_id(&n.name)).collect(),
    }
}

/// What the engines' name of a namespace's server starts with. No cluster identifier
/// contains `--`, so it is never a cluster's.
const NAMESPACE_ENGINE_PREFIX: &str = "serverless--";

/// The engines' name of a namespace's server.
pub(crate) fn namespace_engine_id(namespace: &str) -> String {
    [NAMESPACE_ENGINE_PREFIX, namespace].concat()
}

/// The Redshift fronts' login checks, against the clusters' records on memshift's clock.
pub struct Logins {
    state: Arc<AppState>,
}

impl Logins {
    #[must_use]
    pub fn new(state: Arc<AppState>) -> Self {
        Logins { state }
    }
}

impl pgfront::Logins for Logins {
    fn check(
        &self,
        scope: &Scope,
        cluster: &str,
        user: &str,
        database: &str,
        password: &str,
    ) -> Result<Grant, pgfront::Refusal> {
        let clock = self.state.clock();
        let now = clock.now();
        let checked = self.state.read(scope, |region| {
            match cluster.strip_prefix(NAMESPACE_ENGINE_PREFIX) {
                Some(namespace) => serverless::credentials::check(
                    &region.serverless,
                    namespace,
                    user,
                    database,
                    password,
                    now,
                ),
                None => logins::check(&region.redshift, cluster, user, database, password, now),
            }
        });
        match checked {
            Ok(Login::Master) => Ok(Grant::Master),
            Ok(Login::Temporary(credential)) => Ok(Grant::Temporary(TemporaryLogin {
                db_user: credential.db_user,
                db_groups: credential.db_groups,
                auto_create: credential.auto_create,
                // The expiry on the system's clock, which is the server's.
                valid_until: credential.expires - clock.offset(),
            })),
            Err(Refusal::BadPassword) => Err((
                "28P01",
                format!("password authentication failed for user \"{user}\""),
            )),
            Err(Refusal::OnlyDatabase(only)) => Err((
                "28000",
                format!("user \"{user}\" may only log in to database \"{only}\""),
            )),
        }
    }
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Logins")
    }
}
