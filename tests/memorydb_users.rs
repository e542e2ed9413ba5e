//! CreateUser, DescribeUsers, UpdateUser and DeleteUser through the official AWS SDK for
//! Rust against a real server.

#![allow(
    clippy::too_many_lines,
    reason = "each test is one user journey, read top to bottom"
)]

mod common;

use aws_sdk_memorydb::types::{
    AuthenticationMode, AuthenticationType, Filter, InputAuthenticationType, Tag,
};
use common::{create_password_user, memorydb, memorydb_as, password, server, status};

fn password_mode(passwords: &[&str]) -> AuthenticationMode {
    let mut mode = AuthenticationMode::builder().r#type(InputAuthenticationType::Password);
    for p in passwords {
        mode = mode.passwords(*p);
    }
    mode.build()
}

fn iam_mode() -> AuthenticationMode {
    AuthenticationMode::builder()
        .r#type(InputAuthenticationType::Iam)
        .build()
}

#[tokio::test]
async fn every_region_starts_with_the_default_user() {
    let server = server().await;
    let client = memorydb(&server);
    let out = client.describe_users().send().await.unwrap();
    let users = out.users();
    assert_eq!(users.len(), 1);
    let d = &users[0];
    assert_eq!(d.name(), Some("default"));
    assert_eq!(d.status(), Some("active"));
    assert_eq!(d.access_string(), Some("on ~* &* +@all"));
    assert_eq!(d.acl_names(), ["open-access"]);
    assert_eq!(d.minimum_engine_version(), Some("6.0"));
    let auth = d.authentication().unwrap();
    assert_eq!(auth.r#type(), Some(&AuthenticationType::NoPassword));
    assert_eq!(auth.password_count(), None);
    assert_eq!(
        d.arn(),
        Some("arn:aws:memorydb:us-east-1:000000000000:user/default")
    );
    assert!(out.next_token().is_none());
}

#[tokio::test]
async fn creates_password_users_with_the_canonical_access_string() {
    let server = server().await;
    let client = memorydb(&server);
    let p1 = password("one", 16);
    let p2 = password("two", 128);
    let out = client
        .create_user()
        .user_name("App-User-1")
        .authentication_mode(password_mode(&[&p1, &p2]))
        .access_string("~objects:* ~items:* ~public:*")
        .send()
        .await
        .unwrap();
    let user = out.user().unwrap();
    assert_eq!(user.name(), Some("app-user-1"));
    assert_eq!(user.status(), Some("active"));
    assert_eq!(
        user.access_string(),
        Some("off ~objects:* ~items:* ~public:* resetchannels -@all")
    );
    assert!(user.acl_names().is_empty());
    assert_eq!(user.minimum_engine_version(), Some("6.2"));
    let auth = user.authentication().unwrap();
    assert_eq!(auth.r#type(), Some(&AuthenticationType::Password));
    assert_eq!(auth.password_count(), Some(2));
    assert_eq!(
        user.arn(),
        Some("arn:aws:memorydb:us-east-1:000000000000:user/app-user-1")
    );

    let described = client
        .describe_users()
        .user_name("APP-USER-1")
        .send()
        .await
        .unwrap();
    assert_eq!(described.users(), std::slice::from_ref(user));
}

#[tokio::test]
async fn creates_iam_users() {
    let server = server().await;
    let client = memorydb(&server);
    let out = client
        .create_user()
        .user_name("iam-user")
        .authentication_mode(iam_mode())
        .access_string("on ~* &* +@all")
        .send()
        .await
        .unwrap();
    let user = out.user().unwrap();
    assert_eq!(user.access_string(), Some("on ~* &* +@all"));
    assert_eq!(user.minimum_engine_version(), Some("7.0"));
    let auth = user.authentication().unwrap();
    assert_eq!(auth.r#type(), Some(&AuthenticationType::Iam));
    assert_eq!(auth.password_count(), None);
}

#[tokio::test]
async fn create_user_errors() {
    let server = server().await;
    let client = memorydb(&server);
    let good = password("good", 20);
    create_password_user(&client, "taken", &good, "on ~* +@all").await;

    // A name that exists, in any case, and the built-in user.
    for name in ["taken", "TAKEN", "default"] {
        let err = client
            .create_user()
            .user_name(name)
            .authentication_mode(password_mode(&[&good]))
            .access_string("on ~* +@all")
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), 400);
        assert!(err.into_service_error().is_user_already_exists_fault());
    }

    // Bad values.
    let long = password("long", 129);
    let short = password("short", 15);
    let too_long = "a".repeat(41);
    let cases: Vec<(&str, AuthenticationMode, &str)> = vec![
        ("1starts-with-digit", password_mode(&[&good]), "on ~*"),
        ("ends-with-hyphen-", password_mode(&[&good]), "on ~*"),
        ("double--hyphen", password_mode(&[&good]), "on ~*"),
        ("under_score", password_mode(&[&good]), "on ~*"),
        (&too_long, password_mode(&[&good]), "on ~*"),
        ("short-pw", password_mode(&[&short]), "on ~*"),
        ("long-pw", password_mode(&[&long]), "on ~*"),
        ("three-pw", password_mode(&[&good, &good, &good]), "on ~*"),
        (
            "bad-access",
            password_mode(&[&good]),
            "on ~* +@nosuchcategory",
        ),
        (
            "pw-in-access",
            password_mode(&[&good]),
            "on >anotherpassword1234 ~*",
        ),
        ("reset-access", password_mode(&[&good]), "reset on ~*"),
        ("blank-access", password_mode(&[&good]), "   "),
        ("no-type", AuthenticationMode::builder().build(), "on ~*"),
    ];
    for (name, mode, access) in cases {
        let err = client
            .create_user()
            .user_name(name)
            .authentication_mode(mode)
            .access_string(access)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), 400, "{name}");
        let err = err.into_service_error();
        assert!(
            err.is_invalid_parameter_value_exception(),
            "{name}: {err:?}"
        );
    }

    // A type that does not fit the passwords.
    for (name, mode) in [
        (
            "pw-without-passwords",
            AuthenticationMode::builder()
                .r#type(InputAuthenticationType::Password)
                .build(),
        ),
        (
            "iam-with-passwords",
            AuthenticationMode::builder()
                .r#type(InputAuthenticationType::Iam)
                .passwords(&good)
                .build(),
        ),
    ] {
        let err = client
            .create_user()
            .user_name(name)
            .authentication_mode(mode)
            .access_string("on ~*")
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), 400, "{name}");
        assert!(
            err.into_service_error()
                .is_invalid_parameter_combination_exception(),
            "{name}"
        );
    }

    // Too many tags.
    let mut req = client
        .create_user()
        .user_name("tagged")
        .authentication_mode(password_mode(&[&good]))
        .access_string("on ~*");
    for i in 0..51 {
        req = req.tags(Tag::builder().key(format!("k{i}")).value("v").build());
    }
    let err = req.send().await.unwrap_err();
    assert_eq!(status(&err), 400);
    assert!(
        err.into_service_error()
            .is_tag_quota_per_resource_exceeded()
    );

    // Nothing failed left anything behind.
    let names: Vec<String> = client
        .describe_users()
        .send()
        .await
        .unwrap()
        .users()
        .iter()
        .filter_map(|u| u.name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["default", "taken"]);
}

#[tokio::test]
async fn the_user_quota_is_2000_a_region() {
    let server = server().await;
    let client = memorydb_as(&server, "222233334444", "us-west-2");
    let pw = password("quota", 16);
    // The default user counts: 1,999 more fit.
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in 0..8 {
        let client = client.clone();
        let pw = pw.clone();
        tasks.spawn(async move {
            let mut i = chunk;
            while i < 1999 {
                create_password_user(&client, format!("u{i}"), &pw, "on ~*").await;
                i += 8;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let err = client
        .create_user()
        .user_name("one-too-many")
        .authentication_mode(password_mode(&[&pw]))
        .access_string("on ~*")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    assert!(err.into_service_error().is_user_quota_exceeded_fault());
    // Another region of the same account is not affected.
    memorydb_as(&server, "222233334444", "us-east-1")
        .create_user()
        .user_name("one-too-many")
        .authentication_mode(password_mode(&[&pw]))
        .access_string("on ~*")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn describe_users_pages_never_repeat_or_skip() {
    let server = server().await;
    let client = memorydb(&server);
    let pw = password("page", 16);
    for i in 0..25 {
        create_password_user(&client, format!("user-{i:02}"), &pw, "on ~*").await;
    }
    // The SDK's paginator sees every user exactly once.
    let pages: Vec<_> = client
        .describe_users()
        .max_results(7)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(pages.len(), 4);
    assert!(pages.iter().all(|p| p.users().len() <= 7));
    let names: Vec<&str> = pages
        .iter()
        .flat_map(aws_sdk_memorydb::operation::describe_users::DescribeUsersOutput::users)
        .filter_map(|u| u.name())
        .collect();
    assert_eq!(names.len(), 26);
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(unique.len(), 26);

    // Users created and deleted between pages: those that exist throughout are each seen once.
    let first = client
        .describe_users()
        .max_results(10)
        .send()
        .await
        .unwrap();
    let token = first.next_token().unwrap().to_owned();
    let seen_first: Vec<String> = first
        .users()
        .iter()
        .filter_map(|u| u.name().map(str::to_owned))
        .collect();
    let last_seen = seen_first.last().unwrap().clone();
    client
        .delete_user()
        .user_name(&last_seen)
        .send()
        .await
        .unwrap();
    client
        .delete_user()
        .user_name("user-15")
        .send()
        .await
        .unwrap();
    for name in ["aaa-new", "user-12a", "zzz-new"] {
        create_password_user(&client, name, &pw, "on ~*").await;
    }
    let mut rest = Vec::new();
    let mut next = Some(token);
    while let Some(token) = next {
        let page = client
            .describe_users()
            .max_results(10)
            .next_token(token)
            .send()
            .await
            .unwrap();
        rest.extend(
            page.users()
                .iter()
                .filter_map(|u| u.name().map(str::to_owned)),
        );
        next = page.next_token().map(str::to_owned);
    }
    for name in &rest {
        assert!(!seen_first.contains(name), "{name} repeated");
    }
    for i in 0..25 {
        let name = format!("user-{i:02}");
        if name == last_seen || name == "user-15" {
            continue;
        }
        assert!(
            seen_first.contains(&name) || rest.contains(&name),
            "{name} skipped"
        );
    }

    // A token memshift did not issue.
    let err = client
        .describe_users()
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    assert!(err.into_service_error().meta().code() == Some("InvalidParameterValueException"));
}

#[tokio::test]
async fn describe_users_by_name_and_filters() {
    let server = server().await;
    let client = memorydb(&server);
    let pw = password("filter", 16);
    for (name, access) in [
        ("reader", "on ~* +@read"),
        ("writer", "on ~* +@write"),
        ("reader2", "on ~* +@read"),
    ] {
        create_password_user(&client, name, &pw, access).await;
    }
    let err = client
        .describe_users()
        .user_name("nobody")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_user_not_found_fault());

    let by_access = client
        .describe_users()
        .filters(
            Filter::builder()
                .name("AccessString")
                .values("on ~* resetchannels -@all +@read")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let names: Vec<_> = by_access.users().iter().filter_map(|u| u.name()).collect();
    assert_eq!(names, ["reader", "reader2"]);

    let by_name = client
        .describe_users()
        .filters(
            Filter::builder()
                .name("UserName")
                .values("writer")
                .values("default")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let names: Vec<_> = by_name.users().iter().filter_map(|u| u.name()).collect();
    assert_eq!(names, ["default", "writer"]);

    for filter in [
        Filter::builder()
            .name("Colour")
            .values("red")
            .build()
            .unwrap(),
        Filter::builder()
            .name("UserName")
            .set_values(Some(Vec::new()))
            .build()
            .unwrap(),
    ] {
        let err = client
            .describe_users()
            .filters(filter)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), 400);
        assert_eq!(
            err.into_service_error().meta().code(),
            Some("InvalidParameterValueException")
        );
    }
    let err = client
        .describe_users()
        .max_results(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
}

#[tokio::test]
async fn update_user_rotates_passwords_and_changes_access() {
    let server = server().await;
    let client = memorydb(&server);
    let old = password("old", 16);
    create_password_user(&client, "rotating", &old, "on ~* +@all").await;
    let new1 = password("new1", 32);
    let new2 = password("new2", 32);
    let out = client
        .update_user()
        .user_name("rotating")
        .authentication_mode(password_mode(&[&new1, &new2]))
        .send()
        .await
        .unwrap();
    let user = out.user().unwrap();
    assert_eq!(user.status(), Some("modifying"));
    assert_eq!(user.authentication().unwrap().password_count(), Some(2));
    assert_eq!(user.access_string(), Some("on ~* resetchannels +@all"));

    let out = client
        .update_user()
        .user_name("rotating")
        .access_string("on ~app:* +@read")
        .send()
        .await
        .unwrap();
    let user = out.user().unwrap();
    assert_eq!(
        user.access_string(),
        Some("on ~app:* resetchannels -@all +@read")
    );
    assert_eq!(user.authentication().unwrap().password_count(), Some(2));

    let out = client
        .update_user()
        .user_name("rotating")
        .authentication_mode(iam_mode())
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.user().unwrap().authentication().unwrap().r#type(),
        Some(&AuthenticationType::Iam)
    );

    let now = client
        .describe_users()
        .user_name("rotating")
        .send()
        .await
        .unwrap();
    assert_eq!(now.users()[0].status(), Some("active"));
    assert_eq!(
        now.users()[0].access_string(),
        Some("on ~app:* resetchannels -@all +@read")
    );
}

#[tokio::test]
async fn update_user_errors() {
    let server = server().await;
    let client = memorydb(&server);
    let pw = password("upd", 16);
    create_password_user(&client, "steady", &pw, "on ~* +@all").await;

    let err = client
        .update_user()
        .user_name("ghost")
        .access_string("on ~*")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_user_not_found_fault());

    for req in [
        client
            .update_user()
            .user_name("steady")
            .access_string("on nopass ~*"),
        client
            .update_user()
            .user_name("steady")
            .authentication_mode(password_mode(&["short"])),
        client
            .update_user()
            .user_name("default")
            .access_string("on ~*"),
    ] {
        let err = req.send().await.unwrap_err();
        assert_eq!(status(&err), 400);
        assert!(
            err.into_service_error()
                .is_invalid_parameter_value_exception()
        );
    }
    for req in [
        client.update_user().user_name("steady"),
        client
            .update_user()
            .user_name("steady")
            .authentication_mode(
                AuthenticationMode::builder()
                    .r#type(InputAuthenticationType::Iam)
                    .passwords(&pw)
                    .build(),
            ),
    ] {
        let err = req.send().await.unwrap_err();
        assert_eq!(status(&err), 400);
        assert!(
            err.into_service_error()
                .is_invalid_parameter_combination_exception()
        );
    }
    // Failed updates changed nothing.
    let user = client
        .describe_users()
        .user_name("steady")
        .send()
        .await
        .unwrap();
    assert_eq!(
        user.users()[0].access_string(),
        Some("on ~* resetchannels +@all")
    );
    assert_eq!(
        user.users()[0].authentication().unwrap().password_count(),
        Some(1)
    );
}

#[tokio::test]
async fn delete_user() {
    let server = server().await;
    let client = memorydb(&server);
    let pw = password("del", 16);
    create_password_user(&client, "leaving", &pw, "on ~* +@all").await;
    client
        .create_acl()
        .acl_name("team")
        .user_names("leaving")
        .send()
        .await
        .unwrap();

    let out = client
        .delete_user()
        .user_name("Leaving")
        .send()
        .await
        .unwrap();
    let user = out.user().unwrap();
    assert_eq!(user.name(), Some("leaving"));
    assert_eq!(user.status(), Some("deleting"));
    assert_eq!(user.acl_names(), ["team"]);

    let err = client
        .describe_users()
        .user_name("leaving")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_user_not_found_fault());
    let acl = client
        .describe_acls()
        .acl_name("team")
        .send()
        .await
        .unwrap();
    assert!(acl.acls()[0].user_names().is_empty());

    let err = client
        .delete_user()
        .user_name("leaving")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    assert!(err.into_service_error().is_user_not_found_fault());

    let err = client
        .delete_user()
        .user_name("default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    assert!(
        err.into_service_error()
            .is_invalid_parameter_value_exception()
    );
}

#[tokio::test]
async fn accounts_and_regions_are_isolated() {
    let server = server().await;
    let pw = password("iso", 16);
    let home = memorydb_as(&server, "111122223333", "eu-west-1");
    let out = create_password_user(&home, "local", &pw, "on ~*").await;
    assert_eq!(
        out.user().unwrap().arn(),
        Some("arn:aws:memorydb:eu-west-1:111122223333:user/local")
    );
    for (key, region) in [
        ("111122223333", "eu-west-2"),
        ("444455556666", "eu-west-1"),
        ("AKIAIOSFODNN7EXAMPLE", "eu-west-1"),
    ] {
        let other = memorydb_as(&server, key, region);
        let err = other
            .describe_users()
            .user_name("local")
            .send()
            .await
            .unwrap_err();
        assert!(
            err.into_service_error().is_user_not_found_fault(),
            "{key} {region}"
        );
        // The same name is free there.
        create_password_user(&other, "local", &pw, "on ~*").await;
    }
}
