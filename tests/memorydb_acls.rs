//! CreateACL, DescribeACLs, UpdateACL and DeleteACL through the official AWS SDK for Rust,
//! with two-way membership checked after every change.

#![allow(
    clippy::too_many_lines,
    reason = "each test is one user journey, read top to bottom"
)]

mod common;

use aws_sdk_memorydb::Client;
use common::{create_password_user, memorydb, memorydb_as, password, server, status};

async fn create_users(client: &Client, names: &[&str]) {
    let pw = password("acl", 16);
    for name in names {
        create_password_user(client, *name, &pw, "on ~* +@all").await;
    }
}

async fn acl_names_of(client: &Client, user: &str) -> Vec<String> {
    client
        .describe_users()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .users()[0]
        .acl_names()
        .to_vec()
}

async fn members_of(client: &Client, acl: &str) -> Vec<String> {
    client
        .describe_acls()
        .acl_name(acl)
        .send()
        .await
        .unwrap()
        .acls()[0]
        .user_names()
        .to_vec()
}

#[tokio::test]
async fn every_region_starts_with_open_access() {
    let server = server().await;
    let client = memorydb_as(&server, "123456789012", "ap-southeast-2");
    let out = client.describe_acls().send().await.unwrap();
    assert_eq!(out.acls().len(), 1);
    let acl = &out.acls()[0];
    assert_eq!(acl.name(), Some("open-access"));
    assert_eq!(acl.status(), Some("active"));
    assert_eq!(acl.user_names(), ["default"]);
    assert_eq!(acl.minimum_engine_version(), Some("6.2"));
    assert!(acl.clusters().is_empty());
    assert!(acl.pending_changes().is_none());
    assert_eq!(
        acl.arn(),
        Some("arn:aws:memorydb:ap-southeast-2:123456789012:acl/open-access")
    );
}

#[tokio::test]
async fn create_acl_links_both_ways() {
    let server = server().await;
    let client = memorydb(&server);
    create_users(&client, &["bob", "alice"]).await;
    let out = client
        .create_acl()
        .acl_name("App-ACL")
        .user_names("bob")
        .user_names("Alice")
        .send()
        .await
        .unwrap();
    let acl = out.acl().unwrap();
    assert_eq!(acl.name(), Some("app-acl"));
    assert_eq!(acl.status(), Some("creating"));
    assert_eq!(acl.user_names(), ["alice", "bob"]);
    assert_eq!(acl.minimum_engine_version(), Some("6.2"));
    assert!(acl.clusters().is_empty());
    assert_eq!(
        acl.arn(),
        Some("arn:aws:memorydb:us-east-1:000000000000:acl/app-acl")
    );
    assert_eq!(acl_names_of(&client, "alice").await, ["app-acl"]);
    assert_eq!(acl_names_of(&client, "bob").await, ["app-acl"]);

    // An empty ACL, without the default user, is allowed.
    let empty = client.create_acl().acl_name("empty").send().await.unwrap();
    assert!(empty.acl().unwrap().user_names().is_empty());

    let described = client
        .describe_acls()
        .acl_name("APP-ACL")
        .send()
        .await
        .unwrap();
    assert_eq!(described.acls()[0].status(), Some("active"));
    assert_eq!(described.acls()[0].user_names(), ["alice", "bob"]);
}

#[tokio::test]
async fn create_acl_errors() {
    let server = server().await;
    let client = memorydb(&server);
    create_users(&client, &["carol"]).await;
    client.create_acl().acl_name("exists").send().await.unwrap();

    let err = client
        .create_acl()
        .acl_name("exists")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    assert!(err.into_service_error().is_acl_already_exists_fault());

    let err = client
        .create_acl()
        .acl_name("open-access")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_acl_already_exists_fault());

    let err = client
        .create_acl()
        .acl_name("a1")
        .user_names("nobody")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_user_not_found_fault());

    let err = client
        .create_acl()
        .acl_name("a2")
        .user_names("carol")
        .user_names("CAROL")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    assert!(err.into_service_error().is_duplicate_user_name_fault());

    for name in ["9lives", "trailing-", "two--hyphens", "space name"] {
        let err = client.create_acl().acl_name(name).send().await.unwrap_err();
        assert_eq!(status(&err), 400, "{name}");
        assert!(
            err.into_service_error()
                .is_invalid_parameter_value_exception(),
            "{name}"
        );
    }
    // Nothing failed left a trace on carol.
    assert!(acl_names_of(&client, "carol").await.is_empty());
}

#[tokio::test]
async fn the_acl_quota_is_200_a_region() {
    let server = server().await;
    let client = memorydb_as(&server, "999988887777", "us-east-1");
    // open-access counts: 199 more fit.
    for i in 0..199 {
        client
            .create_acl()
            .acl_name(format!("acl-{i}"))
            .send()
            .await
            .unwrap();
    }
    let err = client
        .create_acl()
        .acl_name("acl-199")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    assert!(err.into_service_error().is_acl_quota_exceeded_fault());

    let pages: Vec<_> = client
        .describe_acls()
        .max_results(50)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(pages.len(), 4);
    let count: usize = pages.iter().map(|p| p.acls().len()).sum();
    assert_eq!(count, 200);
}

#[tokio::test]
async fn an_acl_holds_at_most_100_users() {
    let server = server().await;
    let client = memorydb(&server);
    let names: Vec<String> = (0..101).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    create_users(&client, &refs).await;
    let mut req = client.create_acl().acl_name("big");
    for n in &names[..100] {
        req = req.user_names(n);
    }
    req.send().await.unwrap();
    let err = client
        .update_acl()
        .acl_name("big")
        .user_names_to_add("m100")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    assert!(
        err.into_service_error()
            .is_invalid_parameter_value_exception()
    );
    assert!(acl_names_of(&client, "m100").await.is_empty());
}

#[tokio::test]
async fn update_acl_adds_and_removes_on_both_sides() {
    let server = server().await;
    let client = memorydb(&server);
    create_users(&client, &["u1", "u2", "u3"]).await;
    client
        .create_acl()
        .acl_name("team")
        .user_names("u1")
        .user_names("u2")
        .send()
        .await
        .unwrap();

    let out = client
        .update_acl()
        .acl_name("team")
        .user_names_to_add("u3")
        .user_names_to_remove("u1")
        .send()
        .await
        .unwrap();
    let acl = out.acl().unwrap();
    assert_eq!(acl.status(), Some("modifying"));
    assert_eq!(acl.user_names(), ["u2", "u3"]);
    let pending = acl.pending_changes().unwrap();
    assert_eq!(pending.user_names_to_add(), ["u3"]);
    assert_eq!(pending.user_names_to_remove(), ["u1"]);

    assert_eq!(members_of(&client, "team").await, ["u2", "u3"]);
    assert!(acl_names_of(&client, "u1").await.is_empty());
    assert_eq!(acl_names_of(&client, "u2").await, ["team"]);
    assert_eq!(acl_names_of(&client, "u3").await, ["team"]);

    // A user may belong to several ACLs.
    client
        .create_acl()
        .acl_name("other")
        .user_names("u3")
        .send()
        .await
        .unwrap();
    assert_eq!(acl_names_of(&client, "u3").await, ["other", "team"]);
    let described = client
        .describe_acls()
        .acl_name("team")
        .send()
        .await
        .unwrap();
    assert!(described.acls()[0].pending_changes().is_none());
}

#[tokio::test]
async fn update_acl_errors() {
    let server = server().await;
    let client = memorydb(&server);
    create_users(&client, &["in", "out"]).await;
    client
        .create_acl()
        .acl_name("team")
        .user_names("in")
        .send()
        .await
        .unwrap();

    let err = client
        .update_acl()
        .acl_name("ghost")
        .user_names_to_add("in")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_acl_not_found_fault());

    let err = client
        .update_acl()
        .acl_name("team")
        .user_names_to_add("nobody")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_user_not_found_fault());

    let err = client
        .update_acl()
        .acl_name("team")
        .user_names_to_add("in")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    assert!(err.into_service_error().is_duplicate_user_name_fault());

    for req in [
        client
            .update_acl()
            .acl_name("team")
            .user_names_to_remove("out"),
        client
            .update_acl()
            .acl_name("open-access")
            .user_names_to_add("out"),
    ] {
        let err = req.send().await.unwrap_err();
        assert_eq!(status(&err), 400);
        assert!(
            err.into_service_error()
                .is_invalid_parameter_value_exception()
        );
    }
    for req in [
        client.update_acl().acl_name("team"),
        client
            .update_acl()
            .acl_name("team")
            .user_names_to_add("out")
            .user_names_to_remove("out"),
    ] {
        let err = req.send().await.unwrap_err();
        assert_eq!(status(&err), 400);
        assert!(
            err.into_service_error()
                .is_invalid_parameter_combination_exception()
        );
    }
    // A failed update changes nothing: "out" was valid to add in the last call.
    assert_eq!(members_of(&client, "team").await, ["in"]);
    assert!(acl_names_of(&client, "out").await.is_empty());
}

#[tokio::test]
async fn delete_acl() {
    let server = server().await;
    let client = memorydb(&server);
    create_users(&client, &["pat"]).await;
    client
        .create_acl()
        .acl_name("doomed")
        .user_names("pat")
        .send()
        .await
        .unwrap();

    let out = client.delete_acl().acl_name("doomed").send().await.unwrap();
    let acl = out.acl().unwrap();
    assert_eq!(acl.status(), Some("deleting"));
    assert_eq!(acl.user_names(), ["pat"]);
    assert!(acl_names_of(&client, "pat").await.is_empty());

    let err = client
        .describe_acls()
        .acl_name("doomed")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_acl_not_found_fault());

    let err = client
        .delete_acl()
        .acl_name("doomed")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_acl_not_found_fault());

    let err = client
        .delete_acl()
        .acl_name("open-access")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    let err = err.into_service_error();
    assert!(err.is_invalid_parameter_value_exception());
    assert_eq!(
        err.meta().message(),
        Some("open-access ACL can't be deleted.")
    );
    assert_eq!(members_of(&client, "open-access").await, ["default"]);
}
