//! Redshift clusters backed by a real PostgreSQL: temporary credentials log in with the
//! right identity, groups and privileges, only to their database and only until they
//! expire.
//!
//! These tests need PostgreSQL's server binaries (Debian's `postgresql` package).
//! Without them they are skipped with a message, unless `TEST_REQUIRE_POSTGRES=1`
//! (as CI sets), which makes their absence a failure.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_redshift::Client;
use common::{login, postgres_available, redshift, try_create_cluster};
use memshift::Config;

async fn credentials(
    client: &Client,
    cluster: &str,
    user: &str,
    groups: &[&str],
    auto_create: bool,
) -> (String, String) {
    let mut call = client
        .get_cluster_credentials()
        .cluster_identifier(cluster)
        .db_user(user)
        .db_name("dev")
        .auto_create(auto_create);
    for g in groups {
        call = call.db_groups(*g);
    }
    let out = call.send().await.unwrap();
    (
        out.db_user().unwrap().to_owned(),
        out.db_password().unwrap().to_owned(),
    )
}

async fn endpoint_port(client: &Client, cluster: &str) -> u16 {
    let described = client
        .describe_clusters()
        .cluster_identifier(cluster)
        .send()
        .await
        .unwrap();
    let c = &described.clusters()[0];
    assert_eq!(c.cluster_status(), Some("available"));
    let endpoint = c.endpoint().unwrap();
    assert_eq!(endpoint.address(), Some("127.0.0.1"));
    u16::try_from(endpoint.port().unwrap()).unwrap()
}

async fn one_value(client: &tokio_postgres::Client, sql: &str) -> String {
    let row = client.query_one(sql, &[]).await.unwrap();
    row.get::<_, String>(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn temporary_credentials_log_in_as_their_user_and_groups() {
    if !postgres_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = redshift(&server);
    let started = Instant::now();
    try_create_cluster(&client, "warehouse").await.unwrap();
    let port = endpoint_port(&client, "warehouse").await;
    let master = login(port, "admin", "Sup3rSecret", "dev").await.unwrap();
    eprintln!(
        "CreateCluster to a master login: {} ms",
        started.elapsed().as_millis()
    );
    master
        .batch_execute(
            "CREATE ROLE alice; CREATE ROLE analysts; \
             CREATE TABLE sales (amount int); INSERT INTO sales VALUES (5), (7); \
             GRANT SELECT ON sales TO analysts; CREATE TABLE secrets (x int);",
        )
        .await
        .unwrap();
    // The master password is the master's only.
    assert_eq!(
        login(port, "admin", "not-it", "dev").await.unwrap_err().0,
        "28P01"
    );

    // alice, joining analysts: she is IAM:alice, a member of alice and analysts, and has
    // the group's privileges but no others.
    let (user, password) = credentials(&client, "warehouse", "alice", &["analysts"], false).await;
    assert_eq!(user, "IAM:alice");
    let alice = login(port, &user, &password, "dev").await.unwrap();
    assert_eq!(
        one_value(&alice, "SELECT current_user::text").await,
        "IAM:alice"
    );
    assert_eq!(
        one_value(&alice, "SELECT pg_has_role('analysts', 'member')::text").await,
        "true"
    );
    assert_eq!(
        one_value(&alice, "SELECT pg_has_role('alice', 'member')::text").await,
        "true"
    );
    assert_eq!(
        one_value(&alice, "SELECT sum(amount)::text FROM sales").await,
        "12"
    );
    let denied = alice.query("SELECT * FROM secrets", &[]).await.unwrap_err();
    assert_eq!(denied.code().unwrap().code(), "42501");
    assert_eq!(
        one_value(&alice, "SELECT current_setting('is_superuser')").await,
        "off"
    );

    // Refused: a wrong password, another database.
    let (code, _) = login(port, &user, "not-the-password", "dev")
        .await
        .unwrap_err();
    assert_eq!(code, "28P01");
    let (code, message) = login(port, &user, &password, "postgres").await.unwrap_err();
    assert_eq!(code, "28000", "{message}");

    // Without AutoCreate, a user the database does not know cannot log in; with it, the
    // user is created.
    let (user, password) = credentials(&client, "warehouse", "bob", &[], false).await;
    let (code, message) = login(port, &user, &password, "dev").await.unwrap_err();
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("28000", "user \"bob\" does not exist")
    );
    let (user, password) = credentials(&client, "warehouse", "carol", &[], true).await;
    assert_eq!(user, "IAMA:carol");
    let carol = login(port, &user, &password, "dev").await.unwrap();
    assert_eq!(
        one_value(&carol, "SELECT pg_has_role('carol', 'member')::text").await,
        "true"
    );
    // A group that does not exist fails the login, not the call.
    let (user, password) = credentials(&client, "warehouse", "alice", &["nope"], false).await;
    let (code, message) = login(port, &user, &password, "dev").await.unwrap_err();
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("28000", "group \"nope\" does not exist")
    );

    // GetClusterCredentialsWithIAM logs in as the caller's IAM identity.
    let out = client
        .get_cluster_credentials_with_iam()
        .cluster_identifier("warehouse")
        .db_name("dev")
        .send()
        .await
        .unwrap();
    let iam = login(
        port,
        out.db_user().unwrap(),
        out.db_password().unwrap(),
        "dev",
    )
    .await
    .unwrap();
    assert_eq!(
        one_value(&iam, "SELECT current_user::text").await,
        out.db_user().unwrap()
    );
    server.shutdown().await.unwrap();
}

/// The master user's credential logs in with the master's powers, which PostgreSQL would
/// not pass on through membership alone: it may create roles, as the master may. An IAM
/// identity of the same name is not the master, and has none.
#[tokio::test(flavor = "multi_thread")]
async fn the_master_users_credential_has_the_masters_powers() {
    if !postgres_available() {
        return;
    }
    // The IAM user `admin` is the caller's identity, not the master user.
    let mut config = Config::ephemeral().with_engines();
    config.services.iam_identities.insert(
        "AKIAADMINUSER0000000".to_owned(),
        memshift::config::IamIdentity::User("admin".to_owned()),
    );
    let server = memshift::start(&config).await.unwrap();
    let client = redshift(&server);
    try_create_cluster(&client, "warehouse").await.unwrap();
    let port = endpoint_port(&client, "warehouse").await;
    let identity = common::redshift_as(&server, "AKIAADMINUSER0000000", "us-east-1")
        .get_cluster_credentials_with_iam()
        .cluster_identifier("warehouse")
        .db_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(identity.db_user(), Some("IAM:admin"));
    let iam_admin = login(
        port,
        identity.db_user().unwrap(),
        identity.db_password().unwrap(),
        "dev",
    )
    .await
    .unwrap();
    assert_eq!(
        one_value(&iam_admin, "SELECT current_setting('is_superuser')").await,
        "off"
    );
    let (master_user, master_password) =
        credentials(&client, "warehouse", "admin", &[], false).await;
    let admin = login(port, &master_user, &master_password, "dev")
        .await
        .unwrap();
    assert_eq!(
        one_value(&admin, "SELECT current_setting('is_superuser')").await,
        "on"
    );
    admin.batch_execute("CREATE ROLE dave").await.unwrap();
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_expire_on_memshifts_clock() {
    if !postgres_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = redshift(&server);
    try_create_cluster(&client, "clocked").await.unwrap();
    let port = endpoint_port(&client, "clocked").await;
    let (user, password) = credentials(&client, "clocked", "dave", &[], true).await;
    login(port, &user, &password, "dev").await.unwrap();
    // Fifteen minutes and a second later, as memshift sees it.
    let moved: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/_memshift/clock", server.url()))
        .body(r#"{"advance_seconds": 901}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(moved["offset_seconds"], 901.0);
    let (code, _) = login(port, &user, &password, "dev").await.unwrap_err();
    assert_eq!(code, "28P01");
    // New credentials work at the new time.
    let (user, password) = credentials(&client, "clocked", "dave", &[], true).await;
    login(port, &user, &password, "dev").await.unwrap();
    // A reset takes the cluster's server with it.
    let reset = reqwest::Client::new()
        .post(format!("{}/_memshift/reset", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(
        login(port, &user, &password, "dev").await.unwrap_err().0,
        "-"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn servers_stop_with_their_cluster_and_come_back_after_a_restart() {
    if !postgres_available() {
        return;
    }
    let dir = common::temp_dir("pg-restart");
    let config = Config {
        data_dir: Some(dir.path().join("data")),
        ..Config::ephemeral().with_engines()
    };
    let server = memshift::start(&config).await.unwrap();
    let client = redshift(&server);
    try_create_cluster(&client, "kept").await.unwrap();
    try_create_cluster(&client, "dropped").await.unwrap();
    let kept = endpoint_port(&client, "kept").await;
    let dropped = endpoint_port(&client, "dropped").await;
    let master = login(kept, "admin", "Sup3rSecret", "dev").await.unwrap();
    master
        .batch_execute("CREATE TABLE survives (x int); INSERT INTO survives VALUES (42);")
        .await
        .unwrap();
    client
        .delete_cluster()
        .cluster_identifier("dropped")
        .skip_final_cluster_snapshot(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        login(dropped, "admin", "Sup3rSecret", "dev")
            .await
            .unwrap_err()
            .0,
        "-"
    );
    server.shutdown().await.unwrap();
    assert_eq!(
        login(kept, "admin", "Sup3rSecret", "dev")
            .await
            .unwrap_err()
            .0,
        "-"
    );

    let server = memshift::start(&config).await.unwrap();
    let client = redshift(&server);
    let port = endpoint_port(&client, "kept").await;
    let master = login(port, "admin", "Sup3rSecret", "dev").await.unwrap();
    assert_eq!(
        one_value(&master, "SELECT x::text FROM survives").await,
        "42"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn version_answers_redshifts_string_and_tables_go_to_public() {
    if !postgres_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = redshift(&server);
    try_create_cluster(&client, "versioned").await.unwrap();
    let port = endpoint_port(&client, "versioned").await;
    let described = client
        .describe_clusters()
        .cluster_identifier("versioned")
        .send()
        .await
        .unwrap();
    let c = &described.clusters()[0];
    let redshift_version = format!(
        "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 \
         (Red Hat 3.4.2-6.fc3), Redshift {}.{}",
        c.cluster_version().unwrap(),
        c.cluster_revision_number().unwrap()
    );
    let master = login(port, "admin", "Sup3rSecret", "dev").await.unwrap();
    assert_eq!(
        one_value(&master, "SELECT version()").await,
        redshift_version
    );
    // Prepared (extended protocol) as well as simple queries.
    let rows = master.simple_query("SELECT version()").await.unwrap();
    let tokio_postgres::SimpleQueryMessage::Row(row) = &rows[1] else {
        panic!("{rows:?}");
    };
    assert_eq!(row.get(0), Some(redshift_version.as_str()));
    // PostgreSQL's own is still there, named in full.
    assert!(
        one_value(&master, "SELECT pg_catalog.version()")
            .await
            .starts_with("PostgreSQL 1")
    );
    // Tables are still created in public.
    master
        .batch_execute("CREATE TABLE facts (x int)")
        .await
        .unwrap();
    assert_eq!(
        one_value(&master, "SELECT current_schema()::text").await,
        "public"
    );
    assert_eq!(
        one_value(
            &master,
            "SELECT schemaname::text FROM pg_tables WHERE tablename = 'facts'"
        )
        .await,
        "public"
    );
    // A temporary credential's session, and a database created later, answer the same.
    let (user, password) = credentials(&client, "versioned", "erin", &[], true).await;
    let erin = login(port, &user, &password, "dev").await.unwrap();
    assert_eq!(one_value(&erin, "SELECT version()").await, redshift_version);
    master.batch_execute("CREATE DATABASE later").await.unwrap();
    let later = login(port, "admin", "Sup3rSecret", "later").await.unwrap();
    assert_eq!(
        one_value(&later, "SELECT version()").await,
        redshift_version
    );
    // Redshift's view of functions and procedures, which redshift_connector reads.
    master
        .batch_execute("CREATE PROCEDURE tidy() LANGUAGE plpgsql AS $$ BEGIN END $$")
        .await
        .unwrap();
    assert_eq!(
        one_value(
            &erin,
            "SELECT prokind::text FROM pg_catalog.pg_proc_info WHERE proname = 'tidy'"
        )
        .await,
        "p"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn memshift_reads_the_system_catalogs_not_a_users_tables_of_the_same_name() {
    if !postgres_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = redshift(&server);
    try_create_cluster(&client, "shadowed").await.unwrap();
    let port = endpoint_port(&client, "shadowed").await;
    // Every session's search path puts public before pg_catalog; a pg_roles in public of
    // the database memshift prepares logins in must not be what memshift reads.
    let master = login(port, "admin", "Sup3rSecret", "postgres")
        .await
        .unwrap();
    master
        .batch_execute(
            "CREATE VIEW public.pg_roles AS SELECT 'nobody'::name AS rolname; \
             CREATE ROLE frank;",
        )
        .await
        .unwrap();
    let (user, password) = credentials(&client, "shadowed", "frank", &[], false).await;
    let frank = login(port, &user, &password, "dev").await.unwrap();
    assert_eq!(
        one_value(&frank, "SELECT pg_has_role('frank', 'member')::text").await,
        "true"
    );
    server.shutdown().await.unwrap();
}

/// The pid of a cluster's PostgreSQL server started by this test process.
fn postmaster_of(cluster: &str) -> Option<u32> {
    let prefix = format!("memshift-pg-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .flat_map(|root| {
            std::fs::read_dir(root.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .filter(|dir| {
            dir.file_name()
                .to_string_lossy()
                .ends_with(&format!("-{cluster}"))
        })
        .find_map(|dir| {
            let pid = std::fs::read_to_string(dir.path().join("data/postmaster.pid")).ok()?;
            pid.lines().next()?.trim().parse().ok()
        })
}

async fn cluster_status(client: &aws_sdk_redshift::Client, id: &str) -> String {
    client
        .describe_clusters()
        .cluster_identifier(id)
        .send()
        .await
        .unwrap()
        .clusters()[0]
        .cluster_status()
        .unwrap_or_default()
        .to_owned()
}

/// A PostgreSQL server killed under its cluster is started again on its data, without a
/// call to the API; the cluster reads `rebooting` meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_dies_is_started_again_with_its_data() {
    if !postgres_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = redshift(&server);
    try_create_cluster(&client, "revived").await.unwrap();
    let port = endpoint_port(&client, "revived").await;
    let master = login(port, "admin", "Sup3rSecret", "dev").await.unwrap();
    master
        .batch_execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42);")
        .await
        .unwrap();
    drop(master);
    let pid = postmaster_of("revived").expect("the cluster's postmaster");
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let killed = Instant::now();
    // The cluster shows the transition while its server is started again.
    let mut statuses: Vec<String> = Vec::new();
    let master = loop {
        let status = cluster_status(&client, "revived").await;
        if statuses.last() != Some(&status) {
            statuses.push(status.clone());
        }
        if status == "available"
            && statuses.len() > 1
            && let Ok(master) = login(port, "admin", "Sup3rSecret", "dev").await
        {
            break master;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "the server did not come back: statuses {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(statuses, ["available", "rebooting", "available"]);
    eprintln!(
        "a killed postgres server answers again after {} ms",
        killed.elapsed().as_millis()
    );
    assert_ne!(postmaster_of("revived"), Some(pid));
    assert_eq!(one_value(&master, "SELECT x::text FROM kept").await, "42");
    server.shutdown().await.unwrap();
}

/// A credential logs in again and again, and keeps doing so when its login role was
/// dropped or lost its groups in between: the front makes it ready again.
#[tokio::test(flavor = "multi_thread")]
async fn a_credential_logs_in_again_after_its_role_was_dropped() {
    if !postgres_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = redshift(&server);
    try_create_cluster(&client, "again").await.unwrap();
    let port = endpoint_port(&client, "again").await;
    let master = login(port, "admin", "Sup3rSecret", "dev").await.unwrap();
    master
        .batch_execute("CREATE GROUP readers; CREATE TABLE shelf (x int); GRANT SELECT ON shelf TO GROUP readers;")
        .await
        .unwrap();
    let (user, password) = credentials(&client, "again", "reader", &["readers"], true).await;
    for _ in 0..3 {
        let session = login(port, &user, &password, "dev").await.unwrap();
        assert_eq!(one_value(&session, "SELECT current_user::text").await, user);
        assert_eq!(
            one_value(&session, "SELECT count(*)::text FROM shelf").await,
            "0"
        );
    }
    master
        .batch_execute(&format!("DROP ROLE \"{user}\""))
        .await
        .unwrap();
    let session = login(port, &user, &password, "dev").await.unwrap();
    assert_eq!(one_value(&session, "SELECT current_user::text").await, user);
    assert_eq!(
        one_value(&session, "SELECT count(*)::text FROM shelf").await,
        "0"
    );
    server.shutdown().await.unwrap();
}

/// The processes working in `dir` (their working directory is in it): PostgreSQL servers
/// and their backends on data there.
fn processes_in(dir: &std::path::Path) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
        })
        .collect()
}

/// A cluster's identifier, master user, master password and database.
type Cluster = (&'static str, &'static str, &'static str, &'static str);

/// A cluster of those below: its master user and no other logs in, to its own database
/// (owned by it, the only one besides PostgreSQL's own), which answers the cluster's
/// version; a temporary credential logs in and creates a table, `made_in_<id>`.
async fn check_cluster(client: &Client, cluster: Cluster, clusters: &[Cluster]) {
    let (id, master, password, db) = cluster;
    let port = endpoint_port(client, id).await;
    let session = login(port, master, password, db).await.unwrap();
    assert_eq!(
        one_value(
            &session,
            "SELECT current_user::text || ' ' || current_database()"
        )
        .await,
        format!("{master} {db}")
    );
    let described = client
        .describe_clusters()
        .cluster_identifier(id)
        .send()
        .await
        .unwrap();
    let c = &described.clusters()[0];
    assert_eq!(
        one_value(&session, "SELECT version()").await,
        format!(
            "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 \
             (Red Hat 3.4.2-6.fc3), Redshift {}.{}",
            c.cluster_version().unwrap(),
            c.cluster_revision_number().unwrap()
        )
    );
    assert_eq!(
        one_value(
            &session,
            "SELECT string_agg(datname || ':' || pg_get_userbyid(datdba), ',' \
             ORDER BY datname) FROM pg_database WHERE datname NOT LIKE 'template%'"
        )
        .await,
        if db == "dev" {
            format!("dev:{master},postgres:memshift")
        } else {
            format!("postgres:memshift,{db}:{master}")
        }
    );
    // Another cluster's master cannot log in here.
    let other = clusters.iter().find(|c| c.0 != id).unwrap();
    assert_eq!(
        login(port, other.1, other.2, db).await.unwrap_err().0,
        "28P01"
    );
    // A temporary credential logs in to the cluster's database and may create tables.
    let out = client
        .get_cluster_credentials()
        .cluster_identifier(id)
        .db_user("app")
        .db_name(db)
        .auto_create(true)
        .send()
        .await
        .unwrap();
    let app = login(port, out.db_user().unwrap(), out.db_password().unwrap(), db)
        .await
        .unwrap();
    app.batch_execute(&format!(
        "CREATE TABLE made_in_{id} (x int); INSERT INTO made_in_{id} VALUES (7)"
    ))
    .await
    .unwrap();
    assert_eq!(
        one_value(&app, "SELECT current_user::text").await,
        out.db_user().unwrap()
    );
}

/// Creates a cluster with its own master user and database.
async fn create_cluster_as(client: &Client, id: &str, master: &str, password: &str, db: &str) {
    client
        .create_cluster()
        .cluster_identifier(id)
        .node_type("dc2.large")
        .db_name(db)
        .master_username(master)
        .master_user_password(password)
        .send()
        .await
        .unwrap();
}

/// Creates `clusters` one after the other, then checks each is its own.
async fn create_and_check(client: &Client, clusters: &[Cluster]) {
    for &(id, master, password, db) in clusters {
        create_cluster_as(client, id, master, password, db).await;
    }
    for &cluster in clusters {
        check_cluster(client, cluster, clusters).await;
    }
}

/// Clusters created one after the other (after the first, from a server started ahead)
/// are each their own: their master user, their database (by its own name, owned by the
/// master, open to all in `public`, and no other), their credentials and their version.
/// A deleted cluster's server is gone; at shutdown every server goes, the one started
/// ahead too, and the clusters' data comes back with memshift.
#[tokio::test(flavor = "multi_thread")]
async fn clusters_created_one_after_another_are_each_their_own() {
    if !postgres_available() {
        return;
    }
    let dir = common::temp_dir("pg-several");
    let config = Config {
        data_dir: Some(dir.path().join("data")),
        ..Config::ephemeral().with_engines()
    };
    let root = dir.path().join("data").join("postgres");
    let server = memshift::start(&config).await.unwrap();
    let client = redshift(&server);
    let clusters: [Cluster; 3] = [
        ("north", "alice", "Passw0rd-North", "dev"),
        ("south", "bob", "Passw0rd-South", "sales"),
        ("east", "carol", "Passw0rd-East", "dev"),
    ];
    create_and_check(&client, &clusters).await;

    let south = root.join("000000000000-us-east-1-south");
    assert!(!processes_in(&south).is_empty());
    client
        .delete_cluster()
        .cluster_identifier("south")
        .skip_final_cluster_snapshot(true)
        .send()
        .await
        .unwrap();
    assert_eq!(processes_in(&south), Vec::<u32>::new());
    assert!(!south.exists());
    server.shutdown().await.unwrap();
    assert_eq!(processes_in(&root), Vec::<u32>::new());
    assert!(!root.join(".spare").exists());

    let server = memshift::start(&config).await.unwrap();
    let client = redshift(&server);
    for (id, master, password, db) in [clusters[0], clusters[2]] {
        let port = endpoint_port(&client, id).await;
        let session = login(port, master, password, db).await.unwrap();
        assert_eq!(
            one_value(&session, &format!("SELECT x::text FROM made_in_{id}")).await,
            "7"
        );
    }
    server.shutdown().await.unwrap();
    assert_eq!(processes_in(&root), Vec::<u32>::new());
}

/// With `servers_ahead` off, no PostgreSQL server is started ahead of the next cluster;
/// each new cluster starts its own, and works.
#[tokio::test(flavor = "multi_thread")]
async fn without_servers_ahead_no_server_waits_for_a_cluster() {
    if !postgres_available() {
        return;
    }
    let dir = common::temp_dir("pg-no-ahead");
    let mut config = Config {
        data_dir: Some(dir.path().join("data")),
        ..Config::ephemeral().with_engines()
    };
    config.services.servers_ahead = false;
    let root = dir.path().join("data").join("postgres");
    let server = memshift::start(&config).await.unwrap();
    let client = redshift(&server);
    let clusters: [Cluster; 2] = [
        ("west", "dave", "Passw0rd-West", "dev"),
        ("up", "erin", "Passw0rd-Up", "dev"),
    ];
    create_and_check(&client, &clusters).await;
    // A spare would be started 100 ms after a cluster's server is ready.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(!root.join(".spare").exists());
    assert_eq!(
        processes_in(&root).len(),
        processes_in(&root.join("000000000000-us-east-1-west")).len()
            + processes_in(&root.join("000000000000-us-east-1-up")).len()
    );
    server.shutdown().await.unwrap();
    assert_eq!(processes_in(&root), Vec::<u32>::new());
}
