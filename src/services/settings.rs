//! Settings of the emulated services, and of the engines behind their clusters.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use crate::state::IamIdentity;
use crate::tls::CaFiles;

/// Settings of the emulated services.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// MemoryDB users a region may hold (AWS's quota is 2,000; it can be raised on
    /// request, and so here).
    pub memorydb_user_quota: usize,
    /// How long a Redshift cluster stays `creating` (and `deleting`) before it is
    /// `available` (or gone). Zero: CreateCluster answers `creating`, and the cluster is
    /// `available` from the next call on.
    pub cluster_creation_delay: Duration,
    /// Access key id -> IAM identity, for GetClusterCredentialsWithIAM. Keys not listed
    /// map to `IAM:<access key id>`.
    pub iam_identities: HashMap<String, IamIdentity>,
    /// The Redis server binary MemoryDB clusters run; `redis-server` or
    /// `valkey-server` on `PATH` when not given.
    pub redis_server: Option<PathBuf>,
    /// The directory of PostgreSQL's server binaries Redshift clusters run (`off`: none);
    /// Debian's layout or `PATH` when not given.
    pub postgres_bin_dir: Option<PathBuf>,
    /// The CA that signs the endpoints' certificates; made at its first use (and kept in the
    /// data directory when there is one) when not given.
    pub tls_ca: Option<CaFiles>,
    /// The host every running endpoint is reported at, and its certificates name
    /// (`--endpoint-host`).
    pub endpoint_host: String,
    /// The address endpoints listen on: the server's own (`--host`).
    pub endpoint_address: IpAddr,
    /// The ports cluster and node endpoints take (`--endpoint-ports`); any free port when
    /// not given.
    pub endpoint_ports: Option<RangeInclusive<u16>>,
    /// Whether servers are started ahead of the clusters that will need them (spare
    /// Redis servers, a MemoryDB cluster of the last shape, a PostgreSQL server), for
    /// clusters ready in tens of milliseconds; off, each cluster starts its own servers
    /// when it is created, and nothing runs that no cluster uses (`--servers-ahead`).
    pub servers_ahead: bool,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            memorydb_user_quota: super::memorydb::store::MAX_USERS,
            cluster_creation_delay: Duration::ZERO,
            iam_identities: HashMap::new(),
            redis_server: None,
            postgres_bin_dir: None,
            tls_ca: None,
            endpoint_host: "127.0.0.1".to_owned(),
            endpoint_address: Ipv4Addr::LOCALHOST.into(),
            endpoint_ports: None,
            servers_ahead: true,
        }
    }
}
