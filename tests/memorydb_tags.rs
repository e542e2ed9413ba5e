//! ListTags, TagResource and UntagResource on user and ACL ARNs through the official AWS
//! SDK for Rust.

#![allow(
    clippy::too_many_lines,
    reason = "each test is one user journey, read top to bottom"
)]

mod common;

use aws_sdk_memorydb::types::{AuthenticationMode, InputAuthenticationType, Tag};
use common::{memorydb, memorydb_as, password, server, status};

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn pairs(tags: &[Tag]) -> Vec<(&str, &str)> {
    tags.iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect()
}

const USER_ARN: &str = "arn:aws:memorydb:us-east-1:000000000000:user/tagged";
const ACL_ARN: &str = "arn:aws:memorydb:us-east-1:000000000000:acl/tagged-acl";

async fn setup(client: &aws_sdk_memorydb::Client) {
    client
        .create_user()
        .user_name("tagged")
        .authentication_mode(
            AuthenticationMode::builder()
                .r#type(InputAuthenticationType::Password)
                .passwords(password("tags", 16))
                .build(),
        )
        .access_string("on ~*")
        .tags(tag("team", "payments"))
        .tags(tag("env", "test"))
        .send()
        .await
        .unwrap();
    client
        .create_acl()
        .acl_name("tagged-acl")
        .tags(tag("owner", "ops"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn tags_given_at_creation_are_listed() {
    let server = server().await;
    let client = memorydb(&server);
    setup(&client).await;
    let user = client
        .list_tags()
        .resource_arn(USER_ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        pairs(user.tag_list()),
        [("team", "payments"), ("env", "test")]
    );
    let acl = client
        .list_tags()
        .resource_arn(ACL_ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(pairs(acl.tag_list()), [("owner", "ops")]);
    let default = client
        .list_tags()
        .resource_arn("arn:aws:memorydb:us-east-1:000000000000:user/default")
        .send()
        .await
        .unwrap();
    assert!(default.tag_list().is_empty());
}

#[tokio::test]
async fn tag_and_untag_answer_the_full_remaining_list() {
    let server = server().await;
    let client = memorydb(&server);
    setup(&client).await;
    let out = client
        .tag_resource()
        .resource_arn(USER_ARN)
        .tags(tag("env", "prod"))
        .tags(tag("cost-centre", "42"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        pairs(out.tag_list()),
        [("team", "payments"), ("env", "prod"), ("cost-centre", "42")]
    );
    let out = client
        .untag_resource()
        .resource_arn(USER_ARN)
        .tag_keys("team")
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    assert_eq!(pairs(out.tag_list()), [("cost-centre", "42")]);
    let listed = client
        .list_tags()
        .resource_arn(USER_ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(pairs(listed.tag_list()), [("cost-centre", "42")]);

    let out = client
        .tag_resource()
        .resource_arn(ACL_ARN)
        .tags(tag("tier", "gold"))
        .send()
        .await
        .unwrap();
    assert_eq!(pairs(out.tag_list()), [("owner", "ops"), ("tier", "gold")]);
}

#[tokio::test]
async fn tag_errors() {
    let server = server().await;
    let client = memorydb(&server);
    setup(&client).await;

    let err = client
        .untag_resource()
        .resource_arn(USER_ARN)
        .tag_keys("env")
        .tag_keys("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_tag_not_found_fault());
    // Nothing was removed by the failed call.
    let listed = client
        .list_tags()
        .resource_arn(USER_ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.tag_list().len(), 2);

    for arn in [
        "not-an-arn",
        "arn:aws:s3:::bucket",
        "arn:aws:memorydb:us-east-1:000000000000:widget/x",
    ] {
        let err = client
            .list_tags()
            .resource_arn(arn)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), 400, "{arn}");
        assert!(err.into_service_error().is_invalid_arn_fault(), "{arn}");
    }

    let err = client
        .list_tags()
        .resource_arn("arn:aws:memorydb:us-east-1:000000000000:user/ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_user_not_found_fault());

    let err = client
        .tag_resource()
        .resource_arn("arn:aws:memorydb:us-east-1:000000000000:acl/ghost")
        .tags(tag("a", "b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_acl_not_found_fault());

    let err = client
        .list_tags()
        .resource_arn("arn:aws:memorydb:us-east-1:000000000000:cluster/none")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_cluster_not_found_fault());

    for bad in [
        tag("aws:reserved", "v"),
        tag("", "v"),
        tag(&"k".repeat(129), "v"),
        tag("k", &"v".repeat(257)),
    ] {
        let err = client
            .tag_resource()
            .resource_arn(USER_ARN)
            .tags(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), 400);
        assert!(
            err.into_service_error()
                .is_invalid_parameter_value_exception()
        );
    }

    // 50 tags a resource: the user has 2, so 48 more fit and 49 do not.
    let mut req = client.tag_resource().resource_arn(USER_ARN);
    for i in 0..49 {
        req = req.tags(tag(&format!("k{i}"), "v"));
    }
    let err = req.send().await.unwrap_err();
    assert_eq!(status(&err), 400);
    assert!(
        err.into_service_error()
            .is_tag_quota_per_resource_exceeded()
    );
    let mut req = client.tag_resource().resource_arn(USER_ARN);
    for i in 0..48 {
        req = req.tags(tag(&format!("k{i}"), "v"));
    }
    assert_eq!(req.send().await.unwrap().tag_list().len(), 50);
}

#[tokio::test]
async fn arns_of_other_accounts_and_regions_are_not_found() {
    let server = server().await;
    let client = memorydb(&server);
    setup(&client).await;
    let elsewhere = memorydb_as(&server, "AKIAIOSFODNN7EXAMPLE", "eu-central-1");
    let err = elsewhere
        .list_tags()
        .resource_arn(USER_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_user_not_found_fault());
    let other_account = memorydb_as(&server, "123456789012", "us-east-1");
    let err = other_account
        .list_tags()
        .resource_arn(ACL_ARN)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_acl_not_found_fault());
}
