//! Endpoint ports from a fixed range (`--endpoint-ports`), as a container publishes them:
//! clusters take the lowest free ports, a full range answers each service's capacity
//! fault and changes nothing, a deleted cluster's ports are taken again, and a restarted
//! memshift gives clusters back their ports.
//!
//! These tests need `redis-server` and PostgreSQL's server binaries. Without them they are
//! skipped with a message, unless `TEST_REQUIRE_REDIS=1` or `TEST_REQUIRE_POSTGRES=1` (as
//! CI sets), which makes their absence a failure.

mod common;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::ops::RangeInclusive;

use aws_sdk_memorydb::error::ProvideErrorMetadata;
use aws_sdk_memorydb::operation::create_cluster::CreateClusterError as CreateMemorydbError;
use aws_sdk_redshift::operation::create_cluster::CreateClusterError;
use common::{memorydb, redshift, redshift_status, status};
use memshift::Config;

fn engines_available() -> bool {
    let ca = std::sync::Arc::new(memshift::tls::Authority::at_first_use());
    let redis = memshift::engines::redis::Redis::new(None, ca, std::sync::Arc::default())
        .binary()
        .is_some();
    let postgres = memshift::engines::postgres::Postgres::new(None, None)
        .bin_dir()
        .is_some();
    assert!(
        redis || std::env::var_os("TEST_REQUIRE_REDIS").is_none(),
        "TEST_REQUIRE_REDIS is set but no redis-server is on PATH"
    );
    assert!(
        postgres || std::env::var_os("TEST_REQUIRE_POSTGRES").is_none(),
        "TEST_REQUIRE_POSTGRES is set but PostgreSQL's server binaries were not found"
    );
    if !(redis && postgres) {
        eprintln!("skipped: needs redis-server and PostgreSQL's server binaries");
    }
    redis && postgres
}

/// `len` consecutive loopback ports nothing listens on.
fn free_range(len: u16) -> RangeInclusive<u16> {
    loop {
        let first = TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let Some(last) = first.checked_add(len - 1) else {
            continue;
        };
        if (first..=last).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return first..=last;
        }
    }
}

/// The ports a MemoryDB cluster's endpoints are reported on: the cluster's, then every
/// node's.
async fn memorydb_ports(client: &aws_sdk_memorydb::Client, name: &str) -> Vec<u16> {
    let described = client
        .describe_clusters()
        .cluster_name(name)
        .show_shard_details(true)
        .send()
        .await
        .unwrap();
    let cluster = &described.clusters()[0];
    let port = |p: i32| u16::try_from(p).unwrap();
    std::iter::once(port(cluster.cluster_endpoint().unwrap().port()))
        .chain(
            cluster
                .shards()
                .iter()
                .flat_map(aws_sdk_memorydb::types::Shard::nodes)
                .map(|n| port(n.endpoint().unwrap().port())),
        )
        .collect()
}

async fn create_memorydb(
    client: &aws_sdk_memorydb::Client,
    name: &str,
    replicas: i32,
) -> Result<(), aws_sdk_memorydb::error::SdkError<CreateMemorydbError>> {
    client
        .create_cluster()
        .cluster_name(name)
        .node_type("db.t4g.small")
        .acl_name("open-access")
        .num_shards(1)
        .num_replicas_per_shard(replicas)
        .send()
        .await
        .map(|_| ())
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_port_range_runs_out_with_the_capacity_fault_and_its_ports_come_back() {
    if !engines_available() {
        return;
    }
    let range = free_range(4);
    let dir = common::temp_dir("endpoint-ports");
    let mut config = Config {
        data_dir: Some(dir.path().join("data")),
        ..Config::ephemeral().with_engines()
    };
    config.services.endpoint_ports = Some(range.clone());
    let server = memshift::start(&config).await.unwrap();
    let (memorydb, redshift) = (memorydb(&server), redshift(&server));

    // One shard with a replica: three endpoints, on the three lowest ports.
    create_memorydb(&memorydb, "first", 1).await.unwrap();
    let first = memorydb_ports(&memorydb, "first").await;
    let lowest: Vec<u16> = range.clone().take(3).collect();
    assert_eq!(
        first.iter().copied().collect::<BTreeSet<_>>(),
        lowest.iter().copied().collect::<BTreeSet<_>>()
    );
    assert!(first.iter().all(|p| listening(*p)), "{first:?}");

    // Two more endpoints than the range has left: the capacity fault, and no cluster.
    let err = create_memorydb(&memorydb, "second", 1).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some("InsufficientClusterCapacityFault"),
        "{err:?}"
    );
    assert_eq!(status(&err), 400);
    assert!(
        err.message().is_some_and(|m| m.contains("is taken")),
        "{err:?}"
    );
    let names: Vec<String> = memorydb
        .describe_clusters()
        .send()
        .await
        .unwrap()
        .clusters()
        .iter()
        .filter_map(|c| c.name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["first"]);

    // A Redshift cluster takes the last port; the next one finds none.
    common::try_create_cluster(&redshift, "warehouse")
        .await
        .unwrap();
    let endpoint = redshift
        .describe_clusters()
        .cluster_identifier("warehouse")
        .send()
        .await
        .unwrap()
        .clusters()[0]
        .endpoint()
        .unwrap()
        .clone();
    assert_eq!(endpoint.address(), Some("127.0.0.1"));
    assert_eq!(
        endpoint.port(),
        Some(i32::from(*range.end())),
        "{endpoint:?}"
    );
    let err = common::try_create_cluster(&redshift, "overflow")
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(CreateClusterError::is_insufficient_cluster_capacity_fault),
        "{err:?}"
    );
    assert_eq!(redshift_status(&err), 400);
    let err = redshift
        .describe_clusters()
        .cluster_identifier("overflow")
        .send()
        .await
        .unwrap_err();
    assert_eq!(redshift_status(&err), 404);

    // Deleted, the first cluster gives its ports back: the next cluster takes them.
    memorydb
        .delete_cluster()
        .cluster_name("first")
        .send()
        .await
        .unwrap();
    create_memorydb(&memorydb, "second", 1).await.unwrap();
    let second = memorydb_ports(&memorydb, "second").await;
    assert_eq!(
        second.iter().copied().collect::<BTreeSet<_>>(),
        first.iter().copied().collect::<BTreeSet<_>>()
    );
    replicas_find_no_port(&memorydb, &second).await;

    // Restarted on the same data directory, memshift gives every cluster its ports back.
    server.shutdown().await.unwrap();
    assert!(!second.iter().any(|p| listening(*p)));
    ports_come_back(&config, &second, *range.end()).await;
}

/// With every port of the range taken, a second replica for the cluster `second` (on
/// `ports`) is refused with the capacity fault, and the cluster keeps its shape and ports.
async fn replicas_find_no_port(client: &aws_sdk_memorydb::Client, ports: &[u16]) {
    let err = client
        .update_cluster()
        .cluster_name("second")
        .replica_configuration(
            aws_sdk_memorydb::types::ReplicaConfigurationRequest::builder()
                .replica_count(2)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("InsufficientClusterCapacityFault"),
        "{err:?}"
    );
    assert_eq!(status(&err), 400);
    let described = client
        .describe_clusters()
        .cluster_name("second")
        .show_shard_details(true)
        .send()
        .await
        .unwrap();
    let cluster = &described.clusters()[0];
    assert_eq!(cluster.number_of_shards(), Some(1));
    assert_eq!(cluster.shards().len(), 1, "{cluster:?}");
    assert_eq!(cluster.shards()[0].nodes().len(), 2, "{cluster:?}");
    assert_eq!(memorydb_ports(client, "second").await, ports);
}

/// A memshift started again on `config`'s data directory reports the MemoryDB cluster
/// `second` on `ports` and the Redshift cluster `warehouse` on `redshift_port`, and
/// listens there.
async fn ports_come_back(config: &Config, ports: &[u16], redshift_port: u16) {
    let server = memshift::start(config).await.unwrap();
    let memorydb = common::memorydb(&server);
    assert_eq!(memorydb_ports(&memorydb, "second").await, ports);
    assert!(ports.iter().all(|p| listening(*p)), "{ports:?}");
    let again = common::redshift(&server)
        .describe_clusters()
        .cluster_identifier("warehouse")
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.clusters()[0].endpoint().unwrap().port(),
        Some(i32::from(redshift_port))
    );
    assert!(listening(redshift_port));
    server.shutdown().await.unwrap();
}

/// A port taken by another program while memshift was down: the Redshift cluster and the
/// Serverless workgroup come back on other ports, and are reported where they listen.
#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_whose_port_was_taken_is_reported_where_it_listens() {
    if !common::postgres_available() {
        return;
    }
    let dir = common::temp_dir("taken-port");
    let config = Config {
        data_dir: Some(dir.path().join("data")),
        ..Config::ephemeral().with_engines()
    };
    let server = memshift::start(&config).await.unwrap();
    common::try_create_cluster(&redshift(&server), "warehouse")
        .await
        .unwrap();
    let serverless = common::serverless(&server);
    serverless
        .create_namespace()
        .namespace_name("lake")
        .admin_username("admin")
        .admin_user_password("Sup3rSecret")
        .send()
        .await
        .unwrap();
    serverless
        .create_workgroup()
        .workgroup_name("lake-wg")
        .namespace_name("lake")
        .send()
        .await
        .unwrap();
    let (cluster_port, workgroup_port) = reported_ports(&server).await;
    server.shutdown().await.unwrap();

    let _taken = [
        TcpListener::bind(("127.0.0.1", cluster_port)).unwrap(),
        TcpListener::bind(("127.0.0.1", workgroup_port)).unwrap(),
    ];
    let server = memshift::start(&config).await.unwrap();
    let (cluster_again, workgroup_again) = reported_ports(&server).await;
    assert_ne!(cluster_again, cluster_port);
    assert_ne!(workgroup_again, workgroup_port);
    let login = common::login(workgroup_again, "admin", "Sup3rSecret", "dev").await;
    assert!(login.is_ok(), "{:?}", login.err());
    let login = common::login(cluster_again, "admin", "Sup3rSecret", "dev").await;
    assert!(login.is_ok(), "{:?}", login.err());
    server.shutdown().await.unwrap();
}

/// The ports DescribeClusters and GetWorkgroup report for `warehouse` and `lake-wg`.
async fn reported_ports(server: &memshift::Server) -> (u16, u16) {
    let cluster = redshift(server)
        .describe_clusters()
        .cluster_identifier("warehouse")
        .send()
        .await
        .unwrap();
    let cluster_port = cluster.clusters()[0].endpoint().unwrap().port().unwrap();
    let workgroup = common::serverless(server)
        .get_workgroup()
        .workgroup_name("lake-wg")
        .send()
        .await
        .unwrap();
    let workgroup_port = workgroup
        .workgroup()
        .unwrap()
        .endpoint()
        .unwrap()
        .port()
        .unwrap();
    (
        u16::try_from(cluster_port).unwrap(),
        u16::try_from(workgroup_port).unwrap(),
    )
}
