//! memshift's own PostgreSQL client against a cluster's endpoint: login, parameters bound
//! as values, text results with their types, errors that leave the session usable,
//! transactions and cancellation.
//!
//! These tests need PostgreSQL's server binaries (Debian's `postgresql` package).
//! Without them they are skipped with a message, unless `TEST_REQUIRE_POSTGRES=1`.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::{postgres_available, redshift, try_create_cluster};
use memshift::engines::pgclient::{Session, Target, cancel};
use memshift::{Config, Server};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn endpoint_port(client: &aws_sdk_redshift::Client, cluster: &str) -> u16 {
    let described = client
        .describe_clusters()
        .cluster_identifier(cluster)
        .send()
        .await
        .unwrap();
    let endpoint = described.clusters()[0].endpoint().unwrap();
    u16::try_from(endpoint.port().unwrap()).unwrap()
}

fn target(port: u16, password: &str) -> Target {
    Target {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
        user: "admin".to_owned(),
        password: password.to_owned(),
        database: "dev".to_owned(),
    }
}

/// A server with cluster `wh` and its endpoint's port; `None` without PostgreSQL.
async fn cluster() -> Option<(Server, u16)> {
    if !postgres_available() {
        return None;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = redshift(&server);
    try_create_cluster(&client, "wh").await.unwrap();
    let port = endpoint_port(&client, "wh").await;
    Some((server, port))
}

fn texts(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some((*v).to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn statements_bind_values_and_answer_typed_text() {
    let Some((server, port)) = cluster().await else {
        return;
    };

    let refused = Session::connect(&target(port, "not-it"), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(refused.code, "28P01", "{refused}");
    let mut s = Session::connect(&target(port, "Sup3rSecret"), TIMEOUT)
        .await
        .unwrap();
    assert!(s.pid() > 0);
    assert!(!s.in_transaction());

    // A parameter is a value compared, not SQL.
    let one = s.run("SELECT 1 WHERE 'a' = $1", &["a"]).await.unwrap();
    assert_eq!(one.rows, vec![texts(&["1"])]);
    assert_eq!(one.tag, "SELECT 1");
    assert_eq!(one.affected(), Some(1));
    let none = s.run("SELECT 1 WHERE 'a' = $1", &["b"]).await.unwrap();
    assert!(none.rows.is_empty());
    assert_eq!(none.columns.unwrap()[0].type_oid, 23);

    let created = s
        .run(
            "CREATE TABLE t (id int, name varchar(20), price numeric(10,2), at timestamp, \
             ok bool, data bytea)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (created.columns, created.tag.as_str()),
        (None, "CREATE TABLE")
    );
    let inserted = s
        .run(
            "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6), ($1 + 1, $7, $3, $4, $5, $6)",
            &[
                "1",
                "widget",
                "2.5",
                "2024-05-06 07:08:09",
                "true",
                "\\x0102",
                "'; DROP TABLE t; --",
            ],
        )
        .await
        .unwrap();
    assert_eq!(inserted.tag, "INSERT 0 2");
    assert_eq!(inserted.affected(), Some(2));
    assert_eq!(inserted.columns, None);

    let selected = s
        .run("SELECT * FROM t WHERE id >= $1 ORDER BY id", &["1"])
        .await
        .unwrap();
    assert_eq!(
        selected.rows,
        vec![
            texts(&["1", "widget", "2.50", "2024-05-06 07:08:09", "t", "\\x0102"]),
            texts(&[
                "2",
                "'; DROP TABLE t; --",
                "2.50",
                "2024-05-06 07:08:09",
                "t",
                "\\x0102"
            ]),
        ]
    );
    let columns = selected.columns.unwrap();
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name", "price", "at", "ok", "data"]);
    let types: Vec<u32> = columns.iter().map(|c| c.type_oid).collect();
    assert_eq!(types, [23, 1043, 1700, 1114, 16, 17]);
    let typmods: Vec<i32> = columns.iter().map(|c| c.type_modifier).collect();
    assert_eq!(typmods, [-1, 24, ((10 << 16) | 2) + 4, -1, -1, -1]);
    let numbers: Vec<i16> = columns.iter().map(|c| c.column).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
    assert!(columns.iter().all(|c| c.table_oid != 0));
    assert!(columns.iter().all(|c| c.table_oid == columns[0].table_oid));
    assert_eq!(columns[0].type_size, 4);
    assert_eq!(columns[1].type_size, -1);

    // NULLs and computed columns (no table).
    let computed = s.run("SELECT NULL::text, $1 || 'x'", &["y"]).await.unwrap();
    assert_eq!(computed.rows, vec![vec![None, Some("yx".to_owned())]]);
    assert_eq!(computed.columns.unwrap()[1].table_oid, 0);

    s.close().await;
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_leave_the_session_usable_and_transactions_roll_back() {
    let Some((server, port)) = cluster().await else {
        return;
    };
    let mut s = Session::connect(&target(port, "Sup3rSecret"), TIMEOUT)
        .await
        .unwrap();
    s.run("CREATE TABLE t (id int)", &[]).await.unwrap();
    s.run("INSERT INTO t VALUES (1), (2)", &[]).await.unwrap();

    // An error with its position; the session goes on.
    let e = s.run("SELECT nosuchcolumn FROM t", &[]).await.unwrap_err();
    assert_eq!(e.code, "42703", "{e}");
    assert_eq!(e.severity, "ERROR");
    assert_eq!(e.position, Some(8));
    let count = s.run("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(count.rows, vec![texts(&["2"])]);

    // One statement per run.
    let e = s.run("SELECT 1; DROP TABLE t", &[]).await.unwrap_err();
    assert_eq!(e.code, "42601");
    assert!(e.message.contains("multiple commands"), "{e}");
    let e = s
        .run("SELECT $1::int", &["not a number"])
        .await
        .unwrap_err();
    assert_eq!(e.code, "22P02");
    let e = s.run("SELECT 1\0", &[]).await.unwrap_err();
    assert_eq!(e.code, "22021");
    let empty = s.run("", &[]).await.unwrap();
    assert_eq!((empty.tag.as_str(), empty.columns), ("", None));

    // A transaction rolled back undoes its insert.
    s.simple("BEGIN").await.unwrap();
    assert!(s.in_transaction());
    s.run("INSERT INTO t (id) VALUES ($1)", &["3"])
        .await
        .unwrap();
    assert_eq!(
        s.run("SELECT count(*) FROM t", &[]).await.unwrap().rows,
        vec![texts(&["3"])]
    );
    // A failed statement leaves the transaction failed until ROLLBACK.
    s.run("SELECT nosuchcolumn FROM t", &[]).await.unwrap_err();
    assert!(s.in_transaction());
    assert_eq!(s.run("SELECT 1", &[]).await.unwrap_err().code, "25P02");
    s.simple("ROLLBACK").await.unwrap();
    assert!(!s.in_transaction());
    assert_eq!(
        s.run("SELECT count(*) FROM t", &[]).await.unwrap().rows,
        vec![texts(&["2"])]
    );
    assert_eq!(s.simple("COMMIT; SELEC").await.unwrap_err().code, "42601");
    s.simple("SELECT 1").await.unwrap();

    s.close().await;
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_statement_is_cancelled() {
    let Some((server, port)) = cluster().await else {
        return;
    };
    let mut s = Session::connect(&target(port, "Sup3rSecret"), TIMEOUT)
        .await
        .unwrap();
    let key = s.cancel_key();
    assert_eq!(key.pid, s.pid());
    let started = Instant::now();
    let sleeper = tokio::spawn(async move {
        let result = s.run("SELECT pg_sleep(30)", &[]).await;
        (s, result)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel(key).await.unwrap();
    let (mut s, result) = tokio::time::timeout(Duration::from_secs(10), sleeper)
        .await
        .expect("the statement ends soon after the cancel")
        .unwrap();
    let e = result.unwrap_err();
    assert_eq!(e.code, "57014", "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The session survives its cancelled statement.
    assert_eq!(
        s.run("SELECT 'still here'", &[]).await.unwrap().rows,
        vec![texts(&["still here"])]
    );
    s.close().await;
    server.shutdown().await.unwrap();
}
