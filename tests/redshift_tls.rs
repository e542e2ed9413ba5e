//! SSL on the Redshift endpoints: a Rust client (tokio-postgres over rustls) that trusts
//! only the CA served at `/_memshift/ca.pem` logs in with full verification, by address,
//! by `localhost` and by the cluster's custom domain name once it is associated; it refuses
//! an endpoint when it trusts another CA; and clients that ask for no SSL still log in.
//!
//! These tests need PostgreSQL's server binaries (Debian's `postgresql` package).
//! Without them they are skipped with a message, unless `TEST_REQUIRE_POSTGRES=1`.

#![allow(
    clippy::too_many_lines,
    reason = "each test is one user journey, read top to bottom"
)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_redshift::Client;
use common::{postgres_available, redshift, try_create_cluster};
use memshift::Config;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::config::SslMode;
use tokio_postgres::{NoTls, error::SqlState};
use tokio_postgres_rustls::MakeRustlsConnect;

const REDSHIFT_VERSION: &str = "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.";

/// A client's TLS settings that trust only the CA certificate `ca_pem`.
fn trusting(ca_pem: &str) -> MakeRustlsConnect {
    MakeRustlsConnect::new(client_config(ca_pem))
}

fn client_config(ca_pem: &str) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// How to reach an endpoint: the host name the client checks the certificate against,
/// and, when that name does not resolve here, the address to connect to.
struct Target<'a> {
    host: &'a str,
    hostaddr: Option<IpAddr>,
    port: u16,
}

fn config(target: &Target<'_>, user: &str, password: &str) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    config
        .host(target.host)
        .port(target.port)
        .user(user)
        .password(password)
        .dbname("dev")
        .connect_timeout(Duration::from_secs(10));
    if let Some(addr) = target.hostaddr {
        config.hostaddr(addr);
    }
    config
}

/// Logs in over TLS (required and verified); answers the client or the error's text.
async fn login_tls(
    target: &Target<'_>,
    tls: &MakeRustlsConnect,
    user: &str,
    password: &str,
) -> Result<tokio_postgres::Client, String> {
    let connected = config(target, user, password)
        .ssl_mode(SslMode::Require)
        .connect(tls.clone())
        .await;
    match connected {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            Ok(client)
        }
        Err(e) => Err(format!("{e:?}")),
    }
}

async fn login_plain(port: u16, user: &str, password: &str) -> tokio_postgres::Client {
    let target = Target {
        host: "127.0.0.1",
        hostaddr: None,
        port,
    };
    let (client, connection) = config(&target, user, password)
        .ssl_mode(SslMode::Disable)
        .connect(NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

async fn endpoint_port(client: &Client, cluster: &str) -> u16 {
    let described = client
        .describe_clusters()
        .cluster_identifier(cluster)
        .send()
        .await
        .unwrap();
    let endpoint = described.clusters()[0].endpoint().unwrap();
    assert_eq!(endpoint.address(), Some("127.0.0.1"));
    u16::try_from(endpoint.port().unwrap()).unwrap()
}

async fn one_value(client: &tokio_postgres::Client, sql: &str) -> String {
    client
        .query_one(sql, &[])
        .await
        .unwrap()
        .get::<_, String>(0)
}

async fn ca_pem(server: &memshift::Server) -> String {
    let answer = reqwest::get(format!("{}/_memshift/ca.pem", server.url()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ssl_logins_verify_the_endpoint_against_memshifts_ca() {
    if !postgres_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = redshift(&server);
    try_create_cluster(&client, "secure").await.unwrap();
    let port = endpoint_port(&client, "secure").await;
    let tls = trusting(&ca_pem(&server).await);
    let loopback = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));

    // By the address DescribeClusters reports, and by localhost: verified, and the session
    // runs over TLS to its end (a large answer crosses the relay in many records).
    for host in ["127.0.0.1", "localhost"] {
        let target = Target {
            host,
            hostaddr: None,
            port,
        };
        let master = login_tls(&target, &tls, "admin", "Sup3rSecret")
            .await
            .unwrap();
        let version = one_value(&master, "SELECT version()").await;
        assert!(version.starts_with(REDSHIFT_VERSION), "{version}");
        let big = one_value(&master, "SELECT repeat('x', 1000000)").await;
        assert_eq!(big.len(), 1_000_000);
    }

    // A temporary credential logs in over TLS too.
    let creds = client
        .get_cluster_credentials()
        .cluster_identifier("secure")
        .db_user("alice")
        .db_name("dev")
        .auto_create(true)
        .send()
        .await
        .unwrap();
    let target = Target {
        host: "127.0.0.1",
        hostaddr: None,
        port,
    };
    let alice = login_tls(
        &target,
        &tls,
        creds.db_user().unwrap(),
        creds.db_password().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        one_value(&alice, "SELECT current_user::text").await,
        "IAMA:alice"
    );

    // The AWS-style name of the cluster is on the certificate; a custom domain name only
    // once it is associated, and no longer once the association is deleted.
    let aws_name = Target {
        host: "secure.memshift.us-east-1.redshift.amazonaws.com",
        hostaddr: loopback,
        port,
    };
    login_tls(&aws_name, &tls, "admin", "Sup3rSecret")
        .await
        .unwrap();
    let custom = Target {
        host: "warehouse.example.com",
        hostaddr: loopback,
        port,
    };
    let refused = login_tls(&custom, &tls, "admin", "Sup3rSecret")
        .await
        .unwrap_err();
    assert!(refused.contains("NotValidForName"), "{refused}");
    let started = Instant::now();
    client
        .create_custom_domain_association()
        .cluster_identifier("secure")
        .custom_domain_name("warehouse.example.com")
        .custom_domain_certificate_arn("arn:aws:acm:us-east-1:000000000000:certificate/0a0a0a0a")
        .send()
        .await
        .unwrap();
    eprintln!(
        "CreateCustomDomainAssociation, certificate renewed: {} ms",
        started.elapsed().as_millis()
    );
    let by_domain = login_tls(&custom, &tls, "admin", "Sup3rSecret")
        .await
        .unwrap();
    // The connection made before the renewal goes on.
    assert_eq!(
        one_value(&alice, "SELECT current_user::text").await,
        "IAMA:alice"
    );
    assert_eq!(
        one_value(&by_domain, "SELECT current_database()::text").await,
        "dev"
    );
    client
        .delete_custom_domain_association()
        .cluster_identifier("secure")
        .custom_domain_name("warehouse.example.com")
        .send()
        .await
        .unwrap();
    let refused = login_tls(&custom, &tls, "admin", "Sup3rSecret")
        .await
        .unwrap_err();
    assert!(refused.contains("NotValidForName"), "{refused}");

    // A client that trusts another CA refuses the endpoint (that CA has the same name as
    // memshift's, so the certificate's signature is what fails).
    let other = memshift::tls::Authority::generate().unwrap();
    let refused = login_tls(
        &target,
        &trusting(other.cert_pem().unwrap()),
        "admin",
        "Sup3rSecret",
    )
    .await
    .unwrap_err();
    assert!(
        refused.contains("InvalidCertificate(BadSignature)"),
        "{refused}"
    );

    // Clear text is still accepted, as on Redshift by default.
    let plain = login_plain(port, "admin", "Sup3rSecret").await;
    assert!(
        one_value(&plain, "SELECT version()")
            .await
            .starts_with(REDSHIFT_VERSION)
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_front_answers_ssl_and_gssapi_requests_as_postgresql_does() {
    if !postgres_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = redshift(&server);
    try_create_cluster(&client, "wire").await.unwrap();
    let port = endpoint_port(&client, "wire").await;
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    // GSSENCRequest: declined; the client may then ask for SSL on the same connection.
    socket
        .write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30])
        .await
        .unwrap();
    assert_eq!(socket.read_u8().await.unwrap(), b'N');
    socket
        .write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        .await
        .unwrap();
    assert_eq!(socket.read_u8().await.unwrap(), b'S');
    // What follows is a TLS handshake: a ClientHello that is not one ends the connection.
    socket.write_all(b"not a client hello").await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut rest)).await;
    assert!(
        rest.is_empty() || rest[0] == 0x15,
        "a TLS alert or nothing: {rest:?}"
    );

    // Inside TLS, a second SSLRequest is not a startup packet.
    let ca = ca_pem(&server).await;
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    socket
        .write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        .await
        .unwrap();
    assert_eq!(socket.read_u8().await.unwrap(), b'S');
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(&ca)));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut encrypted = connector.connect(name.clone(), socket).await.unwrap();
    encrypted
        .write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        .await
        .unwrap();
    encrypted.flush().await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), encrypted.read_to_end(&mut answer)).await;
    assert_eq!(answer.first(), Some(&b'E'), "{answer:?}");
    assert!(
        String::from_utf8_lossy(&answer).contains("unsupported frontend protocol"),
        "{answer:?}"
    );
    // A session ticket came after the handshake (it acknowledges the client's last
    // handshake message at once, as PostgreSQL's server does), but it resumes nothing: the
    // next connection with the same client settings makes a full handshake.
    assert!(encrypted.get_ref().1.tls13_tickets_received() >= 1);
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    socket
        .write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        .await
        .unwrap();
    assert_eq!(socket.read_u8().await.unwrap(), b'S');
    let again = connector.connect(name, socket).await.unwrap();
    assert_eq!(
        again.get_ref().1.handshake_kind(),
        Some(rustls::HandshakeKind::Full)
    );

    // A wrong password over TLS is refused as in clear text.
    let target = Target {
        host: "127.0.0.1",
        hostaddr: None,
        port,
    };
    let err = login_tls(&target, &trusting(&ca), "admin", "not-it")
        .await
        .unwrap_err();
    assert!(err.contains(SqlState::INVALID_PASSWORD.code()), "{err}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_times_with_and_without_ssl() {
    if !postgres_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = redshift(&server);
    try_create_cluster(&client, "timed").await.unwrap();
    let port = endpoint_port(&client, "timed").await;
    let tls = trusting(&ca_pem(&server).await);
    let target = Target {
        host: "127.0.0.1",
        hostaddr: None,
        port,
    };
    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        let c = login_plain(port, "admin", "Sup3rSecret").await;
        c.simple_query("SELECT 1").await.unwrap();
    }
    let plain = started.elapsed() / rounds;
    let started = Instant::now();
    for _ in 0..rounds {
        let c = login_tls(&target, &tls, "admin", "Sup3rSecret")
            .await
            .unwrap();
        c.simple_query("SELECT 1").await.unwrap();
    }
    let encrypted = started.elapsed() / rounds;
    eprintln!(
        "master login and one query, mean of {rounds}: clear text {} µs, TLS {} µs",
        plain.as_micros(),
        encrypted.as_micros()
    );
    server.shutdown().await.unwrap();
}
