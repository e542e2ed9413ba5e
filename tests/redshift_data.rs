//! The Redshift Data API through the official AWS SDK for Rust, as a user sees it: SQL
//! submitted to a cluster or a Serverless workgroup backed by a real PostgreSQL, run as
//! the right identity with its privileges, its statuses, results, pages, parameters,
//! batches, types, sessions and expiry.
//!
//! These tests need PostgreSQL's server binaries (Debian's `postgresql` package).
//! Without them they are skipped with a message, unless `TEST_REQUIRE_POSTGRES=1`
//! (as CI sets), which makes their absence a failure.

#![allow(
    clippy::too_many_lines,
    reason = "each test is one user journey, read top to bottom"
)]

mod common;

use std::time::{Duration, Instant};

use aws_sdk_redshiftdata::Client;
use aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput;
use aws_sdk_redshiftdata::operation::get_statement_result::GetStatementResultOutput;
use aws_sdk_redshiftdata::primitives::Blob;
use aws_sdk_redshiftdata::types::{
    ColumnMetadata, Field, ResultFormatString, SqlParameter, StatementData, StatementStatusString,
    StatusString,
};
use aws_sdk_redshiftserverless::types::WorkgroupStatus;
use common::{
    expect_error, failure, postgres_available, redshift, redshift_data, redshift_data_as,
    serverless, serverless_as, try_create_cluster,
};
use memshift::config::IamIdentity;
use memshift::{Config, Server};

const CLUSTER: &str = "warehouse";
const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const OTHER_KEY: &str = "AKIAOTHERKEY00000001";
const ROLE_KEY: &str = "AKIAROLEKEY000000001";
const NO_RESULT: &str =
    "Query does not have result. Please check query status with DescribeStatement.";
const NO_ENDPOINT: &str = "Redshift endpoint doesn't exist in this region.";

// ---------------------------------------------------------------------------------------
// Helpers.

/// A server with its engines and one cluster, `warehouse`, whose master is `admin`.
async fn with_cluster() -> (Server, Client) {
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    try_create_cluster(&redshift(&server), CLUSTER)
        .await
        .unwrap();
    let client = redshift_data(&server);
    (server, client)
}

fn param(name: &str, value: &str) -> SqlParameter {
    SqlParameter::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}

fn is_uuid(id: &str) -> bool {
    id.len() == 36 && uuid::Uuid::parse_str(id).is_ok() && id == id.to_ascii_lowercase()
}

fn long(v: i64) -> Field {
    Field::LongValue(v)
}

fn string(v: &str) -> Field {
    Field::StringValue(v.to_owned())
}

fn names(columns: &[ColumnMetadata]) -> Vec<&str> {
    columns.iter().map(|c| c.name().unwrap_or("?")).collect()
}

/// Submits `sql` with `params` (none if empty) to the cluster's `dev` as DbUser `user`;
/// answers the statement's id.
async fn submit(client: &Client, user: &str, sql: &str, params: &[SqlParameter]) -> String {
    client
        .execute_statement()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user(user)
        .sql(sql)
        .set_parameters((!params.is_empty()).then(|| params.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .id()
        .expect("an id")
        .to_owned()
}

/// Polls DescribeStatement every 20 ms until the statement is FINISHED, FAILED or
/// ABORTED, for at most 30 s; answers the last description.
async fn wait(client: &Client, id: &str) -> DescribeStatementOutput {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let described = client
            .describe_statement()
            .id(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeStatement {id}: {e:?}"));
        if matches!(
            described.status(),
            Some(StatusString::Finished | StatusString::Failed | StatusString::Aborted)
        ) {
            return described;
        }
        assert!(
            Instant::now() < deadline,
            "{id} is still {:?} after 30 s",
            described.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `sql` with `params` as `user` and waits for its end.
async fn run(
    client: &Client,
    user: &str,
    sql: &str,
    params: &[SqlParameter],
) -> DescribeStatementOutput {
    let id = submit(client, user, sql, params).await;
    wait(client, &id).await
}

/// Submits a batch of `sqls` to the cluster's `dev` as DbUser `admin`; answers its id.
async fn batch(client: &Client, sqls: &[&str]) -> String {
    client
        .batch_execute_statement()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .set_sqls(Some(sqls.iter().map(|&sql| sql.to_owned()).collect()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{sqls:?}: {e:?}"))
        .id()
        .expect("an id")
        .to_owned()
}

/// Asserts that a statement ended FINISHED.
#[track_caller]
fn assert_finished(done: &DescribeStatementOutput) {
    assert_eq!(
        done.status(),
        Some(&StatusString::Finished),
        "{:?}: {:?}",
        done.query_string(),
        done.error()
    );
}

/// The (first page of the) result of statement or sub-statement `id`.
async fn result(client: &Client, id: &str) -> GetStatementResultOutput {
    client
        .get_statement_result()
        .id(id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetStatementResult {id}: {e:?}"))
}

/// Runs `sql` with `params` as `user`, asserts it FINISHED and answers its (first page
/// of) result.
async fn query(
    client: &Client,
    user: &str,
    sql: &str,
    params: &[SqlParameter],
) -> GetStatementResultOutput {
    let done = run(client, user, sql, params).await;
    assert_finished(&done);
    result(client, done.id()).await
}

/// Moves memshift's clock forward.
async fn advance_clock(server: &Server, seconds: u32) {
    let moved: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/_memshift/clock", server.url()))
        .body(format!(r#"{{"advance_seconds": {seconds}}}"#))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(moved["offset_seconds"].as_f64().unwrap() >= f64::from(seconds));
}

// ---------------------------------------------------------------------------------------
// Journeys.

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_answers_through_the_sdk() {
    if !postgres_available() {
        return;
    }
    let (server, client) = with_cluster().await;

    // ExecuteStatement answers at once; DescribeStatement follows it to FINISHED.
    let create_sql = "create table sales (id int not null, amount numeric(10,2), note varchar(20) default 'none')";
    let created = client
        .execute_statement()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .statement_name("setup-sales")
        .sql(create_sql)
        .send()
        .await
        .unwrap();
    let create_id = created.id().unwrap().to_owned();
    assert!(is_uuid(&create_id), "{create_id}");
    assert_eq!(created.cluster_identifier(), Some(CLUSTER));
    assert_eq!(created.database(), Some("dev"));
    assert_eq!(created.db_user(), Some("admin"));
    assert_eq!(created.session_id(), None);
    let created_at = created.created_at().expect("CreatedAt").secs();
    let done = wait(&client, &create_id).await;
    assert_finished(&done);
    assert_eq!(done.id(), create_id);
    assert_eq!(done.query_string(), Some(create_sql));
    assert_eq!(done.has_result_set(), Some(false));
    assert_eq!(done.error(), None);
    assert_eq!(done.cluster_identifier(), Some(CLUSTER));
    assert_eq!(done.database(), Some("dev"));
    assert_eq!(done.db_user(), Some("admin"));
    assert_eq!(done.result_format(), Some(&ResultFormatString::Json));
    assert!(done.redshift_pid() > 0, "{done:?}");
    assert!(done.redshift_query_id() > 0, "{done:?}");
    assert!(done.duration() >= 0, "{done:?}");
    assert_eq!(done.created_at().unwrap().secs(), created_at);
    assert!(done.updated_at().unwrap().secs() >= created_at);
    // A statement without a result set has none to get.
    expect_error(
        client.get_statement_result().id(&create_id).send().await,
        "ValidationException",
        Some(NO_RESULT),
    );

    // BatchExecuteStatement: sub-statements `<id>:n`, each with its own outcome.
    let batch = client
        .batch_execute_statement()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .statement_name("load-sales")
        .sqls("insert into sales (id, amount) values (1, 2.5), (2, 3.75)")
        .sqls("create view big_sales as select id from sales where amount > 3")
        .sqls("select id, amount, note from sales order by id")
        .send()
        .await
        .unwrap();
    let batch_id = batch.id().unwrap().to_owned();
    assert!(is_uuid(&batch_id), "{batch_id}");
    assert_eq!(batch.cluster_identifier(), Some(CLUSTER));
    assert_eq!(batch.database(), Some("dev"));
    let done = wait(&client, &batch_id).await;
    assert_finished(&done);
    assert_eq!(done.query_string(), None);
    assert_eq!(done.redshift_query_id(), 0);
    assert!(done.has_result_set().is_some());
    let subs = done.sub_statements();
    assert_eq!(
        subs.iter().map(|s| s.id().to_owned()).collect::<Vec<_>>(),
        [1, 2, 3].map(|n| format!("{batch_id}:{n}"))
    );
    for sub in subs {
        assert_eq!(
            sub.status(),
            Some(&StatementStatusString::Finished),
            "{sub:?}"
        );
        assert_eq!(sub.error(), None);
        assert!(sub.redshift_query_id() > 0, "{sub:?}");
    }
    assert_eq!(
        subs[0].query_string(),
        Some("insert into sales (id, amount) values (1, 2.5), (2, 3.75)")
    );
    assert_eq!(
        (subs[0].result_rows(), subs[0].has_result_set()),
        (2, Some(false))
    );
    assert_eq!(subs[1].has_result_set(), Some(false));
    assert_eq!(
        (subs[2].result_rows(), subs[2].has_result_set()),
        (2, Some(true))
    );
    let got = result(&client, &format!("{batch_id}:3")).await;
    assert_eq!(
        got.records(),
        [
            vec![long(1), string("2.50"), string("none")],
            vec![long(2), string("3.75"), string("none")],
        ]
    );
    assert_eq!(got.total_num_rows(), 2);
    assert_eq!(got.next_token(), None);
    assert_eq!(names(got.column_metadata()), ["id", "amount", "note"]);
    expect_error(
        client.get_statement_result().id(&batch_id).send().await,
        "ValidationException",
        Some("BatchExecuteStatement result can only be retrieved with sub-statement id."),
    );

    // ResultFormat CSV: GetStatementResultV2 gives one RFC 4180 record per row.
    let csv = client
        .execute_statement()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .result_format(ResultFormatString::Csv)
        .sql("select id, note, null::varchar as nothing, 'a, \"b\"' as quoted from sales order by id")
        .send()
        .await
        .unwrap();
    let csv_id = csv.id().unwrap().to_owned();
    let done = wait(&client, &csv_id).await;
    assert_finished(&done);
    assert_eq!(done.result_format(), Some(&ResultFormatString::Csv));
    assert_eq!(done.result_rows(), 2);
    let v2 = client
        .get_statement_result_v2()
        .id(&csv_id)
        .send()
        .await
        .unwrap();
    let lines: Vec<&str> = v2
        .records()
        .iter()
        .map(|r| r.as_csv_records().expect("CSVRecords").as_str())
        .collect();
    assert_eq!(
        lines,
        ["1,none,,\"a, \"\"b\"\"\"", "2,none,,\"a, \"\"b\"\"\""]
    );
    assert_eq!(v2.result_format(), Some(&ResultFormatString::Csv));
    assert_eq!(v2.total_num_rows(), 2);
    assert_eq!(v2.next_token(), None);
    assert_eq!(
        names(v2.column_metadata()),
        ["id", "note", "nothing", "quoted"]
    );
    // Each format has its own operation.
    expect_error(
        client.get_statement_result().id(&csv_id).send().await,
        "ValidationException",
        None,
    );
    expect_error(
        client
            .get_statement_result_v2()
            .id(format!("{batch_id}:3"))
            .send()
            .await,
        "ValidationException",
        None,
    );

    // CancelStatement of a finished statement.
    expect_error(
        client.cancel_statement().id(&create_id).send().await,
        "ValidationException",
        Some(&format!(
            "Could not cancel a query that is already in FINISHED state with ID: {create_id}"
        )),
    );

    // A failed statement, and another caller's.
    let failed = run(&client, "admin", "select * from nowhere", &[]).await;
    assert_eq!(failed.status(), Some(&StatusString::Failed));
    assert!(
        failed.error().unwrap().starts_with("ERROR: "),
        "{:?}",
        failed.error()
    );
    let other = redshift_data_as(&server, OTHER_KEY, "us-east-1");
    let others = submit(&other, "admin", "select 1", &[]).await;
    assert_finished(&wait(&other, &others).await);

    // ListStatements: FINISHED by default, newest first; ALL; by status, name, paging.
    let mine = client
        .list_statements()
        .role_level(false)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = mine.statements().iter().map(StatementData::id).collect();
    assert_eq!(ids, [csv_id.as_str(), &batch_id, &create_id]);
    assert_eq!(mine.next_token(), None);
    let batch_item = &mine.statements()[1];
    assert_eq!(batch_item.is_batch_statement(), Some(true));
    assert_eq!(batch_item.query_strings().len(), 3);
    assert_eq!(batch_item.statement_name(), Some("load-sales"));
    assert_eq!(batch_item.status(), Some(&StatusString::Finished));
    let create_item = &mine.statements()[2];
    assert_eq!(create_item.query_string(), Some(create_sql));
    assert_ne!(create_item.is_batch_statement(), Some(true));
    assert!(create_item.created_at().is_some() && create_item.updated_at().is_some());
    assert_eq!(
        mine.statements()[0].result_format(),
        Some(&ResultFormatString::Csv)
    );
    let all = client
        .list_statements()
        .role_level(false)
        .status(StatusString::All)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = all.statements().iter().map(StatementData::id).collect();
    assert_eq!(ids, [failed.id(), &csv_id, &batch_id, &create_id]);
    let only_failed = client
        .list_statements()
        .status(StatusString::Failed)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = only_failed
        .statements()
        .iter()
        .map(StatementData::id)
        .collect();
    assert_eq!(ids, [failed.id()]);
    let named = client
        .list_statements()
        .statement_name("setup")
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = named.statements().iter().map(StatementData::id).collect();
    assert_eq!(ids, [create_id.as_str()]);
    let elsewhere = client
        .list_statements()
        .cluster_identifier("nowhere")
        .send()
        .await
        .unwrap();
    assert!(elsewhere.statements().is_empty());
    let first = client
        .list_statements()
        .role_level(false)
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.statements().len(), 2);
    let token = first.next_token().expect("a NextToken").to_owned();
    let rest = client
        .list_statements()
        .role_level(false)
        .max_results(2)
        .next_token(token)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = rest.statements().iter().map(StatementData::id).collect();
    assert_eq!(ids, [create_id.as_str()]);
    assert_eq!(rest.next_token(), None);
    // The other caller sees only its own with RoleLevel false.
    let theirs = other
        .list_statements()
        .role_level(false)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = theirs.statements().iter().map(StatementData::id).collect();
    assert_eq!(ids, [others.as_str()]);

    // Metadata.
    let databases = client
        .list_databases()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .send()
        .await
        .unwrap();
    let databases = databases.databases();
    assert!(databases.iter().any(|d| d == "dev"), "{databases:?}");
    for hidden in ["postgres", "template0", "template1"] {
        assert!(!databases.iter().any(|d| d == hidden), "{databases:?}");
    }
    let schemas = client
        .list_schemas()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .send()
        .await
        .unwrap();
    for schema in ["information_schema", "pg_catalog", "public"] {
        assert!(
            schemas.schemas().iter().any(|s| s == schema),
            "{:?}",
            schemas.schemas()
        );
    }
    let public = client
        .list_schemas()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .schema_pattern("pub%")
        .send()
        .await
        .unwrap();
    assert_eq!(public.schemas(), ["public"]);
    let tables = client
        .list_tables()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .schema_pattern("public")
        .table_pattern("%sales")
        .send()
        .await
        .unwrap();
    let mut found: Vec<(&str, &str, &str)> = tables
        .tables()
        .iter()
        .map(|t| {
            (
                t.name().unwrap_or("?"),
                t.r#type().unwrap_or("?"),
                t.schema().unwrap_or("?"),
            )
        })
        .collect();
    found.sort_unstable();
    assert_eq!(
        found,
        [
            ("big_sales", "VIEW", "public"),
            ("sales", "TABLE", "public")
        ]
    );
    let described = client
        .describe_table()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .schema("public")
        .table("sales")
        .send()
        .await
        .unwrap();
    assert_eq!(described.table_name(), Some("sales"));
    let columns = described.column_list();
    assert_eq!(names(columns), ["id", "amount", "note"]);
    assert_eq!(
        (
            columns[0].type_name(),
            columns[0].precision(),
            columns[0].scale(),
            columns[0].nullable()
        ),
        (Some("int4"), 10, 0, 0)
    );
    assert_eq!(
        (
            columns[1].type_name(),
            columns[1].precision(),
            columns[1].scale(),
            columns[1].nullable()
        ),
        (Some("numeric"), 10, 2, 1)
    );
    assert_eq!(
        (
            columns[2].type_name(),
            columns[2].precision(),
            columns[2].nullable()
        ),
        (Some("varchar"), 20, 1)
    );
    assert!(
        columns[2]
            .column_default()
            .unwrap_or_default()
            .contains("none"),
        "{:?}",
        columns[2]
    );
    assert_eq!(columns[0].label(), None);
    // DescribeTable pages its columns.
    let page = client
        .describe_table()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .schema("public")
        .table("sales")
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(names(page.column_list()), ["id", "amount"]);
    let page = client
        .describe_table()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .schema("public")
        .table("sales")
        .max_results(2)
        .next_token(page.next_token().expect("a NextToken"))
        .send()
        .await
        .unwrap();
    assert_eq!(names(page.column_list()), ["note"]);
    assert_eq!(page.next_token(), None);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_db_user_runs_with_its_roles_privileges_only() {
    if !postgres_available() {
        return;
    }
    let (server, client) = with_cluster().await;
    let setup = batch(
        &client,
        &[
            "create table a (x int)",
            "insert into a values (1), (2)",
            "create table b (y int)",
            "insert into b values (3)",
            "create role alice",
            "grant select on a to alice",
        ],
    )
    .await;
    let done = wait(&client, &setup).await;
    assert_finished(&done);
    assert_eq!(
        query(&client, "admin", "select current_user", &[])
            .await
            .records(),
        [vec![string("IAM:admin")]]
    );

    // alice is IAM:alice, a member of alice: she reads a, not b.
    let who = query(&client, "alice", "select current_user", &[]).await;
    assert_eq!(who.records(), [vec![string("IAM:alice")]]);
    let sum = query(&client, "alice", "select sum(x) from a", &[]).await;
    assert_eq!(sum.records(), [vec![long(3)]]);
    let denied = run(&client, "alice", "select * from b", &[]).await;
    assert_eq!(denied.status(), Some(&StatusString::Failed));
    let error = denied.error().unwrap_or_default();
    assert!(error.starts_with("ERROR: "), "{error}");
    assert!(error.contains("permission denied"), "{error}");
    expect_error(
        client.get_statement_result().id(denied.id()).send().await,
        "ValidationException",
        Some(NO_RESULT),
    );
    let written = run(&client, "alice", "insert into a values (4)", &[]).await;
    assert_eq!(written.status(), Some(&StatusString::Failed));
    assert!(
        written
            .error()
            .unwrap_or_default()
            .contains("permission denied"),
        "{:?}",
        written.error()
    );

    // A DbUser without its role fails as a login does.
    let stranger = run(&client, "bob", "select 1", &[]).await;
    assert_eq!(stranger.status(), Some(&StatusString::Failed));
    assert!(
        stranger
            .error()
            .unwrap_or_default()
            .contains("user \"bob\" does not exist"),
        "{:?}",
        stranger.error()
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_statement_is_started_and_can_be_cancelled() {
    if !postgres_available() {
        return;
    }
    let (server, client) = with_cluster().await;
    let id = submit(&client, "admin", "select pg_sleep(30)", &[]).await;
    let order = |s: &StatusString| match s {
        StatusString::Submitted => 0,
        StatusString::Picked => 1,
        StatusString::Started => 2,
        other => panic!("{id} is {other:?} before it started"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = 0;
    let started = loop {
        let described = client.describe_statement().id(&id).send().await.unwrap();
        let now = order(described.status().expect("a Status"));
        assert!(
            now >= last,
            "the status went back to {:?}",
            described.status()
        );
        last = now;
        if now == 2 {
            break described;
        }
        assert!(Instant::now() < deadline, "{id} did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(started.redshift_pid() > 0, "{started:?}");
    assert!(started.redshift_query_id() > 0, "{started:?}");
    assert_eq!(started.duration(), -1);
    assert_eq!(started.result_rows(), -1);
    assert!(started.has_result_set().is_some(), "{started:?}");
    expect_error(
        client.get_statement_result().id(&id).send().await,
        "ValidationException",
        Some(NO_RESULT),
    );

    let cancelled = client.cancel_statement().id(&id).send().await.unwrap();
    assert_eq!(cancelled.status(), Some(true));
    let asked = Instant::now();
    let done = wait(&client, &id).await;
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "ABORTED only after {:?}",
        asked.elapsed()
    );
    assert_eq!(done.status(), Some(&StatusString::Aborted));
    assert_eq!(
        done.error(),
        Some("ERROR: canceling statement due to user request")
    );
    assert!(done.duration() >= 0);

    // A finished statement cannot be cancelled.
    let quick = run(&client, "admin", "select 1", &[]).await;
    assert_finished(&quick);
    expect_error(
        client.cancel_statement().id(quick.id()).send().await,
        "ValidationException",
        Some(&format!(
            "Could not cancel a query that is already in FINISHED state with ID: {}",
            quick.id()
        )),
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_result_is_read_page_by_page() {
    if !postgres_available() {
        return;
    }
    let (server, client) = with_cluster().await;
    let done = run(
        &client,
        "admin",
        "select g from generate_series(1,10000) g",
        &[],
    )
    .await;
    assert_finished(&done);
    assert_eq!(done.result_rows(), 10_000);
    assert!(done.result_size() > 0, "{done:?}");
    let mut values = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client
            .get_statement_result()
            .id(done.id())
            .set_next_token(token.take())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert_eq!(page.total_num_rows(), 10_000);
        assert_eq!(names(page.column_metadata()), ["g"]);
        for row in page.records() {
            assert_eq!(row.len(), 1);
            values.push(*row[0].as_long_value().expect("a longValue"));
        }
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 100, "no last page");
    }
    assert_eq!(values.len(), 10_000);
    assert_eq!(values, (1..=10_000).collect::<Vec<i64>>());
    assert_eq!(pages, 10);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn parameters_are_bound_as_values() {
    if !postgres_available() {
        return;
    }
    let (server, client) = with_cluster().await;
    assert_finished(
        &run(
            &client,
            "admin",
            "create table a (v varchar(100), n int)",
            &[],
        )
        .await,
    );

    // A value holding SQL stays a value.
    let evil = "x'); drop table a; --";
    let done = run(
        &client,
        "admin",
        "insert into a (v, n) values (:v, :n)",
        &[param("v", evil), param("n", "41")],
    )
    .await;
    assert_finished(&done);
    assert_eq!(done.result_rows(), 1);
    let given: Vec<(&str, &str)> = done
        .query_parameters()
        .iter()
        .map(|p| (p.name(), p.value()))
        .collect();
    assert_eq!(given, [("v", evil), ("n", "41")]);
    let stored = query(&client, "admin", "select v, n from a", &[]).await;
    assert_eq!(stored.records(), [vec![string(evil), long(41)]]);

    // '41' is an int to PostgreSQL where it needs one.
    let got = query(
        &client,
        "admin",
        "select :n + 1 as next",
        &[param("n", "41")],
    )
    .await;
    assert_eq!(got.records(), [vec![long(42)]]);

    // Inside quotes, comments and casts, `:name` is not a parameter.
    let got = query(
        &client,
        "admin",
        "select ':v' as quoted, :n::int as cast -- :v\n",
        &[param("n", "41")],
    )
    .await;
    assert_eq!(got.records(), [vec![string(":v"), long(41)]]);

    // A parameter not used, or one used but not given, is refused.
    expect_error(
        client
            .execute_statement()
            .cluster_identifier(CLUSTER)
            .database("dev")
            .db_user("admin")
            .sql("select :n")
            .parameters(param("n", "1"))
            .parameters(param("x", "2"))
            .send()
            .await,
        "ValidationException",
        Some("Parameters list contains unused parameters. Unused parameters: [x]"),
    );
    expect_error(
        client
            .execute_statement()
            .cluster_identifier(CLUSTER)
            .database("dev")
            .db_user("admin")
            .sql("select :n, :m")
            .parameters(param("n", "1"))
            .send()
            .await,
        "ValidationException",
        None,
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_is_one_transaction() {
    if !postgres_available() {
        return;
    }
    let (server, client) = with_cluster().await;
    let batch_id = batch(
        &client,
        &[
            "create table c (x int)",
            "insert into c values (1)",
            "select * from no_such_table",
            "insert into c values (2)",
        ],
    )
    .await;
    let done = wait(&client, &batch_id).await;
    assert_eq!(done.status(), Some(&StatusString::Failed));
    assert!(done.error().is_some(), "{done:?}");
    let subs = done.sub_statements();
    assert_eq!(subs.len(), 4);
    let statuses: Vec<_> = subs.iter().map(|s| s.status().cloned()).collect();
    assert_eq!(
        statuses,
        [
            Some(StatementStatusString::Finished),
            Some(StatementStatusString::Finished),
            Some(StatementStatusString::Failed),
            Some(StatementStatusString::Aborted),
        ]
    );
    assert_eq!(subs[2].id(), format!("{batch_id}:3"));
    let error = subs[2].error().unwrap_or_default();
    assert!(error.starts_with("ERROR: "), "{error}");
    assert!(error.contains("no_such_table"), "{error}");
    assert_eq!(subs[0].error(), None);
    // The earlier sub-statements were rolled back: c does not exist.
    let gone = run(&client, "admin", "select * from c", &[]).await;
    assert_eq!(gone.status(), Some(&StatusString::Failed));
    assert!(
        gone.error()
            .unwrap_or_default()
            .contains("relation \"c\" does not exist"),
        "{:?}",
        gone.error()
    );

    // A batch that succeeds: each result by its sub-statement's id.
    let batch_id = batch(
        &client,
        &[
            "create table d as select 5 as x union all select 6",
            "select x from d order by x",
        ],
    )
    .await;
    assert_finished(&wait(&client, &batch_id).await);
    let got = result(&client, &format!("{batch_id}:2")).await;
    assert_eq!(got.records(), [vec![long(5)], vec![long(6)]]);
    assert_eq!(got.total_num_rows(), 2);
    expect_error(
        client.get_statement_result().id(&batch_id).send().await,
        "ValidationException",
        Some("BatchExecuteStatement result can only be retrieved with sub-statement id."),
    );
    expect_error(
        client
            .get_statement_result()
            .id(format!("{batch_id}:1"))
            .send()
            .await,
        "ValidationException",
        Some(NO_RESULT),
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn each_type_has_its_field_and_metadata() {
    if !postgres_available() {
        return;
    }
    let (server, client) = with_cluster().await;
    let setup = batch(
        &client,
        &[
            "create table t (c_int2 int2, c_int4 int4 not null, c_int8 int8, c_float4 float4, \
             c_float8 float8, c_numeric numeric(10,2), c_bool bool, c_varchar varchar(20), \
             c_char char(5), c_date date, c_timestamp timestamp, c_timestamptz timestamptz, \
             c_bytea bytea, c_null int4)",
            "insert into t values (2, 4, 8000000000, 1.5, 2.25, 2.5, true, 'hello', 'ab', \
             '2022-02-22', '2022-02-22 00:00:00', '2022-02-22 10:00:00+00', '\\x0102ff', null)",
        ],
    )
    .await;
    assert_finished(&wait(&client, &setup).await);
    let got = query(&client, "admin", "select *, 1 + 1 as expr from t", &[]).await;
    assert_eq!(got.total_num_rows(), 1);
    let row = &got.records()[0];
    assert_eq!(row.len(), 15);
    assert_eq!(row[0], long(2));
    assert_eq!(row[1], long(4));
    assert_eq!(row[2], long(8_000_000_000));
    assert_eq!(row[3], Field::DoubleValue(1.5));
    assert_eq!(row[4], Field::DoubleValue(2.25));
    assert_eq!(row[5], string("2.50"));
    assert_eq!(row[6], Field::BooleanValue(true));
    assert_eq!(row[7], string("hello"));
    assert_eq!(row[8], string("ab   "));
    assert_eq!(row[9], string("2022-02-22"));
    assert_eq!(row[10], string("2022-02-22 00:00:00.0"));
    assert!(
        row[11]
            .as_string_value()
            .is_ok_and(|s| s.starts_with("2022-02-22")),
        "{:?}",
        row[11]
    );
    assert_eq!(row[12], Field::BlobValue(Blob::new(vec![1, 2, 255])));
    assert_eq!(row[13], Field::IsNull(true));
    assert_eq!(row[14], long(2));

    // (name, typeName, precision, scale, nullable)
    let expected = [
        ("c_int2", "int2", 5, 0, 1),
        ("c_int4", "int4", 10, 0, 0),
        ("c_int8", "int8", 19, 0, 1),
        ("c_float4", "float4", 8, 8, 1),
        ("c_float8", "float8", 17, 17, 1),
        ("c_numeric", "numeric", 10, 2, 1),
        ("c_bool", "bool", 1, 0, 1),
        ("c_varchar", "varchar", 20, 0, 1),
        ("c_char", "bpchar", 5, 0, 1),
        ("c_date", "date", 13, 0, 1),
        ("c_timestamp", "timestamp", 29, 6, 1),
        ("c_timestamptz", "timestamptz", 35, 6, 1),
        ("c_bytea", "varbyte", -1, -1, 1),
        ("c_null", "int4", 10, 0, 1),
    ];
    let columns = got.column_metadata();
    assert_eq!(columns.len(), 15);
    for (column, (name, type_name, precision, scale, nullable)) in columns.iter().zip(expected) {
        assert_eq!(column.name(), Some(name));
        assert_eq!(column.label(), Some(name));
        assert_eq!(column.type_name(), Some(type_name), "{name}");
        if precision >= 0 {
            assert_eq!(
                (column.precision(), column.scale()),
                (precision, scale),
                "{name}"
            );
        }
        assert_eq!(column.nullable(), nullable, "{name}");
        assert_eq!(column.schema_name(), Some("public"), "{name}");
        assert_eq!(column.table_name(), Some("t"), "{name}");
    }
    assert!(columns[1].is_signed() && columns[5].is_signed());
    assert!(!columns[7].is_signed());
    assert!(columns[7].is_case_sensitive() && !columns[1].is_case_sensitive());
    // An expression belongs to no table.
    let expr = &columns[14];
    assert_eq!(
        (expr.name(), expr.type_name(), expr.table_name()),
        (Some("expr"), Some("int4"), Some(""))
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn results_expire_after_a_day() {
    if !postgres_available() {
        return;
    }
    let (server, client) = with_cluster().await;
    let got = query(&client, "admin", "select 1 as one", &[]).await;
    assert_eq!(got.records(), [vec![long(1)]]);
    let done = run(&client, "admin", "select 2 as two", &[]).await;
    assert_finished(&done);
    let id = done.id().to_owned();
    // Ids that were never given.
    let never = uuid::Uuid::new_v4().to_string();
    expect_error(
        client.describe_statement().id(&never).send().await,
        "ResourceNotFoundException",
        Some("Query does not exist."),
    );
    let message = expect_error(
        client.describe_statement().id("not-an-id").send().await,
        "ValidationException",
        None,
    );
    assert!(
        message.starts_with("id must satisfy regex pattern:"),
        "{message}"
    );

    advance_clock(&server, 86_401).await;
    expect_error(
        client.describe_statement().id(&id).send().await,
        "ResourceNotFoundException",
        Some("Query does not exist."),
    );
    expect_error(
        client.get_statement_result().id(&id).send().await,
        "ResourceNotFoundException",
        Some("Query does not exist."),
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_keeps_its_backend() {
    if !postgres_available() {
        return;
    }
    let (server, client) = with_cluster().await;
    let first = client
        .execute_statement()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .session_keep_alive_seconds(600)
        .sql("create temp table scratch as select 7 as x")
        .send()
        .await
        .unwrap();
    let session = first.session_id().expect("a SessionId").to_owned();
    let done = wait(&client, first.id().unwrap()).await;
    assert_finished(&done);
    assert_eq!(done.session_id(), Some(session.as_str()));
    let pid = done.redshift_pid();
    assert!(pid > 0);

    // The same backend: the temporary table is there.
    let second = client
        .execute_statement()
        .session_id(&session)
        .sql("select x, pg_backend_pid() from scratch")
        .send()
        .await
        .unwrap();
    assert_eq!(second.session_id(), Some(session.as_str()));
    let done = wait(&client, second.id().unwrap()).await;
    assert_finished(&done);
    assert_eq!(done.redshift_pid(), pid);
    let got = result(&client, done.id()).await;
    assert_eq!(got.records(), [vec![long(7), long(pid)]]);

    // A session runs one statement at a time.
    let sleeping = client
        .execute_statement()
        .session_id(&session)
        .sql("select pg_sleep(30)")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    let (status, code, message) = failure(
        client
            .execute_statement()
            .session_id(&session)
            .sql("select 1")
            .send()
            .await,
    );
    assert_eq!(
        (status, code.as_str()),
        (400, "ActiveSessionsExceededException"),
        "{message}"
    );
    client
        .cancel_statement()
        .id(&sleeping)
        .send()
        .await
        .unwrap();
    assert_eq!(
        wait(&client, &sleeping).await.status(),
        Some(&StatusString::Aborted)
    );

    // A session is not also a cluster; an unknown one is refused.
    expect_error(
        client
            .execute_statement()
            .session_id(&session)
            .cluster_identifier(CLUSTER)
            .database("dev")
            .sql("select 1")
            .send()
            .await,
        "ValidationException",
        None,
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    expect_error(
        client
            .execute_statement()
            .session_id(&unknown)
            .sql("select 1")
            .send()
            .await,
        "ValidationException",
        Some(&format!("Session with Id: {unknown} is invalid")),
    );

    // Once its keep-alive has passed, a session is gone.
    let brief = client
        .execute_statement()
        .cluster_identifier(CLUSTER)
        .database("dev")
        .db_user("admin")
        .session_keep_alive_seconds(60)
        .sql("select 1")
        .send()
        .await
        .unwrap();
    let brief_session = brief.session_id().expect("a SessionId").to_owned();
    assert_finished(&wait(&client, brief.id().unwrap()).await);
    advance_clock(&server, 61).await;
    let message = expect_error(
        client
            .execute_statement()
            .session_id(&brief_session)
            .sql("select 1")
            .send()
            .await,
        "ValidationException",
        None,
    );
    assert!(message.contains("Session is not available"), "{message}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workgroup_runs_as_the_callers_identity() {
    if !postgres_available() {
        return;
    }
    let mut config = Config::ephemeral().with_engines();
    config
        .services
        .iam_identities
        .insert(ROLE_KEY.to_owned(), IamIdentity::Role("etl".to_owned()));
    let server = memshift::start(&config).await.unwrap();
    let sls = serverless(&server);
    sls.create_namespace()
        .namespace_name("data-ns")
        .admin_username("admin")
        .admin_user_password("Sup3rSecret1")
        .send()
        .await
        .unwrap();
    sls.create_workgroup()
        .workgroup_name("data-wg")
        .namespace_name("data-ns")
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = sls
            .get_workgroup()
            .workgroup_name("data-wg")
            .send()
            .await
            .unwrap();
        if got.workgroup().unwrap().status() == Some(&WorkgroupStatus::Available) {
            break;
        }
        assert!(Instant::now() < deadline, "the workgroup is not available");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let client = redshift_data(&server);

    // The caller's access key is its identity.
    let submitted = client
        .execute_statement()
        .workgroup_name("data-wg")
        .database("dev")
        .sql("select current_user")
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.workgroup_name(), Some("data-wg"));
    assert_eq!(submitted.cluster_identifier(), None);
    let done = wait(&client, submitted.id().unwrap()).await;
    assert_finished(&done);
    assert_eq!(done.workgroup_name(), Some("data-wg"));
    let got = result(&client, done.id()).await;
    assert_eq!(got.records(), [vec![string(&format!("IAM:{KEY}"))]]);

    // A key mapped to a role runs as that role.
    let role = redshift_data_as(&server, ROLE_KEY, "us-east-1");
    let submitted = role
        .execute_statement()
        .workgroup_name("data-wg")
        .database("dev")
        .sql("select current_user")
        .send()
        .await
        .unwrap();
    let done = wait(&role, submitted.id().unwrap()).await;
    assert_finished(&done);
    let got = result(&role, done.id()).await;
    assert_eq!(got.records(), [vec![string("IAMR:etl")]]);
    // ... and the serverless credentials agree.
    let creds = serverless_as(&server, ROLE_KEY, "us-east-1")
        .get_credentials()
        .workgroup_name("data-wg")
        .db_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(creds.db_user(), Some("IAMR:etl"));

    // Metadata through the workgroup.
    let databases = client
        .list_databases()
        .workgroup_name("data-wg")
        .database("dev")
        .send()
        .await
        .unwrap();
    assert!(
        databases.databases().iter().any(|d| d == "dev"),
        "{:?}",
        databases.databases()
    );

    // Refused: a DbUser with a workgroup, unknown endpoints, no endpoint, a secret.
    expect_error(
        client
            .execute_statement()
            .workgroup_name("data-wg")
            .database("dev")
            .db_user("admin")
            .sql("select 1")
            .send()
            .await,
        "ValidationException",
        None,
    );
    expect_error(
        client
            .execute_statement()
            .workgroup_name("no-such-wg")
            .database("dev")
            .sql("select 1")
            .send()
            .await,
        "ValidationException",
        Some(NO_ENDPOINT),
    );
    expect_error(
        client
            .execute_statement()
            .cluster_identifier("no-such-cluster")
            .database("dev")
            .db_user("admin")
            .sql("select 1")
            .send()
            .await,
        "ValidationException",
        Some(NO_ENDPOINT),
    );
    expect_error(
        client
            .execute_statement()
            .database("dev")
            .sql("select 1")
            .send()
            .await,
        "ValidationException",
        None,
    );
    let message = expect_error(
        client
            .execute_statement()
            .workgroup_name("data-wg")
            .database("dev")
            .secret_arn("arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf")
            .sql("select 1")
            .send()
            .await,
        "ValidationException",
        None,
    );
    assert!(message.contains("Secrets Manager"), "{message}");
    server.shutdown().await.unwrap();
}
