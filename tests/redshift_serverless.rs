//! Redshift Serverless through the official AWS SDK for Rust: namespaces, workgroups,
//! temporary credentials, custom domains and tags, as a user sees them; and, with a real
//! PostgreSQL behind each workgroup's endpoint, what those credentials may do there.
//!
//! The tests that log in need PostgreSQL's server binaries (Debian's `postgresql`
//! package). Without them they are skipped with a message, unless
//! `TEST_REQUIRE_POSTGRES=1` (as CI sets), which makes their absence a failure.

#![allow(
    clippy::too_many_lines,
    reason = "each test is one user journey, read top to bottom"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_redshiftserverless::Client;
use aws_sdk_redshiftserverless::primitives::DateTime;
use aws_sdk_redshiftserverless::types::{
    ConfigParameter, LogExport, NamespaceStatus, Tag, WorkgroupStatus,
};
use common::{expect_error, failure, login, postgres_available, server, serverless, serverless_as};
use memshift::config::IamIdentity;
use memshift::{Config, Server};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres::config::SslMode;

const ACCOUNT: &str = "000000000000";
const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const ADMIN_PASSWORD: &str = "Sup3rSecret1";
const ROLE_KEY: &str = "AKIAROLEKEY000000001";
const USER_KEY: &str = "AKIAUSERKEY000000001";

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

fn pairs(tags: &[Tag]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = tags
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    all.sort();
    all
}

fn pair(key: &str, value: &str) -> (String, String) {
    (key.to_owned(), value.to_owned())
}

fn is_uuid(id: &str) -> bool {
    id.len() == 36 && uuid::Uuid::parse_str(id).is_ok() && id == id.to_ascii_lowercase()
}

/// `arn:aws:redshift-serverless:<region>:<account>:<kind>/<uuid>`, answering the UUID.
fn arn_id<'a>(arn: &'a str, region: &str, account: &str, kind: &str) -> &'a str {
    let prefix = format!("arn:aws:redshift-serverless:{region}:{account}:{kind}/");
    let id = arn
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{arn} does not start with {prefix}"));
    assert!(is_uuid(id), "{arn}");
    id
}

fn seconds_from_now(t: &DateTime) -> i64 {
    t.secs() - chrono::Utc::now().timestamp()
}

fn config_parameter(key: &str, value: &str) -> ConfigParameter {
    ConfigParameter::builder()
        .parameter_key(key)
        .parameter_value(value)
        .build()
}

async fn namespace_with_admin(client: &Client, name: &str) {
    let out = client
        .create_namespace()
        .namespace_name(name)
        .admin_username("admin")
        .admin_user_password(ADMIN_PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.namespace().unwrap().status(),
        Some(&NamespaceStatus::Available)
    );
}

async fn workgroup(client: &Client, name: &str, namespace: &str) {
    let out = client
        .create_workgroup()
        .workgroup_name(name)
        .namespace_name(namespace)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.workgroup().unwrap().status(),
        Some(&WorkgroupStatus::Creating)
    );
}

async fn namespace_names(client: &Client) -> Vec<String> {
    client
        .list_namespaces()
        .send()
        .await
        .unwrap()
        .namespaces()
        .iter()
        .map(|n| n.namespace_name().unwrap().to_owned())
        .collect()
}

async fn workgroup_names(client: &Client) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_workgroups()
        .send()
        .await
        .unwrap()
        .workgroups()
        .iter()
        .map(|w| w.workgroup_name().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// PostgreSQL behind the endpoints.

/// The code of a login that must fail.
async fn refused(port: u16, user: &str, password: &str, db: &str) -> String {
    match login(port, user, password, db).await {
        Ok(_) => panic!("{user} logged in to {db} on port {port}"),
        Err((code, _)) => code,
    }
}

async fn one_value(client: &tokio_postgres::Client, sql: &str) -> String {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<_, String>(0)
}

/// The SQLSTATE of a query that must fail.
async fn query_error(client: &tokio_postgres::Client, sql: &str) -> String {
    match client.query(sql, &[]).await {
        Ok(_) => panic!("{sql} succeeded"),
        Err(err) => err
            .code()
            .unwrap_or_else(|| panic!("{sql}: {err}"))
            .code()
            .to_owned(),
    }
}

/// The port of an available workgroup's endpoint, which is on 127.0.0.1.
async fn endpoint_port(client: &Client, name: &str) -> u16 {
    let got = client
        .get_workgroup()
        .workgroup_name(name)
        .send()
        .await
        .unwrap();
    let w = got.workgroup().unwrap();
    assert_eq!(w.status(), Some(&WorkgroupStatus::Available));
    let endpoint = w.endpoint().expect("an endpoint");
    assert_eq!(endpoint.address(), Some("127.0.0.1"));
    let port = endpoint.port().unwrap();
    assert!(port > 0, "{port}");
    u16::try_from(port).unwrap()
}

async fn credentials(client: &Client, workgroup: &str) -> (String, String) {
    let out = client
        .get_credentials()
        .workgroup_name(workgroup)
        .send()
        .await
        .unwrap();
    (
        out.db_user().unwrap().to_owned(),
        out.db_password().unwrap().to_owned(),
    )
}

/// Moves memshift's clock forward; answers its offset from the system's clock.
async fn advance_clock(server: &Server, seconds: u32) -> serde_json::Value {
    let moved: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/_memshift/clock", server.url()))
        .body(format!(r#"{{"advance_seconds": {seconds}}}"#))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    moved["offset_seconds"].clone()
}

async fn login_tls(
    server: &Server,
    port: u16,
    user: &str,
    password: &str,
) -> tokio_postgres::Client {
    let answer = reqwest::get(format!("{}/_memshift/ca.pem", server.url()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let ca = answer.text().await.unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let (client, connection) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user(user)
        .password(password)
        .dbname("dev")
        .ssl_mode(SslMode::Require)
        .connect_timeout(Duration::from_secs(10))
        .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_operation_answers_as_aws_does() {
    let server = server().await;
    let client = serverless(&server);
    let role = format!("arn:aws:iam::{ACCOUNT}:role/loader");
    let other_role = format!("arn:aws:iam::{ACCOUNT}:role/reader");

    // CreateNamespace: AVAILABLE at once, AWS's ARN with a UUID, the defaults.
    let created = client
        .create_namespace()
        .namespace_name("sales")
        .admin_username("admin")
        .admin_user_password(ADMIN_PASSWORD)
        .iam_roles(&role)
        .default_iam_role_arn(&role)
        .log_exports(LogExport::UserLog)
        .tags(tag("team", "data"))
        .send()
        .await
        .unwrap();
    let ns = created.namespace().unwrap();
    assert_eq!(ns.namespace_name(), Some("sales"));
    assert_eq!(ns.status(), Some(&NamespaceStatus::Available));
    let ns_arn = ns.namespace_arn().unwrap().to_owned();
    let ns_id = ns.namespace_id().unwrap().to_owned();
    assert_eq!(arn_id(&ns_arn, "us-east-1", ACCOUNT, "namespace"), ns_id);
    assert_eq!(ns.db_name(), Some("dev"));
    assert_eq!(ns.admin_username(), Some("admin"));
    assert_eq!(ns.kms_key_id(), Some("AWS_OWNED_KMS_KEY"));
    assert_eq!(
        ns.iam_roles(),
        [format!("IamRole(applyStatus=in-sync, iamRoleArn={role})")]
    );
    assert_eq!(ns.default_iam_role_arn(), Some(role.as_str()));
    assert_eq!(ns.log_exports(), [LogExport::UserLog]);
    assert!(ns.admin_password_secret_arn().is_none());
    let created_at = ns.creation_date().expect("creationDate").secs();
    assert!(
        (chrono::Utc::now().timestamp() - created_at).abs() <= 60,
        "{created_at}"
    );

    // A managed admin password: a secret's ARN, the admin named admin; another database.
    let managed = client
        .create_namespace()
        .namespace_name("analytics")
        .manage_admin_password(true)
        .db_name("warehouse")
        .send()
        .await
        .unwrap();
    let managed = managed.namespace().unwrap();
    assert_eq!(managed.db_name(), Some("warehouse"));
    assert_eq!(managed.admin_username(), Some("admin"));
    let secret = managed.admin_password_secret_arn().expect("a secret's ARN");
    let prefix =
        format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:redshift!analytics-admin-");
    let suffix = secret
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{secret}"));
    assert_eq!(suffix.len(), 6, "{secret}");
    assert_ne!(managed.namespace_id(), Some(ns_id.as_str()));

    // GetNamespace answers what CreateNamespace did.
    let got = client
        .get_namespace()
        .namespace_name("sales")
        .send()
        .await
        .unwrap();
    let got = got.namespace().unwrap();
    assert_eq!(got.namespace_arn(), Some(ns_arn.as_str()));
    assert_eq!(got.namespace_id(), Some(ns_id.as_str()));
    assert_eq!(got.status(), Some(&NamespaceStatus::Available));
    assert_eq!(got.creation_date().unwrap().secs(), created_at);
    assert_eq!(got.db_name(), Some("dev"));

    // ListNamespaces: by name, in pages.
    for name in ["z-ns", "m-ns", "a-ns"] {
        client
            .create_namespace()
            .namespace_name(name)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        namespace_names(&client).await,
        ["a-ns", "analytics", "m-ns", "sales", "z-ns"]
    );
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_namespaces()
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages.push(
            page.namespaces()
                .iter()
                .map(|n| n.namespace_name().unwrap().to_owned())
                .collect::<Vec<_>>(),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() || pages.len() > 5 {
            break;
        }
    }
    assert_eq!(
        pages,
        [
            vec!["a-ns", "analytics"],
            vec!["m-ns", "sales"],
            vec!["z-ns"]
        ]
    );

    // UpdateNamespace answers MODIFYING; the namespace is AVAILABLE again after.
    let updated = client
        .update_namespace()
        .namespace_name("sales")
        .log_exports(LogExport::ConnectionLog)
        .log_exports(LogExport::UserLog)
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.namespace().unwrap().status(),
        Some(&NamespaceStatus::Modifying)
    );
    let got = client
        .get_namespace()
        .namespace_name("sales")
        .send()
        .await
        .unwrap();
    let got = got.namespace().unwrap();
    assert_eq!(got.status(), Some(&NamespaceStatus::Available));
    assert_eq!(
        got.log_exports(),
        [LogExport::ConnectionLog, LogExport::UserLog]
    );
    let updated = client
        .update_namespace()
        .namespace_name("sales")
        .iam_roles(&role)
        .iam_roles(&other_role)
        .default_iam_role_arn(&other_role)
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.namespace().unwrap().status(),
        Some(&NamespaceStatus::Modifying)
    );
    let got = client
        .get_namespace()
        .namespace_name("sales")
        .send()
        .await
        .unwrap();
    let got = got.namespace().unwrap();
    assert_eq!(got.default_iam_role_arn(), Some(other_role.as_str()));
    assert_eq!(
        got.iam_roles(),
        [
            format!("IamRole(applyStatus=in-sync, iamRoleArn={role})"),
            format!("IamRole(applyStatus=in-sync, iamRoleArn={other_role})")
        ]
    );
    assert_eq!(got.namespace_id(), Some(ns_id.as_str()));

    // CreateWorkgroup answers CREATING, then the workgroup is AVAILABLE.
    let created = client
        .create_workgroup()
        .workgroup_name("sales-wg")
        .namespace_name("sales")
        .base_capacity(32)
        .config_parameters(config_parameter("datestyle", "ISO, MDY"))
        .tags(tag("env", "test"))
        .send()
        .await
        .unwrap();
    let wg = created.workgroup().unwrap();
    assert_eq!(wg.status(), Some(&WorkgroupStatus::Creating));
    assert_eq!(wg.workgroup_name(), Some("sales-wg"));
    assert_eq!(wg.namespace_name(), Some("sales"));
    assert_eq!(wg.base_capacity(), Some(32));
    assert_eq!(wg.port(), Some(5439));
    let wg_arn = wg.workgroup_arn().unwrap().to_owned();
    let wg_id = wg.workgroup_id().unwrap().to_owned();
    assert_eq!(arn_id(&wg_arn, "us-east-1", ACCOUNT, "workgroup"), wg_id);
    let wg_created_at = wg.creation_date().expect("creationDate").secs();
    assert!((chrono::Utc::now().timestamp() - wg_created_at).abs() <= 60);
    let got = client
        .get_workgroup()
        .workgroup_name("sales-wg")
        .send()
        .await
        .unwrap();
    let got = got.workgroup().unwrap();
    assert_eq!(got.status(), Some(&WorkgroupStatus::Available));
    assert_eq!(got.workgroup_id(), Some(wg_id.as_str()));
    assert_eq!(got.workgroup_arn(), Some(wg_arn.as_str()));
    assert_eq!(got.base_capacity(), Some(32));
    assert_eq!(got.creation_date().unwrap().secs(), wg_created_at);
    assert!(
        got.config_parameters()
            .iter()
            .any(|p| p.parameter_key() == Some("datestyle")
                && p.parameter_value() == Some("ISO, MDY")),
        "{:?}",
        got.config_parameters()
    );

    // The defaults, and a port of the second range.
    let created = client
        .create_workgroup()
        .workgroup_name("a-wg")
        .namespace_name("a-ns")
        .send()
        .await
        .unwrap();
    let a = created.workgroup().unwrap();
    assert_eq!(a.base_capacity(), Some(128));
    assert_eq!(a.port(), Some(5439));
    assert_ne!(a.workgroup_id(), Some(wg_id.as_str()));
    let created = client
        .create_workgroup()
        .workgroup_name("m-wg")
        .namespace_name("m-ns")
        .port(8191)
        .send()
        .await
        .unwrap();
    assert_eq!(created.workgroup().unwrap().port(), Some(8191));

    // ListWorkgroups, in pages.
    assert_eq!(workgroup_names(&client).await, ["a-wg", "m-wg", "sales-wg"]);
    let first = client
        .list_workgroups()
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.workgroups().len(), 2);
    let token = first.next_token().expect("a next page").to_owned();
    let second = client
        .list_workgroups()
        .max_results(2)
        .next_token(token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.workgroups().len(), 1);
    assert!(second.next_token().is_none());
    let mut in_pages: Vec<&str> = first
        .workgroups()
        .iter()
        .chain(second.workgroups())
        .map(|w| w.workgroup_name().unwrap())
        .collect();
    in_pages.sort_unstable();
    assert_eq!(in_pages, ["a-wg", "m-wg", "sales-wg"]);

    // UpdateWorkgroup: one setting a call, MODIFYING, then AVAILABLE with the change.
    let updated = client
        .update_workgroup()
        .workgroup_name("sales-wg")
        .base_capacity(64)
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.workgroup().unwrap().status(),
        Some(&WorkgroupStatus::Modifying)
    );
    let got = client
        .get_workgroup()
        .workgroup_name("sales-wg")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.workgroup().unwrap().status(),
        Some(&WorkgroupStatus::Available)
    );
    assert_eq!(got.workgroup().unwrap().base_capacity(), Some(64));
    client
        .update_workgroup()
        .workgroup_name("sales-wg")
        .port(5440)
        .send()
        .await
        .unwrap();
    let got = client
        .get_workgroup()
        .workgroup_name("sales-wg")
        .send()
        .await
        .unwrap();
    assert_eq!(got.workgroup().unwrap().port(), Some(5440));
    assert_eq!(got.workgroup().unwrap().base_capacity(), Some(64));

    // GetCredentials: the caller's identity, 900 s by default, up to 3600.
    let creds = client
        .get_credentials()
        .workgroup_name("sales-wg")
        .send()
        .await
        .unwrap();
    assert_eq!(creds.db_user(), Some(format!("IAM:{KEY}").as_str()));
    assert!(creds.db_password().is_some_and(|p| !p.is_empty()));
    let left = seconds_from_now(creds.expiration().unwrap());
    assert!((898..=901).contains(&left), "{left}");
    assert_eq!(
        creds.next_refresh_time().unwrap().secs(),
        creds.expiration().unwrap().secs()
    );
    let long = client
        .get_credentials()
        .workgroup_name("sales-wg")
        .db_name("dev")
        .duration_seconds(3600)
        .send()
        .await
        .unwrap();
    let left = seconds_from_now(long.expiration().unwrap());
    assert!((3598..=3601).contains(&left), "{left}");
    assert_ne!(long.db_password(), creds.db_password());
    // An empty dbName is no dbName (as redshift_connector sends it).
    client
        .get_credentials()
        .workgroup_name("sales-wg")
        .db_name("")
        .send()
        .await
        .unwrap();

    // Custom domains.
    let cert1 =
        format!("arn:aws:acm:us-east-1:{ACCOUNT}:certificate/11111111-1111-4111-8111-111111111111");
    let cert2 =
        format!("arn:aws:acm:us-east-1:{ACCOUNT}:certificate/22222222-2222-4222-8222-222222222222");
    let cert3 =
        format!("arn:aws:acm:us-east-1:{ACCOUNT}:certificate/33333333-3333-4333-8333-333333333333");
    let association = client
        .create_custom_domain_association()
        .workgroup_name("sales-wg")
        .custom_domain_name("sales.example.com")
        .custom_domain_certificate_arn(&cert1)
        .send()
        .await
        .unwrap();
    assert_eq!(association.workgroup_name(), Some("sales-wg"));
    assert_eq!(association.custom_domain_name(), Some("sales.example.com"));
    assert_eq!(
        association.custom_domain_certificate_arn(),
        Some(cert1.as_str())
    );
    let expiry = association
        .custom_domain_certificate_expiry_time()
        .expect("customDomainCertificateExpiryTime")
        .secs();
    assert!(expiry > chrono::Utc::now().timestamp(), "{expiry}");
    let got = client
        .get_workgroup()
        .workgroup_name("sales-wg")
        .send()
        .await
        .unwrap();
    let w = got.workgroup().unwrap();
    assert_eq!(w.custom_domain_name(), Some("sales.example.com"));
    assert_eq!(w.custom_domain_certificate_arn(), Some(cert1.as_str()));
    assert_eq!(
        w.custom_domain_certificate_expiry_time()
            .map(DateTime::secs),
        Some(expiry)
    );
    let got = client
        .get_custom_domain_association()
        .workgroup_name("sales-wg")
        .custom_domain_name("sales.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(got.custom_domain_certificate_arn(), Some(cert1.as_str()));
    assert_eq!(got.workgroup_name(), Some("sales-wg"));
    assert_eq!(
        got.custom_domain_certificate_expiry_time()
            .map(DateTime::secs),
        Some(expiry)
    );
    client
        .create_custom_domain_association()
        .workgroup_name("a-wg")
        .custom_domain_name("a.example.com")
        .custom_domain_certificate_arn(&cert2)
        .send()
        .await
        .unwrap();
    let all = client
        .list_custom_domain_associations()
        .send()
        .await
        .unwrap();
    let mut domains: Vec<(&str, &str)> = all
        .associations()
        .iter()
        .map(|a| (a.custom_domain_name().unwrap(), a.workgroup_name().unwrap()))
        .collect();
    domains.sort_unstable();
    assert_eq!(
        domains,
        [("a.example.com", "a-wg"), ("sales.example.com", "sales-wg")]
    );
    let by_name = client
        .list_custom_domain_associations()
        .custom_domain_name("sales.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.associations().len(), 1);
    assert_eq!(
        by_name.associations()[0].custom_domain_certificate_arn(),
        Some(cert1.as_str())
    );
    let by_certificate = client
        .list_custom_domain_associations()
        .custom_domain_certificate_arn(&cert2)
        .send()
        .await
        .unwrap();
    assert_eq!(by_certificate.associations().len(), 1);
    assert_eq!(
        by_certificate.associations()[0].custom_domain_name(),
        Some("a.example.com")
    );
    let first = client
        .list_custom_domain_associations()
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.associations().len(), 1);
    let second = client
        .list_custom_domain_associations()
        .max_results(1)
        .next_token(first.next_token().expect("a next page"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.associations().len(), 1);
    assert_ne!(
        first.associations()[0].custom_domain_name(),
        second.associations()[0].custom_domain_name()
    );
    if let Some(token) = second.next_token() {
        let third = client
            .list_custom_domain_associations()
            .max_results(1)
            .next_token(token)
            .send()
            .await
            .unwrap();
        assert!(third.associations().is_empty());
        assert!(third.next_token().is_none());
    }
    let updated = client
        .update_custom_domain_association()
        .workgroup_name("sales-wg")
        .custom_domain_name("sales.example.com")
        .custom_domain_certificate_arn(&cert3)
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.custom_domain_certificate_arn(),
        Some(cert3.as_str())
    );
    assert!(updated.custom_domain_certificate_expiry_time().is_some());
    let got = client
        .get_custom_domain_association()
        .workgroup_name("sales-wg")
        .custom_domain_name("sales.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(got.custom_domain_certificate_arn(), Some(cert3.as_str()));
    let got = client
        .get_workgroup()
        .workgroup_name("sales-wg")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.workgroup().unwrap().custom_domain_certificate_arn(),
        Some(cert3.as_str())
    );
    // GetCredentials by the domain name, as by the workgroup's.
    let by_domain = client
        .get_credentials()
        .custom_domain_name("sales.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(by_domain.db_user(), Some(format!("IAM:{KEY}").as_str()));
    let left = seconds_from_now(by_domain.expiration().unwrap());
    assert!((898..=901).contains(&left), "{left}");
    client
        .delete_custom_domain_association()
        .workgroup_name("sales-wg")
        .custom_domain_name("sales.example.com")
        .send()
        .await
        .unwrap();
    expect_error(
        client
            .get_custom_domain_association()
            .workgroup_name("sales-wg")
            .custom_domain_name("sales.example.com")
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    let got = client
        .get_workgroup()
        .workgroup_name("sales-wg")
        .send()
        .await
        .unwrap();
    assert_eq!(got.workgroup().unwrap().custom_domain_name(), None);
    assert_eq!(
        got.workgroup().unwrap().custom_domain_certificate_arn(),
        None
    );
    let remaining = client
        .list_custom_domain_associations()
        .send()
        .await
        .unwrap();
    assert_eq!(remaining.associations().len(), 1);
    assert_eq!(
        remaining.associations()[0].custom_domain_name(),
        Some("a.example.com")
    );
    expect_error(
        client
            .get_credentials()
            .custom_domain_name("sales.example.com")
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );

    // Tags, on a namespace and on a workgroup.
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&ns_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(pairs(tags.tags()), [pair("team", "data")]);
    client
        .tag_resource()
        .resource_arn(&ns_arn)
        .tags(tag("team", "finance"))
        .tags(tag("cost", "42"))
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&ns_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        pairs(tags.tags()),
        [pair("cost", "42"), pair("team", "finance")]
    );
    client
        .untag_resource()
        .resource_arn(&ns_arn)
        .tag_keys("team")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&ns_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(pairs(tags.tags()), [pair("cost", "42")]);
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&wg_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(pairs(tags.tags()), [pair("env", "test")]);
    client
        .tag_resource()
        .resource_arn(&wg_arn)
        .tags(tag("owner", "me"))
        .send()
        .await
        .unwrap();
    client
        .untag_resource()
        .resource_arn(&wg_arn)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&wg_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(pairs(tags.tags()), [pair("owner", "me")]);

    // DeleteWorkgroup answers DELETING, and the workgroup is gone.
    let deleted = client
        .delete_workgroup()
        .workgroup_name("m-wg")
        .send()
        .await
        .unwrap();
    let w = deleted.workgroup().unwrap();
    assert_eq!(w.status(), Some(&WorkgroupStatus::Deleting));
    assert_eq!(w.workgroup_name(), Some("m-wg"));
    let m_wg_arn = w.workgroup_arn().unwrap().to_owned();
    expect_error(
        client.get_workgroup().workgroup_name("m-wg").send().await,
        "ResourceNotFoundException",
        None,
    );
    assert_eq!(workgroup_names(&client).await, ["a-wg", "sales-wg"]);
    expect_error(
        client
            .list_tags_for_resource()
            .resource_arn(&m_wg_arn)
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );

    // DeleteNamespace answers DELETING, and the namespace is gone.
    let deleted = client
        .delete_namespace()
        .namespace_name("m-ns")
        .send()
        .await
        .unwrap();
    let n = deleted.namespace().unwrap();
    assert_eq!(n.status(), Some(&NamespaceStatus::Deleting));
    assert_eq!(n.namespace_name(), Some("m-ns"));
    let m_ns_arn = n.namespace_arn().unwrap().to_owned();
    expect_error(
        client.get_namespace().namespace_name("m-ns").send().await,
        "ResourceNotFoundException",
        Some("Serverless namespace m-ns not found."),
    );
    assert_eq!(
        namespace_names(&client).await,
        ["a-ns", "analytics", "sales", "z-ns"]
    );
    expect_error(
        client
            .list_tags_for_resource()
            .resource_arn(&m_ns_arn)
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_log_in_as_the_callers_identity_with_its_privileges_only() {
    if !postgres_available() {
        return;
    }
    let mut config = Config::ephemeral().with_engines();
    config
        .services
        .iam_identities
        .insert(ROLE_KEY.to_owned(), IamIdentity::Role("etl".to_owned()));
    config
        .services
        .iam_identities
        .insert(USER_KEY.to_owned(), IamIdentity::User("alice".to_owned()));
    let server = memshift::start(&config).await.unwrap();
    let client = serverless(&server);
    namespace_with_admin(&client, "iam-ns").await;
    workgroup(&client, "iam-wg", "iam-ns").await;
    let port = endpoint_port(&client, "iam-wg").await;
    let got = client
        .get_workgroup()
        .workgroup_name("iam-wg")
        .send()
        .await
        .unwrap();
    // The port member is the one asked for (the default); the endpoint's is the real one.
    assert_eq!(got.workgroup().unwrap().port(), Some(5439));

    // The namespace's admin is a superuser in the namespace's database.
    let admin = login(port, "admin", ADMIN_PASSWORD, "dev").await.unwrap();
    assert_eq!(
        one_value(&admin, "SELECT current_setting('is_superuser')").await,
        "on"
    );
    assert_eq!(
        one_value(&admin, "SELECT current_database()::text").await,
        "dev"
    );
    admin
        .batch_execute(
            "CREATE TABLE by_role (x int); INSERT INTO by_role VALUES (1); \
             CREATE TABLE by_user (x int); INSERT INTO by_user VALUES (2); \
             CREATE TABLE secret (x int); INSERT INTO secret VALUES (3);",
        )
        .await
        .unwrap();
    admin.batch_execute("CREATE DATABASE other").await.unwrap();
    assert_eq!(
        refused(port, "admin", "Not-1t-at-all", "dev").await,
        "28P01"
    );

    // A role's key: IAMR:etl, not a superuser, nothing granted yet.
    let role = serverless_as(&server, ROLE_KEY, "us-east-1");
    let creds = role
        .get_credentials()
        .workgroup_name("iam-wg")
        .db_name("dev")
        .send()
        .await
        .unwrap();
    let user = creds.db_user().unwrap().to_owned();
    let password = creds.db_password().unwrap().to_owned();
    assert_eq!(user, "IAMR:etl");
    let etl = login(port, &user, &password, "dev").await.unwrap();
    assert_eq!(one_value(&etl, "SELECT current_user::text").await, user);
    assert_eq!(
        one_value(&etl, "SELECT current_setting('is_superuser')").await,
        "off"
    );
    assert_eq!(query_error(&etl, "SELECT * FROM by_role").await, "42501");
    assert_eq!(
        one_value(&etl, "SELECT pg_has_role('etl', 'member')::text").await,
        "true"
    );

    // Granted to the role etl and to the user IAMR:etl: both readable; the rest is not.
    admin
        .batch_execute("GRANT SELECT ON by_role TO etl; GRANT SELECT ON by_user TO \"IAMR:etl\";")
        .await
        .unwrap();
    assert_eq!(
        one_value(&etl, "SELECT sum(x)::text FROM by_role").await,
        "1"
    );
    assert_eq!(
        one_value(&etl, "SELECT sum(x)::text FROM by_user").await,
        "2"
    );
    assert_eq!(query_error(&etl, "SELECT * FROM secret").await, "42501");
    assert_eq!(query_error(&etl, "CREATE ROLE intruder").await, "42501");

    // Refused: a wrong password; with dbName dev, another database.
    assert_eq!(
        refused(port, &user, "not-the-password", "dev").await,
        "28P01"
    );
    assert!(
        login(port, &user, &password, "other").await.is_err(),
        "a credential for dev logs in to other"
    );
    // Without dbName, any database.
    let anywhere = role
        .get_credentials()
        .workgroup_name("iam-wg")
        .send()
        .await
        .unwrap();
    assert_eq!(anywhere.db_user(), Some("IAMR:etl"));
    let in_other = login(
        port,
        anywhere.db_user().unwrap(),
        anywhere.db_password().unwrap(),
        "other",
    )
    .await
    .unwrap();
    assert_eq!(
        one_value(&in_other, "SELECT current_database()::text").await,
        "other"
    );
    // Over TLS, trusting memshift's CA.
    let encrypted = login_tls(
        &server,
        port,
        anywhere.db_user().unwrap(),
        anywhere.db_password().unwrap(),
    )
    .await;
    assert_eq!(
        one_value(&encrypted, "SELECT current_user::text").await,
        "IAMR:etl"
    );

    // A user's key: IAM:alice, with no privileges of etl's.
    let alice = serverless_as(&server, USER_KEY, "us-east-1");
    let (user, password) = credentials(&alice, "iam-wg").await;
    assert_eq!(user, "IAM:alice");
    let session = login(port, &user, &password, "dev").await.unwrap();
    assert_eq!(
        one_value(&session, "SELECT current_user::text").await,
        "IAM:alice"
    );
    assert_eq!(
        one_value(&session, "SELECT current_setting('is_superuser')").await,
        "off"
    );
    assert_eq!(
        query_error(&session, "SELECT * FROM by_role").await,
        "42501"
    );
    assert_eq!(query_error(&session, "SELECT * FROM secret").await, "42501");

    // A key with no mapping: IAM:<access key id>.
    let (user, password) = credentials(&client, "iam-wg").await;
    assert_eq!(user, format!("IAM:{KEY}"));
    let session = login(port, &user, &password, "dev").await.unwrap();
    assert_eq!(one_value(&session, "SELECT current_user::text").await, user);

    // By the workgroup's custom domain name.
    client
        .create_custom_domain_association()
        .workgroup_name("iam-wg")
        .custom_domain_name("db.example.com")
        .custom_domain_certificate_arn(format!(
            "arn:aws:acm:us-east-1:{ACCOUNT}:certificate/44444444-4444-4444-8444-444444444444"
        ))
        .send()
        .await
        .unwrap();
    let by_domain = role
        .get_credentials()
        .custom_domain_name("db.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(by_domain.db_user(), Some("IAMR:etl"));
    let session = login(
        port,
        by_domain.db_user().unwrap(),
        by_domain.db_password().unwrap(),
        "dev",
    )
    .await
    .unwrap();
    assert_eq!(
        one_value(&session, "SELECT sum(x)::text FROM by_role").await,
        "1"
    );

    // A new admin password works at once, and the old one no longer.
    let updated = client
        .update_namespace()
        .namespace_name("iam-ns")
        .admin_username("admin")
        .admin_user_password("N3wSecret22")
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.namespace().unwrap().status(),
        Some(&NamespaceStatus::Modifying)
    );
    assert_eq!(refused(port, "admin", ADMIN_PASSWORD, "dev").await, "28P01");
    let admin = login(port, "admin", "N3wSecret22", "dev").await.unwrap();
    assert_eq!(
        one_value(&admin, "SELECT current_setting('is_superuser')").await,
        "on"
    );
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
    let client = serverless(&server);
    client
        .create_namespace()
        .namespace_name("clocked")
        .send()
        .await
        .unwrap();
    workgroup(&client, "clocked-wg", "clocked").await;
    let port = endpoint_port(&client, "clocked-wg").await;
    let short = client
        .get_credentials()
        .workgroup_name("clocked-wg")
        .send()
        .await
        .unwrap();
    let long = client
        .get_credentials()
        .workgroup_name("clocked-wg")
        .duration_seconds(3600)
        .send()
        .await
        .unwrap();
    let user = short.db_user().unwrap();
    assert_eq!(long.db_user(), Some(user));
    login(port, user, short.db_password().unwrap(), "dev")
        .await
        .unwrap();
    login(port, user, long.db_password().unwrap(), "dev")
        .await
        .unwrap();

    // Fifteen minutes and a second later, as memshift sees it: the 900-s credential is
    // refused, the 3600-s one is not.
    assert_eq!(advance_clock(&server, 901).await, 901.0);
    assert_eq!(
        refused(port, user, short.db_password().unwrap(), "dev").await,
        "28P01"
    );
    let session = login(port, user, long.db_password().unwrap(), "dev")
        .await
        .unwrap();
    assert_eq!(one_value(&session, "SELECT current_user::text").await, user);

    // A fresh credential works, and expires 900 s after memshift's now.
    let fresh = client
        .get_credentials()
        .workgroup_name("clocked-wg")
        .send()
        .await
        .unwrap();
    let left = seconds_from_now(fresh.expiration().unwrap());
    assert!((901 + 898..=901 + 901).contains(&left), "{left}");
    let session = login(
        port,
        fresh.db_user().unwrap(),
        fresh.db_password().unwrap(),
        "dev",
    )
    .await
    .unwrap();
    assert_eq!(one_value(&session, "SELECT current_user::text").await, user);

    // An hour later still, the long one is refused too.
    assert_eq!(advance_clock(&server, 3600).await, 4501.0);
    assert_eq!(
        refused(port, user, long.db_password().unwrap(), "dev").await,
        "28P01"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn errors_are_the_models_and_a_failed_call_changes_nothing() {
    let server = server().await;
    let client = serverless(&server);
    client
        .create_namespace()
        .namespace_name("main")
        .send()
        .await
        .unwrap();
    workgroup(&client, "main-wg", "main").await;
    client
        .create_namespace()
        .namespace_name("spare")
        .send()
        .await
        .unwrap();

    // Unknown namespace and workgroup.
    expect_error(
        client.get_namespace().namespace_name("nope").send().await,
        "ResourceNotFoundException",
        Some("Serverless namespace nope not found."),
    );
    expect_error(
        client.get_workgroup().workgroup_name("nope").send().await,
        "ResourceNotFoundException",
        Some("Serverless workgroup nope not found."),
    );
    expect_error(
        client.get_credentials().workgroup_name("nope").send().await,
        "ResourceNotFoundException",
        Some("Serverless workgroup nope not found."),
    );
    expect_error(
        client
            .update_namespace()
            .namespace_name("nope")
            .log_exports(LogExport::UserLog)
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    expect_error(
        client
            .delete_namespace()
            .namespace_name("nope")
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    expect_error(
        client
            .update_workgroup()
            .workgroup_name("nope")
            .base_capacity(64)
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    expect_error(
        client
            .delete_workgroup()
            .workgroup_name("nope")
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    expect_error(
        client
            .create_workgroup()
            .workgroup_name("orphan-wg")
            .namespace_name("nope")
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );

    // Duplicates.
    let message = expect_error(
        client
            .create_namespace()
            .namespace_name("main")
            .db_name("elsewhere")
            .send()
            .await,
        "ConflictException",
        None,
    );
    assert!(message.contains("already exists"), "{message}");
    let got = client
        .get_namespace()
        .namespace_name("main")
        .send()
        .await
        .unwrap();
    assert_eq!(got.namespace().unwrap().db_name(), Some("dev"));
    // A workgroup name is taken whatever the namespace.
    let message = expect_error(
        client
            .create_workgroup()
            .workgroup_name("main-wg")
            .namespace_name("spare")
            .send()
            .await,
        "ConflictException",
        None,
    );
    assert!(message.contains("already exists"), "{message}");
    let got = client
        .get_workgroup()
        .workgroup_name("main-wg")
        .send()
        .await
        .unwrap();
    assert_eq!(got.workgroup().unwrap().namespace_name(), Some("main"));
    // One workgroup per namespace.
    expect_error(
        client
            .create_workgroup()
            .workgroup_name("second-wg")
            .namespace_name("main")
            .send()
            .await,
        "ConflictException",
        None,
    );
    expect_error(
        client
            .get_workgroup()
            .workgroup_name("second-wg")
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    assert_eq!(workgroup_names(&client).await, ["main-wg"]);

    // Invalid names: for the server to judge (the Rust SDK checks none of them).
    let long = "a".repeat(65);
    for name in [
        "Bad_Name",
        "UPPER",
        "ab",
        "has space",
        "dot.ted",
        long.as_str(),
    ] {
        expect_error(
            client.create_namespace().namespace_name(name).send().await,
            "ValidationException",
            None,
        );
        expect_error(
            client
                .create_workgroup()
                .workgroup_name(name)
                .namespace_name("spare")
                .send()
                .await,
            "ValidationException",
            None,
        );
    }
    let (code_status, code, _) = failure(
        client
            .create_workgroup()
            .workgroup_name("fine-wg")
            .namespace_name("Bad_Name")
            .send()
            .await,
    );
    assert_eq!(code_status, 400);
    assert!(
        ["ValidationException", "ResourceNotFoundException"].contains(&code.as_str()),
        "{code}"
    );
    // The longest name is fine.
    let longest = "b".repeat(64);
    client
        .create_namespace()
        .namespace_name(&longest)
        .send()
        .await
        .unwrap();
    // Missing required members.
    expect_error(
        client.create_namespace().send().await,
        "ValidationException",
        None,
    );
    expect_error(
        client.get_workgroup().send().await,
        "ValidationException",
        None,
    );
    expect_error(
        client
            .create_workgroup()
            .workgroup_name("lonely-wg")
            .send()
            .await,
        "ValidationException",
        None,
    );

    // Admin credentials: both or neither, and a password Redshift accepts.
    for (user, password) in [(Some("admin"), None), (None, Some(ADMIN_PASSWORD))] {
        expect_error(
            client
                .create_namespace()
                .namespace_name("half")
                .set_admin_username(user.map(str::to_owned))
                .set_admin_user_password(password.map(str::to_owned))
                .send()
                .await,
            "ValidationException",
            Some("Specify both the user name and password, or neither."),
        );
    }
    for password in [
        "Sh0rt",
        "alllowercase1",
        "ALLUPPERCASE1",
        "NoDigitsHere",
        "Has@Sign1",
        "Has Space1",
        "Has/Slash1",
        "Has\"Quote1",
        "Has'Quote1",
        "Has\\Back1",
    ] {
        expect_error(
            client
                .create_namespace()
                .namespace_name("weak")
                .admin_username("admin")
                .admin_user_password(password)
                .send()
                .await,
            "ValidationException",
            None,
        );
    }
    expect_error(
        client
            .create_namespace()
            .namespace_name("weak")
            .admin_username("admin")
            .admin_user_password(ADMIN_PASSWORD)
            .manage_admin_password(true)
            .send()
            .await,
        "ValidationException",
        None,
    );

    // More than 200 tags.
    let mut call = client.create_namespace().namespace_name("tagged");
    for i in 0..201 {
        call = call.tags(tag(&format!("k{i}"), "v"));
    }
    expect_error(call.send().await, "TooManyTagsException", None);
    assert_eq!(
        namespace_names(&client).await,
        [longest.as_str(), "main", "spare"]
    );

    // Capacities and ports.
    for base in [0, 7, 12, 100, 516, 520, 1024] {
        expect_error(
            client
                .create_workgroup()
                .workgroup_name("sized-wg")
                .namespace_name("spare")
                .base_capacity(base)
                .send()
                .await,
            "ValidationException",
            None,
        );
    }
    expect_error(
        client
            .create_workgroup()
            .workgroup_name("sized-wg")
            .namespace_name("spare")
            .base_capacity(64)
            .max_capacity(32)
            .send()
            .await,
        "ValidationException",
        None,
    );
    for port in [80, 5430, 5456, 8190, 8216, 65536] {
        expect_error(
            client
                .create_workgroup()
                .workgroup_name("ported-wg")
                .namespace_name("spare")
                .port(port)
                .send()
                .await,
            "ValidationException",
            None,
        );
    }
    expect_error(
        client
            .create_workgroup()
            .workgroup_name("tuned-wg")
            .namespace_name("spare")
            .config_parameters(config_parameter(
                "enable_case_sensitivity_identifier",
                "true",
            ))
            .send()
            .await,
        "ValidationException",
        None,
    );
    assert_eq!(workgroup_names(&client).await, ["main-wg"]);
    // The bounds themselves are fine.
    let ok = client
        .create_workgroup()
        .workgroup_name("edge-wg")
        .namespace_name("spare")
        .base_capacity(8)
        .max_capacity(512)
        .port(5431)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.workgroup().unwrap().base_capacity(), Some(8));
    assert_eq!(ok.workgroup().unwrap().port(), Some(5431));
    let ok = client
        .create_workgroup()
        .workgroup_name("top-wg")
        .namespace_name(&longest)
        .base_capacity(512)
        .port(8215)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.workgroup().unwrap().base_capacity(), Some(512));

    // GetCredentials' own rules.
    for seconds in [0, 899, 3601, 86_400] {
        expect_error(
            client
                .get_credentials()
                .workgroup_name("main-wg")
                .duration_seconds(seconds)
                .send()
                .await,
            "ValidationException",
            None,
        );
    }
    client
        .get_credentials()
        .workgroup_name("main-wg")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    expect_error(
        client.get_credentials().send().await,
        "ValidationException",
        None,
    );
    client
        .create_custom_domain_association()
        .workgroup_name("main-wg")
        .custom_domain_name("main.example.com")
        .custom_domain_certificate_arn(format!(
            "arn:aws:acm:us-east-1:{ACCOUNT}:certificate/55555555-5555-4555-8555-555555555555"
        ))
        .send()
        .await
        .unwrap();
    expect_error(
        client
            .get_credentials()
            .workgroup_name("main-wg")
            .custom_domain_name("main.example.com")
            .send()
            .await,
        "ValidationException",
        None,
    );

    // UpdateWorkgroup: one setting a call; a failed call changes nothing.
    expect_error(
        client
            .update_workgroup()
            .workgroup_name("main-wg")
            .base_capacity(64)
            .port(5440)
            .send()
            .await,
        "ValidationException",
        Some("Can't update multiple configurations at the same time for workgroup main-wg."),
    );
    for bad in [
        client
            .update_workgroup()
            .workgroup_name("main-wg")
            .base_capacity(100),
        client
            .update_workgroup()
            .workgroup_name("main-wg")
            .port(5430),
    ] {
        expect_error(bad.send().await, "ValidationException", None);
    }
    let got = client
        .get_workgroup()
        .workgroup_name("main-wg")
        .send()
        .await
        .unwrap();
    let w = got.workgroup().unwrap();
    assert_eq!(w.base_capacity(), Some(128));
    assert_eq!(w.port(), Some(5439));
    assert_eq!(w.status(), Some(&WorkgroupStatus::Available));

    // UpdateNamespace's pairs.
    let role = format!("arn:aws:iam::{ACCOUNT}:role/loader");
    expect_error(
        client
            .update_namespace()
            .namespace_name("main")
            .default_iam_role_arn(&role)
            .send()
            .await,
        "ValidationException",
        Some("To change the default IAM role, you must specify the entire list of IAM roles."),
    );
    for (user, password) in [(Some("admin"), None), (None, Some("N3wSecret22"))] {
        expect_error(
            client
                .update_namespace()
                .namespace_name("main")
                .set_admin_username(user.map(str::to_owned))
                .set_admin_user_password(password.map(str::to_owned))
                .send()
                .await,
            "ValidationException",
            None,
        );
    }
    expect_error(
        client
            .update_namespace()
            .namespace_name("main")
            .kms_key_id(
                "arn:aws:kms:us-east-1:000000000000:key/66666666-6666-4666-8666-666666666666",
            )
            .log_exports(LogExport::UserLog)
            .send()
            .await,
        "ValidationException",
        None,
    );
    let got = client
        .get_namespace()
        .namespace_name("main")
        .send()
        .await
        .unwrap();
    let n = got.namespace().unwrap();
    assert_eq!(n.status(), Some(&NamespaceStatus::Available));
    assert!(n.log_exports().is_empty(), "{:?}", n.log_exports());
    assert!(n.iam_roles().is_empty(), "{:?}", n.iam_roles());
    assert_eq!(n.default_iam_role_arn(), None);
    assert_eq!(n.kms_key_id(), Some("AWS_OWNED_KMS_KEY"));

    // A namespace with a workgroup stays.
    expect_error(
        client
            .delete_namespace()
            .namespace_name("main")
            .send()
            .await,
        "ConflictException",
        None,
    );
    let got = client
        .get_namespace()
        .namespace_name("main")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.namespace().unwrap().status(),
        Some(&NamespaceStatus::Available)
    );
    let got = client
        .get_workgroup()
        .workgroup_name("main-wg")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.workgroup().unwrap().status(),
        Some(&WorkgroupStatus::Available)
    );

    // Custom domains.
    let cert =
        format!("arn:aws:acm:us-east-1:{ACCOUNT}:certificate/77777777-7777-4777-8777-777777777777");
    expect_error(
        client
            .create_custom_domain_association()
            .workgroup_name("nope")
            .custom_domain_name("x.example.com")
            .custom_domain_certificate_arn(&cert)
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    expect_error(
        client
            .create_custom_domain_association()
            .workgroup_name("edge-wg")
            .custom_domain_name("main.example.com")
            .custom_domain_certificate_arn(&cert)
            .send()
            .await,
        "ConflictException",
        None,
    );
    let got = client
        .get_custom_domain_association()
        .workgroup_name("main-wg")
        .custom_domain_name("main.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(got.workgroup_name(), Some("main-wg"));
    expect_error(
        client
            .get_custom_domain_association()
            .workgroup_name("edge-wg")
            .custom_domain_name("main.example.com")
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    expect_error(
        client
            .update_custom_domain_association()
            .workgroup_name("main-wg")
            .custom_domain_name("other.example.com")
            .custom_domain_certificate_arn(&cert)
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    expect_error(
        client
            .delete_custom_domain_association()
            .workgroup_name("main-wg")
            .custom_domain_name("other.example.com")
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );

    // Tags: an unknown ARN, and something that is no ARN.
    let unknown = format!(
        "arn:aws:redshift-serverless:us-east-1:{ACCOUNT}:namespace/00000000-0000-4000-8000-000000000000"
    );
    expect_error(
        client
            .tag_resource()
            .resource_arn(&unknown)
            .tags(tag("a", "b"))
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    expect_error(
        client
            .list_tags_for_resource()
            .resource_arn(&unknown)
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    expect_error(
        client
            .list_tags_for_resource()
            .resource_arn("not-an-arn")
            .send()
            .await,
        "ValidationException",
        None,
    );
    expect_error(
        client
            .untag_resource()
            .resource_arn("not-an-arn")
            .tag_keys("a")
            .send()
            .await,
        "ValidationException",
        None,
    );

    // Page sizes out of 1..100.
    for size in [0, 101] {
        expect_error(
            client.list_namespaces().max_results(size).send().await,
            "ValidationException",
            None,
        );
        expect_error(
            client.list_workgroups().max_results(size).send().await,
            "ValidationException",
            None,
        );
    }

    // An operation of the model that memshift does not serve.
    expect_error(client.list_snapshots().send().await, "NotImplemented", None);
    expect_error(
        client
            .create_usage_limit()
            .resource_arn(&unknown)
            .amount(1)
            .usage_type(aws_sdk_redshiftserverless::types::UsageLimitUsageType::ServerlessCompute)
            .send()
            .await,
        "NotImplemented",
        None,
    );

    // After all that, what there was is still there, and nothing else.
    assert_eq!(
        namespace_names(&client).await,
        [longest.as_str(), "main", "spare"]
    );
    assert_eq!(
        workgroup_names(&client).await,
        ["edge-wg", "main-wg", "top-wg"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_workgroup_stops_its_endpoint_and_the_namespace_keeps_its_data() {
    if !postgres_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = serverless(&server);
    namespace_with_admin(&client, "kept").await;
    workgroup(&client, "first-wg", "kept").await;
    let first_port = endpoint_port(&client, "first-wg").await;
    let admin = login(first_port, "admin", ADMIN_PASSWORD, "dev")
        .await
        .unwrap();
    admin
        .batch_execute("CREATE TABLE survives (x int); INSERT INTO survives VALUES (7);")
        .await
        .unwrap();

    // DeleteWorkgroup: DELETING, then gone, and nothing listens on its port.
    let deleted = client
        .delete_workgroup()
        .workgroup_name("first-wg")
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.workgroup().unwrap().status(),
        Some(&WorkgroupStatus::Deleting)
    );
    expect_error(
        client
            .get_workgroup()
            .workgroup_name("first-wg")
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    assert_eq!(
        refused(first_port, "admin", ADMIN_PASSWORD, "dev").await,
        "-"
    );
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", first_port))
            .await
            .is_err(),
        "port {first_port} still accepts connections"
    );
    expect_error(
        client
            .get_credentials()
            .workgroup_name("first-wg")
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    assert!(workgroup_names(&client).await.is_empty());
    assert_eq!(namespace_names(&client).await, ["kept"]);

    // A new workgroup on the same namespace sees the same database.
    workgroup(&client, "second-wg", "kept").await;
    let port = endpoint_port(&client, "second-wg").await;
    let admin = login(port, "admin", ADMIN_PASSWORD, "dev").await.unwrap();
    assert_eq!(
        one_value(&admin, "SELECT sum(x)::text FROM survives").await,
        "7"
    );
    let (user, password) = credentials(&client, "second-wg").await;
    login(port, &user, &password, "dev").await.unwrap();
    drop(admin);

    // The namespace goes only without its workgroup, and its database with it.
    expect_error(
        client
            .delete_namespace()
            .namespace_name("kept")
            .send()
            .await,
        "ConflictException",
        None,
    );
    client
        .delete_workgroup()
        .workgroup_name("second-wg")
        .send()
        .await
        .unwrap();
    assert_eq!(refused(port, "admin", ADMIN_PASSWORD, "dev").await, "-");
    let deleted = client
        .delete_namespace()
        .namespace_name("kept")
        .send()
        .await
        .unwrap();
    let old_id = deleted
        .namespace()
        .unwrap()
        .namespace_id()
        .unwrap()
        .to_owned();
    assert_eq!(
        deleted.namespace().unwrap().status(),
        Some(&NamespaceStatus::Deleting)
    );
    expect_error(
        client.get_namespace().namespace_name("kept").send().await,
        "ResourceNotFoundException",
        None,
    );
    assert!(namespace_names(&client).await.is_empty());

    // A namespace of the same name is a new one, with an empty database.
    namespace_with_admin(&client, "kept").await;
    let got = client
        .get_namespace()
        .namespace_name("kept")
        .send()
        .await
        .unwrap();
    assert_ne!(
        got.namespace().unwrap().namespace_id(),
        Some(old_id.as_str())
    );
    workgroup(&client, "third-wg", "kept").await;
    let port = endpoint_port(&client, "third-wg").await;
    let admin = login(port, "admin", ADMIN_PASSWORD, "dev").await.unwrap();
    assert_eq!(
        one_value(
            &admin,
            "SELECT count(*)::text FROM pg_catalog.pg_tables WHERE tablename = 'survives'"
        )
        .await,
        "0"
    );
    drop(admin);

    // A reset takes everything, the endpoint too.
    let reset = reqwest::Client::new()
        .post(format!("{}/_memshift/reset", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert!(namespace_names(&client).await.is_empty());
    assert!(workgroup_names(&client).await.is_empty());
    assert_eq!(refused(port, "admin", ADMIN_PASSWORD, "dev").await, "-");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn other_accounts_and_regions_see_none_of_it() {
    let server = server().await;
    let client = serverless(&server);
    let created = client
        .create_namespace()
        .namespace_name("shared")
        .tags(tag("owner", "default"))
        .send()
        .await
        .unwrap();
    let ns_arn = created
        .namespace()
        .unwrap()
        .namespace_arn()
        .unwrap()
        .to_owned();
    let ns_id = created
        .namespace()
        .unwrap()
        .namespace_id()
        .unwrap()
        .to_owned();
    let created = client
        .create_workgroup()
        .workgroup_name("shared-wg")
        .namespace_name("shared")
        .send()
        .await
        .unwrap();
    let wg_arn = created
        .workgroup()
        .unwrap()
        .workgroup_arn()
        .unwrap()
        .to_owned();
    client
        .create_custom_domain_association()
        .workgroup_name("shared-wg")
        .custom_domain_name("shared.example.com")
        .custom_domain_certificate_arn(format!(
            "arn:aws:acm:us-east-1:{ACCOUNT}:certificate/88888888-8888-4888-8888-888888888888"
        ))
        .send()
        .await
        .unwrap();

    let other_account = serverless_as(&server, "123456789012", "us-east-1");
    let other_region = serverless_as(&server, KEY, "eu-west-1");
    for (who, other, region, account) in [
        ("account", &other_account, "us-east-1", "123456789012"),
        ("region", &other_region, "eu-west-1", ACCOUNT),
    ] {
        assert!(namespace_names(other).await.is_empty(), "{who}");
        assert!(workgroup_names(other).await.is_empty(), "{who}");
        let listed = other
            .list_custom_domain_associations()
            .send()
            .await
            .unwrap();
        assert!(listed.associations().is_empty(), "{who}");
        expect_error(
            other.get_namespace().namespace_name("shared").send().await,
            "ResourceNotFoundException",
            None,
        );
        expect_error(
            other
                .get_workgroup()
                .workgroup_name("shared-wg")
                .send()
                .await,
            "ResourceNotFoundException",
            None,
        );
        expect_error(
            other
                .get_credentials()
                .workgroup_name("shared-wg")
                .send()
                .await,
            "ResourceNotFoundException",
            None,
        );
        expect_error(
            other
                .get_credentials()
                .custom_domain_name("shared.example.com")
                .send()
                .await,
            "ResourceNotFoundException",
            None,
        );
        expect_error(
            other
                .delete_namespace()
                .namespace_name("shared")
                .send()
                .await,
            "ResourceNotFoundException",
            None,
        );
        for arn in [&ns_arn, &wg_arn] {
            expect_error(
                other
                    .list_tags_for_resource()
                    .resource_arn(arn)
                    .send()
                    .await,
                "ResourceNotFoundException",
                None,
            );
        }

        // The same names are free there, with ARNs of their own.
        let theirs = other
            .create_namespace()
            .namespace_name("shared")
            .send()
            .await
            .unwrap();
        let arn = theirs.namespace().unwrap().namespace_arn().unwrap();
        arn_id(arn, region, account, "namespace");
        assert_ne!(
            theirs.namespace().unwrap().namespace_id(),
            Some(ns_id.as_str())
        );
        let theirs = other
            .create_workgroup()
            .workgroup_name("shared-wg")
            .namespace_name("shared")
            .send()
            .await
            .unwrap();
        arn_id(
            theirs.workgroup().unwrap().workgroup_arn().unwrap(),
            region,
            account,
            "workgroup",
        );
        assert!(
            other
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .unwrap()
                .tags()
                .is_empty()
        );
    }

    // Another key that is not an account id is the default account: it sees it all.
    let colleague = serverless_as(&server, "AKIAOTHERKEY00000001", "us-east-1");
    assert_eq!(namespace_names(&colleague).await, ["shared"]);
    let got = colleague
        .get_namespace()
        .namespace_name("shared")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.namespace().unwrap().namespace_id(),
        Some(ns_id.as_str())
    );

    // The default account's are as they were.
    let got = client
        .get_namespace()
        .namespace_name("shared")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.namespace().unwrap().namespace_arn(),
        Some(ns_arn.as_str())
    );
    assert_eq!(workgroup_names(&client).await, ["shared-wg"]);
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&ns_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(pairs(tags.tags()), [pair("owner", "default")]);
    let listed = client
        .list_custom_domain_associations()
        .send()
        .await
        .unwrap();
    assert_eq!(listed.associations().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn namespaces_workgroups_and_rows_survive_a_restart() {
    if !postgres_available() {
        return;
    }
    let dir = common::temp_dir("serverless-restart");
    let config = Config {
        data_dir: Some(dir.path().join("data")),
        ..Config::ephemeral().with_engines()
    };
    let server = memshift::start(&config).await.unwrap();
    let client = serverless(&server);
    let created = client
        .create_namespace()
        .namespace_name("durable")
        .admin_username("admin")
        .admin_user_password(ADMIN_PASSWORD)
        .tags(tag("keep", "yes"))
        .send()
        .await
        .unwrap();
    let ns = created.namespace().unwrap().clone();
    let created = client
        .create_workgroup()
        .workgroup_name("durable-wg")
        .namespace_name("durable")
        .base_capacity(64)
        .send()
        .await
        .unwrap();
    let wg = created.workgroup().unwrap().clone();
    let cert =
        format!("arn:aws:acm:us-east-1:{ACCOUNT}:certificate/99999999-9999-4999-8999-999999999999");
    client
        .create_custom_domain_association()
        .workgroup_name("durable-wg")
        .custom_domain_name("durable.example.com")
        .custom_domain_certificate_arn(&cert)
        .send()
        .await
        .unwrap();
    let port = endpoint_port(&client, "durable-wg").await;
    let admin = login(port, "admin", ADMIN_PASSWORD, "dev").await.unwrap();
    admin
        .batch_execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (1), (2), (3);")
        .await
        .unwrap();
    drop(admin);
    server.shutdown().await.unwrap();
    assert_eq!(refused(port, "admin", ADMIN_PASSWORD, "dev").await, "-");

    let server = memshift::start(&config).await.unwrap();
    let client = serverless(&server);
    let got = client
        .get_namespace()
        .namespace_name("durable")
        .send()
        .await
        .unwrap();
    let n = got.namespace().unwrap();
    assert_eq!(n.namespace_id(), ns.namespace_id());
    assert_eq!(n.namespace_arn(), ns.namespace_arn());
    assert_eq!(n.admin_username(), Some("admin"));
    assert_eq!(n.db_name(), Some("dev"));
    assert_eq!(n.status(), Some(&NamespaceStatus::Available));
    assert_eq!(
        n.creation_date().map(DateTime::secs),
        ns.creation_date().map(DateTime::secs)
    );
    let got = client
        .get_workgroup()
        .workgroup_name("durable-wg")
        .send()
        .await
        .unwrap();
    let w = got.workgroup().unwrap();
    assert_eq!(w.workgroup_id(), wg.workgroup_id());
    assert_eq!(w.workgroup_arn(), wg.workgroup_arn());
    assert_eq!(w.namespace_name(), Some("durable"));
    assert_eq!(w.base_capacity(), Some(64));
    assert_eq!(w.custom_domain_name(), Some("durable.example.com"));
    assert_eq!(w.custom_domain_certificate_arn(), Some(cert.as_str()));
    let tags = client
        .list_tags_for_resource()
        .resource_arn(ns.namespace_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(pairs(tags.tags()), [pair("keep", "yes")]);

    let port = endpoint_port(&client, "durable-wg").await;
    let admin = login(port, "admin", ADMIN_PASSWORD, "dev").await.unwrap();
    assert_eq!(
        one_value(&admin, "SELECT sum(x)::text FROM kept").await,
        "6"
    );
    let (user, password) = credentials(&client, "durable-wg").await;
    let session = login(port, &user, &password, "dev").await.unwrap();
    assert_eq!(one_value(&session, "SELECT current_user::text").await, user);
    drop((admin, session));
    server.shutdown().await.unwrap();
}

/// A region whose name begins another's (`us-east` and `us-east-1`): the data directories
/// of one are never taken for the other's, whatever either creates or deletes.
#[tokio::test]
async fn a_region_named_like_the_start_of_another_leaves_its_data_alone() {
    if !postgres_available() {
        return;
    }
    let dir = common::temp_dir("serverless-regions");
    let config = Config {
        data_dir: Some(dir.path().join("data")),
        ..Config::ephemeral().with_engines()
    };
    let server = memshift::start(&config).await.unwrap();
    let east1 = serverless_as(&server, "AKIAIOSFODNN7EXAMPLE", "us-east-1");
    namespace_with_admin(&east1, "lake").await;
    workgroup(&east1, "lake-wg", "lake").await;
    let admin = login(
        endpoint_port(&east1, "lake-wg").await,
        "admin",
        ADMIN_PASSWORD,
        "dev",
    )
    .await
    .unwrap();
    admin
        .batch_execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7);")
        .await
        .unwrap();
    drop(admin);
    // The other region's calls reconcile its servers, and remove data it no longer uses.
    let east = serverless_as(&server, "AKIAIOSFODNN7EXAMPLE", "us-east");
    namespace_with_admin(&east, "other").await;
    workgroup(&east, "other-wg", "other").await;
    east.delete_workgroup()
        .workgroup_name("other-wg")
        .send()
        .await
        .unwrap();
    east.delete_namespace()
        .namespace_name("other")
        .send()
        .await
        .unwrap();
    server.shutdown().await.unwrap();

    let server = memshift::start(&config).await.unwrap();
    let east1 = serverless_as(&server, "AKIAIOSFODNN7EXAMPLE", "us-east-1");
    let admin = login(
        endpoint_port(&east1, "lake-wg").await,
        "admin",
        ADMIN_PASSWORD,
        "dev",
    )
    .await
    .unwrap();
    assert_eq!(one_value(&admin, "SELECT x::text FROM kept").await, "7");
    drop(admin);
    server.shutdown().await.unwrap();
}
