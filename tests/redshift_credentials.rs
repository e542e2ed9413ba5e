//! GetClusterCredentials and GetClusterCredentialsWithIAM through the official AWS SDK
//! for Rust.

#![allow(
    clippy::too_many_lines,
    reason = "each test is one user journey, read top to bottom"
)]

mod common;

use std::collections::HashSet;

use aws_sdk_redshift::Client;
use common::{redshift, redshift_as, redshift_status as status, server, server_with};
use memshift::config::IamIdentity;

async fn cluster(client: &Client, id: &str) {
    common::try_create_cluster(client, id).await.unwrap();
}

fn seconds_from_now(t: &aws_sdk_redshift::primitives::DateTime) -> i64 {
    t.secs() - chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn credentials_for_a_database_user() {
    let server = server().await;
    let client = redshift(&server);
    cluster(&client, "wh").await;
    let out = client
        .get_cluster_credentials()
        .cluster_identifier("wh")
        .db_user("alice")
        .db_name("dev")
        .db_groups("analysts")
        .db_groups("readers")
        .send()
        .await
        .unwrap();
    assert_eq!(out.db_user(), Some("IAM:alice"));
    let password = out.db_password().unwrap();
    assert_eq!(password.len(), 76);
    let left = seconds_from_now(out.expiration().unwrap());
    assert!((898..=901).contains(&left), "{left}");

    let out = client
        .get_cluster_credentials()
        .cluster_identifier("WH")
        .db_user("alice")
        .auto_create(true)
        .duration_seconds(3600)
        .send()
        .await
        .unwrap();
    assert_eq!(out.db_user(), Some("IAMA:alice"));
    let left = seconds_from_now(out.expiration().unwrap());
    assert!((3598..=3601).contains(&left), "{left}");

    // Every call gets a fresh, unguessable password.
    let mut seen = HashSet::new();
    for _ in 0..50 {
        let out = client
            .get_cluster_credentials()
            .cluster_identifier("wh")
            .db_user("bob")
            .send()
            .await
            .unwrap();
        assert!(seen.insert(out.db_password().unwrap().to_owned()));
    }
}

#[tokio::test]
async fn get_cluster_credentials_errors() {
    let server = server().await;
    let client = redshift(&server);
    cluster(&client, "wh").await;

    let err = client
        .get_cluster_credentials()
        .cluster_identifier("nope")
        .db_user("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    let err = err.into_service_error();
    assert!(err.is_cluster_not_found_fault());
    assert_eq!(err.meta().message(), Some("Cluster nope not found."));

    let long = "a".repeat(65);
    let bad = [
        (
            "reserved user",
            client
                .get_cluster_credentials()
                .cluster_identifier("wh")
                .db_user("select"),
        ),
        (
            "PUBLIC",
            client
                .get_cluster_credentials()
                .cluster_identifier("wh")
                .db_user("PUBLIC"),
        ),
        (
            "digit first",
            client
                .get_cluster_credentials()
                .cluster_identifier("wh")
                .db_user("1alice"),
        ),
        (
            "colon",
            client
                .get_cluster_credentials()
                .cluster_identifier("wh")
                .db_user("IAM:alice"),
        ),
        (
            "slash",
            client
                .get_cluster_credentials()
                .cluster_identifier("wh")
                .db_user("a/b"),
        ),
        (
            "long",
            client
                .get_cluster_credentials()
                .cluster_identifier("wh")
                .db_user(&long),
        ),
        (
            "db name",
            client
                .get_cluster_credentials()
                .cluster_identifier("wh")
                .db_user("a")
                .db_name("table"),
        ),
        (
            "upper group",
            client
                .get_cluster_credentials()
                .cluster_identifier("wh")
                .db_user("a")
                .db_groups("Admins"),
        ),
        (
            "reserved group",
            client
                .get_cluster_credentials()
                .cluster_identifier("wh")
                .db_user("a")
                .db_groups("group"),
        ),
        (
            "short",
            client
                .get_cluster_credentials()
                .cluster_identifier("wh")
                .db_user("a")
                .duration_seconds(899),
        ),
        (
            "long duration",
            client
                .get_cluster_credentials()
                .cluster_identifier("wh")
                .db_user("a")
                .duration_seconds(3601),
        ),
    ];
    for (what, req) in bad {
        let err = req.send().await.unwrap_err();
        assert_eq!(status(&err), 400, "{what}");
        assert_eq!(
            err.into_service_error().meta().code(),
            Some("InvalidParameterValue"),
            "{what}"
        );
    }
    let err = client
        .get_cluster_credentials()
        .db_user("a")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("InvalidParameterCombination")
    );
}

#[tokio::test]
async fn a_custom_domain_names_the_cluster() {
    let server = server().await;
    let client = redshift(&server);
    cluster(&client, "wh").await;
    let certificate = "arn:aws:acm:us-east-1:000000000000:certificate/0b0b0b0b";
    let out = client
        .create_custom_domain_association()
        .cluster_identifier("wh")
        .custom_domain_name("warehouse.example.com")
        .custom_domain_certificate_arn(certificate)
        .send()
        .await
        .unwrap();
    assert_eq!(out.custom_domain_name(), Some("warehouse.example.com"));
    assert_eq!(out.cluster_identifier(), Some("wh"));

    let creds = client
        .get_cluster_credentials()
        .custom_domain_name("warehouse.example.com")
        .db_user("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(creds.db_user(), Some("IAM:alice"));
    // The look-up Amazon's drivers make for a host name that is not an AWS one.
    let found = client
        .describe_custom_domain_associations()
        .custom_domain_name("warehouse.example.com")
        .send()
        .await
        .unwrap();
    let association = &found.associations()[0];
    assert_eq!(
        association.custom_domain_certificate_arn(),
        Some(certificate)
    );
    assert_eq!(
        association
            .custom_domain_certificate_expiry_date()
            .unwrap()
            .secs(),
        chrono::DateTime::parse_from_rfc3339(out.custom_domain_cert_expiry_time().unwrap())
            .unwrap()
            .timestamp()
    );
    let pair = &association.certificate_associations()[0];
    assert_eq!(pair.custom_domain_name(), Some("warehouse.example.com"));
    assert_eq!(pair.cluster_identifier(), Some("wh"));
    let all = client
        .describe_custom_domain_associations()
        .send()
        .await
        .unwrap();
    assert_eq!(all.associations().len(), 1);
    let err = client
        .describe_custom_domain_associations()
        .custom_domain_name("127.0.0.1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(
        err.into_service_error()
            .is_custom_domain_association_not_found_fault()
    );
    let d = client
        .describe_clusters()
        .cluster_identifier("wh")
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.clusters()[0].custom_domain_name(),
        Some("warehouse.example.com")
    );

    let err = client
        .get_cluster_credentials()
        .custom_domain_name("other.example.com")
        .db_user("alice")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_cluster_not_found_fault());
    let err = client
        .get_cluster_credentials()
        .cluster_identifier("wh")
        .custom_domain_name("warehouse.example.com")
        .db_user("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("InvalidParameterCombination")
    );

    client
        .delete_custom_domain_association()
        .cluster_identifier("wh")
        .custom_domain_name("warehouse.example.com")
        .send()
        .await
        .unwrap();
    let all = client
        .describe_custom_domain_associations()
        .send()
        .await
        .unwrap();
    assert!(all.associations().is_empty());
    let err = client
        .get_cluster_credentials()
        .custom_domain_name("warehouse.example.com")
        .db_user("alice")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_cluster_not_found_fault());
    let err = client
        .delete_custom_domain_association()
        .cluster_identifier("wh")
        .custom_domain_name("warehouse.example.com")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(
        err.into_service_error()
            .is_custom_domain_association_not_found_fault()
    );
}

#[tokio::test]
async fn credentials_with_iam_follow_the_caller() {
    let server = server_with(|c| {
        c.services.iam_identities.insert(
            "AKIAUSERKEY000000001".to_owned(),
            IamIdentity::User("alice".to_owned()),
        );
        c.services.iam_identities.insert(
            "AKIAROLEKEY000000001".to_owned(),
            IamIdentity::Role("etl-job".to_owned()),
        );
    })
    .await;
    cluster(&redshift(&server), "wh").await;

    let unmapped = redshift_as(&server, "AKIAIOSFODNN7EXAMPLE", "us-east-1");
    let out = unmapped
        .get_cluster_credentials_with_iam()
        .cluster_identifier("wh")
        .send()
        .await
        .unwrap();
    assert_eq!(out.db_user(), Some("IAM:AKIAIOSFODNN7EXAMPLE"));
    assert_eq!(out.db_password().unwrap().len(), 76);
    let left = seconds_from_now(out.expiration().unwrap());
    assert!((898..=901).contains(&left), "{left}");
    assert!(out.next_refresh_time().is_some());

    let user = redshift_as(&server, "AKIAUSERKEY000000001", "us-east-1");
    let out = user
        .get_cluster_credentials_with_iam()
        .cluster_identifier("wh")
        .db_name("dev")
        .duration_seconds(1800)
        .send()
        .await
        .unwrap();
    assert_eq!(out.db_user(), Some("IAM:alice"));
    let left = seconds_from_now(out.expiration().unwrap());
    assert!((1798..=1801).contains(&left), "{left}");

    let role = redshift_as(&server, "AKIAROLEKEY000000001", "us-east-1");
    let out = role
        .get_cluster_credentials_with_iam()
        .cluster_identifier("wh")
        .send()
        .await
        .unwrap();
    assert_eq!(out.db_user(), Some("IAMR:etl-job"));

    for req in [
        unmapped
            .get_cluster_credentials_with_iam()
            .cluster_identifier("wh")
            .duration_seconds(600),
        unmapped
            .get_cluster_credentials_with_iam()
            .cluster_identifier("wh")
            .db_name("1bad"),
    ] {
        let err = req.send().await.unwrap_err();
        assert_eq!(status(&err), 400);
        assert_eq!(
            err.into_service_error().meta().code(),
            Some("InvalidParameterValue")
        );
    }
    let err = unmapped
        .get_cluster_credentials_with_iam()
        .cluster_identifier("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_cluster_not_found_fault());
}
