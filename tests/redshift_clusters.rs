//! CreateCluster, DescribeClusters, DeleteCluster and cluster tags through the official
//! AWS SDK for Rust over AWS Query.

#![allow(
    clippy::too_many_lines,
    reason = "each test is one user journey, read top to bottom"
)]

mod common;

use std::time::Duration;

use aws_sdk_redshift::Client;
use aws_sdk_redshift::types::Tag;
use common::{redshift, redshift_as, redshift_status as status, server, server_with};

fn create(
    client: &Client,
    id: &str,
) -> aws_sdk_redshift::operation::create_cluster::builders::CreateClusterFluentBuilder {
    client
        .create_cluster()
        .cluster_identifier(id)
        .node_type("ra3.xlplus")
        .master_username("admin")
        .master_user_password("Sup3rSecret")
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

#[tokio::test]
async fn create_then_describe_a_cluster() {
    let server = server().await;
    let client = redshift(&server);
    let before = chrono::Utc::now();
    let out = create(&client, "Analytics-1")
        .tags(tag("team", "data"))
        .send()
        .await
        .unwrap();
    let c = out.cluster().unwrap();
    assert_eq!(c.cluster_identifier(), Some("analytics-1"));
    assert_eq!(c.node_type(), Some("ra3.xlplus"));
    assert_eq!(c.cluster_status(), Some("creating"));
    assert_eq!(c.master_username(), Some("admin"));
    assert_eq!(c.db_name(), Some("dev"));
    assert!(c.endpoint().is_none(), "no endpoint while creating");
    assert_eq!(c.number_of_nodes(), Some(1));
    assert_eq!(c.encrypted(), Some(true));
    assert_eq!(c.publicly_accessible(), Some(false));
    assert_eq!(c.availability_zone(), Some("us-east-1a"));
    let created = c.cluster_create_time().unwrap();
    assert!(
        created.secs() >= before.timestamp() - 1
            && created.secs() <= chrono::Utc::now().timestamp() + 1
    );
    let arn = c.cluster_namespace_arn().unwrap();
    let uuid = arn
        .strip_prefix("arn:aws:redshift:us-east-1:000000000000:namespace:")
        .unwrap();
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{arn}");
    assert_eq!(c.tags().len(), 1);
    assert_eq!(c.tags()[0].key(), Some("team"));
    assert_eq!(c.cluster_nodes()[0].node_role(), Some("SHARED"));

    let described = client
        .describe_clusters()
        .cluster_identifier("analytics-1")
        .send()
        .await
        .unwrap();
    let d = &described.clusters()[0];
    assert_eq!(d.cluster_status(), Some("available"));
    assert_eq!(d.cluster_availability_status(), Some("Available"));
    let endpoint = d.endpoint().unwrap();
    assert_eq!(endpoint.port(), Some(5439));
    assert_eq!(endpoint.address(), Some("localhost"));
    assert_eq!(d.cluster_namespace_arn(), Some(arn));
    assert_eq!(d.cluster_create_time(), Some(created));

    let out = create(&client, "custom")
        .port(5440)
        .db_name("warehouse")
        .cluster_type("multi-node")
        .number_of_nodes(3)
        .encrypted(false)
        .send()
        .await
        .unwrap();
    let c = out.cluster().unwrap();
    assert_eq!(c.db_name(), Some("warehouse"));
    assert_eq!(c.number_of_nodes(), Some(3));
    assert_eq!(c.encrypted(), Some(false));
    assert_eq!(c.cluster_nodes().len(), 4);
    let d = client
        .describe_clusters()
        .cluster_identifier("custom")
        .send()
        .await
        .unwrap();
    assert_eq!(d.clusters()[0].endpoint().unwrap().port(), Some(5440));

    // A managed master password needs no password.
    let out = client
        .create_cluster()
        .cluster_identifier("managed")
        .node_type("dc2.large")
        .master_username("admin")
        .manage_master_password(true)
        .send()
        .await
        .unwrap();
    assert!(
        out.cluster()
            .unwrap()
            .master_password_secret_arn()
            .is_some()
    );
}

#[tokio::test]
async fn create_cluster_errors() {
    let server = server().await;
    let client = redshift(&server);
    create(&client, "taken").send().await.unwrap();
    let err = create(&client, "TAKEN").send().await.unwrap_err();
    assert_eq!(status(&err), 400);
    assert!(err.into_service_error().is_cluster_already_exists_fault());

    let bad: Vec<(
        &str,
        aws_sdk_redshift::operation::create_cluster::builders::CreateClusterFluentBuilder,
    )> = vec![
        ("digit first", create(&client, "1abc")),
        ("trailing hyphen", create(&client, "abc-")),
        ("double hyphen", create(&client, "a--b")),
        ("too long", create(&client, &"a".repeat(64))),
        ("node type", create(&client, "n1").node_type("x1.huge")),
        (
            "user PUBLIC",
            create(&client, "n2").master_username("PUBLIC"),
        ),
        (
            "user colon",
            create(&client, "n3").master_username("ad:min"),
        ),
        (
            "user reserved",
            create(&client, "n4").master_username("select"),
        ),
        (
            "short password",
            create(&client, "n5").master_user_password("Ab1"),
        ),
        (
            "no upper",
            create(&client, "n6").master_user_password("password1"),
        ),
        (
            "no digit",
            create(&client, "n7").master_user_password("Passwordx"),
        ),
        (
            "quote",
            create(&client, "n8").master_user_password("Pass'word1"),
        ),
        (
            "at sign",
            create(&client, "n9").master_user_password("Pass@word1"),
        ),
        ("port", create(&client, "n10").port(80)),
        ("db name", create(&client, "n11").db_name("Bad-Name")),
        ("nodes", create(&client, "n12").number_of_nodes(129)),
        ("az", create(&client, "n13").availability_zone("eu-west-1a")),
    ];
    for (what, req) in bad {
        let err = req.send().await.unwrap_err();
        assert_eq!(status(&err), 400, "{what}");
        let err = err.into_service_error();
        assert_eq!(
            err.meta().code(),
            Some("InvalidParameterValue"),
            "{what}: {err:?}"
        );
    }
    for (what, req) in [
        (
            "multi-node with one node",
            create(&client, "m1")
                .cluster_type("multi-node")
                .number_of_nodes(1),
        ),
        (
            "single-node with two",
            create(&client, "m2")
                .cluster_type("single-node")
                .number_of_nodes(2),
        ),
        (
            "password and managed",
            create(&client, "m3").manage_master_password(true),
        ),
    ] {
        let err = req.send().await.unwrap_err();
        assert_eq!(status(&err), 400, "{what}");
        assert_eq!(
            err.into_service_error().meta().code(),
            Some("InvalidParameterCombination"),
            "{what}"
        );
    }
    let err = client
        .create_cluster()
        .cluster_identifier("nopass")
        .node_type("dc2.large")
        .master_username("admin")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("MissingParameter")
    );

    let mut req = create(&client, "tagged");
    for i in 0..51 {
        req = req.tags(tag(&format!("k{i}"), "v"));
    }
    let err = req.send().await.unwrap_err();
    assert!(err.into_service_error().is_tag_limit_exceeded_fault());
    let err = create(&client, "badtag")
        .tags(tag("aws:x", "v"))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_tag_fault());

    // Nothing failed left a cluster behind.
    let all = client.describe_clusters().send().await.unwrap();
    let ids: Vec<_> = all
        .clusters()
        .iter()
        .filter_map(|c| c.cluster_identifier())
        .collect();
    assert_eq!(ids, ["taken"]);
}

#[tokio::test]
async fn describe_clusters_pages_and_filters() {
    let server = server().await;
    let client = redshift(&server);
    for i in 0..25 {
        let env = if i % 2 == 0 { "prod" } else { "test" };
        create(&client, &format!("c{i:02}"))
            .tags(tag("env", env))
            .send()
            .await
            .unwrap();
    }
    let pages: Vec<_> = client
        .describe_clusters()
        .max_records(20)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].clusters().len(), 20);
    assert!(pages[0].marker().is_some());
    assert_eq!(pages[1].clusters().len(), 5);
    assert!(pages[1].marker().is_none());

    let prod = client
        .describe_clusters()
        .tag_values("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(prod.clusters().len(), 13);
    let none = client
        .describe_clusters()
        .tag_keys("owner")
        .send()
        .await
        .unwrap();
    assert!(none.clusters().is_empty());

    for n in [19, 101] {
        let err = client
            .describe_clusters()
            .max_records(n)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), 400);
        assert_eq!(
            err.into_service_error().meta().code(),
            Some("InvalidParameterValue")
        );
    }
    let err = client
        .describe_clusters()
        .cluster_identifier("ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    let err = err.into_service_error();
    assert!(err.is_cluster_not_found_fault());
    assert_eq!(err.meta().message(), Some("Cluster ghost not found."));
    let err = client
        .describe_clusters()
        .marker("bogus")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
}

#[tokio::test]
async fn delete_cluster() {
    let server = server().await;
    let client = redshift(&server);
    create(&client, "doomed").send().await.unwrap();
    for req in [
        client.delete_cluster().cluster_identifier("doomed"),
        client
            .delete_cluster()
            .cluster_identifier("doomed")
            .skip_final_cluster_snapshot(true)
            .final_cluster_snapshot_identifier("snap"),
    ] {
        let err = req.send().await.unwrap_err();
        assert_eq!(status(&err), 400);
        assert_eq!(
            err.into_service_error().meta().code(),
            Some("InvalidParameterCombination")
        );
    }
    let out = client
        .delete_cluster()
        .cluster_identifier("doomed")
        .skip_final_cluster_snapshot(true)
        .send()
        .await
        .unwrap();
    assert_eq!(out.cluster().unwrap().cluster_status(), Some("deleting"));
    let err = client
        .describe_clusters()
        .cluster_identifier("doomed")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_cluster_not_found_fault());

    let err = client
        .delete_cluster()
        .cluster_identifier("doomed")
        .skip_final_cluster_snapshot(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_cluster_not_found_fault());

    create(&client, "kept").send().await.unwrap();
    let out = client
        .delete_cluster()
        .cluster_identifier("kept")
        .final_cluster_snapshot_identifier("kept-final")
        .send()
        .await
        .unwrap();
    assert_eq!(out.cluster().unwrap().cluster_status(), Some("deleting"));
    // The identifier is free again.
    create(&client, "kept").send().await.unwrap();
}

#[tokio::test]
async fn the_creation_delay_shows_creating_and_deleting() {
    let server =
        server_with(|c| c.services.cluster_creation_delay = Duration::from_millis(400)).await;
    let client = redshift(&server);
    create(&client, "slow").send().await.unwrap();
    let d = client
        .describe_clusters()
        .cluster_identifier("slow")
        .send()
        .await
        .unwrap();
    assert_eq!(d.clusters()[0].cluster_status(), Some("creating"));
    assert!(d.clusters()[0].endpoint().is_none());
    let err = client
        .delete_cluster()
        .cluster_identifier("slow")
        .skip_final_cluster_snapshot(true)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_cluster_state_fault());

    tokio::time::sleep(Duration::from_millis(450)).await;
    let d = client
        .describe_clusters()
        .cluster_identifier("slow")
        .send()
        .await
        .unwrap();
    assert_eq!(d.clusters()[0].cluster_status(), Some("available"));

    client
        .delete_cluster()
        .cluster_identifier("slow")
        .skip_final_cluster_snapshot(true)
        .send()
        .await
        .unwrap();
    let d = client
        .describe_clusters()
        .cluster_identifier("slow")
        .send()
        .await
        .unwrap();
    assert_eq!(d.clusters()[0].cluster_status(), Some("deleting"));
    let err = client
        .delete_cluster()
        .cluster_identifier("slow")
        .skip_final_cluster_snapshot(true)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_cluster_state_fault());
    tokio::time::sleep(Duration::from_millis(450)).await;
    let err = client
        .describe_clusters()
        .cluster_identifier("slow")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_cluster_not_found_fault());
}

#[tokio::test]
async fn cluster_tags() {
    let server = server().await;
    let client = redshift(&server);
    create(&client, "tagged")
        .tags(tag("team", "data"))
        .send()
        .await
        .unwrap();
    create(&client, "other")
        .tags(tag("team", "web"))
        .send()
        .await
        .unwrap();
    let arn = "arn:aws:redshift:us-east-1:000000000000:cluster:tagged";
    client
        .create_tags()
        .resource_name(arn)
        .tags(tag("env", "prod"))
        .tags(tag("team", "platform"))
        .send()
        .await
        .unwrap();

    let d = client
        .describe_clusters()
        .cluster_identifier("tagged")
        .send()
        .await
        .unwrap();
    let tags: Vec<_> = d.clusters()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(tags, [("team", "platform"), ("env", "prod")]);

    let described = client
        .describe_tags()
        .resource_name(arn)
        .send()
        .await
        .unwrap();
    let items: Vec<_> = described
        .tagged_resources()
        .iter()
        .map(|r| {
            (
                r.resource_name().unwrap(),
                r.resource_type().unwrap(),
                r.tag().unwrap().key().unwrap(),
            )
        })
        .collect();
    assert_eq!(items, [(arn, "cluster", "team"), (arn, "cluster", "env")]);
    let by_type = client
        .describe_tags()
        .resource_type("cluster")
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    assert_eq!(by_type.tagged_resources().len(), 2);

    client
        .delete_tags()
        .resource_name(arn)
        .tag_keys("env")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    let d = client
        .describe_clusters()
        .cluster_identifier("tagged")
        .send()
        .await
        .unwrap();
    assert_eq!(d.clusters()[0].tags().len(), 1);

    let missing = "arn:aws:redshift:us-east-1:000000000000:cluster:ghost";
    let err = client
        .create_tags()
        .resource_name(missing)
        .tags(tag("a", "b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_resource_not_found_fault());
    let err = client
        .describe_tags()
        .resource_name(missing)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_fault());
    let err = client
        .create_tags()
        .resource_name(arn)
        .tags(tag("aws:owned", "b"))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_tag_fault());
    let mut req = client.create_tags().resource_name(arn);
    for i in 0..50 {
        req = req.tags(tag(&format!("k{i}"), "v"));
    }
    let err = req.send().await.unwrap_err();
    assert!(err.into_service_error().is_tag_limit_exceeded_fault());
    let err = client
        .create_tags()
        .resource_name("not-an-arn")
        .tags(tag("a", "b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("InvalidParameterValue")
    );
}

#[tokio::test]
async fn clusters_are_per_account_and_region() {
    let server = server().await;
    let home = redshift_as(&server, "111122223333", "eu-west-1");
    let out = create(&home, "mine").send().await.unwrap();
    assert!(
        out.cluster()
            .unwrap()
            .cluster_namespace_arn()
            .unwrap()
            .starts_with("arn:aws:redshift:eu-west-1:111122223333:namespace:")
    );
    for (key, region) in [("111122223333", "eu-west-2"), ("444455556666", "eu-west-1")] {
        let other = redshift_as(&server, key, region);
        let err = other
            .describe_clusters()
            .cluster_identifier("mine")
            .send()
            .await
            .unwrap_err();
        assert!(err.into_service_error().is_cluster_not_found_fault());
        let err = other
            .get_cluster_credentials()
            .cluster_identifier("mine")
            .db_user("a")
            .send()
            .await
            .unwrap_err();
        assert!(err.into_service_error().is_cluster_not_found_fault());
    }
}
