//! Shared by the end-to-end tests: a real server on an ephemeral port, SDK clients
//! pointed at it, and temporary directories and processes that do not outlive a test.

#![allow(dead_code)]

pub mod leftovers;
pub mod process;
pub mod redis_nodes;

use aws_sdk_memorydb::config::http::HttpResponse;
use aws_sdk_memorydb::config::retry::RetryConfig;
use aws_sdk_memorydb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_memorydb::error::{ProvideErrorMetadata, SdkError};
use memshift::{Config, Server};

/// A new directory in the system's temporary directory, removed with its contents when
/// dropped, whether the test passed or not. Named `memshift-<tag>-…`.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("memshift-{tag}-"))
        .tempdir()
        .expect("a temporary directory")
}

/// Starts a server on a free loopback port.
pub async fn server() -> Server {
    memshift::start(&Config::ephemeral())
        .await
        .expect("server starts")
}

/// A MemoryDB client signing with `access_key_id` in `region`.
pub fn memorydb_as(server: &Server, access_key_id: &str, region: &str) -> aws_sdk_memorydb::Client {
    memorydb_at(&server.url(), access_key_id, region)
}

/// A MemoryDB client for the memshift at `url`, signing with `access_key_id` in `region`.
pub fn memorydb_at(url: &str, access_key_id: &str, region: &str) -> aws_sdk_memorydb::Client {
    let config = aws_sdk_memorydb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            access_key_id,
            "test-secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(url)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_memorydb::Client::from_conf(config)
}

/// A MemoryDB client for the default account in us-east-1.
pub fn memorydb(server: &Server) -> aws_sdk_memorydb::Client {
    memorydb_as(server, "AKIAIOSFODNN7EXAMPLE", "us-east-1")
}

/// The HTTP status of a failed SDK call.
pub fn status<E>(error: &SdkError<E, HttpResponse>) -> u16 {
    error.raw_response().map_or(0, |r| r.status().as_u16())
}

/// The HTTP status, error code and message of a call that must fail, from any AWS SDK
/// (they all share `SdkError`, `HttpResponse` and `ProvideErrorMetadata`).
#[track_caller]
pub fn failure<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> (u16, String, String) {
    let err = result.expect_err("the call fails");
    (
        status(&err),
        err.code().unwrap_or_default().to_owned(),
        err.message().unwrap_or_default().to_owned(),
    )
}

/// Asserts that a call failed as AWS fails it: HTTP 400 with error `code` and, when
/// given, exactly `message`. Answers the message.
#[track_caller]
pub fn expect_error<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
    code: &str,
    message: Option<&str>,
) -> String {
    let (got_status, got_code, got_message) = failure(result);
    assert_eq!(
        (got_status, got_code.as_str()),
        (400, code),
        "{got_message}"
    );
    if let Some(message) = message {
        assert_eq!(got_message, message);
    }
    got_message
}

/// Creates a user with one password, as most tests need.
pub async fn create_password_user(
    client: &aws_sdk_memorydb::Client,
    name: impl Into<String>,
    pw: &str,
    access: &str,
) -> aws_sdk_memorydb::operation::create_user::CreateUserOutput {
    client
        .create_user()
        .user_name(name)
        .authentication_mode(
            aws_sdk_memorydb::types::AuthenticationMode::builder()
                .r#type(aws_sdk_memorydb::types::InputAuthenticationType::Password)
                .passwords(pw)
                .build(),
        )
        .access_string(access)
        .send()
        .await
        .unwrap()
}

/// A password of the given length made of letters and digits.
pub fn password(tag: &str, len: usize) -> String {
    let mut p = format!("Pw-{tag}-");
    while p.len() < len {
        p.push('x');
    }
    p.truncate(len);
    p
}

/// A Redshift client signing with `access_key_id` in `region`.
pub fn redshift_as(server: &Server, access_key_id: &str, region: &str) -> aws_sdk_redshift::Client {
    let config = aws_sdk_redshift::Config::builder()
        .behavior_version(aws_sdk_redshift::config::BehaviorVersion::latest())
        .region(aws_sdk_redshift::config::Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_redshift::config::Credentials::new(
            access_key_id,
            "test-secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(server.url())
        .retry_config(aws_sdk_redshift::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_redshift::Client::from_conf(config)
}

/// A Redshift client for the default account in us-east-1.
pub fn redshift(server: &Server) -> aws_sdk_redshift::Client {
    redshift_as(server, "AKIAIOSFODNN7EXAMPLE", "us-east-1")
}

/// The HTTP status of a failed Redshift SDK call.
pub fn redshift_status<E>(
    error: &aws_sdk_redshift::error::SdkError<E, aws_sdk_redshift::config::http::HttpResponse>,
) -> u16 {
    error.raw_response().map_or(0, |r| r.status().as_u16())
}

/// Starts a server with the given configuration changes.
pub async fn server_with(change: impl FnOnce(&mut Config)) -> Server {
    let mut config = Config::ephemeral();
    change(&mut config);
    memshift::start(&config).await.expect("server starts")
}

/// CreateCluster with the settings every test uses.
pub async fn try_create_cluster(
    client: &aws_sdk_redshift::Client,
    id: &str,
) -> Result<
    aws_sdk_redshift::operation::create_cluster::CreateClusterOutput,
    aws_sdk_redshift::error::SdkError<
        aws_sdk_redshift::operation::create_cluster::CreateClusterError,
    >,
> {
    client
        .create_cluster()
        .cluster_identifier(id)
        .node_type("dc2.large")
        .master_username("admin")
        .master_user_password("Sup3rSecret")
        .send()
        .await
}

/// A Redshift Data API client signing with `access_key_id` in `region`.
pub fn redshift_data_as(
    server: &Server,
    access_key_id: &str,
    region: &str,
) -> aws_sdk_redshiftdata::Client {
    let config = aws_sdk_redshiftdata::Config::builder()
        .behavior_version(aws_sdk_redshiftdata::config::BehaviorVersion::latest())
        .region(aws_sdk_redshiftdata::config::Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_redshiftdata::config::Credentials::new(
            access_key_id,
            "test-secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(server.url())
        .retry_config(aws_sdk_redshiftdata::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_redshiftdata::Client::from_conf(config)
}

/// A Redshift Data API client for the default account in us-east-1.
pub fn redshift_data(server: &Server) -> aws_sdk_redshiftdata::Client {
    redshift_data_as(server, "AKIAIOSFODNN7EXAMPLE", "us-east-1")
}

/// A Redshift Serverless client signing with `access_key_id` in `region`.
pub fn serverless_as(
    server: &Server,
    access_key_id: &str,
    region: &str,
) -> aws_sdk_redshiftserverless::Client {
    let config = aws_sdk_redshiftserverless::Config::builder()
        .behavior_version(aws_sdk_redshiftserverless::config::BehaviorVersion::latest())
        .region(aws_sdk_redshiftserverless::config::Region::new(
            region.to_owned(),
        ))
        .credentials_provider(aws_sdk_redshiftserverless::config::Credentials::new(
            access_key_id,
            "test-secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(server.url())
        .retry_config(aws_sdk_redshiftserverless::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_redshiftserverless::Client::from_conf(config)
}

/// A Redshift Serverless client for the default account in us-east-1.
pub fn serverless(server: &Server) -> aws_sdk_redshiftserverless::Client {
    serverless_as(server, "AKIAIOSFODNN7EXAMPLE", "us-east-1")
}

/// Whether PostgreSQL's server binaries are installed; without them, says the test is
/// skipped, or fails if `TEST_REQUIRE_POSTGRES` is set (as CI sets).
pub fn postgres_available() -> bool {
    let found = memshift::engines::postgres::Postgres::new(None, None)
        .bin_dir()
        .is_some();
    if !found {
        assert!(
            std::env::var_os("TEST_REQUIRE_POSTGRES").is_none(),
            "TEST_REQUIRE_POSTGRES is set but PostgreSQL's server binaries were not found"
        );
        eprintln!("skipped: no PostgreSQL server binaries (apt-get install postgresql)");
    }
    found
}

/// Logs in to the PostgreSQL endpoint on `port` without SSL; answers the client or the
/// server's error (SQLSTATE and message), `-` for an error that is not the server's
/// (such as a refused connection).
pub async fn login(
    port: u16,
    user: &str,
    password: &str,
    db: &str,
) -> Result<tokio_postgres::Client, (String, String)> {
    let connected = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user(user)
        .password(password)
        .dbname(db)
        .connect_timeout(std::time::Duration::from_secs(10))
        .connect(tokio_postgres::NoTls)
        .await;
    match connected {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            Ok(client)
        }
        Err(e) => Err(match e.as_db_error() {
            Some(db) => (db.code().code().to_owned(), db.message().to_owned()),
            None => ("-".to_owned(), e.to_string()),
        }),
    }
}
