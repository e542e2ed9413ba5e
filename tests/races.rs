//! Concurrency: every change is atomic and linearizable within an account and region.

mod common;

use std::collections::{BTreeSet, HashSet};

use aws_sdk_memorydb::types::{AuthenticationMode, InputAuthenticationType};
use common::{create_password_user, memorydb, server, status};

fn mode() -> AuthenticationMode {
    AuthenticationMode::builder()
        .r#type(InputAuthenticationType::Password)
        .passwords("race-password-00001")
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_creates_of_one_name_give_one_success() {
    let server = server().await;
    let client = memorydb(&server);
    for round in 0..5 {
        let name = format!("contested-{round}");
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let client = client.clone();
            let name = name.clone();
            tasks.spawn(async move {
                client
                    .create_user()
                    .user_name(name)
                    .authentication_mode(mode())
                    .access_string("on ~* +@all")
                    .send()
                    .await
            });
        }
        let (mut ok, mut exists) = (0, 0);
        while let Some(r) = tasks.join_next().await {
            match r.unwrap() {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert_eq!(status(&e), 400);
                    assert!(e.into_service_error().is_user_already_exists_fault());
                    exists += 1;
                }
            }
        }
        assert_eq!((ok, exists), (1, 63), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn membership_stays_two_way_under_concurrent_acl_updates_and_deletes() {
    let server = server().await;
    let client = memorydb(&server);
    let users: Vec<String> = (0..24).map(|i| format!("m{i:02}")).collect();
    for u in &users {
        create_password_user(&client, u, "race-password-00001", "on ~*").await;
    }
    for a in 0..4 {
        client
            .create_acl()
            .acl_name(format!("acl{a}"))
            .send()
            .await
            .unwrap();
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, u) in users.iter().enumerate() {
        let client = client.clone();
        let u = u.clone();
        tasks.spawn(async move {
            for a in 0..4 {
                let _ = client
                    .update_acl()
                    .acl_name(format!("acl{a}"))
                    .user_names_to_add(&u)
                    .send()
                    .await;
            }
            if i % 3 == 0 {
                let _ = client.delete_user().user_name(&u).send().await;
            } else if i % 3 == 1 {
                let _ = client
                    .update_acl()
                    .acl_name("acl0")
                    .user_names_to_remove(&u)
                    .send()
                    .await;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let acls = client.describe_acls().send().await.unwrap();
    let described = client.describe_users().send().await.unwrap();
    let existing: HashSet<&str> = described.users().iter().filter_map(|u| u.name()).collect();
    for acl in acls.acls() {
        for member in acl.user_names() {
            assert!(
                existing.contains(member.as_str()),
                "{member} is listed in an ACL but deleted"
            );
            let user = described
                .users()
                .iter()
                .find(|u| u.name() == Some(member))
                .unwrap();
            assert!(
                user.acl_names().contains(&acl.name().unwrap().to_owned()),
                "{member} not linked back"
            );
        }
    }
    for user in described.users() {
        for acl_name in user.acl_names() {
            let acl = acls
                .acls()
                .iter()
                .find(|a| a.name() == Some(acl_name))
                .unwrap();
            assert!(acl.user_names().contains(&user.name().unwrap().to_owned()));
        }
    }
    assert_eq!(existing.len(), 1 + 24 - 8, "8 users were deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pagination_during_writes_never_repeats_a_user() {
    let server = server().await;
    let client = memorydb(&server);
    let stable: Vec<String> = (0..120).map(|i| format!("s{i:03}")).collect();
    for u in &stable {
        create_password_user(&client, u, "race-password-00001", "on ~*").await;
    }
    let writer = {
        let client = client.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                let name = format!("w{i:03}");
                let _ = client
                    .create_user()
                    .user_name(&name)
                    .authentication_mode(mode())
                    .access_string("on ~*")
                    .send()
                    .await;
                if i % 2 == 0 {
                    let _ = client.delete_user().user_name(&name).send().await;
                }
            }
        })
    };
    for _ in 0..10 {
        let mut seen = Vec::new();
        let mut pages = client
            .describe_users()
            .max_results(7)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            seen.extend(
                page.unwrap()
                    .users()
                    .iter()
                    .filter_map(|u| u.name().map(str::to_owned)),
            );
        }
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "a user was listed twice");
        for u in &stable {
            assert!(unique.contains(u), "{u} was skipped");
        }
    }
    writer.await.unwrap();
}
